/*
 * Canonical bucket files, byte-identical to stellar-core's: a bucket is an
 * optional METAENTRY followed by entries in strictly increasing key order,
 * each an RFC 5531 record-marked XDR BucketEntry (live buckets) or
 * HotArchiveBucketEntry (hot-archive buckets). Its hash is SHA-256 over all
 * bytes including the record marks; a bucket with no records is the empty
 * bucket (zero hash, no file), while a bucket holding only a METAENTRY is a
 * real bucket with a real hash. Files are named bucket-<64 hex>.xdr.
 */
#ifndef BUCKETDB_BUCKET_H
#define BUCKETDB_BUCKET_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"
#include "bucketdb/ledger.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BDB_HASH_LEN 32
/* "bucket-" + 64 hex digits + ".xdr" + NUL */
#define BDB_BUCKET_NAME_LEN 76

/* First protocol with INITENTRY and METAENTRY (CAP-0020). */
#define BDB_PROTOCOL_INIT_META 11
/* First protocol without shadows. */
#define BDB_PROTOCOL_NO_SHADOWS 12
/* First protocol whose buckets carry BucketMetadata ext v1 (list type). */
#define BDB_PROTOCOL_META_EXT_V1 23

/* stellar-core's MergeCounters (BucketUtils.h), field for field. */
typedef struct bdb_merge_counters {
    uint64_t pre_init_entry_protocol_merges;
    uint64_t post_init_entry_protocol_merges;
    uint64_t pre_shadow_removal_protocol_merges;
    uint64_t post_shadow_removal_protocol_merges;
    uint64_t running_merge_reattachments;
    uint64_t finished_merge_reattachments;
    uint64_t new_meta_entries;
    uint64_t new_init_entries;
    uint64_t new_live_entries;
    uint64_t new_dead_entries;
    uint64_t old_meta_entries;
    uint64_t old_init_entries;
    uint64_t old_live_entries;
    uint64_t old_dead_entries;
    uint64_t old_entries_default_accepted;
    uint64_t new_entries_default_accepted;
    uint64_t new_init_entries_merged_with_old_dead;
    uint64_t old_init_entries_merged_with_new_live;
    uint64_t old_init_entries_merged_with_new_dead;
    uint64_t new_entries_merged_with_old_neither_init;
    uint64_t shadow_scan_steps;
    uint64_t meta_entry_shadow_elisions;
    uint64_t live_entry_shadow_elisions;
    uint64_t init_entry_shadow_elisions;
    uint64_t dead_entry_shadow_elisions;
    uint64_t output_iterator_tombstone_elisions;
    uint64_t output_iterator_buffer_updates;
    uint64_t output_iterator_actual_writes;
} bdb_merge_counters;

/* What a finished bucket is. */
typedef struct bdb_bucket_info {
    uint8_t hash[BDB_HASH_LEN];     /* all zero for the empty bucket */
    int empty;                      /* no records: no file was written */
    uint32_t protocol;              /* METAENTRY ledgerVersion, 0 without one */
    uint64_t records;               /* records in the file, METAENTRY included */
    uint64_t bytes;                 /* file size */
    char name[BDB_BUCKET_NAME_LEN]; /* "bucket-<hex>.xdr", "" when empty */
} bdb_bucket_info;

/* Writes "bucket-<hex of hash>.xdr" (NUL-terminated) into out. */
BDB_API void bdb_bucket_name(const uint8_t hash[BDB_HASH_LEN], char out[BDB_BUCKET_NAME_LEN]);

/* ------------------------------------------------------------------ */
/* Writer                                                             */
/* ------------------------------------------------------------------ */

typedef struct bdb_bucket_writer bdb_bucket_writer;

typedef struct bdb_bucket_writer_options {
    int hot;             /* 0: live bucket (BucketEntry); 1: hot archive (default 0) */
    uint32_t protocol;   /* METAENTRY ledgerVersion; no METAENTRY below 11 (default 0) */
    int keep_tombstones; /* 0 drops DEADENTRY / HOT_ARCHIVE_LIVE records (default 1) */
    int fsync;           /* fsync the file and directory at finish (default 1) */
} bdb_bucket_writer_options;

BDB_API void bdb_bucket_writer_options_init(bdb_bucket_writer_options *opts);

/* Starts a bucket in directory `dir` (a temporary file until finish). Hot
 * buckets need protocol >= 23. Returns BDB_EINVAL / BDB_EPROTOCOL naming the
 * option, or a file-system error. */
