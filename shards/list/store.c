/* The store: options, open (new or from the last manifest), close,
 * garbage collection of bucket files, default shard boundaries and the
 * small accessors. */
#include "config.h"

#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/env.h"
#include "core/error.h"
#include "core/hash.h"
#include "xdr/ledger.h"

BDB_API void bdb_list_options_init(bdb_list_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->max_protocol = BDB_PROTOCOL_MAX;
    opts->fsync = 1;
    opts->create = 1;
    opts->split_bytes = (uint64_t)16 << 20;
    opts->index_cutoff_mb = 20;
    opts->index_page_size_exponent = 14;
    opts->persist_index = 1;
    opts->cache_types = 1u << BDB_ACCOUNT;
}

void bdbi_counters_add(bdb_merge_counters *to, const bdb_merge_counters *from)
{
    uint64_t *t = (uint64_t *)to;
    const uint64_t *f = (const uint64_t *)from;
    for (size_t i = 0; i < sizeof *to / sizeof *t; i++) t[i] += f[i];
}

static int check_options(const bdb_list_options *o)
{
    if (o->shards > BDB_LIST_MAX_SHARDS)
        return bdbi_err(BDB_EINVAL, "option shards = %u: at most %d", o->shards,
                        BDB_LIST_MAX_SHARDS);
    if (o->max_protocol == 0 || o->max_protocol > BDB_PROTOCOL_MAX)
        return bdbi_err(BDB_EINVAL, "option max_protocol = %u: 1..%d", o->max_protocol,
                        BDB_PROTOCOL_MAX);
    if (o->fsync != 0 && o->fsync != 1)
        return bdbi_err(BDB_EINVAL, "option fsync = %d must be 0 or 1", o->fsync);
    if (o->create != 0 && o->create != 1)
        return bdbi_err(BDB_EINVAL, "option create = %d must be 0 or 1", o->create);
    if (o->read_only != 0 && o->read_only != 1)
        return bdbi_err(BDB_EINVAL, "option read_only = %d must be 0 or 1", o->read_only);
    if (o->persist_index != 0 && o->persist_index != 1)
        return bdbi_err(BDB_EINVAL, "option persist_index = %d must be 0 or 1", o->persist_index);
    if (o->cache_types & ~((1u << (BDB_TTL + 1)) - 1))
        return bdbi_err(BDB_EINVAL, "option cache_types = %#x: bits of entry types 0..%d only",
                        o->cache_types, BDB_TTL);
    if (o->index_page_size_exponent &&
        (o->index_page_size_exponent < 8 || o->index_page_size_exponent > 31))
        return bdbi_err(BDB_EINVAL, "option index_page_size_exponent = %u: 0 or 8..31",
                        o->index_page_size_exponent);
    if (o->boundaries) {
        if (o->shards < 2) return bdbi_err(BDB_EINVAL, "option boundaries needs shards >= 2");
        for (uint32_t k = 0; k + 1 < o->shards; k++) {
            if (!o->boundaries[k].data || !o->boundaries[k].len || o->boundaries[k].len > 65536)
                return bdbi_err(BDB_EINVAL, "option boundaries[%u]: empty or too long", k);
            if (k && bdbi_sk_cmp(o->boundaries[k - 1].data, o->boundaries[k - 1].len,
                                 o->boundaries[k].data, o->boundaries[k].len) >= 0)
                return bdbi_err(BDB_EINVAL, "option boundaries: [%u] is not above [%u]", k, k - 1);
        }
    }
    return 0;
}

