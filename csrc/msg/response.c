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
    /* copied headers: every Via, From, To, Call-ID, CSeq, Timestamp (100) */
    size_t ncopy = 0, bytes = 0;
    for (uint32_t i = 0; i < req->nhdrs; i++) {
        uint16_t id = req->hdrs[i].id;
        if (id == SD_H_VIA || id == SD_H_FROM || id == SD_H_TO || id == SD_H_CALL_ID || id == SD_H_CSEQ ||
            (id == SD_H_TIMESTAMP && status == 100)) {
            ncopy++;
            bytes += req->hdrs[i].value.len;
        }
    }
    int add_tag = !req->has_to_tag && to_tag.len > 0;
    size_t total = ncopy + n;
    sd_str *nm = malloc(total * 2 * sizeof *nm + total + bytes + to_tag.len + 8);
    if (nm == NULL) return sd_error_set(err, SD_ENOMEM, SIZE_MAX, "out of memory");
    sd_str *vl = nm + total;
    uint8_t *copied = (uint8_t *)(vl + total);
    char *text = (char *)(copied + total), *w = text;
    size_t k = 0;
    /* keep the request's order of these headers: Via first as it came */
    for (uint32_t i = 0; i < req->nhdrs; i++) {
        const sd_header *h = &req->hdrs[i];
        uint16_t id = h->id;
        if (!(id == SD_H_VIA || id == SD_H_FROM || id == SD_H_TO || id == SD_H_CALL_ID || id == SD_H_CSEQ ||
              (id == SD_H_TIMESTAMP && status == 100)))
            continue;
        const char *name = sd_hdr_name((sd_hdr_id)id);
        nm[k] = (sd_str){name, strlen(name)};
        size_t len = (h->flags & SD_HF_FOLDED) ? sd_unfold(buf + h->value.off, h->value.len, w)
                                                : (memcpy(w, buf + h->value.off, h->value.len), h->value.len);
        if (id == SD_H_TO && add_tag && (int)i == req->first[SD_H_TO]) {
            memcpy(w + len, ";tag=", 5);
            memcpy(w + len + 5, to_tag.p, to_tag.len);
            len += 5 + to_tag.len;
        }
        vl[k] = (sd_str){w, len};
        copied[k] = 1;
        w += len;
        k++;
    }
    for (size_t j = 0; j < n; j++, k++) {
        nm[k] = names[j];
        vl[k] = values[j];
        copied[k] = 0;
    }
    if (reason.len == 0) {
        const char *d = sd_reason_phrase(status);
        reason = (sd_str){d, strlen(d)};
    }
    sd_err rc = sd_msg_build(out, (sd_str){NULL, 0}, (sd_str){NULL, 0}, status, reason, nm, vl, copied, k, body,
                             body_len, err);
    free(nm);
    return rc;
}
