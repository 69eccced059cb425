/* The peers of perf/bench_map: an in-memory open-addressing table with
 * the bucket map's cell layout, and LMDB (when configured). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LMDB
#include <lmdb.h>
#endif

#include "core/hash.h"

#include "bench_map.h"
#include "bench_util.h"

/* ---- the in-memory table ---- */

#define PT_CELL 56 /* state word + key + value, as a bucket-map table cell */

struct bm_ptable {
    uint8_t *cells;
    uint64_t cap, count, limit, grows, seed;
    unsigned bits;
    double max_load;
};

static int pt_alloc(bm_ptable *t, unsigned bits)
{
    t->cells = calloc((size_t)1 << bits, PT_CELL);
    if (!t->cells) return -1;
    t->bits = bits;
    t->cap = 1ull << bits;
    t->limit = (uint64_t)((double)t->cap * t->max_load);
    return 0;
}

bm_ptable *bm_pt_new(uint64_t expected, double max_load, uint64_t seed)
{
    bm_ptable *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->max_load = max_load;
    t->seed = seed;
    unsigned bits = 5;
    while ((double)(1ull << bits) * max_load < (double)expected) bits++;
    if (pt_alloc(t, bits)) {
        free(t);
        return NULL;
    }
    return t;
}

void bm_pt_free(bm_ptable *t)
{
    if (t) free(t->cells);
    free(t);
}

static inline uint8_t *pt_cell(const bm_ptable *t, uint64_t i)
{
    return t->cells + i * PT_CELL;
}

static inline uint64_t pt_state(const uint8_t *c)
{
    uint64_t s;
    memcpy(&s, c, 8);
    return s;
}

static inline uint64_t pt_home(const bm_ptable *t, const void *key)
{
    return bdbi_hash64(key, BM_KEY, t->seed) >> (64 - t->bits);
}

/* The cell holding key, or the empty cell where it would go. */
static inline uint8_t *pt_find(const bm_ptable *t, const void *key)
{
    uint64_t mask = t->cap - 1, i = pt_home(t, key);
    for (;; i = (i + 1) & mask) {
        uint8_t *c = pt_cell(t, i);
        if (pt_state(c) == 0 || memcmp(c + 8, key, BM_KEY) == 0) return c;
    }
}

static int pt_grow(bm_ptable *t)
{
    bm_ptable old = *t;
    if (pt_alloc(t, t->bits + 1)) {
        *t = old;
        return -1;
    }
    for (uint64_t i = 0; i < old.cap; i++) {
        const uint8_t *c = pt_cell(&old, i);
        if (pt_state(c)) memcpy(pt_find(t, c + 8), c, PT_CELL);
    }
    free(old.cells);
    t->grows++;
    return 0;
}

int bm_pt_insert(bm_ptable *t, const void *key, const void *val)
{
    uint8_t *c = pt_find(t, key);
    if (pt_state(c) == 0) {
        if (t->count + 1 > t->limit) {
            if (pt_grow(t)) return -1;
            c = pt_find(t, key);
        }
        uint64_t one = 1;
        memcpy(c, &one, 8);
        memcpy(c + 8, key, BM_KEY);
        t->count++;
    }
    memcpy(c + 8 + BM_KEY, val, BM_VAL);
    return 0;
}

int bm_pt_get(const bm_ptable *t, const void *key, void *val)
{
    const uint8_t *c = pt_find(t, key);
    if (pt_state(c) == 0) return 0;
    memcpy(val, c + 8 + BM_KEY, BM_VAL);
    return 1;
}

/* Backward-shift deletion: no tombstones, so gets after deletes probe no
 * further than in a table that never held the deleted keys. */
int bm_pt_delete(bm_ptable *t, const void *key)
{
    uint8_t *c = pt_find(t, key);
    if (pt_state(c) == 0) return 0;
    uint64_t mask = t->cap - 1, hole = (uint64_t)(c - t->cells) / PT_CELL;
    for (uint64_t j = (hole + 1) & mask;; j = (j + 1) & mask) {
        uint8_t *cj = pt_cell(t, j);
        if (pt_state(cj) == 0) break;
        /* the key in j may fill the hole only if the hole lies on its probe
         * path, from its home to j (distances mod the capacity: wraparound) */
        if (((j - pt_home(t, cj + 8)) & mask) >= ((j - hole) & mask)) {
            memcpy(pt_cell(t, hole), cj, PT_CELL);
            hole = j;
        }
    }
    memset(pt_cell(t, hole), 0, PT_CELL);
    t->count--;
    return 1;
}

uint64_t bm_pt_count(const bm_ptable *t)
{
    return t->count;
}
uint64_t bm_pt_capacity(const bm_ptable *t)
{
    return t->cap;
}
uint64_t bm_pt_bytes(const bm_ptable *t)
{
    return t->cap * PT_CELL;
}
uint64_t bm_pt_grows(const bm_ptable *t)
{
    return t->grows;
}

/* ---- LMDB ---- */

#ifdef HAVE_LMDB

struct bm_lmdb {
    MDB_env *env;
    MDB_dbi dbi;
};

struct bm_lmdb_reader {
    bm_lmdb *l;
    MDB_txn *txn;
    size_t batch, left;
    int active;
};

