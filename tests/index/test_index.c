/* The per-file index: exact, paged (exponents 8, 10, 14) and hot-archive
 * indexes of real bucket files, built record by record as a writer feeds
 * them and by a scan of the file, must find every record at its offset,
 * find no absent key, agree with each other, and report type ranges,
 * counters and the pool map equal to recounts made here from the records.
 * Then the page rule, the persisted form and its rejection of damaged,
 * foreign and mismatched files, corrupt bucket data under a valid index,
 * bdbi_record_has_key per entry type, allocation failures, and files past
 * 4 GiB. */
#include "config.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "index/index_impl.h"
#include "index_fixture.h"

#include "../core/alloc_fail.h"
#include "../file_helpers.h"

TestSuite(index, .init = fixture_setup, .fini = fixture_teardown, .timeout = 120);

static bdbi_index_params params(int hot, uint32_t exponent, uint64_t cutoff)
{
    return (bdbi_index_params){.hot = hot,
                               .page_exponent = exponent,
                               .cutoff_bytes = cutoff,
                               .seed = 0x5eed0000u + exponent};
}

static bdbi_index *by_scan(const dataset *d, const bdbi_index_params *p)
{
    bdbi_index *x;
    cr_assert_eq(bdbi_index_build_scan(env, p, d->data, d->len, d->path, &x), 0, "%s",
                 bdb_errmsg());
    return x;
}

static bdbi_probe probe_of(const uint8_t *key, size_t klen, const uint8_t *sk, size_t sklen)
{
    return (bdbi_probe){.key = key, .key_len = klen, .sk = sk, .sk_len = sklen};
}

/* A key to look up: its XDR and sort key, and the item holding it (-1:
 * absent). */
typedef struct query {
    uint8_t *key, *sk;
    size_t klen, sklen;
    long want;
} query;

static int query_cmp(const void *a, const void *b)
{
    const query *x = a, *y = b;
    return bdbi_sk_cmp(x->sk, x->sklen, y->sk, y->sklen);
}

/* Every present key, and about as many absent ones: random keys of every
 * type and present keys with one byte changed, each kept only if it is a
 * valid key the bucket does not hold. Sorted by key. */
static query *queries(const dataset *d, uint64_t seed, size_t *nq)
{
    size_t cap = 3 * d->n + 2000, n = 0;
    query *q = calloc(cap, sizeof *q);
    cr_assert_not_null(q);
    for (size_t i = 0; i < d->n; i++) {
        q[n].klen = d->it[i].klen;
        q[n].key = malloc(q[n].klen);
        memcpy(q[n].key, d->it[i].key, q[n].klen);
        sort_key_of(q[n].key, q[n].klen, &q[n].sk, &q[n].sklen);
        q[n++].want = (long)i;
    }
    rk_gen g;
    rk_init(&g, seed);
    static uint8_t buf[1 << 16];
    size_t absent = 0;
    for (size_t tries = 0; absent < d->n + 1000 && tries < 20 * (d->n + 1000); tries++) {
        size_t klen;
        if (tries % 2) {
            cr_assert_eq(rk_value(&g, &bdbi_xt_ledger_key, buf, sizeof buf, &klen), 0);
        } else {
            const item *it = &d->it[rk_below(&g, (uint32_t)d->n)];
            memcpy(buf, it->key, it->klen);
            klen = it->klen;
            buf[4 + rk_below(&g, (uint32_t)(klen - 4))] ^= (uint8_t)(1u << rk_below(&g, 8));
            if (bdb_ledger_key_check(buf, klen)) continue;
        }
        uint8_t *sk;
        size_t sklen;
        sort_key_of(buf, klen, &sk, &sklen);
        if (ds_find(d, sk, sklen) >= 0) {
            free(sk);
            continue;
        }
        q[n].key = malloc(klen);
        memcpy(q[n].key, buf, klen);
        q[n].klen = klen;
        q[n].sk = sk;
        q[n].sklen = sklen;
        q[n++].want = -1;
        absent++;
    }
    cr_assert_gt(absent, d->n / 2, "too few absent keys");
    qsort(q, n, sizeof *q, query_cmp);
    *nq = n;
    return q;
}

static void queries_free(query *q, size_t n)
{
    for (size_t i = 0; i < n; i++) free(q[i].key), free(q[i].sk);
    free(q);
}

/* One lookup against its expectation. */
static void check_query(const dataset *d, const bdbi_index *x, const query *q, size_t *cursor)
{
    bdbi_probe k = probe_of(q->key, q->klen, q->sk, q->sklen);
    const uint8_t *rec = NULL;
    size_t rec_len = 0;
    uint64_t off = 0;
    int rc = bdbi_index_lookup(x, d->data, d->len, &k, cursor, &rec, &rec_len, &off);
    if (q->want < 0) {
        cr_assert_eq(rc, 0, "absent key found at %llu (rc %d %s)", (unsigned long long)off, rc,
                     bdb_errmsg());
        return;
    }
    const item *it = &d->it[q->want];
    cr_assert_eq(rc, 1, "key of record %ld not found (rc %d %s)", q->want, rc, bdb_errmsg());
    cr_assert_eq(off, it->off, "record %ld at %llu, %llu expected", q->want,
                 (unsigned long long)off, (unsigned long long)it->off);
    cr_assert_eq(rec, d->data + it->off + 4);
    cr_assert_eq(rec_len, it->len);
    cr_assert(k.has_hash && k.seed == bdbi_index_seed(x));
    cr_assert_eq(k.hash, bdbi_hash64(q->sk, q->sklen, bdbi_index_seed(x)));
}

static void check_lookups(const dataset *d, const bdbi_index *x, const query *q, size_t nq)
{
    for (size_t i = 0; i < nq; i++) check_query(d, x, &q[i], NULL);
    /* a walk over increasing keys with one cursor gives the same answers */
    size_t cursor = 0, last = 0;
    for (size_t i = 0; i < nq; i++) {
        check_query(d, x, &q[i], &cursor);
        cr_assert_geq(cursor, last, "cursor went back");
        last = cursor;
    }
}

static void check_ranges_counters(const dataset *d, const bdbi_index *x)
{
    int present[10];
    uint64_t begin[10], end[10];
    recount_ranges(d, present, begin, end);
    for (int t = -1; t <= 10; t++) {
        uint64_t b = 0, e = 0;
        int has = bdbi_index_type_range(x, t, &b, &e);
        if (t < 0 || t > 9 || !present[t]) {
            cr_assert_eq(has, 0, "type %d has no records", t);
            continue;
        }
        cr_assert_eq(has, 1, "type %d", t);
        cr_assert_eq(b, begin[t], "type %d begins at %llu, %llu expected", t, (unsigned long long)b,
                     (unsigned long long)begin[t]);
        cr_assert_eq(e, end[t], "type %d ends at %llu, %llu expected", t, (unsigned long long)e,
                     (unsigned long long)end[t]);
    }
    bdbi_entry_counters want;
    recount_counters(d, &want);
    const bdbi_entry_counters *c = bdbi_index_counters(x);
    for (int k = 0; k < BDBI_INDEX_COUNTER_KINDS; k++) {
        cr_assert_eq(c->count[k], want.count[k], "count of kind %d", k);
        cr_assert_eq(c->bytes[k], want.bytes[k], "bytes of kind %d", k);
    }
    cr_assert_eq(bdbi_index_records(x), d->n);
    for (size_t i = 0; i < d->n; i++)
        cr_assert_eq(bdbi_record_kind(d->hot, d->it[i].rec, d->it[i].len),
                     kind_of_key(d->it[i].key, d->it[i].klen), "kind of record %zu", i);
}

