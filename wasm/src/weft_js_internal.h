/* Shared by the C exports of the JavaScript API (weft_js.c, weft_js_memory.c). */
#ifndef WEFT_JS_INTERNAL_H
#define WEFT_JS_INTERNAL_H
#include "weft.h"

/* The task registered under `name`: 0, or WEFT_ENOTASK with the last error set. */
int weft_js__find_task(const char *name, const weft_task_def **task);
#endif
