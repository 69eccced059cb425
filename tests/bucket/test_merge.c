/* The streaming bucket merge against the facts of stellar-core's
 * src/bucket/test/BucketTests.cpp (spec §10), with the setups of those
 * tests, and the parity rules H1-H3 and H8-H10. Every result is also
 * compared with the reference merge of merge_ref.h (bytes and counters);
 * the randomized comparisons are in test_merge_diff.c. */
#include "config.h"

#include "merge_test_util.h"

TestSuite(merge, .init = setup, .fini = teardown);

/* for_versions_with_differing_bucket_logic (BucketTestUtils.cpp:64-77) */
static const uint32_t bucket_logic_versions[] = {10, 11, 12, 23};
#define N_VERSIONS (sizeof bucket_logic_versions / sizeof bucket_logic_versions[0])

/* Reads a live bucket back as a ref_bucket (input of the reference). */
static ref_bucket as_ref(const char *path, int hot)
{
    read_back rb = read_bucket(path, hot);
    return (ref_bucket){rb.protocol, rb.recs, rb.n};
}

/* Merges with the library and checks the result against the reference;
 * returns the output path (NULL for the empty bucket). */
static const char *merge_checked(const char *old, const char *new, const char *const *shadows,
                                 size_t ns, const bdb_merge_options *o, char out[512],
                                 bdb_merge_counters *mc, const char *what)
{
    ref_bucket rsh[8];
    for (size_t i = 0; i < ns; i++) rsh[i] = as_ref(shadows[i], 0);
    ref_bucket ro = as_ref(old, o->hot), rn = as_ref(new, o->hot);
    ref_result ref;
    ref_merge(&ro, &rn, rsh, ns, o, &ref);
    bdb_bucket_info info;
    const char *path;
    int rc = merge(old, new, shadows, ns, o, mc, &info, &path, out);
    assert_matches_ref(rc, &info, mc, &ref, o->hot, what);
    ref_result_free(&ref);
    return path;
}

/* EntryCounts of BucketTestUtils.cpp:106-133 */
static void expect_counts(const char *path, int hot, size_t meta, size_t init, size_t live,
                          size_t dead, const char *what, uint32_t v)
{
    read_back rb = read_bucket(path, hot);
    cr_assert_eq((size_t)rb.meta, meta, "%s (protocol %u): nMeta", what, v);
    cr_assert_eq(rb.init, init, "%s (protocol %u): nInitOrArchived", what, v);
    cr_assert_eq(rb.live, live, "%s (protocol %u): nLive", what, v);
    cr_assert_eq(rb.dead, dead, "%s (protocol %u): nDead", what, v);
}

static void shuffle(size_t *a, size_t n, unsigned *seed)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rand_r(seed) % i, t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* "merging bucket entries" / "dead <TYPE> annihilates live <TYPE>": for
 * each entry type, fresh {LIVE x} merged with fresh {DEAD x} is exactly
 * one entry, the DEAD. stellar-core lists nine types (TTL is in its switch
 * but not called); all ten are checked here. */
Test(merge, dead_annihilates_live_of_every_type)
{
    for (size_t vi = 0; vi < N_VERSIONS; vi++) {
        uint32_t v = bucket_logic_versions[vi];
        bdb_merge_options o = merge_opts(v);
        for (int32_t t = BDB_ACCOUNT; t <= BDB_TTL; t++) {
            const pool_entry *p = of_type(t, 0);
            bdb_bytes live = entry_at(p, 10), dead = key_of(p);
            char pl[512], pd[512], po[512];
            const char *bl = fresh(v, NULL, 0, &live, 1, NULL, 0, pl);
            const char *bd = fresh(v, NULL, 0, NULL, 0, &dead, 1, pd);
            bdb_merge_counters mc;
            const char *out = merge_checked(bl, bd, NULL, 0, &o, po, &mc, p->name);
            expect_counts(out, 0, v >= 11, 0, 0, 1, p->name, v);
            read_back rb = read_bucket(out, 0);
            cr_assert_eq(rb.recs[0].len, 4 + p->key_len);
            cr_assert_eq(memcmp(rb.recs[0].xdr + 4, p->key, p->key_len), 0, "the new DEAD");
            cr_assert_eq(mc.new_entries_merged_with_old_neither_init, 1);
        }
    }
}

/* "merging bucket entries" / "random dead entries annihilates live
 * entries": 100 unique entries, a random subset (no CONFIG_SETTING) as
 * DEAD: the merge has 100 entries of which 100 - |dead| are LIVE. */
Test(merge, random_dead_entries_annihilate_live_entries)
{
    unsigned seed = 20260805;
    size_t *idx = keep(malloc(pool_n * sizeof *idx));
    for (size_t vi = 0; vi < N_VERSIONS; vi++) {
        uint32_t v = bucket_logic_versions[vi];
        bdb_merge_options o = merge_opts(v);
        for (int round = 0; round < 3; round++) {
            for (size_t i = 0; i < pool_n; i++) idx[i] = i;
            shuffle(idx, pool_n, &seed);
            bdb_bytes live[100], dead[100];
            size_t nd = 0;
            for (size_t i = 0; i < 100; i++) {
                const pool_entry *p = &pool[idx[i]];
                live[i] = entry_at(p, 7);
                if (rand_r(&seed) % 2 && p->entry_type != BDB_CONFIG_SETTING)
                    dead[nd++] = key_of(p);
            }
            char pl[512], pd[512], po[512];
            const char *bl = fresh(v, NULL, 0, live, 100, NULL, 0, pl);
            const char *bd = fresh(v, NULL, 0, NULL, 0, dead, nd, pd);
            bdb_merge_counters mc;
            const char *out = merge_checked(bl, bd, NULL, 0, &o, po, &mc, "random dead");
            expect_counts(out, 0, v >= 11, 0, 100 - nd, nd, "random dead", v);
        }
    }
}

