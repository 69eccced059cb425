/* The bucket writer: stellar-core's BucketOutputIterator, streaming into a
 * temporary file through the core fs helpers while hashing every byte,
 * then renamed to bucket-<hash>.xdr. */
#include "config.h"

#include "bucket.h"

#include <limits.h>
#include <stdio.h>

#include "core/alloc.h"
#include "core/env.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/sha256.h"
#include "index/index.h"
#include "xdr/ledger.h"
#include "xdr/record.h"

struct bdb_bucket_writer {
    bdb_env *env;
    bdb_bucket_writer_options opts;
    char *dir;
    bdbi_file *file;
    bdbi_sha256 sha;
    int failed;
    /* the one-entry buffer: the last record put, not yet written */
    int has_buf;
    int buf_is_meta; /* a METAENTRY sorts before every entry */
    uint8_t *buf;
    size_t buf_len, buf_cap;
    uint8_t *sk;
    size_t sk_len, sk_cap;
    uint64_t records, bytes;
    bdb_merge_counters counters; /* only the output_iterator_* fields */
    /* internal extensions (bdbi_bucket_writer_open_ext) */
    bdbi_writer_ext ext;
    uint64_t *starts; /* [n_bounds + 2]: where each range starts, then the end */
    size_t next_bound;
    uint64_t meta_bytes;
    XXH3_state_t *xxh;
};

BDB_API void bdb_bucket_name(const uint8_t hash[BDB_HASH_LEN], char out[BDB_BUCKET_NAME_LEN])
{
    static const char digits[] = "0123456789abcdef";
    memcpy(out, "bucket-", 7);
    for (int i = 0; i < BDB_HASH_LEN; i++) {
        out[7 + 2 * i] = digits[hash[i] >> 4];
        out[8 + 2 * i] = digits[hash[i] & 15];
    }
    memcpy(out + 7 + 2 * BDB_HASH_LEN, ".xdr", 5);
}

BDB_API void bdb_bucket_writer_options_init(bdb_bucket_writer_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->keep_tombstones = 1;
    opts->fsync = 1;
}

/* The METAENTRY record body of a bucket: ledgerVersion and ext (v1 with the
 * list type from protocol 23, else v0); returns its length, 12 or 16. */
static size_t meta_record(int hot, uint32_t protocol, uint8_t out[16])
{
    bdbi_put_be32(out, (uint32_t)BDB_METAENTRY);
    bdbi_put_be32(out + 4, protocol);
    if (protocol < BDB_PROTOCOL_META_EXT_V1) {
        bdbi_put_be32(out + 8, 0);
        return 12;
    }
    bdbi_put_be32(out + 8, 1);
    bdbi_put_be32(out + 12, hot ? BDB_LIST_HOT_ARCHIVE : BDB_LIST_LIVE);
    return 16;
}

/* Grows *p (capacity *cap) to hold n bytes. */
static int reserve(bdb_env *env, uint8_t **p, size_t *cap, size_t n)
{
    if (n <= *cap) return 0;
    size_t ncap = *cap ? *cap : 256;
    while (ncap < n) ncap *= 2;
    uint8_t *q = bdbi_realloc(env, BDB_MEM_BUCKET, *p, *cap, ncap);
    if (!q) return BDB_ENOMEM;
    *p = q;
    *cap = ncap;
    return 0;
}

static void writer_free(bdb_bucket_writer *w)
{
    bdb_env *env = w->env;
    if (w->starts)
        bdbi_free(env, BDB_MEM_BUCKET, w->starts, (w->ext.n_bounds + 2) * sizeof *w->starts);
    if (w->xxh) XXH3_freeState(w->xxh);
    bdbi_free(env, BDB_MEM_BUCKET, w->buf, w->buf_cap);
    bdbi_free(env, BDB_MEM_BUCKET, w->sk, w->sk_cap);
    bdbi_strfree(env, BDB_MEM_BUCKET, w->dir);
    bdbi_free(env, BDB_MEM_BUCKET, w, sizeof *w);
}

BDB_API int bdb_bucket_writer_open(bdb_env *env, const char *dir,
                                   const bdb_bucket_writer_options *opts, bdb_bucket_writer **out)
{
    return bdbi_bucket_writer_open_ext(env, dir, opts, NULL, out);
}

