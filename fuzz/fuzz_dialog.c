/*
 * fuzz_dialog - libFuzzer target for the sipdialog dialog core.
 *
 * Input layout:
 *   byte 0        bits 0-4 modulo 7: the dialog to start from: UAC none,
 *                 early, confirmed, terminating; UAS none, early, confirmed.
 *                 Bit 7: received messages are parsed with
 *                 SD_PARSE_CHECK_URIS, so the dialog takes its fast path
 *                 for URIs the parser checked. Bit 6: the dialog lives in a
 *                 store (sipdialog/store.h): every message is also looked
 *                 up there, forks join it, and the store's invariants are
 *                 checked after every chunk. Bit 5: the dialogs share
 *                 their strings through a table (as the package runs). Every
 *                 setup uses the identities of the seeds (Call-ID
 *                 a84b4c76e66710@pc33.atlanta.example.com, Alice's tag
 *                 1928301774, Bob's tag a6c85cf).
 *   the rest      chunks separated by "\n----\n". A chunk's first byte
 *                 picks operations, the remaining bytes are one message.
 *
 * Operation byte of a chunk:
 *   bit 0   receive with SD_RECV_AUTO_ANSWER (else with no flags); with an
 *           unparsable message: sd_dialog_timeout instead
 *   bit 1   create_ack from the message (when it is a response)
 *   bit 2   create_request, method from bits 4-6
 *   bit 3   fork from the message (when it is a response); the sibling gets
 *           the same checks and is dropped
 *   bit 7   respond, status from bits 4-6
 *   0xff    close (then every call must be SD_ECLOSED)
 * Each chunk's message that sd_msg_parse accepts is fed to
 * sd_dialog_receive first; every chunk ends with a snapshot/restore round
 * trip.
 *
 * Checks (abort on violation, which libFuzzer reports as a crash):
 *   - the state never moves backwards (none < early < confirmed <
 *     terminating < terminated), and every recorded or reported transition
 *     is one of the table's (sd_dlg_next_state(from, event) == to), in a
 *     continuous chain ending in the current state;
 *   - a failing call leaves the whole snapshot unchanged (for
 *     create_request: all but the local CSeq, which may have advanced by
 *     one, dialog.h "Errors") and the output buffer as it was;
 *   - return codes are among the documented ones;
 *   - every message a call appends (replies, requests, ACKs, responses)
 *     parses, and its CSeq, method and Call-ID are the ones expected;
 *   - a restored snapshot gives the same snapshot back;
 *   - a listener that reads the dialog does not deadlock (a hang is a
 *     libFuzzer timeout).
 */
#include "fuzz_common.h"

#include "sipdialog/dialog.h"
#include "sipdialog/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define HCAP 256

#define CALLID "a84b4c76e66710@pc33.atlanta.example.com"
#define A_HDR "Alice <sip:alice@atlanta.example.com>;tag=1928301774"
#define B_HDR "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf"

static const char INVITE_TEXT[] =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
    "Max-Forwards: 70\r\nTo: Bob <sip:bob@biloxi.example.com>\r\nFrom: " A_HDR "\r\n"
    "Call-ID: " CALLID "\r\nCSeq: 314159 INVITE\r\n"
    "Record-Route: <sip:p1.example.com;lr>\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>\r\nContent-Length: 0\r\n\r\n";

static const char R180_TEXT[] =
    "SIP/2.0 180 Ringing\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
    "Record-Route: <sip:p1.example.com;lr>\r\n"
    "To: " B_HDR "\r\nFrom: " A_HDR "\r\nCall-ID: " CALLID "\r\nCSeq: 314159 INVITE\r\n"
    "Contact: <sip:bob@192.0.2.4>\r\nContent-Length: 0\r\n\r\n";

static const char R200_TEXT[] =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
    "Record-Route: <sip:p1.example.com;lr>\r\n"
    "To: " B_HDR "\r\nFrom: " A_HDR "\r\nCall-ID: " CALLID "\r\nCSeq: 314159 INVITE\r\n"
    "Contact: <sip:bob@192.0.2.4>\r\nContent-Length: 0\r\n\r\n";

static const char ACK_TEXT[] =
    "ACK sip:bob@192.0.2.4 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKack\r\n"
    "Route: <sip:p1.example.com;lr>\r\nMax-Forwards: 70\r\n"
    "To: " B_HDR "\r\nFrom: " A_HDR "\r\nCall-ID: " CALLID "\r\nCSeq: 314159 ACK\r\n"
    "Content-Length: 0\r\n\r\n";

