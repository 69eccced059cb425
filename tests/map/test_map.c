/* The bucket map: the scenarios of Agave's bucket_map.rs tests (insert,
 * insert2, update, update_to_0_len, delete, n_drives, grow_read,
 * n_delete), adapted to include/bucketdb/map.h, and the write paths around
 * them: try_insert's needs and bdb_map_grow, the startup batch insert's
 * duplicates, the anticipated count, and max_size.
 *
 * Expected values come from the contract (map.h, docs/map-files.md) or
 * from a model kept by the test, never from the map's own earlier output.
 * Shards of 32-byte keys are computed here (Agave's bucket_ix). */
#include "config.h"

#include "map_fixture.h"

TestSuite(map, .init = map_setup, .fini = map_teardown, .timeout = 60);

Test(map, options_defaults)
{
    bdb_map_options o;
    memset(&o, 0x5A, sizeof o);
    bdb_map_options_init(&o);
    cr_assert_eq(o.max_buckets, 16);
    cr_assert_null(o.drives);
    cr_assert_eq(o.n_drives, 0);
    cr_assert_eq(o.max_search, 32);
    cr_assert_null(o.restart_config_file);
    cr_assert_eq(o.key_size, 32);
    cr_assert_eq(o.elem_size, 16);
    cr_assert_eq(o.ref_counts, 0);
    cr_assert_eq(o.memory_budget, 0);
    cr_assert_eq(o.ages_to_stay_in_memory, 0);
    cr_assert_eq(o.age_interval_ms, 0);
    cr_assert_eq(o.max_size, 0);
    cr_assert_eq(o.fsync, 1);
    cr_assert_eq(o.seed, 0);
}

/* bucket_map_test_insert: 2 shards, update(k, [0]), read == [0]. */
Test(map, insert)
{
    bdb_map_options o;
    mopts(&o, 2);
    o.elem_size = 8;
    bdb_map *m = mopen(&o);
    uint64_t seed = 1, v0 = 0;
    uint8_t key[32];
    mt_fill(&seed, key, 32);
    expect_absent(m, key);
    set_ctx c = {.slots = &v0, .n = 1, .ref = 1};
    cr_assert_eq(bdb_map_update(m, key, set_cb, &c), 0, "%s", bdb_errmsg());
    cr_assert_eq(c.calls, 1);
    cr_assert_eq(c.saw_cur, 0, "the key was absent: cur must be NULL");
    expect_val(m, key, &v0, 1, 1, 8);
    cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 1);
    cr_assert_eq(bdb_map_count(m, mt_shard32(key, 2)), 1);
    cr_assert_eq(bdb_map_count(m, 1 - mt_shard32(key, 2)), 0);
    mclose(m);
}

/* bucket_map_test_insert2: pass 0 inserts [0, 1] (insert grows the missing
 * data file itself); passes 1 and 2 try_insert, which fails with the data
 * file of class 1 missing (twice in pass 2) and leaves the key absent;
 * grow(need) then the retry succeeds. */
Test(map, insert2)
{
    for (int pass = 0; pass < 3; pass++) {
        bdb_map_options o;
        mopts(&o, 2);
        o.elem_size = 8;
        bdb_map *m = mopen(&o);
        uint64_t seed = 100 + (uint64_t)pass, v[2] = {0, 1};
        uint8_t key[32];
        mt_fill(&seed, key, 32);
        if (pass == 0) {
            minsert(m, key, v, 2, 1);
        } else {
            for (int attempt = 0; attempt < pass; attempt++) {
                bdb_map_need need;
                memset(&need, 0xAB, sizeof need);
                int rc = bdb_map_try_insert(m, key, v, 2, 1, &need);
                cr_assert_eq(rc, BDB_EAGAIN, "pass %d: try_insert %d, want BDB_EAGAIN", pass, rc);
                cr_assert_eq(need.storage, BDB_MAP_GROW_DATA, "need.storage %d", need.storage);
                cr_assert_eq(need.shard, mt_shard32(key, 2));
                cr_assert_eq(need.size_class, 1, "2 elements are class 1, got %u", need.size_class);
                cr_assert_eq(need.capacity, 0, "no data file yet: capacity 0, got %llu",
                             (unsigned long long)need.capacity);
                expect_absent(m, key);
                cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 0);
                if (attempt + 1 < pass) continue;
                cr_assert_eq(bdb_map_grow(m, &need), 0, "grow: %s", bdb_errmsg());
                cr_assert_geq(sstats(m, need.shard).data_grows, 1);
                cr_assert_eq(bdb_map_try_insert(m, key, v, 2, 1, NULL), 0, "%s", bdb_errmsg());
            }
        }
        expect_val(m, key, v, 2, 1, 8);
        cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 1);
        mclose(m);
    }
}

