/*
 * uri.c - URIs (RFC 3261 19.1 and 25.1 SIP/SIPS, RFC 3966 tel, any other
 * absolute URI as scheme ":" opaque part), percent-decoding, and generic /
 * URI parameter lists. Also the host, IPv6 and quoted-string lexers that
 * nameaddr.c and via.c share (uri.h).
 *
 * Nothing here allocates, recurses or reads outside the span it is given.
 */
#include "sipdialog/msg.h"
#include "base/chars.h"
#include "uri.h"

#include <string.h>

/* A span's end must fit the 32-bit offsets of sd_span. */
static int span_ok(sd_span v)
{
    return (uint64_t)v.off + v.len <= UINT32_MAX;
}

static sd_span mkspan(size_t off, size_t len)
{
    sd_span s = {(uint32_t)off, (uint32_t)len};
    return s;
}

/* "%" HEX HEX at p[i] within p[0..n). */
static int is_escape(const char *p, size_t i, size_t n)
{
    return p[i] == '%' && n - i >= 3 && SD_IS(p[i + 1], SD_C_HEX) && SD_IS(p[i + 2], SD_C_HEX);
}

/* End of the run from p[i] of octets in `cls` or valid escapes; stops at the
 * first other octet (a '%' that does not start a valid escape included).
 * `cls` must not contain '%' (USER, PARAM, HNV, PASSWD): runs of class
 * octets are skipped four at a time and only a '%' takes the slow path. */
static inline size_t esc_run(const char *p, size_t i, size_t n, uint16_t cls)
{
    for (;;) {
        i += sd_span_class(p + i, n - i, cls);
        if (i < n && p[i] == '%' && is_escape(p, i, n)) {
            i += 3;
            continue;
        }
        return i;
    }
}

/* esc_run for SD_C_URIC, which holds '%' itself: every '%' must still
 * start a valid escape. */
static size_t uric_run(const char *p, size_t i, size_t n)
{
    while (i < n) {
        if (p[i] == '%') {
            if (!is_escape(p, i, n)) break;
            i += 3;
        } else if (SD_IS(p[i], SD_C_URIC)) {
            i++;
        } else {
            break;
        }
    }
    return i;
}

/* Reason text for the octet that ended an esc_run early. */
static const char *stop_reason(const char *p, size_t i, size_t n)
{
    if (i < n && p[i] == '%') return "invalid escape (need % HEX HEX)";
    if (i < n && SD_IS(p[i], SD_C_LWS)) return "LWS not allowed";
    return "invalid character";
}

/* ---- numbers, hosts ---- */

/* d = c - '0' as unsigned: a decimal digit iff d < 10. */
static inline unsigned digit_of(char c)
{
    return (unsigned)(unsigned char)c - '0';
}

size_t sd_digits_scan(const char *p, size_t n, uint32_t max, int32_t *val)
{
    size_t i = 0;
    uint32_t v = 0;
    int over = 0;
    unsigned d;
    while (i < n && (d = digit_of(p[i])) < 10) {
        if (!over) {
            v = v * 10 + d;
            if (v > max) over = 1;
        }
        i++;
    }
    *val = over ? -1 : (int32_t)v;
    return i;
}

int sd_ipv4_check(const char *p, size_t n)
{
    return n != 0 && sd_ipv4_len(p, n) == n;
}

int sd_ipv6_check(const char *p, size_t n)
{
    size_t i = 0;
    int groups = 0, dbl = 0;
    if (n < 2) return 0;
    if (p[0] == ':') {
        if (p[1] != ':') return 0;
        dbl = 1;
        i = 2;
        if (i == n) return 1; /* "::" */
    }
    for (;;) {
        size_t start = i;
        while (i < n && SD_IS(p[i], SD_C_HEX)) i++;
        if (i == start) return 0;
        if (i < n && p[i] == '.') {
            /* IPv4 tail: the rest of the address, worth two groups */
            if (!sd_ipv4_check(p + start, n - start)) return 0;
            groups += 2;
            break;
        }
        if (i - start > 4) return 0;
        groups++;
        if (groups > 8) return 0;
        if (i == n) break;
        if (p[i] != ':') return 0;
        i++;
        if (i < n && p[i] == ':') {
            if (dbl) return 0; /* a second "::" (or ":::") */
            dbl = 1;
            i++;
            if (i == n) break;
        } else if (i == n) {
            return 0; /* trailing single ':' */
        }
    }
    return dbl ? groups <= 7 : groups == 8;
}

