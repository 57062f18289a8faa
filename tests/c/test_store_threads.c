/*
 * test_store_threads.c - one store shared by many threads (store.h,
 * "Re-keying", "Lock order", "Live view"): a long mixed workload over a
 * shared pool of Call-IDs, so threads add, find, re-key, fork, end and
 * remove the same dialogs on the same shards, and every count, index and
 * callback still agrees at the end; and the re-keying race, where readers
 * must find a dialog under exactly one of its two IDs while its first
 * tagged response arrives; and the last store reference dropped while
 * other threads still work on its dialogs. Meant to run under ThreadSanitizer (make tsan),
 * AddressSanitizer (make asan) and valgrind (make valgrind) too: the
 * iteration counts shrink there (SIPDIALOG_STRESS_OPS overrides them).
 */
#include "sipdialog/store.h"
#include "store_util.h"
#include "tcheck.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define ST_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef ST_UNDER_VALGRIND
#define ST_UNDER_VALGRIND() 0
#endif

#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define ST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define ST_SANITIZED 1
#endif
#ifndef ST_SANITIZED
#define ST_SANITIZED 0
#endif

/* Operations per thread of the mixed workload: 100,000 in the plain build,
 * fewer where every access is instrumented. */
static long st_ops(void)
{
    const char *e = getenv("SIPDIALOG_STRESS_OPS");
    if (e && *e) return atol(e) > 0 ? atol(e) : 1;
    if (ST_UNDER_VALGRIND()) return 10000;
    return ST_SANITIZED ? 50000 : 100000;
}

/* Checks made on worker threads (tc_failures is the main thread's). */
static _Atomic int st_failures;
#define TCHECK(expr)                                                                   \
    do {                                                                               \
        if (!(expr)) {                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);   \
            atomic_fetch_add(&st_failures, 1);                                         \
        }                                                                              \
    } while (0)

static uint64_t st_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* ------------------------------------------------------------ on_removed */

/* on_removed runs on the thread whose operation took the dialog out, before
 * that operation returns: a thread-local tally tells each operation what it
 * removed. */
static _Thread_local int tl_removed;
static _Thread_local sd_dialog *tl_last_removed;

typedef struct removed_ctx {
    sd_store *s;
    _Atomic long calls;
} removed_ctx;

static void st_on_removed(void *ctx, sd_dialog *d)
{
    removed_ctx *rc = ctx;
    atomic_fetch_add(&rc->calls, 1);
    tl_removed++;
    tl_last_removed = d;
    if (sd_store_is_closed(rc->s)) return;
    /* no store lock is held (a look-up on its shard would deadlock), and
     * the dialog is out of every index already */
    sd_dlg_snap *snap = NULL;
    sd_error e;
    if (sd_dialog_snapshot(d, &snap, &e) != SD_OK) abort();
    sd_dialog *all[8];
    size_t n = sd_store_find_call(rc->s, snap->call_id, all, 8);
    for (size_t i = 0; i < n && i < 8; i++) {
        TCHECK(all[i] != d);
        sd_dialog_unref(all[i]);
    }
    free(snap);
}

static sd_store *st_store(removed_ctx *rc, unsigned shards)
{
    sd_store_opts o;
    sd_store_opts_default(&o);
    o.shards = shards;
    o.on_removed = st_on_removed;
    o.removed_ctx = rc;
    o.max_tombstones = 4096;
    sd_store *s = NULL;
    sd_error e;
    if (sd_store_new(&o, &s, &e) != SD_OK) abort();
    rc->s = s;
    atomic_init(&rc->calls, 0);
    return s;
}

/* ------------------------------------------------------------ the pool */

/*
 * NSLOT Call-IDs shared by every thread. A slot's dialogs (its UAC dialogs
 * of successive generations, each with local tag l<slot>g<gen>, and their
 * forks) are tracked in rec[]. Changes of store membership (add, remove,
 * fork, end) happen under the slot's mutex, so `in_store` is exact and each
 * operation knows what it must have done; look-ups and re-keying (the
 * first tagged response, which ends nothing) run without it, on whatever
 * generation the slot shows, so they race with everything.
 */
