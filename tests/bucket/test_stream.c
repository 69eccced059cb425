/* The streaming reader against the mapped one (a reader we already trust
 * for parity) and against the gzip program: the same records, offsets and
 * sort keys from a plain file and from its gzip, the SHA-256 of the bytes,
 * every byte handed to the tap; fixed memory whatever the bucket's size;
 * hostile streams refused with a clear error before anything is
 * allocated for them. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bucket/bucket.h"
#include "bucketdb/bucket.h"
#include "core/endian.h"
#include "core/sha256.h"
#include "fixture.h"
#include "../file_helpers.h"

static bdb_bucket_info bucket;
static char bucket_path[256];

/* A fresh bucket of n accounts with home domains of varying length. */
static void make_bucket(int n)
{
    uint8_t *mem = calloc((size_t)n, 128);
    bdb_bytes *live = calloc((size_t)n, sizeof *live);
    cr_assert(mem && live);
    for (int i = 0; i < n; i++) {
        uint8_t *p = mem + (size_t)i * 128;
        bdbi_put_be32(p, 5);     /* lastModifiedLedgerSeq */
        bdbi_put_be32(p + 4, 0); /* ACCOUNT */
        bdbi_put_be32(p + 12, (uint32_t)i * 2654435761u);
        bdbi_put_be32(p + 16, (uint32_t)i);
        uint32_t dom = (uint32_t)(i % 8) * 4; /* homeDomain length, padded */
        bdbi_put_be32(p + 72, dom);
        memset(p + 76, 'a', dom);
        bdbi_put_be32(p + 76 + dom, 0x01000000); /* thresholds */
        live[i] = (bdb_bytes){p, 92 + dom};
    }
    cr_assert_eq(bdb_bucket_fresh(env, dir, 23, 0, NULL, 0, live, (size_t)n, NULL, 0, &bucket), 0,
                 "%s", bdb_errmsg());
    snprintf(bucket_path, sizeof bucket_path, "%s/%s", dir, bucket.name);
    free(mem);
    free(live);
}

static void setup(void)
{
    fixture_open("stream", NULL, NULL);
}

static void teardown(void)
{
    fixture_close();
}

TestSuite(stream, .init = setup, .fini = teardown);

static char cmdbuf[1024];
#define RUN(...) (snprintf(cmdbuf, sizeof cmdbuf, __VA_ARGS__), system(cmdbuf))

typedef struct collect {
    uint8_t *p;
    size_t n, cap;
} collect;

static int tap(void *ctx, const uint8_t *p, size_t n)
{
    collect *c = ctx;
    if (c->n + n > c->cap) {
        c->cap = (c->n + n) * 2;
        c->p = realloc(c->p, c->cap);
        cr_assert_not_null(c->p);
    }
    memcpy(c->p + c->n, p, n);
    c->n += n;
    return 0;
}

/* Streams `path` (hot -1) and compares every record with the mapped
 * reader over the plain bucket. */
