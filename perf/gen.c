/* The generator's model: the mix of types for N entries, the tables that
 * make owned keys sort (trustline assets, data names), the keys of every
 * type by slot, deleted and absent keys, and the LedgerEntry frame. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/sha256.h"

#include "gen_impl.h"

/* Live CONFIG_SETTING entries: IDs 0..16 (what a protocol-23 ledger has). */
#define CONFIG_LIVE 17

/* About 1% of keys have a deleted neighbour. */
#define DELETED_PER_10K 100

static void set_mix(gen *g)
{
    uint64_t n = g->n, *c = g->count;
    c[BDB_CONFIG_SETTING] = CONFIG_LIVE;
    c[BDB_CONTRACT_CODE] = n / 20000 ? n / 20000 : 1;
    c[BDB_CONTRACT_DATA] = n * 5 / 100;
    c[BDB_TTL] = c[BDB_CONTRACT_DATA] + c[BDB_CONTRACT_CODE];
    c[BDB_OFFER] = n * 17 / 1000;
    c[BDB_DATA] = n * 5 / 1000;
    c[BDB_CLAIMABLE_BALANCE] = n * 3 / 1000;
    c[BDB_LIQUIDITY_POOL] = n / 2000 ? n / 2000 : 1;
    c[BDB_ACCOUNT] = n * 35 / 100;
    uint64_t rest = 0;
    for (int t = 0; t < GEN_TYPES; t++)
        if (t != BDB_TRUSTLINE) rest += c[t];
    c[BDB_TRUSTLINE] = n - rest;
    for (int t = 0; t < GEN_TYPES; t++) g->stride[t] = UINT64_MAX / (4 * c[t] + 4);
}

/* ---- tables ---- */

static const char code_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_";

static void random_asset(const gen *g, uint64_t x, gen_asset *a)
{
    gen_rng r = gen_rng_of(g, gen_tag(GH_TABLE, BDB_TRUSTLINE, 0), x);
    memset(a, 0, sizeof *a);
    a->disc = gen_chance(&r, 800) ? 1 : 2;
    unsigned len = a->disc == 1 ? 1 + (unsigned)gen_below(&r, 4) : 5 + (unsigned)gen_below(&r, 8);
    for (unsigned i = 0; i < len; i++) a->code[i] = (uint8_t)code_chars[gen_below(&r, 36)];
    a->issuer = GEN_SLOT(gen_below(&r, g->count[BDB_ACCOUNT]), GEN_LIVE);
}

static int asset_cmp(const void *pa, const void *pb)
{
    const gen_asset *a = pa, *b = pb;
    if (a->disc != b->disc) return a->disc < b->disc ? -1 : 1;
    int c = memcmp(a->code, b->code, a->disc == 1 ? 4 : 12);
    if (c) return c;
    return (a->issuer > b->issuer) - (a->issuer < b->issuer);
}

static void random_name(const gen *g, uint64_t x, gen_name *nm)
{
    gen_rng r = gen_rng_of(g, gen_tag(GH_TABLE, BDB_DATA, 0), x);
    memset(nm, 0, sizeof *nm);
    nm->len = (uint8_t)(3 + gen_below(&r, 18));
    for (unsigned i = 0; i < nm->len; i++) nm->s[i] = name_chars[gen_below(&r, 37)];
}

