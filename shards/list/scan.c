/* Reads that walk whole types (spec §9.4): scans of one type, with all
 * versions or only the newest live one per key, pool-share trustlines by
 * asset, inflation winners, and the summed entry counters and read-side
 * statistics of a view. A type's records are contiguous in every file
 * (keys sort by type first), so each file is entered at its index's
 * type range. */
#include "config.h"

#include "read.h"

#include <stdlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"
#include "xdr/ledger.h"
#include "xdr/record.h"

/* LedgerEntryType of a record's entry or key; -1 if too short. */
static int record_type(int hot, const uint8_t *rec, size_t len)
{
    if (bdbi_record_is_key(hot, (int32_t)bdbi_be32(rec)))
        return len >= 8 ? (int)bdbi_be32(rec + 4) : -1;
    return len >= 12 ? (int)bdbi_be32(rec + 8) : -1;
}

/* One bucket's records of one type, file after file. */
typedef struct bscan {
    const bdbi_lbucket *b;
    int hot, type, level, snap;
    uint32_t f;
    const bdbi_lfile *lf;
    size_t pos, end;
    const uint8_t *rec; /* current record, NULL at the end */
    size_t len;
    uint8_t *sk; /* its sort key (merges only) */
    size_t sk_len, sk_cap;
} bscan;

static int bscan_next(bdb_env *env, bscan *s, int want_sk)
{
    for (;;) {
        if (s->pos >= s->end) {
            if (s->f >= s->b->n_files) {
                s->rec = NULL;
                return 0;
            }
            s->lf = &s->b->files[s->f++];
            uint64_t begin, end;
            if (!bdbi_index_type_range(s->lf->idx, s->type, &begin, &end)) continue;
            s->pos = (size_t)begin;
            s->end = end > s->lf->map.len ? s->lf->map.len : (size_t)end;
            continue;
        }
        size_t at = s->pos;
        int rc =
            bdbi_record_next(s->lf->map.data, s->end, &s->pos, s->lf->name, 0, &s->rec, &s->len);
        if (!rc && record_type(s->hot, s->rec, s->len) != s->type)
            rc = bdbi_err_at(BDB_ECORRUPT, s->lf->name, (int64_t)at,
                             "record outside its type's range in the index");
        if (rc) return s->rec = NULL, BDB_ECORRUPT;
        if (!want_sk) return 1;
        size_t need = BDB_SORT_KEY_BOUND(s->len);
        if (need > s->sk_cap) {
            uint8_t *p = bdbi_realloc(env, BDB_MEM_XDR, s->sk, s->sk_cap, need);
            if (!p) return s->rec = NULL, BDB_ENOMEM;
            s->sk = p;
            s->sk_cap = need;
        }
        bdbi_sk_out o = {s->sk, 0, s->sk_cap};
        rc = bdbi_record_sort_key(s->hot, (int32_t)bdbi_be32(s->rec), s->rec + 4, s->len - 4,
                                  s->lf->name, (int64_t)at + 8, &o);
        if (rc) return s->rec = NULL, BDB_ECORRUPT;
        s->sk_len = o.len;
        return 1;
    }
}

static int check_type(int type)
{
    if (type < BDB_ACCOUNT || type > BDB_TTL)
        return bdbi_err(BDB_EINVAL, "%d is not a LedgerEntryType", type);
    return 0;
}

BDB_API int bdb_list_scan_type(const bdb_list_view *v, int type, bdb_list_scan_fn fn, void *ctx)
{
    int rc = check_type(type);
    for (int i = 0; !rc && i < 2 * BDB_LIST_LEVELS; i++) {
        bscan s = {.b = v->live[i / 2][i % 2], .type = type, .level = i / 2, .snap = i % 2};
        if (!s.b) continue;
        while ((rc = bscan_next(v->list->env, &s, 0)) == 1) {
            bdb_list_entry e;
            bdbi_entry_fill(0, s.rec, s.len, s.level, s.snap, &e);
            if ((rc = fn(ctx, &e)) != 0) return rc;
        }
    }
    return rc;
}

