/* Streaming results: weft_imap / weft_next.
 *
 * The window is two chunks of inputs. Each chunk runs as an asynchronous job; while the
 * reader drains one chunk the workers run the other, and a chunk is refilled from the
 * source only once all of its results were read. So at most `window` tasks exist at
 * once, memory stays flat, and a slow reader holds the workers back. Workers report
 * finished items a run at a time, and the reader takes a run's items without looking at
 * them one by one: for an ordered reader workers mark where each run ends at its first
 * item and the reader waits for the next index; for an unordered one they publish runs
 * (spans) to a completion ring. A reader with nothing to read helps run its own chunks;
 * an unordered one takes the items it ran itself from a list of its own (no atomics, no
 * shared cache line). */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_WINDOW 16384
#define SPIN_NS 100000u

typedef struct chunk {
    weft__job job; /* job.call.begin: the index of its first item in the whole stream */
    struct weft_iter *it;
    int which;
    weft_bytes *ins;
    size_t *in_caps; /* copies of source inputs: capacity of each */
    weft_bytes *outs;
    size_t *out_caps;      /* output buffers are kept and reused across refills */
    weft_status *statuses; /* collect mode */
    /* ordered: at the first item of each finished run, run_mark(its end, how it ended);
     * written once per run and fill, so a refill resets nothing (see mark_run) */
    atomic_size_t *runs;
    /* the reader's, written per item: off the line the workers read above */
    _Alignas(64) size_t count; /* items in it now */
    size_t read;               /* items taken into the reading span (ordered: the next to take) */
    int running;               /* submitted and not finished */
} chunk;

/* How an item ended; an unordered span's items all ended the same way. */
enum { PENDING,
       OK,
       FAILED,
       SKIPPED };

/* An unordered stream's ring slot: items [head >> 4, end) of chunk (head >> 1) & 1 ended
 * as (head >> 2) & 3 says. `end` is written first; the release store of `head`, with its
 * lap tag in bit 0, makes the span and its items' outputs visible. */
typedef struct span_slot {
    atomic_size_t head, end;
} span_slot;

/* A span as the reader keeps it: its own items, and the one being read (both orders: an
 * ordered reader takes a finished run as its span). */
typedef struct span {
    size_t begin, end;
    int which;
    int state;
} span;

struct weft_iter {
    weft_pool *pool;
    weft_options call;
    const weft_task_def *task;
    weft_source source;
    const unsigned char *array; /* weft_imap_array: inputs are borrowed from here */
    size_t array_in_size, array_n;
    int ordered, collect;
    size_t chunk_size;
    chunk chunks[2];
    chunk *current; /* ordered: the chunk being read */
    size_t fed;     /* inputs taken from the source so far */
    int source_done;
    int error; /* sticky: once non-zero every weft_next returns it */
    int plain; /* no error and no progress to report: weft_next's fast path may answer */
    weft_error error_record;
    uint64_t deadline_ns;
    unsigned interrupts_seen;
    int watch_interrupts;
    size_t batch_start; /* where the next chunk's batches start: the last one's size */
    weft__progress progress;
    /* unordered: finished items as spans [begin, end) of one chunk, at most one per batch.
     * The ring holds what other threads ran, `mine` what the reader ran. Both have
     * 2^ring_bits slots, at least the window, so they never overflow: each span holds at
     * least one item, an item is published once per refill, and a chunk is refilled only
     * after all of its items were read. */
    span *mine;
    size_t ring_head, mine_head, mine_tail;
    span reading;         /* the span being read: items [reading.begin, reading.end) left */
    chunk *reading_chunk; /* its chunk */
    /* weft_next's fast path hands out items below this: reading.end while the iterator is
     * plain and the span succeeded, else 0 (one compare decides) */
    size_t fast_end;
    /* what the workers read, on a line of their own: the reader's writes above do not
     * evict it from their caches */
    _Alignas(64) span_slot *ring;
    unsigned ring_bits;
    _Atomic(const char *) reader; /* the reading thread's reader_mark */
    _Alignas(64) atomic_size_t ring_tail;
    /* a reader with nothing to do sleeps here */
    _Alignas(64) atomic_int sleeping;
    weft_plat_mutex lock;
    weft_plat_cond wake;
};

/* Its address tells the reading thread from the others. */
static _Thread_local char reader_mark;

