/* BucketList consensus hashes against values computed outside this code:
 * the empty-list values derived in spec §5.3, a non-empty list computed
 * independently (Python hashlib, see below), and the header skip list as
 * stellar-core's BucketManagerTests "skip list" test steps it. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "bucketdb/list.h"

static void unhex(const char *s, uint8_t out[32])
{
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void expect_hash(const uint8_t h[32], const char *want, const char *what)
{
    uint8_t w[32];
    unhex(want, w);
    cr_assert_eq(memcmp(h, w, 32), 0, "%s", what);
}

TestSuite(list_hash);

Test(list_hash, empty_lists_as_derived_in_the_spec)
{
    static const uint8_t zero[BDB_LIST_LEVELS][32];
    uint8_t level[32], list[32], header[32];
    cr_assert_eq(bdb_level_hash(zero[0], zero[0], level), 0);
    expect_hash(level, "f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b",
                "empty level");
    cr_assert_eq(bdb_list_hash(zero, zero, list), 0);
    expect_hash(list, "fe05118472ded163eec364dac2e960ba8ac910689c88cead24b394962b13a1e6",
                "all-empty list");
    cr_assert_eq(bdb_header_bucket_list_hash(23, list, list, header), 0);
    expect_hash(header, "2334d845d2d66a8d831f4a15604870500688ad86ffb9b74e379ee57cd09fb442",
                "header hash of two empty lists at protocol 23");
    cr_assert_eq(bdb_header_bucket_list_hash(22, list, zero[0], header), 0);
    cr_assert_eq(memcmp(header, list, 32), 0, "below 23 the header carries the live hash");
}

/* Level 0 = (the toolchain notes' 168-byte bucket, the v11 meta-only
 * bucket), every other bucket empty. Expected values from:
 *   a, b, z = <those two hashes>, bytes(32)
 *   l0 = sha256(a + b); e = sha256(z + z); lst = sha256(l0 + e * 10)
 *   hot = sha256(e * 11); header = sha256(lst + hot)            */
Test(list_hash, a_non_empty_list)
{
    uint8_t curr[BDB_LIST_LEVELS][32] = {{0}}, snap[BDB_LIST_LEVELS][32] = {{0}};
    unhex("aeb61935a60af3f3007123157d5dfa99f1bef2c79fedc80409fcf2850cd4a0fc", curr[0]);
    unhex("056cd09fa286b2de1ff329b224259b858f94ec1dcc93f0e0512b2f6819348951", snap[0]);
    uint8_t level[32], list[32], hot[32], header[32];
    static const uint8_t zero[BDB_LIST_LEVELS][32];
    cr_assert_eq(bdb_level_hash(curr[0], snap[0], level), 0);
    expect_hash(level, "4bfc29e43ea538e3f9e13f6e56b76b08986431d0bc221373e6f9450e4f7db7a1",
                "level 0");
    cr_assert_eq(bdb_list_hash(curr, snap, list), 0);
    expect_hash(list, "72c0edfdb1ffab5b0c754887bff7ea6c10b5e486a29f4af2de9c10b65e7e2d1c", "list");
    cr_assert_eq(bdb_list_hash(zero, zero, hot), 0);
    cr_assert_eq(bdb_header_bucket_list_hash(25, list, hot, header), 0);
    expect_hash(header, "ff5688319a5803c4c73f00e8e072b52623d35270c00d215ef02ab67239b7d18b",
                "header at protocol 25");
    /* curr and snap are not interchangeable */
    cr_assert_eq(bdb_level_hash(snap[0], curr[0], header), 0);
    cr_assert_neq(memcmp(header, level, 32), 0);
}

/* stellar-core's "skip list" test (BucketManagerTests.cpp): the same
 * header stepped through these ledgers and bucket-list hashes. */
Test(list_hash, skip_list)
{
    uint8_t h[8][32], skip[4][32];
    memset(h, 0, sizeof h);
    for (int i = 1; i < 8; i++) memset(h[i], 0x10 * i, 32);
    memset(skip, 0, sizeof skip);
    static const struct {
        uint32_t ledger;
        int hash;
        int want[4];
    } steps[] = {
        {5, 1, {0, 0, 0, 0}},     {50, 2, {2, 0, 0, 0}},    {100, 3, {3, 0, 0, 0}},
        {101, 2, {3, 0, 0, 0}},   {5000, 4, {4, 0, 0, 0}},  {5050, 5, {5, 4, 0, 0}},
        {55000, 6, {6, 4, 0, 0}}, {55050, 7, {7, 6, 4, 0}},
    };
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        bdb_skip_list_update(steps[s].ledger, h[steps[s].hash], skip);
        for (int k = 0; k < 4; k++)
            cr_assert_eq(memcmp(skip[k], h[steps[s].want[k]], 32), 0, "ledger %u slot %d",
                         steps[s].ledger, k);
    }
    /* the fourth slot moves at 500000 + 50000 + 5000 + 50 */
    uint8_t x[32];
    memset(x, 0xAB, 32);
    bdb_skip_list_update(555050, x, skip);
    cr_assert_eq(memcmp(skip[3], h[4], 32), 0);
    cr_assert_eq(memcmp(skip[2], h[6], 32), 0);
    cr_assert_eq(memcmp(skip[1], h[7], 32), 0);
    cr_assert_eq(memcmp(skip[0], x, 32), 0);
}
