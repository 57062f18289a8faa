/*
 * test_admit.c - admission control (sipdialog/admit.h): source keys in
 * every accepted and rejected form, the token bucket at its exact
 * boundaries, refusals that change nothing, the live-dialog cap, the bound
 * on tracked sources, and 8 threads whose counts must add up.
 */
#include "tcheck.h"
#include "sipdialog/admit.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000000000LL

static sd_str s_(const char *s)
{
    return (sd_str){s, strlen(s)};
}

static sd_srckey key_of(const char *s)
{
    sd_srckey k;
    sd_error e;
    memset(&k, 0xee, sizeof k);
    if (sd_source_key(s_(s), &k, &e) != SD_OK) {
        fprintf(stderr, "source '%s' refused: %s\n", s, e.reason);
        tc_failures++;
    }
    return k;
}

static int same_key(const char *a, const char *b)
{
    sd_srckey x = key_of(a), y = key_of(b);
    return memcmp(&x, &y, sizeof x) == 0;
}

/* ---------------------------------------------------------- source keys */

TEST(test_admit_key_forms)
{
    sd_srckey k = key_of("192.0.2.1");
    CHECK_EQ_INT(k.family, SD_SRC_IPV4);
    CHECK(memcmp(k.addr, "\xc0\x00\x02\x01", 4) == 0);
    for (int i = 4; i < 16; i++) CHECK_EQ_INT(k.addr[i], 0);
    CHECK_EQ_INT(k.zero[0] | k.zero[1] | k.zero[2], 0);
    /* the port is never part of the key */
    CHECK(same_key("10.0.0.1:5060", "10.0.0.1:5070"));
    CHECK(same_key("10.0.0.1", "10.0.0.1:0"));
    CHECK(same_key("10.0.0.1", "10.0.0.1:65535"));
    CHECK(!same_key("10.0.0.1", "10.0.0.2"));
    /* IPv6: bracketed with or without port, bare, any spelling */
    k = key_of("::1");
    CHECK_EQ_INT(k.family, SD_SRC_IPV6);
    CHECK_EQ_INT(k.addr[15], 1);
    CHECK(same_key("::1", "[::1]"));
    CHECK(same_key("::1", "[::1]:5060"));
    CHECK(same_key("2001:db8::1", "[2001:DB8:0:0:0:0:0:1]:5061"));
    CHECK(same_key("2001:db8::1", "2001:0db8::0001"));
    CHECK(!same_key("2001:db8::1", "2001:db8::2"));
    /* IPv4-mapped IPv6 is the IPv4 address; IPv4-compatible is not */
    CHECK(same_key("::ffff:192.0.2.1", "192.0.2.1"));
    CHECK(same_key("[::ffff:192.0.2.1]:5060", "192.0.2.1:5080"));
    CHECK(same_key("::ffff:c000:201", "192.0.2.1"));
    CHECK(!same_key("::192.0.2.1", "192.0.2.1"));
    /* host names: case-insensitive, trailing dot ignored, never an IP */
    k = key_of("proxy.example.com");
    CHECK_EQ_INT(k.family, SD_SRC_NAME);
    CHECK(same_key("proxy.example.com", "PROXY.Example.COM:5060"));
    CHECK(same_key("proxy.example.com", "proxy.example.com."));
    CHECK(!same_key("proxy.example.com", "proxy.example.org"));
    CHECK(same_key("localhost", "LocalHost:1"));
    CHECK(same_key("a-b.c1", "A-B.C1"));
    CHECK(!same_key("1.example", "2.example"));
    char name[SD_SRC_MAX_NAME + 8];
    /* 255 octets in labels of 63: accepted; 256: refused (below) */
    memset(name, 'a', SD_SRC_MAX_NAME);
    name[63] = name[127] = name[191] = '.';
    name[SD_SRC_MAX_NAME] = '\0';
    k = key_of(name);
    CHECK_EQ_INT(k.family, SD_SRC_NAME);
}

typedef struct bad_case {
    const char *src;
    size_t offset;
    const char *reason; /* a substring of the reason */
} bad_case;

