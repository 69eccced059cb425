/* Internal interfaces of the bucket module shared by the writer, reader,
 * fresh and merge code. */
#ifndef BDB_BUCKET_BUCKET_H
#define BDB_BUCKET_BUCKET_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bucketdb/bucket.h"

/* memcmp order of sort keys (they are prefix-free, so a shorter key that is
 * a prefix cannot occur; the length only breaks ties of identical bytes). */
static inline int bdbi_sk_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c) return c;
    return (an > bn) - (an < bn);
}

/* Checks that a record of type `type` may appear in a bucket of list `hot`
 * at `protocol`; `rec` is the whole (already parsed) record. Raises `code`
 * (BDB_EPROTOCOL for the writer, BDB_EFORMAT for the reader) naming
 * `label` and `offset`. */
int bdbi_bucket_check_legal(int hot, uint32_t protocol, int32_t type, const uint8_t *rec,
                            size_t len, int code, const char *label, int64_t offset);

/* Writer fast path for trusted records whose sort key is already known
 * (fresh, merges): no validation beyond legality and order. The record is
 * written with its type replaced by `type` (merges turn INIT into LIVE and
 * LIVE into INIT). */
int bdbi_bucket_writer_put_as(bdb_bucket_writer *w, int32_t type, const uint8_t *rec, size_t len,
                              const uint8_t *sk, size_t sk_len);

/* A reader over bucket bytes in memory (`label` names them in errors);
 * the buffer must outlive the reader. */
int bdbi_bucket_reader_open_mem(bdb_env *env, const char *label, const void *data, size_t len,
                                int hot, int flags, bdb_bucket_reader **out);

/* An in-memory bucket (level 0 keeps its buckets in memory): records in
 * strictly increasing key order with their sort keys, and its protocol. */
typedef struct bdbi_mem_record {
    const uint8_t *record; /* BucketEntry XDR, no mark */
    size_t record_len;
    const uint8_t *sort_key;
    size_t sort_key_len;
} bdbi_mem_record;

typedef struct bdbi_mem_bucket {
    uint32_t protocol;
    size_t n;
    const bdbi_mem_record *records;
} bdbi_mem_bucket;

/* stellar-core's mergeInMemory: bdb_bucket_merge over in-memory inputs
 * (no shadows), through the same merge loop, so the output file is
 * byte-identical to merging the same buckets from files. */
int bdbi_bucket_merge_mem(bdb_env *env, const char *dir, const bdbi_mem_bucket *old_b,
                          const bdbi_mem_bucket *new_b, const bdb_merge_options *opts,
                          bdb_bucket_info *out, bdb_merge_counters *counters);

#endif
