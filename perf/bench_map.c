/* Benchmarks of the bucket map (`make bench-map`), on BENCH_KEYS keys
 * (default 10 million) of 32 random bytes with 16-byte values (one-element
 * slot lists, as Agave's disk index holds), in BENCH_SHARDS shards
 * (default 64), against two peers holding the same data in the same run:
 * an in-memory open-addressing table with the map's cell layout (peer)
 * and, when configured, LMDB (lmdb). Sections (BENCH_MODE, a
 * comma-separated subset; default all):
 *
 *  insert      bdb_map_insert throughput per writer thread into a fresh
 *              map with default growth, 1 writer and 2 writers on disjoint
 *              shards; 1 writer after bdb_map_set_anticipated_count; and
 *              bdb_map_batch_insert_non_duplicates in batches of
 *              BENCH_BATCH keys (default 100,000). The peer table's
 *              inserts, grown from 32 cells and pre-sized.
 *  read        bdb_map_read of random existing and absent keys, each call
 *              timed with clock_gettime: p50, p99; the same for the peers.
 *  threads     reads per second with 1 and 2 reader threads, ours and the
 *              peers' (LMDB: a read-only transaction per BENCH_LMDB_BATCH
 *              gets, default 1,000).
 *  memory      heap bytes outside the mapped files per key (bdb_env_stats
 *              and bdb_map_stats_get), table and data bytes per key.
 *  concurrent  read p50/p99 while one writer inserts BENCH_CONC_INSERTS
 *              new keys (default: enough for every shard's table to pass
 *              7/8 full and grow), against idle; BENCH_CONC_ROUNDS rounds
 *              (default 1, at most 3), each on the grown map.
 *  peer, lmdb  include that peer (without them, ours alone).
 *
 * Every read's answer is checked (wrong answers are counted and the first
 * ones printed). Figures are medians over BENCH_ROUNDS rounds (default 5;
 * at most 3 for inserts). BENCH_READS: keys per latency round (default
 * 200,000); BENCH_TP_READS: reads per thread and round of throughput
 * (default 1,000,000). The files live in BENCH_DIR (default $TMPDIR or
 * /tmp) and are removed at the end. Before starting, the bench waits up to
 * BENCH_LOAD_WAIT seconds (default 600) for a 1-minute load average below
 * BENCH_MAX_LOAD (default 1.0). BENCH_PEER_LOAD: the peer table's maximum
 * load factor (default 0.875, the map's). BENCH_MAX_SEARCH: the map's max_search (0 =
 * its default). */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bucketdb/map.h"

#include "bench_map.h"
#include "bench_util.h"

uint64_t n_keys;
static uint32_t n_shards, max_search;
int rounds;
static const char *mode;
static char top_dir[1024];
static uint8_t *all_keys, *all_vals; /* key k at k * BM_KEY, value at k * BM_VAL */
static bdb_env *env;
static double peer_load;

static int want(const char *m)
{
    return bench_want(mode, m);
}

static double env_double(const char *name, double def)
{
    const char *e = getenv(name);
    return e && *e ? strtod(e, NULL) : def;
}

double loadavg(void)
{
    double a = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf", &a) != 1) a = -1;
    if (f) fclose(f);
    return a;
}

void die(const char *what)
{
    fprintf(stderr, "bench: %s: %s\n", what, bdb_errmsg());
    exit(1);
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s * 0x2545f4914f6cdd1dull;
}

void keyset_make(bm_keyset *ks, size_t n, int absent, uint64_t seed)
{
    ks->keys = malloc(n * BM_KEY);
    ks->num = malloc(n * sizeof *ks->num);
    if (!ks->keys || !ks->num) die("out of memory for keys");
    ks->n = n;
    uint64_t s = seed | 1;
    for (size_t i = 0; i < n; i++) {
        ks->num[i] = rnd(&s) % n_keys + (absent ? n_keys : 0);
        bm_key(ks->num[i], ks->keys + i * BM_KEY);
    }
}

void keyset_free(bm_keyset *ks)
{
    free(ks->keys), free(ks->num);
}

/* ---- the map ---- */