/* insert2 of Agave v2: ([0], ref count 0) needs a data cell of class 0
 * (here in a shard whose table exists already). */
Test(map, insert2_ref_count)
{
    bdb_map_options o;
    mopts(&o, 2);
    o.elem_size = 8;
    o.ref_counts = 1;
    bdb_map *m = mopen(&o);
    uint64_t seed = 7, v0 = 0;
    uint8_t key[32], first[32];
    mt_fill(&seed, key, 32);
    mt_key_in_shard(&seed, first, mt_shard32(key, 2), 2);
    minsert(m, first, &v0, 1, 1);
    bdb_map_need need;
    cr_assert_eq(bdb_map_try_insert(m, key, &v0, 1, 0, &need), BDB_EAGAIN);
    cr_assert_eq(need.storage, BDB_MAP_GROW_DATA);
    cr_assert_eq(need.size_class, 0, "ref count 0 with one element: class 0");
    cr_assert_eq(need.capacity, 0);
    expect_absent(m, key);
    cr_assert_eq(bdb_map_grow(m, &need), 0, "%s", bdb_errmsg());
    cr_assert_eq(bdb_map_try_insert(m, key, &v0, 1, 0, &need), 0, "%s", bdb_errmsg());
    expect_val(m, key, &v0, 1, 0, 8);
    expect_val(m, first, &v0, 1, 1, 8);
    cr_assert_eq(sstats(m, need.shard).data_cells, 1);
    mclose(m);
}

/* bucket_map_test_update2 and _update: [0] then [1] overwrites, through
 * insert and through update (whose callback sees [0]). */
Test(map, update2_and_update)
{
    bdb_map_options o;
    mopts(&o, 2);
    o.elem_size = 8;
    bdb_map *m = mopen(&o);
    uint64_t seed = 3, v0 = 0, v1 = 1;
    uint8_t k1[32], k2[32];
    mt_fill(&seed, k1, 32);
    mt_fill(&seed, k2, 32);
    minsert(m, k1, &v0, 1, 1);
    expect_val(m, k1, &v0, 1, 1, 8);
    minsert(m, k1, &v1, 1, 1);
    expect_val(m, k1, &v1, 1, 1, 8);

    mupdate(m, k2, &v0, 1, 1);
    set_ctx c = {.slots = &v1, .n = 1, .ref = 1, .es = 8};
    cr_assert_eq(bdb_map_update(m, k2, set_cb, &c), 0, "%s", bdb_errmsg());
    cr_assert(c.saw_cur);
    cr_assert_eq(c.cur_n, 1);
    cr_assert_eq(mt_le64(c.cur_first), 0, "the callback saw [0]");
    expect_val(m, k2, &v1, 1, 1, 8);
    cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 2);
    mclose(m);
}

/* bucket_map_test_update_to_0_len, v2: ([0],1) -> ([],1) -> ([],2) ->
 * ([1],2), and back to ([1],1). Ref count 1 with at most one element is
 * inline, anything else takes a data cell (docs/map-files.md). */
Test(map, update_to_0_len)
{
    for (int refs = 0; refs < 2; refs++) {
        bdb_map_options o;
        mopts(&o, 2);
        o.elem_size = 8;
        o.ref_counts = refs;
        bdb_map *m = mopen(&o);
        uint64_t seed = 11, v0 = 0, v1 = 1;
        uint8_t key[32];
        mt_fill(&seed, key, 32);
        uint32_t s = mt_shard32(key, 2);
        struct {
            const uint64_t *v;
            size_t n;
            uint64_t ref, data_cells;
        } steps[] = {
            {&v0, 1, 1, 0}, {NULL, 0, 1, 0}, {NULL, 0, 2, 1}, {&v1, 1, 2, 1}, {&v1, 1, 1, 0}};
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
            mupdate(m, key, steps[i].v, steps[i].n, steps[i].ref);
            uint64_t want_ref = refs ? steps[i].ref : 1;
            expect_val(m, key, steps[i].v, steps[i].n, want_ref, 8);
            cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 1, "step %zu", i);
            uint64_t dc = sstats(m, s).data_cells;
            cr_assert_eq(dc, refs ? steps[i].data_cells : 0,
                         "step %zu (ref counts %s): %llu data cells", i, refs ? "on" : "off",
                         (unsigned long long)dc);
        }
        mclose(m);
    }
}

