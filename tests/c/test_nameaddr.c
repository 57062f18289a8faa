/* test_nameaddr.c - sd_nameaddr_parse. */
#include "tcheck.h"
#include "sipdialog/msg.h"

#include <stdlib.h>

/* Parse n bytes of s from an exact-size heap copy (sanitizers catch reads
 * past the span); spans in *na stay valid against s. */
static sd_err nap_n(const char *s, size_t n, int star, sd_nameaddr *na, sd_error *e)
{
    char *b = malloc(n ? n : 1);
    memcpy(b, s, n);
    sd_span v = {0, (uint32_t)n};
    sd_err rc = sd_nameaddr_parse(b, v, star, na, e);
    free(b);
    return rc;
}

static sd_err nap(const char *s, sd_nameaddr *na)
{
    sd_error e;
    return nap_n(s, strlen(s), 0, na, &e);
}

/* RFC 3261 25.1 name-addr with a quoted display-name; RFC 4475 3.1.1.1 (wsinv From, folded) */
TEST(test_nameaddr_quoted_display)
{
    sd_nameaddr na;
    const char *s = "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_EQ_INT(na.quoted_display, 1);
    CHECK_EQ_INT(na.has_brackets, 1);
    CHECK_SPAN(s, na.display, "J Rosenberg \\\\\\\"");
    CHECK_SPAN(s, na.uri, "sip:jdrosen@example.com");
    CHECK_SPAN(s, na.params, "tag = 98asjd8");

    s = "\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_SPAN(s, na.display, "Quoted string \\\"\\\"");
    CHECK_SPAN(s, na.params, "newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33");

    /* empty quoted display name; UTF-8 inside */
    s = "\"\" <sip:a@b>";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_EQ_INT(na.quoted_display, 1);
    CHECK_EQ_INT(na.display.len, 0);
    s = "\"\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\"<sip:a@b>";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_SPAN(s, na.display, "\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd");
}

/* RFC 3261 25.1 quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F); RFC 4475 3.1.1.2 (intmeth To) */
TEST(test_nameaddr_quoted_pair_ctl)
{
    sd_nameaddr na;
    sd_error e;
    static const char to[] = "\"BEL:\\\x07 NUL:\\\0 DEL:\\\x7f\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>";
    CHECK_EQ_INT(nap_n(to, sizeof to - 1, 0, &na, &e), SD_OK);
    CHECK_EQ_INT(na.display.off, 1);
    CHECK_EQ_INT(na.display.len, 20);
    CHECK(memcmp(to + na.display.off, "BEL:\\\x07 NUL:\\\0 DEL:\\\x7f", 20) == 0);
    CHECK_SPAN(to, na.uri, "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com");

    /* raw CTLs and quoted-pairs of CR, LF or non-ASCII are not allowed */
    static const char raw_nul[] = "\"a\0b\" <sip:x@y>";
    CHECK_EQ_INT(nap_n(raw_nul, sizeof raw_nul - 1, 0, &na, &e), SD_EPARSE);
    CHECK_EQ_INT(e.offset, 2);
    CHECK_EQ_INT(nap("\"a\x07\" <sip:x@y>", &na), SD_EPARSE);
    CHECK_EQ_INT(nap("\"a\\\n\" <sip:x@y>", &na), SD_EPARSE);
    CHECK_EQ_INT(nap("\"a\\\r\" <sip:x@y>", &na), SD_EPARSE);
    CHECK_EQ_INT(nap("\"a\\\xc3\xa9\" <sip:x@y>", &na), SD_EPARSE);
}

/* RFC 3261 25.1 display-name = *(token LWS); RFC 4475 3.1.1.2 (intmeth From), 3.1.1.6 (lwsdisp) */
TEST(test_nameaddr_token_display)
{
    sd_nameaddr na;
    const char *s = "token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\xd1\x80\";tag=_token~1'+`*%!-.";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_EQ_INT(na.quoted_display, 0);
    CHECK_SPAN(s, na.display, "token1~` token2'+_ token3*%!.-");
    CHECK_SPAN(s, na.uri, "sip:mundane@example.com");
    CHECK_SPAN(s, na.params, "fromParam''~+*_!.-%=\"\xd1\x80\";tag=_token~1'+`*%!-.");

    /* no LWS between the display-name and '<' */
    s = "caller<sip:caller@example.com>;tag=323";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_SPAN(s, na.display, "caller");
    CHECK_SPAN(s, na.uri, "sip:caller@example.com");
    CHECK_SPAN(s, na.params, "tag=323");

    s = "  <sip:x@y>  ";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_EQ_INT(na.display.len, 0);
    CHECK_EQ_INT(na.has_brackets, 1);
    CHECK_SPAN(s, na.uri, "sip:x@y");
    CHECK_EQ_INT(na.params.len, 0);

    s = "Alice\r\n Smith <sip:x@y>";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_SPAN(s, na.display, "Alice\r\n Smith");

    /* a single '*' token is a display name when followed by <...> */
    s = "* <sip:x@y>";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_SPAN(s, na.display, "*");
}

