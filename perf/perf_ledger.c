/* Ledger closes on the imported state, the same batches on each store,
 * and gets while a large merge runs (perf_list.h).
 *
 * A ledger changes sc->batch entries: 10% created (accounts and
 * trustlines no state ever held), 85% updated (distinct live keys, uniform), 5% deleted (accounts
 * and trustlines from the end of their key ranges, which no other
 * scenario updates). Mainnet ledgers change about one to a few thousand
 * entries. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen_archive.h"
#include "perf_list.h"

typedef struct batch {
    uint8_t *buf;
    size_t cap;
    bdb_bytes *init, *live, *dead; /* ours: LedgerEntry, LedgerEntry, LedgerKey */
    bdb_bytes *pk, *pv;            /* the peers': keys and values of init + live */
    size_t ni, nl, nd;
    uint64_t *seen; /* open addressing over live-key numbers, per batch */
    size_t seen_cap;
} batch;

static void batch_init(batch *b, size_t n)
{
    b->cap = n * (2 * GEN_KEY_MAX + 2048);
    b->buf = malloc(b->cap);
    b->init = malloc(n * sizeof *b->init);
    b->live = malloc(n * sizeof *b->live);
    b->dead = malloc(n * sizeof *b->dead);
    b->pk = malloc(n * sizeof *b->pk);
    b->pv = malloc(n * sizeof *b->pv);
    b->seen_cap = 4;
    while (b->seen_cap < 2 * n) b->seen_cap *= 2;
    b->seen = malloc(b->seen_cap * sizeof *b->seen);
    if (!b->buf || !b->init || !b->live || !b->dead || !b->pk || !b->pv || !b->seen)
        hx_die("out of memory");
}

static void batch_free(batch *b)
{
    free(b->buf), free(b->init), free(b->live), free(b->dead), free(b->pk), free(b->pv);
    free(b->seen);
}

/* Whether live key number i was already taken by this batch (records it). */
static int seen_add(batch *b, uint64_t i)
{
    size_t m = b->seen_cap - 1, h = (size_t)((i + 1) * 0x9e3779b97f4a7c15ull >> 20) & m;
    for (; b->seen[h]; h = (h + 1) & m)
        if (b->seen[h] == i + 1) return 1;
    b->seen[h] = i + 1;
    return 0;
}

/* The j-th ledger after the checkpoint (ledger L), the same for every
 * store. */
