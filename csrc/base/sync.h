/*
 * sync.h - a 4-byte mutex for objects that exist by the million (dialogs).
 * Internal to the C core.
 *
 * On Linux it is the three-state futex mutex (0 free, 1 locked, 2 locked
 * with waiters): an uncontended lock or unlock is one atomic instruction,
 * a contended one sleeps in the kernel. Elsewhere it spins with sched_yield.
 * Acquire/release ordering on the state word gives the usual mutex
 * happens-before edges. Under ThreadSanitizer both locks of this file are
 * annotated as mutexes (sync.c), so TSan also checks the lock order.
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

/*
 * A read-write lock for the store's shards: readers take the lock far more
 * often than writers, from several threads at once, and hold it for well
 * under a microsecond.
 *
 * The reader count is spread over SD_RW_SLOTS cache lines; a thread uses
 * the slot its stack address maps to, so two readers on two cores seldom
 * write the same line (a single shared counter would bounce between them
 * on every lookup). A reader announces itself in its slot, then checks the
 * writer flag (both sequentially consistent: Dekker's pattern, so either
 * the writer sees the reader or the reader sees the writer). A writer
 * takes the writer mutex, raises the flag, and waits until every slot's
 * reader count is 0; readers that meet the flag step back and sleep on it.
 * Writers are preferred, so a stream of readers cannot starve them.
 *
 * Each slot also counts the read sections entered through it (the upper
 * 40 bits of its word): the store's lookup counter, at no extra cost.
 */
#define SD_RW_SLOTS 4
#define SD_RW_READER 1ull
#define SD_RW_COUNT (1ull << 24)
#define SD_RW_READERS_MASK (SD_RW_COUNT - 1)

typedef struct sd_rwlock {
    struct {
        _Alignas(64) _Atomic uint64_t word; /* readers in bits 0-23, entries counted above */
    } slot[SD_RW_SLOTS];
    _Alignas(64) _Atomic uint32_t writer; /* 0 free, 1 held or wanted, 2 and readers sleep on it */
    sd_lock wmutex;                       /* one writer at a time */
} sd_rwlock;

/* Initialise an unlocked rwlock (all zero bytes is the same state). */
void sd_rwlock_init(sd_rwlock *l);
/* Take the read side; returns the slot to give back to sd_rwlock_rdunlock.
 * Blocks only while a writer holds or waits for the lock. */
unsigned sd_rwlock_rdlock(sd_rwlock *l);
/* Take the read side when no writer holds or wants it: the slot, or -1
 * (nothing taken; never blocks). */
int sd_rwlock_tryrdlock(sd_rwlock *l);
/* Release a read side taken through `slot`. */
void sd_rwlock_rdunlock(sd_rwlock *l, unsigned slot);
/* Take the write side (blocks until no reader and no writer holds it). */
void sd_rwlock_wrlock(sd_rwlock *l);
/* Release the write side. */
void sd_rwlock_wrunlock(sd_rwlock *l);
/* Read sections ever entered (all slots; a racy sum, for statistics). */
uint64_t sd_rwlock_entries(sd_rwlock *l);

#endif
