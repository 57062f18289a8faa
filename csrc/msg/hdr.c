/*
 * hdr.c - header names: classification (long and compact forms, any case),
 * canonical names, list and single-value properties; method names.
 */
#include "sipdialog/msg.h"
#include "base/chars.h"

#include <string.h>

#include "hdr_hash.h"

typedef struct hdr_info {
    char name[24];    /* canonical long form, NUL-padded: compared 8 octets a step */
    uint8_t len;
    char compact;     /* 0 when none */
    uint8_t list;     /* comma-separated list values */
    uint8_t single;   /* at most one value per message */
} hdr_info;

#define H(n, c, l, s) {n, (uint8_t)(sizeof(n) - 1), c, l, s}

/* Indexed by sd_hdr_id. Compact forms: IANA SIP parameters registry. */
static const hdr_info hdr_table[SD_H__COUNT] = {
    [SD_H_OTHER] = {"", 0, 0, 0, 0},
    [SD_H_ACCEPT] = H("Accept", 0, 1, 0),
    [SD_H_ACCEPT_CONTACT] = H("Accept-Contact", 'a', 1, 0),
    [SD_H_ACCEPT_ENCODING] = H("Accept-Encoding", 0, 1, 0),
    [SD_H_ACCEPT_LANGUAGE] = H("Accept-Language", 0, 1, 0),
    [SD_H_ALERT_INFO] = H("Alert-Info", 0, 1, 0),
    [SD_H_ALLOW] = H("Allow", 0, 1, 0),
    [SD_H_ALLOW_EVENTS] = H("Allow-Events", 'u', 1, 0),
    [SD_H_AUTHORIZATION] = H("Authorization", 0, 0, 0),
    [SD_H_CALL_ID] = H("Call-ID", 'i', 0, 1),
    [SD_H_CALL_INFO] = H("Call-Info", 0, 1, 0),
    [SD_H_CONTACT] = H("Contact", 'm', 1, 0),
    [SD_H_CONTENT_DISPOSITION] = H("Content-Disposition", 0, 0, 0),
    [SD_H_CONTENT_ENCODING] = H("Content-Encoding", 'e', 1, 0),
    [SD_H_CONTENT_LANGUAGE] = H("Content-Language", 0, 1, 0),
    [SD_H_CONTENT_LENGTH] = H("Content-Length", 'l', 0, 1),
    [SD_H_CONTENT_TYPE] = H("Content-Type", 'c', 0, 0),
    [SD_H_CSEQ] = H("CSeq", 0, 0, 1),
    [SD_H_DATE] = H("Date", 0, 0, 0),
    [SD_H_ERROR_INFO] = H("Error-Info", 0, 1, 0),
    [SD_H_EVENT] = H("Event", 'o', 0, 0),
    [SD_H_EXPIRES] = H("Expires", 0, 0, 0),
    [SD_H_FROM] = H("From", 'f', 0, 1),
    [SD_H_IDENTITY] = H("Identity", 'y', 0, 0),
    [SD_H_IDENTITY_INFO] = H("Identity-Info", 'n', 0, 0),
    [SD_H_IN_REPLY_TO] = H("In-Reply-To", 0, 1, 0),
    [SD_H_MAX_FORWARDS] = H("Max-Forwards", 0, 0, 1),
    [SD_H_MIN_EXPIRES] = H("Min-Expires", 0, 0, 0),
    [SD_H_MIN_SE] = H("Min-SE", 0, 0, 0),
    [SD_H_ORGANIZATION] = H("Organization", 0, 0, 0),
    [SD_H_PATH] = H("Path", 0, 1, 0),
    [SD_H_PRIORITY] = H("Priority", 0, 0, 0),
    [SD_H_PROXY_AUTHENTICATE] = H("Proxy-Authenticate", 0, 0, 0),
    [SD_H_PROXY_AUTHORIZATION] = H("Proxy-Authorization", 0, 0, 0),
    [SD_H_PROXY_REQUIRE] = H("Proxy-Require", 0, 1, 0),
    [SD_H_RACK] = H("RAck", 0, 0, 0),
    [SD_H_REASON] = H("Reason", 0, 1, 0),
    [SD_H_RECORD_ROUTE] = H("Record-Route", 0, 1, 0),
    [SD_H_REFER_SUB] = H("Refer-Sub", 0, 0, 0),
    [SD_H_REFER_TO] = H("Refer-To", 'r', 0, 0),
    [SD_H_REFERRED_BY] = H("Referred-By", 'b', 0, 0),
    [SD_H_REJECT_CONTACT] = H("Reject-Contact", 'j', 1, 0),
    [SD_H_REPLACES] = H("Replaces", 0, 0, 0),
    [SD_H_REPLY_TO] = H("Reply-To", 0, 0, 0),
    [SD_H_REQUEST_DISPOSITION] = H("Request-Disposition", 'd', 1, 0),
    [SD_H_REQUIRE] = H("Require", 0, 1, 0),
    [SD_H_RETRY_AFTER] = H("Retry-After", 0, 0, 0),
    [SD_H_ROUTE] = H("Route", 0, 1, 0),
    [SD_H_RSEQ] = H("RSeq", 0, 0, 0),
    [SD_H_SERVER] = H("Server", 0, 0, 0),
    [SD_H_SERVICE_ROUTE] = H("Service-Route", 0, 1, 0),
    [SD_H_SESSION_EXPIRES] = H("Session-Expires", 'x', 0, 0),
    [SD_H_SUBJECT] = H("Subject", 's', 0, 0),
    [SD_H_SUBSCRIPTION_STATE] = H("Subscription-State", 0, 0, 0),
    [SD_H_SUPPORTED] = H("Supported", 'k', 1, 0),
    [SD_H_TARGET_DIALOG] = H("Target-Dialog", 0, 0, 0),
    [SD_H_TIMESTAMP] = H("Timestamp", 0, 0, 0),
    [SD_H_TO] = H("To", 't', 0, 1),
    [SD_H_UNSUPPORTED] = H("Unsupported", 0, 1, 0),
    [SD_H_USER_AGENT] = H("User-Agent", 0, 0, 0),
    [SD_H_VIA] = H("Via", 'v', 1, 0),
    [SD_H_WARNING] = H("Warning", 0, 1, 0),
    [SD_H_WWW_AUTHENTICATE] = H("WWW-Authenticate", 0, 0, 0),
};

