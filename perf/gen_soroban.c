/* Soroban state: contracts and their CONTRACT_DATA, CONTRACT_CODE,
 * CONFIG_SETTING and TTL entries.
 *
 * CONTRACT_DATA k belongs to contract c when cum(c) <= k < cum(c+1):
 * every contract has at least its instance, and the rest is shared by
 * weights that repeat every GEN_CONTRACT_PERIOD contracts (a few large
 * token contracts per period, many small ones), so cum() is closed-form
 * and k -> c a binary search. Within a contract the keys are grouped by
 * SCVal kind in discriminant order (U64 < U128 < BYTES < SYMBOL < VEC <
 * MAP < ADDRESS < LEDGER_KEY_CONTRACT_INSTANCE < LEDGER_KEY_NONCE) and,
 * within a kind, carry a value that grows with the item and the slot
 * class, which keeps the whole sequence in stellar-core's key order. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/sha256.h"

#include "gen_impl.h"

enum { K_U64, K_U128, K_BYTES, K_SYMBOL, K_VEC, K_MAP, K_ADDRESS, K_INSTANCE, K_NONCE, K_N };
static const uint32_t kind_disc[K_N] = {5, 9, 13, 15, 16, 17, 18, 20, 21};

/* Shares of the keys other than the instance, in percent. Tokens hold
 * balances (Vec[Symbol "Balance", Address]) and nonces; other contracts
 * a bit of everything. */
static const uint8_t token_w[K_N] = {2, 0, 0, 0, 85, 0, 5, 0, 8};
static const uint8_t generic_w[K_N] = {15, 10, 20, 15, 10, 10, 10, 0, 10};

static const char *const symbols[] = {"Counter", "Position", "Order",  "Vote",  "Proposal",
                                      "Loan",    "Pair",     "Reward", "Stake", "User"};

/* Entries per contract on average. */
#define CONTRACT_MEAN 40

void gen_contract_setup(gen *g)
{
    uint64_t n = g->count[BDB_CONTRACT_DATA], c = n / CONTRACT_MEAN;
    g->n_contracts = c < 1 ? 1 : c;
    g->contract_stride = UINT64_MAX / (4 * g->n_contracts + 4);
    g->cw[0] = 0;
    for (int t = 0; t < GEN_CONTRACT_PERIOD; t++) {
        uint64_t w = t == 0   ? 2000
                     : t < 4  ? 300
                     : t < 16 ? 60
                              : 4 + gen_hash(g, gen_tag(GH_TABLE, BDB_CONTRACT_DATA, 0), t) % 40;
        g->cw[t + 1] = g->cw[t] + w;
    }
}

static uint64_t weight_before(const gen *g, uint64_t c)
{
    return (c / GEN_CONTRACT_PERIOD) * g->cw[GEN_CONTRACT_PERIOD] + g->cw[c % GEN_CONTRACT_PERIOD];
}

/* The first CONTRACT_DATA item of contract c. */
static uint64_t contract_first(const gen *g, uint64_t c)
{
    uint64_t n = g->count[BDB_CONTRACT_DATA], nc = g->n_contracts;
    return c + gen_muldiv(n - nc, weight_before(g, c), weight_before(g, nc));
}

static int is_token(const gen *g, uint64_t c)
{
    return c % GEN_CONTRACT_PERIOD < 4 ||
           gen_hash(g, gen_tag(GH_CONTRACT, BDB_CONTRACT_DATA, 0), c) % 10 < 3;
}

/* Where CONTRACT_DATA item k is. */
typedef struct cd_loc {
    uint64_t contract;
    int kind;
    uint64_t t;      /* index within the kind */
    uint64_t n_kind; /* items of that kind in the contract */
    int token;
} cd_loc;

