/* run_vectors: the shared test tasks on a fixed set of inputs, printed in one canonical
 * text form, so that builds for different hosts (native, WASI, Emscripten with and
 * without pthreads) can be compared byte for byte (tests/node/vectors.test.mjs).
 *
 * Every case runs on every registered backend with several n_jobs and batch sizes; each
 * run's text must equal the reference run's (sequential, n_jobs 1, automatic batches),
 * which alone goes to standard output. So stdout does not depend on which backends a
 * build has, and the exit status says whether all of them agreed: 0 when they did, 1
 * when a configuration differed or an invariant broke, 2 when a pool would not open.
 * Standard error gets a summary line naming the backends and configurations checked.
 *
 * The text holds no pointer, size_t or host-specific value: output bytes in hex, error
 * names, indices and messages. */
#include "test_tasks.h"
#include "weft.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- a growable string */

typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void die_oom(void) {
    fprintf(stderr, "run_vectors: out of memory\n");
    exit(2);
}

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int n = vsnprintf(t->s ? t->s + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) die_oom();
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap : 4096;
        while (cap - t->len <= (size_t)n) cap *= 2;
        char *s = realloc(t->s, cap);
        if (!s) die_oom();
        t->s = s;
        t->cap = cap;
    }
}

/* Bytes as lowercase hex, 32 bytes to a line, each line indented by two spaces. */
static void put_hex(text *t, const void *data, size_t size) {
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i += 32) {
        put(t, " ");
        for (size_t j = i; j < size && j < i + 32; j++) put(t, "%s%02x", j % 8 ? "" : " ", p[j]);
        put(t, "\n");
    }
}

/* A call's return code and, when it failed, the thread's error record. */
static void put_rc(text *t, int rc) {
    put(t, "  rc %d %s\n", rc, weft_error_name(rc));
    if (rc == 0) return;
    const weft_error *e = weft_last_error();
    put(t, "  error %s status %d index %lld task '%s'\n", weft_error_name(e->code),
        e->task_status, (long long)e->task_index, e->task_name);
    put(t, "  message '%s'\n", e->message);
}

/* Broken invariants that comparing texts would not catch (worker ids, levels), and the
 * highest worker id seen (for the summary: did other threads than the caller run tasks?). */
static int broken, top_worker;

/* ---------------------------------------------------------------- the cases */

/* A case runs maps on `pool` and writes what came out; `n_jobs` is the pool's width. */
typedef void (*case_fn)(weft_pool *pool, int n_jobs, text *t);

/* One weft_map of `task` over n items into zeroed outputs: the header line, the return
 * code and the outputs in hex. */
static void put_map(weft_pool *pool, text *t, const char *title, const weft_task_def *task,
                    const void *in, size_t in_size, size_t n, void *out, size_t out_size) {
    memset(out, 0, n * out_size);
    int rc = weft_map(pool, task, in, in_size, n, out, out_size);
    put(t, "map %s n %u in %u out %u\n", title, (unsigned)n, (unsigned)in_size, (unsigned)out_size);
    put_rc(t, rc);
    put_hex(t, out, n * out_size);
}

static void case_square(weft_pool *pool, int n_jobs, text *t) {
    (void)n_jobs;
    enum { N = 1000 };
    int64_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = (int64_t)i * 3037000 - 1500000000; /* negatives too */
    put_map(pool, t, "square", WEFT_FN(square), in, sizeof in[0], N, out, sizeof out[0]);
}

static void case_mix64(weft_pool *pool, int n_jobs, text *t) {
    (void)n_jobs;
    enum { N = 10000 };
    static uint64_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = (uint64_t)i * 0x9e3779b97f4a7c15ull;
    put_map(pool, t, "mix64", WEFT_FN(mix64), in, sizeof in[0], N, out, sizeof out[0]);
}

static void case_logistic(weft_pool *pool, int n_jobs, text *t) {
    (void)n_jobs;
    enum { N = 200 };
    double in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = 2.5 + 1.5 * i / (N - 1); /* calm to chaotic */
    put_map(pool, t, "logistic", WEFT_FN(logistic), in, sizeof in[0], N, out, sizeof out[0]);
}

static const char long_text[] =
    "The same task code from a laptop to a web page: a registered C function turns input "
    "bytes into output bytes, and any backend may run it. This sentence is long enough "
    "to make an input of more than two hundred bytes.";
_Static_assert(sizeof long_text - 1 <= 256, "repeat takes at most 256 bytes");