/* Compact letter -> id, for 'a'..'z'. */
static const uint8_t compact_table[26] = {
    ['a' - 'a'] = SD_H_ACCEPT_CONTACT,  ['b' - 'a'] = SD_H_REFERRED_BY,
    ['c' - 'a'] = SD_H_CONTENT_TYPE,    ['d' - 'a'] = SD_H_REQUEST_DISPOSITION,
    ['e' - 'a'] = SD_H_CONTENT_ENCODING, ['f' - 'a'] = SD_H_FROM,
    ['i' - 'a'] = SD_H_CALL_ID,         ['j' - 'a'] = SD_H_REJECT_CONTACT,
    ['k' - 'a'] = SD_H_SUPPORTED,       ['l' - 'a'] = SD_H_CONTENT_LENGTH,
    ['m' - 'a'] = SD_H_CONTACT,         ['n' - 'a'] = SD_H_IDENTITY_INFO,
    ['o' - 'a'] = SD_H_EVENT,           ['r' - 'a'] = SD_H_REFER_TO,
    ['s' - 'a'] = SD_H_SUBJECT,         ['t' - 'a'] = SD_H_TO,
    ['u' - 'a'] = SD_H_ALLOW_EVENTS,    ['v' - 'a'] = SD_H_VIA,
    ['x' - 'a'] = SD_H_SESSION_EXPIRES, ['y' - 'a'] = SD_H_IDENTITY,
};

/* Case-insensitive compare of 8, 4 or 2 octets of a header name with a
 * known name (letters and '-' only, so OR-ing 0x20 into both is exact). */
static inline int ieq8(const unsigned char *a, const unsigned char *b)
{
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    return (x | 0x2020202020202020ull) == (y | 0x2020202020202020ull);
}

