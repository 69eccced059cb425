/* Internal interfaces of the bucket module shared by the writer, reader,
 * fresh and merge code. */
#ifndef BDB_BUCKET_BUCKET_H
#define BDB_BUCKET_BUCKET_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bucketdb/bucket.h"
#include "bucketdb/ledger.h"

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

/* The checks of every bucket read, over records in file order: what
 * stellar-core's BucketInputIterator checks (each record parses, or with
 * BDB_READ_TRUSTED only its type; legal at the bucket's protocol) plus
 * strictly increasing keys. Errors are BDB_EFORMAT naming `label` (which
 * must outlive the checker) and the record's offset. */
typedef struct bdbi_checker {
    bdb_env *env;
    const char *label;
    int hot; /* -1: decided by the METAENTRY (or live without one) */
    int flags;
    uint32_t protocol; /* the METAENTRY's, or set by the caller for a piece */
    uint8_t *sk[2];    /* sort keys of the current and the previous entry */
    size_t sk_len[2], sk_cap[2];
    int cur; /* which sk is the current one; -1 before the first entry */
} bdbi_checker;

void bdbi_checker_init(bdbi_checker *c, bdb_env *env, const char *label, int hot, int flags);
void bdbi_checker_free(bdbi_checker *c);

/* For the first record only: if it is a METAENTRY (*is_meta = 1, parsed
 * into *m), checks it (protocol >= 11, list type matching `hot`, which it
 * decides when -1) and takes its protocol. Otherwise *is_meta = 0. */
int bdbi_checker_meta(bdbi_checker *c, const uint8_t *body, size_t len, bdb_record *m,
                      int *is_meta);

/* Checks the entry record body[0..len) whose mark is at `at` and fills
 * *it (its sort key lives in the checker until the next call but one) and,
 * if non-NULL, *parsed. */
int bdbi_checker_entry(bdbi_checker *c, const uint8_t *body, size_t len, uint64_t at,
                       bdb_bucket_item *it, bdb_record *parsed);

/* Record marks over a stream of bucket bytes fed in chunks of any size,
 * without buffering records: for passes that only need the framing. */
typedef struct bdbi_framer {
    const char *label;  /* names the bytes in errors */
    uint64_t pos;       /* bytes fed */
    uint64_t next_mark; /* offset of the next record mark */
    uint8_t mark[4];
    int have; /* bytes of the current mark collected */
    uint64_t records;
} bdbi_framer;

/* BDB_EFORMAT for a bad mark or more than 100 GiB. */
int bdbi_framer_feed(bdbi_framer *f, const uint8_t *p, size_t n);
/* At the end of the bytes: BDB_EFORMAT if the last record is cut off. */
int bdbi_framer_end(const bdbi_framer *f);

/* ---- streaming reads ---- */

/* A consumer of bytes: 0 or a BDB_E* code, which stops the stream. */
typedef int (*bdbi_tap_fn)(void *ctx, const uint8_t *p, size_t n);

/* Records above this are refused before anything is buffered for them. */
#define BDBI_BSTREAM_MAX_RECORD ((size_t)64 << 20)

/* A forward pass over a bucket file, plain or gzip (one member, told by
 * its first two bytes), that frames and checks every record as the
 * mapped reader does, hashes the uncompressed bytes with SHA-256 and can
 * hand them, in order, to a tap (one pass that also writes the canonical
 * file). Memory: 1 MiB of uncompressed bytes (more only for a record
 * larger than that), 1 MiB of input and zlib's window, whatever the
 * bucket's size. Errors name the file and, for content, the offset in the
 * uncompressed bytes. `hot`: 0 live, 1 hot archive, -1 as the METAENTRY
 * says (live without one). */
typedef struct bdbi_bstream bdbi_bstream;
int bdbi_bstream_open(bdb_env *env, const char *path, int hot, int flags, bdbi_bstream **out);
/* Every uncompressed byte read from now on also goes to fn (set it before
 * the first read to see all of them). */
