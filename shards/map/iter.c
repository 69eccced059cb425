/* Iteration over a bucket map: shard by shard, each under its writer
 * lock, so a shard is seen in one consistent state. */
#include "config.h"

#include "mshard.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

#define KEY_OFF 8

typedef struct iter {
    bdb_map *m;
    const void *lo, *hi;
    int flags;
    bdb_map_visit_fn fn;
    void *ctx;
    uint8_t *buf;
    size_t cap;
} iter;

static int in_range(const iter *it, const uint8_t *key)
{
    size_t ks = it->m->L.key_size;
    if (it->lo && memcmp(key, it->lo, ks) < 0) return 0;
    if (it->hi && memcmp(key, it->hi, ks) >= 0) return 0;
    return 1;
}

/* The slot list of a live cell, into it->buf. Under the shard's lock. */
static int value_of(iter *it, const bdbi_mshard *sh, const uint8_t *cell, uint64_t s,
                    bdb_map_value *v)
{
    const bdbi_mlayout *L = &it->m->L;
    if (BDBI_MS_TAG(s) == BDBI_MS_INLINE) {
        *v = (bdb_map_value){cell + KEY_OFF + L->key_pad, (s & BDBI_MS_ONE) ? 1 : 0, 1};
        return 0;
    }
    unsigned cls = BDBI_MS_CLS(s);
    const bdbi_mdata *d = cls < BDBI_MAP_CLASSES ? sh->data[cls] : NULL;
    if (!d || BDBI_MS_IDX(s) >= d->cap)
        return bdbi_err(BDB_ECORRUPT, "bucket map: a cell names a missing data cell");
    const uint8_t *dc = bdbi_mdata_cell(d, BDBI_MS_IDX(s));
    uint64_t n = bdbi_ld(dc) >> 1;
    if (n > ((uint64_t)1 << cls))
        return bdbi_err(BDB_ECORRUPT, "bucket map: a slot list longer than its class");
    /* the cells are 8-aligned but elements need not be: copy out */
    size_t bytes = (size_t)n * L->elem_size;
    if (bytes > it->cap) {
        uint8_t *nb = bdbi_malloc(it->m->env, BDB_MEM_MAP, bytes);
        if (!nb) return BDB_ENOMEM;
        if (it->cap) bdbi_free(it->m->env, BDB_MEM_MAP, it->buf, it->cap);
        it->buf = nb;
        it->cap = bytes;
    }
    if (bytes) memcpy(it->buf, dc + 16, bytes);
    *v = (bdb_map_value){it->buf ? (const void *)it->buf : (const void *)"", (size_t)n,
                         bdbi_ld(dc + 8)};
    return 0;
}

static int visit_shard(iter *it, uint32_t s)
{
    bdb_map *m = it->m;
    bdbi_mshard *sh = &m->shards[s];
    pthread_mutex_lock(&sh->mu);
    int rc = 0;
    const bdbi_mtable *t = sh->table;
    uint8_t key[BDB_MAP_MAX_KEY];
    for (uint64_t i = 0; t && i < t->cap && !rc; i++) {
        const uint8_t *cell = bdbi_mtable_cell(t, i);
        uint64_t st = bdbi_ld(cell);
        unsigned tag = BDBI_MS_TAG(st);
        if (tag != BDBI_MS_INLINE && tag != BDBI_MS_DATA) continue;
        memcpy(key, cell + KEY_OFF, m->L.key_size);
        if (!in_range(it, key)) continue;
        bdb_map_value v;
        if (!(it->flags & BDB_MAP_KEYS_ONLY) && (rc = value_of(it, sh, cell, st, &v)) != 0) break;
        bdbi_map_in_callback++;
        rc = it->fn(it->ctx, key, (it->flags & BDB_MAP_KEYS_ONLY) ? NULL : &v);
        bdbi_map_in_callback--;
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

BDB_API int bdb_map_iterate(bdb_map *m, uint32_t shard, const void *lo, const void *hi, int flags,
                            bdb_map_visit_fn fn, void *ctx)
{
    if (!m || !fn || (shard != BDB_MAP_ALL_SHARDS && shard >= m->opts.max_buckets))
        return bdbi_err(BDB_EINVAL, "bdb_map_iterate: bad map, shard or callback");
    uint32_t first = shard == BDB_MAP_ALL_SHARDS ? 0 : shard;
    uint32_t last = shard == BDB_MAP_ALL_SHARDS ? m->opts.max_buckets - 1 : shard;
    if (m->L.key_size == 32 && shard == BDB_MAP_ALL_SHARDS) {
        /* shards hold key prefixes in order: those before lo's and after
         * hi's hold no key of the range */
        if (lo) first = bdb_map_shard_of(m, lo);
        if (hi) last = bdb_map_shard_of(m, hi);
    }
    iter it = {m, lo, hi, flags, fn, ctx, NULL, 0};
    int rc = 0;
    for (uint32_t s = first; s <= last && !rc; s++) rc = visit_shard(&it, s);
    if (it.cap) bdbi_free(m->env, BDB_MEM_MAP, it.buf, it.cap);
    return rc;
}
