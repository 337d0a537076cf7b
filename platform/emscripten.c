/* Emscripten: everything but the CPU count comes from posix.c. */
#include "platform.h"

#include <emscripten.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

/* navigator.hardwareConcurrency in browsers and in Node >= 21; Node 20 has no navigator,
 * so ask its os module through the process object the runtime exposes. */
/* the body is JavaScript: */
// clang-format off
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
// clang-format on

int weft_plat_cpu_count(void) {
    int n = weft_js_concurrency();
    return n > 0 ? n : 1;
}
int weft_plat_cpu_online(void) { return weft_plat_cpu_count(); }
int weft_plat_cpu_affinity(void) { return weft_plat_cpu_count(); }
double weft_plat_cpu_quota(void) { return 0; }

/* Emscripten 3.1.6's NODERAWFS (the real file system under Node) hands Node's
 * utimesSync milliseconds where it takes seconds, so a time set lands 1000 times later;
 * its in-memory FS gets it right. With NODERAWFS linked in, set the time through Node
 * ourselves: 1 done, 0 not NODERAWFS, < 0 a negative errno. */
/* the body is JavaScript: */
// clang-format off
EM_JS(int, weft_js_raw_set_mtime, (const char *path, double seconds), {
    if (typeof NODERAWFS === 'undefined' || typeof fs === 'undefined' || !fs.utimesSync) return 0;
    try {
        fs.utimesSync(UTF8ToString(path), seconds, seconds);
        return 1;
    } catch (e) {
        return e.code === 'ENOENT' ? -2 : e.code === 'EACCES' ? -13 : e.code === 'EPERM' ? -1 : -5;
    }
});
// clang-format on

int weft_plat_set_mtime(const char *path, int64_t mtime_ns) {
    int rc = weft_js_raw_set_mtime(path, (double)mtime_ns / 1e9);
    if (rc) return rc < 0 ? rc : 0;
    struct timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = (time_t)(mtime_ns / 1000000000);
    ts[0].tv_nsec = ts[1].tv_nsec = (long)(mtime_ns % 1000000000);
    return utimensat(AT_FDCWD, path, ts, 0) ? -errno : 0;
}
