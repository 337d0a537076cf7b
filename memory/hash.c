/* XXH3: from libxxhash's runtime-dispatch entry points in the native shared library
 * (AVX2/AVX-512 where the CPU has them), from the header alone (XXH_INLINE_ALL) in the
 * static library and in WebAssembly builds. Only one-shot calls are used, so a process
 * never mixes the dispatched and the plain code paths within one library. */
#include "memory_internal.h"

#include <string.h>

#if defined(WEFT_XXH_DISPATCH)
#include <xxh_x86dispatch.h>
#define HASH128 XXH3_128bits_dispatch
#define HASH64 XXH3_64bits_dispatch
#define IMPL "runtime dispatch (libxxhash)"
#elif defined(WEFT_XXH_LIBRARY)
#include <xxhash.h>
#define HASH128 XXH3_128bits
#define HASH64 XXH3_64bits
#define IMPL "libxxhash"
#else
#define XXH_INLINE_ALL
#include <xxhash.h>
#define HASH128 XXH3_128bits
#define HASH64 XXH3_64bits
#define IMPL "inline header"
#endif

#define STR2(x) #x
#define STR(x) STR2(x)

void weft__hash128(const void *data, size_t n, uint8_t out[16]) {
    XXH128_hash_t h = HASH128(data, n);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, h);
    memcpy(out, c.digest, 16);
}

uint64_t weft__hash64(const void *data, size_t n) { return HASH64(data, n); }

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
