/* The processes backend against tasks that wreck their worker: SIGKILL to itself, exit(3),
 * a double free (glibc aborts), a stack overflow, an endless loop (with a task timeout).
 * Each call fails with WEFT_ECRASHED or WEFT_ETIMEDOUT naming the task and how its worker
 * ended, and the pool goes on with fresh workers. Then the caller itself is killed in the
 * middle of a map (with and without the fork server): no worker outlives it, and nothing
 * it made is left in /dev/shm. */
#define _GNU_SOURCE
#include "check.h"
#include "mem_util.h"
#include "test_parts.h"
#include "test_tasks.h"
#include "weft.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>

enum { CALM, KILL_SELF, EXIT_3, DOUBLE_FREE, STACK_OVERFLOW, LOOP };

typedef struct abuse_in {
    int32_t how; /* what item 5 does; the others are CALM */
    int32_t pad;
} abuse_in;

static void *volatile escape; /* keeps the compiler from seeing through the abuse */

static volatile int depth_limit = 1 << 30; /* never reached: the stack ends first */

static int deep(int n) {
    volatile char pad[4096];
    pad[n % 4096] = (char)n;
    return n < depth_limit ? deep(n + 1) + pad[n % 4096] : 0;
}

static int abuse(weft_task *t) {
    const abuse_in *in = weft_input(t);
    int64_t i = (int64_t)weft_task_index(t);
    if (i == 5) switch (in->how) {
        case KILL_SELF: raise(SIGKILL); break;
        case EXIT_3: exit(3);
        case DOUBLE_FREE: {
            escape = malloc(64);
            void *p = escape;
            free(p);
            free(escape);
            break;
        }
        case STACK_OVERFLOW: return deep(0);
        case LOOP:
            for (;;) escape = (void *)&i;
        default: break;
        }
    int64_t y = i * i;
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(abuse)

#define N 16

/* Under ASan and TSan a double free and a stack overflow are their reports, and an exit
 * code (TSan lets a double free pass: that case is left out there). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BY_GLIBC(says) "while running task 5"
#else
#define BY_GLIBC(says) says
#endif

static void test_wrecked_workers(void) {
    static const struct {
        int how, code;
        const char *says;
    } cases[] = {
        {KILL_SELF, WEFT_ECRASHED, "killed by signal 9 (SIGKILL) while running task 5"},
        {EXIT_3, WEFT_ECRASHED, "exited with code 3 while running task 5"},
        {DOUBLE_FREE, WEFT_ECRASHED, BY_GLIBC("killed by signal 6 (SIGABRT) while running task 5")},
        {STACK_OVERFLOW, WEFT_ECRASHED, BY_GLIBC("killed by signal 11 (SIGSEGV) while running task 5")},
        {LOOP, WEFT_ETIMEDOUT, "task 5 ran past the 300 ms task timeout"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
#if defined(__SANITIZE_THREAD__)
        if (cases[c].how == DOUBLE_FREE) continue;
#endif
        weft_options o;
        weft_options_init(&o);
        o.backend = "processes";
        o.n_jobs = 2;
        o.task_timeout_s = cases[c].how == LOOP ? 0.3 : 0; /* a slow overflow is no loop */
        weft_pool *pool = NULL;
        CHECK_EQ(weft_pool_open(&pool, &o), 0);
        abuse_in in[N];
        int64_t out[N];
        for (int i = 0; i < N; i++) in[i] = (abuse_in){cases[c].how, 0};
        int rc = weft_map(pool, WEFT_FN(abuse), in, sizeof in[0], N, out, sizeof out[0]);
        const weft_error *e = weft_last_error();
        if (rc != cases[c].code || e->task_index != 5 || !strstr(e->message, cases[c].says))
            fprintf(stderr, "case %d: rc %d, task %lld: %s\n", cases[c].how, rc,
                    (long long)e->task_index, e->message);
        CHECK_EQ(rc, cases[c].code);
        CHECK_EQ(e->task_index, 5);
        CHECK_HAS(e->message, cases[c].says);
        CHECK_STR(e->task_name, "abuse");
        /* the pool goes on: a calm map right after is complete and right */
        for (int i = 0; i < N; i++) in[i].how = CALM;
        CHECK_EQ(weft_map(pool, WEFT_FN(abuse), in, sizeof in[0], N, out, sizeof out[0]), 0);
        int wrong = 0;
        for (int i = 0; i < N; i++) wrong += out[i] != (int64_t)i * i;
        CHECK_EQ(wrong, 0);
        weft_pool_close(pool);
    }
}

