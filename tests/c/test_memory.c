/* Memory: arguments and their encoding, keys, cached calls on both stores, versions,
 * ignored arguments, expiry and validation, shelving, clearing, limits, corruption,
 * bad input, checkpoints, the map hook, and WEFT_DEBUG's explanations. */
#define _DEFAULT_SOURCE
#include "check.h"
#include "mem_util.h"
#include "weft.h"
#include "../../platform/platform.h"

#include <math.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <time.h>
#if TEST_HAVE_FORK
#include <sys/wait.h>
#endif

static atomic_int runs;

/* x: f64 array (required), scale: f64 (optional), fail: bool (optional) -> f64 sum */
static int weighted_sum(weft_task *t) {
    atomic_fetch_add(&runs, 1);
    const void *in = weft_input(t);
    size_t size = weft_input_size(t), n;
    const double *x;
    if (weft_args_get_f64_array(in, size, "x", &x, &n)) return weft_fail(t, "no x: %s", weft_last_error()->message);
    double scale = 1;
    int fail = 0;
    weft_args_get_f64(in, size, "scale", &scale);
    weft_args_get_bool(in, size, "fail", &fail);
    if (fail) return weft_fail(t, "asked to fail");
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i] * scale;
    return weft_output(t, &s, sizeof s);
}
WEFT_TASK(weighted_sum)

/* int64 -> int64 cube, for maps over plain inputs */
static int cube(weft_task *t) {
    atomic_fetch_add(&runs, 1);
    int64_t v = *(const int64_t *)weft_input(t), r = v * v * v;
    return weft_output(t, &r, sizeof r);
}
WEFT_TASK(cube)

/* -> an i64 that grows at every run: a task whose reruns are visible */
static atomic_llong counter;
static int next_number(weft_task *t) {
    long long v = atomic_fetch_add(&counter, 1) + 1;
    return weft_output(t, &v, sizeof v);
}
WEFT_TASK(next_number)

static long long number_of(const weft_bytes *b) {
    long long v = -1;
    if (b->size == sizeof v) memcpy(&v, b->data, sizeof v);
    return v;
}

/* Two handles on one folder stand for two processes: a value one of them keeps in its
 * hot table must not outlive a refresh, a clear or a prune made by the other. */
static void test_hot_invalidation(const char *dir) {
    weft_memory *a, *b;
    CHECK_EQ(weft_memory_open(&a, dir, NULL), 0);
    CHECK_EQ(weft_memory_open(&b, dir, NULL), 0);
    weft_args *args = weft_args_new();
    weft_args_i64(args, "k", 1);
    weft_bytes out;
    int hit;
    CHECK_EQ(weft_memory_call(a, WEFT_FN(next_number), args, &out, &hit), 0);
    long long first = number_of(&out);
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_memory_call(a, WEFT_FN(next_number), args, &out, &hit), 0);
    CHECK(hit == 1 && number_of(&out) == first); /* served (from a's hot table) */
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_memory_refresh(b, WEFT_FN(next_number), args, &out), 0);
    long long second = number_of(&out);
    weft_bytes_free(&out, 1);
    CHECK(second != first);
    CHECK_EQ(weft_memory_call(a, WEFT_FN(next_number), args, &out, &hit), 0);
    CHECK(hit == 1 && number_of(&out) == second); /* a sees b's refresh */
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_memory_clear(b, NULL), 0);
    CHECK_EQ(weft_memory_call(a, WEFT_FN(next_number), args, &out, &hit), 0);
    CHECK(hit == 0 && number_of(&out) > second); /* and b's clear */
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_memory_prune(b, 0, 0, 1e-9, NULL), 0);
    CHECK_EQ(weft_memory_check(a, WEFT_FN(next_number), args), 0); /* and b's prune */
    weft_args_free(args);
    weft_memory_close(a);
    weft_memory_close(b);
}

static double value_of(const weft_bytes *b) {
    double d = NAN;
    if (b->size == sizeof d) memcpy(&d, b->data, sizeof d);
    return d;
}

