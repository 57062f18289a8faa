/* test_parse.c - sd_msg_parse, sd_msg_frame, sd_msg_build, header lookup. */
#include "tcheck.h"
#include "sipdialog/msg.h"

#include <stdlib.h>

#define INVITE_HDRS                                                         \
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n" \
    "Max-Forwards: 70\r\n"                                                  \
    "To: Bob <sip:bob@biloxi.example.com>\r\n"                              \
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"        \
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"                  \
    "CSeq: 314159 INVITE\r\n"                                               \
    "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"

static sd_header H[256];

/* Parse a heap copy of exactly strlen(s) bytes so ASan sees any overread. */
static sd_err parse_opts(const char *s, size_t n, const sd_parse_opts *o, sd_msg *m, sd_error *e, char **keep)
{
    char *b = malloc(n ? n : 1);
    memcpy(b, s, n);
    sd_err rc = sd_msg_parse(b, n, o, m, H, 256, e);
    *keep = b;
    return rc;
}

static sd_err parse_s(const char *s, sd_msg *m, sd_error *e, char **keep)
{
    return parse_opts(s, strlen(s), NULL, m, e, keep);
}

/* RFC 3261 7.1, 8.1.1: a minimal INVITE parses and its fields are indexed. */
TEST(test_parse_invite_fields)
{
    const char *s = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n" INVITE_HDRS
                    "Content-Length: 4\r\n\r\nv=0\n";
    sd_msg m;
    sd_error e;
    char *b;
    CHECK_EQ_INT(parse_s(s, &m, &e, &b), SD_OK);
    CHECK(m.is_request);
    CHECK_EQ_INT(m.method_id, SD_M_INVITE);
    CHECK_SPAN(b, m.method, "INVITE");
    CHECK_SPAN(b, m.ruri, "sip:bob@biloxi.example.com");
    CHECK_SPAN(b, m.call_id, "a84b4c76e66710@pc33.atlanta.example.com");
    CHECK_SPAN(b, m.from_tag, "1928301774");
    CHECK(!m.has_to_tag);
    CHECK_EQ_INT(m.cseq, 314159);
    CHECK_SPAN(b, m.cseq_method, "INVITE");
    CHECK_EQ_INT(m.max_forwards, 70);
    CHECK_EQ_INT(m.content_length, 4);
    CHECK_SPAN(b, m.via_branch, "z9hG4bK776asdhds");
    CHECK_EQ_INT(m.via_count, 1);
    CHECK_SPAN(b, m.body, "v=0\n");
    CHECK_EQ_INT(m.nhdrs, 8);
    CHECK_EQ_INT(m.msg_start, 0);
    CHECK_EQ_INT(m.msg_len, strlen(s));
    CHECK_EQ_INT(sd_msg_next(&m, SD_H_CONTACT, -1), 6);
    CHECK_EQ_INT(sd_msg_find_name(&m, b, "m", 1, -1), 6);
    CHECK_EQ_INT(sd_msg_find_name(&m, b, "X-None", 6, -1), -1);
    free(b);
}

/* RFC 3261 7.2: status line; 3 digits 100..699. */
TEST(test_parse_status_line)
{
    const char *ok = "SIP/2.0 180 Ringing\r\n" INVITE_HDRS "Content-Length: 0\r\n\r\n";
    sd_msg m;
    sd_error e;
    char *b;
    CHECK_EQ_INT(parse_s(ok, &m, &e, &b), SD_OK);
    CHECK(!m.is_request);
    CHECK_EQ_INT(m.status, 180);
    CHECK_SPAN(b, m.reason, "Ringing");
    free(b);
    const char *bad[] = {"SIP/2.0 099 Low\r\n", "SIP/2.0 700 High\r\n", "SIP/2.0 4294967301 Big\r\n",
                         "SIP/2.0 20 Short\r\n", "SIP/3.0 200 OK\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s" INVITE_HDRS "Content-Length: 0\r\n\r\n", bad[i]);
        CHECK_EQ_INT(parse_s(msg, &m, &e, &b), SD_EPARSE);
        free(b);
    }
}

