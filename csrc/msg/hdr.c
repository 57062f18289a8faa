/*
 * hdr.c - header names: classification (long and compact forms, any case),
 * canonical names, list and single-value properties; method names.
 */
#include "sipdialog/msg.h"
#include "base/chars.h"

#include <string.h>

#include "hdr.h"

#define H(n, c, l, s) {n, (uint8_t)(sizeof(n) - 1), c, l, s}

/* Indexed by sd_hdr_id. Compact forms: IANA SIP parameters registry. */
const sd_hdr_info sd_hdr_table[SD_H__COUNT] = {
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
const uint8_t sd_hdr_compact_table[26] = {
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

sd_hdr_id sd_hdr_lookup(const char *name, size_t len)
{
    return sd_hdr_lookup_inline(name, len);
}

const char *sd_hdr_name(sd_hdr_id id)
{
    return ((unsigned)id < SD_H__COUNT && id != SD_H_OTHER) ? sd_hdr_table[id].name : NULL;
}

char sd_hdr_compact(sd_hdr_id id)
{
    return ((unsigned)id < SD_H__COUNT) ? sd_hdr_table[id].compact : 0;
}

int sd_hdr_is_list(sd_hdr_id id)
{
    return ((unsigned)id < SD_H__COUNT) ? sd_hdr_table[id].list : 0;
}

int sd_hdr_is_single(sd_hdr_id id)
{
    return ((unsigned)id < SD_H__COUNT) ? sd_hdr_table[id].single : 0;
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
