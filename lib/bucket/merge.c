/* The streaming bucket merge: stellar-core's BucketBase::merge with the
 * CAP-0020 equal-key rules of LiveBucket and HotArchiveBucket, shadows
 * before protocol 12, and MergeCounters. Inputs are read through mapped
 * files and the output is streamed to the writer, so memory does not grow
 * with the buckets. */
#include "config.h"

#include "bucket.h"

#include <stdatomic.h>

#include "core/error.h"
#include "core/pool.h"
#include "xdr/schema.h"

BDB_API void bdb_merge_options_init(bdb_merge_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->keep_tombstones = 1;
    opts->fsync = 1;
}

/* One input: a bucket file (through a reader) or an in-memory bucket,
 * and its current entry. Both kinds feed the same merge loop, which is what
 * makes the in-memory path produce the same bytes as the file path. */
typedef struct input {
    bdb_bucket_reader *r;
    const bdbi_mem_bucket *mem;
    size_t next; /* next index in mem */
    bdb_bucket_item it;
    int live; /* it holds an entry */
    const char *path;
} input;

static int advance(input *in)
{
    if (in->mem) {
        in->live = in->next < in->mem->n;
        if (!in->live) return 0;
        const bdbi_mem_record *m = &in->mem->records[in->next];
        in->it.type = (int32_t)bdbi_be32(m->record);
        in->it.record = m->record;
        in->it.record_len = m->record_len;
        in->it.offset = in->next++;
        in->it.sort_key = m->sort_key;
        in->it.sort_key_len = m->sort_key_len;
        return 0;
    }
    if (!in->r) return in->live = 0;
    int rc = bdb_bucket_reader_next(in->r, &in->it);
    if (rc < 0) return rc;
    in->live = rc;
    return 0;
}

static int open_input(bdb_env *env, const char *path, int hot, input *in, uint32_t *protocol)
{
    memset(in, 0, sizeof *in);
    in->path = path;
    *protocol = 0;
    if (!path) return 0; /* the empty bucket */
    int rc = bdb_bucket_reader_open(env, path, hot, BDB_READ_TRUSTED, &in->r);
    if (rc) return rc;
    *protocol = bdb_bucket_reader_protocol(in->r);
    return advance(in);
}

/* Opens a piece or in-memory input. */
static int open_src(bdb_env *env, const bdbi_merge_src *src, int hot, input *in)
{
    memset(in, 0, sizeof *in);
    if (!src) return 0;
    if (src->mem) {
        in->mem = src->mem;
        in->path = "in-memory bucket";
        return advance(in);
    }
    in->path = src->path;
    if (!src->path || src->begin == src->end) return 0;
    int rc = bdbi_bucket_reader_open_range(env, src->path, src->begin, src->end, hot, src->protocol,
                                           BDB_READ_TRUSTED, &in->r);
    return rc ? rc : advance(in);
}

static int cmp_items(const bdb_bucket_item *a, const bdb_bucket_item *b)
{
    return bdbi_sk_cmp(a->sort_key, a->sort_key_len, b->sort_key, b->sort_key_len);
}

typedef struct merge {
    bdb_bucket_writer *w;
    bdb_merge_counters *mc;
    int hot;
    int keep_lifecycle; /* protocol 11: INIT and DEAD are never shadowed */
    input *shadows;
    size_t n_shadows;
} merge;

static void count_type(bdb_merge_counters *mc, int is_new, int32_t type)
{
    uint64_t *c = NULL;
    if (type == BDB_INITENTRY) c = is_new ? &mc->new_init_entries : &mc->old_init_entries;
    if (type == BDB_LIVEENTRY) c = is_new ? &mc->new_live_entries : &mc->old_live_entries;
    if (type == BDB_DEADENTRY) c = is_new ? &mc->new_dead_entries : &mc->old_dead_entries;
    if (c) (*c)++;
}

/* stellar-core's maybePut: write unless a shadow holds the same key. */
static int maybe_put(merge *m, int32_t type, const bdb_bucket_item *e)
{
    if (!m->hot && !(m->keep_lifecycle && (type == BDB_INITENTRY || type == BDB_DEADENTRY))) {
        for (size_t i = 0; i < m->n_shadows; i++) {
            input *s = &m->shadows[i];
            int rc;
            while (s->live && cmp_items(&s->it, e) < 0) {
                m->mc->shadow_scan_steps++;
                if ((rc = advance(s))) return rc;
            }
            if (s->live && cmp_items(&s->it, e) == 0) {
                if (type == BDB_INITENTRY) m->mc->init_entry_shadow_elisions++;
                if (type == BDB_LIVEENTRY) m->mc->live_entry_shadow_elisions++;
                if (type == BDB_DEADENTRY) m->mc->dead_entry_shadow_elisions++;
                return 0;
            }
        }
    }
    return bdbi_bucket_writer_put_as(m->w, type, e->record, e->record_len, e->sort_key,
                                     e->sort_key_len);
}

