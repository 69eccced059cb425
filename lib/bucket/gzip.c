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

BDB_API int bdb_bucket_verify(bdb_env *env, const char *path, const uint8_t expected[BDB_HASH_LEN],
                              uint64_t *bytes, uint64_t *records)
{
    bdbi_bstream *s;
    uint64_t n = 0;
    int rc = bdbi_bstream_open(env, path, -1, 0, &s);
    if (!rc) rc = bdbi_bstream_drain(s, &n);
    uint8_t got[BDB_HASH_LEN];
    if (!rc) rc = bdbi_bstream_hash(s, got);
    if (!rc && memcmp(got, expected, BDB_HASH_LEN) != 0)
        rc = bdbi_err_at(BDB_ECORRUPT, path, -1, "SHA-256 does not match the expected hash");
    if (bytes) *bytes = s ? bdbi_bstream_bytes(s) : 0;
    if (records) *records = n;
    bdbi_bstream_close(s);
    return rc;
}

static int write_tap(void *ctx, const uint8_t *p, size_t n)
{
    return bdbi_file_write(ctx, p, n);
}

BDB_API int bdb_bucket_gunzip(bdb_env *env, const char *gz_path, const char *out_path, int fsync,
                              uint8_t hash[BDB_HASH_LEN], uint64_t *bytes)
{
    bdbi_bstream *s;
    bdbi_file *out = NULL;
    int rc = bdbi_bstream_open(env, gz_path, -1, 0, &s);
    if (!rc && !bdbi_bstream_is_gzip(s))
        rc = bdbi_err_at(BDB_EFORMAT, gz_path, 0, "not gzip data (no 1f 8b magic)");
    if (!rc) rc = bdbi_file_create(env, out_path, fsync ? 0 : BDBI_FS_NOSYNC, 0, &out);
    if (!rc) {
        bdbi_bstream_tap(s, write_tap, out);
        rc = bdbi_bstream_drain(s, NULL);
    }
    if (!rc) rc = bdbi_bstream_hash(s, hash);
    if (bytes) *bytes = s ? bdbi_bstream_bytes(s) : 0;
    if (!rc)
        rc = bdbi_file_commit(out);
    else
        bdbi_file_abort(out);
    bdbi_bstream_close(s);
    return rc;
}

/* Reads `path` in chunks and feeds `sink`; stops at the first error. */
static int read_chunks(const char *path, uint8_t *buf,
                       int (*sink)(void *ctx, const uint8_t *p, size_t n), void *ctx)
{
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
    bdbi_framer *f; /* NULL: no check */
    bdbi_sha256 *sha;
} gzip_sink;

static int gzip_check_feed(void *ctx, const uint8_t *p, size_t n)
{
    gzip_sink *k = ctx;
    int rc = 0;
    if (k->f) {
        bdbi_sha256_update(k->sha, p, n);
        rc = bdbi_framer_feed(k->f, p, n);
    }
    return rc ? rc : gzip_feed(k->g, p, n);
}

int bdbi_bucket_gzip_files(bdb_env *env, const char *const *paths, size_t n,
                           const uint8_t expected[BDB_HASH_LEN], const char *gz_path, int level,
                           int fsync)
{
    if (level < 1 || level > 9) return bdbi_err(BDB_EINVAL, "gzip level %d is not 1..9", level);
    gzipper g;
    memset(&g, 0, sizeof g);
    bdbi_framer f = {.label = n ? paths[0] : gz_path};
    bdbi_sha256 sha;
    int hashing = 0, rc = 0;
    if (expected && !(rc = bdbi_sha256_init(&sha))) hashing = 1;
    gzip_sink sink = {&g, hashing ? &f : NULL, &sha};
    uint8_t *ibuf = bdbi_malloc(env, BDB_MEM_BUCKET, CHUNK);
    g.obuf = bdbi_malloc(env, BDB_MEM_BUCKET, CHUNK);
    if (!rc && (!ibuf || !g.obuf)) rc = BDB_ENOMEM;
    int zinit = 0;
    if (!rc && deflateInit2(&g.z, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        rc = bdbi_err(BDB_ENOMEM, "zlib: cannot start deflating %s", gz_path);
    zinit = !rc;
    if (!rc) rc = bdbi_file_create(env, gz_path, fsync ? 0 : BDBI_FS_NOSYNC, 0, &g.out);
    for (size_t i = 0; !rc && i < n; i++) rc = read_chunks(paths[i], ibuf, gzip_check_feed, &sink);
    if (!rc) rc = deflate_some(&g, Z_FINISH);
    if (!rc && hashing) {
        uint8_t got[BDB_HASH_LEN];
        hashing = 0;
        bdbi_sha256_final(&sha, got);
        rc = bdbi_framer_end(&f);
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
    if (hashing) bdbi_sha256_discard(&sha);
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
