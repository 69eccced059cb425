/* Pending merges (stellar-core's FutureBucket): one pool task per shard
 * piece for large merges, or one task writing a single file for small
 * ones; deadlines are ledgers, so the pool runs the most urgent merge
 * first. A split merge's hash is SHA-256 over its pieces in shard order:
 * whichever task finishes the next piece in line hashes it, so hashing
 * overlaps with the merges of later pieces. Merges are deduplicated by
 * MergeKey: a running merge is shared, a finished one is reused. */
#include "config.h"

#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/env.h"
#include "core/error.h"

enum { PM_RUNNING = 0, PM_DONE = 1, PM_FAILED = 2 };

struct bdbi_pmerge {
    _Atomic long refs;
    bdb_list *l;
    bdbi_merge_inputs in; /* holds references to its buckets; shadows owned */
    uint8_t (*shadow_hashes)[32];
    uint32_t out_protocol;
    int split;
    uint32_t n_tasks;
    bdbi_future **futs;
    bdbi_written *pieces;
    uint64_t *starts; /* unsplit: n_shards + 1 */
    uint8_t *done;
    bdb_merge_counters *mc; /* per task */
    pthread_mutex_t mu;
    int sha_live; /* m->sha holds a state to finalize or discard */
    int hashing;  /* a task is hashing pieces in line */
    uint32_t next_hash;
    bdbi_sha256 sha;
    uint8_t hash[32]; /* unsplit: the writer's */
    int rc;
    /* the error detail of the first failure, raised again on the thread
     * that resolves the merge: the failing task ran on a worker, whose
     * thread-local detail the caller cannot see */
    bdbi_err_saved why;
    _Atomic int state;
    bdbi_lbucket *output;
    int in_running; /* listed in l->running */
    int dormant;    /* read-only store: recorded by its inputs, never run */
    int no_record;  /* level 0: its fresh input is not in the MergeKey */
};

typedef struct task_arg {
    bdbi_pmerge *m;
    uint32_t t;
} task_arg;

static void key_of(const bdbi_pmerge *m, bdbi_merge_key *k)
{
    k->keep_tombstones = m->in.keep_tombstones;
    memcpy(k->curr, bdbi_lbucket_hash(m->in.curr), 32);
    memcpy(k->snap, bdbi_lbucket_hash(m->in.snap), 32);
    k->n_shadows = m->in.n_shadows;
    k->shadows = (const uint8_t(*)[32])m->shadow_hashes;
}

static void pmerge_free(bdbi_pmerge *m)
{
    bdb_list *l = m->l;
    bdb_env *env = l->env;
    for (uint32_t t = 0; m->futs && t < m->n_tasks; t++) bdbi_future_release(m->futs[t]);
    if (m->pieces) bdbi_written_drop(env, m->pieces, m->n_tasks);
    bdbi_lbucket_unref(l, m->in.curr);
    bdbi_lbucket_unref(l, m->in.snap);
    for (size_t i = 0; i < m->in.n_shadows; i++) bdbi_lbucket_unref(l, m->in.shadows[i]);
    bdbi_lbucket_unref(l, m->output);
    size_t ns = m->in.n_shadows ? m->in.n_shadows : 1;
    bdbi_free(env, BDB_MEM_LIST, m->in.shadows, ns * sizeof *m->in.shadows);
    bdbi_free(env, BDB_MEM_LIST, m->shadow_hashes, ns * sizeof *m->shadow_hashes);
    size_t nt = m->n_tasks ? m->n_tasks : 1;
    bdbi_free(env, BDB_MEM_LIST, m->futs, nt * sizeof *m->futs);
    bdbi_free(env, BDB_MEM_LIST, m->pieces, nt * sizeof *m->pieces);
    bdbi_free(env, BDB_MEM_LIST, m->done, nt);
    bdbi_free(env, BDB_MEM_LIST, m->mc, nt * sizeof *m->mc);
    bdbi_free(env, BDB_MEM_LIST, m->starts, (l->n_shards + 1) * sizeof *m->starts);
    if (m->sha_live) bdbi_sha256_discard(&m->sha);
    pthread_mutex_destroy(&m->mu);
    bdbi_free(env, BDB_MEM_LIST, m, sizeof *m);
}

void bdbi_pmerge_unref(bdbi_pmerge *m)
{
    if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) pmerge_free(m);
}

const bdbi_merge_inputs *bdbi_pmerge_inputs(const bdbi_pmerge *m)
{
    return &m->in;
}