void bdbi_bstream_tap(bdbi_bstream *s, bdbi_tap_fn fn, void *ctx);
/* The next record: 1 with *it filled (the METAENTRY, first, has type
 * BDB_METAENTRY and no sort key; record and sort key are valid until the
 * next call) and, if non-NULL, *parsed; 0 at the clean end of the data;
 * or an error (bad gzip, data after the gzip stream, bad framing,
 * truncation, a record that fails the checks). After an error next
 * fails again; drain may still follow a record that failed the checks
 * (to learn what the bytes hash to). */
int bdbi_bstream_next(bdbi_bstream *s, bdb_bucket_item *it, bdb_record *parsed);
/* Reads the rest checking only the framing (records are not parsed or
 * buffered), then ends like next; *records (may be NULL): records read in
 * all. Allowed after next failed on a record's checks, not after the
 * bytes themselves failed. */
int bdbi_bstream_drain(bdbi_bstream *s, uint64_t *records);
int bdbi_bstream_is_gzip(const bdbi_bstream *s);
int bdbi_bstream_hot(const bdbi_bstream *s);           /* as decided so far */
uint32_t bdbi_bstream_protocol(const bdbi_bstream *s); /* the METAENTRY's, else 0 */
uint64_t bdbi_bstream_bytes(const bdbi_bstream *s);    /* uncompressed bytes consumed */
/* Thread CPU time spent so far reading and inflating, and hashing. */
void bdbi_bstream_cost(const bdbi_bstream *s, uint64_t *inflate_ns, uint64_t *sha_ns);
/* The calling thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID). */
uint64_t bdbi_thread_ns(void);
/* After the end: SHA-256 of all uncompressed bytes. */
int bdbi_bstream_hash(const bdbi_bstream *s, uint8_t out[BDB_HASH_LEN]);
void bdbi_bstream_close(bdbi_bstream *s);

/* Writer fast path for trusted records whose sort key is already known
 * (fresh, merges): no validation beyond legality and order. The record is
 * written with its type replaced by `type` (merges turn INIT into LIVE and
 * LIVE into INIT). */
int bdbi_bucket_writer_put_as(bdb_bucket_writer *w, int32_t type, const uint8_t *rec, size_t len,
                              const uint8_t *sk, size_t sk_len);

/* Internal writer extensions, for stores that keep a bucket as pieces. */
typedef struct bdbi_writer_ext {
    /* sort keys, strictly increasing: the writer notes where the range of
     * keys >= bounds[k] (and < bounds[k+1]) starts in the file */
    const bdb_bytes *bounds;
    size_t n_bounds;
    int no_meta;    /* no METAENTRY, although the protocol has one (later pieces) */
    int hold;       /* finish leaves the file uncommitted and hands it over */
    int no_dirsync; /* commit without fsyncing the directory (the caller does) */
    /* every record but the METAENTRY is also added to this index builder
     * as it is written (one pass: the index never rereads the file) */
    struct bdbi_index_builder *index;
} bdbi_writer_ext;

typedef struct bdbi_writer_result {
    /* starts[0]: end of the METAENTRY (0 without one); starts[k]: first
     * byte of range k (k = 1..n_bounds); starts[n_bounds + 1]: file size.
     * Caller-provided, n_bounds + 2 entries. */
    uint64_t *starts;
    uint64_t meta_bytes;
    uint64_t xxh;           /* XXH3-64 of the file's bytes */
    struct bdbi_file *file; /* hold: the written, flushed, uncommitted file */
} bdbi_writer_result;

int bdbi_bucket_writer_open_ext(bdb_env *env, const char *dir,
                                const bdb_bucket_writer_options *opts, const bdbi_writer_ext *ext,
                                bdb_bucket_writer **out);

/* bdb_bucket_writer_finish, filling *res (may be NULL). With `hold` and
 * records written, res->file holds the flushed temporary file for the
 * caller to bdbi_file_set_path + bdbi_file_commit (or abort); no name is
 * set in out. Without records the result is the empty bucket, as usual. */
