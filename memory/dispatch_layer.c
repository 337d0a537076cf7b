/* Memory above dispatch: a map, collect-all map, iterator chunk or reduction whose
 * options carry a memory looks all its items up first (batched), serves the hits without
 * dispatching them, hands only the misses to the pool's backend (whatever it is: no
 * backend knows Memory exists), and stores each result as it completes, so a killed run
 * keeps every finished item. The core calls this layer through weft__dispatch_layer.
 *
 * A job narrowed to its misses runs on gathered copies of their inputs (BYTES: of the
 * pointers) and outputs, with index_of naming each one's item; results are put back in
 * the caller's arrays as the backend reports them (on_item), and stored in batched
 * writes as batches finish (on_batch; see STORE_EVERY_NS). */
#include "memory_internal.h"
#include "../core/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A reduction is cut into cached maps of this many tasks, folded as they finish. */
#define REDUCE_WINDOW 4096
/* Finished items wait in their job until a batch ends, then go to the store in one
 * batched write (at most this many at a time)... */
#define STORE_BATCH 256
/* ...unless the thread ending the batch stored less than this long ago: then they wait
 * for a later batch's end (or the call's), so a map of tiny tasks makes one write (one
 * transaction on the packed store) per this much time and thread, not one per batch of
 * a few items. A kill then loses at most what finished in this window, besides the
 * in-flight items; tasks slower than it are stored at each batch's end, as they finish. */
#define STORE_EVERY_NS 1000000

typedef struct narrowed {
    weft_memory *m;
    /* the job as its caller described it */
    size_t n;
    const unsigned char *inputs;
    unsigned char *outputs;
    const weft_bytes *in_bytes;
    weft_bytes *out_bytes;
    size_t *out_caps;
    weft_status *statuses;
    void (*on_item)(weft__job *job, size_t index, int code, const char *message);
    void (*on_batch)(weft__job *job);
    /* what the narrowed job runs on (all NULL when every item missed: nothing moved) */
    size_t *index_of;
    unsigned char *in_buf, *out_buf;
    weft_bytes *in_list, *out_list;
    weft_status *status_list;
    uint64_t start_ns;
    /* finished items not yet stored (any thread's: a job's last items are stored by
     * whichever thread ends a batch, or by end()) */
    weft_plat_mutex lock;
    size_t n_pending;
    weft__memory_item pending[STORE_BATCH];
} narrowed;

/* When this thread last reported an item of a job: an item's compute time is the time
 * since (a worker runs its items one after another), for the entries' saved-time record. */
static _Thread_local struct {
    const void *job;
    uint64_t at_ns;
} last_done;

/* When this thread last stored items of any job (STORE_EVERY_NS). */
static _Thread_local uint64_t stored_ns;

static void store(weft__job *job, const weft__memory_item *items, size_t n) {
    narrowed *st = job->layer_state;
    weft__memory_store_items(st->m, job->call.task, items, n);
    stored_ns = weft_plat_now_ns();
    if (weft__tracing) {
        char args[48];
        snprintf(args, sizeof args, "\"stored\":%zu", n);
        weft__trace_instant("cache store", "cache", args);
    }
}

/* Store the job's pending items (called with its lock held; returns with it released):
 * they are copied out and written outside the lock, or under it when no copy can be
 * made. The copy is on the heap: worker stacks may be small (Web Workers). */
static void flush_locked(weft__job *job, narrowed *st) {
    size_t n = st->n_pending;
    weft__memory_item *items = n ? malloc(n * sizeof *items) : NULL;
    if (n && !items) {
        store(job, st->pending, n);
        st->n_pending = 0;
        weft_plat_mutex_unlock(&st->lock);
        return;
    }
    if (n) memcpy(items, st->pending, n * sizeof *items);
    st->n_pending = 0;
    weft_plat_mutex_unlock(&st->lock);
    if (n) store(job, items, n);
    free(items);
}

