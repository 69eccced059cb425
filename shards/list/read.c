/* Point and bulk reads on a view (spec §9.2-9.3, §9.6): buckets newest
 * first, in each the file of the key's shard, through its entry cache,
 * filter and index; the first record found decides. Nothing here locks:
 * the view's references keep every bucket, mapping and index alive, and
 * caches are lock-free. */
#include "config.h"

#include "read.h"

#include <stdlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "xdr/ledger.h"
#include "xdr/record.h"

uint32_t bdbi_shard_of(const bdb_list *l, const uint8_t *sk, size_t sk_len)
{
    /* shard k holds [bounds[k-1], bounds[k]): count the bounds <= sk */
    uint32_t lo = 0, hi = l->n_shards - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (bdbi_sk_cmp(l->bounds[mid].data, l->bounds[mid].len, sk, sk_len) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const bdbi_lfile *bdbi_shard_file(const bdbi_lbucket *b, uint32_t shard)
{
    if (!b) return NULL;
    const bdbi_lrange *r = &b->ranges[shard];
    if (r->file < 0 || r->begin == r->end) return NULL;
    return &b->files[r->file];
}

int bdbi_record_at(const bdbi_lfile *lf, uint64_t off, const uint8_t **rec, size_t *len)
{
    size_t pos = (size_t)off;
    if (off >= lf->map.len ||
        bdbi_record_next(lf->map.data, lf->map.len, &pos, lf->name, 0, rec, len) != 0 || *len < 4)
        return bdbi_err_at(BDB_ECORRUPT, lf->name, (int64_t)off, "no record at a cached offset");
    return 0;
}

int bdbi_file_find(const bdbi_lfile *lf, int use_cache, bdbi_probe *p, size_t *cursor,
                   const uint8_t **rec, size_t *len)
{
    bdbi_cache *c = use_cache ? atomic_load_explicit(&lf->cache, memory_order_acquire) : NULL;
    uint8_t v[8];
    size_t vl;
    uint64_t off;
    /* the cache keeps the record's offset: the record itself is in the
     * mapping, so a hit costs one table probe and no page scan */
    if (c && bdbi_cache_lookup(c, p->key, p->key_len, v, sizeof v, &vl) == 1 && vl == sizeof v) {
        memcpy(&off, v, sizeof off);
        return bdbi_record_at(lf, off, rec, len) ? BDB_ECORRUPT : 1;
    }
    int rc = bdbi_index_lookup(lf->idx, lf->map.data, lf->map.len, p, cursor, rec, len, &off);
    if (rc < 0) return rc;
    if (rc == 1 && c) {
        memcpy(v, &off, sizeof off);
        (void)bdbi_cache_put(c, p->key, p->key_len, v, sizeof v); /* an optimisation only */
    }
    return rc;
}

int bdbi_key_cached(const bdb_list *l, int hot, const uint8_t *key, size_t len)
{
    if (hot || len < 4) return 0;
    uint32_t type = bdbi_be32(key);
    return type < 32 && (l->opts.cache_types & (1u << type));
}

void bdbi_entry_fill(const uint8_t *rec, size_t len, int level, int snap, bdb_list_entry *out)
{
    out->type = (int32_t)bdbi_be32(rec);
    out->data = rec + 4;
    out->len = len - 4;
    out->level = (uint8_t)level;
    out->snap = (uint8_t)snap;
}

/* The sort key of `key` into buf (cap bytes) or, if larger, a heap
 * buffer the caller frees with sk_free. */
static int sort_key(bdb_env *env, const void *key, size_t len, uint8_t *buf, size_t cap,
                    bdbi_sk_out *o)
{
    size_t need = BDB_SORT_KEY_BOUND(len);
    *o = (bdbi_sk_out){buf, 0, cap};
    if (need > cap) {
        o->p = bdbi_malloc(env, BDB_MEM_XDR, need);
        if (!o->p) return BDB_ENOMEM;
        o->cap = need;
    }
    return bdbi_sort_key(key, len, "key", 0, o);
}

static void sk_free(bdb_env *env, bdbi_sk_out *o, const uint8_t *buf)
{
    if (o->p != buf) bdbi_free(env, BDB_MEM_XDR, o->p, o->cap);
}

static int get_in(const bdb_list_view *v, int hot, const void *key, size_t key_len,
                  bdb_list_entry *out)
{
    memset(out, 0, sizeof *out);
    const bdb_list *l = v->list;
    uint8_t buf[512];
    bdbi_sk_out o;
    int rc = sort_key(l->env, key, key_len, buf, sizeof buf, &o);
    if (rc) {
        sk_free(l->env, &o, buf);
        return rc;
    }
    uint32_t shard = bdbi_shard_of(l, o.p, o.len);
    bdbi_probe p = {.key = key, .key_len = key_len, .sk = o.p, .sk_len = o.len};
    int use_cache = bdbi_key_cached(l, hot, key, key_len);
    int found = 0;
    /* Most lookups probe every level's index (an absent key always does):
     * touching them all first overlaps the cache misses that the loop
     * below would otherwise take one after another. */
    for (int i = 0; i < BDB_LIST_LEVELS; i++)
        for (int j = 0; j < 2; j++) {
            const bdbi_lfile *lf = bdbi_shard_file(hot ? v->hot[i][j] : v->live[i][j], shard);
            if (lf) bdbi_index_prefetch(lf->idx, &p);
        }
    for (int i = 0; i < BDB_LIST_LEVELS && !found; i++)
        for (int j = 0; j < 2 && !found; j++) {
            const bdbi_lfile *lf = bdbi_shard_file(hot ? v->hot[i][j] : v->live[i][j], shard);
            if (!lf) continue;
            const uint8_t *rec;
            size_t len;
            rc = bdbi_file_find(lf, use_cache, &p, NULL, &rec, &len);
            if (rc < 0) goto done;
            if (rc == 0) continue;
            found = 1;
            /* the newest record decides: a tombstone means absent */
            if (bdbi_record_is_key(hot, (int32_t)bdbi_be32(rec))) {
                rc = 0;
                goto done;
            }
            bdbi_entry_fill(rec, len, i, j, out);
        }
    rc = found;
done:
    sk_free(l->env, &o, buf);
    return rc;
}

BDB_API int bdb_list_get(const bdb_list_view *v, const void *key, size_t key_len,
                         bdb_list_entry *out)
{
    return get_in(v, 0, key, key_len, out);
}

BDB_API int bdb_list_hot_get(const bdb_list_view *v, const void *key, size_t key_len,
                             bdb_list_entry *out)
{
    return get_in(v, 1, key, key_len, out);
}

/* ---- bulk loads ---- */

typedef struct bulk_key {
    size_t idx;    /* in the caller's array */
    size_t sk_off; /* in the arena */
    uint32_t sk_len;
    uint32_t shard;
} bulk_key;

static _Thread_local const uint8_t *sort_arena;

static int bulk_cmp(const void *a, const void *b)
{
    const bulk_key *x = a, *y = b;
    int c = bdbi_sk_cmp(sort_arena + x->sk_off, x->sk_len, sort_arena + y->sk_off, y->sk_len);
    if (c) return c;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

int bdbi_get_many(const bdb_list_view *v, int hot, const bdb_bytes *keys, size_t n,
                  bdb_list_entry *out, size_t *found)
{
    const bdb_list *l = v->list;
    bdb_env *env = l->env;
    if (found) *found = 0;
    if (n == 0) return 0;
    memset(out, 0, n * sizeof *out);
    size_t arena_len = 0;
    for (size_t i = 0; i < n; i++) {
        if (keys[i].len > ((size_t)1 << 24))
            return bdbi_err(BDB_EFORMAT, "key %zu: %zu bytes is not a LedgerKey", i, keys[i].len);
        arena_len += BDB_SORT_KEY_BOUND(keys[i].len);
    }
    uint8_t *arena = bdbi_malloc(env, BDB_MEM_XDR, arena_len);
    bulk_key *ks = bdbi_malloc(env, BDB_MEM_XDR, n * sizeof *ks);
    size_t *pend = bdbi_malloc(env, BDB_MEM_XDR, n * sizeof *pend);
    int rc = arena && ks && pend ? 0 : BDB_ENOMEM;
    size_t used = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        bdbi_sk_out o = {arena + used, 0, arena_len - used};
        rc = bdbi_sort_key(keys[i].data, keys[i].len, "key", 0, &o);
        if (rc) {
            rc = bdbi_err(rc, "key %zu: %s", i, bdb_errmsg());
            break;
        }
        ks[i] = (bulk_key){i, used, (uint32_t)o.len, bdbi_shard_of(l, o.p, o.len)};
        used += o.len;
    }
    size_t np = 0, nfound = 0;
    if (!rc) {
        sort_arena = arena;
        qsort(ks, n, sizeof *ks, bulk_cmp);
        /* duplicates are looked up once (their first occurrence) */
        for (size_t i = 0; i < n; i++)
            if (i == 0 || bdbi_sk_cmp(arena + ks[i].sk_off, ks[i].sk_len, arena + ks[i - 1].sk_off,
                                      ks[i - 1].sk_len) != 0)
                pend[np++] = i;
    }
    for (int lvl = 0; !rc && np && lvl < BDB_LIST_LEVELS * 2; lvl++) {
        const bdbi_lbucket *b = hot ? v->hot[lvl / 2][lvl % 2] : v->live[lvl / 2][lvl % 2];
        if (!b) continue;
        const bdbi_lfile *cur = NULL;
        size_t cursor = 0, keep = 0;
        for (size_t q = 0; q < np; q++) {
            const bulk_key *k = &ks[pend[q]];
            const bdbi_lfile *lf = bdbi_shard_file(b, k->shard);
            int hit = 0;
            if (lf) {
                if (lf != cur) cursor = 0; /* keys advance file by file */
                cur = lf;
                const bdb_bytes *key = &keys[k->idx];
                bdbi_probe p = {.key = key->data,
                                .key_len = key->len,
                                .sk = arena + k->sk_off,
                                .sk_len = k->sk_len};
                const uint8_t *rec;
                size_t len;
                hit = bdbi_file_find(lf, bdbi_key_cached(l, hot, key->data, key->len), &p, &cursor,
                                     &rec, &len);
                if (hit < 0) {
                    rc = hit;
                    break;
                }
                if (hit && !bdbi_record_is_key(hot, (int32_t)bdbi_be32(rec))) {
                    bdbi_entry_fill(rec, len, lvl / 2, lvl % 2, &out[k->idx]);
                    nfound++;
                }
            }
            if (!hit) pend[keep++] = pend[q];
        }
        np = keep;
    }
    /* duplicates share their first occurrence's answer */
    for (size_t i = 1; !rc && i < n; i++)
        if (bdbi_sk_cmp(arena + ks[i].sk_off, ks[i].sk_len, arena + ks[i - 1].sk_off,
                        ks[i - 1].sk_len) == 0) {
            out[ks[i].idx] = out[ks[i - 1].idx];
            if (out[ks[i].idx].data) nfound++;
        }
    if (arena) bdbi_free(env, BDB_MEM_XDR, arena, arena_len);
    if (ks) bdbi_free(env, BDB_MEM_XDR, ks, n * sizeof *ks);
    if (pend) bdbi_free(env, BDB_MEM_XDR, pend, n * sizeof *pend);
    if (rc) {
        memset(out, 0, n * sizeof *out);
        return rc;
    }
    if (found) *found = nfound;
    return 0;
}

BDB_API int bdb_list_get_many(const bdb_list_view *v, const bdb_bytes *keys, size_t n,
                              bdb_list_entry *out, size_t *found)
{
    return bdbi_get_many(v, 0, keys, n, out, found);
}

BDB_API int bdb_list_hot_get_many(const bdb_list_view *v, const bdb_bytes *keys, size_t n,
                                  bdb_list_entry *out, size_t *found)
{
    return bdbi_get_many(v, 1, keys, n, out, found);
}
