/* Hostile bucket files and failing disks: every malformed file is refused
 * with BDB_EFORMAT naming the file and the offset, no crash; a failed write
 * leaves no bucket file and no temporary file; an existing bucket file is
 * reused only when its content hashes to its name (parity H16). */
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
#include "xdr/record.h"
#include "xdr/schema.h"

static fault_plan plan;

static void setup(void)
{
    fault_plan_init(&plan);
    fixture_open("hostile", fault_hook, &plan);
}

static void teardown(void)
{
    fixture_close();
}

TestSuite(hostile, .init = setup, .fini = teardown);

/* A small valid LIVEENTRY: an ACCOUNT entry whose key bytes are all `k`. */
static size_t account_record(uint8_t *p, uint8_t k, int32_t type)
{
    size_t n = 0;
    bdbi_put_be32(p + n, (uint32_t)type), n += 4;
    bdbi_put_be32(p + n, 7), n += 4; /* lastModifiedLedgerSeq */
    bdbi_put_be32(p + n, 0), n += 4; /* ACCOUNT */
    bdbi_put_be32(p + n, 0), n += 4; /* PUBLIC_KEY_TYPE_ED25519 */
    memset(p + n, k, 32), n += 32;
    memset(p + n, 0, 8), n += 8;      /* balance */
    memset(p + n, 0, 8), n += 8;      /* seqNum */
    memset(p + n, 0, 4 * 3), n += 12; /* numSubEntries, no inflationDest, flags */
    memset(p + n, 0, 4), n += 4;      /* homeDomain "" */
    bdbi_put_be32(p + n, 0x01000000), n += 4;
    memset(p + n, 0, 4 * 3), n += 12; /* no signers, ext v0, entry ext v0 */
    return n;
}

/* A file of framed records; returns its length. */
static size_t frame(uint8_t *out, const uint8_t *const *recs, const size_t *lens, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        bdbi_record_mark(out + len, (uint32_t)lens[i]);
        memcpy(out + len + 4, recs[i], lens[i]);
        len += 4 + lens[i];
    }
    return len;
}

/* Writes the bytes as a file and reads it to the end; returns the first
 * error (or 0) and checks the error names the file and `want_offset`. */
static void expect_refused(const uint8_t *bytes, size_t len, int64_t want_offset, const char *what)
{
    char path[256];
    snprintf(path, sizeof path, "%s/hostile.xdr", dir);
    cr_assert_eq(bdbi_fs_write_file(env, path, bytes, len, BDBI_FS_NOSYNC), 0);
    bdb_bucket_reader *r;
    int rc = bdb_bucket_reader_open(env, path, 0, 0, &r);
    if (rc == 0) {
        bdb_bucket_item it;
        while ((rc = bdb_bucket_reader_next(r, &it)) == 1) {
        }
        bdb_bucket_reader_close(r);
    }
    cr_assert_eq(rc, BDB_EFORMAT, "%s: got %d", what, rc);
    bdb_error e;
    bdb_last_error(&e);
    cr_assert_str_eq(e.path, path, "%s", what);
    if (want_offset >= 0)
        cr_assert_eq(e.offset, want_offset, "%s: offset %lld (%s)", what, (long long)e.offset,
                     e.msg);
}

Test(hostile, malformed_files)
{
    uint8_t meta[16] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 22, 0, 0, 0, 0};
    uint8_t a[128], b[128], c[128], file[1024];
    size_t na = account_record(a, 1, BDB_LIVEENTRY), nb = account_record(b, 2, BDB_LIVEENTRY);
    size_t nc = account_record(c, 3, BDB_INITENTRY);
    const uint8_t *ok[3] = {meta, a, b};
    size_t okl[3] = {12, na, nb};
    size_t n = frame(file, ok, okl, 3);
    size_t rec2 = 4 + 12 + 4 + na; /* offset of the third record's mark */

    expect_refused(file, n - 1, -1, "truncated file");
    expect_refused(file, n - 5, -1, "record longer than the file");
    uint8_t bad[1024];
    memcpy(bad, file, n);
    bad[rec2] &= 0x7f; /* the mark loses its last-fragment bit */
    expect_refused(bad, n, (int64_t)rec2, "bad record mark");

    const uint8_t *unsorted[3] = {meta, b, a};
    size_t m = frame(bad, unsorted, okl, 3);
    expect_refused(bad, m, (int64_t)rec2, "unsorted keys");
    const uint8_t *dup[3] = {meta, a, a};
    size_t dl[3] = {12, na, na};
    m = frame(bad, dup, dl, 3);
    expect_refused(bad, m, (int64_t)rec2, "duplicate key");
    const uint8_t *late_meta[3] = {a, meta, b};
    size_t ll[3] = {na, 12, nb};
    m = frame(bad, late_meta, ll, 3);
    expect_refused(bad, m, 4 + (int64_t)na + 4, "META not first");
    const uint8_t *two_meta[3] = {meta, meta, a};
    size_t tl[3] = {12, 12, na};
    m = frame(bad, two_meta, tl, 3);
    expect_refused(bad, m, 4 + 12 + 4, "META repeated");
    /* a bucket without METAENTRY is protocol 0..10: INIT is illegal there */
    const uint8_t *init10[2] = {a, c};
    size_t il[2] = {na, nc};
    m = frame(bad, init10, il, 2);
    expect_refused(bad, m, 4 + (int64_t)na + 4, "INIT in a protocol-10 bucket");
    /* garbage inside an entry: an unknown entry type, then a bad padding */
    memcpy(bad, file, n);
    bad[rec2 + 4 + 11] = 42;
    expect_refused(bad, n, (int64_t)rec2 + 4 + 8, "unknown LedgerEntryType");
    memcpy(bad, file, n);
    /* homeDomain (body offset 76) of length 2: its padding is the
     * thresholds word 01 00 00 00 with a non-zero third byte */
    bad[rec2 + 4 + 79] = 2;
    bad[rec2 + 4 + 82] = 3;
    expect_refused(bad, n, (int64_t)rec2 + 4 + 82, "non-zero padding in an entry");
    /* a META of protocol 10 is not a thing stellar-core writes */
    meta[7] = 10;
    m = frame(bad, ok, okl, 3);
    expect_refused(bad, m, 0, "META below protocol 11");
}

