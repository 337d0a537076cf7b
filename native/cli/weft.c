/* weft: the command-line tool.
 *
 *   weft info                               CPUs, quota, backends, stores, hashing
 *   weft cache ls     DIR [TASK]            tasks (or one task's entries)
 *   weft cache show   DIR TASK KEY-PREFIX   one entry's header and arguments
 *   weft cache stats  DIR                   totals per task
 *   weft cache diff   DIR TASK              explain the latest miss (WEFT_DEBUG journal)
 *   weft cache verify DIR [--fix]           check every checksum (--fix removes bad ones);
 *                                           exit 1 on a corrupt or unreadable entry, or a
 *                                           link/FIFO where an entry belongs (left alone)
 *   weft cache prune  DIR [--max-bytes N[k|M|G]] [--max-items N] [--max-age N[s|m|h|d]]
 *   weft cache clear  DIR [TASK]
 *   weft cache export DIR FILE [TASK]       the cache (or one task) in one archive file
 *   weft cache import DIR FILE              an archive's entries into DIR (made if missing)
 */
#define _POSIX_C_SOURCE 200809L
#include "store.h"
#include "store_packed.h"

#ifdef WEFT_CLI_MPI
#include "weft_mpi.h"
#endif

#include <errno.h>
#include "trace_summary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *usage =
    "usage: weft info\n"
    "       weft --help | --version\n"
    "       weft cache ls     DIR [TASK]\n"
    "       weft cache show   DIR TASK KEY-PREFIX\n"
    "       weft cache stats  DIR\n"
    "       weft cache diff   DIR TASK\n"
    "       weft cache verify DIR [--fix]\n"
    "       weft cache prune  DIR [--max-bytes N[k|M|G]] [--max-items N] [--max-age N[s|m|h|d]]\n"
    "       weft cache clear  DIR [TASK]\n"
    "       weft cache export DIR FILE [TASK]\n"
    "       weft cache import DIR FILE\n"
    "       weft cache migrate DIR   (a cache of another store into the one new folders get)\n"
    "       weft trace summary TRACE.json   (busy workers, critical path, longest tasks)\n";

static int die(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "weft: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    return 2;
}

static void human_bytes(double b, char *out, size_t size) {
    const char *units[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (b >= 1000 && u < 4) b /= 1000, u++;
    snprintf(out, size, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

static void human_secs(double s, char *out, size_t size) {
    if (s < 1e-3)
        snprintf(out, size, "%.0f us", s * 1e6);
    else if (s < 1)
        snprintf(out, size, "%.1f ms", s * 1e3);
    else if (s < 120)
        snprintf(out, size, "%.1f s", s);
    else if (s < 7200)
        snprintf(out, size, "%.0f min", s / 60);
    else if (s < 172800)
        snprintf(out, size, "%.1f h", s / 3600);
    else
        snprintf(out, size, "%.1f d", s / 86400);
}

/* ---- opening a cache folder, with clear refusals */

static int open_cache(const char *dir, weft_memory **m) {
    struct stat st;
    if (stat(dir, &st) != 0)
        return die("'%s': %s (no cache there)", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return die("'%s' is not a folder%s", dir, "");
    if (!weft__disk_is_cache(dir))
        return die("'%s' is not a weft cache (it has no %s written by weft); refusing to touch it", dir,
                   WEFT__DISK_MARKER);
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.quiet = 1;
    o.debug = WEFT_NONE;
    if (weft_memory_open(m, dir, &o) != 0) return die("%s%s", weft_last_error()->message, "");
    return 0;
}

/* For an import: a missing or empty folder becomes a cache; a foreign one is refused. */
static int open_or_make_cache(const char *dir, weft_memory **m) {
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.quiet = 1;
    o.debug = WEFT_NONE;
    if (weft_memory_open(m, dir, &o) != 0) return die("%s%s", weft_last_error()->message, "");
    return 0;
}

/* ---- listing everything once */

typedef struct item {
    char *task;
    uint8_t key[16];
    int64_t size, access_ns;
    int is_temp, not_regular;
    char *path;
} item;

typedef struct items {
    item *v;
    size_t n, cap;
} items;

static int collect(const weft__store_item *it, void *user) {
    items *l = user;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) return WEFT_ENOMEM;
    }
    item *x = &l->v[l->n++];
    x->task = strdup(it->task);
    memcpy(x->key, it->key, 16);
    x->size = it->size;
    x->access_ns = it->last_access_ns;
    x->is_temp = it->is_temp;
    x->not_regular = it->not_regular;
    x->path = it->path ? strdup(it->path) : NULL;
    return 0;
}

static int by_task(const void *a, const void *b) {
    const item *x = a, *y = b;
    int c = strcmp(x->task, y->task);
    return c ? c : (x->access_ns > y->access_ns ? -1 : x->access_ns < y->access_ns);
}

static void items_free(items *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i].task), free(l->v[i].path);
    free(l->v);
}