static void test_args(void) {
    weft_args *a = weft_args_new(), *b = weft_args_new();
    double x[6] = {1, 2, 3, 4, 5, 6};
    size_t shape[2] = {2, 3};
    int32_t iv[3] = {7, 8, 9};
    size_t n3 = 3;
    CHECK_EQ(weft_args_i64(a, "n", -5), 0);
    CHECK_EQ(weft_args_f64_array(a, "x", x, 2, shape), 0);
    CHECK_EQ(weft_args_string(a, "mode", "fast"), 0);
    CHECK_EQ(weft_args_bool(a, "flag", 1), 0);
    CHECK_EQ(weft_args_i32_array(a, "iv", iv, 1, &n3), 0);
    CHECK_EQ(weft_args_bytes(a, "raw", "abc", 3), 0);
    CHECK_EQ(weft_args_f64(a, "scale", 0.5), 0);
    CHECK_EQ(weft_args_count(a), 7);
    /* the same arguments in another order encode the same */
    weft_args_f64(b, "scale", 0.5);
    weft_args_bytes(b, "raw", "abc", 3);
    weft_args_i32_array(b, "iv", iv, 1, &n3);
    weft_args_bool(b, "flag", 1);
    weft_args_string(b, "mode", "fast");
    weft_args_f64_array(b, "x", x, 2, shape);
    weft_args_i64(b, "n", -5);
    weft_bytes ea, eb;
    CHECK_EQ(weft_args_encode(a, &ea), 0);
    CHECK_EQ(weft_args_encode(b, &eb), 0);
    CHECK(ea.size == eb.size && memcmp(ea.data, eb.data, ea.size) == 0);
    CHECK_EQ(ea.size % 8, 0);

    int64_t n;
    double s;
    int flag;
    const char *str;
    size_t len, count, sh[WEFT_ARGS_MAX_NDIM];
    const double *xd;
    const void *raw;
    int ndim;
    weft_arg_type type;
    CHECK_EQ(weft_args_get_i64(ea.data, ea.size, "n", &n), 0);
    CHECK_EQ(n, -5);
    CHECK_EQ(weft_args_get_f64(ea.data, ea.size, "scale", &s), 0);
    CHECK(s == 0.5);
    CHECK_EQ(weft_args_get_bool(ea.data, ea.size, "flag", &flag), 0);
    CHECK_EQ(flag, 1);
    CHECK_EQ(weft_args_get_string(ea.data, ea.size, "mode", &str, &len), 0);
    CHECK_STR(str, "fast");
    CHECK_EQ(len, 4);
    CHECK_EQ(weft_args_get_bytes(ea.data, ea.size, "raw", &raw, &len), 0);
    CHECK(len == 3 && memcmp(raw, "abc", 3) == 0);
    CHECK_EQ(weft_args_get_f64_array(ea.data, ea.size, "x", &xd, &count), 0);
    CHECK(count == 6 && xd[5] == 6 && ((uintptr_t)xd & 7) == 0);
    CHECK_EQ(weft_args_get_array(ea.data, ea.size, "x", &type, NULL, &ndim, sh, &count), 0);
    CHECK(type == WEFT_ARG_F64_ARRAY && ndim == 2 && sh[0] == 2 && sh[1] == 3);
    CHECK_EQ(weft_args_get_i64(ea.data, ea.size, "missing", &n), WEFT_ENOTFOUND);
    CHECK_EQ(weft_args_get_i64(ea.data, ea.size, "scale", &n), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "f64");
    CHECK_EQ(weft_args_get_i64("nonsense", 8, "n", &n), WEFT_EINVAL);
    /* truncated encodings are refused, never read past their end */
    for (size_t cut = 0; cut < ea.size; cut += 5) CHECK(weft_args_get_i64(ea.data, cut, "n", &n) != 0);
    weft_bytes_free(&ea, 1);
    weft_bytes_free(&eb, 1);

    /* bad adds: clear, sticky errors naming the argument */
    weft_args_reset(b);
    CHECK_EQ(weft_args_i64(b, "", 1), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "empty");
    CHECK_EQ(weft_args_i64(b, "ok", 1), WEFT_EINVAL); /* sticky */
    weft_args_reset(b);
    CHECK_EQ(weft_args_i64(b, NULL, 1), WEFT_EINVAL);
    weft_args_reset(b);
    CHECK_EQ(weft_args_i64(b, "k", 1), 0);
    CHECK_EQ(weft_args_i64(b, "k", 2), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "twice");
    weft_args_reset(b);
    CHECK_EQ(weft_args_f64_array(b, "x", NULL, 1, &n3), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "'x'");
    weft_args_reset(b);
    CHECK_EQ(weft_args_f64_array(b, "x", x, 0, &n3), WEFT_EINVAL);
    weft_args_reset(b);
    CHECK_EQ(weft_args_string(b, "s", NULL), WEFT_EINVAL);
    weft_args_reset(b);
    CHECK_EQ(weft_args_tolerance(b, "nothing", 1e-3, 0), WEFT_EINVAL);
    weft_args_reset(b);
    weft_args_i64(b, "i", 3);
    CHECK_EQ(weft_args_tolerance(b, "i", 1e-3, 0), WEFT_EINVAL);
    CHECK_EQ(weft_args_i64(NULL, "x", 1), WEFT_EINVAL);
    size_t zero = 0;
    weft_args_reset(b);
    CHECK_EQ(weft_args_f64_array(b, "empty", NULL, 1, &zero), 0); /* an empty array is fine */
    weft_args_free(a);
    weft_args_free(b);
}

static int same_bytes(const weft_bytes *a, const weft_bytes *b) {
    return a->size == b->size && memcmp(a->data, b->data, a->size) == 0;
}

/* weft_args_decode: an encoding back into args that encode and key the same; bytes that
 * no weft_args_* could have made are refused, stickily. weft_memory_call_encoded. */
