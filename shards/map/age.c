/* Ages, the memory budget and statistics of the bucket map. A shard is
 * touched by every read and write (two relaxed loads, a store only when
 * the age moved); releasing a shard asks the kernel to drop its mapped
 * pages, which come back from the files on the next access. */
#include "config.h"

#include "mshard.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rcu.h"

static void release_shard(bdb_map *m, bdbi_mshard *sh)
{
    bdbi_rcu_read_lock();
    const bdbi_mtable *t = bdbi_rcu_deref(sh->table);
    if (t) bdbi_rwmap_release(&t->m);
    for (unsigned c = 0; c < BDBI_MAP_CLASSES; c++) {
        const bdbi_mdata *d = bdbi_rcu_deref(sh->data[c]);
        if (d) bdbi_rwmap_release(&d->m);
    }
    bdbi_rcu_read_unlock();
    atomic_store_explicit(&sh->released, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->releases, 1, memory_order_relaxed);
}

typedef struct lru_item {
    uint32_t age_gap, shard;
} lru_item;

static int lru_cmp(const void *a, const void *b)
{
    const lru_item *x = a, *y = b;
    if (x->age_gap != y->age_gap) return x->age_gap > y->age_gap ? -1 : 1;
    return x->shard < y->shard ? -1 : x->shard > y->shard;
}

void bdbi_map_enforce_budget(bdb_map *m, int wait)
{
    if (!m->opts.memory_budget) return;
    if (wait)
        pthread_mutex_lock(&m->budget_mu);
    else if (pthread_mutex_trylock(&m->budget_mu) != 0)
        return;
    uint32_t shards = m->opts.max_buckets, age = atomic_load(&m->age);
    uint64_t total = 0;
    size_t n = 0;
    lru_item *items = bdbi_malloc(m->env, BDB_MEM_MAP, shards * sizeof *items);
    for (uint32_t s = 0; s < shards; s++) {
        bdbi_mshard *sh = &m->shards[s];
        uint64_t mapped = atomic_load_explicit(&sh->mapped, memory_order_relaxed);
        if (!mapped || atomic_load_explicit(&sh->released, memory_order_relaxed)) continue;
        total += mapped;
        if (items)
            items[n++] =
                (lru_item){age - atomic_load_explicit(&sh->last_age, memory_order_relaxed), s};
    }
    if (items && total > m->opts.memory_budget) {
        /* least recently used first; ties by shard */
        qsort(items, n, sizeof *items, lru_cmp);
        for (size_t i = 0; i < n && total > m->opts.memory_budget; i++) {
            bdbi_mshard *sh = &m->shards[items[i].shard];
            total -= atomic_load_explicit(&sh->mapped, memory_order_relaxed);
            release_shard(m, sh);
        }
    }
    if (items) bdbi_free(m->env, BDB_MEM_MAP, items, shards * sizeof *items);
    pthread_mutex_unlock(&m->budget_mu);
}

BDB_API uint32_t bdb_map_advance_age(bdb_map *m)
{
    if (!m) return 0;
    uint32_t age = atomic_fetch_add(&m->age, 1) + 1;
    uint32_t stay = m->opts.ages_to_stay_in_memory;
    if (stay)
        for (uint32_t s = 0; s < m->opts.max_buckets; s++) {
            bdbi_mshard *sh = &m->shards[s];
            if (atomic_load_explicit(&sh->released, memory_order_relaxed) ||
                !atomic_load_explicit(&sh->mapped, memory_order_relaxed))
                continue;
            if (age - atomic_load_explicit(&sh->last_age, memory_order_relaxed) >= stay)
                release_shard(m, sh);
        }
    bdbi_map_enforce_budget(m, 1);
    return age;
}

static void *age_main(void *arg)
{
    bdb_map *m = arg;
    pthread_mutex_lock(&m->age_mu);
    while (!m->age_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)m->opts.age_interval_ms * 1000000u;
        ts.tv_sec += (time_t)(ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        if (pthread_cond_timedwait(&m->age_cv, &m->age_mu, &ts) == ETIMEDOUT && !m->age_stop) {
            pthread_mutex_unlock(&m->age_mu);
            (void)bdb_map_advance_age(m);
            pthread_mutex_lock(&m->age_mu);
        }
    }
    pthread_mutex_unlock(&m->age_mu);
    bdbi_rcu_unregister();
    return NULL;
}

