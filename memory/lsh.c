/* Locality-sensitive signatures of float arrays, to find the nearest earlier call of a
 * task without comparing against every journaled call.
 *
 * The array is cut into WEFT__LSH_BANDS bands of consecutive elements; each band's
 * signature is a hash of its values rounded to 20 significant bits (a relative step of
 * about 1e-6). Changing a few elements changes only the bands holding them; changing
 * every element by far less than 1e-6 relative changes a band only where a value sits
 * right at a rounding boundary. Calls that share many bands with the new call are the
 * candidates (the LSH "banding" scheme); the journal then scores them exactly. */
#include "memory_internal.h"

#include <math.h>
#include <string.h>

#define KEEP_BITS 20

static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 31);
}

static uint64_t coarse(double v) {
    if (!isfinite(v)) {
        uint64_t bits;
        memcpy(&bits, &v, 8);
        return bits;
    }
    if (v == 0) return 0;
    int e;
    double m = frexp(v, &e);
    int64_t q = (int64_t)nearbyint(ldexp(m, KEEP_BITS));
    return (uint64_t)q ^ ((uint64_t)(uint32_t)e << 40);
}

static double elem(const weft__arg *a, size_t i) {
    const char *p = weft__arg_data(a);
    if (a->type == WEFT_ARG_F32_ARRAY) {
        float f;
        memcpy(&f, p + 4 * i, 4);
        return f;
    }
    double d;
    memcpy(&d, p + 8 * i, 8);
    return d;
}

void weft__lsh_signature(const weft__arg *a, uint64_t sig[WEFT__LSH_BANDS]) {
    size_t n = a->size / weft__arg_elem_size(a->type);
    for (int b = 0; b < WEFT__LSH_BANDS; b++) {
        size_t lo = n * (size_t)b / WEFT__LSH_BANDS, hi = n * (size_t)(b + 1) / WEFT__LSH_BANDS;
        uint64_t h = mix(0x5157u + (uint64_t)b, hi - lo);
        for (size_t i = lo; i < hi; i++) h = mix(h, coarse(elem(a, i)));
        sig[b] = h;
    }
}

int weft__lsh_shared(const uint64_t *a, const uint64_t *b) {
    int n = 0;
    for (int i = 0; i < WEFT__LSH_BANDS; i++) n += a[i] == b[i];
    return n;
}
