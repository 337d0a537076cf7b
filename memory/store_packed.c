/* The packed store (native builds): a cache folder whose entries are rows of one SQLite
 * database, ROOT/weft.db, in WAL mode; a value over WEFT__PACKED_MAX_INLINE bytes is kept as
 * a file exactly where the disk store keeps it (ROOT/<task>/<kk>/<hex>.wfe) and the
 * database holds its index row. Why SQLite: bench/run_memory.sh's scale table and
 * docs/cache-format.md.
 *
 * Every entry, small or large, has a row (task id, key, last use, size, compute time), so
 * listing, stats and eviction read the index alone: an index on the last use makes
 * evicting k entries O(k log n), and triggers keep per-task totals that answer `weft
 * cache stats` without a scan. Safety comes from SQLite: a write is one transaction
 * (BEGIN IMMEDIATE, a batch of puts in one), readers see the old rows or the new ones,
 * many processes share the file through its locks (a busy writer is waited for), and a
 * killed process leaves at most its uncommitted transaction, which the next opener rolls
 * back. The entries keep their own checksums (memory/entry.c), checked on every read: a
 * damaged row is reported corrupt, removed and recomputed; a database that SQLite
 * cannot read at all is moved aside on open and a fresh one made. */
#include "entry_pack.h"
#include "store.h"
#include "store_packed.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 60000 /* how long a writer waits for another process's transaction */
#define LIST_PAGE 1024        /* rows read per listing step (callbacks run between steps) */
#define TOUCH_BUFFER 256      /* uses recorded per transaction */
#define USES_FOLD 1000000     /* the uses log is folded at least every this many rows */

typedef struct task_id {
    char *name;
    int64_t id;
} task_id;

typedef struct packed_state {
    sqlite3 *db;
    weft_plat_mutex lock; /* one connection, shared by this process's threads */
    void *files;          /* the disk store's state on the same folder: large values */
    char *root;
    int fsync_full; /* PRAGMA synchronous is FULL (a put asked for fsync) */
    task_id *tasks; /* task ids seen (ids never change: rows of tasks are never deleted) */
    size_t n_tasks;
    unsigned char *scratch; /* a row's packed bytes (lock held) */
    size_t scratch_size;
    sqlite3_stmt *get, *upsert, *del, *touch, *task_find, *task_add, *total_add;
    sqlite3_blob *blob; /* a batch's read handle (get_many), closed before its commit */
    /* uses to record, written in one transaction when full, with the next batch of
     * puts, or on close: a use costs no commit of its own (the LRU clock is approximate;
     * a kill loses at most these) */
    struct {
        int64_t id, at_ns;
    } touched[TOUCH_BUFFER];
    size_t n_touched;
} packed_state;

/* The layout's version (PRAGMA user_version), converted on open when older: 0 with an
 * entries table, the first layout (a blob key, head and value apart); 2, the key's tail
 * and the packing in columns of their own. */
#define LAYOUT 3
#define LAYOUT_TEXT "3"

/* A row is keyed by the first 8 bytes of the entry's key (its rowid: integer compares,
 * and a small last-use index); two keys sharing 8 bytes keep the newer entry (a miss for
 * the other, never its value). Times are ns since the epoch. `data` starts with PREFIX
 * bytes: the key's other 8 bytes and the packing (4 bytes, little endian: the header's
 * size and what it leaves out; 0: the entry is a file, a large value), then the entry's
 * bytes less what the row already says (pack_entry). One column holds all a read needs,
 * so a map's lookups read it through one incremental-blob handle (blob_get). */
#define PREFIX 12
#define TAIL_SQL "substr(data, 1, 8)"
#define LARGE_SQL "(substr(data, 9, 4) = x'00000000')"

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS tasks(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);"
    "CREATE TABLE IF NOT EXISTS totals(tid INTEGER PRIMARY KEY, n INTEGER NOT NULL,"
    "  bytes INTEGER NOT NULL, compute INTEGER NOT NULL, newest INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS meta(tid INTEGER, name TEXT, value TEXT,"
    "  PRIMARY KEY(tid, name)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS entries(id INTEGER PRIMARY KEY, tid INTEGER NOT NULL,"
    "  atime INTEGER NOT NULL, size INTEGER NOT NULL, compute INTEGER NOT NULL,"
    "  data BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS entries_by_atime ON entries(atime);"
    /* uses, appended (a page per ~300), folded into entries.atime before an eviction or
     * a listing: a use is not a random page write of its own */
    "CREATE TABLE IF NOT EXISTS uses(id INTEGER NOT NULL, at INTEGER NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS entries_ins AFTER INSERT ON entries BEGIN"
    "  UPDATE totals SET n = n + 1, bytes = bytes + NEW.size, compute = compute + NEW.compute,"
    "    newest = max(newest, NEW.atime) WHERE tid = NEW.tid; END;"
    /* an overwrite (or another key with the same first 8 bytes) */
    "CREATE TRIGGER IF NOT EXISTS entries_upd AFTER UPDATE OF tid, size, compute ON entries BEGIN"
    "  UPDATE totals SET n = n - 1, bytes = bytes - OLD.size, compute = compute - OLD.compute"
    "    WHERE tid = OLD.tid;"
    "  UPDATE totals SET n = n + 1, bytes = bytes + NEW.size, compute = compute + NEW.compute,"
    "    newest = max(newest, NEW.atime) WHERE tid = NEW.tid; END;"
    "CREATE TRIGGER IF NOT EXISTS entries_use AFTER UPDATE OF atime ON entries BEGIN"
    "  UPDATE totals SET newest = max(newest, NEW.atime) WHERE tid = NEW.tid; END;"
    "CREATE TRIGGER IF NOT EXISTS entries_del AFTER DELETE ON entries BEGIN"
    "  UPDATE totals SET n = n - 1, bytes = bytes - OLD.size, compute = compute - OLD.compute"
    "    WHERE tid = OLD.tid; END;";

/* ---- keys, times and packed entries */

static int64_t id_of(const uint8_t key[16]) {
    int64_t v;
    memcpy(&v, key, 8);
    return v;
}

static void key_of(int64_t id, const uint8_t tail[8], uint8_t key[16]) {
    memcpy(key, &id, 8);
    memcpy(key + 8, tail, 8);
}

