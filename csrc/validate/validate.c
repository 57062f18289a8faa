/*
 * validate.c - validators, sanitizers and pipelines (sipdialog/validate.h).
 *
 * Every validator accepts exactly the language of one RFC 3261 rule (25.1
 * unless said otherwise) and, on failure, reports the offset of the first
 * offending byte: the first byte at which the value stops being a prefix of
 * some accepted value (the length of the value when it is a valid prefix
 * that ends too early). Range rules (port, CSeq, IPv4 octets) fail at the
 * digit that takes the value out of range.
 *
 * Choices where the grammar leaves room:
 *  - UTF8-NONASCII (quoted-string) is checked for the byte shape RFC 3261
 *    25.1 gives it: a lead byte %xC0-FD followed by the number of UTF8-CONT
 *    (%x80-BF) bytes the lead announces. Overlong forms, surrogates and
 *    5/6-byte forms are accepted, as the grammar does; stray continuation
 *    bytes and %xFE/%xFF are not.
 *  - quoted-pair accepts "\" %x00 as the grammar does; combine with the
 *    header_value validator to refuse NUL.
 *  - IPv4address: four runs of 1-3 digits, each at most 255; leading zeros
 *    ("010") are accepted, as 1*3DIGIT allows.
 *  - IPv6address: RFC 3261's hexpart grammar neither bounds the number of
 *    groups nor allows "::" before an IPv4 tail; the validator uses the
 *    correction of RFC 5954 (RFC 3986 IPv6address): eight 16-bit groups, or
 *    at most seven with one "::", the IPv4 tail counting as two.
 *  - hostname: no length limits (DNS's 63/253 are not in the grammar; use
 *    max_length).
 *  - port and CSeq: leading zeros are accepted (1*DIGIT); the value counts.
 *  - sip_scheme: a value containing '<' is a name-addr (display name
 *    optional; header parameters after '>' are refused: they are not part of
 *    name-addr); any other value must be an absolute URI.
 *  - min_length fails with SD_EVALID (a short value is invalid, no limit is
 *    exceeded); max_length fails with SD_ELIMIT.
 *
 * No global mutable state; nothing allocates except sd_pipeline_run.
 */
#include "sipdialog/validate.h"
#include "sipdialog/msg.h"
#include "base/chars.h"

#include <stdlib.h>
#include <string.h>

/* Longest canonical header name sd_hdr_name may return that sanitizers
 * write; longer names are never written (the input is kept). */
#define CANON_MAX 32

/* Digits of a number printed in a reason; longer runs end in "...". */
#define REASON_DIGITS 24

/* ---- reasons ---- */

/* Invalid byte p[off] inside `what`. */
static sd_err bad_char(sd_error *err, const char *p, size_t off, const char *what)
{
    return sd_error_set(err, SD_EVALID, off, "invalid character 0x%02x in %s",
                        (unsigned)(unsigned char)p[off], what);
}

/* Empty value where the rule needs at least one byte. */
static sd_err empty(sd_error *err, const char *what)
{
    return sd_error_set(err, SD_EVALID, 0, "empty %s", what);
}

/* ---- character classes ---- */

/* Non-zero when c is a token character (RFC 3261 25.1 token). */
int sd_is_token_char(unsigned char c)
{
    return SD_IS(c, SD_C_TOKEN);
}

/* Non-zero when c is a word character (RFC 3261 25.1 word). */
int sd_is_word_char(unsigned char c)
{
    return SD_IS(c, SD_C_WORD);
}

/* 1*(octets of class cls): SD_OK or SD_EVALID at the first other octet. */
static sd_err check_run(const char *p, size_t len, uint16_t cls, const char *what, sd_error *err)
{
    if (len == 0) return empty(err, what);
    for (size_t i = 0; i < len; i++)
        if (!SD_IS(p[i], cls)) return bad_char(err, p, i, what);
    return SD_OK;
}

/* ---- numbers ---- */