int bdbi_bucket_writer_finish_ext(bdb_bucket_writer *w, bdb_bucket_info *out,
                                  bdbi_writer_result *res);

/* A reader over bytes [begin, end) of the file `path` that hold entries
 * only (a piece: no METAENTRY) of a bucket of protocol `protocol`. */
int bdbi_bucket_reader_open_range(bdb_env *env, const char *path, uint64_t begin, uint64_t end,
                                  int hot, uint32_t protocol, int flags, bdb_bucket_reader **out);

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

/* A fresh bucket kept in memory (level 0 merges it without a file):
 * stellar-core's LiveBucket::fresh (a = init, b = live, c = dead) or
 * HotArchiveBucket::fresh (hot: a = archived, b = restored, c unused),
 * validated, sorted, duplicate keys refused (BDB_EINVAL naming the key),
 * records owned by the object. */
typedef struct bdbi_fresh_mem bdbi_fresh_mem;
int bdbi_bucket_fresh_mem(bdb_env *env, int hot, uint32_t protocol, const bdb_bytes *a, size_t n_a,
                          const bdb_bytes *b, size_t n_b, const bdb_bytes *c, size_t n_c,
                          bdbi_fresh_mem **out);
const bdbi_mem_bucket *bdbi_fresh_mem_bucket(const bdbi_fresh_mem *m);
void bdbi_fresh_mem_free(bdb_env *env, bdbi_fresh_mem *m);

/* stellar-core's mergeInMemory: bdb_bucket_merge over in-memory inputs
 * (no shadows), through the same merge loop, so the output file is
 * byte-identical to merging the same buckets from files. */
int bdbi_bucket_merge_mem(bdb_env *env, const char *dir, const bdbi_mem_bucket *old_b,
                          const bdbi_mem_bucket *new_b, const bdb_merge_options *opts,
                          bdb_bucket_info *out, bdb_merge_counters *counters);

/* One input of bdbi_merge_into: bytes [begin, end) of the file `path`
 * holding entries of a bucket of protocol `protocol` (no METAENTRY), or
 * an in-memory bucket (`mem`), or the empty bucket (neither, or an empty
 * range). */
typedef struct bdbi_merge_src {
    const char *path;
    uint64_t begin, end;
    uint32_t protocol;
    const bdbi_mem_bucket *mem;
} bdbi_merge_src;

/* The protocol of a merge's output (spec §4.1, with the level-0 rule of
 * opts->level0), or BDB_EPROTOCOL (above max_protocol, shadows at >= 12). */
int bdbi_merge_protocol(const bdb_merge_options *opts, uint32_t old_v, uint32_t new_v,
                        const uint32_t *shadow_v, size_t n_shadows, uint32_t *protocol);

/* Counts a merge of output protocol `protocol` in the pre/post INIT and
 * shadow-removal counters (live merges only), once per bucket merged. */
void bdbi_merge_count_protocol(int hot, uint32_t protocol, bdb_merge_counters *mc);

/* The merge loop over the given inputs into the open writer `w` (opened
 * with the merge's protocol and tombstone rule), adding to *mc everything
 * but the output-iterator and protocol counters. A store merges one shard
 * piece per call. A non-NULL `stop` that turns true makes the merge
 * return BDB_ECANCELED within 1000 steps. */
int bdbi_merge_into(bdb_env *env, const bdbi_merge_src *old_src, const bdbi_merge_src *new_src,
                    const bdbi_merge_src *shadow_src, size_t n_shadows, int hot, uint32_t protocol,
                    bdb_bucket_writer *w, bdb_merge_counters *mc, const _Atomic int *stop);

/* gzips the concatenation of the files `paths` (a bucket kept as several
 * files) into `gz_path` (level 1..9, written atomically). With `expected`,
 * also checks the record framing and that the bytes hash to it
 * (BDB_ECORRUPT naming the bucket otherwise, nothing written). */
int bdbi_bucket_gzip_files(bdb_env *env, const char *const *paths, size_t n,
                           const uint8_t expected[BDB_HASH_LEN], const char *gz_path, int level,
                           int fsync);

#endif
