/*
 * test_dialog_threads.c - one dialog shared by several threads (dialog.h,
 * "Locking"): the atomic local CSeq hands out every number exactly once,
 * snapshots taken while another thread applies messages are each one
 * consistent state, and references taken and dropped around a concurrent
 * close never leak nor free twice. Meant to run under ThreadSanitizer
 * (make tsan), AddressSanitizer (make asan) and valgrind (make valgrind).
 */
#include "tcheck.h"
#include "sipdialog/dialog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A thread-safe deterministic env: a clock and a byte counter, both atomic. */
typedef struct tenv_mt {
    sd_dlg_env env;
    _Atomic int64_t clock;
    _Atomic unsigned rnd;
} tenv_mt;

static int64_t mt_now(void *ctx)
{
    tenv_mt *t = ctx;
    return atomic_fetch_add_explicit(&t->clock, 1000, memory_order_relaxed) + 1000;
}

static sd_err mt_random(void *ctx, void *buf, size_t n)
{
    tenv_mt *t = ctx;
    unsigned char *p = buf;
    unsigned v = atomic_fetch_add_explicit(&t->rnd, (unsigned)n, memory_order_relaxed);
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(v + i);
    return SD_OK;
}

static void tenv_mt_init(tenv_mt *t)
{
    sd_dlg_env_default(&t->env);
    t->env.now = mt_now;
    t->env.now_ctx = t;
    t->env.random = mt_random;
    t->env.random_ctx = t;
    atomic_init(&t->clock, 1000000);
    atomic_init(&t->rnd, 0);
}

#define HCAP 64

/* Parse text (CRLF line ends, complete message) held in `buf`. */
static int mt_parse(const char *buf, size_t len, sd_msg *m, sd_header *h)
{
    sd_error e;
    if (sd_msg_parse(buf, len, NULL, m, h, HCAP, &e) != SD_OK) {
        fprintf(stderr, "thread test message does not parse: %s\n%.*s\n", e.reason, (int)len, buf);
        return 0;
    }
    return 1;
}

#define CALLID "mt-8f2a1c@pc33.atlanta.example.com"
#define HDR_ALICE "Alice <sip:alice@atlanta.example.com>;tag=1928301774"
#define HDR_BOB "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf"

/* Bob's UAS dialog from Alice's INVITE, answered 200 and acknowledged. */
static sd_dialog *mt_uas_confirmed(tenv_mt *te)
{
    static const char inv[] = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKmt0\r\n"
                              "Max-Forwards: 70\r\nTo: Bob <sip:bob@biloxi.example.com>\r\n"
                              "From: " HDR_ALICE "\r\nCall-ID: " CALLID "\r\nCSeq: 1000 INVITE\r\n"
                              "Record-Route: <sip:p1.example.com;lr>\r\n"
                              "Contact: <sip:alice@pc33.atlanta.example.com>\r\nContent-Length: 0\r\n\r\n";
    static const char ack[] = "ACK sip:bob@192.0.2.4 SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKmt1\r\n"
                              "Max-Forwards: 70\r\nTo: " HDR_BOB "\r\nFrom: " HDR_ALICE "\r\n"
                              "Call-ID: " CALLID "\r\nCSeq: 1000 ACK\r\nContent-Length: 0\r\n\r\n";
    sd_header h[HCAP];
    sd_msg m;
    sd_error e;
    sd_dialog *d = NULL;
    if (!mt_parse(inv, sizeof inv - 1, &m, h)) abort();
    if (sd_dialog_new_uas(&te->env, inv, &m, (sd_str){"sip:bob@192.0.2.4", 17}, (sd_str){"a6c85cf", 7}, &d, &e) !=
        SD_OK)
        abort();
    sd_buf b;
    sd_buf_init(&b);
    CHECK_EQ_INT(sd_dialog_respond(d, 200, (sd_str){NULL, 0}, NULL, NULL, 0, NULL, 0, &b, &e), SD_OK);
    sd_buf_free(&b);
    if (!mt_parse(ack, sizeof ack - 1, &m, h)) abort();
    CHECK_EQ_INT(sd_dialog_receive(d, ack, &m, 0, NULL, &e), SD_OK);
    CHECK_EQ_INT(sd_dialog_state(d), SD_DLG_CONFIRMED);
    return d;
}