/*
 * 1*DIGIT with value <= max (max < 2**32, so no step can overflow).
 * `what` names the number ("port number"); `range` completes the reason
 * ("is above 65535"). Fails at the first non-digit or at the digit that
 * takes the value past max.
 */
static sd_err check_number(const char *p, size_t len, uint64_t max, const char *what,
                           const char *range, sd_error *err)
{
    if (len == 0) return sd_error_set(err, SD_EVALID, 0, "empty %s", what);
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!SD_IS(p[i], SD_C_DIGIT)) return bad_char(err, p, i, what);
        v = v * 10 + (uint64_t)(p[i] - '0');
        if (v > max) {
            size_t end = i;
            while (end < len && SD_IS(p[end], SD_C_DIGIT)) end++;
            int shown = end > REASON_DIGITS ? REASON_DIGITS : (int)end;
            return sd_error_set(err, SD_EVALID, i, "%s %.*s%s %s", what, shown, p,
                                end > REASON_DIGITS ? "..." : "", range);
        }
    }
    return SD_OK;
}

/* Status-Code (RFC 3261 7.2, 25.1): exactly 3DIGIT, 100..699 (21). */
static sd_err check_status(const char *p, size_t len, sd_error *err)
{
    if (len == 0) return empty(err, "status code");
    for (size_t i = 0; i < len; i++) {
        if (i == 3)
            return sd_error_set(err, SD_EVALID, 3, "status code has more than 3 digits");
        if (!SD_IS(p[i], SD_C_DIGIT)) return bad_char(err, p, i, "status code");
    }
    if (len < 3)
        return sd_error_set(err, SD_EVALID, len, "status code '%.*s' has fewer than 3 digits",
                            (int)len, p);
    int v = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    if (v < 100 || v > 699)
        return sd_error_set(err, SD_EVALID, 0, "status code %d is not in 100..699", v);
    return SD_OK;
}

/* ---- quoted-string ---- */

/* Number of UTF8-CONT bytes after lead byte c (RFC 3261 25.1
 * UTF8-NONASCII), or -1 when c cannot start a UTF8-NONASCII. */
static int utf8_conts(unsigned char c)
{
    if (c >= 0xC0 && c <= 0xDF) return 1;
    if (c >= 0xE0 && c <= 0xEF) return 2;
    if (c >= 0xF0 && c <= 0xF7) return 3;
    if (c >= 0xF8 && c <= 0xFB) return 4;
    if (c >= 0xFC && c <= 0xFD) return 5;
    return -1;
}

/*
 * quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE (RFC 3261 25.1,
 * without the leading SWS). qdtext = LWS / %x21 / %x23-5B / %x5D-7E /
 * UTF8-NONASCII; LWS = [*WSP CRLF] 1*WSP, so a CR must begin CR LF WSP.
 * quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F).
 */
