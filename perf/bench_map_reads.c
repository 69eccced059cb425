/* perf/bench_map's read sections: latency of single reads, throughput of
 * 1 and 2 reader threads, and latency while a writer inserts. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench_map.h"
#include "bench_util.h"

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The p-quantile of ns[0..n) in µs (sorts ns). */
static double pct(uint32_t *ns, size_t n, double p)
{
    if (n == 0) return 0;
    qsort(ns, n, sizeof *ns, cmp_u32);
    size_t i = (size_t)(p * (double)n);
    return ns[i < n ? i : n - 1] / 1e3;
}

static long timed_gets(const char *who, get_fn fn, void *ctx, const bm_keyset *ks, uint32_t *ns)
{
    long wrong = 0;
    for (size_t i = 0; i < ks->n; i++) {
        uint8_t val[BM_VAL];
        uint64_t t0 = now_ns();
        int rc = fn(ctx, ks->keys + i * BM_KEY, val);
        uint64_t t1 = now_ns();
        ns[i] = (uint32_t)(t1 - t0 < UINT32_MAX ? t1 - t0 : UINT32_MAX);
        if (!answer_ok(who, ks->num[i], rc, val)) wrong++;
    }
    return wrong;
}

/* ---- read latency ---- */

const char *const store_names[STORES] = {"bucket map", "peer table", "LMDB"};

void bench_read(const stores *st)
{
    size_t g = (size_t)env_u64("BENCH_READS", 200000);
    uint32_t *ns = malloc(g * sizeof *ns);
    int r = rounds > 16 ? 16 : rounds;
    double p50[STORES][2][16], p99[STORES][2][16], p999[STORES][2][16], mean[STORES][2][16];
    double ratio[STORES][2][2][16];
    long wrong[STORES][2] = {{0}};
    for (int i = 0; i < r; i++) {
        bm_keyset ks[2];
        keyset_make(&ks[0], g, 0, 1000 + (uint64_t)i);
        keyset_make(&ks[1], g, 1, 2000 + (uint64_t)i);
        for (int s = 0; s < STORES; s++)
            for (int a = 0; a < 2; a++) {
                if (!st->fn[s]) continue;
                wrong[s][a] += timed_gets(store_names[s], st->fn[s], st->ctx[s], &ks[a], ns);
                double sum = 0;
                for (size_t j = 0; j < g; j++) sum += ns[j];
                mean[s][a][i] = sum / (double)g / 1e3;
                p999[s][a][i] = pct(ns, g, 0.999);
                p50[s][a][i] = pct(ns, g, 0.50);
                p99[s][a][i] = pct(ns, g, 0.99);
            }
        for (int s = 1; s < STORES; s++)
            for (int a = 0; a < 2 && st->fn[s]; a++) {
                ratio[s][a][0][i] = p50[S_OURS][a][i] / p50[s][a][i];
                ratio[s][a][1][i] = p99[S_OURS][a][i] / p99[s][a][i];
            }
        keyset_free(&ks[0]), keyset_free(&ks[1]);
    }
    /* what the clock itself adds to each figure */
    for (size_t i = 0; i < g; i++) {
        uint64_t t0 = now_ns();
        ns[i] = (uint32_t)(now_ns() - t0);
    }
    double clock50 = pct(ns, g, 0.5);
    printf("\n## read latency (one thread, %zu random keys per round, each read timed, median of "
           "%d rounds; load average %.2f)\n\n",
           g, r, loadavg());
    printf("| store | keys | p50 | p99 | p99.9 | mean | wrong answers |\n"
           "|---|---|---|---|---|---|---|\n");
    for (int s = 0; s < STORES; s++)
        for (int a = 0; a < 2 && st->fn[s]; a++)
            printf("| %s | %s | %.3f µs | %.3f µs | %.3f µs | %.3f µs | %ld |\n", store_names[s],
                   a ? "absent" : "existing", median(p50[s][a], r), median(p99[s][a], r),
                   median(p999[s][a], r), median(mean[s][a], r), wrong[s][a]);
    for (int s = 1; s < STORES; s++)
        for (int a = 0; a < 2 && st->fn[s]; a++)
            printf("%sbucket map / %s, %s keys: p50 %.2fx, p99 %.2fx\n", a ? "" : "\n",
                   store_names[s], a ? "absent" : "existing", median(ratio[s][a][0], r),
                   median(ratio[s][a][1], r));
    printf("\n(each figure includes the clock's own cost: back-to-back clock_gettime p50 %.3f "
           "µs)\n",
           clock50);
    free(ns);
}

/* ---- throughput with 1 and 2 reader threads ---- */

typedef struct tp_arg {
    get_fn fn;
    void *ctx;
    const char *who;
    bm_keyset ks;
    pthread_barrier_t *go;
    double secs;
    long wrong;
    int many; /* bdb_map_read_many in groups of MANY_GROUP (ctx is the map) */
} tp_arg;

#define MANY_GROUP 64

