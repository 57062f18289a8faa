/* test_uri.c - sd_uri_parse, sd_pct_decode, sd_param_next, sd_param_find. */
#include "tcheck.h"
#include "sipdialog/msg.h"

#include <stdlib.h>

/* Parse s from a heap copy of exactly strlen(s) bytes (no NUL after it), so
 * the sanitizers catch any read past the span. Fields are checked by the
 * callers on *u, whose spans are relative to s as well. */
static sd_err up_max(const char *s, uint32_t max, sd_uri *u, sd_error *e)
{
    size_t n = strlen(s);
    char *b = malloc(n ? n : 1);
    memcpy(b, s, n);
    sd_span v = {0, (uint32_t)n};
    sd_err rc = sd_uri_parse(b, v, max, u, e);
    free(b);
    return rc;
}

static sd_err up(const char *s, sd_uri *u)
{
    sd_error e;
    return up_max(s, 0, u, &e);
}

/* RFC 3261 19.1.1, 25.1: SIP-URI = "sip:" [ userinfo ] hostport uri-parameters [ headers ] */
TEST(test_uri_sip_basic)
{
    sd_uri u;
    const char *s = "sip:alice@atlanta.com";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_EQ_INT(u.scheme_id, SD_URI_SIP);
    CHECK_SPAN(s, u.scheme, "sip");
    CHECK_SPAN(s, u.user, "alice");
    CHECK_SPAN(s, u.host, "atlanta.com");
    CHECK_EQ_INT(u.host_type, SD_HOST_NAME);
    CHECK_EQ_INT(u.port, -1);
    CHECK_EQ_INT(u.has_password, 0);
    CHECK_EQ_INT(u.params.len, 0);
    CHECK_EQ_INT(u.headers.len, 0);

    s = "sips:alice:secret@atlanta.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_EQ_INT(u.scheme_id, SD_URI_SIPS);
    CHECK_SPAN(s, u.user, "alice");
    CHECK_EQ_INT(u.has_password, 1);
    CHECK_SPAN(s, u.password, "secret");
    CHECK_SPAN(s, u.host, "atlanta.com");
    CHECK_EQ_INT(u.port, 5061);
    CHECK_SPAN(s, u.params, "transport=tcp;lr");
    CHECK_SPAN(s, u.headers, "subject=project%20x&priority=urgent");

    s = "sip:example.com;maddr=239.255.255.1;ttl=15";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_EQ_INT(u.user.len, 0);
    CHECK_SPAN(s, u.host, "example.com");
    CHECK_SPAN(s, u.params, "maddr=239.255.255.1;ttl=15");

    /* empty password is allowed: password = *( ... ) */
    s = "sip:user:@host.example";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_EQ_INT(u.has_password, 1);
    CHECK_EQ_INT(u.password.len, 0);
}

/* RFC 3261 25.1 user-unreserved; RFC 4475 3.1.1.9 (semiuri), 3.1.1.2 (intmeth), 3.1.1.3 (esc01) */
TEST(test_uri_userinfo_unusual)
{
    sd_uri u;
    const char *s = "sip:user;par=u%40example.net@example.com";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.user, "user;par=u%40example.net");
    CHECK_SPAN(s, u.host, "example.com");
    CHECK_EQ_INT(u.params.len, 0);

    s = "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    CHECK_SPAN(s, u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    CHECK_SPAN(s, u.host, "example.com");

    s = "sip:sips%3Auser%40example.com@example.net";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.user, "sips%3Auser%40example.com");
    CHECK_SPAN(s, u.host, "example.net");

    /* RFC 4475 3.1.1.4 (escnull): escaped NUL stays escaped in the span */
    s = "sip:null-%00-null@example.com";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.user, "null-%00-null");

    /* '?' before '@' belongs to the user part, not to headers */
    s = "sip:a?b=c@example.com";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.user, "a?b=c");
    CHECK_EQ_INT(u.headers.len, 0);
}

/* RFC 3261 25.1: user = 1*(...), escaped = "%" HEX HEX; '@' appears once */
TEST(test_uri_userinfo_reject)
{
    sd_uri u;
    static const char *const bad[] = {
        "sip:@example.com",           /* empty user */
        "sip::pw@example.com",        /* empty user with password */
        "sip:%zz@example.com",        /* bad escape in user */
        "sip:a%4@example.com",        /* short escape */
        "sip:a%@example.com",
        "sip:us\"er@example.com",     /* '"' not in user */
        "sip:us er@example.com",      /* LWS */
        "sip:u:p%g0@example.com",     /* bad escape in password */
        "sip:u:p;w@example.com",      /* ';' not in password */
        "sip:u:p:w@example.com",      /* ':' not in password */
        "sip:a@b@example.com",        /* second '@' */
        "sip:user@",                  /* missing host */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        sd_err rc = up(bad[k], &u);
        if (rc != SD_EPARSE) fprintf(stderr, "accepted: %s\n", bad[k]);
        CHECK_EQ_INT(rc, SD_EPARSE);
    }
}

