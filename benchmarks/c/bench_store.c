/*
 * bench_store - the sharded dialog store (csrc/store/) at 10K to 1M
 * confirmed dialogs: look-up by ID against a plain table (the floor),
 * creation plus insertion, memory per stored dialog, two reader threads,
 * and the hash functions on the store's keys.
 *
 *   bench_store [--sizes 10000,100000,1000000] [--what lookup,create,memory,threads,hash]
 *               [--batches K] [--batch-ms MS] [--thread-ms MS] [--threads-at LIST]
 *               [--lookups store,floor,mutex,linear,layout,layout_ref] [--linear-max N]
 *               [--initial] [--seed S] [-v]
 *
 * stdout: one line per figure, KEY <TAB> VALUE (N = the number of dialogs):
 *   lookup.store.N       median ns: sd_store_get(call_id, local, remote) +
 *                        sd_dialog_unref, keys in random order
 *   lookup.floor.N       median ns: the same keys in the floor table (below)
 *   lookup.mutex.N       median ns: the floor table behind one pthread mutex
 *                        (one lock for every dialog, as the first Python
 *                        manager had)
 *   lookup.linear.N      median ns: a scan of an array of the dialogs,
 *                        comparing each one's keys (the first manager's find);
 *                        only up to --linear-max dialogs (default 100,000)
 *   lookup.layout.N      diagnostic: the floor's table holding the dialogs,
 *                        keys compared through the dialog's own strings as
 *                        the store does (slot -> dialog -> string arena), no
 *                        lock, no reference
 *   lookup.layout_ref.N  the same + sd_dialog_ref/sd_dialog_unref
 *   lookup.ratio.N       lookup.store / lookup.floor
 *   create.only.N        median ns per dialog: sd_dialog_new_uac(INVITE) +
 *                        sd_dialog_receive(200 OK)
 *   create.add.N         median ns per dialog: the same + sd_store_add
 *   create.insert.N      create.add - create.only (what the store adds)
 *   create.add_mean.N    mean ns per dialog of create.add over all N (the
 *                        batches in which a shard's table doubles included)
 *   memory.rss.N         RSS growth per stored dialog (/proc/self/statm)
 *   memory.heap.N        heap growth per stored dialog (mallinfo2: uordblks
 *                        + hblkhd, after malloc_trim)
 *   memory.footprint.N   mean sd_dialog_footprint of the dialogs
 *   memory.store.N       sd_store_stats_get .bytes / N
 *   threads.V.1.N, threads.V.2.N   look-ups per second (millions) with one
 *                        and with two threads, V = store, floor or mutex
 *   threads.V.ratio.N    median of the per-round ratios 2 threads / 1 thread
 *   hash.F.callid, hash.F.tag   median ns per hash of one Call-ID / one tag,
 *                        F = fnv1a64, siphash13, siphash24
 *   hash.F.ratio.callid, hash.F.ratio.tag   F / siphash13
 *
 * Dialogs. Dialog i is a confirmed UAC dialog made from an INVITE we sent
 * and its 200 OK as it reaches us (two Record-Route entries, a Contact, an
 * SDP body), both parsed with SD_PARSE_CHECK_URIS before any timing. Its
 * Call-ID is "a84b4c" + i as 8 hex digits + "@pc33.atlanta.example.com"
 * (39 octets), its tags 8 to 10 random hex digits (--seed). The store has
 * the default options (64 shards, tables grown from empty; --initial
 * pre-sizes them for N).
 *
 * Method. Every figure is the median of --batches batches (default 31), and
 * the variants compared in a ratio are interleaved: batch b of each, then
 * batch b + 1, so that a change of load of the shared machine falls on all
 * of them. Look-up batches are calibrated to about --batch-ms (default 20)
 * and walk one random permutation of the N keys (not the insertion
 * order), each variant from where its previous batch stopped; the key
 * strings are copies in a separate array (as a parsed message's would be),
 * so no variant compares memory with itself.
 *
 * The floor: a single-threaded open-addressing table (linear probing,
 * power-of-two capacity, load <= 0.75) of {64-bit hash, record pointer}
 * slots; a record is one malloc'd block per dialog with its Call-ID, local
 * tag and remote tag as three strings. Its hash is the store's:
 * sd_siphash13 of the Call-ID alone under a random key (the tags only in
 * the comparison, which is full: all three strings), so floor and store do
 * the same hashing and the same comparison, and the ratio shows what the
 * store's sharding, read lock, reference count and its dialog's layout
 * (slot -> dialog -> string arena) cost.
 *
 * Creation is timed in groups of 256 dialogs: the group's messages are
 * written and parsed untimed, then the group is created alone (the dialogs
 * unref'd untimed) and created and added (the store keeps them), the two in
 * alternating order; a batch is one group. Heap memory for the dialogs
 * is faulted in beforehand (a growing heap's first-touch page faults
 * would otherwise land on create + add only). Memory is measured in a child
 * process per size forked before anything else is allocated: statm and
 * mallinfo2 before the store is made and after N dialogs are in it.
 *
 * Threads: for --thread-ms (default 100) one thread, then two, look up
 * random keys of the same store (two different starting points in the
 * permutation), each thread counting its look-ups and timing itself;
 * rounds as batches, the variants interleaved within each round. Nothing
 * is pinned.
 *
 * Hashes: one Call-ID or one tag per call, cycling over 10,000 keys of the
 * dialogs, the result summed (throughput, not latency).
 */
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sipdialog/dialog.h"
#include "sipdialog/msg.h"
#include "sipdialog/store.h"

#include "base/hash.h"
#include "store/link.h" /* sd_dialog_keys_, for the linear scan */

#include "bench_util.h"

#define PROG "bench_store"
#define HDR_CAP 32
#define GROUP 256 /* dialogs per creation batch */
#define MAX_SIZES 8
#define HASH_KEYS 10000

static volatile uint64_t g_sink;
static sd_dlg_env g_env;
static sd_parse_opts g_popts;