#define NSLOT 128
#define PER_SLOT 4
#define NTHREADS 8

typedef struct rec {
    sd_dialog *d; /* the pool's reference, or NULL */
    int in_store;
    unsigned gen;
    char rtag[24]; /* the remote tag it has or will have */
} rec;

typedef struct pslot {
    pthread_mutex_t mu;
    _Atomic unsigned gen; /* the newest generation (read without mu) */
    unsigned next_gen, forks;
    rec r[PER_SLOT];
} pslot;

typedef struct pool {
    sd_store *s;
    sd_dlg_env env;
    long ops;
    pslot slot[NSLOT];
} pool;

typedef struct tally {
    long added, removed, ended, forks_added;
    long lookups, found, rekeys;
} tally;

typedef struct worker {
    pool *p;
    unsigned id;
    tally t;
} worker;

static void cid_of(char *buf, size_t n, unsigned slot)
{
    snprintf(buf, n, "pool-%u@stress.atlanta.example.com", slot);
}

static void ltag_of(char *buf, size_t n, unsigned slot, unsigned gen)
{
    snprintf(buf, n, "l%ug%u", slot, gen);
}

static void rtag_of(char *buf, size_t n, unsigned gen)
{
    snprintf(buf, n, "r%u", gen);
}

static int live(sd_dialog *d)
{
    return !sd_dialog_is_closed(d) && sd_dialog_state(d) != SD_DLG_TERMINATED;
}

/* The dialog's keys are (cid, ltag, one of rtag or "") with cid of slot. */
static void check_keys(sd_dialog *d, const char *cid, const char *ltag)
{
    sd_dlg_snap *snap = NULL;
    sd_error e;
    if (sd_dialog_snapshot(d, &snap, &e) != SD_OK) abort();
    TCHECK(snap->call_id.len == strlen(cid) && memcmp(snap->call_id.p, cid, snap->call_id.len) == 0);
    if (ltag) TCHECK(snap->local_tag.len == strlen(ltag) && memcmp(snap->local_tag.p, ltag, snap->local_tag.len) == 0);
    free(snap);
}

/* ---- membership operations (slot mutex held) */

static rec *free_rec(pslot *ps)
{
    for (int i = 0; i < PER_SLOT; i++)
        if (ps->r[i].d == NULL || !ps->r[i].in_store) {
            sd_dialog_unref(ps->r[i].d);
            ps->r[i].d = NULL;
            return &ps->r[i];
        }
    return NULL;
}

static rec *stored_rec(pslot *ps, uint64_t pick)
{
    for (int i = 0; i < PER_SLOT; i++) {
        rec *r = &ps->r[(pick + (uint64_t)i) % PER_SLOT];
        if (r->d && r->in_store) return r;
    }
    return NULL;
}

static void op_create(worker *w, pslot *ps, unsigned slot)
{
    rec *r = free_rec(ps);
    if (r == NULL) return;
    char cid[64], ltag[32];
    cid_of(cid, sizeof cid, slot);
    unsigned gen = ++ps->next_gen;
    ltag_of(ltag, sizeof ltag, slot, gen);
    r->d = s_uac(&w->p->env, cid, ltag); /* NONE: added before its first tagged response */
    r->gen = gen;
    rtag_of(r->rtag, sizeof r->rtag, gen);
    sd_error e;
    sd_err rc = sd_store_add(w->p->s, r->d, &e);
    TCHECK(rc == SD_OK);
    r->in_store = rc == SD_OK;
    if (rc == SD_OK) w->t.added++;
    atomic_store(&ps->gen, gen);
}