static void put_prefix(unsigned char *d, const uint8_t key[16], uint32_t packing) {
    memcpy(d, key + 8, 8);
    for (int i = 0; i < 4; i++) d[8 + i] = (unsigned char)(packing >> 8 * i);
}

static uint32_t packing_of(const unsigned char *d) {
    return (uint32_t)d[8] | (uint32_t)d[9] << 8 | (uint32_t)d[10] << 16 | (uint32_t)d[11] << 24;
}

/* s->scratch grown to n bytes (lock held): 0, or -1 without memory. */
static int scratch_for(packed_state *s, size_t n) {
    if (n <= s->scratch_size) return 0;
    unsigned char *b = realloc(s->scratch, n);
    if (!b) return -1;
    s->scratch = b;
    s->scratch_size = n;
    return 0;
}

/* The row's data for an entry into s->scratch (lock held): the prefix, then the entry
 * less what the row already says (memory/entry_pack.h; nothing more for a large value,
 * `h` NULL). Its size, or 0 without memory. */
static size_t pack_entry(packed_state *s, const uint8_t key[16], int f, const unsigned char *h,
                         size_t hs, const void *v, size_t vs) {
    size_t n = PREFIX + (h ? weft__pack_head_size(f, hs) + vs : 0);
    if (scratch_for(s, n)) return 0;
    put_prefix(s->scratch, key, h ? weft__packing(f, hs) : 0);
    size_t at = PREFIX;
    if (h) weft__pack_head(s->scratch + at, f, h, hs), at += weft__pack_head_size(f, hs);
    if (h && vs) memcpy(s->scratch + at, v, vs);
    return n;
}

/* Whether an entry is kept as a file: a large value, or a header the packing cannot
 * describe (none is: headers are small). */
static int is_large(size_t hs, size_t vs) {
    return vs > WEFT__PACKED_MAX_INLINE || hs == 0 || hs > (UINT32_MAX >> WEFT__PACK_BITS);
}

/* ---- errors */

