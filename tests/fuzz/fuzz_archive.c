/* Cache archives (memory/archive.c), imported into an in-memory cache. Oracles: an
 * import never stores what does not verify (every entry listed afterwards reads back
 * whole), and what was imported exports and imports again entry for entry. */
#include "fuzz.h"

/* Reseal each member of an archive so mutations reach the entries' own checks. */
static void reseal_members(unsigned char *b, size_t size) {
    size_t at = 16;
    while (at + 8 <= size) {
        uint64_t n = weft__get64(b + at);
        if (n == 0 || n > size - at - 8) break;
        fuzz_reseal_entry(b + at + 8, (size_t)n, NULL);
        at += 8 + (size_t)n;
    }
}

typedef struct tally {
    weft_memory *m;
    int64_t entries, bad;
} tally;

static int read_back(const weft__store_item *it, void *user) {
    tally *t = user;
    weft_bytes head, value;
    weft__entry e;
    t->entries++;
    if (weft__memory_read(t->m, it->task, it->key, &head, &value, &e) != 0) {
        t->bad++;
        return 0;
    }
    free(head.data);
    free(value.data);
    return 0;
}

static int64_t verify_all(weft_memory *m) {
    void *state;
    const weft_store *s = weft__memory_store(m, &state);
    tally t = {m, 0, 0};
    FUZZ_CHECK(s->list(state, NULL, read_back, &t) == 0);
    FUZZ_CHECK(t.bad == 0);
    return t.entries;
}

static void check(const uint8_t *data, size_t size) {
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.quiet = 1;
    weft_memory *m, *again;
    FUZZ_CHECK(weft_memory_open(&m, "memory:", &o) == 0);
    weft_import_stats st;
    int rc = weft_memory_import_bytes(m, data, size, &st);
    FUZZ_CHECK(rc == 0 || rc == WEFT_ECORRUPT || rc == WEFT_EINVAL);
    FUZZ_CHECK(st.imported >= 0 && st.skipped >= 0 && st.corrupt >= 0 && st.stale >= 0);
    int64_t n = verify_all(m);
    FUZZ_CHECK(n <= st.imported);
    weft_bytes arc;
    int64_t exported = 0;
    FUZZ_CHECK(weft_memory_export_bytes(m, NULL, &arc, &exported) == 0);
    FUZZ_CHECK(exported == n);
    FUZZ_CHECK(weft_memory_open(&again, "memory:", &o) == 0);
    FUZZ_CHECK(weft_memory_import_bytes(again, arc.data, arc.size, &st) == 0);
    FUZZ_CHECK(st.imported == n && st.skipped == 0);
    FUZZ_CHECK(verify_all(again) == n);
    weft_bytes_free(&arc, 1);
    weft_memory_close(again);
    weft_memory_close(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check(data, size);
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    reseal_members(copy, size);
    check(copy, size);
    free(copy);
    return 0;
}
