/*
 * bench_dialog - time SIP dialog creation and in-dialog request building:
 * sipdialog's dialog core against GNU oSIP's osip_dialog, on the same
 * messages, and measure what a confirmed dialog costs in memory.
 *
 *   bench_dialog [--peer sipdialog|osip|both] [--what create,bye,footprint]
 *                [--no-rr] [--copies K] [--batches N] [--batch-ms MS]
 *                [--iters N] [-v] INVITE RESPONSE
 *
 * INVITE is the dialog-creating request we sent, RESPONSE its 2xx (default
 * use: benchmarks/corpus/invite.sip and 200_ok.sip). --no-rr removes every
 * Record-Route line from both messages first (a dialog without a route set).
 *
 * stdout: one line per measurement, KEY <TAB> VALUE:
 *   create.sipdialog   median ns: sd_dialog_new_uac(INVITE) +
 *                      sd_dialog_receive(RESPONSE) + sd_dialog_unref
 *   create.osip        median ns: osip_dialog_init_as_uac(RESPONSE) +
 *                      osip_dialog_free
 *   create.ratio       osip / sipdialog
 *   new_uac.sipdialog  median ns: sd_dialog_new_uac + sd_dialog_unref alone
 *                      (for the breakdown; no oSIP counterpart)
 *   create.sipdialog.fast_env, bye.sipdialog.fast_env   the same as
 *                      create/bye.sipdialog with an env whose clock is a
 *                      counter and whose random bytes come from a
 *                      user-space generator: what the clock_gettime and
 *                      getrandom calls cost (diagnostic only)
 *   bye.sipdialog      median ns: sd_dialog_create_request(BYE) into an
 *                      sd_buf (wire bytes ready)
 *   bye.osip           median ns: the same BYE built from the osip_dialog_t
 *                      with osip_message_* calls, osip_message_to_str, and
 *                      the message and string freed
 *   bye.ratio          osip / sipdialog
 *   footprint.sipdialog          sd_dialog_footprint of a confirmed dialog among
 *                                256 live ones of one user agent (the strings
 *                                they share count with its share)
 *   malloc.sipdialog.blocks      heap blocks the confirmed dialog holds
 *   malloc.sipdialog.usable      sum of their malloc_usable_size
 *   malloc.sipdialog.chunks      the same plus glibc's 8-byte chunk headers
 *   malloc.sipdialog.calls       allocation calls of new_uac + receive
 *   malloc.sipdialog.{new_uac,receive,bye}_calls   the same per step (the
 *                                BYE into an already grown sd_buf)
 *   heap.sipdialog / heap.osip   heap bytes in use per dialog (mallinfo2
 *                                delta over 4096 live confirmed dialogs)
 * Everything else (-v details, the two BYEs) goes to stderr.
 *
 * Method. Both files are read as bytes and copied K times (default 64); in
 * every copy but the first the letters and digits of the Call-ID, the From
 * tag and the To tag are replaced by others of the same class, the same
 * way in the INVITE and in the response of one copy (so each pair still
 * belongs together) and differently from copy to copy. Every copy is parsed
 * once, before any timing, by both libraries (sd_msg_parse with
 * SD_PARSE_CHECK_URIS, which like osip_message_parse parses the URIs of
 * From, To, Contact and Record-Route; osip_message_parse); only dialog
 * work is timed. Timed batches go through
 * the copies round-robin; after a warm-up the batch size of each operation
 * is calibrated to about --batch-ms milliseconds, then --batches batches
 * (default 31) of each are timed, alternating between the operations
 * compared (so a ratio's two figures see the same load of a shared
 * machine), and the median of their per-operation means is reported.
 * --iters fixes the batch size instead (for callgrind: no calibration).
 *
 * Creation is timed with the dialog freed inside the loop, for both
 * libraries. Note the asymmetry of the APIs: oSIP builds its dialog from the
 * response alone, sipdialog from the request (new_uac keeps a copy of it
 * until the final response, for CANCEL and matching) and then applies the
 * response (remote tag, target, route set, state change, history entry).
 * sipdialog runs with sd_dlg_env_default (clock_gettime and getrandom).
 *
 * A BYE moves a sipdialog dialog to TERMINATING (a second BYE is refused),
 * so each BYE is built on a fresh confirmed dialog: groups of 256 dialogs
 * are created outside the timed region, the 256 BYEs are timed, the
 * dialogs freed untimed. oSIP is treated the same way. The sipdialog BYE is
 * appended to one sd_buf reset to length 0 before each request (its memory
 * reused, as a sender would); the oSIP BYE is what an application has to
 * write by hand, since libosip2 has no in-dialog request builder (eXosip2
 * does it the same way): Request-URI from the remote Contact (strict
 * routing handled), Via with a fresh branch, Max-Forwards 70, the route
 * set as Route headers, From/To cloned from the dialog, Call-ID, CSeq
 * local+1 BYE, Content-Length 0, then osip_message_to_str. Before timing,
 * both BYEs of every copy are parsed with sd_msg_parse and must have the
 * same Request-URI and the same header names with the same counts.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sipdialog/dialog.h"
#include "sipdialog/msg.h"

#include <osip2/osip_dialog.h>
#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>
#include "bench_util.h"

#define HDR_CAP 128
#define GROUP 256      /* dialogs per timed group of BYEs */
#define HEAP_N 4096    /* live dialogs for the heap figures */

static volatile uint64_t g_sink;

