/* WEFT_DEBUG journal records (memory/journal.c), as `weft cache diff` reads them from
 * CACHE/.journal/TASK/. The input is split at its first "\n--\n" into two record files,
 * so the explanation compares two damaged records. Oracle: the explanation is a
 * terminated string within its buffer. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char dir[512], task_dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/journal", fuzz_scratch());
    snprintf(task_dir, sizeof task_dir, "%s/t", dir);
    mkdir(dir, 0700);
    mkdir(task_dir, 0700);
    const uint8_t *cut = memmem(data, size, "\n--\n", 4);
    size_t first = cut ? (size_t)(cut - data) : size;
    snprintf(path, sizeof path, "%s/%020d-%032d-m.wjr", task_dir, 1, 1);
    fuzz_write(path, data, first);
    char second[700];
    snprintf(second, sizeof second, "%s/%020d-%032d-m.wjr", task_dir, 2, 2);
    if (cut) fuzz_write(second, cut + 4, size - first - 4);
    weft__journal *j = weft__journal_open(dir, 1 << 20);
    FUZZ_CHECK(j != NULL);
    char text[1024];
    memset(text, 'x', sizeof text);
    if (weft__journal_explain_latest(j, "t", text, sizeof text) == 0)
        FUZZ_CHECK(memchr(text, '\0', sizeof text) != NULL);
    weft__journal_close(j);
    remove(path);
    remove(second);
    return 0;
}
