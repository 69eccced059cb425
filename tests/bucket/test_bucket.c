/* Bucket files: the writer, the reader and fresh buckets, against facts
 * that do not come from this code — the meta-only bucket hashes of spec
 * §1.4, the framed-bucket hash of the toolchain notes, stellar-core's
 * output-iterator rules (§4.6) and counters — and against hostile files. */
#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bucketdb/bucket.h"
#define BDB_FIXTURE_VECTORS
#include "fixture.h"
#include "core/fs.h"
#include "core/sha256.h"
#include "xdr/record.h"
#include "xdr/schema.h"

static void setup(void)
{
    fixture_load_vectors();
    fixture_open("bucket", NULL, NULL);
}

static void teardown(void)
{
    json_decref(vectors);
    fixture_close();
}

TestSuite(bucket, .init = setup, .fini = teardown);

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = strlen(s) / 2;
    cr_assert_leq(n, cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static void hex(const uint8_t *h, char out[65])
{
    for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", h[i]);
}

static void read_file(const char *name, uint8_t **buf, size_t *len)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    cr_assert_not_null(f, "%s", p);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    *buf = malloc(*len ? *len : 1);
    cr_assert_eq(fread(*buf, 1, *len, f), *len);
    fclose(f);
}

static bdb_bucket_writer *open_writer(int hot, uint32_t protocol, int keep)
{
    bdb_bucket_writer_options o;
    bdb_bucket_writer_options_init(&o);
    o.hot = hot;
    o.protocol = protocol;
    o.keep_tombstones = keep;
    o.fsync = 0;
    bdb_bucket_writer *w;
    cr_assert_eq(bdb_bucket_writer_open(env, dir, &o, &w), 0, "%s", bdb_errmsg());
    return w;
}

