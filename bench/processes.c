/* The processes backend against the threads backend, on the rows bench/loky_peer.py
 * measures for joblib's loky: per-task overhead with automatic batching, one unbatched
 * round trip, a cold pool, one 200 MB array passed to 16 tasks (a new array, the same one
 * again, one in a shared region).
 *
 * The round trip's floors: a plain socket ping-pong between two processes, and the same
 * through a page both map, waiting as weft's workers do (look, then sleep on a futex).
 *
 *   bench_processes [n_jobs]         one line per figure: row, backend, value, unit
 *   bench_processes --cold N         (internal) a whole program run: start, map, exit */
#define _GNU_SOURCE
#include "weft.h"

#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* weft's own wait (native/spin.c, in the static library): the shm floor waits as the
 * processes backend does, so the gap to it is the backend's own work */
int weft__spin_wait(int (*look)(void *), void *arg, uint64_t spin_ns, int peer_cpu);

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int tiny(weft_task *t) {
    int64_t x;
    memcpy(&x, weft_input(t), sizeof x);
    x += 1;
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(tiny)

/* {region, part, parts} -> the sum of that part of the region's doubles */
typedef struct slice {
    weft_shared region;
    int64_t part, parts;
} slice;

static int slice_sum(weft_task *t) {
    slice s;
    memcpy(&s, weft_input(t), sizeof s);
    const double *a = weft_shared_ptr(s.region);
    size_t n = weft_shared_size(s.region) / sizeof(double);
    size_t lo = n * (size_t)s.part / (size_t)s.parts, hi = n * (size_t)(s.part + 1) / (size_t)s.parts;
    double sum = 0;
    for (size_t i = lo; i < hi; i++) sum += a[i];
    return weft_output(t, &sum, sizeof sum);
}
WEFT_TASK(slice_sum)

/* an item of doubles -> their sum */
static int block_sum(weft_task *t) {
    const double *a = weft_input(t);
    size_t n = weft_input_size(t) / sizeof(double);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += a[i];
    return weft_output(t, &sum, sizeof sum);
}
WEFT_TASK(block_sum)

static weft_pool *open_pool(const char *backend, int n_jobs, int batch_size) {
    weft_options o;
    weft_options_init(&o);
    o.backend = backend;
    o.n_jobs = n_jobs;
    o.batch_size = batch_size;
    weft_pool *pool = NULL;
    if (weft_pool_open(&pool, &o) != 0) {
        fprintf(stderr, "weft_pool_open(%s): %s\n", backend, weft_last_error()->message);
        exit(1);
    }
    return pool;
}

static void must(int rc, const char *what) {
    if (rc) {
        fprintf(stderr, "%s: %s\n", what, weft_last_error()->message);
        exit(1);
    }
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void row(const char *name, const char *backend, double value, const char *unit) {
    printf("%s\t%s\t%.4g\t%s\n", name, backend, value, unit);
    fflush(stdout);
}

#define PARTS 16
#define BIG_DOUBLES (25 * 1000 * 1000) /* 200 MB */

static void bench_backend(const char *backend, int n_jobs) {
    /* per-task overhead with automatic batching: a million tiny tasks */
    size_t n = 1000000;
    int64_t *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++) in[i] = (int64_t)i;
    weft_pool *pool = open_pool(backend, n_jobs, 0);
    must(weft_map(pool, WEFT_FN(tiny), in, 8, n, out, 8), "warm-up");
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t = now_s();
        must(weft_map(pool, WEFT_FN(tiny), in, 8, n, out, 8), "batched");
        t = now_s() - t;
        if (t < best) best = t;
    }
    row("per-task overhead, batched", backend, best / (double)n * 1e6, "us");

    /* one task, unbatched: submit and wait for the result; a latency, so p50 and p99 */
    enum { reps = 5000 };
    static double lat[reps];
    for (int r = 0; r < 100; r++) must(weft_map(pool, WEFT_FN(tiny), in, 8, 1, out, 8), "warm-up");
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        must(weft_map(pool, WEFT_FN(tiny), in, 8, 1, out, 8), "round trip");
        lat[r] = now_s() - t0;
    }
    qsort(lat, reps, sizeof lat[0], by_value);
    row("unbatched round trip, p50", backend, lat[reps / 2] * 1e6, "us");
    row("unbatched round trip, p99", backend, lat[reps * 99 / 100] * 1e6, "us");
    double t;
    weft_pool_close(pool);

    /* unbatched stream: batch_size 1 over 100k items */
    pool = open_pool(backend, n_jobs, 1);
    size_t m = 100000;
    must(weft_map(pool, WEFT_FN(tiny), in, 8, m, out, 8), "warm-up");
    t = now_s();
    must(weft_map(pool, WEFT_FN(tiny), in, 8, m, out, 8), "unbatched");
    row("per-task, batch_size=1", backend, (now_s() - t) / (double)m * 1e6, "us");
    weft_pool_close(pool);

    /* cold start: a new pool until the first results of one task per worker */
    best = 1e9;
    for (int r = 0; r < 5; r++) {
        t = now_s();
        pool = open_pool(backend, n_jobs, 1);
        must(weft_map(pool, WEFT_FN(tiny), in, 8, (size_t)n_jobs, out, 8), "cold");
        double took = now_s() - t;
        weft_pool_close(pool);
        if (took < best) best = took;
    }
    row("cold start of the pool", backend, best * 1e3, "ms");
    free(in);
    free(out);

    /* one 200 MB array to 16 tasks, as a user who does not use weft_shared writes it: the
       array is the map's inputs (16 items of 12.5 MB). Copied in: a new array each call
       (its bytes are copied into a kept shared region); passed again: the same array,
       unchanged (found in that region by its contents: no copy). As loky's rows. */
    double *big = malloc(BIG_DOUBLES * sizeof *big);
    for (size_t i = 0; i < BIG_DOUBLES; i++) big[i] = 1.0;
    double *fresh[3];
    for (int r = 0; r < 3; r++) {
        fresh[r] = malloc(BIG_DOUBLES * sizeof *big);
        for (size_t i = 0; i < BIG_DOUBLES; i++) fresh[r][i] = 2.0 + r;
    }
    const size_t item = BIG_DOUBLES * sizeof *big / PARTS;
    pool = open_pool(backend, n_jobs, 1);
    double sums[PARTS];
    must(weft_map(pool, WEFT_FN(block_sum), big, item, PARTS, sums, sizeof sums[0]), "warm-up");
    best = 1e9;
    for (int r = 0; r < 3; r++) {
        t = now_s();
        must(weft_map(pool, WEFT_FN(block_sum), fresh[r], item, PARTS, sums, sizeof sums[0]), "200 MB");
        t = now_s() - t;
        if (t < best) best = t;
        double total = 0;
        for (int i = 0; i < PARTS; i++) total += sums[i];
        if (total != (2.0 + r) * BIG_DOUBLES) fprintf(stderr, "copied in: wrong sum %g\n", total);
        free(fresh[r]);
    }
    row("200 MB array to 16 tasks (copied in)", backend, best * 1e3, "ms");
    must(weft_map(pool, WEFT_FN(block_sum), big, item, PARTS, sums, sizeof sums[0]), "warm-up");
    best = 1e9;
    for (int r = 0; r < 3; r++) {
        t = now_s();
        must(weft_map(pool, WEFT_FN(block_sum), big, item, PARTS, sums, sizeof sums[0]), "200 MB again");
        t = now_s() - t;
        if (t < best) best = t;
    }
    row("200 MB array to 16 tasks (passed again)", backend, best * 1e3, "ms");
    double total = 0;
    for (int i = 0; i < PARTS; i++) total += sums[i];
    if (total != (double)BIG_DOUBLES) fprintf(stderr, "passed again: wrong sum %g\n", total);

    /* the same array in a weft_shared region, each task given its handle and part */
    weft_shared h;
    must(weft_shared_alloc(&h, BIG_DOUBLES * sizeof *big), "alloc");
    memcpy(weft_shared_ptr(h), big, BIG_DOUBLES * sizeof *big);
    slice jobs[PARTS];
    for (int i = 0; i < PARTS; i++) jobs[i] = (slice){h, i, PARTS};
    must(weft_map(pool, WEFT_FN(slice_sum), jobs, sizeof jobs[0], PARTS, sums, sizeof sums[0]), "warm-up");
    best = 1e9;
    for (int r = 0; r < 3; r++) {
        t = now_s();
        must(weft_map(pool, WEFT_FN(slice_sum), jobs, sizeof jobs[0], PARTS, sums, sizeof sums[0]), "200 MB");
        t = now_s() - t;
        if (t < best) best = t;
    }
    weft_shared_free(h);
    row("200 MB array to 16 tasks (already shared)", backend, best * 1e3, "ms");
    weft_pool_close(pool);
    free(big);
}

