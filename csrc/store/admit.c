/*
 * admit.c - per-source admission control (sipdialog/admit.h): source keys,
 * and one table of per-source entries (token bucket + live-dialog count)
 * shared by sd_ratelimit (no counts) and sd_admit (both).
 *
 * The table: entries live in a pool whose indexes never move (they are the
 * slots of sd_admit_acquire), found through an open-addressing index of
 * pool indexes with linear probing and backward-shift deletion, kept at
 * most half full. The hash is SipHash-2-4 under a per-table random key.
 * Both arrays grow by doubling up to the bound set by max_sources.
 */
#include "sipdialog/admit.h"

#include "base/sync.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(sd_srckey) == SD_SRCKEY_SIZE, "sd_srckey has no padding");

/* ---------------------------------------------------------- SipHash-2-4 */

static uint64_t rotl64(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void sip_rounds(uint64_t v[4], int n)
{
    while (n-- > 0) {
        v[0] += v[1];
        v[1] = rotl64(v[1], 13) ^ v[0];
        v[0] = rotl64(v[0], 32);
        v[2] += v[3];
        v[3] = rotl64(v[3], 16) ^ v[2];
        v[0] += v[3];
        v[3] = rotl64(v[3], 21) ^ v[0];
        v[2] += v[1];
        v[1] = rotl64(v[1], 17) ^ v[2];
        v[2] = rotl64(v[2], 32);
    }
}

/* SipHash-2-4 of p[0..n) under the key (k0, k1). */
static uint64_t siphash24(uint64_t k0, uint64_t k1, const uint8_t *p, size_t n)
{
    uint64_t v[4] = {k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL, k0 ^ 0x6c7967656e657261ULL,
                     k1 ^ 0x7465646279746573ULL};
    size_t whole = n & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load_le64(p + i);
        v[3] ^= m;
        sip_rounds(v, 2);
        v[0] ^= m;
    }
    uint64_t last = (uint64_t)(n & 0xff) << 56;
    for (size_t i = 0; i < (n & 7); i++) last |= (uint64_t)p[whole + i] << (8 * i);
    v[3] ^= last;
    sip_rounds(v, 2);
    v[0] ^= last;
    v[2] ^= 0xff;
    sip_rounds(v, 4);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ---------------------------------------------------------- source keys */

/* Fixed, public keys of the host-name digest: a name's key is the same in
 * every process. */
#define NAME_K0 0x7369706469616c6fULL
#define NAME_K1 0x672d736f75726365ULL
#define NAME_K2 0x2d6e616d652d6b65ULL
#define NAME_K3 0x792d323032362d31ULL

/* The error for an unexpected octet at p[i] (offset `at`). */
static sd_err bad_char(sd_error *err, const char *p, size_t i, size_t at, const char *where)
{
    unsigned char c = (unsigned char)p[i];
    if (c > 0x20 && c < 0x7f) return sd_error_set(err, SD_EINVAL, at, "invalid character '%c' in %s", c, where);
    return sd_error_set(err, SD_EINVAL, at, "invalid byte 0x%02x in %s", c, where);
}

static void key_ipv4(sd_srckey *k, const uint8_t a[4])
{
    memset(k, 0, sizeof *k);
    k->family = SD_SRC_IPV4;
    memcpy(k->addr, a, 4);
}

/* An IPv6 literal s[0..n), reported at offsets from `base`. */
static sd_err parse_v6(const char *s, size_t n, size_t base, sd_srckey *out, sd_error *err)
{
    if (n == 0) return sd_error_set(err, SD_EINVAL, base, "empty IPv6 address");
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') return sd_error_set(err, SD_EINVAL, base + i, "IPv6 zone index not supported");
        if (!(c == ':' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return bad_char(err, s, i, base + i, "IPv6 address");
    }
    char text[INET6_ADDRSTRLEN];
    if (n >= sizeof text) return sd_error_set(err, SD_EINVAL, base, "IPv6 address too long");
    memcpy(text, s, n);
    text[n] = '\0';
    uint8_t a[16];
    if (inet_pton(AF_INET6, text, a) != 1) return sd_error_set(err, SD_EINVAL, base, "malformed IPv6 address");
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, mapped, sizeof mapped) == 0) {
        key_ipv4(out, a + 12);
        return SD_OK;
    }
    memset(out, 0, sizeof *out);
    out->family = SD_SRC_IPV6;
    memcpy(out->addr, a, 16);
    return SD_OK;
}

