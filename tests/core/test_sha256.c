/* SHA-256 against published vectors: FIPS 180-2 (B.1, B.2, the million
 * 'a') and the meta-only bucket files whose hashes stellar-bucketlist.md
 * §1.4 lists. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/sha256.h"

static void hex(const uint8_t *d, char *out)
{
    for (int i = 0; i < BDBI_SHA256_LEN; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void unhex(const char *s, uint8_t *out, size_t *n)
{
    *n = 0;
    for (; *s; s++) {
        if (*s == ' ') continue;
        unsigned v;
        sscanf(s, "%2x", &v);
        out[(*n)++] = (uint8_t)v;
        s++;
    }
}

static void check(const void *data, size_t n, const char *want)
{
    uint8_t d[BDBI_SHA256_LEN];
    char got[65];
    cr_assert_eq(bdbi_sha256_digest(data, n, d), 0);
    hex(d, got);
    cr_assert_str_eq(got, want);
}

TestSuite(sha256);

Test(sha256, fips_180_2_vectors)
{
    check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *b2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check(b2, strlen(b2), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(sha256, incremental_million_a)
{
    bdbi_sha256 h;
    cr_assert_eq(bdbi_sha256_init(&h), 0);
    char a[1000];
    memset(a, 'a', sizeof a);
    /* uneven pieces cross every block boundary alignment */
    size_t done = 0, step = 1;
    while (done < 1000000) {
        size_t n = step;
        if (n > sizeof a) n = sizeof a;
        if (n > 1000000 - done) n = 1000000 - done;
        bdbi_sha256_update(&h, a, n);
        done += n;
        step = step * 7 % 997 + 1;
    }
    uint8_t d[BDBI_SHA256_LEN];
    char got[65];
    bdbi_sha256_final(&h, d);
    hex(d, got);
    cr_assert_str_eq(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

Test(sha256, meta_only_bucket_files)
{
    static const struct {
        const char *bytes, *hash;
    } v[] = {
        {"8000000c ffffffff 0000000b 00000000",
         "056cd09fa286b2de1ff329b224259b858f94ec1dcc93f0e0512b2f6819348951"},
        {"8000000c ffffffff 00000016 00000000",
         "dd0fa2787678f70814f725d98cb99955f13a4da2c3ba4339fc708374e655b139"},
        {"80000010 ffffffff 00000017 00000001 00000000",
         "8475245632bdc490ef81f9204d51cb1642015118c430fab2895f53ccc003ff8c"},
        {"80000010 ffffffff 00000017 00000001 00000001",
         "d3ca223ced12b53fe2ff5f209bd9bda7fe2468dac3696f2bf76432f3fa0f7385"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t b[32];
        size_t n;
        unhex(v[i].bytes, b, &n);
        check(b, n, v[i].hash);
    }
}

Test(sha256, discard_releases_state)
{
    bdbi_sha256 h;
    cr_assert_eq(bdbi_sha256_init(&h), 0);
    bdbi_sha256_update(&h, "x", 1);
    bdbi_sha256_discard(&h); /* valgrind/ASan builds see a leak if it does not */
    cr_assert_str_neq(bdbi_sha256_backend(), "");
}
