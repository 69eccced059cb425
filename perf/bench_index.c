/* The per-file index: build cost (by the builder, as a merge feeds it, and
 * by a scan of the file), builder memory, lookup latency for present and
 * absent keys in the exact and paged forms, a monotone walk with a cursor,
 * and the bytes per record of each form. Not a test: `make bench-index`
 * runs it; `perf/bench_index N` uses N records (default 1M). The file is
 * built in memory: a METAENTRY, then mainnet-like records (bench_util.h's
 * record(): accounts, trust lines, offers, contract data, TTLs) in key
 * order. Prints medians of ROUNDS runs as markdown. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "bucketdb/bucketdb.h"
#include "index/index.h"

#define ROUNDS 3

typedef struct rec {
    uint64_t off;
    uint32_t len, klen, sklen;
    uint8_t *key, *sk;
} rec;

static uint8_t *file;
static size_t file_len;
static rec *recs;
static size_t n_recs;

static int sk_cmp(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    size_t n = x->sklen < y->sklen ? x->sklen : y->sklen;
    int c = memcmp(x->sk, y->sk, n);
    return c ? c : (x->sklen > y->sklen) - (x->sklen < y->sklen);
}

static const int types[] = {BDB_ACCOUNT,       BDB_ACCOUNT,   BDB_ACCOUNT, BDB_ACCOUNT,
                            BDB_TRUSTLINE,     BDB_TRUSTLINE, BDB_OFFER,   BDB_CONTRACT_DATA,
                            BDB_CONTRACT_DATA, BDB_TTL};

/* A record of key number `id` (its type from the id) with its key and
 * sort key in fresh buffers; the record itself into buf. */
static size_t make(uint64_t id, uint8_t *buf, size_t cap, rec *r)
{
    size_t n =
        record(buf, cap, id % 3 ? BDB_LIVEENTRY : BDB_INITENTRY, types[id % 10], mix64(id), id);
    r->key = malloc(n);
    size_t klen, sklen;
    if (bdb_ledger_entry_key(buf + 4, n - 4, r->key, n, &klen)) abort();
    r->sk = malloc(BDB_SORT_KEY_BOUND(klen));
    if (bdb_sort_key(r->key, klen, r->sk, BDB_SORT_KEY_BOUND(klen), &sklen)) abort();
    r->len = (uint32_t)n;
    r->klen = (uint32_t)klen;
    r->sklen = (uint32_t)sklen;
    return n;
}

/* A copy of r whose key and sort key lie next to each other in one
 * arena, filled in order (the arena is never freed: a benchmark). */
static rec *packed(const rec *r)
{
    static uint8_t *arena;
    static size_t left;
    static rec out;
    size_t need = r->klen + r->sklen;
    if (left < need) {
        left = 64u << 20;
        arena = malloc(left);
        if (!arena) abort();
    }
    out = *r;
    out.key = memcpy(arena, r->key, r->klen);
    out.sk = memcpy(arena + r->klen, r->sk, r->sklen);
    arena += need;
    left -= need;
    return &out;
}

/* The file: META, then the records of ids 0..n-1 in key order. */
static void make_file(size_t n)
{
    static uint8_t buf[4096];
    recs = calloc(n, sizeof *recs);
    uint8_t **bodies = malloc(n * sizeof *bodies);
    size_t total = 20;
    for (size_t i = 0; i < n; i++) {
        size_t m = make(i, buf, sizeof buf, &recs[i]);
        bodies[i] = malloc(m);
        memcpy(bodies[i], buf, m);
        recs[i].off = (uint64_t)(uintptr_t)bodies[i]; /* until sorted */
        total += 4 + m;
    }
    qsort(recs, n, sizeof *recs, sk_cmp);
    file = malloc(total);
    static const uint8_t meta[] = {0x80, 0,  0, 0x10, 0xff, 0xff, 0xff, 0xff, 0, 0,
                                   0,    25, 0, 0,    0,    1,    0,    0,    0, 0};
    memcpy(file, meta, sizeof meta);
    size_t pos = sizeof meta;
    for (size_t i = 0; i < n; i++) {
        uint8_t *b = (uint8_t *)(uintptr_t)recs[i].off;
        uint32_t mark = 0x80000000u | recs[i].len;
        file[pos] = (uint8_t)(mark >> 24), file[pos + 1] = (uint8_t)(mark >> 16);
        file[pos + 2] = (uint8_t)(mark >> 8), file[pos + 3] = (uint8_t)mark;
        memcpy(file + pos + 4, b, recs[i].len);
        free(b);
        recs[i].off = pos;
        pos += 4 + recs[i].len;
    }
    free(bodies);
    file_len = pos;
    n_recs = n;
    /* keys and sort keys side by side in file order, as a merge has them */
    for (size_t i = 0; i < n; i++) {
        rec r = recs[i];
        recs[i] = *packed(&r);
        free(r.key), free(r.sk);
    }
}

static uint64_t index_bytes_now(bdb_env *env)
{
    bdb_stats s;
    bdb_env_stats(env, &s);
    return s.mem[BDB_MEM_INDEX].bytes;
}

/* ns/record to build by the builder; *state gets the builder's bytes per
 * record just before finish */
