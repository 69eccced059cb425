/* The LedgerKey reference comparator (lib/xdr/keycmp.c) against the order
 * of spec stellar-bucketlist.md §3 (xdrpp operator<) and the XDR validity
 * rules of §2.1. Keys are written by hand, big-endian, with the helpers
 * below; no other bucketdb XDR code is used. Every key handed to the
 * comparator is first copied into a heap block of exactly its length, so
 * AddressSanitizer sees any read past its end. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bucketdb/bucketdb.h"
#include "xdr/keycmp.h"

/* LedgerEntryType */
enum {
    ACCOUNT,
    TRUSTLINE,
    OFFER,
    DATA,
    CLAIMABLE_BALANCE,
    LIQUIDITY_POOL,
    CONTRACT_DATA,
    CONTRACT_CODE,
    CONFIG_SETTING,
    TTL
};
/* SCValType */
enum {
    BOOL,
    VOID,
    ERROR,
    U32,
    I32,
    U64,
    I64,
    TIMEPOINT,
    DURATION,
    U128,
    I128,
    U256,
    I256,
    BYTES,
    STRING,
    SYMBOL,
    VEC,
    MAP,
    ADDRESS,
    CONTRACT_INSTANCE,
    LEDGER_KEY_CONTRACT_INSTANCE,
    LEDGER_KEY_NONCE,
    EXECUTABLE_TAG
};
enum { TEMPORARY, PERSISTENT };

/* ---- byte writers ---------------------------------------------------- */

struct key {
    uint8_t b[4096];
    size_t n;
};

static void u32(struct key *k, uint32_t v)
{
    cr_assert_leq(k->n + 4, sizeof k->b);
    for (int i = 3; i >= 0; i--) k->b[k->n++] = (uint8_t)(v >> (8 * i));
}

static void u64(struct key *k, uint64_t v)
{
    u32(k, (uint32_t)(v >> 32));
    u32(k, (uint32_t)v);
}

static void raw(struct key *k, const void *p, size_t n)
{
    cr_assert_leq(k->n + n, sizeof k->b);
    if (n) memcpy(k->b + k->n, p, n);
    k->n += n;
}

static void fill(struct key *k, uint8_t byte, size_t n)
{
    cr_assert_leq(k->n + n, sizeof k->b);
    memset(k->b + k->n, byte, n);
    k->n += n;
}

/* opaque<> / string<>: length, content, zero padding */
static void var(struct key *k, const void *p, size_t n)
{
    u32(k, (uint32_t)n);
    raw(k, p, n);
    fill(k, 0, (4 - (n & 3)) & 3);
}

static void str(struct key *k, const char *s)
{
    var(k, s, strlen(s));
}

static void hash(struct key *k, uint8_t byte)
{
    fill(k, byte, 32);
}

static void account_id(struct key *k, uint8_t byte)
{
    u32(k, 0); /* PUBLIC_KEY_TYPE_ED25519 */
    hash(k, byte);
}

/* SCAddress CONTRACT */
static void contract(struct key *k, uint8_t byte)
{
    u32(k, 1);
    hash(k, byte);
}

static void sc_u32(struct key *k, uint32_t v)
{
    u32(k, U32);
    u32(k, v);
}

static void sc_sym(struct key *k, const char *s)
{
    u32(k, SYMBOL);
    str(k, s);
}

/* present SCVec / SCMap header */
static void sc_vec(struct key *k, uint32_t count)
{
    u32(k, VEC);
    u32(k, 1);
    u32(k, count);
}

static void sc_map(struct key *k, uint32_t count)
{
    u32(k, MAP);
    u32(k, 1);
    u32(k, count);
}

static struct key account_key(uint8_t byte)
{
    struct key k = {.n = 0};
    u32(&k, ACCOUNT);
    account_id(&k, byte);
    return k;
}

/* CONTRACT_DATA key: contract, the SCVal in `val`, durability */
static struct key cd_key(uint8_t contract_byte, const struct key *val, uint32_t durability)
{
    struct key k = {.n = 0};
    u32(&k, CONTRACT_DATA);
    contract(&k, contract_byte);
    raw(&k, val->b, val->n);
    u32(&k, durability);
    return k;
}

static struct key cd(const struct key *val)
{
    return cd_key(0xC0, val, PERSISTENT);
}

/* ---- comparator calls ------------------------------------------------ */

static int call(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, int *order)
{
    /* exact-size heap copies so ASan catches any over-read */
    uint8_t *ca = malloc(alen ? alen : 1), *cb = malloc(blen ? blen : 1);
    cr_assert(ca && cb);
    if (alen) memcpy(ca, a, alen);
    if (blen) memcpy(cb, b, blen);
    int rc = bdbi_ledger_key_cmp(ca, alen, cb, blen, order);
    free(ca);
    free(cb);
    return rc;
}

static int cmp(const struct key *a, const struct key *b)
{
    int ord = 42;
    int rc = call(a->b, a->n, b->b, b->n, &ord);
    cr_assert_eq(rc, 0, "comparator failed: %s", bdb_errmsg());
    cr_assert(ord == -1 || ord == 0 || ord == 1, "order %d", ord);
    return ord;
}

static void expect_eq(const struct key *a, const struct key *b)
{
    cr_assert_eq(cmp(a, b), 0);
    cr_assert_eq(cmp(b, a), 0);
}

/* a < b in both directions, and each equal to itself */
static void expect_lt(const struct key *a, const struct key *b)
{
    cr_assert_eq(cmp(a, b), -1);
    cr_assert_eq(cmp(b, a), 1);
    cr_assert_eq(cmp(a, a), 0);
    cr_assert_eq(cmp(b, b), 0);
}

