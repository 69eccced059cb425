/* Bounded index building: the bag of key hashes that spills to a scratch
 * file (lib/index/hspill.c), the partitioned filter built from it
 * (lib/index/fuse_set.c), and the builder using both. The facts checked:
 * read back by partition, the bag gives every hash it was given, each in
 * its partition; a spilled build gives the index an unspilled one does;
 * spilling leaves no file; a failed spill is an error naming the
 * directory; and the builder's peak memory does not grow with the file
 * beyond the index it returns. */
#include "config.h"

#include <errno.h>

#include "index/fuse_set.h"
#include "index/hspill.h"
#include "index/index_impl.h"
#include "index_fixture.h"

#include "../core/fault.h"

TestSuite(spill, .init = fixture_setup, .fini = fixture_teardown);

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Entries of `dir` other than . and .. */
static int dir_entries(const char *d)
{
    DIR *h = opendir(d);
    cr_assert_not_null(h);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(h)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(h);
    return n;
}

/* Reads the bag back by `bits` and checks that the partitions, in order,
 * hold exactly the multiset want[0..n) (sorted), each hash in its own. */
static void check_partitions(bdbi_hspill *s, unsigned bits, const uint64_t *want, size_t n)
{
    cr_assert_eq(bdbi_hspill_begin(s, bits), 0, "%s", bdb_errmsg());
    uint64_t *got = malloc((n + 1) * 8);
    size_t m = 0, parts = 0;
    const uint64_t *k;
    size_t kn;
    int rc;
    while ((rc = bdbi_hspill_next(s, &k, &kn)) == 1) {
        for (size_t i = 0; i < kn; i++) {
            uint64_t top = bits ? k[i] >> (64 - bits) : 0;
            cr_assert_eq(top, parts, "hash %zu of partition %zu has top bits %llu", i, parts,
                         (unsigned long long)top);
            cr_assert_lt(m, n + 1);
            got[m++] = k[i];
        }
        parts++;
    }
    cr_assert_eq(rc, 0, "%s", bdb_errmsg());
    cr_assert_eq(parts, (size_t)1 << bits);
    cr_assert_eq(m, n);
    qsort(got, m, 8, u64_cmp);
    cr_assert_eq(memcmp(got, want, n * 8), 0, "the partitions do not hold what was added");
    free(got);
}

Test(spill, partitions_hold_what_was_added)
{
    size_t n = 100000;
    uint64_t *h = malloc(n * 8), seed = 42;
    for (size_t i = 0; i < n; i++) h[i] = splitmix(&seed);
    for (size_t i = 0; i < n; i += 97) h[i] = h[i / 2]; /* duplicates stay duplicates */
    uint64_t *want = malloc(n * 8);
    memcpy(want, h, n * 8);
    qsort(want, n, 8, u64_cmp);
    static const unsigned bits[] = {0, 1, 3, 7, 12, 16};
    for (size_t b = 0; b < sizeof bits / sizeof *bits; b++) {
        for (int spilled = 0; spilled < 2; spilled++) {
            bdbi_hspill *s;
            cr_assert_eq(bdbi_hspill_new(env, spilled ? dir : NULL, 1000, &s), 0);
            bdbi_hspill_allow(s);
            for (size_t i = 0; i < n; i++) cr_assert_eq(bdbi_hspill_add(s, h[i]), 0);
            cr_assert_eq(bdbi_hspill_count(s), n);
            size_t kn;
            /* spilled: the hashes left memory (runs of 1000), and the
             * scratch file has no name */
            cr_assert_eq(bdbi_hspill_keys(s, &kn) == NULL, spilled);
            cr_assert_eq(kn, n);
            cr_assert_eq(dir_entries(dir), 0);
            check_partitions(s, bits[b], want, n);
            bdbi_hspill_free(s);
        }
    }
    free(h);
    free(want);
}

