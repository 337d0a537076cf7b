/* Declarations shared by the Memory files (prefix weft__): hashing, arguments, the entry
 * format, the journal and the locality-sensitive signatures. Not installed. */
#ifndef WEFT_MEMORY_INTERNAL_H
#define WEFT_MEMORY_INTERNAL_H

#include "../core/internal.h"
#include <string.h>

/* Fixed-width fields of the encodings, little-endian like every host weft builds for. */
static inline void weft__put16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void weft__put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void weft__put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t weft__get16(const unsigned char *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}
static inline uint32_t weft__get32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline uint64_t weft__get64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* a - b without overflow: times come from files and headers anyone can write, and a
 * damaged one must not wrap around (saturates at the int64 limits). */
static inline int64_t weft__sub_sat(int64_t a, int64_t b) {
    int64_t d;
    if (!__builtin_sub_overflow(a, b, &d)) return d;
    return b < 0 ? INT64_MAX : INT64_MIN;
}

typedef struct weft_store weft_store;

/* Every target weft builds for (x86-64, aarch64, wasm32) is little-endian; the formats
 * are defined little-endian, so values are read and written in place. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "weft's formats assume little-endian");

/* ---- hash.c: XXH3 (the x86-64 kernel chosen at run time; portable in WebAssembly) */
/* XXH3-128 in its canonical (big-endian) byte form, as xxhsum prints it. */
void weft__hash128(const void *data, size_t n, uint8_t out[16]);
uint64_t weft__hash64(const void *data, size_t n);
/* ---- hash_tree.c: the fingerprint of a buffer's content for a key (docs/cache-format.md):
 * XXH3-128 of the bytes up to 4 MiB, a tree of 1 MiB chunks' XXH3-128 above, hashed on
 * the CPUs the budget gives this thread. The same bits whatever the thread count. */
void weft__fingerprint(const void *data, size_t n, uint8_t out[16]);
/* "XXH3 0.8.1, x86-64: ..." or similar, for `weft info`. */
const char *weft__hash_impl(void);
/* Lower-case hex of n bytes into out (2n + 1 chars); parse it back (0 or -1). */
void weft__hex(const uint8_t *b, size_t n, char *out);
int weft__unhex(const char *s, uint8_t *b, size_t n);

/* ---- args.c */
typedef struct weft__arg {
    const char *name; /* owned copy in a builder, points into the bytes in a view */
    size_t name_len;
    weft_arg_type type;
    int ndim;
    uint64_t shape[WEFT_ARGS_MAX_NDIM];
    const void *data; /* payload: borrowed array/bytes, or scalar/str below */
    size_t size;      /* payload bytes (strings: without the NUL) */
    union {
        int64_t i;
        double f;
        uint8_t b;
    } scalar;
    char *str; /* owned string copy */
    double abs_tol, rel_tol;
} weft__arg;

struct weft_args {
    weft__arg *v; /* sorted by name (bytewise), names unique */
    size_t n, cap;
    int error; /* sticky: the first bad add */
    char message[256];
    int view; /* names and data point into someone else's bytes */
};

static inline int weft__arg_is_array(weft_arg_type t) { return t >= WEFT_ARG_I32_ARRAY; }
static inline int weft__arg_is_float(weft_arg_type t) {
    return t == WEFT_ARG_F64 || t == WEFT_ARG_F32_ARRAY || t == WEFT_ARG_F64_ARRAY;
}
size_t weft__arg_elem_size(weft_arg_type t);
const char *weft__arg_type_name(weft_arg_type t);
/* The payload of an argument (scalars point into the struct). */
const void *weft__arg_data(const weft__arg *a);
/* Check usable args: WEFT_EINVAL with the message set when NULL or in error. */
int weft__args_check(const char *call, const weft_args *a);
/* Fill a view of an encoding (names and data point into `in`); 0 or WEFT_EINVAL.
 * Free with weft__args_view_free. */
