/* The BucketListDB index of one bucket file: building it from the file's
 * records (as a writer emits them, or by one scan of the file), and
 * looking keys up in it. The persisted form is in index_file.c, record
 * parsing in index_key.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucket/bucket.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"
#include "hspill.h"
#include "index_impl.h"
#include "xdr/ledger.h"
#include "xdr/record.h"

/* stellar-core's page size for hot archives configured with exponent 0 */
#define HOT_DEFAULT_PAGE 16384

uint64_t bdbi_index_page_size(const bdbi_index_params *p, uint64_t file_size)
{
    uint64_t ps = p->page_exponent ? (uint64_t)1 << p->page_exponent : 0;
    if (p->hot) return ps ? ps : HOT_DEFAULT_PAGE;
    return ps && file_size >= p->cutoff_bytes ? ps : 0;
}

/* ---- growable arrays ------------------------------------------------- */

typedef struct vec {
    void *p;
    size_t n, cap; /* elements */
} vec;

/* Makes room for `more` further elements of `size` bytes. Grows by half
 * again, not double, to keep the peak of large hash arrays lower. */
static int vec_reserve(bdb_env *env, vec *v, size_t more, size_t size)
{
    if (v->cap - v->n >= more) return 0;
    size_t need = v->n + more;
    size_t cap = v->cap ? v->cap + v->cap / 2 : 256;
    if (cap < need) cap = need;
    if (need < v->n || cap > SIZE_MAX / size)
        return bdbi_err(BDB_ENOMEM, "index array of %zu elements is too large", need);
    void *q = bdbi_realloc(env, BDB_MEM_INDEX, v->p, v->cap * size, cap * size);
    if (!q) return BDB_ENOMEM;
    v->p = q;
    v->cap = cap;
    return 0;
}

static void vec_free(bdb_env *env, vec *v, size_t size)
{
    if (v->p) bdbi_free(env, BDB_MEM_INDEX, v->p, v->cap * size);
    *v = (vec){0};
}

/* Hands the elements over in an allocation of exactly their size (NULL if
 * there are none), so the index can free them by their count. */
static int vec_take(bdb_env *env, vec *v, size_t size, void **out)
{
    *out = NULL;
    if (v->n == 0) {
        vec_free(env, v, size);
        return 0;
    }
    if (v->n < v->cap) {
        void *q = bdbi_realloc(env, BDB_MEM_INDEX, v->p, v->cap * size, v->n * size);
        if (!q) return BDB_ENOMEM;
        v->p = q;
        v->cap = v->n;
    }
    *out = v->p;
    *v = (vec){0};
    return 0;
}

#define U64(v) ((uint64_t *)(v).p)

/* ---- the builder ----------------------------------------------------- */

/* An asset -> pool ID mapping of an INITENTRY LIQUIDITY_POOL record. */
typedef struct pool_pair {
    uint8_t asset[BDBI_ASSET_MAX]; /* zero past len */
    uint32_t len;
    uint8_t id[32];
} pool_pair;

struct bdbi_index_builder {
    bdb_env *env;
    bdbi_index_params p;
    int failed;
    /* the page size if the file ends up paged; 0 when it cannot (live,
     * exponent 0) */
    uint64_t ps;
    /* offsets are kept while the file may still end below the cutoff: as
     * 4 bytes each until one needs more (off_size 4 or 8) */
    int keep_offsets;
    size_t off_size;
    uint64_t n;      /* records added */
    uint64_t next;   /* the first offset the next record may start at */
    bdbi_hspill *hs; /* the key hashes */
    vec offsets;
    vec prev; /* the previous record's sort key */
    /* pages, while the file may end paged */
    uint64_t page_upper;
    vec page_off, sep_end, blob;
    /* sub-page skips (n_sub points per page, sub-windows of `sub` bytes):
     * the finished pages' words, and for the open page its first sort key
     * and its pt_n points so far (offsets from the page's start, sort keys
     * concatenated in pt_keys ending at pt_end[j]): digests need the
     * page's `skip`, known only when it closes */
    size_t n_sub, pt_n;
    uint64_t sub;
    vec sub_words, first, pt_keys;
    size_t pt_end[7];
    uint16_t pt_off[7];
    uint32_t type_mask;
    uint64_t type_begin[BDBI_INDEX_TYPES];
    bdbi_entry_counters counters;
    vec pairs;
};

void bdbi_index_builder_free(bdbi_index_builder *b)
{
    if (!b) return;
    bdb_env *env = b->env;
    bdbi_hspill_free(b->hs);
    vec_free(env, &b->offsets, b->off_size);
    vec_free(env, &b->prev, 1);
    vec_free(env, &b->page_off, 8);
    vec_free(env, &b->sep_end, 8);
    vec_free(env, &b->blob, 1);
    vec_free(env, &b->sub_words, 8);
    vec_free(env, &b->first, 1);
    vec_free(env, &b->pt_keys, 1);
    vec_free(env, &b->pairs, sizeof(pool_pair));
    bdbi_free(env, BDB_MEM_INDEX, b, sizeof *b);
}

