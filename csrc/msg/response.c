/*
 * response.c - a response built from a parsed request (RFC 3261 8.2.6):
 * the C form of req.create_response, used by the dialog layer.
 */
#include "sipdialog/msg.h"

#include <stdlib.h>
#include <string.h>

sd_err sd_msg_build_response(sd_buf *out, const char *buf, const sd_msg *req, int status, sd_str reason,
                             sd_str to_tag, const sd_str *names, const sd_str *values, size_t n,
                             const char *body, size_t body_len, sd_error *err)
{
    if (!req->is_request) return sd_error_set(err, SD_EINVAL, SIZE_MAX, "a response answers a request");
    if (req->method_id == SD_M_ACK)
        return sd_error_set(err, SD_EINVAL, SIZE_MAX, "an ACK is never answered (RFC 3261 17.1.1.3)");
    /* copied headers (8.2.6.2): every Via in order, then the first From,
     * To, Call-ID and CSeq (a repeat can only carry the same value), and
     * Timestamp for a 100 (8.2.6.1) */
    size_t ncopy = 0, bytes = 0, nvia = 0;
    for (int i = -1; (i = sd_msg_next(req, SD_H_VIA, i)) >= 0;) nvia++;
    int *idx = malloc((nvia + 5) * sizeof *idx);
    if (idx == NULL) return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    for (int i = -1; (i = sd_msg_next(req, SD_H_VIA, i)) >= 0;) idx[ncopy++] = i;
    static const sd_hdr_id once[] = {SD_H_FROM, SD_H_TO, SD_H_CALL_ID, SD_H_CSEQ, SD_H_TIMESTAMP};
    for (size_t c = 0; c < 5; c++)
        if (req->first[once[c]] >= 0 && (once[c] != SD_H_TIMESTAMP || status == 100)) idx[ncopy++] = req->first[once[c]];
    for (size_t c = 0; c < ncopy; c++) bytes += req->hdrs[idx[c]].value.len;
    int add_tag = !req->has_to_tag && to_tag.len > 0;
    size_t total = ncopy + n;
    sd_str *nm = malloc(total * 2 * sizeof *nm + total + bytes + to_tag.len + 8);
    if (nm == NULL) {
        free(idx);
        return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    }
    sd_str *vl = nm + total;
    uint8_t *copied = (uint8_t *)(vl + total);
    char *text = (char *)(copied + total), *w = text;
    size_t k = 0;
    for (size_t c = 0; c < ncopy; c++) {
        const sd_header *h = &req->hdrs[idx[c]];
        const char *name = sd_hdr_name((sd_hdr_id)h->id);
        nm[k] = (sd_str){name, strlen(name)};
        size_t len = (h->flags & SD_HF_FOLDED) ? sd_unfold(buf + h->value.off, h->value.len, w)
                                                : (memcpy(w, buf + h->value.off, h->value.len), h->value.len);
        if (h->id == SD_H_TO && add_tag) {
            memcpy(w + len, ";tag=", 5);
            memcpy(w + len + 5, to_tag.p, to_tag.len);
            len += 5 + to_tag.len;
        }
        vl[k] = (sd_str){w, len};
        copied[k] = 1;
        w += len;
        k++;
    }
    free(idx);
    for (size_t j = 0; j < n; j++, k++) {
        nm[k] = names[j];
        vl[k] = values[j];
        copied[k] = 0;
    }
    if (reason.p == NULL) {
        const char *d = sd_reason_phrase(status);
        reason = (sd_str){d, strlen(d)};
    }
    sd_err rc = sd_msg_build(out, (sd_str){NULL, 0}, (sd_str){NULL, 0}, status, reason, nm, vl, copied, k, body,
                             body_len, err);
    free(nm);
    return rc;
}
