/* The C side of a Memory the JS side keeps (IndexedDB in a browser, which C cannot reach
 * synchronously): map items' keys, entries built and checked, archives cleaned, all with
 * the core's own code (core/memory.c, entry.c, archive.c), so the bytes are the native
 * ones (docs/cache-format.md). Called by wasm/js/memory-codec.mjs. */
#include "../../memory/memory_internal.h"
#include "weft.h"
#include "weft_js_internal.h"

#include <emscripten.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A "memory:" Memory with the defaults of the one weft_js_memory_open makes, quiet. */
static int open_in_memory(weft_memory **m) {
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.debug = WEFT_NONE;
    o.quiet = 1;
    return weft_memory_open(m, "memory:", &o);
}

/* Keys and entries need a task's version and ignore list: a scratch Memory, kept. */
static weft_memory *scratch;

static int scratch_memory(weft_memory **m) {
    int rc = scratch ? 0 : open_in_memory(&scratch);
    *m = scratch;
    return rc;
}

/* The keys (16 bytes each, into `keys`) of n items of in_size bytes. */
EMSCRIPTEN_KEEPALIVE int weft_js_memory_keys(const char *task_name, const unsigned char *in,
                                             size_t in_size, size_t n, uint8_t *keys) {
    const weft_task_def *task;
    weft_memory *m;
    int rc = weft_js__find_task(task_name, &task);
    if (!rc) rc = scratch_memory(&m);
    for (size_t i = 0; !rc && i < n; i++)
        rc = weft__memory_item_key(m, task, in + i * in_size, in_size, keys + 16 * i);
    return rc;
}

/* One item's entry, header then value, in a malloc'd buffer (*data, *size). */
EMSCRIPTEN_KEEPALIVE int weft_js_memory_entry(const char *task_name, const void *in, size_t in_size,
                                              const void *out, size_t out_size, double compute_ns,
                                              unsigned char **data, size_t *size) {
    const weft_task_def *task;
    weft_memory *m;
    unsigned char *head = NULL;
    size_t head_size = 0;
    int rc = weft_js__find_task(task_name, &task);
    if (!rc) rc = scratch_memory(&m);
    if (!rc) rc = weft__memory_item_entry(m, task, in, in_size, out, out_size, (int64_t)compute_ns, &head, &head_size);
    if (rc) return rc;
    unsigned char *all = realloc(head, head_size + out_size);
    if (!all) {
        free(head);
        return weft__set_error(WEFT_ENOMEM, "out of memory building a cache entry");
    }
    if (out_size) memcpy(all + head_size, out, out_size);
    *data = all;
    *size = head_size + out_size;
    return 0;
}

/* Check an entry (header then value) as every reader does; task and key may be NULL
 * (any). Returns the value's offset (the header size), or WEFT_ECORRUPT. `id` gets
 * "task\0version\0" (at most id_size bytes) and key_out the key. */
EMSCRIPTEN_KEEPALIVE int weft_js_memory_check(const char *task, const uint8_t *key,
                                              const unsigned char *bytes, size_t size, char *id,
                                              size_t id_size, uint8_t *key_out) {
    weft__entry e;
    if (weft__entry_check_whole(bytes, size, task, key, &e) ||
        e.task_len + e.version_len + 2 > id_size || memchr(e.task, 0, e.task_len))
        return WEFT_ECORRUPT;
    size_t head = e.header_size;
    memcpy(id, e.task, e.task_len);
    id[e.task_len] = 0;
    memcpy(id + e.task_len + 1, e.version, e.version_len);
    id[e.task_len + 1 + e.version_len] = 0;
    memcpy(key_out, e.key, 16);
    return (int)head;
}

/* An archive's valid entries, re-archived (*data, *size malloc'd): the core's import
 * checks each one (corrupt ones are skipped and counted in stats[1..2] = skipped,
 * corrupt; stats[0] = imported). A damaged archive returns WEFT_ECORRUPT with the good
 * entries before the damage still in *data, as the native import stores them. */
EMSCRIPTEN_KEEPALIVE int weft_js_archive_clean(const void *archive, size_t size, double *stats,
                                               unsigned char **data, size_t *out_size) {
    weft_memory *m;
    int rc = open_in_memory(&m);
    if (rc) return rc;
    weft_import_stats st;
    int irc = weft_memory_import_bytes(m, archive, size, &st);
    char why[256];
    snprintf(why, sizeof why, "%s", irc ? weft_last_error()->message : "");
    weft_bytes out = {NULL, 0};
    rc = weft_memory_export_bytes(m, NULL, &out, NULL);
    weft_memory_close(m);
    if (rc) return rc;
    stats[0] = (double)st.imported, stats[1] = (double)st.skipped, stats[2] = (double)st.corrupt;
    *data = out.data;
    *out_size = out.size;
    return irc ? weft__set_error(irc, "%s", why) : 0;
}
