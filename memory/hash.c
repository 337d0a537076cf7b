/* XXH3, compiled in from the header (XXH_INLINE_ALL) in every build. On x86-64 inputs over
 * 240 bytes take the AVX2 kernel when the CPU has it (chosen at run time), SSE2 otherwise:
 * on a 200 MB argument AVX2 hashes as fast as one core reads memory, where SSE2 falls
 * 10-40 % short. AVX-512 is left out: its 64-byte loads straddle two cache lines on data
 * that is not 64-byte aligned (most arrays), which halved its speed on a large argument.
 * Every kernel gives the same bits (XXH3 is defined bit for bit), so keys never depend on
 * it. WebAssembly builds get the header's portable code. */
#include "memory_internal.h"

#include <stdatomic.h>
#include <string.h>

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(__wasm__)
#define WEFT_XXH_X86 1
#include <immintrin.h>
#define XXH_X86DISPATCH /* aligned accumulators and secrets for every kernel */
#define XXH_DISPATCH_AVX2 1
#define XXH_TARGET_AVX2 __attribute__((__target__("avx2")))
#endif
#define XXH_INLINE_ALL
#include <xxhash.h>

#define STR2(x) #x
#define STR(x) STR2(x)

#ifdef WEFT_XXH_X86
static atomic_int have_avx2; /* 0 not known yet, 1 no, 2 yes */

static int use_avx2(void) {
    int k = atomic_load_explicit(&have_avx2, memory_order_relaxed);
    if (!k) {
        __builtin_cpu_init();
        k = __builtin_cpu_supports("avx2") ? 2 : 1;
        atomic_store_explicit(&have_avx2, k, memory_order_relaxed);
    }
    return k == 2;
}

/* The long-input loops of XXH3-64 and -128 with the default secret, one per kernel. */
#define LONG_KERNELS(name, target)                                                                \
    XXH_NO_INLINE target XXH64_hash_t long64_##name(const void *p, size_t n, XXH64_hash_t seed,   \
                                                    const xxh_u8 *secret, size_t secret_size) {   \
        (void)seed, (void)secret, (void)secret_size;                                              \
        return XXH3_hashLong_64b_internal(p, n, XXH3_kSecret, sizeof XXH3_kSecret,                \
                                          XXH3_accumulate_512_##name, XXH3_scrambleAcc_##name);   \
    }                                                                                             \
    XXH_NO_INLINE target XXH128_hash_t long128_##name(const void *p, size_t n, XXH64_hash_t seed, \
                                                      const void *secret, size_t secret_size) {   \
        (void)seed, (void)secret, (void)secret_size;                                              \
        return XXH3_hashLong_128b_internal(p, n, XXH3_kSecret, sizeof XXH3_kSecret,               \
                                           XXH3_accumulate_512_##name, XXH3_scrambleAcc_##name);  \
    }
LONG_KERNELS(sse2, )
LONG_KERNELS(avx2, XXH_TARGET_AVX2)

static XXH128_hash_t hash128(const void *data, size_t n) {
    int wide = n > XXH3_MIDSIZE_MAX && use_avx2();
    return XXH3_128bits_internal(data, n, 0, XXH3_kSecret, sizeof XXH3_kSecret,
                                 wide ? long128_avx2 : long128_sse2);
}

static XXH64_hash_t hash64(const void *data, size_t n) {
    int wide = n > XXH3_MIDSIZE_MAX && use_avx2();
    return XXH3_64bits_internal(data, n, 0, XXH3_kSecret, sizeof XXH3_kSecret,
                                wide ? long64_avx2 : long64_sse2);
}
#define IMPL "x86-64 AVX2 or SSE2, chosen at run time"
#else
static XXH128_hash_t hash128(const void *data, size_t n) { return XXH3_128bits(data, n); }
static XXH64_hash_t hash64(const void *data, size_t n) { return XXH3_64bits(data, n); }
#define IMPL "portable"
#endif

void weft__hash128(const void *data, size_t n, uint8_t out[16]) {
    XXH128_hash_t h = hash128(data, n);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, h);
    memcpy(out, c.digest, 16);
}

uint64_t weft__hash64(const void *data, size_t n) { return hash64(data, n); }

const char *weft__hash_impl(void) {
    return "XXH3 " STR(XXH_VERSION_MAJOR) "." STR(XXH_VERSION_MINOR) "." STR(
        XXH_VERSION_RELEASE) ", " IMPL;
}

void weft__hex(const uint8_t *b, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int weft__unhex(const char *s, uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int hi = nibble(s[2 * i]), lo = hi < 0 ? -1 : nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
