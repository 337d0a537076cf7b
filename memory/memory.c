/* Memory: cached calls of registered tasks on a store (memory/store.h), keyed by XXH3-128
 * over (task, version, arguments); limits with approximate-LRU eviction; the map hook
 * that makes every finished item of a map an entry. */
#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VERSION 256
#define TOUCH_EVERY_NS 60000000000ll /* LRU clock resolution: a minute (a touch is a syscall) */
#define PRUNE_EVERY_WRITES 64
#define COARSE_FILE_TIME_NS 2000000000ll /* age slack of those prunes (see prune) */
#define HOT_SLOTS 1024                   /* the hot table: recently used small values ... */
#define HOT_MAX_VALUE 65536              /* ... of at most this size, so at most 64 MB */
#define GENERATION_FILE ".weft-generation"

/* A value read and verified lately, served again without touching the disk while the
 * cache's generation is unchanged. Every removal or replacement of an entry (clear,
 * prune, expiry, a corrupt entry, a refresh, a version change), in any process, bumps
 * the generation (a counter in a file every process maps), which retires every hot
 * value at once. Stores without a shared mapping (WASI, Emscripten) do without. */
typedef struct hot_slot {
    uint8_t key[16];
    uint64_t task_hash, generation;
    unsigned char *value;
    size_t size;
    int64_t created_ns, compute_ns;
} hot_slot;

typedef struct task_cfg {
    char *name;
    char version[MAX_VERSION];
    char **ignore;
    size_t n_ignore;
    int version_checked;
} task_cfg;

struct weft_memory {
    const weft_store *store;
    void *state;
    char *location;
    weft_memory_options o;
    weft_pool *pool;      /* runs misses outside any map: sequential, on the calling thread */
    weft_plat_mutex lock; /* tasks, explanation, journal opening */
    task_cfg *tasks;
    size_t n_tasks;
    weft__journal *journal;
    char explanation[2048];
    atomic_llong hits, misses, stores, corrupt, evicted, expired, saved_ns, hashed_bytes;
    atomic_llong writes, est_bytes, est_items;
    atomic_int pruning, warned_store;
    /* entries touched lately, so a hot entry costs one utimensat a second, not one per
     * hit: a direct-mapped table of (key tag, time); races only add or skip a touch */
    struct {
        atomic_ullong tag;
        atomic_llong at_ns;
    } touched[256];
    hot_slot *hot; /* NULL: no hot table */
    weft_plat_mutex hot_lock;
    atomic_ullong *generation; /* shared with the other processes on this cache */
};

static uint64_t generation_now(weft_memory *m) {
    return m->generation ? atomic_load_explicit(m->generation, memory_order_acquire) : 0;
}

/* Entries went away or changed: retire every process's hot values. */
static void bump_generation(weft_memory *m) {
    if (m->generation) atomic_fetch_add_explicit(m->generation, 1, memory_order_acq_rel);
}

void weft__memory_bump(weft_memory *m) { bump_generation(m); }

static hot_slot *hot_slot_of(weft_memory *m, const uint8_t key[16]) {
    return &m->hot[((size_t)key[0] | (size_t)key[1] << 8) % HOT_SLOTS];
}

/* 1 and a copy of the value when a current hot value matches. */
static int hot_get(weft_memory *m, const char *task, const uint8_t key[16], weft_bytes *out,
                   int64_t *created_ns, int64_t *compute_ns) {
    if (!m->hot) return 0;
    uint64_t th = weft__hash64(task, strlen(task)), g = generation_now(m);
    hot_slot *h = hot_slot_of(m, key);
    int found = 0;
    weft_plat_mutex_lock(&m->hot_lock);
    if (h->value && h->generation == g && h->task_hash == th && memcmp(h->key, key, 16) == 0 &&
        (out->data = malloc(h->size ? h->size : 1))) {
        memcpy(out->data, h->value, h->size);
        out->size = h->size;
        *created_ns = h->created_ns;
        *compute_ns = h->compute_ns;
        found = 1;
    }
    weft_plat_mutex_unlock(&m->hot_lock);
    return found;
}

/* Remember a verified value; `g` is the generation read before the value was. */
static void hot_put(weft_memory *m, const char *task, const uint8_t key[16], uint64_t g,
                    const void *value, size_t size, int64_t created_ns, int64_t compute_ns) {
    if (!m->hot || size > HOT_MAX_VALUE) return;
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy) return;
    if (size) memcpy(copy, value, size);
    hot_slot *h = hot_slot_of(m, key);
    weft_plat_mutex_lock(&m->hot_lock);
    free(h->value);
    memcpy(h->key, key, 16);
    h->task_hash = weft__hash64(task, strlen(task));
    h->generation = g;
    h->value = copy;
    h->size = size;
    h->created_ns = created_ns;
    h->compute_ns = compute_ns;
    weft_plat_mutex_unlock(&m->hot_lock);
}

static void hot_open(weft_memory *m) {
    char path[4096];
    void *p;
    if (weft__store_side_path(m->store, m->state, GENERATION_FILE, path, sizeof path) != 0 ||
        weft_plat_map_shared(path, 64, &p) != 0)
        return;
    m->hot = calloc(HOT_SLOTS, sizeof *m->hot);
    if (!m->hot) {
        weft_plat_unmap(p, 64);
        return;
    }
    m->generation = p;
    weft_plat_mutex_init(&m->hot_lock);
}

static void hot_close(weft_memory *m) {
    if (!m->hot) return;
    for (size_t i = 0; i < HOT_SLOTS; i++) free(m->hot[i].value);
    free(m->hot);
    weft_plat_mutex_destroy(&m->hot_lock);
    weft_plat_unmap((void *)m->generation, 64);
}

/* ---- small helpers */

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void warn(weft_memory *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(weft_memory *m, const char *fmt, ...) {
    if (m->o.quiet) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof buf - 2) n = sizeof buf - 2;
    buf[n++] = '\n';
    weft_plat_write_stderr(buf, (size_t)n);
}

static int env_debug(void) {
    const char *s = weft_plat_getenv("WEFT_DEBUG");
    return s && *s && strcmp(s, "0") != 0;
}