/* A host name or IPv4 address s[0..n) at offset 0 of the source. */
static sd_err parse_host(const char *s, size_t n, sd_srckey *out, sd_error *err)
{
    if (n == 0) return sd_error_set(err, SD_EINVAL, 0, "empty host");
    size_t i = 0;
    while (i < n && (s[i] == '.' || (s[i] >= '0' && s[i] <= '9'))) i++;
    if (i == n) { /* digits and dots only: an IPv4 address (no DNS name is all-numeric) */
        char text[INET_ADDRSTRLEN];
        uint8_t a[4];
        if (n >= sizeof text) return sd_error_set(err, SD_EINVAL, 0, "malformed IPv4 address");
        memcpy(text, s, n);
        text[n] = '\0';
        if (inet_pton(AF_INET, text, a) != 1) return sd_error_set(err, SD_EINVAL, 0, "malformed IPv4 address");
        key_ipv4(out, a);
        return SD_OK;
    }
    if (n > 1 && s[n - 1] == '.') n--; /* the root label */
    if (n > SD_SRC_MAX_NAME)
        return sd_error_set(err, SD_EINVAL, SD_SRC_MAX_NAME, "host name longer than %d octets", SD_SRC_MAX_NAME);
    uint8_t low[SD_SRC_MAX_NAME];
    size_t label = 0; /* start of the current label */
    for (i = 0; i <= n; i++) {
        char c = i < n ? s[i] : '.';
        if (c == '.') {
            if (i == label) return sd_error_set(err, SD_EINVAL, i, "empty label in host name");
            if (i - label > 63) return sd_error_set(err, SD_EINVAL, label + 63, "label longer than 63 octets");
            if (s[label] == '-') return sd_error_set(err, SD_EINVAL, label, "label starts with '-'");
            if (s[i - 1] == '-') return sd_error_set(err, SD_EINVAL, i - 1, "label ends with '-'");
            label = i + 1;
        } else if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return bad_char(err, s, i, i, "host name");
        }
        if (i < n) low[i] = (uint8_t)c;
    }
    uint64_t h0 = siphash24(NAME_K0, NAME_K1, low, n), h1 = siphash24(NAME_K2, NAME_K3, low, n);
    memset(out, 0, sizeof *out);
    out->family = SD_SRC_NAME;
    for (int b = 0; b < 8; b++) {
        out->addr[b] = (uint8_t)(h0 >> (8 * b));
        out->addr[8 + b] = (uint8_t)(h1 >> (8 * b));
    }
    return SD_OK;
}

/* A port s[0..n) at offset `base`: decimal, 0-65535. */
static sd_err check_port(const char *s, size_t n, size_t base, sd_error *err)
{
    if (n == 0) return sd_error_set(err, SD_EINVAL, base, "empty port");
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return bad_char(err, s, i, base + i, "port");
        if (v <= 65535) v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v > 65535) return sd_error_set(err, SD_EINVAL, base, "port out of range (0-65535)");
    return SD_OK;
}

