/* WEFT_DEBUG: a journal of calls (per-argument fingerprints, signatures, small values
 * and, up to a size limit, the whole encoding) and the explanation of a miss: which
 * arguments differ from the nearest earlier call of the task, and how.
 *
 * The nearest call is found through an inverted index: every journaled argument posts
 * (task, name, fingerprint) and, for float arrays, (task, name, band, band signature);
 * a new call collects the records sharing its postings and scores them (an equal
 * argument counts as much as all bands of an array). Nothing is scanned but postings.
 *
 * On disk the journal is CACHE/.journal/<task>/<time>-<key>.wjr, one file per call
 * (misses, and hits of keys not journaled yet), so `weft cache diff` explains a miss
 * made by another process. */
#include "store.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEAR_MISS_REL 1e-9
#define N_BUCKETS 4096
#define MAX_RECORDS 4096 /* per process; the oldest are forgotten (files stay) */
#define INLINE_MAX 256
#define KEEP_FILES 1000 /* journal files kept per task on disk: the newest */

typedef struct jarg {
    char *name;
    weft_arg_type type;
    int ndim;
    uint64_t shape[WEFT_ARGS_MAX_NDIM];
    uint64_t size;
    uint8_t fp[16];
    int has_sig;
    uint64_t sig[WEFT__LSH_BANDS];
    unsigned char *value; /* payload when size <= INLINE_MAX */
} jarg;

typedef struct jrec {
    char *task;
    char *version;
    uint8_t key[16];
    int64_t time_ns;
    int hit;
    size_t n_args;
    jarg *args;
    char *path;         /* disk: the record file (encoding at enc_off) */
    uint64_t enc_off;   /* 0: no encoding stored */
    unsigned char *enc; /* in-memory journal: the encoding, when small enough */
    size_t enc_size;
    int alive;
} jrec;

typedef struct posting {
    uint64_t h;
    uint32_t rec;
    struct posting *next;
} posting;

struct weft__journal {
    char *dir;
    int64_t max_enc;
    weft_plat_mutex lock;
    jrec *recs;
    size_t n, cap;
    posting *buckets[N_BUCKETS];
    char **loaded;
    size_t n_loaded;
};

/* ---- records */

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void rec_free(jrec *r) {
    for (size_t i = 0; i < r->n_args; i++) {
        free(r->args[i].name);
        free(r->args[i].value);
    }
    free(r->args);
    free(r->task);
    free(r->version);
    free(r->path);
    free(r->enc);
    memset(r, 0, sizeof *r);
}

weft__journal *weft__journal_open(const char *dir, int64_t max_encoding_bytes) {
    weft__journal *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    if (dir && !(j->dir = dup_n(dir, strlen(dir)))) {
        free(j);
        return NULL;
    }
    j->max_enc = max_encoding_bytes;
    weft_plat_mutex_init(&j->lock);
    return j;
}

void weft__journal_close(weft__journal *j) {
    if (!j) return;
    for (size_t i = 0; i < j->n; i++) rec_free(&j->recs[i]);
    free(j->recs);
    for (int b = 0; b < N_BUCKETS; b++)
        for (posting *p = j->buckets[b], *next; p; p = next) {
            next = p->next;
            free(p);
        }
    for (size_t i = 0; i < j->n_loaded; i++) free(j->loaded[i]);
    free(j->loaded);
    free(j->dir);
    weft_plat_mutex_destroy(&j->lock);
    free(j);
}

/* ---- the index */

static uint64_t post_hash(const char *task, const char *name, uint64_t kind, const void *v, size_t n) {
    uint64_t h[4] = {weft__hash64(task, strlen(task)), weft__hash64(name, strlen(name)), kind,
                     weft__hash64(v, n)};
    return weft__hash64(h, sizeof h);
}

static void post(weft__journal *j, uint64_t h, uint32_t rec) {
    posting *p = malloc(sizeof *p);
    if (!p) return;
    p->h = h;
    p->rec = rec;
    p->next = j->buckets[h % N_BUCKETS];
    j->buckets[h % N_BUCKETS] = p;
}

