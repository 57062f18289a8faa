/*
 * nameaddr.c - name-addr / addr-spec with header parameters (RFC 3261
 * 20.10, 20.20, 20.39, 25.1): From, To, Contact, Route, Record-Route,
 * Refer-To, Referred-By, Reply-To, ...
 *
 *   ( name-addr / addr-spec ) *( SEMI generic-param )
 *   name-addr    = [ display-name ] LAQUOT addr-spec RAQUOT
 *   display-name = *(token LWS) / quoted-string
 *
 * A display name of tokens directly followed by '<' ("caller<sip:...>") is
 * accepted (RFC 4475 3.1.1.6: LAQUOT = SWS "<").
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

/* The URI shape every addr-spec needs: scheme ":" and at least one octet. */
static inline int uri_shape_ok(const char *p, size_t n)
{
    uint32_t w, sip;
    if (n > 4) {
        /* "sip:" and one more octet, the usual case, in one compare */
        memcpy(&w, p, 4);
        memcpy(&sip, "sip:", 4);
        if (w == sip) return 1;
    }
    if (n == 0 || !SD_IS(p[0], SD_C_ALPHA)) return 0;
    size_t i = 1 + sd_span_class(p + 1, n - 1, SD_C_SCHEME);
    return i + 1 < n && p[i] == ':';
}

/* 1 when p[j..e), the rest of a value that does not start with a display
 * name of tokens followed by '<', holds a '<' that could open a name-addr:
 * one before the first ';', or one after it outside the quoted-strings of
 * the header parameters (gen-value = quoted-string, and qdtext includes
 * '<', RFC 3261 25.1). An unterminated quoted-string counts as holding one,
 * so the error stays the display-name one. */
static int stray_laquot(const char *p, size_t j, size_t e)
{
    const char *l = memchr(p + j, '<', e - j);
    if (l == NULL) return 0;
    const char *semi = memchr(p + j, ';', e - j);
    if (semi == NULL || l < semi) return 1;
    for (size_t k = (size_t)(semi - p); k < e; k++) {
        if (p[k] == '<') return 1;
        if (p[k] == '"') {
            size_t bad, q = sd_quoted_scan(p + k, e - k, &bad);
            if (q == 0) return 1;
            k += q - 1;
        }
    }
    return 0;
}

/* Header parameters from p[i] == ';' to n: validated with the generic
 * iterator; out->params gets the list without the first ';' and its LWS.
 * With `tag`, the value of the first "tag" parameter (any case) goes to
 * *tag and *has_tag is set (a bare "tag" gives an empty span at its end),
 * as sd_param_find would find it, and its SD_GV_* kind to *tag_kind. */
static inline sd_err params_check(const char *base, size_t o, const char *p, size_t i, size_t n,
                                  sd_nameaddr *out, sd_span *tag, int *has_tag, int *tag_kind, sd_error *err)
{
    sd_span ps = mkspan(o + i, n - i), nm, val;
    uint32_t pos = 0;
    int kind, r;
    size_t bad = 0;
    while ((r = sd_gparam_step(base, ps, &pos, &nm, &val, &kind, &bad)) == 1) {
        if (tag != NULL && nm.len == 3 && !*has_tag) {
            const unsigned char *b = (const unsigned char *)base + nm.off;
            /* OR-ing 0x20 maps only 'T'/'t', 'A'/'a', 'G'/'g' onto t, a, g */
            if ((b[0] | 0x20) == 't' && (b[1] | 0x20) == 'a' && (b[2] | 0x20) == 'g') {
                *tag = val;
                *has_tag = 1;
                *tag_kind = kind;
            }
        }
    }
    if (r < 0) return sd_error_set(err, SD_EPARSE, bad, "name-addr: malformed header parameter");
    size_t s = i + 1;
    while (s < n && SD_IS(p[s], SD_C_LWS)) s++;
    out->params = mkspan(o + s, n - s);
    return SD_OK;
}

/* sd_nameaddr_parse, with the "tag" parameter found on the way when `tag`
 * is not NULL (*has_tag is then 0 or 1). */