typedef struct map_h {
    bdb_map *map;
    char dir[1100];
} map_h;

static void rm_rf(const char *dir)
{
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench: could not remove %s\n", dir);
}

static void map_open(map_h *m, const char *name)
{
    snprintf(m->dir, sizeof m->dir, "%s/%s", top_dir, name);
    rm_rf(m->dir);
    if (mkdir(m->dir, 0755) != 0) die(m->dir);
    if (bm_map_open(env, m->dir, n_shards, max_search, &m->map)) die("bdb_map_open");
}

static void map_close(map_h *m)
{
    if (bdb_map_close(m->map)) die("bdb_map_close");
    m->map = NULL;
    rm_rf(m->dir);
}

/* ---- reads, timed one by one ---- */

int get_ours(void *ctx, const uint8_t *key, uint8_t *val)
{
    size_t n = 0;
    int rc = bdb_map_read(ctx, key, val, 1, &n, NULL);
    return rc == 1 && n != 1 ? -100 - (int)(n > 99 ? 99 : n) : rc;
}

static int get_peer(void *ctx, const uint8_t *key, uint8_t *val)
{
    return bm_pt_get(ctx, key, val);
}

#ifdef HAVE_LMDB
static int get_lmdb(void *ctx, const uint8_t *key, uint8_t *val)
{
    return bm_lmdb_get(ctx, key, val);
}
#endif

atomic_long reported;

int answer_ok(const char *who, uint64_t k, int rc, const uint8_t *val)
{
    uint8_t want[BM_VAL];
    bm_val(k, want);
    int ok = k >= n_keys ? rc == 0 : rc == 1 && memcmp(val, want, BM_VAL) == 0;
    if (!ok && atomic_fetch_add(&reported, 1) < 10) {
        fprintf(stderr, "bench: %s: key %llu (%s): rc %d, value", who, (unsigned long long)k,
                k >= n_keys ? "absent" : "present", rc);
        for (int i = 0; rc == 1 && i < BM_VAL; i++) fprintf(stderr, " %02x", val[i]);
        fprintf(stderr, "\n");
    }
    return ok;
}

/* ---- inserts ---- */

enum { INS_DEFAULT, INS_TWO, INS_ANTICIPATED, INS_BATCH, INS_PEER, INS_PEER_SIZED, INS_VARIANTS };
static const char *const ins_names[INS_VARIANTS] = {
    "bdb_map_insert, default growth, 1 writer",
    "bdb_map_insert, default growth, 2 writers on disjoint shards",
    "bdb_map_insert after set_anticipated_count, 1 writer",
    "batch_insert_non_duplicates, 1 writer",
    "peer table, grown from 32 cells",
    "peer table, pre-sized",
};

typedef struct writer_arg {
    bdb_map *map;
    uint32_t *list; /* key numbers */
    size_t n;
    pthread_barrier_t *go;
    double secs;
} writer_arg;

static void insert_key(bdb_map *map, uint64_t k)
{
    if (bdb_map_insert(map, all_keys + k * BM_KEY, all_vals + k * BM_VAL, 1, 1))
        die("bdb_map_insert");
}

static void *writer(void *arg)
{
    writer_arg *a = arg;
    pthread_barrier_wait(a->go);
    double t0 = now_s();
    for (size_t i = 0; i < a->n; i++) insert_key(a->map, a->list[i]);
    a->secs = now_s() - t0;
    return NULL;
}

typedef struct ins_result {
    double per_writer; /* inserts per second of each writer (their mean) */
    double total;      /* keys per second of the whole load */
    uint64_t grows;
} ins_result;

uint64_t map_grows(bdb_map *map)
{
    bdb_map_stats st;
    if (bdb_map_stats_get(map, &st)) die("bdb_map_stats_get");
    return st.total.table_grows;
}

/* One round of variant v on a fresh map (kept open in *keep if not NULL)
 * or a fresh peer table (kept in *keep_pt). */
