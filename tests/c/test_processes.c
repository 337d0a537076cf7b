/* The processes backend beyond the conformance suite: real crashes, real timeouts, a
 * parent killed mid-map, shared regions (zero copy, alignment, a 1 GiB input read by every
 * worker), the nested CPU budget, persistent workers and their idle timeout. */
#define _GNU_SOURCE
#include "check.h"
#include "test_parts.h"
#include "test_tasks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- tasks */

typedef struct crash_plan {
    int32_t at;  /* index that crashes */
    int32_t how; /* 0 SIGSEGV, 1 abort, 2 SIGKILL (as from the OOM killer), 3 exit(3) */
} crash_plan;

static volatile uintptr_t nowhere; /* 0, out of the compiler's sight */

__attribute__((no_sanitize("address", "undefined"))) static void segfault(void) {
    signal(SIGSEGV, SIG_DFL); /* a sanitizer's handler would turn the signal into an exit */
    *(volatile int *)nowhere = 1;
}

static int crash_at(weft_task *t) {
    crash_plan p;
    memcpy(&p, weft_input(t), sizeof p);
    if ((int32_t)weft_task_index(t) == p.at) {
        switch (p.how) {
        case 0: segfault(); break;
        case 1: abort();
        case 2: raise(SIGKILL); break;
        case 3: exit(3);
        }
    }
    int64_t pid = getpid();
    return weft_output(t, &pid, sizeof pid);
}
WEFT_TASK(crash_at)

