/* weft_shared regions once per node. The ranks on rank 0's node do not each receive a
 * copy in messages (as ranks on other nodes do: backend_mpi.c); they either
 *  - map rank 0's own region memory (Linux: its memfd, opened through /proc/PID/fd, as
 *    the processes backend's workers share it): no copy at all; or, where that is refused,
 *  - see a copy that rank 0 makes in an MPI-3 shared-memory window: one copy per node.
 * WEFT_MPI_REGIONS (rank 0's value holds) picks: "map" (the default: map, else window),
 * "window", or "send" (messages to every rank).
 *
 * Window calls are collective over rank 0's node, so rank 0 first tells each rank there
 * what comes (TAG_WINDOW, TAG_UNWINDOW), between two calls when they wait for messages;
 * then all make the same MPI call. Every rank keeps its windows in the order they were
 * made, so the frees at the end match too. */
#define _GNU_SOURCE
#include "mpi_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

MPI_Comm weft__mpi_node = MPI_COMM_NULL;

typedef struct window {
    uint64_t id;
    MPI_Win win;
} window;

static window *wins;
static size_t n_wins, cap_wins;
static uint64_t synced_gen; /* rank 0: the region generation the windows match */

uint64_t weft__mpi_inode(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

int weft__mpi_open_region(int pid, int fd, uint64_t ino) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
    int mine = open(path, O_RDWR | O_CLOEXEC);
    if (mine >= 0 && ino && weft__mpi_inode(mine) != ino) { /* rank 0 closed it meanwhile */
        close(mine);
        mine = -1;
    }
    return mine;
}

int weft__mpi_windows_start(int *share) {
    *share = SHARE_SEND;
    int mode = SHARE_MAP;
    const char *v = getenv("WEFT_MPI_REGIONS");
    if (v && strcmp(v, "send") == 0) mode = SHARE_SEND;
    if (v && strcmp(v, "window") == 0) mode = SHARE_WINDOW;
    MPI_Bcast(&mode, 1, MPI_INT, 0, weft__mpi_comm);
    if (mode == SHARE_SEND) return 0;
    if (MPI_Comm_split_type(weft__mpi_comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &weft__mpi_node) !=
        MPI_SUCCESS)
        return -1;
    int me, lowest;
    MPI_Comm_rank(weft__mpi_comm, &me);
    MPI_Allreduce(&me, &lowest, 1, MPI_INT, MPI_MIN, weft__mpi_node);
    if (lowest != 0) return 0; /* another node: messages */
    /* Can every rank here open rank 0's memory? Tried on a page of it (node rank 0 is
     * world rank 0: the split keeps the order). */
    int probe[2] = {(int)getpid(), -1}, can = 0;
    void *base = NULL;
    if (me == 0 && mode == SHARE_MAP && weft_plat_shm_create(4096, &base, &probe[1]) != 0) probe[1] = -1;
    MPI_Bcast(probe, 2, MPI_INT, 0, weft__mpi_node);
    if (me == 0) {
        can = probe[1] >= 0;
    } else if (probe[1] >= 0) {
        int fd = weft__mpi_open_region(probe[0], probe[1], 0);
        can = fd >= 0;
        if (fd >= 0) close(fd);
    }
    int all;
    MPI_Allreduce(&can, &all, 1, MPI_INT, MPI_MIN, weft__mpi_node);
    if (me == 0 && probe[1] >= 0) weft_plat_shm_release(base, 4096, probe[1]);
    *share = all ? SHARE_MAP : SHARE_WINDOW;
    return 0;
}

static window *find(uint64_t id) {
    for (size_t i = 0; i < n_wins; i++)
        if (wins[i].id == id) return &wins[i];
    return NULL;
}

int weft__mpi_window_has(uint64_t id) { return find(id) != NULL; }

static void drop(window *w) {
    MPI_Win_free(&w->win);
    memmove(w, w + 1, (size_t)(wins + n_wins - (w + 1)) * sizeof *w); /* order kept */
    n_wins--;
}