/* "merging bucket entries" / "random live entries overwrite live entries
 * in any order": b1 = fresh(live), b2 = fresh(live shuffled with about
 * half replaced by other entries): the merge holds |live| + #replaced. */
Test(merge, random_live_entries_overwrite_live_entries)
{
    unsigned seed = 11;
    size_t *idx = keep(malloc(pool_n * sizeof *idx)), n = 0;
    for (size_t i = 0; i < pool_n; i++)
        if (pool[i].entry_type != BDB_CONFIG_SETTING) idx[n++] = i;
    enum { N = 90 };
    cr_assert_geq(n, 2 * N);
    for (size_t vi = 0; vi < N_VERSIONS; vi++) {
        uint32_t v = bucket_logic_versions[vi];
        bdb_merge_options o = merge_opts(v);
        shuffle(idx, n, &seed);
        bdb_bytes l1[N], l2[N];
        size_t count = N, fresh_next = N;
        for (size_t i = 0; i < N; i++) l1[i] = entry_at(&pool[idx[i]], 3);
        for (size_t i = 0; i < N; i++) {
            l2[i] = l1[i];
            if (rand_r(&seed) % 2) {
                l2[i] = entry_at(&pool[idx[fresh_next++]], 4);
                count++;
            }
        }
        char p1[512], p2[512], po[512];
        const char *b1 = fresh(v, NULL, 0, l1, N, NULL, 0, p1);
        const char *b2 = fresh(v, NULL, 0, l2, N, NULL, 0, p2);
        bdb_merge_counters mc;
        const char *out = merge_checked(b1, b2, NULL, 0, &o, po, &mc, "overwrite");
        read_back rb = read_bucket(out, 0);
        cr_assert_eq(rb.n, count, "protocol %u", v);
    }
}

/* "merging hot archive bucket entries" / "new annihilates old", protocols
 * from 23: old {e1 ARCHIVED, e2 LIVE, e3 ARCHIVED} + new {e1 LIVE, e2
 * ARCHIVED, e4 LIVE} = {e1 LIVE, e2 ARCHIVED, e3 ARCHIVED, e4 LIVE}. */
Test(merge, hot_archive_new_annihilates_old)
{
    static const uint32_t versions[] = {23, 24, 25, 28};
    const pool_entry *e[4];
    for (int i = 0; i < 4; i++) e[i] = of_type(BDB_CONTRACT_CODE, i);
    for (size_t vi = 0; vi < 4; vi++) {
        uint32_t v = versions[vi];
        bdb_bytes a1[2] = {entry_at(e[0], 1), entry_at(e[2], 3)}, r1[1] = {key_of(e[1])};
        bdb_bytes a2[1] = {entry_at(e[1], 2)}, r2[2] = {key_of(e[0]), key_of(e[3])};
        bdb_bucket_info i1, i2;
        cr_assert_eq(bdb_bucket_fresh_hot(env, dir, v, 0, a1, 2, r1, 1, &i1), 0, "%s",
                     bdb_errmsg());
        cr_assert_eq(bdb_bucket_fresh_hot(env, dir, v, 0, a2, 1, r2, 2, &i2), 0, "%s",
                     bdb_errmsg());
        char p1[512], p2[512], po[512];
        path_of(&i1, p1);
        path_of(&i2, p2);
        bdb_merge_options o = merge_opts(v);
        o.hot = 1;
        bdb_merge_counters mc;
        const char *out = merge_checked(p1, p2, NULL, 0, &o, po, &mc, "hot");
        read_back rb = read_bucket(out, 1);
        cr_assert_eq(rb.n, 4);
        cr_assert_eq(rb.protocol, v);
        for (size_t k = 0; k < 4; k++) {
            /* e1 and e4 restored (LIVE key), e2 and e3 archived entries */
            const pool_entry *p = NULL;
            for (int i = 0; i < 4; i++)
                if (rb.recs[k].sk_len == e[i]->sk_len &&
                    !memcmp(rb.recs[k].sk, e[i]->sk, e[i]->sk_len))
                    p = e[i];
            cr_assert_not_null(p);
            int restored = p == e[0] || p == e[3];
            cr_assert_eq(rb.recs[k].type, restored ? BDB_HOT_LIVE : BDB_HOT_ARCHIVED);
            bdb_bytes want = restored ? key_of(p) : entry_at(p, p == e[1] ? 2 : 3);
            cr_assert(rb.recs[k].len == 4 + want.len &&
                      !memcmp(rb.recs[k].xdr + 4, want.data, want.len));
        }
        /* no shadows in hot archives */
        const char *sh[] = {p1};
        bdb_bucket_info info;
        cr_assert_eq(merge(p1, p2, sh, 1, &o, &mc, &info, &out, po), BDB_EINVAL);
        out = merge_checked(p1, p2, NULL, 0, &o, po, &mc, "hot");
        /* hot merges count only default-accepted and output counters */
        cr_assert_eq(mc.old_entries_default_accepted, 1);
        cr_assert_eq(mc.new_entries_default_accepted, 1);
        cr_assert_eq(mc.new_entries_merged_with_old_neither_init +
                         mc.post_init_entry_protocol_merges + mc.new_live_entries +
                         mc.old_live_entries,
                     0);
    }
}

