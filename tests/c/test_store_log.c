/* The log store (memory/store_log.c) on its own, with real files and processes:
 * eviction by limits and age (used entries get a second chance), a damaged value, record
 * or index (detected, recomputed or rebuilt, never returned), writers SIGKILLed at random
 * points of their batches, a full disk, batched reads, the index growing while another
 * process reads, 8 processes writing with eviction at once, the tool. Its conformance
 * under Memory is the other Memory suites, run on it with WEFT_CACHE_STORE=log
 * (tests/c/CMakeLists.txt). */
#define _DEFAULT_SOURCE
#include "check.h"
#include "mem_util.h"
#include "store_log.h"
#include "store_packed.h"
#include "weft.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "store_test_util.h"

static void test_chosen(const char *base) {
    char dir[4200], idx[4300];
    snprintf(dir, sizeof dir, "%s/new", base);
    CHECK_EQ(cached_map(dir, 100, 0, NULL), 100);
    CHECK_EQ(weft__disk_marker_kind(dir), WEFT__MARKER_LOG);
    CHECK(weft__store_for(dir) == &weft__store_log);
    snprintf(idx, sizeof idx, "%s/" WEFT__LOG_INDEX, dir);
    CHECK_EQ(access(idx, F_OK), 0);
    CHECK_EQ(cached_map(dir, 100, 0, NULL), 0);
    CHECK_EQ(count_entries(dir), 100);
    /* opened by whatever store new folders get now: the marker decides */
    setenv("WEFT_CACHE_STORE", "packed", 1);
    CHECK(weft__store_for(dir) == &weft__store_log);
    CHECK_EQ(cached_map(dir, 100, 0, NULL), 0);
    setenv("WEFT_CACHE_STORE", "log", 1);
}

/* Limits evict what was not used since written, oldest first; max_age expires. */
static void test_evict(const char *base) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/evict", base);
    CHECK_EQ(cached_map(dir, 1000, 0, NULL), 1000);
    weft_memory *m;
    CHECK_EQ(weft_memory_open(&m, dir, NULL), 0);
    int64_t removed;
    CHECK_EQ(weft_memory_prune(m, 0, 990, 0, &removed), 0);
    CHECK_EQ(removed, 10);
    CHECK_EQ(count_entries(dir), 990);
    weft_memory_close(m);
    CHECK_EQ(cached_map(dir, 10, 0, NULL), 10); /* the oldest ten were the ones to go */
    CHECK_EQ(cached_map(dir, 990, 10, NULL), 0);
    /* a cache with max_items stays within it as a map writes */
    weft_memory_options mo = WEFT_MEMORY_OPTIONS_INIT;
    mo.max_items = 500;
    CHECK_EQ(cached_map(dir, 2000, 5000, &mo), 2000);
    CHECK(count_entries(dir) <= 500 + 300);
    CHECK_EQ(weft_memory_open(&m, dir, NULL), 0);
    usleep(20000);
    CHECK_EQ(weft_memory_prune(m, 0, 0, 0.01, &removed), 0); /* unused for 10 ms: all */
    CHECK(removed > 0);
    CHECK_EQ(count_entries(dir), 0);
    weft_memory_close(m);
    /* every segment the hand passed is gone: what is left on disk is the index */
    char idx[4300];
    snprintf(idx, sizeof idx, "%s/" WEFT__LOG_INDEX, dir);
    struct stat st;
    CHECK_EQ(stat(idx, &st), 0);
    int64_t disk = weft__packed_folder_bytes(dir) - (int64_t)st.st_blocks * 512;
    printf("evicted all: %lld bytes left on disk beside the index\n", (long long)disk);
    CHECK(disk < 64 * 1024);
}

typedef struct keys {
    uint8_t v[4096][16];
    int n;
} keys;

static int collect_key(const weft__store_item *it, void *user) {
    keys *k = user;
    if (!it->is_temp && k->n < 4096) memcpy(k->v[k->n++], it->key, 16);
    return 0;
}

