/* Property tests of sort keys, key derivation and records on random valid
 * XDR made by tests/xdr/randkey.h from the schema tables:
 *
 *   (a) memcmp of sort keys (shorter first) has the sign of the structural
 *       comparator bdbi_ledger_key_cmp (lib/xdr/keycmp.c);
 *   (b) sort keys are prefix-free;
 *   (c) sort keys are equal exactly when the XDR is;
 *   (d) a sort key fits BDB_SORT_KEY_BOUND, an exact buffer works and one
 *       byte less gives BDB_EINVAL with the size needed;
 *   (e) random LedgerEntries validate and bdb_ledger_entry_key gives the
 *       key re-derived here from the field layout (spec §2.4);
 *   (f) records parse, and framed with record marks they read back;
 *   (g) qsort by sort key and by the comparator give the same order;
 * plus: the two validators (schema walker, comparator) agree on byte-level
 * mutants, truncations and the nesting limit; JSON of every key parses.
 *
 * Keys come from random pairs, and from pairs made by replaying the
 * generator's draws with one changed, which agree up to that point so the
 * comparison goes deep. The seed is fixed; BDB_PROP_SEED=<n> overrides it
 * and every failure message names it. BDB_PROP_SCALE=<k> multiplies the
 * counts. Each key lives in a heap block of exactly its length, so
 * AddressSanitizer sees any read past its end. */
#include "config.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucketdb/ledger.h"
#include "randkey.h"
#include "xdr/keycmp.h"
#include "xdr/ledger.h"
#include "xdr/record.h"
#include "xdr/stellar_types.h"

#define DEFAULT_SEED 0x5eed0fb0c4e7db01u

static uint64_t seed;
static int scale = 1;

static void setup(void)
{
    const char *s = getenv("BDB_PROP_SEED");
    seed = s && *s ? strtoull(s, NULL, 0) : DEFAULT_SEED;
    s = getenv("BDB_PROP_SCALE");
    if (s && atoi(s) > 0) scale = atoi(s);
}

TestSuite(props, .init = setup);

/* cr_assert that names the seed */
#define CHECK(cond, fmt, ...)                                                                      \
    cr_assert(cond, fmt " [reproduce with BDB_PROP_SEED=%#llx]", ##__VA_ARGS__,                    \
              (unsigned long long)seed)

/* A generator for one test: the seed mixed with the test's own number. */
static void gen_init(rk_gen *g, uint64_t test)
{
    rk_init(g, seed ^ (test * 0x9e3779b97f4a7c15u));
}

static const char *hex(const uint8_t *p, size_t n)
{
    static char bufs[4][2 * 600 + 8];
    static unsigned k;
    char *o = bufs[k++ % 4];
    size_t m = n < 600 ? n : 600;
    for (size_t i = 0; i < m; i++) snprintf(o + 2 * i, 3, "%02x", p[i]);
    strcpy(o + 2 * m, m < n ? "..." : "");
    return o;
}

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *dup_exact(const void *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    cr_assert_not_null(q);
    if (n) memcpy(q, p, n);
    return q;
}

/* ---- keys ------------------------------------------------------------ */

typedef struct key {
    uint8_t *x, *sk; /* XDR and sort key, each in a block of its exact size */
    size_t n, skn;
} key;

static uint8_t scratch[1 << 16];
static uint32_t tape_a[1 << 14], tape_b[1 << 14];
static size_t tape_a_len;

/* A value of type t into scratch (retrying with further draws if one is
 * ever too big). */
static size_t gen(rk_gen *g, const bdbi_xtype *t)
{
    size_t n;
    for (int tries = 0; rk_value(g, t, scratch, sizeof scratch, &n) != 0; tries++)
        CHECK(tries < 100, "generator keeps overflowing %zu bytes", sizeof scratch);
    return n;
}

static void key_set(key *k, const uint8_t *x, size_t n)
{
    uint8_t *sk = malloc(BDB_SORT_KEY_BOUND(n));
    cr_assert_not_null(sk);
    size_t skn = 0;
    int rc = bdb_sort_key(x, n, sk, BDB_SORT_KEY_BOUND(n), &skn);
    CHECK(rc == 0, "sort key of a generated key fails: %s\n key=%s", bdb_errmsg(), hex(x, n));
    k->x = dup_exact(x, n);
    k->n = n;
    k->sk = dup_exact(sk, skn);
    k->skn = skn;
    free(sk);
}

static void key_free(key *k)
{
    free(k->x);
    free(k->sk);
    k->x = k->sk = NULL;
}

