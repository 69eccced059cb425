/* Shared fixture and helpers of the merge suites (test_merge.c,
 * test_merge_diff.c): a temporary directory and environment per test, a
 * pool of ledger entries with distinct keys from tests/vectors/ledger.json,
 * bucket files built from records, read back, and compared with the
 * reference merge of merge_ref.h. */
#ifndef BDB_TESTS_MERGE_TEST_UTIL_H
#define BDB_TESTS_MERGE_TEST_UTIL_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bucketdb/bucket.h"
#include "core/fs.h"
#include "core/sha256.h"
#define BDB_FIXTURE_VECTORS
#include "fixture.h"
#include "merge_ref.h"

#define MC_FIELDS(X)                                                                               \
    X(pre_init_entry_protocol_merges)                                                              \
    X(post_init_entry_protocol_merges)                                                             \
    X(pre_shadow_removal_protocol_merges)                                                          \
    X(post_shadow_removal_protocol_merges)                                                         \
    X(running_merge_reattachments)                                                                 \
    X(finished_merge_reattachments)                                                                \
    X(new_meta_entries)                                                                            \
    X(new_init_entries)                                                                            \
    X(new_live_entries)                                                                            \
    X(new_dead_entries)                                                                            \
    X(old_meta_entries)                                                                            \
    X(old_init_entries)                                                                            \
    X(old_live_entries)                                                                            \
    X(old_dead_entries)                                                                            \
    X(old_entries_default_accepted)                                                                \
    X(new_entries_default_accepted)                                                                \
    X(new_init_entries_merged_with_old_dead)                                                       \
    X(old_init_entries_merged_with_new_live)                                                       \
    X(old_init_entries_merged_with_new_dead)                                                       \
    X(new_entries_merged_with_old_neither_init)                                                    \
    X(shadow_scan_steps)                                                                           \
    X(meta_entry_shadow_elisions)                                                                  \
    X(live_entry_shadow_elisions)                                                                  \
    X(init_entry_shadow_elisions)                                                                  \
    X(dead_entry_shadow_elisions)                                                                  \
    X(output_iterator_tombstone_elisions)                                                          \
    X(output_iterator_buffer_updates)                                                              \
    X(output_iterator_actual_writes)

/* A ledger entry of the vectors, with its key and sort key. */
typedef struct pool_entry {
    const char *name;
    int32_t entry_type;
    int persistent; /* persistent Soroban: may enter a hot archive */
    uint8_t *entry, *key, *sk;
    size_t entry_len, key_len, sk_len;
} pool_entry;

static pool_entry *pool;
static size_t pool_n;
/* allocations released at teardown */
static void **arena;
static size_t arena_n, arena_cap;

static inline void *keep(void *p)
{
    cr_assert_not_null(p);
    if (arena_n == arena_cap) {
        arena_cap = arena_cap ? 2 * arena_cap : 1024;
        arena = realloc(arena, arena_cap * sizeof *arena);
        cr_assert_not_null(arena);
    }
    return arena[arena_n++] = p;
}

static inline size_t unhex(const char *s, uint8_t *out)
{
    size_t n = strlen(s) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static inline uint8_t *unhex_alloc(const char *s, size_t *len)
{
    uint8_t *b = keep(malloc(strlen(s) / 2 + 1));
    *len = unhex(s, b);
    return b;
}

static inline void load_pool(void)
{
    json_t *entries = json_object_get(vectors, "entries");
    size_t n = json_array_size(entries);
    pool = keep(calloc(n, sizeof *pool));
    pool_n = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(entries, i);
        const char *name = json_string_value(json_object_get(v, "name"));
        if (strstr(name, "/variant-")) continue; /* same key as another entry */
        pool_entry *p = &pool[pool_n++];
        p->name = name;
        p->entry = unhex_alloc(json_string_value(json_object_get(v, "entry")), &p->entry_len);
        p->key = unhex_alloc(json_string_value(json_object_get(v, "key")), &p->key_len);
        p->entry_type = (int32_t)p->key[3];
        /* CONTRACT_CODE, or CONTRACT_DATA whose key ends with durability
         * PERSISTENT (1) */
        p->persistent = p->entry_type == BDB_CONTRACT_CODE ||
                        (p->entry_type == BDB_CONTRACT_DATA && p->key[p->key_len - 1] == 1);
        p->sk = keep(malloc(BDB_SORT_KEY_BOUND(p->key_len)));
        cr_assert_eq(
            bdb_sort_key(p->key, p->key_len, p->sk, BDB_SORT_KEY_BOUND(p->key_len), &p->sk_len), 0);
    }
    cr_assert_gt(pool_n, 200);
}

static inline void setup(void)
{
    fixture_load_vectors();
    load_pool();
    fixture_open("merge", NULL, NULL);
}

/* Merge outputs may share their name with an input (content addressing),
 * so tests clear the directory between merges. */
#define clean_dir fixture_clean

static inline void teardown(void)
{
    for (size_t i = 0; i < arena_n; i++) free(arena[i]);
    free(arena);
    arena = NULL;
    arena_n = arena_cap = 0;
    json_decref(vectors);
    fixture_close();
}

