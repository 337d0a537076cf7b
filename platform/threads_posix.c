/* Threads, locks and condition variables on pthreads (Linux and Emscripten). */
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(weft_plat_mutex), "mutex storage");
_Static_assert(sizeof(pthread_cond_t) <= sizeof(weft_plat_cond), "cond storage");

struct weft_plat_thread {
    pthread_t id;
    void (*fn)(void *);
    void *arg;
};

static void *thread_main(void *p) {
    weft_plat_thread *t = p;
    t->fn(t->arg);
    return NULL;
}

int weft_plat_has_threads(void) {
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
    return 0;
#else
    return 1;
#endif
}

int weft_plat_thread_start(weft_plat_thread **out, void (*fn)(void *), void *arg) {
    if (!weft_plat_has_threads()) return WEFT_PLAT_ENOSYS;
    weft_plat_thread *t = malloc(sizeof *t);
    if (!t) return -ENOMEM;
    t->fn = fn;
    t->arg = arg;
    int rc = pthread_create(&t->id, NULL, thread_main, t);
    if (rc) {
        free(t);
        return -rc;
    }
    *out = t;
    return 0;
}

int weft_plat_thread_join(weft_plat_thread *t) {
    int rc = pthread_join(t->id, NULL);
    free(t);
    return -rc;
}

void weft_plat_mutex_init(weft_plat_mutex *m) { pthread_mutex_init((pthread_mutex_t *)m->opaque, NULL); }
void weft_plat_mutex_destroy(weft_plat_mutex *m) { pthread_mutex_destroy((pthread_mutex_t *)m->opaque); }
void weft_plat_mutex_lock(weft_plat_mutex *m) { pthread_mutex_lock((pthread_mutex_t *)m->opaque); }
void weft_plat_mutex_unlock(weft_plat_mutex *m) { pthread_mutex_unlock((pthread_mutex_t *)m->opaque); }
void weft_plat_cond_init(weft_plat_cond *c) { pthread_cond_init((pthread_cond_t *)c->opaque, NULL); }
void weft_plat_cond_destroy(weft_plat_cond *c) { pthread_cond_destroy((pthread_cond_t *)c->opaque); }
void weft_plat_cond_wait(weft_plat_cond *c, weft_plat_mutex *m) {
    pthread_cond_wait((pthread_cond_t *)c->opaque, (pthread_mutex_t *)m->opaque);
}
void weft_plat_cond_timedwait(weft_plat_cond *c, weft_plat_mutex *m, uint64_t ns) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t at = (uint64_t)ts.tv_nsec + ns;
    ts.tv_sec += (time_t)(at / 1000000000u);
    ts.tv_nsec = (long)(at % 1000000000u);
    pthread_cond_timedwait((pthread_cond_t *)c->opaque, (pthread_mutex_t *)m->opaque, &ts);
}
void weft_plat_cond_broadcast(weft_plat_cond *c) { pthread_cond_broadcast((pthread_cond_t *)c->opaque); }
void weft_plat_cond_signal(weft_plat_cond *c) { pthread_cond_signal((pthread_cond_t *)c->opaque); }
void weft_plat_yield(void) { sched_yield(); }