/* RFC 3261 7.3.1: folded lines are one header; compact forms classify. */
TEST(test_parse_folding_and_compact)
{
    const char *s = "OPTIONS sip:b@example.com SIP/2.0\r\n"
                    "v: SIP/2.0/UDP a.example.com\r\n ;branch=z9hG4bK1\r\n"
                    "Max-Forwards: 70\r\nt: <sip:b@example.com>\r\n"
                    "f: <sip:a@example.com>\r\n\t;tag=77\r\n"
                    "i: x@y\r\nCSeq: 1\r\n  OPTIONS\r\nl: 0\r\n\r\n";
    sd_msg m;
    sd_error e;
    char *b;
    CHECK_EQ_INT(parse_s(s, &m, &e, &b), SD_OK);
    CHECK_SPAN(b, m.from_tag, "77");
    CHECK_SPAN(b, m.via_branch, "z9hG4bK1");
    CHECK_SPAN(b, m.call_id, "x@y");
    CHECK_EQ_INT(m.cseq, 1);
    CHECK(m.hdrs[0].flags & SD_HF_FOLDED);
    CHECK_EQ_INT(m.hdrs[0].id, SD_H_VIA);
    char out[128];
    size_t n = sd_unfold(b + m.hdrs[0].value.off, m.hdrs[0].value.len, out);
    CHECK(n == strlen("SIP/2.0/UDP a.example.com ;branch=z9hG4bK1") &&
          memcmp(out, "SIP/2.0/UDP a.example.com ;branch=z9hG4bK1", n) == 0);
    free(b);
}

/* RFC 3261 25.1: CTLs are forbidden in header lines except in quoted-pairs;
 * a CR must be followed by LF. Offsets point at the octet. */
TEST(test_parse_control_octets)
{
    char s[512];
    const char *head = "OPTIONS sip:b@example.com SIP/2.0\r\nSubject: a";
    const char *tail = "b\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nTo: <sip:b@e.com>\r\n"
                       "From: <sip:a@e.com>;tag=1\r\nCall-ID: c@d\r\nCSeq: 1 OPTIONS\r\n\r\n";
    const char bad[] = {0x00, 0x07, '\r', '\n', 0x7f};
    for (size_t i = 0; i < sizeof bad; i++) {
        size_t n = (size_t)snprintf(s, sizeof s, "%s", head);
        s[n++] = bad[i];
        n += (size_t)snprintf(s + n, sizeof s - n, "%s", tail);
        sd_msg m;
        sd_error e;
        char *b;
        sd_err rc = parse_opts(s, n, NULL, &m, &e, &b);
        CHECK_EQ_INT(rc, SD_EPARSE);
        if (bad[i] != '\n') CHECK_EQ_INT(e.offset, strlen(head));
        free(b);
    }
    /* quoted-pair may carry NUL (RFC 4475 3.1.1.2) */
    const char q[] = "OPTIONS sip:b@example.com SIP/2.0\r\nTo: \"a\\\0b\" <sip:b@e.com>\r\n"
                     "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n"
                     "From: <sip:a@e.com>;tag=1\r\nCall-ID: c@d\r\nCSeq: 1 OPTIONS\r\n\r\n";
    sd_msg m;
    sd_error e;
    char *b;
    CHECK_EQ_INT(parse_opts(q, sizeof q - 1, NULL, &m, &e, &b), SD_OK);
    free(b);
}