static void expect_sorted(const struct key *k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) {
            if (i == j)
                cr_assert_eq(cmp(&k[i], &k[j]), 0, "key %zu vs itself", i);
            else
                cr_assert_eq(cmp(&k[i], &k[j]), -1, "key %zu should sort before key %zu", i, j);
            if (i != j) cr_assert_eq(cmp(&k[j], &k[i]), 1, "key %zu vs %zu reversed", j, i);
        }
}

static int memcmp_keys(const struct key *a, const struct key *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->b, b->b, n);
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

#define ANY_OFFSET (-2)

static void expect_error(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                         const char *which, int64_t offset, int64_t max_offset)
{
    int ord = 42;
    bdb_clear_error();
    int rc = call(a, alen, b, blen, &ord);
    cr_assert_eq(rc, BDB_EFORMAT, "rc %d (order %d) for a bad %s", rc, ord, which);
    bdb_error e;
    bdb_last_error(&e);
    cr_assert_eq(e.code, BDB_EFORMAT);
    cr_assert_str_eq(e.path, which, "error blames %s: %s", e.path, bdb_errmsg());
    cr_assert_neq(e.msg[0], '\0');
    if (offset == ANY_OFFSET)
        cr_assert(e.offset >= 0 && e.offset <= max_offset, "offset %lld outside 0..%lld: %s",
                  (long long)e.offset, (long long)max_offset, bdb_errmsg());
    else
        cr_assert_eq(e.offset, offset, "offset %lld, expected %lld: %s", (long long)e.offset,
                     (long long)offset, bdb_errmsg());
}

/* The bad key is rejected as key a and as key b, against a valid key and
 * against itself, at `offset` (or anywhere in it with ANY_OFFSET). */
static void expect_bad_bytes(const uint8_t *p, size_t n, int64_t offset)
{
    struct key good = account_key(0x55);
    expect_error(p, n, good.b, good.n, "key a", offset, (int64_t)n);
    expect_error(good.b, good.n, p, n, "key b", offset, (int64_t)n);
    expect_error(p, n, p, n, "key a", offset, (int64_t)n);
}

static void expect_bad(const struct key *k, int64_t offset)
{
    expect_bad_bytes(k->b, k->n, offset);
}

TestSuite(keycmp);

/* ---- §3.3 counterexamples -------------------------------------------- */

Test(keycmp, counterexample_1_data_name_content_before_length)
{
    struct key aa = {.n = 0}, b = {.n = 0};
    u32(&aa, DATA);
    account_id(&aa, 7);
    str(&aa, "aa");
    u32(&b, DATA);
    account_id(&b, 7);
    str(&b, "b");
    cr_assert_gt(memcmp_keys(&aa, &b), 0, "bytes order \"b\" first");
    expect_lt(&aa, &b);
}

Test(keycmp, counterexample_2_nonce_is_signed)
{
    struct key m = {.n = 0}, p = {.n = 0};
    u32(&m, LEDGER_KEY_NONCE);
    u64(&m, (uint64_t)-1);
    u32(&p, LEDGER_KEY_NONCE);
    u64(&p, 1);
    struct key km = cd(&m), kp = cd(&p);
    cr_assert_gt(memcmp_keys(&km, &kp), 0);
    expect_lt(&km, &kp);
}

Test(keycmp, counterexample_3_sac_balance_vs_allowance)
{
    struct key bal = {.n = 0}, alw = {.n = 0};
    sc_vec(&bal, 2);
    sc_sym(&bal, "Balance");
    u32(&bal, ADDRESS);
    contract(&bal, 1);
    sc_vec(&alw, 2);
    sc_sym(&alw, "Allowance");
    u32(&alw, ADDRESS);
    contract(&alw, 1);
    struct key kb = cd(&bal), ka = cd(&alw);
    cr_assert_lt(memcmp_keys(&kb, &ka), 0, "bytes order \"Balance\" first");
    expect_lt(&ka, &kb);
}

Test(keycmp, counterexample_4_vec_elements_before_count)
{
    struct key two = {.n = 0}, one = {.n = 0};
    sc_vec(&two, 2);
    sc_u32(&two, 5);
    sc_u32(&two, 5);
    sc_vec(&one, 1);
    sc_u32(&one, 7);
    struct key k2 = cd(&two), k1 = cd(&one);
    cr_assert_gt(memcmp_keys(&k2, &k1), 0);
    expect_lt(&k2, &k1);
}

/* ---- LedgerKey arms ---------------------------------------------------- */

Test(keycmp, entry_type_decides_first)
{
    struct key k[10];
    for (int t = 0; t < 10; t++) {
        k[t].n = 0;
        u32(&k[t], (uint32_t)t);
        /* payloads that would sort in reverse if the type were not first */
        switch (t) {
        case ACCOUNT:
            account_id(&k[t], 0xFF);
            break;
        case TRUSTLINE:
            account_id(&k[t], 0xEE);
            u32(&k[t], 3);
            hash(&k[t], 0xEE);
            break;
        case OFFER:
            account_id(&k[t], 0xDD);
            u64(&k[t], 5);
            break;
        case DATA:
            account_id(&k[t], 0xCC);
            str(&k[t], "zz");
            break;
        case CLAIMABLE_BALANCE:
            u32(&k[t], 0);
            hash(&k[t], 0xBB);
            break;
        case CONTRACT_DATA: {
            struct key v = {.n = 0};
            u32(&v, LEDGER_KEY_CONTRACT_INSTANCE);
            k[t] = cd_key(0x99, &v, PERSISTENT);
            break;
        }
        case CONFIG_SETTING:
            u32(&k[t], 20);
            break;
        default: /* LIQUIDITY_POOL, CONTRACT_CODE, TTL */
            hash(&k[t], (uint8_t)(0xFF - 0x11 * t));
        }
    }
    expect_sorted(k, 10);
}