/* bucket_map_test_delete / _delete_2. */
static void delete_scenario(uint32_t shards, int nkeys)
{
    bdb_map_options o;
    mopts(&o, shards);
    o.elem_size = 8;
    bdb_map *m = mopen(&o);
    uint64_t seed = shards;
    for (int i = 0; i < nkeys; i++) {
        uint8_t key[32];
        uint64_t v = (uint64_t)i;
        mt_fill(&seed, key, 32);
        expect_absent(m, key);
        mupdate(m, key, &v, 1, 1);
        expect_val(m, key, &v, 1, 1, 8);
        cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 1);
        cr_assert_eq(bdb_map_delete(m, key), 1, "key %d was present", i);
        expect_absent(m, key);
        cr_assert_eq(bdb_map_delete(m, key), 0, "key %d was already deleted", i);
        cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 0);
        minsert(m, key, &v, 1, 1);
        expect_val(m, key, &v, 1, 1, 8);
        cr_assert_eq(bdb_map_delete(m, key), 1);
        expect_absent(m, key);
    }
    cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 0);
    mclose(m);
}

Test(map, delete)
{
    delete_scenario(2, 10);
}

Test(map, delete_2)
{
    delete_scenario(4, 100);
}

/* bucket_map_test_n_drives, plus where the files go: shard s keeps every
 * file in drives[s % n_drives] (created if missing), one table each. */
Test(map, n_drives)
{
    char d[3][MT_PATH_MAX];
    const char *drives[3];
    for (int i = 0; i < 3; i++) {
        snprintf(d[i], sizeof d[i], "%s/drive%d", g_dir, i);
        drives[i] = d[i];
    }
    bdb_map_options o;
    mopts(&o, 8);
    o.drives = drives;
    o.n_drives = 3;
    bdb_map *m = mopen(&o);
    mt_model md;
    cr_assert_eq(mt_model_init(&md, 116, 32, 16, 8, 0, 42), 0);
    uint64_t seed = 9;
    for (uint32_t s = 0; s < 8; s++) { /* two keys per shard, one with a data slot list */
        mt_key_in_shard(&seed, md.keys + (100 + 2 * s) * 32, s, 8);
        mt_key_in_shard(&seed, md.keys + (101 + 2 * s) * 32, s, 8);
        md.shard[100 + 2 * s] = md.shard[101 + 2 * s] = s;
    }
    for (size_t i = 0; i < md.nkeys; i++) {
        uint8_t v[3 * 16];
        mt_fill(&seed, v, sizeof v);
        size_t n = i >= 100 && i % 2 ? 3 : 1;
        minsert(m, mt_key(&md, i), v, n, 1);
        mt_model_set(&md, i, v, n, 1);
    }
    expect_model(m, &md);
    int tables[8] = {0}, data3[8] = {0};
    for (int i = 0; i < 3; i++) {
        mt_file fs[MT_MAX_FILES];
        size_t n = mt_map_files(d[i], fs, MT_MAX_FILES);
        for (size_t j = 0; j < n; j++) {
            cr_assert_lt(fs[j].shard, 8, "%s", fs[j].path);
            cr_assert_eq(fs[j].shard % 3, (uint32_t)i, "%s is not in drive %u", fs[j].path,
                         fs[j].shard % 3);
            if (fs[j].cls < 0) tables[fs[j].shard]++;
            if (fs[j].cls == 2) data3[fs[j].shard]++;
        }
    }
    for (int s = 0; s < 8; s++) {
        cr_assert_eq(tables[s], 1, "shard %d has %d table files", s, tables[s]);
        cr_assert_eq(data3[s], 1, "shard %d has %d data files of class 2", s, data3[s]);
    }
    mclose(m);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(mt_count_prefix(d[i], "bdbmap-"), 0, "files left in %s", d[i]);
    mt_model_free(&md);
}

/* bucket_map_test_grow_read: 4 shards, 100 keys, value = the big-endian
 * u64 of the key's first 8 bytes; after each insert every earlier key reads
 * back and every later one is absent. Again with max_search 2 and 400 keys
 * in 1 shard so that tables certainly grow. */
static void grow_read(uint32_t shards, uint32_t max_search, int nkeys)
{
    bdb_map_options o;
    mopts(&o, shards);
    o.elem_size = 8;
    if (max_search) o.max_search = max_search;
    bdb_map *m = mopen(&o);
    uint8_t(*keys)[32] = malloc((size_t)nkeys * 32);
    uint64_t seed = 77;
    for (int i = 0; i < nkeys; i++) mt_fill(&seed, keys[i], 32);
    for (int i = 0; i < nkeys; i++) {
        uint64_t v = mt_be64(keys[i]);
        minsert(m, keys[i], &v, 1, 1);
        for (int j = 0; j < nkeys; j++) {
            if (j <= i) {
                uint64_t w = mt_be64(keys[j]);
                expect_val(m, keys[j], &w, 1, 1, 8);
            } else {
                expect_absent(m, keys[j]);
            }
        }
        cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), (uint64_t)i + 1);
    }
    if (max_search) {
        bdb_map_stats st = mstats(m);
        cr_assert_gt(st.total.table_grows, 0, "%d keys in windows of %u: the table must grow",
                     nkeys, max_search);
        cr_assert_lt(st.total.probe_max, max_search,
                     "a key lives at most max_search - 1 cells after its home");
    }
    free(keys);
    mclose(m);
}

