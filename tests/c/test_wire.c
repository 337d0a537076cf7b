/* The processes backend's wire on its own (native/wire.c, native/ring.c): frames through
 * the shared rings between two real processes, frames bigger than a ring, an fd passed
 * with its frame, a reader asleep and woken, and the other side's death (its last frames
 * still read, then the end; a write to it fails instead of waiting). And the wait before
 * sleeping (native/spin.c): it knows where the other side wrote from, and does not look
 * again when that is this CPU; a worker that keeps sharing its CPU with the other side
 * moves away. */
#define _GNU_SOURCE
#include "check.h"
#include "../../native/native.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { ECHO = 1,
       ECHO_FROM_LAST_CPU, /* echo it from the last CPU this process may use */
       PIPE_FD,
       NAP,
       DIE,
       BYE };

typedef struct peer {
    weft__ring *rings; /* [0]: parent -> child, [1]: child -> parent */
    int sv[2];
    pid_t pid;
} peer;

/* One frame, waiting for it: 1 with its type and payload, or 0 at the end. */
static int next_frame(weft__wire *w, uint32_t *type, const unsigned char **p, size_t *len) {
    while (!weft__wire_next(w, type, p, len))
        if (weft__wire_fill(w) <= 0) return 0;
    return 1;
}

/* Run on that CPU alone from now on. */
static int pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 && sched_getcpu() == cpu;
}

/* The child: echoes frames, writes into a passed fd, naps before answering, leaves. */
static void child(peer *l) {
    close(l->sv[0]);
    weft__wire w;
    weft__wire_init(&w, l->sv[1], &l->rings[1], &l->rings[0]);
    uint32_t type;
    const unsigned char *p;
    size_t len;
    while (next_frame(&w, &type, &p, &len)) {
        if (type == PIPE_FD) {
            int fd = weft__wire_take_fd(&w);
            if (fd < 0 || write(fd, p, len) != (ssize_t)len) _exit(3);
            close(fd);
        }
        if (type == NAP) usleep(50000); /* the parent sleeps meanwhile */
        if (type == ECHO_FROM_LAST_CPU && (len != sizeof(int) || !pin_to(*(const int *)p))) _exit(5);
        if (type == BYE) _exit(0);
        if (type == DIE) { /* without a word, while the parent sleeps */
            usleep(30000);
            _exit(9);
        }
        if (weft__wire_put(&w, type, p, len, NULL, 0) || weft__wire_flush(&w)) _exit(4);
    }
    _exit(0);
}

static void start(peer *l) {
    l->rings = mmap(NULL, 2 * sizeof(weft__ring), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(l->rings != MAP_FAILED);
    atomic_store(&l->rings[0].writer_cpu, -1); /* as the pool starts them: none written yet */
    atomic_store(&l->rings[1].writer_cpu, -1);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, l->sv), 0);
    l->pid = fork();
    if (l->pid == 0) child(l);
    close(l->sv[1]);
}

static void finish(peer *l, weft__wire *w) {
    weft__wire_close(w);
    int status = 0;
    waitpid(l->pid, &status, 0);
    munmap(l->rings, 2 * sizeof(weft__ring));
}

/* Tell the child to leave, and wait for it. */
static void say_bye(peer *l, weft__wire *w) {
    weft__wire_put(w, BYE, NULL, 0, NULL, 0);
    weft__wire_flush(w);
    finish(l, w);
}

/* Frames from 0 bytes to three rings' worth come back intact, one at a time. */
static void test_echo(void) {
    peer l;
    start(&l);
    weft__wire w;
    weft__wire_init(&w, l.sv[0], &l.rings[0], &l.rings[1]);
    size_t sizes[] = {0, 1, 7, 8, 4096, WEFT__RING_BYTES - 8, WEFT__RING_BYTES, WEFT__RING_BYTES + 1, 3 * WEFT__RING_BYTES + 5};
    unsigned char *buf = malloc(sizes[8]);
    for (size_t i = 0; i < sizes[8]; i++) buf[i] = (unsigned char)(i * 7 + i / 251);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int rep = 0; rep < 3; rep++) { /* the rings wrap at different places */
            buf[0] = (unsigned char)rep;
            CHECK_EQ(weft__wire_put(&w, ECHO, buf, sizes[s], NULL, 0), 0);
            CHECK_EQ(weft__wire_flush(&w), 0);
            uint32_t type = 0;
            const unsigned char *p = NULL;
            size_t len = 0;
            CHECK(next_frame(&w, &type, &p, &len));
            CHECK_EQ(type, (uint32_t)ECHO);
            CHECK_EQ(len, sizes[s]);
            CHECK(len == sizes[s] && (len == 0 || memcmp(p, buf, len) == 0));
        }
    }
    /* a burst of small frames, then their answers */
    for (uint32_t i = 0; i < 1000; i++) CHECK_EQ(weft__wire_put(&w, ECHO, &i, sizeof i, NULL, 0), 0);
    CHECK_EQ(weft__wire_flush(&w), 0);
    for (uint32_t i = 0; i < 1000; i++) {
        uint32_t type, got = ~0u;
        const unsigned char *p;
        size_t len;
        if (!next_frame(&w, &type, &p, &len)) break;
        if (len == sizeof got) memcpy(&got, p, sizeof got);
        if (got != i) {
            CHECK_EQ(got, i);
            break;
        }
    }
    free(buf);
    say_bye(&l, &w);
}

