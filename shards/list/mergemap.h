/* stellar-core's MergeKey and BucketMergeMap (spec §6.2). The map remembers
 * which output bucket a merge of given inputs produced, so that a
 * FutureBucket read back from a HAS can reattach to a finished merge instead
 * of redoing it, and which outputs each input bucket fed, so that bucket
 * garbage collection keeps the outputs of merges the publish queue may still
 * restart. It is weak: it holds hashes, never buckets.
 *
 * The behaviour is stellar-core's, multimaps included, and not a tidier
 * variant, because what it answers decides which merges are redone and which
 * buckets are deleted:
 * - record(k, out) adds k -> out only if k has no output yet (emplace), but
 *   always adds the pair (out, k) and one pair (in, out) per distinct input
 *   hash of k (curr, snap and shadows; an input named twice in k counts
 *   once). Recording the same pairs twice keeps them twice.
 * - forget_producing(out) visits every (out, k) pair; for each it erases one
 *   (in, out) pair per distinct input of k, and erases k's own entry whatever
 *   output that entry names. It reports the number of distinct keys visited.
 *
 * Every operation costs O(1) expected in the size of the map (times the
 * number of inputs of the key it concerns). Memory comes from the
 * environment under BDB_MEM_LIST and is freed exactly by destroy; the tables
 * do not shrink before that. Not thread-safe: the caller serializes access
 * under its own lock, as stellar-core's BucketManager does. */
#ifndef BDB_LIST_MERGEMAP_H
#define BDB_LIST_MERGEMAP_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"

/* A merge's inputs. `keep_tombstones` is compared as a boolean; `shadows`
 * may be NULL when `n_shadows` is 0. The map copies what it keeps, so the
 * caller's arrays need only live for the duration of the call. */
typedef struct bdbi_merge_key {
    int keep_tombstones;
    uint8_t curr[32], snap[32];
    size_t n_shadows;
    const uint8_t (*shadows)[32];
} bdbi_merge_key;

/* 1 when the keys are equal: same boolean, curr, snap and shadow list (in
 * order, duplicates significant), else 0. */
int bdbi_merge_key_eq(const bdbi_merge_key *a, const bdbi_merge_key *b);

/* XXH3 of the four fields; equal keys hash equally. */
uint64_t bdbi_merge_key_hash(const bdbi_merge_key *k);

typedef struct bdbi_mergemap bdbi_mergemap;

/* Creates an empty map in `env`. BDB_EINVAL, BDB_ENOMEM. */
int bdbi_mergemap_create(bdb_env *env, bdbi_mergemap **out);

/* Frees the map and everything it holds. NULL is ignored. */
void bdbi_mergemap_destroy(bdbi_mergemap *m);

/* recordMerge: `out` is the output of merging `k`. On BDB_ENOMEM the map is
 * unchanged. BDB_EINVAL for NULL arguments or shadows NULL with
 * n_shadows > 0. */
int bdbi_mergemap_record(bdbi_mergemap *m, const bdbi_merge_key *k, const uint8_t out[32]);

/* findMergeFor: 1 and `out` filled when `k` has an output, 0 when not,
 * BDB_EINVAL for bad arguments. */
int bdbi_mergemap_find(bdbi_mergemap *m, const bdbi_merge_key *k, uint8_t out[32]);

/* getOutputsUsingInput: the distinct outputs of recorded merges that have
 * `in` among their inputs. *n gets their number; the first min(*n, cap) are
 * copied to `outs` (which may be NULL when cap is 0). When *n <= cap they
 * are in ascending byte order, as stellar-core's std::set<Hash>; otherwise
 * which of them are copied is unspecified. */
int bdbi_mergemap_outputs_using_input(bdbi_mergemap *m, const uint8_t in[32], uint8_t (*outs)[32],
                                      size_t cap, size_t *n);

/* forgetAllMergesProducing: erases every merge recorded as producing `out`
 * (see the top of this file for the exact rule) and sets *n_forgotten to the
 * number of distinct keys erased: 0 when none, so a second call reports 0.
 * Never fails for a valid map (it allocates nothing). */
int bdbi_mergemap_forget_producing(bdbi_mergemap *m, const uint8_t out[32], size_t *n_forgotten);

/* The sizes of stellar-core's three maps: key -> output entries
 * (mMergeKeyToOutput), (output, key) pairs (mOutputToMergeKey) and
 * (input, output) pairs (mInputToOutput). For tests and statistics. */
typedef struct bdbi_mergemap_sizes {
    size_t keys, output_keys, input_outputs;
} bdbi_mergemap_sizes;

void bdbi_mergemap_sizes_get(const bdbi_mergemap *m, bdbi_mergemap_sizes *out);

#endif
