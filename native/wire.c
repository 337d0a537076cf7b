/* Frames between a pool and a worker: an 8-byte header {type, length}, the payload padded
 * to 8 bytes, through two rings in the page both map (ring.c), so that a batch and its
 * answer cost no system call while both sides are awake. Sends are buffered and written
 * in one go. The unix socket beside the rings carries one byte to wake a side that
 * sleeps, the fds of shared regions (SCM_RIGHTS, sent before the frame that names them),
 * and the end of the other side: its close is how a dead worker or a dead pool shows. */
#define _GNU_SOURCE
#include "native.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PAD8(n) (((n) + 7) & ~(size_t)7)

typedef struct frame_header {
    uint32_t type, len;
} frame_header;

void weft__wire_init(weft__wire *w, int fd, weft__ring *tx, weft__ring *rx) {
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->tx = tx;
    w->rx = rx;
}

void weft__wire_close(weft__wire *w) {
    if (w->fd >= 0) close(w->fd);
    for (int i = 0; i < w->n_fds; i++) close(w->fds[i]);
    free(w->fds);
    free(w->in);
    free(w->out);
    memset(w, 0, sizeof *w);
    w->fd = -1;
}

static int reserve(unsigned char **buf, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? *cap : 4096;
    while (cap2 < need) cap2 *= 2;
    unsigned char *grown = realloc(*buf, cap2);
    if (!grown) return -ENOMEM;
    *buf = grown;
    *cap = cap2;
    return 0;
}

int weft__wire_put(weft__wire *w, uint32_t type, const void *a, size_t a_len, const void *b,
                   size_t b_len) {
    size_t len = a_len + b_len;
    if (len > UINT32_MAX) return -EMSGSIZE;
    if (reserve(&w->out, &w->out_cap, w->out_len + sizeof(frame_header) + PAD8(len))) return -ENOMEM;
    frame_header h = {type, (uint32_t)len};
    unsigned char *p = w->out + w->out_len;
    memcpy(p, &h, sizeof h);
    if (a_len) memcpy(p + sizeof h, a, a_len);
    if (b_len) memcpy(p + sizeof h + a_len, b, b_len);
    memset(p + sizeof h + len, 0, PAD8(len) - len);
    w->out_len += sizeof h + PAD8(len);
    return 0;
}

/* ---- the socket */

static int keep_fd(weft__wire *w, int fd) {
    if (w->n_fds == w->cap_fds) {
        int cap = w->cap_fds ? 2 * w->cap_fds : 8;
        int *grown = realloc(w->fds, (size_t)cap * sizeof *grown);
        if (!grown) {
            close(fd);
            return -ENOMEM;
        }
        w->fds = grown;
        w->cap_fds = cap;
    }
    w->fds[w->n_fds++] = fd;
    return 0;
}

/* One receive from the socket: wake-up bytes are dropped, fds kept. >0, 0 at its end,
 * or -errno. */
static ssize_t receive(weft__wire *w, int flags) {
    for (;;) {
        char bytes[64];
        struct iovec iov = {bytes, sizeof bytes};
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int) * 8)];
        } ctl;
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
        ssize_t k = recvmsg(w->fd, &m, MSG_CMSG_CLOEXEC | flags);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < n; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                keep_fd(w, fd);
            }
        }
        return k;
    }
}

/* Everything the socket holds now: 1, or 0 at its end, or -errno. */
static int drain(weft__wire *w) {
    for (;;) {
        ssize_t k = receive(w, MSG_DONTWAIT);
        if (k == -EAGAIN) return 1;
        if (k <= 0) return (int)k;
    }
}

int weft__wire_alive(weft__wire *w) { return drain(w) > 0; }