/* Entries used since they were written get a second chance; the others go. */
static void test_touch_then_evict(const char *base) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/lru", base);
    void *st;
    const weft_store *s = open_store(dir, &st);
    uint8_t key[100][16], head[40] = {0}, value[8] = {0};
    for (int i = 0; i < 100; i++) {
        memset(key[i], 0, 16);
        key[i][0] = (uint8_t)i;
        CHECK_EQ(s->put(st, "lru", key[i], head, sizeof head, value, sizeof value, 0), 0);
    }
    for (int i = 0; i < 10; i++) CHECK_EQ(s->touch(st, "lru", key[i], weft_plat_wall_ns() + 1000000), 0);
    usleep(2000);
    weft__store_evicted e;
    CHECK_EQ(s->evict(st, 0, 90, 0, &e), 0);
    CHECK_EQ(e.evicted, 10);
    CHECK_EQ(e.items_left, 90);
    for (int i = 0; i < 20; i++) { /* 0..9 were used: 10..19 went */
        weft_bytes h, v;
        int64_t at;
        int rc = s->get(st, "lru", key[i], &h, &v, &at);
        CHECK_EQ(rc, i < 10 ? 0 : WEFT_ENOTFOUND);
        if (!rc) free(h.data), free(v.data);
    }
    /* the used ones went to the back of the queue: the hand takes 20..29 next, and
     * 0..9 (unused since their second chance) only after all the others */
    CHECK_EQ(s->evict(st, 0, 80, 0, &e), 0);
    CHECK_EQ(e.evicted, 10);
    CHECK_EQ(s->evict(st, 0, 10, 0, &e), 0);
    CHECK_EQ(e.evicted, 70);
    for (int i = 0; i < 100; i++) {
        weft_bytes h, v;
        int64_t at;
        int rc = s->get(st, "lru", key[i], &h, &v, &at);
        CHECK_EQ(rc, i < 10 ? 0 : WEFT_ENOTFOUND);
        if (!rc) free(h.data), free(v.data);
    }
    close_store(s, st);
}

/* A value that fails its checksum is reported, removed and recomputed. */
static void test_bad_value(const char *base) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/bad-value", base);
    CHECK_EQ(cached_map(dir, 50, 0, NULL), 50);
    void *st;
    const weft_store *s = open_store(dir, &st);
    CHECK(s == &weft__store_log);
    static keys k;
    CHECK_EQ(s->list(st, "cube", collect_key, &k), 0);
    CHECK_EQ(k.n, 50);
    for (int i = 0; i < k.n; i++) {
        weft_bytes head, value;
        int64_t at;
        CHECK_EQ(s->get(st, "cube", k.v[i], &head, &value, &at), 0);
        ((unsigned char *)value.data)[i % value.size] ^= 0x10;
        CHECK_EQ(s->put(st, "cube", k.v[i], head.data, head.size, value.data, value.size, 0), 0);
        free(head.data), free(value.data);
    }
    close_store(s, st);
    CHECK_EQ(cached_map(dir, 50, 0, NULL), 50); /* every one recomputed, none returned */
    CHECK_EQ(cached_map(dir, 50, 0, NULL), 0);
}

static void overwrite(const char *path, long at, long n) {
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (!f) return;
    fseek(f, at, SEEK_SET);
    for (long i = 0; i < n; i++) fputc((int)(i * 131 + 7) & 0xff, f);
    fclose(f);
}

static void seg_path(const char *dir, int seg, char *buf, size_t size) {
    snprintf(buf, size, "%s/" LOG_SEG_PREFIX "%08x" LOG_SEG_SUFFIX, dir, seg);
}

/* Damaged records (bytes in the middle of a segment): those entries are recomputed,
 * the others are hits; never a wrong value. */
static void test_damaged_records(const char *base) {
    char dir[4200], seg[4300];
    snprintf(dir, sizeof dir, "%s/damaged-records", base);
    CHECK_EQ(cached_map(dir, 3000, 0, NULL), 3000);
    seg_path(dir, 1, seg, sizeof seg);
    long size = file_size(seg);
    CHECK(size > 3000 * 100);
    overwrite(seg, size / 2, 2000);
    int ran = cached_map(dir, 3000, 0, NULL); /* checks every value */
    printf("damaged records: %d of 3000 recomputed\n", ran);
    CHECK(ran > 0 && ran < 100);
    CHECK_EQ(cached_map(dir, 3000, 0, NULL), 0);
}

static int sum_entries(const char *task, int64_t entries, int64_t bytes, int64_t compute, int64_t newest,
                       void *user) {
    (void)task, (void)bytes, (void)compute, (void)newest;
    *(int64_t *)user += entries;
    return 0;
}

/* Records lost to damage: overwritten ones were left out of the listing, so `weft cache
 * verify` said all was well, and removing them left the totals counting them; a segment
 * cut short kept its slots and totals (a prune then evicted good entries for them). Now
 * damaged ones are listed, read as corrupt, removed and the totals counted again; a
 * segment cut short is found when a writer opens the folder. */
