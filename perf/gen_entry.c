/* Bodies of the classic entry types with mainnet-like shapes: which
 * extensions, signers, home domains, liabilities and sponsorships an
 * entry has is fixed per key (GH_SHAPE); balances, amounts and other
 * values change with the version (GH_VALUE). */
#include "config.h"

#include <string.h>

#include "gen_impl.h"

static int64_t pow10i(unsigned e)
{
    int64_t v = 1;
    while (e--) v *= 10;
    return v;
}

/* An amount in stroops spread over many orders of magnitude. */
static int64_t amount(gen_rng *r, unsigned min_exp, unsigned span)
{
    return pow10i(min_exp + (unsigned)gen_below(r, span)) * (int64_t)(1 + gen_below(r, 99));
}

static void put_random_account(const gen *g, gen_rng *r, bdbi_xdr_out *o)
{
    gen_account(g, GEN_SLOT(gen_below(r, g->count[BDB_ACCOUNT]), GEN_LIVE), o);
}

/* An Asset: native or one of the table's live credit assets. */
static void put_offer_asset(const gen *g, gen_rng *r, int native, bdbi_xdr_out *o)
{
    if (native) {
        bdbi_xdr_put_u32(o, 0);
        return;
    }
    gen_put_asset(g, 4 * (uint32_t)gen_below(r, g->n_assets / 4), o);
}

static const char *const tlds[] = {".com", ".org", ".io", ".net", ".finance", ".xyz"};

static void put_home_domain(gen_rng *r, bdbi_xdr_out *o)
{
    char d[32];
    unsigned n = 4 + (unsigned)gen_below(r, 12);
    for (unsigned i = 0; i < n; i++) d[i] = (char)('a' + gen_below(r, 26));
    const char *t = tlds[gen_below(r, 6)];
    size_t tl = strlen(t);
    memcpy(d + n, t, tl);
    bdbi_xdr_put_var(o, d, (uint32_t)(n + tl));
}

void gen_account_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o)
{
    gen_rng s = gen_rng_of(g, gen_tag(GH_SHAPE, BDB_ACCOUNT, 0), slot);
    gen_rng v = gen_rng_of(g, gen_tag(GH_VALUE, BDB_ACCOUNT, version), slot);
    uint64_t k = slot / 4, acc = g->count[BDB_ACCOUNT], ntl = g->count[BDB_TRUSTLINE];
    unsigned nsig = gen_chance(&s, 920)   ? 0
                    : gen_chance(&s, 750) ? 1
                                          : 2 + (unsigned)gen_below(&s, 4);
    uint64_t created = gen_below(&s, 50000000);
    gen_account(g, slot, o);
    bdbi_xdr_put_i64(o, amount(&v, 5, 9));
    bdbi_xdr_put_i64(o, (int64_t)((created << 32) + version * 3 + gen_below(&v, 3)));
    uint64_t tls = k < acc ? gen_group_first(k + 1, ntl, acc) - gen_group_first(k, ntl, acc) : 0;
    bdbi_xdr_put_u32(o, (uint32_t)(tls + nsig));
    if (gen_chance(&s, 50)) { /* inflationDest */
        bdbi_xdr_put_u32(o, 1);
        put_random_account(g, &s, o);
    } else {
        bdbi_xdr_put_u32(o, 0);
    }
    bdbi_xdr_put_u32(o, gen_chance(&s, 30) ? 1 + (uint32_t)gen_below(&s, 15) : 0); /* flags */
    if (gen_chance(&s, 150))
        put_home_domain(&s, o);
    else
        bdbi_xdr_put_u32(o, 0);
    uint8_t th[4] = {1, 0, 0, 0};
    if (nsig) th[1] = 1, th[2] = 2, th[3] = (uint8_t)(1 + nsig);
    bdbi_xdr_put_fixed(o, th, 4);
    /* signers, sorted by key as stellar-core keeps them */
    bdbi_xdr_put_u32(o, nsig);
    int hash_x = gen_chance(&s, 50); /* the last signer a hashX, else all ed25519 */
    for (unsigned i = 0; i < nsig; i++) {
        uint32_t kt = hash_x && i == nsig - 1 ? 2 : 0;
        bdbi_xdr_put_u32(o, kt);
        bdbi_xdr_put_u64(o, (UINT64_MAX / 8) * i + gen_below(&s, UINT64_MAX / 16));
        for (int w = 0; w < 3; w++) bdbi_xdr_put_u64(o, gen_next(&s));
        bdbi_xdr_put_u32(o, 1 + (uint32_t)gen_below(&s, 10));
    }
    unsigned ext = (unsigned)gen_below(&s, 10); /* 0-3: v0, 4-6: v1, 7-8: v2, 9: v3 */
    if (ext < 4) {
        bdbi_xdr_put_u32(o, 0);
        return;
    }
    bdbi_xdr_put_u32(o, 1);
    int trades = gen_chance(&v, 300);
    bdbi_xdr_put_i64(o, trades ? amount(&v, 5, 6) : 0);
    bdbi_xdr_put_i64(o, trades ? amount(&v, 5, 6) : 0);
    if (ext < 7) {
        bdbi_xdr_put_u32(o, 0);
        return;
    }
    bdbi_xdr_put_u32(o, 2);
    bdbi_xdr_put_u32(o, (uint32_t)gen_below(&s, 3));
    bdbi_xdr_put_u32(o, (uint32_t)(gen_chance(&s, 100) ? gen_below(&s, 200) : 0));
    bdbi_xdr_put_u32(o, nsig); /* one sponsoring ID per signer */
    for (unsigned i = 0; i < nsig; i++) {
        if (gen_chance(&s, 200)) {
            bdbi_xdr_put_u32(o, 1);
            put_random_account(g, &s, o);
        } else {
            bdbi_xdr_put_u32(o, 0);
        }
    }
    if (ext < 9) {
        bdbi_xdr_put_u32(o, 0);
        return;
    }
    bdbi_xdr_put_u32(o, 3);
    bdbi_xdr_put_u32(o, 0);
    bdbi_xdr_put_u32(o, (uint32_t)(created + version));
    bdbi_xdr_put_u64(o, 1500000000ull + created * 5 + version);
}