/* The CAP-0020 table for two records with the same key. */
static int equal_keys(merge *m, const input *old, const input *new)
{
    const bdb_bucket_item *o = &old->it, *n = &new->it;
    if (m->hot) return maybe_put(m, n->type, n); /* newer always wins, nothing annihilates */
    count_type(m->mc, 0, o->type);
    count_type(m->mc, 1, n->type);
    if (o->type == BDB_INITENTRY) {
        if (n->type == BDB_INITENTRY)
            return bdbi_err_at(BDB_EFORMAT, new->path, (int64_t)n->offset,
                               "malformed buckets: old INIT + new INIT for the same key");
        if (n->type == BDB_DEADENTRY) {
            m->mc->old_init_entries_merged_with_new_dead++; /* annihilation */
            return 0;
        }
        m->mc->old_init_entries_merged_with_new_live++;
        return maybe_put(m, BDB_INITENTRY, n);
    }
    if (n->type == BDB_INITENTRY) {
        if (o->type != BDB_DEADENTRY)
            return bdbi_err_at(BDB_EFORMAT, new->path, (int64_t)n->offset,
                               "malformed buckets: old non-DEAD + new INIT for the same key");
        m->mc->new_init_entries_merged_with_old_dead++;
        return maybe_put(m, BDB_LIVEENTRY, n);
    }
    m->mc->new_entries_merged_with_old_neither_init++;
    return maybe_put(m, n->type, n);
}

/* The output protocol and the merge's protocol-dependent behaviour. */
int bdbi_merge_protocol(const bdb_merge_options *o, uint32_t old_v, uint32_t new_v,
                        const uint32_t *shadow_v, size_t n_shadows, uint32_t *protocol)
{
    uint32_t p = old_v > new_v ? old_v : new_v;
    for (size_t i = 0; i < n_shadows; i++)
        if (shadow_v[i] < BDB_PROTOCOL_NO_SHADOWS && shadow_v[i] > p) p = shadow_v[i];
    if (p > o->max_protocol)
        return bdbi_err(BDB_EPROTOCOL, "merge inputs have protocol %u, above the maximum %u", p,
                        o->max_protocol);
    /* H1/H2: a level-0 merge writes the current ledger protocol, however
     * it runs (in memory or, after a restart, from files) */
    if (o->level0) p = o->max_protocol;
    if (p >= BDB_PROTOCOL_NO_SHADOWS && n_shadows)
        return bdbi_err(BDB_EPROTOCOL, "shadows are not supported at protocol %u", p);
    *protocol = p;
    return 0;
}

void bdbi_merge_count_protocol(int hot, uint32_t protocol, bdb_merge_counters *mc)
{
    if (hot) return;
    if (protocol < BDB_PROTOCOL_INIT_META)
        mc->pre_init_entry_protocol_merges++;
    else
        mc->post_init_entry_protocol_merges++;
    if (protocol < BDB_PROTOCOL_NO_SHADOWS)
        mc->pre_shadow_removal_protocol_merges++;
    else
        mc->post_shadow_removal_protocol_merges++;
}

/* The merge loop: opened inputs into an open writer. */
static int merge_loop(input *old, input *new, input *shadows, size_t n_shadows, int hot,
                      uint32_t protocol, bdb_bucket_writer *w, bdb_merge_counters *mc,
                      const _Atomic int *stop)
{
    merge m = {w, mc, hot, protocol >= BDB_PROTOCOL_INIT_META, shadows, n_shadows};
    int rc = 0;
    unsigned steps = 0;
    while (!rc && (old->live || new->live)) {
        /* like stellar-core, a merge checks every 1000 steps whether to stop */
        if (++steps % 1000 == 0) {
            if (stop && atomic_load_explicit(stop, memory_order_relaxed))
                return bdbi_err(BDB_ECANCELED, "merge stopped");
            (void)bdbi_pool_yield(); /* a merge due sooner goes first */
        }
        int c = !new->live ? -1 : !old->live ? 1 : cmp_items(&old->it, &new->it);
        if (c < 0) {
            mc->old_entries_default_accepted++;
            if (!m.hot) count_type(mc, 0, old->it.type);
            rc = maybe_put(&m, old->it.type, &old->it);
            if (!rc) rc = advance(old);
        } else if (c > 0) {
            mc->new_entries_default_accepted++;
            if (!m.hot) count_type(mc, 1, new->it.type);
            rc = maybe_put(&m, new->it.type, &new->it);
            if (!rc) rc = advance(new);
        } else {
            rc = equal_keys(&m, old, new);
            if (!rc) rc = advance(old);
            if (!rc) rc = advance(new);
        }
    }
    return rc;
}

