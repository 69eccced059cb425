/* stellar-core's BucketListTests and BucketManagerTests facts (spec §10),
 * checked on the store itself by reading the entries of every curr and
 * snap bucket of its views (white-box: the buckets' files come from
 * shards/list/store.h):
 *
 * - "single entry bubbling up": the one entry of ledger 1 sits in exactly
 *   one level j with 4^j <= L < 4^(j+1);
 * - "check bucket sizes": with one new entry per ledger, each bucket holds
 *   exactly the ledgers sizeOf/oldestLedgerIn say;
 * - "bucket list": 8 live + 5 dead per ledger keep every bucket within
 *   levelHalf * 100 entries;
 * - "shadowing pre/post protocol 12": two accounts rewritten every ledger
 *   never reach level 2 before protocol 12, and reach levels 2..5 but no
 *   deeper from 12;
 * - "tombstones mutually annihilate init entries": 8 INITs per ledger with
 *   random updates and deletes keep every level under 700 entries;
 * - "bucketmanager ownership": one object per bucket content; its file
 *   goes once nothing references it;
 * - "reattach to finished / running merge": counters;
 * - H22: merge keys carry shadows below protocol 12 and none from 12. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bucketdb/bucket.h"
#include "bucketdb/bucketdb.h"
#include "bucketdb/ledger.h"
#include "bucketdb/list.h"
#include "perf/bench_util.h"
#include "core/rcu.h"
#include "shards/list/store.h"

#include "store_check.h"

static char g_dir[64];
static bdb_env *g_env;

static void setup(void)
{
    cr_assert_eq(store_tmp_env("facts", g_dir, 2, &g_env), 0, "%s", bdb_errmsg());
}

static void teardown(void)
{
    store_rmdir(g_dir);
}

TestSuite(list_facts, .init = setup, .fini = teardown, .timeout = 300);

static bdb_list *open_list(uint32_t shards)
{
    bdb_list_options o;
    bdb_list_options_init(&o);
    o.fsync = 0;
    o.shards = shards;
    bdb_list *l;
    cr_assert_eq(bdb_list_open(g_env, g_dir, &o, &l), 0, "%s", bdb_errmsg());
    return l;
}

static void close_all(bdb_list *l)
{
    cr_assert_eq(bdb_list_close(l), 0, "%s", bdb_errmsg());
    cr_assert_eq(bdb_env_close(g_env), 0, "env close: %s", bdb_errmsg());
}

/* ---- reading a view's buckets ---- */

/* What one bucket holds (METAENTRY excluded). */
typedef struct contents {
    uint64_t records, dead;
    uint32_t min_lm, max_lm; /* lastModified over live entries */
    uint64_t distinct_lm;
    int has_key; /* the record of `probe` is in it */
} contents;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Reads bucket b (NULL: empty) of `l`; `probe` (a LedgerKey, may be NULL)
 * is looked for. */
static contents read_bucket(bdb_list *l, const bdbi_lbucket *b, const uint8_t *probe,
                            size_t probe_len)
{
    contents c = {.min_lm = UINT32_MAX};
    if (!b) return c;
    static uint32_t lms[1 << 20];
    size_t nlm = 0;
    for (uint32_t f = 0; f < b->n_files; f++) {
        char path[4096];
        cr_assert_eq(bdbi_lbucket_path(l, b, f, path, sizeof path), 0);
        bdb_bucket_reader *r;
        cr_assert_eq(bdb_bucket_reader_open(g_env, path, 0, 0, &r), 0, "%s", bdb_errmsg());
        bdb_bucket_item it;
        int rc;
        while ((rc = bdb_bucket_reader_next(r, &it)) == 1) {
            c.records++;
            if (it.type == BDB_DEADENTRY) {
                c.dead++;
            } else {
                const uint8_t *e = it.record + 4; /* LedgerEntry: lastModified first */
                uint32_t lm =
                    (uint32_t)e[0] << 24 | (uint32_t)e[1] << 16 | (uint32_t)e[2] << 8 | e[3];
                if (lm < c.min_lm) c.min_lm = lm;
                if (lm > c.max_lm) c.max_lm = lm;
                cr_assert_lt(nlm, sizeof lms / sizeof *lms);
                lms[nlm++] = lm;
            }
            if (probe) {
                uint8_t key[256];
                size_t klen;
                const uint8_t *k = it.record + 4;
                size_t kl = it.record_len - 4;
                if (it.type != BDB_DEADENTRY) {
                    cr_assert_eq(bdb_ledger_entry_key(k, kl, key, sizeof key, &klen), 0);
                    k = key;
                    kl = klen;
                }
                if (kl == probe_len && !memcmp(k, probe, kl)) c.has_key = 1;
            }
        }
        cr_assert_eq(rc, 0, "%s", bdb_errmsg());
        bdb_bucket_reader_close(r);
    }
    qsort(lms, nlm, sizeof *lms, cmp_u32);
    for (size_t i = 0; i < nlm; i++) c.distinct_lm += i == 0 || lms[i] != lms[i - 1];
    return c;
}

