/*
 * sync.h - a 4-byte mutex for objects that exist by the million (dialogs).
 * Internal to the C core.
 *
 * On Linux it is the three-state futex mutex (0 free, 1 locked, 2 locked
 * with waiters): an uncontended lock or unlock is one atomic instruction,
 * a contended one sleeps in the kernel. Elsewhere it spins with sched_yield.
 * Acquire/release ordering on the state word gives the usual mutex
 * happens-before edges (ThreadSanitizer sees them through the atomics).
 */
#ifndef SD_SYNC_H
#define SD_SYNC_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct sd_lock {
    _Atomic uint32_t state;
} sd_lock;

#define SD_LOCK_INIT {0}

/* Block until the lock is held by the caller. Not recursive. */
void sd_lock_acquire(sd_lock *l);
/* 1 when the lock was free and is now held, else 0 (never blocks). */
int sd_lock_try(sd_lock *l);
/* Release a lock the caller holds. */
void sd_lock_release(sd_lock *l);

#endif
