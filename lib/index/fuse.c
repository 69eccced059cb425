/* Binary fuse filter, 3-wise (Graf & Lemire 2022).
 *
 * The filter is an array of fingerprints cut into segments of seg_len cells.
 * A key's hash picks a first cell anywhere in the first seg_count segments and
 * one cell in each of the two segments after it; the key is "in" the filter
 * when the XOR of its three cells equals its fingerprint. Confining the cells
 * of a key to a window of three consecutive segments is what lets the array
 * be only ~12.5% larger than the key count and still be solvable, and it
 * keeps the construction's memory accesses local.
 *
 * Construction is hypergraph peeling: every cell records how many keys use it
 * and the XOR of their hashes; a cell used by exactly one key names that key,
 * which is removed from its other two cells, possibly leaving more cells with
 * one key. If every key is removed this way, assigning fingerprints in the
 * reverse order of removal satisfies every key, because each key's peel cell
 * is written after all the keys removed later and before any key removed
 * earlier (none of which touch that key's cells). If some keys remain, the
 * build starts over with another seed.
 *
 * Fingerprints are stored as little-endian bytes both in memory and on disk,
 * so a serialized filter can be queried in place (bdbi_fuse_view). */
#include "config.h"

#include "fuse.h"
#include "fuse_impl.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"
#include "core/hash.h"

#define CAT BDB_MEM_INDEX

enum {
    FORMAT_VERSION = 1,
    MIN_SEG_LOG2 = 2,
    /* the paper's cap: longer segments no longer help peeling */
    MAX_SEG_LOG2 = 18,
    /* one try fails with probability 0-6% depending on n (measured over
     * 20000 builds per size), so 100 failures mean a bug, not bad luck */
    MAX_TRIES = 100,
};

static const uint8_t MAGIC[4] = {'B', 'F', 'U', 'S'};

/* ---- queries ------------------------------------------------------------ */