/* The contents of every live curr [i][0] and snap [i][1] of the current
 * view; probe as read_bucket. */
static void read_levels(bdb_list *l, contents out[BDB_LIST_LEVELS][2], const uint8_t *probe,
                        size_t probe_len)
{
    bdb_list_view *v = bdb_list_view_acquire(l);
    cr_assert_not_null(v);
    for (int i = 0; i < BDB_LIST_LEVELS; i++)
        for (int s = 0; s < 2; s++) out[i][s] = read_bucket(l, v->live[i][s], probe, probe_len);
    bdb_list_view_release(v);
}

/* ---- batches ---- */

#define MAXB 64
typedef struct mbatch {
    uint8_t recs[MAXB][512];
    uint8_t keys[MAXB][256];
    bdb_bytes init[MAXB], live[MAXB], dead[MAXB];
    size_t ni, nl, nd;
} mbatch;

static void add_entry(mbatch *b, int is_init, uint64_t id, uint32_t lm)
{
    size_t k = b->ni + b->nl;
    cr_assert_lt(k, MAXB);
    size_t n = record(b->recs[k], sizeof b->recs[k], BDB_LIVEENTRY, BDB_ACCOUNT, id, lm);
    bdb_bytes e = {b->recs[k] + 4, n - 4};
    if (is_init)
        b->init[b->ni++] = e;
    else
        b->live[b->nl++] = e;
}

static size_t key_of_id(uint64_t id, uint8_t *key, size_t cap)
{
    uint8_t rec[512];
    size_t n = record(rec, sizeof rec, BDB_LIVEENTRY, BDB_ACCOUNT, id, 1), klen;
    cr_assert_eq(bdb_ledger_entry_key(rec + 4, n - 4, key, cap, &klen), 0);
    return klen;
}

static void add_dead(mbatch *b, uint64_t id)
{
    cr_assert_lt(b->nd, MAXB);
    size_t klen = key_of_id(id, b->keys[b->nd], sizeof b->keys[b->nd]);
    b->dead[b->nd] = (bdb_bytes){b->keys[b->nd], klen};
    b->nd++;
}

static void apply(bdb_list *l, uint32_t ledger, uint32_t protocol, const mbatch *b)
{
    int rc =
        bdb_list_add_batch(l, ledger, protocol, b->init, b->ni, b->live, b->nl, b->dead, b->nd);
    cr_assert_eq(rc, 0, "ledger %u: %s", ledger, bdb_errmsg());
}

static uint64_t rng(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ull;
    return mix64(*s);
}

/* ---- BucketListTests ---- */

Test(list_facts, single_entry_bubbling_up)
{
    bdb_list *l = open_list(3);
    uint8_t key[256];
    size_t klen = key_of_id(42, key, sizeof key);
    for (uint32_t L = 1; L < 300; L++) {
        mbatch b = {0};
        if (L == 1) add_entry(&b, 1, 42, 1);
        apply(l, L, 22, &b);
        if (L < 2) continue;
        contents c[BDB_LIST_LEVELS][2];
        read_levels(l, c, key, klen);
        int found = -1;
        for (int j = 0; j < BDB_LIST_LEVELS; j++) {
            uint64_t n = c[j][0].records + c[j][1].records;
            if (n == 0) continue;
            cr_assert_eq(n, 1, "ledger %u: level %d holds %llu entries", L, j,
                         (unsigned long long)n);
            cr_assert(c[j][0].has_key || c[j][1].has_key);
            cr_assert_eq(found, -1, "ledger %u: the entry is in levels %d and %d", L, found, j);
            found = j;
        }
        cr_assert_geq(found, 0, "ledger %u: the entry is lost", L);
        uint32_t lo = 1u << (2 * found), hi = 1u << (2 * found + 2);
        cr_assert(L >= lo && L < hi, "ledger %u: entry in level %d, expected 4^%d <= L < 4^%d", L,
                  found, found, found + 1);
    }
    close_all(l);
}