static void store_pending(weft__job *job) {
    narrowed *st = job->layer_state;
    weft_plat_mutex_lock(&st->lock);
    flush_locked(job, st);
}

static void keep(weft__job *job, const weft__memory_item *it) {
    narrowed *st = job->layer_state;
    weft_plat_mutex_lock(&st->lock);
    st->pending[st->n_pending++] = *it;
    if (st->n_pending == STORE_BATCH)
        flush_locked(job, st);
    else
        weft_plat_mutex_unlock(&st->lock);
}

static weft_bytes item_input(const narrowed *st, const weft__job *job, size_t k) {
    if (job->call.kind == WEFT__JOB_BYTES) return st->in_bytes[k];
    return (weft_bytes){(void *)(st->inputs + k * job->call.in_size), job->call.in_size};
}

/* Item j of the narrowed job finished (or failed, or was skipped): put its result where
 * the caller wants it, store it, and tell the caller's on_item under its own index. */
static void on_item(weft__job *job, size_t j, int code, const char *message) {
    narrowed *st = job->layer_state;
    size_t k = st->index_of ? st->index_of[j] : j;
    if (code == 0) {
        uint64_t now = weft_plat_now_ns();
        uint64_t since = last_done.job == job && last_done.at_ns > st->start_ns ? last_done.at_ns : st->start_ns;
        last_done.job = job;
        last_done.at_ns = now;
        weft_bytes in = item_input(st, job, k);
        weft__memory_item it = {.in = in.data, .in_size = in.size, .compute_ns = (int64_t)(now - since)};
        if (job->call.kind == WEFT__JOB_BYTES) {
            it.out = job->call.out_bytes[j].data;
            it.out_size = job->call.out_bytes[j].size;
        } else {
            it.out = job->call.outputs + j * job->call.out_size;
            it.out_size = job->call.out_size;
        }
        if (st->index_of && job->call.kind == WEFT__JOB_MAP && job->call.out_size) {
            memcpy(st->outputs + k * job->call.out_size, it.out, job->call.out_size);
            it.out = st->outputs + k * job->call.out_size;
        }
        if (st->index_of && job->call.kind == WEFT__JOB_BYTES) {
            /* into the caller's own outputs and reused buffers */
            if (weft__take_output(st->out_bytes, st->out_caps, k, &job->call.out_bytes[j]) != 0) {
                code = WEFT_ENOMEM;
                message = "out of memory for a task's output";
            }
            it.out = st->out_bytes[k].data;
        }
        /* the output stays where it is until the call ends: the store reads it there */
        if (code == 0) keep(job, &it);
    }
    if (st->index_of && code != 0 && st->statuses) {
        st->statuses[k] = job->call.statuses[j]; /* its message moves with it */
        job->call.statuses[j].message = NULL;
    }
    if (st->on_item) st->on_item(job, k, code, message);
}

/* A batch ended on this thread: what the job finished goes to the store in one write,
 * unless this thread stored a moment ago (STORE_EVERY_NS). */
static void on_batch(weft__job *job) {
    narrowed *st = job->layer_state;
    if (weft_plat_now_ns() - stored_ns >= STORE_EVERY_NS) store_pending(job);
    if (st->on_batch) st->on_batch(job);
}