static int is_damage(int rc) {
    rc &= 0xff;
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

static int db_error(packed_state *s, int rc, const char *what) {
    int code = is_damage(rc) ? WEFT_ECORRUPT : (rc & 0xff) == SQLITE_NOMEM ? WEFT_ENOMEM
                                                                           : WEFT_ESYS;
    return weft__set_error(code, "cache database %s/" WEFT__PACKED_DB ": %s: %s", s->root, what,
                           s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

static int exec(packed_state *s, const char *sql) {
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

/* ---- opening */

static void finalize_all(packed_state *s) {
    sqlite3_blob_close(s->blob);
    s->blob = NULL;
    sqlite3_stmt **all[] = {&s->get, &s->upsert, &s->del, &s->touch, &s->task_find, &s->task_add, &s->total_add};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        sqlite3_finalize(*all[i]);
        *all[i] = NULL;
    }
}

static int prepare_all(packed_state *s) {
    struct {
        sqlite3_stmt **st;
        const char *sql;
    } all[] = {
        {&s->get, "SELECT tid, data, atime FROM entries WHERE id = ?1"},
        {&s->upsert, "INSERT INTO entries(id, tid, atime, size, compute, data)"
                     " VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET"
                     " tid = excluded.tid, atime = excluded.atime, size = excluded.size,"
                     " compute = excluded.compute, data = excluded.data"},
        {&s->del, "DELETE FROM entries WHERE id = ?1 AND " TAIL_SQL " = ?2 AND tid = ?3 RETURNING " LARGE_SQL},
        {&s->touch, "INSERT INTO uses(id, at) VALUES(?1, ?2)"},
        {&s->task_find, "SELECT id FROM tasks WHERE name = ?1"},
        {&s->task_add, "INSERT OR IGNORE INTO tasks(name) VALUES(?1)"},
        {&s->total_add, "INSERT OR IGNORE INTO totals VALUES(?1, 0, 0, 0, 0)"},
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        int rc = sqlite3_prepare_v3(s->db, all[i].sql, -1, SQLITE_PREPARE_PERSISTENT, all[i].st, NULL);
        if (rc) return rc;
    }
    return 0;
}

static int64_t compute_of(const void *head, size_t size) {
    weft__entry e;
    return weft__entry_parse(head, size, &e) == 0 ? e.compute_ns : 0;
}

/* Write an entry's row with `st` (the upsert; lock held, in a transaction): an SQLite
 * status. `large`: its bytes are a file. */
static int write_row(packed_state *s, sqlite3_stmt *st, int64_t tid, const uint8_t key[16],
                     int64_t atime_ns, const void *head, size_t hs, const void *value, size_t vs,
                     int large) {
    if (!large && is_large(hs, 0)) return SQLITE_TOOBIG;
    int f = large ? 0 : weft__pack_flags(head, hs, key, vs);
    size_t n = pack_entry(s, key, f, large ? NULL : head, hs, value, vs);
    if (!n) return SQLITE_NOMEM;
    sqlite3_bind_int64(st, 1, id_of(key));
    sqlite3_bind_int64(st, 2, tid);
    sqlite3_bind_int64(st, 3, atime_ns);
    sqlite3_bind_int64(st, 4, (int64_t)(hs + vs));
    sqlite3_bind_int64(st, 5, head ? compute_of(head, hs) : 0);
    sqlite3_bind_blob64(st, 6, s->scratch, n, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : rc;
}

/* An older layout's table renamed to entries_old, and the new schema made beside it
 * (inside the schema's transaction; the insert trigger counts the totals again). */
static int rename_old_layout(packed_state *s, int keep_uses) {
    int rc = exec(s, "DROP TRIGGER IF EXISTS entries_ins; DROP TRIGGER IF EXISTS entries_upd;"
                     " DROP TRIGGER IF EXISTS entries_use; DROP TRIGGER IF EXISTS entries_del;"
                     " DROP INDEX IF EXISTS entries_by_atime;"
                     " ALTER TABLE entries RENAME TO entries_old;"
                     " UPDATE totals SET n = 0, bytes = 0, compute = 0");
    if (!rc && !keep_uses) rc = exec(s, "DROP TABLE IF EXISTS uses"); /* keyed otherwise */
    return rc ? rc : exec(s, SCHEMA);
}

/* Re-write every row of an older layout (renamed to entries_old) into the new table,
 * through `row`, which binds one row of `from` to `to` and steps it (0, or an SQLite
 * status; a damaged row is skipped with 0, so its entry is recomputed). */
static int convert_rows(packed_state *s, int keep_uses, const char *select,
                        int (*row)(packed_state *s, sqlite3_stmt *from, sqlite3_stmt *to)) {
    int rc = rename_old_layout(s, keep_uses);
    sqlite3_stmt *from = NULL, *to = NULL;
    if (!rc) rc = sqlite3_prepare_v2(s->db, select, -1, &from, NULL);
    if (!rc) rc = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO entries VALUES(?1, ?2, ?3, ?4, ?5, ?6)", -1, &to, NULL);
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(from)) == SQLITE_ROW) rc = row(s, from, to);
    if (!rc && step != SQLITE_DONE) rc = step;
    sqlite3_finalize(from);
    sqlite3_finalize(to);
    return rc ? rc : exec(s, "DROP TABLE entries_old");
}

/* A row of the first layout: its task, time and bytes kept. */
static int first_layout_row(packed_state *s, sqlite3_stmt *from, sqlite3_stmt *to) {
    if (sqlite3_column_bytes(from, 1) != 16) return 0;
    uint8_t key[16];
    memcpy(key, sqlite3_column_blob(from, 1), 16);
    int large = sqlite3_column_type(from, 3) == SQLITE_NULL;
    const void *h = large ? NULL : sqlite3_column_blob(from, 3), *v = sqlite3_column_blob(from, 4);
    size_t hs = (size_t)sqlite3_column_bytes(from, 3), vs = (size_t)sqlite3_column_bytes(from, 4);
    if (large) hs = (size_t)sqlite3_column_int64(from, 5), vs = 0; /* its size, for the totals */
    return write_row(s, to, sqlite3_column_int64(from, 0), key, sqlite3_column_int64(from, 2), h, hs, v, vs, large);
}

/* A row of the second layout (the key's tail and the packing in columns): its data gets
 * its prefix. */
static int second_layout_row(packed_state *s, sqlite3_stmt *from, sqlite3_stmt *to) {
    int64_t id = sqlite3_column_int64(from, 0), tail = sqlite3_column_int64(from, 1);
    int64_t packing = sqlite3_column_int64(from, 6);
    int large = sqlite3_column_type(from, 7) == SQLITE_NULL;
    const void *d = sqlite3_column_blob(from, 7);
    size_t n = large ? 0 : (size_t)sqlite3_column_bytes(from, 7);
    if (packing < 0 || packing > UINT32_MAX || (!large && packing == 0)) return 0; /* damaged: recomputed */
    if (scratch_for(s, PREFIX + n)) return SQLITE_NOMEM;
    uint8_t key[16];
    memcpy(key, &id, 8);
    memcpy(key + 8, &tail, 8);
    put_prefix(s->scratch, key, large ? 0 : (uint32_t)packing);
    if (n) memcpy(s->scratch + PREFIX, d, n);
    for (int i = 0; i < 5; i++) sqlite3_bind_int64(to, i + 1, sqlite3_column_int64(from, i == 0 ? 0 : i + 1));
    sqlite3_bind_blob64(to, 6, s->scratch, PREFIX + n, SQLITE_STATIC);
    int rc = sqlite3_step(to);
    sqlite3_reset(to);
    return rc == SQLITE_DONE ? 0 : rc;
}

/* Databases of older layouts, converted inside the schema's transaction. The second
 * layout's uses log is kept (keyed by id); the first's is not. */
static int convert_first_layout(packed_state *s) {
    return convert_rows(s, 0, "SELECT tid, key, atime, head, value, size FROM entries_old", first_layout_row);
}

static int convert_second_layout(packed_state *s) {
    return convert_rows(s, 1, "SELECT id, tail, tid, atime, size, compute, packing, data FROM entries_old",
                        second_layout_row);
}

/* The schema, in its own write transaction: an SQLite status. */
static int make_schema(packed_state *s) {
    sqlite3_stmt *st;
    int version = 0, exists = 0;
    int rc = sqlite3_prepare_v2(s->db, "SELECT (SELECT user_version FROM pragma_user_version),"
                                       " EXISTS(SELECT 1 FROM sqlite_schema WHERE name = 'entries')",
                                -1, &st, NULL);
    if (rc) return rc;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        version = sqlite3_column_int(st, 0);
        exists = sqlite3_column_int(st, 1);
        rc = 0;
    }
    sqlite3_finalize(st);
    if (rc || version == LAYOUT) return rc;
    rc = !exists ? exec(s, SCHEMA) : version == 2 ? convert_second_layout(s)
                                 : version < 2    ? convert_first_layout(s)
                                                  : SQLITE_ERROR; /* a newer layout: refused */
    return rc ? rc : exec(s, "PRAGMA user_version = " LAYOUT_TEXT);
}

/* Open the database and make its schema: an SQLite status. */
static int open_db(packed_state *s, const char *path) {
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc) return rc;
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(s->db, 1);
    /* WAL: readers never wait for the writer; NORMAL: a commit survives the process
     * being killed (it is in the WAL file), fsync'd at checkpoints (FULL when asked) */
    /* switching a new database to WAL takes a lock the busy handler does not wait for:
     * processes opening a new folder at once retry */
    for (int attempt = 0; attempt < 500; attempt++) {
        rc = exec(s, "PRAGMA journal_mode = WAL");
        if (!rc) rc = exec(s, "PRAGMA synchronous = NORMAL");
        /* keys are hashes: inserts land on random pages; a larger cache and fewer,
         * larger checkpoints write each page once for many entries. Reads through a
         * mapping save a pread per page (weft never shrinks the file: no VACUUM, no
         * auto_vacuum, so a mapped page never vanishes under a reader). A removed row's
         * bytes need no zeroing (Debian builds SQLite with secure_delete on): a cache
         * holds nothing secret from its own folder's readers */
        if (!rc) rc = exec(s, "PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 8192;"
                              " PRAGMA journal_size_limit = 67108864; PRAGMA mmap_size = 2147418112;"
                              " PRAGMA secure_delete = OFF");
        if (!rc) rc = exec(s, "BEGIN IMMEDIATE");
        if (!rc) {
            rc = make_schema(s);
            int rc2 = exec(s, rc ? "ROLLBACK" : "COMMIT");
            if (!rc) rc = rc2;
        }
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) break;
        weft_plat_sleep_ns(10000000);
    }
    if (!rc) rc = prepare_all(s);
    return rc;
}

