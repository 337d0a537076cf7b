/* Cache-key vectors: every build (native, WASI, Emscripten) must give the same key for
 * the same call. Each line of memory_keys.txt is
 *
 *   task | version | arguments | ignored | key
 *
 * arguments: name:type=value separated by ';' where type is i64, f64, bool, str, bytes
 * (hex), or i32/i64/f32/f64[AxB...] with comma-separated values or ramp(start,step);
 * a trailing ~abs,rel gives a tolerance. "raw:ramp(n)" instead of arguments keys n
 * plain input bytes (i & 255), as a map item that is not an args encoding.
 *
 *   check_keys FILE [CACHE]            check every line; exit 1 on a mismatch
 *   check_keys --write FILE [CACHE]    recompute the keys (only from the native build)
 *
 * With CACHE (tests/vectors/golden-cache), each call's entry must also be readable from
 * that cache folder, made by the native build: the stored value is the call's own
 * encoding (the task echoes its input), so the entry format and the encoding are both
 * checked across builds. --write stores those entries. */
#include "memory_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int echo(weft_task *t) { return weft_output(t, weft_input(t), weft_input_size(t)); }

static char *trim(char *s) {
    while (*s == ' ') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

/* Values for an array: a list, or ramp(start,step). */
static double *values(const char *text, size_t count) {
    double *v = calloc(count ? count : 1, sizeof *v);
    double start, step;
    if (sscanf(text, "ramp(%lf,%lf)", &start, &step) == 2) {
        for (size_t i = 0; i < count; i++) v[i] = start + step * (double)i;
        return v;
    }
    const char *p = text;
    for (size_t i = 0; i < count && *p; i++) {
        char *end;
        v[i] = strtod(p, &end);
        p = *end == ',' ? end + 1 : end;
    }
    return v;
}

/* Kept alive until the key is computed: args borrow array data. */
static void *keep[64];
static int n_keep;

static int add_arg(weft_args *a, char *spec) {
    char *eq = strchr(spec, '='), *colon = strchr(spec, ':');
    if (!eq || !colon || colon > eq) return -1;
    *colon = *eq = '\0';
    char *name = spec, *type = colon + 1, *val = eq + 1, *tol = strchr(val, '~');
    if (tol) *tol++ = '\0';
    int rc = -1;
    if (!strcmp(type, "i64"))
        rc = weft_args_i64(a, name, strtoll(val, NULL, 10));
    else if (!strcmp(type, "f64"))
        rc = weft_args_f64(a, name, strtod(val, NULL));
    else if (!strcmp(type, "bool"))
        rc = weft_args_bool(a, name, atoi(val));
    else if (!strcmp(type, "str"))
        rc = weft_args_string(a, name, val);
    else if (!strcmp(type, "bytes")) {
        size_t n = strlen(val) / 2;
        uint8_t *b = malloc(n ? n : 1);
        weft__unhex(val, b, n);
        keep[n_keep++] = b;
        rc = weft_args_bytes(a, name, b, n);
    } else {
        char base[8];
        size_t shape[WEFT_ARGS_MAX_NDIM], count = 1;
        int ndim = 0;
        const char *br = strchr(type, '[');
        if (!br || (size_t)(br - type) >= sizeof base) return -1;
        memcpy(base, type, (size_t)(br - type));
        base[br - type] = '\0';
        for (const char *p = br + 1; *p && *p != ']' && ndim < WEFT_ARGS_MAX_NDIM;) {
            char *end;
            shape[ndim] = strtoul(p, &end, 10);
            count *= shape[ndim++];
            p = *end == 'x' ? end + 1 : end;
        }
        double *v = values(val, count);
        void *data = v;
        if (!strcmp(base, "f32") || !strcmp(base, "i32") || !strcmp(base, "i64")) {
            void *conv = malloc(count * 8 + 8);
            for (size_t i = 0; i < count; i++) {
                if (!strcmp(base, "f32")) ((float *)conv)[i] = (float)v[i];
                if (!strcmp(base, "i32")) ((int32_t *)conv)[i] = (int32_t)v[i];
                if (!strcmp(base, "i64")) ((int64_t *)conv)[i] = (int64_t)v[i];
            }
            free(v);
            data = conv;
        }
        keep[n_keep++] = data;
        if (!strcmp(base, "f64")) rc = weft_args_f64_array(a, name, data, ndim, shape);
        if (!strcmp(base, "f32")) rc = weft_args_f32_array(a, name, data, ndim, shape);
        if (!strcmp(base, "i32")) rc = weft_args_i32_array(a, name, data, ndim, shape);
        if (!strcmp(base, "i64")) rc = weft_args_i64_array(a, name, data, ndim, shape);
    }
    if (!rc && tol) {
        double abs_tol = 0, rel_tol = 0;
        sscanf(tol, "%lf,%lf", &abs_tol, &rel_tol);
        rc = weft_args_tolerance(a, name, abs_tol, rel_tol);
    }
    return rc;
}

/* The key of one line's call, in hex. */
static weft_memory *golden;
static int golden_write, golden_bad, golden_ok;

static int key_of(weft_memory *m, char *task, char *version, char *args, char *ignored, char hex[33]) {
    weft_memory_set_version(m, task, version);
    for (char *s = strtok(ignored, ","); s; s = strtok(NULL, ",")) weft_memory_ignore(m, task, trim(s));
    weft_task_def def = {task, echo};
    size_t raw_n;
    if (sscanf(args, "raw:ramp(%zu)", &raw_n) == 1) {
        uint8_t *b = malloc(raw_n ? raw_n : 1), key[16];
        for (size_t i = 0; i < raw_n; i++) b[i] = (uint8_t)i;
        weft__raw_key(task, version, b, raw_n, key);
        weft__hex(key, 16, hex);
        free(b);
        return 0;
    }
    weft_args *a = weft_args_new();
    int rc = 0;
    char spec_copy[4096];
    snprintf(spec_copy, sizeof spec_copy, "%s", args);
    for (char *s = strtok(args, ";"); s && !rc; s = strtok(NULL, ";"))
        rc = add_arg(a, trim(s));
    if (!rc) rc = weft_memory_key(m, &def, a, NULL, hex);
    /* the golden cache holds the small calls without a tolerance (tolerant calls share
     * keys with other lines on purpose) */
    if (!rc && golden && !strchr(spec_copy, '~') && weft__args_encoded_size(a) <= 16384) {
        weft_memory_set_version(golden, task, version);
        weft_bytes enc, got;
        weft_args_encode(a, &enc);
        if (golden_write)
            rc = weft_memory_refresh(golden, &def, a, &got);
        else
            rc = weft_memory_get(golden, &def, a, &got);
        if (!rc && (got.size != enc.size || memcmp(got.data, enc.data, enc.size) != 0)) rc = WEFT_ECORRUPT;
        if (rc) fprintf(stderr, "golden cache: %s %s: %s\n", task, hex, weft_error_name(rc));
        golden_bad += rc != 0;
        golden_ok += rc == 0;
        weft_bytes_free(&enc, 1);
        weft_bytes_free(&got, 1);
        rc = 0;
    }
    weft_args_free(a);
    while (n_keep) free(keep[--n_keep]);
    return rc;
}

int main(int argc, char **argv) {
    int write = argc > 1 && !strcmp(argv[1], "--write");
    if (argc < 2 + write || argc > 3 + write) {
        fprintf(stderr, "usage: check_keys [--write] memory_keys.txt [golden-cache]\n");
        return 2;
    }
    const char *path = argv[1 + write];
    if (argc == 3 + write) {
        weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
        o.debug = WEFT_NONE;
        golden_write = write;
        if (weft_memory_open(&golden, argv[2 + write], &o)) {
            fprintf(stderr, "%s\n", weft_last_error()->message);
            return 2;
        }
        if (write) weft_memory_clear(golden, NULL);
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 2;
    }
    static char lines[512][4096];
    int n = 0, bad = 0, checked = 0;
    while (n < 512 && fgets(lines[n], sizeof lines[n], f)) n++;
    fclose(f);
    FILE *out = write ? fopen(path, "w") : NULL;
    for (int i = 0; i < n; i++) {
        char line[4096], *field[5];
        int k = 0;
        memcpy(line, lines[i], sizeof line);
        if (line[0] == '#' || !trim(line)[0]) {
            if (out) fputs(lines[i], out);
            continue;
        }
        for (char *p = line; k < 5; k++) {
            field[k] = p;
            char *bar = strchr(p, '|');
            if (!bar) break;
            *bar = '\0';
            p = bar + 1;
        }
        if (k < 4) {
            fprintf(stderr, "line %d: expected 5 fields\n", i + 1);
            return 2;
        }
        weft_memory *m;
        if (weft_memory_open(&m, "memory:", NULL)) return 2;
        char hex[33] = "", args[4096];
        snprintf(args, sizeof args, "%s", trim(field[2]));
        if (key_of(m, trim(field[0]), trim(field[1]), args, trim(field[3]), hex)) {
            fprintf(stderr, "line %d: %s\n", i + 1, weft_last_error()->message);
            bad++;
        }
        weft_memory_close(m);
        checked++;
        if (out) {
            char *cut = strrchr(lines[i], '|');
            fprintf(out, "%.*s| %s\n", (int)(cut - lines[i]), lines[i], hex);
        } else if (strcmp(trim(field[4]), hex) != 0) {
            fprintf(stderr, "line %d: key %s, expected %s\n", i + 1, hex, trim(field[4]));
            bad++;
        }
    }
    if (out) fclose(out);
    printf("%d key vectors %s, %d bad (%s)\n", checked, write ? "written" : "checked", bad, weft__hash_impl());
    if (golden) {
        printf("golden cache: %d entries %s, %d bad\n", golden_ok, write ? "written" : "read back", golden_bad);
        weft_memory_close(golden);
        if (write) { /* the shared counter of this process's hot table is not part of it */
            char gen[4096];
            snprintf(gen, sizeof gen, "%s/.weft-generation", argv[2 + write]);
            remove(gen);
        }
    }
    return bad || golden_bad ? 1 : 0;
}
