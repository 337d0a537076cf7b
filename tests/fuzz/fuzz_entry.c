/* The entry format (memory/entry.c): a cache entry held whole, as a disk file, an
 * archive member, a checkpoint or an IndexedDB record carries it. Oracles: an accepted
 * entry re-encodes field by field to exactly its bytes (nothing in it is unchecked), and
 * each of its argument records reads back within the header. */
#include "fuzz.h"

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Write the header of `e` from its parsed fields, as weft__entry_build lays it out. */
static void reencode(const weft__entry *e, const unsigned char *head, unsigned char *out) {
    memset(out, 0, e->header_size);
    memcpy(out, WEFT__ENTRY_MAGIC, 8);
    weft__put16(out + 8, WEFT__ENTRY_VERSION);
    weft__put16(out + 10, (uint16_t)e->flags);
    weft__put32(out + 12, (uint32_t)e->header_size);
    memcpy(out + 16, e->key, 16);
    weft__put64(out + 32, (uint64_t)e->created_ns);
    weft__put64(out + 40, (uint64_t)e->last_access_ns);
    weft__put64(out + 48, (uint64_t)e->compute_ns);
    weft__put64(out + 56, e->value_size);
    weft__put64(out + 64, e->input_size);
    weft__put64(out + 72, e->value_checksum);
    weft__put16(out + 88, (uint16_t)e->task_len);
    weft__put16(out + 90, (uint16_t)e->version_len);
    weft__put32(out + 92, (uint32_t)e->n_args);
    unsigned char *p = out + WEFT__ENTRY_FIXED;
    memcpy(p, e->task, e->task_len);
    memcpy(p + e->task_len, e->version, e->version_len);
    p += pad8(e->task_len + e->version_len);
    for (size_t i = 0; i < e->n_args; i++) {
        weft__entry_arg a;
        FUZZ_CHECK(weft__entry_arg_at(e, head, e->header_size, i, &a) == 0);
        FUZZ_CHECK(a.name >= (const char *)head && a.name + a.name_len <= (const char *)head + e->header_size);
        weft__put16(p, (uint16_t)a.name_len);
        p[2] = (unsigned char)a.type;
        p[3] = (unsigned char)a.ndim;
        p[4] = (unsigned char)a.flags;
        weft__put64(p + 8, a.payload_size);
        p += 16;
        for (int d = 0; d < a.ndim; d++, p += 8) weft__put64(p, a.shape[d]);
        memcpy(p, a.fp, 16);
        p += 16;
        memcpy(p, a.name, a.name_len);
        p += pad8(a.name_len);
        if (a.inline_value) {
            FUZZ_CHECK(a.payload_size <= WEFT__INLINE_MAX);
            if (a.type == WEFT_ARG_I64 || a.type == WEFT_ARG_F64) FUZZ_CHECK(a.payload_size == 8);
            memcpy(p, a.inline_value, a.payload_size);
            p += pad8(a.payload_size);
        }
    }
    FUZZ_CHECK((size_t)(p - out) == e->header_size);
    weft__put64(out + 80, weft__hash64(out, e->header_size));
}

static void check(const unsigned char *b, size_t size) {
    weft__entry e;
    if (weft__entry_check_whole(b, size, NULL, NULL, &e) != 0) return;
    FUZZ_CHECK(e.header_size + e.value_size == size);
    unsigned char *again = malloc(e.header_size);
    FUZZ_CHECK(again != NULL);
    reencode(&e, b, again);
    FUZZ_CHECK(memcmp(again, b, e.header_size) == 0);
    free(again);
    /* what `weft cache show` and the journal read: one past the last record is refused */
    weft__entry_arg a;
    FUZZ_CHECK(weft__entry_arg_at(&e, b, e.header_size, e.n_args, &a) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check(data, size); /* as found */
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    fuzz_reseal_entry(copy, size, NULL); /* and with its checksums made right */
    check(copy, size);
    free(copy);
    return 0;
}