static int sleep_at(weft_task *t) {
    int32_t at;
    memcpy(&at, weft_input(t), sizeof at);
    if ((int32_t)weft_task_index(t) == at) sleep(30);
    int32_t x = (int32_t)weft_task_index(t);
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(sleep_at)

static int my_pid(weft_task *t) {
    int64_t pid = getpid();
    return weft_output(t, &pid, sizeof pid);
}
WEFT_TASK(my_pid)

static long env_int(const char *name) {
    const char *v = getenv(name);
    return v ? strtol(v, NULL, 10) : -1;
}

static int budget(weft_task *t) {
    int32_t out[6] = {(int32_t)env_int("WEFT_N_JOBS"), (int32_t)env_int("OMP_NUM_THREADS"),
                      (int32_t)env_int("OPENBLAS_NUM_THREADS"), (int32_t)env_int("MKL_NUM_THREADS"),
                      (int32_t)env_int("VECLIB_MAXIMUM_THREADS"), (int32_t)env_int("NUMEXPR_NUM_THREADS")};
    return weft_output(t, out, sizeof out);
}
WEFT_TASK(budget)

/* Input {region, stride}: sums the region's bytes at that stride and reports where the
 * region sits and this process's memory ({sum, address, RssAnon kB, RssShmem kB}). */
typedef struct region_job {
    weft_shared region;
    uint64_t stride;
} region_job;

/* A "Field: N kB" line of a /proc file (/proc/self/status, /proc/meminfo); -1 if none. */
static long proc_kb(const char *path, const char *field) {
    FILE *f = fopen(path, "r");
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') kb = strtol(line + n + 1, NULL, 10);
    if (f) fclose(f);
    return kb;
}

static int read_region(weft_task *t) {
    region_job j;
    memcpy(&j, weft_input(t), sizeof j);
    const unsigned char *p = weft_shared_ptr(j.region);
    size_t size = weft_shared_size(j.region);
    if (!p) return weft_fail(t, "region %llu unknown in the worker", (unsigned long long)j.region.id);
    uint64_t sum = 0;
    for (size_t i = 0; i < size; i += j.stride) sum += p[i];
    int64_t out[5] = {(int64_t)sum, (int64_t)(uintptr_t)p, proc_kb("/proc/self/status", "RssAnon"),
                      proc_kb("/proc/self/status", "RssShmem"), proc_kb("/proc/self/smaps_rollup", "Pss_Shmem")};
    return weft_output(t, out, sizeof out);
}
WEFT_TASK(read_region)

/* The worker's resident shared memory (kB). */
static int shmem_kb(weft_task *t) {
    int64_t kb = proc_kb("/proc/self/status", "RssShmem");
    return weft_output(t, &kb, sizeof kb);
}
WEFT_TASK(shmem_kb)

/* Writes index * 3 into slot `index` of the shared array given in the input. */
static int write_in_place(weft_task *t) {
    weft_shared h;
    memcpy(&h, weft_input(t), sizeof h);
    int64_t *slots = weft_shared_ptr(h);
    if (!slots) return weft_fail(t, "no region");
    slots[weft_task_index(t)] = (int64_t)weft_task_index(t) * 3;
    return 0;
}
WEFT_TASK(write_in_place)

/* Input: a 2 MiB block; output: {its byte sum, its address modulo 64}. */
#define BLOCK (2u << 20)
static int sum_block(weft_task *t) {
    const unsigned char *p = weft_input(t);
    int64_t out[2] = {0, (int64_t)((uintptr_t)p % 64)};
    for (size_t i = 0; i < weft_input_size(t); i++) out[0] += p[i];
    return weft_output(t, out, sizeof out);
}
WEFT_TASK(sum_block)

/* Tells the test (fd 3) that it runs, then sleeps: for the killed-parent test. */
static int report_and_sleep(weft_task *t) {
    (void)t;
    char c = 'x';
    if (write(3, &c, 1) != 1) return weft_fail(t, "write");
    sleep(60);
    return 0;
}
WEFT_TASK(report_and_sleep)

/* ---- helpers */

static weft_pool *open_pool(int n_jobs, int batch_size, int timeout_ms) {
    weft_options o;
    weft_options_init(&o);
    o.backend = "processes";
    o.n_jobs = n_jobs;
    o.batch_size = batch_size;
    o.task_timeout_s = timeout_ms / 1000.0;
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    return pool;
}

static int gone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

/* "... (pid 1234)" in an error message. */
static pid_t pid_in(const char *message) {
    const char *p = strstr(message, "(pid ");
    return p ? (pid_t)strtol(p + 5, NULL, 10) : 0;
}

static int wait_gone(pid_t pid, double seconds) {
    double until = now_s() + seconds;
    while (!gone(pid) && now_s() < until) usleep(10000);
    return gone(pid);
}

/* ---- tests */

static void test_crashes(void) {
    static const char *expect[] = {"killed by signal 11 (SIGSEGV) while running task 17",
                                   "killed by signal 6 (SIGABRT) while running task 17",
                                   "killed by signal 9 (SIGKILL) while running task 17",
                                   "exited with code 3 while running task 17"};
    weft_pool *pool = open_pool(2, 0, 0);
    if (!pool) return;
    crash_plan plans[100];
    int64_t pids[100];
    for (int how = 0; how < 4; how++) {
        for (int i = 0; i < 100; i++) plans[i].at = 17, plans[i].how = how;
        CHECK_EQ(weft_map(pool, WEFT_FN(crash_at), plans, sizeof plans[0], 100, pids, sizeof pids[0]), WEFT_ECRASHED);
        const weft_error *e = weft_last_error();
        CHECK_EQ(e->code, WEFT_ECRASHED);
        CHECK_EQ(e->task_index, 17);
        CHECK_STR(e->task_name, "crash_at");
        CHECK_HAS(e->message, expect[how]);
        if (!strstr(e->message, expect[how])) fprintf(stderr, "  message: %s\n", e->message);
        /* the dead worker was reaped (no zombie) and replaced: the pool goes on */
        pid_t dead = pid_in(e->message);
        CHECK(dead > 0);
        CHECK(wait_gone(dead, 5));
        for (int i = 0; i < 100; i++) plans[i].at = -1;
        CHECK_EQ(weft_map(pool, WEFT_FN(crash_at), plans, sizeof plans[0], 100, pids, sizeof pids[0]), 0);
        for (int i = 0; i < 100; i++) CHECK(pids[i] != dead && pids[i] != getpid());
    }
    /* variable-size maps too */
    weft_bytes in[40], out[40];
    for (int i = 0; i < 40; i++) in[i].data = &plans[0], in[i].size = sizeof plans[0];
    plans[0].at = 30, plans[0].how = 0;
    CHECK_EQ(weft_map_bytes(pool, WEFT_FN(crash_at), in, 40, out), WEFT_ECRASHED);
    CHECK_EQ(weft_last_error()->task_index, 30);
    for (int i = 0; i < 40; i++) CHECK(out[i].data == NULL);
    weft_pool_close(pool);
}

static void test_timeout(void) {
    weft_pool *pool = open_pool(2, 1, 300);
    if (!pool) return;
    int32_t at[8], out[8];
    for (int i = 0; i < 8; i++) at[i] = 5;
    double t0 = now_s();
    CHECK_EQ(weft_map(pool, WEFT_FN(sleep_at), at, 4, 8, out, 4), WEFT_ETIMEDOUT);
    double took = now_s() - t0;
    CHECK(took < 5);
    CHECK_EQ(weft_last_error()->task_index, 5);
    CHECK_HAS(weft_last_error()->message, "300 ms task timeout");
    pid_t dead = pid_in(weft_last_error()->message);
    CHECK(dead > 0 && wait_gone(dead, 5));
    for (int i = 0; i < 8; i++) at[i] = -1;
    CHECK_EQ(weft_map(pool, WEFT_FN(sleep_at), at, 4, 8, out, 4), 0);
    for (int i = 0; i < 8; i++) CHECK_EQ(out[i], i);
    weft_pool_close(pool);
}

static void test_reuse_and_idle(void) {
    weft_pool *pool = open_pool(2, 1, 0);
    if (!pool) return;
    int64_t a[16], b[16];
    CHECK_EQ(weft_map(pool, WEFT_FN(my_pid), NULL, 0, 16, a, 8), 0);
    CHECK_EQ(weft_map(pool, WEFT_FN(my_pid), NULL, 0, 16, b, 8), 0);
    for (int i = 0; i < 16; i++) {
        int found = 0;
        for (int k = 0; k < 16; k++) found |= b[i] == a[k];
        CHECK(found); /* the same processes serve the next call */
        CHECK(a[i] != getpid());
    }
    weft_pool_close(pool);
    CHECK(wait_gone((pid_t)a[0], 5)); /* closing ends (and reaps) the workers */

    setenv("WEFT_IDLE_TIMEOUT", "1", 1);
    pool = open_pool(2, 1, 0);
    unsetenv("WEFT_IDLE_TIMEOUT");
    if (!pool) return;
    CHECK_EQ(weft_map(pool, WEFT_FN(my_pid), NULL, 0, 4, a, 8), 0);
    CHECK(wait_gone((pid_t)a[0], 5)); /* idle workers leave by themselves */
    CHECK_EQ(weft_map(pool, WEFT_FN(my_pid), NULL, 0, 4, b, 8), 0);
    for (int i = 0; i < 4; i++) CHECK(b[i] != a[0] && b[i] > 0);
    weft_pool_close(pool);
}

static void test_budget(void) {
    int cpus = weft_cpu_count();
    for (int n = 1; n <= 3; n++) {
        weft_pool *pool = open_pool(n, 1, 0);
        if (!pool) return;
        int32_t out[4][6];
        CHECK_EQ(weft_map(pool, WEFT_FN(budget), NULL, 0, 4, out, sizeof out[0]), 0);
        int share = cpus / n > 1 ? cpus / n : 1;
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < 6; k++) CHECK_EQ(out[i][k], share);
        weft_pool_close(pool);
    }
}