int bdbi_index_builder_new(bdb_env *env, const bdbi_index_params *p, bdbi_index_builder **out)
{
    *out = NULL;
    if (p->page_exponent != 0 && (p->page_exponent < 8 || p->page_exponent > 31))
        return bdbi_err(BDB_EINVAL, "index page size exponent %u: 0 or 8..31 expected",
                        p->page_exponent);
    bdbi_index_builder *b = bdbi_calloc(env, BDB_MEM_INDEX, 1, sizeof *b);
    if (!b) return BDB_ENOMEM;
    b->env = env;
    b->p = *p;
    b->p.hot = p->hot ? 1 : 0;
    /* hot files are always paged and live files of exponent 0 always exact:
     * decided now; other live files keep both until they pass the cutoff */
    b->ps = p->hot || p->page_exponent ? bdbi_index_page_size(&b->p, UINT64_MAX) : 0;
    b->keep_offsets = !p->hot;
    int rc = bdbi_hspill_new(env, p->spill_dir, p->spill_mem_keys, &b->hs);
    if (rc) {
        bdbi_free(env, BDB_MEM_INDEX, b, sizeof *b);
        return rc;
    }
    if (!b->keep_offsets) bdbi_hspill_allow(b->hs);
    b->p.spill_dir = NULL; /* the bag has its own copy */
    if (b->ps) {
        size_t s = bdbi_index_subwindows(b->ps);
        b->n_sub = s - 1;
        b->sub = b->ps / s;
    }
    b->off_size = 4;
    *out = b;
    return 0;
}

static int add_pool(bdbi_index_builder *b, const uint8_t *rec, size_t len)
{
    const uint8_t *id, *asset[2];
    size_t alen[2];
    if (bdbi_pool_of_record(rec, len, &id, &asset[0], &alen[0], &asset[1], &alen[1]))
        return bdbi_err(BDB_EINVAL, "malformed LIQUIDITY_POOL entry");
    int rc = vec_reserve(b->env, &b->pairs, 2, sizeof(pool_pair));
    if (rc) return rc;
    for (int i = 0; i < 2; i++) {
        pool_pair *pp = (pool_pair *)b->pairs.p + b->pairs.n++;
        memset(pp, 0, sizeof *pp);
        memcpy(pp->asset, asset[i], alen[i]);
        pp->len = (uint32_t)alen[i];
        memcpy(pp->id, id, 32);
    }
    return 0;
}

/* Copies sk[0..n) into v, replacing what it held. */
static int vec_set(bdb_env *env, vec *v, const uint8_t *sk, size_t n)
{
    v->n = 0;
    int rc = vec_reserve(env, v, n, 1);
    if (rc) return rc;
    if (n) memcpy(v->p, sk, n);
    v->n = n;
    return 0;
}

/* Writes the skip words of the open page, whose last key is b->prev.
 * `skip` is the common prefix of its first and last keys, which every key
 * between them shares (capped to fit its u16: any shorter prefix is shared
 * too). A sub-window in which none of the page's records starts (nor in a
 * later one) repeats the previous point, or names the page's start with
 * digest 0 if there is none: points stay ordered by offset and digest. */
static int close_page(bdbi_index_builder *b)
{
    size_t k = b->n_sub, nw = bdbi_index_sub_words(k);
    if (!k || !b->page_off.n) return 0;
    int rc = vec_reserve(b->env, &b->sub_words, nw, 8);
    if (rc) return rc;
    const uint8_t *f = b->first.p, *l = b->prev.p;
    size_t skip = 0, m = b->first.n < b->prev.n ? b->first.n : b->prev.n;
    while (skip < m && skip < UINT16_MAX && f[skip] == l[skip]) skip++;
    uint64_t *w = U64(b->sub_words) + b->sub_words.n;
    memset(w, 0, nw * 8);
    uint64_t d = 0;
    unsigned off = 0;
    w[k] = skip;
    for (size_t j = 0; j < k; j++) {
        if (j < b->pt_n) {
            size_t from = j ? b->pt_end[j - 1] : 0;
            d = bdbi_sk_digest((const uint8_t *)b->pt_keys.p + from, b->pt_end[j] - from, skip);
            off = b->pt_off[j];
        }
        w[j] = d;
        w[k + (j + 1) / 4] |= (uint64_t)off << (16 * ((j + 1) % 4));
    }
    b->sub_words.n += nw;
    return 0;
}

/* Notes the record at `offset` (key sk) as the skip point of every
 * sub-window of the open page it is the first record at or past. */
