/* Entries packed for a store that keeps the key and sizes beside them (the packed and
 * log stores): an entry header (memory/entry.c) repeats what such a store knows: the key
 * (bytes 16-31), the last access at write time (40-47, the creation time again) and the
 * value size (56-63). A packed entry leaves out whichever of these match (bits of the
 * packing, beside the header size) and unpacking puts them back, so a read gives the
 * very bytes written (the header's own checksum covers the result). */
#ifndef WEFT_ENTRY_PACK_H
#define WEFT_ENTRY_PACK_H

#include "memory_internal.h"

enum { WEFT__PACK_KEY = 1,
       WEFT__PACK_ACCESS = 2,
       WEFT__PACK_SIZE = 4,
       WEFT__PACK_BITS = 3 };

/* What a header of hs bytes may leave out (WEFT__PACK_* bits). */
int weft__pack_flags(const unsigned char *h, size_t hs, const uint8_t key[16], size_t vs);
/* The bytes of a header of hs bytes packed with flags f. */
size_t weft__pack_head_size(int f, size_t hs);
/* The packing word: the header size and its flags (never 0 for a real header). */
static inline uint32_t weft__packing(int f, size_t hs) { return (uint32_t)hs << WEFT__PACK_BITS | (uint32_t)f; }
/* A packing word's flags, and its header size. */
static inline int weft__packing_flags(int64_t packing) { return (int)(packing & ((1 << WEFT__PACK_BITS) - 1)); }
static inline size_t weft__packing_head(uint32_t packing) { return packing >> WEFT__PACK_BITS; }
/* Write the packed header into dst (weft__pack_head_size bytes). */
void weft__pack_head(unsigned char *dst, int f, const unsigned char *h, size_t hs);
/* Where the compute time (header bytes 48-55) lies in a packed header, or -1 when the
 * header is too short to hold it. */
long weft__pack_compute_at(uint32_t packing);
/* The entry's header and value back from packed bytes d[0..n) (malloc'd): 0,
 * WEFT_ECORRUPT when they do not fit the packing, WEFT_ENOMEM. */
int weft__unpack(int64_t packing, const unsigned char *d, size_t n, const uint8_t key[16],
                 weft_bytes *head, weft_bytes *value);
#endif
