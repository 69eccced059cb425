/* The merge map against stellar-core's BucketMergeMapTests scenario (spec
 * §10, with hashes of our own: SHA-256 of each bucket's name), against a
 * naive model that transcribes stellar-core's three (multi)maps into arrays
 * (randomized differential runs), under every possible allocation failure,
 * and at a size that makes its tables grow. Every test closes its
 * environment, which fails if the map leaked. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucketdb/bucketdb.h"
#include "core/sha256.h"
#include "list/mergemap.h"

#include "../core/alloc_fail.h"

static bdb_env *env;

static void setup(void)
{
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 1;
    o.use_jemalloc_arena = 0; /* malloc, so that alloc_fail.h can fail it */
    cr_assert_eq(bdb_env_open(&o, &env), 0, "%s", bdb_errmsg());
}

static void teardown(void)
{
    alloc_fail_disarm();
    cr_assert_eq(bdb_env_close(env), 0, "leak: %s", bdb_errmsg());
}

TestSuite(mergemap, .init = setup, .fini = teardown);

static void named(const char *name, uint8_t out[32])
{
    cr_assert_eq(bdbi_sha256_digest(name, strlen(name), out), 0);
}

static bdbi_merge_key mk(int keep, const char *curr, const char *snap, size_t n,
                         uint8_t (*shadows)[32], const char *const *shadow_names)
{
    bdbi_merge_key k = {.keep_tombstones = keep, .n_shadows = n};
    named(curr, k.curr);
    named(snap, k.snap);
    for (size_t i = 0; i < n; i++) named(shadow_names[i], shadows[i]);
    k.shadows = (const uint8_t(*)[32])shadows;
    return k;
}

/* Checks outputs_using_input(name) = the named outputs (any order given). */
static void expect_outputs(bdbi_mergemap *m, const char *in, size_t n_want, const char *const *want)
{
    uint8_t h[32], outs[8][32], w[8][32];
    size_t n = 99;
    named(in, h);
    cr_assert_eq(bdbi_mergemap_outputs_using_input(m, h, outs, 8, &n), 0);
    cr_assert_eq(n, n_want, "outputs using %s: %zu, want %zu", in, n, n_want);
    for (size_t i = 0; i < n_want; i++) named(want[i], w[i]);
    for (size_t i = 0; i < n_want; i++) {
        int found = 0;
        for (size_t j = 0; j < n; j++) found |= !memcmp(w[i], outs[j], 32);
        cr_assert(found, "outputs using %s lack %s", in, want[i]);
        if (i) cr_assert_lt(memcmp(outs[i - 1], outs[i], 32), 0, "not in ascending order");
    }
}