/* The tag a ring entry written at `pos` carries: 1 on even laps, 0 on odd ones, so an
 * entry left from the lap before (or never written) does not look ready. */
static size_t lap_tag(const weft_iter *it, size_t pos) { return ((pos >> it->ring_bits) & 1) ^ 1; }

/* A thread gathers its run of finished items here and publishes it as one span when the
 * run breaks or its batch ends (on_batch): one ring slot and one shared write per batch
 * instead of per item. The reading thread publishes its runs to its own list, and before
 * it looks for spans (a backend may report items on it outside any batch). Empty (c
 * NULL) when nothing is gathered. */
static _Thread_local struct {
    struct chunk *c;
    size_t begin, end;
    int state;
} run;

/* The reader's own items go straight to its private list, extending the last span. */
static void keep_mine(weft_iter *it, int which, size_t begin, size_t end, int state) {
    size_t mask = ((size_t)1 << it->ring_bits) - 1;
    if (it->mine_tail != it->mine_head) {
        span *last = &it->mine[(it->mine_tail - 1) & mask];
        if (last->which == which && last->state == state && last->end == begin) {
            last->end = end;
            return;
        }
    }
    it->mine[it->mine_tail++ & mask] = (span){begin, end, which, state};
}

static void publish(chunk *c, size_t begin, size_t end, int state) {
    weft_iter *it = c->it;
    if (atomic_load_explicit(&it->reader, memory_order_relaxed) == &reader_mark) {
        keep_mine(it, c->which, begin, end, state);
        return;
    }
    size_t mask = ((size_t)1 << it->ring_bits) - 1;
    /* a slot is reused a lap later only after the reader refilled the chunk of its last
     * span, which reaches this thread through the pool's lock: relaxed is enough */
    size_t pos = atomic_fetch_add_explicit(&it->ring_tail, 1, memory_order_relaxed);
    span_slot *slot = &it->ring[pos & mask];
    atomic_store_explicit(&slot->end, end, memory_order_relaxed);
    atomic_store_explicit(&slot->head, begin << 4 | (size_t)state << 2 | (size_t)c->which << 1 | lap_tag(it, pos),
                          memory_order_release);
}

static void publish_run(void) {
    if (!run.c) return;
    publish(run.c, run.begin, run.end, run.state);
    run.c = NULL;
}

/* Wake the reader if it sleeps, after publishing results. The fence pairs with the
 * reader's store of `sleeping` before it checks for results: one of the two sees the other. */
static void wake_reader(weft_iter *it) {
    weft_plat_full_fence();
    if (atomic_load_explicit(&it->sleeping, memory_order_relaxed)) {
        weft_plat_mutex_lock(&it->lock);
        weft_plat_cond_broadcast(&it->wake);
        weft_plat_mutex_unlock(&it->lock);
    }
}

/* Publish this thread's run and wake the reader if it sleeps. */
static void publish_and_wake(weft_iter *it) {
    publish_run();
    wake_reader(it);
}

/* Skipped items are the only ones reported without a message. */
static int ended(int code, const char *message) { return code == 0 ? OK : message ? FAILED
                                                                                  : SKIPPED; }

/* Ordered: a run [k, end) of chunk c that ended as `state` is marked at its first item
 * with its end in the whole stream. A mark left there by an earlier fill ends at or before
 * this fill's first item, so it never passes for one of this fill (run_ready). The
 * release store makes the run's outputs visible with it. */
static size_t run_mark(size_t end_in_stream, int state) { return end_in_stream << 2 | (size_t)state; }

static void mark_run(chunk *c, size_t k, size_t end, int state) {
    atomic_store_explicit(&c->runs[k], run_mark(c->job.call.begin + end, state), memory_order_release);
}

/* The mark of the run that starts at item k of c in this fill, or 0 while none ended. */
static size_t run_ready(const chunk *c, size_t k) {
    size_t mark = atomic_load_explicit(&c->runs[k], memory_order_acquire);
    return (mark >> 2) > c->job.call.begin + k ? mark : 0;
}

/* Ordered: a failed or skipped item is a run of its own. */
static void on_item_ordered(weft__job *job, size_t k, int code, const char *message) {
    chunk *c = job->on_item_user;
    mark_run(c, k, k + 1, ended(code, message));
    if (atomic_load_explicit(&c->it->sleeping, memory_order_relaxed)) wake_reader(c->it);
}

