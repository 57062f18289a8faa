/*
 * fuzz_diff_msg.c - differential harness: the message parser of an earlier
 * revision (symbols renamed old_*) against the working tree. Every result
 * must match: return code, error code, offset and reason, every sd_msg field
 * and header entry, and stream framing, under varied flags and limits (the
 * first input byte picks them). Built and run by fuzz/diff/run.sh.
 */
#include "sipdialog/msg.h"
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sd_err old_sd_msg_parse(const char *, size_t, const sd_parse_opts *, sd_msg *, sd_header *, size_t, sd_error *);
sd_err old_sd_msg_frame(const char *, size_t, const sd_limits *, size_t *, size_t *, sd_error *);

static void fail(const char *what, const uint8_t *d, size_t n)
{
    fprintf(stderr, "MISMATCH %s on input (%zu): ", what, n);
    for (size_t i = 0; i < n; i++) fprintf(stderr, (d[i] >= 32 && d[i] < 127) ? "%c" : "\\x%02x", d[i]);
    fprintf(stderr, "\n");
    abort();
}
#define CHK(c, what) do { if (!(c)) fail(what, data, size); } while (0)
#define CAP 600
static sd_header ha[CAP], hb[CAP];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned mode = data[0];
    size_t n = size - 1;
    char *p = malloc(n ? n : 1);
    memcpy(p, data + 1, n);
    sd_parse_opts o;
    sd_parse_opts_default(&o);
    o.flags = 0;
    if (mode & 1) o.flags |= SD_PARSE_CHECK_URIS;
    if (mode & 2) o.flags |= SD_PARSE_RFC2543;
    if (mode & 4) o.flags |= SD_PARSE_STREAM;
    if (mode & 8) {
        o.limits.max_via = 3 + (mode >> 5);
        o.limits.max_headers = 4 + (mode >> 4);
        o.limits.max_tag = 5 + (mode >> 5);
        o.limits.max_call_id = 6 + (mode >> 5);
        o.limits.max_uri = 10 + (mode >> 4);
        o.limits.max_header_line = 20 + (mode >> 3) * 3;
        o.limits.max_message = 60 + (mode >> 2) * 20;
        o.limits.max_body = (mode >> 4) * 3;
    }
    size_t cap = (mode & 16) ? 7 : CAP;
    sd_msg ma, mb;
    sd_error ea, eb;
    memset(&ea, 0, sizeof ea);
    memset(&eb, 0, sizeof eb);
    sd_err a = sd_msg_parse(p, n, &o, &ma, ha, cap, &ea);
    sd_err b = old_sd_msg_parse(p, n, &o, &mb, hb, cap, &eb);
    CHK(a == b, "rc");
    if (a != SD_OK) {
        CHK(ea.code == eb.code, "err code");
        if (ea.offset != eb.offset) { fprintf(stderr, "new %zu old %zu\n", (size_t)ea.offset, (size_t)eb.offset); fail("offset", data, size); }
        if (strcmp(ea.reason, eb.reason) != 0) {
            fprintf(stderr, "old: %s\nnew: %s\n", eb.reason, ea.reason);
            fail("err reason", data, size);
        }
    } else {
        CHK(memcmp(&ma, &mb, offsetof(sd_msg, first)) == 0, "msg fields");
        CHK(memcmp(ma.first, mb.first, sizeof ma.first) == 0, "first");
        CHK(ma.nhdrs == mb.nhdrs, "nhdrs");
        CHK(memcmp(ha, hb, ma.nhdrs * sizeof ha[0]) == 0, "hdrs");
    }
    size_t sa = 0, sb = 0, la = 0, lb = 0;
    a = sd_msg_frame(p, n, &o.limits, &sa, &la, &ea);
    b = old_sd_msg_frame(p, n, &o.limits, &sb, &lb, &eb);
    CHK(a == b && sa == sb && (a != SD_OK || la == lb), "frame");
    free(p);
    return 0;
}
