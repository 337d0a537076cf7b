/* A cache folder is input: damaged, hostile and busy caches, each case a defect of issue
 * 12 that once was real. Links planted in a cache pointing outside it (nothing outside is
 * touched by clear, prune, expiry), entries with short inline values, damaged times and
 * absurd sizes, FIFOs where files belong (no hang), I/O errors while listing (an error,
 * never a partial success; the fault shim tests/c/path_fault_shim.c injects them), a killed
 * export's temporary file, a full file system under the shared generation file, clear
 * and prune beside concurrent writers, the first task version, and loose numbers.
 * Native only: it runs the weft tool (WEFT_TOOL), forks and mounts a small tmpfs when
 * it may (root), and says "skip:" for what it cannot do. */
#define _GNU_SOURCE
#include "check.h"
#include "mem_util.h"
#include "store.h"
#include "weft.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static int hostile_twice(weft_task *t) {
    int64_t n;
    if (weft_args_get_i64(weft_input(t), weft_input_size(t), "n", &n)) return weft_fail(t, "no n");
    n *= 2;
    return weft_output(t, &n, sizeof n);
}
WEFT_TASK(hostile_twice)

static char output[65536];

/* Run a shell command (the tool under a 20 s timeout: a hang is a failure, not a stuck
 * suite); its exit status (128 + the signal when one killed it), output in `output`. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(output, 1, sizeof output - 1, p) : 0;
    output[n] = '\0';
    int status = p ? pclose(p) : -1;
    if (status == -1) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const char *tool_path(void) { return getenv("WEFT_TOOL"); }

/* The tool with a fault injected (ASan must not insist on coming first). */
static int tool_faulty(const char *op, const char *where, int err, const char *args) {
    return sh("LD_PRELOAD='%s' ASAN_OPTIONS=verify_asan_link_order=0 WEFT_FAULT_OP=%s "
              "WEFT_FAULT_PATH='%s' WEFT_FAULT_ERRNO=%d timeout 20 '%s' %s",
              getenv("WEFT_FAULT_SHIM"), op, where, err, tool_path(), args);
}

static weft_memory *open_mem(const char *dir, double max_age_s) {
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.quiet = 1;
    o.max_age_s = max_age_s;
    weft_memory *m = NULL;
    CHECK_EQ(weft_memory_open(&m, dir, &o), 0);
    return m;
}

/* Call hostile_twice(n): 0 and the value checked, or the error. */
static int call(weft_memory *m, int64_t n, int *hit) {
    weft_args *a = weft_args_new();
    weft_args_i64(a, "n", n);
    weft_bytes out = {0};
    int rc = weft_memory_call(m, WEFT_FN(hostile_twice), a, &out, hit);
    if (rc == 0 && (out.size != 8 || memcmp(out.data, &(int64_t){2 * n}, 8) != 0)) rc = -999;
    weft_bytes_free(&out, 1);
    weft_args_free(a);
    return rc;
}

/* A cache with entries for n = 0..count-1. */
static void make_cache(const char *dir, int count) {
    weft_memory *m = open_mem(dir, 0);
    for (int64_t n = 0; n < count; n++) CHECK_EQ(call(m, n, NULL), 0);
    weft_memory_close(m);
}

/* The entry file of hostile_twice(n). */
static void entry_path(const char *dir, int64_t n, char *path, size_t size) {
    weft_memory *m = open_mem(dir, 0);
    weft_args *a = weft_args_new();
    weft_args_i64(a, "n", n);
    char hex[33];
    weft_memory_key(m, WEFT_FN(hostile_twice), a, NULL, hex);
    snprintf(path, size, "%s/hostile_twice/%.2s/%s.wfe", dir, hex, hex);
    weft_args_free(a);
    weft_memory_close(m);
}

static size_t read_file(const char *path, unsigned char *buf, size_t size) {
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, size, f) : 0;
    if (f) fclose(f);
    return n;
}

static void write_file(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK_EQ(fwrite(buf, 1, n, f), n);
    fclose(f);
}

/* Give an entry header its checksum again after a field was changed: a damaged entry
 * that still passes its checksum, as a hostile or buggy writer makes one. */
static void reseal(unsigned char *h, size_t head_size) {
    memset(h + 80, 0, 8);
    weft__put64(h + 80, weft__hash64(h, head_size));
}