static uint64_t key_hash(const char *task, const uint8_t key[16]) {
    return post_hash(task, "", 1, key, 16);
}

static void index_rec(weft__journal *j, uint32_t id) {
    const jrec *r = &j->recs[id];
    post(j, key_hash(r->task, r->key), id);
    for (size_t i = 0; i < r->n_args; i++) {
        const jarg *a = &r->args[i];
        post(j, post_hash(r->task, a->name, 2, a->fp, 16), id);
        for (int b = 0; a->has_sig && b < WEFT__LSH_BANDS; b++) {
            uint64_t v[2] = {(uint64_t)b, a->sig[b]};
            post(j, post_hash(r->task, a->name, 3, v, sizeof v), id);
        }
    }
}

static int key_known(weft__journal *j, const char *task, const uint8_t key[16]) {
    uint64_t h = key_hash(task, key);
    for (posting *p = j->buckets[h % N_BUCKETS]; p; p = p->next)
        if (p->h == h && j->recs[p->rec].alive && memcmp(j->recs[p->rec].key, key, 16) == 0 &&
            strcmp(j->recs[p->rec].task, task) == 0)
            return 1;
    return 0;
}

/* The best-scoring live record of `r`'s task older than `before_ns`, other than
 * `self`; -1 when no record shares a posting (then the newest one of the task). */
static long nearest(weft__journal *j, const jrec *r, int64_t before_ns, long self) {
    if (j->n == 0) return -1;
    int *score = calloc(j->n, sizeof *score);
    if (!score) return -1;
    for (size_t i = 0; i < r->n_args; i++) {
        const jarg *a = &r->args[i];
        uint64_t hs[1 + WEFT__LSH_BANDS];
        int weights[1 + WEFT__LSH_BANDS], k = 0;
        /* an equal scalar scores 1, an array scores up to 4 (by bands shared): arrays
         * carry most of a call's identity */
        hs[k] = post_hash(r->task, a->name, 2, a->fp, 16);
        weights[k++] = a->has_sig ? 4 * WEFT__LSH_BANDS : WEFT__LSH_BANDS;
        for (int b = 0; a->has_sig && b < WEFT__LSH_BANDS; b++) {
            uint64_t v[2] = {(uint64_t)b, a->sig[b]};
            hs[k] = post_hash(r->task, a->name, 3, v, sizeof v);
            weights[k++] = 4;
        }
        for (int q = 0; q < k; q++)
            for (posting *p = j->buckets[hs[q] % N_BUCKETS]; p; p = p->next)
                if (p->h == hs[q]) score[p->rec] += weights[q];
    }
    long best = -1, newest = -1;
    for (size_t i = 0; i < j->n; i++) {
        const jrec *c = &j->recs[i];
        if ((long)i == self || !c->alive || c->time_ns >= before_ns || strcmp(c->task, r->task) != 0) continue;
        if (newest < 0 || c->time_ns >= j->recs[newest].time_ns) newest = (long)i;
        if (score[i] > 0 && (best < 0 || score[i] > score[best] ||
                             (score[i] == score[best] && c->time_ns >= j->recs[best].time_ns)))
            best = (long)i;
    }
    free(score);
    return best >= 0 ? best : newest;
}

/* ---- building a record from a call */

