/* Plain-C stress test of the bucket map (runs under TSan): reader threads
 * call bdb_map_read on random keys while writer threads insert, update
 * and delete keys, one thread advances ages (releasing shards: a few ages
 * to stay in memory and a small memory budget) and one iterates, on a map
 * that starts empty, so that tables grow many times and data files grow
 * with slot lists of 2..9 elements. Every answer is checked.
 *
 * The model: writer w owns the keys k with k % writers == w. The j-th
 * operation on key k (j >= 1) is a pure function of (k, j): a delete, or
 * a set to a slot list of len(k, j) elements (0..9) whose element i
 * encodes (k, j, i), with ref count ref(k, j). The writer publishes
 * started[k] = j before operation j and done[k] = j after it. A reader
 * loads a = done[k], reads, then loads b = started[k]: the answer must be
 * the state after some operation j in [a, b] (0: never written, absent).
 * A slot list mixing two versions or two keys, a torn element, or a
 * length that is not its version's fails the check. The writers vary how
 * they set (bdb_map_insert, try_insert + grow, bdb_map_update, a batch
 * of bdb_map_batch_insert_non_duplicates) and delete (bdb_map_delete,
 * update returning BDB_MAP_DELETE); update callbacks check `cur` against
 * the writer's model and that writing from a callback returns BDB_EBUSY.
 * At the end the map must hold exactly the writers' final model.
 *
 * STRESS_MAP_OPS: writer operations per configuration (default 1,000,000,
 * about 1-3 s per configuration; 150,000 in TSan builds, about 20 s in all). */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../perf/bench_util.h" /* mix64, now_s */
#include "bucketdb/map.h"

#define NKEYS    4096 /* keys the writers use */
#define NABSENT  256  /* keys never written: numbers NKEYS.. */
#define HOT      128  /* a third of the operations go to these */
#define ELEM     16
#define MAXLEN   9
#define CAP      16 /* elements a reader's buffer holds */
#define READERS  3
#define REPORTED 10
#define BATCH    64 /* keys per batch insert */

typedef struct config {
    const char *name;
    uint32_t shards, max_search, writers, ages_to_stay, age_interval_ms;
    int ref_counts;
    uint64_t memory_budget;
} config;

static const config configs[] = {
    {"4 shards, max_search 32, 2 writers, ages 2, budget 64 KiB", 4, 32, 2, 2, 0, 0, 64 << 10},
    {"2 shards, max_search 4, ref counts, 1 writer, ages 1, budget 16 KiB", 2, 4, 1, 1, 0, 1,
     16 << 10},
    {"8 shards, max_search 8, ref counts, 2 writers, the map's age thread (1 ms)", 8, 8, 2, 3, 1, 1,
     32 << 10},
};

static const config *cfg;
static bdb_map *map;
static atomic_uint started[NKEYS], done[NKEYS];
static uint32_t version[NKEYS]; /* writers' model: the version present, 0 = absent */
static atomic_int writers_done, stop;
static long fail_base; /* failures before this configuration */
static atomic_long failures, n_reads, n_found, n_visits, n_iters, n_ages, n_busy;

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Key k: 8 spread bytes (its shard), k little-endian, 16 check bytes. */
static void make_key(uint32_t k, uint8_t *out)
{
    uint64_t h = mix64(k + 0x9e3779b97f4a7c15ull), c0 = mix64(k ^ 0xabcdefull), c1 = mix64(c0);
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(h >> (56 - 8 * i));
    uint64_t kk = k;
    memcpy(out + 8, &kk, 8);
    memcpy(out + 16, &c0, 8);
    memcpy(out + 24, &c1, 8);
}

/* ---- operation j on key k ---- */

static uint64_t op_hash(uint32_t k, uint32_t j)
{
    return mix64((uint64_t)k << 32 | j);
}

/* A quarter of each writer's keys are first set by a batch insert: one
 * element, ref count 1. */
static int batch_key(uint32_t k)
{
    return (k / cfg->writers) % 4 == 0;
}

