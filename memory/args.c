/* Named, typed arguments: the builder, the canonical encoding, its readers, the
 * per-argument fingerprints and the cache key (docs/cache-format.md). */
#include "memory_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENC_MAGIC "WFA1"

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

size_t weft__arg_elem_size(weft_arg_type t) {
    switch (t) {
    case WEFT_ARG_I32_ARRAY:
    case WEFT_ARG_F32_ARRAY: return 4;
    case WEFT_ARG_I64_ARRAY:
    case WEFT_ARG_F64_ARRAY:
    case WEFT_ARG_I64:
    case WEFT_ARG_F64: return 8;
    default: return 1;
    }
}

const char *weft__arg_type_name(weft_arg_type t) {
    switch (t) {
    case WEFT_ARG_I64: return "i64";
    case WEFT_ARG_F64: return "f64";
    case WEFT_ARG_BOOL: return "bool";
    case WEFT_ARG_STRING: return "string";
    case WEFT_ARG_BYTES: return "bytes";
    case WEFT_ARG_I32_ARRAY: return "i32[]";
    case WEFT_ARG_I64_ARRAY: return "i64[]";
    case WEFT_ARG_F32_ARRAY: return "f32[]";
    case WEFT_ARG_F64_ARRAY: return "f64[]";
    }
    return "?";
}

const void *weft__arg_data(const weft__arg *a) {
    switch (a->type) {
    case WEFT_ARG_I64: return &a->scalar.i;
    case WEFT_ARG_F64: return &a->scalar.f;
    case WEFT_ARG_BOOL: return &a->scalar.b;
    default: return a->data;
    }
}

/* ---- the builder */

weft_args *weft_args_new(void) { return calloc(1, sizeof(weft_args)); }

static void free_arg(weft__arg *a) {
    free((char *)a->name);
    free(a->str);
}

void weft_args_reset(weft_args *a) {
    if (!a) return;
    if (!a->view)
        for (size_t i = 0; i < a->n; i++) free_arg(&a->v[i]);
    a->n = 0;
    a->error = 0;
    a->message[0] = '\0';
}

void weft_args_free(weft_args *a) {
    if (!a) return;
    weft_args_reset(a);
    free(a->v);
    free(a);
}

size_t weft_args_count(const weft_args *a) { return a ? a->n : 0; }

/* Remember the first error; later adds keep failing so one check at the call suffices. */
static int fail(weft_args *a, const char *name, const char *why) {
    if (!a->error) {
        a->error = WEFT_EINVAL;
        snprintf(a->message, sizeof a->message, "argument '%s': %s", name ? name : "(NULL)", why);
    }
    return weft__set_error(WEFT_EINVAL, "%s", a->message);
}

/* A new slot at index `at` (the caller keeps the names sorted and unique), holding a
 * copy of the name; NULL (and the sticky error) when out of memory. */
static weft__arg *insert(weft_args *a, size_t at, const char *name, size_t len,
                         weft_arg_type type) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 8;
        weft__arg *v = realloc(a->v, cap * sizeof *v);
        if (!v) {
            a->error = WEFT_ENOMEM;
            snprintf(a->message, sizeof a->message, "out of memory adding argument '%s'", name);
            weft__set_error(WEFT_ENOMEM, "%s", a->message);
            return NULL;
        }
        a->v = v;
        a->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        a->error = WEFT_ENOMEM;
        snprintf(a->message, sizeof a->message, "out of memory adding argument '%s'", name);
        weft__set_error(WEFT_ENOMEM, "%s", a->message);
        return NULL;
    }
    memcpy(copy, name, len + 1);
    memmove(&a->v[at + 1], &a->v[at], (a->n - at) * sizeof *a->v);
    a->n++;
    weft__arg *x = &a->v[at];
    memset(x, 0, sizeof *x);
    x->name = copy;
    x->name_len = len;
    x->type = type;
    return x;
}

