/* Cache archives: a whole cache (or one task's entries) in one file, so a cache can move
 * between machines and platforms -- a native disk cache into a browser's IndexedDB and
 * back. The entries travel as they are stored (docs/cache-format.md §7), so every entry
 * keeps its checksums and is verified again before an import stores it. */
#define _POSIX_C_SOURCE 200809L
#include "memory_internal.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARCHIVE_MAGIC "WEFTARC\x1a"
#define ARCHIVE_VERSION 1
/* An entry bigger than this is not believed: a damaged size must not allocate terabytes. */
#define ARCHIVE_MAX_ENTRY ((uint64_t)1 << 40)

/* ---- where the bytes go and come from: a file, or a growing buffer */

typedef struct sink {
    FILE *file;
    weft_bytes *buf;
    size_t cap;
    int err; /* a write's errno */
} sink;

static int sink_write(sink *s, const void *data, size_t n) {
    if (s->file) {
        if (fwrite(data, 1, n, s->file) == n) return 0;
        s->err = errno ? errno : EIO;
        return WEFT_ESYS;
    }
    if (s->buf->size + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->buf->size + n) cap *= 2;
        void *grown = realloc(s->buf->data, cap);
        if (!grown) return WEFT_ENOMEM;
        s->buf->data = grown;
        s->cap = cap;
    }
    memcpy((unsigned char *)s->buf->data + s->buf->size, data, n);
    s->buf->size += n;
    return 0;
}

typedef struct source {
    FILE *file;
    const unsigned char *data;
    size_t size, at;
} source;

/* 0, or 1 when the source ends before n bytes. A file's size is known too (taken when
 * it is opened), so a size read from it can be checked before it is allocated. */
static int source_read(source *s, void *out, size_t n) {
    if (s->size - s->at < n) return 1;
    if (s->file) {
        if (fread(out, 1, n, s->file) != n) return 1;
        s->at += n;
        return 0;
    }
    memcpy(out, s->data + s->at, n);
    s->at += n;
    return 0;
}

/* ---- export */

typedef struct exporter {
    weft_memory *m;
    sink *out;
    int64_t count, corrupt;
    int error;
} exporter;

static int export_one(const weft__store_item *it, void *user) {
    exporter *x = user;
    if (it->is_temp || it->not_regular) return 0;
    weft_bytes head, value;
    weft__entry e;
    int rc = weft__memory_read(x->m, it->task, it->key, &head, &value, &e);
    if (rc == WEFT_ENOTFOUND) return 0; /* removed since the listing */
    if (rc == WEFT_ECORRUPT) {
        x->corrupt++; /* left out: an archive holds only entries that check */
        return 0;
    }
    if (rc) return rc;
    unsigned char size[8];
    weft__put64(size, head.size + value.size);
    rc = sink_write(x->out, size, 8);
    if (!rc) rc = sink_write(x->out, head.data, head.size);
    if (!rc && value.size) rc = sink_write(x->out, value.data, value.size);
    free(head.data);
    free(value.data);
    if (!rc) x->count++;
    return rc;
}

static int export_to(weft_memory *m, const char *task, sink *out, int64_t *exported) {
    unsigned char head[16];
    memcpy(head, ARCHIVE_MAGIC, 8);
    weft__put32(head + 8, ARCHIVE_VERSION);
    weft__put32(head + 12, 0);
    exporter x = {m, out, 0, 0, 0};
    int rc = sink_write(out, head, sizeof head);
    void *state;
    const weft_store *store = weft__memory_store(m, &state);
    if (!rc) rc = store->list(state, task, export_one, &x);
    unsigned char tail[16];
    weft__put64(tail, 0); /* the end: an entry of size 0, then the count */
    weft__put64(tail + 8, (uint64_t)x.count);
    if (!rc) rc = sink_write(out, tail, sizeof tail);
    if (exported) *exported = x.count;
    return rc;
}

static int check_memory(const char *fn, weft_memory *m) {
    if (!m) return weft__set_error(WEFT_EINVAL, "%s: memory is NULL", fn);
    return 0;
}

int weft_memory_export_bytes(weft_memory *m, const char *task, weft_bytes *out, int64_t *exported) {
    if (exported) *exported = 0;
    int rc = check_memory("weft_memory_export_bytes", m);
    if (rc) return rc;
    if (!out) return weft__set_error(WEFT_EINVAL, "weft_memory_export_bytes: out is NULL");
    out->data = NULL;
    out->size = 0;
    sink s = {NULL, out, 0, 0};
    rc = export_to(m, task, &s, exported);
    if (rc) {
        free(out->data);
        out->data = NULL;
        out->size = 0;
        return rc == WEFT_ENOMEM ? weft__set_error(rc, "weft_memory_export_bytes: out of memory")
                                 : weft__set_error(rc, "weft_memory_export_bytes: listing the cache failed");
    }
    return 0;
}

