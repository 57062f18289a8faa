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


#if defined(__SSE2__)
/*
 * Index of the first octet in p[i..n) that is not in class `cls`, or n,
 * for a class that holds every letter and digit (token, user, param); p[0..n)
 * must be readable as a whole and n >= 16. 16 octets a step: SSE2 finds
 * the octets that are not letters or digits and only those are looked up
 * in the octet table, so a run of alphanumerics costs no lookup. The last
 * step reads p[n-16..n) and ignores the octets before i, so nothing outside
 * p[0..n) is read.
 */
static inline size_t sd_alnum_class_end(const char *p, size_t i, size_t n, unsigned cls)
{
    for (;;) {
        size_t b = n - i >= 16 ? i : n - 16;
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + b));
        /* OR-ing 0x20 maps exactly the letters onto 'a'..'z'; each range
         * is shifted onto -128.. and compared signed */
        __m128i a = _mm_cmplt_epi8(_mm_add_epi8(_mm_or_si128(x, _mm_set1_epi8(0x20)), _mm_set1_epi8((char)(0x80 - 'a'))),
                                   _mm_set1_epi8((char)(0x80 + 26)));
        __m128i d = _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - '0'))), _mm_set1_epi8((char)(0x80 + 10)));
        unsigned bits = (~(unsigned)_mm_movemask_epi8(_mm_or_si128(a, d)) & 0xffffu) >> (i - b);
        for (; bits != 0; bits &= bits - 1) {
            size_t k = i + (size_t)__builtin_ctz(bits);
            if (!SD_IS(p[k], cls)) return k;
        }
        if (b + 16 == n) return n;
        i = b + 16;
    }
}
#endif

/* sd_span_class(p + i, n - i, cls) + i for a class holding every letter
 * and digit, where p[0..n) is readable: 16 octets a step from n >= 16. */
static inline size_t sd_class_end(const char *p, size_t i, size_t n, unsigned cls)
{
#if defined(__SSE2__)
    if (n >= 16) return sd_alnum_class_end(p, i, n, cls);
#endif
    return i + sd_span_class(p + i, n - i, cls);
}

/*
 * Runtime dispatch to SSSE3. The build targets plain x86-64 (SSE2 only),
 * so the SSSE3 code lives in functions marked target("ssse3") and is only
 * entered when sd_cpu_ssse3() says the CPU has it. The answer comes from
 * __builtin_cpu_supports, which reads the CPU model the compiler runtime
 * fills in once, at load time, before any sipdialog code can run (its
 * constructor, or __builtin_cpu_init below, which is idempotent); after
 * that the model is read-only, so the check is thread-safe and needs no
 * state of sipdialog's own. Without SSE2 (or on another architecture) the
 * check is compiled out and the scalar code is used.
 */
#if defined(__SSE2__) && (defined(__x86_64__) || defined(__i386__)) && \
    (defined(__GNUC__) || defined(__clang__))
#define SD_SSSE3_DISPATCH 1
#include <tmmintrin.h>

/* Non-zero when the running CPU has SSSE3. Cheap: one load and a bit test. */
static inline int sd_cpu_ssse3(void)
{
    return __builtin_cpu_supports("ssse3");
}

/*
 * Nibble tables of octet classes for sd_nonclass16: entry l holds bit
 * h - 2 when octet 16*h + l (h = 2..7) is in the class. Both classes lie
 * within %x21-7E; tests/c/test_via.c checks all 256 octets.
 */
#define SD_LUT_TOKEN                                                                                       \
    _mm_setr_epi8(0x3a, 0x3f, 0x3e, 0x3e, 0x3e, 0x3f, 0x3e, 0x3f, 0x3e, 0x3e, 0x3d, 0x15, 0x14, 0x15, 0x35, 0x1c)
#define SD_LUT_WORD                                                                                        \
    _mm_setr_epi8(0x3a, 0x3f, 0x3f, 0x3e, 0x3e, 0x3f, 0x3e, 0x3f, 0x3f, 0x3f, 0x3f, 0x3d, 0x1e, 0x3d, 0x37, 0x1f)

/*
 * Bit k set when octet k of x is NOT in the class of nibble table lo_t
 * (SD_LUT_*): the high nibble picks one bit (rows 2..7; octets from 0x80
 * and below 0x20 get none), the low nibble the set of rows holding a
 * class octet in that column.
 */
__attribute__((target("ssse3"), always_inline)) static inline unsigned sd_nonclass16(__m128i x, __m128i lo_t)
{
    const __m128i hi_t = _mm_setr_epi8(0, 0, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m128i k0f = _mm_set1_epi8(0x0f);
    __m128i lo = _mm_shuffle_epi8(lo_t, _mm_and_si128(x, k0f));
    __m128i hi = _mm_shuffle_epi8(hi_t, _mm_and_si128(_mm_srli_epi16(x, 4), k0f));
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(lo, hi), _mm_setzero_si128()));
}

/*
 * Index of the first octet in p[i..n) that is not in class `cls`, whose
 * nibble table is lo_t, or n; p[0..n) must be readable as a whole. 16
 * octets a step; the last step reads p[n-16..n) and ignores the octets
 * before i, so nothing outside p[0..n) is read. Spans under 16 octets
 * use the octet table.
 */
__attribute__((target("ssse3"), always_inline)) static inline size_t sd_class_end_ssse3(const char *p, size_t i, size_t n,
                                                                         __m128i lo_t, unsigned cls)
{
    if (n < 16) return i + sd_span_class(p + i, n - i, cls);
    unsigned bits;
    for (; i + 16 <= n; i += 16) {
        bits = sd_nonclass16(_mm_loadu_si128((const __m128i *)(const void *)(p + i)), lo_t);
        if (bits) return i + (size_t)__builtin_ctz(bits);
    }
    if (i < n) {
        bits = sd_nonclass16(_mm_loadu_si128((const __m128i *)(const void *)(p + n - 16)), lo_t) >> (i - (n - 16));
        if (bits) return i + (size_t)__builtin_ctz(bits);
    }
    return n;
}

/* sd_class_end_ssse3 for token octets. */
__attribute__((target("ssse3"))) static inline size_t sd_token_end_ssse3(const char *p, size_t i, size_t n)
{
    return sd_class_end_ssse3(p, i, n, SD_LUT_TOKEN, SD_C_TOKEN);
}

/*
 * Bit k set when p[i + k] (k < 32) is not a token octet or i + k >= n, so
 * the lowest set bit, if any, is where a token starting at i ends; 0 when
 * all 32 octets are token octets. p[0..n) must be readable as a whole and
 * n >= 32, i <= n: near the end p[n-32..n) is read and shifted, so
 * nothing outside p[0..n) is read.
 */
__attribute__((target("ssse3"))) static inline uint32_t sd_token_stop32_ssse3(const char *p, size_t i, size_t n)
{
    size_t b = n - i >= 32 ? i : n - 32;
    uint64_t m = (uint64_t)sd_nonclass16(_mm_loadu_si128((const __m128i *)(const void *)(p + b)), SD_LUT_TOKEN) |
                 (uint64_t)sd_nonclass16(_mm_loadu_si128((const __m128i *)(const void *)(p + b + 16)), SD_LUT_TOKEN)
                     << 16 |
                 (uint64_t)1 << 32;
    return (uint32_t)(m >> (i - b));
}
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SD_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define SD_ALWAYS_INLINE inline
#endif

#endif
