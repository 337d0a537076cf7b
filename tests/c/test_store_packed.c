/* The packed store (memory/store_packed.c) on its own: eviction from its index, a damaged
 * row and a damaged database (detected, recomputed, never returned), a writer killed
 * mid-transaction, `weft cache migrate` of a file-per-entry folder, and the tool's stats
 * from the index. The conformance of the store under Memory is test_conformance_packed
 * (the Memory suites run on the log store, the default, and on the file store). Every
 * folder here is made with WEFT_CACHE_STORE=packed. */
#define _DEFAULT_SOURCE
#include "check.h"
#include "mem_util.h"
#include "store_packed.h"
#include "weft.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "store_test_util.h"

static void test_is_chosen(const char *base) {
    char dir[4200], db[4300];
    snprintf(dir, sizeof dir, "%s/new", base);
    CHECK_EQ(cached_map(dir, 100, 0, NULL), 100);
    CHECK(weft__packed_is_packed(dir));
    snprintf(db, sizeof db, "%s/" WEFT__PACKED_DB, dir);
    CHECK_EQ(access(db, F_OK), 0);
    CHECK_EQ(cached_map(dir, 100, 0, NULL), 0);
    CHECK_EQ(count_entries(dir), 100);
    /* a bad choice of store is refused, clearly */
    setenv("WEFT_CACHE_STORE", "lmdb", 1);
    weft_memory *m;
    snprintf(dir, sizeof dir, "%s/bad-env", base);
    CHECK_EQ(weft_memory_open(&m, dir, NULL), WEFT_EINVAL);
    CHECK(strstr(weft_last_error()->message, "WEFT_CACHE_STORE") != NULL);
    setenv("WEFT_CACHE_STORE", "packed", 1);
}

/* Limits evict the least recently used from the index; max_age expires. */
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
    CHECK(count_entries(dir) <= 500 + 64);
    CHECK_EQ(weft_memory_open(&m, dir, NULL), 0);
    usleep(20000);
    CHECK_EQ(weft_memory_prune(m, 0, 0, 0.01, &removed), 0); /* unused for 10 ms: all */
    CHECK(removed > 0);
    CHECK_EQ(count_entries(dir), 0);
    weft_memory_close(m);
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

/* Uses recorded by touch (buffered, written in batches) count before an eviction. */
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
    weft__store_evicted e;
    CHECK_EQ(s->evict(st, 0, 90, 0, &e), 0);
    CHECK_EQ(e.evicted, 10);
    CHECK_EQ(e.items_left, 90);
    for (int i = 0; i < 20; i++) { /* 0..9 were used last: 10..19 went */
        weft_bytes h, v;
        int64_t at;
        int rc = s->get(st, "lru", key[i], &h, &v, &at);
        CHECK_EQ(rc, i < 10 ? 0 : WEFT_ENOTFOUND);
        if (!rc) free(h.data), free(v.data);
    }
    s->close(st);
    free(st);
}

/* A row whose value fails its checksum is reported, removed and recomputed. */
static void test_bad_row(const char *base) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/bad-row", base);
    CHECK_EQ(cached_map(dir, 50, 0, NULL), 50);
    void *st;
    const weft_store *s = open_store(dir, &st);
    CHECK(s == &weft__store_packed);
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
    s->close(st);
    free(st);
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

/* A damaged database: its header (SQLite cannot open it: moved aside, a fresh one made)
 * or pages in its middle (rows unreadable: misses, recomputed). Never a wrong value. */
static void test_damaged_db(const char *base) {
    for (int kind = 0; kind < 2; kind++) {
        char dir[4200], db[4300];
        snprintf(dir, sizeof dir, "%s/damaged-%d", base, kind);
        CHECK_EQ(cached_map(dir, 3000, 0, NULL), 3000);
        snprintf(db, sizeof db, "%s/" WEFT__PACKED_DB, dir);
        long size = file_size(db);
        CHECK(size > 64 * 1024);
        if (kind == 0) overwrite(db, 0, 100);
        if (kind == 1) overwrite(db, size / 2, 3 * 4096);
        int ran = cached_map(dir, 3000, 0, NULL); /* checks every value */
        printf("damaged database (%s): %d of 3000 recomputed\n", kind ? "middle pages" : "header", ran);
        CHECK(ran > 0);
        if (kind == 0) CHECK_EQ(ran, 3000);
    }
}

