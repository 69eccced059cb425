/* A key-hash filter cut into 2^bits binary fuse filters (fuse.h) by the
 * top `bits` bits of the key: partition p holds the keys whose top bits
 * are p. Each partition is built alone from a bag of hashes read back one
 * partition at a time (hspill.h), so building needs memory for one
 * partition (about 37 bytes per key of it), not for the whole set; a query
 * picks its partition with one shift and then costs what one filter does.
 *
 * Partitions hold at most `part_keys` keys on average (bits is the least
 * with count >> bits <= part_keys, at most 16); a set of fewer keys is one
 * filter. Small partitions pay a little more per key (fuse.h): 2^17 keys a
 * partition cost about 18.7 bits per key, against 18.0 for one large
 * filter.
 *
 * Serialized form (little-endian; docs/index-filter.md):
 *
 *   offset size  field
 *   0      4     magic "BFST"
 *   4      1     format version, 1
 *   5      1     bits: 0..16
 *   6      2     reserved, zero
 *   8      8     reserved, zero
 *   16     ...   2^bits times: u64 length L, L bytes of one filter in
 *                bdbi_fuse_serialize form, zero padding to a multiple of 8
 *
 * Immutable once built; queries may run from any number of threads. */
#ifndef BDB_INDEX_FUSE_SET_H
#define BDB_INDEX_FUSE_SET_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"
#include "fuse.h"
#include "hspill.h"

#define BDBI_FUSE_SET_HEADER 16
/* keys a partition holds at most on average unless told otherwise */
#define BDBI_FUSE_SET_PART_KEYS ((size_t)1 << 17)

typedef struct bdbi_fuse_set bdbi_fuse_set;

/* Builds the set of the hashes in `keys` (read back, so consumed) with
 * 16-bit fingerprints, partitions of about `part_keys` (0: the default)
 * keys, and `seed_hint` choosing the first seeds tried (equal key sets
 * give equal sets, whatever their order). BDB_ENOMEM, errors of reading
 * back, and those of bdbi_fuse_build. */
int bdbi_fuse_set_build(bdb_env *env, bdbi_hspill *keys, size_t part_keys, uint64_t seed_hint,
                        bdbi_fuse_set **out);

/* 1 if `key` may have been inserted, 0 if it certainly was not. */
int bdbi_fuse_set_contains(const bdbi_fuse_set *s, uint64_t key);

/* Asks the CPU to load the cells a query of `key` reads. */
void bdbi_fuse_set_prefetch(const bdbi_fuse_set *s, uint64_t key);

/* The partition bits. */
unsigned bdbi_fuse_set_bits(const bdbi_fuse_set *s);

/* Memory needed to answer queries. */
size_t bdbi_fuse_set_bytes(const bdbi_fuse_set *s);

/* Frees the set. NULL is ignored. */
void bdbi_fuse_set_free(bdb_env *env, bdbi_fuse_set *s);

/* Exact length of the serialized form. */
size_t bdbi_fuse_set_serialized_size(const bdbi_fuse_set *s);

/* Hands the serialized form to `sink` in pieces (bdbi_fuse_emit). */
void bdbi_fuse_set_emit(const bdbi_fuse_set *s, bdbi_fuse_sink sink, void *ctx);

/* Writes the serialized form; BDB_EINVAL if `cap` is too small. */
int bdbi_fuse_set_serialize(const bdbi_fuse_set *s, uint8_t *buf, size_t cap);

/* Reads a set written by bdbi_fuse_set_serialize; `len` must be its exact
 * length. Everything is checked before it is used, and nothing is
 * allocated beyond what `len` bytes can describe. BDB_ECORRUPT for any
 * inconsistency, BDB_ENOMEM. */
int bdbi_fuse_set_deserialize(bdb_env *env, const uint8_t *buf, size_t len, bdbi_fuse_set **out);

/* Whether the two sets are equal, serialized form for form. */
int bdbi_fuse_set_equal(bdb_env *env, const bdbi_fuse_set *a, const bdbi_fuse_set *b);

#endif