int weft_memory_open(weft_memory **out, const char *location, const weft_memory_options *o) {
    if (!out) return weft__set_error(WEFT_EINVAL, "weft_memory_open: out is NULL");
    *out = NULL;
    weft_memory_options opt = WEFT_MEMORY_OPTIONS_INIT;
    if (o) opt = *o;
    if (opt.max_bytes < 0 || opt.max_items < 0 || !(opt.max_age_s >= 0))
        return weft__set_error(WEFT_EINVAL, "weft_memory_open: limits must be >= 0 (0 = no limit)");
    opt.debug = opt.debug == 0 ? env_debug() : opt.debug > 0;
    if (!location || !*location) {
        location = weft_plat_getenv("WEFT_CACHE_DIR");
        if (!location || !*location)
            return weft__set_error(WEFT_EINVAL, "weft_memory_open: no location: pass a folder or \"memory:\", or set WEFT_CACHE_DIR");
    }
    const weft_store *store = weft__store_for(location);
    weft__set_dispatch_layer(&weft__memory_layer); /* options.memory on a map works */
    int rc;
    weft_memory *m = calloc(1, sizeof *m);
    if (!m || !(m->location = dup_str(location)) || !(m->state = calloc(1, store->state_size))) {
        if (m) free(m->location);
        free(m);
        return weft__set_error(WEFT_ENOMEM, "weft_memory_open: out of memory");
    }
    m->store = store;
    m->o = opt;
    weft_plat_mutex_init(&m->lock);
    weft__clear_error();
    rc = store->open(m->state, location);
    if (rc) {
        free(m->state);
        free(m->location);
        free(m);
        if (weft_last_error()->code == rc) return rc; /* the store said why */
        return weft__set_error(rc, "cannot open the %s store at '%s'", store->name, location);
    }
    hot_open(m);
    weft_options po;
    weft_options_init(&po);
    po.backend = "sequential";
    po.n_jobs = 1;
    po.batch_size = WEFT_NONE;
    po.verbose = WEFT_NONE;
    rc = weft_pool_open(&m->pool, &po);
    if (rc) {
        weft_memory_close(m);
        return rc;
    }
    if (weft__store_read_only(store, m->state)) {
        /* said once here; the stores that fail later say nothing more */
        atomic_store(&m->warned_store, 1);
        warn(m, "weft: the cache folder '%s' is read-only (%s): hits are served, new results are not stored",
             location, weft_plat_strerror(-EACCES));
    }
    *out = m;
    weft__clear_error();
    return 0;
}

void weft_memory_close(weft_memory *m) {
    if (!m) return;
    if (m->journal) weft__journal_close(m->journal);
    hot_close(m);
    m->store->close(m->state);
    weft_pool_close(m->pool);
    for (size_t i = 0; i < m->n_tasks; i++) {
        free(m->tasks[i].name);
        for (size_t k = 0; k < m->tasks[i].n_ignore; k++) free(m->tasks[i].ignore[k]);
        free(m->tasks[i].ignore);
    }
    free(m->tasks);
    weft_plat_mutex_destroy(&m->lock);
    free(m->state);
    free(m->location);
    free(m);
}

const char *weft_memory_location(const weft_memory *m) { return m ? m->location : NULL; }

const weft_store *weft__memory_store(const weft_memory *m, void **state) {
    *state = m->state;
    return m->store;
}

weft__journal *weft__memory_journal(weft_memory *m) {
    weft_plat_mutex_lock(&m->lock);
    if (!m->journal) {
        char dir[4096];
        int disk = weft__store_side_path(m->store, m->state, WEFT__JOURNAL_DIR, dir, sizeof dir) == 0;
        int64_t max = 64ll << 20;
        const char *s = weft_plat_getenv("WEFT_DEBUG_MAX_BYTES");
        if (s && *s && weft__parse_i64(s, 0, INT64_MAX, &max) != 0) {
            max = 64ll << 20;
            warn(m, "weft: WEFT_DEBUG_MAX_BYTES='%s' is not a whole number of bytes >= 0: using %lld", s,
                 (long long)max);
        }
        m->journal = weft__journal_open(disk ? dir : NULL, max);
    }
    weft_plat_mutex_unlock(&m->lock);
    return m->journal;
}

/* ---- per-task settings */

/* The task's settings, created on first use; call with the lock held. */
static task_cfg *task_of(weft_memory *m, const char *name) {
    for (size_t i = 0; i < m->n_tasks; i++)
        if (strcmp(m->tasks[i].name, name) == 0) return &m->tasks[i];
    task_cfg *v = realloc(m->tasks, (m->n_tasks + 1) * sizeof *v);
    if (!v) return NULL;
    m->tasks = v;
    task_cfg *t = &v[m->n_tasks];
    memset(t, 0, sizeof *t);
    if (!(t->name = dup_str(name))) return NULL;
    m->n_tasks++;
    return t;
}

int weft_memory_set_version(weft_memory *m, const char *task, const char *version) {
    if (!m || !task || !*task || !version)
        return weft__set_error(WEFT_EINVAL, "weft_memory_set_version: memory, task and version must not be NULL or empty");
    if (strlen(version) >= MAX_VERSION)
        return weft__set_error(WEFT_EINVAL, "weft_memory_set_version: the version is longer than %d bytes", MAX_VERSION - 1);
    weft_plat_mutex_lock(&m->lock);
    task_cfg *t = task_of(m, task);
    if (t && strcmp(t->version, version) != 0) {
        snprintf(t->version, sizeof t->version, "%s", version);
        t->version_checked = 0;
    }
    weft_plat_mutex_unlock(&m->lock);
    return t ? 0 : weft__set_error(WEFT_ENOMEM, "weft_memory_set_version: out of memory");
}

int weft_memory_ignore(weft_memory *m, const char *task, const char *arg_name) {
    if (!m || !task || !*task || !arg_name || !*arg_name)
        return weft__set_error(WEFT_EINVAL, "weft_memory_ignore: memory, task and argument name must not be NULL or empty");
    weft_plat_mutex_lock(&m->lock);
    task_cfg *t = task_of(m, task);
    int rc = t ? 0 : WEFT_ENOMEM;
    for (size_t k = 0; t && k < t->n_ignore; k++)
        if (strcmp(t->ignore[k], arg_name) == 0) t = NULL;
    if (t) {
        char **v = realloc(t->ignore, (t->n_ignore + 1) * sizeof *v);
        if (v) t->ignore = v;
        if (!v || !(v[t->n_ignore] = dup_str(arg_name)))
            rc = WEFT_ENOMEM;
        else
            t->n_ignore++;
    }
    weft_plat_mutex_unlock(&m->lock);
    return rc ? weft__set_error(rc, "weft_memory_ignore: out of memory") : 0;
}