static int list_all(weft_memory *m, const char *task, items *l) {
    void *state;
    const weft_store *s = weft__memory_store(m, &state);
    memset(l, 0, sizeof *l);
    int rc = s->list(state, task, collect, l);
    if (rc) {
        items_free(l);
        return die("cannot list the cache (nothing done): %s%s", weft_last_error()->message, "");
    }
    if (l->n) qsort(l->v, l->n, sizeof *l->v, by_task);
    return 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- commands */

static int print_task_line(const char *task, int64_t n, int64_t bytes, int64_t compute_ns,
                           int64_t newest_ns, void *user) {
    char b[32], t[32];
    (void)compute_ns;
    human_bytes((double)bytes, b, sizeof b);
    human_secs(now_s() - newest_ns * 1e-9, t, sizeof t);
    printf("%-32s %8lld %10s %12s\n", task, (long long)n, b, strcat(t, " ago"));
    ++*(int64_t *)user;
    return 0;
}

static int cmd_ls(weft_memory *m, const char *task) {
    void *state;
    weft__store_summary_method summary = weft__store_summary_of(weft__memory_store(m, &state));
    if (!task && summary) { /* from the store's index: no entry is read */
        int64_t tasks = 0;
        printf("%-32s %8s %10s %12s\n", "task", "entries", "bytes", "last used");
        if (summary(state, print_task_line, &tasks, NULL) != 0)
            return die("cannot read the cache's index: %s%s", weft_last_error()->message, "");
        if (!tasks) printf("(empty)\n");
        return 0;
    }
    items l;
    int rc = list_all(m, task, &l);
    if (rc) return rc;
    char b[32], t[32], c[32];
    if (!task) {
        printf("%-32s %8s %10s %12s\n", "task", "entries", "bytes", "last used");
        for (size_t i = 0; i < l.n;) {
            size_t j = i;
            int64_t bytes = 0, n = 0, newest = 0;
            for (; j < l.n && strcmp(l.v[j].task, l.v[i].task) == 0; j++) {
                if (l.v[j].is_temp) continue;
                n++;
                bytes += l.v[j].size;
                if (l.v[j].access_ns > newest) newest = l.v[j].access_ns;
            }
            human_bytes((double)bytes, b, sizeof b);
            human_secs(now_s() - newest * 1e-9, t, sizeof t);
            printf("%-32s %8lld %10s %12s\n", l.v[i].task, (long long)n, b, n ? strcat(t, " ago") : "-");
            i = j;
        }
        if (l.n == 0) printf("(empty)\n");
    } else {
        printf("%-34s %10s %10s %12s\n", "key", "value", "computed", "last used");
        for (size_t i = 0; i < l.n; i++) {
            if (l.v[i].is_temp) continue;
            weft_bytes head, value;
            weft__entry e;
            char hex[33];
            weft__hex(l.v[i].key, 16, hex);
            if (l.v[i].not_regular) {
                printf("%-34s %10s\n", hex, "NOT A FILE");
                continue;
            }
            if (weft__memory_read(m, l.v[i].task, l.v[i].key, &head, &value, &e) != 0) {
                printf("%-34s %10s\n", hex, "CORRUPT");
                continue;
            }
            human_bytes((double)e.value_size, b, sizeof b);
            human_secs(e.compute_ns * 1e-9, c, sizeof c);
            human_secs(now_s() - l.v[i].access_ns * 1e-9, t, sizeof t);
            printf("%-34s %10s %10s %8s ago\n", hex, b, c, t);
            free(head.data);
            free(value.data);
        }
    }
    items_free(&l);
    return 0;
}

static void print_time(const char *label, int64_t ns) {
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    char buf[64], ago[32];
    if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(buf, sizeof buf, "(out of range: %lld ns)", (long long)ns);
    human_secs(now_s() - ns * 1e-9, ago, sizeof ago);
    printf("%-14s %s (%s ago)\n", label, buf, ago);
}

static int cmd_show(weft_memory *m, const char *task, const char *prefix) {
    items l;
    int rc = list_all(m, task, &l);
    if (rc) return rc;
    size_t match = 0, found = 0;
    for (size_t i = 0; i < l.n; i++) {
        char hex[33];
        weft__hex(l.v[i].key, 16, hex);
        if (!l.v[i].is_temp && strncmp(hex, prefix, strlen(prefix)) == 0) match = i, found++;
    }
    if (found != 1) {
        items_free(&l);
        return die(found ? "key prefix '%s' matches %s entries: give more digits" : "no entry of '%2$s' has a key starting with '%1$s'",
                   prefix, found ? "several" : task);
    }
    weft_bytes head, value;
    weft__entry e;
    char hex[33], b[32], c[32];
    weft__hex(l.v[match].key, 16, hex);
    rc = weft__memory_read(m, task, l.v[match].key, &head, &value, &e);
    if (rc) {
        printf("%s: CORRUPT (fails its checksum): `weft cache verify --fix` removes it\n", hex);
        items_free(&l);
        return 1;
    }
    printf("%-14s %s\n", "key", hex);
    printf("%-14s %.*s\n", "task", (int)e.task_len, e.task);
    printf("%-14s \"%.*s\"\n", "version", (int)e.version_len, e.version);
    print_time("created", e.created_ns);
    print_time("last used", l.v[match].access_ns); /* the LRU clock: the listing's, not the header's */
    human_secs(e.compute_ns * 1e-9, c, sizeof c);
    printf("%-14s %s\n", "compute time", c);
    human_bytes((double)e.value_size, b, sizeof b);
    printf("%-14s %s (%llu bytes), checksum %016llx ok\n", "value", b, (unsigned long long)e.value_size,
           (unsigned long long)e.value_checksum);
    printf("%-14s %llu bytes%s\n", "input", (unsigned long long)e.input_size,
           e.flags & WEFT__ENTRY_RAW_INPUT ? " (plain bytes, not named arguments)" : "");
    printf("%-14s %s\n", "file", l.v[match].path ? l.v[match].path : "-");
    if (e.n_args) printf("arguments:\n");
    for (size_t i = 0; i < e.n_args; i++) {
        weft__entry_arg a;
        if (weft__entry_arg_at(&e, head.data, head.size, i, &a)) break;
        char fp[33];
        weft__hex(a.fp, 16, fp);
        printf("  %-16.*s %-7s", (int)a.name_len, a.name, weft__arg_type_name(a.type));
        if (a.ndim) {
            printf(" [");
            for (int d = 0; d < a.ndim; d++) printf("%s%llu", d ? ", " : "", (unsigned long long)a.shape[d]);
            printf("]");
        }
        printf(" fp %.16s", fp);
        if (a.inline_value) {
            int64_t iv;
            double dv;
            if (a.type == WEFT_ARG_I64) memcpy(&iv, a.inline_value, 8), printf(" = %lld", (long long)iv);
            if (a.type == WEFT_ARG_F64) memcpy(&dv, a.inline_value, 8), printf(" = %.17g", dv);
            if (a.type == WEFT_ARG_BOOL) printf(" = %s", *(const unsigned char *)a.inline_value ? "true" : "false");
            if (a.type == WEFT_ARG_STRING) printf(" = \"%.*s\"", (int)a.payload_size, (const char *)a.inline_value);
        }
        if (a.flags & WEFT__ARGREC_IGNORED) printf(" (ignored)");
        if (a.flags & WEFT__ARGREC_TOLERANCE) printf(" (with tolerance)");
        printf("\n");
    }
    free(head.data);
    free(value.data);
    items_free(&l);
    return 0;
}

/* ---- stats from a store's index (the packed store): no entry is read */

static int print_task_total(const char *task, int64_t n, int64_t bytes, int64_t compute_ns,
                            int64_t newest_ns, void *user) {
    int64_t *t = user;
    char b[32], s[32];
    (void)newest_ns;
    human_bytes((double)bytes, b, sizeof b);
    human_secs(compute_ns * 1e-9, s, sizeof s);
    printf("%-32s %8lld %10s %14s\n", task, (long long)n, b, s);
    t[0]++, t[1] += n, t[2] += bytes, t[3] += compute_ns;
    return 0;
}

static int stats_from_index(weft_memory *m, weft__store_summary_method summary) {
    void *state;
    weft__memory_store(m, &state);
    int64_t t[4] = {0}, disk = 0;
    char b[32], s[32], d[32];
    printf("%-32s %8s %10s %14s\n", "task", "entries", "bytes", "compute kept");
    if (summary(state, print_task_total, t, &disk) != 0)
        return die("cannot read the cache's index: %s%s", weft_last_error()->message, "");
    human_bytes((double)t[2], b, sizeof b);
    human_secs(t[3] * 1e-9, s, sizeof s);
    human_bytes((double)disk, d, sizeof d);
    printf("total: %lld tasks, %lld entries, %s, %s of computation kept; %s on disk\n", (long long)t[0],
           (long long)t[1], b, s, d);
    return 0;
}

static int cmd_migrate(const char *dir) {
    int64_t moved, dropped;
    if (weft__store_migrate(dir, &moved, &dropped) != 0) return die("%s%s", weft_last_error()->message, "");
    printf("migrated %s: %lld entries moved into the %s store, %lld damaged ones dropped\n", dir, (long long)moved,
           weft__folder_default_store()->name, (long long)dropped);
    return 0;
}

static int cmd_stats(weft_memory *m) {
    void *state;
    weft__store_summary_method summary = weft__store_summary_of(weft__memory_store(m, &state));
    if (summary) return stats_from_index(m, summary);
    items l;
    int rc = list_all(m, NULL, &l);
    if (rc) return rc;
    int64_t entries = 0, bytes = 0, temps = 0, corrupt = 0, tasks = 0, saved = 0;
    char b[32], s[32];
    printf("%-32s %8s %10s %14s\n", "task", "entries", "bytes", "compute kept");
    for (size_t i = 0; i < l.n;) {
        size_t j = i;
        int64_t n = 0, by = 0, sv = 0;
        for (; j < l.n && strcmp(l.v[j].task, l.v[i].task) == 0; j++) {
            if (l.v[j].is_temp) {
                temps++;
                continue;
            }
            weft_bytes head, value;
            weft__entry e;
            if (weft__memory_read(m, l.v[j].task, l.v[j].key, &head, &value, &e) == 0) {
                sv += e.compute_ns;
                free(head.data);
                free(value.data);
            } else
                corrupt++;
            n++;
            by += l.v[j].size;
        }
        human_bytes((double)by, b, sizeof b);
        human_secs(sv * 1e-9, s, sizeof s);
        printf("%-32s %8lld %10s %14s\n", l.v[i].task, (long long)n, b, s);
        entries += n, bytes += by, saved += sv, tasks++;
        i = j;
    }
    human_bytes((double)bytes, b, sizeof b);
    human_secs(saved * 1e-9, s, sizeof s);
    printf("total: %lld tasks, %lld entries, %s, %s of computation kept", (long long)tasks,
           (long long)entries, b, s);
    printf("; %lld corrupt, %lld temporary files\n", (long long)corrupt, (long long)temps);
    items_free(&l);
    return 0;
}

static int cmd_verify(weft_memory *m, int fix) {
    items l;
    int rc = list_all(m, NULL, &l);
    if (rc) return rc;
    void *state;
    const weft_store *s = weft__memory_store(m, &state);
    int64_t ok = 0, bad = 0, temps = 0, odd = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (l.v[i].not_regular) { /* not weft's: reported, never removed */
            odd++;
            printf("NOT A FILE (a link, FIFO or device where weft keeps files; left alone): %s\n",
                   l.v[i].path);
            continue;
        }
        if (l.v[i].is_temp) {
            temps++;
            printf("temporary file (a writer was interrupted or is at work): %s%s\n", l.v[i].path,
                   fix ? ", removed" : "");
            if (fix) s->remove_temp(state, &(weft__store_item){.path = l.v[i].path, .is_temp = 1});
            continue;
        }
        weft_bytes head, value;
        weft__entry e;
        rc = weft__memory_read(m, l.v[i].task, l.v[i].key, &head, &value, &e);
        if (rc == 0) {
            ok++;
            free(head.data);
            free(value.data);
        } else if (rc == WEFT_ECORRUPT) {
            bad++;
            printf("CORRUPT: %s%s\n", l.v[i].path ? l.v[i].path : l.v[i].task, fix ? ", removed" : "");
            if (fix) s->remove(state, l.v[i].task, l.v[i].key);
        } else if (rc != WEFT_ENOTFOUND) { /* an I/O error: the entry could not be checked */
            odd++;
            printf("UNREADABLE: %s: %s\n", l.v[i].path ? l.v[i].path : l.v[i].task, weft_last_error()->message);
        }
    }
    if (fix && bad) weft__memory_bump(m);
    printf("%lld entries ok, %lld corrupt%s, %lld temporary files%s", (long long)ok, (long long)bad,
           bad && fix ? " (removed)" : "", (long long)temps, temps && fix ? " (removed)" : "");
    if (odd) printf(", %lld problems (not files, or unreadable)", (long long)odd);
    printf("\n");
    items_free(&l);
    return (bad && !fix) || odd ? 1 : 0;
}

