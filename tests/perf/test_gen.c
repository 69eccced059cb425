/* The workload generator (perf/gen.h) and its archives: every entry of a
 * 50k-entry state is valid, derives the key it was generated for, and
 * comes out of the iterator in stellar-core's order (checked by the
 * independent comparator and by the bucket writer); TTL keys are the
 * SHA-256 of their owners' keys; absent keys are in no version of the
 * state; an archive of a state imports (bdb_archive_import) into a store
 * that holds exactly the generated live entries, in their newest
 * versions, and none of the deleted or absent keys; the same seed gives
 * the same archive byte for byte, another seed another archive. */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "bucketdb/archive.h"
#include "bucketdb/bucket.h"
#include "bucketdb/ledger.h"
#include "bucketdb/list.h"

#include "perf/gen.h"
#include "perf/gen_archive.h"
#include "perf/gen_layout.h"
#include "perf/gen_pgzip.h"

#include "../file_helpers.h"

static char g_dir[64];
static bdb_env *g_env;

static void setup(void)
{
    tf_tmpdir(g_dir, sizeof g_dir, "gen");
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 2;
    cr_assert_eq(bdb_env_open(&o, &g_env), 0, "%s", bdb_errmsg());
}

static void teardown(void)
{
    if (g_env) bdb_env_close(g_env);
    tf_rmrf(g_dir);
}

TestSuite(gen, .init = setup, .fini = teardown, .timeout = 60);

/* A path under the test's directory; four live at once (one call's arguments). */
static const char *P(const char *rel)
{
    return tf_path(g_dir, rel);
}

/* ---- keys seen, to prove absent keys absent ---- */

typedef struct keyset {
    uint64_t *h;
    size_t n, cap;
} keyset;

static uint64_t key_hash(const uint8_t *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ k[i]) * 1099511628211ull;
    return h;
}

static void keyset_add(keyset *s, const uint8_t *k, size_t n)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->h = realloc(s->h, s->cap * sizeof *s->h);
        cr_assert_not_null(s->h);
    }
    s->h[s->n++] = key_hash(k, n);
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int keyset_has(const keyset *s, const uint8_t *k, size_t n)
{
    uint64_t h = key_hash(k, n);
    return bsearch(&h, s->h, s->n, sizeof h, u64_cmp) != NULL;
}

/* ---- the entry model ---- */

static uint8_t g_rec[GEN_ENTRY_MAX + 4];

static size_t record(const gen *g, int32_t rtype, const gen_item *it, uint32_t version)
{
    uint32_t t = (uint32_t)rtype;
    g_rec[0] = (uint8_t)(t >> 24), g_rec[1] = (uint8_t)(t >> 16);
    g_rec[2] = (uint8_t)(t >> 8), g_rec[3] = (uint8_t)t;
    if (rtype == BDB_DEADENTRY) return 4 + gen_key(g, it->type, it->slot, g_rec + 4);
    size_t n = gen_entry(g, it->type, it->slot, version, 1000 + version, g_rec + 4, GEN_ENTRY_MAX);
    cr_assert_leq(n, GEN_ENTRY_MAX);
    return 4 + n;
}

