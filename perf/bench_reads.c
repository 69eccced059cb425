/* Benchmarks of the store's reads (`make bench-reads`), on a list of
 * BENCH_ENTRIES live entries (default 10 million; accounts and trustlines,
 * alternately, by key number) in 16 shards with the default index options
 * (cutoff 20 MB, pages of 2^14 bytes; BENCH_INDEX_CUTOFF_MB and
 * BENCH_INDEX_EXPONENT change them):
 *
 *  build     BENCH_LEDGERS ledgers (default 2047, so that the next one
 *            spills levels 0-5) of equal shares of the new entries plus 10%
 *            updates of older ones, fsync off, then the merges drained.
 *  open      bdb_list_open rebuilding every index (persist_index 0) and
 *            loading the persisted page indexes (persist_index 1); the XXH3
 *            check of every bucket file that open also does, alone, over
 *            as many threads as the pool has, to isolate the index part.
 *  get       bdb_list_get of random existing and absent keys, each call
 *            timed with clock_gettime: p50, p99.
 *  threads   gets per second with 1 and 2 reader threads.
 *  memory    filter + page-table bytes per entry of the page-indexed files.
 *  rocksdb   (when configured with RocksDB) the same keys (LedgerKey XDR)
 *            and values (LedgerEntry XDR) bulk loaded by SST ingestion, a
 *            block cache holding everything, warmed; the same gets.
 *  merge     get p99 while the merges of ledger BENCH_LEDGERS + 1 run,
 *            against idle, on a hard-linked copy of the store, with a pool
 *            of 2 and of 1 worker threads.
 *
 * Every figure is the median over BENCH_ROUNDS rounds (default 5; 3 for
 * open and merge). The store lives in BENCH_DIR (default $TMPDIR or /tmp)
 * and is removed at the end unless BENCH_STORE names a directory to build
 * it in and keep (a later run with the same BENCH_ENTRIES and BENCH_LEDGERS
 * reuses it). BENCH_MODE: a comma-separated subset of open, get, threads,
 * rocksdb, merge (default all; rocksdb implies get). BENCH_GETS: keys per
 * get round (default 200,000); BENCH_TP_GETS: gets per thread and round of
 * the throughput (default 1,000,000); BENCH_VERBOSE=1 prints its rounds. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_ROCKSDB
#include <rocksdb/c.h>
#endif

#include "bucketdb/list.h"
#include "core/hash.h"
#include "shards/list/store.h"

#include "bench_util.h"

#define KEY_STRIDE 128 /* bytes per pre-built LedgerKey; a trustline key is 84 */
#define SHARDS     16
#define PROTOCOL   22

static uint64_t n_entries;
static uint32_t n_ledgers;
static int rounds;
static uint32_t *last_write; /* per key number: the ledger of its last write */
static const char *mode;

static int want(const char *m)
{
    return bench_want(mode, m);
}

static const char *base_dir(void)
{
    const char *b = getenv("BENCH_DIR");
    if (!b) b = getenv("TMPDIR");
    return b && *b ? b : "/tmp";
}

/* The 1-minute load average, printed with each section: the figures
 * mean little if other work shared the cores. */
static double loadavg(void)
{
    double a = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf", &a) != 1) a = -1;
    if (f) fclose(f);
    return a;
}

/* ---- keys and entries ---- */

/* Key number k: an account (even) or a trustline (odd) of account ID
 * mix64(k + 1), a bijection, so distinct numbers are distinct keys and
 * numbers >= n_entries are keys the list never held. */
static int ktype(uint64_t k)
{
    return k % 2 ? BDB_TRUSTLINE : BDB_ACCOUNT;
}
static uint64_t kid(uint64_t k)
{
    return mix64(k + 1);
}

static size_t make_key(uint64_t k, uint8_t *out)
{
    uint8_t rec[512];
    size_t n = record(rec, sizeof rec, BDB_LIVEENTRY, ktype(k), kid(k), 1), kl = 0;
    if (bdb_ledger_entry_key(rec + 4, n - 4, out, KEY_STRIDE, &kl)) {
        fprintf(stderr, "bench: key %llu: %s\n", (unsigned long long)k, bdb_errmsg());
        exit(1);
    }
    return kl;
}

/* n pre-built keys, so that key encoding stays out of the timed calls. */
typedef struct keyset {
    uint8_t *buf;
    uint8_t *len;
    uint64_t *num;
    size_t n;
} keyset;

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s * 0x2545f4914f6cdd1dull;
}

/* n random key numbers, uniform over the list's keys (absent = 0) or
 * over as many keys it never held (absent = 1). */
static void keyset_make(keyset *ks, size_t n, int absent, uint64_t seed)
{
    ks->buf = malloc(n * KEY_STRIDE);
    ks->len = malloc(n);
    ks->num = malloc(n * sizeof *ks->num);
    if (!ks->buf || !ks->len || !ks->num) {
        fprintf(stderr, "bench: out of memory for keys\n");
        exit(1);
    }
    ks->n = n;
    uint64_t s = seed | 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = rnd(&s) % n_entries + (absent ? n_entries : 0);
        ks->num[i] = k;
        ks->len[i] = (uint8_t)make_key(k, ks->buf + i * KEY_STRIDE);
    }
}

