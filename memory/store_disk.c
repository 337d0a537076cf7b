/* The disk store: ROOT/<task>/<kk>/<key hex>.wfe, kk the key's first byte in hex.
 *
 * Writers never lock: an entry is written to a temporary file beside its final name
 * (fsync when asked), then renamed over it. rename() is atomic, so a reader opens the
 * old entry or the new one, never half of one, and two processes writing one key both
 * succeed (the last rename wins; both wrote the same result). A writer killed midway
 * leaves a ".tmp-*" file that readers never look at and prune removes. */
#include "store.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 4096

typedef struct disk_state {
    char *root;
    size_t root_len;
    int read_only; /* a cache folder this process may not write to: hits only */
} disk_state;

static atomic_uint_fast64_t temp_counter;
static atomic_ullong temp_seed; /* random per process (pids repeat across hosts and under WASI); set once, by whichever thread comes first */

static int esys(int neg, const char *what, const char *path) {
    return weft__set_error(WEFT_ESYS, "%s '%s': %s", what, path, weft_plat_strerror(neg));
}

/* ---- names */

static int keep_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

size_t weft__disk_escape(const char *task, char *out, size_t size) {
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; task[i]; i++) {
        unsigned char c = (unsigned char)task[i];
        if (keep_char((char)c) && !(c == '.' && i == 0)) {
            if (n + 1 >= size) return 0;
            out[n++] = (char)c;
        } else {
            if (n + 3 >= size) return 0;
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    if (n == 0 || n >= size) return 0;
    out[n] = '\0';
    return n;
}

size_t weft__disk_unescape(const char *folder, char *out, size_t size) {
    size_t n = 0;
    for (size_t i = 0; folder[i]; i++) {
        if (n + 1 >= size) return 0;
        uint8_t b;
        if (folder[i] == '%' && folder[i + 1] && folder[i + 2] && weft__unhex(folder + i + 1, &b, 1) == 0) {
            out[n++] = (char)b;
            i += 2;
        } else
            out[n++] = folder[i];
    }
    out[n] = '\0';
    return n;
}

/* ROOT/<task>[/<kk>[/<hex>.wfe]] into buf; the length, or 0 when too long. */
static size_t task_path(const disk_state *s, const char *task, char *buf) {
    if (s->root_len + 2 >= PATH_MAX_LEN) return 0;
    memcpy(buf, s->root, s->root_len);
    buf[s->root_len] = '/';
    size_t n = weft__disk_escape(task, buf + s->root_len + 1, PATH_MAX_LEN - s->root_len - 48);
    return n ? s->root_len + 1 + n : 0;
}

static size_t fan_path(const disk_state *s, const char *task, const uint8_t key[16], char *buf) {
    size_t n = task_path(s, task, buf);
    if (!n) return 0;
    buf[n] = '/';
    weft__hex(key, 1, buf + n + 1);
    return n + 3;
}

static size_t entry_path(const disk_state *s, const char *task, const uint8_t key[16], char *buf) {
    size_t n = fan_path(s, task, key, buf);
    if (!n) return 0;
    buf[n] = '/';
    weft__hex(key, 16, buf + n + 1);
    memcpy(buf + n + 33, WEFT__DISK_SUFFIX, sizeof WEFT__DISK_SUFFIX);
    return n + 33 + sizeof WEFT__DISK_SUFFIX - 1;
}

static int too_long(const char *task) {
    return weft__set_error(WEFT_EINVAL, "cache path for task '%.64s' is too long", task);
}

int weft__disk_is_cache(const char *dir) {
    char path[PATH_MAX_LEN];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, WEFT__DISK_MARKER) >= sizeof path) return 0;
    int fd = weft_plat_open_read(path);
    if (fd < 0) return 0;
    char buf[256];
    int64_t n = weft_plat_read(fd, buf, sizeof buf - 1);
    weft_plat_close(fd);
    if (n < 0) return 0;
    buf[n] = '\0';
    return strstr(buf, "weft cache") != NULL;
}

static void temp_name(char *buf, size_t size, const char *dir) {
    unsigned long long seed = atomic_load(&temp_seed);
    if (!seed) {
        uint64_t fresh = 0;
        if (weft_plat_random(&fresh, sizeof fresh) != 0) fresh = weft_plat_now_ns();
        unsigned long long none = 0;
        seed = fresh | 1;
        if (!atomic_compare_exchange_strong(&temp_seed, &none, seed)) seed = none;
    }
    uint64_t n = atomic_fetch_add(&temp_counter, 1);
    snprintf(buf, size, "%s/" WEFT__DISK_TEMP_PREFIX "%d-%llx-%llx", dir, weft_plat_getpid(),
             seed & 0xffffffffffull, (unsigned long long)n);
}