static void test_lost_records(const char *base) {
    for (int cut = 0; cut < 2; cut++) {
        char dir[4200], seg[4300];
        snprintf(dir, sizeof dir, "%s/lost-records-%d", base, cut);
        CHECK_EQ(cached_map(dir, 3000, 0, NULL), 3000);
        seg_path(dir, 1, seg, sizeof seg);
        if (cut) CHECK_EQ(truncate(seg, file_size(seg) / 2), 0);
        if (!cut) overwrite(seg, file_size(seg) / 3, file_size(seg) / 3);
        void *st;
        const weft_store *s = open_store(dir, &st);
        static keys k;
        k.n = 0;
        CHECK_EQ(s->list(st, NULL, collect_key, &k), 0);
        CHECK_EQ(k.n, cut ? 1500 : 3000);
        int ok = 0, bad = 0;
        for (int i = 0; i < k.n; i++) {
            weft_bytes head, value;
            int64_t at;
            int rc = s->get(st, "cube", k.v[i], &head, &value, &at);
            if (rc == 0) free(head.data), free(value.data), ok++;
            if (rc == WEFT_ECORRUPT) {
                CHECK_EQ(s->remove(st, "cube", k.v[i]), 0);
                bad++;
            }
        }
        printf("lost records (%s): %d read, %d corrupt\n", cut ? "cut" : "overwritten", ok, bad);
        CHECK(ok >= 1000 && ok + bad == k.n && (cut ? bad == 0 : bad >= 900));
        close_store(s, st);
        s = open_store(dir, &st);
        int64_t entries = 0;
        CHECK_EQ(s->summary(st, sum_entries, &entries, NULL), 0);
        CHECK_EQ(entries, ok);
        close_store(s, st);
        CHECK_EQ(count_entries(dir), ok);
    }
}

/* A damaged index (its header, its size, or gone): moved aside and rebuilt from the
 * segments, every entry found again. */
static void test_damaged_index(const char *base) {
    for (int kind = 0; kind < 3; kind++) {
        char dir[4200], idx[4300];
        snprintf(dir, sizeof dir, "%s/damaged-index-%d", base, kind);
        CHECK_EQ(cached_map(dir, 3000, 0, NULL), 3000);
        snprintf(idx, sizeof idx, "%s/" WEFT__LOG_INDEX, dir);
        if (kind == 0) overwrite(idx, 0, 100);
        if (kind == 1) CHECK_EQ(truncate(idx, 70000), 0);
        if (kind == 2) CHECK_EQ(unlink(idx), 0);
        int ran = cached_map(dir, 3000, 0, NULL);
        printf("damaged index (%s): %d of 3000 recomputed\n", kind == 0 ? "header" : kind == 1 ? "size"
                                                                                               : "gone",
               ran);
        CHECK_EQ(ran, 0);
        CHECK_EQ(count_entries(dir), 3000);
    }
}

/* Garbage over the index's slots (its header intact): no slot is free, so a probe for a
 * new key once went round the table forever. Now lookups miss (values checked), the
 * first store rebuilds the index from the segments, and the totals stay right. */
static void test_garbage_slots(const char *base) {
    char dir[4200], idx[4300];
    snprintf(dir, sizeof dir, "%s/garbage-slots", base);
    CHECK_EQ(cached_map(dir, 3000, 0, NULL), 3000);
    snprintf(idx, sizeof idx, "%s/" WEFT__LOG_INDEX, dir);
    overwrite(idx, LOG_HEADER_BYTES, file_size(idx) - LOG_HEADER_BYTES);
    weft_memory_options mo = WEFT_MEMORY_OPTIONS_INIT;
    mo.quiet = 1;
    CHECK_EQ(cached_map(dir, 3100, 0, &mo), 3100);
    CHECK_EQ(cached_map(dir, 3100, 0, &mo), 0);
    CHECK_EQ(count_entries(dir), 3100);
}

/* Writers killed at random points of their batches: every entry the store then holds is
 * whole and right (those of the batch not yet reported stored may be absent). */
static void fill(uint8_t *b, size_t n, const uint8_t key[16]) {
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(key[i % 16] * 31 + i);
}

static int check_all(const char *dir, const char *task, int *listed) {
    void *st;
    const weft_store *s = open_store(dir, &st);
    static keys k;
    k.n = 0;
    CHECK_EQ(s->list(st, task, collect_key, &k), 0);
    int bad = 0;
    for (int i = 0; i < k.n; i++) {
        weft_bytes head, value;
        int64_t at;
        uint8_t want[100];
        int rc = s->get(st, task, k.v[i], &head, &value, &at);
        if (rc != 0) {
            printf("listed but not read: rc %d\n", rc);
            bad++;
            continue;
        }
        fill(want, 100, k.v[i]);
        bad += value.size != 100 || memcmp(value.data, want, 100) != 0 || head.size != 40;
        free(head.data), free(value.data);
    }
    close_store(s, st);
    *listed = k.n;
    return bad;
}

