/* History archives (stellar-core's layout, spec §1.5 and §6.4): import a
 * node's state from a checkpoint, publish one from a store. */
#ifndef BUCKETDB_ARCHIVE_H
#define BUCKETDB_ARCHIVE_H

#include <stdint.h>

#include "bucketdb/bucketdb.h"
#include "bucketdb/list.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Ledgers per checkpoint; checkpoint ledgers are 64k - 1. */
#define BDB_ARCHIVE_CHECKPOINT_FREQ 64
/* Room for any path this header builds, with its NUL. */
#define BDB_ARCHIVE_PATH_MAX 128
/* The archive's pointer to its latest checkpoint's HAS. */
#define BDB_ARCHIVE_WELL_KNOWN ".well-known/stellar-history.json"

/* 1 if `ledger` is a checkpoint ledger (63, 127, ...), else 0. */
BDB_API int bdb_archive_is_checkpoint(uint32_t ledger);

/* The HAS of checkpoint `ledger`, relative to the archive's root:
 * history/ww/xx/yy/history-wwxxyyzz.json with wwxxyyzz the ledger as 8
 * lowercase hex digits. */
BDB_API void bdb_archive_has_path(uint32_t ledger, char out[BDB_ARCHIVE_PATH_MAX]);

/* The gzipped bucket `hash` relative to the archive's root:
 * bucket/pp/qq/rr/bucket-<64 hex>.xdr.gz, pp qq rr the first 6 digits. */
BDB_API void bdb_archive_bucket_path(const uint8_t hash[BDB_HASH_LEN],
                                     char out[BDB_ARCHIVE_PATH_MAX]);

/* Progress of long work: `phase` ("fetch", "verify", "import", "publish"),
 * `done` of `total` units (objects). Called from the working threads. */
typedef void (*bdb_progress_fn)(void *ctx, const char *phase, uint64_t done, uint64_t total);

/* Where an import's time went. Wall times are seconds of the whole call
 * and of its phases; CPU times are summed over the threads that ingested
 * (one pass per bucket does all four, interleaved). */
typedef struct bdb_import_stats {
    double wall_s;    /* the whole call */
    double fetch_s;   /* from the first fetch to the last (0: read in place) */
    double buckets_s; /* fetching and ingesting every bucket (they overlap) */
    double adopt_s;   /* linking the verified files in, assumeState */
    double inflate_cpu_s, sha_cpu_s, check_index_cpu_s, write_cpu_s;
    uint64_t buckets, buckets_reused; /* reused: verified by an earlier attempt */
    uint64_t bytes_compressed, bytes, records;
} bdb_import_stats;

typedef struct bdb_archive_options {
    /* How an object is fetched, as stellar-core's `get` command: a shell
     * command in which {0} stands for the object's path relative to the
     * archive's root and {1} for the local file to write, e.g.
     * "curl -sf https://history.example.org/{0} -o {1}" or
     * "cp /srv/archive/{0} {1}". Both are substituted shell-quoted. NULL:
     * objects are copied from the directory `root` without a shell. */
    const char *get;
    const char *root;
    uint32_t parallel; /* objects fetched at once (default 4, at most 64) */
    uint32_t retries;  /* further attempts of a failed fetch (default 2) */
    /* Downloads and verified buckets of an import; default "<dir>.import".
     * Kept when an import fails, so that running it again fetches and
     * verifies only what is missing; removed when it succeeds. */
    const char *work_dir;
    bdb_progress_fn progress; /* may be NULL */
    void *progress_ctx;
    bdb_import_stats *stats; /* NULL, or filled by an import that got as far */
} bdb_archive_options;

/* Fills the defaults: get NULL, root NULL, parallel 4, retries 2. */
BDB_API void bdb_archive_options_init(bdb_archive_options *opts);

/* Creates a store in `dir` (which must hold none) from the archive's
 * checkpoint `ledger` (0: the latest, from BDB_ARCHIVE_WELL_KNOWN): fetches
 * its HAS, then every bucket it names that the work directory does not
 * already hold verified (with `get`, `parallel` at a time; from `root`
 * nothing is copied: the archive's files are read in place). Each bucket
 * is ingested in one streaming pass on the environment's pool, the
 * largest first: gunzipped, SHA-256 checked against its name, every
 * record checked, split at the store's shard bounds and indexed while its
 * canonical bytes are written to the work directory, under its verified
 * name only once its hash matched. Then the verified files are linked
 * into the store (copied across file systems) and the state assumed
 * (validation as stellar-core's, merges restarted). Nothing is adopted
 * unless every bucket verified: a failed fetch is BDB_EIO naming the
 * object and the command's status, a missing object BDB_ENOTFOUND, a
 * bucket that does not hash to its name BDB_ECORRUPT naming it. A ledger
 * that is not a checkpoint is BDB_EINVAL, and so is list_opts->read_only
 * (this creates a store). Memory: per ingest a few MiB of
 * buffers plus the index being built (which the store keeps). Stores the
 * new store in *out. */
BDB_API int bdb_archive_import(bdb_env *env, const bdb_archive_options *opts, uint32_t ledger,
                               const char *dir, const bdb_list_options *list_opts, bdb_list **out);

typedef struct bdb_publish_options {
    const char *server;             /* the HAS's "server"; NULL: "bucketdb" */
    const char *network_passphrase; /* required from protocol 23 (HAS version 2) */
    int gzip_level;                 /* 1..9, default 6 (gzip's) */
    int fsync;                      /* default 1 */
    bdb_progress_fn progress;
    void *progress_ctx;
} bdb_publish_options;

/* Fills the defaults: server NULL, passphrase NULL, gzip level 6, fsync 1. */
BDB_API void bdb_publish_options_init(bdb_publish_options *opts);

/* Publishes the store's current ledger, which must be a checkpoint ledger
 * (BDB_EINVAL otherwise), into the archive directory `archive_dir`:
 * waits for the store's merges, writes each bucket the HAS names as
 * bucket/pp/qq/rr/bucket-<hex>.xdr.gz (gzip of the canonical bytes; one
 * already there is left alone), then the HAS, prepared as stellar-core's
 * prepareForPublish prepares it (a level's next is cleared when the level
 * above's snap is protocol 12 or later, else its finished output is
 * named), at its checkpoint path and at BDB_ARCHIVE_WELL_KNOWN. Every file
 * is written atomically; buckets before the HAS, so a reader never finds
 * a HAS naming a bucket that is not there. A store opened read-only is
 * BDB_EINVAL before anything is written (publishing waits for its merges,
 * which only a writable handle runs). */
BDB_API int bdb_archive_publish(bdb_list *l, const char *archive_dir,
                                const bdb_publish_options *opts);

#ifdef __cplusplus
}
#endif

#endif /* BUCKETDB_ARCHIVE_H */
