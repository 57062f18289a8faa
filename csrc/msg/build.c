/*
 * build.c - the serializer: growable buffers and messages built from parts.
 * Every part is checked before anything is written, so a value can never
 * smuggle in a second header line or a start line.
 */
#include "sipdialog/msg.h"
#include "msg/build.h"
#include "base/chars.h"
#include "sipdialog/validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sd_buf_init(sd_buf *b)
{
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

void sd_buf_free(sd_buf *b)
{
    free(b->p);
    sd_buf_init(b);
}

/* Make room for `extra` more bytes plus a NUL. */
static sd_err buf_reserve(sd_buf *b, size_t extra)
{
    if (b->failed) return SD_ENOMEM;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->failed = 1;
        return SD_ENOMEM;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return SD_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    char *np = realloc(b->p, cap);
    if (np == NULL) {
        b->failed = 1;
        return SD_ENOMEM;
    }
    b->p = np;
    b->cap = cap;
    return SD_OK;
}

sd_err sd_buf_append(sd_buf *b, const char *p, size_t len)
{
    if (buf_reserve(b, len) != SD_OK) return SD_ENOMEM;
    if (len) memcpy(b->p + b->len, p, len);
    b->len += len;
    b->p[b->len] = '\0';
    return SD_OK;
}

sd_err sd_buf_appendf(sd_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) != SD_OK) {
        b->failed = 1;
        return SD_ENOMEM;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SD_OK;
}

/* Offset of the first octet of p[0..len) outside `cls`, or len. */
static size_t first_not(const char *p, size_t len, unsigned cls)
{
    for (size_t i = 0; i < len; i++)
        if (!SD_IS(p[i], cls)) return i;
    return len;
}

/* Offset of the first CTL other than HT, or len. */
static size_t first_ctl(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (SD_IS(p[i], SD_C_CTL)) return i;
    return len;
}

/* Offset of the first CTL of p[0..len) that is not the second octet of a
 * quoted-pair inside a quoted-string, or that is CR or LF; len when none. */
static size_t first_ctl_outside_qp(const char *p, size_t len)
{
    int inq = 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '\r' || c == '\n') return i;
        if (inq && c == '\\' && i + 1 < len) {
            if (p[i + 1] == '\r' || p[i + 1] == '\n') return i + 1;
            i++;
            continue;
        }
        if (c == '"') inq = !inq;
        else if (SD_IS(c, SD_C_CTL)) return i;
    }
    return len;
}

/* 1 when v is 1*DIGIT (RFC 3261 20.14; leading zeros allowed) with the
 * value `len`; compared digit by digit, so no value overflows. */
static int cl_equals(sd_str v, size_t len)
{
    size_t acc = 0, i = 0;
    if (v.len == 0) return 0;
    while (i < v.len && v.p[i] == '0') i++;
    for (; i < v.len; i++) {
        unsigned d = (unsigned)(unsigned char)v.p[i] - '0';
        /* not a digit, or acc * 10 + d above len (acc * 10 <= len once
         * acc <= len / 10, so nothing wraps) */
        if (d > 9 || acc > len / 10 || len - acc * 10 < d) return 0;
        acc = acc * 10 + d;
    }
    return acc == len;
}

