/* One CPU budget for nested work (docs/nested.md), measured on real processes and threads:
 * processes -> threads -> threads, three levels, with WEFT_N_JOBS=2, where every inner
 * pool asks for more threads than its share. A sampler thread reads the state of every
 * thread of this process and of the worker processes (/proc/<pid>/task/<tid>/stat) while
 * the map runs: the peak count of runnable ones (state R) must stay within the budget
 * plus one. Then OpenMP inside a processes map: omp_get_max_threads() is the share, unless
 * the user set OMP_NUM_THREADS (run a second time with it set: ctest
 * test_nested_budget_user_omp). */
#define _GNU_SOURCE
#include "check.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <weft.h>

#ifdef WEFT_TEST_OPENMP
#include <omp.h>
#endif

/* TSan adds a thread of its own to every process, and knows nothing of libgomp's
 * barriers: the thread bound and the OpenMP team are checked without it. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

#define L1 4    /* items of the processes map */
#define L2 4    /* items of each task's threads map */
#define L3 6    /* items of each inner task's threads map */
#define ASKED 3 /* what every inner pool asks for: more than any share here */
#define SPIN_MS 3

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the three levels: level 3 burns CPU, levels 2 and 1 open a pool each and sum */

static int64_t expected_leaf(int64_t x) { return x * x + 1; }

static int leaf(weft_task *t) {
    int64_t x;
    memcpy(&x, weft_input(t), sizeof x);
    for (uint64_t until = now_ns() + SPIN_MS * 1000000u; now_ns() < until;) {
    }
    int64_t y = expected_leaf(x);
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(leaf)

/* Open a threads pool of ASKED workers, map `task` over base * 100 + j, sum the outputs. */
static int fan_out(weft_task *t, const weft_task_def *task, int n, int64_t base) {
    weft_options o = {.backend = "threads", .n_jobs = ASKED};
    weft_pool *pool;
    if (weft_pool_open(&pool, &o) != 0) return weft_fail(t, "pool: %s", weft_last_error()->message);
    int64_t in[8], out[8], sum = 0;
    for (int j = 0; j < n; j++) in[j] = base * 100 + j;
    int rc = weft_map(pool, task, in, sizeof in[0], (size_t)n, out, sizeof out[0]);
    weft_pool_close(pool);
    if (rc) return weft_fail(t, "inner map: %s", weft_last_error()->message);
    for (int j = 0; j < n; j++) sum += out[j];
    return weft_output(t, &sum, sizeof sum);
}

static int middle(weft_task *t) {
    int64_t x;
    memcpy(&x, weft_input(t), sizeof x);
    return fan_out(t, WEFT_FN(leaf), L3, x);
}
WEFT_TASK(middle)

/* Input {x, pids region}: writes this worker's pid in its slot, so the sampler finds it. */
typedef struct top_in {
    int64_t x;
    weft_shared pids;
} top_in;

static int top(weft_task *t) {
    top_in in;
    memcpy(&in, weft_input(t), sizeof in);
    int32_t *pids = weft_shared_ptr(in.pids);
    atomic_store((_Atomic int32_t *)&pids[in.x], (int32_t)getpid());
    return fan_out(t, WEFT_FN(middle), L2, in.x);
}
WEFT_TASK(top)

static int64_t expected_top(int64_t x) {
    int64_t sum = 0;
    for (int j = 0; j < L2; j++)
        for (int k = 0; k < L3; k++) sum += expected_leaf((x * 100 + j) * 100 + k);
    return sum;
}

/* ---- the sampler */

typedef struct sampler {
    int32_t *pids; /* L1 slots, filled by the workers */
    atomic_int stop;
    int peak, samples;
    pid_t self_tid;
} sampler;

/* Runnable threads of process `pid`, the sampler itself left out. */
static int runnable_in(pid_t pid, pid_t skip) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == skip) continue;
        char stat_path[300], buf[512];
        snprintf(stat_path, sizeof stat_path, "/proc/%d/task/%s/stat", (int)pid, e->d_name);
        FILE *f = fopen(stat_path, "r");
        if (!f) continue;
        size_t got = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[got] = '\0';
        char *close = strrchr(buf, ')'); /* the name may hold blanks and parentheses */
        if (close && close[1] == ' ' && close[2] == 'R') n++;
    }
    closedir(d);
    return n;
}

static void *sample(void *p) {
    sampler *s = p;
    s->self_tid = (pid_t)syscall(SYS_gettid);
    while (!atomic_load(&s->stop)) {
        int n = runnable_in(getpid(), s->self_tid);
        pid_t seen[L1];
        int n_seen = 0;
        for (int i = 0; i < L1; i++) {
            pid_t pid = atomic_load((_Atomic int32_t *)&s->pids[i]);
            int dup = 0;
            for (int k = 0; k < n_seen; k++) dup |= seen[k] == pid;
            if (!pid || dup) continue;
            seen[n_seen++] = pid;
            n += runnable_in(pid, 0);
        }
        if (n > s->peak) s->peak = n;
        s->samples++;
        usleep(500);
    }
    return NULL;
}

