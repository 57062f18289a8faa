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

static inline size_t skip_lws(const char *p, size_t i, size_t n)
{
    while (i < n && SD_IS(p[i], SD_C_LWS)) i++;
    return i;
}

/* The four octets of s as they lie in memory. */
static inline uint32_t sd_word4(const char *s)
{
    uint32_t w;
    memcpy(&w, s, 4);
    return w;
}

/* Case-insensitive match of an all-letter lower-case literal of length 1
 * to 8: OR-ing 0x20 into an octet maps it onto a lower-case letter L only
 * when it is L or its upper-case form, so a word compare is exact. */
static inline uint64_t load_lc(const char *s, size_t len)
{
    uint64_t w = 0;
    if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + len - 4, 4);
        w = (uint64_t)a | ((uint64_t)b << 32);
    } else {
        for (size_t k = 0; k < len; k++) w |= (uint64_t)(unsigned char)s[k] << (8 * k);
    }
    return w;
}

static inline int name_is(const char *base, sd_span nm, const char *lit, size_t len)
{
    const uint64_t lower = len >= 4 ? 0x2020202020202020u : (0x20202020u >> (8 * (4 - len)));
    return nm.len == len && (load_lc(base + nm.off, len) | lower) == load_lc(lit, len);
}

/*
 * sd_ipv4_len(p, n) == n && n > 0: p[0..n) is exactly an IPv4address.
 * `lo` is the lowest readable address: when p + n - 16 >= lo, the 16
 * octets ending at p + n are classified at once and the structure read
 * from the masks (three single dots, neither first nor last, between
 * runs of one to three digits); only three-digit runs are then read for
 * their value.
 */
static inline int ipv4_exact(const char *p, size_t n, const char *lo)
{
#if defined(__SSE2__)
    if (n >= 7 && n <= 15 && (size_t)(p - lo) + n >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + n - 16));
        unsigned sh = 16 - (unsigned)n, all = ((unsigned)1 << n) - 1;
        unsigned dig = ((unsigned)_mm_movemask_epi8(sd_in_range16(x, '0', '9')) >> sh) & all;
        unsigned dot = ((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('.'))) >> sh) & all;
        unsigned d1 = dot & (dot - 1), d2 = d1 & (d1 - 1);
        if ((dig | dot) != all || d2 == 0 || (d2 & (d2 - 1)) != 0 || (dot & 1) || (dot >> (n - 1)) ||
            (dot & (dot >> 1)) || (dig & (dig >> 1) & (dig >> 2) & (dig >> 3)))
            return 0;
        /* each run of three digits (none longer) is at most 255: its
         * first digit below '2', or '2' and then below '5', or "25" and
         * then at most '5' (digits compare as signed octets) */
        unsigned t = dig & (dig >> 1) & (dig >> 2);
        if (t != 0) {
            unsigned gt2 = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(x, _mm_set1_epi8('2'))) >> sh;
            unsigned eq2 = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('2'))) >> sh;
            unsigned gt5 = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(x, _mm_set1_epi8('5'))) >> sh;
            unsigned eq5 = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('5'))) >> sh;
            if (t & (gt2 | (eq2 & ((gt5 >> 1) | ((eq5 >> 1) & (gt5 >> 2)))))) return 0;
        }
        return 1;
    }
#else
    (void)lo;
#endif
    return n != 0 && sd_ipv4_len(p, n) == n;
}

/* One via-params entry with value kind `kind` (SD_GV_*): fill the known
 * fields of *out. `lo` is the lowest readable address (the start of the
 * Via value). Returns NULL or the reason it is malformed. */
