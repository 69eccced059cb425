/* The bucket map's API semantics (include/bucketdb/map.h): iteration (all
 * shards, one shard, key ranges, KEYS_ONLY, early stop, writes from the
 * callback), update callbacks, counts, the shard of 32-byte keys computed
 * here, key and element sizes, ref counts, slot-list lengths, short read
 * buffers and bad arguments. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>

#include "map_fixture.h"

TestSuite(map_api, .init = map_setup, .fini = map_teardown, .timeout = 60);

/* A map of 4 shards and the model of what it holds: 400 keys, 300 present
 * with lists of 0..9 elements and ref counts. */
static bdb_map *filled(mt_model *md, uint32_t shards, int refs)
{
    bdb_map_options o;
    mopts(&o, shards);
    o.ref_counts = refs;
    bdb_map *m = mopen(&o);
    cr_assert_eq(mt_model_init(md, 400, 32, 16, shards, refs, 1234), 0);
    uint64_t seed = 66;
    for (size_t i = 0; i < 300; i++) {
        uint8_t v[9 * 16];
        mt_fill(&seed, v, sizeof v);
        size_t n = mt_below(&seed, 10);
        uint64_t ref = i % 3 ? 1 : mt_below(&seed, 5);
        minsert(m, mt_key(md, i), v, n, ref);
        mt_model_set(md, i, v, n, ref);
    }
    return m;
}

Test(map_api, iterate_all_and_each_shard)
{
    mt_model md;
    bdb_map *m = filled(&md, 4, 1);
    char why[512];
    cr_assert_eq(mt_check_iter(m, &md, BDB_MAP_ALL_SHARDS, why, sizeof why), 0, "%s", why);
    for (uint32_t s = 0; s < 4; s++)
        cr_assert_eq(mt_check_iter(m, &md, s, why, sizeof why), 0, "%s", why);
    mt_model_free(&md);
    mclose(m);
}

typedef struct range_ctx {
    const mt_model *m;
    uint8_t *seen;
    int flags, bad;
    uint64_t visits;
    int stop_at, stop_rc;
} range_ctx;

static int range_visit(void *ctx, const void *key, const bdb_map_value *v)
{
    range_ctx *c = ctx;
    c->visits++;
    long i = mt_model_find(c->m, key);
    if (i < 0 || c->seen[i] || !c->m->v[i].present) return c->bad = 1, -99;
    c->seen[i] = 1;
    if ((c->flags & BDB_MAP_KEYS_ONLY) ? v != NULL : v == NULL) return c->bad = 2, -99;
    if (v && (v->n != c->m->v[i].n || v->ref_count != c->m->v[i].ref)) return c->bad = 3, -99;
    if (c->stop_at && (int)c->visits == c->stop_at) return c->stop_rc;
    return 0;
}

/* Visits [lo, hi) of `shard` and compares with the model's keys in range. */
static void check_range(bdb_map *m, const mt_model *md, uint32_t shard, const uint8_t *lo,
                        const uint8_t *hi, int flags)
{
    range_ctx c = {md, calloc(md->nkeys, 1), flags, 0, 0, 0, 0};
    int rc = bdb_map_iterate(m, shard, lo, hi, flags, range_visit, &c);
    cr_assert_eq(c.bad, 0, "visit check %d failed", c.bad);
    cr_assert_eq(rc, 0, "%d %s", rc, bdb_errmsg());
    for (size_t i = 0; i < md->nkeys; i++) {
        const uint8_t *k = mt_key(md, i);
        int in = md->v[i].present && (shard == BDB_MAP_ALL_SHARDS || md->shard[i] == shard) &&
                 (!lo || memcmp(k, lo, 32) >= 0) && (!hi || memcmp(k, hi, 32) < 0);
        cr_assert_eq(c.seen[i], in, "key %zu (shard %u): visited %d, in range %d", i, md->shard[i],
                     c.seen[i], in);
    }
    free(c.seen);
}