/* RFC 3261 18.3, 20.14: Content-Length framing in datagram and stream mode. */
TEST(test_parse_content_length)
{
    const char *base = "MESSAGE sip:b@example.com SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nTo: <sip:b@e.com>\r\n"
                       "From: <sip:a@e.com>;tag=1\r\nCall-ID: c@d\r\nCSeq: 1 MESSAGE\r\n";
    char s[1024];
    sd_msg m;
    sd_error e;
    char *b;
    /* smaller: truncates */
    snprintf(s, sizeof s, "%sContent-Length: 2\r\n\r\nhello", base);
    CHECK_EQ_INT(parse_s(s, &m, &e, &b), SD_OK);
    CHECK_SPAN(b, m.body, "he");
    CHECK_EQ_INT(m.msg_len, strlen(s) - 3);
    free(b);
    /* larger: error */
    snprintf(s, sizeof s, "%sContent-Length: 6\r\n\r\nhello", base);
    CHECK_EQ_INT(parse_s(s, &m, &e, &b), SD_EPARSE);
    free(b);
    /* absent: rest of the datagram; error on a stream */
    snprintf(s, sizeof s, "%s\r\nhello", base);
    CHECK_EQ_INT(parse_s(s, &m, &e, &b), SD_OK);
    CHECK_SPAN(b, m.body, "hello");
    free(b);
    sd_parse_opts o;
    sd_parse_opts_default(&o);
    o.flags = SD_PARSE_STREAM;
    CHECK_EQ_INT(parse_opts(s, strlen(s), &o, &m, &e, &b), SD_EPARSE);
    free(b);
    /* signed, non-digit, duplicated with another value */
    const char *bad[] = {"Content-Length: -1\r\n", "Content-Length: +1\r\n", "Content-Length: 1x\r\n",
                         "Content-Length: 1\r\nl: 2\r\n", "Content-Length: 99999999999999999999\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(s, sizeof s, "%s%s\r\nhello", base, bad[i]);
        CHECK(parse_s(s, &m, &e, &b) != SD_OK);
        free(b);
    }
    snprintf(s, sizeof s, "%sContent-Length: 5\r\nl: 5\r\n\r\nhello", base);
    CHECK_EQ_INT(parse_s(s, &m, &e, &b), SD_OK);
    free(b);
}

/* Limits: accepted at the limit, SD_ELIMIT one past it. */
TEST(test_parse_limits)
{
    sd_parse_opts o;
    sd_parse_opts_default(&o);
    const char *s = "OPTIONS sip:b@example.com SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP h;branch=z9hG4bK1, SIP/2.0/UDP g\r\nMax-Forwards: 70\r\n"
                    "To: <sip:b@e.com>\r\nFrom: <sip:a@e.com>;tag=12345\r\nCall-ID: 0123456789\r\n"
                    "CSeq: 1 OPTIONS\r\nContent-Length: 3\r\n\r\nabc";
    sd_msg m;
    sd_error e;
    char *b;
    size_t n = strlen(s);
    o.limits.max_message = (uint32_t)n;
    CHECK_EQ_INT(parse_opts(s, n, &o, &m, &e, &b), SD_OK);
    free(b);
    o.limits.max_message = (uint32_t)n - 1;
    CHECK_EQ_INT(parse_opts(s, n, &o, &m, &e, &b), SD_ELIMIT);
    free(b);
    sd_parse_opts_default(&o);
    o.limits.max_via = 2;
    CHECK_EQ_INT(parse_opts(s, n, &o, &m, &e, &b), SD_OK);
    free(b);
    o.limits.max_via = 1;
    CHECK_EQ_INT(parse_opts(s, n, &o, &m, &e, &b), SD_ELIMIT);
    free(b);
    sd_parse_opts_default(&o);
    o.limits.max_call_id = 10;
    CHECK_EQ_INT(parse_opts(s, n, &o, &m, &e, &b), SD_OK);
    free(b);
    o.limits.max_call_id = 9;
    CHECK_EQ_INT(parse_opts(s, n, &o, &m, &e, &b), SD_ELIMIT);
    free(b);
    sd_parse_opts_default(&o);
    o.limits.max_tag = 4;
    CHECK_EQ_INT(parse_opts(s, n, &o, &m, &e, &b), SD_ELIMIT);
    free(b);
    sd_parse_opts_default(&o);
    o.limits.max_headers = 7;
    CHECK_EQ_INT(parse_opts(s, n, &o, &m, &e, &b), SD_OK);
    free(b);
    o.limits.max_headers = 6;
    CHECK_EQ_INT(parse_opts(s, n, &o, &m, &e, &b), SD_ELIMIT);
    free(b);
    sd_parse_opts_default(&o);
    o.limits.max_body = 3;
    CHECK_EQ_INT(parse_opts(s, n, &o, &m, &e, &b), SD_OK);
    free(b);
    o.limits.max_body = 2;
    CHECK_EQ_INT(parse_opts(s, n, &o, &m, &e, &b), SD_ELIMIT);
    free(b);
}

