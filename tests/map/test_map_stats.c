/* The bucket map's statistics, checked against the files on disk (sizes
 * from docs/map-files.md) and a model; ages and the memory budget
 * (releases); the memory accounting of the environment; and readers that
 * race a writer without locks, which must only ever see whole values. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>

#include "map_fixture.h"

TestSuite(map_stats, .init = map_setup, .fini = map_teardown, .timeout = 60);

static uint64_t pad8(uint64_t x)
{
    return (x + 7) & ~7ull;
}

/* One shard's statistics against its files: table_bytes is the table file's
 * size, 4096 + capacity x (8 + pad8(key) + pad8(elem)); data_bytes the data
 * files' sizes, whose cells (16 + pad8(2^c x elem)) sum to data_capacity. */
static void check_files(bdb_map *m, uint32_t s, uint32_t ks, uint32_t es, bdb_map_shard_stats *out)
{
    bdb_map_shard_stats st = sstats(m, s);
    cr_assert_gt(st.capacity, 0);
    cr_assert_eq(st.capacity & (st.capacity - 1), 0, "shard %u: capacity %llu", s,
                 (unsigned long long)st.capacity);
    cr_assert_leq(st.count * 8, st.capacity * 7,
                  "shard %u: %llu entries in %llu cells (7/8 at most)", s,
                  (unsigned long long)st.count, (unsigned long long)st.capacity);
    cr_assert_eq(st.table_bytes, 4096 + st.capacity * (8 + pad8(ks) + pad8(es)), "shard %u", s);
    mt_file fs[MT_MAX_FILES];
    size_t n = mt_map_files(g_dir, fs, MT_MAX_FILES);
    uint64_t tables = 0, data_bytes = 0, data_cap = 0, pages = 0; /* mapped pages */
    for (size_t i = 0; i < n; i++) {
        if (fs[i].shard != s) continue;
        int64_t size = mt_file_size(fs[i].path);
        pages += ((uint64_t)size + 4095) / 4096;
        if (fs[i].cls < 0) {
            tables++;
            cr_assert_eq((uint64_t)size, st.table_bytes, "%s", fs[i].path);
            continue;
        }
        uint64_t cell = 16 + pad8(((uint64_t)1 << fs[i].cls) * es);
        cr_assert_eq((uint64_t)(size - 4096) % cell, 0, "%s: %lld bytes", fs[i].path,
                     (long long)size);
        data_bytes += (uint64_t)size;
        data_cap += (uint64_t)(size - 4096) / cell;
    }
    cr_assert_eq(tables, 1, "shard %u has %llu table files", s, (unsigned long long)tables);
    cr_assert_eq(st.data_bytes, data_bytes, "shard %u", s);
    cr_assert_eq(st.data_capacity, data_cap, "shard %u", s);
    cr_assert_leq(st.data_cells, st.data_capacity);
    cr_assert_leq(st.resident_bytes, pages * 4096, "shard %u: %llu resident bytes, %llu mapped", s,
                  (unsigned long long)st.resident_bytes, (unsigned long long)(pages * 4096));
    *out = st;
}

