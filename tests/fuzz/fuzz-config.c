/* fuzz-config.c: a libFuzzer target for the configuration loader, config_load(), and (built
 * with -DFUZZ_MKCORPUS) the tool that makes its seed corpus from conf/ and from the error
 * table of tests/unit/test-config.c.
 *
 * An input is the files of a configuration directory separated by NUL bytes (the loader
 * refuses a NUL inside a file anyway): doorwatch.json, workers.json, households.json,
 * rosters.json, then any number of households.d/NN.json. A part that is the single byte
 * 0x7f stands for a missing file, and so do missing trailing parts. The files are written
 * into a private directory (under /dev/shm when there is one) and read by config_load()
 * exactly as the daemon reads /etc/doorwatch; nothing else is faked.
 *
 * Besides the sanitizers (and LeakSanitizer on every error path), the loader's contract is
 * checked and a violation aborts: 0 with a configuration and no error, or -EINVAL with at
 * least one error line naming one of the files; every record of a loaded configuration
 * is linked (devices to households and adapters, ids found by lookup). */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapter.h"
#include "config.h"
#include "util.h"

#define FUZZ_MISSING     0x7f
#define FUZZ_MAX_DROPINS 8

static const char *const fixed_names[] = { "doorwatch.json", "workers.json", "households.json",
                                           "rosters.json" };

static char fuzz_dir[64];

static void check(bool ok, const char *what)
{
        if (!ok) {
                fprintf(stderr, "fuzz-config: contract violated: %s\n", what);
                abort();
        }
}

static void write_part(const char *dir, const char *name, const uint8_t *p, size_t len)
{
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (len == 1 && p[0] == FUZZ_MISSING)
                return;
        f = fopen(path, "w");
        if (!f) {
                perror(path);
                abort();
        }
        if (len && fwrite(p, 1, len, f) != len)
                abort();
        fclose(f);
}

/* Empties the directory (households.d and the four files). */
static void clear_dir(const char *dir)
{
        char path[256];
        DIR *d;
        struct dirent *de;

        snprintf(path, sizeof(path), "%s/households.d", dir);
        d = opendir(path);
        if (d) {
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.') {
                                char p[512];
                                snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
                                unlink(p);
                        }
                closedir(d);
                rmdir(path);
        }
        for (size_t i = 0; i < ELEMENTSOF(fixed_names); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, fixed_names[i]);
                unlink(path);
        }
}

static void write_input(const char *dir, const uint8_t *data, size_t size)
{
        size_t part = 0, start = 0;

        clear_dir(dir);
        for (size_t i = 0; i <= size; i++) {
                char name[64];

                if (i < size && data[i] != 0)
                        continue;
                if (part < ELEMENTSOF(fixed_names))
                        write_part(dir, fixed_names[part], data + start, i - start);
                else if (part < ELEMENTSOF(fixed_names) + FUZZ_MAX_DROPINS) {
                        char sub[256];
                        snprintf(sub, sizeof(sub), "%s/households.d", dir);
                        mkdir(sub, 0700);
                        snprintf(name, sizeof(name), "households.d/%02zu.json",
                                 part - ELEMENTSOF(fixed_names));
                        write_part(dir, name, data + start, i - start);
                }
                part++;
                start = i + 1;
        }
}

static bool names_a_file(const char *line)
{
        static const char *const prefixes[] = { "doorwatch.json: ", "workers.json: ",
                                                "households.json: ", "rosters.json: ",
                                                "households.d" };

        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (str_startswith(line, prefixes[i]))
                        return true;
        return false;
}