int bdbi_bucket_writer_open_ext(bdb_env *env, const char *dir,
                                const bdb_bucket_writer_options *opts, const bdbi_writer_ext *ext,
                                bdb_bucket_writer **out)
{
    bdb_bucket_writer_options defaults;
    *out = NULL;
    if (!opts) {
        bdb_bucket_writer_options_init(&defaults);
        opts = &defaults;
    }
    if (opts->hot != 0 && opts->hot != 1)
        return bdbi_err(BDB_EINVAL, "option hot = %d must be 0 or 1", opts->hot);
    if (opts->hot && opts->protocol < BDB_PROTOCOL_META_EXT_V1)
        return bdbi_err(BDB_EPROTOCOL, "option protocol = %u: hot-archive buckets need protocol %d",
                        opts->protocol, BDB_PROTOCOL_META_EXT_V1);
    bdb_bucket_writer *w = bdbi_calloc(env, BDB_MEM_BUCKET, 1, sizeof *w);
    if (!w) return BDB_ENOMEM;
    w->env = env;
    w->opts = *opts;
    if (ext) w->ext = *ext;
    w->dir = bdbi_strdup(env, BDB_MEM_BUCKET, dir);
    char path[PATH_MAX];
    int rc = w->dir ? 0 : BDB_ENOMEM;
    if (!rc && snprintf(path, sizeof path, "%s/bucket-pending.xdr", dir) >= (int)sizeof path)
        rc = bdbi_err(BDB_EINVAL, "bucket directory path too long: %s", dir);
    int fl = w->ext.hold ? 0 : BDBI_FS_NOREPLACE;
    if (!opts->fsync) fl |= BDBI_FS_NOSYNC;
    if (w->ext.no_dirsync) fl |= BDBI_FS_NODIRSYNC;
    if (!rc) rc = bdbi_file_create(env, path, fl, 0, &w->file);
    if (!rc) rc = bdbi_sha256_init(&w->sha);
    if (!rc) {
        w->starts = bdbi_calloc(env, BDB_MEM_BUCKET, w->ext.n_bounds + 2, sizeof *w->starts);
        w->xxh = XXH3_createState();
        if (!w->starts || !w->xxh)
            rc = BDB_ENOMEM;
        else
            XXH3_64bits_reset(w->xxh);
    }
    if (rc) {
        bdbi_file_abort(w->file);
        bdbi_sha256_discard(&w->sha);
        writer_free(w);
        return rc;
    }
    if (opts->protocol >= BDB_PROTOCOL_INIT_META && !w->ext.no_meta) {
        /* the METAENTRY goes through the buffer like any record */
        uint8_t meta[16];
        size_t n = meta_record(opts->hot, opts->protocol, meta);
        if ((rc = reserve(env, &w->buf, &w->buf_cap, n))) {
            bdb_bucket_writer_abort(w);
            return rc;
        }
        memcpy(w->buf, meta, n);
        w->buf_len = n;
        w->sk_len = 0;
        w->has_buf = w->buf_is_meta = 1;
        w->counters.output_iterator_buffer_updates++;
    }
    *out = w;
    return 0;
}

/* Notes where the ranges of the bounds up to `sk` start: at the current
 * end of the file, before the record with key `sk` is written. */
static void note_bounds(bdb_bucket_writer *w, const uint8_t *sk, size_t sk_len)
{
    const bdb_bytes *b = w->ext.bounds;
    while (w->next_bound < w->ext.n_bounds &&
           bdbi_sk_cmp(sk, sk_len, b[w->next_bound].data, b[w->next_bound].len) >= 0)
        w->starts[++w->next_bound] = w->bytes;
}

/* Appends the buffered record (mark + body) to the file and the hashes. */
static int write_buffered(bdb_bucket_writer *w)
{
    uint8_t mark[BDBI_RECORD_MARK_LEN];
    bdbi_record_mark(mark, (uint32_t)w->buf_len);
    if (!w->buf_is_meta) {
        note_bounds(w, w->sk, w->sk_len);
        if (w->ext.index) {
            int rc = bdbi_index_builder_add(w->ext.index, w->bytes, w->buf, w->buf_len, w->sk,
                                            w->sk_len);
            if (rc) return rc;
        }
    }
    bdbi_sha256_update(&w->sha, mark, sizeof mark);
    bdbi_sha256_update(&w->sha, w->buf, w->buf_len);
    XXH3_64bits_update(w->xxh, mark, sizeof mark);
    XXH3_64bits_update(w->xxh, w->buf, w->buf_len);
    int rc = bdbi_file_write(w->file, mark, sizeof mark);
    if (!rc) rc = bdbi_file_write(w->file, w->buf, w->buf_len);
    if (rc) return rc;
    w->records++;
    w->bytes += sizeof mark + w->buf_len;
    if (w->buf_is_meta) w->starts[0] = w->meta_bytes = w->bytes;
    w->has_buf = w->buf_is_meta = 0;
    return 0;
}

