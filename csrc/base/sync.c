/*
 * sync.c - the futex mutex of sync.h ("Futexes Are Tricky", mutex 2).
 */
#include "base/sync.h"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

static void futex_wait(_Atomic uint32_t *a, uint32_t val)
{
    syscall(SYS_futex, (uint32_t *)a, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_one(_Atomic uint32_t *a)
{
    syscall(SYS_futex, (uint32_t *)a, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
#else
#include <sched.h>
static void futex_wait(_Atomic uint32_t *a, uint32_t val)
{
    (void)a;
    (void)val;
    sched_yield();
}
static void futex_wake_one(_Atomic uint32_t *a) { (void)a; }
#endif

int sd_lock_try(sd_lock *l)
{
    uint32_t c = 0;
    return atomic_compare_exchange_strong_explicit(&l->state, &c, 1, memory_order_acquire, memory_order_relaxed);
}

void sd_lock_acquire(sd_lock *l)
{
    uint32_t c = 0;
    if (atomic_compare_exchange_strong_explicit(&l->state, &c, 1, memory_order_acquire, memory_order_relaxed))
        return;
    /* contended: mark waiters (2) and sleep until we take it in state 2 */
    if (c != 2) c = atomic_exchange_explicit(&l->state, 2, memory_order_acquire);
    while (c != 0) {
        futex_wait(&l->state, 2);
        c = atomic_exchange_explicit(&l->state, 2, memory_order_acquire);
    }
}

void sd_lock_release(sd_lock *l)
{
    if (atomic_fetch_sub_explicit(&l->state, 1, memory_order_release) != 1) {
        atomic_store_explicit(&l->state, 0, memory_order_release);
        futex_wake_one(&l->state);
    }
}