static void test_args_decode(void) {
    weft_memory *m;
    CHECK_EQ(weft_memory_open(&m, "memory:", NULL), 0);
    if (!m) return;
    weft_args *a = weft_args_new(), *d = weft_args_new();
    double x[6] = {1, 2, 3, 4, 5, 6};
    size_t shape[2] = {2, 3};
    weft_args_f64_array(a, "x", x, 2, shape);
    weft_args_i64(a, "n", -5);
    weft_args_string(a, "mode", "fast");
    weft_args_bool(a, "flag", 1);
    weft_args_bytes(a, "raw", "abc", 3);
    weft_args_f64(a, "scale", 0.5);
    weft_bytes ea, ed;
    CHECK_EQ(weft_args_encode(a, &ea), 0);
    CHECK_EQ(weft_args_i64(d, "old", 1), 0); /* replaced, not added to */
    CHECK_EQ(weft_args_decode(d, ea.data, ea.size), 0);
    CHECK_EQ(weft_args_count(d), 6);
    CHECK_EQ(weft_args_encode(d, &ed), 0);
    CHECK(same_bytes(&ea, &ed));
    weft_bytes_free(&ed, 1);
    char ka[33], kd[33];
    CHECK_EQ(weft_memory_key(m, WEFT_FN(weighted_sum), a, NULL, ka), 0);
    CHECK_EQ(weft_memory_key(m, WEFT_FN(weighted_sum), d, NULL, kd), 0);
    CHECK_STR(ka, kd);
    /* no arguments at all */
    weft_args_reset(a);
    CHECK_EQ(weft_args_encode(a, &ed), 0);
    CHECK_EQ(weft_args_decode(d, ed.data, ed.size), 0);
    CHECK_EQ(weft_args_count(d), 0);
    weft_bytes_free(&ed, 1);

    /* refused: truncated, damaged, out of order, a bool that is not 0/1, a NUL in a string */
    for (size_t cut = 0; cut < ea.size; cut += 8) {
        CHECK_EQ(weft_args_decode(d, ea.data, cut), WEFT_EINVAL);
        CHECK_EQ(weft_args_count(d), 0);
    }
    CHECK_EQ(weft_args_decode(d, NULL, 0), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "not an args encoding");
    CHECK_EQ(weft_args_i64(d, "later", 1), WEFT_EINVAL); /* sticky */
    CHECK_EQ(weft_memory_key(m, WEFT_FN(weighted_sum), d, NULL, kd), WEFT_EINVAL);
    unsigned char two[72]; /* 8 + 2 x (16 header + 8 name + 8 payload) */
    weft_args_reset(a);
    weft_args_bool(a, "a", 1);
    weft_args_bool(a, "b", 0);
    CHECK_EQ(weft_args_encode(a, &ed), 0);
    CHECK_EQ(ed.size, sizeof two);
    memcpy(two, ed.data, sizeof two);
    weft_bytes_free(&ed, 1);
    CHECK_EQ(weft_args_decode(d, two, sizeof two), 0);
    two[40 + 16] = 'c'; /* the second name, "b" -> "c", still sorted */
    CHECK_EQ(weft_args_decode(d, two, sizeof two), 0);
    two[40 + 16] = 'a'; /* "a" twice */
    CHECK_EQ(weft_args_decode(d, two, sizeof two), WEFT_EINVAL);
    two[40 + 16] = 'b';
    two[40 + 24] = 2; /* a bool of 2 */
    CHECK_EQ(weft_args_decode(d, two, sizeof two), WEFT_EINVAL);
    weft_args_reset(a);
    weft_args_string(a, "s", "abc");
    CHECK_EQ(weft_args_encode(a, &ed), 0);
    ((unsigned char *)ed.data)[8 + 16 + 8 + 1] = '\0'; /* "a\0c" */
    CHECK_EQ(weft_args_decode(d, ed.data, ed.size), WEFT_EINVAL);
    weft_bytes_free(&ed, 1);
    CHECK_EQ(weft_args_decode(NULL, ea.data, ea.size), WEFT_EINVAL);
    weft_bytes_free(&ea, 1);

    /* weft_memory_call_encoded: the entries of weft_memory_call, both ways */
    size_t n6 = 6;
    weft_args_reset(a);
    weft_args_f64_array(a, "x", x, 1, &n6);
    weft_args_f64(a, "scale", 2);
    CHECK_EQ(weft_args_encode(a, &ea), 0);
    int hit = -1;
    atomic_store(&runs, 0);
    CHECK_EQ(weft_memory_call_encoded(m, WEFT_FN(weighted_sum), ea.data, ea.size, &ed, &hit), 0);
    CHECK(hit == 0 && value_of(&ed) == 42 && atomic_load(&runs) == 1);
    weft_bytes_free(&ed, 1);
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &ed, &hit), 0);
    CHECK(hit == 1 && value_of(&ed) == 42);
    weft_bytes_free(&ed, 1);
    weft_args_f64(a, "y", 1); /* another call, made by weft_memory_call first */
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &ed, &hit), 0);
    CHECK(hit == 0 && atomic_load(&runs) == 2);
    weft_bytes_free(&ed, 1);
    weft_bytes_free(&ea, 1);
    CHECK_EQ(weft_args_encode(a, &ea), 0);
    CHECK_EQ(weft_memory_call_encoded(m, WEFT_FN(weighted_sum), ea.data, ea.size, &ed, &hit), 0);
    CHECK(hit == 1 && value_of(&ed) == 42 && atomic_load(&runs) == 2);
    weft_bytes_free(&ed, 1);
    ed.data = &hit;
    CHECK_EQ(weft_memory_call_encoded(m, WEFT_FN(weighted_sum), ea.data, ea.size - 8, &ed, &hit),
             WEFT_EINVAL);
    CHECK(hit == 0 && ed.data == NULL && ed.size == 0);
    CHECK_HAS(weft_last_error()->message, "not an args encoding");
    CHECK_EQ(weft_memory_call_encoded(NULL, WEFT_FN(weighted_sum), ea.data, ea.size, &ed, NULL),
             WEFT_EINVAL);
    weft_bytes_free(&ea, 1);
    weft_args_free(a);
    weft_args_free(d);
    weft_memory_close(m);
}