/* RFC 3261 25.1 host; RFC 5118 4.1-4.4, 4.9, 4.10 (IPv6 references) */
TEST(test_uri_host_ipv6)
{
    sd_uri u;
    const char *s = "sip:[2001:db8::10]";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.host, "[2001:db8::10]");
    CHECK_EQ_INT(u.host_type, SD_HOST_IPV6);
    CHECK_EQ_INT(u.port, -1);

    s = "sip:[2001:db8::10]:5070";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.host, "[2001:db8::10]");
    CHECK_EQ_INT(u.port, 5070);

    /* RFC 5118 4.3: ':5070' inside the brackets is part of the address */
    s = "sip:[2001:db8::10:5070]";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.host, "[2001:db8::10:5070]");
    CHECK_EQ_INT(u.port, -1);

    s = "sip:user@[2001:db8::192.0.2.1];transport=udp";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.host, "[2001:db8::192.0.2.1]");
    CHECK_SPAN(s, u.params, "transport=udp");

    s = "sip:[::ffff:192.0.2.10]:19823";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.host, "[::ffff:192.0.2.10]");
    CHECK_EQ_INT(u.port, 19823);

    static const char *const good[] = {
        "sip:[::]", "sip:[::1]", "sip:[1::]", "sip:[1:2:3:4:5:6:7:8]", "sip:[1:2:3:4:5:6:7::]",
        "sip:[::2:3:4:5:6:7:8]", "sip:[1:2:3:4:5:6:1.2.3.4]", "sip:[::1.2.3.4]",
        "sip:[FFFF:abcd::0]",
    };
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        sd_err rc = up(good[k], &u);
        if (rc != SD_OK) fprintf(stderr, "rejected: %s\n", good[k]);
        CHECK_EQ_INT(rc, SD_OK);
        CHECK_EQ_INT(u.host_type, SD_HOST_IPV6);
    }
    static const char *const bad[] = {
        "sip:[2001:db8:::192.0.2.1]", /* RFC 5118 4.10: three colons */
        "sip:2001:db8::10",           /* RFC 5118 4.2: no brackets */
        "sip:[2001:db8::10",          /* no ']' */
        "sip:[]", "sip:[:]", "sip:[:1]", "sip:[1:]", "sip:[1::2::3]",
        "sip:[1:2:3:4:5:6:7:8:9]", "sip:[1:2:3:4:5:6:7]", "sip:[1:2:3:4:5:6:7:8::]",
        "sip:[12345::]", "sip:[::1.2.3]", "sip:[::256.1.1.1]", "sip:[1:2:3:4:5:6:7:1.2.3.4]",
        "sip:[::1.2.3.4:5]", "sip:[::g]", "sip:[::1]x", "sip:[fe80::1%25eth0]",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        sd_err rc = up(bad[k], &u);
        if (rc != SD_EPARSE) fprintf(stderr, "accepted: %s\n", bad[k]);
        CHECK_EQ_INT(rc, SD_EPARSE);
    }
}

/* RFC 3261 25.1: hostname = *( domainlabel "." ) toplabel [ "." ]; IPv4address */
TEST(test_uri_host_name_ipv4)
{
    sd_uri u;
    const char *s = "sip:192.0.2.1:5060";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_EQ_INT(u.host_type, SD_HOST_IPV4);
    CHECK_SPAN(s, u.host, "192.0.2.1");
    CHECK_EQ_INT(u.port, 5060);

    s = "sip:a-b.example.com.";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.host, "a-b.example.com.");
    CHECK_EQ_INT(u.host_type, SD_HOST_NAME);

    static const char *const good[] = {"sip:x", "sip:123.example.com", "sip:a1.b2-c",
                                       "sip:255.255.255.255", "sip:0.0.0.0", "sip:EXAMPLE.COM"};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        sd_err rc = up(good[k], &u);
        if (rc != SD_OK) fprintf(stderr, "rejected: %s\n", good[k]);
        CHECK_EQ_INT(rc, SD_OK);
    }
    static const char *const bad[] = {
        "sip:256.0.0.1", "sip:1.2.3", "sip:1.2.3.4.5", "sip:1234.1.1.1", "sip:-a.com",
        "sip:a-.com", "sip:a..com", "sip:.a.com", "sip:example.123", "sip:foo_bar.com",
        "sip:example.com..", "sip:exa%6dple.com",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        sd_err rc = up(bad[k], &u);
        if (rc != SD_EPARSE) fprintf(stderr, "accepted: %s\n", bad[k]);
        CHECK_EQ_INT(rc, SD_EPARSE);
    }
}

