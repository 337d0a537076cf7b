/* Frames over a unix stream socket: an 8-byte header {type, length}, the payload padded
 * to 8 bytes. Sends are buffered and written in one call, so a burst of small batches
 * costs one system call each way; fds travel as SCM_RIGHTS with their frame. */
#define _GNU_SOURCE
#include "native.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PAD8(n) (((n) + 7) & ~(size_t)7)

typedef struct frame_header {
    uint32_t type, len;
} frame_header;

void weft__wire_init(weft__wire *w, int fd) {
    memset(w, 0, sizeof *w);
    w->fd = fd;
}

void weft__wire_close(weft__wire *w) {
    if (w->fd >= 0) close(w->fd);
    for (int i = 0; i < w->n_fds; i++) close(w->fds[i]);
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

static int send_all(int fd, const unsigned char *p, size_t n, int pass_fd) {
    while (n > 0) {
        struct iovec iov = {(void *)p, n};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        if (pass_fd >= 0) {
            memset(&ctl, 0, sizeof ctl);
            m.msg_control = ctl.buf;
            m.msg_controllen = sizeof ctl.buf;
            struct cmsghdr *c = CMSG_FIRSTHDR(&m);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &pass_fd, sizeof pass_fd);
        }
        ssize_t k = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        pass_fd = -1; /* the fd went with the first byte */
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int weft__wire_flush(weft__wire *w) {
    int rc = send_all(w->fd, w->out, w->out_len, -1);
    w->out_len = 0;
    return rc;
}

int weft__wire_put_fd(weft__wire *w, uint32_t type, const void *a, size_t a_len, int fd) {
    int rc = weft__wire_flush(w);
    if (rc) return rc;
    rc = weft__wire_put(w, type, a, a_len, NULL, 0);
    if (rc) return rc;
    rc = send_all(w->fd, w->out, w->out_len, fd);
    w->out_len = 0;
    return rc;
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
        struct iovec iov = {w->in + w->in_len, w->in_cap - w->in_len};
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
                if (w->n_fds < (int)(sizeof w->fds / sizeof w->fds[0]))
                    w->fds[w->n_fds++] = fd;
                else
                    close(fd);
            }
        }
        w->in_len += (size_t)k;
        return k;
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

int weft__wire_take_fd(weft__wire *w) {
    if (w->n_fds == 0) return -1;
    int fd = w->fds[0];
    memmove(w->fds, w->fds + 1, (size_t)(w->n_fds - 1) * sizeof(int));
    w->n_fds--;
    return fd;
}
