/*
 * parse.c - the zero-copy SIP message parser (RFC 3261 sections 7, 18.3,
 * 20 and 25) and stream framing.
 *
 * One forward pass over the header block: a vectorised scan finds the next
 * octet RFC 3261 25.1 forbids in a header line (CTL other than HT; CR and LF
 * are CTLs too, so the same scan finds line ends). Each logical line (folds
 * included) is split into name and value, the name classified by a perfect
 * hash, and the headers the dialog layer relies on are checked against their
 * grammar on the spot. Nothing is copied and nothing is allocated.
 */
#include "sipdialog/msg.h"
#include "base/chars.h"
#include "hdr.h"
#include "uri.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

void sd_parse_opts_default(sd_parse_opts *o)
{
    sd_limits_default(&o->limits);
    o->flags = 0;
    o->log = NULL;
}

/* First octet in [p, end) that is a CTL (HT included, so CR, LF, NUL, DEL
 * and friends), or end. HT is allowed in header lines; callers step over
 * it (it is rare, so the vector test stays short). */
static inline const char *scan_ctl(const char *p, const char *end)
{
#if defined(__SSE2__)
    const __m128i k1f = _mm_set1_epi8(0x1f);
    const __m128i k7f = _mm_set1_epi8(0x7f);
    /* 32 octets a step (a header line is usually longer than 16), then 16 */
    while (end - p >= 32) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
        __m128i mx = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, k1f), x), _mm_cmpeq_epi8(x, k7f));
        __m128i my = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(y, k1f), y), _mm_cmpeq_epi8(y, k7f));
        unsigned bits = (unsigned)_mm_movemask_epi8(mx) | (unsigned)_mm_movemask_epi8(my) << 16;
        if (bits) return p + __builtin_ctz(bits);
        p += 32;
    }
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, k1f), x), _mm_cmpeq_epi8(x, k7f));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits) return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
    while (p < end && !SD_IS(*p, SD_C_CTL) && *p != '\t') p++;
    return p;
}

/* First ':' in [p, end), or end. */
static inline const char *find_colon(const char *p, const char *end)
{
#if defined(__SSE2__)
    const __m128i kc = _mm_set1_epi8(':');
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned bits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, kc));
        if (bits) return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
    while (p < end && *p != ':') p++;
    return p;
}

/* Non-zero when the octet at `c` is the second octet of a quoted-pair inside
 * a quoted-string that starts on the logical line beginning at `line`. */
static int in_quoted_pair(const char *line, const char *c)
{
    int inq = 0;
    for (const char *q = line; q < c; q++) {
        if (!inq) {
            if (*q == '"') inq = 1;
        } else if (*q == '\\') {
            if (q + 1 == c) return 1;
            q++;
        } else if (*q == '"') {
            inq = 0;
        }
    }
    return 0;
}

#define OFF(p) ((size_t)((p) - buf))
#define SPAN(a, b) ((sd_span){(uint32_t)((a) - buf), (uint32_t)((b) - (a))})

/* Parse an unsigned decimal (leading zeros allowed) from [p, e) entirely;
 * returns 0 on success with *v set, -1 when empty, not all digits, or
 * larger than `max`. Never overflows. */
static inline int parse_uint(const char *p, const char *e, uint64_t max, uint64_t *v)
{
    if (p == e) return -1;
    uint64_t x = 0;
    for (; p < e; p++) {
        unsigned d = (unsigned char)*p - '0';
        if (d > 9) return -1;
        x = x * 10 + d;
        if (x > max) return -1;
    }
    *v = x;
    return 0;
}

static inline int is_lws(char c)
{
    /* SP, HT, CR, LF: one compare and a bit test */
    unsigned char u = (unsigned char)c;
    return u <= ' ' && ((0x100002600ull >> u) & 1);
}

/* Parser state shared by the per-header checks. */
typedef struct pstate {
    const char *buf;
    const sd_parse_opts *o;
    sd_msg *m;
    sd_error *err;
    int cseq_same;   /* the CSeq method was found equal to the request method */
    const char *end; /* end of the readable header block */
} pstate;

/* Prefix err->reason with the header it concerns ("To: URI host: ..."). */
static sd_err with_header(sd_error *err, sd_err rc, const char *what)
{
    if (err != NULL && rc != SD_OK) {
        size_t w = strlen(what), r = strnlen(err->reason, SD_REASON_MAX - 1);
        if (w + 2 + r > SD_REASON_MAX - 1) r = SD_REASON_MAX - 1 - w - 2; /* keep the start of the reason */
        memmove(err->reason + w + 2, err->reason, r);
        memcpy(err->reason, what, w);
        err->reason[w] = ':';
        err->reason[w + 1] = ' ';
        err->reason[w + 2 + r] = '\0';
    }
    return rc;
}

#if defined(SD_SSSE3_DISPATCH)
/*
 * Index of the first octet of p[0..n) (n >= 16) that ends a callid =
 * word [ "@" word ], or n: word octets, and one '@' that is neither the
 * first nor the last octet, in one pass of 16-octet masks (the '@' is a
 * stop of the word mask that is stepped over once).
 */
__attribute__((target("ssse3"))) static size_t callid_end_ssse3(const char *p, size_t n)
{
    int at = 0;
    for (size_t i = 0; i < n; i += 16) {
        size_t b = n - i >= 16 ? i : n - 16;
        unsigned bits = sd_nonclass16(_mm_loadu_si128((const __m128i *)(const void *)(p + b)), SD_LUT_WORD) >> (i - b);
        while (bits) {
            size_t q = i + (size_t)__builtin_ctz(bits);
            if (at || p[q] != '@' || q == 0 || q + 1 >= n) return q;
            at = 1;
            bits &= bits - 1;
        }
    }
    return n;
}
#endif

/* Validate a Call-ID value: callid = word [ "@" word ] (RFC 3261 25.1). */
static sd_err check_call_id(pstate *st, sd_span v)
{
    const char *buf = st->buf, *p = buf + v.off, *e = p + v.len, *q;
    if (v.len == 0) return sd_error_set(st->err, SD_EPARSE, v.off, "empty Call-ID");
    if (v.len > st->o->limits.max_call_id)
        return sd_error_set(st->err, SD_ELIMIT, v.off, "Call-ID of %u bytes exceeds the limit of %u", v.len,
                            st->o->limits.max_call_id);
#if defined(SD_SSSE3_DISPATCH)
    if (v.len >= 16 && sd_cpu_ssse3()) {
        q = p + callid_end_ssse3(p, v.len);
    } else
#endif
    {
        q = p + sd_span_class(p, v.len, SD_C_WORD);
        if (q < e && *q == '@' && q > p && q + 1 < e) q += 1 + sd_span_class(q + 1, (size_t)(e - q - 1), SD_C_WORD);
    }
    if (q < e) return sd_error_set(st->err, SD_EPARSE, OFF(q), "invalid octet 0x%02x in Call-ID", (unsigned char)*q);
    return SD_OK;
}

