/*
 * build.h - the serializer's entry for the core's own layers. Internal.
 */
#ifndef SD_MSG_BUILD_H
#define SD_MSG_BUILD_H

#include "sipdialog/msg.h"

/* A `copied` value beyond the public ones: made by the core from parts it
 * checked when they came in; not checked again, never a Content-Length. */
enum { SD_BUILD_TRUSTED = 2 };
/* Flags of sd_msg_build_ex. */
enum { SD_BUILD_TRUSTED_RURI = 1u << 0 /* the Request-URI was checked by the core */ };

/* sd_msg_build with trusted parts and flags (the dialog builds requests
 * from strings it validated when they came in). Ownership and errors as
 * sd_msg_build; the public sd_msg_build refuses SD_BUILD_TRUSTED. */
sd_err sd_msg_build_ex(sd_buf *out, sd_str method, sd_str ruri, int status, sd_str reason, const sd_str *names,
                       const sd_str *values, const uint8_t *copied, size_t n, const char *body, size_t body_len,
                       unsigned flags, sd_error *err);

#endif