/* Wake the other side (a byte it drops); a full socket already holds a wake-up. */
static int wake(weft__wire *w) {
    ssize_t k;
    do k = send(w->fd, "", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (k < 0 && errno == EINTR);
    return k < 0 && errno != EAGAIN ? -errno : 0;
}

int weft__wire_put_fd(weft__wire *w, uint32_t type, const void *a, size_t a_len, int fd) {
    struct iovec iov = {"", 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t k;
    do k = sendmsg(w->fd, &m, MSG_NOSIGNAL);
    while (k < 0 && errno == EINTR);
    if (k < 0) return -errno;
    return weft__wire_put(w, type, a, a_len, NULL, 0);
}

int weft__wire_take_fd(weft__wire *w) {
    while (w->n_fds == 0) /* sent before its frame: it is on the socket already */
        if (receive(w, 0) <= 0) return -1;
    int fd = w->fds[0];
    memmove(w->fds, w->fds + 1, (size_t)(w->n_fds - 1) * sizeof(int));
    w->n_fds--;
    return fd;
}

/* ---- the rings */

int weft__wire_flush(weft__wire *w) {
    const unsigned char *p = w->out;
    size_t n = w->out_len;
    w->out_len = 0;
    while (n > 0) {
        int wake_reader;
        size_t k = weft__ring_write(w->tx, p, n, &wake_reader);
        p += k;
        n -= k;
        if (wake_reader && wake(w) != 0) return -EPIPE;
        if (k || !weft__ring_sleep_writer(w->tx)) continue;
        /* the ring is full: sleep until the reader has made room, or is gone */
        struct pollfd pf = {w->fd, POLLIN, 0};
        int r = poll(&pf, 1, -1);
        weft__ring_awake_writer(w->tx);
        if (r < 0 && errno != EINTR) return -errno;
        if (r > 0 && drain(w) <= 0) return -EPIPE;
    }
    return 0;
}

int weft__wire_ready(weft__wire *w) { return weft__ring_used(w->rx) != 0; }

int weft__wire_peer_cpu(weft__wire *w) { return atomic_load_explicit(&w->rx->writer_cpu, memory_order_relaxed); }

int weft__wire_arm(weft__wire *w) { return !weft__ring_sleep_reader(w->rx); }

void weft__wire_disarm(weft__wire *w) { weft__ring_awake_reader(w->rx); }

int weft__wire_wait(weft__wire *w, int timeout_ms, int check_ms) {
    uint64_t start = weft_plat_now_ns();
    for (;;) {
        if (weft__wire_ready(w)) return 1;
        int slice = check_ms;
        if (timeout_ms >= 0) {
            uint64_t spent_ms = (weft_plat_now_ns() - start) / 1000000u;
            if (spent_ms >= (uint64_t)timeout_ms) return 0;
            if ((uint64_t)slice > timeout_ms - spent_ms) slice = (int)(timeout_ms - spent_ms);
        }
        uint64_t t0 = weft_plat_now_ns();
        if (weft__ring_wait_bytes(w->rx, slice)) return 1;
        /* a wake-up that brought nothing: a signal, or the slice passed; only after a
           whole slice is the socket asked whether the other side is still there */
        if (weft_plat_now_ns() - t0 < (uint64_t)slice * 1000000u) return 0;
        if (drain(w) <= 0) return weft__wire_ready(w) ? 1 : -EPIPE;
    }
}

ssize_t weft__wire_fill(weft__wire *w) { return weft__wire_fill_flags(w, 0); }

ssize_t weft__wire_fill_flags(weft__wire *w, int flags) {
    if (w->in_pos > 0) { /* keep the unread tail at the front */
        memmove(w->in, w->in + w->in_pos, w->in_len - w->in_pos);
        w->in_len -= w->in_pos;
        w->in_pos = 0;
    }
    size_t want = 65536;
    if (w->in_len >= sizeof(frame_header)) {
        frame_header h;
        memcpy(&h, w->in, sizeof h);
        size_t frame = sizeof h + PAD8(h.len);
        if (frame > w->in_len && frame - w->in_len > want) want = frame - w->in_len;
    }
    if (reserve(&w->in, &w->in_cap, w->in_len + want)) return -ENOMEM;
    for (;;) {
        int wake_writer;
        size_t k = weft__ring_read(w->rx, w->in + w->in_len, w->in_cap - w->in_len, &wake_writer);
        if (k) {
            w->in_len += k;
            if (wake_writer) wake(w);
            return (ssize_t)k;
        }
        int alive = drain(w);
        if (alive > 0 && (flags & MSG_DONTWAIT)) return -EAGAIN;
        if (alive > 0 && (alive = weft__wire_wait(w, -1, 100)) >= 0) continue; /* 0: a signal */
        /* the other side is gone: what it wrote before still counts */
        k = weft__ring_read(w->rx, w->in + w->in_len, w->in_cap - w->in_len, &wake_writer);
        w->in_len += k;
        return k ? (ssize_t)k : alive == -EPIPE ? 0
                                                : alive;
    }
}

int weft__wire_next(weft__wire *w, uint32_t *type, const unsigned char **payload, size_t *len) {
    size_t avail = w->in_len - w->in_pos;
    if (avail < sizeof(frame_header)) return 0;
    frame_header h;
    memcpy(&h, w->in + w->in_pos, sizeof h);
    size_t frame = sizeof h + PAD8(h.len);
    if (avail < frame) return 0;
    *type = h.type;
    *payload = w->in + w->in_pos + sizeof h;
    *len = h.len;
    w->in_pos += frame;
    return 1;
}
