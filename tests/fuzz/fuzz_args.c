/* Typed argument decoding (memory/args.c): the bytes a map item or a task receives.
 * Oracles: an accepted encoding is canonical (a view re-encodes to exactly its bytes, so
 * one value has one key), every weft_args_get_* agrees with the view, and what
 * weft_args_decode accepts re-encodes to its bytes. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    weft_args view;
    int rc = weft__args_view(data, size, &view);
    int64_t i;
    weft_args_get_i64(data, size, "n", &i); /* the readers a task calls, on any bytes */
    /* weft_args_decode accepts only canonical encodings, and gives back their bytes */
    weft_args *decoded = weft_args_new();
    FUZZ_CHECK(decoded != NULL);
    if (weft_args_decode(decoded, data, size) == 0) {
        weft_bytes enc;
        FUZZ_CHECK(rc == 0);
        FUZZ_CHECK(weft_args_encode(decoded, &enc) == 0);
        FUZZ_CHECK(enc.size == size && memcmp(enc.data, data, size) == 0);
        weft_bytes_free(&enc, 1);
    }
    weft_args_free(decoded);
    if (rc != 0) return 0;
    FUZZ_CHECK(weft__args_encoded_size(&view) == size);
    unsigned char *again = malloc(size);
    FUZZ_CHECK(again != NULL);
    weft__args_encode_into(&view, again);
    FUZZ_CHECK(memcmp(again, data, size) == 0);
    free(again);
    for (size_t k = 0; k < view.n; k++) {
        const weft__arg *x = &view.v[k];
        double f;
        int b;
        const char *s;
        size_t len;
        const void *p;
        switch (x->type) {
        case WEFT_ARG_I64: FUZZ_CHECK(weft_args_get_i64(data, size, x->name, &i) == 0 && i == x->scalar.i); break;
        case WEFT_ARG_F64: FUZZ_CHECK(weft_args_get_f64(data, size, x->name, &f) == 0); break;
        case WEFT_ARG_BOOL: FUZZ_CHECK(weft_args_get_bool(data, size, x->name, &b) == 0); break;
        case WEFT_ARG_STRING:
            FUZZ_CHECK(weft_args_get_string(data, size, x->name, &s, &len) == 0 && len == x->size);
            break;
        case WEFT_ARG_BYTES: FUZZ_CHECK(weft_args_get_bytes(data, size, x->name, &p, &len) == 0 && len == x->size); break;
        default: break;
        }
        uint8_t fp[16];
        FUZZ_CHECK(weft__arg_fingerprint(x, fp) == 0);
    }
    weft__args_view_free(&view);
    return 0;
}