Test(map_stats, stats_against_files_and_model)
{
    bdb_map_options o;
    mopts(&o, 16);
    o.max_search = 16;
    bdb_map *m = mopen(&o);
    enum { NK = 20000 };
    mt_model md;
    cr_assert_eq(mt_model_init(&md, NK, 32, 16, 16, 0, 31), 0);
    uint64_t seed = 6;
    uint8_t v[4 * 16];
    for (size_t i = 0; i < NK; i++) {
        size_t n = i % 5 ? 1 : 2 + i % 3;
        mt_fill(&seed, v, sizeof v);
        minsert(m, mt_key(&md, i), v, n, 1);
        mt_model_set(&md, i, v, n, 1);
    }
    bdb_map_stats st = mstats(m);
    cr_assert_eq(st.shards, 16);
    bdb_map_shard_stats sum;
    memset(&sum, 0, sizeof sum);
    for (uint32_t s = 0; s < 16; s++) {
        bdb_map_shard_stats ss;
        check_files(m, s, 32, 16, &ss);
        cr_assert_eq(ss.count, mt_model_count(&md, s));
        uint64_t data = 0;
        for (size_t i = 0; i < NK; i++) data += md.shard[i] == s && md.v[i].n > 1;
        cr_assert_eq(ss.data_cells, data, "shard %u", s);
        cr_assert_lt(ss.probe_max, o.max_search, "shard %u: at most max_search - 1 from home", s);
        cr_assert_leq(ss.probe_total, ss.count * ss.probe_max);
        cr_assert_gt(ss.table_grows, 0, "%llu entries in shard %u", (unsigned long long)ss.count,
                     s);
        cr_assert_gt(ss.data_grows, 0);
        sum.count += ss.count, sum.capacity += ss.capacity, sum.table_bytes += ss.table_bytes;
        sum.data_bytes += ss.data_bytes, sum.data_cells += ss.data_cells;
        sum.data_capacity += ss.data_capacity, sum.probe_total += ss.probe_total;
        sum.table_grows += ss.table_grows, sum.data_grows += ss.data_grows;
        if (ss.probe_max > sum.probe_max) sum.probe_max = ss.probe_max;
    }
    cr_assert_eq(st.total.count, NK);
    cr_assert_eq(st.total.count, sum.count);
    cr_assert_eq(st.total.capacity, sum.capacity);
    cr_assert_eq(st.total.table_bytes, sum.table_bytes);
    cr_assert_eq(st.total.data_bytes, sum.data_bytes);
    cr_assert_eq(st.total.data_cells, sum.data_cells);
    cr_assert_eq(st.total.data_capacity, sum.data_capacity);
    cr_assert_eq(st.total.probe_total, sum.probe_total);
    cr_assert_eq(st.total.probe_max, sum.probe_max);
    cr_assert_eq(st.total.table_grows, sum.table_grows);
    cr_assert_eq(st.total.data_grows, sum.data_grows);
    cr_assert_lt(st.heap_bytes, 1 << 20, "heap %llu bytes for %d entries in mapped files",
                 (unsigned long long)st.heap_bytes, NK);

    /* deletes shift the keys after them back (Robin Hood, no tombstones):
     * the capacity stays and no distance grows */
    uint32_t s3 = 3;
    uint64_t deleted = 0, data_deleted = 0;
    bdb_map_shard_stats ss, before = sstats(m, s3);
    for (size_t i = 0; i < NK && deleted < 100; i++)
        if (md.shard[i] == s3) {
            cr_assert_eq(bdb_map_delete(m, mt_key(&md, i)), 1);
            data_deleted += md.v[i].n > 1;
            mt_model_del(&md, i);
            deleted++;
        }
    check_files(m, s3, 32, 16, &ss);
    cr_assert_eq(ss.count, mt_model_count(&md, s3));
    cr_assert_eq(ss.capacity, before.capacity);
    cr_assert_leq(ss.probe_total, before.probe_total, "distances after deletes: %llu, before %llu",
                  (unsigned long long)ss.probe_total, (unsigned long long)before.probe_total);
    cr_assert_leq(ss.probe_max, before.probe_max);
    cr_assert_eq(mstats(m).total.data_cells, sum.data_cells - data_deleted);
    uint64_t grows = ss.table_grows, cap = ss.capacity;
    for (int i = 0; i < 1000000 && sstats(m, s3).table_grows == grows; i++) {
        uint8_t key[32];
        mt_key_in_shard(&seed, key, s3, 16);
        minsert(m, key, v, 1, 1);
    }
    check_files(m, s3, 32, 16, &ss);
    cr_assert_gt(ss.capacity, cap);
    for (size_t i = 0; i < NK; i++) {
        char why[256];
        cr_assert_eq(mt_check_key(m, &md, i, why, sizeof why), 0, "%s", why);
    }
    mt_model_free(&md);
    mclose(m);
}

/* The map's heap memory is accounted to BDB_MEM_MAP and all returned at
 * close. */
Test(map_stats, memory_accounting)
{
    bdb_stats es;
    cr_assert_eq(bdb_env_stats(g_env, &es), 0);
    uint64_t before = es.mem[BDB_MEM_MAP].bytes;
    bdb_map_options o;
    mopts(&o, 64);
    bdb_map *m = mopen(&o);
    uint64_t seed = 3;
    uint8_t key[32], v[3 * 16] = {0};
    for (int i = 0; i < 3000; i++) {
        mt_fill(&seed, key, 32);
        minsert(m, key, v, 1 + (size_t)i % 3, 1);
    }
    cr_assert_eq(bdb_env_stats(g_env, &es), 0);
    cr_assert_gt(es.mem[BDB_MEM_MAP].bytes, before, "an open map holds some BDB_MEM_MAP memory");
    mclose(m);
    cr_assert_eq(bdb_env_stats(g_env, &es), 0);
    cr_assert_eq(es.mem[BDB_MEM_MAP].bytes, before, "%llu bytes of BDB_MEM_MAP left after close",
                 (unsigned long long)(es.mem[BDB_MEM_MAP].bytes - before));
}