/* Every file-system step of a bucket write failing leaves nothing behind. */
Test(hostile, failed_writes_leave_nothing)
{
    static const struct {
        bdb_fs_op op;
        uint64_t nth;
    } steps[] = {{BDB_FS_OPEN, 1},
                 {BDB_FS_WRITE, 1},
                 {BDB_FS_FSYNC, 1},
                 {BDB_FS_RENAME, 1},
                 {BDB_FS_FSYNC, 2}};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        fault_reset(&plan);
        fault_arm(&plan, steps[s].op, ENOSPC, steps[s].nth, FAULT_ONCE, NULL);
        bdb_bucket_writer_options o;
        bdb_bucket_writer_options_init(&o);
        o.protocol = 22;
        bdb_bucket_writer *w;
        int rc = bdb_bucket_writer_open(env, dir, &o, &w);
        if (rc == 0) {
            uint8_t a[128];
            size_t na = account_record(a, 9, BDB_LIVEENTRY);
            rc = bdb_bucket_writer_put(w, a, na);
            bdb_bucket_info info;
            rc = rc ? (bdb_bucket_writer_abort(w), rc) : bdb_bucket_writer_finish(w, &info);
        }
        cr_assert_eq(rc, BDB_ENOSPC, "step %zu: %d %s", s, rc, bdb_errmsg());
        fault_disarm(&plan);
        DIR *d = opendir(dir);
        struct dirent *e;
        while ((e = readdir(d)))
            cr_assert(e->d_name[0] == '.' && !bdbi_fs_is_tmp_name(e->d_name), "step %zu left %s", s,
                      e->d_name);
        closedir(d);
    }
}

/* H16: writing a bucket whose file exists reuses it after checking its
 * hash; a corrupt file under the name is reported, never replaced. */
Test(hostile, existing_bucket_file_is_verified)
{
    uint8_t a[128];
    size_t na = account_record(a, 5, BDB_LIVEENTRY);
    bdb_bucket_info first, second;
    for (int i = 0; i < 2; i++) {
        bdb_bucket_writer *w;
        cr_assert_eq(bdb_bucket_writer_open(env, dir, NULL, &w), 0);
        cr_assert_eq(bdb_bucket_writer_put(w, a, na), 0);
        cr_assert_eq(bdb_bucket_writer_finish(w, i ? &second : &first), 0, "%s", bdb_errmsg());
    }
    cr_assert_str_eq(first.name, second.name);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, first.name);
    FILE *f = fopen(path, "r+b");
    fseek(f, 20, SEEK_SET);
    fputc(0x55, f); /* same size, different content */
    fclose(f);
    bdb_bucket_writer *w;
    cr_assert_eq(bdb_bucket_writer_open(env, dir, NULL, &w), 0);
    cr_assert_eq(bdb_bucket_writer_put(w, a, na), 0);
    cr_assert_eq(bdb_bucket_writer_finish(w, &second), BDB_ECORRUPT);
    bdb_error e;
    bdb_last_error(&e);
    cr_assert_str_eq(e.path, path);
    f = fopen(path, "rb");
    fseek(f, 20, SEEK_SET);
    cr_assert_eq(fgetc(f), 0x55, "the corrupt file was left for inspection, not replaced");
    fclose(f);
}
