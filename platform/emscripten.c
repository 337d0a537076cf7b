/* Emscripten: everything but the CPU count comes from posix.c. */
#include "platform.h"

#include <emscripten.h>

/* navigator.hardwareConcurrency in browsers and in Node >= 21; Node 20 has no navigator,
 * so ask its os module through the process object the runtime exposes. */
EM_JS(int, weft_js_concurrency, (void), {
    if (typeof navigator !== 'undefined' && navigator.hardwareConcurrency)
        return navigator.hardwareConcurrency;
    try {
        if (typeof process !== 'undefined' && process.getBuiltinModule)
            return process.getBuiltinModule('os').availableParallelism();
    } catch (e) {
    }
    return 1;
});

int weft_plat_cpu_count(void) {
    int n = weft_js_concurrency();
    return n > 0 ? n : 1;
}
int weft_plat_cpu_online(void) { return weft_plat_cpu_count(); }
int weft_plat_cpu_affinity(void) { return weft_plat_cpu_count(); }
double weft_plat_cpu_quota(void) { return 0; }
