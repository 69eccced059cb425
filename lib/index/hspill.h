/* A bag of 64-bit key hashes that spills to a scratch file, so that an
 * index builder's memory stays bounded however large the file it indexes
 * (docs/index-file.md, "Building").
 *
 * Hashes are kept in memory until spilling is allowed and more than
 * `mem_keys` are held; then they are ordered by their top 16 bits and
 * appended to a scratch file as one run. Afterwards they are read back by
 * partition (the hashes whose top `bits` bits are p, p = 0, 1, ...): one
 * bounded window from each run's cursor, so the memory at that point is
 * one partition, not the bag. Order inside a partition is unspecified. */
#ifndef BDB_INDEX_HSPILL_H
#define BDB_INDEX_HSPILL_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"

/* Runs are ordered by this many top bits, so partitions of up to this
 * many bits are contiguous in every run. */
#define BDBI_HSPILL_MAX_BITS 16

typedef struct bdbi_hspill bdbi_hspill;

/* A bag spilling into `dir` (copied; NULL: never spills) above `mem_keys`
 * hashes in memory (0: 2^17). Spilling starts disallowed. BDB_ENOMEM. */
int bdbi_hspill_new(bdb_env *env, const char *dir, size_t mem_keys, bdbi_hspill **out);

/* Adds one hash (BDB_EINVAL once reading back began). May write a run (BDB_EIO and the like from
 * the scratch file), BDB_ENOMEM. */
int bdbi_hspill_add(bdbi_hspill *s, uint64_t h);

/* From now on the bag may spill (its hashes are no longer needed in the
 * order they came). */
void bdbi_hspill_allow(bdbi_hspill *s);

/* Hashes added. */
uint64_t bdbi_hspill_count(const bdbi_hspill *s);

/* The hashes in the order they were added, while nothing was spilled:
 * NULL (with *n the count) once something was. */
const uint64_t *bdbi_hspill_keys(const bdbi_hspill *s, size_t *n);

/* Starts reading back by partitions of the top `bits` (0..16) bits. */
int bdbi_hspill_begin(bdbi_hspill *s, unsigned bits);

/* The next partition's hashes, *keys[0..*n) (valid until the next call or
 * the free). Returns 1, or 0 after the last partition, or an error. */
int bdbi_hspill_next(bdbi_hspill *s, const uint64_t **keys, size_t *n);

/* Frees the bag and closes its scratch file. NULL is a no-op. */
void bdbi_hspill_free(bdbi_hspill *s);

#endif