/* The merge proper, over opened inputs. */
static int run_merge(bdb_env *env, const char *dir, input *old, input *new, uint32_t old_v,
                     uint32_t new_v, input *shadows, const uint32_t *shadow_v, size_t n_shadows,
                     const bdb_merge_options *opts, bdb_bucket_info *out, bdb_merge_counters *mc)
{
    uint32_t protocol = 0;
    int rc = bdbi_merge_protocol(opts, old_v, new_v, shadow_v, n_shadows, &protocol);
    bdb_bucket_writer *w = NULL;
    if (!rc && !(opts->hot && protocol == 0)) { /* two empty hot buckets merge to empty */
        bdbi_merge_count_protocol(opts->hot, protocol, mc);
        bdb_bucket_writer_options wo;
        bdb_bucket_writer_options_init(&wo);
        wo.hot = opts->hot;
        wo.protocol = protocol;
        wo.keep_tombstones = opts->keep_tombstones;
        wo.fsync = opts->fsync;
        rc = bdb_bucket_writer_open(env, dir, &wo, &w);
    } else if (!rc) {
        out->empty = 1;
    }
    if (!rc && w) rc = merge_loop(old, new, shadows, n_shadows, opts->hot, protocol, w, mc, NULL);
    if (w) {
        bdb_bucket_writer_counters(w, mc);
        if (rc)
            bdb_bucket_writer_abort(w);
        else
            rc = bdb_bucket_writer_finish(w, out);
    }
    return rc;
}

int bdbi_merge_into(bdb_env *env, const bdbi_merge_src *old_src, const bdbi_merge_src *new_src,
                    const bdbi_merge_src *shadow_src, size_t n_shadows, int hot, uint32_t protocol,
                    bdb_bucket_writer *w, bdb_merge_counters *mc, const _Atomic int *stop)
{
    if (n_shadows > 64) return bdbi_err(BDB_EINVAL, "%zu shadows; at most 64", n_shadows);
    input old, new, shadows[64];
    size_t opened = 0;
    int rc = open_src(env, old_src, hot, &old);
    if (!rc) rc = open_src(env, new_src, hot, &new);
    for (; !rc && opened < n_shadows; opened++)
        rc = open_src(env, &shadow_src[opened], 0, &shadows[opened]);
    if (!rc) rc = merge_loop(&old, &new, shadows, n_shadows, hot, protocol, w, mc, stop);
    bdb_bucket_reader_close(old.r);
    bdb_bucket_reader_close(new.r);
    for (size_t i = 0; i < opened; i++) bdb_bucket_reader_close(shadows[i].r);
    return rc;
}

BDB_API int bdb_bucket_merge(bdb_env *env, const char *dir, const char *old_path,
                             const char *new_path, const char *const *shadow_paths,
                             size_t n_shadows, const bdb_merge_options *opts, bdb_bucket_info *out,
                             bdb_merge_counters *counters)
{
    bdb_merge_options defaults;
    if (!opts) {
        bdb_merge_options_init(&defaults);
        opts = &defaults;
    }
    memset(out, 0, sizeof *out);
    if (opts->hot && n_shadows) return bdbi_err(BDB_EINVAL, "hot-archive merges have no shadows");
    if (n_shadows > 64) return bdbi_err(BDB_EINVAL, "%zu shadows; at most 64", n_shadows);
    bdb_merge_counters scratch;
    bdb_merge_counters *mc = counters ? counters : &scratch;
    memset(&scratch, 0, sizeof scratch);

    input old = {0}, new = {0}, shadows[64];
    uint32_t old_v = 0, new_v = 0, shadow_v[64];
    size_t opened = 0;
    int rc = open_input(env, old_path, opts->hot, &old, &old_v);
    if (!rc) rc = open_input(env, new_path, opts->hot, &new, &new_v);
    for (; !rc && opened < n_shadows; opened++)
        rc = open_input(env, shadow_paths[opened], 0, &shadows[opened], &shadow_v[opened]);
    if (!rc)
        rc = run_merge(env, dir, &old, &new, old_v, new_v, shadows, shadow_v, n_shadows, opts, out,
                       mc);
    bdb_bucket_reader_close(old.r);
    bdb_bucket_reader_close(new.r);
    for (size_t i = 0; i < opened; i++) bdb_bucket_reader_close(shadows[i].r);
    return rc;
}

int bdbi_bucket_merge_mem(bdb_env *env, const char *dir, const bdbi_mem_bucket *old_b,
                          const bdbi_mem_bucket *new_b, const bdb_merge_options *opts,
                          bdb_bucket_info *out, bdb_merge_counters *counters)
{
    bdb_merge_counters scratch;
    memset(&scratch, 0, sizeof scratch);
    memset(out, 0, sizeof *out);
    input old = {.mem = old_b, .path = "in-memory old bucket"};
    input new = {.mem = new_b, .path = "in-memory new bucket"};
    int rc = advance(&old);
    if (!rc) rc = advance(&new);
    if (rc) return rc;
    return run_merge(env, dir, &old, &new, old_b->protocol, new_b->protocol, NULL, NULL, 0, opts,
                     out, counters ? counters : &scratch);
}