/* Ordered, items this process's threads ran: one mark per run of successes (on_run). */
static void on_run_ordered(weft__job *job, size_t begin, size_t end) {
    chunk *c = job->on_item_user;
    mark_run(c, begin, end, OK);
    if (atomic_load_explicit(&c->it->sleeping, memory_order_relaxed)) wake_reader(c->it);
}

/* Unordered, the rest: a run that breaks, or a reader that sleeps. */
__attribute__((noinline)) static void start_run(weft__job *job, size_t k, int code, const char *message) {
    chunk *c = job->on_item_user;
    int state = ended(code, message);
    if (run.c == c && run.end == k && run.state == state) {
        run.end = k + 1;
    } else {
        publish_run();
        run.c = c, run.begin = k, run.end = k + 1, run.state = state;
    }
    /* a reader that waits gets each item as it finishes, not at the batch's end */
    if (atomic_load_explicit(&c->it->sleeping, memory_order_relaxed)) publish_and_wake(c->it);
}

/* Unordered: a finished item extends this thread's run (a compare and an add). The rest
 * goes out of line, with the same arguments, so this saves no registers. */
static void on_item_unordered(weft__job *job, size_t k, int code, const char *message) {
    chunk *c = job->on_item_user;
    if (__builtin_expect(code == 0 && run.c == c && run.end == k && run.state == OK, 1) &&
        !atomic_load_explicit(&c->it->sleeping, memory_order_relaxed)) {
        run.end = k + 1;
        return;
    }
    start_run(job, k, code, message);
}

/* Unordered, items this process's threads ran: a run of successes at once (on_run). */
static void on_run_unordered(weft__job *job, size_t begin, size_t end) {
    chunk *c = job->on_item_user;
    if (run.c == c && run.end == begin && run.state == OK) {
        run.end = end;
    } else {
        publish_run();
        run.c = c, run.begin = begin, run.end = end, run.state = OK;
    }
    if (atomic_load_explicit(&c->it->sleeping, memory_order_relaxed)) publish_and_wake(c->it);
}

/* Each batch's end publishes the run (unordered) and wakes a sleeping reader. */
static void on_batch(weft__job *job) {
    chunk *c = job->on_item_user;
    publish_and_wake(c->it);
}

/* ---- filling and running chunks */

/* The next input from the source into slot k of c: 1, 0 at the end, or the source's error. */
static int take_input(weft_iter *it, chunk *c, size_t k) {
    weft_bytes in = {NULL, 0};
    int rc = it->source.next(it->source.user, &in);
    if (rc <= 0) return rc;
    if (in.size > 0 && !in.data) return weft__set_error(WEFT_EINVAL, "the source gave input %zu with size %zu but no data", it->fed, in.size);
    if (in.size > c->in_caps[k]) {
        void *grown = realloc(c->ins[k].data, in.size);
        if (!grown) return weft__set_error(WEFT_ENOMEM, "out of memory copying input %zu", it->fed);
        c->ins[k].data = grown;
        c->in_caps[k] = in.size;
    }
    if (in.size) memcpy(c->ins[k].data, in.data, in.size);
    c->ins[k].size = in.size;
    return 1;
}

static void fail(weft_iter *it, int code) {
    if (it->error) return;
    it->error = code;
    it->plain = 0;
    it->fast_end = 0;
    it->error_record = *weft_last_error();
    for (int i = 0; i < 2; i++)
        if (it->chunks[i].running) atomic_store(&it->chunks[i].job.stop, 1);
}

/* Finish a chunk's job and release what its results hold. */
static void retire(weft_iter *it, chunk *c) {
    if (c->running) {
        weft__job_finish(&c->job);
        c->running = 0;
        size_t grown = atomic_load_explicit(&c->job.batch_grown, memory_order_relaxed);
        if (grown) it->batch_start = grown;
    }
    /* a backend that reports items on this thread without ending a batch (a crashed
     * worker's) leaves no run pointing here */
    if (run.c == c) run.c = NULL;
    if (it->collect) weft_status_free(c->statuses, c->count);
    c->count = c->read = 0;
}

