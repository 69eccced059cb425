/* The BucketList scenarios of the perf harness: population (import of a
 * generated archive; the peers load the same entries), point gets
 * (existing keys uniform and skewed, absent keys), bulk gets, gets per
 * thread count and restart. perf_ledger.c closes ledgers on the result.
 *
 * Every store holds the same state: ours imports the archive the
 * generator wrote; the peers load the newest entry of every live key from
 * the generator itself (gen_layout_newest), which is also what answers
 * are checked against, so a check never trusts the store it checks. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bucketdb/archive.h"

#include "gen_archive.h"
#include "perf_list.h"

uint64_t hx_rnd(uint64_t *st)
{
    uint64_t x = (*st += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void hx_live_key(const hx_lst *s, uint64_t i, int *type, uint64_t *slot)
{
    int t = 0;
    while (t + 1 < GEN_TYPES && s->cum[t + 1] <= i) t++;
    *type = t;
    *slot = GEN_SLOT(i - s->cum[t], GEN_LIVE);
}

/* sum_{i=1..n} i^-theta: exact for the first million terms, then the
 * integral (error far below what matters for a workload's skew) */
static double zeta(uint64_t n, double theta)
{
    double z = 0;
    uint64_t m = n < 1000000 ? n : 1000000;
    for (uint64_t i = 1; i <= m; i++) z += pow((double)i, -theta);
    if (n > m)
        z += (pow((double)n + 0.5, 1 - theta) - pow((double)m + 0.5, 1 - theta)) / (1 - theta);
    return z;
}

/* YCSB's Zipfian rank (Gray et al.), 0 the most popular */
static uint64_t zipf_rank(uint64_t n, double zn, double z2, double theta, double u)
{
    double uz = u * zn;
    if (uz < 1) return 0;
    if (uz < 1 + pow(0.5, theta)) return 1;
    double eta = (1 - pow(2.0 / (double)n, 1 - theta)) / (1 - z2 / zn);
    uint64_t r = (uint64_t)((double)n * pow(eta * u - eta + 1, 1 / (1 - theta)));
    return r < n ? r : n - 1;
}

void hx_keys_make(const hx_lst *s, hx_keys *ks, size_t n, int kind, uint64_t seed)
{
    uint64_t total = gen_total(s->g), st = seed;
    double zn = 0, z2 = 0;
    if (kind == HX_ZIPF) zn = zeta(total, 0.99), z2 = zeta(2, 0.99);
    ks->n = n;
    ks->buf = malloc(n * GEN_KEY_MAX);
    ks->k = malloc(n * sizeof *ks->k);
    ks->type = malloc(n * sizeof *ks->type);
    ks->slot = malloc(n * sizeof *ks->slot);
    if (!ks->buf || !ks->k || !ks->type || !ks->slot) hx_die("out of memory");
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = ks->buf + off;
        size_t len;
        if (kind == HX_ABSENT) {
            len = gen_absent_key(s->g, seed * 1000003u + i, p, &ks->type[i], &ks->slot[i]);
        } else {
            uint64_t idx;
            if (kind == HX_ZIPF) {
                double u = (double)(hx_rnd(&st) >> 11) * 0x1p-53;
                /* scatter the ranks so that popular keys are spread over
                 * types and buckets, as popular accounts are */
                idx = (zipf_rank(total, zn, z2, 0.99, u) * 0x9e3779b97f4a7c15ull) % total;
            } else {
                idx = hx_rnd(&st) % total;
            }
            hx_live_key(s, idx, &ks->type[i], &ks->slot[i]);
            len = gen_key(s->g, ks->type[i], ks->slot[i], p);
        }
        ks->k[i] = (bdb_bytes){.data = p, .len = len};
        off += len;
    }
}

void hx_keys_free(hx_keys *ks)
{
    free(ks->buf), free(ks->k), free(ks->type), free(ks->slot);
    memset(ks, 0, sizeof *ks);
}

