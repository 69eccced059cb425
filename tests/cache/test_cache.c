/* The entry cache, single-threaded: contents against a model, the
 * capacity bound, the two-candidate LRU eviction, exact hit and miss
 * counts, stellar-core's sizing rule, byte accounting and env teardown.
 * Concurrency is tests/cache/stress_cache.c (it runs under TSan). */
#include "config.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bucketdb/bucketdb.h"
#include "cache/cache.h"
#include "core/rcu.h"

static bdb_env *env;

static void open_env(void)
{
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 1;
    cr_assert_eq(bdb_env_open(&o, &env), 0, "%s", bdb_errmsg());
}

/* Every test ends here: nothing of the cache may outlive its destroy and
 * the grace periods after it. */
static void close_env(void)
{
    bdbi_rcu_barrier();
    bdb_stats st;
    cr_assert_eq(bdb_env_stats(env, &st), 0);
    cr_expect_eq(st.mem[BDB_MEM_CACHE].bytes, 0, "%llu cache bytes leaked",
                 (unsigned long long)st.mem[BDB_MEM_CACHE].bytes);
    cr_expect_eq(bdb_env_close(env), 0, "%s", bdb_errmsg());
}

TestSuite(cache, .init = open_env, .fini = close_env);

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* A 40-byte key shaped like an ACCOUNT LedgerKey. */
static size_t make_key(uint8_t *k, uint64_t id)
{
    memset(k, 0, 8);
    for (int i = 0; i < 4; i++) {
        uint64_t w = i == 0 ? id : mix(id + (uint64_t)i);
        memcpy(k + 8 + 8 * i, &w, 8);
    }
    return 40;
}

/* A value of `n` bytes determined by (id, version). */
static void make_val(uint8_t *v, size_t n, uint64_t id, uint64_t version)
{
    uint64_t s = mix(id * 1000003u + version);
    for (size_t i = 0; i < n; i++) v[i] = (uint8_t)(mix(s + i / 8) >> (8 * (i % 8)));
}

static int has(bdbi_cache *c, uint64_t id, uint8_t *out, size_t cap, size_t *vlen)
{
    uint8_t k[40];
    return bdbi_cache_lookup(c, k, make_key(k, id), out, cap, vlen);
}

static int put(bdbi_cache *c, uint64_t id, uint64_t version, size_t vlen)
{
    uint8_t k[40], v[512];
    cr_assert_leq(vlen, sizeof v);
    make_val(v, vlen, id, version);
    return bdbi_cache_put(c, k, make_key(k, id), v, vlen);
}

Test(cache, round_trip)
{
    bdbi_cache *c;
    cr_assert_eq(bdbi_cache_create(env, 16, 1, &c), 0);
    cr_assert_not_null(c);
    cr_assert_eq(put(c, 7, 0, 120), 1);
    uint8_t want[120], got[256];
    size_t n = 0;
    make_val(want, sizeof want, 7, 0);
    cr_assert_eq(has(c, 7, got, sizeof got, &n), 1);
    cr_assert_eq(n, 120);
    cr_assert_arr_eq(got, want, 120);
    cr_assert_eq(has(c, 8, got, sizeof got, &n), 0, "an absent key is not found");

    /* keys that differ only in length, and the empty key and value */
    uint8_t k[3] = {1, 2, 3};
    cr_assert_eq(bdbi_cache_put(c, k, 2, (const uint8_t *)"ab", 2), 1);
    cr_assert_eq(bdbi_cache_put(c, k, 3, (const uint8_t *)"abc", 3), 1);
    cr_assert_eq(bdbi_cache_put(c, NULL, 0, NULL, 0), 1);
    cr_assert_eq(bdbi_cache_lookup(c, k, 2, got, sizeof got, &n), 1);
    cr_assert(n == 2 && !memcmp(got, "ab", 2));
    cr_assert_eq(bdbi_cache_lookup(c, k, 3, got, sizeof got, &n), 1);
    cr_assert(n == 3 && !memcmp(got, "abc", 3));
    cr_assert_eq(bdbi_cache_lookup(c, k, 1, got, sizeof got, &n), 0);
    n = 99;
    cr_assert_eq(bdbi_cache_lookup(c, NULL, 0, NULL, 0, &n), 1);
    cr_assert_eq(n, 0);
    bdbi_cache_destroy(env, c);
}

