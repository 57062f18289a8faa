/*
 * via.c - one via-parm (RFC 3261 20.42, 25.1; rport of RFC 3581):
 *
 *   via-parm      = sent-protocol LWS sent-by *( SEMI via-params )
 *   sent-protocol = protocol-name SLASH protocol-version SLASH transport
 *   sent-by       = host [ COLON port ]
 *
 * SLASH, COLON, SEMI and EQUAL allow LWS on both sides (folds included).
 * ttl, maddr, received, branch and rport are checked against their own
 * rules; any other parameter is a generic-param. A parameter that RFC 3261
 * 7.3.1 says must not repeat (one of those five) is an error when repeated.
 */
#include "sipdialog/msg.h"
#include "base/chars.h"
#include "uri.h"

#include <string.h>

static sd_span mkspan(size_t off, size_t len)
{
    sd_span s = {(uint32_t)off, (uint32_t)len};
    return s;
}

static size_t skip_lws(const char *p, size_t i, size_t n)
{
    while (i < n && SD_IS(p[i], SD_C_LWS)) i++;
    return i;
}

static size_t token_end(const char *p, size_t i, size_t n)
{
    while (i < n && SD_IS(p[i], SD_C_TOKEN)) i++;
    return i;
}

static int name_is(const char *base, sd_span nm, const char *s)
{
    size_t l = strlen(s);
    return nm.len == l && sd_ieq(base + nm.off, s, l);
}

/* received = IPv4address / IPv6address (RFC 3261 20.42), or an IPv6
 * reference in brackets (RFC 5118 4.5). */
static int received_ok(const char *p, size_t n)
{
    if (n >= 2 && p[0] == '[' && p[n - 1] == ']') return sd_ipv6_check(p + 1, n - 2);
    if (memchr(p, ':', n) != NULL) return sd_ipv6_check(p, n);
    return sd_ipv4_check(p, n);
}

/* One via-params entry: fill the known fields of *out. Returns NULL or
 * the reason it is malformed. */
static const char *via_param(const char *base, sd_span nm, sd_span val, int hv, sd_via *out)
{
    const char *vp = base + val.off;
    uint8_t t;
    int32_t num;
    if (name_is(base, nm, "branch")) {
        if (out->has_branch) return "duplicate branch";
        if (!hv || token_end(vp, 0, val.len) != val.len) return "branch must be a token";
        out->branch = val;
        out->has_branch = 1;
    } else if (name_is(base, nm, "received")) {
        if (out->has_received) return "duplicate received";
        if (!hv || !received_ok(vp, val.len)) return "received must be an IPv4 or IPv6 address";
        out->received = val;
        out->has_received = 1;
    } else if (name_is(base, nm, "maddr")) {
        if (out->has_maddr) return "duplicate maddr";
        if (!hv || sd_host_scan(vp, val.len, &t) != val.len) return "maddr must be a host";
        out->maddr = val;
        out->has_maddr = 1;
    } else if (name_is(base, nm, "ttl")) {
        if (out->ttl >= 0) return "duplicate ttl";
        if (!hv || val.len > 3 || sd_digits_scan(vp, val.len, 255, &num) != val.len || num < 0)
            return "ttl must be 0..255";
        out->ttl = num;
    } else if (name_is(base, nm, "rport")) {
        if (out->has_rport) return "duplicate rport";
        if (hv) {
            if (sd_digits_scan(vp, val.len, 65535, &num) != val.len || num < 1)
                return "rport must be 1..65535";
            out->rport = num;
        } else {
            out->rport = 0;
        }
        out->has_rport = 1;
    }
    return NULL;
}

sd_err sd_via_parse(const char *base, sd_span v, sd_via *out, sd_error *err)
{
    memset(out, 0, sizeof *out);
    out->port = -1;
    out->ttl = -1;
    out->rport = -1;
    if ((uint64_t)v.off + v.len > UINT32_MAX)
        return sd_error_set(err, SD_EPARSE, v.off, "Via: span out of range");
    const char *p = base + v.off;
    size_t o = v.off, e = v.len, i = skip_lws(p, 0, v.len), s;
    while (e > i && SD_IS(p[e - 1], SD_C_LWS)) e--;

    /* sent-protocol: three tokens separated by SLASH */
    static const char *const what[3] = {"protocol-name", "protocol-version", "transport"};
    sd_span *dst[3] = {&out->protocol, &out->version, &out->transport};
    for (int k = 0; k < 3; k++) {
        if (k > 0) {
            i = skip_lws(p, i, e);
            if (i == e || p[i] != '/')
                return sd_error_set(err, SD_EPARSE, o + i, "Via: expected '/' before %s", what[k]);
            i = skip_lws(p, i + 1, e);
        }
        s = i;
        i = token_end(p, i, e);
        if (i == s) return sd_error_set(err, SD_EPARSE, o + i, "Via: missing %s", what[k]);
        *dst[k] = mkspan(o + s, i - s);
    }

    /* LWS sent-by */
    if (i == e || !SD_IS(p[i], SD_C_LWS))
        return sd_error_set(err, SD_EPARSE, o + i, "Via: expected LWS before sent-by");
    i = skip_lws(p, i, e);
    uint8_t htype;
    size_t hl = sd_host_scan(p + i, e - i, &htype);
    if (hl == 0) return sd_error_set(err, SD_EPARSE, o + i, "Via sent-by: invalid host");
    out->host = mkspan(o + i, hl);
    i = skip_lws(p, i + hl, e);
    if (i < e && p[i] == ':') {
        int32_t port;
        i = skip_lws(p, i + 1, e);
        size_t d = sd_digits_scan(p + i, e - i, 65535, &port);
        if (d == 0) return sd_error_set(err, SD_EPARSE, o + i, "Via sent-by: missing port");
        if (port < 0) return sd_error_set(err, SD_EPARSE, o + i, "Via sent-by: port out of range 0..65535");
        out->port = port;
        i = skip_lws(p, i + d, e);
    }
    out->params = mkspan(o + e, 0);
    if (i == e) return SD_OK;
    if (p[i] != ';') return sd_error_set(err, SD_EPARSE, o + i, "Via: unexpected character after sent-by");

    /* *( SEMI via-params ) */
    sd_span ps = mkspan(o + i, e - i), nm, val;
    uint32_t pos = 0;
    int hv, r;
    size_t bad = 0;
    while ((r = sd_param_step(base, ps, 0, &pos, &nm, &val, &hv, &bad)) == 1) {
        const char *why = via_param(base, nm, val, hv, out);
        if (why != NULL) return sd_error_set(err, SD_EPARSE, nm.off, "Via: %s", why);
    }
    if (r < 0) return sd_error_set(err, SD_EPARSE, bad, "Via: malformed parameter");
    s = skip_lws(p, i + 1, e);
    out->params = mkspan(o + s, e - s);
    return SD_OK;
}