/* Set a 64-bit field of an entry file's header, checksum kept valid. */
static void patch_entry(const char *path, size_t offset, uint64_t value) {
    unsigned char buf[8192];
    size_t n = read_file(path, buf, sizeof buf);
    size_t hs = weft__entry_header_size(buf, n);
    CHECK(hs > 0 && hs <= n);
    if (!hs || hs > n) return;
    weft__put64(buf + offset, value);
    reseal(buf, hs);
    write_file(path, buf, n);
}

static int exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

/* ---- 1: links inside the cache are never followed, nothing outside is removed */
static void test_links(const char *base) {
    char dir[4200], out[4200], precious[4400], fan[4400], link[4400], fake[4400];
    snprintf(dir, sizeof dir, "%s/links-cache", base);
    snprintf(out, sizeof out, "%s/outside", base);
    make_cache(dir, 4);
    /* outside the cache: a folder shaped like a fan folder, holding entry-named files */
    mkdir(out, 0755);
    snprintf(fan, sizeof fan, "%s/ab", out);
    mkdir(fan, 0755);
    snprintf(precious, sizeof precious, "%s/precious.txt", out);
    write_file(precious, "keep me", 7);
    snprintf(fake, sizeof fake, "%s/ab/0123456789abcdef0123456789abcdef.wfe", out);
    write_file(fake, "not yours", 9);
    /* links inside the cache: a fan folder (a name no real one has), a task folder, an entry */
    for (int k = 0; k < 256; k++) {
        snprintf(link, sizeof link, "%s/hostile_twice/%02x", dir, k);
        if (!exists(link)) break;
    }
    CHECK_EQ(symlink(fan, link), 0);
    snprintf(link, sizeof link, "%s/linked_task", dir);
    CHECK_EQ(symlink(out, link), 0);
    snprintf(link, sizeof link, "%s/hostile_twice/zz", dir);
    CHECK_EQ(symlink(out, link), 0);
    char entry[4400];
    entry_path(dir, 0, entry, sizeof entry);
    unlink(entry);
    CHECK_EQ(symlink(precious, entry), 0);

    /* expiry and a lookup through the entry link: a miss, the target untouched */
    weft_memory *m = open_mem(dir, 1e-9);
    int hit = 1;
    CHECK_EQ(call(m, 0, &hit), 0);
    CHECK_EQ(hit, 0);
    CHECK_EQ(weft_memory_prune(m, 0, 1, 0, NULL), 0);
    weft_memory_close(m);
    CHECK(exists(precious) && exists(fake));

    CHECK_EQ(sh("timeout 20 '%s' cache clear '%s' linked_task", tool_path(), dir), 0);
    CHECK(exists(precious) && exists(fake));
    CHECK_EQ(sh("timeout 20 '%s' cache prune '%s' --max-items 1", tool_path(), dir), 0);
    CHECK(exists(precious) && exists(fake));
    CHECK_EQ(sh("timeout 20 '%s' cache clear '%s'", tool_path(), dir), 0);
    CHECK(exists(precious) && exists(fake));
    m = open_mem(dir, 0);
    CHECK_EQ(call(m, 1, NULL), 0);
    CHECK_EQ(weft_memory_clear(m, NULL), 0);
    CHECK_EQ(weft_memory_clear(m, "linked_task"), 0);
    weft_memory_close(m);
    CHECK(exists(precious) && exists(fake));
    /* a write never goes through a linked task folder */
    char outside_entry[4400];
    snprintf(outside_entry, sizeof outside_entry, "%s/hostile_twice", out);
    snprintf(link, sizeof link, "%s/hostile_twice", dir);
    rm_rf(link);
    mkdir(outside_entry, 0755);
    CHECK_EQ(symlink(outside_entry, link), 0);
    m = open_mem(dir, 0);
    CHECK_EQ(call(m, 2, NULL), 0); /* computed, right, not stored */
    weft_memory_close(m);
    /* nor does an import */
    char other[4400], arc[4400];
    snprintf(other, sizeof other, "%s/links-source", base);
    snprintf(arc, sizeof arc, "%s/links.wfa", base);
    make_cache(other, 3);
    CHECK_EQ(sh("timeout 20 '%s' cache export '%s' '%s'", tool_path(), other, arc), 0);
    CHECK(sh("timeout 20 '%s' cache import '%s' '%s'", tool_path(), dir, arc) != 0);
    CHECK_HAS(output, "link");
    char probe[64][4096];
    CHECK_EQ(find_entries(outside_entry, probe, 64), 0);
}

