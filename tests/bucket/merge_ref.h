/* A reference bucket merge for the tests, written from the specification
 * alone (stellar-bucketlist.md §1.3, §4.1-4.6, §4.9) and stellar-core's
 * BucketBase::merge / LiveBucket / HotArchiveBucket / BucketOutputIterator,
 * not from lib/bucket/merge.c. It works in memory on whole arrays and runs
 * as three obvious passes:
 *
 *   1. the two-input merge (§4.2, the equal-key table of §4.3 as data),
 *      giving the list of records handed to maybePut;
 *   2. the shadow filter of maybePut (§4.4), one cursor per shadow;
 *   3. BucketOutputIterator (§4.5-4.6): the METAENTRY first, tombstone
 *      elision, and the one-entry buffer.
 *
 * Counters follow stellar-core's MergeCounters: the entry-type counters
 * count every input entry the merge loop consumes (both sides of equal
 * keys, LiveBucket.cpp:264-267); hot-archive merges count only the
 * default-accepted and output-iterator counters (HotArchiveBucket.h:67-76,
 * HotArchiveBucket.cpp:87-98); BufferUpdates counts every record put into
 * the buffer including the METAENTRY, ActualWrites the writes made by put()
 * but not the final flush (BucketOutputIterator.cpp:141-180). */
#ifndef BDB_TESTS_MERGE_REF_H
#define BDB_TESTS_MERGE_REF_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bucketdb/bucket.h"
#include "bucketdb/ledger.h"

/* One record: the BucketEntry / HotArchiveBucketEntry XDR (4-byte type and
 * the arm, no record mark) and the sort key of its LedgerKey. */
typedef struct ref_rec {
    int32_t type;
    uint8_t *xdr;
    size_t len;
    uint8_t *sk;
    size_t sk_len;
} ref_rec;

/* A bucket: its METAENTRY ledgerVersion (0 without one) and its entries
 * in strictly increasing key order. */
typedef struct ref_bucket {
    uint32_t protocol;
    const ref_rec *recs;
    size_t n;
} ref_bucket;

typedef struct ref_result {
    int rc;            /* 0, BDB_EPROTOCOL, BDB_EFORMAT or BDB_EINVAL */
    uint32_t protocol; /* the merge's protocol (the METAENTRY's when has_meta) */
    int has_meta;
    ref_rec *recs; /* the output entries, METAENTRY excluded */
    size_t n;
    bdb_merge_counters mc;
} ref_result;

static inline void ref_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Order of two records by key: memcmp of sort keys (prefix-free). */
static inline int ref_cmp(const ref_rec *a, const ref_rec *b)
{
    size_t n = a->sk_len < b->sk_len ? a->sk_len : b->sk_len;
    int c = memcmp(a->sk, b->sk, n);
    if (c) return c < 0 ? -1 : 1;
    return a->sk_len < b->sk_len ? -1 : a->sk_len > b->sk_len;
}

/* Builds a record of `type` around `arm` (a LedgerEntry for LIVE, INIT
 * and ARCHIVED records, a LedgerKey for DEAD and HOT_ARCHIVE_LIVE ones). */