typedef struct config {
    size_t sizes[MAX_SIZES];
    int nsizes;
    int w_lookup, w_create, w_memory, w_threads, w_hash;
    size_t threads_at[MAX_SIZES];
    int nthreads_at;
    int batches;
    double batch_ns, thread_ns;
    int initial;
    unsigned variants; /* look-up variants measured: bit (1 << V_*) */
    size_t linear_max; /* the linear scan only up to this many dialogs */
    uint64_t seed;
    int verbose;
} config;

static void fail(const char *what)
{
    fprintf(stderr, PROG ": %s\n", what);
    exit(1);
}

/* ------------------------------------------------------------ keys */

static uint64_t rng_next(uint64_t *st)
{
    uint64_t x = *st += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The IDs of n dialogs, as offsets into one pool: Call-ID, local tag,
 * remote tag back to back. */
typedef struct key {
    uint32_t off;
    uint8_t clen, llen, rlen;
} key;

typedef struct keyset {
    size_t n;
    key *k;
    char *pool;
} keyset;

#define CID_MAX 40
#define TAG_MAX 10

static size_t random_tag(char *out, uint64_t *rng)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t r = rng_next(rng);
    size_t len = 8 + (size_t)(r % 3);
    r = rng_next(rng);
    for (size_t i = 0; i < len; i++, r >>= 4)
        out[i] = hex[r & 15];
    return len;
}

static void keys_make(keyset *ks, size_t n, uint64_t seed)
{
    uint64_t rng = seed;
    ks->n = n;
    ks->k = xmalloc(n * sizeof *ks->k);
    ks->pool = xmalloc(n * (CID_MAX + 2 * TAG_MAX));
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        char *p = ks->pool + pos;
        int c = snprintf(p, CID_MAX + 1, "a84b4c%08zx@pc33.atlanta.example.com", i);
        size_t l = random_tag(p + c, &rng);
        size_t r = random_tag(p + c + l, &rng);
        ks->k[i] = (key){(uint32_t)pos, (uint8_t)c, (uint8_t)l, (uint8_t)r};
        pos += (size_t)c + l + r;
    }
}

/* The same keys in the order perm[] (copied: other memory than ks). */
static void keys_permuted(keyset *out, const keyset *ks, const size_t *perm)
{
    out->n = ks->n;
    out->k = xmalloc(ks->n * sizeof *out->k);
    out->pool = xmalloc(ks->n * (CID_MAX + 2 * TAG_MAX));
    size_t pos = 0;
    for (size_t i = 0; i < ks->n; i++) {
        const key *s = &ks->k[perm[i]];
        size_t len = (size_t)s->clen + s->llen + s->rlen;
        memcpy(out->pool + pos, ks->pool + s->off, len);
        out->k[i] = (key){(uint32_t)pos, s->clen, s->llen, s->rlen};
        pos += len;
    }
}

static void keys_free(keyset *ks)
{
    free(ks->k);
    free(ks->pool);
}

static sd_str key_cid(const keyset *ks, size_t i)
{
    return (sd_str){ks->pool + ks->k[i].off, ks->k[i].clen};
}

static sd_str key_ltag(const keyset *ks, size_t i)
{
    return (sd_str){ks->pool + ks->k[i].off + ks->k[i].clen, ks->k[i].llen};
}

static sd_str key_rtag(const keyset *ks, size_t i)
{
    return (sd_str){ks->pool + ks->k[i].off + ks->k[i].clen + ks->k[i].llen, ks->k[i].rlen};
}

/* A random permutation of 0..n-1 (Fisher-Yates). */
static size_t *permutation(size_t n, uint64_t seed)
{
    size_t *p = xmalloc(n * sizeof *p);
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++)
        p[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rng_next(&rng) % i);
        size_t t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
    return p;
}

/* ------------------------------------------------------------ messages */

static const char SDP_OFFER[] = "v=0\r\n"
                                "o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n"
                                "s=-\r\n"
                                "c=IN IP4 192.0.2.101\r\n"
                                "t=0 0\r\n"
                                "m=audio 49172 RTP/AVP 0 8 101\r\n"
                                "a=rtpmap:0 PCMU/8000\r\n"
                                "a=rtpmap:8 PCMA/8000\r\n"
                                "a=rtpmap:101 telephone-event/8000\r\n"
                                "a=fmtp:101 0-15\r\n"
                                "a=sendrecv\r\n";

static const char SDP_ANSWER[] = "v=0\r\n"
                                 "o=bob 2808844564 2808844564 IN IP4 client.biloxi.example.com\r\n"
                                 "s=-\r\n"
                                 "c=IN IP4 192.0.2.201\r\n"
                                 "t=0 0\r\n"
                                 "m=audio 3456 RTP/AVP 0 101\r\n"
                                 "a=rtpmap:0 PCMU/8000\r\n"
                                 "a=rtpmap:101 telephone-event/8000\r\n"
                                 "a=fmtp:101 0-15\r\n"
                                 "a=sendrecv\r\n";

#define MSG_CAP 2048

/* The INVITE dialog k sent (one Via, ours) and its 200 OK as it reaches
 * us (two Record-Route entries, the callee's Contact); returns the lengths. */