/* A LedgerKey at fraction r (0..1) of a type's ID space, as a sort key. */
static int spread_key(int type, double r, uint8_t *sk, size_t cap, size_t *len)
{
    uint8_t key[128], *p = key;
    uint32_t id = (uint32_t)(r * 4294967295.0);
    memset(key, 0, sizeof key);
    bdbi_put_be32(p, (uint32_t)type), p += 4;
    if (type == BDB_CONTRACT_DATA) {
        bdbi_put_be32(p, 1), p += 4; /* SC_ADDRESS_TYPE_CONTRACT */
        bdbi_put_be32(p, id), p += 32;
        bdbi_put_be32(p, 20), p += 4; /* SCV_LEDGER_KEY_CONTRACT_INSTANCE */
        bdbi_put_be32(p, 1), p += 4;  /* PERSISTENT */
    } else {
        bdbi_put_be32(p, 0), p += 4; /* PUBLIC_KEY_TYPE_ED25519 */
        bdbi_put_be32(p, id), p += 32;
        if (type == BDB_TRUSTLINE) {
            bdbi_put_be32(p, 1), p += 4; /* ASSET_TYPE_CREDIT_ALPHANUM4 */
            memcpy(p, "A\0\0\0", 4), p += 4;
            bdbi_put_be32(p, 0), p += 4;
            p += 32; /* issuer */
        }
    }
    return bdb_sort_key(key, (size_t)(p - key), sk, cap, len);
}

/* Default boundaries: shards spread over the account, trustline and
 * contract-data key spaces (the bulk of mainnet state) in proportion
 * 3:4:3, evenly over their uniformly distributed IDs. */
static int default_bounds(bdb_list *l)
{
    static const struct {
        int type;
        double w;
    } seg[] = {{BDB_ACCOUNT, 0.3}, {BDB_TRUSTLINE, 0.4}, {BDB_CONTRACT_DATA, 0.3}};
    for (uint32_t k = 1; k < l->n_shards; k++) {
        double f = (double)k / l->n_shards, acc = 0;
        size_t s = 0;
        while (s + 1 < sizeof seg / sizeof *seg && f >= acc + seg[s].w) acc += seg[s++].w;
        uint8_t sk[256];
        size_t len;
        int rc = spread_key(seg[s].type, (f - acc) / seg[s].w, sk, sizeof sk, &len);
        if (rc) return rc;
        uint8_t *cp = bdbi_malloc(l->env, BDB_MEM_LIST, len);
        if (!cp) return BDB_ENOMEM;
        memcpy(cp, sk, len);
        l->bounds[k - 1] = (bdb_bytes){cp, len};
        if (k > 1 && bdbi_sk_cmp(l->bounds[k - 2].data, l->bounds[k - 2].len, cp, len) >= 0)
            return bdbi_err(BDB_EINTERNAL, "default shard boundaries not increasing");
    }
    return 0;
}

static int init_bounds(bdb_list *l, const bdb_list_options *o)
{
    l->n_shards = o->shards ? o->shards : 1;
    l->bounds = bdbi_calloc(l->env, BDB_MEM_LIST, l->n_shards, sizeof *l->bounds);
    if (!l->bounds) return BDB_ENOMEM;
    if (!o->boundaries) return default_bounds(l);
    for (uint32_t k = 0; k + 1 < l->n_shards; k++) {
        uint8_t *cp = bdbi_malloc(l->env, BDB_MEM_LIST, o->boundaries[k].len);
        if (!cp) return BDB_ENOMEM;
        memcpy(cp, o->boundaries[k].data, o->boundaries[k].len);
        l->bounds[k] = (bdb_bytes){cp, o->boundaries[k].len};
    }
    return 0;
}

static void free_list_levels(bdb_list *l, bdbi_llist *list)
{
    for (int i = 0; i < BDB_LIST_LEVELS; i++) {
        bdbi_level *lv = &list->levels[i];
        if (lv->next) bdbi_pmerge_wait(lv->next);
        bdbi_pmerge_unref(lv->next);
        bdbi_lbucket_unref(l, lv->curr);
        bdbi_lbucket_unref(l, lv->snap);
        memset(lv, 0, sizeof *lv);
    }
}