/* A writer killed at a random point of its transactions: every entry the store then
 * holds is whole and right (those of the last, uncommitted batch are simply absent). */
static void fill(uint8_t *b, size_t n, const uint8_t key[16]) {
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(key[i % 16] * 31 + i);
}

static void test_kill_mid_write(const char *base) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/killed", base);
    for (int round = 0; round < 3; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            void *st;
            const weft_store *s = open_store(dir, &st);
            weft__store_put puts[256];
            static uint8_t k[256][16], head[256][40], value[256][100];
            for (uint32_t batch = 0;; batch++) {
                for (int i = 0; i < 256; i++) {
                    uint32_t id = (uint32_t)round << 24 | batch << 8 | (uint32_t)i;
                    memset(k[i], 0, 16);
                    memcpy(k[i], &id, 4);
                    fill(head[i], 40, k[i]);
                    fill(value[i], 100, k[i]);
                    puts[i] = (weft__store_put){"killed", k[i], head[i], value[i], 40, 100, 0};
                }
                s->put_many(st, puts, 256, 0);
            }
        }
        /* once this round's first batches are in, at a point that varies by round */
        int before = round ? count_entries(dir) : 0;
        for (int waited = 0; count_entries(dir) <= before && waited < 20000; waited += 10) usleep(10000);
        usleep(30000 + round * 40000);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status));
        void *st;
        const weft_store *s = open_store(dir, &st);
        static keys k;
        k.n = 0;
        CHECK_EQ(s->list(st, "killed", collect_key, &k), 0);
        int bad = 0;
        for (int i = 0; i < k.n; i++) {
            weft_bytes head, value;
            int64_t at;
            uint8_t want[100];
            if (s->get(st, "killed", k.v[i], &head, &value, &at) != 0) {
                bad++;
                continue;
            }
            fill(want, 100, k.v[i]);
            bad += value.size != 100 || memcmp(value.data, want, 100) != 0 || head.size != 40;
            free(head.data), free(value.data);
        }
        printf("killed writer, round %d: %d entries listed, %d bad\n", round, k.n, bad);
        CHECK(k.n > 0);
        CHECK_EQ(bad, 0);
        s->close(st);
        free(st);
    }
}

/* A file-per-entry cache keeps working as it is; `weft cache migrate` packs it. */
static void test_migrate(const char *base) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/old", base);
    setenv("WEFT_CACHE_STORE", "file", 1);
    CHECK_EQ(cached_map(dir, 300, 0, NULL), 300);
    setenv("WEFT_CACHE_STORE", "packed", 1);
    CHECK(weft__store_for(dir) == &weft__store_disk);
    CHECK_EQ(cached_map(dir, 300, 0, NULL), 0);
    static char paths[512][4096];
    CHECK_EQ(find_entries(dir, paths, 512), 300);
    int64_t moved, dropped;
    flip_byte(paths[7], file_size(paths[7]) - 1); /* one damaged entry: dropped */
    CHECK_EQ(weft__store_migrate(dir, &moved, &dropped), 0);
    CHECK_EQ(moved, 299);
    CHECK_EQ(dropped, 1);
    CHECK(weft__store_for(dir) == &weft__store_packed);
    CHECK_EQ(find_entries(dir, paths, 512), 0);
    CHECK_EQ(count_entries(dir), 299);
    CHECK_EQ(cached_map(dir, 300, 0, NULL), 1);
    CHECK_EQ(weft__store_migrate(dir, &moved, &dropped), 0); /* twice: nothing to do */
    CHECK_EQ(moved, 0);
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