/* ---- 2: short inline values; a damaged journal record */
static void test_short_inline(const char *base) {
    char dir[4200], entry[4400], arc[4400];
    snprintf(dir, sizeof dir, "%s/inline-cache", base);
    make_cache(dir, 2);
    entry_path(dir, 1, entry, sizeof entry);
    unsigned char buf[4096];
    size_t n = read_file(entry, buf, sizeof buf);
    size_t hs = weft__entry_header_size(buf, n);
    weft__entry e;
    CHECK_EQ(weft__entry_parse(buf, hs, &e), 0);
    /* the one argument record, "n" (i64, inline): its payload size says 2, not 8 */
    unsigned char *rec = (unsigned char *)e.args_at;
    CHECK_EQ(rec[4] & WEFT__ARGREC_INLINE, WEFT__ARGREC_INLINE);
    weft__put64(rec + 8, 2);
    reseal(buf, hs);
    write_file(entry, buf, n);
    CHECK_EQ(sh("timeout 20 '%s' cache verify '%s'", tool_path(), dir), 1);
    CHECK_HAS(output, "1 corrupt");
    char hex[40];
    snprintf(hex, sizeof hex, "%.6s", strrchr(entry, '/') + 1);
    CHECK_EQ(sh("timeout 20 '%s' cache show '%s' hostile_twice %s", tool_path(), dir, hex), 1);
    CHECK(strstr(output, "AddressSanitizer") == NULL && strstr(output, "runtime error") == NULL);
    CHECK_HAS(output, "CORRUPT");

    /* the same entry in an archive: the import skips it as corrupt */
    snprintf(arc, sizeof arc, "%s/short.wfa", base);
    unsigned char a[8192], *p = a;
    memcpy(p, "WEFTARC\x1a", 8), weft__put32(p + 8, 1), weft__put32(p + 12, 0), p += 16;
    weft__put64(p, n), memcpy(p + 8, buf, n), p += 8 + n;
    weft__put64(p, 0), weft__put64(p + 8, 1), p += 16;
    write_file(arc, a, (size_t)(p - a));
    char fresh[4400];
    snprintf(fresh, sizeof fresh, "%s/inline-import", base);
    CHECK_EQ(sh("timeout 20 '%s' cache import '%s' '%s'", tool_path(), fresh, arc), 1);
    CHECK_HAS(output, "imported 0 entries");
    CHECK_HAS(output, "skipped 1 corrupt");

    /* two journal records whose i64 values hold 1 byte: `diff` must not read 8 */
    char jdir[4400], rec_path[4600];
    snprintf(jdir, sizeof jdir, "%s/.journal", dir);
    mkdir(jdir, 0755);
    snprintf(jdir, sizeof jdir, "%s/.journal/hostile_twice", dir);
    mkdir(jdir, 0755);
    for (int k = 0; k < 2; k++) {
        unsigned char r[256], *q = r;
        memcpy(q, "WFJ1\0\0\0\0", 8), q += 8;
        weft__put64(q, k ? INT64_MAX : (uint64_t)INT64_MIN), q += 8; /* damaged times too (3) */
        weft__put64(q, 0), q += 8;                                    /* a miss */
        memset(q, k, 16), q += 16;                                    /* key */
        weft__put16(q, 0), q += 2;                                    /* version "" */
        weft__put64(q, 1), q += 8;                                    /* one argument */
        weft__put16(q, 1), q[2] = 'n', q += 3;                        /* its name */
        q[0] = WEFT_ARG_I64, q[1] = 0, q[2] = 0, q[3] = 1, q += 4;    /* type, ndim, sig, value */
        weft__put64(q, 1), q += 8;                                    /* size: 1 byte */
        memset(q, 7 + k, 16), q += 16;                                /* fingerprint */
        *q++ = 42;                                                    /* the 1-byte value */
        weft__put32(r + 4, (uint32_t)(q - r));
        snprintf(rec_path, sizeof rec_path, "%s/%020d-%032d-m.wjr", jdir, k, k);
        write_file(rec_path, r, (size_t)(q - r));
    }
    int rc = sh("timeout 20 '%s' cache diff '%s' hostile_twice", tool_path(), dir);
    CHECK(rc == 0 || rc == 2);
    CHECK(strstr(output, "AddressSanitizer") == NULL && strstr(output, "runtime error") == NULL);
}

