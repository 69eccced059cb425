/* Streaming verification and gzip of bucket files, checked against the
 * system's gzip program (an encoder and decoder we did not write). */
#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/fault.h"
#include "bucketdb/bucket.h"
#include "fixture.h"
#include "core/fs.h"
#include "core/sha256.h"
#include "xdr/schema.h"

static fault_plan plan;
static bdb_bucket_info bucket; /* a fresh bucket with a few thousand entries */
static char bucket_path[256];

static void make_bucket(void)
{
    enum { N = 3000 };
    static uint8_t entries[N][96];
    static bdb_bytes live[N];
    for (int i = 0; i < N; i++) {
        uint8_t *p = entries[i];
        memset(p, 0, 96);
        bdbi_put_be32(p, 5);     /* lastModifiedLedgerSeq */
        bdbi_put_be32(p + 4, 0); /* ACCOUNT */
        bdbi_put_be32(p + 12, (uint32_t)i * 2654435761u);
        bdbi_put_be32(p + 16, (uint32_t)i);
        bdbi_put_be32(p + 76, 0x01000000); /* thresholds */
        live[i] = (bdb_bytes){p, 92};
    }
    cr_assert_eq(bdb_bucket_fresh(env, dir, 23, 0, NULL, 0, live, N, NULL, 0, &bucket), 0, "%s",
                 bdb_errmsg());
    snprintf(bucket_path, sizeof bucket_path, "%s/%s", dir, bucket.name);
}

static void setup(void)
{
    fault_plan_init(&plan);
    fixture_open("gzip", fault_hook, &plan);
    make_bucket();
}

static void teardown(void)
{
    fixture_close();
}

TestSuite(gzip, .init = setup, .fini = teardown);

/* runs a shell command made from a format (the fixture's paths) */
static char cmdbuf[1024];
#define RUN(...) (snprintf(cmdbuf, sizeof cmdbuf, __VA_ARGS__), system(cmdbuf))

Test(gzip, verify_counts_and_checks)
{
    uint64_t bytes = 0, records = 0;
    cr_assert_eq(bdb_bucket_verify(env, bucket_path, bucket.hash, &bytes, &records), 0, "%s",
                 bdb_errmsg());
    cr_assert_eq(bytes, bucket.bytes);
    cr_assert_eq(records, bucket.records);
    uint8_t wrong[32];
    memcpy(wrong, bucket.hash, 32);
    wrong[31] ^= 1;
    cr_assert_eq(bdb_bucket_verify(env, bucket_path, wrong, NULL, NULL), BDB_ECORRUPT);
    bdb_error e;
    bdb_last_error(&e);
    cr_assert_str_eq(e.path, bucket_path);
    /* truncated: the last record is incomplete */
    char cut[256];
    snprintf(cut, sizeof cut, "%s/cut.xdr", dir);
    cr_assert_eq(RUN("head -c -3 %s > %s", bucket_path, cut), 0);
    cr_assert_eq(bdb_bucket_verify(env, cut, bucket.hash, NULL, NULL), BDB_EFORMAT);
    cr_assert_eq(bdb_bucket_verify(env, "/nonexistent/bucket.xdr", bucket.hash, NULL, NULL),
                 BDB_ENOTFOUND);
}

/* Our gunzip reads what the gzip program writes; gzip -d reads what we
 * write; the hash is over the uncompressed bytes. */
Test(gzip, interoperates_with_the_gzip_program)
{
    char gz[256], back[256], ours[256];
    snprintf(gz, sizeof gz, "%s/theirs.xdr.gz", dir);
    snprintf(back, sizeof back, "%s/back.xdr", dir);
    snprintf(ours, sizeof ours, "%s/ours.xdr.gz", dir);
    cr_assert_eq(RUN("gzip -6 -c %s > %s", bucket_path, gz), 0);
    uint8_t h[32];
    uint64_t n;
    cr_assert_eq(bdb_bucket_gunzip(env, gz, back, 0, h, &n), 0, "%s", bdb_errmsg());
    cr_assert_eq(memcmp(h, bucket.hash, 32), 0);
    cr_assert_eq(n, bucket.bytes);
    cr_assert_eq(RUN("cmp -s %s %s", bucket_path, back), 0);

    cr_assert_eq(bdb_bucket_gzip(env, bucket_path, ours, 6, 0), 0, "%s", bdb_errmsg());
    cr_assert_eq(RUN("gzip -dc %s | cmp -s - %s", ours, bucket_path), 0);
    cr_assert_eq(bdb_bucket_gzip(env, bucket_path, ours, 0, 0), BDB_EINVAL);
}

static void expect_bad_gz(const char *gz, int want, const char *what)
{
    char out[256];
    snprintf(out, sizeof out, "%s/out.xdr", dir);
    uint8_t h[32];
    cr_assert_eq(bdb_bucket_gunzip(env, gz, out, 0, h, NULL), want, "%s: %s", what, bdb_errmsg());
    cr_assert_neq(access(out, F_OK), 0, "%s: output left behind", what);
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d))) cr_assert_not(bdbi_fs_is_tmp_name(e->d_name), "%s", what);
    closedir(d);
}

Test(gzip, hostile_archives)
{
    char gz[256], bad[256];
    snprintf(gz, sizeof gz, "%s/b.xdr.gz", dir);
    snprintf(bad, sizeof bad, "%s/bad.gz", dir);
    cr_assert_eq(RUN("gzip -c %s > %s", bucket_path, gz), 0);
    cr_assert_eq(RUN("head -c 1000 %s > %s", gz, bad), 0);
    expect_bad_gz(bad, BDB_EFORMAT, "truncated gzip");
    cr_assert_eq(RUN("cp %s %s", gz, bad), 0);
    cr_assert_eq(RUN("printf junk >> %s", bad), 0);
    expect_bad_gz(bad, BDB_EFORMAT, "trailing data");
    expect_bad_gz(bucket_path, BDB_EFORMAT, "not gzip at all");
    /* valid gzip of bytes that are not a bucket */
    cr_assert_eq(RUN("printf 'abcdefg' | gzip -c > %s", bad), 0);
    expect_bad_gz(bad, BDB_EFORMAT, "gzip of garbage");
    /* a full disk while writing the output */
    fault_arm(&plan, BDB_FS_WRITE, ENOSPC, 1, FAULT_ONCE, NULL);
    expect_bad_gz(gz, BDB_ENOSPC, "ENOSPC");
    fault_disarm(&plan);
}
