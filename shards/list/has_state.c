/* The store and stellar-core's HistoryArchiveState: exporting the current
 * ledger's HAS (pending merges as their inputs, H13) and creating a store
 * from a HAS and a directory of bucket files (assumeState followed by
 * restartMerges, H12; a missing bucket is an error, H14). */
#include "config.h"

#include "store.h"

#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "archive/has.h"
#include "core/alloc.h"
#include "core/error.h"

static const uint8_t zero[32];

static int fill_list(bdb_list *l, const bdbi_llist *list, bdbi_has_level *out, uint8_t (*sh)[32],
                     size_t *used)
{
    for (int i = 0; i < BDB_LIST_LEVELS; i++) {
        const bdbi_level *lv = &list->levels[i];
        memcpy(out[i].curr, bdbi_lbucket_hash(lv->curr), 32);
        memcpy(out[i].snap, bdbi_lbucket_hash(lv->snap), 32);
        memset(&out[i].next, 0, sizeof out[i].next);
        if (!lv->next) continue;
        int fin;
        bdbi_lbucket *o = bdbi_pmerge_output(lv->next, &fin);
        if (fin) {
            out[i].next.state = BDBI_FB_OUTPUT;
            memcpy(out[i].next.output, bdbi_lbucket_hash(o), 32);
            continue;
        }
        /* in flight: its inputs, so that a reader restarts the same merge */
        const bdbi_merge_inputs *in = bdbi_pmerge_inputs(lv->next);
        out[i].next.state = BDBI_FB_INPUTS;
        memcpy(out[i].next.curr, bdbi_lbucket_hash(in->curr), 32);
        memcpy(out[i].next.snap, bdbi_lbucket_hash(in->snap), 32);
        out[i].next.n_shadows = in->n_shadows;
        out[i].next.shadows = in->n_shadows ? sh + *used : NULL;
        for (size_t s = 0; s < in->n_shadows; s++)
            memcpy(sh[(*used)++], bdbi_lbucket_hash(in->shadows[s]), 32);
    }
    (void)l;
    return 0;
}

BDB_API int bdb_list_has_json(bdb_list *l, const char *server, const char *network_passphrase,
                              char *buf, size_t cap, size_t *len)
{
    if (!l->ledger) return bdbi_err(BDB_EINVAL, "store %s has no ledger yet", l->dir);
    bdbi_has h;
    memset(&h, 0, sizeof h);
    /* stellar-core writes version 2, with the hot archive, from protocol 23 */
    h.version = l->protocol >= BDB_PROTOCOL_HOT_ARCHIVE ? 2 : 1;
    h.server = (char *)(server ? server : "bucketdb");
    h.current_ledger = l->ledger;
    h.network_passphrase = (char *)network_passphrase;
    uint8_t sh[2 * BDB_LIST_LEVELS * BDB_LIST_LEVELS][32];
    size_t used = 0;
    fill_list(l, &l->live, h.current_buckets, sh, &used);
    if (h.version >= 2) fill_list(l, &l->hot, h.hot_archive_buckets, sh, &used);
    return bdbi_has_write(&h, buf, cap, len);
}

/* ---- assume ---- */

/* The registered bucket with `hash` (NULL for the zero hash), imported
 * from bucket_dir (plain or gzipped) if not yet in the store. */
static int need(bdb_list *l, const char *bucket_dir, int hot, const uint8_t hash[32],
                bdbi_lbucket **out)
{
    *out = NULL;
    if (!memcmp(hash, zero, 32)) return 0;
    pthread_mutex_lock(&l->reg_mu);
    *out = bdbi_reg_find(l, hash); /* an archive import registered it already */
    pthread_mutex_unlock(&l->reg_mu);
    if (*out) return 0;
    char name[BDB_BUCKET_NAME_LEN], path[PATH_MAX], gz[PATH_MAX];
    bdb_bucket_name(hash, name);
    if (!bucket_dir)
        return bdbi_err(BDB_ENOTFOUND, "the HAS references bucket %s, which was not imported",
                        name);
    snprintf(path, sizeof path, "%s/%s", bucket_dir, name);
    snprintf(gz, sizeof gz, "%s/%s.gz", bucket_dir, name);
    struct stat st;
    if (stat(path, &st) == 0) return bdbi_lbucket_import(l, path, hot, hash, out);
    if (stat(gz, &st) == 0) return bdbi_lbucket_import(l, gz, hot, hash, out);
    return bdbi_err_at(BDB_ENOTFOUND, path, -1,
                       "the HAS references bucket %s, which is neither in %s nor gzipped", name,
                       bucket_dir);
}

