/* The entry format: one header layout on every platform, then the value.
 * docs/cache-format.md is the reference; this file is its only implementation. */
#include "memory_internal.h"

#include <stdlib.h>
#include <string.h>

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

static int inlined(const weft__arg *x) {
    return !weft__arg_is_array(x->type) && x->type != WEFT_ARG_BYTES && x->size <= WEFT__INLINE_MAX;
}

static size_t arg_record_size(const weft__arg *x) {
    return 16 + 8 * (size_t)x->ndim + 16 + pad8(x->name_len) + (inlined(x) ? pad8(x->size) : 0);
}

int weft__entry_build(const weft__entry_desc *d, unsigned char **head, size_t *head_size) {
    size_t task_len = strlen(d->task), version_len = strlen(d->version);
    if (task_len > UINT16_MAX || version_len > UINT16_MAX)
        return weft__set_error(WEFT_EINVAL, "task name or version longer than 65535 bytes");
    size_t n = WEFT__ENTRY_FIXED + pad8(task_len + version_len);
    size_t n_args = d->args ? d->args->n : 0;
    for (size_t i = 0; i < n_args; i++) n += arg_record_size(&d->args->v[i]);
    unsigned char *h = calloc(1, n);
    if (!h) return weft__set_error(WEFT_ENOMEM, "out of memory building a cache entry");
    memcpy(h, WEFT__ENTRY_MAGIC, 8);
    weft__put16(h + 8, WEFT__ENTRY_VERSION);
    weft__put16(h + 10, (uint16_t)d->flags);
    weft__put32(h + 12, (uint32_t)n);
    memcpy(h + 16, d->key, 16);
    weft__put64(h + 32, (uint64_t)d->created_ns);
    weft__put64(h + 40, (uint64_t)d->created_ns);
    weft__put64(h + 48, (uint64_t)d->compute_ns);
    weft__put64(h + 56, d->value_size);
    weft__put64(h + 64, d->input_size);
    weft__put64(h + 72, weft__hash64(d->value, d->value_size));
    weft__put16(h + 88, (uint16_t)task_len);
    weft__put16(h + 90, (uint16_t)version_len);
    weft__put32(h + 92, (uint32_t)n_args);
    unsigned char *p = h + WEFT__ENTRY_FIXED;
    memcpy(p, d->task, task_len);
    memcpy(p + task_len, d->version, version_len);
    p += pad8(task_len + version_len);
    for (size_t i = 0; i < n_args; i++) {
        const weft__arg *x = &d->args->v[i];
        unsigned flags = 0;
        if (d->ignored && d->ignored[i]) flags |= WEFT__ARGREC_IGNORED;
        if (x->abs_tol > 0 || x->rel_tol > 0) flags |= WEFT__ARGREC_TOLERANCE;
        if (inlined(x)) flags |= WEFT__ARGREC_INLINE;
        weft__put16(p, (uint16_t)x->name_len);
        p[2] = (unsigned char)x->type;
        p[3] = (unsigned char)x->ndim;
        p[4] = (unsigned char)flags;
        weft__put64(p + 8, x->size);
        p += 16;
        for (int k = 0; k < x->ndim; k++, p += 8) weft__put64(p, x->shape[k]);
        memcpy(p, d->fps[i], 16);
        p += 16;
        memcpy(p, x->name, x->name_len);
        p += pad8(x->name_len);
        if (flags & WEFT__ARGREC_INLINE) {
            if (x->size) memcpy(p, weft__arg_data(x), x->size);
            p += pad8(x->size);
        }
    }
    weft__put64(h + 80, weft__hash64(h, n));
    *head = h;
    *head_size = n;
    return 0;
}

size_t weft__entry_header_size(const void *first16, size_t n) {
    const unsigned char *p = first16;
    if (n < 16 || memcmp(p, WEFT__ENTRY_MAGIC, 8) != 0) return 0;
    size_t hs = weft__get32(p + 12);
    return hs >= WEFT__ENTRY_FIXED && hs % 8 == 0 ? hs : 0;
}