static void env_open(hx_lst *s)
{
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    hx_bdb_check(bdb_env_open(&eo, &s->env), "bdb_env_open");
}

double hx_list_open(hx_lst *s)
{
    double t0 = (double)hx_now_ns();
    env_open(s);
    bdb_list_options lo;
    bdb_list_options_init(&lo);
    lo.create = 0;
    hx_bdb_check(bdb_list_open(s->env, s->store, &lo, &s->l), "bdb_list_open");
    return ((double)hx_now_ns() - t0) * 1e-9;
}

void hx_list_close(hx_lst *s)
{
    hx_bdb_check(bdb_list_close(s->l), "bdb_list_close");
    hx_bdb_check(bdb_env_close(s->env), "bdb_env_close");
    s->l = NULL, s->env = NULL;
}

static const char *store_name(int st)
{
    return st == 0 ? "bucketdb" : hx_kv_name(st - 1);
}

/* ---- population ---- */

static void write_archive(hx_lst *s)
{
    char has[600];
    snprintf(has, sizeof has, "%s/.well-known/stellar-history.json", s->archive);
    struct stat sb;
    if (stat(has, &sb) == 0) {
        fprintf(stderr, "list: reusing the archive in %s\n", s->archive);
        return;
    }
    hx_rmrf(s->archive);
    gen_archive_opts o;
    gen_archive_opts_init(&o);
    o.entries = s->sc->entries;
    o.seed = s->r->seed;
    o.out = s->archive;
    o.progress = 1;
    gen_archive_report rep;
    env_open(s);
    double t0 = (double)hx_now_ns();
    hx_bdb_check(gen_archive_write(s->env, &o, &rep), "gen_archive_write");
    hx_bdb_check(bdb_env_close(s->env), "bdb_env_close");
    s->env = NULL;
    hx_note(s->r, "archive: %llu entries generated in %.1f s, %.0f MB gzipped, %.0f MB of buckets",
            (unsigned long long)s->sc->entries, ((double)hx_now_ns() - t0) * 1e-9,
            (double)rep.gz_bytes / 1e6, (double)rep.bytes / 1e6);
}

/* Our population figures, which the peers' rows repeat for their ratios. */
typedef struct pop {
    double wall[HX_MAX_ROUNDS], rss[HX_MAX_ROUNDS], disk;
    int n;
} pop;

static void population_ours(hx_lst *s, pop *o)
{
    int n = s->sc->import_rounds;
    double *wall = o->wall, *rss = o->rss, heap[HX_MAX_ROUNDS], disk = 0;
    o->n = n;
    bdb_import_stats ist;
    for (int i = 0; i < n; i++) {
        fprintf(stderr, "list: import round %d/%d\n", i + 1, n);
        if (s->l) hx_list_close(s);
        hx_rmrf(s->store);
        env_open(s);
        hx_rss_reset();
        bdb_archive_options ao;
        bdb_archive_options_init(&ao);
        ao.root = s->archive;
        ao.stats = &ist;
        bdb_list_options lo;
        bdb_list_options_init(&lo);
        lo.shards = HX_SHARDS;
        double t0 = (double)hx_now_ns();
        hx_bdb_check(bdb_archive_import(s->env, &ao, 0, s->store, &lo, &s->l),
                     "bdb_archive_import");
        wall[i] = ((double)hx_now_ns() - t0) * 1e-9;
        rss[i] = hx_peak_rss_mib();
        bdb_stats es;
        hx_bdb_check(bdb_env_stats(s->env, &es), "bdb_env_stats");
        heap[i] = (double)es.mem_total.peak_bytes / 1048576.0;
        disk = (double)hx_dir_bytes(s->store) / 1048576.0;
    }
    o->disk = disk;
    char cond[240];
    snprintf(cond, sizeof cond,
             "bdb_archive_import of the generated archive (gzip, read in place, SHA-256 and every "
             "record checked, indexes built), %d shards, fsync on, page cache warm",
             HX_SHARDS);
    if (!s->have[HX_ROCKSDB] && !s->have[HX_LMDB]) {
        hx_fig(s->r, "population", "import / load of the state", "s", HX_LOWER, wall, n, NULL, NULL,
               0, cond);
        hx_fig(s->r, "population", "peak RSS of the import / load", "MiB", HX_LOWER, rss, n, NULL,
               NULL, 0, cond);
    }
    hx_fig(s->r, "population", "import: heap peak (bdb_env_stats)", "MiB", HX_LOWER, heap, n, NULL,
           NULL, 0, cond);
    hx_note(s->r,
            "import (last round): inflate %.2f s, SHA-256 %.2f s, checks+index %.2f s, write "
            "%.2f s of CPU; %llu buckets, %llu records",
            ist.inflate_cpu_s, ist.sha_cpu_s, ist.check_index_cpu_s, ist.write_cpu_s,
            (unsigned long long)ist.buckets, (unsigned long long)ist.records);
}

