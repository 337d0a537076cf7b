/* weft in WebAssembly: what a task can ask of the JavaScript side. */
#ifndef WEFT_WASM_H
#define WEFT_WASM_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The read-only data the JavaScript call passed as `shared` (sent once to each worker,
 * not once per task), or NULL with *size 0 when the call passed none. `size` may be NULL.
 * Valid while the task runs; never write to it. */
const void *weft_wasm_shared(size_t *size);

#ifdef __cplusplus
}
#endif
#endif
