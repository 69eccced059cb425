/* Benchmarks of the BucketList store (`make bench-list`):
 *
 *  merge7    a level-7-sized spill merge in a 16-shard store: two inputs
 *            of BENCH_ENTRIES entries each (default 5 million, about
 *            1 GB each; a third of the keys shared), merged by the pool
 *            with 1 and then 2 worker threads (one task per shard piece);
 *            time from start to resolve, speedup, and the growth of
 *            peak RSS during the merge. Inputs are in the page cache;
 *            no fsync (the figure is CPU and memory, not the disk).
 *  addbatch  builds a list of BENCH_LIST_ENTRIES live entries (default
 *            10 million) by add_batch of 1,000 entries per ledger (600
 *            created, 350 updated, 50 deleted) with fsync on, and reports
 *            p50/p99/max of add_batch's synchronous time over the last
 *            BENCH_TAIL ledgers (default 2,000), closed one per BENCH_PACE_MS
 *            (default 20) while the build before them runs flat out.
 *
 * BENCH_MODE selects one (default both); BENCH_DIR the directory. */
#include "config.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bucketdb/bucket.h"
#include "bucketdb/list.h"
#include "core/alloc.h"
#include "shards/list/store.h"

#include "bench_util.h"

static const char *base_dir(void)
{
    const char *b = getenv("BENCH_DIR");
    if (!b) b = getenv("TMPDIR");
    return b && *b ? b : "/tmp";
}

/* ---- merge7 ---- */

/* A canonical input bucket of n entries (accounts and trustlines, IDs
 * spread over the key space so that every shard gets a share). */
static int make_input(bdb_env *env, const char *dir, uint64_t n, uint64_t stride, uint64_t version,
                      bdb_bucket_info *info)
{
    bdb_bucket_writer_options o;
    bdb_bucket_writer_options_init(&o);
    o.protocol = 23;
    o.fsync = 0;
    bdb_bucket_writer *w;
    int rc = bdb_bucket_writer_open(env, dir, &o, &w);
    uint8_t rec[1024];
    static const int types[2] = {BDB_ACCOUNT, BDB_TRUSTLINE};
    for (int t = 0; !rc && t < 2; t++) {
        uint64_t count = n / 2, step = (UINT64_MAX / 4) / count;
        for (uint64_t k = 0; !rc && k < count; k++) {
            uint64_t id = (k + 1) * stride * step;
            size_t len = record(rec, sizeof rec, BDB_LIVEENTRY, types[t], id, version + k);
            rc = bdb_bucket_writer_put(w, rec, len);
        }
    }
    if (rc) {
        bdb_bucket_writer_abort(w);
        return rc;
    }
    return bdb_bucket_writer_finish(w, info);
}

static int merge7_run(unsigned threads, const char *src, const bdb_bucket_info *a,
                      const bdb_bucket_info *b, double *secs, long *rss_growth, uint8_t hash[32])
{
    char dir[512], pa[1024], pb[1024];
    snprintf(dir, sizeof dir, "%s/bdb-bench-list-XXXXXX", base_dir());
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    snprintf(pa, sizeof pa, "%s/%s", src, a->name);
    snprintf(pb, sizeof pb, "%s/%s", src, b->name);
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    eo.threads = threads;
    bdb_env *env;
    bdb_list *l;
    bdb_list_options lo;
    bdb_list_options_init(&lo);
    lo.shards = 16;
    lo.fsync = 0;
    if (bdb_env_open(&eo, &env) || bdb_list_open(env, dir, &lo, &l)) return 1;
    bdbi_lbucket *ia, *ib, *out = NULL;
    int rc = bdbi_lbucket_import(l, pa, 0, a->hash, &ia);
    if (!rc) rc = bdbi_lbucket_import(l, pb, 0, b->hash, &ib);
    if (rc) {
        fprintf(stderr, "bench: import: %s\n", bdb_errmsg());
        return 1;
    }
    bdbi_merge_inputs in = {.hot = 0,
                            .level = 7,
                            .keep_tombstones = 1,
                            .max_protocol = 23,
                            .start_ledger = 8192 * 3,
                            .curr = ia,
                            .snap = ib};
    sync(); /* the imports' dirty pages are written back before the clock starts */
    long rss0 = status_kib("VmRSS");
    reset_peak_rss();
    double t0 = now_s();
    bdbi_pmerge *m;
    rc = bdbi_pmerge_start(l, &in, &m);
    if (!rc) rc = bdbi_pmerge_resolve(m, &out);
    *secs = now_s() - t0;
    *rss_growth = status_kib("VmHWM") - rss0;
    if (rc) {
        fprintf(stderr, "bench: merge: %s\n", bdb_errmsg());
        return 1;
    }
    memcpy(hash, out->hash, 32);
    bdbi_pmerge_unref(m);
    bdbi_lbucket_unref(l, out);
    bdbi_lbucket_unref(l, ia);
    bdbi_lbucket_unref(l, ib);
    bdb_list_close(l);
    bdb_env_close(env);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) != 0;
}

