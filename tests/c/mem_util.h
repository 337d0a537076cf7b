/* Helpers for the Memory tests: temporary folders, files, tree removal. POSIX calls that
 * WASI has too. */
#ifndef WEFT_MEM_UTIL_H
#define WEFT_MEM_UTIL_H
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

static inline void rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[4096];
            if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < sizeof sub) rm_rf(sub);
        }
        if (d) closedir(d);
        rmdir(path);
    } else
        unlink(path);
}

/* A fresh folder under $TMPDIR (or /tmp), removed at exit by the caller. Made by hand,
 * not mkdtemp: WASI's libc has none. */
static inline char *temp_dir(const char *tag) {
    const char *base = getenv("TMPDIR");
    char *p = malloc(4096);
    for (int tries = 0; tries < 100; tries++) {
        unsigned char r[6];
        if (getentropy(r, sizeof r)) break;
        snprintf(p, 4096, "%s/weft-%s-%02x%02x%02x%02x%02x%02x", base && *base ? base : "/tmp", tag, r[0],
                 r[1], r[2], r[3], r[4], r[5]);
        if (mkdir(p, 0700) == 0) return p;
        if (errno != EEXIST) break;
    }
    fprintf(stderr, "cannot make a temporary folder %s: %s\n", p, strerror(errno));
    exit(2);
}

/* Non-zero when a folder made with mode 0555 keeps the caller out. Not for root, nor
 * under WASI, whose mkdir takes no mode: there a file can still be created in it. */
static inline int permissions_bind(const char *dir) {
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/.probe", dir);
    FILE *f = fopen(probe, "w");
    if (f) {
        fclose(f);
        unlink(probe);
    }
    return f == NULL;
}

/* Every entry file (*.wfe) under a cache folder, collected into paths[]; the count. */
static inline int find_entries(const char *dir, char paths[][4096], int max) {
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && n < max) {
        if (e->d_name[0] == '.') continue;
        char sub[4096];
        struct stat st;
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) >= sizeof sub || stat(sub, &st) != 0)
            continue;
        size_t len = strlen(e->d_name);
        if (S_ISDIR(st.st_mode))
            n += find_entries(sub, paths + n, max - n);
        else if (len > 4 && strcmp(e->d_name + len - 4, ".wfe") == 0)
            snprintf(paths[n++], 4096, "%s", sub);
    }
    if (d) closedir(d);
    return n;
}

static inline long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static inline void flip_byte(const char *path, long at) {
    FILE *f = fopen(path, "r+b");
    if (!f) return;
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0x5a, f);
    fclose(f);
}
/* How many entries a cache folder holds, whichever store it is (temporary files not
 * counted); -1 when it cannot be opened. */
static inline int count_entries_cb(const weft__store_item *it, void *user) {
    if (!it->is_temp) ++*(int *)user;
    return 0;
}

static inline int count_entries(const char *dir) {
    const weft_store *s = weft__store_for(dir);
    void *state = calloc(1, s->state_size);
    int n = -1;
    if (state && s->open(state, dir) == 0) {
        n = 0;
        if (s->list(state, NULL, count_entries_cb, &n) != 0) n = -1;
        s->close(state);
    }
    free(state);
    return n;
}
#endif
