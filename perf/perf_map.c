/* The bucket-map scenarios of perf/bdb-perf: bdb_map against an in-memory
 * hash table (bm_ptable of bench_map_peers.c, the map's cell layout in
 * malloc'd memory) on the same keys (bm_key, bm_val of bench_map.h):
 * inserts, point reads, updates, deletes, reads with 1, 2 and 4 threads,
 * and memory. One store runs all of its workloads, is dropped, then the
 * other: at 100 M keys each needs ~7.5 GB, and the two together would
 * also compete for the page cache. Keys are never all held in an array:
 * they are made CHUNK at a time between timed stretches. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bucketdb/bucketdb.h"
#include "bucketdb/map.h"

#include "bench_map.h"
#include "bench_util.h"
#include "harness.h"

#define SHARDS   64
#define CHUNK    100000 /* keys made per untimed step; also the batch insert's batch */
#define MAX_LOAD 0.875  /* the map's: a table grows past 7/8 full */
#define VERIFY   100000 /* keys read back after the updates and after the deletes */
/* From this many keys, inserts, updates and deletes run once (bounded
 * mainnet runs). */
#define ONE_ROUND_KEYS 50000000ull
#define THREADS        3 /* reader-thread counts: 1, 2, 4 */

enum { OURS, PEER };
static const char *const store_name[2] = {"bucket map", "hash table"};
static const int n_threads[THREADS] = {1, 2, 4};

/* One store's figures: a sample per round. */
typedef struct samples {
    double ins[HX_MAX_ROUNDS], batch[HX_MAX_ROUNDS], upd[HX_MAX_ROUNDS], del[HX_MAX_ROUNDS];
    double p50[2][HX_MAX_ROUNDS], p99[2][HX_MAX_ROUNDS]; /* µs; [existing, absent] */
    double tp[THREADS][HX_MAX_ROUNDS];                   /* M reads/s */
    double heap, heap_all, table;                        /* bytes per key */
    double rss, rss_base;                                /* MiB */
} samples;

typedef struct mctx {
    hx_results *r;
    bdb_env *env;
    char dir[1024]; /* the map's drive */
    char nstr[24];  /* n for the conditions: "10M" */
    uint64_t n;
    int rounds;  /* reads */
    int wrounds; /* inserts, updates, deletes */
    size_t sample, tp_reads;
    /* What the store holds, for expect(): keys 0..n-1 with bm_val, even
     * ones overwritten by the update of generation upd_gen (0: none), and
     * k % 4 == 1 deleted when `deleted`. */
    int upd_gen, deleted;
    uint8_t *ck, *cv; /* CHUNK keys and values */
    samples s[2];
} mctx;

typedef struct store {
    const char *name;
    bdb_map *map; /* ours, or */
    bm_ptable *pt;
} store;

static atomic_long printed; /* wrong answers printed so far */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s * 0x2545f4914f6cdd1dull;
}

/* Key k's value after the update of generation gen (0: as inserted); each
 * generation differs from the others, so a lost update shows. */
static void val_of(uint64_t k, int gen, uint8_t *out)
{
    bm_val(k, out);
    if (!gen) return;
    uint64_t x;
    memcpy(&x, out + 8, 8);
    x ^= 0x9e3779b97f4a7c15ull * (uint64_t)gen;
    memcpy(out + 8, &x, 8);
}

/* Whether key number k is in the store now, and its value. */
static int expect(const mctx *c, uint64_t k, uint8_t *val)
{
    if (k >= c->n || (c->deleted && k % 4 == 1)) return 0;
    val_of(k, k % 2 == 0 ? c->upd_gen : 0, val);
    return 1;
}

static uint64_t expected_count(const mctx *c)
{
    return c->n - (c->deleted ? (c->n + 2) / 4 : 0);
}

static void tally(mctx *c, uint64_t checked, uint64_t wrong)
{
    c->r->checked += checked;
    c->r->wrong += wrong;
}

/* ---- keys ---- */

