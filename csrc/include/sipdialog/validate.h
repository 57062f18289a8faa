/*
 * sipdialog/validate.h - validators, sanitizers and pipelines.
 *
 * A validator checks a value against one rule of the RFC 3261 grammar (or a
 * range, or a length) and says where it fails; a sanitizer rewrites a value
 * into a normal form (idempotently). A pipeline runs its sanitizers in order,
 * then its validators in order, on a copy; the input is never modified.
 *
 * Pipelines are plain values: build once, then use from any thread
 * (sd_pipeline_run only reads the pipeline). No function here allocates
 * except sd_pipeline_run (its output buffer).
 */
#ifndef SIPDIALOG_VALIDATE_H
#define SIPDIALOG_VALIDATE_H

#include "sipdialog/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sd_vkind {
    SD_V_MAX_LENGTH = 1, /* arg: maximum length in bytes */
    SD_V_MIN_LENGTH,     /* arg: minimum length in bytes */
    SD_V_TOKEN,          /* 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
    SD_V_WORD,           /* 1*(token chars / "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}") */
    SD_V_QUOTED_STRING,  /* DQUOTE *(qdtext / quoted-pair) DQUOTE (no surrounding LWS) */
    SD_V_CALLID,         /* word [ "@" word ] */
    SD_V_TAG,            /* token (tag-param value) */
    SD_V_HOST,           /* hostname / IPv4address / IPv6reference */
    SD_V_PORT,           /* 1*DIGIT, value 0..65535 */
    SD_V_USER,           /* 1*( unreserved / escaped / user-unreserved ) */
    SD_V_HEADER_VALUE,   /* no CTL except HT, no CR/LF/NUL (folding not allowed) */
    SD_V_SIP_SCHEME,     /* an absolute URI whose scheme is sip, sips or tel; a
                            name-addr is accepted and its URI checked */
    SD_V_STATUS_CODE,    /* 3DIGIT, 100..699 */
    SD_V_CSEQ,           /* 1*DIGIT, value < 2**31 */
    SD_V_METHOD,         /* token (Method) */
    SD_V_URI,            /* a URI as sd_uri_parse accepts it */
    SD_V__COUNT
} sd_vkind;

typedef enum sd_skind {
    SD_S_TRIM_LWS = 1,   /* strip leading/trailing SP, HT, CR, LF; unfold inner folds */
    SD_S_CANONICAL_NAME, /* header name to its canonical long form ("i" -> "Call-ID") */
    SD_S_LOWER,          /* ASCII lower case */
    SD_S__COUNT
} sd_skind;

typedef struct sd_validator {
    uint8_t kind; /* sd_vkind */
    uint64_t arg;
} sd_validator;

/* Run one validator on p[0..len). SD_OK or SD_EVALID (reason, offset of
 * the first offending byte; min_length too) or SD_ELIMIT (max_length). */
sd_err sd_validate(const sd_validator *v, const char *p, size_t len, sd_error *err);

/* Short name of a validator or sanitizer kind ("token", "trim_lws"); static. */
const char *sd_vkind_name(sd_vkind k);
const char *sd_skind_name(sd_skind k);

/* Character classes of RFC 3261 25.1 for single octets (0..255). */
int sd_is_token_char(unsigned char c);
int sd_is_word_char(unsigned char c);

/* Capacity sd_sanitize needs for an input of `len` bytes: canonical_name
 * may turn a compact form into a long name of up to 19 bytes ("d" ->
 * "Request-Disposition"); every other sanitizer writes at most `len`. */
#define SD_SANITIZE_CAP(len) ((len) > 32 ? (len) : 32)

/* Run sanitizer `k` on p[0..len), writing to out, which must hold
 * SD_SANITIZE_CAP(len) bytes and may equal p. Returns the output length.
 * Never fails, never allocates. */
size_t sd_sanitize(sd_skind k, const char *p, size_t len, char *out);

#define SD_PIPELINE_MAX 16

typedef struct sd_pipeline {
    uint8_t nsan, nval;
    uint8_t san[SD_PIPELINE_MAX];
    sd_validator val[SD_PIPELINE_MAX];
} sd_pipeline;

/*
 * Run a pipeline on p[0..len): sanitizers in order, then validators on the
 * result. On SD_OK *out is a malloc'd buffer owned by the caller (free()),
 * *out_len its length (a NUL follows it, not counted). On error *out is NULL
 * and err says which validator failed and where (offset into the sanitized
 * value). SD_ENOMEM on allocation failure.
 */
sd_err sd_pipeline_run(const sd_pipeline *pl, const char *p, size_t len, char **out,
                       size_t *out_len, sd_error *err);

#ifdef __cplusplus
}
#endif
#endif
