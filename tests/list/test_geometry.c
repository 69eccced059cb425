/* BucketList geometry against the specification's facts (§5.1, §5.6 and
 * the BucketListTests.cpp facts of §10) and against an independent
 * simulation of addBatch's spill schedule (§5.4) on ledger ranges. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdint.h>

#include "bucketdb/list.h"

TestSuite(geometry);

Test(geometry, level_sizes)
{
    static const uint32_t half[BDB_LIST_LEVELS] = {2,    8,     32,     128,    512,    2048,
                                                   8192, 32768, 131072, 524288, 2097152};
    for (uint32_t i = 0; i < BDB_LIST_LEVELS; i++) {
        cr_assert_eq(bdb_level_half(i), half[i]);
        cr_assert_eq(bdb_level_size(i), 2 * half[i]);
        cr_assert_eq(bdb_level_keeps_tombstones(i), i < 10);
    }
    cr_assert_eq(bdb_level_size(10), 4194304);
}

Test(geometry, spills)
{
    for (uint32_t i = 0; i < BDB_LIST_LEVELS; i++)
        for (uint32_t l = 1; l < 5000; l++)
            cr_assert_eq(bdb_level_should_spill(l, i), i != 10 && l % bdb_level_half(i) == 0,
                         "ledger %u level %u", l, i);
    cr_assert_not(bdb_level_should_spill(1u << 30, 10), "the deepest level never spills");
}

/* §5.6: merge(1) at 2,4,8,10,12,..., snap(1) at 6,14,22,...; merge(2) at
 * 8,16,32,40,48,..., snap(2) at 24,56,...; snap(3) at 96,224. */
Test(geometry, snap_only_merges)
{
    static const uint32_t snap1[] = {6, 14, 22, 30, 38}, merge1[] = {2, 4, 8, 10, 12, 16};
    static const uint32_t snap2[] = {24, 56}, merge2[] = {8, 16, 32, 40, 48, 64};
    static const uint32_t snap3[] = {96, 224}, merge3[] = {32, 64, 128, 160};
    for (size_t k = 0; k < 5; k++) cr_assert(bdb_level_merge_with_empty_curr(snap1[k], 1));
    for (size_t k = 0; k < 6; k++) cr_assert_not(bdb_level_merge_with_empty_curr(merge1[k], 1));
    for (size_t k = 0; k < 2; k++) cr_assert(bdb_level_merge_with_empty_curr(snap2[k], 2));
    for (size_t k = 0; k < 6; k++) cr_assert_not(bdb_level_merge_with_empty_curr(merge2[k], 2));
    for (size_t k = 0; k < 2; k++) cr_assert(bdb_level_merge_with_empty_curr(snap3[k], 3));
    for (size_t k = 0; k < 4; k++) cr_assert_not(bdb_level_merge_with_empty_curr(merge3[k], 3));
    /* general rule: snap-only exactly when L = half(i) - half(i-1) (mod half(i)) */
    for (uint32_t i = 1; i < 10; i++)
        for (uint32_t l = bdb_level_half(i - 1); l < 20000; l += bdb_level_half(i - 1))
            cr_assert_eq(bdb_level_merge_with_empty_curr(l, i),
                         l % bdb_level_half(i) == bdb_level_half(i) - bdb_level_half(i - 1),
                         "ledger %u level %u", l, i);
    for (uint32_t l = 1; l < 100; l++) {
        cr_assert_not(bdb_level_merge_with_empty_curr(l, 0));
        cr_assert_not(bdb_level_merge_with_empty_curr(l, 10));
    }
}

/* The worked example of §5.6: curr/snap sizes of L0..L3 after even
 * ledgers 2..64, copied from the specification's table. */
