/*
 * dialog.c - the dialog object: creation, receiving, building requests and
 * responses, snapshots (RFC 3261 12, 13, 14, 15).
 *
 * Layout: the fixed part below plus one string arena (Call-ID, the From/To
 * values with their tags, both targets, the route set) rebuilt in one
 * allocation whenever a string changes (the remote tag, target or route
 * set: a handful of times in a dialog's life). Spans into the arena are
 * 16-bit; the arena is at most 65535 bytes.
 *
 * Locking: `lock` guards every field but `refs` and `local_seq` (atomics).
 * It is never held while a listener runs or while waiting for anything but
 * memory. Requests and responses are built under it, so that a message and
 * the state change it causes are one step.
 */
#include "sipdialog/dialog.h"
#include "base/intern.h"
#include "base/sync.h"
#include "msg/build.h"
#include "sipdialog/validate.h"
#include "store/link.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * String slots. What is this dialog's alone (the Call-ID and the two tags)
 * lives in its arena; the rest is shared (base/intern.h): the From and To
 * values with the tag's value cut out, both targets and the route set are
 * the same for every dialog between the same two user agents through the
 * same proxies, so a million dialogs keep one copy of each. A header's tag
 * span (d->ltag, d->rtag) says where its tag goes back in: the full value
 * is shared[0..off) + tag + shared[off..), exactly as received.
 */
enum {
    SL_CALL_ID, SL_LOCAL_TAG, SL_REMOTE_TAG, SL__ARENA,
    SL_LOCAL_HDR = SL__ARENA, SL_REMOTE_HDR, SL_LOCAL_TARGET, SL_REMOTE_TARGET, SL_ROUTES, SL__N
};
#define NSHARED (SL__N - SL__ARENA)

#define ARENA_MAX 65535u
#define SEQ_SET ((uint64_t)1 << 40) /* local_seq: a value has been chosen */
#define SEQ_MAX 0x7fffffffu         /* CSeq numbers stay below 2**31 (RFC 3261 8.1.1.5) */
#define NO_METHOD 0xff              /* create_method of a restored dialog: no creating request */

/* flags */
enum {
    F_CLOSED = 1u << 0,
    F_SECURE = 1u << 1,
    F_REMOTE_SEQ = 1u << 2,
    F_INV_OUT = 1u << 3,  /* our INVITE in progress (no final response yet) */
    F_INV_IN = 1u << 4,   /* their INVITE in progress (we sent no final response) */
    F_ACK_OUT = 1u << 5,  /* we received a 2xx to INVITE and sent no ACK yet */
    F_ACK_IN = 1u << 6,   /* we sent a 2xx to INVITE and got no ACK yet */
    F_GOT_1XX = 1u << 7,  /* UAC: some provisional response arrived (CANCEL may go) */
    F_STRICT = 1u << 8    /* the first route is a strict router (RFC 3261 12.2.1.1) */
};

typedef struct span16 {
    uint16_t off, len;
} span16;

/* A history entry, packed: from (3 bits), to (3), event (4), method (4),
 * status (10), then microseconds since created_at (40 bits: 12 days; later
 * entries say 12 days). The history is kept at microsecond precision. */
typedef uint64_t hent;
#define HENT_US_MAX ((1ull << 40) - 1)

/* A request kept for later (our creating INVITE for CANCEL, or the request
 * we must answer): its bytes, its parse, one allocation. */
typedef struct kept {
    sd_msg m;
    size_t size;
    sd_header h[]; /* m.nhdrs headers, then the message bytes */
} kept;

#define KEPT_BUF(k) ((const char *)((k)->h + (k)->m.nhdrs))

/* What the CANCEL of one of our INVITEs needs (RFC 3261 9.1): its
 * Request-URI, top Via, To and Route values and CSeq number; one
 * allocation, the strings one after the other (the Route values
 * separated by '\n', which no unfolded value holds). */
typedef struct cinfo {
    size_t size;
    uint32_t cseq;
    uint16_t ruri, via, to, routes;
    char s[];
} cinfo;

struct sd_dialog {
    /* first cache line: what a store look-up reads (the arena and its
     * slots: Call-ID and both tags, adjacent in the arena) */
    _Atomic uint32_t refs;
    sd_lock lock;
    char *arena;
    span16 slot[SL__ARENA];
    _Atomic uint32_t seq_first; /* the first local number (0: unknown, after restore) */
    _Atomic uint64_t local_seq; /* SEQ_SET | last number used */
    const sd_dlg_env *env;
    sd_istr *shared[NSHARED]; /* NULL: empty */
    span16 ltag, rtag;          /* where each tag sits in its full header value */
    uint16_t arena_len;
    uint16_t flags;
    uint8_t state, role, create_method, last_method;
    uint16_t nhist, histcap; /* history entries; inline while histcap is 2 */
    uint32_t remote_seq;
    uint32_t create_cseq;    /* CSeq of the creating request */
    uint32_t inv_cseq_out;   /* CSeq of our last INVITE */
    uint32_t inv_cseq_in;    /* CSeq of their last INVITE */
    uint32_t ack_cseq_out;   /* our latest INVITE that got a 2xx: the ACK F_ACK_OUT waits for */
    uint32_t last_branch;    /* hash of the top Via branch of the last request received */
    uint32_t create_branch;  /* UAS: hash of the creating request's branch */
    uint32_t branch_ctr;     /* requests built: one branch each */
    uint32_t src;            /* the store's admission slot (store/link.h) */
    union {
        hent *heap;
        hent inl[2];
    } h;
    sd_dlg_listener lfn;
    void *lctx;
    int64_t created_at, last_activity;
    cinfo *creq; /* our pending INVITE, for its CANCEL */
    kept *sreq; /* UAS: the request to answer (creating request or re-INVITE) */
    sd_dlg_link link; /* the store's (store/link.h) */
};

/* Pending listener calls of one operation (at most two transitions). */
typedef struct fired {
    int n;
    sd_dlg_transition t[2];
} fired;

/* ---------------------------------------------------------------- utils */

static sd_str S(const char *p, size_t len)
{
    return (sd_str){p, len};
}

static sd_str slot_str(const sd_dialog *d, int s)
{
    if (s >= SL__ARENA) {
        const sd_istr *x = d->shared[s - SL__ARENA];
        return x ? S(x->s, x->len) : S("", 0);
    }
    return S(d->arena + d->slot[s].off, d->slot[s].len);
}

/* Our tag (w = 0) or the remote tag (w = 1); len 0 when unknown. */
static sd_str tag_str(const sd_dialog *d, int w)
{
    return d->arena ? slot_str(d, SL_LOCAL_TAG + w) : S("", 0);
}

/* Room for a full From/To value: on the stack when it fits. */
typedef struct hbuf {
    char st[512];
    char *heap;
} hbuf;

/* The full From (w = 0) or To (w = 1) value, with its tag; into b. NULL
 * .p when out of memory. */
static sd_str hdr_full(const sd_dialog *d, int w, hbuf *b)
{
    sd_str sh = slot_str(d, SL_LOCAL_HDR + w), tag = tag_str(d, w);
    span16 at = w ? d->rtag : d->ltag;
    size_t n = sh.len + tag.len;
    char *o = b->st;
    b->heap = NULL;
    if (tag.len == 0) return sh;
    if (n > sizeof b->st && (o = b->heap = malloc(n)) == NULL) return S(NULL, 0);
    memcpy(o, sh.p, at.off);
    memcpy(o + at.off, tag.p, tag.len);
    memcpy(o + at.off + tag.len, sh.p + at.off, sh.len - at.off);
    return S(o, n);
}

static int str_eq(sd_str a, const char *p, size_t len)
{
    return a.len == len && (len == 0 || memcmp(a.p, p, len) == 0);
}

static int span_eq(const char *buf, sd_span s, sd_str b)
{
    return str_eq(b, buf + s.off, s.len);
}

/* FNV-1a of a branch: only compared with the same dialog's last one. */
static uint64_t hash64(const char *p, size_t len);
static uint32_t branch_hash(const char *buf, sd_span b)
{
    return b.len ? (uint32_t)(hash64(buf + b.off, b.len) >> 32) | 1 : 0;
}