static inline int ieq4(const unsigned char *a, const unsigned char *b)
{
    uint32_t x, y;
    memcpy(&x, a, 4);
    memcpy(&y, b, 4);
    return (x | 0x20202020u) == (y | 0x20202020u);
}

static inline int ieq2(const unsigned char *a, const unsigned char *b)
{
    uint16_t x, y;
    memcpy(&x, a, 2);
    memcpy(&y, b, 2);
    return (uint16_t)(x | 0x2020u) == (uint16_t)(y | 0x2020u);
}

sd_hdr_id sd_hdr_lookup(const char *name, size_t len)
{
    if (len == 1) {
        unsigned char c = sd_lower((unsigned char)name[0]);
        if (c >= 'a' && c <= 'z') return (sd_hdr_id)compact_table[c - 'a'];
        return SD_H_OTHER;
    }
    if (len < 2 || len > 19) return SD_H_OTHER;
    /* Perfect hash on (length, first, middle, last octet); one full compare.
     * Known names hold only letters and '-', so OR-ing 0x20 into both sides
     * is an exact case-insensitive compare: no other octet of a header name
     * (a token) turns into a letter or '-' that way. */
    const unsigned char *u = (const unsigned char *)name;
    uint32_t key = (uint32_t)len | (uint32_t)(u[0] | 0x20) << 8 | (uint32_t)(u[len / 2] | 0x20) << 16 |
                   (uint32_t)(u[len - 1] | 0x20) << 24;
    unsigned id = hdr_hash_slot[(uint32_t)(key * SD_HDR_HASH_K) >> 24];
    if (id == 0 || hdr_table[id].len != len) return SD_H_OTHER;
    const unsigned char *t = (const unsigned char *)hdr_table[id].name;
    /* Overlapping word compares cover every octet without a byte loop. */
    if (len >= 8) {
        for (size_t i = 0; i + 8 <= len; i += 8)
            if (ieq8(u + i, t + i) == 0) return SD_H_OTHER;
        if (ieq8(u + len - 8, t + len - 8) == 0) return SD_H_OTHER;
    } else if (len >= 4) {
        if (ieq4(u, t) == 0 || ieq4(u + len - 4, t + len - 4) == 0) return SD_H_OTHER;
    } else {
        if (ieq2(u, t) == 0 || ieq2(u + len - 2, t + len - 2) == 0) return SD_H_OTHER;
    }
    return (sd_hdr_id)id;
}

const char *sd_hdr_name(sd_hdr_id id)
{
    return ((unsigned)id < SD_H__COUNT && id != SD_H_OTHER) ? hdr_table[id].name : NULL;
}

char sd_hdr_compact(sd_hdr_id id)
{
    return ((unsigned)id < SD_H__COUNT) ? hdr_table[id].compact : 0;
}

int sd_hdr_is_list(sd_hdr_id id)
{
    return ((unsigned)id < SD_H__COUNT) ? hdr_table[id].list : 0;
}

int sd_hdr_is_single(sd_hdr_id id)
{
    return ((unsigned)id < SD_H__COUNT) ? hdr_table[id].single : 0;
}

sd_method sd_method_lookup(const char *p, size_t len)
{
#define M(s, id) if (len == sizeof(s) - 1 && memcmp(p, s, len) == 0) return id
    switch (len) {
    case 3: M("ACK", SD_M_ACK); M("BYE", SD_M_BYE); break;
    case 4: M("INFO", SD_M_INFO); break;
    case 5: M("PRACK", SD_M_PRACK); M("REFER", SD_M_REFER); break;
    case 6: M("INVITE", SD_M_INVITE); M("CANCEL", SD_M_CANCEL); M("NOTIFY", SD_M_NOTIFY);
            M("UPDATE", SD_M_UPDATE); break;
    case 7: M("OPTIONS", SD_M_OPTIONS); M("PUBLISH", SD_M_PUBLISH); M("MESSAGE", SD_M_MESSAGE); break;
    case 8: M("REGISTER", SD_M_REGISTER); break;
    case 9: M("SUBSCRIBE", SD_M_SUBSCRIBE); break;
    default: break;
    }
#undef M
    return SD_M_OTHER;
}
