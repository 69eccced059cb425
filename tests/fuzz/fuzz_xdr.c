/* libFuzzer target for the XDR parsers (configure --enable-fuzzing; run
 * with `make fuzz`). The input is fed, whole, to every parser: as a live
 * and a hot-archive record body, a LedgerKey (check, sort key, JSON, TTL
 * key, comparator), a LedgerEntry (check, key, one-pass sort key), a stream
 * of RFC 5531 records, and, split in two at 4 * data[0] bytes past the
 * first byte, as two LedgerKeys to compare. Besides memory errors and
 * undefined behaviour (ASan, UBSan), it checks that the functions agree:
 * a key valid for one is valid for all (the schema walker and the
 * independent comparator), a valid key orders against itself as equal,
 * sort keys order like the comparator and are prefix-free, an entry's key
 * is a valid key, and invalid input is BDB_EFORMAT everywhere. Every
 * block handed to the library is a heap copy of exactly its size, so any
 * read past its end is caught. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucketdb/ledger.h"
#include "xdr/keycmp.h"
#include "xdr/ledger.h"
#include "xdr/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, int line) __attribute__((noreturn));

static void fail(const char *what, int line)
{
    fprintf(stderr, "fuzz_xdr.c:%d: check failed: %s\n  last error: %s\n", line, what,
            bdb_errmsg());
    abort();
}

#define CHECK(c) ((c) ? (void)0 : fail(#c, __LINE__))

static uint8_t *copy(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    if (!q) abort();
    if (n) memcpy(q, p, n);
    return q;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

/* The sort key of k[0..n) into a new block (*sk, freed by the caller). */
static int sort_key(const uint8_t *k, size_t n, uint8_t **sk, size_t *skn)
{
    size_t cap = BDB_SORT_KEY_BOUND(n);
    *sk = malloc(cap);
    if (!*sk) abort();
    *skn = 0;
    int rc = bdb_sort_key(k, n, *sk, cap, skn);
    if (rc == 0) {
        size_t need = 0;
        CHECK(*skn <= cap);
        CHECK(bdb_sort_key(k, n, NULL, 0, &need) == BDB_EINVAL && need == *skn);
    }
    return rc;
}

/* memcmp order, a proper prefix first */
static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? sign(c) : (an > bn) - (an < bn);
}

/* Everything that takes one LedgerKey, on a copy of p[0..n). Returns 1 if
 * the key is valid. */
static int check_key(const uint8_t *p, size_t n)
{
    uint8_t *k = copy(p, n);
    int kc = bdb_ledger_key_check(k, n);
    CHECK(kc == 0 || kc == BDB_EFORMAT);

    uint8_t *sk;
    size_t skn;
    CHECK(sort_key(k, n, &sk, &skn) == kc);
    free(sk);

    int order = 2;
    CHECK(bdbi_ledger_key_cmp(k, n, k, n, &order) == kc);
    CHECK(kc ? order == 2 : order == 0);

    char small[64];
    size_t jn = 0;
    int jr = bdb_ledger_key_json(k, n, small, sizeof small, &jn);
    if (kc) {
        CHECK(jr == BDB_EFORMAT);
    } else if (jr == 0) {
        CHECK(jn <= sizeof small && strlen(small) == jn - 1);
    } else {
        CHECK(jr == BDB_EINVAL && jn > sizeof small);
        char *j = malloc(jn);
        size_t jn2 = 0;
        if (!j) abort();
        CHECK(bdb_ledger_key_json(k, n, j, jn, &jn2) == 0 && jn2 == jn && strlen(j) == jn - 1);
        free(j);
    }

    uint8_t ttl[BDB_TTL_KEY_LEN];
    int tr = bdb_ttl_key(k, n, ttl);
    if (kc)
        CHECK(tr == BDB_EFORMAT);
    else if (be32(k) == BDB_CONTRACT_DATA || be32(k) == BDB_CONTRACT_CODE)
        CHECK(tr == 0 && be32(ttl) == BDB_TTL && bdb_ledger_key_check(ttl, sizeof ttl) == 0);
    else
        CHECK(tr == BDB_EINVAL);
    free(k);
    return kc == 0;
}

