/* The trace: events formatted as they happen into one buffer, written to a temporary
 * file as it fills, merged with the worker processes' part files and renamed into place
 * when the trace stops. Events are JSON objects one per line, each followed by a comma,
 * so part files append as they are. */
#include "trace.h"
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int weft__tracing;

#define FLUSH_AT (1u << 20)
#define MAX_PARTS 1024

static struct {
    weft_plat_mutex lock;
    int lock_ready;
    unsigned generation;
    int pid;
    int fd;     /* the temporary file (or the part file in a worker) */
    int part;   /* this process records a part for its parent */
    char *path; /* where the trace goes (the parent) */
    char *tmp;  /* written to until it stops */
    char *buf;
    size_t len, cap;
    int failed; /* a write failed: reported at stop */
    char *parts[MAX_PARTS];
    int n_parts;
    atomic_int env_done; /* WEFT_TRACE looked at: the first call of any thread does it once */
    char process_name[64];
    _Atomic uint64_t next_id;
    int track_pid;         /* weft__trace_set_identity's, or 0 */
    int64_t clock_offset;  /* added to every timestamp (not to durations) */
    int64_t clock_error;   /* how far off clock_offset may be */
    void (*on_stop)(void); /* brings in remote parts before they merge */
} tr = {.fd = -1};

static _Thread_local int my_tid;
static _Thread_local unsigned my_named; /* the generation this thread's name was written in */
static _Thread_local char my_name[48];
static _Atomic int next_tid = 1;

static void lock_init(void) {
    static weft_plat_spinlock once;
    weft_plat_spin_lock(&once);
    if (!tr.lock_ready) weft_plat_mutex_init(&tr.lock), tr.lock_ready = 1;
    weft_plat_spin_unlock(&once);
}

/* Append `s` to the buffer; flushes it to the file past FLUSH_AT. Holds the lock. */
static void put_locked(const char *s, size_t n) {
    if (tr.len + n > tr.cap) {
        size_t cap = tr.cap ? tr.cap * 2 : 64 * 1024;
        while (cap < tr.len + n) cap *= 2;
        char *grown = realloc(tr.buf, cap);
        if (!grown) {
            tr.failed = 1;
            return;
        }
        tr.buf = grown, tr.cap = cap;
    }
    memcpy(tr.buf + tr.len, s, n);
    tr.len += n;
}

static void flush_locked(void) {
    if (tr.len && tr.fd >= 0 && weft_plat_write_all(tr.fd, tr.buf, tr.len) != 0) tr.failed = 1;
    tr.len = 0;
}

static int tid(void) {
    if (!my_tid) my_tid = atomic_fetch_add(&next_tid, 1);
    return my_tid;
}

/* One event line; the thread's name goes first when this trace has not seen it. */
static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...) {
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof line - 3) n = (int)sizeof line - 3; /* args are kept short */
    line[n++] = ',', line[n++] = '\n';
    char name[160] = "";
    int k = 0;
    if (my_named != tr.generation) {
        my_named = tr.generation;
        k = snprintf(name, sizeof name, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":\"%s\"}},\n",
                     tr.pid, tid(), my_name[0] ? my_name : "calling thread");
    }
    weft_plat_mutex_lock(&tr.lock);
    if (weft__tracing) {
        if (k > 0) put_locked(name, (size_t)k);
        put_locked(line, (size_t)n);
        if (tr.len >= FLUSH_AT) flush_locked();
    }
    weft_plat_mutex_unlock(&tr.lock);
}

/* Microseconds with nanosecond digits: exact, so slices nest as they did. */
#define US_FMT "%llu.%03llu"
#define US(ns) (unsigned long long)((ns) / 1000u), (unsigned long long)((ns) % 1000u)
/* A timestamp: on rank 0's clock (the offset is 0 but on MPI ranks of other nodes). */
#define TS(ns) US((uint64_t)((int64_t)(ns) + tr.clock_offset))

