/* test_list.c - sd_list_next and sd_unfold. */
#include "tcheck.h"
#include "sipdialog/msg.h"

#include <stdlib.h>

/* Split s (an exact-size heap copy) into at most 8 items; returns the item
 * count, or -1 - count when the list turns malformed. Items are copied to
 * out[k] as NUL-terminated strings. */
static int split(const char *s, char out[8][64])
{
    size_t n = strlen(s);
    char *b = malloc(n ? n : 1);
    memcpy(b, s, n);
    sd_span v = {0, (uint32_t)n}, it;
    uint32_t pos = 0;
    int r = 0, c = 0;
    while (c < 8 && (r = sd_list_next(b, v, &pos, &it)) == 1) {
        size_t l = it.len < 63 ? it.len : 63;
        memcpy(out[c], b + it.off, l);
        out[c][l] = '\0';
        c++;
    }
    free(b);
    return r < 0 ? -1 - c : c;
}

/* RFC 3261 7.3.1: comma-separated values, LWS around the commas */
TEST(test_list_basic)
{
    char it[8][64];
    CHECK_EQ_INT(split("a, b ,c", it), 3);
    CHECK(strcmp(it[0], "a") == 0);
    CHECK(strcmp(it[1], "b") == 0);
    CHECK(strcmp(it[2], "c") == 0);

    /* RFC 4475 3.1.1.9 (semiuri): Accept on folded lines */
    CHECK_EQ_INT(split("application/sdp, application/pkcs7-mime,\r\n        multipart/mixed, multipart/signed,\r\n        message/sip, message/sipfrag", it), 6);
    CHECK(strcmp(it[2], "multipart/mixed") == 0);
    CHECK(strcmp(it[5], "message/sipfrag") == 0);

    CHECK_EQ_INT(split("single", it), 1);
    CHECK_EQ_INT(split("  padded\t", it), 1);
    CHECK(strcmp(it[0], "padded") == 0);
    /* an empty or all-LWS value has no element */
    CHECK_EQ_INT(split("", it), 0);
    CHECK_EQ_INT(split(" \r\n ", it), 0);
}

/* RFC 3261 7.3.1, 25.1: commas inside quoted-strings (with quoted-pairs) and <...> do not split */
TEST(test_list_quotes_angles)
{
    char it[8][64];
    CHECK_EQ_INT(split("\"Doe, John\" <sip:j@x>;q=1, <sip:a,b@x>", it), 2);
    CHECK(strcmp(it[0], "\"Doe, John\" <sip:j@x>;q=1") == 0);
    CHECK(strcmp(it[1], "<sip:a,b@x>") == 0);

    CHECK_EQ_INT(split("\"a\\\",b\" <sip:x@y>, c", it), 2);
    CHECK(strcmp(it[0], "\"a\\\",b\" <sip:x@y>") == 0);
    CHECK_EQ_INT(split("\"a\\\\\", b", it), 2); /* escaped backslash ends the string */
    CHECK(strcmp(it[1], "b") == 0);
    CHECK_EQ_INT(split("<sip:x@y?a=\"b,c\">, d", it), 2);
    CHECK_EQ_INT(split("a>b, c", it), 2);    /* a stray '>' is an ordinary octet */
}

/* RFC 3261 7.3.1 (and RFC 4475 3.1.2.1 badinv01): an empty element is malformed */
TEST(test_list_reject)
{
    char it[8][64];
    CHECK_EQ_INT(split(",a", it), -1);
    CHECK_EQ_INT(split(" , a", it), -1);
    CHECK_EQ_INT(split("a,,b", it), -2);
    CHECK_EQ_INT(split("a, ,b", it), -2);
    CHECK_EQ_INT(split("a,", it), -2);
    CHECK_EQ_INT(split("a, \r\n ", it), -2);
    CHECK_EQ_INT(split(",", it), -1);
    CHECK_EQ_INT(split("SIP/2.0/UDP 192.0.2.15;;,;,,", it), -3);
    CHECK(strcmp(it[0], "SIP/2.0/UDP 192.0.2.15;;") == 0);
    CHECK(strcmp(it[1], ";") == 0);
    CHECK_EQ_INT(split("\"abc, d", it), -1);  /* unterminated quoted-string */
    CHECK_EQ_INT(split("a, \"x\\", it), -2);
    CHECK_EQ_INT(split("<sip:a, b", it), -1); /* '<' without '>' */
}

