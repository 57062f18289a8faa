/*
 * fuzz_common.h - checks shared by the sipdialog fuzz targets.
 *
 * A failed check prints what failed and aborts, which libFuzzer reports as
 * a crash with the input saved as a reproducer.
 */
#ifndef SD_FUZZ_COMMON_H
#define SD_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sipdialog/msg.h"

#define FUZZ_CHECK(cond)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                              \
        }                                                                         \
    } while (0)

/* Iteration caps: an iterator that has not ended after this many steps on an
 * input of at most a few KiB is looping. */
#define FUZZ_MAX_STEPS 100000

/* A non-empty span s lies within [lo, hi). Empty spans are exempt: an absent
 * element is {0, 0} whatever the input's offset, and no byte is read
 * through an empty span. */
static inline int span_in(sd_span s, size_t lo, size_t hi)
{
    return s.len == 0 || ((size_t)s.off >= lo && (size_t)s.off + (size_t)s.len <= hi);
}

#define CHECK_SPAN(s, lo, hi) FUZZ_CHECK(span_in((s), (lo), (hi)))

/* Walk the generic (or URI) parameters of span v; every name and value must
 * lie within v, and the iterator must make progress and stop. */
static inline void walk_params(const char *base, sd_span v, int uri)
{
    uint32_t pos = 0;
    sd_span name, value;
    int has_value, rc, steps = 0;

    while ((rc = sd_param_next(base, v, uri, &pos, &name, &value, &has_value)) == 1) {
        CHECK_SPAN(name, v.off, (size_t)v.off + v.len);
        CHECK_SPAN(value, v.off, (size_t)v.off + v.len);
        FUZZ_CHECK(has_value || value.len == 0);
        FUZZ_CHECK(++steps <= FUZZ_MAX_STEPS);
    }
    FUZZ_CHECK(rc == 0 || rc == -1);
}

/* Split span v with sd_list_next; call fn on every element. */
static inline void walk_list(const char *base, sd_span v, void (*fn)(const char *, sd_span, void *),
                             void *ctx)
{
    uint32_t pos = 0;
    sd_span item;
    int steps = 0, rc;

    /* 1: an element; 0: the end; -1: malformed list (the implementation
     * reports an unterminated quote, an unclosed '<' or an empty element) */
    while ((rc = sd_list_next(base, v, &pos, &item)) == 1) {
        CHECK_SPAN(item, v.off, (size_t)v.off + v.len);
        FUZZ_CHECK(item.len > 0);
        FUZZ_CHECK(++steps <= FUZZ_MAX_STEPS);
        if (fn)
            fn(base, item, ctx);
    }
    FUZZ_CHECK(rc == 0 || rc == -1);
}

/* Parse a URI and check every span of the result lies within v. */
static inline sd_err check_uri(const char *base, sd_span v, uint32_t max_uri, sd_uri *u)
{
    sd_error err;
    sd_err rc = sd_uri_parse(base, v, max_uri, u, &err);
    size_t lo = v.off, hi = (size_t)v.off + v.len;

    FUZZ_CHECK(rc == SD_OK || rc == SD_EPARSE || rc == SD_ELIMIT);
    if (rc != SD_OK)
        return rc;
    FUZZ_CHECK(u->scheme_id <= SD_URI_TEL);
    FUZZ_CHECK(u->host_type <= SD_HOST_IPV6);
    FUZZ_CHECK(u->port >= -1 && u->port <= 65535);
    CHECK_SPAN(u->scheme, lo, hi);
    CHECK_SPAN(u->user, lo, hi);
    CHECK_SPAN(u->password, lo, hi);
    CHECK_SPAN(u->host, lo, hi);
    CHECK_SPAN(u->params, lo, hi);
    CHECK_SPAN(u->headers, lo, hi);
    CHECK_SPAN(u->opaque, lo, hi);
    if (u->scheme_id == SD_URI_SIP || u->scheme_id == SD_URI_SIPS)
        FUZZ_CHECK(u->host.len > 0);
    if (u->params.len)
        walk_params(base, u->params, 1);
    if (u->user.len) {
        char *tmp = malloc(u->user.len);
        FUZZ_CHECK(tmp != NULL);
        FUZZ_CHECK(sd_pct_decode(base + u->user.off, u->user.len, tmp) <= u->user.len);
        free(tmp);
    }
    return rc;
}

