/* Randomized differential tests of the streaming bucket merge against the
 * reference merge of merge_ref.h: for many seeds, random old / new /
 * shadow buckets over a small pool of keys (so that keys collide often),
 * every keep_tombstones and level0 combination; the output file's bytes,
 * hash, records and every MergeCounters field must be equal. Then the
 * split-merge property the sharded BucketList relies on: merging the parts
 * of two buckets in disjoint key ranges and concatenating the outputs
 * gives the entries of the whole merge. A failing seed is named in the
 * assertion message. */
#include "config.h"

#include "merge_test_util.h"

TestSuite(merge_diff, .init = setup, .fini = teardown);

/* splitmix64 */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static unsigned pick(uint64_t *s, unsigned n)
{
    return (unsigned)(next(s) % n);
}

/* Written protocols of the inputs; 10 writes no METAENTRY (reads as 0). */
static const uint32_t protocols[] = {10, 11, 12, 23};

static uint32_t read_protocol(uint32_t written)
{
    return written >= 11 ? written : 0;
}

/* One generated bucket: records (sorted when written) and its protocol. */
typedef struct gen_bucket {
    uint32_t protocol; /* as written */
    ref_rec *recs;
    size_t n;
    const char *path;
    char buf[512];
} gen_bucket;

static void gen_write(int hot, gen_bucket *b)
{
    b->path = write_bucket(hot, b->protocol, b->recs, b->n, b->buf);
}

static ref_bucket gen_ref(const gen_bucket *b)
{
    return (ref_bucket){read_protocol(b->protocol), b->recs, b->n};
}

/* A record for key p in state `state` (0 absent, 1 LIVE, 2 DEAD, 3 INIT;
 * hot: 1 ARCHIVED, 2 restored LIVE) with a random lastModified. */
static void gen_add(int hot, gen_bucket *b, const pool_entry *p, int state, uint64_t *s)
{
    static const int32_t live_types[] = {0, BDB_LIVEENTRY, BDB_DEADENTRY, BDB_INITENTRY};
    static const int32_t hot_types[] = {0, BDB_HOT_ARCHIVED, BDB_HOT_LIVE};
    if (!state) return;
    make_rec(hot, hot ? hot_types[state] : live_types[state], p, 1 + pick(s, 1000),
             &b->recs[b->n++]);
}

/* curr and snap of levels 0..8: the shadows of a merge into level 10 */
#define MAX_SHADOWS 18

/* A random old/new/shadows case over `k` keys of the pool. The pair
 * (old state, new state) of a key never has new INIT over old INIT or
 * LIVE unless allow_fatal: what a real BucketList holds. */
typedef struct gen_case {
    gen_bucket old, new, shadows[MAX_SHADOWS];
    size_t n_shadows;
    uint32_t max_protocol;
} gen_case;

static const pool_entry **pick_keys(int hot, size_t k, uint64_t *s)
{
    const pool_entry **keys = keep(malloc(k * sizeof *keys));
    size_t n = 0;
    while (n < k) {
        const pool_entry *p = &pool[pick(s, (unsigned)pool_n)];
        if (hot && !p->persistent) continue;
        int dup = 0;
        for (size_t i = 0; i < n; i++) dup |= keys[i] == p;
        if (!dup) keys[n++] = p;
    }
    return keys;
}

static void gen_alloc(gen_bucket *b, size_t k)
{
    b->recs = keep(calloc(k ? k : 1, sizeof *b->recs));
    b->n = 0;
}

