#include "config.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "bucketdb/bucketdb.h"
#include "core/alloc.h"
#include "core/env.h"

static bdb_env *open_env(int arena)
{
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 1;
    o.use_jemalloc_arena = arena;
    bdb_env *env;
    cr_assert_eq(bdb_env_open(&o, &env), 0, "%s", bdb_errmsg());
    return env;
}

static bdb_mem_stats cat_stats(bdb_env *env, bdb_mem_category c)
{
    bdb_stats st;
    cr_assert_eq(bdb_env_stats(env, &st), 0);
    return st.mem[c];
}

static bdb_mem_stats total_stats(bdb_env *env)
{
    bdb_stats st;
    cr_assert_eq(bdb_env_stats(env, &st), 0);
    return st.mem_total;
}

ParameterizedTestParameters(alloc, accounting)
{
    static int modes[] = {0, 1};
    return cr_make_param_array(int, modes, 2);
}

/* Every byte handed out is counted in its category and in the total, and
 * given back on free; peaks remember the high-water mark. */
ParameterizedTest(int *arena, alloc, accounting)
{
    bdb_env *env = open_env(*arena);
    bdb_mem_stats c0 = cat_stats(env, BDB_MEM_INDEX), t0 = total_stats(env);

    void *a = bdbi_malloc(env, BDB_MEM_INDEX, 1000);
    void *b = bdbi_calloc(env, BDB_MEM_INDEX, 10, 300);
    cr_assert(a && b);
    bdb_mem_stats c1 = cat_stats(env, BDB_MEM_INDEX), t1 = total_stats(env);
    cr_assert_eq(c1.bytes - c0.bytes, 4000);
    cr_assert_eq(c1.allocs - c0.allocs, 2);
    cr_assert_eq(t1.bytes - t0.bytes, 4000);
    cr_assert_geq(c1.peak_bytes, c1.bytes);

    bdbi_free(env, BDB_MEM_INDEX, a, 1000);
    bdb_mem_stats c2 = cat_stats(env, BDB_MEM_INDEX);
    cr_assert_eq(c2.bytes - c0.bytes, 3000);
    cr_assert_eq(c2.frees - c0.frees, 1);
    cr_assert_eq(c2.peak_bytes, c1.peak_bytes, "peak must not fall on free");
    bdbi_free(env, BDB_MEM_INDEX, b, 3000);
    cr_assert_eq(cat_stats(env, BDB_MEM_INDEX).bytes, c0.bytes);
    cr_assert_eq(total_stats(env).bytes, t0.bytes);
    /* other categories are untouched */
    cr_assert_eq(cat_stats(env, BDB_MEM_CACHE).allocs, 0);
    cr_assert_eq(bdb_env_close(env), 0);
}

ParameterizedTestParameters(alloc, realloc_keeps_content_and_counts)
{
    static int modes[] = {0, 1};
    return cr_make_param_array(int, modes, 2);
}

ParameterizedTest(int *arena, alloc, realloc_keeps_content_and_counts)
{
    bdb_env *env = open_env(*arena);
    bdb_mem_stats c0 = cat_stats(env, BDB_MEM_BUCKET);
    uint8_t *p = bdbi_malloc(env, BDB_MEM_BUCKET, 100);
    for (int i = 0; i < 100; i++) p[i] = (uint8_t)i;
    p = bdbi_realloc(env, BDB_MEM_BUCKET, p, 100, 1 << 20);
    cr_assert_not_null(p);
    for (int i = 0; i < 100; i++) cr_assert_eq(p[i], (uint8_t)i);
    cr_assert_eq(cat_stats(env, BDB_MEM_BUCKET).bytes - c0.bytes, 1 << 20);
    p = bdbi_realloc(env, BDB_MEM_BUCKET, p, 1 << 20, 50);
    for (int i = 0; i < 50; i++) cr_assert_eq(p[i], (uint8_t)i);
    cr_assert_eq(cat_stats(env, BDB_MEM_BUCKET).bytes - c0.bytes, 50);
    cr_assert_geq(cat_stats(env, BDB_MEM_BUCKET).peak_bytes, 1 << 20);
    bdbi_free(env, BDB_MEM_BUCKET, p, 50);
    cr_assert_eq(cat_stats(env, BDB_MEM_BUCKET).bytes, c0.bytes);
    cr_assert_eq(bdb_env_close(env), 0);
}

Test(alloc, calloc_zeroes)
{
    bdb_env *env = open_env(1);
    /* dirty some memory first so a zero result is not an accident */
    uint8_t *d = bdbi_malloc(env, BDB_MEM_OTHER, 4096);
    memset(d, 0xAB, 4096);
    bdbi_free(env, BDB_MEM_OTHER, d, 4096);
    uint8_t *z = bdbi_calloc(env, BDB_MEM_OTHER, 64, 64);
    for (int i = 0; i < 4096; i++) cr_assert_eq(z[i], 0);
    bdbi_free(env, BDB_MEM_OTHER, z, 4096);
    cr_assert_eq(bdb_env_close(env), 0);
}