/* A random LedgerKey; its draws are recorded in tape_a. */
static void key_random(rk_gen *g, key *k)
{
    g->tape = NULL;
    g->rec = tape_a;
    g->rec_cap = sizeof tape_a / sizeof tape_a[0];
    g->rec_len = 0;
    size_t n = gen(g, &bdbi_xt_ledger_key);
    g->rec = NULL;
    tape_a_len = g->rec_len < g->rec_cap ? g->rec_len : g->rec_cap;
    key_set(k, scratch, n);
}

/* The key made by replaying the draws of the last key_random with one
 * changed. */
static void key_mutant(rk_gen *g, key *k)
{
    rk_mutate_tape(tape_a, tape_a_len, tape_b, &g->state);
    g->tape = tape_b;
    g->tape_len = tape_a_len;
    g->tape_pos = 0;
    size_t n = gen(g, &bdbi_xt_ledger_key);
    g->tape = NULL;
    key_set(k, scratch, n);
}

static int cmp_ref(const key *a, const key *b)
{
    int o = 7;
    int rc = bdbi_ledger_key_cmp(a->x, a->n, b->x, b->n, &o);
    CHECK(rc == 0, "the comparator rejects a generated key: %s\n a=%s\n b=%s", bdb_errmsg(),
          hex(a->x, a->n), hex(b->x, b->n));
    return o;
}

static int cmp_sk(const key *a, const key *b)
{
    int c = memcmp(a->sk, b->sk, a->skn < b->skn ? a->skn : b->skn);
    return c ? sign(c) : (a->skn > b->skn) - (a->skn < b->skn);
}

static size_t common_prefix(const key *a, const key *b)
{
    size_t i = 0;
    while (i < a->n && i < b->n && a->x[i] == b->x[i]) i++;
    return i;
}

/* (a), (b), (c) for one pair; returns the comparator's order. */
static int check_pair(const key *a, const key *b, const char *what, int i)
{
    int o = cmp_ref(a, b), s = cmp_sk(a, b);
    CHECK(o == s,
          "(a) %s #%d: comparator says %d, sort keys %d\n a=%s\n b=%s\n sk(a)=%s\n sk(b)=%s", what,
          i, o, s, hex(a->x, a->n), hex(b->x, b->n), hex(a->sk, a->skn), hex(b->sk, b->skn));
    CHECK(cmp_ref(b, a) == -o, "%s #%d: comparator not antisymmetric\n a=%s\n b=%s", what, i,
          hex(a->x, a->n), hex(b->x, b->n));
    int same_x = a->n == b->n && memcmp(a->x, b->x, a->n) == 0;
    int same_sk = a->skn == b->skn && memcmp(a->sk, b->sk, a->skn) == 0;
    CHECK(same_x == same_sk && same_x == (o == 0),
          "(c) %s #%d: XDR equal %d, sort keys equal %d, order %d\n a=%s\n b=%s", what, i, same_x,
          same_sk, o, hex(a->x, a->n), hex(b->x, b->n));
    if (!same_sk)
        CHECK(memcmp(a->sk, b->sk, a->skn < b->skn ? a->skn : b->skn) != 0,
              "(b) %s #%d: one sort key is a prefix of the other\n sk(a)=%s\n sk(b)=%s", what, i,
              hex(a->sk, a->skn), hex(b->sk, b->skn));
    return o;
}

/* ---- (a) (b) (c) ----------------------------------------------------- */

Test(props, random_pairs_order_like_the_comparator)
{
    rk_gen g;
    gen_init(&g, 1);
    enum { POOL = 4000 };
    static key pool[POOL];
    for (int i = 0; i < POOL; i++) key_random(&g, &pool[i]);
    int pairs = 40000 * scale, equal = 0, same_type = 0;
    for (int i = 0; i < pairs; i++) {
        const key *a = &pool[rk_below(&g, POOL)], *b = &pool[rk_below(&g, POOL)];
        if (check_pair(a, b, "random pair", i) == 0) equal++;
        same_type += memcmp(a->x, b->x, 4) == 0;
    }
    for (int i = 0; i < POOL; i++) key_free(&pool[i]);
    cr_log_info("%d random pairs: %d of the same type, %d equal", pairs, same_type, equal);
    CHECK(same_type > pairs / 20, "too few pairs of the same type: %d", same_type);
}

