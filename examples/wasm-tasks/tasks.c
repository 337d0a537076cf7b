/* Example tasks for the JavaScript API (wasm/README.md). Plain weft tasks: the same file
 * links into a native program unchanged. */
#include "weft.h"

#include <stdint.h>
#include <string.h>

/* uint64 seed -> double: the fraction of 10,000 random darts that land inside the unit
 * quarter circle (times 4: an estimate of pi). Integer arithmetic only, so every build
 * gives the same bits. */
static int pi_darts(weft_task *t) {
    uint64_t s;
    memcpy(&s, weft_input(t), sizeof s);
    uint32_t inside = 0;
    for (int i = 0; i < 10000; i++) {
        s += 0x9e3779b97f4a7c15ull; /* splitmix64 */
        uint64_t z = s;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        uint64_t x = z >> 43, y = (z >> 22) & 0x1fffff; /* two 21-bit coordinates */
        inside += x * x + y * y < (1ull << 42);
    }
    double pi = 4.0 * inside / 10000.0;
    return weft_output(t, &pi, sizeof pi);
}
WEFT_TASK(pi_darts)

/* double x -> double: steps of Newton's method for sqrt(x); fails on a negative x. */
static int newton_sqrt(weft_task *t) {
    double x;
    memcpy(&x, weft_input(t), sizeof x);
    if (x < 0) return weft_fail(t, "sqrt of a negative number (%g)", x);
    double r = x > 1 ? x : 1;
    for (int i = 0; i < 60; i++) r = 0.5 * (r + x / r);
    return weft_output(t, &r, sizeof r);
}
WEFT_TASK(newton_sqrt)