static void write_pair(const keyset *ks, size_t k, char *inv, size_t *ilen, char *resp, size_t *rlen)
{
    sd_str c = key_cid(ks, k), l = key_ltag(ks, k), r = key_rtag(ks, k);
    int a = snprintf(inv, MSG_CAP,
                     "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776a%08zx\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: \"Alice\" <sip:alice@atlanta.example.com>;tag=%.*s\r\n"
                     "To: \"Bob\" <sip:bob@biloxi.example.com>\r\n"
                     "Call-ID: %.*s\r\n"
                     "CSeq: 314159 INVITE\r\n"
                     "Contact: <sip:alice@pc33.atlanta.example.com;transport=udp>\r\n"
                     "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, UPDATE\r\n"
                     "Supported: replaces, timer\r\n"
                     "User-Agent: ExampleUA/1.0\r\n"
                     "Content-Type: application/sdp\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n%s",
                     k, (int)l.len, l.p, (int)c.len, c.p, sizeof SDP_OFFER - 1, SDP_OFFER);
    int b = snprintf(resp, MSG_CAP,
                     "SIP/2.0 200 OK\r\n"
                     "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776a%08zx;received=192.0.2.101\r\n"
                     "Record-Route: <sip:proxy2.biloxi.example.com;lr>\r\n"
                     "Record-Route: <sip:proxy1.atlanta.example.com;lr>\r\n"
                     "From: \"Alice\" <sip:alice@atlanta.example.com>;tag=%.*s\r\n"
                     "To: \"Bob\" <sip:bob@biloxi.example.com>;tag=%.*s\r\n"
                     "Call-ID: %.*s\r\n"
                     "CSeq: 314159 INVITE\r\n"
                     "Contact: <sip:bob@client.biloxi.example.com;transport=udp>\r\n"
                     "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY\r\n"
                     "Supported: replaces\r\n"
                     "Content-Type: application/sdp\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n%s",
                     k, (int)l.len, l.p, (int)r.len, r.p, (int)c.len, c.p, sizeof SDP_ANSWER - 1, SDP_ANSWER);
    if (a <= 0 || a >= MSG_CAP || b <= 0 || b >= MSG_CAP)
        fail("message buffer too small");
    *ilen = (size_t)a;
    *rlen = (size_t)b;
}

/* Parsed messages of up to GROUP dialogs, reused group after group. */
typedef struct group {
    size_t n;
    char *inv, *resp; /* GROUP * MSG_CAP each */
    sd_msg minv[GROUP], mresp[GROUP];
    sd_header *hdrs; /* 2 * GROUP * HDR_CAP */
} group;

static void group_init(group *g)
{
    g->inv = xmalloc(GROUP * MSG_CAP);
    g->resp = xmalloc(GROUP * MSG_CAP);
    g->hdrs = xmalloc(2 * GROUP * HDR_CAP * sizeof *g->hdrs);
    g->n = 0;
}

static void group_free(group *g)
{
    free(g->inv);
    free(g->resp);
    free(g->hdrs);
}

static void parse_or_die(const char *buf, size_t len, sd_msg *m, sd_header *h)
{
    sd_error err;
    if (sd_msg_parse(buf, len, &g_popts, m, h, HDR_CAP, &err) != SD_OK) {
        fprintf(stderr, PROG ": sd_msg_parse rejects a message at %zu: %s\n%.*s", err.offset, err.reason, (int)len,
                buf);
        exit(1);
    }
}

/* Write and parse the messages of dialogs first..first+n-1. */
static void group_fill(group *g, const keyset *ks, size_t first, size_t n)
{
    g->n = n;
    for (size_t i = 0; i < n; i++) {
        size_t il, rl;
        char *ib = g->inv + i * MSG_CAP, *rb = g->resp + i * MSG_CAP;
        write_pair(ks, first + i, ib, &il, rb, &rl);
        parse_or_die(ib, il, &g->minv[i], g->hdrs + (2 * i) * HDR_CAP);
        parse_or_die(rb, rl, &g->mresp[i], g->hdrs + (2 * i + 1) * HDR_CAP);
    }
}

/* The confirmed dialog of message pair i of g, or NULL. */
static sd_dialog *confirmed(const group *g, size_t i)
{
    sd_dialog *d = NULL;
    sd_error err;
    if (sd_dialog_new_uac(&g_env, g->inv + i * MSG_CAP, &g->minv[i], &d, &err) != SD_OK)
        return NULL;
    if (sd_dialog_receive(d, g->resp + i * MSG_CAP, &g->mresp[i], 0, NULL, &err) != SD_OK) {
        sd_dialog_unref(d);
        return NULL;
    }
    return d;
}

static sd_store *store_make(const config *cfg, size_t n)
{
    sd_store_opts o;
    sd_store *s = NULL;
    sd_error err;
    sd_store_opts_default(&o);
    if (o.max_dialogs < n)
        o.max_dialogs = n;
    if (cfg->initial)
        o.initial = n;
    if (sd_store_new(&o, &s, &err) != SD_OK) {
        fprintf(stderr, PROG ": sd_store_new: %s\n", err.reason);
        exit(1);
    }
    return s;
}

static void store_add_or_die(sd_store *s, sd_dialog *d)
{
    sd_error err;
    if (d == NULL || sd_dialog_state(d) != SD_DLG_CONFIRMED)
        fail("a dialog is not confirmed");
    if (sd_store_add(s, d, &err) != SD_OK) {
        fprintf(stderr, PROG ": sd_store_add: %s\n", err.reason);
        exit(1);
    }
}

/* ------------------------------------------------------------ the floor */

typedef struct frec {
    uint8_t clen, llen, rlen;
    char s[]; /* Call-ID, local tag, remote tag */
} frec;

typedef struct fslot {
    uint64_t h;
    const void *r; /* a frec (the floor) or an sd_dialog (the layout tables); NULL: empty */
} fslot;

typedef struct ftable {
    fslot *tab;
    size_t mask;
    sd_hash_key key;
    frec **recs; /* n, for freeing */
    size_t n;
    pthread_mutex_t mu; /* the single-mutex map only */
} ftable;

static int str_is(const char *p, size_t len, sd_str s)
{
    return len == s.len && memcmp(p, s.p, len) == 0;
}

static int frec_is(const void *p, sd_str c, sd_str l, sd_str r)
{
    const frec *x = p;
    return str_is(x->s + x->clen, x->llen, l) && str_is(x->s + x->clen + x->llen, x->rlen, r) &&
           str_is(x->s, x->clen, c);
}

/* The comparison of the store: the dialog's own strings (slot -> dialog ->
 * its string arena). */
