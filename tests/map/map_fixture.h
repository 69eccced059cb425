/* The Criterion fixture of the bucket map suites: a scratch directory (the
 * one drive unless a test makes others) and an environment per test,
 * options with fsync off, and assertions on single keys. */
#ifndef BDB_TESTS_MAP_FIXTURE_H
#define BDB_TESTS_MAP_FIXTURE_H

#include <criterion/criterion.h>

#include "map_test_util.h"

static char g_dir[64];
static bdb_env *g_env;
static const char *g_drive[1];

static inline void map_setup(void)
{
    cr_assert_eq(mt_tmp_env("t", g_dir, &g_env), 0, "%s", bdb_errmsg());
    g_drive[0] = g_dir;
}

static inline void map_teardown(void)
{
    cr_assert_eq(bdb_env_close(g_env), 0, "env close (a map left open?): %s", bdb_errmsg());
    mt_rmtree(g_dir);
}

/* Defaults, `shards` shards, the scratch directory as the one drive, no
 * fsync, a fixed hash seed. */
static inline void mopts(bdb_map_options *o, uint32_t shards)
{
    bdb_map_options_init(o);
    o->max_buckets = shards;
    o->drives = g_drive;
    o->n_drives = 1;
    o->fsync = 0;
    o->seed = 0x5eed;
}

static inline bdb_map *mopen(const bdb_map_options *o)
{
    bdb_map *m = NULL;
    int rc = bdb_map_open(g_env, o, &m);
    cr_assert_eq(rc, 0, "bdb_map_open: %d %s", rc, bdb_errmsg());
    cr_assert_not_null(m);
    return m;
}

static inline void mclose(bdb_map *m)
{
    int rc = bdb_map_close(m);
    cr_assert_eq(rc, 0, "bdb_map_close: %d %s", rc, bdb_errmsg());
}

static inline bdb_map_shard_stats sstats(bdb_map *m, uint32_t shard)
{
    bdb_map_shard_stats s;
    memset(&s, 0xA5, sizeof s);
    int rc = bdb_map_shard_stats_get(m, shard, &s);
    cr_assert_eq(rc, 0, "shard_stats_get(%u): %d %s", shard, rc, bdb_errmsg());
    return s;
}

static inline bdb_map_stats mstats(bdb_map *m)
{
    bdb_map_stats s;
    memset(&s, 0xA5, sizeof s);
    int rc = bdb_map_stats_get(m, &s);
    cr_assert_eq(rc, 0, "stats_get: %d %s", rc, bdb_errmsg());
    return s;
}

static inline void minsert(bdb_map *m, const void *key, const void *slots, size_t n, uint64_t ref)
{
    int rc = bdb_map_insert(m, key, slots, n, ref);
    cr_assert_eq(rc, 0, "insert (n %zu): %d %s", n, rc, bdb_errmsg());
}

/* `key` holds exactly `n` elements `slots` (elem_size `es`) and ref count
 * `ref`. */
static inline void expect_val(const bdb_map *m, const void *key, const void *slots, size_t n,
                              uint64_t ref, uint32_t es)
{
    size_t cap = n + 2;
    uint8_t *buf = malloc(cap * es);
    memset(buf, 0xEE, cap * es);
    size_t got_n = 999999;
    uint64_t got_ref = 424242;
    int rc = bdb_map_read(m, key, buf, cap, &got_n, &got_ref);
    cr_assert_eq(rc, 1, "read: %d (want present) %s", rc, bdb_errmsg());
    cr_assert_eq(got_n, n, "read: %zu elements, want %zu", got_n, n);
    if (n) cr_assert_arr_eq(buf, slots, n * es, "read: slot list bytes differ");
    for (size_t i = n * es; i < cap * es; i++)
        cr_assert_eq(buf[i], 0xEE, "read wrote past the slot list (byte %zu)", i);
    cr_assert_eq(got_ref, ref, "read: ref count %llu, want %llu", (unsigned long long)got_ref,
                 (unsigned long long)ref);
    free(buf);
}

static inline void expect_absent(const bdb_map *m, const void *key)
{
    size_t n = 777;
    uint8_t buf[64];
    int rc = bdb_map_read(m, key, buf, 1, &n, NULL);
    cr_assert_eq(rc, 0, "read: %d (want absent) %s", rc, bdb_errmsg());
}