/* ages_to_stay_in_memory 2: shard 1, untouched while ages advance, is
 * released; shard 0, read before every advance, is not; reading shard 1
 * again clears `released` and its value is intact. */
Test(map_stats, ages_release_untouched_shards)
{
    bdb_map_options o;
    mopts(&o, 2);
    o.ages_to_stay_in_memory = 2;
    bdb_map *m = mopen(&o);
    uint64_t seed = 4;
    uint8_t k0[32], k1[32], v0[3 * 16], v1[3 * 16];
    mt_key_in_shard(&seed, k0, 0, 2);
    mt_key_in_shard(&seed, k1, 1, 2);
    mt_fill(&seed, v0, sizeof v0);
    mt_fill(&seed, v1, sizeof v1);
    minsert(m, k0, v0, 3, 1);
    minsert(m, k1, v1, 3, 1);
    cr_assert_eq(mstats(m).age, 0);
    cr_assert_eq(sstats(m, 1).released, 0);
    for (uint32_t a = 1; a <= 5; a++) {
        expect_val(m, k0, v0, 3, 1, 16);
        cr_assert_eq(bdb_map_advance_age(m), a, "advance_age returns the new age");
    }
    bdb_map_shard_stats s0 = sstats(m, 0), s1 = sstats(m, 1);
    cr_assert_eq(s0.released, 0, "shard 0 was read at every age");
    cr_assert_eq(s1.released, 1, "shard 1 untouched for 5 ages (limit 2)");
    cr_assert_eq(s1.last_age, 0);
    cr_assert_eq(s0.last_age, 4);
    bdb_map_stats st = mstats(m);
    cr_assert_eq(st.age, 5);
    cr_assert_eq(st.shards_released, 1);
    cr_assert_geq(st.releases, 1);
    expect_val(m, k1, v1, 3, 1, 16);
    s1 = sstats(m, 1);
    cr_assert_eq(s1.released, 0, "reading shard 1 clears released");
    cr_assert_eq(s1.last_age, 5);
    cr_assert_eq(mstats(m).shards_released, 0);
    mclose(m);
}

/* age_interval_ms: a thread of the map advances the ages; close waits for
 * it. */
Test(map_stats, age_thread)
{
    bdb_map_options o;
    mopts(&o, 2);
    o.ages_to_stay_in_memory = 2;
    o.age_interval_ms = 5;
    bdb_map *m = mopen(&o);
    uint64_t seed = 6;
    uint8_t k1[32], v[16] = {1};
    mt_key_in_shard(&seed, k1, 1, 2);
    minsert(m, k1, v, 1, 1);
    for (int i = 0; i < 400 && (mstats(m).age < 4 || !sstats(m, 1).released); i++) usleep(5000);
    cr_assert_geq(mstats(m).age, 4, "the age thread advanced %u ages in 2 s", mstats(m).age);
    cr_assert(sstats(m, 1).released, "shard 1 untouched for %u ages", mstats(m).age);
    expect_val(m, k1, v, 1, 1, 16);
    mclose(m);
}

/* memory_budget of about 2.5 shards: as shards 0, 1, 2, 3 are touched one
 * age apart, the least recently used are released first. */
Test(map_stats, memory_budget_releases_lru_first)
{
    bdb_map_options o;
    mopts(&o, 4);
    uint64_t seed = 5;
    uint8_t keys[4][32], v[16] = {7};
    for (uint32_t s = 0; s < 4; s++) mt_key_in_shard(&seed, keys[s], s, 4);
    bdb_map *m = mopen(&o); /* a probe for the size of a shard with one key */
    minsert(m, keys[0], v, 1, 1);
    bdb_map_shard_stats p = sstats(m, 0);
    uint64_t shard_bytes = p.table_bytes + p.data_bytes;
    mclose(m);

    o.memory_budget = shard_bytes * 5 / 2;
    m = mopen(&o);
    for (uint32_t s = 0; s < 4; s++) {
        minsert(m, keys[s], v, 1, 1);
        bdb_map_advance_age(m);
    }
    bdb_map_stats st = mstats(m);
    cr_assert_gt(st.shards_released, 0, "4 shards of %llu bytes, budget %llu",
                 (unsigned long long)shard_bytes, (unsigned long long)o.memory_budget);
    cr_assert_gt(st.releases, 0);
    int released[4];
    for (uint32_t s = 0; s < 4; s++) released[s] = sstats(m, s).released;
    cr_assert(released[0], "shard 0, the least recently used, is released first");
    cr_assert_not(released[3], "shard 3, the most recently used, stays");
    for (uint32_t s = 1; s < 4; s++)
        cr_assert(!released[s] || released[s - 1], "shard %u released before shard %u", s, s - 1);
    cr_assert_eq(st.shards_released, (uint64_t)(released[0] + released[1] + released[2]));
    for (uint32_t s = 0; s < 4; s++) expect_val(m, keys[s], v, 1, 1, 16);
    for (uint32_t s = 0; s < 4; s++) cr_assert_not(sstats(m, s).released);
    mclose(m);
}

