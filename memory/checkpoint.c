/* Checkpoints of iterative state: DIR/NAME/step-<20 digits>.wck, each a cache entry
 * (core/entry.c: header with checksums, then the state), written to a temporary file and
 * renamed into place. The newest K are kept; older ones are removed only after a newer
 * one is in place, so a kill at any moment leaves the previous checkpoint loadable. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct weft_checkpoint {
    char *dir;
    char *task; /* "checkpoint:NAME", the entries' task name */
    int keep, fsync;
};

static void step_key(const weft_checkpoint *c, int64_t step, uint8_t key[16]) {
    weft__raw_key(c->task, "", &step, sizeof step, key);
}

typedef struct steps {
    int64_t *v;
    size_t n, cap;
    const char *dir;
    int64_t now;
} steps;

static int collect(const char *name, int is_dir, void *user) {
    steps *s = user;
    if (is_dir) return 0;
    if (strncmp(name, WEFT__DISK_TEMP_PREFIX, sizeof WEFT__DISK_TEMP_PREFIX - 1) == 0) {
        char path[4096];
        weft_plat_file_info st;
        snprintf(path, sizeof path, "%s/%s", s->dir, name);
        if (weft_plat_lstat(path, &st) == 0 && st.is_regular &&
            weft__sub_sat(s->now, st.mtime_ns) > WEFT__DISK_TEMP_STALE_NS)
            weft_plat_unlink(path);
        return 0;
    }
    long long step;
    char tail[8];
    if (strlen(name) != 29 || sscanf(name, "step-%20lld%5s", &step, tail) != 2 || strcmp(tail, ".wck") != 0)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        int64_t *v = realloc(s->v, cap * sizeof *v);
        if (!v) return WEFT_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = step;
    return 0;
}

static int newest_first(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x > y ? -1 : x < y;
}

static int list_steps(const weft_checkpoint *c, steps *s) {
    memset(s, 0, sizeof *s);
    s->dir = c->dir;
    s->now = weft_plat_wall_ns();
    int rc = weft_plat_list_dir(c->dir, collect, s);
    if (rc < 0) return weft__set_error(WEFT_ESYS, "cannot list the checkpoints in '%s': %s", c->dir, weft_plat_strerror(rc));
    if (rc) return weft__set_error(rc, "out of memory listing checkpoints");
    if (s->n) qsort(s->v, s->n, sizeof *s->v, newest_first);
    return 0;
}

static void step_path(const weft_checkpoint *c, int64_t step, char *buf, size_t size) {
    snprintf(buf, size, "%s/step-%020lld.wck", c->dir, (long long)step);
}

int weft_checkpoint_open(weft_checkpoint **out, const char *dir, const char *name, int keep,
                         int fsync) {
    if (!out) return weft__set_error(WEFT_EINVAL, "weft_checkpoint_open: out is NULL");
    *out = NULL;
    if (!dir || !*dir || !name || !*name)
        return weft__set_error(WEFT_EINVAL, "weft_checkpoint_open: dir and name must not be NULL or empty");
    char folder[1024];
    if (!weft__disk_escape(name, folder, sizeof folder))
        return weft__set_error(WEFT_EINVAL, "weft_checkpoint_open: name too long");
    weft_checkpoint *c = calloc(1, sizeof *c);
    size_t n = strlen(dir) + strlen(folder) + 2;
    if (!c || !(c->dir = malloc(n)) || !(c->task = malloc(strlen(name) + 12))) {
        if (c) free(c->dir);
        free(c);
        return weft__set_error(WEFT_ENOMEM, "weft_checkpoint_open: out of memory");
    }
    snprintf(c->dir, n, "%s/%s", dir, folder);
    sprintf(c->task, "checkpoint:%s", name);
    c->keep = keep > 0 ? keep : 2;
    c->fsync = fsync;
    int rc = weft_plat_mkdir(dir);
    if (!rc) rc = weft_plat_mkdir(c->dir);
    if (rc) {
        weft__set_error(WEFT_ESYS, "cannot create the checkpoint folder '%s': %s", c->dir, weft_plat_strerror(rc));
        weft_checkpoint_close(c);
        return WEFT_ESYS;
    }
    *out = c;
    return 0;
}