int bdbi_bucket_check_legal(int hot, uint32_t protocol, int32_t type, const uint8_t *rec,
                            size_t len, int code, const char *label, int64_t offset)
{
    if (type == BDB_METAENTRY)
        return bdbi_err_at(code, label, offset, "METAENTRY is only allowed as the first record");
    if (hot) {
        if (type != BDB_HOT_ARCHIVED) return 0;
        if (len < 12)
            return bdbi_err_at(code, label, offset, "truncated HOT_ARCHIVE_ARCHIVED record");
        /* only persistent Soroban entries are archived */
        int32_t et = (int32_t)bdbi_be32(rec + 8);
        if (et == BDB_CONTRACT_CODE) return 0;
        if (et == BDB_CONTRACT_DATA) {
            bdbi_key_span s;
            int rc = bdbi_entry_key_span(rec + 4, len - 4, label, offset + 4, &s);
            if (rc) return rc;
            if (bdbi_be32(s.tail + s.tail_len - 4) == 1) return 0; /* PERSISTENT */
        }
        return bdbi_err_at(code, label, offset,
                           "hot-archive buckets hold only persistent CONTRACT_DATA and "
                           "CONTRACT_CODE entries, not %s%s",
                           et == BDB_CONTRACT_DATA ? "TEMPORARY " : "", bdb_entry_type_name(et));
    }
    if (type == BDB_INITENTRY && protocol < BDB_PROTOCOL_INIT_META)
        return bdbi_err_at(code, label, offset,
                           "INITENTRY in a bucket of protocol %u (INITENTRY needs protocol %d)",
                           protocol, BDB_PROTOCOL_INIT_META);
    return 0;
}

int bdbi_bucket_writer_put_as(bdb_bucket_writer *w, int32_t type, const uint8_t *rec, size_t len,
                              const uint8_t *sk, size_t sk_len)
{
    if (w->failed) return bdbi_err(BDB_EINVAL, "bucket writer already failed");
    int rc = bdbi_bucket_check_legal(w->opts.hot, w->opts.protocol, type, rec, len, BDB_EPROTOCOL,
                                     "bucket writer", -1);
    if (rc) return w->failed = 1, rc;
    if (!w->opts.keep_tombstones && bdbi_record_is_key(w->opts.hot, type)) {
        w->counters.output_iterator_tombstone_elisions++;
        return 0;
    }
    if (w->has_buf) {
        int c = w->buf_is_meta ? 1 : bdbi_sk_cmp(sk, sk_len, w->sk, w->sk_len);
        if (c < 0) {
            w->failed = 1;
            return bdbi_err(BDB_EINVAL, "bucket writer: records out of key order");
        }
        if (c > 0) {
            if ((rc = write_buffered(w))) return w->failed = 1, rc;
            w->counters.output_iterator_actual_writes++;
        }
    }
    if ((rc = reserve(w->env, &w->buf, &w->buf_cap, len)) ||
        (rc = reserve(w->env, &w->sk, &w->sk_cap, sk_len)))
        return w->failed = 1, rc;
    memcpy(w->buf, rec, len);
    bdbi_put_be32(w->buf, (uint32_t)type);
    memcpy(w->sk, sk, sk_len);
    w->buf_len = len;
    w->sk_len = sk_len;
    w->has_buf = 1;
    w->buf_is_meta = 0;
    w->counters.output_iterator_buffer_updates++;
    return 0;
}