Test(list_facts, check_bucket_sizes)
{
    bdb_list *l = open_list(2);
    for (uint32_t L = 1; L <= 256; L++) {
        mbatch b = {0};
        add_entry(&b, 1, 1000 + L, L);
        apply(l, L, 22, &b);
        contents c[BDB_LIST_LEVELS][2];
        read_levels(l, c, NULL, 0);
        for (uint32_t i = 0; i < BDB_LIST_LEVELS; i++)
            for (int s = 0; s < 2; s++) {
                uint32_t size = s ? bdb_level_size_of_snap(L, i) : bdb_level_size_of_curr(L, i);
                uint32_t oldest =
                    s ? bdb_level_oldest_in_snap(L, i) : bdb_level_oldest_in_curr(L, i);
                const contents *k = &c[i][s];
                cr_assert_eq(k->distinct_lm, size, "ledger %u level %u %s: %llu ledgers, sizeOf %u",
                             L, i, s ? "snap" : "curr", (unsigned long long)k->distinct_lm, size);
                if (!size) continue;
                cr_assert_eq(k->min_lm, oldest, "ledger %u level %u %s: oldest %u, expected %u", L,
                             i, s ? "snap" : "curr", k->min_lm, oldest);
                cr_assert_eq(k->max_lm, oldest + size - 1, "ledger %u level %u %s: newest %u", L, i,
                             s ? "snap" : "curr", k->max_lm);
            }
    }
    close_all(l);
}

Test(list_facts, bucket_list_sizes_stay_within_half_times_100)
{
    bdb_list *l = open_list(3);
    uint64_t next = 1, live_lo = 1;
    for (uint32_t L = 1; L <= 129; L++) {
        mbatch b = {0};
        for (int k = 0; k < 8; k++) add_entry(&b, 1, next++, L);
        /* 5 dead among the entries of earlier ledgers (distinct: the oldest) */
        for (int k = 0; k < 5 && live_lo + 8 < next - 8; k++) add_dead(&b, live_lo++);
        apply(l, L, 22, &b);
        contents c[BDB_LIST_LEVELS][2];
        read_levels(l, c, NULL, 0);
        for (uint32_t i = 0; i < BDB_LIST_LEVELS; i++)
            for (int t = 0; t < 2; t++)
                cr_assert_leq(c[i][t].records, (uint64_t)bdb_level_half(i) * 100,
                              "ledger %u level %u %s: %llu entries", L, i, t ? "snap" : "curr",
                              (unsigned long long)c[i][t].records);
    }
    close_all(l);
}

/* Two accounts rewritten (LIVE) every ledger 1..1200, with 5 other new
 * accounts and 5 tombstones of random keys per ledger, as stellar-core's
 * test: at every 100th ledger both are in level 0 and in level 1; before
 * protocol 12 shadows keep them out of every deeper level; from 12 they
 * reach levels 2..5 (all of them by ledger 1200) but nothing deeper. */
static void shadowing(uint32_t protocol)
{
    bdb_list *l = open_list(3);
    uint8_t key[2][256];
    size_t klen[2] = {key_of_id(1, key[0], sizeof key[0]), key_of_id(2, key[1], sizeof key[1])};
    uint64_t s = protocol, next = 1000;
    for (uint32_t L = 1; L <= 1200; L++) {
        mbatch b = {0};
        add_entry(&b, 0, 1, L);
        add_entry(&b, 0, 2, L);
        for (int k = 0; k < 5; k++) add_entry(&b, 0, next++, L);
        for (int k = 0; k < 5; k++) add_dead(&b, 1u << 30 | (rng(&s) >> 2));
        apply(l, L, protocol, &b);
        if (L % 100) continue;
        for (int a = 0; a < 2; a++) {
            contents c[BDB_LIST_LEVELS][2];
            read_levels(l, c, key[a], klen[a]);
            for (int j = 0; j < BDB_LIST_LEVELS; j++) {
                int in = c[j][0].has_key || c[j][1].has_key;
                if (j < 2)
                    cr_assert(in, "protocol %u ledger %u: account %d not in level %d", protocol, L,
                              a + 1, j);
                else if (protocol < 12)
                    cr_assert_not(in, "protocol %u ledger %u: account %d in level %d (shadowed)",
                                  protocol, L, a + 1, j);
                else if (j > 5)
                    cr_assert_not(in, "protocol %u ledger %u: account %d in level %d", protocol, L,
                                  a + 1, j);
                else if (L == 1200)
                    cr_assert(in, "protocol %u ledger 1200: account %d not in level %d", protocol,
                              a + 1, j);
            }
        }
    }
    close_all(l);
}