BDB_API int bdb_list_scan_live_type(const bdb_list_view *v, int type, bdb_list_scan_fn fn,
                                    void *ctx)
{
    int rc = check_type(type);
    if (rc) return rc;
    bdb_env *env = v->list->env;
    bscan its[2 * BDB_LIST_LEVELS];
    int n = 0;
    for (int i = 0; !rc && i < 2 * BDB_LIST_LEVELS; i++) {
        if (!v->live[i / 2][i % 2]) continue;
        its[n] = (bscan){.b = v->live[i / 2][i % 2], .type = type, .level = i / 2, .snap = i % 2};
        if ((rc = bscan_next(env, &its[n], 1)) < 0) break;
        n++;
        rc = 0;
    }
    /* a k-way merge: iterators are ordered newest first, so the first with
     * the smallest key holds that key's newest record */
    while (!rc) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (its[i].rec && (best < 0 || bdbi_sk_cmp(its[i].sk, its[i].sk_len, its[best].sk,
                                                       its[best].sk_len) < 0))
                best = i;
        if (best < 0) break;
        bscan *w = &its[best];
        if (!bdbi_record_is_key(0, (int32_t)bdbi_be32(w->rec))) {
            bdb_list_entry e;
            bdbi_entry_fill(0, w->rec, w->len, w->level, w->snap, &e);
            if ((rc = fn(ctx, &e)) != 0) break;
        }
        for (int i = 0; i < n && !rc; i++)
            if (i != best && its[i].rec &&
                bdbi_sk_cmp(its[i].sk, its[i].sk_len, w->sk, w->sk_len) == 0 &&
                (rc = bscan_next(env, &its[i], 1)) > 0)
                rc = 0;
        if (!rc && (rc = bscan_next(env, w, 1)) > 0) rc = 0;
    }
    for (int i = 0; i < n; i++) bdbi_free(env, BDB_MEM_XDR, its[i].sk, its[i].sk_cap);
    return rc;
}

/* ---- pool-share trustlines ---- */

static int check_account(const uint8_t *a, size_t len)
{
    if (len != 36 || bdbi_be32(a) != 0)
        return bdbi_err(BDB_EFORMAT, "account: not an AccountID (36 bytes, ed25519)");
    return 0;
}

static int check_asset(const uint8_t *a, size_t len)
{
    uint32_t t = len >= 4 ? bdbi_be32(a) : 99;
    size_t want = t == 0 ? 4 : t == 1 ? 44 : t == 2 ? 52 : 0;
    if (!want || len != want || (t && bdbi_be32(a + want - 36) != 0))
        return bdbi_err(BDB_EFORMAT, "asset: not an Asset (native, alphanum4 or alphanum12)");
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

BDB_API int bdb_list_pool_share_trustlines(const bdb_list_view *v, const void *account,
                                           size_t account_len, const void *asset, size_t asset_len,
                                           bdb_list_scan_fn fn, void *ctx)
{
    int rc = check_account(account, account_len);
    if (!rc) rc = check_asset(asset, asset_len);
    if (rc) return rc;
    bdb_env *env = v->list->env;
    uint8_t(*ids)[32] = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; !rc && i < 2 * BDB_LIST_LEVELS; i++) {
        const bdbi_lbucket *b = v->live[i / 2][i % 2];
        for (uint32_t f = 0; b && !rc && f < b->n_files; f++) {
            size_t k;
            const uint8_t(*p)[32] = bdbi_index_pools(b->files[f].idx, asset, asset_len, &k);
            if (!k) continue;
            if (n + k > cap) {
                size_t nc = cap ? cap * 2 : 16;
                while (nc < n + k) nc *= 2;
                void *q = bdbi_realloc(env, BDB_MEM_XDR, ids, cap * 32, nc * 32);
                if (!q) {
                    rc = BDB_ENOMEM;
                    break;
                }
                ids = q;
                cap = nc;
            }
            memcpy(ids[n], p, k * 32);
            n += k;
        }
    }
    size_t u = 0;
    if (!rc && n) {
        qsort(ids, n, 32, cmp_id);
        for (size_t i = 0; i < n; i++)
            if (!u || memcmp(ids[u - 1], ids[i], 32) != 0) memmove(ids[u++], ids[i], 32);
    }
    /* TRUSTLINE {account, POOL_SHARE poolID}: ascending pool IDs are
     * ascending keys */
    enum { KL = 4 + 36 + 4 + 32 };
    uint8_t *kb = u ? bdbi_malloc(env, BDB_MEM_XDR, u * KL) : NULL;
    bdb_bytes *keys = u ? bdbi_malloc(env, BDB_MEM_XDR, u * sizeof *keys) : NULL;
    bdb_list_entry *out = u ? bdbi_malloc(env, BDB_MEM_XDR, u * sizeof *out) : NULL;
    if (u && (!kb || !keys || !out)) rc = BDB_ENOMEM;
    for (size_t i = 0; !rc && i < u; i++) {
        uint8_t *k = kb + i * KL;
        bdbi_put_be32(k, BDB_TRUSTLINE);
        memcpy(k + 4, account, 36);
        bdbi_put_be32(k + 40, 3); /* ASSET_TYPE_POOL_SHARE */
        memcpy(k + 44, ids[i], 32);
        keys[i] = (bdb_bytes){k, KL};
    }
    if (!rc && u) rc = bdbi_get_many(v, 0, keys, u, out, NULL);
    for (size_t i = 0; !rc && i < u; i++)
        if (out[i].data) rc = fn(ctx, &out[i]);
    if (ids) bdbi_free(env, BDB_MEM_XDR, ids, cap * 32);
    if (kb) bdbi_free(env, BDB_MEM_XDR, kb, u * KL);
    if (keys) bdbi_free(env, BDB_MEM_XDR, keys, u * sizeof *keys);
    if (out) bdbi_free(env, BDB_MEM_XDR, out, u * sizeof *out);
    return rc;
}

