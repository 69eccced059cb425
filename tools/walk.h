/* The tool's checked walk over a bucket file, plain (.xdr) or gzip
 * (.xdr.gz, told by its magic bytes, not its name), on the library's
 * streaming reader: the records one by one with the library reader's
 * checks and the SHA-256 of the uncompressed bytes, in fixed memory;
 * nothing is written. */
#ifndef BDB_TOOLS_WALK_H
#define BDB_TOOLS_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"
#include "bucketdb/ledger.h"

/* What a walk reports per record. */
typedef struct bucket_rec {
    uint64_t offset;       /* of the record mark */
    const uint8_t *record; /* BucketEntry / HotArchiveBucketEntry XDR, no mark */
    size_t len;
    bdb_record parsed;
} bucket_rec;

typedef struct bucket_info {
    int hot;                 /* METAENTRY says HOT_ARCHIVE */
    int has_meta;            /* the first record is a METAENTRY */
    uint32_t protocol;       /* its ledgerVersion, else 0 */
    int32_t meta_list;       /* BucketListType of ext v1, else -1 */
    int gzip;                /* the file is gzip (by its content) */
    uint64_t records, bytes; /* uncompressed bytes */
    uint8_t hash[32];
} bucket_info;

/* Reads the bucket `path`, calling fn for each record (METAENTRY first
 * when there is one) after it passes the library reader's checks: the
 * record parses as a BucketEntry (or, after a HOT_ARCHIVE METAENTRY, a
 * HotArchiveBucketEntry), METAENTRY only first and valid for its list,
 * the record type legal at the bucket's protocol, keys strictly
 * increasing. `env` may be NULL (the walk opens one of its own). A
 * non-zero return of fn stops the walk and is returned.
 * Returns 0 with *info filled, or -1 after writing the error to err. */
int bucket_walk(bdb_env *env, const char *path,
                int (*fn)(void *ctx, const bucket_info *bi, const bucket_rec *r), void *ctx,
                bucket_info *info, char *err, size_t errcap);

#endif