static void locate(const gen *g, uint64_t k, cd_loc *l)
{
    uint64_t lo = 0, hi = g->n_contracts - 1;
    while (lo < hi) { /* the last contract whose first item is <= k */
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (contract_first(g, mid) <= k)
            lo = mid;
        else
            hi = mid - 1;
    }
    uint64_t first = contract_first(g, lo), rest = contract_first(g, lo + 1) - first - 1;
    l->contract = lo;
    l->token = is_token(g, lo);
    const uint8_t *w = l->token ? token_w : generic_w;
    uint64_t n[K_N], cum = 0;
    for (int i = 0; i < K_N; i++) {
        uint64_t a = rest * cum / 100;
        cum += w[i];
        n[i] = rest * cum / 100 - a;
    }
    n[K_INSTANCE] = 1;
    /* balance holders are distinct accounts */
    uint64_t acc = g->count[BDB_ACCOUNT];
    if (n[K_VEC] > acc) n[K_BYTES] += n[K_VEC] - acc, n[K_VEC] = acc;
    uint64_t i = k - first;
    int kind = 0;
    while (i >= n[kind]) i -= n[kind++];
    l->kind = kind;
    l->t = i;
    l->n_kind = n[kind];
}

int gen_contract_data_is_instance(const gen *g, uint64_t k)
{
    cd_loc l;
    locate(g, k, &l);
    return l.kind == K_INSTANCE;
}

static void put_symbol(bdbi_xdr_out *o, const char *s)
{
    bdbi_xdr_put_u32(o, 15);
    bdbi_xdr_put_var(o, s, (uint32_t)strlen(s));
}

static void put_account_address(const gen *g, uint64_t slot, bdbi_xdr_out *o)
{
    bdbi_xdr_put_u32(o, 18); /* SCV_ADDRESS */
    bdbi_xdr_put_u32(o, 0);  /* SC_ADDRESS_TYPE_ACCOUNT */
    gen_account(g, slot, o);
}

/* The key's SCVal for ordering value v (4t + class); hashes from r. */
static void put_key_scval(const gen *g, const cd_loc *l, uint64_t v, uint64_t cls, gen_rng *r,
                          bdbi_xdr_out *o)
{
    bdbi_xdr_put_u32(o, kind_disc[l->kind]);
    switch (l->kind) {
    case K_U64:
        bdbi_xdr_put_u64(o, (v << 16) | (gen_next(r) & 0xffff));
        break;
    case K_U128:
        bdbi_xdr_put_u64(o, v);
        bdbi_xdr_put_u64(o, gen_next(r));
        break;
    case K_BYTES:
        bdbi_xdr_put_u32(o, 32);
        bdbi_xdr_put_u64(o, v);
        for (int i = 0; i < 3; i++) bdbi_xdr_put_u64(o, gen_next(r));
        break;
    case K_SYMBOL: {
        char s[40];
        const char *p =
            symbols[gen_hash(g, gen_tag(GH_CONTRACT, BDB_CONTRACT_DATA, 1), l->contract) % 10];
        snprintf(s, sizeof s, "%s_%010llx", p, (unsigned long long)v);
        bdbi_xdr_put_var(o, s, (uint32_t)strlen(s));
        break;
    }
    case K_VEC: { /* a token balance: Vec[Symbol "Balance", Address holder] */
        uint64_t holder = gen_muldiv(l->t, g->count[BDB_ACCOUNT], l->n_kind);
        bdbi_xdr_put_u32(o, 1);
        bdbi_xdr_put_u32(o, 2);
        put_symbol(o, "Balance");
        put_account_address(g, GEN_SLOT(holder, cls), o);
        break;
    }
    case K_MAP:
        bdbi_xdr_put_u32(o, 1);
        bdbi_xdr_put_u32(o, 2);
        put_symbol(o, "id");
        bdbi_xdr_put_u32(o, 5);
        bdbi_xdr_put_u64(o, v);
        put_symbol(o, "kind");
        put_symbol(o, "order");
        break;
    case K_ADDRESS:
        bdbi_xdr_put_u32(o, 1); /* SC_ADDRESS_TYPE_CONTRACT */
        bdbi_xdr_put_u64(o, (v << 20) | (gen_next(r) & 0xfffff));
        for (int i = 0; i < 3; i++) bdbi_xdr_put_u64(o, gen_next(r));
        break;
    case K_INSTANCE:
        break;
    case K_NONCE: { /* random-looking signed nonces, in order */
        uint64_t step = UINT64_MAX / (4 * l->n_kind + 4);
        uint64_t u = v * step + gen_below(r, step);
        bdbi_xdr_put_u64(o, u ^ (1ull << 63));
        break;
    }
    }
}

