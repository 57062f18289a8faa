/* test_via.c - sd_via_parse. */
#include "tcheck.h"
#include "sipdialog/msg.h"

#include <stdlib.h>

/* Parse s from an exact-size heap copy (sanitizers catch reads past the
 * span); spans in *via stay valid against s. */
static sd_err vp_e(const char *s, sd_via *via, sd_error *e)
{
    size_t n = strlen(s);
    char *b = malloc(n ? n : 1);
    memcpy(b, s, n);
    sd_span v = {0, (uint32_t)n};
    sd_err rc = sd_via_parse(b, v, via, e);
    free(b);
    return rc;
}

static sd_err vp(const char *s, sd_via *via)
{
    sd_error e;
    return vp_e(s, via, &e);
}

/* RFC 3261 20.42, 25.1 via-parm; RFC 3581 rport */
TEST(test_via_basic)
{
    sd_via v;
    const char *s = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;received=192.0.2.2;rport=5061;ttl=16;maddr=224.2.0.1;x-ext";
    CHECK_EQ_INT(vp(s, &v), SD_OK);
    CHECK_SPAN(s, v.protocol, "SIP");
    CHECK_SPAN(s, v.version, "2.0");
    CHECK_SPAN(s, v.transport, "UDP");
    CHECK_SPAN(s, v.host, "192.0.2.1");
    CHECK_EQ_INT(v.port, 5060);
    CHECK_SPAN(s, v.params, "branch=z9hG4bK776asdhds;received=192.0.2.2;rport=5061;ttl=16;maddr=224.2.0.1;x-ext");
    CHECK_EQ_INT(v.has_branch, 1);
    CHECK_SPAN(s, v.branch, "z9hG4bK776asdhds");
    CHECK_EQ_INT(v.has_received, 1);
    CHECK_SPAN(s, v.received, "192.0.2.2");
    CHECK_EQ_INT(v.has_rport, 1);
    CHECK_EQ_INT(v.rport, 5061);
    CHECK_EQ_INT(v.ttl, 16);
    CHECK_EQ_INT(v.has_maddr, 1);
    CHECK_SPAN(s, v.maddr, "224.2.0.1");

    s = "SIP/2.0/TCP client.atlanta.example.com";
    CHECK_EQ_INT(vp(s, &v), SD_OK);
    CHECK_SPAN(s, v.host, "client.atlanta.example.com");
    CHECK_EQ_INT(v.port, -1);
    CHECK_EQ_INT(v.params.len, 0);
    CHECK_EQ_INT(v.has_branch, 0);
    CHECK_EQ_INT(v.branch.len, 0);
    CHECK_EQ_INT(v.has_received, 0);
    CHECK_EQ_INT(v.has_maddr, 0);
    CHECK_EQ_INT(v.has_rport, 0);
    CHECK_EQ_INT(v.rport, -1);
    CHECK_EQ_INT(v.ttl, -1);

    /* rport values of one to five digits, and longer ones with leading zeros */
    {
        static const struct {
            const char *s;
            int32_t rport;
        } ok[] = {
            {"SIP/2.0/UDP h;rport=1", 1},
            {"SIP/2.0/UDP h;rport=65535", 65535},
            {"SIP/2.0/UDP h;rport=00001", 1},
            {"SIP/2.0/UDP h;rport=000065535", 65535},
            {"SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKx;rport=9", 9},
        };
        for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
            CHECK_EQ_INT(vp(ok[k].s, &v), SD_OK);
            CHECK_EQ_INT(v.has_rport, 1);
            CHECK_EQ_INT(v.rport, ok[k].rport);
        }
    }

    /* received (IPv4) and port, in and at the end of a long value */
    {
        static const struct {
            const char *s;
            const char *received;
            int32_t port;
        } ok[] = {
            {"SIP/2.0/UDP proxy1.atlanta.example.com:5060;received=192.0.2.111", "192.0.2.111", 5060},
            {"SIP/2.0/UDP pc33.atlanta.example.com:0;received=255.255.255.255;rport", "255.255.255.255", 0},
            {"SIP/2.0/UDP pc33.atlanta.example.com:65535;received=0.0.0.0;rport=1", "0.0.0.0", 65535},
            {"SIP/2.0/UDP pc33.atlanta.example.com:00001;received=001.02.249.199", "001.02.249.199", 1},
            {"SIP/2.0/TCP a.example.com:5061;branch=z9hG4bKx;received=10.0.0.1", "10.0.0.1", 5061},
        };
        for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
            CHECK_EQ_INT(vp(ok[k].s, &v), SD_OK);
            CHECK_EQ_INT(v.has_received, 1);
            CHECK_SPAN(ok[k].s, v.received, ok[k].received);
            CHECK_EQ_INT(v.port, ok[k].port);
        }
    }

    /* RFC 3581 3: rport without a value */
    s = "SIP/2.0/UDP h;rport;branch=z9hG4bKx";
    CHECK_EQ_INT(vp(s, &v), SD_OK);
    CHECK_EQ_INT(v.has_rport, 1);
    CHECK_EQ_INT(v.rport, 0);
    /* parameter names are case-insensitive */
    s = "SIP/2.0/UDP h;BRANCH=z9hG4bKx;Received=10.0.0.1;TTL=0";
    CHECK_EQ_INT(vp(s, &v), SD_OK);
    CHECK_SPAN(s, v.branch, "z9hG4bKx");
    CHECK_SPAN(s, v.received, "10.0.0.1");
    CHECK_EQ_INT(v.ttl, 0);
}

