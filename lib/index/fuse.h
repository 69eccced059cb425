/* Binary fuse filters (Graf & Lemire, "Binary Fuse Filters: Fast and Smaller
 * Than Xor Filters", 2022), 3-wise, with 8- or 16-bit fingerprints. A filter
 * answers "definitely absent" for most keys that were not inserted and never
 * for one that was. Page-indexed bucket pieces keep one so that a point read
 * of a key that is not in the piece costs no I/O.
 *
 * Keys are 64-bit hashes computed by the caller (XXH3 of the sort key with a
 * per-store seed); the filter mixes them again with its own seed, so the
 * caller's hashes need not be uniform in any particular bits.
 *
 * False-positive rate: about 2^-fp_bits (0.39% with 8 bits, 0.0015% with 16).
 * Size: about 1.125 cells per key for large sets (9.0 or 18.0 bits per key),
 * more for small sets, whose segments must be relatively longer to peel.
 *
 * A filter is immutable once built: bdbi_fuse_contains() may be called from
 * any number of threads at once. Memory comes from the environment under
 * BDB_MEM_INDEX.
 *
 * Serialized form (all integers little-endian; docs/index-filter.md):
 *
 *   offset size  field
 *   0      4     magic "BFUS"
 *   4      1     format version, 1
 *   5      1     fingerprint bits: 8 or 16
 *   6      1     arity: 3
 *   7      1     log2 of the segment length: 2..18, or 0 for an empty filter
 *   8      8     seed
 *   16     4     segment count: >= 1, or 0 for an empty filter
 *   20     4     array length in cells: (segment count + 2) << log2, or 0
 *   24     8     reserved, zero
 *   32     ...   array length fingerprints of fp_bits / 8 bytes each
 *
 * The length of a serialized filter is exactly 32 + array length * fp_bits/8.
 * There is no checksum: the index file that holds the filter has one. */
#ifndef BDB_INDEX_FUSE_H
#define BDB_INDEX_FUSE_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"

#define BDBI_FUSE_HEADER_SIZE 32

/* Larger sets would need more than 2^32 cells; buckets are far below this. */
#define BDBI_FUSE_MAX_KEYS ((size_t)1 << 31)

typedef struct bdbi_fuse bdbi_fuse;

/* Builds a filter of `n` keys with `fp_bits` (8 or 16) bit fingerprints.
 * Duplicate keys are allowed and stored once. `seed_hint` chooses the first
 * seed tried, so equal inputs give equal filters. n = 0 gives a filter that
 * contains nothing. BDB_EINVAL (bad arguments, n > BDBI_FUSE_MAX_KEYS),
 * BDB_ENOMEM, or BDB_EINTERNAL if no seed peels (never seen in practice). */
int bdbi_fuse_build(bdb_env *env, const uint64_t *keys, size_t n, int fp_bits, uint64_t seed_hint,
                    bdbi_fuse **out);

/* 1 if `key` may have been inserted, 0 if it certainly was not. */
int bdbi_fuse_contains(const bdbi_fuse *f, uint64_t key);

/* Asks the CPU to load the cells bdbi_fuse_contains(f, key) will read, so
 * a caller about to probe several filters overlaps their cache misses.
 * No effect on results; costs one hash. */
void bdbi_fuse_prefetch(const bdbi_fuse *f, uint64_t key);

/* Fingerprint width, 8 or 16. */
int bdbi_fuse_fp_bits(const bdbi_fuse *f);

/* Memory needed to answer queries: the fingerprints and the descriptor. */
size_t bdbi_fuse_bytes(const bdbi_fuse *f);

/* Frees the filter (not the buffer under a view). NULL is ignored. */
void bdbi_fuse_free(bdb_env *env, bdbi_fuse *f);

/* Exact length of the serialized form. */
size_t bdbi_fuse_serialized_size(const bdbi_fuse *f);

/* Receives serialized bytes in order (bdbi_fuse_emit). */
typedef void (*bdbi_fuse_sink)(void *ctx, const void *p, size_t n);

/* Hands the serialized form to `sink` in pieces, bdbi_fuse_serialized_size
 * bytes in all, with no buffer of that size: the fingerprints go as they
 * are in memory. */
void bdbi_fuse_emit(const bdbi_fuse *f, bdbi_fuse_sink sink, void *ctx);

/* A sink copying into memory: ctx is a uint8_t ** moved past the bytes. */
void bdbi_fuse_sink_memory(void *ctx, const void *p, size_t n);

/* Writes the serialized form to `buf`. BDB_EINVAL if `cap` is less than
 * bdbi_fuse_serialized_size(f). */
int bdbi_fuse_serialize(const bdbi_fuse *f, uint8_t *buf, size_t cap);

/* Reads a filter written by bdbi_fuse_serialize(); `len` must be its exact
 * length. The header is checked in full and the fingerprints are copied.
 * BDB_ECORRUPT for any inconsistency, BDB_EINVAL, BDB_ENOMEM. */
int bdbi_fuse_deserialize(bdb_env *env, const uint8_t *buf, size_t len, bdbi_fuse **out);

/* Same checks, but the filter reads its fingerprints from `buf` in place (a
 * mapped index file, for instance), which must stay valid and unchanged
 * until the filter is freed. `buf` needs no particular alignment. */
int bdbi_fuse_view(bdb_env *env, const uint8_t *buf, size_t len, bdbi_fuse **out);

#endif