Test(keycmp, fixed_size_keys_compare_their_bytes)
{
    /* ACCOUNT, CLAIMABLE_BALANCE, LIQUIDITY_POOL, CONTRACT_CODE, TTL:
     * Hash/uint256 compared as unsigned bytes, first byte first */
    static const int types[] = {ACCOUNT, CLAIMABLE_BALANCE, LIQUIDITY_POOL, CONTRACT_CODE, TTL};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        struct key k[3];
        for (int i = 0; i < 3; i++) {
            k[i].n = 0;
            u32(&k[i], (uint32_t)types[t]);
            if (types[t] == ACCOUNT || types[t] == CLAIMABLE_BALANCE) u32(&k[i], 0);
            hash(&k[i], 0x10);
        }
        k[0].b[k[0].n - 1] = 0xFF; /* last byte high: still first */
        k[1].b[k[1].n - 32] = 0x7F;
        k[2].b[k[2].n - 32] = 0x80; /* unsigned: 0x80 > 0x7F */
        expect_sorted(k, 3);
    }
}

Test(keycmp, config_setting_ids)
{
    struct key k[21];
    for (uint32_t i = 0; i < 21; i++) {
        k[i].n = 0;
        u32(&k[i], CONFIG_SETTING);
        u32(&k[i], i);
    }
    expect_sorted(k, 21);
}

static struct key trustline(uint8_t acct, int asset_type, const char *code, uint8_t issuer)
{
    struct key k = {.n = 0};
    u32(&k, TRUSTLINE);
    account_id(&k, acct);
    u32(&k, (uint32_t)asset_type);
    if (asset_type == 1 || asset_type == 2) {
        uint8_t c[12] = {0};
        memcpy(c, code, strlen(code));
        raw(&k, c, asset_type == 1 ? 4 : 12);
        account_id(&k, issuer);
    } else if (asset_type == 3) {
        hash(&k, issuer);
    }
    return k;
}

Test(keycmp, trustline_assets)
{
    struct key k[] = {
        trustline(1, 3, NULL, 0xFF),       /* account decides first */
        trustline(2, 0, NULL, 0),          /* NATIVE */
        trustline(2, 1, "EUR", 0xFF),      /* CREDIT_ALPHANUM4: code before issuer */
        trustline(2, 1, "USD", 0x01),      /* */
        trustline(2, 1, "USD", 0x02),      /* same code: issuer */
        trustline(2, 1, "USDC", 0x00),     /* */
        trustline(2, 2, "AAAAA", 0xFF),    /* CREDIT_ALPHANUM12 after every AN4 */
        trustline(2, 2, "ZZZZZZZZ", 0x00), /* */
        trustline(2, 3, NULL, 0x00),       /* POOL_SHARE last */
        trustline(2, 3, NULL, 0x01),       /* */
    };
    expect_sorted(k, sizeof k / sizeof k[0]);
}

static struct key offer(uint8_t seller, int64_t id)
{
    struct key k = {.n = 0};
    u32(&k, OFFER);
    account_id(&k, seller);
    u64(&k, (uint64_t)id);
    return k;
}

Test(keycmp, offer_id_is_signed)
{
    struct key k[] = {offer(1, INT64_MAX), offer(2, INT64_MIN), offer(2, -1),
                      offer(2, 0),         offer(2, 1),         offer(2, INT64_MAX)};
    expect_sorted(k, sizeof k / sizeof k[0]);
    struct key neg = offer(3, -5), pos = offer(3, 5);
    cr_assert_gt(memcmp_keys(&neg, &pos), 0, "bytes put the negative offerID last");
    expect_lt(&neg, &pos);
}

static struct key data_key(uint8_t acct, const char *name, size_t len)
{
    struct key k = {.n = 0};
    u32(&k, DATA);
    account_id(&k, acct);
    var(&k, name, len);
    return k;
}

Test(keycmp, data_name_prefix_and_content)
{
    char n64[64];
    memset(n64, 'z', sizeof n64);
    struct key k[] = {
        data_key(1, "zzzz", 4), /* account decides first */
        data_key(2, "", 0),     /* string<64> admits the empty name */
        data_key(2, "a", 1),    data_key(2, "aa", 2),   data_key(2, "aaaaa", 5),
        data_key(2, "ab", 2),   data_key(2, "b", 1),    data_key(2, n64, 64),
        data_key(2, "\x7f", 1), data_key(2, "\x80", 1), /* unsigned bytes */
    };
    expect_sorted(k, sizeof k / sizeof k[0]);
}

/* ---- CONTRACT_DATA ---------------------------------------------------- */

Test(keycmp, contract_data_field_order_and_durability)
{
    struct key v1 = {.n = 0}, v2 = {.n = 0};
    sc_u32(&v1, 1);
    sc_u32(&v2, 2);
    struct key k[] = {
        cd_key(0x01, &v2, PERSISTENT), /* contract first */
        cd_key(0x02, &v1, PERSISTENT), /* then key */
        cd_key(0x02, &v2, TEMPORARY),  /* then durability: TEMPORARY < PERSISTENT */
        cd_key(0x02, &v2, PERSISTENT),
    };
    expect_sorted(k, sizeof k / sizeof k[0]);
}

