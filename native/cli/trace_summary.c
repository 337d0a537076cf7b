/* weft trace summary FILE: what a user opens a trace to learn, as text. Reads the
 * Chrome trace-event JSON that weft writes (C, processes, JS) with a small JSON parser:
 * busy share of each worker's track, the critical path through nested maps, and the
 * longest tasks. */
#include "trace_summary.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a JSON value tree, enough for trace files */

typedef enum { J_NULL,
               J_BOOL,
               J_NUM,
               J_STR,
               J_ARR,
               J_OBJ } jtype;
typedef struct jv {
    jtype type;
    double num;
    char *str;       /* J_STR */
    struct jv *kids; /* J_ARR, J_OBJ: n values */
    char **keys;     /* J_OBJ: n keys */
    size_t n;
} jv;

typedef struct parser {
    const char *s, *end;
    const char *error;
} parser;

static void skip_ws(parser *p) {
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\n' || *p->s == '\r' || *p->s == '\t')) p->s++;
}

static int parse_value(parser *p, jv *v, int depth);

static char *parse_string(parser *p) {
    if (p->s >= p->end || *p->s != '"') return p->error = "a string was expected", NULL;
    p->s++;
    size_t cap = 16, len = 0;
    char *out = malloc(cap);
    while (out && p->s < p->end && *p->s != '"') {
        char c = *p->s++;
        if (c == '\\') {
            if (p->s >= p->end) break;
            char e = *p->s++;
            c = e == 'n' ? '\n' : e == 't' ? '\t'
                              : e == 'r'   ? '\r'
                              : e == 'b'   ? '\b'
                              : e == 'f'   ? '\f'
                                           : e;
            if (e == 'u') { /* names are ASCII; anything else becomes '?' */
                if (p->end - p->s < 4) break;
                unsigned code = (unsigned)strtoul((char[5]){p->s[0], p->s[1], p->s[2], p->s[3], 0}, NULL, 16);
                c = code < 0x80 ? (char)code : '?';
                p->s += 4;
            }
        }
        if (len + 2 > cap) {
            char *grown = realloc(out, cap *= 2);
            if (!grown) {
                free(out);
                return p->error = "out of memory", NULL;
            }
            out = grown;
        }
        out[len++] = c;
    }
    if (!out) return p->error = "out of memory", NULL;
    if (p->s >= p->end) {
        free(out);
        return p->error = "a string does not end", NULL;
    }
    p->s++;
    out[len] = '\0';
    return out;
}

static int push(jv *v, size_t *cap) {
    if (v->n < *cap) return 0;
    *cap = *cap ? *cap * 2 : 8;
    jv *k = realloc(v->kids, *cap * sizeof *k);
    if (!k) return -1;
    v->kids = k;
    if (v->type == J_OBJ) {
        char **keys = realloc(v->keys, *cap * sizeof *keys);
        if (!keys) return -1;
        v->keys = keys;
    }
    return 0;
}

static void jv_free(jv *v);

static int parse_value(parser *p, jv *v, int depth) {
    memset(v, 0, sizeof *v);
    skip_ws(p);
    if (depth > 64) return p->error = "nested too deep", -1;
    if (p->s >= p->end) return p->error = "the file ends early", -1;
    char c = *p->s;
    if (c == '{' || c == '[') {
        v->type = c == '{' ? J_OBJ : J_ARR;
        char close = c == '{' ? '}' : ']';
        size_t cap = 0;
        p->s++;
        skip_ws(p);
        if (p->s < p->end && *p->s == close) return p->s++, 0;
        for (;;) {
            if (push(v, &cap) != 0) return p->error = "out of memory", -1;
            if (v->type == J_OBJ) {
                skip_ws(p);
                char *key = parse_string(p);
                if (!key) return -1;
                v->keys[v->n] = key;
                skip_ws(p);
                if (p->s >= p->end || *p->s++ != ':') return free(key), p->error = "':' was expected", -1;
            }
            if (parse_value(p, &v->kids[v->n], depth + 1) != 0) {
                jv_free(&v->kids[v->n]); /* what the failed value had parsed before the error */
                if (v->type == J_OBJ) free(v->keys[v->n]);
                return -1;
            }
            v->n++;
            skip_ws(p);
            if (p->s < p->end && *p->s == ',') {
                p->s++;
                continue;
            }
            if (p->s < p->end && *p->s == close) return p->s++, 0;
            return p->error = v->type == J_OBJ ? "',' or '}' was expected" : "',' or ']' was expected", -1;
        }
    }
    if (c == '"') {
        v->type = J_STR;
        return (v->str = parse_string(p)) ? 0 : -1;
    }
    static const struct {
        const char *word;
        jtype type;
        double num;
    } words[] = {{"true", J_BOOL, 1}, {"false", J_BOOL, 0}, {"null", J_NULL, 0}};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i].word);
        if ((size_t)(p->end - p->s) >= n && memcmp(p->s, words[i].word, n) == 0) {
            v->type = words[i].type, v->num = words[i].num, p->s += n;
            return 0;
        }
    }
    char *stop;
    errno = 0;
    v->num = strtod(p->s, &stop);
    if (stop == p->s || stop > p->end) return p->error = "a value was expected", -1;
    v->type = J_NUM;
    p->s = stop;
    return 0;
}