/* spec §1.4: meta-only buckets are real buckets with these bytes and hashes */
Test(bucket, meta_only_buckets_match_the_spec)
{
    static const struct {
        int hot;
        uint32_t protocol;
        const char *bytes, *hash;
    } v[] = {
        {0, 11, "8000000cffffffff0000000b00000000",
         "056cd09fa286b2de1ff329b224259b858f94ec1dcc93f0e0512b2f6819348951"},
        {0, 22, "8000000cffffffff0000001600000000",
         "dd0fa2787678f70814f725d98cb99955f13a4da2c3ba4339fc708374e655b139"},
        {0, 23, "80000010ffffffff000000170000000100000000",
         "8475245632bdc490ef81f9204d51cb1642015118c430fab2895f53ccc003ff8c"},
        {1, 23, "80000010ffffffff000000170000000100000001",
         "d3ca223ced12b53fe2ff5f209bd9bda7fe2468dac3696f2bf76432f3fa0f7385"},
        {0, 25, "80000010ffffffff000000190000000100000000",
         "aeb747071777bc8e94c7366debbf0f3279ec15b4de5298c7c370cec1de2ed939"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        bdb_bucket_writer *w = open_writer(v[i].hot, v[i].protocol, 1);
        bdb_bucket_info info;
        cr_assert_eq(bdb_bucket_writer_finish(w, &info), 0, "%s", bdb_errmsg());
        char h[65];
        hex(info.hash, h);
        cr_assert_str_eq(h, v[i].hash, "protocol %u hot %d", v[i].protocol, v[i].hot);
        cr_assert_not(info.empty);
        cr_assert_eq(info.records, 1);
        char want_name[80];
        snprintf(want_name, sizeof want_name, "bucket-%s.xdr", v[i].hash);
        cr_assert_str_eq(info.name, want_name);
        uint8_t *b, want[32];
        size_t n, wn = unhex(v[i].bytes, want, sizeof want);
        read_file(info.name, &b, &n);
        cr_assert(n == wn && memcmp(b, want, n) == 0, "file bytes, protocol %u", v[i].protocol);
        free(b);
    }
}

/* Below protocol 11 nothing is written without entries: the empty bucket
 * has the zero hash and no file (spec §1.4, parity H3). */
Test(bucket, empty_bucket_has_no_file)
{
    for (uint32_t p = 0; p < 11; p += 5) {
        bdb_bucket_writer *w = open_writer(0, p, 1);
        bdb_bucket_info info;
        cr_assert_eq(bdb_bucket_writer_finish(w, &info), 0);
        cr_assert(info.empty);
        static const uint8_t zero[32];
        cr_assert_eq(memcmp(info.hash, zero, 32), 0);
        cr_assert_str_eq(info.name, "");
    }
    int tmp;
    cr_assert_eq(count_files(&tmp), 0);
    cr_assert_eq(tmp, 0);
}

/* The toolchain notes' oracle: [meta v23 LIVE, init, dead] framed = 168
 * bytes with this SHA-256 (H4: the marks are hashed). The same key twice
 * is not a valid bucket, so the reader must refuse the file. */
Test(bucket, framed_oracle_bucket)
{
    uint8_t meta[16], init[200], dead[100], file[400];
    size_t nm = unhex("ffffffff000000170000000100000000", meta, sizeof meta);
    json_t *e0 = json_array_get(json_object_get(vectors, "entries"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(e0, "name")), "account/basic");
    size_t ni = unhex(json_string_value(json_object_get(e0, "init")), init, sizeof init);
    size_t nd = unhex(json_string_value(json_object_get(e0, "dead")), dead, sizeof dead);
    size_t n = 0;
    const uint8_t *recs[3] = {meta, init, dead};
    size_t lens[3] = {nm, ni, nd};
    for (int i = 0; i < 3; i++) {
        bdbi_record_mark(file + n, (uint32_t)lens[i]);
        memcpy(file + n + 4, recs[i], lens[i]);
        n += 4 + lens[i];
    }
    cr_assert_eq(n, 168);
    uint8_t h[32];
    char hs[65];
    bdbi_sha256_digest(file, n, h);
    hex(h, hs);
    cr_assert_str_eq(hs, "aeb61935a60af3f3007123157d5dfa99f1bef2c79fedc80409fcf2850cd4a0fc");

    char path[512];
    snprintf(path, sizeof path, "%s/oracle.xdr", dir);
    cr_assert_eq(bdbi_fs_write_file(env, path, file, n, BDBI_FS_NOSYNC), 0);
    bdb_bucket_reader *r;
    cr_assert_eq(bdb_bucket_reader_open(env, path, 0, 0, &r), 0, "%s", bdb_errmsg());
    cr_assert_eq(bdb_bucket_reader_protocol(r), 23);
    bdb_bucket_item it;
    cr_assert_eq(bdb_bucket_reader_next(r, &it), 1);
    cr_assert_eq(it.type, BDB_INITENTRY);
    cr_assert_eq(it.offset, 20);
    cr_assert_eq(bdb_bucket_reader_next(r, &it), BDB_EFORMAT);
    bdb_error err;
    bdb_last_error(&err);
    cr_assert_str_eq(err.path, path);
    cr_assert_eq(err.offset, 20 + 4 + (int64_t)ni);
    bdb_bucket_reader_close(r);
}

/* The one-entry buffer of §4.6: equal adjacent keys collapse to the last
 * one put; ActualWrites counts writes made by put (the METAENTRY included,
 * the final flush not); BufferUpdates counts every buffered record. */
Test(bucket, output_iterator_semantics_and_counters)
{
    json_t *entries = json_object_get(vectors, "entries");
    uint8_t a[600], b[600];
    size_t na =
        unhex(json_string_value(json_object_get(json_array_get(entries, 0), "live")), a, sizeof a);
    size_t nb =
        unhex(json_string_value(json_object_get(json_array_get(entries, 0), "init")), b, sizeof b);
    uint8_t c[600];
    size_t nc =
        unhex(json_string_value(json_object_get(json_array_get(entries, 0), "dead")), c, sizeof c);
    /* a, b, c share one key: the last put (c, DEAD) is what remains */
    bdb_bucket_writer *w = open_writer(0, 22, 1);
    cr_assert_eq(bdb_bucket_writer_put(w, a, na), 0, "%s", bdb_errmsg());
    cr_assert_eq(bdb_bucket_writer_put(w, b, nb), 0, "%s", bdb_errmsg());
    cr_assert_eq(bdb_bucket_writer_put(w, c, nc), 0, "%s", bdb_errmsg());
    bdb_merge_counters mc;
    memset(&mc, 0, sizeof mc);
    bdb_bucket_writer_counters(w, &mc);
    cr_assert_eq(mc.output_iterator_buffer_updates, 4, "meta + 3 puts");
    cr_assert_eq(mc.output_iterator_actual_writes, 1, "only the meta was pushed out");
    bdb_bucket_info info;
    cr_assert_eq(bdb_bucket_writer_finish(w, &info), 0);
    cr_assert_eq(info.records, 2);
    bdb_bucket_reader *r;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, info.name);
    cr_assert_eq(bdb_bucket_reader_open(env, path, 0, 0, &r), 0);
    bdb_bucket_item it;
    cr_assert_eq(bdb_bucket_reader_next(r, &it), 1);
    cr_assert_eq(it.type, BDB_DEADENTRY);
    cr_assert(it.record_len == nc && memcmp(it.record, c, nc) == 0);
    cr_assert_eq(bdb_bucket_reader_next(r, &it), 0);
    bdb_bucket_reader_close(r);

    /* tombstones are dropped only when asked, and counted */
    w = open_writer(0, 22, 0);
    cr_assert_eq(bdb_bucket_writer_put(w, c, nc), 0);
    memset(&mc, 0, sizeof mc);
    bdb_bucket_writer_counters(w, &mc);
    cr_assert_eq(mc.output_iterator_tombstone_elisions, 1);
    cr_assert_eq(bdb_bucket_writer_finish(w, &info), 0);
    cr_assert_eq(info.records, 1, "meta only");
}