/* stellar-core's "bucket merge map" test, fact for fact. */
Test(mergemap, bucket_merge_map_scenario)
{
    bdbi_mergemap *m;
    cr_assert_eq(bdbi_mergemap_create(env, &m), 0);
    uint8_t s1[1][32], s2[1][32], s3[2][32], s6[1][32];
    bdbi_merge_key m1 = mk(1, "in1a", "in1b", 1, s1, (const char *[]){"in1c"});
    bdbi_merge_key m2 = mk(1, "in2a", "in2b", 1, s2, (const char *[]){"in2c"});
    bdbi_merge_key m3 = mk(1, "in3a", "in3b", 2, s3, (const char *[]){"in3c", "in3d"});
    bdbi_merge_key m4 = mk(1, "in4a", "in4b", 0, NULL, NULL);
    bdbi_merge_key m5 = mk(1, "in5a", "in5b", 0, NULL, NULL);
    bdbi_merge_key m6 = mk(1, "in6a", "in6b", 1, s6, (const char *[]){"in1a"});
    uint8_t out1[32], out2[32], out4[32], out6[32], t[32];
    named("out1", out1);
    named("out2", out2);
    named("out4", out4);
    named("out6", out6);

    cr_assert_eq(bdbi_mergemap_record(m, &m1, out1), 0);
    cr_assert_eq(bdbi_mergemap_record(m, &m2, out2), 0);
    cr_assert_eq(bdbi_mergemap_record(m, &m3, out2), 0); /* same output as m2 */
    cr_assert_eq(bdbi_mergemap_record(m, &m4, out4), 0);
    /* m5 is not recorded; m6 has m1's curr as a shadow */
    cr_assert_eq(bdbi_mergemap_record(m, &m6, out6), 0);

    struct {
        bdbi_merge_key *k;
        uint8_t *out;
    } found[] = {{&m1, out1}, {&m2, out2}, {&m3, out2}, {&m4, out4}, {&m6, out6}};
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(bdbi_mergemap_find(m, found[i].k, t), 1, "key %zu", i);
        cr_assert_eq(memcmp(t, found[i].out, 32), 0, "key %zu", i);
    }
    cr_assert_eq(bdbi_mergemap_find(m, &m5, t), 0);

    expect_outputs(m, "in1a", 2, (const char *[]){"out1", "out6"});
    expect_outputs(m, "in1b", 1, (const char *[]){"out1"});
    expect_outputs(m, "in1c", 1, (const char *[]){"out1"});

    size_t n;
    cr_assert_eq(bdbi_mergemap_forget_producing(m, out1, &n), 0);
    cr_assert_eq(n, 1); /* {m1} */
    cr_assert_eq(bdbi_mergemap_find(m, &m1, t), 0);
    expect_outputs(m, "in1a", 1, (const char *[]){"out6"});

    cr_assert_eq(bdbi_mergemap_forget_producing(m, out2, &n), 0);
    cr_assert_eq(n, 2); /* {m2, m3} */
    cr_assert_eq(bdbi_mergemap_find(m, &m2, t), 0);
    cr_assert_eq(bdbi_mergemap_find(m, &m3, t), 0);

    cr_assert_eq(bdbi_mergemap_forget_producing(m, out4, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(bdbi_mergemap_find(m, &m4, t), 0);

    cr_assert_eq(bdbi_mergemap_forget_producing(m, out6, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(bdbi_mergemap_find(m, &m6, t), 0);
    expect_outputs(m, "in6a", 0, NULL);
    expect_outputs(m, "in1a", 0, NULL);

    /* a second forget finds nothing */
    n = 7;
    cr_assert_eq(bdbi_mergemap_forget_producing(m, out1, &n), 0);
    cr_assert_eq(n, 0);

    bdbi_mergemap_sizes sz;
    bdbi_mergemap_sizes_get(m, &sz);
    cr_assert_eq(sz.keys + sz.output_keys + sz.input_outputs, 0);
    bdbi_mergemap_destroy(m);
}

Test(mergemap, key_equality_and_hash)
{
    uint8_t a[2][32], b[2][32];
    bdbi_merge_key k1 = mk(1, "c", "s", 2, a, (const char *[]){"x", "y"});
    bdbi_merge_key k2 = mk(7, "c", "s", 2, b, (const char *[]){"x", "y"});
    cr_assert(bdbi_merge_key_eq(&k1, &k2), "keep_tombstones is a boolean");
    cr_assert_eq(bdbi_merge_key_hash(&k1), bdbi_merge_key_hash(&k2));
    k2.keep_tombstones = 0;
    cr_assert_not(bdbi_merge_key_eq(&k1, &k2));
    k2.keep_tombstones = 1;
    memcpy(b[0], a[1], 32);
    memcpy(b[1], a[0], 32);
    cr_assert_not(bdbi_merge_key_eq(&k1, &k2), "shadow order matters");
    k2.n_shadows = 1;
    memcpy(b[0], a[0], 32);
    cr_assert_not(bdbi_merge_key_eq(&k1, &k2), "shadow count matters");
    bdbi_merge_key k3 = k1;
    memcpy(k3.curr, k1.snap, 32);
    memcpy(k3.snap, k1.curr, 32);
    cr_assert_not(bdbi_merge_key_eq(&k1, &k3), "curr and snap are not interchangeable");
    bdbi_merge_key e1 = mk(0, "c", "s", 0, NULL, NULL), e2 = e1;
    uint8_t one[1][32];
    e2.shadows = (const uint8_t(*)[32])one; /* ignored when n_shadows is 0 */
    cr_assert(bdbi_merge_key_eq(&e1, &e2));
    cr_assert_eq(bdbi_merge_key_hash(&e1), bdbi_merge_key_hash(&e2));
}

/* The map keeps its own copy of the key. */
Test(mergemap, keys_are_copied)
{
    bdbi_mergemap *m;
    cr_assert_eq(bdbi_mergemap_create(env, &m), 0);
    uint8_t sh[2][32], out[32], t[32];
    bdbi_merge_key k = mk(0, "c", "s", 2, sh, (const char *[]){"x", "y"});
    named("o", out);
    cr_assert_eq(bdbi_mergemap_record(m, &k, out), 0);
    uint8_t copy[2][32];
    memcpy(copy, sh, sizeof sh);
    memset(sh, 0xEE, sizeof sh);
    cr_assert_eq(bdbi_mergemap_find(m, &k, t), 0, "the caller's changed key is another key");
    k.shadows = (const uint8_t(*)[32])copy;
    cr_assert_eq(bdbi_mergemap_find(m, &k, t), 1);
    cr_assert_eq(memcmp(t, out, 32), 0);
    bdbi_mergemap_destroy(m);
}

/* An input named several times in one key is one (input, output) pair, as
 * in stellar-core's set of input hashes. */
Test(mergemap, repeated_inputs_count_once)
{
    bdbi_mergemap *m;
    cr_assert_eq(bdbi_mergemap_create(env, &m), 0);
    uint8_t sh[3][32], out[32];
    bdbi_merge_key k = mk(1, "a", "a", 3, sh, (const char *[]){"a", "b", "a"});
    named("o", out);
    cr_assert_eq(bdbi_mergemap_record(m, &k, out), 0);
    bdbi_mergemap_sizes sz;
    bdbi_mergemap_sizes_get(m, &sz);
    cr_assert_eq(sz.keys, 1);
    cr_assert_eq(sz.output_keys, 1);
    cr_assert_eq(sz.input_outputs, 2);
    expect_outputs(m, "a", 1, (const char *[]){"o"});
    size_t n;
    cr_assert_eq(bdbi_mergemap_forget_producing(m, out, &n), 0);
    cr_assert_eq(n, 1);
    bdbi_mergemap_sizes_get(m, &sz);
    cr_assert_eq(sz.keys + sz.output_keys + sz.input_outputs, 0);
    bdbi_mergemap_destroy(m);
}

/* stellar-core's emplace keeps a key's first output, and forgetting any
 * output the key was recorded with erases the key. */
Test(mergemap, one_key_two_outputs)
{
    bdbi_mergemap *m;
    cr_assert_eq(bdbi_mergemap_create(env, &m), 0);
    uint8_t A[32], B[32], C[32], t[32];
    named("A", A);
    named("B", B);
    named("C", C);
    bdbi_merge_key k = mk(1, "c", "s", 0, NULL, NULL);
    cr_assert_eq(bdbi_mergemap_record(m, &k, A), 0);
    cr_assert_eq(bdbi_mergemap_record(m, &k, B), 0);
    cr_assert_eq(bdbi_mergemap_find(m, &k, t), 1);
    cr_assert_eq(memcmp(t, A, 32), 0, "the first output stays");
    expect_outputs(m, "c", 2, (const char *[]){"A", "B"});
    size_t n;
    cr_assert_eq(bdbi_mergemap_forget_producing(m, B, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(bdbi_mergemap_find(m, &k, t), 0, "forgetting B erased the key mapped to A");
    expect_outputs(m, "c", 1, (const char *[]){"A"});
    cr_assert_eq(bdbi_mergemap_record(m, &k, C), 0);
    cr_assert_eq(bdbi_mergemap_find(m, &k, t), 1);
    cr_assert_eq(memcmp(t, C, 32), 0, "free again, so C is taken");
    cr_assert_eq(bdbi_mergemap_forget_producing(m, A, &n), 0);
    cr_assert_eq(n, 1, "the (A, k) pair was still there");
    cr_assert_eq(bdbi_mergemap_find(m, &k, t), 0);
    /* recording the same merge twice keeps two pairs; one forget drops both */
    cr_assert_eq(bdbi_mergemap_record(m, &k, C), 0);
    bdbi_mergemap_sizes sz;
    bdbi_mergemap_sizes_get(m, &sz);
    cr_assert_eq(sz.output_keys, 2);
    cr_assert_eq(sz.input_outputs, 4);
    cr_assert_eq(bdbi_mergemap_forget_producing(m, C, &n), 0);
    cr_assert_eq(n, 1, "distinct keys");
    bdbi_mergemap_sizes_get(m, &sz);
    cr_assert_eq(sz.keys + sz.output_keys + sz.input_outputs, 0);
    bdbi_mergemap_destroy(m);
}

Test(mergemap, outputs_beyond_capacity)
{
    bdbi_mergemap *m;
    cr_assert_eq(bdbi_mergemap_create(env, &m), 0);
    uint8_t in[32], out[32], outs[3][32];
    named("shared", in);
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "snap%d", i);
        bdbi_merge_key k = mk(i & 1, "shared", name, 0, NULL, NULL);
        snprintf(name, sizeof name, "out%d", i);
        named(name, out);
        cr_assert_eq(bdbi_mergemap_record(m, &k, out), 0);
    }
    size_t n;
    cr_assert_eq(bdbi_mergemap_outputs_using_input(m, in, outs, 3, &n), 0);
    cr_assert_eq(n, 5, "the total, beyond cap");
    cr_assert_eq(bdbi_mergemap_outputs_using_input(m, in, NULL, 0, &n), 0);
    cr_assert_eq(n, 5);
    bdbi_mergemap_destroy(m);
}

Test(mergemap, bad_arguments)
{
    bdbi_mergemap *m;
    uint8_t h[32] = {0};
    size_t n;
    cr_assert_eq(bdbi_mergemap_create(NULL, &m), BDB_EINVAL);
    cr_assert_eq(bdbi_mergemap_create(env, &m), 0);
    bdbi_merge_key k = {.n_shadows = 2, .shadows = NULL};
    cr_assert_eq(bdbi_mergemap_record(m, &k, h), BDB_EINVAL);
    cr_assert(strstr(bdb_errmsg(), "shadow") != NULL, "%s", bdb_errmsg());
    cr_assert_eq(bdbi_mergemap_find(m, &k, h), BDB_EINVAL);
    cr_assert_eq(bdbi_mergemap_record(m, NULL, h), BDB_EINVAL);
    cr_assert_eq(bdbi_mergemap_forget_producing(m, h, NULL), BDB_EINVAL);
    cr_assert_eq(bdbi_mergemap_outputs_using_input(m, h, NULL, 1, &n), BDB_EINVAL);
    bdbi_mergemap_destroy(m);
    bdbi_mergemap_destroy(NULL);
}

/* ---- the naive model: stellar-core's maps as arrays --------------------- */

#define MAX_SH 4

typedef struct mkey {
    int keep;
    uint8_t curr[32], snap[32];
    size_t n;
    uint8_t sh[MAX_SH][32];
} mkey;

typedef struct model {
    struct k2o {
        mkey k;
        uint8_t out[32];
    } * k2o;
    struct o2k {
        uint8_t out[32];
        mkey k;
    } * o2k;
    struct i2o {
        uint8_t in[32], out[32];
    } * i2o;
    size_t nk2o, no2k, ni2o, cap;
} model;

static bdbi_merge_key view(const mkey *k)
{
    bdbi_merge_key v = {.keep_tombstones = k->keep, .n_shadows = k->n};
    memcpy(v.curr, k->curr, 32);
    memcpy(v.snap, k->snap, 32);
    v.shadows = (const uint8_t(*)[32])k->sh;
    return v;
}

static int mkey_eq(const mkey *a, const mkey *b)
{
    bdbi_merge_key x = view(a), y = view(b);
    return bdbi_merge_key_eq(&x, &y);
}

/* The distinct input hashes of a key (getMergeKeyHashes). */
static size_t inputs(const mkey *k, const uint8_t *out[MAX_SH + 2])
{
    const uint8_t *all[MAX_SH + 2] = {k->curr, k->snap};
    for (size_t i = 0; i < k->n; i++) all[2 + i] = k->sh[i];
    size_t n = 0;
    for (size_t i = 0; i < k->n + 2; i++) {
        int dup = 0;
        for (size_t j = 0; j < n; j++) dup |= !memcmp(out[j], all[i], 32);
        if (!dup) out[n++] = all[i];
    }
    return n;
}

static void model_init(model *md, size_t cap)
{
    md->cap = cap;
    md->k2o = malloc(cap * sizeof *md->k2o);
    md->o2k = malloc(cap * sizeof *md->o2k);
    md->i2o = malloc(cap * (MAX_SH + 2) * sizeof *md->i2o);
    md->nk2o = md->no2k = md->ni2o = 0;
    cr_assert(md->k2o && md->o2k && md->i2o);
}

static void model_free(model *md)
{
    free(md->k2o);
    free(md->o2k);
    free(md->i2o);
}

static int model_find(const model *md, const mkey *k, uint8_t out[32])
{
    for (size_t i = 0; i < md->nk2o; i++)
        if (mkey_eq(&md->k2o[i].k, k)) {
            memcpy(out, md->k2o[i].out, 32);
            return 1;
        }
    return 0;
}

static void model_record(model *md, const mkey *k, const uint8_t out[32])
{
    uint8_t t[32];
    cr_assert_lt(md->no2k, md->cap, "model too small");
    if (!model_find(md, k, t)) {
        md->k2o[md->nk2o].k = *k;
        memcpy(md->k2o[md->nk2o++].out, out, 32);
    }
    memcpy(md->o2k[md->no2k].out, out, 32);
    md->o2k[md->no2k++].k = *k;
    const uint8_t *in[MAX_SH + 2];
    size_t n = inputs(k, in);
    for (size_t i = 0; i < n; i++) {
        memcpy(md->i2o[md->ni2o].in, in[i], 32);
        memcpy(md->i2o[md->ni2o++].out, out, 32);
    }
}

static size_t model_outputs(const model *md, const uint8_t in[32], uint8_t (*outs)[32])
{
    size_t n = 0;
    for (size_t i = 0; i < md->ni2o; i++) {
        if (memcmp(md->i2o[i].in, in, 32)) continue;
        int dup = 0;
        for (size_t j = 0; j < n; j++) dup |= !memcmp(outs[j], md->i2o[i].out, 32);
        if (!dup) memcpy(outs[n++], md->i2o[i].out, 32);
    }
    return n;
}

/* forgetAllMergesProducing, step by step. */
static size_t model_forget(model *md, const uint8_t out[32])
{
    mkey seen[64];
    size_t n_seen = 0;
    for (size_t i = 0; i < md->no2k;) {
        if (memcmp(md->o2k[i].out, out, 32)) {
            i++;
            continue;
        }
        mkey k = md->o2k[i].k;
        int dup = 0;
        for (size_t j = 0; j < n_seen; j++) dup |= mkey_eq(&seen[j], &k);
        if (!dup) {
            cr_assert_lt(n_seen, 64);
            seen[n_seen++] = k;
        }
        const uint8_t *in[MAX_SH + 2];
        size_t n = inputs(&k, in);
        for (size_t a = 0; a < n; a++)
            for (size_t b = 0; b < md->ni2o; b++)
                if (!memcmp(md->i2o[b].in, in[a], 32) && !memcmp(md->i2o[b].out, out, 32)) {
                    md->i2o[b] = md->i2o[--md->ni2o]; /* erase one */
                    break;
                }
        for (size_t b = 0; b < md->nk2o; b++)
            if (mkey_eq(&md->k2o[b].k, &k)) {
                md->k2o[b] = md->k2o[--md->nk2o];
                break;
            }
        md->o2k[i] = md->o2k[--md->no2k];
    }
    return n_seen;
}

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((rng_state >> 33) % n);
}

static void pool_hash(int kind, uint32_t i, uint8_t out[32])
{
    char name[32];
    snprintf(name, sizeof name, "%s-%u", kind ? "out" : "in", i);
    named(name, out);
}

static mkey random_key(uint32_t n_in)
{
    mkey k = {.keep = (int)rnd(2), .n = rnd(MAX_SH + 1)};
    pool_hash(0, rnd(n_in), k.curr);
    pool_hash(0, rnd(n_in), k.snap);
    for (size_t i = 0; i < k.n; i++) pool_hash(0, rnd(n_in), k.sh[i]);
    return k;
}

static int cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* Full comparison: the three sizes, every pool input's outputs, and find
 * for each key in `keys`. */
static void compare_all(bdbi_mergemap *m, const model *md, uint32_t n_in, const mkey *keys,
                        size_t n_keys)
{
    bdbi_mergemap_sizes sz;
    bdbi_mergemap_sizes_get(m, &sz);
    cr_assert_eq(sz.keys, md->nk2o);
    cr_assert_eq(sz.output_keys, md->no2k);
    cr_assert_eq(sz.input_outputs, md->ni2o);
    uint8_t in[32], got[64][32], want[64][32], a[32], b[32];
    for (uint32_t i = 0; i < n_in; i++) {
        pool_hash(0, i, in);
        size_t n;
        cr_assert_eq(bdbi_mergemap_outputs_using_input(m, in, got, 64, &n), 0);
        size_t nw = model_outputs(md, in, want);
        cr_assert_eq(n, nw, "input %u: %zu outputs, model %zu", i, n, nw);
        qsort(want, nw, 32, cmp32);
        cr_assert_eq(memcmp(got, want, nw * 32), 0, "input %u", i);
    }
    for (size_t i = 0; i < n_keys; i++) {
        bdbi_merge_key v = view(&keys[i]);
        int f = bdbi_mergemap_find(m, &v, a);
        cr_assert_eq(f, model_find(md, &keys[i], b), "key %zu", i);
        if (f) cr_assert_eq(memcmp(a, b, 32), 0, "key %zu", i);
    }
}

/* Random operations over small pools of hashes, so that keys, inputs and
 * outputs collide in every way, checked op by op against the model. */
static void differential(uint64_t seed, uint32_t n_in, uint32_t n_out, int ops)
{
    rng_state = seed;
    bdbi_mergemap *m;
    cr_assert_eq(bdbi_mergemap_create(env, &m), 0);
    model md;
    model_init(&md, (size_t)ops);
    mkey keys[48];
    size_t n_keys = 0;
    for (int op = 0; op < ops; op++) {
        uint32_t r = rnd(100);
        uint8_t out[32], a[32], b[32];
        mkey k = n_keys && rnd(3) == 0 ? keys[rnd((uint32_t)n_keys)] : random_key(n_in);
        if (n_keys < 48)
            keys[n_keys++] = k;
        else
            keys[rnd(48)] = k;
        bdbi_merge_key v = view(&k);
        pool_hash(1, rnd(n_out), out);
        if (r < 45) {
            cr_assert_eq(bdbi_mergemap_record(m, &v, out), 0);
            model_record(&md, &k, out);
        } else if (r < 65) {
            int f = bdbi_mergemap_find(m, &v, a);
            cr_assert_eq(f, model_find(&md, &k, b), "op %d", op);
            if (f) cr_assert_eq(memcmp(a, b, 32), 0);
        } else if (r < 80) {
            uint8_t in[32], got[64][32], want[64][32];
            pool_hash(0, rnd(n_in), in);
            size_t n;
            cr_assert_eq(bdbi_mergemap_outputs_using_input(m, in, got, 64, &n), 0);
            size_t nw = model_outputs(&md, in, want);
            cr_assert_eq(n, nw, "op %d", op);
            qsort(want, nw, 32, cmp32);
            cr_assert_eq(memcmp(got, want, nw * 32), 0, "op %d", op);
        } else {
            size_t n;
            cr_assert_eq(bdbi_mergemap_forget_producing(m, out, &n), 0);
            cr_assert_eq(n, model_forget(&md, out), "op %d", op);
        }
        if (op % 64 == 0) compare_all(m, &md, n_in, keys, n_keys);
    }
    compare_all(m, &md, n_in, keys, n_keys);
    for (uint32_t o = 0; o < n_out; o++) {
        uint8_t out[32];
        size_t n;
        pool_hash(1, o, out);
        cr_assert_eq(bdbi_mergemap_forget_producing(m, out, &n), 0);
        cr_assert_eq(n, model_forget(&md, out));
    }
    compare_all(m, &md, n_in, keys, n_keys);
    cr_assert_eq(md.nk2o + md.no2k + md.ni2o, 0, "everything was forgotten");
    model_free(&md);
    bdbi_mergemap_destroy(m);
}

Test(mergemap, differential_tiny_pools)
{
    for (uint64_t seed = 1; seed <= 4; seed++) differential(seed, 4, 3, 2000);
}

Test(mergemap, differential_small_pools)
{
    for (uint64_t seed = 11; seed <= 13; seed++) differential(seed, 12, 8, 3000);
}

Test(mergemap, differential_wide_pools)
{
    differential(99, 200, 150, 5000);
}

/* Many distinct merges: every table grows several times; forgetting all of
 * them empties the map; destroy gives back every byte. */
Test(mergemap, growth_and_release)
{
    bdb_stats st0, st;
    cr_assert_eq(bdb_env_stats(env, &st0), 0);
    bdbi_mergemap *m;
    cr_assert_eq(bdbi_mergemap_create(env, &m), 0);
    enum { N = 20000 };
    uint8_t sh[2][32], out[32], t[32];
    for (uint32_t i = 0; i < N; i++) {
        bdbi_merge_key k = {.keep_tombstones = (int)(i & 1),
                            .n_shadows = i % 3,
                            .shadows = (const uint8_t(*)[32])sh};
        memset(&k.curr, 0, 32);
        memcpy(k.curr, &i, sizeof i);
        memset(k.snap, 0x55, 32);
        memcpy(k.snap, &i, sizeof i);
        k.snap[31] = (uint8_t)(i % 7); /* snaps shared by many merges */
        memset(sh, 0xAA, sizeof sh);
        memcpy(sh[0], &i, sizeof i);
        uint32_t o = i / 2; /* two merges per output */
        memset(out, 0x77, 32);
        memcpy(out, &o, sizeof o);
        cr_assert_eq(bdbi_mergemap_record(m, &k, out), 0);
    }
    bdbi_mergemap_sizes sz;
    bdbi_mergemap_sizes_get(m, &sz);
    cr_assert_eq(sz.keys, N);
    cr_assert_eq(sz.output_keys, N);
    for (uint32_t i = 0; i < N; i += 997) {
        bdbi_merge_key k = {.keep_tombstones = (int)(i & 1),
                            .n_shadows = i % 3,
                            .shadows = (const uint8_t(*)[32])sh};
        memset(&k.curr, 0, 32);
        memcpy(k.curr, &i, sizeof i);
        memset(k.snap, 0x55, 32);
        memcpy(k.snap, &i, sizeof i);
        k.snap[31] = (uint8_t)(i % 7);
        memset(sh, 0xAA, sizeof sh);
        memcpy(sh[0], &i, sizeof i);
        cr_assert_eq(bdbi_mergemap_find(m, &k, t), 1);
        uint32_t o;
        memcpy(&o, t, sizeof o);
        cr_assert_eq(o, i / 2);
    }
    for (uint32_t o = 0; o < N / 2; o++) {
        size_t n;
        memset(out, 0x77, 32);
        memcpy(out, &o, sizeof o);
        cr_assert_eq(bdbi_mergemap_forget_producing(m, out, &n), 0);
        cr_assert_eq(n, 2);
    }
    bdbi_mergemap_sizes_get(m, &sz);
    cr_assert_eq(sz.keys + sz.output_keys + sz.input_outputs, 0);
    bdbi_mergemap_destroy(m);
    cr_assert_eq(bdb_env_stats(env, &st), 0);
    cr_assert_eq(st.mem[BDB_MEM_LIST].bytes, st0.mem[BDB_MEM_LIST].bytes);
    cr_assert_gt(st.mem[BDB_MEM_LIST].peak_bytes, 1000000);
}

/* Every allocation of every record in a random run fails once; the failed
 * record returns BDB_ENOMEM and leaves the map equal to the model. */
Test(mergemap, every_allocation_failure_leaves_the_map_unchanged)
{
    rng_state = 5;
    bdbi_mergemap *m;
    alloc_fail_arm(1);
    cr_assert_eq(bdbi_mergemap_create(env, &m), BDB_ENOMEM);
    alloc_fail_disarm();
    cr_assert_eq(bdbi_mergemap_create(env, &m), 0);
    enum { OPS = 300, N_IN = 40, N_OUT = 30 };
    model md;
    model_init(&md, OPS);
    mkey keys[48];
    size_t n_keys = 0, failures = 0;
    for (int op = 0; op < OPS; op++) {
        mkey k = random_key(N_IN);
        k.n = op % 7 == 0 ? MAX_SH : k.n; /* some keys with many inputs */
        if (n_keys < 48)
            keys[n_keys++] = k;
        else
            keys[rnd(48)] = k;
        bdbi_merge_key v = view(&k);
        uint8_t out[32];
        pool_hash(1, rnd(N_OUT), out);
        if (rnd(5) == 0) {
            size_t n;
            cr_assert_eq(bdbi_mergemap_forget_producing(m, out, &n), 0);
            cr_assert_eq(n, model_forget(&md, out));
            continue;
        }
        for (long nth = 1;; nth++) {
            alloc_fail_arm(nth);
            int rc = bdbi_mergemap_record(m, &v, out);
            int hit = alloc_fail_fired();
            alloc_fail_disarm();
            if (!hit) {
                cr_assert_eq(rc, 0, "%s", bdb_errmsg());
                model_record(&md, &k, out);
                break;
            }
            failures++;
            cr_assert_eq(rc, BDB_ENOMEM, "op %d nth %ld: rc %d", op, nth, rc);
            compare_all(m, &md, N_IN, keys, n_keys);
        }
    }
    cr_assert_gt(failures, OPS, "allocations were failed: %zu", failures);
    compare_all(m, &md, N_IN, keys, n_keys);
    model_free(&md);
    bdbi_mergemap_destroy(m);
}