/* An export killed midway leaves PATH.tmp-*: the next export to that folder removes
 * those of its archive older than a writer could still be at work on. */
typedef struct stale_temps {
    const char *dir, *base;
    size_t base_len;
    int64_t now;
} stale_temps;

static int remove_stale_temp(const char *name, int is_dir, void *user) {
    stale_temps *t = user;
    if (is_dir || strncmp(name, t->base, t->base_len) != 0 || strncmp(name + t->base_len, ".tmp-", 5) != 0)
        return 0;
    char full[4096];
    weft_plat_file_info st;
    if ((size_t)snprintf(full, sizeof full, "%s/%s", t->dir, name) < sizeof full &&
        weft_plat_lstat(full, &st) == 0 && st.is_regular &&
        weft__sub_sat(t->now, st.mtime_ns) > WEFT__DISK_TEMP_STALE_NS)
        weft_plat_unlink(full);
    return 0;
}

static void remove_stale_temps(const char *path) {
    char dir[4096];
    size_t n = strlen(path);
    if (n >= sizeof dir) return;
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? path + (slash - dir) + 1 : path;
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    stale_temps t = {dir, base, strlen(base), weft_plat_wall_ns()};
    if (t.base_len) weft_plat_list_dir(dir, remove_stale_temp, &t);
}

int weft_memory_export(weft_memory *m, const char *task, const char *path, int64_t *exported) {
    if (exported) *exported = 0;
    int rc = check_memory("weft_memory_export", m);
    if (rc) return rc;
    if (!path || !path[0]) return weft__set_error(WEFT_EINVAL, "weft_memory_export: path is empty");
    /* a temporary file renamed into place: a reader never sees half an archive */
    size_t n = strlen(path) + 48;
    char *tmp = malloc(n);
    if (!tmp) return weft__set_error(WEFT_ENOMEM, "weft_memory_export: out of memory");
    remove_stale_temps(path);
    snprintf(tmp, n, "%s.tmp-%d-%lld", path, weft_plat_getpid(), (long long)weft_plat_wall_ns() % 1000000000000ll);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int err = errno;
        free(tmp);
        return weft__set_error(WEFT_ESYS, "weft_memory_export: cannot create '%s': %s", path, strerror(err));
    }
    sink s = {f, NULL, 0, 0};
    rc = export_to(m, task, &s, exported);
    int err = s.err;
    if (fclose(f) != 0 && !rc) rc = WEFT_ESYS, err = errno;
    if (!rc && rename(tmp, path) != 0) rc = WEFT_ESYS, err = errno;
    if (rc) {
        remove(tmp);
        free(tmp);
        if (exported) *exported = 0;
        if (rc == WEFT_ESYS && err)
            return weft__set_error(rc, "weft_memory_export: writing '%s' failed: %s", path, strerror(err));
        char why[256];
        snprintf(why, sizeof why, "%s", weft_last_error()->message);
        return weft__set_error(rc, "weft_memory_export: reading the cache failed, nothing exported: %s", why);
    }
    free(tmp);
    return 0;
}

/* ---- import */

/* A task's entries are stored only when they were made with the version the cache keeps
 * for it (the cache would remove them on the next use otherwise); a task the cache does
 * not know yet takes the archive's version. 1: store it, 0: stale, <0: the version
 * could not be written (the store's error). */
static int version_matches(const weft_store *store, void *state, const char *task,
                           const weft__entry *e) {
    if (!store->get_meta) return 1;
    char version[256 + 1], stored[256 + 1];
    if (e->version_len >= sizeof version) return 0;
    memcpy(version, e->version, e->version_len);
    version[e->version_len] = 0;
    int rc = store->get_meta(state, task, "VERSION", stored, sizeof stored);
    if (rc == WEFT_ENOTFOUND) {
        int put = store->put_meta(state, task, "VERSION", version);
        return put ? put : 1;
    }
    return rc == 0 && strcmp(stored, version) == 0;
}

/* Check one archived entry and store it. 0 stored, 1 skipped (corrupt or stale), <0 error. */
static int import_entry(weft_memory *m, const unsigned char *bytes, size_t size, int64_t *stale) {
    weft__entry e;
    if (weft__entry_check_whole(bytes, size, NULL, NULL, &e) || e.task_len > WEFT_ARGS_MAX_NAME ||
        memchr(e.task, 0, e.task_len))
        return 1;
    char task[WEFT_ARGS_MAX_NAME + 1];
    memcpy(task, e.task, e.task_len);
    task[e.task_len] = 0;
    void *state;
    const weft_store *store = weft__memory_store(m, &state);
    int fits = version_matches(store, state, task, &e);
    if (fits < 0) return fits;
    if (!fits) {
        (*stale)++;
        return 1;
    }
    return store->put(state, task, e.key, bytes, e.header_size, bytes + e.header_size,
                      (size_t)e.value_size, 0);
}