static void test_calls(const char *location) {
    weft_memory *m;
    CHECK_EQ(weft_memory_open(&m, location, NULL), 0);
    if (!m) return;
    double x[100];
    for (int i = 0; i < 100; i++) x[i] = i;
    size_t n = 100;
    weft_args *a = weft_args_new();
    weft_args_f64_array(a, "x", x, 1, &n);
    weft_args_f64(a, "scale", 2);
    weft_bytes out;
    int hit = -1;
    atomic_store(&runs, 0);
    CHECK_EQ(weft_memory_check(m, WEFT_FN(weighted_sum), a), 0);
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    CHECK(hit == 0 && value_of(&out) == 9900 && atomic_load(&runs) == 1);
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_memory_check(m, WEFT_FN(weighted_sum), a), 1);
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    CHECK(hit == 1 && value_of(&out) == 9900 && atomic_load(&runs) == 1);
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_memory_get(m, WEFT_FN(weighted_sum), a, &out), 0);
    CHECK(value_of(&out) == 9900);
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_memory_refresh(m, WEFT_FN(weighted_sum), a, &out), 0);
    CHECK(value_of(&out) == 9900 && atomic_load(&runs) == 2);
    weft_bytes_free(&out, 1);

    /* another value of one argument: another key */
    weft_args *b = weft_args_new();
    weft_args_f64_array(b, "x", x, 1, &n);
    weft_args_f64(b, "scale", 3);
    CHECK_EQ(weft_memory_check(m, WEFT_FN(weighted_sum), b), 0);
    char ka[33], kb[33];
    CHECK_EQ(weft_memory_key(m, WEFT_FN(weighted_sum), a, NULL, ka), 0);
    CHECK_EQ(weft_memory_key(m, WEFT_FN(weighted_sum), b, NULL, kb), 0);
    CHECK(strcmp(ka, kb) != 0);

    /* ignored arguments leave the key alone but still reach the task */
    CHECK_EQ(weft_memory_ignore(m, "weighted_sum", "scale"), 0);
    CHECK_EQ(weft_memory_key(m, WEFT_FN(weighted_sum), a, NULL, ka), 0);
    CHECK_EQ(weft_memory_key(m, WEFT_FN(weighted_sum), b, NULL, kb), 0);
    CHECK_STR(ka, kb);
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), b, &out, &hit), 0);
    CHECK(hit == 0 && value_of(&out) == 14850);
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    CHECK(hit == 1 && value_of(&out) == 14850); /* served: scale does not count */
    weft_bytes_free(&out, 1);

    /* a failing task returns its message and stores nothing */
    weft_args *f = weft_args_new();
    weft_args_f64_array(f, "x", x, 1, &n);
    weft_args_bool(f, "fail", 1);
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), f, &out, &hit), WEFT_ETASK);
    CHECK_HAS(weft_last_error()->message, "asked to fail");
    CHECK(out.data == NULL);
    CHECK_EQ(weft_memory_check(m, WEFT_FN(weighted_sum), f), 0);

    /* shelve: a handle that loads later, also after a round trip through text */
    weft_shelf ref, back;
    CHECK_EQ(weft_memory_shelve(m, WEFT_FN(weighted_sum), b, &ref), 0);
    char text[300];
    weft_shelf_format(&ref, text, sizeof text);
    CHECK_HAS(text, "weighted_sum/");
    CHECK_EQ(weft_shelf_parse(text, &back), 0);
    CHECK_EQ(weft_shelf_load(m, &back, &out), 0);
    CHECK(value_of(&out) == 14850);
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_shelf_parse("nonsense", &back), WEFT_EINVAL);

    /* versions: a new version misses; the old entries of that task go, others stay */
    weft_args *c = weft_args_new();
    int64_t v = 3;
    weft_args_i64(c, "unused", 1);
    weft_map(NULL, WEFT_FN(cube), &v, sizeof v, 0, NULL, 0);
    CHECK_EQ(weft_memory_set_version(m, "weighted_sum", "v2"), 0);
    CHECK_EQ(weft_memory_check(m, WEFT_FN(weighted_sum), a), 0);
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    CHECK_EQ(hit, 0);
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_memory_set_version(m, "weighted_sum", ""), 0);
    CHECK_EQ(weft_memory_check(m, WEFT_FN(weighted_sum), a), 0); /* v1's entries are gone */

    /* clear one task, then everything */
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_memory_check(m, WEFT_FN(weighted_sum), a), 1);
    CHECK_EQ(weft_memory_clear(m, "weighted_sum"), 0);
    CHECK_EQ(weft_memory_check(m, WEFT_FN(weighted_sum), a), 0);
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_memory_clear(m, NULL), 0);
    CHECK_EQ(weft_memory_check(m, WEFT_FN(weighted_sum), a), 0);

    weft_memory_stats st;
    CHECK_EQ(weft_memory_stats_get(m, &st), 0);
    CHECK(st.hits >= 3 && st.misses >= 4 && st.stores >= 4);

    /* bad input */
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), NULL, &out, &hit), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "args is NULL");
    CHECK_EQ(weft_memory_call(m, NULL, a, &out, &hit), WEFT_EINVAL);
    CHECK_EQ(weft_memory_call(NULL, WEFT_FN(weighted_sum), a, &out, &hit), WEFT_EINVAL);
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, NULL, &hit), WEFT_EINVAL);
    weft_args *bad = weft_args_new();
    weft_args_i64(bad, "", 1);
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), bad, &out, &hit), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "empty");

    weft_args_free(a);
    weft_args_free(b);
    weft_args_free(c);
    weft_args_free(f);
    weft_args_free(bad);
    weft_memory_close(m);
}

static int reject_all(const weft_entry_info *info, const void *value, size_t size, void *user) {
    (void)info, (void)value, (void)size;
    ++*(int *)user;
    return 1;
}

static void test_expiry_validation(const char *dir) {
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.max_age_s = 0.05;
    weft_memory *m;
    CHECK_EQ(weft_memory_open(&m, dir, &o), 0);
    double x[3] = {1, 2, 3};
    size_t n = 3;
    weft_args *a = weft_args_new();
    weft_args_f64_array(a, "x", x, 1, &n);
    weft_bytes out;
    int hit;
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_memory_check(m, WEFT_FN(weighted_sum), a), 1);
    usleep(80000);
    CHECK_EQ(weft_memory_check(m, WEFT_FN(weighted_sum), a), 0); /* expired */
    weft_memory_close(m);

    int rejected = 0;
    weft_memory_options v = WEFT_MEMORY_OPTIONS_INIT;
    v.validate = reject_all;
    v.validate_user = &rejected;
    CHECK_EQ(weft_memory_open(&m, dir, &v), 0);
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    weft_bytes_free(&out, 1);
    atomic_store(&runs, 0);
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    CHECK(hit == 0 && rejected == 1 && atomic_load(&runs) == 1);
    weft_bytes_free(&out, 1);
    weft_memory_close(m);
    weft_args_free(a);
}

/* Through the platform layer: Emscripten's own utimes() is wrong under NODERAWFS. */
static void set_mtime(const char *path, time_t t) { weft_plat_set_mtime(path, (int64_t)t * 1000000000); }

static void test_corruption(const char *dir) {
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.quiet = 1;
    weft_memory *m;
    CHECK_EQ(weft_memory_open(&m, dir, &o), 0);
    weft_memory_clear(m, NULL);
    double x[50];
    for (int i = 0; i < 50; i++) x[i] = i;
    size_t n = 50;
    weft_args *a = weft_args_new();
    weft_args_f64_array(a, "x", x, 1, &n);
    weft_bytes out;
    int hit;
    static char paths[16][4096];
    /* flip a byte in the value, in the header, truncate: each is detected, removed and
     * recomputed, never returned */
    for (int kind = 0; kind < 4; kind++) {
        CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
        weft_bytes_free(&out, 1);
        CHECK_EQ(find_entries(dir, paths, 16), 1);
        long size = file_size(paths[0]);
        if (kind == 0) flip_byte(paths[0], size - 3); /* value */
        if (kind == 1) flip_byte(paths[0], 40);       /* header: a time */
        if (kind == 2) flip_byte(paths[0], 20);       /* header: the key */
        if (kind == 3) CHECK_EQ(truncate(paths[0], size - 5), 0);
        /* a fresh handle, as another process or a later run would be: this one may
         * still hold the value it verified (its hot table) */
        weft_memory_close(m);
        CHECK_EQ(weft_memory_open(&m, dir, &o), 0);
        weft_memory_stats before, after;
        weft_memory_stats_get(m, &before);
        atomic_store(&runs, 0);
        CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
        CHECK(hit == 0 && atomic_load(&runs) == 1 && value_of(&out) == 1225);
        weft_bytes_free(&out, 1);
        weft_memory_stats_get(m, &after);
        CHECK_EQ(after.corrupt, before.corrupt + 1);
        CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
        CHECK(hit == 1 && value_of(&out) == 1225);
        weft_bytes_free(&out, 1);
    }
    /* a stray temporary file is never read, and prune removes it once stale */
    CHECK_EQ(find_entries(dir, paths, 16), 1);
    char tmp[8400];
    snprintf(tmp, sizeof tmp, "%.*s/.tmp-99999-1-1", (int)(strrchr(paths[0], '/') - paths[0]), paths[0]);
    FILE *f = fopen(tmp, "wb");
    fputs("half an entry", f);
    fclose(f);
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    CHECK(hit == 1);
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_memory_prune(m, 0, 0, 0, NULL), 0);
    CHECK_EQ(access(tmp, F_OK), 0); /* fresh: a writer may still be at work */
    set_mtime(tmp, time(NULL) - 3600);
    CHECK_EQ(weft_memory_prune(m, 0, 0, 0, NULL), 0);
    CHECK(access(tmp, F_OK) != 0);
    /* a shelved result that went bad is an error, never its bytes */
    weft_shelf ref;
    CHECK_EQ(weft_memory_shelve(m, WEFT_FN(weighted_sum), a, &ref), 0);
    flip_byte(paths[0], file_size(paths[0]) - 1);
    CHECK_EQ(weft_shelf_load(m, &ref, &out), WEFT_ECORRUPT);
    CHECK(out.data == NULL);
    weft_args_free(a);
    weft_memory_close(m);
}

