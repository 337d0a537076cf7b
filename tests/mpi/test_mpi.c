/* The mpi backend under a real launcher: `mpirun -np 3 test_mpi` (ctest does it). Every
 * rank runs this program; weft_mpi_init keeps ranks 1 and 2 serving, rank 0 runs the
 * checks. Modes (argv[1]):
 *   (none)          the conformance checks: map, batch size 1, bytes, collect, fail-fast,
 *                   iterators in both orders, reductions, shared regions, a task missing
 *                   on the other ranks
 *   own-mpi         a program that calls MPI_Init itself and MPI afterwards
 *   single          started without a launcher: a world of one rank that runs everything
 *   kill            (TEST_MPI_KILL=1) a cached map in $TEST_MPI_DIR during which rank 2 is
 *                   killed (SIGKILL): the launcher ends the job naming the rank (or, where
 *                   it lets the job go on, the call fails with WEFT_ECRASHED naming it)
 *   resume          the same map again: only the items missing from the cache run
 *   trace [FILE]    a traced workload (nested maps, batch size 1 and automatic, a
 *                   reduction) on every rank: under WEFT_TRACE without FILE (written at
 *                   exit), else weft_trace_start(FILE.first) .. stop, then FILE likewise
 *                   (tests/mpi/trace.sh checks the files) */
#define _GNU_SOURCE
#include "../c/check.h"
#include "weft.h"
#include "weft_mpi.h"

#include <dirent.h>
#include <mpi.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int square(weft_task *t) {
    int64_t x;
    memcpy(&x, weft_input(t), sizeof x);
    int64_t y = x * x + (int64_t)weft_task_index(t);
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(square);

/* -> {rank, index}, after a short pause so that every rank gets some */
static int who(weft_task *t) {
    usleep(200);
    int32_t out[2] = {weft_worker_id(t), (int32_t)weft_task_index(t)};
    return weft_output(t, out, sizeof out);
}
WEFT_TASK(who);

static int repeat(weft_task *t) {
    size_t n = weft_input_size(t);
    char *out = malloc(2 * n + 1);
    if (!out) return -1;
    memcpy(out, weft_input(t), n);
    memcpy(out + n, weft_input(t), n);
    int rc = weft_output(t, out, 2 * n);
    free(out);
    return rc;
}
WEFT_TASK(repeat);

