/* BucketListDB reads on the store, differentially: the batch vectors
 * mix-a and mix-b (entries made by @stellar/stellar-base, every type) are
 * replayed and, at checkpoints, every key ever written is read with
 * bdb_list_get, bdb_list_get_many and the hot-archive calls and compared
 * with
 *  - a plain in-memory model of the ledger state (read_model.h), and
 *  - a full scan of the view (bdb_list_scan_type: the newest record of
 *    each key in bucket order), which reads the files front to back
 *    without the point indexes;
 * scan_live_type is compared with the model's live entries in key order.
 * Under the three configurations of stellar-core's BucketIndexTests: all
 * in memory (exponent 0), mixed (cutoff 1 MB), all page-indexed (cutoff
 * 0), with 256-byte pages so that the small vectors span many pages, and
 * with 1 and 3 shards. An old view held across later ledgers keeps
 * answering for its ledger; after a restart the indexes come from their
 * files; damaged index files are rebuilt, never used. */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bucketdb/bucketdb.h"
#include "bucketdb/ledger.h"
#include "bucketdb/list.h"
#include "shards/list/store.h"
#include "xdr/schema.h"

#include "batches.h"
#include "read_model.h"
#include "store_check.h"

static char g_dir[64];
static bdb_env *g_env;

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/bdb-test-reads-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 2;
    cr_assert_eq(bdb_env_open(&o, &g_env), 0, "%s", bdb_errmsg());
}

static void teardown(void)
{
    cr_assert_eq(bdb_env_close(g_env), 0, "leak: %s", bdb_errmsg());
    store_rmdir(g_dir);
}

TestSuite(reads, .init = setup, .fini = teardown, .timeout = 600);

typedef struct config {
    const char *name;
    uint32_t cutoff_mb, exponent, shards;
} config;

static bdb_list *open_store(const config *c, int cache_mb)
{
    bdb_list_options o;
    bdb_list_options_init(&o);
    o.fsync = 0;
    o.shards = c->shards;
    o.index_cutoff_mb = c->cutoff_mb;
    o.index_page_size_exponent = c->exponent;
    o.cache_mb = (uint32_t)cache_mb;
    o.split_bytes = 64 << 10; /* split merges of pieces happen with small data too */
    bdb_list *l = NULL;
    cr_assert_eq(bdb_list_open(g_env, g_dir, &o, &l), 0, "%s", bdb_errmsg());
    return l;
}

/* ---- the full-scan reference ---- */

typedef struct scan_ref {
    model newest; /* key -> newest record's entry (NULL: DEADENTRY) */
    model live;   /* from scan_live_type */
    size_t records;
    int type;
    uint8_t last_sk[8192];
    size_t last_sk_len;
    int ordered;
} scan_ref;

static int key_of_record(const bdb_list_entry *e, uint8_t *key, size_t cap, size_t *klen)
{
    if (e->type == BDB_DEADENTRY) {
        cr_assert_leq(e->len, cap);
        memcpy(key, e->data, e->len);
        *klen = e->len;
        return 0;
    }
    return bdb_ledger_entry_key(e->data, e->len, key, cap, klen);
}

static int on_record(void *ctx, const bdb_list_entry *e)
{
    scan_ref *r = ctx;
    uint8_t key[4096];
    size_t klen;
    cr_assert_eq(key_of_record(e, key, sizeof key, &klen), 0, "%s", bdb_errmsg());
    cr_assert_eq((int)bdbi_be32(key), r->type, "scan_type(%d) gave a key of type %d", r->type,
                 (int)bdbi_be32(key));
    r->records++;
    if (model_find(&r->newest, key, klen)) return 0; /* an older version */
    model_set(&r->newest, key, klen, e->type == BDB_DEADENTRY ? NULL : e->data, e->len);
    return 0;
}

