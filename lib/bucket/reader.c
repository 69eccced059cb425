/* The bucket reader: a forward iterator over a memory-mapped bucket file
 * that checks everything stellar-core's BucketInputIterator checks, plus
 * that keys strictly increase. */
#include "config.h"

#include "bucket.h"

#include "core/alloc.h"
#include "core/env.h"
#include "core/error.h"
#include "core/fs.h"
#include "xdr/ledger.h"
#include "xdr/record.h"

struct bdb_bucket_reader {
    bdb_env *env;
    char *path;
    int hot, flags;
    bdbi_map map;
    int owns_map;    /* 0 for readers over a caller's buffer */
    size_t pos, end; /* the bytes read: [pos, end) of the mapping */
    uint32_t protocol;
    /* sort keys of the current and the previous entry, swapped each step */
    uint8_t *sk[2];
    size_t sk_len[2], sk_cap[2];
    int cur;         /* index of the current entry's key; -1 before the first */
    size_t released; /* mapped bytes before this were handed back (DONTNEED) */
};

/* Mapped pages of a file read front to back are dropped from the
 * process behind the read position, so reading a bucket of any size costs
 * a bounded resident set (the page cache keeps the data). */
#define RELEASE_CHUNK ((size_t)2 << 20)

static void reader_free(bdb_bucket_reader *r)
{
    bdb_env *env = r->env;
    if (r->owns_map) bdbi_munmap(&r->map);
    for (int i = 0; i < 2; i++) bdbi_free(env, BDB_MEM_BUCKET, r->sk[i], r->sk_cap[i]);
    bdbi_strfree(env, BDB_MEM_BUCKET, r->path);
    bdbi_free(env, BDB_MEM_BUCKET, r, sizeof *r);
}

BDB_API void bdb_bucket_reader_close(bdb_bucket_reader *r)
{
    if (r) reader_free(r);
}

BDB_API uint32_t bdb_bucket_reader_protocol(const bdb_bucket_reader *r)
{
    return r->protocol;
}

/* Reads the METAENTRY if the file starts with one. */
static int read_meta(bdb_bucket_reader *r)
{
    r->end = r->map.len;
    if (r->map.len == 0) return 0;
    size_t pos = 0;
    const uint8_t *body;
    size_t len;
    int rc = bdbi_record_next(r->map.data, r->map.len, &pos, r->path, 0, &body, &len);
    if (rc) return rc;
    if (len < 4 || (int32_t)bdbi_be32(body) != BDB_METAENTRY) return 0;
    bdb_record m;
    if ((rc = bdbi_record_parse(body, len, r->hot, r->path, 4, &m))) return rc;
    if (m.ledger_version < BDB_PROTOCOL_INIT_META)
        return bdbi_err_at(BDB_EFORMAT, r->path, 0,
                           "METAENTRY of protocol %u: buckets have METAENTRY from protocol %d",
                           m.ledger_version, BDB_PROTOCOL_INIT_META);
    if (r->hot && m.list_type != BDB_LIST_HOT_ARCHIVE)
        return bdbi_err_at(BDB_EFORMAT, r->path, 0,
                           "hot-archive bucket without a HOT_ARCHIVE METAENTRY (ext v1 expected)");
    if (!r->hot && m.list_type == BDB_LIST_HOT_ARCHIVE)
        return bdbi_err_at(BDB_EFORMAT, r->path, 0, "live bucket with a HOT_ARCHIVE METAENTRY");
    r->protocol = m.ledger_version;
    r->pos = pos;
    return 0;
}

static bdb_bucket_reader *reader_new(bdb_env *env, const char *label, int hot, int flags)
{
    bdb_bucket_reader *r = bdbi_calloc(env, BDB_MEM_BUCKET, 1, sizeof *r);
    if (!r) return NULL;
    r->env = env;
    r->hot = hot ? 1 : 0;
    r->flags = flags;
    r->cur = -1;
    r->path = bdbi_strdup(env, BDB_MEM_BUCKET, label);
    if (!r->path) {
        reader_free(r);
        return NULL;
    }
    return r;
}

/* Reads the METAENTRY of a reader whose bytes are in place (rc: how
 * placing them went) and hands it out, or frees it. */
