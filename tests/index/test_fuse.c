/* Binary fuse filter: no false negatives at any size, false-positive rates
 * and sizes near the paper's, duplicate keys, the serialized form and its
 * validation against hostile bytes, and allocation failures.
 *
 * Members are even numbers and non-members odd ones, so a non-member is
 * never a member by accident. */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "index/fuse.h"

#include "../core/alloc_fail.h"

static bdb_env *env;

static void setup(void)
{
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 1;
    cr_assert_eq(bdb_env_open(&o, &env), 0, "%s", bdb_errmsg());
}

static void teardown(void)
{
    cr_assert_eq(bdb_env_close(env), 0, "leak: %s", bdb_errmsg());
}

TestSuite(fuse, .init = setup, .fini = teardown);

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t *members(size_t n, uint64_t seed)
{
    uint64_t *k = malloc((n ? n : 1) * sizeof *k);
    cr_assert_not_null(k);
    for (size_t i = 0; i < n; i++) k[i] = splitmix(&seed) & ~1ull;
    return k;
}

static bdbi_fuse *build(const uint64_t *k, size_t n, int bits)
{
    bdbi_fuse *f = NULL;
    cr_assert_eq(bdbi_fuse_build(env, k, n, bits, 42, &f), 0, "n %zu: %s", n, bdb_errmsg());
    cr_assert_not_null(f);
    return f;
}

static size_t misses(const bdbi_fuse *f, const uint64_t *k, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) m += !bdbi_fuse_contains(f, k[i]);
    return m;
}

static double fp_rate(const bdbi_fuse *f, size_t trials, uint64_t seed)
{
    size_t hits = 0;
    for (size_t i = 0; i < trials; i++) hits += bdbi_fuse_contains(f, splitmix(&seed) | 1);
    return (double)hits / (double)trials;
}

static const int widths[] = {8, 16};

Test(fuse, no_false_negatives)
{
    static const size_t sizes[] = {0, 1, 2, 3, 10, 100, 1000, 100000, 1000000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        for (int w = 0; w < 2; w++) {
            size_t n = sizes[s];
            uint64_t *k = members(n, n * 31 + (uint64_t)widths[w]);
            bdbi_fuse *f = build(k, n, widths[w]);
            cr_assert_eq(bdbi_fuse_fp_bits(f), widths[w]);
            cr_assert_eq(misses(f, k, n), 0, "n %zu, %d bits", n, widths[w]);
            bdbi_fuse_free(env, f);
            free(k);
        }
    }
}

/* Many independent small sets: the sizes where a peel fails most often and
 * the segment arithmetic has the most edge cases. */
Test(fuse, many_small_sets)
{
    for (size_t n = 1; n <= 64; n++) {
        for (uint64_t t = 0; t < 100; t++) {
            uint64_t *k = members(n, n * 1000 + t);
            for (int w = 0; w < 2; w++) {
                bdbi_fuse *f = NULL;
                cr_assert_eq(bdbi_fuse_build(env, k, n, widths[w], t, &f), 0, "%s", bdb_errmsg());
                cr_assert_eq(misses(f, k, n), 0, "n %zu, set %lu", n, (unsigned long)t);
                bdbi_fuse_free(env, f);
            }
            free(k);
        }
    }
}

Test(fuse, empty_filter_contains_nothing)
{
    for (int w = 0; w < 2; w++) {
        bdbi_fuse *f = build(NULL, 0, widths[w]);
        cr_assert_eq(fp_rate(f, 100000, 1), 0.0);
        cr_assert_eq(bdbi_fuse_contains(f, 0), 0);
        bdbi_fuse_free(env, f);
    }
}

Test(fuse, false_positive_rate_8)
{
    size_t n = 1000000;
    uint64_t *k = members(n, 8);
    bdbi_fuse *f = build(k, n, 8);
    double r = fp_rate(f, 2000000, 99);
    cr_log_info("8-bit, 1M keys: false-positive rate %.4f%%", r * 100);
    cr_assert_lt(r, 0.006, "rate %f", r);
    /* 1/256 expected: a filter that says "present" to everything fails the
     * bound above, one that never matches a non-member is not a fingerprint
     * filter of this width */
    cr_assert_gt(r, 0.0, "rate %f", r);
    bdbi_fuse_free(env, f);
    free(k);
}

