/* The backend registry: built-in backends first, then any a program registers. */
#include "internal.h"

#include <string.h>

#define MAX_BACKENDS 16

static const weft_backend *registry[MAX_BACKENDS];
static size_t n_registered;
static atomic_int builtins_done;
static weft_plat_spinlock lock = WEFT_PLAT_SPINLOCK_INIT;

static void take(void) {
    weft_plat_spin_lock(&lock);
}
static void give(void) { weft_plat_spin_unlock(&lock); }

static int add(const weft_backend *b) {
    if (!b || !b->name || !b->name[0] || !b->run)
        return weft__set_error(WEFT_EINVAL, "a backend needs a name and a run method");
    if (b->version < 1 || b->version > WEFT_BACKEND_VERSION)
        return weft__set_error(WEFT_EINVAL, "backend '%s' has interface version %d; this weft knows 1..%d",
                               b->name, b->version, WEFT_BACKEND_VERSION);
    for (size_t i = 0; i < n_registered; i++)
        if (strcmp(registry[i]->name, b->name) == 0)
            return weft__set_error(WEFT_EINVAL, "a backend named '%s' is already registered", b->name);
    if (n_registered == MAX_BACKENDS)
        return weft__set_error(WEFT_ENOMEM, "no room for backend '%s' (at most %d)", b->name, MAX_BACKENDS);
    registry[n_registered++] = b;
    weft__clear_error();
    return 0;
}

static void ensure_builtins(void) {
    if (atomic_load_explicit(&builtins_done, memory_order_acquire)) return;
    take();
    if (!atomic_load_explicit(&builtins_done, memory_order_relaxed)) {
        add(&weft__backend_sequential);
        if (weft_plat_has_threads()) add(&weft__backend_threads);
        for (const weft_backend *const *b = weft__native_backends(); *b; b++) add(*b);
        atomic_store_explicit(&builtins_done, 1, memory_order_release);
    }
    give();
}

int weft_backend_register(const weft_backend *b) {
    ensure_builtins();
    take();
    int rc = add(b);
    give();
    return rc;
}

const weft_backend *weft_backend_find(const char *name) {
    ensure_builtins();
    if (!name) return NULL;
    take();
    const weft_backend *found = NULL;
    for (size_t i = 0; i < n_registered && !found; i++)
        if (strcmp(registry[i]->name, name) == 0) found = registry[i];
    give();
    return found;
}

size_t weft_backend_count(void) {
    ensure_builtins();
    take(); /* another thread may be registering */
    size_t n = n_registered;
    give();
    return n;
}

const char *weft_backend_name(size_t i) {
    ensure_builtins();
    take();
    const char *name = i < n_registered ? registry[i]->name : NULL;
    give();
    return name;
}

unsigned weft_backend_caps(const char *name) {
    const weft_backend *b = weft_backend_find(name);
    return b ? b->caps : 0;
}