/* Streams the generated state into a peer in batches; only the peer's
 * calls are timed, not the generator's. Returns the seconds. */
static double load_peer(hx_lst *s, hx_kv *kv, double *end_s)
{
    enum { BATCH = 10000 };
    uint8_t *buf = malloc((size_t)BATCH * (GEN_KEY_MAX + 1024));
    bdb_bytes *keys = malloc(BATCH * sizeof *keys), *vals = malloc(BATCH * sizeof *vals);
    if (!buf || !keys || !vals) hx_die("out of memory");
    gen_iter *it;
    if (gen_iter_open(s->g, 0, s->tmp, &it)) hx_die("gen_iter_open: %s", strerror(errno));
    double put = 0;
    size_t n = 0, off = 0;
    gen_item item;
    for (;;) {
        int more = gen_iter_next(it, &item);
        if (more < 0) hx_die("gen_iter_next: %s", strerror(errno));
        if (more) {
            gen_rec rec;
            if (!gen_layout_newest(&s->lo, item.type, item.slot, &rec)) continue;
            size_t kl = gen_key(s->g, item.type, item.slot, buf + off);
            keys[n] = (bdb_bytes){.data = buf + off, .len = kl};
            off += kl;
            size_t cap = (size_t)BATCH * (GEN_KEY_MAX + 1024) - off;
            size_t vl =
                gen_entry(s->g, item.type, item.slot, rec.version, rec.ledger, buf + off, cap);
            if (vl > cap) hx_die("generated entry larger than the load buffer");
            vals[n++] = (bdb_bytes){.data = buf + off, .len = vl};
            off += vl;
        }
        if (n == BATCH || off > (size_t)BATCH * 1024 || (!more && n)) {
            uint64_t t0 = hx_now_ns();
            hx_kv_load(kv, keys, vals, n);
            put += (double)(hx_now_ns() - t0) * 1e-9;
            n = off = 0;
        }
        if (!more) break;
    }
    gen_iter_close(it);
    uint64_t t0 = hx_now_ns();
    hx_kv_load_end(kv);
    *end_s = (double)(hx_now_ns() - t0) * 1e-9;
    free(buf), free(keys), free(vals);
    return put + *end_s;
}