/* Serve the hits of items [0, n): outputs filled, on_item told; `found` marks them. */
static int serve_hits(weft__job *job, narrowed *st, unsigned char *found, size_t *misses) {
    enum { WINDOW = 1024 };
    weft_bytes ins[WINDOW], values[WINDOW];
    size_t value_size = job->call.kind == WEFT__JOB_MAP ? job->call.out_size : SIZE_MAX;
    *misses = 0;
    for (size_t at = 0; at < st->n; at += WINDOW) {
        size_t w = st->n - at < WINDOW ? st->n - at : WINDOW;
        for (size_t i = 0; i < w; i++) ins[i] = item_input(st, job, at + i);
        int rc = weft__memory_lookup_items(st->m, job->call.task, ins, w, value_size, values, found + at);
        if (rc) return rc;
        for (size_t i = 0; i < w; i++) {
            size_t k = at + i;
            if (!found[k]) {
                (*misses)++;
                continue;
            }
            if (job->call.kind == WEFT__JOB_MAP) {
                if (job->call.out_size) memcpy(st->outputs + k * job->call.out_size, values[i].data, job->call.out_size);
                weft_bytes_free(&values[i], 1);
            } else if (weft__take_output(job->call.out_bytes, job->call.out_caps, k, &values[i]) != 0) {
                weft_bytes_free(&values[i], 1);
                found[k] = 0; /* no room to hand it over: run it */
                (*misses)++;
                continue;
            }
            if (st->on_item) st->on_item(job, k, 0, NULL);
        }
    }
    return 0;
}

/* Narrow the job to its misses: gathered inputs, fresh outputs, index_of. */
static int narrow(weft__job *job, narrowed *st, const unsigned char *found, size_t misses) {
    st->index_of = malloc(misses * sizeof *st->index_of);
    if (!st->index_of) return WEFT_ENOMEM;
    for (size_t k = 0, j = 0; k < st->n; k++)
        if (!found[k]) st->index_of[j++] = k;
    if (job->call.kind == WEFT__JOB_MAP) {
        if (job->call.in_size && !(st->in_buf = malloc(misses * job->call.in_size))) return WEFT_ENOMEM;
        if (job->call.out_size && !(st->out_buf = malloc(misses * job->call.out_size))) return WEFT_ENOMEM;
        for (size_t j = 0; j < misses && job->call.in_size; j++)
            memcpy(st->in_buf + j * job->call.in_size, st->inputs + st->index_of[j] * job->call.in_size, job->call.in_size);
        job->call.inputs = st->in_buf;
        job->call.outputs = st->out_buf;
    } else {
        st->in_list = malloc(misses * sizeof *st->in_list);
        st->out_list = calloc(misses, sizeof *st->out_list);
        if (!st->in_list || !st->out_list) return WEFT_ENOMEM;
        for (size_t j = 0; j < misses; j++) st->in_list[j] = st->in_bytes[st->index_of[j]];
        job->call.in_bytes = st->in_list;
        job->call.out_bytes = st->out_list;
        job->call.out_caps = NULL;
    }
    if (st->statuses) {
        if (!(st->status_list = calloc(misses, sizeof *st->status_list))) return WEFT_ENOMEM;
        job->call.statuses = st->status_list;
    }
    job->call.index_of = st->index_of;
    job->call.n = misses;
    return 0;
}

static void release(narrowed *st, size_t narrowed_n) {
    weft_plat_mutex_destroy(&st->lock);
    free(st->index_of);
    free(st->in_buf);
    free(st->out_buf);
    free(st->in_list);
    if (st->out_list) weft_bytes_free(st->out_list, narrowed_n); /* failed items' leftovers */
    free(st->out_list);
    if (st->status_list) weft_status_free(st->status_list, narrowed_n);
    free(st->status_list);
    free(st);
}

/* ---- reductions: cached maps of REDUCE_WINDOW tasks, folded on the calling thread in
 * task order (into each task's chunk in deterministic mode), so the bits are those of
 * the uncached reduction on any backend */