static void keyset_free(keyset *ks)
{
    free(ks->buf), free(ks->len), free(ks->num);
}

/* Whether e is key k's entry as the build last wrote it. */
static int entry_ok(uint64_t k, const void *data, size_t len)
{
    uint8_t rec[512];
    size_t n = record(rec, sizeof rec, BDB_LIVEENTRY, ktype(k), kid(k), last_write[k]);
    return data && len == n - 4 && memcmp(data, rec + 4, n - 4) == 0;
}

/* ---- the build ---- */

/* Ledger L's batch: keys [N(L-1)/ledgers, N L/ledgers) created, and a
 * tenth as many distinct older keys updated. Records go into recs (256
 * bytes each); with recs NULL only last_write is updated (a reused store). */
static void gen_ledger(uint32_t L, uint32_t *stamp, uint8_t *recs, bdb_bytes *init, size_t *ni,
                       bdb_bytes *live, size_t *nl)
{
    uint64_t from = n_entries * (L - 1) / n_ledgers, to = n_entries * L / n_ledgers;
    *ni = *nl = 0;
    for (uint64_t k = from; k < to; k++) {
        last_write[k] = L;
        if (!recs) continue;
        uint8_t *r = recs + 256 * (*ni + *nl);
        size_t n = record(r, 256, BDB_LIVEENTRY, ktype(k), kid(k), L);
        init[(*ni)++] = (bdb_bytes){r + 4, n - 4};
    }
    uint64_t s = mix64(L) | 1;
    for (uint64_t u = 0; from > 0 && u < (to - from) / 10; u++) {
        uint64_t k = rnd(&s) % from;
        if (stamp[k] == L) continue; /* a key once per ledger */
        stamp[k] = L;
        last_write[k] = L;
        if (!recs) continue;
        uint8_t *r = recs + 256 * (*ni + *nl);
        size_t n = record(r, 256, BDB_LIVEENTRY, ktype(k), kid(k), L);
        live[(*nl)++] = (bdb_bytes){r + 4, n - 4};
    }
}

/* BENCH_INDEX_CUTOFF_MB and BENCH_INDEX_EXPONENT override the index
 * defaults (to see what the page size costs and buys). */
static void index_options(bdb_list_options *lo)
{
    lo->index_cutoff_mb = (uint32_t)env_u64("BENCH_INDEX_CUTOFF_MB", lo->index_cutoff_mb);
    lo->index_page_size_exponent =
        (uint32_t)env_u64("BENCH_INDEX_EXPONENT", lo->index_page_size_exponent);
}

static int open_store(const char *dir, unsigned threads, int persist, bdb_env **env, bdb_list **l)
{
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    eo.threads = threads;
    bdb_list_options lo;
    bdb_list_options_init(&lo);
    lo.shards = SHARDS;
    lo.fsync = 0;
    lo.persist_index = persist;
    index_options(&lo);
    int rc = bdb_env_open(&eo, env);
    if (rc) return rc;
    rc = bdb_list_open(*env, dir, &lo, l);
    if (rc) {
        fprintf(stderr, "bench: open %s: %s\n", dir, bdb_errmsg());
        bdb_env_close(*env);
    }
    return rc;
}

static void close_store(bdb_env *env, bdb_list *l)
{
    if (bdb_list_close(l) || bdb_env_close(env)) {
        fprintf(stderr, "bench: close: %s\n", bdb_errmsg());
        exit(1);
    }
}

static uint32_t store_ledger(bdb_list *l)
{
    bdb_list_state st;
    return bdb_list_state_get(l, &st) ? 0 : st.ledger;
}

/* Builds the list in dir, or finds it already built there. */
static int build(const char *dir, int persist)
{
    uint32_t *stamp = calloc(n_entries, sizeof *stamp);
    bdb_env *env;
    bdb_list *l;
    if (!stamp || open_store(dir, 0, persist, &env, &l)) return 1;
    uint32_t at = store_ledger(l);
    if (at == n_ledgers) {
        /* built with the same BENCH_ENTRIES: the last key is there, the
         * next one is not */
        uint8_t key[KEY_STRIDE];
        bdb_list_entry e;
        bdb_list_view *v = bdb_list_view_acquire(l);
        int last = bdb_list_get(v, key, make_key(n_entries - 1, key), &e);
        int next = bdb_list_get(v, key, make_key(n_entries, key), &e);
        bdb_list_view_release(v);
        if (last != 1 || next != 0) {
            fprintf(stderr, "bench: %s holds another BENCH_ENTRIES: remove it\n", dir);
            return 1;
        }
        printf("reusing the list in %s (ledger %u)\n", dir, at);
        size_t ni, nl;
        for (uint32_t L = 1; L <= n_ledgers; L++) gen_ledger(L, stamp, NULL, NULL, &ni, NULL, &nl);
        free(stamp);
        close_store(env, l);
        return 0;
    }
    if (at != 0) {
        fprintf(stderr, "bench: %s holds ledger %u, not %u: remove it\n", dir, at, n_ledgers);
        return 1;
    }
    size_t per = (size_t)(n_entries / n_ledgers + 2), cap = per + per / 10 + 1;
    uint8_t *recs = malloc(cap * 256);
    bdb_bytes *init = malloc(cap * sizeof *init), *live = malloc(cap * sizeof *live);
    if (!recs || !init || !live) return 1;
    double t0 = now_s();
    for (uint32_t L = 1; L <= n_ledgers; L++) {
        size_t ni, nl;
        gen_ledger(L, stamp, recs, init, &ni, live, &nl);
        if (bdb_list_add_batch(l, L, PROTOCOL, init, ni, live, nl, NULL, 0)) {
            fprintf(stderr, "bench: add_batch %u: %s\n", L, bdb_errmsg());
            return 1;
        }
    }
    double t1 = now_s();
    if (bdb_list_wait_merges(l)) return 1;
    printf("built %llu entries in %u ledgers: %.1f s, merges drained after %.1f s more\n",
           (unsigned long long)n_entries, n_ledgers, t1 - t0, now_s() - t1);
    free(recs), free(init), free(live), free(stamp);
    close_store(env, l);
    sync(); /* written back before anything is timed */
    return 0;
}