TEST(test_admit_key_rejects)
{
    static const bad_case bad[] = {
        {"", 0, "empty source"},
        {":5060", 0, "empty host"},
        {"10.0.0.1:", 9, "empty port"},
        {"10.0.0.1:65536", 9, "out of range"},
        {"10.0.0.1:99999999999999999999", 9, "out of range"},
        {"10.0.0.1:50a0", 11, "invalid character 'a' in port"},
        {"10.0.0.1:-1", 9, "invalid character '-' in port"},
        {"10.0.0.1: 5060", 9, "invalid byte 0x20 in port"},
        {"256.0.0.1", 0, "malformed IPv4"},
        {"1.2.3", 0, "malformed IPv4"},
        {"1.2.3.4.5", 0, "malformed IPv4"},
        {"01.2.3.4", 0, "malformed IPv4"},
        {"[::1", 0, "unbalanced '['"},
        {"::1]", 3, "unbalanced ']'"},
        {"a]b", 1, "unbalanced ']'"},
        {"a[b", 1, "'[' inside"},
        {"[]", 1, "empty IPv6"},
        {"[::1]x", 5, "invalid character 'x' in source after ']'"},
        {"[::1]:", 6, "empty port"},
        {"[::1]:70000", 6, "out of range"},
        {"[1.2.3.4]", 1, "malformed IPv6"},
        {"[::g]", 3, "invalid character 'g' in IPv6"},
        {"fe80::1%eth0", 7, "zone index"},
        {"1:2:3:4:5:6:7:8:9", 0, "malformed IPv6"},
        {"2001:db8:::1", 0, "malformed IPv6"},
        {"host_name", 4, "invalid character '_' in host name"},
        {"host name", 4, "invalid byte 0x20 in host name"},
        {"h\xc3\xa9.example", 1, "invalid byte 0xc3 in host name"},
        {"a..b", 2, "empty label"},
        {".a", 0, "empty label"},
        {"-a.example", 0, "starts with '-'"},
        {"a-.example", 1, "ends with '-'"},
        {"10.0.0.1:5060:1", 0, "malformed IPv6"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sd_srckey k, before;
        memset(&k, 0x5a, sizeof k);
        before = k;
        sd_error e = {SD_OK, 0, ""};
        sd_err rc = sd_source_key(s_(bad[i].src), &k, &e);
        if (rc != SD_EINVAL || e.offset != bad[i].offset || strstr(e.reason, bad[i].reason) == NULL) {
            fprintf(stderr, "source '%s': rc %s offset %zu reason '%s'; wanted offset %zu, '%s'\n", bad[i].src,
                    sd_err_name(rc), e.offset, e.reason, bad[i].offset, bad[i].reason);
            tc_failures++;
        }
        CHECK(memcmp(&k, &before, sizeof k) == 0); /* *out untouched */
    }
    /* length bounds of host names and labels */
    char name[SD_SRC_MAX_NAME + 8];
    memset(name, 'a', SD_SRC_MAX_NAME + 1);
    name[63] = name[127] = name[191] = '.';
    name[SD_SRC_MAX_NAME + 1] = '\0';
    sd_srckey k;
    sd_error e;
    CHECK_EQ_INT(sd_source_key(s_(name), &k, &e), SD_EINVAL);
    CHECK_EQ_INT(e.offset, SD_SRC_MAX_NAME);
    CHECK(strstr(e.reason, "longer than 255") != NULL);
    memset(name, 'b', 64);
    strcpy(name + 64, ".example");
    CHECK_EQ_INT(sd_source_key(s_(name), &k, &e), SD_EINVAL);
    CHECK_EQ_INT(e.offset, 63);
    CHECK(strstr(e.reason, "label longer than 63") != NULL);
    memmove(name + 63, name + 64, strlen(name + 64) + 1); /* 63 octets: the limit */
    CHECK_EQ_INT(sd_source_key(s_(name), &k, &e), SD_OK);
    /* an embedded NUL is junk, not an end */
    CHECK_EQ_INT(sd_source_key((sd_str){"ab\0c", 4}, &k, &e), SD_EINVAL);
    CHECK_EQ_INT(e.offset, 2);
    CHECK_EQ_INT(sd_source_key((sd_str){NULL, 0}, &k, &e), SD_EINVAL);
}

TEST(test_admit_key_host_only)
{
    sd_srckey a, b;
    sd_error e;
    CHECK_EQ_INT(sd_source_key_host(s_("192.0.2.7"), &a, &e), SD_OK);
    b = key_of("192.0.2.7:5060");
    CHECK(memcmp(&a, &b, sizeof a) == 0);
    CHECK_EQ_INT(sd_source_key_host(s_("[2001:db8::7]"), &a, &e), SD_OK);
    CHECK_EQ_INT(sd_source_key_host(s_("2001:db8::7"), &b, &e), SD_OK);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
    CHECK_EQ_INT(sd_source_key_host(s_("example.com"), &a, &e), SD_OK);
    CHECK_EQ_INT(sd_source_key_host(s_("192.0.2.7:5060"), &a, &e), SD_EINVAL);
    CHECK_EQ_INT(e.offset, 9);
    CHECK(strstr(e.reason, "port is not allowed") != NULL);
    CHECK_EQ_INT(sd_source_key_host(s_("[::1]:5060"), &a, &e), SD_EINVAL);
    CHECK_EQ_INT(e.offset, 5);
}

/* ---------------------------------------------------------- rate limit */

static sd_ratelimit *rl_new(double rate, double burst, size_t max)
{
    sd_ratelimit *rl = NULL;
    sd_error e;
    if (sd_ratelimit_new(rate, burst, max, &rl, &e) != SD_OK) {
        fprintf(stderr, "sd_ratelimit_new: %s\n", e.reason);
        abort();
    }
    return rl;
}

/* 100 a minute: the 100th admission passes, the 101st in the same minute
 * fails; 0.6 s later there is exactly one more token. */
TEST(test_admit_rate_boundaries)
{
    sd_ratelimit *rl = rl_new(100, 0, 0);
    sd_srckey k = key_of("192.0.2.1:5060"), other = key_of("192.0.2.2");
    int64_t t0 = 5 * SEC;
    CHECK(sd_ratelimit_tokens(rl, &k, t0) == 100.0);
    for (int i = 0; i < 100; i++) CHECK_EQ_INT(sd_ratelimit_take(rl, &k, t0), 1);
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k, t0), 0);
    CHECK(sd_ratelimit_tokens(rl, &k, t0) == 0.0);
    /* another port of the same address is the same source; another address is not */
    sd_srckey k2 = key_of("192.0.2.1:5070");
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k2, t0), 0);
    CHECK_EQ_INT(sd_ratelimit_take(rl, &other, t0), 1);
    /* one nanosecond short of a token, then the token */
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k, t0 + 600000000 - 1), 0);
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k, t0 + 600000000), 1);
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k, t0 + 600000000), 0);
    /* a whole minute refills to the burst and no further */
    CHECK(sd_ratelimit_tokens(rl, &k, t0 + 600000000 + 60 * SEC) == 100.0);
    CHECK(sd_ratelimit_tokens(rl, &k, t0 + 3600 * SEC) == 100.0);
    /* a clock that steps back stands still */
    CHECK(sd_ratelimit_tokens(rl, &k, t0) == 0.0);
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k, t0 - SEC), 0);
    CHECK_EQ_INT(sd_ratelimit_sources(rl), 2);
    sd_ratelimit_free(rl);
}