/* A merge object holding references to its inputs. */
static bdbi_pmerge *pmerge_new(bdb_list *l, const bdbi_merge_inputs *in)
{
    bdb_env *env = l->env;
    bdbi_pmerge *m = bdbi_calloc(env, BDB_MEM_LIST, 1, sizeof *m);
    if (!m) return NULL;
    atomic_init(&m->refs, 1);
    atomic_init(&m->state, PM_RUNNING);
    pthread_mutex_init(&m->mu, NULL);
    m->l = l;
    m->in = *in;
    size_t ns = in->n_shadows ? in->n_shadows : 1;
    m->in.shadows = bdbi_calloc(env, BDB_MEM_LIST, ns, sizeof *m->in.shadows);
    m->shadow_hashes = bdbi_calloc(env, BDB_MEM_LIST, ns, sizeof *m->shadow_hashes);
    m->in.curr = bdbi_lbucket_ref(in->curr);
    m->in.snap = bdbi_lbucket_ref(in->snap);
    if (!m->in.shadows || !m->shadow_hashes) {
        m->in.n_shadows = 0;
        pmerge_free(m);
        return NULL;
    }
    for (size_t i = 0; i < in->n_shadows; i++) {
        m->in.shadows[i] = bdbi_lbucket_ref(in->shadows[i]);
        memcpy(m->shadow_hashes[i], bdbi_lbucket_hash(in->shadows[i]), 32);
    }
    return m;
}

static int alloc_tasks(bdbi_pmerge *m, uint32_t n)
{
    bdb_env *env = m->l->env;
    m->n_tasks = n;
    m->futs = bdbi_calloc(env, BDB_MEM_LIST, n, sizeof *m->futs);
    m->pieces = bdbi_calloc(env, BDB_MEM_LIST, n, sizeof *m->pieces);
    m->done = bdbi_calloc(env, BDB_MEM_LIST, n, 1);
    m->mc = bdbi_calloc(env, BDB_MEM_LIST, n, sizeof *m->mc);
    m->starts = bdbi_calloc(env, BDB_MEM_LIST, m->l->n_shards + 1, sizeof *m->starts);
    if (!m->futs || !m->pieces || !m->done || !m->mc || !m->starts) return BDB_ENOMEM;
    return 0;
}