/* ---- open ---- */

typedef struct hash_job {
    char (*paths)[600];
    size_t n;
    atomic_size_t next;
    int bad;
} hash_job;

static void *hash_worker(void *arg)
{
    hash_job *j = arg;
    for (size_t i; (i = atomic_fetch_add(&j->next, 1)) < j->n;) {
        int fd = open(j->paths[i], O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            j->bad = 1;
            if (fd >= 0) close(fd);
            continue;
        }
        if (st.st_size > 0) {
            void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) {
                j->bad = 1;
            } else {
                madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
                volatile uint64_t h = bdbi_hash64(p, (size_t)st.st_size, 0);
                (void)h;
                munmap(p, (size_t)st.st_size);
            }
        }
        close(fd);
    }
    return NULL;
}

/* What open's checksum pass costs alone: XXH3 of every bucket file,
 * mapped as open maps them, the files spread over `threads` threads. */
static double hash_all(const char *dir, unsigned threads, uint64_t *bytes)
{
    DIR *d = opendir(dir);
    hash_job j = {.paths = NULL};
    size_t cap = 0;
    *bytes = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "bucket-", 7) != 0 || n < 4 || strcmp(e->d_name + n - 4, ".xdr"))
            continue;
        if (j.n == cap) j.paths = realloc(j.paths, (cap = cap ? 2 * cap : 64) * sizeof *j.paths);
        if (snprintf(j.paths[j.n], sizeof j.paths[0], "%s/%s", dir, e->d_name) >=
            (int)sizeof j.paths[0])
            continue; /* cannot happen: bench directories are short */
        struct stat st;
        if (stat(j.paths[j.n], &st) == 0) *bytes += (uint64_t)st.st_size;
        j.n++;
    }
    if (d) closedir(d);
    pthread_t th[8];
    if (threads > 8) threads = 8;
    double t0 = now_s();
    for (unsigned i = 0; i < threads; i++) pthread_create(&th[i], NULL, hash_worker, &j);
    for (unsigned i = 0; i < threads; i++) pthread_join(th[i], NULL);
    double t = now_s() - t0;
    free(j.paths);
    return j.bad ? -1 : t;
}

static double timed_open(const char *dir, int persist)
{
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    bdb_list_options lo;
    bdb_list_options_init(&lo);
    lo.fsync = 0;
    lo.persist_index = persist;
    index_options(&lo);
    bdb_env *env;
    bdb_list *l;
    if (bdb_env_open(&eo, &env)) exit(1);
    double t0 = now_s();
    if (bdb_list_open(env, dir, &lo, &l)) {
        fprintf(stderr, "bench: open: %s\n", bdb_errmsg());
        exit(1);
    }
    double t = now_s() - t0;
    close_store(env, l); /* stops the merges the open restarted */
    return t;
}

static void bench_open(const char *dir)
{
    int r = rounds < 3 ? rounds : 3;
    double rebuild[8], load[8], hash[8];
    uint64_t bytes = 0;
    unsigned threads = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    (void)timed_open(dir, 1); /* writes any missing index file */
    for (int i = 0; i < r; i++) {
        rebuild[i] = timed_open(dir, 0);
        load[i] = timed_open(dir, 1);
        hash[i] = hash_all(dir, threads, &bytes);
    }
    double mr = median(rebuild, r), ml = median(load, r), mh = median(hash, r);
    printf("\n## open (%.0f MB of bucket files, pool of %u threads, page cache warm; median of "
           "%d; load average %.2f)\n\n",
           bytes / 1e6, threads, r, loadavg());
    printf("| open | time | minus the XXH3 pass alone (%.3f s) |\n|---|---|---|\n", mh);
    printf("| rebuilding every index (persist_index 0) | %.3f s | %.3f s |\n", mr, mr - mh);
    printf("| loading persisted page indexes (persist_index 1) | %.3f s | %.3f s |\n", ml, ml - mh);
}