static void test_limits(const char *dir) {
    weft_memory *m;
    CHECK_EQ(weft_memory_open(&m, dir, NULL), 0);
    weft_memory_clear(m, NULL);
    static char paths[64][4096];
    double x[10] = {0};
    size_t n = 10;
    weft_args *a = weft_args_new();
    weft_bytes out;
    int hit;
    for (int i = 0; i < 10; i++) {
        weft_args_reset(a);
        weft_args_f64_array(a, "x", x, 1, &n);
        weft_args_f64(a, "scale", i);
        CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
        weft_bytes_free(&out, 1);
    }
    int found = find_entries(dir, paths, 64);
    CHECK_EQ(found, 10);
    long one = file_size(paths[0]);
    /* make scale=0..9 used in that order: entry i last used at now - 1000 + i */
    for (int i = 0; i < 10; i++) {
        char key[33];
        weft_args_reset(a);
        weft_args_f64_array(a, "x", x, 1, &n);
        weft_args_f64(a, "scale", i);
        weft_memory_key(m, WEFT_FN(weighted_sum), a, NULL, key);
        for (int k = 0; k < found; k++)
            if (strstr(paths[k], key)) set_mtime(paths[k], time(NULL) - 1000 + i);
    }
    int64_t removed;
    CHECK_EQ(weft_memory_prune(m, 0, 7, 0, &removed), 0);
    CHECK_EQ(removed, 3);
    for (int i = 0; i < 10; i++) { /* the three least recently used went */
        weft_args_reset(a);
        weft_args_f64_array(a, "x", x, 1, &n);
        weft_args_f64(a, "scale", i);
        CHECK_EQ(weft_memory_check(m, WEFT_FN(weighted_sum), a), i >= 3);
    }
    CHECK_EQ(weft_memory_prune(m, 4 * one + one / 2, 0, 0, &removed), 0);
    CHECK_EQ(removed, 3);
    CHECK_EQ(find_entries(dir, paths, 64), 4);
    CHECK_EQ(weft_memory_prune(m, 0, 0, 100, &removed), 0); /* not used for 100 s */
    CHECK_EQ(removed, 4);
    weft_memory_close(m);

    /* with a limit set, writes keep the cache within it */
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.max_items = 5;
    CHECK_EQ(weft_memory_open(&m, dir, &o), 0);
    for (int i = 0; i < 40; i++) {
        weft_args_reset(a);
        weft_args_f64_array(a, "x", x, 1, &n);
        weft_args_f64(a, "scale", 100 + i);
        CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
        weft_bytes_free(&out, 1);
    }
    CHECK(find_entries(dir, paths, 64) <= 5);
    weft_memory_stats st;
    weft_memory_stats_get(m, &st);
    CHECK(st.evicted >= 35);
    weft_memory_close(m);
    weft_args_free(a);
}

#if TEST_HAVE_FORK
/* The map of `first`..`first + n - 1` through a cache at `dir`: every cube right; the task
 * runs counted in *ran. Its own sequential pool (it also runs in a forked child). */
static int map_cubes(const char *dir, int64_t first, int n, int *ran) {
    weft_memory *m;
    int rc = weft_memory_open(&m, dir, NULL);
    if (rc) return rc;
    weft_options o;
    weft_options_init(&o);
    o.backend = "sequential";
    o.memory = m;
    weft_pool *pool;
    if ((rc = weft_pool_open(&pool, &o)) != 0) return rc;
    int64_t in[16], out[16];
    for (int i = 0; i < n; i++) in[i] = first + i;
    int before = atomic_load(&runs);
    rc = weft_map(pool, WEFT_FN(cube), in, 8, (size_t)n, out, 8);
    *ran = atomic_load(&runs) - before;
    for (int i = 0; !rc && i < n; i++)
        if (out[i] != in[i] * in[i] * in[i]) rc = WEFT_EINVAL;
    weft_pool_close(pool);
    weft_memory_close(m);
    return rc;
}

/* A cache this process cannot write to: it opens (saying so once), serves its hits, and a
 * miss is computed and returned but not stored. Root writes anywhere, so there the check
 * runs in a child that has become nobody. */
static void test_read_only(const char *base) {
    char dir[4096], paths[64][4096];
    int ran;
    snprintf(dir, sizeof dir, "%s/readonly", base);
    CHECK_EQ(map_cubes(dir, 1, 8, &ran), 0);
    CHECK_EQ(ran, 8);
    int entries = find_entries(dir, paths, 64);
    CHECK_EQ(entries, 8);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "chmod -R a-w '%s' && chmod a+rx '%s'", dir, base);
    CHECK_EQ(system(cmd), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(77);
        if (!permissions_bind(dir)) _exit(77);
        int failed = map_cubes(dir, 1, 8, &ran) != 0 || ran != 0; /* all hits */
        failed |= map_cubes(dir, 100, 4, &ran) != 0 || ran != 4;  /* misses: computed */
        _exit(failed ? 1 : 0);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
        SKIP("a read-only cache: folder permissions do not bind here");
    else
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ(find_entries(dir, paths, 64), entries); /* nothing stored */
    snprintf(cmd, sizeof cmd, "chmod -R u+w '%s'", dir);
    CHECK_EQ(system(cmd), 0);
}
#else
static void test_read_only(const char *base) {
    (void)base;
    SKIP("a read-only cache: no fork (and no other user) on this host");
}
#endif