/* RFC 3261 25.1: port = 1*DIGIT (0..65535 by RFC 3261 19.1.1 / 16-bit ports) */
TEST(test_uri_port)
{
    sd_uri u;
    CHECK_EQ_INT(up("sip:h:0", &u), SD_OK);
    CHECK_EQ_INT(u.port, 0);
    CHECK_EQ_INT(up("sip:h:65535", &u), SD_OK);
    CHECK_EQ_INT(u.port, 65535);
    CHECK_EQ_INT(up("sip:h:05060", &u), SD_OK);
    CHECK_EQ_INT(u.port, 5060);
    CHECK_EQ_INT(up("sip:h:65536", &u), SD_EPARSE);
    CHECK_EQ_INT(up("sip:h:", &u), SD_EPARSE);
    CHECK_EQ_INT(up("sip:h:99999999999999999999999", &u), SD_EPARSE);
    CHECK_EQ_INT(up("sip:h:50a", &u), SD_EPARSE);
    CHECK_EQ_INT(up("sip:h:-1", &u), SD_EPARSE);
}

/* RFC 3261 25.1: uri-parameters, other-param = pname [ "=" pvalue ], headers */
TEST(test_uri_params_headers)
{
    sd_uri u;
    const char *s = "sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.params, "%6C%72;n%61me=v%61lue%25%34%31");

    s = "sip:h;maddr=[2001:db8::1];lr?a=b&c=";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.params, "maddr=[2001:db8::1];lr");
    CHECK_SPAN(s, u.headers, "a=b&c=");

    /* RFC 4475 3.3.14 (regescrt) */
    s = "sip:user@example.com?Route=%3Csip:sip.example.com%3E";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.headers, "Route=%3Csip:sip.example.com%3E");

    static const char *const bad[] = {
        "sip:h;;lr",   /* empty parameter */
        "sip:h;",      /* trailing ';' */
        "sip:h;a=",    /* pvalue = 1*paramchar */
        "sip:h;=a",
        "sip:h;a=%zz", /* bad escape */
        "sip:h;a=b=c", "sip:h;a\"b", "sip:h;a=<b>",
        "sip:h?",      /* headers = "?" header *( "&" header ) */
        "sip:h?a",     /* header = hname "=" hvalue */
        "sip:h?=b", "sip:h?a=b&", "sip:h?a=b;c", "sip:h?a=%4x", "sip:h?a=b?c=d&e",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        sd_err rc = up(bad[k], &u);
        if (rc != SD_EPARSE) fprintf(stderr, "accepted: %s\n", bad[k]);
        CHECK_EQ_INT(rc, SD_EPARSE);
    }
    /* with an '@', what precedes it is userinfo ('?' and '=' are user-unreserved) */
    s = "sip:h?a=b@c";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.user, "h?a=b");
    CHECK_SPAN(s, u.host, "c");
}

/* RFC 3261 25.1: no LWS inside a SIP-URI; RFC 4475 3.1.2.8 (lwsruri) */
TEST(test_uri_no_lws)
{
    sd_uri u;
    sd_error e;
    const char *s = "sip:user@example.com; lr";
    CHECK_EQ_INT(up_max(s, 0, &u, &e), SD_EPARSE);
    CHECK_EQ_INT(e.offset, 21);
    CHECK_EQ_INT(up("sip:user@example.com ", &u), SD_EPARSE);
    CHECK_EQ_INT(up(" sip:user@example.com", &u), SD_EPARSE);
    CHECK_EQ_INT(up("sip: user@example.com", &u), SD_EPARSE);
    CHECK_EQ_INT(up("sip:user@exa\tmple.com", &u), SD_EPARSE);
    CHECK_EQ_INT(up("sip:user@example.com;a=b\r\n c", &u), SD_EPARSE);
    CHECK_EQ_INT(up("sip:", &u), SD_EPARSE);
    CHECK_EQ_INT(up("", &u), SD_EPARSE);
    /* RFC 4475 3.1.2.7 (ltgtruri): brackets are not part of a URI */
    CHECK_EQ_INT(up("<sip:user@example.com>", &u), SD_EPARSE);
}

/* RFC 3261 19.1.4 / RFC 3986 3.1: scheme names compare case-insensitively */
TEST(test_uri_scheme_case)
{
    sd_uri u;
    CHECK_EQ_INT(up("SIP:alice@example.com", &u), SD_OK);
    CHECK_EQ_INT(u.scheme_id, SD_URI_SIP);
    CHECK_EQ_INT(up("SiPs:example.com", &u), SD_OK);
    CHECK_EQ_INT(u.scheme_id, SD_URI_SIPS);
    CHECK_EQ_INT(up("TEL:+1", &u), SD_OK);
    CHECK_EQ_INT(u.scheme_id, SD_URI_TEL);
    CHECK_EQ_INT(up("sipx:foo", &u), SD_OK);
    CHECK_EQ_INT(u.scheme_id, SD_URI_OTHER);
}

