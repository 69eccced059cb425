/* Test data of the index tests: real bucket files written by the public
 * writer from random valid records (tests/xdr/randkey.h), read back, and
 * everything the index should say about them recounted here from the
 * records themselves, independently of lib/index. */
#ifndef BDB_TESTS_INDEX_FIXTURE_H
#define BDB_TESTS_INDEX_FIXTURE_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bucketdb/bucket.h"
#include "bucket/bucket.h"
#include "core/hash.h"
#include "index/index.h"
#include "xdr/stellar_types.h"

#include "../xdr/randkey.h"

static char dir[64];
static bdb_env *env;

/* One thread, and the process malloc (so tests/core/alloc_fail.h can fail
 * the library's allocations). */
static void fixture_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/bdb-test-index-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 1;
    o.use_jemalloc_arena = 0;
    cr_assert_eq(bdb_env_open(&o, &env), 0, "%s", bdb_errmsg());
}

static void fixture_teardown(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (d) closedir(d);
    rmdir(dir);
    cr_assert_eq(bdb_env_close(env), 0, "leak: %s", bdb_errmsg());
}

/* One record of a bucket: its XDR (no mark), its key, the key's sort key,
 * and where its mark is in the file. */
typedef struct item {
    uint8_t *rec;
    size_t len;
    uint8_t *key;
    size_t klen;
    uint8_t *sk;
    size_t sklen;
    uint64_t off;
} item;

typedef struct dataset {
    int hot;
    uint32_t protocol;
    item *it;
    size_t n, cap;
    char path[256];
    uint8_t *data; /* the file, in an allocation of exactly its size */
    size_t len;
    uint64_t xxh;
} dataset;

static int item_cmp(const void *a, const void *b)
{
    const item *x = a, *y = b;
    return bdbi_sk_cmp(x->sk, x->sklen, y->sk, y->sklen);
}

static int is_key_type(int hot, int32_t t)
{
    return t == (hot ? BDB_HOT_LIVE : BDB_DEADENTRY);
}

/* The LedgerKey of a record, through the public API. */
static void key_of(int hot, const uint8_t *rec, size_t len, uint8_t **key, size_t *klen)
{
    *key = malloc(len);
    cr_assert_not_null(*key);
    if (is_key_type(hot, (int32_t)bdbi_be32(rec))) {
        memcpy(*key, rec + 4, len - 4);
        *klen = len - 4;
        return;
    }
    cr_assert_eq(bdb_ledger_entry_key(rec + 4, len - 4, *key, len, klen), 0, "%s", bdb_errmsg());
}

static void sort_key_of(const uint8_t *key, size_t klen, uint8_t **sk, size_t *sklen)
{
    size_t cap = BDB_SORT_KEY_BOUND(klen);
    *sk = malloc(cap);
    cr_assert_not_null(*sk);
    cr_assert_eq(bdb_sort_key(key, klen, *sk, cap, sklen), 0, "%s", bdb_errmsg());
}

/* Adds the record rec[0..len) (copied) to d. */
static void ds_add(dataset *d, const uint8_t *rec, size_t len)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 256;
        d->it = realloc(d->it, d->cap * sizeof *d->it);
        cr_assert_not_null(d->it);
    }
    item *it = &d->it[d->n++];
    memset(it, 0, sizeof *it);
    it->rec = malloc(len);
    cr_assert_not_null(it->rec);
    memcpy(it->rec, rec, len);
    it->len = len;
    key_of(d->hot, rec, len, &it->key, &it->klen);
    sort_key_of(it->key, it->klen, &it->sk, &it->sklen);
}

static void item_free(item *it)
{
    free(it->rec);
    free(it->key);
    free(it->sk);
}

static void ds_free(dataset *d)
{
    for (size_t i = 0; i < d->n; i++) item_free(&d->it[i]);
    free(d->it);
    free(d->data);
    memset(d, 0, sizeof *d);
}

