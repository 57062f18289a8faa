/*
 * sipdialog/msg.h - zero-copy SIP message parser and serializer
 * (RFC 3261 sections 7, 18.3, 20 and 25).
 *
 * A parsed message is the caller's buffer plus spans (offset, length) into
 * it. The parser never copies or modifies the buffer; the caller keeps it
 * alive and unchanged as long as the sd_msg is used. Folded header lines
 * (CRLF followed by SP/HT) stay in the buffer: value spans then contain
 * CR/LF bytes, and every value parser treats CR, LF, SP and HT inside a
 * value span as linear white space. sd_header.flags has SD_HF_FOLDED set for
 * such values so readers can unfold (sd_unfold) when they copy.
 *
 * Thread-safety: all functions are reentrant; a parsed message is immutable
 * and may be read from many threads.
 */
#ifndef SIPDIALOG_MSG_H
#define SIPDIALOG_MSG_H

#include "sipdialog/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Header identifiers: every header with a compact form plus the ones the
 * dialog and transfer layers index. SD_H_OTHER is any other header. */
typedef enum sd_hdr_id {
    SD_H_OTHER = 0,
    SD_H_ACCEPT,
    SD_H_ACCEPT_CONTACT,      /* a */
    SD_H_ACCEPT_ENCODING,
    SD_H_ACCEPT_LANGUAGE,
    SD_H_ALERT_INFO,
    SD_H_ALLOW,
    SD_H_ALLOW_EVENTS,        /* u */
    SD_H_AUTHORIZATION,
    SD_H_CALL_ID,             /* i */
    SD_H_CALL_INFO,
    SD_H_CONTACT,             /* m */
    SD_H_CONTENT_DISPOSITION,
    SD_H_CONTENT_ENCODING,    /* e */
    SD_H_CONTENT_LANGUAGE,
    SD_H_CONTENT_LENGTH,      /* l */
    SD_H_CONTENT_TYPE,        /* c */
    SD_H_CSEQ,
    SD_H_DATE,
    SD_H_ERROR_INFO,
    SD_H_EVENT,               /* o */
    SD_H_EXPIRES,
    SD_H_FROM,                /* f */
    SD_H_IDENTITY,            /* y */
    SD_H_IDENTITY_INFO,       /* n */
    SD_H_IN_REPLY_TO,
    SD_H_MAX_FORWARDS,
    SD_H_MIN_EXPIRES,
    SD_H_MIN_SE,
    SD_H_ORGANIZATION,
    SD_H_PATH,
    SD_H_PRIORITY,
    SD_H_PROXY_AUTHENTICATE,
    SD_H_PROXY_AUTHORIZATION,
    SD_H_PROXY_REQUIRE,
    SD_H_RACK,
    SD_H_REASON,
    SD_H_RECORD_ROUTE,
    SD_H_REFER_SUB,
    SD_H_REFER_TO,            /* r */
    SD_H_REFERRED_BY,         /* b */
    SD_H_REJECT_CONTACT,      /* j */
    SD_H_REPLACES,
    SD_H_REPLY_TO,
    SD_H_REQUEST_DISPOSITION, /* d */
    SD_H_REQUIRE,
    SD_H_RETRY_AFTER,
    SD_H_ROUTE,
    SD_H_RSEQ,
    SD_H_SERVER,
    SD_H_SERVICE_ROUTE,
    SD_H_SESSION_EXPIRES,     /* x */
    SD_H_SUBJECT,             /* s */
    SD_H_SUBSCRIPTION_STATE,
    SD_H_SUPPORTED,           /* k */
    SD_H_TARGET_DIALOG,
    SD_H_TIMESTAMP,
    SD_H_TO,                  /* t */
    SD_H_UNSUPPORTED,
    SD_H_USER_AGENT,
    SD_H_VIA,                 /* v */
    SD_H_WARNING,
    SD_H_WWW_AUTHENTICATE,
    SD_H__COUNT
} sd_hdr_id;

/* Classify a header name (case-insensitive, compact forms included).
 * Returns SD_H_OTHER for names it does not know. Never fails. */
sd_hdr_id sd_hdr_lookup(const char *name, size_t len);

