/* The C side of the JavaScript API: a few exported functions over the public API, called
 * by wasm/js/instance.mjs. Everything JS must know about the C side (error codes, struct
 * layouts, the registered tasks) comes from weft_js_info() as JSON, so nothing is
 * hard-coded twice. One instance runs one batch at a time (no pthreads). */
#include "../../core/internal.h"
#include "weft.h"
#include "weft_wasm.h"

#include <emscripten.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static weft_pool *plain_pool;  /* sequential, one job */
static weft_pool *memory_pool; /* the same with options.memory set */
static weft_memory *memory;
static void *shared_data;
static size_t shared_size;

const void *weft_wasm_shared(size_t *size) {
    if (size) *size = shared_size;
    return shared_size ? shared_data : NULL;
}

/* ---- info: a JSON document built once */

typedef struct buf {
    char *s;
    size_t len, cap;
} buf;

static void add(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(buf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap - b->len <= (size_t)n) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) abort();
        b->s = s;
        b->cap = cap;
    }
}

/* A JSON string; names and messages are ASCII but escape what JSON needs anyway. */
static void add_str(buf *b, const char *s) {
    add(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') add(b, "\\%c", c);
        else if (c < 0x20) add(b, "\\u%04x", c);
        else add(b, "%c", c);
    }
    add(b, "\"");
}

#define FIELD(type, f) add(b, "\"%s\":[%zu,%zu]", #f, offsetof(type, f), sizeof(((type *)0)->f))

EMSCRIPTEN_KEEPALIVE const char *weft_js_info(void) {
    static buf doc;
    if (doc.s) return doc.s;
    buf *b = &doc;
    add(b, "{\"version\":\"%s\",\"errors\":[", weft_version());
    int first = 1;
#define WEFT__JSON(name, code, msg)                                                    \
    add(b, "%s{\"name\":\"WEFT_" #name "\",\"errno\":%d,\"message\":", first ? "" : ",", code); \
    add_str(b, msg);                                                                   \
    add(b, "}");                                                                       \
    first = 0;
    WEFT_ERROR_MAP(WEFT__JSON)
#undef WEFT__JSON
    /* [offset, size] of each field the JS side reads */
    add(b, "],\"layout\":{\"weft_error\":{\"size\":%zu,", sizeof(weft_error));
    FIELD(weft_error, code), add(b, ","), FIELD(weft_error, task_status), add(b, ",");
    FIELD(weft_error, task_index), add(b, ","), FIELD(weft_error, task_name), add(b, ",");
    FIELD(weft_error, message);
    add(b, "},\"weft_memory_stats\":{\"size\":%zu,", sizeof(weft_memory_stats));
    FIELD(weft_memory_stats, hits), add(b, ","), FIELD(weft_memory_stats, misses), add(b, ",");
    FIELD(weft_memory_stats, stores), add(b, ","), FIELD(weft_memory_stats, corrupt), add(b, ",");
    FIELD(weft_memory_stats, saved_ns);
    add(b, "},\"size_t\":%zu},\"tasks\":[", sizeof(size_t));
    for (size_t i = 0; i < weft_task_count(); i++) {
        add(b, i ? "," : "");
        add_str(b, weft_task_at(i)->name);
    }
    add(b, "]}");
    return doc.s;
}

/* ---- running a batch */

static int open_pool(weft_pool **pool, weft_memory *m) {
    if (*pool) return 0;
    weft_options o;
    weft_options_init(&o);
    o.backend = "sequential";
    o.n_jobs = 1;
    o.batch_size = 0;
    o.verbose = 0;
    o.memory = m;
    return weft_pool_open(pool, &o);
}

/* The item running now. A trap (out-of-bounds access, abort()) unwinds no C code, so the
 * JS side reads this afterwards to say which item and task crashed the instance. */
static const weft_task_def *running_task;
static double running_index = -1;

static int run_traced(weft_task *t) {
    running_index = (double)weft_task_index(t);
    return running_task->fn(t);
}

EMSCRIPTEN_KEEPALIVE double weft_js_running_index(void) { return running_index; }

/* Items [index_base, index_base + n) of a map: tasks see their index in the whole map,
 * and so does weft_last_error() for a failing one. */
EMSCRIPTEN_KEEPALIVE int weft_js_map(const char *task_name, const void *in, size_t in_size,
                                     size_t n, void *out, size_t out_size, size_t index_base,
                                     int use_memory) {
    const weft_task_def *task = weft_task_find(task_name);
    if (!task)
        return weft__set_error(WEFT_ENOTASK, "no task named '%s' is built into this module", task_name);
    if (use_memory && !memory)
        return weft__set_error(WEFT_EINVAL, "weft_js_map: no Memory is open");
    weft_pool **pool = use_memory ? &memory_pool : &plain_pool;
    int rc = open_pool(pool, use_memory ? memory : NULL);
    if (rc) return rc;
    /* the same name (Memory keys and errors use it), run through the tracer */
    static weft_task_def traced;
    traced = (weft_task_def){task->name, run_traced, NULL};
    running_task = task;
    rc = weft__map_at(*pool, &traced, in, in_size, n, out_size ? out : NULL, out_size, index_base);
    running_index = -1;
    return rc;
}

EMSCRIPTEN_KEEPALIVE const weft_error *weft_js_last_error(void) { return weft_last_error(); }

/* ---- shared data: JS gets a buffer of `size` bytes to fill (NULL: out of memory) */

EMSCRIPTEN_KEEPALIVE void *weft_js_shared_reserve(size_t size) {
    free(shared_data);
    shared_data = size ? malloc(size) : NULL;
    shared_size = shared_data ? size : 0;
    return shared_data;
}

/* ---- Memory: a disk store at `path` (the real file system in the Node build) */

EMSCRIPTEN_KEEPALIVE int weft_js_memory_open(const char *path) {
    if (memory && strcmp(weft_memory_location(memory), path) == 0) return 0;
    weft_pool_close(memory_pool);
    memory_pool = NULL;
    weft_memory_close(memory);
    memory = NULL;
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.debug = 0;
    return weft_memory_open(&memory, path, &o);
}

EMSCRIPTEN_KEEPALIVE int weft_js_memory_stats(weft_memory_stats *out) {
    if (!memory) return weft__set_error(WEFT_EINVAL, "no Memory is open");
    return weft_memory_stats_get(memory, out);
}