/* The i-th pool entry of LedgerEntryType `type`. */
static inline const pool_entry *of_type(int32_t type, int i)
{
    for (size_t k = 0; k < pool_n; k++)
        if (pool[k].entry_type == type && i-- == 0) return &pool[k];
    cr_assert_fail("no entry %d of type %d in the vectors", i, type);
    return NULL;
}

/* The entry's LedgerEntry XDR with lastModifiedLedgerSeq = lm (the same
 * key in another state). */
static inline bdb_bytes entry_at(const pool_entry *p, uint32_t lm)
{
    uint8_t *b = keep(malloc(p->entry_len));
    memcpy(b, p->entry, p->entry_len);
    ref_put32(b, lm);
    return (bdb_bytes){b, p->entry_len};
}

static inline bdb_bytes key_of(const pool_entry *p)
{
    return (bdb_bytes){p->key, p->key_len};
}

/* A record of `type` for pool entry p (entry states carry lm). */
static inline void make_rec(int hot, int32_t type, const pool_entry *p, uint32_t lm, ref_rec *out)
{
    int is_key = hot ? type == BDB_HOT_LIVE : type == BDB_DEADENTRY;
    bdb_bytes arm = is_key ? key_of(p) : entry_at(p, lm);
    cr_assert_eq(ref_rec_make(hot, type, arm.data, arm.len, out), 0, "%s", p->name);
    keep(out->xdr);
    keep(out->sk);
}

static inline int rec_order(const void *a, const void *b)
{
    return ref_cmp(a, b);
}

static inline void sort_recs(ref_rec *r, size_t n)
{
    if (n) qsort(r, n, sizeof *r, rec_order);
}

static inline void path_of(const bdb_bucket_info *info, char path[512])
{
    snprintf(path, 512, "%s/%s", dir, info->name);
}

/* Writes the records (sorted here) as a bucket at `protocol`; returns
 * `path` filled with the file, or NULL for the empty bucket. */
static inline const char *write_bucket(int hot, uint32_t protocol, ref_rec *recs, size_t n,
                                       char path[512])
{
    sort_recs(recs, n);
    bdb_bucket_writer_options o;
    bdb_bucket_writer_options_init(&o);
    o.hot = hot;
    o.protocol = protocol;
    o.fsync = 0;
    bdb_bucket_writer *w;
    cr_assert_eq(bdb_bucket_writer_open(env, dir, &o, &w), 0, "%s", bdb_errmsg());
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(bdb_bucket_writer_put(w, recs[i].xdr, recs[i].len), 0, "%s", bdb_errmsg());
    bdb_bucket_info info;
    cr_assert_eq(bdb_bucket_writer_finish(w, &info), 0, "%s", bdb_errmsg());
    if (info.empty) return NULL;
    path_of(&info, path);
    return path;
}

/* stellar-core's LiveBucket::fresh through bdb_bucket_fresh. */
static inline const char *fresh(uint32_t protocol, const bdb_bytes *init, size_t ni,
                                const bdb_bytes *live, size_t nl, const bdb_bytes *dead, size_t nd,
                                char path[512])
{
    bdb_bucket_info info;
    cr_assert_eq(bdb_bucket_fresh(env, dir, protocol, 0, init, ni, live, nl, dead, nd, &info), 0,
                 "%s", bdb_errmsg());
    if (info.empty) return NULL;
    path_of(&info, path);
    return path;
}

/* A bucket read back: its protocol and records (copies). */
typedef struct read_back {
    uint32_t protocol;
    int meta; /* it starts with a METAENTRY */
    ref_rec *recs;
    size_t n;
    size_t init, live, dead; /* hot: ARCHIVED count in init, LIVE in live */
} read_back;

static inline read_back read_bucket(const char *path, int hot)
{
    read_back rb;
    memset(&rb, 0, sizeof rb);
    if (!path) return rb;
    bdb_bucket_reader *r;
    cr_assert_eq(bdb_bucket_reader_open(env, path, hot, 0, &r), 0, "%s", bdb_errmsg());
    rb.protocol = bdb_bucket_reader_protocol(r);
    rb.meta = rb.protocol != 0;
    size_t cap = 16;
    rb.recs = keep(calloc(cap, sizeof *rb.recs));
    bdb_bucket_item it;
    int rc;
    while ((rc = bdb_bucket_reader_next(r, &it)) == 1) {
        if (rb.n == cap) {
            cap *= 2;
            ref_rec *g = calloc(cap, sizeof *g);
            memcpy(g, rb.recs, rb.n * sizeof *g);
            rb.recs = keep(g);
        }
        ref_rec *e = &rb.recs[rb.n++];
        e->type = it.type;
        e->len = it.record_len;
        e->xdr = keep(malloc(it.record_len));
        memcpy(e->xdr, it.record, it.record_len);
        e->sk_len = it.sort_key_len;
        e->sk = keep(malloc(it.sort_key_len));
        memcpy(e->sk, it.sort_key, it.sort_key_len);
        if (hot) {
            rb.init += it.type == BDB_HOT_ARCHIVED;
            rb.live += it.type == BDB_HOT_LIVE;
        } else {
            rb.init += it.type == BDB_INITENTRY;
            rb.live += it.type == BDB_LIVEENTRY;
            rb.dead += it.type == BDB_DEADENTRY;
        }
    }
    cr_assert_eq(rc, 0, "%s", bdb_errmsg());
    bdb_bucket_reader_close(r);
    return rb;
}