/* A name as a JSON string body: quotes, backslashes and control characters dropped, other
 * than ASCII shown as '?' (a name cut short must not end inside a UTF-8 sequence). */
static const char *clean(const char *s, char *out, size_t size) {
    size_t j = 0;
    for (; s && *s && j + 1 < size; s++)
        if (*s != '"' && *s != '\\' && (unsigned char)*s >= 0x20) out[j++] = (unsigned char)*s < 0x7f ? *s : '?';
    out[j] = '\0';
    return out;
}

void weft__trace_name_thread(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(my_name, sizeof my_name, fmt, ap);
    va_end(ap);
}
void weft__trace_name_process(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tr.process_name, sizeof tr.process_name, fmt, ap);
    va_end(ap);
}

static void write_process_name(void) {
    char name[64];
    emit("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,\"args\":{\"name\":\"%s\"}}", tr.pid,
         clean(tr.process_name[0] ? tr.process_name : "weft calling process", name, sizeof name));
}

/* Open the file and switch recording on. Holds nothing. */
static int begin(int fd, int part) {
    lock_init();
    weft_plat_mutex_lock(&tr.lock);
    tr.fd = fd;
    tr.part = part;
    tr.pid = part && tr.track_pid ? tr.track_pid : weft_plat_getpid();
    tr.len = 0;
    tr.failed = 0;
    tr.generation++;
    weft__tracing = 1;
    weft_plat_mutex_unlock(&tr.lock);
    write_process_name();
    /* a reader can tell how far this process's times may stray from the trace's clock */
    if (part && tr.track_pid) {
        int64_t off = tr.clock_offset;
        uint64_t mag = off < 0 ? 0 - (uint64_t)off : (uint64_t)off;
        emit("{\"ph\":\"M\",\"name\":\"trace_clock\",\"pid\":%d,\"tid\":0,\"args\":{\"offset_us\":%s" US_FMT
             ",\"error_us\":" US_FMT "}}",
             tr.pid, off < 0 ? "-" : "", US(mag), US((uint64_t)tr.clock_error));
    }
    return 0;
}

/* Switch recording off and write what is left. */
static void end(void) {
    weft_plat_mutex_lock(&tr.lock);
    weft__tracing = 0;
    tr.generation++;
    flush_locked();
    weft_plat_mutex_unlock(&tr.lock);
}

int weft_trace_start(const char *path) {
    if (!path || !*path) return weft__set_error(WEFT_EINVAL, "weft_trace_start: no path given");
    lock_init();
    if (weft__tracing) return weft__set_error(WEFT_EINVAL, "weft_trace_start(\"%s\"): a trace is already recording (to \"%s\")", path, tr.path ? tr.path : "a parent's part");
    size_t len = strlen(path);
    char *p = malloc(len + 1), *tmp = malloc(len + 32);
    if (!p || !tmp) {
        free(p), free(tmp);
        return weft__set_error(WEFT_ENOMEM, "weft_trace_start: out of memory");
    }
    memcpy(p, path, len + 1);
    snprintf(tmp, len + 32, "%s.tmp-%d", path, weft_plat_getpid());
    weft_plat_unlink(tmp);
    int fd = weft_plat_create_excl(tmp);
    if (fd < 0) {
        int e = fd;
        free(p), free(tmp);
        return weft__set_error(WEFT_ESYS, "weft_trace_start: cannot create \"%s\": %s", path, weft_plat_strerror(e));
    }
    static const char head[] = "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"producer\":\"weft\"},\"traceEvents\":[\n";
    if (weft_plat_write_all(fd, head, sizeof head - 1) != 0) {
        weft_plat_close(fd), weft_plat_unlink(tmp), free(p), free(tmp);
        return weft__set_error(WEFT_ESYS, "weft_trace_start: cannot write \"%s\"", path);
    }
    tr.path = p, tr.tmp = tmp, tr.n_parts = 0;
    atomic_store(&tr.env_done, 1); /* a trace started by hand wins over WEFT_TRACE */
    return begin(fd, 0);
}