/* Canonical long name of a header id ("Call-ID", "CSeq", "WWW-Authenticate");
 * NULL for SD_H_OTHER. Static storage. */
const char *sd_hdr_name(sd_hdr_id id);

/* Compact form letter of a header id, or 0 when it has none. */
char sd_hdr_compact(sd_hdr_id id);

/* Non-zero when values of this header are a comma-separated list that may be
 * split into several values (Via, Route, Contact, Allow, Supported, ...). */
int sd_hdr_is_list(sd_hdr_id id);

/* Non-zero for headers that may appear at most once with one value
 * (Call-ID, CSeq, From, To, Max-Forwards, Content-Length). */
int sd_hdr_is_single(sd_hdr_id id);

/* Method identifiers; SD_M_OTHER for extension methods. */
typedef enum sd_method {
    SD_M_OTHER = 0,
    SD_M_INVITE,
    SD_M_ACK,
    SD_M_BYE,
    SD_M_CANCEL,
    SD_M_OPTIONS,
    SD_M_REGISTER,
    SD_M_PRACK,
    SD_M_SUBSCRIBE,
    SD_M_NOTIFY,
    SD_M_PUBLISH,
    SD_M_INFO,
    SD_M_REFER,
    SD_M_MESSAGE,
    SD_M_UPDATE
} sd_method;

/* Classify a method token (case-sensitive, RFC 3261 7.1). */
sd_method sd_method_lookup(const char *p, size_t len);

/* Header flags. */
enum {
    SD_HF_FOLDED = 1u << 0 /* value span contains CRLF folding */
};

/* One header field as it appears on the wire. */
typedef struct sd_header {
    sd_span name;   /* name as written (compact or long), without trailing WS */
    sd_span value;  /* value without leading/trailing LWS; may contain folds */
    uint16_t id;    /* sd_hdr_id */
    uint16_t flags; /* SD_HF_* */
    uint32_t _pad;
} sd_header;

/* Parser options. */
enum {
    SD_PARSE_STREAM = 1u << 0, /* stream framing: Content-Length required and exact */
    SD_PARSE_RFC2543 = 1u << 1, /* relax RFC 3261 8.1.1 mandatory headers (RFC 2543 peers) */
    SD_PARSE_CHECK_URIS = 1u << 2 /* also parse the URIs of From, To, Contact, Route, Record-Route */
};

typedef struct sd_parse_opts {
    sd_limits limits;
    unsigned flags;      /* SD_PARSE_* */
    const sd_logger *log; /* may be NULL */
} sd_parse_opts;

/* Fill `o` with default limits, no flags and no logger. */
void sd_parse_opts_default(sd_parse_opts *o);

/*
 * A parsed message. All spans are relative to the buffer given to
 * sd_msg_parse; spans of absent elements have len 0 and, where absence
 * matters, a flag or a -1 index says so.
 */
typedef struct sd_msg {
    uint32_t msg_start;   /* offset of the start line (leading CRLFs skipped) */
    uint32_t msg_len;     /* the message is buf[msg_start .. msg_start + msg_len) */
    uint8_t is_request;
    uint8_t method_id;    /* sd_method of the request method (requests) */
    uint8_t cseq_method_id;
    uint8_t has_to_tag;   /* distinguishes ";tag=" with empty value: never (rejected) */
    uint8_t has_from_tag;
    uint8_t uris_checked; /* parsed with SD_PARSE_CHECK_URIS: the URIs of From, To,
                             Contact, Route and Record-Route are valid */
    uint8_t _pad[2];
    /* start line */
    sd_span method;       /* request */
    sd_span ruri;         /* request */
    uint16_t status;      /* response: 100..699 */
    sd_span reason;       /* response: may be empty */
    /* dialog-relevant fields, validated at parse time */
    sd_span call_id;
    sd_span from_tag;
    sd_span to_tag;
    uint32_t cseq;        /* < 2**31 */
    sd_span cseq_method;
    int32_t max_forwards; /* -1 when absent */
    int64_t content_length; /* -1 when absent */
    sd_span via_branch;   /* branch of the topmost Via; len 0 when none */
    uint32_t via_count;   /* Via entries across all Via header fields */
    sd_span body;
    /* headers */
    uint32_t nhdrs;
    int16_t first[SD_H__COUNT]; /* index in hdrs of the first header of each id, -1 */
    sd_header *hdrs;      /* nhdrs entries; storage owned by whoever supplied it */
} sd_msg;