Test(cache, update_replaces_value)
{
    bdbi_cache *c;
    cr_assert_eq(bdbi_cache_create(env, 4, 1, &c), 0);
    uint8_t want[200], got[256];
    size_t n;
    cr_assert_eq(put(c, 1, 0, 100), 1);
    cr_assert_eq(put(c, 1, 1, 200), 1);
    cr_assert_eq(has(c, 1, got, sizeof got, &n), 1);
    make_val(want, 200, 1, 1);
    cr_assert_eq(n, 200);
    cr_assert_arr_eq(got, want, 200);
    cr_assert_eq(put(c, 1, 2, 50), 1, "shorter again");
    cr_assert_eq(has(c, 1, got, sizeof got, &n), 1);
    make_val(want, 50, 1, 2);
    cr_assert_eq(n, 50);
    cr_assert_arr_eq(got, want, 50);
    cr_assert_eq(put(c, 1, 2, 50), 1, "the same bytes again");
    bdbi_cache_stats st;
    bdbi_cache_stats_get(c, &st);
    cr_assert_eq(st.entries, 1);
    cr_assert_eq(st.inserts, 1);
    cr_assert_eq(st.updates, 3);
    cr_assert_eq(st.evictions, 0);
    bdbi_cache_destroy(env, c);
}

/* Random puts and lookups over more keys than fit, against a model of the
 * latest value of every key: whatever is found is that value, the cache
 * is never over capacity, and every resident entry is found (a lone
 * thread races with no writer, so it has no excuse to miss). */
Test(cache, model_and_capacity)
{
    enum { KEYS = 300, CAP = 37, OPS = 60000 };
    static uint64_t version[KEYS];
    static int ever[KEYS];
    bdbi_cache *c;
    cr_assert_eq(bdbi_cache_create(env, CAP, 42, &c), 0);
    uint8_t want[512], got[512];
    size_t n;
    uint64_t x = 1;
    for (int op = 0; op < OPS; op++) {
        x = mix(x + (uint64_t)op);
        uint64_t id = x % KEYS;
        size_t len = 1 + (size_t)(id * 7 % 300);
        if ((x >> 20) % 3 == 0) {
            version[id] += (x >> 30) % 2; /* half the puts offer the same bytes again */
            cr_assert_geq(put(c, id, version[id], len), 0);
            ever[id] = 1;
        } else if (has(c, id, got, sizeof got, &n) == 1) {
            cr_assert(ever[id], "key %llu was never put", (unsigned long long)id);
            make_val(want, len, id, version[id]);
            cr_assert_eq(n, len);
            cr_assert_arr_eq(got, want, len, "stale or foreign value for key %llu",
                             (unsigned long long)id);
        }
        bdbi_cache_stats st;
        bdbi_cache_stats_get(c, &st);
        cr_assert_leq(st.entries, CAP, "%zu entries in a cache of %d", st.entries, CAP);
    }
    bdbi_cache_stats st;
    bdbi_cache_stats_get(c, &st);
    cr_assert_eq(st.entries, CAP, "full after heavy churn");
    cr_assert_gt(st.evictions, 1000);
    cr_assert_eq(st.skipped, 0);
    size_t found = 0;
    for (uint64_t id = 0; id < KEYS; id++) found += has(c, id, got, sizeof got, &n) == 1;
    cr_assert_eq(found, CAP, "resident %zu, findable %zu", st.entries, found);
    bdbi_cache_destroy(env, c);
}

/* Capacity 8: before every insert of a new key, key A is looked up; key B
 * is never touched. With two-candidate LRU, A is evicted only when both
 * draws hit A or A and the new entry (3 in 81 per insert), so it survives
 * 24 evicting inserts about 40% of the time, while the oldest entry B is
 * evicted whenever a draw hits it (survival 0.35%). Plain random eviction
 * would keep A and B alike, about 6%. 1000 seeds; the bounds are many
 * standard deviations from both. */