/* A limit from the command line: a positive number and an optional unit, finite and
 * whole after scaling (a byte count, an item count), or it is refused. */
static int parse_scaled(const char *s, double *out, const char *units, const double *scales,
                        int whole) {
    char *end;
    if (!((*s >= '0' && *s <= '9') || *s == '.')) return -1; /* no sign, blank, "inf", "nan" */
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v > 0)) return -1;
    if (*end) {
        const char *u = units[0] ? strchr(units, *end) : NULL;
        if (!u || end[1]) return -1;
        v *= scales[u - units];
    }
    if (!(v <= 9.2e18) || (whole && v != (double)(int64_t)v)) return -1;
    *out = v;
    return 0;
}

static int cmd_prune(weft_memory *m, int argc, char **argv) {
    double max_bytes = 0, max_items = 0, max_age = 0;
    static const double bytes_k[] = {1e3, 1e3, 1e6, 1e9, 1e12}, age_k[] = {1, 60, 3600, 86400};
    for (int i = 0; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char *why = "";
        int bad = !v;
        if (!bad && strcmp(argv[i], "--max-bytes") == 0)
            bad = parse_scaled(v, &max_bytes, "kKMGT", bytes_k, 1), why = "a whole number of bytes > 0, with k, M, G or T";
        else if (!bad && strcmp(argv[i], "--max-items") == 0)
            bad = parse_scaled(v, &max_items, "", NULL, 1), why = "a whole number of entries > 0";
        else if (!bad && strcmp(argv[i], "--max-age") == 0)
            bad = parse_scaled(v, &max_age, "smhd", age_k, 0), why = "a time > 0, with s, m, h or d";
        else
            bad = 1;
        if (bad && *why) return die("prune: bad value '%s': give %s", v, why);
        if (bad) return die("prune: bad option '%s' (see `weft` for the usage)%s", argv[i], "");
    }
    if (!max_bytes && !max_items && !max_age)
        return die("prune: give at least one limit: --max-bytes, --max-items or --max-age%s%s", "", "");
    int64_t removed;
    if (weft_memory_prune(m, (int64_t)max_bytes, (int64_t)max_items, max_age, &removed))
        return die("prune: %s%s", weft_last_error()->message, "");
    printf("removed %lld entries\n", (long long)removed);
    return 0;
}

