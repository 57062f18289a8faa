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

static void futex_wake_all(_Atomic uint32_t *a)
{
    syscall(SYS_futex, (uint32_t *)a, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
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
static void futex_wake_all(_Atomic uint32_t *a) { (void)a; }
#endif
#include <sched.h>
#include <string.h>

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

/* ------------------------------------------------------------ rwlock */

void sd_rwlock_init(sd_rwlock *l)
{
    memset(l, 0, sizeof *l);
}

/* The slot of the calling thread: its stack address, mixed. Threads' stacks
 * are separate mappings, so different threads mostly get different slots;
 * a clash only shares a cache line, it is never incorrect. */
static unsigned my_slot(void)
{
    volatile char here = 0;
    uintptr_t a = (uintptr_t)&here >> 16;
    return (unsigned)((a * 0x9e3779b97f4a7c15ull) >> 60) % SD_RW_SLOTS;
}

int sd_rwlock_tryrdlock(sd_rwlock *l)
{
    unsigned s = my_slot();
    atomic_fetch_add_explicit(&l->slot[s].word, SD_RW_READER + SD_RW_COUNT, memory_order_seq_cst);
    if (atomic_load_explicit(&l->writer, memory_order_seq_cst) == 0) return (int)s;
    atomic_fetch_sub_explicit(&l->slot[s].word, SD_RW_READER + SD_RW_COUNT, memory_order_release);
    return -1;
}

unsigned sd_rwlock_rdlock(sd_rwlock *l)
{
    for (;;) {
        int s = sd_rwlock_tryrdlock(l);
        if (s >= 0) return (unsigned)s;
        /* a writer holds or wants the lock: sleep until it is done */
        uint32_t w = atomic_load_explicit(&l->writer, memory_order_acquire);
        while (w != 0) {
            if (w == 2 || atomic_compare_exchange_weak_explicit(&l->writer, &w, 2, memory_order_acquire,
                                                                memory_order_acquire))
                futex_wait(&l->writer, 2);
            w = atomic_load_explicit(&l->writer, memory_order_acquire);
        }
    }
}

void sd_rwlock_rdunlock(sd_rwlock *l, unsigned slot)
{
    atomic_fetch_sub_explicit(&l->slot[slot].word, SD_RW_READER, memory_order_release);
}

void sd_rwlock_wrlock(sd_rwlock *l)
{
    sd_lock_acquire(&l->wmutex);
    atomic_store_explicit(&l->writer, 1, memory_order_seq_cst);
    /* readers already inside finish; new ones see the flag and wait */
    for (unsigned s = 0; s < SD_RW_SLOTS; s++) {
        int spins = 0;
        while (atomic_load_explicit(&l->slot[s].word, memory_order_acquire) & SD_RW_READERS_MASK)
            if (++spins > 64) sched_yield();
    }
}

void sd_rwlock_wrunlock(sd_rwlock *l)
{
    if (atomic_exchange_explicit(&l->writer, 0, memory_order_release) == 2) futex_wake_all(&l->writer);
    sd_lock_release(&l->wmutex);
}

uint64_t sd_rwlock_entries(sd_rwlock *l)
{
    uint64_t n = 0;
    for (unsigned s = 0; s < SD_RW_SLOTS; s++)
        n += atomic_load_explicit(&l->slot[s].word, memory_order_relaxed) / SD_RW_COUNT;
    return n;
}