static const char *const METHODS[8] = {"INFO", "BYE", "INVITE", "UPDATE", "CANCEL", "OPTIONS", "ACK", "NOTIFY"};
static const int STATUSES[8] = {180, 183, 200, 202, 302, 486, 487, 603};

/* deterministic env: reset for every input */
static int64_t g_clock;
static unsigned g_rnd;

static int64_t f_now(void *ctx)
{
    (void)ctx;
    return g_clock += 1000;
}

static sd_err f_random(void *ctx, void *buf, size_t n)
{
    unsigned char *p = buf;
    (void)ctx;
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(g_rnd++ * 167u + 13u);
    return SD_OK;
}

static sd_header g_hdrs[HCAP];

static int g_check_uris; /* parse received messages with SD_PARSE_CHECK_URIS */

static int parse(const char *buf, size_t len, sd_msg *m, sd_header *h)
{
    sd_error e;
    sd_parse_opts o;
    sd_parse_opts_default(&o);
    if (g_check_uris) o.flags |= SD_PARSE_CHECK_URIS;
    return sd_msg_parse(buf, len, &o, m, h, HCAP, &e) == SD_OK;
}

/* ------------------------------------------------------- snapshots */

/* The snapshot as bytes; `with_lseq` 0 leaves the local CSeq out. */
static char *snap_bytes(sd_dialog *d, int with_lseq, sd_dlg_snap **keep)
{
    sd_dlg_snap *s = NULL;
    sd_error e;
    FUZZ_CHECK(sd_dialog_snapshot(d, &s, &e) == SD_OK);
    sd_buf b;
    sd_buf_init(&b);
    sd_buf_appendf(&b, "%u %u %u %u %u %u %u %u %u %u %u %u", s->state, s->role, s->secure, s->closed,
                   s->has_local_seq, s->has_remote_seq, s->invite_pending_out, s->invite_pending_in,
                   s->ack_pending_out, s->ack_pending_in, with_lseq ? s->local_seq : 0, s->remote_seq);
    const sd_str *f[] = {&s->call_id,      &s->local_tag,    &s->remote_tag,    &s->local_uri,
                         &s->remote_uri,   &s->local_header, &s->remote_header, &s->local_target,
                         &s->remote_target, &s->route_set};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        FUZZ_CHECK(f[i]->len == 0 || f[i]->p != NULL);
        sd_buf_appendf(&b, "|%zu:", f[i]->len);
        sd_buf_append(&b, f[i]->p, f[i]->len);
    }
    sd_buf_appendf(&b, "|%lld %lld %zu", (long long)s->created_at, (long long)s->last_activity, s->nhistory);
    for (size_t i = 0; i < s->nhistory; i++) {
        const sd_dlg_transition *t = &s->history[i];
        sd_buf_appendf(&b, " %lld:%u>%u:%u:%u:%u", (long long)t->at_ns, t->from, t->to, t->event, t->method,
                       t->status);
    }
    FUZZ_CHECK(!b.failed);
    if (keep)
        *keep = s;
    else
        free(s);
    return b.p;
}

/* History and state: a continuous chain of table transitions ending in
 * the current state, times not decreasing. */
static void check_history(const sd_dlg_snap *s)
{
    FUZZ_CHECK(s->state < SD_DLG__NSTATES && s->role <= SD_DLG_UAS);
    int cur = SD_DLG_NONE;
    int64_t at = s->created_at;
    for (size_t i = 0; i < s->nhistory; i++) {
        const sd_dlg_transition *t = &s->history[i];
        FUZZ_CHECK(t->from == cur);
        FUZZ_CHECK(t->to > t->from);
        FUZZ_CHECK(sd_dlg_next_state((sd_dlg_state)t->from, (sd_dlg_event)t->event) == t->to);
        FUZZ_CHECK(t->at_ns >= at);
        at = t->at_ns;
        cur = t->to;
    }
    FUZZ_CHECK(cur == s->state);
    FUZZ_CHECK(s->last_activity >= s->created_at);
    FUZZ_CHECK(s->local_seq < 0x80000000u || !s->has_local_seq);
}

/* --------------------------------------------------------- a dialog */

typedef struct track {
    sd_dialog *d;
    int state;     /* the last state seen */
    int nfired;    /* transitions reported to the listener */
    int last_to;   /* the last reported transition's target */
    int in_listener;
} track;