static int op_delete(uint32_t k, uint32_t j)
{
    if (j == 0) return 1; /* never written: absent */
    if (j == 1 && batch_key(k)) return 0;
    return op_hash(k, j) % 6 == 0;
}

static size_t op_len(uint32_t k, uint32_t j)
{
    if (j == 1 && batch_key(k)) return 1;
    uint64_t l = (op_hash(k, j) >> 8) % 13;
    return l > MAXLEN ? 1 : (size_t)l;
}

static uint64_t op_ref(uint32_t k, uint32_t j)
{
    if (!cfg->ref_counts || (j == 1 && batch_key(k))) return 1;
    uint64_t h = op_hash(k, j) >> 20;
    return h % 4 == 0 ? 0 : h % 4 == 1 ? 2 + (h >> 2) % 1000 : 1;
}

static void make_elem(uint32_t k, uint32_t j, size_t i, uint8_t *out)
{
    uint64_t w0 = (uint64_t)k << 32 | j, w1 = mix64(w0 * 31 + i) ^ (uint64_t)i;
    memcpy(out, &w0, 8);
    memcpy(out + 8, &w1, 8);
}

static void make_list(uint32_t k, uint32_t j, uint8_t *out)
{
    for (size_t i = 0; i < op_len(k, j); i++) make_elem(k, j, i, out + i * ELEM);
}

/* Whether (n, first `have` elements, ref) is key k's state after op j. */
static int state_is(uint32_t k, uint32_t j, size_t n, const uint8_t *el, size_t have, uint64_t ref)
{
    if (op_delete(k, j) || n != op_len(k, j) || ref != op_ref(k, j)) return 0;
    for (size_t i = 0; i < have && i < n; i++) {
        uint8_t want[ELEM];
        make_elem(k, j, i, want);
        if (memcmp(el + i * ELEM, want, ELEM)) return 0;
    }
    return 1;
}

static void fail(const char *what, uint32_t k, uint32_t a, uint32_t b, int rc, size_t n,
                 const uint8_t *el, uint64_t ref)
{
    if (atomic_fetch_add(&failures, 1) >= REPORTED) return;
    uint64_t w0 = 0, w1 = 0;
    if (el) memcpy(&w0, el, 8), memcpy(&w1, el + 8, 8);
    fprintf(stderr,
            "# %s: key %u, ops %u..%u: rc %d, n %zu, ref %llu, first element key %u version %u "
            "(%016llx)\n",
            what, k, a, b, rc, n, (unsigned long long)ref, (unsigned)(w0 >> 32), (unsigned)w0,
            (unsigned long long)w1);
}

/* ---- readers ---- */

/* Whether a read's answer (rc, n, the first `have` elements, ref) is the
 * state after one of key k's operations a..b. */
static int answer_ok(uint32_t k, uint32_t a, uint32_t b, int rc, size_t n, const uint8_t *el,
                     size_t have, uint64_t ref)
{
    if (rc < 0 || rc > 1 || b < a) return 0;
    if (rc == 1 && have > 0) {
        /* the version is in the elements */
        uint64_t w0;
        memcpy(&w0, el, 8);
        uint32_t v = (uint32_t)w0;
        return (w0 >> 32) == k && v >= a && v <= b && state_is(k, v, n, el, have, ref);
    }
    for (uint32_t j = a; j <= b; j++)
        if (rc == 0 ? op_delete(k, j) : state_is(k, j, n, el, 0, ref)) return 1;
    return 0;
}

