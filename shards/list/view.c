/* Views: after each ledger the writer publishes an immutable, refcounted
 * snapshot of both lists with RCU. A reader loads the pointer inside a
 * read-side section and takes a reference; the list's own reference to a
 * replaced view is dropped after a grace period, so a reader never sees a
 * freed view. A view's references keep its buckets (and their files)
 * alive. */
#include "config.h"

#include "store.h"

#include "core/alloc.h"
#include "core/error.h"

void bdbi_state_compute(const bdb_list *l, bdb_list_state *st)
{
    memset(st, 0, sizeof *st);
    st->ledger = l->ledger;
    st->protocol = l->protocol;
    for (int i = 0; i < BDB_LIST_LEVELS; i++) {
        memcpy(st->live_curr[i], bdbi_lbucket_hash(l->live.levels[i].curr), 32);
        memcpy(st->live_snap[i], bdbi_lbucket_hash(l->live.levels[i].snap), 32);
        memcpy(st->hot_curr[i], bdbi_lbucket_hash(l->hot.levels[i].curr), 32);
        memcpy(st->hot_snap[i], bdbi_lbucket_hash(l->hot.levels[i].snap), 32);
    }
    /* SHA-256 of fixed-size inputs only fails without memory (OpenSSL's
     * context); the hashes then stay zero and the manifest write, which
     * hashes too, reports the failure */
    (void)bdb_list_hash((const uint8_t(*)[32])st->live_curr, (const uint8_t(*)[32])st->live_snap,
                        st->live_hash);
    (void)bdb_list_hash((const uint8_t(*)[32])st->hot_curr, (const uint8_t(*)[32])st->hot_snap,
                        st->hot_hash);
    (void)bdb_header_bucket_list_hash(st->protocol, st->live_hash, st->hot_hash, st->header_hash);
}

static void view_free(bdb_list_view *v)
{
    bdb_list *l = v->list;
    for (int i = 0; i < BDB_LIST_LEVELS; i++)
        for (int j = 0; j < 2; j++) {
            bdbi_lbucket_unref(l, v->live[i][j]);
            bdbi_lbucket_unref(l, v->hot[i][j]);
        }
    bdbi_free(l->env, BDB_MEM_LIST, v, sizeof *v);
}

static void view_unref(bdb_list_view *v)
{
    if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1) view_free(v);
}

static void view_rcu_cb(struct rcu_head *h)
{
    BDBI_RCU_CALLBACK_ENTER();
    view_unref(caa_container_of(h, bdb_list_view, rcu));
}

int bdbi_view_publish(bdb_list *l)
{
    bdbi_list_size_caches(l);
    bdb_list_view *v = bdbi_calloc(l->env, BDB_MEM_LIST, 1, sizeof *v);
    if (!v) return BDB_ENOMEM;
    atomic_init(&v->refs, 1); /* the list's */
    v->list = l;
    v->ledger = l->ledger;
    v->protocol = l->protocol;
    for (int i = 0; i < BDB_LIST_LEVELS; i++) {
        v->live[i][0] = bdbi_lbucket_ref(l->live.levels[i].curr);
        v->live[i][1] = bdbi_lbucket_ref(l->live.levels[i].snap);
        v->hot[i][0] = bdbi_lbucket_ref(l->hot.levels[i].curr);
        v->hot[i][1] = bdbi_lbucket_ref(l->hot.levels[i].snap);
    }
    bdbi_state_compute(l, &v->state);
    bdb_list_view *old = bdbi_rcu_xchg(l->view, v);
    if (old) bdbi_call_rcu(&old->rcu, view_rcu_cb);
    return 0;
}

void bdbi_view_retire(bdb_list *l)
{
    bdb_list_view *old = bdbi_rcu_xchg(l->view, (bdb_list_view *)NULL);
    if (old) bdbi_call_rcu(&old->rcu, view_rcu_cb);
    bdbi_rcu_barrier();
}

BDB_API bdb_list_view *bdb_list_view_acquire(bdb_list *l)
{
    bdbi_rcu_read_lock();
    bdb_list_view *v = bdbi_rcu_deref(l->view);
    /* the list's reference is dropped only after a grace period, so the
     * count is at least 1 here */
    if (v) {
        atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&l->user_views, 1, memory_order_relaxed);
    }
    bdbi_rcu_read_unlock();
    return v;
}

BDB_API void bdb_list_view_release(bdb_list_view *v)
{
    if (!v) return;
    bdb_list *l = v->list;
    /* the count drops last: close waits for it, so the list outlives this */
    view_unref(v);
    atomic_fetch_sub_explicit(&l->user_views, 1, memory_order_release);
}

BDB_API void bdb_list_view_state(const bdb_list_view *v, bdb_list_state *out)
{
    *out = v->state;
}
