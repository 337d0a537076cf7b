/* Shared by the C exports of the JavaScript API (weft_js.c, weft_js_memory.c, weft_js_nested.c). */
#ifndef WEFT_JS_INTERNAL_H
#define WEFT_JS_INTERNAL_H
#include "weft.h"

/* The task registered under `name`: 0, or WEFT_ENOTASK with the last error set. */
int weft_js__find_task(const char *name, const weft_task_def **task);
/* The pool weft_js_map runs on: "js-worker" (weft_js_nested.c), registered on first use. */
const char *weft_js__backend(void);
/* The running item opened a nested map: returns its index; a traced batch times it. */
double weft_js__opened_nested(void);
#endif
