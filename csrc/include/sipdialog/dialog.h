/*
 * sipdialog/dialog.h - SIP dialogs (RFC 3261 sections 12-15) as a sans-IO
 * state machine.
 *
 * A dialog takes parsed messages (sd_msg plus its buffer) and returns the
 * wire bytes of messages to send; it never touches a socket, and it reads
 * the clock and randomness only through the sd_dlg_env it was created with.
 *
 * Ownership: sd_dialog is reference counted. Creation returns one reference
 * owned by the caller; sd_dialog_ref/sd_dialog_unref add and drop them; the
 * last unref frees everything. The env must outlive every dialog made with it.
 *
 * Locking: every function is thread-safe. Mutable fields sit behind the
 * dialog's own lock, held only for copying and checking, never while a
 * listener runs. The local CSeq is atomic: sd_dialog_create_request takes
 * the next value without the lock. Listeners are called after the lock is
 * released, on the thread that caused the transition, in transition order
 * for that thread.
 *
 * Errors: functions return SD_OK or an sd_err with the error record filled.
 * A failing call changes nothing in the dialog (the one exception is a
 * CSeq number a failed sd_dialog_create_request has taken: numbers are
 * never reused, so the next request simply skips it).
 */
#ifndef SIPDIALOG_DIALOG_H
#define SIPDIALOG_DIALOG_H

#include "sipdialog/base.h"
#include "sipdialog/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Dialog states (RFC 3261 12; "terminating" is the time between sending a
 * BYE and its final response, RFC 3261 15.1.1). */
typedef enum sd_dlg_state {
    SD_DLG_NONE = 0,    /* request sent (UAC) or received (UAS), no tagged response yet */
    SD_DLG_EARLY,       /* a 101-199 response with a To tag */
    SD_DLG_CONFIRMED,   /* a 2xx response */
    SD_DLG_TERMINATING, /* BYE sent, its final response not yet in */
    SD_DLG_TERMINATED,
    SD_DLG__NSTATES
} sd_dlg_state;

/* What caused a transition (the rows of the table in state.c). */
typedef enum sd_dlg_event {
    SD_DE_PROVISIONAL = 0, /* 101-199 with a To tag to the creating request */
    SD_DE_SUCCESS,         /* 2xx to the creating request */
    SD_DE_FAILURE,         /* 3xx-6xx to the creating request */
    SD_DE_BYE_SENT,        /* sd_dialog_create_request(BYE) */
    SD_DE_BYE_RECEIVED,    /* an in-dialog BYE that passed every check */
    SD_DE_BYE_DONE,        /* final response to our BYE */
    SD_DE_ENDED,           /* 481 or 408 to an in-dialog request (RFC 3261 12.2.1.2) */
    SD_DE_TIMEOUT,         /* a timer gave up (reported by the caller) */
    SD_DE_CLOSE,           /* sd_dialog_close */
    SD_DE__NEVENTS
} sd_dlg_event;

typedef enum sd_dlg_role { SD_DLG_UAC = 0, SD_DLG_UAS = 1 } sd_dlg_role;

/*
 * The transition table (state.c): the state `event` leads to from `from`,
 * or -1 when RFC 3261 allows no such transition. Pure; never fails.
 */
int sd_dlg_next_state(sd_dlg_state from, sd_dlg_event event);

/* "none", "early", "confirmed", "terminating", "terminated"; static. */
const char *sd_dlg_state_name(sd_dlg_state s);
/* "provisional", "success", "failure", "bye-sent", ...; static. */
const char *sd_dlg_event_name(sd_dlg_event e);

/* One recorded transition. */
typedef struct sd_dlg_transition {
    int64_t at_ns;     /* env->now() when it happened */
    uint8_t from, to;  /* sd_dlg_state */
    uint8_t event;     /* sd_dlg_event */
    uint8_t method;    /* sd_method of the request involved (SD_M_OTHER if none) */
    uint16_t status;   /* status code that caused it, 0 for requests and calls */
    uint16_t _pad;
} sd_dlg_transition;

/*
 * What a dialog needs from outside. Filled by sd_dlg_env_default, then
 * adjusted by the caller; read, never written, by the dialogs.
 */
