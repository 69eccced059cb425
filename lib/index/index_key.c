/* Reading what the index needs out of a record without decoding it: does
 * it hold a given key, what kind of entry is it, and the assets of a
 * liquidity pool. Every read is bounds-checked against the record. */
#include "config.h"

#include <string.h>

#include "index_impl.h"
#include "xdr/ledger.h"

/* Offsets inside a record (BucketEntry XDR, no mark) that holds a
 * LedgerEntry: the record type, then the entry's lastModifiedLedgerSeq,
 * then the entry's LedgerEntryType and its body. */
#define REC_ENTRY     4  /* the LedgerEntry */
#define REC_TYPE      8  /* LedgerEntryType of the entry */
#define REC_BODY      12 /* the entry's body */
#define KEY_TYPE_LEN  4
#define HASH_LEN      32
#define CODE_EXT_V1   48 /* ContractCodeEntry ext v1 after its discriminant */
#define PUBLIC_KEY_SZ 36 /* PublicKey: PUBLIC_KEY_TYPE_ED25519 + 32 bytes */

/* Whether the record type carries a LedgerEntry (LIVE and INIT; hot:
 * ARCHIVED). */
static int holds_entry(int hot, int32_t type)
{
    return hot ? type == BDB_HOT_ARCHIVED : type == BDB_LIVEENTRY || type == BDB_INITENTRY;
}

int bdbi_record_has_key(int hot, const uint8_t *rec, size_t len, const uint8_t *key, size_t klen)
{
    /* the shortest LedgerKey is CONFIG_SETTING: type + id */
    if (len < 4 || klen < 8) return 0;
    int32_t type = (int32_t)bdbi_be32(rec);
    if (bdbi_record_is_key(hot, type)) return len - 4 == klen && memcmp(rec + 4, key, klen) == 0;
    if (!holds_entry(hot, type) || len < REC_BODY || memcmp(rec + REC_TYPE, key, KEY_TYPE_LEN))
        return 0;
    /* The entry's key fields are a valid encoding of the same XDR struct as
     * the key's (their types are equal), and XDR encodings of one type are
     * prefix-free: if the entry's bytes at the key fields start with the
     * key's fields, the two keys are equal. */
    const uint8_t *tail = key + KEY_TYPE_LEN;
    size_t tail_len = klen - KEY_TYPE_LEN;
    size_t at; /* where the entry's key fields start */
    switch ((int32_t)bdbi_be32(key)) {
    case BDB_CONTRACT_DATA:
        /* ContractDataEntry: ExtensionPoint ext (only v0: 4 zero bytes),
         * then contract, key, durability as in the LedgerKey */
        if (len < REC_BODY + 4 || bdbi_be32(rec + REC_BODY) != 0) return 0;
        at = REC_BODY + 4;
        break;
    case BDB_CONTRACT_CODE: {
        /* ContractCodeEntry: ext (v0: nothing; v1: 48 bytes), then hash */
        if (len < REC_BODY + 4) return 0;
        uint32_t v = bdbi_be32(rec + REC_BODY);
        if (v > 1) return 0;
        at = REC_BODY + 4 + (v ? CODE_EXT_V1 : 0);
        break;
    }
    default:
        /* the key fields are the body's first fields */
        at = REC_BODY;
    }
    return at <= len && len - at >= tail_len && memcmp(rec + at, tail, tail_len) == 0;
}

/* kind of a LedgerEntryType, CONTRACT_DATA taking its durability d */
static int kind_of(int32_t type, uint32_t d)
{
    if (type < 0 || type > BDB_TTL) return -1;
    if (type == BDB_CONTRACT_DATA) return d <= 1 ? 6 + (int)d : -1;
    return type < BDB_CONTRACT_DATA ? type : type + 1;
}

int bdbi_record_kind(int hot, const uint8_t *rec, size_t len)
{
    if (len < 8) return -1;
    int32_t type = (int32_t)bdbi_be32(rec);
    if (bdbi_record_is_key(hot, type)) {
        /* the key's durability is its last field, the record's last word */
        int32_t t = (int32_t)bdbi_be32(rec + 4);
        if (t != BDB_CONTRACT_DATA) return kind_of(t, 0);
        return len < 12 ? -1 : kind_of(t, bdbi_be32(rec + len - 4));
    }
    if (!holds_entry(hot, type) || len < REC_BODY) return -1;
    int32_t t = (int32_t)bdbi_be32(rec + REC_TYPE);
    if (t != BDB_CONTRACT_DATA) return kind_of(t, 0);
    /* durability follows the contract and the SCVal key: walk them */
    bdbi_key_span s;
    if (bdbi_entry_key_span(rec + REC_ENTRY, len - REC_ENTRY, "record", REC_ENTRY, &s)) return -1;
    return kind_of(t, bdbi_be32(rec + REC_ENTRY + s.end - 4));
}

int bdbi_kind_of_sort_key(const uint8_t *sk, size_t sk_len)
{
    if (sk_len < 4) return -1;
    int32_t t = (int32_t)(bdbi_be32(sk) ^ 0x80000000u); /* sort keys invert the sign bit */
    if (t != BDB_CONTRACT_DATA) return kind_of(t, 0);
    /* ContractDataDurability is an enum: its sign bit is inverted too */
    if (sk_len < 8) return -1;
    return kind_of(t, bdbi_be32(sk + sk_len - 4) ^ 0x80000000u);
}

int bdbi_asset_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c) return c;
    return (an > bn) - (an < bn);
}

size_t bdbi_asset_len(const uint8_t *p, size_t avail)
{
    if (avail < 4) return 0;
    size_t n;
    switch (bdbi_be32(p)) {
    case 0: /* ASSET_TYPE_NATIVE */
        return 4;
    case 1: /* CREDIT_ALPHANUM4: AssetCode4, AccountID issuer */
        n = 4 + 4 + PUBLIC_KEY_SZ;
        break;
    case 2: /* CREDIT_ALPHANUM12: AssetCode12, AccountID issuer */
        n = 4 + 12 + PUBLIC_KEY_SZ;
        break;
    default:
        return 0;
    }
    if (avail < n || bdbi_be32(p + n - PUBLIC_KEY_SZ) != 0) return 0; /* PUBLIC_KEY_TYPE_ED25519 */
    return n;
}

int bdbi_pool_of_record(const uint8_t *rec, size_t len, const uint8_t **id, const uint8_t **a,
                        size_t *a_len, const uint8_t **b, size_t *b_len)
{
    /* LiquidityPoolEntry: PoolID liquidityPoolID; body union
     * (LIQUIDITY_POOL_CONSTANT_PRODUCT = 0: {params {Asset assetA;
     * Asset assetB; int32 fee}; ...}) */
    size_t at = REC_BODY + HASH_LEN;
    if (len < at + 4 || bdbi_be32(rec + REC_TYPE) != BDB_LIQUIDITY_POOL || bdbi_be32(rec + at) != 0)
        return -1;
    at += 4;
    size_t na = bdbi_asset_len(rec + at, len - at);
    if (!na) return -1;
    size_t nb = bdbi_asset_len(rec + at + na, len - at - na);
    if (!nb) return -1;
    *id = rec + REC_BODY;
    *a = rec + at;
    *a_len = na;
    *b = rec + at + na;
    *b_len = nb;
    return 0;
}
