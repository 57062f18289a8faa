/*
 * link.h - what the dialog and the store know of each other. Internal to
 * the C core (csrc/dialog/dialog.c and csrc/store/store.c).
 *
 * A dialog carries one sd_dlg_link. `store` is written only with both the
 * shard's write lock and the dialog's lock held, so holding either lock is
 * enough to read it; the dialog peeks at it without a lock (acquire load)
 * to skip the store's lock when it is not in one, and checks again under
 * its own lock (see lock_guarded in dialog.c).
 */
#ifndef SD_STORE_LINK_H
#define SD_STORE_LINK_H

#include "sipdialog/dialog.h"
#include "sipdialog/store.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct sd_dlg_link {
    sd_store *_Atomic store; /* the store holding the dialog, or NULL */
} sd_dlg_link;

/* ---- provided by dialog.c (the store holds the shard lock as stated) */

/* The dialog's link. */
sd_dlg_link *sd_dialog_link_(sd_dialog *d);
/* The dialog's admission slot + 1 (0: not counted against a source);
 * guarded like the link. */
uint32_t *sd_dialog_src_(sd_dialog *d);
/* Call-ID, local and remote tag (len 0 when unknown). Stable while the
 * dialog's lock or, for a dialog in a store, its shard lock is held. */
void sd_dialog_keys_(const sd_dialog *d, sd_str *call_id, sd_str *local_tag, sd_str *remote_tag);
/* The dialog's own lock. */
void sd_dialog_lock_(sd_dialog *d);
void sd_dialog_unlock_(sd_dialog *d);
/* With the dialog's lock held: 1 while neither closed nor terminated. */
int sd_dialog_live_locked_(const sd_dialog *d);
/* With the dialog's lock held: 1 when closed. */
int sd_dialog_closed_locked_(const sd_dialog *d);
/* With the dialog's lock held: its state and its last transition (zeroed
 * when it has none). */
sd_dlg_state sd_dialog_state_locked_(const sd_dialog *d);
void sd_dialog_last_transition_locked_(const sd_dialog *d, sd_dlg_transition *out);

/* The listener's ctx when the listener is `fn`, else NULL, without the
 * dialog's lock: the caller excludes every writer of the listener (see
 * sd_store_peek_ctx_nowait). */
void *sd_dialog_listener_peek_(const sd_dialog *d, sd_dlg_listener fn);

/* ---- provided by store.c, for dialog.c */

/* The keyed hash of d's Call-ID in s (d's lock or its shard's held). */
uint64_t sd_store_hash_(sd_store *s, const sd_dialog *d);
/* With the lock of a dialog in `s` held: keep `s` from being freed until
 * sd_store_let_go_. A reference (returns 1) while the store has one; once
 * its last reference is gone (it is closing and will take the dialog out)
 * a pin (returns 0), which the freeing waits for. Never a reference from
 * 0: that would free the store twice. */
int sd_store_hold_(sd_store *s);
void sd_store_let_go_(sd_store *s, int ref);
/* Take / release the write lock of the shard of Call-ID hash `h`. */
void sd_store_shard_lock_(sd_store *s, uint64_t h);
void sd_store_shard_unlock_(sd_store *s, uint64_t h);
/* Both locks held, after an operation on `d` (in `s`): when the dialog is no
 * longer live, take it out (tombstone, counts) and return 1: the caller
 * calls sd_store_removed_ once both locks are released. `had_remote_tag`:
 * whether it had one before the operation (for the re-keying counter). */
int sd_store_settle_(sd_store *s, sd_dialog *d, int had_remote_tag);
/* The write lock of the shard of Call-ID hash `h` held: 1 when a live
 * dialog with this ID is in the store (a NONE dialog must not take a
 * remote tag that a sibling of its call already has). */
int sd_store_id_taken_(sd_store *s, uint64_t h, sd_str call_id, sd_str local_tag, sd_str remote_tag);
/* No lock held: run on_removed for `d` and drop the store's reference. */
void sd_store_removed_(sd_store *s, sd_dialog *d);
/* The shard write lock of `parent` held (by the fork's guard), no dialog
 * lock: add `sibling` (same Call-ID). Errors as sd_store_add. */
sd_err sd_store_add_sibling_(sd_store *s, sd_dialog *parent, sd_dialog *sibling, sd_error *err);

#endif