#define LMDB_CHECK(rc, what)                                                                       \
    do {                                                                                           \
        if ((rc) != 0) {                                                                           \
            fprintf(stderr, "bench: lmdb %s: %s\n", what, mdb_strerror(rc));                       \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

typedef struct head_num {
    uint64_t head, k;
} head_num;

static int by_head(const void *a, const void *b)
{
    const head_num *x = a, *y = b;
    return (x->head > y->head) - (x->head < y->head);
}

bm_lmdb *bm_lmdb_load(const char *dir, uint64_t n, double *secs, double *scan_secs)
{
    bm_lmdb *l = calloc(1, sizeof *l);
    head_num *order = malloc(n * sizeof *order);
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    if (!l || !order) goto fail;
    int rc = mdb_env_create(&l->env);
    LMDB_CHECK(rc, "env_create");
    /* a leaf node is 8 bytes of header + key + value; pages about 3/4
     * full after random inserts, full after appends; room to spare */
    rc = mdb_env_set_mapsize(l->env, (size_t)(n * (8 + BM_KEY + BM_VAL) * 2) + (64u << 20));
    LMDB_CHECK(rc, "set_mapsize");
    rc = mdb_env_set_maxreaders(l->env, 16);
    LMDB_CHECK(rc, "set_maxreaders");
    rc = mdb_env_open(l->env, dir, MDB_NOSYNC | MDB_NOMETASYNC | MDB_WRITEMAP | MDB_NOTLS, 0644);
    LMDB_CHECK(rc, "env_open");
    double t0 = now_s();
    /* keys sort by their first 8 bytes (big-endian), which are distinct */
    for (uint64_t k = 0; k < n; k++) order[k] = (head_num){bm_key_head(k), k};
    qsort(order, n, sizeof *order, by_head);
    rc = mdb_txn_begin(l->env, NULL, 0, &txn);
    LMDB_CHECK(rc, "txn_begin");
    rc = mdb_dbi_open(txn, NULL, 0, &l->dbi);
    LMDB_CHECK(rc, "dbi_open");
    for (uint64_t i = 0; i < n; i++) {
        uint8_t key[BM_KEY], val[BM_VAL];
        bm_key(order[i].k, key);
        bm_val(order[i].k, val);
        MDB_val mk = {BM_KEY, key}, mv = {BM_VAL, val};
        rc = mdb_put(txn, l->dbi, &mk, &mv, MDB_APPEND);
        LMDB_CHECK(rc, "put");
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    LMDB_CHECK(rc, "commit");
    *secs = now_s() - t0;
    free(order);
    order = NULL;

    /* warm: every page read once */
    t0 = now_s();
    rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn);
    LMDB_CHECK(rc, "txn_begin");
    rc = mdb_cursor_open(txn, l->dbi, &cur);
    LMDB_CHECK(rc, "cursor_open");
    MDB_val mk, mv;
    uint64_t seen = 0;
    volatile uint8_t sink = 0;
    for (rc = mdb_cursor_get(cur, &mk, &mv, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &mk, &mv, MDB_NEXT)) {
        sink ^= ((const uint8_t *)mv.mv_data)[0];
        seen++;
    }
    (void)sink;
    mdb_cursor_close(cur);
    cur = NULL;
    mdb_txn_abort(txn);
    txn = NULL;
    *scan_secs = now_s() - t0;
    if (seen != n) {
        fprintf(stderr, "bench: lmdb holds %llu keys, not %llu\n", (unsigned long long)seen,
                (unsigned long long)n);
        goto fail;
    }
    return l;
fail:
    if (cur) mdb_cursor_close(cur);
    if (txn) mdb_txn_abort(txn);
    free(order);
    if (l && l->env) mdb_env_close(l->env);
    free(l);
    return NULL;
}

void bm_lmdb_close(bm_lmdb *l)
{
    if (!l) return;
    mdb_env_close(l->env);
    free(l);
}

uint64_t bm_lmdb_file_bytes(const bm_lmdb *l)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(l->env, &info) || mdb_env_stat(l->env, &st)) return 0;
    return (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
}

bm_lmdb_reader *bm_lmdb_reader_new(bm_lmdb *l, size_t batch)
{
    bm_lmdb_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->l = l;
    r->batch = batch ? batch : 1;
    int rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &r->txn);
    if (rc) {
        fprintf(stderr, "bench: lmdb reader: %s\n", mdb_strerror(rc));
        free(r);
        return NULL;
    }
    r->active = 1;
    r->left = r->batch;
    return r;
}

void bm_lmdb_reader_free(bm_lmdb_reader *r)
{
    if (!r) return;
    mdb_txn_abort(r->txn);
    free(r);
}

int bm_lmdb_get(bm_lmdb_reader *r, const void *key, void *val)
{
    if (r->left == 0) {
        if (r->active) mdb_txn_reset(r->txn);
        r->active = mdb_txn_renew(r->txn) == 0;
        if (!r->active) return -1;
        r->left = r->batch;
    }
    r->left--;
    MDB_val mk = {BM_KEY, (void *)key}, mv;
    int rc = mdb_get(r->txn, r->l->dbi, &mk, &mv);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc || mv.mv_size != BM_VAL) return -1;
    memcpy(val, mv.mv_data, BM_VAL);
    return 1;
}

#endif
