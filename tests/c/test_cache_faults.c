/* A cached map under real file-system faults and real kills. The map runs in a child
 * process with tests/c/fault_shim.c preloaded, so the cache's own open/read/write/
 * rename/fsync calls fail for real:
 *
 * faults  EIO, ENOSPC and short reads/writes at every Nth operation on the cache folder,
 *         while the map stores, then while a second process reads back: every value the
 *         map returns is right, `weft cache verify` finds nothing corrupt, and a clean
 *         run afterwards returns right values.
 * crash   SIGKILL right before the Nth operation (N spread over a whole run) and at
 *         random moments: a rerun returns right values, verify is clean, and no item of
 *         a round the killed process had seen complete runs again (stored is stored).
 *
 * Needs WEFT_FAULT_SHIM (the shim's path) and WEFT_TOOL (the `weft` tool), set by CMake.
 * WEFT_CRASH_KILLS: how many random kills (default 8); WEFT_CRASH_POINTS: at how many
 * operations of a run to kill it (default 16; a run's count of operations or more: at
 * every one). */
#define _GNU_SOURCE
#include "check.h"
#include "mem_util.h"
#include "test_parts.h"
#include "weft.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#define ITEMS 24 /* per round */
#define ROUNDS 4 /* rounds of a map run: ITEMS new inputs each */
#define WORDS 64 /* output: 512 bytes, so a short write cuts an entry */

static int ran_fd = -1; /* the child logs each item it computes here */

static uint64_t mix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* int64 x -> WORDS words, each a function of x: any read back can be checked. */
static int spread(weft_task *t) {
    int64_t x = *(const int64_t *)weft_input(t);
    uint64_t out[WORDS];
    for (int k = 0; k < WORDS; k++) out[k] = mix((uint64_t)x * WORDS + (uint64_t)k);
    if (ran_fd >= 0) {
        char line[32];
        int n = snprintf(line, sizeof line, "%lld\n", (long long)x);
        if (write(ran_fd, line, (size_t)n) != n) return weft_fail(t, "log write failed");
    }
    return weft_output(t, out, sizeof out);
}
WEFT_TASK(spread)

/* ---- the child: `map DIR RAN_LOG DONE_LOG`, exit 0 when every value was right */