static sd_err parse_source(sd_str src, int allow_port, sd_srckey *out, sd_error *err)
{
    const char *p = src.p;
    size_t n = src.len;
    if (n == 0 || p == NULL) return sd_error_set(err, SD_EINVAL, 0, "empty source");
    sd_srckey k;
    sd_err rc;
    if (p[0] == '[') {
        const char *close = memchr(p + 1, ']', n - 1);
        if (close == NULL) return sd_error_set(err, SD_EINVAL, 0, "unbalanced '[': no ']'");
        size_t c = (size_t)(close - p);
        if ((rc = parse_v6(p + 1, c - 1, 1, &k, err)) != SD_OK) return rc;
        if (c + 1 < n) {
            if (p[c + 1] != ':') return bad_char(err, p, c + 1, c + 1, "source after ']'");
            if (!allow_port) return sd_error_set(err, SD_EINVAL, c + 1, "a port is not allowed here");
            if ((rc = check_port(p + c + 2, n - c - 2, c + 2, err)) != SD_OK) return rc;
        }
        *out = k;
        return SD_OK;
    }
    size_t colons = 0, first = n;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == ']') return sd_error_set(err, SD_EINVAL, i, "unbalanced ']'");
        if (p[i] == '[') return sd_error_set(err, SD_EINVAL, i, "'[' inside the source");
        if (p[i] == ':' && colons++ == 0) first = i;
    }
    if (colons >= 2) { /* a bare IPv6 literal: any port would be ambiguous */
        rc = parse_v6(p, n, 0, &k, err);
    } else {
        if (colons == 1) {
            if (!allow_port) return sd_error_set(err, SD_EINVAL, first, "a port is not allowed here");
            if ((rc = check_port(p + first + 1, n - first - 1, first + 1, err)) != SD_OK) return rc;
        }
        rc = parse_host(p, first, &k, err);
    }
    if (rc == SD_OK) *out = k;
    return rc;
}

sd_err sd_source_key(sd_str source, sd_srckey *out, sd_error *err)
{
    return parse_source(source, 1, out, err);
}

sd_err sd_source_key_host(sd_str host, sd_srckey *out, sd_error *err)
{
    return parse_source(host, 0, out, err);
}

/* ---------------------------------------------------------------- table */

#define NO_ENTRY UINT32_MAX
#define MAX_SOURCES_LIMIT 0xffffffu /* slot = generation << 24 | index */
#define NS_PER_MINUTE 6e10

typedef struct src_entry {
    sd_srckey key;  /* family SD_SRC_NONE: free */
    uint32_t hash;  /* free: the next free index */
    uint32_t live;  /* live dialogs (sd_admit) */
    uint32_t gen;   /* bumped when freed; the high byte of a slot */
    double tokens;  /* as of last_ns */
    int64_t last_ns;
} src_entry;

typedef struct src_table {
    sd_lock lock;
    uint64_t k0, k1;  /* hash key */
    double rate;      /* per minute; 0: no buckets */
    double burst;
    int64_t token_ns; /* time one token takes to refill (sweep spacing) */
    uint32_t max;     /* entries at most */
    uint32_t count;   /* entries in use */
    src_entry *ent;
    uint32_t ent_cap, ent_top; /* allocated; high-water mark */
    uint32_t free_head;
    uint32_t *idx;             /* pool indexes, NO_ENTRY for empty */
    uint32_t idx_mask;
    int64_t next_sweep_ns;     /* no sweep of a full table before this */
    int64_t latest_ns;         /* the latest time a caller passed in */
} src_table;

static sd_err table_init(src_table *t, double rate, double burst, size_t max_sources, sd_error *err)
{
    memset(t, 0, sizeof *t);
    if (!(rate >= 0) || !isfinite(rate))
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "rate_per_minute must be a finite number >= 0");
    if (burst == 0) burst = rate > 1 ? rate : 1;
    if (!(burst >= 1) || !isfinite(burst))
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "burst must be a finite number >= 1 (or 0 for the default)");
    if (max_sources == 0) max_sources = 65536;
    if (max_sources > MAX_SOURCES_LIMIT)
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "max_sources must be at most %u", MAX_SOURCES_LIMIT);
    uint64_t key[2];
    if (sd_os_random(NULL, key, sizeof key) != SD_OK)
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "no randomness for the hash key");
    t->lock = (sd_lock)SD_LOCK_INIT;
    t->k0 = key[0];
    t->k1 = key[1];
    t->rate = rate;
    t->burst = burst;
    double tn = rate > 0 ? ceil(NS_PER_MINUTE / rate) : 0;
    t->token_ns = tn < 9e18 ? (int64_t)tn : INT64_MAX;
    t->max = (uint32_t)max_sources;
    t->free_head = NO_ENTRY;
    t->next_sweep_ns = INT64_MIN;
    t->latest_ns = INT64_MIN;
    return SD_OK;
}