/* ---- one call: the key and what it needs */

typedef struct call {
    weft_memory *m;
    const weft_task_def *task;
    const weft_args *args; /* NULL for a raw map input */
    const void *raw;
    size_t raw_size;
    char version[MAX_VERSION];
    unsigned char ignored_stack[32], *ignored;
    uint8_t fps_stack[32][16], (*fps)[16];
    uint8_t key[16];
    weft_args view; /* a map item's arguments, decoded in place (args points here) */
} call;

static void call_free(call *c) {
    if (c->ignored != c->ignored_stack) free(c->ignored);
    if (c->fps != c->fps_stack) free(c->fps);
    if (c->args == &c->view) weft__args_view_free(&c->view);
}

/* The task version is checked against the store's once per handle and task: a change
 * removes that task's old entries (they could never match again). */
static void check_version(weft_memory *m, const char *task, const char *version) {
    if (!m->store->get_meta) return;
    char stored[MAX_VERSION];
    int rc = m->store->get_meta(m->state, task, "VERSION", stored, sizeof stored);
    if (rc == 0 && strcmp(stored, version) == 0) return;
    /* The first version given to a task whose entries were made without one removes
     * them too: their keys hold the empty version, so nothing could match them again. */
    if (rc == 0 || version[0]) {
        m->store->clear(m->state, task);
        bump_generation(m);
        m->store->put_meta(m->state, task, "VERSION", version);
    }
}

/* Settle the call's version, ignored arguments, fingerprints and key. `raw`: a map item
 * that is not an args encoding (the caller keys it). */
static int prepare_call(call *c, weft_memory *m, const weft_task_def *task, const weft_args *a,
                        int raw, const char *fn) {
    memset(c, 0, offsetof(call, ignored_stack));
    c->ignored = c->ignored_stack;
    c->fps = c->fps_stack;
    c->m = m;
    c->task = task;
    c->args = a;
    if (!m) return weft__set_error(WEFT_EINVAL, "%s: memory is NULL (open it with weft_memory_open)", fn);
    int bad_task = weft__check_task(fn, task);
    if (bad_task) return bad_task;
    if (!raw) {
        int rc = weft__args_check(fn, a);
        if (rc) return rc;
        if (a->n > 32) {
            c->ignored = calloc(a->n, 1);
            c->fps = malloc(a->n * sizeof *c->fps);
            if (!c->ignored || !c->fps) return weft__set_error(WEFT_ENOMEM, "%s: out of memory", fn);
        }
        memset(c->ignored, 0, a->n);
    }
    int check = 0;
    weft_plat_mutex_lock(&m->lock);
    task_cfg *t = task_of(m, task->name);
    if (t) {
        memcpy(c->version, t->version, sizeof c->version);
        for (size_t i = 0; a && i < a->n; i++)
            for (size_t k = 0; k < t->n_ignore; k++)
                if (strcmp(a->v[i].name, t->ignore[k]) == 0) c->ignored[i] = 1;
        check = !t->version_checked;
        t->version_checked = 1;
    }
    weft_plat_mutex_unlock(&m->lock);
    if (!t) return weft__set_error(WEFT_ENOMEM, "%s: out of memory", fn);
    if (check) check_version(m, task->name, c->version);
    if (raw) return 0;
    size_t bytes = 0;
    for (size_t i = 0; i < a->n; i++) {
        int rc = weft__arg_fingerprint(&a->v[i], c->fps[i]);
        if (rc) return rc;
        bytes += a->v[i].size;
    }
    atomic_fetch_add_explicit(&m->hashed_bytes, (long long)bytes, memory_order_relaxed);
    return weft__args_key(task->name, c->version, a, (const uint8_t(*)[16])c->fps, c->ignored, c->key);
}

static int prepare(call *c, weft_memory *m, const weft_task_def *task, const weft_args *a,
                   const char *fn) {
    return prepare_call(c, m, task, a, 0, fn);
}

static void debug_record(call *c, int hit) {
    if (!c->m->o.debug || (!c->args && !c->raw)) return;
    weft__journal *j = weft__memory_journal(c->m);
    if (!j) return;
    char text[2048];
    text[0] = '\0';
    if (c->args) {
        weft__journal_record(j, c->task->name, c->version, c->key, c->args,
                             (const uint8_t(*)[16])c->fps, hit, text, sizeof text);
    } else {
        /* a plain map item (a struct, numbers): journaled as its 8-byte words, each a bytes
         * argument named by its offsets, so the nearest earlier call is the one with the
         * most equal words and a miss names the fields that changed; a long item is one
         * argument */
        enum { WORD = 8,
               MAX_WORDS = 32 };
        size_t words = (c->raw_size + WORD - 1) / WORD, k = 0;
        const unsigned char *raw = c->raw;
        weft_args *a = weft_args_new();
        uint8_t fp[MAX_WORDS][16];
        int ok = a != NULL;
        if (ok && (words > MAX_WORDS || words == 0)) {
            ok = weft_args_bytes(a, "input", raw, c->raw_size) == 0;
            words = 1;
        } else {
            for (; ok && k < words; k++) {
                char name[48];
                size_t at = k * WORD, n = c->raw_size - at < WORD ? c->raw_size - at : WORD;
                snprintf(name, sizeof name, "input bytes %03zu-%03zu", at, at + n - 1);
                ok = weft_args_bytes(a, name, raw + at, n) == 0;
            }
        }
        for (k = 0; ok && k < words; k++) ok = weft__arg_fingerprint(&a->v[k], fp[k]) == 0;
        if (ok)
            weft__journal_record(j, c->task->name, c->version, c->key, a,
                                 (const uint8_t(*)[16])fp, hit, text, sizeof text);
        weft_args_free(a);
    }
    if (!hit && text[0]) {
        weft_plat_mutex_lock(&c->m->lock);
        snprintf(c->m->explanation, sizeof c->m->explanation, "%s", text);
        weft_plat_mutex_unlock(&c->m->lock);
        weft_plat_write_stderr(text, strlen(text));
    }
}

const char *weft_memory_last_explanation(const weft_memory *m) { return m ? m->explanation : ""; }