/* ---- malloc accounting of the core (linked with -Wl,--wrap=...) ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static int g_track;        /* count allocations of the core while set */
static long g_blocks;      /* live blocks allocated while tracking */
static long g_usable;      /* their malloc_usable_size sum */
static long g_allocs;      /* allocation calls while tracking */

void *__wrap_malloc(size_t n)
{
    void *p = __real_malloc(n);
    if (g_track && p) {
        g_blocks++;
        g_allocs++;
        g_usable += (long)malloc_usable_size(p);
    }
    return p;
}

void *__wrap_calloc(size_t a, size_t b)
{
    void *p = __real_calloc(a, b);
    if (g_track && p) {
        g_blocks++;
        g_allocs++;
        g_usable += (long)malloc_usable_size(p);
    }
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    long before = (g_track && p) ? (long)malloc_usable_size(p) : 0;
    void *q = __real_realloc(p, n);
    if (g_track && q) {
        g_allocs++;
        if (p == NULL)
            g_blocks++;
        g_usable += (long)malloc_usable_size(q) - before;
    }
    return q;
}

void __wrap_free(void *p)
{
    if (g_track && p) {
        g_blocks--;
        g_usable -= (long)malloc_usable_size(p);
    }
    __real_free(p);
}

/* ---- inputs ---- */

typedef struct pair {
    size_t k;
    size_t ilen, rlen;
    char **inv, **resp;      /* k copies each */
    sd_msg *sinv, *sresp;    /* sipdialog parses */
    sd_header *hinv, *hresp; /* their header storage, HDR_CAP per copy */
    osip_message_t **oresp;  /* oSIP parses of the responses */
    char **via_host;         /* host[:port] of the INVITE's Contact (our Via) */
} pair;

typedef struct config {
    int sd, osip;
    int w_create, w_bye, w_foot;
    int no_rr;
    size_t copies;
    int batches;
    double batch_ns;
    size_t fixed_iters;
    int verbose;
} config;

static sd_dlg_env g_env;       /* sd_dlg_env_default: clock_gettime, getrandom */
static sd_dlg_env g_fast_env;  /* user-space clock and generator (diagnostic) */
static const sd_dlg_env *g_envp = &g_env;
static sd_parse_opts g_opts;

static int64_t fast_now(void *ctx)
{
    return (int64_t)++*(uint64_t *)ctx;
}

static sd_err fast_random(void *ctx, void *buf, size_t n)
{
    uint64_t *st = ctx;
    unsigned char *p = buf;
    while (n > 0) {
        uint64_t x = *st += 0x9e3779b97f4a7c15ull;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
        x ^= x >> 31;
        size_t k = n < 8 ? n : 8;
        memcpy(p, &x, k);
        p += k;
        n -= k;
    }
    return SD_OK;
}

static uint64_t g_fast_clock, g_fast_rng = 42;

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Replace each ASCII letter or digit of p[0..n) by another of the same
 * class, chosen from (copy, field, position): the same field gets the same
 * bytes in both messages of a copy. */
static void vary_run(char *p, size_t n, unsigned copy, unsigned field)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        uint32_t r = mix32((copy * 0x9e3779b9U) ^ (field * 0x85ebca6bU) ^ (uint32_t)(i * 0xc2b2ae35U));
        if (c >= '0' && c <= '9')
            p[i] = (char)('0' + r % 10);
        else if (c >= 'a' && c <= 'z')
            p[i] = (char)('a' + r % 26);
        else if (c >= 'A' && c <= 'Z')
            p[i] = (char)('A' + r % 26);
    }
}

static int name_is(const char *p, size_t n, const char *lname, const char *compact)
{
    size_t ln = strlen(lname);

    if (compact && n == 1 && (p[0] | 0x20) == compact[0])
        return 1;
    if (n != ln)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((p[i] | 0x20) != lname[i])
            return 0;
    return 1;
}

enum { F_CALLID = 1, F_FROMTAG = 2, F_TOTAG = 3 };

/* Vary the tag of a From/To value v[0..lend). */
static void vary_tag(char *buf, size_t v, size_t lend, unsigned copy, unsigned field)
{
    int inq = 0, inb = 0;
    for (size_t i = v; i < lend; i++) {
        char ch = buf[i];
        if (inq) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                inq = 0;
            continue;
        }
        if (ch == '"')
            inq = 1;
        else if (ch == '<')
            inb = 1;
        else if (ch == '>')
            inb = 0;
        else if (ch == ';' && !inb) {
            size_t t = i + 1;
            while (t < lend && (buf[t] == ' ' || buf[t] == '\t'))
                t++;
            if (t + 3 <= lend && (buf[t] | 0x20) == 't' && (buf[t + 1] | 0x20) == 'a' && (buf[t + 2] | 0x20) == 'g') {
                t += 3;
                while (t < lend && (buf[t] == ' ' || buf[t] == '\t'))
                    t++;
                if (t < lend && buf[t] == '=') {
                    t++;
                    while (t < lend && (buf[t] == ' ' || buf[t] == '\t'))
                        t++;
                    size_t te = t;
                    while (te < lend && is_tokenish((unsigned char)buf[te]))
                        te++;
                    vary_run(buf + t, te - t, copy, field);
                }
            }
        }
    }
}

/* Vary Call-ID and the From/To tags of one copy in place (first physical
 * line of each header only; the body never). */
