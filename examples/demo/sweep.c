/* weft demo: a parameter sweep of a stochastic epidemic.
 *
 * Each task simulates an SIR outbreak (Gillespie's exact algorithm) many times for one
 * (infection rate, recovery rate) pair and reports the mean outcome. weft runs the grid
 * of pairs on all CPUs with a progress bar, then the demo prints a table of results.
 * A Memory attached to the pool keeps every finished simulation: run it twice and the
 * second run is served from the cache (kill the first midway and the second finishes
 * only what was left).
 *
 *   weft_demo [replicates]      WEFT_BACKEND=sequential weft_demo   to compare
 *   WEFT_CACHE_DIR=/tmp/sir weft_demo    the cache folder (default build/demo-cache)
 */
#define _POSIX_C_SOURCE 200809L
#include "sir.h"
#include "weft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_BETA 16
#define N_GAMMA 8

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int replicates = argc > 1 ? atoi(argv[1]) : 1000;
    if (replicates <= 0) {
        fprintf(stderr, "usage: %s [replicates > 0]\n", argv[0]);
        return 2;
    }
    sweep_point points[N_BETA * N_GAMMA];
    sweep_result results[N_BETA * N_GAMMA];
    /* the cache keys plain inputs on their bytes, padding included: zero it */
    memset(points, 0, sizeof points);
    for (int b = 0; b < N_BETA; b++)
        for (int g = 0; g < N_GAMMA; g++) {
            sweep_point *p = &points[b * N_GAMMA + g];
            p->beta = 0.1 + 0.05 * b;
            p->gamma = 0.05 + 0.05 * g;
            p->seed = 0x9e3779b97f4a7c15ull * (uint64_t)(b * N_GAMMA + g + 1);
            p->replicates = replicates;
        }

    /* every finished simulation becomes a cache entry */
    const char *cache_dir = getenv("WEFT_CACHE_DIR");
    if (!cache_dir || !*cache_dir) cache_dir = "build/demo-cache";
    weft_memory *memory;
    if (weft_memory_open(&memory, cache_dir, NULL) != 0) {
        fprintf(stderr, "weft_memory_open: %s\n", weft_last_error()->message);
        return 1;
    }

    /* verbose = 1: a live bar on a terminal, periodic lines in a log */
    weft_options o;
    weft_options_init(&o);
    o.verbose = 1;
    o.memory = memory;
    weft_pool *pool;
    if (weft_pool_open(&pool, &o) != 0) {
        fprintf(stderr, "weft_pool_open: %s\n", weft_last_error()->message);
        weft_memory_close(memory);
        return 1;
    }
    printf("SIR parameter sweep: %d pairs x %d outbreaks of a population of %d\n",
           N_BETA * N_GAMMA, replicates, POPULATION);
    printf("backend %s, %d workers (of %d CPUs)\n\n", weft_pool_backend(pool), weft_pool_n_jobs(pool),
           weft_cpu_count());
    fflush(stdout);

    weft_memory_stats before, after;
    weft_memory_stats_get(memory, &before);
    double t0 = seconds();
    int rc = weft_map(pool, WEFT_FN(simulate_sir), points, sizeof points[0], N_BETA * N_GAMMA,
                      results, sizeof results[0]);
    double took = seconds() - t0;
    weft_memory_stats_get(memory, &after);
    if (rc != 0) {
        const weft_error *e = weft_last_error();
        fprintf(stderr, "sweep failed: %s (task %lld: %s)\n", weft_error_name(rc),
                (long long)e->task_index, e->message);
        weft_pool_close(pool);
        weft_memory_close(memory);
        return 1;
    }

    printf("\nShare of the population ever infected (mean over %d outbreaks)\n", replicates);
    printf("rows: infection rate beta, columns: recovery rate gamma (per person per day)\n");
    printf("%-8s", "beta\\gam");
    for (int g = 0; g < N_GAMMA; g++) printf("%7.2f", points[g].gamma);
    printf("\n");
    for (int b = 0; b < N_BETA; b++) {
        printf("%-8.2f", points[b * N_GAMMA].beta);
        for (int g = 0; g < N_GAMMA; g++) printf("%6.0f%%", 100 * results[b * N_GAMMA + g].attack_rate);
        printf("\n");
    }

    printf("\nAround the epidemic threshold R0 = beta/gamma = 1:\n");
    printf("  major run: share of outbreaks that reached over 10%% of the population\n");
    printf("  peak: largest share infected at once; days: until the last recovery (means)\n");
    printf("%6s %6s %6s %10s %8s %8s\n", "beta", "gamma", "R0", "major run", "peak", "days");
    for (int k = 0; k < N_BETA * N_GAMMA; k++) {
        double r0 = points[k].beta / points[k].gamma;
        if (r0 < 0.8 || r0 > 1.6 || k % 3) continue;
        printf("%6.2f %6.2f %6.2f %9.0f%% %7.1f%% %8.1f\n", points[k].beta, points[k].gamma, r0,
               100 * results[k].major, 100 * results[k].peak, results[k].days);
    }
    long long served = (long long)(after.hits - before.hits);
    int computed = N_BETA * N_GAMMA - (int)served;
    double saved = (after.saved_ns - before.saved_ns) * 1e-9;
    if (computed == 0) {
        /* nothing ran: the time is reading 128 entries, so say where the results came from */
        printf("\n%d results in %.2f s: all read from the cache in %s, none computed\n",
               N_BETA * N_GAMMA, took, cache_dir);
        printf("(computing them took %.2f s of task time; delete that folder to compute again)\n", saved);
    } else {
        printf("\n%d simulations in %.2f s on %d workers (%.0f outbreaks/s computed)\n",
               N_BETA * N_GAMMA, took, weft_pool_n_jobs(pool), computed * (double)replicates / took);
        printf("served %lld/%d from the cache (%.2f s saved) in %s\n", served, N_BETA * N_GAMMA,
               saved, cache_dir);
        if (served == 0) printf("run it again: the results come from the cache\n");
    }
    weft_pool_close(pool);
    weft_memory_close(memory);
    return 0;
}
