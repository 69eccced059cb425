/* Stress test of the entry cache's lock-free reads, in plain C so that it
 * runs under ThreadSanitizer (Criterion cannot).
 *
 * Four threads behave like BucketListDB readers on one small cache (64
 * entries for 2000 keys, so nearly every insert evicts and moves entries
 * in the table): look a random key up; if absent, "read the disk" and put
 * it. Some put_calls offer a newer version of the key, replacing its node. Every
 * value is derived from its key and a version written into the value, so
 * a torn copy, a foreign key's value or a freed node's bytes are caught.
 * Under TSan a missing publication or reclamation ordering is reported,
 * under ASan a read after free. Afterwards the hit and miss counters must
 * equal what the threads counted, and every byte must be freed.
 * Prints TAP. */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bucketdb/bucketdb.h"
#include "cache/cache.h"
#include "core/rcu.h"

#define THREADS  4
#define KEYS     2000
#define CAPACITY 64
#define MAXVAL   (8 + 400)

static bdbi_cache *cache;
static _Atomic int stop, finished;
static _Atomic uint64_t bad, hits, put_calls, lookups, stored, too_small;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static size_t make_key(uint8_t *k, uint64_t id)
{
    size_t n = 4 + id % 60; /* lengths differ, so a length mix-up shows */
    for (size_t i = 0; i < n; i++) k[i] = (uint8_t)(mix(id * 131 + i / 8) >> (8 * (i % 8)));
    memcpy(k, &id, 4);
    return n;
}

/* [version, 8 bytes][bytes determined by (id, version)] */
static size_t make_val(uint8_t *v, uint64_t id, uint64_t version)
{
    size_t n = 8 + (size_t)(mix(id ^ (version << 40)) % (MAXVAL - 8));
    memcpy(v, &version, 8);
    for (size_t i = 8; i < n; i++) v[i] = (uint8_t)(mix(id + (version << 32) + i) >> 5);
    return n;
}

static int check_val(const uint8_t *v, size_t n, uint64_t id)
{
    uint8_t want[MAXVAL];
    uint64_t version;
    if (n < 8) return 0;
    memcpy(&version, v, 8);
    return make_val(want, id, version) == n && memcmp(want, v, n) == 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct worker {
    unsigned id;
    long iters;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t x = mix(w->id + 1);
    uint8_t k[64], v[MAXVAL], got[MAXVAL];
    uint64_t my_hits = 0, my_puts = 0, my_lookups = 0, my_stored = 0, my_small = 0;
    for (long it = 0; it < w->iters && !atomic_load_explicit(&stop, memory_order_relaxed); it++) {
        x = mix(x + (uint64_t)it);
        /* a skewed choice: a hot set that mostly stays cached, and a cold tail */
        uint64_t id = (x & 3) ? (x >> 8) % (CAPACITY / 2) : (x >> 8) % KEYS;
        size_t klen = make_key(k, id), n = 0;
        size_t cap = (x >> 40) % 64 == 0 ? 16 : sizeof got; /* sometimes too small */
        int rc = bdbi_cache_lookup(cache, k, klen, got, cap, &n);
        my_lookups++;
        if (rc == 1) {
            my_hits++;
            if (!check_val(got, n, id)) atomic_fetch_add(&bad, 1);
        } else if (rc == BDB_EINVAL) {
            my_small++;
            if (n <= cap || n > MAXVAL) atomic_fetch_add(&bad, 1);
        } else if (rc != 0) {
            atomic_fetch_add(&bad, 1);
        }
        /* absent ("read from disk"), or now and then a newer version */
        if (rc == 0 || (x >> 50) % 16 == 0) {
            size_t vlen = make_val(v, id, (x >> 52) % 4);
            rc = bdbi_cache_put(cache, k, klen, v, vlen);
            if (rc < 0) atomic_fetch_add(&bad, 1);
            my_stored += rc == 1;
            my_puts++;
        }
    }
    atomic_fetch_add(&hits, my_hits);
    atomic_fetch_add(&put_calls, my_puts);
    atomic_fetch_add(&lookups, my_lookups);
    atomic_fetch_add(&stored, my_stored);
    atomic_fetch_add(&too_small, my_small);
    atomic_fetch_add(&finished, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    const char *env_rounds = getenv("STRESS_ROUNDS");
    if (env_rounds) iters = atol(env_rounds);
    double seconds = 5; /* a bound for slow (sanitizer) builds */

    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 1;
    bdb_env *env;
    if (bdb_env_open(&o, &env) != 0) {
        printf("1..0 # SKIP cannot open env: %s\n", bdb_errmsg());
        return 1;
    }
    printf("1..2\n");
    if (bdbi_cache_create(env, CAPACITY, 7, &cache) != 0) {
        printf("not ok 1 - cannot create the cache: %s\n", bdb_errmsg());
        return 1;
    }

    pthread_t t[THREADS];
    struct worker w[THREADS];
    double t0 = now_s();
    for (unsigned i = 0; i < THREADS; i++) {
        w[i] = (struct worker){i, iters};
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    /* the main thread watches the capacity bound while they run */
    int over = 0;
    while (atomic_load(&finished) < THREADS && now_s() - t0 < seconds) {
        bdbi_cache_stats st;
        bdbi_cache_stats_get(cache, &st);
        if (st.entries > CAPACITY) over = 1;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    atomic_store(&stop, 1);
    for (unsigned i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    double el = now_s() - t0;

    bdbi_cache_stats st;
    bdbi_cache_stats_get(cache, &st);
    uint64_t b = atomic_load(&bad), h = atomic_load(&hits), p = atomic_load(&put_calls);
    int ok1 = b == 0 && !over && st.hits == h && st.misses == p && st.entries <= CAPACITY &&
              h > 0 && st.evictions > 0;
    printf("%s 1 - %" PRIu64 " lookups in %.2f s by %d threads: %" PRIu64
           " hits all exact, %" PRIu64 " bad; counted %" PRIu64 " hits %" PRIu64
           " misses (threads: %" PRIu64 " / %" PRIu64 "); %" PRIu64 " evictions, %" PRIu64
           " puts skipped, %" PRIu64 " short buffers, %zu entries\n",
           ok1 ? "ok" : "not ok", atomic_load(&lookups), el, THREADS, h, b, st.hits, st.misses, h,
           p, st.evictions, st.skipped, atomic_load(&too_small), st.entries);

    bdbi_cache_destroy(env, cache);
    bdbi_rcu_barrier();
    bdb_stats es;
    bdb_env_stats(env, &es);
    uint64_t left = es.mem[BDB_MEM_CACHE].bytes;
    int close_rc = bdb_env_close(env);
    int ok2 = left == 0 && close_rc == 0;
    printf("%s 2 - every entry freed (%" PRIu64 " cache bytes left), env closed (%d)\n",
           ok2 ? "ok" : "not ok", left, close_rc);
    return ok1 && ok2 ? 0 : 1;
}