static void test_shared_regions(void) {
    /* every region 64-byte aligned, here and in the workers; handles resolve there */
    weft_pool *pool = open_pool(3, 1, 0);
    if (!pool) return;
    size_t sizes[] = {1, 63, 64, 4095, 4097, 1 << 20, 3000001};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        weft_shared h;
        CHECK_EQ(weft_shared_alloc(&h, sizes[s]), 0);
        unsigned char *p = weft_shared_ptr(h);
        CHECK(p && (uintptr_t)p % WEFT_SHARED_ALIGN == 0);
        CHECK_EQ(weft_shared_size(h), sizes[s]);
        uint64_t want = 0;
        for (size_t i = 0; i < sizes[s]; i++) p[i] = (unsigned char)(i * 7 + 1), want += p[i];
        region_job jobs[6];
        int64_t out[6][5];
        for (int i = 0; i < 6; i++) jobs[i].region = h, jobs[i].stride = 1;
        CHECK_EQ(weft_map(pool, WEFT_FN(read_region), jobs, sizeof jobs[0], 6, out, sizeof out[0]), 0);
        for (int i = 0; i < 6; i++) {
            CHECK_EQ((uint64_t)out[i][0], want);
            CHECK_EQ(out[i][1] % WEFT_SHARED_ALIGN, 0);
        }
        weft_shared_free(h);
    }
    CHECK(weft_shared_ptr((weft_shared){0}) == NULL);
    CHECK_EQ(weft_shared_alloc(NULL, 8), WEFT_EINVAL);
    weft_shared none;
    CHECK_EQ(weft_shared_alloc(&none, 0), WEFT_EINVAL);

    /* results written in place into a shared array */
    weft_shared slots;
    CHECK_EQ(weft_shared_alloc(&slots, 1000 * sizeof(int64_t)), 0);
    weft_shared hs[1000];
    for (int i = 0; i < 1000; i++) hs[i] = slots;
    CHECK_EQ(weft_map(pool, WEFT_FN(write_in_place), hs, sizeof hs[0], 1000, NULL, 0), 0);
    int64_t *sp = weft_shared_ptr(slots);
    size_t bad = 0;
    for (int i = 0; i < 1000; i++) bad += sp[i] != i * 3;
    CHECK_EQ(bad, 0);

    /* a map whose inputs and outputs already live in regions: no copy either way */
    weft_shared in_r, out_r;
    CHECK_EQ(weft_shared_alloc(&in_r, 5000 * 8), 0);
    CHECK_EQ(weft_shared_alloc(&out_r, 5000 * 8), 0);
    int64_t *ins = weft_shared_ptr(in_r), *outs = weft_shared_ptr(out_r);
    for (int i = 0; i < 5000; i++) ins[i] = i - 2500;
    CHECK_EQ(weft_map(pool, WEFT_FN(square), ins, 8, 5000, outs, 8), 0);
    bad = 0;
    for (int i = 0; i < 5000; i++) bad += outs[i] != (int64_t)(i - 2500) * (i - 2500);
    CHECK_EQ(bad, 0);
    weft_shared_free(in_r);
    weft_shared_free(out_r);
    weft_shared_free(slots);

    /* inputs above the threshold go to shared memory by themselves, aligned */
    unsigned char *blocks = malloc(4 * (size_t)BLOCK);
    int64_t sums[4][2], want[4] = {0};
    for (size_t i = 0; i < 4 * (size_t)BLOCK; i++) blocks[i] = (unsigned char)(i % 251), want[i / BLOCK] += blocks[i];
    CHECK_EQ(weft_map(pool, WEFT_FN(sum_block), blocks, BLOCK, 4, sums, sizeof sums[0]), 0);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(sums[i][0], want[i]);
        CHECK_EQ(sums[i][1], 0);
    }
    weft_pool_close(pool);
    weft_options o;
    weft_options_init(&o);
    o.backend = "processes";
    o.n_jobs = 2;
    o.shared_threshold = WEFT_NONE; /* everything in regions of its own */
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    memset(sums, 0, sizeof sums);
    CHECK_EQ(weft_map(pool, WEFT_FN(sum_block), blocks, BLOCK, 4, sums, sizeof sums[0]), 0);
    for (int i = 0; i < 4; i++) CHECK_EQ(sums[i][0], want[i]);
    weft_pool_close(pool);
    free(blocks);
}