TEST(test_admit_rate_burst)
{
    /* burst 5 at 60/min: 5 at once, then one per second, never more than 5 saved */
    sd_ratelimit *rl = rl_new(60, 5, 16);
    sd_srckey k = key_of("[2001:db8::5]:5060");
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(sd_ratelimit_take(rl, &k, 0), 1);
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k, 0), 0);
    CHECK(fabs(sd_ratelimit_tokens(rl, &k, SEC / 2) - 0.5) < 1e-12);
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k, SEC / 2), 0);
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k, SEC), 1);
    CHECK(sd_ratelimit_tokens(rl, &k, 1000 * SEC) == 5.0);
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(sd_ratelimit_take(rl, &k, 1000 * SEC), 1);
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k, 1000 * SEC), 0);
    sd_ratelimit_free(rl);
    /* a fractional rate gets a burst of 1 by default */
    rl = rl_new(0.5, 0, 16);
    CHECK(sd_ratelimit_tokens(rl, &k, 0) == 1.0);
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k, 0), 1);
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k, 119 * SEC), 0);
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k, 120 * SEC), 1);
    sd_ratelimit_free(rl);
    /* rate 0: no limit, nothing stored */
    rl = rl_new(0, 0, 16);
    for (int i = 0; i < 1000; i++) CHECK_EQ_INT(sd_ratelimit_take(rl, &k, 0), 1);
    CHECK(isinf(sd_ratelimit_tokens(rl, &k, 0)));
    CHECK_EQ_INT(sd_ratelimit_sources(rl), 0);
    sd_ratelimit_free(rl);
}