/* RFC 3261 25.1 absoluteURI; RFC 4475 3.3.2 (unkscm), 3.3.3 (novelsc), 3.3.4 (unksm2) */
TEST(test_uri_other_schemes)
{
    sd_uri u;
    const char *s = "nobodyKnowsThisScheme:totallyopaquecontent";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_EQ_INT(u.scheme_id, SD_URI_OTHER);
    CHECK_SPAN(s, u.scheme, "nobodyKnowsThisScheme");
    CHECK_SPAN(s, u.opaque, "totallyopaquecontent");
    CHECK_EQ_INT(u.host_type, SD_HOST_NONE);

    s = "soap.beep://192.0.2.103:3002";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.scheme, "soap.beep");
    CHECK_SPAN(s, u.opaque, "//192.0.2.103:3002");

    static const char *const good[] = {"isbn:2983792873", "http://www.example.com", "name:John_Smith",
                                       "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
                                       "mailto:a@b.c?subject=x%20y", "x-y+z.1:[::1]#frag"};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        sd_err rc = up(good[k], &u);
        if (rc != SD_OK) fprintf(stderr, "rejected: %s\n", good[k]);
        CHECK_EQ_INT(rc, SD_OK);
        CHECK_EQ_INT(u.scheme_id, SD_URI_OTHER);
    }
    static const char *const bad[] = {"1abc:x", "abc", "abc:", ":x", "http://a b", "x:%zz", "x:<a>",
                                      "x:a\"b", "-x:y", "x y:z", "x:a\x01"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        sd_err rc = up(bad[k], &u);
        if (rc != SD_EPARSE) fprintf(stderr, "accepted: %s\n", bad[k]);
        CHECK_EQ_INT(rc, SD_EPARSE);
    }
}

/* RFC 3966 3: telephone-subscriber = global-number / local-number, then *par */
TEST(test_uri_tel)
{
    sd_uri u;
    const char *s = "tel:+1-201-555-0123";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_EQ_INT(u.scheme_id, SD_URI_TEL);
    CHECK_SPAN(s, u.user, "+1-201-555-0123");
    CHECK_EQ_INT(u.params.len, 0);
    CHECK_EQ_INT(u.host_type, SD_HOST_NONE);

    s = "tel:7042;phone-context=example.com";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.user, "7042");
    CHECK_SPAN(s, u.params, "phone-context=example.com");

    s = "tel:+1(800)555-1212;ext=22;isub=abc@x?y;foo";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.user, "+1(800)555-1212");
    CHECK_SPAN(s, u.params, "ext=22;isub=abc@x?y;foo");

    static const char *const good[] = {"tel:*31#", "tel:ABC;phone-context=+1", "tel:+1;x=%41"};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        sd_err rc = up(good[k], &u);
        if (rc != SD_OK) fprintf(stderr, "rejected: %s\n", good[k]);
        CHECK_EQ_INT(rc, SD_OK);
    }
    static const char *const bad[] = {"tel:", "tel:+", "tel:+-.", "tel:-", "tel:+1;", "tel:+1;;a",
                                      "tel:+1;=x", "tel:+1;a=", "tel:+1 2", "tel:+1a", "tel:+1;a_b=1",
                                      "tel:+1;a=%zz", "tel:g", "tel:+1?x=y"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        sd_err rc = up(bad[k], &u);
        if (rc != SD_EPARSE) fprintf(stderr, "accepted: %s\n", bad[k]);
        CHECK_EQ_INT(rc, SD_EPARSE);
    }
}

/* sipdialog limits (base.h): a value at the limit is accepted, one byte more is SD_ELIMIT */
TEST(test_uri_max_len)
{
    sd_uri u;
    sd_error e;
    const char *s = "sip:abc@host"; /* 12 bytes */
    CHECK_EQ_INT(up_max(s, 12, &u, &e), SD_OK);
    CHECK_EQ_INT(up_max(s, 11, &u, &e), SD_ELIMIT);
    CHECK_EQ_INT(e.code, SD_ELIMIT);
    CHECK_EQ_INT(e.offset, 11);
    CHECK_EQ_INT(up_max(s, 0, &u, &e), SD_OK);
    CHECK_EQ_INT(up_max("x:y", 3, &u, &e), SD_OK);
    CHECK_EQ_INT(up_max("x:yz", 3, &u, &e), SD_ELIMIT);
}