/* ------------------------------------------------ (a) the atomic CSeq */

enum { CSEQ_THREADS = 8, CSEQ_PER_THREAD = 10000 };

typedef struct cseq_job {
    sd_dialog *d;
    uint32_t *out; /* CSEQ_PER_THREAD numbers */
    int bad;       /* requests whose wire CSeq differs from the number returned */
    int failed;
} cseq_job;

static void *cseq_worker(void *arg)
{
    cseq_job *j = arg;
    sd_buf b;
    sd_buf_init(&b);
    sd_error e;
    char want[48];
    for (int i = 0; i < CSEQ_PER_THREAD; i++) {
        b.len = 0;
        uint32_t c = 0;
        if (sd_dialog_create_request(j->d, (sd_str){"INFO", 4}, NULL, NULL, 0, NULL, 0, &b, &c, &e) != SD_OK) {
            j->failed++;
            continue;
        }
        j->out[i] = c;
        int n = snprintf(want, sizeof want, "\r\nCSeq: %u INFO\r\n", c);
        if (memmem(b.p, b.len, want, (size_t)n) == NULL) j->bad++;
    }
    sd_buf_free(&b);
    return NULL;
}

/* RFC 3261 12.2.1.1: the local sequence number goes up by one per request.
 * 8 threads x 10,000 requests on one dialog: the numbers are exactly
 * start+1 .. start+80000, each once, and each request carries its own. */
TEST(test_dialog_threads_cseq_unique)
{
    tenv_mt te;
    tenv_mt_init(&te);
    sd_dialog *d = mt_uas_confirmed(&te);
    /* the UAS's first number is random: take it, then race for the rest */
    sd_buf b;
    sd_buf_init(&b);
    sd_error e;
    uint32_t start = 0;
    CHECK_EQ_INT(sd_dialog_create_request(d, (sd_str){"INFO", 4}, NULL, NULL, 0, NULL, 0, &b, &start, &e), SD_OK);
    sd_buf_free(&b);
    pthread_t t[CSEQ_THREADS];
    cseq_job j[CSEQ_THREADS];
    uint32_t *all = calloc((size_t)CSEQ_THREADS * CSEQ_PER_THREAD, sizeof *all);
    for (int i = 0; i < CSEQ_THREADS; i++) {
        j[i] = (cseq_job){d, all + (size_t)i * CSEQ_PER_THREAD, 0, 0};
        CHECK_EQ_INT(pthread_create(&t[i], NULL, cseq_worker, &j[i]), 0);
    }
    for (int i = 0; i < CSEQ_THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(j[i].failed, 0);
        CHECK_EQ_INT(j[i].bad, 0);
    }
    enum { TOTAL = CSEQ_THREADS * CSEQ_PER_THREAD };
    unsigned char *seen = calloc(TOTAL, 1);
    int out_of_range = 0, dup = 0, missing = 0;
    for (size_t i = 0; i < TOTAL; i++) {
        uint32_t c = all[i];
        if (c <= start || c > start + (uint32_t)TOTAL) {
            out_of_range++;
            continue;
        }
        if (seen[c - start - 1]++) dup++;
    }
    for (size_t i = 0; i < TOTAL; i++)
        if (!seen[i]) missing++;
    CHECK_EQ_INT(out_of_range, 0);
    CHECK_EQ_INT(dup, 0);
    CHECK_EQ_INT(missing, 0);
    sd_dlg_snap *s = NULL;
    CHECK_EQ_INT(sd_dialog_snapshot(d, &s, &e), SD_OK);
    CHECK_EQ_INT(s->local_seq, start + (uint32_t)TOTAL);
    free(s);
    free(seen);
    free(all);
    sd_dialog_unref(d);
}

/* --------------------------------------- (b) snapshots under a writer */

enum { RW_READERS = 3, RW_ROUNDS = 1500 };

typedef struct rw_shared {
    sd_dialog *d;
    _Atomic int done;
    int writer_errors;
} rw_shared;

typedef struct rw_reader {
    rw_shared *sh;
    long snaps;
    int bad;
} rw_reader;

static int str_is(sd_str s, const char *c)
{
    return s.len == strlen(c) && memcmp(s.p, c, s.len) == 0;
}