Test(geometry, worked_example_table)
{
    static const uint8_t table[32][8] = {
        {1, 1, 0, 0, 0, 0, 0, 0},   {1, 2, 1, 0, 0, 0, 0, 0},   {1, 2, 3, 0, 0, 0, 0, 0},
        {1, 2, 2, 3, 0, 0, 0, 0},   {1, 2, 4, 3, 0, 0, 0, 0},   {1, 2, 6, 3, 0, 0, 0, 0},
        {1, 2, 8, 3, 0, 0, 0, 0},   {1, 2, 2, 8, 3, 0, 0, 0},   {1, 2, 4, 8, 3, 0, 0, 0},
        {1, 2, 6, 8, 3, 0, 0, 0},   {1, 2, 8, 8, 3, 0, 0, 0},   {1, 2, 2, 8, 11, 0, 0, 0},
        {1, 2, 4, 8, 11, 0, 0, 0},  {1, 2, 6, 8, 11, 0, 0, 0},  {1, 2, 8, 8, 11, 0, 0, 0},
        {1, 2, 2, 8, 8, 11, 0, 0},  {1, 2, 4, 8, 8, 11, 0, 0},  {1, 2, 6, 8, 8, 11, 0, 0},
        {1, 2, 8, 8, 8, 11, 0, 0},  {1, 2, 2, 8, 16, 11, 0, 0}, {1, 2, 4, 8, 16, 11, 0, 0},
        {1, 2, 6, 8, 16, 11, 0, 0}, {1, 2, 8, 8, 16, 11, 0, 0}, {1, 2, 2, 8, 24, 11, 0, 0},
        {1, 2, 4, 8, 24, 11, 0, 0}, {1, 2, 6, 8, 24, 11, 0, 0}, {1, 2, 8, 8, 24, 11, 0, 0},
        {1, 2, 2, 8, 32, 11, 0, 0}, {1, 2, 4, 8, 32, 11, 0, 0}, {1, 2, 6, 8, 32, 11, 0, 0},
        {1, 2, 8, 8, 32, 11, 0, 0}, {1, 2, 2, 8, 8, 32, 11, 0},
    };
    for (uint32_t row = 0; row < 32; row++) {
        uint32_t l = 2 * (row + 1);
        for (uint32_t lv = 0; lv < 4; lv++) {
            cr_assert_eq(bdb_level_size_of_curr(l, lv), table[row][2 * lv], "L%u curr at %u", lv,
                         l);
            cr_assert_eq(bdb_level_size_of_snap(l, lv), table[row][2 * lv + 1], "L%u snap at %u",
                         lv, l);
        }
    }
}

/* An independent model of §5.4 on ledger ranges: each bucket is the range
 * of ledgers whose data it holds; a merge joins two adjacent ranges. */
typedef struct range {
    uint32_t oldest, size; /* size 0: empty */
} range;

static range join(range older, range newer)
{
    if (!older.size) return newer;
    if (!newer.size) return older;
    cr_assert_eq(older.oldest + older.size, newer.oldest, "ranges must be adjacent");
    return (range){older.oldest, older.size + newer.size};
}

typedef struct model {
    range curr[BDB_LIST_LEVELS], snap[BDB_LIST_LEVELS], next[BDB_LIST_LEVELS];
    int has_next[BDB_LIST_LEVELS];
} model;

static void add_batch(model *m, uint32_t l)
{
    for (uint32_t i = 10; i >= 1; i--) {
        if (l % bdb_level_half(i - 1) != 0) continue; /* level i-1 does not spill */
        range s = m->curr[i - 1];                     /* snap(): curr -> snap */
        m->snap[i - 1] = s;
        m->curr[i - 1] = (range){0, 0};
        if (m->has_next[i]) m->curr[i] = m->next[i]; /* commit */
        m->has_next[i] = 1;                          /* prepare */
        m->next[i] = join(bdb_level_merge_with_empty_curr(l, i) ? (range){0, 0} : m->curr[i], s);
    }
    m->curr[0] = join(m->curr[0], (range){l, 1}); /* level 0: merged and committed now */
}

Test(geometry, formulas_match_a_simulation_of_the_schedule)
{
    static model m;
    for (uint32_t l = 1; l <= 5000; l++) {
        add_batch(&m, l);
        for (uint32_t i = 0; i < BDB_LIST_LEVELS; i++) {
            cr_assert_eq(bdb_level_size_of_curr(l, i), m.curr[i].size, "curr %u at %u", i, l);
            cr_assert_eq(bdb_level_size_of_snap(l, i), m.snap[i].size, "snap %u at %u", i, l);
            cr_assert_eq(bdb_level_oldest_in_curr(l, i),
                         m.curr[i].size ? m.curr[i].oldest : UINT32_MAX, "oldest curr %u at %u", i,
                         l);
            cr_assert_eq(bdb_level_oldest_in_snap(l, i),
                         m.snap[i].size ? m.snap[i].oldest : UINT32_MAX, "oldest snap %u at %u", i,
                         l);
        }
    }
}