TEST(test_admit_rate_bad_args)
{
    sd_ratelimit *rl = NULL;
    sd_error e;
    CHECK_EQ_INT(sd_ratelimit_new(-1, 0, 0, &rl, &e), SD_EINVAL);
    CHECK(strstr(e.reason, "rate_per_minute") != NULL);
    CHECK_EQ_INT(sd_ratelimit_new(NAN, 0, 0, &rl, &e), SD_EINVAL);
    CHECK_EQ_INT(sd_ratelimit_new(INFINITY, 0, 0, &rl, &e), SD_EINVAL);
    CHECK_EQ_INT(sd_ratelimit_new(10, 0.5, 0, &rl, &e), SD_EINVAL);
    CHECK(strstr(e.reason, "burst") != NULL);
    CHECK_EQ_INT(sd_ratelimit_new(10, -3, 0, &rl, &e), SD_EINVAL);
    CHECK_EQ_INT(sd_ratelimit_new(10, 0, 0x1000000, &rl, &e), SD_EINVAL);
    CHECK(strstr(e.reason, "max_sources") != NULL);
    CHECK(rl == NULL);
    sd_admit *a = NULL;
    sd_admit_opts o;
    sd_admit_opts_default(&o);
    o.rate_per_minute = -0.1;
    CHECK_EQ_INT(sd_admit_new(&o, &a, &e), SD_EINVAL);
    CHECK(a == NULL);
    sd_ratelimit_free(NULL);
    sd_admit_free(NULL);
}

/* A full table evicts only buckets that refilled completely; otherwise a
 * new source is refused and the table never holds more than max_sources. */
TEST(test_admit_rate_eviction_bound)
{
    enum { MAX = 4 };
    sd_ratelimit *rl = rl_new(100, 0, MAX);
    char buf[32];
    sd_srckey k[MAX + 1];
    for (int i = 0; i <= MAX; i++) {
        snprintf(buf, sizeof buf, "198.51.100.%d:5060", i + 1);
        k[i] = key_of(buf);
    }
    for (int i = 0; i < MAX; i++) CHECK_EQ_INT(sd_ratelimit_take(rl, &k[i], 0), 1);
    CHECK_EQ_INT(sd_ratelimit_sources(rl), MAX);
    /* full, and every bucket is one token short: refused, nothing stored */
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k[MAX], 0), 0);
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k[MAX], 600000000 - 1), 0);
    CHECK_EQ_INT(sd_ratelimit_sources(rl), MAX);
    CHECK(sd_ratelimit_tokens(rl, &k[MAX], 0) == 100.0); /* untracked: a full bucket */
    /* the tracked ones still work */
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k[0], 1), 1);
    /* 0.6 s on, k[1..3] are full again (k[0] took a second token): evicted */
    CHECK_EQ_INT(sd_ratelimit_take(rl, &k[MAX], 600000000), 1);
    CHECK_EQ_INT(sd_ratelimit_sources(rl), 2);
    CHECK(fabs(sd_ratelimit_tokens(rl, &k[0], 600000000) - 99.0) < 1e-9); /* k[0] kept its state */
    sd_ratelimit_free(rl);

    /* a flood of new sources: never more than MAX tracked, old ones keep working */
    rl = rl_new(100, 0, 64);
    sd_srckey v = key_of("203.0.113.200");
    for (int i = 0; i < 50; i++) CHECK_EQ_INT(sd_ratelimit_take(rl, &v, 0), 1);
    int took = 0;
    for (int i = 0; i < 10000; i++) {
        snprintf(buf, sizeof buf, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        sd_srckey f = key_of(buf);
        took += sd_ratelimit_take(rl, &f, (int64_t)i * 1000);
        if (sd_ratelimit_sources(rl) > 64) {
            CHECK(!"more than max_sources tracked");
            break;
        }
    }
    CHECK_EQ_INT(took, 63);
    CHECK(fabs(sd_ratelimit_tokens(rl, &v, 10000 * 1000) - 50.0 - 10000.0 * 1000 * 100 / 6e10) < 1e-9);
    sd_ratelimit_free(rl);
}

