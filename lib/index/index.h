/* The BucketListDB index of one bucket file: a whole unsplit bucket
 * (METAENTRY first) or one shard piece of a split bucket. Offsets are
 * file offsets of record marks.
 *
 * Two forms, chosen when the builder finishes (spec §7.1):
 *  - exact (page size 0; stellar-core's InMemoryIndex): an open-addressing
 *    table from the key hash to the record's offset; a lookup verifies the
 *    candidate record's key in the mapped file;
 *  - paged (stellar-core's DiskIndex, spec §7.3): the pages of the file with
 *    the shortest separator key of each, and a 16-bit binary fuse filter
 *    over the key hashes; a lookup scans the records that start inside one
 *    page window.
 * Both carry per-type offset ranges, BucketEntryCounters (spec §7.6) and,
 * for the live list, the asset -> pool-ID map of INIT LIQUIDITY_POOL
 * entries.
 *
 * Key hashes are XXH3-64 of the key's sort key with the index's seed (a
 * per-store random value kept in the index and its file). An index is
 * immutable once built: any number of threads may look up at once. Memory
 * comes from the environment under BDB_MEM_INDEX. docs/index-file.md
 * describes the persisted form. */
#ifndef BDB_INDEX_INDEX_H
#define BDB_INDEX_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"
#include "bucketdb/ledger.h"

/* Version of the persisted form (docs/index-file.md). */
#define BDBI_INDEX_VERSION 3
/* LedgerEntryTypeAndDurability (spec §7.6): the 10 entry types, with
 * CONTRACT_DATA split into TEMPORARY (6) and PERSISTENT (7). */
#define BDBI_INDEX_COUNTER_KINDS 11
/* End of the range of the last type present (stellar-core's INT64_MAX). */
#define BDBI_INDEX_RANGE_OPEN ((uint64_t)INT64_MAX)

typedef struct bdbi_index bdbi_index;
typedef struct bdbi_index_builder bdbi_index_builder;

typedef struct bdbi_index_params {
    int hot;                /* a hot-archive bucket: always paged, no pool map */
    uint32_t page_exponent; /* BUCKETLIST_DB_INDEX_PAGE_SIZE_EXPONENT: 0 or 8..31 */
    uint64_t cutoff_bytes;  /* BUCKETLIST_DB_INDEX_CUTOFF in bytes */
    uint64_t seed;          /* key-hash seed of a new index */
    /* where a builder spills the key hashes of a file that will be paged
     * (NULL: kept in memory), how many it keeps in memory before it does
     * (0: 2^17), and the filter's keys per partition (0: 2^17); see
     * docs/index-file.md, "Building" */
    const char *spill_dir;
    size_t spill_mem_keys, part_keys;
} bdbi_index_params;

/* The page size a file of `file_size` bytes gets (spec §7.1): live files
 * 0 (exact) when file_size < cutoff_bytes or page_exponent is 0, else
 * 2^page_exponent; hot files 2^page_exponent, or 16384 when it is 0. */
uint64_t bdbi_index_page_size(const bdbi_index_params *p, uint64_t file_size);

/* The LedgerEntryType of kind k (0..10): CONTRACT_DATA for both of its
 * durabilities. */
static inline int bdbi_kind_type(int k)
{
    return k <= 5 ? k : k <= 7 ? 6 : k - 1;
}

/* The LedgerEntryTypeAndDurability kind of a record's entry or key (0..10),
 * or -1 for a METAENTRY or a record too short to tell. */
int bdbi_record_kind(int hot, const uint8_t *rec, size_t len);

/* Whether the record rec[0..len) (BucketEntry or HotArchiveBucketEntry XDR,
 * no mark) holds the LedgerKey key[0..klen) (a valid, complete LedgerKey
 * XDR): the key of its entry, or the key itself for DEADENTRY and
 * HOT_ARCHIVE_LIVE. Never for a METAENTRY. Bounds-checked: a short or
 * malformed record does not match. Cost: one memcmp of the key's bytes
 * (CONTRACT_DATA and CONTRACT_CODE also skip their extension). */
int bdbi_record_has_key(int hot, const uint8_t *rec, size_t len, const uint8_t *key, size_t klen);

/* A builder takes a file's non-META records in file order, as a merge
 * writes them or a scan reads them, and keeps O(1) per record (its key
 * hash, and its offset while the file may still end below the cutoff).
 * BDB_EINVAL for bad params, BDB_ENOMEM. */
int bdbi_index_builder_new(bdb_env *env, const bdbi_index_params *p, bdbi_index_builder **out);

/* Adds the record whose mark starts at `offset`: rec[0..len) is its XDR
 * without the mark (type first), sk[0..sk_len) its sort key. Offsets must
 * increase; the record after a METAENTRY starts past it. BDB_EINVAL on a
 * key out of order (the builder is then failed), BDB_ENOMEM. */
int bdbi_index_builder_add(bdbi_index_builder *b, uint64_t offset, const uint8_t *rec, size_t len,
                           const uint8_t *sk, size_t sk_len);

/* Finishes the index of a file of `file_size` bytes (its form follows
 * bdbi_index_page_size) and frees the builder, also on failure. */