static int fail_at_13(weft_task *t) {
    int32_t x;
    memcpy(&x, weft_input(t), sizeof x);
    if (x == 13) return weft_fail(t, "unlucky 13 on rank %d", weft_worker_id(t));
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(fail_at_13);

/* int32 n -> int64 sum of squares of 0..n-1, through a nested map on the task's rank */
static int nested_sum(weft_task *t) {
    int32_t n;
    memcpy(&n, weft_input(t), sizeof n);
    int64_t in[64], out[64], sum = 0;
    for (int i = 0; i < n; i++) in[i] = i;
    int rc = weft_map(NULL, WEFT_FN(square), in, sizeof in[0], (size_t)n, out, sizeof out[0]);
    if (rc) return weft_fail(t, "nested map: %s", weft_last_error()->message);
    for (int i = 0; i < n; i++) sum += out[i] - i; /* square adds the item's index */
    return weft_output(t, &sum, sizeof sum);
}
WEFT_TASK(nested_sum);

/* spins until weft_cancelled (at most 5 s) */
static int wait_cancel(weft_task *t) {
    for (int i = 0; i < 5000 && !weft_cancelled(t); i++) usleep(1000);
    int32_t v = weft_cancelled(t);
    return weft_output(t, &v, sizeof v);
}
WEFT_TASK(wait_cancel);

static int logistic(weft_task *t) {
    double r;
    memcpy(&r, weft_input(t), sizeof r);
    double x = 0.5;
    for (int i = 0; i < 200; i++) x = r * x * (1 - x);
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(logistic);

/* input {region, offset}: -> {rank, the region's byte at offset} */
typedef struct probe {
    weft_shared region;
    uint64_t offset;
} probe;
static int read_shared(weft_task *t) {
    probe p;
    memcpy(&p, weft_input(t), sizeof p);
    const unsigned char *base = weft_shared_ptr(p.region);
    if (!base) return weft_fail(t, "region %llu unknown on rank %d", (unsigned long long)p.region.id,
                                weft_worker_id(t));
    int32_t out[2] = {weft_worker_id(t), base[p.offset]};
    usleep(200);
    return weft_output(t, out, sizeof out);
}
WEFT_TASK(read_shared);

static void sum_init(void *acc, void *user) {
    (void)user;
    *(double *)acc = 0;
}
static void sum_fold(void *acc, const void *out, size_t size, void *user) {
    (void)size;
    (void)user;
    *(double *)acc += *(const double *)out;
}
static void sum_combine(void *acc, const void *other, void *user) {
    (void)user;
    *(double *)acc += *(const double *)other;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static weft_pool *open_mpi(int batch_size) {
    weft_options o;
    weft_options_init(&o);
    o.backend = "mpi";
    o.n_jobs = 3;
    o.batch_size = batch_size;
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    return pool;
}

/* {weft_cpu_count(), weft_task_cpus(t), WEFT_CPU_BUDGET} on the rank that runs it */
static int budget_view(weft_task *t) {
    const char *env = getenv("WEFT_CPU_BUDGET");
    int32_t v[3] = {weft_cpu_count(), weft_task_cpus(t), env ? atoi(env) : -1};
    return weft_output(t, v, sizeof v);
}
WEFT_TASK(budget_view);

/* Every rank has its node's share of the CPUs (all 3 ranks on this one node). */
static void test_budget(void) {
    weft_pool *pool = open_mpi(1);
    enum { M = 60 };
    static int32_t v[M][3];
    CHECK_EQ(weft_map(pool, WEFT_FN(budget_view), NULL, 0, M, v, sizeof v[0]), 0);
    int share = weft_cpu_count(), bad = 0;
    for (int i = 0; i < M; i++) bad += v[i][0] != share || v[i][1] != share || v[i][2] != share;
    CHECK_EQ(bad, 0);
    printf("each rank's CPU budget: %d\n", share);
    weft_pool_close(pool);
}

static void test_world(void) {
    CHECK_EQ(weft_mpi_rank(), 0);
    CHECK_EQ(weft_mpi_size(), 3);
    char text[1024];
    weft_mpi_describe(text, sizeof text);
    CHECK_HAS(text, "MPI world: 3 ranks");
    CHECK_HAS(text, "rank 2: pid");
}

static void test_map(int batch_size) {
    weft_pool *pool = open_mpi(batch_size);
    enum { N = 20000 };
    static int64_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i - 7;
    CHECK_EQ(weft_map(pool, WEFT_FN(square), in, sizeof in[0], N, out, sizeof out[0]), 0);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += out[i] != (int64_t)(i - 7) * (i - 7) + i;
    CHECK_EQ(bad, 0);
    /* every rank took part */
    enum { M = 600 };
    static int32_t ranks[M][2];
    CHECK_EQ(weft_map(pool, WEFT_FN(who), NULL, 0, M, ranks, sizeof ranks[0]), 0);
    int seen[3] = {0, 0, 0};
    bad = 0;
    for (int i = 0; i < M; i++) {
        if (ranks[i][0] >= 0 && ranks[i][0] < 3) seen[ranks[i][0]]++;
        bad += ranks[i][1] != i;
    }
    CHECK_EQ(bad, 0);
    CHECK(seen[1] > 0 && seen[2] > 0);
    /* a task's own weft_map runs on its rank, rank 0's included */
    enum { K = 300 };
    static int32_t ns[K];
    static int64_t sums[K];
    for (int i = 0; i < K; i++) ns[i] = i % 64;
    CHECK_EQ(weft_map(pool, WEFT_FN(nested_sum), ns, sizeof ns[0], K, sums, sizeof sums[0]), 0);
    bad = 0;
    for (int i = 0; i < K; i++) bad += sums[i] != (int64_t)(ns[i] - 1) * ns[i] * (2 * ns[i] - 1) / 6;
    CHECK_EQ(bad, 0);
    weft_pool_close(pool);
}

/* Non-zero when the mapping holding `p` is marked for huge pages (VmFlags "hg" in
 * /proc/self/smaps). */
static int advised_huge(const void *p) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return 0;
    char line[512];
    int inside = 0, huge = 0;
    uintptr_t at = (uintptr_t)p;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            inside = at >= lo && at < hi;
        else if (inside && strncmp(line, "VmFlags:", 8) == 0)
            huge = strstr(line, " hg") != NULL;
    }
    fclose(f);
    return huge;
}

/* A map whose outputs take 8 MiB and more: right results, its outputs and the message
 * buffers (1 MiB and more) on huge pages where the host has them. */
static void test_big_map(void) {
    weft_pool *pool = open_mpi(0);
    enum { N = 1500000 };
    int64_t *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
    CHECK(in && out);
    for (int i = 0; i < N; i++) in[i] = i % 1000;
    CHECK_EQ(weft_map(pool, WEFT_FN(square), in, sizeof in[0], N, out, sizeof out[0]), 0);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += out[i] != (int64_t)(i % 1000) * (i % 1000) + i;
    CHECK_EQ(bad, 0);
    FILE *thp = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    char mode[128] = "";
    if (thp && fgets(mode, sizeof mode, thp) && !strstr(mode, "[never]"))
        CHECK(advised_huge((const char *)out + N * sizeof *out / 2));
    else
        printf("big map: no transparent huge pages here, advice not checked\n");
    if (thp) fclose(thp);
    free(in);
    free(out);
    weft_pool_close(pool);
}

static void test_bytes(void) {
    weft_pool *pool = open_mpi(0);
    enum { N = 500 };
    static char text[N][32];
    weft_bytes in[N], out[N];
    for (int i = 0; i < N; i++) {
        in[i].size = (size_t)snprintf(text[i], sizeof text[i], "item-%d", i);
        in[i].data = text[i];
    }
    in[7].size = 0; /* an empty input gives an empty output */
    memset(out, 0, sizeof out);
    CHECK_EQ(weft_map_bytes(pool, WEFT_FN(repeat), in, N, out), 0);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        char want[80];
        int len = i == 7 ? 0 : snprintf(want, sizeof want, "item-%ditem-%d", i, i);
        bad += out[i].size != (size_t)len || (len && memcmp(out[i].data, want, (size_t)len) != 0);
    }
    CHECK_EQ(bad, 0);
    weft_bytes_free(out, N);
    weft_pool_close(pool);
}