static int dialog_is(const void *p, sd_str c, sd_str l, sd_str r)
{
    sd_str dc, dl, dr;
    sd_dialog_keys_(p, &dc, &dl, &dr);
    return str_is(dl.p, dl.len, l) && str_is(dr.p, dr.len, r) && str_is(dc.p, dc.len, c);
}

static inline const void *table_find(const ftable *t, uint64_t h, sd_str c, sd_str l, sd_str r,
                                     int (*is)(const void *, sd_str, sd_str, sd_str))
{
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        const fslot *e = &t->tab[i];
        if (e->r == NULL)
            return NULL;
        if (e->h == h && is(e->r, c, l, r))
            return e->r;
    }
}

static const void *floor_get(const ftable *t, uint64_t h, sd_str c, sd_str l, sd_str r)
{
    return table_find(t, h, c, l, r, frec_is);
}

static const void *layout_get(const ftable *t, uint64_t h, sd_str c, sd_str l, sd_str r)
{
    return table_find(t, h, c, l, r, dialog_is);
}

/* An empty table for n entries (load <= 0.75). */
static void table_init(ftable *t, size_t n, const sd_hash_key *hk)
{
    size_t cap = 16;
    while (n * 4 > cap * 3)
        cap *= 2;
    t->tab = calloc(cap, sizeof *t->tab);
    if (t->tab == NULL)
        fail("out of memory");
    t->mask = cap - 1;
    t->key = *hk;
    t->n = 0;
    t->recs = NULL;
    pthread_mutex_init(&t->mu, NULL);
}

static void table_put(ftable *t, sd_str cid, const void *p)
{
    uint64_t h = sd_siphash13(&t->key, cid.p, cid.len);
    size_t i = h & t->mask;
    while (t->tab[i].r != NULL)
        i = (i + 1) & t->mask;
    t->tab[i] = (fslot){h, p};
}

static void floor_build(ftable *t, const keyset *ks, const sd_hash_key *hk)
{
    table_init(t, ks->n, hk);
    t->n = ks->n;
    t->recs = xmalloc(ks->n * sizeof *t->recs);
    for (size_t k = 0; k < ks->n; k++) {
        sd_str c = key_cid(ks, k), l = key_ltag(ks, k), r = key_rtag(ks, k);
        frec *x = xmalloc(sizeof *x + c.len + l.len + r.len);
        x->clen = (uint8_t)c.len;
        x->llen = (uint8_t)l.len;
        x->rlen = (uint8_t)r.len;
        memcpy(x->s, c.p, c.len);
        memcpy(x->s + c.len, l.p, l.len);
        memcpy(x->s + c.len + l.len, r.p, r.len);
        t->recs[k] = x;
        table_put(t, c, x);
    }
}

/* The same table over the stored dialogs (borrowed). */
static void layout_build(ftable *t, const keyset *ks, sd_dialog *const *dl, const sd_hash_key *hk)
{
    table_init(t, ks->n, hk);
    for (size_t k = 0; k < ks->n; k++)
        table_put(t, key_cid(ks, k), dl[k]);
}

static void floor_free(ftable *t)
{
    for (size_t k = 0; k < t->n; k++)
        free(t->recs[k]);
    free(t->recs);
    free(t->tab);
    pthread_mutex_destroy(&t->mu);
}

/* ------------------------------------------------------------ look-ups */

typedef struct world {
    size_t n;
    keyset ks;    /* insertion order */
    keyset q;     /* the same keys in random order: the look-ups */
    sd_store *st;
    sd_dialog **dl; /* insertion order (borrowed from the store) */
    ftable ft;    /* the floor */
    ftable lt;    /* the floor's table over the dialogs */
} world;

/* store, floor, single-mutex map, linear scan; then two diagnostics: the
 * floor's table holding the dialogs (compared through their own strings,
 * as the store does), without and with sd_dialog_ref/unref */
enum { V_STORE, V_FLOOR, V_MUTEX, V_LINEAR, V_LAYOUT, V_LAYOUT_REF, V__N };
static const char *const VNAME[V__N] = {"store", "floor", "mutex", "linear", "layout", "layout_ref"};

typedef struct lk {
    const world *w;
    int v;
    size_t pos; /* next key of w->q */
    uint64_t misses;
} lk;

static sd_dialog *linear_find(const world *w, sd_str c, sd_str l, sd_str r)
{
    for (size_t i = 0; i < w->n; i++)
        if (dialog_is(w->dl[i], c, l, r))
            return sd_dialog_ref(w->dl[i]);
    return NULL;
}

/* `iters` look-ups of variant c->v; returns a sum of what they found. */
static uint64_t lookups(lk *c, size_t iters)
{
    const world *w = c->w;
    const keyset *q = &w->q;
    uint64_t sink = 0;
    size_t pos = c->pos;
    for (size_t i = 0; i < iters; i++) {
        sd_str cid = key_cid(q, pos), l = key_ltag(q, pos), r = key_rtag(q, pos);
        const void *found;
        if (c->v == V_STORE) {
            sd_dialog *d = sd_store_get(w->st, cid, l, r);
            found = d;
            sd_dialog_unref(d);
        } else if (c->v == V_LINEAR) {
            sd_dialog *d = linear_find(w, cid, l, r);
            found = d;
            sd_dialog_unref(d);
        } else if (c->v == V_LAYOUT || c->v == V_LAYOUT_REF) {
            uint64_t h = sd_siphash13(&w->lt.key, cid.p, cid.len);
            sd_dialog *d = (sd_dialog *)layout_get(&w->lt, h, cid, l, r);
            found = d;
            if (d && c->v == V_LAYOUT_REF) {
                sd_dialog_ref(d);
                sd_dialog_unref(d);
            }
        } else {
            uint64_t h = sd_siphash13(&w->ft.key, cid.p, cid.len);
            if (c->v == V_MUTEX) {
                pthread_mutex_lock((pthread_mutex_t *)&w->ft.mu);
                found = floor_get(&w->ft, h, cid, l, r);
                pthread_mutex_unlock((pthread_mutex_t *)&w->ft.mu);
            } else {
                found = floor_get(&w->ft, h, cid, l, r);
            }
        }
        if (found == NULL)
            c->misses++;
        sink += (uintptr_t)found;
        if (++pos == q->n)
            pos = 0;
    }
    c->pos = pos;
    return sink;
}