static void batch_make(const hx_lst *s, batch *b, uint32_t j, uint32_t L)
{
    size_t n = s->sc->batch, off = 0;
    b->ni = n / 10, b->nd = n / 20, b->nl = n - b->ni - b->nd;
    memset(b->seen, 0, b->seen_cap * sizeof *b->seen);
    uint64_t st = s->r->seed * 0x2545f4914f6cdd1dull + L, total = gen_total(s->g);
    size_t np = 0;
    for (size_t x = 0; x < b->ni + b->nl; x++) {
        int type;
        uint64_t slot;
        uint32_t version = 0;
        uint8_t *key = b->buf + off;
        size_t kl;
        if (x < b->ni) {
            /* the c-th created key: accounts and trustlines alternately,
             * at the never-existing slot after live key k, where k =
             * c/2 * (2^61 - 1) mod count is a bijection (the prime does
             * not divide the count), so no key is created twice and new
             * keys spread over the key space and shards */
            uint64_t c = (uint64_t)j * b->ni + x;
            type = c & 1 ? BDB_TRUSTLINE : BDB_ACCOUNT;
            uint64_t cnt = gen_count(s->g, type);
            if (c / 2 >= cnt) hx_die("too few keys for the creations");
            uint64_t k = (uint64_t)((unsigned __int128)(c / 2) * ((1ull << 61) - 1) % cnt);
            slot = GEN_SLOT(k, GEN_ABSENT2);
            kl = gen_key(s->g, type, slot, key);
        } else {
            for (;;) {
                uint64_t i = hx_rnd(&st) % total;
                hx_live_key(s, i, &type, &slot);
                uint64_t k = slot / 4;
                if (type == BDB_CONFIG_SETTING) continue;
                if ((type == BDB_ACCOUNT || type == BDB_TRUSTLINE) &&
                    k + s->reserve >= gen_count(s->g, type))
                    continue;
                if (!seen_add(b, i)) break;
            }
            kl = gen_key(s->g, type, slot, key);
            version = 2 + j;
        }
        off += kl;
        size_t vl = gen_entry(s->g, type, slot, version, L, b->buf + off, b->cap - off);
        if (vl > b->cap - off) hx_die("batch buffer too small");
        bdb_bytes e = {.data = b->buf + off, .len = vl};
        if (bdb_ledger_entry_check(e.data, e.len) < 0)
            hx_die("ledger %u: generated %s entry of type %d is invalid: %s", L,
                   x < b->ni ? "new" : "updated", type, bdb_errmsg());
        if (x < b->ni)
            b->init[x] = e;
        else
            b->live[x - b->ni] = e;
        b->pk[np] = (bdb_bytes){.data = key, .len = kl};
        b->pv[np++] = e;
        off += vl;
    }
    for (size_t x = 0; x < b->nd; x++) {
        uint64_t d = (uint64_t)j * b->nd + x;
        int type = d & 1 ? BDB_TRUSTLINE : BDB_ACCOUNT;
        uint64_t k = gen_count(s->g, type) - 1 - d / 2;
        size_t kl = gen_key(s->g, type, GEN_SLOT(k, GEN_LIVE), b->buf + off);
        b->dead[x] = (bdb_bytes){.data = b->buf + off, .len = kl};
        off += kl;
    }
}

static void add_batch(hx_lst *s, const batch *b, uint32_t L)
{
    /* from protocol 23 every ledger adds a hot-archive batch, even empty */
    hx_bdb_check(bdb_list_add_hot_batch(s->l, L, GEN_ARCHIVE_PROTOCOL, NULL, 0, NULL, 0),
                 "bdb_list_add_hot_batch");
    hx_bdb_check(bdb_list_add_batch(s->l, L, GEN_ARCHIVE_PROTOCOL, b->init, b->ni, b->live, b->nl,
                                    b->dead, b->nd),
                 "bdb_list_add_batch");
}

/* ledgers the whole run closes at most: the timed ones and those up to
 * the merge */
#define MERGE_REACH 2100