typedef struct sd_dlg_env {
    sd_parse_opts parse;                         /* limits of the messages built */
    int64_t (*now)(void *ctx);                   /* monotonic ns */
    void *now_ctx;
    sd_err (*random)(void *ctx, void *buf, size_t n); /* CSPRNG bytes */
    void *random_ctx;
    uint64_t branch_key; /* secret mixed into every Via branch the dialogs make */
    sd_intern *strings;  /* shared strings (local target, route set) or NULL: each dialog keeps its own */
} sd_dlg_env;

/* Defaults: default limits, sd_monotonic_ns, sd_os_random, a branch key
 * drawn from sd_os_random (the one system call of the dialog layer's
 * hot paths, made once per env instead of once per dialog). */
void sd_dlg_env_default(sd_dlg_env *env);

typedef struct sd_dialog sd_dialog;

/* Called after a transition, with no dialog lock held; may call any
 * sd_dialog function on `d` (including ones that transition again). */
typedef void (*sd_dlg_listener)(void *ctx, sd_dialog *d, const sd_dlg_transition *t);

/*
 * UAC dialog from the request we sent (INVITE, SUBSCRIBE, REFER or NOTIFY;
 * `req_buf` the buffer `req` was parsed from). The request needs a From tag
 * and, for INVITE/SUBSCRIBE/REFER, a Contact with one SIP or SIPS URI
 * (RFC 3261 8.1.1.8); it must have no To tag. The dialog starts in NONE
 * and keeps a copy of the request until its final response (for CANCEL and
 * matching). Local sequence number = the request's CSeq.
 * Returns SD_OK with *out a new reference, SD_EINVAL (which rule failed),
 * SD_ELIMIT or SD_ENOMEM.
 */
sd_err sd_dialog_new_uac(const sd_dlg_env *env, const char *req_buf, const sd_msg *req, sd_dialog **out,
                         sd_error *err);

/*
 * UAS dialog from a received dialog-creating request. `local_contact` is
 * our Contact URI (a SIP or SIPS URI, without <>); `local_tag` our tag, or
 * len 0 to draw 128 random bits as 32 hex digits. The request needs a From
 * tag and no To tag (an in-dialog request creates nothing), and, for
 * INVITE/SUBSCRIBE/REFER, a Contact. Route set = Record-Route of the
 * request in order; remote target = its Contact. State NONE until a
 * response is made with sd_dialog_respond. The request is kept until its
 * final response. Errors as sd_dialog_new_uac.
 */
sd_err sd_dialog_new_uas(const sd_dlg_env *env, const char *req_buf, const sd_msg *req, sd_str local_contact,
                         sd_str local_tag, sd_dialog **out, sd_error *err);

/* Add a reference; returns d. */
sd_dialog *sd_dialog_ref(sd_dialog *d);
/* Drop a reference; the last one frees the dialog (NULL: no-op). */
void sd_dialog_unref(sd_dialog *d);

/* Set (fn non-NULL) or clear the one listener. Takes the lock briefly. A
 * listener already running finishes with the old ctx: callers that free
 * ctx must make sure of that themselves (the Python binding holds a
 * reference instead). */
void sd_dialog_set_listener(sd_dialog *d, sd_dlg_listener fn, void *ctx);

/* The ctx of the listener when it is `fn`, else NULL (takes the lock
 * briefly; close clears the listener). */
void *sd_dialog_listener_ctx(sd_dialog *d, sd_dlg_listener fn);

/* Flags of sd_dialog_receive. */
enum {
    SD_RECV_AUTO_ANSWER = 1u << 0 /* a BYE that ends the dialog gets its 200 in *reply */
};