static void population_peers(hx_lst *s, const pop *o)
{
    for (int p = 0; p < HX_PEERS; p++) {
        if (!s->have[p]) continue;
        int n = s->sc->import_rounds;
        double t[HX_MAX_ROUNDS], rss[HX_MAX_ROUNDS], end = 0, disk = 0;
        for (int i = 0; i < n; i++) {
            fprintf(stderr, "list: %s load round %d/%d\n", hx_kv_name(p), i + 1, n);
            hx_kv_close(s->kv[p]);
            hx_rmrf(s->peer_dir[p]);
            s->kv[p] = hx_kv_open(p, s->peer_dir[p], (uint64_t)s->sc->entries * 200);
            hx_rss_reset();
            t[i] = load_peer(s, s->kv[p], &end);
            rss[i] = hx_peak_rss_mib();
            disk = (double)hx_dir_bytes(s->peer_dir[p]) / 1048576.0;
        }
        char cond[240];
        snprintf(cond, sizeof cond,
                 "%s: the same live entries from the generator in write batches of 10,000 "
                 "(generation not timed), then %s (last round: %.1f s)",
                 hx_kv_name(p), p == HX_ROCKSDB ? "flush + full compaction" : "sync", end);
        hx_fig(s->r, "population", "import / load of the state", "s", HX_LOWER, o->wall, o->n,
               hx_kv_name(p), t, n, cond);
        hx_fig(s->r, "population", "peak RSS of the import / load", "MiB", HX_LOWER, o->rss, o->n,
               hx_kv_name(p), rss, n, cond);
        hx_fig(s->r, "population", "store on disk", "MiB", HX_LOWER, &o->disk, 1, hx_kv_name(p),
               &disk, 1, hx_kv_config(p));
    }
}

/* ---- gets ---- */

typedef struct reader {
    hx_lst *s;
    int store; /* 0 ours, 1 + peer kind */
    bdb_list_view *v;
    hx_kv_reader *kr;
} reader;

static void reader_init(reader *rd, hx_lst *s, int store)
{
    *rd = (reader){.s = s, .store = store};
    if (store == 0)
        rd->v = bdb_list_view_acquire(s->l);
    else
        rd->kr = hx_kv_reader_new(s->kv[store - 1]);
}

static void reader_fini(reader *rd)
{
    bdb_list_view_release(rd->v);
    hx_kv_reader_free(rd->kr);
}

static inline int reader_get(reader *rd, const bdb_bytes *k, const uint8_t **val, size_t *len)
{
    if (rd->store == 0) {
        bdb_list_entry e;
        int rc = bdb_list_get(rd->v, k->data, k->len, &e);
        if (rc < 0) hx_bdb_check(rc, "bdb_list_get");
        *val = e.data, *len = e.len;
        return rc;
    }
    return hx_kv_get(rd->kr, k->data, k->len, val, len);
}

/* Checks every answer for ks against the generator (untimed). */
static void check_answers(hx_lst *s, reader *rd, const hx_keys *ks, int absent)
{
    uint8_t *want = malloc(GEN_ENTRY_MAX);
    if (!want) hx_die("out of memory");
    for (size_t i = 0; i < ks->n; i++) {
        const uint8_t *val = NULL;
        size_t len = 0;
        int found = reader_get(rd, &ks->k[i], &val, &len), ok;
        gen_rec rec;
        if (absent || !gen_layout_newest(&s->lo, ks->type[i], ks->slot[i], &rec)) {
            ok = !found;
        } else {
            size_t wl = gen_entry(s->g, ks->type[i], ks->slot[i], rec.version, rec.ledger, want,
                                  GEN_ENTRY_MAX);
            ok = found && len == wl && !memcmp(val, want, wl);
        }
        s->r->checked++;
        if (!ok && s->r->wrong++ < 10)
            fprintf(stderr, "bdb-perf: WRONG answer from %s for key %zu (type %d, %s)\n",
                    store_name(rd->store), i, ks->type[i], absent ? "absent" : "existing");
    }
    free(want);
}

static void timed_gets(reader *rd, const hx_keys *ks, uint32_t *ns)
{
    for (size_t i = 0; i < ks->n; i++) {
        const uint8_t *val;
        size_t len;
        uint64_t t0 = hx_now_ns();
        int f = reader_get(rd, &ks->k[i], &val, &len);
        uint64_t d = hx_now_ns() - t0;
        if (f && len) __asm__ volatile("" ::"r"(val[0]));
        ns[i] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    }
}

static const char *const kind_name[3] = {"existing keys, uniform", "existing keys, Zipf 0.99",
                                         "absent keys"};