/* The URI of a name-addr: always within max_uri; parsed with
 * SD_PARSE_CHECK_URIS. */
static inline sd_err check_uri(pstate *st, sd_span u)
{
    if (st->o->flags & SD_PARSE_CHECK_URIS) {
        sd_uri parsed;
        return sd_uri_parse(st->buf, u, st->o->limits.max_uri, &parsed, st->err);
    }
    if (u.len > st->o->limits.max_uri)
        return sd_error_set(st->err, SD_ELIMIT, u.off + st->o->limits.max_uri,
                            "URI longer than %u bytes", st->o->limits.max_uri);
    return SD_OK;
}

/* From/To: name-addr / addr-spec, header params, tag = token. */
static sd_err check_from_to(pstate *st, sd_span v, const char *what, sd_span *tag, uint8_t *has_tag)
{
    const char *buf = st->buf;
    sd_nameaddr na;
    sd_span tv = {0, 0};
    int f = 0, kind = SD_GV_NONE;
    sd_err rc = sd_nameaddr_parse_tag(buf, v, &na, &tv, &f, &kind, st->err);
    if (rc != SD_OK) return with_header(st->err, rc, what);
    rc = check_uri(st, na.uri);
    if (rc != SD_OK) return with_header(st->err, rc, what);
    if (f == 0) {
        *has_tag = 0;
        tag->off = 0;
        tag->len = 0;
        return SD_OK;
    }
    if (tv.len == 0) return sd_error_set(st->err, SD_EPARSE, na.params.off, "empty %s tag", what);
    if (tv.len > st->o->limits.max_tag)
        return sd_error_set(st->err, SD_ELIMIT, tv.off, "%s tag of %u bytes exceeds the limit of %u", what, tv.len,
                            st->o->limits.max_tag);
    /* a token value is a token already; other kinds are looked at */
    size_t bad = kind == SD_GV_TOKEN ? tv.len : sd_span_class(buf + tv.off, tv.len, SD_C_TOKEN);
    if (bad < tv.len)
        return sd_error_set(st->err, SD_EPARSE, tv.off + bad, "invalid octet 0x%02x in %s tag",
                            (unsigned char)buf[tv.off + bad], what);
    *tag = tv;
    *has_tag = 1;
    return SD_OK;
}