static void list_free(bdb_list *l)
{
    bdb_env *env = l->env;
    atomic_store(&l->stop, 1);
    free_list_levels(l, &l->live);
    free_list_levels(l, &l->hot);
    bdbi_list_gc_wait(l, 0);
    if (l->gc_futs) bdbi_free(env, BDB_MEM_LIST, l->gc_futs, l->gc_cap * sizeof *l->gc_futs);
    bdbi_view_retire(l);
    bdbi_fresh_mem_free(env, l->staged_hot.fresh);
    for (size_t i = 0; i < l->reg_cap; i++)
        for (bdbi_lbucket *b = l->reg[i], *nb; b; b = nb) {
            nb = b->reg_next;
            bdbi_lbucket_unref(l, b);
        }
    if (l->reg) bdbi_free(env, BDB_MEM_LIST, l->reg, l->reg_cap * sizeof *l->reg);
    if (l->running) bdbi_free(env, BDB_MEM_LIST, l->running, l->running_cap * sizeof *l->running);
    bdbi_mergemap_destroy(l->mergemap);
    for (uint32_t k = 0; l->bounds && k + 1 < l->n_shards; k++)
        bdbi_free(env, BDB_MEM_LIST, (void *)l->bounds[k].data, l->bounds[k].len);
    if (l->bounds) bdbi_free(env, BDB_MEM_LIST, l->bounds, l->n_shards * sizeof *l->bounds);
    bdbi_dirlock_release(l->lock);
    pthread_mutex_destroy(&l->reg_mu);
    bdbi_strfree(env, BDB_MEM_LIST, l->dir);
    bdbi_free(env, BDB_MEM_LIST, l, sizeof *l);
}

/* Whether `name` is a file of this store that cleanup may remove. */
static int managed_name(const char *name)
{
    return bdbi_fs_is_tmp_name(name) || strncmp(name, "bucket-", 7) == 0 ||
           strncmp(name, "MANIFEST-", 9) == 0;
}

/* Whether a registered bucket uses the file `name`, or, for an index file
 * bucket-<hex>[.p<k>].index, the bucket file it indexes. */
static int referenced(bdb_list *l, const char *name)
{
    char xdr[BDBI_FILE_NAME_MAX];
    size_t n = strlen(name);
    if (n > 6 && strcmp(name + n - 6, ".index") == 0 && n - 6 + 5 <= sizeof xdr) {
        memcpy(xdr, name, n - 6);
        memcpy(xdr + n - 6, ".xdr", 5);
        name = xdr;
    }
    for (size_t i = 0; i < l->reg_cap; i++)
        for (bdbi_lbucket *b = l->reg[i]; b; b = b->reg_next)
            for (uint32_t f = 0; f < b->n_files; f++)
                if (strcmp(b->files[f].name, name) == 0) return 1;
    return 0;
}

int bdbi_list_cleanup(bdb_list *l, uint32_t keep_ledger)
{
    DIR *d = opendir(l->dir);
    if (!d) return bdbi_err_sys(errno, l->dir, "cannot list the store directory");
    char keep[32], path[PATH_MAX];
    snprintf(keep, sizeof keep, "MANIFEST-%010u", keep_ledger);
    struct dirent *e;
    int removed = 0;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!managed_name(n) || strcmp(n, keep) == 0) continue;
        if (strncmp(n, "bucket-", 7) == 0 && referenced(l, n)) continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", l->dir, n) >= sizeof path) continue;
        (void)bdbi_fs_unlink(l->env, path);
        removed++;
    }
    closedir(d);
    if (removed && l->opts.fsync) return bdbi_fs_fsync_dir(l->env, l->dir);
    return 0;
}

/* The files of GC'd buckets, already renamed to trash names, are unlinked
 * on the pool: unlinking a large file takes milliseconds that add_batch
 * should not spend. */
typedef struct gc_batch {
    bdb_env *env;
    char *paths; /* NUL-separated */
    size_t len, cap;
} gc_batch;

/* Appends `path` to *gp, creating the batch on first use. */
static int gc_append(bdb_env *env, gc_batch **gp, const char *path)
{
    if (!*gp && !(*gp = bdbi_calloc(env, BDB_MEM_LIST, 1, sizeof **gp))) return BDB_ENOMEM;
    gc_batch *g = *gp;
    g->env = env;
    size_t n = strlen(path) + 1;
    if (g->len + n > g->cap) {
        size_t ncap = g->cap ? g->cap * 2 : 4096;
        while (ncap < g->len + n) ncap *= 2;
        char *p = bdbi_realloc(env, BDB_MEM_LIST, g->paths, g->cap, ncap);
        if (!p) return BDB_ENOMEM;
        g->paths = p;
        g->cap = ncap;
    }
    memcpy(g->paths + g->len, path, n);
    g->len += n;
    return 0;
}