static int import_from(weft_memory *m, source *in, const char *what, weft_import_stats *st) {
    unsigned char head[16];
    if (source_read(in, head, sizeof head) || memcmp(head, ARCHIVE_MAGIC, 8) != 0)
        return weft__set_error(WEFT_ECORRUPT, "%s is not a weft cache archive", what);
    if (weft__get32(head + 8) != ARCHIVE_VERSION)
        return weft__set_error(WEFT_ECORRUPT, "%s is a weft cache archive of version %u; this weft reads version %d",
                               what, weft__get32(head + 8), ARCHIVE_VERSION);
    unsigned char *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    int64_t seen = 0;
    for (;;) {
        unsigned char size8[8];
        if (source_read(in, size8, 8)) {
            rc = weft__set_error(WEFT_ECORRUPT, "%s is truncated after %lld entries", what, (long long)seen);
            break;
        }
        uint64_t size = weft__get64(size8);
        if (size == 0) { /* the end: the count must agree */
            if (source_read(in, size8, 8) || weft__get64(size8) != (uint64_t)seen)
                rc = weft__set_error(WEFT_ECORRUPT, "%s is damaged: its end does not match its %lld entries", what, (long long)seen);
            break;
        }
        if (size > ARCHIVE_MAX_ENTRY || size > in->size - in->at) {
            rc = weft__set_error(WEFT_ECORRUPT, "%s is truncated or damaged at entry %lld", what, (long long)seen);
            break;
        }
        if (size > cap) {
            unsigned char *grown = realloc(buf, (size_t)size);
            if (!grown) {
                rc = weft__set_error(WEFT_ENOMEM, "out of memory reading entry %lld of %s", (long long)seen, what);
                break;
            }
            buf = grown;
            cap = (size_t)size;
        }
        if (source_read(in, buf, (size_t)size)) {
            rc = weft__set_error(WEFT_ECORRUPT, "%s is truncated in entry %lld", what, (long long)seen);
            break;
        }
        seen++;
        int one = import_entry(m, buf, (size_t)size, &st->stale);
        if (one < 0) {
            char why[256];
            snprintf(why, sizeof why, "%s", weft_last_error()->message);
            rc = weft__set_error(one, "storing entry %lld of %s failed: %s", (long long)seen - 1, what, why);
            break;
        }
        if (one == 0)
            st->imported++;
        else
            st->skipped++;
    }
    free(buf);
    st->corrupt = st->skipped - st->stale;
    if (st->imported) weft__memory_bump(m); /* entries may have been replaced */
    return rc;
}

int weft_memory_import_bytes(weft_memory *m, const void *data, size_t size, weft_import_stats *stats) {
    weft_import_stats local;
    weft_import_stats *st = stats ? stats : &local;
    memset(st, 0, sizeof *st);
    int rc = check_memory("weft_memory_import_bytes", m);
    if (rc) return rc;
    if (!data && size) return weft__set_error(WEFT_EINVAL, "weft_memory_import_bytes: data is NULL");
    source in = {NULL, data, size, 0};
    return import_from(m, &in, "the archive", st);
}

int weft_memory_import(weft_memory *m, const char *path, weft_import_stats *stats) {
    weft_import_stats local;
    weft_import_stats *st = stats ? stats : &local;
    memset(st, 0, sizeof *st);
    int rc = check_memory("weft_memory_import", m);
    if (rc) return rc;
    if (!path || !path[0]) return weft__set_error(WEFT_EINVAL, "weft_memory_import: path is empty");
    /* not a FIFO's writer, nor a link's target: an archive is a plain file */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        int err = errno;
        if (fd >= 0) close(fd);
        return weft__set_error(WEFT_ESYS, "weft_memory_import: cannot open '%s': %s", path, strerror(err));
    }
    char what[512];
    snprintf(what, sizeof what, "'%s'", path);
    struct stat fst;
    if (fstat(fileno(f), &fst) != 0 || !S_ISREG(fst.st_mode)) {
        fclose(f);
        return weft__set_error(WEFT_EINVAL, "weft_memory_import: '%s' is not a plain file", path);
    }
    source in = {f, NULL, (size_t)fst.st_size, 0};
    rc = import_from(m, &in, what, st);
    fclose(f);
    return rc;
}