static void gen_live_case(gen_case *c, uint64_t *s, int with_shadows, int allow_fatal)
{
    size_t k = 4 + pick(s, 20);
    const pool_entry **keys = pick_keys(0, k, s);
    memset(c, 0, sizeof *c);
    /* shadows exist only below 12: keep the inputs there most of the time */
    unsigned np = with_shadows && pick(s, 5) ? 2 : 4;
    c->old.protocol = protocols[pick(s, np)];
    c->new.protocol = protocols[pick(s, np)];
    /* up to 3 shadows, sometimes as many as a level-10 merge has (18) */
    c->n_shadows = !with_shadows ? 0 : pick(s, 8) ? 1 + pick(s, 3) : 4 + pick(s, MAX_SHADOWS - 3);
    gen_alloc(&c->old, k);
    gen_alloc(&c->new, k);
    for (size_t i = 0; i < c->n_shadows; i++) {
        c->shadows[i].protocol = protocols[pick(s, pick(s, 3) ? 2 : 4)];
        gen_alloc(&c->shadows[i], k);
    }
    for (size_t i = 0; i < k; i++) {
        int old_states = c->old.protocol >= 11 ? 4 : 3;
        int new_states = c->new.protocol >= 11 ? 4 : 3;
        int o = (int)pick(s, (unsigned)old_states), n = (int)pick(s, (unsigned)new_states);
        if (n == 3 && (o == 1 || o == 3) && !allow_fatal) n = pick(s, 2) ? 2 : 1;
        gen_add(0, &c->old, keys[i], o, s);
        gen_add(0, &c->new, keys[i], n, s);
        for (size_t j = 0; j < c->n_shadows; j++)
            if (pick(s, 2))
                gen_add(0, &c->shadows[j], keys[i],
                        1 + (int)pick(s, c->shadows[j].protocol >= 11 ? 3 : 2), s);
    }
}

static void gen_hot_case(gen_case *c, uint64_t *s)
{
    static const uint32_t hot_protocols[] = {23, 24, 25};
    size_t k = 4 + pick(s, 16);
    const pool_entry **keys = pick_keys(1, k, s);
    memset(c, 0, sizeof *c);
    c->old.protocol = hot_protocols[pick(s, 3)];
    c->new.protocol = hot_protocols[pick(s, 3)];
    gen_alloc(&c->old, k);
    gen_alloc(&c->new, k);
    for (size_t i = 0; i < k; i++) {
        gen_add(1, &c->old, keys[i], (int)pick(s, 3), s);
        gen_add(1, &c->new, keys[i], (int)pick(s, 3), s);
    }
}

/* The maximum protocol of the merge: usually at or above the inputs',
 * sometimes below (refused). */
static void gen_max(gen_case *c, uint64_t *s)
{
    uint32_t p = read_protocol(c->old.protocol), q = read_protocol(c->new.protocol);
    if (q > p) p = q;
    for (size_t i = 0; i < c->n_shadows; i++) {
        uint32_t v = read_protocol(c->shadows[i].protocol);
        if (v < 12 && v > p) p = v;
    }
    switch (pick(s, 8)) {
    case 0:
        c->max_protocol = p ? p - 1 : 0;
        break;
    case 1:
        c->max_protocol = p + pick(s, 3);
        break;
    case 2:
        c->max_protocol = 23;
        break;
    case 3:
        c->max_protocol = 28;
        break;
    default:
        c->max_protocol = p < 10 ? 10 : p;
    }
}

static void write_case(int hot, gen_case *c, const char **shadow_paths, ref_bucket *ref_sh)
{
    gen_write(hot, &c->old);
    gen_write(hot, &c->new);
    for (size_t i = 0; i < c->n_shadows; i++) {
        gen_write(0, &c->shadows[i]);
        shadow_paths[i] = c->shadows[i].path;
        ref_sh[i] = gen_ref(&c->shadows[i]);
    }
}

/* Merges the case with every keep_tombstones / level0 combination and
 * compares with the reference. Returns the number of merges that
 * succeeded. */
static int run_case(int hot, gen_case *c, uint64_t seed)
{
    const char *sp[MAX_SHADOWS];
    ref_bucket rsh[MAX_SHADOWS];
    write_case(hot, c, sp, rsh);
    ref_bucket ro = gen_ref(&c->old), rn = gen_ref(&c->new);
    int ok = 0;
    for (int combo = 0; combo < 4; combo++) {
        bdb_merge_options o = merge_opts(c->max_protocol);
        o.hot = hot;
        o.keep_tombstones = combo & 1;
        o.level0 = combo >> 1;
        ref_result ref;
        ref_merge(&ro, &rn, rsh, c->n_shadows, &o, &ref);
        bdb_merge_counters mc;
        bdb_bucket_info info;
        const char *out;
        char po[512], what[160];
        int rc = merge(c->old.path, c->new.path, sp, c->n_shadows, &o, &mc, &info, &out, po);
        snprintf(what, sizeof what,
                 "seed %llu hot %d keep_tombstones %d level0 %d (protocols %u/%u, %zu shadows, "
                 "max %u)",
                 (unsigned long long)seed, hot, o.keep_tombstones, o.level0, c->old.protocol,
                 c->new.protocol, c->n_shadows, c->max_protocol);
        assert_matches_ref(rc, &info, &mc, &ref, hot, what);
        ok += rc == 0;
        ref_result_free(&ref);
    }
    clean_dir();
    return ok;
}

