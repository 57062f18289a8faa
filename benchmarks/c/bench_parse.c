/*
 * bench_parse - time SIP message parsing: sipdialog against GNU oSIP,
 * sofia-sip and a line-splitting floor, on the same inputs.
 *
 *   bench_parse [--peer sipdialog|osip|sofia|floor] [--copies K]
 *               [--batches N] [--batch-ms MS] [--iters N] [-v] FILE...
 *   bench_parse [--copies K] --dump I FILE    (write copy I of FILE to stdout)
 *
 * stdout: one line per file that the chosen parser accepts,
 *   FILE <TAB> median ns per parse
 * then
 *   mean <TAB> mean of those medians
 * Everything else (rejections, -v statistics) goes to stderr.
 *
 * Method. Each file is read as bytes and copied K times (default 64); in
 * every copy but the first the alphanumeric characters of the Call-ID and
 * of the From/To tags are replaced by other characters of the same class,
 * so copies have identical length and structure but different bytes, and
 * neither caches nor branch predictors can memorize a single buffer. The
 * copies depend only on the file and K, so every peer parses the same set.
 * A timed batch parses the copies round-robin; after a warm-up the batch
 * size is calibrated to about --batch-ms milliseconds, then --batches
 * batches (default 31) are timed and the median of their per-parse means
 * is reported. --iters fixes the batch size instead (for profiling under
 * callgrind: no calibration, no warm-up beyond one batch).
 *
 * Before timing, every copy is parsed once and checked; a file (or a copy)
 * the parser rejects is reported on stderr and skipped.
 *
 * Peers:
 *   sipdialog  sd_msg_parse (datagram mode, default limits) into a
 *              caller-provided header array.
 *   osip       osip_message_init + osip_message_parse + osip_message_free.
 *   sofia      msg_make(sip_default_mclass(), 0, data, len) + msg_destroy.
 *              msg_make copies the bytes and runs msg_extract, which calls
 *              the header class's parse function for every header line as it
 *              is extracted (sofia-sip has no lazy header parsing); headers
 *              the class does not know become sip_unknown_t entries. The
 *              check below requires no MSG_FLG_ERROR and no sip_error entry.
 *   floor      split the header block into lines with memchr and count
 *              them: the least work any header parser has to do.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sipdialog/msg.h"

#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include "bench_util.h"

#define HDR_CAP 512

typedef struct input {
    const char *path;
    size_t len;
    size_t k;
    char **copies; /* k buffers of len bytes each */
} input;

/* A peer: `check` parses one buffer and explains a rejection in `why`;
 * `run` parses `iters` buffers round-robin from the copies and returns a
 * value derived from the results (so nothing can be optimized away). */
typedef struct peer {
    const char *name;
    int (*check)(const char *buf, size_t len, char *why, size_t whylen, int verbose);
    uint64_t (*run)(const input *in, size_t iters);
} peer;

static volatile uint64_t g_sink;

/* ---- sipdialog ---- */

static sd_parse_opts g_opts;
static sd_header g_hdrs[HDR_CAP];

static int sipdialog_check(const char *buf, size_t len, char *why, size_t whylen, int verbose)
{
    sd_msg m;
    sd_error err;
    sd_err rc;

    memset(&err, 0, sizeof err);
    rc = sd_msg_parse(buf, len, &g_opts, &m, g_hdrs, HDR_CAP, &err);
    if (rc != SD_OK) {
        snprintf(why, whylen, "%s at offset %zu: %s", sd_err_name(rc), err.offset, err.reason);
        return -1;
    }
    if (verbose)
        fprintf(stderr, "  sipdialog: %u headers, %u Via, msg_len %u of %zu\n",
                (unsigned)m.nhdrs, (unsigned)m.via_count, (unsigned)m.msg_len, len);
    return 0;
}

static uint64_t sipdialog_run(const input *in, size_t iters)
{
    uint64_t sink = 0;
    size_t j = 0;
    sd_error err;

    for (size_t i = 0; i < iters; i++) {
        sd_msg m;
        sd_err rc = sd_msg_parse(in->copies[j], in->len, &g_opts, &m, g_hdrs, HDR_CAP, &err);
        sink += (uint64_t)rc + m.nhdrs + m.call_id.len;
        if (++j == in->k)
            j = 0;
    }
    return sink;
}

/* ---- GNU oSIP ---- */