static uint64_t hash64(const char *p, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h | 1; /* 0 means "none" */
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void hex(char *out, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
}

/* Put a prefix before the reason an inner call left in *err (the inner
 * reason is copied first: it cannot be an argument of the call that
 * overwrites it). `keep_offset`: keep the inner offset, else none. */
static sd_err rewrap(sd_error *err, sd_err code, int keep_offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static sd_err rewrap(sd_error *err, sd_err code, int keep_offset, const char *fmt, ...)
{
    if (err == NULL) return code;
    char inner[SD_REASON_MAX], prefix[SD_REASON_MAX];
    memcpy(inner, err->reason, sizeof inner);
    inner[sizeof inner - 1] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    return sd_error_set(err, code, keep_offset ? err->offset : SIZE_MAX, "%s: %s", prefix, inner);
}

static int64_t now(const sd_dialog *d)
{
    return d->env->now(d->env->now_ctx);
}

void sd_dlg_env_default(sd_dlg_env *env)
{
    sd_parse_opts_default(&env->parse);
    env->now = sd_monotonic_ns;
    env->now_ctx = NULL;
    env->random = sd_os_random;
    env->random_ctx = NULL;
    env->branch_key = 0;
    env->strings = NULL;
    if (sd_os_random(NULL, &env->branch_key, sizeof env->branch_key) != SD_OK)
        env->branch_key = (uint64_t)sd_monotonic_ns(NULL) * 0x9e3779b97f4a7c15ull;
}

/* The unfolded value of header `i` of m: *val points into buf when the
 * header is not folded (*own NULL), else into a malloc'd copy (*own, which
 * the caller frees). */
static sd_err header_value(const char *buf, const sd_msg *m, int i, const char **val, size_t *len, char **own,
                           sd_error *err)
{
    const sd_header *h = &m->hdrs[i];
    *own = NULL;
    if (!(h->flags & SD_HF_FOLDED)) {
        *val = buf + h->value.off;
        *len = h->value.len;
        return SD_OK;
    }
    char *p = malloc(h->value.len + 1);
    if (p == NULL) return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    *len = sd_unfold(buf + h->value.off, h->value.len, p);
    *val = *own = p;
    return SD_OK;
}

/*
 * The URI and the header parameters of a name-addr or addr-spec value that
 * the parser checked against its grammar (RFC 3261 20.10): past a display
 * name (tokens or a quoted-string) to '<' ... '>', or, in addr-spec form,
 * up to the first ';' or LWS. A cheap scan, not a check. 0 when the shape
 * is not there (the caller then takes the checking path).
 */
static int locate_addr(const char *v, size_t len, sd_nameaddr *na)
{
    size_t i = 0, lt = SIZE_MAX;
    while (i < len && (v[i] == ' ' || v[i] == '\t')) i++;
    for (size_t j = i; j < len; j++) {
        char c = v[j];
        if (c == '"') {
            for (j++; j < len && v[j] != '"'; j++)
                if (v[j] == '\\') j++;
            continue;
        }
        if (c == '<') {
            lt = j;
            break;
        }
        if (c == ';' || c == ',') break;
    }
    size_t e, us;
    if (lt != SIZE_MAX) {
        const char *gt = memchr(v + lt + 1, '>', len - lt - 1);
        if (gt == NULL) return 0;
        us = lt + 1;
        e = (size_t)(gt - v);
        na->has_brackets = 1;
        na->uri = (sd_span){(uint32_t)us, (uint32_t)(e - us)};
        e++;
    } else {
        us = i;
        for (e = i; e < len && v[e] != ';' && v[e] != ' ' && v[e] != '\t'; e++) {
        }
        na->has_brackets = 0;
        na->uri = (sd_span){(uint32_t)us, (uint32_t)(e - us)};
    }
    while (e < len && v[e] != ';') e++;
    na->params = e < len ? (sd_span){(uint32_t)e + 1, (uint32_t)(len - e - 1)} : (sd_span){(uint32_t)len, 0};
    na->is_star = na->uri.len == 1 && v[na->uri.off] == '*';
    return na->uri.len > 0;
}

/* 1 for a URI that starts "sip:" or "sips:" (any case). */
static int sip_scheme(const char *p, size_t len)
{
    if (len < 4 || (p[0] | 32) != 's' || (p[1] | 32) != 'i' || (p[2] | 32) != 'p') return 0;
    return p[3] == ':' || (len > 4 && (p[3] | 32) == 's' && p[4] == ':');
}

/* Locate the URI and the tag of a From/To value v[0..len): spans relative
 * to v. A missing tag gives len 0. `checked`: the parser checked the URI
 * already (SD_PARSE_CHECK_URIS), so it is located, not parsed again. */
static sd_err addr_parts(const char *v, size_t len, const sd_limits *lim, int checked, const sd_span *hint,
                         span16 *tag, int need_tag, const char *what, sd_error *err)
{
    sd_nameaddr na;
    sd_uri u;
    sd_span vs = {0, (uint32_t)len};
    if (checked && hint) {
        /* the parser checked the value and found its tag: nothing to do */
        if (need_tag && hint->len == 0) return sd_error_set(err, SD_EINVAL, SIZE_MAX, "%s has no tag", what);
        tag->off = (uint16_t)hint->off;
        tag->len = (uint16_t)hint->len;
        return SD_OK;
    }
    if (checked && locate_addr(v, len, &na)) {
        if (na.uri.len > lim->max_uri)
            return sd_error_set(err, SD_ELIMIT, SIZE_MAX, "%s URI longer than %u bytes", what, lim->max_uri);
    } else if (sd_nameaddr_parse(v, vs, 0, &na, err) != SD_OK) {
        return SD_EINVAL;
    } else if (sd_uri_parse(v, na.uri, lim->max_uri, &u, err) != SD_OK) {
        return rewrap(err, SD_EINVAL, 1, "%s URI", what);
    }
    sd_span t = {0, 0};
    int r = na.params.len ? sd_param_find(v, na.params, 0, "tag", 3, &t) : 0;
    if (r < 0) return sd_error_set(err, SD_EINVAL, na.params.off, "%s: malformed parameters", what);
    if (r == 0 || t.len == 0) {
        if (need_tag) return sd_error_set(err, SD_EINVAL, SIZE_MAX, "%s has no tag", what);
        t = (sd_span){0, 0};
    }
    tag->off = (uint16_t)t.off;
    tag->len = (uint16_t)t.len;
    return SD_OK;
}

/* Where the parser found a tag (`tag`, `has`: a span of buf) within the
 * value v[0..) of a header: a span relative to v, written to *out; NULL
 * when the value is a copy (folded) so the span does not apply. */
static const sd_span *tag_hint(const char *buf, const char *v, sd_span tag, int has, sd_span *out)
{
    if (v < buf || (has && buf + tag.off < v)) return NULL;
    if (!has) {
        *out = (sd_span){0, 0};
        return out;
    }
    *out = (sd_span){(uint32_t)(buf + tag.off - v), tag.len};
    return out;
}

/* The URI of the first element of the first Contact header of m: *out
 * points into buf or into *own (malloc'd, the caller frees; NULL when
 * nothing was copied). SD_ENOTFOUND when m has no Contact. */
static sd_err contact_uri(const char *buf, const sd_msg *m, const sd_limits *lim, const char **out, size_t *len,
                          char **own, sd_error *err)
{
    int i = m->first[SD_H_CONTACT];
    *own = NULL;
    if (i < 0) return SD_ENOTFOUND;
    const char *v;
    size_t vlen = 0;
    if (header_value(buf, m, i, &v, &vlen, own, err) != SD_OK) return SD_ENOMEM;
    uint32_t pos = 0;
    sd_span item;
    sd_nameaddr na;
    sd_uri u;
    int r = sd_list_next(v, (sd_span){0, (uint32_t)vlen}, &pos, &item);
    if (r != 1) {
        sd_error_set(err, SD_EINVAL, SIZE_MAX, "Contact is empty or malformed");
    } else if (m->uris_checked && locate_addr(v + item.off, item.len, &na)) {
        /* the parser checked the URI: locate it, check only the scheme */
        na.uri.off += item.off;
        if (na.uri.len > lim->max_uri) {
            sd_error_set(err, SD_ELIMIT, SIZE_MAX, "Contact URI longer than %u bytes", lim->max_uri);
            free(*own);
            *own = NULL;
            return SD_ELIMIT;
        } else if (na.is_star) {
            sd_error_set(err, SD_EINVAL, SIZE_MAX, "Contact '*' cannot be a remote target");
        } else if (!sip_scheme(v + na.uri.off, na.uri.len)) {
            sd_error_set(err, SD_EINVAL, SIZE_MAX, "Contact of a dialog must be a SIP or SIPS URI (RFC 3261 8.1.1.8)");
        } else {
            *out = v + na.uri.off;
            *len = na.uri.len;
            return SD_OK;
        }
    } else if (sd_nameaddr_parse(v, item, 1, &na, err) != SD_OK) {
        /* err filled */
    } else if (na.is_star) {
        sd_error_set(err, SD_EINVAL, SIZE_MAX, "Contact '*' cannot be a remote target");
    } else if (sd_uri_parse(v, na.uri, lim->max_uri, &u, err) != SD_OK) {
        rewrap(err, SD_EINVAL, 1, "Contact URI");
    } else if (u.scheme_id != SD_URI_SIP && u.scheme_id != SD_URI_SIPS) {
        sd_error_set(err, SD_EINVAL, SIZE_MAX, "Contact of a dialog must be a SIP or SIPS URI (RFC 3261 8.1.1.8)");
    } else {
        *out = v + na.uri.off;
        *len = na.uri.len;
        return SD_OK;
    }
    free(*own);
    *own = NULL;
    return SD_EINVAL;
}

/*
 * The Record-Route elements of m as one comma-separated route set, in
 * order or reversed (the UAC reverses, RFC 3261 12.1.2), written to
 * out[0..cap) (*len; SD_ELIMIT past cap). Each element must be a name-addr
 * with a SIP/SIPS URI: for a message whose URIs the parser checked, that
 * is a scan for the brackets and the scheme; else the URI is parsed.
 * *strict gets whether the first route of the set has no lr (12.2.1.1).
 */
static int first_route_strict(const char *routes, size_t len);
static int uri_strict(const char *u, size_t len);

#define ROUTES_STACK 1024

/* Room for m's route set: rs (ROUTES_STACK bytes on the caller's stack)
 * when it fits, else the heap (*own, freed by the caller). */
static char *routes_room(const sd_msg *m, char *rs, size_t *cap, char **own)
{
    size_t need = 1;
    for (int i = -1; (i = sd_msg_next(m, SD_H_RECORD_ROUTE, i)) >= 0;) need += m->hdrs[i].value.len + 1;
    *own = NULL;
    *cap = need;
    if (need <= ROUTES_STACK) return rs;
    return *own = malloc(need);
}

static sd_err route_set_of(const char *buf, const sd_msg *m, int reverse, const sd_limits *lim, char *out,
                           size_t cap, size_t *len, int *strict, sd_error *err)
{
    sd_str items[64], uris[64];
    size_t count = 0, total = 0;
    char *own[64];
    size_t nown = 0;
    sd_err rc = SD_OK;
    *len = 0;
    *strict = 0;
    for (int i = -1; (i = sd_msg_next(m, SD_H_RECORD_ROUTE, i)) >= 0;) {
        const char *v;
        size_t vlen;
        char *o;
        if (nown == 64) {
            rc = sd_error_set(err, SD_ELIMIT, SIZE_MAX, "more than 64 Record-Route entries");
            goto out;
        }
        if ((rc = header_value(buf, m, i, &v, &vlen, &o, err)) != SD_OK) goto out;
        if (o) own[nown++] = o;
        uint32_t pos = 0;
        sd_span it;
        int r;
        while ((r = sd_list_next(v, (sd_span){0, (uint32_t)vlen}, &pos, &it)) == 1) {
            sd_nameaddr na;
            sd_uri u;
            if (count == 64) {
                rc = sd_error_set(err, SD_ELIMIT, SIZE_MAX, "more than 64 Record-Route entries");
                goto out;
            }
            if (m->uris_checked && locate_addr(v + it.off, it.len, &na) && na.has_brackets) {
                /* the parser checked this name-addr and its URI */
                na.uri.off += it.off; /* relative to v, as sd_nameaddr_parse gives it */
                if (na.uri.len > lim->max_uri) {
                    rc = sd_error_set(err, SD_ELIMIT, SIZE_MAX, "Record-Route entry %zu longer than %u bytes",
                                      count + 1, lim->max_uri);
                    goto out;
                }
                if (!sip_scheme(v + na.uri.off, na.uri.len)) {
                    rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "Record-Route entry %zu is not a SIP or SIPS URI",
                                      count + 1);
                    goto out;
                }
            } else if (sd_nameaddr_parse(v, it, 0, &na, err) != SD_OK || !na.has_brackets) {
                rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "Record-Route entry %zu is not a name-addr", count + 1);
                goto out;
            } else if (sd_uri_parse(v, na.uri, lim->max_uri, &u, err) != SD_OK) {
                rc = rewrap(err, SD_EINVAL, 0, "Record-Route entry %zu", count + 1);
                goto out;
            } else if (u.scheme_id != SD_URI_SIP && u.scheme_id != SD_URI_SIPS) {
                rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "Record-Route entry %zu is not a SIP or SIPS URI", count + 1);
                goto out;
            }
            uris[count] = S(v + na.uri.off, na.uri.len);
            items[count++] = S(v + it.off, it.len);
            total += it.len + 1;
        }
        if (r < 0) {
            rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "malformed Record-Route list");
            goto out;
        }
    }
    if (total > cap) {
        rc = sd_error_set(err, SD_ELIMIT, SIZE_MAX, "route set longer than %zu bytes", cap);
        goto out;
    }
    size_t rl = 0;
    for (size_t j = 0; j < count; j++) {
        sd_str it = items[reverse ? count - 1 - j : j];
        if (rl) out[rl++] = ',';
        memcpy(out + rl, it.p, it.len);
        rl += it.len;
    }
    *len = rl;
    if (count) {
        sd_str f = uris[reverse ? count - 1 : 0];
        *strict = uri_strict(f.p, f.len);
    }
out:
    for (size_t k = 0; k < nown; k++) free(own[k]);
    return rc;
}



static void set_strict(sd_dialog *d)
{
    sd_str r = slot_str(d, SL_ROUTES);
    if (first_route_strict(r.p, r.len)) d->flags |= F_STRICT;
    else d->flags &= (uint16_t)~F_STRICT;
}

/* Replace the slots in `in` that have p != NULL: the arena is rebuilt in
 * one allocation when one of its slots changes, a shared slot takes a
 * reference to the table's copy. A new From (SL_LOCAL_HDR) or To
 * (SL_REMOTE_HDR) value comes whole, with its tag at *ltag / *rtag (len 0:
 * no tag): the tag goes to the arena, the rest is shared. Either everything
 * changes or nothing (SD_ENOMEM/SD_ELIMIT). `in` may point into the
 * dialog's own strings. */
static sd_err arena_replace(sd_dialog *d, const sd_str in[SL__N], const span16 *ltag, const span16 *rtag,
                            sd_error *err)
{
    sd_str repl[SL__N];
    memcpy(repl, in, sizeof repl);
    const span16 *tp[2] = {ltag, rtag};
    char cut_st[2][256], *cut[2] = {NULL, NULL}; /* the tagless values: on the stack when they fit */
    sd_istr *nsh[NSHARED] = {NULL};
    int swap[NSHARED] = {0};
    sd_err rc = SD_OK;
    for (int w = 0; w < 2; w++) {
        sd_str v = repl[SL_LOCAL_HDR + w];
        if (v.p == NULL) continue;
        span16 t = tp[w] ? *tp[w] : (span16){0, 0};
        if ((size_t)t.off + t.len > v.len) t = (span16){0, 0};
        repl[SL_LOCAL_TAG + w] = S(v.p + t.off, t.len);
        if (t.len == 0) continue;
        char *o = cut_st[w];
        if (v.len - t.len > sizeof cut_st[w] && (o = cut[w] = malloc(v.len - t.len)) == NULL) {
            rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
            goto fail;
        }
        memcpy(o, v.p, t.off);
        memcpy(o + t.off, v.p + t.off + t.len, v.len - t.off - t.len);
        repl[SL_LOCAL_HDR + w] = S(o, v.len - t.len);
    }
    for (int k = 0; k < NSHARED; k++) {
        sd_str v = repl[SL__ARENA + k];
        if (v.p == NULL || str_eq(slot_str(d, SL__ARENA + k), v.p, v.len)) continue;
        swap[k] = 1;
        if (v.len > ARENA_MAX) {
            rc = sd_error_set(err, SD_ELIMIT, SIZE_MAX, "a dialog string exceeds %u bytes", ARENA_MAX);
            goto fail;
        }
        if (v.len && (nsh[k] = sd_istr_get(d->env->strings, v.p, v.len)) == NULL) {
            rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
            goto fail;
        }
    }
    int rebuild = 0;
    size_t total = 0;
    for (int s = 0; s < SL__ARENA; s++) {
        rebuild |= repl[s].p != NULL;
        total += repl[s].p ? repl[s].len : d->slot[s].len;
    }
    if (rebuild) {
        if (total > ARENA_MAX) {
            rc = sd_error_set(err, SD_ELIMIT, SIZE_MAX, "dialog strings exceed %u bytes", ARENA_MAX);
            goto fail;
        }
        char *na = malloc(total ? total : 1);
        if (na == NULL) {
            rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
            goto fail;
        }
        size_t w = 0;
        span16 ns[SL__ARENA];
        for (int s = 0; s < SL__ARENA; s++) {
            sd_str v = repl[s].p ? repl[s] : slot_str(d, s);
            if (v.len) memcpy(na + w, v.p, v.len);
            ns[s] = (span16){(uint16_t)w, (uint16_t)v.len};
            w += v.len;
        }
        free(d->arena);
        d->arena = na;
        memcpy(d->slot, ns, sizeof ns);
        d->arena_len = (uint16_t)total;
    }
    for (int k = 0; k < NSHARED; k++)
        if (swap[k]) {
            sd_istr_put(d->shared[k]);
            d->shared[k] = nsh[k];
        }
    if (in[SL_LOCAL_HDR].p) d->ltag = (span16){repl[SL_LOCAL_TAG].len ? tp[0]->off : 0, (uint16_t)repl[SL_LOCAL_TAG].len};
    if (in[SL_REMOTE_HDR].p)
        d->rtag = (span16){repl[SL_REMOTE_TAG].len ? tp[1]->off : 0, (uint16_t)repl[SL_REMOTE_TAG].len};
    free(cut[0]);
    free(cut[1]);
    return SD_OK;
fail:
    for (int k = 0; k < NSHARED; k++) sd_istr_put(nsh[k]);
    free(cut[0]);
    free(cut[1]);
    return rc;
}

static kept *kept_new(const char *buf, const sd_msg *m)
{
    size_t bytes = (size_t)m->msg_start + m->msg_len;
    kept *k = malloc(sizeof *k + m->nhdrs * sizeof(sd_header) + bytes);
    if (k == NULL) return NULL;
    k->m = *m;
    k->size = sizeof *k + m->nhdrs * sizeof(sd_header) + bytes;
    memcpy(k->h, m->hdrs, m->nhdrs * sizeof(sd_header));
    k->m.hdrs = k->h;
    memcpy((char *)(k->h + m->nhdrs), buf, bytes);
    return k;
}

