/* The error table (names, messages, unknown codes) and the thread-local last-error
 * record: what a failure sets, what a success clears, what other threads see. */
#include "check.h"
#include "test_tasks.h"

#include <limits.h>
#if TEST_HAVE_THREADS
#include <pthread.h>
#endif
#include <stdint.h>

static const struct {
    int code;
    const char *name, *msg;
} table[] = {
#define ROW(name, code, msg) {code, "WEFT_" #name, msg},
    WEFT_ERROR_MAP(ROW)
#undef ROW
};
#define N_CODES (sizeof table / sizeof table[0])

static void check_table(void) {
    CHECK(N_CODES >= 12);
    for (size_t i = 0; i < N_CODES; i++) {
        int code = table[i].code;
        const char *name = weft_error_name(code), *msg = weft_strerror(code);
        CHECK(code < 0);
        CHECK(name != NULL && msg != NULL);
        if (!name || !msg) continue;
        CHECK_STR(name, table[i].name);
        CHECK(strncmp(name, "WEFT_E", 6) == 0);
        CHECK(strcmp(name, "WEFT_UNKNOWN") != 0);
        CHECK(msg[0] != '\0');
        CHECK_STR(msg, table[i].msg);
        CHECK(strcmp(msg, "unknown error") != 0);
        for (size_t k = 0; k < i; k++) {
            CHECK(table[k].code != code);
            CHECK(strcmp(weft_error_name(table[k].code), name) != 0);
            CHECK(strcmp(weft_strerror(table[k].code), msg) != 0);
        }
    }
    /* the enum and the table agree */
    CHECK_EQ(WEFT_EINVAL, -1);
    CHECK_STR(weft_error_name(WEFT_EINVAL), "WEFT_EINVAL");
    CHECK_STR(weft_error_name(WEFT_ETIMEDOUT), "WEFT_ETIMEDOUT");
    CHECK_STR(weft_error_name(WEFT_ECONFIG), "WEFT_ECONFIG");
    CHECK_STR(weft_error_name(WEFT_OK), "WEFT_OK");
    CHECK(weft_strerror(WEFT_OK)[0] != '\0');

    int unknown[] = {1, 2, 100, -99, -999, 12345, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK_STR(weft_error_name(unknown[i]), "WEFT_UNKNOWN");
        CHECK_STR(weft_strerror(unknown[i]), "unknown error");
    }
}

static void check_clear(const weft_error *e) {
    CHECK_EQ(e->code, WEFT_OK);
    CHECK_EQ(e->task_status, 0);
    CHECK_EQ(e->task_index, -1);
    CHECK_STR(e->task_name, "");
    CHECK_STR(e->message, "");
}

/* A thread that checks it starts clean, fails in its own way, and reports back. */
#if TEST_HAVE_THREADS
typedef struct probe {
    int start_code;
    int64_t start_index;
    char start_message[256];
    int fail_code, after_code;
    int64_t after_index;
    char after_message[256];
} probe;

static void *other_thread(void *p) {
    probe *pr = p;
    const weft_error *e = weft_last_error();
    pr->start_code = e->code;
    pr->start_index = e->task_index;
    snprintf(pr->start_message, sizeof pr->start_message, "%s", e->message);
    /* a different failure: pop without push */
    pr->fail_code = weft_config_pop();
    pr->after_code = weft_last_error()->code;
    pr->after_index = weft_last_error()->task_index;
    snprintf(pr->after_message, sizeof pr->after_message, "%s", weft_last_error()->message);
    return NULL;
}
#endif

static void check_thread_local(weft_pool *pool) {
    /* this thread: a task failure with index, status, name and message */
    int32_t in[100], out[100];
    for (int i = 0; i < 100; i++) in[i] = i;
    CHECK_EQ(weft_map(pool, WEFT_FN(fail_at_13), in, 4, 100, out, 4), WEFT_ETASK);
    const weft_error *mine = weft_last_error();
    CHECK_EQ(mine->code, WEFT_ETASK);
    CHECK_EQ(mine->task_index, 13);

#if TEST_HAVE_THREADS
    probe pr;
    memset(&pr, 0, sizeof pr);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, other_thread, &pr), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    /* the other thread did not see this thread's failure ... */
    CHECK_EQ(pr.start_code, WEFT_OK);
    CHECK_EQ(pr.start_index, -1);
    CHECK_STR(pr.start_message, "");
    /* ... and saw its own */
    CHECK_EQ(pr.fail_code, WEFT_ECONFIG);
    CHECK_EQ(pr.after_code, WEFT_ECONFIG);
    CHECK_EQ(pr.after_index, -1);
    CHECK_HAS(pr.after_message, "pop");
#else
    SKIP("the last error seen from another thread: no threads on this host");