static struct key addr(int type, uint64_t id, uint8_t byte)
{
    struct key k = {.n = 0};
    u32(&k, (uint32_t)type);
    if (type == 0 || type == 3) u32(&k, 0); /* AccountID / ClaimableBalanceID */
    if (type == 2) u64(&k, id);             /* MuxedEd25519Account {uint64 id; uint256} */
    hash(&k, byte);
    return k;
}

/* SCAddress as the contract of the key and inside an SCV_ADDRESS */
Test(keycmp, sc_address_arms)
{
    struct key a[] = {addr(0, 0, 0xFF), addr(1, 0, 0x00), addr(1, 0, 0x01),
                      addr(2, 1, 0xFF), addr(2, 2, 0x00), addr(2, 2, 0x01),
                      addr(3, 0, 0x00), addr(4, 0, 0x00), addr(4, 0, 0x80)};
    size_t n = sizeof a / sizeof a[0];
    struct key as_contract[9], as_value[9];
    struct key key_val = {.n = 0};
    u32(&key_val, LEDGER_KEY_CONTRACT_INSTANCE);
    for (size_t i = 0; i < n; i++) {
        as_contract[i] = (struct key){.n = 0};
        u32(&as_contract[i], CONTRACT_DATA);
        raw(&as_contract[i], a[i].b, a[i].n);
        raw(&as_contract[i], key_val.b, key_val.n);
        u32(&as_contract[i], TEMPORARY);
        struct key v = {.n = 0};
        u32(&v, ADDRESS);
        raw(&v, a[i].b, a[i].n);
        as_value[i] = cd(&v);
    }
    expect_sorted(as_contract, n);
    expect_sorted(as_value, n);
}

/* One SCVal per arm, with payloads that would mislead a byte comparison:
 * the discriminant decides, as a number. */
static struct key one_per_arm(int arm)
{
    struct key v = {.n = 0};
    u32(&v, (uint32_t)arm);
    switch (arm) {
    case BOOL:
        u32(&v, 1);
        break;
    case ERROR:
        u32(&v, 9);
        u32(&v, 9);
        break;
    case U32:
    case I32:
        u32(&v, 0xFFFFFFFF);
        break;
    case U64:
    case I64:
    case TIMEPOINT:
    case DURATION:
    case LEDGER_KEY_NONCE:
        u64(&v, UINT64_MAX);
        break;
    case U128:
    case I128:
        u64(&v, UINT64_MAX);
        u64(&v, UINT64_MAX);
        break;
    case U256:
    case I256:
        for (int i = 0; i < 4; i++) u64(&v, UINT64_MAX);
        break;
    case BYTES:
    case STRING:
    case SYMBOL:
    case EXECUTABLE_TAG:
        str(&v, "zzz");
        break;
    case VEC:
    case MAP:
        u32(&v, 1);
        u32(&v, 0);
        break;
    case ADDRESS:
        raw(&v, addr(4, 0, 0xFF).b, 36);
        break;
    case CONTRACT_INSTANCE:
        u32(&v, 1); /* STELLAR_ASSET */
        u32(&v, 0); /* no storage */
        break;
    default: /* VOID, LEDGER_KEY_CONTRACT_INSTANCE */
        break;
    }
    return cd(&v);
}

Test(keycmp, sc_val_arm_order)
{
    struct key k[23];
    for (int arm = 0; arm < 23; arm++) k[arm] = one_per_arm(arm);
    expect_sorted(k, 23);
}

/* The SCVals of `vals`, each wrapped as the key of a CONTRACT_DATA key,
 * must be in strictly ascending order. */
static void expect_vals_sorted(const struct key *vals, size_t n)
{
    struct key *k = malloc(n * sizeof *k);
    cr_assert(k);
    for (size_t i = 0; i < n; i++) k[i] = cd(&vals[i]);
    expect_sorted(k, n);
    free(k);
}

#define VALS_SORTED(...)                                                                           \
    do {                                                                                           \
        struct key vals_[] = {__VA_ARGS__};                                                        \
        expect_vals_sorted(vals_, sizeof vals_ / sizeof vals_[0]);                                 \
    } while (0)

/* SCVal builders returning a value: a 32- or 64-bit arm, and multi-part arms */
static struct key v32(int arm, uint32_t x)
{
    struct key v = {.n = 0};
    u32(&v, (uint32_t)arm);
    u32(&v, x);
    return v;
}

static struct key v64(int arm, uint64_t x)
{
    struct key v = {.n = 0};
    u32(&v, (uint32_t)arm);
    u64(&v, x);
    return v;
}

static struct key v128(int arm, uint64_t hi, uint64_t lo)
{
    struct key v = {.n = 0};
    u32(&v, (uint32_t)arm);
    u64(&v, hi);
    u64(&v, lo);
    return v;
}

static struct key v256(int arm, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    struct key v = {.n = 0};
    u32(&v, (uint32_t)arm);
    u64(&v, a);
    u64(&v, b);
    u64(&v, c);
    u64(&v, d);
    return v;
}

static struct key vbytes(int arm, const char *p, size_t n)
{
    struct key v = {.n = 0};
    u32(&v, (uint32_t)arm);
    var(&v, p, n);
    return v;
}

static struct key verror(uint32_t type, uint32_t code)
{
    struct key v = {.n = 0};
    u32(&v, ERROR);
    u32(&v, type);
    u32(&v, code);
    return v;
}