static int osip_check(const char *buf, size_t len, char *why, size_t whylen, int verbose)
{
    osip_message_t *sip = NULL;
    int rc;

    if (osip_message_init(&sip) != 0) {
        snprintf(why, whylen, "osip_message_init failed");
        return -1;
    }
    rc = osip_message_parse(sip, buf, len);
    if (rc != 0) {
        snprintf(why, whylen, "osip_message_parse returned %d", rc);
        osip_message_free(sip);
        return -1;
    }
    if (sip->call_id == NULL || sip->from == NULL || sip->to == NULL || sip->cseq == NULL) {
        snprintf(why, whylen, "osip_message_parse left Call-ID/From/To/CSeq unparsed");
        osip_message_free(sip);
        return -1;
    }
    if (verbose)
        fprintf(stderr, "  osip: %d Via, %d Contact, %d Route, %d Record-Route, %d other headers\n",
                osip_list_size(&sip->vias), osip_list_size(&sip->contacts),
                osip_list_size(&sip->routes), osip_list_size(&sip->record_routes),
                osip_list_size(&sip->headers));
    osip_message_free(sip);
    return 0;
}

static uint64_t osip_run(const input *in, size_t iters)
{
    uint64_t sink = 0;
    size_t j = 0;

    for (size_t i = 0; i < iters; i++) {
        osip_message_t *sip = NULL;
        if (osip_message_init(&sip) == 0) {
            sink += (uint64_t)osip_message_parse(sip, in->copies[j], in->len);
            sink += (uintptr_t)sip->call_id;
            osip_message_free(sip);
        }
        if (++j == in->k)
            j = 0;
    }
    return sink;
}

/* ---- sofia-sip ---- */

static msg_mclass_t const *g_sofia_mc;

static int sofia_check(const char *buf, size_t len, char *why, size_t whylen, int verbose)
{
    msg_t *msg = msg_make(g_sofia_mc, 0, buf, (ssize_t)len);
    sip_t *sip;
    int nhdr = 0, nunknown = 0;

    if (msg == NULL) {
        snprintf(why, whylen, "msg_make returned NULL");
        return -1;
    }
    sip = sip_object(msg);
    if (sip == NULL || (sip->sip_flags & MSG_FLG_ERROR)) {
        snprintf(why, whylen, "msg_make: parse error (MSG_FLG_ERROR, extract errors 0x%x)",
                 msg_extract_errors(msg));
        msg_destroy(msg);
        return -1;
    }
    if (sip->sip_error != NULL) {
        snprintf(why, whylen, "msg_make: header %s failed to parse",
                 sip->sip_error->er_name ? sip->sip_error->er_name : "(unnamed)");
        msg_destroy(msg);
        return -1;
    }
    if ((sip->sip_request == NULL && sip->sip_status == NULL) || sip->sip_call_id == NULL ||
        sip->sip_from == NULL || sip->sip_to == NULL || sip->sip_cseq == NULL) {
        snprintf(why, whylen, "msg_make: start line or Call-ID/From/To/CSeq missing");
        msg_destroy(msg);
        return -1;
    }
    for (msg_header_t *h = *msg_chain_head(msg); h; h = h->sh_succ)
        nhdr++;
    for (sip_unknown_t *u = sip->sip_unknown; u; u = u->un_next)
        nunknown++;
    if (verbose)
        fprintf(stderr, "  sofia: %d fragments in chain, %d unknown headers\n", nhdr, nunknown);
    msg_destroy(msg);
    return 0;
}

static uint64_t sofia_run(const input *in, size_t iters)
{
    uint64_t sink = 0;
    size_t j = 0;

    for (size_t i = 0; i < iters; i++) {
        msg_t *msg = msg_make(g_sofia_mc, 0, in->copies[j], (ssize_t)in->len);
        if (msg) {
            sip_t *sip = sip_object(msg);
            sink += (uintptr_t)sip->sip_call_id + (uint64_t)sip->sip_flags;
            msg_destroy(msg);
        }
        if (++j == in->k)
            j = 0;
    }
    return sink;
}

/* ---- floor: count the lines of the header block ---- */

static size_t floor_lines(const char *p, size_t len)
{
    const char *end = p + len;
    size_t n = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        n++;
        if (nl == p || (nl == p + 1 && p[0] == '\r'))
            break; /* empty line: end of the header block */
        p = nl + 1;
    }
    return n;
}

static int floor_check(const char *buf, size_t len, char *why, size_t whylen, int verbose)
{
    size_t n = floor_lines(buf, len);

    if (n == 0) {
        snprintf(why, whylen, "no line found");
        return -1;
    }
    if (verbose)
        fprintf(stderr, "  floor: %zu lines in the header block\n", n);
    return 0;
}