/* "merges proceed old-style despite newer shadows" (BucketTests.cpp:426) */
Test(merge, merges_proceed_old_style_despite_newer_shadows)
{
    const pool_entry *acc = of_type(BDB_ACCOUNT, 0), *other = of_type(BDB_ACCOUNT, 1);
    bdb_bytes live = entry_at(acc, 1), otherA = entry_at(other, 1);
    char p[6][512], po[512];
    const char *b10first = fresh(10, NULL, 0, &live, 1, NULL, 0, p[0]);
    const char *b10second = fresh(10, NULL, 0, &otherA, 1, NULL, 0, p[1]);
    const char *b11first = fresh(11, NULL, 0, &live, 1, NULL, 0, p[2]);
    const char *b11second = fresh(11, NULL, 0, &otherA, 1, NULL, 0, p[3]);
    const char *b12first = fresh(12, NULL, 0, &live, 1, NULL, 0, p[4]);
    const char *b12second = fresh(12, NULL, 0, &otherA, 1, NULL, 0, p[5]);
    bdb_merge_options o = merge_opts(12);
    bdb_merge_counters mc;

    /* "shadow version 12": the v12 shadow does not raise the version */
    const char *sh1[] = {b12first};
    const char *out = merge_checked(b11first, b11second, sh1, 1, &o, po, &mc, "shadow v12");
    read_back rb = read_bucket(out, 0);
    cr_assert_eq(rb.protocol, 11);
    /* derived: at 11 the LIVE entry under a shadow is still elided */
    cr_assert_eq(rb.n, 1);
    cr_assert_eq(mc.live_entry_shadow_elisions, 1);

    /* "shadow versions mixed, pick lower": v10 inputs, shadows {12, 11} */
    const char *sh2[] = {b12first, b11second};
    out = merge_checked(b10first, b10second, sh2, 2, &o, po, &mc, "mixed shadows");
    rb = read_bucket(out, 0);
    cr_assert_eq(rb.protocol, 11);
    cr_assert_eq(rb.n, 0, "derived: both entries are shadowed, a meta-only bucket remains");
    cr_assert_eq(mc.live_entry_shadow_elisions, 2);

    /* "refuse to merge new version with shadow" */
    int tmp, files = count_files(&tmp);
    bdb_bucket_info info;
    cr_assert_eq(merge(b12first, b12second, sh1, 1, &o, &mc, &info, &out, po), BDB_EPROTOCOL);
    cr_assert_eq(count_files(&tmp), files);
    cr_assert_eq(tmp, 0);
}

/* "merges refuse to exceed max protocol version": two v(n) buckets merged
 * with maximum n - 1 fail (and leave nothing); v(n - 1) buckets do not. */
Test(merge, merges_refuse_to_exceed_max_protocol_version)
{
    static const uint32_t versions[] = {11, 12, 23, 28};
    const pool_entry *acc = of_type(BDB_ACCOUNT, 0), *other = of_type(BDB_ACCOUNT, 1);
    bdb_bytes live = entry_at(acc, 1), otherA = entry_at(other, 1);
    for (size_t vi = 0; vi < 4; vi++) {
        uint32_t v = versions[vi];
        char p[4][512], po[512];
        const char *bold1 = fresh(v - 1, NULL, 0, &live, 1, NULL, 0, p[0]);
        const char *bold2 = fresh(v - 1, NULL, 0, &otherA, 1, NULL, 0, p[1]);
        const char *bnew1 = fresh(v, NULL, 0, &live, 1, NULL, 0, p[2]);
        const char *bnew2 = fresh(v, NULL, 0, &otherA, 1, NULL, 0, p[3]);
        bdb_merge_options o = merge_opts(v - 1);
        bdb_merge_counters mc;
        bdb_bucket_info info;
        const char *out;
        int tmp, files = count_files(&tmp);
        cr_assert_eq(merge(bnew1, bnew2, NULL, 0, &o, &mc, &info, &out, po), BDB_EPROTOCOL,
                     "protocol %u", v);
        cr_assert_eq(merge(bold1, bnew2, NULL, 0, &o, &mc, &info, &out, po), BDB_EPROTOCOL);
        o.level0 = 1; /* the level-0 rule does not lift the limit */
        cr_assert_eq(merge(bnew1, bold2, NULL, 0, &o, &mc, &info, &out, po), BDB_EPROTOCOL);
        cr_assert_eq(count_files(&tmp), files);
        cr_assert_eq(tmp, 0);
        o.level0 = 0;
        merge_checked(bold1, bold2, NULL, 0, &o, po, &mc, "old versions");
    }
}

/* The entries of "merging bucket entries with initentry (with shadows)"
 * (BucketTests.cpp:579-593): one account in several states, others. */
typedef struct init_setup {
    bdb_bytes live, init, init2, otherA, otherB, otherC, otherInitA, dead;
} init_setup;

