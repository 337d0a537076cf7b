/* Shared by the C exports of the JavaScript API (weft_js.c, weft_js_memory.c, weft_js_nested.c). */
#ifndef WEFT_JS_INTERNAL_H
#define WEFT_JS_INTERNAL_H
#include "weft.h"

/* The task registered under `name`: 0, or WEFT_ENOTASK with the last error set. */
int weft_js__find_task(const char *name, const weft_task_def **task);
/* The pool weft_js_map runs on: "js-worker" (weft_js_nested.c), registered on first use. */
const char *weft_js__backend(void);
/* The innermost running item opened a nested map: returns its index (-1: none); a traced
 * batch times it. */
double weft_js__opened_nested(void);
/* A traced batch runs (wasm/js/nested.mjs): nested maps time their items one by one. */
int weft_js__tracing(void);
/* The item running on this thread, for the trace: `opened` once it opens a nested map. */
typedef struct {
    double index, since;
    int opened;
} weft_js__item;
/* Item `index` of a nested map starts on this thread: returns the item it runs inside. */
weft_js__item weft_js__item_begin(double index);
/* ... and ended: reports it to the trace when it opened a map; `outer` runs again. */
void weft_js__item_end(weft_js__item outer);
#endif