/*
 * Parse one message from buf[0..len).
 *
 * `hdrs` is caller-owned storage for up to `cap` headers (cap >= limits.max_headers
 * is recommended; a message with more headers than `cap` fails with SD_ELIMIT).
 * The parser fills *out (out->hdrs = hdrs) and keeps no pointer to buf.
 * Datagram mode (default): the message is the whole buffer; a Content-Length
 * larger than what follows the headers is SD_EPARSE, a smaller one ends the
 * message (RFC 3261 18.3: trailing octets are ignored, out->msg_len tells
 * where the message ends: out->msg_start + out->msg_len); no Content-Length means the body runs to the end.
 * SD_PARSE_STREAM: Content-Length is required and the body is exactly that.
 *
 * Every header line is checked for the octets RFC 3261 25.1 forbids; the
 * start line (Request-URI included), Call-ID, From, To, CSeq, Via,
 * Max-Forwards, Content-Length, Contact, Route and Record-Route are checked
 * against their grammar. The URIs inside the name-addr headers are located
 * and their length limited; they are parsed (sd_uri_parse) only with
 * SD_PARSE_CHECK_URIS, else on demand by whoever reads them.
 *
 * Returns SD_OK, SD_EPARSE or SD_ELIMIT (with err filled: reason and byte
 * offset into buf). On failure *out is unspecified. Never allocates.
 */
sd_err sd_msg_parse(const char *buf, size_t len, const sd_parse_opts *opts,
                    sd_msg *out, sd_header *hdrs, size_t cap, sd_error *err);

/*
 * Stream framing: find the end of the first message in buf[0..len).
 * Leading CRLFs (keep-alives, RFC 5626 3.5.1) are skipped: *skip receives
 * their count. On SD_OK *msg_len is the length of the message starting at
 * buf + *skip. SD_EAGAIN: incomplete, feed more (unless limits make it
 * hopeless: then SD_ELIMIT). SD_EPARSE: missing, duplicated-and-different or
 * malformed Content-Length, or a header block the parser cannot frame.
 */
sd_err sd_msg_frame(const char *buf, size_t len, const sd_limits *limits,
                    size_t *skip, size_t *msg_len, sd_error *err);

/* Index of the next header with id `id` after index `after` (-1 to start);
 * -1 when none. For SD_H_OTHER use sd_msg_find_name. */
int sd_msg_next(const sd_msg *m, sd_hdr_id id, int after);

/* Index of the next header whose name equals `name` (case-insensitive,
 * compact forms aware) after index `after`; -1 when none. */
int sd_msg_find_name(const sd_msg *m, const char *buf, const char *name, size_t len, int after);

/*
 * Split a comma-separated header value. Start with *pos = 0; each call
 * stores the next element (trimmed of LWS) in *item and returns 1, or
 * returns 0 at the end. Commas inside quoted strings (quoted-pairs
 * honoured) and <...> do not split. A value that is empty or only LWS has
 * no element (0 at once). Returns -1 for a malformed list: an empty element
 * (",,", a leading or trailing ','), an unterminated quoted string or a '<'
 * without '>'. Spans are relative to `base` (the message buffer); `v` is a
 * span of it.
 */
int sd_list_next(const char *base, sd_span v, uint32_t *pos, sd_span *item);

/*
 * Copy `len` bytes of a value, replacing every fold (CR LF followed by
 * SP/HT, with the surrounding white space) by one SP. `out` must hold `len`
 * bytes; returns the number written (<= len).
 */
size_t sd_unfold(const char *p, size_t len, char *out);

/* ---- URIs (RFC 3261 19.1, 25.1; RFC 3966 tel; RFC 3986 absolute URI) ---- */

typedef enum sd_uri_scheme {
    SD_URI_OTHER = 0, /* any other absolute URI: opaque after the scheme */
    SD_URI_SIP,
    SD_URI_SIPS,
    SD_URI_TEL
} sd_uri_scheme;

