/* Fast non-cryptographic hashing: XXH3 from xxHash, compiled inline
 * (XXH_INLINE_ALL), so nothing is linked and short keys hash at about
 * 470 M/s instead of 300 M/s through the shared library (docs/core.md). */
#ifndef BDB_CORE_HASH_H
#define BDB_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* 64-bit XXH3 of `n` bytes with `seed`. */
static inline uint64_t bdbi_hash64(const void *data, size_t n, uint64_t seed)
{
    return XXH3_64bits_withSeed(data, n, seed);
}

#endif