/* Append part file `path` to fd and remove it; missing parts (a worker that never ran a
 * batch) are fine. */
static int append_part(int fd, const char *path) {
    int in = weft_plat_open_read(path);
    if (in < 0) return 0;
    char chunk[64 * 1024];
    int64_t got;
    int rc = 0;
    while ((got = weft_plat_read(in, chunk, sizeof chunk)) > 0)
        if (weft_plat_write_all(fd, chunk, (size_t)got) != 0) rc = -1;
    weft_plat_close(in);
    weft_plat_unlink(path);
    return rc;
}

int weft_trace_stop(void) {
    if (!tr.lock_ready || !weft__tracing || tr.part) return weft__set_error(WEFT_EINVAL, "weft_trace_stop: no trace is recording");
    if (tr.on_stop) tr.on_stop();
    emit("{\"ph\":\"i\",\"s\":\"g\",\"name\":\"trace end\",\"pid\":%d,\"tid\":%d,\"ts\":" US_FMT "}", tr.pid, tid(),
         TS(weft_plat_now_ns()));
    end();
    int rc = tr.failed ? -1 : 0;
    for (int i = 0; i < tr.n_parts; i++) {
        if (append_part(tr.fd, tr.parts[i]) != 0) rc = -1;
        free(tr.parts[i]);
    }
    tr.n_parts = 0;
    /* the last event ends without a comma */
    char tail[160];
    int n = snprintf(tail, sizeof tail, "{\"ph\":\"M\",\"name\":\"trace_clock\",\"pid\":%d,\"tid\":0,\"args\":{\"clock\":\"CLOCK_MONOTONIC\"}}\n]}\n", tr.pid);
    if (weft_plat_write_all(tr.fd, tail, (size_t)n) != 0) rc = -1;
    if (weft_plat_close(tr.fd) != 0) rc = -1;
    tr.fd = -1;
    if (rc == 0 && weft_plat_rename(tr.tmp, tr.path) != 0) rc = -2;
    if (rc) {
        weft__set_error(WEFT_ESYS, "weft_trace_stop: could not write the trace to \"%s\"", tr.path);
        weft_plat_unlink(tr.tmp);
    }
    free(tr.path), free(tr.tmp);
    tr.path = tr.tmp = NULL;
    return rc ? WEFT_ESYS : 0;
}

static void stop_at_exit(void) {
    if (weft__tracing && !tr.part && weft_trace_stop() != 0) {
        const char *m = weft_last_error()->message;
        weft_plat_write_stderr(m, strlen(m));
        weft_plat_write_stderr("\n", 1);
    }
}

void weft__trace_in_worker(void) {
    /* a worker forked straight from a tracing parent holds a copy of its state: the
     * parent's file descriptor and buffer are not this process's to write */
    atomic_store(&tr.env_done, 1);
    weft__tracing = 0;
    if (tr.lock_ready) weft_plat_mutex_init(&tr.lock);
    tr.fd = -1;
    tr.len = 0;
    tr.n_parts = 0;
    tr.path = tr.tmp = NULL;
}

void weft__trace_set_identity(int track_pid, int64_t clock_offset_ns, int64_t error_ns) {
    tr.track_pid = track_pid;
    tr.clock_offset = clock_offset_ns;
    tr.clock_error = error_ns;
}

void weft__trace_on_stop(void (*fn)(void)) { tr.on_stop = fn; }

void weft__trace_env_done(void) { atomic_store(&tr.env_done, 1); }