static void put_bytes_map(weft_pool *pool, text *t, const char *title, const weft_bytes *in,
                          size_t n) {
    weft_bytes out[8];
    int rc = weft_map_bytes(pool, WEFT_FN(repeat), in, n, out);
    put(t, "map_bytes repeat %s n %u\n", title, (unsigned)n);
    put_rc(t, rc);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        put(t, "  [%u] size %u\n", (unsigned)i, (unsigned)out[i].size);
        put_hex(t, out[i].data, out[i].size);
    }
    if (rc == 0) weft_bytes_free(out, n);
}

static void case_repeat(weft_pool *pool, int n_jobs, text *t) {
    (void)n_jobs;
    static char big[257];
    memset(big, 'x', sizeof big);
    weft_bytes in[7] = {
        {NULL, 0},
        {(void *)"a", 1},
        {(void *)"weft", 4},
        {(void *)"h\0llo, w\xf6rld", 12},
        {(void *)long_text, sizeof long_text - 1},
        {(void *)"\xff\xfe\x00\x01", 4},
        {big, 256}, /* the longest input repeat takes */
    };
    put_bytes_map(pool, t, "ok", in, 7);
    /* the fourth input is one byte too long: the map fails and frees every output */
    weft_bytes bad[5] = {in[1], in[2], in[3], {big, sizeof big}, in[5]};
    put_bytes_map(pool, t, "too_long", bad, 5);
}

static void case_nested_sum(weft_pool *pool, int n_jobs, text *t) {
    (void)n_jobs;
    enum { N = 48 };
    int32_t in[N];
    int64_t out[N];
    for (int i = 0; i < N; i++) in[i] = i < 40 ? i : 256 - (N - 1 - i) * 30;
    put_map(pool, t, "nested_sum", WEFT_FN(nested_sum), in, sizeof in[0], N, out, sizeof out[0]);
    /* 257 is out of range: a nested task's failure message reaches the caller */
    in[29] = 257;
    int rc = weft_map(pool, WEFT_FN(nested_sum), in, sizeof in[0], N, out, sizeof out[0]);
    put(t, "map nested_sum out_of_range n %d\n", N);
    put_rc(t, rc);
}

static void case_fail_at_13(weft_pool *pool, int n_jobs, text *t) {
    (void)n_jobs;
    enum { N = 100 };
    int32_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i;
    int rc = weft_map(pool, WEFT_FN(fail_at_13), in, sizeof in[0], 13, out, sizeof out[0]);
    put(t, "map fail_at_13 first13 n 13\n");
    put_rc(t, rc);
    put_hex(t, out, 13 * sizeof out[0]);
    rc = weft_map(pool, WEFT_FN(fail_at_13), in, sizeof in[0], N, out, sizeof out[0]);
    put(t, "map fail_at_13 n %d\n", N);
    put_rc(t, rc);
}

static void case_output_errors(weft_pool *pool, int n_jobs, text *t) {
    (void)n_jobs;
    int64_t in = 7, out = 0;
    int rc = weft_map(pool, WEFT_FN(wrong_size), &in, sizeof in, 1, &out, sizeof out);
    put(t, "map wrong_size n 1 out 8\n");
    put_rc(t, rc);
    rc = weft_map(pool, WEFT_FN(no_output), &in, sizeof in, 1, &out, sizeof out);
    put(t, "map no_output n 1 out 8\n");
    put_rc(t, rc);
    rc = weft_map(pool, WEFT_FN(noop), &in, sizeof in, 1, NULL, 0);
    put(t, "map noop n 1 out 0\n");
    put_rc(t, rc);
    rc = weft_map(pool, WEFT_FN(square), NULL, 0, 0, NULL, 0);
    put(t, "map square n 0\n");
    put_rc(t, rc);
    rc = weft_map(pool, NULL, &in, sizeof in, 1, &out, sizeof out);
    put(t, "map NULL task\n");
    put_rc(t, rc);
    rc = weft_map(pool, WEFT_FN(square), &in, sizeof in, 1, NULL, sizeof out);
    put(t, "map square outputs NULL\n");
    put_rc(t, rc);
}

typedef struct fill {
    uint32_t *a;
    size_t begin;
    size_t fail_at; /* the body fails here; SIZE_MAX: never */
} fill;

