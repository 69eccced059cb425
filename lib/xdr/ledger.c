/* Ledger keys, entries and bucket records over the schema walker. */
#include "config.h"

#include "ledger.h"

#include <string.h>

#include "bucketdb/ledger.h"
#include "core/error.h"
#include "core/sha256.h"
#include "keycmp.h"
#include "stellar_types.h"

static const char *const type_names[] = {
    "ACCOUNT",        "TRUSTLINE",     "OFFER",         "DATA",           "CLAIMABLE_BALANCE",
    "LIQUIDITY_POOL", "CONTRACT_DATA", "CONTRACT_CODE", "CONFIG_SETTING", "TTL",
};

BDB_API const char *bdb_entry_type_name(int type)
{
    if (type < 0 || type > BDB_TTL) return "unknown";
    return type_names[type];
}

int bdbi_check(const bdbi_xtype *t, const void *buf, size_t len, const char *label, int64_t base)
{
    bdbi_xdr_in in;
    bdbi_xdr_in_init(&in, buf, len, label, base);
    int rc = bdbi_xdr_walk(&in, t, NULL);
    return rc ? rc : bdbi_xdr_expect_end(&in, t->name);
}

BDB_API int bdb_ledger_key_check(const void *key, size_t len)
{
    return bdbi_check(&bdbi_xt_ledger_key, key, len, "LedgerKey", 0);
}

BDB_API int bdb_ledger_entry_check(const void *entry, size_t len)
{
    return bdbi_check(&bdbi_xt_ledger_entry, entry, len, "LedgerEntry", 0);
}

/* Keys whose layout is fixed once their asset arm is known (all but DATA
 * and CONTRACT_DATA) take a fast path: their length, and the offsets of the
 * signed fields (discriminants, enums, int64) whose top bit the sort key
 * inverts; every other byte of them is unsigned or fixed opaque and is
 * copied as it is. */
typedef struct fixed_shape {
    uint32_t len;
    uint32_t nflip;
    uint8_t flip[4];
} fixed_shape;

/* Recognises a well-formed fixed-layout LedgerKey at k[0..avail) (k starts
 * with the LedgerEntryType). Returns 0 when the key is of another type or
 * looks malformed: the schema walker then takes over and reports. */
static int fixed_key(const uint8_t *k, size_t avail, fixed_shape *s)
{
    if (avail < 8) return 0;
    s->flip[0] = 0;
    s->nflip = 1;
    switch (bdbi_be32(k)) {
    case BDB_ACCOUNT:
    case BDB_OFFER:
        s->len = bdbi_be32(k) == BDB_ACCOUNT ? 40 : 48;
        if (avail < s->len || bdbi_be32(k + 4) != 0) return 0; /* PUBLIC_KEY_TYPE_ED25519 */
        s->flip[s->nflip++] = 4;
        if (s->len == 48) s->flip[s->nflip++] = 40; /* int64 offerID */
        return 1;
    case BDB_TRUSTLINE: {
        static const uint32_t len_of[4] = {44, 84, 92, 76};
        if (avail < 44 || bdbi_be32(k + 4) != 0) return 0;
        uint32_t asset = bdbi_be32(k + 40);
        if (asset > 3 || avail < len_of[asset]) return 0;
        uint32_t issuer = asset == 1 ? 48 : asset == 2 ? 56 : 0; /* issuer's PublicKeyType */
        if (issuer && bdbi_be32(k + issuer) != 0) return 0;
        s->len = len_of[asset];
        s->flip[s->nflip++] = 4;
        s->flip[s->nflip++] = 40;
        if (issuer) s->flip[s->nflip++] = (uint8_t)issuer;
        return 1;
    }
    case BDB_CLAIMABLE_BALANCE:
        if (avail < 40 || bdbi_be32(k + 4) != 0) return 0; /* CLAIMABLE_BALANCE_ID_TYPE_V0 */
        s->len = 40;
        s->flip[s->nflip++] = 4;
        return 1;
    case BDB_LIQUIDITY_POOL:
    case BDB_CONTRACT_CODE:
    case BDB_TTL:
        if (avail < 36) return 0;
        s->len = 36;
        return 1;
    case BDB_CONFIG_SETTING:
        if (bdbi_be32(k + 4) >= bdbi_xt_config_setting_id.n) return 0; /* ids are 0..n-1 */
        s->len = 8;
        s->flip[s->nflip++] = 4;
        return 1;
    default:
        return 0;
    }
}