/* Write head + value to a temporary file in `dir` and rename it to `path`. A negative
 * errno on failure (the temporary file is removed). */
static int write_atomic(const char *dir, const char *path, const void *head, size_t head_size,
                        const void *value, size_t value_size, int fsync) {
    char tmp[PATH_MAX_LEN + 64];
    temp_name(tmp, sizeof tmp, dir);
    int fd = weft_plat_create_excl(tmp);
    if (fd < 0) return fd;
    int rc;
    /* One write for a small entry, from the heap: wasm stacks are 64 KiB in all (WASI's
     * default), and a 16 KiB buffer here overflowed them under a deep caller. */
    unsigned char *one = head_size + value_size <= 16384 ? malloc(head_size + value_size) : NULL;
    if (one) {
        memcpy(one, head, head_size);
        if (value_size) memcpy(one + head_size, value, value_size);
        rc = weft_plat_write_all(fd, one, head_size + value_size);
        free(one);
    } else {
        rc = weft_plat_write_all(fd, head, head_size);
        if (!rc && value_size) rc = weft_plat_write_all(fd, value, value_size);
    }
    if (!rc && fsync) rc = weft_plat_fsync(fd);
    int rc2 = weft_plat_close(fd);
    if (!rc) rc = rc2;
    if (!rc) rc = weft_plat_rename(tmp, path);
    if (rc) {
        weft_plat_unlink(tmp);
        return rc;
    }
    if (fsync) weft_plat_fsync_dir(dir);
    return 0;
}

int weft__disk_write_file(const char *path, const void *a, size_t a_size, const void *b,
                          size_t b_size, int fsync) {
    char dir[PATH_MAX_LEN];
    size_t n = strlen(path);
    if (n >= sizeof dir) return -ENAMETOOLONG;
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    return write_atomic(dir, path, a, a_size, b, b_size, fsync);
}

/* ---- the vtable */

/* mkdir -p: create each missing component. 0 or a negative errno. */
static int make_dirs(const char *path) {
    size_t n = strlen(path);
    char *p = malloc(n + 1);
    if (!p) return -ENOMEM;
    memcpy(p, path, n + 1);
    int rc = 0;
    for (size_t i = 1; i <= n && !rc; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        if (i > 0 && p[i - 1] != '/') rc = weft_plat_mkdir(p);
        p[i] = c;
    }
    free(p);
    return rc;
}

/* Any entry but another process's marker write in progress (its temporary file): two
 * first opens of one new folder at once must both succeed. */
static int any_entry(const char *name, int is_dir, void *user) {
    (void)is_dir, (void)user;
    return strncmp(name, WEFT__DISK_TEMP_PREFIX, sizeof WEFT__DISK_TEMP_PREFIX - 1) != 0;
}

/* Make the folder a weft cache, or check that it is one; *read_only: one this process
 * cannot write to (its hits are still served). */
static int prepare_folder(const char *dir, int *read_only) {
    return weft__disk_prepare(dir, WEFT__DISK_MARKER_TEXT, read_only);
}

int weft__disk_prepare(const char *dir, const char *marker_text, int *read_only) {
    *read_only = 0;
    int rc = make_dirs(dir);
    if (rc)
        return weft__set_error(WEFT_ESYS, "cannot create the cache folder '%s': %s", dir, weft_plat_strerror(rc));
    weft_plat_file_info st;
    rc = weft_plat_stat(dir, &st);
    if (rc) return weft__set_error(WEFT_ESYS, "cannot use the cache folder '%s': %s", dir, weft_plat_strerror(rc));
    if (!st.is_dir) return weft__set_error(WEFT_ESYS, "the cache location '%s' is not a folder", dir);
    if (!weft__disk_is_cache(dir)) {
        rc = weft_plat_list_dir(dir, any_entry, NULL);
        /* another process may have made it a cache (marker, then files) since we looked */
        if (rc == 1 && weft__disk_is_cache(dir)) return 0;
        if (rc == 1)
            return weft__set_error(WEFT_EFOREIGN, "'%s' holds files but is not a weft cache (no %s from weft): give an empty or new folder", dir, WEFT__DISK_MARKER);
        if (rc < 0)
            return weft__set_error(WEFT_ESYS, "cannot read the cache folder '%s': %s", dir, weft_plat_strerror(rc));
        char marker[4096];
        if ((size_t)snprintf(marker, sizeof marker, "%s/%s", dir, WEFT__DISK_MARKER) >= sizeof marker)
            return weft__set_error(WEFT_EINVAL, "the cache path '%.64s...' is too long", dir);
        rc = weft__disk_write_file(marker, marker_text, strlen(marker_text), NULL, 0, 0);
        if (rc)
            return weft__set_error(WEFT_ESYS, "cannot write to the cache folder '%s': %s", dir, weft_plat_strerror(rc));
    } else if (!weft_plat_dir_writable(dir)) {
        *read_only = 1; /* its hits are still served */
    }
    return 0;
}