Test(merge_diff, live_merges_equal_the_reference)
{
    int ok = 0;
    for (uint64_t seed = 1; seed <= 600; seed++) {
        uint64_t s = seed;
        gen_case c;
        gen_live_case(&c, &s, 0, seed % 25 == 0);
        gen_max(&c, &s);
        ok += run_case(0, &c, seed);
    }
    cr_assert_gt(ok, 1800, "most cases are valid merges (%d)", ok);
}

Test(merge_diff, live_merges_with_shadows_equal_the_reference)
{
    int ok = 0;
    for (uint64_t seed = 1001; seed <= 1600; seed++) {
        uint64_t s = seed;
        gen_case c;
        gen_live_case(&c, &s, 1, 0);
        gen_max(&c, &s);
        ok += run_case(0, &c, seed);
    }
    cr_assert_gt(ok, 1200, "most cases are valid merges (%d)", ok);
}

Test(merge_diff, hot_archive_merges_equal_the_reference)
{
    int ok = 0;
    for (uint64_t seed = 2001; seed <= 2300; seed++) {
        uint64_t s = seed;
        gen_case c;
        gen_hot_case(&c, &s);
        /* an empty input sometimes */
        if (!pick(&s, 6)) c.old.n = 0;
        gen_max(&c, &s);
        if (c.max_protocol < 23) c.max_protocol = 23 + pick(&s, 6);
        ok += run_case(1, &c, seed);
    }
    cr_assert_gt(ok, 800, "most cases are valid merges (%d)", ok);
}

/* ---- the split-merge property ---- */

static int in_range(const ref_rec *r, const uint8_t *lo, size_t lo_len, const uint8_t *hi,
                    size_t hi_len)
{
    ref_rec l = {0, NULL, 0, (uint8_t *)lo, lo_len}, h = {0, NULL, 0, (uint8_t *)hi, hi_len};
    return (!lo || ref_cmp(&l, r) <= 0) && (!hi || ref_cmp(r, &h) < 0);
}

/* The part of b in [lo, hi) as a bucket of the same protocol. */
static void part_of(int hot, const gen_bucket *b, const uint8_t *lo, size_t lo_len,
                    const uint8_t *hi, size_t hi_len, gen_bucket *out)
{
    out->protocol = b->protocol;
    gen_alloc(out, b->n);
    for (size_t i = 0; i < b->n; i++)
        if (in_range(&b->recs[i], lo, lo_len, hi, hi_len)) out->recs[out->n++] = b->recs[i];
    gen_write(hot, out);
}