/* A store of 100-byte values for key i (the kill test's fill), through s. */
static int put_filled(const weft_store *s, void *st, int first, int n) {
    int failed = 0;
    for (int i = first; i < first + n; i++) {
        uint8_t key[16] = {0}, head[40], value[100];
        memcpy(key, &i, sizeof i);
        key[12] = 7;
        fill(head, 40, key), fill(value, 100, key);
        failed += s->put(st, "reuse", key, head, 40, value, 100, 0) != 0;
    }
    return failed;
}

/* Cleared, then its index lost: the rebuild started the log again at segment 1, a number
 * a running process still had mapped (and open for appending), deleted. That process then
 * read the old file (every entry corrupt, removed) and appended to it (stores lost). */
static void test_segment_reuse(const char *base) {
    char dir[4200], idx[4300];
    snprintf(dir, sizeof dir, "%s/reuse", base);
    void *a, *b;
    const weft_store *s = open_store(dir, &a);
    CHECK_EQ(put_filled(s, a, 0, 500), 0);
    int listed;
    CHECK_EQ(check_all(dir, "reuse", &listed), 0);
    CHECK_EQ(s->clear(a, NULL), 0);
    snprintf(idx, sizeof idx, "%s/" WEFT__LOG_INDEX, dir);
    CHECK_EQ(unlink(idx), 0);
    open_store(dir, &b);
    CHECK_EQ(put_filled(s, b, 1000, 3000), 0);
    close_store(s, b);
    CHECK_EQ(put_filled(s, a, 5000, 10), 0); /* a finds the new index */
    int bad = 0;
    for (int i = 1000; i < 4000; i++) {
        uint8_t key[16] = {0};
        memcpy(key, &i, sizeof i);
        key[12] = 7;
        weft_bytes head, value;
        int64_t at;
        if (s->get(a, "reuse", key, &head, &value, &at) != 0) {
            bad++;
            continue;
        }
        free(head.data), free(value.data);
    }
    CHECK_EQ(bad, 0);
    close_store(s, a);
    CHECK_EQ(check_all(dir, "reuse", &listed), 0);
    CHECK_EQ(listed, 3010);
}

static void test_kill_mid_write(const char *base) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/killed", base);
    int total_bad = 0, listed = 0;
    for (int round = 0; round < 24; round++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            void *st;
            const weft_store *s = open_store(dir, &st);
            weft__store_put puts[64];
            static uint8_t k[64][16], head[64][40], value[64][100];
            for (uint32_t batch = 0;; batch++) {
                for (int i = 0; i < 64; i++) {
                    uint32_t id = (uint32_t)round << 24 | (batch % 64) << 8 | (uint32_t)i;
                    memset(k[i], 0, 16);
                    memcpy(k[i], &id, 4);
                    k[i][5] = (uint8_t)(id * 2654435761u >> 24);
                    fill(head[i], 40, k[i]);
                    fill(value[i], 100, k[i]);
                    puts[i] = (weft__store_put){"killed", k[i], head[i], value[i], 40, 100, 0};
                }
                s->put_many(st, puts, 64, 0);
                if (batch % 16 == 15) { /* and evictions, so the hand moves too */
                    weft__store_evicted e;
                    s->evict(st, 0, 3000, 0, &e);
                }
            }
        }
        unsigned r;
        getentropy(&r, sizeof r);
        usleep(2000 + r % 60000);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status));
        total_bad += check_all(dir, "killed", &listed);
    }
    printf("killed writers: 24 rounds, %d entries listed at the end, %d bad\n", listed, total_bad);
    CHECK(listed > 0);
    CHECK_EQ(total_bad, 0);
}

/* `weft cache verify DIR` finds nothing corrupt (skipped without the tool). */
static void check_verify_clean(const char *dir) {
    const char *tool = getenv("WEFT_TOOL");
    if (!tool) return;
    char cmd[9000], out[8192];
    snprintf(cmd, sizeof cmd, "'%s' cache verify '%s' 2>&1", tool, dir);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = '\0';
    int status = p ? pclose(p) : -1;
    if (status != 0 || !strstr(out, " 0 corrupt")) fprintf(stderr, "verify %s: status %d\n%s", dir, status, out);
    CHECK(status == 0 && strstr(out, " 0 corrupt") != NULL);
}

/* A full disk, for real (a small tmpfs, half taken by another file): maps keep
 * returning right values, what was stored reads back, and once there is room again new
 * entries are stored. */