Test(props, mutated_pairs_order_like_the_comparator)
{
    rk_gen g;
    gen_init(&g, 2);
    int pairs = 40000 * scale, equal = 0, deep = 0;
    size_t deepest = 0;
    for (int i = 0; i < pairs; i++) {
        key a, b;
        key_random(&g, &a);
        key_mutant(&g, &b);
        if (check_pair(&a, &b, "mutated pair", i) == 0) equal++;
        size_t c = common_prefix(&a, &b);
        deep += c >= 8 && c < a.n; /* they differ past the type and the first field's start */
        if (c > deepest && c < a.n) deepest = c;
        key_free(&a);
        key_free(&b);
    }
    cr_log_info("%d mutated pairs: %d equal, %d differ past byte 8, deepest difference at %zu",
                pairs, equal, deep, deepest);
    CHECK(deep > pairs / 2, "mutants rarely agree on a long prefix: %d of %d", deep, pairs);
    CHECK(equal > 0 && equal < pairs / 2, "unexpected share of equal mutants: %d", equal);
}

/* Byte-level mutants, truncations and extensions of valid keys: the schema
 * walker (bdb_ledger_key_check, bdb_sort_key) and the comparator agree on
 * which are valid, and valid mutants order alike. */
static int validity(const uint8_t *x, size_t n, int *rc_check, int *rc_cmp, int *rc_sk)
{
    uint8_t *p = dup_exact(x, n);
    uint8_t *sk = malloc(BDB_SORT_KEY_BOUND(n));
    size_t skn;
    int o = 0;
    *rc_check = bdb_ledger_key_check(p, n);
    *rc_cmp = bdbi_ledger_key_cmp(p, n, p, n, &o);
    *rc_sk = bdb_sort_key(p, n, sk, BDB_SORT_KEY_BOUND(n), &skn);
    free(p);
    free(sk);
    if (*rc_cmp == 0) CHECK(o == 0, "a key differs from itself: %s", hex(x, n));
    return *rc_check == 0;
}

Test(props, mutants_agree_on_validity_and_order)
{
    rk_gen g;
    gen_init(&g, 3);
    int rounds = 30000 * scale, valid = 0, invalid = 0;
    uint8_t m[4096 + 8];
    for (int i = 0; i < rounds; i++) {
        key a, b;
        key_random(&g, &a);
        if (a.n > 4096) {
            key_free(&a);
            continue;
        }
        memcpy(m, a.x, a.n);
        size_t n = a.n, at = rk_below(&g, (uint32_t)n);
        switch (rk_below(&g, 6)) {
        case 0:
            m[at]++;
            break;
        case 1:
            m[at]--;
            break;
        case 2:
            m[at] = rk_below(&g, 2) ? 0x00 : 0xff;
            break;
        case 3:
            m[at] = (uint8_t)rk_draw(&g);
            break;
        case 4:
            n = at; /* truncated: a proper prefix of XDR is never valid */
            break;
        default:
            memset(m + n, 0, 4); /* extended: trailing bytes */
            n += 4;
        }
        int rc1, rc2, rc3;
        int ok = validity(m, n, &rc1, &rc2, &rc3);
        CHECK((rc1 == 0) == (rc2 == 0) && (rc1 == 0) == (rc3 == 0),
              "validators disagree: check %d, comparator %d, sort key %d\n mutant=%s\n of=%s", rc1,
              rc2, rc3, hex(m, n), hex(a.x, a.n));
        CHECK(ok || (rc1 == BDB_EFORMAT && rc2 == BDB_EFORMAT && rc3 == BDB_EFORMAT),
              "invalid key gives %d %d %d, not BDB_EFORMAT", rc1, rc2, rc3);
        if (n != a.n) CHECK(!ok, "a truncated or extended key validates: %s", hex(m, n));
        if (ok) {
            key_set(&b, m, n);
            check_pair(&a, &b, "byte mutant", i);
            key_free(&b);
            valid++;
        } else {
            invalid++;
        }
        key_free(&a);
    }
    cr_log_info("%d mutants: %d valid, %d invalid", rounds, valid, invalid);
    CHECK(valid > rounds / 5 && invalid > rounds / 5, "lopsided mutants: %d valid, %d invalid",
          valid, invalid);
}

/* SCVal containers nested d deep inside a CONTRACT_DATA key: 128 levels
 * are the limit for all three validators. */