static SD_ALWAYS_INLINE const char *via_param(const char *base, sd_span nm, sd_span val, int kind, sd_via *out,
                                              const char *lo)
{
    const char *vp = base + val.off;
    int hv = kind != SD_GV_NONE;
    uint8_t t;
    int32_t num;
    switch (nm.len) {
    case 6:
        if (!name_is(base, nm, "branch", 6)) break;
        if (out->has_branch) return "duplicate branch";
        /* a token value is exactly a run of token octets */
        if (kind != SD_GV_TOKEN) return "branch must be a token";
        out->branch = val;
        out->has_branch = 1;
        break;
    case 8:
        if (!name_is(base, nm, "received", 8)) break;
        if (out->has_received) return "duplicate received";
        /* IPv6 values were validated by the iterator; a token holds no
         * ':' and is an IPv4address or nothing */
        if (kind == SD_GV_TOKEN ? !ipv4_exact(vp, val.len, lo) : kind != SD_GV_IPV6 && kind != SD_GV_IPV6REF)
            return "received must be an IPv4 or IPv6 address";
        out->received = val;
        out->has_received = 1;
        break;
    case 5:
        if (name_is(base, nm, "maddr", 5)) {
            if (out->has_maddr) return "duplicate maddr";
            if (!hv || sd_host_scan(vp, val.len, &t) != val.len) return "maddr must be a host";
            out->maddr = val;
            out->has_maddr = 1;
        } else if (name_is(base, nm, "rport", 5)) {
            if (out->has_rport) return "duplicate rport";
            if (hv) {
                if (val.len <= 5) {
                    /* the usual value, read in line */
                    unsigned v = 0, d;
                    for (size_t k = 0; k < val.len; k++) {
                        if ((d = sd_digit_of(vp[k])) >= 10) return "rport must be 1..65535";
                        v = v * 10 + d;
                    }
                    if (v < 1 || v > 65535) return "rport must be 1..65535";
                    num = (int32_t)v;
                } else if (sd_digits_scan(vp, val.len, 65535, &num) != val.len || num < 1) {
                    return "rport must be 1..65535";
                }
                out->rport = num;
            } else {
                out->rport = 0;
            }
            out->has_rport = 1;
        }
        break;
    case 3:
        if (!name_is(base, nm, "ttl", 3)) break;
        if (out->ttl >= 0) return "duplicate ttl";
        if (!hv || val.len > 3 || sd_digits_scan(vp, val.len, 255, &num) != val.len || num < 0)
            return "ttl must be 0..255";
        out->ttl = num;
        break;
    default:
        break;
    }
    return NULL;
}

/*
 * The common shape in one pass: "SIP/2.0/" transport SP host [ ":" port ]
 * *( ";" name [ "=" token ] ), with no other LWS, no quoted-string and no
 * IPv6 value. p[0..n) (at offset o of base) must neither start nor end
 * with LWS. Returns non-zero with *out filled exactly as sd_via_parse
 * fills it, or 0 when the entry has another shape or is malformed (the
 * general parser then reads it again and reports what is wrong). A
 * template: `simd` (a constant) picks the SSSE3 token scan, for
 * via_fast_ssse3.
 *
 * With `open` (a constant), p[0..n) is all that is readable and the entry
 * ends at the first CR instead of at n: the result is then the index of
 * that CR, and 0 when there is none before n. Nothing the shape accepts
 * is a CTL, so that CR is the first CTL at p, and the entry is accepted
 * exactly when it would be as p[0..CR) (every test of the end, i == n,
 * becomes p[i] == CR; every scan stops at the CR as it stopped at n).
 */
