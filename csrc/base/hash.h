/*
 * hash.h - keyed string hashing for the core's tables. Internal.
 *
 * SipHash (Aumasson and Bernstein) with a 128-bit secret key: a PRF, so
 * nobody who does not know the key can choose Call-IDs or tags that
 * collide (hash flooding). The store draws its key from the OS once per
 * store. SipHash-1-3 is the table hash (the variant CPython and Rust use
 * for their dicts); SipHash-2-4 is here for its published test vector and
 * for the benchmark that chose between them and FNV-1a (see
 * benchmarks/c/bench_hash.c and docs/performance.md).
 */
#ifndef SD_HASH_H
#define SD_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct sd_hash_key {
    uint64_t k0, k1;
} sd_hash_key;

/* SipHash-1-3 of p[0..len) under `key`. Pure function, thread-safe. */
uint64_t sd_siphash13(const sd_hash_key *key, const void *p, size_t len);

/* SipHash-2-4 of p[0..len) under `key`. Pure function, thread-safe. */
uint64_t sd_siphash24(const sd_hash_key *key, const void *p, size_t len);

/* FNV-1a, 64-bit (unkeyed; kept for the comparison benchmark only). */
uint64_t sd_fnv1a64(const void *p, size_t len);

#endif
