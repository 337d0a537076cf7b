/* The task registry: definitions kept in name order in an array of pointers, filled by
 * constructors before main() and by late registrations, found by binary search. The
 * definitions stay the user's: weft keeps no link inside them. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const weft_task_def **tasks;
static size_t n_tasks, cap_tasks;
/* registration may come late, from any thread (a library loaded at run time) */
static weft_plat_spinlock lock = WEFT_PLAT_SPINLOCK_INIT;

/* The position of `name`, or where it would go; *found says which. Call with the lock. */
static size_t position(const char *name, int *found) {
    size_t lo = 0, hi = n_tasks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(tasks[mid]->name, name);
        if (c == 0) return *found = 1, mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return *found = 0, lo;
}

int weft_task_register(const weft_task_def *def) {
    if (!def || !def->name || !def->name[0] || !def->fn)
        return weft__set_error(WEFT_EINVAL, "weft_task_register: the definition needs a name and a function");
    weft_plat_spin_lock(&lock);
    int found, rc = 0;
    size_t at = position(def->name, &found);
    if (found) {
        /* the same definition twice is harmless; another under a taken name is not */
        rc = tasks[at] == def ? 0 : WEFT_EINVAL;
    } else if (n_tasks == cap_tasks && !(tasks = realloc(tasks, (cap_tasks = cap_tasks ? 2 * cap_tasks : 64) * sizeof *tasks))) {
        rc = WEFT_ENOMEM;
        n_tasks = cap_tasks = 0;
    } else {
        memmove(tasks + at + 1, tasks + at, (n_tasks - at) * sizeof *tasks);
        tasks[at] = def;
        n_tasks++;
    }
    weft_plat_spin_unlock(&lock);
    if (rc == WEFT_EINVAL) return weft__set_error(rc, "a task named '%s' is already registered", def->name);
    if (rc) return weft__set_error(rc, "weft_task_register: out of memory");
    weft__clear_error();
    return 0;
}

const weft_task_def *weft_task_find(const char *name) {
    if (!name) return NULL;
    weft_plat_spin_lock(&lock);
    int found;
    size_t at = position(name, &found);
    const weft_task_def *t = found ? tasks[at] : NULL;
    weft_plat_spin_unlock(&lock);
    return t;
}

size_t weft_task_count(void) { return n_tasks; }

const weft_task_def *weft_task_at(size_t i) {
    weft_plat_spin_lock(&lock);
    const weft_task_def *t = i < n_tasks ? tasks[i] : NULL;
    weft_plat_spin_unlock(&lock);
    return t;
}