/* The records of a mem bucket with sort keys in [lo, hi) (NULL = open). */
static size_t mem_lower(const bdbi_mem_bucket *b, const bdb_bytes *bound)
{
    if (!bound) return b->n;
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const bdbi_mem_record *r = &b->records[mid];
        if (bdbi_sk_cmp(r->sort_key, r->sort_key_len, bound->data, bound->len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Merges shards [k0, k1) into the open writer w, in runs of shards over
 * which every input stays in one file. `fresh` is level 0's in-memory
 * batch (replaces snap). */
static int merge_shards(bdbi_pmerge *m, uint32_t k0, uint32_t k1, const bdbi_mem_bucket *fresh,
                        bdb_bucket_writer *w, bdb_merge_counters *mc)
{
    bdb_list *l = m->l;
    const bdbi_merge_inputs *in = &m->in;
    char(*paths)[PATH_MAX] = bdbi_malloc(l->env, BDB_MEM_LIST, (2 + in->n_shadows) * PATH_MAX);
    bdbi_merge_src *srcs = bdbi_malloc(l->env, BDB_MEM_LIST, (2 + in->n_shadows) * sizeof *srcs);
    int rc = paths && srcs ? 0 : BDB_ENOMEM;
    for (uint32_t k = k0; !rc && k < k1;) {
        uint32_t j = bdbi_lbucket_span(in->curr, k, k1);
        uint32_t s = bdbi_lbucket_span(fresh ? NULL : in->snap, k, k1);
        if (s < j) j = s;
        for (size_t i = 0; i < in->n_shadows; i++) {
            s = bdbi_lbucket_span(in->shadows[i], k, k1);
            if (s < j) j = s;
        }
        if (j == k) j = k + 1; /* a single shard always lies in one file */
        rc = bdbi_lbucket_src(l, in->curr, k, j, paths[0], PATH_MAX, &srcs[0]);
        bdbi_mem_bucket part;
        if (!rc && fresh) {
            size_t lo = k == 0 ? 0 : mem_lower(fresh, &l->bounds[k - 1]);
            size_t hi = j == l->n_shards ? fresh->n : mem_lower(fresh, &l->bounds[j - 1]);
            part = (bdbi_mem_bucket){fresh->protocol, hi - lo, fresh->records + lo};
            memset(&srcs[1], 0, sizeof srcs[1]);
            srcs[1].mem = &part;
        } else if (!rc) {
            rc = bdbi_lbucket_src(l, in->snap, k, j, paths[1], PATH_MAX, &srcs[1]);
        }
        for (size_t i = 0; !rc && i < in->n_shadows; i++)
            rc = bdbi_lbucket_src(l, in->shadows[i], k, j, paths[2 + i], PATH_MAX, &srcs[2 + i]);
        if (!rc)
            rc = bdbi_merge_into(l->env, &srcs[0], &srcs[1], srcs + 2, in->n_shadows, in->hot,
                                 m->out_protocol, w, mc, &l->stop);
        k = j;
    }
    bdbi_free(l->env, BDB_MEM_LIST, paths, (2 + in->n_shadows) * PATH_MAX);
    bdbi_free(l->env, BDB_MEM_LIST, srcs, (2 + in->n_shadows) * sizeof *srcs);
    return rc;
}

/* Runs task t: shard t of a split merge, or every shard into one file. */
static int run_task(bdbi_pmerge *m, uint32_t t, const bdbi_mem_bucket *fresh)
{
    bdb_list *l = m->l;
    bdb_bucket_writer_options wo;
    bdb_bucket_writer_options_init(&wo);
    wo.hot = m->in.hot;
    wo.protocol = m->out_protocol;
    wo.keep_tombstones = m->in.keep_tombstones;
    wo.fsync = l->opts.fsync;
    bdbi_writer_ext ext = {0};
    ext.hold = 1;
    ext.no_dirsync = 1;
    ext.no_meta = m->split && t != 0;
    if (!m->split) {
        ext.bounds = l->bounds;
        ext.n_bounds = l->n_shards - 1;
    }
    uint32_t k0 = m->split ? t : 0, k1 = m->split ? t + 1 : l->n_shards;
    /* the output's index is built as it is written */
    bdbi_index_params ip;
    bdbi_list_index_params(l, m->in.hot, &ip);
    int rc = bdbi_index_builder_new(l->env, &ip, &ext.index);
    if (rc) return rc;
    bdb_bucket_writer *w;
    rc = bdbi_bucket_writer_open_ext(l->env, l->dir, &wo, &ext, &w);
    if (rc) {
        bdbi_index_builder_free(ext.index);
        return rc;
    }
    rc = merge_shards(m, k0, k1, fresh, w, &m->mc[t]);
    bdb_bucket_writer_counters(w, &m->mc[t]);
    if (rc) {
        bdb_bucket_writer_abort(w);
        bdbi_index_builder_free(ext.index);
        return rc;
    }
    bdb_bucket_info info;
    uint64_t starts_split[2];
    bdbi_writer_result res = {.starts = m->split ? starts_split : m->starts};
    rc = bdbi_bucket_writer_finish_ext(w, &info, &res);
    bdbi_index *idx = NULL;
    if (!rc && res.file)
        rc = bdbi_index_builder_finish(ext.index, info.bytes, &idx);
    else
        bdbi_index_builder_free(ext.index);
    if (rc) {
        bdbi_file_abort(res.file);
        return rc;
    }
    /* the data reaches the disk here, in the task, so that adopting the
     * output under reg_mu only renames (a level-0 commit waits for reg_mu) */
    if (res.file && (rc = bdbi_file_sync(res.file)) != 0) {
        bdbi_file_abort(res.file);
        bdbi_index_free(l->env, idx);
        return rc;
    }
    bdbi_written *p = &m->pieces[t];
    p->index = idx;
    p->file = res.file;
    p->size = info.bytes;
    p->records = info.records;
    p->xxh = res.xxh;
    p->meta_bytes = res.meta_bytes;
    p->starts = m->split ? NULL : m->starts;
    if (!m->split) memcpy(m->hash, info.hash, 32);
    return 0;
}

/* SHA-256 of a written piece, read back from its temporary file with
 * read(2) through one buffer (not a mapping), so hashing adds no resident
 * memory however large the piece. */
static int hash_piece(bdbi_pmerge *m, uint32_t t)
{
    bdbi_written *p = &m->pieces[t];
    if (!p->file) return 0;
    const char *path = bdbi_file_tmp_path(p->file);
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = bdbi_malloc(m->l->env, BDB_MEM_LIST, CHUNK);
    if (!buf) return BDB_ENOMEM;
    int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) rc = bdbi_err_sys(errno, path, "cannot read back a merged piece");
    uint64_t total = 0;
    while (!rc) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) rc = bdbi_err_sys(errno, path, "cannot read back a merged piece");
        if (n <= 0) break;
        bdbi_sha256_update(&m->sha, buf, (size_t)n);
        total += (uint64_t)n;
    }
    if (fd >= 0) {
        /* the bytes are hashed; the page cache need not keep them for us */
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
    if (!rc && total != p->size)
        rc = bdbi_err_at(BDB_EIO, path, -1, "piece has %llu bytes, %llu were written",
                         (unsigned long long)total, (unsigned long long)p->size);
    bdbi_free(m->l->env, BDB_MEM_LIST, buf, CHUNK);
    return rc;
}

/* Keeps the merge's first failure: its code and, for the thread that
 * resolves the merge, its error detail. */
static void note_failure(bdbi_pmerge *m, int rc)
{
    if (rc && !m->rc) {
        m->rc = rc;
        bdbi_err_save(&m->why);
    }
}

/* Adopts the output, records the merge and its counters. */
static void finish(bdbi_pmerge *m)
{
    bdb_list *l = m->l;
    int rc = m->rc;
    if (m->sha_live) {
        if (rc)
            bdbi_sha256_discard(&m->sha);
        else
            bdbi_sha256_final(&m->sha, m->hash);
        m->sha_live = 0;
    }
    bdbi_lbucket *out = NULL;
    if (!rc)
        rc = bdbi_lbucket_adopt(l, m->in.hot,
                                m->out_protocol >= BDB_PROTOCOL_INIT_META ? m->out_protocol : 0,
                                m->hash, m->pieces, m->n_tasks, m->split, &out);
    bdb_merge_counters sum;
    memset(&sum, 0, sizeof sum);
    uint64_t nonempty = 0;
    for (uint32_t t = 0; t < m->n_tasks; t++) {
        bdbi_counters_add(&sum, &m->mc[t]);
        nonempty += m->pieces[t].records != 0;
    }
    /* stellar-core does not count the last buffered write; each piece's
     * writer left its own last write uncounted */
    if (nonempty > 1) sum.output_iterator_actual_writes += nonempty - 1;
    bdbi_merge_count_protocol(m->in.hot, m->out_protocol, &sum);
    pthread_mutex_lock(&l->reg_mu);
    if (m->in_running) {
        for (size_t i = 0; i < l->running_n; i++)
            if (l->running[i] == m) {
                l->running[i] = l->running[--l->running_n];
                break;
            }
        m->in_running = 0;
    }
    if (!rc) {
        bdbi_counters_add(&l->counters[m->in.hot], &sum);
        if (out && !m->no_record) {
            bdbi_merge_key k;
            key_of(m, &k);
            rc = bdbi_mergemap_record(l->mergemap, &k, out->hash);
        }
    }
    pthread_mutex_unlock(&l->reg_mu);
    m->output = out;
    note_failure(m, rc);
    atomic_store_explicit(&m->state, rc ? PM_FAILED : PM_DONE, memory_order_release);
    bdbi_pmerge_unref(m); /* the running list's reference */
}

/* Task t is done: hash the pieces now in line, finish after the last. */
static int piece_done(bdbi_pmerge *m, uint32_t t, int rc)
{
    pthread_mutex_lock(&m->mu);
    m->done[t] = 1;
    note_failure(m, rc);
    if (m->hashing) {
        pthread_mutex_unlock(&m->mu);
        return rc;
    }
    m->hashing = 1;
    while (m->next_hash < m->n_tasks && m->done[m->next_hash]) {
        uint32_t i = m->next_hash;
        int err = m->rc;
        pthread_mutex_unlock(&m->mu);
        if (!err && m->split) err = hash_piece(m, i);
        pthread_mutex_lock(&m->mu);
        note_failure(m, err);
        m->next_hash++;
    }
    m->hashing = 0;
    int all = m->next_hash == m->n_tasks;
    if (all) m->next_hash++; /* only one thread finishes */
    pthread_mutex_unlock(&m->mu);
    if (all) finish(m);
    return rc;
}

static int task_fn(void *arg, bdbi_future *self)
{
    (void)self;
    task_arg *a = arg;
    bdbi_pmerge *m = a->m;
    uint32_t t = a->t;
    bdbi_free(m->l->env, BDB_MEM_LIST, a, sizeof *a);
    int rc = run_task(m, t, NULL);
    return piece_done(m, t, rc);
}

/* The output protocol; `snap_v` is the snap's version (level 0: the
 * fresh batch's). */
static int decide(bdbi_pmerge *m, uint32_t snap_v)
{
    const bdbi_merge_inputs *in = &m->in;
    bdb_merge_options o;
    bdb_merge_options_init(&o);
    o.hot = in->hot;
    o.max_protocol = in->max_protocol;
    o.level0 = in->level0;
    uint32_t sv[64];
    if (in->n_shadows > 64) return bdbi_err(BDB_EINVAL, "too many shadows");
    for (size_t i = 0; i < in->n_shadows; i++)
        sv[i] = in->shadows[i] ? in->shadows[i]->protocol : 0;
    uint32_t cv = in->curr ? in->curr->protocol : 0;
    return bdbi_merge_protocol(&o, cv, snap_v, sv, in->n_shadows, &m->out_protocol);
}

int bdbi_pmerge_done(bdb_list *l, int hot, int level, bdbi_lbucket *output, bdbi_pmerge **out)
{
    bdbi_merge_inputs in = {.hot = hot, .level = level};
    bdbi_pmerge *m = pmerge_new(l, &in);
    if (!m) return BDB_ENOMEM;
    m->output = bdbi_lbucket_ref(output);
    atomic_store(&m->state, PM_DONE);
    *out = m;
    return 0;
}

int bdbi_pmerge_start(bdb_list *l, const bdbi_merge_inputs *in, bdbi_pmerge **out)
{
    *out = NULL;
    bdbi_pmerge *m = pmerge_new(l, in);
    if (!m) return BDB_ENOMEM;
    bdbi_merge_key k;
    key_of(m, &k);
    pthread_mutex_lock(&l->reg_mu);
    for (size_t i = 0; i < l->running_n; i++) {
        bdbi_pmerge *r = l->running[i];
        bdbi_merge_key rk;
        key_of(r, &rk);
        if (r->in.hot == in->hot && bdbi_merge_key_eq(&rk, &k)) {
            atomic_fetch_add(&r->refs, 1);
            l->counters[in->hot].running_merge_reattachments++;
            pthread_mutex_unlock(&l->reg_mu);
            bdbi_pmerge_unref(m);
            *out = r;
            return 0;
        }
    }
    uint8_t prev[32];
    if (bdbi_mergemap_find(l->mergemap, &k, prev) == 1) {
        bdbi_lbucket *b = bdbi_reg_find(l, prev);
        if (b) {
            l->counters[in->hot].finished_merge_reattachments++;
            pthread_mutex_unlock(&l->reg_mu);
            m->output = b;
            atomic_store(&m->state, PM_DONE);
            *out = m;
            return 0;
        }
    }
    pthread_mutex_unlock(&l->reg_mu);

    int rc = decide(m, in->snap ? in->snap->protocol : 0);
    if (!rc && !in->curr && !in->snap && !in->n_shadows) {
        /* empty + empty: the empty bucket (no METAENTRY at version 0) */
        if (!l->opts.read_only) {
            pthread_mutex_lock(&l->reg_mu);
            bdb_merge_counters c;
            memset(&c, 0, sizeof c);
            bdbi_merge_count_protocol(in->hot, m->out_protocol, &c);
            bdbi_counters_add(&l->counters[in->hot], &c);
            pthread_mutex_unlock(&l->reg_mu);
        }
        atomic_store(&m->state, PM_DONE);
        *out = m;
        return 0;
    }
    if (!rc && l->opts.read_only) {
        /* its output would be a new file; the inputs (validated by
         * decide() as a run would) are all a HAS needs */
        m->dormant = 1;
        *out = m;
        return 0;
    }
    uint64_t in_bytes = (in->curr ? in->curr->bytes : 0) + (in->snap ? in->snap->bytes : 0);
    m->split = l->n_shards > 1 && in_bytes >= l->opts.split_bytes;
    if (!rc) rc = alloc_tasks(m, m->split ? l->n_shards : 1);
    if (!rc && m->split) {
        rc = bdbi_sha256_init(&m->sha);
        m->sha_live = !rc;
    }
    if (rc) {
        bdbi_pmerge_unref(m);
        return rc;
    }
    /* listed as running (the list's reference) before any task can finish */
    pthread_mutex_lock(&l->reg_mu);
    if (l->running_n == l->running_cap) {
        size_t nc = l->running_cap ? 2 * l->running_cap : 16;
        bdbi_pmerge **nr = bdbi_realloc(l->env, BDB_MEM_LIST, l->running,
                                        l->running_cap * sizeof *nr, nc * sizeof *nr);
        if (!nr)
            rc = BDB_ENOMEM;
        else {
            l->running = nr;
            l->running_cap = nc;
        }
    }
    if (!rc) {
        l->running[l->running_n++] = m;
        m->in_running = 1;
        atomic_fetch_add(&m->refs, 1);
    }
    pthread_mutex_unlock(&l->reg_mu);
    if (rc) {
        bdbi_pmerge_unref(m);
        return rc;
    }
    /* due when the level commits: half(level - 1) ledgers after the start */
    uint64_t deadline = (uint64_t)in->start_ledger + bdb_level_half(in->level ? in->level - 1 : 0);
    bdbi_pool *pool = l->env->pool;
    for (uint32_t t = 0; t < m->n_tasks; t++) {
        task_arg *a = bdbi_malloc(l->env, BDB_MEM_LIST, sizeof *a);
        int src = a ? 0 : BDB_ENOMEM;
        if (a) {
            *a = (task_arg){m, t};
            src = bdbi_pool_submit(pool, task_fn, a, deadline, &m->futs[t]);
            if (src) bdbi_free(l->env, BDB_MEM_LIST, a, sizeof *a);
        }
        if (src) piece_done(m, t, src); /* the merge fails; later tasks still run */
    }
    *out = m;
    return 0;
}

void bdbi_pmerge_wait(bdbi_pmerge *m)
{
    for (uint32_t t = 0; m->futs && t < m->n_tasks; t++)
        if (m->futs[t]) (void)bdbi_future_wait(m->futs[t]);
}

int bdbi_pmerge_finished(bdbi_pmerge *m)
{
    return atomic_load_explicit(&m->state, memory_order_acquire) == PM_DONE;
}

bdbi_lbucket *bdbi_pmerge_output(bdbi_pmerge *m, int *finished)
{
    *finished = bdbi_pmerge_finished(m);
    return *finished ? m->output : NULL;
}

int bdbi_pmerge_resolve(bdbi_pmerge *m, bdbi_lbucket **out)
{
    *out = NULL;
    /* a commit that needs this merge does its queued pieces itself rather
     * than wait behind longer tasks (a deep merge's pieces) holding every
     * worker: a small merge then never makes add_batch wait for a large
     * one */
    for (uint32_t t = 0; m->futs && t < m->n_tasks; t++)
        if (m->futs[t]) (void)bdbi_future_claim(m->futs[t]);
    bdbi_pmerge_wait(m);
    if (m->dormant)
        return bdbi_err(BDB_EINVAL,
                        "the merge into level %d is not run: the store %s was opened "
                        "read-only",
                        m->in.level, m->l->dir);
    int st = atomic_load_explicit(&m->state, memory_order_acquire);
    if (st == PM_FAILED && m->rc && m->why.code == m->rc) return bdbi_err_restore(&m->why);
    if (st == PM_FAILED) return m->rc ? m->rc : BDB_EINTERNAL;
    if (st != PM_DONE) return bdbi_err(BDB_EINTERNAL, "merge not finished after its tasks");
    *out = bdbi_lbucket_ref(m->output);
    return 0;
}

int bdbi_merge_level0(bdb_list *l, int hot, bdbi_lbucket *curr, const bdbi_mem_bucket *fresh,
                      uint32_t protocol, bdbi_lbucket **out)
{
    *out = NULL;
    bdbi_merge_inputs in = {.hot = hot,
                            .level = 0,
                            .keep_tombstones = 1,
                            .level0 = !hot, /* the hot list never merges in memory */
                            .max_protocol = protocol,
                            .curr = curr};
    bdbi_pmerge *m = pmerge_new(l, &in);
    if (!m) return BDB_ENOMEM;
    m->no_record = 1;
    int rc = decide(m, fresh->protocol);
    if (!rc) rc = alloc_tasks(m, 1);
    if (rc) {
        bdbi_pmerge_unref(m);
        return rc;
    }
    atomic_fetch_add(&m->refs, 1); /* finish() drops one, as for the running list */
    rc = run_task(m, 0, fresh);
    piece_done(m, 0, rc);
    rc = m->rc;
    if (!rc) *out = bdbi_lbucket_ref(m->output);
    bdbi_pmerge_unref(m);
    return rc;
}