static int reader_start(bdb_bucket_reader *r, int rc, bdb_bucket_reader **out)
{
    if (!rc) rc = read_meta(r);
    if (rc) {
        reader_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

BDB_API int bdb_bucket_reader_open(bdb_env *env, const char *path, int hot, int flags,
                                   bdb_bucket_reader **out)
{
    *out = NULL;
    bdb_bucket_reader *r = reader_new(env, path, hot, flags);
    if (!r) return BDB_ENOMEM;
    r->owns_map = 1;
    return reader_start(r, bdbi_mmap_file(env, path, BDBI_ADV_SEQUENTIAL, &r->map), out);
}

int bdbi_bucket_reader_open_range(bdb_env *env, const char *path, uint64_t begin, uint64_t end,
                                  int hot, uint32_t protocol, int flags, bdb_bucket_reader **out)
{
    *out = NULL;
    bdb_bucket_reader *r = reader_new(env, path, hot, flags);
    if (!r) return BDB_ENOMEM;
    r->owns_map = 1;
    r->protocol = protocol;
    int rc = bdbi_mmap_file(env, path, BDBI_ADV_SEQUENTIAL, &r->map);
    if (!rc && (begin > end || end > r->map.len))
        rc = bdbi_err_at(BDB_ECORRUPT, path, (int64_t)end,
                         "range [%llu, %llu) is outside the file (%zu bytes)",
                         (unsigned long long)begin, (unsigned long long)end, r->map.len);
    if (rc) {
        reader_free(r);
        return rc;
    }
    r->pos = r->released = (size_t)begin & ~(RELEASE_CHUNK - 1);
    r->pos = (size_t)begin;
    r->end = (size_t)end;
    *out = r;
    return 0;
}

int bdbi_bucket_reader_open_mem(bdb_env *env, const char *label, const void *data, size_t len,
                                int hot, int flags, bdb_bucket_reader **out)
{
    *out = NULL;
    bdb_bucket_reader *r = reader_new(env, label, hot, flags);
    if (!r) return BDB_ENOMEM;
    r->map.data = len ? data : NULL;
    r->map.len = len;
    return reader_start(r, 0, out);
}

BDB_API int bdb_bucket_reader_next(bdb_bucket_reader *r, bdb_bucket_item *it)
{
    if (r->pos >= r->end) return 0;
    size_t at = r->pos, pos = at;
    const uint8_t *body;
    size_t len;
    int rc = bdbi_record_next(r->map.data, r->end, &pos, r->path, 0, &body, &len);
    if (rc) return rc;
    int64_t off = (int64_t)at + BDBI_RECORD_MARK_LEN;
    bdb_record rec;
    if (r->flags & BDB_READ_TRUSTED) {
        if (len < 8) return bdbi_err_at(BDB_EFORMAT, r->path, off, "record of %zu bytes", len);
        rec.type = (int32_t)bdbi_be32(body);
        rec.body = body + 4;
        rec.body_len = len - 4;
        int32_t max = r->hot ? BDB_HOT_LIVE : BDB_INITENTRY;
        if (rec.type < BDB_METAENTRY || rec.type > max)
            return bdbi_err_at(BDB_EFORMAT, r->path, off, "%d is not a valid record type",
                               rec.type);
    } else if ((rc = bdbi_record_parse(body, len, r->hot, r->path, off, &rec))) {
        return rc;
    }
    if ((rc = bdbi_bucket_check_legal(r->hot, r->protocol, rec.type, body, len, BDB_EFORMAT,
                                      r->path, off)))
        return rc;

    /* the sort key, into the buffer not holding the previous key */
    int slot = r->cur == 0 ? 1 : 0;
    size_t need = BDB_SORT_KEY_BOUND(len);
    if (need > r->sk_cap[slot]) {
        uint8_t *p = bdbi_realloc(r->env, BDB_MEM_BUCKET, r->sk[slot], r->sk_cap[slot], need);
        if (!p) return BDB_ENOMEM;
        r->sk[slot] = p;
        r->sk_cap[slot] = need;
    }
    bdbi_sk_out o = {r->sk[slot], 0, r->sk_cap[slot]};
    int is_key = bdbi_record_is_key(r->hot, rec.type);
    if ((rc = bdbi_record_sort_key(r->hot, rec.type, rec.body, rec.body_len, r->path, off + 4, &o)))
        return rc;
    if (r->cur >= 0 && bdbi_sk_cmp(o.p, o.len, r->sk[r->cur], r->sk_len[r->cur]) <= 0)
        return bdbi_err_at(BDB_EFORMAT, r->path, (int64_t)at,
                           "key not strictly greater than the previous record's key");
    r->sk_len[slot] = o.len;
    r->cur = slot;
    r->pos = pos;
    if (r->owns_map && at - r->released >= 2 * RELEASE_CHUNK) {
        /* keep the chunk holding the current record mapped */
        size_t upto = (at / RELEASE_CHUNK - 1) * RELEASE_CHUNK;
        bdbi_map_advise(&r->map, r->released, upto - r->released, BDBI_ADV_DONTNEED);
        r->released = upto;
    }
    it->type = rec.type;
    it->entry_type = (int32_t)bdbi_be32(is_key ? rec.body : rec.body + 4);
    it->record = body;
    it->record_len = len;
    it->offset = at;
    it->sort_key = o.p;
    it->sort_key_len = o.len;
    return 1;
}