static void test_open_errors(const char *base) {
    weft_memory *m = (weft_memory *)1;
    char path[4096];
    /* a missing folder is created, parents included */
    snprintf(path, sizeof path, "%s/new/deeper/cache", base);
    CHECK_EQ(weft_memory_open(&m, path, NULL), 0);
    weft_memory_close(m);
    snprintf(path, sizeof path, "%s/new/deeper/cache/CACHEDIR.TAG", base);
    CHECK_EQ(access(path, F_OK), 0);
    /* a folder with someone else's files is refused */
    snprintf(path, sizeof path, "%s/foreign", base);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/foreign/notes.txt", base);
    FILE *f = fopen(path, "w");
    fputs("mine", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/foreign", base);
    CHECK_EQ(weft_memory_open(&m, path, NULL), WEFT_EFOREIGN);
    CHECK(m == NULL);
    CHECK_HAS(weft_last_error()->message, "not a weft cache");
    /* a location below a file, or a file, cannot be created, and the error says why */
    snprintf(path, sizeof path, "%s/foreign/notes.txt/cache", base);
    CHECK_EQ(weft_memory_open(&m, path, NULL), WEFT_ESYS);
    CHECK_HAS(weft_last_error()->message, "cannot create the cache folder");
    CHECK_HAS(weft_last_error()->message, "Not a directory");
    snprintf(path, sizeof path, "%s/foreign/notes.txt", base);
    CHECK_EQ(weft_memory_open(&m, path, NULL), WEFT_ESYS);
    CHECK_HAS(weft_last_error()->message, "Not a directory");
    CHECK_EQ(weft_memory_open(NULL, base, NULL), WEFT_EINVAL);
    unsetenv("WEFT_CACHE_DIR");
    CHECK_EQ(weft_memory_open(&m, NULL, NULL), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "WEFT_CACHE_DIR");
    snprintf(path, sizeof path, "%s/from-env", base);
    setenv("WEFT_CACHE_DIR", path, 1);
    CHECK_EQ(weft_memory_open(&m, NULL, NULL), 0);
    CHECK_STR(weft_memory_location(m), path);
    weft_memory_close(m);
    unsetenv("WEFT_CACHE_DIR");
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.max_items = -1;
    CHECK_EQ(weft_memory_open(&m, "memory:", &o), WEFT_EINVAL);
}

static void test_map_hook(const char *location, const char *backend) {
    weft_memory *m;
    CHECK_EQ(weft_memory_open(&m, location, NULL), 0);
    weft_memory_clear(m, NULL);
    weft_options o;
    weft_options_init(&o);
    o.backend = backend;
    o.n_jobs = 2;
    o.memory = m;
    weft_pool *pool;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    int64_t in[500], out[500];
    for (int i = 0; i < 500; i++) in[i] = i - 250;
    atomic_store(&runs, 0);
    CHECK_EQ(weft_map(pool, WEFT_FN(cube), in, sizeof in[0], 300, out, sizeof out[0]), 0);
    CHECK_EQ(atomic_load(&runs), 300);
    memset(out, 0, sizeof out);
    atomic_store(&runs, 0);
    CHECK_EQ(weft_map(pool, WEFT_FN(cube), in, sizeof in[0], 500, out, sizeof out[0]), 0);
    CHECK_EQ(atomic_load(&runs), 200); /* only the new items ran */
    int bad = 0;
    for (int i = 0; i < 500; i++) bad += out[i] != in[i] * in[i] * in[i];
    CHECK_EQ(bad, 0);
    weft_pool_close(pool);

    /* variable-size maps over args encodings share entries with weft_memory_call */
    double x[4] = {1, 2, 3, 4};
    size_t n = 4;
    weft_args *a = weft_args_new();
    weft_args_f64_array(a, "x", x, 1, &n);
    weft_bytes enc, res;
    weft_args_encode(a, &enc);
    int hit;
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &res, &hit), 0);
    weft_bytes_free(&res, 1);
    weft_options_init(&o);
    o.backend = backend;
    o.memory = m;
    CHECK_EQ(weft_config_push(&o), 0);
    atomic_store(&runs, 0);
    CHECK_EQ(weft_map_bytes(NULL, WEFT_FN(weighted_sum), &enc, 1, &res), 0);
    CHECK(atomic_load(&runs) == 0 && value_of(&res) == 10);
    weft_bytes_free(&res, 1);
    weft_config_pop();
    weft_bytes_free(&enc, 1);
    weft_args_free(a);
    weft_memory_close(m);
}

static void test_checkpoints(const char *dir) {
    weft_checkpoint *c;
    CHECK_EQ(weft_checkpoint_open(&c, dir, "solver", 3, 0), 0);
    int64_t step;
    weft_bytes out;
    int skipped;
    CHECK_EQ(weft_checkpoint_load(c, &step, &out, &skipped), WEFT_ENOTFOUND);
    for (int64_t s = 0; s < 10; s++) {
        double state[100];
        for (int i = 0; i < 100; i++) state[i] = (double)(s * 1000 + i);
        CHECK_EQ(weft_checkpoint_save(c, s, state, sizeof state), 0);
    }
    char path[8400];
    int kept = 0;
    for (int s = 0; s < 10; s++) {
        snprintf(path, sizeof path, "%s/solver/step-%020d.wck", dir, s);
        kept += access(path, F_OK) == 0;
    }
    CHECK_EQ(kept, 3);
    CHECK_EQ(weft_checkpoint_load(c, &step, &out, &skipped), 0);
    CHECK(step == 9 && skipped == 0 && out.size == 800 && ((double *)out.data)[5] == 9005);
    weft_bytes_free(&out, 1);
    /* the newest goes bad: the one before it loads, and the bad one is reported */
    snprintf(path, sizeof path, "%s/solver/step-%020d.wck", dir, 9);
    flip_byte(path, file_size(path) - 8);
    CHECK_EQ(weft_checkpoint_load(c, &step, &out, &skipped), 0);
    CHECK(step == 8 && skipped == 1 && ((double *)out.data)[5] == 8005);
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_checkpoint_save(c, -1, "x", 1), WEFT_EINVAL);
    weft_checkpoint_close(c);
    CHECK_EQ(weft_checkpoint_open(&c, NULL, "x", 1, 0), WEFT_EINVAL);
}

