/* Options: explicit fields win, then the innermost scope, then the environment
 * (WEFT_BACKEND, WEFT_N_JOBS, WEFT_VERBOSE), then the defaults. */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SCOPES 32

/* Each scope holds its options already merged with the scopes outside it. */
static _Thread_local weft_options scopes[MAX_SCOPES];
static _Thread_local int n_scopes;

void weft_options_init(weft_options *o) { memset(o, 0, sizeof *o); }

/* Fields left 0 take the outer options' value. */
static void inherit(weft_options *o, const weft_options *outer) {
    if (!o->backend) o->backend = outer->backend;
    if (!o->n_jobs) o->n_jobs = outer->n_jobs;
    if (!o->batch_size) o->batch_size = outer->batch_size;
    if (!o->verbose) o->verbose = outer->verbose;
    if (!o->progress) {
        o->progress = outer->progress;
        o->progress_user = outer->progress_user;
    }
    if (!o->retries) o->retries = outer->retries;
    if (o->retry_backoff_s == 0) o->retry_backoff_s = outer->retry_backoff_s;
    if (o->task_timeout_s == 0) o->task_timeout_s = outer->task_timeout_s;
    if (o->timeout_s == 0) o->timeout_s = outer->timeout_s;
    if (!o->memory) o->memory = outer->memory;
    if (!o->shared_threshold) o->shared_threshold = outer->shared_threshold;
}

/* A field still 0 after every scope and the environment takes its default; WEFT_NONE
 * becomes the value it names. Resolved options hold values: 0 is automatic or none. */
static void settle_int(int *v, int fallback) {
    if (*v == 0) *v = fallback;
    if (*v == WEFT_NONE) *v = 0;
}
static void settle_double(double *v, double fallback) {
    if (*v == 0) *v = fallback;
    if (*v == WEFT_NONE) *v = 0;
}

int weft_config_push(const weft_options *o) {
    if (!o) return weft__set_error(WEFT_EINVAL, "weft_config_push: options are NULL");
    if (n_scopes == MAX_SCOPES)
        return weft__set_error(WEFT_ECONFIG, "weft_config_push: more than %d nested scopes (missing pops?)", MAX_SCOPES);
    weft_options merged = *o;
    if (n_scopes > 0) inherit(&merged, &scopes[n_scopes - 1]);
    scopes[n_scopes++] = merged;
    weft__clear_error();
    return 0;
}

int weft_config_pop(void) {
    if (n_scopes == 0) return weft__set_error(WEFT_ECONFIG, "weft_config_pop without a matching push");
    n_scopes--;
    weft__clear_error();
    return 0;
}

int weft__scope_depth(void) { return n_scopes; }

int weft_config_current(weft_options *out) {
    if (!out) return weft__set_error(WEFT_EINVAL, "weft_config_current: out is NULL");
    weft_options_init(out);
    int rc = weft__resolve_options(out);
    if (rc == 0) weft__clear_error();
    return rc;
}

int weft_resolve_n_jobs(int n_jobs) {
    if (n_jobs > 0) return weft__clear_error(), n_jobs;
    int cpus = weft_cpu_count();
    /* joblib's rule: -1 is every CPU, -2 all but one, and never fewer than one */
    if (n_jobs < 0)
        return weft__clear_error(), cpus + 1 + n_jobs >= 1 ? cpus + 1 + n_jobs : 1;
    return weft__set_error(WEFT_EINVAL,
                           "n_jobs = 0 is not valid: use -1 for all %d CPUs, -2 for all but one, "
                           "or a positive count (in options, 0 inherits)",
                           cpus);
}

/* "a, b, c": the names a user may put in WEFT_BACKEND. */
static void backend_names(char *buf, size_t size) {
    buf[0] = '\0';
    for (size_t i = 0; weft_backend_name(i); i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", i ? ", " : "", weft_backend_name(i));
    }
}

