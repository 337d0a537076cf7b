/* Ctrl-C delivered to a real child process running a map (and an iterator), on every
 * backend: the call returns WEFT_ECANCELED promptly, running tasks saw the cancellation,
 * the program goes on and uses the pool again, and no worker process outlives it. A task
 * that ignores cancellation: in-process, a second SIGINT kills the program; on processes
 * its worker is killed after a grace period and the call returns. */
#define _GNU_SOURCE
#include "check.h"
#include "weft.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Each task tells the test its pid through the pipe whose fd is its input (worker
 * processes inherited it: they are forked from the program as it was exec'd). */
static void say_started(weft_task *t) {
    int32_t fd, pid = (int32_t)getpid();
    memcpy(&fd, weft_input(t), sizeof fd);
    (void)!write(fd, &pid, sizeof pid);
}

/* Polls until cancelled. */
static int wait_for_ctrl_c(weft_task *t) {
    say_started(t);
    time_t end = time(NULL) + 30;
    while (!weft_cancelled(t) && time(NULL) < end) {
    }
    int32_t saw = weft_cancelled(t);
    return weft_output(t, &saw, sizeof saw);
}
WEFT_TASK(wait_for_ctrl_c)

/* Ignores cancellation entirely: only a second Ctrl-C ends it. */
static int stuck(weft_task *t) {
    say_started(t);
    time_t end = time(NULL) + 30;
    while (time(NULL) < end) {
    }
    return 0;
}
WEFT_TASK(stuck)

static int child(const char *backend, const char *mode, int fd) {
    int32_t fds[64];
    for (int i = 0; i < 64; i++) fds[i] = fd;
    weft_options o;
    weft_options_init(&o);
    o.backend = backend;
    o.n_jobs = 2;
    weft_pool *pool;
    if (weft_pool_open(&pool, &o)) return 10;
    int32_t out[64];
    int rc;
    if (strcmp(mode, "map") == 0) {
        rc = weft_map(pool, WEFT_FN(wait_for_ctrl_c), fds, 4, 64, out, 4);
    } else if (strcmp(mode, "iter") == 0) {
        weft_iter *it;
        if (weft_imap_array(&it, pool, WEFT_FN(wait_for_ctrl_c), fds, 4, 64, NULL)) return 11;
        weft_result r;
        while ((rc = weft_next(it, &r)) == 1) {
        }
        weft_iter_close(it);
    } else {
        rc = weft_map(pool, WEFT_FN(stuck), fds, 4, 4, NULL, 0);
    }
    printf("first call: %s (%s)\n", weft_error_name(rc), weft_last_error()->message);
    /* the program goes on: the same pool works again */
    int64_t in[100], sq[100];
    for (int i = 0; i < 100; i++) in[i] = i;
    rc = weft_map(pool, weft_task_find("square_again"), in, 8, 100, sq, 8);
    printf("second call: %s, sq[99] = %lld\n", weft_error_name(rc), (long long)sq[99]);
    weft_pool_close(pool);
    return 0;
}

static int square_again(weft_task *t) {
    int64_t x = *(const int64_t *)weft_input(t), y = x * x;
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(square_again)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Read what the tasks said (their pids) until every process holding the pipe is gone:
 * end of file within `seconds`, or 0. Orphans come to this process (a subreaper) and
 * are reaped on the way, so a pid still there afterwards is a live or unreaped worker. */
static int collect_pids(int fd, int32_t *pids, int *n, int cap, double seconds) {
    double until = now_s() + seconds;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    for (;;) {
        int32_t pid;
        ssize_t k = read(fd, &pid, sizeof pid);
        if (k == sizeof pid) {
            int known = 0;
            for (int i = 0; i < *n; i++) known |= pids[i] == pid;
            if (!known && *n < cap) pids[(*n)++] = pid;
            continue;
        }
        if (k == 0) return 1;
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        if (now_s() > until) return 0;
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 20);
    }
}

/* Run the child, send `signals` SIGINTs once its tasks run; its output, its status, how
 * long it took to end after the first SIGINT, and whether all its processes are gone. */
static int run_child(const char *self, const char *backend, const char *mode, int signals,
                     char *output, size_t size, int *status, double *took, int *all_gone) {
    int started[2], out[2];
    if (pipe(started) || pipe(out)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(started[0]);
        close(out[0]);
        dup2(out[1], 1);
        char fd[16];
        snprintf(fd, sizeof fd, "%d", started[1]);
        execl(self, self, "child", backend, mode, fd, (char *)NULL);
        _exit(127);
    }
    close(started[1]);
    close(out[1]);
    int32_t pids[256];
    int n_pids = 0;
    int ok = read(started[0], &pids[0], sizeof pids[0]) == sizeof pids[0];
    n_pids = ok;
    usleep(50000); /* every worker is inside a task now */
    double t0 = now_s();
    for (int i = 0; i < signals && ok; i++) {
        kill(pid, SIGINT);
        usleep(100000);
    }
    size_t got = 0;
    ssize_t n;
    while (got + 1 < size && (n = read(out[0], output + got, size - got - 1)) > 0) got += (size_t)n;
    output[got] = '\0';
    close(out[0]);
    waitpid(pid, status, 0);
    *took = now_s() - t0;
    *all_gone = collect_pids(started[0], pids, &n_pids, 256, 10);
    for (int i = 0; i < n_pids; i++)
        if (kill(pids[i], 0) == 0 || errno != ESRCH) *all_gone = 0;
    close(started[0]);
    return ok ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "child") == 0) return child(argv[2], argv[3], atoi(argv[4]));
    alarm(120); /* a hang fails the test instead of blocking CI */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    const char *modes[] = {"map", "iter"};
    for (size_t b = 0; weft_backend_name(b); b++) {
        const char *backend = weft_backend_name(b);
        int in_process = (weft_backend_caps(backend) & WEFT_CAP_SHARED_MEMORY) != 0;
        char output[1024];
        int status = -1, all_gone = 0;
        double took = 0;
        for (int m = 0; m < 2; m++) {
            CHECK_EQ(run_child(argv[0], backend, modes[m], 1, output, sizeof output, &status, &took, &all_gone), 0);
            CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
            CHECK_HAS(output, "first call: WEFT_ECANCELED (interrupted by SIGINT (Ctrl-C))");
            CHECK_HAS(output, "second call: WEFT_OK, sq[99] = 9801");
            CHECK(took < 5); /* prompt: the tasks poll, the call returns at once */
            CHECK(all_gone);  /* no worker left behind */
            if (check_failed) fprintf(stderr, "  ^ backend %s, %s (%.2f s); child said:\n%s\n", backend, modes[m], took, output);
        }
        if (in_process) {
            /* a task that ignores cancellation: the second Ctrl-C ends the program */
            CHECK_EQ(run_child(argv[0], backend, "stuck", 2, output, sizeof output, &status, &took, &all_gone), 0);
            CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
        } else {
            /* its worker is killed after the grace period: one Ctrl-C is enough */
            CHECK_EQ(run_child(argv[0], backend, "stuck", 1, output, sizeof output, &status, &took, &all_gone), 0);
            CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
            CHECK_HAS(output, "first call: WEFT_ECANCELED");
            CHECK_HAS(output, "second call: WEFT_OK, sq[99] = 9801");
            CHECK(took < 5);
            CHECK(all_gone);
            if (check_failed) fprintf(stderr, "  ^ backend %s, stuck (%.2f s); child said:\n%s\n", backend, took, output);
        }
    }
    return CHECK_DONE();
}