/* a[0..n) == b[0..n); the lengths of method names without the call */
static inline int bytes_eq(const char *a, const char *b, size_t n)
{
    if (n >= 4 && n <= 8) {
        uint32_t a0, a1, b0, b1;
        memcpy(&a0, a, 4);
        memcpy(&a1, a + n - 4, 4);
        memcpy(&b0, b, 4);
        memcpy(&b1, b + n - 4, 4);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    if (n < 4) {
        for (size_t k = 0; k < n; k++)
            if (a[k] != b[k]) return 0;
        return 1;
    }
    return memcmp(a, b, n) == 0;
}

/* CSeq = 1*DIGIT LWS Method (RFC 3261 20.16); number below 2**31. */
static sd_err check_cseq(pstate *st, sd_span v)
{
    const char *buf = st->buf, *p = buf + v.off, *e = p + v.len, *q = p;
    sd_msg *m = st->m;
    /* the number in the same pass as its digits; past 2**31 - 1 the
     * value is held at 2**31, so it stays too large and cannot overflow */
    uint64_t n = 0;
    unsigned d;
#if defined(__SSE2__)
    if (st->end - p >= 16) {
        /* up to eight digits from one 16-octet mask and one word, as
         * Via's port */
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        size_t run = (size_t)__builtin_ctz(~(unsigned)_mm_movemask_epi8(sd_in_range16(x, '0', '9')));
        if (run > v.len) run = v.len;
        if (run - 1 < 8) {
            uint64_t dw;
            memcpy(&dw, p, 8);
            dw = (dw & 0x0f0f0f0f0f0f0f0fu) << (8 * (8 - run));
            dw = (dw * 10 + (dw >> 8)) & 0x00ff00ff00ff00ffu;
            dw = (dw * 100 + (dw >> 16)) & 0x0000ffff0000ffffu;
            n = (dw * 10000 + (dw >> 32)) & 0xffffffffu;
            q = p + run;
        }
    }
#endif
    if (q == p) {
        while (q < e && (d = (unsigned)(unsigned char)*q - '0') < 10) {
            n = n * 10 + d;
            if (n > 0x7fffffffu) n = 0x80000000u;
            q++;
        }
    }
    if (q == p) return sd_error_set(st->err, SD_EPARSE, OFF(p), "CSeq does not start with a number");
    if (n > 0x7fffffffu)
        return sd_error_set(st->err, SD_EPARSE, OFF(p), "CSeq number %.*s is not below 2**31",
                            (int)(q - p > 24 ? 24 : q - p), p);
    const char *r = q;
    while (r < e && is_lws(*r)) r++;
    if (r == q || r == e) return sd_error_set(st->err, SD_EPARSE, OFF(r), "CSeq lacks LWS and a method");
    const char *mth = r;
    size_t ml = (size_t)(e - mth);
    uint8_t id;
    /* the usual request: the request method again, a token already
     * looked up */
    if (m->is_request && ml == m->method.len && bytes_eq(mth, buf + m->method.off, ml)) {
        id = m->method_id;
        st->cseq_same = 1;
    } else {
        r = mth + sd_span_class(mth, ml, SD_C_TOKEN);
        if (r != e)
            return sd_error_set(st->err, SD_EPARSE, OFF(r), "invalid octet 0x%02x in CSeq method", (unsigned char)*r);
        id = (uint8_t)sd_method_lookup(mth, ml);
    }
    m->cseq = (uint32_t)n;
    m->cseq_method = SPAN(mth, e);
    m->cseq_method_id = id;
    return SD_OK;
}

/* Every element of a name-addr list (Contact, Route, Record-Route, ...). */
static sd_err check_nameaddr_list(pstate *st, sd_span v, int allow_star, const char *what)
{
    const char *buf = st->buf;
    uint32_t pos = 0;
    sd_span item;
    int r, n = 0;
    sd_nameaddr na;
    /* The usual value is one element: when v as a whole is a valid
     * element, the list split would give v itself (a ',' outside <>, a
     * quoted-string or an angle-bracketed URI makes the element invalid)
     * unless an addr-spec URI holds a '"', which the split would take for
     * a quoted-string. v is trimmed of LWS. */
    if (sd_nameaddr_parse(buf, v, allow_star, &na, NULL) == SD_OK &&
        (na.has_brackets || na.is_star || memchr(buf + na.uri.off, '"', na.uri.len) == NULL)) {
        sd_err rc;
        if (!na.is_star && (rc = check_uri(st, na.uri)) != SD_OK) return with_header(st->err, rc, what);
        return SD_OK;
    }
    while ((r = sd_list_next(buf, v, &pos, &item)) == 1) {
        sd_err rc = sd_nameaddr_parse(buf, item, allow_star, &na, st->err);
        if (rc != SD_OK) return with_header(st->err, rc, what);
        if (na.is_star && (n > 0 || pos < v.len))
            return sd_error_set(st->err, SD_EPARSE, item.off, "'*' must be the only %s value", what);
        if (!na.is_star && (rc = check_uri(st, na.uri)) != SD_OK) return with_header(st->err, rc, what);
        n++;
    }
    if (r < 0 || n == 0) return sd_error_set(st->err, SD_EPARSE, v.off, "malformed %s list", what);
    return SD_OK;
}

/* Every element of a Via list; the first Via of the message gives the
 * top branch. Counts entries against max_via. */
static sd_err check_via(pstate *st, sd_span v)
{
    const char *buf = st->buf;
    uint32_t pos = 0;
    sd_span item;
    int r, n = 0;
    sd_via via;
    /* the usual value, one entry of the common shape, needs no list split
     * (v is trimmed of LWS) */
    if (v.len > 0 && sd_via_parse_fast(buf, v, &via)) {
        if (++st->m->via_count > st->o->limits.max_via)
            return sd_error_set(st->err, SD_ELIMIT, v.off, "more than %u Via entries", st->o->limits.max_via);
        if (st->m->via_count == 1 && via.has_branch) st->m->via_branch = via.branch;
        return SD_OK;
    }
    while ((r = sd_list_next(buf, v, &pos, &item)) == 1) {
        sd_err rc = sd_via_parse(buf, item, &via, st->err);
        if (rc != SD_OK) return rc; /* its reasons already name the Via */
        if (++st->m->via_count > st->o->limits.max_via)
            return sd_error_set(st->err, SD_ELIMIT, item.off, "more than %u Via entries", st->o->limits.max_via);
        if (st->m->via_count == 1 && via.has_branch) st->m->via_branch = via.branch;
        n++;
    }
    if (r < 0 || n == 0) return sd_error_set(st->err, SD_EPARSE, v.off, "malformed Via list");
    return SD_OK;
}

/* Max-Forwards = 1*DIGIT, 0..255 (leading zeros allowed). */
static SD_ALWAYS_INLINE sd_err check_max_forwards(pstate *st, sd_span v)
{
    const char *buf = st->buf;
    uint64_t n;
    if (parse_uint(buf + v.off, buf + v.off + v.len, 255, &n) != 0)
        return sd_error_set(st->err, SD_EPARSE, v.off, "Max-Forwards '%.*s' is not a number 0..255",
                            (int)(v.len > 24 ? 24 : v.len), buf + v.off);
    st->m->max_forwards = (int32_t)n;
    return SD_OK;
}

/* Content-Length = 1*DIGIT, below 2**32. */
static SD_ALWAYS_INLINE sd_err check_content_length(pstate *st, sd_span v)
{
    const char *buf = st->buf;
    uint64_t n;
    if (parse_uint(buf + v.off, buf + v.off + v.len, 0xffffffffu, &n) != 0)
        return sd_error_set(st->err, SD_EPARSE, v.off, "Content-Length '%.*s' is not a decimal number",
                            (int)(v.len > 24 ? 24 : v.len), buf + v.off);
    st->m->content_length = (int64_t)n;
    return SD_OK;
}

/* Check one indexed header the first time its id is seen. */
static sd_err check_header(pstate *st, const sd_header *h)
{
    sd_msg *m = st->m;
    switch (h->id) {
    case SD_H_CALL_ID:
        m->call_id = h->value;
        return check_call_id(st, h->value);
    case SD_H_FROM:
        return check_from_to(st, h->value, "From", &m->from_tag, &m->has_from_tag);
    case SD_H_TO:
        return check_from_to(st, h->value, "To", &m->to_tag, &m->has_to_tag);
    case SD_H_CSEQ:
        return check_cseq(st, h->value);
    case SD_H_MAX_FORWARDS:
        return check_max_forwards(st, h->value);
    case SD_H_CONTENT_LENGTH:
        return check_content_length(st, h->value);
    case SD_H_VIA:
        return check_via(st, h->value);
    case SD_H_CONTACT:
        return check_nameaddr_list(st, h->value, 1, "Contact");
    case SD_H_ROUTE:
        return check_nameaddr_list(st, h->value, 0, "Route");
    case SD_H_RECORD_ROUTE:
        return check_nameaddr_list(st, h->value, 0, "Record-Route");
    default:
        return SD_OK;
    }
}

/* The ids check_header does something for, as a bit set: the others
 * skip the call. */
#define CHECKED_IDS                                                                                       \
    ((1ull << SD_H_CALL_ID) | (1ull << SD_H_FROM) | (1ull << SD_H_TO) | (1ull << SD_H_CSEQ) |            \
     (1ull << SD_H_MAX_FORWARDS) | (1ull << SD_H_CONTENT_LENGTH) | (1ull << SD_H_VIA) |                   \
     (1ull << SD_H_CONTACT) | (1ull << SD_H_ROUTE) | (1ull << SD_H_RECORD_ROUTE))
_Static_assert(SD_H__COUNT <= 64, "CHECKED_IDS is a 64-bit set");

/* The checked ids whose values are name-addr lists (nameaddr_fast). */
#define NA_IDS                                                                                            \
    ((1ull << SD_H_FROM) | (1ull << SD_H_TO) | (1ull << SD_H_CONTACT) | (1ull << SD_H_ROUTE) |             \
     (1ull << SD_H_RECORD_ROUTE))

/* Compare two value spans byte for byte. */
static int span_eq(const char *buf, sd_span a, sd_span b)
{
    return a.len == b.len && memcmp(buf + a.off, buf + b.off, a.len) == 0;
}

/*
 * The common Request-URI shape, "sip:" [ user "@" ] host [ ":" port ]
 * *( ";" pname [ "=" pvalue ] ), with no escapes, password or headers:
 * 1 when p[0..n) is of that shape and valid, which is exactly when
 * sd_uri_parse accepts it as a SIP URI without headers; 0 otherwise (the
 * full parser then decides and reports). p[0..avail) is readable, avail
 * > n, and p[n] is not a host octet (the SP or '>' after the URI).
 */
static int ruri_fast(const char *p, size_t n, size_t avail)
{
    uint32_t w, k;
    if (n < 5) return 0;
    memcpy(&w, p, 4);
    memcpy(&k, "sip:", 4);
    if (w != k) return 0;
    size_t i = 4, a = sd_find_from(p, 4, n, '@', '@', '@', 0);
    if (a < n) {
        /* the first '@' ends the userinfo: a user of plain USER octets
         * (no ':', so no password) */
        if (a == 4 || sd_class_end(p, 4, n, SD_C_USER) != a) return 0; /* '@' is no USER octet */
        i = a + 1;
    }
    uint8_t t;
    size_t hl;
#if defined(__SSE2__)
    /* a hostname under 32 octets read without the call, as Via's sent-by;
     * the octet after the URI is no host octet, so the host ends where it
     * would end at n */
    if (avail - i >= 32 && SD_IS(p[i], SD_C_ALPHA)) {
        hl = sd_hostname_scan32(p + i, &t);
        if (hl == 32) hl = sd_host_scan(p + i, n - i, &t);
    } else
#else
    (void)avail;
#endif
        hl = sd_host_scan(p + i, n - i, &t);
    if (hl == 0) return 0;
    i += hl;
    if (i < n && p[i] == ':') {
        unsigned d, port = 0;
        size_t s = ++i, lim = n - i < 5 ? n : i + 5;
        while (i < lim && (d = (unsigned)(unsigned char)p[i] - '0') < 10) {
            port = port * 10 + d;
            i++;
        }
        if (i == s || port > 65535 || (i < n && (unsigned)(unsigned char)p[i] - '0' < 10)) return 0;
    }
    while (i < n && p[i] == ';') {
        size_t s = ++i;
        i = sd_class_end(p, i, n, SD_C_PARAM);
        if (i == s) return 0;
        if (i < n && p[i] == '=') {
            s = ++i;
            i = sd_class_end(p, i, n, SD_C_PARAM);
            if (i == s) return 0;
        }
    }
    return i == n;
}

/*
 * The common name-addr value of a From, To, Contact, Route or Record-Route
 * line in one pass: [ quoted-string SP *SP ] "<" URI ">" *( ";" token
 * [ "=" token ] ), in p[0..n), a value span without CTL or HT (the line
 * scan found none) and without LWS at either end. 1 when the value is of
 * that shape and the general path (sd_nameaddr_parse(_tag), then
 * check_uri) accepts it as one element: *uri_len is the URI length and
 * *tag / *has_tag the value of the first "tag" parameter (any case) as an
 * offset into p. 0 otherwise, errors included: the general path then
 * decides and reports.
 */
static int nameaddr_fast(const pstate *st, const char *p, size_t n, size_t *tag_off, size_t *tag_len,
                         int *has_tag)
{
    size_t i = 0;
    if (n < 7) return 0;
    if (p[0] == '"') {
        /* without CTL in the value the quoted-string ends at the first
         * '"' unless a '\\' comes first */
        size_t bad, q = sd_find_from(p, 1, n, '"', '\\', '"', 0);
        if (q < n && p[q] == '"')
            q++;
        else if ((q = sd_quoted_scan(p, n, &bad)) == 0)
            return 0;
        i = q;
        while (i < n && p[i] == ' ') i++;
    }
    if (i >= n || p[i] != '<') return 0;
    size_t us = ++i;
    /* the URI runs to the first '>'; SP (the only octet <= 0x20 left) or
     * '<' before it is for the general path to report */
    i = sd_find_from(p, i, n, '>', '<', '>', 1);
    if (i == n || p[i] != '>') return 0;
    size_t ul = i - us;
    const sd_limits *lim = &st->o->limits;
    if (st->o->flags & SD_PARSE_CHECK_URIS) {
        if ((lim->max_uri != 0 && ul > lim->max_uri) || !ruri_fast(p + us, ul, n - us)) return 0;
    } else {
        if (ul > lim->max_uri || ul < 5 || memcmp(p + us, "sip:", 4) != 0) return 0;
    }
    i++;
    *has_tag = 0;
    while (i < n) {
        if (p[i] != ';') return 0;
        size_t ns = ++i;
        i = sd_class_end(p, i, n, SD_C_TOKEN);
        if (i == ns) return 0;
        int is_tag = i - ns == 3 && !*has_tag && (p[ns] | 0x20) == 't' && (p[ns + 1] | 0x20) == 'a' &&
                     (p[ns + 2] | 0x20) == 'g';
        if (i < n && p[i] == '=') {
            size_t vs = ++i;
            i = sd_class_end(p, i, n, SD_C_TOKEN);
            if (i == vs) return 0;
            if (is_tag) {
                if (i - vs > lim->max_tag) return 0;
                *tag_off = vs;
                *tag_len = i - vs;
                *has_tag = 1;
            }
        } else if (is_tag) {
            return 0; /* a bare tag: an error for From and To */
        }
    }
    return 1;
}

/* One canonical spelling "Name: " of a common header. */
#define CANON(lit, hid)                                                                                    \
    do {                                                                                                   \
        if (memcmp(line, lit, sizeof lit - 1) == 0) {                                                      \
            *id = hid;                                                                                     \
            return sizeof lit - 3;                                                                         \
        }                                                                                                  \
    } while (0)

/* Length of the header name when the line starts with the canonical
 * spelling of a common header followed by ": " (at least 16 octets are
 * readable), with its id in *id; 0 otherwise (the general path then reads
 * the name). A header name is case-insensitive, so this only saves the
 * lookup of the usual spelling. */
static inline size_t canon_line_name(const char *line, sd_hdr_id *id)
{
    switch (line[0]) {
    case 'F': CANON("From: ", SD_H_FROM); break;
    case 'T': CANON("To: ", SD_H_TO); break;
    case 'C':
        CANON("Call-ID: ", SD_H_CALL_ID);
        CANON("CSeq: ", SD_H_CSEQ);
        CANON("Contact: ", SD_H_CONTACT);
        CANON("Content-Length: ", SD_H_CONTENT_LENGTH);
        CANON("Content-Type: ", SD_H_CONTENT_TYPE);
        break;
    case 'R':
        CANON("Route: ", SD_H_ROUTE);
        CANON("Record-Route: ", SD_H_RECORD_ROUTE);
        break;
    case 'M': CANON("Max-Forwards: ", SD_H_MAX_FORWARDS); break;
    case 'A':
        CANON("Allow: ", SD_H_ALLOW);
        CANON("Accept: ", SD_H_ACCEPT);
        break;
    case 'S':
        CANON("Supported: ", SD_H_SUPPORTED);
        CANON("Subject: ", SD_H_SUBJECT);
        CANON("Server: ", SD_H_SERVER);
        break;
    case 'U': CANON("User-Agent: ", SD_H_USER_AGENT); break;
    case 'E':
        CANON("Expires: ", SD_H_EXPIRES);
        CANON("Event: ", SD_H_EVENT);
        break;
    default: break;
    }
    return 0;
}
#undef CANON

/* Case-insensitive "SIP/" at p (4 readable octets), one compare: OR-ing
 * 0x20 into the three letters maps exactly 'S'/'s', 'I'/'i', 'P'/'p' onto
 * the lower case; the '/' is compared as is. */
static inline int is_sip_slash(const char *p)
{
    static const unsigned char fold[4] = {0x20, 0x20, 0x20, 0};
    uint32_t w, f, k;
    memcpy(&w, p, 4);
    memcpy(&f, fold, 4);
    memcpy(&k, "sip/", 4);
    return (w | f) == k;
}

/* Case-insensitive "SIP/2.0" at p (7 readable octets). */
static inline int is_sip20(const char *p)
{
    return is_sip_slash(p) && p[4] == '2' && p[5] == '.' && p[6] == '0';
}

/* Request-Line (RFC 3261 7.1) or Status-Line (7.2), ending at `cr`. */
static sd_err parse_start_line(pstate *st, const char *p, const char *cr)
{
    const char *buf = st->buf;
    sd_msg *m = st->m;
    if (cr - p >= 4 && is_sip_slash(p)) {
        /* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase */
        const char *sp = memchr(p, ' ', (size_t)(cr - p));
        if (sp == NULL) return sd_error_set(st->err, SD_EPARSE, OFF(cr), "status line without a status code");
        if (sp - p != 7 || !is_sip20(p))
            return sd_error_set(st->err, SD_EPARSE, OFF(p), "unsupported SIP version '%.*s' (only SIP/2.0)",
                                (int)(sp - p > 32 ? 32 : sp - p), p);
        const char *c = sp + 1;
        if (cr - c < 4 || !SD_IS(c[0], SD_C_DIGIT) || !SD_IS(c[1], SD_C_DIGIT) || !SD_IS(c[2], SD_C_DIGIT) ||
            c[3] != ' ')
            return sd_error_set(st->err, SD_EPARSE, OFF(c), "status code is not 3 digits followed by SP");
        unsigned code = (unsigned)(c[0] - '0') * 100 + (unsigned)(c[1] - '0') * 10 + (unsigned)(c[2] - '0');
        if (code < 100 || code > 699)
            return sd_error_set(st->err, SD_EPARSE, OFF(c), "status code %u outside 100..699", code);
        m->is_request = 0;
        m->status = (uint16_t)code;
        m->reason = SPAN(c + 4, cr);
        return SD_OK;
    }
    /* Request-Line = Method SP Request-URI SP SIP-Version */
    const char *q = p;
    while (q < cr && SD_IS(*q, SD_C_TOKEN)) q++;
    if (q == p) return sd_error_set(st->err, SD_EPARSE, OFF(p), "request line does not start with a method token");
    if (q == cr || *q != ' ')
        return sd_error_set(st->err, SD_EPARSE, OFF(q), "invalid octet 0x%02x in method", (unsigned char)*q);
    const char *u = q + 1;
    const char *sp2 = u + sd_find_from(u, 0, (size_t)(cr - u), ' ', ' ', ' ', 0);
    if (sp2 == cr) return sd_error_set(st->err, SD_EPARSE, OFF(u), "request line without SIP-Version");
    if (sp2 == u) return sd_error_set(st->err, SD_EPARSE, OFF(u), "empty Request-URI (extra SP in request line)");
    const char *ver = sp2 + 1;
    if (cr - ver != 7 || !is_sip20(ver)) {
        if (cr - ver >= 4 && sd_ieq(ver, "SIP/", 4) && memchr(ver, ' ', (size_t)(cr - ver)) == NULL)
            return sd_error_set(st->err, SD_EPARSE, OFF(ver), "unsupported SIP version '%.*s' (only SIP/2.0)",
                                (int)(cr - ver > 32 ? 32 : cr - ver), ver);
        return sd_error_set(st->err, SD_EPARSE, OFF(ver), "request line must end in ' SIP/2.0'");
    }
    size_t ulen = (size_t)(sp2 - u);
    if ((st->o->limits.max_uri == 0 || ulen <= st->o->limits.max_uri) && ruri_fast(u, ulen, (size_t)(st->end - u))) {
        /* valid as it stands: nothing to report */
    } else {
        sd_uri uri;
        sd_err rc = sd_uri_parse(buf, SPAN(u, sp2), st->o->limits.max_uri, &uri, st->err);
        if (rc != SD_OK) return rc;
        if ((uri.scheme_id == SD_URI_SIP || uri.scheme_id == SD_URI_SIPS) && uri.headers.len > 0)
            return sd_error_set(st->err, SD_EPARSE, uri.headers.off,
                                "headers are not allowed in a Request-URI (RFC 3261 19.1.1)");
    }
    m->is_request = 1;
    m->method = SPAN(p, q);
    m->method_id = (uint8_t)sd_method_lookup(p, (size_t)(q - p));
    m->ruri = SPAN(u, sp2);
    return SD_OK;
}

sd_err sd_msg_parse(const char *buf, size_t len, const sd_parse_opts *opts, sd_msg *out, sd_header *hdrs,
                    size_t cap, sd_error *err)
{
    sd_parse_opts dflt;
    if (opts == NULL) {
        sd_parse_opts_default(&dflt);
        opts = &dflt;
    }
    const sd_limits *lim = &opts->limits;
    if (buf == NULL && len > 0) return sd_error_set(err, SD_EINVAL, 0, "NULL buffer");
    if (len > 0xffffffffu) return sd_error_set(err, SD_ELIMIT, lim->max_message, "buffer larger than 4 GiB");

    memset(out, 0, offsetof(sd_msg, first));
    memset(out->first, 0xff, sizeof out->first);
    out->hdrs = hdrs;
    out->max_forwards = -1;
    out->content_length = -1;
    out->uris_checked = (opts->flags & SD_PARSE_CHECK_URIS) != 0;
    pstate st = {buf, opts, out, err, 0, NULL};

    const char *p = buf, *end = buf + len;
    /* RFC 3261 7.5: CRLFs before the start-line are ignored. */
    while (end - p >= 2 && p[0] == '\r' && p[1] == '\n') p += 2;
    const char *msg_start = p;
    /* Nothing of the header block may lie beyond max_message. */
    const char *hend = (size_t)(end - p) > lim->max_message ? p + lim->max_message : end;
    st.end = hend;
    if (p == end) return sd_error_set(err, SD_EPARSE, OFF(p), "empty message");

    /* start line */
    const char *c = scan_ctl(p, hend);
    while (c < hend && *c == '\t') c = scan_ctl(c + 1, hend);
    if (c == hend) {
        if (hend < end) return sd_error_set(err, SD_ELIMIT, OFF(hend), "start line exceeds the message limit of %u", lim->max_message);
        return sd_error_set(err, SD_EPARSE, OFF(c), "start line not terminated by CRLF");
    }
    if (*c != '\r' || c + 1 >= end || c[1] != '\n')
        return sd_error_set(err, SD_EPARSE, OFF(c), "invalid octet 0x%02x in start line", (unsigned char)*c);
    if ((size_t)(c - p) > lim->max_header_line)
        return sd_error_set(err, SD_ELIMIT, OFF(p) + lim->max_header_line, "start line exceeds the line limit of %u",
                            lim->max_header_line);
    sd_err rc = parse_start_line(&st, p, c);
    if (rc != SD_OK) return rc;
    p = c + 2;

    /* header lines; the limits read on every line are held in locals */
    const size_t max_line = lim->max_header_line;
    const uint32_t max_via = lim->max_via;
    uint32_t n = 0;
    size_t max_hdrs = lim->max_headers < cap ? lim->max_headers : cap;
    const char *body;
    for (;;) {
        if (p >= hend || (hend - p == 1 && *p == '\r')) {
            if (hend < end) return sd_error_set(err, SD_ELIMIT, OFF(hend), "header block exceeds the message limit of %u", lim->max_message);
            return sd_error_set(err, SD_EPARSE, OFF(p), "header block not terminated by an empty line");
        }
        if ((unsigned char)p[0] <= ' ') {
            /* one test for the three octets that cannot start a header */
            if (p[0] == '\r') {
                if (p[1] != '\n') return sd_error_set(err, SD_EPARSE, OFF(p), "CR not followed by LF");
                body = p + 2;
                break;
            }
            if (*p == ' ' || *p == '\t')
                return sd_error_set(err, SD_EPARSE, OFF(p), "continuation line without a header");
        }
        const char *line = p, *e = p, *line_end;
        uint16_t flags = 0;
        /* The usual Via line, "Via: SIP/2.0/..." with one entry of the
         * common shape, in one step: its value needs no name lookup, no
         * trim and no list split. Taken only when it ends exactly as the
         * general path would read it and every check passes; anything
         * else (an error included) goes the general way. */
        if (hend - line >= 16 && n < max_hdrs) {
            uint64_t w0, k0;
            memcpy(&w0, line, 8);
            memcpy(&k0, "Via: SIP", 8);
            if (w0 == k0) {
                /* this line and the Via lines that follow it; the entry
                 * ends at the CR, the first CTL of the line: no separate
                 * scan for it */
                const char *np = sd_via_lines(buf, line, hend, out, hdrs, &n, max_hdrs, max_line, max_via);
                if (np != line) {
                    p = np;
                    continue;
                }
            } else {
                /* A common header in its canonical spelling, "Name: value"
                 * on one line with no LWS around the value: the name needs
                 * no lookup and the value no trim. Checked headers are
                 * checked as the general path would (its errors are the
                 * same: nothing else on the line is in question); From,
                 * To, Contact, Route and Record-Route values of the
                 * common shape (nameaddr_fast) skip the name-addr parser
                 * and go the general way otherwise, as does a second
                 * occurrence of a single-valued header. */
                sd_hdr_id id;
                size_t nl = canon_line_name(line, &id);
                if (nl != 0) {
                    const char *vs = line + nl + 2, *cr = scan_ctl(vs, hend);
                    size_t toff = 0, tlen = 0;
                    int ht = 0, na = 0;
                    if (hend - cr >= 2 && cr[0] == '\r' && cr[1] == '\n' &&
                        !(hend - cr > 2 && (cr[2] == ' ' || cr[2] == '\t')) &&
                        (size_t)(cr - line) <= max_line && cr > vs && vs[0] != ' ' && cr[-1] != ' ' &&
                        (out->first[id] < 0 || !sd_hdr_table[id].single) &&
                        (!(na = NA_IDS >> id & 1) || nameaddr_fast(&st, vs, (size_t)(cr - vs), &toff, &tlen, &ht))) {
                        sd_header *h = &hdrs[n];
                        h->name = SPAN(line, line + nl);
                        h->value = SPAN(vs, cr);
                        h->id = (uint16_t)id;
                        h->flags = 0;
                        h->_pad = 0;
                        int fresh = out->first[id] < 0;
                        if (fresh) out->first[id] = (int16_t)n;
                        if (na) {
                            if (fresh && (id == SD_H_FROM || id == SD_H_TO)) {
                                sd_span tg = {0, 0};
                                if (ht) tg = SPAN(vs + toff, vs + toff + tlen);
                                if (id == SD_H_FROM) {
                                    out->from_tag = tg;
                                    out->has_from_tag = (uint8_t)ht;
                                } else {
                                    out->to_tag = tg;
                                    out->has_to_tag = (uint8_t)ht;
                                }
                            }
                        } else if (CHECKED_IDS >> id & 1) {
                            /* the checks check_header makes, called directly */
                            switch (id) {
                            case SD_H_CALL_ID:
                                out->call_id = h->value;
                                rc = check_call_id(&st, h->value);
                                break;
                            case SD_H_CSEQ: rc = check_cseq(&st, h->value); break;
                            case SD_H_MAX_FORWARDS: rc = check_max_forwards(&st, h->value); break;
                            case SD_H_CONTENT_LENGTH: rc = check_content_length(&st, h->value); break;
                            default: rc = check_header(&st, h); break;
                            }
                            if (rc != SD_OK) return rc;
                        }
                        n++;
                        p = cr + 2;
                        continue;
                    }
                }
            }
        }
        /* The first 16 octets give both the first CTL and the first ':'
         * (the name usually ends there); have16 says they were read (not
         * when fewer than 16 octets are left), chunk that c is known. */
        unsigned colbits = 0;
        int chunk = 0, have16 = 0;
#if defined(__SSE2__)
        if (hend - line >= 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)line);
            unsigned cb = (unsigned)_mm_movemask_epi8(_mm_or_si128(
                _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x), _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f))));
            colbits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(':')));
            chunk = have16 = 1;
            e = cb ? line + __builtin_ctz(cb) : line + 16;
        }