static void op_remove(worker *w, pslot *ps, uint64_t pick)
{
    rec *r = stored_rec(ps, pick);
    int before = tl_removed;
    if (r == NULL) {
        /* a dialog out of the store: not found, no callback */
        for (int i = 0; i < PER_SLOT; i++)
            if (ps->r[i].d && !ps->r[i].in_store) TCHECK(sd_store_remove(w->p->s, ps->r[i].d) == SD_ENOTFOUND);
        TCHECK(tl_removed == before);
        return;
    }
    sd_err rc = sd_store_remove(w->p->s, r->d);
    TCHECK(rc == SD_OK);
    TCHECK(tl_removed == before + 1 && tl_last_removed == r->d);
    TCHECK(live(r->d)); /* it stays usable */
    r->in_store = 0;
    w->t.removed++;
}

/* BYE from the callee, a 486 to the creating INVITE, or close. */
static void op_end(worker *w, pslot *ps, unsigned slot, uint64_t pick)
{
    rec *r = stored_rec(ps, pick);
    if (r == NULL) return;
    char cid[64], ltag[32];
    cid_of(cid, sizeof cid, slot);
    ltag_of(ltag, sizeof ltag, slot, r->gen);
    int before = tl_removed;
    sd_dlg_state st = sd_dialog_state(r->d);
    if (pick % 3 == 0) {
        TCHECK(sd_dialog_close(r->d) == SD_OK);
    } else if (st == SD_DLG_CONFIRMED) {
        smsg *bye = s_bye_from_bob(cid, ltag, r->rtag);
        sd_buf reply;
        sd_buf_init(&reply);
        sd_error e;
        TCHECK(sd_dialog_receive(r->d, bye->buf, &bye->m, SD_RECV_AUTO_ANSWER, &reply, &e) == SD_OK);
        sd_buf_free(&reply);
        sfree(bye);
    } else {
        smsg *busy = s_response(486, cid, ltag, r->rtag);
        sd_err rc = s_recv(r->d, busy);
        TCHECK(rc == SD_OK);
        sfree(busy);
    }
    /* only this slot's mutex holders end dialogs; re-keying never does */
    if (!live(r->d)) {
        TCHECK(tl_removed == before + 1 && tl_last_removed == r->d);
        TCHECK(sd_store_get(w->p->s, s_str(cid), s_str(ltag), s_str(r->rtag)) != r->d);
        r->in_store = 0;
        w->t.ended++;
    } else {
        /* a 2xx overtook the 486: the dialog is confirmed and stays */
        TCHECK(tl_removed == before);
    }
}

static void op_fork(worker *w, pslot *ps, unsigned slot, uint64_t pick)
{
    rec *parent = stored_rec(ps, pick);
    if (parent == NULL) return;
    rec *r = free_rec(ps);
    if (r == NULL) return;
    char cid[64], ltag[32], ftag[24];
    cid_of(cid, sizeof cid, slot);
    ltag_of(ltag, sizeof ltag, slot, parent->gen);
    snprintf(ftag, sizeof ftag, "f%u", ++ps->forks);
    smsg *resp = s_response(pick & 8 ? 200 : 183, cid, ltag, ftag);
    sd_dialog *sib = NULL;
    sd_error e;
    sd_err rc = sd_dialog_fork(parent->d, resp->buf, &resp->m, &sib, &e);
    sfree(resp);
    TCHECK(rc == SD_OK); /* the parent is in the store: so is the sibling */
    if (rc != SD_OK) return;
    r->d = sib;
    r->in_store = 1;
    r->gen = parent->gen;
    snprintf(r->rtag, sizeof r->rtag, "%s", ftag);
    w->t.forks_added++;
}

/* ---- operations without the slot mutex */

/* Find the dialog of a tagged 180/200 of the newest generation and deliver
 * it: the first one re-keys a NONE dialog (the store's shard lock taken
 * inside receive). */