static void report_corrupt(weft_memory *m, const char *task, const uint8_t key[16], const char *why) {
    atomic_fetch_add(&m->corrupt, 1);
    char hex[33];
    weft__hex(key, 16, hex);
    warn(m, "weft: cache entry %s/%s of '%s' is corrupt (%s): removed, it will be recomputed",
         m->location, hex, task, why);
    m->store->remove(m->state, task, key);
    bump_generation(m);
}

int weft__memory_read(weft_memory *m, const char *task, const uint8_t key[16], weft_bytes *head,
                      weft_bytes *value, weft__entry *e) {
    int64_t access_ns = 0;
    head->data = value->data = NULL;
    head->size = value->size = 0;
    int rc = m->store->get(m->state, task, key, head, value, &access_ns);
    if (rc) return rc;
    rc = weft__entry_check(head->data, head->size, value->data, value->size, task, key, e);
    if (rc) {
        free(head->data);
        free(value->data);
        head->data = value->data = NULL;
        return rc;
    }
    e->last_access_ns = access_ns >= 0 ? access_ns : e->created_ns;
    return 0;
}

/* Record a use of an entry for the approximate LRU: at most once a minute per entry and
 * process, and not at all in the minute after it was written. */
static void touch(weft_memory *m, const char *task, const uint8_t key[16], int64_t now,
                  int64_t created_ns) {
    if (!m->store->touch || weft__sub_sat(now, created_ns) < TOUCH_EVERY_NS) return;
    unsigned long long tag;
    memcpy(&tag, key + 8, sizeof tag);
    size_t slot = key[0];
    if (atomic_load_explicit(&m->touched[slot].tag, memory_order_relaxed) == tag &&
        weft__sub_sat(now, atomic_load_explicit(&m->touched[slot].at_ns, memory_order_relaxed)) < TOUCH_EVERY_NS)
        return;
    m->store->touch(m->state, task, key, now);
    atomic_store_explicit(&m->touched[slot].tag, tag, memory_order_relaxed);
    atomic_store_explicit(&m->touched[slot].at_ns, now, memory_order_relaxed);
}

/* The hot table's answer for the call's key: 0 and the value, or WEFT_ENOTFOUND. */
static int lookup_hot(call *c, weft_bytes *out, int count, int do_touch) {
    weft_memory *m = c->m;
    int64_t created, compute;
    if (m->o.validate || !hot_get(m, c->task->name, c->key, out, &created, &compute))
        return WEFT_ENOTFOUND;
    int64_t now = weft_plat_wall_ns();
    if (m->o.max_age_s > 0 && (double)weft__sub_sat(now, created) > m->o.max_age_s * 1e9) {
        weft_bytes_free(out, 1); /* expired: the store's answer removes it */
        return WEFT_ENOTFOUND;
    }
    if (count) {
        atomic_fetch_add(&m->hits, 1);
        atomic_fetch_add(&m->saved_ns, compute);
    }
    if (do_touch) touch(m, c->task->name, c->key, now, created);
    return 0;
}

/* Judge what the store gave for the call's key (`got`, whose buffers it takes over);
 * `g` is the generation read before the store was asked. 0 and the value on a valid
 * hit, WEFT_ENOTFOUND otherwise (corrupt, expired and rejected entries included), <0 on
 * a store error. `keep_hot`: remember the value in the hot table (single calls; a map's
 * many items would only churn it). */
static int lookup_settle(call *c, uint64_t g, weft__store_get *got, weft_bytes *out, int count,
                         int do_touch, int keep_hot) {
    weft_memory *m = c->m;
    weft__entry e;
    int rc = got->rc;
    *out = got->value;
    if (rc == 0) rc = weft__entry_check(got->head.data, got->head.size, out->data, out->size,
                                        c->task->name, c->key, &e);
    free(got->head.data);
    if (rc == 0) e.last_access_ns = got->last_access_ns >= 0 ? got->last_access_ns : e.created_ns;
    if (rc == WEFT_ECORRUPT) {
        report_corrupt(m, c->task->name, c->key, "checksum or header mismatch");
        rc = WEFT_ENOTFOUND;
    }
    if (rc == 0) {
        int64_t now = weft_plat_wall_ns();
        if (m->o.max_age_s > 0 && (double)weft__sub_sat(now, e.created_ns) > m->o.max_age_s * 1e9) {
            m->store->remove(m->state, c->task->name, c->key);
            bump_generation(m);
            atomic_fetch_add(&m->expired, 1);
            rc = WEFT_ENOTFOUND;
        } else if (m->o.validate) {
            weft_entry_info info = {c->task->name, c->version, e.created_ns, e.last_access_ns,
                                    e.compute_ns, e.value_size, e.input_size};
            if (m->o.validate(&info, out->data, out->size, m->o.validate_user)) rc = WEFT_ENOTFOUND;
        }
        if (rc == 0) {
            if (count) {
                atomic_fetch_add(&m->hits, 1);
                atomic_fetch_add(&m->saved_ns, e.compute_ns);
            }
            if (do_touch) touch(m, c->task->name, c->key, now, e.created_ns);
            if (keep_hot) hot_put(m, c->task->name, c->key, g, out->data, out->size, e.created_ns, e.compute_ns);
            return 0;
        }
    }
    weft_bytes_free(out, 1);
    if (count && (rc == WEFT_ENOTFOUND || got->rc == 0)) atomic_fetch_add(&m->misses, 1);
    return rc;
}

/* Look the call's key up: the hot table, else the store. As lookup_settle. */
static int lookup(call *c, weft_bytes *out, int count, int do_touch) {
    if (lookup_hot(c, out, count, do_touch) == 0) return 0;
    uint64_t g = generation_now(c->m);
    weft__store_get got = {.task = c->task->name, .key = c->key};
    weft__store_get_many(c->m->store, c->m->state, &got, 1);
    return lookup_settle(c, g, &got, out, count, do_touch, 1);
}

static int prune(weft_memory *m, int64_t max_bytes, int64_t max_items, double max_age_s,
                 int64_t slack_ns, int64_t *removed);