/* A new slot in name order; NULL (and the sticky error) on a bad name or no memory. */
static weft__arg *add(weft_args *a, const char *name, weft_arg_type type) {
    if (!a) {
        weft__set_error(WEFT_EINVAL, "weft_args_*: args is NULL (create them with weft_args_new)");
        return NULL;
    }
    if (a->error) {
        weft__set_error(a->error, "%s", a->message);
        return NULL;
    }
    if (!name || !name[0]) {
        fail(a, name, "the name is NULL or empty");
        return NULL;
    }
    size_t len = strlen(name);
    if (len > WEFT_ARGS_MAX_NAME) {
        fail(a, name, "the name is longer than WEFT_ARGS_MAX_NAME");
        return NULL;
    }
    size_t at = 0;
    while (at < a->n) {
        int c = strcmp(a->v[at].name, name);
        if (c == 0) {
            fail(a, name, "given twice");
            return NULL;
        }
        if (c > 0) break;
        at++;
    }
    return insert(a, at, name, len, type);
}

int weft_args_i64(weft_args *a, const char *name, int64_t v) {
    weft__arg *x = add(a, name, WEFT_ARG_I64);
    if (!x) return weft_last_error()->code;
    x->scalar.i = v;
    x->size = 8;
    return 0;
}

int weft_args_f64(weft_args *a, const char *name, double v) {
    weft__arg *x = add(a, name, WEFT_ARG_F64);
    if (!x) return weft_last_error()->code;
    x->scalar.f = v;
    x->size = 8;
    return 0;
}

int weft_args_bool(weft_args *a, const char *name, int v) {
    weft__arg *x = add(a, name, WEFT_ARG_BOOL);
    if (!x) return weft_last_error()->code;
    x->scalar.b = v != 0;
    x->size = 1;
    return 0;
}

int weft_args_string(weft_args *a, const char *name, const char *s) {
    if (a && !a->error && !s) return fail(a, name, "the string is NULL");
    weft__arg *x = add(a, name, WEFT_ARG_STRING);
    if (!x) return weft_last_error()->code;
    size_t len = strlen(s);
    x->str = malloc(len + 1);
    if (!x->str) {
        a->error = WEFT_ENOMEM;
        snprintf(a->message, sizeof a->message, "out of memory copying argument '%s'", name);
        return weft__set_error(WEFT_ENOMEM, "%s", a->message);
    }
    memcpy(x->str, s, len + 1);
    x->data = x->str;
    x->size = len;
    return 0;
}

int weft_args_bytes(weft_args *a, const char *name, const void *data, size_t size) {
    if (a && !a->error && !data && size) return fail(a, name, "data is NULL but size is not 0");
    weft__arg *x = add(a, name, WEFT_ARG_BYTES);
    if (!x) return weft_last_error()->code;
    x->data = data;
    x->size = size;
    return 0;
}

static int add_array(weft_args *a, const char *name, weft_arg_type type, const void *data,
                     int ndim, const size_t *shape) {
    if (a && !a->error) {
        if (ndim < 1 || ndim > WEFT_ARGS_MAX_NDIM)
            return fail(a, name, "ndim must be 1..WEFT_ARGS_MAX_NDIM");
        if (!shape) return fail(a, name, "shape is NULL");
    }
    size_t count = 1, elem = weft__arg_elem_size(type);
    for (int d = 0; a && !a->error && d < ndim; d++) {
        if (shape[d] && count > SIZE_MAX / elem / shape[d]) return fail(a, name, "the shape overflows");
        count *= shape[d];
    }
    if (a && !a->error && !data && count) return fail(a, name, "data is NULL for a non-empty array");
    weft__arg *x = add(a, name, type);
    if (!x) return weft_last_error()->code;
    x->ndim = ndim;
    for (int d = 0; d < ndim; d++) x->shape[d] = shape[d];
    x->data = data;
    x->size = count * elem;
    return 0;
}

int weft_args_i32_array(weft_args *a, const char *name, const int32_t *data, int ndim,
                        const size_t *shape) {
    return add_array(a, name, WEFT_ARG_I32_ARRAY, data, ndim, shape);
}
int weft_args_i64_array(weft_args *a, const char *name, const int64_t *data, int ndim,
                        const size_t *shape) {
    return add_array(a, name, WEFT_ARG_I64_ARRAY, data, ndim, shape);
}
int weft_args_f32_array(weft_args *a, const char *name, const float *data, int ndim,
                        const size_t *shape) {
    return add_array(a, name, WEFT_ARG_F32_ARRAY, data, ndim, shape);
}
int weft_args_f64_array(weft_args *a, const char *name, const double *data, int ndim,
                        const size_t *shape) {
    return add_array(a, name, WEFT_ARG_F64_ARRAY, data, ndim, shape);
}