static inline bdb_merge_options merge_opts(uint32_t max_protocol)
{
    bdb_merge_options o;
    bdb_merge_options_init(&o);
    o.max_protocol = max_protocol;
    o.fsync = 0;
    return o;
}

/* bdb_bucket_merge with zeroed counters; `out` gets the output's path or
 * NULL (empty bucket or failure). */
static inline int merge(const char *old, const char *new, const char *const *shadows, size_t ns,
                        const bdb_merge_options *o, bdb_merge_counters *mc, bdb_bucket_info *info,
                        const char **out, char path[512])
{
    memset(mc, 0, sizeof *mc);
    int rc = bdb_bucket_merge(env, dir, old, new, shadows, ns, o, info, mc);
    *out = NULL;
    if (!rc && !info->empty) {
        path_of(info, path);
        *out = path;
    }
    return rc;
}

static inline void assert_same_counters(const bdb_merge_counters *got,
                                        const bdb_merge_counters *want, const char *what)
{
#define MC_CHECK(f)                                                                                \
    cr_assert_eq(got->f, want->f, "%s: counter " #f ": library %llu, reference %llu", what,        \
                 (unsigned long long)got->f, (unsigned long long)want->f);
    MC_FIELDS(MC_CHECK)
#undef MC_CHECK
}

static inline void assert_same_recs(const ref_rec *got, size_t n_got, const ref_rec *want,
                                    size_t n_want, const char *what)
{
    cr_assert_eq(n_got, n_want, "%s: %zu entries, expected %zu", what, n_got, n_want);
    for (size_t i = 0; i < n_got; i++) {
        cr_assert_eq(got[i].type, want[i].type, "%s: entry %zu type %d, expected %d", what, i,
                     got[i].type, want[i].type);
        cr_assert(got[i].len == want[i].len && !memcmp(got[i].xdr, want[i].xdr, got[i].len),
                  "%s: entry %zu bytes differ", what, i);
    }
}

/* The library's result (rc, info, counters, file) equals the reference's:
 * same error, or the same file bytes, hash, name, records and counters. */
static inline void assert_matches_ref(int rc, const bdb_bucket_info *info,
                                      const bdb_merge_counters *mc, const ref_result *ref, int hot,
                                      const char *what)
{
    cr_assert_eq(rc, ref->rc, "%s: library rc %d (%s), reference rc %d", what, rc,
                 rc ? bdb_errmsg() : "", ref->rc);
    if (rc) {
        int tmp;
        count_files(&tmp);
        cr_assert_eq(tmp, 0, "%s: a failed merge left a temporary file", what);
        return;
    }
    uint8_t *want;
    size_t want_len;
    cr_assert_eq(ref_file_bytes(hot, ref, &want, &want_len), 0);
    if (!want_len) {
        static const uint8_t zero[BDB_HASH_LEN];
        cr_assert(info->empty, "%s: expected the empty bucket", what);
        cr_assert_eq(memcmp(info->hash, zero, BDB_HASH_LEN), 0, "%s", what);
        cr_assert_str_eq(info->name, "", "%s", what);
    } else {
        cr_assert_not(info->empty, "%s: expected %zu bytes, got the empty bucket", what, want_len);
        char path[512];
        path_of(info, path);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s: %s", what, path);
        uint8_t *got = malloc(want_len + 1);
        size_t got_len = fread(got, 1, want_len + 1, f);
        fclose(f);
        cr_assert_eq(got_len, want_len, "%s: file has %zu bytes, expected %zu", what, got_len,
                     want_len);
        cr_assert_eq(memcmp(got, want, want_len), 0, "%s: file bytes differ", what);
        free(got);
        uint8_t h[BDB_HASH_LEN];
        char name[BDB_BUCKET_NAME_LEN];
        bdbi_sha256_digest(want, want_len, h);
        cr_assert_eq(memcmp(info->hash, h, BDB_HASH_LEN), 0, "%s: hash", what);
        bdb_bucket_name(h, name);
        cr_assert_str_eq(info->name, name, "%s", what);
        cr_assert_eq(info->bytes, want_len, "%s", what);
        cr_assert_eq(info->records, ref->n + (size_t)ref->has_meta, "%s", what);
        cr_assert_eq(info->protocol, ref->has_meta ? ref->protocol : 0, "%s", what);
        read_back rb = read_bucket(path, hot);
        cr_assert_eq(rb.protocol, info->protocol, "%s", what);
        assert_same_recs(rb.recs, rb.n, ref->recs, ref->n, what);
    }
    free(want);
    assert_same_counters(mc, &ref->mc, what);
}

#endif