/* The three-level map under a budget of `budget` CPUs: results right, peak <= budget + 1. */
static void test_three_levels(int budget) {
    char value[16];
    snprintf(value, sizeof value, "%d", budget);
    setenv("WEFT_CPU_BUDGET", value, 1);
    CHECK_EQ(weft_cpu_count(), budget);
    weft_options o = {.backend = "processes", .batch_size = 1}; /* n_jobs: WEFT_N_JOBS=2 */
    weft_pool *pool;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    CHECK_EQ(weft_pool_n_jobs(pool), 2);
    weft_shared pids;
    CHECK_EQ(weft_shared_alloc(&pids, L1 * sizeof(int32_t)), 0);
    sampler s = {.pids = weft_shared_ptr(pids)};
    memset(s.pids, 0, L1 * sizeof(int32_t));
    top_in in[L1];
    int64_t out[L1];
    for (int i = 0; i < L1; i++) in[i] = (top_in){i, pids};
    pthread_t th;
    pthread_create(&th, NULL, sample, &s);
    int rc = weft_map(pool, WEFT_FN(top), in, sizeof in[0], L1, out, sizeof out[0]);
    atomic_store(&s.stop, 1);
    pthread_join(th, NULL);
    CHECK_EQ(rc, 0);
    if (rc) fprintf(stderr, "map: %s\n", weft_last_error()->message);
    for (int i = 0; i < L1 && rc == 0; i++) CHECK_EQ(out[i], expected_top(i));
    printf("budget %d, 2 worker processes, inner pools asking %d: peak %d runnable threads over %d samples\n",
           budget, ASKED, s.peak, s.samples);
    CHECK(s.samples > 10);
    CHECK(s.peak >= 1);
    if (UNDER_TSAN)
        printf("the bound is not checked under TSan (its own thread runs in every process)\n");
    else
        CHECK(s.peak <= budget + 1);
    weft_shared_free(pids);
    weft_pool_close(pool);
}

/* ---- OpenMP and weft_task_cpus inside a worker process */

static int omp_view(weft_task *t) {
    int32_t v[3] = {weft_task_cpus(t), weft_cpu_count(), -1};
#ifdef WEFT_TEST_OPENMP
    v[2] = omp_get_max_threads();
    int team = v[2];
    if (!UNDER_TSAN) {
        atomic_int members = 0;
#pragma omp parallel
        atomic_fetch_add(&members, 1);
        team = atomic_load(&members);
    }
    if (team != v[2]) v[2] = -team; /* a team of another size than announced */
#endif
    return weft_output(t, v, sizeof v);
}
WEFT_TASK(omp_view)

static void test_openmp(int budget, int n_jobs) {
    char value[16];
    snprintf(value, sizeof value, "%d", budget);
    setenv("WEFT_CPU_BUDGET", value, 1);
    const char *user = getenv("OMP_NUM_THREADS");
    int share = budget / n_jobs > 1 ? budget / n_jobs : 1;
    weft_options o = {.backend = "processes", .n_jobs = n_jobs};
    weft_pool *pool;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    int32_t out[4][3];
    CHECK_EQ(weft_map(pool, WEFT_FN(omp_view), NULL, 0, 4, out, sizeof out[0]), 0);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(out[i][0], share);
        CHECK_EQ(out[i][1], share);
#ifdef WEFT_TEST_OPENMP
        CHECK_EQ(out[i][2], user ? atoi(user) : share);
#endif
    }
    printf("budget %d, n_jobs %d: weft_task_cpus %d, omp_get_max_threads %d (OMP_NUM_THREADS %s)\n", budget,
           n_jobs, out[0][0], out[0][2], user ? user : "unset");
    weft_pool_close(pool);
}

