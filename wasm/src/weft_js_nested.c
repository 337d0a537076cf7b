/* Nested maps inside a JS worker (docs/nested.md): the backend of the pool weft_js_map
 * runs batches on. A top-level batch runs in order, as the sequential backend does. A map
 * that a task opens (pool NULL: it joins this pool) is handed to wasm/js/nested.mjs, which
 * shares its inputs with the pool's idle workers where SharedArrayBuffer allows; this
 * worker claims chunks of items and runs them itself until none is left, then waits for
 * the chunks the others took and copies their outputs in. Without a JS side (the calling
 * thread's instance) or without shared memory, every chunk is this worker's. */
#include "../../core/backend.h"
#include "../../core/internal.h"
#include "weft_js_internal.h"

#include <emscripten.h>

/* The JS side (wasm/js/nested.mjs, Module.weftNested: set in workers only). begin returns
 * a handle (0: no JS side here); opener is the index of the item that opened it (in the
 * batch or in the nested map it runs inside; -1 when untraced); claim a chunk's first item and count (0: none left); ran
 * times a chunk this worker ran (for the trace); wait returns 1 when a helper's item failed
 * (which, its code, status and message), after copying the other helpers' outputs to `out`. */
EM_JS(int, js_nested_begin, (const char *task, const void *inputs, size_t in_size, size_t n, size_t out_size, int level, double opener), {
    var h = Module['weftNested'];
    return h ? h.begin(UTF8ToString(task), inputs, in_size, n, out_size, level, opener) : 0;
});
EM_JS(int, js_nested_claim, (int h, double *begin), { return Module['weftNested'].claim(h, begin); });
EM_JS(void, js_nested_ran, (int h, double begin, double end, double t0, double t1),
      { Module['weftNested'].ran(h, begin, end, t0, t1); });
EM_JS(int, js_nested_wait, (int h, void *out, double *index, int *code, int *status, char *message, size_t size),
      { return Module['weftNested'].wait(h, out, index, code, status, message, size); });

/* Only what another instance can redo from the task's name and the input bytes: a plain
 * fixed-size map of a registered task, without per-item hooks, retries, time limits,
 * per-item statuses or a Memory (those stay with the nested map's own worker). */
static int shareable(const weft__job *job) {
    const weft__call *c = &job->call;
    return job->level > 0 && c->kind == WEFT__JOB_MAP && c->task && weft_task_find(c->task->name) == c->task &&
           !job->on_item && !job->on_start && !c->statuses && !c->index_of && c->begin == 0 &&
           !job->options.memory && job->options.retries == 0 && job->task_timeout_ns == 0 && !job->deadline_ns;
}

static void run_in_order(weft__job *job) {
    while (weft__job_run_next(job, 0)) {
    }
}

static int js_run(void *state, weft__job *job) {
    (void)state;
    if (!shareable(job)) return run_in_order(job), 0;
    size_t n = job->call.n;
    /* the trace shows a map inside the slice of the item that opened it, at any level */
    double opener = weft_js__opened_nested();
    int h = js_nested_begin(job->call.task->name, job->call.inputs, job->call.in_size, n, job->call.out_size, job->level, opener);
    if (!h) return run_in_order(job), 0;
    double first;
    int count;
    while (!weft__job_stopping(job) && (count = js_nested_claim(h, &first)) > 0) {
        size_t b = (size_t)first;
        double t0 = emscripten_get_now();
        if (!weft_js__tracing()) {
            weft__job_run(job, b, b + (size_t)count, 0);
        } else { /* item by item: an item that opens a map is its opener in the trace */
            for (size_t i = b; i < b + (size_t)count; i++) {
                weft_js__item outer = weft_js__item_begin((double)i);
                weft__job_run(job, i, i + 1, 0);
                weft_js__item_end(outer);
            }
        }
        js_nested_ran(h, (double)b, (double)(b + (size_t)count), t0, emscripten_get_now());
    }
    double index;
    int code, status;
    char message[200];
    if (js_nested_wait(h, job->call.outputs, &index, &code, &status, message, sizeof message))
        weft__job_finish_remote(job, (size_t)index, code, status, NULL, 0, message);
    return 0;
}

static int js_submit(void *state, weft__job *job) { return (void)state, (void)job, 0; }
static int js_help(void *state, weft__job *job) { return (void)state, weft__job_run_next(job, 0) > 0; }
static int js_finish(void *state, weft__job *job) { return (void)state, run_in_order(job), 0; }

/* Iterators (submit/help/finish) run in order on this worker: only weft_map borrows. */
static const weft_backend js_backend = {
    .version = WEFT_BACKEND_VERSION,
    .name = "js-worker",
    .caps = WEFT_CAP_SHARED_MEMORY | WEFT_CAP_NESTED,
    .run = js_run,
    .submit = js_submit,
    .help = js_help,
    .finish = js_finish,
};

const char *weft_js__backend(void) {
    if (!weft_backend_find(js_backend.name) && weft_backend_register(&js_backend)) return "sequential";
    return js_backend.name;
}