int weft__args_view(const void *in, size_t size, weft_args *view);
void weft__args_view_free(weft_args *view);
/* Encoded size and encoding into a buffer of that size. */
size_t weft__args_encoded_size(const weft_args *a);
void weft__args_encode_into(const weft_args *a, unsigned char *buf);
/* Per-argument fingerprint: XXH3-128 of the payload bytes, or of its snapped values when
 * the argument has a tolerance. 0 or WEFT_ENOMEM. */
int weft__arg_fingerprint(const weft__arg *a, uint8_t fp[16]);
/* The cache key over (task, version, keyed arguments); `ignored[i]` non-zero leaves
 * argument i out. fps holds each argument's fingerprint. */
int weft__args_key(const char *task, const char *version, const weft_args *a,
                   const uint8_t (*fps)[16], const unsigned char *ignored, uint8_t key[16]);
/* The key of an input that is not an args encoding (a plain map item). */
void weft__raw_key(const char *task, const char *version, const void *in, size_t size,
                   uint8_t key[16]);

/* ---- entry.c: the entry format (docs/cache-format.md) */
#define WEFT__ENTRY_MAGIC "WEFTENT\x1a"
#define WEFT__ENTRY_VERSION 1
#define WEFT__ENTRY_FIXED 96 /* bytes before the task name */
enum { WEFT__ENTRY_RAW_INPUT = 1u << 0 };
enum { WEFT__ARGREC_IGNORED = 1u << 0,
       WEFT__ARGREC_TOLERANCE = 1u << 1,
       WEFT__ARGREC_INLINE = 1u << 2 };
#define WEFT__INLINE_MAX 64

typedef struct weft__entry_arg {
    const char *name; /* points into the header, not NUL-terminated */
    size_t name_len;
    weft_arg_type type;
    int ndim;
    unsigned flags;
    uint64_t payload_size;
    uint64_t shape[WEFT_ARGS_MAX_NDIM];
    uint8_t fp[16];
    const void *inline_value; /* payload when WEFT__ARGREC_INLINE */
} weft__entry_arg;

typedef struct weft__entry {
    unsigned flags;
    size_t header_size;
    uint8_t key[16];
    int64_t created_ns, last_access_ns, compute_ns;
    uint64_t value_size, input_size, value_checksum;
    const char *task, *version; /* into the header, with their lengths */
    size_t task_len, version_len;
    size_t n_args;
    const unsigned char *args_at; /* the first argument record */
} weft__entry;

typedef struct weft__entry_desc {
    unsigned flags;
    const uint8_t *key;
    const char *task, *version;
    int64_t created_ns, compute_ns;
    uint64_t input_size;
    const void *value;
    size_t value_size;
    const weft_args *args; /* NULL for a raw input */
    const uint8_t (*fps)[16];
    const unsigned char *ignored;
} weft__entry_desc;
/* Build a header (malloc'd) for an entry; 0 or WEFT_ENOMEM. */
int weft__entry_build(const weft__entry_desc *d, unsigned char **head, size_t *head_size);
/* The header size an entry's first 16 bytes announce; 0 when they are not an entry. */
size_t weft__entry_header_size(const void *first16, size_t n);
/* Parse and check a header (magic, version, bounds, header checksum): 0 or WEFT_ECORRUPT. */
int weft__entry_parse(const void *head, size_t size, weft__entry *e);
/* The i-th argument record (walks from the first); 0 or WEFT_ECORRUPT. */
int weft__entry_arg_at(const weft__entry *e, const void *head, size_t size, size_t i,
                       weft__entry_arg *out);
/* The value's checksum matches. */
int weft__entry_value_ok(const weft__entry *e, const void *value, size_t size);
/* Parse a header and check it belongs to `task` and `key` (either NULL: any) and that
 * the value matches: 0 or WEFT_ECORRUPT (WEFT_ENOMEM). What every reader accepts. */
int weft__entry_check(const void *head, size_t head_size, const void *value, size_t value_size,
                      const char *task, const uint8_t key[16], weft__entry *e);
/* The same for an entry held whole (header then value) in one buffer: an archive's, a
 * checkpoint file's, an IndexedDB record's. The value follows at e->header_size. */