static sd_err check_quoted(const char *p, size_t len, sd_error *err)
{
    const char *what = "quoted-string";
    if (len == 0) return empty(err, what);
    if (p[0] != '"')
        return sd_error_set(err, SD_EVALID, 0, "quoted-string must start with '\"', not 0x%02x",
                            (unsigned)(unsigned char)p[0]);
    size_t i = 1;
    while (i < len) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"') {
            if (i + 1 != len)
                return sd_error_set(err, SD_EVALID, i + 1,
                                    "unexpected character 0x%02x after the closing '\"'",
                                    (unsigned)(unsigned char)p[i + 1]);
            return SD_OK;
        }
        if (c == '\\') {
            if (i + 1 == len)
                return sd_error_set(err, SD_EVALID, len, "quoted-pair '\\' at the end of the value");
            unsigned char q = (unsigned char)p[i + 1];
            if (q > 0x7F || q == '\r' || q == '\n')
                return sd_error_set(err, SD_EVALID, i + 1,
                                    "invalid character 0x%02x after '\\' in quoted-pair",
                                    (unsigned)q);
            i += 2;
            continue;
        }
        if (c == '\r') {
            /* LWS: CR LF followed by at least one SP or HT */
            if (i + 1 == len || p[i + 1] != '\n')
                return i + 1 == len
                           ? sd_error_set(err, SD_EVALID, len, "CR at the end of the value")
                           : sd_error_set(err, SD_EVALID, i + 1,
                                          "invalid character 0x%02x after CR in quoted-string",
                                          (unsigned)(unsigned char)p[i + 1]);
            if (i + 2 == len)
                return sd_error_set(err, SD_EVALID, len, "CR LF at the end of the value");
            if (p[i + 2] != ' ' && p[i + 2] != '\t')
                return sd_error_set(err, SD_EVALID, i + 2,
                                    "CR LF in quoted-string not followed by SP or HT (fold)");
            i += 3;
            continue;
        }
        if (c == ' ' || c == '\t' || (c >= 0x21 && c <= 0x7E)) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            int n = utf8_conts(c);
            if (n < 0)
                return sd_error_set(err, SD_EVALID, i,
                                    "invalid UTF-8 lead byte 0x%02x in quoted-string", (unsigned)c);
            for (int k = 1; k <= n; k++) {
                if (i + (size_t)k == len)
                    return sd_error_set(err, SD_EVALID, len, "truncated UTF-8 sequence");
                unsigned char cc = (unsigned char)p[i + (size_t)k];
                if (cc < 0x80 || cc > 0xBF)
                    return sd_error_set(err, SD_EVALID, i + (size_t)k,
                                        "invalid UTF-8 continuation byte 0x%02x in quoted-string",
                                        (unsigned)cc);
            }
            i += (size_t)n + 1;
            continue;
        }
        return bad_char(err, p, i, what);
    }
    return sd_error_set(err, SD_EVALID, len, "unterminated quoted-string (no closing '\"')");
}

/* ---- Call-ID ---- */

/* callid = word [ "@" word ] (RFC 3261 20.8, 25.1). */
static sd_err check_callid(const char *p, size_t len, sd_error *err)
{
    const char *what = "Call-ID";
    if (len == 0) return empty(err, what);
    size_t at = len;
    for (size_t i = 0; i < len; i++) {
        if (SD_IS(p[i], SD_C_WORD)) continue;
        if (p[i] != '@') return bad_char(err, p, i, what);
        if (at != len) return sd_error_set(err, SD_EVALID, i, "second '@' in Call-ID");
        if (i == 0) return sd_error_set(err, SD_EVALID, 0, "empty word before '@' in Call-ID");
        at = i;
    }
    if (at + 1 == len) return sd_error_set(err, SD_EVALID, len, "empty word after '@' in Call-ID");
    return SD_OK;
}

/* ---- user ---- */

/* user = 1*( unreserved / escaped / user-unreserved ), escaped = "%" HEXDIG
 * HEXDIG (RFC 3261 19.1.1, 25.1). */
static sd_err check_user(const char *p, size_t len, sd_error *err)
{
    const char *what = "user";
    if (len == 0) return empty(err, what);
    for (size_t i = 0; i < len; i++) {
        if (SD_IS(p[i], SD_C_USER)) continue;
        if (p[i] != '%') return bad_char(err, p, i, what);
        for (size_t k = 1; k <= 2; k++) {
            if (i + k == len)
                return sd_error_set(err, SD_EVALID, len, "truncated escape '%%' at the end of user");
            if (!SD_IS(p[i + k], SD_C_HEX))
                return sd_error_set(err, SD_EVALID, i + k,
                                    "invalid character 0x%02x in escape (needs '%%' HEXDIG HEXDIG)",
                                    (unsigned)(unsigned char)p[i + k]);
        }
        i += 2;
    }
    return SD_OK;
}

/* ---- header value ---- */

/* No CTL but HT (%x00-08 / %x0A-1F / %x7F): no CR, LF or NUL, so a value
 * can never end a header line or start another (RFC 3261 7.3.1, 25.1). */