static int cmd_clear(weft_memory *m, const char *task) {
    items l;
    int rc = list_all(m, task, &l);
    if (rc) return rc;
    size_t n = l.n;
    items_free(&l);
    if (weft_memory_clear(m, task)) return die("clear: %s%s", weft_last_error()->message, "");
    printf("removed %zu entries%s%s%s\n", n, task ? " of '" : "", task ? task : "", task ? "'" : "");
    return 0;
}

static int cmd_diff(weft_memory *m, const char *task) {
    weft__journal *j = weft__memory_journal(m);
    char text[8192];
    if (!j) return die("out of memory%s%s", "", "");
    int rc = weft__journal_explain_latest(j, task, text, sizeof text);
    if (rc == WEFT_ENOTFOUND)
        return die("no journaled miss of '%s' in %s: run the program with WEFT_DEBUG=1 to record calls", task,
                   weft_memory_location(m));
    fputs(text, stdout);
    return 0;
}

static int cmd_export(weft_memory *m, const char *file, const char *task) {
    int64_t n = 0;
    if (weft_memory_export(m, task, file, &n)) return die("%s%s", weft_last_error()->message, "");
    printf("exported %lld entries%s%s to %s\n", (long long)n, task ? " of " : "", task ? task : "", file);
    return 0;
}