enum { SD_HOST_NONE = 0, SD_HOST_NAME, SD_HOST_IPV4, SD_HOST_IPV6 };

typedef struct sd_uri {
    uint8_t scheme_id;  /* sd_uri_scheme */
    uint8_t host_type;  /* SD_HOST_* (SIP/SIPS only) */
    uint8_t has_password;
    uint8_t _pad;
    int32_t port;       /* -1 when absent, else 0..65535 */
    sd_span scheme;
    sd_span user;       /* SIP/SIPS: still percent-escaped; TEL: the number */
    sd_span password;
    sd_span host;       /* IPv6 reference includes the brackets */
    sd_span params;     /* after the first ';' up to '?' or end (no leading ';') */
    sd_span headers;    /* after '?' (no '?') */
    sd_span opaque;     /* everything after "scheme:" (every scheme) */
} sd_uri;

/*
 * Parse a URI from base[v.off .. v.off+v.len). Spans in *out are relative to
 * base. SIP/SIPS follow RFC 3261 25.1 strictly (no LWS, escapes are
 * "%" HEX HEX, IPv6 references validated); TEL follows RFC 3966's shape;
 * other schemes need scheme ":" and a non-empty run of URI characters.
 * Returns SD_OK, SD_EPARSE or SD_ELIMIT (longer than max_uri; 0 = no limit).
 * Offsets in err are relative to base.
 */
sd_err sd_uri_parse(const char *base, sd_span v, uint32_t max_uri, sd_uri *out, sd_error *err);

/*
 * Percent-decode `len` bytes (one pass, never recursively) into `out`
 * (which must hold `len` bytes). A '%' not followed by two hex digits is
 * copied as is. Returns the decoded length. NUL bytes are kept.
 */
size_t sd_pct_decode(const char *p, size_t len, char *out);

/*
 * Iterate generic parameters ( *( SEMI generic-param ) as in RFC 3261 25.1,
 * or URI parameters when `uri` is non-zero). Start with *pos = 0; each call
 * stores the next name and value (value.len == 0 and *has_value == 0 for a
 * bare name) and returns 1; 0 at the end. `v` is the params span (starting
 * right after the first ';' or at it: a leading ';' is skipped). A quoted
 * value keeps its quotes (so callers can tell it was quoted). Between calls
 * *pos is the index of the ';' after the last parameter (or v.len).
 * Malformed parameters (";;", a trailing ';', "a=" without a value):
 * returns -1.
 */
int sd_param_next(const char *base, sd_span v, int uri, uint32_t *pos,
                  sd_span *name, sd_span *value, int *has_value);

/* Find parameter `name` (case-insensitive) in a params span. Returns 1 and
 * sets *value (len 0 for a bare name) when present, 0 when absent, -1 when
 * the params are malformed. */
int sd_param_find(const char *base, sd_span v, int uri, const char *name, size_t nlen,
                  sd_span *value);

/* ---- name-addr / addr-spec (From, To, Contact, Route, Refer-To, ...) ---- */

typedef struct sd_nameaddr {
    uint8_t has_brackets;   /* name-addr form (<...>) */
    uint8_t quoted_display; /* display name was a quoted-string */
    uint8_t is_star;        /* Contact: "*" */
    uint8_t _pad;
    sd_span display;        /* without the quotes; escapes still in place */
    sd_span uri;            /* inside <> or the addr-spec */
    sd_span params;         /* header params after the URI, without the first ';' */
} sd_nameaddr;

/*
 * Parse one name-addr / addr-spec with its header parameters from
 * base[v.off .. v.off+v.len) (one element: split lists with sd_list_next).
 * In addr-spec form, the URI ends at the first ';' or LWS (RFC 3261 20: what
 * follows are header parameters) and may not contain '?' or ','. The URI itself is
 * located, not parsed: call sd_uri_parse on out->uri.
 * `allow_star`: accept "*" (Contact). Returns SD_OK or SD_EPARSE.
 */
sd_err sd_nameaddr_parse(const char *base, sd_span v, int allow_star, sd_nameaddr *out,
                         sd_error *err);

/* ---- Via (RFC 3261 20.42) ---- */

