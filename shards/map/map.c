/* The bucket map: options, open (with the reuse of a restart file's
 * files), flush, close, and the lock-free read. */
#include "config.h"

#include "mshard.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/env.h"
#include "core/endian.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/pool.h"
#include "core/rcu.h"

BDBI_TLS_HOT int bdbi_map_in_callback;

BDB_API void bdb_map_options_init(bdb_map_options *o)
{
    memset(o, 0, sizeof *o);
    o->max_buckets = 16;
    o->max_search = 32;
    o->key_size = 32;
    o->elem_size = 16;
    o->fsync = 1;
}

static int check_options(const bdb_map_options *o)
{
    if (!o->max_buckets || o->max_buckets > BDB_MAP_MAX_SHARDS ||
        (o->max_buckets & (o->max_buckets - 1)))
        return bdbi_err(BDB_EINVAL, "max_buckets %" PRIu32 " is not a power of two in 1..%u",
                        o->max_buckets, BDB_MAP_MAX_SHARDS);
    if (o->n_drives > BDB_MAP_MAX_DRIVES || (o->n_drives && !o->drives))
        return bdbi_err(BDB_EINVAL, "n_drives %" PRIu32 " (at most %u, with drives set)",
                        o->n_drives, BDB_MAP_MAX_DRIVES);
    for (uint32_t i = 0; i < o->n_drives; i++)
        if (!o->drives[i] || !o->drives[i][0] || strlen(o->drives[i]) > 3000)
            return bdbi_err(BDB_EINVAL, "drives[%" PRIu32 "] is empty or too long", i);
    if (!o->max_search || o->max_search > 255)
        return bdbi_err(BDB_EINVAL, "max_search %" PRIu32 " is not in 1..255", o->max_search);
    if (!o->key_size || o->key_size > BDB_MAP_MAX_KEY)
        return bdbi_err(BDB_EINVAL, "key_size %" PRIu32 " is not in 1..%u", o->key_size,
                        BDB_MAP_MAX_KEY);
    if (!o->elem_size || o->elem_size > BDB_MAP_MAX_ELEM)
        return bdbi_err(BDB_EINVAL, "elem_size %" PRIu32 " is not in 1..%u", o->elem_size,
                        BDB_MAP_MAX_ELEM);
    if (o->restart_config_file && !o->restart_config_file[0])
        return bdbi_err(BDB_EINVAL, "restart_config_file is empty");
    return 0;
}

static void map_free(bdb_map *m)
{
    bdb_env *env = m->env;
    if (m->shards) {
        for (uint32_t s = 0; s < m->opts.max_buckets; s++) {
            bdbi_mshard_drop(m, s, !m->restart_path);
            pthread_mutex_destroy(&m->shards[s].mu);
        }
        bdbi_free(env, BDB_MEM_MAP, m->shards, (size_t)m->opts.max_buckets * sizeof *m->shards);
    }
    if (m->tmp_dir) (void)rmdir(m->tmp_dir);
    /* frees queued by growths use the allocator: they must run first */
    bdbi_rcu_barrier();
    for (size_t i = 0; i < m->n_discards; i++) {
        bdbi_strfree(env, BDB_MEM_MAP, m->discards[i].path);
        bdbi_strfree(env, BDB_MEM_MAP, m->discards[i].reason);
    }
    if (m->discards)
        bdbi_free(env, BDB_MEM_MAP, m->discards, m->cap_discards * sizeof *m->discards);
    for (uint32_t i = 0; i < m->n_drives; i++) bdbi_strfree(env, BDB_MEM_MAP, m->drives[i]);
    if (m->drives) bdbi_free(env, BDB_MEM_MAP, m->drives, m->n_drives * sizeof *m->drives);
    bdbi_strfree(env, BDB_MEM_MAP, m->tmp_dir);
    bdbi_strfree(env, BDB_MEM_MAP, m->restart_path);
    pthread_mutex_destroy(&m->flush_mu);
    pthread_mutex_destroy(&m->budget_mu);
    pthread_mutex_destroy(&m->discard_mu);
    pthread_mutex_destroy(&m->age_mu);
    pthread_cond_destroy(&m->age_cv);
    bdbi_free(env, BDB_MEM_MAP, m, sizeof *m);
    bdbi_env_release(env);
}

