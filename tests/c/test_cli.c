/* The weft tool against a real cache: ls, show, stats, diff, verify (with a corrupt
 * entry and a stray temporary file), prune, clear, info, and its refusals. The tool's
 * path comes in WEFT_TOOL (set by CMake). */
#define _DEFAULT_SOURCE
#include "check.h"
#include "mem_util.h"
#include "weft.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int twice(weft_task *t) {
    int64_t n;
    if (weft_args_get_i64(weft_input(t), weft_input_size(t), "n", &n)) return weft_fail(t, "no n");
    n *= 2;
    return weft_output(t, &n, sizeof n);
}
WEFT_TASK(twice)

static char output[65536];

/* Run the tool; its exit status, its stdout+stderr in `output`. */
static int tool(const char *args) {
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", getenv("WEFT_TOOL"), args);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(output, 1, sizeof output - 1, p) : 0;
    output[n] = '\0';
    int status = p ? pclose(p) : -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(void) {
    if (!getenv("WEFT_TOOL")) {
        printf("WEFT_TOOL is not set: skipped\n");
        return 0;
    }
    /* the cache this suite damages and ages by hand is a file-per-entry one (the tool
     * on a packed or log cache: test_store_packed, test_store_log) */
    setenv("WEFT_CACHE_STORE", "file", 1);
    char *base = temp_dir("cli");
    char dir[4200], args[16384];
    snprintf(dir, sizeof dir, "%s/cache", base);
    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.debug = 1;
    o.quiet = 1;
    weft_memory *m;
    CHECK_EQ(weft_memory_open(&m, dir, &o), 0);
    weft_args *a = weft_args_new();
    char key[33];
    for (int64_t n = 0; n < 5; n++) {
        weft_args_reset(a);
        weft_args_i64(a, "n", n);
        weft_args_string(a, "label", "run");
        weft_bytes out;
        CHECK_EQ(weft_memory_call(m, WEFT_FN(twice), a, &out, NULL), 0);
        weft_bytes_free(&out, 1);
        if (n == 4) weft_memory_key(m, WEFT_FN(twice), a, NULL, key);
    }
    weft_memory_close(m);
    weft_args_free(a);

    CHECK_EQ(tool("info"), 0);
    CHECK_HAS(output, "CPUs:");
    CHECK_HAS(output, "threads");
    CHECK_HAS(output, "disk");

    snprintf(args, sizeof args, "cache ls '%s'", dir);
    CHECK_EQ(tool(args), 0);
    CHECK_HAS(output, "twice");
    CHECK_HAS(output, "       5 ");

    snprintf(args, sizeof args, "cache ls '%s' twice", dir);
    CHECK_EQ(tool(args), 0);
    CHECK_HAS(output, key);

    /* "last used" is the entry's LRU clock (its file time), not its creation time */
    char entry[4400];
    snprintf(entry, sizeof entry, "%s/twice/%.2s/%s.wfe", dir, key, key);
    struct timespec used[2] = {{1000000000, 0}, {1000000000, 0}};
    CHECK_EQ(utimensat(AT_FDCWD, entry, used, 0), 0);
    snprintf(args, sizeof args, "cache show '%s' twice %.6s", dir, key);
    CHECK_EQ(tool(args), 0);
    CHECK_HAS(output, key);
    CHECK_HAS(output, "last used      2001-09-09 01:46:40 UTC");
    CHECK_HAS(output, "= 4");
    CHECK_HAS(output, "\"run\"");
    CHECK_HAS(output, "checksum");

    snprintf(args, sizeof args, "cache stats '%s'", dir);
    CHECK_EQ(tool(args), 0);
    CHECK_HAS(output, "total: 1 tasks, 5 entries");

    snprintf(args, sizeof args, "cache diff '%s' twice", dir);
    CHECK_EQ(tool(args), 0);
    CHECK_HAS(output, "cache miss for 'twice'");
    CHECK_HAS(output, "n: 3 -> 4");
    snprintf(args, sizeof args, "cache diff '%s' nosuchtask", dir);
    CHECK_EQ(tool(args), 2);
    CHECK_HAS(output, "WEFT_DEBUG=1");

    /* verify: a flipped byte and a stray temporary file */
    static char paths[16][4096];
    CHECK_EQ(find_entries(dir, paths, 16), 5);
    flip_byte(paths[2], file_size(paths[2]) - 2);
    char tmp[8400];
    snprintf(tmp, sizeof tmp, "%.*s/.tmp-1-2-3", (int)(strrchr(paths[0], '/') - paths[0]), paths[0]);
    FILE *f = fopen(tmp, "w");
    fputs("partial", f);
    fclose(f);
    snprintf(args, sizeof args, "cache verify '%s'", dir);
    CHECK_EQ(tool(args), 1);
    CHECK_HAS(output, "4 entries ok, 1 corrupt");
    CHECK_HAS(output, "CORRUPT");
    CHECK_HAS(output, "1 temporary files");
    snprintf(args, sizeof args, "cache verify '%s' --fix", dir);
    CHECK_EQ(tool(args), 0);
    snprintf(args, sizeof args, "cache verify '%s'", dir);
    CHECK_EQ(tool(args), 0);
    CHECK_HAS(output, "4 entries ok, 0 corrupt");
    CHECK_HAS(output, "0 temporary files");

    /* export, then import into a folder that does not exist yet: the same 4 entries,
     * and a call there is a hit */
    char archive[4300], copy[4300];
    snprintf(archive, sizeof archive, "%s/twice.wfa", base);
    snprintf(copy, sizeof copy, "%s/copy", base);
    snprintf(args, sizeof args, "cache export '%s' '%s' twice", dir, archive);
    CHECK_EQ(tool(args), 0);
    CHECK_HAS(output, "exported 4 entries of twice");
    snprintf(args, sizeof args, "cache import '%s' '%s'", copy, archive);
    CHECK_EQ(tool(args), 0);
    CHECK_HAS(output, "imported 4 entries");
    CHECK_EQ(find_entries(copy, paths, 16), 4);
    CHECK_EQ(weft_memory_open(&m, copy, &o), 0);
    a = weft_args_new();
    weft_args_i64(a, "n", 4);
    weft_args_string(a, "label", "run");
    weft_bytes got;
    int hit = 0;
    CHECK_EQ(weft_memory_call(m, WEFT_FN(twice), a, &got, &hit), 0);
    CHECK(hit == 1 && got.size == 8 && *(int64_t *)got.data == 8);
    weft_bytes_free(&got, 1);
    weft_args_free(a);
    weft_memory_close(m);
    /* a cut archive: what came before the cut is kept, and the tool says it is cut */
    truncate(archive, file_size(archive) - 30);
    snprintf(args, sizeof args, "cache import '%s/cut' '%s'", base, archive);
    CHECK_EQ(tool(args), 2);
    CHECK_HAS(output, "imported 3 entries");
    CHECK_HAS(output, "truncated");
    snprintf(args, sizeof args, "cache import '%s' '%s/nothing.wfa'", copy, base);
    CHECK_EQ(tool(args), 2);
    CHECK_HAS(output, "cannot open");
    snprintf(args, sizeof args, "cache export '%s'", dir);
    CHECK_EQ(tool(args), 2);
    CHECK_HAS(output, "usage");

    snprintf(args, sizeof args, "cache prune '%s' --max-items 2", dir);
    CHECK_EQ(tool(args), 0);
    CHECK_HAS(output, "removed 2 entries");
    snprintf(args, sizeof args, "cache prune '%s' --max-items lots", dir);
    CHECK_EQ(tool(args), 2);
    snprintf(args, sizeof args, "cache clear '%s' twice", dir);
    CHECK_EQ(tool(args), 0);
    CHECK_HAS(output, "removed 2 entries of 'twice'");
    CHECK_EQ(find_entries(dir, paths, 16), 0);

    /* refusals: a missing folder, a foreign one (left untouched) */
    snprintf(args, sizeof args, "cache ls '%s/missing'", base);
    CHECK_EQ(tool(args), 2);
    CHECK_HAS(output, "No such file or directory");
    snprintf(args, sizeof args, "%s/foreign", base);
    mkdir(args, 0755);
    snprintf(tmp, sizeof tmp, "%s/foreign/precious.txt", base);
    f = fopen(tmp, "w");
    fputs("keep me", f);
    fclose(f);
    snprintf(args, sizeof args, "cache clear '%s/foreign'", base);
    CHECK_EQ(tool(args), 2);
    CHECK_HAS(output, "not a weft cache");
    CHECK_EQ(access(tmp, F_OK), 0);
    CHECK_EQ(tool("cache frobnicate /tmp"), 2);
    CHECK_HAS(output, "unknown command");
    CHECK_EQ(tool(""), 0);
    CHECK_HAS(output, "usage");
    CHECK_EQ(tool("--help"), 0);
    CHECK_HAS(output, "usage: weft info");
    CHECK_EQ(tool("-h"), 0);
    CHECK_HAS(output, "weft cache ls");
    CHECK_EQ(tool("--version"), 0);
    CHECK_HAS(output, "weft 0.");
    CHECK_EQ(tool("--frobnicate"), 2);
    rm_rf(base);
    free(base);
    return CHECK_DONE();
}
