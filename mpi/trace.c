/* The trace (core/trace.c) across ranks. While rank 0 traces, it tells each rank before its
 * first batch of a call; the rank records its batches and tasks into a part file of its
 * own, as a worker process does (a track per rank, named with rank and host). When the
 * trace stops, rank 0 asks every rank it told for its part, over MPI (ranks of other nodes
 * may not share rank 0's folders), and writes it where weft__trace_part_for says: the
 * trace merges it with the worker processes' parts.
 *
 * One clock: the ranks of rank 0's node read the same CLOCK_MONOTONIC. A rank of another
 * node measures its offset to rank 0's clock when told (clock_offset: pings, combined as
 * NTP does) and adds it to every timestamp it writes; its part says how far off that may
 * be (a trace_clock event). Its track's pid is 2^22 + rank: Linux pids stay below 2^22,
 * so it cannot be taken for a process of rank 0's node. */
#define _GNU_SOURCE
#include "../core/trace.h"
#include "mpi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Pings: at least MIN_PINGS, then until the offset is known to PING_WIDTH_NS or
 * PING_BUDGET_NS have passed. A busy node can make every round trip long (ms): more of
 * them narrow the offset down, and the budget bounds rank 0's wait. */
#define MIN_PINGS 4
#define PING_WIDTH_NS 20000
#define PING_BUDGET_NS 10000000
#define REMOTE_PID_BASE (1 << 22)

typedef struct msg_trace {
    int32_t on;        /* 1: record; 0: stop and send the part */
    int32_t track_pid; /* the rank's pid in the trace */
    int32_t ping;      /* measure the offset to rank 0's clock first */
    int32_t pad;
} msg_trace;

/* ---- rank 0 */

static unsigned *told; /* per rank: the trace generation it was told of (0: none) */
static int32_t *track; /* per rank: its pid in that trace */

static int ping_wanted(int rank) {
    const char *v = getenv("WEFT_MPI_TRACE_CLOCK"); /* "ping": measure on this node too (tests) */
    if (v && strcmp(v, "ping") == 0) return 1;
    return !weft__mpi_on_root_node(rank);
}

int weft__mpi_trace_tell(int rank) {
    unsigned gen = weft__trace_generation();
    if (!weft__tracing || (told && told[rank] == gen)) return 0;
    if (!told) {
        int size;
        MPI_Comm_size(weft__mpi_comm, &size);
        told = calloc((size_t)size, sizeof *told);
        track = calloc((size_t)size, sizeof *track);
        if (!told || !track) {
            free(told), free(track);
            told = NULL, track = NULL;
            return WEFT_ENOMEM;
        }
    }
    int remote = !weft__mpi_on_root_node(rank);
    msg_trace m = {1, remote ? REMOTE_PID_BASE + rank : weft__mpi_ranks()[rank].pid, ping_wanted(rank), 0};
    if (MPI_Send(&m, sizeof m, MPI_BYTE, rank, TAG_TRACE, weft__mpi_comm) != MPI_SUCCESS) return WEFT_ESYS;
    /* answer each ping with this clock, until the rank says it is done (it decides when) */
    for (int32_t more = m.ping; more;) {
        MPI_Recv(&more, sizeof more, MPI_BYTE, rank, TAG_TRACE_CLOCK, weft__mpi_comm, MPI_STATUS_IGNORE);
        if (!more) break;
        uint64_t now = weft_plat_now_ns();
        MPI_Send(&now, sizeof now, MPI_BYTE, rank, TAG_TRACE_CLOCK, weft__mpi_comm);
    }
    told[rank] = gen;
    track[rank] = m.track_pid;
    return 0;
}

/* Rank `rank`'s part, in pieces ending with an empty one, into the trace's part file. */
static void receive_part(int rank) {
    const char *path = weft__trace_part_for(track[rank]);
    int fd = -1;
    if (path) {
        weft_plat_unlink(path);
        fd = weft_plat_create_excl(path);
    }
    weft__mpi_inbox box = {0};
    for (;;) {
        MPI_Status st;
        if (MPI_Probe(rank, TAG_TRACE_PART, weft__mpi_comm, &st) != MPI_SUCCESS) break;
        size_t len;
        unsigned char *p = weft__mpi_recv(&st, &box, &len);
        if (!p || !len) break;
        if (fd >= 0 && weft_plat_write_all(fd, p, len) != 0) {
            weft_plat_close(fd);
            fd = -1; /* a gap in the trace, not a failure of the program */
        }
    }
    if (fd >= 0) weft_plat_close(fd);
    free(box.p);
}

