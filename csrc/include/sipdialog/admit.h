/*
 * sipdialog/admit.h - per-source admission control for dialog creation:
 * source keys, a token-bucket rate limit per source, and a count of live
 * dialogs per source (the denial-of-service protection of the store).
 *
 * Sans-IO: no call reads a clock. Every function that needs the time takes
 * `now_ns`, monotonic nanoseconds (sd_monotonic_ns in production, any
 * clock in tests). A clock that steps back is treated as standing still.
 *
 * The bucket of a source starts full (`burst` tokens), refills
 * continuously at rate_per_minute / 60 tokens per second, never above
 * `burst`, and each admission takes one whole token. The refill is computed
 * as tokens + elapsed_ns * rate_per_minute / 6e10 (in that order, in
 * double precision), then capped at burst.
 *
 * Memory: one object tracks at most `max_sources` sources, about 60 bytes
 * each (the entry plus its share of the index). When it is full, sources
 * whose bucket has refilled completely and that hold no live dialog are
 * evicted (they carry no information: a new bucket would be the same);
 * when there is none, a new source is refused until one refills. A sweep
 * over the table runs at most once per token interval (60 / rate seconds),
 * so a flood of new sources costs O(1) per refusal.
 *
 * Locking: each object has one internal lock, held for a hash look-up and a
 * few arithmetic operations, never while calling out. Every function is
 * thread-safe except *_free, which must be the last use of the object.
 *
 * Errors: constructors and sd_source_key return SD_OK or an sd_err with
 * the error record filled; the hot-path calls return 1/0.
 */
#ifndef SIPDIALOG_ADMIT_H
#define SIPDIALOG_ADMIT_H

#include "sipdialog/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Families of a source key. */
enum {
    SD_SRC_NONE = 0, /* never produced by sd_source_key; an unused key */
    SD_SRC_IPV4 = 4, /* addr[0..4) the address, addr[4..16) zero */
    SD_SRC_IPV6 = 6, /* addr the 16 address octets */
    SD_SRC_NAME = 0x80 /* addr a 128-bit digest of the lowercased host name */
};

/*
 * The normalised address of a source: fixed size, no padding, every octet
 * defined, so two keys name one source exactly when memcmp says they are
 * equal, and the bytes may be hashed as they are.
 */
typedef struct sd_srckey {
    uint8_t family; /* SD_SRC_* */
    uint8_t zero[3];
    uint8_t addr[16];
} sd_srckey;

#define SD_SRCKEY_SIZE 20
/* The longest host name accepted, in octets (a trailing dot not counted). */
#define SD_SRC_MAX_NAME 255

/*
 * Normalise `source` to the key of its address. Accepted forms: "host",
 * "host:port", "[v6]", "[v6]:port", a bare IPv6 literal ("::1",
 * "2001:db8::1"; it cannot carry a port), a dotted-quad IPv4 address. The
 * port (0-65535) is checked and dropped: 10.0.0.1:5060 and 10.0.0.1:5070
 * are one source. An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is the
 * IPv4 address. A host name (letters, digits, '-', '.'; labels of 1-63
 * octets not starting or ending with '-'; at most SD_SRC_MAX_NAME octets; a
 * trailing dot ignored) is keyed by a digest of its lowercased text under
 * SD_SRC_NAME, so it never equals an IP address; the digest is the same in
 * every process (keys may be stored and compared across objects).
 * Returns SD_OK with *out filled, or SD_EINVAL with the reason and the byte
 * offset into `source` (*out untouched). Pure; thread-safe.
 */
sd_err sd_source_key(sd_str source, sd_srckey *out, sd_error *err);

/*
 * The same for a host without a port (the host of a (host, port) pair):
 * "host", "[v6]", a bare IPv6 literal or an IPv4 address; a ":port" is
 * SD_EINVAL.
 */
sd_err sd_source_key_host(sd_str host, sd_srckey *out, sd_error *err);

/* ------------------------------------------------------------ rate limit */

typedef struct sd_ratelimit sd_ratelimit;

/*
 * New per-source token bucket limiter. `rate_per_minute` >= 0 (0: no
 * limit, every take succeeds and nothing is stored); `burst` the bucket
 * size, >= 1, or 0 for the default max(rate_per_minute, 1); `max_sources`
 * 1 .. 16777215 (0: the default 65536). The hash table is keyed with a
 * secret drawn from sd_os_random, so crafted keys cannot flood one chain.
 * SD_OK with *out owned by the caller (free with sd_ratelimit_free);
 * SD_EINVAL (bad argument, or no randomness), SD_ENOMEM.
 */
sd_err sd_ratelimit_new(double rate_per_minute, double burst, size_t max_sources, sd_ratelimit **out,
                        sd_error *err);

/*
 * Take one token from the bucket of `key` at `now_ns`: 1 when taken, 0 when
 * refused (too few tokens, or the table is full of sources that cannot be
 * evicted, or out of memory); a refusal changes nothing. Locks internally.
 */
