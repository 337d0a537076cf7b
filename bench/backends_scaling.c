/* Threads or processes? Speed-up over the sequential backend as n_jobs grows from 1 to
 * the CPU count, for three kinds of task, each side measured in the same run:
 *   cpu  a CPU-bound task that holds no lock (a chain of dependent multiply-xorshift
 *        steps, ~20 ms; quick: ~2 ms)
 *   io   a task that waits for I/O: poll() with a 2 ms timeout, a stand-in for a reply
 *        from a disk or a network (the CPU is free while it waits)
 *   big  a task that needs a big input: each item is 1/(4 x CPUs) of a 64 MiB array of
 *        doubles (quick: 8 MiB), read 8 times over (a computation that needs all of it);
 *        the whole array changes between rounds
 * Backends: threads; processes with the inputs copied (an ordinary array: copied into
 * shared memory on every call, since it changed); processes with the inputs already in a
 * weft_shared region (never copied). Speed-up = the sequential backend's time for the same
 * call / this time; best of the rounds for each.
 *
 *   bench_backends_scaling [--quick]
 *   mpirun -np K bench_backends_scaling_mpi [--quick]    (the same file built with MPI)
 * Prints a table, then one machine-readable line per point:
 *   scaling<TAB>task<TAB>backend<TAB>n_jobs<TAB>seconds<TAB>speedup
 * The MPI build measures one point per run: the mpi backend on the K ranks of its world
 * (rank 0 computes too), against the sequential backend on rank 0 in the same run;
 * bench/run_scaling.sh runs it for every K. */
#define _GNU_SOURCE
#include "bench_util.h"
#include "weft.h"
#ifdef WEFT_SCALING_MPI
#include "weft_mpi.h"
#endif

#include <poll.h>

