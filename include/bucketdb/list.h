/*
 * The BucketList: 11 levels of curr and snap buckets merged on stellar-core's
 * fixed schedule. This header starts with the schedule itself — level
 * geometry as functions of the ledger number — which tools and tests use
 * to know which ledgers each bucket holds. The store follows.
 */
#ifndef BUCKETDB_LIST_H
#define BUCKETDB_LIST_H

#include <stdint.h>

#include "bucketdb/bucket.h"
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

/* ------------------------------------------------------------------ */
/* The store                                                          */
/* ------------------------------------------------------------------ */

/* The newest protocol whose ledger entries this library knows (stellar-core
 * CURRENT_LEDGER_PROTOCOL_VERSION at the pinned XDR). */
#define BDB_PROTOCOL_MAX 28
/* First protocol with the hot archive list. */
#define BDB_PROTOCOL_HOT_ARCHIVE 23
#define BDB_LIST_MAX_SHARDS      256

/* A BucketList store: the live list and the hot archive list of one
 * ledger chain, in one directory. One thread at a time may change it
 * (add_batch, close); any number of threads may read its views. */
typedef struct bdb_list bdb_list;

typedef struct bdb_list_options {
    /* Shards of a new store (1..BDB_LIST_MAX_SHARDS, default 1). An
     * existing store keeps the shards it was created with; a different
     * non-zero value is BDB_EINVAL. 0 = as stored, or 1 for a new store. */
    uint32_t shards;
    /* Optional shard boundaries of a new store: shards-1 sort keys
     * (bdb_sort_key), strictly increasing; shard k holds the keys in
     * [boundaries[k-1], boundaries[k]). NULL = boundaries spread over the
     * key space (even splits of the account-ID bytes within the main
     * entry types). Ignored when the store exists. */
    const bdb_bytes *boundaries;
    /* The highest protocol accepted (default and maximum BDB_PROTOCOL_MAX). */
    uint32_t max_protocol;
    /* fsync files and directories (default 1; 0 only for tests and scratch
     * stores: a crash may then lose or tear committed ledgers). */
    int fsync;
    /* Create the store if `dir` holds none (default 1). */
    int create;
    /* A merge whose inputs total at least this many bytes writes one file
     * per shard piece and runs one pool task per piece; smaller merges
     * (and every level-0 merge) write one file (default 16 MiB). */
    uint64_t split_bytes;
    /* Read-side options (the index issue): BUCKETLIST_DB_INDEX_CUTOFF in MB
     * (default 20), BUCKETLIST_DB_INDEX_PAGE_SIZE_EXPONENT (default 14),
     * BUCKETLIST_DB_PERSIST_INDEX (default 1), BUCKETLIST_DB_MEMORY_FOR_CACHING
     * in MB (default 0). */
    uint32_t index_cutoff_mb;
    uint32_t index_page_size_exponent;
    int persist_index;
    uint32_t cache_mb;
    /* Entry types the cache holds, as a mask of 1u << bdb_entry_type
     * (default 1u << BDB_ACCOUNT, as stellar-core). */
    uint32_t cache_types;
    /* Open for inspection only (default 0). The open validates the
     * manifest and every file as a normal open does, maps the buckets,
     * uses the valid persisted index files (with persist_index) and builds
     * the other indexes in memory; it writes, creates, renames and removes
     * nothing in the directory, before or after (no merge is restarted:
     * pending ones stay recorded by their inputs; no cleanup; no index,
     * manifest or lock file is written); `create` is ignored. The handle
     * takes a shared lock (see bdb_list_open). Reads, views, statistics
     * and bdb_list_has_json work as usual; every call that would change
     * the store or run merges (bdb_list_add_batch, bdb_list_add_hot_batch,
     * bdb_list_wait_merges, bdb_archive_publish) is BDB_EINVAL, saying the
     * store was opened read-only, and changes nothing. Calls that create a
     * store (bdb_list_assume_state, bdb_archive_import) refuse the option. */
    int read_only;
} bdb_list_options;

/* Fills *opts with the defaults documented on each field. */
BDB_API void bdb_list_options_init(bdb_list_options *opts);