/* ---- the caller killed mid-map */

/* Writes its worker's pid into the folder named by its input, then waits to be killed. */
static int mark_and_hang(weft_task *t) {
    char path[512];
    snprintf(path, sizeof path, "%.400s/%d", (const char *)weft_input(t), (int)getpid());
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    if (fd >= 0) close(fd);
    sleep(60);
    return 0;
}
WEFT_TASK(mark_and_hang)

static int child_hang(const char *dir) {
    weft_options o;
    weft_options_init(&o);
    o.backend = "processes";
    o.n_jobs = 3;
    weft_pool *pool;
    if (weft_pool_open(&pool, &o)) return 2;
    char in[3][256];
    for (int i = 0; i < 3; i++) snprintf(in[i], sizeof in[i], "%s", dir);
    weft_map(pool, WEFT_FN(mark_and_hang), in, sizeof in[0], 3, NULL, 0);
    return 3; /* not reached: the test kills this process */
}

/* Running: it exists and is not a zombie. */
static int running(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z' && close_paren[2] != 'X';
}

static pid_t parent_of(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    int ppid = 0;
    if (!p || sscanf(p + 2, "%*c %d", &ppid) != 1) return 0;
    return (pid_t)ppid;
}

/* Entries of /dev/shm made by one of `pids` under weft's own names ("weft-PID-..."). */
static int shm_left_by(const pid_t *pids, int n) {
    DIR *d = opendir("/dev/shm");
    if (!d) return 0;
    int left = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int pid = 0;
        if (sscanf(e->d_name, "weft-%d-", &pid) != 1) continue;
        for (int i = 0; i < n; i++)
            if (pids[i] == pid) {
                fprintf(stderr, "left in /dev/shm: %s\n", e->d_name);
                left++;
            }
    }
    closedir(d);
    return left;
}

static void kill_caller(int fork_server) {
    char *dir = temp_dir("abuse");
    pid_t child = fork();
    if (child == 0) {
        setenv("WEFT_FORKSERVER", fork_server ? "1" : "0", 1);
        execl("/proc/self/exe", "test_processes_abuse", "hang", dir, (char *)NULL);
        _exit(127);
    }
    /* wait for the three workers to be inside their tasks */
    pid_t pids[16] = {child};
    int n = 1;
    double give_up = now_s() + 20;
    while (now_s() < give_up) {
        static char marks[8][4096];
        DIR *d = opendir(dir);
        int found = 0;
        struct dirent *e;
        while (d && (e = readdir(d)) && found < 8)
            if (e->d_name[0] != '.') snprintf(marks[found++], 4096, "%s", e->d_name);
        if (d) closedir(d);
        if (found >= 3) {
            for (int i = 0; i < found && n < 12; i++) {
                pid_t worker = (pid_t)atoi(marks[i]);
                pid_t server = parent_of(worker); /* the fork server, or the caller */
                pids[n++] = worker;
                if (server > 1 && server != child) pids[n++] = server;
            }
            break;
        }
        usleep(10000);
    }
    CHECK(n >= 4);
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    int alive = 0;
    for (double until = now_s() + 5; now_s() < until; usleep(20000)) {
        alive = 0;
        for (int i = 1; i < n; i++) alive += running(pids[i]);
        if (!alive) break;
    }
    if (alive)
        fprintf(stderr, "fork server %s: %d of the caller's processes outlived it\n",
                fork_server ? "on" : "off", alive);
    CHECK_EQ(alive, 0);
    for (int i = 1; i < n && alive; i++)
        if (running(pids[i])) kill(pids[i], SIGKILL); /* leave no stray behind us either */
    CHECK_EQ(shm_left_by(pids, n), 0);
    rm_rf(dir);
    free(dir);
}

static void test_caller_killed(void) {
    kill_caller(1);
    kill_caller(0);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "hang") == 0) return child_hang(argv[2]);
    alarm(120);
    static const test_part parts[] = {{"wrecked_workers", test_wrecked_workers},
                                      {"caller_killed", test_caller_killed}};
    run_parts(parts, sizeof parts / sizeof parts[0]);
    weft_shutdown();
    return CHECK_DONE();
}
