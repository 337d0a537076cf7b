/* Waiting for the other side of a ring: look again for a while before sleeping, since
 * waking a sleeping process costs tens of microseconds (an idle vCPU is woken by an
 * interrupt). Three rules decide how:
 * - the other side last wrote from this CPU: sleep at once, it needs this CPU to answer
 *   (a spinner holds it: under EEVDF a yield often picks the yielder again);
 * - first looks only, with a pause between, for a few microseconds: a reply from a
 *   process awake on another CPU comes within that, and a task queued here waits no
 *   longer than that (so these looks stay while the yields below are off);
 * - then the CPU goes to whoever waits for it between looks (sched_yield). A yield that
 *   ran another task says this CPU is wanted: there, spinning only delays the process we
 *   wait for (a sleeper is woken ahead of the queue; a spinner waits its turn), so the
 *   yields stop and the next waits skip them for a while. A yield that merely came back
 *   late (an interrupt, the host) does not count: on a VM they come thousands of times a
 *   second, and taking them for load made every wait sleep. */
#define _GNU_SOURCE
#include "native.h"

#include <sched.h>
#include <sys/resource.h>

/* looks without leaving the CPU, for this long */
#define PAUSE_NS 5000u
/* a yield shorter than this is not worth asking the kernel about (whoever ran, ran
   briefly) */
#define LATE_YIELD_NS 2000u
/* after a yield that ran another task the waits skip their yields for this long: long
   enough that a busy CPU asks getrusage once per hundreds of waits, short enough that the
   round trips after a burst of work (a batched map just ended) spin again at once */
#define BUSY_BACKOFF_NS 2000000u

/* Times the kernel switched this thread out for another task (a yield that ran one). */
static long switched_out(void) {
    struct rusage u;
    return getrusage(RUSAGE_THREAD, &u) == 0 ? u.ru_nivcsw : 0;
}

/* Apart: a pool and a worker that keep handing over on one CPU pay two context switches
 * a round trip, and the kernel may keep them there for tens of milliseconds while another
 * CPU idles: each wakes the other, a wake-up lands on the waker's CPU, and neither stays
 * runnable long enough for the load balancer to see two tasks queued. After SHARED_RUN
 * pieces of work in a row written from its own CPU, the worker leaves that CPU out of its
 * affinity for a moment, which moves it at once, and puts the affinity back as it was:
 * nothing stays pinned, and it does so at most once per MOVE_EVERY_NS. */
#define SHARED_RUN 64
#define MOVE_EVERY_NS 10000000u

void weft__spin_apart(int peer_cpu) {
    static _Thread_local int shared_run;
    static _Thread_local uint64_t next_move_ns;
    int here = sched_getcpu();
    if (peer_cpu < 0 || peer_cpu != here) {
        shared_run = 0;
        return;
    }
    if (++shared_run < SHARED_RUN) return;
    shared_run = 0;
    uint64_t now = weft_plat_now_ns();
    if (now < next_move_ns) return;
    next_move_ns = now + MOVE_EVERY_NS;
    cpu_set_t mine, apart;
    if (sched_getaffinity(0, sizeof mine, &mine) != 0 || CPU_COUNT(&mine) < 2 || !CPU_ISSET(here, &mine)) return;
    apart = mine;
    CPU_CLR(here, &apart);
    if (sched_setaffinity(0, sizeof apart, &apart) == 0) sched_setaffinity(0, sizeof mine, &mine);
}

int weft__spin_wait(int (*look)(void *), void *arg, uint64_t spin_ns, int peer_cpu) {
    static _Thread_local uint64_t busy_until;
    int r = look(arg);
    if (r || (peer_cpu >= 0 && peer_cpu == sched_getcpu())) return r;
    uint64_t t = weft_plat_now_ns(), until = t + spin_ns;
    for (uint64_t paused = t + (PAUSE_NS < spin_ns ? PAUSE_NS : spin_ns); t < paused;) {
        for (int i = 0; i < 16; i++) weft_plat_cpu_relax();
        if ((r = look(arg)) != 0) return r;
        t = weft_plat_now_ns();
    }
    if (t < busy_until) return 0;
    long out = t < until ? switched_out() : 0;
    while (t < until) {
        sched_yield();
        uint64_t t2 = weft_plat_now_ns();
        if (t2 - t > LATE_YIELD_NS && switched_out() != out) {
            busy_until = t2 + BUSY_BACKOFF_NS;
            return look(arg);
        }
        t = t2;
        if ((r = look(arg)) != 0) return r;
    }
    return 0;
}
