#include "config.h"

#include "keycmp.h"

#include <string.h>

#include "core/error.h"

/* How it works. Each key is read by a walker: a pushdown parser whose stack
 * holds the grammar symbols still to be read (no recursion, no heap). Every
 * step pops one symbol, reads it, validates it and yields one token whose
 * comparison is exactly xdrpp's comparison of that piece:
 *
 *   T_INT   union discriminants, enums, int32, int64: signed
 *   T_UINT  uint32, uint64, bool, optional flags (absent 0 < present 1) and
 *           array markers (1 = "another element follows", 0 = "end"), so a
 *           proper prefix sorts first and the count itself is never compared
 *   T_FIXED opaque[n]: memcmp
 *   T_VAR   opaque<> / string<>: content, then shorter first (length NOT first)
 *
 * XDR is depth-first in declaration order, which is also the order xdrpp's
 * operator< visits fields (union: discriminant, then arm; struct: fields in
 * order; array: element by element). The grammar is deterministic, so while
 * the two token streams are equal both walkers are in the same state and the
 * first differing pair of tokens is of the same kind: its order is the order
 * of the keys. After that both walkers still run to their end, because an
 * invalid key is an error whatever the order. */

/* SCVal containers (VEC, MAP, contract-instance storage) may nest this deep. */
#define MAX_DEPTH 128 /* the limit of lib/xdr/schema.h, BDBI_XDR_MAX_DEPTH */

enum sym {
    S_NONE, /* terminates an arm's field list */
    /* unions (a discriminant, then the fields of its arm) */
    S_KEY,
    S_ACCOUNT_ID,
    S_CB_ID,
    S_TL_ASSET,
    S_SC_ADDRESS,
    S_SC_VAL,
    S_SC_ERROR,
    S_EXECUTABLE,
    /* enums (a discriminant without arms) */
    S_DURABILITY,
    S_CONFIG_ID,
    S_ERROR_CODE,
    /* scalars */
    S_BOOL,
    S_U32,
    S_I32,
    S_U64,
    S_I64,
    S_HASH,
    S_CODE4,
    S_CODE12,
    S_STR64,
    S_SYMBOL,
    S_STRING,
    S_BYTES,
    /* SCVec* / SCMap*: the optional flag, then (if present) the count */
    S_OPT_VEC,
    S_OPT_MAP,
    /* the elements of an open SCVec / SCMap; the frame's count is what is left */
    S_VEC_REST,
    S_MAP_REST,
};

typedef uint8_t arm_t[5]; /* the fields of one union arm, in XDR order, S_NONE-terminated */

/* The arms, from stellar-xdr 9c9c1459 (the commit stellar-core pins as
 * src/protocol-curr/xdr): Stellar-contract.x as of that commit; LedgerKey,
 * TrustLineAsset, PublicKey and ClaimableBalanceID, which have not changed
 * in years, from the nearest stored Stellar-ledger-entries.x / -types.x.
 * Every union here has contiguous arms 0..max. */
static const arm_t key_arms[] = {
    {S_ACCOUNT_ID},                         /* ACCOUNT: accountID */
    {S_ACCOUNT_ID, S_TL_ASSET},             /* TRUSTLINE: accountID, asset */
    {S_ACCOUNT_ID, S_I64},                  /* OFFER: sellerID, int64 offerID */
    {S_ACCOUNT_ID, S_STR64},                /* DATA: accountID, string64 dataName */
    {S_CB_ID},                              /* CLAIMABLE_BALANCE: balanceID */
    {S_HASH},                               /* LIQUIDITY_POOL: PoolID */
    {S_SC_ADDRESS, S_SC_VAL, S_DURABILITY}, /* CONTRACT_DATA */
    {S_HASH},                               /* CONTRACT_CODE: hash */
    {S_CONFIG_ID},                          /* CONFIG_SETTING: configSettingID */
    {S_HASH},                               /* TTL: keyHash */
};
static const arm_t public_key_arms[] = {{S_HASH}}; /* PUBLIC_KEY_TYPE_ED25519: uint256 */
static const arm_t cb_id_arms[] = {{S_HASH}};      /* CLAIMABLE_BALANCE_ID_TYPE_V0: Hash */
static const arm_t tl_asset_arms[] = {
    {S_NONE},                 /* NATIVE */
    {S_CODE4, S_ACCOUNT_ID},  /* CREDIT_ALPHANUM4: AlphaNum4 {assetCode, issuer} */
    {S_CODE12, S_ACCOUNT_ID}, /* CREDIT_ALPHANUM12 */
    {S_HASH},                 /* POOL_SHARE: PoolID */
};
/* MUXED_CONTRACT (5) is behind #ifdef CAP_0084_MUXED_CONTRACT, which
 * stellar-core does not define: an unknown discriminant, as for xdrpp. */
