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
    bdbi_map map;
    int owns_map;    /* 0 for readers over a caller's buffer */
    size_t pos, end; /* the bytes read: [pos, end) of the mapping */
    bdbi_checker ck; /* hot, protocol and the previous key */
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
    bdbi_checker_free(&r->ck);
    bdbi_strfree(env, BDB_MEM_BUCKET, r->path);
    bdbi_free(env, BDB_MEM_BUCKET, r, sizeof *r);
}

BDB_API void bdb_bucket_reader_close(bdb_bucket_reader *r)
{
    if (r) reader_free(r);
}

BDB_API uint32_t bdb_bucket_reader_protocol(const bdb_bucket_reader *r)
{
    return r->ck.protocol;
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
    bdb_record m;
    int is_meta;
    if ((rc = bdbi_checker_meta(&r->ck, body, len, &m, &is_meta))) return rc;
    if (is_meta) r->pos = pos;
    return 0;
}

static bdb_bucket_reader *reader_new(bdb_env *env, const char *label, int hot, int flags)
{
    bdb_bucket_reader *r = bdbi_calloc(env, BDB_MEM_BUCKET, 1, sizeof *r);
    if (!r) return NULL;
    r->env = env;
    r->path = bdbi_strdup(env, BDB_MEM_BUCKET, label);
    bdbi_checker_init(&r->ck, env, r->path, hot ? 1 : 0, flags);
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
    r->ck.protocol = protocol;
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
    if ((rc = bdbi_checker_entry(&r->ck, body, len, at, it, NULL))) return rc;
    r->pos = pos;
    if (r->owns_map && at - r->released >= 2 * RELEASE_CHUNK) {
        /* keep the chunk holding the current record mapped */
        size_t upto = (at / RELEASE_CHUNK - 1) * RELEASE_CHUNK;
        bdbi_map_advise(&r->map, r->released, upto - r->released, BDBI_ADV_DONTNEED);
        r->released = upto;
    }
    return 1;
}