static void jv_free(jv *v) {
    for (size_t i = 0; i < v->n; i++) {
        jv_free(&v->kids[i]);
        if (v->type == J_OBJ) free(v->keys[i]);
    }
    free(v->kids), free(v->keys), free(v->str);
}

static const jv *get(const jv *o, const char *key) {
    for (size_t i = 0; o && o->type == J_OBJ && i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0) return &o->kids[i];
    return NULL;
}
static const char *get_str(const jv *o, const char *key) {
    const jv *v = get(o, key);
    return v && v->type == J_STR ? v->str : NULL;
}
static double get_num(const jv *o, const char *key, double fallback) {
    const jv *v = get(o, key);
    return v && v->type == J_NUM ? v->num : fallback;
}

/* ---- the trace as slices */

typedef struct slice {
    const char *name, *cat;
    double pid, tid, ts, dur;
    double call, parent, opened_by, index, level, items;
} slice;

typedef struct track {
    double pid, tid;
    const char *name;
    double busy; /* µs inside batches (their union) */
    size_t batches, tasks;
} track;

static int by_start(const void *a, const void *b) {
    const slice *x = *(slice *const *)a, *y = *(slice *const *)b;
    return x->ts < y->ts ? -1 : x->ts > y->ts;
}
static int by_dur_desc(const void *a, const void *b) {
    const slice *x = *(slice *const *)a, *y = *(slice *const *)b;
    return x->dur > y->dur ? -1 : x->dur < y->dur;
}

static void ms(double us, char *out, size_t size) {
    if (us >= 1e6)
        snprintf(out, size, "%.2f s", us / 1e6);
    else if (us >= 1e3)
        snprintf(out, size, "%.2f ms", us / 1e3);
    else
        snprintf(out, size, "%.0f us", us);
}

static const char *track_name(const track *tracks, size_t n, double pid, double tid) {
    for (size_t i = 0; i < n; i++)
        if (tracks[i].pid == pid && tracks[i].tid == tid) return tracks[i].name ? tracks[i].name : "?";
    return "?";
}

/* The longest slice of `cat` among `all` whose field matches; NULL when none. */
static const slice *longest(slice *all, size_t n, const char *cat, double call, double parent,
                            double opened_by) {
    const slice *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const slice *s = &all[i];
        if (strcmp(s->cat, cat) != 0) continue;
        if (call >= 0 && s->call != call) continue;
        if (parent >= 0 && s->parent != parent) continue;
        if (opened_by >= 0 && s->opened_by != opened_by) continue;
        if (!best || s->dur > best->dur) best = s;
    }
    return best;
}