/* ---- inflation winners ---- */

/* A small open-addressing map of 32-byte account keys to int64 (votes;
 * -1 marks a key only seen). */
typedef struct acct_map {
    bdb_env *env;
    uint8_t (*k)[32];
    int64_t *v;
    uint8_t *used;
    size_t cap, n;
} acct_map;

static int am_grow(acct_map *m)
{
    size_t nc = m->cap ? m->cap * 2 : 1024;
    acct_map g = {m->env,
                  bdbi_malloc(m->env, BDB_MEM_XDR, nc * 32),
                  bdbi_malloc(m->env, BDB_MEM_XDR, nc * sizeof(int64_t)),
                  bdbi_calloc(m->env, BDB_MEM_XDR, nc, 1),
                  nc,
                  0};
    if (!g.k || !g.v || !g.used) {
        if (g.k) bdbi_free(m->env, BDB_MEM_XDR, g.k, nc * 32);
        if (g.v) bdbi_free(m->env, BDB_MEM_XDR, g.v, nc * sizeof(int64_t));
        if (g.used) bdbi_free(m->env, BDB_MEM_XDR, g.used, nc);
        return BDB_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->used[i]) {
            size_t s = bdbi_hash64(m->k[i], 32, 0) & (nc - 1);
            while (g.used[s]) s = (s + 1) & (nc - 1);
            g.used[s] = 1;
            memcpy(g.k[s], m->k[i], 32);
            g.v[s] = m->v[i];
            g.n++;
        }
    if (m->cap) {
        bdbi_free(m->env, BDB_MEM_XDR, m->k, m->cap * 32);
        bdbi_free(m->env, BDB_MEM_XDR, m->v, m->cap * sizeof(int64_t));
        bdbi_free(m->env, BDB_MEM_XDR, m->used, m->cap);
    }
    *m = g;
    return 0;
}

/* The slot of key (inserted with value `init` if new; *isnew says). */
static int64_t *am_slot(acct_map *m, const uint8_t *key, int64_t init, int *isnew)
{
    if (2 * (m->n + 1) > m->cap && am_grow(m) != 0) return NULL;
    size_t s = bdbi_hash64(key, 32, 0) & (m->cap - 1);
    while (m->used[s]) {
        if (memcmp(m->k[s], key, 32) == 0) {
            *isnew = 0;
            return &m->v[s];
        }
        s = (s + 1) & (m->cap - 1);
    }
    m->used[s] = 1;
    memcpy(m->k[s], key, 32);
    m->v[s] = init;
    m->n++;
    *isnew = 1;
    return &m->v[s];
}

static void am_free(acct_map *m)
{
    if (!m->cap) return;
    bdbi_free(m->env, BDB_MEM_XDR, m->k, m->cap * 32);
    bdbi_free(m->env, BDB_MEM_XDR, m->v, m->cap * sizeof(int64_t));
    bdbi_free(m->env, BDB_MEM_XDR, m->used, m->cap);
}

static int winner_cmp(const void *a, const void *b)
{
    const bdb_inflation_winner *x = a, *y = b;
    if (x->votes != y->votes) return x->votes > y->votes ? -1 : 1;
    return memcmp(x->account, y->account, 32);
}