static int cpu_task(weft_task *t) {
    uint64_t steps, x = 0x9e3779b97f4a7c15ull ^ weft_task_index(t);
    memcpy(&steps, weft_input(t), sizeof steps);
    for (uint64_t i = 0; i < steps; i++) x = (x * 0xbf58476d1ce4e5b9ull) ^ (x >> 31);
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(cpu_task)

static int io_task(weft_task *t) {
    int ms;
    memcpy(&ms, weft_input(t), sizeof ms);
    poll(NULL, 0, ms);
    uint64_t done = 1;
    return weft_output(t, &done, sizeof done);
}
WEFT_TASK(io_task)

static int big_task(weft_task *t) {
    const double *a = weft_input(t);
    size_t n = weft_input_size(t) / sizeof(double);
    double s = 0;
    for (int pass = 1; pass <= 8; pass++)
        for (size_t i = 0; i < n; i++) s += a[i] * pass;
    return weft_output(t, &s, sizeof s);
}
WEFT_TASK(big_task)

typedef struct call {
    const weft_task_def *task;
    void *in;
    size_t in_size, n;
    double *mutate; /* a value to change before each round (big inputs), or NULL */
} call;

/* Best time of `rounds` calls on a pool (after one untimed call that starts workers). */
static double time_call(const char *backend, int n_jobs, const call *c, int rounds, uint64_t *out) {
    weft_pool *p;
    weft_options o;
    weft_options_init(&o);
    o.backend = backend;
    o.n_jobs = n_jobs;
    if (weft_pool_open(&p, &o)) {
        fprintf(stderr, "weft_pool_open(%s): %s\n", backend, weft_last_error()->message);
        exit(1);
    }
    double best = 1e30;
    for (int r = -1; r < rounds; r++) {
        if (c->mutate) *c->mutate += 1; /* a new array: the processes backend copies it again */
        uint64_t t0 = bench_now_ns();
        if (weft_map(p, c->task, c->in, c->in_size, c->n, out, sizeof *out)) {
            fprintf(stderr, "%s on %s: %s\n", c->task->name, backend, weft_last_error()->message);
            exit(1);
        }
        double s = (double)(bench_now_ns() - t0) * 1e-9;
        if (r >= 0 && s < best) best = s;
    }
    weft_pool_close(p);
    return best;
}

int main(int argc, char **argv) {
    int quick = getenv("WEFT_BENCH_QUICK") != NULL, cpus = weft_cpu_count();
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--quick") == 0) quick = 1;
        if (strcmp(argv[a], "--print-cpus") == 0) return printf("%d\n", cpus) < 0;
        /* the machine's CPU count, where this process sees only its share (an MPI rank) */
        if (strcmp(argv[a], "--cpus") == 0 && a + 1 < argc && atoi(argv[a + 1]) > 0) cpus = atoi(argv[++a]);
    }
    int rounds = quick ? 1 : 3;
#ifdef WEFT_SCALING_MPI
    int rc = weft_mpi_init(&argc, &argv);
    if (rc == WEFT_MPI_SERVED) return 0;
    if (rc != 0) {
        fprintf(stderr, "weft_mpi_init: %s\n", weft_last_error()->message);
        return 1;
    }
    int world = weft_mpi_size();
#endif
    char model[256];
    bench_cpu_model(model, sizeof model);
    double load[3] = {0};
    if (getloadavg(load, 3) < 0) load[0] = -1;
#ifdef WEFT_SCALING_MPI
    printf("mpi: speed-up over sequential on %d ranks (%s), load %.2f%s\n", world, model, load[0],
           quick ? ", quick" : "");
#else
    printf("threads or processes: speed-up over sequential, n_jobs 1..%d (%s), load %.2f%s\n", cpus,
           model, load[0], quick ? ", quick" : "");
#endif

    /* cpu: calibrate the steps of one task to ~20 ms (quick: 2 ms) on this machine, on the
     * calling thread (a warm pool: its start is not the task's time) */
    uint64_t steps = 1 << 16, sink[1];
    weft_pool *cal;
    weft_options co;
    weft_options_init(&co);
    co.backend = "sequential";
    if (weft_pool_open(&cal, &co)) return 1;
    weft_map(cal, WEFT_FN(cpu_task), &steps, sizeof steps, 1, sink, sizeof sink[0]);
    for (;;) { /* this thread's CPU time: other programs on the machine do not count */
        struct timespec a, b;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
        weft_map(cal, WEFT_FN(cpu_task), &steps, sizeof steps, 1, sink, sizeof sink[0]);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
        double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
        if (s > 0.02 || steps > (1ull << 40)) {
            steps = (uint64_t)((double)steps * (quick ? 0.002 : 0.02) / s) + 1;
            break;
        }
        steps *= 2;
    }
    weft_pool_close(cal);
    size_t n_cpu = (size_t)(4 * cpus), n_io = (size_t)(quick ? 16 : 64) * (size_t)cpus;
    uint64_t *cpu_in = malloc(n_cpu * sizeof *cpu_in);
    int *io_in = malloc(n_io * sizeof *io_in);
    for (size_t i = 0; i < n_cpu; i++) cpu_in[i] = steps;
    for (size_t i = 0; i < n_io; i++) io_in[i] = 2;

    size_t big_bytes = (size_t)(quick ? 8 : 64) << 20, n_big = (size_t)(4 * cpus);
    size_t chunk = big_bytes / n_big / sizeof(double) * sizeof(double);
    double *big = malloc(chunk * n_big);
    weft_shared region;
    if (!cpu_in || !io_in || !big || weft_shared_alloc(&region, chunk * n_big)) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    double *shared = weft_shared_ptr(region);
    for (size_t i = 0; i < chunk * n_big / sizeof(double); i++) big[i] = shared[i] = (double)(i % 1000);
    uint64_t *out = malloc((n_io > n_cpu ? n_io : n_cpu) * sizeof *out);

    struct {
        const char *name, *backend, *label;
        call c;
    } sides[] = {
        {"cpu", "threads", "threads", {WEFT_FN(cpu_task), cpu_in, sizeof *cpu_in, n_cpu, NULL}},
        {"cpu", "processes", "processes", {WEFT_FN(cpu_task), cpu_in, sizeof *cpu_in, n_cpu, NULL}},
        {"io", "threads", "threads", {WEFT_FN(io_task), io_in, sizeof *io_in, n_io, NULL}},
        {"io", "processes", "processes", {WEFT_FN(io_task), io_in, sizeof *io_in, n_io, NULL}},
        {"big", "threads", "threads", {WEFT_FN(big_task), big, chunk, n_big, big}},
        {"big", "processes", "processes (copied)", {WEFT_FN(big_task), big, chunk, n_big, big}},
        {"big", "processes", "processes (shared)", {WEFT_FN(big_task), shared, chunk, n_big, shared}},
    };
    size_t n_sides = sizeof sides / sizeof sides[0];
    int jobs[64], n_jobs_list = 0;
#ifdef WEFT_SCALING_MPI
    /* the same calls on the mpi backend, at one point: this world's size */
    for (size_t s = 0; s < n_sides; s++) {
        sides[s].backend = "mpi";
        int big_input = strcmp(sides[s].name, "big") == 0;
        sides[s].label = sides[s].c.in == shared ? "mpi (shared)" : big_input ? "mpi (copied)"
                                                                              : "mpi";
    }
    jobs[n_jobs_list++] = world;
    /* the threads and processes rows of a task became the same mpi row: keep one */
    size_t kept = 0;
    for (size_t s = 0; s < n_sides; s++) {
        int seen = 0;
        for (size_t j = 0; j < kept; j++)
            seen |= strcmp(sides[j].name, sides[s].name) == 0 && strcmp(sides[j].label, sides[s].label) == 0;
        if (!seen) sides[kept++] = sides[s];
    }
    n_sides = kept;
#else
    for (int j = 1; j <= cpus && n_jobs_list < 64; j = j < 16 ? j + 1 : j * 2) jobs[n_jobs_list++] = j;
    if (jobs[n_jobs_list - 1] != cpus && n_jobs_list < 64) jobs[n_jobs_list++] = cpus;
#endif

    double seq[3] = {0};
    const char *tasks[3] = {"cpu", "io", "big"};
    for (int k = 0; k < 3; k++)
        for (size_t s = 0; s < n_sides; s++)
            if (strcmp(sides[s].name, tasks[k]) == 0) {
                seq[k] = time_call("sequential", 1, &sides[s].c, rounds, out);
                break;
            }

    printf("\n| %-4s | %-20s |", "task", "backend");
    for (int j = 0; j < n_jobs_list; j++) printf(" n_jobs %-3d|", jobs[j]);
    printf("\n|------|----------------------|");
    for (int j = 0; j < n_jobs_list; j++) printf("-----------|");
    printf("\n");
    char lines[64 * 16][128];
    int n_lines = 0;
    for (size_t s = 0; s < n_sides; s++) {
        int k = strcmp(sides[s].name, "cpu") == 0 ? 0 : strcmp(sides[s].name, "io") == 0 ? 1
                                                                                         : 2;
        printf("| %-4s | %-20s |", sides[s].name, sides[s].label);
        for (int j = 0; j < n_jobs_list; j++) {
            double t = time_call(sides[s].backend, jobs[j], &sides[s].c, rounds, out);
            printf(" %8.2fx |", seq[k] / t);
            fflush(stdout);
            if (n_lines < 64 * 16)
                snprintf(lines[n_lines++], sizeof lines[0], "scaling\t%s\t%s\t%d\t%.6f\t%.4f", sides[s].name,
                         sides[s].label, jobs[j], t, seq[k] / t);
        }
        printf("\n");
    }
    printf("\nsequential: cpu %.1f ms (%zu tasks of ~%s ms), io %.1f ms (%zu waits of 2 ms), big %.1f ms "
           "(%zu MiB in %zu items)\n",
           seq[0] * 1e3, n_cpu, quick ? "2" : "20", seq[1] * 1e3, n_io, seq[2] * 1e3, big_bytes >> 20, n_big);
    for (int i = 0; i < n_lines; i++) printf("%s\n", lines[i]);
    weft_shared_free(region);
    free(cpu_in);
    free(io_in);
    free(big);
    free(out);
#ifdef WEFT_SCALING_MPI
    weft_mpi_finalize();
#endif
    return 0;
}
