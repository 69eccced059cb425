/* Record framing (RFC 5531 marks as stellar-core writes them) and the
 * protocol-28 (CAP-85) XDR arms that @stellar/stellar-base 15 cannot
 * encode, built here byte by byte from the XDR definitions. */
#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "bucketdb/ledger.h"
#include "xdr/keycmp.h"
#include "xdr/record.h"
#include "xdr/schema.h"
#include "xdr/xdrout.h"

TestSuite(record);

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

/* The toolchain notes' framed bucket [meta, init, dead] starts with the
 * 16-byte meta record: mark 0x80000010. */
Test(record, mark_layout)
{
    uint8_t m[4];
    bdbi_record_mark(m, 16);
    cr_assert(m[0] == 0x80 && m[1] == 0 && m[2] == 0 && m[3] == 0x10);
    bdbi_record_mark(m, BDBI_RECORD_MAX_BODY);
    cr_assert(m[0] == 0xff && m[1] == 0xff && m[2] == 0xff && m[3] == 0xfc);
}

Test(record, walks_consecutive_records)
{
    uint8_t buf[64];
    size_t n = 0;
    uint32_t lens[] = {4, 0, 12, 8};
    for (size_t i = 0; i < 4; i++) {
        bdbi_record_mark(buf + n, lens[i]);
        memset(buf + n + 4, (int)i + 1, lens[i]);
        n += 4 + lens[i];
    }
    size_t pos = 0;
    for (size_t i = 0; i < 4; i++) {
        const uint8_t *body;
        size_t len;
        cr_assert_eq(bdbi_record_next(buf, n, &pos, "f", 100, &body, &len), 0, "%s", bdb_errmsg());
        cr_assert_eq(len, lens[i]);
        for (size_t j = 0; j < len; j++) cr_assert_eq(body[j], i + 1);
    }
    cr_assert_eq(pos, n);
}

static void expect_bad(const uint8_t *buf, size_t n, size_t start, int64_t at, const char *what)
{
    size_t pos = start;
    const uint8_t *body = NULL;
    size_t len = 7;
    cr_assert_eq(bdbi_record_next(buf, n, &pos, "bucket-x.xdr", 1000, &body, &len), BDB_EFORMAT,
                 "%s accepted", what);
    cr_assert_eq(pos, start, "%s: position moved", what);
    bdb_error e;
    bdb_last_error(&e);
    cr_assert_str_eq(e.path, "bucket-x.xdr");
    cr_assert_eq(e.offset, 1000 + at, "%s: offset %lld", what, (long long)e.offset);
}

Test(record, malformed_marks)
{
    uint8_t buf[16] = {0};
    put32(buf, 8); /* no last-fragment bit */
    expect_bad(buf, 12, 0, 0, "mark without the top bit");
    put32(buf, 0x80000006); /* not a multiple of 4 */
    expect_bad(buf, 16, 0, 0, "length 6");
    put32(buf, 0x80000010); /* 16 declared, 12 present */
    expect_bad(buf, 16, 0, 0, "truncated body");
    expect_bad(buf, 3, 0, 0, "truncated mark");
    put32(buf, 0x80000004);
    expect_bad(buf, 8, 8, 8, "nothing left");
    expect_bad(buf, 8, 9, 9, "position past the end");
}

/* CAP-85: an SCV_EXECUTABLE_TAG key (arm 22, an SCString) and a contract
 * instance whose executable is EXTERNAL_REF (arm 2: SCAddress owner, SCString
 * tag). Tags are byte strings, not necessarily UTF-8. */
static size_t cd_key(uint8_t *k, const uint8_t *val, size_t vlen)
{
    size_t n = 0;
    put32(k + n, BDB_CONTRACT_DATA), n += 4;
    put32(k + n, 1), n += 4; /* SC_ADDRESS_TYPE_CONTRACT */
    memset(k + n, 0x42, 32), n += 32;
    memcpy(k + n, val, vlen), n += vlen;
    put32(k + n, 1), n += 4; /* PERSISTENT */
    return n;
}