static void close_db(packed_state *s) {
    finalize_all(s);
    sqlite3_close_v2(s->db);
    s->db = NULL;
}

/* A database SQLite cannot read is kept aside (weft.db.damaged-<time>) for a post
 * mortem, with its WAL; its entries are lost and get recomputed. */
static void move_damaged_aside(const char *root) {
    char from[4200], to[4300];
    long long now = (long long)(weft_plat_wall_ns() / 1000000000);
    static const char *suffix[] = {"", "-wal"};
    for (int i = 0; i < 2; i++) {
        snprintf(from, sizeof from, "%s/" WEFT__PACKED_DB "%s", root, suffix[i]);
        snprintf(to, sizeof to, "%s/" WEFT__PACKED_DB ".damaged-%lld%s", root, now, suffix[i]);
        weft_plat_rename(from, to);
    }
    snprintf(from, sizeof from, "%s/" WEFT__PACKED_DB "-shm", root);
    weft_plat_unlink(from);
}

static int packed_open(void *state, const char *location) {
    packed_state *s = state;
    int rc = weft__packed_env_check();
    if (rc) return rc;
    int read_only;
    rc = weft__disk_prepare(location, WEFT__PACKED_MARKER_TEXT, &read_only);
    if (rc) return rc;
    /* SQLite's write-ahead log needs to write beside the database even to read it */
    if (read_only)
        return weft__set_error(WEFT_ESYS, "cannot write to the cache folder '%s' (a packed cache needs write access: check its permissions and free space)", location);
    int kind = weft__disk_marker_kind(location);
    if (kind < 0)
        return weft__set_error(WEFT_ESYS, "cannot read the marker of the cache folder '%s': %s", location, weft_plat_strerror(kind));
    if (kind == WEFT__MARKER_LOG)
        return weft__set_error(WEFT_EINVAL, "'%s' is a weft cache of the log store, not the packed one", location);
    if (kind == 0)
        return weft__set_error(WEFT_EINVAL, "'%s' is a file-per-entry weft cache: open it as it is, or convert it with `weft cache migrate %s`", location, location);
    size_t n = strlen(location);
    while (n > 1 && location[n - 1] == '/') n--;
    if (!(s->root = malloc(n + 1)) || !(s->files = calloc(1, weft__store_disk.state_size))) {
        free(s->root);
        return WEFT_ENOMEM;
    }
    memcpy(s->root, location, n);
    s->root[n] = '\0';
    rc = weft__store_disk.open(s->files, s->root);
    if (rc) {
        free(s->files);
        free(s->root);
        return rc;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/" WEFT__PACKED_DB, s->root);
    rc = open_db(s, path);
    if (is_damage(rc)) {
        close_db(s);
        move_damaged_aside(s->root);
        rc = open_db(s, path);
    }
    if (rc) {
        int err = db_error(s, rc, "cannot open");
        close_db(s);
        weft__store_disk.close(s->files);
        free(s->files);
        free(s->root);
        return err;
    }
    weft_plat_mutex_init(&s->lock);
    return 0;
}

/* Fold the uses log into the entries' last-use times (inside a write transaction, lock
 * held): each entry's page is written once for all its uses since the last fold. */
static int fold_uses(packed_state *s) {
    int rc = exec(s, "UPDATE entries SET atime = u.at FROM (SELECT id, max(at) AS at FROM uses"
                     " GROUP BY id) AS u WHERE entries.id = u.id AND entries.atime < u.at");
    return rc ? rc : exec(s, "DELETE FROM uses");
}

/* Write the recorded uses, inside the caller's write transaction (lock held); a log
 * grown past USES_FOLD rows is folded (its size stays bounded without evictions). */
static void write_touches(packed_state *s) {
    int64_t last = 0;
    for (size_t i = 0; i < s->n_touched; i++) {
        sqlite3_bind_int64(s->touch, 1, s->touched[i].id);
        sqlite3_bind_int64(s->touch, 2, s->touched[i].at_ns);
        if (sqlite3_step(s->touch) == SQLITE_DONE) last = sqlite3_last_insert_rowid(s->db);
        sqlite3_reset(s->touch);
    }
    if (s->n_touched && last / USES_FOLD != (last - (int64_t)s->n_touched) / USES_FOLD) fold_uses(s);
    s->n_touched = 0;
}

/* The same in a transaction of their own (lock held); best effort. */
static void flush_touches(packed_state *s) {
    if (!s->n_touched) return;
    if (exec(s, "BEGIN IMMEDIATE") != 0) {
        s->n_touched = 0;
        return;
    }
    write_touches(s);
    if (exec(s, "COMMIT") != 0) exec(s, "ROLLBACK");
}

/* Every use, buffered or logged, into the entries' last-use times (lock held). */
static void settle_uses(packed_state *s) {
    if (exec(s, "BEGIN IMMEDIATE") != 0) return;
    write_touches(s);
    if (fold_uses(s) == 0 && exec(s, "COMMIT") == 0) return;
    exec(s, "ROLLBACK");
}

static void packed_close(void *state) {
    packed_state *s = state;
    flush_touches(s);
    close_db(s);
    free(s->scratch);
    for (size_t i = 0; i < s->n_tasks; i++) free(s->tasks[i].name);
    free(s->tasks);
    weft__store_disk.close(s->files);
    free(s->files);
    free(s->root);
    weft_plat_mutex_destroy(&s->lock);
}

/* ---- task ids (lock held) */

/* The task's id: > 0, 0 when it has none yet (and `create` is 0), or -(SQLite status). */
static int64_t task_of(packed_state *s, const char *task, int create) {
    for (size_t i = 0; i < s->n_tasks; i++)
        if (strcmp(s->tasks[i].name, task) == 0) return s->tasks[i].id;
    int rc;
    if (create) {
        sqlite3_bind_text(s->task_add, 1, task, -1, SQLITE_STATIC);
        rc = sqlite3_step(s->task_add);
        sqlite3_reset(s->task_add);
        if (rc != SQLITE_DONE) return -rc;
    }
    sqlite3_bind_text(s->task_find, 1, task, -1, SQLITE_STATIC);
    rc = sqlite3_step(s->task_find);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(s->task_find, 0) : 0;
    sqlite3_reset(s->task_find);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return -rc;
    if (!id) return 0;
    if (create) {
        sqlite3_bind_int64(s->total_add, 1, id);
        rc = sqlite3_step(s->total_add);
        sqlite3_reset(s->total_add);
        if (rc != SQLITE_DONE) return -rc;
    }
    task_id *v = realloc(s->tasks, (s->n_tasks + 1) * sizeof *v);
    if (!v) return id;
    s->tasks = v;
    size_t len = strlen(task) + 1;
    if ((v[s->n_tasks].name = malloc(len))) {
        memcpy(v[s->n_tasks].name, task, len);
        v[s->n_tasks++].id = id;
    }
    return id;
}

/* ---- reads */

/* The entry of a row's data, for the key asked: 0, 1 (a large value: its file),
 * WEFT_ENOTFOUND (another key's row, or no prefix), or as weft__unpack. */
static int read_data(const unsigned char *d, size_t n, weft__store_get *g) {
    if (n < PREFIX || memcmp(d, g->key + 8, 8) != 0) return WEFT_ENOTFOUND;
    uint32_t packing = packing_of(d);
    return packing ? weft__unpack(packing, d + PREFIX, n - PREFIX, g->key, &g->head, &g->value) : 1;
}

/* One read with the prepared SELECT, inside the caller's transaction (lock held): 0, 1
 * (a large value: its file), or as get. */
static int get_one(packed_state *s, weft__store_get *g, int64_t tid) {
    sqlite3_bind_int64(s->get, 1, id_of(g->key));
    int rc = sqlite3_step(s->get), out = WEFT_ENOTFOUND;
    if (rc == SQLITE_ROW && sqlite3_column_int64(s->get, 0) == tid) {
        const unsigned char *d = sqlite3_column_blob(s->get, 1);
        out = read_data(d ? d : (const unsigned char *)"", (size_t)sqlite3_column_bytes(s->get, 1), g);
        if (out == 0) g->last_access_ns = sqlite3_column_int64(s->get, 2);
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        out = db_error(s, rc, "cannot read");
    }
    sqlite3_reset(s->get);
    return out;
}

/* The same through the batch's blob handle, moved to the key's row (no statement reset,
 * no cursor opened per key: about half the CPU of a SELECT). It cannot see the row's
 * task id: a 128-bit key names its task (memory/args.c), which the entry's header checks
 * again. ASK: answered by get_one instead: no such row (SQLite then ends the handle), or
 * any error. */
#define ASK 2
static int blob_get(packed_state *s, weft__store_get *g) {
    int rc = s->blob ? sqlite3_blob_reopen(s->blob, id_of(g->key))
                     : sqlite3_blob_open(s->db, "main", "entries", "data", id_of(g->key), 0, &s->blob);
    int n = rc ? 0 : sqlite3_blob_bytes(s->blob);
    if (!rc && scratch_for(s, (size_t)n + 1) == 0 && sqlite3_blob_read(s->blob, s->scratch, n, 0) == 0)
        return read_data(s->scratch, (size_t)n, g);
    sqlite3_blob_close(s->blob);
    s->blob = NULL;
    return ASK;
}

static int by_id(const void *a, const void *b) {
    int64_t x = id_of((*(weft__store_get *const *)a)->key), y = id_of((*(weft__store_get *const *)b)->key);
    return (x > y) - (x < y);
}

static void packed_get_many(void *state, weft__store_get *gets, size_t n) {
    packed_state *s = state;
    /* in key order: each lookup walks near the last one's pages */
    weft__store_get *stack[256], **order = n <= 256 ? stack : malloc(n * sizeof *order);
    for (size_t i = 0; order && i < n; i++) order[i] = &gets[i];
    if (order && n > 1) qsort(order, n, sizeof *order, by_id);
    weft_plat_mutex_lock(&s->lock);
    int rc = exec(s, "BEGIN"), blob = 1; /* one snapshot, one lock for the batch */
    for (size_t i = 0; i < n; i++) {
        weft__store_get *g = order ? order[i] : &gets[i];
        g->head = g->value = (weft_bytes){NULL, 0};
        g->last_access_ns = -1;
        int64_t tid = rc ? 0 : task_of(s, g->task, 0);
        if (rc || tid < 0) {
            g->rc = db_error(s, rc ? rc : (int)-tid, "cannot read");
            continue;
        }
        /* the blob handle while keys are found; after a miss (which ends it) the rest
         * of the batch, likely misses too, goes through the SELECT */
        g->rc = tid == 0 ? WEFT_ENOTFOUND : blob && g->no_access ? blob_get(s, g)
                                                                 : ASK;
        if (g->rc == ASK) {
            blob = blob && !g->no_access;
            g->rc = get_one(s, g, tid);
        }
    }
    sqlite3_blob_close(s->blob); /* before the commit: it holds the read transaction */
    s->blob = NULL;
    if (!rc) exec(s, "COMMIT");
    weft_plat_mutex_unlock(&s->lock);
    if (order != stack) free(order);
    for (size_t i = 0; i < n; i++) { /* large values, outside the lock */
        weft__store_get *g = &gets[i];
        if (g->rc != 1) continue;
        g->rc = weft__store_disk.get(s->files, g->task, g->key, &g->head, &g->value, &g->last_access_ns);
    }
}

static int packed_get(void *state, const char *task, const uint8_t key[16], weft_bytes *head,
                      weft_bytes *value, int64_t *last_access_ns) {
    weft__store_get g = {.task = task, .key = key};
    packed_get_many(state, &g, 1);
    *head = g.head;
    *value = g.value;
    *last_access_ns = g.last_access_ns;
    return g.rc;
}

/* ---- writes */

static void set_sync(packed_state *s, int fsync) {
    if (!!fsync == s->fsync_full) return;
    if (exec(s, fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL") == 0) s->fsync_full = !!fsync;
}

static void packed_put_many(void *state, weft__store_put *puts, size_t n, int fsync) {
    packed_state *s = state;
    /* large values first, as files; their index rows then join the batch's transaction
     * (a kill in between leaves a file no row names: space, never a wrong value) */
    for (size_t i = 0; i < n; i++) {
        weft__store_put *p = &puts[i];
        p->rc = 0;
        if (is_large(p->head_size, p->value_size))
            p->rc = weft__store_disk.put(s->files, p->task, p->key, p->head, p->head_size, p->value,
                                         p->value_size, fsync);
    }
    weft_plat_mutex_lock(&s->lock);
    set_sync(s, fsync);
    int rc = exec(s, "BEGIN IMMEDIATE"), err = 0;
    if (!rc) write_touches(s);
    for (size_t i = 0; !rc && i < n; i++) {
        weft__store_put *p = &puts[i];
        if (p->rc) continue;
        int64_t tid = task_of(s, p->task, 1);
        rc = tid < 0 ? (int)-tid : tid == 0 ? SQLITE_ERROR
                                            : write_row(s, s->upsert, tid, p->key, weft_plat_wall_ns(), p->head, p->head_size, p->value, p->value_size, is_large(p->head_size, p->value_size));
    }
    if (!rc) rc = exec(s, "COMMIT");
    if (rc) {
        err = db_error(s, rc, "cannot store entries");
        exec(s, "ROLLBACK");
        for (size_t i = 0; i < s->n_tasks; i++) free(s->tasks[i].name);
        s->n_tasks = 0; /* ids made in the rolled-back transaction are gone */
    }
    weft_plat_mutex_unlock(&s->lock);
    for (size_t i = 0; err && i < n; i++)
        if (!puts[i].rc) puts[i].rc = err;
}

static int packed_put(void *state, const char *task, const uint8_t key[16], const void *head,
                      size_t head_size, const void *value, size_t value_size, int fsync) {
    weft__store_put p = {task, key, head, value, head_size, value_size, 0};
    packed_put_many(state, &p, 1, fsync);
    return p.rc;
}

/* Delete a row (lock held): 0 (and *large), WEFT_ENOTFOUND, or an error. */
static int delete_row(packed_state *s, const char *task, const uint8_t key[16], int *large) {
    *large = 0;
    int64_t tid = task_of(s, task, 0);
    if (tid < 0) return db_error(s, (int)-tid, "cannot remove an entry");
    if (tid == 0) return WEFT_ENOTFOUND;
    sqlite3_bind_int64(s->del, 1, id_of(key));
    sqlite3_bind_blob(s->del, 2, key + 8, 8, SQLITE_STATIC);
    sqlite3_bind_int64(s->del, 3, tid);
    int rc = sqlite3_step(s->del), out = WEFT_ENOTFOUND;
    if (rc == SQLITE_ROW) {
        *large = sqlite3_column_int(s->del, 0);
        out = 0;
        rc = sqlite3_step(s->del);
    }
    if (rc != SQLITE_DONE) out = db_error(s, rc, "cannot remove an entry");
    sqlite3_reset(s->del);
    return out;
}

static int packed_remove(void *state, const char *task, const uint8_t key[16]) {
    packed_state *s = state;
    int large;
    weft_plat_mutex_lock(&s->lock);
    int rc = delete_row(s, task, key, &large);
    weft_plat_mutex_unlock(&s->lock);
    /* the row goes first: a file no row names is never read */
    if (rc == 0 && large) weft__store_disk.remove(s->files, task, key);
    return rc;
}

static int packed_touch(void *state, const char *task, const uint8_t key[16], int64_t now_ns) {
    packed_state *s = state;
    weft_plat_mutex_lock(&s->lock);
    int64_t tid = task_of(s, task, 0);
    if (tid > 0) {
        if (s->n_touched == TOUCH_BUFFER) flush_touches(s);
        s->touched[s->n_touched].id = id_of(key);
        s->touched[s->n_touched++].at_ns = now_ns;
    }
    weft_plat_mutex_unlock(&s->lock);
    return tid > 0 ? 0 : WEFT_ENOTFOUND; /* best effort, like the disk store's */
}

/* ---- listing: a page of rows at a time, read under the lock, reported outside it, so
 * callbacks may remove what they are shown */

typedef struct row {
    int64_t id, tid, atime, size;
    uint8_t tail[8];
    int large;
} row;

/* A listed row's id, tail (column `at`), task id, last use, size and kind. */
#define ROW_SQL "SELECT id, " TAIL_SQL ", tid, atime, size, " LARGE_SQL " FROM entries"
static void read_row(sqlite3_stmt *st, row *r) {
    r->id = sqlite3_column_int64(st, 0);
    const void *t = sqlite3_column_blob(st, 1);
    memset(r->tail, 0, 8);
    if (t && sqlite3_column_bytes(st, 1) == 8) memcpy(r->tail, t, 8);
    r->tid = sqlite3_column_int64(st, 2);
    r->atime = sqlite3_column_int64(st, 3);
    r->size = sqlite3_column_int64(st, 4);
    r->large = sqlite3_column_int(st, 5);
}

static const char *task_name(packed_state *s, int64_t tid, char **names, size_t n_names) {
    (void)s;
    return tid > 0 && (size_t)tid <= n_names ? names[tid - 1] : NULL;
}

/* Every task name by id (ids are dense from 1: SQLite's rowids); NULL-padded. */
static int load_names(packed_state *s, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, "SELECT id, name FROM tasks ORDER BY id", -1, &st, NULL);
    if (rc) return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (id < 1 || id > 1000000) continue;
        if ((size_t)id > *n) {
            char **v = realloc(*out, (size_t)id * sizeof *v);
            if (!v) break;
            for (size_t i = *n; i < (size_t)id; i++) v[i] = NULL;
            *out = v;
            *n = (size_t)id;
        }
        const char *name = (const char *)sqlite3_column_text(st, 1);
        size_t len = name ? strlen(name) + 1 : 0;
        if (len && ((*out)[id - 1] = malloc(len))) memcpy((*out)[id - 1], name, len);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : rc;
}

static void free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

static int packed_list(void *state, const char *task, weft__store_list_fn fn, void *user) {
    packed_state *s = state;
    row *page = malloc(LIST_PAGE * sizeof *page);
    if (!page) return WEFT_ENOMEM;
    char **names = NULL;
    size_t n_names = 0;
    sqlite3_stmt *st = NULL;
    weft_plat_mutex_lock(&s->lock);
    settle_uses(s); /* the listing reports last uses */
    int64_t only = task ? task_of(s, task, 0) : -1;
    int rc = only < -1 ? (int)-only : load_names(s, &names, &n_names);
    if (!rc)
        rc = sqlite3_prepare_v2(s->db,
                                ROW_SQL " WHERE id >= ?1 AND (?2 < 0 OR tid = ?2) ORDER BY id LIMIT ?3",
                                -1, &st, NULL);
    int out = rc ? db_error(s, rc, "cannot list") : 0;
    weft_plat_mutex_unlock(&s->lock);
    int64_t from = INT64_MIN; /* the next page's first id */
    while (!out && only != 0) {
        size_t n = 0;
        weft_plat_mutex_lock(&s->lock);
        sqlite3_bind_int64(st, 1, from);
        sqlite3_bind_int64(st, 2, only);
        sqlite3_bind_int(st, 3, LIST_PAGE);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) read_row(st, &page[n++]);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) out = db_error(s, rc, "cannot list");
        weft_plat_mutex_unlock(&s->lock);
        for (size_t i = 0; !out && i < n; i++) {
            const char *name = task_name(s, page[i].tid, names, n_names);
            if (!name) continue;
            char path[4200];
            weft__store_item it = {.task = name, .size = page[i].size, .last_access_ns = page[i].atime};
            key_of(page[i].id, page[i].tail, it.key);
            if (page[i].large && weft__packed_file_path(s->root, name, it.key, path, sizeof path) == 0)
                it.path = path;
            out = fn(&it, user);
        }
        if (n < LIST_PAGE) break;
        if (page[n - 1].id == INT64_MAX) break;
        from = page[n - 1].id + 1;
    }
    weft_plat_mutex_lock(&s->lock);
    sqlite3_finalize(st);
    weft_plat_mutex_unlock(&s->lock);
    free_names(names, n_names);
    free(page);
    /* files a killed writer left behind (large values) */
    if (!out) out = weft__store_disk.list(s->files, task, weft__packed_temps_only, &(weft__packed_filter){fn, user});
    return out;
}