Test(fuse, false_positive_rate_16)
{
    size_t n = 1000000;
    uint64_t *k = members(n, 16);
    bdbi_fuse *f = build(k, n, 16);
    double r = fp_rate(f, 2000000, 77);
    cr_log_info("16-bit, 1M keys: false-positive rate %.5f%%", r * 100);
    cr_assert_lt(r, 0.00005, "rate %f", r);
    bdbi_fuse_free(env, f);
    free(k);
}

/* Small filters use other segment shapes; their rate must not degrade. */
Test(fuse, false_positive_rate_small_filters)
{
    static const size_t sizes[] = {1, 10, 1000, 30000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        uint64_t *k = members(sizes[s], 5 + s);
        bdbi_fuse *f8 = build(k, sizes[s], 8), *f16 = build(k, sizes[s], 16);
        double r8 = fp_rate(f8, 1000000, 3), r16 = fp_rate(f16, 1000000, 4);
        cr_assert_lt(r8, 0.006, "n %zu: 8-bit rate %f", sizes[s], r8);
        cr_assert_gt(r8, 0.0, "n %zu", sizes[s]);
        cr_assert_lt(r16, 0.0001, "n %zu: 16-bit rate %f", sizes[s], r16);
        bdbi_fuse_free(env, f8);
        bdbi_fuse_free(env, f16);
        free(k);
    }
}

Test(fuse, bits_per_key)
{
    size_t n = 1000000;
    uint64_t *k = members(n, 12);
    static const double limit[] = {9.5, 19.0};
    for (int w = 0; w < 2; w++) {
        bdbi_fuse *f = build(k, n, widths[w]);
        double bpk = (double)bdbi_fuse_bytes(f) * 8 / (double)n;
        cr_log_info("%d-bit, 1M keys: %.3f bits per key", widths[w], bpk);
        cr_assert_leq(bpk, limit[w], "%d bits: %f bits per key", widths[w], bpk);
        cr_assert_geq(bpk, widths[w], "%d bits: %f bits per key", widths[w], bpk);
        bdbi_fuse_free(env, f);
    }
    free(k);
}

Test(fuse, every_key_twice)
{
    size_t n = 100000;
    uint64_t *k = members(n, 21), *twice = malloc(2 * n * sizeof *twice);
    cr_assert_not_null(twice);
    uint64_t s = 1;
    for (size_t i = 0; i < n; i++) twice[i] = twice[n + i] = k[i];
    for (size_t i = 2 * n - 1; i > 0; i--) {
        size_t j = splitmix(&s) % (i + 1);
        uint64_t t = twice[i];
        twice[i] = twice[j];
        twice[j] = t;
    }
    for (int w = 0; w < 2; w++) {
        bdbi_fuse *f = build(twice, 2 * n, widths[w]), *g = build(k, n, widths[w]);
        cr_assert_eq(misses(f, k, n), 0);
        /* sized for the distinct keys, not for the input */
        cr_assert_eq(bdbi_fuse_bytes(f), bdbi_fuse_bytes(g));
        cr_assert_lt(fp_rate(f, 1000000, 8), 0.006);
        bdbi_fuse_free(env, f);
        bdbi_fuse_free(env, g);
    }
    free(twice);
    free(k);
}

Test(fuse, all_keys_equal)
{
    static const size_t sizes[] = {2, 3, 1000, 1000000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        uint64_t *k = malloc(n * sizeof *k);
        cr_assert_not_null(k);
        for (size_t i = 0; i < n; i++) k[i] = 0x1234;
        for (int w = 0; w < 2; w++) {
            bdbi_fuse *f = build(k, n, widths[w]);
            cr_assert(bdbi_fuse_contains(f, 0x1234));
            cr_assert_lt(bdbi_fuse_bytes(f), 1024, "%zu bytes", bdbi_fuse_bytes(f));
            bdbi_fuse_free(env, f);
        }
        free(k);
    }
}