/* Parse a name-addr and check its spans, its URI and its parameters. */
static inline sd_err check_nameaddr(const char *base, sd_span v, int allow_star, uint32_t max_uri,
                                    sd_nameaddr *na)
{
    sd_error err;
    sd_err rc = sd_nameaddr_parse(base, v, allow_star, na, &err);
    size_t lo = v.off, hi = (size_t)v.off + v.len;

    FUZZ_CHECK(rc == SD_OK || rc == SD_EPARSE);
    if (rc != SD_OK)
        return rc;
    CHECK_SPAN(na->display, lo, hi);
    CHECK_SPAN(na->uri, lo, hi);
    CHECK_SPAN(na->params, lo, hi);
    FUZZ_CHECK(allow_star || !na->is_star);
    if (!na->is_star) {
        sd_uri u;
        (void)check_uri(base, na->uri, max_uri, &u);
    }
    if (na->params.len) {
        sd_span tag;
        walk_params(base, na->params, 0);
        if (sd_param_find(base, na->params, 0, "tag", 3, &tag) == 1)
            CHECK_SPAN(tag, na->params.off, (size_t)na->params.off + na->params.len);
    }
    return rc;
}

/* Parse one via-parm and check its spans and ranges. */
static inline sd_err check_via(const char *base, sd_span v, sd_via *via)
{
    sd_error err;
    sd_err rc = sd_via_parse(base, v, via, &err);
    size_t lo = v.off, hi = (size_t)v.off + v.len;

    FUZZ_CHECK(rc == SD_OK || rc == SD_EPARSE);
    if (rc != SD_OK)
        return rc;
    CHECK_SPAN(via->protocol, lo, hi);
    CHECK_SPAN(via->version, lo, hi);
    CHECK_SPAN(via->transport, lo, hi);
    CHECK_SPAN(via->host, lo, hi);
    CHECK_SPAN(via->params, lo, hi);
    CHECK_SPAN(via->branch, lo, hi);
    CHECK_SPAN(via->received, lo, hi);
    CHECK_SPAN(via->maddr, lo, hi);
    FUZZ_CHECK(via->host.len > 0);
    FUZZ_CHECK(via->port >= -1 && via->port <= 65535);
    FUZZ_CHECK(via->ttl >= -1 && via->ttl <= 255);
    FUZZ_CHECK(via->rport >= -1 && via->rport <= 65535);
    FUZZ_CHECK(via->has_branch || via->branch.len == 0);
    FUZZ_CHECK(via->has_received || via->received.len == 0);
    FUZZ_CHECK(via->has_maddr || via->maddr.len == 0);
    FUZZ_CHECK(via->has_rport == (via->rport >= 0));
    if (via->params.len)
        walk_params(base, via->params, 0);
    return rc;
}

/*
 * Relocation: the parsers read only base[v.off .. v.off + v.len), so the same
 * bytes placed after a prefix of unrelated octets must give the same result
 * with every span shifted by the prefix length. make_shifted() returns a
 * fresh allocation holding FUZZ_PREFIX_LEN prefix octets followed by
 * data[0..size) (free it), with *v set to the span of the data.
 */
#define FUZZ_PREFIX "<\";,@:%\\[ "
#define FUZZ_PREFIX_LEN (sizeof(FUZZ_PREFIX) - 1)

static inline char *make_shifted(const uint8_t *data, size_t size, sd_span *v)
{
    char *b = malloc(FUZZ_PREFIX_LEN + size);
    FUZZ_CHECK(b != NULL);
    memcpy(b, FUZZ_PREFIX, FUZZ_PREFIX_LEN);
    if (size)
        memcpy(b + FUZZ_PREFIX_LEN, data, size);
    v->off = (uint32_t)FUZZ_PREFIX_LEN;
    v->len = (uint32_t)size;
    return b;
}

static inline int span_shifted(sd_span a, sd_span b, uint32_t d)
{
    if (a.len == 0 && b.len == 0)
        return 1; /* where an empty span points does not matter */
    return a.len == b.len && a.off + d == b.off;
}

#define CHECK_SHIFTED(a, b, d) FUZZ_CHECK(span_shifted((a), (b), (d)))

#endif