Test(cache, eviction_prefers_less_recent)
{
    enum { TRIALS = 1000, CAP = 8, INSERTS = 30 };
    int a_alive = 0, b_alive = 0;
    uint8_t got[512];
    size_t n;
    for (uint64_t t = 0; t < TRIALS; t++) {
        bdbi_cache *c;
        cr_assert_eq(bdbi_cache_create(env, CAP, t, &c), 0);
        put(c, 1, 0, 100); /* A */
        put(c, 2, 0, 100); /* B */
        for (uint64_t i = 0; i < INSERTS; i++) {
            (void)has(c, 1, got, sizeof got, &n);
            put(c, 100 + i, 0, 100);
        }
        a_alive += has(c, 1, got, sizeof got, &n) == 1;
        b_alive += has(c, 2, got, sizeof got, &n) == 1;
        bdbi_cache_destroy(env, c);
    }
    cr_log_info("A survived %d of %d, B %d\n", a_alive, TRIALS, b_alive);
    cr_assert_gt(a_alive, 300, "touched key survived %d of %d", a_alive, TRIALS);
    cr_assert_lt(b_alive, 30, "untouched key survived %d of %d", b_alive, TRIALS);
}

/* Equal seeds, equal evictions. */
Test(cache, seed_determines_evictions)
{
    bdbi_cache *c1, *c2;
    cr_assert_eq(bdbi_cache_create(env, 5, 9, &c1), 0);
    cr_assert_eq(bdbi_cache_create(env, 5, 9, &c2), 0);
    for (uint64_t i = 0; i < 200; i++) {
        put(c1, i, 0, 10);
        put(c2, i, 0, 10);
    }
    uint8_t got[16];
    size_t n;
    for (uint64_t i = 0; i < 200; i++)
        cr_assert_eq(has(c1, i, got, sizeof got, &n), has(c2, i, got, sizeof got, &n));
    bdbi_cache_destroy(env, c1);
    bdbi_cache_destroy(env, c2);
}

Test(cache, hit_and_miss_counts_exact)
{
    bdbi_cache *c;
    cr_assert_eq(bdbi_cache_create(env, 2, 3, &c), 0);
    uint8_t got[512];
    size_t n;
    /* stellar-core's pattern: lookup; on absence read the disk; put what it found */
    cr_assert_eq(has(c, 1, got, sizeof got, &n), 0);
    put(c, 1, 0, 100);
    cr_assert_eq(has(c, 1, got, sizeof got, &n), 1);
    cr_assert_eq(has(c, 1, got, sizeof got, &n), 1);
    cr_assert_eq(has(c, 9, got, sizeof got, &n), 0, "not on disk either: no put, no miss");
    put(c, 2, 0, 100);
    put(c, 2, 1, 100); /* update */
    put(c, 3, 0, 100); /* evicts one: still counted as a miss */
    bdbi_cache_stats st;
    bdbi_cache_stats_get(c, &st);
    cr_assert_eq(st.hits, 2);
    cr_assert_eq(st.misses, 4);
    cr_assert_eq(st.inserts, 3);
    cr_assert_eq(st.updates, 1);
    cr_assert_eq(st.evictions, 1);
    cr_assert_eq(st.entries, 2);
    cr_assert_eq(st.capacity, 2);
    bdbi_cache_destroy(env, c);
}

Test(cache, capacity_zero_is_no_cache)
{
    bdbi_cache *c = (bdbi_cache *)&c;
    cr_assert_eq(bdbi_cache_create(env, 0, 1, &c), 0);
    cr_assert_null(c);
    uint8_t k[40], got[16];
    size_t n = 5;
    cr_assert_eq(bdbi_cache_put(c, k, make_key(k, 1), k, 10), 0);
    cr_assert_eq(bdbi_cache_lookup(c, k, 40, got, sizeof got, &n), 0);
    cr_assert_eq(n, 5);
    bdbi_cache_stats st;
    memset(&st, 0xff, sizeof st);
    bdbi_cache_stats_get(c, &st);
    cr_assert(st.hits == 0 && st.misses == 0 && st.entries == 0 && st.capacity == 0);
    cr_assert_eq(bdbi_cache_bytes(c), 0);
    bdb_stats es;
    bdb_env_stats(env, &es);
    cr_assert_eq(es.mem[BDB_MEM_CACHE].allocs, 0);
    bdbi_cache_destroy(env, c);
}

Test(cache, capacity_limit)
{
    bdbi_cache *c = (bdbi_cache *)&c;
    cr_assert_eq(bdbi_cache_create(env, BDBI_CACHE_MAX_CAPACITY + 1, 1, &c), BDB_EINVAL);
    cr_assert_null(c);
}