#if defined(__SSE2__)
/*
 * The hostname branch of sd_host_scan for n >= 16, 16 octets a step: per
 * step, bit masks of the octets that end the run (not alphanum / '-' /
 * '.'), of the dots and of the dashes. A label starts at 0 and after each
 * dot; the run is bad when a label start holds a dot (empty label) or a
 * dash, or a dash precedes a dot. The last step reads p[n-16..n) with the
 * octets already seen masked off.
 */
static size_t hostname_scan16(const char *p, size_t n, uint8_t *type)
{
    size_t i = 0, len;
    unsigned after_dot = 1, after_dash = 0, bad = 0;
    for (;;) {
        size_t at = i + 16 <= n ? i : n - 16, sh = i - at;
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + at));
        __m128i dot = _mm_cmpeq_epi8(x, _mm_set1_epi8('.'));
        __m128i dash = _mm_cmpeq_epi8(x, _mm_set1_epi8('-'));
        __m128i host = _mm_or_si128(sd_in_range16(x, '0', '9'),
                                    sd_in_range16(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 'z'));
        host = _mm_or_si128(host, _mm_or_si128(dot, dash));
        unsigned width = (unsigned)(16 - sh);
        unsigned stop = (~(unsigned)_mm_movemask_epi8(host) & 0xFFFFu) >> sh;
        unsigned d = (unsigned)_mm_movemask_epi8(dot) >> sh, h = (unsigned)_mm_movemask_epi8(dash) >> sh;
        unsigned run = stop ? (unsigned)__builtin_ctz(stop) : width;
        unsigned in = (1u << run) - 1;
        d &= in;
        h &= in;
        unsigned start = (d << 1) | after_dot;
        bad |= (start & (d | h)) | (d & ((h << 1) | after_dash));
        if (run < width || at + 16 == n) {
            len = i + run;
            break;
        }
        after_dot = (d >> (width - 1)) & 1;
        after_dash = (h >> (width - 1)) & 1;
        i = at + 16;
    }
    if (bad || len == 0 || p[len - 1] == '-') return 0;
    /* toplabel: the last label, before one trailing dot */
    size_t t = p[len - 1] == '.' ? len - 1 : len;
    while (t > 0 && p[t - 1] != '.') t--;
    if (!SD_IS(p[t], SD_C_ALPHA)) return 0;
    *type = SD_HOST_NAME;
    return len;
}

#endif

/*
 * host = hostname / IPv4address / IPv6reference. The unbracketed host is
 * the maximal run of alphanum / '-' / '.' octets and must be, as a whole,
 * either an IPv4address or a hostname (RFC 3261 25.1):
 *
 *   hostname = *( domainlabel "." ) toplabel [ "." ]
 *
 * with labels of alphanum and '-', neither starting nor ending with '-',
 * and a toplabel starting with ALPHA. The two are exclusive (a hostname
 * holds an ALPHA, an IPv4address none), so an address is tried first when
 * the host starts with a digit, then the run is read label by label in
 * one pass.
 */
size_t sd_host_scan(const char *p, size_t n, uint8_t *type)
{
    if (n == 0) return 0;
    if (p[0] == '[') {
        size_t i = 1;
        while (i < n && (SD_IS(p[i], SD_C_HEX) || p[i] == ':' || p[i] == '.')) i++;
        if (i == n || p[i] != ']' || !sd_ipv6_check(p + 1, i - 1)) return 0;
        *type = SD_HOST_IPV6;
        return i + 1;
    }
    if (digit_of(p[0]) < 10) {
        size_t l = sd_ipv4_len(p, n);
        if (l != 0 && (l == n || !SD_IS(p[l], SD_C_HOST))) {
            *type = SD_HOST_IPV4;
            return l;
        }
    }
#if defined(__SSE2__)
    if (n >= 32) {
        size_t r = sd_hostname_scan32(p, type);
        if (r < 32) return r;
    }
    if (n >= 16) return hostname_scan16(p, n, type);
#endif
    size_t i = 0, top = 0;
    for (;;) {
        size_t s = i;
        for (;;) {
            i += sd_span_class(p + i, n - i, SD_C_ALPHA | SD_C_DIGIT);
            if (i < n && p[i] == '-') {
                i++;
                continue;
            }
            break;
        }
        /* empty label (a leading '.' or ".."), or '-' at either end */
        if (i == s || p[s] == '-' || p[i - 1] == '-') return 0;
        top = s;
        if (i == n || p[i] != '.') break;
        i++;
        /* one trailing '.' ends the run; any other HOST octet starts the
         * next label (a second '.' makes it empty) */
        if (i == n || !SD_IS(p[i], SD_C_HOST)) break;
    }
    if (!SD_IS(p[top], SD_C_ALPHA)) return 0; /* toplabel */
    *type = SD_HOST_NAME;
    return i;
}