static void table_free(src_table *t)
{
    free(t->ent);
    free(t->idx);
}

static uint32_t key_hash(const src_table *t, const sd_srckey *k)
{
    return (uint32_t)siphash24(t->k0, t->k1, (const uint8_t *)k, sizeof *k);
}

/* Pool index of `k`, or NO_ENTRY. */
static uint32_t table_find(const src_table *t, const sd_srckey *k, uint32_t h)
{
    if (t->idx == NULL) return NO_ENTRY;
    for (uint32_t i = h & t->idx_mask;; i = (i + 1) & t->idx_mask) {
        uint32_t e = t->idx[i];
        if (e == NO_ENTRY) return NO_ENTRY;
        if (t->ent[e].hash == h && memcmp(&t->ent[e].key, k, sizeof *k) == 0) return e;
    }
}

static void idx_place(uint32_t *idx, uint32_t mask, uint32_t h, uint32_t e)
{
    uint32_t i = h & mask;
    while (idx[i] != NO_ENTRY) i = (i + 1) & mask;
    idx[i] = e;
}

/* Room for one more entry in both arrays; 0 when out of memory. */
static int table_reserve(src_table *t)
{
    if ((uint64_t)(t->count + 1) * 2 > (uint64_t)t->idx_mask + 1 || t->idx == NULL) {
        uint32_t cap = t->idx ? (t->idx_mask + 1) * 2 : 64;
        uint32_t *ni = malloc((size_t)cap * sizeof *ni);
        if (ni == NULL) return 0;
        memset(ni, 0xff, (size_t)cap * sizeof *ni);
        for (uint32_t i = 0; t->idx && i <= t->idx_mask; i++)
            if (t->idx[i] != NO_ENTRY) idx_place(ni, cap - 1, t->ent[t->idx[i]].hash, t->idx[i]);
        free(t->idx);
        t->idx = ni;
        t->idx_mask = cap - 1;
    }
    if (t->free_head == NO_ENTRY && t->ent_top == t->ent_cap) {
        uint32_t cap = t->ent_cap ? t->ent_cap * 2 : 32;
        if (cap > t->max) cap = t->max;
        src_entry *ne = realloc(t->ent, (size_t)cap * sizeof *ne);
        if (ne == NULL) return 0;
        t->ent = ne;
        t->ent_cap = cap;
    }
    return 1;
}

/* Take `e` out of the index and give it back to the pool. */
static void table_remove(src_table *t, uint32_t e)
{
    uint32_t m = t->idx_mask, i = t->ent[e].hash & m;
    while (t->idx[i] != e) i = (i + 1) & m;
    /* backward shift: pull later members of the probe run into the hole */
    for (uint32_t j = (i + 1) & m; t->idx[j] != NO_ENTRY; j = (j + 1) & m) {
        uint32_t home = t->ent[t->idx[j]].hash & m;
        if (((j - home) & m) >= ((j - i) & m)) {
            t->idx[i] = t->idx[j];
            i = j;
        }
    }
    t->idx[i] = NO_ENTRY;
    src_entry *x = &t->ent[e];
    x->key.family = SD_SRC_NONE;
    x->gen++;
    x->hash = t->free_head;
    t->free_head = e;
    t->count--;
}

/* Tokens of `e` at `now` (not stored). */
static double bucket_at(const src_table *t, const src_entry *e, int64_t now)
{
    if (now <= e->last_ns || e->tokens >= t->burst) return e->tokens;
    double tk = e->tokens + (double)((uint64_t)now - (uint64_t)e->last_ns) * t->rate / NS_PER_MINUTE;
    return tk < t->burst ? tk : t->burst;
}