BDB_API int bdb_list_inflation_winners(const bdb_list_view *v, size_t max_winners,
                                       int64_t min_balance, bdb_inflation_winner *out, size_t cap,
                                       size_t *n)
{
    *n = 0;
    bdb_env *env = v->list->env;
    acct_map seen = {.env = env}, votes = {.env = env};
    int rc = 0;
    for (int i = 0; !rc && i < 2 * BDB_LIST_LEVELS; i++) {
        bscan s = {.b = v->live[i / 2][i % 2], .type = BDB_ACCOUNT, .level = i / 2, .snap = i % 2};
        if (!s.b) continue;
        while (!rc && (rc = bscan_next(env, &s, 0)) == 1) {
            rc = 0;
            int dead = bdbi_record_is_key(0, (int32_t)bdbi_be32(s.rec)), isnew;
            /* DEAD: type, LedgerKey type, AccountID; LIVE: type,
             * lastModified, data type, AccountEntry {accountID, balance,
             * seqNum, numSubEntries, inflationDest*, ...} */
            size_t need = dead ? 4 + 4 + 36 : 4 + 4 + 4 + 36 + 8 + 8 + 4 + 4;
            if (s.len < need) {
                rc = bdbi_err_at(BDB_ECORRUPT, s.lf->name, -1, "short ACCOUNT record");
                break;
            }
            const uint8_t *id = s.rec + (dead ? 12 : 16);
            if (!am_slot(&seen, id, 0, &isnew)) {
                rc = BDB_ENOMEM;
                break;
            }
            if (dead || !isnew) continue; /* only the newest version counts */
            int64_t balance = (int64_t)bdbi_be64(s.rec + 48);
            int has_dest = bdbi_be32(s.rec + 68) != 0;
            if (!has_dest || balance < 1000000000) continue;
            if (s.len < 72 + 36) {
                rc = bdbi_err_at(BDB_ECORRUPT, s.lf->name, -1, "short ACCOUNT record");
                break;
            }
            int64_t *vp = am_slot(&votes, s.rec + 76, 0, &isnew);
            if (!vp) {
                rc = BDB_ENOMEM;
                break;
            }
            *vp += balance;
        }
    }
    size_t m = 0;
    bdb_inflation_winner *all = NULL;
    if (!rc && votes.n) {
        all = bdbi_malloc(env, BDB_MEM_XDR, votes.n * sizeof *all);
        if (!all) rc = BDB_ENOMEM;
        for (size_t i = 0; !rc && i < votes.cap; i++)
            if (votes.used[i] && votes.v[i] >= min_balance) {
                memcpy(all[m].account, votes.k[i], 32);
                all[m++].votes = votes.v[i];
            }
        if (!rc) qsort(all, m, sizeof *all, winner_cmp);
        if (m > max_winners) m = max_winners;
        if (!rc && m > cap) rc = bdbi_err(BDB_EINVAL, "%zu winners; room for %zu", m, cap);
        if (!rc) memcpy(out, all, m * sizeof *all);
    }
    if (all) bdbi_free(env, BDB_MEM_XDR, all, votes.n * sizeof *all);
    am_free(&seen);
    am_free(&votes);
    *n = m;
    return rc;
}

/* ---- counters and statistics ---- */

BDB_API void bdb_list_entry_counters(const bdb_list_view *v, int hot, bdb_entry_counters *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 2 * BDB_LIST_LEVELS; i++) {
        const bdbi_lbucket *b = hot ? v->hot[i / 2][i % 2] : v->live[i / 2][i % 2];
        for (uint32_t f = 0; b && f < b->n_files; f++) {
            const bdbi_entry_counters *c = bdbi_index_counters(b->files[f].idx);
            for (int k = 0; k < BDBI_INDEX_COUNTER_KINDS; k++) {
                out->count[k] += c->count[k];
                out->bytes[k] += c->bytes[k];
            }
        }
    }
}

BDB_API void bdb_list_read_stats_get(const bdb_list_view *v, bdb_list_read_stats *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 4 * BDB_LIST_LEVELS; i++) {
        int hot = i >= 2 * BDB_LIST_LEVELS, k = i % (2 * BDB_LIST_LEVELS);
        const bdbi_lbucket *b = hot ? v->hot[k / 2][k % 2] : v->live[k / 2][k % 2];
        for (uint32_t f = 0; b && f < b->n_files; f++) {
            const bdbi_lfile *lf = &b->files[f];
            int paged = bdbi_index_form(lf->idx) != 0;
            out->files_paged += paged;
            out->files_exact += !paged;
            *(paged ? &out->records_paged : &out->records_exact) += bdbi_index_records(lf->idx);
            out->index_bytes += bdbi_index_bytes(lf->idx);
            out->page_index_bytes += bdbi_index_page_bytes(lf->idx);
            bdbi_cache *c = atomic_load_explicit(&((bdbi_lfile *)lf)->cache, memory_order_acquire);
            if (!c) continue;
            bdbi_cache_stats cs;
            bdbi_cache_stats_get(c, &cs);
            out->cache_bytes += bdbi_cache_bytes(c);
            out->cache_capacity += cs.capacity;
            out->cache_entries += cs.entries;
            out->cache_hits += cs.hits;
            out->cache_misses += cs.misses;
        }
    }
}