Test(spill, order_kept_until_allowed)
{
    bdbi_hspill *s;
    cr_assert_eq(bdbi_hspill_new(env, dir, 10, &s), 0);
    for (uint64_t i = 0; i < 1000; i++) cr_assert_eq(bdbi_hspill_add(s, ~i), 0);
    size_t n;
    const uint64_t *k = bdbi_hspill_keys(s, &n);
    cr_assert_not_null(k, "spilled before it was allowed to");
    cr_assert_eq(n, 1000);
    for (uint64_t i = 0; i < 1000; i++) cr_assert_eq(k[i], ~i);
    bdbi_hspill_allow(s);
    cr_assert_eq(bdbi_hspill_add(s, 7), 0);
    cr_assert_null(bdbi_hspill_keys(s, &n), "not spilled once allowed and over its memory");
    cr_assert_eq(n, 1001);
    /* reading back twice is refused */
    cr_assert_eq(bdbi_hspill_begin(s, 2), 0);
    cr_assert_eq(bdbi_hspill_begin(s, 2), BDB_EINVAL);
    bdbi_hspill_free(s);
    /* more than 16 bits cannot be read back: runs are ordered by 16 */
    cr_assert_eq(bdbi_hspill_new(env, NULL, 0, &s), 0);
    cr_assert_eq(bdbi_hspill_begin(s, 17), BDB_EINVAL);
    bdbi_hspill_free(s);
}

/* A failed scratch open or write is an error naming the directory, from
 * the add that spilled, and every later add; nothing leaks (the fixture's
 * env close checks). */
Test(spill, failed_spill_is_an_error)
{
    static fault_plan plan;
    for (int op = 0; op < 2; op++) {
        fault_plan_init(&plan);
        fault_arm(&plan, op ? BDB_FS_WRITE : BDB_FS_OPEN, op ? ENOSPC : EACCES, op ? 2 : 1,
                  FAULT_ONCE, NULL);
        bdb_env_options o;
        bdb_env_options_init(&o);
        o.threads = 1;
        o.fault_hook = fault_hook;
        o.fault_ctx = &plan;
        bdb_env *fe;
        cr_assert_eq(bdb_env_open(&o, &fe), 0);
        bdbi_hspill *s;
        cr_assert_eq(bdbi_hspill_new(fe, dir, 100, &s), 0);
        bdbi_hspill_allow(s);
        int rc = 0;
        uint64_t i = 0;
        while (i < 100000 && !(rc = bdbi_hspill_add(s, i * 0x9e3779b97f4a7c15ull))) i++;
        cr_assert_neq(rc, 0, "no error from a failed %s", op ? "write" : "open");
        cr_assert(strstr(bdb_errmsg(), dir), "the message does not name %s: %s", dir, bdb_errmsg());
        cr_assert_eq(i, op ? 200 : 100, "failed at hash %llu", (unsigned long long)i);
        if (op) cr_assert_eq(bdbi_hspill_add(s, 1), rc, "a poisoned scratch file wrote again");
        bdbi_hspill_free(s);
        cr_assert_eq(bdb_env_close(fe), 0, "%s", bdb_errmsg());
    }
}

/* ---- the filter set -------------------------------------------------- */

static bdbi_fuse_set *set_of(const uint64_t *h, size_t n, size_t part_keys, uint64_t seed)
{
    bdbi_hspill *s;
    cr_assert_eq(bdbi_hspill_new(env, dir, 700, &s), 0);
    bdbi_hspill_allow(s);
    for (size_t i = 0; i < n; i++) cr_assert_eq(bdbi_hspill_add(s, h[i]), 0);
    bdbi_fuse_set *f;
    cr_assert_eq(bdbi_fuse_set_build(env, s, part_keys, seed, &f), 0, "%s", bdb_errmsg());
    bdbi_hspill_free(s);
    return f;
}