static ins_result insert_round(int v, map_h *keep, bm_ptable **keep_pt)
{
    ins_result r = {0};
    if (v >= INS_PEER) {
        bm_ptable *t = bm_pt_new(v == INS_PEER_SIZED ? n_keys : 0, peer_load, 0x5eed);
        if (!t) die("peer table");
        double t0 = now_s();
        for (uint64_t k = 0; k < n_keys; k++)
            if (bm_pt_insert(t, all_keys + k * BM_KEY, all_vals + k * BM_VAL)) die("peer insert");
        r.per_writer = r.total = (double)n_keys / (now_s() - t0);
        r.grows = bm_pt_grows(t);
        if (keep_pt && !*keep_pt)
            *keep_pt = t;
        else
            bm_pt_free(t);
        return r;
    }
    map_h m;
    map_open(&m, "insert");
    if (v == INS_TWO) {
        writer_arg w[2] = {{.map = m.map}, {.map = m.map}};
        for (int i = 0; i < 2; i++) w[i].list = malloc(n_keys * sizeof(uint32_t));
        if (!w[0].list || !w[1].list) die("out of memory");
        for (uint64_t k = 0; k < n_keys; k++) {
            int half = bdb_map_shard_of(m.map, all_keys + k * BM_KEY) >= n_shards / 2;
            w[half].list[w[half].n++] = (uint32_t)k;
        }
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        pthread_t th[2];
        for (int i = 0; i < 2; i++) {
            w[i].go = &go;
            pthread_create(&th[i], NULL, writer, &w[i]);
        }
        double slowest = 0;
        for (int i = 0; i < 2; i++) {
            pthread_join(th[i], NULL);
            r.per_writer += (double)w[i].n / w[i].secs / 2;
            if (w[i].secs > slowest) slowest = w[i].secs;
            free(w[i].list);
        }
        pthread_barrier_destroy(&go);
        r.total = (double)n_keys / slowest;
    } else if (v == INS_BATCH) {
        size_t b = (size_t)env_u64("BENCH_BATCH", 100000);
        double t0 = now_s();
        for (uint64_t k = 0; k < n_keys; k += b) {
            size_t m_ = n_keys - k < b ? (size_t)(n_keys - k) : b, dups = 0;
            if (bdb_map_batch_insert_non_duplicates(m.map, all_keys + k * BM_KEY,
                                                    all_vals + k * BM_VAL, m_, NULL, NULL, &dups))
                die("bdb_map_batch_insert_non_duplicates");
            if (dups) {
                fprintf(stderr, "bench: batch at key %llu: %zu duplicates reported, 0 expected\n",
                        (unsigned long long)k, dups);
                exit(1);
            }
        }
        r.per_writer = r.total = (double)n_keys / (now_s() - t0);
    } else {
        double t0 = now_s();
        if (v == INS_ANTICIPATED &&
            bdb_map_set_anticipated_count(m.map, BDB_MAP_ALL_SHARDS, n_keys))
            die("bdb_map_set_anticipated_count");
        for (uint64_t k = 0; k < n_keys; k++) insert_key(m.map, k);
        r.per_writer = r.total = (double)n_keys / (now_s() - t0);
    }
    uint64_t c = bdb_map_count(m.map, BDB_MAP_ALL_SHARDS);
    if (c != n_keys) {
        fprintf(stderr, "bench: %s: the map counts %llu keys, not %llu\n", ins_names[v],
                (unsigned long long)c, (unsigned long long)n_keys);
        exit(1);
    }
    r.grows = map_grows(m.map);
    if (keep && !keep->map)
        *keep = m;
    else
        map_close(&m);
    return r;
}

/* Runs the insert variants; leaves the map of the last default round in
 * *keep and the last grown peer table in *keep_pt. */