static int add_points(bdbi_index_builder *b, uint64_t offset, const uint8_t *sk, size_t sk_len)
{
    uint64_t start = U64(b->page_off)[b->page_off.n - 1], base = b->page_upper - b->ps;
    while (b->pt_n < b->n_sub && offset >= base + (b->pt_n + 1) * b->sub) {
        size_t from = b->pt_n ? b->pt_end[b->pt_n - 1] : 0;
        int rc = vec_reserve(b->env, &b->pt_keys, sk_len, 1);
        if (rc) return rc;
        memcpy((uint8_t *)b->pt_keys.p + from, sk, sk_len);
        b->pt_keys.n = b->pt_end[b->pt_n] = from + sk_len;
        b->pt_off[b->pt_n++] = (uint16_t)(offset - start); /* < ps <= 65536 */
    }
    return 0;
}

/* Starts a page at `offset` whose first key is sk (spec §7.3). Its
 * separator is the shortest prefix of sk greater than the previous page's
 * last key (b->prev): any key of this page or later is >= it, any key of an
 * earlier page is < it. The first page's is empty. */
static int add_page(bdbi_index_builder *b, uint64_t offset, const uint8_t *sk, size_t sk_len)
{
    size_t n = 0;
    if (b->page_off.n) {
        const uint8_t *prev = b->prev.p;
        size_t m = b->prev.n < sk_len ? b->prev.n : sk_len;
        while (n < m && prev[n] == sk[n]) n++;
        n++; /* the first differing byte (sk > prev: n <= sk_len) */
    }
    int rc;
    if ((rc = close_page(b))) return rc;
    if (b->n_sub) {
        if ((rc = vec_set(b->env, &b->first, sk, sk_len))) return rc;
        b->pt_n = 0;
        b->pt_keys.n = 0;
    }
    if ((rc = vec_reserve(b->env, &b->page_off, 1, 8)) ||
        (rc = vec_reserve(b->env, &b->sep_end, 1, 8)) || (rc = vec_reserve(b->env, &b->blob, n, 1)))
        return rc;
    if (n) memcpy((uint8_t *)b->blob.p + b->blob.n, sk, n); /* the first page's is empty */
    b->blob.n += n;
    U64(b->page_off)[b->page_off.n++] = offset;
    U64(b->sep_end)[b->sep_end.n++] = b->blob.n;
    b->page_upper = offset - offset % b->ps + b->ps;
    return 0;
}

/* Keeps a record's offset, widening the kept ones to 8 bytes when the
 * first offset past 4 GiB comes. */
static int add_offset(bdbi_index_builder *b, uint64_t offset)
{
    int rc;
    if (b->off_size == 4 && offset > UINT32_MAX) {
        vec *v = &b->offsets;
        size_t cap = v->n + v->n / 2 + 1;
        void *q = bdbi_realloc(b->env, BDB_MEM_INDEX, v->p, v->cap * 4, cap * 8);
        if (!q) return BDB_ENOMEM;
        /* back to front: the 8-byte slots never overwrite unread ones */
        for (size_t i = v->n; i-- > 0;) ((uint64_t *)q)[i] = ((uint32_t *)q)[i];
        v->p = q;
        v->cap = cap;
        b->off_size = 8;
    }
    if ((rc = vec_reserve(b->env, &b->offsets, 1, b->off_size))) return rc;
    if (b->off_size == 4)
        ((uint32_t *)b->offsets.p)[b->offsets.n++] = (uint32_t)offset;
    else
        U64(b->offsets)[b->offsets.n++] = offset;
    return 0;
}

static int builder_add(bdbi_index_builder *b, uint64_t offset, const uint8_t *rec, size_t len,
                       const uint8_t *sk, size_t sk_len)
{
    if (offset < b->next)
        return bdbi_err(BDB_EINVAL, "record at offset %llu starts before %llu, the end of the last",
                        (unsigned long long)offset, (unsigned long long)b->next);
    if (len < 8 || len > BDBI_RECORD_MAX_BODY || offset > INT64_MAX - len)
        return bdbi_err(BDB_EINVAL, "record of %zu bytes at offset %llu", len,
                        (unsigned long long)offset);
    int32_t type = (int32_t)bdbi_be32(rec);
    if (type < 0 || type > (b->p.hot ? BDB_HOT_LIVE : BDB_INITENTRY))
        return bdbi_err(BDB_EINVAL, "record type %d at offset %llu is not an entry", type,
                        (unsigned long long)offset);
    int kind = bdbi_kind_of_sort_key(sk, sk_len);
    if (kind < 0)
        return bdbi_err(BDB_EINVAL, "not a sort key at offset %llu", (unsigned long long)offset);
    if (b->n && bdbi_sk_cmp(sk, sk_len, b->prev.p, b->prev.n) <= 0)
        return bdbi_err(BDB_EINVAL, "key at offset %llu is not greater than the previous key",
                        (unsigned long long)offset);
    int etype = bdbi_kind_type(kind);
    int rc;
    if (!b->p.hot && type == BDB_INITENTRY && etype == BDB_LIQUIDITY_POOL &&
        (rc = add_pool(b, rec, len)))
        return rc;
    if ((rc = bdbi_hspill_add(b->hs, bdbi_hash64(sk, sk_len, b->p.seed)))) return rc;
    if (b->keep_offsets && b->ps && offset >= b->p.cutoff_bytes) {
        /* the file is at least the cutoff: it will be paged, so the
         * hashes need not stay in memory in file order any more */
        b->keep_offsets = 0;
        vec_free(b->env, &b->offsets, b->off_size);
        bdbi_hspill_allow(b->hs);
    }
    if (b->keep_offsets && (rc = add_offset(b, offset))) return rc;
    if (b->ps && offset >= b->page_upper && (rc = add_page(b, offset, sk, sk_len))) return rc;
    if (b->n_sub && (rc = add_points(b, offset, sk, sk_len))) return rc;
    if (!(b->type_mask & 1u << etype)) {
        /* keys start with their type, so types come in ascending order */
        b->type_mask |= 1u << etype;
        b->type_begin[etype] = offset;
    }
    b->counters.count[kind]++;
    b->counters.bytes[kind] += len;
    if ((rc = vec_set(b->env, &b->prev, sk, sk_len))) return rc;
    b->n++;
    b->next = offset + BDBI_RECORD_MARK_LEN + len;
    return 0;
}