static inline int ref_rec_make(int hot, int32_t type, const void *arm, size_t arm_len, ref_rec *out)
{
    int is_key = hot ? type == BDB_HOT_LIVE : type == BDB_DEADENTRY;
    uint8_t *key = malloc(arm_len ? arm_len : 1);
    size_t key_len = arm_len;
    int rc = 0;
    if (!key) return BDB_ENOMEM;
    if (is_key)
        memcpy(key, arm, arm_len);
    else
        rc = bdb_ledger_entry_key(arm, arm_len, key, arm_len, &key_len);
    memset(out, 0, sizeof *out);
    if (!rc) {
        out->type = type;
        out->len = 4 + arm_len;
        out->xdr = malloc(out->len);
        out->sk = malloc(BDB_SORT_KEY_BOUND(key_len));
        if (!out->xdr || !out->sk) rc = BDB_ENOMEM;
    }
    if (!rc) {
        ref_put32(out->xdr, (uint32_t)type);
        memcpy(out->xdr + 4, arm, arm_len);
        rc = bdb_sort_key(key, key_len, out->sk, BDB_SORT_KEY_BOUND(key_len), &out->sk_len);
    }
    free(key);
    if (rc) {
        free(out->xdr);
        free(out->sk);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

/* A copy of `src` whose type is `type` (the arm is unchanged). */
static inline int ref_rec_copy_as(const ref_rec *src, int32_t type, ref_rec *out)
{
    out->type = type;
    out->len = src->len;
    out->sk_len = src->sk_len;
    out->xdr = malloc(src->len);
    out->sk = malloc(src->sk_len ? src->sk_len : 1);
    if (!out->xdr || !out->sk) {
        free(out->xdr);
        free(out->sk);
        return BDB_ENOMEM;
    }
    memcpy(out->xdr, src->xdr, src->len);
    ref_put32(out->xdr, (uint32_t)type);
    memcpy(out->sk, src->sk, src->sk_len);
    return 0;
}

static inline void ref_rec_free(ref_rec *r)
{
    free(r->xdr);
    free(r->sk);
    memset(r, 0, sizeof *r);
}

static inline void ref_result_free(ref_result *res)
{
    for (size_t i = 0; i < res->n; i++) ref_rec_free(&res->recs[i]);
    free(res->recs);
    res->recs = NULL;
    res->n = 0;
}

/* ---- pass 1: the merge loop and the equal-key table (§4.2, §4.3) ---- */

/* What the merge hands to maybePut: a record and the type to give it. */
typedef struct ref_cand {
    const ref_rec *rec;
    int32_t type;
} ref_cand;

enum { REF_TAKE_NEW, REF_NEW_AS_LIVE, REF_NEW_AS_INIT, REF_NOTHING, REF_FATAL };

/* Spec §4.3, indexed [old type][new type] with LIVE = 0, DEAD = 1,
 * INIT = 2 (the BucketEntryType values); the counter each case bumps. */
static const struct {
    int action;
    size_t counter;
} ref_table[3][3] = {
    /* old LIVE */
    {{REF_TAKE_NEW, offsetof(bdb_merge_counters, new_entries_merged_with_old_neither_init)},
     {REF_TAKE_NEW, offsetof(bdb_merge_counters, new_entries_merged_with_old_neither_init)},
     {REF_FATAL, 0}},
    /* old DEAD */
    {{REF_TAKE_NEW, offsetof(bdb_merge_counters, new_entries_merged_with_old_neither_init)},
     {REF_TAKE_NEW, offsetof(bdb_merge_counters, new_entries_merged_with_old_neither_init)},
     {REF_NEW_AS_LIVE, offsetof(bdb_merge_counters, new_init_entries_merged_with_old_dead)}},
    /* old INIT */
    {{REF_NEW_AS_INIT, offsetof(bdb_merge_counters, old_init_entries_merged_with_new_live)},
     {REF_NOTHING, offsetof(bdb_merge_counters, old_init_entries_merged_with_new_dead)},
     {REF_FATAL, 0}},
};

static inline void ref_bump(bdb_merge_counters *mc, size_t offset)
{
    (*(uint64_t *)((char *)mc + offset))++;
}

/* countOldEntryType / countNewEntryType (live buckets only) */
static inline void ref_count_type(bdb_merge_counters *mc, int is_new, int32_t type)
{
    if (type == BDB_LIVEENTRY) (*(is_new ? &mc->new_live_entries : &mc->old_live_entries))++;
    if (type == BDB_DEADENTRY) (*(is_new ? &mc->new_dead_entries : &mc->old_dead_entries))++;
    if (type == BDB_INITENTRY) (*(is_new ? &mc->new_init_entries : &mc->old_init_entries))++;
}

static inline int ref_pass_merge(int hot, uint32_t protocol, const ref_bucket *old,
                                 const ref_bucket *new, ref_cand *cands, size_t *n_cands,
                                 bdb_merge_counters *mc)
{
    size_t i = 0, j = 0, n = 0;
    while (i < old->n || j < new->n) {
        int c = j == new->n ? -1 : i == old->n ? 1 : ref_cmp(&old->recs[i], &new->recs[j]);
        if (c < 0) {
            mc->old_entries_default_accepted++;
            if (!hot) ref_count_type(mc, 0, old->recs[i].type);
            cands[n++] = (ref_cand){&old->recs[i], old->recs[i].type};
            i++;
        } else if (c > 0) {
            mc->new_entries_default_accepted++;
            if (!hot) ref_count_type(mc, 1, new->recs[j].type);
            cands[n++] = (ref_cand){&new->recs[j], new->recs[j].type};
            j++;
        } else if (hot) {
            /* newer always wins; nothing is counted */
            cands[n++] = (ref_cand){&new->recs[j], new->recs[j].type};
            i++, j++;
        } else {
            const ref_rec *o = &old->recs[i], *w = &new->recs[j];
            ref_count_type(mc, 0, o->type);
            ref_count_type(mc, 1, w->type);
            int action = ref_table[o->type][w->type].action;
            if (action == REF_FATAL) return BDB_EFORMAT;
            ref_bump(mc, ref_table[o->type][w->type].counter);
            if (action == REF_TAKE_NEW) cands[n++] = (ref_cand){w, w->type};
            if (action == REF_NEW_AS_LIVE) cands[n++] = (ref_cand){w, BDB_LIVEENTRY};
            if (action == REF_NEW_AS_INIT) cands[n++] = (ref_cand){w, BDB_INITENTRY};
            i++, j++;
        }
        /* checkProtocolLegality: no INITENTRY in a merge below 11 */
        if (!hot && n && cands[n - 1].type == BDB_INITENTRY && protocol < BDB_PROTOCOL_INIT_META)
            return BDB_EPROTOCOL;
    }
    *n_cands = n;
    return 0;
}

/* ---- pass 2: shadows (§4.4) ---- */

static inline size_t ref_pass_shadows(uint32_t protocol, const ref_bucket *shadows,
                                      size_t n_shadows, ref_cand *cands, size_t n,
                                      bdb_merge_counters *mc)
{
    size_t cursor[64] = {0}, kept = 0;
    for (size_t c = 0; c < n; c++) {
        ref_cand e = cands[c];
        int shadowed = 0;
        /* from 11 on INIT and DEAD are never shadowed (nor scanned for) */
        int lifecycle = e.type == BDB_INITENTRY || e.type == BDB_DEADENTRY;
        if (!(protocol >= BDB_PROTOCOL_INIT_META && lifecycle)) {
            for (size_t s = 0; s < n_shadows && !shadowed; s++) {
                const ref_bucket *sh = &shadows[s];
                while (cursor[s] < sh->n && ref_cmp(&sh->recs[cursor[s]], e.rec) < 0) {
                    mc->shadow_scan_steps++;
                    cursor[s]++;
                }
                if (cursor[s] < sh->n && ref_cmp(&sh->recs[cursor[s]], e.rec) == 0) shadowed = 1;
            }
        }
        if (!shadowed) {
            cands[kept++] = e;
        } else if (e.type == BDB_LIVEENTRY) {
            mc->live_entry_shadow_elisions++;
        } else if (e.type == BDB_INITENTRY) {
            mc->init_entry_shadow_elisions++;
        } else {
            mc->dead_entry_shadow_elisions++;
        }
    }
    return kept;
}

/* ---- pass 3: BucketOutputIterator (§4.5, §4.6) ---- */

/* The one-entry buffer: -1 empty, -2 the METAENTRY, else a candidate. */
typedef struct ref_out {
    int hot, keep_tombstones;
    long buf;
    const ref_cand *cands;
    long *written;
    size_t n_written;
    bdb_merge_counters *mc;
} ref_out;

static inline void ref_out_put(ref_out *o, long e)
{
    if (e >= 0) {
        int32_t t = o->cands[e].type;
        int tombstone = o->hot ? t == BDB_HOT_LIVE : t == BDB_DEADENTRY;
        if (!o->keep_tombstones && tombstone) {
            o->mc->output_iterator_tombstone_elisions++;
            return;
        }
    }
    if (o->buf != -1) {
        /* the METAENTRY sorts first; entries with the same key replace */
        int buf_less = o->buf == -2 || ref_cmp(o->cands[o->buf].rec, o->cands[e].rec) < 0;
        if (buf_less) {
            o->mc->output_iterator_actual_writes++;
            o->written[o->n_written++] = o->buf;
        }
    }
    o->mc->output_iterator_buffer_updates++;
    o->buf = e;
}

/* ---- the merge ---- */

/* Merges old (older) and new (newer) with shadows under opts (hot,
 * keep_tombstones, max_protocol, level0). Fills *res; on failure res->rc
 * is the error and the output and counters are unspecified. */
static inline void ref_merge(const ref_bucket *old, const ref_bucket *new,
                             const ref_bucket *shadows, size_t n_shadows,
                             const bdb_merge_options *opts, ref_result *res)
{
    memset(res, 0, sizeof *res);
    bdb_merge_counters *mc = &res->mc;
    if (opts->hot && n_shadows) {
        res->rc = BDB_EINVAL;
        return;
    }
    if (n_shadows > 64) {
        res->rc = BDB_EINVAL;
        return;
    }
    /* §4.1: max of the inputs and of the shadows below 12 */
    uint32_t p = old->protocol > new->protocol ? old->protocol : new->protocol;
    for (size_t s = 0; s < n_shadows; s++)
        if (shadows[s].protocol < BDB_PROTOCOL_NO_SHADOWS && shadows[s].protocol > p)
            p = shadows[s].protocol;
    if (p > opts->max_protocol) {
        res->rc = BDB_EPROTOCOL;
        return;
    }
    if (opts->level0) p = opts->max_protocol; /* H1/H2 */
    if (n_shadows && p >= BDB_PROTOCOL_NO_SHADOWS) {
        res->rc = BDB_EPROTOCOL;
        return;
    }
    if (opts->hot && p >= BDB_PROTOCOL_INIT_META && p < BDB_PROTOCOL_META_EXT_V1) {
        res->rc = BDB_EPROTOCOL; /* a hot METAENTRY needs ext v1 (23) */
        return;
    }
    res->protocol = p;
    if (!opts->hot) {
        if (p < BDB_PROTOCOL_INIT_META)
            mc->pre_init_entry_protocol_merges++;
        else
            mc->post_init_entry_protocol_merges++;
        if (p < BDB_PROTOCOL_NO_SHADOWS)
            mc->pre_shadow_removal_protocol_merges++;
        else
            mc->post_shadow_removal_protocol_merges++;
    }

    size_t cap = old->n + new->n, n = 0;
    ref_cand *cands = malloc((cap ? cap : 1) * sizeof *cands);
    long *written = malloc((cap + 2) * sizeof *written);
    if (!cands || !written) {
        free(cands);
        free(written);
        res->rc = BDB_ENOMEM;
        return;
    }
    res->rc = ref_pass_merge(opts->hot, p, old, new, cands, &n, mc);
    if (!res->rc && !opts->hot) n = ref_pass_shadows(p, shadows, n_shadows, cands, n, mc);
    if (!res->rc) {
        ref_out o = {opts->hot, opts->keep_tombstones, -1, cands, written, 0, mc};
        res->has_meta = p >= BDB_PROTOCOL_INIT_META;
        if (res->has_meta) ref_out_put(&o, -2);
        for (size_t c = 0; c < n; c++) ref_out_put(&o, (long)c);
        if (o.buf != -1) o.written[o.n_written++] = o.buf; /* the final flush */
        res->recs = calloc(o.n_written ? o.n_written : 1, sizeof *res->recs);
        if (!res->recs) res->rc = BDB_ENOMEM;
        for (size_t w = 0; !res->rc && w < o.n_written; w++) {
            if (written[w] == -2) continue; /* the METAENTRY */
            const ref_cand *e = &cands[written[w]];
            res->rc = ref_rec_copy_as(e->rec, e->type, &res->recs[res->n]);
            if (!res->rc) res->n++;
        }
    }
    free(cands);
    free(written);
}

/* The METAENTRY record body stellar-core writes (§1.3): ledgerVersion and
 * ext v1 with the list type from protocol 23, else ext v0. */
static inline size_t ref_meta_body(int hot, uint32_t protocol, uint8_t out[16])
{
    ref_put32(out, 0xffffffffu);
    ref_put32(out + 4, protocol);
    if (protocol < BDB_PROTOCOL_META_EXT_V1) {
        ref_put32(out + 8, 0);
        return 12;
    }
    ref_put32(out + 8, 1);
    ref_put32(out + 12, hot ? BDB_LIST_HOT_ARCHIVE : BDB_LIST_LIVE);
    return 16;
}

/* The output file's bytes (§1.1, §1.4): every record with its RFC 5531
 * mark. *len = 0 (and *buf NULL) for the empty bucket. */
static inline int ref_file_bytes(int hot, const ref_result *res, uint8_t **buf, size_t *len)
{
    uint8_t meta[16];
    size_t nm = res->has_meta ? ref_meta_body(hot, res->protocol, meta) : 0;
    size_t total = res->has_meta ? 4 + nm : 0;
    for (size_t i = 0; i < res->n; i++) total += 4 + res->recs[i].len;
    *buf = NULL;
    *len = total;
    if (!total) return 0;
    uint8_t *p = *buf = malloc(total);
    if (!p) return BDB_ENOMEM;
    if (res->has_meta) {
        ref_put32(p, 0x80000000u | (uint32_t)nm);
        memcpy(p + 4, meta, nm);
        p += 4 + nm;
    }
    for (size_t i = 0; i < res->n; i++) {
        ref_put32(p, 0x80000000u | (uint32_t)res->recs[i].len);
        memcpy(p + 4, res->recs[i].xdr, res->recs[i].len);
        p += 4 + res->recs[i].len;
    }
    return 0;
}

#endif