Test(map_api, iterate_ranges)
{
    mt_model md;
    bdb_map *m = filled(&md, 4, 0);
    uint64_t seed = 5;
    for (int t = 0; t < 20; t++) {
        uint8_t a[32], b[32];
        mt_fill(&seed, a, 32);
        mt_fill(&seed, b, 32);
        if (memcmp(a, b, 32) > 0) {
            uint8_t x[32];
            memcpy(x, a, 32), memcpy(a, b, 32), memcpy(b, x, 32);
        }
        check_range(m, &md, BDB_MAP_ALL_SHARDS, a, b, 0);
        check_range(m, &md, BDB_MAP_ALL_SHARDS, NULL, b, 0);
        check_range(m, &md, BDB_MAP_ALL_SHARDS, a, NULL, BDB_MAP_KEYS_ONLY);
        check_range(m, &md, (uint32_t)t % 4, a, b, t % 2 ? BDB_MAP_KEYS_ONLY : 0);
    }
    /* bounds that are present keys: lo included, hi excluded */
    check_range(m, &md, BDB_MAP_ALL_SHARDS, mt_key(&md, 3), mt_key(&md, 7), 0);
    check_range(m, &md, BDB_MAP_ALL_SHARDS, mt_key(&md, 7), mt_key(&md, 3), 0);
    check_range(m, &md, BDB_MAP_ALL_SHARDS, mt_key(&md, 9), mt_key(&md, 9), 0); /* empty */
    /* a range inside shard 1 (keys 0x40.. to 0x7F..), iterated over all shards */
    uint8_t lo[32] = {0x50}, hi[32] = {0x70};
    check_range(m, &md, BDB_MAP_ALL_SHARDS, lo, hi, 0);
    check_range(m, &md, 2, lo, hi, 0);
    mt_model_free(&md);
    mclose(m);
}

Test(map_api, iterate_stops_with_callback_value)
{
    mt_model md;
    bdb_map *m = filled(&md, 4, 0);
    int codes[] = {42, -7, 1};
    for (int i = 0; i < 3; i++) {
        range_ctx c = {&md, calloc(md.nkeys, 1), 0, 0, 0, 5, codes[i]};
        int rc = bdb_map_iterate(m, BDB_MAP_ALL_SHARDS, NULL, NULL, 0, range_visit, &c);
        cr_assert_eq(rc, codes[i], "iterate returned %d, the callback %d", rc, codes[i]);
        cr_assert_eq(c.visits, 5, "%llu visits after a stop at the 5th",
                     (unsigned long long)c.visits);
        free(c.seen);
    }
    /* an empty map visits nothing */
    bdb_map_options o;
    mopts(&o, 4);
    bdb_map *e = mopen(&o);
    range_ctx c = {&md, calloc(md.nkeys, 1), 0, 0, 0, 0, 0};
    cr_assert_eq(bdb_map_iterate(e, BDB_MAP_ALL_SHARDS, NULL, NULL, 0, range_visit, &c), 0);
    cr_assert_eq(c.visits, 0);
    free(c.seen);
    mclose(e);
    mt_model_free(&md);
    mclose(m);
}

/* The callback may read the map, not change it: every write (to the shard
 * being visited or another one) and bdb_map_flush fail with BDB_EBUSY and
 * change nothing. */
typedef struct write_ctx {
    bdb_map *m;
    const mt_model *md;
    uint8_t same[32], other[32];
    int rc_insert, rc_try, rc_delete, rc_update, rc_other, rc_other_del, rc_batch, rc_flush;
    int read_ok, visits;
} write_ctx;

static int write_visit(void *ctx, const void *key, const bdb_map_value *v)
{
    write_ctx *c = ctx;
    (void)v;
    if (c->visits++) return 0;
    uint8_t buf[16] = {9};
    size_t n;
    c->read_ok = bdb_map_read(c->m, key, NULL, 0, &n, NULL) == 1;
    c->rc_insert = bdb_map_insert(c->m, c->same, buf, 1, 1);
    c->rc_try = bdb_map_try_insert(c->m, c->same, buf, 1, 1, NULL);
    c->rc_delete = bdb_map_delete(c->m, key);
    set_ctx s = {.slots = buf, .n = 1, .ref = 1};
    c->rc_update = bdb_map_update(c->m, key, set_cb, &s);
    c->rc_other = bdb_map_insert(c->m, c->other, buf, 1, 1);
    c->rc_other_del = bdb_map_delete(c->m, mt_key(c->md, 299));
    c->rc_batch = bdb_map_batch_insert_non_duplicates(c->m, c->other, buf, 1, NULL, NULL, NULL);
    c->rc_flush = bdb_map_flush(c->m);
    return 0;
}

