/* test_fastpath.c - the one-pass checks of sd_msg_parse on values around
 * their 16- and 32-octet steps: Call-ID, CSeq. Each case states the
 * verdict and the error offset the grammar gives. */
#include "tcheck.h"
#include "sipdialog/msg.h"

#include <stdio.h>
#include <stdlib.h>

static sd_header FH[64];

/* Parse a heap copy of exactly the message bytes (ASan sees overreads). */
static sd_err fparse(const char *s, sd_msg *m, sd_error *e)
{
    size_t n = strlen(s);
    char *b = malloc(n);
    memcpy(b, s, n);
    sd_err rc = sd_msg_parse(b, n, NULL, m, FH, 64, e);
    free(b);
    return rc;
}

/* A request with the given method, Call-ID and CSeq values. */
static sd_err with_callid_cseq(const char *method, const char *cid, const char *cseq, sd_msg *m, sd_error *e)
{
    static char msg[1024];
    snprintf(msg, sizeof msg,
             "%s sip:bob@biloxi.example.com SIP/2.0\r\n"
             "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
             "Max-Forwards: 70\r\nTo: <sip:bob@biloxi.example.com>\r\n"
             "From: <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
             "Call-ID: %s\r\nCSeq: %s\r\nContent-Length: 0\r\n\r\n",
             method, cid, cseq);
    return fparse(msg, m, e);
}

/* Offset of the Call-ID value in the message with_callid_cseq builds. */
static size_t callid_off(const char *method)
{
    return strlen(method) + strlen(" sip:bob@biloxi.example.com SIP/2.0\r\n"
                                   "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
                                   "Max-Forwards: 70\r\nTo: <sip:bob@biloxi.example.com>\r\n"
                                   "From: <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
                                   "Call-ID: ");
}

/* callid = word [ "@" word ]: one '@', neither first nor last, at every
 * position relative to the 16-octet steps. */
TEST(test_fast_call_id)
{
    sd_msg m;
    sd_error e;
    size_t o = callid_off("BYE");
    char cid[80];
    for (size_t len = 2; len < 60; len++) {
        for (size_t at = 0; at < len; at++) {
            memset(cid, 'a', len);
            cid[len] = '\0';
            cid[at] = '@';
            sd_err rc = with_callid_cseq("BYE", cid, "1 BYE", &m, &e);
            if (at == 0 || at == len - 1) {
                CHECK_EQ_INT(rc, SD_EPARSE);
                CHECK_EQ_INT(e.offset, o + at);
            } else {
                CHECK_EQ_INT(rc, SD_OK);
            }
            /* a second '@' after the first is an error where it stands */
            for (size_t at2 = at + 1; at2 < len; at2++) {
                memset(cid, 'a', len);
                cid[at] = '@';
                cid[at2] = '@';
                rc = with_callid_cseq("BYE", cid, "1 BYE", &m, &e);
                CHECK_EQ_INT(rc, SD_EPARSE);
                CHECK_EQ_INT(e.offset, o + (at == 0 ? 0 : at2));
            }
            /* a non-word octet (',') anywhere else */
            for (size_t bad = 0; bad < len; bad++) {
                if (bad == at) continue;
                memset(cid, 'a', len);
                cid[at] = '@';
                cid[bad] = ',';
                rc = with_callid_cseq("BYE", cid, "1 BYE", &m, &e);
                CHECK_EQ_INT(rc, SD_EPARSE);
                size_t first = at == 0 ? 0 : bad < at ? bad : (at == len - 1 ? at : bad);
                CHECK_EQ_INT(e.offset, o + first);
            }
        }
    }
    /* word octets besides alphanumerics, around the 16-octet step */
    CHECK_EQ_INT(with_callid_cseq("BYE", "a-b.c!d%e*f_g+h`i'j~k(l)m<n>o:p\\q\"r/s[t]u?v{w}x@yz", "1 BYE", &m, &e),
                 SD_OK);
}

/* CSeq = 1*DIGIT LWS Method: the number below 2**31 however many digits,
 * the method the request's or any token. */
TEST(test_fast_cseq)
{
    sd_msg m;
    sd_error e;
    CHECK_EQ_INT(with_callid_cseq("BYE", "c@d", "2147483647 BYE", &m, &e), SD_OK);
    CHECK_EQ_INT(m.cseq, 2147483647);
    CHECK_EQ_INT(m.cseq_method_id, SD_M_BYE);
    CHECK_EQ_INT(with_callid_cseq("BYE", "c@d", "0000000000002147483647 BYE", &m, &e), SD_OK);
    CHECK_EQ_INT(m.cseq, 2147483647);
    CHECK_EQ_INT(with_callid_cseq("BYE", "c@d", "2147483648 BYE", &m, &e), SD_EPARSE);
    CHECK(strstr(e.reason, "not below 2**31") != NULL);
    CHECK_EQ_INT(with_callid_cseq("BYE", "c@d", "99999999999999999999999999 BYE", &m, &e), SD_EPARSE);
    CHECK(strstr(e.reason, "not below 2**31") != NULL);
    CHECK_EQ_INT(with_callid_cseq("FOO", "c@d", "7 FOO", &m, &e), SD_OK);
    CHECK_EQ_INT(m.cseq_method_id, SD_M_OTHER);
    CHECK_EQ_INT(with_callid_cseq("INVITE", "c@d", "7 INVITE", &m, &e), SD_OK);
    CHECK_EQ_INT(m.cseq_method_id, SD_M_INVITE);
    CHECK_EQ_INT(with_callid_cseq("SUBSCRIBE", "c@d", "7 SUBSCRIBE", &m, &e), SD_OK);
    CHECK_EQ_INT(m.cseq_method_id, SD_M_SUBSCRIBE);
    /* another method: a token is checked, then the methods differ */
    CHECK_EQ_INT(with_callid_cseq("BYE", "c@d", "7 ACK", &m, &e), SD_EPARSE);
    CHECK(strstr(e.reason, "differs from request method") != NULL);
    CHECK_EQ_INT(with_callid_cseq("BYE", "c@d", "7 BY,", &m, &e), SD_EPARSE);
    CHECK(strstr(e.reason, "CSeq method") != NULL);
    CHECK_EQ_INT(with_callid_cseq("BYE", "c@d", "7 bye", &m, &e), SD_EPARSE);
    CHECK_EQ_INT(with_callid_cseq("BYE", "c@d", "7BYE", &m, &e), SD_EPARSE);
    CHECK(strstr(e.reason, "lacks LWS") != NULL);
}