int weft__disk_marker_kind(const char *dir) {
    char path[4200], buf[512];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, WEFT__DISK_MARKER) >= sizeof path) return 0;
    int fd = weft_plat_open_read(path);
    if (fd < 0) /* no marker (or not a file): not packed; anything else: unknown */
        return fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP || fd == WEFT_PLAT_ENOTREG ? 0 : fd;
    int64_t n = weft_plat_read(fd, buf, sizeof buf - 1);
    weft_plat_close(fd);
    if (n < 0) return (int)n;
    buf[n] = '\0';
    if (!strstr(buf, "weft cache")) return 0;
    return strstr(buf, WEFT__PACKED_WORDS) ? WEFT__MARKER_PACKED : strstr(buf, WEFT__LOG_WORDS) ? WEFT__MARKER_LOG
                                                                                                : 0;
}

int weft__disk_marker_is_packed(const char *dir) { return weft__disk_marker_kind(dir) == WEFT__MARKER_PACKED; }

static int disk_open(void *state, const char *location) {
#ifndef WEFT_HAVE_PACKED
    /* natively the registry opens such a folder with the packed store (which keeps its
     * large values through this store); a build without it (WASI, Emscripten) must not
     * mix its files into it, nor miss silently */
    int kind = weft__disk_marker_kind(location);
    if (kind > 0)
        return weft__set_error(WEFT_EFOREIGN, "'%s' is a %s weft cache (%s), which this build cannot read: share a folder made with WEFT_CACHE_STORE=file, or move entries with `weft cache export` and `import`", location,
                               kind == WEFT__MARKER_LOG ? "log" : "packed", kind == WEFT__MARKER_LOG ? "segments and a mapped index" : "SQLite");
#endif
    disk_state *s = state;
    int rc = prepare_folder(location, &s->read_only);
    if (rc) return rc;
    size_t n = strlen(location);
    while (n > 1 && location[n - 1] == '/') n--;
    s->root = malloc(n + 1);
    if (!s->root) return WEFT_ENOMEM;
    memcpy(s->root, location, n);
    s->root[n] = '\0';
    s->root_len = n;
    return 0;
}

static void disk_close(void *state) { free(((disk_state *)state)->root); }

/* A hit costs open + fstat + read + close: the first read takes up to 4 KB (or the
 * file's size), which holds the whole of a small entry; the header then says how much value follows, which lands in
 * its own buffer. The fstat is for the size and to refuse what is not a regular file;
 * the LRU clock is kept by memory.c, which touches entries. */