static void read_check(uint32_t k, uint64_t *s)
{
    uint8_t key[32], el[CAP * ELEM];
    make_key(k, key);
    static const size_t caps[4] = {0, 1, 4, CAP};
    size_t cap = caps[rnd(s) % 4], n = 0;
    uint64_t ref = 0;
    uint32_t a = k < NKEYS ? atomic_load_explicit(&done[k], memory_order_acquire) : 0;
    int rc = bdb_map_read(map, key, cap ? el : NULL, cap, &n, &ref);
    /* a state the read saw was published after its started[k]: the load
     * sees that or later */
    uint32_t b = k < NKEYS ? atomic_load(&started[k]) : 0;
    atomic_fetch_add_explicit(&n_reads, 1, memory_order_relaxed);
    if (rc == 1) atomic_fetch_add_explicit(&n_found, 1, memory_order_relaxed);
    size_t have = rc == 1 && n < cap ? n : rc == 1 ? cap : 0;
    if (!answer_ok(k, a, b, rc, n, el, have, ref))
        fail("read", k, a, b, rc, n, have ? el : NULL, ref);
}

/* The same through bdb_map_read_many: each key's answer within the
 * brackets taken before and after the whole batch. */
#define READ_BATCH 8
static void read_many_check(const uint32_t *ks, uint64_t *s)
{
    (void)s;
    uint8_t keys[READ_BATCH][32], el[READ_BATCH][CAP * ELEM];
    uint32_t a[READ_BATCH], b[READ_BATCH];
    size_t lens[READ_BATCH];
    uint64_t refs[READ_BATCH];
    int found[READ_BATCH];
    for (int i = 0; i < READ_BATCH; i++) {
        make_key(ks[i], keys[i]);
        a[i] = ks[i] < NKEYS ? atomic_load_explicit(&done[ks[i]], memory_order_acquire) : 0;
    }
    int64_t hits = bdb_map_read_many(map, keys, READ_BATCH, el, CAP, lens, refs, found);
    for (int i = 0; i < READ_BATCH; i++) b[i] = ks[i] < NKEYS ? atomic_load(&started[ks[i]]) : 0;
    if (hits < 0) fail("read_many", ks[0], a[0], b[0], (int)hits, 0, NULL, 0);
    atomic_fetch_add_explicit(&n_reads, READ_BATCH, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_found, (uint64_t)hits, memory_order_relaxed);
    for (int i = 0; i < READ_BATCH; i++) {
        size_t have = found[i] ? (lens[i] < CAP ? lens[i] : CAP) : 0;
        if (!answer_ok(ks[i], a[i], b[i], found[i], lens[i], el[i], have, refs[i]))
            fail("read_many", ks[i], a[i], b[i], found[i], lens[i], have ? el[i] : NULL, refs[i]);
    }
}

static void *reader(void *arg)
{
    uint64_t s = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
    while (!atomic_load(&stop)) {
        uint64_t r = rnd(&s);
        uint32_t k = r % 16 == 0  ? NKEYS + (uint32_t)((r >> 8) % NABSENT)
                     : r % 3 == 0 ? (uint32_t)((r >> 8) % HOT)
                                  : (uint32_t)((r >> 8) % NKEYS);
        if (r % 4 == 3) {
            uint32_t ks[READ_BATCH];
            for (int i = 0; i < READ_BATCH; i++) {
                uint64_t q = rnd(&s);
                ks[i] = q % 16 == 0 ? NKEYS + (uint32_t)((q >> 8) % NABSENT)
                                    : (uint32_t)((q >> 8) % NKEYS);
            }
            read_many_check(ks, &s);
        } else {
            read_check(k, &s);
        }
        if (r % 512 == 1) {
            uint8_t key[32];
            make_key(k, key);
            if (bdb_map_shard_of(map, key) >= cfg->shards) fail("shard_of", k, 0, 0, -1, 0, 0, 0);
            (void)bdb_map_count(map, bdb_map_shard_of(map, key));
        }
    }
    return NULL;
}

/* ---- writers ---- */

typedef struct upd_ctx {
    uint32_t k, j;
    uint8_t list[MAXLEN * ELEM];
    int bad;
} upd_ctx;