/* ---- gets ---- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static double pct(uint32_t *ns, size_t n, double p)
{
    qsort(ns, n, sizeof *ns, cmp_u32);
    size_t i = (size_t)(p * (double)n);
    return ns[i < n ? i : n - 1] / 1e3;
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Times each get of ks on v into ns[]; counts wrong answers. where[i]
 * (when not NULL) gets the bucket that answered: level * 2 + snap. */
static long timed_gets(const bdb_list_view *v, const keyset *ks, int absent, uint32_t *ns,
                       uint8_t *where)
{
    long wrong = 0;
    for (size_t i = 0; i < ks->n; i++) {
        bdb_list_entry e;
        uint64_t t0 = now_ns();
        int rc = bdb_list_get(v, ks->buf + i * KEY_STRIDE, ks->len[i], &e);
        uint64_t t1 = now_ns();
        ns[i] = (uint32_t)(t1 - t0 < UINT32_MAX ? t1 - t0 : UINT32_MAX);
        if (absent ? rc != 0 : rc != 1 || !entry_ok(ks->num[i], e.data, e.len)) wrong++;
        if (where) where[i] = rc == 1 ? (uint8_t)(e.level * 2 + e.snap) : 0xff;
    }
    return wrong;
}

/* Where existing keys were found and what a get cost by that bucket: a
 * get walks every bucket above the one holding the key. */
static void print_by_bucket(const uint32_t *ns, const uint8_t *where, size_t n)
{
    uint32_t *tmp = malloc(n * sizeof *tmp);
    printf("\nexisting keys by the bucket that held them (first round):\n\n| bucket | share | p50 "
           "|\n|---|---|---|\n");
    for (int b = 0; b < 2 * BDB_LIST_LEVELS; b++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (where[i] == b) tmp[m++] = ns[i];
        if (m)
            printf("| L%d %s | %.1f%% | %.2f µs |\n", b / 2, b % 2 ? "snap" : "curr",
                   100.0 * (double)m / (double)n, pct(tmp, m, 0.5));
    }
    free(tmp);
}

/* Touches every page of the view's mapped files, as a warm page cache
 * means for a reader that maps them (RocksDB's warm-up is a full scan). */
static void touch_view(const bdb_list_view *v)
{
    volatile uint8_t sink = 0;
    for (int i = 0; i < BDB_LIST_LEVELS; i++)
        for (int j = 0; j < 2; j++) {
            const bdbi_lbucket *b = v->live[i][j];
            for (uint32_t f = 0; b && f < b->n_files; f++)
                for (size_t o = 0; b->files[f].map.data && o < b->files[f].map.len; o += 4096)
                    sink ^= b->files[f].map.data[o];
        }
    (void)sink;
}

#ifdef HAVE_ROCKSDB
static rocksdb_t *rdb;
static rocksdb_readoptions_t *rro;

static long rocks_gets(const keyset *ks, int absent, uint32_t *ns)
{
    long wrong = 0;
    char *err = NULL;
    for (size_t i = 0; i < ks->n; i++) {
        uint64_t t0 = now_ns();
        rocksdb_pinnableslice_t *p =
            rocksdb_get_pinned(rdb, rro, (const char *)ks->buf + i * KEY_STRIDE, ks->len[i], &err);
        size_t vl = 0;
        const char *val = p ? rocksdb_pinnableslice_value(p, &vl) : NULL;
        uint64_t t1 = now_ns();
        ns[i] = (uint32_t)(t1 - t0 < UINT32_MAX ? t1 - t0 : UINT32_MAX);
        if (err || (absent ? p != NULL : !entry_ok(ks->num[i], val, vl))) wrong++;
        if (err) free(err), err = NULL;
        rocksdb_pinnableslice_destroy(p);
    }
    return wrong;
}

typedef struct idnum {
    uint64_t id, k;
} idnum;