static void point_gets(hx_lst *s)
{
    int rounds = s->sc->rounds, stores = 1 + HX_PEERS;
    size_t n = s->sc->gets;
    uint32_t *ns = malloc(n * sizeof *ns);
    if (!ns) hx_die("out of memory");
    double v[3][1 + HX_PEERS][2][HX_MAX_ROUNDS]; /* [kind][store][p50, p99][round] */
    for (int k = 0; k < 3; k++) {
        for (int rd_i = 0; rd_i < rounds; rd_i++) {
            hx_keys ks;
            hx_keys_make(s, &ks, n, k, s->r->seed * 7919 + (uint64_t)(k * 100 + rd_i));
            for (int st = 0; st < stores; st++) {
                if (st && !s->have[st - 1]) continue;
                fprintf(stderr, "list: gets, %s, %s, round %d/%d\n", kind_name[k], store_name(st),
                        rd_i + 1, rounds);
                reader rd;
                reader_init(&rd, s, st);
                if (rd_i == 0)
                    check_answers(s, &rd, &ks, k == HX_ABSENT);
                else
                    timed_gets(&rd, &ks, ns); /* the same keys once untimed: warm */
                timed_gets(&rd, &ks, ns);
                reader_fini(&rd);
                qsort(ns, n, sizeof *ns, hx_cmp_u32);
                v[k][st][0][rd_i] = hx_pct(ns, n, 50) / 1000;
                v[k][st][1][rd_i] = hx_pct(ns, n, 99) / 1000;
                if (rd_i == 0 && k != HX_ZIPF) {
                    char name[48];
                    snprintf(name, sizeof name, "%s", store_name(st));
                    hx_dist(s->r, k == HX_ABSENT ? "get-latency-absent" : "get-latency", name, ns,
                            n);
                }
            }
            hx_keys_free(&ks);
        }
        for (int m = 0; m < 2; m++) {
            char fig[96], cond[240];
            snprintf(fig, sizeof fig, "get %s, %s", m ? "p99" : "p50", kind_name[k]);
            snprintf(cond, sizeof cond,
                     "%zu keys per round, one thread, each get timed with clock_gettime; one "
                     "untimed pass over the keys first (answers checked against the generator)",
                     n);
            int any = 0;
            for (int p = 0; p < HX_PEERS; p++)
                if (s->have[p]) {
                    hx_fig(s->r, "point gets", fig, "µs", HX_LOWER, v[k][0][m], rounds,
                           hx_kv_name(p), v[k][1 + p][m], rounds, cond);
                    any = 1;
                }
            if (!any)
                hx_fig(s->r, "point gets", fig, "µs", HX_LOWER, v[k][0][m], rounds, NULL, NULL, 0,
                       cond);
        }
    }
    free(ns);
}

static void bulk_gets(hx_lst *s)
{
    enum { PER_CALL = 1000 };
    int rounds = s->sc->rounds;
    size_t n = s->sc->gets - s->sc->gets % PER_CALL;
    double v[1 + HX_PEERS][HX_MAX_ROUNDS];
    bdb_list_entry *out = malloc(PER_CALL * sizeof *out);
    uint8_t found[PER_CALL];
    for (int rd_i = 0; rd_i < rounds; rd_i++) {
        hx_keys ks;
        hx_keys_make(s, &ks, n, HX_UNIFORM, s->r->seed * 31 + 1000 + (uint64_t)rd_i);
        for (int st = 0; st < 1 + HX_PEERS; st++) {
            if (st && !s->have[st - 1]) continue;
            reader rd;
            reader_init(&rd, s, st);
            size_t hits = 0;
            uint64_t t0 = hx_now_ns();
            for (size_t i = 0; i < n; i += PER_CALL) {
                if (st == 0) {
                    size_t f = 0;
                    hx_bdb_check(bdb_list_get_many(rd.v, ks.k + i, PER_CALL, out, &f),
                                 "bdb_list_get_many");
                    hits += f;
                } else {
                    hits += hx_kv_get_many(rd.kr, ks.k + i, PER_CALL, found);
                }
            }
            v[st][rd_i] = (double)n / ((double)(hx_now_ns() - t0) * 1e-9) / 1e6;
            reader_fini(&rd);
            s->r->checked += n;
            if (hits != n) {
                s->r->wrong += n - hits;
                fprintf(stderr, "bdb-perf: WRONG: %s bulk get found %zu of %zu live keys\n",
                        store_name(st), hits, n);
            }
        }
        hx_keys_free(&ks);
    }
    free(out);
    for (int p = 0; p < HX_PEERS; p++)
        if (s->have[p])
            hx_fig(s->r, "bulk gets", "bulk get, 1,000 existing keys per call", "M keys/s",
                   HX_HIGHER, v[0], rounds, hx_kv_name(p), v[1 + p], rounds,
                   p == HX_ROCKSDB ? "bdb_list_get_many vs rocksdb_multi_get, uniform live keys, "
                                     "one thread"
                                   : "bdb_list_get_many vs mdb_get per key in one read txn, "
                                     "uniform live keys, one thread");
}