/* Fills the chunk with keys k, k + step, ... below n (at most CHUNK) and
 * their values of generation gen; advances *k past them. */
static size_t chunk_fill(mctx *c, uint64_t *k, uint64_t step, int gen)
{
    size_t m = 0;
    for (; m < CHUNK && *k < c->n; m++, *k += step) {
        bm_key(*k, c->ck + m * BM_KEY);
        val_of(*k, gen, c->cv + m * BM_VAL);
    }
    return m;
}

/* Random keys, sequential in memory, with the answers expected now. */
typedef struct keyset {
    uint8_t *keys, *want, *present;
    uint64_t *num;
    size_t n;
} keyset;

/* n random keys among the store's (absent 0) or among n..2n-1, which it
 * never held. */
static void ks_make(const mctx *c, keyset *ks, size_t n, int absent, uint64_t seed)
{
    ks->keys = malloc(n * BM_KEY);
    ks->want = malloc(n * BM_VAL);
    ks->present = malloc(n);
    ks->num = malloc(n * sizeof *ks->num);
    if (!ks->keys || !ks->want || !ks->present || !ks->num) hx_die("map: out of memory for keys");
    ks->n = n;
    uint64_t s = mix64(seed ^ c->r->seed) | 1;
    for (size_t i = 0; i < n; i++) {
        ks->num[i] = rnd(&s) % c->n + (absent ? c->n : 0);
        bm_key(ks->num[i], ks->keys + i * BM_KEY);
        ks->present[i] = (uint8_t)expect(c, ks->num[i], ks->want + i * BM_VAL);
    }
}

static void ks_free(keyset *ks)
{
    free(ks->keys), free(ks->want), free(ks->present), free(ks->num);
}

/* ---- the two stores behind one interface ---- */

static void st_open(mctx *c, store *s, int peer, uint64_t presize)
{
    s->name = store_name[peer];
    if (peer) {
        s->pt = bm_pt_new(presize, MAX_LOAD, c->r->seed ^ 0x5eed);
        if (!s->pt) hx_die("map: out of memory for the hash table");
        return;
    }
    hx_rmrf(c->dir);
    if (mkdir(c->dir, 0755) != 0) hx_die("map: mkdir %s: %s", c->dir, strerror(errno));
    if (bm_map_open(c->env, c->dir, SHARDS, 0, &s->map))
        hx_die("map: bdb_map_open: %s", bdb_errmsg());
}

static void st_close(mctx *c, store *s)
{
    if (s->map) {
        if (bdb_map_close(s->map)) hx_die("map: bdb_map_close: %s", bdb_errmsg());
        hx_rmrf(c->dir);
    }
    bm_pt_free(s->pt);
    s->map = NULL;
    s->pt = NULL;
}

static uint64_t st_count(const store *s)
{
    return s->map ? bdb_map_count(s->map, BDB_MAP_ALL_SHARDS) : bm_pt_count(s->pt);
}

/* 1 found (value in val), 0 absent, negative: an error or a slot list of
 * another length (a wrong answer either way). */
static inline int st_get(const store *s, const uint8_t *key, uint8_t *val)
{
    if (!s->map) return bm_pt_get(s->pt, key, val);
    size_t n = 0;
    int rc = bdb_map_read(s->map, key, val, 1, &n, NULL);
    return rc == 1 && n != 1 ? -1 : rc;
}

static void check_count(mctx *c, const store *s, const char *when)
{
    uint64_t got = st_count(s), want = expected_count(c);
    tally(c, 1, got != want);
    if (got != want)
        fprintf(stderr, "map: %s %s: %llu keys, %llu expected\n", s->name, when,
                (unsigned long long)got, (unsigned long long)want);
}

/* ---- writes ---- */

enum { OP_PUT, OP_BATCH, OP_DEL };

/* Applies op to keys start, start + step, ... below n (values of
 * generation gen); returns millions of operations per second of the op
 * calls alone: the keys are made between the timed stretches. OP_BATCH on
 * the peer is one insert per key. */