static int key_durable(const gen *g, const cd_loc *l, uint64_t slot)
{
    if (l->kind == K_VEC || l->kind == K_INSTANCE) return 1;
    if (l->kind == K_NONCE) return 0;
    return gen_hash(g, gen_tag(GH_SHAPE, BDB_CONTRACT_DATA, 2), slot) % 10 < 7;
}

static void put_key(const gen *g, const cd_loc *l, uint64_t slot, bdbi_xdr_out *o, int *durable)
{
    uint64_t cls = slot % 4, cslot = GEN_SLOT(l->contract, cls < 2 ? 0 : cls);
    gen_rng r = gen_rng_of(g, gen_tag(GH_ID, BDB_CONTRACT_DATA, 0), slot);
    bdbi_xdr_put_u32(o, 1); /* SC_ADDRESS_TYPE_CONTRACT */
    gen_contract_id(g, cslot, o);
    put_key_scval(g, l, GEN_SLOT(l->t, cls), cls, &r, o);
    *durable = key_durable(g, l, slot);
    bdbi_xdr_put_u32(o, (uint32_t)*durable);
}

void gen_contract_data_key(const gen *g, uint64_t slot, bdbi_xdr_out *o, int *durable)
{
    cd_loc l;
    locate(g, slot / 4, &l);
    put_key(g, &l, slot, o, durable);
}

/* ---- values ---- */

static void put_i128(bdbi_xdr_out *o, gen_rng *r)
{
    bdbi_xdr_put_u32(o, 10);
    bdbi_xdr_put_i64(o, 0);
    bdbi_xdr_put_u64(o, gen_below(r, 1000000000000000ull));
}

static void put_bytes(bdbi_xdr_out *o, gen_rng *r, uint32_t n)
{
    bdbi_xdr_put_u32(o, 13);
    bdbi_xdr_put_u32(o, n);
    uint64_t x = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i % 8 == 0) x = gen_next(r);
        uint8_t b = (uint8_t)(x >> (8 * (i % 8)));
        bdbi_xdr_put_raw(o, &b, 1);
    }
    static const uint8_t zero[3];
    bdbi_xdr_put_raw(o, zero, (4 - n % 4) % 4);
}

static void put_string(bdbi_xdr_out *o, gen_rng *r, uint32_t n)
{
    static const char words[] = "the quick brown fox jumps over a lazy dog stellar soroban ";
    bdbi_xdr_put_u32(o, 14);
    bdbi_xdr_put_u32(o, n);
    for (uint32_t i = 0; i < n; i++) {
        char c = words[gen_below(r, sizeof words - 1)];
        bdbi_xdr_put_raw(o, &c, 1);
    }
    static const uint8_t zero[3];
    bdbi_xdr_put_raw(o, zero, (4 - n % 4) % 4);
}

/* A value of a storage map or a data entry: one of a few small kinds. */
static void put_small_value(const gen *g, bdbi_xdr_out *o, gen_rng *r)
{
    switch (gen_below(r, 5)) {
    case 0:
        bdbi_xdr_put_u32(o, 5), bdbi_xdr_put_u64(o, gen_next(r));
        break;
    case 1:
        put_i128(o, r);
        break;
    case 2:
        put_bytes(o, r, 8 + (uint32_t)gen_below(r, 120));
        break;
    case 3:
        put_string(o, r, 4 + (uint32_t)gen_below(r, 60));
        break;
    default:
        put_account_address(g, GEN_SLOT(gen_below(r, g->count[BDB_ACCOUNT]), 0), o);
    }
}

