/* A ready history archive of a generated state: the buckets of a
 * BucketList at a checkpoint ledger (gen_layout.h), gzipped in stellar-
 * core's layout, and the checkpoint's HAS (every next cleared, as
 * published from protocol 12; from protocol 23 version 2 with an empty
 * hot archive) at its path and at .well-known/stellar-history.json. */
#ifndef BDB_PERF_GEN_ARCHIVE_H
#define BDB_PERF_GEN_ARCHIVE_H

#include <stdint.h>

#include "bucketdb/bucketdb.h"
#include "bucketdb/list.h"

#include "gen.h"
#include "gen_layout.h"

/* ledger 0x0300003f: a mainnet-sized ledger number, a checkpoint */
#define GEN_ARCHIVE_LEDGER     0x0300003fu
#define GEN_ARCHIVE_PROTOCOL   23
#define GEN_ARCHIVE_PASSPHRASE "Public Global Stellar Network ; September 2015"

typedef struct gen_archive_opts {
    uint64_t entries, seed;
    const char *out;        /* the archive's root, created if needed */
    uint32_t ledger;        /* a checkpoint: (ledger + 1) % 64 == 0 */
    uint32_t protocol;      /* 12 .. BDB_PROTOCOL_MAX */
    int gzip_level;         /* 1..9 */
    unsigned threads;       /* gzip threads */
    const char *passphrase; /* the HAS's networkPassphrase */
    const char *tmpdir;     /* plain buckets and TTL partitions; NULL: <out>/.bdb-gen-tmp */
    /* buckets of at least this many bytes are gzipped by all threads
     * (gen_pgzip), the others by bdb_bucket_gzip, one per thread */
    uint64_t pgzip_min;
    int fsync;
    int progress; /* lines on stderr while writing */
} gen_archive_opts;

/* Defaults: GEN_ARCHIVE_LEDGER, GEN_ARCHIVE_PROTOCOL, gzip level 6, two
 * threads, GEN_ARCHIVE_PASSPHRASE, pgzip from 32 MiB, no fsync. */
void gen_archive_opts_init(gen_archive_opts *o);

typedef struct gen_archive_bucket {
    int file; /* 0: the empty bucket */
    uint8_t hash[32];
    uint64_t records[3]; /* LIVEENTRY, DEADENTRY, INITENTRY (METAENTRY not counted) */
    uint64_t bytes, gz_bytes;
    uint32_t oldest, ledgers; /* the ledgers it stands for */
} gen_archive_bucket;

typedef struct gen_archive_report {
    uint64_t live[GEN_TYPES];    /* live entries: the state's */
    uint64_t records[GEN_TYPES]; /* records written, all versions and tombstones */
    uint64_t record_bytes[GEN_TYPES];
    uint64_t deleted; /* keys that are only a version and its tombstone */
    gen_archive_bucket buckets[GEN_BUCKETS];
    uint64_t bytes, gz_bytes;
    uint8_t list_hash[32];   /* the live list's */
    uint8_t header_hash[32]; /* LedgerHeader.bucketListHash (with the empty hot archive) */
    double write_s, gzip_s, total_s;
    long peak_rss_kib;
} gen_archive_report;

/* Writes the archive. Returns 0, or a BDB_E* code with bdb_errmsg() (or,
 * for the generator's own files, errno) telling why. */
int gen_archive_write(bdb_env *env, const gen_archive_opts *o, gen_archive_report *r);

#endif