void weft_checkpoint_close(weft_checkpoint *c) {
    if (!c) return;
    free(c->dir);
    free(c->task);
    free(c);
}

int weft_checkpoint_save(weft_checkpoint *c, int64_t step, const void *data, size_t size) {
    if (!c || (size && !data) || step < 0)
        return weft__set_error(WEFT_EINVAL, "weft_checkpoint_save: needs a checkpoint, a step >= 0 and data when size > 0");
    uint8_t key[16];
    step_key(c, step, key);
    weft__entry_desc d = {.flags = WEFT__ENTRY_RAW_INPUT, .key = key, .task = c->task, .version = "", .created_ns = weft_plat_wall_ns(), .input_size = sizeof step, .value = data, .value_size = size};
    unsigned char *head;
    size_t head_size;
    int rc = weft__entry_build(&d, &head, &head_size);
    if (rc) return rc;
    char path[4096];
    step_path(c, step, path, sizeof path);
    rc = weft__disk_write_file(path, head, head_size, data, size, c->fsync);
    free(head);
    if (rc) return weft__set_error(WEFT_ESYS, "cannot write the checkpoint '%s': %s", path, weft_plat_strerror(rc));
    steps s;
    if (list_steps(c, &s) == 0) {
        /* keep the newest K, counting the one just written however its step compares */
        for (size_t i = (size_t)c->keep; i < s.n; i++) {
            if (s.v[i] == step) continue;
            step_path(c, s.v[i], path, sizeof path);
            weft_plat_unlink(path);
        }
    }
    free(s.v);
    weft__clear_error();
    return 0;
}

/* Read and check one checkpoint file: 0 and its state, or non-zero. */
static int read_step(const weft_checkpoint *c, int64_t step, weft_bytes *out) {
    char path[4096];
    step_path(c, step, path, sizeof path);
    int fd = weft_plat_open_read(path);
    if (fd < 0) return -1;
    weft_plat_file_info st;
    unsigned char *all = NULL;
    int rc = -1;
    if (weft_plat_fstat(fd, &st) == 0 && st.size >= WEFT__ENTRY_FIXED && (all = malloc((size_t)st.size)) &&
        weft_plat_read(fd, all, (size_t)st.size) == st.size) {
        weft__entry e;
        uint8_t key[16];
        step_key(c, step, key);
        if (weft__entry_check_whole(all, (size_t)st.size, NULL, key, &e) == 0) {
            size_t n = (size_t)e.value_size;
            out->data = malloc(n ? n : 1);
            if (out->data) {
                memcpy(out->data, all + e.header_size, n);
                out->size = n;
                rc = 0;
            }
        }
    }
    free(all);
    weft_plat_close(fd);
    return rc;
}

int weft_checkpoint_load(weft_checkpoint *c, int64_t *step, weft_bytes *out, int *skipped) {
    if (skipped) *skipped = 0;
    if (!c || !step || !out) return weft__set_error(WEFT_EINVAL, "weft_checkpoint_load: checkpoint, step and out must not be NULL");
    out->data = NULL;
    out->size = 0;
    steps s;
    int rc = list_steps(c, &s);
    if (rc) return rc;
    rc = weft__set_error(WEFT_ENOTFOUND, "no valid checkpoint in '%s'", c->dir);
    for (size_t i = 0; i < s.n; i++) {
        if (read_step(c, s.v[i], out) == 0) {
            *step = s.v[i];
            rc = 0;
            weft__clear_error();
            break;
        }
        if (skipped) ++*skipped;
    }
    free(s.v);
    return rc;
}
