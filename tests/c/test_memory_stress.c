/* Many processes, one cache: 4 writer/reader processes x 1000 calls with random keys
 * from a small space (so processes race on the same keys), and a fifth process that
 * prunes under them. Every value any process gets back is verified. Processes are
 * real: fork + exec of this program; where there is no fork (WASI, Emscripten), the same
 * calls take turns in one process. */
#define _DEFAULT_SOURCE
#include "check.h"
#include "mem_util.h"
#include "weft.h"

#if TEST_HAVE_FORK
#include <signal.h>
#include <sys/wait.h>
#endif

#define WORKERS 4
#define CALLS 1000
#define KEYS 400

/* k: i64 -> (k % 997) * 11 + 8 bytes, each a function of k and its position */
static size_t value_size(int64_t k) { return (size_t)(k % 997) * 11 + 8; }
static unsigned char value_byte(int64_t k, size_t i) { return (unsigned char)(k * 31 + i * 7 + (i >> 8)); }

static int make_value(weft_task *t) {
    int64_t k;
    if (weft_args_get_i64(weft_input(t), weft_input_size(t), "k", &k)) return weft_fail(t, "no k");
    size_t n = value_size(k);
    unsigned char *v = malloc(n);
    for (size_t i = 0; i < n; i++) v[i] = value_byte(k, i);
    int rc = weft_output(t, v, n);
    free(v);
    return rc;
}
WEFT_TASK(make_value)

static int good(int64_t k, const weft_bytes *b) {
    if (b->size != value_size(k)) return 0;
    for (size_t i = 0; i < b->size; i++)
        if (((unsigned char *)b->data)[i] != value_byte(k, i)) return 0;
    return 1;
}

static uint64_t rng(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* One worker: CALLS calls with random keys, counting bad values. */
typedef struct worker {
    weft_memory *m;
    weft_args *a;
    uint64_t s;
    int id, bad, hits;
} worker;

static int worker_open(worker *w, const char *dir, int id) {
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.quiet = 1;
    memset(w, 0, sizeof *w);
    if (weft_memory_open(&w->m, dir, &o)) {
        fprintf(stderr, "worker %d: %s\n", id, weft_last_error()->message);
        return 100;
    }
    w->s = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
    w->a = weft_args_new();
    w->id = id;
    return 0;
}

static void worker_call(worker *w) {
    int64_t k = (int64_t)(rng(&w->s) % KEYS);
    weft_args_reset(w->a);
    weft_args_i64(w->a, "k", k);
    weft_bytes out;
    int hit;
    if (weft_memory_call(w->m, WEFT_FN(make_value), w->a, &out, &hit) != 0) {
        fprintf(stderr, "worker %d: call failed: %s\n", w->id, weft_last_error()->message);
        w->bad++;
        return;
    }
    w->hits += hit;
    if (!good(k, &out)) w->bad++;
    weft_bytes_free(&out, 1);
}

/* The number of bad values. */
static int worker_close(worker *w) {
    weft_memory_stats st;
    weft_memory_stats_get(w->m, &st);
    printf("worker %d: %d hits, %d misses, %lld corrupt seen, %d bad\n", w->id, w->hits, CALLS - w->hits,
           (long long)st.corrupt, w->bad);
    weft_args_free(w->a);
    weft_memory_close(w->m);
    return w->bad;
}

static int run_worker(const char *dir, int id) {
    worker w;
    if (worker_open(&w, dir, id)) return 100;
    for (int i = 0; i < CALLS; i++) worker_call(&w);
    return worker_close(&w);
}

/* Prunes to 150 entries over and over while the workers run. */
static int pruner(const char *dir) {
    weft_memory *m;
    if (weft_memory_open(&m, dir, NULL)) return 100;
    int64_t removed, total = 0;
    for (int i = 0; i < 40; i++) {
        if (weft_memory_prune(m, 0, 150, 0, &removed)) return 101;
        total += removed;
        usleep(5000);
    }
    printf("pruner: %lld entries evicted\n", (long long)total);
    weft_memory_close(m);
    return 0;
}

#if TEST_HAVE_FORK
static pid_t spawn(const char *self, const char *role, const char *dir, int id) {
    pid_t pid = fork();
    if (pid == 0) {
        char ids[16];
        snprintf(ids, sizeof ids, "%d", id);
        execl(self, self, role, dir, ids, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void race(const char *dir) {
    pid_t pids[WORKERS + 1];
    for (int i = 0; i < WORKERS; i++) pids[i] = spawn("/proc/self/exe", "worker", dir, i);
    pids[WORKERS] = spawn("/proc/self/exe", "pruner", dir, 0);
    for (int i = 0; i <= WORKERS; i++) {
        int status = -1;
        waitpid(pids[i], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
}
#else
/* No processes: the workers take turns, a call each, on handles of their own (a handle
 * stands for a process: each keeps its own hot table and stats), and the pruner prunes
 * through yet another handle between turns. Interleaved, not concurrent. */
static void race(const char *dir) {
    SKIP("concurrent processes on one cache: no fork here, the workers take turns in one process");
    worker w[WORKERS];
    int opened = 0;
    for (; opened < WORKERS; opened++)
        if (worker_open(&w[opened], dir, opened)) break;
    CHECK_EQ(opened, WORKERS);
    weft_memory *pm = NULL;
    CHECK_EQ(weft_memory_open(&pm, dir, NULL), 0);
    int64_t removed, total = 0;
    for (int i = 0; i < CALLS && opened == WORKERS && pm; i++) {
        for (int k = 0; k < WORKERS; k++) worker_call(&w[k]);
        if (i % (CALLS / 40) == 0) {
            CHECK_EQ(weft_memory_prune(pm, 0, 150, 0, &removed), 0);
            total += removed;
        }
    }
    printf("pruner: %lld entries evicted\n", (long long)total);
    CHECK(total > 0);
    for (int k = 0; k < opened; k++) CHECK_EQ(worker_close(&w[k]), 0);
    weft_memory_close(pm);
}
#endif

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "worker") == 0) return run_worker(argv[2], atoi(argv[3]));
    if (argc == 4 && strcmp(argv[1], "pruner") == 0) return pruner(argv[2]);

    char *dir = temp_dir("stress");
    weft_memory *m;
    CHECK_EQ(weft_memory_open(&m, dir, NULL), 0); /* create it once, before the race */
    weft_memory_close(m);
    race(dir);
    /* afterwards: whatever is stored is whole and right, and no temp file is left */
    CHECK_EQ(weft_memory_open(&m, dir, NULL), 0);
    weft_args *a = weft_args_new();
    int present = 0, bad = 0;
    for (int64_t k = 0; k < KEYS; k++) {
        weft_args_reset(a);
        weft_args_i64(a, "k", k);
        weft_bytes out;
        if (weft_memory_get(m, WEFT_FN(make_value), a, &out) == 0) {
            present++;
            bad += !good(k, &out);
            weft_bytes_free(&out, 1);
        }
    }
    weft_memory_stats st;
    weft_memory_stats_get(m, &st);
    printf("after: %d of %d keys stored, %d bad, %lld corrupt\n", present, KEYS, bad, (long long)st.corrupt);
    CHECK(present > 0);
    CHECK_EQ(bad, 0);
    CHECK_EQ(st.corrupt, 0);
    weft_args_free(a);
    weft_memory_close(m);
    rm_rf(dir);
    free(dir);
    return CHECK_DONE();
}