/* Opens the store in directory `dir` (created if needed, with
 * opts->create), locking it against other handles and processes
 * (BDB_ELOCKED naming the holder's pid). An existing store comes back at
 * its last committed ledger with the same hashes; merges that were
 * pending are restarted or reattached; temporary files and files no
 * manifest references are removed. Every file the manifest references is
 * read once and checked against its size and checksum (parity H17): a
 * missing or damaged file is BDB_ECORRUPT naming it, never rebuilt.
 * Cost: one sequential read of the stored buckets. Registers the store with `env`.
 *
 * With opts->read_only the directory is left exactly as it is (see the
 * option) and a directory without a manifest is BDB_ENOTFOUND. The lock
 * is then shared (an OFD read lock on the existing bucketdb.lock, opened
 * read-only): read-only handles of any processes coexist; a writable
 * handle and a read-only one exclude each other whichever comes first
 * (BDB_ELOCKED naming the writer's pid, or saying the store is open
 * read-only): a writer's merges, GC and open-time cleanup delete files
 * that a concurrent read-only open would be validating, failing it on a
 * store that is fine. So a read-only handle keeps writers out while it is
 * open. A directory without bucketdb.lock (a store copied without it) is
 * opened without a lock, as no writer holds it then. */
BDB_API int bdb_list_open(bdb_env *env, const char *dir, const bdb_list_options *opts,
                          bdb_list **out);

/* Stops the store's merges (they restart at the next open), waits for
 * its tasks, unlocks the directory and frees the handle. Views acquired
 * from it must be released first (BDB_EBUSY otherwise, nothing closed).
 * Closing a read-only handle writes nothing. NULL is a no-op. */
BDB_API int bdb_list_close(bdb_list *l);

/* Stages the hot-archive batch of ledger `ledger` (stellar-core's
 * addHotArchiveBatch): `archived` entries (persistent CONTRACT_DATA or
 * CONTRACT_CODE) and `restored` keys. It is applied by the next
 * bdb_list_add_batch for the same ledger, which must follow; a second
 * hot batch for the ledger replaces the first. Requires protocol >= 23
 * (the ledger's starting protocol). Invalid input is refused here and
 * changes nothing, as is any batch on a read-only handle (BDB_EINVAL). */
BDB_API int bdb_list_add_hot_batch(bdb_list *l, uint32_t ledger, uint32_t protocol,
                                   const bdb_bytes *archived, size_t n_archived,
                                   const bdb_bytes *restored, size_t n_restored);

/* Closes ledger `ledger` (stellar-core's addBatch, spec §5.4): `init`
 * (created entries), `live` (updated entries) and `dead` (deleted keys),
 * as XDR LedgerEntry / LedgerKey, plus the staged hot batch if any.
 * `ledger` must be the last ledger + 1 (any >= 1 for an empty store);
 * `protocol` (the ledger's protocol after upgrades) must not decrease and
 * must be <= max_protocol. Every entry is validated; a key present twice
 * is BDB_EINVAL naming the key. A refused batch changes nothing. The
 * level-0 merge runs on the calling thread; merges of spilling levels are
 * started on the pool; a merge due at this ledger is waited for. On
 * return the ledger is durable (one manifest) and published as the
 * current view. After an I/O failure while committing, the store refuses
 * further batches (BDB_EIO) until reopened. A read-only handle refuses
 * every batch (BDB_EINVAL) and stays usable. */
BDB_API int bdb_list_add_batch(bdb_list *l, uint32_t ledger, uint32_t protocol,
                               const bdb_bytes *init, size_t n_init, const bdb_bytes *live,
                               size_t n_live, const bdb_bytes *dead, size_t n_dead);

/* The hashes of one ledger's state. */
typedef struct bdb_list_state {
    uint32_t ledger;   /* 0: no ledger yet */
    uint32_t protocol; /* the ledger's protocol */
    uint8_t live_curr[BDB_LIST_LEVELS][32], live_snap[BDB_LIST_LEVELS][32];
    uint8_t hot_curr[BDB_LIST_LEVELS][32], hot_snap[BDB_LIST_LEVELS][32];
    uint8_t live_hash[32];   /* the live list's hash */
    uint8_t hot_hash[32];    /* the hot archive list's hash */
    uint8_t header_hash[32]; /* LedgerHeader.bucketListHash */
} bdb_list_state;

/* A published, immutable state of the store (one ledger). Readers get
 * one without locks; its buckets' files stay until it is released. */
typedef struct bdb_list_view bdb_list_view;

/* The current view, with a reference the caller releases. Lock-free.
 * NULL only if the store has no ledger yet. */
BDB_API bdb_list_view *bdb_list_view_acquire(bdb_list *l);
/* Drops a reference (NULL is a no-op). */
BDB_API void bdb_list_view_release(bdb_list_view *v);
/* Fills *out with the view's ledger, protocol and hashes. */
BDB_API void bdb_list_view_state(const bdb_list_view *v, bdb_list_state *out);

