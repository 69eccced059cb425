/* add_batch: stellar-core's BucketListBase::addBatchInternal (spec §5.4)
 * for the live and the hot archive list, plus the batch validation that
 * makes a refused batch change nothing. */
#include "config.h"

#include "store.h"

#include "core/alloc.h"
#include "core/error.h"

#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spills from level 10 down, then the synchronous level-0 merge. */
static int list_add(bdb_list *l, bdbi_llist *list, uint32_t ledger, uint32_t protocol,
                    const bdbi_mem_bucket *fresh)
{
    bdbi_level *lv = list->levels;
    /* shadows: every curr and snap as they were before this batch; the
     * merge into level i sees levels 0..i-2, which are not touched before
     * that merge starts because the walk goes from deep to shallow */
    bdbi_lbucket *shadows[2 * BDB_LIST_LEVELS];
    for (int i = 0; i < BDB_LIST_LEVELS; i++) {
        shadows[2 * i] = lv[i].curr;
        shadows[2 * i + 1] = lv[i].snap;
    }
    for (int i = BDB_LIST_LEVELS - 1; i >= 1; i--) {
        if (!bdb_level_should_spill(ledger, (uint32_t)i - 1)) continue;
        /* snap(): level i-1's curr becomes its snap */
        bdbi_lbucket *s = lv[i - 1].curr;
        bdbi_lbucket_unref(l, lv[i - 1].snap);
        lv[i - 1].snap = s;
        lv[i - 1].curr = NULL;
        /* commit(): the merge prepared at the previous spill becomes curr */
        if (lv[i].next) {
            bdbi_lbucket *out;
            uint64_t t0 = bdbi_pmerge_finished(lv[i].next) ? 0 : now_ns();
            int rc = bdbi_pmerge_resolve(lv[i].next, &out);
            if (t0) l->last.merge_wait_ns += now_ns() - t0;
            if (rc) return rc;
            bdbi_lbucket_unref(l, lv[i].curr);
            lv[i].curr = out;
            bdbi_pmerge_unref(lv[i].next);
            lv[i].next = NULL;
        }
        /* prepare(): next(i) := merge(curr(i) or empty, s) on the pool */
        bdbi_merge_inputs in = {
            .hot = list->hot,
            .level = i,
            .keep_tombstones = bdb_level_keeps_tombstones((uint32_t)i),
            .max_protocol = protocol,
            .start_ledger = ledger,
            .curr = bdb_level_merge_with_empty_curr(ledger, (uint32_t)i) ? NULL : lv[i].curr,
            .snap = s,
        };
        /* shadows only before protocol 12 (judged by the incoming snap) */
        if (!list->hot && (s ? s->protocol : 0) < BDB_PROTOCOL_NO_SHADOWS) {
            in.shadows = shadows;
            in.n_shadows = 2 * ((size_t)i - 1);
        }
        int rc = bdbi_pmerge_start(l, &in, &lv[i].next);
        if (rc) return rc;
    }
    bdbi_lbucket *out;
    uint64_t t0 = now_ns();
    int rc = bdbi_merge_level0(l, list->hot, lv[0].curr, fresh, protocol, &out);
    l->last.level0_ns += now_ns() - t0;
    if (rc) return rc;
    bdbi_lbucket_unref(l, lv[0].curr);
    lv[0].curr = out;
    return 0;
}

static int refuse_if_poisoned(const bdb_list *l)
{
    if (l->poisoned)
        return bdbi_err(BDB_EIO, "store %s failed to commit a ledger earlier; reopen it", l->dir);
    return 0;
}

static int check_ledger(const bdb_list *l, uint32_t ledger, uint32_t protocol)
{
    if (ledger == 0) return bdbi_err(BDB_EINVAL, "ledger 0: ledgers start at 1");
    if (l->ledger && ledger != l->ledger + 1)
        return bdbi_err(BDB_EINVAL, "ledger %u does not follow the store's last ledger %u", ledger,
                        l->ledger);
    if (l->ledger && protocol < l->protocol)
        return bdbi_err(BDB_EPROTOCOL, "ledger %u: protocol %u is below the previous ledger's %u",
                        ledger, protocol, l->protocol);
    if (protocol > l->opts.max_protocol)
        return bdbi_err(BDB_EPROTOCOL, "ledger %u: protocol %u is above the store's maximum %u",
                        ledger, protocol, l->opts.max_protocol);
    return 0;
}