static sd_err check_header_value(const char *p, size_t len, sd_error *err)
{
    for (size_t i = 0; i < len; i++)
        if (SD_IS(p[i], SD_C_CTL)) return bad_char(err, p, i, "header value");
    return SD_OK;
}

/* ---- host ---- */

/*
 * IPv4address = four dot-separated runs of 1*3DIGIT (RFC 3261 25.1), each
 * at most 255. p[0..len) must be exactly the address; error offsets are
 * p - base + i.
 */
static sd_err check_ipv4(const char *base, const char *p, size_t len, sd_error *err)
{
    size_t off = (size_t)(p - base), i = 0;
    for (int oct = 0; oct < 4; oct++) {
        if (oct > 0) {
            if (i == len)
                return sd_error_set(err, SD_EVALID, off + i, "IPv4 address has only %d octets", oct);
            if (p[i] != '.')
                return bad_char(err, base, off + i, "IPv4 address");
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < len && SD_IS(p[i], SD_C_DIGIT)) {
            if (i - start == 3)
                return sd_error_set(err, SD_EVALID, off + i, "IPv4 octet has more than 3 digits");
            v = v * 10 + (unsigned)(p[i] - '0');
            if (v > 255)
                return sd_error_set(err, SD_EVALID, off + i, "IPv4 octet %.*s is above 255",
                                    (int)(i + 1 - start), p + start);
            i++;
        }
        if (i == start) {
            if (i == len)
                return sd_error_set(err, SD_EVALID, off + i, "IPv4 address has only %d octets",
                                    oct);
            return bad_char(err, base, off + i, "IPv4 address");
        }
    }
    if (i != len) return bad_char(err, base, off + i, "IPv4 address");
    return SD_OK;
}

/*
 * IPv6address of RFC 5954 (RFC 3986 3.2.2), which corrects RFC 3261's:
 * eight h16 (1*4HEXDIG) groups separated by ':', or fewer with exactly one
 * "::" standing for at least one zero group; the last 32 bits may be an
 * IPv4address. p[0..len) is the address without brackets; error offsets
 * are p - base + i.
 */
static sd_err check_ipv6(const char *base, const char *p, size_t len, sd_error *err)
{
    size_t off = (size_t)(p - base), i = 0;
    int groups = 0, dbl = 0;
    const char *what = "IPv6 address";
    if (len == 0) return sd_error_set(err, SD_EVALID, off, "empty IPv6 address");
    if (p[0] == ':') {
        if (len < 2 || p[1] != ':')
            return sd_error_set(err, SD_EVALID, off + 1, "IPv6 address starts with a single ':'");
        dbl = 1;
        i = 2;
        if (i == len) return SD_OK; /* "::" */
    }
    for (;;) {
        /* a group: h16, or an IPv4address tail (digits then '.') */
        size_t start = i;
        while (i < len && SD_IS(p[i], SD_C_HEX)) i++;
        if (i < len && p[i] == '.') {
            for (size_t k = start; k < i; k++)
                if (!SD_IS(p[k], SD_C_DIGIT)) return bad_char(err, base, off + k, what);
            if (i == start) return bad_char(err, base, off + i, what);
            if (groups + 2 > (dbl ? 7 : 8))
                return sd_error_set(err, SD_EVALID, off + start,
                                    "too many groups in IPv6 address");
            sd_err r = check_ipv4(base, p + start, len - start, err);
            if (r != SD_OK) return r;
            groups += 2;
            break;
        }
        if (i == start) {
            if (i == len) return sd_error_set(err, SD_EVALID, off + i, "IPv6 address ends with ':'");
            return bad_char(err, base, off + i, what);
        }
        if (i - start > 4)
            return sd_error_set(err, SD_EVALID, off + start + 4,
                                "IPv6 group has more than 4 hex digits");
        groups++;
        if (groups > (dbl ? 7 : 8))
            return sd_error_set(err, SD_EVALID, off + start, "too many groups in IPv6 address");
        if (i == len) break;
        if (p[i] != ':') return bad_char(err, base, off + i, what);
        i++;
        if (i < len && p[i] == ':') {
            if (dbl) return sd_error_set(err, SD_EVALID, off + i - 1, "second '::' in IPv6 address");
            if (groups > 7)
                return sd_error_set(err, SD_EVALID, off + i - 1, "too many groups in IPv6 address");
            dbl = 1;
            i++;
            if (i == len) break;
        }
    }
    if (!dbl && groups < 8)
        return sd_error_set(err, SD_EVALID, off + len,
                            "IPv6 address has %d groups, 8 needed without '::'", groups);
    return SD_OK;
}

