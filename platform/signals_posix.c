/* SIGINT while weft calls run: the first one asks the running calls to stop, a second
 * one (or one arriving while no call runs) does what SIGINT did before weft came:
 * normally, end the program. The handler is installed once, at the first call, and only
 * where SIGINT still has its default action, so a program's own handler always wins. */
#define _POSIX_C_SOURCE 200809L
#include "platform.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int install_tried;
static struct sigaction previous;
static atomic_int watchers;
static atomic_uint interrupts;
static atomic_int unanswered; /* SIGINTs since the last call began */

static void on_sigint(int sig) {
    if (atomic_load(&watchers) > 0 && atomic_fetch_add(&unanswered, 1) == 0) {
        atomic_fetch_add(&interrupts, 1);
        return;
    }
    sigaction(SIGINT, &previous, NULL);
    raise(sig);
}

static void install_once(void) {
    pthread_mutex_lock(&install_lock);
    if (!atomic_load(&install_tried)) {
        struct sigaction current;
        sigaction(SIGINT, NULL, &current);
        if (current.sa_handler == SIG_DFL && !(current.sa_flags & SA_SIGINFO)) {
            struct sigaction sa;
            sa.sa_handler = on_sigint;
            sigemptyset(&sa.sa_mask);
            sa.sa_flags = SA_RESTART;
            sigaction(SIGINT, &sa, &previous);
        }
        atomic_store(&install_tried, 1);
    }
    pthread_mutex_unlock(&install_lock);
}

void weft_plat_interrupt_begin(void) {
    if (!atomic_load_explicit(&install_tried, memory_order_acquire)) install_once();
    if (atomic_fetch_add(&watchers, 1) == 0) atomic_store(&unanswered, 0);
}

void weft_plat_interrupt_end(void) { atomic_fetch_sub(&watchers, 1); }

unsigned weft_plat_interrupt_count(void) {
    return atomic_load_explicit(&interrupts, memory_order_relaxed);
}