/* ---- 3: damaged times overflow nothing */
static void test_damaged_times(const char *base) {
    char dir[4200], entry[4400];
    snprintf(dir, sizeof dir, "%s/times-cache", base);
    make_cache(dir, 3);
    entry_path(dir, 0, entry, sizeof entry);
    patch_entry(entry, 32, (uint64_t)INT64_MIN); /* created */
    weft_memory *m = open_mem(dir, 3600);
    int hit = 1;
    CHECK_EQ(call(m, 0, &hit), 0);
    CHECK_EQ(hit, 0); /* that old: expired */
    /* a file time far past 2262 (the int64 nanosecond limit), and one far before 1970 */
    entry_path(dir, 1, entry, sizeof entry);
    struct timespec far[2] = {{(time_t)13000000000LL, 0}, {(time_t)13000000000LL, 0}};
    CHECK_EQ(utimensat(AT_FDCWD, entry, far, 0), 0);
    entry_path(dir, 2, entry, sizeof entry);
    struct timespec early[2] = {{-(time_t)13000000000LL, 0}, {-(time_t)13000000000LL, 0}};
    utimensat(AT_FDCWD, entry, early, 0); /* some file systems refuse: then not tested */
    CHECK_EQ(weft_memory_prune(m, 0, 0, 1.0, NULL), 0);
    CHECK_EQ(weft_memory_prune(m, 0, 1, 0, NULL), 0);
    weft_memory_close(m);
    make_cache(dir, 3);
    entry_path(dir, 1, entry, sizeof entry);
    CHECK_EQ(utimensat(AT_FDCWD, entry, far, 0), 0);
    CHECK_EQ(sh("timeout 20 '%s' cache ls '%s' hostile_twice", tool_path(), dir), 0);
    CHECK_EQ(sh("timeout 20 '%s' cache prune '%s' --max-age 1h", tool_path(), dir), 0);
    CHECK(strstr(output, "runtime error") == NULL);
}

/* ---- 4: sizes are checked against the file before anything is allocated */
static void test_absurd_sizes(const char *base) {
    char dir[4200], entry[4400];
    snprintf(dir, sizeof dir, "%s/sizes-cache", base);
    make_cache(dir, 2);
    entry_path(dir, 0, entry, sizeof entry);
    patch_entry(entry, 56, (uint64_t)1 << 62); /* value size 2^62, checksum valid */
    entry_path(dir, 1, entry, sizeof entry);
    unsigned char tiny[24] = {0};
    memcpy(tiny, WEFT__ENTRY_MAGIC, 8);
    weft__put16(tiny + 8, 1);
    weft__put32(tiny + 12, 0xfffffff8u); /* a 4 GiB header in a 24-byte file */
    write_file(entry, tiny, sizeof tiny);
    weft_memory *m = open_mem(dir, 0);
    int hit = 1;
    CHECK_EQ(call(m, 0, &hit), 0);
    CHECK_EQ(hit, 0);
    CHECK_EQ(call(m, 1, &hit), 0);
    CHECK_EQ(hit, 0);
    weft_memory_stats st;
    weft_memory_stats_get(m, &st);
    CHECK_EQ(st.corrupt, 2);
    CHECK_EQ(call(m, 0, &hit), 0);
    CHECK_EQ(hit, 1);

    /* an archive entry size with a high bit flipped: "damaged", not "out of memory" */
    char arc[4400];
    snprintf(arc, sizeof arc, "%s/sizes.wfa", base);
    CHECK_EQ(weft_memory_export(m, NULL, arc, NULL), 0);
    unsigned char a[65536];
    size_t n = read_file(arc, a, sizeof a);
    CHECK(n > 24);
    a[16 + 4] ^= 0x80; /* the first entry's size, bit 39 */
    write_file(arc, a, n);
    weft_memory *fresh = open_mem(dir, 0);
    int rc = weft_memory_import(fresh, arc, NULL);
    CHECK_EQ(rc, WEFT_ECORRUPT);
    CHECK_HAS(weft_last_error()->message, "damaged");
    weft_memory_close(fresh);
    weft_memory_close(m);
}