/* The CANCEL information of the request m (buffer buf), or NULL (out of
 * memory, or a value too long to be one). */
static cinfo *cinfo_new(const char *buf, const sd_msg *m)
{
    const char *via, *to, *rv[64];
    char *own_v = NULL, *own_t = NULL, *own_r[64];
    size_t vlen, tlen, rl[64], nr = 0, total = m->ruri.len;
    cinfo *c = NULL;
    if (header_value(buf, m, m->first[SD_H_VIA], &via, &vlen, &own_v, NULL) != SD_OK ||
        header_value(buf, m, m->first[SD_H_TO], &to, &tlen, &own_t, NULL) != SD_OK)
        goto out;
    uint32_t pos = 0;
    sd_span top;
    if (sd_list_next(via, (sd_span){0, (uint32_t)vlen}, &pos, &top) == 1) {
        via += top.off;
        vlen = top.len;
    }
    total += vlen + tlen;
    for (int i = -1; (i = sd_msg_next(m, SD_H_ROUTE, i)) >= 0; nr++) {
        if (nr == 64) goto out; /* the caller checked: at most 64 Route lines */
        if (header_value(buf, m, i, &rv[nr], &rl[nr], &own_r[nr], NULL) != SD_OK) goto out;
        total += rl[nr] + 1;
    }
    if (m->ruri.len > 0xffff || vlen > 0xffff || tlen > 0xffff || total > 0xffff) goto out;
    c = malloc(sizeof *c + total);
    if (c == NULL) goto out;
    c->size = sizeof *c + total;
    c->cseq = m->cseq;
    c->ruri = (uint16_t)m->ruri.len;
    c->via = (uint16_t)vlen;
    c->to = (uint16_t)tlen;
    char *w = c->s;
    memcpy(w, buf + m->ruri.off, m->ruri.len);
    w += m->ruri.len;
    memcpy(w, via, vlen);
    w += vlen;
    memcpy(w, to, tlen);
    w += tlen;
    char *r0 = w;
    for (size_t k = 0; k < nr; k++) {
        if (k) *w++ = '\n';
        memcpy(w, rv[k], rl[k]);
        w += rl[k];
    }
    c->routes = (uint16_t)(w - r0);
out:
    free(own_v);
    free(own_t);
    for (size_t k = 0; k < nr; k++) free(own_r[k]);
    return c;
}

static cinfo *cinfo_copy(const cinfo *c)
{
    cinfo *n = malloc(c->size);
    if (n) memcpy(n, c, c->size);
    return n;
}

static hent *hist_of(const sd_dialog *d)
{
    return d->histcap > 2 ? d->h.heap : (hent *)d->h.inl;
}

static hent hent_pack(const sd_dialog *d, const sd_dlg_transition *t)
{
    int64_t dt = t->at_ns - d->created_at;
    uint64_t us = dt <= 0 ? 0 : (uint64_t)dt / 1000u;
    if (us > HENT_US_MAX) us = HENT_US_MAX;
    return (uint64_t)(t->from & 7) | (uint64_t)(t->to & 7) << 3 | (uint64_t)(t->event & 15) << 6 |
           (uint64_t)(t->method & 15) << 10 | (uint64_t)(t->status & 1023) << 14 | us << 24;
}

static sd_dlg_transition hent_unpack(const sd_dialog *d, hent e)
{
    sd_dlg_transition t = {d->created_at + (int64_t)(e >> 24) * 1000, (uint8_t)(e & 7), (uint8_t)(e >> 3 & 7),
                           (uint8_t)(e >> 6 & 15), (uint8_t)(e >> 10 & 15), (uint16_t)(e >> 14 & 1023), 0};
    return t;
}

/* Record a transition (under the lock) and queue it for the listener. */
static void transition(sd_dialog *d, sd_dlg_event ev, int method, int status, fired *f)
{
    int to = sd_dlg_next_state((sd_dlg_state)d->state, ev);
    if (to < 0 || to == d->state) return;
    sd_dlg_transition t = {now(d), d->state, (uint8_t)to, (uint8_t)ev, (uint8_t)method, (uint16_t)status, 0};
    hent e = hent_pack(d, &t);
    t = hent_unpack(d, e); /* the listener sees what the history keeps */
    d->state = (uint8_t)to;
    hent *hp = hist_of(d);
    if (d->nhist == d->histcap) {
        uint16_t cap = d->histcap < 8 ? 8 : (uint16_t)(d->histcap * 2);
        hent *nh = cap > d->histcap ? malloc(cap * sizeof *nh) : NULL;
        if (nh != NULL) {
            memcpy(nh, hp, d->nhist * sizeof *nh);
            if (d->histcap > 2) free(hp);
            d->h.heap = hp = nh;
            d->histcap = cap;
        }
    }
    /* without memory for a longer history the oldest entry after the first
     * gives way: the state itself always changes */
    if (d->nhist == d->histcap) {
        memmove(hp + 1, hp + 2, (size_t)(d->nhist - 2) * sizeof e);
        d->nhist--;
    }
    hp[d->nhist++] = e;
    if (f->n < 2) f->t[f->n++] = t;
}

/* Release the lock, then tell the listener about what happened. */
static void unlock_and_fire(sd_dialog *d, fired *f)
{
    sd_dlg_listener fn = d->lfn;
    void *ctx = d->lctx;
    sd_lock_release(&d->lock);
    if (fn)
        for (int i = 0; i < f->n; i++) fn(ctx, d, &f->t[i]);
}

/*
 * The store's side of an operation that may change the dialog's strings or
 * end it: for a dialog in a store, its shard's write lock is taken before
 * the dialog's lock (lock order shard, then dialog), so the change and the
 * store's view of it are one step for every reader.
 */
typedef struct guard {
    sd_store *s; /* held (sd_store_hold_) while held; NULL: the dialog is in no store */
    uint64_t h;
    int had_rtag;
    int ref; /* what sd_store_hold_ took */
} guard;

static void lock_guarded(sd_dialog *d, guard *g)
{
    for (;;) {
        g->s = NULL;
        if (atomic_load_explicit(&d->link.store, memory_order_acquire) != NULL) {
            sd_lock_acquire(&d->lock);
            g->s = atomic_load_explicit(&d->link.store, memory_order_relaxed);
            if (g->s) {
                g->h = sd_store_hash_(g->s, d);
                g->ref = sd_store_hold_(g->s); /* the store cannot go while we wait for its lock */
            }
            sd_lock_release(&d->lock);
            if (g->s) sd_store_shard_lock_(g->s, g->h);
        }
        sd_lock_acquire(&d->lock);
        if (atomic_load_explicit(&d->link.store, memory_order_relaxed) == g->s) break;
        /* added to or removed from a store meanwhile: again */
        sd_lock_release(&d->lock);
        if (g->s) {
            sd_store_shard_unlock_(g->s, g->h);
            sd_store_let_go_(g->s, g->ref);
        }
    }
    g->had_rtag = d->rtag.len != 0;
}

/* Settle the store's view, release the dialog's lock, then the shard's,
 * then run the store's removal hook and the listener (no lock held). */
static void unlock_guarded(sd_dialog *d, guard *g, fired *f)
{
    int removed = g->s ? sd_store_settle_(g->s, d, g->had_rtag) : 0;
    sd_dlg_listener fn = d->lfn;
    void *ctx = d->lctx;
    sd_lock_release(&d->lock);
    if (g->s) {
        sd_store_shard_unlock_(g->s, g->h);
        if (removed) sd_store_removed_(g->s, d);
        sd_store_let_go_(g->s, g->ref);
    }
    if (fn)
        for (int i = 0; i < f->n; i++) fn(ctx, d, &f->t[i]);
}

/* A 2xx to our INVITE `cseq` arrived: its ACK is due, unless a later
 * INVITE of ours has had its 2xx (the ACK state follows the latest). */
static void ack_due(sd_dialog *d, uint32_t cseq)
{
    if (cseq >= d->ack_cseq_out) {
        d->ack_cseq_out = cseq;
        d->flags |= F_ACK_OUT;
    }
}

/* Take the next local CSeq number, atomically and without the lock. */
static sd_err next_cseq(sd_dialog *d, uint32_t *out, sd_error *err)
{
    uint64_t v = atomic_load_explicit(&d->local_seq, memory_order_relaxed);
    if (!(v & SEQ_SET)) {
        /* a UAS's first request: start at a random value below 2**31,
         * leaving room for 2**20 requests (RFC 3261 12.1.1, 8.1.1.5) */
        uint32_t r;
        if (d->env->random(d->env->random_ctx, &r, sizeof r) != SD_OK)
            return sd_error_set(err, SD_EINVAL, SIZE_MAX, "no randomness for the first CSeq");
        uint64_t want = SEQ_SET | (r % (SEQ_MAX - (1u << 20)));
        /* a racing thread's value wins; the winner records where it began */
        if (atomic_compare_exchange_strong(&d->local_seq, &v, want))
            atomic_store_explicit(&d->seq_first, (uint32_t)(want & (SEQ_SET - 1)) + 1, memory_order_relaxed);
    }
    /* a CAS loop rather than fetch_add: at 2**31 - 1 the number stays put */
    uint64_t cur = atomic_load_explicit(&d->local_seq, memory_order_relaxed), seq;
    do {
        seq = (cur & (SEQ_SET - 1)) + 1;
        if (seq > SEQ_MAX)
            return sd_error_set(err, SD_ELIMIT, SIZE_MAX, "local CSeq reached 2**31 (RFC 3261 8.1.1.5)");
    } while (!atomic_compare_exchange_weak_explicit(&d->local_seq, &cur, cur + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    *out = (uint32_t)seq;
    return SD_OK;
}

/* Check a value as a tag / Call-ID (validators of the pipeline). */
static sd_err check_value(sd_vkind k, sd_str v, uint32_t max, const char *what, sd_error *err)
{
    sd_validator val = {(uint8_t)k, 0};
    if (v.len > max) return sd_error_set(err, SD_ELIMIT, max, "%s exceeds %u bytes", what, max);
    if (sd_validate(&val, v.p, v.len, err) != SD_OK)
        return rewrap(err, SD_EINVAL, 1, "%s", what);
    return SD_OK;
}

static int is_sips(const char *buf, sd_span ruri)
{
    return ruri.len >= 5 && (buf[ruri.off] | 32) == 's' && (buf[ruri.off + 1] | 32) == 'i' &&
           (buf[ruri.off + 2] | 32) == 'p' && (buf[ruri.off + 3] | 32) == 's' && buf[ruri.off + 4] == ':';
}

static int creates_dialog(int method)
{
    return method == SD_M_INVITE || method == SD_M_SUBSCRIBE || method == SD_M_REFER || method == SD_M_NOTIFY;
}

static sd_dialog *alloc_dialog(const sd_dlg_env *env)
{
    sd_dialog *d = malloc(sizeof *d); /* malloc + memset: calloc skips the thread cache */
    if (d == NULL) return NULL;
    memset(d, 0, sizeof *d);
    atomic_init(&d->refs, 1);
    atomic_init(&d->local_seq, 0);
    d->env = env;
    d->histcap = 2;
    d->created_at = d->last_activity = env->now(env->now_ctx);
    return d;
}

static void free_dialog(sd_dialog *d)
{
    free(d->creq);
    free(d->sreq);
    if (d->histcap > 2) free(d->h.heap);
    free(d->arena);
    for (int k = 0; k < NSHARED; k++) sd_istr_put(d->shared[k]);
    free(d);
}

/* ------------------------------------------------------------- creation */

/* Common checks of a dialog-creating request. */
static sd_err check_creating(const char *buf, const sd_msg *req, const sd_dlg_env *env, sd_error *err)
{
    if (!req->is_request) return sd_error_set(err, SD_EINVAL, SIZE_MAX, "a dialog is created from a request");
    if (!creates_dialog(req->method_id))
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "%.*s does not create a dialog (INVITE, SUBSCRIBE, REFER, NOTIFY do)",
                            (int)(req->method.len > 32 ? 32 : req->method.len), buf + req->method.off);
    if (!req->has_from_tag)
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "the request has no From tag (RFC 3261 8.1.1.3)");
    if (req->has_to_tag)
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "the request has a To tag: it is inside a dialog already");
    if (req->method_id != SD_M_NOTIFY && req->first[SD_H_CONTACT] < 0)
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "a dialog-creating request needs a Contact (RFC 3261 8.1.1.8)");
    if (req->call_id.len > env->parse.limits.max_call_id)
        return sd_error_set(err, SD_ELIMIT, SIZE_MAX, "Call-ID exceeds the limit");
    int routes = 0;
    for (int i = -1; (i = sd_msg_next(req, SD_H_ROUTE, i)) >= 0;) routes++;
    if (routes > 64) return sd_error_set(err, SD_ELIMIT, SIZE_MAX, "more than 64 Route header fields");
    return SD_OK;
}