/*
 * hostname = *( domainlabel "." ) toplabel [ "." ] (RFC 3261 25.1);
 * domainlabel = alphanum / alphanum *( alphanum / "-" ) alphanum;
 * toplabel = ALPHA / ALPHA *( alphanum / "-" ) alphanum.
 */
static sd_err check_hostname(const char *p, size_t len, sd_error *err)
{
    const char *what = "host";
    size_t i = 0, top = 0;
    while (i < len) {
        size_t start = i;
        for (; i < len && p[i] != '.'; i++) {
            if (SD_IS(p[i], SD_C_HOST)) continue;
            if (p[i] == ':')
                return sd_error_set(err, SD_EVALID, i,
                                    "invalid character ':' in host (an IPv6 address needs [ ])");
            return bad_char(err, p, i, what);
        }
        if (i == start) return sd_error_set(err, SD_EVALID, i, "empty label in host name");
        if (p[start] == '-')
            return sd_error_set(err, SD_EVALID, start, "host name label starts with '-'");
        if (p[i - 1] == '-')
            return sd_error_set(err, SD_EVALID, i - 1, "host name label ends with '-'");
        top = start;
        if (i < len) i++; /* the '.'; a final one is the optional trailing dot */
    }
    if (!SD_IS(p[top], SD_C_ALPHA))
        return sd_error_set(err, SD_EVALID, top, "top label of host name must start with a letter");
    return SD_OK;
}

/* host = hostname / IPv4address / IPv6reference (RFC 3261 19.1.1, 25.1). */
static sd_err check_host(const char *p, size_t len, sd_error *err)
{
    if (len == 0) return empty(err, "host");
    if (p[0] == '[') {
        /* IPv6reference = "[" IPv6address "]" */
        const char *close = memchr(p, ']', len);
        size_t end = close ? (size_t)(close - p) : len;
        sd_err r = check_ipv6(p, p + 1, end - 1, err);
        if (r != SD_OK) return r;
        if (end == len) return sd_error_set(err, SD_EVALID, len, "IPv6 reference without ']'");
        if (end + 1 != len) return bad_char(err, p, end + 1, "host after ']'");
        return SD_OK;
    }
    /* Only digits and dots: an IPv4address (a hostname's toplabel starts
     * with a letter, so it cannot be one). */
    size_t i = 0;
    while (i < len && (SD_IS(p[i], SD_C_DIGIT) || p[i] == '.')) i++;
    if (i == len) return check_ipv4(p, p, len, err);
    return check_hostname(p, len, err);
}

/* ---- URIs ---- */

/*
 * A URI as sd_uri_parse accepts it; `sip_only`: the scheme must be sip,
 * sips or tel, and a name-addr (display name optional) is accepted with its
 * URI checked (RFC 3261 19.1, 20.10, 25.1).
 */