static void test_tolerance(void) {
    weft_memory *m;
    CHECK_EQ(weft_memory_open(&m, "memory:", NULL), 0);
    double x[64], y[64];
    for (int i = 0; i < 64; i++) x[i] = 1.0 + i * 0.25, y[i] = x[i] * (1 + 1e-12);
    size_t n = 64;
    weft_args *a = weft_args_new(), *b = weft_args_new();
    weft_args_f64_array(a, "x", x, 1, &n);
    weft_args_f64_array(b, "x", y, 1, &n);
    char ka[33], kb[33];
    weft_memory_key(m, WEFT_FN(weighted_sum), a, NULL, ka);
    weft_memory_key(m, WEFT_FN(weighted_sum), b, NULL, kb);
    CHECK(strcmp(ka, kb) != 0); /* exact by default */
    CHECK_EQ(weft_args_tolerance(a, "x", 0, 1e-9), 0);
    CHECK_EQ(weft_args_tolerance(b, "x", 0, 1e-9), 0);
    weft_memory_key(m, WEFT_FN(weighted_sum), a, NULL, ka);
    weft_memory_key(m, WEFT_FN(weighted_sum), b, NULL, kb);
    CHECK_STR(ka, kb);
    weft_bytes out;
    int hit;
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    weft_bytes_free(&out, 1);
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), b, &out, &hit), 0);
    CHECK_EQ(hit, 1);
    weft_bytes_free(&out, 1);
    /* an absolute grid */
    weft_args_reset(a);
    weft_args_reset(b);
    weft_args_f64(a, "v", 2.0001);
    weft_args_f64(b, "v", 1.9999);
    weft_args_tolerance(a, "v", 0.01, 0);
    weft_args_tolerance(b, "v", 0.01, 0);
    weft_memory_key(m, WEFT_FN(weighted_sum), a, NULL, ka);
    weft_memory_key(m, WEFT_FN(weighted_sum), b, NULL, kb);
    CHECK_STR(ka, kb);
    weft_args_free(a);
    weft_args_free(b);
    weft_memory_close(m);
}

/* a plain struct {i64 id; f64 rate; i64 steps} -> id + steps + (i64)rate */
static int struct_sum(weft_task *t) {
    struct {
        int64_t id;
        double rate;
        int64_t steps;
    } in;
    if (weft_input_size(t) != sizeof in) return weft_fail(t, "expected a 24-byte item");
    memcpy(&in, weft_input(t), sizeof in);
    int64_t s = in.id + in.steps + (int64_t)in.rate;
    return weft_output(t, &s, sizeof s);
}
WEFT_TASK(struct_sum)