Test(spill, filter_set)
{
    size_t n = 50000;
    uint64_t *h = malloc(n * 8), seed = 7;
    for (size_t i = 0; i < n; i++) h[i] = splitmix(&seed);
    bdbi_fuse_set *a = set_of(h, n, 1000, 99);
    /* 50000 >> 5 <= 1000 < 50000 >> 4 */
    cr_assert_eq(bdbi_fuse_set_bits(a), 6);
    for (size_t i = 0; i < n; i++) cr_assert(bdbi_fuse_set_contains(a, h[i]), "false negative");
    size_t fp = 0, tries = 1000000;
    for (size_t i = 0; i < tries; i++) fp += (size_t)bdbi_fuse_set_contains(a, splitmix(&seed));
    /* 16-bit fingerprints: 1.5e-5, so about 15 of a million */
    cr_assert_lt(fp, 60, "%zu false positives in %zu", fp, tries);
    /* the order the keys come in does not change the set */
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint64_t t = h[i];
        h[i] = h[i + 1];
        h[i + 1] = t;
    }
    bdbi_fuse_set *b = set_of(h, n, 1000, 99);
    cr_assert(bdbi_fuse_set_equal(env, a, b));
    bdbi_fuse_set_free(env, b);
    b = set_of(h, n, 1000, 98);
    cr_assert_not(bdbi_fuse_set_equal(env, a, b), "another seed, the same set");
    bdbi_fuse_set_free(env, b);

    /* round trip, then every truncation and a flip of every byte of the
     * header and of each partition's length is refused or, for bits the
     * checks cannot see (fingerprints), still loads */
    size_t len = bdbi_fuse_set_serialized_size(a);
    uint8_t *buf = malloc(len);
    cr_assert_eq(bdbi_fuse_set_serialize(a, buf, len), 0);
    cr_assert_eq(bdbi_fuse_set_serialize(a, buf, len - 1), BDB_EINVAL);
    cr_assert_eq(bdbi_fuse_set_deserialize(env, buf, len, &b), 0, "%s", bdb_errmsg());
    cr_assert(bdbi_fuse_set_equal(env, a, b));
    bdbi_fuse_set_free(env, b);
    for (size_t cut = 0; cut < len; cut += cut < 4096 ? 1 : 997) {
        b = (bdbi_fuse_set *)1;
        cr_assert_eq(bdbi_fuse_set_deserialize(env, buf, cut, &b), BDB_ECORRUPT, "cut %zu", cut);
        cr_assert_null(b);
    }
    for (size_t at = 0; at < BDBI_FUSE_SET_HEADER + 8; at++) {
        buf[at] ^= 0x40;
        b = (bdbi_fuse_set *)1;
        cr_assert_eq(bdbi_fuse_set_deserialize(env, buf, len, &b), BDB_ECORRUPT, "byte %zu", at);
        buf[at] ^= 0x40;
    }
    /* 16 bits claimed in a short buffer: refused before 2^16 descriptors */
    buf[5] = 16;
    cr_assert_eq(bdbi_fuse_set_deserialize(env, buf, len, &b), BDB_ECORRUPT);
    free(buf);
    bdbi_fuse_set_free(env, a);
    free(h);
}

/* ---- the builder ----------------------------------------------------- */

/* Spilled or not, built or scanned, saved and loaded: one index, which
 * finds every record. Live files spill only once they are past the cutoff,
 * then with everything they held. */
Test(spill, spilled_index_is_the_same)
{
    for (int hot = 0; hot < 2; hot++) {
        dataset d;
        ds_random(&d, hot, 23, 30000, 5 + (uint64_t)hot);
        bdbi_index_params p = {.hot = hot,
                               .page_exponent = 12,
                               .cutoff_bytes = hot ? 0 : d.len / 3,
                               .seed = 0xabc,
                               .part_keys = 1000};
        bdbi_index *mem = by_builder(&d, &p);
        cr_assert_gt(bdbi_fuse_set_bits(mem->filter), 3);
        p.spill_dir = dir;
        p.spill_mem_keys = 600;
        bdbi_index *sp = by_builder(&d, &p), *sc;
        cr_assert(bdbi_index_equal(mem, sp), "spilled and in-memory builds differ");
        cr_assert_eq(bdbi_index_build_scan(env, &p, d.data, d.len, d.path, &sc), 0, "%s",
                     bdb_errmsg());
        cr_assert(bdbi_index_equal(sp, sc), "spilled build and scan differ");
        char path[300];
        snprintf(path, sizeof path, "%s/s.index", dir);
        cr_assert_eq(bdbi_index_save(env, sp, path, d.len, d.xxh, 1), 0, "%s", bdb_errmsg());
        bdbi_index *ld;
        cr_assert_eq(bdbi_index_load(env, path, &p, d.len, d.xxh, &ld), 0, "%s", bdb_errmsg());
        cr_assert(bdbi_index_equal(sp, ld), "loaded index differs");
        unlink(path);
        for (size_t i = 0; i < d.n; i++) {
            bdbi_probe k = {.key = d.it[i].key,
                            .key_len = d.it[i].klen,
                            .sk = d.it[i].sk,
                            .sk_len = d.it[i].sklen};
            const uint8_t *rec;
            size_t rl;
            uint64_t off;
            cr_assert_eq(bdbi_index_lookup(ld, d.data, d.len, &k, NULL, &rec, &rl, &off), 1,
                         "record %zu not found", i);
            cr_assert_eq(off, d.it[i].off);
        }
        /* a single filter for the same keys (default partition size)
         * answers every present key too, with a different layout */
        p.part_keys = 0;
        bdbi_index *one = by_builder(&d, &p);
        cr_assert_eq(bdbi_fuse_set_bits(one->filter), 0);
        cr_assert_not(bdbi_index_equal(one, sp));
        bdbi_index_free(env, one);
        bdbi_index_free(env, mem);
        bdbi_index_free(env, sp);
        bdbi_index_free(env, sc);
        bdbi_index_free(env, ld);
        ds_free(&d);
    }
}