typedef struct tp_arg {
    hx_lst *s;
    int store;
    const hx_keys *ks;
    size_t from, n;
    pthread_barrier_t *bar;
} tp_arg;

static void *tp_main(void *arg)
{
    tp_arg *a = arg;
    reader rd;
    reader_init(&rd, a->s, a->store);
    pthread_barrier_wait(a->bar);
    for (size_t i = 0; i < a->n; i++) {
        const uint8_t *val;
        size_t len;
        if (!reader_get(&rd, &a->ks->k[(a->from + i) % a->ks->n], &val, &len))
            hx_die("threads: a live key was not found");
    }
    reader_fini(&rd);
    return NULL;
}

static void threads(hx_lst *s)
{
    static const int counts[] = {1, 2, 4};
    int rounds = s->sc->rounds;
    size_t n = s->sc->gets;
    hx_keys ks;
    hx_keys_make(s, &ks, n, HX_UNIFORM, s->r->seed * 131 + 7);
    double v[3][1 + HX_PEERS][HX_MAX_ROUNDS];
    for (int c = 0; c < 3; c++)
        for (int st = 0; st < 1 + HX_PEERS; st++) {
            if (st && !s->have[st - 1]) continue;
            for (int rd_i = 0; rd_i < rounds; rd_i++) {
                int t = counts[c];
                pthread_t th[4];
                tp_arg a[4];
                pthread_barrier_t bar;
                pthread_barrier_init(&bar, NULL, (unsigned)t + 1);
                for (int i = 0; i < t; i++) {
                    a[i] = (tp_arg){s, st, &ks, (size_t)i * n / (size_t)t, n, &bar};
                    pthread_create(&th[i], NULL, tp_main, &a[i]);
                }
                pthread_barrier_wait(&bar);
                uint64_t t0 = hx_now_ns();
                for (int i = 0; i < t; i++) pthread_join(th[i], NULL);
                v[c][st][rd_i] = (double)n * t / ((double)(hx_now_ns() - t0) * 1e-9) / 1e6;
                pthread_barrier_destroy(&bar);
            }
            hx_xy(s->r, "get-threads", store_name(st), counts[c], hx_median(v[c][st], rounds));
        }
    hx_keys_free(&ks);
    for (int c = 0; c < 2; c++)
        for (int p = 0; p < HX_PEERS; p++)
            if (s->have[p]) {
                char fig[96];
                snprintf(fig, sizeof fig, "gets/s, %d reader thread%s", counts[c], c ? "s" : "");
                hx_fig(s->r, "threads", fig, "M/s", HX_HIGHER, v[c][0], rounds, hx_kv_name(p),
                       v[c][1 + p], rounds,
                       "uniform live keys, each thread its own view / reader, wall clock");
            }
}

/* ---- restart ---- */