static int packed_remove_temp(void *state, const weft__store_item *item) {
    return weft__store_disk.remove_temp(((packed_state *)state)->files, item);
}

static int packed_clear(void *state, const char *task) {
    packed_state *s = state;
    weft_plat_mutex_lock(&s->lock);
    int64_t tid = task ? task_of(s, task, 0) : -1;
    int rc = tid < -1 ? db_error(s, (int)-tid, "cannot clear") : 0;
    if (!rc && tid != 0) {
        sqlite3_stmt *st;
        rc = exec(s, "BEGIN IMMEDIATE");
        const char *sql[] = {"DELETE FROM entries WHERE ?1 < 0 OR tid = ?1", "DELETE FROM meta WHERE ?1 < 0 OR tid = ?1"};
        for (int i = 0; !rc && i < 2; i++) {
            rc = sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL);
            if (!rc) {
                sqlite3_bind_int64(st, 1, tid);
                rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sqlite3_errcode(s->db);
                sqlite3_finalize(st);
            }
        }
        if (!rc) rc = exec(s, "COMMIT");
        if (rc) rc = db_error(s, rc, "cannot clear"), exec(s, "ROLLBACK");
    }
    weft_plat_mutex_unlock(&s->lock);
    if (rc) return rc;
    return weft__store_disk.clear(s->files, task); /* large values, litter, the journal */
}