Test(alloc, impossible_sizes_fail_cleanly)
{
    bdb_env *env = open_env(1);
    bdb_mem_stats t0 = total_stats(env);
    cr_assert_null(bdbi_calloc(env, BDB_MEM_OTHER, SIZE_MAX / 2, 3));
    bdb_error e;
    bdb_last_error(&e);
    cr_assert_eq(e.code, BDB_ENOMEM);
    cr_assert_null(bdbi_malloc(env, BDB_MEM_OTHER, SIZE_MAX - 4096));
    bdb_last_error(&e);
    cr_assert_eq(e.code, BDB_ENOMEM);
    cr_assert(strstr(e.msg, "other") != NULL, "message names the category: %s", e.msg);
    void *p = bdbi_malloc(env, BDB_MEM_OTHER, 16);
    cr_assert_null(bdbi_realloc(env, BDB_MEM_OTHER, p, 16, SIZE_MAX - 4096));
    bdbi_free(env, BDB_MEM_OTHER, p, 16); /* still valid after a failed realloc */
    cr_assert_eq(total_stats(env).bytes, t0.bytes);
    cr_assert_eq(bdb_env_close(env), 0);
}

Test(alloc, strdup)
{
    bdb_env *env = open_env(1);
    bdb_mem_stats c0 = cat_stats(env, BDB_MEM_CORE);
    char *s = bdbi_strdup(env, BDB_MEM_CORE, "bucket-00ff.xdr");
    cr_assert_str_eq(s, "bucket-00ff.xdr");
    cr_assert_eq(cat_stats(env, BDB_MEM_CORE).bytes - c0.bytes, 16);
    bdbi_strfree(env, BDB_MEM_CORE, s);
    cr_assert_eq(cat_stats(env, BDB_MEM_CORE).bytes, c0.bytes);
    cr_assert_eq(bdb_env_close(env), 0);
}

Test(alloc, arena_reports_active_bytes)
{
    bdb_env *env = open_env(1);
    void *p = bdbi_malloc(env, BDB_MEM_CACHE, 8 << 20);
    memset(p, 1, 8 << 20);
    bdb_stats st;
    bdb_env_stats(env, &st);
#ifdef HAVE_JEMALLOC
    cr_assert_geq(st.arena_active_bytes, 8 << 20);
#else
    cr_assert_eq(st.arena_active_bytes, 0);
#endif
    bdbi_free(env, BDB_MEM_CACHE, p, 8 << 20);
    cr_assert_eq(bdb_env_close(env), 0);

    env = open_env(0);
    bdb_env_stats(env, &st);
    cr_assert_eq(st.arena_active_bytes, 0, "no arena when use_jemalloc_arena = 0");
    cr_assert_eq(bdb_env_close(env), 0);
}

/* kept reachable so that LeakSanitizer does not report the deliberate leak */
static void *leaked;

Test(alloc, leak_is_reported_at_close)
{
    bdb_env *env = open_env(1);
    leaked = bdbi_malloc(env, BDB_MEM_MAP, 24);
    cr_assert_eq(bdb_env_close(env), BDB_EINTERNAL);
    cr_assert(strstr(bdb_errmsg(), "24 bytes") != NULL, "%s", bdb_errmsg());
}

struct churn {
    bdb_env *env;
    int seed;
};

static void *churn_main(void *arg)
{
    struct churn *c = arg;
    void *slots[64] = {0};
    size_t sizes[64] = {0};
    unsigned x = (unsigned)c->seed;
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        int s = (int)(x >> 26); /* 0..63 */
        if (slots[s]) {
            bdbi_free(c->env, BDB_MEM_LIST, slots[s], sizes[s]);
            slots[s] = NULL;
        } else {
            sizes[s] = 1 + (x >> 8) % 5000;
            slots[s] = bdbi_malloc(c->env, BDB_MEM_LIST, sizes[s]);
        }
    }
    for (int s = 0; s < 64; s++)
        if (slots[s]) bdbi_free(c->env, BDB_MEM_LIST, slots[s], sizes[s]);
    return NULL;
}

Test(alloc, concurrent_counts_balance)
{
    bdb_env *env = open_env(1);
    pthread_t t[4];
    struct churn c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (struct churn){env, i + 1};
        pthread_create(&t[i], NULL, churn_main, &c[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    bdb_mem_stats s = cat_stats(env, BDB_MEM_LIST);
    cr_assert_eq(s.bytes, 0);
    cr_assert_eq(s.allocs, s.frees);
    cr_assert_gt(s.allocs, 1000);
    cr_assert_eq(bdb_env_close(env), 0);
}

Test(alloc, category_names)
{
    cr_assert_str_eq(bdb_mem_category_name(BDB_MEM_CORE), "core");
    cr_assert_str_eq(bdb_mem_category_name(BDB_MEM_MAP), "map");
    cr_assert_str_eq(bdb_mem_category_name(BDB_MEM__COUNT), "unknown");
    cr_assert_str_eq(bdb_mem_category_name(-1), "unknown");
    for (int c = 0; c < BDB_MEM__COUNT; c++) cr_assert_str_neq(bdb_mem_category_name(c), "unknown");
}

Test(alloc, env_with_open_stores_refuses_to_close)
{
    bdb_env *env = open_env(1);
    bdbi_env_retain(env);
    cr_assert_eq(bdb_env_close(env), BDB_EBUSY);
    cr_assert(strstr(bdb_errmsg(), "1 open store") != NULL, "%s", bdb_errmsg());
    /* still usable */
    void *p = bdbi_malloc(env, BDB_MEM_OTHER, 8);
    bdbi_free(env, BDB_MEM_OTHER, p, 8);
    bdbi_env_release(env);
    cr_assert_eq(bdb_env_close(env), 0);
}