static void test_full_disk(const char *base) {
    char mnt[4200], dir[4400], filler[4500];
    snprintf(mnt, sizeof mnt, "%s/tmpfs", base);
    mkdir(mnt, 0755);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
        SKIP("the log store on a full disk: cannot mount a small tmpfs (needs root)");
        return;
    }
    snprintf(dir, sizeof dir, "%s/cache", mnt);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    FILE *f = fopen(filler, "wb");
    static char block[4096];
    for (int i = 0; f && i < 64; i++) CHECK_EQ(fwrite(block, 1, sizeof block, f), sizeof block);
    if (f) fclose(f);
    weft_memory_options mo = WEFT_MEMORY_OPTIONS_INIT;
    mo.quiet = 1;
    CHECK_EQ(cached_map(dir, 20000, 0, &mo), 20000);
    CHECK_EQ(weft__disk_marker_kind(dir), WEFT__MARKER_LOG);
    int stored = count_entries(dir);
    printf("full disk: %d of 20000 entries stored\n", stored);
    CHECK(stored > 0 && stored < 20000);
    CHECK_EQ(cached_map(dir, 20000, 0, &mo), 20000 - stored);
    check_verify_clean(dir);
    CHECK_EQ(unlink(filler), 0);
    int before = count_entries(dir);
    CHECK_EQ(cached_map(dir, 200, 1000000, &mo), 200);
    int more = count_entries(dir) - before;
    printf("room again: %d of 200 new entries stored\n", more);
    CHECK_EQ(more, 200);
    CHECK_EQ(cached_map(dir, 200, 1000000, &mo), 0);
    check_verify_clean(dir);
    umount2(mnt, MNT_DETACH);
}

/* A batch of reads: hits, misses, a key sharing another's first 8 bytes (both kept). */
static void test_batch_reads(const char *base) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/batch", base);
    void *st;
    const weft_store *s = open_store(dir, &st);
    enum { N = 600 };
    static uint8_t key[N][16];
    static unsigned char value[64];
    for (size_t i = 0; i < sizeof value; i++) value[i] = (unsigned char)(i * 7 + 3);
    unsigned char head[64];
    for (int i = 0; i < N; i++) {
        for (int b = 0; b < 16; b++) key[i][b] = (uint8_t)(i * 37 + b * 11 + (b < 8 ? 0 : i / 256));
        key[i][0] = (uint8_t)i, key[i][1] = (uint8_t)(i >> 8);
        if (i % 3 != 0) continue;
        memset(head, i & 0xff, sizeof head);
        CHECK_EQ(s->put(st, "t", key[i], head, sizeof head, value + i % 7, (size_t)(i % 50), 0), 0);
    }
    uint8_t clash[16];
    memcpy(clash, key[3], 8);
    memset(clash + 8, 0xee, 8);
    for (int pass = 0; pass < 2; pass++) {
        static weft__store_get g[N + 1];
        for (int i = 0; i < N; i++) g[i] = (weft__store_get){.task = "t", .key = key[i], .no_access = pass == 0};
        g[N] = (weft__store_get){.task = "t", .key = clash};
        s->get_many(st, g, N + 1);
        for (int i = 0; i < N; i++) {
            if (i % 3 != 0) {
                CHECK_EQ(g[i].rc, WEFT_ENOTFOUND);
                continue;
            }
            size_t vs = (size_t)(i % 50);
            CHECK_EQ(g[i].rc, 0);
            if (g[i].rc) continue;
            memset(head, i & 0xff, sizeof head);
            CHECK(g[i].head.size == sizeof head && memcmp(g[i].head.data, head, sizeof head) == 0);
            CHECK(g[i].value.size == vs && memcmp(g[i].value.data, value + i % 7, vs) == 0);
            CHECK(g[i].last_access_ns > 0);
            free(g[i].head.data), free(g[i].value.data);
        }
        CHECK_EQ(g[N].rc, WEFT_ENOTFOUND);
    }
    memset(head, 0x5a, sizeof head);
    CHECK_EQ(s->put(st, "t", clash, head, sizeof head, value, 9, 0), 0);
    weft__store_get g[3] = {{.task = "t", .key = key[3]}, {.task = "t", .key = clash}, {.task = "other", .key = clash}};
    s->get_many(st, g, 3);
    CHECK_EQ(g[0].rc, 0);
    CHECK_EQ(g[1].rc, 0);
    CHECK_EQ(g[2].rc, WEFT_ENOTFOUND); /* another task's key: not its entry */
    CHECK(g[1].rc == 0 && g[1].value.size == 9 && memcmp(g[1].value.data, value, 9) == 0);
    for (int i = 0; i < 2; i++)
        if (!g[i].rc) free(g[i].head.data), free(g[i].value.data);
    /* a large value is a file where the disk store keeps it; removing or evicting the
     * entry removes it */
    static unsigned char big[100000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 13 + 1);
    uint8_t bk[2][16];
    char path[2][4400];
    for (int i = 0; i < 2; i++) {
        memset(bk[i], 0x70 + i, 16);
        /* a real header: the file is read as the disk store reads its entries */
        weft__entry_desc d = {.key = bk[i], .task = "big", .version = "", .created_ns = 1, .value = big, .value_size = sizeof big};
        unsigned char *bh;
        size_t bhs;
        CHECK_EQ(weft__entry_build(&d, &bh, &bhs), 0);
        CHECK_EQ(s->put(st, "big", bk[i], bh, bhs, big, sizeof big, 0), 0);
        CHECK_EQ(weft__packed_file_path(dir, "big", bk[i], path[i], sizeof path[i]), 0);
        CHECK_EQ(file_size(path[i]), (long)(bhs + sizeof big));
        weft_bytes h, v;
        int64_t at;
        CHECK_EQ(s->get(st, "big", bk[i], &h, &v, &at), 0);
        CHECK(v.size == sizeof big && memcmp(v.data, big, sizeof big) == 0 && h.size == bhs && memcmp(h.data, bh, bhs) == 0);
        free(h.data), free(v.data), free(bh);
    }
    CHECK_EQ(s->remove(st, "big", bk[0]), 0);
    CHECK(access(path[0], F_OK) != 0);
    weft__store_evicted e;
    CHECK_EQ(s->evict(st, 0, 0, weft_plat_wall_ns() + 1000000000, &e), 0); /* all expired */
    CHECK(e.expired > 0);
    CHECK_EQ(e.items_left, 0);
    CHECK(access(path[1], F_OK) != 0);
    close_store(s, st);
}