/* A map with symbol keys f0, f1, ... (sorted, as Soroban requires). */
static void put_field_map(const gen *g, bdbi_xdr_out *o, gen_rng *r, uint32_t n)
{
    bdbi_xdr_put_u32(o, 17);
    bdbi_xdr_put_u32(o, 1);
    bdbi_xdr_put_u32(o, n);
    for (uint32_t i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "f%02u", i);
        put_symbol(o, key);
        put_small_value(g, o, r);
    }
}

static void put_code_hash(const gen *g, uint64_t code, bdbi_xdr_out *o)
{
    uint64_t s = GEN_SLOT(code, GEN_LIVE);
    gen_id32(g, BDB_CONTRACT_CODE, s, gen_prefix(g, BDB_CONTRACT_CODE, s), o);
}

static void put_instance(const gen *g, const cd_loc *l, bdbi_xdr_out *o, gen_rng *s, gen_rng *v)
{
    bdbi_xdr_put_u32(o, 19);
    int sac = l->token && gen_chance(s, 500);
    if (sac) {
        bdbi_xdr_put_u32(o, 1); /* CONTRACT_EXECUTABLE_STELLAR_ASSET */
        bdbi_xdr_put_u32(o, 1);
        bdbi_xdr_put_u32(o, 2);
        put_symbol(o, "Admin");
        put_account_address(g, GEN_SLOT(gen_below(s, g->count[BDB_ACCOUNT]), 0), o);
        put_symbol(o, "METADATA");
        put_field_map(g, o, v, 3);
        return;
    }
    bdbi_xdr_put_u32(o, 0); /* CONTRACT_EXECUTABLE_WASM */
    put_code_hash(g, gen_below(s, g->count[BDB_CONTRACT_CODE]), o);
    bdbi_xdr_put_u32(o, 1);
    uint32_t n = 1 + (uint32_t)gen_below(s, 12);
    bdbi_xdr_put_u32(o, n);
    for (uint32_t i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%02u", i);
        put_symbol(o, key);
        put_small_value(g, o, v);
    }
}

static void put_value(const gen *g, const cd_loc *l, uint64_t slot, uint32_t version,
                      bdbi_xdr_out *o)
{
    gen_rng s = gen_rng_of(g, gen_tag(GH_SHAPE, BDB_CONTRACT_DATA, 0), slot);
    gen_rng v = gen_rng_of(g, gen_tag(GH_VALUE, BDB_CONTRACT_DATA, version), slot);
    double u = gen_unit(&s);
    switch (l->kind) {
    case K_U64:
        if (gen_chance(&s, 700)) {
            put_i128(o, &v);
        } else { /* Vec of u32 */
            uint32_t n = 1 + (uint32_t)gen_below(&s, 8);
            bdbi_xdr_put_u32(o, 16);
            bdbi_xdr_put_u32(o, 1);
            bdbi_xdr_put_u32(o, n);
            for (uint32_t i = 0; i < n; i++) {
                bdbi_xdr_put_u32(o, 3);
                bdbi_xdr_put_u32(o, (uint32_t)gen_next(&v));
            }
        }
        break;
    case K_U128:
    case K_ADDRESS:
        put_i128(o, &v);
        break;
    case K_BYTES: /* mostly small, a few KB at most */
        put_bytes(o, &v, 32 + (uint32_t)(u * u * u * u * 3000));
        break;
    case K_SYMBOL:
        put_string(o, &v, 16 + (uint32_t)(u * u * 300));
        break;
    case K_VEC: /* a token balance {amount, authorized, clawback} */
        bdbi_xdr_put_u32(o, 17);
        bdbi_xdr_put_u32(o, 1);
        bdbi_xdr_put_u32(o, 3);
        put_symbol(o, "amount");
        put_i128(o, &v);
        put_symbol(o, "authorized");
        bdbi_xdr_put_u32(o, 0), bdbi_xdr_put_u32(o, 1);
        put_symbol(o, "clawback");
        bdbi_xdr_put_u32(o, 0), bdbi_xdr_put_u32(o, 0);
        break;
    case K_MAP:
        put_field_map(g, o, &v, 3 + (uint32_t)gen_below(&s, 6));
        break;
    case K_INSTANCE:
        put_instance(g, l, o, &s, &v);
        break;
    case K_NONCE:
        bdbi_xdr_put_u32(o, 1); /* SCV_VOID */
        break;
    }
}