int weft_args_tolerance(weft_args *a, const char *name, double abs_tol, double rel_tol) {
    if (!a) return weft__set_error(WEFT_EINVAL, "weft_args_tolerance: args is NULL");
    if (a->error) return weft__set_error(a->error, "%s", a->message);
    if (!name) return fail(a, name, "the name is NULL");
    if (!(abs_tol >= 0) || !(rel_tol >= 0) || rel_tol >= 1 || isinf(abs_tol))
        return fail(a, name, "tolerances must be finite, >= 0 (and rel_tol < 1)");
    for (size_t i = 0; i < a->n; i++) {
        weft__arg *x = &a->v[i];
        if (strcmp(x->name, name) != 0) continue;
        if (x->type != WEFT_ARG_F64 && x->type != WEFT_ARG_F32_ARRAY && x->type != WEFT_ARG_F64_ARRAY)
            return fail(a, name, "a tolerance needs an f64 or f32/f64 array argument");
        x->abs_tol = abs_tol;
        x->rel_tol = rel_tol;
        return 0;
    }
    return fail(a, name, "no argument of that name (add it before its tolerance)");
}

int weft__args_check(const char *call, const weft_args *a) {
    if (!a)
        return weft__set_error(WEFT_EINVAL, "%s: args is NULL (use weft_args_new(), also for a call without arguments)", call);
    if (a->error) return weft__set_error(a->error, "%s: %s", call, a->message);
    return 0;
}

/* ---- the encoding: "WFA1", u32 count, then per argument (8-byte aligned)
 *   u16 name_len, u8 type, u8 ndim, u32 0 | u64 payload size | u64 shape[ndim]
 *   | name, NUL, zero pad to 8 | payload (strings: + NUL), zero pad to 8 */

static size_t payload_span(const weft__arg *x) {
    return pad8(x->size + (x->type == WEFT_ARG_STRING));
}

size_t weft__args_encoded_size(const weft_args *a) {
    size_t n = 8;
    for (size_t i = 0; i < a->n; i++) {
        const weft__arg *x = &a->v[i];
        n += 16 + 8 * (size_t)x->ndim + pad8(x->name_len + 1) + payload_span(x);
    }
    return n;
}

void weft__args_encode_into(const weft_args *a, unsigned char *buf) {
    unsigned char *p = buf;
    memcpy(p, ENC_MAGIC, 4);
    weft__put32(p + 4, (uint32_t)a->n);
    p += 8;
    for (size_t i = 0; i < a->n; i++) {
        const weft__arg *x = &a->v[i];
        weft__put16(p, (uint16_t)x->name_len);
        p[2] = (unsigned char)x->type;
        p[3] = (unsigned char)x->ndim;
        weft__put32(p + 4, 0);
        weft__put64(p + 8, x->size);
        p += 16;
        for (int d = 0; d < x->ndim; d++, p += 8) weft__put64(p, x->shape[d]);
        size_t nspan = pad8(x->name_len + 1);
        memset(p, 0, nspan);
        memcpy(p, x->name, x->name_len);
        p += nspan;
        size_t span = payload_span(x);
        if (x->size) memcpy(p, weft__arg_data(x), x->size);
        memset(p + x->size, 0, span - x->size);
        p += span;
    }
}

int weft_args_encode(const weft_args *a, weft_bytes *out) {
    if (!out) return weft__set_error(WEFT_EINVAL, "weft_args_encode: out is NULL");
    out->data = NULL;
    out->size = 0;
    int rc = weft__args_check("weft_args_encode", a);
    if (rc) return rc;
    size_t n = weft__args_encoded_size(a);
    out->data = malloc(n);
    if (!out->data) return weft__set_error(WEFT_ENOMEM, "weft_args_encode: out of memory (%zu bytes)", n);
    weft__args_encode_into(a, out->data);
    out->size = n;
    return 0;
}

