/*
 * uri.h - lexical helpers shared by the msg parsers (uri.c, nameaddr.c,
 * via.c): the scanners defined in uri.c, and the inline ones that sit on
 * their hot paths (SSE2 where available). Internal to the C core.
 *
 * Every helper reads only p[0..n) and keeps no state.
 */
#ifndef SD_MSG_URI_H
#define SD_MSG_URI_H

#include "sipdialog/base.h"
#include "sipdialog/msg.h"
#include "base/chars.h"

#include <stddef.h>
#include <stdint.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/*
 * Octet search over a span p[0..n) that is readable as a whole, from
 * index i: the first octet in p[i..n) equal to a, b or c - or, with
 * `ctl`, at most 0x20 (SP, HT, CR, LF and the other C0 controls; the
 * caller tells LWS from the rest) - or n. With SSE2 and n >= 16 it looks
 * at 16 octets a step; the last step reads p[n-16..n) and ignores the
 * octets before i, so there is no byte-wise tail and nothing outside
 * p[0..n) is read.
 */
static inline size_t sd_find_from(const char *p, size_t i, size_t n, char a, char b, char c, int ctl)
{
#if defined(__SSE2__)
    if (n >= 16) {
        const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);
        const __m128i sp = _mm_set1_epi8(0x20);
        __m128i x, m;
        unsigned bits;
#define SD_FIND_MASK(at)                                                                \
    x = _mm_loadu_si128((const __m128i *)(const void *)(p + (at)));                     \
    m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)),        \
                     _mm_cmpeq_epi8(x, vc));                                            \
    if (ctl) m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_min_epu8(x, sp), x)); /* <= SP */   \
    bits = (unsigned)_mm_movemask_epi8(m)
        for (; i + 16 <= n; i += 16) {
            SD_FIND_MASK(i);
            if (bits) return i + (size_t)__builtin_ctz(bits);
        }
        if (i < n) {
            SD_FIND_MASK(n - 16);
            bits >>= i - (n - 16);
            if (bits) return i + (size_t)__builtin_ctz(bits);
        }
#undef SD_FIND_MASK
        return n;
    }
#endif
    for (; i < n; i++) {
        unsigned char x = (unsigned char)p[i];
        if ((ctl && x <= 0x20) || x == (unsigned char)a || x == (unsigned char)b || x == (unsigned char)c)
            return i;
    }
    return n;
}

/* Index of the first octet in p[i..n) that is not a token octet, or n.
 * (Table driven: SSE2 has no cheap test for the token class, and tokens
 * are short.) */
static inline size_t sd_token_end(const char *p, size_t i, size_t n)
{
    return i + sd_span_class(p + i, n - i, SD_C_TOKEN);
}

static inline size_t sd_lws_skip(const char *p, size_t i, size_t n)
{
    while (i < n && SD_IS(p[i], SD_C_LWS)) i++;
    return i;
}

/*
 * sd_via_parse for the common shape only ("SIP/2.0/" transport SP host
 * [":" port] *(";" name ["=" token]) without other LWS, quoted-strings or
 * IPv6 values); v must neither start nor end with LWS. Returns 1 with *out
 * filled as sd_via_parse would fill it, else 0 (*out undefined; nothing is
 * reported: run sd_via_parse for the verdict). An entry it accepts holds
 * no ',', '"' or '<', so as a Via header value it is the one list element.
 */
int sd_via_parse_fast(const char *base, sd_span v, sd_via *out);

/*
 * The one-step Via lines of sd_msg_parse: from `line` (within the header
 * block that ends at hend), each line "Via: " followed by one entry of the
 * sd_via_parse_fast shape that ends at the line's first CTL, a CR LF not
 * followed by SP or HT, no longer than max_line and within max_via,
 * becomes hdrs[*n] (name "Via", the entry as value, flags 0) while *n <
 * max_hdrs, with out->first[SD_H_VIA], out->via_count and out->via_branch
 * kept as sd_msg_parse keeps them. Returns the first line that is not
 * such a line (line itself when there is none), *n advanced.
 */