Test(keycmp, sc_val_scalars)
{
    VALS_SORTED(v32(BOOL, 0), v32(BOOL, 1));
    struct key vd = {.n = 0};
    u32(&vd, VOID);
    struct key kvd = cd(&vd);
    expect_eq(&kvd, &kvd);
    /* SCError: type (signed enum) first, then the contract code (uint32) or SCErrorCode */
    VALS_SORTED(verror(0, 7), verror(0, 8), verror(0, 0xFFFFFFFF), verror(1, 0), verror(1, 9),
                verror(9, 0), verror(9, 9));
    VALS_SORTED(v32(U32, 0), v32(U32, 1), v32(U32, 0x7FFFFFFF), v32(U32, 0x80000000),
                v32(U32, 0xFFFFFFFF));
    VALS_SORTED(v32(I32, 0x80000000), v32(I32, 0xFFFFFFFF), v32(I32, 0), v32(I32, 1),
                v32(I32, 0x7FFFFFFF));
    for (int arm = U64; arm <= DURATION; arm++) {
        if (arm == I64) continue;
        VALS_SORTED(v64(arm, 0), v64(arm, 1), v64(arm, (uint64_t)INT64_MAX),
                    v64(arm, (uint64_t)INT64_MIN), v64(arm, UINT64_MAX));
    }
    for (int arm = I64; arm <= LEDGER_KEY_NONCE; arm += LEDGER_KEY_NONCE - I64)
        VALS_SORTED(v64(arm, (uint64_t)INT64_MIN), v64(arm, (uint64_t)-1), v64(arm, 0), v64(arm, 1),
                    v64(arm, (uint64_t)INT64_MAX));
}

Test(keycmp, sc_val_128_and_256)
{
    const uint64_t M = UINT64_MAX, H = (uint64_t)1 << 63;
    /* UInt128Parts {hi, lo}: both unsigned, hi first */
    VALS_SORTED(v128(U128, 0, 0), v128(U128, 0, 1), v128(U128, 0, H), v128(U128, 0, M),
                v128(U128, 1, 0), v128(U128, H, 0), v128(U128, M, M));
    /* Int128Parts {int64 hi; uint64 lo}: negative hi first, lo unsigned */
    VALS_SORTED(v128(I128, H, 0), v128(I128, H, M), v128(I128, M, 0), v128(I128, M, M),
                v128(I128, 0, 0), v128(I128, 0, 1), v128(I128, 0, H), v128(I128, H - 1, M));
    /* UInt256Parts: four unsigned parts, hi_hi first */
    VALS_SORTED(v256(U256, 0, 0, 0, 0), v256(U256, 0, 0, 0, M), v256(U256, 0, 0, 1, 0),
                v256(U256, 0, H, 0, 0), v256(U256, 1, 0, 0, 0), v256(U256, H, 0, 0, 0),
                v256(U256, M, M, M, M));
    /* Int256Parts: signed hi_hi, three unsigned parts */
    VALS_SORTED(v256(I256, H, 0, 0, 0), v256(I256, M, M, M, M), v256(I256, 0, 0, 0, 0),
                v256(I256, 0, 0, 0, 1), v256(I256, 0, 0, 0, H), v256(I256, 0, 0, H, 0),
                v256(I256, 0, H, 0, 0), v256(I256, 1, 0, 0, 0), v256(I256, H - 1, M, M, M));
}

Test(keycmp, sc_val_byte_strings)
{
    static const int arms[] = {BYTES, STRING, SYMBOL, EXECUTABLE_TAG};
    for (size_t i = 0; i < 4; i++) {
        int a = arms[i];
        VALS_SORTED(vbytes(a, "", 0), vbytes(a, "\0", 1), vbytes(a, "\0\0\0\0", 4),
                    vbytes(a, "Allowance", 9), vbytes(a, "Balance", 7), vbytes(a, "a", 1),
                    vbytes(a, "aa", 2), vbytes(a, "aaaaa", 5), vbytes(a, "ab", 2),
                    vbytes(a, "b", 1), vbytes(a, "\x7f", 1), vbytes(a, "\x80", 1),
                    vbytes(a, "\xff\xff", 2));
    }
    char s32[32];
    memset(s32, 'z', sizeof s32);
    VALS_SORTED(vbytes(SYMBOL, "zz", 2), vbytes(SYMBOL, s32, 32)); /* SCSymbol max 32 */
}

static struct key vec_of(int n, ...)
{
    struct key v = {.n = 0};
    sc_vec(&v, (uint32_t)n);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const struct key *e = va_arg(ap, const struct key *);
        raw(&v, e->b, e->n);
    }
    va_end(ap);
    return v;
}

/* SCMap with entries given as key, value, key, value ... */
static struct key map_of(int n, ...)
{
    struct key v = {.n = 0};
    sc_map(&v, (uint32_t)n);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < 2 * n; i++) {
        const struct key *e = va_arg(ap, const struct key *);
        raw(&v, e->b, e->n);
    }
    va_end(ap);
    return v;
}

static struct key absent(int arm)
{
    struct key v = {.n = 0};
    u32(&v, (uint32_t)arm);
    u32(&v, 0);
    return v;
}

