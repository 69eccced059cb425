/* The read side of a stored bucket's files: each file is mapped and
 * indexed before its bucket is published, and stays so while the bucket
 * lives. A file's index comes from the merge or import that wrote it (one
 * pass), else from its persisted index file when that validates, else
 * from one scan of the file, after which the index file is rewritten.
 * Opening a store does this for every file in parallel on the pool. */
#include "config.h"

#include "store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/env.h"
#include "core/error.h"
#include "core/hash.h"

void bdbi_list_index_params(const bdb_list *l, int hot, bdbi_index_params *p)
{
    memset(p, 0, sizeof *p);
    p->hot = hot;
    p->page_exponent = l->opts.index_page_size_exponent;
    p->cutoff_bytes = (uint64_t)l->opts.index_cutoff_mb << 20;
    p->seed = l->seed;
    /* a builder's key hashes spill into the store (a read-only open
     * writes nothing, so it keeps them in memory) */
    p->spill_dir = l->opts.read_only ? NULL : l->dir;
}

int bdbi_lbucket_index_path(const bdb_list *l, const bdbi_lbucket *b, uint32_t file, char *out,
                            size_t cap)
{
    const char *name = b->files[file].name;
    size_t n = strlen(name);
    if (n < 4 || strcmp(name + n - 4, ".xdr") != 0)
        return bdbi_err(BDB_EINTERNAL, "bucket file name %s does not end in .xdr", name);
    if ((size_t)snprintf(out, cap, "%s/%.*s.index", l->dir, (int)(n - 4), name) >= cap)
        return bdbi_err(BDB_EINVAL, "path too long in %s", l->dir);
    return 0;
}

/* Persists a page index (the exact form is rebuilt from the file, as
 * stellar-core never persists its InMemoryIndex). Failing to write it
 * costs the next open a scan, nothing else, so it is not an error. */
void bdbi_lfile_persist_index(bdb_list *l, const bdbi_lbucket *b, uint32_t f)
{
    const bdbi_lfile *lf = &b->files[f];
    if (!l->opts.persist_index || l->opts.read_only || !lf->idx || bdbi_index_form(lf->idx) == 0)
        return;
    char path[PATH_MAX];
    if (bdbi_lbucket_index_path(l, b, f, path, sizeof path)) return;
    (void)bdbi_index_save(l->env, lf->idx, path, lf->size, lf->xxh, !l->opts.fsync);
}

int bdbi_lfile_map(bdb_list *l, const bdbi_lbucket *b, uint32_t f, bdbi_lfile *lf)
{
    char path[PATH_MAX];
    int rc = bdbi_lbucket_path(l, b, f, path, sizeof path);
    if (!rc) rc = bdbi_mmap_file(l->env, path, BDBI_ADV_RANDOM, &lf->map);
    if (!rc && lf->map.len != lf->size)
        rc = bdbi_err_at(BDB_ECORRUPT, path, -1, "bucket file has %zu bytes, expected %llu",
                         lf->map.len, (unsigned long long)lf->size);
    return rc;
}

void bdbi_lfile_release(bdb_env *env, bdbi_lfile *lf)
{
    bdbi_index_free(env, lf->idx);
    lf->idx = NULL;
    bdbi_cache_destroy(env, atomic_load_explicit(&lf->cache, memory_order_relaxed));
    atomic_store_explicit(&lf->cache, NULL, memory_order_relaxed);
    bdbi_munmap(&lf->map);
}

/* Checks, maps and indexes file f of b (bdbi_lbucket_load_all's per-file
 * work; parity H17: the content is checked against the manifest's
 * checksum, so a damaged file never feeds a merge or a read). */
static int load_file(bdb_list *l, bdbi_lbucket *b, uint32_t f)
{
    bdbi_lfile *lf = &b->files[f];
    char path[PATH_MAX];
    int rc = bdbi_lbucket_path(l, b, f, path, sizeof path);
    if (rc) return rc;
    struct stat st;
    if (stat(path, &st) != 0)
        return bdbi_err_at(BDB_ECORRUPT, path, -1,
                           "bucket file referenced by the manifest is missing (%s)",
                           strerror(errno));
    if ((uint64_t)st.st_size != lf->size)
        return bdbi_err_at(BDB_ECORRUPT, path, -1,
                           "bucket file has %lld bytes; the manifest says %llu",
                           (long long)st.st_size, (unsigned long long)lf->size);
    rc = bdbi_mmap_file(l->env, path, BDBI_ADV_SEQUENTIAL, &lf->map);
    if (rc) return rc;
    const uint8_t *data = lf->map.data ? lf->map.data : (const uint8_t *)"";
    if (bdbi_hash64(data, lf->map.len, 0) != lf->xxh)
        return bdbi_err_at(BDB_ECORRUPT, path, -1,
                           "bucket file content does not match its checksum in the manifest");
    bdbi_index_params p;
    bdbi_list_index_params(l, b->hot, &p);
    int paged = bdbi_index_page_size(&p, lf->size) != 0;
    char ipath[PATH_MAX];
    rc = bdbi_lbucket_index_path(l, b, f, ipath, sizeof ipath);
    if (rc) return rc;
    if (paged && l->opts.persist_index) {
        /* anything but a valid index of exactly this file and
         * configuration is rebuilt and rewritten, never used */
        if (bdbi_index_load(l->env, ipath, &p, lf->size, lf->xxh, &lf->idx) != 0) lf->idx = NULL;
    }
    if (!lf->idx) {
        rc = bdbi_index_build_scan(l->env, &p, data, lf->map.len, path, &lf->idx);
        if (rc) return rc;
        bdbi_lfile_persist_index(l, b, f);
    }
    bdbi_map_advise(&lf->map, 0, lf->map.len, BDBI_ADV_RANDOM);
    return 0;
}