int weft__parse_i64(const char *s, int64_t min, int64_t max, int64_t *out) {
    if (!s) return -1;
    const char *p = s + (*s == '-');
    if (*p < '0' || *p > '9') return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

/* An environment variable's integer: blanks around it are fine, blanks alone are not. */
static int parse_int(const char *s, long *out) {
    char buf[64];
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    int64_t v;
    if (weft__parse_i64(buf, LONG_MIN, LONG_MAX, &v)) return -1;
    *out = (long)v;
    return 0;
}

static int env_options(weft_options *o) {
    const char *s = weft_plat_getenv("WEFT_BACKEND");
    if (s && *s) {
        if (!weft_backend_find(s)) {
            char names[256];
            backend_names(names, sizeof names);
            return weft__set_error(WEFT_ENV, "WEFT_BACKEND='%s' is not a backend; accepted values: %s", s, names);
        }
        o->backend = s;
    }
    s = weft_plat_getenv("WEFT_N_JOBS");
    if (s && *s) {
        long v;
        if (parse_int(s, &v) || v == 0 || v < -4096 || v > 1 << 20)
            return weft__set_error(WEFT_ENV,
                                   "WEFT_N_JOBS='%s' is not accepted: use a non-zero integer "
                                   "(-1 all CPUs, -2 all but one, N > 0 workers)",
                                   s);
        o->n_jobs = (int)v;
    }
    s = weft_plat_getenv("WEFT_VERBOSE");
    if (s && *s) {
        long v;
        if (parse_int(s, &v) || v < 0 || v > 100)
            return weft__set_error(WEFT_ENV, "WEFT_VERBOSE='%s' is not accepted: use 0 (silent) or a level 1..100", s);
        o->verbose = (int)v;
    }
    return 0;
}

static const char *default_backend(void) {
    return weft_plat_has_threads() ? "threads" : "sequential";
}

int weft__resolve_options(weft_options *o) {
    if (n_scopes > 0) inherit(o, &scopes[n_scopes - 1]);
    weft_options env;
    weft_options_init(&env);
    if (!o->backend || !o->n_jobs || !o->verbose) {
        int rc = env_options(&env);
        if (rc) return rc;
    }
    inherit(o, &env);
    /* out-of-range values are refused below, before WEFT_NONE could hide them */
    if (o->batch_size < WEFT_NONE)
        return weft__set_error(WEFT_EINVAL, "batch_size = %d is not valid: use a positive size, or 0 / WEFT_NONE for automatic", o->batch_size);
    if (o->verbose < WEFT_NONE)
        return weft__set_error(WEFT_EINVAL, "verbose = %d is not valid: use a level 1..100, or WEFT_NONE for silence", o->verbose);
    if (o->retries < WEFT_NONE || o->retries > 1000)
        return weft__set_error(WEFT_EINVAL, "retries = %d is not valid: use 1..1000, or WEFT_NONE for none", o->retries);
    if (o->shared_threshold < WEFT_NONE)
        return weft__set_error(WEFT_EINVAL, "shared_threshold = %d is not valid: use a size in bytes, or WEFT_NONE", o->shared_threshold);
    /* NaN fails every comparison, so test for the valid range */
    double times[] = {o->retry_backoff_s, o->task_timeout_s, o->timeout_s};
    for (int i = 0; i < 3; i++)
        if (!(times[i] >= 0 || times[i] == WEFT_NONE) || !(times[i] <= 1e9))
            return weft__set_error(WEFT_EINVAL, "retry_backoff_s, task_timeout_s and timeout_s must be finite seconds >= 0 (or WEFT_NONE)");
    if (!(o->retry_backoff_s <= 3600))
        return weft__set_error(WEFT_EINVAL, "retry_backoff_s = %g is not valid: at most 3600 s", o->retry_backoff_s);
    if (!o->backend) o->backend = default_backend();
    if (!o->n_jobs) o->n_jobs = -1;
    settle_int(&o->batch_size, 0);
    settle_int(&o->verbose, 0);
    settle_int(&o->retries, 0);
    settle_int(&o->shared_threshold, 1 << 20);
    settle_double(&o->retry_backoff_s, 0.01);
    settle_double(&o->task_timeout_s, 0);
    settle_double(&o->timeout_s, 0);

    if (!weft_backend_find(o->backend)) {
        char names[256];
        backend_names(names, sizeof names);
        return weft__set_error(WEFT_ENOBACKEND, "no backend named '%s'; available: %s", o->backend, names);
    }
    int workers = weft_resolve_n_jobs(o->n_jobs);
    return workers < 0 ? workers : 0;
}
