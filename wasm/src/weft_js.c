/* The C side of the JavaScript API: a few exported functions over the public API, called
 * by wasm/js/instance.mjs. Everything JS must know about the C side (error codes, struct
 * layouts, the registered tasks) comes from weft_js_info() as JSON, so nothing is
 * hard-coded twice. One instance runs one batch at a time (no pthreads). */
#include "../../core/batching.h"
#include "../../core/internal.h"
#include "../../memory/memory_internal.h"
#include "weft.h"
#include "weft_js_internal.h"
#include "weft_wasm.h"

#include <emscripten.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static weft_pool *plain_pool; /* one job, in order; nested maps may borrow workers */
static weft_memory *memory;   /* a disk Memory the JS side looks up and stores through */
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
        if (c == '"' || c == '\\')
            add(b, "\\%c", c);
        else if (c < 0x20)
            add(b, "\\u%04x", c);
        else
            add(b, "%c", c);
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
#define WEFT__JSON(name, code, msg)                                                             \
    add(b, "%s{\"name\":\"WEFT_" #name "\",\"errno\":%d,\"message\":", first ? "" : ",", code); \
    add_str(b, msg);                                                                            \
    add(b, "}");                                                                                \
    first = 0;
    WEFT_ERROR_MAP(WEFT__JSON)
#undef WEFT__JSON
    /* [offset, size] of each field the JS side reads */
    add(b, "],\"layout\":{\"weft_error\":{\"size\":%zu,", sizeof(weft_error));
    FIELD(weft_error, code), add(b, ","), FIELD(weft_error, task_status), add(b, ",");
    FIELD(weft_error, task_index), add(b, ","), FIELD(weft_error, task_name), add(b, ",");
    FIELD(weft_error, message);
    add(b, "},\"size_t\":%zu},", sizeof(size_t));
    /* the batching policy the JS scheduler follows (core/batching.h) */
    add(b, "\"batching\":{\"growBelowNs\":%u,\"shrinkAboveNs\":%u,\"max\":%zu,", WEFT__BATCH_GROW_BELOW_NS,
        WEFT__BATCH_SHRINK_ABOVE_NS, WEFT__BATCH_MAX);
    add(b, "\"queueNs\":%u,\"queueMax\":%d},\"tasks\":[", WEFT__QUEUE_NS, WEFT__QUEUE_MAX);
    for (size_t i = 0; i < weft_task_count(); i++) {
        add(b, i ? "," : "");
        add_str(b, weft_task_at(i)->name);
    }
    add(b, "]}");
    return doc.s;
}

/* ---- running a batch */

/* An item of a traced batch that opened nested maps ran from t0 to t1 (wasm/js/nested.mjs). */
EM_JS(void, js_opener, (double index, double t0, double t1), {
    var h = Module['weftNested'];
    if (h) h.opener(index, t0, t1);
});

static int open_pool(weft_pool **pool) {
    if (*pool) return 0;
    weft_options o = {.backend = weft_js__backend(), .n_jobs = 1, .batch_size = WEFT_NONE, .verbose = WEFT_NONE};
    return weft_pool_open(pool, &o);
}

int weft_js__find_task(const char *name, const weft_task_def **task) {
    *task = weft_task_find(name);
    if (!*task) return weft__set_error(WEFT_ENOTASK, "no task named '%s' is built into this module", name);
    return 0;
}

/* The item running now. A trap (out-of-bounds access, abort()) unwinds no C code, so the
 * JS side reads this afterwards to say which item and task crashed the instance. */
static const weft_task_def *running_task;
static double running_index = -1;
/* Set while a traced batch runs: an item that opens a nested map is timed for the trace.
 * `item`: the innermost item running on this thread, at any level (a nested map's items run
 * inside an outer item: weft_js_nested.c), so a map it opens names it as its opener. */
static int time_openers;
static weft_js__item item = {-1, 0, 0};

int weft_js__tracing(void) { return time_openers; }

weft_js__item weft_js__item_begin(double index) {
    weft_js__item outer = item;
    item = (weft_js__item){index, emscripten_get_now(), 0};
    return outer;
}