static inline void cell_put(uint8_t *a, uint32_t i, uint32_t v, int bits)
{
    if (bits == 8) {
        a[i] = (uint8_t)v;
        return;
    }
    uint8_t *p = a + 2 * (size_t)i;
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

int bdbi_fuse_contains(const bdbi_fuse *f, uint64_t key)
{
    return bdbi_fuse_contains_inline(f, key);
}

void bdbi_fuse_prefetch(const bdbi_fuse *f, uint64_t key)
{
    uint32_t c[ARITY];
    key_cells(&f->g, key_hash(key, f->seed), c);
    size_t w = f->probe_bits == 16 ? 2 : 1;
    for (int i = 0; i < ARITY; i++) __builtin_prefetch(f->fp + w * c[i]);
}

/* ---- sizing ---------------------------------------------------------------- */

#define LN_3_33 1.2029723039923526 /* ln 3.33 */
#define LN_1E6  13.815510557964274 /* ln 10^6 */
#define LN_2    0.6931471805599453

/* Natural logarithm for x >= 1, to ~1e-12: the library does not link libm
 * for one call per build. ln x = k ln 2 + 2 atanh((m-1)/(m+1)), m in [1,2),
 * where the series argument is at most 1/3. */
static double ln(double x)
{
    int k = 0;
    while (x >= 2) x *= 0.5, k++;
    double y = (x - 1) / (x + 1), y2 = y * y, term = y, sum = 0;
    for (int i = 1; i < 40; i += 2) {
        sum += term / i;
        term *= y2;
    }
    return 2 * sum + k * LN_2;
}

static void geom_set(geom *g, uint32_t seg_log2, uint32_t seg_count)
{
    g->seg_log2 = seg_log2;
    g->seg_len = 1u << seg_log2;
    g->seg_mask = g->seg_len - 1;
    g->seg_count = seg_count;
    g->first_span = seg_count << seg_log2;
    g->array_len = (seg_count + 2) << seg_log2;
}

/* The paper's empirical choices for arity 3: segment length
 * 2^floor(log_3.33(n) + 2.25) and max(1.125, 0.875 + 0.25 log_n 10^6) cells
 * per key. Small sets need the extra cells and relatively long segments to
 * peel with high probability. n <= BDBI_FUSE_MAX_KEYS keeps every figure
 * below 2^32. */
static void geom_for(geom *g, size_t n)
{
    double ln_n = ln((double)n);
    int e = (int)(ln_n / LN_3_33 + 2.25);
    if (e < MIN_SEG_LOG2) e = MIN_SEG_LOG2;
    if (e > MAX_SEG_LOG2) e = MAX_SEG_LOG2;
    uint64_t cap = 0;
    if (n > 1) {
        double factor = 0.875 + 0.25 * LN_1E6 / ln_n;
        if (factor < 1.125) factor = 1.125;
        cap = (uint64_t)((double)n * factor + 0.5);
    }
    /* the capacity rounded up to whole segments includes the last two
     * segments, which only second and third cells reach */
    uint64_t segs = (cap + (1u << e) - 1) >> e;
    segs = segs > 2 ? segs - 2 : 1;
    geom_set(g, (uint32_t)e, (uint32_t)segs);
}

/* ---- construction ---------------------------------------------------------- */

/* Per cell, the XOR of the hashes of the keys using it and (in a separate
 * array, 1 byte a cell, so that all counts of a 10M-key build fit in the
 * last-level cache) how many keys use it. */
typedef struct scratch {
    bdb_env *env;
    uint64_t *xh;
    uint8_t *count;
    uint32_t *stack; /* cells behind the scan that fell to one key */
    size_t cells_cap;
    uint64_t *peel_h; /* removed keys' hashes, in order of removal */
    uint32_t *peel_c; /* and the cell each was removed from */
    size_t keys_cap;
    uint64_t *uniq; /* sorted distinct keys, once duplicates were suspected */
    size_t uniq_cap;
} scratch;

static void scratch_free(scratch *s)
{
    bdbi_free(s->env, CAT, s->xh, s->cells_cap * sizeof *s->xh);
    bdbi_free(s->env, CAT, s->count, s->cells_cap * sizeof *s->count);
    bdbi_free(s->env, CAT, s->stack, s->cells_cap * sizeof *s->stack);
    bdbi_free(s->env, CAT, s->peel_h, s->keys_cap * sizeof *s->peel_h);
    bdbi_free(s->env, CAT, s->peel_c, s->keys_cap * sizeof *s->peel_c);
    bdbi_free(s->env, CAT, s->uniq, s->uniq_cap * sizeof *s->uniq);
}

static int scratch_reserve(scratch *s, size_t cells, size_t keys)
{
    if (cells > s->cells_cap) {
        bdbi_free(s->env, CAT, s->xh, s->cells_cap * sizeof *s->xh);
        bdbi_free(s->env, CAT, s->count, s->cells_cap * sizeof *s->count);
        bdbi_free(s->env, CAT, s->stack, s->cells_cap * sizeof *s->stack);
        s->xh = bdbi_malloc(s->env, CAT, cells * sizeof *s->xh);
        s->count = bdbi_malloc(s->env, CAT, cells * sizeof *s->count);
        s->stack = bdbi_malloc(s->env, CAT, cells * sizeof *s->stack);
        /* recorded even when one failed, so that scratch_free() frees the others */
        s->cells_cap = cells;
        if (!s->xh || !s->count || !s->stack) return BDB_ENOMEM;
    }
    if (keys > s->keys_cap) {
        bdbi_free(s->env, CAT, s->peel_h, s->keys_cap * sizeof *s->peel_h);
        bdbi_free(s->env, CAT, s->peel_c, s->keys_cap * sizeof *s->peel_c);
        s->peel_h = bdbi_malloc(s->env, CAT, keys * sizeof *s->peel_h);
        s->peel_c = bdbi_malloc(s->env, CAT, keys * sizeof *s->peel_c);
        s->keys_cap = keys;
        if (!s->peel_h || !s->peel_c) return BDB_ENOMEM;
    }
    return 0;
}

/* Writes the keys' hashes to `out` ordered by their top bits, which the
 * first cell grows with: one counting-sort pass into at most 2^12 runs of 64
 * or more keys. Filling the cells in this order moves through the array in
 * three windows (first, second and third cells) instead of jumping at random
 * over it. `count` needs 2^12 + 1 entries or n/64 + 1, whichever is less. */
static void order_hashes(uint32_t *count, const uint64_t *keys, size_t n, uint64_t seed,
                         uint64_t *out)
{
    int bits = 0;
    while (bits < 12 && ((size_t)64 << (bits + 1)) <= n) bits++;
    if (bits == 0) {
        for (size_t i = 0; i < n; i++) out[i] = key_hash(keys[i], seed);
        return;
    }
    int shift = 64 - bits;
    size_t runs = (size_t)1 << bits;
    memset(count, 0, (runs + 1) * sizeof *count);
    for (size_t i = 0; i < n; i++) count[(key_hash(keys[i], seed) >> shift) + 1]++;
    for (size_t r = 1; r <= runs; r++) count[r] += count[r - 1];
    for (size_t i = 0; i < n; i++) {
        uint64_t h = key_hash(keys[i], seed);
        out[count[h >> shift]++] = h;
    }
}

/* Removes a key from every cell it uses; pushes the cells behind the scan
 * position `scan` that are left with one key. Those ahead need no push: the
 * scan will find them, and not chasing them keeps the work near the scan
 * instead of wandering over the array. */
static inline uint32_t *remove_key(scratch *s, const geom *g, uint64_t h, uint32_t scan,
                                   uint32_t *top)
{
    uint32_t c[ARITY];
    key_cells(g, h, c);
    for (int j = 0; j < ARITY; j++) {
        s->xh[c[j]] ^= h;
        if (--s->count[c[j]] == 1 && c[j] < scan) *top++ = c[j];
    }
    return top;
}

/* Peels the keys' hypergraph under `seed`; returns how many keys were
 * removed, `n` meaning success. A key present twice is never removed (its
 * cells always count it twice), so duplicates always fail here, and so does
 * a cell with 255 keys or more, whose count would overflow. */
static size_t peel(scratch *s, const geom *g, const uint64_t *keys, size_t n, uint64_t seed)
{
    uint64_t *xh = s->xh;
    uint8_t *count = s->count;
    uint32_t c[ARITY];
    /* peel_h and the stack are free until the peeling proper starts */
    order_hashes(s->stack, keys, n, seed, s->peel_h);
    memset(xh, 0, g->array_len * sizeof *xh);
    memset(count, 0, g->array_len * sizeof *count);
    uint8_t full = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = s->peel_h[i];
        key_cells(g, h, c);
        for (int j = 0; j < ARITY; j++) {
            xh[c[j]] ^= h;
            full |= ++count[c[j]] == UINT8_MAX;
        }
    }
    if (full) return 0;
    /* A cell falls to one key once at most (counts only fall), so the stack
     * never holds more than array_len cells. */
    size_t done = 0;
    for (uint32_t i = 0; i < g->array_len; i++) {
        if (count[i] != 1) continue;
        uint32_t *base = s->stack, *top = base, at = i;
        for (;;) {
            if (count[at] == 1) { /* a pushed cell may have been emptied since */
                uint64_t h = xh[at];
                s->peel_h[done] = h;
                s->peel_c[done] = at;
                done++;
                top = remove_key(s, g, h, i, top);
            }
            if (top == base) break;
            at = *--top;
        }
    }
    return done;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Sorted distinct copy of the keys. Only done after a failed peel, because
 * the bucket files hold distinct keys and sorting 10M keys costs as much as
 * a build. */
static int dedupe(scratch *s, const uint64_t *keys, size_t n, size_t *m)
{
    s->uniq = bdbi_malloc(s->env, CAT, n * sizeof *s->uniq);
    if (!s->uniq) return BDB_ENOMEM;
    s->uniq_cap = n;
    memcpy(s->uniq, keys, n * sizeof *keys);
    qsort(s->uniq, n, sizeof *s->uniq, cmp_u64);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (s->uniq[i] != s->uniq[k - 1]) s->uniq[k++] = s->uniq[i];
    *m = k;
    return 0;
}

static bdbi_fuse *alloc_filter(bdb_env *env, size_t fp_bytes)
{
    size_t bytes = sizeof(bdbi_fuse) + fp_bytes;
    /* written now rather than calloc'd: see build_table in index.c */
    bdbi_fuse *f = bdbi_malloc(env, CAT, bytes);
    if (!f) return NULL;
    memset(f, 0, bytes);
    f->alloc_bytes = bytes;
    f->fp = (const uint8_t *)(f + 1);
    return f;
}

/* Fingerprints in reverse order of removal; see the comment at the top. */
static void assign(bdbi_fuse *f, const scratch *s, size_t n, int bits)
{
    uint8_t *a = (uint8_t *)(f + 1);
    uint32_t c[ARITY];
    for (size_t i = n; i-- > 0;) {
        uint64_t h = s->peel_h[i];
        key_cells(&f->g, h, c);
        /* the peel cell is still zero, so XORing all three cells is right */
        uint32_t v = fingerprint(h, bits) ^ cell_get(a, c[0], bits) ^ cell_get(a, c[1], bits) ^
                     cell_get(a, c[2], bits);
        cell_put(a, s->peel_c[i], v, bits);
    }
}

int bdbi_fuse_build(bdb_env *env, const uint64_t *keys, size_t n, int fp_bits, uint64_t seed_hint,
                    bdbi_fuse **out)
{
    if (!env || !out || (n > 0 && !keys)) return bdbi_err(BDB_EINVAL, "fuse filter: NULL argument");
    if (fp_bits != 8 && fp_bits != 16)
        return bdbi_err(BDB_EINVAL, "fuse filter: %d-bit fingerprints (8 or 16)", fp_bits);
    if (n > BDBI_FUSE_MAX_KEYS)
        return bdbi_err(BDB_EINVAL, "fuse filter: %zu keys, at most %zu", n, BDBI_FUSE_MAX_KEYS);
    if (n == 0) {
        bdbi_fuse *f = alloc_filter(env, 0);
        if (!f) return BDB_ENOMEM;
        f->fp_bits = fp_bits;
        f->seed = seed_hint;
        *out = f;
        return 0;
    }

    scratch s = {.env = env};
    geom g;
    geom_for(&g, n);
    int rc = scratch_reserve(&s, g.array_len, n);
    const uint64_t *set = keys;
    size_t m = n;
    uint64_t seed = 0;
    int ok = 0, deduped = 0;
    for (int t = 0; rc == 0 && t < MAX_TRIES && !ok; t++) {
        seed = bdbi_fmix64(seed_hint + (uint64_t)t * 0x9e3779b97f4a7c15ull);
        if (peel(&s, &g, set, m, seed) == m) {
            ok = 1;
        } else if (!deduped) {
            deduped = 1;
            rc = dedupe(&s, keys, n, &m);
            if (rc == 0 && m < n) {
                set = s.uniq;
                geom_for(&g, m);
                rc = scratch_reserve(&s, g.array_len, m);
            } else if (rc == 0) {
                /* bad luck, not duplicates: the copy is not needed */
                bdbi_free(env, CAT, s.uniq, s.uniq_cap * sizeof *s.uniq);
                s.uniq = NULL;
                s.uniq_cap = 0;
            }
        }
    }
    if (rc == 0 && !ok)
        rc =
            bdbi_err(BDB_EINTERNAL, "fuse filter: %zu keys did not peel in %d tries", m, MAX_TRIES);
    bdbi_fuse *f = NULL;
    if (rc == 0) {
        f = alloc_filter(env, (size_t)g.array_len * (size_t)(fp_bits / 8));
        if (!f) rc = BDB_ENOMEM;
    }
    if (rc == 0) {
        f->g = g;
        f->seed = seed;
        f->fp_bits = f->probe_bits = fp_bits;
        if (fp_bits == 8)
            assign(f, &s, m, 8);
        else
            assign(f, &s, m, 16);
        *out = f;
    }
    scratch_free(&s);
    return rc;
}

/* ---- accessors ------------------------------------------------------------- */

int bdbi_fuse_fp_bits(const bdbi_fuse *f)
{
    return f->fp_bits;
}

static size_t fp_bytes(const bdbi_fuse *f)
{
    return (size_t)f->g.array_len * (size_t)(f->fp_bits / 8);
}

size_t bdbi_fuse_bytes(const bdbi_fuse *f)
{
    return sizeof *f + fp_bytes(f);
}

void bdbi_fuse_free(bdb_env *env, bdbi_fuse *f)
{
    if (f) bdbi_free(env, CAT, f, f->alloc_bytes);
}

/* ---- serialized form ------------------------------------------------------- */

size_t bdbi_fuse_serialized_size(const bdbi_fuse *f)
{
    return BDBI_FUSE_HEADER_SIZE + fp_bytes(f);
}

void bdbi_fuse_emit(const bdbi_fuse *f, bdbi_fuse_sink sink, void *ctx)
{
    uint8_t h[BDBI_FUSE_HEADER_SIZE];
    memcpy(h, MAGIC, sizeof MAGIC);
    h[4] = FORMAT_VERSION;
    h[5] = (uint8_t)f->fp_bits;
    h[6] = ARITY;
    h[7] = f->g.array_len ? (uint8_t)f->g.seg_log2 : 0;
    bdbi_put_le64(h + 8, f->seed);
    bdbi_put_le32(h + 16, f->g.seg_count);
    bdbi_put_le32(h + 20, f->g.array_len);
    bdbi_put_le64(h + 24, 0);
    sink(ctx, h, sizeof h);
    if (fp_bytes(f)) sink(ctx, f->fp, fp_bytes(f));
}

void bdbi_fuse_sink_memory(void *ctx, const void *p, size_t n)
{
    uint8_t **at = ctx;
    memcpy(*at, p, n);
    *at += n;
}

int bdbi_fuse_serialize(const bdbi_fuse *f, uint8_t *buf, size_t cap)
{
    size_t need = bdbi_fuse_serialized_size(f);
    if (!buf || cap < need)
        return bdbi_err(BDB_EINVAL, "fuse filter: %zu bytes of room for %zu", buf ? cap : 0, need);
    bdbi_fuse_emit(f, bdbi_fuse_sink_memory, &buf);
    return 0;
}

/* Checks the header against itself and against `len`, and fills in
 * everything but the fingerprint pointer. Only sizes that match `len`
 * exactly pass, so a hostile header cannot make the caller allocate more
 * than the buffer it already has. */
static int parse(const uint8_t *buf, size_t len, bdbi_fuse *f)
{
    if (len < BDBI_FUSE_HEADER_SIZE)
        return bdbi_err(BDB_ECORRUPT, "fuse filter: %zu bytes, shorter than the %d-byte header",
                        len, BDBI_FUSE_HEADER_SIZE);
    if (memcmp(buf, MAGIC, sizeof MAGIC) != 0)
        return bdbi_err(BDB_ECORRUPT, "fuse filter: bad magic");
    if (buf[4] != FORMAT_VERSION)
        return bdbi_err(BDB_ECORRUPT, "fuse filter: format version %u, expected %d", buf[4],
                        FORMAT_VERSION);
    int bits = buf[5];
    if (bits != 8 && bits != 16)
        return bdbi_err(BDB_ECORRUPT, "fuse filter: %d-bit fingerprints (8 or 16)", bits);
    if (buf[6] != ARITY)
        return bdbi_err(BDB_ECORRUPT, "fuse filter: arity %u, expected %d", buf[6], ARITY);
    uint32_t seg_log2 = buf[7];
    uint32_t seg_count = bdbi_le32(buf + 16);
    uint32_t array_len = bdbi_le32(buf + 20);
    if (bdbi_le64(buf + 24) != 0) return bdbi_err(BDB_ECORRUPT, "fuse filter: reserved bytes set");
    if (seg_count == 0) {
        if (seg_log2 != 0 || array_len != 0)
            return bdbi_err(BDB_ECORRUPT,
                            "fuse filter: empty filter with segment length 2^%u and %u cells",
                            seg_log2, array_len);
    } else {
        if (seg_log2 < MIN_SEG_LOG2 || seg_log2 > MAX_SEG_LOG2)
            return bdbi_err(BDB_ECORRUPT, "fuse filter: segment length 2^%u outside 2^%d..2^%d",
                            seg_log2, MIN_SEG_LOG2, MAX_SEG_LOG2);
        uint64_t implied = ((uint64_t)seg_count + 2) << seg_log2;
        if (implied != array_len)
            return bdbi_err(BDB_ECORRUPT,
                            "fuse filter: %u cells, but %u segments of 2^%u imply %llu", array_len,
                            seg_count, seg_log2, (unsigned long long)implied);
    }
    uint64_t total = BDBI_FUSE_HEADER_SIZE + (uint64_t)array_len * (uint64_t)(bits / 8);
    if (total != len)
        return bdbi_err(BDB_ECORRUPT, "fuse filter: %zu bytes, the header implies %llu", len,
                        (unsigned long long)total);
    if (seg_count > 0) geom_set(&f->g, seg_log2, seg_count);
    f->seed = bdbi_le64(buf + 8);
    f->fp_bits = bits;
    f->probe_bits = seg_count > 0 ? bits : 0;
    return 0;
}

static int load(bdb_env *env, const uint8_t *buf, size_t len, int copy, bdbi_fuse **out)
{
    if (!env || !out || !buf) return bdbi_err(BDB_EINVAL, "fuse filter: NULL argument");
    bdbi_fuse h = {0};
    int rc = parse(buf, len, &h);
    if (rc != 0) return rc;
    size_t n = len - BDBI_FUSE_HEADER_SIZE;
    bdbi_fuse *f = alloc_filter(env, copy ? n : 0);
    if (!f) return BDB_ENOMEM;
    size_t bytes = f->alloc_bytes;
    *f = h;
    f->alloc_bytes = bytes;
    if (copy) {
        memcpy(f + 1, buf + BDBI_FUSE_HEADER_SIZE, n);
        f->fp = (const uint8_t *)(f + 1);
    } else {
        f->fp = buf + BDBI_FUSE_HEADER_SIZE;
    }
    *out = f;
    return 0;
}

int bdbi_fuse_deserialize(bdb_env *env, const uint8_t *buf, size_t len, bdbi_fuse **out)
{
    return load(env, buf, len, 1, out);
}

int bdbi_fuse_view(bdb_env *env, const uint8_t *buf, size_t len, bdbi_fuse **out)
{
    return load(env, buf, len, 0, out);
}