static int set_drives(bdb_map *m, const bdb_map_options *o)
{
    bdb_env *env = m->env;
    m->n_drives = o->n_drives ? o->n_drives : 1;
    m->drives = bdbi_calloc(env, BDB_MEM_MAP, m->n_drives, sizeof *m->drives);
    if (!m->drives) return BDB_ENOMEM;
    if (!o->n_drives) {
        const char *base = getenv("TMPDIR");
        char tmpl[4096];
        if ((size_t)snprintf(tmpl, sizeof tmpl, "%s/bdbmap-XXXXXX",
                             base && *base ? base : "/tmp") >= sizeof tmpl)
            return bdbi_err(BDB_EINVAL, "TMPDIR too long");
        if (!mkdtemp(tmpl)) return bdbi_err_sys(errno, tmpl, "cannot create a temporary drive");
        m->tmp_dir = bdbi_strdup(env, BDB_MEM_MAP, tmpl);
        m->drives[0] = bdbi_strdup(env, BDB_MEM_MAP, tmpl);
        if (!m->tmp_dir || !m->drives[0]) {
            (void)rmdir(tmpl);
            return BDB_ENOMEM;
        }
        return 0;
    }
    for (uint32_t i = 0; i < o->n_drives; i++) {
        m->drives[i] = bdbi_strdup(env, BDB_MEM_MAP, o->drives[i]);
        if (!m->drives[i]) return BDB_ENOMEM;
        int rc = bdbi_fs_mkdirs(env, m->drives[i]);
        if (rc) return rc;
    }
    return 0;
}

/* ---- reuse at open ---- */

static int rec_cmp(const void *a, const void *b)
{
    const bdbi_mrestart_rec *x = a, *y = b;
    if (x->shard != y->shard) return x->shard < y->shard ? -1 : 1;
    if (x->cls != y->cls) return x->cls < y->cls ? -1 : 1;
    return x->gen < y->gen ? -1 : x->gen > y->gen;
}

/* Reads the restart file; 1 if its records may be used. */
static int read_restart(bdb_map *m, bdbi_mrestart *rs)
{
    int rc = bdbi_mrestart_read(m->env, m->restart_path, rs);
    if (rc == BDB_ENOTFOUND) return 0;
    if (rc == BDB_ENOMEM) return rc;
    if (rc) {
        bdb_error e;
        bdb_last_error(&e);
        rc = bdbi_map_discard(m, BDB_MAP_ALL_SHARDS, m->restart_path, "%s", e.msg);
        return rc ? rc : 0;
    }
    const char *what = NULL;
    uint32_t had = 0, want = 0;
    if (rs->shards != m->opts.max_buckets)
        what = "shards", had = rs->shards, want = m->opts.max_buckets;
    else if (rs->key_size != m->L.key_size)
        what = "key size", had = rs->key_size, want = m->L.key_size;
    else if (rs->elem_size != m->L.elem_size)
        what = "element size", had = rs->elem_size, want = m->L.elem_size;
    else if (rs->flags != (m->L.ref_counts ? 1u : 0u))
        what = "ref counts", had = rs->flags, want = m->L.ref_counts ? 1u : 0u;
    if (what) {
        rc = bdbi_map_discard(m, BDB_MAP_ALL_SHARDS, m->restart_path,
                              "written for %s %" PRIu32 ", the options ask for %" PRIu32, what, had,
                              want);
        bdbi_mrestart_free(m->env, rs);
        return rc ? rc : 0;
    }
    if (rs->n) qsort(rs->recs, rs->n, sizeof *rs->recs, rec_cmp);
    return 1;
}

static int named(const bdbi_mrestart *rs, uint32_t shard, uint32_t cls, uint64_t gen)
{
    bdbi_mrestart_rec k = {shard, cls, gen};
    return rs->n && bsearch(&k, rs->recs, rs->n, sizeof k, rec_cmp) != NULL;
}