int bdbi_map_age_thread_start(bdb_map *m)
{
    int e = pthread_create(&m->age_thread, NULL, age_main, m);
    if (e) return bdbi_err_sys(e, "", "cannot start the bucket map's age thread");
    m->age_thread_started = 1;
    return 0;
}

void bdbi_map_age_thread_stop(bdb_map *m)
{
    if (!m->age_thread_started) return;
    pthread_mutex_lock(&m->age_mu);
    m->age_stop = 1;
    pthread_cond_signal(&m->age_cv);
    pthread_mutex_unlock(&m->age_mu);
    pthread_join(m->age_thread, NULL);
    m->age_thread_started = 0;
}

/* ---- statistics ---- */

static void shard_stats(bdb_map *m, uint32_t s, bdb_map_shard_stats *o)
{
    bdbi_mshard *sh = &m->shards[s];
    memset(o, 0, sizeof *o);
    pthread_mutex_lock(&sh->mu);
    o->count = atomic_load(&sh->count);
    const bdbi_mtable *t = sh->table;
    if (t) {
        bdbi_mtable_scan sc;
        bdbi_mtable_scan_stats(&m->L, t, &sc);
        o->capacity = t->cap;
        o->table_bytes = t->m.len;
        o->probe_total = sc.dist_sum;
        o->probe_max = sc.dist_max;
        o->resident_bytes += bdbi_rwmap_resident(&t->m);
    }
    for (unsigned c = 0; c < BDBI_MAP_CLASSES; c++) {
        const bdbi_mdata *d = sh->data[c];
        if (!d) continue;
        o->data_bytes += d->m.len;
        o->data_cells += sh->alloc[c].used;
        o->data_capacity += d->cap;
        o->resident_bytes += bdbi_rwmap_resident(&d->m);
    }
    o->table_grows = sh->table_grows;
    o->data_grows = sh->data_grows;
    o->last_age = atomic_load(&sh->last_age);
    o->released = atomic_load(&sh->released);
    pthread_mutex_unlock(&sh->mu);
}

BDB_API int bdb_map_shard_stats_get(bdb_map *m, uint32_t shard, bdb_map_shard_stats *out)
{
    if (!m || !out || shard >= m->opts.max_buckets)
        return bdbi_err(BDB_EINVAL, "bdb_map_shard_stats_get: bad map, shard or out");
    shard_stats(m, shard, out);
    return 0;
}

BDB_API int bdb_map_stats_get(bdb_map *m, bdb_map_stats *out)
{
    if (!m || !out) return bdbi_err(BDB_EINVAL, "bdb_map_stats_get: map or out is NULL");
    memset(out, 0, sizeof *out);
    out->shards = m->opts.max_buckets;
    out->age = atomic_load(&m->age);
    bdb_map_shard_stats *t = &out->total;
    for (uint32_t s = 0; s < m->opts.max_buckets; s++) {
        bdb_map_shard_stats o;
        shard_stats(m, s, &o);
        t->count += o.count;
        t->capacity += o.capacity;
        t->table_bytes += o.table_bytes;
        t->data_bytes += o.data_bytes;
        t->data_cells += o.data_cells;
        t->data_capacity += o.data_capacity;
        t->probe_total += o.probe_total;
        if (o.probe_max > t->probe_max) t->probe_max = o.probe_max;
        t->table_grows += o.table_grows;
        t->data_grows += o.data_grows;
        t->resident_bytes += o.resident_bytes;
        out->shards_released += o.released ? 1 : 0;
    }
    out->releases = atomic_load(&m->releases);
    bdb_stats es;
    if (bdb_env_stats(m->env, &es) == 0) out->heap_bytes = es.mem[BDB_MEM_MAP].bytes;
    return 0;
}