sd_err sd_dialog_new_uac(const sd_dlg_env *env, const char *buf, const sd_msg *req, sd_dialog **out, sd_error *err)
{
    const sd_limits *lim = &env->parse.limits;
    sd_err rc = check_creating(buf, req, env, err);
    if (rc != SD_OK) return rc;
    const char *from, *to, *target = NULL;
    char *own_f = NULL, *own_t = NULL, *own_g = NULL;
    size_t flen, tlen, glen = 0;
    sd_dialog *d = NULL;
    span16 ftag, ttag;
    sd_span hf, ht;
    if ((rc = header_value(buf, req, req->first[SD_H_FROM], &from, &flen, &own_f, err)) != SD_OK ||
        (rc = header_value(buf, req, req->first[SD_H_TO], &to, &tlen, &own_t, err)) != SD_OK)
        goto out;
    if ((rc = addr_parts(from, flen, lim, req->uris_checked,
                         own_f ? NULL : tag_hint(buf, from, req->from_tag, req->has_from_tag, &hf), &ftag, 1, "From",
                         err)) != SD_OK ||
        (rc = addr_parts(to, tlen, lim, req->uris_checked,
                         own_t ? NULL : tag_hint(buf, to, req->to_tag, req->has_to_tag, &ht), &ttag, 0, "To", err)) !=
            SD_OK)
        goto out;
    if (req->first[SD_H_CONTACT] >= 0 && (rc = contact_uri(buf, req, lim, &target, &glen, &own_g, err)) != SD_OK)
        goto out;
    if ((d = alloc_dialog(env)) == NULL || (d->creq = cinfo_new(buf, req)) == NULL) {
        rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
        goto out;
    }
    sd_str repl[SL__N] = {
        [SL_CALL_ID] = S(buf + req->call_id.off, req->call_id.len),
        [SL_LOCAL_HDR] = S(from, flen),
        [SL_REMOTE_HDR] = S(to, tlen),
        [SL_LOCAL_TARGET] = S(target ? target : "", glen),
        [SL_REMOTE_TARGET] = S("", 0),
        [SL_ROUTES] = S("", 0),
    };
    if ((rc = arena_replace(d, repl, &ftag, NULL, err)) != SD_OK) goto out;
    d->role = SD_DLG_UAC;
    d->state = SD_DLG_NONE;
    d->create_method = req->method_id;
    d->create_cseq = req->cseq;
    atomic_store(&d->local_seq, SEQ_SET | req->cseq);
    atomic_store(&d->seq_first, req->cseq);
    if (req->method_id == SD_M_INVITE) {
        d->flags |= F_INV_OUT;
        d->inv_cseq_out = req->cseq;
    }
    if (is_sips(buf, req->ruri)) d->flags |= F_SECURE;
    *out = d;
    d = NULL;
out:
    if (d) free_dialog(d);
    free(own_f);
    free(own_t);
    free(own_g);
    return rc;
}

sd_err sd_dialog_new_uas(const sd_dlg_env *env, const char *buf, const sd_msg *req, sd_str local_contact,
                         sd_str local_tag, sd_dialog **out, sd_error *err)
{
    const sd_limits *lim = &env->parse.limits;
    sd_err rc = check_creating(buf, req, env, err);
    if (rc != SD_OK) return rc;
    char tagbuf[32];
    if (local_tag.len == 0) {
        unsigned char rnd[16];
        if (env->random(env->random_ctx, rnd, sizeof rnd) != SD_OK)
            return sd_error_set(err, SD_EINVAL, SIZE_MAX, "no randomness for the local tag");
        hex(tagbuf, rnd, sizeof rnd);
        local_tag = S(tagbuf, 32);
    } else if ((rc = check_value(SD_V_TAG, local_tag, lim->max_tag, "local_tag", err)) != SD_OK) {
        return rc;
    }
    /* our Contact: a SIP or SIPS URI */
    sd_uri cu;
    if (local_contact.len == 0 || local_contact.len > lim->max_uri)
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "local_contact must be a SIP or SIPS URI of at most %u bytes",
                            lim->max_uri);
    if (sd_uri_parse(local_contact.p, (sd_span){0, (uint32_t)local_contact.len}, lim->max_uri, &cu, err) != SD_OK)
        return rewrap(err, SD_EINVAL, 1, "local_contact");
    if (cu.scheme_id != SD_URI_SIP && cu.scheme_id != SD_URI_SIPS)
        return sd_error_set(err, SD_EINVAL, 0, "local_contact must be a SIP or SIPS URI");
    const char *from, *target = NULL;
    char *to = NULL, *routes = NULL, *own_f = NULL, *own_g = NULL, *own_r = NULL, rs[ROUTES_STACK];
    size_t flen, tlen, glen = 0, rlen = 0;
    sd_dialog *d = NULL;
    span16 ftag, ttag;
    sd_span hf, ht;
    if ((rc = header_value(buf, req, req->first[SD_H_FROM], &from, &flen, &own_f, err)) != SD_OK) goto out;
    /* our header: the request's To plus ";tag=" and our tag */
    {
        const sd_header *h = &req->hdrs[req->first[SD_H_TO]];
        to = malloc(h->value.len + 5 + local_tag.len);
        if (to == NULL) {
            rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
            goto out;
        }
        tlen = (h->flags & SD_HF_FOLDED) ? sd_unfold(buf + h->value.off, h->value.len, to)
                                          : (memcpy(to, buf + h->value.off, h->value.len), h->value.len);
        memcpy(to + tlen, ";tag=", 5);
        memcpy(to + tlen + 5, local_tag.p, local_tag.len);
        ht = (sd_span){(uint32_t)tlen + 5, (uint32_t)local_tag.len};
        tlen += 5 + local_tag.len;
    }
    if ((rc = addr_parts(from, flen, lim, req->uris_checked,
                         own_f ? NULL : tag_hint(buf, from, req->from_tag, req->has_from_tag, &hf), &ftag, 1, "From",
                         err)) != SD_OK ||
        (rc = addr_parts(to, tlen, lim, req->uris_checked, &ht, &ttag, 1, "To", err)) != SD_OK)
        goto out;
    if (req->first[SD_H_CONTACT] >= 0 && (rc = contact_uri(buf, req, lim, &target, &glen, &own_g, err)) != SD_OK)
        goto out;
    int strict;
    size_t rcap;
    if ((routes = routes_room(req, rs, &rcap, &own_r)) == NULL) {
        rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
        goto out;
    }
    if ((rc = route_set_of(buf, req, 0, lim, routes, rcap, &rlen, &strict, err)) != SD_OK) goto out;
    if ((d = alloc_dialog(env)) == NULL || (d->sreq = kept_new(buf, req)) == NULL) {
        rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
        goto out;
    }
    sd_str repl[SL__N] = {
        [SL_CALL_ID] = S(buf + req->call_id.off, req->call_id.len),
        [SL_LOCAL_HDR] = S(to, tlen),
        [SL_REMOTE_HDR] = S(from, flen),
        [SL_LOCAL_TARGET] = local_contact,
        [SL_REMOTE_TARGET] = S(target ? target : "", glen),
        [SL_ROUTES] = S(routes, rlen),
    };
    if ((rc = arena_replace(d, repl, &ttag, &ftag, err)) != SD_OK) goto out;
    if (strict) d->flags |= F_STRICT;
    d->role = SD_DLG_UAS;
    d->state = SD_DLG_NONE;
    d->create_method = req->method_id;
    d->create_cseq = req->cseq;
    d->remote_seq = req->cseq;
    d->flags |= F_REMOTE_SEQ;
    d->last_method = req->method_id;
    d->last_branch = d->create_branch = branch_hash(buf, req->via_branch);
    if (req->method_id == SD_M_INVITE) {
        d->flags |= F_INV_IN;
        d->inv_cseq_in = req->cseq;
    }
    if (is_sips(buf, req->ruri)) d->flags |= F_SECURE;
    *out = d;
    d = NULL;
out:
    if (d) free_dialog(d);
    free(own_f);
    free(to);
    free(own_g);
    free(own_r);
    return rc;
}

sd_dialog *sd_dialog_ref(sd_dialog *d)
{
    atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
    return d;
}

void sd_dialog_unref(sd_dialog *d)
{
    if (d == NULL) return;
    if (atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) == 1) free_dialog(d);
}

void sd_dialog_set_listener(sd_dialog *d, sd_dlg_listener fn, void *ctx)
{
    sd_lock_acquire(&d->lock);
    d->lfn = fn;
    d->lctx = fn ? ctx : NULL;
    sd_lock_release(&d->lock);
}

/* ------------------------------------------------------------ receiving */

/* Reply to request m with status (and our tag when it has none). */
static sd_err reply_to(sd_dialog *d, const char *buf, const sd_msg *m, int status, const char *reason,
                       int retry_after, sd_buf *reply, sd_error *err)
{
    if (reply == NULL) return SD_OK;
    char ra[16];
    sd_str nm[1] = {S("Retry-After", 11)}, vl[1];
    size_t n = 0;
    if (retry_after >= 0) {
        int k = snprintf(ra, sizeof ra, "%d", retry_after);
        vl[0] = S(ra, (size_t)k);
        n = 1;
    }
    sd_str tag = tag_str(d, 0);
    return sd_msg_build_response(reply, buf, m, status, S(reason, reason ? strlen(reason) : 0), tag, nm, vl, n,
                                 NULL, 0, err);
}

/* Refresh the remote target from m's Contact (if it has one). */
static sd_err refresh_target(sd_dialog *d, const char *buf, const sd_msg *m, sd_error *err)
{
    const char *t;
    char *own;
    size_t tl;
    sd_err rc = contact_uri(buf, m, &d->env->parse.limits, &t, &tl, &own, err);
    if (rc == SD_ENOTFOUND) return SD_OK;
    if (rc != SD_OK) return rc;
    sd_str repl[SL__N] = {[SL_REMOTE_TARGET] = S(t, tl)};
    if (!str_eq(slot_str(d, SL_REMOTE_TARGET), t, tl)) rc = arena_replace(d, repl, NULL, NULL, err);
    free(own);
    return rc;
}

/* The first tagged response to the creating request (or a 2xx that
 * confirms an early dialog): remote tag, target and route set. */
static sd_err learn_remote(sd_dialog *d, const char *buf, const sd_msg *m, sd_error *err)
{
    const sd_limits *lim = &d->env->parse.limits;
    const char *to = NULL, *target = NULL;
    char *own_t = NULL, *own_g = NULL, *own_r = NULL, *routes, rs[ROUTES_STACK];
    size_t tlen, glen = 0, rlen = 0;
    span16 ttag;
    sd_span ht;
    sd_err rc;
    if ((rc = header_value(buf, m, m->first[SD_H_TO], &to, &tlen, &own_t, err)) != SD_OK) goto out;
    if ((rc = addr_parts(to, tlen, lim, m->uris_checked,
                         own_t ? NULL : tag_hint(buf, to, m->to_tag, m->has_to_tag, &ht), &ttag, 1, "To", err)) != SD_OK)
        goto out;
    if (m->first[SD_H_CONTACT] >= 0) {
        if ((rc = contact_uri(buf, m, lim, &target, &glen, &own_g, err)) != SD_OK) goto out;
    }
    int strict;
    size_t rcap;
    if ((routes = routes_room(m, rs, &rcap, &own_r)) == NULL) {
        rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
        goto out;
    }
    if ((rc = route_set_of(buf, m, 1, lim, routes, rcap, &rlen, &strict, err)) != SD_OK) goto out;
    sd_str repl[SL__N] = {
        [SL_REMOTE_HDR] = S(to, tlen),
        [SL_ROUTES] = S(routes, rlen),
    };
    if (target) repl[SL_REMOTE_TARGET] = S(target, glen);
    if ((rc = arena_replace(d, repl, NULL, &ttag, err)) != SD_OK) goto out;
    if (strict) d->flags |= F_STRICT;
    else d->flags &= (uint16_t)~F_STRICT;
out:
    free(own_t);
    free(own_g);
    free(own_r);
    return rc;
}

static sd_err receive_response(sd_dialog *d, const char *buf, const sd_msg *m, fired *f, sd_error *err)
{
    sd_str rtag = tag_str(d, 1);
    int status = m->status;
    int tagged = m->has_to_tag;
    int method = m->cseq_method_id;
    uint64_t ls = atomic_load_explicit(&d->local_seq, memory_order_relaxed);
    if (!(ls & SEQ_SET) || m->cseq > (uint32_t)(ls & (SEQ_SET - 1)) ||
        m->cseq < atomic_load_explicit(&d->seq_first, memory_order_relaxed))
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "a response to CSeq %u, which this dialog never sent", m->cseq);
    if (method == SD_M_CANCEL) {
        /* the CANCEL's own response: the INVITE's final response does the
         * work (RFC 3261 9.1); a 481 here ends nothing (a CANCEL is not
         * a request inside the dialog) */
        return SD_OK;
    }
    int to_creating = m->cseq == d->create_cseq && method == d->create_method && d->role == SD_DLG_UAC;
    if (to_creating && d->state >= SD_DLG_TERMINATING) return SD_OK; /* too late to matter */
    if (to_creating) {
        if (status < 200 && (!tagged || status == 100)) {
            /* a 1xx to the creating INVITE lets its CANCEL go, not a later one's */
            if ((d->flags & F_INV_OUT) && d->inv_cseq_out == d->create_cseq) d->flags |= F_GOT_1XX;
            return SD_OK;
        }
        if (status >= 300) {
            /* the creating transaction failed: every early dialog of it ends (13.2.2.3) */
            if (d->state == SD_DLG_NONE || d->state == SD_DLG_EARLY) {
                d->flags &= (uint16_t)~(F_INV_OUT | F_ACK_OUT);
                free(d->creq);
                d->creq = NULL;
                transition(d, SD_DE_FAILURE, method, status, f);
            }
            return SD_OK;
        }
        if (!tagged)
            return sd_error_set(err, SD_EINVAL, SIZE_MAX, "a %d response without a To tag creates no dialog (RFC 3261 12.1.2)",
                                status);
        if (d->state != SD_DLG_NONE && !span_eq(buf, m->to_tag, rtag))
            return sd_error_set(err, SD_EEXIST, SIZE_MAX,
                                "a response with another To tag is a fork: make its dialog with fork()");
        if (d->state == SD_DLG_CONFIRMED) {
            /* a retransmitted 2xx: the dialog is as it was; its ACK is sent
             * again. A late 1xx changes nothing. */
            if (method == SD_M_INVITE && status >= 200) ack_due(d, m->cseq);
            return SD_OK;
        }
        sd_err rc;
        if (status < 200) {
            /* the first tagged 1xx makes the dialog; a later one may move the target */
            rc = d->state == SD_DLG_NONE ? learn_remote(d, buf, m, err) : refresh_target(d, buf, m, err);
            if (rc != SD_OK) return rc;
            d->flags |= F_GOT_1XX;
            transition(d, SD_DE_PROVISIONAL, method, status, f);
            return SD_OK;
        }
        /* 2xx: confirmed; the route set is recomputed from it (13.2.2.4) */
        if ((rc = learn_remote(d, buf, m, err)) != SD_OK) return rc;
        free(d->creq);
        d->creq = NULL;
        if (method == SD_M_INVITE) {
            d->flags &= (uint16_t)~F_INV_OUT;
            ack_due(d, m->cseq);
        }
        transition(d, SD_DE_SUCCESS, method, status, f);
        return SD_OK;
    }
    /* a response to a request sent inside the dialog */
    if (d->state == SD_DLG_NONE)
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "a response to an in-dialog request before the dialog exists");
    if (!tagged || !span_eq(buf, m->to_tag, rtag))
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "the To tag of the response is not this dialog's remote tag");
    if (status < 200) {
        if (method == SD_M_INVITE && m->cseq == d->inv_cseq_out) d->flags |= F_GOT_1XX;
        return SD_OK;
    }
    if (method == SD_M_INVITE && m->cseq == d->inv_cseq_out && (d->flags & F_INV_OUT)) {
        if (status < 300) {
            sd_err rc = refresh_target(d, buf, m, err); /* 12.2.1.2; first, so a bad Contact changes nothing */
            if (rc != SD_OK) return rc;
            ack_due(d, m->cseq);
        }
        d->flags &= (uint16_t)~F_INV_OUT;
        free(d->creq);
        d->creq = NULL;
    } else if (method == SD_M_INVITE && m->cseq == d->inv_cseq_out && status < 300) {
        ack_due(d, m->cseq); /* a retransmitted 2xx: ACK again */
    } else if (method == SD_M_UPDATE && status < 300) {
        sd_err rc = refresh_target(d, buf, m, err);
        if (rc != SD_OK) return rc;
    }
    if (status == 481 || status == 408) {
        transition(d, SD_DE_ENDED, method, status, f);
    } else if (method == SD_M_BYE && d->state == SD_DLG_TERMINATING) {
        transition(d, SD_DE_BYE_DONE, method, status, f);
    }
    return SD_OK;
}