static int fill_body(size_t i, void *ctx) {
    fill *f = ctx;
    if (i == f->fail_at) return 9;
    f->a[i - f->begin] = (uint32_t)(i * 2654435761u) ^ (uint32_t)(i >> 3);
    return 0;
}

static void case_for(weft_pool *pool, int n_jobs, text *t) {
    (void)n_jobs;
    enum { BEGIN = 5, END = 1005 };
    /* weft_for runs in the caller's memory: backends without it must refuse it, and then
     * the case checks the refusal instead of comparing with the reference */
    if (pool && !(weft_backend_caps(weft_pool_backend(pool)) & WEFT_CAP_SHARED_MEMORY)) {
        int rc = weft_for(pool, BEGIN, END, fill_body, NULL);
        if (rc != WEFT_ENOSYS) fprintf(stderr, "run_vectors: weft_for on %s gave %d, not WEFT_ENOSYS\n", weft_pool_backend(pool), rc);
        pool = NULL; /* the reference text comes from the default (shared-memory) pool */
        weft_options o;
        weft_options_init(&o);
        o.backend = "sequential";
        weft_config_push(&o);
        case_for(NULL, n_jobs, t);
        weft_config_pop();
        if (rc != WEFT_ENOSYS) put(t, "weft_for was not refused\n");
        return;
    }
    uint32_t a[END - BEGIN];
    memset(a, 0, sizeof a);
    fill f = {a, BEGIN, SIZE_MAX};
    int rc = weft_for(pool, BEGIN, END, fill_body, &f);
    put(t, "for fill [%d, %d)\n", BEGIN, END);
    put_rc(t, rc);
    put_hex(t, a, sizeof a);
    f.fail_at = 777;
    rc = weft_for(pool, BEGIN, END, fill_body, &f);
    put(t, "for fill fail_at 777\n");
    put_rc(t, rc);
    rc = weft_for(pool, 10, 10, fill_body, &f);
    put(t, "for empty [10, 10)\n");
    put_rc(t, rc);
    rc = weft_for(pool, 10, 9, fill_body, &f);
    put(t, "for reversed [10, 9)\n");
    put_rc(t, rc);
}

/* Worker ids depend on the backend, so they are checked here, not printed. */
static void case_whoami(weft_pool *pool, int n_jobs, text *t) {
    enum { N = 64 };
    int32_t who[N][2];
    int rc = weft_map(pool, WEFT_FN(whoami), NULL, 0, N, who, sizeof who[0]);
    int ok = 1;
    for (int i = 0; rc == 0 && i < N; i++) {
        if (who[i][0] < 0 || who[i][0] >= n_jobs || who[i][1] != 0) ok = 0;
        if (who[i][0] > top_worker) top_worker = who[i][0];
    }
    if (!ok) {
        broken++;
        fprintf(stderr, "run_vectors: whoami: a worker id outside [0, %d) or a level other than 0\n", n_jobs);
    }
    put(t, "map whoami n %d\n", N);
    put_rc(t, rc);
    put(t, "  workers in range and level 0: %s\n", ok ? "yes" : "no");
}

static void case_errors_table(weft_pool *pool, int n_jobs, text *t) {
    (void)pool, (void)n_jobs;
    put(t, "error table\n");
    for (int code = 1; code >= -13; code--)
        put(t, "  %d %s '%s'\n", code, weft_error_name(code), weft_strerror(code));
}