void gen_contract_data_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o)
{
    cd_loc l;
    int durable;
    locate(g, slot / 4, &l);
    bdbi_xdr_put_u32(o, 0); /* ExtensionPoint */
    put_key(g, &l, slot, o, &durable);
    put_value(g, &l, slot, version, o);
}

/* ---- code, config, TTL ---- */

void gen_contract_code_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o)
{
    gen_rng s = gen_rng_of(g, gen_tag(GH_SHAPE, BDB_CONTRACT_CODE, 0), slot);
    gen_rng v = gen_rng_of(g, gen_tag(GH_VALUE, BDB_CONTRACT_CODE, version), slot);
    bdbi_xdr_put_u32(o, 1); /* ext v1: cost inputs */
    bdbi_xdr_put_u32(o, 0);
    bdbi_xdr_put_u32(o, 0);
    for (int i = 0; i < 10; i++)
        bdbi_xdr_put_u32(o, (uint32_t)gen_versioned((int64_t)gen_below(&v, 20000), version));
    gen_id32(g, BDB_CONTRACT_CODE, slot, gen_prefix(g, BDB_CONTRACT_CODE, slot), o);
    /* wasm-like: a header, then bytes of 6 bits of entropy (code
     * compresses about as much as real modules) */
    double u = gen_unit(&s);
    uint32_t n = 1024 + (uint32_t)(u * u * 20000);
    bdbi_xdr_put_u32(o, n);
    static const uint8_t magic[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    bdbi_xdr_put_raw(o, magic, 8);
    uint64_t x = 0;
    for (uint32_t i = 8; i < n; i++) {
        if (i % 8 == 0) x = gen_next(&s);
        uint8_t b = (uint8_t)((x >> (8 * (i % 8))) & 0x3f);
        bdbi_xdr_put_raw(o, &b, 1);
    }
    static const uint8_t zero[3];
    bdbi_xdr_put_raw(o, zero, (4 - n % 4) % 4);
}

uint32_t gen_config_id(uint64_t slot)
{
    uint64_t k = slot / 4;
    return slot % 4 < 2 ? (uint32_t)k : 17 + (uint32_t)(k % 4);
}

static void put_u32s(bdbi_xdr_out *o, const uint32_t *v, int n)
{
    for (int i = 0; i < n; i++) bdbi_xdr_put_u32(o, v[i]);
}

static void put_cost_params(bdbi_xdr_out *o, gen_rng *r, uint32_t n)
{
    bdbi_xdr_put_u32(o, n);
    for (uint32_t i = 0; i < n; i++) {
        bdbi_xdr_put_u32(o, 0);
        bdbi_xdr_put_i64(o, (int64_t)gen_below(r, 100000));
        bdbi_xdr_put_i64(o, (int64_t)gen_below(r, 5000));
    }
}

/* Plausible protocol-23 values; the version moves the ones that change
 * from ledger to ledger (the state size window, the eviction iterator). */
void gen_config_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o)
{
    uint32_t id = gen_config_id(slot);
    gen_rng v = gen_rng_of(g, gen_tag(GH_VALUE, BDB_CONFIG_SETTING, version), slot);
    bdbi_xdr_put_u32(o, id);
    switch (id) {
    case 0:
        bdbi_xdr_put_u32(o, 131072);
        break;
    case 1:
        bdbi_xdr_put_i64(o, 500000000), bdbi_xdr_put_i64(o, 100000000);
        bdbi_xdr_put_i64(o, 25), bdbi_xdr_put_u32(o, 41943040);
        break;
    case 2: {
        static const uint32_t a[8] = {1000, 3500000, 250, 143360, 100, 200000, 50, 132096};
        put_u32s(o, a, 8);
        bdbi_xdr_put_i64(o, 6250), bdbi_xdr_put_i64(o, 10000), bdbi_xdr_put_i64(o, 1786);
        bdbi_xdr_put_i64(o, 3000000000ll), bdbi_xdr_put_i64(o, 1000), bdbi_xdr_put_i64(o, 10000);
        bdbi_xdr_put_u32(o, 5000);
        break;
    }
    case 3:
        bdbi_xdr_put_i64(o, 16235);
        break;
    case 4:
        bdbi_xdr_put_u32(o, 16384), bdbi_xdr_put_i64(o, 10000);
        break;
    case 5:
        bdbi_xdr_put_u32(o, 132096), bdbi_xdr_put_u32(o, 132096), bdbi_xdr_put_i64(o, 1624);
        break;
    case 6:
        put_cost_params(o, &v, 70);
        break;
    case 7:
        put_cost_params(o, &v, 70);
        break;
    case 8:
        bdbi_xdr_put_u32(o, 250);
        break;
    case 9:
        bdbi_xdr_put_u32(o, 131072);
        break;
    case 10: {
        static const uint32_t a[3] = {3110400, 17280, 2073600};
        static const uint32_t b[5] = {1000, 30, 64, 100000, 7};
        put_u32s(o, a, 3);
        bdbi_xdr_put_i64(o, 1215), bdbi_xdr_put_i64(o, 2430);
        put_u32s(o, b, 5);
        break;
    }
    case 11:
        bdbi_xdr_put_u32(o, 1000);
        break;
    case 12:
        bdbi_xdr_put_u32(o, 30);
        for (int i = 0; i < 30; i++) bdbi_xdr_put_u64(o, 500000000ull + gen_below(&v, 100000000));
        break;
    case 13:
        bdbi_xdr_put_u32(o, 6 + (uint32_t)gen_below(&v, 5));
        bdbi_xdr_put_u32(o, (uint32_t)gen_below(&v, 2));
        bdbi_xdr_put_u64(o, gen_below(&v, 1ull << 30));
        break;
    case 14:
        bdbi_xdr_put_u32(o, 1);
        break;
    case 15:
        bdbi_xdr_put_u32(o, 100), bdbi_xdr_put_i64(o, 3500);
        break;
    case 16: {
        static const uint32_t a[5] = {5000, 1000, 1000, 1000, 1000};
        put_u32s(o, a, 5);
        break;
    }
    case 17: /* protocol 26's frozen keys and bypass lists (absent slots only): empty */
    case 19:
        bdbi_xdr_put_u32(o, 0);
        break;
    default:
        bdbi_xdr_put_u32(o, 0), bdbi_xdr_put_u32(o, 0);
        break;
    }
}