const char *sd_via_lines_plain(const char *buf, const char *line, const char *hend, sd_msg *out, sd_header *hdrs,
                               uint32_t *n, size_t max_hdrs, size_t max_line, uint32_t max_via);
#if defined(SD_SSSE3_DISPATCH)
const char *sd_via_lines_ssse3(const char *buf, const char *line, const char *hend, sd_msg *out, sd_header *hdrs,
                               uint32_t *n, size_t max_hdrs, size_t max_line, uint32_t max_via);
#endif
static inline const char *sd_via_lines(const char *buf, const char *line, const char *hend, sd_msg *out,
                                       sd_header *hdrs, uint32_t *n, size_t max_hdrs, size_t max_line,
                                       uint32_t max_via)
{
#if defined(SD_SSSE3_DISPATCH)
    if (sd_cpu_ssse3()) return sd_via_lines_ssse3(buf, line, hend, out, hdrs, n, max_hdrs, max_line, max_via);
#endif
    return sd_via_lines_plain(buf, line, hend, out, hdrs, n, max_hdrs, max_line, max_via);
}

/*
 * sd_nameaddr_parse (no '*') that also finds the "tag" parameter while it
 * validates the parameters: on SD_OK, *has_tag is 1, *tag is what
 * sd_param_find(base, out->params, 0, "tag", 3, tag) would return and
 * *tag_kind is the SD_GV_* kind of its value (SD_GV_TOKEN: a non-empty
 * run of token octets), or *has_tag is 0 when there is none.
 */
sd_err sd_nameaddr_parse_tag(const char *base, sd_span v, sd_nameaddr *out, sd_span *tag,
                             int *has_tag, int *tag_kind, sd_error *err);

/* Value kinds reported by sd_gparam_step. */
enum {
    SD_GV_NONE = 0, /* bare name, no "=" */
    SD_GV_TOKEN,    /* token */
    SD_GV_QUOTED,   /* quoted-string */
    SD_GV_IPV6REF,  /* "[" IPv6address "]" (validated) */
    SD_GV_IPV6      /* unbracketed IPv6address (validated) */
};

/* d = c - '0' as unsigned: a decimal digit iff d < 10. */
static inline unsigned sd_digit_of(char c)
{
    return (unsigned)(unsigned char)c - '0';
}

/* Length of the IPv4address (four dot-separated runs of 1-3 digits, each
 * at most 255) at the start of p[0..n), or 0 when there is none. A fourth
 * digit in a run is a failure, not the end of the address. */
static inline size_t sd_ipv4_len(const char *p, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        unsigned d, v;
        if (part > 0) {
            if (i >= n || p[i] != '.') return 0;
            i++;
        }
        if (i >= n || (v = sd_digit_of(p[i])) >= 10) return 0;
        i++;
        if (i < n && (d = sd_digit_of(p[i])) < 10) {
            v = v * 10 + d;
            i++;
            if (i < n && (d = sd_digit_of(p[i])) < 10) {
                v = v * 10 + d;
                i++;
                if (i < n && sd_digit_of(p[i]) < 10) return 0; /* a fourth digit */
            }
        }
        if (v > 255) return 0;
    }
    return i;
}

#if defined(__SSE2__)
/* Byte mask of the octets of x in lo..hi (unsigned; hi - lo < 127): shift
 * the range onto -128.. and compare signed. */
static inline __m128i sd_in_range16(__m128i x, int lo, int hi)
{
    return _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - lo))),
                          _mm_set1_epi8((char)(0x80 + hi - lo + 1)));
}

/* Bit masks (one bit per octet of p[0..16)) of the hostname octets
 * (alphanum / '-' / '.'), dots, dashes and letters. */