/* ------------------------------------------------------------ admission */

static sd_admit *adm_new(uint32_t cap, double rate, double burst, size_t max)
{
    sd_admit_opts o = {cap, rate, burst, max};
    sd_admit *a = NULL;
    sd_error e;
    if (sd_admit_new(&o, &a, &e) != SD_OK) {
        fprintf(stderr, "sd_admit_new: %s\n", e.reason);
        abort();
    }
    return a;
}

TEST(test_admit_defaults)
{
    sd_admit_opts o;
    sd_admit_opts_default(&o);
    CHECK_EQ_INT(o.max_per_source, 100);
    CHECK(o.rate_per_minute == 100);
    CHECK(o.burst == 0);
    CHECK_EQ_INT(o.max_sources, 65536);
    sd_admit *a = NULL;
    sd_error e;
    CHECK_EQ_INT(sd_admit_new(NULL, &a, &e), SD_OK);
    sd_srckey k = key_of("192.0.2.9");
    for (int i = 0; i < 100; i++) CHECK_EQ_INT(sd_admit_check(a, &k, 0), 1);
    CHECK_EQ_INT(sd_admit_check(a, &k, 0), 0);
    sd_admit_stats s;
    sd_admit_get_stats(a, &s);
    CHECK_EQ_INT(s.admitted, 100);
    CHECK_EQ_INT(s.refused_rate, 1);
    CHECK_EQ_INT(s.sources, 1);
    sd_admit_free(a);
}

/* The cap refuses without taking a token; acquire and release count the
 * live dialogs; the entry goes away at 0 live with a full bucket. */