static init_setup make_init_setup(void)
{
    const pool_entry *x = of_type(BDB_ACCOUNT, 0);
    init_setup s = {
        .live = entry_at(x, 1),
        .init = entry_at(x, 4),
        .init2 = entry_at(x, 5),
        .otherA = entry_at(of_type(BDB_ACCOUNT, 1), 1),
        .otherB = entry_at(of_type(BDB_ACCOUNT, 2), 1),
        .otherC = entry_at(of_type(BDB_ACCOUNT, 3), 1),
        .otherInitA = entry_at(of_type(BDB_ACCOUNT, 1), 6),
        .dead = key_of(x),
    };
    return s;
}

/* "merging bucket entries with initentry" (BucketTests.cpp:561) */
Test(merge, merging_bucket_entries_with_initentry)
{
    init_setup s = make_init_setup();
    for (size_t vi = 0; vi < N_VERSIONS; vi++) {
        uint32_t v = bucket_logic_versions[vi];
        int era = v >= 11;
        bdb_merge_options o = merge_opts(v);
        bdb_merge_counters mc;
        char pi[512], pl[512], pd[512], pm[512], po[512];
        const char *bInit = fresh(v, &s.init, 1, NULL, 0, NULL, 0, pi);
        const char *bLive = fresh(v, NULL, 0, &s.live, 1, NULL, 0, pl);
        const char *bDead = fresh(v, NULL, 0, NULL, 0, &s.dead, 1, pd);

        /* "dead and init account entries merge correctly" */
        const char *b1 = merge_checked(bInit, bDead, NULL, 0, &o, po, &mc, "init+dead");
        expect_counts(b1, 0, era, 0, 0, !era, "init+dead", v);
        cr_assert_eq(mc.old_init_entries_merged_with_new_dead, era);

        /* "dead and init entries merge with intervening live entries" */
        const char *m1 = merge_checked(bInit, bLive, NULL, 0, &o, pm, &mc, "init+live");
        b1 = merge_checked(m1, bDead, NULL, 0, &o, po, &mc, "(init+live)+dead");
        expect_counts(b1, 0, era, 0, 0, !era, "(init+live)+dead", v);

        /* "dead and init entries annihilate multiple live entries via
         * separate buckets" */
        bdb_bytes med[4] = {s.otherA, s.otherB, s.live, s.otherC};
        char pmed[512], p1[512], p2[512];
        const char *bmed = fresh(v, NULL, 0, med, 4, NULL, 0, pmed);
        expect_counts(bInit, 0, era, era, !era, 0, "bold", v);
        expect_counts(bmed, 0, era, 0, 4, 0, "bmed", v);
        expect_counts(bDead, 0, era, 0, 0, 1, "bnew", v);
        const char *bm1 = merge_checked(bInit, bmed, NULL, 0, &o, p1, &mc, "bold+bmed");
        const char *bm2 = merge_checked(bm1, bDead, NULL, 0, &o, p2, &mc, "merge1+bnew");
        expect_counts(bm1, 0, era, era, era ? 3 : 4, 0, "bmerge1", v);
        expect_counts(bm2, 0, era, 0, 3, !era, "bmerge2", v);
    }
}

/* "merging bucket entries with initentry with shadows" (BucketTests.cpp:751),
 * for_versions_with_differing_initentry_logic: protocols 10 and 11 */
Test(merge, merging_bucket_entries_with_initentry_with_shadows)
{
    init_setup s = make_init_setup();
    for (uint32_t v = 10; v <= 11; v++) {
        int era = v >= 11;
        bdb_merge_options o = merge_opts(v);
        bdb_merge_counters mc;
        char p[8][512], po[4][512];

        /* "shadows influence lifecycle entries appropriately" */
        const char *shadow = fresh(v, NULL, 0, &s.live, 1, NULL, 0, p[0]);
        const char *b1 = fresh(v, &s.init, 1, NULL, 0, NULL, 0, p[1]);
        const char *b2 = fresh(v, &s.otherInitA, 1, NULL, 0, NULL, 0, p[2]);
        const char *sh[] = {shadow};
        const char *m = merge_checked(b1, b2, sh, 1, &o, po[0], &mc, "lifecycle");
        expect_counts(m, 0, era, era ? 2 : 0, !era, 0, "lifecycle", v);

        /* "shadowing does not revive dead entries" (level1 newest) */
        const char *level1 = fresh(v, NULL, 0, NULL, 0, &s.dead, 1, p[3]);
        const char *level2 = fresh(v, &s.init2, 1, NULL, 0, NULL, 0, p[4]);
        const char *level3 = fresh(v, NULL, 0, NULL, 0, &s.dead, 1, p[5]);
        const char *level4 = fresh(v, NULL, 0, NULL, 0, NULL, 0, p[6]);
        const char *level5 = fresh(v, &s.init, 1, NULL, 0, NULL, 0, p[7]);
        const char *sh21[] = {level2, level1};
        const char *m43 = merge_checked(level4, level3, sh21, 2, &o, po[0], &mc, "merge43");
        expect_counts(m43, 0, era, 0, 0, era, "merge43", v);
        const char *m21 = merge_checked(level2, level1, NULL, 0, &o, po[1], &mc, "merge21");
        expect_counts(m21, 0, era, 0, 0, !era, "merge21", v);
        const char *m4321 = merge_checked(m43, m21, NULL, 0, &o, po[2], &mc, "merge4321");
        /* stellar-core counts merge21 again here (a slip); the spec's
         * fact is about merge54321 */
        const char *m54321 = merge_checked(level5, m4321, NULL, 0, &o, po[3], &mc, "merge54321");
        expect_counts(m54321, 0, era, 0, 0, !era, "merge54321", v);

        /* "shadowing does not eliminate init entries" (level1 newest) */
        level1 = fresh(v, NULL, 0, NULL, 0, &s.dead, 1, p[3]);
        level2 = fresh(v, NULL, 0, &s.live, 1, NULL, 0, p[4]);
        const char *level3b = fresh(v, &s.init, 1, NULL, 0, NULL, 0, p[5]);
        const char *sh1[] = {level1};
        const char *m32 = merge_checked(level3b, level2, sh1, 1, &o, po[0], &mc, "merge32");
        expect_counts(m32, 0, era, era, 0, 0, "merge32", v);
        const char *m321 = merge_checked(m32, level1, NULL, 0, &o, po[1], &mc, "merge321");
        expect_counts(m321, 0, era, 0, 0, !era, "merge321", v);
    }
}