/* Threads in this process. */
static int thread_count(void) {
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

/* A threads pool opened inside a threads task: its maps run on the outer pool's workers,
 * and it starts no thread. Output {sum, threads added}. */
static int opens_pool(weft_task *t) {
    int before = thread_count();
    weft_options o = {.backend = "threads", .n_jobs = 4};
    weft_pool *pool;
    if (weft_pool_open(&pool, &o) != 0) return weft_fail(t, "pool: %s", weft_last_error()->message);
    int64_t in[16], out[16], v[2] = {0, 0};
    for (int j = 0; j < 16; j++) in[j] = j;
    int rc = weft_map(pool, WEFT_FN(leaf), in, sizeof in[0], 16, out, sizeof out[0]);
    v[1] = thread_count() - before;
    weft_pool_close(pool);
    if (rc) return weft_fail(t, "inner map: %s", weft_last_error()->message);
    for (int j = 0; j < 16; j++) v[0] += out[j];
    return weft_output(t, v, sizeof v);
}
WEFT_TASK(opens_pool)

static void test_threads_in_threads(void) {
    weft_options o = {.backend = "threads", .n_jobs = 2};
    weft_pool *pool;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    int64_t out[3][2], sum = 0;
    for (int j = 0; j < 16; j++) sum += expected_leaf(j);
    CHECK_EQ(weft_map(pool, WEFT_FN(opens_pool), NULL, 0, 3, out, sizeof out[0]), 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(out[i][0], sum);
        CHECK(out[i][1] <= 0); /* none added (one of an earlier pool may end meanwhile) */
        if (out[i][1] > 0) printf("task %d: %lld threads added\n", i, (long long)out[i][1]);
    }
    weft_pool_close(pool);
}

/* On a threads pool: the budget over its workers. */
static void test_threads_share(void) {
    setenv("WEFT_CPU_BUDGET", "6", 1);
    weft_options o = {.backend = "threads", .n_jobs = 3};
    weft_pool *pool;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    int32_t out[4][3];
    CHECK_EQ(weft_map(pool, WEFT_FN(omp_view), NULL, 0, 4, out, sizeof out[0]), 0);
    for (int i = 0; i < 4; i++) CHECK_EQ(out[i][0], 2);
    weft_pool_close(pool);
    unsetenv("WEFT_CPU_BUDGET");
    int machine = weft_cpu_count();
    setenv("WEFT_CPU_BUDGET", "zero", 1); /* refused with a warning: the machine's count */
    CHECK_EQ(weft_cpu_count(), machine);
    unsetenv("WEFT_CPU_BUDGET");
}

/* ---- separate pools at the same time: two threads of this process, a pool each */

#define TWO_ITEMS 24

/* Tasks running at once in this process, and the most seen. Counted in the task itself: a
 * worker's idle spin between maps (100 us) is not work the budget is about. */
static atomic_int in_flight, most_in_flight;

static int counted_leaf(weft_task *t) {
    int now = atomic_fetch_add(&in_flight, 1) + 1;
    for (int m = atomic_load(&most_in_flight); now > m && !atomic_compare_exchange_weak(&most_in_flight, &m, now);) {
    }
    int rc = leaf(t);
    atomic_fetch_sub(&in_flight, 1);
    return rc;
}
WEFT_TASK(counted_leaf)

typedef struct two_pools {
    pthread_barrier_t start;
    int n_jobs, rc[2];
    int64_t out[2][TWO_ITEMS];
} two_pools;

typedef struct user_thread {
    two_pools *shared;
    int which;
} user_thread;

static void *map_on_own_pool(void *p) {
    user_thread *u = p;
    two_pools *tp = u->shared;
    weft_options o = {.backend = "threads", .n_jobs = tp->n_jobs, .batch_size = 1};
    weft_pool *pool;
    int64_t in[TWO_ITEMS];
    for (int j = 0; j < TWO_ITEMS; j++) in[j] = j;
    tp->rc[u->which] = weft_pool_open(&pool, &o);
    pthread_barrier_wait(&tp->start); /* both pools are open: their maps overlap */
    if (tp->rc[u->which] == 0) {
        tp->rc[u->which] = weft_map(pool, WEFT_FN(counted_leaf), in, sizeof in[0], TWO_ITEMS, tp->out[u->which],
                                    sizeof tp->out[0][0]);
        weft_pool_close(pool);
    }
    return NULL;
}

/* Two threads pools of n_jobs workers each, mapping at once from two threads: at most
 * `limit` tasks run at once. With n_jobs <= budget the pools' workers share budget - 1
 * seats and the two calling threads work too: budget + 1. A pool asked for more than the
 * budget takes no seats. */
static void test_two_pools(int budget, int n_jobs, int limit) {
    char value[16];
    snprintf(value, sizeof value, "%d", budget);
    setenv("WEFT_CPU_BUDGET", value, 1);
    atomic_store(&most_in_flight, 0);
    two_pools tp = {.n_jobs = n_jobs};
    pthread_barrier_init(&tp.start, NULL, 2);
    user_thread u[2] = {{&tp, 0}, {&tp, 1}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, map_on_own_pool, &u[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&tp.start);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(tp.rc[i], 0);
        for (int j = 0; j < TWO_ITEMS; j++) CHECK_EQ(tp.out[i][j], expected_leaf(j));
    }
    int most = atomic_load(&most_in_flight);
    printf("budget %d, two pools of %d mapping at once: at most %d tasks at once (limit %d)\n", budget, n_jobs,
           most, limit);
    CHECK(most <= limit);
    if (limit > budget + 1) CHECK(most > budget + 1); /* no seats: every worker ran */
    unsetenv("WEFT_CPU_BUDGET");
}

int main(void) {
    if (!TEST_HAVE_FORK || !TEST_HAVE_THREADS) {
        SKIP("processes and threads needed");
        return CHECK_DONE();
    }
    setenv("WEFT_N_JOBS", "2", 1);
    test_three_levels(2);
    test_three_levels(4);
    test_openmp(2, 2);
    test_openmp(4, 2);
    test_openmp(6, 3);
    test_threads_share();
    test_threads_in_threads();
    test_two_pools(2, 2, 3);
    test_two_pools(3, 3, 4);
    test_two_pools(2, 3, 6); /* asked for more than the budget: no seats, 2 callers + 4 workers */
    return CHECK_DONE();
}