size_t sd_quoted_scan(const char *p, size_t n, size_t *bad)
{
    size_t i = 1;
    if (n == 0 || p[0] != '"') {
        *bad = 0;
        return 0;
    }
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
#if defined(__SSE2__)
        if (n >= 16) {
            /* jump to the next '"', '\\', DEL or octet < SP (p[0..n) is
             * readable: the last window is p[n-16..n)) */
            size_t at = i + 16 <= n ? i : n - 16;
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + at));
            __m128i m = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
            m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7F)));
            m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1F)), x));
            unsigned bits = (unsigned)_mm_movemask_epi8(m) >> (i - at);
            if (bits == 0) {
                i = at + 16;
                continue;
            }
            i += (size_t)__builtin_ctz(bits);
            c = (unsigned char)p[i];
        }
#endif
        if (c > '"' && c != '\\' && c != 0x7F) { /* plain qdtext */
            i++;
            continue;
        }
        if (c == '"') return i + 1;
        if (c == '\\') {
            if (i + 1 >= n) break;
            unsigned char q = (unsigned char)p[i + 1];
            if (q == 0x0A || q == 0x0D || q > 0x7F) {
                *bad = i + 1;
                return 0;
            }
            i += 2;
            continue;
        }
        if (SD_IS(c, SD_C_CTL) && !SD_IS(c, SD_C_LWS)) {
            *bad = i;
            return 0;
        }
        i++;
    }
    *bad = n;
    return 0;
}

/* ---- SIP / SIPS ---- */

/* 1 when the URI parameter name p[0..len) is "method", "transport" or
 * "user" in any case: the parameters whose value RFC 3261 25.1 also allows
 * to be a token (method-param = "method=" Method; transport-param with
 * other-transport = token; user-param with other-user = token). */
static inline int token_valued_param(const char *p, size_t len)
{
    switch (len) {
    case 4: return sd_ieq(p, "user", 4);
    case 6: return sd_ieq(p, "method", 6);
    case 9: return sd_ieq(p, "transport", 9);
    default: return 0;
    }
}

/* End of the URI parameter value from p[vs] (name p[ns..ne)): the longer of
 * a 1*paramchar run (other-param's pvalue) and, for the token-valued
 * parameters, a token run. Token octets outside paramchar are '`' and a
 * '%' that starts no escape, so the token run is only tried when the
 * paramchar run stops at one of those. */
static inline size_t pvalue_end(const char *p, size_t ns, size_t ne, size_t vs, size_t n)
{
    size_t i = esc_run(p, vs, n, SD_C_PARAM);
    if (i < n && (p[i] == '%' || p[i] == '`') && token_valued_param(p + ns, ne - ns)) {
        size_t t = vs + sd_span_class(p + vs, n - vs, SD_C_TOKEN);
        if (t > i) i = t;
    }
    return i;
}

/* uri-parameters = *( ";" uri-parameter ), p[i] == ';'. pname and pvalue are
 * 1*paramchar; method, transport and user values may also be tokens
 * (pvalue_end). Returns the end of the list; on error *bad is set. */
static size_t uri_params_scan(const char *p, size_t i, size_t n, size_t *bad)
{
    while (i < n && p[i] == ';') {
        size_t s = ++i;
        i = esc_run(p, i, n, SD_C_PARAM);
        if (i == s) {
            *bad = i;
            return 0;
        }
        if (i < n && p[i] == '=') {
            size_t ns = s;
            s = i + 1;
            i = pvalue_end(p, ns, i, s, n);
            if (i == s) {
                *bad = i;
                return 0;
            }
        }
    }
    return i;
}

/* SIP/SIPS after "scheme:" (p[s..n), o = offset of p in base): [ userinfo
 * "@" ] hostport uri-parameters [ headers ]. userinfo runs to the one '@'
 * (user may hold ';', '?', '/', ...; '@' itself must be escaped), and its
 * first ':' starts the password. */