/* One snapshot is one state of the dialog: the writer sends re-INVITE and
 * UPDATE with CSeq n and Contact sip:u<n>@10.0.0.1, so the remote target
 * always names the remote sequence number; the re-INVITEs have odd
 * offsets from the creating CSeq 1000. */
static int snap_consistent(const sd_dlg_snap *s, uint32_t *last_rs, uint32_t *last_ls)
{
    char want[64];
    if (s->remote_seq == 1000)
        snprintf(want, sizeof want, "sip:alice@pc33.atlanta.example.com");
    else
        snprintf(want, sizeof want, "sip:u%u@10.0.0.1", s->remote_seq);
    int ok = str_is(s->remote_target, want);
    ok &= s->state == SD_DLG_CONFIRMED && s->role == SD_DLG_UAS && !s->closed;
    ok &= str_is(s->call_id, CALLID) && str_is(s->local_tag, "a6c85cf") && str_is(s->remote_tag, "1928301774");
    ok &= str_is(s->route_set, "<sip:p1.example.com;lr>") && str_is(s->local_target, "sip:bob@192.0.2.4");
    ok &= str_is(s->local_header, HDR_BOB) && str_is(s->remote_header, HDR_ALICE);
    ok &= s->nhistory == 1 && s->history[0].to == SD_DLG_CONFIRMED;
    ok &= s->has_remote_seq && s->remote_seq >= *last_rs;
    ok &= s->local_seq >= *last_ls;
    /* an INVITE in progress or unacknowledged is always the latest re-INVITE */
    if (s->invite_pending_in || s->ack_pending_in) ok &= (s->remote_seq - 1000) % 2 == 1;
    ok &= !(s->invite_pending_in && s->ack_pending_in);
    ok &= !s->invite_pending_out && !s->ack_pending_out;
    *last_rs = s->remote_seq;
    *last_ls = s->local_seq;
    return ok;
}

static void *rw_reader_fn(void *arg)
{
    rw_reader *r = arg;
    uint32_t last_rs = 0, last_ls = 0;
    sd_error e;
    do {
        sd_dlg_snap *s = NULL;
        if (sd_dialog_snapshot(r->sh->d, &s, &e) != SD_OK) {
            r->bad++;
            continue;
        }
        if (!snap_consistent(s, &last_rs, &last_ls)) {
            if (r->bad++ == 0)
                fprintf(stderr, "inconsistent snapshot: rs=%u target=%.*s ipi=%u api=%u\n", s->remote_seq,
                        (int)s->remote_target.len, s->remote_target.p, s->invite_pending_in, s->ack_pending_in);
        }
        free(s);
        if (sd_dialog_state(r->sh->d) != SD_DLG_CONFIRMED) r->bad++;
        r->snaps++;
    } while (!atomic_load_explicit(&r->sh->done, memory_order_acquire));
    return NULL;
}

/* Feed one text message to the dialog; 1 when it was accepted without a reply. */
static int rw_feed(sd_dialog *d, const char *text, size_t len, sd_header *h)
{
    sd_msg m;
    sd_error e;
    sd_buf r;
    sd_buf_init(&r);
    int ok = mt_parse(text, len, &m, h) && sd_dialog_receive(d, text, &m, 0, &r, &e) == SD_OK && r.len == 0;
    if (!ok && r.len) fprintf(stderr, "unexpected reply:\n%.*s\n", (int)r.len, r.p);
    sd_buf_free(&r);
    return ok;
}