/* ---- parity rules ---- */

static int pool_order(const void *a, const void *b)
{
    const pool_entry *x = *(const pool_entry *const *)a, *y = *(const pool_entry *const *)b;
    size_t n = x->sk_len < y->sk_len ? x->sk_len : y->sk_len;
    int c = memcmp(x->sk, y->sk, n);
    return c ? c : (x->sk_len > y->sk_len) - (x->sk_len < y->sk_len);
}

/* The first n entries of `type` in key order. */
static void sorted_of_type(int32_t type, size_t n, const pool_entry **out)
{
    for (size_t i = 0; i < n; i++) out[i] = of_type(type, (int)i);
    qsort(out, n, sizeof *out, pool_order);
}

static void hex32(const uint8_t *h, char out[65])
{
    for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", h[i]);
}

/* The output's hash in hex, "" for the empty bucket. */
static const char *merged_hash(const char *old, const char *new, const bdb_merge_options *o,
                               char out[65])
{
    bdb_merge_counters mc;
    bdb_bucket_info info;
    const char *path;
    char po[512];
    cr_assert_eq(merge(old, new, NULL, 0, o, &mc, &info, &path, po), 0, "%s", bdb_errmsg());
    if (info.empty) return strcpy(out, "");
    hex32(info.hash, out);
    return out;
}

/* H1/H2: with `level0` the output is at max_protocol whatever the inputs
 * (in stellar-core the in-memory merge and the fresh-then-merge fallback
 * both write the ledger's protocol); without it, the maximum of the
 * inputs. */
Test(merge, h1_h2_level0_writes_the_ledger_protocol)
{
    const pool_entry *a = of_type(BDB_ACCOUNT, 0), *b = of_type(BDB_ACCOUNT, 1);
    bdb_bytes ea = entry_at(a, 1), eb = entry_at(b, 1);
    static const uint32_t pairs[][3] = {/* input protocol, max, expected with level0 */
                                        {22, 23, 23},
                                        {10, 11, 11},
                                        {10, 10, 0},
                                        {11, 28, 28},
                                        {23, 23, 23}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char p1[512], p2[512], po[512];
        const char *b1 = fresh(pairs[i][0], NULL, 0, &ea, 1, NULL, 0, p1);
        const char *b2 = fresh(pairs[i][0], NULL, 0, &eb, 1, NULL, 0, p2);
        bdb_merge_options o = merge_opts(pairs[i][1]);
        bdb_merge_counters mc;
        const char *out = merge_checked(b1, b2, NULL, 0, &o, po, &mc, "disk rule");
        cr_assert_eq(read_bucket(out, 0).protocol, pairs[i][0] >= 11 ? pairs[i][0] : 0);
        o.level0 = 1;
        out = merge_checked(b1, b2, NULL, 0, &o, po, &mc, "level-0 rule");
        read_back rb = read_bucket(out, 0);
        cr_assert_eq(rb.protocol, pairs[i][2], "inputs %u, max %u", pairs[i][0], pairs[i][1]);
        cr_assert_eq(rb.n, 2);
        cr_assert_eq(mc.post_init_entry_protocol_merges, pairs[i][1] >= 11);
        /* H2: an empty curr and the fresh bucket of the ledger */
        out = merge_checked(NULL, b2, NULL, 0, &o, po, &mc, "level-0 rule, empty curr");
        cr_assert_eq(read_bucket(out, 0).protocol, pairs[i][2]);
    }
    /* nothing at all at level 0 from 11 on is still a meta-only bucket
     * (spec §1.4 hashes) */
    char h[65];
    bdb_merge_options o = merge_opts(23);
    o.level0 = 1;
    cr_assert_str_eq(merged_hash(NULL, NULL, &o, h),
                     "8475245632bdc490ef81f9204d51cb1642015118c430fab2895f53ccc003ff8c");
    o.hot = 1;
    cr_assert_str_eq(merged_hash(NULL, NULL, &o, h),
                     "d3ca223ced12b53fe2ff5f209bd9bda7fe2468dac3696f2bf76432f3fa0f7385");
    /* a hot METAENTRY needs protocol 23 (ext v1, BucketOutputIterator.cpp:57-69) */
    o.max_protocol = 22;
    bdb_merge_counters mc;
    char po[512];
    merge_checked(NULL, NULL, NULL, 0, &o, po, &mc, "hot level 0 at 22");
}