static void listener(void *ctx, sd_dialog *d, const sd_dlg_transition *t)
{
    track *tr = ctx;
    FUZZ_CHECK(tr->d == d);
    FUZZ_CHECK(sd_dlg_next_state((sd_dlg_state)t->from, (sd_dlg_event)t->event) == t->to);
    FUZZ_CHECK(t->to >= tr->last_to);
    tr->last_to = t->to;
    tr->nfired++;
    /* the lock is released: reading the dialog here must not block */
    FUZZ_CHECK(sd_dialog_state(d) >= t->to);
    sd_dlg_snap *s = NULL;
    sd_error e;
    FUZZ_CHECK(sd_dialog_snapshot(d, &s, &e) == SD_OK);
    free(s);
}

/* After every call: the state has not moved back; the history is sound. */
static void check_state(track *tr)
{
    int st = sd_dialog_state(tr->d);
    FUZZ_CHECK(st >= tr->state);
    FUZZ_CHECK(st < SD_DLG__NSTATES);
    tr->state = st;
    sd_dlg_snap *s = NULL;
    char *t = snap_bytes(tr->d, 1, &s);
    check_history(s);
    FUZZ_CHECK(s->state == st);
    free(s);
    free(t);
}

/* A message the dialog appended to `out` from `from` on: it parses and is
 * what was asked for. `method` NULL: a response; `cseq` 0: any number. */
static void check_built(const sd_buf *out, size_t from, const char *method, int status, uint32_t cseq,
                        const sd_str *call_id)
{
    FUZZ_CHECK(out->len > from);
    size_t len = out->len - from;
    char *copy = malloc(len);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, out->p + from, len);
    sd_msg m;
    sd_error e;
    static sd_header h[HCAP];
    /* what the dialog builds parses; the requests it makes from its own
     * state have every URI valid too (responses and CANCEL copy headers
     * of the request they answer or cancel, as RFC 3261 8.2.6 and 9.1 say) */
    sd_parse_opts o;
    sd_parse_opts_default(&o);
    if (method && strcmp(method, "CANCEL") != 0) o.flags |= SD_PARSE_CHECK_URIS;
    sd_err rc = sd_msg_parse(copy, len, &o, &m, h, HCAP, &e);
    if (rc != SD_OK) fprintf(stderr, "built message does not parse (%s):\n%.*s\n", e.reason, (int)len, copy);
    FUZZ_CHECK(rc == SD_OK);
    FUZZ_CHECK(m.msg_start == 0 && m.msg_len == len);
    if (method) {
        FUZZ_CHECK(m.is_request);
        FUZZ_CHECK(m.method.len == strlen(method) && memcmp(copy + m.method.off, method, m.method.len) == 0);
        FUZZ_CHECK(m.cseq_method.len == m.method.len &&
                   memcmp(copy + m.cseq_method.off, method, m.method.len) == 0);
        FUZZ_CHECK(m.has_from_tag);
    } else {
        FUZZ_CHECK(!m.is_request);
        if (status) FUZZ_CHECK(m.status == status);
    }
    if (cseq) FUZZ_CHECK(m.cseq == cseq);
    if (call_id) FUZZ_CHECK(m.call_id.len == call_id->len && memcmp(copy + m.call_id.off, call_id->p, call_id->len) == 0);
    free(copy);
}

static void same_or_abort(const char *before, const char *after, const char *what)
{
    if (strcmp(before, after) != 0) {
        fprintf(stderr, "a failing %s changed the dialog:\n before %s\n after  %s\n", what, before, after);
        abort();
    }
}