/* Every rank of the node: a window of `size` bytes at rank 0 (the others give none). */
static int make(uint64_t id, size_t size, int rank, void **base) {
    if (n_wins == cap_wins) {
        size_t cap = cap_wins ? 2 * cap_wins : 8;
        window *grown = realloc(wins, cap * sizeof *grown);
        if (!grown) return WEFT_ENOMEM;
        wins = grown;
        cap_wins = cap;
    }
    window *w = &wins[n_wins];
    w->id = id;
    if (MPI_Win_allocate_shared(rank == 0 ? (MPI_Aint)size : 0, 1, MPI_INFO_NULL, weft__mpi_node, base, &w->win) !=
        MPI_SUCCESS)
        return WEFT_ESYS; /* collective: every rank of the node fails alike */
    if (rank != 0) {
        MPI_Aint got;
        int unit;
        MPI_Win_shared_query(w->win, 0, &got, &unit, base);
    }
    n_wins++;
    return 0;
}

/* Make the bytes one rank stored in the window visible to the others: all call it. */
static void publish(window *w) {
    MPI_Win_lock_all(MPI_MODE_NOCHECK, w->win);
    MPI_Win_sync(w->win);
    MPI_Win_unlock_all(w->win);
    MPI_Barrier(weft__mpi_node);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, w->win);
    MPI_Win_sync(w->win);
    MPI_Win_unlock_all(w->win);
}

static void tell(const int *near, int n_near, const void *msg, size_t len, int tag) {
    for (int k = 0; k < n_near; k++) MPI_Send(msg, (int)len, MPI_BYTE, near[k], tag, weft__mpi_comm);
}

int weft__mpi_windows_sync(const int *near, int n_near) {
    uint64_t gen = weft__shared_generation();
    if (weft__mpi_node == MPI_COMM_NULL || !n_near || gen == synced_gen) return 0;
    size_t n;
    weft__region *list = weft__shared_list(NULL, &n); /* the user's regions */
    if (!list) return WEFT_ENOMEM;
    for (size_t i = 0; i < n_wins;) {
        int live = 0;
        for (size_t j = 0; j < n && !live; j++) live = list[j].id == wins[i].id;
        if (live) {
            i++;
            continue;
        }
        tell(near, n_near, &wins[i].id, sizeof wins[i].id, TAG_UNWINDOW);
        drop(&wins[i]);
    }
    int rc = 0;
    for (size_t j = 0; j < n && rc == 0; j++) {
        if (find(list[j].id)) continue;
        const void *bytes = weft_shared_ptr((weft_shared){list[j].id});
        if (!bytes) continue; /* sent in messages, which say it is missing */
        msg_region r = {list[j].id, list[j].size};
        tell(near, n_near, &r, sizeof r, TAG_WINDOW);
        void *base;
        rc = make(r.id, r.size, 0, &base);
        if (rc) break;
        memcpy(base, bytes, r.size);
        publish(&wins[n_wins - 1]);
    }
    free(list);
    if (rc == 0) synced_gen = gen;
    return rc;
}

void weft__mpi_window_adopt(int rank, const unsigned char *p, size_t len) {
    msg_region r;
    if (len < sizeof r) return;
    memcpy(&r, p, sizeof r);
    void *base;
    if (make(r.id, r.size, rank, &base) != 0) {
        fprintf(stderr, "weft: mpi: rank %d could not map a %llu-byte shared window\n", rank,
                (unsigned long long)r.size);
        return;
    }
    publish(&wins[n_wins - 1]);
    weft__shared_adopt_at(r.id, base, r.size); /* known already (in messages): the window waits */
}

void weft__mpi_window_forget(const unsigned char *p, size_t len) {
    uint64_t id;
    if (len < sizeof id) return;
    memcpy(&id, p, sizeof id);
    window *w = find(id);
    if (!w) return;
    weft_shared_free((weft_shared){id}); /* the table's entry; the memory is the window's */
    drop(w);
}

void weft__mpi_windows_end(void) {
    while (n_wins) drop(&wins[0]);
    free(wins);
    wins = NULL;
    cap_wins = 0;
    if (weft__mpi_node != MPI_COMM_NULL) MPI_Comm_free(&weft__mpi_node);
}