/* Everything that takes one LedgerEntry, on a copy of p[0..n). */
static void check_entry(const uint8_t *p, size_t n)
{
    uint8_t *e = copy(p, n);
    int ec = bdb_ledger_entry_check(e, n);
    CHECK(ec == 0 || ec == BDB_EFORMAT);

    /* the key, into a buffer of the entry's size (always enough) */
    uint8_t *k = malloc(n ? n : 1);
    size_t kn = 0, kn2 = 0;
    if (!k) abort();
    CHECK(bdb_ledger_entry_key(e, n, k, n, &kn) == ec);
    if (ec == 0) {
        CHECK(kn >= 8 && kn <= n && check_key(k, kn));
        CHECK(bdb_ledger_entry_key(e, n, k, kn - 1, &kn2) == BDB_EINVAL && kn2 == kn);
    }

    /* The span and the one-pass sort key validate only the key fields: they
     * succeed together, and then give a valid key and its sort key. */
    size_t cap = BDB_SORT_KEY_BOUND(n);
    uint8_t *esk = malloc(cap);
    if (!esk) abort();
    bdbi_sk_out o = {esk, 0, cap};
    int er = bdbi_entry_sort_key(e, n, "entry", 0, &o);
    bdbi_key_span span;
    int sr = bdbi_entry_key_span(e, n, "entry", 0, &span);
    CHECK(er == 0 || er == BDB_EFORMAT);
    CHECK(sr == er);
    if (ec == 0) CHECK(er == 0);
    if (sr == 0) {
        uint8_t *sk;
        size_t skn;
        size_t ks = 4 + span.tail_len;
        uint8_t *key = malloc(ks);
        if (!key) abort();
        CHECK(span.head == e + 4 && span.tail >= e + 8 && span.end <= n &&
              span.tail + span.tail_len == e + span.end);
        memcpy(key, span.head, 4);
        memcpy(key + 4, span.tail, span.tail_len);
        CHECK(check_key(key, ks));
        if (ec == 0) CHECK(ks == kn && memcmp(key, k, kn) == 0);
        CHECK(sort_key(key, ks, &sk, &skn) == 0);
        CHECK(o.len == skn && memcmp(esk, sk, skn) == 0);
        free(sk);
        free(key);
    }
    free(esk);
    free(k);
    free(e);
}

/* A record body, live and hot. */
static void check_record(const uint8_t *p, size_t n)
{
    uint8_t *r = copy(p, n);
    for (int hot = 0; hot <= 1; hot++) {
        bdb_record rec;
        int rc = bdb_record_parse(r, n, hot, &rec);
        CHECK(rc == 0 || rc == BDB_EFORMAT);
        if (rc) continue;
        CHECK(rec.type == (int32_t)be32(r) && rec.body == r + 4 && rec.body_len == n - 4);
        if (rec.type == BDB_METAENTRY) {
            CHECK(rec.entry_type == -1 && rec.ledger_version == be32(r + 4));
        } else if (hot ? rec.type == BDB_HOT_LIVE : rec.type == BDB_DEADENTRY) {
            CHECK(rec.entry_type == (int32_t)be32(r + 4) && check_key(rec.body, rec.body_len));
        } else {
            CHECK(rec.entry_type == (int32_t)be32(r + 8) && rec.last_modified == be32(r + 4));
            CHECK(bdb_ledger_entry_check(rec.body, rec.body_len) == 0);
        }
    }
    free(r);
}

/* Two keys: both valid exactly when the comparator succeeds, and then the
 * sort keys order like it. */
static void check_pair(const uint8_t *pa, size_t an, const uint8_t *pb, size_t bn)
{
    uint8_t *a = copy(pa, an), *b = copy(pb, bn);
    int va = bdb_ledger_key_check(a, an) == 0, vb = bdb_ledger_key_check(b, bn) == 0;
    int o = 2, o2 = 2;
    int rc = bdbi_ledger_key_cmp(a, an, b, bn, &o);
    CHECK((rc == 0) == (va && vb));
    CHECK(bdb_ledger_key_compare(a, an, b, bn, &o2) == rc && o2 == o);
    if (rc) {
        CHECK(rc == BDB_EFORMAT && o == 2);
    } else {
        uint8_t *sa, *sb;
        size_t sna, snb;
        CHECK(bdbi_ledger_key_cmp(b, bn, a, an, &o2) == 0 && o2 == -o);
        CHECK(sort_key(a, an, &sa, &sna) == 0);
        CHECK(sort_key(b, bn, &sb, &snb) == 0);
        CHECK(bytes_cmp(sa, sna, sb, snb) == o);
        CHECK((o == 0) == (an == bn && memcmp(a, b, an) == 0));
        if (o) CHECK(memcmp(sa, sb, sna < snb ? sna : snb) != 0); /* prefix-free */
        free(sa);
        free(sb);
    }
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_record(data, size);
    check_key(data, size);
    check_entry(data, size);

    /* the input as a stream of framed records */
    size_t pos = 0;
    while (pos < size) {
        const uint8_t *body = NULL;
        size_t at = pos, len = 0;
        if (bdbi_record_next(data, size, &pos, "input", 0, &body, &len)) {
            CHECK(pos == at);
            break;
        }
        CHECK(body == data + at + BDBI_RECORD_MARK_LEN && len % 4 == 0 &&
              pos == at + BDBI_RECORD_MARK_LEN + len && pos <= size);
        check_record(body, len);
    }

    if (size >= 1) {
        size_t rest = size - 1, cut = 4 * (size_t)data[0];
        if (cut > rest) cut = rest;
        check_pair(data + 1, cut, data + 1 + cut, rest - cut);
    }
    return 0;
}