/* Builder and scan indexes of d under p: equal, of the expected form, and
 * right in every answer; then the saved and loaded index too. */
static void check_dataset(const dataset *d, const bdbi_index_params *p, uint64_t form)
{
    cr_assert_eq(bdbi_index_page_size(p, d->len), form);
    bdbi_index *a = by_builder(d, p), *b = by_scan(d, p);
    cr_assert(bdbi_index_equal(a, b), "builder and scan disagree");
    cr_assert_eq(bdbi_index_form(a), form);
    cr_assert_eq(bdbi_index_seed(a), p->seed);
    size_t nq;
    query *q = queries(d, p->seed ^ d->len, &nq);
    check_lookups(d, a, q, nq);
    check_ranges_counters(d, a);

    char path[300];
    snprintf(path, sizeof path, "%s/x.index", dir);
    cr_assert_eq(bdbi_index_save(env, a, path, d->len, d->xxh, 1), 0, "%s", bdb_errmsg());
    bdbi_index *c;
    cr_assert_eq(bdbi_index_load(env, path, p, d->len, d->xxh, &c), 0, "%s", bdb_errmsg());
    cr_assert(bdbi_index_equal(a, c), "loaded index differs");
    check_lookups(d, c, q, nq);
    if (form) {
        double per = (double)bdbi_index_page_bytes(a) / (double)(d->n ? d->n : 1);
        cr_log_info("%zu records, %zu-byte file, page %llu: %.2f filter+page bytes/record", d->n,
                    d->len, (unsigned long long)form, per);
    } else {
        cr_assert_eq(bdbi_index_page_bytes(a), 0);
    }
    cr_assert_gt(bdbi_index_bytes(a), 0);
    queries_free(q, nq);
    bdbi_index_free(env, a);
    bdbi_index_free(env, b);
    bdbi_index_free(env, c);
}

Test(index, page_size_rule)
{
    bdbi_index_params p = params(0, 14, 1000);
    cr_assert_eq(bdbi_index_page_size(&p, 999), 0);
    cr_assert_eq(bdbi_index_page_size(&p, 1000), 16384);
    p.page_exponent = 0;
    cr_assert_eq(bdbi_index_page_size(&p, 1ull << 40), 0);
    p.cutoff_bytes = 0;
    p.page_exponent = 8;
    cr_assert_eq(bdbi_index_page_size(&p, 0), 256);
    p.hot = 1;
    cr_assert_eq(bdbi_index_page_size(&p, 0), 256);
    p.page_exponent = 0;
    p.cutoff_bytes = UINT64_MAX;
    cr_assert_eq(bdbi_index_page_size(&p, 10), 16384);
    p.page_exponent = 31;
    cr_assert_eq(bdbi_index_page_size(&p, 10), 1ull << 31);
}

Test(index, exact_live)
{
    dataset d;
    ds_random(&d, 0, 23, 3000, 1);
    bdbi_index_params p = params(0, 14, 1ull << 40);
    check_dataset(&d, &p, 0);
    p = params(0, 0, 0); /* exponent 0: every file exact */
    check_dataset(&d, &p, 0);
    ds_free(&d);
}

Test(index, paged_live)
{
    dataset d;
    ds_random(&d, 0, 23, 3000, 2);
    static const uint32_t exps[] = {8, 10, 14};
    for (int i = 0; i < 3; i++) {
        bdbi_index_params p = params(0, exps[i], 0);
        check_dataset(&d, &p, 1ull << exps[i]);
    }
    ds_free(&d);
}

/* The cutoff decides the form from the file size: offsets are dropped once
 * a record starts at the cutoff, kept below it. */
Test(index, cutoff_decides_form)
{
    dataset d;
    ds_random(&d, 0, 23, 800, 3);
    bdbi_index_params p = params(0, 10, d.len);
    check_dataset(&d, &p, 1024);
    p.cutoff_bytes = d.len + 1;
    check_dataset(&d, &p, 0);
    p.cutoff_bytes = d.len / 2;
    check_dataset(&d, &p, 1024);
    p.cutoff_bytes = d.it[d.n - 1].off + 1; /* every record starts below it */
    check_dataset(&d, &p, 1024);
    ds_free(&d);
}

/* Protocol 10: no METAENTRY, the first record at offset 0, no INIT. */
Test(index, without_meta)
{
    dataset d;
    ds_random(&d, 0, 10, 600, 4);
    cr_assert_eq(d.it[0].off, 0);
    bdbi_index_params p = params(0, 8, 0);
    check_dataset(&d, &p, 256);
    p = params(0, 8, 1ull << 40);
    check_dataset(&d, &p, 0);
    ds_free(&d);
}

Test(index, hot_archive)
{
    dataset d;
    ds_random(&d, 1, 23, 2000, 5);
    bdbi_index_params p = params(1, 0, 1ull << 40); /* hot: paged, 16 KiB, whatever the cutoff */
    check_dataset(&d, &p, 16384);
    p = params(1, 10, 0);
    check_dataset(&d, &p, 1024);
    ds_free(&d);
}

/* Files of one record, and of the METAENTRY alone. */
Test(index, tiny_files)
{
    dataset d;
    ds_random(&d, 0, 23, 1, 6);
    cr_assert_eq(d.n, 1);
    bdbi_index_params p = params(0, 8, 0);
    check_dataset(&d, &p, 256);
    p = params(0, 8, 1ull << 40);
    check_dataset(&d, &p, 0);
    ds_free(&d);

    /* META only: no records, no type ranges, nothing found */
    static const uint8_t meta[] = {0x80, 0,  0, 0x10, 0xff, 0xff, 0xff, 0xff, 0, 0,
                                   0,    23, 0, 0,    0,    1,    0,    0,    0, 0};
    for (int exact = 0; exact < 2; exact++) {
        p = params(0, 8, exact ? 1ull << 40 : 0);
        bdbi_index *x;
        cr_assert_eq(bdbi_index_build_scan(env, &p, meta, sizeof meta, "meta", &x), 0, "%s",
                     bdb_errmsg());
        cr_assert_eq(bdbi_index_records(x), 0);
        uint64_t b, e;
        for (int t = 0; t < 10; t++) cr_assert_eq(bdbi_index_type_range(x, t, &b, &e), 0);
        uint8_t key[40] = {0};
        uint8_t sk[40];
        size_t skn;
        cr_assert_eq(bdb_sort_key(key, 40, sk, sizeof sk, &skn), 0);
        bdbi_probe k = probe_of(key, 40, sk, skn);
        const uint8_t *rec;
        size_t rl;
        uint64_t off;
        cr_assert_eq(bdbi_index_lookup(x, meta, sizeof meta, &k, NULL, &rec, &rl, &off), 0);
        char path[300];
        snprintf(path, sizeof path, "%s/meta.index", dir);
        cr_assert_eq(bdbi_index_save(env, x, path, sizeof meta, 7, 1), 0, "%s", bdb_errmsg());
        bdbi_index *y;
        cr_assert_eq(bdbi_index_load(env, path, &p, sizeof meta, 7, &y), 0, "%s", bdb_errmsg());
        cr_assert(bdbi_index_equal(x, y));
        bdbi_index_free(env, x);
        bdbi_index_free(env, y);
    }
}

/* ---- the page rule ---------------------------------------------------- */

/* Records of 40 to ~1500 bytes against 256-byte pages: records cross page
 * boundaries and some span whole windows in which no record starts. */