/* The index grows (16 Ki slots to 256 Ki) while another process reads: every read is
 * right or a miss, and every entry is there at the end. */
static void test_growth_while_reading(const char *base) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/growth", base);
    CHECK_EQ(cached_map(dir, 1000, 0, NULL), 1000);
    int pipefd[2];
    CHECK_EQ(pipe(pipefd), 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[1]);
        weft_memory *m;
        if (weft_memory_open(&m, dir, NULL) != 0) _exit(3);
        int64_t bad = 0, hits = 0, reads = 0;
        char c;
        int flags = fcntl(pipefd[0], F_GETFL);
        fcntl(pipefd[0], F_SETFL, flags | O_NONBLOCK);
        while (read(pipefd[0], &c, 1) < 0) {
            for (int64_t i = 0; i < 1000; i++, reads++) {
                int64_t out = 0;
                weft_args *a = weft_args_new();
                weft_args_i64(a, "x", i);
                (void)a;
                weft_args_free(a);
                /* the map's path: a batch of one item */
                weft_options o;
                weft_options_init(&o);
                o.backend = "sequential";
                o.memory = m;
                weft_pool *pool;
                if (weft_pool_open(&pool, &o) != 0) _exit(4);
                atomic_store(&runs, 0);
                if (weft_map(pool, WEFT_FN(cube), &i, 8, 1, &out, 8) != 0) bad++;
                bad += out != i * i * i;
                hits += atomic_load(&runs) == 0;
                weft_pool_close(pool);
            }
        }
        weft_memory_close(m);
        printf("reader during growth: %lld reads, %lld hits, %lld bad\n", (long long)reads, (long long)hits, (long long)bad);
        fflush(stdout);
        _exit(bad ? 1 : 0);
    }
    close(pipefd[0]);
    CHECK_EQ(cached_map(dir, 200000, 1000, NULL), 200000);
    CHECK_EQ(write(pipefd[1], "x", 1), 1);
    close(pipefd[1]);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ(cached_map(dir, 201000, 0, NULL), 0);
}

/* 8 processes write at once into a cache with a limit, evicting as they go: their maps
 * are right, the cache ends within its limit, and what it keeps reads back right. */
