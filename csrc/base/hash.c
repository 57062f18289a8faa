/*
 * hash.c - SipHash-c-d and FNV-1a (see hash.h).
 */
#include "base/hash.h"

#include <string.h>

static inline uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static inline uint64_t load64le(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

#define SIPROUND(v0, v1, v2, v3)                                                                                      \
    do {                                                                                                              \
        v0 += v1;                                                                                                     \
        v1 = rotl(v1, 13);                                                                                            \
        v1 ^= v0;                                                                                                     \
        v0 = rotl(v0, 32);                                                                                            \
        v2 += v3;                                                                                                     \
        v3 = rotl(v3, 16);                                                                                            \
        v3 ^= v2;                                                                                                     \
        v0 += v3;                                                                                                     \
        v3 = rotl(v3, 21);                                                                                            \
        v3 ^= v0;                                                                                                     \
        v2 += v1;                                                                                                     \
        v1 = rotl(v1, 17);                                                                                            \
        v1 ^= v2;                                                                                                     \
        v2 = rotl(v2, 32);                                                                                            \
    } while (0)

/* c compression rounds per word, d finalization rounds; both constants
 * at every call site, so the loops unroll. */
static inline uint64_t siphash(const sd_hash_key *key, const void *data, size_t len, int c, int d)
{
    const unsigned char *p = data;
    uint64_t v0 = key->k0 ^ 0x736f6d6570736575ull;
    uint64_t v1 = key->k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = key->k0 ^ 0x6c7967656e657261ull;
    uint64_t v3 = key->k1 ^ 0x7465646279746573ull;
    size_t words = len / 8;
    for (size_t i = 0; i < words; i++, p += 8) {
        uint64_t m = load64le(p);
        v3 ^= m;
        for (int r = 0; r < c; r++) SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    /* last word: the remaining bytes, little-endian, and len mod 256 on top */
    uint64_t b = (uint64_t)len << 56;
    switch (len & 7) {
    case 7: b |= (uint64_t)p[6] << 48; /* fall through */
    case 6: b |= (uint64_t)p[5] << 40; /* fall through */
    case 5: b |= (uint64_t)p[4] << 32; /* fall through */
    case 4: b |= (uint64_t)p[3] << 24; /* fall through */
    case 3: b |= (uint64_t)p[2] << 16; /* fall through */
    case 2: b |= (uint64_t)p[1] << 8;  /* fall through */
    case 1: b |= (uint64_t)p[0]; break;
    default: break;
    }
    v3 ^= b;
    for (int r = 0; r < c; r++) SIPROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    for (int r = 0; r < d; r++) SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t sd_siphash13(const sd_hash_key *key, const void *p, size_t len)
{
    return siphash(key, p, len, 1, 3);
}

uint64_t sd_siphash24(const sd_hash_key *key, const void *p, size_t len)
{
    return siphash(key, p, len, 2, 4);
}

uint64_t sd_fnv1a64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}