static void drop(bdb_list *l, bdbi_lbucket **b, size_t n)
{
    for (size_t i = 0; i < n; i++) bdbi_lbucket_unref(l, b[i]);
}

/* Levels and nexts of one list from the HAS. */
static int assume_list(bdb_list *l, const bdbi_has_level *hl, bdbi_llist *list,
                       const char *bucket_dir)
{
    int rc = 0;
    uint32_t cv[BDB_LIST_LEVELS], sv[BDB_LIST_LEVELS];
    int ce[BDB_LIST_LEVELS], se[BDB_LIST_LEVELS];
    for (int i = 0; !rc && i < BDB_LIST_LEVELS; i++) {
        rc = need(l, bucket_dir, list->hot, hl[i].curr, &list->levels[i].curr);
        if (!rc) rc = need(l, bucket_dir, list->hot, hl[i].snap, &list->levels[i].snap);
        if (rc) break;
        bdbi_lbucket *c = list->levels[i].curr, *s = list->levels[i].snap;
        cv[i] = c ? c->protocol : 0, sv[i] = s ? s->protocol : 0;
        ce[i] = !c, se[i] = !s;
    }
    if (!rc) {
        bdbi_has h;
        memset(&h, 0, sizeof h);
        memcpy(list->hot ? h.hot_archive_buckets : h.current_buckets, hl,
               sizeof(bdbi_has_level) * BDB_LIST_LEVELS);
        h.version = list->hot ? 2 : 1;
        /* validateBucketListHelper judges published states, whose nexts
         * prepareForPublish cleared (snap >= 12) or resolved (< 12); a
         * store's own HAS keeps merges in flight as their inputs (H13), so
         * they are judged as what publishing would make of them */
        bdbi_has_prepare_for_publish(list->hot ? h.hot_archive_buckets : h.current_buckets, sv);
        rc = bdbi_has_validate(&h, list->hot, cv, sv, ce, se);
    }
    uint32_t ledger = l->ledger;
    for (int i = 1; !rc && i < BDB_LIST_LEVELS; i++) {
        const bdbi_has_next *n = &hl[i].next;
        bdbi_level *lv = &list->levels[i];
        uint32_t start = ledger & ~(bdb_level_half((uint32_t)i - 1) - 1);
        if (n->state == BDBI_FB_OUTPUT) {
            bdbi_lbucket *o;
            rc = need(l, bucket_dir, list->hot, n->output, &o);
            if (!rc) rc = bdbi_pmerge_done(l, list->hot, i, o, &lv->next);
            bdbi_lbucket_unref(l, o);
        } else if (n->state == BDBI_FB_INPUTS) {
            bdbi_lbucket *in[2 + 2 * BDB_LIST_LEVELS] = {0};
            size_t k = 0;
            if (n->n_shadows > 2 * BDB_LIST_LEVELS)
                rc = bdbi_err(BDB_EFORMAT, "level %d: %zu shadows", i, n->n_shadows);
            if (!rc) rc = need(l, bucket_dir, list->hot, n->curr, &in[k++]);
            if (!rc) rc = need(l, bucket_dir, list->hot, n->snap, &in[k++]);
            for (size_t s = 0; !rc && s < n->n_shadows; s++)
                rc = need(l, bucket_dir, 0, n->shadows[s], &in[k++]);
            bdbi_merge_inputs mi = {.hot = list->hot,
                                    .level = i,
                                    .keep_tombstones = bdb_level_keeps_tombstones((uint32_t)i),
                                    .max_protocol = l->opts.max_protocol,
                                    .start_ledger = start,
                                    .curr = in[0],
                                    .snap = in[1],
                                    .shadows = in + 2,
                                    .n_shadows = n->n_shadows};
            if (!rc) rc = bdbi_pmerge_start(l, &mi, &lv->next);
            drop(l, in, k);
        } else {
            /* stellar-core's restartMerges: redo the merge started at the
             * last spill of level i-1, from its snap (no shadows from 12) */
            bdbi_lbucket *s = list->levels[i - 1].snap;
            if (!s) break;
            if (s->protocol < BDB_PROTOCOL_NO_SHADOWS) {
                rc = bdbi_err(BDB_EFORMAT,
                              "level %d: no merge inputs in the HAS for a protocol %u snap (a "
                              "merge before protocol 12 needs its shadows)",
                              i, s->protocol);
                break;
            }
            bdbi_merge_inputs mi = {
                .hot = list->hot,
                .level = i,
                .keep_tombstones = bdb_level_keeps_tombstones((uint32_t)i),
                .max_protocol = s->protocol,
                .start_ledger = start,
                .curr = bdb_level_merge_with_empty_curr(start, (uint32_t)i) ? NULL : lv->curr,
                .snap = s};
            rc = bdbi_pmerge_start(l, &mi, &lv->next);
        }
    }
    return rc;
}