void gen_ttl_owner(const gen *g, uint64_t slot, int *type, uint64_t *owner_slot)
{
    uint64_t k = slot / 4, cls = slot % 4, ncd = g->count[BDB_CONTRACT_DATA];
    *type = k < ncd ? BDB_CONTRACT_DATA : BDB_CONTRACT_CODE;
    *owner_slot = GEN_SLOT(k < ncd ? k : k - ncd, cls);
}

void gen_ttl_body(const gen *g, uint64_t slot, uint32_t version, uint32_t last_modified,
                  bdbi_xdr_out *o)
{
    int type, durable = 1;
    uint64_t os;
    uint8_t key[GEN_KEY_MAX], h[32];
    bdbi_xdr_out ko;
    gen_ttl_owner(g, slot, &type, &os);
    bdbi_xdr_out_init(&ko, key, sizeof key);
    bdbi_xdr_put_u32(&ko, (uint32_t)type);
    if (type == BDB_CONTRACT_DATA)
        gen_contract_data_key(g, os, &ko, &durable);
    else
        gen_id32(g, type, os, gen_prefix(g, type, os), &ko);
    bdbi_sha256_digest(key, ko.len, h);
    bdbi_xdr_put_fixed(o, h, 32);
    /* temporary entries live days, persistent ones months */
    gen_rng v = gen_rng_of(g, gen_tag(GH_VALUE, BDB_TTL, version), slot);
    uint64_t span = durable ? 3110400 : 120960;
    bdbi_xdr_put_u32(o, last_modified +
                            (uint32_t)gen_versioned((int64_t)gen_below(&v, span), version));
}