/* A full disk, for real: the cache on a small tmpfs, half taken by another file, that the
 * database and its log fill. Maps keep returning right values (a result that cannot be
 * stored is still returned, with one warning), what was stored is read back right,
 * verify is clean, and once the other file is gone new entries are stored again. */
static void test_full_disk(const char *base) {
    char mnt[4200], dir[4400], db[4500], filler[4500];
    snprintf(mnt, sizeof mnt, "%s/tmpfs", base);
    mkdir(mnt, 0755);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=512k") != 0) {
        SKIP("the packed store on a full disk: cannot mount a small tmpfs (needs root)");
        return;
    }
    snprintf(dir, sizeof dir, "%s/cache", mnt);
    snprintf(db, sizeof db, "%s/" WEFT__PACKED_DB, dir);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    FILE *f = fopen(filler, "wb");
    static char block[4096];
    for (int i = 0; f && i < 64; i++) CHECK_EQ(fwrite(block, 1, sizeof block, f), sizeof block);
    if (f) fclose(f);
    weft_memory_options mo = WEFT_MEMORY_OPTIONS_INIT;
    mo.quiet = 1;
    /* far more than the 256 KiB left (~130 bytes an entry): the disk fills midway */
    CHECK_EQ(cached_map(dir, 20000, 0, &mo), 20000);
    CHECK(weft__packed_is_packed(dir));
    int stored = count_entries(dir);
    printf("full disk: %d of 20000 entries stored, database %ld bytes\n", stored, file_size(db));
    CHECK(stored > 0 && stored < 20000);
    /* read back on the full disk: the stored ones are hits, the rest run again, all right */
    CHECK_EQ(cached_map(dir, 20000, 0, &mo), 20000 - stored);
    check_verify_clean(dir);
    /* room again: new entries are stored (as many as the room takes: the log, which
     * the full disk kept from being checkpointed, grows into it) */
    CHECK_EQ(unlink(filler), 0);
    int before = count_entries(dir); /* (the read-back may have stored a few more) */
    CHECK_EQ(cached_map(dir, 200, 1000000, &mo), 200);
    int more = count_entries(dir) - before;
    printf("room again: %d of 200 new entries stored\n", more);
    CHECK(more > 0);
    CHECK_EQ(cached_map(dir, 200, 1000000, &mo), 200 - more);
    int again = cached_map(dir, 20000, 0, &mo);
    printf("the first 20000 again: %d ran (%d were not stored)\n", again, 20000 - stored);
    CHECK(again <= 20000 - stored); /* none stored was lost; right values (cached_map) */
    check_verify_clean(dir);
    umount2(mnt, MNT_DETACH);
}

/* A database of the packed store's first layout (a blob key, header and value apart, as
 * the first packed caches were written) or of its second (rowid and tail, the packing
 * and the packed bytes in columns) is converted when opened: every entry a hit. */
static int copy_entry(const weft__store_item *it, void *user) {
    keys *k = user;
    if (!it->is_temp && k->n < 4096) memcpy(k->v[k->n++], it->key, 16);
    return 0;
}

static const char *layout2 =
    "PRAGMA journal_mode = WAL;"
    "CREATE TABLE tasks(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);"
    "CREATE TABLE totals(tid INTEGER PRIMARY KEY, n INTEGER NOT NULL, bytes INTEGER NOT NULL,"
    "  compute INTEGER NOT NULL, newest INTEGER NOT NULL);"
    "CREATE TABLE meta(tid INTEGER, name TEXT, value TEXT, PRIMARY KEY(tid, name)) WITHOUT ROWID;"
    "CREATE TABLE entries(id INTEGER PRIMARY KEY, tail INTEGER NOT NULL, tid INTEGER NOT NULL,"
    "  atime INTEGER NOT NULL, size INTEGER NOT NULL, compute INTEGER NOT NULL,"
    "  packing INTEGER NOT NULL, data BLOB);"
    "CREATE INDEX entries_by_atime ON entries(atime);"
    "CREATE TABLE uses(id INTEGER NOT NULL, at INTEGER NOT NULL);"
    "CREATE TRIGGER entries_ins AFTER INSERT ON entries BEGIN UPDATE totals SET n = n + 1,"
    "  bytes = bytes + NEW.size, compute = compute + NEW.compute, newest = max(newest, NEW.atime)"
    "  WHERE tid = NEW.tid; END;"
    "INSERT INTO tasks VALUES(1, 'cube'); INSERT INTO totals VALUES(1, 0, 0, 0, 0);"
    "PRAGMA user_version = 2;";

