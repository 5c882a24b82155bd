/* backup.h: a consistent copy of the live database while the daemon writes it
 * (`doorwatchctl backup FILE`). */
#pragma once

#include <stdint.h>

struct backup_info {
        int64_t events, alerts, open_alerts, pending_notifications;
        int64_t bytes;
};

/* Copies the database at src_path to dest_path with SQLite's online backup API from a
 * read-only connection: one read transaction, so the copy is the state after some commit
 * of the daemon, which keeps writing meanwhile (WAL: readers do not block the writer).
 * The copy is written to a temporary file beside dest_path (mode 0640), switched to
 * journal_mode=DELETE so it is one self-contained file, checked (PRAGMA quick_check),
 * fsync'd and renamed over dest_path, so dest_path is never a partial copy.
 * Returns 0 and fills *info (may be NULL), or a negative errno with the reason logged. */
int backup_database(const char *src_path, const char *dest_path, struct backup_info *info);