static sd_err check_uri(const char *p, size_t len, int sip_only, sd_error *err)
{
    sd_error e;
    sd_uri u;
    if (len > UINT32_MAX) return sd_error_set(err, SD_EVALID, UINT32_MAX, "URI longer than 2**32-1 bytes");
    sd_span v = {0, (uint32_t)len};
    if (sip_only && len > 0 && memchr(p, '<', len) != NULL) {
        sd_nameaddr na;
        if (sd_nameaddr_parse(p, v, 0, &na, &e) != SD_OK)
            return sd_error_set(err, SD_EVALID, e.offset, "%s", e.reason);
        if (!na.has_brackets)
            return sd_error_set(err, SD_EVALID, 0, "name-addr without '<' URI '>'");
        if (na.params.len != 0) {
            size_t at = na.params.off > 0 ? na.params.off - 1 : 0;
            return sd_error_set(err, SD_EVALID, at, "header parameters after name-addr");
        }
        v = na.uri;
    }
    if (sd_uri_parse(p, v, 0, &u, &e) != SD_OK)
        return sd_error_set(err, SD_EVALID, e.offset, "%s", e.reason);
    if (sip_only) {
        const char *s = p + u.scheme.off;
        size_t n = u.scheme.len;
        if (!((n == 3 && (sd_ieq(s, "sip", 3) || sd_ieq(s, "tel", 3))) ||
              (n == 4 && sd_ieq(s, "sips", 4))))
            return sd_error_set(err, SD_EVALID, u.scheme.off,
                                "URI scheme '%.*s' is not sip, sips or tel",
                                (int)(n > 32 ? 32 : n), s);
    }
    return SD_OK;
}

/* ---- the validator entry point ---- */

/*
 * Run validator v on p[0..len) (p may be NULL when len is 0). Returns
 * SD_OK; SD_EVALID with err->reason and err->offset (first offending
 * byte); SD_ELIMIT for max_length (offset: arg, the first byte past the
 * limit); SD_EINVAL for a NULL validator or an unknown kind. err may be
 * NULL. Reads only its arguments.
 */
sd_err sd_validate(const sd_validator *v, const char *p, size_t len, sd_error *err)
{
    if (v == NULL) return sd_error_set(err, SD_EINVAL, SIZE_MAX, "no validator");
    if (p == NULL && len != 0) return sd_error_set(err, SD_EINVAL, SIZE_MAX, "NULL value");
    if (p == NULL) p = "";
    switch ((sd_vkind)v->kind) {
    case SD_V_MAX_LENGTH:
        if ((uint64_t)len > v->arg)
            return sd_error_set(err, SD_ELIMIT, (size_t)v->arg,
                                "value is %zu bytes, more than the maximum of %llu", len,
                                (unsigned long long)v->arg);
        return SD_OK;
    case SD_V_MIN_LENGTH:
        if ((uint64_t)len < v->arg)
            return sd_error_set(err, SD_EVALID, len,
                                "value is %zu bytes, less than the minimum of %llu", len,
                                (unsigned long long)v->arg);
        return SD_OK;
    case SD_V_TOKEN: return check_run(p, len, SD_C_TOKEN, "token", err);
    case SD_V_WORD: return check_run(p, len, SD_C_WORD, "word", err);
    case SD_V_QUOTED_STRING: return check_quoted(p, len, err);
    case SD_V_CALLID: return check_callid(p, len, err);
    case SD_V_TAG: return check_run(p, len, SD_C_TOKEN, "tag", err);
    case SD_V_HOST: return check_host(p, len, err);
    case SD_V_PORT: return check_number(p, len, 65535, "port number", "is above 65535", err);
    case SD_V_USER: return check_user(p, len, err);
    case SD_V_HEADER_VALUE: return check_header_value(p, len, err);
    case SD_V_SIP_SCHEME: return check_uri(p, len, 1, err);
    case SD_V_STATUS_CODE: return check_status(p, len, err);
    case SD_V_CSEQ:
        return check_number(p, len, 0x7FFFFFFF, "CSeq number", "is not below 2**31", err);
    case SD_V_METHOD: return check_run(p, len, SD_C_TOKEN, "method", err);
    case SD_V_URI: return check_uri(p, len, 0, err);
    case SD_V__COUNT: break;
    }
    return sd_error_set(err, SD_EINVAL, SIZE_MAX, "unknown validator kind %u", (unsigned)v->kind);
}

/* ---- names ---- */