static void op_rekey(worker *w, unsigned slot, unsigned gen, uint64_t pick)
{
    char cid[64], ltag[32], rtag[24];
    cid_of(cid, sizeof cid, slot);
    ltag_of(ltag, sizeof ltag, slot, gen);
    rtag_of(rtag, sizeof rtag, gen);
    smsg *resp = s_response(pick & 16 ? 200 : 180, cid, ltag, rtag);
    int before = tl_removed;
    sd_dialog *d = sd_store_find(w->p->s, resp->buf, &resp->m);
    if (d) {
        sd_err rc = s_recv(d, resp);
        /* closed or ended meanwhile by another thread: OK or ECLOSED */
        TCHECK(rc == SD_OK || rc == SD_ECLOSED);
        w->t.rekeys++;
        sd_dialog_unref(d);
    }
    TCHECK(tl_removed == before);
    sfree(resp);
}

static void op_lookup(worker *w, unsigned slot, unsigned gen, uint64_t pick)
{
    sd_store *s = w->p->s;
    char cid[64], ltag[32], rtag[24];
    cid_of(cid, sizeof cid, slot);
    ltag_of(ltag, sizeof ltag, slot, gen);
    rtag_of(rtag, sizeof rtag, gen);
    sd_dialog *d = NULL;
    w->t.lookups++;
    switch (pick % 5) {
    case 0:
        d = sd_store_get(s, s_str(cid), s_str(ltag), s_str(pick & 32 ? rtag : ""));
        break;
    case 1: {
        smsg *m = s_response(180, cid, ltag, rtag);
        d = sd_store_find(s, m->buf, &m->m);
        sfree(m);
        break;
    }
    case 2: {
        sd_dialog *all[PER_SLOT + 4];
        size_t n = sd_store_find_call(s, s_str(cid), all, PER_SLOT + 4);
        TCHECK(n <= PER_SLOT);
        for (size_t i = 0; i < n && i < PER_SLOT + 4; i++) {
            if (i == 0 && (pick & 64)) check_keys(all[i], cid, NULL);
            sd_dialog_unref(all[i]);
        }
        if (n) w->t.found++;
        return;
    }
    case 3:
        d = sd_store_find_tags(s, s_str(cid), s_str(rtag), s_str(ltag)); /* their orientation */
        break;
    default:
        d = sd_store_find_tags(s, s_str(cid), s_str(ltag), s_str(rtag));
        break;
    }
    if (d) {
        w->t.found++;
        if (pick & 64) check_keys(d, cid, ltag);
        sd_dialog_unref(d);
    }
}

static void *st_worker(void *arg)
{
    worker *w = arg;
    uint64_t x = 0x9e3779b97f4a7c15ull * (w->id + 1);
    for (long i = 0; i < w->p->ops; i++) {
        uint64_t v = st_rand(&x);
        unsigned slot = (unsigned)(v % NSLOT);
        unsigned kind = (unsigned)((v >> 8) % 100);
        uint64_t pick = v >> 20;
        pslot *ps = &w->p->slot[slot];
        if (kind < 30) {
            pthread_mutex_lock(&ps->mu);
            if (kind < 10) op_create(w, ps, slot);
            else if (kind < 17) op_fork(w, ps, slot, pick);
            else if (kind < 24) op_end(w, ps, slot, pick);
            else op_remove(w, ps, pick);
            pthread_mutex_unlock(&ps->mu);
        } else {
            unsigned gen = atomic_load(&ps->gen);
            if (gen == 0) continue;
            if (kind < 45) op_rekey(w, slot, gen, pick);
            else op_lookup(w, slot, gen, pick);
        }
    }
    return NULL;
}

/* Every dialog the pool holds in the store is found by each look-up; every
 * other one by none. Returns how many are in the store. */
