/*
 * hdr.h - the header-name table of hdr.c and its lookup, inline so that
 * the message parser classifies each header line without a call.
 * Internal to the C core.
 */
#ifndef SD_MSG_HDR_H
#define SD_MSG_HDR_H

#include "sipdialog/msg.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hdr_hash.h"

typedef struct sd_hdr_info {
    char name[24];    /* canonical long form, NUL-padded: compared 8 octets a step */
    uint8_t len;
    char compact;     /* 0 when none */
    uint8_t list;     /* comma-separated list values */
    uint8_t single;   /* at most one value per message */
} sd_hdr_info;

/* Indexed by sd_hdr_id (hdr.c). */
extern const sd_hdr_info sd_hdr_table[SD_H__COUNT];

/* Compact letter -> id, for 'a'..'z' (hdr.c). */
extern const uint8_t sd_hdr_compact_table[26];

/* Case-insensitive compare of 8, 4 or 2 octets of a header name with a
 * known name (letters and '-' only, so OR-ing 0x20 into both is exact). */
static inline int sd_hdr_ieq8(const unsigned char *a, const unsigned char *b)
{
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    return (x | 0x2020202020202020ull) == (y | 0x2020202020202020ull);
}

static inline int sd_hdr_ieq4(const unsigned char *a, const unsigned char *b)
{
    uint32_t x, y;
    memcpy(&x, a, 4);
    memcpy(&y, b, 4);
    return (x | 0x20202020u) == (y | 0x20202020u);
}

static inline int sd_hdr_ieq2(const unsigned char *a, const unsigned char *b)
{
    uint16_t x, y;
    memcpy(&x, a, 2);
    memcpy(&y, b, 2);
    return (uint16_t)(x | 0x2020u) == (uint16_t)(y | 0x2020u);
}

/* sd_hdr_lookup, inline: the id of name[0..len) (any case, compact forms
 * included), or SD_H_OTHER. */
static inline sd_hdr_id sd_hdr_lookup_inline(const char *name, size_t len)
{
    const unsigned char *u = (const unsigned char *)name;
    if (len == 1) {
        unsigned c = (unsigned)(u[0] | 0x20) - 'a';
        /* OR-ing 0x20 maps exactly the letters of either case onto
         * 'a'..'z' */
        return c < 26 ? (sd_hdr_id)sd_hdr_compact_table[c] : SD_H_OTHER;
    }
    if (len < 2 || len > 19) return SD_H_OTHER;
    /* Perfect hash on (length, first, middle, last octet); one full compare.
     * Known names hold only letters and '-', so OR-ing 0x20 into both sides
     * is an exact case-insensitive compare: no other octet of a header name
     * (a token) turns into a letter or '-' that way. */
    uint32_t key = (uint32_t)len | (uint32_t)(u[0] | 0x20) << 8 | (uint32_t)(u[len / 2] | 0x20) << 16 |
                   (uint32_t)(u[len - 1] | 0x20) << 24;
    unsigned id = hdr_hash_slot[(uint32_t)(key * SD_HDR_HASH_K) >> 24];
    if (id == 0 || sd_hdr_table[id].len != len) return SD_H_OTHER;
    const unsigned char *t = (const unsigned char *)sd_hdr_table[id].name;
    /* Overlapping word compares cover every octet without a byte loop. */
    if (len >= 8) {
        if (!sd_hdr_ieq8(u, t) || !sd_hdr_ieq8(u + len - 8, t + len - 8)) return SD_H_OTHER;
        if (len > 16 && !sd_hdr_ieq8(u + 8, t + 8)) return SD_H_OTHER;
    } else if (len >= 4) {
        if (!sd_hdr_ieq4(u, t) || !sd_hdr_ieq4(u + len - 4, t + len - 4)) return SD_H_OTHER;
    } else {
        if (!sd_hdr_ieq2(u, t) || !sd_hdr_ieq2(u + len - 2, t + len - 2)) return SD_H_OTHER;
    }
    return (sd_hdr_id)id;
}

#endif