Test(cache, value_larger_than_buffer)
{
    bdbi_cache *c;
    cr_assert_eq(bdbi_cache_create(env, 4, 1, &c), 0);
    put(c, 1, 0, 300);
    uint8_t got[300], want[300];
    memset(got, 0xaa, sizeof got);
    size_t n = 0;
    cr_assert_eq(has(c, 1, got, 299, &n), BDB_EINVAL);
    cr_assert_eq(n, 300, "the needed size is reported");
    cr_assert_eq(got[0], 0xaa, "nothing copied");
    cr_assert_eq(has(c, 1, NULL, 0, &n), BDB_EINVAL);
    cr_assert_eq(n, 300);
    bdbi_cache_stats st;
    bdbi_cache_stats_get(c, &st);
    cr_assert_eq(st.hits, 0, "a lookup that could not copy is not a hit");
    cr_assert_eq(has(c, 1, got, n, &n), 1);
    make_val(want, 300, 1, 0);
    cr_assert_arr_eq(got, want, 300);
    bdbi_cache_stats_get(c, &st);
    cr_assert_eq(st.hits, 1);
    bdbi_cache_destroy(env, c);
}

Test(cache, large_keys_and_values)
{
    enum { KLEN = 4096, VLEN = 1 << 20 };
    bdbi_cache *c;
    cr_assert_eq(bdbi_cache_create(env, 3, 1, &c), 0);
    uint8_t *k = malloc(KLEN), *v = malloc(VLEN), *got = malloc(VLEN);
    for (int r = 0; r < 8; r++) {
        memset(k, r, KLEN);
        k[KLEN - 1] = 0xee; /* keys equal but for one byte... */
        k[0] = (uint8_t)r;
        make_val(v, VLEN, (uint64_t)r, 0);
        cr_assert_geq(bdbi_cache_put(c, k, KLEN, v, VLEN), 0);
    }
    size_t found = 0, n;
    for (int r = 0; r < 8; r++) {
        memset(k, r, KLEN);
        k[KLEN - 1] = 0xee;
        k[0] = (uint8_t)r;
        int rc = bdbi_cache_lookup(c, k, KLEN, got, VLEN, &n);
        cr_assert_geq(rc, 0);
        if (!rc) continue;
        found++;
        make_val(v, VLEN, (uint64_t)r, 0);
        cr_assert_eq(n, VLEN);
        cr_assert(!memcmp(got, v, VLEN), "value of key %d", r);
        k[KLEN - 1] = 0xef; /* ...and a key that shares all but the last byte is absent */
        cr_assert_eq(bdbi_cache_lookup(c, k, KLEN, got, VLEN, &n), 0);
    }
    cr_assert_eq(found, 3);
    cr_assert_gt(bdbi_cache_bytes(c), 3 * (size_t)(KLEN + VLEN));
    free(k);
    free(v);
    free(got);
    bdbi_cache_destroy(env, c);
}

/* bdbi_cache_bytes() is what the cache holds of the env's cache memory:
 * equal to the env's BDB_MEM_CACHE bytes once evicted entries are freed. */
Test(cache, bytes_match_env_accounting)
{
    bdbi_cache *c;
    cr_assert_eq(bdbi_cache_create(env, 100, 1, &c), 0);
    bdb_stats st;
    size_t empty = bdbi_cache_bytes(c);
    bdb_env_stats(env, &st);
    cr_assert_eq(empty, st.mem[BDB_MEM_CACHE].bytes);
    put(c, 1, 0, 100);
    size_t one = bdbi_cache_bytes(c);
    cr_assert_gt(one, empty + 140);
    put(c, 2, 0, 100);
    cr_assert_eq(bdbi_cache_bytes(c) - one, one - empty, "same sizes, same cost");
    for (uint64_t i = 0; i < 1000; i++) put(c, i, 1, 1 + i % 300);
    bdbi_rcu_barrier();
    bdb_env_stats(env, &st);
    cr_assert_eq(bdbi_cache_bytes(c), st.mem[BDB_MEM_CACHE].bytes);
    bdbi_cache_destroy(env, c);
}

/* ------------------------------------------------------------------ */
/* Sizing                                                             */
/* ------------------------------------------------------------------ */

