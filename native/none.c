/* Hosts without an operating system's processes (Emscripten, WASI): no native backends. */
#include "../core/backend.h"

#include <stddef.h>

const weft_backend *const *weft__native_backends(void) {
    static const weft_backend *const none[] = {NULL};
    return none;
}