static int reduce_cached(weft__job *job) {
    const weft_reducer *r = job->call.reducer;
    size_t window = job->call.n_tasks < REDUCE_WINDOW ? job->call.n_tasks : REDUCE_WINDOW;
    unsigned char *outs = malloc(window * job->call.out_size + 1);
    if (!outs) return weft__set_error(WEFT_ENOMEM, "weft_reduce: out of memory for a window of %zu outputs", window);
    weft_options call = job->options;
    int rc = 0;
    size_t chunk = 0;
    for (size_t a = 0; a < job->call.n_tasks && rc == 0; a += window) {
        size_t b = job->call.n_tasks - a < window ? job->call.n_tasks : a + window;
        weft__job part = {.call = {.kind = WEFT__JOB_MAP, .n = b - a, .task = job->call.task, .inputs = job->call.inputs + a * job->call.in_size, .in_size = job->call.in_size, .outputs = outs, .out_size = job->call.out_size, .begin = job->call.begin + a}};
        rc = weft__job_execute_part(&part, job, &call);
        for (size_t i = a; i < b && rc == 0; i++) {
            void *acc = job->call.accs;
            if (job->call.chunked) {
                while (i >= job->call.n_tasks * (chunk + 1) / job->call.n) chunk++;
                acc = job->call.accs + chunk * job->call.acc_stride;
            }
            r->fold(acc, outs + (i - a) * job->call.out_size, job->call.out_size, r->user);
        }
        if (rc == 0) weft__job_progress(job, job->call.n * b / job->call.n_tasks);
    }
    free(outs);
    job->served = job->call.n;
    job->call.n = 0;
    return rc;
}

/* ---- the layer */

static int begin(weft__job *job) {
    if (job->call.kind == WEFT__JOB_REDUCE) return reduce_cached(job);
    if (job->call.kind != WEFT__JOB_MAP && job->call.kind != WEFT__JOB_BYTES) return 0;
    narrowed *st = calloc(1, sizeof *st);
    unsigned char *found = malloc(job->call.n + 1);
    if (!st || !found) {
        free(st);
        free(found);
        return weft__set_error(WEFT_ENOMEM, "out of memory narrowing a cached map");
    }
    int rc = 0;
    {
        *st = (narrowed){.m = job->options.memory, .n = job->call.n, .inputs = job->call.inputs, .outputs = job->call.outputs, .in_bytes = job->call.in_bytes, .out_bytes = job->call.out_bytes, .out_caps = job->call.out_caps, .statuses = job->call.statuses, .on_item = job->on_item, .on_batch = job->on_batch};
        weft_plat_mutex_init(&st->lock);
        size_t misses;
        rc = serve_hits(job, st, found, &misses);
        if (rc == 0 && weft__tracing) {
            char args[64];
            snprintf(args, sizeof args, "\"hits\":%zu,\"misses\":%zu", st->n - misses, misses);
            weft__trace_instant(misses ? "cache miss" : "cache hit", "cache", args);
        }
        if (rc == 0) {
            job->served = st->n - misses;
            if (misses > 0 && misses < st->n)
                rc = narrow(job, st, found, misses);
            else
                job->call.n = misses; /* all hits: nothing to dispatch; all misses: as it is */
        }
    }
    free(found);
    if (rc) {
        job->call.n = st->n;
        release(st, 0);
        return weft_last_error()->code == rc ? rc : weft__set_error(rc, "out of memory narrowing a cached map");
    }
    st->start_ns = weft_plat_now_ns();
    job->layer_state = st;
    job->on_item = on_item;
    job->on_batch = on_batch;
    return 0;
}

static void end(weft__job *job) {
    narrowed *st = job->layer_state;
    if (!st) return;
    store_pending(job); /* what no batch's end stored */
    size_t narrowed_n = job->call.n;
    /* the failure was recorded in the narrowed job's item numbers */
    if (st->index_of && atomic_load(&job->failed) && job->failure.index >= 0)
        job->failure.index = (int64_t)st->index_of[job->failure.index];
    job->call.n = st->n;
    job->call.inputs = st->inputs;
    job->call.outputs = st->outputs;
    job->call.in_bytes = st->in_bytes;
    job->call.out_bytes = st->out_bytes;
    job->call.out_caps = st->out_caps;
    job->call.statuses = st->statuses;
    job->on_item = st->on_item;
    job->on_batch = st->on_batch;
    job->call.index_of = NULL;
    job->layer_state = NULL;
    release(st, st->index_of ? narrowed_n : 0);
}

const weft__dispatch_layer weft__memory_layer = {begin, end};