/* Decimal digits of v into the end of buf[0..20); returns the start. */
static char *utoa_end(char *end, size_t v)
{
    char *p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

sd_err sd_msg_build(sd_buf *out, sd_str method, sd_str ruri, int status, sd_str reason, const sd_str *names,
                    const sd_str *values, const uint8_t *copied, size_t n, const char *body, size_t body_len,
                    sd_error *err)
{
    /* public callers can only say "copied": trusted parts are the core's */
    if (copied)
        for (size_t i = 0; i < n; i++)
            if (copied[i] > SD_BUILD_COPIED) return sd_error_set(err, SD_EINVAL, 0, "bad copied flag");
    return sd_msg_build_ex(out, method, ruri, status, reason, names, values, copied, n, body, body_len, 0, err);
}

sd_err sd_msg_build_ex(sd_buf *out, sd_str method, sd_str ruri, int status, sd_str reason, const sd_str *names,
                       const sd_str *values, const uint8_t *copied, size_t n, const char *body, size_t body_len,
                       unsigned flags, sd_error *err)
{
    size_t i, k;
    /* check every part first */
    if (status == 0 && (flags & SD_BUILD_TRUSTED_RURI)) {
        if (method.len == 0) return sd_error_set(err, SD_EVALID, 0, "method is not a token");
    } else if (status == 0) {
        if (method.len == 0 || (k = first_not(method.p, method.len, SD_C_TOKEN)) < method.len)
            return sd_error_set(err, SD_EVALID, method.len ? k : 0, "method is not a token");
        if (ruri.len > 0xffffffffu)
            return sd_error_set(err, SD_EVALID, 0, "Request-URI longer than %u bytes", 0xffffffffu);
        sd_uri u;
        if (sd_uri_parse(ruri.p, (sd_span){0, (uint32_t)ruri.len}, 0, &u, err) != SD_OK) {
            if (err) err->code = SD_EVALID;
            return SD_EVALID;
        }
    } else {
        if (status < 100 || status > 699) return sd_error_set(err, SD_EVALID, 0, "status code %d outside 100..699", status);
        if ((k = first_ctl(reason.p, reason.len)) < reason.len)
            return sd_error_set(err, SD_EVALID, k, "control octet 0x%02x in reason phrase", (unsigned char)reason.p[k]);
    }
    /* every name and value passes the validators of the pipeline: names are
     * tokens, values carry no CTL (so no CR, LF or NUL: no header injection) */
    static const sd_validator v_token = {SD_V_TOKEN, 0}, v_value = {SD_V_HEADER_VALUE, 0};
    for (i = 0; i < n; i++) {
        sd_error ve;
        if (copied && copied[i] == SD_BUILD_TRUSTED) continue; /* made by the core from checked parts */
        if (sd_validate(&v_token, names[i].p, names[i].len, &ve) != SD_OK)
            return sd_error_set(err, SD_EVALID, ve.offset, "header name #%zu: %s", i + 1, ve.reason);
        if (copied && copied[i]) {
            if ((k = first_ctl_outside_qp(values[i].p, values[i].len)) < values[i].len)
                return sd_error_set(err, SD_EVALID, k, "value of %.*s: control octet 0x%02x outside a quoted-pair",
                                    (int)(names[i].len > 64 ? 64 : names[i].len), names[i].p,
                                    (unsigned char)values[i].p[k]);
        } else if (sd_validate(&v_value, values[i].p, values[i].len, &ve) != SD_OK) {
            return sd_error_set(err, SD_EVALID, ve.offset, "value of %.*s: %s",
                                (int)(names[i].len > 64 ? 64 : names[i].len), names[i].p, ve.reason);
        }
        if (sd_hdr_lookup(names[i].p, names[i].len) == SD_H_CONTENT_LENGTH && !cl_equals(values[i], body_len))
            return sd_error_set(err, SD_EVALID, 0, "Content-Length '%.*s' differs from the body length %zu",
                                (int)(values[i].len > 24 ? 24 : values[i].len), values[i].p, body_len);
    }
    /* one allocation for the whole message (an upper bound of its size),
     * then plain copies */
    size_t total = method.len + ruri.len + reason.len + 64 + body_len;
    for (i = 0; i < n; i++) total += names[i].len + values[i].len + 4;
    if (buf_reserve(out, total) != SD_OK) return sd_error_set(err, SD_ENOMEM, 0, "out of memory");
    char *w = out->p + out->len;
#define PUT(p_, n_) (memcpy(w, (p_), (n_)), w += (n_))
    if (status == 0) {
        PUT(method.p, method.len);
        *w++ = ' ';
        PUT(ruri.p, ruri.len);
        PUT(" SIP/2.0\r\n", 10);
    } else {
        char sl[13] = {'S', 'I', 'P', '/', '2', '.', '0', ' ', (char)('0' + status / 100),
                       (char)('0' + status / 10 % 10), (char)('0' + status % 10), ' ', 0};
        PUT(sl, 12);
        PUT(reason.p, reason.len);
        PUT("\r\n", 2);
    }
    for (i = 0; i < n; i++) {
        /* every Content-Length is written once, below, from the body length
         * (trusted parts are never one) */
        if ((!copied || copied[i] != SD_BUILD_TRUSTED) &&
            sd_hdr_lookup(names[i].p, names[i].len) == SD_H_CONTENT_LENGTH)
            continue;
        PUT(names[i].p, names[i].len);
        PUT(": ", 2);
        PUT(values[i].p, values[i].len);
        PUT("\r\n", 2);
    }
    char num[24], *np = utoa_end(num + sizeof num, body_len);
    PUT("Content-Length: ", 16);
    PUT(np, (size_t)(num + sizeof num - np));
    PUT("\r\n\r\n", 4);
    if (body_len) PUT(body, body_len);
#undef PUT
    out->len = (size_t)(w - out->p);
    out->p[out->len] = '\0';
    return SD_OK;
}
