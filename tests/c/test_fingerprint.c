/* The fingerprint of a large buffer (memory/hash_tree.c): the tree rule checked against
 * its definition written out here, the same bits on 1 thread (WEFT_CPU_BUDGET=1), on
 * several (a budget of 4) and inside the tasks of a threads map (the task's share), and a
 * different fingerprint when one byte of the last chunks changes. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "memory_internal.h"

#include <stdlib.h>

#define MIB ((size_t)1 << 20)
#define BIG (70 * MIB + 5) /* 71 chunks, the last 5 bytes: threads up to 4 */

static unsigned char *buf;

/* The definition in docs/cache-format.md, one chunk after the other. */
static void tree_by_hand(const unsigned char *p, size_t n, uint8_t out[16]) {
    size_t chunks = (n + MIB - 1) / MIB;
    unsigned char *block = malloc(16 + 16 * chunks);
    memcpy(block, "WEFTTREE", 8);
    weft__put64(block + 8, (uint64_t)n);
    for (size_t i = 0; i < chunks; i++)
        weft__hash128(p + i * MIB, n - i * MIB < MIB ? n - i * MIB : MIB, block + 16 + 16 * i);
    weft__hash128(block, 16 + 16 * chunks, out);
    free(block);
}

static int fingerprint_task(weft_task *t) {
    uint8_t fp[16];
    weft__fingerprint(buf, BIG, fp);
    return weft_output(t, fp, sizeof fp);
}
WEFT_TASK(fingerprint_task)

static void with_budget(const char *budget, uint8_t fp[16]) {
    setenv("WEFT_CPU_BUDGET", budget, 1);
    weft__fingerprint(buf, BIG, fp);
    unsetenv("WEFT_CPU_BUDGET");
}

int main(void) {
    buf = malloc(BIG);
    if (!buf) return 2;
    for (size_t i = 0; i < BIG; i++) buf[i] = (unsigned char)(i * 2654435761u >> 13);
    uint8_t want[16], got[16], plain[16];

    /* up to the threshold: plain XXH3-128; one byte more: the tree */
    weft__fingerprint(buf, 4 * MIB, got);
    weft__hash128(buf, 4 * MIB, plain);
    CHECK(memcmp(got, plain, 16) == 0);
    weft__fingerprint(buf, 4 * MIB + 1, got);
    tree_by_hand(buf, 4 * MIB + 1, want);
    CHECK(memcmp(got, want, 16) == 0);
    weft__hash128(buf, 4 * MIB + 1, plain);
    CHECK(memcmp(got, plain, 16) != 0);

    tree_by_hand(buf, BIG, want);
    with_budget("1", got);
    CHECK(memcmp(got, want, 16) == 0);
    with_budget("4", got);
    CHECK(memcmp(got, want, 16) == 0);
    weft__fingerprint(buf, BIG, got); /* the machine's CPUs */
    CHECK(memcmp(got, want, 16) == 0);

    /* inside the tasks of a threads map: each hashes on its share, all at once */
    if (!skip_backend("threads", "fingerprints inside tasks")) {
        setenv("WEFT_CPU_BUDGET", "4", 1);
        weft_options o;
        weft_options_init(&o);
        o.backend = "threads";
        o.n_jobs = 2;
        weft_pool *p;
        uint8_t out[4][16];
        CHECK_EQ(weft_pool_open(&p, &o), 0);
        CHECK_EQ(weft_map(p, WEFT_FN(fingerprint_task), NULL, 0, 4, out, 16), 0);
        weft_pool_close(p);
        unsetenv("WEFT_CPU_BUDGET");
        for (int i = 0; i < 4; i++) CHECK(memcmp(out[i], want, 16) == 0);
    }

    /* one byte of the last chunk (5 bytes), of the one before, and the very last byte */
    for (size_t at = BIG - 3; at > BIG - MIB; at -= MIB / 2) {
        buf[at] ^= 1;
        weft__fingerprint(buf, BIG, got);
        CHECK(memcmp(got, want, 16) != 0);
        buf[at] ^= 1;
    }
    buf[BIG - 1] ^= 0x80;
    weft__fingerprint(buf, BIG, got);
    CHECK(memcmp(got, want, 16) != 0);
    buf[BIG - 1] ^= 0x80;
    weft__fingerprint(buf, BIG, got);
    CHECK(memcmp(got, want, 16) == 0);

    /* the length is part of it: a zero byte more is another fingerprint */
    unsigned char *longer = calloc(1, BIG + 1);
    memcpy(longer, buf, BIG);
    weft__fingerprint(longer, BIG + 1, got);
    CHECK(memcmp(got, want, 16) != 0);
    free(longer);
    free(buf);
    return CHECK_DONE();
}