/* Spans and error offsets are relative to base, never read past the span */
TEST(test_uri_span_relative)
{
    sd_uri u;
    sd_error e;
    const char *base = "To: <sip:bob@biloxi.com;lr>;tag=1";
    sd_span v = {5, 21};
    CHECK_EQ_INT(sd_uri_parse(base, v, 0, &u, &e), SD_OK);
    CHECK_EQ_INT(u.user.off, 9);
    CHECK_SPAN(base, u.user, "bob");
    CHECK_SPAN(base, u.host, "biloxi.com");
    CHECK_SPAN(base, u.params, "lr");
    CHECK_SPAN(base, u.scheme, "sip");
    CHECK_SPAN(base, u.opaque, "bob@biloxi.com;lr");

    /* the span stops inside an escape: the octets after it are not read */
    base = "sip:h;a=%41";
    sd_span w = {0, 10};
    CHECK_EQ_INT(sd_uri_parse(base, w, 0, &u, &e), SD_EPARSE);
    CHECK_EQ_INT(e.offset, 8);
    /* ... and before a param: nothing of it leaks in */
    sd_span x = {0, 5};
    CHECK_EQ_INT(sd_uri_parse(base, x, 0, &u, &e), SD_OK);
    CHECK_EQ_INT(u.params.len, 0);

    base = "Contact: sip:a@b c";
    sd_span y = {9, 9};
    CHECK_EQ_INT(sd_uri_parse(base, y, 0, &u, &e), SD_EPARSE);
    CHECK_EQ_INT(e.offset, 16);
    CHECK(strstr(e.reason, "URI") != NULL);
}

/* RFC 3261 25.1 escaped; RFC 4475 3.1.1.3 (esc01: unescape once, not recursively), 3.1.1.4 */
TEST(test_pct_decode)
{
    char out[64];
    size_t n = sd_pct_decode("n%61me", 6, out);
    CHECK(n == 4 && memcmp(out, "name", 4) == 0);
    n = sd_pct_decode("v%61lue%25%34%31", 16, out);
    CHECK(n == 8 && memcmp(out, "value%41", 8) == 0);
    n = sd_pct_decode("null-%00-null", 13, out);
    CHECK(n == 11 && memcmp(out, "null-\0-null", 11) == 0);
    n = sd_pct_decode("%zz%4%", 6, out);
    CHECK(n == 6 && memcmp(out, "%zz%4%", 6) == 0);
    n = sd_pct_decode("%4a%4A%e2%82%ac", 15, out);
    CHECK(n == 5 && memcmp(out, "JJ\xe2\x82\xac", 5) == 0);
    /* the length bounds the input: "%41" cut after "%4" is copied as is */
    n = sd_pct_decode("a%41", 3, out);
    CHECK(n == 3 && memcmp(out, "a%4", 3) == 0);
    CHECK_EQ_INT(sd_pct_decode("", 0, out), 0);
}

/* Iterate a params string of exactly strlen(s) bytes; returns the count of
 * parameters, or -1 - count when the list turns malformed. */
static int count_params(const char *s, int uri)
{
    size_t n = strlen(s);
    char *b = malloc(n ? n : 1);
    memcpy(b, s, n);
    sd_span v = {0, (uint32_t)n}, nm, val;
    uint32_t pos = 0;
    int hv, r, c = 0;
    while ((r = sd_param_next(b, v, uri, &pos, &nm, &val, &hv)) == 1) c++;
    free(b);
    return r < 0 ? -1 - c : c;
}

/* RFC 3261 19.1.1, 25.1: uri-parameter = pname [ "=" pvalue ], no LWS */
TEST(test_param_next_uri)
{
    const char *s = "lr;transport=tcp;maddr=[::1];n%61me=v%61lue";
    sd_span v = {0, (uint32_t)strlen(s)}, nm, val;
    uint32_t pos = 0;
    int hv;
    CHECK_EQ_INT(sd_param_next(s, v, 1, &pos, &nm, &val, &hv), 1);
    CHECK_SPAN(s, nm, "lr");
    CHECK_EQ_INT(hv, 0);
    CHECK_EQ_INT(val.len, 0);
    CHECK_EQ_INT(sd_param_next(s, v, 1, &pos, &nm, &val, &hv), 1);
    CHECK_SPAN(s, nm, "transport");
    CHECK_SPAN(s, val, "tcp");
    CHECK_EQ_INT(hv, 1);
    CHECK_EQ_INT(sd_param_next(s, v, 1, &pos, &nm, &val, &hv), 1);
    CHECK_SPAN(s, val, "[::1]");
    CHECK_EQ_INT(sd_param_next(s, v, 1, &pos, &nm, &val, &hv), 1);
    CHECK_SPAN(s, nm, "n%61me");
    CHECK_SPAN(s, val, "v%61lue");
    CHECK_EQ_INT(sd_param_next(s, v, 1, &pos, &nm, &val, &hv), 0);
    CHECK_EQ_INT(sd_param_next(s, v, 1, &pos, &nm, &val, &hv), 0);

    CHECK_EQ_INT(count_params(";lr;a=b", 1), 2); /* a leading ';' is skipped */
    CHECK_EQ_INT(count_params("", 1), 0);
    CHECK_EQ_INT(count_params(";", 1), -1);
    CHECK_EQ_INT(count_params(";;lr", 1), -1);
    CHECK_EQ_INT(count_params("a;;b", 1), -2);
    CHECK_EQ_INT(count_params("a;", 1), -2);
    CHECK_EQ_INT(count_params("a; b", 1), -2);
    CHECK_EQ_INT(count_params("a =b", 1), -1);
    CHECK_EQ_INT(count_params("a=", 1), -1);
    CHECK_EQ_INT(count_params("a=%zz", 1), -1);
    CHECK_EQ_INT(count_params("a=\"b\"", 1), -1);
}

