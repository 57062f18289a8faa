/*
 * intern.c - the shared string table (see intern.h).
 */
#include "base/intern.h"
#include "base/hash.h"
#include "base/sync.h"

#include <stdlib.h>
#include <string.h>

#define STRIPES 64u
#define BUCKETS_PER_STRIPE 1024u

typedef struct stripe {
    sd_lock lock;
    sd_istr *bucket[BUCKETS_PER_STRIPE];
} stripe;

struct sd_intern {
    _Atomic uint32_t refs; /* the owner's, plus one per live shared string */
    _Atomic size_t count;
    size_t max;
    sd_hash_key key;
    stripe st[STRIPES];
};

sd_intern *sd_intern_new(size_t max_strings)
{
    sd_intern *t = calloc(1, sizeof *t);
    if (t == NULL) return NULL;
    if (sd_os_random(NULL, &t->key, sizeof t->key) != SD_OK) {
        free(t);
        return NULL;
    }
    atomic_init(&t->refs, 1);
    t->max = max_strings;
    return t;
}

static void table_unref(sd_intern *t)
{
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) free(t);
}

void sd_intern_unref(sd_intern *t)
{
    if (t) table_unref(t);
}

static sd_istr *private_copy(const char *p, size_t len, uint64_t h)
{
    sd_istr *s = malloc(sizeof *s + len);
    if (s == NULL) return NULL;
    atomic_init(&s->refs, 1);
    s->len = (uint32_t)len;
    s->hash = h;
    s->table = NULL;
    s->next = NULL;
    if (len) memcpy(s->s, p, len);
    return s;
}

sd_istr *sd_istr_get(sd_intern *t, const char *p, size_t len)
{
    if (t == NULL || len > SD_INTERN_MAX) return private_copy(p, len, 0);
    uint64_t h = sd_siphash13(&t->key, p, len);
    stripe *sp = &t->st[h % STRIPES];
    sd_istr **b = &sp->bucket[(h / STRIPES) % BUCKETS_PER_STRIPE];
    sd_lock_acquire(&sp->lock);
    for (sd_istr *s = *b; s; s = s->next)
        if (s->hash == h && s->len == len && memcmp(s->s, p, len) == 0) {
            atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
            sd_lock_release(&sp->lock);
            return s;
        }
    sd_istr *s = NULL;
    if (atomic_load_explicit(&t->count, memory_order_relaxed) < t->max && (s = private_copy(p, len, h)) != NULL) {
        s->table = t;
        s->next = *b;
        *b = s;
        atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    }
    sd_lock_release(&sp->lock);
    return s ? s : private_copy(p, len, 0);
}

void sd_istr_put(sd_istr *s)
{
    if (s == NULL) return;
    sd_intern *t = s->table;
    if (t == NULL) {
        if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) free(s);
        return;
    }
    /* above 1, drop without the lock; the last reference is dropped under
     * the stripe's lock, where look-ups take new ones, so a string never
     * comes back once it reached 0 */
    uint32_t r = atomic_load_explicit(&s->refs, memory_order_relaxed);
    while (r > 1)
        if (atomic_compare_exchange_weak_explicit(&s->refs, &r, r - 1, memory_order_acq_rel, memory_order_relaxed))
            return;
    stripe *sp = &t->st[s->hash % STRIPES];
    sd_istr **b = &sp->bucket[(s->hash / STRIPES) % BUCKETS_PER_STRIPE];
    sd_lock_acquire(&sp->lock);
    int gone = atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1;
    if (gone) {
        while (*b != s) b = &(*b)->next;
        *b = s->next;
        atomic_fetch_sub_explicit(&t->count, 1, memory_order_relaxed);
    }
    sd_lock_release(&sp->lock);
    if (gone) {
        free(s);
        table_unref(t);
    }
}

size_t sd_istr_size(const sd_istr *s)
{
    return sizeof *s + s->len;
}

uint32_t sd_istr_refs(const sd_istr *s)
{
    return atomic_load_explicit(&((sd_istr *)s)->refs, memory_order_relaxed);
}

size_t sd_intern_count(sd_intern *t)
{
    return atomic_load_explicit(&t->count, memory_order_relaxed);
}