/* A CANCEL names the pending request by Call-ID, From tag, CSeq number and
 * top Via branch (RFC 3261 9.2). */
static int cancel_matches(const sd_dialog *d, const char *buf, const sd_msg *m)
{
    const kept *k = d->sreq;
    if (k == NULL || !(d->flags & F_INV_IN)) return 0;
    const char *kb = KEPT_BUF(k);
    return m->cseq == k->m.cseq && m->via_branch.len && m->via_branch.len == k->m.via_branch.len &&
           memcmp(buf + m->via_branch.off, kb + k->m.via_branch.off, m->via_branch.len) == 0 &&
           m->has_from_tag && span_eq(buf, m->from_tag, tag_str(d, 1));
}

/* *accepted: 1 when the request was taken into the dialog (not refused,
 * not a retransmission): only then is it activity. */
static sd_err receive_request(sd_dialog *d, const char *buf, const sd_msg *m, unsigned flags, sd_buf *reply,
                              fired *f, int *accepted, sd_error *err)
{
    *accepted = 0;
    sd_str ltag = tag_str(d, 0), rtag = tag_str(d, 1);
    int method = m->method_id;
    uint32_t branch = branch_hash(buf, m->via_branch);
    if (method == SD_M_ACK) {
        /* never answered; acknowledges our 2xx when it names it (13.3.1.4) */
        if (m->has_to_tag && span_eq(buf, m->to_tag, ltag) && m->has_from_tag && span_eq(buf, m->from_tag, rtag) &&
            (d->flags & F_ACK_IN) && m->cseq == d->inv_cseq_in) {
            d->flags &= (uint16_t)~F_ACK_IN;
            *accepted = 1;
        }
        return SD_OK;
    }
    if (method == SD_M_CANCEL) {
        if (cancel_matches(d, buf, m)) {
            *accepted = 1;
            return reply_to(d, buf, m, 200, NULL, -1, reply, err);
        }
        return reply_to(d, buf, m, 481, NULL, -1, reply, err);
    }
    if (!m->has_to_tag) {
        /* the creating request again: a retransmission with its branch, else
         * a merged request (RFC 3261 8.2.2.2: 482) */
        if (d->role == SD_DLG_UAS && m->cseq == d->create_cseq && method == d->create_method && m->has_from_tag &&
            span_eq(buf, m->from_tag, rtag))
            return branch == d->create_branch ? SD_OK /* the same branch, or none at all (RFC 2543) */
                                               : reply_to(d, buf, m, 482, NULL, -1, reply, err);
        return reply_to(d, buf, m, 481, NULL, -1, reply, err);
    }
    if (!span_eq(buf, m->to_tag, ltag) || !m->has_from_tag || rtag.len == 0 || !span_eq(buf, m->from_tag, rtag))
        return reply_to(d, buf, m, 481, NULL, -1, reply, err);
    /* a retransmission of the last request (its response was lost) changes
     * nothing, even after the BYE it repeats ended the dialog */
    if ((d->flags & F_REMOTE_SEQ) && m->cseq == d->remote_seq && method == d->last_method && branch &&
        branch == d->last_branch && d->state != SD_DLG_NONE) {
        return SD_OK;
    }
    if (d->state == SD_DLG_NONE || d->state == SD_DLG_TERMINATED)
        return reply_to(d, buf, m, 481, NULL, -1, reply, err);
    if (d->flags & F_REMOTE_SEQ) {
        if (m->cseq < d->remote_seq) return reply_to(d, buf, m, 500, "Invalid CSeq", -1, reply, err);
        if (m->cseq == d->remote_seq) return reply_to(d, buf, m, 500, "Invalid CSeq", -1, reply, err);
    }
    if (method == SD_M_INVITE) {
        if (d->flags & F_INV_OUT) return reply_to(d, buf, m, 491, NULL, -1, reply, err); /* glare, 14.2 */
        if (d->flags & (F_INV_IN | F_ACK_IN)) {
            unsigned char r = 0;
            d->env->random(d->env->random_ctx, &r, 1);
            return reply_to(d, buf, m, 500, NULL, r % 11, reply, err); /* 14.2 */
        }
    }
    /* accepted: apply, all or nothing */
    kept *k = NULL;
    if (method == SD_M_INVITE && (k = kept_new(buf, m)) == NULL)
        return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    if (method == SD_M_INVITE || method == SD_M_UPDATE) {
        sd_error te;
        sd_err rc = refresh_target(d, buf, m, &te); /* 12.2.2 */
        if (rc == SD_ENOMEM) {
            free(k);
            if (err) *err = te;
            return rc;
        }
        if (rc != SD_OK) {
            free(k);
            return reply_to(d, buf, m, 400, "Bad Contact", -1, reply, err);
        }
    }
    *accepted = 1;
    d->remote_seq = m->cseq;
    d->flags |= F_REMOTE_SEQ;
    d->last_method = (uint8_t)method;
    d->last_branch = branch;
    if (method == SD_M_INVITE) {
        free(d->sreq);
        d->sreq = k;
        d->flags |= F_INV_IN;
        d->inv_cseq_in = m->cseq;
    } else if (method == SD_M_BYE) {
        transition(d, SD_DE_BYE_RECEIVED, method, 0, f);
        if (flags & SD_RECV_AUTO_ANSWER) return reply_to(d, buf, m, 200, NULL, -1, reply, err);
    }
    return SD_OK;
}

sd_err sd_dialog_receive(sd_dialog *d, const char *buf, const sd_msg *m, unsigned flags, sd_buf *reply,
                         sd_error *err)
{
    fired f = {0};
    guard g;
    lock_guarded(d, &g);
    sd_err rc;
    int accepted = 0;
    size_t before = reply ? reply->len : 0;
    if (d->flags & F_CLOSED) {
        rc = sd_error_set(err, SD_ECLOSED, SIZE_MAX, "the dialog is closed");
    } else if (!span_eq(buf, m->call_id, slot_str(d, SL_CALL_ID))) {
        rc = m->is_request ? (m->method_id == SD_M_ACK ? SD_OK : reply_to(d, buf, m, 481, NULL, -1, reply, err))
                           : sd_error_set(err, SD_EINVAL, SIZE_MAX, "the Call-ID is not this dialog's");
    } else if (!m->is_request) {
        if (!m->has_from_tag || !span_eq(buf, m->from_tag, tag_str(d, 0)))
            rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "the From tag of the response is not our tag");
        else if (g.s && d->rtag.len == 0 && d->role == SD_DLG_UAC && m->has_to_tag && m->status > 100 &&
                 m->status < 300 && m->cseq == d->create_cseq && m->cseq_method_id == d->create_method &&
                 sd_store_id_taken_(g.s, g.h, slot_str(d, SL_CALL_ID), tag_str(d, 0),
                                    (sd_str){buf + m->to_tag.off, m->to_tag.len}))
            /* a fork of this dialog has the tag already: taking it would give
             * two live dialogs one ID */
            rc = sd_error_set(err, SD_EEXIST, SIZE_MAX,
                              "a dialog with this To tag is in the store already: the response is its");
        else
            accepted = (rc = receive_response(d, buf, m, &f, err)) == SD_OK;
    } else {
        rc = receive_request(d, buf, m, flags, reply, &f, &accepted, err);
    }
    if (rc == SD_OK && accepted) d->last_activity = now(d);
    if (rc != SD_OK && reply && reply->len > before) reply->len = before;
    unlock_guarded(d, &g, &f);
    return rc;
}

sd_err sd_dialog_fork(sd_dialog *d, const char *buf, const sd_msg *resp, sd_dialog **out, sd_error *err)
{
    sd_err rc = SD_OK;
    sd_dialog *s = NULL;
    fired f = {0};
    hbuf hb = {.heap = NULL};
    guard g; /* a fork of a dialog in a store goes into that store in the same step */
    lock_guarded(d, &g);
    if (d->flags & F_CLOSED) {
        rc = sd_error_set(err, SD_ECLOSED, SIZE_MAX, "the dialog is closed");
    } else if (d->role != SD_DLG_UAC || resp->is_request || resp->status < 101 || resp->status > 299 ||
               !resp->has_to_tag) {
        rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "a fork comes from a 101-299 response with a To tag to a UAC dialog");
    } else if (resp->cseq != d->create_cseq || resp->cseq_method_id != d->create_method ||
               !span_eq(buf, resp->call_id, slot_str(d, SL_CALL_ID)) || !resp->has_from_tag ||
               !span_eq(buf, resp->from_tag, tag_str(d, 0))) {
        rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "the response does not answer this dialog's creating request");
    } else if (d->rtag.len && span_eq(buf, resp->to_tag, tag_str(d, 1))) {
        rc = sd_error_set(err, SD_EEXIST, SIZE_MAX, "the response has this dialog's own To tag: receive() it");
    } else if ((s = alloc_dialog(d->env)) == NULL) {
        rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    } else {
        /* the sibling starts as this dialog was before its first response:
         * our From, their To without tag, no target, no route set */
        sd_str repl[SL__N] = {
            [SL_CALL_ID] = slot_str(d, SL_CALL_ID),
            [SL_LOCAL_HDR] = hdr_full(d, 0, &hb),
            [SL_REMOTE_HDR] = slot_str(d, SL_REMOTE_HDR),
            [SL_LOCAL_TARGET] = slot_str(d, SL_LOCAL_TARGET),
        };
        s->role = SD_DLG_UAC;
        s->create_method = d->create_method;
        s->create_cseq = d->create_cseq;
        atomic_store(&s->local_seq, SEQ_SET | d->create_cseq);
        atomic_store(&s->seq_first, d->create_cseq);
        s->flags = (uint16_t)(d->flags & F_SECURE);
        if (d->create_method == SD_M_INVITE) {
            s->flags |= F_INV_OUT | F_GOT_1XX;
            s->inv_cseq_out = d->create_cseq;
        }
        /* the CANCEL information only of the creating INVITE, never of a
         * later re-INVITE of d */
        if (repl[SL_LOCAL_HDR].p == NULL)
            rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
        else if ((rc = arena_replace(s, repl, &d->ltag, NULL, err)) == SD_OK && d->creq != NULL && d->creq->cseq == d->create_cseq &&
            (s->creq = cinfo_copy(d->creq)) == NULL)
            rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    }
    sd_lock_release(&d->lock);
    free(hb.heap);
    if (rc == SD_OK) {
        /* the sibling is not shared yet: apply the response to it */
        sd_lock_acquire(&s->lock);
        rc = receive_response(s, buf, resp, &f, err);
        sd_lock_release(&s->lock);
    }
    if (rc == SD_OK && g.s) rc = sd_store_add_sibling_(g.s, d, s, err);
    if (g.s) {
        sd_store_shard_unlock_(g.s, g.h);
        sd_store_let_go_(g.s, g.ref);
    }
    if (rc != SD_OK) {
        if (s) free_dialog(s);
        return rc;
    }
    *out = s;
    return SD_OK;
}

/* ------------------------------------------------------------- building */

/* Headers a caller may not set on an in-dialog request (the dialog does). */
static int dialog_owned(sd_hdr_id id)
{
    return id == SD_H_VIA || id == SD_H_FROM || id == SD_H_TO || id == SD_H_CALL_ID || id == SD_H_CSEQ ||
           id == SD_H_ROUTE;
}

