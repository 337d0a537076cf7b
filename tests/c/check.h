/* A minimal test harness: CHECK records a failure with file:line and goes on; SKIP says
 * what this host cannot test and why; a test program ends with CHECK_DONE(), which prints
 * "N passed, N failed, N skipped" and sets the exit code. */
#ifndef WEFT_CHECK_H
#define WEFT_CHECK_H
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed, check_skipped;

/* What the host can do. The wasm builds have no fork; WASI (preview 1) and Emscripten
 * without -pthread have no threads, so neither the threads backend nor pthread_create. */
#if defined(__wasi__) || defined(__EMSCRIPTEN__)
#define TEST_HAVE_FORK 0
#else
#define TEST_HAVE_FORK 1
#endif
#if defined(__wasi__) || (defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__))
#define TEST_HAVE_THREADS 0
#else
#define TEST_HAVE_THREADS 1
#endif
#define SKIP(why) (check_skipped++, printf("skip: %s\n", (why)))

/* Non-zero (and says so) when this host lacks what `backend` needs; `what` names the part
 * of the test left out. */
static inline int skip_backend(const char *backend, const char *what) {
    const char *lacks = !TEST_HAVE_THREADS && strcmp(backend, "threads") == 0  ? "threads"
                        : !TEST_HAVE_FORK && strcmp(backend, "processes") == 0 ? "processes"
                                                                              : NULL;
    if (!lacks) return 0;
    check_skipped++;
    printf("skip: %s on the %s backend: no %s on this host\n", what, backend, lacks);
    return 1;
}

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (cond) {                                                                    \
            check_passed++;                                                            \
        } else {                                                                       \
            check_failed++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
        }                                                                              \
    } while (0)
#define CHECK_EQ(a, b) CHECK((a) == (b))
#define CHECK_STR(a, b) CHECK(strcmp((a), (b)) == 0)
#define CHECK_HAS(haystack, needle) CHECK(strstr((haystack), (needle)) != NULL)
#define CHECK_DONE()                                                                   \
    (printf("%d passed, %d failed, %d skipped\n", check_passed, check_failed, check_skipped), \
     check_failed ? 1 : 0)
#endif
