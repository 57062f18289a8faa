/*
 * chars.h - octet classes of the RFC 3261 grammar (section 25.1), as
 * 256-entry bit tables. Internal to the C core.
 */
#ifndef SD_CHARS_H
#define SD_CHARS_H

#include <stddef.h>
#include <stdint.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum {
    SD_C_TOKEN = 1u << 0,    /* token */
    SD_C_WORD = 1u << 1,     /* word (token plus ()<>:\"/[]?{}) */
    SD_C_USER = 1u << 2,     /* unreserved / user-unreserved (not '%') */
    SD_C_PARAM = 1u << 3,    /* unreserved / param-unreserved (paramchar minus escaped) */
    SD_C_HNV = 1u << 4,      /* unreserved / hnv-unreserved (URI headers) */
    SD_C_HOST = 1u << 5,     /* alphanum / '-' / '.' */
    SD_C_DIGIT = 1u << 6,
    SD_C_HEX = 1u << 7,
    SD_C_PASSWD = 1u << 8,   /* unreserved / "&" "=" "+" "$" "," */
    SD_C_URIC = 1u << 9,     /* RFC 3986 URI characters (reserved / unreserved / '%') */
    SD_C_LWS = 1u << 10,     /* SP HT CR LF (inside a value span: LWS incl. folds) */
    SD_C_CTL = 1u << 11,     /* %x00-08 / %x0A-1F / %x7F: forbidden in header lines */
    SD_C_ALPHA = 1u << 12,
    SD_C_SCHEME = 1u << 13   /* ALPHA / DIGIT / "+" / "-" / "." */
};

extern const uint16_t sd_char_class[256];

#define SD_IS(c, cls) ((sd_char_class[(unsigned char)(c)] & (cls)) != 0)

static inline int sd_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* ASCII lower case, branch-free. */
static inline unsigned char sd_lower(unsigned char c)
{
    return (unsigned char)(c | ((unsigned)((unsigned)c - 'A' < 26u) << 5));
}

/* Case-insensitive ASCII compare of equal-length strings. */
static inline int sd_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sd_lower((unsigned char)a[i]) != sd_lower((unsigned char)b[i])) return 0;
    return 1;
}

/*
 * Index of the first octet in p[0..n) equal to a, b or c, or n. Vectorised
 * with SSE2 where available (16 octets a step); never reads outside p[0..n).
 */
static inline size_t sd_find3(const char *p, size_t n, char a, char b, char c)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)), _mm_cmpeq_epi8(x, vc));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits) return i + (size_t)__builtin_ctz(bits);
    }
#endif
    for (; i < n; i++)
        if (p[i] == a || p[i] == b || p[i] == c) return i;
    return n;
}

/*
 * Index of the first octet in p[0..n) that is NOT in class `cls`, or n.
 * Table driven, four octets a step.
 */
static inline size_t sd_span_class(const char *p, size_t n, unsigned cls)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        if (!SD_IS(p[i], cls)) return i;
        if (!SD_IS(p[i + 1], cls)) return i + 1;
        if (!SD_IS(p[i + 2], cls)) return i + 2;
        if (!SD_IS(p[i + 3], cls)) return i + 3;
    }
    for (; i < n; i++)
        if (!SD_IS(p[i], cls)) return i;
    return n;
}

#endif