/* ---- 5: a FIFO where a file belongs: a miss for a call, a problem for the tool */
static void test_fifos(const char *base) {
    char dir[4200], entry[4400], marker[4400];
    snprintf(dir, sizeof dir, "%s/fifo-cache", base);
    make_cache(dir, 3);
    entry_path(dir, 1, entry, sizeof entry);
    unlink(entry);
    CHECK_EQ(mkfifo(entry, 0644), 0);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20); /* a hang is a failure */
        weft_memory *m = open_mem(dir, 0);
        int hit = 1, rc = call(m, 1, &hit);
        weft_memory_close(m);
        _exit(rc == 0 && hit == 0 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unlink(entry);
    CHECK_EQ(mkfifo(entry, 0644), 0);
    CHECK_EQ(sh("timeout 20 '%s' cache verify '%s'", tool_path(), dir), 1);
    CHECK_HAS(output, "NOT A FILE");
    CHECK(exists(entry)); /* reported, left alone */
    CHECK_EQ(sh("timeout 20 '%s' cache ls '%s' hostile_twice", tool_path(), dir), 0);
    CHECK_HAS(output, "NOT A FILE");
    CHECK_EQ(sh("timeout 20 '%s' cache ls '%s'", tool_path(), dir), 0);
    CHECK_EQ(sh("timeout 20 '%s' cache export '%s' '%s/fifo.wfa'", tool_path(), dir, base), 0);
    snprintf(marker, sizeof marker, "%s/%s", dir, WEFT__DISK_MARKER);
    unlink(marker);
    CHECK_EQ(mkfifo(marker, 0644), 0);
    CHECK_EQ(sh("timeout 20 '%s' cache ls '%s'", tool_path(), dir), 2);
    CHECK_HAS(output, "not a weft cache");
    CHECK_EQ(sh("timeout 20 '%s' cache verify '%s'", tool_path(), dir), 2);
}

/* ---- 6: I/O errors while listing are errors; a killed export's litter goes */
static void test_io_errors(const char *base, const char *self) {
    char dir[4200], arc[4400], where[4400];
    snprintf(dir, sizeof dir, "%s/eio-cache", base);
    make_cache(dir, 40);
    snprintf(arc, sizeof arc, "%s/eio.wfa", base);
    snprintf(where, sizeof where, "%s/hostile_twice", dir);
    char args[16384];
    snprintf(args, sizeof args, "cache verify '%s'", dir);
    CHECK(tool_faulty("readdir", where, EIO, args) != 0);
    CHECK(strstr(output, "entries ok") == NULL);
    CHECK_HAS(output, "Input/output error"); /* the shim was there, and the error is told */
    snprintf(args, sizeof args, "cache export '%s' '%s'", dir, arc);
    CHECK(tool_faulty("readdir", where, EIO, args) != 0);
    CHECK_HAS(output, "Input/output error");
    CHECK(!exists(arc));
    CHECK(tool_faulty("stat", "/hostile_twice/", ENOSPC, args) != 0);
    CHECK_HAS(output, "No space left on device");
    CHECK(!exists(arc));
    snprintf(args, sizeof args, "cache ls '%s' hostile_twice", dir);
    CHECK(tool_faulty("readdir", where, EIO, args) != 0);
    /* the library, not only the tool: weft_memory_export in a child with the shim */
    CHECK_EQ(sh("LD_PRELOAD='%s' ASAN_OPTIONS=verify_asan_link_order=0 WEFT_FAULT_OP=stat "
                "WEFT_FAULT_PATH=/hostile_twice/ WEFT_FAULT_ERRNO=%d timeout 20 '%s' export '%s' '%s'",
                getenv("WEFT_FAULT_SHIM"), ENOSPC, self, dir, arc), 0);
    CHECK_HAS(output, "export refused");
    CHECK_HAS(output, "No space left on device");
    CHECK(!exists(arc));

    /* SIGKILL in the middle of an export (it hangs on opening an entry) */
    char entry[4400];
    entry_path(dir, 7, entry, sizeof entry);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("LD_PRELOAD", getenv("WEFT_FAULT_SHIM"), 1);
        setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
        setenv("WEFT_FAULT_OP", "hang", 1);
        setenv("WEFT_FAULT_PATH", strrchr(entry, '/'), 1);
        execl(tool_path(), tool_path(), "cache", "export", dir, arc, (char *)NULL);
        _exit(127);
    }
    char temp[4600] = "";
    for (int i = 0; i < 400 && !temp[0]; i++) { /* up to 20 s for the temporary file */
        DIR *d = opendir(base);
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (strncmp(e->d_name, "eio.wfa.tmp-", 12) == 0) snprintf(temp, sizeof temp, "%s/%s", base, e->d_name);
        if (d) closedir(d);
        if (!temp[0]) usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK(temp[0] && exists(temp));
    CHECK(!exists(arc));
    /* the next export leaves a young one alone (another export may be at work) ... */
    CHECK_EQ(sh("timeout 20 '%s' cache export '%s' '%s'", tool_path(), dir, arc), 0);
    CHECK(exists(temp));
    /* ... and removes one older than any writer could still be at work on */
    struct timespec old[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
    utimensat(AT_FDCWD, temp, old, 0);
    CHECK_EQ(sh("timeout 20 '%s' cache export '%s' '%s'", tool_path(), dir, arc), 0);
    CHECK(!exists(temp));
    CHECK_HAS(output, "exported 40 entries");
}

/* ---- 7: a full file system under the shared generation file: no SIGBUS */
static void test_full_disk(const char *base) {
    char mnt[4200], dir[4400], filler[4500], gen[4500];
    snprintf(mnt, sizeof mnt, "%s/tmpfs", base);
    mkdir(mnt, 0755);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0) {
        SKIP("a full file system: cannot mount a small tmpfs (needs root)");
        return;
    }
    snprintf(dir, sizeof dir, "%s/cache", mnt);
    make_cache(dir, 3);
    snprintf(gen, sizeof gen, "%s/.weft-generation", dir);
    unlink(gen);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    FILE *f = fopen(filler, "wb");
    static char block[4096];
    while (f && fwrite(block, 1, sizeof block, f) == sizeof block && fflush(f) == 0) {
    }
    if (f) fclose(f);
    /* a clear that frees nothing first (no entries of that task): the generation file's
     * page is written with no block left for it */
    int rc = sh("timeout 20 '%s' cache clear '%s' no_such_task", tool_path(), dir);
    CHECK_EQ(rc, 0); /* 135 was SIGBUS */
    rc = sh("timeout 20 '%s' cache clear '%s'", tool_path(), dir);
    CHECK_EQ(rc, 0);
    CHECK_HAS(output, "removed 3 entries");
    umount2(mnt, MNT_DETACH);
}