static void *tp_reader(void *arg)
{
    tp_arg *a = arg;
    pthread_barrier_wait(a->go);
    double t0 = now_s();
    if (a->many) {
        for (size_t i = 0; i < a->ks.n; i += MANY_GROUP) {
            size_t g = a->ks.n - i < MANY_GROUP ? a->ks.n - i : MANY_GROUP;
            uint8_t val[MANY_GROUP][BM_VAL];
            int found[MANY_GROUP];
            if (bdb_map_read_many(a->ctx, a->ks.keys + i * BM_KEY, g, val, 1, NULL, NULL, found) <
                0)
                a->wrong += (long)g;
            for (size_t j = 0; j < g; j++)
                if (!answer_ok(a->who, a->ks.num[i + j], found[j], val[j])) a->wrong++;
        }
    } else {
        for (size_t i = 0; i < a->ks.n; i++) {
            uint8_t val[BM_VAL];
            int rc = a->fn(a->ctx, a->ks.keys + i * BM_KEY, val);
            if (!answer_ok(a->who, a->ks.num[i], rc, val)) a->wrong++;
        }
    }
    a->secs = now_s() - t0;
    return NULL;
}

/* Reads per second of `threads` readers by the wall clock. */
static double tp_run(tp_arg *args, int threads)
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)threads);
    pthread_t th[2];
    for (int i = 0; i < threads; i++) {
        args[i].go = &go;
        pthread_create(&th[i], NULL, tp_reader, &args[i]);
    }
    double slowest = 0;
    size_t n = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        if (args[i].secs > slowest) slowest = args[i].secs;
        n += args[i].ks.n;
    }
    pthread_barrier_destroy(&go);
    return (double)n / slowest;
}

void bench_threads(const stores *st, void *ctx2[STORES])
{
    size_t m = (size_t)env_u64("BENCH_TP_READS", 1000000);
    int r = rounds > 16 ? 16 : rounds;
    double one[STORES][16], two[STORES][16];
    long wrong[STORES] = {0};
    for (int s = 0; s < STORES; s++) {
        if (!st->fn[s]) continue;
        tp_arg a[2] = {{.fn = st->fn[s], .ctx = st->ctx[s], .who = store_names[s]},
                       {.fn = st->fn[s], .ctx = ctx2[s], .who = store_names[s]}};
        keyset_make(&a[0].ks, m, 0, 31);
        keyset_make(&a[1].ks, m, 0, 37);
        (void)tp_run(a, 2); /* warm-up */
        for (int i = 0; i < r; i++) {
            if (i % 2) {
                two[s][i] = tp_run(a, 2);
                one[s][i] = tp_run(a, 1);
            } else {
                one[s][i] = tp_run(a, 1);
                two[s][i] = tp_run(a, 2);
            }
        }
        wrong[s] = a[0].wrong + a[1].wrong;
        keyset_free(&a[0].ks), keyset_free(&a[1].ks);
    }
    /* the same keys through bdb_map_read_many, groups of MANY_GROUP */
    double many1[16], many2[16];
    long many_wrong;
    {
        tp_arg a[2] = {{.ctx = st->ctx[S_OURS], .who = "bucket map (read_many)", .many = 1},
                       {.ctx = ctx2[S_OURS], .who = "bucket map (read_many)", .many = 1}};
        keyset_make(&a[0].ks, m, 0, 31);
        keyset_make(&a[1].ks, m, 0, 37);
        (void)tp_run(a, 2);
        for (int i = 0; i < r; i++) {
            many1[i] = tp_run(a, 1);
            many2[i] = tp_run(a, 2);
        }
        many_wrong = a[0].wrong + a[1].wrong;
        keyset_free(&a[0].ks), keyset_free(&a[1].ks);
    }
    printf("\n## read throughput, existing keys (%zu reads per thread, median of %d; load "
           "average %.2f)\n\n",
           m, r, loadavg());
    printf("| store | 1 thread | 2 threads | 2 / 1 | bucket map / store, 1 thread | 2 threads | "
           "wrong answers |\n|---|---|---|---|---|---|---|\n");
    double o1 = median(one[S_OURS], r), o2 = median(two[S_OURS], r);
    for (int s = 0; s < STORES; s++) {
        if (!st->fn[s]) continue;
        double a1 = median(one[s], r), a2 = median(two[s], r);
        printf("| %s | %.2f M/s | %.2f M/s | %.2fx | %.2fx | %.2fx | %ld |\n", store_names[s],
               a1 / 1e6, a2 / 1e6, a2 / a1, o1 / a1, o2 / a2, wrong[s]);
    }
    double b1 = median(many1, r), b2 = median(many2, r);
    printf("| bucket map, bdb_map_read_many (groups of %d) | %.2f M/s | %.2f M/s | %.2fx | | | "
           "%ld |\n",
           MANY_GROUP, b1 / 1e6, b2 / 1e6, b2 / b1, many_wrong);
    for (int s = 1; s < STORES; s++)
        if (st->fn[s])
            printf("\nbdb_map_read_many / %s: %.2fx (1 thread), %.2fx (2 threads)\n",
                   store_names[s], b1 / median(one[s], r), b2 / median(two[s], r));
#ifdef HAVE_LMDB
    if (st->fn[S_LMDB])
        printf("\n(LMDB: one read-only transaction per %llu gets, renewed)\n",
               (unsigned long long)env_u64("BENCH_LMDB_BATCH", 1000));
#endif
}