static SD_ALWAYS_INLINE size_t via_fast_t(const char *base, size_t o, const char *p, size_t n, sd_via *out, int simd,
                                          int open)
{
#if defined(SD_SSSE3_DISPATCH)
#define TOKEN_END(at) (simd ? sd_token_end_ssse3(p, (at), n) : (at) + sd_span_class(p + (at), n - (at), SD_C_TOKEN))
#else
#define TOKEN_END(at) ((void)simd, (at) + sd_span_class(p + (at), n - (at), SD_C_TOKEN))
#endif
/* i is where the entry ends */
#define AT_END(i) (open ? (i) < n && p[i] == '\r' : (i) == n)
    uint64_t w, sip;
    if (n < 12) return 0;
    memcpy(&w, p, 8);
    memcpy(&sip, "SIP/2.0/", 8);
    if (w != sip) return 0;
    memset(out, 0, sizeof *out);
    out->port = -1;
    out->ttl = -1;
    out->rport = -1;
    out->protocol = mkspan(o, 3);
    out->version = mkspan(o + 4, 3);
    /* the usual transports, followed by the SP, in one compare */
    uint32_t t4;
    size_t i;
    memcpy(&t4, p + 8, 4);
    if (t4 == sd_word4("UDP ") || t4 == sd_word4("TCP ") || t4 == sd_word4("TLS "))
        i = 11;
    else
        i = TOKEN_END(8);
    if (i == 8 || i + 1 >= n || p[i] != ' ' || SD_IS(p[i + 1], SD_C_LWS)) return 0;
    out->transport = mkspan(o + 8, i - 8);
    i++;
    uint8_t htype;
    size_t hl;
#if defined(__SSE2__)
    /* a hostname under 32 octets, the usual sent-by, read without the
     * call: what sd_host_scan does for a host that starts with a letter */
    if (n - i >= 32 && SD_IS(p[i], SD_C_ALPHA)) {
        hl = sd_hostname_scan32(p + i, &htype);
        if (hl == 32) hl = sd_host_scan(p + i, n - i, &htype);
    } else
#endif
        hl = sd_host_scan(p + i, n - i, &htype);
    if (hl == 0) return 0;
    out->host = mkspan(o + i, hl);
    i += hl;
    if (i < n && p[i] == ':') {
        /* at most five digits here; longer runs (leading zeros) are left
         * to the general parser */
        unsigned d, port = 0;
        size_t s = ++i;
#if defined(__SSE2__)
        if (n - i >= 16) {
            /* the digit run from one 16-octet mask */
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            unsigned run = (unsigned)__builtin_ctz(~(unsigned)_mm_movemask_epi8(sd_in_range16(x, '0', '9')));
            if (run == 0 || run > 5) return 0;
            /* the run's value from one word: the digits, moved up so
             * the ones missing from eight are leading zeros, combined in
             * pairs, quads and then as a whole */
            uint64_t dw;
            memcpy(&dw, p + i, 8);
            dw = (dw & 0x0f0f0f0f0f0f0f0fu) << (8 * (8 - run));
            dw = (dw * 10 + (dw >> 8)) & 0x00ff00ff00ff00ffu;
            dw = (dw * 100 + (dw >> 16)) & 0x0000ffff0000ffffu;
            dw = (dw * 10000 + (dw >> 32)) & 0xffffffffu;
            if (dw > 65535) return 0;
            port = (unsigned)dw;
            i += run;
        } else
#endif
        {
            size_t lim = n - i < 5 ? n : i + 5;
            while (i < lim && (d = (unsigned)(unsigned char)p[i] - '0') < 10) {
                port = port * 10 + d;
                i++;
            }
            if (i == s || port > 65535 || (i < n && (unsigned)(unsigned char)p[i] - '0' < 10)) return 0;
        }
        out->port = (int32_t)port;
    }
    if (AT_END(i)) {
        out->params = mkspan(o + i, 0);
        return open ? i : 1;
    }
    if (i >= n || p[i] != ';' || i + 1 == n || SD_IS(p[i + 1], SD_C_LWS)) return 0;
    size_t ps = i + 1;
    for (;;) {
        /* p[i] == ';' */
        size_t ns = i + 1, ne;
        uint32_t stop = 0;
#if defined(SD_SSSE3_DISPATCH)
        /* name and value from one 32-octet mask when they fit in it */
        if (simd && n >= 32) stop = sd_token_stop32_ssse3(p, ns, n);
#endif
        ne = stop ? ns + (size_t)__builtin_ctz(stop) : TOKEN_END(ns);
        if (ne == ns) return 0;
        sd_span nm = mkspan(o + ns, ne - ns), val = mkspan(o + ne, 0);
        int kind = SD_GV_NONE;
        i = ne;
        if (i < n && p[i] == '=') {
            size_t vs = i + 1;
            /* the stops after the '=' (none when the '=' is the last
             * octet of the mask or lies beyond it) */
            stop = ne - ns < 31 ? stop & ~((2u << (ne - ns)) - 1u) : 0;
            i = stop ? ns + (size_t)__builtin_ctz(stop) : TOKEN_END(vs);
            if (i == vs || (i < n && p[i] == ':')) return 0; /* empty, quoted, IPv6 or LWS */
            val = mkspan(o + vs, i - vs);
            kind = SD_GV_TOKEN;
        }
        if (via_param(base, nm, val, kind, out, p) != NULL) return 0;
        if (AT_END(i)) {
            out->params = mkspan(o + ps, i - ps);
            return open ? i : 1;
        }
        if (i >= n || p[i] != ';') return 0;
    }
#undef AT_END
#undef TOKEN_END
}

