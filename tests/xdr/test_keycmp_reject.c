/* The LedgerKey reference comparator (lib/xdr/keycmp.c) against the XDR
 * validity rules of spec stellar-bucketlist.md §2.1: truncated and empty
 * keys, trailing bytes, unknown discriminants, bad bool and optional
 * flags, non-zero padding, over-long strings and counts, and nesting past
 * the depth limit are refused with BDB_EFORMAT, blaming the right key at
 * the right offset. The order of §3 is tested in test_keycmp_order.c; the
 * key-building helpers are in keycmp_test_util.h. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keycmp_test_util.h"

/* ---- error assertions ----------------------------------------------- */

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