Test(list_facts, shadowing_before_protocol_11)
{
    shadowing(10);
}

Test(list_facts, shadowing_before_protocol_12)
{
    shadowing(11);
}

Test(list_facts, no_shadowing_from_protocol_12)
{
    shadowing(12);
}

Test(list_facts, tombstones_annihilate_init_entries)
{
    bdb_list *l = open_list(3);
    uint64_t s = 7, next = 1;
    static uint8_t alive[8 * 512 + 8];
    for (uint32_t L = 1; L <= 511; L++) {
        mbatch b = {0};
        uint64_t first_new = next;
        for (int k = 0; k < 8; k++) {
            alive[next] = 1;
            add_entry(&b, 1, next++, L);
        }
        /* random updates and deletes of entries of earlier ledgers */
        for (uint64_t id = 1; id < first_new && b.nl + b.nd < 40; id++) {
            if (!alive[id]) continue;
            uint64_t r = rng(&s) % 8;
            if (r == 0) {
                add_dead(&b, id);
                alive[id] = 0;
            } else if (r == 1) {
                add_entry(&b, 0, id, L);
            }
        }
        apply(l, L, 22, &b);
        contents c[BDB_LIST_LEVELS][2];
        read_levels(l, c, NULL, 0);
        for (uint32_t i = 0; i < BDB_LIST_LEVELS; i++)
            cr_assert_lt(c[i][0].records + c[i][1].records, 700, "ledger %u level %u: %llu", L, i,
                         (unsigned long long)(c[i][0].records + c[i][1].records));
    }
    close_all(l);
}

/* ---- BucketManagerTests, H22 ---- */

/* One object per bucket content: importing the same file twice gives the
 * same registered bucket (3 references: the registry and two owners);
 * once only the registry holds it, GC removes its file. */
Test(list_facts, one_object_per_bucket_and_gc_removes_its_file)
{
    bdb_list *l = open_list(1);
    mbatch b = {0};
    add_entry(&b, 1, 5, 1);
    apply(l, 1, 22, &b);
    bdb_list_view *v = bdb_list_view_acquire(l);
    const bdbi_lbucket *cur = v->live[0][0];
    cr_assert_not_null(cur);
    char src[4096], copy[4200];
    cr_assert_eq(bdbi_lbucket_path(l, cur, 0, src, sizeof src), 0);
    uint8_t h[32];
    memcpy(h, cur->hash, 32);
    bdb_list_view_release(v);
    /* the same content from outside the store */
    snprintf(copy, sizeof copy, "%s.copy", g_dir);
    uint8_t *data;
    size_t len;
    cr_assert_eq(sc_read_all(src, &data, &len), 0);
    FILE *f = fopen(copy, "wb");
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    free(data);
    bdbi_lbucket *a, *a2;
    cr_assert_eq(bdbi_lbucket_import(l, copy, 0, h, &a), 0, "%s", bdb_errmsg());
    cr_assert_eq(bdbi_lbucket_import(l, copy, 0, h, &a2), 0, "%s", bdb_errmsg());
    unlink(copy);
    cr_assert_eq(a, a2, "two objects for one bucket");
    /* the registry, level 0's curr, the current view, a and a2 */
    long refs = atomic_load(&a->refs);
    cr_assert_eq(refs, 5, "use count %ld", refs);
    bdbi_lbucket_unref(l, a2);
    /* ledger 2 makes it level 0's snap and merges it with the empty
     * level-1 curr: the same content, so the same object becomes level 1's
     * curr at ledger 4; ledger 6 commits the next level-1 merge, after
     * which nothing references it, and after the old views' grace period
     * the GC of ledger 8 removes its file */
    for (uint32_t L = 2; L <= 8; L++) {
        if (L == 8) bdbi_rcu_barrier();
        mbatch e = {0};
        add_entry(&e, 1, 5 + L, L);
        apply(l, L, 22, &e);
        if (L == 4) {
            bdb_list_view *w = bdb_list_view_acquire(l);
            cr_assert_eq(w->live[1][0], a,
                         "level 1's curr is another object with the same content");
            bdb_list_view_release(w);
        }
        if (L <= 5) {
            struct stat st;
            cr_assert_eq(stat(src, &st), 0, "ledger %u: %s removed while referenced", L, src);
        }
    }
    bdbi_lbucket_unref(l, a); /* kept for the comparison above */
    bdbi_rcu_barrier();
    mbatch e = {0};
    apply(l, 9, 22, &e);
    cr_assert_eq(bdb_list_wait_merges(l), 0);
    struct stat st;
    cr_assert_neq(stat(src, &st), 0, "%s still exists after GC", src);
    close_all(l);
}