static void test_old_layout(const char *base, int layout) {
    char from[4200], dir[4200], path[4300];
    snprintf(from, sizeof from, "%s/layout%d-files", base, layout);
    snprintf(dir, sizeof dir, "%s/layout%d", base, layout);
    setenv("WEFT_CACHE_STORE", "file", 1);
    CHECK_EQ(cached_map(from, 300, 0, NULL), 300);
    setenv("WEFT_CACHE_STORE", "packed", 1);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/CACHEDIR.TAG", dir);
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(WEFT__PACKED_MARKER_TEXT, f) >= 0);
    if (f) fclose(f);
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/" WEFT__PACKED_DB, dir);
    CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
    const char *layout1 =
        "PRAGMA journal_mode = WAL;"
        "CREATE TABLE tasks(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);"
        "CREATE TABLE totals(tid INTEGER PRIMARY KEY, n INTEGER NOT NULL, bytes INTEGER NOT NULL,"
        "  compute INTEGER NOT NULL, newest INTEGER NOT NULL);"
        "CREATE TABLE meta(tid INTEGER, name TEXT, value TEXT, PRIMARY KEY(tid, name)) WITHOUT ROWID;"
        "CREATE TABLE entries(tid INTEGER NOT NULL, key BLOB NOT NULL, atime INTEGER NOT NULL,"
        "  size INTEGER NOT NULL, compute INTEGER NOT NULL, head BLOB, value BLOB,"
        "  PRIMARY KEY(tid, key)) WITHOUT ROWID;"
        "CREATE INDEX entries_by_atime ON entries(atime);"
        "CREATE TABLE uses(id INTEGER PRIMARY KEY, tid INTEGER NOT NULL, key BLOB NOT NULL, at INTEGER NOT NULL);"
        "CREATE TRIGGER entries_ins AFTER INSERT ON entries BEGIN UPDATE totals SET n = n + 1,"
        "  bytes = bytes + NEW.size, compute = compute + NEW.compute, newest = max(newest, NEW.atime)"
        "  WHERE tid = NEW.tid; END;"
        "INSERT INTO tasks VALUES(1, 'cube'); INSERT INTO totals VALUES(1, 0, 0, 0, 0);";
    CHECK_EQ(sqlite3_exec(db, layout == 1 ? layout1 : layout2, NULL, NULL, NULL), SQLITE_OK);
    const weft_store *disk = weft__store_for(from);
    void *ds = calloc(1, disk->state_size);
    CHECK_EQ(disk->open(ds, from), 0);
    static keys k;
    k.n = 0;
    CHECK_EQ(disk->list(ds, "cube", copy_entry, &k), 0);
    CHECK_EQ(k.n, 300);
    sqlite3_stmt *st;
    CHECK_EQ(sqlite3_prepare_v2(db, layout == 1 ? "INSERT INTO entries VALUES(1, ?1, ?2, ?3, 0, ?4, ?5)" : "INSERT INTO entries VALUES(?1, ?2, 1, ?3, ?4, 0, ?5, ?6)", -1, &st, NULL), SQLITE_OK);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (int i = 0; i < k.n; i++) {
        weft_bytes h, v;
        int64_t at;
        CHECK_EQ(disk->get(ds, "cube", k.v[i], &h, &v, &at), 0);
        if (layout == 1) {
            sqlite3_bind_blob(st, 1, k.v[i], 16, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, at > 0 ? at : 1);
            sqlite3_bind_int64(st, 3, (int64_t)(h.size + v.size));
            sqlite3_bind_blob(st, 4, h.data, (int)h.size, SQLITE_TRANSIENT);
            sqlite3_bind_blob(st, 5, v.data, (int)v.size, SQLITE_TRANSIENT);
        } else { /* the packing says nothing left out: the header whole, then the value */
            int64_t id, tail;
            memcpy(&id, k.v[i], 8);
            memcpy(&tail, k.v[i] + 8, 8);
            unsigned char *d = malloc(h.size + v.size);
            memcpy(d, h.data, h.size);
            memcpy(d + h.size, v.data, v.size);
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int64(st, 2, tail);
            sqlite3_bind_int64(st, 3, at > 0 ? at : 1);
            sqlite3_bind_int64(st, 4, (int64_t)(h.size + v.size));
            sqlite3_bind_int64(st, 5, (int64_t)h.size << 3);
            sqlite3_bind_blob(st, 6, d, (int)(h.size + v.size), free);
        }
        CHECK_EQ(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
        free(h.data), free(v.data);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(st);
    sqlite3_close(db);
    disk->close(ds);
    free(ds);
    CHECK_EQ(cached_map(dir, 300, 0, NULL), 0); /* converted: every one a hit */
    CHECK_EQ(count_entries(dir), 300);
    CHECK_EQ(cached_map(dir, 310, 0, NULL), 10);
    CHECK_EQ(count_entries(dir), 310);
}

/* A batch of reads (as a cached map makes): hits, misses, a key sharing another's first
 * 8 bytes (a miss, never the other's value); the answers are the same whether the
 * caller asks for the last use or not (the store reads differently). Large values (files)
 * need real entries: the Memory suites cover them. */
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
        if (i % 3 != 0) continue; /* every third key stored, with its own bytes */
        memset(head, i & 0xff, sizeof head);
        size_t vs = (size_t)(i % 50);
        CHECK_EQ(s->put(st, "t", key[i], head, sizeof head, value + i % 7, vs, 0), 0);
    }
    uint8_t clash[16];
    memcpy(clash, key[3], 8);
    memset(clash + 8, 0xee, 8);
    for (int pass = 0; pass < 4; pass++) {
        /* pass 1 and 3 open with a miss; 2 and 3 ask for the last use */
        static weft__store_get g[N + 1];
        for (int i = 0; i < N; i++) g[i] = (weft__store_get){.task = "t", .key = key[(i + (pass & 1)) % N], .no_access = pass < 2};
        g[N] = (weft__store_get){.task = "t", .key = clash, .no_access = pass < 2};
        s->get_many(st, g, N + 1);
        for (int i = 0; i < N; i++) {
            int k = (i + (pass & 1)) % N;
            if (k % 3 != 0) {
                CHECK_EQ(g[i].rc, WEFT_ENOTFOUND);
                continue;
            }
            size_t vs = (size_t)(k % 50);
            CHECK_EQ(g[i].rc, 0);
            if (g[i].rc) continue;
            memset(head, k & 0xff, sizeof head);
            CHECK(g[i].head.size == sizeof head && memcmp(g[i].head.data, head, sizeof head) == 0);
            CHECK(g[i].value.size == vs && memcmp(g[i].value.data, value + k % 7, vs) == 0);
            if (pass >= 2) CHECK(g[i].last_access_ns > 0);
            free(g[i].head.data), free(g[i].value.data);
        }
        CHECK_EQ(g[N].rc, WEFT_ENOTFOUND);
    }
    /* the clashing key written: it replaces the other (a miss now), and reads back */
    memset(head, 0x5a, sizeof head);
    CHECK_EQ(s->put(st, "t", clash, head, sizeof head, value, 9, 0), 0);
    weft__store_get g[2] = {{.task = "t", .key = key[3], .no_access = 1}, {.task = "t", .key = clash, .no_access = 1}};
    s->get_many(st, g, 2);
    CHECK_EQ(g[0].rc, WEFT_ENOTFOUND);
    CHECK_EQ(g[1].rc, 0);
    CHECK(g[1].rc == 0 && g[1].value.size == 9 && memcmp(g[1].value.data, value, 9) == 0);
    if (!g[1].rc) free(g[1].head.data), free(g[1].value.data);
    s->close(st);
    free(st);
}

