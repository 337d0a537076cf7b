/* Clock, environment and standard error through the C library: the same on Linux,
 * Emscripten and WASI. */
#define _POSIX_C_SOURCE 200809L
#include "platform.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

uint64_t weft_plat_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t weft_plat_time_s(void) { return (int64_t)time(NULL); }

const char *weft_plat_getenv(const char *name) { return getenv(name); }
int weft_plat_stderr_is_tty(void) { return isatty(2); }

void weft_plat_write_stderr(const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

void weft_plat_sleep_ns(uint64_t ns) {
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
