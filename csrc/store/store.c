/*
 * store.c - the sharded dialog store (see sipdialog/store.h).
 *
 * Per shard: an open-addressing table of {hash, pointer} slots, linear
 * probing from hash & mask, backward-shift deletion (no deleted markers:
 * probe lengths stay what the live entries need), grown x2 past 3/4 load.
 * A pointer with its low bit set is a tombstone (struct tomb), else a
 * dialog. Tombstones also sit on a per-shard FIFO in expiry order (every
 * tombstone lives equally long), so expiring them is popping the head;
 * that happens under the write lock of operations that already hold it.
 *
 * Counters touched by look-ups are free: the read-lock word counts read
 * sections (sd_rwlock_entries), and only misses add to a counter.
 */
#include "sipdialog/store.h"
#include "base/hash.h"
#include "base/sync.h"
#include "store/link.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define TOMB_BIT ((uintptr_t)1)
#define MIN_CAP 16u

typedef struct slot {
    uint64_t h;
    void *p; /* NULL: empty; low bit set: struct tomb; else sd_dialog */
} slot;

typedef struct tomb {
    struct tomb *next; /* FIFO, oldest first */
    int64_t expires;
    uint64_t h;
    sd_store_ended_info info;
    uint16_t clen, llen, rlen;
    char s[]; /* Call-ID, local tag, remote tag */
} tomb;

typedef struct shard {
    sd_rwlock lock;
    /* below: guarded by lock (write side for changes) */
    slot *tab;
    size_t cap, live, tombs;
    size_t longest; /* longest probe seen on insert (an upper bound) */
    tomb *thead, *ttail;
    _Atomic uint64_t misses;
    uint64_t added, removed, rekeyed, rej_per_call, rej_exists;
} shard;

struct sd_store {
    _Atomic uint32_t refs;
    _Atomic uint32_t pins; /* operations of its dialogs begun after the last reference went (sd_store_hold_) */
    _Atomic int closed;
    _Atomic size_t live; /* all shards; reserved before insert, so max_dialogs is exact */
    _Atomic size_t tombs;
    _Atomic uint64_t rej_overload;
    sd_store_opts o;
    sd_hash_key key;
    unsigned shift; /* 64 - log2(shards) (64 for one shard) */
    shard *sh;
};

/* ------------------------------------------------------------ helpers */

static int str_eq(sd_str a, sd_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static uint64_t hash_of(const sd_store *s, sd_str call_id)
{
    return sd_siphash13(&s->key, call_id.p, call_id.len);
}

/* The hash of a dialog's Call-ID (its lock or its shard's held: the
 * Call-ID never changes, but its arena may move). Not kept in the dialog:
 * recomputing costs ~15 ns, keeping it 8 bytes a dialog. */
static uint64_t dialog_hash(const sd_store *s, const sd_dialog *d)
{
    sd_str c, l, r;
    sd_dialog_keys_(d, &c, &l, &r);
    return hash_of(s, c);
}

uint64_t sd_store_hash_(sd_store *s, const sd_dialog *d)
{
    return dialog_hash(s, d);
}

static shard *shard_of(const sd_store *s, uint64_t h)
{
    return &s->sh[s->shift >= 64 ? 0 : h >> s->shift];
}

static int is_tomb(const void *p)
{
    return ((uintptr_t)p & TOMB_BIT) != 0;
}

static tomb *as_tomb(void *p)
{
    return (tomb *)((uintptr_t)p & ~TOMB_BIT);
}

static int64_t now(const sd_store *s)
{
    return s->o.now(s->o.now_ctx);
}

static int dialog_has_keys(const sd_dialog *d, sd_str cid, sd_str l, sd_str r)
{
    sd_str dc, dl, dr;
    sd_dialog_keys_(d, &dc, &dl, &dr);
    return str_eq(dl, l) && str_eq(dr, r) && str_eq(dc, cid);
}

static int tomb_has_keys(const tomb *t, sd_str cid, sd_str l, sd_str r)
{
    return str_eq((sd_str){t->s, t->clen}, cid) && str_eq((sd_str){t->s + t->clen, t->llen}, l) &&
           str_eq((sd_str){t->s + t->clen + t->llen, t->rlen}, r);
}

/* ------------------------------------------------------------ the table */

/* Insert without checks; the table has room. */
static void table_put(shard *sh, uint64_t h, void *p)
{
    size_t mask = sh->cap - 1, i = h & mask, n = 1;
    while (sh->tab[i].p != NULL) {
        i = (i + 1) & mask;
        n++;
    }
    sh->tab[i].h = h;
    sh->tab[i].p = p;
    if (n > sh->longest) sh->longest = n;
}

/* Make room for one more entry (grow x2 beyond 3/4 load). */
static sd_err table_reserve(shard *sh)
{
    size_t used = sh->live + sh->tombs;
    if ((used + 1) * 4 <= sh->cap * 3) return SD_OK;
    size_t ncap = sh->cap * 2;
    slot *nt = calloc(ncap, sizeof *nt);
    if (nt == NULL) return SD_ENOMEM;
    slot *old = sh->tab;
    size_t ocap = sh->cap;
    sh->tab = nt;
    sh->cap = ncap;
    sh->longest = 0;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].p) table_put(sh, old[i].h, old[i].p);
    free(old);
    return SD_OK;
}