/* Deletes files of a map in the drives that will not be reused. */
static int sweep_drives(bdb_map *m, const bdbi_mrestart *rs, int have, uint64_t *max_gen)
{
    for (uint32_t d = 0; d < m->n_drives; d++) {
        DIR *dir = opendir(m->drives[d]);
        if (!dir) return bdbi_err_sys(errno, m->drives[d], "cannot list the drive");
        struct dirent *e;
        int rc = 0;
        while (!rc && (e = readdir(dir)) != NULL) {
            char path[4096];
            uint32_t shard, cls;
            uint64_t gen;
            const char *why = NULL;
            uint32_t owner = BDB_MAP_ALL_SHARDS;
            if (bdbi_fs_is_tmp_name(e->d_name) && strstr(e->d_name, "bdbmap-"))
                why = "a temporary file left by an interrupted write";
            else if (!bdbi_mfile_parse_name(e->d_name, &shard, &cls, &gen))
                continue;
            else if (shard < m->opts.max_buckets)
                owner = shard;
            if (!why && gen > *max_gen) *max_gen = gen;
            if (!why) {
                if (!m->restart_path)
                    why = "no restart file is configured: the map starts empty";
                else if (!have)
                    why = "the restart file is missing or unusable";
                else if (shard >= m->opts.max_buckets || shard % m->n_drives != d)
                    why = "not a file of a shard of this drive";
                else if (!named(rs, shard, cls, gen))
                    why = "not named by the restart file";
            }
            if (!why) continue;
            snprintf(path, sizeof path, "%s/%s", m->drives[d], e->d_name);
            rc = bdbi_fs_unlink(m->env, path);
            if (!rc) rc = bdbi_map_discard(m, owner, path, "%s", why);
        }
        closedir(dir);
        if (rc) return rc;
    }
    return 0;
}

typedef struct load_job {
    bdb_map *m;
    uint32_t shard;
    const bdbi_mrestart_rec *recs;
    size_t n;
    int rc;
    bdbi_future *fut;
} load_job;

static int load_task(void *arg, bdbi_future *self)
{
    (void)self;
    load_job *j = arg;
    j->rc = bdbi_mshard_load(j->m, j->shard, j->recs, j->n);
    return j->rc;
}

/* Loads every shard the restart file names, in parallel on the pool. */
static int load_shards(bdb_map *m, const bdbi_mrestart *rs)
{
    size_t nj = 0;
    for (size_t i = 0; i < rs->n; i++)
        if (i == 0 || rs->recs[i].shard != rs->recs[i - 1].shard) nj++;
    if (!nj) return 0;
    load_job *jobs = bdbi_calloc(m->env, BDB_MEM_MAP, nj, sizeof *jobs);
    if (!jobs) return BDB_ENOMEM;
    size_t j = 0;
    for (size_t i = 0; i < rs->n;) {
        size_t k = i;
        while (k < rs->n && rs->recs[k].shard == rs->recs[i].shard) k++;
        jobs[j++] = (load_job){m, rs->recs[i].shard, rs->recs + i, k - i, 0, NULL};
        i = k;
    }
    bdbi_pool *pool = m->env->pool;
    int rc = 0;
    for (j = 0; j < nj; j++) {
        if (jobs[j].shard >= m->opts.max_buckets) continue; /* swept as out of range */
        if (!pool || bdbi_pool_submit(pool, load_task, &jobs[j], 0, &jobs[j].fut) != 0) {
            jobs[j].fut = NULL;
            load_task(&jobs[j], NULL);
        }
    }
    for (j = 0; j < nj; j++) {
        if (jobs[j].fut) {
            if (!bdbi_future_claim(jobs[j].fut)) (void)bdbi_future_wait(jobs[j].fut);
            bdbi_future_release(jobs[j].fut);
        }
        if (jobs[j].rc && !rc) rc = jobs[j].rc;
    }
    bdbi_free(m->env, BDB_MEM_MAP, jobs, nj * sizeof *jobs);
    return rc;
}

