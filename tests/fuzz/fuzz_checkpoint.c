/* Checkpoint files (memory/checkpoint.c): the bytes of DIR/NAME/step-N.wck. Oracle: a
 * checkpoint that loads is the file's value, whole, under its own step. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char dir[512], path[1024];
    snprintf(dir, sizeof dir, "%s/ckpt", fuzz_scratch());
    weft_checkpoint *c;
    FUZZ_CHECK(weft_checkpoint_open(&c, dir, "fuzz", 2, 0) == 0);
    snprintf(path, sizeof path, "%s/fuzz/step-%020d.wck", dir, 7);
    unsigned char *copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data, size);
    /* half the time with the right key and checksums, so the parser is reached */
    if (size && (data[size - 1] & 1)) {
        uint8_t key[16];
        int64_t step = 7;
        weft__raw_key("checkpoint:fuzz", "", &step, sizeof step, key);
        fuzz_reseal_entry(copy, size, key);
    }
    fuzz_write(path, copy, size);
    int64_t step = -1;
    weft_bytes out = {0};
    int skipped = 0;
    if (weft_checkpoint_load(c, &step, &out, &skipped) == 0) {
        FUZZ_CHECK(step == 7);
        size_t hs = weft__entry_header_size(copy, size);
        FUZZ_CHECK(hs && hs + out.size == size && memcmp(copy + hs, out.data, out.size) == 0);
        weft_bytes_free(&out, 1);
    } else
        FUZZ_CHECK(skipped == 1);
    remove(path);
    free(copy);
    weft_checkpoint_close(c);
    return 0;
}