Test(record, cap85_executable_tag_and_external_ref)
{
    uint8_t tag_a[12], tag_b[12], inst[64], ka[128], kb[128], ki[128];
    put32(tag_a, 22), put32(tag_a + 4, 3), memcpy(tag_a + 8, "v1\xff\0", 4);
    put32(tag_b, 22), put32(tag_b + 4, 3), memcpy(tag_b + 8, "v2\x00\0", 4);
    size_t na = cd_key(ka, tag_a, 12), nb = cd_key(kb, tag_b, 12);
    cr_assert_eq(bdb_ledger_key_check(ka, na), 0, "%s", bdb_errmsg());
    cr_assert_eq(bdb_ledger_key_check(kb, nb), 0, "%s", bdb_errmsg());
    int order;
    cr_assert_eq(bdbi_ledger_key_cmp(ka, na, kb, nb, &order), 0);
    cr_assert_eq(order, -1, "\"v1\\xff\" < \"v2\\0\" by content");
    uint8_t sa[300], sb[300];
    size_t la, lb;
    cr_assert_eq(bdb_sort_key(ka, na, sa, sizeof sa, &la), 0);
    cr_assert_eq(bdb_sort_key(kb, nb, sb, sizeof sb, &lb), 0);
    cr_assert_lt(memcmp(sa, sb, la < lb ? la : lb), 0);

    /* SCV_CONTRACT_INSTANCE { EXTERNAL_REF { owner: account, tag "t" }, storage absent } */
    size_t n = 0;
    put32(inst + n, 19), n += 4;
    put32(inst + n, 2), n += 4; /* CONTRACT_EXECUTABLE_EXTERNAL_REF */
    put32(inst + n, 0), n += 4; /* SC_ADDRESS_TYPE_ACCOUNT */
    put32(inst + n, 0), n += 4; /* PUBLIC_KEY_TYPE_ED25519 */
    memset(inst + n, 7, 32), n += 32;
    put32(inst + n, 1), n += 4;
    memcpy(inst + n, "t\0\0\0", 4), n += 4;
    put32(inst + n, 0), n += 4; /* storage absent */
    size_t ni = cd_key(ki, inst, n);
    cr_assert_eq(bdb_ledger_key_check(ki, ni), 0, "%s", bdb_errmsg());
    cr_assert_eq(bdbi_ledger_key_cmp(ki, ni, ka, na, &order), 0);
    cr_assert_eq(order, -1, "arm 19 < arm 22");
    size_t li;
    uint8_t si[300];
    cr_assert_eq(bdb_sort_key(ki, ni, si, sizeof si, &li), 0);
    cr_assert_lt(memcmp(si, sa, li < la ? li : la), 0);

    /* an unknown executable arm 3 is malformed */
    ki[40 + 7] = 3;
    cr_assert_eq(bdb_ledger_key_check(ki, ni), BDB_EFORMAT);
}

/* The writer pads with zeros, counts what does not fit, and what it
 * writes is what the parser accepts: a DATA key with a 5-byte name. */
Test(record, xdr_writer)
{
    uint8_t buf[64], acct[32];
    memset(acct, 0xAB, sizeof acct);
    memset(buf, 0xEE, sizeof buf);
    bdbi_xdr_out o;
    bdbi_xdr_out_init(&o, buf, sizeof buf);
    bdbi_xdr_put_u32(&o, BDB_DATA);
    bdbi_xdr_put_i32(&o, 0); /* PUBLIC_KEY_TYPE_ED25519 */
    bdbi_xdr_put_fixed(&o, acct, 32);
    bdbi_xdr_put_var(&o, "hello", 5);
    cr_assert_not(bdbi_xdr_out_overflow(&o));
    cr_assert_eq(o.len, 4 + 4 + 32 + 4 + 8);
    cr_assert(buf[49] == 0 && buf[50] == 0 && buf[51] == 0, "padding is zero");
    cr_assert_eq(buf[52], 0xEE, "nothing written past the value");
    cr_assert_eq(bdb_ledger_key_check(buf, o.len), 0, "%s", bdb_errmsg());

    bdbi_xdr_out small;
    bdbi_xdr_out_init(&small, buf, 10);
    bdbi_xdr_put_u64(&small, 1);
    bdbi_xdr_put_i64(&small, -1);
    cr_assert(bdbi_xdr_out_overflow(&small));
    cr_assert_eq(small.len, 16, "the size that would be needed");
    cr_assert_eq(bdbi_be32(buf + 4), 1);
}