static size_t nested_key(rk_gen *g, uint8_t *p, int d)
{
    size_t n = 0;
#define W(v) (bdbi_put_be32(p + n, (v)), n += 4)
    W(6); /* CONTRACT_DATA */
    W(1); /* SCAddress CONTRACT */
    memset(p + n, 0xcc, 32), n += 32;
    int kinds[200];
    for (int i = 0; i < d; i++) {
        kinds[i] = (int)rk_below(g, 4);
        switch (kinds[i]) {
        case 0: /* VEC [x] */
            W(16), W(1), W(1);
            break;
        case 1: /* MAP {x: void} */
        case 2: /* MAP {void: x} */
            W(17), W(1), W(1);
            if (kinds[i] == 2) W(1);
            break;
        default: /* CONTRACT_INSTANCE {STELLAR_ASSET, storage {x: void}} */
            W(19), W(1), W(1), W(1);
        }
    }
    W(3), W(7); /* the innermost value: U32 7 */
    for (int i = d - 1; i >= 0; i--) {
        if (kinds[i] == 1 || kinds[i] == 3) W(1); /* the map value after the key */
    }
    W(1); /* PERSISTENT */
#undef W
    return n;
}

Test(props, nesting_limit_is_the_same_everywhere)
{
    rk_gen g;
    gen_init(&g, 4);
    static uint8_t p[8192];
    for (int r = 0; r < 50 * scale; r++)
        for (int d = 120; d <= 132; d++) {
            size_t n = nested_key(&g, p, d);
            int rc1, rc2, rc3;
            int ok = validity(p, n, &rc1, &rc2, &rc3);
            CHECK(ok == (d <= BDBI_XDR_MAX_DEPTH) && (rc1 == 0) == (rc2 == 0) &&
                      (rc1 == 0) == (rc3 == 0),
                  "depth %d: check %d, comparator %d, sort key %d\n key=%s", d, rc1, rc2, rc3,
                  hex(p, n));
        }
}

/* ---- (d) ------------------------------------------------------------- */

Test(props, sort_key_sizes_and_buffers)
{
    rk_gen g;
    gen_init(&g, 5);
    int rounds = 20000 * scale;
    double worst = 0;
    for (int i = 0; i < rounds; i++) {
        key k;
        key_random(&g, &k);
        size_t need = 0;
        CHECK(bdb_sort_key(k.x, k.n, NULL, 0, &need) == BDB_EINVAL && need == k.skn,
              "no buffer: needs %zu, sort key has %zu", need, k.skn);
        CHECK(k.skn <= BDB_SORT_KEY_BOUND(k.n), "sort key of %zu bytes for %zu XDR bytes", k.skn,
              k.n);
        int32_t type = (int32_t)be32(k.x);
        if (type != BDB_DATA && type != BDB_CONTRACT_DATA)
            CHECK(k.skn == k.n, "fixed-size %s key: sort key %zu, XDR %zu bytes",
                  bdb_entry_type_name(type), k.skn, k.n);
        if ((double)k.skn / (double)k.n > worst) worst = (double)k.skn / (double)k.n;
        /* exactly the size needed, in a block of exactly that size */
        uint8_t *out = malloc(k.skn);
        size_t got = 0;
        CHECK(bdb_sort_key(k.x, k.n, out, k.skn, &got) == 0 && got == k.skn &&
                  memcmp(out, k.sk, k.skn) == 0,
              "exact buffer: %s", bdb_errmsg());
        free(out);
        /* one byte less: refused, with the size needed, and nothing written past it */
        out = malloc(k.skn - 1 + 16);
        memset(out, 0xa5, k.skn - 1 + 16);
        got = 0;
        CHECK(bdb_sort_key(k.x, k.n, out, k.skn - 1, &got) == BDB_EINVAL && got == k.skn,
              "short buffer: got %zu, needed %zu", got, k.skn);
        for (size_t j = k.skn - 1; j < k.skn - 1 + 16; j++)
            CHECK(out[j] == 0xa5, "write past the buffer at %zu of %zu", j, k.skn - 1);
        free(out);
        key_free(&k);
    }
    cr_log_info("%d sort keys: at most %.2f times the XDR length", rounds, worst);
}

/* ---- (e) ------------------------------------------------------------- */

/* The key fields of each entry body, from spec §2.4: the key is the entry
 * type followed by fields [first, last] of the body (the arm of
 * LedgerEntry.data); CONTRACT_DATA skips its ExtensionPoint, CONTRACT_CODE
 * its ext; a CONFIG_SETTING key is the ConfigSettingEntry's discriminant. */
