#include "config.h"

#include "mtable.h"

#include <sched.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/rcu.h"

#define KEY_OFF 8

uint64_t bdbi_mtable_hash(const bdbi_mlayout *L, uint64_t seed, const void *key)
{
    return bdbi_hash64(key, L->key_size, seed);
}

static int wrap(bdb_env *env, bdbi_rwmap *m, const bdbi_mfile_info *info, bdbi_mtable **out)
{
    bdbi_mtable *t = bdbi_calloc(env, BDB_MEM_MAP, 1, sizeof *t);
    if (!t) return BDB_ENOMEM;
    t->m = *m;
    *m = (bdbi_rwmap){0};
    t->cells = t->m.data + BDBI_MFILE_HDR;
    t->cap = info->capacity;
    t->bits = (unsigned)__builtin_ctzll(info->capacity);
    t->seed = info->seed;
    t->gen = info->gen;
    t->cell_size = info->cell_size;
    t->env = env;
    *out = t;
    return 0;
}

int bdbi_mtable_create(bdb_env *env, const char *path, const bdbi_mlayout *L, unsigned bits,
                       const bdbi_mfile_info *info, bdbi_mtable **out)
{
    bdbi_mfile_info in = *info;
    in.cls = BDBI_MFILE_TABLE;
    in.capacity = (uint64_t)1 << bits;
    in.cell_size = L->cell_size;
    in.clean = 0;
    bdbi_rwmap m;
    int rc = bdbi_rwmap_create(env, path, BDBI_MFILE_HDR + (size_t)in.capacity * L->cell_size, &m);
    if (rc) return rc;
    bdbi_mfile_hdr_put(m.data, &in);
    rc = wrap(env, &m, &in, out);
    if (rc) bdbi_rwmap_unmap(&m);
    return rc;
}

int bdbi_mtable_adopt(bdb_env *env, bdbi_rwmap *m, const bdbi_mfile_info *info, bdbi_mtable **out)
{
    if (info->capacity & (info->capacity - 1) ||
        info->capacity < ((uint64_t)1 << BDBI_MTABLE_MIN_BITS))
        return bdbi_err(BDB_EFORMAT, "table capacity %llu is not a power of two >= 64",
                        (unsigned long long)info->capacity);
    return wrap(env, m, info, out);
}

void bdbi_mtable_free(bdbi_mtable *t)
{
    if (!t) return;
    bdbi_rwmap_unmap(&t->m);
    bdbi_free(t->env, BDB_MEM_MAP, t, sizeof *t);
}

static void free_cb(struct rcu_head *h)
{
    BDBI_RCU_CALLBACK_ENTER();
    bdbi_mtable_free(caa_container_of(h, bdbi_mtable, rcu));
}

void bdbi_mtable_free_rcu(bdbi_mtable *t)
{
    if (t) bdbi_call_rcu(&t->rcu, free_cb);
}

/* The key as whole words (zero padded), for word-wise comparison. */
static inline void key_words(const bdbi_mlayout *L, const void *key, uint64_t *w)
{
    w[L->key_pad / 8 - 1] = 0;
    memcpy(w, key, L->key_size);
}

static inline int key_eq(const uint8_t *cell, const uint64_t *kw, uint32_t words)
{
    uint64_t diff = 0;
    for (uint32_t i = 0; i < words; i++) diff |= bdbi_ld(cell + KEY_OFF + 8 * i) ^ kw[i];
    return diff == 0;
}