/* The key fields of the entry types that are not handled as fixed. */
static const bdbi_xtype *const k_account[] = {&bdbi_xt_account_id, NULL};
static const bdbi_xtype *const k_trustline[] = {&bdbi_xt_account_id, &bdbi_xt_trustline_asset,
                                                NULL};
static const bdbi_xtype *const k_data[] = {&bdbi_xt_account_id, &bdbi_xt_string64, NULL};
static const bdbi_xtype *const k_cb[] = {&bdbi_xt_claimable_balance_id, NULL};
static const bdbi_xtype *const k_config[] = {&bdbi_xt_config_setting_id, NULL};
static const bdbi_xtype *const k_contract_data[] = {&bdbi_xt_scaddress, &bdbi_xt_scval,
                                                    &bdbi_xt_contract_data_durability, NULL};

/* Appends the sort key of a fixed-layout key k of shape fs. */
static void emit_fixed(bdbi_sk_out *sk, const uint8_t *k, const fixed_shape *fs)
{
    size_t at = sk->len;
    if (at <= sk->cap && fs->len <= sk->cap - at) {
        memcpy(sk->p + at, k, fs->len);
        for (uint32_t i = 0; i < fs->nflip; i++) sk->p[at + fs->flip[i]] ^= 0x80;
    }
    sk->len += fs->len;
}

/* Walks the types in `fields` (a NULL-terminated list) from in->pos,
 * appending their sort key to sk when it is not NULL. */
static int walk_all_sk(bdbi_xdr_in *in, const bdbi_xtype *const *fields, bdbi_sk_out *sk)
{
    for (; *fields; fields++) {
        int rc = bdbi_xdr_walk(in, *fields, sk);
        if (rc) return rc;
    }
    return 0;
}

static int walk_all(bdbi_xdr_in *in, const bdbi_xtype *const *fields)
{
    return walk_all_sk(in, fields, NULL);
}