Test(map, grow_read)
{
    grow_read(4, 0, 100);
}

Test(map, grow_read_small_window)
{
    grow_read(1, 2, 400);
}

/* bucket_map_test_n_delete: 20 keys deleted one at a time, the rest intact. */
Test(map, n_delete)
{
    bdb_map_options o;
    mopts(&o, 4);
    bdb_map *m = mopen(&o);
    mt_model md;
    cr_assert_eq(mt_model_init(&md, 20, 32, 16, 4, 0, 5), 0);
    uint64_t seed = 55;
    for (size_t i = 0; i < 20; i++) {
        uint8_t v[16 * 3];
        mt_fill(&seed, v, sizeof v);
        minsert(m, mt_key(&md, i), v, i % 4, 1);
        mt_model_set(&md, i, v, i % 4, 1);
    }
    expect_model(m, &md);
    for (size_t i = 0; i < 20; i++) {
        cr_assert_eq(bdb_map_delete(m, mt_key(&md, i)), 1, "key %zu", i);
        mt_model_del(&md, i);
        expect_model(m, &md);
    }
    mt_model_free(&md);
    mclose(m);
}

/* The startup batch insert. Pre-present keys P0 = [a, b], P1 = [], P2 =
 * [c]; the batch repeats K0 three times and K1 twice. The first copy of a
 * key wins; each later copy and each present key is reported with the
 * index and the present first element (zero bytes for an empty list). */
typedef struct dup_pair {
    size_t index;
    uint8_t v[16];
} dup_pair;

static int dup_cmp(const void *a, const void *b)
{
    const dup_pair *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

Test(map, batch_insert_non_duplicates)
{
    for (int refs = 0; refs < 2; refs++) {
        bdb_map_options o;
        mopts(&o, 4);
        o.ref_counts = refs;
        bdb_map *m = mopen(&o);
        uint64_t seed = 21;
        uint8_t p[3][32], k[6][32], ab[2][16], c[16];
        for (int i = 0; i < 3; i++) mt_fill(&seed, p[i], 32);
        for (int i = 0; i < 6; i++) mt_fill(&seed, k[i], 32);
        mt_fill(&seed, ab, sizeof ab);
        mt_fill(&seed, c, sizeof c);
        minsert(m, p[0], ab, 2, 5);
        minsert(m, p[1], NULL, 0, 1);
        minsert(m, p[2], c, 1, 1);
        /* batch: K0 P0 K1 K0 P1 K2 K1 P2 K3 K0 K4 K5 */
        const uint8_t *order[12] = {k[0], p[0], k[1], k[0], p[1], k[2],
                                    k[1], p[2], k[3], k[0], k[4], k[5]};
        uint8_t keys[12 * 32], vals[12 * 16];
        for (int i = 0; i < 12; i++) memcpy(keys + i * 32, order[i], 32);
        mt_fill(&seed, vals, sizeof vals);
        dup_pair want[6] = {{1, {0}}, {3, {0}}, {4, {0}}, {6, {0}}, {7, {0}}, {9, {0}}};
        memcpy(want[0].v, ab[0], 16);    /* P0's first element */
        memcpy(want[1].v, vals + 0, 16); /* K0 from index 0 */
        /* want[2]: P1 is empty: zero bytes */
        memcpy(want[3].v, vals + 2 * 16, 16); /* K1 from index 2 */
        memcpy(want[4].v, c, 16);             /* P2 */
        memcpy(want[5].v, vals + 0, 16);      /* K0 again */

        size_t dup_index[12], n_dups = 99;
        uint8_t dup_values[12 * 16];
        memset(dup_values, 0x77, sizeof dup_values);
        int rc =
            bdb_map_batch_insert_non_duplicates(m, keys, vals, 12, dup_index, dup_values, &n_dups);
        cr_assert_eq(rc, 0, "%d %s", rc, bdb_errmsg());
        cr_assert_eq(n_dups, 6, "%zu duplicates, want 6", n_dups);
        dup_pair got[12];
        for (size_t i = 0; i < n_dups; i++) {
            got[i].index = dup_index[i];
            memcpy(got[i].v, dup_values + i * 16, 16);
        }
        qsort(got, n_dups, sizeof got[0], dup_cmp);
        for (int i = 0; i < 6; i++) {
            cr_assert_eq(got[i].index, want[i].index, "duplicate %d: index %zu, want %zu", i,
                         got[i].index, want[i].index);
            cr_assert_arr_eq(got[i].v, want[i].v, 16, "value reported for index %zu",
                             want[i].index);
        }
        /* the first copies are stored, with ref count 1; present keys unchanged */
        expect_val(m, k[0], vals + 0, 1, 1, 16);
        expect_val(m, k[1], vals + 2 * 16, 1, 1, 16);
        expect_val(m, k[2], vals + 5 * 16, 1, 1, 16);
        expect_val(m, k[3], vals + 8 * 16, 1, 1, 16);
        expect_val(m, k[4], vals + 10 * 16, 1, 1, 16);
        expect_val(m, k[5], vals + 11 * 16, 1, 1, 16);
        expect_val(m, p[0], ab, 2, refs ? 5 : 1, 16);
        expect_val(m, p[1], NULL, 0, 1, 16);
        expect_val(m, p[2], c, 1, 1, 16);
        cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 9);

        /* no details asked: the count of duplicates still comes back */
        n_dups = 0;
        cr_assert_eq(bdb_map_batch_insert_non_duplicates(m, keys, vals, 12, NULL, NULL, &n_dups),
                     0);
        cr_assert_eq(n_dups, 12, "every key is present now");
        cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 9);
        expect_val(m, k[0], vals + 0, 1, 1, 16);
        mclose(m);
    }
}