static int summarize(const jv *events, const char *path) {
    size_t n_ev = events->n, n = 0, n_tracks = 0, n_procs = 0;
    slice *all = calloc(n_ev + 1, sizeof *all);
    track *tracks = calloc(n_ev + 1, sizeof *tracks);
    double *procs = calloc(n_ev + 1, sizeof *procs);
    if (!all || !tracks || !procs) {
        free(all), free(tracks), free(procs);
        fprintf(stderr, "weft: trace summary: out of memory\n");
        return 1;
    }
    double first = -1, last = 0;
    for (size_t i = 0; i < n_ev; i++) {
        const jv *e = &events->kids[i];
        const char *ph = get_str(e, "ph"), *name = get_str(e, "name");
        if (!ph || !name) continue;
        double pid = get_num(e, "pid", 0), tid = get_num(e, "tid", 0);
        size_t k = 0;
        for (; k < n_procs && procs[k] != pid; k++) {
        }
        if (k == n_procs) procs[n_procs++] = pid;
        if (strcmp(ph, "M") == 0) {
            if (strcmp(name, "thread_name") != 0) continue;
            for (k = 0; k < n_tracks && !(tracks[k].pid == pid && tracks[k].tid == tid); k++) {
            }
            if (k == n_tracks) tracks[n_tracks++] = (track){.pid = pid, .tid = tid};
            tracks[k].name = get_str(get(e, "args"), "name");
            continue;
        }
        double ts = get_num(e, "ts", -1), dur = get_num(e, "dur", 0);
        if (ts < 0) continue;
        if (first < 0 || ts < first) first = ts;
        if (ts + dur > last) last = ts + dur;
        if (strcmp(ph, "X") != 0) continue;
        const jv *args = get(e, "args");
        const char *cat = get_str(e, "cat");
        all[n++] = (slice){.name = name, .cat = cat ? cat : "", .pid = pid, .tid = tid, .ts = ts, .dur = dur, .call = get_num(args, "call", -1), .parent = get_num(args, "parent", 0), .opened_by = get_num(args, "opened_by", -1), .index = get_num(args, "index", -1), .level = get_num(args, "level", 0), .items = get_num(args, "items", 0)};
    }
    double span = last - first;
    char a[32], b[32];
    ms(span > 0 ? span : 0, a, sizeof a);
    printf("%s: %zu events, %zu processes, %zu tracks, %s from first to last event\n", path, n_ev, n_procs,
           n_tracks, a);
    if (n == 0) {
        printf("no slices: nothing ran while the trace recorded\n");
        free(all), free(tracks), free(procs);
        return 0;
    }

    /* busy: the union of each track's batch slices (nested batches count once) */
    slice **order = malloc(n * sizeof *order);
    if (!order) return free(all), free(tracks), free(procs), 1;
    for (size_t i = 0; i < n; i++) order[i] = &all[i];
    qsort(order, n, sizeof *order, by_start);
    for (size_t t = 0; t < n_tracks; t++) {
        double covered_to = -1;
        for (size_t i = 0; i < n; i++) {
            const slice *s = order[i];
            if (s->pid != tracks[t].pid || s->tid != tracks[t].tid) continue;
            if (strcmp(s->cat, "task") == 0) tracks[t].tasks++;
            if (strcmp(s->cat, "batch") != 0) continue;
            tracks[t].batches++;
            double end = s->ts + s->dur, from = s->ts > covered_to ? s->ts : covered_to;
            if (end > from) tracks[t].busy += end - from;
            if (end > covered_to) covered_to = end;
        }
    }
    printf("\nbusy per worker (time inside batches, of the %s traced):\n", a);
    printf("  %-10s %-32s %7s %9s %7s\n", "process", "track", "busy", "batches", "tasks");
    for (size_t t = 0; t < n_tracks; t++) {
        if (!tracks[t].batches && !tracks[t].tasks) continue;
        printf("  %-10.0f %-32.32s %6.1f%% %9zu %7zu\n", tracks[t].pid, tracks[t].name ? tracks[t].name : "?",
               span > 0 ? 100.0 * tracks[t].busy / span : 0.0, tracks[t].batches, tracks[t].tasks);
    }

    /* the critical path: the longest top-level call, its longest task, the longest call
     * that task opened, and so on down */
    printf("\ncritical path (the longest call, its longest task, the call that task opened, ...):\n");
    const slice *call = longest(all, n, "call", -1, 0, -1);
    for (int depth = 0; call && depth < 32; depth++) {
        ms(call->dur, a, sizeof a);
        printf("  %*s%-28s %8s  %.0f items, on %s\n", 2 * depth, "", call->name, a, call->items,
               track_name(tracks, n_tracks, call->pid, call->tid));
        const slice *task = longest(all, n, "task", call->call, -1, -1);
        const slice *next = NULL;
        if (task) {
            ms(task->dur, b, sizeof b);
            printf("  %*s%-28s %8s  on %s\n", 2 * depth + 1, "", task->name, b,
                   track_name(tracks, n_tracks, task->pid, task->tid));
            next = longest(all, n, "call", -1, call->call, task->index);
        } else {
            next = longest(all, n, "call", -1, call->call, -1);
        }
        call = next;
    }

    /* the longest tasks (batches where no task was traced one by one) */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].cat, "task") == 0) order[m++] = &all[i];
    const char *what = "tasks";
    if (m == 0) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(all[i].cat, "batch") == 0) order[m++] = &all[i];
        what = "batches (no task was traced one by one: batches were big)";
    }
    qsort(order, m, sizeof *order, by_dur_desc);
    printf("\nlongest %s:\n", what);
    for (size_t i = 0; i < m && i < 10; i++) {
        ms(order[i]->dur, a, sizeof a);
        printf("  %8s  %-28s on %s\n", a, order[i]->name, track_name(tracks, n_tracks, order[i]->pid, order[i]->tid));
    }
    free(order), free(all), free(tracks), free(procs);
    return 0;
}

int weft_cli_trace_summary(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "weft: trace summary: cannot open '%s': %s\n", path, strerror(errno));
        return 1;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    size_t got;
    while (text && (got = fread(text + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *grown = realloc(text, cap *= 2);
            if (!grown) free(text);
            text = grown;
        }
    }
    int read_error = ferror(f);
    fclose(f);
    if (!text || read_error) {
        free(text);
        fprintf(stderr, "weft: trace summary: cannot read '%s'\n", path);
        return 1;
    }
    parser p = {text, text + len, NULL};
    jv root;
    int rc = parse_value(&p, &root, 0);
    if (rc == 0) {
        skip_ws(&p);
        if (p.s != p.end) rc = -1, p.error = "text follows the JSON value";
    }
    if (rc != 0) {
        fprintf(stderr, "weft: trace summary: '%s' is not JSON (%s at byte %zu)\n", path, p.error,
                (size_t)(p.s - text));
        jv_free(&root);
        free(text);
        return 1;
    }
    /* the object form ({"traceEvents": [...]}) or the bare array form */
    const jv *events = root.type == J_ARR ? &root : get(&root, "traceEvents");
    if (!events || events->type != J_ARR) {
        fprintf(stderr, "weft: trace summary: '%s' is JSON but no trace (no traceEvents list)\n", path);
        rc = 1;
    } else {
        rc = summarize(events, path);
    }
    jv_free(&root);
    free(text);
    return rc;
}
