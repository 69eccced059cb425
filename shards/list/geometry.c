/* The BucketList schedule (stellar-core's BucketListBase, spec §5.1): pure
 * functions of the ledger number and the level. */
#include "config.h"

#include "bucketdb/list.h"

#define DEEPEST (BDB_LIST_LEVELS - 1)

static uint32_t round_down(uint32_t v, uint32_t m)
{
    return v & ~(m - 1); /* m is a power of two */
}

BDB_API uint32_t bdb_level_size(uint32_t level)
{
    return 1u << (2 * (level + 1));
}

BDB_API uint32_t bdb_level_half(uint32_t level)
{
    return bdb_level_size(level) >> 1;
}

BDB_API int bdb_level_should_spill(uint32_t ledger, uint32_t level)
{
    if (level == DEEPEST) return 0;
    return ledger == round_down(ledger, bdb_level_half(level)) ||
           ledger == round_down(ledger, bdb_level_size(level));
}

BDB_API int bdb_level_merge_with_empty_curr(uint32_t ledger, uint32_t level)
{
    if (level == 0 || level == DEEPEST) return 0;
    /* the merge started now is committed at the next spill of level-1;
     * if level itself spills then, its curr is snapped first */
    uint32_t start = round_down(ledger, bdb_level_half(level - 1));
    return bdb_level_should_spill(start + bdb_level_half(level - 1), level);
}

BDB_API int bdb_level_keeps_tombstones(uint32_t level)
{
    return level < DEEPEST;
}

BDB_API uint32_t bdb_level_update_period(uint32_t level, int curr)
{
    if (!curr) return bdb_level_half(level);
    return level == 0 ? 1 : 1u << (2 * level - 1);
}

/* Ledgers held by levels above `level` (curr and snap). */
static uint32_t above(uint32_t ledger, uint32_t level)
{
    uint32_t n = 0;
    for (uint32_t l = 0; l < level; l++)
        n += bdb_level_size_of_curr(ledger, l) + bdb_level_size_of_snap(ledger, l);
    return n;
}

BDB_API uint32_t bdb_level_size_of_curr(uint32_t ledger, uint32_t level)
{
    if (level == 0) return ledger == 1 ? 1 : 1 + ledger % 2;
    uint32_t half = bdb_level_half(level), size = bdb_level_size(level);
    if (level != DEEPEST && round_down(ledger, half) != 0) {
        uint32_t d = bdb_level_update_period(level, 1);
        if (ledger == round_down(ledger, half) || ledger == round_down(ledger, size)) return d;
        /* the last ledger at which this curr was rebuilt from scratch */
        uint32_t hp = bdb_level_half(level - 1), sp = bdb_level_size(level - 1);
        uint32_t prev = round_down(ledger - 1, hp);
        uint32_t cand[3] = {round_down(ledger - 1, sp), round_down(ledger - 1, half),
                            round_down(ledger - 1, size)};
        for (int i = 0; i < 3; i++)
            if (cand[i] > prev) prev = cand[i];
        uint32_t s = bdb_level_size_of_curr(prev, level);
        if (ledger == round_down(ledger, hp) || ledger == round_down(ledger, sp)) s += d;
        return s;
    }
    return ledger - above(ledger, level);
}

BDB_API uint32_t bdb_level_size_of_snap(uint32_t ledger, uint32_t level)
{
    if (level == DEEPEST) return 0;
    if (round_down(ledger, bdb_level_size(level)) != 0) return bdb_level_half(level);
    return ledger - above(ledger, level) - bdb_level_size_of_curr(ledger, level);
}

BDB_API uint32_t bdb_level_oldest_in_curr(uint32_t ledger, uint32_t level)
{
    uint32_t size = bdb_level_size_of_curr(ledger, level);
    if (size == 0) return UINT32_MAX;
    return ledger - above(ledger, level) - size + 1;
}

BDB_API uint32_t bdb_level_oldest_in_snap(uint32_t ledger, uint32_t level)
{
    if (bdb_level_size_of_snap(ledger, level) == 0) return UINT32_MAX;
    return ledger - above(ledger, level + 1) + 1;
}
