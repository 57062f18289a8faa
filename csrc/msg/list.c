/*
 * list.c - comma-separated header values (RFC 3261 7.3.1) and unfolding of
 * folded header lines (RFC 3261 7.3.1, 25.1 LWS).
 */
#include "sipdialog/msg.h"
#include "base/chars.h"
#include "uri.h"

int sd_list_next(const char *base, sd_span v, uint32_t *pos, sd_span *item)
{
    const char *p = base + v.off;
    size_t n = v.len, i = *pos;
    if ((uint64_t)v.off + v.len > UINT32_MAX || i > n) return -1;
    /* *pos is 0 at the start, afterwards the index of the ',' that ends the
     * previous element, or n after the last one. */
    if (i == 0) {
        while (i < n && SD_IS(p[i], SD_C_LWS)) i++;
        if (i == n) return 0; /* empty or all-LWS value: no element */
    } else {
        if (i == n) return 0;
        if (p[i] != ',') return -1;
        i++;
        while (i < n && SD_IS(p[i], SD_C_LWS)) i++;
    }
    size_t start = i;
    /* jump from one ',', '"' or '<' to the next; only quoted-strings and
     * <...> need a closer look */
    for (;;) {
        i = sd_find_from(p, i, n, ',', '"', '<', 0);
        if (i == n || p[i] == ',') break;
        if (p[i] == '"') {
            /* quoted-string: skip quoted-pairs, find the closing quote */
            i++;
            for (;;) {
                if (i >= n) return -1; /* unterminated (or a '\' at the end) */
                i = sd_find_from(p, i, n, '"', '\\', '"', 0);
                if (i == n) return -1;
                if (p[i] == '"') break;
                i += 2;
            }
            i++;
        } else {
            i = sd_find_from(p, i, n, '>', '>', '>', 0);
            if (i == n) return -1; /* '<' without '>' */
            i++;
        }
    }
    size_t end = i;
    while (end > start && SD_IS(p[end - 1], SD_C_LWS)) end--;
    if (end == start) return -1; /* empty element: ",," or a leading/trailing ',' */
    item->off = (uint32_t)(v.off + start);
    item->len = (uint32_t)(end - start);
    *pos = (uint32_t)i;
    return 1;
}

/* Length of a line break at p[i] (CR LF or a lone LF) that is followed by
 * SP or HT, i.e. a fold; 0 when there is none. */
static size_t fold_at(const char *p, size_t i, size_t len)
{
    size_t k = 0;
    if (i < len && p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') k = 2;
    else if (i < len && p[i] == '\n') k = 1;
    if (k == 0 || i + k >= len || (p[i + k] != ' ' && p[i + k] != '\t')) return 0;
    return k;
}

size_t sd_unfold(const char *p, size_t len, char *out)
{
    size_t i = 0, w = 0;
    while (i < len) {
        if (p[i] == ' ' || p[i] == '\t' || fold_at(p, i, len)) {
            /* a run of SP/HT and folds: one SP if it holds a fold, else as is */
            size_t j = i;
            int folded = 0;
            for (;;) {
                size_t k = fold_at(p, j, len);
                if (k) {
                    folded = 1;
                    j += k;
                } else if (j < len && (p[j] == ' ' || p[j] == '\t')) {
                    j++;
                } else {
                    break;
                }
            }
            if (folded) {
                out[w++] = ' ';
            } else {
                while (i < j) out[w++] = p[i++];
            }
            i = j;
        } else {
            out[w++] = p[i++];
        }
    }
    return w;
}