/* The map discarded nothing at open. */
static inline void expect_no_discards(bdb_map *m)
{
    bdb_map_discard d;
    size_t n = 99;
    int rc = bdb_map_discarded(m, 0, &d, &n);
    cr_assert_eq(rc, 0, "discarded: %s (%s)", rc ? d.path : "", rc ? d.reason : "");
    cr_assert_eq(n, 0);
}

static inline void expect_model(bdb_map *m, const mt_model *md)
{
    char why[512];
    cr_assert_eq(mt_check_all(m, md, why, sizeof why), 0, "%s", why);
}

/* An update callback that sets a fixed value (or deletes with n ==
 * SIZE_MAX, or fails with `err`), recording what it saw. */
typedef struct set_ctx {
    const void *slots;
    size_t n;
    uint64_t ref;
    int err;
    uint32_t es; /* elem_size, to record the first element (0: don't) */
    int calls;
    int saw_cur;
    size_t cur_n;
    uint64_t cur_ref;
    uint8_t cur_first[64];
} set_ctx;

static inline int set_cb(void *ctx, const bdb_map_value *cur, bdb_map_value *out)
{
    set_ctx *c = ctx;
    c->calls++;
    c->saw_cur = cur != NULL;
    if (cur) {
        c->cur_n = cur->n;
        c->cur_ref = cur->ref_count;
        if (cur->n && c->es && c->es <= sizeof c->cur_first)
            memcpy(c->cur_first, cur->slots, c->es);
    }
    if (c->err) return c->err;
    if (c->n == SIZE_MAX) return BDB_MAP_DELETE;
    out->slots = c->slots;
    out->n = c->n;
    out->ref_count = c->ref;
    return BDB_MAP_SET;
}

static inline void mupdate(bdb_map *m, const void *key, const void *slots, size_t n, uint64_t ref)
{
    set_ctx c = {.slots = slots, .n = n, .ref = ref};
    int rc = bdb_map_update(m, key, set_cb, &c);
    cr_assert_eq(rc, 0, "update: %d %s", rc, bdb_errmsg());
    cr_assert_eq(c.calls, 1, "the update callback ran %d times", c.calls);
}

/* ---- the standard restartable map of the restart and hostile suites ---- */

static char g_restart[MT_PATH_MAX];

/* 4 shards, 16-byte elements, ref counts, the restart file map.restart in
 * the scratch directory. */
static inline void std_opts(bdb_map_options *o)
{
    mopts(o, 4);
    o->ref_counts = 1;
    snprintf(g_restart, sizeof g_restart, "%s/map.restart", g_dir);
    o->restart_config_file = g_restart;
}

/* Fills the model's pool (300 keys) into the map: lists of 0..6 elements
 * (data classes 0 to 3), some ref counts other than 1, then deletes and
 * class changes so that tables have tombstones and data files free cells. */
static inline void std_fill(bdb_map *m, mt_model *md)
{
    cr_assert_eq(mt_model_init(md, 300, 32, 16, 4, 1, 2024), 0);
    uint64_t seed = 11;
    uint8_t v[6 * 16];
    for (size_t i = 0; i < 260; i++) {
        size_t n = i % 7;
        uint64_t ref = i % 4 == 0 ? 3 : 1;
        mt_fill(&seed, v, sizeof v);
        minsert(m, mt_key(md, i), v, n, ref);
        mt_model_set(md, i, v, n, ref);
    }
    for (size_t i = 0; i < 260; i += 13) {
        cr_assert_eq(bdb_map_delete(m, mt_key(md, i)), 1);
        mt_model_del(md, i);
    }
    for (size_t i = 4; i < 260; i += 17) { /* class 2 or 3 -> class 1 */
        if (!md->v[i].present || md->v[i].n < 3) continue;
        mt_fill(&seed, v, sizeof v);
        minsert(m, mt_key(md, i), v, 2, 1);
        mt_model_set(md, i, v, 2, 1);
    }
}

/* Builds the standard map, closes it and returns its model. */
static inline void std_build(mt_model *md)
{
    bdb_map_options o;
    std_opts(&o);
    bdb_map *m = mopen(&o);
    std_fill(m, md);
    expect_model(m, md);
    mclose(m);
}

static inline const char *mt_base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

#endif
