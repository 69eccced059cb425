/* Where a generated state lives in a BucketList at ledger L: which
 * buckets hold which records of each key, as in a list that has been
 * running for L ledgers.
 *
 * Buckets are numbered newest first, b = 2 * level + (snap ? 1 : 0), and
 * together hold ledgers L down to 1 (bdb_level_oldest_in_* and sizes).
 * A key's newest record is placed by the age of its last change, drawn
 * from a heavy-tailed distribution: about 90% of keys are older than
 * every bucket but the deepest non-empty one (level 10's curr at a real
 * ledger), the rest spread over the shallower levels, fewer per ledger
 * the older the ledger. A key found in a shallower bucket was either
 * created there (one INITENTRY) or updated there (a LIVEENTRY of version
 * 1 over a version-0 record deeper down); a deleted key is a version-0
 * record over which a shallower bucket, never level 10, holds its
 * DEADENTRY. Records in the deepest bucket are LIVEENTRY or INITENTRY as
 * they would be after years of merges. Every rule of stellar-core's
 * merges holds for the result: no INITENTRY above another record of its
 * key, no DEADENTRY in level 10. */
#ifndef BDB_PERF_GEN_LAYOUT_H
#define BDB_PERF_GEN_LAYOUT_H

#include <stdint.h>

#include "bucketdb/list.h"

#include "gen.h"

#define GEN_BUCKETS (2 * BDB_LIST_LEVELS)

typedef struct gen_layout {
    const gen *g;
    uint32_t ledger;
    uint32_t size[GEN_BUCKETS];       /* ledgers in the bucket */
    uint64_t age_lo[GEN_BUCKETS + 1]; /* bucket b: ages [age_lo[b], age_lo[b+1]) */
    int deepest;                      /* the deepest bucket holding ledgers */
    double recent;                    /* share of keys newer than the deepest bucket */
} gen_layout;

/* One record of a key: its bucket, BucketEntryType, the version of its
 * entry and its lastModifiedLedgerSeq. */
typedef struct gen_rec {
    int bucket;
    int32_t type;
    uint32_t version;
    uint32_t ledger;
} gen_rec;

/* The layout of g's state at checkpoint ledger `ledger` (>= 1). */
void gen_layout_init(gen_layout *lo, const gen *g, uint32_t ledger);

/* Whether bucket b exists as a file: it or a deeper one holds ledgers
 * (the others are the empty bucket, hash zero). */
int gen_layout_is_file(const gen_layout *lo, int b);

/* The records of the key at (type, slot), deepest first: 1 or 2, or 0
 * for a deleted key in a list of one bucket. Only live and deleted
 * slots are in the list. */
int gen_layout_place(const gen_layout *lo, int type, uint64_t slot, gen_rec out[2]);

/* The newest record of the key at (type, slot): 1 with *out filled when
 * the key is live in the list (what a point load returns), else 0. */
int gen_layout_newest(const gen_layout *lo, int type, uint64_t slot, gen_rec *out);

#endif