static const struct {
    const char *name;
    case_fn fn;
} cases[] = {
    {"square", case_square},       {"mix64", case_mix64},
    {"logistic", case_logistic},   {"repeat", case_repeat},
    {"nested_sum", case_nested_sum}, {"fail_at_13", case_fail_at_13},
    {"output_errors", case_output_errors}, {"for", case_for},
    {"whoami", case_whoami},       {"errors_table", case_errors_table},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

/* ---------------------------------------------------------------- parallelism seen */

/* A few microseconds of work, then the worker id. Only for the summary on stderr: which
 * worker ran what is timing, not a result, so it never reaches stdout. */
static int busy_who(weft_task *t) {
    volatile uint64_t x = weft_task_index(t);
    for (int i = 0; i < 20000; i++) x = x * 6364136223846793005ull + 1442695040888963407ull;
    int32_t who = weft_worker_id(t);
    return weft_output(t, &who, sizeof who);
}
WEFT_TASK(busy_who)

static void note_workers(weft_pool *pool) {
    enum { N = 256 };
    int32_t who[N];
    if (weft_map(pool, WEFT_FN(busy_who), NULL, 0, N, who, sizeof who[0])) {
        broken++;
        fprintf(stderr, "run_vectors: busy_who failed: %s\n", weft_last_error()->message);
        return;
    }
    for (int i = 0; i < N; i++)
        if (who[i] > top_worker) top_worker = who[i];
}

/* ---------------------------------------------------------------- configurations */

/* At most 4 workers: the Emscripten pthreads build preallocates 4 threads, and one
 * started beyond those could not run before the main thread returned to the event loop. */
static const int n_jobs_list[] = {1, 2, 3, 4};
static const int batch_list[] = {0, 1, 3, 16, 1000};

static int open_pool(weft_pool **pool, const char *backend, int n_jobs, int batch) {
    weft_options o;
    weft_options_init(&o);
    o.backend = backend;
    o.n_jobs = n_jobs;
    o.batch_size = batch;
    o.verbose = WEFT_NONE;
    int rc = weft_pool_open(pool, &o);
    if (rc)
        fprintf(stderr, "run_vectors: cannot open a '%s' pool (n_jobs %d, batch %d): %s: %s\n",
                backend, n_jobs, batch, weft_error_name(rc), weft_last_error()->message);
    return rc;
}

/* Run every case on one pool, each into its own text. */
static int run_all(const char *backend, int n_jobs, int batch, text out[N_CASES]) {
    weft_pool *pool;
    if (open_pool(&pool, backend, n_jobs, batch)) return -1;
    for (int c = 0; c < N_CASES; c++) {
        out[c].len = 0;
        cases[c].fn(pool, n_jobs, &out[c]);
    }
    if (weft_backend_caps(backend) & WEFT_CAP_PARALLEL) note_workers(pool);
    weft_pool_close(pool);
    return 0;
}

static void report_difference(const char *what, const text *ref, const text *got) {
    size_t i = 0;
    while (i < ref->len && i < got->len && ref->s[i] == got->s[i]) i++;
    size_t line = 1, start = 0;
    for (size_t k = 0; k < i; k++)
        if (ref->s[k] == '\n') line++, start = k + 1;
    fprintf(stderr, "run_vectors: %s differs from the reference at line %u of the case:\n",
            what, (unsigned)line);
    const char *r = ref->s + start, *g = got->s + start;
    fprintf(stderr, "  reference: %.*s\n", (int)strcspn(r, "\n"), r);
    fprintf(stderr, "  this run:  %.*s\n", (int)strcspn(g, "\n"), g);
}

int main(void) {
    static text ref[N_CASES], got[N_CASES];
    if (run_all("sequential", 1, 0, ref)) return 2;

    printf("weft test vectors 1 (weft %s)\n", weft_version());
    for (int c = 0; c < N_CASES; c++) {
        printf("== %s\n", cases[c].name);
        fwrite(ref[c].s, 1, ref[c].len, stdout);
    }
    printf("== end\n");
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "run_vectors: writing standard output failed\n");
        return 2;
    }

    int runs = 0, differ = 0;
    char backends[256] = "";
    for (size_t b = 0; weft_backend_name(b); b++) {
        const char *name = weft_backend_name(b);
        size_t len = strlen(backends);
        snprintf(backends + len, sizeof backends - len, "%s%s", b ? " " : "", name);
        for (size_t j = 0; j < sizeof n_jobs_list / sizeof n_jobs_list[0]; j++)
            for (size_t k = 0; k < sizeof batch_list / sizeof batch_list[0]; k++) {
                int n_jobs = n_jobs_list[j], batch = batch_list[k];
                if (run_all(name, n_jobs, batch, got)) return 2;
                runs++;
                for (int c = 0; c < N_CASES; c++) {
                    if (got[c].len == ref[c].len && memcmp(got[c].s, ref[c].s, ref[c].len) == 0)
                        continue;
                    char what[160];
                    snprintf(what, sizeof what, "case %s on backend %s, n_jobs %d, batch %d",
                             cases[c].name, name, n_jobs, batch);
                    report_difference(what, &ref[c], &got[c]);
                    differ++;
                }
            }
    }
    for (int c = 0; c < N_CASES; c++) free(ref[c].s), free(got[c].s);
    fprintf(stderr, "run_vectors: backends: %s; %d configurations x %d cases; %d differ; "
                    "%d broken invariants; highest worker id seen %d\n",
            backends, runs, N_CASES, differ, broken, top_worker);
    return differ || broken ? 1 : 0;
}