/* Walk an encoding: each call fills *x with the next argument; 1 when one was read, 0 at
 * the end, -1 when the bytes are malformed. */
typedef struct reader {
    const unsigned char *p, *end;
    uint32_t left;
} reader;

static int reader_start(reader *r, const void *in, size_t size) {
    if (!in || size < 8) return -1;
    if (memcmp(in, ENC_MAGIC, 4) != 0) return -1;
    r->p = (const unsigned char *)in + 8;
    r->end = (const unsigned char *)in + size;
    r->left = weft__get32((const unsigned char *)in + 4);
    return 0;
}

static int reader_next(reader *r, weft__arg *x) {
    if (r->left == 0) return r->p == r->end ? 0 : -1;
    if ((size_t)(r->end - r->p) < 16) return -1;
    const unsigned char *p = r->p;
    memset(x, 0, sizeof *x);
    x->name_len = weft__get16(p);
    x->type = (weft_arg_type)p[2];
    x->ndim = p[3];
    uint64_t size = weft__get64(p + 8);
    if (x->type < WEFT_ARG_I64 || x->type > WEFT_ARG_F64_ARRAY || x->name_len == 0) return -1;
    if (weft__get32(p + 4) != 0) return -1; /* reserved: one encoding per value (a key is its hash) */
    if (weft__arg_is_array(x->type) ? x->ndim < 1 || x->ndim > WEFT_ARGS_MAX_NDIM : x->ndim != 0) return -1;
    p += 16;
    size_t left = (size_t)(r->end - p);
    if (left < 8 * (size_t)x->ndim) return -1;
    uint64_t count = 1;
    for (int d = 0; d < x->ndim; d++, p += 8) {
        x->shape[d] = weft__get64(p);
        if (x->shape[d] && count > UINT64_MAX / x->shape[d]) return -1;
        count *= x->shape[d];
    }
    left = (size_t)(r->end - p);
    size_t nspan = pad8(x->name_len + 1);
    if (left < nspan || p[x->name_len] != '\0' || memchr(p, '\0', x->name_len)) return -1;
    for (size_t k = x->name_len; k < nspan; k++)
        if (p[k]) return -1;
    x->name = (const char *)p;
    p += nspan;
    left -= nspan;
    if (size > left) return -1;
    x->size = (size_t)size;
    size_t span = payload_span(x);
    if (span > left) return -1;
    for (size_t k = x->size; k < span; k++)
        if (p[k]) return -1;
    switch (x->type) {
    case WEFT_ARG_I64:
        if (size != 8) return -1;
        memcpy(&x->scalar.i, p, 8);
        break;
    case WEFT_ARG_F64:
        if (size != 8) return -1;
        memcpy(&x->scalar.f, p, 8);
        break;
    case WEFT_ARG_BOOL:
        if (size != 1) return -1;
        x->scalar.b = p[0];
        break;
    case WEFT_ARG_STRING:
        if (p[size] != '\0') return -1;
        break;
    case WEFT_ARG_BYTES: break;
    default:
        if (count > UINT64_MAX / weft__arg_elem_size(x->type) || count * weft__arg_elem_size(x->type) != size) return -1;
    }
    x->data = p;
    r->p = p + span;
    r->left--;
    return 1;
}

int weft__args_view(const void *in, size_t size, weft_args *view) {
    memset(view, 0, sizeof *view);
    view->view = 1;
    reader r;
    if (reader_start(&r, in, size)) return WEFT_EINVAL;
    if (r.left > size / 16) return WEFT_EINVAL;
    view->v = r.left ? malloc(r.left * sizeof *view->v) : NULL;
    if (r.left && !view->v) return WEFT_ENOMEM;
    view->cap = r.left;
    weft__arg x;
    int got;
    while ((got = reader_next(&r, &x)) == 1) {
        /* canonical: strictly increasing names */
        if (view->n && strcmp(view->v[view->n - 1].name, x.name) >= 0) break;
        view->v[view->n++] = x;
    }
    if (got != 0) {
        weft__args_view_free(view);
        return WEFT_EINVAL;
    }
    return 0;
}