void weft__trace_from_env(void) {
    /* two first calls at once: only the one that flips the flag starts the trace */
    if (atomic_load_explicit(&tr.env_done, memory_order_relaxed) || atomic_exchange(&tr.env_done, 1)) return;
    const char *path = weft_plat_getenv("WEFT_TRACE");
    if (!path || !*path) return;
    if (weft_trace_start(path) != 0) {
        char m[400];
        int n = snprintf(m, sizeof m, "weft: WEFT_TRACE: %s (no trace is written)\n", weft_last_error()->message);
        weft_plat_write_stderr(m, (size_t)(n < (int)sizeof m ? n : (int)sizeof m - 1));
        return;
    }
    atexit(stop_at_exit);
}

int weft__trace_begin_part(const char *part) {
    if (weft__tracing) {
        end();
        weft_plat_close(tr.fd);
        tr.fd = -1;
    }
    if (!part) return 0;
    weft_plat_unlink(part);
    int fd = weft_plat_create_excl(part);
    if (fd < 0) return fd;
    return begin(fd, 1);
}

void weft__trace_flush(void) {
    weft_plat_mutex_lock(&tr.lock);
    flush_locked();
    weft_plat_mutex_unlock(&tr.lock);
}

const char *weft__trace_part_for(int pid) {
    if (!weft__tracing || tr.part) return NULL;
    char name[64]; /* the generation: a trace restarted under the same name gets new parts */
    snprintf(name, sizeof name, ".part-%u-%d", tr.generation, pid);
    size_t len = strlen(tr.tmp) + strlen(name) + 1;
    weft_plat_mutex_lock(&tr.lock);
    const char *found = NULL;
    for (int i = 0; i < tr.n_parts && !found; i++) {
        size_t l = strlen(tr.parts[i]), k = strlen(name);
        if (l >= k && strcmp(tr.parts[i] + l - k, name) == 0) found = tr.parts[i];
    }
    if (!found && tr.n_parts < MAX_PARTS && (tr.parts[tr.n_parts] = malloc(len))) {
        snprintf(tr.parts[tr.n_parts], len, "%s%s", tr.tmp, name);
        found = tr.parts[tr.n_parts++];
    }
    weft_plat_mutex_unlock(&tr.lock);
    return found;
}

unsigned weft__trace_generation(void) { return tr.generation; }

/* ---- events */

static uint64_t new_id(void) {
    /* unique across the processes of one trace: the pid in the high bits */
    return ((uint64_t)(unsigned)tr.pid << 24) + atomic_fetch_add(&tr.next_id, 1) + 1;
}

static const char *task_name(const weft__job *job, char *out, size_t size) {
    if (job->call.kind == WEFT__JOB_FOR) return "weft_for";
    return clean(job->call.task ? job->call.task->name : "?", out, size);
}

void weft__trace_call_begin(weft__job *job) {
    weft__job *outer = weft__current_job();
    job->trace_call = new_id();
    job->trace_parent = outer ? outer->trace_call : 0;
    job->trace_opener_index = outer ? (int64_t)weft__job_call_index(outer, weft__current_index()) : -1;
    job->trace_opener_tid = tid();
    atomic_store(&job->trace_claimed, 0);
    atomic_store(&job->trace_done, 0);
}

void weft__trace_call_end(weft__job *job, uint64_t t0) {
    char name[96];
    uint64_t t1 = weft_plat_now_ns();
    emit("{\"ph\":\"X\",\"cat\":\"call\",\"name\":\"map %s\",\"pid\":%d,\"tid\":%d,\"ts\":" US_FMT ",\"dur\":" US_FMT
         ",\"args\":{\"call\":%llu,\"parent\":%llu,\"opened_by\":%lld,\"items\":%zu,\"served\":%zu,\"level\":%d,\"backend\":\"%s\"}}",
         task_name(job, name, sizeof name), tr.pid, tid(), TS(t0), US(t1 - t0), (unsigned long long)job->trace_call,
         (unsigned long long)job->trace_parent, (long long)job->trace_opener_index, job->call.n, job->served,
         job->level, job->pool ? weft__pool_backend(job->pool)->name : "?");
}