#define MB (1024ull * 1024ull)

Test(cache_sizing, zero_and_whole)
{
    cr_assert_eq(bdbi_cache_capacity(0, 100, 15000, 15000), 0, "budget 0: no cache");
    cr_assert_eq(bdbi_cache_capacity(100 * MB, 0, 0, 15000), 0, "no accounts: no cache");
    cr_assert_eq(bdbi_cache_capacity(100 * MB, 100, 15000, 99 * MB), 100, "all fit");
    cr_assert_eq(bdbi_cache_capacity(100 * MB, 100, 15000, 100 * MB - 1), 100);
    cr_assert_eq(bdbi_cache_capacity(100 * MB, 100, 0, 200 * MB), 0, "no bytes: defined");
}

/* Hand-computed with stellar-core's double arithmetic. */
Test(cache_sizing, share_of_budget)
{
    /* fraction 150000 / (300 MB) = 500 / 2^20 exactly; avail = 50000;
     * average 150; 50000 / 150 = 333.3 -> 333 */
    cr_assert_eq(bdbi_cache_capacity(100 * MB, 1000, 150000, 300 * MB), 333);
    /* total == budget is not "all fit": budget * (p / t) = p, p / (p / n) = n */
    cr_assert_eq(bdbi_cache_capacity(1000, 10, 1000, 1000), 10);
    /* ...and may lose one to rounding: 259871 / 267460 * 267460 = 259870.99..
     * -> 259870 bytes, / (259871 / 121.) = 120.99.. -> 120 */
    cr_assert_eq(bdbi_cache_capacity(267460, 121, 259871, 267460), 120);
    /* 1000 * (1000 / 3000.) = 333.33 -> 333 bytes; average 333.33;
     * 333 / 333.33 = 0.999 -> 0. The integer reading of the rule,
     * (1000 * 1000 / 3000) / (1000 / 3) = 333 / 333, would give 1. */
    cr_assert_eq(bdbi_cache_capacity(1000, 3, 1000, 3000), 0);
    /* the whole BucketList's share: everything but rounding */
    cr_assert_eq(bdbi_cache_capacity(2000 * MB, 1000000, 4000 * MB, 4000 * MB), 500000);
    /* values near 2^64 stay defined */
    cr_assert_eq(bdbi_cache_capacity(UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX),
                 (size_t)UINT64_MAX);
}

/* stellar-core's "bl cache" test facts on a synthetic BucketList of 22
 * pieces with different account counts and average sizes: with 5000 MB
 * every piece caches all its accounts; with half the account bytes
 * (rounded down to whole MB) the cached share of all accounts is within
 * 0.15 of the MB-rounded ratio. */
Test(cache_sizing, bucketlist_facts)
{
    enum { PIECES = 22 };
    uint64_t count[PIECES], bytes[PIECES], total = 0;
    for (int i = 0; i < PIECES; i++) {
        count[i] = 100 + (uint64_t)i * i * 97;
        bytes[i] = count[i] * (100 + (uint64_t)(i * 37 % 90));
        total += bytes[i];
    }
    cr_assert_gt(total, 4 * MB, "large enough that half of it is whole MB");
    for (int i = 0; i < PIECES; i++)
        cr_assert_eq(bdbi_cache_capacity(5000 * MB, count[i], bytes[i], total), count[i]);

    uint64_t small_mb = total / MB / 2;
    double expected = (double)small_mb * MB / (double)total;
    uint64_t cached = 0, accounts = 0;
    for (int i = 0; i < PIECES; i++) {
        size_t cap = bdbi_cache_capacity(small_mb * MB, count[i], bytes[i], total);
        cr_assert_leq(cap, count[i]);
        cached += cap;
        accounts += count[i];
    }
    double ratio = (double)cached / (double)accounts;
    cr_log_info("cached %llu of %llu accounts (%.4f, expected %.4f)\n", (unsigned long long)cached,
                (unsigned long long)accounts, ratio, expected);
    cr_assert(ratio > expected - 0.15 && ratio < expected + 0.15);
    /* tighter: per piece, only two truncations separate the capacity from
     * budget * count / total */
    cr_assert(ratio <= expected + 1e-9 && ratio > expected - 2.0 * PIECES / (double)accounts,
              "ratio %.6f, expected %.6f", ratio, expected);
}