/* A random valid value of type t (an entry or a key) into buf + 4. */
static size_t rk_into(rk_gen *g, const bdbi_xtype *t, uint8_t *buf, size_t cap)
{
    size_t n;
    cr_assert_eq(rk_value(g, t, buf + 4, cap - 4, &n), 0, "value of %zu bytes", n);
    return n + 4;
}

/* Whether the LedgerEntry or LedgerKey at p is a persistent Soroban one:
 * CONTRACT_CODE, or CONTRACT_DATA whose durability (the key's last field)
 * is PERSISTENT. */
static int persistent_soroban(const uint8_t *p, size_t len, int is_key)
{
    uint8_t key[4096];
    size_t klen;
    if (is_key) {
        if (len > sizeof key) return 0;
        memcpy(key, p, len), klen = len;
    } else if (bdb_ledger_entry_key(p, len, key, sizeof key, &klen)) {
        return 0;
    }
    int32_t t = (int32_t)bdbi_be32(key);
    return t == BDB_CONTRACT_CODE || (t == BDB_CONTRACT_DATA && bdbi_be32(key + klen - 4) == 1);
}

/* One random record: live lists mix LIVE, INIT and DEAD records of every
 * type; hot archives ARCHIVED entries and LIVE keys, persistent Soroban
 * only. With `no_init` (buckets before protocol 11) INIT becomes LIVE. */
static size_t random_record(rk_gen *g, int hot, int no_init, uint8_t *buf, size_t cap)
{
    for (;;) {
        uint32_t r = rk_below(g, 100);
        int32_t type;
        int is_key;
        if (hot) {
            type = r < 70 ? BDB_HOT_ARCHIVED : BDB_HOT_LIVE;
            is_key = type == BDB_HOT_LIVE;
        } else {
            type = r < 45 ? BDB_LIVEENTRY : r < 75 ? BDB_INITENTRY : BDB_DEADENTRY;
            if (no_init && type == BDB_INITENTRY) type = BDB_LIVEENTRY;
            is_key = type == BDB_DEADENTRY;
        }
        size_t n = rk_into(g, is_key ? &bdbi_xt_ledger_key : &bdbi_xt_ledger_entry, buf, cap);
        bdbi_put_be32(buf, (uint32_t)type);
        if (!hot || persistent_soroban(buf + 4, n - 4, is_key)) return n;
    }
}

/* Sorts the items by key and drops repeated keys (keeping the first). */
static void ds_sort_unique(dataset *d)
{
    qsort(d->it, d->n, sizeof *d->it, item_cmp);
    size_t m = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (m && !item_cmp(&d->it[m - 1], &d->it[i])) {
            item_free(&d->it[i]);
            continue;
        }
        d->it[m++] = d->it[i];
    }
    d->n = m;
}

/* Writes the items as a bucket with the public writer, reads the file
 * back, and finds each item's offset by walking the file's record marks
 * (META skipped). */
static void ds_write(dataset *d)
{
    bdb_bucket_writer_options o;
    bdb_bucket_writer_options_init(&o);
    o.hot = d->hot;
    o.protocol = d->protocol;
    o.fsync = 0;
    bdb_bucket_writer *w;
    cr_assert_eq(bdb_bucket_writer_open(env, dir, &o, &w), 0, "%s", bdb_errmsg());
    for (size_t i = 0; i < d->n; i++)
        cr_assert_eq(bdb_bucket_writer_put(w, d->it[i].rec, d->it[i].len), 0, "record %zu: %s", i,
                     bdb_errmsg());
    bdb_bucket_info info;
    cr_assert_eq(bdb_bucket_writer_finish(w, &info), 0, "%s", bdb_errmsg());
    cr_assert(!info.empty);
    snprintf(d->path, sizeof d->path, "%s/%s", dir, info.name);
    FILE *f = fopen(d->path, "rb");
    cr_assert_not_null(f);
    d->len = (size_t)info.bytes;
    d->data = malloc(d->len ? d->len : 1);
    cr_assert_eq(fread(d->data, 1, d->len, f), d->len);
    fclose(f);
    d->xxh = bdbi_hash64(d->data, d->len, 0);
    size_t pos = 0, i = 0;
    while (pos < d->len) {
        cr_assert_leq(pos + 4, d->len);
        size_t n = bdbi_be32(d->data + pos) & 0x7fffffffu;
        if (!(pos == 0 && (int32_t)bdbi_be32(d->data + 4) == -1)) {
            cr_assert_lt(i, d->n);
            cr_assert_eq(n, d->it[i].len, "record %zu", i);
            cr_assert_eq(memcmp(d->data + pos + 4, d->it[i].rec, n), 0, "record %zu", i);
            d->it[i++].off = pos;
        }
        pos += 4 + n;
    }
    cr_assert_eq(i, d->n);
}