void weft__mpi_trace_collect(void) {
    if (!told || weft__mpi_broken || weft__mpi_comm == MPI_COMM_NULL) return;
    unsigned gen = weft__trace_generation();
    int size;
    MPI_Comm_size(weft__mpi_comm, &size);
    msg_trace m = {0, 0, 0, 0};
    for (int r = 1; r < size; r++)
        if (told[r] == gen && weft__tracing) MPI_Send(&m, sizeof m, MPI_BYTE, r, TAG_TRACE, weft__mpi_comm);
    for (int r = 1; r < size; r++)
        if (told[r] == gen && weft__tracing) receive_part(r);
    memset(told, 0, (size_t)size * sizeof *told);
}

/* ---- the other ranks */

static char part[512]; /* this rank's part file, while it records */

/* Rank 0's clock minus this one's, and how far off that may be (ns). A ping sent at a and
 * answered at b (this clock) read rank 0's clock at some time between them: the offset lies
 * in [root - b, root - a]. Every ping's interval holds it, so their intersection does
 * (empty only if a clock jumped: then the narrowest alone); the offset is its middle. */
static int64_t clock_offset(int64_t *error) {
    int64_t lo = INT64_MIN, hi = INT64_MAX, best_lo = 0, best_hi = INT64_MAX;
    uint64_t start = weft_plat_now_ns();
    for (int i = 0;; i++) {
        int done = i >= MIN_PINGS && ((lo <= hi && hi - lo <= PING_WIDTH_NS) || weft_plat_now_ns() - start >= PING_BUDGET_NS);
        int32_t more = !done;
        uint64_t root, a = weft_plat_now_ns();
        MPI_Send(&more, sizeof more, MPI_BYTE, 0, TAG_TRACE_CLOCK, weft__mpi_comm);
        if (done) break;
        MPI_Recv(&root, sizeof root, MPI_BYTE, 0, TAG_TRACE_CLOCK, weft__mpi_comm, MPI_STATUS_IGNORE);
        uint64_t b = weft_plat_now_ns();
        int64_t l = (int64_t)(root - b), h = (int64_t)(root - a);
        if (l > lo) lo = l;
        if (h < hi) hi = h;
        if (h - l < best_hi - best_lo) best_lo = l, best_hi = h;
    }
    if (lo > hi) lo = best_lo, hi = best_hi;
    int64_t offset = lo + (hi - lo) / 2;
    *error = hi - offset;
    return offset;
}

/* Stop recording and send the part to rank 0 (read back from the file: it can be larger
 * than memory would like), then remove it. */
static void send_part(void) {
    weft__trace_begin_part(NULL);
    int fd = part[0] ? weft_plat_open_read(part) : -1;
    static char chunk[1 << 20];
    int64_t got;
    while (fd >= 0 && (got = weft_plat_read(fd, chunk, sizeof chunk)) > 0)
        MPI_Send(chunk, (int)got, MPI_BYTE, 0, TAG_TRACE_PART, weft__mpi_comm);
    if (fd >= 0) weft_plat_close(fd);
    MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_TRACE_PART, weft__mpi_comm);
    if (part[0]) weft_plat_unlink(part);
    part[0] = '\0';
}

void weft__mpi_trace_serve(int rank, const unsigned char *p, size_t len) {
    msg_trace m;
    if (len < sizeof m) return;
    memcpy(&m, p, sizeof m);
    if (!m.on) {
        send_part();
        return;
    }
    int64_t error = 0, offset = m.ping ? clock_offset(&error) : 0;
    const char *host = weft__mpi_ranks()[0].host; /* this rank's own */
    weft__trace_name_process("weft mpi rank %d (pid %d on %s)", rank, (int)getpid(), host);
    weft__trace_name_thread("rank %d on %s", rank, host);
    weft__trace_set_identity(m.track_pid, offset, error);
    const char *tmp = getenv("TMPDIR");
    snprintf(part, sizeof part, "%s/weft-trace-rank%d-%d.part", tmp && *tmp ? tmp : "/tmp", rank, (int)getpid());
    /* a part that cannot be written leaves a gap in the trace, not a failure */
    if (weft__trace_begin_part(part) != 0) part[0] = '\0';
}