static void *rw_writer_fn(void *arg)
{
    rw_shared *sh = arg;
    sd_header *h = malloc(HCAP * sizeof *h);
    char text[1024];
    sd_buf b;
    sd_buf_init(&b);
    sd_error e;
    for (int i = 0; i < RW_ROUNDS; i++) {
        uint32_t c = 1000 + 1 + 2 * (uint32_t)i;
        /* re-INVITE with a new Contact (RFC 3261 12.2.2 target refresh) */
        int n = snprintf(text, sizeof text,
                         "INVITE sip:bob@192.0.2.4 SIP/2.0\r\nVia: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKri%d\r\n"
                         "Max-Forwards: 70\r\nTo: " HDR_BOB "\r\nFrom: " HDR_ALICE "\r\nCall-ID: " CALLID "\r\n"
                         "CSeq: %u INVITE\r\nContact: <sip:u%u@10.0.0.1>\r\nContent-Length: 0\r\n\r\n",
                         i, c, c);
        if (!rw_feed(sh->d, text, (size_t)n, h)) sh->writer_errors++;
        b.len = 0;
        if (sd_dialog_respond(sh->d, 200, (sd_str){NULL, 0}, NULL, NULL, 0, NULL, 0, &b, &e) != SD_OK) sh->writer_errors++;
        n = snprintf(text, sizeof text,
                     "ACK sip:bob@192.0.2.4 SIP/2.0\r\nVia: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKra%d\r\n"
                     "Max-Forwards: 70\r\nTo: " HDR_BOB "\r\nFrom: " HDR_ALICE "\r\nCall-ID: " CALLID "\r\n"
                     "CSeq: %u ACK\r\nContent-Length: 0\r\n\r\n",
                     i, c);
        if (!rw_feed(sh->d, text, (size_t)n, h)) sh->writer_errors++;
        /* UPDATE, also a target refresh */
        n = snprintf(text, sizeof text,
                     "UPDATE sip:u%u@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKru%d\r\n"
                     "Max-Forwards: 70\r\nTo: " HDR_BOB "\r\nFrom: " HDR_ALICE "\r\nCall-ID: " CALLID "\r\n"
                     "CSeq: %u UPDATE\r\nContact: <sip:u%u@10.0.0.1>\r\nContent-Length: 0\r\n\r\n",
                     c, i, c + 1, c + 1);
        if (!rw_feed(sh->d, text, (size_t)n, h)) sh->writer_errors++;
        /* one of our own requests and its response */
        uint32_t ours = 0;
        b.len = 0;
        if (sd_dialog_create_request(sh->d, (sd_str){"INFO", 4}, NULL, NULL, 0, NULL, 0, &b, &ours, &e) != SD_OK)
            sh->writer_errors++;
        n = snprintf(text, sizeof text,
                     "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKx%d\r\nFrom: " HDR_BOB "\r\n"
                     "To: " HDR_ALICE "\r\nCall-ID: " CALLID "\r\nCSeq: %u INFO\r\nContent-Length: 0\r\n\r\n",
                     i, ours);
        if (!rw_feed(sh->d, text, (size_t)n, h)) sh->writer_errors++;
    }
    sd_buf_free(&b);
    free(h);
    atomic_store_explicit(&sh->done, 1, memory_order_release);
    return NULL;
}

/* dialog.h "Locking" and sd_dialog_snapshot: a snapshot is made under the
 * lock, so readers racing a writer that applies re-INVITEs, UPDATEs, ACKs
 * and responses see only whole states. */
TEST(test_dialog_threads_snapshot_consistent)
{
    tenv_mt te;
    tenv_mt_init(&te);
    rw_shared sh = {mt_uas_confirmed(&te), 0, 0};
    pthread_t w, r[RW_READERS];
    rw_reader rd[RW_READERS];
    for (int i = 0; i < RW_READERS; i++) {
        rd[i] = (rw_reader){&sh, 0, 0};
        CHECK_EQ_INT(pthread_create(&r[i], NULL, rw_reader_fn, &rd[i]), 0);
    }
    CHECK_EQ_INT(pthread_create(&w, NULL, rw_writer_fn, &sh), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < RW_READERS; i++) {
        pthread_join(r[i], NULL);
        CHECK_EQ_INT(rd[i].bad, 0);
        CHECK(rd[i].snaps > 0);
    }
    CHECK_EQ_INT(sh.writer_errors, 0);
    sd_dlg_snap *s = NULL;
    sd_error e;
    CHECK_EQ_INT(sd_dialog_snapshot(sh.d, &s, &e), SD_OK);
    CHECK_EQ_INT(s->remote_seq, 1000 + 2 * RW_ROUNDS);
    char want[48];
    snprintf(want, sizeof want, "sip:u%d@10.0.0.1", 1000 + 2 * RW_ROUNDS);
    CHECK(str_is(s->remote_target, want));
    free(s);
    sd_dialog_unref(sh.d);
}

/* ------------------------------------------- (c) references and close */

