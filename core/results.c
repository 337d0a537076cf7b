/* Results a call hands over: variable-size outputs and collected statuses, freed by the
 * caller (and by the core on a failed call). */
#include "internal.h"

#include <stdlib.h>

void weft_bytes_free(weft_bytes *b, size_t n) {
    if (!b) return;
    for (size_t i = 0; i < n; i++) {
        free(b[i].data);
        b[i].data = NULL;
        b[i].size = 0;
    }
}

void weft_status_free(weft_status *s, size_t n) {
    if (!s) return;
    for (size_t i = 0; i < n; i++) {
        free(s[i].message);
        s[i].message = NULL;
    }
}
