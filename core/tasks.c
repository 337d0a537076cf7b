/* The task registry: a list kept in name order, filled by constructors before main(). */
#include "internal.h"

#include <string.h>

/* Constructors run on one thread before main(), and Emscripten/WASI modules have one
 * thread at load: registration needs no lock. Lookups later only read. */
static weft_task_def *tasks;
static size_t n_tasks;

int weft_task_register(weft_task_def *def) {
    if (!def || !def->name || !def->name[0] || !def->fn)
        return weft__set_error(WEFT_EINVAL, "weft_task_register: the definition needs a name and a function");
    weft_task_def **link = &tasks;
    while (*link && strcmp((*link)->name, def->name) < 0) link = &(*link)->next;
    if (*link == def) return weft__clear_error(), 0; /* the same definition twice is harmless */
    if (*link && strcmp((*link)->name, def->name) == 0)
        return weft__set_error(WEFT_EINVAL, "a task named '%s' is already registered", def->name);
    def->next = *link;
    *link = def;
    n_tasks++;
    weft__clear_error();
    return 0;
}

const weft_task_def *weft_task_find(const char *name) {
    if (!name) return NULL;
    for (const weft_task_def *t = tasks; t; t = t->next)
        if (strcmp(t->name, name) == 0) return t;
    return NULL;
}

size_t weft_task_count(void) { return n_tasks; }

const weft_task_def *weft_task_at(size_t i) {
    const weft_task_def *t = tasks;
    while (t && i--) t = t->next;
    return t;
}
