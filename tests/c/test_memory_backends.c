/* Memory on a map, on every backend: the first run computes every item, a second run
 * computes none (it dispatches nothing), a run that overlaps an earlier one computes only
 * the new items, and each task still sees its own index. Maps, variable-size maps,
 * collect-all maps, both kinds of iterator and reductions. Executions are counted by the
 * tasks themselves, one byte appended to a file per run of a task, so the count holds
 * whatever process ran them (not the library's own counters). */
#define _DEFAULT_SOURCE
#include "check.h"
#include "mem_util.h"
#include "weft.h"

#include <fcntl.h>
#include <stdint.h>

#define N 300
#define COUNTS_ENV "WEFT_TEST_COUNTS"

/* Appends one byte to the counts file: the tasks' own record of having run. */
static int count_run(void) {
    const char *path = getenv(COUNTS_ENV);
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;
    int ok = fd >= 0 && write(fd, "x", 1) == 1;
    if (fd >= 0) close(fd);
    return ok ? 0 : -1;
}

static long runs_so_far(void) {
    long n = file_size(getenv(COUNTS_ENV));
    return n < 0 ? 0 : n;
}

/* x -> x * 1000 + its index in the call: a value that shows a narrowed map kept indexes */
static int tagged(weft_task *t) {
    if (count_run()) return weft_fail(t, "cannot count");
    int64_t x = *(const int64_t *)weft_input(t), y = x * 1000 + (int64_t)weft_task_index(t);
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(tagged)

/* x -> x * x, failing for multiples of 7 */
static int picky(weft_task *t) {
    if (count_run()) return weft_fail(t, "cannot count");
    int64_t x = *(const int64_t *)weft_input(t), y = x * x;
    if (x % 7 == 0) return weft_fail(t, "no multiples of 7 (%lld)", (long long)x);
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(picky)

/* bytes -> the bytes reversed */
static int reverse(weft_task *t) {
    if (count_run()) return weft_fail(t, "cannot count");
    const unsigned char *in = weft_input(t);
    size_t n = weft_input_size(t);
    unsigned char out[64];
    for (size_t i = 0; i < n && i < sizeof out; i++) out[i] = in[n - 1 - i];
    return weft_output(t, out, n < sizeof out ? n : sizeof out);
}
WEFT_TASK(reverse)

/* x -> 1 / (1 + x): floats whose sum's bits depend on the order of the additions */
static int inverse(weft_task *t) {
    if (count_run()) return weft_fail(t, "cannot count");
    double x = (double)*(const int64_t *)weft_input(t), y = 1.0 / (1.0 + x);
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(inverse)

static void sum_init(void *acc, void *user) {
    (void)user;
    *(double *)acc = 0;
}
static void sum_fold(void *acc, const void *out, size_t size, void *user) {
    (void)user, (void)size;
    *(double *)acc += *(const double *)out;
}
static void sum_combine(void *acc, const void *other, void *user) {
    (void)user;
    *(double *)acc += *(const double *)other;
}

static weft_pool *open_pool(const char *backend, int n_jobs, weft_memory *m) {
    weft_options o;
    weft_options_init(&o);
    o.backend = backend;
    o.n_jobs = n_jobs;
    o.memory = m;
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    return pool;
}

static void check_map(weft_pool *pool, weft_pool *cached, weft_memory *m) {
    int64_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i;
    long before = runs_so_far();
    CHECK_EQ(weft_map(cached, WEFT_FN(tagged), in, sizeof in[0], N, out, sizeof out[0]), 0);
    CHECK_EQ(runs_so_far() - before, N);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += out[i] != in[i] * 1000 + i;
    CHECK_EQ(bad, 0);
    weft_memory_stats s;
    weft_memory_stats_get(m, &s);
    CHECK_EQ(s.misses, N);
    CHECK_EQ(s.stores, N);

    /* again: every item a hit, no task runs */
    memset(out, 0, sizeof out);
    before = runs_so_far();
    CHECK_EQ(weft_map(cached, WEFT_FN(tagged), in, sizeof in[0], N, out, sizeof out[0]), 0);
    CHECK_EQ(runs_so_far() - before, 0);
    bad = 0;
    for (int i = 0; i < N; i++) bad += out[i] != in[i] * 1000 + i;
    CHECK_EQ(bad, 0);
    weft_memory_stats_get(m, &s);
    CHECK_EQ(s.hits, N);

    /* every third item new: only those run, each under its own index in the call */
    for (int i = 0; i < N; i += 3) in[i] = 100000 + i;
    before = runs_so_far();
    CHECK_EQ(weft_map(cached, WEFT_FN(tagged), in, sizeof in[0], N, out, sizeof out[0]), 0);
    CHECK_EQ(runs_so_far() - before, N / 3);
    bad = 0;
    for (int i = 0; i < N; i++) bad += out[i] != in[i] * 1000 + i;
    CHECK_EQ(bad, 0);

    /* the same map without the memory runs everything, as before */
    before = runs_so_far();
    CHECK_EQ(weft_map(pool, WEFT_FN(tagged), in, sizeof in[0], N, out, sizeof out[0]), 0);
    CHECK_EQ(runs_so_far() - before, N);
}

static void check_bytes(weft_pool *cached) {
    char text[N][16];
    weft_bytes in[N], out[N];
    for (int i = 0; i < N; i++) {
        snprintf(text[i], sizeof text[i], "item-%d", i * (i % 5));
        in[i] = (weft_bytes){text[i], strlen(text[i])};
    }
    for (int run = 0; run < 2; run++) {
        long before = runs_so_far();
        CHECK_EQ(weft_map_bytes(cached, WEFT_FN(reverse), in, N, out), 0);
        /* equal inputs share an entry: the first run computes each distinct one... */
        long ran = runs_so_far() - before;
        if (run == 0) CHECK(ran > 0 && ran <= N);
        else CHECK_EQ(ran, 0); /* ...and the second none */
        int bad = 0;
        for (int i = 0; i < N; i++) {
            size_t n = in[i].size;
            bad += out[i].size != n;
            for (size_t k = 0; k < n && out[i].size == n; k++)
                bad += ((char *)out[i].data)[k] != text[i][n - 1 - k];
        }
        CHECK_EQ(bad, 0);
        weft_bytes_free(out, N);
    }
}

static void check_collect(weft_pool *cached) {
    int64_t in[N], out[N];
    weft_status st[N];
    for (int i = 0; i < N; i++) in[i] = i + 1;
    int failing = 0;
    for (int i = 0; i < N; i++) failing += in[i] % 7 == 0;
    for (int run = 0; run < 2; run++) {
        long before = runs_so_far();
        CHECK_EQ(weft_map_collect(cached, WEFT_FN(picky), in, sizeof in[0], N, out, sizeof out[0], st), WEFT_ETASK);
        /* failures are not cached: the second run runs exactly those again */
        CHECK_EQ(runs_so_far() - before, run == 0 ? N : failing);
        CHECK_EQ(weft_last_error()->task_index, 6); /* the first failure: input 7 */
        int bad = 0;
        for (int i = 0; i < N; i++) {
            if (in[i] % 7 == 0) bad += st[i].code != WEFT_ETASK || !st[i].message || !strstr(st[i].message, "multiples of 7");
            else bad += st[i].code != 0 || out[i] != in[i] * in[i];
        }
        CHECK_EQ(bad, 0);
        weft_status_free(st, N);
    }
}

static void check_iterators(weft_pool *cached) {
    int64_t in[N];
    /* twice, over new inputs: an ordered stream computes first, then an unordered one */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < N; i++) in[i] = 5000 + pass * N + i;
        for (int run = 0; run < 3; run++) {
            weft_iter_options io = {.ordered = (run != 1) != pass, .window = 64};
            weft_iter *it = NULL;
            long before = runs_so_far();
            CHECK_EQ(weft_imap_array(&it, cached, WEFT_FN(tagged), in, sizeof in[0], N, &io), 0);
            weft_result r;
            int got = 0, bad = 0;
            size_t expect = 0;
            while (it && weft_next(it, &r) == 1) {
                got++;
                if (io.ordered) bad += r.index != expect++;
                bad += r.size != 8 || *(const int64_t *)r.data != in[r.index] * 1000 + (int64_t)r.index;
            }
            weft_iter_close(it);
            CHECK_EQ(got, N);
            CHECK_EQ(bad, 0);
            /* the first run computes, the runs after it read the cache */
            CHECK_EQ(runs_so_far() - before, run == 0 ? N : 0);
        }
    }
}

static void check_reduce(weft_pool *pool, weft_pool *cached) {
    int64_t in[N];
    for (int i = 0; i < N; i++) in[i] = i;
    weft_reducer r = {.acc_size = sizeof(double), .init = sum_init, .fold = sum_fold,
                      .combine = sum_combine, .deterministic = 1};
    double plain, first, second;
    CHECK_EQ(weft_reduce(pool, WEFT_FN(inverse), in, sizeof in[0], N, sizeof(double), &r, &plain), 0);
    long before = runs_so_far();
    CHECK_EQ(weft_reduce(cached, WEFT_FN(inverse), in, sizeof in[0], N, sizeof(double), &r, &first), 0);
    CHECK_EQ(runs_so_far() - before, N);
    before = runs_so_far();
    CHECK_EQ(weft_reduce(cached, WEFT_FN(inverse), in, sizeof in[0], N, sizeof(double), &r, &second), 0);
    CHECK_EQ(runs_so_far() - before, 0);
    /* deterministic mode: the same bits cached or not, computed or served */
    CHECK(memcmp(&plain, &first, sizeof plain) == 0);
    CHECK(memcmp(&plain, &second, sizeof plain) == 0);
}

static void check_backend(const char *backend, int n_jobs, const char *base) {
    if (skip_backend(backend, "Memory on a map")) return;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/cache-%s-%d", base, backend, n_jobs);
    weft_memory *m = NULL;
    CHECK_EQ(weft_memory_open(&m, dir, NULL), 0);
    weft_pool *pool = open_pool(backend, n_jobs, NULL), *cached = open_pool(backend, n_jobs, m);
    if (m && pool && cached) {
        int before = check_failed;
        check_map(pool, cached, m);
        check_bytes(cached);
        check_collect(cached);
        check_iterators(cached);
        check_reduce(pool, cached);
        if (check_failed != before) fprintf(stderr, "  ^ backend %s, n_jobs %d\n", backend, n_jobs);
    }
    weft_pool_close(cached);
    weft_pool_close(pool);
    weft_memory_close(m);
}

int main(int argc, char **argv) {
    (void)argc, (void)argv;
    char *base = getenv(COUNTS_ENV) ? NULL : temp_dir("memory-backends");
    if (base) {
        char counts[4200];
        snprintf(counts, sizeof counts, "%s/counts", base);
        setenv(COUNTS_ENV, counts, 1);
#if TEST_HAVE_FORK
        /* again with the variable set from the start, so that worker processes (forked by
         * a server that starts before main) see it too */
        execv("/proc/self/exe", argv);
        perror("execv");
        return 2;
#endif
    }
    char *dir = strdup(getenv(COUNTS_ENV));
    *strrchr(dir, '/') = '\0';
    for (size_t b = 0; weft_backend_name(b); b++) {
        check_backend(weft_backend_name(b), 1, dir);
        check_backend(weft_backend_name(b), 3, dir);
    }
    weft_shutdown();
    rm_rf(dir);
    free(dir);
    free(base);
    return CHECK_DONE();
}
