/* The fork server: a small process forked from a constructor, before main() and before any
 * thread exists, that forks every worker on request. fork() in a process with threads may
 * leave the child holding a lock that no thread will ever release; the server has one
 * thread, so its children start clean, and they are copies of the program as loaded: every
 * task registered by a constructor (in link order before weft's) is there, by name.
 *
 * It is a grandchild, not a child (a double fork), so the program's own wait() calls never
 * see it; it reaps the workers and reports how each ended. It leaves when the program's
 * end of its socket closes, which also happens when the program is killed; workers get
 * SIGKILL when it goes (PR_SET_PDEATHSIG). WEFT_FORKSERVER=0 turns it off; without it
 * (also when the program already had threads at load) workers are forked directly. */
#define _GNU_SOURCE
#include "native.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { SERVER_SPAWN = 1,
       SERVER_SPAWNED,
       SERVER_DIED };

typedef struct server_msg {
    int32_t type;
    int32_t pid;    /* SPAWNED: the new worker (or -errno); DIED: who */
    int32_t status; /* DIED: its waitpid() status */
    int32_t pad;
    weft__worker_args args; /* SPAWN */
} server_msg;

static int server_fd = -1; /* this process's end; -1 without a server */
static pthread_mutex_t server_lock = PTHREAD_MUTEX_INITIALIZER;

/* Workers that ended before anyone asked: pid and status. */
static struct ended {
    pid_t pid;
    int status;
} * ended;
static size_t n_ended, cap_ended;

static int count_threads(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static int send_msg(int fd, const server_msg *m, const int *fds, int n_fds) {
    struct iovec iov = {(void *)m, sizeof *m};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * 2)];
    } ctl;
    struct msghdr h = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n_fds) {
        memset(&ctl, 0, sizeof ctl);
        h.msg_control = ctl.buf;
        h.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n_fds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n_fds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n_fds);
    }
    for (;;) {
        ssize_t k = sendmsg(fd, &h, MSG_NOSIGNAL);
        if (k == (ssize_t)sizeof *m) return 0;
        if (k < 0 && errno == EINTR) continue;
        return k < 0 ? -errno : -EPROTO;
    }
}

/* One message (SOCK_SEQPACKET keeps them whole) and up to two fds. 1, 0 at the end. */
static int recv_msg(int fd, server_msg *m, int *fds, int *n_fds) {
    struct iovec iov = {m, sizeof *m};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * 2)];
    } ctl;
    struct msghdr h = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t k;
    do k = recvmsg(fd, &h, MSG_CMSG_CLOEXEC);
    while (k < 0 && errno == EINTR);
    if (k <= 0) return k == 0 ? 0 : -errno;
    *n_fds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < n; i++) {
                int f;
                memcpy(&f, CMSG_DATA(c) + (size_t)i * sizeof(int), sizeof f);
                if (*n_fds < 2)
                    fds[(*n_fds)++] = f;
                else
                    close(f);
            }
        }
    return k == (ssize_t)sizeof *m ? 1 : -EPROTO;
}

__attribute__((noreturn)) static void serve(int sock) {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    for (;;) {
        struct pollfd p[2] = {{sock, POLLIN, 0}, {sfd, POLLIN, 0}};
        if (poll(p, sfd >= 0 ? 2 : 1, sfd >= 0 ? -1 : 100) < 0 && errno != EINTR) _exit(1);
        if (sfd >= 0 && (p[1].revents & POLLIN)) {
            struct signalfd_siginfo info;
            while (read(sfd, &info, sizeof info) > 0) {
            }
        }
        int status;
        for (pid_t pid; (pid = waitpid(-1, &status, WNOHANG)) > 0;) {
            server_msg m = {.type = SERVER_DIED, .pid = pid, .status = status};
            send_msg(sock, &m, NULL, 0);
        }
        if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        server_msg m;
        int fds[2], n_fds = 0;
        int got = recv_msg(sock, &m, fds, &n_fds);
        if (got <= 0) _exit(0); /* the program is gone; workers follow by PDEATHSIG */
        if (m.type != SERVER_SPAWN || n_fds != 2) {
            for (int i = 0; i < n_fds; i++) close(fds[i]);
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(sock);
            if (sfd >= 0) close(sfd);
            sigprocmask(SIG_UNBLOCK, &chld, NULL);
            weft__worker_main(&m.args, fds[0], fds[1], 1);
        }
        close(fds[0]);
        close(fds[1]);
        server_msg reply = {.type = SERVER_SPAWNED, .pid = pid > 0 ? pid : -errno};
        send_msg(sock, &reply, NULL, 0);
    }
}