/* Validate caller headers before anything changes. */
static sd_err check_user_headers(const sd_str *names, const sd_str *values, size_t n, sd_error *err)
{
    static const sd_validator v_token = {SD_V_TOKEN, 0}, v_value = {SD_V_HEADER_VALUE, 0};
    for (size_t i = 0; i < n; i++) {
        sd_error ve;
        if (sd_validate(&v_token, names[i].p, names[i].len, &ve) != SD_OK)
            return sd_error_set(err, SD_EVALID, ve.offset, "header name #%zu: %s", i + 1, ve.reason);
        if (sd_validate(&v_value, values[i].p, values[i].len, &ve) != SD_OK)
            return sd_error_set(err, SD_EVALID, ve.offset, "value of %.*s: %s",
                                (int)(names[i].len > 64 ? 64 : names[i].len), names[i].p, ve.reason);
        if (dialog_owned(sd_hdr_lookup(names[i].p, names[i].len)))
            return sd_error_set(err, SD_EVALID, 0, "%.*s is set by the dialog (RFC 3261 12.2.1.1)",
                                (int)(names[i].len > 64 ? 64 : names[i].len), names[i].p);
    }
    return SD_OK;
}

static int user_has(const sd_str *names, size_t n, sd_hdr_id id)
{
    for (size_t i = 0; i < n; i++)
        if (sd_hdr_lookup(names[i].p, names[i].len) == id) return 1;
    return 0;
}

static int needs_contact(int method)
{
    return method == SD_M_INVITE || method == SD_M_UPDATE || method == SD_M_SUBSCRIBE || method == SD_M_NOTIFY ||
           method == SD_M_REFER;
}

/* "z9hG4bK" + 16 hex digits: the env's secret key, the dialog (its
 * Call-ID and local tag, unique by RFC 3261 19.3) and a per-dialog count,
 * mixed; so unique per request and unpredictable from outside. */
static sd_err new_branch(sd_dialog *d, char out[23], sd_error *err)
{
    (void)err;
    sd_str cid = slot_str(d, SL_CALL_ID), lt = tag_str(d, 0);
    uint64_t h = hash64(cid.p, cid.len) ^ mix64(hash64(lt.p, lt.len));
    uint64_t x = mix64(d->env->branch_key ^ mix64(h + ++d->branch_ctr));
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(x >> (8 * i));
    memcpy(out, "z9hG4bK", 7);
    hex(out + 7, b, 8);
    return SD_OK;
}

/* Append p[0..n) at *w (the caller sized the buffer). */
static char *put(char *w, const char *p, size_t n)
{
    memcpy(w, p, n);
    return w + n;
}

static char *put_u32(char *w, uint32_t v)
{
    char tmp[10];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k) *w++ = tmp[--k];
    return w;
}

/* "SIP/2.0/UDP host[:port];branch=..." from the local target URI, into
 * out (at least 80 + host bytes: the caller gives lt.len + 96). */
static sd_err via_value(sd_dialog *d, char *out, size_t *len, sd_error *err)
{
    sd_str lt = slot_str(d, SL_LOCAL_TARGET);
    sd_uri u;
    if (lt.len == 0 || sd_uri_parse(lt.p, (sd_span){0, (uint32_t)lt.len}, 0, &u, err) != SD_OK)
        return sd_error_set(err, SD_ESTATE, SIZE_MAX, "the dialog has no usable local target for its Via");
    char *w = put(out, "SIP/2.0/", 8);
    sd_span tv;
    if (u.params.len && sd_param_find(lt.p, u.params, 1, "transport", 9, &tv) == 1 && tv.len && tv.len <= 16) {
        for (uint32_t i = 0; i < tv.len; i++) {
            char c = lt.p[tv.off + i];
            *w++ = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
        }
    } else {
        w = put(w, u.scheme_id == SD_URI_SIPS ? "TLS" : "UDP", 3);
    }
    *w++ = ' ';
    w = put(w, lt.p + u.host.off, u.host.len);
    if (u.port >= 0) {
        *w++ = ':';
        w = put_u32(w, (uint32_t)u.port);
    }
    w = put(w, ";branch=", 8);
    sd_err rc = new_branch(d, w, err);
    if (rc != SD_OK) return rc;
    *len = (size_t)(w + 23 - out);
    return SD_OK;
}

/* The Request-URI form of a route URI: without the method parameter and
 * URI headers (RFC 3261 12.2.1.1, 19.1.1). */
static size_t strip_for_ruri(const char *uri, size_t len, char *out)
{
    sd_uri u;
    if (sd_uri_parse(uri, (sd_span){0, (uint32_t)len}, 0, &u, NULL) != SD_OK) {
        memcpy(out, uri, len);
        return len;
    }
    size_t w = 0;
    size_t base_end = u.params.len ? u.params.off - 1 : (u.headers.len ? u.headers.off - 1 : len);
    if (!u.params.len && !u.headers.len) base_end = len;
    memcpy(out, uri, base_end);
    w = base_end;
    uint32_t pos = 0;
    sd_span pn, pv;
    int hv;
    if (u.params.len)
        while (sd_param_next(uri, u.params, 1, &pos, &pn, &pv, &hv) == 1) {
            if (pn.len == 6 && strncasecmp(uri + pn.off, "method", 6) == 0) continue;
            out[w++] = ';';
            size_t e = hv ? pv.off + pv.len : pn.off + pn.len;
            memcpy(out + w, uri + pn.off, e - pn.off);
            w += e - pn.off;
        }
    return w;
}

/* 1 when the first route of a route set is a strict router (its URI has
 * no lr parameter, RFC 3261 12.2.1.1); computed when the set is set. The
 * routes were checked on the way in: the URI parameters are what follows
 * the host (after the last '@', since a user part may hold ';' and '?'),
 * up to the headers. */
static int uri_strict(const char *u, size_t len)
{
    const char *e = u + len, *at = memrchr(u, '@', len), *h = at ? at + 1 : u;
    const char *q = memchr(h, ';', (size_t)(e - h));
    while (q != NULL && q < e) {
        const char *n = q + 1, *ne = n;
        while (ne < e && *ne != ';' && *ne != '=' && *ne != '?') ne++;
        if (ne - n == 2 && (n[0] | 32) == 'l' && (n[1] | 32) == 'r') return 0;
        while (ne < e && *ne != ';' && *ne != '?') ne++;
        if (ne >= e || *ne == '?') break;
        q = ne;
    }
    return 1;
}

static int first_route_strict(const char *routes, size_t len)
{
    uint32_t pos = 0;
    sd_span it;
    sd_nameaddr na;
    if (len == 0 || sd_list_next(routes, (sd_span){0, (uint32_t)len}, &pos, &it) != 1 ||
        !locate_addr(routes + it.off, it.len, &na))
        return 0;
    return uri_strict(routes + it.off + na.uri.off, na.uri.len);
}

#define STACK_HDRS 112
#define STACK_SCRATCH 2048

/*
 * Build a request from the dialog state (lock held): method, CSeq number,
 * extra header pairs (already checked) and body. `cancel_of` non-NULL: a
 * CANCEL of that kept request instead (RFC 3261 9.1). Everything but the
 * caller's headers comes from strings the dialog checked when they came
 * in, so it goes to the serializer as trusted.
 */
static sd_err build_request(sd_dialog *d, sd_str method, uint32_t cseq, const cinfo *cancel_of, const sd_str *unames,
                            const sd_str *uvalues, size_t un, const char *body, size_t body_len, sd_buf *out,
                            sd_error *err)
{
    int mid = sd_method_lookup(method.p, method.len);
    size_t cap = un + 64 + 16; /* up to 64 routes, Via, Max-Forwards, From, To, Call-ID, CSeq, Contact */
    sd_str nm_stack[2 * STACK_HDRS];
    uint8_t tr_stack[STACK_HDRS];
    char sc_stack[STACK_SCRATCH];
    sd_str *nm = cap <= STACK_HDRS ? nm_stack : malloc(cap * 2 * sizeof *nm + cap);
    if (nm == NULL) return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    sd_str *vl = nm + cap;
    uint8_t *trust = cap <= STACK_HDRS ? tr_stack : (uint8_t *)(vl + cap);
    char *scratch = NULL;
    size_t k = 0;
    sd_err rc = SD_OK;
    sd_str ruri;
    hbuf hf, ht; /* the full From and To values */
    sd_str from = hdr_full(d, 0, &hf), to_full = hdr_full(d, 1, &ht);
    sd_str routes = slot_str(d, SL_ROUTES), rt = slot_str(d, SL_REMOTE_TARGET), lt = slot_str(d, SL_LOCAL_TARGET);
    if (from.p == NULL || to_full.p == NULL) {
        scratch = sc_stack;
        rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
        goto out;
    }
    size_t need = cancel_of ? cancel_of->size + method.len + 64
                            : routes.len + rt.len + 2 * lt.len + method.len + 256;
    scratch = need <= STACK_SCRATCH ? sc_stack : malloc(need);
    if (scratch == NULL) {
        rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
        goto out;
    }
    char *w = scratch;
    /* CSeq value */
    char *cs = w;
    w = put_u32(w, cseq);
    *w++ = ' ';
    w = put(w, method.p, method.len);
    sd_str cseqv = S(cs, (size_t)(w - cs));
    if (cancel_of) {
        /* RFC 3261 9.1: Request-URI, Call-ID, From, To, top Via and Route as
         * in the request cancelled; CSeq number too, method CANCEL */
        const char *c = cancel_of->s;
        ruri = S(c, cancel_of->ruri);
        c += cancel_of->ruri;
        nm[k] = S("Via", 3);
        trust[k] = SD_BUILD_COPIED;
        vl[k++] = S(c, cancel_of->via);
        c += cancel_of->via;
        sd_str to = S(c, cancel_of->to);
        c += cancel_of->to;
        nm[k] = S("Max-Forwards", 12);
        trust[k] = SD_BUILD_TRUSTED;
        vl[k++] = S("70", 2);
        const char *re = c + cancel_of->routes;
        while (c < re) {
            const char *nl = memchr(c, '\n', (size_t)(re - c));
            const char *e = nl ? nl : re;
            nm[k] = S("Route", 5);
            trust[k] = SD_BUILD_COPIED;
            vl[k++] = S(c, (size_t)(e - c));
            c = nl ? nl + 1 : re;
        }
        nm[k] = S("From", 4);
        trust[k] = SD_BUILD_TRUSTED;
        vl[k++] = from;
        nm[k] = S("To", 2);
        trust[k] = SD_BUILD_COPIED;
        vl[k++] = to;
        nm[k] = S("Call-ID", 7);
        trust[k] = SD_BUILD_TRUSTED;
        vl[k++] = slot_str(d, SL_CALL_ID);
        nm[k] = S("CSeq", 4);
        trust[k] = SD_BUILD_TRUSTED;
        vl[k++] = cseqv;
    } else {
        if (rt.len == 0) {
            rc = sd_error_set(err, SD_ESTATE, SIZE_MAX, "the dialog has no remote target yet");
            goto out;
        }
        size_t vlen = 0;
        char *via = w;
        if ((rc = via_value(d, via, &vlen, err)) != SD_OK) goto out;
        w += vlen;
        nm[k] = S("Via", 3);
        trust[k] = SD_BUILD_TRUSTED;
        vl[k++] = S(via, vlen);
        if (!user_has(unames, un, SD_H_MAX_FORWARDS)) {
            nm[k] = S("Max-Forwards", 12);
            trust[k] = SD_BUILD_TRUSTED;
            vl[k++] = S("70", 2);
        }
        /* the route set, one Route header per entry */
        uint32_t pos = 0;
        sd_span it;
        size_t first_route = k;
        while (k < cap - un - 8 && sd_list_next(routes.p, (sd_span){0, (uint32_t)routes.len}, &pos, &it) == 1) {
            /* the set holds at most 64 routes (route_set_of, restore): all fit */
            nm[k] = S("Route", 5);
            trust[k] = SD_BUILD_TRUSTED;
            vl[k++] = S(routes.p + it.off, it.len);
        }
        if (k > first_route && (d->flags & F_STRICT)) {
            /* strict routing (12.2.1.1): the first route is the
             * Request-URI, the remote target the last Route */
            sd_nameaddr na;
            sd_str r0 = vl[first_route];
            if (sd_nameaddr_parse(r0.p, (sd_span){0, (uint32_t)r0.len}, 0, &na, NULL) != SD_OK) {
                rc = sd_error_set(err, SD_ESTATE, SIZE_MAX, "the first route is not a name-addr");
                goto out;
            }
            size_t l = strip_for_ruri(r0.p + na.uri.off, na.uri.len, w);
            ruri = S(w, l);
            w += l;
            memmove(vl + first_route, vl + first_route + 1, (k - first_route - 1) * sizeof *vl);
            char *lr = w;
            *w++ = '<';
            w = put(w, rt.p, rt.len);
            *w++ = '>';
            vl[k - 1] = S(lr, rt.len + 2);
        } else {
            ruri = rt;
        }
        nm[k] = S("From", 4);
        trust[k] = SD_BUILD_TRUSTED;
        vl[k++] = from;
        nm[k] = S("To", 2);
        trust[k] = SD_BUILD_TRUSTED;
        vl[k++] = to_full;
        nm[k] = S("Call-ID", 7);
        trust[k] = SD_BUILD_TRUSTED;
        vl[k++] = slot_str(d, SL_CALL_ID);
        nm[k] = S("CSeq", 4);
        trust[k] = SD_BUILD_TRUSTED;
        vl[k++] = cseqv;
        if (needs_contact(mid) && !user_has(unames, un, SD_H_CONTACT)) {
            char *c = w;
            *w++ = '<';
            w = put(w, lt.p, lt.len);
            *w++ = '>';
            nm[k] = S("Contact", 7);
            trust[k] = SD_BUILD_TRUSTED;
            vl[k++] = S(c, lt.len + 2);
        }
    }
    for (size_t i = 0; i < un; i++) {
        nm[k] = unames[i];
        /* checked by check_user_headers; a Content-Length the serializer
         * compares with the body and writes once itself */
        trust[k] = sd_hdr_lookup(unames[i].p, unames[i].len) == SD_H_CONTENT_LENGTH ? SD_BUILD_CHECKED
                                                                                     : SD_BUILD_TRUSTED;
        vl[k++] = uvalues[i];
    }
    rc = sd_msg_build_ex(out, method, ruri, 0, S(NULL, 0), nm, vl, trust, k, body, body_len, SD_BUILD_TRUSTED_RURI,
                         err);
out:
    if (scratch != sc_stack) free(scratch);
    if (nm != nm_stack) free(nm);
    free(hf.heap);
    free(ht.heap);
    return rc;
}