int bdbi_entry_key_span(const uint8_t *e, size_t len, const char *label, int64_t base,
                        bdbi_key_span *span)
{
    bdbi_xdr_in in;
    bdbi_xdr_in_init(&in, e, len, label, base);
    if (len < 8) return bdbi_xdr_fail(&in, 0, "truncated: a LedgerEntry needs at least 8 bytes");
    int32_t type = (int32_t)bdbi_be32(e + 4);
    fixed_shape fs;
    if (type != BDB_CONTRACT_CODE && fixed_key(e + 4, len - 4, &fs)) {
        span->type = type;
        span->head = e + 4;
        span->tail = e + 8;
        span->tail_len = fs.len - 4;
        span->end = 4 + fs.len;
        return 0;
    }
    in.pos = 8;
    /* For most types the key fields are a prefix of the body, so the key
     * is the contiguous bytes [4, end of the key fields). */
    int rc;
    span->type = type;
    switch (type) {
    case BDB_ACCOUNT:
        rc = walk_all(&in, k_account);
        break;
    case BDB_TRUSTLINE:
        rc = walk_all(&in, k_trustline);
        break;
    case BDB_OFFER:
        if ((rc = walk_all(&in, k_account))) return rc;
        if (len - in.pos < 8) return bdbi_xdr_fail(&in, in.pos, "truncated: offerID needs 8 bytes");
        in.pos += 8;
        break;
    case BDB_DATA:
        rc = walk_all(&in, k_data);
        break;
    case BDB_CLAIMABLE_BALANCE:
        rc = walk_all(&in, k_cb);
        break;
    case BDB_LIQUIDITY_POOL:
    case BDB_TTL:
        if (len - in.pos < 32) return bdbi_xdr_fail(&in, in.pos, "truncated: hash needs 32 bytes");
        in.pos += 32;
        rc = 0;
        break;
    case BDB_CONFIG_SETTING:
        rc = walk_all(&in, k_config);
        break;
    case BDB_CONTRACT_DATA: {
        /* body: ExtensionPoint ext; contract; key; durability; val */
        if ((rc = bdbi_xdr_walk(&in, &bdbi_xt_extension_point, NULL))) return rc;
        size_t start = in.pos;
        if ((rc = walk_all(&in, k_contract_data))) return rc;
        span->head = e + 4;
        span->tail = e + start;
        span->tail_len = in.pos - start;
        span->end = in.pos;
        return 0;
    }
    case BDB_CONTRACT_CODE: {
        /* body: ext (4 or 52 bytes); Hash hash; opaque code<> */
        if ((rc = bdbi_xdr_walk(&in, &bdbi_xt_contract_code_ext, NULL))) return rc;
        if (len - in.pos < 32) return bdbi_xdr_fail(&in, in.pos, "truncated: hash needs 32 bytes");
        span->head = e + 4;
        span->tail = e + in.pos;
        span->tail_len = 32;
        span->end = in.pos + 32;
        return 0;
    }
    default:
        return bdbi_xdr_fail(&in, 4, "%d is not a valid LedgerEntryType", type);
    }
    if (rc) return rc;
    span->head = e + 4;
    span->tail = e + 8;
    span->tail_len = in.pos - 8;
    span->end = in.pos;
    return 0;
}

BDB_API int bdb_ledger_entry_key(const void *entry, size_t len, void *out, size_t cap,
                                 size_t *out_len)
{
    int rc = bdb_ledger_entry_check(entry, len);
    if (rc) return rc;
    bdbi_key_span s;
    if ((rc = bdbi_entry_key_span(entry, len, "LedgerEntry", 0, &s))) return rc;
    *out_len = 4 + s.tail_len;
    if (cap < *out_len)
        return bdbi_err(BDB_EINVAL, "key buffer of %zu bytes is too small; %zu needed", cap,
                        *out_len);
    memcpy(out, s.head, 4);
    memcpy((uint8_t *)out + 4, s.tail, s.tail_len);
    return 0;
}

int bdbi_sort_key(const uint8_t *key, size_t len, const char *label, int64_t base, bdbi_sk_out *sk)
{
    fixed_shape fs;
    if (fixed_key(key, len, &fs) && fs.len == len) {
        emit_fixed(sk, key, &fs);
        return 0;
    }
    bdbi_xdr_in in;
    bdbi_xdr_in_init(&in, key, len, label, base);
    int rc = bdbi_xdr_walk(&in, &bdbi_xt_ledger_key, sk);
    return rc ? rc : bdbi_xdr_expect_end(&in, "LedgerKey");
}

int bdbi_entry_sort_key(const uint8_t *e, size_t len, const char *label, int64_t base,
                        bdbi_sk_out *sk)
{
    int rc;
    if (len >= 8) {
        int32_t type = (int32_t)bdbi_be32(e + 4);
        fixed_shape fs;
        if (type != BDB_CONTRACT_CODE && fixed_key(e + 4, len - 4, &fs)) {
            emit_fixed(sk, e + 4, &fs);
            return 0;
        }
        if (type == BDB_CONTRACT_DATA || type == BDB_DATA) {
            /* one pass: the key fields are walked and encoded together */
            bdbi_xdr_in in;
            bdbi_xdr_in_init(&in, e, len, label, base);
            in.pos = 8;
            uint8_t t[4] = {0x80, 0, 0, (uint8_t)type};
            size_t at = sk->len;
            if (at <= sk->cap && sk->cap - at >= 4) memcpy(sk->p + at, t, 4);
            sk->len += 4;
            if (type == BDB_DATA) return walk_all_sk(&in, k_data, sk);
            if ((rc = bdbi_xdr_walk(&in, &bdbi_xt_extension_point, NULL))) return rc;
            return walk_all_sk(&in, k_contract_data, sk);
        }
    }
    /* CONTRACT_CODE, and malformed input (which the span reports) */
    bdbi_key_span s;
    if ((rc = bdbi_entry_key_span(e, len, label, base, &s))) return rc;
    uint8_t key[64];
    if (4 + s.tail_len > sizeof key)
        return bdbi_err(BDB_EINTERNAL, "unexpected %zu-byte key of type %d", 4 + s.tail_len,
                        s.type);
    memcpy(key, s.head, 4);
    memcpy(key + 4, s.tail, s.tail_len);
    return bdbi_sort_key(key, 4 + s.tail_len, label, base, sk);
}