/* A batch large enough to grow the table many times, with duplicates
 * inside it and against present keys, checked against the model. */
Test(map, batch_insert_large)
{
    bdb_map_options o;
    mopts(&o, 2);
    o.elem_size = 8;
    bdb_map *m = mopen(&o);
    enum { NK = 3000, NB = 3600 };
    mt_model md;
    cr_assert_eq(mt_model_init(&md, NK, 32, 8, 2, 0, 8), 0);
    uint64_t seed = 4;
    for (size_t i = 0; i < 200; i++) { /* present before the batch */
        uint64_t v[2] = {mt_next(&seed), mt_next(&seed)};
        minsert(m, mt_key(&md, i * 7), v, 1 + i % 2, 1);
        mt_model_set(&md, i * 7, v, 1 + i % 2, 1);
    }
    uint8_t *keys = malloc((size_t)NB * 32);
    uint64_t *vals = malloc((size_t)NB * 8);
    size_t *dup_index = malloc(NB * sizeof *dup_index);
    uint64_t *dup_values = malloc((size_t)NB * 8);
    uint8_t *want_dup = calloc(NB, 1);
    uint64_t *want_val = calloc(NB, 8);
    size_t want_dups = 0;
    for (size_t i = 0; i < NB; i++) {
        size_t k = i < NK ? i : mt_below(&seed, NK); /* the tail repeats keys */
        memcpy(keys + i * 32, mt_key(&md, k), 32);
        vals[i] = mt_next(&seed);
        if (md.v[k].present) {
            want_dup[i] = 1;
            memcpy(&want_val[i], md.v[k].slots, 8);
            want_dups++;
        } else {
            mt_model_set(&md, k, &vals[i], 1, 1);
        }
    }
    size_t n_dups = 0;
    int rc = bdb_map_batch_insert_non_duplicates(m, keys, vals, NB, dup_index, dup_values, &n_dups);
    cr_assert_eq(rc, 0, "%d %s", rc, bdb_errmsg());
    cr_assert_eq(n_dups, want_dups);
    uint8_t *seen = calloc(NB, 1);
    for (size_t j = 0; j < n_dups; j++) {
        size_t i = dup_index[j];
        cr_assert_lt(i, NB);
        cr_assert(want_dup[i], "index %zu reported as a duplicate", i);
        cr_assert_not(seen[i], "index %zu reported twice", i);
        seen[i] = 1;
        cr_assert_eq(dup_values[j], want_val[i], "value reported for index %zu", i);
    }
    expect_model(m, &md);
    cr_assert_gt(mstats(m).total.table_grows, 0);
    free(keys), free(vals), free(dup_index), free(dup_values), free(want_dup), free(want_val);
    free(seen);
    mt_model_free(&md);
    mclose(m);
}

/* max_search 1: try_insert finds its one-cell window taken and asks for
 * the table; nothing changes until bdb_map_grow, which at least doubles
 * the table; a second grow with the same need is a no-op. */