static int packed_get_meta(void *state, const char *task, const char *name, char *buf, size_t size) {
    packed_state *s = state;
    weft_plat_mutex_lock(&s->lock);
    int64_t tid = task_of(s, task, 0);
    int out = WEFT_ENOTFOUND;
    sqlite3_stmt *st;
    if (tid > 0 && sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE tid = ?1 AND name = ?2", -1, &st, NULL) == 0) {
        sqlite3_bind_int64(st, 1, tid);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && size) {
            snprintf(buf, size, "%s", sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
            out = 0;
        }
        sqlite3_finalize(st);
    }
    weft_plat_mutex_unlock(&s->lock);
    return out;
}

static int packed_put_meta(void *state, const char *task, const char *name, const char *value) {
    packed_state *s = state;
    weft_plat_mutex_lock(&s->lock);
    int rc = exec(s, "BEGIN IMMEDIATE");
    int64_t tid = rc ? 0 : task_of(s, task, 1);
    sqlite3_stmt *st;
    if (!rc && tid <= 0) rc = tid < 0 ? (int)-tid : SQLITE_ERROR;
    if (!rc) rc = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta VALUES(?1, ?2, ?3)", -1, &st, NULL);
    if (!rc) {
        sqlite3_bind_int64(st, 1, tid);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sqlite3_errcode(s->db);
        sqlite3_finalize(st);
    }
    if (!rc) rc = exec(s, "COMMIT");
    int err = rc ? db_error(s, rc, "cannot write a task's version") : 0;
    if (rc) {
        exec(s, "ROLLBACK");
        for (size_t i = 0; i < s->n_tasks; i++) free(s->tasks[i].name);
        s->n_tasks = 0;
    }
    weft_plat_mutex_unlock(&s->lock);
    return err;
}