static int summarize(jrec *r, const char *task, const char *version, const uint8_t key[16],
                     const weft_args *a, const uint8_t (*fps)[16], int hit) {
    memset(r, 0, sizeof *r);
    r->task = dup_n(task, strlen(task));
    r->version = dup_n(version, strlen(version));
    r->args = calloc(a->n ? a->n : 1, sizeof *r->args);
    if (!r->task || !r->version || !r->args) return -1;
    memcpy(r->key, key, 16);
    r->time_ns = weft_plat_wall_ns();
    r->hit = hit;
    r->alive = 1;
    for (size_t i = 0; i < a->n; i++) {
        const weft__arg *x = &a->v[i];
        jarg *y = &r->args[r->n_args++];
        if (!(y->name = dup_n(x->name, x->name_len))) return -1;
        y->type = x->type;
        y->ndim = x->ndim;
        memcpy(y->shape, x->shape, sizeof y->shape);
        y->size = x->size;
        memcpy(y->fp, fps[i], 16);
        if (x->type == WEFT_ARG_F64_ARRAY || x->type == WEFT_ARG_F32_ARRAY) {
            y->has_sig = 1;
            weft__lsh_signature(x, y->sig);
        }
        if (x->size <= INLINE_MAX) {
            if (!(y->value = malloc(x->size ? x->size : 1))) return -1;
            if (x->size) memcpy(y->value, weft__arg_data(x), x->size);
        }
    }
    return 0;
}

/* ---- the on-disk form: "WFJ1", u32 summary size, summary, then the encoding */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
    int bad;
} buf;

static void put(buf *b, const void *v, size_t n) {
    if (b->bad) return;
    if (b->n + n > b->cap) {
        size_t cap = 2 * (b->n + n) + 256;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->bad = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, v, n);
    b->n += n;
}
static void put_u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(buf *b, const char *s, size_t n) {
    uint16_t len = (uint16_t)n;
    put(b, &len, 2);
    put(b, s, n);
}

static void serialize(buf *b, const jrec *r) {
    put(b, "WFJ1\0\0\0\0", 8);
    put_u64(b, (uint64_t)r->time_ns);
    put_u64(b, (uint64_t)r->hit);
    put(b, r->key, 16);
    put_str(b, r->version, strlen(r->version));
    put_u64(b, r->n_args);
    for (size_t i = 0; i < r->n_args; i++) {
        const jarg *a = &r->args[i];
        put_str(b, a->name, strlen(a->name));
        unsigned char t[4] = {(unsigned char)a->type, (unsigned char)a->ndim, (unsigned char)a->has_sig, a->value != NULL};
        put(b, t, 4);
        put_u64(b, a->size);
        put(b, a->shape, 8 * (size_t)a->ndim);
        put(b, a->fp, 16);
        if (a->has_sig) put(b, a->sig, sizeof a->sig);
        if (a->value) put(b, a->value, a->size);
    }
    uint32_t n = (uint32_t)b->n;
    if (!b->bad) memcpy(b->p + 4, &n, 4);
}

typedef struct rd {
    const unsigned char *p, *end;
    int bad;
} rd;

static void take(rd *r, void *v, size_t n) {
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        memset(v, 0, n);
        return;
    }
    memcpy(v, r->p, n);
    r->p += n;
}
static uint64_t take_u64(rd *r) {
    uint64_t v;
    take(r, &v, 8);
    return v;
}
static char *take_str(rd *r) {
    uint16_t n;
    take(r, &n, 2);
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    char *s = dup_n((const char *)r->p, n);
    r->p += n;
    return s;
}

static int deserialize(jrec *out, const char *task, const unsigned char *p, size_t n) {
    memset(out, 0, sizeof *out);
    rd r = {p + 8, p + n, 0};
    if (n < 8 || memcmp(p, "WFJ1", 4) != 0) return -1;
    out->time_ns = (int64_t)take_u64(&r);
    out->hit = (int)take_u64(&r);
    take(&r, out->key, 16);
    out->version = take_str(&r);
    uint64_t n_args = take_u64(&r);
    if (r.bad || n_args > n / 16) return -1;
    out->args = calloc(n_args ? n_args : 1, sizeof *out->args);
    out->task = dup_n(task, strlen(task));
    if (!out->args || !out->task || !out->version) return -1;
    for (uint64_t i = 0; i < n_args && !r.bad; i++) {
        jarg *a = &out->args[out->n_args++];
        a->name = take_str(&r);
        unsigned char t[4];
        take(&r, t, 4);
        a->type = (weft_arg_type)t[0];
        a->ndim = t[1] <= WEFT_ARGS_MAX_NDIM ? t[1] : 0;
        a->has_sig = t[2];
        a->size = take_u64(&r);
        /* a record is input like any file: a scalar's value has its type's size */
        if (a->type < WEFT_ARG_I64 || a->type > WEFT_ARG_F64_ARRAY || t[1] > WEFT_ARGS_MAX_NDIM ||
            (t[3] && (((a->type == WEFT_ARG_I64 || a->type == WEFT_ARG_F64) && a->size != 8) ||
                      (a->type == WEFT_ARG_BOOL && a->size != 1))))
            r.bad = 1;
        take(&r, a->shape, 8 * (size_t)a->ndim);
        take(&r, a->fp, 16);
        if (a->has_sig) take(&r, a->sig, sizeof a->sig);
        if (t[3] && a->size <= INLINE_MAX) {
            a->value = malloc(a->size ? a->size : 1);
            if (a->value) take(&r, a->value, a->size);
        }
        if (!a->name) r.bad = 1;
    }
    out->alive = 1;
    return r.bad ? -1 : 0;
}