BDB_API int bdb_bucket_writer_open(bdb_env *env, const char *dir,
                                   const bdb_bucket_writer_options *opts, bdb_bucket_writer **out);

/* Adds one record (the XDR of a BucketEntry or HotArchiveBucketEntry, no
 * record mark), fully validated. Records must come in non-decreasing key
 * order; a record with the same key as the previous one replaces it (the
 * last one put wins), as in stellar-core's BucketOutputIterator. Refuses
 * (BDB_EPROTOCOL) INITENTRY below protocol 11, any METAENTRY (the writer
 * writes it), and hot-archive entries that are not persistent Soroban
 * entries; BDB_EINVAL for a key below the previous one. After a failure
 * the writer can only be aborted. */
BDB_API int bdb_bucket_writer_put(bdb_bucket_writer *w, const void *record, size_t len);

/* Finishes the bucket: writes the buffered record, fsyncs, and renames the
 * file to bucket-<hash>.xdr in the directory. With no records at all the
 * result is the empty bucket and no file remains. If a file of that name
 * already exists its content is verified and reused (BDB_ECORRUPT naming
 * it if its hash differs). Frees the writer in every case. */
BDB_API int bdb_bucket_writer_finish(bdb_bucket_writer *w, bdb_bucket_info *out);

/* Abandons the bucket and frees the writer (NULL is a no-op). */
BDB_API void bdb_bucket_writer_abort(bdb_bucket_writer *w);

/* Adds the writer's output-iterator counters (tombstone elisions, buffer
 * updates, actual writes) to *c. */
BDB_API void bdb_bucket_writer_counters(const bdb_bucket_writer *w, bdb_merge_counters *c);

/* ------------------------------------------------------------------ */
/* Reader                                                             */
/* ------------------------------------------------------------------ */

typedef struct bdb_bucket_reader bdb_bucket_reader;

/* Reader flags */
enum {
    BDB_READ_TRUSTED = 1 << 0, /* check framing, order and keys, not every entry field */
};

/* One record of a bucket. Pointers are valid until the next call. */
typedef struct bdb_bucket_item {
    int32_t type;          /* BucketEntryType or HotArchiveBucketEntryType */
    int32_t entry_type;    /* bdb_entry_type of the entry or key */
    const uint8_t *record; /* the record's XDR (no mark), inside the mapped file */
    size_t record_len;
    uint64_t offset; /* file offset of the record mark */
    const uint8_t *sort_key;
    size_t sort_key_len;
} bdb_bucket_item;

/* Opens the bucket file `path` (hot = 1 for a hot-archive bucket), maps it
 * for sequential reading and reads its METAENTRY if it has one. Checks
 * that the METAENTRY is valid for the list type (hot: ext v1 HOT_ARCHIVE;
 * live: not HOT_ARCHIVE) and at least protocol 11. */
BDB_API int bdb_bucket_reader_open(bdb_env *env, const char *path, int hot, int flags,
                                   bdb_bucket_reader **out);

/* The bucket's protocol (METAENTRY ledgerVersion, 0 without one). */
BDB_API uint32_t bdb_bucket_reader_protocol(const bdb_bucket_reader *r);

/* Reads the next entry (the METAENTRY is not returned). Returns 1 with *it
 * filled, 0 at the end, or BDB_EFORMAT naming the file and offset for bad
 * framing, a METAENTRY that is not first, an entry illegal at the bucket's
 * protocol, a malformed entry, or a key not strictly greater than the
 * previous one. */
BDB_API int bdb_bucket_reader_next(bdb_bucket_reader *r, bdb_bucket_item *it);

/* Unmaps and frees (NULL is a no-op). */
BDB_API void bdb_bucket_reader_close(bdb_bucket_reader *r);

/* ------------------------------------------------------------------ */
/* Merges                                                             */
/* ------------------------------------------------------------------ */

typedef struct bdb_merge_options {
    int hot;               /* hot-archive buckets (default 0) */
    int keep_tombstones;   /* 0 only for merges into the deepest level (default 1) */
    uint32_t max_protocol; /* the current ledger protocol; no output above it */
    /* Level-0 rule (parity H1/H2): the output's protocol is max_protocol,
     * not the maximum of the inputs' (default 0). */
    int level0;
    int fsync; /* default 1 */
} bdb_merge_options;

BDB_API void bdb_merge_options_init(bdb_merge_options *opts);

