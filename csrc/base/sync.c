/*
 * sync.c - the futex mutex of sync.h ("Futexes Are Tricky", mutex 2) and
 * the reader-slot rwlock.
 *
 * Under ThreadSanitizer both are annotated as mutexes (tsan_interface.h),
 * so TSan knows them as locks rather than as loose atomics: its reports
 * name the locks held, and its deadlock detector checks the lock order
 * (shard, then dialog) on every acquisition. Neither lock has a
 * constructor that must run (SD_LOCK_INIT, zeroed memory): no
 * __tsan_mutex_create; the first pre_lock annotation creates TSan's mutex
 * lazily (creation flags 0: plain, not reentrant, not linker-initialised),
 * and freeing the memory drops it (TSan forgets the sync objects of a freed
 * range), so a new object at the same address starts afresh. The rwlock's
 * writer mutex is the rwlock's own business and stays unannotated.
 *
 * TSan's deadlock detector follows at most 64 locks held by one thread at
 * once (and fails hard beyond), while sd_store_check and sd_store_list
 * hold every shard's lock (up to 4096). So a thread's first
 * TSAN_RW_ANNOTATED rwlock sides are annotated as mutexes and later ones
 * only as happens-before edges (__tsan_acquire after taking, __tsan_release
 * before giving back); that needs the sides beyond the limit released in
 * reverse order of taking, as both do. In every other build the
 * annotations are nothing.
 */
#include "base/sync.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SD_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) && !defined(SD_TSAN)
#define SD_TSAN 1
#endif

#ifdef SD_TSAN
#include <sanitizer/tsan_interface.h>
#define TSAN_PRE_LOCK(a, f) __tsan_mutex_pre_lock((a), (f))
#define TSAN_POST_LOCK(a, f) __tsan_mutex_post_lock((a), (f), 0)
#define TSAN_PRE_UNLOCK(a, f) ((void)__tsan_mutex_pre_unlock((a), (f)))
#define TSAN_POST_UNLOCK(a, f) __tsan_mutex_post_unlock((a), (f))
#define TSAN_READ __tsan_mutex_read_lock
#define TSAN_TRY __tsan_mutex_try_lock
#define TSAN_TRY_FAILED __tsan_mutex_try_lock_failed
#define TSAN_RW_ANNOTATED 32

static _Thread_local unsigned rw_held; /* rwlock sides this thread holds */

/* Before taking a side of l: 1 when this acquisition is annotated. */
static int rw_pre_lock(sd_rwlock *l, unsigned f)
{
    if (rw_held >= TSAN_RW_ANNOTATED) return 0;
    __tsan_mutex_pre_lock(l, f);
    return 1;
}

static void rw_post_lock(sd_rwlock *l, unsigned f, int annotated, int ok)
{
    if (annotated) __tsan_mutex_post_lock(l, ok ? f : f | TSAN_TRY_FAILED, 0);
    else if (ok) __tsan_acquire(l);
    if (ok) rw_held++;
}

static int rw_pre_unlock(sd_rwlock *l, unsigned f)
{
    int annotated = --rw_held < TSAN_RW_ANNOTATED;
    if (annotated) (void)__tsan_mutex_pre_unlock(l, f);
    else __tsan_release(l);
    return annotated;
}

static void rw_post_unlock(sd_rwlock *l, unsigned f, int annotated)
{
    if (annotated) __tsan_mutex_post_unlock(l, f);
}
#else
#define TSAN_PRE_LOCK(a, f) ((void)0)
#define TSAN_POST_LOCK(a, f) ((void)0)
#define TSAN_PRE_UNLOCK(a, f) ((void)0)
#define TSAN_POST_UNLOCK(a, f) ((void)0)
#define TSAN_READ 0u
#define TSAN_TRY 0u
#define TSAN_TRY_FAILED 0u
#define rw_pre_lock(l, f) 0
#define rw_post_lock(l, f, annotated, ok) ((void)(annotated), (void)(ok))
#define rw_pre_unlock(l, f) 0
#define rw_post_unlock(l, f, annotated) ((void)(annotated))
#endif

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

