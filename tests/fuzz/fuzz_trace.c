/* `weft trace summary` (native/cli/trace_summary.c): the input is a trace file's bytes,
 * written to the scratch folder and summarized. Oracle: the answer is 0 (a summary) or 1
 * (a message), never a crash or anything else; a JSON document without traceEvents is
 * refused. */
#include "fuzz.h"

#include <fcntl.h>

int weft_cli_trace_summary(const char *path);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16) return 0;
    char path[600];
    snprintf(path, sizeof path, "%s/trace.json", fuzz_scratch());
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f && fwrite(data, 1, size, f) == size && fclose(f) == 0);
    fflush(stdout);
    fflush(stderr);
    int out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    int rc = weft_cli_trace_summary(path);
    fflush(stdout);
    fflush(stderr);
    dup2(out, 1);
    dup2(err, 2);
    close(out), close(err), close(null);
    FUZZ_CHECK(rc == 0 || rc == 1);
    if (size == 2 && memcmp(data, "{}", 2) == 0) FUZZ_CHECK(rc == 1);
    return 0;
}