/* Distinct keys among which a few are repeated 200 to 300 times: the cells
 * of a repeated key then count past 255 together with other keys, which a
 * byte counter and an XOR of hashes could take for a cell with one key. */
Test(fuse, heavy_mixed_multiplicities)
{
    uint64_t s = 77;
    for (int trial = 0; trial < 20; trial++) {
        size_t distinct = 2000, heavy = 30, n = 0;
        uint64_t *d = members(distinct, 1000 + (uint64_t)trial);
        size_t *mult = malloc(distinct * sizeof *mult);
        cr_assert_not_null(mult);
        for (size_t i = 0; i < distinct; i++) {
            mult[i] = i < heavy ? 200 + splitmix(&s) % 101 : 1;
            n += mult[i];
        }
        uint64_t *k = malloc(n * sizeof *k);
        cr_assert_not_null(k);
        size_t at = 0;
        for (size_t i = 0; i < distinct; i++)
            for (size_t j = 0; j < mult[i]; j++) k[at++] = d[i];
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = splitmix(&s) % (i + 1);
            uint64_t t = k[i];
            k[i] = k[j];
            k[j] = t;
        }
        for (int w = 0; w < 2; w++) {
            bdbi_fuse *f = build(k, n, widths[w]);
            cr_assert_eq(misses(f, d, distinct), 0, "trial %d", trial);
            bdbi_fuse_free(env, f);
        }
        free(k);
        free(mult);
        free(d);
    }
}

Test(fuse, one_duplicate_among_many)
{
    size_t n = 5001;
    uint64_t *k = members(n, 33);
    k[4000] = k[17];
    for (int w = 0; w < 2; w++) {
        bdbi_fuse *f = build(k, n, widths[w]);
        cr_assert_eq(misses(f, k, n), 0);
        bdbi_fuse_free(env, f);
    }
    free(k);
}

Test(fuse, same_input_same_filter)
{
    size_t n = 10000;
    uint64_t *k = members(n, 3);
    bdbi_fuse *a = build(k, n, 8), *b = build(k, n, 8), *c = NULL;
    cr_assert_eq(bdbi_fuse_build(env, k, n, 8, 43, &c), 0);
    size_t len = bdbi_fuse_serialized_size(a);
    uint8_t *x = malloc(len), *y = malloc(len), *z = malloc(len);
    cr_assert(x && y && z);
    cr_assert_eq(bdbi_fuse_serialize(a, x, len), 0);
    cr_assert_eq(bdbi_fuse_serialize(b, y, len), 0);
    cr_assert_eq(bdbi_fuse_serialize(c, z, len), 0);
    cr_assert_eq(memcmp(x, y, len), 0);
    cr_assert_neq(memcmp(x, z, len), 0, "another seed hint gives another filter");
    free(x), free(y), free(z);
    bdbi_fuse_free(env, a), bdbi_fuse_free(env, b), bdbi_fuse_free(env, c);
    free(k);
}

Test(fuse, bad_arguments)
{
    uint64_t k[2] = {1, 2};
    bdbi_fuse *f = NULL;
    cr_assert_eq(bdbi_fuse_build(env, k, 2, 12, 0, &f), BDB_EINVAL);
    cr_assert_eq(bdbi_fuse_build(env, k, 2, 0, 0, &f), BDB_EINVAL);
    cr_assert_eq(bdbi_fuse_build(env, NULL, 2, 8, 0, &f), BDB_EINVAL);
    cr_assert_eq(bdbi_fuse_build(env, k, BDBI_FUSE_MAX_KEYS + 1, 8, 0, &f), BDB_EINVAL);
    cr_assert_eq(bdbi_fuse_build(env, k, 2, 8, 0, NULL), BDB_EINVAL);
    cr_assert_null(f);
    f = build(k, 2, 16);
    uint8_t buf[64];
    size_t len = bdbi_fuse_serialized_size(f);
    cr_assert_lt(len, sizeof buf);
    cr_assert_eq(bdbi_fuse_serialize(f, buf, len - 1), BDB_EINVAL);
    cr_assert_eq(bdbi_fuse_serialize(f, buf, len), 0);
    cr_assert_eq(bdbi_fuse_deserialize(env, NULL, len, &f), BDB_EINVAL);
    bdbi_fuse_free(env, f);
    bdbi_fuse_free(env, NULL);
}