static int task_dir(const weft__journal *j, const char *task, char *out, size_t size) {
    char folder[1024];
    if (!j->dir || !weft__disk_escape(task, folder, sizeof folder)) return -1;
    return (size_t)snprintf(out, size, "%s/%s", j->dir, folder) < size ? 0 : -1;
}

static int add_rec(weft__journal *j, jrec *r) {
    if (j->n == MAX_RECORDS) { /* forget the oldest half: keeps the index simple */
        for (size_t i = 0; i < j->n; i++) j->recs[i].alive = i >= MAX_RECORDS / 2;
    }
    if (j->n == j->cap) {
        size_t cap = j->cap ? 2 * j->cap : 64;
        jrec *v = realloc(j->recs, cap * sizeof *v);
        if (!v) return -1;
        j->recs = v;
        j->cap = cap;
    }
    j->recs[j->n] = *r;
    index_rec(j, (uint32_t)j->n);
    j->n++;
    return 0;
}

typedef struct load_ctx {
    weft__journal *j;
    const char *task, *dir;
} load_ctx;

static int load_one(const char *name, int is_dir, void *user) {
    load_ctx *c = user;
    size_t len = strlen(name);
    if (is_dir || len < 5 || strcmp(name + len - 4, ".wjr") != 0) return 0;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", c->dir, name) >= sizeof path) return 0;
    int fd = weft_plat_open_read(path);
    if (fd < 0) return 0;
    unsigned char head[8];
    jrec r;
    memset(&r, 0, sizeof r);
    int ok = 0;
    if (weft_plat_read(fd, head, 8) == 8 && memcmp(head, "WFJ1", 4) == 0) {
        uint32_t n;
        memcpy(&n, head + 4, 4);
        weft_plat_file_info fst;
        /* the summary size is checked against the file before it is believed */
        int fits = weft_plat_fstat(fd, &fst) == 0 && (int64_t)n <= fst.size;
        unsigned char *p = fits && n >= 8 && n < (64u << 20) ? malloc(n) : NULL;
        if (p) {
            memcpy(p, head, 8);
            if (weft_plat_read(fd, p + 8, n - 8) == (int64_t)(n - 8) && deserialize(&r, c->task, p, n) == 0) {
                weft_plat_file_info st;
                r.path = dup_n(path, strlen(path));
                if (weft_plat_fstat(fd, &st) == 0 && st.size > (int64_t)n) {
                    r.enc_off = n;
                    r.enc_size = (size_t)(st.size - n);
                }
                ok = r.path && add_rec(c->j, &r) == 0;
            }
            if (!ok) rec_free(&r);
            free(p);
        }
    }
    weft_plat_close(fd);
    return 0;
}

typedef struct names {
    char **v;
    size_t n, cap;
} names;