static double pass(mctx *c, store *s, int op, uint64_t start, uint64_t step, int gen)
{
    double secs = 0;
    uint64_t done = 0, bad = 0;
    for (uint64_t k = start; k < c->n;) {
        size_t m = chunk_fill(c, &k, step, gen);
        const uint8_t *key = c->ck, *val = c->cv;
        double t0 = now_s();
        if (op == OP_BATCH && s->map) {
            size_t dups = 0;
            if (bdb_map_batch_insert_non_duplicates(s->map, key, val, m, NULL, NULL, &dups))
                hx_die("map: bdb_map_batch_insert_non_duplicates: %s", bdb_errmsg());
            bad += dups;
        } else if (op == OP_DEL && s->map) {
            for (size_t i = 0; i < m; i++) {
                int rc = bdb_map_delete(s->map, key + i * BM_KEY);
                if (rc < 0) hx_die("map: bdb_map_delete: %s", bdb_errmsg());
                bad += rc != 1;
            }
        } else if (op == OP_DEL) {
            for (size_t i = 0; i < m; i++) bad += bm_pt_delete(s->pt, key + i * BM_KEY) != 1;
        } else if (s->map) {
            for (size_t i = 0; i < m; i++)
                if (bdb_map_insert(s->map, key + i * BM_KEY, val + i * BM_VAL, 1, 1))
                    hx_die("map: bdb_map_insert: %s", bdb_errmsg());
        } else {
            for (size_t i = 0; i < m; i++)
                if (bm_pt_insert(s->pt, key + i * BM_KEY, val + i * BM_VAL))
                    hx_die("map: out of memory for the hash table");
        }
        secs += now_s() - t0;
        done += m;
    }
    /* a delete's answer (was it there?) and a batch's duplicates are
     * answers like a read's */
    if (op == OP_DEL || (op == OP_BATCH && s->map)) {
        tally(c, done, bad);
        if (bad)
            fprintf(stderr, "map: %s: %llu of %llu %s wrong\n", s->name, (unsigned long long)bad,
                    (unsigned long long)done,
                    op == OP_DEL ? "deletes found no key" : "batch inserts reported a duplicate");
    }
    return (double)done / secs / 1e6;
}

/* ---- reads ---- */

static int ans_ok(const char *who, const keyset *ks, size_t i, int rc, const uint8_t *val)
{
    int ok = ks->present[i] ? rc == 1 && memcmp(val, ks->want + i * BM_VAL, BM_VAL) == 0 : rc == 0;
    if (!ok && atomic_fetch_add(&printed, 1) < 10) {
        fprintf(stderr, "map: %s: key %llu (%s): rc %d, value", who, (unsigned long long)ks->num[i],
                ks->present[i] ? "present" : "absent", rc);
        for (int b = 0; rc == 1 && b < BM_VAL; b++) fprintf(stderr, " %02x", val[b]);
        fprintf(stderr, "\n");
    }
    return ok;
}

/* Reads every key of ks, each timed into ns[i] when ns is not NULL;
 * returns the wrong answers. Thread-safe. */
static uint64_t read_keys(const store *s, const keyset *ks, uint32_t *ns)
{
    uint64_t wrong = 0;
    for (size_t i = 0; i < ks->n; i++) {
        uint8_t val[BM_VAL];
        uint64_t t0 = ns ? hx_now_ns() : 0;
        int rc = st_get(s, ks->keys + i * BM_KEY, val);
        if (ns) {
            uint64_t d = hx_now_ns() - t0;
            ns[i] = d < UINT32_MAX ? (uint32_t)d : UINT32_MAX;
        }
        wrong += !ans_ok(s->name, ks, i, rc, val);
    }
    return wrong;
}

/* Per round, `sample` existing and as many absent keys (the same for both
 * stores: the seeds depend on the round only), each read timed. */