/* One more argument of an encoding being decoded: could weft_args_* have added it next? */
static int decodable(const weft_args *a, const weft__arg *x) {
    if (x->name_len > WEFT_ARGS_MAX_NAME) return 0;
    if (a->n && strcmp(a->v[a->n - 1].name, x->name) >= 0) return 0; /* sorted, unique */
    if (x->type == WEFT_ARG_BOOL) return x->scalar.b <= 1;
    if (x->type == WEFT_ARG_STRING) return !memchr(x->data, '\0', x->size);
    return 1;
}

static int not_an_encoding(weft_args *a) {
    weft_args_reset(a);
    a->error = WEFT_EINVAL;
    snprintf(a->message, sizeof a->message,
             "weft_args_decode: the bytes are not an args encoding (weft_args_encode)");
    return weft__set_error(WEFT_EINVAL, "%s", a->message);
}

int weft_args_decode(weft_args *a, const void *in, size_t size) {
    if (!a) return weft__set_error(WEFT_EINVAL, "weft_args_decode: args is NULL (create them with weft_args_new)");
    weft_args_reset(a);
    reader r;
    if (reader_start(&r, in, size)) return not_an_encoding(a);
    weft__arg x;
    int got;
    while ((got = reader_next(&r, &x)) == 1) {
        if (!decodable(a, &x)) return not_an_encoding(a);
        weft__arg *y = insert(a, a->n, x.name, x.name_len, x.type);
        if (!y) return weft_last_error()->code;
        const char *copy = y->name;
        *y = x; /* strings, bytes and arrays keep pointing into `in`: borrowed */
        y->name = copy;
    }
    return got == 0 ? 0 : not_an_encoding(a);
}

void weft__args_view_free(weft_args *view) {
    free(view->v);
    view->v = NULL;
    view->n = view->cap = 0;
}

/* ---- readers for tasks */

static int find(const void *in, size_t size, const char *name, weft__arg *x) {
    if (!name) return weft__set_error(WEFT_EINVAL, "weft_args_get_*: name is NULL");
    reader r;
    if (reader_start(&r, in, size))
        return weft__set_error(WEFT_EINVAL, "weft_args_get_*('%s'): the input is not an args encoding (weft_args_encode)", name);
    /* the whole encoding is walked (headers only), so a truncated one is refused */
    int got, found = 0;
    weft__arg y;
    while ((got = reader_next(&r, found ? &y : x)) == 1)
        if (!found && strcmp(x->name, name) == 0) found = 1;
    if (got < 0) return weft__set_error(WEFT_EINVAL, "weft_args_get_*('%s'): the encoding is malformed", name);
    if (found) return 0;
    return weft__set_error(WEFT_ENOTFOUND, "weft_args_get_*: no argument named '%s'", name);
}

static int wrong_type(const weft__arg *x, const char *want) {
    return weft__set_error(WEFT_EINVAL, "argument '%s' is %s, not %s", x->name,
                           weft__arg_type_name(x->type), want);
}

int weft_args_get_i64(const void *in, size_t size, const char *name, int64_t *out) {
    weft__arg x;
    int rc = find(in, size, name, &x);
    if (rc) return rc;
    if (x.type != WEFT_ARG_I64) return wrong_type(&x, "i64");
    *out = x.scalar.i;
    return 0;
}

int weft_args_get_f64(const void *in, size_t size, const char *name, double *out) {
    weft__arg x;
    int rc = find(in, size, name, &x);
    if (rc) return rc;
    if (x.type != WEFT_ARG_F64) return wrong_type(&x, "f64");
    *out = x.scalar.f;
    return 0;
}

int weft_args_get_bool(const void *in, size_t size, const char *name, int *out) {
    weft__arg x;
    int rc = find(in, size, name, &x);
    if (rc) return rc;
    if (x.type != WEFT_ARG_BOOL) return wrong_type(&x, "bool");
    *out = x.scalar.b != 0;
    return 0;
}