static sd_err parse_sip(const char *p, size_t o, size_t s, size_t n, sd_uri *out, sd_error *err)
{
    size_t a = sd_find_from(p, s, n, '@', '@', '@', 0);
    size_t i = s;
    if (a < n) {
        size_t ue = sd_find_from(p, s, a, ':', ':', ':', 0);
        int colon = ue < a;
        if (ue == s) return sd_error_set(err, SD_EPARSE, o + s, "URI: empty user");
        i = esc_run(p, s, ue, SD_C_USER);
        if (i != ue)
            return sd_error_set(err, SD_EPARSE, o + i, "URI user: %s", stop_reason(p, i, ue));
        out->user = mkspan(o + s, ue - s);
        if (colon) {
            size_t ps = ue + 1;
            i = esc_run(p, ps, a, SD_C_PASSWD);
            if (i != a)
                return sd_error_set(err, SD_EPARSE, o + i, "URI password: %s", stop_reason(p, i, a));
            out->password = mkspan(o + ps, a - ps);
            out->has_password = 1;
        }
        i = a + 1;
    }
    size_t hl = sd_host_scan(p + i, n - i, &out->host_type);
    if (hl == 0) {
        if (i == n) return sd_error_set(err, SD_EPARSE, o + i, "URI: missing host");
        return sd_error_set(err, SD_EPARSE, o + i, "URI host: invalid hostname, IPv4 or IPv6 reference");
    }
    out->host = mkspan(o + i, hl);
    i += hl;
    if (i < n && p[i] == ':') {
        int32_t port;
        size_t d = sd_digits_scan(p + i + 1, n - i - 1, 65535, &port);
        if (d == 0) return sd_error_set(err, SD_EPARSE, o + i + 1, "URI port: missing digits");
        if (port < 0) return sd_error_set(err, SD_EPARSE, o + i + 1, "URI port: out of range 0..65535");
        out->port = port;
        i += 1 + d;
    }
    out->params = mkspan(o + i, 0);
    if (i < n && p[i] == ';') {
        size_t bad = 0, ps = i + 1;
        i = uri_params_scan(p, i, n, &bad);
        if (i == 0) {
            const char *why = bad < n && (p[bad] == '%' || SD_IS(p[bad], SD_C_LWS))
                                  ? stop_reason(p, bad, n) : "empty name or value";
            return sd_error_set(err, SD_EPARSE, o + bad, "URI parameter: %s", why);
        }
        out->params = mkspan(o + ps, i - ps);
    }
    out->headers = mkspan(o + i, 0);
    if (i < n && p[i] == '?') {
        size_t hs = i + 1;
        do {
            size_t s2 = ++i;
            i = esc_run(p, i, n, SD_C_HNV);
            if (i == s2) return sd_error_set(err, SD_EPARSE, o + i, "URI header: empty name");
            if (i >= n || p[i] != '=')
                return sd_error_set(err, SD_EPARSE, o + i, "URI header: expected '='");
            i = esc_run(p, i + 1, n, SD_C_HNV);
        } while (i < n && p[i] == '&');
        out->headers = mkspan(o + hs, i - hs);
    }
    if (i != n) {
        if (SD_IS(p[i], SD_C_LWS)) return sd_error_set(err, SD_EPARSE, o + i, "URI: LWS not allowed");
        if (p[i] == '%') return sd_error_set(err, SD_EPARSE, o + i, "URI: invalid escape");
        return sd_error_set(err, SD_EPARSE, o + i, "URI: unexpected character 0x%02x",
                            (unsigned)(unsigned char)p[i]);
    }
    return SD_OK;
}

/* ---- tel (RFC 3966) ---- */

static int is_visual(unsigned char c)
{
    return c == '-' || c == '.' || c == '(' || c == ')';
}

/* telephone-subscriber: global-number-digits ("+" phonedigits with a DIGIT)
 * or local-number-digits (phonedigit-hex with a HEXDIG, '*' or '#'), then
 * *( ";" pname [ "=" pvalue ] ). phone-context is not required for local
 * numbers and parameter order is not checked: this is the shape only. */