/* ---- serialized form ------------------------------------------------------ */

static uint8_t *serialize(const bdbi_fuse *f, size_t *len)
{
    *len = bdbi_fuse_serialized_size(f);
    uint8_t *b = malloc(*len);
    cr_assert_not_null(b);
    cr_assert_eq(bdbi_fuse_serialize(f, b, *len), 0);
    return b;
}

Test(fuse, round_trip)
{
    static const size_t sizes[] = {0, 1, 1000, 100000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        for (int w = 0; w < 2; w++) {
            size_t n = sizes[s];
            uint64_t *k = members(n, 7 * n + (uint64_t)w);
            bdbi_fuse *f = build(k, n, widths[w]);
            size_t len;
            uint8_t *b = serialize(f, &len);
            /* a cell per key at least, and nothing but cells after the header */
            cr_assert_geq(len, BDBI_FUSE_HEADER_SIZE + n * (size_t)(widths[w] / 8));
            cr_assert_eq((len - BDBI_FUSE_HEADER_SIZE) % (size_t)(widths[w] / 8), 0);
            /* a view needs no alignment: read it from an odd address */
            uint8_t *odd = malloc(len + 1);
            cr_assert_not_null(odd);
            memcpy(odd + 1, b, len);
            bdbi_fuse *g = NULL, *v = NULL;
            cr_assert_eq(bdbi_fuse_deserialize(env, b, len, &g), 0, "%s", bdb_errmsg());
            cr_assert_eq(bdbi_fuse_view(env, odd + 1, len, &v), 0, "%s", bdb_errmsg());
            cr_assert_eq(bdbi_fuse_fp_bits(g), widths[w]);
            cr_assert_eq(bdbi_fuse_bytes(g), bdbi_fuse_bytes(f));
            cr_assert_eq(misses(g, k, n), 0);
            cr_assert_eq(misses(v, k, n), 0);
            uint64_t seed = 11;
            for (int i = 0; i < 200000; i++) {
                uint64_t x = splitmix(&seed) | 1;
                int a = bdbi_fuse_contains(f, x);
                cr_assert_eq(bdbi_fuse_contains(g, x), a);
                cr_assert_eq(bdbi_fuse_contains(v, x), a);
            }
            size_t len2;
            uint8_t *b2 = serialize(g, &len2);
            cr_assert_eq(len2, len);
            cr_assert_eq(memcmp(b, b2, len), 0);
            free(b2);
            free(odd);
            free(b);
            bdbi_fuse_free(env, v);
            bdbi_fuse_free(env, g);
            bdbi_fuse_free(env, f);
            free(k);
        }
    }
}

/* Loads `len` bytes from an allocation of exactly that size, so that ASan
 * reports any read past the end. */
static int load_exact(const uint8_t *b, size_t len, bdbi_fuse **out)
{
    uint8_t *c = malloc(len ? len : 1);
    cr_assert_not_null(c);
    memcpy(c, b, len);
    int rc = bdbi_fuse_deserialize(env, c, len, out);
    if (rc == 0) {
        /* queries of a loaded filter stay inside it */
        uint64_t s = 5;
        for (int i = 0; i < 1000; i++) (void)bdbi_fuse_contains(*out, splitmix(&s));
    }
    free(c);
    return rc;
}