/* Refill a drained chunk from the source and start it. */
static int refill(weft_iter *it, chunk *c) {
    retire(it, c);
    if (it->source_done || it->error) return 0;
    size_t k = 0;
    if (it->array) { /* borrowed in place: a pointer and a size each */
        k = it->array_n - it->fed < it->chunk_size ? it->array_n - it->fed : it->chunk_size;
        const unsigned char *at = it->array + it->fed * it->array_in_size;
        for (size_t i = 0; i < k; i++) c->ins[i] = (weft_bytes){(void *)(at + i * it->array_in_size), it->array_in_size};
        it->fed += k;
        it->source_done = it->fed == it->array_n;
    }
    for (; !it->array && k < it->chunk_size; k++) {
        int rc = take_input(it, c, k);
        if (rc < 0) {
            if (!weft_last_error()->message[0] || weft_last_error()->code != rc)
                weft__set_error(rc, "the input source failed at input %zu: %s", it->fed, weft_strerror(rc));
            fail(it, rc);
            return rc;
        }
        if (rc == 0) {
            it->source_done = 1;
            break;
        }
        it->fed++;
    }
    if (k == 0) return 0;
    c->count = k;
    c->read = 0;
    if (it->collect) memset(c->statuses, 0, k * sizeof *c->statuses);
    weft__job *job = &c->job;
    memset(job, 0, sizeof *job);
    job->call.kind = WEFT__JOB_BYTES;
    job->call.n = k;
    job->call.begin = it->fed - k; /* weft_task_index: the position in the whole stream */
    job->call.task = it->task;
    job->call.in_bytes = c->ins;
    job->call.out_bytes = c->outs;
    job->call.out_caps = c->out_caps;
    job->on_batch = on_batch;
    job->call.statuses = it->collect ? c->statuses : NULL;
    job->on_item = it->ordered ? on_item_ordered : on_item_unordered;
    job->on_run = it->ordered ? on_run_ordered : on_run_unordered;
    job->eager = &it->sleeping;
    job->batch_start = it->batch_start;
    job->on_item_user = c;
    int rc = weft__job_prepare(job, it->pool, &it->call, 1);
    if (rc == 0) {
        job->deadline_ns = it->deadline_ns;
        job->interrupts_seen = it->interrupts_seen;
        rc = weft__job_submit(job);
        if (rc) {
            weft__set_error(rc, "could not start a chunk of tasks");
            weft__job_finish(job);
        }
    }
    if (rc) {
        fail(it, rc);
        return rc;
    }
    c->running = 1;
    return 0;
}

static int stream_failure(weft_iter *it, chunk *c);

/* ---- waiting for results */

/* Wait until `ready()` holds or a chunk's job stops, helping the jobs meanwhile. A
 * sleeping reader wakes at least every few milliseconds to notice a Ctrl-C or a passed
 * deadline itself: a stopped job may never report its unclaimed items. */
static void wait_for(weft_iter *it, int (*ready)(weft_iter *, void *), void *arg) {
    uint64_t spin_until = 0;
    while (!ready(it, arg)) {
        int helped = 0, stopped = 0;
        for (int i = 0; i < 2; i++) {
            chunk *c = &it->chunks[i];
            if (!c->running) continue;
            if (weft__job_check_stop(&c->job))
                stopped = 1;
            else if (!helped)
                helped = weft__job_help(&c->job);
        }
        if (stopped) return;
        if (helped) continue;
        if (!spin_until) spin_until = weft_plat_now_ns() + SPIN_NS;
        if (weft_plat_now_ns() < spin_until) {
            weft_plat_cpu_relax();
            continue;
        }
        weft_plat_mutex_lock(&it->lock);
        atomic_store(&it->sleeping, 1);
        if (!ready(it, arg)) weft_plat_cond_timedwait(&it->wake, &it->lock, 5000000u);
        atomic_store(&it->sleeping, 0);
        weft_plat_mutex_unlock(&it->lock);
    }
}

static int item_done(weft_iter *it, void *arg) {
    (void)it;
    chunk *c = arg;
    return run_ready(c, c->read) != 0;
}

/* The span in it->reading is the one read from now on. */
static void start_reading(weft_iter *it) {
    it->reading_chunk = &it->chunks[it->reading.which];
    it->fast_end = it->plain && it->reading.state == OK ? it->reading.end : 0;
}

/* Ordered: make the next finished run of the current chunk the one being read (counted
 * as read now, as an unordered span is); 1, 0 at the end, or the stream's failure. */