Test(map_api, iterate_callback_writes)
{
    mt_model md;
    bdb_map *m = filled(&md, 4, 0);
    for (uint32_t shard = 0; shard < 2; shard++) { /* one shard, then all shards */
        uint32_t it = shard ? BDB_MAP_ALL_SHARDS : 2;
        write_ctx c = {.m = m, .md = &md};
        uint64_t seed = 40 + shard;
        /* with ALL_SHARDS the first visited key is in the first non-empty shard, 0 */
        mt_key_in_shard(&seed, c.same, shard ? 0 : 2, 4);
        mt_key_in_shard(&seed, c.other, 3, 4);
        cr_assert_eq(bdb_map_iterate(m, it, NULL, NULL, 0, write_visit, &c), 0);
        cr_assert(c.read_ok, "reads from the callback work");
        cr_assert_eq(c.rc_insert, BDB_EBUSY, "insert into the visited shard: %d", c.rc_insert);
        cr_assert_eq(c.rc_try, BDB_EBUSY, "try_insert into the visited shard: %d", c.rc_try);
        cr_assert_eq(c.rc_delete, BDB_EBUSY, "delete in the visited shard: %d", c.rc_delete);
        cr_assert_eq(c.rc_update, BDB_EBUSY, "update in the visited shard: %d", c.rc_update);
        cr_assert_eq(c.rc_other, BDB_EBUSY, "insert into another shard: %d", c.rc_other);
        cr_assert_eq(c.rc_other_del, BDB_EBUSY, "delete in another shard: %d", c.rc_other_del);
        cr_assert_eq(c.rc_batch, BDB_EBUSY, "batch insert: %d", c.rc_batch);
        cr_assert_eq(c.rc_flush, BDB_EBUSY, "flush: %d", c.rc_flush);
        expect_absent(m, c.same);
        expect_absent(m, c.other);
        expect_model(m, &md);
    }
    mt_model_free(&md);
    mclose(m);
}

/* Update callbacks: see the exact current value, errors change nothing,
 * DELETE deletes (or leaves absent), writes (to any shard) and flushes
 * from the callback are BDB_EBUSY, and a value the insert refuses makes
 * update fail with its error. */
typedef struct nested_ctx {
    bdb_map *m;
    uint8_t same[32], other[32];
    int rc_nested, rc_other, rc_flush;
    uint8_t v[16];
} nested_ctx;

static int nested_cb(void *ctx, const bdb_map_value *cur, bdb_map_value *out)
{
    nested_ctx *c = ctx;
    (void)cur;
    c->rc_nested = bdb_map_insert(c->m, c->same, c->v, 1, 1);
    c->rc_other = bdb_map_insert(c->m, c->other, c->v, 1, 1);
    c->rc_flush = bdb_map_flush(c->m);
    out->slots = c->v;
    out->n = 1;
    out->ref_count = 1;
    return BDB_MAP_SET;
}

