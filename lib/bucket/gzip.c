/* Streaming verification and gzip of bucket files. History archives store
 * buckets as gzip of the canonical bytes; the hash is always over the
 * uncompressed bytes. Every pass is streaming with fixed buffers, so memory
 * does not grow with the bucket, and checks the record framing on the way. */
#include "config.h"

#include "bucket.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/env.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/sha256.h"
#include "xdr/record.h"
#include "xdr/schema.h"

#define CHUNK ((size_t)1 << 20)
/* stellar-core refuses archive buckets above 100 GiB */
#define MAX_BUCKET_BYTES ((uint64_t)100 << 30)

/* Hashes a stream of bucket bytes and follows its record marks. */
typedef struct framer {
    bdbi_sha256 sha;
    uint64_t pos;       /* bytes seen */
    uint64_t next_mark; /* offset of the next record mark */
    uint8_t mark[4];
    int have; /* bytes of the current mark collected */
    uint64_t records;
    const char *label;
} framer;

static int framer_feed(framer *f, const uint8_t *p, size_t n)
{
    bdbi_sha256_update(&f->sha, p, n);
    uint64_t end = f->pos + n;
    while (f->next_mark + (uint64_t)f->have < end) {
        /* collect the mark's bytes, which may straddle chunks */
        while (f->have < 4 && f->next_mark + (uint64_t)f->have < end) {
            f->mark[f->have] = p[f->next_mark + (uint64_t)f->have - f->pos];
            f->have++;
        }
        if (f->have < 4) break;
        uint32_t m = bdbi_be32(f->mark);
        if (!(m & BDBI_RECORD_LAST_FRAGMENT) || (m & 3))
            return bdbi_err_at(BDB_EFORMAT, f->label, (int64_t)f->next_mark,
                               "bad record mark %#010x", m);
        f->next_mark += 4 + (m & ~BDBI_RECORD_LAST_FRAGMENT);
        f->have = 0;
        f->records++;
    }
    f->pos = end;
    if (f->pos > MAX_BUCKET_BYTES)
        return bdbi_err_at(BDB_EFORMAT, f->label, -1, "bucket larger than 100 GiB");
    return 0;
}

static int framer_end(framer *f, uint8_t hash[BDB_HASH_LEN])
{
    bdbi_sha256_final(&f->sha, hash);
    if (f->have || f->next_mark != f->pos)
        return bdbi_err_at(BDB_EFORMAT, f->label, (int64_t)(f->next_mark),
                           "truncated: the record starting here ends after the %llu bytes present",
                           (unsigned long long)f->pos);
    return 0;
}

/* Reads `path` in chunks and feeds `sink`; stops at the first error. */
static int read_chunks(bdb_env *env, const char *path, uint8_t *buf,
                       int (*sink)(void *ctx, const uint8_t *p, size_t n), void *ctx)
{
    (void)env;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return bdbi_err_sys(errno, path, "cannot open file");
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    int rc = 0;
    for (;;) {
        ssize_t r = read(fd, buf, CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = bdbi_err_sys(errno, path, "read failed");
            break;
        }
        if (r == 0) break;
        if ((rc = sink(ctx, buf, (size_t)r))) break;
    }
    close(fd);
    return rc;
}

static int feed_framer(void *ctx, const uint8_t *p, size_t n)
{
    return framer_feed(ctx, p, n);
}

BDB_API int bdb_bucket_verify(bdb_env *env, const char *path, const uint8_t expected[BDB_HASH_LEN],
                              uint64_t *bytes, uint64_t *records)
{
    uint8_t *buf = bdbi_malloc(env, BDB_MEM_BUCKET, CHUNK);
    if (!buf) return BDB_ENOMEM;
    framer f = {.label = path};
    int rc = bdbi_sha256_init(&f.sha);
    if (!rc) {
        rc = read_chunks(env, path, buf, feed_framer, &f);
        uint8_t got[BDB_HASH_LEN];
        if (rc)
            bdbi_sha256_discard(&f.sha);
        else
            rc = framer_end(&f, got);
        if (!rc && memcmp(got, expected, BDB_HASH_LEN) != 0)
            rc = bdbi_err_at(BDB_ECORRUPT, path, -1, "SHA-256 does not match the expected hash");
    }
    bdbi_free(env, BDB_MEM_BUCKET, buf, CHUNK);
    if (bytes) *bytes = f.pos;
    if (records) *records = f.records;
    return rc;
}