static void gc_unlink_all(gc_batch *g)
{
    for (size_t i = 0; i < g->len; i += strlen(g->paths + i) + 1)
        (void)bdbi_fs_unlink(g->env, g->paths + i);
    bdbi_free(g->env, BDB_MEM_LIST, g->paths, g->cap);
    bdbi_free(g->env, BDB_MEM_LIST, g, sizeof *g);
}

static int gc_task(void *arg, bdbi_future *self)
{
    (void)self;
    gc_unlink_all(arg);
    return 0;
}

/* Retires the files of `b` into *gp (unlinks them now if that fails). */
static void gc_retire(bdb_list *l, const bdbi_lbucket *b, gc_batch **gp)
{
    char path[PATH_MAX], trash[PATH_MAX + 64];
    for (uint32_t f = 0; f < 2 * b->n_files; f++) {
        /* each file, then its index file if it has one */
        if (f & 1) {
            const bdbi_index *x = b->files[f / 2].idx;
            if (!l->opts.persist_index || !x || bdbi_index_form(x) == 0) continue;
            if (bdbi_lbucket_index_path(l, b, f / 2, path, sizeof path)) continue;
        } else if (bdbi_lbucket_path(l, b, f / 2, path, sizeof path)) {
            continue;
        }
        if (bdbi_fs_retire(l->env, path, trash, sizeof trash) != 0)
            (void)bdbi_fs_unlink(l->env, path);
        else if (trash[0] && gc_append(l->env, gp, trash) != 0)
            (void)bdbi_fs_unlink(l->env, trash);
    }
}

void bdbi_list_gc_wait(bdb_list *l, int done_only)
{
    size_t keep = 0;
    for (size_t i = 0; i < l->gc_n; i++) {
        bdbi_future *f = l->gc_futs[i];
        int rc;
        if (done_only && !bdbi_future_poll(f, &rc)) {
            l->gc_futs[keep++] = f;
            continue;
        }
        if (!done_only && !bdbi_future_claim(f)) (void)bdbi_future_wait(f);
        bdbi_future_release(f);
    }
    l->gc_n = keep;
}

int bdbi_list_gc(bdb_list *l)
{
    bdbi_list_gc_wait(l, 1);
    gc_batch *g = NULL; /* most ledgers delete nothing */
    pthread_mutex_lock(&l->reg_mu);
    for (size_t i = 0; i < l->reg_cap; i++) {
        bdbi_lbucket **pp = &l->reg[i];
        while (*pp) {
            bdbi_lbucket *b = *pp;
            /* only the registry holds it: no level, merge or view */
            if (atomic_load_explicit(&b->refs, memory_order_acquire) != 1) {
                pp = &b->reg_next;
                continue;
            }
            *pp = b->reg_next;
            l->reg_n--;
            size_t n;
            (void)bdbi_mergemap_forget_producing(l->mergemap, b->hash, &n);
            gc_retire(l, b, &g);
            bdbi_lbucket_unref(l, b);
        }
    }
    pthread_mutex_unlock(&l->reg_mu);
    if (!g) return 0;
    bdbi_future *f = NULL;
    if (l->gc_n == l->gc_cap) {
        size_t ncap = l->gc_cap ? 2 * l->gc_cap : 8;
        bdbi_future **a =
            bdbi_realloc(l->env, BDB_MEM_LIST, l->gc_futs, l->gc_cap * sizeof *a, ncap * sizeof *a);
        if (a) {
            l->gc_futs = a;
            l->gc_cap = ncap;
        }
    }
    if (l->gc_n == l->gc_cap || bdbi_pool_submit(l->env->pool, gc_task, g, l->ledger, &f) != 0)
        gc_unlink_all(g); /* no room to track it, or no pool: do it now */
    else
        l->gc_futs[l->gc_n++] = f;
    return 0;
}

/* The key-hash seed of the indexes this handle builds: random per open,
 * like stellar-core's process-random shortHash key. Indexes keep their
 * seed, so persisted ones stay valid. */
