/* How many CPUs this process may use on Linux: the smallest of the CPUs online, the
 * affinity mask and the cgroup CPU quota (what containers and Slurm actually grant). */
#define _GNU_SOURCE
#include "platform.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int weft_plat_cpu_online(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int weft_plat_cpu_affinity(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return weft_plat_cpu_online();
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

static int read_line(const char *path, char *buf, size_t size) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *ok = fgets(buf, (int)size, f);
    fclose(f);
    return ok ? 0 : -1;
}

/* Non-zero when the comma-separated controller list names `name` exactly ("cpu" is in
 * "cpu,cpuacct" but not in "cpuacct" or "cpuset"). */
static int has_controller(const char *list, const char *name) {
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && strncmp(p, name, len) == 0) return 1;
        p += n;
        if (*p == ',') p++;
    }
    return 0;
}

/* The cgroup this process lives in: the v2 line "0::/path", or the v1 line whose
 * controllers include "cpu". */
static int own_cgroup(int v2, char *path, size_t size) {
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f) return -1;
    char line[512];
    int found = -1;
    while (found < 0 && fgets(line, sizeof line, f)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = '\0';
        const char *ctrls = c1 + 1;
        int match = v2 ? (strncmp(line, "0", 1) == 0 && *ctrls == '\0')
                       : has_controller(ctrls, "cpu");
        if (!match) continue;
        char *p = c2 + 1;
        p[strcspn(p, "\n")] = '\0';
        snprintf(path, size, "%s", p);
        found = 0;
    }
    fclose(f);
    return found;
}

/* Quota in CPUs from a cgroup folder, trying the process's own cgroup and then the
 * mount root (inside a container the own path is often not visible). 0 when none. */
static double quota_v2(void) {
    char cg[400], path[512], buf[128];
    const char *dirs[2] = {NULL, ""};
    if (own_cgroup(1, cg, sizeof cg) == 0) dirs[0] = cg;
    for (int i = 0; i < 2; i++) {
        if (!dirs[i]) continue;
        snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max", dirs[i]);
        if (read_line(path, buf, sizeof buf) != 0) continue;
        char max[32];
        double period = 0;
        if (sscanf(buf, "%31s %lf", max, &period) != 2) continue;
        if (strcmp(max, "max") == 0 || period <= 0) return 0;
        double quota = 0;
        if (sscanf(max, "%lf", &quota) == 1 && quota > 0) return quota / period;
    }
    return 0;
}

static double quota_v1(void) {
    char cg[400], path[512], buf[64];
    const char *dirs[2] = {NULL, ""};
    if (own_cgroup(0, cg, sizeof cg) == 0) dirs[0] = cg;
    const char *roots[2] = {"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"};
    for (int r = 0; r < 2; r++) {
        for (int i = 0; i < 2; i++) {
            if (!dirs[i]) continue;
            double quota = 0, period = 0;
            snprintf(path, sizeof path, "%s%s/cpu.cfs_quota_us", roots[r], dirs[i]);
            if (read_line(path, buf, sizeof buf) != 0 || sscanf(buf, "%lf", &quota) != 1) continue;
            snprintf(path, sizeof path, "%s%s/cpu.cfs_period_us", roots[r], dirs[i]);
            if (read_line(path, buf, sizeof buf) != 0 || sscanf(buf, "%lf", &period) != 1) continue;
            if (quota > 0 && period > 0) return quota / period;
            return 0;
        }
    }
    return 0;
}

double weft_plat_cpu_quota(void) {
    double q = quota_v2();
    return q > 0 ? q : quota_v1();
}

int weft_plat_cpu_count(void) {
    int n = weft_plat_cpu_affinity();
    int online = weft_plat_cpu_online();
    if (online < n) n = online;
    double quota = weft_plat_cpu_quota();
    if (quota > 0) {
        int q = (int)quota;
        if (q < quota) q++; /* 1.5 CPUs of quota still keep two busy */
        if (q < n) n = q;
    }
    return n > 0 ? n : 1;
}