Test(index, page_rule)
{
    dataset d;
    ds_random(&d, 0, 23, 1500, 7);
    const uint64_t ps = 256;
    bdbi_index_params p = params(0, 8, 0);
    bdbi_index *x = by_scan(&d, &p);
    /* spec §7.3, written out again */
    uint64_t *want = malloc(d.n * sizeof *want), upper = 0;
    size_t *first = malloc(d.n * sizeof *first);
    size_t np = 0, crossing = 0, skipped = 0;
    for (size_t i = 0; i < d.n; i++) {
        uint64_t pos = d.it[i].off, end = pos + 4 + d.it[i].len;
        if ((pos / ps) != ((end - 1) / ps)) crossing++;
        if (i && pos / ps > d.it[i - 1].off / ps + 1) skipped++;
        if (pos >= upper) {
            first[np] = i;
            want[np++] = pos;
            upper = pos / ps * ps + ps;
        }
    }
    cr_assert_gt(crossing, 100, "%zu records cross a page boundary", crossing);
    cr_assert_gt(skipped, 10, "%zu gaps of windows without a record start", skipped);
    cr_assert_eq(x->n_pages, np, "%zu pages, %zu expected", x->n_pages, np);
    for (size_t j = 0; j < np; j++) {
        cr_assert_eq(x->page_off[j], want[j], "page %zu", j);
        /* the separator: empty for page 0; else the shortest prefix of the
         * page's first key greater than the previous page's last key */
        size_t n;
        const uint8_t *s = bdbi_index_sep(x, j, &n);
        if (j == 0) {
            cr_assert_eq(n, 0);
            continue;
        }
        const item *f = &d.it[first[j]], *l = &d.it[first[j] - 1];
        cr_assert_leq(n, f->sklen);
        cr_assert_eq(memcmp(s, f->sk, n), 0, "separator %zu is not a prefix of the first key", j);
        cr_assert_gt(bdbi_sk_cmp(s, n, l->sk, l->sklen), 0, "separator %zu", j);
        cr_assert_leq(bdbi_sk_cmp(s, n - 1, l->sk, l->sklen), 0, "separator %zu is not shortest",
                      j);
        cr_assert_eq(x->sep_prefix[j], bdbi_sk_prefix(s, n));
    }
    /* the records of each page start inside its window */
    for (size_t j = 0; j < np; j++) {
        size_t end = j + 1 < np ? first[j + 1] : d.n;
        for (size_t i = first[j]; i < end; i++) cr_assert_lt(d.it[i].off, want[j] / ps * ps + ps);
    }
    free(want);
    free(first);
    bdbi_index_free(env, x);
    ds_free(&d);
}

/* ---- the pool map ----------------------------------------------------- */

/* Asset number a: native for 0, else AlphaNum4 or AlphaNum12 with issuer
 * a. */
static size_t asset(uint8_t *p, int a)
{
    int t = a == 0 ? 0 : 1 + a % 2;
    size_t n = t == 0 ? 4 : t == 1 ? 44 : 52;
    memset(p, 0, n);
    bdbi_put_be32(p, (uint32_t)t);
    if (t) {
        memcpy(p + 4, "ABCDEFGHIJKL", t == 1 ? 4 : 12);
        p[4] = (uint8_t)('A' + a);
        p[n - 1] = (uint8_t)a; /* issuer ed25519 */
    }
    return n;
}

/* A LIQUIDITY_POOL record of type rtype: pool `id` with assets a and b. */
static size_t pool_record(uint8_t *buf, int32_t rtype, int id, int a, int b)
{
    size_t n = 0;
    bdbi_put_be32(buf, (uint32_t)rtype), n += 4;
    bdbi_put_be32(buf + n, 7), n += 4; /* lastModifiedLedgerSeq */
    bdbi_put_be32(buf + n, BDB_LIQUIDITY_POOL), n += 4;
    memset(buf + n, 0, 32), buf[n] = (uint8_t)id, buf[n + 31] = 0x5a, n += 32;
    bdbi_put_be32(buf + n, 0), n += 4; /* LIQUIDITY_POOL_CONSTANT_PRODUCT */
    n += asset(buf + n, a);
    n += asset(buf + n, b);
    bdbi_put_be32(buf + n, 30), n += 4; /* fee */
    memset(buf + n, 0, 32), n += 32;    /* reserves, shares, trust lines */
    bdbi_put_be32(buf + n, 0), n += 4;  /* ext v0 */
    return n;
}

Test(index, pool_map)
{
    enum { POOLS = 60, ASSETS = 9 };
    dataset d = {.hot = 0, .protocol = 23};
    uint8_t buf[256];
    /* which (asset, pool) pairs INIT pools make */
    int want[ASSETS][POOLS] = {{0}};
    for (int id = 0; id < POOLS; id++) {
        int a = id % 7, b = (id * 5 + 1) % 8; /* assets 0..7; a == b for some */
        int32_t rtype = id % 3 == 2 ? BDB_LIVEENTRY : BDB_INITENTRY;
        ds_add(&d, buf, pool_record(buf, rtype, id, a, b));
        if (rtype == BDB_INITENTRY) want[a][id] = want[b][id] = 1;
    }
    /* a dead pool key, and a LIVE pool of asset 8 only: both ignored */
    uint8_t key[40] = {0, 0, 0, BDB_DEADENTRY, 0, 0, 0, BDB_LIQUIDITY_POOL, 200};
    ds_add(&d, key, 40);
    ds_add(&d, buf, pool_record(buf, BDB_LIVEENTRY, 201, 8, 8));
    rk_gen g;
    rk_init(&g, 8);
    static uint8_t big[1 << 16];
    for (int i = 0; i < 300; i++) {
        /* no random pools: their assets would join the map */
        size_t n = random_record(&g, 0, 0, big, sizeof big);
        int is_key = bdbi_be32(big) == BDB_DEADENTRY;
        if (bdbi_be32(big + (is_key ? 4 : 8)) != BDB_LIQUIDITY_POOL) ds_add(&d, big, n);
    }
    ds_sort_unique(&d);
    ds_write(&d);

    for (int form = 0; form < 2; form++) {
        bdbi_index_params p = params(0, 8, form ? 0 : 1ull << 40);
        bdbi_index *x = by_builder(&d, &p), *y = by_scan(&d, &p);
        cr_assert(bdbi_index_equal(x, y));
        char path[300];
        snprintf(path, sizeof path, "%s/pool.index", dir);
        cr_assert_eq(bdbi_index_save(env, x, path, d.len, d.xxh, 1), 0, "%s", bdb_errmsg());
        bdbi_index *z;
        cr_assert_eq(bdbi_index_load(env, path, &p, d.len, d.xxh, &z), 0, "%s", bdb_errmsg());
        cr_assert(bdbi_index_equal(x, z));
        const bdbi_index *all[] = {x, z};
        for (int w = 0; w < 2; w++)
            for (int a = 0; a < ASSETS + 1; a++) {
                uint8_t ab[52];
                size_t an = asset(ab, a), n = 99;
                const uint8_t(*ids)[32] = bdbi_index_pools(all[w], ab, an, &n);
                size_t k = 0;
                for (int id = 0; id < POOLS; id++) {
                    if (a >= ASSETS || !want[a][id]) continue;
                    cr_assert_lt(k, n, "asset %d: pool %d missing", a, id);
                    cr_assert_eq(ids[k][0], id, "asset %d: pool %d expected", a, id);
                    cr_assert_eq(ids[k][31], 0x5a);
                    k++;
                }
                cr_assert_eq(n, k, "asset %d: %zu pools, %zu expected", a, n, k);
                if (!k) cr_assert_null(ids);
            }
        bdbi_index_free(env, x);
        bdbi_index_free(env, y);
        bdbi_index_free(env, z);
    }
    ds_free(&d);
}

/* ---- the persisted form ----------------------------------------------- */