static size_t check_pool(pool *p)
{
    size_t in = 0;
    for (unsigned i = 0; i < NSLOT; i++)
        for (int k = 0; k < PER_SLOT; k++) {
            rec *r = &p->slot[i].r[k];
            if (r->d == NULL) continue;
            sd_dlg_snap *snap = NULL;
            sd_error e;
            if (sd_dialog_snapshot(r->d, &snap, &e) != SD_OK) abort();
            sd_dialog *g = sd_store_get(p->s, snap->call_id, snap->local_tag, snap->remote_tag);
            if (!r->in_store) {
                CHECK(g != r->d);
                sd_dialog_unref(g);
                free(snap);
                continue;
            }
            in++;
            CHECK(g == r->d);
            sd_dialog_unref(g);
            g = sd_store_find_tags(p->s, snap->call_id, snap->local_tag, snap->remote_tag);
            CHECK(g == r->d);
            sd_dialog_unref(g);
            g = sd_store_find_tags(p->s, snap->call_id, snap->remote_tag, snap->local_tag);
            CHECK(g == r->d);
            sd_dialog_unref(g);
            sd_dialog *all[PER_SLOT + 1];
            size_t n = sd_store_find_call(p->s, snap->call_id, all, PER_SLOT + 1), hits = 0;
            CHECK(n <= PER_SLOT);
            for (size_t j = 0; j < n && j < PER_SLOT + 1; j++) {
                hits += all[j] == r->d;
                sd_dialog_unref(all[j]);
            }
            CHECK(hits == 1);
            free(snap);
        }
    return in;
}

/* 8 threads, one store of 16 shards, a long mixed sequence each. */
TEST(store_threads_mixed_workload)
{
    static pool p; /* large: not on the stack */
    memset(&p, 0, sizeof p);
    removed_ctx rc;
    p.s = st_store(&rc, 16);
    sd_dlg_env_default(&p.env);
    p.ops = st_ops();
    for (unsigned i = 0; i < NSLOT; i++) pthread_mutex_init(&p.slot[i].mu, NULL);
    atomic_store(&st_failures, 0);
    worker w[NTHREADS];
    pthread_t th[NTHREADS];
    for (unsigned i = 0; i < NTHREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].p = &p;
        w[i].id = i;
        if (pthread_create(&th[i], NULL, st_worker, &w[i]) != 0) abort();
    }
    tally sum = {0};
    for (unsigned i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        sum.added += w[i].t.added;
        sum.removed += w[i].t.removed;
        sum.ended += w[i].t.ended;
        sum.forks_added += w[i].t.forks_added;
        sum.lookups += w[i].t.lookups;
        sum.found += w[i].t.found;
        sum.rekeys += w[i].t.rekeys;
    }
    CHECK_EQ_INT(atomic_load(&st_failures), 0);
    size_t len = sd_store_len(p.s);
    CHECK_EQ_INT(len, sum.added + sum.forks_added - sum.removed - sum.ended);
    sd_error e;
    sd_err ck = sd_store_check(p.s, &e);
    if (ck != SD_OK) fprintf(stderr, "store invariant: %s\n", e.reason);
    CHECK(ck == SD_OK);
    CHECK_EQ_INT(check_pool(&p), len);
    sd_dialog **all = NULL;
    size_t n = 0;
    CHECK(sd_store_list(p.s, &all, &n) == SD_OK);
    CHECK_EQ_INT(n, len);
    for (size_t i = 0; i < n; i++) sd_dialog_unref(all[i]);
    free(all);
    /* once per dialog that left (each operation checked its own) */
    CHECK_EQ_INT(atomic_load(&rc.calls), sum.removed + sum.ended);
    /* the work really mixed: something of every kind happened */
    CHECK(sum.added > 0 && sum.removed > 0 && sum.ended > 0 && sum.forks_added > 0);
    CHECK(sum.rekeys > 0 && sum.found > 0 && sum.found < sum.lookups);
    sd_store_stats st;
    sd_store_stats_get(p.s, &st, NULL);
    CHECK(st.rekeyed > 0);
    CHECK_EQ_INT(st.added, sum.added + sum.forks_added);
    CHECK_EQ_INT(st.removed, sum.removed + sum.ended);
    sd_store_close(p.s);
    CHECK_EQ_INT(atomic_load(&rc.calls), sum.removed + sum.ended + (long)len);
    CHECK_EQ_INT(sd_store_len(p.s), 0);
    for (unsigned i = 0; i < NSLOT; i++) {
        for (int k = 0; k < PER_SLOT; k++) sd_dialog_unref(p.slot[i].r[k].d);
        pthread_mutex_destroy(&p.slot[i].mu);
    }
    sd_store_unref(p.s);
}