static const struct {
    int first, last;
    const char *names[4]; /* the body's first fields, as the .x files name their types */
    size_t key_len;       /* 0: variable */
} layout[] = {
    [BDB_ACCOUNT] = {0, 0, {"AccountID"}, 40},
    [BDB_TRUSTLINE] = {0, 1, {"AccountID", "TrustLineAsset"}, 0},
    [BDB_OFFER] = {0, 1, {"AccountID", "int64"}, 48},
    [BDB_DATA] = {0, 1, {"AccountID", "string64"}, 0},
    [BDB_CLAIMABLE_BALANCE] = {0, 0, {"ClaimableBalanceID"}, 40},
    [BDB_LIQUIDITY_POOL] = {0, 0, {"Hash"}, 36},
    [BDB_CONTRACT_DATA] = {1,
                           3,
                           {"ExtensionPoint", "SCAddress", "SCVal", "ContractDataDurability"},
                           0},
    [BDB_CONTRACT_CODE] = {1, 1, {"ContractCodeEntry.ext", "Hash"}, 36},
    [BDB_CONFIG_SETTING] = {-1, -1, {0}, 8},
    [BDB_TTL] = {0, 0, {"Hash"}, 36},
};

/* Re-derives the key of the entry e from the generator's trace. */
static size_t derive_key(const uint8_t *e, const rk_trace *tr, uint8_t *out)
{
    size_t b = 0, nf = 0;
    const rk_span *f[16];
    for (; b < tr->n && tr->spans[b].level != 2; b++) {
    }
    CHECK(b < tr->n && tr->spans[b].start == 8, "trace lacks the entry body");
    for (size_t i = b + 1; i < tr->n && tr->spans[i].level == 3 && nf < 16; i++)
        f[nf++] = &tr->spans[i];
    int32_t type = (int32_t)be32(e + 4);
    CHECK(type >= 0 && type <= BDB_TTL, "entry type %d", type);
    memcpy(out, e + 4, 4);
    if (type == BDB_CONFIG_SETTING) {
        memcpy(out + 4, e + 8, 4);
        return 8;
    }
    for (int i = 0; i < 4 && layout[type].names[i]; i++)
        CHECK((size_t)i < nf && strcmp(f[i]->type->name, layout[type].names[i]) == 0,
              "%s body field %d is %s, not %s", bdb_entry_type_name(type), i,
              (size_t)i < nf ? f[i]->type->name : "missing", layout[type].names[i]);
    if (type == BDB_CONTRACT_DATA)
        CHECK(f[0]->end - f[0]->start == 4 && be32(e + f[0]->start) == 0, "ExtensionPoint");
    if (type == BDB_CONTRACT_CODE) {
        size_t ext = f[0]->end - f[0]->start;
        CHECK(ext == 4 || ext == 52, "ContractCodeEntry.ext of %zu bytes", ext);
    }
    const rk_span *lo = f[layout[type].first], *hi = f[layout[type].last];
    CHECK(layout[type].first > 0 || lo->start == 8, "the key fields start the body");
    memcpy(out + 4, e + lo->start, hi->end - lo->start);
    return 4 + hi->end - lo->start;
}