TEST(test_admit_cap_acquire_release)
{
    sd_admit *a = adm_new(3, 60, 10, 16);
    sd_srckey k = key_of("192.0.2.10:5060");
    sd_error e;
    uint32_t slot[4];
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(sd_admit_check(a, &k, 0), 1);
        CHECK_EQ_INT(sd_admit_acquire(a, &k, &slot[i], &e), SD_OK);
    }
    CHECK_EQ_INT(sd_admit_live(a, &k), 3);
    /* at the cap: check refuses, no token taken; acquire refuses, nothing counted */
    CHECK_EQ_INT(sd_admit_check(a, &k, 0), 0);
    CHECK_EQ_INT(sd_admit_check(a, &k, 0), 0);
    CHECK_EQ_INT(sd_admit_acquire(a, &k, &slot[3], &e), SD_ELIMIT);
    CHECK(strstr(e.reason, "cap") != NULL);
    CHECK_EQ_INT(sd_admit_live(a, &k), 3);
    CHECK_EQ_INT(sd_admit_enter(a, &k, 0, &slot[3], &e), SD_ELIMIT);
    sd_admit_stats s;
    sd_admit_get_stats(a, &s);
    CHECK_EQ_INT(s.admitted, 3);
    CHECK_EQ_INT(s.refused_cap, 3);
    CHECK_EQ_INT(s.refused_rate, 0);
    CHECK_EQ_INT(s.acquired, 3);
    CHECK_EQ_INT(s.acquire_refused, 1);
    CHECK_EQ_INT(s.live_dialogs, 3);
    CHECK_EQ_INT(s.live_sources, 1);
    /* one ends: room for one, and the bucket still has its 7 tokens */
    sd_admit_release(a, slot[1]);
    CHECK_EQ_INT(sd_admit_live(a, &k), 2);
    CHECK_EQ_INT(sd_admit_enter(a, &k, 0, &slot[1], &e), SD_OK);
    CHECK_EQ_INT(sd_admit_live(a, &k), 3);
    /* a forged slot (no such entry) is ignored */
    sd_admit_release(a, slot[0]);
    sd_admit_release(a, 0xfffffffe);
    sd_admit_release(a, 0x00ffff00);
    CHECK_EQ_INT(sd_admit_live(a, &k), 2);
    sd_admit_release(a, slot[1]);
    sd_admit_release(a, slot[2]);
    CHECK_EQ_INT(sd_admit_live(a, &k), 0);
    sd_admit_get_stats(a, &s);
    CHECK_EQ_INT(s.live_dialogs, 0);
    CHECK_EQ_INT(s.live_sources, 0);
    CHECK_EQ_INT(s.released, 4);
    CHECK_EQ_INT(s.sources, 1); /* 6 tokens left of 10: kept */
    /* the rate part: 6 more now, then none */
    for (int i = 0; i < 6; i++) CHECK_EQ_INT(sd_admit_check(a, &k, 0), 1);
    CHECK_EQ_INT(sd_admit_check(a, &k, 0), 0);
    CHECK_EQ_INT(sd_admit_enter(a, &k, 0, &slot[0], &e), SD_ELIMIT);
    CHECK(strstr(e.reason, "rate") != NULL);
    CHECK_EQ_INT(sd_admit_check(a, &k, SEC), 1);
    sd_admit_free(a);

    /* acquire alone never takes a token; with a full bucket, release drops the entry */
    a = adm_new(2, 60, 0, 16);
    CHECK_EQ_INT(sd_admit_acquire(a, &k, &slot[0], &e), SD_OK);
    CHECK_EQ_INT(sd_admit_acquire(a, &k, &slot[1], &e), SD_OK);
    CHECK_EQ_INT(sd_admit_acquire(a, &k, &slot[2], &e), SD_ELIMIT);
    sd_admit_release(a, slot[0]);
    sd_admit_release(a, slot[1]);
    sd_admit_get_stats(a, &s);
    CHECK_EQ_INT(s.sources, 0);
    /* the slot of a removed entry is stale even when the index is reused */
    CHECK_EQ_INT(sd_admit_acquire(a, &k, &slot[2], &e), SD_OK);
    sd_admit_release(a, slot[0]);
    CHECK_EQ_INT(sd_admit_live(a, &k), 1);
    sd_admit_release(a, slot[2]);
    CHECK_EQ_INT(sd_admit_live(a, &k), 0);
    sd_admit_free(a);
}

TEST(test_admit_zero_means_no_limit)
{
    sd_srckey k = key_of("192.0.2.11");
    sd_error e;
    uint32_t slot;
    /* no cap: only the rate decides */
    sd_admit *a = adm_new(0, 60, 2, 16);
    for (int i = 0; i < 10; i++) CHECK_EQ_INT(sd_admit_acquire(a, &k, &slot, &e), SD_OK);
    CHECK_EQ_INT(sd_admit_check(a, &k, 0), 1);
    CHECK_EQ_INT(sd_admit_check(a, &k, 0), 1);
    CHECK_EQ_INT(sd_admit_check(a, &k, 0), 0);
    sd_admit_free(a);
    /* no rate: only the cap decides, and checks store nothing */
    a = adm_new(2, 0, 0, 16);
    for (int i = 0; i < 100; i++) CHECK_EQ_INT(sd_admit_check(a, &k, 0), 1);
    sd_admit_stats s;
    sd_admit_get_stats(a, &s);
    CHECK_EQ_INT(s.sources, 0);
    uint32_t sl[2];
    CHECK_EQ_INT(sd_admit_acquire(a, &k, &sl[0], &e), SD_OK);
    CHECK_EQ_INT(sd_admit_acquire(a, &k, &sl[1], &e), SD_OK);
    CHECK_EQ_INT(sd_admit_check(a, &k, 0), 0);
    sd_admit_release(a, sl[0]);
    CHECK_EQ_INT(sd_admit_check(a, &k, 0), 1);
    sd_admit_release(a, sl[1]);
    sd_admit_get_stats(a, &s);
    CHECK_EQ_INT(s.sources, 0);
    sd_admit_free(a);
    /* neither: everything passes */
    a = adm_new(0, 0, 0, 1);
    for (int i = 0; i < 100; i++) CHECK_EQ_INT(sd_admit_check(a, &k, 0), 1);
    sd_admit_free(a);
}