BDB_API int bdb_sort_key(const void *key, size_t len, void *out, size_t cap, size_t *out_len)
{
    bdbi_sk_out sk = {out, 0, cap};
    int rc = bdbi_sort_key(key, len, "LedgerKey", 0, &sk);
    *out_len = sk.len;
    if (rc) return rc;
    if (sk.len > cap)
        return bdbi_err(BDB_EINVAL, "sort key buffer of %zu bytes is too small; %zu needed", cap,
                        sk.len);
    return 0;
}

BDB_API int bdb_ledger_key_compare(const void *a, size_t alen, const void *b, size_t blen,
                                   int *order)
{
    return bdbi_ledger_key_cmp(a, alen, b, blen, order);
}

BDB_API int bdb_ttl_key(const void *key, size_t len, uint8_t out[BDB_TTL_KEY_LEN])
{
    int rc = bdb_ledger_key_check(key, len);
    if (rc) return rc;
    int32_t type = (int32_t)bdbi_be32(key);
    if (type != BDB_CONTRACT_DATA && type != BDB_CONTRACT_CODE)
        return bdbi_err(BDB_EINVAL,
                        "only CONTRACT_DATA and CONTRACT_CODE keys have TTL keys, not %s",
                        bdb_entry_type_name(type));
    bdbi_put_be32(out, BDB_TTL);
    return bdbi_sha256_digest(key, len, out + 4);
}

BDB_API int bdb_record_parse(const void *rec, size_t len, int hot, bdb_record *out)
{
    return bdbi_record_parse(rec, len, hot, "record", 0, out);
}

int bdbi_record_parse(const uint8_t *p, size_t len, int hot, const char *label, int64_t base,
                      bdb_record *out)
{
    const bdbi_xtype *t = hot ? &bdbi_xt_hot_archive_bucket_entry : &bdbi_xt_bucket_entry;
    int rc = bdbi_check(t, p, len, label, base);
    if (rc) return rc;
    memset(out, 0, sizeof *out);
    out->type = (int32_t)bdbi_be32(p);
    out->body = p + 4;
    out->body_len = len - 4;
    out->entry_type = -1;
    out->list_type = -1;
    if (out->type == BDB_METAENTRY) {
        out->ledger_version = bdbi_be32(out->body);
        if (bdbi_be32(out->body + 4) == 1) out->list_type = (int32_t)bdbi_be32(out->body + 8);
    } else if (bdbi_record_is_key(hot, out->type)) {
        out->entry_type = (int32_t)bdbi_be32(out->body);
    } else {
        out->last_modified = bdbi_be32(out->body);
        out->entry_type = (int32_t)bdbi_be32(out->body + 4);
    }
    return 0;
}

int bdbi_record_sort_key(int hot, int32_t type, const uint8_t *body, size_t len, const char *label,
                         int64_t base, bdbi_sk_out *sk)
{
    return bdbi_record_is_key(hot, type) ? bdbi_sort_key(body, len, label, base, sk)
                                         : bdbi_entry_sort_key(body, len, label, base, sk);
}