void hx_ledger_closes(hx_lst *s)
{
    uint32_t n = s->sc->ledgers, L0 = GEN_ARCHIVE_LEDGER;
    int rounds = s->sc->rounds;
    if (n < (uint32_t)rounds * 10) hx_die("too few ledgers for %d rounds", rounds);
    s->reserve = ((uint64_t)n + MERGE_REACH) * (s->sc->batch / 20) / 2 + 16;
    if (s->reserve * 4 > gen_count(s->g, BDB_ACCOUNT)) hx_die("too few accounts for the deletions");
    batch b;
    batch_init(&b, s->sc->batch);
    uint32_t *ns = malloc(n * sizeof *ns), *seg = malloc(n * sizeof *seg);
    if (!ns || !seg) hx_die("out of memory");
    double v[1 + HX_PEERS][3][HX_MAX_ROUNDS], drain = 0;
    for (int st = 0; st < 1 + HX_PEERS; st++) {
        if (st && !s->have[st - 1]) continue;
        fprintf(stderr, "list: %u ledger closes, %s\n", n, st ? hx_kv_name(st - 1) : "bucketdb");
        for (uint32_t j = 0; j < n; j++) {
            uint32_t L = L0 + 1 + j;
            batch_make(s, &b, j, L);
            uint64_t t0 = hx_now_ns();
            if (st == 0)
                add_batch(s, &b, L);
            else
                hx_kv_commit(s->kv[st - 1], b.pk, b.pv, b.ni + b.nl, b.dead, b.nd);
            uint64_t d = hx_now_ns() - t0;
            ns[j] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
        }
        if (st == 0) {
            uint64_t t0 = hx_now_ns();
            hx_bdb_check(bdb_list_wait_merges(s->l), "bdb_list_wait_merges");
            drain = (double)(hx_now_ns() - t0) * 1e-9;
        }
        /* rounds are consecutive segments of the run: the state moves on */
        uint32_t per = n / (uint32_t)rounds;
        for (int r = 0; r < rounds; r++) {
            memcpy(seg, ns + (size_t)r * per, per * sizeof *seg);
            qsort(seg, per, sizeof *seg, hx_cmp_u32);
            v[st][0][r] = hx_pct(seg, per, 50) / 1e6;
            v[st][1][r] = hx_pct(seg, per, 99) / 1e6;
            v[st][2][r] = hx_pct(seg, per, 100) / 1e6;
        }
        qsort(ns, n, sizeof *ns, hx_cmp_u32);
        hx_dist(s->r, "ledger-close-latency", st ? hx_kv_name(st - 1) : "bucketdb", ns, n);
    }
    static const char *const what[3] = {"p50", "p99", "max"};
    char cond[240];
    snprintf(cond, sizeof cond,
             "%u ledgers of %u entries (10%% created, 85%% updated, 5%% deleted), flat out, each "
             "commit durable (ours fsync on; RocksDB WAL sync; LMDB synced txn); merges / "
             "compactions in the background; %d segments",
             n, s->sc->batch, rounds);
    for (int m = 0; m < 3; m++) {
        char fig[96];
        snprintf(fig, sizeof fig, "ledger close (add_batch / commit) %s", what[m]);
        int any = 0;
        for (int p = 0; p < HX_PEERS; p++)
            if (s->have[p]) {
                hx_fig(s->r, "ledger closes", fig, "ms", HX_LOWER, v[0][m], rounds, hx_kv_name(p),
                       v[1 + p][m], rounds, cond);
                any = 1;
            }
        if (!any)
            hx_fig(s->r, "ledger closes", fig, "ms", HX_LOWER, v[0][m], rounds, NULL, NULL, 0,
                   cond);
    }
    hx_note(s->r, "ledger closes: bdb_list_wait_merges after the last ledger took %.2f s", drain);
    batch_free(&b);
    free(ns), free(seg);
}

/* ---- gets while the merges of a deep spill run ---- */

typedef struct mg {
    hx_lst *s;
    const hx_keys *ks;
    _Atomic int phase; /* 0 idle, 1 merging, 2 stop */
    _Atomic int ready; /* the warm-up pass is done */
    uint32_t *ns[2];
    size_t n[2], cap;
} mg;