Test(map, try_insert_window_full)
{
    bdb_map_options o;
    mopts(&o, 1);
    o.max_search = 1;
    bdb_map *m = mopen(&o);
    enum { NK = 20000 };
    uint8_t(*keys)[32] = malloc((size_t)NK * 32);
    uint64_t seed = 12;
    uint8_t v[16] = {1, 2, 3};
    bdb_map_need need = {0};
    int ins = 1, rc = 0;
    mt_fill(&seed, keys[0], 32);
    minsert(m, keys[0], v, 1, 1); /* the table exists */
    for (; ins < NK; ins++) {
        mt_fill(&seed, keys[ins], 32);
        rc = bdb_map_try_insert(m, keys[ins], v, 1, 1, &need);
        if (rc) break;
    }
    cr_assert_eq(rc, BDB_EAGAIN, "%d try_inserts with max_search 1 never filled a window", NK);
    bdb_map_shard_stats before = sstats(m, 0);
    cr_assert_gt(before.capacity, 0);
    cr_assert_eq(need.storage, BDB_MAP_GROW_TABLE, "need.storage %d", need.storage);
    cr_assert_eq(need.shard, 0);
    cr_assert_eq(need.capacity, before.capacity);
    cr_assert_eq(before.count, (uint64_t)ins);
    cr_assert_eq(bdb_map_count(m, 0), (uint64_t)ins);
    expect_absent(m, keys[ins]);
    cr_assert_eq(bdb_map_grow(m, &need), 0, "%s", bdb_errmsg());
    bdb_map_shard_stats after = sstats(m, 0);
    cr_assert_geq(after.capacity, 2 * before.capacity, "capacity %llu -> %llu",
                  (unsigned long long)before.capacity, (unsigned long long)after.capacity);
    cr_assert_eq(after.capacity & (after.capacity - 1), 0, "capacity is a power of two");
    cr_assert_geq(after.table_grows, before.table_grows + 1);
    cr_assert_eq(after.count, (uint64_t)ins);
    for (int i = 0; i < ins; i++) expect_val(m, keys[i], v, 1, 1, 16);
    expect_absent(m, keys[ins]);
    /* the same need again: the table no longer has need.capacity cells */
    cr_assert_eq(bdb_map_grow(m, &need), 0);
    bdb_map_shard_stats again = sstats(m, 0);
    cr_assert_eq(again.capacity, after.capacity, "grow with a stale need must be a no-op");
    cr_assert_eq(again.table_grows, after.table_grows);
    int tries = 0;
    bdb_map_need n2;
    while ((rc = bdb_map_try_insert(m, keys[ins], v, 1, 1, &n2)) == BDB_EAGAIN && tries++ < 20) {
        cr_assert_eq(n2.storage, BDB_MAP_GROW_TABLE);
        cr_assert_eq(bdb_map_grow(m, &n2), 0);
    }
    cr_assert_eq(rc, 0, "%s", bdb_errmsg());
    expect_val(m, keys[ins], v, 1, 1, 16);
    cr_assert_eq(bdb_map_count(m, 0), (uint64_t)ins + 1);
    free(keys);
    mclose(m);
}

/* Agave's writer loop (accounts-db's flush): try_insert, on BDB_EAGAIN
 * grow(need) and retry. Each grow must make progress, with a fixed hash
 * seed as with random ones, so a few grows per key always suffice. */
Test(map, try_insert_grow_loop_makes_progress)
{
    for (int fixed = 0; fixed < 2; fixed++) {
        bdb_map_options o;
        mopts(&o, 2);
        o.max_search = 2;
        if (!fixed) o.seed = 0;
        bdb_map *m = mopen(&o);
        mt_model md;
        cr_assert_eq(mt_model_init(&md, 2000, 32, 16, 2, 0, 13), 0);
        uint64_t seed = 14;
        for (size_t i = 0; i < md.nkeys; i++) {
            uint8_t v[3 * 16];
            mt_fill(&seed, v, sizeof v);
            size_t n = i % 4;
            bdb_map_need need;
            int rc, grows = 0;
            while ((rc = bdb_map_try_insert(m, mt_key(&md, i), v, n, 1, &need)) == BDB_EAGAIN &&
                   grows++ < 64)
                cr_assert_eq(bdb_map_grow(m, &need), 0, "%s", bdb_errmsg());
            cr_assert_eq(rc, 0,
                         "seed %s: key %zu still refused after %d grows (need: storage %d, "
                         "capacity %llu)",
                         fixed ? "fixed" : "random", i, grows - 1, need.storage,
                         (unsigned long long)need.capacity);
            mt_model_set(&md, i, v, n, 1);
        }
        expect_model(m, &md);
        mt_model_free(&md);
        mclose(m);
    }
}

/* Data files: a missing one is asked for with capacity 0; once another
 * insert has created it, that need is stale (no-op); a full one is asked
 * for with its capacity and doubles in place. */
