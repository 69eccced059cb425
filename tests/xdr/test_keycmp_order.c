/* The LedgerKey reference comparator (lib/xdr/keycmp.c) against the order
 * of spec stellar-bucketlist.md §3 (xdrpp operator<): the §3.3
 * counterexamples, every LedgerKey arm, SCAddress and SCVal order, and
 * equal keys. The XDR validity rules of §2.1 are tested in
 * test_keycmp_reject.c; the key-building helpers are in
 * keycmp_test_util.h. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keycmp_test_util.h"

/* ---- order assertions ----------------------------------------------- */

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

Test(keycmp, offer_id_is_signed)
{
    struct key k[] = {offer(1, INT64_MAX), offer(2, INT64_MIN), offer(2, -1),
                      offer(2, 0),         offer(2, 1),         offer(2, INT64_MAX)};
    expect_sorted(k, sizeof k / sizeof k[0]);
    struct key neg = offer(3, -5), pos = offer(3, 5);
    cr_assert_gt(memcmp_keys(&neg, &pos), 0, "bytes put the negative offerID last");
    expect_lt(&neg, &pos);
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