/* Big inputs are known by their contents: the same bytes again are found in the region
 * that holds them, so what must never happen is a stale copy. Each map must see the bytes
 * the caller has now: the same array again, one byte changed, another array, the first
 * one back, and a copy of it at another address. (shared_threshold 0: every input is
 * "big", so small blocks keep this quick under the sanitizers.) */
#define AGAIN_BLOCK (64u << 10)
static void check_sums(weft_pool *pool, const unsigned char *blocks, const char *what) {
    int64_t sums[4][2], want[4] = {0};
    for (size_t i = 0; i < 4 * (size_t)AGAIN_BLOCK; i++) want[i / AGAIN_BLOCK] += blocks[i];
    memset(sums, 0xff, sizeof sums);
    CHECK_EQ(weft_map(pool, WEFT_FN(sum_block), blocks, AGAIN_BLOCK, 4, sums, sizeof sums[0]), 0);
    for (int i = 0; i < 4; i++)
        if (sums[i][0] != want[i]) {
            CHECK_EQ(sums[i][0], want[i]);
            fprintf(stderr, "  %s: block %d\n", what, i);
        }
}

static void test_inputs_again(void) {
    weft_options o;
    weft_options_init(&o);
    o.backend = "processes";
    o.n_jobs = 2;
    o.shared_threshold = 0;
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    if (!pool) return;
    const size_t size = 4 * (size_t)AGAIN_BLOCK;
    unsigned char *a = malloc(size), *b = malloc(size), *a2 = malloc(size);
    for (size_t i = 0; i < size; i++) a[i] = (unsigned char)(i % 251), b[i] = (unsigned char)(i % 13);
    check_sums(pool, a, "first");
    check_sums(pool, a, "again");
    a[3 * (size_t)AGAIN_BLOCK + 12345] ^= 0x5a; /* one byte of the last block */
    check_sums(pool, a, "one byte changed");
    check_sums(pool, b, "another array");
    check_sums(pool, a, "the first one back");
    memcpy(a2, a, size);
    check_sums(pool, a2, "a copy elsewhere");
    a2[0] ^= 1;
    check_sums(pool, a2, "the copy changed");
    weft_pool_close(pool);
    free(a);
    free(b);
    free(a2);
}

