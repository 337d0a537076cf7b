/* Running a job's items: the task context, output checks and the first failure. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct weft_task {
    weft__job *job;
    size_t index;
    const void *input;
    size_t input_size;
    void *output; /* fixed-size slot; NULL for variable-size maps */
    int written;
    int worker;
    char message[256];
};

/* The job whose task this thread is running, so a nested call knows its level and pool. */
static _Thread_local weft__job *current_job;
weft__job *weft__current_job(void) { return current_job; }

const void *weft_input(const weft_task *t) { return t->input; }
size_t weft_input_size(const weft_task *t) { return t->input_size; }
size_t weft_task_index(const weft_task *t) { return t->index; }
int weft_worker_id(const weft_task *t) { return t->worker; }
int weft_nesting_level(const weft_task *t) { return t->job->level; }
int weft_cancelled(const weft_task *t) {
    return atomic_load_explicit(&t->job->stop, memory_order_relaxed);
}

int weft_fail(weft_task *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->message, sizeof t->message, fmt, ap);
    va_end(ap);
    return WEFT_ETASK;
}

int weft_output(weft_task *t, const void *data, size_t size) {
    weft__job *job = t->job;
    if (t->written)
        return weft_fail(t, "weft_output called twice by one task"), WEFT_EINVAL;
    if (size > 0 && !data) return weft_fail(t, "weft_output: data is NULL"), WEFT_EINVAL;
    if (job->kind == WEFT__JOB_BYTES) {
        weft_bytes *out = &job->out_bytes[t->index];
        out->data = malloc(size ? size : 1);
        if (!out->data) return WEFT_ENOMEM;
        if (size) memcpy(out->data, data, size);
        out->size = size;
    } else {
        if (size != job->out_size) {
            weft_fail(t, "weft_output got %zu bytes, the map's output size is %zu", size,
                      job->out_size);
            return WEFT_EOUTSIZE;
        }
        if (size) memcpy(t->output, data, size);
    }
    t->written = 1;
    return 0;
}

int weft__job_stopping(const weft__job *job) {
    return atomic_load_explicit(&job->stop, memory_order_relaxed);
}
size_t weft__job_size(const weft__job *job) { return job->n; }
int weft__job_batch_size(const weft__job *job) { return job->batch_size; }

/* The first failure wins; later ones are consequences (or races) and are dropped. */
static void record_failure(weft__job *job, int code, int status, int64_t index,
                           const char *message) {
    if (atomic_exchange(&job->failed, 1) == 0) {
        job->failure.code = code;
        job->failure.status = status;
        job->failure.index = index;
        snprintf(job->failure.message, sizeof job->failure.message, "%s", message);
    }
    atomic_store(&job->stop, 1);
}

/* A task finished with `rc`: decide whether that is a failure and of which kind. */
static void check_result(weft__job *job, weft_task *t, int rc) {
    if (rc == 0 && (t->written || job->kind == WEFT__JOB_FOR || job->out_size == 0)) return;
    if (rc == 0) {
        snprintf(t->message, sizeof t->message,
                 "task returned 0 without calling weft_output (expected %zu bytes)",
                 job->out_size);
        rc = WEFT_EOUTSIZE;
    }
    int code = rc == WEFT_EOUTSIZE ? WEFT_EOUTSIZE : WEFT_ETASK;
    if (!t->message[0]) snprintf(t->message, sizeof t->message, "task returned %d", rc);
    record_failure(job, code, rc, (int64_t)t->index, t->message);
}

size_t weft__job_run(weft__job *job, size_t begin, size_t end, int worker) {
    weft_task t;
    t.job = job;
    t.worker = worker;
    t.message[0] = '\0';
    weft__job *outer = current_job;
    current_job = job;
    size_t i = begin;
    switch (job->kind) {
    case WEFT__JOB_MAP:
        for (; i < end && !atomic_load_explicit(&job->stop, memory_order_relaxed); i++) {
            t.index = i;
            t.input = job->inputs + i * job->in_size;
            t.input_size = job->in_size;
            t.output = job->outputs + i * job->out_size;
            t.written = 0;
            int rc = job->task->fn(&t);
            if (rc != 0 || (!t.written && job->out_size)) check_result(job, &t, rc);
        }
        break;
    case WEFT__JOB_BYTES:
        for (; i < end && !atomic_load_explicit(&job->stop, memory_order_relaxed); i++) {
            t.index = i;
            t.input = job->in_bytes[i].data;
            t.input_size = job->in_bytes[i].size;
            t.output = NULL;
            t.written = 0;
            int rc = job->task->fn(&t);
            if (rc != 0 || !t.written) {
                /* a task with nothing to say still yields an empty buffer */
                if (rc == 0) rc = weft_output(&t, NULL, 0);
                if (rc != 0) check_result(job, &t, rc);
            }
        }
        break;
    case WEFT__JOB_FOR:
        for (; i < end && !atomic_load_explicit(&job->stop, memory_order_relaxed); i++) {
            int rc = job->body(job->begin + i, job->ctx);
            if (rc != 0) {
                t.index = i;
                snprintf(t.message, sizeof t.message, "loop body returned %d at i = %zu", rc,
                         job->begin + i);
                check_result(job, &t, rc);
            }
        }
        break;
    }
    current_job = outer;
    return end - begin; /* skipped items count as gone through */
}

int weft__job_progress_due(const weft__job *job) { return weft__progress_due(&job->progress); }

void weft__job_progress(weft__job *job, size_t done) {
    if (!weft__progress_due(&job->progress)) return;
    if (weft__progress_update(&job->progress, done))
        record_failure(job, WEFT_ECANCELED, 0, -1, "cancelled by the progress callback");
}

void weft__job_finish_remote(weft__job *job, size_t index, int code, int status, const void *out,
                             size_t size, const char *message) {
    if (code == 0 && job->kind == WEFT__JOB_BYTES) {
        weft_bytes *b = &job->out_bytes[index];
        b->data = malloc(size ? size : 1);
        if (!b->data) {
            record_failure(job, WEFT_ENOMEM, 0, (int64_t)index, "out of memory for a task's output");
            return;
        }
        if (size) memcpy(b->data, out, size);
        b->size = size;
        return;
    }
    if (code == 0 && job->kind == WEFT__JOB_MAP) {
        if (size != job->out_size) {
            char why[128];
            snprintf(why, sizeof why, "weft_output got %zu bytes, the map's output size is %zu",
                     size, job->out_size);
            record_failure(job, WEFT_EOUTSIZE, WEFT_EOUTSIZE, (int64_t)index, why);
            return;
        }
        if (size) memcpy(job->outputs + index * job->out_size, out, size);
        return;
    }
    if (code == 0) return;
    record_failure(job, code, status, (int64_t)index, message ? message : weft_strerror(code));
}