static int by_id(const void *a, const void *b)
{
    const idnum *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

#define ROCKS_CHECK(what)                                                                          \
    do {                                                                                           \
        if (err) {                                                                                 \
            fprintf(stderr, "bench: rocksdb %s: %s\n", what, err);                                 \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* The peer: a RocksDB tuned for warm point reads (bloom filters of 10
 * bits per key, hash index inside data blocks, no compression, a block
 * cache larger than the data, every file open), bulk loaded from sorted
 * SST files (keys sort as (type, account ID), so each type's keys in ID
 * order are in byte order), then warmed by one full scan. */
static void rocks_open(const char *dir)
{
    char *err = NULL;
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_compression(o, rocksdb_no_compression);
    rocksdb_options_set_max_open_files(o, -1);
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(t, rocksdb_cache_create_lru((size_t)8 << 30));
    rocksdb_block_based_options_set_filter_policy(t, rocksdb_filterpolicy_create_bloom_full(10));
    rocksdb_block_based_options_set_data_block_index_type(
        t, rocksdb_block_based_table_data_block_index_type_binary_search_and_hash);
    rocksdb_block_based_options_set_data_block_hash_ratio(t, 0.75);
    rocksdb_options_set_block_based_table_factory(o, t);
    double t0 = now_s();
    rdb = rocksdb_open(o, dir, &err);
    ROCKS_CHECK("open");
    rocksdb_envoptions_t *eo = rocksdb_envoptions_create();
    char(*files)[600] = NULL;
    size_t nf = 0;
    uint64_t per_file = 2500000;
    static const int types[2] = {BDB_ACCOUNT, BDB_TRUSTLINE};
    idnum *ids = malloc((n_entries / 2 + 1) * sizeof *ids);
    for (int ti = 0; ti < 2; ti++) {
        size_t n = 0;
        for (uint64_t k = (uint64_t)ti; k < n_entries; k += 2) ids[n++] = (idnum){kid(k), k};
        qsort(ids, n, sizeof *ids, by_id);
        rocksdb_sstfilewriter_t *w = NULL;
        for (size_t i = 0; i < n; i++) {
            if (i % per_file == 0) {
                if (w) {
                    rocksdb_sstfilewriter_finish(w, &err);
                    ROCKS_CHECK("sst finish");
                    rocksdb_sstfilewriter_destroy(w);
                }
                files = realloc(files, (nf + 1) * sizeof *files);
                if (snprintf(files[nf], sizeof files[0], "%s.sst-%zu", dir, nf) >=
                    (int)sizeof files[0]) {
                    fprintf(stderr, "bench: path too long\n");
                    exit(1);
                }
                w = rocksdb_sstfilewriter_create(eo, o);
                rocksdb_sstfilewriter_open(w, files[nf++], &err);
                ROCKS_CHECK("sst open");
            }
            uint64_t k = ids[i].k;
            uint8_t key[KEY_STRIDE], rec[512];
            size_t kl = make_key(k, key);
            size_t rl = record(rec, sizeof rec, BDB_LIVEENTRY, types[ti], kid(k), last_write[k]);
            rocksdb_sstfilewriter_put(w, (const char *)key, kl, (const char *)rec + 4, rl - 4,
                                      &err);
            ROCKS_CHECK("sst put");
        }
        if (w) {
            rocksdb_sstfilewriter_finish(w, &err);
            ROCKS_CHECK("sst finish");
            rocksdb_sstfilewriter_destroy(w);
        }
    }
    free(ids);
    const char **list = malloc(nf * sizeof *list);
    for (size_t i = 0; i < nf; i++) list[i] = files[i];
    rocksdb_ingestexternalfileoptions_t *io = rocksdb_ingestexternalfileoptions_create();
    rocksdb_ingestexternalfileoptions_set_move_files(io, 1);
    rocksdb_ingest_external_file(rdb, list, nf, io, &err);
    ROCKS_CHECK("ingest");
    rocksdb_ingestexternalfileoptions_destroy(io);
    free(list), free(files);
    double t1 = now_s();
    rro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it = rocksdb_create_iterator(rdb, rro);
    uint64_t n = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) n++;
    rocksdb_iter_destroy(it);
    printf("rocksdb: %llu keys bulk loaded from %zu SST files in %.1f s, warmed by a scan in "
           "%.1f s\n",
           (unsigned long long)n, nf, t1 - t0, now_s() - t1);
    rocksdb_envoptions_destroy(eo);
    if (n != n_entries) {
        fprintf(stderr, "bench: rocksdb holds %llu keys\n", (unsigned long long)n);
        exit(1);
    }
}
#endif

static void bench_get(const char *dir, const char *rdir)
{
    bdb_env *env;
    bdb_list *l;
    if (open_store(dir, 0, 1, &env, &l) || bdb_list_wait_merges(l)) exit(1);
    bdb_list_view *v = bdb_list_view_acquire(l);
    touch_view(v);
    bdb_list_read_stats rs;
    bdb_list_read_stats_get(v, &rs);
    printf("\n## memory of the indexes\n\n");
    printf("files exact / paged: %llu / %llu; records exact / paged: %llu / %llu\n",
           (unsigned long long)rs.files_exact, (unsigned long long)rs.files_paged,
           (unsigned long long)rs.records_exact, (unsigned long long)rs.records_paged);
    printf("page-indexed files: filter + page table %llu bytes = %.2f bytes per entry\n",
           (unsigned long long)rs.page_index_bytes,
           rs.records_paged ? (double)rs.page_index_bytes / (double)rs.records_paged : 0.0);
    printf("every index: %llu bytes = %.2f bytes per record\n", (unsigned long long)rs.index_bytes,
           (double)rs.index_bytes / (double)(rs.records_exact + rs.records_paged));

    int peer = 0;
#ifdef HAVE_ROCKSDB
    if (rdir) {
        rocks_open(rdir);
        peer = 1;
    }
#else
    (void)rdir;
#endif
    size_t g = (size_t)env_u64("BENCH_GETS", 200000);
    uint32_t *ns = malloc(g * sizeof *ns), *ns0 = malloc(g * sizeof *ns);
    uint8_t *where = malloc(g), *where0 = NULL;
    enum { OURS_HIT, OURS_MISS, PEER_HIT, PEER_MISS, SERIES };
    static const char *const names[SERIES] = {"bucketdb, existing keys", "bucketdb, absent keys",
                                              "RocksDB, existing keys", "RocksDB, absent keys"};
    double p50[SERIES][16], p99[SERIES][16], ratio50[16], ratio99[16];
    long wrong[SERIES] = {0};
    int r = rounds > 16 ? 16 : rounds;
    for (int i = 0; i < r; i++) {
        keyset hit, miss;
        keyset_make(&hit, g, 0, 1000 + (uint64_t)i);
        keyset_make(&miss, g, 1, 2000 + (uint64_t)i);
        for (int s = 0; s < SERIES; s++) {
            if (s >= PEER_HIT && !peer) continue;
            const keyset *ks = s % 2 ? &miss : &hit;
#ifdef HAVE_ROCKSDB
            if (s >= PEER_HIT)
                wrong[s] += rocks_gets(ks, s % 2, ns);
            else
#endif
                wrong[s] += timed_gets(v, ks, s % 2, ns, s == OURS_HIT ? where : NULL);
            if (s == OURS_HIT && i == 0) { /* pct sorts ns */
                memcpy(ns0, ns, g * sizeof *ns);
                where0 = memcpy(malloc(g), where, g);
            }
            p50[s][i] = pct(ns, g, 0.50);
            p99[s][i] = pct(ns, g, 0.99);
        }
        if (peer) {
            ratio50[i] = p50[PEER_HIT][i] / p50[OURS_HIT][i];
            ratio99[i] = p99[PEER_HIT][i] / p99[OURS_HIT][i];
        }
        keyset_free(&hit), keyset_free(&miss);
    }
    printf("\n## point gets (one thread, %zu random keys per round, median of %d rounds; load "
           "average %.2f)\n\n",
           g, r, loadavg());
    printf("| series | p50 | p99 | wrong answers |\n|---|---|---|---|\n");
    for (int s = 0; s < SERIES; s++) {
        if (s >= PEER_HIT && !peer) continue;
        printf("| %s | %.2f µs | %.2f µs | %ld |\n", names[s], median(p50[s], r), median(p99[s], r),
               wrong[s]);
    }
    if (peer)
        printf("\nRocksDB / bucketdb, existing keys: p50 %.2fx, p99 %.2fx\n", median(ratio50, r),
               median(ratio99, r));
    print_by_bucket(ns0, where0, g);
    free(ns), free(ns0), free(where), free(where0);
#ifdef HAVE_ROCKSDB
    if (peer) {
        rocksdb_readoptions_destroy(rro);
        rocksdb_close(rdb);
    }
#endif
    bdb_list_view_release(v);
    close_store(env, l);
}

/* ---- throughput with 1 and 2 reader threads ---- */

typedef struct tp_arg {
    bdb_list_view *v;
    keyset ks;
    pthread_barrier_t *go;
    double secs, cpu; /* wall and the thread's own CPU time */
    long wrong;
} tp_arg;

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *tp_reader(void *arg)
{
    tp_arg *a = arg;
    pthread_barrier_wait(a->go);
    double t0 = now_s(), c0 = thread_cpu_s();
    for (size_t i = 0; i < a->ks.n; i++) {
        bdb_list_entry e;
        if (bdb_list_get(a->v, a->ks.buf + i * KEY_STRIDE, a->ks.len[i], &e) != 1) a->wrong++;
    }
    a->secs = now_s() - t0;
    a->cpu = thread_cpu_s() - c0;
    return NULL;
}

/* Gets per second of `threads` readers, each through its own keys, by
 * the wall clock; *per_cpu: the sum of each reader's gets per second of
 * its own CPU time, which other processes taking a core do not lower
 * (what is left is the readers slowing each other: shared cache lines,
 * memory bandwidth). */
static double tp_run(tp_arg *args, int threads, double *per_cpu)
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
    *per_cpu = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        if (args[i].secs > slowest) slowest = args[i].secs;
        n += args[i].ks.n;
        *per_cpu += (double)args[i].ks.n / args[i].cpu;
    }
    pthread_barrier_destroy(&go);
    return (double)n / slowest;
}