static const arm_t sc_address_arms[] = {
    {S_ACCOUNT_ID},  /* ACCOUNT */
    {S_HASH},        /* CONTRACT: ContractID */
    {S_U64, S_HASH}, /* MUXED_ACCOUNT: MuxedEd25519Account {uint64 id; uint256 ed25519} */
    {S_CB_ID},       /* CLAIMABLE_BALANCE */
    {S_HASH},        /* LIQUIDITY_POOL: PoolID */
};
static const arm_t sc_val_arms[] = {
    {S_BOOL},                     /* 0 BOOL */
    {S_NONE},                     /* 1 VOID */
    {S_SC_ERROR},                 /* 2 ERROR */
    {S_U32},                      /* 3 U32 */
    {S_I32},                      /* 4 I32 */
    {S_U64},                      /* 5 U64 */
    {S_I64},                      /* 6 I64 */
    {S_U64},                      /* 7 TIMEPOINT */
    {S_U64},                      /* 8 DURATION */
    {S_U64, S_U64},               /* 9 U128 {uint64 hi, lo} */
    {S_I64, S_U64},               /* 10 I128 {int64 hi; uint64 lo} */
    {S_U64, S_U64, S_U64, S_U64}, /* 11 U256 */
    {S_I64, S_U64, S_U64, S_U64}, /* 12 I256 {int64 hi_hi; uint64 hi_lo, lo_hi, lo_lo} */
    {S_BYTES},                    /* 13 BYTES */
    {S_STRING},                   /* 14 STRING */
    {S_SYMBOL},                   /* 15 SYMBOL */
    {S_OPT_VEC},                  /* 16 VEC: SCVec* */
    {S_OPT_MAP},                  /* 17 MAP: SCMap* */
    {S_SC_ADDRESS},               /* 18 ADDRESS */
    {S_EXECUTABLE, S_OPT_MAP},    /* 19 CONTRACT_INSTANCE {executable; SCMap* storage} */
    {S_NONE},                     /* 20 LEDGER_KEY_CONTRACT_INSTANCE */
    {S_I64},                      /* 21 LEDGER_KEY_NONCE {int64 nonce} */
    {S_STRING},                   /* 22 EXECUTABLE_TAG */
};
static const arm_t sc_error_arms[] = {
    {S_U32}, /* SCE_CONTRACT: uint32 contractCode; every other type: SCErrorCode */
    {S_ERROR_CODE}, {S_ERROR_CODE}, {S_ERROR_CODE}, {S_ERROR_CODE}, {S_ERROR_CODE},
    {S_ERROR_CODE}, {S_ERROR_CODE}, {S_ERROR_CODE}, {S_ERROR_CODE},
};
static const arm_t executable_arms[] = {
    {S_HASH},                 /* WASM: wasm_hash */
    {S_NONE},                 /* STELLAR_ASSET */
    {S_SC_ADDRESS, S_STRING}, /* EXTERNAL_REF {SCAddress executable_owner; SCString tag} */
};

#define ARMS(a) (a), (int32_t)(sizeof(a) / sizeof((a)[0]) - 1)

/* Per symbol: its name for error messages and, for a discriminant, its arms
 * (NULL for an enum) and largest value; for byte strings the size (fixed) or
 * the maximum length (variable). */
