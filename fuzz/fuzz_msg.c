/*
 * fuzz_msg - libFuzzer target for the sipdialog message parser.
 *
 * Every input is parsed in datagram mode, in stream mode and in RFC 2543
 * mode, and framed with sd_msg_frame. For each parsed message every span is
 * checked to lie within the message, every header value is split with
 * sd_list_next and its elements walked with sd_param_next, the Request-URI
 * is parsed with sd_uri_parse, every From/To/Contact/Route/Record-Route
 * element with sd_nameaddr_parse (and its URI with sd_uri_parse), and every
 * Via element with sd_via_parse.
 */
#include "fuzz_common.h"

#define HDR_CAP 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void item_params(const char *base, sd_span item, void *ctx)
{
    (void)ctx;
    /* arbitrary spans must be handled safely, whatever they hold */
    walk_params(base, item, 0);
}

static void item_nameaddr(const char *base, sd_span item, void *ctx)
{
    const sd_parse_opts *o = ctx;
    sd_nameaddr na;
    (void)check_nameaddr(base, item, 1, o->limits.max_uri, &na);
}

static void item_via(const char *base, sd_span item, void *ctx)
{
    sd_via via;
    (void)ctx;
    (void)check_via(base, item, &via);
}

static void check_msg(const char *buf, size_t len, const sd_parse_opts *o, const sd_msg *m)
{
    size_t end = len;

    FUZZ_CHECK((size_t)m->msg_start + m->msg_len <= len);
    FUZZ_CHECK(m->hdrs != NULL || m->nhdrs == 0);
    FUZZ_CHECK(m->nhdrs <= o->limits.max_headers);
    if (m->is_request) {
        CHECK_SPAN(m->method, 0, end);
        CHECK_SPAN(m->ruri, 0, end);
        FUZZ_CHECK(m->method.len > 0 && m->ruri.len > 0);
    } else {
        FUZZ_CHECK(m->status >= 100 && m->status <= 699);
        CHECK_SPAN(m->reason, 0, end);
    }
    CHECK_SPAN(m->call_id, 0, end);
    CHECK_SPAN(m->from_tag, 0, end);
    CHECK_SPAN(m->to_tag, 0, end);
    CHECK_SPAN(m->cseq_method, 0, end);
    CHECK_SPAN(m->via_branch, 0, end);
    CHECK_SPAN(m->body, 0, end);
    FUZZ_CHECK(m->has_from_tag || m->from_tag.len == 0);
    FUZZ_CHECK(m->has_to_tag || m->to_tag.len == 0);
    FUZZ_CHECK(m->cseq < 0x80000000u);
    FUZZ_CHECK(m->max_forwards >= -1);
    FUZZ_CHECK(m->content_length >= -1);
    if (m->content_length >= 0)
        FUZZ_CHECK((uint64_t)m->body.len == (uint64_t)m->content_length);
    FUZZ_CHECK((size_t)m->body.off + m->body.len == (size_t)m->msg_start + m->msg_len);
    FUZZ_CHECK(m->via_count <= o->limits.max_via);

    for (int id = 0; id < SD_H__COUNT; id++) {
        int first = m->first[id];
        FUZZ_CHECK(first >= -1 && first < (int)m->nhdrs);
        if (first >= 0)
            FUZZ_CHECK(m->hdrs[first].id == id);
        if (first >= 0 && id != SD_H_OTHER)
            FUZZ_CHECK(sd_msg_next(m, (sd_hdr_id)id, -1) == first);
    }
    for (uint32_t i = 0; i < m->nhdrs; i++) {
        const sd_header *h = &m->hdrs[i];
        CHECK_SPAN(h->name, 0, end);
        CHECK_SPAN(h->value, 0, end);
        FUZZ_CHECK(h->name.len > 0);
        FUZZ_CHECK(h->id < SD_H__COUNT);
        FUZZ_CHECK(sd_hdr_lookup(buf + h->name.off, h->name.len) == h->id);
        if (h->flags & SD_HF_FOLDED) {
            char *tmp = malloc(h->value.len ? h->value.len : 1);
            FUZZ_CHECK(tmp != NULL);
            FUZZ_CHECK(sd_unfold(buf + h->value.off, h->value.len, tmp) <= h->value.len);
            free(tmp);
        }
        FUZZ_CHECK(sd_msg_find_name(m, buf, buf + h->name.off, h->name.len, (int)i - 1) == (int)i);
        walk_list(buf, h->value, item_params, NULL);
        switch (h->id) {
        case SD_H_FROM:
        case SD_H_TO:
        case SD_H_CONTACT:
        case SD_H_ROUTE:
        case SD_H_RECORD_ROUTE:
            walk_list(buf, h->value, item_nameaddr, (void *)o);
            break;
        case SD_H_VIA:
            walk_list(buf, h->value, item_via, NULL);
            break;
        default:
            break;
        }
    }
    if (m->is_request) {
        sd_uri u;
        (void)check_uri(buf, m->ruri, o->limits.max_uri, &u);
    }
}

static void parse_one(const char *buf, size_t len, unsigned flags, sd_header *hdrs)
{
    sd_parse_opts o;
    sd_msg m;
    sd_error err;
    sd_err rc;

    sd_parse_opts_default(&o);
    o.flags = flags;
    memset(&err, 0, sizeof err);
    rc = sd_msg_parse(buf, len, &o, &m, hdrs, HDR_CAP, &err);
    FUZZ_CHECK(rc == SD_OK || rc == SD_EPARSE || rc == SD_ELIMIT);
    if (rc == SD_OK) {
        FUZZ_CHECK(m.hdrs == hdrs);
        check_msg(buf, len, &o, &m);
        if (flags & SD_PARSE_STREAM)
            FUZZ_CHECK(m.content_length >= 0);
    } else {
        FUZZ_CHECK(err.code == rc);
        FUZZ_CHECK(err.offset == SIZE_MAX || err.offset <= len);
        FUZZ_CHECK(memchr(err.reason, '\0', sizeof err.reason) != NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sd_header hdrs[HDR_CAP];
    const char *buf = (const char *)data;
    sd_limits lim;
    size_t skip = 0, mlen = 0;
    sd_error err;
    sd_err rc;

    if (size > 0x100000)
        return 0;
    parse_one(buf, size, 0, hdrs);
    parse_one(buf, size, SD_PARSE_STREAM, hdrs);
    parse_one(buf, size, SD_PARSE_RFC2543, hdrs);

    sd_limits_default(&lim);
    rc = sd_msg_frame(buf, size, &lim, &skip, &mlen, &err);
    FUZZ_CHECK(rc == SD_OK || rc == SD_EAGAIN || rc == SD_EPARSE || rc == SD_ELIMIT);
    if (rc == SD_OK) {
        FUZZ_CHECK(skip <= size && mlen <= size - skip);
        FUZZ_CHECK(mlen > 0);
        /* the framed message, alone in its own allocation, parses in stream
         * mode or fails cleanly */
        char *copy = malloc(mlen);
        FUZZ_CHECK(copy != NULL);
        memcpy(copy, buf + skip, mlen);
        parse_one(copy, mlen, SD_PARSE_STREAM, hdrs);
        free(copy);
    }
    return 0;
}