__attribute__((constructor)) static void start_fork_server(void) {
    const char *off = getenv("WEFT_FORKSERVER");
    if (off && strcmp(off, "0") == 0) return;
    if (count_threads() != 1) return; /* too late for a clean fork: fork on demand */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return;
    pid_t middle = fork();
    if (middle < 0) {
        close(sv[0]);
        close(sv[1]);
        return;
    }
    if (middle == 0) {
        close(sv[0]);
        setsid(); /* a terminal's ^C goes to the program; the server leaves by EOF */
        pid_t server = fork();
        if (server == 0) serve(sv[1]);
        _exit(server > 0 ? 0 : 1);
    }
    close(sv[1]);
    int status;
    while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        server_fd = sv[0];
    else
        close(sv[0]);
}

int weft__fork_server_running(void) { return server_fd >= 0; }

static void remember_end(pid_t pid, int status) {
    if (n_ended == cap_ended) {
        size_t cap = cap_ended ? 2 * cap_ended : 16;
        struct ended *grown = realloc(ended, cap * sizeof *grown);
        if (!grown) return;
        ended = grown;
        cap_ended = cap;
    }
    ended[n_ended].pid = pid;
    ended[n_ended].status = status;
    n_ended++;
}

static int forget_end(pid_t pid, int *status) {
    for (size_t i = 0; i < n_ended; i++)
        if (ended[i].pid == pid) {
            *status = ended[i].status;
            ended[i] = ended[--n_ended];
            return 1;
        }
    return 0;
}

/* Read server messages until one of `type` (for `pid` when DIED) arrives; DIED messages
 * for others are kept. Holds server_lock. */
static int await_server(int type, pid_t pid, int wait_ms, server_msg *out) {
    uint64_t until = weft_plat_now_ns() + (uint64_t)wait_ms * 1000000u;
    for (;;) {
        if (type == SERVER_DIED && forget_end(pid, &out->status)) return 0;
        int64_t left = (int64_t)(until - weft_plat_now_ns());
        if (wait_ms >= 0 && left <= 0) return -ETIMEDOUT;
        struct pollfd p = {server_fd, POLLIN, 0};
        int r = poll(&p, 1, wait_ms < 0 ? -1 : (int)(left / 1000000) + 1);
        if (r < 0 && errno != EINTR) return -errno;
        if (r <= 0) continue;
        server_msg m;
        int fds[2], n_fds = 0;
        int got = recv_msg(server_fd, &m, fds, &n_fds);
        for (int i = 0; i < n_fds; i++) close(fds[i]);
        if (got <= 0) return -EPIPE;
        if (m.type == SERVER_DIED)
            remember_end(m.pid, m.status);
        else if (m.type == type)
            return *out = m, 0;
    }
}

int weft__spawn_worker(const weft__worker_args *args, int sock, int ctrl_fd, int parent_end,
                       pid_t *pid) {
    if (server_fd < 0) {
        pid_t p = fork();
        if (p < 0) return -errno;
        if (p == 0) {
            close(parent_end);
            weft__worker_main(args, sock, ctrl_fd, 0);
        }
        *pid = p;
        return 0;
    }
    pthread_mutex_lock(&server_lock);
    server_msg m = {.type = SERVER_SPAWN, .args = *args}, reply;
    int fds[2] = {sock, ctrl_fd};
    int rc = send_msg(server_fd, &m, fds, 2);
    if (rc == 0) rc = await_server(SERVER_SPAWNED, 0, 10000, &reply);
    pthread_mutex_unlock(&server_lock);
    if (rc) return rc;
    if (reply.pid < 0) return reply.pid;
    *pid = reply.pid;
    return 0;
}

int weft__reap_worker(pid_t pid, int wait_ms, int *status) {
    if (server_fd < 0) {
        uint64_t until = weft_plat_now_ns() + (uint64_t)wait_ms * 1000000u;
        for (;;) {
            pid_t r = waitpid(pid, status, WNOHANG);
            if (r == pid) return 0;
            if (r < 0 && errno != EINTR) return -errno;
            if (weft_plat_now_ns() > until) return -ETIMEDOUT;
            usleep(1000);
        }
    }
    pthread_mutex_lock(&server_lock);
    server_msg m;
    int rc = await_server(SERVER_DIED, pid, wait_ms, &m);
    pthread_mutex_unlock(&server_lock);
    if (rc == 0) *status = m.status;
    return rc;
}