int sd_ratelimit_take(sd_ratelimit *rl, const sd_srckey *key, int64_t now_ns);

/* Tokens the bucket of `key` holds at `now_ns` (burst for a source not
 * tracked, INFINITY without a limit). Changes nothing. Locks internally. */
double sd_ratelimit_tokens(sd_ratelimit *rl, const sd_srckey *key, int64_t now_ns);

/* Sources currently tracked. Locks internally. */
size_t sd_ratelimit_sources(sd_ratelimit *rl);

/* Free the limiter (NULL: no-op). No other call may run or follow. */
void sd_ratelimit_free(sd_ratelimit *rl);

/* ------------------------------------------------------------- admission */

/* Options of sd_admit_new. A 0 turns that part off. */
typedef struct sd_admit_opts {
    uint32_t max_per_source; /* live dialogs per source; 0: no cap (default 100) */
    double rate_per_minute;  /* admissions per source and minute; 0: no rate limit (default 100) */
    double burst;            /* bucket size >= 1; 0: max(rate_per_minute, 1) (default 0) */
    size_t max_sources;      /* sources tracked at most, 1 .. 16777215; 0: 65536 (default 65536) */
} sd_admit_opts;

/* Fill `o` with the defaults above. */
void sd_admit_opts_default(sd_admit_opts *o);

/* Counters of one sd_admit since its creation (a consistent snapshot). */
typedef struct sd_admit_stats {
    uint64_t admitted;        /* sd_admit_check (and _enter) that returned 1 / SD_OK */
    uint64_t refused_rate;    /* ... refused for want of a token */
    uint64_t refused_cap;     /* ... refused at max_per_source */
    uint64_t refused_sources; /* ... refused: a new source and the table full */
    uint64_t acquired;        /* successful sd_admit_acquire */
    uint64_t acquire_refused; /* sd_admit_acquire that failed */
    uint64_t released;        /* sd_admit_release of a valid slot */
    uint64_t live_dialogs;    /* acquired - released */
    uint64_t live_sources;    /* sources with at least one live dialog */
    uint64_t sources;         /* sources tracked (live ones and partly drained buckets) */
} sd_admit_stats;

typedef struct sd_admit sd_admit;

/*
 * New admission controller (opts NULL: defaults). SD_OK with *out owned by
 * the caller (free with sd_admit_free); SD_EINVAL for a bad option or no
 * randomness; SD_ENOMEM.
 */
sd_err sd_admit_new(const sd_admit_opts *opts, sd_admit **out, sd_error *err);

/* Free the controller (NULL: no-op). No other call may run or follow, and
 * outstanding slots become meaningless. */
void sd_admit_free(sd_admit *a);

/*
 * May `key` create a dialog at `now_ns`? 1 when it has fewer than
 * max_per_source live dialogs and its bucket has a token, which is taken;
 * 0 otherwise, and then nothing changes (no token is taken when the cap
 * refuses). Does not count a live dialog: that is sd_admit_acquire, once
 * the dialog exists. Locks internally.
 */
int sd_admit_check(sd_admit *a, const sd_srckey *key, int64_t now_ns);

/*
 * Count one live dialog against `key`. SD_OK with *slot the handle for its
 * sd_admit_release; SD_ELIMIT when the source is at max_per_source or the
 * table is full of sources that cannot be evicted (nothing changes then);
 * SD_ENOMEM. Takes no token. Locks internally.
 */
sd_err sd_admit_acquire(sd_admit *a, const sd_srckey *key, uint32_t *slot, sd_error *err);

/*
 * sd_admit_check and sd_admit_acquire as one step under the lock (no other
 * thread can take the last place between them): SD_OK with *slot, or
 * SD_ELIMIT (cap, rate or table; the reason says which) with nothing
 * changed, or SD_ENOMEM. Counted as a check (admitted / refused_*) and, on
 * success, as an acquire.
 */
sd_err sd_admit_enter(sd_admit *a, const sd_srckey *key, int64_t now_ns, uint32_t *slot, sd_error *err);

/*
 * The dialog counted by `slot` ended: count it down. Each slot from
 * sd_admit_acquire/_enter is released exactly once. A slot carries a
 * generation: a stale or foreign slot is ignored (almost always; see
 * docs/admission.md). The source's entry goes away when its count reaches
 * 0 and its bucket is full (or there is no rate limit). Locks internally.
 */
void sd_admit_release(sd_admit *a, uint32_t slot);

/* Live dialogs counted against `key` now. Locks internally. */
uint32_t sd_admit_live(sd_admit *a, const sd_srckey *key);

/* Fill *out with the counters. Locks internally. */
void sd_admit_get_stats(sd_admit *a, sd_admit_stats *out);

#ifdef __cplusplus
}
#endif
#endif