static int upd_fn(void *arg, const bdb_map_value *cur, bdb_map_value *out)
{
    upd_ctx *c = arg;
    uint32_t v = version[c->k];
    if (v ? !cur || !state_is(c->k, v, cur->n, cur->slots, cur->n, cur->ref_count) : cur != NULL)
        c->bad = 1;
    /* reading from a callback sees the same; writing is refused */
    uint8_t key[32], el[CAP * ELEM];
    size_t n = 0;
    uint64_t ref = 0;
    make_key(c->k, key);
    int rc = bdb_map_read(map, key, el, CAP, &n, &ref);
    if (rc != (cur != NULL) || (cur && (n != cur->n || (n && memcmp(el, cur->slots, n * ELEM)))))
        c->bad = 2;
    if (c->j % 8 == 0) {
        make_key(NKEYS + c->k % NABSENT, key);
        if (bdb_map_insert(map, key, el, 1, 1) != BDB_EBUSY ||
            bdb_map_delete(map, key) != BDB_EBUSY)
            c->bad = 3;
        atomic_fetch_add_explicit(&n_busy, 1, memory_order_relaxed);
    }
    if (op_delete(c->k, c->j)) return BDB_MAP_DELETE;
    make_list(c->k, c->j, c->list);
    *out = (bdb_map_value){c->list, op_len(c->k, c->j), op_ref(c->k, c->j)};
    return BDB_MAP_SET;
}

/* Operation j (= started + 1) on key k, by a method chosen with s. */
static int do_op(uint32_t k, uint64_t *s)
{
    uint32_t j = atomic_load_explicit(&started[k], memory_order_relaxed) + 1;
    uint8_t key[32], list[MAXLEN * ELEM];
    make_key(k, key);
    atomic_store(&started[k], j);
    int rc = 0, how = (int)(rnd(s) % 4);
    if (how == 0) {
        upd_ctx c = {.k = k, .j = j};
        rc = bdb_map_update(map, key, upd_fn, &c);
        if (c.bad) {
            fail(c.bad == 1   ? "update's cur"
                 : c.bad == 2 ? "read in a callback"
                              : "callback write",
                 k, j, j, rc, 0, NULL, 0);
        }
    } else if (op_delete(k, j)) {
        rc = bdb_map_delete(map, key);
        if (rc != (version[k] != 0)) fail("delete", k, j, j, rc, 0, NULL, 0);
        rc = rc < 0 ? rc : 0;
    } else {
        make_list(k, j, list);
        if (how == 1) {
            bdb_map_need need;
            for (int t = 0; (rc = bdb_map_try_insert(map, key, list, op_len(k, j), op_ref(k, j),
                                                     &need)) == BDB_EAGAIN;
                 t++) {
                if (t == 100 || (rc = bdb_map_grow(map, &need)) != 0) break;
            }
        } else {
            rc = bdb_map_insert(map, key, list, op_len(k, j), op_ref(k, j));
        }
    }
    if (rc) {
        fail("write", k, j, j, rc, 0, NULL, 0);
        fprintf(stderr, "#   %s\n", bdb_errmsg());
    }
    version[k] = op_delete(k, j) ? 0 : j;
    atomic_store_explicit(&done[k], j, memory_order_release);
    return rc;
}

/* The writer's first step: its batch keys, set by one call per BATCH
 * keys, the first key of each call repeated at its end (a duplicate). */
static void batch_load(uint32_t w)
{
    uint8_t keys[(BATCH + 1) * 32], vals[(BATCH + 1) * ELEM], dupv[(BATCH + 1) * ELEM];
    size_t dupi[BATCH + 1];
    uint32_t ks[BATCH];
    size_t n = 0;
    for (uint32_t k = w; k < NKEYS + cfg->writers; k += cfg->writers) {
        if (k < NKEYS && batch_key(k)) {
            ks[n] = k;
            make_key(k, keys + n * 32);
            make_elem(k, 1, 0, vals + n * ELEM);
            atomic_store(&started[k], 1);
            n++;
        }
        if (n == BATCH || (k >= NKEYS && n > 0)) {
            memcpy(keys + n * 32, keys, 32);
            memcpy(vals + n * ELEM, vals, ELEM);
            size_t nd = 0;
            int rc = bdb_map_batch_insert_non_duplicates(map, keys, vals, n + 1, dupi, dupv, &nd);
            if (rc || nd != 1 || dupi[0] != n || memcmp(dupv, vals, ELEM)) {
                fail("batch insert", ks[0], 1, 1, rc, nd, NULL, 0);
                fprintf(stderr, "#   %s\n", rc ? bdb_errmsg() : "wrong duplicates");
            }
            for (size_t i = 0; i < n; i++) {
                version[ks[i]] = 1;
                atomic_store_explicit(&done[ks[i]], 1, memory_order_release);
            }
            n = 0;
        }
    }
}

