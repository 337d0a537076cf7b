/* Shared by the fuzz targets (tests/fuzz/README.md): each target is one
 * LLVMFuzzerTestOneInput over bytes from outside, built twice -- with libFuzzer
 * (scripts/test-fuzz.sh) and with fuzz_replay.c, a plain main that replays the corpus in
 * every native build's ctest. FUZZ_CHECK is an oracle beyond "no crash": a property
 * every accepted input must have; it aborts, so libFuzzer keeps the input. */
#ifndef WEFT_FUZZ_H
#define WEFT_FUZZ_H
#define _GNU_SOURCE
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_CHECK(cond)                                                                \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: oracle failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                    \
        }                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include <ftw.h>

static inline int fuzz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path), 0;
}

static char fuzz_scratch_dir[256];
static inline void fuzz_scratch_remove(void) {
    if (fuzz_scratch_dir[0]) nftw(fuzz_scratch_dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A scratch folder for this process, made once, removed at exit (the targets write
 * cache files). */
static inline const char *fuzz_scratch(void) {
    char *dir = fuzz_scratch_dir;
    if (!dir[0]) {
        atexit(fuzz_scratch_remove);
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof fuzz_scratch_dir, "%s/weft-fuzz-%d", base && *base ? base : "/tmp", (int)getpid());
        mkdir(dir, 0700);
    }
    return dir;
}

static inline void fuzz_write(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
}

/* Give an entry held whole its checksums (header and value), so mutations reach past
 * them into the parser; `key`, when given, is set first. No-op when the bytes do not
 * announce a header that fits. */
static inline void fuzz_reseal_entry(unsigned char *b, size_t size, const uint8_t *key) {
    size_t hs = weft__entry_header_size(b, size);
    if (!hs || hs > size) return;
    if (key) memcpy(b + 16, key, 16);
    weft__put64(b + 72, weft__hash64(b + hs, size - hs));
    memset(b + 80, 0, 8);
    weft__put64(b + 80, weft__hash64(b, hs));
}
#endif