static inline sd_err nameaddr_parse(const char *base, sd_span v, int allow_star, sd_nameaddr *out,
                                    sd_span *tag, int *has_tag, int *tag_kind, sd_error *err)
{
    memset(out, 0, sizeof *out);
    if ((uint64_t)v.off + v.len > UINT32_MAX)
        return sd_error_set(err, SD_EPARSE, v.off, "name-addr: span out of range");
    const char *p = base + v.off;
    size_t o = v.off, i = 0, e = v.len;
    while (i < e && SD_IS(p[i], SD_C_LWS)) i++;
    while (e > i && SD_IS(p[e - 1], SD_C_LWS)) e--;
    out->display = mkspan(o + i, 0);
    out->params = mkspan(o + e, 0);
    if (i == e) return sd_error_set(err, SD_EPARSE, o + i, "name-addr: empty value");
    if (e - i == 1 && p[i] == '*') {
        if (!allow_star) return sd_error_set(err, SD_EPARSE, o + i, "name-addr: '*' not allowed here");
        out->is_star = 1;
        out->uri = mkspan(o + i, 1);
        return SD_OK;
    }

    int angle = 0;
    if (p[i] == '"') {
        /* plain qdtext up to the closing quote (no SP, HT, '\\', DEL or
         * other control before it) needs no octet-wise scan */
        size_t bad = 0, q, z = sd_find_from(p, i + 1, e, '"', '\\', 0x7f, 1);
        q = z < e && p[z] == '"' ? z + 1 - i : sd_quoted_scan(p + i, e - i, &bad);
        if (q == 0) {
            if (i + bad >= e)
                return sd_error_set(err, SD_EPARSE, o + i, "display-name: unterminated quoted-string");
            return sd_error_set(err, SD_EPARSE, o + i + bad, "display-name: invalid octet in quoted-string");
        }
        out->display = mkspan(o + i + 1, q - 2);
        out->quoted_display = 1;
        i += q;
        while (i < e && SD_IS(p[i], SD_C_LWS)) i++;
        if (i == e || p[i] != '<')
            return sd_error_set(err, SD_EPARSE, o + i, "name-addr: expected '<' after display-name");
        angle = 1;
    } else {
        size_t j = i + sd_span_class(p + i, e - i, SD_C_TOKEN | SD_C_LWS);
        if (j < e && p[j] == '<') {
            size_t de = j;
            while (de > i && SD_IS(p[de - 1], SD_C_LWS)) de--;
            out->display = mkspan(o + i, de - i);
            i = j;
            angle = 1;
        } else if (j < e && stray_laquot(p, j, e)) {
            return sd_error_set(err, SD_EPARSE, o + j,
                                "display-name: character not allowed outside a quoted-string");
        }
    }

    size_t us = i, ue;
    if (angle) {
        us = ++i;
        for (;;) {
            /* jump to the next '>', '<' or octet <= SP; other controls
             * are left to the URI parser */
            i = sd_find_from(p, i, e, '>', '<', '>', 1);
            if (i == e) return sd_error_set(err, SD_EPARSE, o + us - 1, "name-addr: missing '>'");
            if (p[i] == '>') break;
            if (SD_IS(p[i], SD_C_LWS)) return sd_error_set(err, SD_EPARSE, o + i, "name-addr: LWS inside <>");
            if (p[i] == '<') return sd_error_set(err, SD_EPARSE, o + i, "name-addr: '<' inside <>");
            i++;
        }
        ue = i++;
        out->has_brackets = 1;
    } else {
        /* addr-spec: the URI ends at the first ';' (header parameters follow)
         * or LWS; RFC 3261 20.10 wants name-addr for URIs with '?' or ',' */
        for (;;) {
            i = sd_find_from(p, i, e, ';', '?', ',', 1);
            if (i == e || p[i] == ';' || SD_IS(p[i], SD_C_LWS)) break;
            if (p[i] == '?' || p[i] == ',')
                return sd_error_set(err, SD_EPARSE, o + i,
                                    "addr-spec: URI with '%c' must be enclosed in <>", p[i]);
            i++;
        }
        ue = i;
    }
    if (!uri_shape_ok(p + us, ue - us))
        return sd_error_set(err, SD_EPARSE, o + us, "name-addr: URI needs scheme ':' and a body");
    out->uri = mkspan(o + us, ue - us);

    while (i < e && SD_IS(p[i], SD_C_LWS)) i++;
    if (i == e) return SD_OK;
    if (p[i] != ';') return sd_error_set(err, SD_EPARSE, o + i, "name-addr: unexpected character after URI");
    return params_check(base, o, p, i, e, out, tag, has_tag, tag_kind, err);
}

sd_err sd_nameaddr_parse(const char *base, sd_span v, int allow_star, sd_nameaddr *out,
                         sd_error *err)
{
    return nameaddr_parse(base, v, allow_star, out, NULL, NULL, NULL, err);
}

sd_err sd_nameaddr_parse_tag(const char *base, sd_span v, sd_nameaddr *out, sd_span *tag,
                             int *has_tag, int *tag_kind, sd_error *err)
{
    *has_tag = 0;
    return nameaddr_parse(base, v, 0, out, tag, has_tag, tag_kind, err);
}
