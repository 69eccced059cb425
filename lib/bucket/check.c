/* The record checks every bucket read makes, whether the bytes come from
 * a mapped file (reader.c) or a stream (stream.c): what stellar-core's
 * BucketInputIterator checks, plus strictly increasing keys. One copy, so
 * that an archive's gzipped bucket is judged exactly as a stored one. */
#include "config.h"

#include "bucket.h"

#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"
#include "xdr/ledger.h"
#include "xdr/record.h"

void bdbi_checker_init(bdbi_checker *c, bdb_env *env, const char *label, int hot, int flags)
{
    memset(c, 0, sizeof *c);
    c->env = env;
    c->label = label;
    c->hot = hot < 0 ? -1 : hot ? 1 : 0;
    c->flags = flags;
    c->cur = -1;
}

void bdbi_checker_free(bdbi_checker *c)
{
    for (int i = 0; i < 2; i++) bdbi_free(c->env, BDB_MEM_BUCKET, c->sk[i], c->sk_cap[i]);
    memset(c->sk, 0, sizeof c->sk);
    memset(c->sk_cap, 0, sizeof c->sk_cap);
}

int bdbi_checker_meta(bdbi_checker *c, const uint8_t *body, size_t len, bdb_record *m, int *is_meta)
{
    *is_meta = 0;
    if (len < 4 || (int32_t)bdbi_be32(body) != BDB_METAENTRY) return 0;
    /* the METAENTRY arm is the same in both record types */
    int rc = bdbi_record_parse(body, len, c->hot > 0, c->label, BDBI_RECORD_MARK_LEN, m);
    if (rc) return rc;
    if (m->ledger_version < BDB_PROTOCOL_INIT_META)
        return bdbi_err_at(BDB_EFORMAT, c->label, 0,
                           "METAENTRY of protocol %u: buckets have METAENTRY from protocol %d",
                           m->ledger_version, BDB_PROTOCOL_INIT_META);
    int hot = m->list_type == BDB_LIST_HOT_ARCHIVE;
    if (c->hot == 1 && !hot)
        return bdbi_err_at(BDB_EFORMAT, c->label, 0,
                           "hot-archive bucket without a HOT_ARCHIVE METAENTRY (ext v1 expected)");
    if (c->hot == 0 && hot)
        return bdbi_err_at(BDB_EFORMAT, c->label, 0, "live bucket with a HOT_ARCHIVE METAENTRY");
    c->hot = hot;
    c->protocol = m->ledger_version;
    *is_meta = 1;
    return 0;
}

int bdbi_checker_entry(bdbi_checker *c, const uint8_t *body, size_t len, uint64_t at,
                       bdb_bucket_item *it, bdb_record *parsed)
{
    if (c->hot < 0) c->hot = 0; /* no METAENTRY: a live bucket (before protocol 11) */
    int64_t off = (int64_t)at + BDBI_RECORD_MARK_LEN;
    bdb_record rec = {0};
    int rc;
    if (c->flags & BDB_READ_TRUSTED) {
        if (len < 8) return bdbi_err_at(BDB_EFORMAT, c->label, off, "record of %zu bytes", len);
        rec.type = (int32_t)bdbi_be32(body);
        rec.body = body + 4;
        rec.body_len = len - 4;
        int32_t max = c->hot ? BDB_HOT_LIVE : BDB_INITENTRY;
        if (rec.type < BDB_METAENTRY || rec.type > max)
            return bdbi_err_at(BDB_EFORMAT, c->label, off, "%d is not a valid record type",
                               rec.type);
    } else if ((rc = bdbi_record_parse(body, len, c->hot, c->label, off, &rec))) {
        return rc;
    }
    if ((rc = bdbi_bucket_check_legal(c->hot, c->protocol, rec.type, body, len, BDB_EFORMAT,
                                      c->label, off)))
        return rc;

    /* the sort key, into the buffer not holding the previous key */
    int slot = c->cur == 0 ? 1 : 0;
    size_t need = BDB_SORT_KEY_BOUND(len);
    if (need > c->sk_cap[slot]) {
        uint8_t *p = bdbi_realloc(c->env, BDB_MEM_BUCKET, c->sk[slot], c->sk_cap[slot], need);
        if (!p) return BDB_ENOMEM;
        c->sk[slot] = p;
        c->sk_cap[slot] = need;
    }
    bdbi_sk_out o = {c->sk[slot], 0, c->sk_cap[slot]};
    int is_key = bdbi_record_is_key(c->hot, rec.type);
    if ((rc =
             bdbi_record_sort_key(c->hot, rec.type, rec.body, rec.body_len, c->label, off + 4, &o)))
        return rc;
    if (c->cur >= 0 && bdbi_sk_cmp(o.p, o.len, c->sk[c->cur], c->sk_len[c->cur]) <= 0)
        return bdbi_err_at(BDB_EFORMAT, c->label, (int64_t)at,
                           "key not strictly greater than the previous record's key");
    c->sk_len[slot] = o.len;
    c->cur = slot;
    it->type = rec.type;
    it->entry_type = (int32_t)bdbi_be32(is_key ? rec.body : rec.body + 4);
    it->record = body;
    it->record_len = len;
    it->offset = at;
    it->sort_key = o.p;
    it->sort_key_len = o.len;
    if (parsed) {
        *parsed = rec;
        parsed->entry_type = it->entry_type;
    }
    return 0;
}