static void drop_staged(bdb_list *l)
{
    bdbi_fresh_mem_free(l->env, l->staged_hot.fresh);
    memset(&l->staged_hot, 0, sizeof l->staged_hot);
}

BDB_API int bdb_list_add_hot_batch(bdb_list *l, uint32_t ledger, uint32_t protocol,
                                   const bdb_bytes *archived, size_t n_archived,
                                   const bdb_bytes *restored, size_t n_restored)
{
    int rc = bdbi_list_refuse_read_only(l, "bdb_list_add_hot_batch");
    if (!rc) rc = refuse_if_poisoned(l);
    if (!rc) rc = check_ledger(l, ledger, protocol);
    if (!rc && protocol < BDB_PROTOCOL_HOT_ARCHIVE)
        rc = bdbi_err(BDB_EPROTOCOL, "ledger %u: hot-archive batches need protocol %d, not %u",
                      ledger, BDB_PROTOCOL_HOT_ARCHIVE, protocol);
    if (!rc && l->ledger && l->protocol < BDB_PROTOCOL_HOT_ARCHIVE)
        rc = bdbi_err(BDB_EPROTOCOL,
                      "ledger %u starts at protocol %u: stellar-core adds hot-archive batches "
                      "only to ledgers that start at protocol %d or later",
                      ledger, l->protocol, BDB_PROTOCOL_HOT_ARCHIVE);
    bdbi_fresh_mem *f = NULL;
    if (!rc)
        rc = bdbi_bucket_fresh_mem(l->env, 1, protocol, archived, n_archived, restored, n_restored,
                                   NULL, 0, &f);
    if (rc) return rc;
    drop_staged(l);
    l->staged_hot.set = 1;
    l->staged_hot.ledger = ledger;
    l->staged_hot.protocol = protocol;
    l->staged_hot.fresh = f;
    return 0;
}

BDB_API int bdb_list_add_batch(bdb_list *l, uint32_t ledger, uint32_t protocol,
                               const bdb_bytes *init, size_t n_init, const bdb_bytes *live,
                               size_t n_live, const bdb_bytes *dead, size_t n_dead)
{
    int rc = bdbi_list_refuse_read_only(l, "bdb_list_add_batch");
    if (!rc) rc = refuse_if_poisoned(l);
    if (!rc) rc = check_ledger(l, ledger, protocol);
    int hot = l->staged_hot.set;
    if (!rc && hot && l->staged_hot.ledger != ledger)
        rc = bdbi_err(BDB_EINVAL, "the staged hot-archive batch is for ledger %u, not %u",
                      l->staged_hot.ledger, ledger);
    if (!rc && hot && l->staged_hot.protocol > protocol)
        rc = bdbi_err(BDB_EPROTOCOL, "ledger %u: hot-archive batch at protocol %u above %u", ledger,
                      l->staged_hot.protocol, protocol);
    if (!rc && !hot && l->ledger && l->protocol >= BDB_PROTOCOL_HOT_ARCHIVE)
        rc = bdbi_err(BDB_EINVAL,
                      "ledger %u starts at protocol %u and needs a hot-archive batch (stellar-core "
                      "adds one, even empty, to every such ledger)",
                      ledger, l->protocol);
    bdbi_fresh_mem *f = NULL;
    if (!rc)
        rc = bdbi_bucket_fresh_mem(l->env, 0, protocol, init, n_init, live, n_live, dead, n_dead,
                                   &f);
    if (rc) return rc;

    memset(&l->last, 0, sizeof l->last);
    /* from here on a failure leaves the in-memory lists half-changed: the
     * store refuses further batches and reopening returns the last
     * committed ledger */
    if (hot)
        rc = list_add(l, &l->hot, ledger, l->staged_hot.protocol,
                      bdbi_fresh_mem_bucket(l->staged_hot.fresh));
    if (!rc) rc = list_add(l, &l->live, ledger, protocol, bdbi_fresh_mem_bucket(f));
    bdbi_fresh_mem_free(l->env, f);
    drop_staged(l);
    uint64_t t0 = now_ns();
    if (!rc) {
        l->ledger = ledger;
        l->protocol = protocol;
        rc = bdbi_manifest_write(l);
    }
    l->last.manifest_ns = now_ns() - t0;
    t0 = now_ns();
    if (!rc) rc = bdbi_view_publish(l);
    if (rc) {
        l->poisoned = 1;
        return rc;
    }
    (void)bdbi_list_gc(l); /* a file left behind is removed by a later GC or open */
    l->last.gc_ns = now_ns() - t0;
    return 0;
}