int bdbi_index_builder_add(bdbi_index_builder *b, uint64_t offset, const uint8_t *rec, size_t len,
                           const uint8_t *sk, size_t sk_len)
{
    if (b->failed) return bdbi_err(BDB_EINVAL, "the index builder failed earlier");
    int rc = builder_add(b, offset, rec, len, sk, sk_len);
    if (rc) b->failed = 1;
    return rc;
}

/* ---- finishing ------------------------------------------------------- */

void bdbi_index_free(bdb_env *env, bdbi_index *x)
{
    if (!x) return;
    if (x->assets) bdbi_free(env, BDB_MEM_INDEX, x->assets, x->n_assets * sizeof *x->assets);
    if (x->ids) bdbi_free(env, BDB_MEM_INDEX, x->ids, x->n_ids * sizeof *x->ids);
    if (x->slots) bdbi_free(env, BDB_MEM_INDEX, x->slots, x->cap * 8);
    if (x->page_off) bdbi_free(env, BDB_MEM_INDEX, x->page_off, x->n_pages * 8);
    if (x->sep_end) bdbi_free(env, BDB_MEM_INDEX, x->sep_end, x->n_pages * 8);
    if (x->sep_prefix) bdbi_free(env, BDB_MEM_INDEX, x->sep_prefix, x->n_pages * 8);
    if (x->sep_blob) bdbi_free(env, BDB_MEM_INDEX, x->sep_blob, x->blob_len);
    if (x->sub) bdbi_free(env, BDB_MEM_INDEX, x->sub, x->n_pages * x->sub_words * 8);
    bdbi_fuse_set_free(env, x->filter);
    bdbi_free(env, BDB_MEM_INDEX, x, sizeof *x);
}

static int pair_cmp(const void *a, const void *b)
{
    const pool_pair *x = a, *y = b;
    int c = bdbi_asset_cmp(x->asset, x->len, y->asset, y->len);
    return c ? c : memcmp(x->id, y->id, 32);
}

/* The pool map: the pairs sorted by asset then pool ID, duplicates dropped
 * (a pool whose assets are equal maps twice), grouped by asset. */
static int build_pools(bdb_env *env, vec *pairs, bdbi_index *x)
{
    pool_pair *pp = pairs->p;
    size_t n = pairs->n, m = 0, assets = 0;
    if (!n) return 0;
    qsort(pp, n, sizeof *pp, pair_cmp);
    for (size_t i = 0; i < n; i++) {
        if (m && !pair_cmp(&pp[m - 1], &pp[i])) continue;
        if (!m || bdbi_asset_cmp(pp[m - 1].asset, pp[m - 1].len, pp[i].asset, pp[i].len)) assets++;
        pp[m++] = pp[i];
    }
    x->assets = bdbi_calloc(env, BDB_MEM_INDEX, assets, sizeof *x->assets);
    if (!x->assets) return BDB_ENOMEM;
    x->n_assets = assets;
    x->ids = bdbi_malloc(env, BDB_MEM_INDEX, m * sizeof *x->ids);
    if (!x->ids) return BDB_ENOMEM;
    x->n_ids = m;
    bdbi_pool_asset *a = x->assets - 1;
    for (size_t i = 0; i < m; i++) {
        if (!i || bdbi_asset_cmp(a->xdr, a->len, pp[i].asset, pp[i].len)) {
            a++;
            memcpy(a->xdr, pp[i].asset, sizeof a->xdr);
            a->len = pp[i].len;
            a->first = i;
        }
        a->count++;
        memcpy(x->ids[i], pp[i].id, 32);
    }
    return 0;
}