Test(map_api, update_callbacks)
{
    mt_model md;
    bdb_map *m = filled(&md, 4, 1);
    for (size_t i = 0; i < 30; i++) { /* the callback sees each value exactly */
        set_ctx c = {.err = BDB_ECANCELED, .es = 16};
        int rc = bdb_map_update(m, mt_key(&md, i), set_cb, &c);
        cr_assert_eq(rc, BDB_ECANCELED, "the callback's error is returned: %d", rc);
        cr_assert_eq(c.calls, 1);
        cr_assert_eq(c.saw_cur, 1);
        cr_assert_eq(c.cur_n, md.v[i].n);
        cr_assert_eq(c.cur_ref, md.v[i].ref);
        if (md.v[i].n) cr_assert_arr_eq(c.cur_first, md.v[i].slots, 16);
    }
    set_ctx c = {.err = BDB_ECANCELED};
    cr_assert_eq(bdb_map_update(m, mt_key(&md, 350), set_cb, &c), BDB_ECANCELED);
    cr_assert_eq(c.saw_cur, 0);
    expect_model(m, &md); /* nothing changed */

    set_ctx del = {.n = SIZE_MAX};
    cr_assert_eq(bdb_map_update(m, mt_key(&md, 4), set_cb, &del), 0);
    mt_model_del(&md, 4);
    cr_assert_eq(bdb_map_update(m, mt_key(&md, 351), set_cb, &del), 0, "DELETE of an absent key");
    expect_model(m, &md);

    set_ctx big = {.slots = md.keys, .n = (size_t)BDB_MAP_MAX_SLOTS + 1, .ref = 1};
    cr_assert_eq(bdb_map_update(m, mt_key(&md, 5), set_cb, &big), BDB_EINVAL);
    expect_model(m, &md);

    nested_ctx n = {.m = m, .v = {1, 2, 3}};
    uint64_t seed = 3;
    mt_key_in_shard(&seed, n.same, md.shard[6], 4);
    mt_key_in_shard(&seed, n.other, (md.shard[6] + 1) % 4, 4);
    cr_assert_eq(bdb_map_update(m, mt_key(&md, 6), nested_cb, &n), 0);
    cr_assert_eq(n.rc_nested, BDB_EBUSY, "insert into the own shard from the callback: %d",
                 n.rc_nested);
    cr_assert_eq(n.rc_other, BDB_EBUSY, "insert into another shard from the callback: %d",
                 n.rc_other);
    cr_assert_eq(n.rc_flush, BDB_EBUSY, "flush from the callback: %d", n.rc_flush);
    expect_absent(m, n.same);
    expect_absent(m, n.other);
    mt_model_set(&md, 6, n.v, 1, 1);
    expect_model(m, &md);
    mt_model_free(&md);
    mclose(m);
}

Test(map_api, counts_per_shard)
{
    bdb_map_options o;
    mopts(&o, 16);
    bdb_map *m = mopen(&o);
    mt_model md;
    cr_assert_eq(mt_model_init(&md, 1000, 32, 16, 16, 0, 77), 0);
    uint8_t v[16] = {0};
    for (size_t i = 0; i < 1000; i++) {
        minsert(m, mt_key(&md, i), v, 1, 1);
        mt_model_set(&md, i, v, 1, 1);
    }
    for (size_t i = 0; i < 1000; i += 3) {
        cr_assert_eq(bdb_map_delete(m, mt_key(&md, i)), 1);
        mt_model_del(&md, i);
    }
    uint64_t sum = 0;
    for (uint32_t s = 0; s < 16; s++) {
        uint64_t c = bdb_map_count(m, s);
        cr_assert_eq(c, mt_model_count(&md, s), "shard %u", s);
        cr_assert_eq(sstats(m, s).count, c);
        sum += c;
    }
    cr_assert_eq(sum, 666);
    cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 666);
    cr_assert_eq(mstats(m).total.count, 666);
    mt_model_free(&md);
    mclose(m);
}

/* 32-byte keys: the top log2(max_buckets) bits of the first 8 bytes read
 * big-endian (Agave's bucket_ix), computed here. */
Test(map_api, shard_of_32_byte_keys)
{
    uint32_t shard_counts[] = {1, 2, 16, 1024, BDB_MAP_MAX_SHARDS};
    for (int t = 0; t < 5; t++) {
        bdb_map_options o;
        mopts(&o, shard_counts[t]);
        bdb_map *m = mopen(&o);
        uint64_t seed = (uint64_t)t;
        uint8_t key[32];
        for (int i = 0; i < 1000; i++) {
            mt_fill(&seed, key, 32);
            if (i < 4) memset(key, i == 0 ? 0 : i == 1 ? 0xFF : i == 2 ? 0x80 : 0x7F, 32);
            uint32_t want = mt_shard32(key, shard_counts[t]);
            cr_assert_eq(bdb_map_shard_of(m, key), want, "%u shards, key %d", shard_counts[t], i);
        }
        /* only the first 8 bytes count */
        uint8_t k2[32];
        memcpy(k2, key, 8);
        memset(k2 + 8, 0xC3, 24);
        cr_assert_eq(bdb_map_shard_of(m, k2), bdb_map_shard_of(m, key));
        mclose(m);
    }
}