static void test_debug(const char *location) {
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.debug = 1;
    weft_memory *m;
    CHECK_EQ(weft_memory_open(&m, location, &o), 0);
    weft_memory_clear(m, NULL);
    double x[1000];
    for (int i = 0; i < 1000; i++) x[i] = sin(i);
    size_t n = 1000;
    weft_args *a = weft_args_new();
    weft_bytes out;
    int hit;
    /* calls that differ elsewhere, so the nearest one has to be found */
    for (int k = 0; k < 5; k++) {
        weft_args_reset(a);
        double z[1000];
        for (int i = 0; i < 1000; i++) z[i] = cos(i * (k + 2));
        weft_args_f64_array(a, "x", z, 1, &n);
        weft_args_i64(a, "steps", 10 + k);
        weft_args_string(a, "mode", "fast");
        CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
        weft_bytes_free(&out, 1);
    }
    weft_args_reset(a);
    weft_args_f64_array(a, "x", x, 1, &n);
    weft_args_i64(a, "steps", 10);
    weft_args_string(a, "mode", "fast");
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    weft_bytes_free(&out, 1);

    /* three elements change, a scalar and a string too */
    double y[1000];
    memcpy(y, x, sizeof y);
    y[17] += 2e-3;
    y[500] += 1e-3;
    y[900] -= 1e-4;
    weft_args_reset(a);
    weft_args_f64_array(a, "x", y, 1, &n);
    weft_args_i64(a, "steps", 12);
    weft_args_string(a, "mode", "slow");
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    weft_bytes_free(&out, 1);
    const char *e = weft_memory_last_explanation(m);
    CHECK_HAS(e, "cache miss for 'weighted_sum'");
    CHECK_HAS(e, "x: f64[1000]: 3 of 1000 elements differ, first at index 17, max abs diff 0.002");
    CHECK_HAS(e, "steps: 10 -> 12");
    CHECK_HAS(e, "mode: \"fast\" -> \"slow\"");
    if (!strstr(e, "3 of 1000")) fprintf(stderr, "explanation was:\n%s", e);

    /* every element moves by 1e-12 relative: a near miss */
    double w[1000];
    for (int i = 0; i < 1000; i++) w[i] = y[i] * (1 + 1e-12);
    weft_args_reset(a);
    weft_args_f64_array(a, "x", w, 1, &n);
    weft_args_i64(a, "steps", 12);
    weft_args_string(a, "mode", "slow");
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    weft_bytes_free(&out, 1);
    e = weft_memory_last_explanation(m);
    CHECK_HAS(e, "near miss");
    CHECK_HAS(e, "of 1000 elements differ");

    /* a shape change */
    size_t shape[2] = {500, 2};
    weft_args_reset(a);
    weft_args_f64_array(a, "x", w, 2, shape);
    weft_args_i64(a, "steps", 12);
    weft_args_string(a, "mode", "slow");
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    weft_bytes_free(&out, 1);
    CHECK_HAS(weft_memory_last_explanation(m), "x: shape [1000] -> [500, 2]");

    /* a cleared entry: same arguments, and the explanation says so */
    weft_memory_clear(m, "weighted_sum");
    CHECK_EQ(weft_memory_call(m, WEFT_FN(weighted_sum), a, &out, &hit), 0);
    weft_bytes_free(&out, 1);
    CHECK_HAS(weft_memory_last_explanation(m), "same arguments");
    weft_args_free(a);

    /* a map of plain structs: a miss names the bytes of the item that changed */
    struct item {
        int64_t id;
        double rate;
        int64_t steps;
    } items[4];
    memset(items, 0, sizeof items); /* no padding here, but zeroed as the README asks */
    for (int i = 0; i < 4; i++) items[i] = (struct item){i, 0.5 + i, 100};
    weft_options so = {.backend = "sequential", .memory = m};
    weft_pool *sp = NULL;
    CHECK_EQ(weft_pool_open(&sp, &so), 0);
    int64_t sums[4];
    CHECK_EQ(weft_map(sp, WEFT_FN(struct_sum), items, sizeof items[0], 4, sums, sizeof sums[0]), 0);
    items[2].rate = 7.25;
    CHECK_EQ(weft_map(sp, WEFT_FN(struct_sum), items, sizeof items[0], 4, sums, sizeof sums[0]), 0);
    /* compared with the same item of the first map: only the rate's bytes changed */
    CHECK_HAS(weft_memory_last_explanation(m), "input bytes 008-015: bytes: ");
    CHECK(!strstr(weft_memory_last_explanation(m), "input bytes 000-007"));
    CHECK(!strstr(weft_memory_last_explanation(m), "input bytes 016-023"));
    weft_pool_close(sp);
    weft_memory_close(m);

    /* WEFT_DEBUG=1 turns it on; map items that are args encodings are journaled too */
    setenv("WEFT_DEBUG", "1", 1);
    CHECK_EQ(weft_memory_open(&m, location, NULL), 0);
    unsetenv("WEFT_DEBUG");
    weft_memory_clear(m, NULL);
    weft_args *p = weft_args_new();
    weft_bytes enc[2], res[2];
    double z[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t eight = 8;
    for (int k = 0; k < 2; k++) {
        weft_args_reset(p);
        z[3] += k;
        weft_args_f64_array(p, "x", z, 1, &eight);
        weft_args_encode(p, &enc[k]);
    }
    weft_options po;
    weft_options_init(&po);
    po.backend = "sequential";
    po.memory = m;
    weft_pool *pool;
    CHECK_EQ(weft_pool_open(&pool, &po), 0);
    CHECK_EQ(weft_map_bytes(pool, WEFT_FN(weighted_sum), enc, 2, res), 0);
    CHECK_HAS(weft_memory_last_explanation(m), "x: f64[8]: 1 of 8 elements differ, first at index 3");
    weft_bytes_free(res, 2);
    weft_bytes_free(enc, 2);
    weft_pool_close(pool);
    weft_args_free(p);
    weft_memory_close(m);
}

/* The in-memory store grows its table (1024 buckets at first) as it fills: every entry
 * stays findable across the doublings, and a repeat map is all hits. */
static void test_memory_store_grows(void) {
    enum { N = 10000 };
    weft_memory *m;
    CHECK_EQ(weft_memory_open(&m, "memory:", NULL), 0);
    weft_options o;
    weft_options_init(&o);
    o.backend = "sequential";
    o.memory = m;
    weft_pool *pool;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    static int64_t in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i;
    atomic_store(&runs, 0);
    CHECK_EQ(weft_map(pool, WEFT_FN(cube), in, sizeof in[0], N, out, sizeof out[0]), 0);
    CHECK_EQ(atomic_load(&runs), N);
    memset(out, 0, sizeof out);
    atomic_store(&runs, 0);
    CHECK_EQ(weft_map(pool, WEFT_FN(cube), in, sizeof in[0], N, out, sizeof out[0]), 0);
    CHECK_EQ(atomic_load(&runs), 0);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += out[i] != in[i] * in[i] * in[i];
    CHECK_EQ(bad, 0);
    int64_t removed;
    CHECK_EQ(weft_memory_prune(m, 0, N / 2, 0, &removed), 0);
    CHECK_EQ(removed, N - N / 2);
    weft_pool_close(pool);
    weft_memory_close(m);
}

int main(void) {
    char *base = temp_dir("memory");
    char dir[4200];
    test_args();
    test_args_decode();
    test_calls("memory:");
    snprintf(dir, sizeof dir, "%s/calls", base);
    test_calls(dir);
    snprintf(dir, sizeof dir, "%s/expiry", base);
    test_expiry_validation(dir);
    /* these two damage and age entry files by hand: the file-per-entry store's (the
     * packed and log stores' own are in test_store_packed and test_store_log) */
    const char *store = getenv("WEFT_CACHE_STORE");
    static char saved_buf[64];
    char *saved = store ? saved_buf : NULL;
    if (saved) snprintf(saved_buf, sizeof saved_buf, "%s", store);
    setenv("WEFT_CACHE_STORE", "file", 1);
    snprintf(dir, sizeof dir, "%s/corrupt", base);
    test_corruption(dir);
    snprintf(dir, sizeof dir, "%s/limits", base);
    test_limits(dir);
    test_read_only(base); /* counts entry files */
    if (saved)
        setenv("WEFT_CACHE_STORE", saved, 1);
    else
        unsetenv("WEFT_CACHE_STORE");
    test_open_errors(base);
    snprintf(dir, sizeof dir, "%s/hot", base);
    test_hot_invalidation(dir);
    test_map_hook("memory:", "sequential");
    test_memory_store_grows();
    snprintf(dir, sizeof dir, "%s/map", base);
    if (TEST_HAVE_THREADS) {
        test_map_hook("memory:", "threads");
        test_map_hook(dir, "threads");
    } else {
        SKIP("the map hook on the threads backend: no threads on this host");
        test_map_hook(dir, "sequential");
    }
    snprintf(dir, sizeof dir, "%s/ckpt", base);
    test_checkpoints(dir);
    test_tolerance();
    test_debug("memory:");
    snprintf(dir, sizeof dir, "%s/debug", base);
    test_debug(dir);
    rm_rf(base);
    free(base);
    weft_shutdown();
    return CHECK_DONE();
}