static void read_latency(mctx *c, const store *s, samples *o)
{
    size_t g = c->sample;
    uint32_t *ns = malloc(g * sizeof *ns), *all = malloc(g * (size_t)c->rounds * sizeof *all);
    if (!ns || !all) hx_die("map: out of memory for timings");
    for (int i = 0; i < c->rounds; i++) {
        fprintf(stderr, "map: %s: read round %d/%d ...\n", s->name, i + 1, c->rounds);
        for (int a = 0; a < 2; a++) {
            keyset ks;
            ks_make(c, &ks, g, a, 1000 * (uint64_t)(i + 1) + (uint64_t)a);
            /* the first reads after the load would pay for the CPU caches
             * and TLB the load left behind, not for the store */
            if (i == 0 && a == 0) tally(c, g, read_keys(s, &ks, NULL));
            tally(c, g, read_keys(s, &ks, ns));
            if (a == 0) memcpy(all + (size_t)i * g, ns, g * sizeof *ns);
            qsort(ns, g, sizeof *ns, hx_cmp_u32);
            o->p50[a][i] = hx_pct(ns, g, 50) / 1e3;
            o->p99[a][i] = hx_pct(ns, g, 99) / 1e3;
            ks_free(&ks);
        }
    }
    char series[48];
    snprintf(series, sizeof series, "%s, existing", s->name);
    hx_dist(c->r, "map-read-latency", series, all, g * (size_t)c->rounds);
    free(ns), free(all);
}

typedef struct tp_arg {
    const store *s;
    const keyset *ks;
    pthread_barrier_t *go;
    double t0, t1;
    uint64_t wrong;
} tp_arg;

static void *tp_reader(void *p)
{
    tp_arg *a = p;
    pthread_barrier_wait(a->go);
    a->t0 = now_s();
    a->wrong = read_keys(a->s, a->ks, NULL);
    a->t1 = now_s();
    return NULL;
}

/* M reads/s of `threads` readers, each reading its own keyset, by the
 * wall clock from the first start to the last end. */
static double tp_run(mctx *c, const store *s, const keyset *ks, int threads)
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)threads);
    pthread_t th[4];
    tp_arg a[4];
    for (int i = 0; i < threads; i++) {
        a[i] = (tp_arg){.s = s, .ks = &ks[i], .go = &go};
        if (pthread_create(&th[i], NULL, tp_reader, &a[i])) hx_die("map: pthread_create");
    }
    double t0 = 0, t1 = 0;
    uint64_t reads = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        if (i == 0 || a[i].t0 < t0) t0 = a[i].t0;
        if (a[i].t1 > t1) t1 = a[i].t1;
        reads += ks[i].n;
        tally(c, ks[i].n, a[i].wrong);
    }
    pthread_barrier_destroy(&go);
    return (double)reads / (t1 - t0) / 1e6;
}

static void read_threads(mctx *c, const store *s, samples *o)
{
    keyset ks[4];
    for (int t = 0; t < 4; t++) ks_make(c, &ks[t], c->tp_reads, 0, 77 + (uint64_t)t);
    for (int i = 0; i < c->rounds; i++) {
        fprintf(stderr, "map: %s: reader threads round %d/%d ...\n", s->name, i + 1, c->rounds);
        /* alternate the order so that a drift of the machine's speed does
         * not favour one thread count */
        for (int j = 0; j < THREADS; j++) {
            int t = i % 2 ? THREADS - 1 - j : j;
            o->tp[t][i] = tp_run(c, s, ks, n_threads[t]);
        }
    }
    for (int t = 0; t < 4; t++) ks_free(&ks[t]);
}

/* Reads back VERIFY keys of the store's range and a quarter as many it
 * never held, and checks the count. */
static void verify(mctx *c, const store *s, const char *after)
{
    size_t v = c->n < VERIFY ? (size_t)c->n : VERIFY;
    for (int a = 0; a < 2; a++) {
        keyset ks;
        ks_make(c, &ks, a ? v / 4 : v, a, 5000 + (uint64_t)c->upd_gen * 2 + (uint64_t)c->deleted);
        tally(c, ks.n, read_keys(s, &ks, NULL));
        ks_free(&ks);
    }
    check_count(c, s, after);
}