/* ------------------------------------------------------------ batches */

/* An interleaved measurement: `batch` runs `iters` operations of variant
 * `i` and returns their timed ns. */
typedef double (*batch_fn)(void *ctx, int i, size_t iters);

typedef struct variant_of {
    batch_fn batch;
    void *ctx;
    int i;
} variant_of;

static double variant_batch(void *ctx, size_t iters)
{
    variant_of *x = ctx;
    return x->batch(x->ctx, x->i, iters);
}

/*
 * Median ns per operation of each of n variants into out[]. Each is
 * calibrated on its own (bench_util.h: calibrate) and warmed up; then the
 * timed batches alternate between the variants, in an order that rotates
 * from round to round.
 */
static void measure_interleaved(const config *cfg, batch_fn batch, void *ctx, int n, size_t start, double *out,
                                const char *const *names)
{
    size_t iters[V__N * 2];
    double *per = xmalloc((size_t)n * (size_t)cfg->batches * sizeof *per);
    for (int i = 0; i < n; i++) {
        variant_of x = {batch, ctx, i};
        iters[i] = calibrate(variant_batch, &x, start, cfg->batch_ns);
    }
    /* round b starts with variant b mod n, so that each variant follows
     * each other one as often (a batch inherits its predecessor's caches) */
    for (int b = 0; b < cfg->batches; b++)
        for (int j = 0; j < n; j++) {
            int i = (b + j) % n;
            per[i * cfg->batches + b] = batch(ctx, i, iters[i]) / (double)iters[i];
        }
    for (int i = 0; i < n; i++) {
        double *v = per + i * cfg->batches;
        out[i] = median(v, cfg->batches);
        if (cfg->verbose)
            fprintf(stderr, "  %s: %zu ops/batch, min %.1f median %.1f max %.1f ns\n", names[i], iters[i], v[0],
                    out[i], v[cfg->batches - 1]);
    }
    free(per);
}

static void print_fig(const char *what, const char *variant, size_t n, double v)
{
    printf("%s.%s.%zu\t%.2f\n", what, variant, n, v);
    fflush(stdout);
}

typedef struct lookup_ctx {
    lk c[V__N];
    int vs[V__N]; /* variant of measurement slot i */
} lookup_ctx;

static double lookup_batch(void *ctx, int i, size_t iters)
{
    lookup_ctx *x = ctx;
    double t0 = now_ns();
    g_sink += lookups(&x->c[x->vs[i]], iters);
    return now_ns() - t0;
}

/* The variants of `mask` that cfg selects, interleaved; medians into med[v]. */
static void lookup_set(const config *cfg, const world *w, unsigned mask, double *med)
{
    lookup_ctx x;
    const char *names[V__N];
    double m[V__N];
    int n = 0;
    for (int v = 0; v < V__N; v++) {
        x.c[v] = (lk){w, v, 0, 0};
        if (!(mask & cfg->variants & (1u << v)) || (v == V_LINEAR && w->n > cfg->linear_max))
            continue;
        x.vs[n] = v;
        names[n++] = VNAME[v];
    }
    if (n == 0)
        return;
    measure_interleaved(cfg, lookup_batch, &x, n, 1, m, names);
    for (int i = 0; i < n; i++) {
        if (x.c[x.vs[i]].misses)
            fail("a look-up missed a stored dialog");
        med[x.vs[i]] = m[i];
    }
}

static void measure_lookups(const config *cfg, const world *w)
{
    double med[V__N];
    for (int v = 0; v < V__N; v++)
        med[v] = -1;
    /* the linear scan apart: it sweeps every dialog through the caches,
     * which would warm the store's memory for the batch after it */
    lookup_set(cfg, w, ~(1u << V_LINEAR), med);
    lookup_set(cfg, w, 1u << V_LINEAR, med);
    for (int v = 0; v < V__N; v++)
        if (med[v] >= 0)
            print_fig("lookup", VNAME[v], w->n, med[v]);
    if (med[V_STORE] >= 0 && med[V_FLOOR] >= 0)
        print_fig("lookup", "ratio", w->n, med[V_STORE] / med[V_FLOOR]);
}

/* ------------------------------------------------------------ building */

typedef struct create_ctx {
    const config *cfg;
    world *w;
    group g;
    double *only, *add; /* ns per dialog of each group */
    size_t ngroups;
    double add_total;
} create_ctx;

/* One group: created alone (then freed) and created + added, in
 * alternating order; or only added, untimed, when creation is not measured. */
static void build_group(create_ctx *x, size_t first, size_t n, size_t gi)
{
    world *w = x->w;
    sd_dialog *tmp[GROUP];
    group_fill(&x->g, &w->ks, first, n);
    if (!x->cfg->w_create) {
        for (size_t i = 0; i < n; i++) {
            sd_dialog *d = confirmed(&x->g, i);
            store_add_or_die(w->st, d);
            w->dl[first + i] = d;
            sd_dialog_unref(d);
        }
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
        int add = (pass + (int)gi) % 2;
        if (add) {
            double t0 = now_ns();
            for (size_t i = 0; i < n; i++) {
                sd_dialog *d = confirmed(&x->g, i);
                store_add_or_die(w->st, d);
                w->dl[first + i] = d;
            }
            double t = now_ns() - t0;
            x->add[gi] = t / (double)n;
            x->add_total += t;
            for (size_t i = 0; i < n; i++)
                sd_dialog_unref(w->dl[first + i]); /* the store keeps its own */
        } else {
            double t0 = now_ns();
            for (size_t i = 0; i < n; i++)
                tmp[i] = confirmed(&x->g, i);
            x->only[gi] = (now_ns() - t0) / (double)n;
            for (size_t i = 0; i < n; i++) {
                if (tmp[i] == NULL)
                    fail("a dialog cannot be made");
                sd_dialog_unref(tmp[i]);
            }
        }
    }
}

