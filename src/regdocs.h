/* regdocs.h: the registry files (workers.json, households.json, households.d/ *.json,
 * rosters.json) as editable JSON documents, for `doorwatchctl import`.
 *
 * A document keeps its file's text beside the parsed tree. Edits change the tree and mark
 * the nodes they replace or add (regdocs_touch()); a document is written back as its
 * original text with only the marked nodes printed anew (in the layout of conf/: two
 * spaces, a record per member or element, short values on one line) and the new elements
 * appended, so comments, key order and the layout of everything untouched stay as they
 * were. Only documents with a marked node are written.
 *
 * Writing is atomic per file (a temporary file beside it, renamed over it) and keeps each
 * file's mode, owner and group; all files are prepared before the first is renamed, and
 * nothing is renamed when one cannot be prepared. Allocation failure aborts. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct regdoc {
        char *name;  /* relative to the configuration directory */
        char *text;  /* the file as read (after a UTF-8 BOM), NULL for a new file */
        bool bom;    /* the file started with a UTF-8 byte order mark (written back) */
        cJSON *root; /* the tree being edited */
};

struct regdocs {
        char *dir;
        struct regdoc workers;
        struct regdoc rosters;
        struct regdoc *households; /* households.json, then households.d/ *.json by name */
        size_t n_households;
};

/* Reads the registry files of dir. Returns 0, or 1 with a message (owned by the caller):
 * a file missing, unreadable or not JSON (with its line). */
int regdocs_read(const char *dir, struct regdocs *ret, char **ret_message);
void regdocs_done(struct regdocs *d);

/* Marks node (replaced or added in a document's tree) to be printed when written. Its
 * ancestors need no mark. */
void regdocs_touch(cJSON *node);
/* Whether anything in the document was touched. */
bool regdoc_changed(const struct regdoc *doc);

/* The document's new text (owned by the caller). */
char *regdoc_render(const struct regdoc *doc);
/* A value at `depth` in its document (0: the root), starting at column `indent` (its
 * first line not indented), in the layout of conf/: what regdoc_render() prints for
 * touched nodes. Containers at depth 0 and 1 (a file's records) are always one member
 * per line, deeper ones when they do not fit in REGDOCS_WIDTH columns. */
#define REGDOCS_WIDTH 120
char *regdocs_print(const cJSON *v, int indent, int depth);

/* A directory in which the changed documents are written and every other entry of d->dir
 * is a symbolic link to the original: a configuration to validate with config_load()
 * before anything real is touched. Returns 0 and the directory (remove it with
 * regdocs_remove_tree()) or a negative errno. */
int regdocs_write_candidate(const struct regdocs *d, char **ret_dir);
int regdocs_remove_tree(const char *dir);

/* Writes the changed documents into d->dir (see the top of this file). Returns 0 with the
 * names written in *ret_names (*ret_n of them, owned by the caller), or 1 with a message
 * about the first file that could not be prepared (nothing written then). */
int regdocs_commit(const struct regdocs *d, char ***ret_names, size_t *ret_n, char **ret_message);