static void hostile(size_t n, int bits)
{
    uint64_t *k = members(n, 100 + n);
    bdbi_fuse *f = build(k, n, bits), *g = NULL;
    size_t len;
    uint8_t *b = serialize(f, &len);
    for (size_t cut = 0; cut < len; cut++)
        cr_assert_eq(load_exact(b, cut, &g), BDB_ECORRUPT, "n %zu, %d bits, %zu of %zu bytes", n,
                     bits, cut, len);
    uint8_t *longer = calloc(1, len + 8);
    cr_assert_not_null(longer);
    memcpy(longer, b, len);
    for (size_t extra = 1; extra <= 8; extra++)
        cr_assert_eq(load_exact(longer, len + extra, &g), BDB_ECORRUPT);
    free(longer);
    for (size_t bit = 0; bit < 8 * len; bit++) {
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int rc = load_exact(b, len, &g);
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        size_t at = bit / 8;
        if (at >= 8 && at < 16) {
            /* the seed: any value is a valid filter, just another one */
            cr_assert_eq(rc, 0, "seed bit %zu: %s", bit, bdb_errmsg());
        } else if (at < BDBI_FUSE_HEADER_SIZE) {
            cr_assert_eq(rc, BDB_ECORRUPT, "n %zu, %d bits: header bit %zu flipped, rc %d", n, bits,
                         bit, rc);
            cr_assert_str_neq(bdb_errmsg(), "");
        } else {
            /* fingerprints are not checked: the index file's checksum is */
            cr_assert_eq(rc, 0, "fingerprint bit %zu", bit);
        }
        if (rc == 0) bdbi_fuse_free(env, g);
    }
    free(b);
    bdbi_fuse_free(env, f);
    free(k);
}