#endif
        for (;;) {
            c = chunk ? e : scan_ctl(e, hend);
            if (chunk) {
                chunk = 0;
                if (c == line + 16) c = scan_ctl(c, hend);
            }
            if (c == hend) {
                if (hend < end) return sd_error_set(err, SD_ELIMIT, OFF(hend), "header block exceeds the message limit of %u", lim->max_message);
                return sd_error_set(err, SD_EPARSE, OFF(c), "header line not terminated by CRLF");
            }
            if (*c == '\r') {
                if (c + 1 >= hend || c[1] != '\n') {
                    if (c + 1 >= hend && hend < end) return sd_error_set(err, SD_ELIMIT, OFF(hend), "header block exceeds the message limit of %u", lim->max_message);
                    if (c + 1 >= hend) return sd_error_set(err, SD_EPARSE, OFF(c), "header line not terminated by CRLF");
                    return sd_error_set(err, SD_EPARSE, OFF(c), "CR not followed by LF");
                }
                if (c + 2 < hend && (c[2] == ' ' || c[2] == '\t')) {
                    flags |= SD_HF_FOLDED;
                    e = c + 3;
                    continue;
                }
                line_end = c;
                p = c + 2;
                break;
            }
            if (*c == '\t') {
                e = c + 1;
                continue;
            }
            if (*c == '\n') return sd_error_set(err, SD_EPARSE, OFF(c), "LF not preceded by CR");
            if (!in_quoted_pair(line, c))
                return sd_error_set(err, SD_EPARSE, OFF(c), "control octet 0x%02x in header line", (unsigned char)*c);
            e = c + 1;
        }
        if ((size_t)(line_end - line) > lim->max_header_line)
            return sd_error_set(err, SD_ELIMIT, OFF(line) + lim->max_header_line,
                                "header line exceeds the line limit of %u", lim->max_header_line);
        /* name: a known name ends at the ':' (less SP/HT before it) and
         * needs no token scan, its octets being letters and '-' */
        const char *colon;
        if (colbits) {
            colon = line + __builtin_ctz(colbits);
            if (colon > line_end) colon = line_end;
        } else {
            colon = have16 && line + 16 < line_end ? find_colon(line + 16, line_end)
                                                             : find_colon(line, line_end);
        }
        const char *name_end = colon;
        while (name_end > line && (name_end[-1] == ' ' || name_end[-1] == '\t')) name_end--;
        sd_hdr_id id = colon < line_end ? sd_hdr_lookup_inline(line, (size_t)(name_end - line)) : SD_H_OTHER;
        const char *q = colon;
        if (id == SD_H_OTHER) {
            q = line + sd_span_class(line, (size_t)(line_end - line), SD_C_TOKEN);
            if (q == line) return sd_error_set(err, SD_EPARSE, OFF(q), "header line without a name");
            name_end = q;
            while (q < line_end && (*q == ' ' || *q == '\t')) q++;
            if (q == line_end || *q != ':') {
                if (q == line_end) return sd_error_set(err, SD_EPARSE, OFF(q), "header line without ':'");
                return sd_error_set(err, SD_EPARSE, OFF(q), "invalid octet 0x%02x in header name", (unsigned char)*q);
            }
        }
        q++;
        while (q < line_end && is_lws(*q)) q++;
        const char *ve = line_end;
        while (ve > q && is_lws(ve[-1])) ve--;
        if (n >= max_hdrs)
            return sd_error_set(err, SD_ELIMIT, OFF(line), "more than %u header fields", (unsigned)max_hdrs);
        sd_header *h = &hdrs[n];
        h->name = SPAN(line, name_end);
        h->value = SPAN(q, ve);
        h->id = (uint16_t)id;
        h->flags = flags;
        h->_pad = 0;
        if (h->id != SD_H_OTHER) {
            int16_t f = out->first[h->id];
            int checked = (CHECKED_IDS >> h->id) & 1;
            if (f < 0) {
                out->first[h->id] = (int16_t)n;
                if (checked && (rc = check_header(&st, h)) != SD_OK) return rc;
            } else if (sd_hdr_table[h->id].single) {
                if (!span_eq(buf, hdrs[f].value, h->value))
                    return sd_error_set(err, SD_EPARSE, OFF(line), "%s appears twice with different values",
                                        sd_hdr_name((sd_hdr_id)h->id));
            } else if (checked && (rc = check_header(&st, h)) != SD_OK) {
                return rc;
            }
        }
        n++;
    }
    out->nhdrs = n;

    /* RFC 3261 8.1.1 mandatory headers (requests); responses need what 8.2.6 copies. */
    static const sd_hdr_id mandatory[] = {SD_H_CALL_ID, SD_H_CSEQ, SD_H_FROM, SD_H_TO, SD_H_VIA, SD_H_MAX_FORWARDS};
    size_t nm = out->is_request && !(opts->flags & SD_PARSE_RFC2543) ? 6 : 5;
    /* an absent header's first[] is -1: one OR says whether any is */
    if ((out->first[SD_H_CALL_ID] | out->first[SD_H_CSEQ] | out->first[SD_H_FROM] | out->first[SD_H_TO] |
         out->first[SD_H_VIA] | (nm == 6 ? out->first[SD_H_MAX_FORWARDS] : 0)) < 0) {
        for (size_t i = 0; i < nm; i++)
            if (out->first[mandatory[i]] < 0)
                return sd_error_set(err, SD_EPARSE, OFF(body) - 2, "missing mandatory %s header (RFC 3261 8.1.1)",
                                    sd_hdr_name(mandatory[i]));
    }
    if (out->is_request && !st.cseq_same && (out->cseq_method.len != out->method.len ||
                            memcmp(buf + out->cseq_method.off, buf + out->method.off, out->method.len) != 0))
        return sd_error_set(err, SD_EPARSE, out->cseq_method.off, "CSeq method '%.*s' differs from request method '%.*s'",
                            (int)(out->cseq_method.len > 32 ? 32 : out->cseq_method.len), buf + out->cseq_method.off,
                            (int)(out->method.len > 32 ? 32 : out->method.len), buf + out->method.off);

    /* body framing (RFC 3261 18.3, 20.14) */
    size_t avail = (size_t)(end - body);
    size_t blen;
    if (out->content_length >= 0) {
        if ((uint64_t)out->content_length > lim->max_body)
            return sd_error_set(err, SD_ELIMIT, hdrs[out->first[SD_H_CONTENT_LENGTH]].value.off,
                                "Content-Length %lld exceeds the body limit of %u", (long long)out->content_length,
                                lim->max_body);
        if ((uint64_t)out->content_length > avail)
            return sd_error_set(err, SD_EPARSE, hdrs[out->first[SD_H_CONTENT_LENGTH]].value.off,
                                "Content-Length %lld exceeds the %zu bytes after the headers",
                                (long long)out->content_length, avail);
        blen = (size_t)out->content_length;
    } else if (opts->flags & SD_PARSE_STREAM) {
        return sd_error_set(err, SD_EPARSE, OFF(body), "Content-Length is required on a stream (RFC 3261 18.3)");
    } else {
        blen = avail;
        if (blen > lim->max_body)
            return sd_error_set(err, SD_ELIMIT, OFF(body) + lim->max_body, "body exceeds the limit of %u bytes",
                                lim->max_body);
    }
    size_t total = OFF(body) + blen - OFF(msg_start);
    if (total > lim->max_message)
        return sd_error_set(err, SD_ELIMIT, OFF(msg_start) + lim->max_message,
                            "message of %zu bytes exceeds the limit of %u", total, lim->max_message);
    out->body = (sd_span){(uint32_t)OFF(body), (uint32_t)blen};
    out->msg_start = (uint32_t)OFF(msg_start);
    out->msg_len = (uint32_t)total;
    if (opts->log && opts->log->fn && blen < avail && SD_LOG_DEBUG >= opts->log->min_level) {
        sd_log_fields f = {{buf + out->call_id.off, out->call_id.len},
                           {out->is_request ? buf + out->method.off : NULL, out->method.len}, out->status,
                           {NULL, 0}};
        sd_log(opts->log, SD_LOG_DEBUG, &f, "ignored %zu octets after Content-Length (RFC 3261 18.3)", avail - blen);
    }
    return SD_OK;
}