Test(map, grow_data)
{
    bdb_map_options o;
    mopts(&o, 1);
    o.elem_size = 8;
    bdb_map *m = mopen(&o);
    mt_model md;
    cr_assert_eq(mt_model_init(&md, 5003, 32, 8, 1, 0, 99), 0);
    uint64_t v[2] = {5, 6};
    const uint8_t *key = mt_key(&md, 5000), *other = mt_key(&md, 5001);
    minsert(m, mt_key(&md, 5002), v, 1, 1); /* an inline entry: the table exists */
    mt_model_set(&md, 5002, v, 1, 1);
    bdb_map_need stale;
    cr_assert_eq(bdb_map_try_insert(m, key, v, 2, 1, &stale), BDB_EAGAIN);
    cr_assert_eq(stale.storage, BDB_MAP_GROW_DATA);
    cr_assert_eq(stale.capacity, 0);
    minsert(m, other, v, 2, 1);
    mt_model_set(&md, 5001, v, 2, 1);
    bdb_map_shard_stats s1 = sstats(m, 0);
    cr_assert_gt(s1.data_capacity, 0);
    cr_assert_eq(s1.data_cells, 1);
    cr_assert_eq(bdb_map_grow(m, &stale), 0);
    bdb_map_shard_stats s2 = sstats(m, 0);
    cr_assert_eq(s2.data_capacity, s1.data_capacity, "stale data need must be a no-op");
    cr_assert_eq(s2.data_grows, s1.data_grows);
    cr_assert_eq(s2.data_bytes, s1.data_bytes);

    /* fill class 1 with try_insert until it is full */
    bdb_map_need need = {0};
    size_t i = 0;
    int rc = 0;
    for (; i < 5000; i++) {
        uint64_t w[2] = {i, ~i};
        rc = bdb_map_try_insert(m, mt_key(&md, i), w, 2, 1, &need);
        for (int t = 0; t < 20 && rc == BDB_EAGAIN && need.storage == BDB_MAP_GROW_TABLE; t++) {
            cr_assert_eq(bdb_map_grow(m, &need), 0);
            rc = bdb_map_try_insert(m, mt_key(&md, i), w, 2, 1, &need);
        }
        if (rc) break;
        mt_model_set(&md, i, w, 2, 1);
    }
    cr_assert_eq(rc, BDB_EAGAIN, "5000 lists of 2 never filled the class-1 data file");
    cr_assert_eq(need.storage, BDB_MAP_GROW_DATA);
    cr_assert_eq(need.size_class, 1);
    bdb_map_shard_stats full = sstats(m, 0);
    cr_assert_eq(need.capacity, full.data_capacity, "need.capacity %llu, data_capacity %llu",
                 (unsigned long long)need.capacity, (unsigned long long)full.data_capacity);
    cr_assert_eq(full.data_cells, full.data_capacity, "the only data file is full");
    expect_absent(m, mt_key(&md, i));
    cr_assert_eq(bdb_map_grow(m, &need), 0, "%s", bdb_errmsg());
    bdb_map_shard_stats grown = sstats(m, 0);
    cr_assert_eq(grown.data_capacity, 2 * full.data_capacity, "a data file doubles");
    cr_assert_eq(grown.data_grows, full.data_grows + 1);
    expect_model(m, &md);
    cr_assert_eq(bdb_map_try_insert(m, mt_key(&md, i), v, 2, 1, NULL), 0);
    expect_val(m, mt_key(&md, i), v, 2, 1, 8);
    expect_val(m, other, v, 2, 1, 8);
    expect_absent(m, key);
    mt_model_free(&md);
    mclose(m);
}

/* set_anticipated_count sizes the next growth: the table that follows has
 * room (cells) for the count. With BDB_MAP_ALL_SHARDS the count is spread. */
static uint64_t grow_once(bdb_map *m, uint32_t shard, uint32_t shards, uint64_t *seed)
{
    uint64_t grows = sstats(m, shard).table_grows;
    uint8_t key[32], v[16] = {0};
    for (int i = 0; i < 1000000; i++) {
        mt_key_in_shard(seed, key, shard, shards);
        minsert(m, key, v, 1, 1);
        if (i % 16 == 15 && sstats(m, shard).table_grows != grows) break;
    }
    cr_assert_eq(sstats(m, shard).table_grows, grows + 1);
    return sstats(m, shard).capacity;
}

Test(map, set_anticipated_count)
{
    bdb_map_options o;
    mopts(&o, 4);
    bdb_map *m = mopen(&o);
    uint64_t seed = 8;
    uint8_t key[32], v[16] = {0};
    for (uint32_t s = 0; s < 4; s++) {
        mt_key_in_shard(&seed, key, s, 4);
        minsert(m, key, v, 1, 1);
    }
    uint64_t cap0 = sstats(m, 0).capacity;
    cr_assert_lt(cap0, 8192, "test precondition: the first table is small (%llu)",
                 (unsigned long long)cap0);
    cr_assert_eq(bdb_map_set_anticipated_count(m, BDB_MAP_ALL_SHARDS, 4 * 30000), 0, "%s",
                 bdb_errmsg());
    cr_assert_eq(bdb_map_set_anticipated_count(m, 4, 100), BDB_EINVAL, "shard 4 of 4");
    uint64_t c = grow_once(m, 0, 4, &seed);
    cr_assert_geq(c, 30000, "shard 0: %llu cells after growth, anticipated 30000",
                  (unsigned long long)c);
    c = grow_once(m, 2, 4, &seed);
    cr_assert_geq(c, 30000, "shard 2: %llu cells", (unsigned long long)c);
    mclose(m);

    /* without the hint the table only doubles: the hint made the difference */
    m = mopen(&o);
    c = grow_once(m, 3, 4, &seed);
    cr_assert_lt(c, 30000, "without a hint: %llu cells", (unsigned long long)c);
    cr_assert_eq(bdb_map_set_anticipated_count(m, 3, 50000), 0);
    c = grow_once(m, 3, 4, &seed);
    cr_assert_geq(c, 50000, "shard 3: %llu cells, anticipated 50000", (unsigned long long)c);
    cr_assert_eq(c & (c - 1), 0, "capacity is a power of two");
    mclose(m);
}

