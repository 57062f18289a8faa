/*
 * store_util.h - messages and dialogs for the store tests (test_store.c,
 * test_store_threads.c): parsed INVITEs, responses and BYEs with chosen
 * Call-IDs and tags, each in its own heap buffer.
 */
#ifndef STORE_UTIL_H
#define STORE_UTIL_H

#include "sipdialog/dialog.h"
#include "sipdialog/store.h"
#include "tcheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct smsg {
    char *buf;
    size_t len;
    sd_msg m;
    sd_header h[32];
} smsg;

/* Lines of `fmt` end in "\n" (sent as CRLF); Content-Length: 0 is added. */
static inline smsg *smsgf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    smsg *t = malloc(sizeof *t);
    if (t == NULL) abort();
    t->buf = tc_sip_vformat(&t->len, fmt, ap);
    va_end(ap);
    sd_error e;
    if (sd_msg_parse(t->buf, t->len, NULL, &t->m, t->h, 32, &e) != SD_OK) {
        fprintf(stderr, "test message does not parse: %s\n%.*s\n", e.reason, (int)t->len, t->buf);
        abort();
    }
    return t;
}

static inline void sfree(smsg *t)
{
    if (t) free(t->buf);
    free(t);
}

/* A branch token for (cid, ftag): hex of a simple hash. */
static inline unsigned long s_branch(const char *cid, const char *ftag)
{
    unsigned long h = 5381;
    for (const char *p = cid; *p; p++) h = h * 33 + (unsigned char)*p;
    for (const char *p = ftag; *p; p++) h = h * 33 + (unsigned char)*p;
    return h;
}

/* An INVITE from alice (From tag `ftag`) with Call-ID `cid`. */
static inline smsg *s_invite(const char *cid, const char *ftag)
{
    return smsgf("INVITE sip:bob@biloxi.example.com SIP/2.0\n"
                 "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK%lx\n"
                 "Max-Forwards: 70\n"
                 "To: Bob <sip:bob@biloxi.example.com>\n"
                 "From: Alice <sip:alice@atlanta.example.com>;tag=%s\n"
                 "Call-ID: %s\n"
                 "CSeq: 1 INVITE\n"
                 "Contact: <sip:alice@pc33.atlanta.example.com>\n",
                 s_branch(cid, ftag), ftag, cid);
}

/* A response `status` to s_invite(cid, ftag), To tag `ttag` (NULL: none). */
static inline smsg *s_response(int status, const char *cid, const char *ftag, const char *ttag)
{
    char to[128];
    if (ttag) snprintf(to, sizeof to, ";tag=%s", ttag);
    else to[0] = '\0';
    return smsgf("SIP/2.0 %d Whatever\n"
                 "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK%lx\n"
                 "To: Bob <sip:bob@biloxi.example.com>%s\n"
                 "From: Alice <sip:alice@atlanta.example.com>;tag=%s\n"
                 "Call-ID: %s\n"
                 "CSeq: 1 INVITE\n"
                 "Contact: <sip:bob@192.0.2.4>\n",
                 status, s_branch(cid, ftag), to, ftag, cid);
}

/* A BYE from bob (the UAS side of s_invite) in the dialog (cid, ftag, ttag). */
static inline smsg *s_bye_from_bob(const char *cid, const char *ftag, const char *ttag)
{
    return smsgf("BYE sip:alice@pc33.atlanta.example.com SIP/2.0\n"
                 "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKbye%lx\n"
                 "Max-Forwards: 70\n"
                 "From: Bob <sip:bob@biloxi.example.com>;tag=%s\n"
                 "To: Alice <sip:alice@atlanta.example.com>;tag=%s\n"
                 "Call-ID: %s\n"
                 "CSeq: 9 BYE\n",
                 s_branch(cid, ttag), ttag, ftag, cid);
}

/* UAC dialog from s_invite(cid, ftag), in NONE. */
static inline sd_dialog *s_uac(const sd_dlg_env *env, const char *cid, const char *ftag)
{
    smsg *inv = s_invite(cid, ftag);
    sd_dialog *d = NULL;
    sd_error e;
    if (sd_dialog_new_uac(env, inv->buf, &inv->m, &d, &e) != SD_OK) {
        fprintf(stderr, "new_uac: %s\n", e.reason);
        abort();
    }
    sfree(inv);
    return d;
}

/* UAC dialog from s_invite(cid, ftag), in NONE, added to `s` (must be). */
static inline sd_dialog *s_uac_stored(const sd_dlg_env *env, sd_store *s, const char *cid, const char *ftag)
{
    sd_dialog *d = s_uac(env, cid, ftag);
    sd_error e;
    if (sd_store_add(s, d, &e) != SD_OK) {
        fprintf(stderr, "store_add: %s\n", e.reason);
        abort();
    }
    return d;
}

/* Deliver a response to d (must be accepted). */
static inline sd_err s_recv(sd_dialog *d, smsg *m)
{
    sd_buf reply;
    sd_buf_init(&reply);
    sd_error e;
    sd_err rc = sd_dialog_receive(d, m->buf, &m->m, 0, &reply, &e);
    sd_buf_free(&reply);
    return rc;
}

/* UAC dialog confirmed with remote tag `ttag`. */
static inline sd_dialog *s_uac_confirmed(const sd_dlg_env *env, const char *cid, const char *ftag, const char *ttag)
{
    sd_dialog *d = s_uac(env, cid, ftag);
    smsg *ok = s_response(200, cid, ftag, ttag);
    if (s_recv(d, ok) != SD_OK) abort();
    sfree(ok);
    return d;
}

static inline sd_str s_str(const char *c)
{
    return (sd_str){c, strlen(c)};
}

#endif