Test(bucket, writer_refuses_illegal_records)
{
    json_t *e0 = json_array_get(json_object_get(vectors, "entries"), 0);
    uint8_t init[600], meta[16];
    size_t ni = unhex(json_string_value(json_object_get(e0, "init")), init, sizeof init);
    size_t nm = unhex("ffffffff0000000a00000000", meta, sizeof meta);
    /* "bucket output iterator rejects wrong-version entries": version 10 */
    bdb_bucket_writer *w = open_writer(0, 10, 1);
    cr_assert_eq(bdb_bucket_writer_put(w, init, ni), BDB_EPROTOCOL);
    bdb_bucket_writer_abort(w);
    w = open_writer(0, 10, 1);
    cr_assert_eq(bdb_bucket_writer_put(w, meta, nm), BDB_EPROTOCOL);
    bdb_bucket_writer_abort(w);
    /* out of order */
    json_t *entries = json_object_get(vectors, "entries");
    uint8_t x[600], y[600];
    size_t nx =
        unhex(json_string_value(json_object_get(json_array_get(entries, 1), "live")), x, sizeof x);
    size_t ny =
        unhex(json_string_value(json_object_get(json_array_get(entries, 2), "live")), y, sizeof y);
    uint8_t kx[600], ky[600], sx[1300], sy[1300];
    size_t lkx, lky, lsx, lsy;
    cr_assert_eq(bdb_ledger_entry_key(x + 4, nx - 4, kx, sizeof kx, &lkx), 0);
    cr_assert_eq(bdb_ledger_entry_key(y + 4, ny - 4, ky, sizeof ky, &lky), 0);
    bdb_sort_key(kx, lkx, sx, sizeof sx, &lsx);
    bdb_sort_key(ky, lky, sy, sizeof sy, &lsy);
    int x_first = memcmp(sx, sy, lsx < lsy ? lsx : lsy) < 0;
    w = open_writer(0, 22, 1);
    cr_assert_eq(bdb_bucket_writer_put(w, x_first ? y : x, x_first ? ny : nx), 0);
    cr_assert_eq(bdb_bucket_writer_put(w, x_first ? x : y, x_first ? nx : ny), BDB_EINVAL);
    bdb_bucket_info info;
    cr_assert_neq(bdb_bucket_writer_finish(w, &info), 0, "a failed writer cannot finish");
    /* hot archive below protocol 23 */
    bdb_bucket_writer_options o;
    bdb_bucket_writer_options_init(&o);
    o.hot = 1;
    o.protocol = 22;
    cr_assert_eq(bdb_bucket_writer_open(env, dir, &o, &w), BDB_EPROTOCOL);
    int tmp;
    cr_assert_eq(count_files(&tmp), 0, "failed writers leave no bucket");
    cr_assert_eq(tmp, 0, "failed writers leave no temporary file");
}

/* All vector entries with distinct keys, fresh at several protocols, then
 * read back: sorted, typed per protocol, named by the hash of the file. */