/* An fd travels with its frame; a reader asleep is woken by the write. */
static void test_fd_and_sleep(void) {
    peer l;
    start(&l);
    weft__wire w;
    weft__wire_init(&w, l.sv[0], &l.rings[0], &l.rings[1]);
    int p[2];
    CHECK_EQ(pipe(p), 0);
    CHECK_EQ(weft__wire_put_fd(&w, PIPE_FD, "through", 7, p[1]), 0);
    close(p[1]);
    CHECK_EQ(weft__wire_put(&w, NAP, "awake", 5, NULL, 0), 0);
    CHECK_EQ(weft__wire_flush(&w), 0);
    uint32_t type;
    const unsigned char *payload;
    size_t len;
    CHECK(next_frame(&w, &type, &payload, &len) && type == PIPE_FD);
    char got[8] = {0};
    CHECK_EQ(read(p[0], got, 7), 7);
    CHECK_STR(got, "through");
    close(p[0]);
    CHECK(next_frame(&w, &type, &payload, &len) && type == NAP && len == 5 && memcmp(payload, "awake", 5) == 0);
    say_bye(&l, &w);
}

/* The child answers, then is killed: the answer is read, then the end; a frame bigger
 * than the ring to the dead child fails instead of waiting for room forever. */
static void test_death(void) {
    peer l;
    start(&l);
    weft__wire w;
    weft__wire_init(&w, l.sv[0], &l.rings[0], &l.rings[1]);
    CHECK_EQ(weft__wire_put(&w, ECHO, "last", 4, NULL, 0), 0);
    CHECK_EQ(weft__wire_flush(&w), 0);
    while (!weft__ring_used(&l.rings[1])) usleep(1000);
    kill(l.pid, SIGKILL);
    int status;
    waitpid(l.pid, &status, 0);
    uint32_t type;
    const unsigned char *p;
    size_t len;
    CHECK(next_frame(&w, &type, &p, &len) && type == ECHO && len == 4 && memcmp(p, "last", 4) == 0);
    CHECK(!next_frame(&w, &type, &p, &len));
    CHECK_EQ(weft__wire_fill_flags(&w, MSG_DONTWAIT), 0);
    CHECK_EQ(weft__wire_alive(&w), 0);
    CHECK_EQ(weft__wire_wait(&w, -1, 10), -EPIPE);
    size_t big = 2 * WEFT__RING_BYTES;
    unsigned char *buf = calloc(1, big);
    CHECK_EQ(weft__wire_put(&w, ECHO, buf, big, NULL, 0), 0);
    CHECK_EQ(weft__wire_flush(&w), -EPIPE);
    free(buf);
    weft__wire_close(&w);
    munmap(l.rings, 2 * sizeof(weft__ring));
}

/* A sleep ends when its time passes, and when the other side dies without a word. */
static void test_wait(void) {
    peer l;
    start(&l);
    weft__wire w;
    weft__wire_init(&w, l.sv[0], &l.rings[0], &l.rings[1]);
    CHECK_EQ(weft__wire_wait(&w, 20, 5), 0);
    CHECK_EQ(weft__wire_put(&w, DIE, NULL, 0, NULL, 0), 0);
    CHECK_EQ(weft__wire_flush(&w), 0);
    CHECK_EQ(weft__wire_wait(&w, -1, 10), -EPIPE);
    finish(&l, &w);
}

static int looks;
static int look_third(void *arg) {
    (void)arg;
    return ++looks == 3 ? 7 : 0;
}

/* A reply says the CPU it was written from; a wait whose other side last wrote from this
 * CPU does not look again (that side needs the CPU to answer), else it looks until the
 * answer or the time is up. */
static void test_spin(void) {
    cpu_set_t allowed;
    CHECK_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    int last = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &allowed)) last = c;
    peer l;
    start(&l);
    weft__wire w;
    weft__wire_init(&w, l.sv[0], &l.rings[0], &l.rings[1]);
    CHECK_EQ(weft__wire_put(&w, ECHO_FROM_LAST_CPU, &last, sizeof last, NULL, 0), 0);
    CHECK_EQ(weft__wire_flush(&w), 0);
    uint32_t type;
    const unsigned char *p;
    size_t len;
    CHECK(next_frame(&w, &type, &p, &len) && type == ECHO_FROM_LAST_CPU);
    CHECK_EQ(weft__wire_peer_cpu(&w), last);
    say_bye(&l, &w);

    CHECK(pin_to(last));
    looks = 0;
    CHECK_EQ(weft__spin_wait(look_third, NULL, 1000000000u, last), 0);
    CHECK_EQ(looks, 1);
    looks = 0;
    CHECK_EQ(weft__spin_wait(look_third, NULL, 1000000000u, -1), 7);
    CHECK_EQ(looks, 3);
    looks = 10; /* never 3 again: the time runs out */
    CHECK_EQ(weft__spin_wait(look_third, NULL, 100000u, -1), 0);
    CHECK(looks > 11);
    CHECK_EQ(sched_setaffinity(0, sizeof allowed, &allowed), 0);
}

/* weft__spin_apart: 64 pieces of work in a row written from this thread's own CPU move it
 * to another CPU it may use, with its affinity left as it was. */
static void test_apart(void) {
    cpu_set_t before, after;
    if (sched_getaffinity(0, sizeof before, &before) != 0 || CPU_COUNT(&before) < 2) return;
    int moved = 0;
    /* the kernel moving this thread meanwhile restarts the count: try again */
    for (int attempt = 0; attempt < 5 && !moved; attempt++) {
        int from = sched_getcpu();
        for (int i = 0; i < 64; i++) weft__spin_apart(from);
        moved = sched_getcpu() != from;
    }
    CHECK(moved);
    CHECK_EQ(sched_getaffinity(0, sizeof after, &after), 0);
    CHECK(CPU_EQUAL(&before, &after));
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    alarm(120); /* a lost wake-up fails the test instead of hanging it */
    test_echo();
    test_fd_and_sleep();
    test_death();
    test_wait();
    test_spin();
    test_apart();
    return CHECK_DONE();
}
