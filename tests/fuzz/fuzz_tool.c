/* The weft tool's argument handling (native/cli/weft.c, compiled in with its main
 * renamed): the input, split at NUL bytes, is the argument list after "weft". The
 * cache folder argument always names a small real cache made here, and every other
 * argument is kept inside this process's scratch folder ('/' becomes '_', the working
 * folder is the scratch folder), so no input can name a file elsewhere. Oracle: the
 * tool answers 0, 1 or 2, never anything else. */
#include "fuzz.h"

#include <fcntl.h>

int weft_tool_main(int argc, char **argv);

static int fuzz_double(weft_task *t) {
    int64_t n;
    if (weft_args_get_i64(weft_input(t), weft_input_size(t), "n", &n)) return weft_fail(t, "no n");
    n *= 2;
    return weft_output(t, &n, sizeof n);
}
WEFT_TASK(fuzz_double)

static char cache[512];

static void seed_cache(void) {
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.quiet = 1;
    weft_memory *m;
    FUZZ_CHECK(weft_memory_open(&m, cache, &o) == 0);
    weft_args *a = weft_args_new();
    for (int64_t n = 0; n < 3; n++) {
        weft_args_reset(a);
        weft_args_i64(a, "n", n);
        weft_bytes out;
        FUZZ_CHECK(weft_memory_call(m, WEFT_FN(fuzz_double), a, &out, NULL) == 0);
        weft_bytes_free(&out, 1);
    }
    weft_args_free(a);
    weft_memory_close(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 512) return 0;
    if (!cache[0]) {
        snprintf(cache, sizeof cache, "%s/cache", fuzz_scratch());
        seed_cache();
    }
    char buf[520];
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[16] = {"weft"};
    int argc = 1;
    for (size_t at = 0; at <= size && argc < 15;) {
        char *s = buf + at;
        for (char *p = s; *p; p++)
            if (*p == '/') *p = '_';
        argv[argc++] = s;
        at += strlen(s) + 1;
    }
    if (argc >= 4 && strcmp(argv[1], "cache") == 0) argv[3] = cache;
    argv[argc] = NULL;
    /* the tool's output is not the point; a crash report still reaches stderr's file */
    fflush(stdout);
    int saved = dup(1), null = open("/dev/null", O_WRONLY), here = open(".", O_RDONLY | O_DIRECTORY);
    dup2(null, 1);
    FUZZ_CHECK(chdir(fuzz_scratch()) == 0); /* relative file names land in the scratch folder */
    int rc = weft_tool_main(argc, argv);
    FUZZ_CHECK(fchdir(here) == 0);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(null);
    close(here);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == 2);
    /* commands that change the cache: put its entries back for the next input */
    if (argc >= 3 && strcmp(argv[1], "cache") == 0 &&
        (!strcmp(argv[2], "clear") || !strcmp(argv[2], "prune") || !strcmp(argv[2], "verify") ||
         !strcmp(argv[2], "import")))
        seed_cache();
    return 0;
}