static void expect_same_as_mapped(const char *path, int want_gzip)
{
    bdbi_bstream *s;
    cr_assert_eq(bdbi_bstream_open(env, path, -1, 0, &s), 0, "%s", bdb_errmsg());
    cr_assert_eq(bdbi_bstream_is_gzip(s), want_gzip);
    collect c = {0};
    bdbi_bstream_tap(s, tap, &c);
    bdb_bucket_reader *r;
    cr_assert_eq(bdb_bucket_reader_open(env, bucket_path, 0, 0, &r), 0, "%s", bdb_errmsg());
    bdb_bucket_item a, b;
    cr_assert_eq(bdbi_bstream_next(s, &a, NULL), 1, "%s", bdb_errmsg());
    cr_assert_eq(a.type, BDB_METAENTRY, "the METAENTRY comes first");
    cr_assert_eq(a.offset, 0);
    uint64_t n = 0;
    int ra, rb;
    while ((rb = bdb_bucket_reader_next(r, &b)) == 1) {
        ra = bdbi_bstream_next(s, &a, NULL);
        cr_assert_eq(ra, 1, "record %llu: %s", (unsigned long long)n, bdb_errmsg());
        cr_assert_eq(a.offset, b.offset);
        cr_assert_eq(a.type, b.type);
        cr_assert_eq(a.entry_type, b.entry_type);
        cr_assert_eq(a.record_len, b.record_len);
        cr_assert_eq(memcmp(a.record, b.record, a.record_len), 0);
        cr_assert_eq(a.sort_key_len, b.sort_key_len);
        cr_assert_eq(memcmp(a.sort_key, b.sort_key, a.sort_key_len), 0);
        n++;
    }
    cr_assert_eq(rb, 0);
    cr_assert_eq(bdbi_bstream_next(s, &a, NULL), 0, "the stream ends with the file: %s",
                 bdb_errmsg());
    cr_assert_eq(n + 1, bucket.records);
    cr_assert_eq(bdbi_bstream_protocol(s), 23);
    cr_assert_eq(bdbi_bstream_hot(s), 0);
    cr_assert_eq(bdbi_bstream_bytes(s), bucket.bytes);
    uint8_t h[32];
    cr_assert_eq(bdbi_bstream_hash(s, h), 0);
    cr_assert_eq(memcmp(h, bucket.hash, 32), 0, "SHA-256 of the uncompressed bytes");
    size_t len;
    uint8_t *file = tf_read(bucket_path, &len);
    cr_assert_eq(c.n, len, "the tap saw every byte");
    cr_assert_eq(memcmp(c.p, file, len), 0, "the tap saw the bytes in order");
    free(file);
    free(c.p);
    bdb_bucket_reader_close(r);
    bdbi_bstream_close(s);
}

Test(stream, plain_and_gzip_equal_the_mapped_reader)
{
    make_bucket(20000);
    expect_same_as_mapped(bucket_path, 0);
    char gz[256];
    snprintf(gz, sizeof gz, "%s/b.xdr.gz", dir);
    cr_assert_eq(RUN("gzip -1 -c %s > %s", bucket_path, gz), 0);
    expect_same_as_mapped(gz, 1);
}

/* The stream's own memory (1 MiB of uncompressed bytes, 1 MiB of input,
 * the sort keys) does not grow with a bucket 10 times its size. */
Test(stream, fixed_memory)
{
    make_bucket(150000); /* about 16 MB */
    cr_assert_gt(bucket.bytes, (uint64_t)12 << 20);
    char gz[256];
    snprintf(gz, sizeof gz, "%s/b.xdr.gz", dir);
    cr_assert_eq(RUN("gzip -1 -c %s > %s", bucket_path, gz), 0);
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 1;
    o.use_jemalloc_arena = 0;
    bdb_env *e2;
    cr_assert_eq(bdb_env_open(&o, &e2), 0);
    bdbi_bstream *s;
    cr_assert_eq(bdbi_bstream_open(e2, gz, 0, 0, &s), 0, "%s", bdb_errmsg());
    bdb_bucket_item it;
    int r;
    uint64_t n = 0;
    while ((r = bdbi_bstream_next(s, &it, NULL)) == 1) n++;
    cr_assert_eq(r, 0, "%s", bdb_errmsg());
    cr_assert_eq(n, bucket.records);
    bdb_stats st;
    cr_assert_eq(bdb_env_stats(e2, &st), 0);
    cr_assert_lt(st.mem[BDB_MEM_BUCKET].peak_bytes, (uint64_t)3 << 20,
                 "peak %llu bytes for a %llu-byte bucket",
                 (unsigned long long)st.mem[BDB_MEM_BUCKET].peak_bytes,
                 (unsigned long long)bucket.bytes);
    bdbi_bstream_close(s);
    cr_assert_eq(bdb_env_close(e2), 0);
}

/* Expects the first `next` that is not a record to fail with `want`,
 * the message holding `needle`. */
static void expect_refused(const char *path, int want, const char *needle)
{
    bdbi_bstream *s;
    cr_assert_eq(bdbi_bstream_open(env, path, -1, 0, &s), 0, "%s", bdb_errmsg());
    bdb_bucket_item it;
    int r;
    while ((r = bdbi_bstream_next(s, &it, NULL)) == 1) {
    }
    cr_assert_eq(r, want, "%s: got %d (%s)", needle, r, bdb_errmsg());
    cr_assert(strstr(bdb_errmsg(), needle), "%s", bdb_errmsg());
    cr_assert(strstr(bdb_errmsg(), path), "the error names the file: %s", bdb_errmsg());
    cr_assert_lt(bdbi_bstream_next(s, &it, NULL), 0, "a failed stream stays failed");
    bdbi_bstream_close(s);
}

