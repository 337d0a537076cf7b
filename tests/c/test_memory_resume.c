/* Resuming after SIGKILL. (1) A long map with a Memory attached is killed midway and run
 * again: the second run computes only the items the first did not finish. (2) A loop
 * saving checkpoints is killed at random moments, mostly inside a save: the newest
 * complete checkpoint always loads and holds exactly its step's state. */
#define _DEFAULT_SOURCE
#include "check.h"
#include "mem_util.h"
#include "weft.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define ITEMS 240

/* The run's log, named in the environment from the start of the process, so worker
 * processes (forked by a server started before main) find it too. */
#define LOG_ENV "WEFT_TEST_RESUME_LOG"

/* int64 -> int64 after 4 ms; appends its index to the run's log when done */
static int slow_square(weft_task *t) {
    static _Atomic int shared_fd = -1; /* opened once per process, by whichever task is first */
    int log_fd = atomic_load(&shared_fd);
    if (log_fd < 0 && getenv(LOG_ENV)) {
        int fd = open(getenv(LOG_ENV), O_WRONLY | O_CREAT | O_APPEND, 0644), none = -1;
        if (atomic_compare_exchange_strong(&shared_fd, &none, fd)) log_fd = fd;
        else close(fd), log_fd = none;
    }
    int64_t v = *(const int64_t *)weft_input(t), r = v * v;
    usleep(4000);
    char line[32];
    int n = snprintf(line, sizeof line, "%lld\n", (long long)v);
    if (log_fd < 0 || write(log_fd, line, (size_t)n) != n) return weft_fail(t, "log write failed");
    return weft_output(t, &r, sizeof r);
}
WEFT_TASK(slow_square)

static int run_map(const char *dir, const char *backend) {
    weft_memory *m;
    if (weft_memory_open(&m, dir, NULL)) return 100;
    weft_options o;
    weft_options_init(&o);
    o.backend = backend;
    o.n_jobs = 2;
    o.memory = m;
    weft_pool *pool;
    if (weft_pool_open(&pool, &o)) return 101;
    int64_t in[ITEMS], out[ITEMS];
    for (int i = 0; i < ITEMS; i++) in[i] = i;
    int rc = weft_map(pool, WEFT_FN(slow_square), in, sizeof in[0], ITEMS, out, sizeof out[0]);
    int bad = 0;
    for (int i = 0; i < ITEMS; i++) bad += out[i] != (int64_t)i * i;
    weft_pool_close(pool);
    weft_memory_close(m);
    return rc ? 102 : bad ? 103 : 0;
}

static int count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    int n = 0, c;
    while (f && (c = fgetc(f)) != EOF) n += c == '\n';
    if (f) fclose(f);
    return n;
}

static pid_t spawn(const char *a1, const char *a2, const char *a3, const char *log) {
    pid_t pid = fork();
    if (pid == 0) {
        if (log) setenv(LOG_ENV, log, 1);
        execl("/proc/self/exe", "test_memory_resume", a1, a2, a3, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void test_map_resume(const char *base, const char *backend) {
    char dir[4200], log1[4200], log2[4200];
    snprintf(dir, sizeof dir, "%s/cache-%s", base, backend);
    snprintf(log1, sizeof log1, "%s/run1-%s.log", base, backend);
    snprintf(log2, sizeof log2, "%s/run2-%s.log", base, backend);
    pid_t pid = spawn("map", dir, backend, log1);
    /* kill it once about a third of the items are done */
    for (int waited = 0; count_lines(log1) < ITEMS / 3 && waited < 10000; waited += 2) usleep(2000);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    int stored = count_entries(dir); /* whichever store: WEFT_CACHE_STORE */
    int ran1 = count_lines(log1);
    printf("%s, run 1: killed after %d items ran, %d stored\n", backend, ran1, stored);
    CHECK(stored > 0 && stored < ITEMS);
    /* at most the in-flight items are lost: one per worker, and on processes also those
     * finished in a worker whose reply the parent had not read yet (a few per worker) */
    int in_flight = strcmp(backend, "processes") == 0 ? 8 : 2;
    CHECK(stored >= ran1 - in_flight && stored <= ran1);

    pid = spawn("map", dir, backend, log2);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int ran2 = count_lines(log2);
    printf("%s, run 2: %d items ran (%d were cached)\n", backend, ran2, stored);
    CHECK_EQ(ran2, ITEMS - stored);
    CHECK_EQ(count_entries(dir), ITEMS);
}

#define STATE_WORDS (512 * 1024) /* 4 MB: a save takes long enough to be hit */

static uint64_t word(int64_t step, size_t i) { return (uint64_t)step * 0x9e3779b97f4a7c15ull ^ i; }

static int run_checkpoints(const char *dir) {
    weft_checkpoint *c;
    if (weft_checkpoint_open(&c, dir, "state", 2, 0)) return 100;
    uint64_t *state = malloc(STATE_WORDS * sizeof *state);
    int64_t step = 0;
    weft_bytes prev;
    int skipped;
    if (weft_checkpoint_load(c, &step, &prev, &skipped) == 0) {
        step++;
        weft_bytes_free(&prev, 1);
    }
    for (;; step++) {
        for (size_t i = 0; i < STATE_WORDS; i++) state[i] = word(step, i);
        if (weft_checkpoint_save(c, step, state, STATE_WORDS * sizeof *state)) return 101;
    }
}

/* The newest step with a file in the checkpoint folder, -1 when none. */
static long long newest_file(const char *dir) {
    char sub[4300];
    snprintf(sub, sizeof sub, "%s/state", dir);
    DIR *d = opendir(sub);
    struct dirent *e;
    long long best = -1, step;
    while (d && (e = readdir(d)))
        if (sscanf(e->d_name, "step-%lld.wck", &step) == 1 && step > best) best = step;
    if (d) closedir(d);
    return best;
}

static void test_checkpoint_kills(const char *base) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/ckpt", base);
    srand((unsigned)time(NULL));
    int64_t last = -1;
    for (int round = 0; round < 8; round++) {
        pid_t pid = spawn("ckpt", dir, "x", NULL);
        /* let it get past one more save (however loaded the machine), then kill it at
         * a random moment: a save takes most of each iteration */
        for (int waited = 0; newest_file(dir) <= last && waited < 20000; waited++) usleep(1000);
        usleep((useconds_t)(rand() % 30000));
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        weft_checkpoint *c;
        CHECK_EQ(weft_checkpoint_open(&c, dir, "state", 2, 0), 0);
        int64_t step = -1;
        weft_bytes b;
        int skipped = 0;
        int rc = weft_checkpoint_load(c, &step, &b, &skipped);
        CHECK_EQ(rc, 0);
        CHECK(step >= last);
        CHECK_EQ(skipped, 0); /* a kill leaves temp files, never a bad checkpoint */
        int bad = b.size != STATE_WORDS * sizeof(uint64_t);
        for (size_t i = 0; !bad && i < STATE_WORDS; i++) bad = ((uint64_t *)b.data)[i] != word(step, i);
        CHECK_EQ(bad, 0);
        last = step;
        weft_bytes_free(&b, 1);
        weft_checkpoint_close(c);
    }
    printf("checkpoints: 8 kills, newest loadable step %lld\n", (long long)last);
    CHECK(last >= 0);
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "map") == 0) return run_map(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "ckpt") == 0) return run_checkpoints(argv[2]);
    char *base = temp_dir("resume");
    for (size_t b = 0; weft_backend_name(b); b++) test_map_resume(base, weft_backend_name(b));
    test_checkpoint_kills(base);
    rm_rf(base);
    free(base);
    return CHECK_DONE();
}