static uint64_t floor_run(const input *in, size_t iters)
{
    uint64_t sink = 0;
    size_t j = 0;

    for (size_t i = 0; i < iters; i++) {
        sink += floor_lines(in->copies[j], in->len);
        if (++j == in->k)
            j = 0;
    }
    return sink;
}

static const peer g_peers[] = {
    {"sipdialog", sipdialog_check, sipdialog_run},
    {"osip", osip_check, osip_run},
    {"sofia", sofia_check, sofia_run},
    {"floor", floor_check, floor_run},
};

/* ---- inputs ---- */

/* Replace each ASCII letter or digit of p[0..n) by another of the same
 * class (digit, lower, upper), chosen from (copy, position). */
static void vary_run(char *p, size_t n, unsigned copy, unsigned salt)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        uint32_t r = mix32((copy * 0x9e3779b9U) ^ (salt * 0x85ebca6bU) ^ (uint32_t)(i * 0xc2b2ae35U));
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

    if (n == 1 && (p[0] | 0x20) == compact[0])
        return 1;
    if (n != ln)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((p[i] | 0x20) != lname[i])
            return 0;
    return 1;
}

/* Vary the Call-ID and the From/To tags of one copy, in place. Only the
 * first physical line of each header field is touched; the body never. */
static void vary_copy(char *buf, size_t len, unsigned copy)
{
    size_t pos = 0;
    unsigned salt = 0;

    /* skip the start line */
    const char *nl = memchr(buf, '\n', len);
    if (nl == NULL)
        return;
    pos = (size_t)(nl - buf) + 1;
    while (pos < len) {
        size_t eol;
        nl = memchr(buf + pos, '\n', len - pos);
        eol = nl ? (size_t)(nl - buf) : len;
        size_t lend = eol;
        if (lend > pos && buf[lend - 1] == '\r')
            lend--;
        if (lend == pos)
            break; /* end of the header block */
        if (buf[pos] != ' ' && buf[pos] != '\t') {
            size_t c = pos;
            while (c < lend && buf[c] != ':')
                c++;
            size_t ne = c;
            while (ne > pos && (buf[ne - 1] == ' ' || buf[ne - 1] == '\t'))
                ne--;
            if (c < lend) {
                size_t v = c + 1;
                salt++;
                if (name_is(buf + pos, ne - pos, "call-id", "i")) {
                    while (v < lend && (buf[v] == ' ' || buf[v] == '\t'))
                        v++;
                    size_t ve = lend;
                    while (ve > v && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
                        ve--;
                    vary_run(buf + v, ve - v, copy, salt);
                } else if (name_is(buf + pos, ne - pos, "from", "f") ||
                           name_is(buf + pos, ne - pos, "to", "t")) {
                    /* find "tag" [LWS] "=" after a ';' outside quotes and <> */
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
                            if (t + 3 <= lend && (buf[t] | 0x20) == 't' && (buf[t + 1] | 0x20) == 'a' &&
                                (buf[t + 2] | 0x20) == 'g') {
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
                                    vary_run(buf + t, te - t, copy, salt);
                                }
                            }
                        }
                    }
                }
            }
        }
        pos = eol + 1;
    }
}

/* ---- timing ---- */

static double time_batch(const peer *pe, const input *in, size_t iters)
{
    double t0 = now_ns();
    g_sink += pe->run(in, iters);
    return now_ns() - t0;
}

typedef struct peer_and_input {
    const peer *pe;
    const input *in;
} peer_and_input;

static double time_batch_of(void *ctx, size_t iters)
{
    peer_and_input *x = ctx;
    return time_batch(x->pe, x->in, iters);
}

typedef struct config {
    const peer *pe;
    size_t copies;
    int batches;
    double batch_ns;
    size_t fixed_iters; /* 0: calibrate */
    int verbose;
    long dump;          /* >= 0: write copy `dump` of the first file to stdout */
} config;