/* Key sizes other than 32 are hashed: shards in range and spread; keys
 * differing only in their last byte are distinct. Several element sizes,
 * with and without ref counts, against the model. */
Test(map_api, key_and_elem_sizes)
{
    struct {
        uint32_t ks, es;
        int refs;
    } cfg[] = {{8, 8, 0},  {8, 16, 1}, {20, 24, 0},  {20, 1, 1},
               {32, 1, 0}, {1, 8, 1},  {256, 24, 1}, {33, BDB_MAP_MAX_ELEM, 0}};
    for (int t = 0; t < 8; t++) {
        bdb_map_options o;
        mopts(&o, 4);
        o.key_size = cfg[t].ks;
        o.elem_size = cfg[t].es;
        o.ref_counts = cfg[t].refs;
        bdb_map *m = mopen(&o);
        size_t nk = cfg[t].ks == 1 ? 200 : 300;
        mt_model md;
        cr_assert_eq(mt_model_init(&md, nk, cfg[t].ks, cfg[t].es, 4, cfg[t].refs, 900 + t), 0);
        if (cfg[t].ks > 1) /* key 1 = key 0 but for the last byte */
            memcpy(md.keys + cfg[t].ks, md.keys, cfg[t].ks - 1);
        if (cfg[t].ks > 1) md.keys[2 * cfg[t].ks - 1] = (uint8_t)(md.keys[cfg[t].ks - 1] ^ 1);
        mt_model_shards(&md, m);
        int per[4] = {0};
        for (size_t i = 0; i < nk; i++) {
            cr_assert_lt(md.shard[i], 4);
            per[md.shard[i]]++;
        }
        for (int s = 0; s < 4; s++)
            cr_assert_gt(per[s], 10, "keys of size %u: shard %d", cfg[t].ks, s);
        uint64_t seed = 50 + (uint64_t)t;
        uint8_t *v = malloc(6 * (size_t)cfg[t].es);
        for (int round = 0; round < 3; round++)
            for (size_t i = 0; i < nk; i++) {
                if (mt_below(&seed, 4) == 0) {
                    cr_assert_eq(bdb_map_delete(m, mt_key(&md, i)), md.v[i].present);
                    mt_model_del(&md, i);
                    continue;
                }
                size_t n = mt_below(&seed, 6);
                mt_fill(&seed, v, n * cfg[t].es);
                uint64_t ref = mt_below(&seed, 2) ? 1 : mt_next(&seed) >> 1;
                minsert(m, mt_key(&md, i), v, n, ref);
                mt_model_set(&md, i, v, n, ref);
            }
        expect_model(m, &md);
        free(v);
        mt_model_free(&md);
        mclose(m);
    }
}

/* Without ref counts, the ref count passed in is ignored (1 returned, and
 * one element stays inline); with them, any u64 round-trips. */
Test(map_api, ref_counts)
{
    for (int refs = 0; refs < 2; refs++) {
        bdb_map_options o;
        mopts(&o, 1);
        o.ref_counts = refs;
        bdb_map *m = mopen(&o);
        uint64_t rs[] = {0, 1, 2, 1ull << 40, UINT64_MAX - 1, UINT64_MAX};
        size_t ns[] = {0, 1, 3};
        uint64_t seed = 1, data = 0;
        uint8_t keys[18][32], v[3 * 16];
        mt_fill(&seed, v, sizeof v);
        for (int i = 0; i < 18; i++) {
            mt_fill(&seed, keys[i], 32);
            minsert(m, keys[i], v, ns[i % 3], rs[i / 3]);
            if (ns[i % 3] > 1 || (refs && rs[i / 3] != 1)) data++;
        }
        for (int i = 0; i < 18; i++) expect_val(m, keys[i], v, ns[i % 3], refs ? rs[i / 3] : 1, 16);
        cr_assert_eq(sstats(m, 0).data_cells, data, "ref counts %s", refs ? "on" : "off");
        mclose(m);
    }
}