/* Builds the index of a hot file of n HOT_ARCHIVE_LIVE account keys in a
 * fresh environment and returns its peak index memory, and through *kept
 * what the finished index holds. */
static uint64_t builder_peak(size_t n, const char *spill, uint64_t *kept)
{
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 1;
    bdb_env *e;
    cr_assert_eq(bdb_env_open(&o, &e), 0);
    bdbi_index_params p = {.hot = 1, .page_exponent = 14, .seed = 3, .spill_dir = spill};
    bdbi_index_builder *b;
    cr_assert_eq(bdbi_index_builder_new(e, &p, &b), 0);
    uint8_t rec[44] = {0, 0, 0, BDB_HOT_LIVE}, sk[BDB_SORT_KEY_BOUND(40)];
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        /* ACCOUNT, ED25519, a key ascending in i */
        for (int j = 0; j < 8; j++)
            rec[12 + j] = (uint8_t)((uint64_t)i * 2654435761u >> (56 - 8 * j));
        size_t skl;
        cr_assert_eq(bdb_sort_key(rec + 4, 40, sk, sizeof sk, &skl), 0, "%s", bdb_errmsg());
        cr_assert_eq(bdbi_index_builder_add(b, off, rec, sizeof rec, sk, skl), 0, "%zu: %s", i,
                     bdb_errmsg());
        off += 4 + sizeof rec;
    }
    bdbi_index *x;
    cr_assert_eq(bdbi_index_builder_finish(b, off, &x), 0, "%s", bdb_errmsg());
    *kept = bdbi_index_bytes(x);
    bdb_stats st;
    bdb_env_stats(e, &st);
    bdbi_index_free(e, x);
    cr_assert_eq(bdb_env_close(e), 0);
    return st.mem[BDB_MEM_INDEX].peak_bytes;
}

/* The builder's memory beyond the index it returns stays flat from 300k to
 * 1.2M keys when it spills (a run in memory, one partition and its filter
 * construction: a few MiB); kept in memory, the hashes alone add 8 bytes a
 * key, 7.2 MB here, which this test would catch. */
Test(spill, builder_memory_is_bounded, .timeout = 120)
{
    uint64_t kept_s, kept_l, kept_m;
    uint64_t small = builder_peak(300000, dir, &kept_s);
    uint64_t large = builder_peak(1200000, dir, &kept_l);
    uint64_t inmem = builder_peak(1200000, NULL, &kept_m);
    cr_log_info("peak index memory: %llu at 300k keys, %llu at 1.2M (index %llu, %llu); "
                "%llu at 1.2M unspilled",
                (unsigned long long)small, (unsigned long long)large, (unsigned long long)kept_s,
                (unsigned long long)kept_l, (unsigned long long)inmem);
    uint64_t transient_s = small - kept_s, transient_l = large - kept_l;
    cr_assert_lt(transient_l, transient_s + (1u << 20),
                 "the builder's own memory grew from %llu to %llu bytes",
                 (unsigned long long)transient_s, (unsigned long long)transient_l);
    cr_assert_lt(transient_l, 12u << 20, "%llu bytes beyond the index",
                 (unsigned long long)transient_l);
    cr_assert_gt(inmem - kept_m, transient_l + (6u << 20),
                 "keeping the hashes in memory should cost 8 bytes a key");
}