static int take_run(weft_iter *it) {
    chunk *c = it->current;
    if (c->read == c->count) {
        /* this chunk is drained: refill it behind the other one, then read the other */
        int rc = refill(it, c);
        if (rc) return rc;
        c = it->current = &it->chunks[c->which ^ 1];
        if (c->read == c->count) return 0; /* both empty: the end */
    }
    if (!item_done(it, c)) {
        wait_for(it, item_done, c);
        if (!item_done(it, c)) return stream_failure(it, c); /* its job stopped first */
    }
    size_t mark = run_ready(c, c->read);
    it->reading = (span){c->read, (mark >> 2) - c->job.call.begin, c->which, (int)(mark & 3)};
    start_reading(it);
    c->read = it->reading.end;
    return 1;
}

/* Unordered: make the next finished span the one being read; 0 when none is ready yet.
 * The reader's own run goes to its list first. */
static int take_span(weft_iter *it) {
    publish_run();
    size_t mask = ((size_t)1 << it->ring_bits) - 1;
    if (it->mine_head != it->mine_tail) {
        it->reading = it->mine[it->mine_head++ & mask];
    } else {
        span_slot *slot = &it->ring[it->ring_head & mask];
        size_t head = atomic_load_explicit(&slot->head, memory_order_acquire);
        if ((head & 1) != lap_tag(it, it->ring_head)) return 0;
        it->reading.end = atomic_load_explicit(&slot->end, memory_order_relaxed);
        it->reading.begin = head >> 4;
        it->reading.state = (int)(head >> 2) & 3;
        it->reading.which = (int)(head >> 1) & 1;
        it->ring_head++;
    }
    start_reading(it);
    it->reading_chunk->read += it->reading.end - it->reading.begin;
    return 1;
}

static int queue_ready(weft_iter *it, void *arg) {
    (void)arg;
    publish_run();
    size_t mask = ((size_t)1 << it->ring_bits) - 1;
    if (it->mine_head != it->mine_tail) return 1;
    size_t head = atomic_load_explicit(&it->ring[it->ring_head & mask].head, memory_order_acquire);
    return (head & 1) == lap_tag(it, it->ring_head);
}

/* ---- the public calls */

/* Results handed out so far, counted instead of kept (no store per item): every input
 * taken, less what the chunks hold unread (an unordered span counts as read when taken,
 * so its items left are subtracted too). */
static size_t yielded(const weft_iter *it) {
    size_t unread = it->reading.end - it->reading.begin;
    for (int i = 0; i < 2; i++) unread += it->chunks[i].count - it->chunks[i].read;
    return it->fed - unread;
}

static int check_limits(weft_iter *it) {
    if (it->error) return it->error;
    if (weft__progress_due(&it->progress) && weft__progress_update(&it->progress, yielded(it))) {
        weft__set_error(WEFT_ECANCELED, "cancelled by the progress callback");
        fail(it, WEFT_ECANCELED);
    }
    return it->error;
}

/* The stream ends with the job's failure (the first one, or the cancellation); the
 * reader also stops when the other chunk's job fails, and then that failure is the one. */
static int stream_failure(weft_iter *it, chunk *c) {
    chunk *other = &it->chunks[c->which ^ 1];
    if (!atomic_load(&c->job.failed) && atomic_load(&other->job.failed)) c = other;
    if (atomic_load(&c->job.failed)) {
        fail(it, weft__job_failure_error(&c->job));
    } else if (!it->error) {
        fail(it, weft__set_error(WEFT_ECANCELED, "the stream was cancelled"));
    }
    return it->error;
}

/* Hand out item k of chunk c, which succeeded. */
static void hand_out(const chunk *c, size_t k, weft_result *r) {
    r->index = c->job.call.begin + k;
    r->code = 0;
    r->data = c->outs[k].data;
    r->size = c->outs[k].size;
    r->message = NULL;
}

/* Hand out item k of chunk c, which ended as `state`, or end the stream with its failure. */
static int deliver(weft_iter *it, chunk *c, size_t k, int state, weft_result *r) {
    if (state == SKIPPED || (state == FAILED && !it->collect)) return stream_failure(it, c);
    r->index = c->job.call.begin + k;
    r->code = state == FAILED ? c->statuses[k].code : 0;
    r->data = c->outs[k].data;
    r->size = c->outs[k].size;
    r->message = state == FAILED ? c->statuses[k].message : NULL;
    return 1;
}