/* ---- 8: clear and prune beside writers in other processes */
static void test_concurrent_clear(const char *base) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/busy-cache", base);
    make_cache(dir, 1);
    pid_t kids[3];
    for (int k = 0; k < 3; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            weft_memory *m = open_mem(dir, 0);
            int bad = 0;
            for (int64_t i = 0; i < 100000 && !bad; i++) bad = call(m, k * 1000000 + i % 300, NULL) != 0;
            weft_memory_close(m);
            _exit(bad);
        }
    }
    weft_memory *m = open_mem(dir, 0);
    int clear_errors = 0, prune_errors = 0;
    char message[512] = "";
    uint64_t end = weft_plat_now_ns() + 2000000000u; /* 2 s of clears and prunes */
    int rounds = 0;
    for (int round = 0; weft_plat_now_ns() < end || round < 5; round++, rounds++) {
        if (weft_memory_clear(m, round % 2 ? NULL : "hostile_twice") != 0) {
            clear_errors++;
            snprintf(message, sizeof message, "%s", weft_last_error()->message);
        }
        if (weft_memory_prune(m, 0, 20, 0, NULL) != 0) prune_errors++;
        usleep(2000);
    }
    printf("concurrent clear: %d rounds of clear + prune beside 3 writers\n", rounds);
    for (int k = 0; k < 3; k++) kill(kids[k], SIGTERM);
    int writers_ok = 1;
    for (int k = 0; k < 3; k++) {
        int status;
        waitpid(kids[k], &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0) writers_ok = 0;
    }
    if (clear_errors) fprintf(stderr, "clear failed %d times: %s\n", clear_errors, message);
    CHECK_EQ(clear_errors, 0);
    CHECK_EQ(prune_errors, 0);
    CHECK(writers_ok);
    weft_memory_close(m);
    /* whatever stayed is whole (temporary files of the killed writers aside) */
    CHECK_EQ(sh("timeout 20 '%s' cache verify '%s'", tool_path(), dir), 0);
    CHECK_HAS(output, " 0 corrupt");
}