/* Readers race one writer: every key's value is n = 1 + (version + i) % 5
 * elements {i, version} with ref count version (1 when version % 3 == 0,
 * so it moves between inline and data cells), while filler keys make the
 * table grow. A reader must see a whole value of one version, and never an
 * older version after a newer one. */
enum { RK = 64, RVERSIONS = 1500 };

typedef struct race {
    bdb_map *m;
    uint8_t keys[RK][32];
    atomic_int stop;
    atomic_long reads, errors;
    char first_error[256];
    pthread_mutex_t mu;
} race;

static uint64_t race_ref(uint64_t version)
{
    return version % 3 == 0 ? 1 : version;
}

static void race_error(race *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void race_error(race *r, const char *fmt, ...)
{
    if (atomic_fetch_add(&r->errors, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        pthread_mutex_lock(&r->mu);
        vsnprintf(r->first_error, sizeof r->first_error, fmt, ap);
        pthread_mutex_unlock(&r->mu);
        va_end(ap);
    }
}

static void *race_reader(void *arg)
{
    race *r = arg;
    uint64_t last[RK] = {0}, buf[8][2];
    while (!atomic_load(&r->stop)) {
        for (uint64_t i = 0; i < RK; i++) {
            size_t n = 0;
            uint64_t ref = 0;
            int rc = bdb_map_read(r->m, r->keys[i], buf, 8, &n, &ref);
            atomic_fetch_add(&r->reads, 1);
            if (rc != 1) {
                race_error(r, "key %llu: read %d", (unsigned long long)i, rc);
                continue;
            }
            uint64_t ver = n ? buf[0][1] : 0;
            if (n < 1 || n > 5 || n != 1 + (ver + i) % 5) {
                race_error(r, "key %llu: %zu elements at version %llu", (unsigned long long)i, n,
                           (unsigned long long)ver);
                continue;
            }
            for (size_t j = 0; j < n; j++)
                if (buf[j][0] != i || buf[j][1] != ver)
                    race_error(r, "key %llu: element %zu is {%llu, %llu}, element 0 version %llu",
                               (unsigned long long)i, j, (unsigned long long)buf[j][0],
                               (unsigned long long)buf[j][1], (unsigned long long)ver);
            if (ref != race_ref(ver))
                race_error(r, "key %llu: ref count %llu with version %llu", (unsigned long long)i,
                           (unsigned long long)ref, (unsigned long long)ver);
            if (ver < last[i])
                race_error(r, "key %llu: version %llu after %llu", (unsigned long long)i,
                           (unsigned long long)ver, (unsigned long long)last[i]);
            last[i] = ver;
        }
    }
    return NULL;
}

static void race_write(race *r, uint64_t version)
{
    for (uint64_t i = 0; i < RK; i++) {
        uint64_t v[5][2];
        size_t n = 1 + (version + i) % 5;
        for (size_t j = 0; j < n; j++) v[j][0] = i, v[j][1] = version;
        minsert(r->m, r->keys[i], v, n, race_ref(version));
    }
}

Test(map_stats, readers_race_writer)
{
    bdb_map_options o;
    mopts(&o, 4);
    o.ref_counts = 1;
    o.max_search = 8;
    static race r;
    r.m = mopen(&o);
    pthread_mutex_init(&r.mu, NULL);
    uint64_t seed = 10;
    for (int i = 0; i < RK; i++) mt_fill(&seed, r.keys[i], 32);
    race_write(&r, 1);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) cr_assert_eq(pthread_create(&th[i], NULL, race_reader, &r), 0);
    for (uint64_t ver = 2; ver <= RVERSIONS; ver++) {
        race_write(&r, ver);
        for (int f = 0; f < 8; f++) { /* fillers: the tables grow under the readers */
            uint8_t key[32], w[2 * 16] = {0};
            mt_fill(&seed, key, 32);
            minsert(r.m, key, w, 1 + (size_t)f % 2, 1);
        }
    }
    atomic_store(&r.stop, 1);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    cr_assert_eq(atomic_load(&r.errors), 0, "%ld errors, first: %s", atomic_load(&r.errors),
                 r.first_error);
    cr_assert_gt(atomic_load(&r.reads), RK);
    cr_assert_geq(mstats(r.m).total.table_grows, 4);
    mclose(r.m);
}
