/* The outside project's own task, in a file of its own: linked into the native programs
 * and, by weft_add_wasm_module, into a module for the JavaScript API. */
#include <weft.h>

#include <string.h>

static int cube(weft_task *t) {
    int64_t x;
    memcpy(&x, weft_input(t), sizeof x);
    int64_t y = x * x * x;
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(cube)