Test(gen, entries_valid_in_order_ttl_and_absent_keys)
{
    gen *g = gen_new(7, 50000);
    cr_assert_not_null(g);
    uint64_t sum = 0;
    for (int t = 0; t < GEN_TYPES; t++) {
        cr_assert_gt(gen_count(g, t), 0, "type %d", t);
        sum += gen_count(g, t);
    }
    cr_assert_eq(sum, 50000);
    cr_assert_eq(gen_count(g, BDB_TTL),
                 gen_count(g, BDB_CONTRACT_DATA) + gen_count(g, BDB_CONTRACT_CODE));
    bdb_bucket_writer_options wo;
    bdb_bucket_writer_options_init(&wo);
    wo.protocol = 23;
    wo.fsync = 0;
    bdb_bucket_writer *w;
    cr_assert_eq(bdb_bucket_writer_open(g_env, g_dir, &wo, &w), 0, "%s", bdb_errmsg());
    gen_iter *iter;
    cr_assert_eq(gen_iter_open(g, GEN_ITER_DELETED, g_dir, &iter), 0);
    gen_item it;
    uint8_t prev[GEN_KEY_MAX], key[GEN_KEY_MAX], derived[GEN_ENTRY_MAX];
    size_t prev_len = 0;
    uint64_t live[GEN_TYPES] = {0}, deleted = 0, items = 0;
    keyset seen = {0};
    int rc;
    while ((rc = gen_iter_next(iter, &it)) == 1) {
        size_t kl = gen_key(g, it.type, it.slot, key);
        cr_assert_eq(bdb_ledger_key_check(key, kl), 0, "%s", bdb_errmsg());
        if (prev_len) { /* strictly increasing, by the structural comparator */
            int order;
            cr_assert_eq(bdb_ledger_key_compare(prev, prev_len, key, kl, &order), 0);
            cr_assert_eq(order, -1, "item %llu (type %d slot %llu) out of order",
                         (unsigned long long)items, it.type, (unsigned long long)it.slot);
        }
        memcpy(prev, key, kl);
        prev_len = kl;
        keyset_add(&seen, key, kl);
        /* both versions are valid entries of this key, and differ */
        uint8_t v0[GEN_ENTRY_MAX];
        size_t n0 = gen_entry(g, it.type, it.slot, 0, 5, v0, sizeof v0);
        for (uint32_t v = 0; v < 2; v++) {
            size_t n = record(g, BDB_LIVEENTRY, &it, v) - 4, dl;
            cr_assert_eq(bdb_ledger_entry_check(g_rec + 4, n), 0, "type %d: %s", it.type,
                         bdb_errmsg());
            cr_assert_eq(bdb_ledger_entry_key(g_rec + 4, n, derived, sizeof derived, &dl), 0);
            cr_assert(dl == kl && !memcmp(derived, key, kl), "type %d: entry of another key",
                      it.type);
            /* nonces (void values) and most config settings never change */
            if (v == 1 && it.type != BDB_CONTRACT_DATA && it.type != BDB_CONFIG_SETTING)
                cr_assert(n != n0 || memcmp(g_rec + 8, v0 + 4, n - 4), "type %d: versions equal",
                          it.type);
        }
        if (it.type == BDB_TTL) { /* stellar-core's getTTLKey of the owner */
            uint8_t owner[GEN_KEY_MAX], ttl[BDB_TTL_KEY_LEN];
            uint64_t k = it.slot / 4, ncd = gen_count(g, BDB_CONTRACT_DATA);
            int ot = k < ncd ? BDB_CONTRACT_DATA : BDB_CONTRACT_CODE;
            size_t ol = gen_key(g, ot, GEN_SLOT(k < ncd ? k : k - ncd, it.slot % 4), owner);
            cr_assert_eq(bdb_ttl_key(owner, ol, ttl), 0);
            cr_assert(kl == BDB_TTL_KEY_LEN && !memcmp(ttl, key, kl));
        }
        int32_t rt = it.slot % 4 == GEN_LIVE ? BDB_INITENTRY : BDB_DEADENTRY;
        size_t rl = record(g, rt, &it, 1);
        cr_assert_eq(bdb_bucket_writer_put(w, g_rec, rl), 0, "type %d slot %llu: %s", it.type,
                     (unsigned long long)it.slot, bdb_errmsg());
        if (it.slot % 4 == GEN_LIVE)
            live[it.type]++;
        else
            deleted++;
        items++;
    }
    cr_assert_eq(rc, 0);
    gen_iter_close(iter);
    for (int t = 0; t < GEN_TYPES; t++)
        cr_assert_eq(live[t], gen_count(g, t), "type %d: %llu live of %llu", t,
                     (unsigned long long)live[t], (unsigned long long)gen_count(g, t));
    cr_assert(deleted > 200 && deleted < 1000, "about 1%% deleted: %llu",
              (unsigned long long)deleted);
    bdb_bucket_info info;
    cr_assert_eq(bdb_bucket_writer_finish(w, &info), 0, "%s", bdb_errmsg());
    cr_assert_eq(info.records, items + 1); /* and the METAENTRY */
    /* absent keys: valid, of every type, in no version of the state, and
     * valid entries can be made of them (new entries of a workload) */
    qsort(seen.h, seen.n, sizeof *seen.h, u64_cmp);
    int types_seen[GEN_TYPES] = {0};
    for (uint64_t j = 0; j < 20000; j++) {
        int t;
        uint64_t slot;
        size_t kl = gen_absent_key(g, j, key, &t, &slot), dl;
        cr_assert_eq(bdb_ledger_key_check(key, kl), 0, "%s", bdb_errmsg());
        cr_assert_not(keyset_has(&seen, key, kl), "absent key %llu (type %d) is in the state",
                      (unsigned long long)j, t);
        size_t n = gen_entry(g, t, slot, 0, 9, derived, sizeof derived);
        cr_assert_eq(bdb_ledger_entry_key(derived, n, prev, sizeof prev, &dl), 0,
                     "absent entry of type %d: %s", t, bdb_errmsg());
        cr_assert(dl == kl && !memcmp(prev, key, kl), "type %d: entry of another key", t);
        types_seen[t] = 1;
    }
    for (int t = 0; t < GEN_TYPES; t++) cr_assert(types_seen[t], "no absent key of type %d", t);
    free(seen.h);
    gen_free(g);
}