/* Spans are relative to base; nothing past the span is read; a bad *pos is -1 */
TEST(test_list_offsets)
{
    const char *base = "Route: <sip:a@b>, <sip:c@d>,<sip:e@f>";
    sd_span v = {7, 20}, it; /* "<sip:a@b>, <sip:c@d>" */
    uint32_t pos = 0;
    CHECK_EQ_INT(sd_list_next(base, v, &pos, &it), 1);
    CHECK_EQ_INT(it.off, 7);
    CHECK_SPAN(base, it, "<sip:a@b>");
    CHECK_EQ_INT(sd_list_next(base, v, &pos, &it), 1);
    CHECK_SPAN(base, it, "<sip:c@d>");
    CHECK_EQ_INT(sd_list_next(base, v, &pos, &it), 0);
    CHECK_EQ_INT(sd_list_next(base, v, &pos, &it), 0);

    pos = 5; /* not at a separator */
    CHECK_EQ_INT(sd_list_next(base, v, &pos, &it), -1);
    pos = 21;
    CHECK_EQ_INT(sd_list_next(base, v, &pos, &it), -1);
}

static size_t unfold_str(const char *s, char *out)
{
    size_t n = sd_unfold(s, strlen(s), out);
    out[n] = '\0';
    return n;
}

/* RFC 3261 7.3.1, 25.1 LWS = [*WSP CRLF] 1*WSP: a fold is equivalent to one SP */
TEST(test_unfold)
{
    char out[128];
    CHECK_EQ_INT(unfold_str("a\r\n b", out), 3);
    CHECK(strcmp(out, "a b") == 0);
    unfold_str("a \t\r\n\t  b", out);
    CHECK(strcmp(out, "a b") == 0);
    unfold_str("a\r\n \r\n b", out);
    CHECK(strcmp(out, "a b") == 0);
    unfold_str("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2", out);
    CHECK(strcmp(out, "SIP  /   2.0 /UDP 192.0.2.2") == 0);
    unfold_str("a\n\tb", out); /* a bare LF fold too */
    CHECK(strcmp(out, "a b") == 0);
    /* not folds: kept as they are */
    unfold_str("a  \tb", out);
    CHECK(strcmp(out, "a  \tb") == 0);
    unfold_str("a\r\nb", out);
    CHECK(strcmp(out, "a\r\nb") == 0);
    unfold_str("a\r\n", out);
    CHECK(strcmp(out, "a\r\n") == 0);
    unfold_str("a \r", out);
    CHECK(strcmp(out, "a \r") == 0);
    unfold_str("\r\n x", out);
    CHECK(strcmp(out, " x") == 0);
    CHECK_EQ_INT(sd_unfold("", 0, out), 0);
    /* the length bounds the input: a fold cut before its SP is no fold */
    CHECK_EQ_INT(sd_unfold("a\r\n b", 3, out), 3);
    CHECK(memcmp(out, "a\r\n", 3) == 0);
    /* NUL bytes pass through */
    CHECK_EQ_INT(sd_unfold("a\0\r\n b", 6, out), 4);
    CHECK(memcmp(out, "a\0 b", 4) == 0);
}

/* Quoted strings, quoted-pairs and <...> that straddle 16-octet blocks,
 * and ',' just before the end of the value. */
TEST(test_list_long_items)
{
    char out[8][64];
    CHECK_EQ_INT(split("\"a very long display, name\" <sip:x@example.com;a=b,c>, <sip:y>", out), 2);
    CHECK(strcmp(out[0], "\"a very long display, name\" <sip:x@example.com;a=b,c>") == 0);
    CHECK(strcmp(out[1], "<sip:y>") == 0);
    CHECK_EQ_INT(split("\"0123456789abcd\\\"ef, gh\" <sip:a>,<sip:b>", out), 2);
    CHECK(strcmp(out[0], "\"0123456789abcd\\\"ef, gh\" <sip:a>") == 0);
    CHECK_EQ_INT(split("<sip:0123456789abcdef0123456789>,x", out), 2);
    CHECK_EQ_INT(split("<sip:0123456789abcdef0123456789>,", out), -2);
    CHECK_EQ_INT(split("<sip:0123456789abcdef0123456789", out), -1);
    CHECK_EQ_INT(split("\"0123456789abcdef0123456789\\", out), -1);
    CHECK_EQ_INT(split("\"0123456789abcdef0123456789\\\"", out), -1);
    CHECK_EQ_INT(split("aaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbbbbbb,c", out), 3);
    CHECK(strcmp(out[1], "bbbbbbbbbbbbbbbbbbbb") == 0);
}