/* A cached map of tiny tasks stores its results in a few large writes, not one write
 * (one transaction) per batch of a few items: the trace's "cache store" instants, each
 * one write with its count, number at most one per millisecond of the map (and per 256
 * items), far fewer than the items. */
static void test_store_batches(const char *base) {
    char dir[4200], trace[4300];
    snprintf(dir, sizeof dir, "%s/store-batches", base);
    snprintf(trace, sizeof trace, "%s/store-batches.json", base);
    enum { N = 5000 };
    CHECK_EQ(weft_trace_start(trace), 0);
    double t0 = weft_plat_now_ns() / 1e6;
    CHECK_EQ(cached_map(dir, N, 0, NULL), N);
    double ms = weft_plat_now_ns() / 1e6 - t0;
    CHECK_EQ(weft_trace_stop(), 0);
    FILE *f = fopen(trace, "r");
    CHECK(f != NULL);
    static char text[64 << 20];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = '\0';
    if (f) fclose(f);
    long writes = 0, stored = 0;
    for (const char *p = text; (p = strstr(p, "\"cache store\"")) != NULL; p++) {
        const char *c = strstr(p, "\"stored\":");
        writes++;
        if (c) stored += atol(c + 9);
    }
    printf("store batches: %d items in %ld writes over %.0f ms\n", N, writes, ms);
    CHECK_EQ(stored, N);
    CHECK(writes <= (long)ms + N / 256 + 8);
    CHECK(writes < N / 4);
}