static int packed_side_path(void *state, const char *name, char *buf, size_t size) {
    packed_state *s = state;
    return (size_t)snprintf(buf, size, "%s/%s", s->root, name) >= size ? WEFT_EINVAL : 0;
}

/* ---- version 3: the index answers stats and eviction */

static int packed_summary(void *state, weft__store_summary_fn fn, void *user, int64_t *disk_bytes) {
    packed_state *s = state;
    char **names = NULL;
    size_t n_names = 0;
    sqlite3_stmt *st = NULL;
    weft_plat_mutex_lock(&s->lock);
    int rc = load_names(s, &names, &n_names);
    if (!rc) rc = sqlite3_prepare_v2(s->db, "SELECT tid, n, bytes, compute, newest FROM totals WHERE n > 0 ORDER BY tid", -1, &st, NULL);
    int out = 0;
    while (!rc && !out && sqlite3_step(st) == SQLITE_ROW) {
        const char *name = task_name(s, sqlite3_column_int64(st, 0), names, n_names);
        if (name)
            out = fn(name, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
                     sqlite3_column_int64(st, 4), user);
    }
    sqlite3_finalize(st);
    if (rc) rc = db_error(s, rc, "cannot read the totals");
    weft_plat_mutex_unlock(&s->lock);
    free_names(names, n_names);
    if (rc) return rc;
    if (out || !disk_bytes) return out;
    /* the database, its WAL, and every file under the folder (large values, journal) */
    *disk_bytes = weft__packed_folder_bytes(s->root);
    return 0;
}

