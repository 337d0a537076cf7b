/* Compute-bound tasks, built natively, for WASI and for Emscripten by bench/run_wasm.sh,
 * which runs every build on this machine in one go and prints wasm against native.
 * Kernels: the demo's SIR epidemic (examples/demo/sir.c) and a Mandelbrot tile, each a
 * weft_map on the sequential backend (the one wasm runs everywhere).
 * Prints, per kernel: name, best ns per item of `rounds` runs, and a digest of the
 * outputs that every build must print alike.
 *   wasm_compute [rounds]        (default 5) */
#define _POSIX_C_SOURCE 200809L
#include "../examples/demo/sir.h"
#include "weft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIR_ITEMS 64
#define SIR_REPLICATES 8
#define TILES 64 /* an 8 x 8 grid of 32 x 32 pixel tiles */
#define TILE 32
#define MAX_ITER 512

/* tile index (int32) -> iteration counts of its pixels, summed (uint64) */
static int mandel_tile(weft_task *t) {
    int32_t k;
    memcpy(&k, weft_input(t), sizeof k);
    if (k < 0 || k >= TILES) return weft_fail(t, "tile %d out of range", k);
    int tx = k % 8, ty = k / 8;
    uint64_t sum = 0;
    for (int py = 0; py < TILE; py++)
        for (int px = 0; px < TILE; px++) {
            double cr = -2.0 + 2.6 * (tx * TILE + px) / (8.0 * TILE);
            double ci = -1.3 + 2.6 * (ty * TILE + py) / (8.0 * TILE);
            double zr = 0, zi = 0;
            int n = 0;
            while (n < MAX_ITER && zr * zr + zi * zi <= 4.0) {
                double t2 = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t2;
                n++;
            }
            sum += (uint64_t)n;
        }
    return weft_output(t, &sum, sizeof sum);
}
WEFT_TASK(mandel_tile)

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Best time of `rounds` maps, in ns per item; 0 after printing why a map failed. */
static double best_ns(weft_pool *pool, const weft_task_def *task, const void *in, size_t in_size, size_t n,
                      void *out, size_t out_size, int rounds) {
    double best = 0;
    for (int r = 0; r < rounds; r++) {
        uint64_t t0 = now_ns();
        if (weft_map(pool, task, in, in_size, n, out, out_size) != 0) {
            fprintf(stderr, "%s: %s\n", task->name, weft_last_error()->message);
            return 0;
        }
        double ns = (double)(now_ns() - t0) / (double)n;
        if (r == 0 || ns < best) best = ns;
    }
    return best;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    if (rounds <= 0 || rounds > 1000) {
        fprintf(stderr, "usage: %s [rounds, 1 to 1000]\n", argv[0]);
        return 2;
    }
    weft_options o;
    weft_options_init(&o);
    o.backend = "sequential";
    o.n_jobs = 1;
    weft_pool *pool;
    if (weft_pool_open(&pool, &o) != 0) {
        fprintf(stderr, "weft_pool_open: %s\n", weft_last_error()->message);
        return 1;
    }

    /* SIR: the demo's grid corner, a few outbreaks each; digest: sums of the means. The
     * random draws do not touch libm, the clock does (log): days may differ in the last
     * bits between libms, so the digest keeps 10 significant digits. */
    static sweep_point pts[SIR_ITEMS];
    static sweep_result res[SIR_ITEMS];
    memset(pts, 0, sizeof pts);
    for (int i = 0; i < SIR_ITEMS; i++) {
        pts[i].beta = 0.1 + 0.05 * (i / 8);
        pts[i].gamma = 0.05 + 0.05 * (i % 8);
        pts[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        pts[i].replicates = SIR_REPLICATES;
    }
    double sir = best_ns(pool, WEFT_FN(simulate_sir), pts, sizeof pts[0], SIR_ITEMS, res, sizeof res[0], rounds);
    double attack = 0, peak = 0, days = 0;
    for (int i = 0; i < SIR_ITEMS; i++) attack += res[i].attack_rate, peak += res[i].peak, days += res[i].days;

    int32_t tiles[TILES];
    uint64_t iters[TILES], total = 0;
    for (int i = 0; i < TILES; i++) tiles[i] = i;
    double mandel = best_ns(pool, WEFT_FN(mandel_tile), tiles, sizeof tiles[0], TILES, iters, sizeof iters[0], rounds);
    for (int i = 0; i < TILES; i++) total += iters[i];
    weft_pool_close(pool);
    if (sir == 0 || mandel == 0) return 1;

    printf("sir %.0f attack=%.10g,peak=%.10g,days=%.10g\n", sir, attack, peak, days);
    printf("mandelbrot %.0f iterations=%llu\n", mandel, (unsigned long long)total);
    return 0;
}