Test(bucket, fresh_round_trip)
{
    json_t *entries = json_object_get(vectors, "entries");
    size_t n = json_array_size(entries), k = 0;
    bdb_bytes *init = calloc(n, sizeof *init), *dead = calloc(n, sizeof *dead);
    uint8_t **bufs = calloc(2 * n, sizeof *bufs);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(entries, i);
        if (strstr(json_string_value(json_object_get(v, "name")), "/variant-")) continue;
        const char *e = json_string_value(json_object_get(v, "entry"));
        const char *key = json_string_value(json_object_get(v, "key"));
        bufs[2 * k] = malloc(strlen(e) / 2 + 1);
        bufs[2 * k + 1] = malloc(strlen(key) / 2 + 1);
        init[k] = (bdb_bytes){bufs[2 * k], unhex(e, bufs[2 * k], strlen(e))};
        dead[k] = (bdb_bytes){bufs[2 * k + 1], unhex(key, bufs[2 * k + 1], strlen(key))};
        k++;
    }
    uint32_t protocols[] = {0, 10, 11, 22, 23, 28};
    for (size_t p = 0; p < sizeof protocols / sizeof protocols[0]; p++) {
        /* the first half as INIT entries, the second half's keys as DEAD */
        size_t half = k / 2;
        bdb_bucket_info info;
        cr_assert_eq(bdb_bucket_fresh(env, dir, protocols[p], 0, init, half, NULL, 0, dead + half,
                                      k - half, &info),
                     0, "protocol %u: %s", protocols[p], bdb_errmsg());
        uint8_t *file;
        size_t flen;
        read_file(info.name, &file, &flen);
        uint8_t h[32];
        bdbi_sha256_digest(file, flen, h);
        cr_assert_eq(memcmp(h, info.hash, 32), 0, "the name is the hash of the bytes");
        free(file);
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, info.name);
        bdb_bucket_reader *r;
        cr_assert_eq(bdb_bucket_reader_open(env, path, 0, 0, &r), 0, "%s", bdb_errmsg());
        cr_assert_eq(bdb_bucket_reader_protocol(r), protocols[p] >= 11 ? protocols[p] : 0);
        bdb_bucket_item it;
        size_t count = 0, inits = 0, lives = 0, deads = 0;
        int rc;
        while ((rc = bdb_bucket_reader_next(r, &it)) == 1) {
            count++;
            inits += it.type == BDB_INITENTRY;
            lives += it.type == BDB_LIVEENTRY;
            deads += it.type == BDB_DEADENTRY;
        }
        cr_assert_eq(rc, 0, "%s", bdb_errmsg());
        bdb_bucket_reader_close(r);
        cr_assert_eq(count, k);
        cr_assert_eq(info.records, k + (protocols[p] >= 11));
        cr_assert_eq(deads, k - half);
        if (protocols[p] < 11)
            cr_assert(inits == 0 && lives == half, "created entries are LIVE before 11");
        else
            cr_assert(inits == half && lives == 0);
    }
    for (size_t i = 0; i < 2 * k; i++) free(bufs[i]);
    free(bufs);
    free(init);
    free(dead);
}

Test(bucket, fresh_refuses_duplicate_keys_naming_them)
{
    json_t *e0 = json_array_get(json_object_get(vectors, "entries"), 0);
    uint8_t e[600], k[100];
    size_t ne = unhex(json_string_value(json_object_get(e0, "entry")), e, sizeof e);
    size_t nk = unhex(json_string_value(json_object_get(e0, "key")), k, sizeof k);
    bdb_bytes live = {e, ne}, dead = {k, nk};
    bdb_bucket_info info;
    cr_assert_eq(bdb_bucket_fresh(env, dir, 22, 0, NULL, 0, &live, 1, &dead, 1, &info), BDB_EINVAL);
    cr_assert(strstr(bdb_errmsg(), "GDVEU3DD4KOFECV66VIHWEZOYX4ZKR3WV27L464SIIPOU2IUI3JCZA57"),
              "%s", bdb_errmsg());
    int tmp;
    cr_assert_eq(count_files(&tmp), 0);
    cr_assert_eq(tmp, 0);
}

Test(bucket, hot_fresh_accepts_only_persistent_soroban_entries)
{
    json_t *entries = json_object_get(vectors, "entries");
    size_t i;
    json_t *v;
    int persistent = 0, refused = 0;
    json_array_foreach(entries, i, v)
    {
        uint8_t e[70000];
        const char *hx = json_string_value(json_object_get(v, "entry"));
        if (strlen(hx) / 2 > sizeof e) continue;
        size_t ne = unhex(hx, e, sizeof e);
        bdb_bytes b = {e, ne};
        bdb_bucket_info info;
        int rc = bdb_bucket_fresh_hot(env, dir, 23, 0, &b, 1, NULL, 0, &info);
        /* persistent Soroban: CONTRACT_CODE, or CONTRACT_DATA whose key
         * ends with durability PERSISTENT (1) */
        uint8_t k[4096];
        size_t nk = unhex(json_string_value(json_object_get(v, "key")), k, sizeof k);
        uint32_t type = bdbi_be32(k);
        int want =
            type == BDB_CONTRACT_CODE || (type == BDB_CONTRACT_DATA && bdbi_be32(k + nk - 4) == 1);
        if (want) {
            cr_assert_eq(rc, 0, "%s: %s", json_string_value(json_object_get(v, "name")),
                         bdb_errmsg());
            persistent++;
        } else {
            cr_assert_eq(rc, BDB_EPROTOCOL, "%s accepted into a hot archive",
                         json_string_value(json_object_get(v, "name")));
            refused++;
        }
    }
    cr_assert(persistent > 5 && refused > 100);
}