int bdbi_index_builder_finish(bdbi_index_builder *b, uint64_t file_size, bdbi_index **out);

/* Frees an unfinished builder. NULL is a no-op. */
void bdbi_index_builder_free(bdbi_index_builder *b);

/* Builds the index of the file data[0..len) by reading it once (META is
 * skipped, every record is parsed and bounds-checked): for files whose
 * index was neither persisted nor built while writing. BDB_ECORRUPT naming
 * `label` for malformed data. */
int bdbi_index_build_scan(bdb_env *env, const bdbi_index_params *p, const uint8_t *data, size_t len,
                          const char *label, bdbi_index **out);

void bdbi_index_free(bdb_env *env, bdbi_index *x);

/* A key being looked up: its LedgerKey XDR, its sort key, and the hash of
 * the sort key under `seed` (has_hash 0: not computed yet). Lookups
 * compute and keep the hash for the index's seed, so one key probing many
 * indexes with one seed hashes once. */
typedef struct bdbi_probe {
    const uint8_t *key;
    size_t key_len;
    const uint8_t *sk;
    size_t sk_len;
    uint64_t seed, hash;
    int has_hash;
} bdbi_probe;

/* Looks the key up in the file data[0..len) that `x` indexes. Returns 1 and
 * the record (*rec, *rec_len: XDR without the mark, inside data) and the
 * offset of its mark; 0 if the file has no record with that key;
 * BDB_ECORRUPT if the data contradicts the index (never reads outside
 * data). `cursor` (NULL, or a page position kept across calls, initially 0)
 * makes a walk over increasing keys search only forward: §9.3's monotone
 * iterator. The exact form ignores it. */
int bdbi_index_lookup(const bdbi_index *x, const uint8_t *data, size_t len, bdbi_probe *k,
                      size_t *cursor, const uint8_t **rec, size_t *rec_len, uint64_t *offset);

/* Asks the CPU to load what a bdbi_index_lookup of `k` reads first (the
 * table slot or the filter cells), so a caller probing the indexes of many
 * files overlaps their cache misses. Computes and keeps k's hash. */
void bdbi_index_prefetch(const bdbi_index *x, bdbi_probe *k);

/* 1 with [*begin, *end) = the offsets of the records of LedgerEntryType
 * `type` (end = the first record of the next type present, or
 * BDBI_INDEX_RANGE_OPEN after the last type); 0 when the file has none. */
int bdbi_index_type_range(const bdbi_index *x, int32_t type, uint64_t *begin, uint64_t *end);

/* BucketEntryCounters: records (INIT, LIVE and DEAD; hot: ARCHIVED and
 * LIVE) and their XDR bytes without the mark, by kind (bdbi_record_kind). */
typedef struct bdbi_entry_counters {
    uint64_t count[BDBI_INDEX_COUNTER_KINDS];
    uint64_t bytes[BDBI_INDEX_COUNTER_KINDS];
} bdbi_entry_counters;
const bdbi_entry_counters *bdbi_index_counters(const bdbi_index *x);

/* The pool IDs (32 bytes each, ascending, *n of them) of the INITENTRY
 * LIQUIDITY_POOL entries of this file that have asset[0..len) (Asset XDR)
 * as assetA or assetB; NULL with *n = 0 when none. */
const uint8_t (*bdbi_index_pools(const bdbi_index *x, const uint8_t *asset, size_t len,
                                 size_t *n))[32];

/* 0 for the exact form, else the page size. */
uint64_t bdbi_index_form(const bdbi_index *x);
uint64_t bdbi_index_seed(const bdbi_index *x);
/* Non-META records indexed. */
uint64_t bdbi_index_records(const bdbi_index *x);
/* Heap bytes of the index, and of its filter plus page index alone
 * (0 for the exact form). */
size_t bdbi_index_bytes(const bdbi_index *x);
size_t bdbi_index_page_bytes(const bdbi_index *x);
/* Whether two indexes are the same in every part (tests). */
int bdbi_index_equal(const bdbi_index *a, const bdbi_index *b);

/* Writes the persisted form to `path` (temporary file, fsync unless
 * `nosync`, rename) through the core fs helpers, bound to the indexed
 * file's size and XXH3-64. */
int bdbi_index_save(bdb_env *env, const bdbi_index *x, const char *path, uint64_t file_size,
                    uint64_t file_xxh, int nosync);

/* Loads `path` if it is a valid index of the file described: right magic,
 * version, hot flag, page size (bdbi_index_page_size of p and file_size),
 * binding (size and XXH3) and checksum, every section bounds-checked.
 * Returns 0; BDB_ENOTFOUND when there is no such file; BDB_EFORMAT
 * (version, page size, hot flag or binding differ: an index of another
 * file or configuration) or BDB_ECORRUPT (damaged: truncated, checksum,
 * inconsistent sections) with a message naming the path.
 * The caller then rebuilds and rewrites it. */
int bdbi_index_load(bdb_env *env, const char *path, const bdbi_index_params *p, uint64_t file_size,
                    uint64_t file_xxh, bdbi_index **out);

#endif