typedef struct writer_arg {
    uint32_t w;
    uint64_t ops, did;
} writer_arg;

static void *writer(void *arg)
{
    writer_arg *a = arg;
    uint64_t s = 0x1234567ull + a->w;
    uint32_t W = cfg->writers, own = NKEYS / W;
    batch_load(a->w);
    for (uint64_t i = 0; i < a->ops && atomic_load(&failures) == fail_base; i++) {
        /* the keys in use grow from 64 to all over the first half, so the
         * tables keep growing while everything else runs */
        uint64_t active = 64 + (own - 64) * (i < a->ops / 2 ? i : a->ops / 2) / (a->ops / 2 + 1);
        uint64_t r = rnd(&s), slot = r % 3 == 0 ? (r >> 8) % (HOT / W) : (r >> 8) % active;
        do_op((uint32_t)(slot * W + a->w), &s);
        a->did++;
    }
    atomic_fetch_add(&writers_done, 1);
    return NULL;
}

/* ---- iteration and ages ---- */

typedef struct visit_ctx {
    uint32_t shard; /* BDB_MAP_ALL_SHARDS or the one visited */
    const uint8_t *lo, *hi;
    int keys_only;
    uint64_t seen;
} visit_ctx;

static int visit(void *arg, const void *key, const bdb_map_value *v)
{
    visit_ctx *c = arg;
    uint64_t k64;
    memcpy(&k64, (const uint8_t *)key + 8, 8);
    uint32_t k = (uint32_t)k64;
    uint8_t want[32];
    make_key(k, want);
    c->seen++;
    if (k64 >= NKEYS || memcmp(key, want, 32)) {
        fail("iterate: a key never written", k, 0, 0, 1, 0, NULL, 0);
        return 0;
    }
    if ((c->lo && memcmp(key, c->lo, 32) < 0) || (c->hi && memcmp(key, c->hi, 32) >= 0))
        fail("iterate: a key out of the range", k, 0, 0, 1, 0, NULL, 0);
    if (c->shard != BDB_MAP_ALL_SHARDS && bdb_map_shard_of(map, key) != c->shard)
        fail("iterate: a key of another shard", k, 0, 0, 1, 0, NULL, 0);
    if (c->keys_only ? v != NULL : v == NULL) {
        fail("iterate: value presence", k, 0, 0, 1, 0, NULL, 0);
        return 0;
    }
    /* the shard's writers wait: k's state is that after done or started */
    uint32_t a = atomic_load_explicit(&done[k], memory_order_acquire);
    uint32_t b = atomic_load(&started[k]);
    if (v && !answer_ok(k, a, b, 1, v->n, v->slots, v->n, v->ref_count))
        fail("iterate", k, a, b, 1, v->n, v->n ? v->slots : NULL, v->ref_count);
    if (v && c->seen % 64 == 0) {
        /* a read from the callback sees the same */
        uint8_t el[CAP * ELEM];
        size_t n = 0;
        uint64_t ref = 0;
        int rc = bdb_map_read(map, key, el, CAP, &n, &ref);
        if (rc != 1 || n != v->n || ref != v->ref_count || memcmp(el, v->slots, n * ELEM))
            fail("read in a visit", k, a, b, rc, n, n ? el : NULL, ref);
    }
    return 0;
}

