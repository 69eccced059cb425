/* The layout of a binary fuse filter, shared by fuse.c and fuse_set.c
 * (which keeps the descriptors of its partitions in one array, so that a
 * query reaches its partition's cells with no further pointer). Not an
 * interface: fuse.h is. */
#ifndef BDB_INDEX_FUSE_IMPL_H
#define BDB_INDEX_FUSE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "fuse.h"

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

#endif