Test(fuse, hostile_truncations_and_bit_flips)
{
    static const size_t sizes[] = {0, 1, 10};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        hostile(sizes[s], 8);
        hostile(sizes[s], 16);
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t index_peak(void)
{
    bdb_stats st;
    cr_assert_eq(bdb_env_stats(env, &st), 0);
    return st.mem[BDB_MEM_INDEX].peak_bytes;
}

/* Headers that promise huge filters are refused before anything of their
 * size is allocated; so are wrong magic, version, width and arity. */
Test(fuse, hostile_headers)
{
    uint64_t k[10];
    uint64_t s = 1;
    for (int i = 0; i < 10; i++) k[i] = splitmix(&s);
    bdbi_fuse *f = build(k, 10, 16), *g = NULL;
    size_t len;
    uint8_t *good = serialize(f, &len);
    bdbi_fuse_free(env, f);
    uint8_t *b = malloc(len);
    cr_assert_not_null(b);
    uint64_t peak = index_peak();

    struct {
        size_t at;
        uint8_t v;
    } bytes[] = {{0, 'b'}, {3, 0}, {4, 0}, {4, 2}, {4, 255}, {5, 0},  {5, 9},   {5, 32},
                 {5, 255}, {6, 2}, {6, 4}, {7, 0}, {7, 1},   {7, 19}, {7, 255}, {31, 1}};
    for (size_t i = 0; i < sizeof bytes / sizeof *bytes; i++) {
        memcpy(b, good, len);
        b[bytes[i].at] = bytes[i].v;
        cr_assert_eq(bdbi_fuse_deserialize(env, b, len, &g), BDB_ECORRUPT, "byte %zu = %u",
                     bytes[i].at, bytes[i].v);
    }
    /* segment counts and lengths that overflow 32 bits, and consistent
     * headers whose cells are not in the buffer */
    struct {
        uint8_t log2;
        uint32_t segs, cells;
    } shapes[] = {
        {18, UINT32_MAX, 0},
        {18, UINT32_MAX, UINT32_MAX},
        {18, (1u << 14) - 2, 0},                           /* (segs + 2) << 18 = 2^32 */
        {18, (1u << 14) - 3, UINT32_MAX - (1u << 18) + 1}, /* 2^32 - 2^18: consistent */
        {2, 1u << 29, UINT32_MAX - 7},
        {2, (1u << 30) - 2, UINT32_MAX - 7}, /* consistent: 2^32 - 8 */
        {0, 0, UINT32_MAX},
        {0, 1, 3},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        memcpy(b, good, len);
        b[7] = shapes[i].log2;
        put32(b + 16, shapes[i].segs);
        put32(b + 20, shapes[i].cells);
        cr_assert_eq(bdbi_fuse_deserialize(env, b, len, &g), BDB_ECORRUPT, "shape %zu", i);
        cr_assert_eq(bdbi_fuse_view(env, b, len, &g), BDB_ECORRUPT, "shape %zu", i);
    }
    /* absurd lengths for a real buffer: only the header is read */
    cr_assert_eq(bdbi_fuse_deserialize(env, good, SIZE_MAX, &g), BDB_ECORRUPT);
    cr_assert_eq(bdbi_fuse_deserialize(env, good, len * 1000, &g), BDB_ECORRUPT);
    cr_assert_eq(index_peak(), peak, "a refused header allocated memory");
    free(b);
    free(good);
}

/* ---- concurrency and allocation failures ----------------------------------- */

struct reader {
    const bdbi_fuse *f;
    const uint64_t *k;
    size_t n, misses;
};

static void *read_all(void *arg)
{
    struct reader *r = arg;
    for (int round = 0; round < 5; round++) r->misses += misses(r->f, r->k, r->n);
    return NULL;
}

Test(fuse, concurrent_readers)
{
    size_t n = 200000;
    uint64_t *k = members(n, 4);
    bdbi_fuse *f = build(k, n, 16);
    pthread_t t[4];
    struct reader r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (struct reader){.f = f, .k = k, .n = n};
        cr_assert_eq(pthread_create(&t[i], NULL, read_all, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(pthread_join(t[i], NULL), 0);
        cr_assert_eq(r[i].misses, 0);
    }
    bdbi_fuse_free(env, f);
    free(k);
}

/* Every allocation of a build (including the duplicate-removal path) and of
 * a load fails once; each failure returns BDB_ENOMEM and leaks nothing,
 * which bdb_env_close() checks. */
Test(fuse, every_allocation_failure)
{
    bdb_env *menv;
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 1;
    o.use_jemalloc_arena = 0; /* malloc, so that alloc_fail.h can fail it */
    cr_assert_eq(bdb_env_open(&o, &menv), 0, "%s", bdb_errmsg());
    size_t n = 1000;
    uint64_t *k = members(n, 9);
    k[500] = k[10]; /* forces the duplicate-removal path */
    long failures = 0;
    for (int w = 0; w < 2; w++) {
        bdbi_fuse *f = NULL;
        for (long nth = 1;; nth++) {
            alloc_fail_arm(nth);
            int rc = bdbi_fuse_build(menv, k, n, widths[w], 1, &f);
            int hit = alloc_fail_fired();
            alloc_fail_disarm();
            if (!hit) {
                cr_assert_eq(rc, 0, "%s", bdb_errmsg());
                break;
            }
            failures++;
            cr_assert_eq(rc, BDB_ENOMEM, "allocation %ld: rc %d", nth, rc);
        }
        cr_assert_eq(misses(f, k, n), 0);
        size_t len;
        uint8_t *b = serialize(f, &len);
        for (int view = 0; view < 2; view++) {
            bdbi_fuse *g = NULL;
            alloc_fail_arm(1);
            int rc =
                view ? bdbi_fuse_view(menv, b, len, &g) : bdbi_fuse_deserialize(menv, b, len, &g);
            cr_assert(alloc_fail_fired());
            alloc_fail_disarm();
            cr_assert_eq(rc, BDB_ENOMEM);
        }
        free(b);
        bdbi_fuse_free(menv, f);
    }
    cr_assert_geq(failures, 10, "allocations failed: %ld", failures);
    cr_assert_eq(bdb_env_close(menv), 0, "leak: %s", bdb_errmsg());
    free(k);
}
