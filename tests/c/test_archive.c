/* Cache archives: export a cache to a file or a buffer, import it elsewhere and hit it;
 * one task's entries; damaged, truncated and foreign archives; stale versions; bad input.
 * Portable: runs natively, under WASI and under Emscripten. */
#define _DEFAULT_SOURCE
#include "check.h"
#include "mem_util.h"
#include "weft.h"

static int runs;

/* x: i64 -> x * x as an i64 */
static int square_arg(weft_task *t) {
    runs++;
    int64_t x = 0;
    if (weft_args_get_i64(weft_input(t), weft_input_size(t), "x", &x)) return weft_fail(t, "no x");
    int64_t r = x * x;
    return weft_output(t, &r, sizeof r);
}
WEFT_TASK(square_arg)

/* x: i64 -> a string naming it, to have a second task with variable-size values */
static int name_arg(weft_task *t) {
    runs++;
    int64_t x = 0;
    weft_args_get_i64(weft_input(t), weft_input_size(t), "x", &x);
    char s[64];
    int n = snprintf(s, sizeof s, "value %lld", (long long)x);
    return weft_output(t, s, (size_t)n + 1);
}
WEFT_TASK(name_arg)

/* Call a task for x = 0..n-1; returns the number of hits. */
static int call_all(weft_memory *m, const weft_task_def *task, int n) {
    int hits = 0;
    for (int x = 0; x < n; x++) {
        weft_args *a = weft_args_new();
        weft_args_i64(a, "x", x);
        weft_bytes out;
        int hit = 0;
        CHECK_EQ(weft_memory_call(m, task, a, &out, &hit), 0);
        if (task == WEFT_FN(square_arg)) CHECK(out.size == 8 && *(int64_t *)out.data == (int64_t)x * x);
        hits += hit;
        weft_bytes_free(&out, 1);
        weft_args_free(a);
    }
    return hits;
}

static weft_memory *open_at(const char *base, const char *name) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", base, name);
    weft_memory *m = NULL;
    CHECK_EQ(weft_memory_open(&m, dir, NULL), 0);
    return m;
}

