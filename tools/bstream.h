/* Streaming reads of a bucket file, plain (.xdr) or gzip (.xdr.gz, told
 * by its magic bytes, not its name): the records one by one, the SHA-256
 * of the uncompressed bytes, with fixed buffers, so memory does not grow
 * with the bucket (only with its largest record). Nothing is written.
 *
 * bstream frames records; bucket_walk (below) also parses and checks
 * them as the library's reader does. Errors name the file and, for the
 * content, the offset in the uncompressed bytes. */
#ifndef BDB_TOOLS_BSTREAM_H
#define BDB_TOOLS_BSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/ledger.h"

typedef struct bstream bstream;

/* Records larger than this are refused (real ones are far smaller). */
#define BSTREAM_MAX_RECORD ((size_t)256 << 20)

/* skip_bodies: frame only (bodies are not buffered; next returns body
 * NULL), for hashing and verifying. Returns 0, or -1 with the error in
 * err (`errcap` bytes). */
int bstream_open(const char *path, int skip_bodies, bstream **out, char *err, size_t errcap);

/* The next record: returns 1 with its body (no mark; valid until the next
 * call), length and the offset of its mark; 0 at the clean end of the
 * data; -1 with bstream_error for bad framing, truncation, a bad gzip
 * stream, data after it, or a read error. */
int bstream_next(bstream *s, const uint8_t **body, size_t *len, uint64_t *offset);

const char *bstream_error(const bstream *s);
int bstream_is_gzip(const bstream *s);
/* Uncompressed bytes so far, compressed (file) bytes read so far. */
uint64_t bstream_bytes(const bstream *s);
uint64_t bstream_file_bytes(const bstream *s);
/* After next returned 0: SHA-256 of all uncompressed bytes. */
void bstream_hash(bstream *s, uint8_t out[32]);
void bstream_close(bstream *s);

/* ---- checked walk ---- */

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
 * increasing. A non-zero return of fn stops the walk and is returned.
 * Returns 0 with *info filled, or -1 after writing the error to err. */
int bucket_walk(const char *path, int (*fn)(void *ctx, const bucket_info *bi, const bucket_rec *r),
                void *ctx, bucket_info *info, char *err, size_t errcap);

#endif