static const char *const vkind_names[SD_V__COUNT] = {
    [SD_V_MAX_LENGTH] = "max_length",   [SD_V_MIN_LENGTH] = "min_length",
    [SD_V_TOKEN] = "token",             [SD_V_WORD] = "word",
    [SD_V_QUOTED_STRING] = "quoted_string", [SD_V_CALLID] = "callid",
    [SD_V_TAG] = "tag",                 [SD_V_HOST] = "host",
    [SD_V_PORT] = "port",               [SD_V_USER] = "user",
    [SD_V_HEADER_VALUE] = "header_value", [SD_V_SIP_SCHEME] = "sip_scheme",
    [SD_V_STATUS_CODE] = "status_code", [SD_V_CSEQ] = "cseq",
    [SD_V_METHOD] = "method",           [SD_V_URI] = "uri",
};

static const char *const skind_names[SD_S__COUNT] = {
    [SD_S_TRIM_LWS] = "trim_lws",
    [SD_S_CANONICAL_NAME] = "canonical_name",
    [SD_S_LOWER] = "lower",
};

/* Short snake_case name of validator kind k (static storage); NULL for a
 * value that is not a kind. */
const char *sd_vkind_name(sd_vkind k)
{
    return ((unsigned)k < SD_V__COUNT) ? vkind_names[k] : NULL;
}

/* Short snake_case name of sanitizer kind k (static storage); NULL for a
 * value that is not a kind. */
const char *sd_skind_name(sd_skind k)
{
    return ((unsigned)k < SD_S__COUNT) ? skind_names[k] : NULL;
}

/* ---- sanitizers ---- */

/* SP, HT, CR or LF: the octets LWS is made of. */
static int is_lws_octet(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Strip leading and trailing SP/HT/CR/LF; replace every inner run of white
 * space that holds a fold (CR LF followed by SP/HT: RFC 3261 7.3.1, LWS of
 * 25.1) by one SP. A run that also holds a CR or LF which is not part of a
 * fold is kept as it is, so a later header_value validator still sees (and
 * refuses) the bare line break; runs without CR/LF are kept too.
 * Output never longer than input; out may be p. Idempotent: inner runs keep
 * their non-white neighbours, and a replaced run holds no CR/LF.
 */
static size_t trim_lws(const char *p, size_t len, char *out)
{
    size_t b = 0, e = len, j = 0, i;
    while (b < e && is_lws_octet(p[b])) b++;
    while (e > b && is_lws_octet(p[e - 1])) e--;
    i = b;
    while (i < e) {
        if (!is_lws_octet(p[i])) {
            out[j++] = p[i++];
            continue;
        }
        size_t rs = i;
        while (i < e && is_lws_octet(p[i])) i++;
        int fold = 0, bare = 0;
        for (size_t k = rs; k < i; k++) {
            if (p[k] == '\r') {
                if (k + 2 < i && p[k + 1] == '\n' && (p[k + 2] == ' ' || p[k + 2] == '\t')) {
                    fold = 1;
                    k++;
                } else {
                    bare = 1;
                }
            } else if (p[k] == '\n') {
                bare = 1;
            }
        }
        if (fold && !bare) {
            out[j++] = ' ';
        } else {
            memmove(out + j, p + rs, i - rs);
            j += i - rs;
        }
    }
    return j;
}

/*
 * Header name to its canonical long form (sd_hdr_lookup, sd_hdr_name):
 * "i" -> "Call-ID", "cseq" -> "CSeq"; unknown names are kept. The name is
 * written only when it fits in `cap` bytes; otherwise the input is kept.
 * out may be p. Idempotent: a canonical name looks itself up.
 */
static size_t canonical_name(const char *p, size_t len, char *out, size_t cap)
{
    sd_hdr_id id = sd_hdr_lookup(p, len);
    const char *name = id != SD_H_OTHER ? sd_hdr_name(id) : NULL;
    size_t n = name ? strlen(name) : 0;
    if (name == NULL || n > cap) {
        if (out != p && len) memmove(out, p, len);
        return len;
    }
    memcpy(out, name, n);
    return n;
}

/* ASCII lower case; out may be p. */
static size_t lower(const char *p, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) out[i] = (char)sd_lower((unsigned char)p[i]);
    return len;
}