/* Fault in heap memory for about n dialogs and keep it in the heap, so
 * that creating dialogs which stay (create + add) and dialogs which are
 * freed again (create alone) both get memory the kernel has already
 * mapped: otherwise the first-touch page faults of a growing heap would
 * count as the store's insertion cost. */
static void heap_prefault(size_t n)
{
    enum { CHUNK = 16 << 20 }; /* below the mmap threshold set here: from the heap */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    size_t nchunks = (n * 1024 + (64u << 20)) / CHUNK + 1;
    char **chunks = xmalloc(nchunks * sizeof *chunks);
    for (size_t i = 0; i < nchunks; i++) {
        chunks[i] = xmalloc(CHUNK);
        memset(chunks[i], 1, CHUNK);
    }
    for (size_t i = nchunks; i-- > 0;)
        free(chunks[i]);
    free(chunks);
}

static void world_build(const config *cfg, world *w, size_t n)
{
    memset(w, 0, sizeof *w);
    heap_prefault(n);
    w->n = n;
    keys_make(&w->ks, n, cfg->seed ^ n);
    w->st = store_make(cfg, n);
    w->dl = xmalloc(n * sizeof *w->dl);

    create_ctx x = {cfg, w, {0}, NULL, NULL, 0, 0};
    group_init(&x.g);
    x.ngroups = (n + GROUP - 1) / GROUP;
    x.only = xmalloc(x.ngroups * sizeof *x.only);
    x.add = xmalloc(x.ngroups * sizeof *x.add);
    for (size_t gi = 0; gi < x.ngroups; gi++) {
        size_t first = gi * GROUP;
        build_group(&x, first, n - first < GROUP ? n - first : GROUP, gi);
    }
    group_free(&x.g);
    if (sd_store_len(w->st) != n)
        fail("the store does not hold every dialog");
    sd_error err;
    if (sd_store_check(w->st, &err) != SD_OK) {
        fprintf(stderr, PROG ": sd_store_check: %s\n", err.reason);
        exit(1);
    }
    if (cfg->w_create) {
        int ng = (int)x.ngroups;
        double only = median(x.only, ng), add = median(x.add, ng);
        print_fig("create", "only", n, only);
        print_fig("create", "add", n, add);
        print_fig("create", "insert", n, add - only);
        print_fig("create", "add_mean", n, x.add_total / (double)n);
        if (cfg->verbose)
            fprintf(stderr, "  create: %d groups of %d; add min %.1f max %.1f ns\n", ng, GROUP, x.add[0],
                    x.add[ng - 1]);
    }
    free(x.only);
    free(x.add);

    size_t *perm = permutation(n, cfg->seed * 31 + n);
    keys_permuted(&w->q, &w->ks, perm);
    free(perm);
    sd_hash_key hk;
    if (sd_os_random(NULL, &hk, sizeof hk) != SD_OK)
        fail("no random bytes");
    floor_build(&w->ft, &w->ks, &hk);
    layout_build(&w->lt, &w->ks, w->dl, &hk);
}

static void world_free(world *w)
{
    sd_store_close(w->st);
    sd_store_unref(w->st);
    floor_free(&w->ft);
    floor_free(&w->lt);
    free(w->dl);
    keys_free(&w->ks);
    keys_free(&w->q);
}

/* ------------------------------------------------------------ memory */

