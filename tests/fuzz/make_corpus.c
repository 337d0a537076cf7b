/* Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/): real
 * entries, archives, encodings, checkpoints and journal records made by this weft, and
 * the damaged inputs of issue 12's defects. Run by hand when a format changes:
 *   build/release/tests/fuzz/fuzz_make_corpus tests/fuzz/corpus */
#include "fuzz.h"

#include <dirent.h>

#define B(literal) literal, sizeof(literal) - 1 /* a literal's bytes and their count */

static int seed_task(weft_task *t) {
    size_t n = weft_input_size(t);
    return weft_output(t, weft_input(t), n < 24 ? n : 24);
}
WEFT_TASK(seed_task)

static const char *root;

static void put(const char *target, const char *name, const void *data, size_t size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    fuzz_write(path, data, size);
}

static weft_args *varied(int k) {
    weft_args *a = weft_args_new();
    static const double f[6] = {0.5, 1.5, -2, 3e10, 1e-300, 7};
    static const int32_t i32[4] = {1, -2, 3, 4};
    static const size_t shape[2] = {2, 3}, four[1] = {4};
    weft_args_i64(a, "n", k);
    if (k & 1) weft_args_f64(a, "alpha", 0.25 * k);
    if (k & 2) weft_args_bool(a, "flag", k & 4);
    if (k & 4) weft_args_string(a, "label", k & 8 ? "a label longer than sixty-four bytes, so it is not inline" : "run");
    if (k & 8) weft_args_bytes(a, "blob", "\x00\x01\x02\x03\x04", 5);
    if (k & 16) weft_args_f64_array(a, "grid", f, 2, shape);
    if (k & 32) weft_args_i32_array(a, "ids", i32, 1, four);
    if ((k & 64) && (k & 1)) weft_args_tolerance(a, "alpha", 1e-6, 0);
    return a;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_make_corpus CORPUS-FOLDER\n");
        return 2;
    }
    root = argv[1];
    char dir[4096], name[64];
    snprintf(dir, sizeof dir, "%s/cache", fuzz_scratch());
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.quiet = 1;
    o.debug = 1;
    setenv("WEFT_DEBUG", "1", 1);
    weft_memory *m;
    FUZZ_CHECK(weft_memory_open(&m, dir, &o) == 0);
    weft_memory_ignore(m, "seed_task", "flag");
    for (int k = 0; k < 24; k++) {
        weft_args *a = varied(k * 5 + 1 + (k > 12 ? 64 : 0));
        weft_bytes enc, out;
        FUZZ_CHECK(weft_args_encode(a, &enc) == 0);
        snprintf(name, sizeof name, "args-%02d", k);
        put("args", name, enc.data, enc.size);
        FUZZ_CHECK(weft_memory_call(m, WEFT_FN(seed_task), a, &out, NULL) == 0);
        /* the entry file, as stored */
        char hex[33], path[4400];
        weft_memory_key(m, WEFT_FN(seed_task), a, NULL, hex);
        snprintf(path, sizeof path, "%s/seed_task/%.2s/%s.wfe", dir, hex, hex);
        unsigned char buf[8192];
        FILE *f = fopen(path, "rb");
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f) fclose(f);
        snprintf(name, sizeof name, "entry-%02d", k);
        if (n) put("entry", name, buf, n);
        if (k == 3 && n) { /* issue 12, defect 2: an inline i64 that says it holds 2 bytes */
            weft__entry e;
            size_t hs = weft__entry_header_size(buf, n);
            FUZZ_CHECK(weft__entry_parse(buf, hs, &e) == 0);
            for (size_t i = 0; i < e.n_args; i++) {
                weft__entry_arg x;
                weft__entry_arg_at(&e, buf, hs, i, &x);
                if (x.type == WEFT_ARG_I64) weft__put64((unsigned char *)x.name - 16 - 8 * x.ndim - 8, 2);
            }
            fuzz_reseal_entry(buf, n, NULL);
            put("entry", "short-inline", buf, n);
        }
        weft_bytes_free(&enc, 1);
        weft_bytes_free(&out, 1);
        weft_args_free(a);
    }
    weft_bytes arc;
    FUZZ_CHECK(weft_memory_export_bytes(m, NULL, &arc, NULL) == 0);
    put("archive", "whole", arc.data, arc.size);
    ((unsigned char *)arc.data)[16 + 4] ^= 0x80; /* defect 4: a size with a high bit flipped */
    put("archive", "flipped-size", arc.data, arc.size);
    weft_bytes_free(&arc, 1);
    unsigned char empty[32] = "WEFTARC\x1a\x01"; /* version 1, no entries, a count of 0 */
    put("archive", "empty", empty, sizeof empty);

    /* two journal records of the task, joined as fuzz_journal splits them */
    snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/.journal/seed_task");
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned char joined[65536];
    size_t jn = 0;
    int records = 0;
    while (d && (e = readdir(d)) && records < 2) {
        if (e->d_name[0] == '.') continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        if (records++) memcpy(joined + jn, "\n--\n", 4), jn += 4;
        jn += fread(joined + jn, 1, sizeof joined / 2 - 8, f);
        fclose(f);
    }
    if (d) closedir(d);
    if (jn) put("journal", "two-records", joined, jn);
    weft_memory_close(m);

    /* defect 2: journal records whose i64 values hold one byte */
    unsigned char r[256], *q = r;
    memcpy(q, "WFJ1\0\0\0\0", 8), q += 8;
    weft__put64(q, (uint64_t)INT64_MIN), q += 8;
    weft__put64(q, 0), q += 8;
    memset(q, 1, 16), q += 16;
    weft__put16(q, 0), q += 2;
    weft__put64(q, 1), q += 8;
    weft__put16(q, 1), q[2] = 'n', q += 3;
    q[0] = WEFT_ARG_I64, q[1] = 0, q[2] = 0, q[3] = 1, q += 4;
    weft__put64(q, 1), q += 8;
    memset(q, 7, 16), q += 16;
    *q++ = 42;
    weft__put32(r + 4, (uint32_t)(q - r));
    size_t rn = (size_t)(q - r);
    memcpy(joined, r, rn);
    memcpy(joined + rn, "\n--\n", 4);
    memcpy(joined + rn + 4, r, rn);
    weft__put64(joined + rn + 4 + 8, (uint64_t)INT64_MAX);
    joined[rn + 4 + 8 + 16 + 16 + 2 + 8 + 3 + 4 + 8] = 9; /* another fingerprint */
    put("journal", "short-values", joined, 2 * rn + 4);

    /* a checkpoint */
    weft_checkpoint *c;
    snprintf(dir, sizeof dir, "%s/ckpt", fuzz_scratch());
    FUZZ_CHECK(weft_checkpoint_open(&c, dir, "fuzz", 2, 0) == 0);
    FUZZ_CHECK(weft_checkpoint_save(c, 7, "state of step seven", 19) == 0);
    weft_checkpoint_close(c);
    char path[4400];
    snprintf(path, sizeof path, "%s/fuzz/step-%020d.wck", dir, 7);
    unsigned char buf[4096];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 1; /* the last byte's low bit asks fuzz_checkpoint to reseal */
    put("checkpoint", "step-7", buf, n);
    put("checkpoint", "step-7-resealed", buf, n + 1);

    /* environment triples: WEFT_BACKEND \0 WEFT_N_JOBS \0 WEFT_VERBOSE */
    static const struct { const char *name, *bytes; size_t n; } env[] = {
        {"plain", B("sequential\0" "4\0" "1")},      {"blanks", B("\0 \0 ")},
        {"around", B("threads\0 2 \0\t3\t")},         {"loose", B("x\0" "1e3\0" "0x1")},
        {"huge", B("\0" "99999999999999999999\0-1")}, {"minus", B("\0-\0-0")},
    };
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++) put("env", env[i].name, env[i].bytes, env[i].n);

    /* the tool's arguments after "weft" (the cache folder argument is replaced) */
    static const struct { const char *name, *bytes; size_t n; } tool[] = {
        {"ls", B("cache\0ls\0D")},
        {"ls-task", B("cache\0ls\0D\0fuzz_double")},
        {"show", B("cache\0show\0D\0fuzz_double\0a")},
        {"stats", B("cache\0stats\0D")},
        {"verify-fix", B("cache\0verify\0D\0--fix")},
        {"prune-inf", B("cache\0prune\0D\0--max-bytes\0" "1e300G")},
        {"prune-half", B("cache\0prune\0D\0--max-items\0" "0.5")},
        {"prune-age", B("cache\0prune\0D\0--max-age\0" "2d\0--max-bytes\0" "1k")},
        {"clear", B("cache\0clear\0D\0fuzz_double")},
        {"export", B("cache\0export\0D\0out.wfa")},
        {"import", B("cache\0import\0D\0out.wfa")},
        {"diff", B("cache\0diff\0D\0fuzz_double")},
        {"info", B("info")},
        {"unknown", B("cache\0frob\0D")},
    };
    for (size_t i = 0; i < sizeof tool / sizeof tool[0]; i++) put("tool", tool[i].name, tool[i].bytes, tool[i].n);
    printf("corpus written to %s\n", root);
    return 0;
}