int bdbi_list_assume(bdb_list *l, const bdbi_has *h, const char *bucket_dir)
{
    if (h->current_ledger == 0) return bdbi_err(BDB_EFORMAT, "HAS: currentLedger 0");
    if (l->ledger)
        return bdbi_err_at(BDB_EEXIST, l->dir, -1, "the store already holds ledger %u", l->ledger);
    l->ledger = h->current_ledger;
    int rc = assume_list(l, h->current_buckets, &l->live, bucket_dir);
    if (!rc && h->version >= 2) rc = assume_list(l, h->hot_archive_buckets, &l->hot, bucket_dir);
    if (!rc) {
        /* a HAS has no protocol: the newest bucket's version stands for
         * the last ledger's (level 0 is written at the ledger's protocol) */
        uint32_t p = 0;
        for (int i = 0; i < BDB_LIST_LEVELS; i++) {
            bdbi_lbucket *b[4] = {l->live.levels[i].curr, l->live.levels[i].snap,
                                  l->hot.levels[i].curr, l->hot.levels[i].snap};
            for (int j = 0; j < 4; j++)
                if (b[j] && b[j]->protocol > p) p = b[j]->protocol;
        }
        if (p > l->opts.max_protocol)
            rc = bdbi_err(BDB_EPROTOCOL, "HAS buckets of protocol %u above the maximum %u", p,
                          l->opts.max_protocol);
        l->protocol = p;
    }
    if (!rc) rc = bdbi_manifest_write(l);
    if (!rc) rc = bdbi_view_publish(l);
    if (!rc) (void)bdbi_list_gc(l);
    if (rc) l->ledger = 0; /* nothing durable was written for it */
    return rc;
}

BDB_API int bdb_list_assume_state(bdb_env *env, const char *dir, const bdb_list_options *opts,
                                  const char *has_json, size_t has_len, const char *bucket_dir,
                                  bdb_list **out)
{
    *out = NULL;
    if (opts && opts->read_only)
        return bdbi_err(BDB_EINVAL,
                        "option read_only: assuming a state creates the store %s, which a "
                        "read-only open cannot do",
                        dir);
    bdbi_has h;
    int rc = bdbi_has_parse(env, has_json, has_len, &h);
    if (rc) return rc;
    bdb_list *l = NULL;
    if (!bucket_dir) rc = bdbi_err(BDB_EINVAL, "bdb_list_assume_state: no bucket directory");
    if (!rc) rc = bdb_list_open(env, dir, opts, &l);
    if (!rc) rc = bdbi_list_assume(l, &h, bucket_dir);
    bdbi_has_free(env, &h);
    if (rc) {
        if (l) (void)bdb_list_close(l);
        return rc;
    }
    *out = l;
    return 0;
}