static int split_case(int hot, gen_case *c, uint64_t seed, uint64_t *s)
{
    const char *sp[MAX_SHADOWS];
    ref_bucket rsh[MAX_SHADOWS];
    write_case(hot, c, sp, rsh);
    /* 1 to 4 split points: sort keys of random pool entries (in the
     * buckets or not) */
    const pool_entry *cuts[5];
    size_t n_cuts = 1 + pick(s, 4);
    for (size_t i = 0; i < n_cuts; i++) cuts[i] = &pool[pick(s, (unsigned)pool_n)];
    for (size_t i = 1; i < n_cuts; i++) /* insertion sort by sort key */
        for (size_t j = i; j > 0; j--) {
            ref_rec a = {0, NULL, 0, cuts[j - 1]->sk, cuts[j - 1]->sk_len};
            ref_rec b = {0, NULL, 0, cuts[j]->sk, cuts[j]->sk_len};
            if (ref_cmp(&a, &b) <= 0) break;
            const pool_entry *t = cuts[j];
            cuts[j] = cuts[j - 1];
            cuts[j - 1] = t;
        }
    bdb_merge_options o = merge_opts(c->max_protocol);
    o.hot = hot;
    o.keep_tombstones = (int)pick(s, 2);
    o.level0 = (int)pick(s, 2);
    char what[160], po[512];
    snprintf(what, sizeof what, "split seed %llu hot %d keep_tombstones %d level0 %d",
             (unsigned long long)seed, hot, o.keep_tombstones, o.level0);
    bdb_merge_counters whole_mc, part_mc, sum;
    bdb_bucket_info info;
    const char *out;
    int rc = merge(c->old.path, c->new.path, sp, c->n_shadows, &o, &whole_mc, &info, &out, po);
    if (rc) { /* refused: nothing to split */
        clean_dir();
        return 0;
    }
    read_back whole = read_bucket(out, hot);
    ref_rec *cat = keep(calloc(whole.n + c->old.n + c->new.n + 1, sizeof *cat));
    size_t n_cat = 0;
    memset(&sum, 0, sizeof sum);
    for (size_t r = 0; r <= n_cuts; r++) {
        const uint8_t *lo = r ? cuts[r - 1]->sk : NULL, *hi = r < n_cuts ? cuts[r]->sk : NULL;
        size_t lo_len = r ? cuts[r - 1]->sk_len : 0, hi_len = r < n_cuts ? cuts[r]->sk_len : 0;
        gen_bucket po_, pn, ps[MAX_SHADOWS];
        const char *psp[MAX_SHADOWS];
        part_of(hot, &c->old, lo, lo_len, hi, hi_len, &po_);
        part_of(hot, &c->new, lo, lo_len, hi, hi_len, &pn);
        for (size_t i = 0; i < c->n_shadows; i++) {
            part_of(0, &c->shadows[i], lo, lo_len, hi, hi_len, &ps[i]);
            psp[i] = ps[i].path;
        }
        char pp[512];
        const char *pout;
        cr_assert_eq(merge(po_.path, pn.path, psp, c->n_shadows, &o, &part_mc, &info, &pout, pp), 0,
                     "%s, part %zu: %s", what, r, bdb_errmsg());
        read_back part = read_bucket(pout, hot);
        cr_assert_eq(part.protocol, whole.protocol, "%s, part %zu: protocol", what, r);
        if (part.n) memcpy(cat + n_cat, part.recs, part.n * sizeof *cat);
        n_cat += part.n;
#define MC_ADD(f) sum.f += part_mc.f;
        MC_FIELDS(MC_ADD)
#undef MC_ADD
    }
    assert_same_recs(cat, n_cat, whole.recs, whole.n, what);
    /* the per-entry counters add up (not the per-merge, output-iterator
     * and shadow-step ones) */
#define MC_SUM(f) cr_assert_eq(sum.f, whole_mc.f, "%s: sum of " #f, what);
    MC_SUM(old_init_entries)
    MC_SUM(old_live_entries)
    MC_SUM(old_dead_entries)
    MC_SUM(new_init_entries)
    MC_SUM(new_live_entries)
    MC_SUM(new_dead_entries)
    MC_SUM(old_entries_default_accepted)
    MC_SUM(new_entries_default_accepted)
    MC_SUM(new_init_entries_merged_with_old_dead)
    MC_SUM(old_init_entries_merged_with_new_live)
    MC_SUM(old_init_entries_merged_with_new_dead)
    MC_SUM(new_entries_merged_with_old_neither_init)
    MC_SUM(live_entry_shadow_elisions)
    MC_SUM(init_entry_shadow_elisions)
    MC_SUM(dead_entry_shadow_elisions)
    MC_SUM(output_iterator_tombstone_elisions)
#undef MC_SUM
    clean_dir();
    return 1;
}

Test(merge_diff, split_merges_concatenate_to_the_whole_merge)
{
    int done = 0;
    for (uint64_t seed = 3001; seed <= 3300; seed++) {
        uint64_t s = seed;
        gen_case c;
        int hot = seed % 4 == 0;
        if (hot)
            gen_hot_case(&c, &s);
        else
            gen_live_case(&c, &s, seed % 3 == 0, 0);
        gen_max(&c, &s);
        if (hot && c.max_protocol < 23) c.max_protocol = 23;
        done += split_case(hot, &c, seed, &s);
    }
    cr_assert_gt(done, 200, "most cases are valid merges (%d)", done);
}