static int via_fast_plain(const char *base, size_t o, const char *p, size_t n, sd_via *out)
{
    return (int)via_fast_t(base, o, p, n, out, 0, 0);
}

/*
 * The one-step Via lines of sd_msg_parse, one after the other: from
 * `line`, every line "Via: SIP/2.0/..." with one entry of the common shape
 * (via_fast_t in open mode) that ends in a CRLF without a fold, within
 * max_line and max_via, becomes header hdrs[*n] (*n < max_hdrs) as
 * sd_msg_parse would store it, with out->first, via_count and via_branch
 * kept. Stops at the first line that is not such a line (the general
 * path reads it) and returns it, with *n updated.
 */
static SD_ALWAYS_INLINE const char *via_lines_t(const char *buf, const char *line, const char *hend, sd_msg *out,
                                                sd_header *hdrs, uint32_t *pn, size_t max_hdrs, size_t max_line,
                                                uint32_t max_via, int simd)
{
    uint32_t n = *pn;
    uint64_t k0;
    memcpy(&k0, "Via: SIP", 8);
    while (hend - line >= 16 && n < max_hdrs) {
        uint64_t w0;
        memcpy(&w0, line, 8);
        if (w0 != k0) break;
        const char *vs = line + 5;
        sd_via via;
        size_t vl = via_fast_t(buf, (size_t)(vs - buf), vs, (size_t)(hend - vs), &via, simd, 1);
        const char *cr = vs + vl;
        if (vl == 0 || hend - cr < 2 || cr[1] != '\n' || (hend - cr > 2 && (cr[2] == ' ' || cr[2] == '\t')) ||
            (size_t)(cr - line) > max_line || out->via_count >= max_via)
            break;
        sd_header *h = &hdrs[n];
        h->name = mkspan((size_t)(line - buf), 3);
        h->value = mkspan((size_t)(vs - buf), vl);
        h->id = SD_H_VIA;
        h->flags = 0;
        h->_pad = 0;
        if (out->first[SD_H_VIA] < 0) out->first[SD_H_VIA] = (int16_t)n;
        if (++out->via_count == 1 && via.has_branch) out->via_branch = via.branch;
        n++;
        line = cr + 2;
    }
    *pn = n;
    return line;
}

const char *sd_via_lines_plain(const char *buf, const char *line, const char *hend, sd_msg *out, sd_header *hdrs,
                               uint32_t *n, size_t max_hdrs, size_t max_line, uint32_t max_via)
{
    return via_lines_t(buf, line, hend, out, hdrs, n, max_hdrs, max_line, max_via, 0);
}

#if defined(SD_SSSE3_DISPATCH)
__attribute__((target("ssse3"), flatten)) static int via_fast_ssse3(const char *base, size_t o, const char *p, size_t n,
                                                           sd_via *out)
{
    return (int)via_fast_t(base, o, p, n, out, 1, 0);
}

__attribute__((target("ssse3"), flatten)) const char *sd_via_lines_ssse3(const char *buf, const char *line,
                                                                  const char *hend, sd_msg *out, sd_header *hdrs,
                                                                  uint32_t *n, size_t max_hdrs, size_t max_line,
                                                                  uint32_t max_via)
{
    return via_lines_t(buf, line, hend, out, hdrs, n, max_hdrs, max_line, max_via, 1);
}
#endif