/* Sources with live dialogs are never evicted: a full table of them
 * refuses new sources until one is released. */
TEST(test_admit_table_bound)
{
    sd_admit *a = adm_new(10, 100, 0, 3);
    sd_srckey k[4] = {key_of("192.0.2.21"), key_of("192.0.2.22"), key_of("192.0.2.23"), key_of("192.0.2.24")};
    sd_error e;
    uint32_t slot[3];
    for (int i = 0; i < 3; i++) CHECK_EQ_INT(sd_admit_enter(a, &k[i], 0, &slot[i], &e), SD_OK);
    CHECK_EQ_INT(sd_admit_check(a, &k[3], 3600 * SEC), 0);
    uint32_t spare = 77;
    CHECK_EQ_INT(sd_admit_acquire(a, &k[3], &spare, &e), SD_ELIMIT);
    CHECK(strstr(e.reason, "too many sources") != NULL);
    CHECK_EQ_INT(spare, 77);
    sd_admit_stats s;
    sd_admit_get_stats(a, &s);
    CHECK_EQ_INT(s.refused_sources, 1);
    CHECK_EQ_INT(s.sources, 3);
    /* at 0 live its bucket holds 99 of 100 tokens (as of time 0): kept */
    sd_admit_release(a, slot[1]);
    sd_admit_get_stats(a, &s);
    CHECK_EQ_INT(s.sources, 3);
    /* at the hour the released source's bucket is full: evicted for the newcomer */
    CHECK_EQ_INT(sd_admit_check(a, &k[3], 3600 * SEC), 1);
    sd_admit_get_stats(a, &s);
    CHECK_EQ_INT(s.sources, 3);
    CHECK_EQ_INT(sd_admit_live(a, &k[0]), 1);
    CHECK_EQ_INT(sd_admit_live(a, &k[2]), 1);
    sd_admit_release(a, slot[0]);
    sd_admit_release(a, slot[2]);
    sd_admit_get_stats(a, &s);
    CHECK_EQ_INT(s.live_dialogs, 0);
    sd_admit_free(a);
}

/* --------------------------------------------------------------- threads */

enum { T_THREADS = 8, T_ITERS = 10000, T_SOURCES = 3, T_HOLD = 16 };

typedef struct adm_job {
    sd_admit *a;
    _Atomic int64_t *clock;
    int id;
    long checks_ok, acquires_ok, enters_ok, releases;
} adm_job;