/* ---- one store's run ---- */

static void run_store(mctx *c, int peer)
{
    samples *o = &c->s[peer];
    store s = {0};
    const char *nm = store_name[peer];
    int wr = c->wrounds;
    for (int i = 0; i < wr; i++) {
        st_open(c, &s, peer, c->n);
        o->batch[i] = pass(c, &s, OP_BATCH, 0, 1, 0);
        check_count(c, &s, "after the batch insert");
        st_close(c, &s);
        fprintf(stderr, "map: %s: %s round %d/%d: %.2f M/s\n", nm,
                peer ? "pre-sized insert" : "batch insert", i + 1, wr, o->batch[i]);
    }
    /* the last round's store stays for the rest */
    for (int i = 0; i < wr; i++) {
        if (i == wr - 1) {
            hx_rss_reset();
            o->rss_base = hx_peak_rss_mib();
        }
        st_open(c, &s, peer, 0);
        o->ins[i] = pass(c, &s, OP_PUT, 0, 1, 0);
        check_count(c, &s, "after the inserts");
        if (i < wr - 1) st_close(c, &s);
        fprintf(stderr, "map: %s: insert round %d/%d: %.2f M/s\n", nm, i + 1, wr, o->ins[i]);
    }
    o->rss = hx_peak_rss_mib();
    double n = (double)c->n;
    if (peer) {
        o->heap = o->table = (double)bm_pt_bytes(s.pt) / n;
    } else {
        bdb_stats es;
        if (bdb_env_stats(c->env, &es)) hx_die("map: bdb_env_stats: %s", bdb_errmsg());
        o->heap = (double)es.mem[BDB_MEM_MAP].bytes / n;
        o->heap_all = (double)es.mem_total.bytes / n;
        o->table = (double)hx_dir_bytes(c->dir) / n;
    }

    read_latency(c, &s, o);
    read_threads(c, &s, o);

    for (int i = 0; i < wr; i++) {
        c->upd_gen = i + 1;
        o->upd[i] = pass(c, &s, OP_PUT, 0, 2, c->upd_gen);
        fprintf(stderr, "map: %s: update round %d/%d: %.2f M/s\n", nm, i + 1, wr, o->upd[i]);
    }
    verify(c, &s, "after the updates");

    for (int i = 0; i < wr; i++) {
        o->del[i] = pass(c, &s, OP_DEL, 1, 4, 0);
        c->deleted = 1;
        fprintf(stderr, "map: %s: delete round %d/%d: %.2f M/s\n", nm, i + 1, wr, o->del[i]);
        if (i < wr - 1) {
            /* the next round deletes the same keys from the same state */
            (void)pass(c, &s, OP_PUT, 1, 4, 0);
            c->deleted = 0;
        }
    }
    verify(c, &s, "after the deletes");
    st_close(c, &s);
    c->upd_gen = c->deleted = 0;
}

/* ---- figures ---- */

static void fig(mctx *c, const char *scen, const char *name, const char *unit, int better,
                const double *ours, int n_ours, const double *peer, int n_peer, const char *fmt,
                ...) __attribute__((format(printf, 10, 11)));

static void fig(mctx *c, const char *scen, const char *name, const char *unit, int better,
                const double *ours, int n_ours, const double *peer, int n_peer, const char *fmt,
                ...)
{
    char cond[240];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(cond, sizeof cond, fmt, ap);
    va_end(ap);
    if (len >= (int)sizeof cond)
        fprintf(stderr, "map: the conditions of \"%s\" are cut (%d chars)\n", name, len);
    hx_fig(c->r, scen, name, unit, better, ours, n_ours, peer ? store_name[PEER] : NULL, peer,
           peer ? n_peer : 0, cond);
}

