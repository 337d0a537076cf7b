/* Cache folders on a native file system: which store a folder belongs to (its marker),
 * which store new folders get (WEFT_CACHE_STORE), and what a folder takes on disk. */
#define _DEFAULT_SOURCE /* lstat, st_blocks */
#include "store_packed.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int weft__packed_is_packed(const char *dir) { return weft__disk_marker_is_packed(dir); }

/* The one place that says which store new folders get. */
#define DEFAULT_STORE weft__store_log /* bench/run_memory.sh's scale table: docs/cache-format.md */

const weft_store *weft__folder_default_store(void) {
    const char *s = weft_plat_getenv(WEFT__STORE_ENV);
    if (!s || !*s) return &DEFAULT_STORE;
    if (strcmp(s, "file") == 0) return &weft__store_disk;
    if (strcmp(s, "log") == 0) return &weft__store_log;
    return &weft__store_packed; /* "packed", or a bad name its open refuses */
}

int weft__packed_env_check(void) {
    const char *s = weft_plat_getenv(WEFT__STORE_ENV);
    if (!s || !*s || strcmp(s, "packed") == 0 || strcmp(s, "file") == 0 || strcmp(s, "log") == 0) return 0;
    return weft__set_error(WEFT_EINVAL, "%s='%.64s': expected 'packed', 'log' or 'file' (the default: %s)", WEFT__STORE_ENV, s, DEFAULT_STORE.name);
}

int weft__packed_file_path(const char *root, const char *task, const uint8_t key[16], char *buf,
                           size_t size) {
    char folder[1024], hex[33], kk[3];
    if (!weft__disk_escape(task, folder, sizeof folder)) return WEFT_EINVAL;
    weft__hex(key, 16, hex);
    memcpy(kk, hex, 2);
    kk[2] = '\0';
    if ((size_t)snprintf(buf, size, "%s/%s/%s/%s%s", root, folder, kk, hex, WEFT__DISK_SUFFIX) >= size)
        return WEFT_EINVAL;
    return 0;
}

int weft__packed_temps_only(const weft__store_item *item, void *filter) {
    weft__packed_filter *f = filter;
    return item->is_temp ? f->fn(item, f->user) : 0;
}

static int64_t tree_bytes(const char *path, int depth) {
    struct stat st;
    if (lstat(path, &st) != 0) return 0;
    if (!S_ISDIR(st.st_mode)) return (int64_t)st.st_blocks * 512;
    int64_t sum = (int64_t)st.st_blocks * 512;
    DIR *d = depth > 0 ? opendir(path) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char sub[4200];
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < sizeof sub)
            sum += tree_bytes(sub, depth - 1);
    }
    if (d) closedir(d);
    return sum;
}

int64_t weft__packed_folder_bytes(const char *dir) { return tree_bytes(dir, 4); }