Test(keycmp, sc_vec)
{
    struct key u5 = v32(U32, 5), u7 = v32(U32, 7), t = v32(BOOL, 1), vd = {.n = 0};
    u32(&vd, VOID);
    struct key im1 = v32(I32, 0xFFFFFFFF), i1 = v32(I32, 1);
    struct key in_m1 = vec_of(1, &im1), in_1 = vec_of(1, &i1), in_empty = vec_of(0);
    struct key in_absent = absent(VEC);
    VALS_SORTED(absent(VEC),                                      /* absent < present */
                vec_of(0),                                        /* empty < anything */
                vec_of(1, &t), vec_of(2, &t, &t), vec_of(1, &vd), /* element discriminant */
                vec_of(1, &u5), vec_of(2, &u5, &u5), vec_of(3, &u5, &u5, &u5), vec_of(2, &u5, &u7),
                vec_of(1, &u7));
    /* nested: the inner vec compares element-wise too, absent < empty */
    VALS_SORTED(vec_of(1, &u5), /* U32 (3) before VEC (16) */
                vec_of(1, &in_absent), vec_of(1, &in_empty), vec_of(1, &in_m1),
                vec_of(2, &in_m1, &u7), vec_of(1, &in_1));
}

Test(keycmp, sc_map)
{
    struct key k1 = v32(U32, 1), k2 = v32(U32, 2), va = v32(U32, 0), vb = v32(U32, 9);
    struct key sa = vbytes(SYMBOL, "a", 1), sb = vbytes(SYMBOL, "b", 1);
    struct key inner = map_of(1, &k1, &va), no_vec = absent(VEC);
    VALS_SORTED(absent(MAP), map_of(0), map_of(1, &k1, &va), /* */
                map_of(2, &k1, &va, &k2, &va),               /* proper prefix first */
                map_of(1, &k1, &vb),                         /* same key: value */
                map_of(1, &k2, &va),                         /* key before value */
                map_of(1, &sa, &inner),                      /* */
                map_of(1, &sb, &no_vec));                    /* */
    /* a map sorts after a vec whatever its content (17 > 16) */
    VALS_SORTED(vec_of(1, &vb), map_of(0));
}

static struct key instance(int exec, uint8_t byte, const char *tag, const struct key *storage)
{
    struct key v = {.n = 0};
    u32(&v, CONTRACT_INSTANCE);
    u32(&v, (uint32_t)exec);
    if (exec == 0) hash(&v, byte);
    if (exec == 2) {
        contract(&v, byte);
        str(&v, tag);
    }
    if (!storage) {
        u32(&v, 0);
    } else {
        u32(&v, 1);
        raw(&v, storage->b + 8, storage->n - 8); /* an SCMap's count and entries */
    }
    return v;
}

Test(keycmp, sc_contract_instance)
{
    struct key k1 = v32(U32, 1), v2 = v32(U32, 2), v10 = v32(U32, 10);
    struct key m0 = map_of(0), m2 = map_of(1, &k1, &v2), m10 = map_of(1, &k1, &v10);
    VALS_SORTED(instance(0, 0xFF, NULL, NULL), /* WASM */
                instance(0, 0xFF, NULL, &m0),  /* storage absent < present */
                instance(0, 0xFF, NULL, &m2),  /* */
                instance(0, 0xFF, NULL, &m10), /* */
                instance(1, 0, NULL, NULL),    /* STELLAR_ASSET */
                instance(1, 0, NULL, &m2),     /* */
                instance(2, 0x01, "zz", NULL), /* EXTERNAL_REF: owner before tag */
                instance(2, 0x02, "", NULL),   /* */
                instance(2, 0x02, "aa", NULL), /* */
                instance(2, 0x02, "b", NULL),  /* */
                instance(2, 0x02, "b", &m0));  /* */
    struct key lkci = {.n = 0};
    u32(&lkci, LEDGER_KEY_CONTRACT_INSTANCE);
    struct key a = cd(&lkci), b = cd(&lkci);
    expect_eq(&a, &b);
}

Test(keycmp, equal_keys_of_every_shape)
{
    struct key u5 = v32(U32, 5), sym = vbytes(SYMBOL, "Balance", 7);
    struct key inner = vec_of(2, &sym, &u5);
    struct key m = map_of(1, &sym, &inner);
    struct key vals[] = {vec_of(2, &sym, &u5), map_of(1, &inner, &m), instance(2, 3, "tag", &m),
                         v256(I256, 1, 2, 3, 4)};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        struct key a = cd(&vals[i]), b = cd(&vals[i]);
        expect_eq(&a, &b);
    }
}

/* ---- rejection ------------------------------------------------------- */

/* A CONTRACT_DATA key that exercises most of the grammar. */
static struct key rich_key(void)
{
    struct key u5 = v32(U32, 5), sym = vbytes(SYMBOL, "Balance", 7),
               bytes = vbytes(BYTES, "xyz", 3);
    struct key i256 = v256(I256, (uint64_t)-1, 2, 3, 4), err = verror(0, 77);
    struct key ad = {.n = 0};
    u32(&ad, ADDRESS);
    raw(&ad, addr(2, 9, 0xAB).b, 44);
    struct key tag = vbytes(EXECUTABLE_TAG, "t", 1), no_vec = absent(VEC);
    struct key inner = vec_of(5, &sym, &u5, &bytes, &i256, &no_vec);
    struct key m = map_of(2, &sym, &inner, &err, &ad);
    struct key inst = instance(2, 3, "tag!", &m);
    struct key top = vec_of(3, &inst, &tag, &m);
    return cd_key(0x42, &top, TEMPORARY);
}

static struct key sample_keys(int i)
{
    switch (i) {
    case 0:
        return account_key(9);
    case 1:
        return trustline(1, 2, "ABCDEFGHIJKL", 2);
    case 2:
        return offer(3, -3);
    case 3:
        return data_key(4, "abcde", 5);
    case 4: {
        struct key k = {.n = 0};
        u32(&k, CONFIG_SETTING);
        u32(&k, 20);
        return k;
    }
    default:
        return rich_key();
    }
}