/* Run sanitizer k with an output capacity of cap (>= len) bytes. Unknown
 * kinds copy the input. */
static size_t sanitize(sd_skind k, const char *p, size_t len, char *out, size_t cap)
{
    if (len == 0) return 0;
    switch (k) {
    case SD_S_TRIM_LWS: return trim_lws(p, len, out);
    case SD_S_CANONICAL_NAME: return canonical_name(p, len, out, cap);
    case SD_S_LOWER: return lower(p, len, out);
    case SD_S__COUNT: break;
    }
    if (out != p) memmove(out, p, len);
    return len;
}

/*
 * Run sanitizer k on p[0..len) into out (capacity SD_SANITIZE_CAP(len)
 * bytes; out may equal p). Returns the output length. An unknown kind
 * copies the input. Never fails, never allocates.
 */
size_t sd_sanitize(sd_skind k, const char *p, size_t len, char *out)
{
    return sanitize(k, p, len, out, SD_SANITIZE_CAP(len));
}

/* ---- pipelines ---- */

/*
 * Run pipeline pl on p[0..len): each sanitizer in order on a private copy,
 * then each validator on the result. On SD_OK *out is a malloc'd,
 * NUL-terminated buffer the caller frees, *out_len its length. Otherwise
 * *out is NULL and err (may be NULL) names the failing validator in its
 * reason ("token: invalid character ...") with the offset into the
 * sanitized value; SD_EINVAL for bad arguments or an unknown kind,
 * SD_ENOMEM when the buffer cannot be allocated.
 */
sd_err sd_pipeline_run(const sd_pipeline *pl, const char *p, size_t len, char **out,
                       size_t *out_len, sd_error *err)
{
    if (out == NULL) return sd_error_set(err, SD_EINVAL, SIZE_MAX, "no output pointer");
    *out = NULL;
    if (out_len) *out_len = 0;
    if (pl == NULL) return sd_error_set(err, SD_EINVAL, SIZE_MAX, "no pipeline");
    if (p == NULL && len != 0) return sd_error_set(err, SD_EINVAL, SIZE_MAX, "NULL value");
    if (pl->nsan > SD_PIPELINE_MAX || pl->nval > SD_PIPELINE_MAX)
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "pipeline has more than %d steps",
                            SD_PIPELINE_MAX);
    for (unsigned s = 0; s < pl->nsan; s++)
        if (pl->san[s] == 0 || pl->san[s] >= SD_S__COUNT)
            return sd_error_set(err, SD_EINVAL, SIZE_MAX, "unknown sanitizer kind %u",
                                (unsigned)pl->san[s]);
    for (unsigned s = 0; s < pl->nval; s++)
        if (pl->val[s].kind == 0 || pl->val[s].kind >= SD_V__COUNT)
            return sd_error_set(err, SD_EINVAL, SIZE_MAX, "unknown validator kind %u",
                                (unsigned)pl->val[s].kind);

    /* canonical_name may turn a short name into a long one of <= CANON_MAX */
    size_t cap = len > CANON_MAX ? len : CANON_MAX;
    if (cap == SIZE_MAX) return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "value too large");
    char *buf = malloc(cap + 1);
    if (buf == NULL) return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    if (len) memcpy(buf, p, len);
    size_t n = len;
    for (unsigned s = 0; s < pl->nsan; s++) n = sanitize((sd_skind)pl->san[s], buf, n, buf, cap);
    buf[n] = '\0';

    for (unsigned s = 0; s < pl->nval; s++) {
        sd_error e;
        sd_err r = sd_validate(&pl->val[s], buf, n, &e);
        if (r != SD_OK) {
            free(buf);
            return sd_error_set(err, r, e.offset, "%s: %s",
                                sd_vkind_name((sd_vkind)pl->val[s].kind), e.reason);
        }
    }
    *out = buf;
    if (out_len) *out_len = n;
    return SD_OK;
}
