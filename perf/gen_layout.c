/* Placement of the generated keys in a BucketList (gen_layout.h). */
#include "config.h"

#include <math.h>

#include "gen_impl.h"
#include "gen_layout.h"

/* Keys changed within the shallower buckets, and how that share falls
 * with age: F(a) = RECENT * ((a + 1) / (A + 1))^BETA for ages a below
 * the deepest bucket's first age A. */
#define RECENT 0.10
#define BETA   0.6
/* Per mille: of the keys newest in a shallower bucket, those created
 * there; of the oldest records of the others, the INITENTRYs (an old
 * INITENTRY stays one through merges with newer LIVEENTRYs). */
#define CREATED_PM 500
#define INIT_PM    300

void gen_layout_init(gen_layout *lo, const gen *g, uint32_t ledger)
{
    lo->g = g;
    lo->ledger = ledger;
    lo->deepest = 0;
    lo->age_lo[0] = 0;
    for (int b = 0; b < GEN_BUCKETS; b++) {
        uint32_t level = (uint32_t)b / 2;
        lo->size[b] =
            b % 2 ? bdb_level_size_of_snap(ledger, level) : bdb_level_size_of_curr(ledger, level);
        lo->age_lo[b + 1] = lo->age_lo[b] + lo->size[b];
        if (lo->size[b]) lo->deepest = b;
    }
    lo->recent = lo->age_lo[lo->deepest] ? RECENT : 0;
}

int gen_layout_is_file(const gen_layout *lo, int b)
{
    return b <= lo->deepest;
}

/* The bucket holding age a (< the list's ledgers). */
static int bucket_of_age(const gen_layout *lo, uint64_t a)
{
    int b = 0;
    while (a >= lo->age_lo[b + 1]) b++;
    return b;
}

/* The record of a change drawn at quantile u of the age distribution. */
static void sample(const gen_layout *lo, double u, gen_rng *r, gen_rec *out)
{
    uint64_t top = lo->age_lo[lo->deepest], a;
    if (u < lo->recent) {
        double x = (double)(top + 1) * pow(u / lo->recent, 1.0 / BETA) - 1;
        a = x <= 0 ? 0 : (uint64_t)x;
        if (a >= top) a = top - 1;
    } else {
        a = top + gen_below(r, lo->size[lo->deepest]);
    }
    out->bucket = bucket_of_age(lo, a);
    out->ledger = lo->ledger - (uint32_t)a;
}

/* The quantile at which ages reach bucket b. */
static double quantile_of_bucket(const gen_layout *lo, int b)
{
    uint64_t top = lo->age_lo[lo->deepest];
    if (b >= lo->deepest) return lo->recent;
    return lo->recent * pow((double)(lo->age_lo[b] + 1) / (double)(top + 1), BETA);
}

/* A version-0 record in a bucket deeper than `above`. */
static void older(const gen_layout *lo, int above, gen_rng *r, gen_rec *out)
{
    double q = quantile_of_bucket(lo, above + 1);
    sample(lo, q + (1 - q) * gen_unit(r), r, out);
    if (out->bucket <= above) { /* rounding at the boundary */
        int b = above + 1;
        while (!lo->size[b]) b++;
        out->bucket = b;
        out->ledger = lo->ledger - (uint32_t)lo->age_lo[b];
    }
    out->version = 0;
    out->type = gen_chance(r, INIT_PM) ? BDB_INITENTRY : BDB_LIVEENTRY;
}

int gen_layout_place(const gen_layout *lo, int type, uint64_t slot, gen_rec out[2])
{
    /* a TTL changes with its entry */
    if (type == BDB_TTL) gen_ttl_owner(lo->g, slot, &type, &slot);
    gen_rng r = gen_rng_of(lo->g, gen_tag(GH_PLACE, type, 0), slot);
    gen_rec *newest = &out[0];
    if (slot % 4 == GEN_DELETED) {
        if (!lo->recent) return 0;
        sample(lo, lo->recent * gen_unit(&r), &r, &out[1]);
        out[1].type = BDB_DEADENTRY;
        out[1].version = 0;
        older(lo, out[1].bucket, &r, &out[0]);
        return 2;
    }
    sample(lo, gen_unit(&r), &r, newest);
    newest->version = 0;
    if (newest->bucket == lo->deepest) {
        newest->type = gen_chance(&r, INIT_PM) ? BDB_INITENTRY : BDB_LIVEENTRY;
        return 1;
    }
    if (gen_chance(&r, CREATED_PM)) {
        newest->type = BDB_INITENTRY;
        return 1;
    }
    out[1] = *newest;
    out[1].type = BDB_LIVEENTRY;
    out[1].version = 1;
    older(lo, out[1].bucket, &r, &out[0]);
    return 2;
}

int gen_layout_newest(const gen_layout *lo, int type, uint64_t slot, gen_rec *out)
{
    gen_rec x[2];
    int n = gen_layout_place(lo, type, slot, x);
    if (n == 0 || x[n - 1].type == BDB_DEADENTRY) return 0;
    *out = x[n - 1];
    return 1;
}
