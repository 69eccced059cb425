/*
 * The BucketList: 11 levels of curr and snap buckets merged on stellar-core's
 * fixed schedule. This header starts with the schedule itself — level
 * geometry as functions of the ledger number — which tools and tests use
 * to know which ledgers each bucket holds. The store follows.
 */
#ifndef BUCKETDB_LIST_H
#define BUCKETDB_LIST_H

#include <stdint.h>

#include "bucketdb/bucketdb.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Levels of both the live and the hot-archive list. */
#define BDB_LIST_LEVELS 11

/* 4^(level+1): 4, 16, 64, ..., 4194304. level < BDB_LIST_LEVELS. */
BDB_API uint32_t bdb_level_size(uint32_t level);

/* level_size / 2: 2, 8, 32, ..., 2097152. */
BDB_API uint32_t bdb_level_half(uint32_t level);

/* Whether level `level` spills (its curr becomes its snap and its old snap
 * flows into the next level) at ledger `ledger`: at every multiple of
 * level_half(level); the deepest level never spills. */
BDB_API int bdb_level_should_spill(uint32_t ledger, uint32_t level);

/* Whether the merge into level `level` (>= 1) started at `ledger` uses an
 * empty curr ("snap-only"), because that level's curr will itself be
 * snapped when the merge is committed. Never true for levels 0 and 10. */
BDB_API int bdb_level_merge_with_empty_curr(uint32_t ledger, uint32_t level);

/* Whether merges into `level` keep tombstones: all but the deepest. */
BDB_API int bdb_level_keeps_tombstones(uint32_t level);

/* How often, in ledgers, level's curr (curr = 1) or snap (curr = 0)
 * changes: curr 1 for level 0, else 2^(2*level-1); snap level_half(level). */
BDB_API uint32_t bdb_level_update_period(uint32_t level, int curr);

/* Ledgers of data in level's curr / snap after the batch of `ledger`
 * (>= 1), every ledger assumed present. */
BDB_API uint32_t bdb_level_size_of_curr(uint32_t ledger, uint32_t level);
BDB_API uint32_t bdb_level_size_of_snap(uint32_t ledger, uint32_t level);

/* The oldest ledger whose data is in level's curr / snap after the batch
 * of `ledger`, or UINT32_MAX when the bucket holds no ledger. */
BDB_API uint32_t bdb_level_oldest_in_curr(uint32_t ledger, uint32_t level);
BDB_API uint32_t bdb_level_oldest_in_snap(uint32_t ledger, uint32_t level);

/* ------------------------------------------------------------------ */
/* Consensus hashes (spec §5.3)                                       */
/* ------------------------------------------------------------------ */

/* SHA-256(curr ‖ snap) of one level; the empty bucket's hash is 32 zero
 * bytes. Returns 0 or BDB_ENOMEM. */
BDB_API int bdb_level_hash(const uint8_t curr[32], const uint8_t snap[32], uint8_t out[32]);

/* SHA-256 of the 11 level hashes in order: the hash of a live or hot-archive
 * BucketList, from its buckets' hashes. */
BDB_API int bdb_list_hash(const uint8_t curr[BDB_LIST_LEVELS][32],
                          const uint8_t snap[BDB_LIST_LEVELS][32], uint8_t out[32]);

/* LedgerHeader.bucketListHash for a ledger whose (post-upgrade) protocol is
 * `protocol`: the live list's hash below 23, SHA-256(live ‖ hot) from 23. */
BDB_API int bdb_header_bucket_list_hash(uint32_t protocol, const uint8_t live[32],
                                        const uint8_t hot[32], uint8_t out[32]);

/* Updates the header's skip list (4 hashes, kept by the caller from
 * ledger to ledger) for ledger `ledger` whose bucketListHash is `hash`,
 * as stellar-core's calculateSkipValues (steps of 50, 5000, 50000 and
 * 500000 ledgers). */
BDB_API void bdb_skip_list_update(uint32_t ledger, const uint8_t hash[32], uint8_t skip[4][32]);

#ifdef __cplusplus
}
#endif

#endif /* BUCKETDB_LIST_H */