static int merge7(void)
{
    const char *e = getenv("BENCH_ENTRIES");
    uint64_t n = e ? strtoull(e, NULL, 10) : 5000000;
    char src[512];
    snprintf(src, sizeof src, "%s/bdb-bench-list-src-XXXXXX", base_dir());
    if (!mkdtemp(src)) return perror("mkdtemp"), 1;
    bdb_env *env;
    if (bdb_env_open(NULL, &env)) return 1;
    bdb_bucket_info a, b;
    if (make_input(env, src, n, 2, 1, &a) || make_input(env, src, n, 3, 1000000, &b)) {
        fprintf(stderr, "bench: %s\n", bdb_errmsg());
        return 1;
    }
    bdb_env_close(env);
    printf("level-7 spill merge, 16 shards: inputs %.0f MB + %.0f MB\n\n", a.bytes / 1e6,
           b.bytes / 1e6);
    printf("| round | 1 thread (s) | 2 threads (s) | speedup | peak RSS growth 1 / 2 threads (KiB) "
           "|\n|---|---|---|---|---|\n");
    enum { ROUNDS = 5 };
    double t[2][ROUNDS], sp[ROUNDS];
    uint8_t h1[32], h[32];
    for (int round = 0; round < ROUNDS; round++) {
        long rss[2];
        /* alternate which runs first, so neither profits from the other */
        for (int k = 0; k < 2; k++) {
            unsigned threads = (unsigned)((round + k) % 2) + 1;
            if (merge7_run(threads, src, &a, &b, &t[threads - 1][round], &rss[threads - 1],
                           threads == 1 ? h1 : h))
                return 1;
        }
        if (memcmp(h, h1, 32) != 0) {
            fprintf(stderr, "bench: outputs differ between 1 and 2 threads\n");
            return 1;
        }
        sp[round] = t[0][round] / t[1][round];
        printf("| %d | %.2f | %.2f | %.2f | %ld / %ld |\n", round + 1, t[0][round], t[1][round],
               sp[round], rss[0], rss[1]);
    }
    qsort(t[0], ROUNDS, sizeof t[0][0], cmp_double);
    qsort(t[1], ROUNDS, sizeof t[1][0], cmp_double);
    qsort(sp, ROUNDS, sizeof sp[0], cmp_double);
    printf("| median | %.2f | %.2f | %.2f | |\n", t[0][ROUNDS / 2], t[1][ROUNDS / 2],
           sp[ROUNDS / 2]);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", src);
    return system(cmd) != 0;
}

/* ---- addbatch ---- */