Test(props, entries_validate_and_yield_their_keys)
{
    rk_gen g;
    gen_init(&g, 6);
    g.soft_cap = 2048;
    static rk_span spans[4096];
    rk_trace tr = {spans, 0, 4096, 3};
    int rounds = 10000 * scale, seen[10] = {0}, code_ext[2] = {0};
    static uint8_t kb[1 << 16];
    for (int i = 0; i < rounds; i++) {
        g.trace = &tr;
        size_t n = gen(&g, &bdbi_xt_ledger_entry);
        g.trace = NULL;
        CHECK(tr.n <= tr.cap, "trace overflow");
        uint8_t *e = dup_exact(scratch, n);
        CHECK(bdb_ledger_entry_check(e, n) == 0, "entry #%d does not validate: %s\n entry=%s", i,
              bdb_errmsg(), hex(e, n));
        size_t kn = derive_key(e, &tr, kb);
        int32_t type = (int32_t)be32(e + 4);
        seen[type]++;
        if (type == BDB_CONTRACT_CODE) code_ext[be32(e + 8)]++;
        if (layout[type].key_len)
            CHECK(kn == layout[type].key_len, "%s key of %zu bytes", bdb_entry_type_name(type), kn);
        CHECK(bdb_ledger_key_check(kb, kn) == 0, "re-derived key invalid: %s", bdb_errmsg());
        /* bdb_ledger_entry_key: exact buffer, then one byte less */
        uint8_t *k = malloc(kn);
        size_t got = 0;
        CHECK(bdb_ledger_entry_key(e, n, k, kn, &got) == 0 && got == kn && memcmp(k, kb, kn) == 0,
              "entry #%d: bdb_ledger_entry_key gives %s\n re-derived %s\n entry=%s", i,
              hex(k, got <= kn ? got : 0), hex(kb, kn), hex(e, n));
        CHECK(bdb_ledger_entry_key(e, n, k, kn - 1, &got) == BDB_EINVAL && got == kn,
              "short key buffer");
        free(k);
        /* the one-pass sort key of the entry is the sort key of its key */
        key kk;
        key_set(&kk, kb, kn);
        bdbi_sk_out o = {scratch, 0, sizeof scratch};
        CHECK(bdbi_entry_sort_key(e, n, "entry", 0, &o) == 0 && o.len == kk.skn &&
                  memcmp(scratch, kk.sk, kk.skn) == 0,
              "entry #%d: entry sort key %s\n key sort key %s", i, hex(scratch, o.len),
              hex(kk.sk, kk.skn));
        key_free(&kk);
        /* the key's TTL key: only for CONTRACT_DATA and CONTRACT_CODE */
        uint8_t ttl[BDB_TTL_KEY_LEN], ttl2[BDB_TTL_KEY_LEN];
        int rc = bdb_ttl_key(kb, kn, ttl);
        if (type == BDB_CONTRACT_DATA || type == BDB_CONTRACT_CODE) {
            CHECK(rc == 0 && be32(ttl) == BDB_TTL && bdb_ledger_key_check(ttl, sizeof ttl) == 0,
                  "TTL key: %s", bdb_errmsg());
            CHECK(bdb_ttl_key(kb, kn, ttl2) == 0 && memcmp(ttl, ttl2, sizeof ttl) == 0, "TTL key");
        } else {
            CHECK(rc == BDB_EINVAL, "TTL key of a %s key: %d", bdb_entry_type_name(type), rc);
        }
        free(e);
    }
    for (int t = 0; t <= BDB_TTL; t++) CHECK(seen[t] > 0, "no %s entry", bdb_entry_type_name(t));
    CHECK(code_ext[0] > 0 && code_ext[1] > 0, "CONTRACT_CODE ext v0 %d, v1 %d", code_ext[0],
          code_ext[1]);
    cr_log_info("%d entries, every type", rounds);
}

/* ---- (f) ------------------------------------------------------------- */

typedef struct rec {
    uint8_t *p; /* type + body */
    size_t n;
    int hot, is_key;
} rec;

static void rec_make(rec *r, int32_t type, const uint8_t *body, size_t n, int hot, int is_key)
{
    r->p = malloc(4 + n);
    bdbi_put_be32(r->p, (uint32_t)type);
    memcpy(r->p + 4, body, n);
    r->n = 4 + n;
    r->hot = hot;
    r->is_key = is_key;
}

static void rec_check(const rec *r, const uint8_t *at)
{
    bdb_record out;
    memset(&out, 0x5a, sizeof out);
    int rc = bdb_record_parse(at, r->n, r->hot, &out);
    CHECK(rc == 0, "record does not parse: %s\n rec=%s", bdb_errmsg(), hex(at, r->n));
    int32_t type = (int32_t)be32(at);
    const uint8_t *body = at + 4;
    CHECK(out.type == type && out.body == body && out.body_len == r->n - 4, "record parts");
    if (type == BDB_METAENTRY) {
        CHECK(out.entry_type == -1 && out.ledger_version == be32(body) && out.last_modified == 0,
              "META record");
        CHECK(out.list_type == (be32(body + 4) == 1 ? (int32_t)be32(body + 8) : -1), "list type");
    } else if (r->is_key) {
        CHECK(out.entry_type == (int32_t)be32(body) && out.last_modified == 0, "key record");
    } else {
        CHECK(out.entry_type == (int32_t)be32(body + 4) && out.last_modified == be32(body),
              "entry record");
    }
}