int weft_args_get_string(const void *in, size_t size, const char *name, const char **s,
                         size_t *len) {
    weft__arg x;
    int rc = find(in, size, name, &x);
    if (rc) return rc;
    if (x.type != WEFT_ARG_STRING) return wrong_type(&x, "string");
    *s = x.data;
    if (len) *len = x.size;
    return 0;
}

int weft_args_get_bytes(const void *in, size_t size, const char *name, const void **data,
                        size_t *n) {
    weft__arg x;
    int rc = find(in, size, name, &x);
    if (rc) return rc;
    if (x.type != WEFT_ARG_BYTES) return wrong_type(&x, "bytes");
    *data = x.data;
    *n = x.size;
    return 0;
}

int weft_args_get_array(const void *in, size_t size, const char *name, weft_arg_type *type,
                        const void **data, int *ndim, size_t *shape, size_t *count) {
    weft__arg x;
    int rc = find(in, size, name, &x);
    if (rc) return rc;
    if (!weft__arg_is_array(x.type)) return wrong_type(&x, "an array");
    for (int d = 0; d < x.ndim; d++)
        if (x.shape[d] > SIZE_MAX) return weft__set_error(WEFT_EINVAL, "argument '%s' is too large for this platform", name);
    if (type) *type = x.type;
    if (data) *data = x.data;
    if (ndim) *ndim = x.ndim;
    if (shape)
        for (int d = 0; d < x.ndim; d++) shape[d] = (size_t)x.shape[d];
    if (count) *count = x.size / weft__arg_elem_size(x.type);
    return 0;
}

static int typed(const void *in, size_t size, const char *name, weft_arg_type want,
                 const void **data, size_t *count) {
    weft__arg x;
    int rc = find(in, size, name, &x);
    if (rc) return rc;
    if (x.type != want) return wrong_type(&x, weft__arg_type_name(want));
    *data = x.data;
    *count = x.size / weft__arg_elem_size(x.type);
    return 0;
}

int weft_args_get_f64_array(const void *in, size_t size, const char *name,
                            const double **data, size_t *count) {
    return typed(in, size, name, WEFT_ARG_F64_ARRAY, (const void **)data, count);
}
int weft_args_get_f32_array(const void *in, size_t size, const char *name, const float **data,
                            size_t *count) {
    return typed(in, size, name, WEFT_ARG_F32_ARRAY, (const void **)data, count);
}
int weft_args_get_i64_array(const void *in, size_t size, const char *name,
                            const int64_t **data, size_t *count) {
    return typed(in, size, name, WEFT_ARG_I64_ARRAY, (const void **)data, count);
}
int weft_args_get_i32_array(const void *in, size_t size, const char *name,
                            const int32_t **data, size_t *count) {
    return typed(in, size, name, WEFT_ARG_I32_ARRAY, (const void **)data, count);
}

/* ---- fingerprints and keys */

/* Snap a value to the tolerance grid: the result is what gets hashed. */
static double snap(double v, double abs_tol, int rel_bits) {
    if (!isfinite(v)) return v;
    if (rel_bits > 0 && v != 0) {
        int e;
        double m = frexp(v, &e); /* v = m * 2^e, 0.5 <= |m| < 1 */
        m = nearbyint(ldexp(m, rel_bits));
        v = ldexp(m, e - rel_bits);
    }
    if (abs_tol > 0) v = nearbyint(v / abs_tol) * abs_tol;
    return v == 0 ? 0.0 : v; /* -0 and +0 agree */
}

int weft__arg_fingerprint(const weft__arg *a, uint8_t fp[16]) {
    const void *data = weft__arg_data(a);
    if (a->abs_tol <= 0 && a->rel_tol <= 0) {
        weft__fingerprint(data, a->size, fp);
        return 0;
    }
    int rel_bits = 0;
    if (a->rel_tol > 0) rel_bits = (int)ceil(-log2(a->rel_tol));
    if (rel_bits > 52) rel_bits = 0;
    size_t n = a->type == WEFT_ARG_F32_ARRAY ? a->size / 4 : a->size / 8;
    double *q = malloc(n ? n * sizeof *q : 1);
    if (!q) return weft__set_error(WEFT_ENOMEM, "out of memory fingerprinting argument '%s'", a->name);
    for (size_t i = 0; i < n; i++) {
        double v;
        if (a->type == WEFT_ARG_F32_ARRAY) {
            float f;
            memcpy(&f, (const char *)data + 4 * i, 4);
            v = f;
        } else
            memcpy(&v, (const char *)data + 8 * i, 8);
        q[i] = snap(v, a->abs_tol, rel_bits);
    }
    weft__fingerprint(q, n * sizeof *q, fp);
    free(q);
    return 0;
}