/* Snapshot, restore, snapshot again: the same dialog. */
static void round_trip(track *tr, const sd_dlg_env *env)
{
    sd_dlg_snap *s = NULL;
    char *t1 = snap_bytes(tr->d, 1, &s);
    sd_dialog *r = NULL;
    sd_error e;
    sd_err rc = sd_dialog_restore(env, s, &r, &e);
    FUZZ_CHECK(rc == SD_OK || rc == SD_EINVAL || rc == SD_ELIMIT);
    if (s->state == SD_DLG_NONE) FUZZ_CHECK(rc != SD_OK);
    if (rc == SD_OK) {
        sd_dlg_snap *s2 = NULL;
        char *t2 = snap_bytes(r, 1, &s2);
        /* the restored dialog has no transaction in progress and is open */
        FUZZ_CHECK(s2->state == s->state && s2->role == s->role && s2->local_seq == s->local_seq &&
                   s2->remote_seq == s->remote_seq && s2->has_remote_seq == s->has_remote_seq &&
                   s2->nhistory == s->nhistory && !s2->closed);
#define SAME(f) FUZZ_CHECK(s2->f.len == s->f.len && (s->f.len == 0 || memcmp(s2->f.p, s->f.p, s->f.len) == 0))
        SAME(call_id);
        SAME(local_tag);
        SAME(remote_tag);
        SAME(local_uri);
        SAME(remote_uri);
        SAME(local_header);
        SAME(remote_header);
        SAME(local_target);
        SAME(remote_target);
        SAME(route_set);
#undef SAME
        FUZZ_CHECK(s->nhistory == 0 || memcmp(s->history, s2->history, s->nhistory * sizeof *s->history) == 0);
        free(s2);
        free(t2);
        sd_dialog_unref(r);
    } else {
        FUZZ_CHECK(r == NULL);
    }
    free(s);
    free(t1);
}

