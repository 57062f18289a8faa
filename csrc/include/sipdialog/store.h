/*
 * store.h - the sharded dialog store: every live dialog of a user agent,
 * found in constant time by its ID, its Call-ID, its tags in either
 * orientation, or the message that names it; thread-safe and bounded.
 *
 * Layout. 2**k shards (default 64), each an open-addressing table (linear
 * probing, backward-shift deletion) behind its own read-write lock. A
 * dialog's slot is chosen by the keyed hash (SipHash-1-3, a per-store
 * random key) of its Call-ID alone: the top bits pick the shard, the low
 * bits the home slot. So every dialog of one call (the early one, its
 * forks, the confirmed one) sits in one cluster of one shard, and one
 * probe sequence serves the three look-ups: by dialog ID (Call-ID, local
 * tag, remote tag), by Call-ID (all its dialogs), and by (Call-ID, tag,
 * tag) in both orientations (Replaces, Target-Dialog). A table slot holds
 * the 64-bit hash and the dialog pointer (16 bytes); the keys are the
 * dialog's own strings, compared only when the hashes agree.
 *
 * Re-keying. A dialog learns its remote tag (UAC: the first tagged
 * response) inside sd_dialog_receive. A dialog in a store takes its
 * shard's write lock before its own lock for every operation that can
 * change its strings or end it (receive, respond, timeout, close, fork),
 * so the new tag, the sibling of a fork, or the removal of an ended dialog
 * appear to readers in one step; since the slot depends on the Call-ID
 * only, a new tag moves nothing in the table. A first tagged response that
 * would give a dialog the ID of another live dialog of the store (its own
 * fork, say) is refused with SD_EEXIST and changes nothing: it is that
 * dialog's response.
 *
 * Lock order: shard (ascending index when several), then dialog. No store
 * lock is held while a listener or the on_removed callback runs.
 *
 * Live view. A dialog that reaches TERMINATED, or is closed, leaves the
 * store in the same step (it is no longer counted, found or listed); its ID
 * is remembered as a tombstone for `tombstone_ns` (64*T1 by default) so
 * that late requests naming it can be answered as the RFCs say
 * (sd_store_ended).
 */
#ifndef SIPDIALOG_STORE_H
#define SIPDIALOG_STORE_H

#include "sipdialog/base.h"
#include "sipdialog/dialog.h"
#include "sipdialog/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sd_store sd_store;

/* Called with no store or dialog lock held, on the thread whose operation
 * took `d` out of the store (end of the dialog, remove, close). `d` is
 * still referenced by the store during the call; the store drops that
 * reference right after. */
typedef void (*sd_store_removed_fn)(void *ctx, sd_dialog *d);

typedef struct sd_store_opts {
    unsigned shards;       /* a power of two, 1..4096 (default 64) */
    size_t max_dialogs;    /* live dialogs at most (default 1,000,000); more: SD_EOVERLOAD */
    unsigned max_per_call; /* dialogs sharing one Call-ID at most (forks; default 32) */
    size_t initial;        /* dialogs expected: pre-sizes the tables (default 0) */
    int64_t tombstone_ns;  /* how long an ended dialog's ID is remembered (default 32 s = 64*T1) */
    size_t max_tombstones; /* remembered IDs at most, in the whole store (default 1,000,000);
                            * when full, the ending dialog's shard gives up its
                            * oldest, and with none to give the new ID is not kept */
    int64_t (*now)(void *ctx); /* monotonic ns (default sd_monotonic_ns) */
    void *now_ctx;
    sd_store_removed_fn on_removed; /* may be NULL */
    void *removed_ctx;
} sd_store_opts;

/* Defaults as documented in sd_store_opts. */
void sd_store_opts_default(sd_store_opts *o);

/* A new, empty store (one reference). SD_EINVAL for bad options (which
 * one), SD_ENOMEM. The hash key comes from the OS (sd_os_random). */
sd_err sd_store_new(const sd_store_opts *o, sd_store **out, sd_error *err);

/* Add a reference; returns s. */
sd_store *sd_store_ref(sd_store *s);
/* Drop a reference; the last one closes the store (sd_store_close) and
 * frees it. NULL: no-op. */
void sd_store_unref(sd_store *s);

/*
 * Put `d` in the store (the store takes its own reference). Refused, with
 * nothing changed: SD_ECLOSED (store or dialog closed), SD_ESTATE (the
 * dialog is terminated), SD_EEXIST (it is in a store already, or a live
 * dialog with the same ID is), SD_EOVERLOAD (max_dialogs live dialogs),
 * SD_ELIMIT (max_per_call dialogs of its Call-ID), SD_ENOMEM.
 */
sd_err sd_store_add(sd_store *s, sd_dialog *d, sd_error *err);

/* Take `d` out of the store (it stays usable). SD_ENOTFOUND when it is
 * not in this store. on_removed runs before this returns. */
sd_err sd_store_remove(sd_store *s, sd_dialog *d);

/*
 * Look-ups. Each returns a new reference (sd_dialog_unref it) or NULL, and
 * takes one shard's read lock briefly. remote_tag len 0 names a UAC dialog
 * still waiting for its first tagged response.
 */
sd_dialog *sd_store_get(sd_store *s, sd_str call_id, sd_str local_tag, sd_str remote_tag);

