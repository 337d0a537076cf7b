/* weft_wasm_shared outside the JavaScript API (a native or WASI program built by
 * weft_add_wasm_module's MAIN): no call passes shared data there, so task files that ask
 * for it link everywhere and fail with their own clear message. */
#include "weft_wasm.h"

const void *weft_wasm_shared(size_t *size) {
    if (size) *size = 0;
    return NULL;
}