static int cmd_import(weft_memory *m, const char *file) {
    weft_import_stats st;
    int rc = weft_memory_import(m, file, &st);
    printf("imported %lld entries into %s", (long long)st.imported, weft_memory_location(m));
    if (st.corrupt) printf("; skipped %lld corrupt", (long long)st.corrupt);
    if (st.stale) printf("; skipped %lld made with another task version than this cache keeps", (long long)st.stale);
    printf("\n");
    if (rc) return die("%s%s", weft_last_error()->message, "");
    return st.corrupt ? 1 : 0;
}

static int cmd_info(void) {
#ifdef WEFT_CLI_MPI
    /* under mpirun or srun: join the world to show it (the other ranks serve, then leave) */
    int launched = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
    int mpi_rc = launched ? weft_mpi_init(NULL, NULL) : 0;
#endif
    printf("weft %s\n", weft_version());
    printf("CPUs: %d usable (online %d, affinity %d", weft_cpu_count(), weft_plat_cpu_online(),
           weft_plat_cpu_affinity());
    double q = weft_plat_cpu_quota();
    if (q > 0)
        printf(", cgroup quota %.2f)\n", q);
    else
        printf(", no cgroup quota)\n");
    printf("backends:");
    for (size_t i = 0; weft_backend_name(i); i++) {
        unsigned caps = weft_backend_caps(weft_backend_name(i));
        printf(" %s (%s%s%s)", weft_backend_name(i), caps & WEFT_CAP_PARALLEL ? "parallel" : "one at a time",
               caps & WEFT_CAP_SHARED_MEMORY ? ", shared memory" : "", caps & WEFT_CAP_NESTED ? ", nested" : "");
    }
    printf("\nstores: %s (new folders; %s=packed, log or file), %s, %s and %s (folders), %s (in-process); entry format %d\n",
           weft__folder_default_store()->name, WEFT__STORE_ENV, weft__store_packed.name, weft__store_log.name,
           weft__store_disk.name, weft__store_memory.name, WEFT__ENTRY_VERSION);
    printf("hashing: %s\n", weft__hash_impl());
#ifdef WEFT_CLI_MPI
    if (!launched) {
        printf("MPI: backend 'mpi' built (libweft_mpi); `mpirun -np N weft info` shows a world\n");
    } else if (mpi_rc) {
        printf("MPI: %s\n", weft_last_error()->message);
    } else {
        char world[4096];
        weft_mpi_describe(world, sizeof world);
        fputs(world, stdout);
    }
#else
    printf("MPI: not built (no MPI was found when weft was configured)\n");
#endif
    const char *vars[] = {"WEFT_BACKEND", "WEFT_N_JOBS", "WEFT_VERBOSE", "WEFT_DEBUG", "WEFT_CACHE_DIR"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        printf("%-15s %s\n", vars[i], v ? v : "(unset)");
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "info") == 0) return cmd_info();
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "help") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("weft %s\n", weft_version());
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "trace") == 0) {
        if (argc == 4 && strcmp(argv[2], "summary") == 0) return weft_cli_trace_summary(argv[3]);
        fprintf(stderr, "weft: wrong arguments for 'trace'\n%s", usage);
        return 2;
    }
    if (argc < 4 || strcmp(argv[1], "cache") != 0) {
        fputs(usage, argc < 2 ? stdout : stderr);
        return argc < 2 ? 0 : 2;
    }
    const char *cmd = argv[2], *dir = argv[3];
    if (strcmp(cmd, "migrate") == 0) {
        if (argc == 4) return cmd_migrate(dir);
        fputs(usage, stderr);
        return 2;
    }
    static const char *known[] = {"ls", "show", "stats", "diff", "verify", "prune", "clear", "export", "import"};
    int ok = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) ok |= strcmp(cmd, known[i]) == 0;
    if (!ok) {
        fprintf(stderr, "weft: unknown command 'cache %s'\n%s", cmd, usage);
        return 2;
    }
    /* every argument is read or refused: a mistyped option is never taken for no option */
    int one_more = argc == 4 || argc == 5;
    if ((strcmp(cmd, "show") == 0 && argc != 6) || (strcmp(cmd, "diff") == 0 && argc != 5) ||
        (strcmp(cmd, "export") == 0 && argc != 5 && argc != 6) || (strcmp(cmd, "import") == 0 && argc != 5) ||
        (strcmp(cmd, "stats") == 0 && argc != 4) || ((strcmp(cmd, "ls") == 0 || strcmp(cmd, "clear") == 0) && !one_more) ||
        (strcmp(cmd, "verify") == 0 && !(argc == 4 || (argc == 5 && strcmp(argv[4], "--fix") == 0)))) {
        fprintf(stderr, "weft: wrong arguments for 'cache %s'\n%s", cmd, usage);
        return 2;
    }
    weft_memory *m;
    /* an import may make its cache; everything else works on an existing one */
    int rc = strcmp(cmd, "import") == 0 ? open_or_make_cache(dir, &m) : open_cache(dir, &m);
    if (rc) return rc;
    const char *arg = argc > 4 ? argv[4] : NULL;
    if (strcmp(cmd, "ls") == 0) rc = cmd_ls(m, arg);
    if (strcmp(cmd, "show") == 0) rc = cmd_show(m, argv[4], argv[5]);
    if (strcmp(cmd, "stats") == 0) rc = cmd_stats(m);
    if (strcmp(cmd, "diff") == 0) rc = cmd_diff(m, argv[4]);
    if (strcmp(cmd, "verify") == 0) rc = cmd_verify(m, arg && strcmp(arg, "--fix") == 0);
    if (strcmp(cmd, "prune") == 0) rc = cmd_prune(m, argc - 4, argv + 4);
    if (strcmp(cmd, "clear") == 0) rc = cmd_clear(m, arg);
    if (strcmp(cmd, "export") == 0) rc = cmd_export(m, argv[4], argc > 5 ? argv[5] : NULL);
    if (strcmp(cmd, "import") == 0) rc = cmd_import(m, argv[4]);
    weft_memory_close(m);
    return rc;
}