/* RFC 3261 7.3.1, 25.1: generic-param = token [ EQUAL gen-value ], LWS around ';' and '=' */
TEST(test_param_next_header)
{
    /* RFC 4475 3.1.1.1 (wsinv) Contact params, folds included */
    const char *s = " newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33";
    sd_span v = {0, (uint32_t)strlen(s)}, nm, val;
    uint32_t pos = 0;
    int hv;
    CHECK_EQ_INT(sd_param_next(s, v, 0, &pos, &nm, &val, &hv), 1);
    CHECK_SPAN(s, nm, "newparam");
    CHECK_SPAN(s, val, "newvalue");
    CHECK_EQ_INT(sd_param_next(s, v, 0, &pos, &nm, &val, &hv), 1);
    CHECK_SPAN(s, nm, "secondparam");
    CHECK_EQ_INT(hv, 0);
    CHECK_EQ_INT(sd_param_next(s, v, 0, &pos, &nm, &val, &hv), 1);
    CHECK_SPAN(s, nm, "q");
    CHECK_SPAN(s, val, "0.33");
    CHECK_EQ_INT(sd_param_next(s, v, 0, &pos, &nm, &val, &hv), 0);

    /* quoted-string values keep their quotes and escapes */
    s = ";x=\"a;b\\\"c,\" ;tag=_token~1'+`*%!-.";
    v.len = (uint32_t)strlen(s);
    pos = 0;
    CHECK_EQ_INT(sd_param_next(s, v, 0, &pos, &nm, &val, &hv), 1);
    CHECK_SPAN(s, val, "\"a;b\\\"c,\"");
    CHECK_EQ_INT(sd_param_next(s, v, 0, &pos, &nm, &val, &hv), 1);
    CHECK_SPAN(s, val, "_token~1'+`*%!-.");
    CHECK_EQ_INT(sd_param_next(s, v, 0, &pos, &nm, &val, &hv), 0);

    /* RFC 5118 4.5: received with and without brackets */
    CHECK_EQ_INT(count_params("received=[2001:db8::9:255]", 0), 1);
    CHECK_EQ_INT(count_params("received=2001:db8::9:255;branch=z9hG4bK", 0), 2);
    /* RFC 4475 3.1.1.2 (intmeth): UTF-8 inside a quoted value */
    CHECK_EQ_INT(count_params("fromParam''~+*_!.-%=\"\xd1\x80\xd0\xb0\";tag=x", 0), 2);
    CHECK_EQ_INT(count_params("   ", 0), 0);
    CHECK_EQ_INT(count_params("a\t;\tb", 0), 2);

    CHECK_EQ_INT(count_params(";", 0), -1);
    CHECK_EQ_INT(count_params(";;", 0), -1);
    CHECK_EQ_INT(count_params("a;;b", 0), -2);
    CHECK_EQ_INT(count_params("a ; ", 0), -2);
    CHECK_EQ_INT(count_params("tag=", 0), -1);
    CHECK_EQ_INT(count_params("tag= ;a", 0), -1);
    CHECK_EQ_INT(count_params("=x", 0), -1);
    CHECK_EQ_INT(count_params("a b", 0), -1);
    CHECK_EQ_INT(count_params("a=b c", 0), -1);
    CHECK_EQ_INT(count_params("a=b:c", 0), -1);       /* ':' only in an IPv6 address */
    CHECK_EQ_INT(count_params("a=[2001:db8:::1]", 0), -1);
    CHECK_EQ_INT(count_params("a=\"open", 0), -1);
    CHECK_EQ_INT(count_params("a=\"x\x01\"", 0), -1);  /* CTL in a quoted-string */
    CHECK_EQ_INT(count_params("a=\"x\\\r\"", 0), -1); /* quoted-pair excludes CR */
    CHECK_EQ_INT(count_params("a=\"x\\", 0), -1);
    CHECK_EQ_INT(count_params("a@b", 0), -1);
    CHECK_EQ_INT(count_params("a=b,c", 0), -1);
}