/*
 * Apply a received in-dialog request or response.
 *
 * Requests: a request the dialog layer must refuse gets its response in
 * *reply (appended to the buffer), and nothing else changes: 481 when the
 * Call-ID or the tags do not name this dialog (or it is terminated), 500
 * when the CSeq is lower than the remote sequence or equal for a new
 * transaction (12.2.2), 500 with Retry-After for an INVITE while the
 * previous one is unanswered or unacknowledged, 491 for an INVITE while our
 * own INVITE is in progress (14.2), 481 for a non-ACK/CANCEL request while
 * the dialog is still NONE. A CANCEL of the pending INVITE is answered 200
 * (the INVITE still needs its 487 through sd_dialog_respond). An accepted
 * request updates the remote sequence and, for target refreshes (INVITE,
 * UPDATE), the remote target; a BYE terminates the dialog (its 200 in
 * *reply with SD_RECV_AUTO_ANSWER). A retransmission (same CSeq, method and
 * top Via branch as the last request, or the creating request again with
 * its branch) changes nothing and gets no reply; the creating request with
 * another branch is a merged request: 482 (RFC 3261 8.2.2.2). An ACK is
 * never answered: one that names nothing of this dialog is dropped.
 *
 * Responses (From tag = our tag): to the creating request they set the
 * remote tag, remote target and route set and move NONE/EARLY on (1xx with
 * a tag: early; 2xx: confirmed, the route set recomputed; 3xx-6xx:
 * terminated). A response whose To tag differs from the remote tag is a
 * fork: SD_EEXIST (use sd_dialog_fork). 2xx to a re-INVITE or UPDATE
 * refreshes the remote target; 481/408 to any request ends the dialog; a
 * final response to our BYE terminates it.
 *
 * Returns SD_OK (with or without a reply), SD_EINVAL (a response that does
 * not belong to this dialog: another Call-ID, From tag or a CSeq never
 * sent), SD_EEXIST (fork; or, for a dialog in a store still waiting for
 * its first tag, a response whose To tag would give it the ID of another
 * live dialog there, such as a fork of it: the response is that dialog's,
 * nothing changed), SD_ECLOSED, SD_ENOMEM. `reply` may be NULL only
 * when the caller does not want replies (they are then dropped).
 */
sd_err sd_dialog_receive(sd_dialog *d, const char *buf, const sd_msg *m, unsigned flags, sd_buf *reply,
                         sd_error *err);

/*
 * Sibling of a UAC dialog for a response to the same creating request with
 * another To tag (forking, RFC 3261 12.1.2 and 13.2.2.4). The response must
 * be 101-299 with a To tag. *out gets a new reference to a new dialog in
 * EARLY or CONFIRMED; `d` is unchanged. SD_EINVAL when the response is not
 * one of d's creating request, SD_EEXIST when its To tag is d's own.
 */
sd_err sd_dialog_fork(sd_dialog *d, const char *buf, const sd_msg *resp, sd_dialog **out, sd_error *err);

/*
 * Build an in-dialog request (RFC 3261 12.2.1.1) and append its wire form to
 * `out`: Request-URI and Route from the remote target and route set (loose
 * or strict routing), From/To with both tags, Call-ID, the next local CSeq
 * (atomic), Max-Forwards 70, a Via with a fresh branch, Contact for INVITE,
 * UPDATE, SUBSCRIBE, NOTIFY and REFER, then the caller's headers
 * (names/values, validated: tokens and values without CTLs) and the body.
 * CANCEL builds the CANCEL of our pending INVITE instead (RFC 3261 9.1:
 * same Request-URI, top Via, To, Route and CSeq number; only after a
 * provisional response to that INVITE); ACK is refused
 * (use sd_dialog_create_ack). INVITE while an INVITE is in progress in
 * either direction, or a 2xx not acknowledged, is SD_ESTATE (14.1); so is
 * any request in NONE or TERMINATED (and CANCEL without a pending INVITE).
 * BYE moves the dialog to TERMINATING. *cseq (may be NULL) gets the number.
 * Errors: SD_ESTATE, SD_EVALID, SD_ELIMIT (CSeq space or limits), SD_ECLOSED,
 * SD_ENOMEM. `out` is unchanged on failure.
 */
sd_err sd_dialog_create_request(sd_dialog *d, sd_str method, const sd_str *names, const sd_str *values, size_t n,
                                const char *body, size_t body_len, sd_buf *out, uint32_t *cseq, sd_error *err);

/*
 * ACK for a 2xx response to one of our INVITEs (RFC 3261 13.2.2.4): the
 * INVITE's CSeq number, the dialog's route set and remote target, a new
 * branch. Marks that INVITE acknowledged. SD_EINVAL when the response is
 * not a 2xx to an INVITE of this dialog (or not received through
 * sd_dialog_receive first: the dialog must be confirmed by it).
 */