/* The floor of a round trip between two processes: 64 bytes over a unix socket pair to
 * a process that sleeps in recv() and sends 48 back (no weft). */
static void socket_ping_pong(void) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return;
    char buf[64] = {0};
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        while (recv(sv[1], buf, sizeof buf, 0) > 0) send(sv[1], buf, 48, MSG_NOSIGNAL);
        _exit(0);
    }
    close(sv[1]);
    enum { reps = 5000,
           warm = 100 };
    static double lat[reps];
    for (int r = 0; r < reps + warm; r++) {
        double t0 = now_s();
        if (send(sv[0], buf, sizeof buf, 0) != sizeof buf || recv(sv[0], buf, 48, MSG_WAITALL) != 48) break;
        if (r >= warm) lat[r - warm] = now_s() - t0;
    }
    close(sv[0]);
    waitpid(pid, NULL, 0);
    qsort(lat, reps, sizeof lat[0], by_value);
    row("unbatched round trip, p50", "socket", lat[reps / 2] * 1e6, "us");
    row("unbatched round trip, p99", "socket", lat[reps * 99 / 100] * 1e6, "us");
}

/* One direction of the shm ping-pong: a message and its count, and whether the reader
 * sleeps on the count (a futex) and must be woken. */
typedef struct mailbox {
    _Alignas(64) _Atomic uint32_t seq;
    _Atomic uint32_t sleeps;
    _Atomic int cpu; /* where the writer ran at its last post */
    char msg[64];
} mailbox;