#endif
    /* another thread did not overwrite this thread's record */
    CHECK_EQ(weft_last_error()->code, WEFT_ETASK);
    CHECK_EQ(weft_last_error()->task_index, 13);
    CHECK_STR(weft_last_error()->message, "unlucky 13");
    CHECK_STR(weft_last_error()->task_name, "fail_at_13");
    CHECK(weft_last_error() == mine); /* a stable per-thread record */
}

static int fail_body(size_t i, void *ctx) {
    (void)ctx;
    return i == 3 ? 5 : 0;
}
static int ok_body(size_t i, void *ctx) {
    (void)i, (void)ctx;
    return 0;
}

/* Fail (with a task error, so every field is set), then make sure the call given
 * succeeds and leaves a clean record. */
#define FAIL_THEN(pool, call)                                                          \
    do {                                                                               \
        int32_t fin_[20], fout_[20];                                                   \
        for (int k_ = 0; k_ < 20; k_++) fin_[k_] = k_;                                 \
        CHECK_EQ(weft_map(pool, WEFT_FN(fail_at_13), fin_, 4, 20, fout_, 4), WEFT_ETASK); \
        CHECK_EQ(weft_last_error()->code, WEFT_ETASK);                                 \
        int rc_ = (call);                                                              \
        CHECK_EQ(rc_, 0);                                                              \
        if (rc_ != 0 || weft_last_error()->code != WEFT_OK)                            \
            fprintf(stderr, "  ^ after: %s\n", #call);                                 \
        check_clear(weft_last_error());                                                \
    } while (0)

static weft_task_def late_def = {"late_registered", NULL};
static int late_fn(weft_task *t) {
    (void)t;
    return 0;
}

static void check_success_clears(weft_pool *pool) {
    int64_t in[50], out[50];
    for (int i = 0; i < 50; i++) in[i] = i;
    FAIL_THEN(pool, weft_map(pool, WEFT_FN(square), in, 8, 50, out, 8));
    FAIL_THEN(pool, weft_map(pool, WEFT_FN(square), in, 8, 0, out, 8));
    weft_bytes bin[2] = {{"ab", 2}, {"c", 1}}, bout[2];
    FAIL_THEN(pool, weft_map_bytes(pool, WEFT_FN(repeat), bin, 2, bout));
    weft_bytes_free(bout, 2);
    FAIL_THEN(pool, weft_for(pool, 0, 100, ok_body, NULL));

    /* a non-task error is cleared as well */
    CHECK_EQ(weft_for(pool, 0, 10, fail_body, NULL), WEFT_ETASK);
    CHECK_EQ(weft_last_error()->task_index, 3);
    CHECK_EQ(weft_map(pool, WEFT_FN(square), in, 8, 50, out, 8), 0);
    check_clear(weft_last_error());
    CHECK_EQ(weft_map(pool, NULL, in, 8, 50, out, 8), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "task is NULL");
    CHECK_EQ(weft_map(pool, WEFT_FN(square), in, 8, 50, out, 8), 0);
    check_clear(weft_last_error());

    /* every call that returns a status clears the record when it succeeds */
    weft_pool *p2 = NULL;
    weft_options o;
    weft_options_init(&o);
    o.backend = "sequential";
    o.n_jobs = 1;
    FAIL_THEN(pool, weft_pool_open(&p2, &o));
    weft_pool_close(p2);
    FAIL_THEN(pool, weft_config_push(&o));
    FAIL_THEN(pool, weft_config_pop());
    weft_options cur;
    FAIL_THEN(pool, weft_config_current(&cur));
    late_def.fn = late_fn;
    FAIL_THEN(pool, weft_task_register(&late_def));
    FAIL_THEN(pool, weft_resolve_n_jobs(2) == 2 ? 0 : -1);
    /* NULL-pool calls too */
    FAIL_THEN(pool, weft_map(NULL, WEFT_FN(square), in, 8, 50, out, 8));
}

int main(void) {
    /* a fresh thread starts with a clean record */
    CHECK(weft_last_error() != NULL);
    check_clear(weft_last_error());

    check_table();

    const char *backends[] = {"sequential", "threads"};
    for (int b = 0; b < 2; b++) {
        if (skip_backend(backends[b], "errors")) continue;
        weft_options o;
        weft_options_init(&o);
        o.backend = backends[b];
        o.n_jobs = 3;
        weft_pool *pool = NULL;
        CHECK_EQ(weft_pool_open(&pool, &o), 0);
        if (!pool) continue;
        int before = check_failed;
        check_thread_local(pool);
        check_success_clears(pool);
        if (check_failed != before) fprintf(stderr, "  ^ backend %s\n", backends[b]);
        weft_pool_close(pool);
    }
    weft_shutdown();
    return CHECK_DONE();
}