static void check_config(const struct config *c)
{
        for (size_t i = 0; i < c->n_devices; i++) {
                const struct device *d = &c->devices[i];
                check(d->id && d->adapter && d->household && d->index == i, "device record");
                check(config_device(c, d->id) == d, "device lookup");
                check(d->kind >= 0 && d->kind < _DEVICE_KIND_MAX, "device kind");
        }
        for (size_t i = 0; i < c->n_households; i++) {
                const struct household *h = &c->households[i];
                check(h->id && config_household(c, h->id) == h, "household lookup");
                for (size_t k = 0; k < h->n_devices; k++)
                        check(h->devices[k].household == h, "household devices");
                for (int r = 0; r < TEAM_ROLES; r++)
                        check(h->team[r] != NULL, "team member");
        }
        for (size_t i = 0; i < c->n_workers; i++)
                check(config_worker(c, c->workers[i].id) == &c->workers[i], "worker lookup");
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        struct stat st;

        snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/doorwatch-fuzz-config-XXXXXX",
                 stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp");
        if (!mkdtemp(fuzz_dir)) {
                perror("mkdtemp");
                abort();
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct config_diag diag = { 0 };
        struct config *c = NULL;
        int r;

        write_input(fuzz_dir, data, size);
        r = config_load(fuzz_dir, &c, &diag);
        if (r == 0) {
                check(c != NULL && diag.n_errors == 0, "success without a configuration");
                check_config(c);
        } else {
                check(r == -EINVAL && c == NULL && diag.n_errors > 0,
                      "failure without an error line");
        }
        for (size_t i = 0; i < diag.n_errors; i++)
                check(names_a_file(diag.errors[i]), diag.errors[i]);
        for (size_t i = 0; i < diag.n_warnings; i++)
                check(names_a_file(diag.warnings[i]), diag.warnings[i]);
        config_diag_done(&diag);
        config_free(c);
        return 0;
}

#ifdef FUZZ_MKCORPUS
/* The error table of the unit tests, with their scaffolding, as seeds. */
#define main test_config_main
#include "../unit/test-config.c"
#undef main

struct seed {
        char *parts[ELEMENTSOF(fixed_names) + FUZZ_MAX_DROPINS]; /* NULL: missing */
        char *dropin_names[FUZZ_MAX_DROPINS];
        size_t n_dropins;
};

static char *quotes(const char *s)
{
        char *out = xstrdup(s);
        for (char *p = out; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return out;
}

static void write_seed(const char *out_dir, const struct seed *s)
{
        char *buf = NULL, path[512];
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        size_t n = ELEMENTSOF(fixed_names) + s->n_dropins;

        for (size_t i = 0; i < n; i++) {
                if (i)
                        fputc(0, f);
                if (s->parts[i])
                        fputs(s->parts[i], f);
                else
                        fputc(FUZZ_MISSING, f);
        }
        fclose(f);
        snprintf(path, sizeof(path), "%s/%016llx", out_dir,
                 (unsigned long long)hash_str(buf) ^ (unsigned long long)len);
        f = fopen(path, "w");
        if (!f || fwrite(buf, 1, len, f) != len)
                abort();
        fclose(f);
        free(buf);
}

static void seed_done(struct seed *s)
{
        for (size_t i = 0; i < ELEMENTSOF(s->parts); i++)
                free(s->parts[i]);
        for (size_t i = 0; i < s->n_dropins; i++)
                free(s->dropin_names[i]);
        *s = (struct seed){ 0 };
}

/* Sets a file of the seed; false when the name cannot be expressed. */
static bool seed_set(struct seed *s, const char *name, const char *content)
{
        for (size_t i = 0; i < ELEMENTSOF(fixed_names); i++)
                if (strcmp(name, fixed_names[i]) == 0) {
                        free(s->parts[i]);
                        s->parts[i] = content ? quotes(content) : NULL;
                        return true;
                }
        if (!str_startswith(name, "households.d/") || strchr(name + 13, '/') || !content)
                return false;
        for (size_t i = 0; i < s->n_dropins; i++)
                if (strcmp(s->dropin_names[i], name) == 0) {
                        free(s->parts[ELEMENTSOF(fixed_names) + i]);
                        s->parts[ELEMENTSOF(fixed_names) + i] = quotes(content);
                        return true;
                }
        if (s->n_dropins == FUZZ_MAX_DROPINS)
                return false;
        s->dropin_names[s->n_dropins] = xstrdup(name);
        s->parts[ELEMENTSOF(fixed_names) + s->n_dropins++] = quotes(content);
        return true;
}

static char *read_or_die(const char *path)
{
        char *buf;
        size_t len;

        if (read_file(path, 1 << 20, &buf, &len) < 0) {
                fprintf(stderr, "cannot read %s\n", path);
                exit(1);
        }
        return buf;
}

/* conf/: the example configuration (no ' in it to turn into "). */
static void seed_example(const char *out_dir)
{
        struct seed s = { 0 };
        struct dirent **names;
        int n;

        for (size_t i = 0; i < ELEMENTSOF(fixed_names); i++) {
                char path[256];
                snprintf(path, sizeof(path), "conf/%s", fixed_names[i]);
                s.parts[i] = read_or_die(path);
        }
        n = scandir("conf/households.d", &names, NULL, alphasort);
        for (int i = 0; i < n; i++) {
                char path[512];
                if (names[i]->d_name[0] != '.' && s.n_dropins < FUZZ_MAX_DROPINS) {
                        snprintf(path, sizeof(path), "conf/households.d/%s", names[i]->d_name);
                        s.dropin_names[s.n_dropins] = xstrdup(names[i]->d_name);
                        s.parts[ELEMENTSOF(fixed_names) + s.n_dropins++] = read_or_die(path);
                }
                free(names[i]);
        }
        free(names);
        write_seed(out_dir, &s);
        seed_done(&s);
}

int main(int argc, char **argv)
{
        size_t written = 1, skipped = 0;

        if (argc != 2) {
                fprintf(stderr, "usage: %s OUT_DIR (run from the repository root)\n", argv[0]);
                return 2;
        }
        seed_example(argv[1]);
        for (size_t c = 0; c < ELEMENTSOF(diag_cases); c++) {
                struct seed s = { 0 };
                bool ok = true;

                for (size_t i = 0; i < ELEMENTSOF(base_files); i++)
                        seed_set(&s, base_files[i].name, base_files[i].content);
                for (size_t i = 0; i < ELEMENTSOF(diag_cases[c].files); i++)
                        if (diag_cases[c].files[i].name)
                                ok = ok && seed_set(&s, diag_cases[c].files[i].name,
                                                    diag_cases[c].files[i].content);
                if (ok) {
                        write_seed(argv[1], &s);
                        written++;
                } else
                        skipped++;
                seed_done(&s);
        }
        printf("%zu seeds (%zu table cases not expressible as an input)\n", written, skipped);
        (void)test_config_main;
        return 0;
}
#endif