static void bench_threads(const char *dir)
{
    bdb_env *env;
    bdb_list *l;
    if (open_store(dir, 0, 1, &env, &l) || bdb_list_wait_merges(l)) exit(1);
    bdb_list_view *v = bdb_list_view_acquire(l);
    touch_view(v);
    size_t m = (size_t)env_u64("BENCH_TP_GETS", 1000000);
    tp_arg args[2] = {{.v = v}, {.v = v}};
    keyset_make(&args[0].ks, m, 0, 31);
    keyset_make(&args[1].ks, m, 0, 37);
    double one[16], two[16], ratio[16], c1[16], c2[16], cratio[16];
    int r = rounds > 16 ? 16 : rounds;
    (void)tp_run(args, 2, &c1[0]); /* warm-up: both key sets and the index pages in the caches */
    for (int i = 0; i < r; i++) {
        /* alternate which goes first, so neither profits from the other */
        if (i % 2) {
            two[i] = tp_run(args, 2, &c2[i]);
            one[i] = tp_run(args, 1, &c1[i]);
        } else {
            one[i] = tp_run(args, 1, &c1[i]);
            two[i] = tp_run(args, 2, &c2[i]);
        }
        ratio[i] = two[i] / one[i];
        cratio[i] = c2[i] / c1[i];
        if (getenv("BENCH_VERBOSE"))
            printf("round %d: %.0f k/s, %.0f k/s, %.2fx\n", i, one[i] / 1e3, two[i] / 1e3,
                   ratio[i]);
    }
    long wrong = args[0].wrong + args[1].wrong;
    printf("\n## throughput of existing-key gets (%zu gets per thread, median of %d; load average "
           "%.2f)\n\n",
           m, r, loadavg());
    printf("| clock | 1 thread | 2 threads | ratio |\n|---|---|---|---|\n");
    printf("| wall | %.0f k/s | %.0f k/s | %.2fx |\n", median(one, r) / 1e3, median(two, r) / 1e3,
           median(ratio, r));
    printf("| each reader's CPU time | %.0f k/s | %.0f k/s | %.2fx |\n", median(c1, r) / 1e3,
           median(c2, r) / 1e3, median(cratio, r));
    printf("\nwrong answers: %ld\n", wrong);
    keyset_free(&args[0].ks), keyset_free(&args[1].ks);
    bdb_list_view_release(v);
    close_store(env, l);
}