static void *iterator(void *arg)
{
    uint64_t s = 0xfeedull + (uintptr_t)arg;
    while (!atomic_load(&stop)) {
        uint64_t r = rnd(&s);
        uint8_t lo[32], hi[32];
        visit_ctx c = {.shard = BDB_MAP_ALL_SHARDS};
        if (r % 3 == 1) {
            c.shard = (uint32_t)((r >> 8) % cfg->shards);
        } else if (r % 3 == 2) {
            make_key((uint32_t)((r >> 8) % NKEYS), lo);
            make_key((uint32_t)((r >> 24) % NKEYS), hi);
            if (memcmp(lo, hi, 32) > 0) {
                uint8_t t[32];
                memcpy(t, lo, 32), memcpy(lo, hi, 32), memcpy(hi, t, 32);
            }
            c.lo = lo, c.hi = hi, c.keys_only = 1;
        }
        int rc = bdb_map_iterate(map, c.shard, c.lo, c.hi, c.keys_only ? BDB_MAP_KEYS_ONLY : 0,
                                 visit, &c);
        if (rc) fail("iterate's return", 0, 0, 0, rc, 0, NULL, 0);
        atomic_fetch_add_explicit(&n_visits, (long)c.seen, memory_order_relaxed);
        atomic_fetch_add_explicit(&n_iters, 1, memory_order_relaxed);
        usleep(500);
    }
    return NULL;
}

static void *ager(void *arg)
{
    (void)arg;
    for (uint64_t i = 0; !atomic_load(&stop); i++) {
        if (!cfg->age_interval_ms) bdb_map_advance_age(map);
        atomic_fetch_add_explicit(&n_ages, 1, memory_order_relaxed);
        (void)bdb_map_count(map, BDB_MAP_ALL_SHARDS);
        if (i % 32 == 0) {
            bdb_map_stats st;
            bdb_map_shard_stats ss;
            if (bdb_map_stats_get(map, &st) ||
                bdb_map_shard_stats_get(map, (uint32_t)(i / 32 % cfg->shards), &ss))
                fail("stats", 0, 0, 0, -1, 0, NULL, 0);
        }
        usleep(200);
    }
    return NULL;
}

/* ---- one configuration ---- */

/* After the threads: the map holds exactly the model. */
static uint64_t final_check(void)
{
    uint64_t present = 0;
    for (uint32_t k = 0; k < NKEYS + NABSENT; k++) {
        uint32_t v = k < NKEYS ? version[k] : 0, j = k < NKEYS ? atomic_load(&started[k]) : 0;
        uint8_t key[32], el[CAP * ELEM];
        size_t n = 0;
        uint64_t ref = 0;
        make_key(k, key);
        int rc = bdb_map_read(map, key, el, CAP, &n, &ref);
        if (v) present++;
        if (v ? !answer_ok(k, v, v, rc, n, el, n < CAP ? n : CAP, ref) || rc != 1 : rc != 0)
            fail("final read", k, j, j, rc, n, rc == 1 && n ? el : NULL, ref);
    }
    visit_ctx c = {.shard = BDB_MAP_ALL_SHARDS};
    uint64_t count = bdb_map_count(map, BDB_MAP_ALL_SHARDS);
    int rc = bdb_map_iterate(map, BDB_MAP_ALL_SHARDS, NULL, NULL, 0, visit, &c);
    if (rc || c.seen != present || count != present) {
        atomic_fetch_add(&failures, 1);
        fprintf(stderr, "# final: %llu keys in the model, %llu visited (rc %d), count %llu\n",
                (unsigned long long)present, (unsigned long long)c.seen, rc,
                (unsigned long long)count);
    }
    return present;
}