static int disk_get(void *state, const char *task, const uint8_t key[16], weft_bytes *head,
                    weft_bytes *value, int64_t *last_access_ns) {
    disk_state *s = state;
    char path[PATH_MAX_LEN];
    if (!entry_path(s, task, key, path)) return too_long(task);
    int64_t file_size = 0;
    int fd = weft_plat_open_read_size(path, &file_size);
    /* a link, a FIFO, a folder where an entry should be: not an entry, so a miss (a put
     * renames a real one over the name) */
    if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP || fd == WEFT_PLAT_ENOTREG || fd == -EISDIR)
        return WEFT_ENOTFOUND;
    if (fd < 0) return esys(fd, "cannot open", path);
    *last_access_ns = -1;
    head->data = value->data = NULL;
    unsigned char first[4096];
    /* no more than the file holds: a read that stops at its end takes one system call */
    size_t want = file_size > 0 && file_size < (int64_t)sizeof first ? (size_t)file_size : sizeof first;
    int64_t got = weft_plat_read(fd, first, want);
    int rc = WEFT_ECORRUPT;
    size_t hs = got >= 16 ? weft__entry_header_size(first, (size_t)got) : 0;
    weft__entry e;
    /* Every size is checked against the file's real length before anything is
     * allocated: a damaged size is a corrupt entry, never a huge allocation. */
    if (got < 0) {
        rc = esys((int)got, "cannot read", path);
    } else if (hs && (int64_t)hs <= file_size && (head->data = malloc(hs))) {
        size_t in_first = (size_t)got, h_have = in_first < hs ? in_first : hs;
        memcpy(head->data, first, h_have);
        int64_t r = h_have < hs ? weft_plat_read(fd, (char *)head->data + h_have, hs - h_have) : 0;
        if (r == (int64_t)(hs - h_have) && weft__entry_parse(head->data, hs, &e) == 0 &&
            e.value_size == (uint64_t)(file_size - (int64_t)hs) && in_first - h_have <= e.value_size) {
            size_t vs = (size_t)e.value_size, v_have = in_first - h_have;
            value->data = malloc(vs ? vs : 1);
            if (!value->data) {
                rc = WEFT_ENOMEM;
            } else {
                if (v_have) memcpy(value->data, first + hs, v_have);
                r = v_have < vs ? weft_plat_read(fd, (char *)value->data + v_have, vs - v_have) : 0;
                if (r == (int64_t)(vs - v_have)) {
                    head->size = hs;
                    value->size = vs;
                    rc = 0;
                }
            }
        }
    } else if (hs && (int64_t)hs <= file_size) {
        rc = WEFT_ENOMEM;
    }
    if (rc) {
        free(head->data);
        free(value->data);
        head->data = value->data = NULL;
    }
    weft_plat_close(fd);
    return rc;
}

/* Non-zero when `dir` exists as something other than a real folder (a link to one
 * included): a cache never writes through it. */
static int not_a_folder(const char *dir) {
    weft_plat_file_info st;
    return weft_plat_lstat(dir, &st) == 0 && !st.is_dir;
}

static int disk_put(void *state, const char *task, const uint8_t key[16], const void *head,
                    size_t head_size, const void *value, size_t value_size, int fsync) {
    disk_state *s = state;
    char path[PATH_MAX_LEN], dir[PATH_MAX_LEN];
    if (!entry_path(s, task, key, path) || !fan_path(s, task, key, dir)) return too_long(task);
    char tdir[PATH_MAX_LEN];
    task_path(s, task, tdir);
    if (not_a_folder(tdir) || not_a_folder(dir))
        return weft__set_error(WEFT_ESYS, "cannot write the cache entry '%s': a folder on its path is a link or a file (not made by weft)", path);
    int rc = 0;
    /* a concurrent clear may remove the folders between our mkdir and rename: retry */
    for (int attempt = 0; attempt < 4; attempt++) {
        rc = write_atomic(dir, path, head, head_size, value, value_size, fsync);
        if (rc != -ENOENT) break;
        int m = weft_plat_mkdir(tdir);
        if (!m) m = weft_plat_mkdir(dir);
        if (m && m != -ENOENT) return esys(m, "cannot create the folder", dir);
    }
    return rc ? esys(rc, "cannot write the cache entry", path) : 0;
}

static int disk_remove(void *state, const char *task, const uint8_t key[16]) {
    disk_state *s = state;
    char path[PATH_MAX_LEN];
    if (!entry_path(s, task, key, path)) return too_long(task);
    int rc = weft_plat_unlink(path);
    if (rc == -ENOENT) return WEFT_ENOTFOUND;
    return rc ? esys(rc, "cannot remove", path) : 0;
}

static int disk_touch(void *state, const char *task, const uint8_t key[16], int64_t now_ns) {
    disk_state *s = state;
    char path[PATH_MAX_LEN];
    if (!entry_path(s, task, key, path)) return too_long(task);
    int rc = weft_plat_set_mtime(path, now_ns);
    return rc == -ENOENT ? WEFT_ENOTFOUND : 0; /* best effort: a read-only cache still serves */
}

/* ---- listing: folder names are collected first, then visited, so callbacks may
 * remove what they are shown. */

typedef struct names {
    char **v;
    size_t n, cap;
    int dirs_only, files_only;
} names;

static int collect(const char *name, int is_dir, void *user) {
    names *ns = user;
    if ((ns->dirs_only && !is_dir) || (ns->files_only && is_dir)) return 0;
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? 2 * ns->cap : 64;
        char **v = realloc(ns->v, cap * sizeof *v);
        if (!v) return WEFT_ENOMEM;
        ns->v = v;
        ns->cap = cap;
    }
    size_t len = strlen(name);
    if (!(ns->v[ns->n] = malloc(len + 1))) return WEFT_ENOMEM;
    memcpy(ns->v[ns->n++], name, len + 1);
    return 0;
}