/* 1 GiB read by every worker: the machine holds it once. Measured in each worker (its
 * proportional share of shared memory), not in /proc/meminfo, which other programs'
 * shared memory moves. */
static void test_big_shared_input(void) {
    const size_t size = (size_t)1 << 30;
    const int workers = 4;
    weft_shared h;
    if (weft_shared_alloc(&h, size) != 0) {
        fprintf(stderr, "test_big_shared_input: skipped (%s)\n", weft_last_error()->message);
        return;
    }
    memset(weft_shared_ptr(h), 1, size);
    weft_pool *pool = open_pool(workers, 1, 0);
    if (!pool) return;
    region_job jobs[4];
    int64_t out[4][5];
    for (int i = 0; i < workers; i++) jobs[i].region = h, jobs[i].stride = 4096; /* every page */
    CHECK_EQ(weft_map(pool, WEFT_FN(read_region), jobs, sizeof jobs[0], (size_t)workers, out, sizeof out[0]), 0);
    for (int i = 0; i < workers; i++) {
        CHECK_EQ((uint64_t)out[i][0], size / 4096);
        CHECK_EQ(out[i][1] % 64, 0);
#ifndef __SANITIZE_THREAD__            /* TSan's shadow of what a worker reads is private memory */
        CHECK(out[i][2] < 256 * 1024); /* private memory: no copy */
#endif
        CHECK(out[i][3] > 1000 * 1024 - 4096); /* the region mapped and read */
        /* one copy in the machine, not one per worker: the parent maps the pages too, so
         * a worker's share is at most half of them (a copy of its own: all) */
        if (out[i][4] >= 0) CHECK(out[i][4] <= 512 * 1024 + 4096);
        if (!(out[i][4] <= 512 * 1024 + 4096)) fprintf(stderr, "  worker %d: Pss_Shmem %lld kB\n", i, (long long)out[i][4]);
    }
    weft_shared_free(h);
    int64_t kb[4];
    CHECK_EQ(weft_map(pool, WEFT_FN(shmem_kb), NULL, 0, 4, kb, 8), 0); /* workers let go */
    for (int i = 0; i < workers; i++) CHECK(kb[i] < 256 * 1024);
    weft_pool_close(pool);
}