void gen_trustline_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o)
{
    gen_rng s = gen_rng_of(g, gen_tag(GH_SHAPE, BDB_TRUSTLINE, 0), slot);
    gen_rng v = gen_rng_of(g, gen_tag(GH_VALUE, BDB_TRUSTLINE, version), slot);
    gen_classic_key_fields(g, BDB_TRUSTLINE, slot, o);
    int64_t bal = gen_versioned(gen_chance(&v, 250) ? 0 : amount(&v, 3, 10), version);
    bdbi_xdr_put_i64(o, bal);
    bdbi_xdr_put_i64(o, gen_chance(&s, 700) ? INT64_MAX : bal + amount(&s, 8, 6));
    uint32_t flags = gen_chance(&s, 900) ? 1 : gen_chance(&s, 300) ? 2 : 0;
    if (gen_chance(&s, 20)) flags |= 4; /* TRUSTLINE_CLAWBACK_ENABLED_FLAG */
    bdbi_xdr_put_u32(o, flags);
    unsigned ext = (unsigned)gen_below(&s, 10); /* 0-5: v0, 6-8: v1, 9: v1 + v2 */
    if (ext < 6) {
        bdbi_xdr_put_u32(o, 0);
        return;
    }
    bdbi_xdr_put_u32(o, 1);
    int trades = gen_chance(&v, 400);
    bdbi_xdr_put_i64(o, trades ? amount(&v, 4, 6) : 0);
    bdbi_xdr_put_i64(o, trades ? amount(&v, 4, 6) : 0);
    if (ext < 9) {
        bdbi_xdr_put_u32(o, 0);
        return;
    }
    bdbi_xdr_put_u32(o, 2);
    bdbi_xdr_put_i32(o, (int32_t)gen_below(&v, 4));
    bdbi_xdr_put_u32(o, 0);
}

void gen_offer_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o)
{
    gen_rng s = gen_rng_of(g, gen_tag(GH_SHAPE, BDB_OFFER, 0), slot);
    gen_rng v = gen_rng_of(g, gen_tag(GH_VALUE, BDB_OFFER, version), slot);
    gen_classic_key_fields(g, BDB_OFFER, slot, o);
    int native_selling = gen_chance(&s, 400);
    put_offer_asset(g, &s, native_selling, o);
    put_offer_asset(g, &s, !native_selling && gen_chance(&s, 600), o);
    bdbi_xdr_put_i64(o, gen_versioned(amount(&v, 5, 7), version));
    bdbi_xdr_put_i32(o, 1 + (int32_t)gen_below(&v, 1000000));
    bdbi_xdr_put_i32(o, 1 + (int32_t)gen_below(&v, 1000000));
    bdbi_xdr_put_u32(o, gen_chance(&s, 50) ? 1 : 0); /* PASSIVE_FLAG */
    bdbi_xdr_put_u32(o, 0);
}

