/* The demo's model: a stochastic SIR epidemic (Gillespie's exact algorithm), one task
 * per (infection rate, recovery rate) pair. Its own file so that bench/wasm_compute runs
 * the same task natively and in wasm. */
#ifndef WEFT_DEMO_SIR_H
#define WEFT_DEMO_SIR_H
#include "weft.h"

#include <stdint.h>

#define POPULATION 4000

typedef struct sweep_point {
    double beta, gamma; /* infections and recoveries per person per day */
    uint64_t seed;
    int32_t replicates;
} sweep_point;

typedef struct sweep_result {
    double attack_rate; /* share of the population ever infected */
    double peak;        /* largest share infected at once */
    double days;        /* time until the last recovery */
    double major;       /* share of runs that became a major outbreak (> 10 %) */
} sweep_result;

WEFT_TASK_DECLARE(simulate_sir);
#endif
