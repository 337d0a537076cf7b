/* Progress: the status line formatter, verbose output on standard error (a file and a
 * terminal), and the progress callback's reports. */
#define _GNU_SOURCE
#include "check.h"
#include "test_tasks.h"

#include "internal.h"

#include <fcntl.h>
#include <poll.h>
#if TEST_HAVE_THREADS
#include <pthread.h>
#endif
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* WASI has no dup2 (nor pseudo-terminals, nor mkstemp): standard error cannot be pointed
 * at a file there, so the checks of what verbose mode writes are skipped. */
#ifdef __wasi__
#define CAN_CAPTURE_STDERR 0
#else
#define CAN_CAPTURE_STDERR 1
#endif

/* The progress callback runs on the calling thread; a host without threads has one. */
#if TEST_HAVE_THREADS
typedef pthread_t thread_id;
#define this_thread() pthread_self()
#define same_thread(a, b) pthread_equal(a, b)
#else
typedef int thread_id;
#define this_thread() 0
#define same_thread(a, b) ((a) == (b))
#endif

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* uint32 microseconds of busy work -> int32 index */
static int spin_us(weft_task *t) {
    uint32_t us;
    memcpy(&us, weft_input(t), sizeof us);
    uint64_t until = now_ns() + (uint64_t)us * 1000u;
    while (now_ns() < until) {
    }
    int32_t i = (int32_t)weft_task_index(t);
    return weft_output(t, &i, sizeof i);
}
WEFT_TASK(spin_us)

/* Run n items of `us` microseconds each on `pool`; 0 when the call and its results are right. */
static int run_spin(weft_pool *pool, size_t n, uint32_t us) {
    uint32_t *in = calloc(n ? n : 1, sizeof *in);
    int32_t *out = calloc(n ? n : 1, sizeof *out);
    for (size_t i = 0; i < n; i++) in[i] = us, out[i] = -1;
    int rc = weft_map(pool, WEFT_FN(spin_us), in, sizeof *in, n, out, sizeof *out);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (out[i] != (int32_t)i) rc = -100;
    free(in);
    free(out);
    return rc;
}

/* ---------------------------------------------------------------- the formatter */

static void check_format(void) {
    char buf[256];
    weft_progress pr = {1200, 10000, 1.2, 8.8};
    size_t n = weft__progress_format(buf, sizeof buf, &pr, 0);
    CHECK_STR(buf, "done 1200/10000 | elapsed 1.2 s | left ~8.8 s");
    CHECK_EQ(n, strlen(buf));

    n = weft__progress_format(buf, sizeof buf, &pr, 1);
    CHECK_STR(buf, "[##......................]  12% done 1200/10000 | elapsed 1.2 s | left ~8.8 s");
    CHECK_EQ(n, strlen(buf));

    /* finished: no estimate left to give */
    weft_progress end = {10000, 10000, 12.04, 0};
    weft__progress_format(buf, sizeof buf, &end, 0);
    CHECK_STR(buf, "done 10000/10000 | elapsed 12.0 s");
    weft__progress_format(buf, sizeof buf, &end, 1);
    CHECK_STR(buf, "[########################] 100% done 10000/10000 | elapsed 12.0 s");

    /* estimate unknown yet */
    weft_progress start = {0, 500, 0.0, -1};
    weft__progress_format(buf, sizeof buf, &start, 0);
    CHECK_STR(buf, "done 0/500 | elapsed 0.0 s");
    weft__progress_format(buf, sizeof buf, &start, 1);
    CHECK_STR(buf, "[........................]   0% done 0/500 | elapsed 0.0 s");

    weft_progress half = {50, 100, 3.25, 3.25};
    weft__progress_format(buf, sizeof buf, &half, 1);
    CHECK_STR(buf, "[############............]  50% done 50/100 | elapsed 3.2 s | left ~3.2 s");
    weft_progress almost = {99, 100, 99.0, 1.0};
    weft__progress_format(buf, sizeof buf, &almost, 1);
    CHECK_HAS(buf, "[#######################.]  99% ");
    CHECK_HAS(buf, "| left ~1.0 s");

    /* no total (a stream from a source of unknown length, or an empty call): a count,
     * no bar, no estimate */
    weft_progress empty = {0, 0, 0.01, -1};
    weft__progress_format(buf, sizeof buf, &empty, 0);
    CHECK_STR(buf, "done 0 | elapsed 0.0 s");
    weft__progress_format(buf, sizeof buf, &empty, 1);
    CHECK_STR(buf, "done 0 | elapsed 0.0 s");
    weft_progress stream = {1200, 0, 1.25, -1};
    weft__progress_format(buf, sizeof buf, &stream, 1);
    CHECK_STR(buf, "done 1200 | elapsed 1.2 s");

    /* long runs (counts are size_t: 32 bits in wasm32) */
#if SIZE_MAX > 0xffffffffu
    weft_progress big = {123456789012ull, 987654321098ull, 36000.5, 251999.9};
    weft__progress_format(buf, sizeof buf, &big, 0);
    CHECK_STR(buf, "done 123456789012/987654321098 | elapsed 36000.5 s | left ~251999.9 s");
#else
    weft_progress big = {1234567890u, 4012345678u, 36000.5, 251999.9};
    weft__progress_format(buf, sizeof buf, &big, 0);
    CHECK_STR(buf, "done 1234567890/4012345678 | elapsed 36000.5 s | left ~251999.9 s");
#endif

    /* any buffer size: always terminated, never overrun, the length of what is there */
    for (int bar = 0; bar < 2; bar++) {
        char full[256];
        size_t len = weft__progress_format(full, sizeof full, &pr, bar);
        for (size_t size = 1; size <= len + 2; size++) {
            char small[300];
            memset(small, 'Z', sizeof small);
            size_t got = weft__progress_format(small, size, &pr, bar);
            CHECK(got < size);
            CHECK_EQ(got, strlen(small));
            CHECK(strncmp(small, full, got) == 0);
            CHECK_EQ(small[size], 'Z');
            if (size > len) CHECK_STR(small, full);
        }
    }
    char untouched = 'Q';
    CHECK_EQ(weft__progress_format(&untouched, 0, &pr, 0), 0);
    CHECK_EQ(untouched, 'Q');
    CHECK_EQ(weft__progress_format(&untouched, 0, &pr, 1), 0);
    CHECK_EQ(untouched, 'Q');
}