/* Whether the dialog may send a `mid` request now (lock held; not CANCEL). */
static sd_err request_allowed(const sd_dialog *d, int mid, sd_error *err)
{
    if (d->flags & F_CLOSED) return sd_error_set(err, SD_ECLOSED, SIZE_MAX, "the dialog is closed");
    if (d->state == SD_DLG_NONE || d->state == SD_DLG_TERMINATED)
        return sd_error_set(err, SD_ESTATE, SIZE_MAX, "no request can be sent in a %s dialog",
                            sd_dlg_state_name((sd_dlg_state)d->state));
    if (mid == SD_M_INVITE && (d->flags & (F_INV_OUT | F_INV_IN | F_ACK_OUT | F_ACK_IN)))
        return sd_error_set(err, SD_ESTATE, SIZE_MAX, "an INVITE is in progress%s (RFC 3261 14.1)",
                            (d->flags & (F_ACK_OUT | F_ACK_IN)) ? ": its 2xx is not acknowledged yet" : "");
    if (mid == SD_M_BYE) {
        if (d->role == SD_DLG_UAS && d->state == SD_DLG_EARLY)
            return sd_error_set(err, SD_ESTATE, SIZE_MAX, "the callee must not send BYE on an early dialog (RFC 3261 15)");
        if (d->flags & F_ACK_IN)
            return sd_error_set(err, SD_ESTATE, SIZE_MAX, "the callee sends BYE only after the ACK of its 2xx (RFC 3261 15)");
        if (d->state == SD_DLG_TERMINATING) return sd_error_set(err, SD_ESTATE, SIZE_MAX, "a BYE was sent already");
    }
    return SD_OK;
}

sd_err sd_dialog_create_request(sd_dialog *d, sd_str method, const sd_str *names, const sd_str *values, size_t n,
                                const char *body, size_t body_len, sd_buf *out, uint32_t *cseq_out, sd_error *err)
{
    static const sd_validator v_method = {SD_V_METHOD, 0};
    sd_err rc;
    if ((rc = sd_validate(&v_method, method.p, method.len, err)) != SD_OK)
        return rewrap(err, SD_EVALID, 1, "method");
    if ((rc = check_user_headers(names, values, n, err)) != SD_OK) return rc;
    int mid = sd_method_lookup(method.p, method.len);
    if (mid == SD_M_ACK)
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "an ACK answers a 2xx: use create_ack(response)");
    fired f = {0};
    size_t before = out->len;
    uint32_t cseq = 0;
    if (mid != SD_M_CANCEL) {
        /* check, then take the number atomically with the lock released (N
         * threads get N distinct, contiguous numbers whatever the lock
         * does), then check again and build. A refused request takes no
         * number, unless the state changed in between: then its number is
         * used up (dialog.h). */
        sd_lock_acquire(&d->lock);
        rc = request_allowed(d, mid, err);
        sd_lock_release(&d->lock);
        if (rc != SD_OK || (rc = next_cseq(d, &cseq, err)) != SD_OK) return rc;
    }
    sd_lock_acquire(&d->lock);
    if (mid == SD_M_CANCEL) {
        /* RFC 3261 9.1: only a pending INVITE, only after a provisional response */
        if (d->flags & F_CLOSED) {
            rc = sd_error_set(err, SD_ECLOSED, SIZE_MAX, "the dialog is closed");
        } else if (!(d->flags & F_INV_OUT) || d->creq == NULL) {
            rc = sd_error_set(err, SD_ESTATE, SIZE_MAX, "no INVITE of ours is pending: nothing to CANCEL");
        } else if (!(d->flags & F_GOT_1XX)) {
            rc = sd_error_set(err, SD_ESTATE, SIZE_MAX,
                              "a CANCEL waits for a provisional response to the INVITE (RFC 3261 9.1)");
        } else {
            cseq = d->creq->cseq;
            rc = build_request(d, S("CANCEL", 6), cseq, d->creq, names, values, n, body, body_len, out, err);
        }
        goto done;
    }
    if ((rc = request_allowed(d, mid, err)) != SD_OK) goto done;
    if ((rc = build_request(d, method, cseq, NULL, names, values, n, body, body_len, out, err)) != SD_OK) goto done;
    if (mid == SD_M_INVITE) {
        /* keep our re-INVITE for its CANCEL and for matching */
        size_t hcap = n + 80;
        sd_header *hb = malloc(hcap * sizeof *hb);
        sd_msg km;
        sd_parse_opts po = d->env->parse;
        po.flags &= ~(unsigned)SD_PARSE_STREAM;
        cinfo *k = NULL;
        if (hb == NULL) {
            rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
        } else if ((rc = sd_msg_parse(out->p + before, out->len - before, &po, &km, hb, hcap, err)) == SD_OK &&
                   (k = cinfo_new(out->p + before, &km)) == NULL) {
            rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
        }
        free(hb);
        if (rc != SD_OK) goto done;
        free(d->creq);
        d->creq = k;
        d->flags |= F_INV_OUT;
        d->flags &= (uint16_t)~F_GOT_1XX;
        d->inv_cseq_out = cseq;
    } else if (mid == SD_M_BYE) {
        transition(d, SD_DE_BYE_SENT, mid, 0, &f);
    }
    d->last_activity = now(d);
done:
    if (rc != SD_OK && out->len > before) {
        out->len = before;
        if (out->p) out->p[before] = '\0';
    }
    if (rc == SD_OK && cseq_out) *cseq_out = cseq;
    unlock_and_fire(d, &f);
    return rc;
}

sd_err sd_dialog_create_ack(sd_dialog *d, const char *buf, const sd_msg *resp, const sd_str *names,
                            const sd_str *values, size_t n, const char *body, size_t body_len, sd_buf *out,
                            sd_error *err)
{
    sd_err rc = check_user_headers(names, values, n, err);
    if (rc != SD_OK) return rc;
    size_t before = out->len;
    sd_lock_acquire(&d->lock);
    if (d->flags & F_CLOSED) {
        rc = sd_error_set(err, SD_ECLOSED, SIZE_MAX, "the dialog is closed");
    } else if (resp->is_request || resp->status < 200 || resp->status > 299 || resp->cseq_method_id != SD_M_INVITE) {
        rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "an ACK of this kind answers a 2xx to INVITE (RFC 3261 13.2.2.4)");
    } else if (d->state == SD_DLG_NONE || d->state == SD_DLG_EARLY ||
               (d->state == SD_DLG_TERMINATED && !(d->flags & F_ACK_OUT))) {
        rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "receive() the 2xx before acknowledging it");
    } else if (!span_eq(buf, resp->call_id, slot_str(d, SL_CALL_ID)) || !resp->has_to_tag ||
               !span_eq(buf, resp->to_tag, tag_str(d, 1)) ||
               (resp->cseq != d->inv_cseq_out && !(d->role == SD_DLG_UAC && resp->cseq == d->create_cseq))) {
        rc = sd_error_set(err, SD_EINVAL, SIZE_MAX, "the 2xx does not answer an INVITE of this dialog");
    } else {
        rc = build_request(d, S("ACK", 3), resp->cseq, NULL, names, values, n, body, body_len, out, err);
        if (rc == SD_OK) {
            /* the ACK state follows our latest INVITE: acknowledging an
             * older 2xx again leaves the latest one waiting */
            if (resp->cseq == d->ack_cseq_out) d->flags &= (uint16_t)~F_ACK_OUT;
            d->last_activity = now(d);
        }
    }
    if (rc != SD_OK && out->len > before) out->len = before;
    sd_lock_release(&d->lock);
    return rc;
}

sd_err sd_dialog_respond(sd_dialog *d, int status, sd_str reason, const sd_str *names, const sd_str *values,
                         size_t n, const char *body, size_t body_len, sd_buf *out, sd_error *err)
{
    if (status < 101 || status > 699)
        return sd_error_set(err, SD_EVALID, 0, "status %d outside 101..699 (100 is the transaction layer's)", status);
    sd_err rc = check_user_headers(names, values, n, err);
    if (rc != SD_OK) return rc;
    fired f = {0};
    size_t before = out->len;
    guard g;
    lock_guarded(d, &g);
    const kept *k = d->sreq;
    if (d->flags & F_CLOSED) {
        rc = sd_error_set(err, SD_ECLOSED, SIZE_MAX, "the dialog is closed");
        goto done;
    }
    if (k == NULL || ((k->m.method_id == SD_M_INVITE) && !(d->flags & F_INV_IN))) {
        rc = sd_error_set(err, SD_ESTATE, SIZE_MAX, "no received request waits for an answer");
        goto done;
    }
    if (d->state == SD_DLG_TERMINATED && status < 300) {
        rc = sd_error_set(err, SD_ESTATE, SIZE_MAX, "the dialog is terminated: only a 3xx-6xx can still answer");
        goto done;
    }
    const char *kb = KEPT_BUF(k);
    const sd_msg *km = &k->m;
    int creating = km->cseq == d->create_cseq && km->method_id == d->create_method && !km->has_to_tag;
    /* extra headers: Record-Route mirrored (creating request, 1xx/2xx),
     * Contact (1xx/2xx) unless the caller gives one, then the caller's */
    size_t nrr = 0;
    for (int i = -1; (i = sd_msg_next(km, SD_H_RECORD_ROUTE, i)) >= 0;) nrr++;
    size_t cap = nrr + 1 + n;
    sd_str *nm = malloc(cap * 2 * sizeof *nm + 1);
    char *scratch = malloc((size_t)km->msg_len + slot_str(d, SL_LOCAL_TARGET).len + 4);
    if (nm == NULL || scratch == NULL) {
        free(nm);
        free(scratch);
        rc = sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
        goto done;
    }
    sd_str *vl = nm + cap;
    size_t j = 0;
    char *w = scratch;
    if (status < 300) {
        if (creating)
            for (int i = -1; (i = sd_msg_next(km, SD_H_RECORD_ROUTE, i)) >= 0;) {
                const sd_header *h = &km->hdrs[i];
                size_t l = (h->flags & SD_HF_FOLDED) ? sd_unfold(kb + h->value.off, h->value.len, w)
                                                      : (memcpy(w, kb + h->value.off, h->value.len), h->value.len);
                nm[j] = S("Record-Route", 12);
                vl[j++] = S(w, l);
                w += l;
            }
        if (!user_has(names, n, SD_H_CONTACT)) {
            sd_str lt = slot_str(d, SL_LOCAL_TARGET);
            w[0] = '<';
            memcpy(w + 1, lt.p, lt.len);
            w[lt.len + 1] = '>';
            nm[j] = S("Contact", 7);
            vl[j++] = S(w, lt.len + 2);
        }
    }
    for (size_t i = 0; i < n; i++) {
        nm[j] = names[i];
        vl[j++] = values[i];
    }
    rc = sd_msg_build_response(out, kb, km, status, reason, tag_str(d, 0), nm, vl, j, body,
                               body_len, err);
    free(nm);
    free(scratch);
    if (rc != SD_OK) goto done;
    /* apply */
    int mid = km->method_id;
    if (status >= 200) {
        if (mid == SD_M_INVITE) {
            d->flags &= (uint16_t)~F_INV_IN;
            if (status < 300) d->flags |= F_ACK_IN;
        }
        free(d->sreq);
        d->sreq = NULL;
    }
    if (creating) {
        if (status < 200) transition(d, SD_DE_PROVISIONAL, mid, status, &f);
        else if (status < 300) transition(d, SD_DE_SUCCESS, mid, status, &f);
        else transition(d, SD_DE_FAILURE, mid, status, &f);
    }
    d->last_activity = now(d);
done:
    if (rc != SD_OK && out->len > before) out->len = before;
    unlock_guarded(d, &g, &f);
    return rc;
}

sd_err sd_dialog_timeout(sd_dialog *d, sd_error *err)
{
    fired f = {0};
    sd_err rc = SD_OK;
    guard g;
    lock_guarded(d, &g);
    if (d->flags & F_CLOSED) rc = sd_error_set(err, SD_ECLOSED, SIZE_MAX, "the dialog is closed");
    else if (d->state == SD_DLG_TERMINATED) rc = sd_error_set(err, SD_ESTATE, SIZE_MAX, "the dialog is terminated");
    else transition(d, SD_DE_TIMEOUT, SD_M_OTHER, 0, &f);
    unlock_guarded(d, &g, &f);
    return rc;
}

sd_err sd_dialog_close(sd_dialog *d)
{
    fired f = {0};
    guard g;
    lock_guarded(d, &g);
    if (!(d->flags & F_CLOSED)) {
        transition(d, SD_DE_CLOSE, SD_M_OTHER, 0, &f);
        /* release in reverse order of acquisition: kept requests, then the
         * listener; the arena and history stay for snapshots until the
         * last reference goes */
        free(d->sreq);
        d->sreq = NULL;
        free(d->creq);
        d->creq = NULL;
        d->flags = (uint16_t)((d->flags | F_CLOSED) & ~(F_INV_OUT | F_INV_IN | F_ACK_OUT | F_ACK_IN));
    }
    int removed = g.s ? sd_store_settle_(g.s, d, g.had_rtag) : 0;
    sd_dlg_listener fn = d->lfn;
    void *ctx = d->lctx;
    d->lfn = NULL;
    d->lctx = NULL;
    sd_lock_release(&d->lock);
    if (g.s) {
        sd_store_shard_unlock_(g.s, g.h);
        if (removed) sd_store_removed_(g.s, d);
        sd_store_let_go_(g.s, g.ref);
    }
    if (fn)
        for (int i = 0; i < f.n; i++) fn(ctx, d, &f.t[i]);
    return SD_OK;
}