/* ---- get latency during a deep merge ---- */

#define PHASE_IDLE  1
#define PHASE_MERGE 2
#define PHASE_STOP  3

typedef struct merge_arg {
    bdb_list *l;
    const keyset *ks;
    atomic_int phase;
    uint32_t *ns[2];
    size_t n[2], cap;
    long wrong;
} merge_arg;

/* Gets through views re-acquired every 1,000 gets (a reader's view per
 * ledger), latencies kept by phase. */
static void *merge_reader(void *arg)
{
    merge_arg *a = arg;
    size_t i = 0;
    bdb_list_view *v = NULL;
    for (int ph; (ph = atomic_load(&a->phase)) != PHASE_STOP; i++) {
        if (i % 1000 == 0) {
            bdb_list_view_release(v);
            v = bdb_list_view_acquire(a->l);
        }
        size_t j = i % a->ks->n;
        bdb_list_entry e;
        uint64_t t0 = now_ns();
        int rc = bdb_list_get(v, a->ks->buf + j * KEY_STRIDE, a->ks->len[j], &e);
        uint64_t t1 = now_ns();
        if (rc != 1) a->wrong++;
        size_t *n = &a->n[ph - 1];
        if (*n < a->cap) a->ns[ph - 1][(*n)++] = (uint32_t)(t1 - t0);
    }
    bdb_list_view_release(v);
    return NULL;
}

static int link_copy(const char *from, const char *to)
{
    if (mkdir(to, 0755) != 0) return perror(to), 1;
    DIR *d = opendir(from);
    int rc = d ? 0 : 1;
    for (struct dirent *e; d && (e = readdir(d));) {
        /* bucket, index and manifest files are never written in place
         * (new name, then rename), so links share them safely; the lock
         * file is the one file that is */
        if (e->d_name[0] == '.' || strcmp(e->d_name, "bucketdb.lock") == 0) continue;
        char a[1600], b[1600];
        if (snprintf(a, sizeof a, "%s/%s", from, e->d_name) >= (int)sizeof a ||
            snprintf(b, sizeof b, "%s/%s", to, e->d_name) >= (int)sizeof b || link(a, b) != 0)
            rc = 1, perror(b);
    }
    if (d) closedir(d);
    return rc;
}

static void rm_rf(const char *dir)
{
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench: could not remove %s\n", dir);
}

/* One round: idle gets, then gets while the merges of the next ledger
 * run. Returns p99 idle and during (µs) and the merges' time. */
static void merge_round(const char *dir, unsigned threads, const keyset *ks, double *idle99,
                        double *merge99, double *idle50, double *merge50, double *secs)
{
    char copy[1200];
    snprintf(copy, sizeof copy, "%s-merge", dir);
    rm_rf(copy);
    bdb_env *env;
    bdb_list *l;
    if (link_copy(dir, copy) || open_store(copy, threads, 1, &env, &l) || bdb_list_wait_merges(l))
        exit(1);
    bdb_list_view *v = bdb_list_view_acquire(l);
    touch_view(v);
    bdb_list_view_release(v);
    merge_arg a = {.l = l, .ks = ks, .cap = 64u << 20};
    a.ns[0] = malloc(a.cap * sizeof(uint32_t));
    a.ns[1] = malloc(a.cap * sizeof(uint32_t));
    atomic_init(&a.phase, PHASE_IDLE);
    pthread_t th;
    pthread_create(&th, NULL, merge_reader, &a);
    usleep(1500000);
    /* the next ledger: 1,000 updates, and every level down to the one
     * holding most of the list spills */
    static uint8_t recs[1000][256];
    bdb_bytes live[1000];
    uint32_t L = n_ledgers + 1;
    for (uint64_t i = 0; i < 1000; i++) {
        uint64_t k = i * (n_entries / 1000);
        size_t n = record(recs[i], 256, BDB_LIVEENTRY, ktype(k), kid(k), L);
        live[i] = (bdb_bytes){recs[i] + 4, n - 4};
    }
    if (bdb_list_add_batch(l, L, PROTOCOL, NULL, 0, live, 1000, NULL, 0)) {
        fprintf(stderr, "bench: add_batch %u: %s\n", L, bdb_errmsg());
        exit(1);
    }
    atomic_store(&a.phase, PHASE_MERGE);
    double t0 = now_s();
    if (bdb_list_wait_merges(l)) exit(1);
    *secs = now_s() - t0;
    atomic_store(&a.phase, PHASE_STOP);
    pthread_join(th, NULL);
    if (a.wrong) {
        fprintf(stderr, "bench: %ld gets during the merge found nothing\n", a.wrong);
        exit(1);
    }
    *idle50 = pct(a.ns[0], a.n[0], 0.50);
    *idle99 = pct(a.ns[0], a.n[0], 0.99);
    *merge50 = pct(a.ns[1], a.n[1], 0.50);
    *merge99 = pct(a.ns[1], a.n[1], 0.99);
    free(a.ns[0]), free(a.ns[1]);
    close_store(env, l);
    rm_rf(copy);
}