/* Unordered: the next finished span, refilling the chunks it drained; 1, 0 at the end,
 * or the stream's failure. */
static int take_next_span(weft_iter *it) {
    /* a chunk drains at the end of a span: refill it now that its last result is read */
    for (int i = 0; i < 2; i++) {
        chunk *c = &it->chunks[i];
        if (c->count && c->read == c->count && refill(it, c)) return it->error;
    }
    if (it->chunks[0].read == it->chunks[0].count && it->chunks[1].read == it->chunks[1].count) return 0;
    if (!take_span(it)) {
        wait_for(it, queue_ready, NULL);
        if (!take_span(it)) /* a job stopped first */
            return stream_failure(it, &it->chunks[it->chunks[0].running && weft__job_stopping(&it->chunks[0].job) ? 0 : 1]);
    }
    return 1;
}

static int next_item(weft_iter *it, weft_result *r) {
    if (it->reading.begin == it->reading.end) {
        int rc = it->ordered ? take_run(it) : take_next_span(it);
        if (rc != 1) return rc;
    }
    int rc = deliver(it, it->reading_chunk, it->reading.begin, it->reading.state, r);
    /* a drained chunk is refilled on the next call, once its result has been read */
    if (rc == 1) it->reading.begin++;
    return rc;
}

/* weft_next's every other case: waiting, refilling, a failure, the end, progress. */
__attribute__((noinline)) static int next_slow(weft_iter *it, weft_result *r) {
    if (!it || !r) return weft__set_error(WEFT_EINVAL, "weft_next: iterator and result must not be NULL");
    if (check_limits(it)) {
        weft_error *e = (weft_error *)weft_last_error();
        *e = it->error_record;
        return it->error;
    }
    /* stored only when it changes: workers read it, and a store would take their copy */
    if (atomic_load_explicit(&it->reader, memory_order_relaxed) != &reader_mark)
        atomic_store_explicit(&it->reader, &reader_mark, memory_order_relaxed);
    int rc = next_item(it, r);
    if (rc == 0) {
        weft__progress_end(&it->progress, yielded(it));
        it->progress.verbose = 0, it->progress.fn = NULL; /* report the end once */
        it->plain = !it->error;
        weft__clear_error();
    }
    if (rc < 0) {
        weft_error *e = (weft_error *)weft_last_error();
        *e = it->error_record;
    }
    return rc;
}

int weft_next(weft_iter *it, weft_result *r) {
    /* the common case in a few loads, saving no register, the same for both orders: the
     * span being read holds a result that succeeded, and nothing failed or reports progress */
    if (__builtin_expect(it && r && it->reading.begin < it->fast_end, 1)) {
        hand_out(it->reading_chunk, it->reading.begin++, r);
        return 1;
    }
    return next_slow(it, r);
}