/* ------------------------------------------------------------- reading */

sd_dlg_state sd_dialog_state(sd_dialog *d)
{
    sd_lock_acquire(&d->lock);
    sd_dlg_state s = (sd_dlg_state)d->state;
    sd_lock_release(&d->lock);
    return s;
}

sd_dlg_role sd_dialog_role(sd_dialog *d)
{
    return (sd_dlg_role)d->role; /* set at creation, never changed */
}

int sd_dialog_is_closed(sd_dialog *d)
{
    sd_lock_acquire(&d->lock);
    int c = (d->flags & F_CLOSED) != 0;
    sd_lock_release(&d->lock);
    return c;
}

/* The URI of a From/To value the dialog checked when it took it in. */
static sd_str header_uri(sd_str v)
{
    sd_nameaddr na;
    if (v.len == 0 || !locate_addr(v.p, v.len, &na)) return S(v.p, 0);
    return S(v.p + na.uri.off, na.uri.len);
}

sd_err sd_dialog_snapshot(sd_dialog *d, sd_dlg_snap **out, sd_error *err)
{
    sd_lock_acquire(&d->lock);
    size_t hist = d->nhist * sizeof(sd_dlg_transition);
    size_t shared = 0;
    for (int k = 0; k < NSHARED; k++) shared += slot_str(d, SL__ARENA + k).len;
    shared += d->ltag.len + d->rtag.len; /* the tags go back into the From and To values */
    size_t sz = sizeof(sd_dlg_snap) + hist + d->arena_len + shared;
    sd_dlg_snap *s = malloc(sz);
    if (s == NULL) {
        sd_lock_release(&d->lock);
        return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    }
    sd_dlg_transition *h = (sd_dlg_transition *)(s + 1);
    char *a = (char *)h + hist;
    for (size_t i = 0; i < d->nhist; i++) h[i] = hent_unpack(d, hist_of(d)[i]);
    if (d->arena_len) memcpy(a, d->arena, d->arena_len);
    sd_str sh[NSHARED];
    char *w = a + d->arena_len;
    for (int k = 0; k < NSHARED; k++) {
        sd_str v = slot_str(d, SL__ARENA + k);
        if (k < 2) { /* From / To: the full value, tag included */
            sd_str tag = tag_str(d, k);
            span16 at = k ? d->rtag : d->ltag;
            memcpy(w, v.p, at.off);
            memcpy(w + at.off, tag.p, tag.len);
            memcpy(w + at.off + tag.len, v.p + at.off, v.len - at.off);
            sh[k] = S(w, v.len + tag.len);
            w += v.len + tag.len;
            continue;
        }
        if (v.len) memcpy(w, v.p, v.len);
        sh[k] = S(w, v.len);
        w += v.len;
    }
#define SLOT(i) ((i) >= SL__ARENA ? sh[(i) - SL__ARENA] : S(a + d->slot[i].off, d->slot[i].len))

    s->state = d->state;
    s->role = d->role;
    s->secure = (d->flags & F_SECURE) != 0;
    s->closed = (d->flags & F_CLOSED) != 0;
    uint64_t ls = atomic_load(&d->local_seq);
    s->has_local_seq = (ls & SEQ_SET) != 0;
    s->local_seq = (uint32_t)(ls & (SEQ_SET - 1));
    s->first_local_seq = s->has_local_seq ? atomic_load(&d->seq_first) : 0;
    s->has_remote_seq = (d->flags & F_REMOTE_SEQ) != 0;
    s->remote_seq = d->remote_seq;
    s->invite_pending_out = (d->flags & F_INV_OUT) != 0;
    s->invite_pending_in = (d->flags & F_INV_IN) != 0;
    s->ack_pending_out = (d->flags & F_ACK_OUT) != 0;
    s->ack_pending_in = (d->flags & F_ACK_IN) != 0;
    s->call_id = SLOT(SL_CALL_ID);
    s->local_header = SLOT(SL_LOCAL_HDR);
    s->remote_header = SLOT(SL_REMOTE_HDR);
    s->local_tag = SLOT(SL_LOCAL_TAG);
    s->remote_tag = SLOT(SL_REMOTE_TAG);
    s->local_uri = header_uri(s->local_header);
    s->remote_uri = header_uri(s->remote_header);
    s->local_target = SLOT(SL_LOCAL_TARGET);
    s->remote_target = SLOT(SL_REMOTE_TARGET);
    s->route_set = SLOT(SL_ROUTES);
    s->created_at = d->created_at;
    s->last_activity = d->last_activity;
    s->nhistory = d->nhist;
    s->history = h;
#undef SLOT
    sd_lock_release(&d->lock);
    *out = s;
    return SD_OK;
}

sd_err sd_dialog_restore(const sd_dlg_env *env, const sd_dlg_snap *s, sd_dialog **out, sd_error *err)
{
    const sd_limits *lim = &env->parse.limits;
    sd_err rc;
    if (s->state >= SD_DLG__NSTATES || s->role > SD_DLG_UAS)
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "state or role out of range");
    if (s->state == SD_DLG_NONE)
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "a dialog in state none has a transaction in progress: it cannot be restored");
    if (s->local_seq > SEQ_MAX || s->remote_seq > SEQ_MAX)
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "sequence numbers must be below 2**31");
    if ((rc = check_value(SD_V_CALLID, s->call_id, lim->max_call_id, "call_id", err)) != SD_OK) return rc;
    /* these strings go into requests as trusted parts: no CTL, so no CR or
     * LF, may be in them (RFC 3261 7.3.1; a folded value is refused too) */
    {
        const sd_str v[5] = {s->local_header, s->remote_header, s->route_set, s->local_target, s->remote_target};
        static const char *const what[5] = {"local_header", "remote_header", "route_set", "local_target",
                                            "remote_target"};
        for (int i = 0; i < 5; i++)
            if ((rc = check_value(SD_V_HEADER_VALUE, v[i], ARENA_MAX, what[i], err)) != SD_OK) return rc;
    }
    span16 lt, rtg;
    if ((rc = addr_parts(s->local_header.p, s->local_header.len, lim, 0, NULL, &lt, 1, "local_header", err)) != SD_OK ||
        (rc = addr_parts(s->remote_header.p, s->remote_header.len, lim, 0, NULL, &rtg, 1, "remote_header", err)) !=
            SD_OK)
        return rc;
    if (s->local_header.len > ARENA_MAX || s->remote_header.len > ARENA_MAX)
        return sd_error_set(err, SD_ELIMIT, SIZE_MAX, "headers too long");
    sd_str targets[2] = {s->local_target, s->remote_target};
    for (int i = 0; i < 2; i++) {
        sd_uri u;
        if (targets[i].len == 0 ||
            sd_uri_parse(targets[i].p, (sd_span){0, (uint32_t)targets[i].len}, lim->max_uri, &u, err) != SD_OK ||
            (u.scheme_id != SD_URI_SIP && u.scheme_id != SD_URI_SIPS))
            return sd_error_set(err, SD_EINVAL, SIZE_MAX, "%s target must be a SIP or SIPS URI", i ? "remote" : "local");
    }
    /* the route set: a list of name-addrs with SIP/SIPS URIs */
    if (s->route_set.len) {
        uint32_t pos = 0;
        sd_span it;
        int r;
        size_t cnt = 0;
        while ((r = sd_list_next(s->route_set.p, (sd_span){0, (uint32_t)s->route_set.len}, &pos, &it)) == 1) {
            sd_nameaddr na;
            sd_uri u;
            if (++cnt > 64 || sd_nameaddr_parse(s->route_set.p, it, 0, &na, err) != SD_OK || !na.has_brackets ||
                sd_uri_parse(s->route_set.p, na.uri, lim->max_uri, &u, err) != SD_OK ||
                (u.scheme_id != SD_URI_SIP && u.scheme_id != SD_URI_SIPS))
                return sd_error_set(err, SD_EINVAL, SIZE_MAX, "route %zu is not a <SIP or SIPS URI>", cnt);
        }
        if (r < 0) return sd_error_set(err, SD_EINVAL, SIZE_MAX, "malformed route set");
    }
    for (size_t i = 0; i < s->nhistory; i++) {
        const sd_dlg_transition *t = &s->history[i];
        if (t->from >= SD_DLG__NSTATES || t->to >= SD_DLG__NSTATES || t->event >= SD_DE__NEVENTS ||
            t->method > SD_M_UPDATE || (t->status != 0 && (t->status < 100 || t->status > 699)))
            return sd_error_set(err, SD_EINVAL, SIZE_MAX, "history entry %zu out of range", i);
        /* kept as microseconds since created_at, for up to 2**40 of them */
        if (t->at_ns < s->created_at || (uint64_t)(t->at_ns - s->created_at) / 1000u > HENT_US_MAX)
            return sd_error_set(err, SD_EINVAL, SIZE_MAX, "history entry %zu: time before created_at or 12 days after", i);
    }
    if (s->nhistory > 65535) return sd_error_set(err, SD_ELIMIT, SIZE_MAX, "history too long");
    sd_dialog *d = alloc_dialog(env);
    if (d == NULL) return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    sd_str repl[SL__N] = {
        [SL_CALL_ID] = s->call_id,
        [SL_LOCAL_HDR] = s->local_header,
        [SL_REMOTE_HDR] = s->remote_header,
        [SL_LOCAL_TARGET] = s->local_target,
        [SL_REMOTE_TARGET] = s->remote_target,
        [SL_ROUTES] = s->route_set,
    };
    if ((rc = arena_replace(d, repl, &lt, &rtg, err)) != SD_OK) {
        free_dialog(d);
        return rc;
    }
    set_strict(d);
    if (s->nhistory > 2) {
        hent *nh = malloc(s->nhistory * sizeof *nh);
        if (nh == NULL) {
            free_dialog(d);
            return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
        }
        d->h.heap = nh;
        d->histcap = (uint16_t)s->nhistory;
    }
    d->created_at = s->created_at; /* history times count from it */
    for (size_t i = 0; i < s->nhistory; i++) hist_of(d)[i] = hent_pack(d, &s->history[i]);
    d->nhist = (uint16_t)s->nhistory;
    d->state = s->state;
    d->role = s->role;
    if (s->secure) d->flags |= F_SECURE;
    if (s->has_remote_seq) {
        d->flags |= F_REMOTE_SEQ;
        d->remote_seq = s->remote_seq;
    }
    if (s->has_local_seq) {
        atomic_store(&d->local_seq, SEQ_SET | s->local_seq);
        atomic_store(&d->seq_first, s->first_local_seq <= s->local_seq ? s->first_local_seq : 0);
    }
    d->create_method = NO_METHOD;
    d->create_cseq = 0;
    d->created_at = s->created_at;
    d->last_activity = s->last_activity;
    *out = d;
    return SD_OK;
}

size_t sd_dialog_footprint(sd_dialog *d)
{
    sd_lock_acquire(&d->lock);
    size_t n = sizeof *d + d->arena_len;
    /* a shared string counts with its share: size / holders, rounded up */
    for (int k = 0; k < NSHARED; k++)
        if (d->shared[k]) {
            uint32_t r = sd_istr_refs(d->shared[k]);
            n += (sd_istr_size(d->shared[k]) + (r ? r : 1) - 1) / (r ? r : 1);
        }
    if (d->histcap > 2) n += d->histcap * sizeof(hent);
    if (d->creq) n += d->creq->size;
    if (d->sreq) n += d->sreq->size;
    sd_lock_release(&d->lock);
    return n;
}

/* ------------------------------------------------------------- the store's */

sd_dlg_link *sd_dialog_link_(sd_dialog *d)
{
    return &d->link;
}

uint32_t *sd_dialog_src_(sd_dialog *d)
{
    return &d->src;
}

void sd_dialog_keys_(const sd_dialog *d, sd_str *call_id, sd_str *local_tag, sd_str *remote_tag)
{
    *call_id = slot_str(d, SL_CALL_ID);
    *local_tag = tag_str(d, 0);
    *remote_tag = tag_str(d, 1);
}

void sd_dialog_lock_(sd_dialog *d)
{
    sd_lock_acquire(&d->lock);
}

void sd_dialog_unlock_(sd_dialog *d)
{
    sd_lock_release(&d->lock);
}

int sd_dialog_live_locked_(const sd_dialog *d)
{
    return !(d->flags & F_CLOSED) && d->state != SD_DLG_TERMINATED;
}

int sd_dialog_closed_locked_(const sd_dialog *d)
{
    return (d->flags & F_CLOSED) != 0;
}

sd_dlg_state sd_dialog_state_locked_(const sd_dialog *d)
{
    return (sd_dlg_state)d->state;
}

void sd_dialog_last_transition_locked_(const sd_dialog *d, sd_dlg_transition *out)
{
    if (d->nhist) *out = hent_unpack(d, hist_of(d)[d->nhist - 1]);
    else memset(out, 0, sizeof *out);
}

void *sd_dialog_listener_peek_(const sd_dialog *d, sd_dlg_listener fn)
{
    return d->lfn == fn ? d->lctx : NULL;
}

void *sd_dialog_listener_ctx(sd_dialog *d, sd_dlg_listener fn)
{
    sd_lock_acquire(&d->lock);
    void *ctx = d->lfn == fn ? d->lctx : NULL;
    sd_lock_release(&d->lock);
    return ctx;
}