/* When the bucket of `e` is full again (INT64_MAX: never within range). */
static int64_t bucket_full_at(const src_table *t, const src_entry *e)
{
    if (t->rate == 0 || e->tokens >= t->burst) return e->last_ns;
    double wait = ceil((t->burst - e->tokens) * NS_PER_MINUTE / t->rate);
    if (wait >= (double)(INT64_MAX - e->last_ns)) return INT64_MAX;
    return e->last_ns + (int64_t)wait;
}

/* A full table: evict every entry without live dialogs whose bucket is full
 * at `now`. Runs at most once per token interval; the next run is not
 * before the first remaining entry can be full. */
static void table_sweep(src_table *t, int64_t now)
{
    if (now < t->next_sweep_ns) return;
    int evicted = 0;
    int64_t soonest = INT64_MAX;
    for (uint32_t e = 0; e < t->ent_top; e++) {
        src_entry *x = &t->ent[e];
        if (x->key.family == SD_SRC_NONE || x->live > 0) continue;
        int64_t full = bucket_full_at(t, x);
        if (full <= now) {
            table_remove(t, e);
            evicted = 1;
        } else if (full < soonest) {
            soonest = full;
        }
    }
    int64_t next = t->token_ns > INT64_MAX - now ? INT64_MAX : now + t->token_ns;
    if (!evicted && soonest > next) next = soonest;
    t->next_sweep_ns = next;
}

/* The entry of `k`, created with a full bucket when absent (*created = 1);
 * NO_ENTRY when the table is full and nothing can be evicted, or out of
 * memory (*nomem = 1). */
static uint32_t table_get(src_table *t, const sd_srckey *k, uint32_t h, int64_t now, int *created, int *nomem)
{
    uint32_t e = table_find(t, k, h);
    *created = 0;
    *nomem = 0;
    if (now > t->latest_ns) t->latest_ns = now;
    if (e != NO_ENTRY) return e;
    if (t->count >= t->max) {
        table_sweep(t, now);
        if (t->count >= t->max) return NO_ENTRY;
    }
    if (!table_reserve(t)) {
        *nomem = 1;
        return NO_ENTRY;
    }
    if (t->free_head != NO_ENTRY) {
        e = t->free_head;
        t->free_head = t->ent[e].hash;
    } else {
        e = t->ent_top++;
        t->ent[e].gen = 0;
    }
    src_entry *x = &t->ent[e];
    x->key = *k;
    x->hash = h;
    x->live = 0;
    x->tokens = t->burst;
    x->last_ns = now;
    idx_place(t->idx, t->idx_mask, h, e);
    t->count++;
    *created = 1;
    return e;
}

/* Take a token from `e` at `now` if it has one: 1 taken, 0 refused with
 * nothing stored. */
static int bucket_take(const src_table *t, src_entry *e, int64_t now)
{
    double tk = bucket_at(t, e, now);
    if (tk < 1.0) return 0;
    e->tokens = tk - 1.0;
    if (now > e->last_ns) e->last_ns = now;
    return 1;
}

/* ----------------------------------------------------------- ratelimit */

struct sd_ratelimit {
    src_table t;
};

sd_err sd_ratelimit_new(double rate_per_minute, double burst, size_t max_sources, sd_ratelimit **out,
                        sd_error *err)
{
    sd_ratelimit *rl = malloc(sizeof *rl);
    if (rl == NULL) return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    sd_err rc = table_init(&rl->t, rate_per_minute, burst, max_sources, err);
    if (rc != SD_OK) {
        free(rl);
        return rc;
    }
    *out = rl;
    return SD_OK;
}