static void *adm_worker(void *arg)
{
    adm_job *j = arg;
    static const char *src[T_SOURCES] = {"192.0.2.31:5060", "[2001:db8::31]:5061", "edge.example.net"};
    sd_srckey k[T_SOURCES];
    for (int i = 0; i < T_SOURCES; i++) k[i] = key_of(src[i]);
    uint32_t held[T_HOLD];
    int nheld = 0;
    sd_error e;
    for (int i = 0; i < T_ITERS; i++) {
        const sd_srckey *key = &k[(i + j->id) % T_SOURCES];
        int64_t now = atomic_fetch_add_explicit(j->clock, 10000, memory_order_relaxed);
        uint32_t slot;
        if (i % 3 == 2) {
            if (sd_admit_enter(j->a, key, now, &slot, &e) == SD_OK) {
                j->enters_ok++;
                held[nheld++] = slot;
            }
        } else if (sd_admit_check(j->a, key, now)) {
            j->checks_ok++;
            if (sd_admit_acquire(j->a, key, &slot, &e) == SD_OK) {
                j->acquires_ok++;
                held[nheld++] = slot;
            }
        }
        if (nheld == T_HOLD || (nheld > 0 && i % 7 == 0)) {
            sd_admit_release(j->a, held[--nheld]);
            j->releases++;
        }
    }
    while (nheld > 0) {
        sd_admit_release(j->a, held[--nheld]);
        j->releases++;
    }
    return NULL;
}

TEST(test_admit_threads_counts)
{
    /* a tight cap and a rate that refuses most of the traffic: 80,000
     * attempts over 0.8 s of clock at 100 a second and source */
    sd_admit *a = adm_new(4, 6000, 50, 8);
    _Atomic int64_t clock = 0;
    pthread_t t[T_THREADS];
    adm_job j[T_THREADS];
    for (int i = 0; i < T_THREADS; i++) {
        memset(&j[i], 0, sizeof j[i]);
        j[i].a = a;
        j[i].clock = &clock;
        j[i].id = i;
        CHECK_EQ_INT(pthread_create(&t[i], NULL, adm_worker, &j[i]), 0);
    }
    long checks_ok = 0, acquires_ok = 0, enters_ok = 0, releases = 0;
    for (int i = 0; i < T_THREADS; i++) {
        pthread_join(t[i], NULL);
        checks_ok += j[i].checks_ok;
        acquires_ok += j[i].acquires_ok;
        enters_ok += j[i].enters_ok;
        releases += j[i].releases;
    }
    sd_admit_stats s;
    sd_admit_get_stats(a, &s);
    long attempts = (long)T_THREADS * T_ITERS; /* every iteration is one check or one enter */
    CHECK_EQ_INT(s.admitted + s.refused_rate + s.refused_cap + s.refused_sources, attempts);
    CHECK_EQ_INT(s.admitted, checks_ok + enters_ok);
    CHECK_EQ_INT(s.acquired, acquires_ok + enters_ok);
    CHECK_EQ_INT(s.acquired + s.acquire_refused, checks_ok + enters_ok);
    CHECK_EQ_INT(s.released, releases);
    CHECK_EQ_INT(s.released, s.acquired);
    CHECK_EQ_INT(s.live_dialogs, 0);
    CHECK_EQ_INT(s.live_sources, 0);
    CHECK_EQ_INT(s.refused_sources, 0);
    CHECK(s.refused_rate > 0);
    CHECK(s.refused_cap > 0);
    static const char *src[T_SOURCES] = {"192.0.2.31", "2001:db8::31", "EDGE.example.net"};
    for (int i = 0; i < T_SOURCES; i++) {
        sd_srckey k = key_of(src[i]);
        CHECK_EQ_INT(sd_admit_live(a, &k), 0);
    }
    sd_admit_free(a);
}

/* One limiter, 8 threads, one instant: exactly `burst` tokens are handed out. */
static void *rl_worker(void *arg)
{
    sd_ratelimit *rl = *(sd_ratelimit **)arg;
    sd_srckey k = key_of("198.51.100.77:5060");
    intptr_t n = 0;
    for (int i = 0; i < T_ITERS; i++) n += sd_ratelimit_take(rl, &k, 42 * SEC);
    return (void *)n;
}

TEST(test_admit_threads_ratelimit_exact)
{
    sd_ratelimit *rl = rl_new(100, 1234, 16);
    pthread_t t[T_THREADS];
    for (int i = 0; i < T_THREADS; i++) CHECK_EQ_INT(pthread_create(&t[i], NULL, rl_worker, &rl), 0);
    long total = 0;
    for (int i = 0; i < T_THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        total += (long)(intptr_t)r;
    }
    CHECK_EQ_INT(total, 1234);
    sd_ratelimit_free(rl);
}
