/* The CPU count: within what the machine has, and following the affinity mask. */
#define _GNU_SOURCE
#include "check.h"
#include "test_tasks.h"

#include "../platform/platform.h"

#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void check_bounds(void) {
    int n = weft_cpu_count();
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    CHECK_EQ(sched_getaffinity(0, sizeof set, &set), 0);
    int allowed = CPU_COUNT(&set);
    CHECK(n >= 1);
    CHECK(online >= 1 && n <= online);
    CHECK(n <= allowed);
    /* the parts agree with the system */
    CHECK_EQ(weft_plat_cpu_online(), (int)online);
    CHECK_EQ(weft_plat_cpu_affinity(), allowed);
    double quota = weft_plat_cpu_quota();
    CHECK(quota >= 0);
    if (quota > 0) CHECK(n <= (int)quota + 1);
    else CHECK_EQ(n, allowed < online ? allowed : (int)online);
    /* stable from call to call, and what n_jobs = -1 means */
    CHECK_EQ(weft_cpu_count(), n);
    CHECK_EQ(weft_resolve_n_jobs(-1), n);
    printf("cpus: online %ld, affinity %d, quota %.2f -> weft_cpu_count %d\n", online, allowed,
           quota, n);
}

/* In a child process: pin to one CPU and check everything follows. Exit 0 when fine. */
static int pinned_child(int cpu) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) return 10;
    int fails = 0;
    if (weft_cpu_count() != 1) fails |= 1;
    if (weft_resolve_n_jobs(-1) != 1) fails |= 2;
    if (weft_resolve_n_jobs(-2) != 1) fails |= 4;
    if (weft_plat_cpu_affinity() != 1) fails |= 8;
    /* a default pool opened now has one worker; a map on it still works */
    weft_pool *pool = NULL;
    if (weft_pool_open(&pool, NULL) != 0 || weft_pool_n_jobs(pool) != 1) fails |= 16;
    int64_t in[100], out[100];
    for (int i = 0; i < 100; i++) in[i] = i;
    if (weft_map(pool, WEFT_FN(square), in, 8, 100, out, 8) != 0 || out[99] != 99 * 99) fails |= 32;
    weft_pool_close(pool);
    /* more workers than CPUs still works */
    weft_options o;
    weft_options_init(&o);
    o.backend = "threads";
    o.n_jobs = 4;
    if (weft_pool_open(&pool, &o) != 0 || weft_map(pool, WEFT_FN(square), in, 8, 100, out, 8) != 0 ||
        out[50] != 2500)
        fails |= 64;
    weft_pool_close(pool);
    return fails;
}

static void check_affinity(void) {
    cpu_set_t set;
    CHECK_EQ(sched_getaffinity(0, sizeof set, &set), 0);
    int first = -1, last = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set)) {
            if (first < 0) first = c;
            last = c;
        }
    CHECK(first >= 0);
    int cpus[2] = {first, last};
    for (int k = 0; k < 2; k++) {
        fflush(NULL);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) _exit(pinned_child(cpus[k]));
        int status = 0;
        CHECK_EQ(waitpid(pid, &status, 0), pid);
        CHECK(WIFEXITED(status));
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
            fprintf(stderr, "pinned to CPU %d: failure bits 0x%x\n", cpus[k], WEXITSTATUS(status));
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    /* the parent's own mask is untouched */
    cpu_set_t after;
    CHECK_EQ(sched_getaffinity(0, sizeof after, &after), 0);
    CHECK(CPU_EQUAL(&set, &after));

    /* and in this process, pinning and restoring the mask is followed at once */
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(last, &one);
    CHECK_EQ(sched_setaffinity(0, sizeof one, &one), 0);
    CHECK_EQ(weft_cpu_count(), 1);
    CHECK_EQ(weft_resolve_n_jobs(-1), 1);
    CHECK_EQ(sched_setaffinity(0, sizeof set, &set), 0);
    CHECK_EQ(weft_plat_cpu_affinity(), CPU_COUNT(&set));
}

int main(void) {
    check_bounds();
    check_affinity();
    check_bounds();
    return CHECK_DONE();
}
