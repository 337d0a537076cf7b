/* An example task reading read-only data shared by the whole call (the JS option
 * `shared`, sent once to each worker): polynomial coefficients. WebAssembly only. */
#include "weft.h"
#include "weft_wasm.h"

#include <string.h>

/* double x -> double: sum of c[k] x^k for the shared doubles c (Horner). */
static int poly_shared(weft_task *t) {
    size_t size;
    const double *c = weft_wasm_shared(&size);
    if (!c || size % sizeof(double))
        return weft_fail(t, "poly_shared needs `shared` coefficients (a Float64Array)");
    double x, y = 0;
    memcpy(&x, weft_input(t), sizeof x);
    for (size_t k = size / sizeof(double); k-- > 0;) y = y * x + c[k];
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(poly_shared)