/* max_size: a new key beyond it fails with BDB_EFULL through every write
 * path and changes nothing; existing keys can still be updated; deleting
 * one makes room. */
Test(map, max_size)
{
    bdb_map_options o;
    mopts(&o, 2);
    o.max_size = 10;
    bdb_map *m = mopen(&o);
    mt_model md;
    cr_assert_eq(mt_model_init(&md, 20, 32, 16, 2, 0, 3), 0);
    uint64_t seed = 17;
    uint8_t v[4 * 16];
    for (size_t i = 0; i < 10; i++) {
        mt_fill(&seed, v, sizeof v);
        minsert(m, mt_key(&md, i), v, i % 4, 1);
        mt_model_set(&md, i, v, i % 4, 1);
    }
    mt_fill(&seed, v, sizeof v);
    const uint8_t *nk = mt_key(&md, 10);
    cr_assert_eq(bdb_map_insert(m, nk, v, 1, 1), BDB_EFULL);
    cr_assert_eq(bdb_map_insert(m, nk, v, 3, 1), BDB_EFULL);
    cr_assert_eq(bdb_map_try_insert(m, nk, v, 1, 1, NULL), BDB_EFULL);
    set_ctx c = {.slots = v, .n = 2, .ref = 1};
    cr_assert_eq(bdb_map_update(m, nk, set_cb, &c), BDB_EFULL);
    uint8_t bkeys[3 * 32];
    memcpy(bkeys, mt_key(&md, 11), 32);
    memcpy(bkeys + 32, mt_key(&md, 12), 32);
    memcpy(bkeys + 64, mt_key(&md, 13), 32);
    cr_assert_eq(bdb_map_batch_insert_non_duplicates(m, bkeys, v, 3, NULL, NULL, NULL), BDB_EFULL);
    expect_model(m, &md);
    /* existing keys at the limit */
    minsert(m, mt_key(&md, 0), v, 4, 1);
    mt_model_set(&md, 0, v, 4, 1);
    mupdate(m, mt_key(&md, 1), v + 16, 1, 1);
    mt_model_set(&md, 1, v + 16, 1, 1);
    size_t n_dups = 0;
    cr_assert_eq(bdb_map_batch_insert_non_duplicates(m, md.keys, v, 3, NULL, NULL, &n_dups), 0,
                 "a batch of present keys adds nothing: %s", bdb_errmsg());
    cr_assert_eq(n_dups, 3);
    expect_model(m, &md);
    /* make room */
    cr_assert_eq(bdb_map_delete(m, mt_key(&md, 5)), 1);
    mt_model_del(&md, 5);
    minsert(m, nk, v, 1, 1);
    mt_model_set(&md, 10, v, 1, 1);
    cr_assert_eq(bdb_map_insert(m, mt_key(&md, 11), v, 1, 1), BDB_EFULL);
    expect_model(m, &md);
    /* a batch that crosses the limit: what it inserted stays, within max_size */
    cr_assert_eq(bdb_map_delete(m, mt_key(&md, 6)), 1);
    cr_assert_eq(bdb_map_delete(m, mt_key(&md, 7)), 1);
    mt_model_del(&md, 6);
    mt_model_del(&md, 7);
    uint8_t vals[5 * 16];
    mt_fill(&seed, vals, sizeof vals);
    int rc = bdb_map_batch_insert_non_duplicates(m, mt_key(&md, 11), vals, 5, NULL, NULL, NULL);
    cr_assert_eq(rc, BDB_EFULL, "5 new keys with room for 2: %d", rc);
    cr_assert_leq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 10);
    for (size_t i = 11; i < 16; i++) {
        size_t n;
        if (bdb_map_read(m, mt_key(&md, i), NULL, 0, &n, NULL) == 1)
            mt_model_set(&md, i, vals + (i - 11) * 16, 1, 1);
    }
    expect_model(m, &md);
    mt_model_free(&md);
    mclose(m);
}