static const struct {
    const char *name;
    const arm_t *arms;
    int32_t max;
    uint32_t size;
} syms[] = {
    [S_KEY] = {"LedgerEntryType", ARMS(key_arms), 0},
    [S_ACCOUNT_ID] = {"PublicKeyType", ARMS(public_key_arms), 0},
    [S_CB_ID] = {"ClaimableBalanceIDType", ARMS(cb_id_arms), 0},
    [S_TL_ASSET] = {"AssetType", ARMS(tl_asset_arms), 0},
    [S_SC_ADDRESS] = {"SCAddressType", ARMS(sc_address_arms), 0},
    [S_SC_VAL] = {"SCValType", ARMS(sc_val_arms), 0},
    [S_SC_ERROR] = {"SCErrorType", ARMS(sc_error_arms), 0},
    [S_EXECUTABLE] = {"ContractExecutableType", ARMS(executable_arms), 0},
    [S_DURABILITY] = {"ContractDataDurability", NULL, 1, 0},
    [S_CONFIG_ID] = {"ConfigSettingID", NULL, 20, 0},
    [S_ERROR_CODE] = {"SCErrorCode", NULL, 9, 0},
    [S_BOOL] = {"bool", NULL, 0, 4},
    [S_U32] = {"uint32", NULL, 0, 4},
    [S_I32] = {"int32", NULL, 0, 4},
    [S_U64] = {"uint64", NULL, 0, 8},
    [S_I64] = {"int64", NULL, 0, 8},
    [S_HASH] = {"Hash/uint256", NULL, 0, 32},
    [S_CODE4] = {"AssetCode4", NULL, 0, 4},
    [S_CODE12] = {"AssetCode12", NULL, 0, 12},
    [S_STR64] = {"string64 dataName", NULL, 0, 64},
    [S_SYMBOL] = {"SCSymbol", NULL, 0, 32},
    [S_STRING] = {"SCString", NULL, 0, UINT32_MAX},
    [S_BYTES] = {"SCBytes", NULL, 0, UINT32_MAX},
    [S_OPT_VEC] = {"SCVec optional flag", NULL, 0, 4},
    [S_OPT_MAP] = {"SCMap optional flag", NULL, 0, 4},
    [S_VEC_REST] = {"SCVec", NULL, 0, 0},
    [S_MAP_REST] = {"SCMap", NULL, 0, 0},
};

struct frame {
    uint8_t sym;
    uint8_t depth;  /* SCVal container nesting of the value this frame belongs to */
    uint32_t count; /* S_VEC_REST / S_MAP_REST: elements left */
};

/* Each open container holds at most two frames (its REST frame and, for a
 * map, the pending value); the innermost value adds at most 4 (I256, or a
 * CONTRACT_INSTANCE's storage flag + tag + muxed address), the key's
 * durability one more. */
#define STACK_MAX (2 * (MAX_DEPTH + 1) + 8)

struct walker {
    const uint8_t *buf;
    size_t len, pos;
    const char *label;
    unsigned top;
    struct frame stack[STACK_MAX];
};

enum tok_kind { T_INT, T_UINT, T_FIXED, T_VAR };

struct tok {
    enum tok_kind kind;
    int64_t i;
    uint64_t u;
    const uint8_t *p;
    size_t n;
};

enum { STEP_TOKEN = 0, STEP_DONE = 1 };

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int need(struct walker *w, size_t n, const char *what)
{
    if (w->len - w->pos >= n) return 0;
    return bdbi_err_at(BDB_EFORMAT, w->label, (int64_t)w->pos,
                       "truncated: %s needs %zu bytes, %zu left", what, n, w->len - w->pos);
}

static int read32(struct walker *w, const char *what, uint32_t *v)
{
    int rc = need(w, 4, what);
    if (rc) return rc;
    *v = be32(w->buf + w->pos);
    w->pos += 4;
    return 0;
}

static int read64(struct walker *w, const char *what, uint64_t *v)
{
    int rc = need(w, 8, what);
    if (rc) return rc;
    *v = (uint64_t)be32(w->buf + w->pos) << 32 | be32(w->buf + w->pos + 4);
    w->pos += 8;
    return 0;
}

static int push(struct walker *w, uint8_t sym, uint8_t depth, uint32_t count)
{
    /* Unreachable while MAX_DEPTH is enforced (see STACK_MAX); kept so a
     * grammar mistake can never write past the stack. */
    if (w->top == STACK_MAX)
        return bdbi_err_at(BDB_EINTERNAL, w->label, (int64_t)w->pos, "key parser stack full");
    w->stack[w->top++] = (struct frame){sym, depth, count};
    return 0;
}

/* A union discriminant or enum: int32, valid values 0..max; then the arm's
 * fields are pushed in reverse so the first one is read next. */