static inline void cpu_relax(unsigned *spins)
{
    if (++*spins > 64) {
        sched_yield();
        *spins = 0;
    } else {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
}

/* The largest distance from home a key may have: max_search - 1, and less
 * than the table. */
static inline unsigned max_dist(const bdbi_mlayout *L, const bdbi_mtable *t)
{
    uint64_t d = L->max_search - 1;
    if (d > BDBI_MS_MAX_DIST) d = BDBI_MS_MAX_DIST;
    if (d > t->cap - 1) d = t->cap - 1;
    return (unsigned)d;
}

/* Copies the slot list a stable-looking state `s` refers to. Returns 1,
 * or 0 if the data cell does not hold a list (the caller rechecks the
 * state: a writer may have moved on). */
static int copy_value(const bdbi_mlayout *L, const uint8_t *cell, uint64_t s,
                      bdbi_mdata *const *data, void *slots, size_t cap, size_t *n, uint64_t *ref)
{
    if (BDBI_MS_TAG(s) == BDBI_MS_INLINE) {
        *n = (s & BDBI_MS_ONE) ? 1 : 0;
        *ref = 1;
        if (*n && cap) bdbi_cell_copy_out(slots, cell + KEY_OFF + L->key_pad, L->elem_size);
        return 1;
    }
    unsigned cls = BDBI_MS_CLS(s);
    uint64_t idx = BDBI_MS_IDX(s);
    if (cls >= BDBI_MAP_CLASSES) return 0;
    const bdbi_mdata *d = bdbi_rcu_deref(data[cls]);
    if (!d || idx >= d->cap) return 0;
    const uint8_t *dc = bdbi_mdata_cell(d, idx);
    uint64_t h = bdbi_ld(dc);
    uint64_t cnt = h >> 1;
    if (!(h & 1) || cnt > ((uint64_t)1 << cls)) return 0;
    *n = (size_t)cnt;
    *ref = bdbi_ld(dc + 8);
    size_t k = *n < cap ? *n : cap;
    if (k) bdbi_cell_copy_out(slots, dc + 16, k * L->elem_size);
    return 1;
}

int bdbi_mtable_read(const bdbi_mlayout *L, const bdbi_mtable *t, bdbi_mdata *const *data,
                     bdbi_mtable *const *cur, const void *key, uint64_t hash, void *slots,
                     size_t cap, size_t *n, uint64_t *ref)
{
    uint64_t kw[BDB_MAP_MAX_KEY / 8];
    key_words(L, key, kw);
    uint32_t words = L->key_pad / 8;
    uint64_t mask = t->cap - 1, home = hash >> (64 - t->bits);
    unsigned limit = max_dist(L, t), spins = 0;
    for (;;) {
        uint64_t e1 = __atomic_load_n(&t->epoch, __ATOMIC_ACQUIRE);
        if (e1 & 1) {
            cpu_relax(&spins);
            continue;
        }
        uint64_t pos = home;
        for (unsigned i = 0; i <= limit; i++, pos = (pos + 1) & mask) {
            const uint8_t *cell = bdbi_mtable_cell(t, pos);
        again:;
            uint64_t s1 = bdbi_ld_acq(cell);
            if (BDBI_MS_TAG(s1) == BDBI_MS_EMPTY) break;
            if (s1 & BDBI_MS_BUSY) {
                cpu_relax(&spins);
                goto again;
            }
            /* keys sit in the order of their homes: one nearer its home
             * than we are to ours means ours is not here */
            if (BDBI_MS_DIST(s1) < i) break;
            if (!key_eq(cell, kw, words)) continue;
            int ok = copy_value(L, cell, s1, data, slots, cap, n, ref);
            bdbi_fence_acquire();
            if (bdbi_ld(cell) != s1) {
                cpu_relax(&spins);
                goto again;
            }
            /* after the fence: if the copy saw a store the writer made
             * after replacing the table, this load sees the replacement */
            if (cur && bdbi_rcu_deref(*cur) != t) return BDBI_MTABLE_STALE;
            if (!ok)
                return bdbi_err(BDB_ECORRUPT,
                                "bucket map: a table cell names data cell %llu of class %u, "
                                "which holds no slot list",
                                (unsigned long long)BDBI_MS_IDX(s1), BDBI_MS_CLS(s1));
            return 1;
        }
        /* not found: valid unless cells moved meanwhile */
        bdbi_fence_acquire();
        if (__atomic_load_n(&t->epoch, __ATOMIC_RELAXED) == e1) return 0;
    }
}

/* The writer's probe; `unique` says the key is known to be absent (a
 * rebuild), so no cell's key need be compared. */
static inline void probe(const bdbi_mlayout *L, const bdbi_mtable *t, const void *key,
                         uint64_t hash, int unique, bdbi_mprobe *p)
{
    uint64_t kw[BDB_MAP_MAX_KEY / 8];
    if (!unique) key_words(L, key, kw);
    uint32_t words = L->key_pad / 8;
    uint64_t mask = t->cap - 1, pos = hash >> (64 - t->bits);
    unsigned limit = max_dist(L, t);
    *p = (bdbi_mprobe){0};
    for (unsigned i = 0; i <= limit; i++, pos = (pos + 1) & mask) {
        uint64_t s = bdbi_mtable_state(t, pos);
        p->pos = pos;
        p->dist = i;
        if (BDBI_MS_TAG(s) == BDBI_MS_EMPTY) {
            p->fits = 1;
            return;
        }
        if (BDBI_MS_DIST(s) < i) {
            /* ours goes here; every cell up to the next empty one moves
             * down one, and must stay within its window */
            p->shift = 1;
            uint64_t c = pos;
            for (uint64_t k = 0; k < t->cap; k++, c = (c + 1) & mask) {
                uint64_t sc = bdbi_mtable_state(t, c);
                if (BDBI_MS_TAG(sc) == BDBI_MS_EMPTY) {
                    p->end = c;
                    p->fits = 1;
                    return;
                }
                if (BDBI_MS_DIST(sc) + 1 > limit) return;
            }
            return;
        }
        if (!unique && key_eq(bdbi_mtable_cell(t, pos), kw, words)) {
            p->found = 1;
            return;
        }
    }
}

void bdbi_mtable_find(const bdbi_mlayout *L, const bdbi_mtable *t, const void *key, uint64_t hash,
                      bdbi_mprobe *p)
{
    probe(L, t, key, hash, 0, p);
}

/* Copies cell src into cell dst (which readers may be reading) at
 * distance `dist`. */
static void move_cell(bdbi_mtable *t, uint64_t dst, uint64_t src, unsigned dist)
{
    uint8_t *d = bdbi_mtable_cell(t, dst);
    const uint8_t *s = bdbi_mtable_cell(t, src);
    uint64_t sd = bdbi_ld(d), ss = bdbi_ld(s);
    if (BDBI_MS_TAG(sd) != BDBI_MS_EMPTY) bdbi_st(d, sd | BDBI_MS_BUSY);
    bdbi_fence_release();
    for (uint32_t i = 8; i < t->cell_size; i += 8) bdbi_st(d + i, bdbi_ld(s + i));
    bdbi_st_rel(d, bdbi_ms_next(sd, bdbi_ms_moved(ss, dist)));
}

static void epoch_begin(bdbi_mtable *t)
{
    __atomic_store_n(&t->epoch, t->epoch + 1, __ATOMIC_RELAXED);
    bdbi_fence_release();
}

static void epoch_end(bdbi_mtable *t)
{
    __atomic_store_n(&t->epoch, t->epoch + 1, __ATOMIC_RELEASE);
}

void bdbi_mtable_make_room(bdbi_mtable *t, const bdbi_mprobe *p)
{
    if (!p->shift) return;
    uint64_t mask = t->cap - 1;
    epoch_begin(t);
    /* from the far end back, so that a moving key is always in its old
     * cell or its new one, never in neither */
    for (uint64_t c = p->end; c != p->pos; c = (c - 1) & mask) {
        uint64_t prev = (c - 1) & mask;
        move_cell(t, c, prev, BDBI_MS_DIST(bdbi_mtable_state(t, prev)) + 1);
    }
    epoch_end(t);
}

void bdbi_mtable_set_inline(const bdbi_mlayout *L, bdbi_mtable *t, uint64_t pos, const void *key,
                            int is_new, unsigned dist, const void *elem, size_t n)
{
    uint8_t *cell = bdbi_mtable_cell(t, pos);
    uint64_t old = bdbi_ld(cell);
    uint8_t *val = cell + KEY_OFF + L->key_pad;
    /* readers may be copying this cell's value (or, after make_room, the
     * copy of the key that moved on): busy first */
    if (BDBI_MS_TAG(old) != BDBI_MS_EMPTY && (is_new || BDBI_MS_TAG(old) == BDBI_MS_INLINE))
        bdbi_st(cell, old | BDBI_MS_BUSY);
    bdbi_fence_release();
    if (is_new) bdbi_cell_copy_in(cell + KEY_OFF, key, L->key_size);
    if (n)
        bdbi_cell_copy_in(val, elem, L->elem_size);
    else
        for (uint32_t i = 0; i < L->elem_pad; i += 8) bdbi_st(val + i, 0);
    bdbi_st_rel(cell, bdbi_ms_next(old, bdbi_ms_inline(n, dist)));
}

void bdbi_mtable_set_data(const bdbi_mlayout *L, bdbi_mtable *t, uint64_t pos, const void *key,
                          int is_new, unsigned dist, unsigned cls, uint64_t idx)
{
    uint8_t *cell = bdbi_mtable_cell(t, pos);
    uint64_t old = bdbi_ld(cell);
    if (is_new) {
        if (BDBI_MS_TAG(old) != BDBI_MS_EMPTY) bdbi_st(cell, old | BDBI_MS_BUSY);
        bdbi_fence_release();
        bdbi_cell_copy_in(cell + KEY_OFF, key, L->key_size);
    }
    /* the slot list is complete in its data cell: swapping the reference
     * is the one store readers need to see */
    bdbi_st_rel(cell, bdbi_ms_next(old, bdbi_ms_data(cls, idx, dist)));
}

void bdbi_mtable_delete(bdbi_mtable *t, uint64_t pos)
{
    uint64_t mask = t->cap - 1, c = pos;
    epoch_begin(t);
    for (;;) {
        uint64_t n = (c + 1) & mask, sn = bdbi_mtable_state(t, n);
        if (n == pos || BDBI_MS_TAG(sn) == BDBI_MS_EMPTY || BDBI_MS_DIST(sn) == 0) {
            uint8_t *cell = bdbi_mtable_cell(t, c);
            bdbi_st_rel(cell, bdbi_ms_next(bdbi_ld(cell), BDBI_MS_EMPTY));
            break;
        }
        move_cell(t, c, n, BDBI_MS_DIST(sn) - 1);
        c = n;
    }
    epoch_end(t);
}

/* A cell where no cluster crosses: empty, or holding a key at its home.
 * One exists while the table is below its load limit. */
static uint64_t run_start(const bdbi_mtable *t)
{
    for (uint64_t i = 0; i < t->cap; i++) {
        uint64_t s = bdbi_mtable_state(t, i);
        if (BDBI_MS_TAG(s) == BDBI_MS_EMPTY || BDBI_MS_DIST(s) == 0) return i;
    }
    return 0;
}

int bdbi_mtable_rebuild(const bdbi_mlayout *L, const bdbi_mtable *from, bdbi_mtable *to)
{
    /* Growth keeps the seed, so a key's home in `to` is its home in
     * `from` followed by more hash bits: walking `from` from a run start
     * visits keys in the order of their homes in `to`, and each lands at
     * or just after the one before. The new table is written as a stream
     * (no cache miss per key, almost never a shift) instead of at random. */
    uint64_t mask = from->cap - 1, start = run_start(from);
    for (uint64_t k = 0; k < from->cap; k++) {
        const uint8_t *src = bdbi_mtable_cell(from, (start + k) & mask);
        uint64_t s = bdbi_ld(src);
        if (BDBI_MS_TAG(s) == BDBI_MS_EMPTY) continue;
        uint8_t key[BDB_MAP_MAX_KEY];
        bdbi_cell_copy_out(key, src + KEY_OFF, L->key_size);
        bdbi_mprobe p;
        probe(L, to, key, bdbi_mtable_hash(L, to->seed, key), 1, &p);
        if (!p.fits) return BDB_EAGAIN;
        bdbi_mtable_make_room(to, &p);
        /* `to` is not published: plain copies, state last */
        uint8_t *dst = bdbi_mtable_cell(to, p.pos);
        memcpy(dst + 8, src + 8, to->cell_size - 8);
        bdbi_st(dst, bdbi_ms_next(bdbi_ld(dst), bdbi_ms_moved(s, p.dist)));
    }
    return 0;
}

void bdbi_mtable_scan_stats(const bdbi_mlayout *L, const bdbi_mtable *t, bdbi_mtable_scan *out)
{
    (void)L;
    *out = (bdbi_mtable_scan){0};
    for (uint64_t i = 0; i < t->cap; i++) {
        uint64_t s = bdbi_mtable_state(t, i);
        if (BDBI_MS_TAG(s) == BDBI_MS_EMPTY) continue;
        uint64_t d = BDBI_MS_DIST(s);
        out->live++;
        out->dist_sum += d;
        if (d > out->dist_max) out->dist_max = d;
    }
}