Test(gen, same_seed_same_entries)
{
    gen *a = gen_new(11, 20000), *b = gen_new(11, 20000), *c = gen_new(12, 20000);
    uint8_t x[GEN_ENTRY_MAX], y[GEN_ENTRY_MAX];
    int differ = 0;
    for (int t = 0; t < GEN_TYPES; t++)
        for (uint64_t k = 0; k < gen_count(a, t); k += 1 + gen_count(a, t) / 50) {
            size_t nx = gen_entry(a, t, GEN_SLOT(k, 0), 1, 77, x, sizeof x);
            size_t ny = gen_entry(b, t, GEN_SLOT(k, 0), 1, 77, y, sizeof y);
            cr_assert(nx == ny && !memcmp(x, y, nx), "type %d k %llu", t, (unsigned long long)k);
            ny = gen_entry(c, t, GEN_SLOT(k, 0), 1, 77, y, sizeof y);
            differ += nx != ny || memcmp(x, y, nx);
        }
    cr_assert_gt(differ, 0);
    gen_free(a), gen_free(b), gen_free(c);
}

/* ---- archives ---- */

static void make_archive(const char *rel, uint64_t seed, uint64_t n, gen_archive_report *r)
{
    gen_archive_opts o;
    gen_archive_opts_init(&o);
    o.entries = n;
    o.seed = seed;
    char out[1024];
    snprintf(out, sizeof out, "%s/%s", g_dir, rel);
    o.out = out;
    o.pgzip_min = 1 << 20; /* the deepest bucket in parallel blocks */
    cr_assert_eq(gen_archive_write(g_env, &o, r), 0, "%s", bdb_errmsg());
}

typedef struct counter {
    uint64_t n;
} counter;

static int count_entry(void *ctx, const bdb_list_entry *e)
{
    (void)e;
    ((counter *)ctx)->n++;
    return 0;
}