typedef struct sd_via {
    sd_span protocol;  /* "SIP" */
    sd_span version;   /* "2.0" */
    sd_span transport; /* "UDP", "TCP", extension tokens */
    sd_span host;      /* IPv6 reference with brackets */
    int32_t port;      /* -1 when absent */
    sd_span params;    /* without the first ';' */
    sd_span branch, received, maddr; /* len 0 when absent */
    int32_t ttl;       /* -1 when absent, else 0..255 */
    int32_t rport;     /* -1 absent, 0 present without value, else 1..65535 */
    uint8_t has_branch, has_received, has_maddr, has_rport;
} sd_via;

/*
 * Parse one via-parm from base[v.off .. v.off+v.len) (one element of a Via
 * list). Accepts LWS around '/', ';', '=' and the port's ':' (RFC 3261
 * SLASH, SEMI, EQUAL, COLON) and RFC 5118 4.5's received with an IPv6
 * reference. Returns SD_OK or SD_EPARSE.
 */
sd_err sd_via_parse(const char *base, sd_span v, sd_via *out, sd_error *err);

/* Default reason phrase for a status code (RFC 3261 21 and the IANA
 * registry); "Unknown" for codes it does not know. Static storage. */
const char *sd_reason_phrase(int status);

/* ---- serializer ---- */

/*
 * Growable output buffer owned by the caller: sd_buf_init, append, then
 * sd_buf_free (or take .p and free() it yourself). Appends fail only with
 * SD_ENOMEM, and a failed buffer stays valid (further appends are no-ops
 * returning SD_ENOMEM).
 */
typedef struct sd_buf {
    char *p;
    size_t len, cap;
    int failed;
} sd_buf;

void sd_buf_init(sd_buf *b);
void sd_buf_free(sd_buf *b);
sd_err sd_buf_append(sd_buf *b, const char *p, size_t len);
sd_err sd_buf_appendf(sd_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/*
 * Serialize a message from parts into `out`: a start line, `n` headers
 * (name, value pairs) and the body; Content-Length is written last from
 * body_len (a Content-Length among the pairs must equal it and is not
 * repeated). Every part is checked before anything is written: the method
 * and header names are tokens, the Request-URI parses, the reason phrase and
 * the values carry no CTL but HT (so no CR, LF or NUL: nothing a reader
 * could take for a second header). `copied` (may be NULL) marks values taken
 * from a parsed message: those may hold CTLs other than CR and LF inside
 * quoted-pairs, exactly as the parser accepts them (RFC 3261 25.1).
 * For a request pass method/ruri and status = 0; for a response status and
 * reason. Returns SD_OK, SD_EVALID (err says which part, offset within it)
 * or SD_ENOMEM. On failure `out` keeps what it had before the call.
 */
sd_err sd_msg_build(sd_buf *out, sd_str method, sd_str ruri, int status, sd_str reason,
                    const sd_str *names, const sd_str *values, const uint8_t *copied, size_t n,
                    const char *body, size_t body_len, sd_error *err);

/* Values of the `copied` array of sd_msg_build. */
enum {
    SD_BUILD_CHECKED = 0, /* checked: a token name, a value without CTLs */
    SD_BUILD_COPIED = 1   /* copied from a parsed message: CTLs inside quoted-pairs allowed */
};

/*
 * Append a response to the parsed request `req` (buffer `buf`) to `out`
 * (RFC 3261 8.2.6): every Via in order, From, To, Call-ID and CSeq copied
 * (unfolded), Timestamp too for 100; `to_tag` (len 0: none) is added to To
 * when the request has no To tag. Then the caller's headers and the body,
 * through sd_msg_build (so they are validated). `reason` with p NULL: the
 * default phrase (p non-NULL and len 0: an empty one, RFC 3261 25.1). SD_EINVAL for an ACK or a response as `req`; else as sd_msg_build.
 * Allocates only scratch space, freed before it returns.
 */
sd_err sd_msg_build_response(sd_buf *out, const char *buf, const sd_msg *req, int status, sd_str reason,
                             sd_str to_tag, const sd_str *names, const sd_str *values, size_t n,
                             const char *body, size_t body_len, sd_error *err);

#ifdef __cplusplus
}
#endif
#endif