Test(props, records_parse_and_reframe)
{
    rk_gen g;
    gen_init(&g, 7);
    int rounds = 3000 * scale, framed = 0;
    static uint8_t stream[1 << 18];
    for (int i = 0; i < rounds; i++) {
        rec r[8];
        size_t n = gen(&g, &bdbi_xt_ledger_entry);
        int hot = (int)rk_below(&g, 2), nr = 0;
        rec_make(&r[nr++], hot ? BDB_HOT_ARCHIVED : BDB_LIVEENTRY, scratch, n, hot, 0);
        if (!hot) rec_make(&r[nr++], BDB_INITENTRY, scratch, n, hot, 0);
        n = gen(&g, &bdbi_xt_ledger_key);
        rec_make(&r[nr++], hot ? BDB_HOT_LIVE : BDB_DEADENTRY, scratch, n, hot, 1);
        n = gen(&g, &bdbi_xt_bucket_metadata);
        rec_make(&r[nr++], BDB_METAENTRY, scratch, n, hot, 0);
        /* whole random BucketEntry / HotArchiveBucketEntry values */
        n = gen(&g, hot ? &bdbi_xt_hot_archive_bucket_entry : &bdbi_xt_bucket_entry);
        int32_t t = (int32_t)be32(scratch);
        rec_make(&r[nr], t, scratch + 4, n - 4, hot, hot ? t == BDB_HOT_LIVE : t == BDB_DEADENTRY);
        nr++;
        for (int j = 0; j < nr; j++) rec_check(&r[j], r[j].p);
        /* an INIT record is not a hot-archive record */
        if (!hot) {
            bdb_record out;
            CHECK(bdb_record_parse(r[1].p, r[1].n, 1, &out) == BDB_EFORMAT, "INIT in hot archive");
        }
        /* frame them, in a random order, and read them back */
        size_t len = 0, starts[8];
        int order[8];
        for (int j = 0; j < nr; j++) order[j] = j;
        for (int j = nr - 1; j > 0; j--) {
            int s = (int)rk_below(&g, (uint32_t)j + 1), tmp = order[j];
            order[j] = order[s];
            order[s] = tmp;
        }
        for (int j = 0; j < nr; j++) {
            const rec *x = &r[order[j]];
            CHECK(len + 4 + x->n <= sizeof stream, "stream overflow");
            starts[j] = len;
            bdbi_record_mark(stream + len, (uint32_t)x->n);
            memcpy(stream + len + 4, x->p, x->n);
            len += 4 + x->n;
        }
        uint8_t *s = dup_exact(stream, len);
        size_t pos = 0;
        for (int j = 0; j < nr; j++) {
            const uint8_t *body = NULL;
            size_t bl = 0;
            CHECK(bdbi_record_next(s, len, &pos, "stream", 0, &body, &bl) == 0, "record %d: %s", j,
                  bdb_errmsg());
            CHECK(body == s + starts[j] + 4 && bl == r[order[j]].n, "record %d read back wrong", j);
            rec_check(&r[order[j]], body);
        }
        const uint8_t *body;
        size_t bl;
        CHECK(pos == len && bdbi_record_next(s, len, &pos, "stream", 0, &body, &bl) == BDB_EFORMAT,
              "end of the stream");
        /* truncated: the records before the cut read, the cut one fails */
        size_t cut = rk_below(&g, (uint32_t)len);
        pos = 0;
        int rc = 0, j = 0;
        while (pos < cut && (rc = bdbi_record_next(s, cut, &pos, "stream", 0, &body, &bl)) == 0)
            j++;
        int whole = 0;
        while (whole < nr && starts[whole] + 4 + r[order[whole]].n <= cut) whole++;
        CHECK(j == whole && (rc == BDB_EFORMAT) == (whole < nr && starts[whole] < cut),
              "cut at %zu of %zu: %d records read, %d whole, rc %d", cut, len, j, whole, rc);
        /* a mark without the last-fragment bit, or a length not a multiple of 4 */
        int victim = (int)rk_below(&g, (uint32_t)nr);
        size_t at = starts[victim];
        s[at] ^= rk_below(&g, 2) ? 0x80 : 0;
        s[at + 3] ^= (uint8_t)(s[at] & 0x80 ? 1 + rk_below(&g, 3) : 0);
        for (pos = 0, j = 0; (rc = bdbi_record_next(s, len, &pos, "stream", 0, &body, &bl)) == 0;)
            j++;
        CHECK(rc == BDB_EFORMAT && j == victim && pos == at, "bad mark of record %d: stops at %d",
              victim, j);
        free(s);
        for (int k = 0; k < nr; k++) free(r[k].p);
        framed += nr;
    }
    cr_log_info("%d records parsed and framed", framed);
}

/* ---- (g) ------------------------------------------------------------- */

static key *sorting;

static int by_sort_key(const void *a, const void *b)
{
    return cmp_sk(&sorting[*(const int *)a], &sorting[*(const int *)b]);
}

static int by_comparator(const void *a, const void *b)
{
    return cmp_ref(&sorting[*(const int *)a], &sorting[*(const int *)b]);
}