/* RFC 3261 8.1.1 mandatory headers; RFC 2543 mode relaxes Max-Forwards. */
TEST(test_parse_mandatory)
{
    const char *s = "OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nTo: <sip:b@e.com>\r\n"
                    "From: <sip:a@e.com>\r\nCall-ID: c@d\r\nCSeq: 1 OPTIONS\r\n\r\n";
    sd_msg m;
    sd_error e;
    char *b;
    CHECK_EQ_INT(parse_s(s, &m, &e, &b), SD_EPARSE);
    CHECK(strstr(e.reason, "Max-Forwards") != NULL);
    free(b);
    sd_parse_opts o;
    sd_parse_opts_default(&o);
    o.flags = SD_PARSE_RFC2543;
    CHECK_EQ_INT(parse_opts(s, strlen(s), &o, &m, &e, &b), SD_OK);
    CHECK_EQ_INT(m.max_forwards, -1);
    free(b);
}

/* RFC 3261 18.3 / RFC 5626 3.5.1: stream framing skips keep-alive CRLFs. */
TEST(test_frame)
{
    const char *s = "\r\n\r\nOPTIONS sip:b@e.com SIP/2.0\r\nl: 3\r\nCSeq: 1 OPTIONS\r\n\r\nabcNEXT";
    size_t skip = 0, len = 0;
    sd_error e;
    CHECK_EQ_INT(sd_msg_frame(s, strlen(s), NULL, &skip, &len, &e), SD_OK);
    CHECK_EQ_INT(skip, 4);
    CHECK_EQ_INT(len, strlen(s) - 4 - 4);
    for (size_t cut = 4; cut < skip + len; cut++)
        CHECK_EQ_INT(sd_msg_frame(s, cut, NULL, &skip, &len, &e), SD_EAGAIN);
    const char *nocl = "OPTIONS sip:b@e.com SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n";
    CHECK_EQ_INT(sd_msg_frame(nocl, strlen(nocl), NULL, &skip, &len, &e), SD_EPARSE);
    sd_limits l;
    sd_limits_default(&l);
    l.max_message = 16;
    CHECK_EQ_INT(sd_msg_frame(nocl, strlen(nocl), &l, &skip, &len, &e), SD_ELIMIT);
}