static int lock_try_raw(sd_lock *l)
{
    uint32_t c = 0;
    return atomic_compare_exchange_strong_explicit(&l->state, &c, 1, memory_order_acquire, memory_order_relaxed);
}

static void lock_acquire_raw(sd_lock *l)
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

static void lock_release_raw(sd_lock *l)
{
    if (atomic_fetch_sub_explicit(&l->state, 1, memory_order_release) != 1) {
        atomic_store_explicit(&l->state, 0, memory_order_release);
        futex_wake_one(&l->state);
    }
}

int sd_lock_try(sd_lock *l)
{
    TSAN_PRE_LOCK(l, TSAN_TRY);
    int ok = lock_try_raw(l);
    TSAN_POST_LOCK(l, ok ? TSAN_TRY : TSAN_TRY | TSAN_TRY_FAILED);
    return ok;
}

void sd_lock_acquire(sd_lock *l)
{
    TSAN_PRE_LOCK(l, 0);
    lock_acquire_raw(l);
    TSAN_POST_LOCK(l, 0);
}

void sd_lock_release(sd_lock *l)
{
    TSAN_PRE_UNLOCK(l, 0);
    lock_release_raw(l);
    TSAN_POST_UNLOCK(l, 0);
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

static int tryrdlock_raw(sd_rwlock *l)
{
    unsigned s = my_slot();
    atomic_fetch_add_explicit(&l->slot[s].word, SD_RW_READER + SD_RW_COUNT, memory_order_seq_cst);
    if (atomic_load_explicit(&l->writer, memory_order_seq_cst) == 0) return (int)s;
    atomic_fetch_sub_explicit(&l->slot[s].word, SD_RW_READER + SD_RW_COUNT, memory_order_release);
    return -1;
}

int sd_rwlock_tryrdlock(sd_rwlock *l)
{
    int a = rw_pre_lock(l, TSAN_READ | TSAN_TRY);
    int s = tryrdlock_raw(l);
    rw_post_lock(l, TSAN_READ | TSAN_TRY, a, s >= 0);
    return s;
}

unsigned sd_rwlock_rdlock(sd_rwlock *l)
{
    int a = rw_pre_lock(l, TSAN_READ);
    for (;;) {
        int s = tryrdlock_raw(l);
        if (s >= 0) {
            rw_post_lock(l, TSAN_READ, a, 1);
            return (unsigned)s;
        }
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
    int a = rw_pre_unlock(l, TSAN_READ);
    atomic_fetch_sub_explicit(&l->slot[slot].word, SD_RW_READER, memory_order_release);
    rw_post_unlock(l, TSAN_READ, a);
}

void sd_rwlock_wrlock(sd_rwlock *l)
{
    int a = rw_pre_lock(l, 0);
    lock_acquire_raw(&l->wmutex);
    atomic_store_explicit(&l->writer, 1, memory_order_seq_cst);
    /* readers already inside finish; new ones see the flag and wait */
    for (unsigned s = 0; s < SD_RW_SLOTS; s++) {
        int spins = 0;
        while (atomic_load_explicit(&l->slot[s].word, memory_order_acquire) & SD_RW_READERS_MASK)
            if (++spins > 64) sched_yield();
    }
    rw_post_lock(l, 0, a, 1);
}

void sd_rwlock_wrunlock(sd_rwlock *l)
{
    int a = rw_pre_unlock(l, 0);
    if (atomic_exchange_explicit(&l->writer, 0, memory_order_release) == 2) futex_wake_all(&l->writer);
    lock_release_raw(&l->wmutex);
    rw_post_unlock(l, 0, a);
}

uint64_t sd_rwlock_entries(sd_rwlock *l)
{
    uint64_t n = 0;
    for (unsigned s = 0; s < SD_RW_SLOTS; s++)
        n += atomic_load_explicit(&l->slot[s].word, memory_order_relaxed) / SD_RW_COUNT;
    return n;
}
