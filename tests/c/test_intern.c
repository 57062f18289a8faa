/* test_intern.c - the shared string table (csrc/base/intern.c): one copy
 * per content, released with its last reference, private copies beyond the
 * bound, and threads taking and dropping the same strings. */
#include "base/intern.h"
#include "tcheck.h"

#include <pthread.h>
#include <stdio.h>

TEST(intern_one_copy_per_content)
{
    sd_intern *t = sd_intern_new(4);
    CHECK(t != NULL);
    sd_istr *a = sd_istr_get(t, "sip:alice@h", 11), *b = sd_istr_get(t, "sip:alice@h", 11);
    sd_istr *c = sd_istr_get(t, "sip:bob@h", 9);
    CHECK(a == b && a != c && sd_istr_refs(a) == 2);
    CHECK(a->len == 11 && memcmp(a->s, "sip:alice@h", 11) == 0);
    CHECK(sd_intern_count(t) == 2);
    sd_istr_put(a);
    CHECK(sd_istr_refs(b) == 1 && sd_intern_count(t) == 2);
    sd_istr_put(b);
    CHECK(sd_intern_count(t) == 1); /* gone with its last reference */
    sd_istr *a2 = sd_istr_get(t, "sip:alice@h", 11);
    CHECK(sd_istr_refs(a2) == 1);
    sd_intern_unref(t); /* the table lives on while its strings do */
    sd_istr_put(a2);
    sd_istr_put(c);
}

TEST(intern_bounded_and_private_copies)
{
    sd_intern *t = sd_intern_new(2);
    sd_istr *s[4];
    char txt[8];
    for (int i = 0; i < 4; i++) {
        snprintf(txt, sizeof txt, "s%d", i);
        s[i] = sd_istr_get(t, txt, 2);
        CHECK(s[i] != NULL && memcmp(s[i]->s, txt, 2) == 0);
    }
    CHECK(sd_intern_count(t) == 2);
    CHECK(s[2]->table == NULL && s[3]->table == NULL); /* beyond the bound: private */
    sd_istr *again = sd_istr_get(t, "s3", 2);
    CHECK(again != s[3]);
    sd_istr_put(again);
    for (int i = 0; i < 4; i++) sd_istr_put(s[i]);
    CHECK(sd_intern_count(t) == 0);
    sd_intern_unref(t);
    sd_istr *p = sd_istr_get(NULL, "x", 1); /* no table: a private copy */
    CHECK(p && p->table == NULL);
    sd_istr_put(p);
}

typedef struct iarg {
    sd_intern *t;
    int seed;
} iarg;

static void *intern_worker(void *arg)
{
    iarg *a = arg;
    char txt[16];
    sd_istr *held[8] = {0};
    for (int i = 0; i < 20000; i++) {
        int k = (i * 7 + a->seed) % 8;
        sd_istr_put(held[k]);
        snprintf(txt, sizeof txt, "route-%d", (i + a->seed) % 5);
        held[k] = sd_istr_get(a->t, txt, strlen(txt));
        if (held[k] == NULL || memcmp(held[k]->s, txt, strlen(txt)) != 0) tc_failures++;
    }
    for (int k = 0; k < 8; k++) sd_istr_put(held[k]);
    return NULL;
}

/* Threads take and drop the same five strings: the last release of one
 * races with new look-ups of it; nothing is freed while held (ASan, TSan)
 * and the table ends empty. */
TEST(intern_threads)
{
    sd_intern *t = sd_intern_new(64);
    pthread_t th[4];
    iarg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (iarg){t, i};
        pthread_create(&th[i], NULL, intern_worker, &args[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    CHECK(sd_intern_count(t) == 0);
    sd_intern_unref(t);
}
