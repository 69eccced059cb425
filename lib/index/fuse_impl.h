/* The layout of a binary fuse filter, shared by fuse.c and fuse_set.c
 * (which keeps the descriptors of its partitions in one array, so that a
 * query reaches its partition's cells with no further pointer). Not an
 * interface: fuse.h is. */
#ifndef BDB_INDEX_FUSE_IMPL_H
#define BDB_INDEX_FUSE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "core/hash.h"
#include "fuse.h"

/* cells per key */
enum { ARITY = 3 };

/* Where a key's cells can be: the first in [0, first_span), the other two
 * in the next two segments. */
typedef struct geom {
    uint32_t seg_log2, seg_len, seg_mask;
    uint32_t seg_count;
    uint32_t first_span; /* seg_count * seg_len */
    uint32_t array_len;  /* (seg_count + 2) * seg_len */
} geom;

struct bdbi_fuse {
    geom g;
    uint64_t seed;
    int fp_bits;
    int probe_bits; /* fp_bits, or 0 for the empty filter, which has no cells */
    const uint8_t *fp;
    size_t alloc_bytes; /* of this object, and of the fingerprints unless a view */
};

/* ---- hashing --------------------------------------------------------------- */

/* bdbi_fmix64 is a bijection: distinct keys keep distinct hashes under any
 * seed (peeling relies on it). */
static inline uint64_t key_hash(uint64_t key, uint64_t seed)
{
    return bdbi_fmix64(key + seed);
}

static inline uint32_t fingerprint(uint64_t h, int bits)
{
    return (uint32_t)(h ^ (h >> 32)) & ((1u << bits) - 1);
}

/* The first cell comes from the high bits of h by multiply-shift (no
 * division, no modulo bias worth the name); the other two are the same
 * offset in the next segments XORed with low bits of h, which moves them
 * within their segment only because seg_len is a power of two. */
static inline void key_cells(const geom *g, uint64_t h, uint32_t c[ARITY])
{
    __extension__ typedef unsigned __int128 u128;
    uint32_t first = (uint32_t)(((u128)h * g->first_span) >> 64);
    c[0] = first;
    c[1] = (first + g->seg_len) ^ ((uint32_t)(h >> 18) & g->seg_mask);
    c[2] = (first + 2 * g->seg_len) ^ ((uint32_t)h & g->seg_mask);
}

/* ---- fingerprint cells: one code path, specialised by constant `bits` ------ */

static inline uint32_t cell_get(const uint8_t *a, uint32_t i, int bits)
{
    if (bits == 8) return a[i];
    const uint8_t *p = a + 2 * (size_t)i;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static inline int probe(const bdbi_fuse *f, uint64_t h, int bits)
{
    uint32_t c[ARITY];
    key_cells(&f->g, h, c);
    uint32_t x = fingerprint(h, bits) ^ cell_get(f->fp, c[0], bits) ^ cell_get(f->fp, c[1], bits) ^
                 cell_get(f->fp, c[2], bits);
    return x == 0;
}

/* bdbi_fuse_contains, for callers in this module that query many filters
 * (fuse_set.c): no call on the hot path. */
static inline int bdbi_fuse_contains_inline(const bdbi_fuse *f, uint64_t key)
{
    uint64_t h = key_hash(key, f->seed);
    /* the width never changes for a filter, so this is predicted */
    if (f->probe_bits == 8) return probe(f, h, 8);
    if (f->probe_bits == 16) return probe(f, h, 16);
    return 0;
}

#endif
