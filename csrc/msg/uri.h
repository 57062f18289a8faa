/*
 * uri.h - lexical helpers defined in uri.c and shared by the other msg
 * parsers (nameaddr.c, via.c). Internal to the C core.
 *
 * Every helper reads only p[0..n) and keeps no state.
 */
#ifndef SD_MSG_URI_H
#define SD_MSG_URI_H

#include "sipdialog/base.h"

#include <stddef.h>
#include <stdint.h>

/* IPv4address of RFC 3261 25.1 (four dot-separated runs of 1-3 digits), each
 * component at most 255. p[0..n) must be exactly the address. 1 or 0. */
int sd_ipv4_check(const char *p, size_t n);

/* IPv6address (RFC 4291 2.2 text form: eight hex4 groups, or fewer with one
 * "::", optionally ending in an IPv4address worth two groups). p[0..n) must
 * be exactly the address, without brackets. 1 or 0. */
int sd_ipv6_check(const char *p, size_t n);

/*
 * host = hostname / IPv4address / IPv6reference at the start of p[0..n).
 * Returns the length of the host (brackets included for an IPv6 reference)
 * and stores SD_HOST_* in *type, or 0 when no valid host starts at p. The
 * host ends at the first octet that cannot belong to it; the caller checks
 * what follows.
 */
size_t sd_host_scan(const char *p, size_t n, uint8_t *type);

/*
 * quoted-string (RFC 3261 25.1, without the leading SWS) at p[0] == '"'.
 * qdtext is LWS (SP, HT, CR, LF), %x21, %x23-5B, %x5D-7E or an octet
 * >= 0x80; quoted-pair is '\' followed by %x00-09 / %x0B-0C / %x0E-7F.
 * Returns the length including both quotes, or 0 with *bad set to the
 * offset of the offending octet (n when the closing quote is missing).
 */
size_t sd_quoted_scan(const char *p, size_t n, size_t *bad);

/* 1*DIGIT at the start of p[0..n): returns the number of digits (0 when
 * none) and stores the value in *val, or -1 when it exceeds `max` (any
 * number of digits is consumed without overflow). */
size_t sd_digits_scan(const char *p, size_t n, uint32_t max, int32_t *val);

/*
 * sd_param_next with error position: on -1, *bad is the offset (relative
 * to base) of the octet where the parameter list stopped being valid.
 */
int sd_param_step(const char *base, sd_span v, int uri, uint32_t *pos, sd_span *name,
                  sd_span *value, int *has_value, size_t *bad);

#endif
