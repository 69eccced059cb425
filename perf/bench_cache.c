/* Benchmark of the entry cache: lookup hits with 1 and 2 threads (and,
 * for comparison, the same lookups behind one mutex, which is how
 * stellar-core guards its cache), absent-key lookups, put throughput into
 * a filling and into a full (evicting) cache, and memory per entry for
 * ACCOUNT-sized entries (40-byte key, 100-byte value). Prints medians of
 * repeated runs as a markdown table. Not a test: `make bench-cache` runs
 * it; BENCH_ENTRIES changes the large cache's size (default 1000000). */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bucketdb/bucketdb.h"
#include "cache/cache.h"
#include "core/rcu.h"

#include "bench_util.h"

#define REPS 5
#define KLEN 40
#define VLEN 100

static uint8_t *keys; /* KLEN bytes each */
static size_t nkeys;

static void make_key(uint8_t *k, uint64_t id)
{
    memset(k, 0, 8);
    for (int i = 0; i < 4; i++) {
        uint64_t w = mix64(id * 4 + (uint64_t)i + 1);
        memcpy(k + 8 + 8 * i, &w, 8);
    }
}

static void make_keys(size_t n)
{
    keys = malloc(n * KLEN);
    nkeys = n;
    for (size_t i = 0; i < n; i++) make_key(keys + i * KLEN, i);
}

static void fill(bdbi_cache *c, size_t first, size_t n)
{
    uint8_t v[VLEN];
    for (size_t i = first; i < first + n; i++) {
        memset(v, (int)i, VLEN);
        bdbi_cache_put(c, keys + i * KLEN, KLEN, v, VLEN);
    }
}

struct run {
    bdbi_cache *c;
    pthread_mutex_t *mu; /* non-NULL: every lookup under it */
    size_t span;         /* look up keys [base, base + span) */
    size_t base;
    long ops;
    unsigned seed;
    long found;
    pthread_barrier_t *start;
    double secs;
};

static void *lookup_thread(void *arg)
{
    struct run *r = arg;
    uint8_t v[256];
    size_t n;
    uint64_t x = r->seed * 0x9e3779b97f4a7c15ull + 1;
    long found = 0;
    /* one warm-up lookup registers the thread with RCU before the clock */
    found += bdbi_cache_lookup(r->c, keys, KLEN, v, sizeof v, &n) == 1;
    pthread_barrier_wait(r->start);
    double t0 = now_s();
    for (long i = 0; i < r->ops; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const uint8_t *k = keys + (r->base + x % r->span) * KLEN;
        if (r->mu) pthread_mutex_lock(r->mu);
        found += bdbi_cache_lookup(r->c, k, KLEN, v, sizeof v, &n) == 1;
        if (r->mu) pthread_mutex_unlock(r->mu);
    }
    r->secs = now_s() - t0;
    r->found = found;
    return NULL;
}

/* ns per lookup as seen by each thread, and lookups per second in all */
static void lookups(bdbi_cache *c, pthread_mutex_t *mu, size_t base, size_t span, int threads,
                    long ops, double *ns, double *mops, long *found)
{
    pthread_t t[2];
    struct run r[2];
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, (unsigned)threads);
    for (int i = 0; i < threads; i++) {
        r[i] = (struct run){c, mu, span, base, ops, (unsigned)i + 1, 0, &b, 0};
        pthread_create(&t[i], NULL, lookup_thread, &r[i]);
    }
    double slowest = 0;
    *found = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        if (r[i].secs > slowest) slowest = r[i].secs;
        *found += r[i].found - 1;
    }
    pthread_barrier_destroy(&b);
    *ns = slowest * 1e9 / (double)ops;
    *mops = (double)ops * threads / slowest / 1e6;
}

/* The machine's parallelism at the moment: 2 threads of pure arithmetic
 * against 1 (x2.0 on two idle cores; less when other work shares them),
 * to read the lookup ratios against. */
static void *spin_thread(void *arg)
{
    struct run *r = arg;
    volatile uint64_t x = r->seed;
    pthread_barrier_wait(r->start);
    double t0 = now_s();
    for (long i = 0; i < r->ops; i++) x = x * 6364136223846793005ull + 1;
    r->secs = now_s() - t0;
    return NULL;
}

static double spin_mops(int threads)
{
    pthread_t t[2];
    struct run r[2];
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, (unsigned)threads);
    double slowest = 0;
    for (int i = 0; i < threads; i++) {
        r[i] = (struct run){.ops = 20000000, .seed = (unsigned)i, .start = &b};
        pthread_create(&t[i], NULL, spin_thread, &r[i]);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        if (r[i].secs > slowest) slowest = r[i].secs;
    }
    pthread_barrier_destroy(&b);
    return 20.0 * threads / slowest;
}

/* Each repetition measures the machine's parallelism right before the
 * lookups, so that a ratio taken while other work shares the cores can be
 * recognised as such. */