/* Merges the bucket files old_path (older, "curr") and new_path (newer,
 * "snap"), either NULL for the empty bucket, into a new bucket in `dir`,
 * as stellar-core's BucketBase::merge: newer entries win, with the CAP-0020
 * rules for equal keys in live buckets (INIT + DEAD annihilate, DEAD + INIT
 * gives LIVE, INIT + LIVE gives INIT; old INIT + new INIT and old LIVE +
 * new INIT are BDB_EFORMAT) and newer-always-wins for hot archives. The
 * output protocol is the maximum of the inputs' (and of shadows below
 * protocol 12), or max_protocol with `level0`; above max_protocol is
 * BDB_EPROTOCOL, as is a merge of protocol 12 or later given shadows. Before protocol 12
 * an entry whose key is in one of the `shadows` (bucket files of newer
 * levels) is dropped, except INIT and DEAD entries at protocol 11. The
 * counters of stellar-core's MergeCounters are added to *counters (may be
 * NULL). Memory does not grow with the inputs. The inputs are taken to be
 * buckets this library wrote or verified: their framing, record types, key
 * order and key fields are checked, other entry fields are copied as they
 * are (use bdb_bucket_reader_open without BDB_READ_TRUSTED to validate an
 * untrusted file first). */
BDB_API int bdb_bucket_merge(bdb_env *env, const char *dir, const char *old_path,
                             const char *new_path, const char *const *shadow_paths,
                             size_t n_shadows, const bdb_merge_options *opts, bdb_bucket_info *out,
                             bdb_merge_counters *counters);

/* ------------------------------------------------------------------ */
/* Verification and gzip                                              */
/* ------------------------------------------------------------------ */

/* Streams the file `path`, plain or gzip (told by its first two bytes,
 * as archives store buckets), checking its record framing and that the
 * SHA-256 of its (uncompressed) bytes is `expected` (BDB_ECORRUPT naming
 * the file if not). Stores the uncompressed bytes and records checked
 * (either pointer may be NULL). Memory: a few MiB, whatever the size. */
BDB_API int bdb_bucket_verify(bdb_env *env, const char *path, const uint8_t expected[BDB_HASH_LEN],
                              uint64_t *bytes, uint64_t *records);

/* Decompresses the gzip file `gz_path` (one gzip member, as history
 * archives store buckets) into `out_path`, written atomically, checking the
 * record framing of the uncompressed bytes and computing their SHA-256
 * into hash. Trailing data after the gzip stream, a truncated stream or
 * more than 100 GiB of output are BDB_EFORMAT; nothing is left under
 * out_path on failure. The caller compares the hash with the bucket's
 * name before adopting the file. */
BDB_API int bdb_bucket_gunzip(bdb_env *env, const char *gz_path, const char *out_path, int fsync,
                              uint8_t hash[BDB_HASH_LEN], uint64_t *bytes);

/* Compresses the file `path` into the gzip file `gz_path` (level 1..9),
 * written atomically. */
BDB_API int bdb_bucket_gzip(bdb_env *env, const char *path, const char *gz_path, int level,
                            int fsync);

/* ------------------------------------------------------------------ */
/* Fresh buckets                                                      */
/* ------------------------------------------------------------------ */

typedef struct bdb_bytes {
    const void *data;
    size_t len;
} bdb_bytes;

/* Writes the fresh live bucket of a ledger (stellar-core's
 * LiveBucket::fresh) into `dir`: `init` entries as INITENTRY (LIVEENTRY
 * below protocol 11), `live` entries as LIVEENTRY, `dead` keys as
 * DEADENTRY, sorted by key, METAENTRY from protocol 11. All inputs are
 * validated; a key present twice across them is BDB_EINVAL naming the key
 * (as JSON). */
BDB_API int bdb_bucket_fresh(bdb_env *env, const char *dir, uint32_t protocol, int fsync,
                             const bdb_bytes *init, size_t n_init, const bdb_bytes *live,
                             size_t n_live, const bdb_bytes *dead, size_t n_dead,
                             bdb_bucket_info *out);

/* Writes a fresh hot-archive bucket: `archived` entries (persistent
 * CONTRACT_DATA or CONTRACT_CODE) as HOT_ARCHIVE_ARCHIVED and `restored`
 * keys as HOT_ARCHIVE_LIVE; protocol >= 23. */
BDB_API int bdb_bucket_fresh_hot(bdb_env *env, const char *dir, uint32_t protocol, int fsync,
                                 const bdb_bytes *archived, size_t n_archived,
                                 const bdb_bytes *restored, size_t n_restored,
                                 bdb_bucket_info *out);

#ifdef __cplusplus
}
#endif

#endif /* BUCKETDB_BUCKET_H */
