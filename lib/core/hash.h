/* Fast non-cryptographic hashing: XXH3 from xxHash, compiled inline
 * (XXH_INLINE_ALL), so nothing is linked and short keys hash at about
 * 470 M/s instead of 300 M/s through the shared library (docs/core.md). */
#ifndef BDB_CORE_HASH_H
#define BDB_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* 64-bit XXH3 of `n` bytes with `seed`. */
static inline uint64_t bdbi_hash64(const void *data, size_t n, uint64_t seed)
{
    return XXH3_64bits_withSeed(data, n, seed);
}

/* MurmurHash3's 64-bit finalizer: a bijection that spreads every input
 * bit over the output (distinct inputs keep distinct outputs). */
static inline uint64_t bdbi_fmix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* A random 64-bit value from the kernel (getrandom), or, if it has none
 * to give without blocking, a hash of the clock, the pid and `salt`: for
 * key-hash seeds that nobody can predict, so nobody can choose keys that
 * collide in our tables and filters. */
static inline uint64_t bdbi_random64(const void *salt)
{
    uint64_t s;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) == (ssize_t)sizeof s) return s;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return bdbi_hash64(&ts, sizeof ts, (uint64_t)(uintptr_t)salt ^ (uint64_t)getpid());
}

#endif