enum { RC_ROUNDS = 40, RC_WORKERS = 4, RC_CLOSERS = 2, RC_LOOPS = 2000 };

typedef struct rc_round {
    sd_dialog *d;
    pthread_barrier_t go;
    _Atomic int close_events;
    _Atomic int other_events;
    _Atomic int bad;
} rc_round;

static void rc_listener(void *ctx, sd_dialog *d, const sd_dlg_transition *t)
{
    rc_round *r = ctx;
    (void)d;
    if (t->event == SD_DE_CLOSE)
        atomic_fetch_add(&r->close_events, 1);
    else
        atomic_fetch_add(&r->other_events, 1);
}

/* A worker owns one reference (taken for it before it starts) and drops it
 * last; meanwhile it takes and drops more, reads, and snapshots. */
static void *rc_worker(void *arg)
{
    rc_round *r = arg;
    sd_dialog *d = r->d;
    pthread_barrier_wait(&r->go);
    for (int i = 0; i < RC_LOOPS; i++) {
        sd_dialog *x = sd_dialog_ref(d);
        if (x != d) atomic_fetch_add(&r->bad, 1);
        if ((i & 63) == 0) {
            sd_dlg_snap *s = NULL;
            sd_error e;
            if (sd_dialog_snapshot(x, &s, &e) != SD_OK || s->call_id.len == 0) atomic_fetch_add(&r->bad, 1);
            free(s);
            (void)sd_dialog_state(x);
            (void)sd_dialog_is_closed(x);
        }
        sd_dialog_unref(x);
    }
    sd_dialog_unref(d);
    return NULL;
}

static void *rc_closer(void *arg)
{
    rc_round *r = arg;
    sd_dialog *d = r->d;
    pthread_barrier_wait(&r->go);
    if (sd_dialog_close(d) != SD_OK) atomic_fetch_add(&r->bad, 1);
    if (!sd_dialog_is_closed(d) || sd_dialog_state(d) != SD_DLG_TERMINATED) atomic_fetch_add(&r->bad, 1);
    sd_buf b;
    sd_buf_init(&b);
    sd_error e;
    if (sd_dialog_create_request(d, (sd_str){"INFO", 4}, NULL, NULL, 0, NULL, 0, &b, NULL, &e) != SD_ECLOSED)
        atomic_fetch_add(&r->bad, 1);
    sd_buf_free(&b);
    if (sd_dialog_close(d) != SD_OK) atomic_fetch_add(&r->bad, 1); /* idempotent */
    sd_dialog_unref(d);
    return NULL;
}

/* dialog.h "Ownership": references from many threads around concurrent
 * closes; the creator drops its reference while they run, so the last
 * unref happens on some worker thread. Exactly one close transition is
 * reported per dialog; ASan/valgrind see no leak and no double free. */
TEST(test_dialog_threads_refcount_close)
{
    tenv_mt te;
    tenv_mt_init(&te);
    for (int round = 0; round < RC_ROUNDS; round++) {
        rc_round r;
        memset(&r, 0, sizeof r);
        pthread_barrier_init(&r.go, NULL, RC_WORKERS + RC_CLOSERS + 1);
        atomic_init(&r.bad, 0);
        atomic_init(&r.close_events, 0);
        atomic_init(&r.other_events, 0);
        r.d = mt_uas_confirmed(&te);
        sd_dialog_set_listener(r.d, rc_listener, &r);
        pthread_t t[RC_WORKERS + RC_CLOSERS];
        for (int i = 0; i < RC_WORKERS + RC_CLOSERS; i++) {
            sd_dialog_ref(r.d);
            CHECK_EQ_INT(pthread_create(&t[i], NULL, i < RC_WORKERS ? rc_worker : rc_closer, &r), 0);
        }
        sd_dialog_unref(r.d); /* the creator's reference */
        pthread_barrier_wait(&r.go);
        for (int i = 0; i < RC_WORKERS + RC_CLOSERS; i++) pthread_join(t[i], NULL);
        pthread_barrier_destroy(&r.go);
        CHECK_EQ_INT(atomic_load(&r.bad), 0);
        CHECK_EQ_INT(atomic_load(&r.close_events), 1);
        CHECK_EQ_INT(atomic_load(&r.other_events), 0);
    }
}