Test(props, qsort_by_sort_key_is_qsort_by_comparator)
{
    rk_gen g;
    gen_init(&g, 8);
    enum { N = 2000 };
    static key keys[N];
    static int ia[N], ib[N];
    for (int round = 0; round < 5 * scale; round++) {
        /* half fresh keys, half mutants of the one before: near neighbours */
        for (int i = 0; i < N; i++) {
            if (i % 2 == 0)
                key_random(&g, &keys[i]);
            else
                key_mutant(&g, &keys[i]);
            ia[i] = ib[i] = i;
        }
        sorting = keys;
        qsort(ia, N, sizeof ia[0], by_sort_key);
        qsort(ib, N, sizeof ib[0], by_comparator);
        int dups = 0;
        for (int i = 0; i < N; i++) {
            const key *a = &keys[ia[i]], *b = &keys[ib[i]];
            CHECK(a->n == b->n && memcmp(a->x, b->x, a->n) == 0,
                  "(g) round %d: position %d differs\n by sort key: %s\n by comparator: %s", round,
                  i, hex(a->x, a->n), hex(b->x, b->n));
            if (i) {
                int o = check_pair(&keys[ia[i - 1]], a, "sorted neighbours", i);
                CHECK(o <= 0, "(g) not sorted at %d", i);
                dups += o == 0;
            }
        }
        for (int i = 0; i < N; i++) key_free(&keys[i]);
        cr_log_info("round %d: %d keys sorted alike, %d duplicates", round, N, dups);
    }
}

/* ---- JSON and coverage ------------------------------------------------ */

Test(props, json_of_every_random_key_parses)
{
    rk_gen g;
    gen_init(&g, 9);
    static const char *const arm[] = {
        "account",       "trustLine",    "offer",        "data",          "claimableBalance",
        "liquidityPool", "contractData", "contractCode", "configSetting", "ttl",
    };
    for (int i = 0; i < 5000 * scale; i++) {
        key k;
        key_random(&g, &k);
        size_t need = 0, got = 0;
        CHECK(bdb_ledger_key_json(k.x, k.n, NULL, 0, &need) == BDB_EINVAL && need > 0, "size");
        char *s = malloc(need);
        CHECK(bdb_ledger_key_json(k.x, k.n, s, need, &got) == 0 && got == need &&
                  strlen(s) == need - 1,
              "JSON of %s: %s", hex(k.x, k.n), bdb_errmsg());
        json_error_t err;
        json_t *j = json_loads(s, JSON_ALLOW_NUL, &err);
        CHECK(j && json_is_object(j) && json_object_size(j) == 1 &&
                  json_object_get(j, arm[be32(k.x)]),
              "JSON does not parse (%s): %s", j ? "shape" : err.text, s);
        json_decref(j);
        CHECK(bdb_ledger_key_json(k.x, k.n, s, need - 1, &got) == BDB_EINVAL && got == need &&
                  (need == 1 || s[0] == '\0'),
              "short JSON buffer");
        free(s);
        key_free(&k);
    }
}

/* Every exported type's random values validate, and every arm of LedgerKey,
 * SCVal and SCAddress is generated. */
Test(props, random_values_of_every_type_validate)
{
    static const bdbi_xtype *const types[] = {
        &bdbi_xt_ledger_key,        &bdbi_xt_ledger_entry,
        &bdbi_xt_bucket_entry,      &bdbi_xt_hot_archive_bucket_entry,
        &bdbi_xt_bucket_metadata,   &bdbi_xt_scval,
        &bdbi_xt_scaddress,         &bdbi_xt_trustline_asset,
        &bdbi_xt_contract_code_ext, &bdbi_xt_config_setting_id,
    };
    rk_gen g;
    gen_init(&g, 10);
    static rk_span spans[8192];
    rk_trace tr = {spans, 0, 8192, 1000};
    int scval[23] = {0}, addr[5] = {0}, lk[10] = {0};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
        for (int i = 0; i < 2000 * scale; i++) {
            g.trace = &tr;
            size_t n = gen(&g, types[t]);
            g.trace = NULL;
            uint8_t *v = dup_exact(scratch, n);
            CHECK(bdbi_check(types[t], v, n, "value", 0) == 0, "random %s does not validate: %s",
                  types[t]->name, bdb_errmsg());
            for (size_t s = 0; s < tr.n && s < tr.cap; s++) {
                uint32_t d = be32(v + spans[s].start);
                if (spans[s].type == &bdbi_xt_scval) scval[d]++;
                if (spans[s].type == &bdbi_xt_scaddress) addr[d]++;
                if (spans[s].type == &bdbi_xt_ledger_key) lk[d]++;
            }
            free(v);
        }
    for (int a = 0; a < 23; a++) CHECK(scval[a] > 0, "SCVal arm %d never generated", a);
    for (int a = 0; a < 5; a++) CHECK(addr[a] > 0, "SCAddress arm %d never generated", a);
    for (int a = 0; a < 10; a++) CHECK(lk[a] > 0, "LedgerKey arm %d never generated", a);
}