static int collect_name(const char *name, int is_dir, void *user) {
    names *ns = user;
    size_t len = strlen(name);
    if (is_dir || len < 5 || strcmp(name + len - 4, ".wjr") != 0) return 0;
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? 2 * ns->cap : 256;
        char **v = realloc(ns->v, cap * sizeof *v);
        if (!v) return 0;
        ns->v = v;
        ns->cap = cap;
    }
    if ((ns->v[ns->n] = dup_n(name, len))) ns->n++;
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keep the newest KEEP_FILES records of a task (names begin with the time). */
static void trim_files(const char *dir) {
    names ns = {0};
    weft_plat_list_dir(dir, collect_name, &ns);
    if (ns.n > KEEP_FILES) {
        qsort(ns.v, ns.n, sizeof *ns.v, by_name);
        for (size_t i = 0; i < ns.n - KEEP_FILES; i++) {
            char path[4096];
            if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, ns.v[i]) < sizeof path) weft_plat_unlink(path);
        }
    }
    for (size_t i = 0; i < ns.n; i++) free(ns.v[i]);
    free(ns.v);
}

/* Load a task's records from disk once per process (lock held), after trimming them. */
static void load_task(weft__journal *j, const char *task) {
    for (size_t i = 0; i < j->n_loaded; i++)
        if (strcmp(j->loaded[i], task) == 0) return;
    char **v = realloc(j->loaded, (j->n_loaded + 1) * sizeof *v);
    if (!v) return;
    j->loaded = v;
    if (!(v[j->n_loaded] = dup_n(task, strlen(task)))) return;
    j->n_loaded++;
    char dir[4096];
    if (task_dir(j, task, dir, sizeof dir)) return;
    trim_files(dir);
    load_ctx c = {j, task, dir};
    weft_plat_list_dir(dir, load_one, &c);
}

static void write_rec(weft__journal *j, jrec *r, const weft_args *a) {
    char dir[4096], path[4096];
    if (task_dir(j, r->task, dir, sizeof dir)) return;
    weft_plat_mkdir(j->dir);
    weft_plat_mkdir(dir);
    char hex[33];
    weft__hex(r->key, 16, hex);
    if ((size_t)snprintf(path, sizeof path, "%s/%020lld-%s-%c.wjr", dir, (long long)r->time_ns, hex,
                         r->hit ? 'h' : 'm') >= sizeof path)
        return;
    buf b = {0};
    serialize(&b, r);
    size_t enc = weft__args_encoded_size(a);
    size_t summary = b.n;
    if (!b.bad && (int64_t)enc <= j->max_enc) {
        unsigned char *e = malloc(enc);
        if (e) {
            weft__args_encode_into(a, e);
            put(&b, e, enc);
            free(e);
        }
    }
    if (!b.bad && weft__disk_write_file(path, b.p, b.n, NULL, 0, 0) == 0) {
        r->path = dup_n(path, strlen(path));
        if (b.n > summary) {
            r->enc_off = summary;
            r->enc_size = b.n - summary;
        }
    }
    free(b.p);
}

/* The stored encoding of a record, malloc'd; NULL when none was kept. */
static unsigned char *load_encoding(const jrec *r, size_t *size) {
    if (r->enc) {
        unsigned char *p = malloc(r->enc_size);
        if (p) memcpy(p, r->enc, r->enc_size);
        *size = r->enc_size;
        return p;
    }
    if (!r->path || !r->enc_off) return NULL;
    int fd = weft_plat_open_read(r->path);
    if (fd < 0) return NULL;
    weft_plat_file_info st;
    unsigned char *p = NULL;
    if (weft_plat_fstat(fd, &st) == 0 && st.size > (int64_t)r->enc_off) {
        size_t n = (size_t)(st.size - (int64_t)r->enc_off);
        unsigned char *all = malloc((size_t)st.size);
        if (all && weft_plat_read(fd, all, (size_t)st.size) == st.size) {
            p = malloc(n);
            if (p) memcpy(p, all + r->enc_off, n);
            *size = n;
        }
        free(all);
    }
    weft_plat_close(fd);
    return p;
}

/* ---- explaining */

typedef struct out {
    char *p;
    size_t size, n;
} out;