static int open_iter(weft_pool *pool, const weft_task_def *task, const weft_iter_options *options,
                     weft_iter **out, weft_iter *proto) {
    if (!out) return weft__set_error(WEFT_EINVAL, "weft_imap: out is NULL");
    *out = NULL;
    int rc = weft__check_task("weft_imap", task);
    if (rc) return rc;
    weft_iter_options o = {1, 0, 0};
    if (options) o = *options;
    weft_options call;
    rc = weft__pool_for_call(&pool, &call);
    if (rc) return rc;
    weft_iter *it = aligned_alloc(_Alignof(weft_iter), sizeof *it); /* its lines apart */
    if (!it) return weft__set_error(WEFT_ENOMEM, "weft_imap: out of memory");
    *it = *proto;
    it->pool = pool;
    it->call = call;
    it->task = task;
    it->ordered = o.ordered != 0;
    it->collect = o.collect != 0;
    size_t window = o.window ? o.window : DEFAULT_WINDOW;
    it->chunk_size = window / 2 ? window / 2 : 1;
    it->deadline_ns = call.timeout_s > 0 ? weft_plat_now_ns() + (uint64_t)(call.timeout_s * 1e9) : 0;
    weft_plat_mutex_init(&it->lock);
    weft_plat_cond_init(&it->wake);
    while (it->ring_bits < 8 * sizeof(size_t) - 2 && ((size_t)1 << it->ring_bits) < 2 * it->chunk_size)
        it->ring_bits++; /* a window too big for memory fails the allocation below */
    if (!it->ordered) {
        it->ring = calloc((size_t)1 << it->ring_bits, sizeof *it->ring);
        it->mine = calloc((size_t)1 << it->ring_bits, sizeof *it->mine);
    }
    atomic_store_explicit(&it->reader, &reader_mark, memory_order_relaxed);
    int ok = it->ordered || (it->ring && it->mine);
    for (int i = 0; i < 2 && ok; i++) {
        chunk *c = &it->chunks[i];
        c->it = it;
        c->which = i;
        c->ins = calloc(it->chunk_size, sizeof *c->ins);
        c->in_caps = calloc(it->chunk_size, sizeof *c->in_caps);
        c->outs = calloc(it->chunk_size, sizeof *c->outs);
        c->out_caps = calloc(it->chunk_size, sizeof *c->out_caps);
        c->statuses = it->collect ? calloc(it->chunk_size, sizeof *c->statuses) : NULL;
        c->runs = it->ordered ? calloc(it->chunk_size, sizeof *c->runs) : NULL;
        ok = c->ins && c->in_caps && c->outs && c->out_caps && (!it->ordered || c->runs) && (!it->collect || c->statuses);
    }
    if (!ok) {
        weft_iter_close(it);
        return weft__set_error(WEFT_ENOMEM, "weft_imap: out of memory for a window of %zu", window);
    }
    /* a source of unknown length shows a count without a total */
    weft__progress_begin(&it->progress, &call, it->array ? it->array_n : 0);
    it->plain = !(it->progress.verbose > 0 || it->progress.fn);
    it->current = &it->chunks[0];
    it->watch_interrupts = weft__current_job() == NULL;
    if (it->watch_interrupts) weft_plat_interrupt_begin();
    it->interrupts_seen = weft_plat_interrupt_count();
    *out = it;
    refill(it, &it->chunks[0]);
    refill(it, &it->chunks[1]);
    if (it->error) {
        rc = it->error;
        weft_iter_close(it);
        *out = NULL;
        return rc;
    }
    weft__clear_error();
    return 0;
}

int weft_imap(weft_iter **out, weft_pool *pool, const weft_task_def *task, const weft_source *source,
              const weft_iter_options *options) {
    if (!source || !source->next) {
        if (out) *out = NULL;
        return weft__set_error(WEFT_EINVAL, "weft_imap: the source needs a next function");
    }
    weft_iter proto;
    memset(&proto, 0, sizeof proto);
    proto.source = *source;
    return open_iter(pool, task, options, out, &proto);
}

int weft_imap_array(weft_iter **out, weft_pool *pool, const weft_task_def *task, const void *inputs,
                    size_t in_size, size_t n, const weft_iter_options *options) {
    int rc = weft__check_map_args("weft_imap_array", task, inputs, in_size, n, NULL, 0);
    if (rc) {
        if (out) *out = NULL;
        return rc;
    }
    static const unsigned char nothing[1];
    weft_iter proto;
    memset(&proto, 0, sizeof proto);
    proto.array = inputs ? inputs : nothing;
    proto.array_in_size = in_size;
    proto.array_n = n;
    return open_iter(pool, task, options, out, &proto);
}

void weft_iter_close(weft_iter *it) {
    if (!it) return;
    for (int i = 0; i < 2; i++)
        if (it->chunks[i].running) atomic_store(&it->chunks[i].job.stop, 1);
    for (int i = 0; i < 2; i++) {
        chunk *c = &it->chunks[i];
        if (c->ins || c->outs) retire(it, c);
        if (!it->array && c->ins)
            for (size_t k = 0; k < it->chunk_size; k++) free(c->ins[k].data);
        if (c->outs) weft_bytes_free(c->outs, it->chunk_size);
        free(c->ins);
        free(c->in_caps);
        free(c->outs);
        free(c->out_caps);
        free(c->statuses);
        free(c->runs);
    }
    free(it->ring);
    free(it->mine);
    if (it->watch_interrupts) weft_plat_interrupt_end();
    weft_plat_cond_destroy(&it->wake);
    weft_plat_mutex_destroy(&it->lock);
    free(it);
}