int sd_ratelimit_take(sd_ratelimit *rl, const sd_srckey *key, int64_t now_ns)
{
    src_table *t = &rl->t;
    if (t->rate == 0) return 1;
    uint32_t h = key_hash(t, key);
    int created, nomem, ok = 0;
    sd_lock_acquire(&t->lock);
    uint32_t e = table_get(t, key, h, now_ns, &created, &nomem);
    if (e != NO_ENTRY) {
        ok = bucket_take(t, &t->ent[e], now_ns);
        if (!ok && created) table_remove(t, e); /* burst >= 1: cannot happen; keep the promise anyway */
    }
    sd_lock_release(&t->lock);
    return ok;
}

double sd_ratelimit_tokens(sd_ratelimit *rl, const sd_srckey *key, int64_t now_ns)
{
    src_table *t = &rl->t;
    if (t->rate == 0) return INFINITY;
    uint32_t h = key_hash(t, key);
    sd_lock_acquire(&t->lock);
    uint32_t e = table_find(t, key, h);
    double tk = e == NO_ENTRY ? t->burst : bucket_at(t, &t->ent[e], now_ns);
    sd_lock_release(&t->lock);
    return tk;
}

size_t sd_ratelimit_sources(sd_ratelimit *rl)
{
    sd_lock_acquire(&rl->t.lock);
    size_t n = rl->t.count;
    sd_lock_release(&rl->t.lock);
    return n;
}

void sd_ratelimit_free(sd_ratelimit *rl)
{
    if (rl == NULL) return;
    table_free(&rl->t);
    free(rl);
}

/* ----------------------------------------------------------- admission */

struct sd_admit {
    src_table t;
    uint32_t cap; /* max_per_source; 0: none */
    sd_admit_stats st;
};

void sd_admit_opts_default(sd_admit_opts *o)
{
    o->max_per_source = 100;
    o->rate_per_minute = 100;
    o->burst = 0;
    o->max_sources = 65536;
}

sd_err sd_admit_new(const sd_admit_opts *opts, sd_admit **out, sd_error *err)
{
    sd_admit_opts d;
    if (opts == NULL) {
        sd_admit_opts_default(&d);
        opts = &d;
    }
    sd_admit *a = calloc(1, sizeof *a);
    if (a == NULL) return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    sd_err rc = table_init(&a->t, opts->rate_per_minute, opts->burst, opts->max_sources, err);
    if (rc != SD_OK) {
        free(a);
        return rc;
    }
    a->cap = opts->max_per_source;
    *out = a;
    return SD_OK;
}

void sd_admit_free(sd_admit *a)
{
    if (a == NULL) return;
    table_free(&a->t);
    free(a);
}

enum { ADM_OK = 0, ADM_RATE, ADM_CAP, ADM_TABLE, ADM_NOMEM };

/* The decision of a check (and, with `acquire`, the count) under the lock.
 * Nothing changes unless the result is ADM_OK. */
static int admit_locked(sd_admit *a, const sd_srckey *key, uint32_t h, int64_t now, int take, int acquire,
                        uint32_t *slot)
{
    src_table *t = &a->t;
    int use_rate = take && t->rate > 0;
    if (!use_rate && !acquire) { /* only the cap decides: look, do not create */
        uint32_t e = table_find(t, key, h);
        return a->cap != 0 && e != NO_ENTRY && t->ent[e].live >= a->cap ? ADM_CAP : ADM_OK;
    }
    int created, nomem;
    uint32_t e = table_get(t, key, h, now, &created, &nomem);
    if (e == NO_ENTRY) return nomem ? ADM_NOMEM : ADM_TABLE;
    src_entry *x = &t->ent[e];
    int why = ADM_OK;
    if (a->cap != 0 && x->live >= a->cap) why = ADM_CAP;
    else if (use_rate && !bucket_take(t, x, now)) why = ADM_RATE;
    if (why != ADM_OK) {
        if (created) table_remove(t, e);
        return why;
    }
    if (acquire) {
        if (x->live++ == 0) a->st.live_sources++;
        a->st.live_dialogs++;
        *slot = x->gen << 24 | e;
    }
    return ADM_OK;
}