static void names_free(names *ns) {
    for (size_t i = 0; i < ns->n; i++) free(ns->v[i]);
    free(ns->v);
}

/* 0, a negative errno from the listing, or WEFT_ENOMEM. */
static int list_names(const char *dir, names *ns, int dirs_only, int files_only) {
    memset(ns, 0, sizeof *ns);
    ns->dirs_only = dirs_only;
    ns->files_only = files_only;
    int rc = weft_plat_list_dir(dir, collect, ns);
    if (rc) names_free(ns), memset(ns, 0, sizeof *ns);
    return rc;
}

static int is_hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

/* A listing error other than "gone" (a concurrent clear removes folders) is reported:
 * a listing that silently skips what it cannot read makes a partial export or verify
 * look complete. */
static int list_error(int rc, const char *dir) {
    if (rc == -ENOENT || rc == -ENOTDIR) return 0;
    return rc < 0 ? esys(rc, "cannot list", dir) : rc;
}

static int list_task(disk_state *s, const char *folder, weft__store_list_fn fn, void *user) {
    char task[WEFT_ARGS_MAX_NAME * 3 + 1], tdir[PATH_MAX_LEN];
    if (!weft__disk_unescape(folder, task, sizeof task)) return 0;
    if ((size_t)snprintf(tdir, sizeof tdir, "%s/%s", s->root, folder) >= sizeof tdir) return 0;
    if (not_a_folder(tdir)) return 0; /* a link where a task folder should be: not followed */
    names fans;
    int rc = list_names(tdir, &fans, 1, 0);
    if (rc) return list_error(rc, tdir);
    for (size_t f = 0; !rc && f < fans.n; f++) {
        if (strlen(fans.v[f]) != 2 || !is_hex(fans.v[f], 2)) continue;
        char fdir[PATH_MAX_LEN];
        if ((size_t)snprintf(fdir, sizeof fdir, "%s/%s", tdir, fans.v[f]) >= sizeof fdir) continue;
        names files;
        rc = list_names(fdir, &files, 0, 1);
        if (rc) {
            rc = list_error(rc, fdir);
            continue;
        }
        for (size_t i = 0; !rc && i < files.n; i++) {
            const char *name = files.v[i];
            size_t len = strlen(name);
            weft__store_item it;
            memset(&it, 0, sizeof it);
            it.is_temp = strncmp(name, WEFT__DISK_TEMP_PREFIX, sizeof WEFT__DISK_TEMP_PREFIX - 1) == 0;
            if (!it.is_temp) {
                if (len != 32 + sizeof WEFT__DISK_SUFFIX - 1 || strcmp(name + 32, WEFT__DISK_SUFFIX) != 0 ||
                    !is_hex(name, 32))
                    continue;
                weft__unhex(name, it.key, 16);
            }
            char path[PATH_MAX_LEN];
            weft_plat_file_info st;
            if ((size_t)snprintf(path, sizeof path, "%s/%s", fdir, name) >= sizeof path) continue;
            int st_rc = weft_plat_lstat(path, &st);
            if (st_rc == -ENOENT) continue; /* removed since the listing */
            if (st_rc) {
                rc = esys(st_rc, "cannot stat", path);
                break;
            }
            it.task = task;
            it.size = st.size;
            it.last_access_ns = st.mtime_ns;
            it.not_regular = !st.is_regular;
            it.path = path;
            rc = fn(&it, user);
        }
        names_free(&files);
    }
    names_free(&fans);
    return rc;
}

static int disk_list(void *state, const char *task, weft__store_list_fn fn, void *user) {
    disk_state *s = state;
    if (task) {
        char folder[PATH_MAX_LEN];
        if (!weft__disk_escape(task, folder, sizeof folder)) return too_long(task);
        return list_task(s, folder, fn, user);
    }
    names tasks;
    int rc = list_names(s->root, &tasks, 1, 0);
    if (rc) return rc < 0 ? esys(rc, "cannot list", s->root) : rc;
    for (size_t i = 0; !rc && i < tasks.n; i++)
        if (tasks.v[i][0] != '.') rc = list_task(s, tasks.v[i], fn, user);
    names_free(&tasks);
    return rc;
}