static void bench_merge(const char *dir)
{
    /* what the next ledger merges: level i's curr and snap (records) */
    bdb_env *env;
    bdb_list *l;
    if (open_store(dir, 0, 1, &env, &l)) exit(1);
    bdb_list_view *v = bdb_list_view_acquire(l);
    printf("\n## get latency during the merges of ledger %u (load average %.2f)\n\nrecords per "
           "level (curr + snap) at ledger %u:",
           n_ledgers + 1, loadavg(), n_ledgers);
    for (int i = 0; i < BDB_LIST_LEVELS; i++) {
        uint64_t c = v->live[i][0] ? v->live[i][0]->records : 0;
        uint64_t s = v->live[i][1] ? v->live[i][1]->records : 0;
        if (c || s) printf(" L%d %llu+%llu", i, (unsigned long long)c, (unsigned long long)s);
    }
    printf("\n\n");
    bdb_list_view_release(v);
    close_store(env, l);

    keyset ks;
    keyset_make(&ks, 1000000, 0, 77);
    int r = rounds < 3 ? rounds : 3;
    printf("| pool threads | p50 idle | p99 idle | p50 merging | p99 merging | p99 ratio | merges "
           "of the ledger |\n|---|---|---|---|---|---|---|\n");
    for (unsigned threads = 2; threads >= 1; threads--) {
        double i99[8], m99[8], i50[8], m50[8], ratio[8], secs[8];
        for (int i = 0; i < r; i++) {
            merge_round(dir, threads, &ks, &i99[i], &m99[i], &i50[i], &m50[i], &secs[i]);
            ratio[i] = m99[i] / i99[i];
        }
        printf("| %u | %.2f µs | %.2f µs | %.2f µs | %.2f µs | %.2fx | %.1f s |\n", threads,
               median(i50, r), median(i99, r), median(m50, r), median(m99, r), median(ratio, r),
               median(secs, r));
        fflush(stdout);
    }
    keyset_free(&ks);
}

int main(void)
{
    n_entries = env_u64("BENCH_ENTRIES", 10000000);
    n_ledgers = (uint32_t)env_u64("BENCH_LEDGERS", 2047);
    rounds = (int)env_u64("BENCH_ROUNDS", 5);
    mode = getenv("BENCH_MODE");
    if (n_entries < 2 * n_ledgers || rounds < 1) {
        fprintf(stderr, "bench: BENCH_ENTRIES must be at least 2 * BENCH_LEDGERS\n");
        return 1;
    }
    last_write = calloc(n_entries, sizeof *last_write);
    if (!last_write) return 1;
    const char *keep = getenv("BENCH_STORE");
    char dir[1024], rdir[1100];
    if (keep && *keep) {
        snprintf(dir, sizeof dir, "%s", keep);
    } else {
        snprintf(dir, sizeof dir, "%s/bdb-bench-reads-XXXXXX", base_dir());
        if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    }
    snprintf(rdir, sizeof rdir, "%s-rocksdb", dir);
    bdb_list_options lo;
    bdb_list_options_init(&lo);
    index_options(&lo);
    printf("bench-reads: %llu entries, %u ledgers, 16 shards, index cutoff %u MB, pages of 2^%u "
           "bytes, in %s\n",
           (unsigned long long)n_entries, n_ledgers, lo.index_cutoff_mb,
           lo.index_page_size_exponent, dir);
    fflush(stdout);
    if (build(dir, 1)) return 1;
    fflush(stdout);
    if (want("open")) bench_open(dir);
    fflush(stdout);
    int peer = 0;
#ifdef HAVE_ROCKSDB
    peer = want("rocksdb");
    if (peer) rm_rf(rdir);
#endif
    if (want("get") || peer) bench_get(dir, peer ? rdir : NULL);
    fflush(stdout);
    if (peer) rm_rf(rdir);
    if (want("threads")) bench_threads(dir);
    fflush(stdout);
    if (want("merge")) bench_merge(dir);
    if (!keep || !*keep) rm_rf(dir);
    free(last_write);
    return 0;
}