/* Home slot of a hash in a table of cap slots (multiply-shift: the high
 * bits of the hash choose it; the tag takes the low bits). */
static inline size_t slot_of(uint64_t h, size_t cap)
{
    return (size_t)(((unsigned __int128)h * cap) >> 64);
}

static inline uint64_t tag_of(uint64_t h, uint32_t off_bits)
{
    return h & (UINT64_MAX >> off_bits);
}

/* The exact form: every record's offset, found by its key hash. */
static int build_table(bdb_env *env, const uint64_t *h, const void *off, size_t off_size, size_t n,
                       bdbi_index *x)
{
    x->off_bits = bdbi_index_off_bits(x->file_size);
    x->cap = bdbi_index_table_cap(n);
    if (!n) return 0;
    /* malloc + memset, not calloc: calloc's lazily zeroed pages are first
     * mapped read-only to the zero page, and the copy-on-write when the probe
     * loop below stores into them flushes the TLB of every reader thread. */
    x->slots = bdbi_malloc(env, BDB_MEM_INDEX, x->cap * 8);
    if (!x->slots) return BDB_ENOMEM;
    memset(x->slots, 0, x->cap * 8);
    for (size_t i = 0; i < n; i++) {
        size_t pos = slot_of(h[i], x->cap);
        while (x->slots[pos]) pos = pos + 1 == x->cap ? 0 : pos + 1;
        uint64_t o = off_size == 4 ? ((const uint32_t *)off)[i] : ((const uint64_t *)off)[i];
        x->slots[pos] = tag_of(h[i], x->off_bits) << x->off_bits | (o + 1);
    }
    return 0;
}

int bdbi_index_fill_prefixes(bdb_env *env, bdbi_index *x)
{
    if (!x->n_pages) return 0;
    x->sep_prefix = bdbi_malloc(env, BDB_MEM_INDEX, x->n_pages * 8);
    if (!x->sep_prefix) return BDB_ENOMEM;
    for (size_t i = 0; i < x->n_pages; i++) {
        size_t n;
        const uint8_t *s = bdbi_index_sep(x, i, &n);
        x->sep_prefix[i] = bdbi_sk_prefix(s, n);
    }
    return 0;
}

static int finish(bdbi_index_builder *b, uint64_t file_size, bdbi_index *x)
{
    bdb_env *env = b->env;
    if (b->failed) return bdbi_err(BDB_EINVAL, "the index builder failed earlier");
    if (file_size < b->next)
        return bdbi_err(BDB_EINVAL, "file size %llu is less than the end of its last record, %llu",
                        (unsigned long long)file_size, (unsigned long long)b->next);
    x->page_size = bdbi_index_page_size(&b->p, file_size);
    x->file_size = file_size;
    uint64_t end = BDBI_INDEX_RANGE_OPEN;
    for (int t = BDBI_INDEX_TYPES - 1; t >= 0; t--) {
        if (!(b->type_mask & 1u << t)) continue;
        x->type_begin[t] = b->type_begin[t];
        x->type_end[t] = end;
        end = b->type_begin[t];
    }
    x->type_mask = b->type_mask;
    x->counters = b->counters;
    int rc = build_pools(env, &b->pairs, x);
    if (rc) return rc;
    if (x->page_size == 0) {
        if (!b->keep_offsets)
            return bdbi_err(BDB_EINVAL,
                            "file size %llu is below the index cutoff, but a record starts past it",
                            (unsigned long long)file_size);
        size_t n;
        const uint64_t *h = bdbi_hspill_keys(b->hs, &n);
        if (!h && n) return bdbi_err(BDB_EINTERNAL, "the key hashes of an exact index spilled");
        return build_table(env, h, b->offsets.p, b->off_size, n, x);
    }
    if (x->page_size != b->ps)
        return bdbi_err(BDB_EINTERNAL, "page size %llu, builder's %llu",
                        (unsigned long long)x->page_size, (unsigned long long)b->ps);
    if ((rc = close_page(b))) return rc; /* the last page's skip points */
    /* the filter first: its scratch memory peaks before the pages move */
    if ((rc = bdbi_fuse_set_build(env, b->hs, b->p.part_keys, x->seed, &x->filter))) return rc;
    bdbi_hspill_free(b->hs);
    b->hs = NULL;
    x->n_pages = b->page_off.n;
    x->blob_len = b->blob.n;
    void *p;
    if ((rc = vec_take(env, &b->page_off, 8, &p))) return rc;
    x->page_off = p;
    if ((rc = vec_take(env, &b->sep_end, 8, &p))) return rc;
    x->sep_end = p;
    if ((rc = vec_take(env, &b->blob, 1, &p))) return rc;
    x->sep_blob = p;
    x->n_sub = b->n_sub;
    x->sub_words = bdbi_index_sub_words(b->n_sub);
    if ((rc = vec_take(env, &b->sub_words, 8, &p))) return rc;
    x->sub = p;
    return bdbi_index_fill_prefixes(env, x);
}