/* H3: when every entry annihilates from 11 on, the output is the
 * meta-only bucket (a real bucket: spec §1.4 bytes and hash); two empty
 * inputs give the empty bucket (zero hash, no file). */
Test(merge, h3_meta_only_output_is_a_real_bucket)
{
    static const struct {
        uint32_t v;
        const char *hash;
    } meta_only[] = {
        {11, "056cd09fa286b2de1ff329b224259b858f94ec1dcc93f0e0512b2f6819348951"},
        {22, "dd0fa2787678f70814f725d98cb99955f13a4da2c3ba4339fc708374e655b139"},
        {23, "8475245632bdc490ef81f9204d51cb1642015118c430fab2895f53ccc003ff8c"},
        {25, "aeb747071777bc8e94c7366debbf0f3279ec15b4de5298c7c370cec1de2ed939"},
    };
    const pool_entry *x = of_type(BDB_CONTRACT_DATA, 0);
    bdb_bytes e = entry_at(x, 9), k = key_of(x);
    char h[65];
    for (size_t i = 0; i < 4; i++) {
        char pi[512], pd[512], po[512];
        const char *bi = fresh(meta_only[i].v, &e, 1, NULL, 0, NULL, 0, pi);
        const char *bd = fresh(meta_only[i].v, NULL, 0, NULL, 0, &k, 1, pd);
        bdb_merge_options o = merge_opts(meta_only[i].v);
        o.keep_tombstones = (int)(i % 2);
        cr_assert_str_eq(merged_hash(bi, bd, &o, h), meta_only[i].hash);
        bdb_merge_counters mc;
        merge_checked(bi, bd, NULL, 0, &o, po, &mc, "init+dead");
        cr_assert_eq(mc.output_iterator_buffer_updates, 1, "the METAENTRY went through put");
        cr_assert_eq(mc.output_iterator_actual_writes, 0, "the final flush is not counted");
    }
    int tmp, files = count_files(&tmp);
    bdb_merge_options o = merge_opts(28);
    cr_assert_str_eq(merged_hash(NULL, NULL, &o, h), "");
    o.hot = 1;
    cr_assert_str_eq(merged_hash(NULL, NULL, &o, h), "");
    /* protocol 10 with every entry dropped: nothing written, no file */
    char pd[512];
    const char *bd = fresh(10, NULL, 0, NULL, 0, &k, 1, pd);
    o = merge_opts(10);
    o.keep_tombstones = 0;
    cr_assert_str_eq(merged_hash(NULL, bd, &o, h), "");
    cr_assert_eq(count_files(&tmp), files + 1, "only the input bucket was added");
    cr_assert_eq(tmp, 0);
}

/* H8: no INIT -> LIVE normalization, even at the bottom level. */
Test(merge, h8_init_survives_a_bottom_level_merge)
{
    const pool_entry *q[2];
    sorted_of_type(BDB_TRUSTLINE, 2, q);
    bdb_bytes x = entry_at(q[0], 1), x2 = entry_at(q[0], 2), y = entry_at(q[1], 1);
    for (uint32_t v = 11; v <= 23; v += 12) {
        char p1[512], p2[512], p3[512], po[512];
        const char *bx = fresh(v, &x, 1, NULL, 0, NULL, 0, p1);
        const char *by = fresh(v, NULL, 0, &y, 1, NULL, 0, p2);
        const char *bx2 = fresh(v, NULL, 0, &x2, 1, NULL, 0, p3);
        bdb_merge_options o = merge_opts(v);
        o.keep_tombstones = 0;
        bdb_merge_counters mc;
        const char *out = merge_checked(bx, by, NULL, 0, &o, po, &mc, "INIT x + LIVE y");
        expect_counts(out, 0, 1, 1, 1, 0, "INIT x + LIVE y", v);
        out = merge_checked(bx, bx2, NULL, 0, &o, po, &mc, "INIT x + LIVE x'");
        read_back rb = read_bucket(out, 0);
        cr_assert_eq(rb.n, 1);
        cr_assert_eq(rb.recs[0].type, BDB_INITENTRY);
        cr_assert_eq(memcmp(rb.recs[0].xdr + 4, x2.data, x2.len), 0, "INIT with the new value");
    }
}

/* H9: the CAP-0020 table. Old INIT + new INIT and old LIVE + new INIT are
 * malformed input (BDB_EFORMAT, nothing left behind); DEAD + INIT=x gives
 * LIVE=x, INIT + LIVE=y gives INIT=y, INIT + DEAD gives nothing. */