/* ------------------------------------------------------------ re-keying race */

#define RK_READERS 3

typedef struct rk_round {
    sd_store *s;
    sd_dialog *d;
    smsg *resp; /* the tagged response that re-keys d */
    const char *cid;
    _Atomic int go, rekeyed;
    pthread_barrier_t start;
    long spins;
} rk_round;

static void *rk_reader(void *arg)
{
    rk_round *k = arg;
    sd_str c = s_str(k->cid), l = s_str("a1"), none = s_str(""), r = s_str("b1");
    int saw_new = 0;
    pthread_barrier_wait(&k->start);
    /* until some time after the re-key is done */
    for (long after = 0; after < 20;) {
        int done = atomic_load(&k->rekeyed);
        /* one look-up that matches either key: always found */
        sd_dialog *f = sd_store_find(k->s, k->resp->buf, &k->resp->m);
        TCHECK(f == k->d);
        sd_dialog_unref(f);
        /* old, then new: the old key missing means the new one is there */
        sd_dialog *o = sd_store_get(k->s, c, l, none);
        sd_dialog *n = sd_store_get(k->s, c, l, r);
        TCHECK(o != NULL || n != NULL);
        TCHECK(o == NULL || o == k->d);
        TCHECK(n == NULL || n == k->d);
        if (n) saw_new = 1;
        sd_dialog_unref(o);
        sd_dialog_unref(n);
        /* new, then old: never both */
        n = sd_store_get(k->s, c, l, r);
        o = sd_store_get(k->s, c, l, none);
        TCHECK(!(n && o));
        /* once the new key was seen, or the re-key returned, the old one
         * never finds it again */
        if (saw_new || done) TCHECK(o == NULL);
        if (n) saw_new = 1;
        sd_dialog_unref(o);
        sd_dialog_unref(n);
        /* by tags, their orientation */
        f = sd_store_find_tags(k->s, c, r, l);
        TCHECK(f == NULL || f == k->d);
        if (done) TCHECK(f == k->d);
        sd_dialog_unref(f);
        if (done) after++;
    }
    return NULL;
}

static void *rk_writer(void *arg)
{
    rk_round *k = arg;
    pthread_barrier_wait(&k->start);
    for (volatile long i = 0; i < k->spins; i++) {
    }
    TCHECK(s_recv(k->d, k->resp) == SD_OK);
    atomic_store(&k->rekeyed, 1);
    return NULL;
}

/* One thread delivers the first tagged response (180 or 200) of a NONE
 * dialog while others look it up by both IDs. */