/* Remove the entry at slot i; shift later entries of the run back. */
static void table_delete_at(shard *sh, size_t i)
{
    size_t mask = sh->cap - 1;
    for (;;) {
        sh->tab[i].p = NULL;
        size_t j = i;
        for (;;) {
            j = (j + 1) & mask;
            if (sh->tab[j].p == NULL) return;
            size_t home = sh->tab[j].h & mask;
            /* the entry at j may move to i unless its home lies in (i, j] */
            if (((j - home) & mask) >= ((j - i) & mask)) break;
        }
        sh->tab[i] = sh->tab[j];
        i = j;
    }
}

/* Slot index of pointer p (present), or SIZE_MAX. */
static size_t table_find_ptr(const shard *sh, uint64_t h, const void *p)
{
    size_t mask = sh->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        if (sh->tab[i].p == NULL) return SIZE_MAX;
        if (sh->tab[i].p == p) return i;
    }
}

/* Live dialog with exactly these keys (read or write lock held). */
static sd_dialog *table_get(const shard *sh, uint64_t h, sd_str cid, sd_str l, sd_str r)
{
    size_t mask = sh->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const slot *e = &sh->tab[i];
        if (e->p == NULL) return NULL;
        if (e->h == h && !is_tomb(e->p) && dialog_has_keys(e->p, cid, l, r)) return e->p;
    }
}

/* ------------------------------------------------------------ tombstones */

static void tomb_unlink_all_expired(sd_store *s, shard *sh, int64_t t, size_t keep_at_most)
{
    while (sh->thead && (sh->thead->expires <= t || sh->tombs > keep_at_most)) {
        tomb *x = sh->thead;
        sh->thead = x->next;
        if (sh->thead == NULL) sh->ttail = NULL;
        size_t i = table_find_ptr(sh, x->h, (void *)((uintptr_t)x | TOMB_BIT));
        if (i != SIZE_MAX) table_delete_at(sh, i);
        sh->tombs--;
        atomic_fetch_sub_explicit(&s->tombs, 1, memory_order_relaxed);
        free(x);
    }
}

/* Write lock held: forget tombstones past their time. */
static void expire(sd_store *s, shard *sh)
{
    if (sh->thead && sh->thead->expires <= now(s)) tomb_unlink_all_expired(s, sh, now(s), SIZE_MAX);
}

/* Write lock held and the dialog's lock: remember d's ID (best effort: no
 * tombstone when memory is short or tombstones are off). */
static void tomb_add(sd_store *s, shard *sh, uint64_t h, sd_dialog *d)
{
    if (s->o.tombstone_ns <= 0 || s->o.max_tombstones == 0) return;
    sd_str c, l, r;
    sd_dialog_keys_(d, &c, &l, &r);
    if (c.len > 0xffff || l.len > 0xffff || r.len > 0xffff) return;
    expire(s, sh);
    /* max_tombstones over the whole store: reserve one; when that is one too
     * many, this shard gives up its oldest (other shards are not touched:
     * their locks come after this one in no order), and without one to give
     * the new ID is not remembered */
    if (atomic_fetch_add_explicit(&s->tombs, 1, memory_order_relaxed) >= s->o.max_tombstones) {
        if (sh->thead == NULL) {
            atomic_fetch_sub_explicit(&s->tombs, 1, memory_order_relaxed);
            return;
        }
        tomb_unlink_all_expired(s, sh, INT64_MIN, sh->tombs - 1); /* pops exactly the oldest */
    }
    tomb *t = table_reserve(sh) == SD_OK ? malloc(sizeof *t + c.len + l.len + r.len) : NULL;
    if (t == NULL) {
        atomic_fetch_sub_explicit(&s->tombs, 1, memory_order_relaxed);
        return;
    }
    t->next = NULL;
    t->h = h;
    sd_dlg_transition last;
    sd_dialog_last_transition_locked_(d, &last);
    t->info.how = last.event;
    t->info.state = (uint8_t)sd_dialog_state_locked_(d);
    t->info.method = last.method;
    t->info.status = last.status;
    t->info.ended_at = now(s);
    t->expires = t->info.ended_at + s->o.tombstone_ns;
    t->clen = (uint16_t)c.len;
    t->llen = (uint16_t)l.len;
    t->rlen = (uint16_t)r.len;
    if (c.len) memcpy(t->s, c.p, c.len);
    if (l.len) memcpy(t->s + c.len, l.p, l.len);
    if (r.len) memcpy(t->s + c.len + l.len, r.p, r.len);
    table_put(sh, h, (void *)((uintptr_t)t | TOMB_BIT));
    if (sh->ttail) sh->ttail->next = t;
    else sh->thead = t;
    sh->ttail = t;
    sh->tombs++; /* the store-wide count was reserved above */
}

