/* Numbers and names from the environment (core/config.c): WEFT_BACKEND, WEFT_N_JOBS and
 * WEFT_VERBOSE from the input (split at NUL bytes), and weft__parse_i64 itself. Oracle:
 * a value is accepted exactly when it is a plain decimal integer in range (blanks
 * around it allowed in the environment), and then it is the number written. */
#include "fuzz.h"

#include <errno.h>

/* The reference: optional '-', digits, nothing else; 1 and the value when so. */
static int plain_integer(const char *s, long long *v) {
    const char *p = s + (*s == '-');
    if (!*p) return 0;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') return 0;
    errno = 0;
    *v = strtoll(s, NULL, 10);
    return errno == 0;
}

static void trim(const char *s, char *out, size_t size) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strnlen(s, size - 1);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    memcpy(out, s, n);
    out[n] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 200) return 0;
    char buf[256] = {0}, *part[3] = {buf, NULL, NULL};
    memcpy(buf, data, size);
    for (int k = 1; k < 3; k++) part[k] = part[k - 1] + strlen(part[k - 1]) + (part[k - 1] < buf + size);
    for (int k = 0; k < 3; k++)
        if (part[k] > buf + size) part[k] = buf + size;

    long long want;
    int64_t got;
    int ok = weft__parse_i64(part[0], INT64_MIN, INT64_MAX, &got) == 0;
    FUZZ_CHECK(ok == plain_integer(part[0], &want));
    if (ok) FUZZ_CHECK(got == want);

    setenv("WEFT_BACKEND", part[0], 1);
    setenv("WEFT_N_JOBS", part[1], 1);
    setenv("WEFT_VERBOSE", part[2], 1);
    weft_options o;
    int rc = weft_config_current(&o);
    if (rc == 0) {
        char t[256];
        trim(part[1], t, sizeof t);
        if (part[1][0]) FUZZ_CHECK(plain_integer(t, &want) && want == o.n_jobs && want != 0);
        trim(part[2], t, sizeof t);
        if (part[2][0]) FUZZ_CHECK(plain_integer(t, &want) && want == o.verbose);
        if (part[0][0]) FUZZ_CHECK(strcmp(o.backend, part[0]) == 0);
    } else
        FUZZ_CHECK(rc == WEFT_ENV);
    unsetenv("WEFT_BACKEND");
    unsetenv("WEFT_N_JOBS");
    unsetenv("WEFT_VERBOSE");
    return 0;
}