static void bench_insert(map_h *keep, bm_ptable **keep_pt, int peer)
{
    int r = (int)env_u64("BENCH_INSERT_ROUNDS", rounds < 3 ? (uint64_t)rounds : 3);
    if (r < 1) r = 1;
    if (r > 16) r = 16;
    double pw[INS_VARIANTS][16], tot[INS_VARIANTS][16];
    uint64_t grows[INS_VARIANTS] = {0};
    int ran[INS_VARIANTS] = {0};
    /* the kept map and table are those of the last rounds */
    static const int order[INS_VARIANTS] = {INS_TWO,  INS_ANTICIPATED, INS_BATCH,
                                            INS_PEER, INS_PEER_SIZED,  INS_DEFAULT};
    for (int oi = 0; oi < INS_VARIANTS; oi++) {
        int v = order[oi];
        if ((v == INS_PEER || v == INS_PEER_SIZED) && !peer) continue;
        if (v == INS_TWO && n_shards < 2) continue;
        for (int i = 0; i < r; i++) {
            int last = i == r - 1;
            ins_result res = insert_round(v, last && v == INS_DEFAULT ? keep : NULL,
                                          last && v == INS_PEER ? keep_pt : NULL);
            pw[v][i] = res.per_writer;
            tot[v][i] = res.total;
            grows[v] = res.grows;
            if (getenv("BENCH_VERBOSE"))
                printf("%s, round %d: %.0f k/s per writer\n", ins_names[v], i, pw[v][i] / 1e3);
        }
        ran[v] = 1;
    }
    printf("\n## inserts into a fresh map (%llu keys, %u shards, median of %d; load average "
           "%.2f)\n\n",
           (unsigned long long)n_keys, n_shards, r, loadavg());
    printf("| series | per writer | all writers | table growths | time per insert vs peer |\n"
           "|---|---|---|---|---|\n");
    double peer_grown = ran[INS_PEER] ? median(pw[INS_PEER], r) : 0;
    double peer_sized = ran[INS_PEER_SIZED] ? median(pw[INS_PEER_SIZED], r) : 0;
    for (int v = 0; v < INS_VARIANTS; v++) {
        if (!ran[v]) continue;
        double p = median(pw[v], r), t = median(tot[v], r);
        double ref = v == INS_ANTICIPATED || v == INS_BATCH ? peer_sized : peer_grown;
        char ratio[32] = "";
        if (v < INS_PEER && ref > 0) snprintf(ratio, sizeof ratio, "%.2fx", ref / p);
        printf("| %s | %.2f M/s | %.2f M/s | %llu | %s |\n", ins_names[v], p / 1e6, t / 1e6,
               (unsigned long long)grows[v], ratio);
    }
    printf("\n(time per insert vs peer: the peer's inserts per second over ours, against the "
           "peer grown from 32 cells for default growth and the pre-sized peer otherwise)\n");
}

/* ---- memory ---- */

static void bench_memory(bdb_map *map, const bm_ptable *pt)
{
    bdb_stats es;
    bdb_map_stats ms;
    if (bdb_env_stats(env, &es) || bdb_map_stats_get(map, &ms)) die("stats");
    double n = (double)n_keys;
    const bdb_map_shard_stats *t = &ms.total;
    printf("\n## memory (%llu keys in %u shards)\n\n", (unsigned long long)t->count, ms.shards);
    printf("| figure | bytes | per key |\n|---|---|---|\n");
    printf("| library heap, category map (bdb_env_stats) | %llu | %.3f |\n",
           (unsigned long long)es.mem[BDB_MEM_MAP].bytes, (double)es.mem[BDB_MEM_MAP].bytes / n);
    printf("| library heap, every category (bdb_env_stats) | %llu | %.3f |\n",
           (unsigned long long)es.mem_total.bytes, (double)es.mem_total.bytes / n);
    printf("| map heap (bdb_map_stats_get heap_bytes) | %llu | %.3f |\n",
           (unsigned long long)ms.heap_bytes, (double)ms.heap_bytes / n);
    printf("| table files | %llu | %.1f |\n", (unsigned long long)t->table_bytes,
           (double)t->table_bytes / n);
    printf("| data files | %llu | %.1f |\n", (unsigned long long)t->data_bytes,
           (double)t->data_bytes / n);
    printf("| resident pages of the mappings | %llu | %.1f |\n",
           (unsigned long long)t->resident_bytes, (double)t->resident_bytes / n);
    if (pt)
        printf("| peer table (malloc'd, load %.2f) | %llu | %.1f |\n",
               (double)bm_pt_count(pt) / (double)bm_pt_capacity(pt),
               (unsigned long long)bm_pt_bytes(pt), (double)bm_pt_bytes(pt) / n);
    printf("\ntables: %llu cells for %llu keys (load %.3f); probe distance mean "
           "%.2f, max %llu; %llu table growths since open\n",
           (unsigned long long)t->capacity, (unsigned long long)t->count,
           t->capacity ? (double)t->count / (double)t->capacity : 0.0,
           t->count ? (double)t->probe_total / (double)t->count : 0.0,
           (unsigned long long)t->probe_max, (unsigned long long)t->table_grows);
    printf("process: VmRSS %ld MB, VmHWM %ld MB (keys and values of the bench: %.0f MB)\n",
           status_kib("VmRSS") / 1024, status_kib("VmHWM") / 1024, n * (BM_KEY + BM_VAL) / 1e6);
}

