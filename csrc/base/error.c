/* error.c - error records, limits defaults and the logging hook. */
#include "sipdialog/base.h"

#include <stdarg.h>
#include <stdio.h>

sd_err sd_error_set(sd_error *e, sd_err code, size_t offset, const char *fmt, ...)
{
    if (e == NULL) return code;
    e->code = code;
    e->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
    if (n < 0) e->reason[0] = '\0';
    return code;
}

const char *sd_err_name(sd_err code)
{
    switch (code) {
    case SD_OK: return "SD_OK";
    case SD_EPARSE: return "SD_EPARSE";
    case SD_ELIMIT: return "SD_ELIMIT";
    case SD_EVALID: return "SD_EVALID";
    case SD_ESTATE: return "SD_ESTATE";
    case SD_ENOTFOUND: return "SD_ENOTFOUND";
    case SD_EEXIST: return "SD_EEXIST";
    case SD_ECLOSED: return "SD_ECLOSED";
    case SD_ENOMEM: return "SD_ENOMEM";
    case SD_EAGAIN: return "SD_EAGAIN";
    case SD_EINVAL: return "SD_EINVAL";
    case SD_EOVERLOAD: return "SD_EOVERLOAD";
    }
    return "SD_E?";
}

void sd_limits_default(sd_limits *l)
{
    l->max_message = 65535;
    l->max_header_line = 8192;
    l->max_uri = 2048;
    l->max_call_id = 256;
    l->max_tag = 256;
    l->max_headers = 256;
    l->max_via = 64;
    l->max_body = 65536;
}

void sd_log(const sd_logger *lg, int level, const sd_log_fields *fields, const char *fmt, ...)
{
    if (lg == NULL || lg->fn == NULL || level < lg->min_level) return;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0) text[0] = '\0';
    static const sd_log_fields none = {{NULL, 0}, {NULL, 0}, 0, {NULL, 0}};
    lg->fn(lg->ctx, level, fields ? fields : &none, text);
}