static void record_figures(mctx *c)
{
    const samples *o = &c->s[OURS], *p = &c->s[PEER];
    int wr = c->wrounds, rr = c->rounds;
    const char *N = c->nstr;
    fig(c, "map insert", "insert, fresh map, 1 writer", "M/s", HX_HIGHER, o->ins, wr, p->ins, wr,
        "%s keys 0..N-1 (32 B), 16 B values, bdb_map_insert 1 key per call, fresh map per round "
        "(64 shards, default options and growth, fsync 0); peer grown from 32 cells, max load "
        "7/8; key making untimed",
        N);
    fig(c, "map insert", "batch insert (100k per call)", "M/s", HX_HIGHER, o->batch, wr, p->batch,
        wr,
        "%s keys, bdb_map_batch_insert_non_duplicates of 100,000 keys per call, fresh map per "
        "round (64 shards, default options, fsync 0); peer: pre-sized for N keys, 1 insert per "
        "key; key making untimed",
        N);
    static const char *const rd_name[2][2] = {
        {"read p50, existing keys", "read p99, existing keys"},
        {"read p50, absent keys", "read p99, absent keys"}};
    for (int a = 0; a < 2; a++)
        for (int q = 0; q < 2; q++)
            fig(c, "map read", rd_name[a][q], "µs", HX_LOWER, q ? o->p99[a] : o->p50[a], rr,
                q ? p->p99[a] : p->p50[a], rr,
                "%zu random %s keys per round (same for both), 1 thread, bdb_map_read per key "
                "timed with clock_gettime (its ~20 ns included), %s keys loaded, warm page cache; "
                "peer: bm_pt_get",
                c->sample, a ? "absent (never inserted)" : "existing", N);
    fig(c, "map update", "update, overwrite existing keys", "M/s", HX_HIGHER, o->upd, wr, p->upd,
        wr,
        "N/2 keys (the even ones) of %s get new 16 B values: bdb_map_insert of an existing key "
        "(replaces the slot list), 1 writer, fsync 0; peer: insert of an existing key; key "
        "making untimed",
        N);
    fig(c, "map delete", "delete", "M/s", HX_HIGHER, o->del, wr, p->del, wr,
        "N/4 keys (k %% 4 == 1) of %s deleted with bdb_map_delete, 1 writer, fsync 0; peer: "
        "backward-shift delete; between rounds the keys are re-inserted (untimed)",
        N);
    for (int t = 0; t < 2; t++)
        fig(c, "map read threads", t ? "reads/s, 2 threads" : "reads/s, 1 thread", "M/s", HX_HIGHER,
            o->tp[t], rr, p->tp[t], rr,
            "%zu random existing keys per thread, bdb_map_read 1 key per call, answers checked, "
            "no writer; all reads / wall time; %ld CPUs; %s keys; peer: bm_pt_get",
            c->tp_reads, sysconf(_SC_NPROCESSORS_ONLN), N);
    double sc[2][HX_MAX_ROUNDS];
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < rr; i++) sc[s][i] = c->s[s].tp[1][i] / c->s[s].tp[0][i];
    fig(c, "map read threads", "2 threads / 1 thread", "x", HX_HIGHER, sc[OURS], rr, sc[PEER], rr,
        "reads/s with 2 reader threads over reads/s with 1, per round (the figures above); "
        "%ld CPUs",
        sysconf(_SC_NPROCESSORS_ONLN));
    fig(c, "map memory", "heap outside mapped files", "B/key", HX_LOWER, &o->heap, 1, &p->heap, 1,
        "ours: bdb_env_stats map category after loading %s keys (its table lives in mapped "
        "files, next figures); peer: its malloc'd table (bm_pt_bytes), grown from 32 cells",
        N);
    fig(c, "map memory", "library heap, all categories", "B/key", HX_LOWER, &o->heap_all, 1, NULL,
        0, "bdb_env_stats mem_total after loading %s keys into a map of 64 shards (its own env)",
        N);
    fig(c, "map memory", "table bytes", "B/key", HX_LOWER, &o->table, 1, &p->table, 1,
        "bytes of the map's files after %s inserts with default growth (64 power-of-two tables "
        "of 56 B cells); peer: its table (56 B cells, power of two), both at most 7/8 full",
        N);
    fig(c, "map memory", "peak RSS while inserting", "MiB", HX_LOWER, &o->rss, 1, &p->rss, 1,
        "process peak RSS over the last insert round of %s keys (default growth), mapped file "
        "pages included; RSS before it: ours %.0f, peer %.0f MiB",
        N, o->rss_base, p->rss_base);
    for (int s = 0; s < 2; s++)
        for (int t = 0; t < THREADS; t++)
            hx_xy(c->r, "map-read-threads", store_name[s], n_threads[t],
                  hx_median(c->s[s].tp[t], rr) * 1e6);
}