static void maybe_prune(weft_memory *m, size_t bytes) {
    if (!m->o.max_bytes && !m->o.max_items && !(m->o.max_age_s > 0)) return;
    long long w = atomic_fetch_add(&m->writes, 1);
    long long b = atomic_fetch_add(&m->est_bytes, (long long)bytes) + (long long)bytes;
    long long n = atomic_fetch_add(&m->est_items, 1) + 1;
    int over = (m->o.max_bytes && b > m->o.max_bytes) || (m->o.max_items && n > m->o.max_items);
    if (w % PRUNE_EVERY_WRITES != 0 && !over) return;
    if (atomic_exchange(&m->pruning, 1)) return; /* another thread is on it */
    prune(m, 0, 0, 0, COARSE_FILE_TIME_NS, NULL);
    atomic_store(&m->pruning, 0);
}

/* The entry header of a call's value (malloc'd). */
static int build_entry(const call *c, const void *value, size_t size, int64_t compute_ns,
                       uint64_t input_size, unsigned char **head, size_t *head_size) {
    weft__entry_desc d = {.flags = c->args ? 0 : WEFT__ENTRY_RAW_INPUT,
                          .key = c->key,
                          .task = c->task->name,
                          .version = c->version,
                          .created_ns = weft_plat_wall_ns(),
                          .compute_ns = compute_ns,
                          .input_size = input_size,
                          .value = value,
                          .value_size = size,
                          .args = c->args,
                          .fps = (const uint8_t(*)[16])c->fps,
                          .ignored = c->ignored};
    return weft__entry_build(&d, head, head_size);
}

static int store_value(call *c, const void *value, size_t size, int64_t compute_ns,
                       uint64_t input_size) {
    weft_memory *m = c->m;
    unsigned char *head;
    size_t head_size;
    int rc = build_entry(c, value, size, compute_ns, input_size, &head, &head_size);
    if (rc) return rc;
    rc = m->store->put(m->state, c->task->name, c->key, head, head_size, value, size, m->o.fsync);
    free(head);
    if (rc) return rc;
    atomic_fetch_add(&m->stores, 1);
    maybe_prune(m, head_size + size);
    return 0;
}

/* Run the task on the calling thread with `in` as its input. Inside a map's task the
 * call joins that map's pool (for nested maps); elsewhere the memory's own sequential
 * pool. The job carries no memory: its result is stored by the caller, once. */
static int run_task(weft_memory *m, const weft_task_def *task, const void *in, size_t size,
                    weft_bytes *out) {
    weft_bytes input = {(void *)in, size};
    weft__job job;
    memset(&job, 0, sizeof job);
    job.call.kind = WEFT__JOB_BYTES;
    job.call.n = 1;
    job.call.task = task;
    job.call.in_bytes = &input;
    job.call.out_bytes = out;
    weft__job *outer = weft__current_job();
    job.level = outer ? outer->level + 1 : 0;
    if (outer) {
        job.pool = outer->pool;
        job.options = outer->options;
    } else {
        weft_pool *p = m->pool;
        weft__pool_for_call(&p, &job.options);
        job.pool = p;
    }
    job.options.memory = NULL;
    job.options.verbose = 0;
    job.options.progress = NULL;
    atomic_init(&job.stop, 0);
    atomic_init(&job.failed, 0);
    weft__progress_begin(&job.progress, &job.options, 1);
    out->data = NULL;
    out->size = 0;
    weft__job_run(&job, 0, 1, 0);
    if (atomic_load(&job.failed)) {
        weft_bytes_free(out, 1);
        return weft__job_failure_error(&job); /* the index in the call, as every job reports it */
    }
    return 0;
}

/* Run, store, return: the miss path of every cached call. `replace`: the entry may
 * exist and differ (a refresh), so other processes' hot values must go. */
static int compute(call *c, weft_bytes *out, int replace) {
    uint64_t g = generation_now(c->m);
    size_t n = weft__args_encoded_size(c->args);
    unsigned char *enc = malloc(n);
    if (!enc) return weft__set_error(WEFT_ENOMEM, "out of memory encoding the arguments of '%s' (%zu bytes)", c->task->name, n);
    weft__args_encode_into(c->args, enc);
    uint64_t t0 = weft_plat_now_ns();
    int rc = run_task(c->m, c->task, enc, n, out);
    int64_t took = (int64_t)(weft_plat_now_ns() - t0);
    free(enc);
    if (rc) return rc;
    rc = store_value(c, out->data, out->size, took, n);
    if (!rc && replace) {
        bump_generation(c->m);
        g = generation_now(c->m);
    }
    if (!rc) hot_put(c->m, c->task->name, c->key, g, out->data, out->size, weft_plat_wall_ns(), took);
    if (rc) {
        /* the result is right even if it could not be kept: return it, say so once */
        if (!atomic_exchange(&c->m->warned_store, 1))
            warn(c->m, "weft: could not store a result of '%s' in %s: %s", c->task->name,
                 c->m->location, weft_last_error()->message);
    }
    weft__clear_error();
    return 0;
}

static int check_out(const char *fn, weft_bytes *out) {
    if (!out) return weft__set_error(WEFT_EINVAL, "%s: out is NULL", fn);
    out->data = NULL;
    out->size = 0;
    return 0;
}

int weft_memory_call(weft_memory *m, const weft_task_def *task, const weft_args *args,
                     weft_bytes *out, int *hit) {
    if (hit) *hit = 0;
    int rc = check_out("weft_memory_call", out);
    if (rc) return rc;
    call c;
    rc = prepare(&c, m, task, args, "weft_memory_call");
    if (!rc) {
        rc = lookup(&c, out, 1, 1);
        if (rc == 0) {
            if (hit) *hit = 1;
            debug_record(&c, 1);
        } else if (rc == WEFT_ENOTFOUND) {
            debug_record(&c, 0);
            rc = compute(&c, out, 0);
        }
    }
    call_free(&c);
    if (!rc) weft__clear_error();
    return rc;
}

int weft_memory_call_encoded(weft_memory *m, const weft_task_def *task, const void *in,
                             size_t size, weft_bytes *out, int *hit) {
    weft_args a;
    memset(&a, 0, sizeof a);
    int rc = weft_args_decode(&a, in, size);
    if (!rc)
        rc = weft_memory_call(m, task, &a, out, hit);
    else {
        if (hit) *hit = 0;
        if (out) *out = (weft_bytes){NULL, 0};
    }
    weft_args_reset(&a);
    free(a.v);
    return rc;
}