/* ---- main ---- */

/* Waits (up to BENCH_LOAD_WAIT s) for a quiet machine. */
static void wait_load(void)
{
    double max = env_double("BENCH_MAX_LOAD", 1.0);
    uint64_t limit = env_u64("BENCH_LOAD_WAIT", 600), waited = 0;
    while (loadavg() >= max && waited < limit) {
        if (waited == 0) printf("waiting for a load average below %.2f...\n", max);
        fflush(stdout);
        sleep(10);
        waited += 10;
    }
    if (waited) printf("waited %llu s; load average %.2f\n", (unsigned long long)waited, loadavg());
}

/* Reads every key once: the pages warm and every answer checked. */
static long read_all(get_fn fn, void *ctx, const char *who, double *secs)
{
    long wrong = 0;
    double t0 = now_s();
    for (uint64_t k = 0; k < n_keys; k++) {
        uint8_t val[BM_VAL];
        if (!answer_ok(who, k, fn(ctx, all_keys + k * BM_KEY, val), val)) wrong++;
    }
    *secs = now_s() - t0;
    return wrong;
}

int main(void)
{
    n_keys = env_u64("BENCH_KEYS", 10000000);
    n_shards = (uint32_t)env_u64("BENCH_SHARDS", 64);
    max_search = (uint32_t)env_u64("BENCH_MAX_SEARCH", 0);
    rounds = (int)env_u64("BENCH_ROUNDS", 5);
    peer_load = env_double("BENCH_PEER_LOAD", 0.875);
    mode = getenv("BENCH_MODE");
    if (n_keys < 1000 || n_keys > UINT32_MAX || rounds < 1 || peer_load <= 0 || peer_load >= 1) {
        fprintf(stderr, "bench: BENCH_KEYS must be in 1000..2^32-1, BENCH_ROUNDS >= 1, "
                        "BENCH_PEER_LOAD in (0, 1)\n");
        return 1;
    }
    const char *b = getenv("BENCH_DIR");
    if (!b || !*b) b = getenv("TMPDIR");
    snprintf(top_dir, sizeof top_dir, "%s/bdb-bench-map-XXXXXX", b && *b ? b : "/tmp");
    if (!mkdtemp(top_dir)) return perror("mkdtemp"), 1;
    int peer = want("peer"), lmdb = 0;
#ifdef HAVE_LMDB
    lmdb = want("lmdb");
#endif
    wait_load();
    printf("bench-map: %llu keys of %d bytes, values of %d bytes, %u shards, max_search %s, in "
           "%s; peer table max load %.3f; LMDB %s\n",
           (unsigned long long)n_keys, BM_KEY, BM_VAL, n_shards, max_search ? "set" : "default",
           top_dir, peer_load, lmdb ? "on" : "off (not configured or not in BENCH_MODE)");
    printf(
        "command: make bench-map (perf/bench_map); knobs: BENCH_KEYS=%llu BENCH_SHARDS=%u "
        "BENCH_ROUNDS=%d BENCH_MODE=%s BENCH_MAX_SEARCH=%u BENCH_PEER_LOAD=%.3f BENCH_READS=%llu "
        "BENCH_TP_READS=%llu BENCH_BATCH=%llu BENCH_LMDB_BATCH=%llu; load average %.2f\n",
        (unsigned long long)n_keys, n_shards, rounds, mode && *mode ? mode : "(all)", max_search,
        peer_load, (unsigned long long)env_u64("BENCH_READS", 200000),
        (unsigned long long)env_u64("BENCH_TP_READS", 1000000),
        (unsigned long long)env_u64("BENCH_BATCH", 100000),
        (unsigned long long)env_u64("BENCH_LMDB_BATCH", 1000), loadavg());
    fflush(stdout);

    all_keys = malloc(n_keys * BM_KEY);
    all_vals = malloc(n_keys * BM_VAL);
    if (!all_keys || !all_vals) die("out of memory for the keys");
    for (uint64_t k = 0; k < n_keys; k++) {
        bm_key(k, all_keys + k * BM_KEY);
        bm_val(k, all_vals + k * BM_VAL);
    }
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    if (bdb_env_open(&eo, &env)) die("bdb_env_open");

    map_h m = {0};
    bm_ptable *pt = NULL;
    if (want("insert")) {
        bench_insert(&m, &pt, peer);
    } else {
        double t0 = now_s();
        (void)insert_round(INS_DEFAULT, &m, NULL);
        if (peer) (void)insert_round(INS_PEER, NULL, &pt);
        printf("\nloaded the map%s in %.1f s\n", peer ? " and the peer table" : "", now_s() - t0);
    }
    fflush(stdout);
    if (want("memory")) bench_memory(m.map, pt);
    fflush(stdout);

    stores st = {{get_ours}, {m.map}};
    void *ctx2[STORES] = {m.map};
    if (peer) {
        st.fn[S_PEER] = get_peer;
        st.ctx[S_PEER] = ctx2[S_PEER] = pt;
    }
    int reads = want("read") || want("threads");
#ifdef HAVE_LMDB
    bm_lmdb *lm = NULL;
    if (lmdb && reads) {
        char ldir[1200];
        snprintf(ldir, sizeof ldir, "%s/lmdb", top_dir);
        if (mkdir(ldir, 0755) != 0) die(ldir);
        double secs, scan;
        lm = bm_lmdb_load(ldir, n_keys, &secs, &scan);
        if (!lm) return 1;
        printf("\nLMDB: %llu keys loaded in key order with MDB_APPEND in %.1f s (sort included), "
               "%.0f MB of pages (%.1f bytes per key), warmed by a cursor scan in %.1f s\n",
               (unsigned long long)n_keys, secs, bm_lmdb_file_bytes(lm) / 1e6,
               (double)bm_lmdb_file_bytes(lm) / (double)n_keys, scan);
        size_t batch = (size_t)env_u64("BENCH_LMDB_BATCH", 1000);
        st.fn[S_LMDB] = get_lmdb;
        st.ctx[S_LMDB] = bm_lmdb_reader_new(lm, batch);
        ctx2[S_LMDB] = bm_lmdb_reader_new(lm, batch);
        if (!st.ctx[S_LMDB] || !ctx2[S_LMDB]) return 1;
    }
#endif
    if (reads) {
        printf("\nevery key read back once (warm-up):");
        for (int s = 0; s < STORES; s++) {
            double secs;
            if (!st.fn[s]) continue;
            long w = read_all(st.fn[s], st.ctx[s], store_names[s], &secs);
            printf(" %s %.1f s, %ld wrong;", store_names[s], secs, w);
        }
        printf("\n");
    }
    fflush(stdout);
    if (want("read")) bench_read(&st);
    fflush(stdout);
    if (want("threads")) bench_threads(&st, ctx2);
    fflush(stdout);
#ifdef HAVE_LMDB
    if (lm) {
        bm_lmdb_reader_free(st.ctx[S_LMDB]);
        bm_lmdb_reader_free(ctx2[S_LMDB]);
        bm_lmdb_close(lm);
    }
#endif
    bm_pt_free(pt);
    if (want("concurrent")) bench_concurrent(m.map);
    map_close(&m);
    if (bdb_env_close(env)) die("bdb_env_close");
    rm_rf(top_dir);
    free(all_keys), free(all_vals);
    long bad = atomic_load(&reported);
    if (bad) printf("\nWRONG ANSWERS: %ld (first ones on stderr)\n", bad);
    return bad != 0;
}