typedef struct load_job {
    bdb_list *l;
    bdbi_lbucket *b;
    uint32_t f;
    int rc;
    char msg[512];
    bdbi_future *fut;
} load_job;

static int load_task(void *arg, bdbi_future *self)
{
    (void)self;
    load_job *j = arg;
    j->rc = load_file(j->l, j->b, j->f);
    if (j->rc) snprintf(j->msg, sizeof j->msg, "%s", bdb_errmsg());
    return j->rc;
}

static int by_size_desc(const void *a, const void *b)
{
    const load_job *x = a, *y = b;
    uint64_t sx = x->b->files[x->f].size, sy = y->b->files[y->f].size;
    return (sx < sy) - (sx > sy);
}

int bdbi_lbucket_load_all(bdb_list *l, bdbi_lbucket **tab, uint32_t n)
{
    size_t nj = 0;
    for (uint32_t i = 0; i < n; i++) nj += tab[i]->n_files;
    if (!nj) return 0;
    load_job *jobs = bdbi_calloc(l->env, BDB_MEM_LIST, nj, sizeof *jobs);
    if (!jobs) return BDB_ENOMEM;
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t f = 0; f < tab[i]->n_files; f++)
            jobs[k++] = (load_job){.l = l, .b = tab[i], .f = f};
    /* the largest first, so the longest scan does not start last */
    qsort(jobs, nj, sizeof *jobs, by_size_desc);
    bdbi_pool *pool = l->env->pool;
    for (size_t j = 0; j < nj; j++)
        if (!pool || bdbi_pool_submit(pool, load_task, &jobs[j], 0, &jobs[j].fut) != 0) {
            jobs[j].fut = NULL;
            load_task(&jobs[j], NULL);
        }
    int rc = 0;
    for (size_t j = 0; j < nj; j++) {
        if (jobs[j].fut) {
            if (!bdbi_future_claim(jobs[j].fut)) (void)bdbi_future_wait(jobs[j].fut);
            bdbi_future_release(jobs[j].fut);
        }
        if (jobs[j].rc && !rc) {
            rc = jobs[j].rc;
            bdbi_err(rc, "%s", jobs[j].msg);
        }
    }
    bdbi_free(l->env, BDB_MEM_LIST, jobs, nj * sizeof *jobs);
    return rc;
}

/* The cached types' count and bytes of one file. */
static void cached_totals(const bdb_list *l, const bdbi_lfile *lf, uint64_t *count, uint64_t *bytes)
{
    *count = *bytes = 0;
    if (!lf->idx) return;
    const bdbi_entry_counters *c = bdbi_index_counters(lf->idx);
    for (int k = 0; k < BDBI_INDEX_COUNTER_KINDS; k++) {
        if (!(l->opts.cache_types & (1u << bdbi_kind_type(k)))) continue;
        *count += c->count[k];
        *bytes += c->bytes[k];
    }
}

void bdbi_list_size_caches(bdb_list *l)
{
    if (!l->opts.cache_mb) return;
    uint64_t budget = (uint64_t)l->opts.cache_mb << 20, total = 0, n, bytes;
    for (int i = 0; i < BDB_LIST_LEVELS; i++)
        for (int j = 0; j < 2; j++) {
            const bdbi_lbucket *b = j ? l->live.levels[i].snap : l->live.levels[i].curr;
            for (uint32_t f = 0; b && f < b->n_files; f++) {
                cached_totals(l, &b->files[f], &n, &bytes);
                total += bytes;
            }
        }
    for (int i = 0; i < BDB_LIST_LEVELS; i++)
        for (int j = 0; j < 2; j++) {
            bdbi_lbucket *b = j ? l->live.levels[i].snap : l->live.levels[i].curr;
            for (uint32_t f = 0; b && f < b->n_files; f++) {
                bdbi_lfile *lf = &b->files[f];
                /* once per file, when it enters the list (stellar-core's
                 * maybeInitializeCache); never for exact-indexed files,
                 * which need no disk read */
                if (lf->cache_sized || !lf->idx || bdbi_index_form(lf->idx) == 0) continue;
                lf->cache_sized = 1;
                cached_totals(l, lf, &n, &bytes);
                size_t cap = bdbi_cache_capacity(budget, n, bytes, total);
                bdbi_cache *c = NULL;
                if (cap > BDBI_CACHE_MAX_CAPACITY) cap = BDBI_CACHE_MAX_CAPACITY;
                /* no memory for a cache: the file is read without one */
                if (cap && bdbi_cache_create(l->env, cap, l->seed ^ lf->xxh, &c) == 0)
                    atomic_store_explicit(&lf->cache, c, memory_order_release);
            }
        }
}