/* Serializer: parts are checked; Content-Length written from the body. */
TEST(test_build)
{
    sd_buf b;
    sd_buf_init(&b);
    sd_str names[] = {{"Via", 3}, {"Call-ID", 7}};
    sd_str values[] = {{"SIP/2.0/UDP h", 13}, {"c@d", 3}};
    sd_error e;
    CHECK_EQ_INT(sd_msg_build(&b, (sd_str){"BYE", 3}, (sd_str){"sip:b@e.com", 11}, 0, (sd_str){NULL, 0}, names,
                              values, NULL, 2, "x", 1, &e),
                 SD_OK);
    const char *want = "BYE sip:b@e.com SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nCall-ID: c@d\r\nContent-Length: 1\r\n\r\nx";
    CHECK(b.len == strlen(want) && memcmp(b.p, want, b.len) == 0);
    size_t before = b.len;
    sd_str evil[] = {{"Subject", 7}};
    sd_str evilv[] = {{"a\r\nX: 1", 7}};
    CHECK_EQ_INT(sd_msg_build(&b, (sd_str){"BYE", 3}, (sd_str){"sip:b@e.com", 11}, 0, (sd_str){NULL, 0}, evil,
                              evilv, NULL, 1, NULL, 0, &e),
                 SD_EVALID);
    CHECK_EQ_INT(b.len, before);
    /* values copied from a parsed message keep quoted-pair CTLs (RFC 4475 3.1.1.2), never CR/LF */
    sd_str to[] = {{"To", 2}};
    sd_str tov[] = {{"\"B\\\aob\" <sip:b@h>", 17}};
    uint8_t copied[] = {1};
    CHECK_EQ_INT(sd_msg_build(&b, (sd_str){"BYE", 3}, (sd_str){"sip:b@e.com", 11}, 0, (sd_str){NULL, 0}, to, tov,
                              copied, 1, NULL, 0, &e),
                 SD_OK);
    CHECK_EQ_INT(sd_msg_build(&b, (sd_str){"BYE", 3}, (sd_str){"sip:b@e.com", 11}, 0, (sd_str){NULL, 0}, to, tov,
                              NULL, 1, NULL, 0, &e),
                 SD_EVALID);
    sd_str tocr[] = {{"\"B\\\rob\" <sip:b@h>", 17}};
    CHECK_EQ_INT(sd_msg_build(&b, (sd_str){"BYE", 3}, (sd_str){"sip:b@e.com", 11}, 0, (sd_str){NULL, 0}, to, tocr,
                              copied, 1, NULL, 0, &e),
                 SD_EVALID);
    CHECK_EQ_INT(sd_msg_build(&b, (sd_str){NULL, 0}, (sd_str){NULL, 0}, 700, (sd_str){"X", 1}, NULL, NULL, NULL, 0, NULL,
                              0, &e),
                 SD_EVALID);
    /* every Content-Length of the parts is checked against the body and
     * skipped: one is written, from the body length (RFC 3261 20.14) */
    sd_str cln[] = {{"Content-Length", 14}, {"Call-ID", 7}, {"l", 1}};
    sd_str clv[] = {{"7", 1}, {"c@d", 3}, {"007", 3}};
    b.len = 0;
    CHECK_EQ_INT(sd_msg_build(&b, (sd_str){"BYE", 3}, (sd_str){"sip:b@e.com", 11}, 0, (sd_str){NULL, 0}, cln, clv,
                              NULL, 3, "1234567", 7, &e),
                 SD_OK);
    want = "BYE sip:b@e.com SIP/2.0\r\nCall-ID: c@d\r\nContent-Length: 7\r\n\r\n1234567";
    CHECK(b.len == strlen(want) && memcmp(b.p, want, b.len) == 0);
    /* 1*DIGIT with leading zeros compares by value; no overflow on long values */
    static const char *const clbad[] = {"8", "0007x", "", "+7", " 7", "70", "0", "18446744073709551623",
                                        "99999999999999999999999999999999999999"};
    for (size_t k = 0; k < sizeof clbad / sizeof clbad[0]; k++) {
        sd_str v1[] = {{"7", 1}, {"c@d", 3}, {clbad[k], strlen(clbad[k])}};
        CHECK_EQ_INT(sd_msg_build(&b, (sd_str){"BYE", 3}, (sd_str){"sip:b@e.com", 11}, 0, (sd_str){NULL, 0}, cln,
                                  v1, NULL, 3, "1234567", 7, &e),
                     SD_EVALID);
    }
    sd_str zeros[] = {{"0000000000000000000000000000000", 31}};
    CHECK_EQ_INT(sd_msg_build(&b, (sd_str){"BYE", 3}, (sd_str){"sip:b@e.com", 11}, 0, (sd_str){NULL, 0}, cln, zeros,
                              NULL, 1, NULL, 0, &e),
                 SD_OK);
    /* a Request-URI beyond the 32-bit span offsets fills err (never read:
     * the length is checked first) */
    memset(&e, 0, sizeof e);
    CHECK_EQ_INT(sd_msg_build(&b, (sd_str){"BYE", 3}, (sd_str){"sip:b@e.com", (size_t)0xffffffffu + 1}, 0,
                              (sd_str){NULL, 0}, NULL, NULL, NULL, 0, NULL, 0, &e),
                 SD_EVALID);
    CHECK_EQ_INT(e.code, SD_EVALID);
    CHECK(strstr(e.reason, "Request-URI") != NULL);
    sd_buf_free(&b);
}