static size_t rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL || fscanf(f, "%lu %lu", &size, &resident) != 2)
        fail("cannot read /proc/self/statm");
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static size_t heap_bytes(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

/* In this (fresh) process: what n stored confirmed dialogs cost. The keys
 * are made one group at a time, so only the dialogs and the store grow. */
static void memory_child(const config *cfg, size_t n)
{
    group g;
    keyset ks;
    group_init(&g);
    /* one group's keys at a time, in a keyset reused for every group */
    ks.n = GROUP;
    ks.k = xmalloc(GROUP * sizeof *ks.k);
    ks.pool = xmalloc(GROUP * (CID_MAX + 2 * TAG_MAX));
    uint64_t rng = cfg->seed ^ n;
    double footprint = 0;

    malloc_trim(0);
    size_t rss0 = rss_bytes(), heap0 = heap_bytes();
    sd_store *s = store_make(cfg, n);
    for (size_t first = 0; first < n; first += GROUP) {
        size_t m = n - first < GROUP ? n - first : GROUP, pos = 0;
        for (size_t i = 0; i < m; i++) {
            char *p = ks.pool + pos;
            int c = snprintf(p, CID_MAX + 1, "a84b4c%08zx@pc33.atlanta.example.com", first + i);
            size_t l = random_tag(p + c, &rng);
            size_t r = random_tag(p + c + l, &rng);
            ks.k[i] = (key){(uint32_t)pos, (uint8_t)c, (uint8_t)l, (uint8_t)r};
            pos += (size_t)c + l + r;
        }
        group_fill(&g, &ks, 0, m);
        for (size_t i = 0; i < m; i++) {
            sd_dialog *d = confirmed(&g, i);
            store_add_or_die(s, d);
            footprint += (double)sd_dialog_footprint(d);
            sd_dialog_unref(d);
        }
    }
    size_t rss1 = rss_bytes(), heap1 = heap_bytes();
    sd_store_stats st;
    sd_store_stats_get(s, &st, NULL);
    if (st.live != n)
        fail("the store does not hold every dialog");
    print_fig("memory", "rss", n, (double)(rss1 - rss0) / (double)n);
    print_fig("memory", "heap", n, (double)(heap1 - heap0) / (double)n);
    print_fig("memory", "footprint", n, footprint / (double)n);
    print_fig("memory", "store", n, (double)st.bytes / (double)n);
    if (cfg->verbose)
        fprintf(stderr, "  memory %zu: RSS %zu -> %zu, heap %zu -> %zu, %zu slots in %u shards\n", n, rss0, rss1,
                heap0, heap1, st.capacity, st.shards);
    sd_store_unref(s);
    group_free(&g);
    keys_free(&ks);
}

static void memory_forked(const config *cfg, size_t n)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        fail("fork failed");
    if (pid == 0) {
        memory_child(cfg, n);
        fflush(stdout);
        _exit(0);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail("the memory child failed");
}

/* ------------------------------------------------------------ threads */

typedef struct worker {
    _Alignas(64) lk c; /* a cache line of its own: the two workers write theirs */
    pthread_barrier_t *start;
    const _Atomic int *stop;
    uint64_t count;
    double ns;
    pthread_t th;
} worker;

static void *worker_main(void *arg)
{
    worker *k = arg;
    uint64_t sink = 0;
    pthread_barrier_wait(k->start);
    double t0 = now_ns();
    while (!atomic_load_explicit(k->stop, memory_order_relaxed)) {
        sink += lookups(&k->c, 64);
        k->count += 64;
    }
    k->ns = now_ns() - t0;
    g_sink += sink;
    return NULL;
}

/* Look-ups per second of variant v with nt threads for cfg->thread_ns. */
static double run_threads(const config *cfg, const world *w, int v, int nt, size_t *pos)
{
    worker k[2];
    pthread_barrier_t start;
    _Atomic int stop = 0;
    pthread_barrier_init(&start, NULL, (unsigned)nt + 1);
    for (int i = 0; i < nt; i++) {
        k[i] = (worker){{w, v, (*pos + (size_t)i * (w->n / 2)) % w->n, 0}, &start, &stop, 0, 0, 0};
        if (pthread_create(&k[i].th, NULL, worker_main, &k[i]) != 0)
            fail("pthread_create failed");
    }
    pthread_barrier_wait(&start);
    struct timespec ts = {(time_t)(cfg->thread_ns / 1e9), (long)((uint64_t)cfg->thread_ns % 1000000000u)};
    nanosleep(&ts, NULL);
    atomic_store(&stop, 1);
    double rate = 0;
    for (int i = 0; i < nt; i++) {
        pthread_join(k[i].th, NULL);
        if (k[i].c.misses)
            fail("a look-up missed a stored dialog");
        rate += (double)k[i].count / k[i].ns * 1e9;
    }
    *pos = k[0].c.pos;
    pthread_barrier_destroy(&start);
    return rate;
}

static void measure_threads(const config *cfg, const world *w)
{
    static const int vs[] = {V_STORE, V_FLOOR, V_MUTEX};
    enum { NV = sizeof vs / sizeof vs[0] };
    int rounds = cfg->batches;
    double *r1 = xmalloc(NV * (size_t)rounds * sizeof *r1), *r2 = xmalloc(NV * (size_t)rounds * sizeof *r2);
    double *ratio = xmalloc(NV * (size_t)rounds * sizeof *ratio);
    size_t pos[NV] = {0};
    for (int j = 0; j < NV; j++) /* warm-up */
        (void)run_threads(cfg, w, vs[j], 2, &pos[j]);
    for (int b = 0; b < rounds; b++)
        for (int j = 0; j < NV; j++) {
            /* 1 then 2 threads, or 2 then 1: alternating */
            double a, c;
            if (b % 2) {
                c = run_threads(cfg, w, vs[j], 2, &pos[j]);
                a = run_threads(cfg, w, vs[j], 1, &pos[j]);
            } else {
                a = run_threads(cfg, w, vs[j], 1, &pos[j]);
                c = run_threads(cfg, w, vs[j], 2, &pos[j]);
            }
            r1[j * rounds + b] = a / 1e6;
            r2[j * rounds + b] = c / 1e6;
            ratio[j * rounds + b] = c / a;
        }
    for (int j = 0; j < NV; j++) {
        char name[32];
        double m1 = median(r1 + j * rounds, rounds), m2 = median(r2 + j * rounds, rounds);
        double mr = median(ratio + j * rounds, rounds);
        snprintf(name, sizeof name, "%s.1", VNAME[vs[j]]);
        print_fig("threads", name, w->n, m1);
        snprintf(name, sizeof name, "%s.2", VNAME[vs[j]]);
        print_fig("threads", name, w->n, m2);
        snprintf(name, sizeof name, "%s.ratio", VNAME[vs[j]]);
        print_fig("threads", name, w->n, mr);
        if (cfg->verbose)
            fprintf(stderr, "  threads %s: ratio min %.2f max %.2f\n", VNAME[vs[j]], ratio[j * rounds],
                    ratio[j * rounds + rounds - 1]);
    }
    free(r1);
    free(r2);
    free(ratio);
}

/* ------------------------------------------------------------ hashes */

enum { H_FNV, H_SIP13, H_SIP24, H__N };
static const char *const HNAME[H__N] = {"fnv1a64", "siphash13", "siphash24"};

typedef struct hash_ctx {
    const keyset *ks;
    sd_hash_key key;
    int tag; /* 0: the Call-IDs, 1: the local tags */
    size_t pos;
} hash_ctx;

static double hash_batch(void *ctx, int f, size_t iters)
{
    hash_ctx *x = ctx;
    uint64_t sink = 0;
    size_t pos = x->pos;
    double t0 = now_ns();
    for (size_t i = 0; i < iters; i++) {
        sd_str s = x->tag ? key_ltag(x->ks, pos) : key_cid(x->ks, pos);
        if (f == H_FNV)
            sink += sd_fnv1a64(s.p, s.len);
        else if (f == H_SIP13)
            sink += sd_siphash13(&x->key, s.p, s.len);
        else
            sink += sd_siphash24(&x->key, s.p, s.len);
        if (++pos == x->ks->n)
            pos = 0;
    }
    double t = now_ns() - t0;
    x->pos = pos;
    g_sink += sink;
    return t;
}

static void measure_hashes(const config *cfg)
{
    keyset ks;
    keys_make(&ks, HASH_KEYS, cfg->seed);
    hash_ctx x = {&ks, {0, 0}, 0, 0};
    if (sd_os_random(NULL, &x.key, sizeof x.key) != SD_OK)
        fail("no random bytes");
    for (int tag = 0; tag < 2; tag++) {
        const char *what = tag ? "tag" : "callid";
        double med[H__N];
        char name[48];
        x.tag = tag;
        measure_interleaved(cfg, hash_batch, &x, H__N, 1, med, HNAME);
        for (int f = 0; f < H__N; f++) {
            printf("hash.%s.%s\t%.2f\n", HNAME[f], what, med[f]);
            snprintf(name, sizeof name, "hash.%s.ratio.%s", HNAME[f], what);
            printf("%s\t%.3f\n", name, med[f] / med[H_SIP13]);
        }
    }
    fflush(stdout);
    keys_free(&ks);
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_store [--sizes 10000,100000,1000000] [--what lookup,create,memory,threads,hash]\n"
               "                   [--batches K] [--batch-ms MS] [--thread-ms MS] [--threads-at LIST]\n"
               "                   [--lookups store,floor,mutex,linear,layout,layout_ref] [--linear-max N]\n"
               "                   [--initial] [--seed S] [-v]\n");
}

