/* Small helpers for the benchmarks: a clock, order statistics, and what machine this is.
 * Header-only so each bench program stays one file plus this. */
#ifndef WEFT_BENCH_UTIL_H
#define WEFT_BENCH_UTIL_H

#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Monotonic clock in nanoseconds (vDSO: about 20 ns a read). */
static inline uint64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void bench_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (0 <= q <= 1) of n samples, nearest rank; sorts `v` in place. */
static inline double bench_quantile(double *v, size_t n, double q) {
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, bench_cmp_double);
    size_t k = (size_t)(q * (double)(n - 1) + 0.5);
    return v[k < n ? k : n - 1];
}
static inline double bench_median(double *v, size_t n) { return bench_quantile(v, n, 0.5); }

/* "AMD EPYC 7763 64-Core Processor" from /proc/cpuinfo, or "unknown". */
static inline void bench_cpu_model(char *out, size_t size) {
    snprintf(out, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *v = strchr(line, ':');
        if (!v) break;
        v++;
        while (*v == ' ' || *v == '\t') v++;
        snprintf(out, size, "%.*s", (int)strcspn(v, "\n"), v);
        break;
    }
    fclose(f);
}

/* What `nproc` prints (without OMP_NUM_THREADS set): the CPUs in this process's affinity
 * mask; the online CPUs when the mask cannot be read. Needs _GNU_SOURCE before any
 * include. */
static inline long bench_nproc(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    return sysconf(_SC_NPROCESSORS_ONLN);
}

/* How busy the machine is apart from us: CPU time the whole system spent busy (from
 * /proc/stat) minus what this process used (getrusage), over an interval, as a share of
 * all CPUs. Benchmarks on a shared machine print it so that a disturbed row shows. */
typedef struct bench_load {
    double busy_s, own_s, wall_s;
} bench_load;

static inline bench_load bench_load_now(void) {
    bench_load l = {0, 0, (double)bench_now_ns() * 1e-9};
    FILE *f = fopen("/proc/stat", "r");
    if (f) {
        unsigned long long v[8] = {0};
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]) == 8) {
            /* user nice system idle iowait irq softirq steal: busy is all but idle, iowait */
            double ticks = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
            l.busy_s = ticks / (double)sysconf(_SC_CLK_TCK);
        }
        fclose(f);
    }
    struct rusage r;
    if (getrusage(RUSAGE_SELF, &r) == 0)
        l.own_s = (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec * 1e-6 +
                  (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec * 1e-6;
    return l;
}

/* Share (0..1) of the machine's `cpus` CPUs that other processes used since `from`. */
static inline double bench_load_others(bench_load from, int cpus) {
    bench_load to = bench_load_now();
    double wall = to.wall_s - from.wall_s;
    if (wall <= 0 || cpus <= 0) return 0;
    double others = (to.busy_s - from.busy_s) - (to.own_s - from.own_s);
    double share = others / (wall * cpus);
    return share < 0 ? 0 : share > 1 ? 1 : share;
}

#endif
