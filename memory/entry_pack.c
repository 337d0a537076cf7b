/* Packed entries (memory/entry_pack.h): the packed and the log store keep entries less
 * the header bytes their own records already say. */
#include "entry_pack.h"

#include <stdlib.h>
#include <string.h>

int weft__pack_flags(const unsigned char *h, size_t hs, const uint8_t key[16], size_t vs) {
    int f = 0;
    uint64_t v = vs;
    if (hs >= 32 && memcmp(h + 16, key, 16) == 0) f |= WEFT__PACK_KEY;
    if (hs >= 48 && memcmp(h + 40, h + 32, 8) == 0) f |= WEFT__PACK_ACCESS;
    if (hs >= 64 && memcmp(h + 56, &v, 8) == 0) f |= WEFT__PACK_SIZE;
    return f;
}

/* The header's bytes a packed entry keeps, in order: [from, to) pieces. */
static size_t pieces(int f, size_t hs, size_t from[4], size_t to[4]) {
    size_t n = 0, at = 0;
    const struct {
        int bit;
        size_t a, b;
    } gone[] = {{WEFT__PACK_KEY, 16, 32}, {WEFT__PACK_ACCESS, 40, 48}, {WEFT__PACK_SIZE, 56, 64}};
    for (int i = 0; i < 3; i++) {
        if (!(f & gone[i].bit)) continue;
        if (gone[i].a > at) from[n] = at, to[n++] = gone[i].a;
        at = gone[i].b;
    }
    if (hs > at) from[n] = at, to[n++] = hs;
    return n;
}

size_t weft__pack_head_size(int f, size_t hs) {
    return hs - (f & WEFT__PACK_KEY ? 16 : 0) - (f & WEFT__PACK_ACCESS ? 8 : 0) - (f & WEFT__PACK_SIZE ? 8 : 0);
}

void weft__pack_head(unsigned char *dst, int f, const unsigned char *h, size_t hs) {
    size_t from[4], to[4], k = pieces(f, hs, from, to), at = 0;
    for (size_t i = 0; i < k; i++) {
        memcpy(dst + at, h + from[i], to[i] - from[i]);
        at += to[i] - from[i];
    }
}

long weft__pack_compute_at(uint32_t packing) {
    int f = weft__packing_flags(packing);
    size_t hs = weft__packing_head(packing);
    if (hs < 56) return -1;
    return 48 - (f & WEFT__PACK_KEY ? 16 : 0) - (f & WEFT__PACK_ACCESS ? 8 : 0);
}

int weft__unpack(int64_t packing, const unsigned char *d, size_t n, const uint8_t key[16],
                 weft_bytes *head, weft_bytes *value) {
    int f = weft__packing_flags(packing);
    int64_t hs64 = packing >> WEFT__PACK_BITS;
    if (packing < 0 || hs64 > (int64_t)n + 32) return WEFT_ECORRUPT;
    size_t hs = (size_t)hs64, ph = weft__pack_head_size(f, hs);
    if ((f & WEFT__PACK_SIZE && hs < 64) || (f & WEFT__PACK_ACCESS && hs < 48) || (f & WEFT__PACK_KEY && hs < 32) || ph > n)
        return WEFT_ECORRUPT;
    size_t vs = n - ph;
    head->data = malloc(hs ? hs : 1);
    value->data = malloc(vs ? vs : 1);
    if (!head->data || !value->data) {
        free(head->data), free(value->data);
        head->data = value->data = NULL;
        return WEFT_ENOMEM;
    }
    unsigned char *h = head->data;
    size_t from[4], to[4], k = pieces(f, hs, from, to), at = 0;
    for (size_t i = 0; i < k; i++) {
        memcpy(h + from[i], d + at, to[i] - from[i]);
        at += to[i] - from[i];
    }
    if (f & WEFT__PACK_KEY) memcpy(h + 16, key, 16);
    if (f & WEFT__PACK_ACCESS) memcpy(h + 40, h + 32, 8);
    uint64_t v64 = vs;
    if (f & WEFT__PACK_SIZE) memcpy(h + 56, &v64, 8);
    if (vs) memcpy(value->data, d + ph, vs);
    head->size = hs;
    value->size = vs;
    return 0;
}