static int zeros(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* Bytes an inline scalar of this type holds (strings: any count up to the limit). */
static int inline_size_ok(weft_arg_type t, uint64_t n) {
    switch (t) {
    case WEFT_ARG_I64:
    case WEFT_ARG_F64: return n == 8;
    case WEFT_ARG_BOOL: return n == 1;
    case WEFT_ARG_STRING: return n <= WEFT__INLINE_MAX;
    default: return 0;
    }
}

/* Every argument record is well formed and they fill the header exactly, in the one
 * form weft__entry_build writes (reserved bytes and padding zero): a reader may then
 * take any field at its word -- an inline i64 has its 8 bytes. */
static int records_ok(const weft__entry *e, const unsigned char *h, size_t size) {
    const unsigned char *p = e->args_at, *end = h + size;
    size_t names = e->task_len + e->version_len;
    if (!zeros(h + WEFT__ENTRY_FIXED + names, pad8(names) - names)) return 0;
    for (size_t i = 0; i < e->n_args; i++) {
        if (end - p < 16) return 0;
        size_t name_len = weft__get16(p);
        weft_arg_type type = (weft_arg_type)p[2];
        int ndim = p[3];
        unsigned flags = p[4];
        uint64_t payload = weft__get64(p + 8);
        if (name_len == 0 || type < WEFT_ARG_I64 || type > WEFT_ARG_F64_ARRAY || !zeros(p + 5, 3) ||
            (flags & ~(unsigned)(WEFT__ARGREC_IGNORED | WEFT__ARGREC_TOLERANCE | WEFT__ARGREC_INLINE)))
            return 0;
        if (weft__arg_is_array(type) ? ndim < 1 || ndim > WEFT_ARGS_MAX_NDIM : ndim != 0) return 0;
        int is_inline = (flags & WEFT__ARGREC_INLINE) != 0;
        if (is_inline && (weft__arg_is_array(type) || !inline_size_ok(type, payload))) return 0;
        size_t need = 16 + 8 * (size_t)ndim + 16 + pad8(name_len) + (is_inline ? pad8(payload) : 0);
        if ((size_t)(end - p) < need) return 0;
        const unsigned char *name = p + 16 + 8 * (size_t)ndim + 16;
        if (!zeros(name + name_len, pad8(name_len) - name_len)) return 0;
        if (is_inline && !zeros(name + pad8(name_len) + payload, pad8(payload) - payload)) return 0;
        p += need;
    }
    return p == end;
}

int weft__entry_parse(const void *head, size_t size, weft__entry *e) {
    const unsigned char *h = head;
    if (size < WEFT__ENTRY_FIXED || weft__entry_header_size(h, size) != size) return WEFT_ECORRUPT;
    if (weft__get16(h + 8) != WEFT__ENTRY_VERSION) return WEFT_ECORRUPT;
    /* the checksum covers the header with its own field zeroed */
    uint64_t want = weft__get64(h + 80), got;
    unsigned char stack[2048];
    unsigned char *copy = size <= sizeof stack ? stack : malloc(size);
    if (!copy) return WEFT_ENOMEM;
    memcpy(copy, h, size);
    memset(copy + 80, 0, 8);
    got = weft__hash64(copy, size);
    if (copy != stack) free(copy);
    if (got != want) return WEFT_ECORRUPT;
    e->flags = weft__get16(h + 10);
    e->header_size = size;
    memcpy(e->key, h + 16, 16);
    e->created_ns = (int64_t)weft__get64(h + 32);
    e->last_access_ns = (int64_t)weft__get64(h + 40);
    e->compute_ns = (int64_t)weft__get64(h + 48);
    e->value_size = weft__get64(h + 56);
    e->input_size = weft__get64(h + 64);
    e->value_checksum = weft__get64(h + 72);
    e->task_len = weft__get16(h + 88);
    e->version_len = weft__get16(h + 90);
    e->n_args = weft__get32(h + 92);
    if (WEFT__ENTRY_FIXED + pad8(e->task_len + e->version_len) > size) return WEFT_ECORRUPT;
    e->task = (const char *)h + WEFT__ENTRY_FIXED;
    e->version = e->task + e->task_len;
    e->args_at = h + WEFT__ENTRY_FIXED + pad8(e->task_len + e->version_len);
    if (e->n_args > size / 32 || !records_ok(e, h, size)) return WEFT_ECORRUPT;
    return 0;
}

int weft__entry_arg_at(const weft__entry *e, const void *head, size_t size, size_t i,
                       weft__entry_arg *out) {
    const unsigned char *p = e->args_at, *end = (const unsigned char *)head + size;
    if (i >= e->n_args) return WEFT_ECORRUPT;
    for (size_t k = 0;; k++) {
        if (end - p < 16) return WEFT_ECORRUPT;
        memset(out, 0, sizeof *out);
        out->name_len = weft__get16(p);
        out->type = (weft_arg_type)p[2];
        out->ndim = p[3];
        out->flags = p[4];
        out->payload_size = weft__get64(p + 8);
        if (out->ndim > WEFT_ARGS_MAX_NDIM) return WEFT_ECORRUPT;
        p += 16;
        size_t need = 8 * (size_t)out->ndim + 16 + pad8(out->name_len);
        if ((size_t)(end - p) < need) return WEFT_ECORRUPT;
        for (int d = 0; d < out->ndim; d++, p += 8) out->shape[d] = weft__get64(p);
        memcpy(out->fp, p, 16);
        p += 16;
        out->name = (const char *)p;
        p += pad8(out->name_len);
        if (out->flags & WEFT__ARGREC_INLINE) {
            if (!inline_size_ok(out->type, out->payload_size) || (size_t)(end - p) < pad8(out->payload_size))
                return WEFT_ECORRUPT;
            out->inline_value = p;
            p += pad8(out->payload_size);
        }
        if (k == i) return 0;
    }
}

int weft__entry_value_ok(const weft__entry *e, const void *value, size_t size) {
    return size == e->value_size && weft__hash64(value, size) == e->value_checksum;
}

int weft__entry_check(const void *head, size_t head_size, const void *value, size_t value_size,
                      const char *task, const uint8_t key[16], weft__entry *e) {
    int rc = weft__entry_parse(head, head_size, e);
    if (rc) return rc;
    if ((key && memcmp(e->key, key, 16) != 0) ||
        (task && (e->task_len != strlen(task) || memcmp(e->task, task, e->task_len) != 0)) ||
        !weft__entry_value_ok(e, value, value_size))
        return WEFT_ECORRUPT;
    return 0;
}

int weft__entry_check_whole(const void *bytes, size_t size, const char *task,
                            const uint8_t key[16], weft__entry *e) {
    size_t hs = weft__entry_header_size(bytes, size);
    if (!hs || hs > size) return WEFT_ECORRUPT;
    return weft__entry_check(bytes, hs, (const unsigned char *)bytes + hs, size - hs, task, key, e);
}