void gen_data_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o)
{
    gen_rng v = gen_rng_of(g, gen_tag(GH_VALUE, BDB_DATA, version), slot);
    gen_classic_key_fields(g, BDB_DATA, slot, o);
    uint8_t val[64];
    uint32_t n = 1 + (uint32_t)gen_below(&v, 64);
    for (uint32_t i = 0; i < n; i++) val[i] = (uint8_t)gen_next(&v);
    val[0] = (uint8_t)version;
    bdbi_xdr_put_var(o, val, n);
    bdbi_xdr_put_u32(o, 0);
}

static void put_time_predicate(gen_rng *r, bdbi_xdr_out *o)
{
    bdbi_xdr_put_u32(o, 4); /* CLAIM_PREDICATE_BEFORE_ABSOLUTE_TIME */
    bdbi_xdr_put_i64(o, 1600000000 + (int64_t)gen_below(r, 300000000));
}

void gen_claimable_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o)
{
    gen_rng s = gen_rng_of(g, gen_tag(GH_SHAPE, BDB_CLAIMABLE_BALANCE, 0), slot);
    gen_rng v = gen_rng_of(g, gen_tag(GH_VALUE, BDB_CLAIMABLE_BALANCE, version), slot);
    gen_classic_key_fields(g, BDB_CLAIMABLE_BALANCE, slot, o);
    uint32_t n = gen_chance(&s, 700) ? 1 : gen_chance(&s, 800) ? 2 : 3 + (uint32_t)gen_below(&s, 3);
    bdbi_xdr_put_u32(o, n);
    for (uint32_t i = 0; i < n; i++) {
        bdbi_xdr_put_u32(o, 0); /* CLAIMANT_TYPE_V0 */
        put_random_account(g, &s, o);
        unsigned p = (unsigned)gen_below(&s, 20);
        if (p < 12) {
            bdbi_xdr_put_u32(o, 0); /* unconditional */
        } else if (p < 17) {
            put_time_predicate(&s, o);
        } else if (p < 19) {
            bdbi_xdr_put_u32(o, 3); /* NOT */
            bdbi_xdr_put_u32(o, 1);
            put_time_predicate(&s, o);
        } else {
            bdbi_xdr_put_u32(o, 1); /* AND */
            bdbi_xdr_put_u32(o, 2);
            put_time_predicate(&s, o);
            bdbi_xdr_put_u32(o, 5); /* BEFORE_RELATIVE_TIME */
            bdbi_xdr_put_i64(o, (int64_t)gen_below(&s, 10000000));
        }
    }
    put_offer_asset(g, &s, gen_chance(&s, 300), o);
    bdbi_xdr_put_i64(o, gen_versioned(amount(&v, 5, 8), version));
    if (gen_chance(&s, 300)) {
        bdbi_xdr_put_u32(o, 1);
        bdbi_xdr_put_u32(o, 0);
        bdbi_xdr_put_u32(o, 1); /* CLAIMABLE_BALANCE_CLAWBACK_ENABLED_FLAG */
    } else {
        bdbi_xdr_put_u32(o, 0);
    }
}

void gen_pool_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o)
{
    gen_rng s = gen_rng_of(g, gen_tag(GH_SHAPE, BDB_LIQUIDITY_POOL, 0), slot);
    gen_rng v = gen_rng_of(g, gen_tag(GH_VALUE, BDB_LIQUIDITY_POOL, version), slot);
    gen_classic_key_fields(g, BDB_LIQUIDITY_POOL, slot, o);
    bdbi_xdr_put_u32(o, 0); /* LIQUIDITY_POOL_CONSTANT_PRODUCT */
    /* assetA < assetB, as stellar-core requires */
    uint32_t usable = g->n_assets / 4, b = 1 + (uint32_t)gen_below(&s, usable - 1);
    if (gen_chance(&s, 500)) {
        bdbi_xdr_put_u32(o, 0);
    } else {
        uint32_t a = (uint32_t)gen_below(&s, b);
        gen_put_asset(g, 4 * a, o);
    }
    gen_put_asset(g, 4 * b, o);
    bdbi_xdr_put_i32(o, 30);
    bdbi_xdr_put_i64(o, gen_versioned(amount(&v, 6, 8), version));
    bdbi_xdr_put_i64(o, amount(&v, 6, 8));
    bdbi_xdr_put_i64(o, amount(&v, 6, 8));
    bdbi_xdr_put_i64(o, (int64_t)gen_below(&v, 5000));
}
