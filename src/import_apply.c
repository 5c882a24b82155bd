/* import_apply.c: import_apply() (see import.h): indexes the documents, then hands the
 * sheet to the part that reads its kind (import_households.c, import_workers.c,
 * import_shifts.c). Above them and import.c, whose helpers they all share. */
#include "import-internal.h"

#include <stdlib.h>

size_t import_apply(struct regdocs *docs, const struct sheet *sheet,
                    const struct import_options *opt, struct import_result *res)
{
        struct import_ctx x = { .docs = docs, .sheet = sheet, .opt = opt, .res = res };

        *res = (struct import_result){ 0 };
        import_index(&x);
        switch (sheet->kind) {
        case SHEET_HOUSEHOLDS:
                import_households_apply(&x);
                break;
        case SHEET_WORKERS:
                import_workers_apply(&x);
                break;
        case SHEET_SHIFTS:
                import_shifts_apply(&x);
                break;
        default:
                break;
        }
        res->origin_by_key = hashmap_new(res->n_origins + 1);
        for (size_t i = 0; i < res->n_origins; i++)
                hashmap_replace(res->origin_by_key, res->origins[i].key, loader_idx_ptr(i));
        import_ctx_done(&x);
        return res->n_errors;
}