/* Writes the restart file naming every shard's current files. */
static int write_restart(bdb_map *m)
{
    size_t n = 0, cap = 64;
    bdbi_mrestart rs = {
        .shards = m->opts.max_buckets,
        .key_size = m->L.key_size,
        .elem_size = m->L.elem_size,
        .flags = m->L.ref_counts ? 1u : 0u,
        .max_search = m->L.max_search,
        .map_id = m->map_id,
    };
    bdbi_mrestart_rec *recs = bdbi_malloc(m->env, BDB_MEM_MAP, cap * sizeof *recs);
    if (!recs) return BDB_ENOMEM;
    int rc = 0;
    for (uint32_t s = 0; s < m->opts.max_buckets && !rc; s++) {
        bdbi_mshard *sh = &m->shards[s];
        pthread_mutex_lock(&sh->mu);
        for (unsigned c = 0; c <= BDBI_MAP_CLASSES && !rc; c++) {
            uint32_t cls = c == BDBI_MAP_CLASSES ? BDBI_MFILE_TABLE : c;
            uint64_t gen;
            if (cls == BDBI_MFILE_TABLE) {
                if (!sh->table) continue;
                gen = sh->table->gen;
            } else {
                if (!sh->data[c]) continue;
                gen = sh->alloc[c].gen;
            }
            if (n == cap) {
                bdbi_mrestart_rec *r =
                    bdbi_realloc(m->env, BDB_MEM_MAP, recs, cap * sizeof *r, 2 * cap * sizeof *r);
                if (!r) {
                    rc = BDB_ENOMEM;
                    break;
                }
                recs = r;
                cap *= 2;
            }
            recs[n++] = (bdbi_mrestart_rec){s, cls, gen};
        }
        pthread_mutex_unlock(&sh->mu);
    }
    rs.next_gen = atomic_load(&m->next_gen);
    rs.n = n;
    rs.recs = recs;
    for (uint32_t d = 0; d < m->n_drives && !rc && m->opts.fsync; d++)
        rc = bdbi_fs_fsync_dir(m->env, m->drives[d]);
    if (!rc) rc = bdbi_mrestart_write(m->env, m->restart_path, &rs, !m->opts.fsync);
    bdbi_free(m->env, BDB_MEM_MAP, recs, cap * sizeof *recs);
    return rc;
}

static int open_files(bdb_map *m)
{
    bdbi_mrestart rs = {0};
    int have = 0;
    if (m->restart_path) {
        have = read_restart(m, &rs);
        if (have < 0) return have;
    }
    m->map_id = have ? rs.map_id : bdbi_random64(m);
    uint64_t max_gen = 0;
    int rc = sweep_drives(m, &rs, have, &max_gen);
    if (!rc && have) rc = load_shards(m, &rs);
    uint64_t next = have && rs.next_gen > max_gen ? rs.next_gen : max_gen + 1;
    atomic_store(&m->next_gen, next);
    bdbi_mrestart_free(m->env, &rs);
    uint64_t total = 0;
    for (uint32_t s = 0; s < m->opts.max_buckets; s++) total += atomic_load(&m->shards[s].count);
    atomic_store(&m->total, total);
    if (!rc && m->restart_path) rc = write_restart(m);
    return rc;
}