static int step_disc(struct walker *w, struct frame f, struct tok *t)
{
    size_t at = w->pos;
    uint32_t raw;
    int rc = read32(w, syms[f.sym].name, &raw);
    if (rc) return rc;
    int32_t d = (int32_t)raw;
    if (d < 0 || d > syms[f.sym].max)
        return bdbi_err_at(BDB_EFORMAT, w->label, (int64_t)at, "unknown %s %d (expected 0..%d)",
                           syms[f.sym].name, d, syms[f.sym].max);
    *t = (struct tok){.kind = T_INT, .i = d};
    if (!syms[f.sym].arms) return 0;
    const uint8_t *arm = syms[f.sym].arms[d];
    int n = 0;
    while (n < (int)sizeof(arm_t) && arm[n] != S_NONE) n++;
    while (n-- > 0)
        if ((rc = push(w, arm[n], f.depth, 0))) return rc;
    return 0;
}

/* opaque<max> / string<max>: uint32 length, content, zero padding to 4. */
static int step_var(struct walker *w, struct frame f, struct tok *t)
{
    size_t at = w->pos;
    uint32_t n;
    int rc = read32(w, syms[f.sym].name, &n);
    if (rc) return rc;
    if (n > syms[f.sym].size)
        return bdbi_err_at(BDB_EFORMAT, w->label, (int64_t)at,
                           "%s length %u exceeds its maximum %u", syms[f.sym].name, n,
                           syms[f.sym].size);
    size_t pad = (4 - (n & 3)) & 3;
    if ((rc = need(w, n, syms[f.sym].name))) return rc;
    *t = (struct tok){.kind = T_VAR, .p = w->buf + w->pos, .n = n};
    w->pos += n;
    if ((rc = need(w, pad, "padding"))) return rc;
    for (size_t i = 0; i < pad; i++, w->pos++)
        if (w->buf[w->pos] != 0) /* xdrpp rejects non-zero padding */
            return bdbi_err_at(BDB_EFORMAT, w->label, (int64_t)w->pos,
                               "non-zero padding byte %#x after %s (expected 0)", w->buf[w->pos],
                               syms[f.sym].name);
    return 0;
}

/* SCVec* / SCMap*: the flag (absent < present), then the count. The count
 * is not a token: the REST frame turns it into element markers. */
static int step_opt(struct walker *w, struct frame f, struct tok *t)
{
    size_t at = w->pos;
    uint32_t flag, count;
    int rc = read32(w, syms[f.sym].name, &flag);
    if (rc) return rc;
    if (flag > 1)
        return bdbi_err_at(BDB_EFORMAT, w->label, (int64_t)at, "%s is %u (expected 0 or 1)",
                           syms[f.sym].name, flag);
    *t = (struct tok){.kind = T_UINT, .u = flag};
    if (!flag) return 0;
    if (f.depth >= MAX_DEPTH)
        return bdbi_err_at(BDB_EFORMAT, w->label, (int64_t)at,
                           "SCVal nesting deeper than %d levels", MAX_DEPTH);
    int is_map = f.sym == S_OPT_MAP;
    at = w->pos;
    if ((rc = read32(w, is_map ? "SCMap count" : "SCVec count", &count))) return rc;
    /* Every SCVal takes at least 4 bytes: refuse an impossible count now
     * rather than after walking to the end of the buffer. */
    if ((uint64_t)count * (is_map ? 8 : 4) > w->len - w->pos)
        return bdbi_err_at(BDB_EFORMAT, w->label, (int64_t)at,
                           "%s count %u cannot fit in the %zu bytes left",
                           is_map ? "SCMap" : "SCVec", count, w->len - w->pos);
    return push(w, is_map ? S_MAP_REST : S_VEC_REST, (uint8_t)(f.depth + 1), count);
}

/* Reads the next piece of the key into *t. Returns STEP_TOKEN, STEP_DONE
 * (the key ended exactly at the end of the buffer) or BDB_EFORMAT. */