/* A bucket of about n random records. */
static void ds_random(dataset *d, int hot, uint32_t protocol, size_t n, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    d->hot = hot;
    d->protocol = protocol;
    rk_gen g;
    rk_init(&g, seed);
    static uint8_t buf[1 << 16];
    for (size_t i = 0; i < n; i++)
        ds_add(d, buf, random_record(&g, hot, protocol < 11, buf, sizeof buf));
    ds_sort_unique(d);
    ds_write(d);
}

/* The index of d built by feeding a builder its records. */
__attribute__((unused)) static bdbi_index *by_builder(const dataset *d, const bdbi_index_params *p)
{
    bdbi_index_builder *b;
    cr_assert_eq(bdbi_index_builder_new(env, p, &b), 0, "%s", bdb_errmsg());
    for (size_t i = 0; i < d->n; i++) {
        const item *it = &d->it[i];
        cr_assert_eq(bdbi_index_builder_add(b, it->off, it->rec, it->len, it->sk, it->sklen), 0,
                     "record %zu: %s", i, bdb_errmsg());
    }
    bdbi_index *x;
    cr_assert_eq(bdbi_index_builder_finish(b, d->len, &x), 0, "%s", bdb_errmsg());
    return x;
}

/* ---- recounts -------------------------------------------------------- */

/* LedgerEntryTypeAndDurability of a key: type, CONTRACT_DATA split by its
 * durability (the key's last word), later types shifted by one. */
static int kind_of_key(const uint8_t *key, size_t klen)
{
    int t = (int)bdbi_be32(key);
    if (t == BDB_CONTRACT_DATA) return 6 + (int)bdbi_be32(key + klen - 4);
    return t < BDB_CONTRACT_DATA ? t : t + 1;
}

__attribute__((unused)) static void recount_counters(const dataset *d, bdbi_entry_counters *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < d->n; i++) {
        int k = kind_of_key(d->it[i].key, d->it[i].klen);
        c->count[k]++;
        c->bytes[k] += d->it[i].len;
    }
}

/* ranges: [first offset of type t, first offset of the next type present
 * or RANGE_OPEN); present[t] says whether t has records */
__attribute__((unused)) static void recount_ranges(const dataset *d, int present[10],
                                                   uint64_t begin[10], uint64_t end[10])
{
    memset(present, 0, 10 * sizeof *present);
    int last = -1;
    for (size_t i = 0; i < d->n; i++) {
        int t = (int)bdbi_be32(d->it[i].key);
        if (present[t]) continue;
        present[t] = 1;
        begin[t] = d->it[i].off;
        if (last >= 0) end[last] = d->it[i].off;
        last = t;
    }
    if (last >= 0) end[last] = BDBI_INDEX_RANGE_OPEN;
}

/* Index of the item whose sort key is sk, or -1. */
__attribute__((unused)) static long ds_find(const dataset *d, const uint8_t *sk, size_t sklen)
{
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = bdbi_sk_cmp(d->it[mid].sk, d->it[mid].sklen, sk, sklen);
        if (!c) return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

#endif