/* weft's own objects in /dev/shm (platform/shm_posix.c names them "weft-..."; memfd
 * regions leave none): other programs (an MPI job's transport) come and go beside. */
static size_t count_dev_shm(void) {
    DIR *d = opendir("/dev/shm");
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strncmp(e->d_name, "weft-", 5) == 0;
    if (d) closedir(d);
    return n;
}

/* The program running a map is killed with SIGKILL: its fork server and workers go too
 * and nothing is left in /dev/shm. This process is a subreaper, so every orphan of the
 * victim's becomes its child and can be waited for. */
static void test_parent_killed(const char *self) {
    size_t shm_before = count_dev_shm();
    /* another program's object appears meanwhile (an MPI job's transport does): not ours */
    char foreign[64];
    snprintf(foreign, sizeof foreign, "/test-processes-foreign-%d", (int)getpid());
    int foreign_fd = shm_open(foreign, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(foreign_fd >= 0);
    CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 3);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *argv[] = {(char *)self, "victim", NULL};
    pid_t victim;
    CHECK_EQ(posix_spawn(&victim, self, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    char buf[4];
    size_t got = 0;
    while (got < 4) {
        ssize_t k = read(fds[0], buf, 4 - got);
        if (k <= 0) break;
        got += (size_t)k;
    }
    CHECK_EQ(got, 4); /* four workers are inside a task */
    kill(victim, SIGKILL);
    int status;
    CHECK_EQ(waitpid(victim, &status, 0), victim);
    double until = now_s() + 10;
    int left = 1;
    while (now_s() < until) {
        pid_t r = waitpid(-1, &status, WNOHANG);
        if (r < 0 && errno == ECHILD) {
            left = 0;
            break;
        }
        if (r == 0) usleep(10000);
    }
    CHECK_EQ(left, 0); /* no worker, no fork server, no zombie */
    CHECK_EQ(count_dev_shm(), shm_before);
    if (foreign_fd >= 0) close(foreign_fd);
    shm_unlink(foreign);
    close(fds[0]);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
}

static int victim_main(void) {
    weft_pool *pool = open_pool(4, 1, 0);
    if (!pool) return 2;
    weft_shared h;
    weft_shared_alloc(&h, 1 << 20);
    weft_map(pool, WEFT_FN(report_and_sleep), NULL, 0, 4, NULL, 0);
    return 1; /* not reached: killed during the map */
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "victim") == 0) return victim_main();
    static const test_part parts[] = {{"crashes", test_crashes},
                                      {"timeout", test_timeout},
                                      {"reuse_and_idle", test_reuse_and_idle},
                                      {"budget", test_budget},
                                      {"shared_regions", test_shared_regions},
                                      {"inputs_again", test_inputs_again},
                                      {"big_shared_input", test_big_shared_input}};
    run_parts(parts, sizeof parts / sizeof parts[0]);
    double t0 = now_s();
    test_parent_killed("/proc/self/exe");
    fprintf(stderr, "%-18s (%.2f s)\n", "parent_killed", now_s() - t0);
    weft_shutdown();
    return CHECK_DONE();
}
