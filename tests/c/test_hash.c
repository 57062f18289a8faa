/* test_hash.c - the keyed hashes of csrc/base/hash.c. */
#include "base/hash.h"
#include "tcheck.h"

static const sd_hash_key paper_key = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

/* The SipHash paper's test vector (Appendix A): key 00..0f, message
 * 00..0e, SipHash-2-4 = a129ca6149be45e5; and the reference
 * implementation's vector for the empty message. */
TEST(siphash24_reference_vectors)
{
    unsigned char msg[15];
    for (int i = 0; i < 15; i++) msg[i] = (unsigned char)i;
    CHECK(sd_siphash24(&paper_key, msg, 15) == 0xa129ca6149be45e5ull);
    CHECK(sd_siphash24(&paper_key, msg, 0) == 0x726fdb47dd0e0e31ull);
}

TEST(siphash13_keyed_and_length_sensitive)
{
    unsigned char msg[64];
    for (int i = 0; i < 64; i++) msg[i] = (unsigned char)i;
    sd_hash_key other = paper_key;
    other.k1 ^= 1;
    for (size_t n = 0; n <= 64; n++) {
        uint64_t h = sd_siphash13(&paper_key, msg, n);
        CHECK(h == sd_siphash13(&paper_key, msg, n));
        CHECK(h != sd_siphash13(&other, msg, n));  /* the key matters */
        if (n) CHECK(h != sd_siphash13(&paper_key, msg, n - 1)); /* so does the length */
        CHECK(h != sd_siphash24(&paper_key, msg, n));
    }
}

TEST(fnv1a64_reference)
{
    CHECK(sd_fnv1a64("", 0) == 0xcbf29ce484222325ull);
    CHECK(sd_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cull);
}