static int on_live(void *ctx, const bdb_list_entry *e)
{
    scan_ref *r = ctx;
    uint8_t key[4096], sk[8192];
    size_t klen, sklen;
    cr_assert(e->type == BDB_LIVEENTRY || e->type == BDB_INITENTRY);
    cr_assert_eq(key_of_record(e, key, sizeof key, &klen), 0);
    cr_assert_eq(bdb_sort_key(key, klen, sk, sizeof sk, &sklen), 0);
    /* strictly increasing keys */
    if (r->last_sk_len) {
        size_t m = sklen < r->last_sk_len ? sklen : r->last_sk_len;
        int c = memcmp(r->last_sk, sk, m);
        if (c > 0 || (c == 0 && r->last_sk_len >= sklen)) r->ordered = 0;
    }
    memcpy(r->last_sk, sk, sklen);
    r->last_sk_len = sklen;
    cr_assert_null(model_find(&r->live, key, klen), "scan_live_type gave a key twice");
    model_set(&r->live, key, klen, e->data, e->len);
    return 0;
}

static void expect_entry(const char *what, const mslot *s, int rc, const bdb_list_entry *e)
{
    cr_assert_geq(rc, 0, "%s: %s", what, bdb_errmsg());
    if (!s->entry) {
        cr_assert_eq(rc, 0, "%s: a deleted key was found (type %d)", what, e->type);
        return;
    }
    cr_assert_eq(rc, 1, "%s: a live key (type %u) was not found", what, bdbi_be32(s->key));
    cr_assert_eq(e->len, s->entry_len, "%s: entry length", what);
    cr_assert_eq(memcmp(e->data, s->entry, e->len), 0, "%s: entry differs", what);
}