static void vary_copy(char *buf, size_t len, unsigned copy)
{
    const char *nl = memchr(buf, '\n', len);
    if (nl == NULL)
        return;
    size_t pos = (size_t)(nl - buf) + 1;
    while (pos < len) {
        nl = memchr(buf + pos, '\n', len - pos);
        size_t eol = nl ? (size_t)(nl - buf) : len;
        size_t lend = eol;
        if (lend > pos && buf[lend - 1] == '\r')
            lend--;
        if (lend == pos)
            break; /* end of the header block */
        if (buf[pos] != ' ' && buf[pos] != '\t') {
            const char *c = memchr(buf + pos, ':', lend - pos);
            if (c) {
                size_t ce = (size_t)(c - buf), ne = ce;
                while (ne > pos && (buf[ne - 1] == ' ' || buf[ne - 1] == '\t'))
                    ne--;
                size_t v = ce + 1;
                if (name_is(buf + pos, ne - pos, "call-id", "i")) {
                    while (v < lend && (buf[v] == ' ' || buf[v] == '\t'))
                        v++;
                    size_t ve = lend;
                    while (ve > v && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
                        ve--;
                    vary_run(buf + v, ve - v, copy, F_CALLID);
                } else if (name_is(buf + pos, ne - pos, "from", "f")) {
                    vary_tag(buf, v, lend, copy, F_FROMTAG);
                } else if (name_is(buf + pos, ne - pos, "to", "t")) {
                    vary_tag(buf, v, lend, copy, F_TOTAG);
                }
            }
        }
        pos = eol + 1;
    }
}

/* Remove the Record-Route header fields (with their continuation lines)
 * of buf in place; returns the new length. */
static size_t strip_record_route(char *buf, size_t len)
{
    size_t r = 0, w = 0;
    int in_rr = 0, in_body = 0, first = 1;
    while (r < len) {
        const char *nl = memchr(buf + r, '\n', len - r);
        size_t eol = nl ? (size_t)(nl - buf) + 1 : len;
        size_t l = eol - r;
        int drop = 0;
        if (!in_body && !first) {
            size_t lend = eol;
            while (lend > r && (buf[lend - 1] == '\n' || buf[lend - 1] == '\r'))
                lend--;
            if (lend == r) {
                in_body = 1;
            } else if (buf[r] == ' ' || buf[r] == '\t') {
                drop = in_rr;
            } else {
                const char *c = memchr(buf + r, ':', lend - r);
                size_t ne = c ? (size_t)(c - buf) : r;
                while (ne > r && (buf[ne - 1] == ' ' || buf[ne - 1] == '\t'))
                    ne--;
                in_rr = c && name_is(buf + r, ne - r, "record-route", NULL);
                drop = in_rr;
            }
        }
        first = 0;
        if (!drop) {
            memmove(buf + w, buf + r, l);
            w += l;
        }
        r = eol;
    }
    return w;
}

static void sd_parse_or_die(const char *what, size_t c, const char *buf, size_t len, sd_msg *m, sd_header *h)
{
    sd_error err;
    memset(&err, 0, sizeof err);
    if (sd_msg_parse(buf, len, &g_opts, m, h, HDR_CAP, &err) != SD_OK) {
        fprintf(stderr, "bench_dialog: sd_msg_parse rejects %s copy %zu at %zu: %s\n", what, c, err.offset,
                err.reason);
        exit(1);
    }
}

static void load_pair(const config *cfg, const char *ipath, const char *rpath, pair *p)
{
    char *idata, *rdata;
    size_t ilen, rlen;

    if (read_file(ipath, &idata, &ilen) != 0 || read_file(rpath, &rdata, &rlen) != 0) {
        fprintf(stderr, "bench_dialog: cannot read %s or %s: %s\n", ipath, rpath, strerror(errno));
        exit(1);
    }
    if (cfg->no_rr) {
        ilen = strip_record_route(idata, ilen);
        rlen = strip_record_route(rdata, rlen);
    }
    p->k = cfg->copies;
    p->ilen = ilen;
    p->rlen = rlen;
    p->inv = calloc(p->k, sizeof *p->inv);
    p->resp = calloc(p->k, sizeof *p->resp);
    p->sinv = calloc(p->k, sizeof *p->sinv);
    p->sresp = calloc(p->k, sizeof *p->sresp);
    p->hinv = calloc(p->k * HDR_CAP, sizeof *p->hinv);
    p->hresp = calloc(p->k * HDR_CAP, sizeof *p->hresp);
    p->oresp = calloc(p->k, sizeof *p->oresp);
    p->via_host = calloc(p->k, sizeof *p->via_host);
    if (!p->inv || !p->resp || !p->sinv || !p->sresp || !p->hinv || !p->hresp || !p->oresp || !p->via_host) {
        perror("calloc");
        exit(1);
    }
    for (size_t c = 0; c < p->k; c++) {
        p->inv[c] = xmalloc(ilen);
        p->resp[c] = xmalloc(rlen);
        memcpy(p->inv[c], idata, ilen);
        memcpy(p->resp[c], rdata, rlen);
        if (c > 0) {
            vary_copy(p->inv[c], ilen, (unsigned)c);
            vary_copy(p->resp[c], rlen, (unsigned)c);
        }
        sd_parse_or_die(ipath, c, p->inv[c], ilen, &p->sinv[c], p->hinv + c * HDR_CAP);
        sd_parse_or_die(rpath, c, p->resp[c], rlen, &p->sresp[c], p->hresp + c * HDR_CAP);

        /* oSIP: the response (for its dialog) and the INVITE (for the host
         * our Via names: what an application has configured) */
        osip_message_t *oi = NULL;
        if (osip_message_init(&p->oresp[c]) != 0 || osip_message_parse(p->oresp[c], p->resp[c], rlen) != 0 ||
            osip_message_init(&oi) != 0 || osip_message_parse(oi, p->inv[c], ilen) != 0) {
            fprintf(stderr, "bench_dialog: osip_message_parse rejects copy %zu\n", c);
            exit(1);
        }
        osip_contact_t *ct = NULL;
        if (osip_message_get_contact(oi, 0, &ct) < 0 || ct == NULL || ct->url == NULL || ct->url->host == NULL) {
            fprintf(stderr, "bench_dialog: the INVITE has no Contact URI with a host\n");
            exit(1);
        }
        size_t hl = strlen(ct->url->host) + (ct->url->port ? strlen(ct->url->port) + 1 : 0) + 1;
        p->via_host[c] = xmalloc(hl);
        if (ct->url->port)
            snprintf(p->via_host[c], hl, "%s:%s", ct->url->host, ct->url->port);
        else
            snprintf(p->via_host[c], hl, "%s", ct->url->host);
        osip_message_free(oi);
    }
    free(idata);
    free(rdata);
}

/* ---- sipdialog ---- */

static sd_dialog *sd_confirmed(const pair *p, size_t j)
{
    sd_dialog *d = NULL;
    sd_error err;
    if (sd_dialog_new_uac(g_envp, p->inv[j], &p->sinv[j], &d, &err) != SD_OK)
        return NULL;
    if (sd_dialog_receive(d, p->resp[j], &p->sresp[j], 0, NULL, &err) != SD_OK) {
        sd_dialog_unref(d);
        return NULL;
    }
    return d;
}

static uint64_t sd_create_run(const pair *p, size_t iters)
{
    uint64_t sink = 0;
    size_t j = 0;
    sd_error err;

    for (size_t i = 0; i < iters; i++) {
        sd_dialog *d = NULL;
        sd_err rc = sd_dialog_new_uac(g_envp, p->inv[j], &p->sinv[j], &d, &err);
        if (rc == SD_OK) {
            rc = sd_dialog_receive(d, p->resp[j], &p->sresp[j], 0, NULL, &err);
            sink += (uintptr_t)d;
            sd_dialog_unref(d);
        }
        sink += (uint64_t)rc;
        if (++j == p->k)
            j = 0;
    }
    return sink;
}

static uint64_t sd_new_uac_run(const pair *p, size_t iters)
{
    uint64_t sink = 0;
    size_t j = 0;
    sd_error err;

    for (size_t i = 0; i < iters; i++) {
        sd_dialog *d = NULL;
        sd_err rc = sd_dialog_new_uac(&g_env, p->inv[j], &p->sinv[j], &d, &err);
        if (rc == SD_OK) {
            sink += (uintptr_t)d;
            sd_dialog_unref(d);
        }
        sink += (uint64_t)rc;
        if (++j == p->k)
            j = 0;
    }
    return sink;
}

/* the same with the user-space clock and generator */
static uint64_t sd_create_fast_run(const pair *p, size_t iters)
{
    g_envp = &g_fast_env;
    uint64_t r = sd_create_run(p, iters);
    g_envp = &g_env;
    return r;
}

static sd_buf g_out;
static const sd_str BYE = {"BYE", 3};

/* One BYE on each of n fresh dialogs; returns the timed ns. */
static double sd_bye_group(const pair *p, size_t *j, size_t n, uint64_t *sink)
{
    sd_dialog *ds[GROUP];
    sd_error err;
    struct timespec t0, t1;

    for (size_t i = 0; i < n; i++) {
        ds[i] = sd_confirmed(p, *j);
        if (++*j == p->k)
            *j = 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < n; i++) {
        g_out.len = 0;
        uint32_t cseq = 0;
        sd_err rc = sd_dialog_create_request(ds[i], BYE, NULL, NULL, 0, NULL, 0, &g_out, &cseq, &err);
        *sink += (uint64_t)rc + g_out.len + cseq + (unsigned char)g_out.p[g_out.len / 2];
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (size_t i = 0; i < n; i++)
        sd_dialog_unref(ds[i]);
    return (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
}

static double sd_bye_fast_group(const pair *p, size_t *j, size_t n, uint64_t *sink)
{
    g_envp = &g_fast_env;
    double t = sd_bye_group(p, j, n, sink);
    g_envp = &g_env;
    return t;
}

/* ---- GNU oSIP ---- */

static uint64_t osip_create_run(const pair *p, size_t iters)
{
    uint64_t sink = 0;
    size_t j = 0;

    for (size_t i = 0; i < iters; i++) {
        osip_dialog_t *od = NULL;
        int rc = osip_dialog_init_as_uac(&od, p->oresp[j]);
        if (rc == 0) {
            sink += (uintptr_t)od;
            osip_dialog_free(od);
        }
        sink += (uint64_t)rc;
        if (++j == p->k)
            j = 0;
    }
    return sink;
}

static uint64_t g_branch_key = 0x5bd1e9955bd1e995ull, g_branch_ctr;

/*
 * The in-dialog BYE of RFC 3261 12.2.1.1 from an osip_dialog_t, by hand
 * (libosip2 has no such builder), then its wire form. *out malloc'd by oSIP
 * (osip_free). 0 or an oSIP error code.
 */
static int osip_build_bye(osip_dialog_t *od, const char *via_host, char **out, size_t *len)
{
    osip_message_t *req = NULL;
    osip_uri_t *ruri = NULL;
    char buf[512];
    int rc;

    if ((rc = osip_message_init(&req)) != 0)
        return rc;
    osip_message_set_method(req, osip_strdup("BYE"));
    osip_message_set_version(req, osip_strdup("SIP/2.0"));
    osip_message_set_status_code(req, 0);
    osip_message_set_reason_phrase(req, NULL);

    /* Request-URI and Route: loose routing keeps the remote target as the
     * Request-URI; a strict first route becomes the Request-URI and the
     * remote target the last Route */
    int strict = 0;
    osip_route_t *first = osip_list_get(&od->route_set, 0);
    if (first != NULL) {
        osip_uri_param_t *lr = NULL;
        osip_uri_uparam_get_byname(first->url, "lr", &lr);
        strict = lr == NULL;
    }
    if (strict) {
        rc = osip_uri_clone(first->url, &ruri);
    } else {
        rc = osip_uri_clone(od->remote_contact_uri->url, &ruri);
    }
    if (rc != 0)
        goto fail;
    osip_message_set_uri(req, ruri);

    snprintf(buf, sizeof buf, "SIP/2.0/UDP %s;branch=z9hG4bK%016llx", via_host,
             (unsigned long long)mix64(g_branch_key ^ mix64(++g_branch_ctr)));
    if ((rc = osip_message_set_via(req, buf)) != 0)
        goto fail;
    if ((rc = osip_message_set_max_forwards(req, "70")) != 0)
        goto fail;
    {
        int pos = strict ? 1 : 0;
        osip_route_t *r;
        while ((r = osip_list_get(&od->route_set, pos++)) != NULL) {
            osip_route_t *rc2 = NULL;
            if ((rc = osip_route_clone(r, &rc2)) != 0)
                goto fail;
            osip_list_add(&req->routes, rc2, -1);
        }
        if (strict) {
            char *ct = NULL;
            if ((rc = osip_uri_to_str(od->remote_contact_uri->url, &ct)) != 0)
                goto fail;
            snprintf(buf, sizeof buf, "<%s>", ct);
            osip_free(ct);
            if ((rc = osip_message_set_route(req, buf)) != 0)
                goto fail;
        }
    }
    if ((rc = osip_from_clone(od->local_uri, &req->from)) != 0)
        goto fail;
    if ((rc = osip_to_clone(od->remote_uri, &req->to)) != 0)
        goto fail;
    if ((rc = osip_message_set_call_id(req, od->call_id)) != 0)
        goto fail;
    od->local_cseq++;
    snprintf(buf, sizeof buf, "%d BYE", od->local_cseq);
    if ((rc = osip_message_set_cseq(req, buf)) != 0)
        goto fail;
    if ((rc = osip_message_set_content_length(req, "0")) != 0)
        goto fail;
    rc = osip_message_to_str(req, out, len);
fail:
    osip_message_free(req);
    return rc;
}

static double osip_bye_group(const pair *p, size_t *j, size_t n, uint64_t *sink)
{
    osip_dialog_t *ds[GROUP];
    size_t js[GROUP];
    struct timespec t0, t1;

    for (size_t i = 0; i < n; i++) {
        ds[i] = NULL;
        js[i] = *j;
        if (osip_dialog_init_as_uac(&ds[i], p->oresp[*j]) != 0)
            ds[i] = NULL;
        if (++*j == p->k)
            *j = 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < n; i++) {
        char *s = NULL;
        size_t len = 0;
        int rc = osip_build_bye(ds[i], p->via_host[js[i]], &s, &len);
        *sink += (uint64_t)rc + len;
        if (s) {
            *sink += (unsigned char)s[len / 2];
            osip_free(s);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (size_t i = 0; i < n; i++)
        osip_dialog_free(ds[i]);
    return (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
}

/* ---- checks ---- */

/* Header names of a serialized message, sorted, lower case, joined. */
static int header_signature(const char *what, const char *buf, size_t len, char *sig, size_t cap, char *ruri,
                            size_t rcap)
{
    sd_msg m;
    static sd_header h[HDR_CAP];
    sd_error err;
    char names[HDR_CAP][32];

    if (sd_msg_parse(buf, len, &g_opts, &m, h, HDR_CAP, &err) != SD_OK) {
        fprintf(stderr, "bench_dialog: the %s BYE does not parse: %s at %zu\n", what, err.reason, err.offset);
        return -1;
    }
    for (uint32_t i = 0; i < m.nhdrs; i++) {
        size_t nl = h[i].name.len < 31 ? h[i].name.len : 31;
        for (size_t c = 0; c < nl; c++)
            names[i][c] = (char)(buf[h[i].name.off + c] | 0x20);
        names[i][nl] = '\0';
    }
    qsort(names, m.nhdrs, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    sig[0] = '\0';
    for (uint32_t i = 0; i < m.nhdrs; i++) {
        strncat(sig, names[i], cap - strlen(sig) - 1);
        strncat(sig, ",", cap - strlen(sig) - 1);
    }
    snprintf(ruri, rcap, "%.*s", (int)m.ruri.len, buf + m.ruri.off);
    return 0;
}

static void check_pair(const config *cfg, const pair *p)
{
    for (size_t c = 0; c < p->k; c++) {
        sd_dialog *d = NULL;
        sd_error err;
        memset(&err, 0, sizeof err);
        if (sd_dialog_new_uac(&g_env, p->inv[c], &p->sinv[c], &d, &err) != SD_OK) {
            fprintf(stderr, "bench_dialog: sd_dialog_new_uac fails on copy %zu: %s\n", c, err.reason);
            exit(1);
        }
        if (sd_dialog_receive(d, p->resp[c], &p->sresp[c], 0, NULL, &err) != SD_OK ||
            sd_dialog_state(d) != SD_DLG_CONFIRMED) {
            fprintf(stderr, "bench_dialog: the response does not confirm the dialog of copy %zu: %s\n", c,
                    err.reason);
            exit(1);
        }
        sd_buf b;
        sd_buf_init(&b);
        if (sd_dialog_create_request(d, BYE, NULL, NULL, 0, NULL, 0, &b, NULL, &err) != SD_OK) {
            fprintf(stderr, "bench_dialog: sd_dialog_create_request(BYE) fails on copy %zu: %s\n", c, err.reason);
            exit(1);
        }
        osip_dialog_t *od = NULL;
        if (osip_dialog_init_as_uac(&od, p->oresp[c]) != 0) {
            fprintf(stderr, "bench_dialog: osip_dialog_init_as_uac fails on copy %zu\n", c);
            exit(1);
        }
        char *s = NULL;
        size_t len = 0;
        if (osip_build_bye(od, p->via_host[c], &s, &len) != 0 || s == NULL) {
            fprintf(stderr, "bench_dialog: the oSIP BYE cannot be built for copy %zu\n", c);
            exit(1);
        }
        char sig1[2048], sig2[2048], r1[512], r2[512];
        if (header_signature("sipdialog", b.p, b.len, sig1, sizeof sig1, r1, sizeof r1) != 0 ||
            header_signature("osip", s, len, sig2, sizeof sig2, r2, sizeof r2) != 0)
            exit(1);
        if (strcmp(sig1, sig2) != 0 || strcmp(r1, r2) != 0) {
            fprintf(stderr,
                    "bench_dialog: the two BYEs differ (copy %zu)\n  sipdialog: %s %s\n  osip:      %s %s\n", c, r1,
                    sig1, r2, sig2);
            exit(1);
        }
        if (cfg->verbose && c == 1) {
            fprintf(stderr, "--- sipdialog BYE (copy 1, %zu bytes)\n%.*s", b.len, (int)b.len, b.p);
            fprintf(stderr, "--- osip BYE (copy 1, %zu bytes)\n%.*s", len, (int)len, s);
            fprintf(stderr, "--- headers of both: %s\n", sig1);
        }
        osip_free(s);
        osip_dialog_free(od);
        sd_buf_free(&b);
        sd_dialog_unref(d);
    }
}

/* ---- timing ---- */

typedef uint64_t (*loop_fn)(const pair *p, size_t iters);
typedef double (*group_fn)(const pair *p, size_t *j, size_t n, uint64_t *sink);

/* A timed operation: a plain loop (everything timed) or groups (setup of
 * each group untimed). */
typedef struct op {
    const char *name;
    loop_fn loop;
    group_fn group;
    size_t iters; /* operations per batch, after calibration */
    size_t j;     /* next copy (groups) */
    double *per;  /* ns per operation of each batch */
} op;

/* Timed ns of one batch of `n` operations. */
static double op_batch(op *o, const pair *p, size_t n)
{
    if (o->loop) {
        double t0 = now_ns();
        g_sink += o->loop(p, n);
        return now_ns() - t0;
    }
    uint64_t sink = 0;
    double t = 0;
    for (size_t done = 0; done < n;) {
        size_t k = n - done < GROUP ? n - done : GROUP;
        t += o->group(p, &o->j, k, &sink);
        done += k;
    }
    g_sink += sink;
    return t;
}

typedef struct op_and_pair {
    op *o;
    const pair *p;
} op_and_pair;

static double op_batch_of(void *ctx, size_t n)
{
    op_and_pair *x = ctx;
    return op_batch(x->o, x->p, n);
}

/*
 * Median ns per operation of each of the `n` operations. Each is
 * calibrated and warmed up on its own; then the timed batches alternate
 * between them (batch b of every operation, then batch b + 1), so that
 * operations compared in a ratio see the same load of a shared machine.
 */
static void measure_set(const config *cfg, const pair *p, op *ops, int n, double *out)
{
    for (int i = 0; i < n; i++) {
        op *o = &ops[i];
        o->per = calloc((size_t)cfg->batches, sizeof *o->per);
        if (o->per == NULL) {
            perror("calloc");
            exit(1);
        }
        size_t iters = cfg->fixed_iters;
        if (iters == 0) {
            op_and_pair x = {o, p};
            iters = calibrate(op_batch_of, &x, o->loop ? p->k : GROUP, cfg->batch_ns);
        } else {
            (void)op_batch(o, p, iters < p->k ? iters : p->k);
        }
        o->iters = iters;
    }
    for (int b = 0; b < cfg->batches; b++)
        for (int i = 0; i < n; i++)
            ops[i].per[b] = op_batch(&ops[i], p, ops[i].iters) / (double)ops[i].iters;
    for (int i = 0; i < n; i++) {
        op *o = &ops[i];
        double med = median(o->per, cfg->batches); /* sorts per */
        if (cfg->verbose)
            fprintf(stderr, "  %s: %zu ops/batch%s, min %.1f median %.1f max %.1f ns\n", o->name, o->iters,
                    o->group ? " (groups of 256, setup untimed)" : "", o->per[0], med, o->per[cfg->batches - 1]);
        out[i] = med;
        free(o->per);
        o->per = NULL;
    }
}

/* ---- memory ---- */

static void footprint(const config *cfg, const pair *p)
{
    if (cfg->sd) {
        /* one dialog among 255 others of the same user agent (so its share
         * of the strings they have in common is what it is in use), with
         * the core's allocations for it tracked */
        static sd_dialog *company[255];
        for (int i = 0; i < 255; i++) company[i] = sd_confirmed(p, (size_t)(i + 1) % p->k);
        g_blocks = g_usable = g_allocs = 0;
        g_track = 1;
        sd_dialog *d = sd_confirmed(p, 0);
        g_track = 0;
        if (d == NULL) {
            fprintf(stderr, "bench_dialog: no confirmed dialog\n");
            exit(1);
        }
        printf("footprint.sipdialog\t%zu\n", sd_dialog_footprint(d));
        printf("malloc.sipdialog.blocks\t%ld\n", g_blocks);
        printf("malloc.sipdialog.usable\t%ld\n", g_usable);
        printf("malloc.sipdialog.chunks\t%ld\n", g_usable + 8 * g_blocks);
        printf("malloc.sipdialog.calls\t%ld\n", g_allocs);
        if (cfg->verbose) {
            sd_dlg_snap *s = NULL;
            sd_error err;
            if (sd_dialog_snapshot(d, &s, &err) == SD_OK) {
                size_t arena = s->call_id.len + s->local_header.len + s->remote_header.len + s->local_target.len +
                               s->remote_target.len + s->route_set.len;
                fprintf(stderr,
                        "  strings: call_id %zu, local_header %zu, remote_header %zu, local_target %zu, "
                        "remote_target %zu, route_set %zu: %zu bytes; struct = footprint - strings = %zu\n",
                        s->call_id.len, s->local_header.len, s->remote_header.len, s->local_target.len,
                        s->remote_target.len, s->route_set.len, arena, sd_dialog_footprint(d) - arena);
                free(s);
            }
        }
        /* allocation calls of one BYE into the (already grown) output
         * buffer: scratch only, nothing stays */
        sd_error err;
        g_out.len = 0;
        g_blocks = g_usable = g_allocs = 0;
        g_track = 1;
        (void)sd_dialog_create_request(d, BYE, NULL, NULL, 0, NULL, 0, &g_out, NULL, &err);
        g_track = 0;
        printf("malloc.sipdialog.bye_calls\t%ld\n", g_allocs);
        sd_dialog_unref(d);
        g_blocks = g_usable = g_allocs = 0;
        g_track = 1;
        d = NULL;
        sd_dialog_new_uac(&g_env, p->inv[0], &p->sinv[0], &d, &err);
        long new_calls = g_allocs;
        sd_dialog_receive(d, p->resp[0], &p->sresp[0], 0, NULL, &err);
        g_track = 0;
        printf("malloc.sipdialog.new_uac_calls\t%ld\n", new_calls);
        printf("malloc.sipdialog.receive_calls\t%ld\n", g_allocs - new_calls);
        sd_dialog_unref(d);
        for (int i = 0; i < 255; i++) sd_dialog_unref(company[i]);
    }

    /* heap in use per live dialog, both libraries */
    static sd_dialog *sds[HEAP_N];
    static osip_dialog_t *ods[HEAP_N];
    if (cfg->sd) {
        malloc_trim(0);
        struct mallinfo2 a = mallinfo2();
        for (size_t i = 0; i < HEAP_N; i++)
            sds[i] = sd_confirmed(p, i % p->k);
        struct mallinfo2 b = mallinfo2();
        printf("heap.sipdialog\t%.1f\n", (double)(b.uordblks - a.uordblks) / HEAP_N);
        for (size_t i = 0; i < HEAP_N; i++)
            sd_dialog_unref(sds[i]);
    }
    if (cfg->osip) {
        malloc_trim(0);
        struct mallinfo2 a = mallinfo2();
        for (size_t i = 0; i < HEAP_N; i++)
            if (osip_dialog_init_as_uac(&ods[i], p->oresp[i % p->k]) != 0)
                ods[i] = NULL;
        struct mallinfo2 b = mallinfo2();
        printf("heap.osip\t%.1f\n", (double)(b.uordblks - a.uordblks) / HEAP_N);
        for (size_t i = 0; i < HEAP_N; i++)
            osip_dialog_free(ods[i]);
    }
}

/* ---- main ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_dialog [--peer sipdialog|osip|both] [--what create,bye,footprint] [--no-rr]\n"
               "                    [--copies K] [--batches N] [--batch-ms MS] [--iters N] [-v]\n"
               "                    INVITE RESPONSE\n");
}

static void print_result(const char *key, double v)
{
    printf("%s\t%.1f\n", key, v);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    config cfg = {1, 1, 1, 1, 1, 0, 64, 31, 20e6, 0, 0};
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-')
            break;
        if (strcmp(a, "-v") == 0) {
            cfg.verbose = 1;
            continue;
        }
        if (strcmp(a, "--no-rr") == 0) {
            cfg.no_rr = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        const char *val = argv[++i];
        if (strcmp(a, "--peer") == 0) {
            cfg.sd = strcmp(val, "sipdialog") == 0 || strcmp(val, "both") == 0;
            cfg.osip = strcmp(val, "osip") == 0 || strcmp(val, "both") == 0;
            if (!cfg.sd && !cfg.osip) {
                fprintf(stderr, "bench_dialog: unknown peer %s\n", val);
                return 2;
            }
        } else if (strcmp(a, "--what") == 0) {
            cfg.w_create = strstr(val, "create") != NULL;
            cfg.w_bye = strstr(val, "bye") != NULL;
            cfg.w_foot = strstr(val, "footprint") != NULL;
        } else if (strcmp(a, "--copies") == 0) {
            cfg.copies = (size_t)parse_num("bench_dialog", a, val, 1, 4096);
        } else if (strcmp(a, "--batches") == 0) {
            cfg.batches = (int)parse_num("bench_dialog", a, val, 1, 10000);
        } else if (strcmp(a, "--batch-ms") == 0) {
            cfg.batch_ns = (double)parse_num("bench_dialog", a, val, 1, 10000) * 1e6;
        } else if (strcmp(a, "--iters") == 0) {
            cfg.fixed_iters = (size_t)parse_num("bench_dialog", a, val, 1, 1000000000L);
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (argc - i != 2) {
        usage(stderr);
        return 2;
    }

    sd_parse_opts_default(&g_opts);
    g_opts.flags |= SD_PARSE_CHECK_URIS; /* the URI work osip_message_parse does too */
    sd_dlg_env_default(&g_env);
    sd_dlg_env_default(&g_fast_env);
    /* shared strings, as the Python package runs its dialogs */
    g_env.strings = g_fast_env.strings = sd_intern_new(1u << 16);
    g_fast_env.now = fast_now;
    g_fast_env.now_ctx = &g_fast_clock;
    g_fast_env.random = fast_random;
    g_fast_env.random_ctx = &g_fast_rng;
    if (parser_init() != 0) {
        fprintf(stderr, "bench_dialog: osip parser_init failed\n");
        return 1;
    }
    sd_buf_init(&g_out);
    if (sd_buf_append(&g_out, "", 0) != SD_OK || sd_buf_appendf(&g_out, "%4096s", "") != SD_OK) {
        fprintf(stderr, "bench_dialog: out of memory\n");
        return 1;
    }

    pair p;
    load_pair(&cfg, argv[i], argv[i + 1], &p);
    check_pair(&cfg, &p);
    if (cfg.verbose)
        fprintf(stderr, "%s + %s%s: %zu + %zu bytes, %zu copies\n", argv[i], argv[i + 1],
                cfg.no_rr ? " (Record-Route removed)" : "", p.ilen, p.rlen, p.k);

    if (cfg.w_create) {
        op ops[4];
        double med[4];
        int n = 0, i_sd = -1, i_uac = -1, i_os = -1, i_fast = -1;
        if (cfg.sd) {
            i_sd = n;
            ops[n++] = (op){"create.sipdialog", sd_create_run, NULL, 0, 0, NULL};
            i_uac = n;
            ops[n++] = (op){"new_uac.sipdialog", sd_new_uac_run, NULL, 0, 0, NULL};
            i_fast = n;
            ops[n++] = (op){"create.sipdialog.fast_env", sd_create_fast_run, NULL, 0, 0, NULL};
        }
        if (cfg.osip) {
            i_os = n;
            ops[n++] = (op){"create.osip", osip_create_run, NULL, 0, 0, NULL};
        }
        measure_set(&cfg, &p, ops, n, med);
        if (i_sd >= 0) {
            print_result("create.sipdialog", med[i_sd]);
            print_result("new_uac.sipdialog", med[i_uac]);
            print_result("create.sipdialog.fast_env", med[i_fast]);
        }
        if (i_os >= 0)
            print_result("create.osip", med[i_os]);
        if (i_sd >= 0 && i_os >= 0)
            printf("create.ratio\t%.2f\n", med[i_os] / med[i_sd]);
    }
    if (cfg.w_bye) {
        op ops[3];
        double med[3];
        int n = 0, i_sd = -1, i_os = -1, i_fast = -1;
        if (cfg.sd) {
            i_sd = n;
            ops[n++] = (op){"bye.sipdialog", NULL, sd_bye_group, 0, 0, NULL};
            i_fast = n;
            ops[n++] = (op){"bye.sipdialog.fast_env", NULL, sd_bye_fast_group, 0, 0, NULL};
        }
        if (cfg.osip) {
            i_os = n;
            ops[n++] = (op){"bye.osip", NULL, osip_bye_group, 0, 0, NULL};
        }
        measure_set(&cfg, &p, ops, n, med);
        if (i_sd >= 0) {
            print_result("bye.sipdialog", med[i_sd]);
            print_result("bye.sipdialog.fast_env", med[i_fast]);
        }
        if (i_os >= 0)
            print_result("bye.osip", med[i_os]);
        if (i_sd >= 0 && i_os >= 0)
            printf("bye.ratio\t%.2f\n", med[i_os] / med[i_sd]);
    }
    if (cfg.w_foot)
        footprint(&cfg, &p);
    fflush(stdout);
    sd_buf_free(&g_out);
    return 0;
}