static sd_err parse_tel(const char *p, size_t o, size_t s, size_t n, sd_uri *out, sd_error *err)
{
    size_t i = s;
    int ok = 0;
    if (i < n && p[i] == '+') {
        i++;
        while (i < n && (SD_IS(p[i], SD_C_DIGIT) || is_visual((unsigned char)p[i]))) {
            if (SD_IS(p[i], SD_C_DIGIT)) ok = 1;
            i++;
        }
    } else {
        while (i < n && (SD_IS(p[i], SD_C_HEX) || p[i] == '*' || p[i] == '#' ||
                         is_visual((unsigned char)p[i]))) {
            if (!is_visual((unsigned char)p[i])) ok = 1;
            i++;
        }
    }
    if (!ok) return sd_error_set(err, SD_EPARSE, o + s, "tel URI: missing number digits");
    out->user = mkspan(o + s, i - s);
    out->params = mkspan(o + i, 0);
    if (i < n && p[i] == ';') {
        size_t ps = i + 1;
        while (i < n && p[i] == ';') {
            size_t ns = ++i;
            while (i < n && (SD_IS(p[i], SD_C_ALPHA) || SD_IS(p[i], SD_C_DIGIT) || p[i] == '-')) i++;
            if (i == ns) return sd_error_set(err, SD_EPARSE, o + i, "tel URI parameter: empty name");
            int isub = i - ns == 4 && sd_ieq(p + ns, "isub", 4);
            if (i < n && p[i] == '=') {
                size_t vs = ++i;
                if (isub) {
                    /* isdn-subaddress = 1*uric, minus ';' (the separator) */
                    size_t semi = i;
                    while (semi < n && p[semi] != ';') semi++;
                    i = uric_run(p, i, semi);
                } else {
                    i = esc_run(p, i, n, SD_C_PARAM);
                }
                if (i == vs) return sd_error_set(err, SD_EPARSE, o + i, "tel URI parameter: empty value");
            }
        }
        out->params = mkspan(o + ps, i - ps);
    }
    if (i != n)
        return sd_error_set(err, SD_EPARSE, o + i, "tel URI: %s", stop_reason(p, i, n));
    return SD_OK;
}

/* ---- entry points ---- */

sd_err sd_uri_parse(const char *base, sd_span v, uint32_t max_uri, sd_uri *out, sd_error *err)
{
    memset(out, 0, sizeof *out);
    out->port = -1;
    if (!span_ok(v)) return sd_error_set(err, SD_EPARSE, v.off, "URI: span out of range");
    if (max_uri != 0 && v.len > max_uri)
        return sd_error_set(err, SD_ELIMIT, (size_t)v.off + max_uri, "URI longer than %u bytes",
                            (unsigned)max_uri);
    const char *p = base + v.off;
    size_t n = v.len, o = v.off, i = 0;
    if (n == 0 || !SD_IS(p[0], SD_C_ALPHA)) return sd_error_set(err, SD_EPARSE, o, "URI: missing scheme");
    i = 1 + sd_span_class(p + 1, n - 1, SD_C_SCHEME);
    if (i == n || p[i] != ':')
        return sd_error_set(err, SD_EPARSE, o + i, "URI: scheme not followed by ':'");
    out->scheme = mkspan(o, i);
    out->opaque = mkspan(o + i + 1, n - i - 1);
    out->scheme_id = SD_URI_OTHER;
    if (i == 3 || i == 4) {
        /* letters only: OR-ing 0x20 folds case exactly (p[i] is the ':') */
        uint32_t w = ((uint32_t)(unsigned char)p[0] | (uint32_t)(unsigned char)p[1] << 8 |
                      (uint32_t)(unsigned char)p[2] << 16 | (uint32_t)(unsigned char)p[3] << 24) | 0x20202020u;
        if (w == ('s' | 'i' << 8 | 'p' << 16 | (uint32_t)('s') << 24) && i == 4) out->scheme_id = SD_URI_SIPS;
        else if (i == 3 && (w & 0xFFFFFFu) == ('s' | 'i' << 8 | 'p' << 16)) out->scheme_id = SD_URI_SIP;
        else if (i == 3 && (w & 0xFFFFFFu) == ('t' | 'e' << 8 | 'l' << 16)) out->scheme_id = SD_URI_TEL;
    }
    size_t s = i + 1;
    sd_err rc;
    switch (out->scheme_id) {
    case SD_URI_SIP:
    case SD_URI_SIPS:
        rc = parse_sip(p, o, s, n, out, err);
        break;
    case SD_URI_TEL:
        rc = parse_tel(p, o, s, n, out, err);
        break;
    default:
        if (s == n) return sd_error_set(err, SD_EPARSE, o + s, "URI: empty after scheme");
        i = uric_run(p, s, n);
        rc = i == n ? SD_OK : sd_error_set(err, SD_EPARSE, o + i, "URI: %s", stop_reason(p, i, n));
        break;
    }
    return rc;
}