int weft__entry_check_whole(const void *bytes, size_t size, const char *task,
                            const uint8_t key[16], weft__entry *e);

/* ---- lsh.c: locality-sensitive signatures of float arrays */
#define WEFT__LSH_BANDS 16
/* One 64-bit hash per band of consecutive elements, each over the values rounded to
 * about 20 significant bits: a few changed elements change a few bands; changes far
 * below 1e-6 relative leave almost every band as it was. */
void weft__lsh_signature(const weft__arg *a, uint64_t sig[WEFT__LSH_BANDS]);
/* Bands two signatures share. */
int weft__lsh_shared(const uint64_t *a, const uint64_t *b);

/* ---- journal.c: WEFT_DEBUG */
typedef struct weft__journal weft__journal;
/* dir: the journal folder (NULL: in memory only). */
weft__journal *weft__journal_open(const char *dir, int64_t max_encoding_bytes);
void weft__journal_close(weft__journal *j);
/* Record a call (hit or miss). On a miss, write into `explain` (size bytes) a short
 * block on what differs from the nearest earlier call of the task; "" when nothing
 * to say. Thread-safe. */
void weft__journal_record(weft__journal *j, const char *task, const char *version,
                          const uint8_t key[16], const weft_args *a, const uint8_t (*fps)[16],
                          int hit, char *explain, size_t size);
/* Explain the latest journaled miss of a task (for `weft cache diff`): 0, or
 * WEFT_ENOTFOUND when the journal holds no miss of that task. */
int weft__journal_explain_latest(weft__journal *j, const char *task, char *out, size_t size);
/* The journal folder of a cache folder. */
#define WEFT__JOURNAL_DIR ".journal"

/* ---- memory.c: map items, for the layer above dispatch (dispatch_layer.c) */
/* Look n map items up, batched (ITEM_BATCH a store call): found[i] and out[i] (malloc'd)
 * for each hit. value_size: the size a hit must have (a fixed-size map's output), or
 * SIZE_MAX for any. Counts hits and misses; 0 or WEFT_ENOMEM. */
int weft__memory_lookup_items(weft_memory *m, const weft_task_def *task, const weft_bytes *in,
                              size_t n, size_t value_size, weft_bytes *out, unsigned char *found);
/* A finished item to store: its input, output and how long it took. */
typedef struct weft__memory_item {
    const void *in, *out;
    size_t in_size, out_size;
    int64_t compute_ns;
} weft__memory_item;
/* Store finished items, batched. A failure is not the map's: it is reported once. */
void weft__memory_store_items(weft_memory *m, const weft_task_def *task,
                              const weft__memory_item *items, size_t n);
/* A map item's key, and its entry's header (malloc'd) for a value, exactly as the two
 * above make them: for stores the C side cannot reach (IndexedDB). 0 or an error. */
int weft__memory_item_key(weft_memory *m, const weft_task_def *task, const void *in,
                          size_t in_size, uint8_t key[16]);
int weft__memory_item_entry(weft_memory *m, const weft_task_def *task, const void *in,
                            size_t in_size, const void *out, size_t out_size, int64_t compute_ns,
                            unsigned char **head, size_t *head_size);

/* ---- dispatch_layer.c: Memory above dispatch, registered with the core by weft_memory_open */
extern const weft__dispatch_layer weft__memory_layer;

/* The store behind a memory, and its private state (for the weft tool). */
const weft_store *weft__memory_store(const weft_memory *m, void **state);
/* The journal (opened on first use, also when debugging is off). */
weft__journal *weft__memory_journal(weft_memory *m);
/* Entries were removed behind the memory's back (the weft tool's verify --fix): retire
 * the hot values of every process. */
void weft__memory_bump(weft_memory *m);
/* Read and check one entry: 0 (head and value malloc'd), WEFT_ENOTFOUND, WEFT_ECORRUPT. */
int weft__memory_read(weft_memory *m, const char *task, const uint8_t key[16], weft_bytes *head,
                      weft_bytes *value, weft__entry *e);
#endif