/* The tool: stats from the index with the size on disk; migrate. */
static void test_tool(const char *base) {
    const char *tool = getenv("WEFT_TOOL");
    if (!tool) {
        SKIP("the weft tool on a packed cache: WEFT_TOOL is not set");
        return;
    }
    char dir[4200], cmd[9000], out[8192];
    snprintf(dir, sizeof dir, "%s/tool", base);
    setenv("WEFT_CACHE_STORE", "file", 1);
    CHECK_EQ(cached_map(dir, 120, 0, NULL), 120);
    setenv("WEFT_CACHE_STORE", "packed", 1);
    const char *runs_of[] = {"migrate", "stats", "ls"};
    const char *want[] = {"120 entries moved into the packed store", "1 tasks, 120 entries", "cube"};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "'%s' cache %s '%s' 2>&1", tool, runs_of[i], dir);
        FILE *p = popen(cmd, "r");
        size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
        out[n] = '\0';
        CHECK(p && pclose(p) == 0);
        CHECK(strstr(out, want[i]) != NULL);
        if (i == 1) CHECK(strstr(out, "on disk") != NULL);
        if (i == 2) CHECK(strstr(out, " 120 ") != NULL && strstr(out, " ago") != NULL);
    }
}

int main(void) {
    char *base = temp_dir("packed");
    setenv("WEFT_CACHE_STORE", "packed", 1);
    test_is_chosen(base);
    test_evict(base);
    test_touch_then_evict(base);
    test_bad_row(base);
    test_damaged_db(base);
    test_kill_mid_write(base);
    test_full_disk(base);
    test_old_layout(base, 1);
    test_old_layout(base, 2);
    test_batch_reads(base);
    test_store_batches(base);
    test_migrate(base);
    test_tool(base);
    rm_rf(base);
    free(base);
    weft_shutdown();
    return CHECK_DONE();
}