/* Slot lists of many lengths round-trip, on separate keys and on one key
 * moved through every length and back; data cells follow. */
Test(map_api, slot_list_lengths)
{
    bdb_map_options o;
    mopts(&o, 2);
    bdb_map *m = mopen(&o);
    size_t lens[] = {0, 1, 2, 3, 4, 5, 8, 9, 1000, 17, 2, 1, 0, 1000, 0};
    enum { NL = sizeof lens / sizeof lens[0] };
    uint8_t *v = malloc(1100 * 16); /* lists start at v + i and v + 2i */
    uint64_t seed = 2;
    mt_fill(&seed, v, 1100 * 16);
    uint8_t keys[NL][32], one[32];
    mt_fill(&seed, one, 32);
    for (int i = 0; i < NL; i++) {
        mt_fill(&seed, keys[i], 32);
        minsert(m, keys[i], v + i, lens[i], 1);
        minsert(m, one, v + 2 * i, lens[i], 1);
        expect_val(m, one, v + 2 * i, lens[i], 1, 16);
    }
    uint64_t data = lens[NL - 1] > 1;
    for (int i = 0; i < NL; i++) {
        expect_val(m, keys[i], v + i, lens[i], 1, 16);
        data += lens[i] > 1;
    }
    bdb_map_stats st = mstats(m);
    cr_assert_eq(st.total.data_cells, data, "data cells %llu, lists of 2+ elements %llu",
                 (unsigned long long)st.total.data_cells, (unsigned long long)data);
    cr_assert_eq(bdb_map_insert(m, one, v, (size_t)BDB_MAP_MAX_SLOTS + 1, 1), BDB_EINVAL);
    expect_val(m, one, v + 2 * (NL - 1), 0, 1, 16);
    free(v);
    mclose(m);

    /* the longest list allowed, with 1-byte elements */
    o.elem_size = 1;
    m = mopen(&o);
    uint8_t *big = malloc(BDB_MAP_MAX_SLOTS);
    mt_fill(&seed, big, BDB_MAP_MAX_SLOTS);
    minsert(m, one, big, BDB_MAP_MAX_SLOTS, 1);
    expect_val(m, one, big, BDB_MAP_MAX_SLOTS, 1, 1);
    free(big);
    mclose(m);
}

/* A buffer shorter than the list gets its first cap elements; *n is the
 * full length; cap 0 asks for the length only. */
Test(map_api, read_short_buffer)
{
    bdb_map_options o;
    mopts(&o, 2);
    o.ref_counts = 1;
    bdb_map *m = mopen(&o);
    uint64_t seed = 8;
    uint8_t key[32], v[9 * 16], buf[9 * 16];
    mt_fill(&seed, key, 32);
    mt_fill(&seed, v, sizeof v);
    minsert(m, key, v, 9, 4);
    size_t n = 0;
    uint64_t ref = 0;
    memset(buf, 0xEE, sizeof buf);
    cr_assert_eq(bdb_map_read(m, key, buf, 3, &n, &ref), 1);
    cr_assert_eq(n, 9);
    cr_assert_eq(ref, 4);
    cr_assert_arr_eq(buf, v, 3 * 16);
    for (size_t i = 3 * 16; i < sizeof buf; i++) cr_assert_eq(buf[i], 0xEE, "byte %zu", i);
    n = 0;
    cr_assert_eq(bdb_map_read(m, key, NULL, 0, &n, NULL), 1);
    cr_assert_eq(n, 9);
    minsert(m, key, v, 1, 4); /* a data cell of class 0 */
    memset(buf, 0xEE, sizeof buf);
    cr_assert_eq(bdb_map_read(m, key, buf, 0, &n, &ref), 1);
    cr_assert_eq(n, 1);
    cr_assert_eq(buf[0], 0xEE, "cap 0 copies nothing");
    mclose(m);
}