/* Loads path and expects failure `code` (0: EFORMAT or ECORRUPT) naming it. */
static void expect_reject(const char *path, const bdbi_index_params *p, uint64_t size, uint64_t xxh,
                          int code, const char *what)
{
    bdbi_index *x = (bdbi_index *)1;
    int rc = bdbi_index_load(env, path, p, size, xxh, &x);
    cr_assert_null(x, "%s: accepted", what);
    if (code)
        cr_assert_eq(rc, code, "%s: rc %d (%s), %d expected", what, rc, bdb_errmsg(), code);
    else
        cr_assert(rc == BDB_EFORMAT || rc == BDB_ECORRUPT, "%s: rc %d (%s)", what, rc,
                  bdb_errmsg());
    bdb_error e;
    bdb_last_error(&e);
    cr_assert_str_eq(e.path, path, "%s: message names '%s'", what, e.path);
}

/* The checksum of a file image after a change, so that only the checks
 * behind it see the change. */
static void fix_checksum(uint8_t *p, size_t n)
{
    uint64_t h = bdbi_hash64(p, n - 8, 0);
    for (int i = 0; i < 8; i++) p[n - 8 + i] = (uint8_t)(h >> (8 * i));
}

static void check_rejections(const dataset *d, const bdbi_index_params *p)
{
    char path[300], bad[300];
    snprintf(path, sizeof path, "%s/small.index", dir);
    snprintf(bad, sizeof bad, "%s/bad.index", dir);
    bdbi_index *x = by_scan(d, p);
    cr_assert_eq(bdbi_index_save(env, x, path, d->len, d->xxh, 0), 0, "%s", bdb_errmsg());
    size_t n;
    uint8_t *img = tf_read(path, &n), *cp = malloc(n);

    /* another configuration or file: EFORMAT */
    bdbi_index_params q = *p;
    q.page_exponent = p->page_exponent == 10 ? 8 : 10;
    q.cutoff_bytes = 0;
    expect_reject(path, &q, d->len, d->xxh, BDB_EFORMAT, "page size");
    q = *p;
    q.hot = !p->hot;
    expect_reject(path, &q, d->len, d->xxh, BDB_EFORMAT, "hot flag");
    expect_reject(path, p, d->len + 1, d->xxh, BDB_EFORMAT, "file size");
    expect_reject(path, p, d->len, d->xxh ^ 1, BDB_EFORMAT, "file XXH3");
    memcpy(cp, img, n);
    cp[8]++;
    tf_write(bad, cp, n);
    expect_reject(bad, p, d->len, d->xxh, BDB_EFORMAT, "version");

    /* damage: ECORRUPT for truncation, EFORMAT or ECORRUPT for a flipped
     * bit (a flip of the version is an index of another version) */
    for (size_t len = 0; len < n; len++) {
        tf_write(bad, img, len);
        expect_reject(bad, p, d->len, d->xxh, BDB_ECORRUPT, "truncated");
    }
    for (size_t bit = 0; bit < 8 * n; bit++) {
        memcpy(cp, img, n);
        cp[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        tf_write(bad, cp, n);
        expect_reject(bad, p, d->len, d->xxh,
                      bit / 8 >= 8 && bit / 8 < 12 ? BDB_EFORMAT : BDB_ECORRUPT, "bit flip");
    }
    /* foreign files */
    tf_write(bad, d->data, d->len);
    expect_reject(bad, p, d->len, d->xxh, BDB_ECORRUPT, "bucket file");
    memcpy(cp, img, n);
    cp[0] ^= 0x20;
    tf_write(bad, cp, n);
    expect_reject(bad, p, d->len, d->xxh, BDB_ECORRUPT, "magic");
    snprintf(bad, sizeof bad, "%s/missing.index", dir);
    bdbi_index *y;
    cr_assert_eq(bdbi_index_load(env, bad, p, d->len, d->xxh, &y), BDB_ENOTFOUND);

    /* hostile files with a valid checksum: each word after the header
     * replaced by extreme values; loading must not crash or over-allocate,
     * and what loads must be memory-safe to use */
    snprintf(bad, sizeof bad, "%s/hostile.index", dir);
    static const uint32_t vals[] = {0, 1, 0x7fffffffu, 0xffffffffu, 0x10000};
    size_t loaded = 0, tried = 0;
    for (size_t at = 64; at + 4 <= n - 8; at += 4)
        for (int v = 0; v < 5; v++) {
            memcpy(cp, img, n);
            bdbi_put_be32(cp + at, vals[v]);
            fix_checksum(cp, n);
            tf_write(bad, cp, n);
            int rc = bdbi_index_load(env, bad, p, d->len, d->xxh, &y);
            tried++;
            cr_assert(rc == 0 || rc == BDB_ECORRUPT, "word %zu: rc %d", at, rc);
            if (rc) continue;
            loaded++;
            for (size_t i = 0; i < d->n; i++) {
                bdbi_probe k = probe_of(d->it[i].key, d->it[i].klen, d->it[i].sk, d->it[i].sklen);
                const uint8_t *rec;
                size_t rl;
                uint64_t off;
                rc = bdbi_index_lookup(y, d->data, d->len, &k, NULL, &rec, &rl, &off);
                cr_assert(rc == 0 || rc == 1 || rc == BDB_ECORRUPT);
            }
            bdbi_index_free(env, y);
        }
    cr_log_info("hostile words: %zu of %zu loaded", loaded, tried);
    free(img);
    free(cp);
    bdbi_index_free(env, x);
}

Test(index, load_rejects)
{
    dataset d;
    ds_random(&d, 0, 23, 14, 9);
    bdbi_index_params p = params(0, 10, 1ull << 40);
    check_rejections(&d, &p);
    p = params(0, 8, 0);
    check_rejections(&d, &p);
    ds_free(&d);
    ds_random(&d, 1, 23, 8, 10);
    p = params(1, 8, 0);
    check_rejections(&d, &p);
    ds_free(&d);
    /* pages with skip points (8 KiB pages: one per page) */
    ds_random(&d, 0, 23, 40, 23);
    p = params(0, 13, 0);
    check_rejections(&d, &p);
    ds_free(&d);
}

Test(index, save_refuses_other_file_size)
{
    dataset d;
    ds_random(&d, 0, 23, 10, 11);
    bdbi_index_params p = params(0, 8, 0);
    bdbi_index *x = by_scan(&d, &p);
    char path[300];
    snprintf(path, sizeof path, "%s/s.index", dir);
    cr_assert_eq(bdbi_index_save(env, x, path, d.len + 4, d.xxh, 1), BDB_EINVAL);
    bdbi_index_free(env, x);
    ds_free(&d);
}

/* ---- sub-page skips --------------------------------------------------- */

/* The skip words of every page of x, recomputed from the records: S =
 * page/4 KiB in [1, 8] up to 64 KiB pages, none past; `skip` the common
 * prefix of the page's first and last sort keys; point j the first record
 * of the page at or past window start + j * page/S, else the previous
 * point, else the page start with digest 0. Returns the points seen. */
static size_t check_skip_words(const dataset *d, const bdbi_index *x)
{
    uint64_t ps = bdbi_index_form(x);
    size_t s = ps <= 65536 && ps >= 8192 ? (size_t)(ps / 4096 > 8 ? 8 : ps / 4096) : 1, k = s - 1;
    cr_assert_eq(x->n_sub, k, "page %llu: %zu skip points, %zu expected", (unsigned long long)ps,
                 x->n_sub, k);
    if (!k) {
        cr_assert_null(x->sub);
        return 0;
    }
    size_t points = 0, i = 0;
    for (size_t pg = 0; pg < x->n_pages; pg++) {
        uint64_t start = x->page_off[pg], base = start / ps * ps;
        size_t first = i;
        while (i < d->n && d->it[i].off < base + ps) i++;
        const item *f = &d->it[first], *l = &d->it[i - 1];
        cr_assert_eq(f->off, start);
        size_t skip = 0;
        while (skip < f->sklen && skip < l->sklen && f->sk[skip] == l->sk[skip]) skip++;
        const uint64_t *w = x->sub + pg * x->sub_words;
        cr_assert_eq(bdbi_sub_half(w, k, 0), skip, "skip of page %zu", pg);
        uint64_t dig = 0, off = 0;
        for (size_t j = 0; j < k; j++) {
            size_t r = first;
            while (r < i && d->it[r].off < base + (j + 1) * (ps / s)) r++;
            if (r < i) {
                dig = bdbi_sk_digest(d->it[r].sk, d->it[r].sklen, skip);
                off = d->it[r].off - start;
                points++;
            }
            cr_assert_eq(w[j], dig, "digest of point %zu of page %zu", j, pg);
            cr_assert_eq(bdbi_sub_half(w, k, j + 1), off, "offset of point %zu of page %zu", j, pg);
        }
    }
    cr_assert_eq(i, d->n);
    return points;
}

/* Random buckets under every page size that has skip points (and 2^12 and
 * 2^17, which have none): the words as recomputed here, and every answer
 * of check_dataset. */
Test(index, skip_points)
{
    dataset d;
    ds_random(&d, 0, 23, 4000, 21);
    static const uint32_t exps[] = {12, 13, 14, 15, 16, 17};
    for (int e = 0; e < 6; e++) {
        bdbi_index_params p = params(0, exps[e], 0);
        bdbi_index *x = by_scan(&d, &p);
        size_t pts = check_skip_words(&d, x);
        if (exps[e] >= 13 && exps[e] <= 16)
            cr_assert_gt(2 * pts, x->n_pages * x->n_sub, "2^%u: %zu points in %zu pages", exps[e],
                         pts, x->n_pages);
        bdbi_index_free(env, x);
        check_dataset(&d, &p, 1ull << exps[e]);
    }
    ds_free(&d);
    ds_random(&d, 1, 23, 3000, 22);
    bdbi_index_params p = params(1, 0, 0); /* hot, 16 KiB */
    bdbi_index *x = by_scan(&d, &p);
    cr_assert_gt(check_skip_words(&d, x), 0);
    bdbi_index_free(env, x);
    ds_free(&d);
}

/* A DEADENTRY of CONTRACT_DATA key v of contract c: SCV_BYTES of 17
 * non-zero bytes (the sort key keeps them as they are): v / 16 + 1, twelve
 * 0x55, then v in base 255 (digits + 1), so the keys of one group v / 16
 * share 13 bytes and differ after them. */
static size_t tie_record(uint8_t *buf, int c, uint32_t v)
{
    static const uint8_t head[] = {0, 0, 0, 1, 0, 0, 0, 6, 0, 0, 0, 1};
    memcpy(buf, head, sizeof head);
    memset(buf + 12, 0, 32);
    buf[12] = (uint8_t)c; /* contract ID */
    bdbi_put_be32(buf + 44, 13);
    bdbi_put_be32(buf + 48, 17);
    uint8_t *b = buf + 52;
    b[0] = (uint8_t)(v / 16 + 1); /* v < 4064 */
    memset(b + 1, 0x55, 12);
    for (int i = 0; i < 4; i++, v /= 255) b[16 - i] = (uint8_t)(v % 255 + 1);
    memset(b + 17, 0, 3);
    bdbi_put_be32(buf + 72, 1); /* PERSISTENT */
    return 76;
}

/* A probe of a record made by tie_record (its key is the record's body). */
static query tie_query(int c, uint32_t v, long want)
{
    uint8_t buf[80];
    tie_record(buf, c, v);
    query q = {.klen = 72, .want = want};
    q.key = malloc(72);
    memcpy(q.key, buf + 4, 72);
    cr_assert_eq(bdb_ledger_key_check(q.key, 72), 0, "%s", bdb_errmsg());
    sort_key_of(q.key, 72, &q.sk, &q.sklen);
    return q;
}

/* Keys whose digests tie: contract-data keys of two contracts in groups of
 * eight that share 13 bytes after the bytes every key of a page shares, so
 * a skip point's digest equals those of the keys of its group just before
 * and after it. Those before it are found only because the scan starts at
 * the last point whose digest is strictly below the probe's, those after
 * it only because it ends at the first point strictly above. Then probes
 * that pass the filter (one built with their hashes in) but are absent:
 * between present keys, and not sharing a page's common prefix (contracts
 * before and after both, another entry type). Then the loader's checks of
 * the skip section. */
Test(index, skip_ties)
{
    dataset d = {.hot = 0, .protocol = 23};
    uint8_t buf[80];
    for (int c = 1; c <= 2; c++)
        for (uint32_t v = 0; v < 4064; v += 2) ds_add(&d, buf, tie_record(buf, c, v));
    ds_sort_unique(&d);
    ds_write(&d);
    bdbi_index_params p = params(0, 14, 0);
    check_dataset(&d, &p, 16384);
    bdbi_index *x = by_builder(&d, &p);
    cr_assert_gt(check_skip_words(&d, x), 2 * x->n_pages);
    /* ties: keys of a page before a skip point with its digest */
    size_t ties_before = 0, ties_after = 0, r = 0;
    for (size_t pg = 0; pg < x->n_pages; pg++) {
        const uint64_t *w = x->sub + pg * x->sub_words;
        unsigned skip = bdbi_sub_half(w, x->n_sub, 0);
        cr_assert_lt(skip, d.it[0].sklen - 8, "page %zu: skip %u", pg, skip);
        for (size_t j = 0; j < x->n_sub; j++) {
            uint64_t at = x->page_off[pg] + bdbi_sub_half(w, x->n_sub, j + 1);
            while (d.it[r].off < at) r++;
            cr_assert_eq(d.it[r].off, at);
            if (d.it[r - 1].off >= x->page_off[pg] &&
                bdbi_sk_digest(d.it[r - 1].sk, d.it[r - 1].sklen, skip) == w[j])
                ties_before++;
            if (r + 1 < d.n && bdbi_sk_digest(d.it[r + 1].sk, d.it[r + 1].sklen, skip) == w[j])
                ties_after++;
        }
        r = 0;
    }
    cr_assert_gt(ties_before, x->n_pages, "%zu ties before points", ties_before);
    cr_assert_gt(ties_after, x->n_pages, "%zu ties after points", ties_after);

    /* absent probes that reach the page scan */
    size_t nq = 0;
    /* room for the absent probes (about 2 * 2032 + 17) and one per record */
    query *q = calloc(2 * 4064 + 32 + d.n, sizeof *q);
    for (int c = 0; c <= 3; c++)
        for (uint32_t v = c == 0 || c == 3 ? 0 : 1; v < 4064; v += c == 0 || c == 3 ? 509 : 2)
            q[nq++] = tie_query(c, v, -1);
    uint8_t acct[40] = {0, 0, 0, 0, 0, 0, 0, 0, 7}; /* ACCOUNT, ed25519 */
    q[nq].key = malloc(40);
    memcpy(q[nq].key, acct, 40);
    q[nq].klen = 40;
    sort_key_of(q[nq].key, 40, &q[nq].sk, &q[nq].sklen);
    q[nq++].want = -1;
    size_t np = nq;
    for (size_t i = 0; i < d.n; i++) {
        q[nq] = tie_query(1 + (int)(i >= d.n / 2), (uint32_t)(i % (d.n / 2)) * 2, (long)i);
        cr_assert_eq(bdbi_sk_cmp(q[nq].sk, q[nq].sklen, d.it[i].sk, d.it[i].sklen), 0);
        nq++;
    }
    uint64_t *h = malloc(nq * sizeof *h);
    for (size_t i = 0; i < nq; i++) h[i] = bdbi_hash64(q[i].sk, q[i].sklen, p.seed);
    bdbi_hspill *hs;
    cr_assert_eq(bdbi_hspill_new(env, NULL, 0, &hs), 0);
    for (size_t i = 0; i < nq; i++) cr_assert_eq(bdbi_hspill_add(hs, h[i]), 0);
    bdbi_fuse_set *f;
    cr_assert_eq(bdbi_fuse_set_build(env, hs, 0, p.seed, &f), 0, "%s", bdb_errmsg());
    bdbi_hspill_free(hs);
    bdbi_fuse_set_free(env, x->filter);
    x->filter = f;
    for (size_t i = 0; i < np; i++) cr_assert(bdbi_fuse_set_contains(f, h[i]));
    qsort(q, nq, sizeof *q, query_cmp);
    check_lookups(&d, x, q, nq);
    queries_free(q, nq);
    free(h);

    /* the loader refuses skip points outside their page or out of order */
    char path[300], bad[300];
    snprintf(path, sizeof path, "%s/skip.index", dir);
    snprintf(bad, sizeof bad, "%s/skipbad.index", dir);
    cr_assert_eq(bdbi_index_save(env, x, path, d.len, d.xxh, 1), 0, "%s", bdb_errmsg());
    size_t n;
    uint8_t *img = tf_read(path, &n), *cp = malloc(n);
    size_t body = 0;
    for (size_t at = 64; at + 4 <= n && !body; at += 8)
        if (!memcmp(img + at, "SKIP", 4)) body = at + 16;
    cr_assert_gt(body, 0);
    cr_assert_eq(img[body], 3); /* u64 3 points per page, then page 0's words */
    static const struct {
        size_t at;
        uint8_t v[8];
        size_t n;
        const char *what;
    } damage[] = {{0, {4}, 1, "points per page"},
                  {8, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 8, "digests descending"},
                  {38, {0xff, 0xff}, 2, "offset past the window"},
                  {34, {0xff, 0x3f}, 2, "offsets descending"}};
    for (int k = 0; k < 4; k++) {
        memcpy(cp, img, n);
        memcpy(cp + body + damage[k].at, damage[k].v, damage[k].n);
        fix_checksum(cp, n);
        tf_write(bad, cp, n);
        expect_reject(bad, &p, d.len, d.xxh, BDB_ECORRUPT, damage[k].what);
    }
    free(img);
    free(cp);
    bdbi_index_free(env, x);
    ds_free(&d);
}

/* ---- corrupt data under a valid index --------------------------------- */

static int lookup_in(const bdbi_index *x, const uint8_t *data, size_t len, const item *it,
                     uint64_t *off)
{
    bdbi_probe k = probe_of(it->key, it->klen, it->sk, it->sklen);
    const uint8_t *rec;
    size_t rl;
    int rc = bdbi_index_lookup(x, data, len, &k, NULL, &rec, &rl, off);
    if (rc == 1) cr_assert(rec >= data && rec + rl <= data + len);
    return rc;
}

Test(index, corrupt_data)
{
    dataset d;
    ds_random(&d, 0, 23, 300, 12);
    static const struct {
        uint32_t exp;
        uint64_t cutoff;
    } forms[] = {{14, 1ull << 40}, {8, 0}, {14, 0}};
    for (int f = 0; f < 3; f++) {
        bdbi_index_params p = params(0, forms[f].exp, forms[f].cutoff);
        bdbi_index *x = by_scan(&d, &p);
        for (size_t i = 0; i < d.n; i += 7) {
            const item *it = &d.it[i];
            uint8_t *buf = malloc(d.len);
            uint64_t off;
            for (int how = 0; how < 4; how++) {
                memcpy(buf, d.data, d.len);
                size_t len = d.len;
                if (how == 0) buf[it->off] &= 0x7f; /* no last-fragment bit */
                if (how == 1) bdbi_put_be32(buf + it->off, 0xfffffffcu);
                if (how == 2)
                    bdbi_put_be32(buf + it->off, 0x80000000u | (uint32_t)(d.len - it->off));
                if (how == 3) len = (size_t)it->off + 2;
                uint8_t *data = malloc(len); /* ASan sees any read past len */
                memcpy(data, buf, len);
                int rc = lookup_in(x, data, len, it, &off);
                cr_assert_eq(rc, BDB_ECORRUPT, "form %d, record %zu, damage %d: rc %d", f, i, how,
                             rc);
                for (size_t j = 0; j < d.n; j++) {
                    rc = lookup_in(x, data, len, &d.it[j], &off);
                    cr_assert(rc == 0 || rc == BDB_ECORRUPT || (rc == 1 && off == d.it[j].off));
                }
                bdbi_index *y = (bdbi_index *)1;
                rc = bdbi_index_build_scan(env, &p, data, len, "damaged", &y);
                cr_assert_eq(rc, BDB_ECORRUPT, "scan of damage %d: rc %d", how, rc);
                cr_assert_null(y);
                bdb_error e;
                bdb_last_error(&e);
                cr_assert_str_eq(e.path, "damaged");
                free(data);
            }
            free(buf);
        }
        bdbi_index_free(env, x);
    }
    ds_free(&d);
}

/* A scan refuses records out of key order and a METAENTRY that is not
 * first, naming the file. */
Test(index, scan_refuses_bad_order)
{
    dataset d;
    ds_random(&d, 0, 23, 50, 13);
    bdbi_index_params p = params(0, 8, 0);
    uint8_t *buf = malloc(d.len);
    /* records 5 and 6 swapped */
    const item *a = &d.it[5], *b = &d.it[6];
    memcpy(buf, d.data, d.len);
    size_t at = a->off;
    memcpy(buf + at, d.data + b->off, 4 + b->len);
    memcpy(buf + at + 4 + b->len, d.data + a->off, 4 + a->len);
    bdbi_index *y;
    cr_assert_eq(bdbi_index_build_scan(env, &p, buf, d.len, "swapped", &y), BDB_ECORRUPT);
    cr_assert(strstr(bdb_errmsg(), "swapped"), "%s", bdb_errmsg());
    /* the METAENTRY moved after the first record */
    size_t meta = d.it[0].off;
    memcpy(buf, d.data + meta, 4 + d.it[0].len);
    memcpy(buf + 4 + d.it[0].len, d.data, meta);
    memcpy(buf + meta + 4 + d.it[0].len, d.data + meta + 4 + d.it[0].len,
           d.len - meta - 4 - d.it[0].len);
    cr_assert_eq(bdbi_index_build_scan(env, &p, buf, d.len, "meta", &y), BDB_ECORRUPT);
    free(buf);
    ds_free(&d);
}

/* ---- the builder's contract ------------------------------------------- */

Test(index, builder_refuses_misuse)
{
    dataset d;
    ds_random(&d, 0, 23, 20, 14);
    bdbi_index_builder *b;
    bdbi_index_params p = params(0, 7, 0);
    cr_assert_eq(bdbi_index_builder_new(env, &p, &b), BDB_EINVAL);
    p.page_exponent = 32;
    cr_assert_eq(bdbi_index_builder_new(env, &p, &b), BDB_EINVAL);

    /* keys out of order fail the builder */
    p = params(0, 8, 0);
    cr_assert_eq(bdbi_index_builder_new(env, &p, &b), 0);
    const item *i0 = &d.it[0], *i1 = &d.it[1];
    cr_assert_eq(bdbi_index_builder_add(b, i1->off, i1->rec, i1->len, i1->sk, i1->sklen), 0);
    cr_assert_eq(
        bdbi_index_builder_add(b, i1->off + 4 + i1->len, i0->rec, i0->len, i0->sk, i0->sklen),
        BDB_EINVAL);
    const item *i2 = &d.it[2];
    cr_assert_eq(bdbi_index_builder_add(b, i2->off, i2->rec, i2->len, i2->sk, i2->sklen),
                 BDB_EINVAL);
    bdbi_index *x = (bdbi_index *)1;
    cr_assert_eq(bdbi_index_builder_finish(b, d.len, &x), BDB_EINVAL);
    cr_assert_null(x);

    /* overlapping offsets, a file shorter than its records */
    cr_assert_eq(bdbi_index_builder_new(env, &p, &b), 0);
    cr_assert_eq(bdbi_index_builder_add(b, i0->off, i0->rec, i0->len, i0->sk, i0->sklen), 0);
    cr_assert_eq(bdbi_index_builder_add(b, i0->off + 4, i1->rec, i1->len, i1->sk, i1->sklen),
                 BDB_EINVAL);
    bdbi_index_builder_free(b);
    cr_assert_eq(bdbi_index_builder_new(env, &p, &b), 0);
    cr_assert_eq(bdbi_index_builder_add(b, i0->off, i0->rec, i0->len, i0->sk, i0->sklen), 0);
    cr_assert_eq(bdbi_index_builder_finish(b, i0->off + i0->len, &x), BDB_EINVAL);

    /* a cutoff passed by the second record: offsets are dropped, and the
     * file (necessarily at least the cutoff) is paged */
    p = params(0, 8, i1->off);
    cr_assert_eq(bdbi_index_builder_new(env, &p, &b), 0);
    cr_assert_eq(bdbi_index_builder_add(b, i0->off, i0->rec, i0->len, i0->sk, i0->sklen), 0);
    cr_assert_eq(bdbi_index_builder_add(b, i1->off, i1->rec, i1->len, i1->sk, i1->sklen), 0);
    cr_assert_eq(bdbi_index_builder_finish(b, i1->off + 4 + i1->len, &x), 0);
    cr_assert_eq(bdbi_index_form(x), 256);
    bdbi_index_free(env, x);
    bdbi_index_builder_free(NULL);
    ds_free(&d);
}

/* ---- bdbi_record_has_key ---------------------------------------------- */

/* A copy of rec[0..len) in an allocation of exactly len bytes, so that a
 * read past it is an ASan report. */
static uint8_t *tight(const uint8_t *rec, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    memcpy(p, rec, len);
    return p;
}

/* Where the key's bytes end inside a record of type rtype holding key
 * (klen bytes) or its entry, worked out from the XDR layouts: the record
 * type, then lastModifiedLedgerSeq and the entry's key fields, with
 * CONTRACT_DATA's 4-byte and CONTRACT_CODE's 4- or 52-byte extension
 * before them. */
static size_t key_end(int is_key, const uint8_t *rec, size_t klen)
{
    if (is_key) return 4 + klen;
    int32_t t = (int32_t)bdbi_be32(rec + 8);
    if (t == BDB_CONTRACT_DATA) return 12 + 4 + (klen - 4);
    if (t == BDB_CONTRACT_CODE) return 12 + (bdbi_be32(rec + 12) ? 52 : 4) + 32;
    return 8 + klen;
}

static int has_key_tight(int hot, const uint8_t *rec, size_t len, const uint8_t *key, size_t klen)
{
    uint8_t *r = tight(rec, len), *k = tight(key, klen);
    int v = bdbi_record_has_key(hot, r, len, k, klen);
    free(r);
    free(k);
    return v;
}

Test(index, record_has_key)
{
    enum { PER_TYPE = 12 };
    dataset d = {.hot = 0};
    rk_gen g;
    rk_init(&g, 15);
    static uint8_t buf[1 << 16];
    int have[10] = {0}, code_v1 = 0, code_v0 = 0;
    while (d.n < 10 * PER_TYPE) {
        size_t n = rk_into(&g, &bdbi_xt_ledger_entry, buf, sizeof buf);
        int t = (int)bdbi_be32(buf + 8);
        if (have[t] == PER_TYPE) continue;
        bdbi_put_be32(buf, BDB_LIVEENTRY);
        ds_add(&d, buf, n);
        have[t]++;
        if (t == BDB_CONTRACT_CODE) *(bdbi_be32(buf + 12) ? &code_v1 : &code_v0) += 1;
    }
    cr_assert(code_v0 && code_v1, "both ContractCodeEntry extensions");
    /* CONTRACT_DATA entries with the durability flipped: same contract and
     * key, other durability, a distinct key */
    size_t base = d.n;
    for (size_t i = 0; i < base; i++) {
        const item *it = &d.it[i];
        if (bdbi_be32(it->key) != BDB_CONTRACT_DATA) continue;
        memcpy(buf, it->rec, it->len);
        size_t at = 12 + 4 + (it->klen - 4) - 4; /* the durability word */
        cr_assert_eq(bdbi_be32(buf + at), bdbi_be32(it->key + it->klen - 4));
        bdbi_put_be32(buf + at, bdbi_be32(buf + at) ^ 1);
        ds_add(&d, buf, it->len);
        const item *tw = &d.it[d.n - 1];
        cr_assert_neq(kind_of_key(tw->key, tw->klen), kind_of_key(it->key, it->klen));
        cr_assert_eq(memcmp(tw->key, it->key, it->klen - 4), 0);
    }
    cr_assert_gt(d.n, base + 5);
    ds_sort_unique(&d); /* random entries may share keys */

    for (size_t i = 0; i < d.n; i++) {
        const item *it = &d.it[i];
        /* LIVE, INIT, DEAD; hot ARCHIVED and LIVE */
        uint8_t *dead = malloc(4 + it->klen);
        bdbi_put_be32(dead, BDB_DEADENTRY);
        memcpy(dead + 4, it->key, it->klen);
        memcpy(buf, it->rec, it->len);
        for (int32_t rt = 0; rt <= 2; rt++) {
            bdbi_put_be32(buf, (uint32_t)rt);
            int want = rt != BDB_DEADENTRY; /* a DEADENTRY tag on an entry: not a key record */
            cr_assert_eq(has_key_tight(0, buf, it->len, it->key, it->klen), want, "type %d", rt);
        }
        cr_assert_eq(has_key_tight(0, dead, 4 + it->klen, it->key, it->klen), 1);
        bdbi_put_be32(buf, BDB_HOT_ARCHIVED);
        cr_assert_eq(has_key_tight(1, buf, it->len, it->key, it->klen), 1);
        bdbi_put_be32(dead, BDB_HOT_LIVE);
        cr_assert_eq(has_key_tight(1, dead, 4 + it->klen, it->key, it->klen), 1);
        bdbi_put_be32(dead, BDB_DEADENTRY);
        cr_assert_eq(bdbi_record_kind(0, it->rec, it->len), kind_of_key(it->key, it->klen));
        cr_assert_eq(bdbi_record_kind(0, dead, 4 + it->klen), kind_of_key(it->key, it->klen));
        /* every truncation: no read outside, and no match without the key */
        size_t ke = key_end(0, it->rec, it->klen);
        for (size_t len = 0; len < it->len; len++) {
            int v = has_key_tight(0, it->rec, len, it->key, it->klen);
            cr_assert(v == 0 || len >= ke, "truncated to %zu of %zu: key ends at %zu", len, it->len,
                      ke);
            bdbi_record_kind(0, it->rec, len);
        }
        cr_assert_eq(has_key_tight(0, it->rec, ke - 1 + 1, it->key, it->klen), 1);
        for (size_t len = 0; len < 4 + it->klen; len++)
            cr_assert_eq(has_key_tight(0, dead, len, it->key, it->klen), 0);
        /* no other record holds this key */
        for (size_t j = 0; j < d.n; j++) {
            if (j == i) continue;
            const item *o = &d.it[j];
            cr_assert_eq(has_key_tight(0, o->rec, o->len, it->key, it->klen), 0,
                         "record %zu holds the key of %zu", j, i);
            cr_assert_eq(bdbi_record_has_key(0, dead, 4 + it->klen, o->key, o->klen), 0);
        }
        free(dead);
    }
    /* METAENTRY records never match */
    static const uint8_t meta[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 23, 0, 0, 0, 0};
    cr_assert_eq(bdbi_record_has_key(0, meta, sizeof meta, d.it[0].key, d.it[0].klen), 0);
    cr_assert_eq(bdbi_record_kind(0, meta, sizeof meta), -1);
    cr_assert_eq(bdbi_record_kind(1, meta, sizeof meta), -1);

    /* TEMPORARY and PERSISTENT twins in one bucket: both found, each at
     * its own record, counted as kinds 6 and 7 */
    ds_write(&d);
    bdbi_index_params p = params(0, 8, 0);
    check_dataset(&d, &p, 256);
    p = params(0, 8, 1ull << 40);
    check_dataset(&d, &p, 0);
    ds_free(&d);
}

/* ---- allocation failures ---------------------------------------------- */

static int op_builder(const dataset *d, const bdbi_index_params *p, bdbi_index **x)
{
    bdbi_index_builder *b;
    int rc = bdbi_index_builder_new(env, p, &b);
    if (rc) return rc;
    for (size_t i = 0; i < d->n; i++) {
        const item *it = &d->it[i];
        if ((rc = bdbi_index_builder_add(b, it->off, it->rec, it->len, it->sk, it->sklen))) {
            bdbi_index_builder_free(b);
            return rc;
        }
    }
    return bdbi_index_builder_finish(b, d->len, x);
}

Test(index, allocation_failures)
{
    dataset d;
    ds_random(&d, 0, 23, 400, 16);
    char path[300];
    snprintf(path, sizeof path, "%s/af.index", dir);
    static const struct {
        uint32_t exp;
        uint64_t cutoff;
    } forms[] = {{14, 1ull << 40}, {8, 0}, {8, 4096}, {13, 0}};
    for (int f = 0; f < 4; f++) {
        bdbi_index_params p = params(0, forms[f].exp, forms[f].cutoff);
        bdbi_index *ref = by_scan(&d, &p);
        if (forms[f].exp == 13) cr_assert_gt(ref->n_sub * ref->n_pages, 0);
        for (int op = 0; op < 4; op++) {
            for (long nth = 1;; nth++) {
                bdbi_index *x = NULL;
                int rc;
                alloc_fail_arm(nth);
                if (op == 0)
                    rc = bdbi_index_build_scan(env, &p, d.data, d.len, "af", &x);
                else if (op == 1)
                    rc = op_builder(&d, &p, &x);
                else if (op == 2)
                    rc = bdbi_index_save(env, ref, path, d.len, d.xxh, 1);
                else
                    rc = bdbi_index_load(env, path, &p, d.len, d.xxh, &x);
                int fired = alloc_fail_fired();
                alloc_fail_disarm();
                if (!fired) {
                    cr_assert_eq(rc, 0, "form %d op %d: %s", f, op, bdb_errmsg());
                    if (x) {
                        cr_assert(bdbi_index_equal(ref, x));
                        bdbi_index_free(env, x);
                    }
                    cr_assert_gt(nth, 3, "form %d op %d: only %ld allocations", f, op, nth - 1);
                    cr_log_info("form %d op %d: %ld allocations failed in turn", f, op, nth - 1);
                    break;
                }
                cr_assert_eq(rc, BDB_ENOMEM, "form %d op %d, allocation %ld: rc %d %s", f, op, nth,
                             rc, bdb_errmsg());
                cr_assert_null(x);
            }
        }
        bdbi_index_free(env, ref);
    }
    ds_free(&d);
}

/* ---- files past 4 GiB ------------------------------------------------- */

/* A sparse 5 GiB file with two clusters of records, one at the start and
 * one ending at the end of the file: offsets past 2^32 are kept and found
 * in both forms. */
Test(index, files_past_4gib)
{
    dataset d = {.hot = 0};
    rk_gen g;
    rk_init(&g, 17);
    static uint8_t buf[1 << 16];
    for (int i = 0; i < 80; i++) ds_add(&d, buf, random_record(&g, 0, 0, buf, sizeof buf));
    ds_sort_unique(&d);
    const uint64_t size = 5ull << 30;
    uint64_t tail = 0;
    size_t half = d.n / 2;
    for (size_t i = half; i < d.n; i++) tail += 4 + d.it[i].len;
    char path[300];
    snprintf(path, sizeof path, "%s/big", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    if (ftruncate(fd, (off_t)size)) cr_skip_test("no sparse 5 GiB file here");
    uint64_t pos = 0;
    for (size_t i = 0; i < d.n; i++) {
        if (i == half) pos = size - tail;
        uint8_t mark[4];
        bdbi_put_be32(mark, 0x80000000u | (uint32_t)d.it[i].len);
        cr_assert_eq(pwrite(fd, mark, 4, (off_t)pos), 4);
        cr_assert_eq(pwrite(fd, d.it[i].rec, d.it[i].len, (off_t)pos + 4), (ssize_t)d.it[i].len);
        d.it[i].off = pos;
        pos += 4 + d.it[i].len;
    }
    cr_assert_eq(pos, size);
    const uint8_t *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    cr_assert_neq(map, MAP_FAILED);
    d.len = size;
    for (int form = 0; form < 2; form++) {
        bdbi_index_params p = params(0, form ? 14 : 0, 0);
        d.data = (uint8_t *)map;
        bdbi_index *x = by_builder(&d, &p);
        cr_assert_eq(bdbi_index_form(x), form ? 16384 : 0);
        for (size_t i = 0; i < d.n; i++) {
            uint64_t off;
            cr_assert_eq(lookup_in(x, map, size, &d.it[i], &off), 1, "record %zu", i);
            cr_assert_eq(off, d.it[i].off);
        }
        if (!form) {
            /* absent keys (the exact form reads only candidates) */
            for (size_t i = 0; i < d.n; i++) {
                item a = d.it[i];
                uint8_t k[4096];
                memcpy(k, a.key, a.klen);
                k[a.klen - 1] ^= 0x40;
                if (bdb_ledger_key_check(k, a.klen)) continue;
                uint8_t *sk;
                sort_key_of(k, a.klen, &sk, &a.sklen);
                a.key = k;
                a.sk = sk;
                uint64_t off;
                cr_assert_eq(lookup_in(x, map, size, &a, &off), ds_find(&d, sk, a.sklen) >= 0);
                free(sk);
            }
        }
        char ipath[300];
        snprintf(ipath, sizeof ipath, "%s/big.index", dir);
        cr_assert_eq(bdbi_index_save(env, x, ipath, size, 99, 1), 0, "%s", bdb_errmsg());
        bdbi_index *y;
        cr_assert_eq(bdbi_index_load(env, ipath, &p, size, 99, &y), 0, "%s", bdb_errmsg());
        cr_assert(bdbi_index_equal(x, y));
        bdbi_index_free(env, x);
        bdbi_index_free(env, y);
        d.data = NULL;
    }
    munmap((void *)map, size);
    close(fd);
    unlink(path);
    ds_free(&d);
}
