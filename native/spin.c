/* Waiting for the other side of a socket: look again for a while before sleeping, since
 * waking a sleeping process costs tens of microseconds. Between looks the CPU goes to
 * whoever waits for it (sched_yield). A yield that comes back late says other work is
 * queued for this CPU: there, spinning only delays the process we wait for (a sleeper is
 * woken ahead of the queue; a spinner waits its turn), so the look stops and the next
 * ones are skipped for a while. */
#define _GNU_SOURCE
#include "native.h"

#include <sched.h>

/* a yield longer than this ran someone else */
#define BUSY_YIELD_NS 2000u
/* after which the waits sleep at once for this long */
#define BUSY_BACKOFF_NS 20000000u

int weft__spin_wait(int (*look)(void *), void *arg, uint64_t spin_ns) {
    static _Thread_local uint64_t busy_until;
    int r = look(arg);
    uint64_t t = weft_plat_now_ns();
    if (r || t < busy_until) return r;
    for (uint64_t until = t + spin_ns; t < until;) {
        sched_yield();
        uint64_t t2 = weft_plat_now_ns();
        if (t2 - t > BUSY_YIELD_NS) {
            busy_until = t2 + BUSY_BACKOFF_NS;
            return look(arg);
        }
        t = t2;
        if ((r = look(arg)) != 0) return r;
    }
    return 0;
}