static void test_failures(void) {
    weft_pool *pool = open_mpi(0);
    enum { N = 300 };
    int32_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i;
    weft_status st[N];
    CHECK_EQ(weft_map_collect(pool, WEFT_FN(fail_at_13), in, sizeof in[0], N, out, sizeof out[0], st),
             WEFT_ETASK);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += i == 13 ? st[i].code != WEFT_ETASK : st[i].code != 0 || out[i] != i;
    CHECK_EQ(bad, 0);
    CHECK(st[13].message && strstr(st[13].message, "unlucky 13 on rank"));
    weft_status_free(st, N);
    /* fail-fast: the index and the message reach rank 0 */
    CHECK_EQ(weft_map(pool, WEFT_FN(fail_at_13), in, sizeof in[0], N, out, sizeof out[0]), WEFT_ETASK);
    CHECK_EQ(weft_last_error()->task_index, 13);
    CHECK_HAS(weft_last_error()->message, "unlucky 13 on rank");
    /* a task registered on rank 0 only (after weft_mpi_init): a program mismatch */
    static weft_task_def late = {"registered_late", who};
    CHECK_EQ(weft_task_register(&late), 0);
    CHECK_EQ(weft_map(pool, &late, NULL, 0, 200, out, 2 * sizeof(int32_t)) == 0, 0);
    CHECK_HAS(weft_last_error()->message, "'registered_late' is not registered on rank");
    /* a call's time limit reaches the tasks on every rank: no task waits its 5 s */
    weft_options o;
    weft_options_init(&o);
    o.backend = "mpi";
    o.timeout_s = 0.3;
    weft_pool *limited = NULL;
    CHECK_EQ(weft_pool_open(&limited, &o), 0);
    double t0 = now_s();
    CHECK_EQ(weft_map(limited, WEFT_FN(wait_cancel), NULL, 0, 6, out, sizeof out[0]), WEFT_ETIMEDOUT);
    CHECK(now_s() - t0 < 3);
    weft_pool_close(limited);
    /* the world goes on after failures */
    CHECK_EQ(weft_map(pool, WEFT_FN(fail_at_13), in, sizeof in[0], 13, out, sizeof out[0]), 0);
    weft_pool_close(pool);
}

