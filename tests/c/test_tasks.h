/* Tasks shared by the C suites and the WebAssembly vector runner. */
#ifndef WEFT_TEST_TASKS_H
#define WEFT_TEST_TASKS_H
#include "weft.h"

WEFT_TASK_DECLARE(square);     /* int64 -> int64 x*x */
WEFT_TASK_DECLARE(mix64);      /* uint64 -> uint64 splitmix64 finaliser */
WEFT_TASK_DECLARE(logistic);   /* double r -> double: 1000 steps of the logistic map */
WEFT_TASK_DECLARE(repeat);     /* bytes -> the bytes twice (variable size) */
WEFT_TASK_DECLARE(fail_at_13); /* int32 -> int32; fails with "unlucky 13" on 13 */
WEFT_TASK_DECLARE(wrong_size); /* writes 3 bytes whatever the map asks */
WEFT_TASK_DECLARE(no_output);  /* returns 0 and writes nothing */
WEFT_TASK_DECLARE(wait_cancel);/* spins until cancelled (at most 5 s); outputs int32 1 if cancelled */
WEFT_TASK_DECLARE(nested_sum); /* int32 n -> int64 sum of squares of 0..n-1 via a nested map */
WEFT_TASK_DECLARE(whoami);     /* -> int32[2] {worker id, nesting level} */
WEFT_TASK_DECLARE(noop);       /* nothing at all */
#endif