static void restart(hx_lst *s)
{
    int rounds = s->sc->rounds;
    double ours[HX_MAX_ROUNDS], idx = 0, heap = 0;
    for (int i = 0; i < rounds; i++) {
        hx_list_close(s);
        ours[i] = hx_list_open(s);
        bdb_stats es;
        hx_bdb_check(bdb_env_stats(s->env, &es), "bdb_env_stats");
        idx = (double)es.mem[BDB_MEM_INDEX].bytes / 1048576.0;
        heap = (double)es.mem_total.bytes / 1048576.0;
    }
    const char *cond = "close, then bdb_env_open + bdb_list_open with persisted indexes (every "
                       "bucket file's checksum verified), page cache warm";
    int any = 0;
    for (int p = 0; p < HX_PEERS; p++) {
        if (!s->have[p]) continue;
        double t[HX_MAX_ROUNDS];
        for (int i = 0; i < rounds; i++) {
            hx_kv_close(s->kv[p]);
            uint64_t t0 = hx_now_ns();
            s->kv[p] = hx_kv_open(p, s->peer_dir[p], (uint64_t)s->sc->entries * 200);
            t[i] = (double)(hx_now_ns() - t0) * 1e-9;
        }
        hx_fig(s->r, "restart", "reopen", "s", HX_LOWER, ours, rounds, hx_kv_name(p), t, rounds,
               cond);
        any = 1;
    }
    if (!any) hx_fig(s->r, "restart", "reopen", "s", HX_LOWER, ours, rounds, NULL, NULL, 0, cond);
    hx_fig(s->r, "restart", "resident index after open (bdb_env_stats)", "MiB", HX_LOWER, &idx, 1,
           NULL, NULL, 0,
           "the index category of bdb_env_stats: filters, page tables, exact tables");
    hx_fig(s->r, "restart", "library heap after open (bdb_env_stats)", "MiB", HX_LOWER, &heap, 1,
           NULL, NULL, 0, "every category of bdb_env_stats");
}

/* ---- the whole ---- */

void hx_list_run(hx_results *r, const char *dir)
{
    hx_lst *s = calloc(1, sizeof *s);
    if (!s) hx_die("out of memory");
    s->r = r;
    s->sc = r->scale;
    s->g = gen_new(r->seed, s->sc->entries);
    if (!s->g) hx_die("gen_new failed");
    gen_layout_init(&s->lo, s->g, GEN_ARCHIVE_LEDGER);
    for (int t = 0; t < GEN_TYPES; t++) s->cum[t + 1] = s->cum[t] + gen_count(s->g, t);
    snprintf(s->archive, sizeof s->archive, "%s/archive-%s-%llu", dir, s->sc->name,
             (unsigned long long)r->seed);
    snprintf(s->store, sizeof s->store, "%s/bucketdb", dir);
    snprintf(s->tmp, sizeof s->tmp, "%s", dir);
    for (int p = 0; p < HX_PEERS; p++) {
        snprintf(s->peer_dir[p], sizeof s->peer_dir[p], "%s/%s", dir,
                 p == HX_ROCKSDB ? "rocksdb" : "lmdb");
        s->have[p] = hx_kv_available(p);
        if (s->have[p])
            hx_note(r, "%s %s", hx_kv_config(p), hx_kv_version(p));
        else
            hx_note(r, "%s: not built in (configure did not find it): no figures", hx_kv_name(p));
    }
    write_archive(s);
    pop o;
    population_ours(s, &o);
    population_peers(s, &o);
    point_gets(s);
    bulk_gets(s);
    threads(s);
    restart(s);
    hx_ledger_closes(s);
    hx_merge_gets(s);
    for (int p = 0; p < HX_PEERS; p++) hx_kv_close(s->kv[p]), hx_rmrf(s->peer_dir[p]);
    hx_list_close(s);
    hx_rmrf(s->store);
    gen_free(s->g);
    free(s);
}