sd_err sd_msg_frame(const char *buf, size_t len, const sd_limits *limits, size_t *skip, size_t *msg_len,
                    sd_error *err)
{
    sd_limits dl;
    if (limits == NULL) {
        sd_limits_default(&dl);
        limits = &dl;
    }
    const char *p = buf, *end = buf + len;
    while (end - p >= 2 && p[0] == '\r' && p[1] == '\n') p += 2;
    *skip = (size_t)(p - buf);
    if (end - p == 1 && *p == '\r') return SD_EAGAIN;
    size_t window = (size_t)(end - p);
    if (window > limits->max_message) window = limits->max_message;
    /* find CRLF CRLF */
    const char *hdr_end = NULL;
    for (const char *q = p; (q = memchr(q, '\r', window - (size_t)(q - p))) != NULL; q++) {
        if ((size_t)(q - p) + 4 <= window && q[1] == '\n' && q[2] == '\r' && q[3] == '\n') {
            hdr_end = q + 4;
            break;
        }
        if ((size_t)(q - p) + 1 >= window) break;
    }
    if (hdr_end == NULL) {
        if ((size_t)(end - p) >= limits->max_message)
            return sd_error_set(err, SD_ELIMIT, OFF(p) + limits->max_message,
                                "no end of headers within the message limit of %u", limits->max_message);
        return SD_EAGAIN;
    }
    /* Content-Length: scan header lines for its long or compact name. */
    int64_t cl = -1;
    const char *line = memchr(p, '\n', (size_t)(hdr_end - p));
    for (line = line ? line + 1 : hdr_end; line < hdr_end - 2;) {
        const char *nl = memchr(line, '\n', (size_t)(hdr_end - line));
        const char *le = nl ? nl : hdr_end;
        const char *q = line;
        while (q < le && SD_IS(*q, SD_C_TOKEN)) q++;
        size_t nlen = (size_t)(q - line);
        if (sd_hdr_lookup(line, nlen) == SD_H_CONTENT_LENGTH && nlen > 0) {
            while (q < le && (*q == ' ' || *q == '\t')) q++;
            if (q < le && *q == ':') {
                q++;
                /* value may be folded onto following lines */
                const char *ve = le;
                while (ve + 1 < hdr_end - 2 && (ve[1] == ' ' || ve[1] == '\t')) {
                    const char *nn = memchr(ve + 1, '\n', (size_t)(hdr_end - ve - 1));
                    ve = nn ? nn : hdr_end;
                }
                while (q < ve && is_lws(*q)) q++;
                const char *e = ve;
                while (e > q && is_lws(e[-1])) e--;
                uint64_t v;
                if (parse_uint(q, e, 0xffffffffu, &v) != 0)
                    return sd_error_set(err, SD_EPARSE, OFF(q), "Content-Length is not a decimal number");
                if (cl >= 0 && (uint64_t)cl != v)
                    return sd_error_set(err, SD_EPARSE, OFF(line), "Content-Length appears twice with different values");
                cl = (int64_t)v;
                le = ve;
            }
        }
        line = le + 1;
    }
    if (cl < 0)
        return sd_error_set(err, SD_EPARSE, OFF(hdr_end) - 2, "Content-Length is required on a stream (RFC 3261 18.3)");
    if ((uint64_t)cl > limits->max_body)
        return sd_error_set(err, SD_ELIMIT, OFF(hdr_end), "Content-Length %lld exceeds the body limit of %u",
                            (long long)cl, limits->max_body);
    size_t total = (size_t)(hdr_end - p) + (size_t)cl;
    if (total > limits->max_message)
        return sd_error_set(err, SD_ELIMIT, OFF(p) + limits->max_message,
                            "message of %zu bytes exceeds the limit of %u", total, limits->max_message);
    if ((size_t)(end - p) < total) return SD_EAGAIN;
    *msg_len = total;
    return SD_OK;
}

int sd_msg_next(const sd_msg *m, sd_hdr_id id, int after)
{
    if ((unsigned)id >= SD_H__COUNT || id == SD_H_OTHER) return -1;
    int i = after < 0 ? m->first[id] : after + 1;
    if (i < 0) return -1;
    for (; (uint32_t)i < m->nhdrs; i++)
        if (m->hdrs[i].id == id) return i;
    return -1;
}

int sd_msg_find_name(const sd_msg *m, const char *buf, const char *name, size_t len, int after)
{
    sd_hdr_id id = sd_hdr_lookup(name, len);
    if (id != SD_H_OTHER) return sd_msg_next(m, id, after);
    for (uint32_t i = (uint32_t)(after + 1); i < m->nhdrs; i++) {
        const sd_header *h = &m->hdrs[i];
        if (h->id == SD_H_OTHER && h->name.len == len && sd_ieq(buf + h->name.off, name, len)) return (int)i;
    }
    return -1;
}