static int run(int num, const config *c, uint64_t ops)
{
    cfg = c;
    for (int k = 0; k < NKEYS; k++) atomic_init(&started[k], 0), atomic_init(&done[k], 0);
    memset(version, 0, sizeof version);
    atomic_store(&writers_done, 0), atomic_store(&stop, 0);
    atomic_store(&n_reads, 0), atomic_store(&n_found, 0), atomic_store(&n_visits, 0);
    atomic_store(&n_iters, 0), atomic_store(&n_ages, 0), atomic_store(&n_busy, 0);
    long f0 = fail_base = atomic_load(&failures);

    bdb_env_options eo;
    bdb_env_options_init(&eo);
    eo.threads = 1;
    bdb_env *env;
    bdb_map_options mo;
    bdb_map_options_init(&mo);
    mo.max_buckets = c->shards;
    mo.max_search = c->max_search;
    mo.key_size = 32;
    mo.elem_size = ELEM;
    mo.ref_counts = c->ref_counts;
    mo.fsync = 0;
    mo.ages_to_stay_in_memory = c->ages_to_stay;
    mo.memory_budget = c->memory_budget;
    mo.age_interval_ms = c->age_interval_ms;
    if (bdb_env_open(&eo, &env) || bdb_map_open(env, &mo, &map)) {
        printf("not ok %d - %s: open: %s\n", num, c->name, bdb_errmsg());
        return 1;
    }
    double t0 = now_s();
    pthread_t rd[READERS], wr[2], it, ag;
    writer_arg wa[2];
    for (uintptr_t i = 0; i < READERS; i++) pthread_create(&rd[i], NULL, reader, (void *)i);
    pthread_create(&it, NULL, iterator, NULL);
    pthread_create(&ag, NULL, ager, NULL);
    for (uint32_t w = 0; w < c->writers; w++) {
        wa[w] = (writer_arg){w, ops / c->writers, 0};
        pthread_create(&wr[w], NULL, writer, &wa[w]);
    }
    uint64_t did = 0;
    for (uint32_t w = 0; w < c->writers; w++) pthread_join(wr[w], NULL), did += wa[w].did;
    atomic_store(&stop, 1);
    for (int i = 0; i < READERS; i++) pthread_join(rd[i], NULL);
    pthread_join(it, NULL);
    pthread_join(ag, NULL);
    double secs = now_s() - t0;

    uint64_t present = final_check();
    bdb_map_stats st = {0};
    if (bdb_map_stats_get(map, &st)) fail("stats", 0, 0, 0, -1, 0, NULL, 0);
    /* what the run was meant to exercise did happen */
    int shape_ok = st.total.table_grows >= 2 * c->shards && st.total.data_grows > 0 &&
                   st.releases > 0 && atomic_load(&n_busy) > 0;
    int crc = bdb_map_close(map);
    int erc = bdb_env_close(env);
    long f = atomic_load(&failures) - f0;
    int ok = !f && shape_ok && !crc && !erc;
    printf("%s %d - %s: %llu ops in %.1f s; %ld reads (%ld found), %ld iterations (%ld visits), "
           "%ld ages, %ld wrong\n",
           ok ? "ok" : "not ok", num, c->name, (unsigned long long)did, secs, atomic_load(&n_reads),
           atomic_load(&n_found), atomic_load(&n_iters), atomic_load(&n_visits),
           atomic_load(&n_ages), f);
    printf("#   final %llu keys; table growths %llu, data growths %llu, releases %llu, probe max "
           "%llu; close %d, env close %d\n",
           (unsigned long long)present, (unsigned long long)st.total.table_grows,
           (unsigned long long)st.total.data_grows, (unsigned long long)st.releases,
           (unsigned long long)st.total.probe_max, crc, erc);
    return !ok;
}

int main(void)
{
    const char *e = getenv("STRESS_MAP_OPS");
#if defined(__SANITIZE_THREAD__)
    uint64_t def = 150000;
#else
    uint64_t def = 1000000;
#endif
    uint64_t ops = e && *e ? strtoull(e, NULL, 10) : def;
    if (ops < 1000) ops = 1000;
    int n = (int)(sizeof configs / sizeof configs[0]), bad = 0;
    for (int i = 0; i < n; i++) bad |= run(i + 1, &configs[i], ops);
    printf("1..%d\n", n);
    return bad;
}