/* RFC 3261 7.3.1: parameter names compare case-insensitively */
TEST(test_param_find)
{
    const char *s = "Tag=abc;lr;Q=0.5";
    sd_span v = {0, (uint32_t)strlen(s)}, val;
    CHECK_EQ_INT(sd_param_find(s, v, 0, "tag", 3, &val), 1);
    CHECK_SPAN(s, val, "abc");
    CHECK_EQ_INT(sd_param_find(s, v, 0, "LR", 2, &val), 1);
    CHECK_EQ_INT(val.len, 0);
    CHECK_EQ_INT(sd_param_find(s, v, 0, "q", 1, &val), 1);
    CHECK_SPAN(s, val, "0.5");
    CHECK_EQ_INT(sd_param_find(s, v, 0, "expires", 7, &val), 0);
    CHECK_EQ_INT(sd_param_find(s, v, 0, "ta", 2, &val), 0);

    const char *u = "transport=TCP;lr";
    sd_span w = {0, (uint32_t)strlen(u)};
    CHECK_EQ_INT(sd_param_find(u, w, 1, "Transport", 9, &val), 1);
    CHECK_SPAN(u, val, "TCP");

    /* malformed anywhere in the list is -1, even after a match */
    const char *m = "tag=1;;x";
    sd_span x = {0, (uint32_t)strlen(m)};
    CHECK_EQ_INT(sd_param_find(m, x, 0, "tag", 3, &val), -1);
    CHECK_EQ_INT(sd_param_find(m, x, 0, "zz", 2, &val), -1);

    /* spans relative to base with a non-zero offset */
    const char *b = "xx;a=1;b=2";
    sd_span y = {2, 8};
    CHECK_EQ_INT(sd_param_find(b, y, 0, "b", 1, &val), 1);
    CHECK_EQ_INT(val.off, 9);
    CHECK_SPAN(b, val, "2");
}

/* ---- reference models for the scanners' fast paths ---- */

#include "msg/uri.h"

/* The RFC 3261 25.1 rules, one octet at a time: the maximal run of
 * alphanum / '-' / '.' must be an IPv4address or a hostname. */
static int ref_ipv4(const char *p, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || p[i] != '.') return 0;
            i++;
        }
        size_t s = i;
        unsigned v = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9' && i - s < 3) v = v * 10 + (unsigned)(p[i++] - '0');
        if (i == s || v > 255) return 0;
        if (i < n && p[i] >= '0' && p[i] <= '9') return 0;
    }
    return i == n;
}

static size_t ref_host(const char *p, size_t n, uint8_t *type)
{
    size_t r = 0;
    int alpha = 0;
    while (r < n && SD_IS(p[r], SD_C_HOST)) {
        if (SD_IS(p[r], SD_C_ALPHA) || p[r] == '-') alpha = 1;
        r++;
    }
    if (r == 0) return 0;
    if (!alpha) {
        if (!ref_ipv4(p, r)) return 0;
        *type = SD_HOST_IPV4;
        return r;
    }
    size_t m = p[r - 1] == '.' ? r - 1 : r, label = 0;
    for (size_t i = 0; i <= m; i++) {
        if (i < m && p[i] != '.') continue;
        if (i == label || p[label] == '-' || p[i - 1] == '-') return 0;
        if (i == m && !SD_IS(p[label], SD_C_ALPHA)) return 0;
        label = i + 1;
    }
    *type = SD_HOST_NAME;
    return r;
}