/* The operations of one chunk on one dialog. `m` NULL: the message did not parse. */
static void run_ops(track *tr, const sd_dlg_env *env, unsigned ops, const char *buf, const sd_msg *m, int depth)
{
    sd_dialog *d = tr->d;
    sd_buf out;
    sd_buf_init(&out);
    sd_buf_append(&out, "prefix", 6); /* a failing call must leave this as it is */
    sd_error e;
    sd_err rc;
    int closed = sd_dialog_is_closed(d);
    sd_dlg_snap *cs = NULL;
    char *before = snap_bytes(d, 1, &cs);
    sd_str call_id = {NULL, 0};
    char cid[300];
    FUZZ_CHECK(cs->call_id.len < sizeof cid);
    memcpy(cid, cs->call_id.p, cs->call_id.len);
    call_id = (sd_str){cid, cs->call_id.len};
    free(cs);

    if (ops == 0xff) {
        FUZZ_CHECK(sd_dialog_close(d) == SD_OK);
        FUZZ_CHECK(sd_dialog_is_closed(d));
        FUZZ_CHECK(sd_dialog_state(d) == SD_DLG_TERMINATED);
        FUZZ_CHECK(sd_dialog_close(d) == SD_OK);
        check_state(tr);
        free(before);
        sd_buf_free(&out);
        return;
    }
    if (m == NULL) {
        if (ops & 1) {
            rc = sd_dialog_timeout(d, &e);
            FUZZ_CHECK(rc == SD_OK || rc == SD_ESTATE || rc == SD_ECLOSED);
            if (rc == SD_OK) FUZZ_CHECK(sd_dialog_state(d) == SD_DLG_TERMINATED);
            if (rc != SD_OK) {
                char *after = snap_bytes(d, 1, NULL);
                same_or_abort(before, after, "timeout");
                free(after);
            }
            check_state(tr);
        }
    } else {
        /* receive */
        size_t at = out.len;
        rc = sd_dialog_receive(d, buf, m, (ops & 1) ? SD_RECV_AUTO_ANSWER : 0, &out, &e);
        if (closed) FUZZ_CHECK(rc == SD_ECLOSED);
        if (m->is_request && !(rc == SD_OK || rc == SD_ECLOSED || rc == SD_ENOMEM || rc == SD_ELIMIT)) {
            fprintf(stderr, "receive of a request: %s: %s\n", sd_err_name(rc), e.reason);
            abort();
        }
        if (!m->is_request)
            FUZZ_CHECK(rc == SD_OK || rc == SD_EINVAL || rc == SD_EEXIST || rc == SD_ECLOSED || rc == SD_ENOMEM ||
                       rc == SD_ELIMIT);
        if (rc != SD_OK) {
            FUZZ_CHECK(e.code == rc);
            FUZZ_CHECK(out.len == at && memcmp(out.p, "prefix", 6) == 0);
            char *after = snap_bytes(d, 1, NULL);
            same_or_abort(before, after, "receive");
            free(after);
        } else if (out.len > at) {
            /* a reply answers the request it was given */
            FUZZ_CHECK(m->is_request && m->method_id != SD_M_ACK);
            check_built(&out, at, NULL, 0, m->cseq, NULL);
        }
        check_state(tr);
        out.len = 6;

        /* fork */
        if ((ops & 8) && !m->is_request && depth == 0) {
            free(before);
            before = snap_bytes(d, 1, NULL);
            sd_dialog *f = NULL;
            rc = sd_dialog_fork(d, buf, m, &f, &e);
            FUZZ_CHECK(rc == SD_OK || rc == SD_EINVAL || rc == SD_EEXIST || rc == SD_ECLOSED || rc == SD_ENOMEM ||
                       rc == SD_ELIMIT || rc == SD_EOVERLOAD); /* the last two: a store's bounds */
            char *after = snap_bytes(d, 1, NULL);
            same_or_abort(before, after, "fork (the original must not change)");
            free(after);
            if (rc == SD_OK) {
                FUZZ_CHECK(f != NULL);
                int fs = sd_dialog_state(f);
                FUZZ_CHECK(fs == SD_DLG_EARLY || fs == SD_DLG_CONFIRMED);
                FUZZ_CHECK(sd_dialog_role(f) == SD_DLG_UAC);
                track ft = {f, fs, 0, 0, 0};
                sd_dialog_set_listener(f, listener, &ft);
                check_state(&ft);
                /* the sibling answers the same operations once */
                run_ops(&ft, env, ops & 0xf6, buf, NULL, depth + 1);
                round_trip(&ft, env);
                sd_dialog_set_listener(f, NULL, NULL); /* it may live on in a store; ft does not */
                sd_dialog_unref(f);
            } else {
                FUZZ_CHECK(f == NULL);
            }
        }

        /* ACK */
        if ((ops & 2) && !m->is_request) {
            free(before);
            before = snap_bytes(d, 1, NULL);
            rc = sd_dialog_create_ack(d, buf, m, NULL, NULL, 0, NULL, 0, &out, &e);
            FUZZ_CHECK(rc == SD_OK || rc == SD_EINVAL || rc == SD_ESTATE || rc == SD_ECLOSED || rc == SD_ENOMEM ||
                       rc == SD_EVALID || rc == SD_ELIMIT);
            if (rc == SD_OK) {
                check_built(&out, 6, "ACK", 0, m->cseq, &call_id);
            } else {
                FUZZ_CHECK(out.len == 6);
                char *after = snap_bytes(d, 1, NULL);
                same_or_abort(before, after, "create_ack");
                free(after);
            }
            check_state(tr);
            out.len = 6;
        }
    }

    /* an in-dialog request */
    if (ops & 4) {
        const char *meth = METHODS[(ops >> 4) & 7];
        free(before);
        sd_dlg_snap *bs = NULL;
        before = snap_bytes(d, 0, &bs);
        uint32_t lseq = bs->local_seq;
        int had_lseq = bs->has_local_seq;
        free(bs);
        uint32_t cseq = 0;
        sd_str hn[1] = {{"Subject", 7}}, hv[1] = {{"fuzz", 4}};
        rc = sd_dialog_create_request(d, (sd_str){meth, strlen(meth)}, hn, hv, 1, NULL, 0, &out, &cseq, &e);
        FUZZ_CHECK(rc == SD_OK || rc == SD_ESTATE || rc == SD_EINVAL || rc == SD_EVALID || rc == SD_ELIMIT ||
                   rc == SD_ECLOSED || rc == SD_ENOMEM);
        /* argument checks (ACK refused, bad method) come before the closed check */
        if (closed) FUZZ_CHECK(rc == SD_ECLOSED || (rc == SD_EINVAL && strcmp(meth, "ACK") == 0));
        if (rc == SD_OK) {
            check_built(&out, 6, meth, 0, cseq, &call_id);
            if (strcmp(meth, "CANCEL") != 0) {
                FUZZ_CHECK(cseq > 0 && cseq < 0x80000000u);
                if (had_lseq) FUZZ_CHECK(cseq == lseq + 1);
            }
            if (strcmp(meth, "BYE") == 0) FUZZ_CHECK(sd_dialog_state(d) == SD_DLG_TERMINATING);
        } else {
            FUZZ_CHECK(e.code == rc);
            FUZZ_CHECK(out.len == 6 && memcmp(out.p, "prefix", 6) == 0);
            sd_dlg_snap *as = NULL;
            char *after = snap_bytes(d, 0, &as);
            same_or_abort(before, after, "create_request");
            /* a number may have been taken, never more than one */
            FUZZ_CHECK(as->local_seq == lseq || (had_lseq && as->local_seq == lseq + 1) || !had_lseq);
            free(as);
            free(after);
        }
        check_state(tr);
        out.len = 6;
    }

    /* respond */
    if (ops & 0x80) {
        int status = STATUSES[(ops >> 4) & 7];
        free(before);
        before = snap_bytes(d, 1, NULL);
        rc = sd_dialog_respond(d, status, (sd_str){NULL, 0}, NULL, NULL, 0, NULL, 0, &out, &e);
        FUZZ_CHECK(rc == SD_OK || rc == SD_ESTATE || rc == SD_EVALID || rc == SD_ECLOSED || rc == SD_ENOMEM ||
                   rc == SD_EINVAL || rc == SD_ELIMIT);
        if (closed) FUZZ_CHECK(rc == SD_ECLOSED);
        if (rc == SD_OK) {
            check_built(&out, 6, NULL, status, 0, &call_id);
        } else {
            FUZZ_CHECK(out.len == 6);
            char *after = snap_bytes(d, 1, NULL);
            same_or_abort(before, after, "respond");
            free(after);
        }
        check_state(tr);
    }
    free(before);
    sd_buf_free(&out);
}