/* Header names: every compact form and case-insensitive long forms. */
TEST(test_hdr_lookup)
{
    const char *c = "abcdefijklmnorstuvxy";
    for (const char *p = c; *p; p++) {
        sd_hdr_id id = sd_hdr_lookup(p, 1);
        CHECK(id != SD_H_OTHER);
        CHECK_EQ_INT(sd_hdr_compact(id), *p);
        const char *name = sd_hdr_name(id);
        CHECK_EQ_INT(sd_hdr_lookup(name, strlen(name)), id);
    }
    CHECK_EQ_INT(sd_hdr_lookup("cAlL-iD", 7), SD_H_CALL_ID);
    CHECK_EQ_INT(sd_hdr_lookup("WWW-AUTHENTICATE", 16), SD_H_WWW_AUTHENTICATE);
    CHECK_EQ_INT(sd_hdr_lookup("Call_ID", 7), SD_H_OTHER);
    CHECK_EQ_INT(sd_hdr_lookup("C%6Fntact", 9), SD_H_OTHER);
    CHECK_EQ_INT(sd_hdr_lookup("g", 1), SD_H_OTHER);
    for (int id = 1; id < SD_H__COUNT; id++) {
        const char *name = sd_hdr_name((sd_hdr_id)id);
        CHECK_EQ_INT(sd_hdr_lookup(name, strlen(name)), id);
    }
}

/* The one-step Via line and the Request-URI shortcut give what the general
 * path gives: same spans, counts, limits and errors. */
TEST(test_parse_via_line_and_ruri_fast)
{
    const char *s = "INVITE sip:bob@biloxi.example.com:5060;transport=udp;lr SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP proxy1.atlanta.example.com:5060;branch=z9hG4bK2d4790.1;received=192.0.2.111\r\n"
                    "Via: SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bKx\r\n"
                    "v: SIP/2.0/TLS h3.example.com;branch=z9hG4bKy\r\n"
                    "Max-Forwards: 70\r\n"
                    "To: <sip:bob@biloxi.example.com>\r\nFrom: <sip:a@e.com>;tag=12345\r\nCall-ID: x\r\n"
                    "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    sd_parse_opts o;
    sd_msg m;
    sd_error e;
    char *b;
    CHECK_EQ_INT(parse_s(s, &m, &e, &b), SD_OK);
    CHECK_EQ_INT(m.via_count, 3);
    CHECK_SPAN(b, m.via_branch, "z9hG4bK2d4790.1");
    CHECK_SPAN(b, m.ruri, "sip:bob@biloxi.example.com:5060;transport=udp;lr");
    CHECK_SPAN(b, H[0].name, "Via");
    CHECK_SPAN(b, H[0].value,
               "SIP/2.0/UDP proxy1.atlanta.example.com:5060;branch=z9hG4bK2d4790.1;received=192.0.2.111");
    CHECK_EQ_INT(H[0].id, SD_H_VIA);
    CHECK_EQ_INT(H[0].flags, 0);
    CHECK_EQ_INT(m.first[SD_H_VIA], 0);
    CHECK_EQ_INT(sd_msg_next(&m, SD_H_VIA, 0), 1);
    CHECK_EQ_INT(sd_msg_next(&m, SD_H_VIA, 1), 2);
    free(b);

    sd_parse_opts_default(&o);
    o.limits.max_via = 2;
    CHECK_EQ_INT(parse_opts(s, strlen(s), &o, &m, &e, &b), SD_ELIMIT);
    CHECK(strstr(e.reason, "Via") != NULL);
    free(b);

    /* a bad received on the one-step path is reported by the general one */
    const char *t = "OPTIONS sip:b@e.com SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1;received=192.0.2.256\r\n"
                    "Max-Forwards: 70\r\nTo: <sip:b@e.com>\r\nFrom: <sip:a@e.com>;tag=1\r\nCall-ID: x\r\n"
                    "CSeq: 1 OPTIONS\r\n\r\n";
    CHECK_EQ_INT(parse_s(t, &m, &e, &b), SD_EPARSE);
    CHECK(strstr(e.reason, "received") != NULL);
    free(b);

    /* Request-URIs off the shortcut's shape still get the full checks */
    static const char *const bad[] = {"sip:b@e.com?x=y", "sip:@e.com", "sip:b@e.com:70000", "sip:b@e.com;=x",
                                      "sip:b@-e.com", "sip:b@e.com;x="};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "OPTIONS %s SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n"
                 "To: <sip:b@e.com>\r\nFrom: <sip:a@e.com>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
                 bad[k]);
        CHECK_EQ_INT(parse_s(msg, &m, &e, &b), SD_EPARSE);
        CHECK(e.offset >= 8 && e.offset <= 8 + strlen(bad[k])); /* inside the Request-URI */
        free(b);
    }
}