static void *mg_reader(void *arg)
{
    mg *m = arg;
    bdb_list_view *v = bdb_list_view_acquire(m->s->l);
    /* one untimed pass first: the files the closes just wrote get mapped
     * and faulted in here, not in the idle figure */
    for (size_t j = 0; j < m->ks->n; j++) {
        bdb_list_entry e;
        hx_bdb_check(bdb_list_get(v, m->ks->k[j].data, m->ks->k[j].len, &e), "bdb_list_get");
    }
    atomic_store(&m->ready, 1);
    size_t i = 1;
    for (int ph; (ph = atomic_load(&m->phase)) < 2; i++) {
        if (i % 1000 == 0) {
            bdb_list_view_release(v);
            v = bdb_list_view_acquire(m->s->l);
        }
        const bdb_bytes *k = &m->ks->k[i % m->ks->n];
        bdb_list_entry e;
        uint64_t t0 = hx_now_ns();
        int rc = bdb_list_get(v, k->data, k->len, &e);
        uint64_t d = hx_now_ns() - t0;
        if (rc < 0) hx_bdb_check(rc, "bdb_list_get");
        if (m->n[ph] < m->cap) m->ns[ph][m->n[ph]++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    }
    bdb_list_view_release(v);
    return NULL;
}

void hx_merge_gets(hx_lst *s)
{
    uint32_t cur = GEN_ARCHIVE_LEDGER + s->sc->ledgers, target = 0, level = 0;
    /* the deepest spill within reach: its merges are the largest */
    for (uint32_t lv = 7; lv >= 2 && !target; lv--) {
        uint32_t h = bdb_level_half(lv), t = (cur / h + 1) * h;
        if (t - cur <= MERGE_REACH) target = t, level = lv;
    }
    if (!target) hx_die("no deep spill within reach");
    batch b;
    batch_init(&b, s->sc->batch);
    fprintf(stderr, "list: %u more ledgers to ledger %u, which spills levels 0..%u\n",
            target - 1 - cur, target, level);
    for (uint32_t L = cur + 1; L < target; L++) {
        batch_make(s, &b, L - GEN_ARCHIVE_LEDGER - 1, L);
        add_batch(s, &b, L);
    }
    hx_bdb_check(bdb_list_wait_merges(s->l), "bdb_list_wait_merges");
    hx_keys ks;
    hx_keys_make(s, &ks, s->sc->gets, HX_UNIFORM, s->r->seed * 77 + 3);
    mg m = {.s = s, .ks = &ks, .cap = (size_t)8 << 20};
    for (int p = 0; p < 2; p++)
        if (!(m.ns[p] = malloc(m.cap * sizeof *m.ns[p]))) hx_die("out of memory");
    pthread_t th;
    pthread_create(&th, NULL, mg_reader, &m);
    struct timespec idle = {1, 500000000}, tick = {0, 1000000};
    while (!atomic_load(&m.ready)) nanosleep(&tick, NULL);
    nanosleep(&idle, NULL);
    atomic_store(&m.phase, 1);
    batch_make(s, &b, target - GEN_ARCHIVE_LEDGER - 1, target);
    uint64_t t0 = hx_now_ns();
    add_batch(s, &b, target);
    hx_bdb_check(bdb_list_wait_merges(s->l), "bdb_list_wait_merges");
    double merge_s = (double)(hx_now_ns() - t0) * 1e-9;
    atomic_store(&m.phase, 2);
    pthread_join(th, NULL);
    double p50[2], p99[2];
    for (int p = 0; p < 2; p++) {
        qsort(m.ns[p], m.n[p], sizeof *m.ns[p], hx_cmp_u32);
        p50[p] = hx_pct(m.ns[p], m.n[p], 50) / 1000;
        p99[p] = hx_pct(m.ns[p], m.n[p], 99) / 1000;
    }
    hx_dist(s->r, "get-latency-merge", "bucketdb, idle", m.ns[0], m.n[0]);
    hx_dist(s->r, "get-latency-merge", "bucketdb, during the merges", m.ns[1], m.n[1]);
    char cond[240];
    snprintf(cond, sizeof cond,
             "one reader, uniform live keys (one untimed pass first), view re-acquired every 1,000 "
             "gets: 1.5 s idle, then "
             "ledger %u (spills levels 0..%u) until its merges end (%.2f s; %zu gets), pool of %u",
             target, level, merge_s, m.n[1], bdb_env_threads(s->env));
    hx_fig(s->r, "gets during a merge", "get p50 during the merges vs idle", "µs", HX_LOWER,
           &p50[1], 1, "idle (same store)", &p50[0], 1, cond);
    hx_fig(s->r, "gets during a merge", "get p99 during the merges vs idle", "µs", HX_LOWER,
           &p99[1], 1, "idle (same store)", &p99[0], 1, cond);
    free(m.ns[0]), free(m.ns[1]);
    hx_keys_free(&ks);
    batch_free(&b);
}