/* ------------------------------------------------------------------ */
/* gunzip                                                             */
/* ------------------------------------------------------------------ */

typedef struct gunzip {
    z_stream z;
    framer f;
    bdbi_file *out;
    uint8_t *obuf;
    int done; /* end of the gzip stream seen */
    const char *gz_path;
} gunzip;

static int gunzip_feed(void *ctx, const uint8_t *p, size_t n)
{
    gunzip *g = ctx;
    if (g->done)
        return bdbi_err_at(BDB_EFORMAT, g->gz_path, (int64_t)g->z.total_in,
                           "data after the end of the gzip stream");
    g->z.next_in = (Bytef *)p;
    g->z.avail_in = (uInt)n;
    while (g->z.avail_in && !g->done) {
        g->z.next_out = g->obuf;
        g->z.avail_out = (uInt)CHUNK;
        int zr = inflate(&g->z, Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_STREAM_END)
            return bdbi_err_at(BDB_EFORMAT, g->gz_path, (int64_t)g->z.total_in,
                               "not a valid gzip stream (%s)", g->z.msg ? g->z.msg : "zlib error");
        size_t got = CHUNK - g->z.avail_out;
        int rc = framer_feed(&g->f, g->obuf, got);
        if (!rc) rc = bdbi_file_write(g->out, g->obuf, got);
        if (rc) return rc;
        if (zr == Z_STREAM_END) g->done = 1;
    }
    if (g->done && g->z.avail_in)
        return bdbi_err_at(BDB_EFORMAT, g->gz_path, (int64_t)g->z.total_in,
                           "data after the end of the gzip stream");
    return 0;
}

BDB_API int bdb_bucket_gunzip(bdb_env *env, const char *gz_path, const char *out_path, int fsync,
                              uint8_t hash[BDB_HASH_LEN], uint64_t *bytes)
{
    gunzip g;
    memset(&g, 0, sizeof g);
    g.gz_path = gz_path;
    g.f.label = out_path;
    uint8_t *ibuf = bdbi_malloc(env, BDB_MEM_BUCKET, CHUNK);
    g.obuf = bdbi_malloc(env, BDB_MEM_BUCKET, CHUNK);
    int rc = ibuf && g.obuf ? 0 : BDB_ENOMEM;
    int zinit = 0, shainit = 0;
    if (!rc && inflateInit2(&g.z, 31) != Z_OK) /* 31: gzip wrapper only */
        rc = bdbi_err(BDB_ENOMEM, "zlib: cannot start inflating %s", gz_path);
    zinit = !rc;
    if (!rc) rc = bdbi_sha256_init(&g.f.sha);
    shainit = !rc;
    if (!rc) rc = bdbi_file_create(env, out_path, fsync ? 0 : BDBI_FS_NOSYNC, 0, &g.out);
    if (!rc) rc = read_chunks(env, gz_path, ibuf, gunzip_feed, &g);
    if (!rc && !g.done)
        rc = bdbi_err_at(BDB_EFORMAT, gz_path, (int64_t)g.z.total_in, "truncated gzip stream");
    if (shainit) {
        uint8_t h[BDB_HASH_LEN];
        int frc = framer_end(&g.f, h);
        if (!rc) rc = frc;
        if (!rc) memcpy(hash, h, BDB_HASH_LEN);
    }
    if (!rc)
        rc = bdbi_file_commit(g.out);
    else
        bdbi_file_abort(g.out);
    if (bytes) *bytes = g.f.pos;
    if (zinit) inflateEnd(&g.z);
    bdbi_free(env, BDB_MEM_BUCKET, ibuf, CHUNK);
    bdbi_free(env, BDB_MEM_BUCKET, g.obuf, CHUNK);
    return rc;
}

/* ------------------------------------------------------------------ */
/* gzip                                                               */
/* ------------------------------------------------------------------ */