static void test_round_trip(const char *base) {
    weft_memory *src = open_at(base, "src");
    CHECK_EQ(call_all(src, WEFT_FN(square_arg), 20), 0);
    CHECK_EQ(call_all(src, WEFT_FN(name_arg), 5), 0);

    char file[4200];
    snprintf(file, sizeof file, "%s/all.wfa", base);
    int64_t n = -1;
    CHECK_EQ(weft_memory_export(src, NULL, file, &n), 0);
    CHECK_EQ(n, 25);

    /* into another folder: every call hits and nothing runs */
    weft_memory *dst = open_at(base, "dst");
    weft_import_stats st;
    CHECK_EQ(weft_memory_import(dst, file, &st), 0);
    CHECK_EQ(st.imported, 25);
    CHECK_EQ(st.skipped, 0);
    runs = 0;
    CHECK_EQ(call_all(dst, WEFT_FN(square_arg), 20), 20);
    CHECK_EQ(call_all(dst, WEFT_FN(name_arg), 5), 5);
    CHECK_EQ(runs, 0);
    /* importing again replaces the same entries */
    CHECK_EQ(weft_memory_import(dst, file, &st), 0);
    CHECK_EQ(st.imported, 25);

    /* one task only, through a buffer, into an in-process store */
    weft_bytes buf;
    CHECK_EQ(weft_memory_export_bytes(src, "name_arg", &buf, &n), 0);
    CHECK_EQ(n, 5);
    weft_memory *mem = NULL;
    CHECK_EQ(weft_memory_open(&mem, "memory:", NULL), 0);
    CHECK_EQ(weft_memory_import_bytes(mem, buf.data, buf.size, &st), 0);
    CHECK_EQ(st.imported, 5);
    runs = 0;
    CHECK_EQ(call_all(mem, WEFT_FN(name_arg), 5), 5);
    CHECK_EQ(call_all(mem, WEFT_FN(square_arg), 2), 0); /* not exported */
    CHECK_EQ(runs, 2);
    weft_bytes_free(&buf, 1);

    /* and back out of the in-process store: the same bytes travel either way */
    CHECK_EQ(weft_memory_export_bytes(mem, "name_arg", &buf, &n), 0);
    CHECK_EQ(n, 5);
    weft_bytes_free(&buf, 1);

    /* an empty cache exports an archive of nothing, which imports as nothing */
    weft_memory *empty = open_at(base, "empty");
    CHECK_EQ(weft_memory_export_bytes(empty, NULL, &buf, &n), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(weft_memory_import_bytes(dst, buf.data, buf.size, &st), 0);
    CHECK_EQ(st.imported, 0);
    weft_bytes_free(&buf, 1);

    weft_memory_close(empty);
    weft_memory_close(mem);
    weft_memory_close(dst);
    weft_memory_close(src);
}

/* Damage: a flipped value byte skips that entry only; a cut archive keeps what came
 * before the cut and says where it was cut; a foreign file is refused. */
static void test_damage(const char *base) {
    weft_memory *src = open_at(base, "damage-src");
    call_all(src, WEFT_FN(square_arg), 10);
    weft_bytes buf;
    int64_t n;
    CHECK_EQ(weft_memory_export_bytes(src, NULL, &buf, &n), 0);
    CHECK_EQ(n, 10);
    unsigned char *b = buf.data;

    /* the first entry's value is its last 8 bytes, just before the second's size */
    uint64_t first;
    memcpy(&first, b + 16, 8);
    unsigned char *copy = malloc(buf.size);
    memcpy(copy, b, buf.size);
    copy[16 + 8 + first - 1] ^= 0x40;
    weft_memory *dst = open_at(base, "damage-dst");
    weft_import_stats st;
    CHECK_EQ(weft_memory_import_bytes(dst, copy, buf.size, &st), 0);
    CHECK_EQ(st.imported, 9);
    CHECK_EQ(st.corrupt, 1);
    CHECK_EQ(st.skipped, 1);

    /* cut in the middle of the third entry: two stored, then the error */
    weft_memory *cut = open_at(base, "damage-cut");
    size_t at = 16 + 2 * (8 + first) + 20;
    CHECK_EQ(weft_memory_import_bytes(cut, b, at, &st), WEFT_ECORRUPT);
    CHECK_HAS(weft_last_error()->message, "truncated");
    CHECK_EQ(st.imported, 2);
    runs = 0;
    CHECK_EQ(call_all(cut, WEFT_FN(square_arg), 10), 2); /* whichever two came first */
    CHECK_EQ(runs, 8);
    /* cut between entries, before the end mark */
    CHECK_EQ(weft_memory_import_bytes(cut, b, 16 + 3 * (8 + first), &st), WEFT_ECORRUPT);
    CHECK_EQ(st.imported, 3);
    /* a wrong count at the end */
    memcpy(copy, b, buf.size);
    copy[buf.size - 8] ^= 1;
    CHECK_EQ(weft_memory_import_bytes(cut, copy, buf.size, &st), WEFT_ECORRUPT);
    CHECK_HAS(weft_last_error()->message, "damaged");
    /* an absurd size */
    memcpy(copy, b, buf.size);
    memset(copy + 16, 0xff, 8);
    CHECK_EQ(weft_memory_import_bytes(cut, copy, buf.size, &st), WEFT_ECORRUPT);
    CHECK_EQ(st.imported, 0);

    /* not an archive, and an archive from a future weft */
    CHECK_EQ(weft_memory_import_bytes(cut, "hello, world, a text file", 25, &st), WEFT_ECORRUPT);
    CHECK_HAS(weft_last_error()->message, "not a weft cache archive");
    memcpy(copy, b, buf.size);
    copy[8] = 9;
    CHECK_EQ(weft_memory_import_bytes(cut, copy, buf.size, &st), WEFT_ECORRUPT);
    CHECK_HAS(weft_last_error()->message, "version 9");

    free(copy);
    weft_bytes_free(&buf, 1);
    weft_memory_close(cut);
    weft_memory_close(dst);
    weft_memory_close(src);
}

/* Entries of another task version than the destination keeps are skipped as stale. */
static void test_versions(const char *base) {
    weft_memory *src = open_at(base, "v-src");
    CHECK_EQ(weft_memory_set_version(src, "square_arg", "1"), 0);
    call_all(src, WEFT_FN(square_arg), 4);
    weft_bytes buf;
    int64_t n;
    CHECK_EQ(weft_memory_export_bytes(src, NULL, &buf, &n), 0);

    weft_memory *dst = open_at(base, "v-dst");
    CHECK_EQ(weft_memory_set_version(dst, "square_arg", "2"), 0);
    call_all(dst, WEFT_FN(square_arg), 1); /* the folder now keeps version 2 */
    weft_import_stats st;
    CHECK_EQ(weft_memory_import_bytes(dst, buf.data, buf.size, &st), 0);
    CHECK_EQ(st.imported, 0);
    CHECK_EQ(st.stale, 4);

    /* a destination that has not seen the task takes the archive's version: hits */
    weft_memory *fresh = open_at(base, "v-fresh");
    CHECK_EQ(weft_memory_import_bytes(fresh, buf.data, buf.size, &st), 0);
    CHECK_EQ(st.imported, 4);
    CHECK_EQ(weft_memory_set_version(fresh, "square_arg", "1"), 0);
    CHECK_EQ(call_all(fresh, WEFT_FN(square_arg), 4), 4);

    weft_bytes_free(&buf, 1);
    weft_memory_close(fresh);
    weft_memory_close(dst);
    weft_memory_close(src);
}

static void test_bad_input(const char *base) {
    weft_memory *m = open_at(base, "bad");
    weft_bytes buf;
    weft_import_stats st;
    int64_t n;
    char path[4200];
    CHECK_EQ(weft_memory_export(NULL, NULL, "x", &n), WEFT_EINVAL);
    CHECK_EQ(weft_memory_export(m, NULL, "", &n), WEFT_EINVAL);
    CHECK_EQ(weft_memory_export_bytes(m, NULL, NULL, &n), WEFT_EINVAL);
    CHECK_EQ(weft_memory_import(m, NULL, &st), WEFT_EINVAL);
    CHECK_EQ(weft_memory_import_bytes(m, NULL, 10, &st), WEFT_EINVAL);
    CHECK_EQ(weft_memory_import_bytes(NULL, &buf, 0, &st), WEFT_EINVAL);
    snprintf(path, sizeof path, "%s/no-such-folder/a.wfa", base);
    CHECK_EQ(weft_memory_export(m, NULL, path, &n), WEFT_ESYS);
    CHECK_HAS(weft_last_error()->message, "no-such-folder");
    CHECK_EQ(weft_memory_import(m, path, &st), WEFT_ESYS);
    CHECK_HAS(weft_last_error()->message, "cannot open");
    weft_memory_close(m);
}

int main(void) {
    char *base = temp_dir("archive");
    test_round_trip(base);
    test_damage(base);
    test_versions(base);
    test_bad_input(base);
    rm_rf(base);
    free(base);
    weft_shutdown();
    return CHECK_DONE();
}