/* sd_store_get that never waits: 1 with *out the dialog (or NULL: none)
 * when the shard's read lock was free at once, 0 when a writer holds or
 * wants it (nothing done; call sd_store_get). For callers that hold a
 * lock of their own that other threads need while they wait (the Python
 * binding's GIL): they try first, and release it only to wait. */
int sd_store_get_nowait(sd_store *s, sd_str call_id, sd_str local_tag, sd_str remote_tag, sd_dialog **out);

/*
 * For a binding that keeps one object per dialog as its listener's ctx and
 * keeps that object alive while the dialog is stored (the Python
 * DialogManager): the ctx of the live dialog with this ID, borrowed, with
 * no reference to the dialog taken. It is read under the shard's read lock,
 * which excludes the store's own writers of a stored dialog's listener
 * (close, which clears it, takes the shard's write lock); the caller must
 * serialise its own sd_dialog_set_listener calls with this one (the
 * binding's GIL). Never waits: -1 when a writer holds or wants the shard
 * (nothing done), 0 when no live dialog has this ID, 1 when one has, with
 * *ctx its listener's ctx when the listener is `fn`, else NULL.
 */
int sd_store_peek_ctx_nowait(sd_store *s, sd_str call_id, sd_str local_tag, sd_str remote_tag, sd_dlg_listener fn,
                             void **ctx);

/* The dialog whose tags are (tag_a, tag_b) in either orientation: first
 * local=a remote=b, then local=b remote=a. */
sd_dialog *sd_store_find_tags(sd_store *s, sd_str call_id, sd_str tag_a, sd_str tag_b);

/*
 * The dialog a parsed message belongs to (`buf` its buffer).
 * Request: To tag = our local tag, From tag = the remote tag; a request
 * without a To tag (a retransmitted creating INVITE, its CANCEL) finds the
 * UAS dialog it created (remote tag = its From tag). Response: From tag =
 * our local tag; the exact dialog for its To tag, else our dialog still
 * waiting for its first tagged response (it takes the tag on receive). A
 * tagged response for which neither exists (a fork of an early or
 * confirmed dialog) finds nothing: fork a dialog of its Call-ID.
 */
sd_dialog *sd_store_find(sd_store *s, const char *buf, const sd_msg *m);

/* Dialogs of one Call-ID: references to at most `max` of them in out[]
 * (in table order); returns how many there are (may exceed max). */
size_t sd_store_find_call(sd_store *s, sd_str call_id, sd_dialog **out, size_t max);

/* What a tombstone remembers of an ended dialog. */
typedef struct sd_store_ended_info {
    uint8_t how;    /* sd_dlg_event of the transition that ended it (SD_DE_CLOSE, SD_DE_BYE_DONE, ...) */
    uint8_t state;  /* its last sd_dlg_state */
    uint8_t method; /* the method of the request involved, SD_M_OTHER if none */
    uint16_t status;
    int64_t ended_at;
} sd_store_ended_info;

/* 1 when a dialog with tags (tag_a, tag_b) in either orientation ended
 * less than tombstone_ns ago (*info filled when non-NULL), else 0. */
int sd_store_ended(sd_store *s, sd_str call_id, sd_str tag_a, sd_str tag_b, sd_store_ended_info *info);

/* 1 when `d` is in this store now (reads its link under its lock). */
int sd_store_contains(sd_store *s, sd_dialog *d);

/* Live dialogs (exact: updated under the shard locks). */
size_t sd_store_len(sd_store *s);

/* References to every live dialog, taken with every shard read-locked at
 * once (a consistent snapshot): *out malloc'd (free it after unref-ing
 * each), *n entries. SD_ENOMEM. */
sd_err sd_store_list(sd_store *s, sd_dialog ***out, size_t *n);

typedef struct sd_store_shard_stats {
    size_t capacity, dialogs, tombstones;
    size_t longest_probe; /* slots probed by the longest look-up of a present entry */
} sd_store_shard_stats;

typedef struct sd_store_stats {
    size_t live, tombstones;
    size_t per_state[SD_DLG__NSTATES];
    uint64_t lookups, misses, added, removed, rekeyed;
    uint64_t rejected_overload, rejected_per_call, rejected_exists;
    unsigned shards;
    size_t capacity;      /* table slots, all shards */
    size_t bytes;         /* the store's own memory (tables, tombstones; not the dialogs) */
} sd_store_stats;

/* Counters and a census (per_state reads each dialog under its lock).
 * `shard_out` (may be NULL) receives `shards` entries. */
void sd_store_stats_get(sd_store *s, sd_store_stats *out, sd_store_shard_stats *shard_out);

/*
 * Close: refuse later adds (SD_ECLOSED), take every dialog out (each shard
 * emptied under its write lock), then close each dialog and run
 * on_removed for it, with no store lock held. Idempotent. Look-ups on a
 * closed store find nothing.
 */
void sd_store_close(sd_store *s);
int sd_store_is_closed(sd_store *s);

/*
 * Check every invariant of the tables (for tests): each entry reachable
 * from its home slot without crossing an empty slot, the live and
 * tombstone counts equal to the entries, every dialog found by sd_store_get
 * with its own ID and by sd_store_find_call, no two live dialogs with one
 * ID, each dialog's link pointing at this store. SD_OK, or SD_EINVAL with
 * what is wrong. Takes every shard's write lock.
 */
sd_err sd_store_check(sd_store *s, sd_error *err);

#ifdef __cplusplus
}
#endif
#endif