/* ------------------------------------------------------------ lifecycle */

static int64_t default_now(void *ctx)
{
    return sd_monotonic_ns(ctx);
}

void sd_store_opts_default(sd_store_opts *o)
{
    memset(o, 0, sizeof *o);
    o->shards = 64;
    o->max_dialogs = 1000000;
    o->max_per_call = 32;
    o->tombstone_ns = 32LL * 1000000000LL;
    o->max_tombstones = 1000000;
    o->now = default_now;
}

sd_err sd_store_new(const sd_store_opts *o, sd_store **out, sd_error *err)
{
    sd_store_opts d;
    if (o == NULL) {
        sd_store_opts_default(&d);
        o = &d;
    }
    if (o->shards == 0 || o->shards > 4096 || (o->shards & (o->shards - 1)) != 0)
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "shards must be a power of two from 1 to 4096, not %u",
                            o->shards);
    if (o->max_dialogs == 0) return sd_error_set(err, SD_EINVAL, SIZE_MAX, "max_dialogs must be at least 1");
    if (o->max_per_call == 0) return sd_error_set(err, SD_EINVAL, SIZE_MAX, "max_per_call must be at least 1");
    if (o->tombstone_ns < 0) return sd_error_set(err, SD_EINVAL, SIZE_MAX, "the tombstone time cannot be negative");
    if (o->now == NULL) return sd_error_set(err, SD_EINVAL, SIZE_MAX, "a clock is needed");
    sd_store *s = calloc(1, sizeof *s);
    if (s == NULL) return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    s->o = *o;
    atomic_init(&s->refs, 1);
    unsigned bits = 0;
    while ((1u << bits) < o->shards) bits++;
    s->shift = 64 - bits;
    size_t per = o->initial / o->shards, cap = MIN_CAP;
    while (cap * 3 < per * 4 + 4 && cap < ((size_t)1 << 40)) cap *= 2;
    sd_err rc = sd_os_random(NULL, &s->key, sizeof s->key);
    if (rc != SD_OK) {
        free(s);
        return sd_error_set(err, rc, SIZE_MAX, "no randomness for the hash key");
    }
    s->sh = aligned_alloc(64, ((sizeof *s->sh * o->shards + 63) / 64) * 64);
    if (s->sh == NULL) {
        free(s);
        return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    }
    memset(s->sh, 0, sizeof *s->sh * o->shards);
    for (unsigned i = 0; i < o->shards; i++) {
        sd_rwlock_init(&s->sh[i].lock);
        s->sh[i].cap = cap;
        if ((s->sh[i].tab = calloc(cap, sizeof(slot))) == NULL) {
            for (unsigned j = 0; j < i; j++) free(s->sh[j].tab);
            free(s->sh);
            free(s);
            return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
        }
    }
    *out = s;
    return SD_OK;
}