/* RFC 3261 20.10 and 20.20: addr-spec form, header params start at the first ';'; RFC 4475 3.3.12, 3.3.13 */
TEST(test_nameaddr_addr_spec)
{
    sd_nameaddr na;
    const char *s = "sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_EQ_INT(na.has_brackets, 0);
    CHECK_SPAN(s, na.uri, "sip:vivekg@chair-dnrc.example.com");
    CHECK_SPAN(s, na.params, "tag    = 1918181833n");

    /* cparam01: ;unknownparam is a contact parameter */
    s = "sip:+19725552222@gw1.example.net;unknownparam";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_SPAN(s, na.uri, "sip:+19725552222@gw1.example.net");
    CHECK_SPAN(s, na.params, "unknownparam");

    /* cparam02: inside <> it is a URI parameter */
    s = "<sip:+19725552222@gw1.example.net;unknownparam>";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_SPAN(s, na.uri, "sip:+19725552222@gw1.example.net;unknownparam");
    CHECK_EQ_INT(na.params.len, 0);

    /* regescrt: escaped headers are fine inside <> */
    s = "<sip:user@example.com?Route=%3Csip:sip.example.com%3E>";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_SPAN(s, na.uri, "sip:user@example.com?Route=%3Csip:sip.example.com%3E");

    /* RFC 4475 3.3.4 (unksm2): other schemes */
    s = "isbn:2983792873";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_SPAN(s, na.uri, "isbn:2983792873");
    s = "<http://www.example.com>;tag=3234233";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_SPAN(s, na.uri, "http://www.example.com");
    CHECK_SPAN(s, na.params, "tag=3234233");
    s = "<name:John_Smith>";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_SPAN(s, na.uri, "name:John_Smith");
}

/* RFC 3261 20.10: Contact "*" */
TEST(test_nameaddr_star)
{
    sd_nameaddr na;
    sd_error e;
    CHECK_EQ_INT(nap_n(" * ", 3, 1, &na, &e), SD_OK);
    CHECK_EQ_INT(na.is_star, 1);
    CHECK_EQ_INT(nap_n("*", 1, 0, &na, &e), SD_EPARSE);
    CHECK_EQ_INT(nap_n("*;q=1", 5, 1, &na, &e), SD_EPARSE);
    CHECK_EQ_INT(nap_n("<*>", 3, 1, &na, &e), SD_EPARSE);
}

/* RFC 3261 25.1 (name-addr, quoted-string, token), 20.10; RFC 4475 3.1.2.1, 3.1.2.6, 3.1.2.13-15 */
TEST(test_nameaddr_reject)
{
    sd_nameaddr na;
    static const char *const bad[] = {
        "\"Mr. J. User <sip:j.user@example.com>",         /* quotbal: unterminated quote */
        "< sip:t.watson@example.org >",                   /* badaspec: LWS inside <> */
        "<sip:t.watson@example.org >",
        "Bell, Alexander <sip:a.g.bell@example.com>;tag=43", /* baddn: ',' needs quotes */
        "Watson, Thomas <sip:t.watson@example.org>",
        "J. User@home <sip:x@y>",                         /* '@' needs quotes */
        "sip:user@example.com?Route=%3Csip:sip.example.com%3E", /* regbadct: '?' needs <> */
        "sip:a@b,c",                                       /* ',' needs <> */
        "\"Joe\" <sip:joe@example.org>;;;;",               /* badinv01 Contact */
        "<sip:x@y>;",                                      /* trailing ';' */
        "<sip:x@y>;tag=",                                  /* empty value */
        "<sip:x@y>;tag=1;;a",
        "<sip:x@y> junk",
        "<sip:x@y>x",
        "\"a\" sip:x@y",                                   /* quoted display without <> */
        "\"a\" ",
        "foo \"bar\" <sip:x@y>",
        "<>", "<foo>", "<sip:>", "<:x>", "<1x:y>", "sip:", "nocolon",
        "<sip:x@y",                                        /* missing '>' */
        "<sip:a<b>",
        "<sip:x\r\n@y>",
        "", "   ", "\r\n ",
        "sip:x@y sip:z@w",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        sd_err rc = nap(bad[k], &na);
        if (rc != SD_EPARSE) fprintf(stderr, "accepted: %s\n", bad[k]);
        CHECK_EQ_INT(rc, SD_EPARSE);
    }
}