/* stellar-core compares strings by content, a proper prefix first */
static int name_cmp(const void *pa, const void *pb)
{
    const gen_name *a = pa, *b = pb;
    int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* Sorts n elements and redraws duplicates (from draw numbers past n)
 * until every element is distinct, so that keys built from them are. */
static void sort_unique(const gen *g, void *v, size_t n, size_t size,
                        int (*cmp)(const void *, const void *),
                        void (*draw)(const gen *, uint64_t, void *))
{
    uint64_t next = n;
    for (;;) {
        qsort(v, n, size, cmp);
        int dup = 0;
        for (size_t i = 1; i < n; i++) {
            char *e = (char *)v + i * size;
            if (cmp(e - size, e) == 0) {
                draw(g, next++, e);
                dup = 1;
            }
        }
        if (!dup) return;
    }
}

static void draw_asset(const gen *g, uint64_t x, void *e)
{
    random_asset(g, x, e);
}

static void draw_name(const gen *g, uint64_t x, void *e)
{
    random_name(g, x, e);
}

static uint32_t span_of(uint64_t items, uint64_t owners)
{
    return (uint32_t)((items + owners - 1) / owners);
}

gen *gen_new(uint64_t seed, uint64_t n)
{
    if (n < GEN_MIN_ENTRIES) return NULL;
    gen *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->seed = seed;
    g->n = n;
    set_mix(g);
    uint64_t acc = g->count[BDB_ACCOUNT];
    g->tl_span = span_of(g->count[BDB_TRUSTLINE], acc);
    uint32_t usable = 1024 > 8 * g->tl_span ? 1024 : 8 * g->tl_span;
    g->n_assets = 4 * usable;
    g->data_span = span_of(g->count[BDB_DATA], acc);
    uint32_t names = 256 > 8 * g->data_span ? 256 : 8 * g->data_span;
    g->n_names = 4 * names;
    g->assets = calloc(g->n_assets, sizeof *g->assets);
    g->names = calloc(g->n_names, sizeof *g->names);
    if (!g->assets || !g->names) {
        gen_free(g);
        return NULL;
    }
    for (uint32_t i = 0; i < g->n_assets; i++) random_asset(g, i, &g->assets[i]);
    sort_unique(g, g->assets, g->n_assets, sizeof *g->assets, asset_cmp, draw_asset);
    for (uint32_t i = 0; i < g->n_names; i++) random_name(g, i, &g->names[i]);
    sort_unique(g, g->names, g->n_names, sizeof *g->names, name_cmp, draw_name);
    /* market makers: about 4 offers per selling account */
    uint64_t sellers = g->count[BDB_OFFER] / 4;
    g->n_sellers = sellers < 1 ? 1 : sellers > acc ? acc : sellers;
    gen_contract_setup(g);
    return g;
}

void gen_free(gen *g)
{
    if (!g) return;
    free(g->assets);
    free(g->names);
    free(g);
}

uint64_t gen_seed(const gen *g)
{
    return g->seed;
}

uint64_t gen_count(const gen *g, int type)
{
    return type >= 0 && type < GEN_TYPES ? g->count[type] : 0;
}

uint64_t gen_total(const gen *g)
{
    return g->n;
}

int gen_is_deleted(const gen *g, int type, uint64_t k)
{
    if (type == BDB_CONFIG_SETTING) return 0;
    if (type == BDB_TTL) {
        int ot;
        uint64_t os;
        gen_ttl_owner(g, GEN_SLOT(k, GEN_LIVE), &ot, &os);
        return gen_is_deleted(g, ot, os / 4);
    }
    if (gen_hash(g, gen_tag(GH_DELETED, type, 0), k) % 10000 >= DELETED_PER_10K) return 0;
    return type != BDB_CONTRACT_DATA || !gen_contract_data_is_instance(g, k);
}

/* ---- shared encoders ---- */

void gen_id32(const gen *g, int type, uint64_t slot, uint64_t prefix, bdbi_xdr_out *o)
{
    gen_rng r = gen_rng_of(g, gen_tag(GH_ID, type, 0), slot);
    bdbi_xdr_put_u64(o, prefix);
    for (int i = 0; i < 3; i++) bdbi_xdr_put_u64(o, gen_next(&r));
}

void gen_account(const gen *g, uint64_t slot, bdbi_xdr_out *o)
{
    bdbi_xdr_put_u32(o, 0); /* PUBLIC_KEY_TYPE_ED25519 */
    gen_id32(g, BDB_ACCOUNT, slot, gen_prefix(g, BDB_ACCOUNT, slot), o);
}

void gen_put_asset(const gen *g, uint32_t i, bdbi_xdr_out *o)
{
    const gen_asset *a = &g->assets[i];
    bdbi_xdr_put_u32(o, a->disc);
    bdbi_xdr_put_fixed(o, a->code, a->disc == 1 ? 4 : 12);
    gen_account(g, a->issuer, o);
}

void gen_contract_id(const gen *g, uint64_t cslot, bdbi_xdr_out *o)
{
    gen_id32(g, BDB_CONTRACT_DATA, cslot, cslot * g->contract_stride, o);
}

/* ---- owned keys ---- */

void gen_trustline_pos(const gen *g, uint64_t k, gen_tl_pos *p)
{
    uint64_t n = g->count[BDB_TRUSTLINE], acc = g->count[BDB_ACCOUNT];
    uint64_t j = gen_group_owner(k, n, acc), first = gen_group_first(j, n, acc);
    uint64_t m = gen_group_first(j + 1, n, acc) - first, i = k - first;
    gen_rng r = gen_rng_of(g, gen_tag(GH_GROUP, BDB_TRUSTLINE, 0), j);
    p->owner = j;
    p->pool = -1;
    /* some accounts hold a pool share, which sorts after credit assets */
    int pool = gen_chance(&r, 60);
    if (pool && i == m - 1) {
        p->pool = (int64_t)gen_below(&r, g->count[BDB_LIQUIDITY_POOL]);
        p->asset = 0;
        return;
    }
    /* popular assets are the first of the table; each next one later */
    uint32_t usable = g->n_assets / 4, room = usable - 3 * g->tl_span;
    double u = gen_unit(&r);
    uint32_t b = (uint32_t)(room * u * u * u);
    for (uint64_t s = 1; s <= i; s++) b += 1 + (uint32_t)gen_below(&r, 3);
    p->asset = 4 * b;
}

uint64_t gen_offer_seller(const gen *g, uint64_t k)
{
    uint64_t grp = gen_group_owner(k, g->count[BDB_OFFER], g->n_sellers);
    return gen_muldiv(grp, g->count[BDB_ACCOUNT], g->n_sellers);
}

void gen_data_pos(const gen *g, uint64_t k, uint64_t *owner, uint32_t *name)
{
    uint64_t n = g->count[BDB_DATA], acc = g->count[BDB_ACCOUNT];
    uint64_t j = gen_group_owner(k, n, acc), i = k - gen_group_first(j, n, acc);
    gen_rng r = gen_rng_of(g, gen_tag(GH_GROUP, BDB_DATA, 0), j);
    uint32_t room = g->n_names / 4 - 2 * g->data_span;
    uint32_t b = (uint32_t)gen_below(&r, room);
    for (uint64_t s = 1; s <= i; s++) b += 1 + (uint32_t)gen_below(&r, 2);
    *owner = j;
    *name = 4 * b;
}

/* An offer ID that grows with the slot: (slot + 1) * 8 + 0..6. */
static int64_t offer_id(const gen *g, uint64_t slot)
{
    return (int64_t)((slot + 1) * 8 + gen_hash(g, gen_tag(GH_ID, BDB_OFFER, 0), slot) % 7);
}

void gen_classic_key_fields(const gen *g, int type, uint64_t slot, bdbi_xdr_out *o)
{
    uint64_t k = slot / 4, cls = slot % 4;
    switch (type) {
    case BDB_ACCOUNT:
        gen_account(g, slot, o);
        break;
    case BDB_TRUSTLINE: {
        gen_tl_pos p;
        gen_trustline_pos(g, k, &p);
        gen_account(g, GEN_SLOT(p.owner, GEN_LIVE), o);
        if (p.pool >= 0) {
            bdbi_xdr_put_u32(o, 3); /* ASSET_TYPE_POOL_SHARE */
            uint64_t ps = GEN_SLOT((uint64_t)p.pool, cls);
            gen_id32(g, BDB_LIQUIDITY_POOL, ps, gen_prefix(g, BDB_LIQUIDITY_POOL, ps), o);
        } else {
            gen_put_asset(g, p.asset + (uint32_t)cls, o);
        }
        break;
    }
    case BDB_OFFER:
        gen_account(g, GEN_SLOT(gen_offer_seller(g, k), GEN_LIVE), o);
        bdbi_xdr_put_i64(o, offer_id(g, slot));
        break;
    case BDB_DATA: {
        uint64_t owner;
        uint32_t name;
        gen_data_pos(g, k, &owner, &name);
        gen_account(g, GEN_SLOT(owner, GEN_LIVE), o);
        const gen_name *nm = &g->names[name + cls];
        bdbi_xdr_put_var(o, nm->s, nm->len);
        break;
    }
    case BDB_CLAIMABLE_BALANCE:
        bdbi_xdr_put_u32(o, 0); /* CLAIMABLE_BALANCE_ID_TYPE_V0 */
        gen_id32(g, type, slot, gen_prefix(g, type, slot), o);
        break;
    case BDB_LIQUIDITY_POOL:
        gen_id32(g, type, slot, gen_prefix(g, type, slot), o);
        break;
    }
}

/* The key fields of any type (the LedgerKey without its type). */
static void key_fields(const gen *g, int type, uint64_t slot, bdbi_xdr_out *o)
{
    switch (type) {
    case BDB_CONTRACT_DATA: {
        int durable;
        gen_contract_data_key(g, slot, o, &durable);
        break;
    }
    case BDB_CONTRACT_CODE:
        gen_id32(g, type, slot, gen_prefix(g, type, slot), o);
        break;
    case BDB_CONFIG_SETTING:
        bdbi_xdr_put_u32(o, gen_config_id(slot));
        break;
    case BDB_TTL: {
        int ot;
        uint64_t os;
        uint8_t key[GEN_KEY_MAX], h[32];
        gen_ttl_owner(g, slot, &ot, &os);
        size_t n = gen_key(g, ot, os, key);
        bdbi_sha256_digest(key, n, h);
        bdbi_xdr_put_fixed(o, h, 32);
        break;
    }
    default:
        gen_classic_key_fields(g, type, slot, o);
    }
}

size_t gen_key(const gen *g, int type, uint64_t slot, uint8_t *buf)
{
    bdbi_xdr_out o;
    bdbi_xdr_out_init(&o, buf, GEN_KEY_MAX);
    bdbi_xdr_put_u32(&o, (uint32_t)type);
    key_fields(g, type, slot, &o);
    return o.len;
}

size_t gen_entry(const gen *g, int type, uint64_t slot, uint32_t version, uint32_t last_modified,
                 uint8_t *buf, size_t cap)
{
    bdbi_xdr_out o;
    bdbi_xdr_out_init(&o, buf, cap);
    bdbi_xdr_put_u32(&o, last_modified);
    bdbi_xdr_put_u32(&o, (uint32_t)type);
    switch (type) {
    case BDB_ACCOUNT:
        gen_account_body(g, slot, version, &o);
        break;
    case BDB_TRUSTLINE:
        gen_trustline_body(g, slot, version, &o);
        break;
    case BDB_OFFER:
        gen_offer_body(g, slot, version, &o);
        break;
    case BDB_DATA:
        gen_data_body(g, slot, version, &o);
        break;
    case BDB_CLAIMABLE_BALANCE:
        gen_claimable_body(g, slot, version, &o);
        break;
    case BDB_LIQUIDITY_POOL:
        gen_pool_body(g, slot, version, &o);
        break;
    case BDB_CONTRACT_DATA:
        gen_contract_data_body(g, slot, version, &o);
        break;
    case BDB_CONTRACT_CODE:
        gen_contract_code_body(g, slot, version, &o);
        break;
    case BDB_CONFIG_SETTING:
        gen_config_body(g, slot, version, &o);
        break;
    case BDB_TTL:
        gen_ttl_body(g, slot, version, last_modified, &o);
        break;
    }
    /* LedgerEntry.ext: claimable balances are always sponsored, a few
     * classic entries are; Soroban entries never */
    gen_rng r = gen_rng_of(g, gen_tag(GH_SHAPE, type, 1), slot);
    int sponsored = type == BDB_CLAIMABLE_BALANCE || (type <= BDB_DATA && gen_chance(&r, 30));
    if (sponsored) {
        bdbi_xdr_put_u32(&o, 1);
        bdbi_xdr_put_u32(&o, 1);
        gen_account(g, GEN_SLOT(gen_below(&r, g->count[BDB_ACCOUNT]), GEN_LIVE), &o);
        bdbi_xdr_put_u32(&o, 0);
    } else {
        bdbi_xdr_put_u32(&o, 0);
    }
    return o.len;
}

size_t gen_absent_key(const gen *g, uint64_t j, uint8_t *buf, int *type, uint64_t *slot)
{
    gen_rng r = gen_rng_of(g, gen_tag(GH_ABSENT, 0, 0), j);
    uint64_t x = gen_below(&r, g->n);
    int t = 0;
    while (x >= g->count[t]) x -= g->count[t++];
    uint64_t k = gen_below(&r, g->count[t]);
    uint64_t s = GEN_SLOT(k, GEN_ABSENT + (gen_next(&r) & 1));
    *type = t;
    if (slot) *slot = s;
    return gen_key(g, t, s, buf);
}