/* §10 "bucketUpdatePeriod arithmetic": curr of level i changes with
 * period bucketUpdatePeriod(i, curr) — 1, 2, 8, 32, ... — and snap with
 * period half(i). In the schedule of §5.4 a level's curr first changes
 * one period after the first spill into it (level 1: the merge prepared
 * at ledger 2 is committed at 4, as the §5.6 table shows), and from then
 * on exactly at the multiples of its period. */
Test(geometry, update_periods)
{
    static const uint32_t curr[BDB_LIST_LEVELS] = {1,    2,    8,     32,     128,   512,
                                                   2048, 8192, 32768, 131072, 524288};
    for (uint32_t i = 0; i < BDB_LIST_LEVELS; i++) {
        cr_assert_eq(bdb_level_update_period(i, 1), curr[i]);
        cr_assert_eq(bdb_level_update_period(i, 0), bdb_level_half(i));
    }
    static model m;
    uint32_t first[BDB_LIST_LEVELS] = {0};
    for (uint32_t l = 1; l <= 8192; l++) {
        model before = m;
        add_batch(&m, l);
        for (uint32_t i = 0; i < 6; i++) {
            int curr_changed =
                m.curr[i].size != before.curr[i].size || m.curr[i].oldest != before.curr[i].oldest;
            int snap_changed =
                m.snap[i].size != before.snap[i].size || m.snap[i].oldest != before.snap[i].oldest;
            if (curr_changed && !first[i]) first[i] = l;
            if (first[i]) cr_assert_eq(curr_changed, l % curr[i] == 0, "level %u curr at %u", i, l);
            if (snap_changed) cr_assert_eq(l % bdb_level_half(i), 0, "level %u snap at %u", i, l);
        }
    }
    for (uint32_t i = 0; i < 6; i++)
        cr_assert_eq(first[i], i ? bdb_level_half(i - 1) + curr[i] : 1, "level %u", i);
}

Test(geometry, facts_of_the_bucket_list_tests)
{
    /* sizes at ledger 1 */
    cr_assert_eq(bdb_level_size_of_curr(1, 0), 1);
    for (uint32_t i = 0; i < BDB_LIST_LEVELS; i++) {
        if (i) cr_assert_eq(bdb_level_size_of_curr(1, i), 0);
        cr_assert_eq(bdb_level_size_of_snap(1, i), 0);
    }
    /* snap reaches steady state at 4^(l+1) */
    for (uint32_t i = 0; i < 10; i++) {
        uint32_t b = bdb_level_size(i);
        cr_assert_eq(bdb_level_size_of_snap(b, i), bdb_level_half(i));
        cr_assert_eq(bdb_level_size_of_snap(b + 12345, i), bdb_level_half(i));
        cr_assert_lt(bdb_level_size_of_snap(b - 1, i), bdb_level_half(i));
    }
    /* the deepest curr accumulates from 2^20 on; its snap stays empty */
    cr_assert_eq(bdb_level_size_of_curr(1048575, 10), 0);
    cr_assert_eq(bdb_level_oldest_in_curr(1048575, 10), UINT32_MAX);
    cr_assert_gt(bdb_level_size_of_curr(1048576, 10), 0);
    cr_assert_eq(bdb_level_oldest_in_curr(1048576, 10), 1);
    cr_assert_eq(bdb_level_size_of_snap(5000000, 10), 0);
    /* the header comment's table at ledger 0x11f9ab: level 10 curr = [0x1, 0x2aaab] */
    cr_assert_eq(bdb_level_oldest_in_curr(0x11f9ab, 10), 1);
    cr_assert_eq(bdb_level_size_of_curr(0x11f9ab, 10), 0x2aaab);
    /* relations: snap ends where curr begins; curr ends at L or just above
     * the level above's snap */
    for (uint32_t l = 1; l < 1500; l++)
        for (uint32_t i = 0; i < 10; i++) {
            uint32_t cs = bdb_level_size_of_curr(l, i), ss = bdb_level_size_of_snap(l, i);
            if (cs && ss)
                cr_assert_eq(bdb_level_oldest_in_snap(l, i) + ss, bdb_level_oldest_in_curr(l, i));
            if (cs) {
                uint32_t newest = bdb_level_oldest_in_curr(l, i) + cs - 1;
                cr_assert_eq(newest, i == 0 ? l : bdb_level_oldest_in_snap(l, i - 1) - 1,
                             "ledger %u level %u", l, i);
            }
        }
}