sd_err sd_dialog_create_ack(sd_dialog *d, const char *buf, const sd_msg *resp, const sd_str *names,
                            const sd_str *values, size_t n, const char *body, size_t body_len, sd_buf *out,
                            sd_error *err);

/*
 * UAS: answer the pending INVITE (or other creating request) of this
 * dialog with `status` (101-699; 100 is the transaction layer's). The
 * response copies Via, From, To (with our tag), Call-ID, CSeq from the
 * request, adds Contact for 101-299 and, for the creating request, the
 * request's Record-Route headers (12.1.1). 101-199: NONE -> EARLY; 2xx:
 * confirmed (an unacknowledged 2xx to INVITE blocks new INVITEs until the
 * ACK); 3xx-6xx to the creating request: terminated (to a re-INVITE: the
 * dialog stays). `reason` with p NULL: the default phrase. SD_ESTATE when no
 * request is pending or the final response was sent; SD_EVALID for a bad
 * status or header.
 */
sd_err sd_dialog_respond(sd_dialog *d, int status, sd_str reason, const sd_str *names, const sd_str *values,
                         size_t n, const char *body, size_t body_len, sd_buf *out, sd_error *err);

/*
 * Record that a timer gave up on the dialog (the task layer's Timer B, a
 * 2xx never acknowledged): terminates it with SD_DE_TIMEOUT. SD_ESTATE when
 * already terminated.
 */
sd_err sd_dialog_timeout(sd_dialog *d, sd_error *err);

/*
 * Close: terminate (SD_DE_CLOSE, unless already terminated), free the kept
 * requests and mark the dialog closed; later calls other than ref/unref,
 * snapshot and the getters give SD_ECLOSED. Idempotent (a second close is
 * SD_OK and does nothing).
 */
sd_err sd_dialog_close(sd_dialog *d);

/* State, role and sequence numbers, read atomically (no string copies). */
sd_dlg_state sd_dialog_state(sd_dialog *d);
sd_dlg_role sd_dialog_role(sd_dialog *d);
int sd_dialog_is_closed(sd_dialog *d);

/*
 * An immutable copy of the dialog, made under its lock in one allocation
 * (free with free()). Strings point into the same allocation and are not
 * NUL-terminated; absent ones have len 0. `route_set` is the route set as
 * one comma-separated Route value (split with sd_list_next on
 * (route_set.p, {0, len})).
 */
typedef struct sd_dlg_snap {
    uint8_t state, role, secure, closed;
    uint8_t has_local_seq, has_remote_seq;
    uint8_t invite_pending_out, invite_pending_in; /* INVITE transactions in progress */
    uint8_t ack_pending_out, ack_pending_in;       /* 2xx to INVITE not yet acknowledged */
    uint32_t local_seq, remote_seq;
    uint32_t first_local_seq;           /* the first local number used (0: unknown) */
    sd_str call_id, local_tag, remote_tag;
    sd_str local_uri, remote_uri;       /* From/To URIs (12.1.1, 12.1.2) */
    sd_str local_header, remote_header; /* From/To values as sent, with the tags */
    sd_str local_target, remote_target;
    sd_str route_set;
    int64_t created_at, last_activity;  /* env->now() */
    size_t nhistory;
    const sd_dlg_transition *history;
} sd_dlg_snap;

/* Make a snapshot. SD_OK with *out malloc'd, or SD_ENOMEM. Works on a
 * closed dialog too. */
sd_err sd_dialog_snapshot(sd_dialog *d, sd_dlg_snap **out, sd_error *err);

/*
 * Rebuild a dialog from the fields of a snapshot (fail-over): every string
 * is validated (tokens, Call-ID, URIs, name-addr headers, route values; no
 * control octet anywhere, since they go into requests unchecked) and
 * the history copied. The new dialog continues with the next CSeq. Kept
 * requests are not carried: a restored dialog has no transaction in
 * progress. SD_EINVAL (which field), SD_ELIMIT, SD_ENOMEM.
 */
sd_err sd_dialog_restore(const sd_dlg_env *env, const sd_dlg_snap *s, sd_dialog **out, sd_error *err);

/* Bytes the dialog owns (struct, string arena, history, kept requests):
 * its memory footprint. */
size_t sd_dialog_footprint(sd_dialog *d);

#ifdef __cplusplus
}
#endif
#endif