static int parse_list(const char *opt, const char *s, size_t *out)
{
    int n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (n == MAX_SIZES)
            fail("too many sizes");
        out[n++] = (size_t)parse_num(PROG, opt, tok, 1, 50000000L);
    }
    return n;
}

/* The look-up variants named in a comma-separated list (whole names). */
static unsigned parse_variants(const char *val)
{
    unsigned mask = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", val);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int v = 0;
        while (v < V__N && strcmp(tok, VNAME[v]) != 0)
            v++;
        if (v == V__N)
            fail("--lookups takes store,floor,mutex,linear,layout,layout_ref");
        mask |= 1u << v;
    }
    return mask;
}

static int listed(const size_t *v, int n, size_t x)
{
    for (int i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    config cfg = {{10000, 100000, 1000000}, 3, 1, 1, 1, 1, 1, {10000, 1000000}, 2, 31, 20e6, 100e6, 0,
                  (1u << V__N) - 1, 100000, 1, 0};
    static const struct option longopts[] = {
        {"sizes", required_argument, NULL, 's'},      {"what", required_argument, NULL, 'w'},
        {"batches", required_argument, NULL, 'b'},    {"batch-ms", required_argument, NULL, 'm'},
        {"thread-ms", required_argument, NULL, 't'},  {"threads-at", required_argument, NULL, 'T'},
        {"lookups", required_argument, NULL, 'l'},    {"linear-max", required_argument, NULL, 'L'},
        {"initial", no_argument, NULL, 'i'},          {"seed", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
    };
    int ch, li = 0;
    while ((ch = getopt_long(argc, argv, "vh", longopts, &li)) != -1) {
        char opt[32] = "";
        if (ch != 'v' && ch != 'h' && ch != '?')
            snprintf(opt, sizeof opt, "--%s", longopts[li].name);
        switch (ch) {
        case 'v': cfg.verbose = 1; break;
        case 'i': cfg.initial = 1; break;
        case 's': cfg.nsizes = parse_list(opt, optarg, cfg.sizes); break;
        case 'T': cfg.nthreads_at = parse_list(opt, optarg, cfg.threads_at); break;
        case 'w':
            cfg.w_lookup = strstr(optarg, "lookup") != NULL;
            cfg.w_create = strstr(optarg, "create") != NULL;
            cfg.w_memory = strstr(optarg, "memory") != NULL;
            cfg.w_threads = strstr(optarg, "threads") != NULL;
            cfg.w_hash = strstr(optarg, "hash") != NULL;
            break;
        case 'l': cfg.variants = parse_variants(optarg); break;
        case 'L': cfg.linear_max = (size_t)parse_num(PROG, opt, optarg, 0, 50000000L); break;
        case 'b': cfg.batches = (int)parse_num(PROG, opt, optarg, 1, 10000); break;
        case 'm': cfg.batch_ns = (double)parse_num(PROG, opt, optarg, 1, 10000) * 1e6; break;
        case 't': cfg.thread_ns = (double)parse_num(PROG, opt, optarg, 1, 10000) * 1e6; break;
        case 'S': cfg.seed = (uint64_t)parse_num(PROG, opt, optarg, 0, 0x7fffffffL); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    sd_parse_opts_default(&g_popts);
    g_popts.flags |= SD_PARSE_CHECK_URIS; /* as the Python binding parses */
    sd_dlg_env_default(&g_env);
    g_env.strings = sd_intern_new(1u << 16); /* shared strings, as the package runs its dialogs */

    /* memory first, each size in a child forked before anything big is
     * allocated in this process */
    if (cfg.w_memory)
        for (int s = 0; s < cfg.nsizes; s++)
            memory_forked(&cfg, cfg.sizes[s]);
    for (int s = 0; s < cfg.nsizes; s++) {
        size_t n = cfg.sizes[s];
        int threads = cfg.w_threads && listed(cfg.threads_at, cfg.nthreads_at, n);
        if (!cfg.w_lookup && !cfg.w_create && !threads)
            continue;
        world w;
        if (cfg.verbose)
            fprintf(stderr, "%zu dialogs: building\n", n);
        world_build(&cfg, &w, n);
        if (cfg.w_lookup)
            measure_lookups(&cfg, &w);
        if (threads)
            measure_threads(&cfg, &w);
        world_free(&w);
    }
    if (cfg.w_hash)
        measure_hashes(&cfg);
    return 0;
}