static double build_builder(bdb_env *env, const bdbi_index_params *p, double *state,
                            bdbi_index **out)
{
    uint64_t before = index_bytes_now(env);
    double t0 = now_s();
    bdbi_index_builder *b;
    if (bdbi_index_builder_new(env, p, &b)) abort();
    for (size_t i = 0; i < n_recs; i++)
        if (bdbi_index_builder_add(b, recs[i].off, file + recs[i].off + 4, recs[i].len, recs[i].sk,
                                   recs[i].sklen))
            abort();
    double t1 = now_s();
    *state = (double)(index_bytes_now(env) - before) / (double)n_recs;
    double t2 = now_s();
    if (bdbi_index_builder_finish(b, file_len, out)) abort();
    return ((t1 - t0) + (now_s() - t2)) * 1e9 / (double)n_recs;
}

static double build_scan(bdb_env *env, const bdbi_index_params *p, bdbi_index **out)
{
    double t0 = now_s();
    if (bdbi_index_build_scan(env, p, file, file_len, "bench", out)) {
        fprintf(stderr, "%s\n", bdb_errmsg());
        abort();
    }
    return (now_s() - t0) * 1e9 / (double)n_recs;
}

/* ns per lookup of the keys q[0..m) (walk: one cursor, keys ascending);
 * *found counts the hits */
static double lookups(const bdbi_index *x, rec *const *q, size_t m, int walk, size_t *found)
{
    size_t hits = 0, cursor = 0;
    double t0 = now_s();
    for (size_t i = 0; i < m; i++) {
        bdbi_probe k = {q[i]->key, q[i]->klen, q[i]->sk, q[i]->sklen, 0, 0, 0};
        const uint8_t *r;
        size_t rl;
        uint64_t off;
        int rc = bdbi_index_lookup(x, file, file_len, &k, walk ? &cursor : NULL, &r, &rl, &off);
        if (rc < 0) abort();
        hits += (size_t)rc;
    }
    *found = hits;
    return (now_s() - t0) * 1e9 / (double)m;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 1;
    bdb_env *env;
    if (n == 0 || bdb_env_open(&o, &env) != 0) return 1;
    make_file(n);
    /* probes: present keys in random order, absent keys (ids n..2n-1) */
    size_t m = n < 1000000 ? n : 1000000;
    /* each probe's key in its own copy, in probe order: a caller looking
     * a key up has it at hand */
    rec **hit = malloc(m * sizeof *hit), **miss = malloc(m * sizeof *miss), **walk;
    rec *present = calloc(m, sizeof *present), *absent = calloc(m, sizeof *absent);
    static uint8_t buf[4096];
    uint64_t s = 7;
    for (size_t i = 0; i < m; i++) {
        present[i] = *packed(&recs[mix64(s += 0x9e3779b97f4a7c15ull) % n]);
        hit[i] = &present[i];
        rec r;
        make(n + i, buf, sizeof buf, &r);
        absent[i] = *packed(&r);
        free(r.key), free(r.sk);
        miss[i] = &absent[i];
    }
    walk = malloc(n * sizeof *walk);
    for (size_t i = 0; i < n; i++) walk[i] = &recs[i];

    printf("%zu records, %.1f MB file (%.0f B/record with marks), medians of %d rounds, one "
           "thread\n\n",
           n, (double)file_len / 1e6, (double)file_len / (double)n, ROUNDS);
    printf("| form | builder ns/rec | builder state B/rec | scan ns/rec | hit ns | miss ns | "
           "walk ns/key | index B/rec | filter+pages B/rec "
           "|\n|---|---|---|---|---|---|---|---|---|\n");
    static const struct {
        const char *name;
        uint32_t exp;
        uint64_t cutoff;
    } forms[] = {{"exact", 14, UINT64_MAX},
                 {"paged 2^14", 14, 0},
                 {"paged 2^12", 12, 0},
                 {"paged 2^10", 10, 0}};
    for (int f = 0; f < 4; f++) {
        bdbi_index_params p = {
            .page_exponent = forms[f].exp, .cutoff_bytes = forms[f].cutoff, .seed = 42};
        double tb[ROUNDS], ts[ROUNDS], th[ROUNDS], tm[ROUNDS], tw[ROUNDS], state = 0;
        size_t bytes = 0, pbytes = 0;
        for (int r = 0; r < ROUNDS; r++) {
            bdbi_index *x, *y;
            tb[r] = build_builder(env, &p, &state, &x);
            ts[r] = build_scan(env, &p, &y);
            if (!bdbi_index_equal(x, y)) abort();
            size_t found;
            th[r] = lookups(x, hit, m, 0, &found);
            if (found != m) abort();
            tm[r] = lookups(x, miss, m, 0, &found);
            if (found) abort();
            tw[r] = lookups(x, walk, n, 1, &found);
            if (found != n) abort();
            bytes = bdbi_index_bytes(x);
            pbytes = bdbi_index_page_bytes(x);
            bdbi_index_free(env, x);
            bdbi_index_free(env, y);
        }
        printf("| %s | %.0f | %.1f | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f |\n", forms[f].name,
               median(tb, ROUNDS), state, median(ts, ROUNDS), median(th, ROUNDS),
               median(tm, ROUNDS), median(tw, ROUNDS), (double)bytes / (double)n,
               (double)pbytes / (double)n);
    }
    free(recs), free(present), free(absent), free(hit), free(miss), free(walk), free(file);
    return bdb_env_close(env) ? 1 : 0;
}