/* The key block: "WEFTKEY1" | u32 len, task | u32 len, version | u32 keyed count | per
 * keyed argument: u16 len, name | u8 type | u8 ndim | u64 shape[ndim] | u8 tolerance
 * flag [| f64 abs_tol | f64 rel_tol] | fingerprint[16]. Hashed with XXH3-128. */
typedef struct block {
    unsigned char *p;
    size_t n, cap;
    unsigned char stack[1024];
} block;

static int grow(block *b, size_t more) {
    if (b->n + more <= b->cap) return 0;
    size_t cap = 2 * (b->n + more);
    unsigned char *p = malloc(cap);
    if (!p) return -1;
    memcpy(p, b->p, b->n);
    if (b->p != b->stack) free(b->p);
    b->p = p;
    b->cap = cap;
    return 0;
}

static void put(block *b, const void *data, size_t n) {
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_str32(block *b, const char *s) {
    uint32_t len = (uint32_t)strlen(s);
    put(b, &len, 4);
    put(b, s, len);
}

static void block_start(block *b, const char *task, const char *version, size_t more) {
    b->p = b->stack;
    b->n = 0;
    b->cap = sizeof b->stack;
    if (grow(b, 16 + strlen(task) + strlen(version) + more)) {
        b->p = NULL;
        return;
    }
    put(b, "WEFTKEY1", 8);
    put_str32(b, task);
    put_str32(b, version);
}

int weft__args_key(const char *task, const char *version, const weft_args *a,
                   const uint8_t (*fps)[16], const unsigned char *ignored, uint8_t key[16]) {
    size_t more = 4;
    for (size_t i = 0; i < a->n; i++) more += 2 + a->v[i].name_len + 2 + 8 * (size_t)a->v[i].ndim + 1 + 16 + 16;
    block b;
    block_start(&b, task, version ? version : "", more);
    if (!b.p) return weft__set_error(WEFT_ENOMEM, "out of memory computing a cache key");
    uint32_t keyed = 0;
    for (size_t i = 0; i < a->n; i++) keyed += !(ignored && ignored[i]);
    put(&b, &keyed, 4);
    for (size_t i = 0; i < a->n; i++) {
        if (ignored && ignored[i]) continue;
        const weft__arg *x = &a->v[i];
        uint16_t len = (uint16_t)x->name_len;
        put(&b, &len, 2);
        put(&b, x->name, len);
        unsigned char tn[2] = {(unsigned char)x->type, (unsigned char)x->ndim};
        put(&b, tn, 2);
        put(&b, x->shape, 8 * (size_t)x->ndim);
        unsigned char tol = x->abs_tol > 0 || x->rel_tol > 0;
        put(&b, &tol, 1);
        if (tol) {
            put(&b, &x->abs_tol, 8);
            put(&b, &x->rel_tol, 8);
        }
        put(&b, fps[i], 16);
    }
    weft__hash128(b.p, b.n, key);
    if (b.p != b.stack) free(b.p);
    return 0;
}

void weft__raw_key(const char *task, const char *version, const void *in, size_t size,
                   uint8_t key[16]) {
    block b;
    block_start(&b, task, version ? version : "", 4 + 16);
    uint8_t fp[16];
    weft__fingerprint(in, size, fp);
    if (!b.p) { /* a task name too long for memory: key on the fingerprint alone */
        memcpy(key, fp, 16);
        return;
    }
    uint32_t raw = UINT32_MAX;
    put(&b, &raw, 4);
    put(&b, fp, 16);
    weft__hash128(b.p, b.n, key);
    if (b.p != b.stack) free(b.p);
}