static uint64_t random_seed(const void *salt)
{
    return bdbi_random64(salt);
}

BDB_API int bdb_list_open(bdb_env *env, const char *dir, const bdb_list_options *opts,
                          bdb_list **out)
{
    *out = NULL;
    bdb_list_options defaults;
    if (!opts) {
        bdb_list_options_init(&defaults);
        opts = &defaults;
    }
    int rc = check_options(opts);
    if (rc) return rc;
    if (opts->create && !opts->read_only) {
        rc = bdbi_fs_mkdirs(env, dir);
        if (rc) return rc;
    }
    bdb_list *l = bdbi_calloc(env, BDB_MEM_LIST, 1, sizeof *l);
    if (!l) return BDB_ENOMEM;
    l->env = env;
    l->opts = *opts;
    l->seed = random_seed(l);
    l->opts.boundaries = NULL; /* copied into l->bounds */
    pthread_mutex_init(&l->reg_mu, NULL);
    l->hot.hot = 1;
    l->dir = bdbi_strdup(env, BDB_MEM_LIST, dir);
    rc = l->dir ? 0 : BDB_ENOMEM;
    if (!rc)
        rc = opts->read_only ? bdbi_dirlock_acquire_shared(env, dir, &l->lock, NULL)
                             : bdbi_dirlock_acquire(env, dir, &l->lock, NULL);
    if (!rc) rc = bdbi_mergemap_create(env, &l->mergemap);
    int found = 0;
    if (!rc) rc = bdbi_manifest_load(l, &found);
    if (!rc && !found) {
        if (!opts->create || opts->read_only)
            rc = bdbi_err_at(BDB_ENOTFOUND, dir, -1, "no bucketdb store (no manifest) in %s", dir);
        if (!rc) rc = init_bounds(l, opts);
        if (!rc) rc = bdbi_list_cleanup(l, 0);
    }
    if (!rc && l->ledger) rc = bdbi_view_publish(l);
    if (rc) {
        list_free(l);
        return rc;
    }
    bdbi_env_retain(env);
    *out = l;
    return 0;
}

BDB_API int bdb_list_close(bdb_list *l)
{
    if (!l) return 0;
    if (atomic_load_explicit(&l->user_views, memory_order_acquire) > 0)
        return bdbi_err(BDB_EBUSY, "store %s: %ld views are still acquired", l->dir,
                        (long)atomic_load(&l->user_views));
    bdb_env *env = l->env;
    list_free(l);
    bdbi_env_release(env);
    return 0;
}

BDB_API int bdb_list_state_get(bdb_list *l, bdb_list_state *out)
{
    bdbi_state_compute(l, out);
    return 0;
}

BDB_API int bdb_list_merge_counters(bdb_list *l, int hot, bdb_merge_counters *out)
{
    if (hot != 0 && hot != 1) return bdbi_err(BDB_EINVAL, "hot = %d must be 0 or 1", hot);
    pthread_mutex_lock(&l->reg_mu);
    bdbi_counters_add(out, &l->counters[hot]);
    pthread_mutex_unlock(&l->reg_mu);
    return 0;
}

int bdbi_list_refuse_read_only(const bdb_list *l, const char *what)
{
    if (!l->opts.read_only) return 0;
    return bdbi_err_at(BDB_EINVAL, l->dir, -1, "%s: the store %s was opened read-only", what,
                       l->dir);
}

BDB_API int bdb_list_wait_merges(bdb_list *l)
{
    int rc = bdbi_list_refuse_read_only(l, "bdb_list_wait_merges");
    if (rc) return rc;
    bdbi_llist *lists[2] = {&l->live, &l->hot};
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < BDB_LIST_LEVELS; i++) {
            bdbi_pmerge *m = lists[j]->levels[i].next;
            if (!m) continue;
            bdbi_lbucket *o;
            int r = bdbi_pmerge_resolve(m, &o);
            bdbi_lbucket_unref(l, o);
            if (r && !rc) rc = r;
        }
    bdbi_list_gc_wait(l, 0);
    return rc;
}