static void say(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(out *o, const char *fmt, ...) {
    if (o->n >= o->size) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->p + o->n, o->size - o->n, fmt, ap);
    va_end(ap);
    if (k > 0) o->n += (size_t)k < o->size - o->n ? (size_t)k : o->size - o->n - 1;
}

static void say_shape(out *o, const uint64_t *shape, int ndim) {
    say(o, "[");
    for (int d = 0; d < ndim; d++) say(o, "%s%llu", d ? ", " : "", (unsigned long long)shape[d]);
    say(o, "]");
}

static void say_value(out *o, weft_arg_type t, const unsigned char *v, uint64_t size) {
    if (!v) {
        say(o, "(%llu bytes)", (unsigned long long)size);
        return;
    }
    int64_t i;
    double f;
    switch (t) {
    case WEFT_ARG_I64:
        memcpy(&i, v, 8);
        say(o, "%lld", (long long)i);
        break;
    case WEFT_ARG_F64:
        memcpy(&f, v, 8);
        say(o, "%.17g", f);
        break;
    case WEFT_ARG_BOOL: say(o, "%s", v[0] ? "true" : "false"); break;
    case WEFT_ARG_STRING: say(o, "\"%.*s%s\"", size > 60 ? 60 : (int)size, (const char *)v, size > 60 ? "..." : ""); break;
    default: say(o, "(%llu bytes)", (unsigned long long)size);
    }
}

static double elem_f(weft_arg_type t, const unsigned char *p, size_t i) {
    switch (t) {
    case WEFT_ARG_F64_ARRAY: {
        double d;
        memcpy(&d, p + 8 * i, 8);
        return d;
    }
    case WEFT_ARG_F32_ARRAY: {
        float f;
        memcpy(&f, p + 4 * i, 4);
        return f;
    }
    case WEFT_ARG_I64_ARRAY: {
        int64_t v;
        memcpy(&v, p + 8 * i, 8);
        return (double)v;
    }
    case WEFT_ARG_I32_ARRAY: {
        int32_t v;
        memcpy(&v, p + 4 * i, 4);
        return v;
    }
    default: return p[i];
    }
}

/* Compare two payloads of one type element by element. */
static void compare_data(out *o, weft_arg_type t, const unsigned char *a, const unsigned char *b,
                         uint64_t size, double *max_rel) {
    size_t es = weft__arg_elem_size(t), n = (size_t)(size / es), differ = 0, first = 0;
    double max_abs = 0, mrel = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(a + i * es, b + i * es, es) == 0) continue;
        if (!differ++) first = i;
        double x = elem_f(t, a, i), y = elem_f(t, b, i), d = fabs(x - y);
        double scale = fmax(fabs(x), fabs(y));
        double rel = scale > 0 ? d / scale : (d > 0 ? INFINITY : 0);
        if (isnan(d)) d = INFINITY, rel = INFINITY;
        if (d > max_abs) max_abs = d;
        if (rel > mrel) mrel = rel;
    }
    *max_rel = mrel;
    if (t == WEFT_ARG_BYTES) { /* raw bytes (a plain struct): where they differ is the news */
        size_t last = first;
        for (size_t i = first; i < n; i++)
            if (a[i] != b[i]) last = i;
        say(o, "%zu of %zu bytes differ, at offsets %zu..%zu", differ, n, first, last);
        return;
    }
    say(o, "%zu of %zu elements differ, first at index %zu, max abs diff %.3g, max rel diff %.3g",
        differ, n, first, max_abs, mrel);
}

static const weft__arg *find_arg(const weft_args *a, const char *name) {
    for (size_t i = 0; a && i < a->n; i++)
        if (strcmp(a->v[i].name, name) == 0) return &a->v[i];
    return NULL;
}

static const jarg *find_jarg(const jrec *r, const char *name) {
    for (size_t i = 0; i < r->n_args; i++)
        if (strcmp(r->args[i].name, name) == 0) return &r->args[i];
    return NULL;
}

/* Write the explanation of `now` (a miss) against `old`. The views, when given, hold
 * the full data of each side. */