Test(stream, hostile_streams)
{
    make_bucket(3000);
    size_t len;
    uint8_t *file = tf_read(bucket_path, &len);
    char bad[256], cmd_gz[256];
    snprintf(bad, sizeof bad, "%s/bad.xdr", dir);
    snprintf(cmd_gz, sizeof cmd_gz, "%s/bad.xdr.gz", dir);

    /* a mark claiming 2 GiB: refused before any buffer grows */
    uint8_t huge[8] = {0xff, 0xff, 0xff, 0xfc, 0, 0, 0, 0};
    tf_write(bad, huge, sizeof huge);
    expect_refused(bad, BDB_EFORMAT, "record of");
    /* a mark without the last-fragment bit */
    uint8_t frag[8] = {0x00, 0x00, 0x00, 0x04, 0, 0, 0, 0};
    tf_write(bad, frag, sizeof frag);
    expect_refused(bad, BDB_EFORMAT, "bad record mark");
    /* cut inside the last record, plain and gzipped */
    tf_write(bad, file, len - 6);
    expect_refused(bad, BDB_EFORMAT, "truncated");
    cr_assert_eq(RUN("gzip -c %s > %s", bad, cmd_gz), 0);
    expect_refused(cmd_gz, BDB_EFORMAT, "truncated");
    /* a gzip stream cut short, and junk after a whole one */
    cr_assert_eq(RUN("gzip -c %s | head -c 2000 > %s", bucket_path, cmd_gz), 0);
    expect_refused(cmd_gz, BDB_EFORMAT, "truncated gzip");
    cr_assert_eq(RUN("gzip -c %s > %s && printf junk >> %s", bucket_path, cmd_gz, cmd_gz), 0);
    expect_refused(cmd_gz, BDB_EFORMAT, "after the end of the gzip stream");
    /* two records swapped: framed fine, refused for their order; drain
     * then still reaches the end and the hash of the bytes as they are */
    uint8_t *sw = malloc(len);
    memcpy(sw, file, len);
    /* the first two neighbouring entries of one size */
    size_t a = 0, b = 0, pos = 4 + (bdbi_be32(sw) & 0x7fffffff); /* past META */
    while (pos < len) {
        size_t next = pos + 4 + (bdbi_be32(sw + pos) & 0x7fffffff);
        if (next < len && next - pos == 4 + (bdbi_be32(sw + next) & 0x7fffffff)) {
            a = pos, b = next;
            break;
        }
        pos = next;
    }
    cr_assert_gt(b, 0, "two neighbouring records of one size");
    memcpy(sw + a, file + b, b - a);
    memcpy(sw + b, file + a, b - a);
    tf_write(bad, sw, len);
    expect_refused(bad, BDB_EFORMAT, "not strictly greater");
    bdbi_bstream *s;
    cr_assert_eq(bdbi_bstream_open(env, bad, -1, 0, &s), 0);
    bdb_bucket_item it;
    while (bdbi_bstream_next(s, &it, NULL) == 1) {
    }
    uint64_t records = 0;
    cr_assert_eq(bdbi_bstream_drain(s, &records), 0, "%s", bdb_errmsg());
    cr_assert_eq(records, bucket.records);
    uint8_t h[32], want[32];
    cr_assert_eq(bdbi_bstream_hash(s, h), 0);
    bdbi_sha256 sha;
    cr_assert_eq(bdbi_sha256_init(&sha), 0);
    bdbi_sha256_update(&sha, sw, len);
    bdbi_sha256_final(&sha, want);
    cr_assert_eq(memcmp(h, want, 32), 0);
    bdbi_bstream_close(s);
    /* a live bucket opened as hot, and a missing file */
    cr_assert_eq(bdbi_bstream_open(env, bucket_path, 1, 0, &s), 0);
    cr_assert_eq(bdbi_bstream_next(s, &it, NULL), BDB_EFORMAT);
    cr_assert(strstr(bdb_errmsg(), "HOT_ARCHIVE"), "%s", bdb_errmsg());
    bdbi_bstream_close(s);
    cr_assert_eq(bdbi_bstream_open(env, "/nonexistent/b.xdr", -1, 0, &s), BDB_ENOTFOUND);
    free(sw);
    free(file);
}