static int get(weft_memory *m, const weft_task_def *task, const weft_args *args,
               weft_bytes *out, int touch, const char *fn) {
    int rc = check_out(fn, out);
    if (rc) return rc;
    call c;
    rc = prepare(&c, m, task, args, fn);
    if (!rc) rc = lookup(&c, out, 0, touch);
    call_free(&c);
    if (rc == WEFT_ENOTFOUND) return weft__set_error(rc, "%s: no entry for this call of '%s'", fn, task->name);
    return rc;
}

int weft_memory_get(weft_memory *m, const weft_task_def *task, const weft_args *args,
                    weft_bytes *out) {
    return get(m, task, args, out, 1, "weft_memory_get");
}

/* A check is not a use: it leaves the LRU clock alone. */
int weft_memory_check(weft_memory *m, const weft_task_def *task, const weft_args *args) {
    weft_bytes v;
    int rc = get(m, task, args, &v, 0, "weft_memory_check");
    if (rc == 0) {
        weft_bytes_free(&v, 1);
        return 1;
    }
    if (rc == WEFT_ENOTFOUND) {
        weft__clear_error();
        return 0;
    }
    return rc;
}

int weft_memory_refresh(weft_memory *m, const weft_task_def *task, const weft_args *args,
                        weft_bytes *out) {
    int rc = check_out("weft_memory_refresh", out);
    if (rc) return rc;
    call c;
    rc = prepare(&c, m, task, args, "weft_memory_refresh");
    if (!rc) {
        atomic_fetch_add(&m->misses, 1);
        rc = compute(&c, out, 1);
    }
    call_free(&c);
    return rc;
}

int weft_memory_key(weft_memory *m, const weft_task_def *task, const weft_args *args,
                    uint8_t key[16], char hex[33]) {
    call c;
    int rc = prepare(&c, m, task, args, "weft_memory_key");
    if (!rc) {
        if (key) memcpy(key, c.key, 16);
        if (hex) weft__hex(c.key, 16, hex);
    }
    call_free(&c);
    return rc;
}

/* ---- shelve */

int weft_memory_shelve(weft_memory *m, const weft_task_def *task, const weft_args *args,
                       weft_shelf *ref) {
    if (!ref) return weft__set_error(WEFT_EINVAL, "weft_memory_shelve: ref is NULL");
    memset(ref, 0, sizeof *ref);
    call c;
    int rc = prepare(&c, m, task, args, "weft_memory_shelve");
    if (!rc && strlen(task->name) > WEFT_ARGS_MAX_NAME)
        rc = weft__set_error(WEFT_EINVAL, "weft_memory_shelve: task name longer than %d bytes", WEFT_ARGS_MAX_NAME);
    if (!rc) {
        weft_bytes v;
        rc = lookup(&c, &v, 1, 1);
        if (rc == WEFT_ENOTFOUND) rc = compute(&c, &v, 0);
        if (!rc) {
            weft_bytes_free(&v, 1);
            snprintf(ref->task, sizeof ref->task, "%s", task->name);
            memcpy(ref->key, c.key, 16);
        }
    }
    call_free(&c);
    return rc;
}

int weft_shelf_load(weft_memory *m, const weft_shelf *ref, weft_bytes *out) {
    int rc = check_out("weft_shelf_load", out);
    if (rc) return rc;
    if (!m || !ref || !ref->task[0]) return weft__set_error(WEFT_EINVAL, "weft_shelf_load: memory or ref is NULL or empty");
    weft_bytes head;
    weft__entry e;
    rc = weft__memory_read(m, ref->task, ref->key, &head, out, &e);
    if (rc == WEFT_ECORRUPT) {
        report_corrupt(m, ref->task, ref->key, "checksum or header mismatch");
        return weft__set_error(WEFT_ECORRUPT, "the shelved result of '%s' failed its checksum and was removed", ref->task);
    }
    if (rc == WEFT_ENOTFOUND) return weft__set_error(rc, "the shelved result of '%s' is no longer stored (cleared or evicted)", ref->task);
    if (rc) return rc;
    free(head.data);
    return 0;
}

size_t weft_shelf_format(const weft_shelf *ref, char *buf, size_t size) {
    char hex[33];
    weft__hex(ref->key, 16, hex);
    int n = snprintf(buf, size, "%s/%s", ref->task, hex);
    return n < 0 ? 0 : (size_t)n;
}

int weft_shelf_parse(const char *s, weft_shelf *ref) {
    const char *slash = s ? strrchr(s, '/') : NULL;
    if (!slash || slash == s || (size_t)(slash - s) > WEFT_ARGS_MAX_NAME || strlen(slash + 1) != 32 ||
        weft__unhex(slash + 1, ref->key, 16))
        return weft__set_error(WEFT_EINVAL, "weft_shelf_parse: expected \"task/<32 hex digits>\"");
    memcpy(ref->task, s, (size_t)(slash - s));
    ref->task[slash - s] = '\0';
    return 0;
}

/* ---- clear, prune, stats */

int weft_memory_clear(weft_memory *m, const char *task) {
    if (!m) return weft__set_error(WEFT_EINVAL, "weft_memory_clear: memory is NULL");
    int rc = m->store->clear(m->state, task);
    bump_generation(m);
    if (rc) return rc;
    weft_plat_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n_tasks; i++)
        if (!task || strcmp(task, m->tasks[i].name) == 0) m->tasks[i].version_checked = 0;
    weft_plat_mutex_unlock(&m->lock);
    atomic_store(&m->est_bytes, 0);
    atomic_store(&m->est_items, 0);
    return 0;
}

typedef struct prune_item {
    char *task;
    uint8_t key[16];
    int64_t size, access_ns;
} prune_item;

typedef struct prune_list {
    prune_item *v;
    size_t n, cap;
    weft_memory *m;
    int64_t now, temps_removed;
} prune_list;