/* RFC 3261 25.1 SLASH / SEMI / EQUAL / COLON = SWS x SWS; RFC 4475 3.1.1.1 (wsinv) */
TEST(test_via_lws)
{
    sd_via v;
    const char *s = "SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw";
    CHECK_EQ_INT(vp(s, &v), SD_OK);
    CHECK_SPAN(s, v.protocol, "SIP");
    CHECK_SPAN(s, v.version, "2.0");
    CHECK_SPAN(s, v.transport, "UDP");
    CHECK_SPAN(s, v.host, "192.0.2.2");
    CHECK_SPAN(s, v.branch, "390skdjuw");

    s = "SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8";
    CHECK_EQ_INT(vp(s, &v), SD_OK);
    CHECK_SPAN(s, v.transport, "TCP");
    CHECK_SPAN(s, v.host, "spindle.example.com");
    CHECK_SPAN(s, v.branch, "z9hG4bK9ikj8");
    CHECK_SPAN(s, v.params, "branch  =   z9hG4bK9ikj8");

    s = " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239 ";
    CHECK_EQ_INT(vp(s, &v), SD_OK);
    CHECK_SPAN(s, v.host, "192.168.255.111");
    CHECK_SPAN(s, v.branch, "z9hG4bK30239");

    s = "SIP/2.0/UDP host.example.com : 5070 ; rport";
    CHECK_EQ_INT(vp(s, &v), SD_OK);
    CHECK_EQ_INT(v.port, 5070);
    CHECK_EQ_INT(v.rport, 0);
}

/* RFC 3261 20.42 transport = "UDP" / "TCP" / "TLS" / "SCTP" / other-transport; RFC 4475 3.1.1.10 */
TEST(test_via_transports)
{
    static const char *const t[] = {"UDP", "SCTP", "TLS", "UNKNOWN", "TCP", "WSS", "x-foo.bar"};
    char s[80];
    sd_via v;
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        snprintf(s, sizeof s, "SIP/2.0/%s t.example.com;branch=z9hG4bKkdjuw", t[k]);
        CHECK_EQ_INT(vp(s, &v), SD_OK);
        CHECK_SPAN(s, v.transport, t[k]);
    }
    /* other protocol names and versions are tokens too (505 is decided above) */
    const char *x = "SIP/7.0/UDP h";
    CHECK_EQ_INT(vp(x, &v), SD_OK);
    CHECK_SPAN(x, v.version, "7.0");
}