/* ---- entry ---- */

void hx_map_run(hx_results *r, const char *dir)
{
    const hx_scale *sc = r->scale;
    mctx *c = calloc(1, sizeof *c);
    if (!c) hx_die("map: out of memory");
    c->r = r;
    c->n = sc->map_keys;
    if (c->n < 1000) hx_die("map: %llu keys: at least 1000 needed", (unsigned long long)c->n);
    c->rounds = sc->rounds < 1 ? 1 : sc->rounds > HX_MAX_ROUNDS ? HX_MAX_ROUNDS : sc->rounds;
    c->wrounds = c->n >= ONE_ROUND_KEYS ? 1 : c->rounds;
    c->sample = sc->map_sample ? sc->map_sample : 100000;
    /* 1 M reads per thread from 10 M keys (a second or so per run), fewer
     * below so that the quick scale stays quick */
    c->tp_reads = c->n / 10 < 200000 ? 200000 : c->n / 10 > 1000000 ? 1000000 : c->n / 10;
    if (c->n % 1000000 == 0)
        snprintf(c->nstr, sizeof c->nstr, "%lluM", (unsigned long long)(c->n / 1000000));
    else
        snprintf(c->nstr, sizeof c->nstr, "%llu", (unsigned long long)c->n);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) hx_die("map: mkdir %s: %s", dir, strerror(errno));
    snprintf(c->dir, sizeof c->dir, "%s/map", dir);
    c->ck = malloc((size_t)CHUNK * BM_KEY);
    c->cv = malloc((size_t)CHUNK * BM_VAL);
    if (!c->ck || !c->cv) hx_die("map: out of memory");

    bdb_env_options eo;
    bdb_env_options_init(&eo);
    if (bdb_env_open(&eo, &c->env)) hx_die("map: bdb_env_open: %s", bdb_errmsg());
    fprintf(stderr, "map: %s keys, %d rounds (%d for inserts, updates, deletes), in %s\n", c->nstr,
            c->rounds, c->wrounds, c->dir);
    hx_note(r,
            "bucket map: %s keys (32 B, 16 B values), 64 shards, default options, fsync 0, files "
            "in %s; peer \"hash table\": malloc'd linear probing, same 56 B cells",
            c->nstr, c->dir);
    if (c->wrounds != c->rounds)
        hx_note(r,
                "bucket map: 1 round for the insert, update and delete figures at %s keys "
                "(%d for the others)",
                c->nstr, c->rounds);

    uint64_t wrong0 = r->wrong;
    double t0 = now_s();
    run_store(c, OURS);
    fprintf(stderr, "map: bucket map done in %.0f s\n", now_s() - t0);
    t0 = now_s();
    run_store(c, PEER);
    fprintf(stderr, "map: hash table done in %.0f s\n", now_s() - t0);
    record_figures(c);
    if (r->wrong != wrong0)
        fprintf(stderr, "map: %llu WRONG answers (first ones above)\n",
                (unsigned long long)(r->wrong - wrong0));

    if (bdb_env_close(c->env)) hx_die("map: bdb_env_close: %s", bdb_errmsg());
    hx_rmrf(c->dir);
    free(c->ck), free(c->cv), free(c);
}