static void test_writers_with_eviction(const char *base) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/eight", base);
    weft_memory_options mo = WEFT_MEMORY_OPTIONS_INIT;
    mo.max_items = 3000;
    pid_t pids[8];
    for (int p = 0; p < 8; p++) {
        int failed_before = check_failed;
        fflush(stdout);
        if ((pids[p] = fork()) == 0) {
            for (int round = 0; round < 4; round++)
                if (cached_map(dir, 2000, (int64_t)(p * 1000 + round * 500), &mo) < 0) _exit(2);
            _exit(check_failed > failed_before ? 1 : 0);
        }
    }
    int ok = 0;
    for (int p = 0; p < 8; p++) {
        int status;
        waitpid(pids[p], &status, 0);
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            printf("writer %d: %s %d\n", p, WIFEXITED(status) ? "exit" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    CHECK_EQ(ok, 8);
    int n = count_entries(dir);
    printf("8 writers with eviction: %d entries left (limit 3000)\n", n);
    CHECK(n > 0 && n <= 3000 + 8 * 256);
    void *st;
    const weft_store *s = open_store(dir, &st);
    weft__store_evicted e;
    CHECK_EQ(s->evict(st, 0, 3000, 0, &e), 0);
    CHECK_EQ(e.items_left, count_entries(dir));
    close_store(s, st);
    CHECK(cached_map(dir, 9500, 0, NULL) >= 9500 - 3000); /* every value right */
}

/* `weft cache migrate`: a file-per-entry folder (one damaged entry dropped) and a packed
 * one become log folders, every entry a hit; twice is nothing to do. */
static void test_migrate(const char *base) {
    const char *from[] = {"file", "packed"};
    for (int k = 0; k < 2; k++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/old-%s", base, from[k]);
        setenv("WEFT_CACHE_STORE", from[k], 1);
        CHECK_EQ(cached_map(dir, 300, 0, NULL), 300);
        setenv("WEFT_CACHE_STORE", "log", 1);
        CHECK(weft__store_for(dir) != &weft__store_log);
        CHECK_EQ(cached_map(dir, 300, 0, NULL), 0);
        static char paths[512][4096];
        if (k == 0) {
            CHECK_EQ(find_entries(dir, paths, 512), 300);
            flip_byte(paths[7], file_size(paths[7]) - 1);
        }
        int64_t moved, dropped;
        CHECK_EQ(weft__store_migrate(dir, &moved, &dropped), 0);
        CHECK_EQ(moved, k == 0 ? 299 : 300);
        CHECK_EQ(dropped, k == 0 ? 1 : 0);
        CHECK(weft__store_for(dir) == &weft__store_log);
        CHECK_EQ(find_entries(dir, paths, 512), 0);
        char db[4300];
        snprintf(db, sizeof db, "%s/" WEFT__PACKED_DB, dir);
        CHECK(access(db, F_OK) != 0);
        CHECK_EQ(count_entries(dir), k == 0 ? 299 : 300);
        CHECK_EQ(cached_map(dir, 300, 0, NULL), k == 0 ? 1 : 0);
        CHECK_EQ(weft__store_migrate(dir, &moved, &dropped), 0);
        CHECK_EQ(moved, 0);
    }
}

/* Links and FIFOs where the store's files should be: nothing outside the folder is
 * written or read, nothing hangs, and maps stay right (what cannot be stored is
 * recomputed). */
static void test_hostile(const char *base) {
    char dir[4200], outside[4200], seg[4300], tasks[4300];
    snprintf(dir, sizeof dir, "%s/hostile", base);
    snprintf(outside, sizeof outside, "%s/outside", base);
    CHECK_EQ(cached_map(dir, 100, 0, NULL), 100);
    FILE *f = fopen(outside, "w");
    CHECK(f && fputs("not a segment\n", f) >= 0);
    if (f) fclose(f);
    seg_path(dir, 1, seg, sizeof seg);
    CHECK_EQ(unlink(seg), 0);
    CHECK_EQ(symlink(outside, seg), 0);
    snprintf(tasks, sizeof tasks, "%s/" LOG_TASKS_FILE, dir);
    CHECK_EQ(unlink(tasks), 0);
    CHECK_EQ(mkfifo(tasks, 0644), 0);
    weft_memory_options mo = WEFT_MEMORY_OPTIONS_INIT;
    mo.quiet = 1;
    CHECK(cached_map(dir, 200, 0, &mo) >= 100); /* right values (checked), never hangs */
    CHECK_EQ(file_size(outside), 14);
}

/* A damaged task file (a NUL in a line, a line longer than any name): each line is still
 * one id, and new tasks are recorded after them. Such lines once hid every later line,
 * so nothing could be stored in the folder again. */
static void test_damaged_tasks(const char *base) {
    for (int kind = 0; kind < 2; kind++) {
        char dir[4200], tasks[4300];
        snprintf(dir, sizeof dir, "%s/damaged-tasks-%d", base, kind);
        CHECK_EQ(cached_map(dir, 100, 0, NULL), 100);
        snprintf(tasks, sizeof tasks, "%s/" LOG_TASKS_FILE, dir);
        FILE *f = fopen(tasks, "wb");
        CHECK(f != NULL);
        if (!f) continue;
        if (kind == 0) fwrite("x\0y\n", 1, 4, f);
        for (int i = 0; kind == 1 && i < 5000; i++) fputc('a', f);
        fputc('\n', f);
        fclose(f);
        weft_memory_options mo = WEFT_MEMORY_OPTIONS_INIT;
        mo.quiet = 1;
        CHECK_EQ(cached_map(dir, 100, 0, &mo), 100); /* its name is gone: computed again */
        CHECK_EQ(cached_map(dir, 100, 0, &mo), 0);   /* and stored */
    }
}

/* More tasks than ids: the 1024th task's puts fail with an error (Memory computes its
 * items, not storing them), the earlier tasks' entries stay, and repeated puts do not
 * grow the task file (each once appended a line). */
static void test_too_many_tasks(const char *base) {
    char dir[4200], tasks[4300];
    snprintf(dir, sizeof dir, "%s/many-tasks", base);
    void *st;
    const weft_store *s = open_store(dir, &st);
    uint8_t key[16] = {0}, head[40] = {0}, value[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (int round = 0; round < 2; round++)
        for (int t = 1; t <= LOG_TASKS + 5; t++) {
            char name[32];
            snprintf(name, sizeof name, "task%d", t);
            memcpy(key, &t, sizeof t);
            key[9] = 1;
            CHECK_EQ(s->put(st, name, key, head, sizeof head, value, sizeof value, 0) == 0, t < LOG_TASKS);
        }
    weft_bytes h, v;
    int64_t at;
    int t = LOG_TASKS - 1;
    memcpy(key, &t, sizeof t);
    CHECK_EQ(s->get(st, "task1023", key, &h, &v, &at), 0);
    CHECK(v.size == 8 && memcmp(v.data, value, 8) == 0);
    free(h.data), free(v.data);
    close_store(s, st);
    snprintf(tasks, sizeof tasks, "%s/" LOG_TASKS_FILE, dir);
    FILE *f = fopen(tasks, "r");
    int lines = 0, c;
    while (f && (c = fgetc(f)) != EOF) lines += c == '\n';
    if (f) fclose(f);
    CHECK_EQ(lines, LOG_TASKS - 1);
}

static int run_tool(const char *tool, const char *sub, const char *dir, const char *args, char *out, size_t size) {
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "'%s' cache %s '%s' %s 2>&1", tool, sub, dir, args);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, size - 1, p) : 0;
    out[n] = '\0';
    return p ? pclose(p) : -1;
}