/* The one-step From/To/Contact/Route/Record-Route lines (canonical names)
 * give exactly what the general path gives for the same value under a
 * lower-case name: result, error offset and reason, tags and spans. */
TEST(test_nameaddr_line_fast_path)
{
    static const char *const vals[] = {
        "<sip:a@b.example.com>;tag=xyz", "\"Alice A.\" <sip:a@b.example.com>;tag=1;x=2", "\"A\"<sip:a@b>",
        "<sip:a@b>;TaG=7;tag=8", "<sip:a@b>;x;y=1", "<sip:a@b>;tag", "<sip:a@b>;tag=", "<sip:a@b>;tag=a\"b\"",
        "<sip:a@b>;", "<sip:a@b>x", "<sip:a@b> ;tag=1", "<sip:a b>", "<sip:a<b>", "<sip:>", "<sips:a@b>;tag=1",
        "<tel:+1>;tag=2", "\"a\\\"b\" <sip:a@b>", "\"unterminated <sip:a@b>", "<sip:a@b;lr>;tag=0123456789012345678",
        "<sip:a@b?x=y>;tag=1", "<sip:a@[::1]:5060;transport=tcp>", "<sip:a@b>;tag=1,<sip:c@d>", "<sip:a@-b>;tag=1",
        "<sip:a@b>;+sip.instance=\"<urn:x>\"", "*", "\"x\" sip:a@b",
    };
    static const char *const names[][2] = {{"From", "from"}, {"To", "to"}, {"Contact", "contact"},
                                           {"Route", "route"}, {"Record-Route", "record-route"}};
    for (int flags = 0; flags < 2; flags++) {
        sd_parse_opts o;
        sd_parse_opts_default(&o);
        o.flags = flags ? SD_PARSE_CHECK_URIS : 0;
        o.limits.max_tag = 16;
        for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
            for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
                char a[512], b[512];
                static const char rest[] = "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: c\r\nCSeq: 1 BYE\r\n"
                                           "Max-Forwards: 70\r\nFrom: <sip:f@g>;tag=9\r\nTo: <sip:t@u>\r\n";
                int la = snprintf(a, sizeof a, "BYE sip:x@y SIP/2.0\r\n%s: %s\r\n%s\r\n", names[k][0], vals[v], rest);
                int lb = snprintf(b, sizeof b, "BYE sip:x@y SIP/2.0\r\n%s: %s\r\n%s\r\n", names[k][1], vals[v], rest);
                sd_msg ma, mb;
                sd_header hb[16];
                sd_error ea, eb;
                memset(&ea, 0, sizeof ea);
                memset(&eb, 0, sizeof eb);
                sd_err ra = sd_msg_parse(a, (size_t)la, &o, &ma, H, 16, &ea);
                sd_err rb = sd_msg_parse(b, (size_t)lb, &o, &mb, hb, 16, &eb);
                int same = ra == rb;
                if (same && ra != SD_OK) same = ea.offset == eb.offset && strcmp(ea.reason, eb.reason) == 0;
                if (same && ra == SD_OK)
                    same = ma.nhdrs == mb.nhdrs && memcmp(&ma.first, &mb.first, sizeof ma.first) == 0 &&
                           ma.has_from_tag == mb.has_from_tag && ma.has_to_tag == mb.has_to_tag &&
                           ma.from_tag.off == mb.from_tag.off && ma.from_tag.len == mb.from_tag.len &&
                           ma.to_tag.off == mb.to_tag.off && ma.to_tag.len == mb.to_tag.len &&
                           H[0].value.off == hb[0].value.off && H[0].value.len == hb[0].value.len &&
                           H[0].name.len == hb[0].name.len && H[0].id == hb[0].id;
                if (!same) fprintf(stderr, "differs: %s: %s (%d %d)\n", names[k][0], vals[v], ra, rb);
                CHECK(same);
            }
        }
    }
}