struct awaited {
    mailbox *m;
    uint32_t want;
};

static int arrived(void *arg) {
    struct awaited *a = arg;
    return atomic_load_explicit(&a->m->seq, memory_order_acquire) == a->want;
}

/* as the workers and the pool wait (native/spin.c): look for 30-50 us, then sleep */
static void await_msg(mailbox *m, uint32_t want, char *to, size_t n) {
    struct awaited a = {m, want};
    if (!weft__spin_wait(arrived, &a, 30000, atomic_load_explicit(&m->cpu, memory_order_relaxed)))
        while (!arrived(&a)) {
            atomic_store(&m->sleeps, 1);
            uint32_t seen = atomic_load(&m->seq);
            if (seen != want) syscall(SYS_futex, &m->seq, FUTEX_WAIT, seen, NULL, NULL, 0);
            atomic_store(&m->sleeps, 0);
        }
    memcpy(to, m->msg, n);
}

static void post_msg(mailbox *m, const char *msg, size_t n) {
    memcpy(m->msg, msg, n);
    atomic_store_explicit(&m->cpu, sched_getcpu(), memory_order_relaxed);
    atomic_fetch_add(&m->seq, 1);
    if (atomic_load(&m->sleeps)) syscall(SYS_futex, &m->seq, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* The floor without a socket: 64 bytes to a process and 48 back through a shared page. */
static void shm_ping_pong(void) {
    enum { reps = 5000,
           warm = 100 };
    mailbox *box = mmap(NULL, 2 * sizeof *box, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (box == MAP_FAILED) return;
    atomic_store(&box[0].cpu, -1);
    atomic_store(&box[1].cpu, -1);
    char buf[64] = {0};
    pid_t pid = fork();
    if (pid == 0) {
        for (uint32_t r = 1; r <= reps + warm; r++) {
            await_msg(&box[0], r, buf, 64);
            post_msg(&box[1], buf, 48);
        }
        _exit(0);
    }
    static double lat[reps];
    for (uint32_t r = 1; r <= reps + warm; r++) {
        double t0 = now_s();
        post_msg(&box[0], buf, 64);
        await_msg(&box[1], r, buf, 48);
        if (r > warm) lat[r - 1 - warm] = now_s() - t0;
    }
    waitpid(pid, NULL, 0);
    munmap(box, 2 * sizeof *box);
    qsort(lat, reps, sizeof lat[0], by_value);
    row("unbatched round trip, p50", "shm", lat[reps / 2] * 1e6, "us");
    row("unbatched round trip, p99", "shm", lat[reps * 99 / 100] * 1e6, "us");
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "--cold") == 0) {
        int n_jobs = atoi(argv[2]);
        int64_t in[64] = {0}, out[64];
        weft_pool *pool = open_pool("processes", n_jobs, 1);
        must(weft_map(pool, WEFT_FN(tiny), in, 8, (size_t)n_jobs, out, 8), "cold");
        weft_pool_close(pool);
        return 0;
    }
    int n_jobs = argc > 1 ? atoi(argv[1]) : weft_cpu_count();
    if (n_jobs < 1) n_jobs = 1;
    socket_ping_pong();
    shm_ping_pong();
    bench_backend("processes", n_jobs);
    bench_backend("threads", n_jobs);
    return 0;
}