BDB_API int bdb_bucket_writer_put(bdb_bucket_writer *w, const void *record, size_t len)
{
    bdb_record r;
    int rc = bdbi_record_parse(record, len, w->opts.hot, "record", 0, &r);
    if (rc) return rc;
    if (r.type == BDB_METAENTRY) {
        w->failed = 1;
        return bdbi_err(BDB_EPROTOCOL, "the writer writes the METAENTRY itself");
    }
    uint8_t small[512];
    size_t cap = BDB_SORT_KEY_BOUND(len), n;
    uint8_t *sk = cap <= sizeof small ? small : bdbi_malloc(w->env, BDB_MEM_BUCKET, cap);
    if (!sk) return BDB_ENOMEM;
    bdbi_sk_out o = {sk, 0, cap};
    rc = bdbi_record_sort_key(w->opts.hot, r.type, r.body, r.body_len, "record", 4, &o);
    n = o.len;
    if (!rc) rc = bdbi_bucket_writer_put_as(w, r.type, record, len, sk, n);
    if (sk != small) bdbi_free(w->env, BDB_MEM_BUCKET, sk, cap);
    return rc;
}

BDB_API void bdb_bucket_writer_counters(const bdb_bucket_writer *w, bdb_merge_counters *c)
{
    c->output_iterator_tombstone_elisions += w->counters.output_iterator_tombstone_elisions;
    c->output_iterator_buffer_updates += w->counters.output_iterator_buffer_updates;
    c->output_iterator_actual_writes += w->counters.output_iterator_actual_writes;
}

BDB_API void bdb_bucket_writer_abort(bdb_bucket_writer *w)
{
    if (!w) return;
    bdbi_file_abort(w->file);
    bdbi_sha256_discard(&w->sha);
    writer_free(w);
}

/* Hashes the file at `path` and compares with `want`. */
static int same_content(bdb_env *env, const char *path, const uint8_t want[BDB_HASH_LEN])
{
    bdbi_map m;
    int rc = bdbi_mmap_file(env, path, BDBI_ADV_SEQUENTIAL, &m);
    if (rc) return rc;
    uint8_t got[BDB_HASH_LEN];
    rc = bdbi_sha256_digest(m.data ? m.data : (const uint8_t *)"", m.len, got);
    bdbi_munmap(&m);
    if (rc) return rc;
    if (memcmp(got, want, BDB_HASH_LEN) != 0)
        return bdbi_err_at(BDB_ECORRUPT, path, -1,
                           "an existing bucket file does not hash to its name");
    return 0;
}

BDB_API int bdb_bucket_writer_finish(bdb_bucket_writer *w, bdb_bucket_info *out)
{
    return bdbi_bucket_writer_finish_ext(w, out, NULL);
}

int bdbi_bucket_writer_finish_ext(bdb_bucket_writer *w, bdb_bucket_info *out,
                                  bdbi_writer_result *res)
{
    memset(out, 0, sizeof *out);
    if (res) {
        uint64_t *starts = res->starts;
        memset(res, 0, sizeof *res);
        res->starts = starts;
    }
    if (w->failed) {
        bdb_bucket_writer_abort(w);
        return bdbi_err(BDB_EINVAL, "bucket writer already failed");
    }
    int rc = w->has_buf ? write_buffered(w) : 0;
    if (rc || w->records == 0) {
        /* nothing written: the empty bucket, which has no file */
        bdb_bucket_writer_abort(w);
        if (!rc) out->empty = 1;
        return rc;
    }
    bdbi_sha256_final(&w->sha, out->hash);
    out->protocol = w->opts.protocol >= BDB_PROTOCOL_INIT_META ? w->opts.protocol : 0;
    out->records = w->records;
    out->bytes = w->bytes;
    if (res && res->starts) {
        while (w->next_bound < w->ext.n_bounds) w->starts[++w->next_bound] = w->bytes;
        w->starts[w->ext.n_bounds + 1] = w->bytes;
        memcpy(res->starts, w->starts, (w->ext.n_bounds + 2) * sizeof *w->starts);
        res->xxh = XXH3_64bits_digest(w->xxh);
        res->meta_bytes = w->meta_bytes;
    }
    if (w->ext.hold) {
        /* a piece: the caller names and commits it once the bucket is known */
        rc = bdbi_file_flush(w->file);
        if (res && !rc)
            res->file = w->file;
        else
            bdbi_file_abort(w->file);
        w->file = NULL;
        writer_free(w);
        return rc;
    }
    bdb_bucket_name(out->hash, out->name);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", w->dir, out->name);
    rc = bdbi_file_set_path(w->file, path);
    if (!rc) {
        rc = bdbi_file_commit(w->file);
        w->file = NULL;
        if (rc == BDB_EEXIST) rc = same_content(w->env, path, out->hash); /* H16 */
    }
    bdbi_file_abort(w->file);
    writer_free(w);
    return rc;
}