static void test_iterators(int ordered) {
    weft_pool *pool = open_mpi(0);
    enum { N = 3000 };
    static int64_t in[N];
    for (int i = 0; i < N; i++) in[i] = i;
    weft_iter_options io = {.ordered = ordered, .window = 64};
    weft_iter *it = NULL;
    CHECK_EQ(weft_imap_array(&it, pool, WEFT_FN(square), in, sizeof in[0], N, &io), 0);
    static char seen[N];
    memset(seen, 0, sizeof seen);
    int got = 0, bad = 0, r;
    weft_result res;
    while ((r = weft_next(it, &res)) == 1) {
        int64_t v;
        memcpy(&v, res.data, sizeof v);
        bad += res.index >= N || seen[res.index] || v != (int64_t)res.index * (int64_t)res.index + (int64_t)res.index;
        bad += ordered && res.index != (size_t)got;
        if (res.index < N) seen[res.index] = 1;
        got++;
    }
    CHECK_EQ(r, 0);
    CHECK_EQ(got, N);
    CHECK_EQ(bad, 0);
    weft_iter_close(it);
    weft_pool_close(pool);
}

static void test_reduce(void) {
    enum { N = 5000 };
    static double rs[N];
    for (int i = 0; i < N; i++) rs[i] = 3.0 + (double)i / N;
    weft_reducer r = {sizeof(double), sum_init, sum_fold, sum_combine, NULL, 0};
    double seq = 0;
    for (int i = 0; i < N; i++) {
        double x = 0.5;
        for (int k = 0; k < 200; k++) x = rs[i] * x * (1 - x);
        seq += x;
    }
    weft_pool *pool = open_mpi(0);
    double got = 0;
    CHECK_EQ(weft_reduce(pool, WEFT_FN(logistic), rs, sizeof rs[0], N, sizeof(double), &r, &got), 0);
    CHECK(got > seq - 1e-6 && got < seq + 1e-6);
    /* deterministic: bit-identical to the sequential backend */
    r.deterministic = 1;
    weft_options o;
    weft_options_init(&o);
    o.backend = "sequential";
    weft_pool *sequential = NULL;
    CHECK_EQ(weft_pool_open(&sequential, &o), 0);
    double want = 0, det = 1;
    CHECK_EQ(weft_reduce(sequential, WEFT_FN(logistic), rs, sizeof rs[0], N, sizeof(double), &r, &want), 0);
    CHECK_EQ(weft_reduce(pool, WEFT_FN(logistic), rs, sizeof rs[0], N, sizeof(double), &r, &det), 0);
    CHECK(memcmp(&want, &det, sizeof det) == 0);
    weft_pool_close(sequential);
    weft_pool_close(pool);
}

/* A region reaches each rank once, before the first call after it was made, and stays
 * there by id until freed. The ranks of this node (all of them, under mpirun on one
 * machine) map rank 0's memory itself (WEFT_MPI_REGIONS unset or "map"), so they see a
 * change made here afterwards; sent in messages or copied into a window once ("send",
 * "window"), a change is not sent again, so they still read the first bytes. */
static void test_shared(void) {
    weft_pool *pool = open_mpi(0);
    weft_shared h;
    size_t size = (size_t)8 << 20;
    CHECK_EQ(weft_shared_alloc(&h, size), 0);
    unsigned char *base = weft_shared_ptr(h);
    memset(base, 7, size);
    enum { N = 400 };
    static probe in[N];
    static int32_t out[N][2];
    for (int i = 0; i < N; i++) in[i] = (probe){h, (uint64_t)i * 20000u};
    CHECK_EQ(weft_map(pool, WEFT_FN(read_shared), in, sizeof in[0], N, out, sizeof out[0]), 0);
    int bad = 0, remote = 0;
    for (int i = 0; i < N; i++) bad += out[i][1] != 7, remote += out[i][0] != 0;
    CHECK_EQ(bad, 0);
    CHECK(remote > 0);
    memset(base, 9, size);
    CHECK_EQ(weft_map(pool, WEFT_FN(read_shared), in, sizeof in[0], N, out, sizeof out[0]), 0);
    int stale = 0, fresh = 0;
    for (int i = 0; i < N; i++) stale += out[i][0] != 0 && out[i][1] == 7, fresh += out[i][0] != 0 && out[i][1] == 9;
    const char *mode = getenv("WEFT_MPI_REGIONS");
    if (!mode || strcmp(mode, "map") == 0) {
        CHECK(fresh > 0 && stale == 0); /* the same memory */
    } else {
        CHECK(stale > 0 && fresh == 0); /* not sent again */
    }
    weft_shared_free(h);
    weft_shared h2;
    CHECK_EQ(weft_shared_alloc(&h2, 4096), 0);
    memset(weft_shared_ptr(h2), 5, 4096);
    for (int i = 0; i < N; i++) in[i] = (probe){h2, (uint64_t)i % 4096};
    CHECK_EQ(weft_map(pool, WEFT_FN(read_shared), in, sizeof in[0], N, out, sizeof out[0]), 0);
    bad = 0;
    for (int i = 0; i < N; i++) bad += out[i][1] != 5;
    CHECK_EQ(bad, 0);
    /* the freed one is gone on the ranks too */
    for (int i = 0; i < N; i++) in[i] = (probe){h, 0};
    CHECK_EQ(weft_map(pool, WEFT_FN(read_shared), in, sizeof in[0], N, out, sizeof out[0]), WEFT_ETASK);
    CHECK_HAS(weft_last_error()->message, "unknown on rank");
    weft_shared_free(h2);
    weft_pool_close(pool);
}

