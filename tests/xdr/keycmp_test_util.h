/* Helpers shared by the tests of the LedgerKey reference comparator
 * (lib/xdr/keycmp.c): test_keycmp_order.c and test_keycmp_reject.c.
 *
 * Keys are written by hand, big-endian, with the helpers below; no other
 * bucketdb XDR code is used. Every key handed to the comparator is first
 * copied into a heap block of exactly its length, so AddressSanitizer sees
 * any read past its end.
 *
 * Header-only: everything is static inline. Include it after "config.h". */
#ifndef BDB_TESTS_KEYCMP_TEST_UTIL_H
#define BDB_TESTS_KEYCMP_TEST_UTIL_H

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

static inline void u32(struct key *k, uint32_t v)
{
    cr_assert_leq(k->n + 4, sizeof k->b);
    for (int i = 3; i >= 0; i--) k->b[k->n++] = (uint8_t)(v >> (8 * i));
}

static inline void u64(struct key *k, uint64_t v)
{
    u32(k, (uint32_t)(v >> 32));
    u32(k, (uint32_t)v);
}

static inline void raw(struct key *k, const void *p, size_t n)
{
    cr_assert_leq(k->n + n, sizeof k->b);
    if (n) memcpy(k->b + k->n, p, n);
    k->n += n;
}

static inline void fill(struct key *k, uint8_t byte, size_t n)
{
    cr_assert_leq(k->n + n, sizeof k->b);
    memset(k->b + k->n, byte, n);
    k->n += n;
}

/* opaque<> / string<>: length, content, zero padding */
static inline void var(struct key *k, const void *p, size_t n)
{
    u32(k, (uint32_t)n);
    raw(k, p, n);
    fill(k, 0, (4 - (n & 3)) & 3);
}

static inline void str(struct key *k, const char *s)
{
    var(k, s, strlen(s));
}

static inline void hash(struct key *k, uint8_t byte)
{
    fill(k, byte, 32);
}

static inline void account_id(struct key *k, uint8_t byte)
{
    u32(k, 0); /* PUBLIC_KEY_TYPE_ED25519 */
    hash(k, byte);
}

/* SCAddress CONTRACT */
static inline void contract(struct key *k, uint8_t byte)
{
    u32(k, 1);
    hash(k, byte);
}

static inline void sc_u32(struct key *k, uint32_t v)
{
    u32(k, U32);
    u32(k, v);
}

static inline void sc_sym(struct key *k, const char *s)
{
    u32(k, SYMBOL);
    str(k, s);
}

/* present SCVec / SCMap header */
static inline void sc_vec(struct key *k, uint32_t count)
{
    u32(k, VEC);
    u32(k, 1);
    u32(k, count);
}

static inline void sc_map(struct key *k, uint32_t count)
{
    u32(k, MAP);
    u32(k, 1);
    u32(k, count);
}

static inline struct key account_key(uint8_t byte)
{
    struct key k = {.n = 0};
    u32(&k, ACCOUNT);
    account_id(&k, byte);
    return k;
}

/* CONTRACT_DATA key: contract, the SCVal in `val`, durability */
static inline struct key cd_key(uint8_t contract_byte, const struct key *val, uint32_t durability)
{
    struct key k = {.n = 0};
    u32(&k, CONTRACT_DATA);
    contract(&k, contract_byte);
    raw(&k, val->b, val->n);
    u32(&k, durability);
    return k;
}

static inline struct key cd(const struct key *val)
{
    return cd_key(0xC0, val, PERSISTENT);
}

/* ---- key builders ------------------------------------------------- */

static inline struct key trustline(uint8_t acct, int asset_type, const char *code, uint8_t issuer)
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

static inline struct key offer(uint8_t seller, int64_t id)
{
    struct key k = {.n = 0};
    u32(&k, OFFER);
    account_id(&k, seller);
    u64(&k, (uint64_t)id);
    return k;
}

static inline struct key data_key(uint8_t acct, const char *name, size_t len)
{
    struct key k = {.n = 0};
    u32(&k, DATA);
    account_id(&k, acct);
    var(&k, name, len);
    return k;
}

static inline struct key addr(int type, uint64_t id, uint8_t byte)
{
    struct key k = {.n = 0};
    u32(&k, (uint32_t)type);
    if (type == 0 || type == 3) u32(&k, 0); /* AccountID / ClaimableBalanceID */
    if (type == 2) u64(&k, id);             /* MuxedEd25519Account {uint64 id; uint256} */
    hash(&k, byte);
    return k;
}

/* SCVal builders returning a value: a 32- or 64-bit arm, and multi-part arms */
static inline struct key v32(int arm, uint32_t x)
{
    struct key v = {.n = 0};
    u32(&v, (uint32_t)arm);
    u32(&v, x);
    return v;
}

static inline struct key v64(int arm, uint64_t x)
{
    struct key v = {.n = 0};
    u32(&v, (uint32_t)arm);
    u64(&v, x);
    return v;
}

static inline struct key v128(int arm, uint64_t hi, uint64_t lo)
{
    struct key v = {.n = 0};
    u32(&v, (uint32_t)arm);
    u64(&v, hi);
    u64(&v, lo);
    return v;
}

static inline struct key v256(int arm, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    struct key v = {.n = 0};
    u32(&v, (uint32_t)arm);
    u64(&v, a);
    u64(&v, b);
    u64(&v, c);
    u64(&v, d);
    return v;
}

static inline struct key vbytes(int arm, const char *p, size_t n)
{
    struct key v = {.n = 0};
    u32(&v, (uint32_t)arm);
    var(&v, p, n);
    return v;
}

static inline struct key verror(uint32_t type, uint32_t code)
{
    struct key v = {.n = 0};
    u32(&v, ERROR);
    u32(&v, type);
    u32(&v, code);
    return v;
}

static inline struct key vec_of(int n, ...)
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
static inline struct key map_of(int n, ...)
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

static inline struct key absent(int arm)
{
    struct key v = {.n = 0};
    u32(&v, (uint32_t)arm);
    u32(&v, 0);
    return v;
}

static inline struct key instance(int exec, uint8_t byte, const char *tag,
                                  const struct key *storage)
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

/* ---- comparator calls ------------------------------------------------ */

static inline int call(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, int *order)
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

static inline int cmp(const struct key *a, const struct key *b)
{
    int ord = 42;
    int rc = call(a->b, a->n, b->b, b->n, &ord);
    cr_assert_eq(rc, 0, "comparator failed: %s", bdb_errmsg());
    cr_assert(ord == -1 || ord == 0 || ord == 1, "order %d", ord);
    return ord;
}

static inline void expect_eq(const struct key *a, const struct key *b)
{
    cr_assert_eq(cmp(a, b), 0);
    cr_assert_eq(cmp(b, a), 0);
}

#endif