static void explain(out *o, const jrec *now, const jrec *old, const weft_args *now_v,
                    const weft_args *old_v) {
    char hex_now[33], hex_old[33];
    weft__hex(now->key, 16, hex_now);
    hex_now[12] = '\0';
    say(o, "weft: cache miss for '%s' (key %s...)", now->task, hex_now);
    if (!old) {
        say(o, ": first call of this task in the journal\n");
        return;
    }
    weft__hex(old->key, 16, hex_old);
    hex_old[12] = '\0';
    double ago = (double)weft__sub_sat(now->time_ns, old->time_ns) * 1e-9;
    say(o, "; nearest earlier call %.1f s ago (key %s...)", ago, hex_old);
    int n_diff = 0, all_tiny = 1;
    size_t mark = o->n;
    say(o, ":\n");
    for (int side = 0; side < 2; side++) {
        const jrec *r = side ? old : now;
        for (size_t i = 0; i < r->n_args; i++) {
            const jarg *x = &r->args[i];
            const jarg *y = find_jarg(side ? now : old, x->name);
            if (side && y) continue; /* both sides: done in the first pass */
            if (!y) {
                n_diff++;
                all_tiny = 0;
                say(o, "  %s: %s\n", x->name, side ? "only in the earlier call" : "new (not in the earlier call)");
                continue;
            }
            const jarg *nw = x, *ol = y;
            if (memcmp(nw->fp, ol->fp, 16) == 0 && nw->type == ol->type && nw->ndim == ol->ndim &&
                memcmp(nw->shape, ol->shape, 8 * (size_t)nw->ndim) == 0)
                continue;
            n_diff++;
            if (nw->type != ol->type) {
                all_tiny = 0;
                say(o, "  %s: type %s -> %s\n", x->name, weft__arg_type_name(ol->type), weft__arg_type_name(nw->type));
                continue;
            }
            if (nw->ndim != ol->ndim || memcmp(nw->shape, ol->shape, 8 * (size_t)nw->ndim) != 0) {
                all_tiny = 0;
                say(o, "  %s: shape ", x->name);
                say_shape(o, ol->shape, ol->ndim);
                say(o, " -> ");
                say_shape(o, nw->shape, nw->ndim);
                say(o, "\n");
                continue;
            }
            if (weft__arg_is_array(nw->type) || nw->type == WEFT_ARG_BYTES) {
                const weft__arg *a = find_arg(now_v, x->name), *b = find_arg(old_v, x->name);
                const char *tn = weft__arg_type_name(nw->type);
                say(o, "  %s: %.*s", x->name, (int)strcspn(tn, "["), tn);
                if (weft__arg_is_array(nw->type)) say_shape(o, nw->shape, nw->ndim);
                say(o, ": ");
                if (a && b && a->size == b->size) {
                    double rel;
                    compare_data(o, nw->type, weft__arg_data(a), weft__arg_data(b), a->size, &rel);
                    if (!(rel <= NEAR_MISS_REL) || !weft__arg_is_float(nw->type)) all_tiny = 0;
                } else {
                    all_tiny = 0;
                    say(o, "contents differ (the earlier data was not journaled: WEFT_DEBUG_MAX_BYTES)");
                }
                say(o, "\n");
                continue;
            }
            say(o, "  %s: ", x->name);
            say_value(o, nw->type, ol->value, ol->size);
            say(o, " -> ");
            say_value(o, nw->type, nw->value, nw->size);
            if (nw->type == WEFT_ARG_F64 && ol->value && nw->value) {
                double p, q;
                memcpy(&p, ol->value, 8);
                memcpy(&q, nw->value, 8);
                double rel = fabs(p - q) / fmax(fabs(p), fabs(q));
                say(o, " (rel diff %.3g)", rel);
                if (!(rel <= NEAR_MISS_REL)) all_tiny = 0;
            } else
                all_tiny = 0;
            say(o, "\n");
        }
    }
    if (n_diff == 0) {
        o->n = mark;
        o->p[o->n] = '\0';
        if (strcmp(now->version, old->version) != 0)
            say(o, ": same arguments, but the task version changed: \"%s\" -> \"%s\"\n", old->version, now->version);
        else
            say(o, ": same arguments; that entry is gone (cleared, evicted, expired, corrupt) or an ignored argument changed\n");
        return;
    }
    if (strcmp(now->version, old->version) != 0)
        say(o, "  (task version also changed: \"%s\" -> \"%s\")\n", old->version, now->version);
    if (all_tiny)
        say(o, "  near miss: every difference is at most %g relative; weft_args_tolerance() would make such calls share an entry\n", NEAR_MISS_REL);
}