/* The tool: stats from the index with the size on disk, ls, verify, prune. */
static void test_tool(const char *base) {
    const char *tool = getenv("WEFT_TOOL");
    if (!tool) {
        SKIP("the weft tool on a log cache: WEFT_TOOL is not set");
        return;
    }
    char dir[4200], out[8192];
    snprintf(dir, sizeof dir, "%s/tool", base);
    CHECK_EQ(cached_map(dir, 120, 0, NULL), 120);
    CHECK_EQ(run_tool(tool, "stats", dir, "", out, sizeof out), 0);
    CHECK(strstr(out, "1 tasks, 120 entries") != NULL && strstr(out, "on disk") != NULL);
    CHECK_EQ(run_tool(tool, "ls", dir, "", out, sizeof out), 0);
    CHECK(strstr(out, "cube") != NULL && strstr(out, " 120 ") != NULL);
    check_verify_clean(dir);
    CHECK_EQ(run_tool(tool, "prune", dir, "--max-items 100", out, sizeof out), 0);
    CHECK_EQ(count_entries(dir), 100);
    CHECK_EQ(run_tool(tool, "stats", dir, "", out, sizeof out), 0);
    CHECK(strstr(out, "1 tasks, 100 entries") != NULL);
}

int main(void) {
    char *base = temp_dir("log");
    setenv("WEFT_CACHE_STORE", "log", 1);
    const char *only = getenv("WEFT_TEST_ONLY"); /* one part, when debugging */
    struct {
        const char *name;
        void (*fn)(const char *);
    } parts[] = {{"chosen", test_chosen}, {"evict", test_evict}, {"touch", test_touch_then_evict}, {"bad_value", test_bad_value}, {"damaged_records", test_damaged_records}, {"lost_records", test_lost_records}, {"segment_reuse", test_segment_reuse}, {"damaged_index", test_damaged_index}, {"garbage_slots", test_garbage_slots}, {"kill", test_kill_mid_write}, {"full_disk", test_full_disk}, {"batch", test_batch_reads}, {"growth", test_growth_while_reading}, {"eight", test_writers_with_eviction}, {"migrate", test_migrate}, {"hostile", test_hostile}, {"damaged_tasks", test_damaged_tasks}, {"many_tasks", test_too_many_tasks}, {"tool", test_tool}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (!only || strcmp(only, parts[i].name) == 0) parts[i].fn(base);
    rm_rf(base);
    free(base);
    weft_shutdown();
    return CHECK_DONE();
}