/* ---------------------------------------------------------------- standard error */

#if CAN_CAPTURE_STDERR
/* Point fd 2 at `fd` for the duration of fn(arg); returns fn's result. */
static int with_stderr(int fd, int (*fn)(void *), void *arg) {
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    int rc = fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    return rc;
}

/* Everything in a file, as a string the caller frees. */
static char *slurp_fd(int fd) {
    off_t size = lseek(fd, 0, SEEK_END);
    char *s = malloc((size_t)size + 1);
    lseek(fd, 0, SEEK_SET);
    size_t got = 0;
    while (got < (size_t)size) {
        ssize_t r = read(fd, s + got, (size_t)size - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    s[got] = '\0';
    return s;
}

static int temp_file(void) {
    char path[] = "/tmp/weft_progress_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) unlink(path);
    return fd;
}

typedef struct spin_call {
    weft_pool *pool;
    size_t n;
    uint32_t us;
} spin_call;

static int do_spin(void *p) {
    spin_call *c = p;
    return run_spin(c->pool, c->n, c->us);
}

static weft_pool *open_pool(const char *backend, int n_jobs, int verbose, weft_progress_fn fn,
                            void *user) {
    weft_options o;
    weft_options_init(&o);
    o.backend = backend;
    o.n_jobs = n_jobs;
    o.verbose = verbose;
    o.progress = fn;
    o.progress_user = user;
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    return pool;
}


/* Lines of a log written to a file: each "done k/N | elapsed ...", k never going back,
 * the last one complete. Returns the number of lines. */
static int check_log(const char *log, size_t n) {
    int lines = 0;
    size_t prev = 0;
    char want_last[64];
    snprintf(want_last, sizeof want_last, "done %zu/%zu | elapsed ", n, n);
    const char *line = log, *last = NULL;
    while (*line) {
        const char *nl = strchr(line, '\n');
        CHECK(nl != NULL); /* whole lines only */
        if (!nl) break;
        size_t done = 0, total = 0;
        CHECK_EQ(sscanf(line, "done %zu/%zu", &done, &total), 2);
        CHECK_EQ(total, n);
        CHECK(done >= prev && done <= n);
        prev = done;
        last = line;
        lines++;
        line = nl + 1;
    }
    CHECK(last != NULL);
    if (last) CHECK(strncmp(last, want_last, strlen(want_last)) == 0);
    CHECK(strchr(log, '\r') == NULL); /* no terminal control in a file */
    CHECK(strchr(log, '\033') == NULL);
    return lines;
}

static void check_verbose_file(const char *backend, int n_jobs) {
    /* verbose 1: at least the final line */
    int fd = temp_file();
    CHECK(fd >= 0);
    spin_call call = {open_pool(backend, n_jobs, 1, NULL, NULL), 20000, 10};
    CHECK_EQ(with_stderr(fd, do_spin, &call), 0);
    char *log = slurp_fd(fd);
    CHECK_HAS(log, "done 20000/20000");
    CHECK_HAS(log, "elapsed");
    CHECK(check_log(log, 20000) >= 1);
    free(log);
    close(fd);
    weft_pool_close(call.pool);

    /* a higher level reports more often (2 s / level): lines along the way, with estimates */
    fd = temp_file();
    call.pool = open_pool(backend, n_jobs, 40, NULL, NULL); /* a line every 50 ms */
    call.n = 2000;
    call.us = n_jobs > 1 ? 400 : 200; /* 0.4 s or more */
    CHECK_EQ(with_stderr(fd, do_spin, &call), 0);
    log = slurp_fd(fd);
    int lines = check_log(log, 2000);
    CHECK(lines >= 3);
    CHECK_HAS(log, "| left ~");
    if (lines < 3) fprintf(stderr, "verbose 40 gave %d lines:\n%s", lines, log);
    free(log);
    close(fd);
    weft_pool_close(call.pool);

    /* verbose 0: silence */
    fd = temp_file();
    call.pool = open_pool(backend, n_jobs, 0, NULL, NULL);
    call.n = 3000;
    call.us = 10;
    CHECK_EQ(with_stderr(fd, do_spin, &call), 0);
    log = slurp_fd(fd);
    CHECK_STR(log, "");
    free(log);
    close(fd);
    weft_pool_close(call.pool);
}

static int null_pool_map(void *arg) {
    (void)arg;
    return run_spin(NULL, 5000, 10);
}

static void check_verbose_env(void) {
    int fd = temp_file();
    setenv("WEFT_VERBOSE", "1", 1);
    CHECK_EQ(with_stderr(fd, null_pool_map, NULL), 0);
    unsetenv("WEFT_VERBOSE");
    char *log = slurp_fd(fd);
    CHECK_HAS(log, "done 5000/5000 | elapsed");
    free(log);
    close(fd);
    /* and back to silence */
    fd = temp_file();
    CHECK_EQ(with_stderr(fd, null_pool_map, NULL), 0);
    log = slurp_fd(fd);
    CHECK_STR(log, "");
    free(log);
    close(fd);
}

/* On a terminal: a bar redrawn in place with \r, erased to the end of line, and one
 * final newline. */
static void check_verbose_tty(void) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        printf("no pseudo-terminal here: bar test skipped\n");
        if (master >= 0) close(master);
        return;
    }
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    CHECK(slave >= 0);
    if (slave < 0) return;
    spin_call call = {open_pool(TEST_HAVE_THREADS ? "threads" : "sequential", 2, 1, NULL, NULL), 1000, 400}; /* 0.2 s or more */
    CHECK_EQ(with_stderr(slave, do_spin, &call), 0);
    weft_pool_close(call.pool);
    close(slave);
    char out[16384];
    size_t got = 0;
    struct pollfd p = {master, POLLIN, 0};
    while (got < sizeof out - 1 && poll(&p, 1, 500) > 0) {
        ssize_t r = read(master, out + got, sizeof out - 1 - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    out[got] = '\0';
    close(master);
    CHECK_HAS(out, "\r[");
    CHECK_HAS(out, "\033[K");
    CHECK_HAS(out, "[########################] 100% done 1000/1000 | elapsed");
    CHECK(got > 0 && (out[got - 1] == '\n'));
    /* at least one redraw before the end: 10 a second */
    int draws = 0;
    for (const char *at = out; (at = strstr(at, "\r[")) != NULL; at++) draws++;
    CHECK(draws >= 2);
    if (draws < 2) fprintf(stderr, "terminal output: %s\n", out);
}

#else
static void check_verbose_file(const char *backend, int n_jobs) {
    (void)backend, (void)n_jobs;
    SKIP("verbose lines on standard error: WASI cannot point it at a file (no dup2)");
}
static void check_verbose_env(void) { SKIP("WEFT_VERBOSE's output: WASI has no dup2"); }
static void check_verbose_tty(void) { SKIP("the progress bar on a terminal: WASI has no pseudo-terminals"); }
#endif

/* ---------------------------------------------------------------- the callback */

#define MAX_REPORTS 100000
typedef struct reports {
    thread_id caller;
    int n, wrong_thread;
    weft_progress r[MAX_REPORTS];
} reports;

static int record(const weft_progress *p, void *user) {
    reports *rs = user;
    if (!same_thread(this_thread(), rs->caller)) rs->wrong_thread++;
    if (rs->n < MAX_REPORTS) rs->r[rs->n++] = *p;
    return 0;
}

static void check_reports(const reports *rs, size_t total, int min_reports) {
    CHECK(rs->n >= min_reports);
    CHECK_EQ(rs->wrong_thread, 0);
    if (rs->n < min_reports) fprintf(stderr, "only %d reports\n", rs->n);
    for (int i = 0; i < rs->n; i++) {
        const weft_progress *p = &rs->r[i];
        CHECK_EQ(p->total, total);
        CHECK(p->done <= p->total);
        CHECK(p->elapsed_s >= 0);
        if (p->done == 0) CHECK(p->remaining_s < 0);
        else CHECK(p->remaining_s >= 0);
        if (i > 0) {
            CHECK(p->done >= rs->r[i - 1].done);
            CHECK(p->elapsed_s >= rs->r[i - 1].elapsed_s);
        }
    }
    if (rs->n > 0) {
        const weft_progress *last = &rs->r[rs->n - 1];
        CHECK_EQ(last->done, total);
        CHECK(last->remaining_s == 0 || total == 0);
    }
}

static void check_callback(const char *backend, int n_jobs, int batch_size) {
    static reports rs;
    memset(&rs, 0, sizeof rs);
    rs.caller = this_thread();
    weft_options o;
    weft_options_init(&o);
    o.backend = backend;
    o.n_jobs = n_jobs;
    o.batch_size = batch_size;
    o.progress = record;
    o.progress_user = &rs;
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    /* about 0.3 s of work whatever the width: reports every 50 ms */
    int busy = n_jobs < weft_cpu_count() ? n_jobs : weft_cpu_count();
    CHECK_EQ(run_spin(pool, 6000, 50 * (uint32_t)busy), 0);
    check_reports(&rs, 6000, 3);

    /* a fast map still reports at least its end */
    memset(&rs, 0, sizeof rs);
    rs.caller = this_thread();
    CHECK_EQ(run_spin(pool, 10, 0), 0);
    check_reports(&rs, 10, 1);

    /* an empty one too */
    memset(&rs, 0, sizeof rs);
    rs.caller = this_thread();
    CHECK_EQ(weft_map(pool, WEFT_FN(square), NULL, 8, 0, NULL, 8), 0);
    check_reports(&rs, 0, 1);

    /* nested maps report nothing of their own: every report is about the outer call */
    memset(&rs, 0, sizeof rs);
    rs.caller = this_thread();
    int32_t ns[300];
    int64_t sums[300];
    for (int i = 0; i < 300; i++) ns[i] = i % 200;
    CHECK_EQ(weft_map(pool, WEFT_FN(nested_sum), ns, 4, 300, sums, 8), 0);
    check_reports(&rs, 300, 1);
    int64_t want = 0;
    for (int k = 0; k < 199; k++) want += (int64_t)k * k;
    CHECK_EQ(sums[199], want);

    weft_pool_close(pool);
}

int main(void) {
    unsetenv("WEFT_VERBOSE");
    check_format();
    const struct {
        const char *backend;
        int n_jobs;
    } cases[] = {{"sequential", 1}, {"threads", 1}, {"threads", 2}, {"threads", 4}};
    for (int c = 0; c < 4; c++) {
        if (skip_backend(cases[c].backend, "progress")) continue;
        int before = check_failed;
        uint64_t t0 = now_ns();
        check_verbose_file(cases[c].backend, cases[c].n_jobs);
        uint64_t t1 = now_ns();
        int batches[] = {0, 1, 100};
        for (int b = 0; b < 3; b++) check_callback(cases[c].backend, cases[c].n_jobs, batches[b]);
        printf("%s, n_jobs %d: verbose checks %.2f s, callback checks %.2f s\n", cases[c].backend,
               cases[c].n_jobs, (double)(t1 - t0) * 1e-9, (double)(now_ns() - t1) * 1e-9);
        if (check_failed != before)
            fprintf(stderr, "  ^ backend %s, n_jobs %d\n", cases[c].backend, cases[c].n_jobs);
    }
    check_verbose_env();
    check_verbose_tty();
    weft_shutdown();
    return CHECK_DONE();
}