/* Every read of view v against the model m (live) and h (hot). */
static void check_view(const bdb_list_view *v, const model *m, const model *h)
{
    /* point and bulk loads of every key ever written */
    bdb_bytes *keys = calloc(m->n + 1, sizeof *keys);
    const mslot **slots = calloc(m->n + 1, sizeof *slots);
    size_t n = 0, live = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->s[i].key) {
            slots[n] = &m->s[i];
            keys[n++] = (bdb_bytes){m->s[i].key, m->s[i].key_len};
            live += m->s[i].entry != NULL;
        }
    for (size_t i = 0; i < n; i++) {
        bdb_list_entry e;
        expect_entry("get", slots[i], bdb_list_get(v, keys[i].data, keys[i].len, &e), &e);
    }
    bdb_list_entry *out = calloc(n + 1, sizeof *out);
    size_t found = 0;
    cr_assert_eq(bdb_list_get_many(v, keys, n, out, &found), 0, "%s", bdb_errmsg());
    cr_assert_eq(found, live);
    for (size_t i = 0; i < n; i++) expect_entry("get_many", slots[i], out[i].data ? 1 : 0, &out[i]);
    /* keys that were never written: each written key with its last byte
     * changed (almost always absent; checked against the model) */
    for (size_t i = 0; i < n; i++) {
        uint8_t k[4096];
        memcpy(k, keys[i].data, keys[i].len);
        k[keys[i].len - 1] ^= 0x5a;
        if (model_find(m, k, keys[i].len)) continue;
        bdb_list_entry e;
        int rc = bdb_list_get(v, k, keys[i].len, &e);
        cr_assert(rc == 0 || rc == BDB_EFORMAT, "an absent key: %d %s", rc, bdb_errmsg());
    }
    /* the full-scan reference, per type */
    for (int t = BDB_ACCOUNT; t <= BDB_TTL; t++) {
        scan_ref r = {.type = t, .ordered = 1};
        cr_assert_eq(bdb_list_scan_type(v, t, on_record, &r), 0, "%s", bdb_errmsg());
        cr_assert_eq(bdb_list_scan_live_type(v, t, on_live, &r), 0, "%s", bdb_errmsg());
        cr_assert(r.ordered, "scan_live_type(%d) out of key order", t);
        /* H24: scan_type returns every version, as many records as the
         * buckets' counters hold for the type */
        bdb_entry_counters ec;
        bdb_list_entry_counters(v, 0, &ec);
        uint64_t want = t < BDB_CONTRACT_DATA    ? ec.count[t]
                        : t == BDB_CONTRACT_DATA ? ec.count[6] + ec.count[7]
                                                 : ec.count[t + 1];
        cr_assert_eq(r.records, want, "scan_type(%d) gave %zu records, the buckets hold %llu", t,
                     r.records, (unsigned long long)want);
        size_t model_live = 0;
        for (size_t i = 0; i < n; i++) {
            if ((int)bdbi_be32(keys[i].data) != t) continue;
            const mslot *s = slots[i];
            model_live += s->entry != NULL;
            /* the scan's newest record agrees with the model */
            const mslot *sc = model_find(&r.newest, s->key, s->key_len);
            if (s->entry) {
                cr_assert_not_null(sc, "type %d: a live key is missing from the scan", t);
                cr_assert_not_null(sc->entry, "type %d: the scan's newest record is DEAD", t);
                cr_assert_eq(sc->entry_len, s->entry_len);
                cr_assert_eq(memcmp(sc->entry, s->entry, s->entry_len), 0);
                const mslot *lv = model_find(&r.live, s->key, s->key_len);
                cr_assert_not_null(lv, "type %d: scan_live_type misses a live key", t);
                cr_assert_eq(memcmp(lv->entry, s->entry, s->entry_len), 0);
            } else {
                cr_assert(!sc || !sc->entry, "type %d: a deleted key is live in the scan", t);
            }
        }
        cr_assert_eq(r.live.n, model_live, "type %d: scan_live_type gave %zu entries, model %zu", t,
                     r.live.n, model_live);
        /* the scan saw nothing the model does not know */
        for (size_t i = 0; i < r.newest.cap; i++)
            if (r.newest.s[i].key && r.newest.s[i].entry)
                cr_assert_not_null(model_find(m, r.newest.s[i].key, r.newest.s[i].key_len));
        model_free(&r.newest);
        model_free(&r.live);
    }
    free(out);
    free(keys);
    free(slots);
    /* the hot archive */
    if (!h) return;
    n = 0;
    keys = calloc(h->n + 1, sizeof *keys);
    slots = calloc(h->n + 1, sizeof *slots);
    for (size_t i = 0; i < h->cap; i++)
        if (h->s[i].key) {
            slots[n] = &h->s[i];
            keys[n++] = (bdb_bytes){h->s[i].key, h->s[i].key_len};
        }
    out = calloc(n + 1, sizeof *out);
    cr_assert_eq(bdb_list_hot_get_many(v, keys, n, out, NULL), 0, "%s", bdb_errmsg());
    for (size_t i = 0; i < n; i++) {
        bdb_list_entry e;
        int rc = bdb_list_hot_get(v, keys[i].data, keys[i].len, &e);
        expect_entry("hot_get", slots[i], rc, &e);
        if (rc == 1) cr_assert_eq(e.type, BDB_HOT_ARCHIVED);
        expect_entry("hot_get_many", slots[i], out[i].data ? 1 : 0, &out[i]);
    }
    free(out);
    free(keys);
    free(slots);
}

static void apply_both(bdb_list *l, const batch *b, model *m, model *h)
{
    cr_assert_eq(batch_apply(l, b), 0, "ledger %u: %s", b->ledger, bdb_errmsg());
    cr_assert_eq(model_apply(m, h, b->init, b->n_init, b->live, b->n_live, b->dead, b->n_dead,
                             b->archived, b->n_archived, b->restored, b->n_restored),
                 0);
}

static void check_current(bdb_list *l, const model *m, const model *h)
{
    bdb_list_view *v = bdb_list_view_acquire(l);
    cr_assert_not_null(v);
    check_view(v, m, h);
    bdb_list_view_release(v);
}

/* Every index file of the store's current buckets, damaged in turn:
 * truncated, a bit flipped, replaced by another bucket's index, another
 * format version (docs/index-file.md). */
