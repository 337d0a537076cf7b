/* Reads, through the C API, the entry that tests/python/test_memory.py wrote with
 * Memory.call_task("py_sum_args", x=np.arange(n, dtype=float), steps=steps):
 *   memory_reader CACHE_DIR N STEPS   prints "hit=H value=V"
 * and exits 0; a miss would run the task and store it, so the test checks H. */
#include "weft.h"

#include <stdio.h>
#include <stdlib.h>

WEFT_TASK_DECLARE(py_sum_args);

int main(int argc, char **argv) {
    if (argc != 4) return fprintf(stderr, "usage: memory_reader CACHE_DIR N STEPS\n"), 2;
    size_t n = (size_t)atol(argv[2]);
    double *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (double)i;
    weft_memory *mem;
    if (weft_memory_open(&mem, argv[1], NULL)) {
        fprintf(stderr, "open: %s\n", weft_last_error()->message);
        return 1;
    }
    weft_args *a = weft_args_new();
    weft_args_f64_array(a, "x", x, 1, &n);
    weft_args_i64(a, "steps", atol(argv[3]));
    weft_bytes out;
    int hit = 0;
    if (weft_memory_call(mem, WEFT_FN(py_sum_args), a, &out, &hit)) {
        fprintf(stderr, "call: %s\n", weft_last_error()->message);
        return 1;
    }
    double v = *(const double *)out.data;
    printf("hit=%d value=%.17g\n", hit, v);
    weft_bytes_free(&out, 1);
    weft_args_free(a);
    weft_memory_close(mem);
    free(x);
    return 0;
}