Test(keycmp, truncation_at_every_offset)
{
    for (int s = 0; s < 6; s++) {
        struct key k = sample_keys(s);
        struct key self = k;
        expect_eq(&k, &self);
        for (size_t len = 0; len < k.n; len++) expect_bad_bytes(k.b, len, ANY_OFFSET);
    }
}

Test(keycmp, empty_input)
{
    struct key good = account_key(1);
    int ord = 42;
    cr_assert_eq(bdbi_ledger_key_cmp(NULL, 0, good.b, good.n, &ord), BDB_EFORMAT);
    bdb_error e;
    bdb_last_error(&e);
    cr_assert_eq(e.offset, 0);
    cr_assert_str_eq(e.path, "key a");
    cr_assert_eq(bdbi_ledger_key_cmp(good.b, good.n, NULL, 0, &ord), BDB_EFORMAT);
    bdb_last_error(&e);
    cr_assert_str_eq(e.path, "key b");
}

Test(keycmp, trailing_bytes)
{
    for (int s = 0; s < 6; s++) {
        struct key k = sample_keys(s);
        size_t n = k.n;
        fill(&k, 0, 1);
        expect_bad(&k, (int64_t)n);
        fill(&k, 0, 3);
        expect_bad(&k, (int64_t)n);
    }
}

/* the order is decided early, but a key that is invalid later is still an error */
Test(keycmp, invalid_after_the_order_is_decided)
{
    struct key a = account_key(1), b = sample_keys(2);
    fill(&b, 0, 4);
    expect_error(a.b, a.n, b.b, b.n, "key b", (int64_t)b.n - 4, 0);
    expect_error(b.b, b.n, a.b, a.n, "key a", (int64_t)b.n - 4, 0);
    /* inside one SCVec: element 0 decides, element 1 is an unknown arm */
    struct key one = v32(U32, 1), two = v32(U32, 2), bad = v32(23, 0);
    struct key va = vec_of(2, &one, &bad), vb = vec_of(2, &two, &two);
    struct key ka = cd(&va), kb = cd(&vb);
    int64_t at = 4 + 36 + 12 + 8; /* type, contract, vec header, element 0 */
    expect_error(ka.b, ka.n, kb.b, kb.n, "key a", at, 0);
    expect_error(kb.b, kb.n, ka.b, ka.n, "key b", at, 0);
}

/* writes `v` (a 32-bit word) at byte `at` of a copy of `k` and expects the
 * copy to be rejected at `at` */
static void expect_bad_word(const struct key *k, size_t at, uint32_t v)
{
    struct key c = *k;
    c.n = at;
    u32(&c, v);
    c.n = k->n;
    expect_bad(&c, (int64_t)at);
}

Test(keycmp, unknown_discriminants)
{
    struct key acc = account_key(1);
    expect_bad_word(&acc, 0, 10);         /* LedgerEntryType */
    expect_bad_word(&acc, 0, 0xFFFFFFFF); /* negative */
    expect_bad_word(&acc, 4, 1);          /* PublicKeyType */
    struct key tl = trustline(1, 0, NULL, 0);
    expect_bad_word(&tl, 40, 4); /* AssetType */
    struct key cb = {.n = 0};
    u32(&cb, CLAIMABLE_BALANCE);
    u32(&cb, 0);
    hash(&cb, 1);
    expect_bad_word(&cb, 4, 1); /* ClaimableBalanceIDType */
    struct key cfg = sample_keys(4);
    expect_bad_word(&cfg, 4, 21);         /* ConfigSettingID */
    expect_bad_word(&cfg, 4, 0xFFFFFFFF); /* */

    struct key v = {.n = 0};
    u32(&v, VOID);
    struct key k = cd(&v);
    expect_bad_word(&k, 4, 5);   /* SCAddressType: MUXED_CONTRACT is not compiled in */
    expect_bad_word(&k, 40, 23); /* SCValType */
    expect_bad_word(&k, 40, 0x80000000);
    expect_bad_word(&k, 44, 2); /* ContractDataDurability */

    struct key err = verror(1, 9), e = cd(&err);
    expect_bad_word(&e, 44, 10); /* SCErrorType */
    expect_bad_word(&e, 48, 10); /* SCErrorCode (type WASM_VM) */
    struct key inst = instance(1, 0, NULL, NULL);
    struct key ki = cd(&inst);
    expect_bad_word(&ki, 44, 3); /* ContractExecutableType */
    struct key ad = {.n = 0};
    u32(&ad, ADDRESS);
    raw(&ad, addr(4, 0, 1).b, 36);
    struct key ka = cd(&ad);
    expect_bad_word(&ka, 44, 5); /* SCAddressType inside an SCVal */
}

Test(keycmp, bool_and_optional_flags)
{
    struct key b = v32(BOOL, 1), kb = cd(&b);
    expect_bad_word(&kb, 44, 2);
    expect_bad_word(&kb, 44, 0xFFFFFFFF);
    struct key vec = absent(VEC), kv = cd(&vec);
    expect_bad_word(&kv, 44, 2);
    struct key map = absent(MAP), km = cd(&map);
    expect_bad_word(&km, 44, 2);
    struct key inst = instance(1, 0, NULL, NULL), ki = cd(&inst);
    expect_bad_word(&ki, 48, 2); /* SCContractInstance.storage */
}

