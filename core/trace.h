/* The trace (core/trace.c): Chrome trace-event JSON that Perfetto UI and chrome://tracing
 * open. Everything here costs one branch on weft__tracing when no trace records. Other
 * layers (memory/, native/) report through these functions and include nothing else of it.
 *
 * Tracks: pid is the process, tid a small number per thread (named by metadata events).
 * A worker process records into a part file its parent names; the parent appends every
 * part to the trace when it stops. Times come from weft_plat_now_ns (CLOCK_MONOTONIC,
 * one clock for every process of the machine; an MPI rank on another node adds the offset
 * to rank 0's clock it measured). */
#ifndef WEFT_TRACE_H
#define WEFT_TRACE_H

#include <stddef.h>
#include <stdint.h>

typedef struct weft__job weft__job;

/* Non-zero while a trace records: the one branch the hot paths take. */
extern int weft__tracing;

/* A batch of at most this many items is also traced task by task. */
#define WEFT__TRACE_SMALL_BATCH 8

/* Start the trace from WEFT_TRACE, once per process (the first call does it). */
void weft__trace_from_env(void);
/* WEFT_TRACE is someone else's business here (an MPI serving rank): never start it. */
void weft__trace_env_done(void);
/* First thing in a worker process: forget a parent's trace (a worker forked straight
 * from a tracing parent inherits its state) and never start WEFT_TRACE's. */
void weft__trace_in_worker(void);
/* Name the calling thread's track ("threads worker 2"), and this process's. Cheap; the
 * names are written once per trace, when the thread first records. */
void weft__trace_name_thread(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void weft__trace_name_process(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Worker processes: record into `part` (a file the parent will merge); NULL stops. */
int weft__trace_begin_part(const char *part);
/* Write what this process recorded to its part file (worker processes, after a batch). */
void weft__trace_flush(void);
/* A process recording for another machine's trace (an MPI rank): its track's pid in the
 * trace (0: its own), what to add to its clock to read rank 0's (a rank on another node)
 * and how far off that offset may be. They take effect at the next weft__trace_begin_part,
 * whose part then starts with a trace_clock event that holds the offset and error. */
void weft__trace_set_identity(int track_pid, int64_t clock_offset_ns, int64_t error_ns);
/* The parent's trace is about to stop: `fn` brings in parts recorded elsewhere (MPI ranks)
 * while weft__trace_part_for still names them. One hook, set once. */
void weft__trace_on_stop(void (*fn)(void));
/* The parent: the part file for worker `pid` of the running trace (NULL when none), which
 * weft_trace_stop will merge. The pointer stays valid until the trace stops. */
const char *weft__trace_part_for(int pid);
/* Changes whenever a trace starts or stops, so a backend knows when to tell its workers. */
unsigned weft__trace_generation(void);

/* A job's call: a slice on the calling thread around the whole call (weft__trace_call_end
 * writes it), and an id that links its batches to the task that opened it. */
void weft__trace_call_begin(weft__job *job);
void weft__trace_call_end(weft__job *job, uint64_t t0);
/* Items [begin, end) of `job` ran on this thread from t0 to t1. */
void weft__trace_batch(weft__job *job, size_t begin, size_t end, uint64_t t0, uint64_t t1);
/* The same for `job`, a job narrowed to a batch (its items [0, n): an MPI rank's), shown
 * as items [begin, end) of the call, whose item begin has call index first_index. */
void weft__trace_batch_as(weft__job *job, size_t begin, size_t end, size_t first_index, uint64_t t0, uint64_t t1);
/* Item `index` (the job's) ran from t0 to t1 and ended with `code` (0, or a WEFT_E* code). */
void weft__trace_task(const weft__job *job, size_t index, uint64_t t0, uint64_t t1, int code);
/* Counters of a call: items no worker has claimed yet, items done. */
void weft__trace_progress(const weft__job *job, size_t queued, size_t done);
/* An instant event on this thread's track; `args` is a JSON object's members
 * ("\"hits\":3"), or NULL. */
void weft__trace_instant(const char *name, const char *cat, const char *args);
#endif
