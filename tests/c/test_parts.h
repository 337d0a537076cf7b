/* For test programs made of named parts: a monotonic clock, and a runner that times each
 * part and says on stderr whether it passed (by check.h's failure count). */
#ifndef WEFT_TEST_PARTS_H
#define WEFT_TEST_PARTS_H
#include "check.h"

#include <time.h>

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct test_part {
    const char *name;
    void (*fn)(void);
} test_part;

static inline void run_parts(const test_part *parts, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double t0 = now_s();
        int before = check_failed;
        parts[i].fn();
        fprintf(stderr, "%-18s %s (%.2f s)\n", parts[i].name, check_failed == before ? "ok" : "FAILED", now_s() - t0);
    }
}
#endif