void weft_js__item_end(weft_js__item outer) {
    if (item.opened) js_opener(item.index, item.since, emscripten_get_now());
    item = outer;
}

static int run_traced(weft_task *t) {
    running_index = (double)weft_task_index(t);
    if (!time_openers) return running_task->fn(t);
    weft_js__item outer = weft_js__item_begin(running_index);
    int rc = running_task->fn(t);
    weft_js__item_end(outer);
    return rc;
}

double weft_js__opened_nested(void) {
    item.opened = 1;
    return item.index;
}

EMSCRIPTEN_KEEPALIVE void weft_js_time_openers(int on) { time_openers = on; }

EMSCRIPTEN_KEEPALIVE double weft_js_running_index(void) { return running_index; }

/* Items [index_base, index_base + n) of a map: tasks see their index in the whole map,
 * and so does weft_last_error() for a failing one. Memory is the JS side's business: it
 * looks items up before it dispatches them (wasm/js/memory.mjs), as native maps do. */
EMSCRIPTEN_KEEPALIVE int weft_js_map(const char *task_name, const void *in, size_t in_size,
                                     size_t n, void *out, size_t out_size, size_t index_base) {
    const weft_task_def *task;
    int rc = weft_js__find_task(task_name, &task);
    if (!rc) rc = open_pool(&plain_pool);
    if (rc) return rc;
    /* the same name (Memory keys and errors use it), run through the tracer */
    static weft_task_def traced;
    traced = (weft_task_def){task->name, run_traced};
    running_task = task;
    rc = weft__map_at(plain_pool, &traced, in, in_size, n, out_size ? out : NULL, out_size, index_base);
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
    weft_memory_close(memory);
    memory = NULL;
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.debug = WEFT_NONE;
    return weft_memory_open(&memory, path, &o);
}

/* n items of in_size bytes looked up in the open Memory, batched as native maps do them:
 * found[i] is 1 for a hit, whose out_size-byte value lands at out + i * out_size. */
EMSCRIPTEN_KEEPALIVE int weft_js_memory_lookup(const char *task_name, const unsigned char *in,
                                               size_t in_size, size_t n, unsigned char *out,
                                               size_t out_size, unsigned char *found) {
    const weft_task_def *task;
    if (!memory) return weft__set_error(WEFT_EINVAL, "no Memory is open");
    int rc = weft_js__find_task(task_name, &task);
    weft_bytes *ins = rc ? NULL : malloc((n ? n : 1) * 2 * sizeof *ins);
    if (!rc && !ins) rc = weft__set_error(WEFT_ENOMEM, "out of memory looking up %zu items", n);
    if (rc) return rc;
    weft_bytes *values = ins + n;
    for (size_t i = 0; i < n; i++) ins[i] = (weft_bytes){(void *)(in + i * in_size), in_size};
    rc = weft__memory_lookup_items(memory, task, ins, n, out_size, values, found);
    for (size_t i = 0; !rc && i < n; i++)
        if (found[i]) memcpy(out + i * out_size, values[i].data, out_size);
    if (!rc) weft_bytes_free(values, n);
    free(ins);
    return rc;
}

/* n finished items stored in the open Memory (each took compute_ns). */
EMSCRIPTEN_KEEPALIVE int weft_js_memory_store(const char *task_name, const unsigned char *in,
                                              size_t in_size, size_t n, const unsigned char *out,
                                              size_t out_size, double compute_ns) {
    const weft_task_def *task;
    if (!memory) return weft__set_error(WEFT_EINVAL, "no Memory is open");
    int rc = weft_js__find_task(task_name, &task);
    weft__memory_item *items = rc ? NULL : malloc((n ? n : 1) * sizeof *items);
    if (!rc && !items) rc = weft__set_error(WEFT_ENOMEM, "out of memory storing %zu items", n);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++)
        items[i] = (weft__memory_item){.in = in + i * in_size, .in_size = in_size, .out = out + i * out_size, .out_size = out_size, .compute_ns = (int64_t)compute_ns};
    weft__memory_store_items(memory, task, items, n);
    free(items);
    return 0;
}