/* Median ns per parse over cfg->batches batches. */
static double measure(const config *cfg, const input *in)
{
    size_t iters = cfg->fixed_iters;
    double *per = calloc((size_t)cfg->batches, sizeof *per);
    double med;

    if (per == NULL) {
        perror("calloc");
        exit(1);
    }
    if (iters == 0) {
        peer_and_input x = {cfg->pe, in};
        iters = calibrate(time_batch_of, &x, in->k, cfg->batch_ns);
    } else {
        (void)time_batch(cfg->pe, in, iters < in->k ? iters : in->k);
    }
    for (int b = 0; b < cfg->batches; b++)
        per[b] = time_batch(cfg->pe, in, iters) / (double)iters;
    med = median(per, cfg->batches); /* sorts per */
    if (cfg->verbose)
        fprintf(stderr, "  %s: %zu parses/batch, min %.1f median %.1f max %.1f ns\n", cfg->pe->name,
                iters, per[0], med, per[cfg->batches - 1]);
    free(per);
    return med;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_parse [--peer sipdialog|osip|sofia|floor] [--copies K] [--batches N]\n"
            "                   [--batch-ms MS] [--iters N] [-v] FILE...\n"
            "       bench_parse [--copies K] --dump I FILE   write copy I of FILE to stdout\n");
}

int main(int argc, char **argv)
{
    config cfg = {&g_peers[0], 64, 31, 20e6, 0, 0, -1};
    int i, nfiles = 0;
    double sum = 0;

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
            cfg.pe = NULL;
            for (size_t p = 0; p < sizeof g_peers / sizeof g_peers[0]; p++)
                if (strcmp(val, g_peers[p].name) == 0)
                    cfg.pe = &g_peers[p];
            if (cfg.pe == NULL) {
                fprintf(stderr, "bench_parse: unknown peer %s\n", val);
                return 2;
            }
        } else if (strcmp(a, "--copies") == 0) {
            cfg.copies = (size_t)parse_num("bench_parse", a, val, 1, 4096);
        } else if (strcmp(a, "--batches") == 0) {
            cfg.batches = (int)parse_num("bench_parse", a, val, 1, 10000);
        } else if (strcmp(a, "--batch-ms") == 0) {
            cfg.batch_ns = (double)parse_num("bench_parse", a, val, 1, 10000) * 1e6;
        } else if (strcmp(a, "--dump") == 0) {
            cfg.dump = parse_num("bench_parse", a, val, 0, 4095);
        } else if (strcmp(a, "--iters") == 0) {
            cfg.fixed_iters = (size_t)parse_num("bench_parse", a, val, 1, 1000000000L);
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }

    sd_parse_opts_default(&g_opts);
    if (cfg.pe->run == osip_run && parser_init() != 0) {
        fprintf(stderr, "bench_parse: osip parser_init failed\n");
        return 1;
    }
    if (cfg.pe->run == sofia_run)
        g_sofia_mc = sip_default_mclass();

    for (; i < argc; i++) {
        const char *path = argv[i];
        input in = {path, 0, cfg.copies, NULL};
        char *data = NULL;
        char why[256];
        int ok = 1;

        if (read_file(path, &data, &in.len) != 0) {
            fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
            continue;
        }
        if (in.len == 0) {
            fprintf(stderr, "%s: empty file, skipped\n", path);
            free(data);
            continue;
        }
        in.copies = calloc(in.k, sizeof *in.copies);
        if (in.copies == NULL) {
            perror("calloc");
            return 1;
        }
        for (size_t c = 0; c < in.k; c++) {
            in.copies[c] = malloc(in.len);
            if (in.copies[c] == NULL) {
                perror("malloc");
                return 1;
            }
            memcpy(in.copies[c], data, in.len);
            if (c > 0)
                vary_copy(in.copies[c], in.len, (unsigned)c);
        }
        if (cfg.dump >= 0) {
            if ((size_t)cfg.dump < in.k)
                fwrite(in.copies[cfg.dump], 1, in.len, stdout);
            return 0;
        }
        if (cfg.verbose)
            fprintf(stderr, "%s (%zu bytes, %zu copies)\n", path, in.len, in.k);
        for (size_t c = 0; c < in.k && ok; c++) {
            if (cfg.pe->check(in.copies[c], in.len, why, sizeof why, cfg.verbose && c == 0) != 0) {
                if (c == 0)
                    fprintf(stderr, "%s: %s rejects it: %s; skipped\n", path, cfg.pe->name, why);
                else
                    fprintf(stderr, "%s: %s rejects varied copy %zu: %s; skipped\n", path,
                            cfg.pe->name, c, why);
                ok = 0;
            }
        }
        if (ok) {
            double med = measure(&cfg, &in);
            printf("%s\t%.1f\n", path, med);
            fflush(stdout);
            sum += med;
            nfiles++;
        }
        for (size_t c = 0; c < in.k; c++)
            free(in.copies[c]);
        free(in.copies);
        free(data);
    }
    if (nfiles > 0)
        printf("mean\t%.1f\n", sum / nfiles);
    return nfiles > 0 ? 0 : 1;
}