static void count_check(sd_admit *a, int why)
{
    switch (why) {
    case ADM_OK: a->st.admitted++; break;
    case ADM_RATE: a->st.refused_rate++; break;
    case ADM_CAP: a->st.refused_cap++; break;
    default: a->st.refused_sources++; break;
    }
}

int sd_admit_check(sd_admit *a, const sd_srckey *key, int64_t now_ns)
{
    uint32_t h = key_hash(&a->t, key);
    sd_lock_acquire(&a->t.lock);
    int why = admit_locked(a, key, h, now_ns, 1, 0, NULL);
    count_check(a, why);
    sd_lock_release(&a->t.lock);
    return why == ADM_OK;
}

static sd_err admit_error(int why, sd_error *err)
{
    switch (why) {
    case ADM_RATE: return sd_error_set(err, SD_ELIMIT, SIZE_MAX, "source over its rate limit");
    case ADM_CAP: return sd_error_set(err, SD_ELIMIT, SIZE_MAX, "source at its live-dialog cap");
    case ADM_TABLE: return sd_error_set(err, SD_ELIMIT, SIZE_MAX, "too many sources tracked");
    case ADM_NOMEM: return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    }
    return SD_OK;
}

sd_err sd_admit_acquire(sd_admit *a, const sd_srckey *key, uint32_t *slot, sd_error *err)
{
    uint32_t h = key_hash(&a->t, key);
    sd_lock_acquire(&a->t.lock);
    /* no time is passed in: a bucket made here is full, dated by the latest
     * time seen (a full bucket is the same at any time), and a sweep of a
     * full table judges by that time */
    int why = admit_locked(a, key, h, a->t.latest_ns, 0, 1, slot);
    if (why == ADM_OK) a->st.acquired++;
    else a->st.acquire_refused++;
    sd_lock_release(&a->t.lock);
    return admit_error(why, err);
}

sd_err sd_admit_enter(sd_admit *a, const sd_srckey *key, int64_t now_ns, uint32_t *slot, sd_error *err)
{
    uint32_t h = key_hash(&a->t, key);
    sd_lock_acquire(&a->t.lock);
    int why = admit_locked(a, key, h, now_ns, 1, 1, slot);
    count_check(a, why);
    if (why == ADM_OK) a->st.acquired++;
    sd_lock_release(&a->t.lock);
    return admit_error(why, err);
}

void sd_admit_release(sd_admit *a, uint32_t slot)
{
    src_table *t = &a->t;
    uint32_t e = slot & MAX_SOURCES_LIMIT;
    sd_lock_acquire(&t->lock);
    src_entry *x = e < t->ent_top ? &t->ent[e] : NULL;
    if (x != NULL && x->key.family != SD_SRC_NONE && x->live > 0 && (x->gen & 0xff) == slot >> 24) {
        a->st.released++;
        a->st.live_dialogs--;
        if (--x->live == 0) {
            a->st.live_sources--;
            if (t->rate == 0 || x->tokens >= t->burst) {
                table_remove(t, e);
            } else {
                /* evictable from now on: let the next sweep come when it is full */
                int64_t full = bucket_full_at(t, x);
                if (full < t->next_sweep_ns) t->next_sweep_ns = full;
            }
        }
    }
    sd_lock_release(&t->lock);
}

uint32_t sd_admit_live(sd_admit *a, const sd_srckey *key)
{
    uint32_t h = key_hash(&a->t, key);
    sd_lock_acquire(&a->t.lock);
    uint32_t e = table_find(&a->t, key, h);
    uint32_t n = e == NO_ENTRY ? 0 : a->t.ent[e].live;
    sd_lock_release(&a->t.lock);
    return n;
}

void sd_admit_get_stats(sd_admit *a, sd_admit_stats *out)
{
    sd_lock_acquire(&a->t.lock);
    *out = a->st;
    out->sources = a->t.count;
    sd_lock_release(&a->t.lock);
}