BDB_API int bdb_map_open(bdb_env *env, const bdb_map_options *opts, bdb_map **out)
{
    if (!out) return bdbi_err(BDB_EINVAL, "bdb_map_open: out is NULL");
    *out = NULL;
    if (!env) return bdbi_err(BDB_EINVAL, "bdb_map_open: env is NULL");
    bdb_map_options o;
    if (opts)
        o = *opts;
    else
        bdb_map_options_init(&o);
    int rc = check_options(&o);
    if (rc) return rc;
    bdb_map *m = bdbi_calloc(env, BDB_MEM_MAP, 1, sizeof *m);
    if (!m) return BDB_ENOMEM;
    bdbi_env_retain(env);
    m->env = env;
    m->opts = o;
    m->opts.drives = NULL;
    m->opts.restart_config_file = NULL;
    m->L = (bdbi_mlayout){
        .key_size = o.key_size,
        .elem_size = o.elem_size,
        .key_pad = (o.key_size + 7) & ~7u,
        .elem_pad = (o.elem_size + 7) & ~7u,
        .max_search = o.max_search,
        .ref_counts = o.ref_counts != 0,
    };
    m->L.cell_size = 8 + m->L.key_pad + m->L.elem_pad;
    m->shard_bits = (unsigned)__builtin_ctz(o.max_buckets);
    pthread_mutex_init(&m->flush_mu, NULL);
    pthread_mutex_init(&m->budget_mu, NULL);
    pthread_mutex_init(&m->discard_mu, NULL);
    pthread_mutex_init(&m->age_mu, NULL);
    pthread_cond_init(&m->age_cv, NULL);
    m->shards = bdbi_calloc(env, BDB_MEM_MAP, o.max_buckets, sizeof *m->shards);
    if (!m->shards) {
        map_free(m);
        return BDB_ENOMEM;
    }
    for (uint32_t s = 0; s < o.max_buckets; s++) pthread_mutex_init(&m->shards[s].mu, NULL);
    rc = set_drives(m, &o);
    if (!rc && o.restart_config_file) {
        m->restart_path = bdbi_strdup(env, BDB_MEM_MAP, o.restart_config_file);
        if (!m->restart_path) rc = BDB_ENOMEM;
    }
    for (uint32_t s = 0; s < o.max_buckets && !rc; s++) m->shards[s].drive = s % m->n_drives;
    if (!rc) rc = open_files(m);
    if (!rc && o.age_interval_ms) rc = bdbi_map_age_thread_start(m);
    if (rc) {
        map_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

BDB_API int bdb_map_flush(bdb_map *m)
{
    if (!m) return bdbi_err(BDB_EINVAL, "bdb_map_flush: map is NULL");
    if (bdbi_map_in_callback) return bdbi_err(BDB_EBUSY, "bdb_map_flush inside a map callback");
    pthread_mutex_lock(&m->flush_mu);
    int rc = 0;
    for (uint32_t s = 0; s < m->opts.max_buckets && !rc; s++) {
        pthread_mutex_lock(&m->shards[s].mu);
        rc = bdbi_mshard_flush(m, s);
        pthread_mutex_unlock(&m->shards[s].mu);
    }
    if (!rc && m->restart_path) rc = write_restart(m);
    pthread_mutex_unlock(&m->flush_mu);
    return rc;
}

BDB_API int bdb_map_close(bdb_map *m)
{
    if (!m) return 0;
    bdbi_map_age_thread_stop(m);
    int rc = m->restart_path ? bdb_map_flush(m) : 0;
    map_free(m);
    return rc;
}

BDB_API int bdb_map_discarded(const bdb_map *m, size_t i, bdb_map_discard *out, size_t *n)
{
    if (n) *n = m ? m->n_discards : 0;
    if (!m || i >= m->n_discards) return 0;
    if (out)
        *out = (bdb_map_discard){m->discards[i].shard, m->discards[i].path, m->discards[i].reason};
    return 1;
}

/* ---- reads ---- */

BDB_API uint32_t bdb_map_shard_of(const bdb_map *m, const void *key)
{
    if (!m->shard_bits) return 0;
    uint64_t v;
    if (m->L.key_size == 32) {
        v = bdbi_be64(key);
    } else {
        v = bdbi_hash64(key, m->L.key_size, 0);
    }
    return (uint32_t)(v >> (64 - m->shard_bits));
}

BDB_API int bdb_map_read(const bdb_map *cm, const void *key, void *slots, size_t cap, size_t *n,
                         uint64_t *ref_count)
{
    if (!cm || !key || (cap && !slots))
        return bdbi_err(BDB_EINVAL, "bdb_map_read: map, key or slots is NULL");
    bdb_map *m = (bdb_map *)cm; /* touching the shard's age is not a change */
    bdbi_mshard *sh = &m->shards[bdb_map_shard_of(m, key)];
    bdbi_mshard_touch(m, sh);
    size_t len = 0;
    uint64_t ref = 1;
    int rc = 0;
    bdbi_rcu_read_lock();
    do {
        const bdbi_mtable *t = bdbi_rcu_deref(sh->table);
        rc = t ? bdbi_mtable_read(&m->L, t, sh->data, &sh->table, key,
                                  bdbi_mtable_hash(&m->L, t->seed, key), slots, cap, &len, &ref)
               : 0;
    } while (rc == BDBI_MTABLE_STALE);
    bdbi_rcu_read_unlock();
    if (rc == 1) {
        if (n) *n = len;
        if (ref_count) *ref_count = ref;
    }
    return rc;
}

/* Keys per group of read_many: enough misses in flight to fill the
 * memory pipeline, few enough that the prefetched lines stay in L1. */
#define READ_GROUP 16

BDB_API int64_t bdb_map_read_many(const bdb_map *cm, const void *keys, size_t n, void *slots,
                                  size_t cap, size_t *lens, uint64_t *refs, int *found)
{
    if (!cm || (n && !keys) || (cap && !slots))
        return bdbi_err(BDB_EINVAL, "bdb_map_read_many: map, keys or slots is NULL");
    bdb_map *m = (bdb_map *)cm;
    const uint8_t *k8 = keys;
    size_t ks = m->L.key_size, stride = cap * m->L.elem_size;
    int64_t hits = 0;
    int rc = 0;
    for (size_t g = 0; g < n && rc >= 0; g += READ_GROUP) {
        size_t e = n - g < READ_GROUP ? n - g : READ_GROUP;
        bdbi_mshard *sh[READ_GROUP];
        const bdbi_mtable *t[READ_GROUP];
        uint64_t h[READ_GROUP];
        /* one read-side section per group, so grace periods never wait
         * for a whole batch */
        bdbi_rcu_read_lock();
        for (size_t j = 0; j < e; j++) {
            const uint8_t *key = k8 + (g + j) * ks;
            sh[j] = &m->shards[bdb_map_shard_of(m, key)];
            bdbi_mshard_touch(m, sh[j]);
            t[j] = bdbi_rcu_deref(sh[j]->table);
            if (!t[j]) continue;
            h[j] = bdbi_mtable_hash(&m->L, t[j]->seed, key);
            bdbi_mtable_prefetch(t[j], h[j]);
        }
        for (size_t j = 0; j < e && rc >= 0; j++) {
            size_t i = g + j, len = 0;
            uint64_t ref = 1;
            const uint8_t *key = k8 + i * ks;
            void *out = cap ? (uint8_t *)slots + i * stride : NULL;
            rc = 0;
            for (const bdbi_mtable *tt = t[j]; tt; tt = bdbi_rcu_deref(sh[j]->table)) {
                uint64_t hh = tt == t[j] ? h[j] : bdbi_mtable_hash(&m->L, tt->seed, key);
                rc = bdbi_mtable_read(&m->L, tt, sh[j]->data, &sh[j]->table, key, hh, out, cap,
                                      &len, &ref);
                if (rc != BDBI_MTABLE_STALE) break;
            }
            if (rc < 0) break;
            if (rc != 1) len = 0, ref = 1;
            hits += rc == 1;
            if (found) found[i] = rc == 1;
            if (lens) lens[i] = len;
            if (refs) refs[i] = ref;
        }
        bdbi_rcu_read_unlock();
    }
    return rc < 0 ? rc : hits;
}

BDB_API uint64_t bdb_map_count(const bdb_map *m, uint32_t shard)
{
    if (!m) return 0;
    if (shard == BDB_MAP_ALL_SHARDS) {
        uint64_t t = 0;
        for (uint32_t s = 0; s < m->opts.max_buckets; s++)
            t += atomic_load_explicit(&m->shards[s].count, memory_order_relaxed);
        return t;
    }
    if (shard >= m->opts.max_buckets) return 0;
    return atomic_load_explicit(&m->shards[shard].count, memory_order_relaxed);
}