/* Remove up to `limit` of the least recently used entries whose last use is before
 * `before_ns` (or any, when before_ns < 0): the count removed, their bytes, or an error. */
static int evict_some(packed_state *s, int64_t before_ns, int64_t limit, int64_t need_bytes,
                      int64_t *count, int64_t *bytes) {
    *count = *bytes = 0;
    enum { BATCH = 4096 }; /* rows per transaction */
    row *v = malloc(BATCH * sizeof *v);
    if (!v) return WEFT_ENOMEM;
    char **names = NULL;
    size_t n_names = 0;
    int rc = 0;
    while (!rc && (limit > 0 || need_bytes > 0)) {
        sqlite3_stmt *st = NULL;
        size_t n = 0;
        weft_plat_mutex_lock(&s->lock);
        rc = exec(s, "BEGIN IMMEDIATE");
        /* two forms: an OR would keep SQLite from walking the last-use index */
        if (!rc) rc = sqlite3_prepare_v2(s->db, before_ns < 0 ? ROW_SQL " WHERE atime > ?1 ORDER BY atime LIMIT ?2" : ROW_SQL " WHERE atime < ?1 ORDER BY atime LIMIT ?2",
                                         -1, &st, NULL);
        if (!rc) {
            sqlite3_bind_int64(st, 1, before_ns < 0 ? INT64_MIN : before_ns);
            int64_t want = limit > 0 ? (limit < BATCH ? limit : BATCH) : BATCH;
            sqlite3_bind_int64(st, 2, want);
            int step;
            while ((step = sqlite3_step(st)) == SQLITE_ROW && n < BATCH) read_row(st, &v[n++]);
            if (step != SQLITE_ROW && step != SQLITE_DONE) rc = step;
            sqlite3_finalize(st);
        }
        size_t done = 0;
        for (; !rc && done < n && (limit > 0 || need_bytes > 0); done++) {
            int large;
            sqlite3_bind_int64(s->del, 1, v[done].id);
            sqlite3_bind_blob(s->del, 2, v[done].tail, 8, SQLITE_STATIC);
            sqlite3_bind_int64(s->del, 3, v[done].tid);
            int step = sqlite3_step(s->del);
            large = step == SQLITE_ROW;
            while (step == SQLITE_ROW) step = sqlite3_step(s->del);
            sqlite3_reset(s->del);
            if (step != SQLITE_DONE) rc = step;
            v[done].large = v[done].large && large;
            limit--, need_bytes -= v[done].size;
            (*count)++, *bytes += v[done].size;
        }
        if (!rc) rc = exec(s, "COMMIT");
        if (rc) exec(s, "ROLLBACK");
        if (!rc && !names) rc = load_names(s, &names, &n_names);
        weft_plat_mutex_unlock(&s->lock);
        for (size_t i = 0; !rc && i < done; i++) {
            const char *name = task_name(s, v[i].tid, names, n_names);
            uint8_t key[16];
            key_of(v[i].id, v[i].tail, key);
            if (v[i].large && name) weft__store_disk.remove(s->files, name, key);
        }
        if (n < BATCH && (size_t)done == n) break; /* nothing older is left */
        if (n == 0) break;
    }
    free_names(names, n_names);
    free(v);
    return rc ? db_error(s, rc, "cannot evict") : 0;
}

static int packed_evict(void *state, int64_t max_bytes, int64_t max_items, int64_t before_ns,
                        weft__store_evicted *out) {
    packed_state *s = state;
    memset(out, 0, sizeof *out);
    weft_plat_mutex_lock(&s->lock);
    settle_uses(s); /* what was used lately is not the least recently used */
    weft_plat_mutex_unlock(&s->lock);
    int rc = 0;
    if (before_ns > 0) rc = evict_some(s, before_ns, INT64_MAX, 0, &out->expired, &out->expired_bytes);
    if (rc) return rc;
    int64_t items = 0, bytes = 0;
    sqlite3_stmt *st;
    weft_plat_mutex_lock(&s->lock);
    rc = sqlite3_prepare_v2(s->db, "SELECT total(n), total(bytes) FROM totals", -1, &st, NULL);
    if (!rc && sqlite3_step(st) == SQLITE_ROW) {
        items = (int64_t)sqlite3_column_double(st, 0);
        bytes = (int64_t)sqlite3_column_double(st, 1);
    }
    sqlite3_finalize(st);
    weft_plat_mutex_unlock(&s->lock);
    if (rc) return db_error(s, rc, "cannot read the totals");
    int64_t over_items = max_items && items > max_items ? items - max_items : 0;
    int64_t over_bytes = max_bytes && bytes > max_bytes ? bytes - max_bytes : 0;
    if (over_items || over_bytes) rc = evict_some(s, -1, over_items, over_bytes, &out->evicted, &out->evicted_bytes);
    out->items_left = items - out->evicted;
    out->bytes_left = bytes - out->evicted_bytes;
    return rc;
}

const weft_store weft__store_packed = {
    .version = WEFT_STORE_VERSION,
    .name = "packed",
    .state_size = sizeof(packed_state),
    .open = packed_open,
    .close = packed_close,
    .get = packed_get,
    .put = packed_put,
    .remove = packed_remove,
    .touch = packed_touch,
    .list = packed_list,
    .remove_temp = packed_remove_temp,
    .clear = packed_clear,
    .get_meta = packed_get_meta,
    .put_meta = packed_put_meta,
    .get_many = packed_get_many,
    .put_many = packed_put_many,
    .side_path = packed_side_path,
    .summary = packed_summary,
    .evict = packed_evict,
};