static void open_fails(bdb_map_options *o, const char *option)
{
    bdb_map *m = (bdb_map *)&m;
    int rc = bdb_map_open(g_env, o, &m);
    cr_assert_eq(rc, BDB_EINVAL, "%s: open returned %d", option, rc);
    cr_assert(strstr(bdb_errmsg(), option), "the message names %s: \"%s\"", option, bdb_errmsg());
    if (rc == 0) bdb_map_close(m);
}

Test(map_api, bad_options)
{
    bdb_map_options o;
    uint32_t bad_buckets[] = {0, 3, 12, 2 * BDB_MAP_MAX_SHARDS};
    for (int i = 0; i < 4; i++) {
        mopts(&o, bad_buckets[i]);
        open_fails(&o, "max_buckets");
    }
    mopts(&o, 2), o.key_size = 0, open_fails(&o, "key_size");
    mopts(&o, 2), o.key_size = BDB_MAP_MAX_KEY + 1, open_fails(&o, "key_size");
    mopts(&o, 2), o.elem_size = 0, open_fails(&o, "elem_size");
    mopts(&o, 2), o.elem_size = BDB_MAP_MAX_ELEM + 1, open_fails(&o, "elem_size");
    mopts(&o, 2), o.max_search = 0, open_fails(&o, "max_search");
    mopts(&o, 2), o.max_search = 256, open_fails(&o, "max_search");
    const char *many[BDB_MAP_MAX_DRIVES + 1];
    for (unsigned i = 0; i <= BDB_MAP_MAX_DRIVES; i++) many[i] = g_dir;
    mopts(&o, 2), o.drives = many, o.n_drives = BDB_MAP_MAX_DRIVES + 1, open_fails(&o, "drives");
    mopts(&o, 2), o.drives = NULL, o.n_drives = 1, open_fails(&o, "drives");
    mopts(&o, 2);
    cr_assert_eq(bdb_map_open(g_env, &o, NULL), BDB_EINVAL);
    /* the limits themselves are accepted */
    mopts(&o, 1), o.key_size = BDB_MAP_MAX_KEY, o.elem_size = BDB_MAP_MAX_ELEM, o.max_search = 1;
    mclose(mopen(&o));
    mopts(&o, BDB_MAP_MAX_SHARDS), o.key_size = 1, o.elem_size = 1, o.max_search = 255;
    mclose(mopen(&o));
    cr_assert_eq(bdb_map_close(NULL), 0);
}

Test(map_api, bad_arguments)
{
    bdb_map_options o;
    mopts(&o, 2);
    bdb_map *m = mopen(&o);
    uint64_t seed = 4;
    uint8_t key[32], v[2 * 16] = {1};
    mt_fill(&seed, key, 32);
    minsert(m, key, v, 2, 1);
    uint8_t k2[32];
    mt_fill(&seed, k2, 32);
    size_t n;
    cr_assert_eq(bdb_map_insert(m, NULL, v, 1, 1), BDB_EINVAL);
    cr_assert_eq(bdb_map_insert(m, k2, NULL, 2, 1), BDB_EINVAL);
    cr_assert_eq(bdb_map_insert(m, k2, v, (size_t)BDB_MAP_MAX_SLOTS + 1, 1), BDB_EINVAL);
    cr_assert_eq(bdb_map_try_insert(m, NULL, v, 1, 1, NULL), BDB_EINVAL);
    cr_assert_eq(bdb_map_try_insert(m, k2, v, (size_t)BDB_MAP_MAX_SLOTS + 1, 1, NULL), BDB_EINVAL);
    cr_assert_eq(bdb_map_read(m, NULL, v, 1, &n, NULL), BDB_EINVAL);
    cr_assert_eq(bdb_map_read(m, key, NULL, 2, &n, NULL), BDB_EINVAL);
    cr_assert_eq(bdb_map_delete(m, NULL), BDB_EINVAL);
    cr_assert_eq(bdb_map_update(m, key, NULL, NULL), BDB_EINVAL);
    cr_assert_eq(bdb_map_update(m, NULL, set_cb, NULL), BDB_EINVAL);
    cr_assert_eq(bdb_map_batch_insert_non_duplicates(m, NULL, v, 3, NULL, NULL, NULL), BDB_EINVAL);
    cr_assert_eq(bdb_map_batch_insert_non_duplicates(m, key, NULL, 1, NULL, NULL, NULL),
                 BDB_EINVAL);
    cr_assert_eq(bdb_map_grow(m, NULL), BDB_EINVAL);
    bdb_map_need need = {BDB_MAP_GROW_TABLE, 2, 0, 0};
    cr_assert_eq(bdb_map_grow(m, &need), BDB_EINVAL, "shard 2 of 2");
    need = (bdb_map_need){3, 0, 0, 0};
    cr_assert_eq(bdb_map_grow(m, &need), BDB_EINVAL, "storage 3");
    bdb_map_shard_stats ss;
    cr_assert_eq(bdb_map_shard_stats_get(m, 2, &ss), BDB_EINVAL);
    cr_assert_eq(bdb_map_iterate(m, 2, NULL, NULL, 0, range_visit, NULL), BDB_EINVAL, "shard 2");
    cr_assert_eq(bdb_map_iterate(m, 0, NULL, NULL, 0, NULL, NULL), BDB_EINVAL, "no callback");
    cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 1, "nothing changed");
    expect_val(m, key, v, 2, 1, 16);
    expect_absent(m, k2);
    mclose(m);
}