Test(gen, archive_imports_with_the_generated_state)
{
    const uint64_t N = 30000, seed = 3;
    gen_archive_report r;
    make_archive("arch", seed, N, &r);
    char has[BDB_ARCHIVE_PATH_MAX + 8] = "arch/";
    bdb_archive_has_path(GEN_ARCHIVE_LEDGER, has + 5);
    struct stat st;
    cr_assert_eq(stat(P(has), &st), 0, "the checkpoint's HAS %s", has);
    cr_assert_eq(stat(P("arch/" BDB_ARCHIVE_WELL_KNOWN), &st), 0);
    cr_assert_neq(stat(P("arch/.bdb-gen-tmp"), &st), 0, "the staging directory is removed");
    for (int b = 0; b < GEN_BUCKETS; b++) /* a real list's shape: level 10's snap alone empty */
        cr_assert_eq(r.buckets[b].file, b != GEN_BUCKETS - 1, "bucket %d", b);
    cr_assert_gt(r.buckets[20].records[BDB_LIVEENTRY] + r.buckets[20].records[BDB_INITENTRY],
                 N * 8 / 10, "most entries in level 10");
    cr_assert_eq(r.buckets[20].records[BDB_DEADENTRY], 0, "no tombstone in level 10");

    bdb_archive_options a;
    bdb_archive_options_init(&a);
    char root[1024];
    snprintf(root, sizeof root, "%s/arch", g_dir);
    a.root = root;
    bdb_list_options lo_opts;
    bdb_list_options_init(&lo_opts);
    lo_opts.fsync = 0;
    lo_opts.shards = 2;
    bdb_list *l = NULL;
    cr_assert_eq(bdb_archive_import(g_env, &a, 0, P("store"), &lo_opts, &l), 0, "import: %s",
                 bdb_errmsg());
    bdb_list_state s;
    cr_assert_eq(bdb_list_state_get(l, &s), 0);
    cr_assert_eq(s.ledger, GEN_ARCHIVE_LEDGER);
    cr_assert_eq(memcmp(s.live_hash, r.list_hash, 32), 0, "the imported list's hash");
    cr_assert_eq(memcmp(s.header_hash, r.header_hash, 32), 0, "the header's bucketListHash");

    bdb_list_view *v = bdb_list_view_acquire(l);
    gen *g = gen_new(seed, N);
    for (int t = 0; t < GEN_TYPES; t++) {
        counter c = {0};
        cr_assert_eq(bdb_list_scan_live_type(v, t, count_entry, &c), 0, "%s", bdb_errmsg());
        cr_assert_eq(c.n, gen_count(g, t), "type %s: %llu live, generated %llu",
                     bdb_entry_type_name(t), (unsigned long long)c.n,
                     (unsigned long long)gen_count(g, t));
        cr_assert_eq(r.live[t], gen_count(g, t));
    }
    gen_layout lo;
    gen_layout_init(&lo, g, GEN_ARCHIVE_LEDGER);
    uint8_t key[GEN_KEY_MAX], want[GEN_ENTRY_MAX];
    uint64_t checked = 0, updated = 0, gone = 0;
    for (int t = 0; t < GEN_TYPES; t++)
        for (uint64_t k = 0; k < gen_count(g, t); k += 1 + (k % 7)) {
            gen_rec x;
            cr_assert(gen_layout_newest(&lo, t, GEN_SLOT(k, 0), &x));
            size_t kl = gen_key(g, t, GEN_SLOT(k, 0), key);
            size_t wl = gen_entry(g, t, GEN_SLOT(k, 0), x.version, x.ledger, want, sizeof want);
            bdb_list_entry e;
            cr_assert_eq(bdb_list_get(v, key, kl, &e), 1, "%s %llu not found: %s",
                         bdb_entry_type_name(t), (unsigned long long)k, bdb_errmsg());
            cr_assert(e.len == wl && !memcmp(e.data, want, wl), "%s %llu: not the newest version",
                      bdb_entry_type_name(t), (unsigned long long)k);
            cr_assert_eq(e.level * 2 + e.snap, x.bucket, "%s %llu: found in another bucket",
                         bdb_entry_type_name(t), (unsigned long long)k);
            checked++;
            updated += x.version == 1;
            if (gen_is_deleted(g, t, k)) { /* its deleted neighbour is gone */
                cr_assert_not(gen_layout_newest(&lo, t, GEN_SLOT(k, GEN_DELETED), &x));
                kl = gen_key(g, t, GEN_SLOT(k, GEN_DELETED), key);
                cr_assert_eq(bdb_list_get(v, key, kl, &e), 0, "deleted %s %llu found",
                             bdb_entry_type_name(t), (unsigned long long)k);
                gone++;
            }
        }
    cr_assert_gt(updated, checked / 100, "some keys found in their updated version");
    cr_assert_gt(gone, 10);
    for (uint64_t j = 0; j < 5000; j++) {
        int t;
        size_t kl = gen_absent_key(g, j, key, &t, NULL);
        bdb_list_entry e;
        cr_assert_eq(bdb_list_get(v, key, kl, &e), 0, "absent key %llu (%s) found",
                     (unsigned long long)j, bdb_entry_type_name(t));
    }
    bdb_list_view_release(v);
    gen_free(g);
    cr_assert_eq(bdb_list_close(l), 0, "%s", bdb_errmsg());
}

/* Files under a directory tree, for comparing two trees. */
static const char *g_tree_root, *g_tree_other;
static size_t g_tree_files;
static int g_tree_same;

static int same_bytes(const char *x, const char *y)
{
    FILE *a = fopen(x, "rb"), *b = fopen(y, "rb");
    int same = a && b;
    for (int c; same && (c = fgetc(a)) != EOF;) same = c == fgetc(b);
    same = same && fgetc(b) == EOF;
    if (a) fclose(a);
    if (b) fclose(b);
    return same;
}