static int addbatch(void)
{
    const char *e = getenv("BENCH_LIST_ENTRIES");
    uint64_t target = e ? strtoull(e, NULL, 10) : 10000000;
    e = getenv("BENCH_TAIL");
    uint32_t tail = e ? (uint32_t)strtoul(e, NULL, 10) : 2000;
    e = getenv("BENCH_SHARDS");
    uint32_t shards = e ? (uint32_t)strtoul(e, NULL, 10) : 16;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bdb-bench-addbatch-XXXXXX", base_dir());
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    bdb_env *env;
    bdb_list *l;
    bdb_list_options lo;
    bdb_list_options_init(&lo);
    lo.shards = shards;
    e = getenv("BENCH_FSYNC");
    lo.fsync = e ? atoi(e) != 0 : 1;
    if (bdb_env_open(NULL, &env) || bdb_list_open(env, dir, &lo, &l)) return 1;
    uint32_t ledgers = (uint32_t)(target / 550) + 1; /* 600 created - 50 deleted per ledger */
    /* the measured tail is paced (default one ledger per 20 ms, still 250
     * times mainnet's rate) so that background merges get the CPU they
     * would have between real ledgers; the build before it runs flat out */
    e = getenv("BENCH_PACE_MS");
    double pace = (e ? atof(e) : 20.0) / 1e3;
    /* per measured ledger: the whole call and its parts (l->last) */
    enum { P_ALL, P_NO_WAIT, P_LEVEL0, P_MANIFEST, P_GC, P_N };
    static const char *const names[P_N] = {"add_batch", "add_batch without merge waits",
                                           "level-0 merges", "manifest", "publish + GC"};
    uint32_t from = ledgers > tail ? ledgers - tail : 0, nm = ledgers - from, waited = 0;
    double *part[P_N];
    for (int k = 0; k < P_N; k++) part[k] = malloc(sizeof *part[k] * nm);
    static uint8_t recs[1000][512];
    static uint8_t keys[50][128];
    bdb_bytes init[600], live[350], dead[50];
    uint64_t next_id = 1, live_from = 1; /* ids [live_from, next_id) are live */
    double t_all = now_s();
    for (uint32_t L = 1; L <= ledgers; L++) {
        for (int i = 0; i < 600; i++) {
            size_t n =
                record(recs[i], sizeof recs[i], BDB_LIVEENTRY, BDB_ACCOUNT, mix64(next_id++), L);
            init[i] = (bdb_bytes){recs[i] + 4, n - 4};
        }
        int nl = 0, nd = 0;
        if (next_id - live_from > 1000) {
            for (int i = 0; i < 50; i++) { /* oldest accounts are deleted */
                uint8_t tmp[512];
                size_t n =
                    record(tmp, sizeof tmp, BDB_LIVEENTRY, BDB_ACCOUNT, mix64(live_from++), L);
                size_t klen;
                if (bdb_ledger_entry_key(tmp + 4, n - 4, keys[i], sizeof keys[i], &klen)) return 1;
                dead[nd++] = (bdb_bytes){keys[i], klen};
            }
            for (int i = 0; i < 350; i++) { /* updates of random live accounts */
                uint64_t id =
                    live_from + mix64(L * 1000 + (uint64_t)i) % (next_id - 600 - live_from);
                size_t n = record(recs[600 + i], sizeof recs[600 + i], BDB_LIVEENTRY, BDB_ACCOUNT,
                                  mix64(id), L);
                live[nl++] = (bdb_bytes){recs[600 + i] + 4, n - 4};
            }
        }
        if (L == from + 1) {
            /* the build ran ~1000x mainnet's rate; let its merges catch
             * up, as they would have between real ledgers */
            if (bdb_list_wait_merges(l)) return 1;
        }
        if (L > from && pace > 0) {
            static double next_at;
            double now = now_s();
            if (next_at > now) usleep((useconds_t)((next_at - now) * 1e6));
            next_at = now_s() + pace;
        }
        double t0 = now_s();
        int rc = bdb_list_add_batch(l, L, 22, init, 600, live, (size_t)nl, dead, (size_t)nd);
        if (rc == BDB_EINVAL && strstr(bdb_errmsg(), "twice")) {
            /* a random update hit a key deleted or created in this batch: skip the updates */
            t0 = now_s();
            rc = bdb_list_add_batch(l, L, 22, init, 600, NULL, 0, dead, (size_t)nd);
        }
        double dt = now_s() - t0;
        if (rc) {
            fprintf(stderr, "bench: ledger %u: %s\n", L, bdb_errmsg());
            return 1;
        }
        if (L <= from) continue;
        size_t i = L - from - 1;
        part[P_ALL][i] = dt;
        part[P_NO_WAIT][i] = dt - (double)l->last.merge_wait_ns / 1e9;
        part[P_LEVEL0][i] = (double)l->last.level0_ns / 1e9;
        part[P_MANIFEST][i] = (double)l->last.manifest_ns / 1e9;
        part[P_GC][i] = (double)l->last.gc_ns / 1e9;
        waited += l->last.merge_wait_ns > 0;
    }
    t_all = now_s() - t_all;
    printf("add_batch of 1,000 entries into a %.1f M-entry list (%u shards, fsync %s), last %u "
           "ledgers, one every %.0f ms after the build's merges drained; build %.0f ledgers/s; "
           "%u of the %u ledgers waited for a merge:\n\n",
           (double)(next_id - live_from) / 1e6, shards, lo.fsync ? "on" : "off", nm, pace * 1e3,
           ledgers / t_all, waited, nm);
    printf("| part | p50 | p99 | max |\n|---|---|---|---|\n");
    for (int k = 0; k < P_N; k++) {
        double *a = part[k];
        qsort(a, nm, sizeof *a, cmp_double);
        printf("| %s | %.2f ms | %.2f ms | %.2f ms |\n", names[k], a[nm / 2] * 1e3,
               a[nm * 99 / 100] * 1e3, a[nm - 1] * 1e3);
        free(a);
    }
    bdb_list_close(l);
    bdb_env_close(env);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) != 0;
}

int main(void)
{
    const char *mode = getenv("BENCH_MODE");
    int rc = 0;
    if (!mode || !strcmp(mode, "merge7")) rc |= merge7();
    if (!mode || !strcmp(mode, "addbatch")) rc |= addbatch();
    return rc;
}
