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
    for (size_t len = 2; len < 72; len++) {
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

/* A response-free request whose From value and Request-URI are given. */
static sd_err with_from_ruri(const char *ruri, const char *from, sd_msg *m, sd_error *e)
{
    static char msg[1024];
    snprintf(msg, sizeof msg,
             "BYE %s SIP/2.0\r\n"
             "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
             "Max-Forwards: 70\r\nTo: <sip:bob@biloxi.example.com>\r\n"
             "From: %s\r\nCall-ID: c@d\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
             ruri, from);
    return fparse(msg, m, e);
}

/* From in one pass: display names with and without quoted-pairs, tag
 * values of every length around the 16-octet step, token octets that are
 * not alphanumeric, and what ends a token. */
TEST(test_fast_from)
{
    sd_msg m;
    sd_error e;
    char from[200], tag[80];
    CHECK_EQ_INT(with_from_ruri("sip:b@e.com", "\"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774", &m, &e),
                 SD_OK);
    CHECK_EQ_INT(m.from_tag.len, 10);
    CHECK_EQ_INT(with_from_ruri("sip:b@e.com", "\"Al\\\"ice\" <sip:alice@atlanta.example.com>;tag=19", &m, &e), SD_OK);
    CHECK_EQ_INT(m.from_tag.len, 2);
    CHECK_EQ_INT(with_from_ruri("sip:b@e.com", "\"Al\\\\\" <sip:alice@atlanta.example.com>;tag=19", &m, &e), SD_OK);
    CHECK_EQ_INT(with_from_ruri("sip:b@e.com", "\"Alice <sip:alice@atlanta.example.com>;tag=19", &m, &e), SD_EPARSE);
    CHECK_EQ_INT(with_from_ruri("sip:b@e.com", "\"A\\", &m, &e), SD_EPARSE);
    for (size_t len = 1; len < 40; len++) {
        for (size_t k = 0; k < len; k++) tag[k] = "aZ09-.!%*_+`'~"[k % 14];
        tag[len] = '\0';
        snprintf(from, sizeof from, "\"A\" <sip:alice@atlanta.example.com>;tag=%s", tag);
        CHECK_EQ_INT(with_from_ruri("sip:b@e.com", from, &m, &e), SD_OK);
        CHECK_EQ_INT(m.from_tag.len, len);
        snprintf(from, sizeof from, "<sip:a@b.c>;x%s=1;tag=%s;y=%s", tag, tag, tag);
        CHECK_EQ_INT(with_from_ruri("sip:b@e.com", from, &m, &e), SD_OK);
        CHECK_EQ_INT(m.from_tag.len, len);
        /* a non-token octet at the end or inside the value */
        for (size_t bad = 0; bad < len; bad++) {
            char t2[80];
            memcpy(t2, tag, len + 1);
            t2[bad] = '[';
            snprintf(from, sizeof from, "<sip:alice@atlanta.example.com>;tag=%s", t2);
            CHECK_EQ_INT(with_from_ruri("sip:b@e.com", from, &m, &e), SD_EPARSE);
        }
    }
}

/* Request-URIs of the common shape: user and parameters of every length
 * around the 16-octet step, with USER and PARAM octets that are not
 * alphanumeric, and the octets that end them. */
TEST(test_fast_ruri)
{
    sd_msg m;
    sd_error e;
    char ruri[200], run[80];
    for (size_t len = 1; len < 40; len++) {
        for (size_t k = 0; k < len; k++) run[k] = "aZ09-_.!~*'()"[k % 13];
        run[len] = '\0';
        snprintf(ruri, sizeof ruri, "sip:%s@biloxi.example.com;%s=%s;lr", run, run, run);
        CHECK_EQ_INT(with_from_ruri(ruri, "<sip:a@b.c>;tag=1", &m, &e), SD_OK);
        CHECK_EQ_INT(m.ruri.len, strlen(ruri));
        snprintf(ruri, sizeof ruri, "sip:%s&=+$,;?/@biloxi.example.com;[]/:&+$%s=%s", run, run, run);
        CHECK_EQ_INT(with_from_ruri(ruri, "<sip:a@b.c>;tag=1", &m, &e), SD_OK);
        snprintf(ruri, sizeof ruri, "sip:%s\"@biloxi.example.com", run);
        CHECK_EQ_INT(with_from_ruri(ruri, "<sip:a@b.c>;tag=1", &m, &e), SD_EPARSE);
        snprintf(ruri, sizeof ruri, "sip:biloxi.example.com;%s=%s\"", run, run);
        CHECK_EQ_INT(with_from_ruri(ruri, "<sip:a@b.c>;tag=1", &m, &e), SD_EPARSE);
        snprintf(ruri, sizeof ruri, "sip:biloxi.example.com;%s=%s;", run, run);
        CHECK_EQ_INT(with_from_ruri(ruri, "<sip:a@b.c>;tag=1", &m, &e), SD_EPARSE);
    }
}

/* A request whose first Via line is `via` (CRLF and all) and whose
 * limits are the defaults but for max_header_line. */
static sd_err with_via_line(const char *via, uint32_t max_line, sd_msg *m, sd_error *e)
{
    static char msg[1024];
    sd_parse_opts o;
    snprintf(msg, sizeof msg,
             "BYE sip:b@e.com SIP/2.0\r\n%sMax-Forwards: 70\r\nTo: <sip:b@e.com>\r\n"
             "From: <sip:a@e.com>;tag=1\r\nCall-ID: c@d\r\nCSeq: 1 BYE\r\n\r\n",
             via);
    sd_parse_opts_default(&o);
    o.limits.max_header_line = max_line;
    size_t n = strlen(msg);
    char *b = malloc(n);
    memcpy(b, msg, n);
    sd_err rc = sd_msg_parse(b, n, &o, m, FH, 64, e);
    free(b);
    return rc;
}

/* The one-step Via line ends at its CR, which must be the first CTL of
 * the line: whatever else ends the entry goes the general way, with the
 * same verdict as before. */
TEST(test_fast_via_line_end)
{
    sd_msg m;
    sd_error e;
    const char *v = "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;received=192.0.2.101\r\n";
    CHECK_EQ_INT(with_via_line(v, 8192, &m, &e), SD_OK);
    CHECK_EQ_INT(m.via_count, 1);
    CHECK_EQ_INT(m.via_branch.len, 16);
    CHECK_EQ_INT(with_via_line(v, (uint32_t)strlen(v) - 2, &m, &e), SD_OK);
    CHECK_EQ_INT(with_via_line(v, (uint32_t)strlen(v) - 3, &m, &e), SD_ELIMIT);
    /* trailing HT and SP: LWS the general path trims */
    CHECK_EQ_INT(with_via_line("Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\t\r\n", 8192, &m, &e), SD_OK);
    CHECK_EQ_INT(with_via_line("Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1 \r\n", 8192, &m, &e), SD_OK);
    CHECK_EQ_INT(with_via_line("Via: SIP/2.0/UDP h.example.com:5060\t\r\n", 8192, &m, &e), SD_OK);
    /* a fold continues the entry */
    CHECK_EQ_INT(with_via_line("Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n ;rport\r\n", 8192, &m, &e), SD_OK);
    CHECK_EQ_INT(with_via_line("Via: SIP/2.0/UDP h.example.com\r\n\t;branch=z9hG4bK1\r\n", 8192, &m, &e), SD_OK);
    CHECK_EQ_INT(m.via_branch.len, 8);
    /* a CR without LF, a bare LF, NUL and DEL end nothing */
    CHECK_EQ_INT(with_via_line("Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\rX\r\n", 8192, &m, &e), SD_EPARSE);
    CHECK_EQ_INT(with_via_line("Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\nX\r\n", 8192, &m, &e), SD_EPARSE);
    CHECK_EQ_INT(with_via_line("Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\x7f\r\n", 8192, &m, &e), SD_EPARSE);
    CHECK_EQ_INT(with_via_line("Via: SIP/2.0/UDP h.example.com:5060\x01\r\n", 8192, &m, &e), SD_EPARSE);
    /* a second entry, a trailing ';' or '=' */
    CHECK_EQ_INT(with_via_line("Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1, SIP/2.0/TCP g\r\n", 8192, &m, &e),
                 SD_OK);
    CHECK_EQ_INT(m.via_count, 2);
    CHECK_EQ_INT(with_via_line("Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1;\r\n", 8192, &m, &e), SD_EPARSE);
    CHECK_EQ_INT(with_via_line("Via: SIP/2.0/UDP h.example.com;branch=\r\n", 8192, &m, &e), SD_EPARSE);
    CHECK_EQ_INT(with_via_line("Via: SIP/2.0/UDP h.example.com:\r\n", 8192, &m, &e), SD_EPARSE);
    CHECK_EQ_INT(with_via_line("Via: SIP/2.0/UDP h.example.com:5060;rport;rport\r\n", 8192, &m, &e), SD_EPARSE);
    /* received: the 255 rule on every three-digit run */
    const char *ok4[] = {"255.255.255.255", "199.250.249.0", "0.0.0.0", "1.22.100.200", "254.245.25.5"};
    const char *bad4[] = {"256.1.1.1", "1.260.1.1", "1.1.300.1", "1.1.1.999", "1.1.1.1.1", "1..1.1", "1.1.1.",
                          "1.1.1.1000", "1.1.1"};
    char line[200];
    for (size_t k = 0; k < sizeof ok4 / sizeof *ok4; k++) {
        snprintf(line, sizeof line, "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK1;received=%s\r\n",
                 ok4[k]);
        CHECK_EQ_INT(with_via_line(line, 8192, &m, &e), SD_OK);
    }
    for (size_t k = 0; k < sizeof bad4 / sizeof *bad4; k++) {
        snprintf(line, sizeof line, "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK1;received=%s\r\n",
                 bad4[k]);
        CHECK_EQ_INT(with_via_line(line, 8192, &m, &e), SD_EPARSE);
    }
}

/* CSeq numbers of every length from one to twelve digits, with and
 * without leading zeros, and what may follow them. */
TEST(test_fast_cseq_digits)
{
    sd_msg m;
    sd_error e;
    char cseq[64];
    for (int len = 1; len <= 12; len++) {
        unsigned long long want = 0;
        for (int k = 0; k < len; k++) {
            cseq[k] = (char)('1' + (k * 7) % 9);
            want = want * 10 + (unsigned long long)(cseq[k] - '0');
        }
        snprintf(cseq + len, sizeof cseq - (size_t)len, " BYE");
        sd_err rc = with_callid_cseq("BYE", "c@d", cseq, &m, &e);
        if (want < 2147483648ull) {
            CHECK_EQ_INT(rc, SD_OK);
            CHECK_EQ_INT(m.cseq, want);
        } else {
            CHECK_EQ_INT(rc, SD_EPARSE);
        }
        memset(cseq, '0', (size_t)len);
        cseq[len - 1] = '9';
        snprintf(cseq + len, sizeof cseq - (size_t)len, "\t BYE");
        CHECK_EQ_INT(with_callid_cseq("BYE", "c@d", cseq, &m, &e), SD_OK);
        CHECK_EQ_INT(m.cseq, 9);
        snprintf(cseq + len, sizeof cseq - (size_t)len, "x BYE");
        CHECK_EQ_INT(with_callid_cseq("BYE", "c@d", cseq, &m, &e), SD_EPARSE);
        cseq[len] = '\0';
        CHECK_EQ_INT(with_callid_cseq("BYE", "c@d", cseq, &m, &e), SD_EPARSE);
    }
    CHECK_EQ_INT(with_callid_cseq("BYE", "c@d", "x1 BYE", &m, &e), SD_EPARSE);
    CHECK(strstr(e.reason, "does not start with a number") != NULL);
}

/* Request-URI hosts of every length up to 40 octets, the readable bytes
 * after the URI notwithstanding. */
TEST(test_fast_ruri_host)
{
    sd_msg m;
    sd_error e;
    char ruri[200], host[64];
    for (size_t len = 1; len < 40; len++) {
        for (size_t k = 0; k < len; k++) host[k] = "biloxi.example-com"[k % 18];
        host[len] = '\0';
        int valid = host[len - 1] != '-' && host[len - 1] != '.' ? 1 : host[len - 1] == '.';
        snprintf(ruri, sizeof ruri, "sip:bob@%s", host);
        sd_err rc = with_from_ruri(ruri, "<sip:a@b.c>;tag=1", &m, &e);
        if (valid && host[len - 1] != '-') CHECK_EQ_INT(rc, SD_OK);
        snprintf(ruri, sizeof ruri, "sip:%s;transport=udp", host);
        CHECK_EQ_INT(with_from_ruri(ruri, "<sip:a@b.c>;tag=1", &m, &e), rc);
        snprintf(ruri, sizeof ruri, "sip:%s-", host);
        CHECK_EQ_INT(with_from_ruri(ruri, "<sip:a@b.c>;tag=1", &m, &e), SD_EPARSE);
        snprintf(ruri, sizeof ruri, "sip:%s:5060", host);
        CHECK_EQ_INT(with_from_ruri(ruri, "<sip:a@b.c>;tag=1", &m, &e), rc);
    }
}

/* Runs of one-step Via lines: each limit met within the run, and a line
 * of another shape between them, give what the line-by-line reading
 * gives. */
TEST(test_fast_via_runs)
{
    sd_msg m;
    sd_error e;
    char vias[1024] = "";
    for (int k = 0; k < 8; k++) {
        char one[128];
        snprintf(one, sizeof one, "Via: SIP/2.0/UDP h%d.example.com:5060;branch=z9hG4bK%d\r\n", k, k);
        strcat(vias, one);
        if (k == 4) strcat(vias, "Via: SIP/2.0/TCP g.example.com ;branch=z9hG4bKx\r\n"); /* the general way */
    }
    CHECK_EQ_INT(with_via_line(vias, 8192, &m, &e), SD_OK);
    CHECK_EQ_INT(m.via_count, 9);
    CHECK_EQ_INT(m.first[SD_H_VIA], 0);
    CHECK_EQ_INT(m.nhdrs, 14);
    CHECK_EQ_INT(m.via_branch.len, 8);
    for (uint32_t lim = 1; lim <= 10; lim++) {
        sd_parse_opts o;
        static char msg[2048];
        snprintf(msg, sizeof msg,
                 "BYE sip:b@e.com SIP/2.0\r\n%sMax-Forwards: 70\r\nTo: <sip:b@e.com>\r\n"
                 "From: <sip:a@e.com>;tag=1\r\nCall-ID: c@d\r\nCSeq: 1 BYE\r\n\r\n",
                 vias);
        size_t n = strlen(msg);
        char *b = malloc(n);
        memcpy(b, msg, n);
        sd_parse_opts_default(&o);
        o.limits.max_via = lim;
        sd_err rc = sd_msg_parse(b, n, &o, &m, FH, 64, &e);
        CHECK_EQ_INT(rc, lim >= 9 ? SD_OK : SD_ELIMIT);
        sd_parse_opts_default(&o);
        o.limits.max_headers = lim + 4;
        rc = sd_msg_parse(b, n, &o, &m, FH, 64, &e);
        CHECK_EQ_INT(rc, lim + 4 >= 14 ? SD_OK : SD_ELIMIT);
        rc = sd_msg_parse(b, n, NULL, &m, FH, lim + 4, &e);
        CHECK_EQ_INT(rc, lim + 4 >= 14 ? SD_OK : SD_ELIMIT);
        free(b);
    }
}
