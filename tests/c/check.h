/* A minimal test harness: CHECK records a failure with file:line and goes on; a test
 * program ends with CHECK_DONE(), which prints "N passed, N failed" and sets the exit code. */
#ifndef WEFT_CHECK_H
#define WEFT_CHECK_H
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

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
    (printf("%d passed, %d failed\n", check_passed, check_failed), check_failed ? 1 : 0)
#endif
