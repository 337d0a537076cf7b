/* The MPI world weft runs in: starting and ending it, who is where, and the backend's
 * registration. Rank 0 runs the program; the others serve (server.c). */
#define _GNU_SOURCE
#include "include/weft_mpi.h"
#include "mpi_internal.h"
#include "../core/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

MPI_Comm weft__mpi_comm = MPI_COMM_NULL;
int weft__mpi_broken;

static int my_rank = -1, world_size = -1;
static int started_mpi; /* weft_mpi_init called MPI_Init: weft finalizes it */
static int finalized;
static weft__mpi_rank *ranks; /* rank 0: all of them; elsewhere: [0] is this rank */

const weft__mpi_rank *weft__mpi_ranks(void) { return ranks; }
int weft__mpi_on_root_node(int rank) { return strcmp(ranks[rank].host, ranks[0].host) == 0; }
int weft_mpi_rank(void) { return my_rank; }
int weft_mpi_size(void) { return world_size; }

void *weft__mpi_alloc(size_t n, size_t *cap) {
    const size_t huge = (size_t)2 << 20;
    if (n < huge / 2) {
        *cap = n ? n : 1;
        return malloc(*cap);
    }
    *cap = (n + huge - 1) & ~(huge - 1);
    void *p = aligned_alloc(huge, *cap);
    if (p) weft_plat_prefer_huge_pages(p, *cap);
    return p;
}

void *weft__mpi_grow(weft__mpi_inbox *box, size_t n) {
    if (box->cap < n || !box->p) {
        size_t cap;
        unsigned char *fresh = weft__mpi_alloc(n, &cap); /* the old bytes are not kept */
        if (!fresh) return NULL;
        free(box->p);
        box->p = fresh;
        box->cap = cap;
    }
    return box->p;
}

unsigned char *weft__mpi_recv(const MPI_Status *st, weft__mpi_inbox *box, size_t *len) {
    int count = 0;
    MPI_Get_count(st, MPI_BYTE, &count);
    *len = count > 0 ? (size_t)count : 0;
    if (!weft__mpi_grow(box, *len)) return NULL;
    return MPI_Recv(box->p, count, MPI_BYTE, st->MPI_SOURCE, st->MPI_TAG, weft__mpi_comm, MPI_STATUS_IGNORE) ==
                   MPI_SUCCESS
               ? box->p
               : NULL;
}

/* Append a line to buf (terminated, cut when full); returns the line's length. */
static size_t append(char *buf, size_t size, size_t at, const char *line) {
    size_t len = strlen(line);
    if (buf && at < size) {
        size_t room = size - at - 1, k = len < room ? len : room;
        memcpy(buf + at, line, k);
        buf[at + k] = '\0';
    }
    return len;
}

size_t weft_mpi_describe(char *buf, size_t size) {
    char line[160];
    if (buf && size) buf[0] = '\0';
    if (my_rank < 0) return append(buf, size, 0, "MPI: not started (weft_mpi_init was not called)\n");
    snprintf(line, sizeof line, "MPI world: %d rank%s%s\n", world_size, world_size == 1 ? "" : "s",
             weft__mpi_broken ? " (a rank died: broken)" : "");
    size_t need = append(buf, size, 0, line);
    int first = my_rank, last = my_rank == 0 ? world_size : my_rank + 1;
    for (int r = first; r < last; r++) {
        const weft__mpi_rank *k = &ranks[my_rank == 0 ? r : 0];
        snprintf(line, sizeof line, "  rank %d: pid %d on %s%s\n", r, (int)k->pid, k->host,
                 r == 0 ? " (runs main)" : "");
        need += append(buf, size, need, line);
    }
    return need;
}

/* Every rank says where it runs; rank 0 keeps the list to name a rank that dies. */
static int gather_ranks(void) {
    weft__mpi_rank me;
    memset(&me, 0, sizeof me);
    me.pid = (int32_t)getpid();
    if (weft__mpi_windows_start(&me.share) != 0) return -1;
    if (gethostname(me.host, sizeof me.host - 1) != 0) snprintf(me.host, sizeof me.host, "?");
    ranks = calloc(my_rank == 0 ? (size_t)world_size : 1, sizeof *ranks);
    if (!ranks) return -1;
    ranks[0] = me;
    return MPI_Gather(&me, sizeof me, MPI_BYTE, ranks, sizeof me, MPI_BYTE, 0, weft__mpi_comm) ==
                   MPI_SUCCESS
               ? 0
               : -1;
}

void weft_mpi_finalize(void) {
    if (my_rank != 0 || finalized) return;
    finalized = 1;
    if (weft__mpi_broken) {
        /* a rank is gone: a collective end (MPI_Finalize) would wait for it forever */
        fprintf(stderr, "weft: mpi: a rank died during the run; ending the MPI job\n");
        fflush(NULL);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    weft__mpi_trace_gather(); /* a trace still recording keeps the ranks' parts */
    for (int r = 1; r < world_size; r++) MPI_Send(NULL, 0, MPI_BYTE, r, TAG_EXIT, weft__mpi_comm);
    weft__mpi_windows_end();
    MPI_Comm_free(&weft__mpi_comm);
    if (started_mpi) MPI_Finalize();
}

static void set_env(const char *name, const char *value) { setenv(name, value, 1); }

/* A rank's CPU budget (docs/nested.md): its node's CPUs over the ranks on that node.
 * Collective: every rank calls it. */
static void take_node_share(void) {
    MPI_Comm node;
    if (MPI_Comm_split_type(weft__mpi_comm, MPI_COMM_TYPE_SHARED, my_rank, MPI_INFO_NULL, &node) != MPI_SUCCESS)
        return;
    int on_node;
    MPI_Comm_size(node, &on_node);
    MPI_Comm_free(&node);
    weft__budget_take_share(weft__budget_share(on_node), set_env);
}

int weft_mpi_init(int *argc, char ***argv) {
    if (my_rank >= 0) return my_rank == 0 ? 0 : WEFT_MPI_SERVED;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        int provided;
        if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
            return weft__set_error(WEFT_ESYS, "weft_mpi_init: MPI_Init failed (run the program "
                                              "with mpirun or srun --mpi=pmix)");
        started_mpi = 1;
    }
    if (MPI_Comm_dup(MPI_COMM_WORLD, &weft__mpi_comm) != MPI_SUCCESS)
        return weft__set_error(WEFT_ESYS, "weft_mpi_init: MPI_Comm_dup failed");
    MPI_Comm_set_errhandler(weft__mpi_comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(weft__mpi_comm, &my_rank);
    MPI_Comm_size(weft__mpi_comm, &world_size);
    if (gather_ranks() != 0) return weft__set_error(WEFT_ESYS, "weft_mpi_init: MPI_Gather failed");
    take_node_share();
    if (!weft_backend_find("mpi")) weft_backend_register(&weft__backend_mpi);
    if (my_rank == 0) {
        weft__trace_name_process("weft mpi rank 0 (pid %d on %s)", (int)ranks[0].pid, ranks[0].host);
        weft__trace_name_thread("rank 0 on %s", ranks[0].host);
        weft__trace_on_stop(weft__mpi_trace_gather);
        if (started_mpi) atexit(weft_mpi_finalize);
        return 0;
    }
    weft__mpi_serve(my_rank);
    weft__mpi_windows_end();
    MPI_Comm_free(&weft__mpi_comm);
    if (started_mpi) {
        MPI_Finalize();
        exit(0);
    }
    return WEFT_MPI_SERVED;
}