TEST(store_threads_rekey_race)
{
    removed_ctx rc;
    sd_store *s = st_store(&rc, 16);
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    atomic_store(&st_failures, 0);
    int rounds = ST_UNDER_VALGRIND() ? 40 : ST_SANITIZED ? 100 : 200;
    uint64_t x = 12345;
    for (int round = 0; round < rounds; round++) {
        static rk_round k;
        char cid[48];
        snprintf(cid, sizeof cid, "rekey-%d@atlanta.example.com", round);
        memset(&k, 0, sizeof k);
        k.s = s;
        k.cid = cid;
        k.d = s_uac_stored(&env, s, cid, "a1");
        k.resp = s_response(round & 1 ? 200 : 180, cid, "a1", "b1");
        k.spins = (long)(st_rand(&x) % 20000);
        pthread_barrier_init(&k.start, NULL, RK_READERS + 1);
        pthread_t th[RK_READERS + 1];
        for (int i = 0; i < RK_READERS; i++)
            if (pthread_create(&th[i], NULL, rk_reader, &k) != 0) abort();
        if (pthread_create(&th[RK_READERS], NULL, rk_writer, &k) != 0) abort();
        for (int i = 0; i <= RK_READERS; i++) pthread_join(th[i], NULL);
        pthread_barrier_destroy(&k.start);
        CHECK(sd_dialog_state(k.d) == (round & 1 ? SD_DLG_CONFIRMED : SD_DLG_EARLY));
        CHECK(sd_store_get(s, s_str(cid), s_str("a1"), s_str("")) == NULL);
        sfree(k.resp);
        sd_dialog_unref(k.d);
    }
    CHECK_EQ_INT(atomic_load(&st_failures), 0);
    sd_store_stats st;
    sd_store_stats_get(s, &st, NULL);
    CHECK_EQ_INT(st.rekeyed, rounds);
    CHECK_EQ_INT(st.live, rounds);
    sd_error e;
    CHECK(sd_store_check(s, &e) == SD_OK);
    sd_store_unref(s);
    CHECK_EQ_INT(atomic_load(&rc.calls), rounds);
}

/* ------------------------------------------------------------ the last reference */

#define LU_DIALOGS 1000
#define LU_THREADS 3

typedef struct lu_shared {
    sd_dialog *d[LU_DIALOGS];
    smsg *trying[LU_DIALOGS];
    _Atomic int stop;
} lu_shared;

static void *lu_worker(void *arg)
{
    lu_shared *u = arg;
    uint64_t x = (uint64_t)(uintptr_t)&x | 1;
    while (!atomic_load(&u->stop)) {
        unsigned i = (unsigned)(st_rand(&x) % LU_DIALOGS);
        sd_err rc = s_recv(u->d[i], u->trying[i]); /* in the store or taken out by the closing */
        TCHECK(rc == SD_OK || rc == SD_ECLOSED);
    }
    return NULL;
}

/* The last store reference goes while other threads work on its dialogs:
 * an operation that began on a dialog still in the store must not revive
 * the store's count from 0 (it would free the store a second time, or use
 * it after the free); the freeing waits for it instead. */
TEST(store_threads_last_unref_while_in_use)
{
    static lu_shared u;
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    atomic_store(&st_failures, 0);
    int rounds = ST_UNDER_VALGRIND() ? 2 : ST_SANITIZED ? 6 : 12;
    for (int round = 0; round < rounds; round++) {
        removed_ctx rc;
        sd_store *s = st_store(&rc, 64);
        char cid[48];
        for (int i = 0; i < LU_DIALOGS; i++) {
            snprintf(cid, sizeof cid, "last-%d-%d@atlanta.example.com", round, i);
            u.d[i] = s_uac_stored(&env, s, cid, "a1");
            u.trying[i] = s_response(100, cid, "a1", NULL);
        }
        atomic_store(&u.stop, 0);
        pthread_t th[LU_THREADS];
        for (int i = 0; i < LU_THREADS; i++)
            if (pthread_create(&th[i], NULL, lu_worker, &u) != 0) abort();
        for (volatile long k = 0; k < 200000; k++) {
        }
        sd_store_unref(s); /* the last reference: closes and frees */
        atomic_store(&u.stop, 1);
        for (int i = 0; i < LU_THREADS; i++) pthread_join(th[i], NULL);
        CHECK_EQ_INT(atomic_load(&rc.calls), LU_DIALOGS);
        for (int i = 0; i < LU_DIALOGS; i++) {
            CHECK(sd_dialog_is_closed(u.d[i]));
            sd_dialog_unref(u.d[i]);
            sfree(u.trying[i]);
        }
    }
    CHECK_EQ_INT(atomic_load(&st_failures), 0);
}