static int child_map(const char *dir, const char *ran_log, const char *done_log) {
    ran_fd = open(ran_log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int done_fd = open(done_log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    weft_memory_options mo = WEFT_MEMORY_OPTIONS_INIT;
    mo.quiet = 1;
    weft_memory *m;
    int rc = weft_memory_open(&m, dir, &mo);
    if (rc) { /* a fault while opening: refused with a reason, nothing run */
        fprintf(stderr, "open refused: %s\n", weft_last_error()->message);
        return rc == WEFT_ESYS ? 3 : 4;
    }
    weft_options o;
    weft_options_init(&o);
    o.backend = "threads";
    o.n_jobs = 2;
    o.memory = m;
    weft_pool *pool;
    if (weft_pool_open(&pool, &o)) return 5;
    int bad = 0;
    for (int round = 0; round < ROUNDS && !bad; round++) {
        int64_t in[ITEMS];
        static uint64_t out[ITEMS][WORDS];
        for (int i = 0; i < ITEMS; i++) in[i] = round * ITEMS + i;
        memset(out, 0, sizeof out);
        rc = weft_map(pool, WEFT_FN(spread), in, sizeof in[0], ITEMS, out, sizeof out[0]);
        if (rc) {
            fprintf(stderr, "round %d: map failed: %s\n", round, weft_last_error()->message);
            bad = 6;
            break;
        }
        for (int i = 0; i < ITEMS; i++)
            for (int k = 0; k < WORDS; k++)
                if (out[i][k] != mix((uint64_t)in[i] * WORDS + (uint64_t)k)) bad = 7;
        if (bad) fprintf(stderr, "round %d: a wrong value\n", round);
        char line[16];
        int n = snprintf(line, sizeof line, "%d\n", round);
        if (!bad && write(done_fd, line, (size_t)n) != n) bad = 8;
    }
    weft_pool_close(pool);
    weft_memory_close(m);
    return bad;
}

/* ---- the parent */

static const char *shim, *tool;
static char *base; /* the test's temporary folder: caches and logs */

/* Run the child map on `dir` (with the shim when kind is not NULL); its wait status. When
 * kill_after_s > 0 the child is killed that long after it starts. */
static int run_child(const char *dir, const char *kind, long every, long at,
                     double kill_after_s) {
    char ran[4200], done[4200], report[4200];
    snprintf(ran, sizeof ran, "%s/ran.log", base);
    snprintf(done, sizeof done, "%s/done.log", base);
    snprintf(report, sizeof report, "%s/ops", base);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("WEFT_FORKSERVER", "0", 1); /* the map runs on threads: no fork server */
        if (kind) {
            char n[32];
            setenv("LD_PRELOAD", shim, 1);
            setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
            setenv("WEFT_FAULT_PATH", dir, 1);
            setenv("WEFT_FAULT_KIND", kind, 1);
            setenv("WEFT_FAULT_REPORT", report, 1);
            snprintf(n, sizeof n, "%ld", every);
            setenv("WEFT_FAULT_EVERY", n, 1);
            snprintf(n, sizeof n, "%ld", at);
            setenv("WEFT_FAULT_AT", n, 1);
        }
        execl("/proc/self/exe", "test_cache_faults", "map", dir, ran, done, (char *)NULL);
        _exit(127);
    }
    if (kill_after_s > 0) {
        usleep((useconds_t)(kill_after_s * 1e6));
        kill(pid, SIGKILL);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

/* `weft cache verify DIR`: 1 when it exits 0 and finds nothing corrupt. With `maybe_none`,
 * also when the process died (or was refused) before the folder became a cache: then
 * the tool refuses it, and no entry may be there. */
static int verify_clean(const char *dir, int maybe_none) {
    char cmd[4400], out[8192];
    snprintf(cmd, sizeof cmd, "'%s' cache verify '%s' 2>&1", tool, dir);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = '\0';
    int status = p ? pclose(p) : -1;
    int ok = status == 0 && strstr(out, " 0 corrupt") != NULL;
    static char entries[4][4096];
    if (!ok && maybe_none && (strstr(out, "no cache there") || strstr(out, "is not a weft cache")))
        ok = find_entries(dir, entries, 4) == 0;
    if (!ok) fprintf(stderr, "weft cache verify %s (status %d):\n%s", dir, status, out);
    return ok;
}

static int read_numbers(const char *path, unsigned char *seen, int max) {
    FILE *f = fopen(path, "r");
    int n = 0, v;
    while (f && fscanf(f, "%d", &v) == 1)
        if (v >= 0 && v < max) seen[v]++, n++;
    if (f) fclose(f);
    return n;
}

static void reset_logs(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/ran.log", base);
    unlink(path);
    snprintf(path, sizeof path, "%s/done.log", base);
    unlink(path);
}

/* The checks after a killed or faulty run: verify is clean; a clean rerun returns right
 * values and, after a kill, recomputes no item of a round reported done before (a
 * fault may have kept a result from being stored: the map warns and goes on). */
static void check_recovers(const char *dir, const char *what, int after_kill) {
    char ran[4200], done[4200];
    snprintf(ran, sizeof ran, "%s/ran.log", base);
    snprintf(done, sizeof done, "%s/done.log", base);
    unsigned char rounds_done[ROUNDS] = {0};
    read_numbers(done, rounds_done, ROUNDS);
    unlink(ran);
    int verified = verify_clean(dir, 1);
    int status = run_child(dir, NULL, 0, 0, 0);
    verified = verify_clean(dir, 0) && verified;
    int right = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    unsigned char again[ROUNDS * ITEMS] = {0};
    read_numbers(ran, again, ROUNDS * ITEMS);
    int lost = 0;
    for (int i = 0; i < ROUNDS * ITEMS && after_kill; i++) lost += again[i] && rounds_done[i / ITEMS];
    if (!verified || !right || lost)
        fprintf(stderr, "%s: verify %s, rerun status %#x, %d stored items ran again\n", what,
                verified ? "clean" : "NOT clean", status, lost);
    CHECK(verified);
    CHECK(right);
    CHECK_EQ(lost, 0);
    reset_logs();
}

static void test_faults(void) {
    static const char *kinds[] = {"eio", "enospc", "short"};
    static const long everies[] = {2, 3, 7, 31};
    char dir[4200];
    for (size_t k = 0; k < 3; k++)
        for (size_t e = 0; e < sizeof everies / sizeof everies[0]; e++) {
            char what[64];
            snprintf(what, sizeof what, "%s every %ld", kinds[k], everies[e]);
            snprintf(dir, sizeof dir, "%s/faults", base);
            rm_rf(dir);
            /* storing under faults, then reading back under faults in a new process
               (nothing in its in-process cache): each run's values are right, or the
               cache refused to open with a reason (exit 3) */
            for (int pass = 0; pass < 2; pass++) {
                int status = run_child(dir, kinds[k], everies[e], 0, 0);
                int ok = WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3);
                if (!ok) fprintf(stderr, "%s, pass %d: child status %#x\n", what, pass, status);
                CHECK(ok);
            }
            check_recovers(dir, what, 0);
        }
}

static long ops_of_a_run(void) {
    char dir[4200], report[4200];
    snprintf(dir, sizeof dir, "%s/count", base);
    snprintf(report, sizeof report, "%s/ops", base);
    rm_rf(dir);
    int status = run_child(dir, "none", 0, 0, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    FILE *f = fopen(report, "r");
    long n = 0;
    if (!f || fscanf(f, "%ld", &n) != 1) n = 0;
    if (f) fclose(f);
    rm_rf(dir);
    reset_logs();
    return n;
}

static void test_crash(void) {
    long total = ops_of_a_run();
    printf("a run makes %ld file operations on the cache\n", total);
    CHECK(total > ROUNDS); /* the log store writes a round's entries in one write */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/crash", base);
    /* killed right before the Nth operation, N over the whole run: each on a fresh
       cache, and each on the cache the previous kills left */
    const char *points = getenv("WEFT_CRASH_POINTS");
    long n_points = points && atol(points) > 0 ? atol(points) : 16;
    long step = total / n_points > 0 ? total / n_points : 1;
    int killed = 0;
    for (int fresh = 1; fresh >= 0; fresh--)
        for (long n = 1 + fresh * step / 2; n <= total; n += step) {
            if (fresh) rm_rf(dir);
            int status = run_child(dir, "kill", 0, n, 0);
            killed += WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
            char what[64];
            snprintf(what, sizeof what, "killed at operation %ld%s", n, fresh ? "" : " (cumulative)");
            check_recovers(dir, what, 1);
        }
    CHECK(killed > 0);
    /* at random moments, on one cache */
    const char *env = getenv("WEFT_CRASH_KILLS");
    int kills = env && atoi(env) > 0 ? atoi(env) : 8;
    rm_rf(dir);
    unsigned seed = (unsigned)time(NULL);
    printf("random kills: seed %u\n", seed);
    srand(seed);
    for (int i = 0; i < kills; i++) {
        double after = 0.002 + (double)(rand() % 1000) / 1000.0 * 0.06;
        run_child(dir, NULL, 0, 0, after);
        char what[64];
        snprintf(what, sizeof what, "killed after %.1f ms", after * 1e3);
        check_recovers(dir, what, 1);
    }
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "map") == 0) return child_map(argv[2], argv[3], argv[4]);
    const char *kills = getenv("WEFT_CRASH_KILLS");
    const char *points = getenv("WEFT_CRASH_POINTS");
    /* a hang fails instead of blocking */
    alarm(280 + (kills ? (unsigned)atoi(kills) : 0) + (points ? (unsigned)atoi(points) : 0));
    shim = getenv("WEFT_FAULT_SHIM");
    tool = getenv("WEFT_TOOL");
    if (!shim || !tool) {
        SKIP("WEFT_FAULT_SHIM or WEFT_TOOL is not set (run through ctest)");
        return CHECK_DONE();
    }
    base = temp_dir("faults");
    static const test_part parts[] = {{"faults", test_faults}, {"crash", test_crash}};
    run_parts(parts, sizeof parts / sizeof parts[0]);
    rm_rf(base);
    free(base);
    weft_shutdown();
    return CHECK_DONE();
}