static int damage_index_files(bdb_list *l)
{
    int damaged = 0;
    char path[4096], other[4096] = "";
    for (int i = 0; i < 4 * BDB_LIST_LEVELS; i++) {
        bdbi_llist *ll = i >= 2 * BDB_LIST_LEVELS ? &l->hot : &l->live;
        int k = i % (2 * BDB_LIST_LEVELS);
        bdbi_lbucket *b = k % 2 ? ll->levels[k / 2].snap : ll->levels[k / 2].curr;
        for (uint32_t f = 0; b && f < b->n_files; f++) {
            cr_assert_eq(bdbi_lbucket_index_path(l, b, f, path, sizeof path), 0);
            struct stat st;
            if (stat(path, &st) != 0) continue;
            uint8_t *data;
            size_t len;
            cr_assert_eq(sc_read_all(path, &data, &len), 0);
            switch (damaged % 4) {
            case 0:
                len /= 2;
                break;
            case 1:
                data[len / 3] ^= 0x10;
                break;
            case 2:
                if (other[0]) {
                    free(data);
                    cr_assert_eq(sc_read_all(other, &data, &len), 0);
                } else {
                    data[len - 1] ^= 1;
                }
                break;
            case 3: /* another format version (the u32 at offset 8) */
                data[8] = 2;
                break;
            }
            FILE *fp = fopen(path, "wb");
            cr_assert_not_null(fp);
            cr_assert_eq(fwrite(data, 1, len, fp), len);
            fclose(fp);
            free(data);
            snprintf(other, sizeof other, "%s", path);
            damaged++;
        }
    }
    return damaged;
}

/* Every paged file of the current list has an index file that loads as
 * exactly its in-memory index (stellar-core's "serialize bucket
 * indexes"); returns how many. */
static int check_index_files(bdb_list *l, uint64_t want_page)
{
    int n = 0;
    char path[4096];
    for (int hot = 0; hot < 2; hot++)
        for (int i = 0; i < BDB_LIST_LEVELS; i++)
            for (int j = 0; j < 2; j++) {
                bdbi_llist *ll = hot ? &l->hot : &l->live;
                bdbi_lbucket *b = j ? ll->levels[i].snap : ll->levels[i].curr;
                for (uint32_t f = 0; b && f < b->n_files; f++) {
                    const bdbi_lfile *lf = &b->files[f];
                    uint64_t form = bdbi_index_form(lf->idx);
                    if (!form) continue;
                    if (want_page) cr_assert_eq(form, want_page);
                    bdbi_index_params p;
                    bdbi_list_index_params(l, hot, &p);
                    cr_assert_eq(bdbi_lbucket_index_path(l, b, f, path, sizeof path), 0);
                    bdbi_index *x = NULL;
                    int rc = bdbi_index_load(g_env, path, &p, lf->size, lf->xxh, &x);
                    cr_assert_eq(rc, 0, "%s: %s", path, bdb_errmsg());
                    cr_assert(bdbi_index_equal(x, lf->idx), "%s differs from the index", path);
                    bdbi_index_free(g_env, x);
                    n++;
                }
            }
    return n;
}

static const config configs[] = {
    {"all-in-memory", 20, 0, 1}, {"mixed-1MB", 1, 8, 1},
    {"all-paged", 0, 8, 1},      {"all-in-memory-3-shards", 20, 0, 3},
    {"mixed-3-shards", 1, 8, 3}, {"all-paged-3-shards", 0, 8, 3},
};