/* RFC 5118 4.1, 4.5, 4.7, 4.9: IPv6 sent-by and received */
TEST(test_via_ipv6)
{
    sd_via v;
    const char *s = "SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111";
    CHECK_EQ_INT(vp(s, &v), SD_OK);
    CHECK_SPAN(s, v.host, "[2001:db8::9:1]");
    CHECK_EQ_INT(v.port, 6050);

    s = "SIP/2.0/TCP [2001:db8::9:255];branch=z9hG4bK;received=192.0.2.200";
    CHECK_EQ_INT(vp(s, &v), SD_OK);
    CHECK_SPAN(s, v.host, "[2001:db8::9:255]");
    CHECK_EQ_INT(v.port, -1);
    CHECK_SPAN(s, v.branch, "z9hG4bK"); /* RFC 4475 3.2.1: the bare magic cookie parses */
    CHECK_SPAN(s, v.received, "192.0.2.200");

    s = "SIP/2.0/UDP [::ffff:192.0.2.10]:19823;branch=z9hG4bKbh19";
    CHECK_EQ_INT(vp(s, &v), SD_OK);
    CHECK_SPAN(s, v.host, "[::ffff:192.0.2.10]");
    CHECK_EQ_INT(v.port, 19823);

    s = "SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3";
    CHECK_EQ_INT(vp(s, &v), SD_OK);
    CHECK_SPAN(s, v.received, "[2001:db8::9:255]");
    CHECK_SPAN(s, v.branch, "z9hG4bKas3");

    s = "SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3";
    CHECK_EQ_INT(vp(s, &v), SD_OK);
    CHECK_SPAN(s, v.received, "2001:db8::9:255");

    s = "SIP/2.0/UDP h;maddr=[2001:db8::1]";
    CHECK_EQ_INT(vp(s, &v), SD_OK);
    CHECK_SPAN(s, v.maddr, "[2001:db8::1]");
}

/* RFC 3261 20.42, 25.1, 7.3.1; RFC 4475 3.1.2.1 (badinv01) */
TEST(test_via_reject)
{
    sd_via v;
    static const char *const bad[] = {
        "SIP/2.0/UDP 192.0.2.15;;",       /* badinv01 */
        "SIP/2.0/UDP 192.0.2.15;",
        "SIP/2.0/UDP 192.0.2.15; ;branch=z9hG4bKx",
        "SIP/2.0/UDP h;branch=a;;",
        "", "  ", "SIP", "SIP/2.0", "SIP/2.0/UDP", "SIP/2.0/UDP ", "SIP/2.0 UDP h", "SIP//UDP h",
        "SIP/2.0/ h", "/2.0/UDP h", "SIP/2.0/UDP/h", "SIP/2.0/UDPh",
        "SIP/2.0/UDP h:", "SIP/2.0/UDP h:70000", "SIP/2.0/UDP h:5060:5060", "SIP/2.0/UDP h:x",
        "SIP/2.0/UDP 2001:db8::1",          /* RFC 5118 4.2: IPv6 needs brackets */
        "SIP/2.0/UDP [2001:db8:::1]",
        "SIP/2.0/UDP [2001:db8::1",
        "SIP/2.0/UDP bad_host",
        "SIP/2.0/UDP 300.1.1.1",
        "SIP/2.0/UDP h junk",
        "SIP/2.0/UDP h, SIP/2.0/UDP g",     /* one via-parm only: split lists first */
        "SIP/2.0/UDP h;branch",             /* branch needs a value */
        "SIP/2.0/UDP h;branch=",
        "SIP/2.0/UDP h;branch=\"x\"",
        "SIP/2.0/UDP h;branch=a;branch=b",  /* RFC 3261 7.3.1: no repeated parameter */
        "SIP/2.0/UDP h;received=example.com",
        "SIP/2.0/UDP h;received",
        "SIP/2.0/UDP h;received=1.2.3.4;received=1.2.3.4",
        "SIP/2.0/UDP h;received=[1.2.3.4]",
        "SIP/2.0/UDP h;maddr=bad_host",
        "SIP/2.0/UDP h;maddr",
        "SIP/2.0/UDP h;maddr=a;maddr=b",
        "SIP/2.0/UDP h;ttl=256", "SIP/2.0/UDP h;ttl=0001", "SIP/2.0/UDP h;ttl", "SIP/2.0/UDP h;ttl=x",
        "SIP/2.0/UDP h;ttl=1;ttl=1",
        "SIP/2.0/UDP h;rport=0", "SIP/2.0/UDP h;rport=65536", "SIP/2.0/UDP h;rport=a",
        /* received and port read from 16-octet masks (a long enough value) */
        "SIP/2.0/UDP proxy1.atlanta.example.com:5060;received=192.0.2.256",
        "SIP/2.0/UDP proxy1.atlanta.example.com:5060;received=192.0.2.1111;rport",
        "SIP/2.0/UDP proxy1.atlanta.example.com:5060;received=192.0..2;rport",
        "SIP/2.0/UDP proxy1.atlanta.example.com:5060;received=.192.0.2.1",
        "SIP/2.0/UDP proxy1.atlanta.example.com:5060;received=192.0.2.1.",
        "SIP/2.0/UDP proxy1.atlanta.example.com:5060;received=192.0.2",
        "SIP/2.0/UDP proxy1.atlanta.example.com:5060;received=1.2.3.4.5",
        "SIP/2.0/UDP proxy1.atlanta.example.com:5060;received=300.0.2.1;rport",
        "SIP/2.0/UDP proxy1.atlanta.example.com:5060;received=1.2.3.4a",
        "SIP/2.0/UDP proxy1.atlanta.example.com:5060;received=0001.2.3.4",
        "SIP/2.0/UDP proxy1.atlanta.example.com:65536;branch=z9hG4bKx",
        "SIP/2.0/UDP proxy1.atlanta.example.com:;branch=z9hG4bKx",
        "SIP/2.0/UDP proxy1.atlanta.example.com:99999;branch=z9hG4bKx",
        "SIP/2.0/UDP h;rport=00000", "SIP/2.0/UDP h;rport=000000", "SIP/2.0/UDP h;rport=99999",
        "SIP/2.0/UDP h;rport=5a", "SIP/2.0/UDP h;rport=/", "SIP/2.0/UDP h;rport=0065536",
        "SIP/2.0/UDP host.example.com:5060;rport=6553x", "SIP/2.0/UDP h;rport=\"1\"",
        "SIP/2.0/UDP h;rport;rport",
        "SIP/2.0/UDP h;a=b c",
        "SIP/2.0/UDP h;tag=\"open",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        sd_err rc = vp(bad[k], &v);
        if (rc != SD_EPARSE) fprintf(stderr, "accepted: %s\n", bad[k]);
        CHECK_EQ_INT(rc, SD_EPARSE);
    }
}