/* ---- reads during inserts ---- */

enum { PH_IDLE = 1, PH_INSERT, PH_STOP };

typedef struct conc_arg {
    bdb_map *map;
    const bm_keyset *ks;
    atomic_int phase;
    uint32_t *ns[2];
    size_t n[2], cap;
    long wrong;
} conc_arg;

static void *conc_reader(void *arg)
{
    conc_arg *a = arg;
    for (size_t i = 0;; i++) {
        int ph = atomic_load_explicit(&a->phase, memory_order_relaxed);
        if (ph == PH_STOP) break;
        size_t j = i % a->ks->n;
        uint8_t val[BM_VAL];
        uint64_t t0 = now_ns();
        int rc = get_ours(a->map, a->ks->keys + j * BM_KEY, val);
        uint64_t t1 = now_ns();
        if (!answer_ok("bucket map during inserts", a->ks->num[j], rc, val)) a->wrong++;
        size_t *n = &a->n[ph - 1];
        if (*n < a->cap) a->ns[ph - 1][(*n)++] = (uint32_t)(t1 - t0);
    }
    return NULL;
}

void bench_concurrent(bdb_map *map)
{
    int r = (int)env_u64("BENCH_CONC_ROUNDS", 1);
    if (r < 1) r = 1;
    if (r > 3) r = 3;
    uint64_t m = 0, next = 2 * n_keys; /* new keys: numbers from 2 n_keys */
    bm_keyset ks;
    keyset_make(&ks, 1000000, 0, 77);
    double i50[3], i99[3], c50[3], c99[3], ratio[3], rate[3];
    uint64_t grows = 0;
    long wrong = 0, wrong_new = 0;
    for (int i = 0; i < r; i++) {
        conc_arg a = {.map = map, .ks = &ks, .cap = 32u << 20};
        a.ns[0] = malloc(a.cap * sizeof(uint32_t));
        a.ns[1] = malloc(a.cap * sizeof(uint32_t));
        if (!a.ns[0] || !a.ns[1]) die("out of memory");
        atomic_init(&a.phase, PH_IDLE);
        /* by default, enough keys for every shard's table to pass 7/8
         * full and grow once while the reader reads */
        bdb_map_stats st;
        if (bdb_map_stats_get(map, &st)) die("bdb_map_stats_get");
        uint64_t full = st.total.capacity / 8 * 7;
        m = env_u64("BENCH_CONC_INSERTS",
                    (full > st.total.count ? full - st.total.count : 0) + st.total.capacity / 32);
        uint64_t g0 = st.total.table_grows, base = next;
        next += m;
        pthread_t th;
        pthread_create(&th, NULL, conc_reader, &a);
        usleep(1000000);
        atomic_store(&a.phase, PH_INSERT);
        double t0 = now_s();
        for (uint64_t k = base; k < base + m; k++) {
            uint8_t key[BM_KEY], val[BM_VAL];
            bm_key(k, key);
            bm_val(k, val);
            if (bdb_map_insert(map, key, val, 1, 1)) die("bdb_map_insert");
        }
        rate[i] = (double)m / (now_s() - t0);
        atomic_store(&a.phase, PH_STOP);
        pthread_join(th, NULL);
        grows += map_grows(map) - g0;
        wrong += a.wrong;
        for (uint64_t k = base; k < base + m; k++) {
            uint8_t key[BM_KEY], val[BM_VAL], want_[BM_VAL];
            bm_key(k, key);
            bm_val(k, want_);
            if (get_ours(map, key, val) != 1 || memcmp(val, want_, BM_VAL) != 0) wrong_new++;
        }
        i50[i] = pct(a.ns[0], a.n[0], 0.50);
        i99[i] = pct(a.ns[0], a.n[0], 0.99);
        c50[i] = pct(a.ns[1], a.n[1], 0.50);
        c99[i] = pct(a.ns[1], a.n[1], 0.99);
        ratio[i] = c99[i] / i99[i];
        free(a.ns[0]), free(a.ns[1]);
    }
    keyset_free(&ks);
    printf("\n## read latency while one writer inserts %llu new keys (one reader thread, existing "
           "keys, median of %d rounds; load average %.2f)\n\n",
           (unsigned long long)m, r, loadavg());
    printf("| p50 idle | p99 idle | p50 inserting | p99 inserting | p99 ratio | writer | table "
           "growths meanwhile |\n|---|---|---|---|---|---|---|\n");
    printf("| %.3f µs | %.3f µs | %.3f µs | %.3f µs | %.2fx | %.2f M inserts/s | %llu |\n",
           median(i50, r), median(i99, r), median(c50, r), median(c99, r), median(ratio, r),
           median(rate, r) / 1e6, (unsigned long long)grows);
    printf("\nwrong answers: %ld during the inserts, %ld reading the inserted keys back\n", wrong,
           wrong_new);
}