static void differential(const char *vectors, const config *c)
{
    batches bs = {0};
    char err[512];
    cr_assert_eq(batches_load(&bs, vectors, 0, err, sizeof err), 0, "%s", err);
    bdb_list *l = open_store(c, 0);
    model m = {0}, h = {0}, old_m, old_h;
    uint32_t first = batches_first(&bs), last = batches_last(&bs), hold_at = first + 400;
    bdb_list_view *held = NULL;
    for (uint32_t L = first; L <= last; L++) {
        apply_both(l, batches_get(&bs, L), &m, &h);
        if (L % 150 == 0 || L == last) check_current(l, &m, &h);
        if (L == hold_at) {
            held = bdb_list_view_acquire(l);
            model_copy(&old_m, &m);
            model_copy(&old_h, &h);
        }
    }
    /* the old view still reads its ledger, its files kept for it */
    bdb_list_wait_merges(l);
    check_view(held, &old_m, &old_h);
    bdb_list_view_release(held);
    model_free(&old_m);
    model_free(&old_h);
    cr_assert_eq(bdb_list_close(l), 0, "%s", bdb_errmsg());

    /* restart: the indexes come from their files (or a scan) */
    l = open_store(c, 0);
    int persisted = check_index_files(l, 0);
    if (c->cutoff_mb == 0) cr_assert_gt(persisted, 0, "no page-indexed file was persisted");
    check_current(l, &m, &h);
    int damaged = damage_index_files(l);
    cr_assert_eq(bdb_list_close(l), 0, "%s", bdb_errmsg());
    cr_assert_eq(damaged, persisted);

    /* damaged index files are rebuilt and rewritten, never used */
    l = open_store(c, 0);
    cr_assert_eq(check_index_files(l, 0), persisted);
    check_current(l, &m, &h);
    cr_assert_eq(bdb_list_close(l), 0, "%s", bdb_errmsg());
    model_free(&m);
    model_free(&h);
    batches_free(&bs);
}

ParameterizedTestParameters(reads, mix_a)
{
    return cr_make_param_array(config, configs, sizeof configs / sizeof configs[0]);
}

ParameterizedTest(const config *c, reads, mix_a)
{
    differential("mix-a", c);
}

ParameterizedTestParameters(reads, mix_b)
{
    return cr_make_param_array(config, configs, sizeof configs / sizeof configs[0]);
}

ParameterizedTest(const config *c, reads, mix_b)
{
    differential("mix-b", c);
}

/* "serialize bucket indexes": restarting with exponent 10 rebuilds every
 * page index with 1024-byte pages and rewrites its file. */
Test(reads, page_size_change_rebuilds)
{
    batches bs = {0};
    char err[512];
    cr_assert_eq(batches_load(&bs, "mix-b", 0, err, sizeof err), 0, "%s", err);
    config c = {"all-paged", 0, 8, 2};
    bdb_list *l = open_store(&c, 0);
    model m = {0}, h = {0};
    for (uint32_t L = batches_first(&bs); L <= batches_last(&bs); L++)
        apply_both(l, batches_get(&bs, L), &m, &h);
    int n = check_index_files(l, 256);
    cr_assert_gt(n, 0);
    cr_assert_eq(bdb_list_close(l), 0);
    c.exponent = 10;
    l = open_store(&c, 0);
    cr_assert_eq(check_index_files(l, 1024), n);
    check_current(l, &m, &h);
    cr_assert_eq(bdb_list_close(l), 0);
    model_free(&m);
    model_free(&h);
    batches_free(&bs);
}

/* "bucket entry counters": each file's counters equal a recount of its
 * records; the view's sums are their sums. */