void weft__trace_batch(weft__job *job, size_t begin, size_t end, uint64_t t0, uint64_t t1) {
    weft__trace_batch_as(job, begin, end, end > begin ? weft__job_call_index(job, begin) : 0, t0, t1);
    if (job->level == 0 && !tr.part) { /* a worker process's counts are its parent's */
        size_t n = job->call.n;
        size_t claimed = atomic_load(&job->trace_claimed);
        size_t done = atomic_fetch_add(&job->trace_done, end - begin) + (end - begin);
        weft__trace_progress(job, n > claimed ? n - claimed : 0, done + job->served);
    }
}

void weft__trace_batch_as(weft__job *job, size_t begin, size_t end, size_t first_index, uint64_t t0, uint64_t t1) {
    char name[96];
    int me = tid();
    unsigned long long flow = 0;
    /* a nested call's batch: an arrow from the item that opened it (a thread of this
     * process: the opener waits in the call while its batches run) */
    if (job->trace_parent && job->trace_opener_tid) {
        flow = (unsigned long long)new_id();
        emit("{\"ph\":\"s\",\"cat\":\"nested\",\"name\":\"nested map\",\"id\":%llu,\"pid\":%d,\"tid\":%d,\"ts\":" US_FMT "}",
             flow, tr.pid, job->trace_opener_tid, TS(t0));
    }
    emit("{\"ph\":\"X\",\"cat\":\"batch\",\"name\":\"%s [%zu, %zu)\",\"pid\":%d,\"tid\":%d,\"ts\":" US_FMT ",\"dur\":" US_FMT
         ",\"args\":{\"call\":%llu,\"begin\":%zu,\"end\":%zu,\"first_index\":%zu,\"level\":%d}}",
         task_name(job, name, sizeof name), begin, end, tr.pid, me, TS(t0), US(t1 - t0),
         (unsigned long long)job->trace_call, begin, end, first_index, job->level);
    if (flow)
        emit("{\"ph\":\"f\",\"bp\":\"e\",\"cat\":\"nested\",\"name\":\"nested map\",\"id\":%llu,\"pid\":%d,\"tid\":%d,\"ts\":" US_FMT "}",
             flow, tr.pid, me, TS(t0));
}

void weft__trace_task(const weft__job *job, size_t index, uint64_t t0, uint64_t t1, int code) {
    char name[96];
    emit("{\"ph\":\"X\",\"cat\":\"task\",\"name\":\"%s #%zu\",\"pid\":%d,\"tid\":%d,\"ts\":" US_FMT ",\"dur\":" US_FMT
         ",\"args\":{\"call\":%llu,\"index\":%zu,\"code\":%d}}",
         task_name(job, name, sizeof name), weft__job_call_index(job, index), tr.pid, tid(), TS(t0), US(t1 - t0),
         (unsigned long long)job->trace_call, weft__job_call_index(job, index), code);
}

void weft__trace_progress(const weft__job *job, size_t queued, size_t done) {
    uint64_t now = weft_plat_now_ns();
    emit("{\"ph\":\"C\",\"name\":\"queue depth\",\"pid\":%d,\"tid\":%d,\"ts\":" US_FMT ",\"args\":{\"queued\":%zu}}",
         tr.pid, tid(), TS(now), queued);
    emit("{\"ph\":\"C\",\"name\":\"items done\",\"pid\":%d,\"tid\":%d,\"ts\":" US_FMT ",\"args\":{\"done\":%zu}}",
         tr.pid, tid(), TS(now), done);
    (void)job;
}

void weft__trace_instant(const char *name, const char *cat, const char *args) {
    char n[96], c[32];
    emit("{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"%s\",\"name\":\"%s\",\"pid\":%d,\"tid\":%d,\"ts\":" US_FMT ",\"args\":{%s}}",
         clean(cat, c, sizeof c), clean(name, n, sizeof n), tr.pid, tid(), TS(weft_plat_now_ns()), args ? args : "");
}
