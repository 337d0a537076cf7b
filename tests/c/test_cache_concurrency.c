/* One disk cache, many writers. First, 8 processes open one new folder at once, again and
 * again: each gets the cache. Then 8 processes run cached maps over overlapping inputs with
 * eviction on (max_items and max_bytes) for a bounded time, while the `weft` tool lists,
 * verifies, prunes and clears the same folder. Every value a map returns is checked (a
 * value is a function of its input), every tool run must succeed, verify must find
 * nothing corrupt, and a clean pass afterwards returns right values.
 *
 * WEFT_STRESS_SECONDS: how long the writers run (default 10). WEFT_TOOL: the tool. */
#define _GNU_SOURCE
#include "check.h"
#include "mem_util.h"
#include "test_parts.h"
#include "weft.h"

#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>

#define WRITERS 8
#define KEYS 120 /* inputs 0 .. KEYS-1, more than the cache may keep */
#define BATCH 12 /* inputs per map */
#define WORDS 32

static uint64_t mix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int words_of(weft_task *t) {
    int64_t x = *(const int64_t *)weft_input(t);
    uint64_t out[WORDS];
    for (int k = 0; k < WORDS; k++) out[k] = mix((uint64_t)x * WORDS + (uint64_t)k);
    return weft_output(t, out, sizeof out);
}
WEFT_TASK(words_of)

/* ---- a writer: `hammer DIR SECONDS SEED`; exit 0, or 1 wrong value, 2 map error,
 * 3 open error. Prints maps and hits done. */
static int hammer(const char *dir, double seconds, unsigned seed) {
    weft_memory_options mo = WEFT_MEMORY_OPTIONS_INIT;
    mo.quiet = 1;
    mo.max_items = 40;
    mo.max_bytes = 40 * 400;
    weft_memory *m;
    if (weft_memory_open(&m, dir, &mo)) {
        fprintf(stderr, "writer: open: %s\n", weft_last_error()->message);
        return 3;
    }
    weft_options o;
    weft_options_init(&o);
    o.backend = "sequential";
    o.memory = m;
    weft_pool *pool;
    if (weft_pool_open(&pool, &o)) return 3;
    double end = now_s() + seconds;
    long maps = 0;
    int rc = 0;
    srand(seed);
    while (!rc && now_s() < end) {
        int64_t in[BATCH];
        uint64_t out[BATCH][WORDS];
        for (int i = 0; i < BATCH; i++) in[i] = rand() % KEYS;
        if (weft_map(pool, WEFT_FN(words_of), in, sizeof in[0], BATCH, out, sizeof out[0]) != 0) {
            fprintf(stderr, "writer: map: %s\n", weft_last_error()->message);
            rc = 2;
            break;
        }
        for (int i = 0; i < BATCH; i++)
            for (int k = 0; k < WORDS; k++)
                if (out[i][k] != mix((uint64_t)in[i] * WORDS + (uint64_t)k)) rc = 1;
        maps++;
    }
    weft_memory_stats s;
    weft_memory_stats_get(m, &s);
    printf("writer %u: %ld maps, %lld hits, %lld stores, %lld evicted, %lld corrupt\n", seed, maps,
           (long long)s.hits, (long long)s.stores, (long long)s.evicted, (long long)s.corrupt);
    weft_pool_close(pool);
    weft_memory_close(m);
    return rc;
}

/* ---- the parent: the tool's commands in turn while the writers run */

static const char *tool;

/* Run `weft cache ARGS`; 1 when it exits 0 (and, for verify, finds nothing corrupt). */
static int tool_ok(const char *args, const char *dir) {
    char cmd[4400], out[8192];
    snprintf(cmd, sizeof cmd, "'%s' cache %s 2>&1", tool, args);
    char *at = strstr(cmd, "DIR");
    if (at) { /* the folder goes where DIR is */
        char rest[4400];
        snprintf(rest, sizeof rest, "%s", at + 3);
        snprintf(at, sizeof cmd - (size_t)(at - cmd), "'%s'%s", dir, rest);
    }
    FILE *p = popen(cmd, "r");
    size_t n = 0, got;
    char sink[4096];
    while (p && (got = fread(n < sizeof out - 1 ? out + n : sink, 1,
                             n < sizeof out - 1 ? sizeof out - 1 - n : sizeof sink, p)) > 0)
        if (n < sizeof out - 1) n += got;
    out[n] = '\0';
    int status = p ? pclose(p) : -1;
    int ok = status == 0 && (strncmp(args, "verify", 6) != 0 || strstr(out, " 0 corrupt"));
    if (!ok) fprintf(stderr, "weft cache %s: status %d:\n%.2000s\n", args, status, out);
    return ok;
}