/* non-zero padding after a string or opaque is refused at the bad byte */
Test(keycmp, nonzero_padding)
{
    struct key d = data_key(1, "abc", 3);
    for (size_t pad = 1; pad <= 3; pad++) {
        struct key s = data_key(1, "a", 1);
        s.b[s.n - pad] = 0x01;
        expect_bad(&s, (int64_t)(s.n - pad));
    }
    d.b[d.n - 1] = 0x80;
    expect_bad(&d, (int64_t)d.n - 1);
    static const int arms[] = {BYTES, STRING, SYMBOL, EXECUTABLE_TAG};
    for (size_t i = 0; i < 4; i++) {
        struct key v = vbytes(arms[i], "xy", 2), k = cd(&v);
        k.b[k.n - 5] = 0xFF; /* last padding byte, before the durability */
        expect_bad(&k, (int64_t)k.n - 5);
    }
    struct key inst = instance(2, 1, "t", NULL), ki = cd(&inst);
    ki.b[ki.n - 9] = 1; /* tag padding, before the storage flag and durability */
    expect_bad(&ki, (int64_t)ki.n - 9);
}

Test(keycmp, over_long_strings)
{
    char s[80];
    memset(s, 'n', sizeof s);
    struct key d64 = data_key(1, s, 64), d65 = data_key(1, s, 65);
    expect_eq(&d64, &d64);
    expect_bad(&d65, 40);
    struct key y32 = vbytes(SYMBOL, s, 32), y33 = vbytes(SYMBOL, s, 33);
    struct key k32 = cd(&y32), k33 = cd(&y33);
    expect_eq(&k32, &k32);
    expect_bad(&k33, 44);
    /* huge lengths and counts with few bytes behind them */
    struct key hs = vbytes(STRING, "ab", 2), ks = cd(&hs);
    ks.n = 44;
    u32(&ks, 0xFFFFFFFF);
    ks.n += 8;
    expect_bad(&ks, 48); /* the content is what is missing */
    struct key hb = vbytes(BYTES, "ab", 2), kb = cd(&hb);
    kb.n = 44;
    u32(&kb, 0x7FFFFFFF);
    kb.n += 8;
    expect_bad(&kb, 48);
    struct key hv = vec_of(0), kv = cd(&hv);
    expect_bad_word(&kv, 48, 0xFFFFFFFF);
    struct key hm = map_of(0), km = cd(&hm);
    expect_bad_word(&km, 48, 0x40000000);
    /* a count the bytes left cannot hold (each SCVal takes 4 bytes or more)
     * is refused at the count, not later at some element */
    expect_bad_word(&kv, 48, 2); /* 2 elements, 4 bytes left */
    expect_bad_word(&km, 48, 1); /* 1 entry needs 8 bytes, 4 left */
}

/* `levels` containers nested in one another, innermost holding VOID; kind
 * 0 = SCVec, 1 = SCMap (nesting in the value), 2 = contract-instance
 * storage, 3 = all three in turn. Heap-allocated: 100000 levels are big. */
static uint8_t *nested(size_t levels, int kind, size_t *len)
{
    size_t cap = 64 + levels * 32;
    uint8_t *p = malloc(cap);
    cr_assert(p);
    size_t n = 0;
#define PUT32(v)                                                                                   \
    do {                                                                                           \
        uint32_t v_ = (v);                                                                         \
        p[n] = (uint8_t)(v_ >> 24), p[n + 1] = (uint8_t)(v_ >> 16);                                \
        p[n + 2] = (uint8_t)(v_ >> 8), p[n + 3] = (uint8_t)v_;                                     \
        n += 4;                                                                                    \
    } while (0)
    PUT32(CONTRACT_DATA);
    PUT32(1);
    memset(p + n, 0xC0, 32);
    n += 32;
    for (size_t i = 0; i < levels; i++) {
        int kd = kind == 3 ? (int)(i % 3) : kind;
        if (kd == 0) { /* SCV_VEC, present, count 1, then the element */
            PUT32(VEC);
            PUT32(1);
            PUT32(1);
        } else if (kd == 1) { /* SCV_MAP, present, count 1, key VOID, then the value */
            PUT32(MAP);
            PUT32(1);
            PUT32(1);
            PUT32(VOID);
        } else { /* STELLAR_ASSET instance, storage present, count 1, key VOID, value */
            PUT32(CONTRACT_INSTANCE);
            PUT32(1);
            PUT32(1);
            PUT32(1);
            PUT32(VOID);
        }
    }
    PUT32(VOID);
    PUT32(PERSISTENT);
#undef PUT32
    *len = n;
    return p;
}

/* offset of the optional flag of container `i` (0-based) in nested() */
static int64_t nested_flag_at(size_t i, int kind)
{
    static const int size[] = {12, 16, 20};
    int64_t at = 40;
    for (size_t j = 0; j < i; j++) at += size[kind == 3 ? j % 3 : (size_t)kind];
    int kd = kind == 3 ? (int)(i % 3) : kind;
    return at + (kd == 2 ? 8 : 4);
}

Test(keycmp, nesting_depth_128_is_the_limit)
{
    for (int kind = 0; kind < 4; kind++) {
        size_t n64, n65;
        uint8_t *d64 = nested(128, kind, &n64), *d65 = nested(129, kind, &n65);
        int ord = 42;
        cr_assert_eq(call(d64, n64, d64, n64, &ord), 0, "kind %d: %s", kind, bdb_errmsg());
        cr_assert_eq(ord, 0);
        expect_bad_bytes(d65, n65, nested_flag_at(128, kind));
        free(d64);
        free(d65);
    }
}

Test(keycmp, very_deep_nesting_is_refused_without_overflow)
{
    for (int kind = 0; kind < 4; kind++) {
        size_t n;
        uint8_t *d = nested(100000, kind, &n);
        expect_bad_bytes(d, n, nested_flag_at(128, kind));
        free(d);
    }
}