Test(reads, entry_counters)
{
    batches bs = {0};
    char err[512];
    cr_assert_eq(batches_load(&bs, "mix-a", 0, err, sizeof err), 0, "%s", err);
    config c = {"mixed", 1, 8, 3};
    bdb_list *l = open_store(&c, 0);
    for (uint32_t L = batches_first(&bs); L <= batches_last(&bs); L++)
        cr_assert_eq(batch_apply(l, batches_get(&bs, L)), 0, "%s", bdb_errmsg());
    bdb_entry_counters sum[2];
    memset(sum, 0, sizeof sum);
    for (int hot = 0; hot < 2; hot++)
        for (int i = 0; i < BDB_LIST_LEVELS; i++)
            for (int j = 0; j < 2; j++) {
                bdbi_llist *ll = hot ? &l->hot : &l->live;
                bdbi_lbucket *b = j ? ll->levels[i].snap : ll->levels[i].curr;
                for (uint32_t f = 0; b && f < b->n_files; f++) {
                    const bdbi_lfile *lf = &b->files[f];
                    bdbi_entry_counters want;
                    memset(&want, 0, sizeof want);
                    size_t pos = 0;
                    while (pos < lf->map.len) {
                        uint32_t mark = bdbi_be32(lf->map.data + pos) & 0x7fffffffu;
                        const uint8_t *rec = lf->map.data + pos + 4;
                        pos += 4 + mark;
                        int32_t type = (int32_t)bdbi_be32(rec);
                        if (type == BDB_METAENTRY) continue;
                        int dead = hot ? type == BDB_HOT_LIVE : type == BDB_DEADENTRY;
                        const uint8_t *key = dead ? rec + 4 : rec + 8;
                        int et = (int)bdbi_be32(key), kind = et;
                        if (et == BDB_CONTRACT_DATA) {
                            /* durability: the key's last field; entries: read the key */
                            uint8_t k[4096];
                            size_t kl = mark - 4;
                            if (!dead)
                                cr_assert_eq(
                                    bdb_ledger_entry_key(rec + 4, mark - 4, k, sizeof k, &kl), 0);
                            else
                                memcpy(k, rec + 4, kl);
                            kind = bdbi_be32(k + kl - 4) == 0 ? 6 : 7;
                        } else if (et > BDB_CONTRACT_DATA) {
                            kind = et + 1;
                        }
                        want.count[kind]++;
                        want.bytes[kind] += mark;
                    }
                    const bdbi_entry_counters *got = bdbi_index_counters(lf->idx);
                    for (int k = 0; k < BDBI_INDEX_COUNTER_KINDS; k++) {
                        cr_assert_eq(got->count[k], want.count[k], "%s kind %d count", lf->name, k);
                        cr_assert_eq(got->bytes[k], want.bytes[k], "%s kind %d bytes", lf->name, k);
                        sum[hot].count[k] += want.count[k];
                        sum[hot].bytes[k] += want.bytes[k];
                    }
                }
            }
    bdb_list_view *v = bdb_list_view_acquire(l);
    for (int hot = 0; hot < 2; hot++) {
        bdb_entry_counters c2;
        bdb_list_entry_counters(v, hot, &c2);
        cr_assert_eq(memcmp(&c2, &sum[hot], sizeof c2), 0, "list %d sums", hot);
    }
    cr_assert_gt(sum[0].count[BDB_ACCOUNT], 0);
    cr_assert_gt(sum[1].count[7] + sum[1].count[8], 0, "the vectors archive entries");
    bdb_list_view_release(v);
    cr_assert_eq(bdb_list_close(l), 0);
    batches_free(&bs);
}

Test(reads, bad_arguments)
{
    config c = {"all-paged", 0, 8, 1};
    bdb_list *l = open_store(&c, 0);
    uint8_t rec[512];
    size_t n = 0;
    {
        /* one ACCOUNT entry: type 0, AccountID, balance... via the vectors'
         * first ledger would do too; a minimal valid entry is enough */
        batches bs = {0};
        char err[512];
        cr_assert_eq(batches_load(&bs, "mix-a", 20, err, sizeof err), 0, "%s", err);
        for (uint32_t L = 1; L <= 20; L++)
            cr_assert_eq(batch_apply(l, batches_get(&bs, L)), 0, "%s", bdb_errmsg());
        batches_free(&bs);
    }
    bdb_list_view *v = bdb_list_view_acquire(l);
    bdb_list_entry e;
    memset(rec, 0xff, sizeof rec);
    cr_assert_eq(bdb_list_get(v, rec, 40, &e), BDB_EFORMAT);
    cr_assert_eq(bdb_list_get(v, rec, 0, &e), BDB_EFORMAT);
    bdb_bytes k = {rec, 3};
    bdb_list_entry out;
    cr_assert_eq(bdb_list_get_many(v, &k, 1, &out, &n), BDB_EFORMAT);
    cr_assert_eq(bdb_list_scan_type(v, 10, on_record, NULL), BDB_EINVAL);
    cr_assert_eq(bdb_list_scan_live_type(v, -1, on_live, NULL), BDB_EINVAL);
    cr_assert_eq(bdb_list_pool_share_trustlines(v, rec, 35, rec, 4, on_record, NULL), BDB_EFORMAT);
    bdb_list_view_release(v);
    cr_assert_eq(bdb_list_close(l), 0);
}