size_t sd_pct_decode(const char *p, size_t len, char *out)
{
    size_t i = 0, w = 0;
    while (i < len) {
        if (p[i] == '%' && len - i >= 3) {
            int hi = sd_hexval((unsigned char)p[i + 1]), lo = sd_hexval((unsigned char)p[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out[w++] = (char)(hi * 16 + lo);
                i += 3;
                continue;
            }
        }
        out[w++] = p[i++];
    }
    return w;
}

/* ---- parameters ---- */

/* One step of the parameter iterator (sd_param_next). Generic-params are
 * read by sd_gparam_step (uri.h); URI parameters (RFC 3261 25.1:
 * pname [ "=" pvalue ], no LWS; method, transport and user values may
 * also be tokens, see pvalue_end) here. `kind` is SD_GV_NONE for a bare
 * name, SD_GV_TOKEN for any URI parameter value. */
static inline int param_step(const char *base, sd_span v, int uri, uint32_t *pos, sd_span *name,
                             sd_span *value, int *kind, size_t *bad)
{
    if (!uri) return sd_gparam_step(base, v, pos, name, value, kind, bad);
    const char *p = base + v.off;
    size_t n = v.len, o = v.off, i = *pos;
    if (!span_ok(v) || i > n) {
        *bad = o + (i > n ? n : i);
        return -1;
    }
    /* *pos is 0 at the start, afterwards the index of the ';' that follows
     * the previous parameter, or n after the last one. */
    if (i == 0) {
        if (i == n) return 0;
        if (p[i] == ';') i++;
    } else {
        if (i == n) return 0;
        if (p[i] != ';') {
            *bad = o + i;
            return -1;
        }
        i++;
    }
    size_t ns = i;
    i = esc_run(p, i, n, SD_C_PARAM);
    if (i == ns) {
        *bad = o + i;
        return -1;
    }
    *name = mkspan(o + ns, i - ns);
    *value = mkspan(o + i, 0);
    *kind = SD_GV_NONE;
    if (i < n && p[i] == '=') {
        size_t vs = i + 1;
        if (vs == n) {
            *bad = o + vs;
            return -1;
        }
        i = pvalue_end(p, ns, vs - 1, vs, n);
        if (i == vs) {
            *bad = o + vs;
            return -1;
        }
        *value = mkspan(o + vs, i - vs);
        *kind = SD_GV_TOKEN;
    }
    if (i < n && p[i] != ';') {
        *bad = o + i;
        return -1;
    }
    *pos = (uint32_t)i;
    return 1;
}

int sd_param_step(const char *base, sd_span v, int uri, uint32_t *pos, sd_span *name,
                  sd_span *value, int *has_value, size_t *bad)
{
    int kind = -1; /* stays -1 when no name was read */
    int r = param_step(base, v, uri, pos, name, value, &kind, bad);
    if (kind >= 0) *has_value = kind != SD_GV_NONE;
    return r;
}

int sd_param_next(const char *base, sd_span v, int uri, uint32_t *pos, sd_span *name,
                  sd_span *value, int *has_value)
{
    size_t bad;
    return sd_param_step(base, v, uri, pos, name, value, has_value, &bad);
}

int sd_param_find(const char *base, sd_span v, int uri, const char *name, size_t nlen,
                  sd_span *value)
{
    uint32_t pos = 0;
    sd_span nm, val;
    int kind, r, found = 0;
    size_t bad;
    unsigned char first = nlen ? sd_lower((unsigned char)name[0]) : 0;
    while ((r = param_step(base, v, uri, &pos, &nm, &val, &kind, &bad)) == 1) {
        /* names are never empty: length and first letter reject most */
        if (!found && nm.len == nlen && sd_lower((unsigned char)base[nm.off]) == first &&
            sd_ieq(base + nm.off, name, nlen)) {
            *value = val;
            found = 1;
        }
    }
    /* the whole list is checked: a malformed list is -1 even after a match */
    return r < 0 ? -1 : found;
}