/* ---- 12: the first version given to a task removes its unversioned entries */
static void test_first_version(const char *base) {
    char dir[4200], tdir[4400];
    snprintf(dir, sizeof dir, "%s/version-cache", base);
    make_cache(dir, 3);
    snprintf(tdir, sizeof tdir, "%s/hostile_twice", dir);
    char paths[64][4096];
    CHECK_EQ(find_entries(tdir, paths, 64), 3);
    weft_memory *m = open_mem(dir, 0);
    CHECK_EQ(weft_memory_set_version(m, "hostile_twice", "v1"), 0);
    CHECK_EQ(call(m, 0, NULL), 0);
    weft_memory_close(m);
    CHECK_EQ(find_entries(tdir, paths, 64), 1);
}

/* ---- 13: numbers from outside are parsed strictly */
static void test_numbers(const char *base) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/numbers-cache", base);
    make_cache(dir, 2);
    const char *bad[] = {"--max-bytes 1e300G", "--max-bytes inf", "--max-bytes nan", "--max-bytes -5",
                         "--max-bytes ' 5'", "--max-items 0.5", "--max-items 1e30", "--max-items 0",
                         "--max-items 3x", "--max-age -1s", "--max-age 1y", "--max-bytes ''"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = sh("timeout 20 '%s' cache prune '%s' %s", tool_path(), dir, bad[i]);
        if (rc != 2) fprintf(stderr, "accepted: prune %s (%d)\n", bad[i], rc);
        CHECK_EQ(rc, 2);
        CHECK_HAS(output, "prune: bad");
    }
    CHECK_EQ(sh("timeout 20 '%s' cache prune '%s' --max-items 1", tool_path(), dir), 0);
    CHECK_HAS(output, "removed 1 entries");
    CHECK_EQ(sh("timeout 20 '%s' cache prune '%s' --max-bytes 1.5k --max-age 2d", tool_path(), dir), 0);
    CHECK_EQ(sh("timeout 20 '%s' cache verify '%s' --fxi", tool_path(), dir), 2);
    CHECK_EQ(sh("timeout 20 '%s' cache stats '%s' extra", tool_path(), dir), 2);
    CHECK_EQ(sh("timeout 20 '%s' cache ls '%s' hostile_twice extra", tool_path(), dir), 2);
    CHECK_EQ(sh("WEFT_VERBOSE=' ' timeout 20 '%s' cache ls '%s'", tool_path(), dir), 0);
    weft_options o;
    setenv("WEFT_VERBOSE", " ", 1);
    CHECK_EQ(weft_config_current(&o), WEFT_ENV);
    CHECK_HAS(weft_last_error()->message, "WEFT_VERBOSE");
    unsetenv("WEFT_VERBOSE");
}

int main(int argc, char **argv) {
    /* the child mode of test_io_errors: weft_memory_export under the fault shim */
    if (argc == 4 && strcmp(argv[1], "export") == 0) {
        weft_memory *m = open_mem(argv[2], 0);
        int64_t n = -1;
        int rc = weft_memory_export(m, NULL, argv[3], &n);
        printf(rc ? "export refused: %s\n" : "exported %s\n", rc ? weft_last_error()->message : "");
        weft_memory_close(m);
        return 0;
    }
    if (!tool_path() || !getenv("WEFT_FAULT_SHIM")) {
        printf("WEFT_TOOL or WEFT_FAULT_SHIM is not set: skipped\n");
        return 0;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    char *base = temp_dir("hostile");
    /* WEFT_HOSTILE_SKIP="test_links test_fifos ...": leave cases out (to see the others
     * fail on a build without the fixes: some of them abort under the sanitizers) */
    const char *skip = getenv("WEFT_HOSTILE_SKIP");
#define RUN(fn, ...)                                                                   \
    do {                                                                               \
        if (skip && strstr(skip, #fn)) break;                                          \
        uint64_t t0 = weft_plat_now_ns();                                              \
        fn(__VA_ARGS__);                                                               \
        printf("%-24s %6.2f s\n", #fn, (double)(weft_plat_now_ns() - t0) * 1e-9);      \
    } while (0)
    RUN(test_links, base);
    RUN(test_short_inline, base);
    RUN(test_damaged_times, base);
    RUN(test_absurd_sizes, base);
    RUN(test_fifos, base);
    RUN(test_io_errors, base, self);
    RUN(test_full_disk, base);
    RUN(test_concurrent_clear, base);
    RUN(test_first_version, base);
    RUN(test_numbers, base);
    rm_rf(base);
    free(base);
    return CHECK_DONE();
}