void weft__journal_record(weft__journal *j, const char *task, const char *version,
                          const uint8_t key[16], const weft_args *a, const uint8_t (*fps)[16],
                          int hit, char *text, size_t size) {
    if (size) text[0] = '\0';
    jrec r;
    if (summarize(&r, task, version, key, a, fps, hit)) {
        rec_free(&r);
        return;
    }
    weft_plat_mutex_lock(&j->lock);
    if (j->dir) load_task(j, task);
    if (hit && key_known(j, task, key)) {
        weft_plat_mutex_unlock(&j->lock);
        rec_free(&r);
        return;
    }
    if (!hit && size) {
        long near = nearest(j, &r, r.time_ns + 1, -1);
        weft_args old_view;
        memset(&old_view, 0, sizeof old_view);
        unsigned char *old_enc = NULL;
        size_t old_size = 0;
        if (near >= 0) old_enc = load_encoding(&j->recs[near], &old_size);
        int have_old = old_enc && weft__args_view(old_enc, old_size, &old_view) == 0;
        out o = {text, size, 0};
        explain(&o, &r, near >= 0 ? &j->recs[near] : NULL, a, have_old ? &old_view : NULL);
        if (have_old) weft__args_view_free(&old_view);
        free(old_enc);
    }
    if (j->dir)
        write_rec(j, &r, a);
    else if ((int64_t)weft__args_encoded_size(a) <= j->max_enc) {
        r.enc_size = weft__args_encoded_size(a);
        if ((r.enc = malloc(r.enc_size))) weft__args_encode_into(a, r.enc);
    }
    if (add_rec(j, &r)) rec_free(&r);
    weft_plat_mutex_unlock(&j->lock);
}

int weft__journal_explain_latest(weft__journal *j, const char *task, char *text, size_t size) {
    weft_plat_mutex_lock(&j->lock);
    if (j->dir) load_task(j, task);
    long latest = -1;
    for (size_t i = 0; i < j->n; i++)
        if (j->recs[i].alive && !j->recs[i].hit && strcmp(j->recs[i].task, task) == 0 &&
            (latest < 0 || j->recs[i].time_ns > j->recs[latest].time_ns))
            latest = (long)i;
    if (latest < 0) {
        weft_plat_mutex_unlock(&j->lock);
        return WEFT_ENOTFOUND;
    }
    const jrec *r = &j->recs[latest];
    long near = nearest(j, r, r->time_ns, latest);
    weft_args nv, ov;
    memset(&nv, 0, sizeof nv);
    memset(&ov, 0, sizeof ov);
    size_t ns = 0, os = 0;
    unsigned char *ne = load_encoding(r, &ns), *oe = near >= 0 ? load_encoding(&j->recs[near], &os) : NULL;
    int have_n = ne && weft__args_view(ne, ns, &nv) == 0, have_o = oe && weft__args_view(oe, os, &ov) == 0;
    out o = {text, size, 0};
    if (size) text[0] = '\0';
    explain(&o, r, near >= 0 ? &j->recs[near] : NULL, have_n ? &nv : NULL, have_o ? &ov : NULL);
    if (have_n) weft__args_view_free(&nv);
    if (have_o) weft__args_view_free(&ov);
    free(ne);
    free(oe);
    weft_plat_mutex_unlock(&j->lock);
    return 0;
}