typedef struct gzipper {
    z_stream z;
    bdbi_file *out;
    uint8_t *obuf;
} gzipper;

static int deflate_some(gzipper *g, int flush)
{
    int zr;
    do {
        g->z.next_out = g->obuf;
        g->z.avail_out = (uInt)CHUNK;
        zr = deflate(&g->z, flush);
        if (zr == Z_STREAM_ERROR) return bdbi_err(BDB_EINTERNAL, "zlib deflate failed");
        int rc = bdbi_file_write(g->out, g->obuf, CHUNK - g->z.avail_out);
        if (rc) return rc;
    } while (g->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
    return 0;
}

static int gzip_feed(void *ctx, const uint8_t *p, size_t n)
{
    gzipper *g = ctx;
    g->z.next_in = (Bytef *)p;
    g->z.avail_in = (uInt)n;
    return deflate_some(g, Z_NO_FLUSH);
}

/* Feeds the gzip stream and, when checking, the framer that hashes the
 * uncompressed bytes. */
typedef struct gzip_sink {
    gzipper *g;
    framer *f; /* NULL: no check */
} gzip_sink;

static int gzip_check_feed(void *ctx, const uint8_t *p, size_t n)
{
    gzip_sink *k = ctx;
    int rc = k->f ? framer_feed(k->f, p, n) : 0;
    return rc ? rc : gzip_feed(k->g, p, n);
}

int bdbi_bucket_gzip_files(bdb_env *env, const char *const *paths, size_t n,
                           const uint8_t expected[BDB_HASH_LEN], const char *gz_path, int level,
                           int fsync)
{
    if (level < 1 || level > 9) return bdbi_err(BDB_EINVAL, "gzip level %d is not 1..9", level);
    gzipper g;
    memset(&g, 0, sizeof g);
    framer f = {.label = n ? paths[0] : gz_path};
    int hashing = 0, rc = 0;
    if (expected && !(rc = bdbi_sha256_init(&f.sha))) hashing = 1;
    gzip_sink sink = {&g, hashing ? &f : NULL};
    uint8_t *ibuf = bdbi_malloc(env, BDB_MEM_BUCKET, CHUNK);
    g.obuf = bdbi_malloc(env, BDB_MEM_BUCKET, CHUNK);
    if (!rc && (!ibuf || !g.obuf)) rc = BDB_ENOMEM;
    int zinit = 0;
    if (!rc && deflateInit2(&g.z, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        rc = bdbi_err(BDB_ENOMEM, "zlib: cannot start deflating %s", gz_path);
    zinit = !rc;
    if (!rc) rc = bdbi_file_create(env, gz_path, fsync ? 0 : BDBI_FS_NOSYNC, 0, &g.out);
    for (size_t i = 0; !rc && i < n; i++)
        rc = read_chunks(env, paths[i], ibuf, gzip_check_feed, &sink);
    if (!rc) rc = deflate_some(&g, Z_FINISH);
    if (!rc && hashing) {
        uint8_t got[BDB_HASH_LEN];
        hashing = 0;
        rc = framer_end(&f, got);
        if (!rc && memcmp(got, expected, BDB_HASH_LEN) != 0) {
            char name[BDB_BUCKET_NAME_LEN];
            bdb_bucket_name(expected, name);
            rc = bdbi_err_at(BDB_ECORRUPT, paths[0], -1,
                             "the files of bucket %s do not hash to its name", name);
        }
    }
    if (!rc)
        rc = bdbi_file_commit(g.out);
    else
        bdbi_file_abort(g.out);
    if (hashing) bdbi_sha256_discard(&f.sha);
    if (zinit) deflateEnd(&g.z);
    if (ibuf) bdbi_free(env, BDB_MEM_BUCKET, ibuf, CHUNK);
    if (g.obuf) bdbi_free(env, BDB_MEM_BUCKET, g.obuf, CHUNK);
    return rc;
}

BDB_API int bdb_bucket_gzip(bdb_env *env, const char *path, const char *gz_path, int level,
                            int fsync)
{
    return bdbi_bucket_gzip_files(env, &path, 1, NULL, gz_path, level, fsync);
}
