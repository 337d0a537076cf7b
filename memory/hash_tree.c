/* The fingerprint of a buffer's content, as keys use it (docs/cache-format.md, "Keys").
 * Up to TREE_MIN bytes it is XXH3-128 of the bytes. Above, it is a tree of depth one:
 *
 *   XXH3-128("WEFTTREE" | u64 n | XXH3-128(chunk 0) | XXH3-128(chunk 1) | ...)
 *
 * over CHUNK-byte chunks in order (the last one shorter), each digest in canonical form.
 * One core hashes at about the speed it reads memory; chunks let every CPU of the budget
 * read at once. Nothing in the definition depends on how many threads hashed, the CPU or
 * the build, so keys are the same with any n_jobs and on every platform. */
#include "memory_internal.h"

#include <stdatomic.h>
#include <stdlib.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define TREE_MIN ((size_t)4 << 20) /* every key of earlier releases up to 4 MiB stays */
#define CHUNK ((size_t)1 << 20)
/* Bytes a thread must have to be worth starting: on a 2-CPU VM pthread_create took 70-350
 * us and the thread ran 100-550 us after it, while one core hashes 16 MiB in 500-700 us;
 * below 32 MiB two threads lost to one there. */
#define THREAD_MIN_BYTES ((size_t)16 << 20)
#define MAX_THREADS 64
/* Digests kept on the stack (4 KB, a 256 MiB input); larger inputs take them from the
 * heap, or, without memory, go window by window. */
#define WINDOW 256

_Static_assert(TREE_MIN % CHUNK == 0, "the threshold is a whole number of chunks");

/* Chunks handed out one at a time: a thread that starts late (a busy machine) takes
 * fewer, and the calling thread hashes the rest instead of waiting for it. */
typedef struct window {
    const unsigned char *p;
    size_t len, chunks; /* bytes, and chunks of them */
    uint8_t *digests;   /* 16 per chunk */
    atomic_size_t next;
} window;

static void hash_chunks(void *arg) {
    window *w = arg;
    for (size_t i; (i = atomic_fetch_add_explicit(&w->next, 1, memory_order_relaxed)) < w->chunks;) {
        size_t off = i * CHUNK;
        weft__hash128(w->p + off, w->len - off < CHUNK ? w->len - off : CHUNK, w->digests + 16 * i);
    }
}

/* Threads for n bytes: the CPU budget (docs/nested.md) outside any task, the task's share
 * inside one, so a cached call inside a parallel map does not oversubscribe. WebAssembly
 * builds hash on the calling thread (the same bits). */
static int threads_for(size_t n) {
#ifdef __wasm__
    (void)n;
    return 1;
#else
    if (n < 2 * THREAD_MIN_BYTES || !weft_plat_has_threads()) return 1;
    const weft__job *job = weft__current_job();
    int k = job ? weft__budget_task_cpus(job) : weft_cpu_count();
    size_t most = n / THREAD_MIN_BYTES;
    if ((size_t)k > most) k = (int)most;
    if (k > MAX_THREADS) k = MAX_THREADS;
    return k < 1 ? 1 : k;
#endif
}

/* The digests of a window's chunks on up to k threads, the calling one included; a
 * thread that cannot start leaves its share to the others. */
static void hash_window(window *w, int k) {
    weft_plat_thread *threads[MAX_THREADS];
    int started = 0;
    atomic_init(&w->next, 0);
    for (int t = 1; t < k && (size_t)t < w->chunks; t++)
        if (weft_plat_thread_start(&threads[started], hash_chunks, w) == 0) started++;
    hash_chunks(w);
    for (int t = 0; t < started; t++) weft_plat_thread_join(threads[t]);
}

void weft__fingerprint(const void *data, size_t n, uint8_t out[16]) {
    if (n <= TREE_MIN) {
        weft__hash128(data, n, out);
        return;
    }
    XXH3_state_t st;
    XXH3_128bits_reset(&st);
    unsigned char head[16];
    memcpy(head, "WEFTTREE", 8);
    weft__put64(head + 8, (uint64_t)n);
    XXH3_128bits_update(&st, head, sizeof head);
    size_t chunks = (n + CHUNK - 1) / CHUNK;
    uint8_t stack[16 * WINDOW], *heap = chunks > WINDOW ? malloc(16 * chunks) : NULL;
    size_t per = heap ? chunks : WINDOW; /* chunks per window */
    int k = threads_for(n);
    for (size_t first = 0; first < chunks; first += per) {
        window w;
        w.p = (const unsigned char *)data + first * CHUNK;
        w.chunks = chunks - first < per ? chunks - first : per;
        w.digests = heap ? heap : stack;
        w.len = first + w.chunks == chunks ? n - first * CHUNK : w.chunks * CHUNK;
        hash_window(&w, k);
        XXH3_128bits_update(&st, w.digests, 16 * w.chunks);
    }
    free(heap);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&st));
    memcpy(out, c.digest, 16);
}