Test(merge, h9_equal_key_table)
{
    const pool_entry *x = of_type(BDB_OFFER, 0);
    bdb_bytes e1 = entry_at(x, 1), e2 = entry_at(x, 2), k = key_of(x);
    for (uint32_t v = 11; v <= 23; v += 12) {
        char pi1[512], pi2[512], pl[512], pd[512], po[512];
        const char *init1 = fresh(v, &e1, 1, NULL, 0, NULL, 0, pi1);
        const char *init2 = fresh(v, &e2, 1, NULL, 0, NULL, 0, pi2);
        const char *live1 = fresh(v, NULL, 0, &e1, 1, NULL, 0, pl);
        const char *dead = fresh(v, NULL, 0, NULL, 0, &k, 1, pd);
        bdb_merge_options o = merge_opts(v);
        bdb_merge_counters mc;
        bdb_bucket_info info;
        const char *out;
        int tmp, files = count_files(&tmp);
        cr_assert_eq(merge(init1, init2, NULL, 0, &o, &mc, &info, &out, po), BDB_EFORMAT);
        cr_assert_eq(merge(live1, init2, NULL, 0, &o, &mc, &info, &out, po), BDB_EFORMAT);
        o.keep_tombstones = 0;
        cr_assert_eq(merge(live1, init2, NULL, 0, &o, &mc, &info, &out, po), BDB_EFORMAT);
        cr_assert_eq(count_files(&tmp), files, "no bucket from a malformed merge");
        cr_assert_eq(tmp, 0, "no temporary file from a malformed merge");
        o.keep_tombstones = 1;
        static const struct {
            int old, new; /* 0 init1, 1 init2, 2 live1, 3 dead */
            int32_t type; /* -2: nothing */
            int value;    /* 1 or 2: e1 or e2 */
        } cases[] = {{3, 1, BDB_LIVEENTRY, 2}, {0, 2, BDB_INITENTRY, 1}, {1, 3, -2, 0}};
        const char *b[4] = {init1, init2, live1, dead};
        for (int c = 0; c < 3; c++) {
            out = merge_checked(b[cases[c].old], b[cases[c].new], NULL, 0, &o, po, &mc, "rewrite");
            read_back rb = read_bucket(out, 0);
            cr_assert_eq(rb.meta, 1);
            if (cases[c].type == -2) {
                cr_assert_eq(rb.n, 0);
                cr_assert_eq(mc.old_init_entries_merged_with_new_dead, 1);
                continue;
            }
            bdb_bytes want = cases[c].value == 1 ? e1 : e2;
            cr_assert_eq(rb.n, 1);
            cr_assert_eq(rb.recs[0].type, cases[c].type);
            cr_assert(rb.recs[0].len == 4 + want.len &&
                      !memcmp(rb.recs[0].xdr + 4, want.data, want.len));
            cr_assert_eq(cases[c].type == BDB_LIVEENTRY ? mc.new_init_entries_merged_with_old_dead
                                                        : mc.old_init_entries_merged_with_new_live,
                         1);
        }
    }
}

/* H10: tombstones (DEAD; HOT_ARCHIVE_LIVE in hot archives) are dropped
 * only with keep_tombstones = 0, at any protocol, and counted. */
Test(merge, h10_tombstones_dropped_only_at_the_bottom)
{
    const pool_entry *q[3];
    sorted_of_type(BDB_CONTRACT_CODE, 3, q);
    bdb_bytes x = entry_at(q[0], 1), kx = key_of(q[0]), ky = key_of(q[1]), z = entry_at(q[2], 1);
    for (size_t vi = 0; vi < N_VERSIONS; vi++) {
        uint32_t v = bucket_logic_versions[vi];
        char p1[512], p2[512], po[512];
        const char *old = fresh(v, NULL, 0, &x, 1, NULL, 0, p1);
        bdb_bytes dead[2] = {kx, ky};
        const char *new = fresh(v, &z, 1, NULL, 0, dead, 2, p2);
        for (int keep_t = 0; keep_t <= 1; keep_t++) {
            bdb_merge_options o = merge_opts(v);
            o.keep_tombstones = keep_t;
            bdb_merge_counters mc;
            const char *out = merge_checked(old, new, NULL, 0, &o, po, &mc, "live tombstones");
            int era = v >= 11;
            expect_counts(out, 0, era, era, !era, keep_t ? 2 : 0, "tombstones", v);
            cr_assert_eq(mc.output_iterator_tombstone_elisions, keep_t ? 0 : 2);
        }
    }
    /* hot: old {x ARCHIVED}, new {x LIVE, y LIVE, z ARCHIVED} */
    bdb_bytes restored[2] = {kx, ky};
    bdb_bucket_info i1, i2;
    cr_assert_eq(bdb_bucket_fresh_hot(env, dir, 23, 0, &x, 1, NULL, 0, &i1), 0);
    cr_assert_eq(bdb_bucket_fresh_hot(env, dir, 24, 0, &z, 1, restored, 2, &i2), 0);
    char p1[512], p2[512], po[512];
    path_of(&i1, p1);
    path_of(&i2, p2);
    for (int keep_t = 0; keep_t <= 1; keep_t++) {
        bdb_merge_options o = merge_opts(24);
        o.hot = 1;
        o.keep_tombstones = keep_t;
        bdb_merge_counters mc;
        const char *out = merge_checked(p1, p2, NULL, 0, &o, po, &mc, "hot tombstones");
        read_back rb = read_bucket(out, 1);
        cr_assert_eq(rb.protocol, 24);
        cr_assert_eq(rb.init, 1, "z stays archived");
        cr_assert_eq(rb.live, keep_t ? 2 : 0);
        cr_assert_eq(mc.output_iterator_tombstone_elisions, keep_t ? 0 : 2);
    }
}