int bdbi_index_builder_finish(bdbi_index_builder *b, uint64_t file_size, bdbi_index **out)
{
    *out = NULL;
    bdbi_index *x = bdbi_calloc(b->env, BDB_MEM_INDEX, 1, sizeof *x);
    if (!x) {
        bdbi_index_builder_free(b);
        return BDB_ENOMEM;
    }
    x->env = b->env;
    x->hot = b->p.hot;
    x->seed = b->p.seed;
    x->records = b->n;
    int rc = finish(b, file_size, x);
    bdb_env *env = b->env;
    bdbi_index_builder_free(b);
    if (rc) {
        bdbi_index_free(env, x);
        return rc;
    }
    *out = x;
    return 0;
}

/* ---- scanning a file ------------------------------------------------- */

/* Re-raises the calling thread's error (a parser's BDB_EFORMAT, or the
 * builder's BDB_EINVAL for keys out of order) as BDB_ECORRUPT naming the
 * file; BDB_ENOMEM stays what it is. */
static int as_corrupt(int rc, const char *label, uint64_t at)
{
    if (rc == BDB_ENOMEM) return rc;
    bdb_error e;
    bdb_last_error(&e);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", e.msg);
    return bdbi_err_at(BDB_ECORRUPT, label, e.offset >= 0 ? e.offset : (int64_t)at, "%s", msg);
}

static int scan(bdbi_index_builder *b, const uint8_t *data, size_t len, const char *label)
{
    vec sk = {0};
    size_t pos = 0;
    int rc = 0;
    while (pos < len) {
        size_t at = pos;
        const uint8_t *body;
        size_t n;
        if ((rc = bdbi_record_next(data, len, &pos, label, 0, &body, &n))) break;
        if (n < 4) {
            rc = bdbi_err_at(BDB_ECORRUPT, label, (int64_t)at, "record of %zu bytes", n);
            break;
        }
        int32_t type = (int32_t)bdbi_be32(body);
        if (type == BDB_METAENTRY) {
            if (at == 0) continue; /* skipped, but its bytes count in the offsets */
            rc = bdbi_err_at(BDB_ECORRUPT, label, (int64_t)at, "METAENTRY after the first record");
            break;
        }
        if (type < 0 || type > (b->p.hot ? BDB_HOT_LIVE : BDB_INITENTRY)) {
            rc = bdbi_err_at(BDB_ECORRUPT, label, (int64_t)at, "%d is not a valid record type",
                             type);
            break;
        }
        size_t need = BDB_SORT_KEY_BOUND(n);
        if (need > sk.cap && (rc = vec_reserve(b->env, &sk, need - sk.n, 1))) break;
        bdbi_sk_out o = {sk.p, 0, sk.cap};
        if ((rc =
                 bdbi_record_sort_key(b->p.hot, type, body + 4, n - 4, label, (int64_t)at + 8, &o)))
            break;
        if ((rc = bdbi_index_builder_add(b, at, body, n, o.p, o.len))) break;
    }
    vec_free(b->env, &sk, 1);
    return rc ? as_corrupt(rc, label, pos) : 0;
}

int bdbi_index_build_scan(bdb_env *env, const bdbi_index_params *p, const uint8_t *data, size_t len,
                          const char *label, bdbi_index **out)
{
    *out = NULL;
    bdbi_index_builder *b;
    int rc = bdbi_index_builder_new(env, p, &b);
    if (rc) return rc;
    if ((rc = scan(b, data, len, label))) {
        bdbi_index_builder_free(b);
        return rc;
    }
    return bdbi_index_builder_finish(b, len, out);
}

/* ---- lookups --------------------------------------------------------- */

static uint64_t probe_hash(const bdbi_index *x, bdbi_probe *k)
{
    if (!k->has_hash || k->seed != x->seed) {
        k->hash = bdbi_hash64(k->sk, k->sk_len, x->seed);
        k->seed = x->seed;
        k->has_hash = 1;
    }
    return k->hash;
}

/* Reads the record whose mark is at data[off]: BDB_ECORRUPT unless it
 * lies inside data[0..len). */
static int record_at(const uint8_t *data, size_t len, uint64_t off, const uint8_t **body, size_t *n)
{
    if (off > len || len - off < BDBI_RECORD_MARK_LEN)
        return bdbi_err_at(BDB_ECORRUPT, NULL, (int64_t)off,
                           "index names a record at offset %llu of a %zu-byte file",
                           (unsigned long long)off, len);
    uint32_t mark = bdbi_be32(data + off);
    uint32_t m = mark & ~BDBI_RECORD_LAST_FRAGMENT;
    if (!(mark & BDBI_RECORD_LAST_FRAGMENT) || m % 4 || m > len - off - BDBI_RECORD_MARK_LEN)
        return bdbi_err_at(BDB_ECORRUPT, NULL, (int64_t)off,
                           "bad record mark %#010x at offset %llu of a %zu-byte file", mark,
                           (unsigned long long)off, len);
    *body = data + off + BDBI_RECORD_MARK_LEN;
    *n = m;
    return 0;
}