/* via_fast_t with the token scan the CPU allows. */
static inline int via_fast(const char *base, size_t o, const char *p, size_t n, sd_via *out)
{
#if defined(SD_SSSE3_DISPATCH)
    if (sd_cpu_ssse3()) return via_fast_ssse3(base, o, p, n, out);
#endif
    return via_fast_plain(base, o, p, n, out);
}

int sd_via_parse_fast(const char *base, sd_span v, sd_via *out)
{
    return via_fast(base, v.off, base + v.off, v.len, out);
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
    if (via_fast(base, o + i, p + i, e - i, out)) return SD_OK;
    memset(out, 0, sizeof *out);
    out->port = -1;
    out->ttl = -1;
    out->rport = -1;

    /* sent-protocol: three tokens separated by SLASH; "SIP/2.0/" (the
     * only protocol in use) is matched in one compare */
    static const char *const what[3] = {"protocol-name", "protocol-version", "transport"};
    sd_span *dst[3] = {&out->protocol, &out->version, &out->transport};
    int k = 0;
    if (e - i >= 8) {
        uint64_t w, sip;
        memcpy(&w, p + i, 8);
        memcpy(&sip, "SIP/2.0/", 8);
        if (w == sip) {
            out->protocol = mkspan(o + i, 3);
            out->version = mkspan(o + i + 4, 3);
            i = skip_lws(p, i + 8, e);
            k = 2;
        }
    }
    for (; k < 3; k++) {
        s = i;
        i += sd_span_class(p + i, e - i, SD_C_TOKEN);
        if (i == s) return sd_error_set(err, SD_EPARSE, o + i, "Via: missing %s", what[k]);
        *dst[k] = mkspan(o + s, i - s);
        if (k < 2) {
            i = skip_lws(p, i, e);
            if (i == e || p[i] != '/')
                return sd_error_set(err, SD_EPARSE, o + i, "Via: expected '/' before %s", what[k + 1]);
            i = skip_lws(p, i + 1, e);
        }
    }

    /* LWS sent-by */
    if (i == e || !SD_IS(p[i], SD_C_LWS))
        return sd_error_set(err, SD_EPARSE, o + i, "Via: expected LWS before sent-by");
    i = skip_lws(p, i, e);
    uint8_t htype;
    size_t hl = sd_host_scan(p + i, e - i, &htype);
    if (hl == 0) return sd_error_set(err, SD_EPARSE, o + i, "Via sent-by: invalid host");
    out->host = mkspan(o + i, hl);
    /* LWS around COLON is rare: skipped only where ':' or ';' is not next */
    i += hl;
    if (i < e && p[i] != ':' && p[i] != ';') i = skip_lws(p, i, e);
    if (i < e && p[i] == ':') {
        int32_t port;
        i = skip_lws(p, i + 1, e);
        size_t d = sd_digits_scan(p + i, e - i, 65535, &port);
        if (d == 0) return sd_error_set(err, SD_EPARSE, o + i, "Via sent-by: missing port");
        if (port < 0) return sd_error_set(err, SD_EPARSE, o + i, "Via sent-by: port out of range 0..65535");
        out->port = port;
        i += d;
        if (i < e && p[i] != ';') i = skip_lws(p, i, e);
    }
    out->params = mkspan(o + e, 0);
    if (i == e) return SD_OK;
    if (p[i] != ';') return sd_error_set(err, SD_EPARSE, o + i, "Via: unexpected character after sent-by");

    /* *( SEMI via-params ) */
    sd_span ps = mkspan(o + i, e - i), nm, val;
    uint32_t pos = 0;
    int kind, r;
    size_t bad = 0;
    while ((r = sd_gparam_step(base, ps, &pos, &nm, &val, &kind, &bad)) == 1) {
        const char *why = via_param(base, nm, val, kind, out, p);
        if (why != NULL) return sd_error_set(err, SD_EPARSE, nm.off, "Via: %s", why);
    }
    if (r < 0) return sd_error_set(err, SD_EPARSE, bad, "Via: malformed parameter");
    s = skip_lws(p, i + 1, e);
    out->params = mkspan(o + s, e - s);
    return SD_OK;
}