/* Counters worked out by hand from stellar-core's code, checked against
 * both the library and the reference. At protocol 10 (k0 < ... < k5):
 * old {LIVE k1, LIVE k3}, new {LIVE k3, LIVE k4, DEAD k5}, shadows
 * S1 {k0, k2, k4}, S2 {k5}: k1 kept (S1 steps over k0), k3 taken from new
 * (S1 steps over k2), k4 elided by S1, k5 (DEAD, shadowable below 11)
 * steps S1 past k4 and is elided by S2. Output k1, k3 without METAENTRY. */
Test(merge, counters_by_hand_with_shadows)
{
    const pool_entry *k[6];
    sorted_of_type(BDB_ACCOUNT, 6, k);
    bdb_bytes e[6], dk5 = key_of(k[5]);
    for (int i = 0; i < 6; i++) e[i] = entry_at(k[i], (uint32_t)(10 + i));
    bdb_bytes old_live[2] = {e[1], e[3]}, new_live[2] = {entry_at(k[3], 30), e[4]};
    bdb_bytes s1[3] = {e[0], e[2], e[4]};
    char po_[512], pn[512], ps1[512], ps2[512], po[512];
    const char *old = fresh(10, NULL, 0, old_live, 2, NULL, 0, po_);
    const char *new = fresh(10, NULL, 0, new_live, 2, &dk5, 1, pn);
    const char *sh[2] = {fresh(10, NULL, 0, s1, 3, NULL, 0, ps1),
                         fresh(10, NULL, 0, &e[5], 1, NULL, 0, ps2)};
    bdb_merge_options o = merge_opts(10);
    bdb_merge_counters mc, want;
    const char *out = merge_checked(old, new, sh, 2, &o, po, &mc, "by hand, shadows");
    memset(&want, 0, sizeof want);
    want.pre_init_entry_protocol_merges = 1;
    want.pre_shadow_removal_protocol_merges = 1;
    want.old_live_entries = 2;
    want.new_live_entries = 2;
    want.new_dead_entries = 1;
    want.old_entries_default_accepted = 1;
    want.new_entries_default_accepted = 2;
    want.new_entries_merged_with_old_neither_init = 1;
    want.shadow_scan_steps = 3;
    want.live_entry_shadow_elisions = 1;
    want.dead_entry_shadow_elisions = 1;
    want.output_iterator_buffer_updates = 2;
    want.output_iterator_actual_writes = 1;
    assert_same_counters(&mc, &want, "by hand, shadows");
    /* the counters are added to, not overwritten */
    bdb_bucket_info info;
    cr_assert_eq(bdb_bucket_merge(env, dir, old, new, sh, 2, &o, &info, &mc), 0);
#define MC_DOUBLE(f) want.f *= 2;
    MC_FIELDS(MC_DOUBLE)
#undef MC_DOUBLE
    assert_same_counters(&mc, &want, "by hand, shadows, twice");
    read_back rb = read_bucket(out, 0);
    cr_assert_eq(rb.protocol, 0);
    cr_assert_eq(rb.n, 2);
    cr_assert_eq(memcmp(rb.recs[1].xdr + 4, new_live[0].data, new_live[0].len), 0);
}

/* At protocol 23 with keep_tombstones = 0: old {INIT k0, LIVE k1, DEAD k2},
 * new {DEAD k0, INIT k2, LIVE k3}: k0 annihilates, k1 kept, k2 becomes
 * LIVE, k3 kept; the METAENTRY and three entries are buffered, three
 * writes are made by put (the last entry is the final flush). */
Test(merge, counters_by_hand_with_initentry)
{
    const pool_entry *k[4];
    sorted_of_type(BDB_DATA, 4, k);
    bdb_bytes i0 = entry_at(k[0], 1), l1 = entry_at(k[1], 1), d2 = key_of(k[2]);
    bdb_bytes d0 = key_of(k[0]), i2 = entry_at(k[2], 2), l3 = entry_at(k[3], 2);
    char p1[512], p2[512], po[512];
    const char *old = fresh(23, &i0, 1, &l1, 1, &d2, 1, p1);
    const char *new = fresh(23, &i2, 1, &l3, 1, &d0, 1, p2);
    bdb_merge_options o = merge_opts(23);
    o.keep_tombstones = 0;
    bdb_merge_counters mc, want;
    const char *out = merge_checked(old, new, NULL, 0, &o, po, &mc, "by hand, initentry");
    memset(&want, 0, sizeof want);
    want.post_init_entry_protocol_merges = 1;
    want.pre_shadow_removal_protocol_merges = 0;
    want.post_shadow_removal_protocol_merges = 1;
    want.old_init_entries = 1;
    want.old_live_entries = 1;
    want.old_dead_entries = 1;
    want.new_init_entries = 1;
    want.new_live_entries = 1;
    want.new_dead_entries = 1;
    want.old_entries_default_accepted = 1;
    want.new_entries_default_accepted = 1;
    want.new_init_entries_merged_with_old_dead = 1;
    want.old_init_entries_merged_with_new_dead = 1;
    want.output_iterator_buffer_updates = 4;
    want.output_iterator_actual_writes = 3;
    assert_same_counters(&mc, &want, "by hand, initentry");
    expect_counts(out, 0, 1, 0, 3, 0, "by hand, initentry", 23);
}
