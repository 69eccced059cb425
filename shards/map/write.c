/* The bucket map's writes: one writer per shard (its mutex), growth of
 * tables and data files, update, delete and the startup batch insert. */
#include "config.h"

#include "mshard.h"

#include <inttypes.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/rcu.h"

#define MAX_TABLE_BITS 40
#define DATA_MIN_CAP   32

/* Load limit of a table: 7/8 (Robin Hood keeps probes short up to there). */
static int over_load(uint64_t used, uint64_t cap)
{
    return used * 8 > cap * 7;
}

/* Takes one entry of max_size. Without a max_size nothing is counted: a
 * locked instruction per insert would stall the writer's pipeline (it
 * orders every later load after it) for a count nobody needs. */
static int reserve(bdb_map *m)
{
    if (!m->opts.max_size) return 0;
    uint64_t cur = atomic_load_explicit(&m->total, memory_order_relaxed);
    do {
        if (cur >= m->opts.max_size)
            return bdbi_err(BDB_EFULL, "bucket map: max_size %" PRIu64 " entries reached",
                            m->opts.max_size);
    } while (!atomic_compare_exchange_weak_explicit(&m->total, &cur, cur + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 0;
}

static void unreserve(bdb_map *m)
{
    if (m->opts.max_size) atomic_fetch_sub_explicit(&m->total, 1, memory_order_relaxed);
}

static int needs(bdb_map_need *need, int storage, uint32_t shard, unsigned cls, uint64_t cap)
{
    if (need) *need = (bdb_map_need){storage, shard, cls, cap};
    return bdbi_err(BDB_EAGAIN, "bucket map shard %" PRIu32 ": the %s must grow", shard,
                    storage == BDB_MAP_GROW_TABLE ? "table" : "data file");
}

static void add_mapped(bdbi_mshard *sh, uint64_t add, uint64_t sub)
{
    uint64_t v = atomic_load_explicit(&sh->mapped, memory_order_relaxed);
    atomic_store_explicit(&sh->mapped, v + add - sub, memory_order_relaxed);
}

/* Builds a table for the shard's entries (and its anticipated count) in a
 * new file, then publishes it; readers keep the old one until they leave.
 * A no-op if the table no longer has `seen_cap` cells. Under sh->mu. */
static int grow_table(bdb_map *m, uint32_t s, uint64_t seen_cap)
{
    bdbi_mshard *sh = &m->shards[s];
    bdbi_mtable *old = sh->table;
    if ((old ? old->cap : 0) != seen_cap) return 0;
    int rc = bdbi_mshard_mark_dirty(m, s);
    if (rc) return rc;
    uint64_t live = atomic_load_explicit(&sh->count, memory_order_relaxed);
    uint64_t target = live + 1 > sh->anticipated ? live + 1 : sh->anticipated;
    unsigned bits = old ? old->bits + 1 : BDBI_MTABLE_MIN_BITS;
    while (bits < MAX_TABLE_BITS && over_load(target, (uint64_t)1 << bits)) bits++;
    char path[4096], tmp[4200];
    for (;; bits++) {
        if (bits > MAX_TABLE_BITS)
            return bdbi_err(BDB_ENOMEM, "bucket map shard %" PRIu32 ": table beyond 2^%d cells", s,
                            MAX_TABLE_BITS);
        uint64_t gen = atomic_fetch_add(&m->next_gen, 1);
        bdbi_mfile_info info = bdbi_mshard_info(m, s, BDBI_MFILE_TABLE, gen);
        /* a growth keeps the shard's seed: the rebuild then streams */
        info.seed = old ? old->seed : m->opts.seed ? m->opts.seed : bdbi_random64(sh);
        if ((rc = bdbi_mshard_path(m, s, BDBI_MFILE_TABLE, gen, path, sizeof path)) != 0 ||
            (rc = bdbi_fs_tmp_name(m->env, path, "", tmp, sizeof tmp)) != 0)
            return rc;
        bdbi_mtable *nt;
        rc = bdbi_mtable_create(m->env, tmp, &m->L, bits, &info, &nt);
        if (rc) return rc;
        rc = old ? bdbi_mtable_rebuild(&m->L, old, nt) : 0;
        if (!rc) rc = bdbi_fs_rename(m->env, tmp, path);
        if (rc) {
            bdbi_mtable_free(nt);
            (void)bdbi_fs_unlink(m->env, tmp);
            if (rc == BDB_EAGAIN) continue; /* a window overflowed: bigger */
            return rc;
        }
        bdbi_rcu_xchg(sh->table, nt);
        if (old) {
            char old_path[4096];
            if (!bdbi_mshard_path(m, s, BDBI_MFILE_TABLE, old->gen, old_path, sizeof old_path))
                (void)bdbi_fs_unlink(m->env, old_path); /* readers keep their mapping */
            bdbi_mtable_free_rcu(old);
        }
        add_mapped(sh, nt->m.len, old ? old->m.len : 0);
        sh->anticipated = 0;
        sh->table_grows++;
        break;
    }
    if (m->opts.memory_budget) bdbi_map_enforce_budget(m, 0);
    return 0;
}

/* Creates class `cls`'s data file or doubles it. Under sh->mu. */
static int grow_data(bdb_map *m, uint32_t s, unsigned cls, uint64_t seen_cap)
{
    bdbi_mshard *sh = &m->shards[s];
    bdbi_mdata *old = sh->data[cls], *nd;
    if ((old ? old->cap : 0) != seen_cap) return 0;
    int rc = bdbi_mshard_mark_dirty(m, s);
    if (rc) return rc;
    char path[4096], tmp[4200];
    if (!old) {
        uint64_t gen = atomic_fetch_add(&m->next_gen, 1);
        bdbi_mfile_info info = bdbi_mshard_info(m, s, cls, gen);
        if ((rc = bdbi_mshard_path(m, s, cls, gen, path, sizeof path)) != 0 ||
            (rc = bdbi_fs_tmp_name(m->env, path, "", tmp, sizeof tmp)) != 0 ||
            (rc = bdbi_mdata_create(m->env, tmp, &m->L, cls, DATA_MIN_CAP, &info, &nd)) != 0)
            return rc;
        if ((rc = bdbi_fs_rename(m->env, tmp, path)) != 0) {
            bdbi_mdata_free(nd);
            (void)bdbi_fs_unlink(m->env, tmp);
            return rc;
        }
        sh->alloc[cls] = (bdbi_mdata_alloc){.gen = gen};
    } else {
        if (old->cap > BDBI_MS_MAX_IDX)
            return bdbi_err(BDB_ENOMEM, "bucket map shard %" PRIu32 ": data class %u is full", s,
                            cls);
        if ((rc = bdbi_mshard_path(m, s, cls, sh->alloc[cls].gen, path, sizeof path)) != 0 ||
            (rc = bdbi_mdata_extend(m->env, path, old, old->cap * 2, &nd)) != 0)
            return rc;
    }
    bdbi_rcu_xchg(sh->data[cls], nd);
    bdbi_mdata_free_rcu(old);
    add_mapped(sh, nd->m.len, old ? old->m.len : 0);
    sh->data_grows++;
    return 0;
}

static int can_take(const bdbi_mdata *d, const bdbi_mdata_alloc *a)
{
    return a->free_head || (a->high < d->cap && a->high <= BDBI_MS_MAX_IDX);
}

/* A key's hash under the seed of its shard's table, computed ahead. */
typedef struct bdbi_home {
    uint64_t seed, hash;
} bdbi_home;

/* Sets key's slot list; with `only_new`, returns 1 and changes nothing if
 * the key is present (one probe for the batch insert's duplicate check and
 * its insert). Under sh->mu. */
static int put_locked(bdb_map *m, uint32_t s, const void *key, const void *slots, size_t n,
                      uint64_t ref, int grow, int only_new, const bdbi_home *home,
                      bdb_map_need *need)
{
    bdbi_mshard *sh = &m->shards[s];
    const bdbi_mlayout *L = &m->L;
    if (!L->ref_counts) ref = 1;
    int use_data = n > 1 || ref != 1;
    unsigned cls = bdbi_mdata_class(n);
    int reserved = 0, rc = 0;
    bdbi_mprobe p;
    bdbi_mtable *t;
    for (;;) {
        t = sh->table;
        if (!t) {
            /* a shard's first table is its creation, not a growth: try_insert
             * makes it too, as Agave creates a bucket on its first write */
            rc = grow_table(m, s, 0);
            if (rc) break;
            continue;
        }
        uint64_t h = home && home->seed == t->seed ? home->hash : bdbi_mtable_hash(L, t->seed, key);
        bdbi_mtable_find(L, t, key, h, &p);
        if (p.found && only_new) break;
        if (!p.found && !reserved) {
            if ((rc = reserve(m)) != 0) break;
            reserved = 1;
        }
        uint64_t live = atomic_load_explicit(&sh->count, memory_order_relaxed);
        if (!p.found && (!p.fits || over_load(live + 1, t->cap))) {
            rc = grow ? grow_table(m, s, t->cap) : needs(need, BDB_MAP_GROW_TABLE, s, 0, t->cap);
            if (rc) break;
            continue;
        }
        if (use_data) {
            bdbi_mdata *d = sh->data[cls];
            if (!d || !can_take(d, &sh->alloc[cls])) {
                uint64_t cap = d ? d->cap : 0;
                rc = grow ? grow_data(m, s, cls, cap) : needs(need, BDB_MAP_GROW_DATA, s, cls, cap);
                if (rc) break;
                continue;
            }
        }
        rc = bdbi_mshard_mark_dirty(m, s);
        break;
    }
    if (rc) {
        if (reserved) unreserve(m);
        return rc;
    }
    if (p.found && only_new) return 1;
    uint64_t old = p.found ? bdbi_mtable_state(t, p.pos) : 0;
    unsigned dist = p.found ? BDBI_MS_DIST(old) : p.dist;
    if (use_data) {
        uint64_t idx;
        bdbi_mdata *d = sh->data[cls];
        (void)bdbi_mdata_take(d, &sh->alloc[cls], &idx);
        bdbi_mdata_write(L, d, idx, slots, n, ref);
        if (!p.found) bdbi_mtable_make_room(t, &p);
        bdbi_mtable_set_data(L, t, p.pos, key, !p.found, dist, cls, idx);
    } else {
        if (!p.found) bdbi_mtable_make_room(t, &p);
        bdbi_mtable_set_inline(L, t, p.pos, key, !p.found, dist, slots, n);
    }
    if (p.found && BDBI_MS_TAG(old) == BDBI_MS_DATA) {
        unsigned oc = BDBI_MS_CLS(old);
        bdbi_mdata_release(sh->data[oc], &sh->alloc[oc], BDBI_MS_IDX(old));
    }
    if (!p.found)
        atomic_store_explicit(&sh->count,
                              atomic_load_explicit(&sh->count, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    return 0;
}

static int delete_locked(bdb_map *m, uint32_t s, const void *key)
{
    bdbi_mshard *sh = &m->shards[s];
    bdbi_mtable *t = sh->table;
    if (!t) return 0;
    bdbi_mprobe p;
    bdbi_mtable_find(&m->L, t, key, bdbi_mtable_hash(&m->L, t->seed, key), &p);
    if (!p.found) return 0;
    int rc = bdbi_mshard_mark_dirty(m, s);
    if (rc) return rc;
    uint64_t old = bdbi_mtable_state(t, p.pos);
    bdbi_mtable_delete(t, p.pos);
    if (BDBI_MS_TAG(old) == BDBI_MS_DATA) {
        unsigned oc = BDBI_MS_CLS(old);
        bdbi_mdata_release(sh->data[oc], &sh->alloc[oc], BDBI_MS_IDX(old));
    }
    atomic_store_explicit(&sh->count, atomic_load_explicit(&sh->count, memory_order_relaxed) - 1,
                          memory_order_relaxed);
    unreserve(m);
    return 1;
}

static int check_write(const bdb_map *m, const void *key, const void *slots, size_t n)
{
    if (!m || !key) return bdbi_err(BDB_EINVAL, "bucket map: map or key is NULL");
    if (n > BDB_MAP_MAX_SLOTS)
        return bdbi_err(BDB_EINVAL, "slot list of %zu elements (at most %u)", n, BDB_MAP_MAX_SLOTS);
    if (n && !slots) return bdbi_err(BDB_EINVAL, "bucket map: slots is NULL");
    if (bdbi_map_in_callback) return bdbi_err(BDB_EBUSY, "bucket map write inside a callback");
    return 0;
}

static int put(bdb_map *m, const void *key, const void *slots, size_t n, uint64_t ref, int grow,
               bdb_map_need *need)
{
    int rc = check_write(m, key, slots, n);
    if (rc) return rc;
    uint32_t s = bdb_map_shard_of(m, key);
    bdbi_mshard *sh = &m->shards[s];
    pthread_mutex_lock(&sh->mu);
    bdbi_mshard_touch(m, sh);
    rc = put_locked(m, s, key, slots, n, ref, grow, 0, NULL, need);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

BDB_API int bdb_map_insert(bdb_map *m, const void *key, const void *slots, size_t n,
                           uint64_t ref_count)
{
    return put(m, key, slots, n, ref_count, 1, NULL);
}

BDB_API int bdb_map_try_insert(bdb_map *m, const void *key, const void *slots, size_t n,
                               uint64_t ref_count, bdb_map_need *need)
{
    return put(m, key, slots, n, ref_count, 0, need);
}

BDB_API int bdb_map_grow(bdb_map *m, const bdb_map_need *need)
{
    if (!m || !need || need->shard >= m->opts.max_buckets ||
        (need->storage != BDB_MAP_GROW_TABLE &&
         (need->storage != BDB_MAP_GROW_DATA || need->size_class >= BDBI_MAP_CLASSES)))
        return bdbi_err(BDB_EINVAL, "bdb_map_grow: bad need");
    if (bdbi_map_in_callback) return bdbi_err(BDB_EBUSY, "bucket map write inside a callback");
    bdbi_mshard *sh = &m->shards[need->shard];
    pthread_mutex_lock(&sh->mu);
    int rc = need->storage == BDB_MAP_GROW_TABLE
                 ? grow_table(m, need->shard, need->capacity)
                 : grow_data(m, need->shard, need->size_class, need->capacity);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

BDB_API int bdb_map_delete(bdb_map *m, const void *key)
{
    int rc = check_write(m, key, NULL, 0);
    if (rc) return rc;
    uint32_t s = bdb_map_shard_of(m, key);
    bdbi_mshard *sh = &m->shards[s];
    pthread_mutex_lock(&sh->mu);
    bdbi_mshard_touch(m, sh);
    rc = delete_locked(m, s, key);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* Reads key's value under the shard's lock into a buffer that grows. */
static int read_locked(bdb_map *m, uint32_t s, const void *key, uint8_t **buf, size_t *cap,
                       bdb_map_value *v)
{
    bdbi_mshard *sh = &m->shards[s];
    const bdbi_mtable *t = sh->table;
    if (!t) return 0;
    uint64_t h = bdbi_mtable_hash(&m->L, t->seed, key);
    size_t n;
    uint64_t ref;
    size_t elems = *cap / m->L.elem_size;
    int rc = bdbi_mtable_read(&m->L, t, sh->data, NULL, key, h, *buf, elems, &n, &ref);
    if (rc == 1 && n > elems) {
        size_t want = n * m->L.elem_size;
        uint8_t *nb = bdbi_malloc(m->env, BDB_MEM_MAP, want);
        if (!nb) return BDB_ENOMEM;
        if (*cap) bdbi_free(m->env, BDB_MEM_MAP, *buf, *cap);
        *buf = nb;
        *cap = want;
        rc = bdbi_mtable_read(&m->L, t, sh->data, NULL, key, h, *buf, n, &n, &ref);
    }
    /* never a NULL list, even an empty one: callers may memcmp it */
    if (rc == 1) *v = (bdb_map_value){*buf ? (const void *)*buf : (const void *)"", n, ref};
    return rc;
}

BDB_API int bdb_map_update(bdb_map *m, const void *key, bdb_map_update_fn fn, void *ctx)
{
    int rc = check_write(m, key, NULL, 0);
    if (rc) return rc;
    if (!fn) return bdbi_err(BDB_EINVAL, "bdb_map_update: fn is NULL");
    uint32_t s = bdb_map_shard_of(m, key);
    bdbi_mshard *sh = &m->shards[s];
    uint8_t *buf = NULL;
    size_t cap = 0;
    pthread_mutex_lock(&sh->mu);
    bdbi_mshard_touch(m, sh);
    bdb_map_value cur, out = {0};
    rc = read_locked(m, s, key, &buf, &cap, &cur);
    if (rc >= 0) {
        int present = rc == 1;
        bdbi_map_in_callback++;
        int r = fn(ctx, present ? &cur : NULL, &out);
        bdbi_map_in_callback--;
        if (r < 0)
            rc = r;
        else if (r == BDB_MAP_SET)
            rc = out.n > BDB_MAP_MAX_SLOTS || (out.n && !out.slots)
                     ? bdbi_err(BDB_EINVAL, "update callback returned a bad slot list")
                     : put_locked(m, s, key, out.slots, out.n, out.ref_count, 1, 0, NULL, NULL);
        else if (r == BDB_MAP_DELETE)
            rc = present ? delete_locked(m, s, key) : 0;
        else
            rc = bdbi_err(BDB_EINVAL, "update callback returned %d", r);
        if (rc > 0) rc = 0;
    }
    pthread_mutex_unlock(&sh->mu);
    if (cap) bdbi_free(m->env, BDB_MEM_MAP, buf, cap);
    return rc;
}

BDB_API int bdb_map_set_anticipated_count(bdb_map *m, uint32_t shard, uint64_t count)
{
    if (!m || (shard != BDB_MAP_ALL_SHARDS && shard >= m->opts.max_buckets))
        return bdbi_err(BDB_EINVAL, "bdb_map_set_anticipated_count: bad shard");
    uint32_t lo = shard == BDB_MAP_ALL_SHARDS ? 0 : shard;
    uint32_t hi = shard == BDB_MAP_ALL_SHARDS ? m->opts.max_buckets : shard + 1;
    uint64_t each = shard == BDB_MAP_ALL_SHARDS ? count / m->opts.max_buckets + 1 : count;
    for (uint32_t s = lo; s < hi; s++) {
        pthread_mutex_lock(&m->shards[s].mu);
        m->shards[s].anticipated = each;
        pthread_mutex_unlock(&m->shards[s].mu);
    }
    return 0;
}

/* ---- the startup batch ---- */

#define BATCH_AHEAD 16

/* Hashes a key of the batch under its shard's current table and asks for
 * its home cell. Under sh->mu. */
static inline void ahead(const bdb_map *m, const bdbi_mshard *sh, const void *key, bdbi_home *out)
{
    const bdbi_mtable *t = sh->table;
    out->seed = t->seed;
    out->hash = bdbi_mtable_hash(&m->L, t->seed, key);
    bdbi_mtable_prefetch(t, out->hash);
}

BDB_API int bdb_map_batch_insert_non_duplicates(bdb_map *m, const void *keys, const void *values,
                                                size_t n, size_t *dup_index, void *dup_values,
                                                size_t *n_dups)
{
    if (n_dups) *n_dups = 0;
    if (!m || (n && (!keys || !values)))
        return bdbi_err(BDB_EINVAL, "bdb_map_batch_insert_non_duplicates: NULL argument");
    if (bdbi_map_in_callback) return bdbi_err(BDB_EBUSY, "bucket map write inside a callback");
    if (!n) return 0;
    const uint8_t *k8 = keys, *v8 = values;
    size_t ks = m->L.key_size, es = m->L.elem_size;
    uint32_t shards = m->opts.max_buckets;
    /* input order within each shard (a stable counting sort), so the first
     * copy of a repeated key is the one stored */
    size_t *start = bdbi_calloc(m->env, BDB_MEM_MAP, (size_t)shards + 1, sizeof *start);
    size_t *order = bdbi_malloc(m->env, BDB_MEM_MAP, n * sizeof *order);
    uint64_t *dup = bdbi_calloc(m->env, BDB_MEM_MAP, (n + 63) / 64, 8);
    uint32_t *shard_of = bdbi_malloc(m->env, BDB_MEM_MAP, n * sizeof *shard_of);
    int rc = 0;
    if (!start || !order || !dup || !shard_of) {
        rc = BDB_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        shard_of[i] = bdb_map_shard_of(m, k8 + i * ks);
        start[shard_of[i] + 1]++;
    }
    for (uint32_t s = 0; s < shards; s++) start[s + 1] += start[s];
    for (size_t i = 0; i < n; i++) order[start[shard_of[i]]++] = i;
    for (uint32_t s = shards; s > 0; s--) start[s] = start[s - 1];
    start[0] = 0;
    for (uint32_t s = 0; s < shards && !rc; s++) {
        size_t lo = start[s], hi = start[s + 1];
        if (lo == hi) continue;
        bdbi_mshard *sh = &m->shards[s];
        pthread_mutex_lock(&sh->mu);
        bdbi_mshard_touch(m, sh);
        uint64_t want = atomic_load_explicit(&sh->count, memory_order_relaxed) + (hi - lo);
        if (want > sh->anticipated) sh->anticipated = want;
        /* grow first to the table the whole group fits in */
        const bdbi_mtable *t0 = sh->table;
        if (!t0 || over_load(want, t0->cap)) rc = grow_table(m, s, t0 ? t0->cap : 0);
        /* A software pipeline: the key BATCH_AHEAD places on is hashed and its
         * home cell prefetched, and the key twice as far is fetched, so the
         * misses of many inserts overlap instead of coming one at a time. */
        bdbi_home ring[BATCH_AHEAD];
        size_t j = lo;
        for (size_t a = j; !rc && a < hi && a < j + BATCH_AHEAD; a++)
            ahead(m, sh, k8 + order[a] * ks, &ring[a % BATCH_AHEAD]);
        for (; j < hi && !rc; j++) {
            size_t i = order[j];
            const uint8_t *key = k8 + i * ks;
            bdbi_home home = ring[j % BATCH_AHEAD];
            if (j + 2 * BATCH_AHEAD < hi) __builtin_prefetch(k8 + order[j + 2 * BATCH_AHEAD] * ks);
            if (j + BATCH_AHEAD < hi)
                ahead(m, sh, k8 + order[j + BATCH_AHEAD] * ks, &ring[j % BATCH_AHEAD]);
            int found = put_locked(m, s, key, v8 + i * es, 1, 1, 1, 1, &home, NULL);
            if (found < 0) {
                rc = found;
            } else if (found) {
                /* present: report its first element (zeros for an empty list) */
                dup[i / 64] |= (uint64_t)1 << (i % 64);
                if (dup_values) {
                    uint8_t first[BDB_MAP_MAX_ELEM];
                    size_t len = 0;
                    const bdbi_mtable *t = sh->table;
                    int r = bdbi_mtable_read(&m->L, t, sh->data, NULL, key,
                                             bdbi_mtable_hash(&m->L, t->seed, key), first, 1, &len,
                                             &(uint64_t){0});
                    if (r < 0) rc = r;
                    if (!len) memset(first, 0, es);
                    memcpy((uint8_t *)dup_values + i * es, first, es);
                }
            }
        }
        sh->anticipated = 0;
        pthread_mutex_unlock(&sh->mu);
    }
    if (!rc) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (!(dup[i / 64] >> (i % 64) & 1)) continue;
            if (dup_index) dup_index[k] = i;
            if (dup_values && k != i)
                memmove((uint8_t *)dup_values + k * es, (uint8_t *)dup_values + i * es, es);
            k++;
        }
        if (n_dups) *n_dups = k;
    }
out:
    if (start) bdbi_free(m->env, BDB_MEM_MAP, start, ((size_t)shards + 1) * sizeof *start);
    if (order) bdbi_free(m->env, BDB_MEM_MAP, order, n * sizeof *order);
    if (dup) bdbi_free(m->env, BDB_MEM_MAP, dup, (n + 63) / 64 * 8);
    if (shard_of) bdbi_free(m->env, BDB_MEM_MAP, shard_of, n * sizeof *shard_of);
    return rc;
}