static inline void sd_host_masks16(const char *p, unsigned *host, unsigned *dot, unsigned *dash, unsigned *alpha)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i d = _mm_cmpeq_epi8(x, _mm_set1_epi8('.'));
    __m128i h = _mm_cmpeq_epi8(x, _mm_set1_epi8('-'));
    __m128i a = sd_in_range16(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 'z');
    __m128i all = _mm_or_si128(_mm_or_si128(a, sd_in_range16(x, '0', '9')), _mm_or_si128(d, h));
    *host = (unsigned)_mm_movemask_epi8(all);
    *dot = (unsigned)_mm_movemask_epi8(d);
    *dash = (unsigned)_mm_movemask_epi8(h);
    *alpha = (unsigned)_mm_movemask_epi8(a);
}

/*
 * The hostname branch of sd_host_scan when p[0..32) is readable and the
 * hostname is shorter than 32 octets: all label rules checked on 32-bit
 * masks at once. Returns the length, 0 when the run is not a hostname, or
 * 32 when the run reaches p[31] (the caller then reads it otherwise).
 */
static inline size_t sd_hostname_scan32(const char *p, uint8_t *type)
{
    unsigned h0, d0, s0, a0, h1, d1, s1, a1;
    sd_host_masks16(p, &h0, &d0, &s0, &a0);
    sd_host_masks16(p + 16, &h1, &d1, &s1, &a1);
    uint32_t stop = ~(h0 | h1 << 16);
    if (stop == 0) return 32;
    unsigned run = (unsigned)__builtin_ctz(stop);
    uint32_t in = ((uint32_t)1 << run) - 1;
    uint32_t d = (d0 | d1 << 16) & in, h = (s0 | s1 << 16) & in, a = a0 | a1 << 16;
    /* a label starts at 0 and after each dot: neither a dot (empty label)
     * nor a dash there, no dash before a dot or at the end */
    uint32_t start = (d << 1) | 1;
    if (run == 0 || (start & (d | h)) || (d & (h << 1)) || ((h >> (run - 1)) & 1)) return 0;
    /* toplabel: after the last dot but a trailing one, starts with ALPHA */
    uint32_t dt = d & ~((uint32_t)1 << (run - 1));
    unsigned top = dt ? 32 - (unsigned)__builtin_clz(dt) : 0;
    if (!((a >> top) & 1)) return 0;
    *type = SD_HOST_NAME;
    return run;
}
#endif

/* IPv4address of RFC 3261 25.1 (four dot-separated runs of 1-3 digits), each
 * component at most 255. p[0..n) must be exactly the address. 1 or 0. */
int sd_ipv4_check(const char *p, size_t n);

/* IPv6address (RFC 4291 2.2 text form: eight hex4 groups, or fewer with one
 * "::", optionally ending in an IPv4address worth two groups). p[0..n) must
 * be exactly the address, without brackets. 1 or 0. */
int sd_ipv6_check(const char *p, size_t n);

/*
 * host = hostname / IPv4address / IPv6reference at the start of p[0..n).
 * Returns the length of the host (brackets included for an IPv6 reference)
 * and stores SD_HOST_* in *type, or 0 when no valid host starts at p. The
 * host ends at the first octet that cannot belong to it; the caller checks
 * what follows.
 */
size_t sd_host_scan(const char *p, size_t n, uint8_t *type);

/*
 * quoted-string (RFC 3261 25.1, without the leading SWS) at p[0] == '"'.
 * qdtext is LWS (SP, HT, CR, LF), %x21, %x23-5B, %x5D-7E or an octet
 * >= 0x80; quoted-pair is '\' followed by %x00-09 / %x0B-0C / %x0E-7F.
 * Returns the length including both quotes, or 0 with *bad set to the
 * offset of the offending octet (n when the closing quote is missing).
 */
size_t sd_quoted_scan(const char *p, size_t n, size_t *bad);

/* 1*DIGIT at the start of p[0..n): returns the number of digits (0 when
 * none) and stores the value in *val, or -1 when it exceeds `max` (any
 * number of digits is consumed without overflow). */
size_t sd_digits_scan(const char *p, size_t n, uint32_t max, int32_t *val);

/*
 * sd_param_next with error position: on -1, *bad is the offset (relative
 * to base) of the octet where the parameter list stopped being valid.
 */