static void lookup_rows(const char *what, bdbi_cache *c, size_t base, size_t span, long ops,
                        int expect_hits)
{
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    double ns1[REPS], ns2[REPS], m1[REPS], m2[REPS], nsm[REPS], mm[REPS];
    double r2[REPS], rm[REPS], sp[REPS];
    long found;
    for (int i = 0; i < REPS; i++) {
        sp[i] = spin_mops(2) / spin_mops(1);
        lookups(c, NULL, base, span, 1, ops, &ns1[i], &m1[i], &found);
        if (expect_hits && found != ops) printf("# only %ld of %ld lookups hit\n", found, ops);
        lookups(c, NULL, base, span, 2, ops, &ns2[i], &m2[i], &found);
        lookups(c, &mu, base, span, 2, ops, &nsm[i], &mm[i], &found);
        r2[i] = m2[i] / m1[i];
        rm[i] = mm[i] / m1[i];
    }
    printf("| %s, 1 thread | %.1f ns/op, %.1f M/s |\n", what, median(ns1, REPS), median(m1, REPS));
    printf("| %s, 2 threads | %.1f ns/op, %.1f M/s, x%.2f of 1 thread (arithmetic: x%.2f) |\n",
           what, median(ns2, REPS), median(m2, REPS), median(r2, REPS), median(sp, REPS));
    printf("| %s, 2 threads, each lookup under one mutex | %.1f ns/op, %.1f M/s, x%.2f |\n", what,
           median(nsm, REPS), median(mm, REPS), median(rm, REPS));
}

int main(void)
{
    size_t big = 1000000;
    const char *e = getenv("BENCH_ENTRIES");
    if (e && atol(e) > 0) big = (size_t)atol(e);
    make_keys(2 * big);

    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 1;
    bdb_env *env;
    if (bdb_env_open(&o, &env) != 0) {
        fprintf(stderr, "bdb_env_open: %s\n", bdb_errmsg());
        return 1;
    }
    printf("| figure (%d-byte keys, %d-byte values) | median of %d runs |\n|---|---|\n", KLEN, VLEN,
           REPS);

    /* hits on a hot cache that fits in the CPU caches */
    bdbi_cache *hot;
    bdbi_cache_create(env, 1000, 1, &hot);
    fill(hot, 0, 1000);
    lookup_rows("lookup hit, 1000 entries", hot, 0, 1000, 4000000, 1);
    bdbi_cache_destroy(env, hot);

    /* a large cache: every lookup misses the CPU caches */
    bdbi_cache *c;
    if (bdbi_cache_create(env, big, 1, &c) != 0) {
        fprintf(stderr, "bdbi_cache_create: %s\n", bdb_errmsg());
        return 1;
    }
    bdb_stats st0, st1;
    bdb_env_stats(env, &st0);
    long rss0 = status_kib("VmRSS");
    double t0 = now_s();
    fill(c, 0, big);
    double fill_s = now_s() - t0;
    long rss1 = status_kib("VmRSS");
    bdb_env_stats(env, &st1);
    char what[96];
    snprintf(what, sizeof what, "lookup hit, %zu entries", big);
    lookup_rows(what, c, 0, big, 2000000, 1);
    snprintf(what, sizeof what, "lookup of an absent key, %zu entries", big);
    lookup_rows(what, c, big, big, 2000000, 0);

    /* puts into the full cache: each evicts */
    double put_full[REPS];
    for (int i = 0; i < REPS; i++) {
        size_t first = (size_t)(i % 2 ? 0 : big);
        t0 = now_s();
        fill(c, first, big);
        put_full[i] = (now_s() - t0) * 1e9 / (double)big;
    }
    printf("| put of a new key into an empty cache (filling %zu) | %.0f ns/op |\n", big,
           fill_s * 1e9 / (double)big);
    printf("| put of a new key into a full cache (evicts one) | %.0f ns/op |\n",
           median(put_full, REPS));

    bdbi_cache_stats s;
    bdbi_cache_stats_get(c, &s);
    printf("| memory per entry: bdbi_cache_bytes / entries | %.1f B |\n",
           (double)bdbi_cache_bytes(c) / (double)s.entries);
    printf("| memory per entry: env's cache-category bytes / entries | %.1f B |\n",
           (double)st1.mem[BDB_MEM_CACHE].bytes / (double)big);
    printf("| memory per entry: RSS growth while filling (entries + touched table) | %.1f B |\n",
           (double)(rss1 - rss0) * 1024 / (double)big);
    printf("| slot table + resident list per entry (of the above) | %.1f B |\n",
           (double)st0.mem[BDB_MEM_CACHE].bytes / (double)big);
    bdbi_cache_destroy(env, c);
    free(keys);
    int rc = bdb_env_close(env);
    if (rc) fprintf(stderr, "bdb_env_close: %s\n", bdb_errmsg());
    return rc ? 1 : 0;
}