/* Restarting a merge whose output is known reattaches to the finished
 * merge; starting it while it runs reattaches to the running one. */
Test(list_facts, reattach_to_finished_and_running_merges)
{
    bdb_list *l = open_list(2);
    uint32_t L = 1;
    for (; L <= 8; L++) {
        mbatch b = {0};
        for (int k = 0; k < 20; k++) add_entry(&b, 1, L * 100 + (uint64_t)k, L);
        apply(l, L, 22, &b);
    }
    /* ledger 8 started merges into levels 1 and 2 */
    bdbi_pmerge *m = l->live.levels[2].next;
    cr_assert_not_null(m);
    bdbi_merge_inputs in = *bdbi_pmerge_inputs(m);
    bdb_merge_counters before = {0}, after = {0};
    cr_assert_eq(bdb_list_merge_counters(l, 0, &before), 0);
    bdbi_pmerge *again;
    cr_assert_eq(bdbi_pmerge_start(l, &in, &again), 0, "%s", bdb_errmsg());
    bdbi_lbucket *o1, *o2;
    cr_assert_eq(bdbi_pmerge_resolve(m, &o1), 0);
    cr_assert_eq(bdbi_pmerge_resolve(again, &o2), 0);
    cr_assert_eq(o1, o2);
    cr_assert_eq(bdb_list_merge_counters(l, 0, &after), 0);
    uint64_t running = after.running_merge_reattachments - before.running_merge_reattachments;
    uint64_t finished = after.finished_merge_reattachments - before.finished_merge_reattachments;
    /* it was running or queued (reattached to it) or had just finished */
    cr_assert_eq(running + finished, 1, "running %llu finished %llu", (unsigned long long)running,
                 (unsigned long long)finished);
    bdbi_pmerge_unref(again);
    /* now it has finished: a new start must reattach to the finished one */
    memset(&before, 0, sizeof before);
    memset(&after, 0, sizeof after);
    cr_assert_eq(bdb_list_merge_counters(l, 0, &before), 0);
    cr_assert_eq(bdbi_pmerge_start(l, &in, &again), 0);
    bdbi_lbucket *o3;
    cr_assert_eq(bdbi_pmerge_resolve(again, &o3), 0);
    cr_assert_eq(o3, o1);
    cr_assert_eq(bdb_list_merge_counters(l, 0, &after), 0);
    cr_assert_eq(after.finished_merge_reattachments - before.finished_merge_reattachments, 1);
    cr_assert_eq(after.running_merge_reattachments, before.running_merge_reattachments);
    bdbi_pmerge_unref(again);
    bdbi_lbucket_unref(l, o1);
    bdbi_lbucket_unref(l, o2);
    bdbi_lbucket_unref(l, o3);
    close_all(l);
}

/* H22: below protocol 12 the pending merges of levels >= 2 carry their
 * shadows (levels 0..i-2, curr and snap) in their key; from 12 none. */
static void merge_key_shadows(uint32_t protocol)
{
    bdb_list *l = open_list(1);
    for (uint32_t L = 1; L <= 40; L++) {
        mbatch b = {0};
        add_entry(&b, 1, L, L);
        apply(l, L, protocol, &b);
        for (int i = 1; i < BDB_LIST_LEVELS; i++) {
            bdbi_pmerge *m = l->live.levels[i].next;
            if (!m) continue;
            const bdbi_merge_inputs *in = bdbi_pmerge_inputs(m);
            if (in->curr == NULL && in->snap == NULL) continue; /* a HAS-style clear merge */
            size_t want = protocol < 12 ? 2 * (size_t)(i - 1) : 0;
            cr_assert_eq(in->n_shadows, want, "protocol %u ledger %u level %d: %zu shadows",
                         protocol, L, i, in->n_shadows);
        }
    }
    close_all(l);
}

Test(list_facts, h22_merge_key_shadows_below_protocol_12)
{
    merge_key_shadows(11);
}

Test(list_facts, h22_merge_key_without_shadows_from_protocol_12)
{
    merge_key_shadows(12);
}
