/* simulate_sir: mean outcomes of `replicates` SIR outbreaks for one sweep_point. */
#include "sir.h"

#include <math.h>

static double uniform(uint64_t *s) { /* xorshift64*: fast, good enough for a demo */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 0x2545f4914f6cdd1dull) >> 11) * 0x1.0p-53;
}

static int simulate_sir(weft_task *t) {
    const sweep_point *p = weft_input(t);
    if (p->replicates <= 0) return weft_fail(t, "replicates must be positive, got %d", p->replicates);
    uint64_t rng = p->seed | 1;
    sweep_result r = {0, 0, 0, 0};
    for (int rep = 0; rep < p->replicates && !weft_cancelled(t); rep++) {
        int s = POPULATION - 1, i = 1, peak = 1;
        double now = 0;
        while (i > 0) {
            double infect = p->beta * s * i / POPULATION, recover = p->gamma * i;
            double total = infect + recover;
            now += -log(1.0 - uniform(&rng)) / total;
            if (uniform(&rng) * total < infect)
                s--, i++;
            else
                i--;
            if (i > peak) peak = i;
        }
        double attack = (double)(POPULATION - s) / POPULATION;
        r.attack_rate += attack;
        r.peak += (double)peak / POPULATION;
        r.days += now;
        r.major += attack > 0.1;
    }
    r.attack_rate /= p->replicates;
    r.peak /= p->replicates;
    r.days /= p->replicates;
    r.major /= p->replicates;
    return weft_output(t, &r, sizeof r);
}
WEFT_TASK(simulate_sir)