/* read_many answers what the inserted values say, key by key, for present
 * and absent keys mixed, lists longer than the buffer and ref counts, in
 * groups that span shards. */
Test(map_api, read_many_matches_the_inserted_values)
{
    bdb_map_options o;
    mopts(&o, 8);
    o.elem_size = 8;
    o.ref_counts = 1;
    bdb_map *m = mopen(&o);
    enum { N = 700, CAP = 3 };
    static uint8_t keys[N][32];
    uint64_t s = 77;
    for (size_t i = 0; i < N; i++) mt_fill(&s, keys[i], 32);
    /* even keys present with i % 6 elements (element j = i * 16 + j), ref i % 3 + 1 */
    for (size_t i = 0; i < N; i += 2) {
        uint64_t list[6];
        for (size_t j = 0; j < i % 6; j++) list[j] = i * 16 + j;
        minsert(m, keys[i], list, i % 6, i % 3 + 1);
    }
    static uint64_t out[N][CAP];
    size_t lens[N];
    uint64_t refs[N];
    int found[N];
    memset(out, 0xee, sizeof out);
    int64_t hits = bdb_map_read_many(m, keys, N, out, CAP, lens, refs, found);
    cr_assert_eq(hits, N / 2, "%lld hits", (long long)hits);
    for (size_t i = 0; i < N; i++) {
        if (i % 2) {
            cr_assert_eq(found[i], 0, "key %zu is absent", i);
            cr_assert_eq(lens[i], 0);
            continue;
        }
        cr_assert_eq(found[i], 1, "key %zu is present", i);
        cr_assert_eq(lens[i], i % 6, "key %zu: %zu elements", i, lens[i]);
        cr_assert_eq(refs[i], i % 3 + 1, "key %zu: ref count", i);
        for (size_t j = 0; j < lens[i] && j < CAP; j++)
            cr_assert_eq(out[i][j], i * 16 + j, "key %zu element %zu", i, j);
        for (size_t j = lens[i]; j < CAP; j++)
            cr_assert_eq(out[i][j], 0xeeeeeeeeeeeeeeeeull, "key %zu: slot %zu written", i, j);
    }
    /* NULL outputs and no slots are allowed */
    cr_assert_eq(bdb_map_read_many(m, keys, N, NULL, 0, NULL, NULL, NULL), N / 2);
    cr_assert_eq(bdb_map_read_many(m, keys, 0, NULL, 0, NULL, NULL, NULL), 0);
    cr_assert_eq(bdb_map_read_many(m, NULL, 1, NULL, 0, NULL, NULL, NULL), BDB_EINVAL);
    cr_assert_eq(bdb_map_read_many(m, keys, 1, NULL, 2, NULL, NULL, NULL), BDB_EINVAL);
    mclose(m);
}
