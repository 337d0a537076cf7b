/* WASI preview 1: one thread, so locks are no-ops and thread creation is unsupported. */
#include "platform.h"

#include <stdlib.h>
#include <unistd.h>

/* A WASI program starts in "/" whatever the host's working directory, so a relative path
 * (a cache folder on the command line) would land at the root. A runner that knows the
 * directory passes it as $PWD (cmake/wasi-run.mjs does); where it is not preopened,
 * chdir fails and the program stays in "/". */
__attribute__((constructor)) static void start_in_pwd(void) {
    const char *pwd = getenv("PWD");
    if (pwd && pwd[0] == '/' && chdir(pwd) != 0) {
        /* not reachable through the preopens: relative paths keep starting at "/" */
    }
}

int weft_plat_has_threads(void) { return 0; }
int weft_plat_thread_start(weft_plat_thread **out, void (*fn)(void *), void *arg) {
    (void)out, (void)fn, (void)arg;
    return WEFT_PLAT_ENOSYS;
}
int weft_plat_thread_join(weft_plat_thread *t) {
    (void)t;
    return WEFT_PLAT_ENOSYS;
}

void weft_plat_mutex_init(weft_plat_mutex *m) { (void)m; }
void weft_plat_mutex_destroy(weft_plat_mutex *m) { (void)m; }
void weft_plat_mutex_lock(weft_plat_mutex *m) { (void)m; }
void weft_plat_mutex_unlock(weft_plat_mutex *m) { (void)m; }
void weft_plat_cond_init(weft_plat_cond *c) { (void)c; }
void weft_plat_cond_destroy(weft_plat_cond *c) { (void)c; }
/* With one thread nobody could ever signal: waiting would be a deadlock, so return and
 * let the caller re-check its condition. */
void weft_plat_cond_wait(weft_plat_cond *c, weft_plat_mutex *m) { (void)c, (void)m; }
void weft_plat_cond_timedwait(weft_plat_cond *c, weft_plat_mutex *m, uint64_t ns) {
    (void)c, (void)m, (void)ns;
}
void weft_plat_cond_broadcast(weft_plat_cond *c) { (void)c; }
void weft_plat_cond_signal(weft_plat_cond *c) { (void)c; }
void weft_plat_yield(void) {}

int weft_plat_cpu_count(void) { return 1; }
int weft_plat_cpu_online(void) { return 1; }
int weft_plat_cpu_affinity(void) { return 1; }
double weft_plat_cpu_quota(void) { return 0; }

/* No signals under WASI: nothing can interrupt a call. */
void weft_plat_interrupt_begin(void) {}
void weft_plat_interrupt_end(void) {}
unsigned weft_plat_interrupt_count(void) { return 0; }
