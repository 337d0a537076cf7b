/* Progress in the spirit of joblib's `verbose`: a live bar on a terminal, periodic lines
 * otherwise, and a callback for programs that draw their own. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#define BAR_INTERVAL_NS 100000000ull   /* redraw a terminal bar 10 times a second */
#define LINE_INTERVAL_NS 2000000000ull /* a log line every 2 s at verbose 1 */
#define CALLBACK_INTERVAL_NS 50000000ull

void weft__progress_begin(weft__progress *p, const weft_options *o, size_t total) {
    memset(p, 0, sizeof *p);
    p->verbose = o->verbose > 0 ? o->verbose : 0;
    p->fn = o->progress;
    p->user = o->progress_user;
    p->total = total;
    if (p->verbose == 0 && !p->fn) return;
    p->tty = p->verbose > 0 && weft_plat_stderr_is_tty();
    if (p->verbose == 0)
        p->interval_ns = CALLBACK_INTERVAL_NS;
    else if (p->tty)
        p->interval_ns = BAR_INTERVAL_NS;
    else
        p->interval_ns = LINE_INTERVAL_NS / (uint64_t)p->verbose;
    if (p->fn && p->interval_ns > CALLBACK_INTERVAL_NS) p->interval_ns = CALLBACK_INTERVAL_NS;
    p->start_ns = weft_plat_now_ns();
    /* a callback hears from the first batch on, so it can cancel even a short call */
    p->next_ns = p->fn ? p->start_ns : p->start_ns + p->interval_ns;
}

static void fill(const weft__progress *p, size_t done, weft_progress *pr) {
    pr->done = done;
    pr->total = p->total;
    pr->elapsed_s = (double)(weft_plat_now_ns() - p->start_ns) * 1e-9;
    pr->remaining_s = done > 0 && p->total >= done ? pr->elapsed_s * (double)(p->total - done) / (double)done : -1;
}

size_t weft__progress_format(char *buf, size_t size, const weft_progress *pr, int bar) {
    int n = 0;
    if (bar && pr->total) { /* no total (a stream of unknown length): no bar */
        enum { WIDTH = 24 };
        size_t filled = pr->done * WIDTH / pr->total;
        char cells[WIDTH + 1];
        for (size_t i = 0; i < WIDTH; i++) cells[i] = i < filled ? '#' : '.';
        cells[WIDTH] = '\0';
        unsigned pct = (unsigned)(pr->done * 100 / pr->total);
        n = snprintf(buf, size, "[%s] %3u%% ", cells, pct);
    }
    if (n < 0 || (size_t)n >= size) return size ? size - 1 : 0;
    int m = pr->total ? snprintf(buf + n, size - (size_t)n, "done %zu/%zu | elapsed %.1f s",
                                 pr->done, pr->total, pr->elapsed_s)
                      : snprintf(buf + n, size - (size_t)n, "done %zu | elapsed %.1f s", pr->done,
                                 pr->elapsed_s);
    if (m < 0) return (size_t)n;
    n += m;
    if ((size_t)n < size && pr->done < pr->total && pr->remaining_s >= 0)
        n += snprintf(buf + n, size - (size_t)n, " | left ~%.1f s", pr->remaining_s);
    return (size_t)n < size ? (size_t)n : size - 1;
}

static void print(weft__progress *p, const weft_progress *pr) {
    char text[128], line[160];
    weft__progress_format(text, sizeof text, pr, p->tty);
    /* a bar redraws its line and erases what a longer previous one left behind */
    int n = snprintf(line, sizeof line, p->tty ? "\r%s\033[K" : "%s\n", text);
    if (n > 0) weft_plat_write_stderr(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

int weft__progress_update(weft__progress *p, size_t done) {
    weft_progress pr;
    fill(p, done, &pr);
    p->next_ns = weft_plat_now_ns() + p->interval_ns;
    if (p->verbose > 0) print(p, &pr);
    return p->fn ? p->fn(&pr, p->user) : 0;
}

void weft__progress_end(weft__progress *p, size_t done) {
    if (p->verbose == 0 && !p->fn) return;
    weft_progress pr;
    fill(p, done, &pr);
    if (p->verbose > 0) {
        print(p, &pr);
        if (p->tty) weft_plat_write_stderr("\n", 1);
    }
    if (p->fn) p->fn(&pr, p->user);
}
