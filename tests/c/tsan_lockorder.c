/*
 * tsan_lockorder.c - proof that ThreadSanitizer checks the lock order of
 * the C core (store.h: shard, then dialog). Built only with
 * -fsanitize=thread by `make tsan-lockorder`, which passes when TSan
 * reports a lock-order-inversion here.
 *
 * One thread takes a stored dialog's shard lock, then the dialog's lock
 * (the documented order, as sd_dialog_receive does); a second thread,
 * started after the first has finished, takes them the other way round.
 * The two never overlap, so nothing hangs: TSan's deadlock detector sees
 * the cycle in the lock graph all the same. That only works because
 * sd_lock and sd_rwlock are annotated as mutexes (base/sync.c).
 */
#include "sipdialog/dialog.h"
#include "sipdialog/store.h"
#include "store/link.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char invite[] = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
                             "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKlo1\r\n"
                             "Max-Forwards: 70\r\nTo: Bob <sip:bob@biloxi.example.com>\r\n"
                             "From: Alice <sip:alice@atlanta.example.com>;tag=lo1\r\n"
                             "Call-ID: lockorder@atlanta.example.com\r\nCSeq: 1 INVITE\r\n"
                             "Contact: <sip:alice@pc33.atlanta.example.com>\r\nContent-Length: 0\r\n\r\n";

typedef struct pair {
    sd_store *s;
    sd_dialog *d;
    uint64_t h;
} pair;

static void *shard_then_dialog(void *arg)
{
    pair *p = arg;
    sd_store_shard_lock_(p->s, p->h);
    sd_dialog_lock_(p->d);
    sd_dialog_unlock_(p->d);
    sd_store_shard_unlock_(p->s, p->h);
    return NULL;
}

static void *dialog_then_shard(void *arg)
{
    pair *p = arg;
    sd_dialog_lock_(p->d);
    sd_store_shard_lock_(p->s, p->h); /* the wrong order */
    sd_store_shard_unlock_(p->s, p->h);
    sd_dialog_unlock_(p->d);
    return NULL;
}

int main(void)
{
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    sd_msg m;
    sd_header h[16];
    sd_error e;
    pair p;
    if (sd_msg_parse(invite, strlen(invite), NULL, &m, h, 16, &e) != SD_OK ||
        sd_dialog_new_uac(&env, invite, &m, &p.d, &e) != SD_OK || sd_store_new(NULL, &p.s, &e) != SD_OK ||
        sd_store_add(p.s, p.d, &e) != SD_OK) {
        fprintf(stderr, "tsan_lockorder: setup failed: %s\n", e.reason);
        return 2;
    }
    p.h = sd_store_hash_(p.s, p.d);
    pthread_t t;
    pthread_create(&t, NULL, shard_then_dialog, &p);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, dialog_then_shard, &p);
    pthread_join(t, NULL);
    sd_dialog_unref(p.d);
    sd_store_unref(p.s);
    printf("tsan_lockorder: took shard then dialog, then dialog then shard\n");
    return 0;
}