/* ---- a rank killed mid-map, and the rerun */

enum { CACHED_N = 400 };

/* Counts its runs in DIR/runs/<index>; rank 2 dies at item 250 in the `kill` run. DIR
 * comes from the environment: the other ranks never run main past weft_mpi_init. */
static const char *run_dir;
static int cached_square(weft_task *t) {
    size_t i = weft_task_index(t);
    if (!run_dir) run_dir = getenv("TEST_MPI_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/runs/%zu", run_dir, i);
    FILE *f = fopen(path, "a");
    if (f) fclose(f);
    if (i >= 250 && getenv("TEST_MPI_KILL") && weft_worker_id(t) == 2) raise(SIGKILL);
    usleep(2000);
    int64_t y = (int64_t)i * (int64_t)i;
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(cached_square);

static size_t count_runs(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/runs", run_dir);
    DIR *d = opendir(path);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static int64_t cached_misses;

static int cached_map(int expect_crash) {
    char path[512];
    snprintf(path, sizeof path, "%s/cache", run_dir);
    weft_memory *m = NULL;
    CHECK_EQ(weft_memory_open(&m, path, NULL), 0);
    weft_options o;
    weft_options_init(&o);
    o.backend = "mpi";
    o.memory = m;
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    static int64_t in[CACHED_N], out[CACHED_N];
    for (int i = 0; i < CACHED_N; i++) in[i] = i;
    int rc = weft_map(pool, WEFT_FN(cached_square), in, sizeof in[0], CACHED_N, out, sizeof out[0]);
    if (expect_crash) {
        CHECK_EQ(rc, WEFT_ECRASHED);
        CHECK_HAS(weft_last_error()->message, "rank 2 (pid");
        printf("the crash: %s\n", weft_last_error()->message);
        /* the world cannot go on */
        CHECK_EQ(weft_map(pool, WEFT_FN(square), in, sizeof in[0], 10, out, sizeof out[0]), WEFT_ECRASHED);
    } else {
        CHECK_EQ(rc, 0);
        int bad = 0;
        for (int i = 0; i < CACHED_N; i++) bad += out[i] != (int64_t)i * i;
        CHECK_EQ(bad, 0);
        weft_memory_stats st;
        CHECK_EQ(weft_memory_stats_get(m, &st), 0);
        printf("resume: %lld hits, %lld misses\n", (long long)st.hits, (long long)st.misses);
        CHECK(st.hits > 0);
        CHECK_EQ(st.hits + st.misses, CACHED_N);
        cached_misses = st.misses;
    }
    weft_pool_close(pool);
    weft_memory_close(m);
    return rc;
}

/* int32 n -> the sum of squares of 0..n-1 through a nested map, after ~1 ms: every rank
 * gets some of a few items, and its batches stay small enough to show each task */
static int slow_nested(weft_task *t) {
    usleep(1000);
    return nested_sum(t);
}
WEFT_TASK(slow_nested);

static void traced_work(void) {
    weft_pool *pool = open_mpi(2);
    enum { K = 30,
           N = 3000 };
    static int32_t ns[K];
    static int64_t sums[K], in[N], out[N];
    for (int i = 0; i < K; i++) ns[i] = 1 + i % 6;
    CHECK_EQ(weft_map(pool, WEFT_FN(slow_nested), ns, sizeof ns[0], K, sums, sizeof sums[0]), 0);
    int bad = 0;
    for (int i = 0; i < K; i++) bad += sums[i] != (int64_t)(ns[i] - 1) * ns[i] * (2 * ns[i] - 1) / 6;
    CHECK_EQ(bad, 0);
    weft_pool_close(pool);
    pool = open_mpi(0);
    for (int i = 0; i < N; i++) in[i] = i;
    CHECK_EQ(weft_map(pool, WEFT_FN(square), in, sizeof in[0], N, out, sizeof out[0]), 0);
    bad = 0;
    for (int i = 0; i < N; i++) bad += out[i] != (int64_t)i * i + i;
    CHECK_EQ(bad, 0);
    weft_pool_close(pool);
    test_reduce();
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "own-mpi") == 0) {
        /* the program starts MPI and uses it beside weft */
        MPI_Init(&argc, &argv);
        int rank, size;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        int served = weft_mpi_init(&argc, &argv);
        CHECK_EQ(served, rank == 0 ? 0 : WEFT_MPI_SERVED);
        if (rank == 0) test_map(0);
        if (rank == 0) weft_mpi_finalize();
        int one = 1, total = 0;
        MPI_Allreduce(&one, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        CHECK_EQ(total, size);
        MPI_Finalize();
        if (rank != 0) return check_failed ? 1 : 0;
        return CHECK_DONE();
    }
    if (weft_mpi_init(&argc, &argv) != 0) {
        fprintf(stderr, "weft_mpi_init: %s\n", weft_last_error()->message);
        return 1;
    }
    /* from here on: rank 0 only */
    if (strcmp(mode, "single") == 0) {
        CHECK_EQ(weft_mpi_size(), 1);
        enum { N = 1000 };
        static int64_t in[N], out[N];
        for (int i = 0; i < N; i++) in[i] = i;
        weft_pool *pool = open_mpi(0);
        CHECK_EQ(weft_map(pool, WEFT_FN(square), in, sizeof in[0], N, out, sizeof out[0]), 0);
        int bad = 0;
        for (int i = 0; i < N; i++) bad += out[i] != (int64_t)i * i + i;
        CHECK_EQ(bad, 0);
        weft_pool_close(pool);
        return CHECK_DONE();
    }
    if (strcmp(mode, "kill") == 0 || strcmp(mode, "resume") == 0) {
        run_dir = getenv("TEST_MPI_DIR");
        if (!run_dir) return fprintf(stderr, "test_mpi %s: set TEST_MPI_DIR\n", mode), 2;
        char path[512];
        snprintf(path, sizeof path, "%s/runs", run_dir);
        mkdir(run_dir, 0700);
        mkdir(path, 0700);
        size_t before = count_runs();
        cached_map(strcmp(mode, "kill") == 0);
        size_t ran = count_runs() - before;
        printf("%s: %zu tasks ran\n", mode, ran);
        if (strcmp(mode, "resume") == 0) CHECK_EQ((int64_t)ran, cached_misses); /* only the misses ran */
        return CHECK_DONE();
    }
    if (strcmp(mode, "trace") == 0) {
        if (argc < 3) {
            traced_work(); /* WEFT_TRACE's file is written at exit */
            return CHECK_DONE();
        }
        char first[512];
        snprintf(first, sizeof first, "%s.first", argv[2]);
        CHECK_EQ(weft_trace_start(first), 0);
        weft_pool *pool = open_mpi(0);
        static int32_t ranks[600][2];
        CHECK_EQ(weft_map(pool, WEFT_FN(who), NULL, 0, 600, ranks, sizeof ranks[0]), 0);
        weft_pool_close(pool);
        CHECK_EQ(weft_trace_stop(), 0);
        CHECK_EQ(weft_trace_start(argv[2]), 0); /* a second trace: the ranks are told again */
        traced_work();
        CHECK_EQ(weft_trace_stop(), 0);
        return CHECK_DONE();
    }
    test_world();
    test_budget();
    test_map(0);
    test_map(1);
    test_big_map();
    test_bytes();
    test_failures();
    test_iterators(1);
    test_iterators(0);
    test_reduce();
    test_shared();
    return CHECK_DONE();
}