int sd_param_step(const char *base, sd_span v, int uri, uint32_t *pos, sd_span *name,
                  sd_span *value, int *has_value, size_t *bad);

/* gen-value = token / host / quoted-string at p[i] (i < n). An unbracketed
 * IPv6address is accepted too, so Via's received (RFC 3261 20.42:
 * IPv4address / IPv6address) reads through the generic iterator. Returns
 * the end of the value and its SD_GV_* kind in *kind, or i with *bad set
 * when there is none. */
static inline size_t sd_gen_value_scan(const char *p, size_t i, size_t n, size_t *bad, int *kind)
{
    if (p[i] == '"') {
        size_t b = 0, q = sd_quoted_scan(p + i, n - i, &b);
        if (q == 0) *bad = i + b;
        *kind = SD_GV_QUOTED;
        return i + q;
    }
    if (p[i] == '[') {
        uint8_t t;
        size_t h = sd_host_scan(p + i, n - i, &t);
        if (h == 0) *bad = i;
        *kind = SD_GV_IPV6REF;
        return i + h;
    }
    size_t s = i;
    i = sd_token_end(p, i, n);
    if (i < n && p[i] == ':') {
        /* token octets and ':' : only an IPv6address will do */
        while (i < n && (SD_IS(p[i], SD_C_TOKEN) || p[i] == ':')) i++;
        if (!sd_ipv6_check(p + s, i - s)) {
            *bad = s;
            return s;
        }
        *kind = SD_GV_IPV6;
        return i;
    }
    if (i == s) *bad = s;
    *kind = SD_GV_TOKEN;
    return i;
}

/*
 * sd_param_step for generic-params (uri == 0) that also reports what the
 * value was: *kind is one of SD_GV_* (SD_GV_NONE for a bare name; left
 * alone when -1 is returned before a name was read). Same results,
 * positions and error offsets as sd_param_step. Inline so that the
 * callers' parameter loops need no call per parameter.
 */
static inline int sd_gparam_step(const char *base, sd_span v, uint32_t *pos, sd_span *name,
                                 sd_span *value, int *kind, size_t *bad)
{
    const char *p = base + v.off;
    size_t n = v.len, o = v.off, i = *pos;
    if ((uint64_t)v.off + v.len > UINT32_MAX || i > n) {
        *bad = o + (i > n ? n : i);
        return -1;
    }
    /* *pos is 0 at the start, afterwards the index of the ';' that follows
     * the previous parameter, or n after the last one. */
    if (i == 0) {
        i = sd_lws_skip(p, i, n);
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
    /* LWS is rare: where it may appear, what usually comes there is
     * tried first and LWS skipped only when that fails */
    size_t ns = i;
    i = sd_token_end(p, i, n);
    if (i == ns) {
        ns = sd_lws_skip(p, i, n);
        i = sd_token_end(p, ns, n);
        if (i == ns) {
            *bad = o + i;
            return -1;
        }
    }
    name->off = (uint32_t)(o + ns);
    name->len = (uint32_t)(i - ns);
    value->off = (uint32_t)(o + i);
    value->len = 0;
    *kind = SD_GV_NONE;
    size_t j = i;
    if (j < n && p[j] != '=' && p[j] != ';') j = sd_lws_skip(p, j, n);
    if (j < n && p[j] == '=') {
        size_t vs = sd_lws_skip(p, j + 1, n), b = vs;
        if (vs == n) {
            *bad = o + vs;
            return -1;
        }
        int k = SD_GV_TOKEN;
        i = sd_gen_value_scan(p, vs, n, &b, &k);
        if (i == vs) {
            *bad = o + b;
            return -1;
        }
        value->off = (uint32_t)(o + vs);
        value->len = (uint32_t)(i - vs);
        *kind = k;
        j = i;
        if (j < n && p[j] != ';') j = sd_lws_skip(p, j, n);
    }
    if (j < n && p[j] != ';') {
        *bad = o + j;
        return -1;
    }
    *pos = (uint32_t)j;
    return 1;
}

#endif
