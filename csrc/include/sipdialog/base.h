/*
 * sipdialog/base.h - error codes, error records, slices, limits and the
 * logging hook shared by every layer of the sipdialog C core.
 *
 * The core holds no global mutable state: everything a call needs (limits,
 * the log hook) arrives through its arguments.
 */
#ifndef SIPDIALOG_BASE_H
#define SIPDIALOG_BASE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes returned by every fallible sd_* function. */
typedef enum sd_err {
    SD_OK = 0,
    SD_EPARSE,    /* malformed input; sd_error.offset says where */
    SD_ELIMIT,    /* a configured size or count limit was exceeded */
    SD_EVALID,    /* a value failed a validator */
    SD_ESTATE,    /* operation not allowed in the current state */
    SD_ENOTFOUND, /* no such element */
    SD_EEXIST,    /* element already present */
    SD_ECLOSED,   /* object already closed */
    SD_ENOMEM,    /* allocation failed */
    SD_EAGAIN,    /* stream framing: more bytes are needed */
    SD_EINVAL,    /* invalid argument from the caller */
    SD_EOVERLOAD  /* a capacity or admission limit refused the operation */
} sd_err;

#define SD_REASON_MAX 160

/*
 * Error record filled by failing calls. `offset` is the byte offset into the
 * input the failing call was given (SIZE_MAX when no position applies).
 */
typedef struct sd_error {
    sd_err code;
    size_t offset;
    char reason[SD_REASON_MAX];
} sd_error;

/* Fill `e` (may be NULL: then nothing happens) and return `code`. */
sd_err sd_error_set(sd_error *e, sd_err code, size_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Name of an error code ("SD_EPARSE", ...); static storage. */
const char *sd_err_name(sd_err code);

/*
 * A span: offset and length into a message buffer. Spans keep parsed
 * messages zero-copy and relocatable (the buffer may move, spans stay valid).
 */
typedef struct sd_span {
    uint32_t off;
    uint32_t len;
} sd_span;

/* Pointer-length slice of bytes that someone else owns. */
typedef struct sd_str {
    const char *p;
    size_t len;
} sd_str;

/*
 * Limits enforced by the parser and the validators. A value exactly at a
 * limit is accepted; one byte (or one item) more is SD_ELIMIT.
 */
typedef struct sd_limits {
    uint32_t max_message;     /* whole message, headers + body: 65535 */
    uint32_t max_header_line; /* one logical header line incl. folding: 8192 */
    uint32_t max_uri;         /* Request-URI and URIs in indexed headers: 2048 */
    uint32_t max_call_id;     /* Call-ID value: 256 */
    uint32_t max_tag;         /* From/To tag: 256 */
    uint32_t max_headers;     /* header fields per message: 256 */
    uint32_t max_via;         /* Via entries per message: 64 */
    uint32_t max_body;        /* body bytes: 65536 */
} sd_limits;

/* Fill `l` with the defaults listed above. */
void sd_limits_default(sd_limits *l);

/* Log levels (numerically equal to Python's logging levels). */
enum { SD_LOG_DEBUG = 10, SD_LOG_INFO = 20, SD_LOG_WARNING = 30, SD_LOG_ERROR = 40 };

/*
 * Structured fields of one diagnostic. Every pointer may be NULL; strings
 * are pointer-length and valid only during the hook call.
 */
typedef struct sd_log_fields {
    sd_str call_id;
    sd_str method;
    int status_code; /* 0 when none */
    sd_str reason;
} sd_log_fields;

/*
 * The one logging hook of the core. Called synchronously on the thread that
 * hit the event, with no sipdialog lock held; `text` is NUL-terminated and
 * valid only during the call.
 */
typedef void (*sd_log_fn)(void *ctx, int level, const sd_log_fields *fields, const char *text);

typedef struct sd_logger {
    sd_log_fn fn; /* NULL: diagnostics are dropped */
    void *ctx;
    int min_level; /* events below this level are not formatted at all */
} sd_logger;

/* Emit a diagnostic through `lg` (NULL or a NULL hook: no-op). */
void sd_log(const sd_logger *lg, int level, const sd_log_fields *fields, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Fill buf[0..n) from the operating system's CSPRNG (getrandom, else
 * /dev/urandom). `ctx` is unused (the signature of sd_dlg_env.random).
 * SD_OK, or SD_EINVAL when no randomness could be had. Thread-safe. */
sd_err sd_os_random(void *ctx, void *buf, size_t n);

/* CLOCK_MONOTONIC in nanoseconds; `ctx` unused (sd_dlg_env.now). */
int64_t sd_monotonic_ns(void *ctx);

/*
 * A table of shared strings (sd_dlg_env.strings): dialogs of one user agent
 * keep one copy of the strings they repeat exactly (their local Contact,
 * the route set through the same proxies) instead of one each. Thread-safe;
 * bounded by max_strings (beyond it, dialogs keep private copies).
 * sd_intern_new: one reference, or NULL (out of memory or no randomness
 * for its hash key). sd_intern_unref: drop it; the table is freed once no
 * dialog holds one of its strings either.
 */
typedef struct sd_intern sd_intern;
sd_intern *sd_intern_new(size_t max_strings);
void sd_intern_unref(sd_intern *t);

#ifdef __cplusplus
}
#endif
#endif