static int lookup_exact(const bdbi_index *x, const uint8_t *data, size_t len, bdbi_probe *k,
                        const uint8_t **rec, size_t *rec_len, uint64_t *offset)
{
    if (!x->cap) return 0;
    uint64_t h = probe_hash(x, k);
    uint64_t tag = tag_of(h, x->off_bits), mask = UINT64_MAX >> (64 - x->off_bits);
    size_t pos = slot_of(h, x->cap);
    for (size_t i = 0; i < x->cap; i++) {
        uint64_t s = x->slots[pos];
        if (!s) return 0;
        if (s >> x->off_bits == tag) {
            uint64_t off = (s & mask) - 1;
            const uint8_t *body;
            size_t n;
            int rc = record_at(data, len, off, &body, &n);
            if (rc) return rc;
            if (bdbi_record_has_key(x->hot, body, n, k->key, k->key_len)) {
                *rec = body;
                *rec_len = n;
                *offset = off;
                return 1;
            }
        }
        pos = pos + 1 == x->cap ? 0 : pos + 1;
    }
    return 0;
}

/* Whether page i's separator is <= the probe's sort key. */
static inline int sep_le(const bdbi_index *x, size_t i, uint64_t prefix, const bdbi_probe *k)
{
    if (x->sep_prefix[i] != prefix) return x->sep_prefix[i] < prefix;
    size_t n;
    const uint8_t *s = bdbi_index_sep(x, i, &n);
    return bdbi_sk_cmp(s, n, k->sk, k->sk_len) <= 0;
}

/* The last page at or after `from` whose separator is <= the key (`from`
 * itself if none is): from `from` the search gallops, so a walk over
 * increasing keys costs O(log distance) per key. */