/* Spans and error offsets are relative to base */
TEST(test_nameaddr_offsets)
{
    sd_nameaddr na;
    sd_error e;
    const char *base = "To: < sip:t.watson@example.org >";
    sd_span v = {4, (uint32_t)strlen(base) - 4};
    CHECK_EQ_INT(sd_nameaddr_parse(base, v, 0, &na, &e), SD_EPARSE);
    CHECK_EQ_INT(e.offset, 5);
    CHECK(strstr(e.reason, "<>") != NULL);

    base = "From: \"A\" <sip:a@b>;tag=1\r\nTo: x";
    sd_span w = {6, 20};
    CHECK_EQ_INT(sd_nameaddr_parse(base, w, 0, &na, &e), SD_OK);
    CHECK_EQ_INT(na.display.off, 7);
    CHECK_SPAN(base, na.display, "A");
    CHECK_SPAN(base, na.uri, "sip:a@b");
    CHECK_SPAN(base, na.params, "tag=1");

    base = "To: Bell, Alexander <sip:a@b>";
    sd_span x = {4, (uint32_t)strlen(base) - 4};
    CHECK_EQ_INT(sd_nameaddr_parse(base, x, 0, &na, &e), SD_EPARSE);
    CHECK_EQ_INT(e.offset, 8);

    base = "m: <sip:a@b>;q=1;;x=2";
    sd_span y = {3, (uint32_t)strlen(base) - 3};
    CHECK_EQ_INT(sd_nameaddr_parse(base, y, 0, &na, &e), SD_EPARSE);
    CHECK_EQ_INT(e.offset, 17);

    /* the span ends before the params: they are not read */
    base = "<sip:a@b>;;;";
    sd_span z = {0, 9};
    CHECK_EQ_INT(sd_nameaddr_parse(base, z, 0, &na, &e), SD_OK);
    CHECK_EQ_INT(na.params.len, 0);
}

/* RFC 3261 25.1: ( name-addr / addr-spec ) *( SEMI generic-param ) with
 * gen-value = quoted-string, and qdtext includes '<': a '<' inside a quoted
 * parameter value after an addr-spec opens no name-addr. A '<' outside the
 * quoted-strings still makes the value a display name that needs quotes. */
TEST(test_nameaddr_addr_spec_quoted_laquot)
{
    sd_nameaddr na;
    sd_error e;
    const char *s = "sip:a@example.com;x=\"<\";tag=1";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_EQ_INT(na.has_brackets, 0);
    CHECK_EQ_INT(na.display.len, 0);
    CHECK_SPAN(s, na.uri, "sip:a@example.com");
    CHECK_SPAN(s, na.params, "x=\"<\";tag=1");
    s = "sip:a@example.com ; x = \"a\\\"<b\" ;y=\"<sip:c@d>\"";
    CHECK_EQ_INT(nap(s, &na), SD_OK);
    CHECK_SPAN(s, na.uri, "sip:a@example.com");
    static const char *const bad[] = {
        "sip:a@example.com;x=\"<\";y=<", /* a '<' outside the quotes */
        "sip:a@example.com;x=\"<",        /* unterminated quoted-string */
        "sip:a@example.com<x>;y=\"<\"",
        "a \"<\" <sip:x@y>",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        sd_err rc = nap_n(bad[k], strlen(bad[k]), 0, &na, &e);
        if (rc != SD_EPARSE) fprintf(stderr, "accepted: %s\n", bad[k]);
        CHECK_EQ_INT(rc, SD_EPARSE);
        CHECK(strstr(e.reason, "display-name") != NULL);
    }
}