static int disk_remove_temp(void *state, const weft__store_item *item) {
    (void)state;
    if (!item->path || !item->is_temp || item->not_regular) return WEFT_EINVAL;
    int rc = weft_plat_unlink(item->path);
    return rc && rc != -ENOENT ? esys(rc, "cannot remove", item->path) : 0;
}

/* What weft makes in a cache: fan folders (and a journal's task folders); entry,
 * journal, version and temporary files. Nothing else is ever removed. */
static int weft_made(const char *name, int depth_left, int is_dir, void *user) {
    (void)depth_left, (void)user;
    size_t len = strlen(name);
    if (is_dir) return name[0] != '.';
    if (strncmp(name, WEFT__DISK_TEMP_PREFIX, sizeof WEFT__DISK_TEMP_PREFIX - 1) == 0) return 1;
    if (strcmp(name, "VERSION") == 0) return 1;
    if (len == 32 + sizeof WEFT__DISK_SUFFIX - 1 && strcmp(name + 32, WEFT__DISK_SUFFIX) == 0)
        return is_hex(name, 32);
    return len > 4 && strcmp(name + len - 4, ".wjr") == 0;
}

int weft__disk_remove_tree(const char *path, int depth) {
    return weft_plat_remove_tree(path, depth, weft_made, NULL);
}

static int disk_clear(void *state, const char *task) {
    disk_state *s = state;
    char dir[PATH_MAX_LEN];
    if (task) {
        if (!task_path(s, task, dir)) return too_long(task);
        int rc = weft__disk_remove_tree(dir, 1);
        return rc ? esys(rc, "cannot remove", dir) : 0;
    }
    names tasks;
    int rc = list_names(s->root, &tasks, 1, 0);
    if (rc) return esys(rc, "cannot list", s->root);
    for (size_t i = 0; !rc && i < tasks.n; i++) {
        if (tasks.v[i][0] == '.' && strcmp(tasks.v[i], WEFT__JOURNAL_DIR) != 0) continue;
        snprintf(dir, sizeof dir, "%s/%s", s->root, tasks.v[i]);
        rc = weft__disk_remove_tree(dir, 1);
        if (rc) rc = esys(rc, "cannot remove", dir);
    }
    names_free(&tasks);
    return rc;
}

static int meta_path(disk_state *s, const char *task, const char *name, char *buf) {
    size_t n = task_path(s, task, buf);
    if (!n || n + strlen(name) + 2 >= PATH_MAX_LEN) return -1;
    buf[n] = '/';
    strcpy(buf + n + 1, name);
    return 0;
}

static int disk_get_meta(void *state, const char *task, const char *name, char *buf, size_t size) {
    char path[PATH_MAX_LEN];
    if (meta_path(state, task, name, path)) return too_long(task);
    int fd = weft_plat_open_read(path);
    if (fd < 0) return WEFT_ENOTFOUND;
    int64_t n = weft_plat_read(fd, buf, size - 1);
    weft_plat_close(fd);
    if (n < 0) return WEFT_ENOTFOUND;
    buf[n] = '\0';
    return 0;
}

static int disk_put_meta(void *state, const char *task, const char *name, const char *value) {
    disk_state *s = state;
    char path[PATH_MAX_LEN], dir[PATH_MAX_LEN];
    if (meta_path(s, task, name, path) || !task_path(s, task, dir)) return too_long(task);
    if (not_a_folder(dir))
        return weft__set_error(WEFT_ESYS, "cannot write '%s': the task folder is a link or a file (not made by weft)", path);
    int rc = weft_plat_mkdir(dir);
    if (!rc) rc = write_atomic(dir, path, value, strlen(value), NULL, 0, 0);
    return rc ? esys(rc, "cannot write", path) : 0;
}

static int disk_read_only(void *state) { return ((disk_state *)state)->read_only; }

static int disk_side_path(void *state, const char *name, char *buf, size_t size) {
    disk_state *s = state;
    if ((size_t)snprintf(buf, size, "%s/%s", s->root, name) >= size) return WEFT_EINVAL;
    return 0;
}

const weft_store weft__store_disk = {
    .version = WEFT_STORE_VERSION,
    .name = "disk",
    .state_size = sizeof(disk_state),
    .open = disk_open,
    .close = disk_close,
    .get = disk_get,
    .put = disk_put,
    .remove = disk_remove,
    .touch = disk_touch,
    .list = disk_list,
    .remove_temp = disk_remove_temp,
    .clear = disk_clear,
    .get_meta = disk_get_meta,
    .put_meta = disk_put_meta,
    .side_path = disk_side_path,
    .read_only = disk_read_only,
};
