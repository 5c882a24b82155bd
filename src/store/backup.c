/* backup.c: online backup of the SQLite database (store_backup(), `doorwatchctl backup`).
 *
 * The database at src_path is copied to dest_path with SQLite's online backup API from a
 * read-only connection: one read transaction, so the copy is the state after some commit
 * of the daemon, which keeps writing meanwhile (WAL: readers do not block the writer).
 * The copy is written to a temporary file beside dest_path (mode 0640), switched to
 * journal_mode=DELETE so it is one self-contained file, checked (PRAGMA quick_check),
 * fsync'd and renamed over dest_path, so dest_path is never a partial copy.
 *
 * sqlite3_backup_step(-1) copies every page inside one read transaction of the source.
 * Stepping in smaller chunks would let the daemon's commits in between restart the copy
 * (SQLite restarts a backup whose source another connection changed), which under a
 * steady event stream might never finish; one step holds only a WAL read snapshot, which
 * does not block the daemon, merely defers checkpoints for the duration of the copy. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sqlite.h"
#include "util.h"

#define BACKUP_BUSY_RETRIES 50 /* x 100 ms */

static int64_t query_int(sqlite3 *db, const char *sql)
{
        sqlite3_stmt *st = NULL;
        int64_t v = -1;

        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
}

static int fsync_path(const char *path, int flags)
{
        int fd = open(path, flags | O_CLOEXEC), r = 0;

        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                r = -errno;
        close(fd);
        return r;
}

/* Refuses to write over the live database itself. */
static bool same_file(const char *a, const char *b)
{
        struct stat sa, sb;
        return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
               sa.st_ino == sb.st_ino;
}

static int copy_pages(sqlite3 *src, sqlite3 *dst)
{
        sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
        int rc = SQLITE_ERROR;

        if (!b) {
                log_err("backup: %s", sqlite3_errmsg(dst));
                return -EIO;
        }
        for (int i = 0; i < BACKUP_BUSY_RETRIES; i++) {
                rc = sqlite3_backup_step(b, -1);
                if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
                        break;
                sqlite3_sleep(100);
        }
        sqlite3_backup_finish(b);
        if (rc != SQLITE_DONE) {
                log_err("backup: copying failed: %s", sqlite3_errstr(rc));
                return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? -EBUSY : -EIO;
        }
        rc = sqlite3_errcode(dst);
        if (rc != SQLITE_OK && rc != SQLITE_DONE) {
                log_err("backup: writing the copy failed: %s", sqlite3_errmsg(dst));
                return -EIO;
        }
        return 0;
}

static int finish_copy(sqlite3 *dst, struct store_backup_info *info)
{
        sqlite3_stmt *st = NULL;
        char *msg = NULL;
        bool ok = false;

        /* The copy carries the source's WAL flag; one file is easier to move around. */
        if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, &msg) != SQLITE_OK) {
                log_err("backup: %s", msg ? msg : sqlite3_errmsg(dst));
                sqlite3_free(msg);
                return -EIO;
        }
        if (sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
                ok = str_eq((const char *)sqlite3_column_text(st, 0), "ok");
        sqlite3_finalize(st);
        if (!ok) {
                log_err("backup: the copy fails PRAGMA quick_check");
                return -EIO;
        }
        if (query_int(dst, "SELECT value FROM meta WHERE key = 'schema_version'") < 1) {
                log_err("backup: the source is not a doorwatch database");
                return -EPROTO;
        }
        if (info) {
                info->events = query_int(dst, "SELECT count(*) FROM event");
                info->alerts = query_int(dst, "SELECT count(*) FROM alert");
                info->open_alerts =
                    query_int(dst, "SELECT count(*) FROM alert WHERE state = 'open'");
                info->pending_notifications = query_int(
                    dst, "SELECT count(*) FROM notification WHERE state IN ('pending', 'sending')");
                info->bytes = query_int(dst, "SELECT page_count * page_size FROM "
                                             "pragma_page_count(), pragma_page_size()");
        }
        return 0;
}

int sqlite_backup(const char *src_path, const char *dest_path, struct store_backup_info *info)
{
        _cleanup_free_ char *tmp = NULL, *dir_copy = NULL;
        sqlite3 *src = NULL, *dst = NULL;
        bool tmp_exists = false;
        int fd, r, rc;

        if (same_file(src_path, dest_path)) {
                log_err("backup: %s is the live database itself", dest_path);
                return -EINVAL;
        }
        rc = sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL);
        if (rc != SQLITE_OK) {
                log_err("backup: cannot open %s: %s", src_path,
                        src ? sqlite3_errmsg(src) : sqlite3_errstr(rc));
                r = rc == SQLITE_CANTOPEN ? -ENOENT : -EACCES;
                goto out;
        }
        sqlite3_busy_timeout(src, 5000);

        tmp = xasprintf("%s.tmp-XXXXXX", dest_path);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                log_err_errno(r, "backup: cannot create a file beside %s", dest_path);
                goto out;
        }
        tmp_exists = true;
        /* Events and people's data: not world-readable, the group of operators may read. */
        if (fchmod(fd, 0640) < 0) {
                r = -errno;
                close(fd);
                log_err_errno(r, "backup: chmod %s", tmp);
                goto out;
        }
        close(fd);
        /* An empty file is an empty database to SQLite. */
        rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL);
        if (rc != SQLITE_OK) {
                log_err("backup: cannot open %s: %s", tmp,
                        dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
                r = -EACCES;
                goto out;
        }
        r = copy_pages(src, dst);
        if (r == 0)
                r = finish_copy(dst, info);
        if (r < 0)
                goto out;
        if (sqlite3_close(dst) != SQLITE_OK) {
                dst = NULL;
                r = -EIO;
                goto out;
        }
        dst = NULL;
        r = fsync_path(tmp, O_RDONLY);
        if (r == 0 && rename(tmp, dest_path) < 0)
                r = -errno;
        if (r < 0) {
                log_err_errno(r, "backup: cannot put the copy in place as %s", dest_path);
                goto out;
        }
        tmp_exists = false;
        dir_copy = xstrdup(dest_path);
        fsync_path(dirname(dir_copy), O_RDONLY | O_DIRECTORY);
out:
        if (dst)
                sqlite3_close(dst);
        if (src)
                sqlite3_close(src);
        if (tmp_exists) {
                char journal[PATH_MAX];
                unlink(tmp);
                snprintf(journal, sizeof(journal), "%s-journal", tmp);
                unlink(journal);
        }
        return r;
}