/* Spans and error offsets are relative to base */
TEST(test_via_offsets)
{
    sd_via v;
    sd_error e;
    const char *base = "Via: SIP/2.0/UDP 192.0.2.15;;,;,,";
    sd_span s = {5, 24}; /* "SIP/2.0/UDP 192.0.2.15;;" */
    CHECK_EQ_INT(sd_via_parse(base, s, &v, &e), SD_EPARSE);
    CHECK_EQ_INT(e.code, SD_EPARSE);
    CHECK_EQ_INT(e.offset, 28);

    base = "v: SIP/2.0/TCP h:5061;branch=z9hG4bKa;ttl=300";
    sd_span w = {3, (uint32_t)strlen(base) - 3};
    CHECK_EQ_INT(sd_via_parse(base, w, &v, &e), SD_EPARSE);
    CHECK_EQ_INT(e.offset, 38);
    CHECK(strstr(e.reason, "ttl") != NULL);

    sd_span x = {3, 34}; /* ends before ";ttl=300": not read */
    CHECK_EQ_INT(sd_via_parse(base, x, &v, &e), SD_OK);
    CHECK_EQ_INT(v.host.off, 15);
    CHECK_SPAN(base, v.host, "h");
    CHECK_EQ_INT(v.port, 5061);
    CHECK_SPAN(base, v.branch, "z9hG4bKa");
    CHECK_EQ_INT(v.ttl, -1);
}

#include "base/chars.h"

#if defined(SD_SSSE3_DISPATCH)
/* Every octet at every position and span length, through the SSSE3 scans. */
__attribute__((target("ssse3"))) static int token_end_mismatches(void)
{
    int bad = 0;
    char buf[40];
    for (int c = 0; c < 256; c++) {
        for (size_t n = 0; n <= sizeof buf; n++) {
            for (size_t at = 0; at < n; at++) {
                memset(buf, 'a', sizeof buf);
                buf[at] = (char)c;
                for (size_t i = 0; i <= n; i += 3) {
                    size_t want = i + sd_span_class(buf + i, n - i, SD_C_TOKEN);
                    if (sd_token_end_ssse3(buf, i, n) != want) bad++;
                    want = i + sd_span_class(buf + i, n - i, SD_C_WORD);
                    if (sd_class_end_ssse3(buf, i, n, SD_LUT_WORD, SD_C_WORD) != want) bad++;
                }
            }
        }
    }
    return bad;
}
#endif

/* The SSSE3 token and word scans agree with the octet table (when the CPU
 * has SSSE3) */
TEST(test_via_token_scan_ssse3)
{
#if defined(SD_SSSE3_DISPATCH)
    if (sd_cpu_ssse3()) CHECK_EQ_INT(token_end_mismatches(), 0);
#endif
    CHECK(1);
}