static uint32_t t_rand(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* sd_host_scan and sd_ipv4_check against the models on generated strings of
 * 1..40 octets (both sides of the 16-octet block path, blocks that end
 * inside labels, on dots and on dashes), from exact-size heap copies. */
TEST(test_host_scan_model)
{
    static const char alpha[] = "ab0919.-.-;:Z5";
    uint32_t seed = 12345;
    int mismatches = 0;
    for (int k = 0; k < 200000 && mismatches < 5; k++) {
        size_t n = 1 + t_rand(&seed) % 40;
        char *b = malloc(n);
        for (size_t i = 0; i < n; i++) b[i] = alpha[t_rand(&seed) % (sizeof alpha - 1)];
        if (k % 4 == 0) /* mostly well-formed: labels of letters */
            for (size_t i = 0; i < n; i++)
                if (b[i] != '.' && t_rand(&seed) % 3) b[i] = (char)('a' + t_rand(&seed) % 26);
        uint8_t t1 = 0, t2 = 0;
        size_t a = sd_host_scan(b, n, &t1), r = ref_host(b, n, &t2);
        if (a != r || (a && t1 != t2) || sd_ipv4_check(b, n) != ref_ipv4(b, n)) {
            fprintf(stderr, "host model mismatch on '%.*s': %zu/%d vs %zu/%d\n", (int)n, b, a, t1, r, t2);
            mismatches++;
        }
        free(b);
    }
    CHECK_EQ_INT(mismatches, 0);

    /* the block path's edges: a dash or dot on either side of octet 16 */
    sd_uri u;
    static const char *const good[] = {
        "sip:abcdefghijklmno.p.example.com;lr", "sip:abcdefghijklmnop.example.com",
        "sip:abcdefghijklmn-o.example.com.", "sip:a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q",
        "sip:192.168.100.200:5060;transport=tcp", "sip:pc33.atlanta.example.com"};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        sd_err rc = up(good[k], &u);
        if (rc != SD_OK) fprintf(stderr, "rejected: %s\n", good[k]);
        CHECK_EQ_INT(rc, SD_OK);
    }
    static const char *const bad[] = {
        "sip:abcdefghijklmno-.example.com", "sip:abcdefghijklmnop.-example.com",
        "sip:abcdefghijklmnop..example.com", "sip:abcdefghijklmnop.example.com.1x",
        "sip:abcdefghijklmnop.example-", "sip:192.168.100.200.1:5060",
        "sip:1.2.3.4.5.6.7.8.9.10.11", "sip:abcdefghijklmnop.example.com.."};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        sd_err rc = up(bad[k], &u);
        if (rc != SD_EPARSE) fprintf(stderr, "accepted: %s\n", bad[k]);
        CHECK_EQ_INT(rc, SD_EPARSE);
    }
}

/* sd_find_from on every start and length against a plain loop: the
 * overlapping last block must neither miss nor invent a match. */
TEST(test_find_from_model)
{
    char buf[48];
    uint32_t seed = 99;
    int bad = 0;
    for (int k = 0; k < 20000; k++) {
        size_t n = t_rand(&seed) % 48;
        for (size_t i = 0; i < n; i++) {
            static const char set[] = "abc,<>\"\\ \t\x01\x7f\x80;?";
            buf[i] = set[t_rand(&seed) % (sizeof set - 1)];
        }
        char *b = malloc(n ? n : 1);
        memcpy(b, buf, n);
        for (size_t i = 0; i <= n; i++) {
            for (int ctl = 0; ctl < 2; ctl++) {
                size_t want = i;
                while (want < n && !(b[want] == ',' || b[want] == '"' || b[want] == '<' ||
                                     (ctl && (unsigned char)b[want] <= 0x20)))
                    want++;
                if (sd_find_from(b, i, n, ',', '"', '<', ctl) != want) bad++;
            }
        }
        free(b);
    }
    CHECK_EQ_INT(bad, 0);
}

/* RFC 3261 25.1: method-param = "method=" Method, transport-param =
 * "transport=" ( ... / other-transport ), user-param = "user=" ( "phone" /
 * "ip" / other-user ), with Method, other-transport and other-user tokens:
 * these three take token values ('`' and a bare '%' included), any case of
 * the name; every other parameter stays 1*paramchar. */
TEST(test_uri_param_token_values)
{
    sd_uri u;
    static const char *const ok[] = {
        "sip:b@example.com;method=A`B", "sip:b@example.com;transport=x%y", "sip:b@example.com;user=a`b",
        "sip:h;METHOD=%", "sip:h;Transport=`;lr", "sip:h;uSeR=a%zz?x=y", "sip:h;user=a(b)",
        "sip:h;method=%41`", "sips:h;lr;method=INVITE`",
    };
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        sd_err rc = up(ok[k], &u);
        if (rc != SD_OK) fprintf(stderr, "refused: %s\n", ok[k]);
        CHECK_EQ_INT(rc, SD_OK);
    }
    const char *s = "sip:b@example.com;method=A`B;lr";
    CHECK_EQ_INT(up(s, &u), SD_OK);
    CHECK_SPAN(s, u.params, "method=A`B;lr");
    sd_span v;
    sd_span uv = u.params;
    CHECK_EQ_INT(sd_param_find(s, uv, 1, "method", 6, &v), 1);
    CHECK_SPAN(s, v, "A`B");
    CHECK_EQ_INT(count_params(s + uv.off, 1), 2);
    static const char *const bad[] = {
        "sip:h;x=A`B", "sip:h;x=a%y", "sip:h;methods=a`", "sip:h;m%65thod=a`", "sip:h;method=a(`",
        "sip:h;user=", "sip:h;transport=a`<", "sip:h;method`=a", "tel:+1;method=a`",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        sd_err rc = up(bad[k], &u);
        if (rc != SD_EPARSE) fprintf(stderr, "accepted: %s\n", bad[k]);
        CHECK_EQ_INT(rc, SD_EPARSE);
    }
    CHECK_EQ_INT(count_params("x=a`", 1), -1);
    CHECK_EQ_INT(count_params("user=a`", 1), 1);
}