/* ------------------------------------------------------------------ */
/* Reads (BucketListDB, spec §9)                                      */
/* ------------------------------------------------------------------ */
/*
 * Reads work on a view and take no lock: any number of threads may read
 * any views while the writer adds batches, merges run and GC deletes
 * files. A view's data stays readable until it is released; found entries
 * point into the store's mapped files and are valid until then too.
 * Keys are LedgerKey XDR; an invalid key is BDB_EFORMAT. A damaged file
 * under a read is BDB_ECORRUPT naming it; reads never return wrong data.
 */

/* One record found by a read. */
typedef struct bdb_list_entry {
    const uint8_t *data; /* LedgerEntry XDR; a DEADENTRY or HOT_ARCHIVE_LIVE: the LedgerKey */
    size_t len;
    int32_t type;  /* the record's BucketEntryType / HotArchiveBucketEntryType */
    uint8_t level; /* where it was found: level 0..10 */
    uint8_t snap;  /* 0 curr, 1 snap */
} bdb_list_entry;

/* Point load (stellar-core's load): the newest record of `key` in the
 * live list, searching L0 curr, L0 snap, L1 curr ... Returns 1 with *out
 * for a live entry (INIT or LIVE), 0 when the key has no record or its
 * newest record is a DEADENTRY. Per bucket: entry cache (paged files),
 * filter, index, then one page read; typically a few microseconds. */
BDB_API int bdb_list_get(const bdb_list_view *v, const void *key, size_t key_len,
                         bdb_list_entry *out);

/* Bulk load (stellar-core's loadKeys) of keys[0..n) in any order
 * (duplicates allowed): out[i] is the entry of keys[i], with data NULL
 * when absent. Keys are sorted once and each bucket file is walked with a
 * monotone cursor. Stores the number found in *found (may be NULL).
 * Returns 0 or an error (BDB_EFORMAT naming the bad key's index). Memory:
 * O(n) temporary. */
BDB_API int bdb_list_get_many(const bdb_list_view *v, const bdb_bytes *keys, size_t n,
                              bdb_list_entry *out, size_t *found);

/* The hot archive's point and bulk loads: an entry is returned when its
 * newest record is HOT_ARCHIVE_ARCHIVED (type BDB_HOT_ARCHIVED, data the
 * archived LedgerEntry); a restored key (HOT_ARCHIVE_LIVE) is absent. */
BDB_API int bdb_list_hot_get(const bdb_list_view *v, const void *key, size_t key_len,
                             bdb_list_entry *out);
BDB_API int bdb_list_hot_get_many(const bdb_list_view *v, const bdb_bytes *keys, size_t n,
                                  bdb_list_entry *out, size_t *found);

/* Called per entry by scans; a non-zero return stops the scan, which
 * then returns that value. */
typedef int (*bdb_list_scan_fn)(void *ctx, const bdb_list_entry *e);

/* Every record (INIT, LIVE and DEAD: all versions, not deduplicated) of
 * LedgerEntryType `type` in the live list, bucket by bucket newest first,
 * each bucket in key order (stellar-core's scanForEntriesOfType). */
BDB_API int bdb_list_scan_type(const bdb_list_view *v, int type, bdb_list_scan_fn fn, void *ctx);

/* The newest live version of every key of `type`, in key order: a k-way
 * merge of the buckets in which the newest record of a key wins and a
 * DEADENTRY hides older versions (scanForLiveEntriesOfType). */
BDB_API int bdb_list_scan_live_type(const bdb_list_view *v, int type, bdb_list_scan_fn fn,
                                    void *ctx);

/* The live pool-share trustlines of `account` (AccountID XDR, 36 bytes)
 * in the pools that hold `asset` (Asset XDR) as assetA or assetB
 * (loadPoolShareTrustLinesByAccountAndAsset): the pool IDs come from the
 * buckets' INIT LIQUIDITY_POOL entries, then the trustlines are bulk
 * loaded. fn gets each found trustline, in key order. */
BDB_API int bdb_list_pool_share_trustlines(const bdb_list_view *v, const void *account,
                                           size_t account_len, const void *asset, size_t asset_len,
                                           bdb_list_scan_fn fn, void *ctx);

typedef struct bdb_inflation_winner {
    uint8_t account[32]; /* ed25519 key of the inflation destination */
    int64_t votes;       /* sum of its voters' balances */
} bdb_inflation_winner;