static int step(struct walker *w, struct tok *t)
{
    if (w->top == 0) {
        if (w->pos != w->len)
            return bdbi_err_at(BDB_EFORMAT, w->label, (int64_t)w->pos,
                               "%zu trailing bytes after the LedgerKey (expected its end)",
                               w->len - w->pos);
        return STEP_DONE;
    }
    struct frame f = w->stack[--w->top];
    size_t at = w->pos;
    uint32_t v32;
    uint64_t v64;
    int rc;
    switch ((enum sym)f.sym) {
    case S_BOOL:
    case S_U32:
    case S_I32:
        if ((rc = read32(w, syms[f.sym].name, &v32))) return rc;
        if (f.sym == S_BOOL && v32 > 1)
            return bdbi_err_at(BDB_EFORMAT, w->label, (int64_t)at, "bool is %u (expected 0 or 1)",
                               v32);
        if (f.sym == S_I32)
            *t = (struct tok){.kind = T_INT, .i = (int32_t)v32};
        else
            *t = (struct tok){.kind = T_UINT, .u = v32};
        return STEP_TOKEN;
    case S_U64:
    case S_I64:
        if ((rc = read64(w, syms[f.sym].name, &v64))) return rc;
        if (f.sym == S_I64)
            *t = (struct tok){.kind = T_INT, .i = (int64_t)v64};
        else
            *t = (struct tok){.kind = T_UINT, .u = v64};
        return STEP_TOKEN;
    case S_HASH:
    case S_CODE4:
    case S_CODE12: /* opaque[n]; n is a multiple of 4, so no padding */
        if ((rc = need(w, syms[f.sym].size, syms[f.sym].name))) return rc;
        *t = (struct tok){.kind = T_FIXED, .p = w->buf + w->pos, .n = syms[f.sym].size};
        w->pos += syms[f.sym].size;
        return STEP_TOKEN;
    case S_STR64:
    case S_SYMBOL:
    case S_STRING:
    case S_BYTES:
        return step_var(w, f, t);
    case S_OPT_VEC:
    case S_OPT_MAP:
        return step_opt(w, f, t);
    case S_VEC_REST:
    case S_MAP_REST:
        /* Marker 1 before each element, 0 at the end: a proper prefix sorts
         * first, as in xdrpp's element-wise array comparison. */
        *t = (struct tok){.kind = T_UINT, .u = f.count > 0};
        if (f.count == 0) return STEP_TOKEN;
        if ((rc = push(w, f.sym, f.depth, f.count - 1))) return rc;
        if (f.sym == S_MAP_REST && (rc = push(w, S_SC_VAL, f.depth, 0))) return rc; /* val */
        if ((rc = push(w, S_SC_VAL, f.depth, 0))) return rc; /* element, or map key */
        return STEP_TOKEN;
    case S_NONE:
        break;
    default: /* every union and enum */
        return step_disc(w, f, t);
    }
    return bdbi_err_at(BDB_EINTERNAL, w->label, (int64_t)at, "key parser: bad symbol %u", f.sym);
}

static int tok_cmp(const struct tok *a, const struct tok *b)
{
    switch (a->kind) {
    case T_INT:
        return (a->i > b->i) - (a->i < b->i);
    case T_UINT:
        return (a->u > b->u) - (a->u < b->u);
    case T_FIXED:
    case T_VAR: {
        /* memcmp over the common part (unsigned bytes, as char_traits and
         * std::array compare), then the shorter one first. n may be 0. */
        size_t n = a->n < b->n ? a->n : b->n;
        int c = n ? memcmp(a->p, b->p, n) : 0;
        if (c) return c < 0 ? -1 : 1;
        return (a->n > b->n) - (a->n < b->n);
    }
    }
    return 0;
}

static void walker_init(struct walker *w, const uint8_t *buf, size_t len, const char *label)
{
    w->buf = buf;
    w->len = len;
    w->pos = 0;
    w->label = label;
    w->top = 0;
    w->stack[w->top++] = (struct frame){S_KEY, 0, 0};
}

int bdbi_ledger_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, int *order)
{
    struct walker wa, wb;
    struct tok ta, tb;
    int ra, rb, ord = 0;
    walker_init(&wa, a, alen, "key a");
    walker_init(&wb, b, blen, "key b");
    do {
        if ((ra = step(&wa, &ta)) < 0) return ra;
        if ((rb = step(&wb, &tb)) < 0) return rb;
        if (ra != rb) /* cannot happen: equal streams end together; the ended key first */
            ord = ra == STEP_DONE ? -1 : 1;
        else if (ra == STEP_TOKEN)
            ord = tok_cmp(&ta, &tb);
    } while (ra == STEP_TOKEN && rb == STEP_TOKEN && ord == 0);
    /* The order is known; both keys must still be valid to the last byte. */
    while (ra == STEP_TOKEN)
        if ((ra = step(&wa, &ta)) < 0) return ra;
    while (rb == STEP_TOKEN)
        if ((rb = step(&wb, &tb)) < 0) return rb;
    *order = ord;
    return 0;
}