static int visit(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)f;
    if (flag != FTW_F) return 0;
    g_tree_files++;
    if (g_tree_other) {
        char q[2048];
        snprintf(q, sizeof q, "%s%s", g_tree_other, p + strlen(g_tree_root));
        g_tree_same &= same_bytes(p, q);
    }
    return 0;
}

static size_t walk(const char *root, const char *other)
{
    g_tree_root = root, g_tree_other = other, g_tree_files = 0;
    cr_assert_eq(nftw(root, visit, 16, FTW_PHYS), 0);
    return g_tree_files;
}

/* Whether the directory trees a and b hold the same files, byte for byte. */
static int same_tree(const char *a, const char *b)
{
    g_tree_same = 1;
    size_t na = walk(a, b);
    cr_assert_gt(na, 3, "%s: not an archive", a);
    return g_tree_same && walk(b, NULL) == na;
}

Test(gen, same_seed_same_archive_bytes)
{
    gen_archive_report r1, r2, r3;
    make_archive("a1", 5, 20000, &r1);
    make_archive("a2", 5, 20000, &r2);
    make_archive("a3", 6, 20000, &r3);
    char a1[1024], a2[1024];
    snprintf(a1, sizeof a1, "%s/a1", g_dir);
    snprintf(a2, sizeof a2, "%s/a2", g_dir);
    cr_assert(same_tree(a1, a2), "two archives of one seed differ");
    cr_assert_eq(memcmp(r1.list_hash, r2.list_hash, 32), 0);
    cr_assert_eq(r1.gz_bytes, r2.gz_bytes);
    snprintf(a2, sizeof a2, "%s/a3", g_dir);
    cr_assert_not(same_tree(a1, a2), "another seed, the same archive");
    cr_assert_neq(memcmp(r1.list_hash, r3.list_hash, 32), 0);
}

/* ---- parallel gzip ---- */

/* One gzip member (zlib's inflate with gzip framing, which checks the
 * CRC-32 and length of the trailer) whose content is `want`. */
static void expect_gunzips_to(const uint8_t *gz, size_t gz_len, const uint8_t *want, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    cr_assert_eq(inflateInit2(&z, 31), Z_OK);
    uint8_t *out = malloc(n + 16);
    z.next_in = (Bytef *)gz;
    z.avail_in = (uInt)gz_len;
    z.next_out = out;
    z.avail_out = (uInt)(n + 16);
    cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END, "%s", z.msg ? z.msg : "");
    cr_assert_eq(z.avail_in, 0, "one member, nothing after it");
    cr_assert_eq(z.total_out, n);
    cr_assert_eq(memcmp(out, want, n), 0);
    inflateEnd(&z);
    free(out);
}

Test(gen, parallel_gzip_is_one_member_whatever_the_threads)
{
    /* 5.5 MiB: three blocks, the last one partial; compressible runs and noise */
    size_t n = (11u << 20) / 2;
    uint8_t *data = malloc(n);
    uint64_t x = 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        data[i] = (i / 4096) % 2 ? (uint8_t)(x >> 56) : (uint8_t)(i % 61);
    }
    tf_write(P("in"), data, n);
    uint64_t z1, z4;
    cr_assert_eq(gen_pgzip(P("in"), P("one.gz"), 6, 1, 0, &z1), 0, "%s", strerror(errno));
    cr_assert_eq(gen_pgzip(P("in"), P("four.gz"), 6, 4, 0, &z4), 0, "%s", strerror(errno));
    size_t l1, l4;
    uint8_t *g1 = tf_read(P("one.gz"), &l1), *g4 = tf_read(P("four.gz"), &l4);
    cr_assert_eq(l1, z1);
    cr_assert(l1 == l4 && !memcmp(g1, g4, l1), "the output depends on the threads");
    expect_gunzips_to(g1, l1, data, n);
    free(g1), free(g4);
    /* an empty file is an empty member */
    tf_write(P("empty"), data, 0);
    cr_assert_eq(gen_pgzip(P("empty"), P("empty.gz"), 6, 2, 0, &z1), 0);
    g1 = tf_read(P("empty.gz"), &l1);
    expect_gunzips_to(g1, l1, data, 0);
    free(g1);
    free(data);
}