static size_t find_page(const bdbi_index *x, size_t from, const bdbi_probe *k, int gallop)
{
    uint64_t prefix = bdbi_sk_prefix(k->sk, k->sk_len);
    size_t lo = from, hi = x->n_pages;
    if (gallop) {
        for (size_t step = 1;; step *= 2) {
            if (step >= x->n_pages - lo) break;
            if (!sep_le(x, lo + step, prefix, k)) {
                hi = lo + step;
                break;
            }
            lo += step;
        }
    }
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (sep_le(x, mid, prefix, k))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static int lookup_paged(const bdbi_index *x, const uint8_t *data, size_t len, bdbi_probe *k,
                        size_t *cursor, const uint8_t **rec, size_t *rec_len, uint64_t *offset)
{
    if (!x->n_pages || !bdbi_fuse_set_contains(x->filter, probe_hash(x, k))) return 0;
    size_t from = cursor && *cursor < x->n_pages ? *cursor : 0;
    size_t page = find_page(x, from, k, cursor != NULL);
    if (cursor) *cursor = page;
    /* the records of the page: those starting inside its window */
    uint64_t pos = x->page_off[page];
    uint64_t end = pos - pos % x->page_size + x->page_size;
    if (pos >= len)
        return bdbi_err_at(BDB_ECORRUPT, NULL, (int64_t)pos,
                           "index names a page at offset %llu of a %zu-byte file",
                           (unsigned long long)pos, len);
    if (x->n_sub) {
        /* Narrow the scan to the points around the key: a key present
         * shares the page's first `skip` bytes, so a point whose digest is
         * below the probe's is a smaller key (the record is at or past it)
         * and one whose digest is above is a greater key (the record is
         * before it). Equal digests tell nothing. A probe that does not
         * share those bytes is not in the page, wherever the scan starts.
         * Digests are ascending (the builder makes, the loader checks
         * them). */
        size_t kk = x->n_sub, j = 0;
        const uint64_t *w = x->sub + page * x->sub_words;
        uint64_t dq = bdbi_sk_digest(k->sk, k->sk_len, bdbi_sub_half(w, kk, 0));
        uint64_t start = pos;
        while (j < kk && w[j] < dq) j++;
        if (j) pos = start + bdbi_sub_half(w, kk, j);
        while (j < kk && w[j] == dq) j++;
        if (j < kk) end = start + bdbi_sub_half(w, kk, j + 1);
        /* The range is about one sub-window of a page that is rarely in
         * cache: asking for all its lines at once overlaps their misses,
         * where the record-by-record scan would wait for each in turn. */
        uint64_t stop = end - pos < 4096 ? end : pos + 4096;
        for (uint64_t a = pos; a < stop && a < len; a += 64) __builtin_prefetch(data + a);
    }
    while (pos < end && pos < len) {
        const uint8_t *body;
        size_t n;
        int rc = record_at(data, len, pos, &body, &n);
        if (rc) return rc;
        if (bdbi_record_has_key(x->hot, body, n, k->key, k->key_len)) {
            *rec = body;
            *rec_len = n;
            *offset = pos;
            return 1;
        }
        pos += BDBI_RECORD_MARK_LEN + n;
    }
    return 0;
}

void bdbi_index_prefetch(const bdbi_index *x, bdbi_probe *k)
{
    if (x->page_size == 0) {
        if (x->cap) __builtin_prefetch(&x->slots[slot_of(probe_hash(x, k), x->cap)]);
    } else if (x->n_pages) {
        bdbi_fuse_set_prefetch(x->filter, probe_hash(x, k));
    }
}

int bdbi_index_lookup(const bdbi_index *x, const uint8_t *data, size_t len, bdbi_probe *k,
                      size_t *cursor, const uint8_t **rec, size_t *rec_len, uint64_t *offset)
{
    if (x->page_size == 0) return lookup_exact(x, data, len, k, rec, rec_len, offset);
    return lookup_paged(x, data, len, k, cursor, rec, rec_len, offset);
}

/* ---- the other parts ------------------------------------------------- */

int bdbi_index_type_range(const bdbi_index *x, int32_t type, uint64_t *begin, uint64_t *end)
{
    if (type < 0 || type >= BDBI_INDEX_TYPES || !(x->type_mask & 1u << type)) return 0;
    *begin = x->type_begin[type];
    *end = x->type_end[type];
    return 1;
}

const bdbi_entry_counters *bdbi_index_counters(const bdbi_index *x)
{
    return &x->counters;
}

const uint8_t (*bdbi_index_pools(const bdbi_index *x, const uint8_t *asset, size_t len,
                                 size_t *n))[32]
{
    size_t lo = 0, hi = x->n_assets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const bdbi_pool_asset *a = &x->assets[mid];
        int c = bdbi_asset_cmp(a->xdr, a->len, asset, len);
        if (c == 0) {
            *n = (size_t)a->count;
            return (const uint8_t(*)[32]) & x->ids[a->first];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *n = 0;
    return NULL;
}

uint64_t bdbi_index_form(const bdbi_index *x)
{
    return x->page_size;
}

uint64_t bdbi_index_seed(const bdbi_index *x)
{
    return x->seed;
}

uint64_t bdbi_index_records(const bdbi_index *x)
{
    return x->records;
}

size_t bdbi_index_page_bytes(const bdbi_index *x)
{
    if (!x->page_size) return 0;
    return x->n_pages * (24 + x->sub_words * 8) + x->blob_len +
           (x->filter ? bdbi_fuse_set_bytes(x->filter) : 0);
}

size_t bdbi_index_bytes(const bdbi_index *x)
{
    return sizeof *x + x->n_assets * sizeof *x->assets + x->n_ids * sizeof *x->ids + x->cap * 8 +
           bdbi_index_page_bytes(x);
}

static int mem_eq(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

int bdbi_index_equal(const bdbi_index *a, const bdbi_index *b)
{
    if (a->hot != b->hot || a->page_size != b->page_size || a->seed != b->seed ||
        a->records != b->records || a->file_size != b->file_size || a->type_mask != b->type_mask)
        return 0;
    for (int t = 0; t < BDBI_INDEX_TYPES; t++)
        if (a->type_begin[t] != b->type_begin[t] || a->type_end[t] != b->type_end[t]) return 0;
    if (memcmp(&a->counters, &b->counters, sizeof a->counters)) return 0;
    if (a->n_assets != b->n_assets || a->n_ids != b->n_ids ||
        !mem_eq(a->assets, b->assets, a->n_assets * sizeof *a->assets) ||
        !mem_eq(a->ids, b->ids, a->n_ids * sizeof *a->ids))
        return 0;
    if (a->off_bits != b->off_bits || a->cap != b->cap || !mem_eq(a->slots, b->slots, a->cap * 8))
        return 0;
    if (a->n_pages != b->n_pages || a->blob_len != b->blob_len ||
        !mem_eq(a->page_off, b->page_off, a->n_pages * 8) ||
        !mem_eq(a->sep_end, b->sep_end, a->n_pages * 8) ||
        !mem_eq(a->sep_prefix, b->sep_prefix, a->n_pages * 8) ||
        !mem_eq(a->sep_blob, b->sep_blob, a->blob_len) || a->n_sub != b->n_sub ||
        a->sub_words != b->sub_words || !mem_eq(a->sub, b->sub, a->n_pages * a->sub_words * 8))
        return 0;
    return bdbi_fuse_set_equal(a->env, a->filter, b->filter);
}