sd_store *sd_store_ref(sd_store *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void sd_store_unref(sd_store *s)
{
    if (s == NULL || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) return;
    sd_store_close(s);
    /* no dialog is in it now, so no new pin: wait for those taken before */
    while (atomic_load_explicit(&s->pins, memory_order_acquire) != 0) sched_yield();
    for (unsigned i = 0; i < s->o.shards; i++) {
        shard *sh = &s->sh[i];
        while (sh->thead) {
            tomb *t = sh->thead;
            sh->thead = t->next;
            free(t);
        }
        free(sh->tab);
    }
    free(s->sh);
    free(s);
}

int sd_store_hold_(sd_store *s)
{
    uint32_t r = atomic_load_explicit(&s->refs, memory_order_relaxed);
    while (r != 0)
        if (atomic_compare_exchange_weak_explicit(&s->refs, &r, r + 1, memory_order_relaxed, memory_order_relaxed))
            return 1;
    atomic_fetch_add_explicit(&s->pins, 1, memory_order_relaxed);
    return 0;
}

void sd_store_let_go_(sd_store *s, int ref)
{
    if (ref) sd_store_unref(s);
    else atomic_fetch_sub_explicit(&s->pins, 1, memory_order_release);
}

int sd_store_is_closed(sd_store *s)
{
    return atomic_load_explicit(&s->closed, memory_order_acquire);
}

/* Both locks held: take d out of the table and the counts. */
static void unlink_locked(sd_store *s, shard *sh, sd_dialog *d, int tombstone)
{
    sd_dlg_link *ln = sd_dialog_link_(d);
    uint64_t h = dialog_hash(s, d);
    size_t i = table_find_ptr(sh, h, d);
    if (i != SIZE_MAX) table_delete_at(sh, i);
    sh->live--;
    sh->removed++;
    atomic_fetch_sub_explicit(&s->live, 1, memory_order_relaxed);
    if (tombstone) tomb_add(s, sh, h, d);
    atomic_store_explicit(&ln->store, NULL, memory_order_release);
}

void sd_store_close(sd_store *s)
{
    int was = 0;
    if (!atomic_compare_exchange_strong(&s->closed, &was, 1)) return;
    for (unsigned i = 0; i < s->o.shards; i++) {
        shard *sh = &s->sh[i];
        for (;;) {
            /* take the dialogs out a batch at a time, close them unlocked */
            sd_dialog *batch[64];
            size_t n = 0;
            sd_rwlock_wrlock(&sh->lock);
            for (size_t j = 0; j < sh->cap && n < 64; j++) {
                void *p = sh->tab[j].p;
                if (p == NULL || is_tomb(p)) continue;
                sd_dialog *d = p;
                sd_dialog_lock_(d);
                unlink_locked(s, sh, d, 0);
                sd_dialog_unlock_(d);
                batch[n++] = d;
                j--; /* the deletion may have shifted another entry into j */
            }
            sd_rwlock_wrunlock(&sh->lock);
            for (size_t k = 0; k < n; k++) {
                sd_dialog_close(batch[k]);
                sd_store_removed_(s, batch[k]);
            }
            if (n < 64) break;
        }
    }
}

/* ------------------------------------------------------------ adding */

/* Shard write lock held; d's lock not held. */
static sd_err insert_locked(sd_store *s, shard *sh, uint64_t h, sd_dialog *d, sd_error *err)
{
    sd_err rc = SD_OK;
    sd_str c, l, r;
    sd_dialog_lock_(d);
    sd_dlg_link *ln = sd_dialog_link_(d);
    if (atomic_load_explicit(&ln->store, memory_order_relaxed) != NULL) {
        sh->rej_exists++;
        rc = sd_error_set(err, SD_EEXIST, SIZE_MAX, "the dialog is in a store already");
        goto out;
    }
    if (!sd_dialog_live_locked_(d)) {
        rc = !sd_dialog_closed_locked_(d)
                 ? sd_error_set(err, SD_ESTATE, SIZE_MAX, "a terminated dialog cannot be added")
                 : sd_error_set(err, SD_ECLOSED, SIZE_MAX, "the dialog is closed");
        goto out;
    }
    sd_dialog_keys_(d, &c, &l, &r);
    size_t mask = sh->cap - 1, same_call = 0;
    for (size_t i = h & mask; sh->tab[i].p != NULL; i = (i + 1) & mask) {
        const slot *e = &sh->tab[i];
        if (e->h != h || is_tomb(e->p)) continue;
        sd_str oc, ol, orr;
        sd_dialog_keys_(e->p, &oc, &ol, &orr);
        if (!str_eq(oc, c)) continue;
        same_call++;
        if (str_eq(ol, l) && str_eq(orr, r)) {
            sh->rej_exists++;
            rc = sd_error_set(err, SD_EEXIST, SIZE_MAX, "a dialog with this ID is in the store already");
            goto out;
        }
    }
    if (same_call >= s->o.max_per_call) {
        sh->rej_per_call++;
        rc = sd_error_set(err, SD_ELIMIT, SIZE_MAX, "%u dialogs of this Call-ID are in the store already",
                          s->o.max_per_call);
        goto out;
    }
    if (atomic_fetch_add_explicit(&s->live, 1, memory_order_relaxed) >= s->o.max_dialogs) {
        atomic_fetch_sub_explicit(&s->live, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->rej_overload, 1, memory_order_relaxed);
        rc = sd_error_set(err, SD_EOVERLOAD, SIZE_MAX, "the store holds its maximum of %zu dialogs",
                          s->o.max_dialogs);
        goto out;
    }
    if (table_reserve(sh) != SD_OK) {
        atomic_fetch_sub_explicit(&s->live, 1, memory_order_relaxed);
        rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
        goto out;
    }
    sd_dialog_ref(d);
    table_put(sh, h, d);
    sh->live++;
    sh->added++;
    atomic_store_explicit(&ln->store, s, memory_order_release);
out:
    sd_dialog_unlock_(d);
    return rc;
}

sd_err sd_store_add(sd_store *s, sd_dialog *d, sd_error *err)
{
    if (sd_store_is_closed(s)) return sd_error_set(err, SD_ECLOSED, SIZE_MAX, "the store is closed");
    sd_str c, l, r;
    /* the Call-ID never changes: hashing it before any lock is safe */
    sd_dialog_lock_(d);
    sd_dialog_keys_(d, &c, &l, &r);
    uint64_t h = hash_of(s, c);
    sd_dialog_unlock_(d);
    shard *sh = shard_of(s, h);
    sd_rwlock_wrlock(&sh->lock);
    sd_err rc;
    if (sd_store_is_closed(s)) { /* closed meanwhile: its sweep may be past this shard */
        rc = sd_error_set(err, SD_ECLOSED, SIZE_MAX, "the store is closed");
    } else {
        expire(s, sh);
        rc = insert_locked(s, sh, h, d, err);
    }
    sd_rwlock_wrunlock(&sh->lock);
    return rc;
}

sd_err sd_store_add_sibling_(sd_store *s, sd_dialog *parent, sd_dialog *sibling, sd_error *err)
{
    uint64_t h = dialog_hash(s, parent); /* the sibling has its Call-ID */
    if (sd_store_is_closed(s)) return sd_error_set(err, SD_ECLOSED, SIZE_MAX, "the store is closed");
    return insert_locked(s, shard_of(s, h), h, sibling, err);
}

sd_err sd_store_remove(sd_store *s, sd_dialog *d)
{
    sd_dialog_lock_(d);
    sd_dlg_link *ln = sd_dialog_link_(d);
    int mine = atomic_load_explicit(&ln->store, memory_order_relaxed) == s;
    uint64_t h = dialog_hash(s, d);
    sd_dialog_unlock_(d);
    if (!mine) return SD_ENOTFOUND;
    shard *sh = shard_of(s, h);
    sd_rwlock_wrlock(&sh->lock);
    sd_dialog_lock_(d);
    mine = atomic_load_explicit(&ln->store, memory_order_relaxed) == s; /* removed meanwhile? */
    if (mine) unlink_locked(s, sh, d, 0);
    sd_dialog_unlock_(d);
    sd_rwlock_wrunlock(&sh->lock);
    if (!mine) return SD_ENOTFOUND;
    sd_store_removed_(s, d);
    return SD_OK;
}

/* ------------------------------------------------------------ dialog hooks */

void sd_store_shard_lock_(sd_store *s, uint64_t h)
{
    shard *sh = shard_of(s, h);
    sd_rwlock_wrlock(&sh->lock);
    expire(s, sh);
}

void sd_store_shard_unlock_(sd_store *s, uint64_t h)
{
    sd_rwlock_wrunlock(&shard_of(s, h)->lock);
}

int sd_store_settle_(sd_store *s, sd_dialog *d, int had_remote_tag)
{
    sd_dlg_link *ln = sd_dialog_link_(d);
    if (atomic_load_explicit(&ln->store, memory_order_relaxed) != s) return 0;
    shard *sh = shard_of(s, dialog_hash(s, d));
    if (sd_dialog_live_locked_(d)) {
        sd_str c, l, r;
        sd_dialog_keys_(d, &c, &l, &r);
        if (!had_remote_tag && r.len) sh->rekeyed++;
        return 0;
    }
    unlink_locked(s, sh, d, 1);
    return 1;
}

int sd_store_id_taken_(sd_store *s, uint64_t h, sd_str call_id, sd_str local_tag, sd_str remote_tag)
{
    return table_get(shard_of(s, h), h, call_id, local_tag, remote_tag) != NULL;
}

void sd_store_removed_(sd_store *s, sd_dialog *d)
{
    if (s->o.on_removed) s->o.on_removed(s->o.removed_ctx, d);
    sd_dialog_unref(d);
}

/* ------------------------------------------------------------ look-ups */

static sd_dialog *get_in(sd_store *s, uint64_t h, sd_str cid, sd_str l, sd_str r, int both)
{
    shard *sh = shard_of(s, h);
    unsigned k = sd_rwlock_rdlock(&sh->lock);
    sd_dialog *d = table_get(sh, h, cid, l, r);
    if (d == NULL && both) d = table_get(sh, h, cid, r, l);
    if (d) sd_dialog_ref(d);
    else atomic_fetch_add_explicit(&sh->misses, 1, memory_order_relaxed);
    sd_rwlock_rdunlock(&sh->lock, k);
    return d;
}

sd_dialog *sd_store_get(sd_store *s, sd_str call_id, sd_str local_tag, sd_str remote_tag)
{
    return get_in(s, hash_of(s, call_id), call_id, local_tag, remote_tag, 0);
}

int sd_store_get_nowait(sd_store *s, sd_str call_id, sd_str local_tag, sd_str remote_tag, sd_dialog **out)
{
    uint64_t h = hash_of(s, call_id);
    shard *sh = shard_of(s, h);
    int k = sd_rwlock_tryrdlock(&sh->lock);
    if (k < 0) return 0;
    sd_dialog *d = table_get(sh, h, call_id, local_tag, remote_tag);
    if (d) sd_dialog_ref(d);
    else atomic_fetch_add_explicit(&sh->misses, 1, memory_order_relaxed);
    sd_rwlock_rdunlock(&sh->lock, (unsigned)k);
    *out = d;
    return 1;
}

int sd_store_peek_ctx_nowait(sd_store *s, sd_str call_id, sd_str local_tag, sd_str remote_tag, sd_dlg_listener fn,
                             void **ctx)
{
    uint64_t h = hash_of(s, call_id);
    shard *sh = shard_of(s, h);
    int k = sd_rwlock_tryrdlock(&sh->lock);
    if (k < 0) return -1;
    sd_dialog *d = table_get(sh, h, call_id, local_tag, remote_tag);
    if (d) *ctx = sd_dialog_listener_peek_(d, fn);
    else atomic_fetch_add_explicit(&sh->misses, 1, memory_order_relaxed);
    sd_rwlock_rdunlock(&sh->lock, (unsigned)k);
    return d != NULL;
}

sd_dialog *sd_store_find_tags(sd_store *s, sd_str call_id, sd_str tag_a, sd_str tag_b)
{
    return get_in(s, hash_of(s, call_id), call_id, tag_a, tag_b, 1);
}

static sd_str span_str(const char *buf, sd_span sp)
{
    return (sd_str){buf + sp.off, sp.len};
}

/* A live dialog of call `cid`: a UAC one whose local tag is `tag` (which=0),
 * or a UAS one whose remote tag is (which=1, the dialog a request without To
 * tag created); want_no_remote: only one still without a remote tag. */
static sd_dialog *scan_call(const shard *sh, uint64_t h, sd_str cid, sd_str tag, int which, int want_no_remote)
{
    size_t mask = sh->cap - 1;
    for (size_t i = h & mask; sh->tab[i].p != NULL; i = (i + 1) & mask) {
        const slot *e = &sh->tab[i];
        if (e->h != h || is_tomb(e->p)) continue;
        sd_str c, l, r;
        sd_dialog_keys_(e->p, &c, &l, &r);
        if (!str_eq(c, cid) || !str_eq(which ? r : l, tag)) continue;
        if (want_no_remote && r.len) continue;
        if (which && sd_dialog_role(e->p) != SD_DLG_UAS) continue;
        return e->p;
    }
    return NULL;
}

sd_dialog *sd_store_find(sd_store *s, const char *buf, const sd_msg *m)
{
    if (m->call_id.len == 0) return NULL;
    sd_str cid = span_str(buf, m->call_id);
    sd_str ftag = m->has_from_tag ? span_str(buf, m->from_tag) : (sd_str){"", 0};
    sd_str ttag = m->has_to_tag ? span_str(buf, m->to_tag) : (sd_str){"", 0};
    if (!m->has_from_tag) return NULL;
    uint64_t h = hash_of(s, cid);
    shard *sh = shard_of(s, h);
    unsigned k = sd_rwlock_rdlock(&sh->lock);
    sd_dialog *d;
    if (m->is_request) {
        d = m->has_to_tag ? table_get(sh, h, cid, ttag, ftag) : scan_call(sh, h, cid, ftag, 1, 0);
    } else {
        d = m->has_to_tag ? table_get(sh, h, cid, ftag, ttag) : NULL;
        if (d == NULL) d = scan_call(sh, h, cid, ftag, 0, 1);             /* waiting for its first tag */
    }
    if (d) sd_dialog_ref(d);
    else atomic_fetch_add_explicit(&sh->misses, 1, memory_order_relaxed);
    sd_rwlock_rdunlock(&sh->lock, k);
    return d;
}

size_t sd_store_find_call(sd_store *s, sd_str call_id, sd_dialog **out, size_t max)
{
    uint64_t h = hash_of(s, call_id);
    shard *sh = shard_of(s, h);
    size_t n = 0, mask;
    unsigned k = sd_rwlock_rdlock(&sh->lock);
    mask = sh->cap - 1;
    for (size_t i = h & mask; sh->tab[i].p != NULL; i = (i + 1) & mask) {
        const slot *e = &sh->tab[i];
        if (e->h != h || is_tomb(e->p)) continue;
        sd_str c, l, r;
        sd_dialog_keys_(e->p, &c, &l, &r);
        if (!str_eq(c, call_id)) continue;
        if (n < max) out[n] = sd_dialog_ref(e->p);
        n++;
    }
    if (n == 0) atomic_fetch_add_explicit(&sh->misses, 1, memory_order_relaxed);
    sd_rwlock_rdunlock(&sh->lock, k);
    return n;
}

int sd_store_ended(sd_store *s, sd_str call_id, sd_str tag_a, sd_str tag_b, sd_store_ended_info *info)
{
    uint64_t h = hash_of(s, call_id);
    shard *sh = shard_of(s, h);
    int64_t t = now(s);
    int found = 0;
    unsigned k = sd_rwlock_rdlock(&sh->lock);
    size_t mask = sh->cap - 1;
    for (size_t i = h & mask; sh->tab[i].p != NULL && !found; i = (i + 1) & mask) {
        const slot *e = &sh->tab[i];
        if (e->h != h || !is_tomb(e->p)) continue;
        const tomb *x = as_tomb(e->p);
        if (x->expires > t && (tomb_has_keys(x, call_id, tag_a, tag_b) || tomb_has_keys(x, call_id, tag_b, tag_a))) {
            found = 1;
            if (info) *info = x->info;
        }
    }
    sd_rwlock_rdunlock(&sh->lock, k);
    return found;
}

int sd_store_contains(sd_store *s, sd_dialog *d)
{
    sd_dialog_lock_(d);
    int in = atomic_load_explicit(&sd_dialog_link_(d)->store, memory_order_relaxed) == s;
    sd_dialog_unlock_(d);
    return in;
}

size_t sd_store_len(sd_store *s)
{
    return atomic_load_explicit(&s->live, memory_order_relaxed);
}

sd_err sd_store_list(sd_store *s, sd_dialog ***out, size_t *n)
{
    unsigned ns = s->o.shards;
    unsigned *slots = malloc(sizeof *slots * ns);
    if (slots == NULL) return SD_ENOMEM;
    for (unsigned i = 0; i < ns; i++) slots[i] = sd_rwlock_rdlock(&s->sh[i].lock);
    size_t total = 0;
    for (unsigned i = 0; i < ns; i++) total += s->sh[i].live;
    sd_dialog **v = malloc(sizeof *v * (total ? total : 1));
    size_t k = 0;
    if (v != NULL)
        for (unsigned i = 0; i < ns; i++)
            for (size_t j = 0; j < s->sh[i].cap; j++) {
                void *p = s->sh[i].tab[j].p;
                if (p && !is_tomb(p)) v[k++] = sd_dialog_ref(p);
            }
    for (unsigned i = ns; i-- > 0;) sd_rwlock_rdunlock(&s->sh[i].lock, slots[i]);
    free(slots);
    if (v == NULL) return SD_ENOMEM;
    *out = v;
    *n = k;
    return SD_OK;
}

void sd_store_stats_get(sd_store *s, sd_store_stats *st, sd_store_shard_stats *per)
{
    memset(st, 0, sizeof *st);
    st->shards = s->o.shards;
    st->bytes = sizeof *s + sizeof(shard) * s->o.shards;
    st->rejected_overload = atomic_load_explicit(&s->rej_overload, memory_order_relaxed);
    int64_t t_now = now(s);
    for (unsigned i = 0; i < s->o.shards; i++) {
        shard *sh = &s->sh[i];
        unsigned k = sd_rwlock_rdlock(&sh->lock);
        st->live += sh->live;
        st->capacity += sh->cap;
        st->bytes += sh->cap * sizeof(slot);
        size_t unexpired = 0;
        for (const tomb *t = sh->thead; t; t = t->next) {
            st->bytes += sizeof *t + t->clen + t->llen + t->rlen;
            unexpired += t->expires > t_now; /* expired ones wait for the shard's next write */
        }
        st->tombstones += unexpired;
        st->misses += atomic_load_explicit(&sh->misses, memory_order_relaxed);
        st->added += sh->added;
        st->removed += sh->removed;
        st->rekeyed += sh->rekeyed;
        st->rejected_per_call += sh->rej_per_call;
        st->rejected_exists += sh->rej_exists;
        size_t longest = 0, mask = sh->cap - 1;
        for (size_t j = 0; j < sh->cap; j++) {
            void *p = sh->tab[j].p;
            if (p == NULL) continue;
            size_t probe = ((j - (sh->tab[j].h & mask)) & mask) + 1;
            if (probe > longest) longest = probe;
            if (!is_tomb(p)) {
                sd_dialog_lock_(p);
                st->per_state[sd_dialog_state_locked_(p)]++;
                sd_dialog_unlock_(p);
            }
        }
        if (per) {
            per[i].capacity = sh->cap;
            per[i].dialogs = sh->live;
            per[i].tombstones = sh->tombs;
            per[i].longest_probe = longest;
        }
        sd_rwlock_rdunlock(&sh->lock, k);
        st->lookups += sd_rwlock_entries(&sh->lock);
    }
}

sd_err sd_store_check(sd_store *s, sd_error *err)
{
    sd_err rc = SD_OK;
    size_t live = 0, tombs = 0;
    for (unsigned i = 0; i < s->o.shards; i++) sd_rwlock_wrlock(&s->sh[i].lock);
    for (unsigned i = 0; i < s->o.shards && rc == SD_OK; i++) {
        shard *sh = &s->sh[i];
        size_t mask = sh->cap - 1, n_live = 0, n_tomb = 0;
        for (size_t j = 0; j < sh->cap && rc == SD_OK; j++) {
            void *p = sh->tab[j].p;
            if (p == NULL) continue;
            uint64_t h = sh->tab[j].h;
            if (shard_of(s, h) != sh) {
                rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "shard %u slot %zu: entry of another shard", i, j);
                break;
            }
            for (size_t k = h & mask; k != j; k = (k + 1) & mask)
                if (sh->tab[k].p == NULL) {
                    rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "shard %u slot %zu: unreachable from its home", i, j);
                    break;
                }
            if (rc != SD_OK) break;
            if (is_tomb(p)) {
                n_tomb++;
                continue;
            }
            n_live++;
            sd_dialog *d = p;
            sd_str c, l, r;
            sd_dialog_keys_(d, &c, &l, &r);
            if (atomic_load_explicit(&sd_dialog_link_(d)->store, memory_order_relaxed) != s || hash_of(s, c) != h)
                rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "shard %u slot %zu: link or hash wrong", i, j);
            else if (table_get(sh, h, c, l, r) != d)
                rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "shard %u slot %zu: its ID finds another dialog", i, j);
            else {
                sd_dialog_lock_(d);
                int ok = sd_dialog_live_locked_(d);
                sd_dialog_unlock_(d);
                if (!ok) rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "shard %u slot %zu: an ended dialog", i, j);
            }
        }
        if (rc == SD_OK && (n_live != sh->live || n_tomb != sh->tombs))
            rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "shard %u: %zu live and %zu tombstones, counted %zu and %zu",
                              i, n_live, n_tomb, sh->live, sh->tombs);
        size_t fifo = 0;
        for (const tomb *t = sh->thead; t; t = t->next) fifo++;
        if (rc == SD_OK && fifo != sh->tombs)
            rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "shard %u: %zu tombstones queued, %zu counted", i, fifo,
                              sh->tombs);
        live += n_live;
        tombs += n_tomb;
    }
    if (rc == SD_OK && live != atomic_load(&s->live))
        rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "%zu live dialogs, counted %zu", live, atomic_load(&s->live));
    if (rc == SD_OK && tombs != atomic_load(&s->tombs))
        rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "%zu tombstones, counted %zu", tombs, atomic_load(&s->tombs));
    for (unsigned i = s->o.shards; i-- > 0;) sd_rwlock_wrunlock(&s->sh[i].lock);
    return rc;
}