static void test_writers_and_tool(void) {
    tool = getenv("WEFT_TOOL");
    if (!tool) {
        SKIP("WEFT_TOOL is not set (run through ctest)");
        return;
    }
    const char *env = getenv("WEFT_STRESS_SECONDS");
    double seconds = env && atof(env) > 0 ? atof(env) : 10;
    char *dir = temp_dir("concurrency");
    char seconds_text[32];
    snprintf(seconds_text, sizeof seconds_text, "%g", seconds);
    pid_t writers[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        writers[w] = fork();
        if (writers[w] == 0) {
            char seed[16];
            snprintf(seed, sizeof seed, "%d", w + 1);
            setenv("WEFT_FORKSERVER", "0", 1);
            execl("/proc/self/exe", "test_cache_concurrency", "hammer", dir, seconds_text, seed,
                  (char *)NULL);
            _exit(127);
        }
    }
    /* the tool refuses a folder no writer has made a cache yet: wait for the first */
    char marker[4200];
    snprintf(marker, sizeof marker, "%s/CACHEDIR.TAG", dir);
    for (int waited = 0; access(marker, F_OK) != 0 && waited < 30000; waited += 10) usleep(10000);
    static const char *commands[] = {"ls DIR", "verify DIR", "prune DIR --max-items 20",
                                     "ls DIR words_of", "prune DIR --max-bytes 4k", "clear DIR"};
    int runs = 0, failed = 0;
    double end = now_s() + seconds;
    for (int i = 0; now_s() < end || i < 6; i++) { /* each command at least once */
        failed += !tool_ok(commands[i % 6], dir);
        runs++;
        usleep(20000);
    }
    int bad_writers = 0;
    for (int w = 0; w < WRITERS; w++) {
        int status;
        waitpid(writers[w], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "writer %d: status %#x\n", w + 1, status);
            bad_writers++;
        }
    }
    printf("%d tool runs beside %d writers for %g s\n", runs, WRITERS, seconds);
    CHECK_EQ(bad_writers, 0);
    CHECK_EQ(failed, 0);
    /* quiet now: the cache verifies clean and serves right values */
    CHECK(tool_ok("verify DIR", dir));
    CHECK_EQ(hammer(dir, 0.2, 99), 0);
    rm_rf(dir);
    free(dir);
}

/* Processes opening one new folder at the same moment all get a cache: none may take
 * another's marker, just written, for a foreign file. */
static void test_first_opens(void) {
    char *base = temp_dir("first-open");
    int refused = 0;
    for (int round = 0; round < 40; round++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/%d", base, round);
        int gate[2];
        CHECK_EQ(pipe(gate), 0);
        pid_t kids[WRITERS];
        for (int k = 0; k < WRITERS; k++) {
            kids[k] = fork();
            if (kids[k] == 0) {
                char c;
                close(gate[1]);
                if (read(gate[0], &c, 1) != 0) _exit(9); /* released when the gate closes */
                weft_memory *m;
                int rc = weft_memory_open(&m, dir, NULL);
                if (rc) fprintf(stderr, "round %d: %s\n", round, weft_last_error()->message);
                weft_memory_close(m);
                _exit(rc ? 1 : 0);
            }
        }
        close(gate[0]);
        close(gate[1]);
        for (int k = 0; k < WRITERS; k++) {
            int status;
            waitpid(kids[k], &status, 0);
            refused += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        }
    }
    CHECK_EQ(refused, 0);
    rm_rf(base);
    free(base);
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "hammer") == 0)
        return hammer(argv[2], atof(argv[3]), (unsigned)atoi(argv[4]));
    const char *seconds = getenv("WEFT_STRESS_SECONDS");
    alarm(240 + (seconds ? (unsigned)atoi(seconds) : 0)); /* a hang fails instead of blocking */
    static const test_part parts[] = {{"first_opens", test_first_opens},
                                      {"writers_and_tool", test_writers_and_tool}};
    run_parts(parts, 2);
    weft_shutdown();
    return CHECK_DONE();
}