static int prune_collect(const weft__store_item *it, void *user) {
    prune_list *l = user;
    if (it->not_regular) return 0; /* not weft's: never removed (`weft cache verify` reports it) */
    if (it->is_temp) {
        if (weft__sub_sat(l->now, it->last_access_ns) > WEFT__DISK_TEMP_STALE_NS && l->m->store->remove_temp &&
            l->m->store->remove_temp(l->m->state, it) == 0)
            l->temps_removed++;
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        prune_item *v = realloc(l->v, cap * sizeof *v);
        if (!v) return WEFT_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    prune_item *p = &l->v[l->n];
    if (!(p->task = dup_str(it->task))) return WEFT_ENOMEM;
    memcpy(p->key, it->key, 16);
    p->size = it->size;
    p->access_ns = it->last_access_ns;
    l->n++;
    return 0;
}

static int by_access(const void *a, const void *b) {
    const prune_item *x = a, *y = b;
    return x->access_ns < y->access_ns ? -1 : x->access_ns > y->access_ns;
}

/* A store with an index of last uses evicts by itself, at a cost in what it removes. */
static int prune_by_index(weft_memory *m, weft__store_evict_method evict, int64_t max_bytes,
                          int64_t max_items, double max_age_s, int64_t slack_ns, int64_t *removed) {
    int64_t before = max_age_s > 0 ? weft_plat_wall_ns() - slack_ns - (int64_t)(max_age_s * 1e9) : 0;
    weft__store_evicted e;
    int rc = evict(m->state, max_bytes, max_items, before, &e);
    if (rc == 0 && e.expired + e.evicted) bump_generation(m);
    atomic_fetch_add(&m->expired, rc ? 0 : e.expired);
    atomic_fetch_add(&m->evicted, rc ? 0 : e.evicted);
    atomic_store(&m->est_bytes, rc ? 0 : e.bytes_left);
    atomic_store(&m->est_items, rc ? 0 : e.items_left);
    if (removed) *removed = rc ? 0 : e.expired + e.evicted;
    return rc;
}

/* slack_ns: how much older than max_age_s an entry's last use must look before it goes.
 * Pruning on writes allows for file systems whose times are coarse (Emscripten's are
 * whole seconds, FAT's two): there a just-written entry can look a second old. Reads
 * still expire entries exactly, by the creation time in their header. */
static int prune(weft_memory *m, int64_t max_bytes, int64_t max_items, double max_age_s,
                 int64_t slack_ns, int64_t *removed) {
    if (removed) *removed = 0;
    if (!m) return weft__set_error(WEFT_EINVAL, "weft_memory_prune: memory is NULL");
    if (max_bytes < 0 || max_items < 0 || !(max_age_s >= 0))
        return weft__set_error(WEFT_EINVAL, "weft_memory_prune: limits must be >= 0");
    if (!max_bytes) max_bytes = m->o.max_bytes;
    if (!max_items) max_items = m->o.max_items;
    if (!(max_age_s > 0)) max_age_s = m->o.max_age_s;
    weft__store_evict_method evict = weft__store_evict_of(m->store);
    if (evict) return prune_by_index(m, evict, max_bytes, max_items, max_age_s, slack_ns, removed);
    prune_list l = {NULL, 0, 0, m, weft_plat_wall_ns(), 0};
    int rc = m->store->list(m->state, NULL, prune_collect, &l);
    int64_t bytes = 0, items = (int64_t)l.n, gone = 0;
    for (size_t i = 0; i < l.n; i++) bytes += l.v[i].size;
    if (!rc) {
        if (l.n) qsort(l.v, l.n, sizeof *l.v, by_access);
        for (size_t i = 0; i < l.n; i++) {
            prune_item *p = &l.v[i];
            int old = max_age_s > 0 && (double)weft__sub_sat(weft__sub_sat(l.now, p->access_ns), slack_ns) > max_age_s * 1e9;
            int over = (max_bytes && bytes > max_bytes) || (max_items && items > max_items);
            if (!old && !over) continue; /* sorted oldest first, but age may still apply */
            if (m->store->remove(m->state, p->task, p->key) != 0) continue;
            bytes -= p->size;
            items--;
            gone++;
            atomic_fetch_add(old ? &m->expired : &m->evicted, 1);
        }
    }
    if (gone) bump_generation(m);
    for (size_t i = 0; i < l.n; i++) free(l.v[i].task);
    free(l.v);
    atomic_store(&m->est_bytes, bytes);
    atomic_store(&m->est_items, items);
    if (removed) *removed = gone;
    return rc;
}

int weft_memory_prune(weft_memory *m, int64_t max_bytes, int64_t max_items, double max_age_s,
                      int64_t *removed) {
    return prune(m, max_bytes, max_items, max_age_s, 0, removed);
}

int weft_memory_stats_get(const weft_memory *m, weft_memory_stats *s) {
    if (!m || !s) return weft__set_error(WEFT_EINVAL, "weft_memory_stats_get: memory or stats is NULL");
    weft_memory *w = (weft_memory *)m;
    s->hits = atomic_load(&w->hits);
    s->misses = atomic_load(&w->misses);
    s->stores = atomic_load(&w->stores);
    s->corrupt = atomic_load(&w->corrupt);
    s->evicted = atomic_load(&w->evicted);
    s->expired = atomic_load(&w->expired);
    s->saved_ns = atomic_load(&w->saved_ns);
    s->hashed_bytes = atomic_load(&w->hashed_bytes);
    return 0;
}

/* ---- map items, for the layer above dispatch (memory/dispatch_layer.c) */

/* A map item keys like weft_memory_call when its input is an args encoding, so a task
 * cached through either path finds the other's entries. `same` (may be NULL): the
 * batch's task settings, settled once (prepare_batch), so a plain item costs its key
 * alone; its bytes are added to *hashed, which the caller counts once per batch. */
static int prepare_item(call *c, const call *same, long long *hashed, weft_memory *m,
                        const weft_task_def *task, const void *in, size_t in_size) {
    int is_args = weft__args_view(in, in_size, &c->view) == 0;
    if (!is_args && same) {
        memcpy(c, same, offsetof(call, ignored_stack));
        c->ignored = c->ignored_stack;
        c->fps = c->fps_stack;
    } else {
        int rc = prepare_call(c, m, task, is_args ? &c->view : NULL, !is_args, "map");
        if (rc || is_args) return rc;
    }
    c->raw = in;
    c->raw_size = in_size;
    weft__raw_key(task->name, c->version, in, in_size, c->key);
    *hashed += (long long)in_size;
    return 0;
}

/* The settings a batch's plain items share (task checks, version): 0, or each item
 * settles them itself (prepare_item with `same` NULL). */
static int prepare_batch(call *same, weft_memory *m, const weft_task_def *task) {
    int rc = prepare_call(same, m, task, NULL, 1, "map");
    call_free(same);
    return rc;
}

static void count_hashed(weft_memory *m, long long bytes) {
    if (bytes) atomic_fetch_add_explicit(&m->hashed_bytes, bytes, memory_order_relaxed);
}

/* Items are looked up and stored this many at a time: one batched store call each. */
#define ITEM_BATCH 256

static void lookup_batch(weft_memory *m, const weft_task_def *task, const weft_bytes *in,
                         size_t n, size_t value_size, weft_bytes *out, unsigned char *found,
                         const call *shared, call *cs, weft__store_get *gets, size_t *asked) {
    size_t n_gets = 0;
    long long hashed = 0;
    /* no look in the hot table: it keeps single calls' values, which the store has too */
    for (size_t i = 0; i < n; i++) {
        found[i] = 0;
        out[i] = (weft_bytes){NULL, 0};
        if (prepare_item(&cs[i], shared, &hashed, m, task, in[i].data, in[i].size) != 0) {
            asked[i] = SIZE_MAX; /* cannot be keyed (out of memory): run it */
            continue;
        }
        /* the last use only feeds a validate callback: without one a store may skip it */
        gets[n_gets] = (weft__store_get){.task = task->name, .key = cs[i].key, .no_access = !m->o.validate};
        asked[i] = n_gets++;
    }
    count_hashed(m, hashed);
    uint64_t g = generation_now(m);
    weft__store_get_many(m->store, m->state, gets, n_gets);
    for (size_t i = 0; i < n; i++) {
        if (asked[i] != SIZE_MAX) found[i] = lookup_settle(&cs[i], g, &gets[asked[i]], &out[i], 1, 1, 0) == 0;
        if (found[i] && value_size != SIZE_MAX && out[i].size != value_size) {
            weft_bytes_free(&out[i], 1); /* stored by a map with another output size */
            found[i] = 0;
            atomic_fetch_sub(&m->hits, 1);
            atomic_fetch_add(&m->misses, 1);
        }
        debug_record(&cs[i], found[i]);
        call_free(&cs[i]);
    }
}

int weft__memory_lookup_items(weft_memory *m, const weft_task_def *task, const weft_bytes *in,
                              size_t n, size_t value_size, weft_bytes *out, unsigned char *found) {
    call *cs = malloc(ITEM_BATCH * sizeof *cs);
    weft__store_get *gets = malloc(ITEM_BATCH * sizeof *gets);
    size_t *asked = malloc(ITEM_BATCH * sizeof *asked);
    int rc = cs && gets && asked ? 0 : weft__set_error(WEFT_ENOMEM, "out of memory looking up a cached map");
    call same;
    const call *shared = !rc && n && prepare_batch(&same, m, task) == 0 ? &same : NULL;
    for (size_t at = 0; !rc && at < n; at += ITEM_BATCH) {
        size_t k = n - at < ITEM_BATCH ? n - at : ITEM_BATCH;
        lookup_batch(m, task, in + at, k, value_size, out + at, found + at, shared, cs, gets, asked);
    }
    free(cs);
    free(gets);
    free(asked);
    return rc;
}

void weft__memory_store_items(weft_memory *m, const weft_task_def *task,
                              const weft__memory_item *items, size_t n) {
    /* one batched write (one transaction on the packed store) per PUTS items */
    enum { PUTS = 256 };
    size_t cap = n < PUTS ? n : PUTS;
    weft__store_put *puts = malloc(cap * sizeof *puts + 1);
    unsigned char **heads = malloc(cap * sizeof *heads + 1);
    uint8_t(*keys)[16] = malloc(cap * sizeof *keys + 1);
    char why[256] = "";
    if (!puts || !heads || !keys) {
        snprintf(why, sizeof why, "out of memory");
        n = 0;
    }
    call same;
    const call *shared = n && prepare_batch(&same, m, task) == 0 ? &same : NULL;
    long long hashed = 0;
    for (size_t at = 0; at < n;) {
        size_t k = 0;
        for (; k < cap && at < n; at++) {
            const weft__memory_item *it = &items[at];
            weft__store_put *p = &puts[k];
            call c;
            int rc = prepare_item(&c, shared, &hashed, m, task, it->in, it->in_size);
            if (!rc) rc = build_entry(&c, it->out, it->out_size, it->compute_ns, it->in_size, &heads[k], &p->head_size);
            if (!rc) {
                memcpy(keys[k], c.key, 16);
                p->task = task->name;
                p->key = keys[k];
                p->head = heads[k];
                p->value = it->out;
                p->value_size = it->out_size;
                k++;
            } else if (!why[0]) {
                snprintf(why, sizeof why, "%s", weft_last_error()->message);
            }
            call_free(&c);
        }
        weft__store_put_many(m->store, m->state, puts, k, m->o.fsync);
        for (size_t i = 0; i < k; i++) {
            if (puts[i].rc == 0) {
                atomic_fetch_add(&m->stores, 1);
                maybe_prune(m, puts[i].head_size + puts[i].value_size);
            } else if (!why[0]) { /* the store's own message when it set one */
                const weft_error *e = weft_last_error();
                snprintf(why, sizeof why, "%s", e->code == puts[i].rc && e->message[0] ? e->message : weft_strerror(puts[i].rc));
            }
            free(heads[i]);
        }
    }
    count_hashed(m, hashed);
    free(puts);
    free(heads);
    free(keys);
    /* a result that could not be kept is still right: the map goes on, and says so once */
    if (why[0] && !atomic_exchange(&m->warned_store, 1))
        warn(m, "weft: could not store a result of '%s' in %s: %s", task->name, m->location, why);
}

/* For stores outside C (the browser's IndexedDB, wasm/src/weft_js_memory.c): a map item's
 * key and entry exactly as the two above make them. */
int weft__memory_item_key(weft_memory *m, const weft_task_def *task, const void *in,
                          size_t in_size, uint8_t key[16]) {
    call c;
    long long hashed = 0;
    int rc = prepare_item(&c, NULL, &hashed, m, task, in, in_size);
    count_hashed(m, hashed);
    if (!rc) memcpy(key, c.key, 16);
    call_free(&c);
    return rc;
}

int weft__memory_item_entry(weft_memory *m, const weft_task_def *task, const void *in,
                            size_t in_size, const void *out, size_t out_size, int64_t compute_ns,
                            unsigned char **head, size_t *head_size) {
    call c;
    long long hashed = 0;
    int rc = prepare_item(&c, NULL, &hashed, m, task, in, in_size);
    count_hashed(m, hashed);
    if (!rc) rc = build_entry(&c, out, out_size, compute_ns, in_size, head, head_size);
    call_free(&c);
    return rc;
}