/* stellar-core's loadInflationWinners (legacy): the first (newest) version
 * of each account counts when it has an inflationDest and a balance of at
 * least 1e9 stroops; a DEADENTRY hides older versions. Destinations with
 * at least `min_balance` votes, at most `max_winners` of them, most votes
 * first (ties by account, ascending; stellar-core keeps one arbitrary
 * account per tied count when it has more than max_winners candidates,
 * which cannot be reproduced). Writes up to `cap` into out and the number
 * of winners into *n (BDB_EINVAL if cap < *n). Reads every ACCOUNT record. */
BDB_API int bdb_list_inflation_winners(const bdb_list_view *v, size_t max_winners,
                                       int64_t min_balance, bdb_inflation_winner *out, size_t cap,
                                       size_t *n);

/* BucketEntryCounters (spec §7.6) summed over the view's buckets of the
 * live (hot 0) or hot list: records and their XDR bytes (no mark) by
 * LedgerEntryTypeAndDurability: ACCOUNT 0 ... LIQUIDITY_POOL 5,
 * TEMPORARY CONTRACT_DATA 6, PERSISTENT CONTRACT_DATA 7, CONTRACT_CODE 8,
 * CONFIG_SETTING 9, TTL 10. */
typedef struct bdb_entry_counters {
    uint64_t count[11];
    uint64_t bytes[11];
} bdb_entry_counters;
BDB_API void bdb_list_entry_counters(const bdb_list_view *v, int hot, bdb_entry_counters *out);

/* Memory and activity of a view's read side. */
typedef struct bdb_list_read_stats {
    uint64_t files_exact, files_paged; /* files by index form */
    uint64_t records_exact, records_paged;
    uint64_t index_bytes;      /* every index, all parts */
    uint64_t page_index_bytes; /* filters and page tables of paged files */
    uint64_t cache_bytes;      /* entry caches */
    uint64_t cache_capacity;   /* entries */
    uint64_t cache_entries, cache_hits, cache_misses;
} bdb_list_read_stats;
BDB_API void bdb_list_read_stats_get(const bdb_list_view *v, bdb_list_read_stats *out);

/* The current state's hashes (ledger 0 and empty-list hashes when the
 * store has no ledger yet). */
BDB_API int bdb_list_state_get(bdb_list *l, bdb_list_state *out);

/* Adds the merge counters of the live (hot = 0) or hot archive list since
 * open to *out, with stellar-core's MergeCounters meaning (zero for a
 * read-only handle, which runs no merges). */
BDB_API int bdb_list_merge_counters(bdb_list *l, int hot, bdb_merge_counters *out);

/* Waits until every pending merge has finished (their outputs are kept
 * until their levels commit them). For tests and orderly shutdowns. A
 * read-only handle runs no merges: BDB_EINVAL. */
BDB_API int bdb_list_wait_merges(bdb_list *l);

/* Writes stellar-core's HistoryArchiveState JSON of the current ledger
 * (version 1; from protocol 23 version 2 with hotArchiveBuckets, which
 * needs network_passphrase) into buf (capacity cap, NUL-terminated);
 * stores the length without the NUL in *len. A finished merge is recorded
 * as state 1 (output), one in flight as state 2 with its inputs (curr,
 * snap, shadows). BDB_EINVAL with *len set to the size needed if cap is
 * too small (buf may then be NULL). server NULL = "bucketdb". A read-only
 * handle runs no merge, so its pending merges are written as state 2,
 * except those whose output needs no merge (all inputs empty). */
BDB_API int bdb_list_has_json(bdb_list *l, const char *server, const char *network_passphrase,
                              char *buf, size_t cap, size_t *len);

/* Creates a new store in `dir` (which must hold none) from a HAS (JSON,
 * `has_len` bytes) and the directory `bucket_dir` holding its buckets as
 * bucket-<hex>.xdr or bucket-<hex>.xdr.gz. Each bucket is read once,
 * streaming (a gzipped one is never decompressed to disk first):
 * verified (hash and content), indexed and copied into the store; the HAS
 * is validated as spec §6.4; a missing or corrupt bucket is an error
 * naming it. Merges in state 2 are restarted from
 * their inputs, state 1 outputs adopted, and clear ones redone from the
 * previous level's snap as stellar-core's restartMerges. A HAS carries no
 * protocol: the store takes its newest bucket's version as the last
 * ledger's protocol. opts->read_only is BDB_EINVAL (this creates a store). */
BDB_API int bdb_list_assume_state(bdb_env *env, const char *dir, const bdb_list_options *opts,
                                  const char *has_json, size_t has_len, const char *bucket_dir,
                                  bdb_list **out);

#ifdef __cplusplus
}
#endif

#endif /* BUCKETDB_LIST_H */