/* ------------------------------------------------------------ setups */

static sd_dialog *setup(const sd_dlg_env *env, int which)
{
    sd_msg m;
    sd_error e;
    sd_dialog *d = NULL;
    sd_buf b;
    sd_buf_init(&b);
    FUZZ_CHECK(parse(INVITE_TEXT, sizeof INVITE_TEXT - 1, &m, g_hdrs));
    if (which < 4) {
        FUZZ_CHECK(sd_dialog_new_uac(env, INVITE_TEXT, &m, &d, &e) == SD_OK);
        if (which >= 1) {
            FUZZ_CHECK(parse(R180_TEXT, sizeof R180_TEXT - 1, &m, g_hdrs));
            FUZZ_CHECK(sd_dialog_receive(d, R180_TEXT, &m, 0, NULL, &e) == SD_OK);
        }
        if (which >= 2) {
            FUZZ_CHECK(parse(R200_TEXT, sizeof R200_TEXT - 1, &m, g_hdrs));
            FUZZ_CHECK(sd_dialog_receive(d, R200_TEXT, &m, 0, NULL, &e) == SD_OK);
            FUZZ_CHECK(sd_dialog_create_ack(d, R200_TEXT, &m, NULL, NULL, 0, NULL, 0, &b, &e) == SD_OK);
        }
        if (which >= 3) FUZZ_CHECK(sd_dialog_create_request(d, (sd_str){"BYE", 3}, NULL, NULL, 0, NULL, 0, &b, NULL, &e) == SD_OK);
    } else {
        FUZZ_CHECK(sd_dialog_new_uas(env, INVITE_TEXT, &m, (sd_str){"sip:bob@192.0.2.4", 17}, (sd_str){"a6c85cf", 7}, &d,
                                     &e) == SD_OK);
        if (which >= 5)
            FUZZ_CHECK(sd_dialog_respond(d, 180, (sd_str){NULL, 0}, NULL, NULL, 0, NULL, 0, &b, &e) == SD_OK);
        if (which >= 6) {
            FUZZ_CHECK(sd_dialog_respond(d, 200, (sd_str){NULL, 0}, NULL, NULL, 0, NULL, 0, &b, &e) == SD_OK);
            FUZZ_CHECK(parse(ACK_TEXT, sizeof ACK_TEXT - 1, &m, g_hdrs));
            FUZZ_CHECK(sd_dialog_receive(d, ACK_TEXT, &m, 0, NULL, &e) == SD_OK);
        }
    }
    static const int want[7] = {SD_DLG_NONE,         SD_DLG_EARLY, SD_DLG_CONFIRMED, SD_DLG_TERMINATING,
                                SD_DLG_NONE,         SD_DLG_EARLY, SD_DLG_CONFIRMED};
    FUZZ_CHECK((int)sd_dialog_state(d) == want[which]);
    sd_buf_free(&b);
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char SEP[] = "\n----\n";
    const size_t seplen = sizeof SEP - 1;
    if (size < 1 || size > 0x10000) return 0;
    g_clock = 1000000;
    g_rnd = 0;
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    env.now = f_now;
    env.random = f_random;
    env.branch_key = 1; /* deterministic */
    g_check_uris = (data[0] & 0x80) != 0;
    if (data[0] & 0x20) FUZZ_CHECK((env.strings = sd_intern_new(64)) != NULL);
    sd_dialog *d = setup(&env, (data[0] & 0x1f) % 7);
    sd_store *store = NULL;
    if (data[0] & 0x40) {
        sd_store_opts so;
        sd_store_opts_default(&so);
        so.shards = 2;
        so.max_dialogs = 16;
        so.max_per_call = 4;
        so.now = f_now;
        sd_error se;
        FUZZ_CHECK(sd_store_new(&so, &store, &se) == SD_OK);
        sd_err arc = sd_store_add(store, d, &se);
        FUZZ_CHECK(arc == SD_OK || arc == SD_ESTATE); /* a setup may be terminated already: never */
    }
    track tr = {d, sd_dialog_state(d), 0, 0, 0};
    tr.last_to = tr.state;
    sd_dialog_set_listener(d, listener, &tr);
    check_state(&tr);

    size_t pos = 1;
    int chunks = 0;
    while (pos < size && chunks < 64) {
        const uint8_t *end = memmem(data + pos, size - pos, SEP, seplen);
        size_t clen = end ? (size_t)(end - (data + pos)) : size - pos;
        if (clen > 0) {
            unsigned ops = data[pos];
            size_t mlen = clen - 1;
            char *buf = malloc(mlen ? mlen : 1); /* exact size: ASan sees any overread */
            FUZZ_CHECK(buf != NULL);
            if (mlen) memcpy(buf, data + pos + 1, mlen);
            sd_msg m;
            int ok = mlen > 0 && parse(buf, mlen, &m, g_hdrs);
            if (store && ok) {
                /* whatever the store finds has the message's Call-ID */
                sd_dialog *x = sd_store_find(store, buf, &m);
                if (x) {
                    sd_dlg_snap *xs = NULL;
                    sd_error xe;
                    FUZZ_CHECK(sd_dialog_snapshot(x, &xs, &xe) == SD_OK);
                    FUZZ_CHECK(xs->call_id.len == m.call_id.len &&
                               memcmp(xs->call_id.p, buf + m.call_id.off, m.call_id.len) == 0);
                    FUZZ_CHECK(xs->state != SD_DLG_TERMINATED && !xs->closed);
                    free(xs);
                    sd_dialog_unref(x);
                }
            }
            run_ops(&tr, &env, ops, buf, ok ? &m : NULL, 0);
            free(buf);
            round_trip(&tr, &env);
            if (store) {
                sd_error ce;
                sd_err crc = sd_store_check(store, &ce);
                if (crc != SD_OK) fprintf(stderr, "store invariant: %s\n", ce.reason);
                FUZZ_CHECK(crc == SD_OK);
                /* the dialog is in the store exactly while it is live */
                sd_dlg_state st = sd_dialog_state(d);
                FUZZ_CHECK(sd_store_contains(store, d) == (st != SD_DLG_TERMINATED && !sd_dialog_is_closed(d)));
            }
            chunks++;
        }
        pos += clen + (end ? seplen : 0);
    }

    /* close: terminated, closed, and everything else refused */
    FUZZ_CHECK(sd_dialog_close(d) == SD_OK);
    FUZZ_CHECK(sd_dialog_state(d) == SD_DLG_TERMINATED && sd_dialog_is_closed(d));
    sd_buf b;
    sd_buf_init(&b);
    sd_error e;
    FUZZ_CHECK(sd_dialog_create_request(d, (sd_str){"INFO", 4}, NULL, NULL, 0, NULL, 0, &b, NULL, &e) == SD_ECLOSED);
    FUZZ_CHECK(sd_dialog_respond(d, 200, (sd_str){NULL, 0}, NULL, NULL, 0, NULL, 0, &b, &e) == SD_ECLOSED);
    FUZZ_CHECK(sd_dialog_timeout(d, &e) == SD_ECLOSED);
    FUZZ_CHECK(b.len == 0);
    sd_dlg_snap *s = NULL;
    FUZZ_CHECK(sd_dialog_snapshot(d, &s, &e) == SD_OK && s->closed);
    check_history(s);
    free(s);
    FUZZ_CHECK(tr.nfired >= 0);
    if (store) {
        FUZZ_CHECK(!sd_store_contains(store, d));
        sd_store_close(store);
        FUZZ_CHECK(sd_store_len(store) == 0);
        sd_store_unref(store);
    }
    sd_dialog_unref(d);
    sd_intern_unref(env.strings);
    return 0;
}
