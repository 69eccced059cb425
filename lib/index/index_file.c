/* The persisted form of an index (docs/index-file.md): a header binding it
 * to its bucket file and configuration, fixed sections, and an XXH3-64 of
 * everything before it. The loader trusts nothing: every count is checked
 * against the bytes that hold it before anything is allocated, and the
 * parts are checked against each other, so a damaged or hostile file is
 * refused rather than used. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bucket/bucket.h"
#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "index_impl.h"

#define MAGIC       "BDBINDEX"
#define HEADER_LEN  64
#define SECTION_HDR 16
#define CHECKSUM    8
#define FLAG_HOT    1u
/* bytes of one pool-map asset: len, reserved, first, count, XDR padded */
#define ASSET_REC (4 + 4 + 8 + 8 + BDBI_ASSET_MAX + 4)
/* the smallest record: mark, type and a CONFIG_SETTING key */
#define MIN_RECORD 16

static const char tag_types[4] = "TYPR", tag_counters[4] = "CNTR", tag_pools[4] = "POOL",
                  tag_slots[4] = "SLOT", tag_pages[4] = "PAGE", tag_skips[4] = "SKIP",
                  tag_filter[4] = "FUSE";

static size_t pad8(size_t n)
{
    return (8 - (n & 7)) & 7;
}

/* ---- writing --------------------------------------------------------- */

/* Where serialize() puts bytes: nowhere while counting (chunk NULL: only
 * `len` grows), else through a fixed staging chunk into the file and the
 * checksum, so saving needs no buffer the size of the index. */
typedef struct wbuf {
    size_t len;   /* bytes put so far */
    size_t total; /* the file's length, once counted */
    uint8_t *chunk;
    size_t fill;
    XXH3_state_t *xxh;
    bdbi_file *f;
    int err;
} wbuf;

#define CHUNK ((size_t)64 << 10)

static void drain(wbuf *o)
{
    if (!o->err && o->fill) {
        XXH3_64bits_update(o->xxh, o->chunk, o->fill);
        o->err = bdbi_file_write(o->f, o->chunk, o->fill);
    }
    o->fill = 0;
}

static void put(wbuf *o, const void *src, size_t n)
{
    o->len += n;
    if (!o->chunk) return;
    const uint8_t *p = src;
    while (n) {
        size_t k = CHUNK - o->fill < n ? CHUNK - o->fill : n;
        memcpy(o->chunk + o->fill, p, k);
        o->fill += k;
        p += k;
        n -= k;
        if (o->fill == CHUNK) drain(o);
    }
}

static void put_sink(void *ctx, const void *p, size_t n)
{
    put(ctx, p, n);
}

static void put32(wbuf *o, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i));
    put(o, b, 4);
}

static void put64(wbuf *o, uint64_t v)
{
    put32(o, (uint32_t)v);
    put32(o, (uint32_t)(v >> 32));
}

static void put_pad(wbuf *o)
{
    static const uint8_t zero[8];
    put(o, zero, pad8(o->len));
}

static void put_section(wbuf *o, const char tag[4], size_t len)
{
    put(o, tag, 4);
    put32(o, 0);
    put64(o, len);
}

static size_t pools_len(const bdbi_index *x)
{
    return 16 + x->n_assets * ASSET_REC + x->n_ids * 32;
}

static size_t pages_len(const bdbi_index *x)
{
    return 16 + x->n_pages * 16 + x->blob_len;
}

static size_t skips_len(const bdbi_index *x)
{
    return 8 + x->n_pages * x->sub_words * 8;
}

/* Writes the whole file into o (counting only, while o->p is NULL). */
static void serialize(const bdbi_index *x, uint64_t file_size, uint64_t file_xxh, wbuf *o)
{
    put(o, MAGIC, 8);
    put32(o, BDBI_INDEX_VERSION);
    put32(o, x->hot ? FLAG_HOT : 0);
    put64(o, x->page_size);
    put64(o, file_size);
    put64(o, file_xxh);
    put64(o, x->seed);
    put64(o, x->records);
    put64(o, o->total); /* the total length, known once counted */

    put_section(o, tag_types, 8 + BDBI_INDEX_TYPES * 16);
    put32(o, x->type_mask);
    put32(o, 0);
    for (int t = 0; t < BDBI_INDEX_TYPES; t++) put64(o, x->type_begin[t]), put64(o, x->type_end[t]);

    put_section(o, tag_counters, BDBI_INDEX_COUNTER_KINDS * 16);
    for (int k = 0; k < BDBI_INDEX_COUNTER_KINDS; k++) put64(o, x->counters.count[k]);
    for (int k = 0; k < BDBI_INDEX_COUNTER_KINDS; k++) put64(o, x->counters.bytes[k]);

    put_section(o, tag_pools, pools_len(x));
    put64(o, x->n_assets);
    put64(o, x->n_ids);
    for (size_t i = 0; i < x->n_assets; i++) {
        const bdbi_pool_asset *a = &x->assets[i];
        put32(o, a->len);
        put32(o, 0);
        put64(o, a->first);
        put64(o, a->count);
        put(o, a->xdr, BDBI_ASSET_MAX);
        put32(o, 0);
    }
    if (x->n_ids) put(o, x->ids, x->n_ids * 32);
    put_pad(o);

    if (x->page_size == 0) {
        put_section(o, tag_slots, 16 + x->cap * 8);
        put32(o, x->off_bits);
        put32(o, 0);
        put64(o, x->cap);
        for (size_t i = 0; i < x->cap; i++) put64(o, x->slots[i]);
    } else {
        put_section(o, tag_pages, pages_len(x));
        put64(o, x->n_pages);
        put64(o, x->blob_len);
        for (size_t i = 0; i < x->n_pages; i++) put64(o, x->page_off[i]);
        for (size_t i = 0; i < x->n_pages; i++) put64(o, x->sep_end[i]);
        if (x->blob_len) put(o, x->sep_blob, x->blob_len);
        put_pad(o);
        put_section(o, tag_skips, skips_len(x));
        put64(o, x->n_sub);
        for (size_t i = 0; i < x->n_pages * x->sub_words; i++) put64(o, x->sub[i]);
        put_section(o, tag_filter, bdbi_fuse_set_serialized_size(x->filter));
        bdbi_fuse_set_emit(x->filter, put_sink, o);
        put_pad(o);
    }
    /* the checksum of everything before it, which it does not cover */
    drain(o);
    o->len += CHECKSUM;
    if (o->chunk && !o->err) {
        uint8_t sum[CHECKSUM];
        bdbi_put_le64(sum, XXH3_64bits_digest(o->xxh));
        o->err = bdbi_file_write(o->f, sum, CHECKSUM);
    }
}

int bdbi_index_save(bdb_env *env, const bdbi_index *x, const char *path, uint64_t file_size,
                    uint64_t file_xxh, int nosync)
{
    if (file_size != x->file_size)
        return bdbi_err_at(BDB_EINVAL, path, -1,
                           "index of a %llu-byte file saved for a %llu-byte file",
                           (unsigned long long)x->file_size, (unsigned long long)file_size);
    wbuf o = {0};
    serialize(x, file_size, file_xxh, &o);
    o.total = o.len;
    o.len = 0;
    o.chunk = bdbi_malloc(env, BDB_MEM_INDEX, CHUNK);
    o.xxh = XXH3_createState();
    int rc = o.chunk && o.xxh ? 0 : BDB_ENOMEM;
    if (!rc) rc = bdbi_file_create(env, path, nosync ? BDBI_FS_NOSYNC : 0, 0, &o.f);
    if (!rc) {
        XXH3_64bits_reset(o.xxh);
        serialize(x, file_size, file_xxh, &o);
        rc = o.err;
        if (!rc && o.len != o.total)
            rc = bdbi_err(BDB_EINTERNAL, "index serialized to %zu bytes, %zu counted", o.len,
                          o.total);
        if (rc)
            bdbi_file_abort(o.f);
        else
            rc = bdbi_file_commit(o.f);
    }
    if (o.chunk) bdbi_free(env, BDB_MEM_INDEX, o.chunk, CHUNK);
    XXH3_freeState(o.xxh);
    return rc;
}

/* ---- reading --------------------------------------------------------- */

typedef struct in {
    const uint8_t *p;
    size_t len, pos;
    const char *path;
    size_t base; /* offset of p[0] in the file, for messages */
} in;

#define BAD(i, ...)                                                                                \
    bdbi_err_at(BDB_ECORRUPT, (i)->path, (int64_t)((i)->base + (i)->pos), __VA_ARGS__)

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Callers check that the bytes are there (need()) before reading. */
static int need(in *i, size_t n, const char *what)
{
    if (i->len - i->pos >= n) return 0;
    return BAD(i, "truncated %s: %zu bytes needed, %zu left", what, n, i->len - i->pos);
}

static uint32_t get32(in *i)
{
    uint32_t v = le32(i->p + i->pos);
    i->pos += 4;
    return v;
}

static uint64_t get64(in *i)
{
    uint64_t v = le64(i->p + i->pos);
    i->pos += 8;
    return v;
}

/* Opens the next section, which must be `tag`: *s covers its body. */
static int section(in *i, const char tag[4], in *s)
{
    int rc = need(i, SECTION_HDR, "section header");
    if (rc) return rc;
    if (memcmp(i->p + i->pos, tag, 4) || le32(i->p + i->pos + 4))
        return BAD(i, "section %.4s expected", tag);
    i->pos += 8;
    uint64_t n = get64(i);
    if (n > i->len - i->pos || pad8((size_t)n) > i->len - i->pos - n)
        return BAD(i, "section %.4s of %llu bytes overruns the file", tag, (unsigned long long)n);
    *s = (in){i->p + i->pos, (size_t)n, 0, i->path, i->base + i->pos};
    for (size_t k = 0; k < pad8((size_t)n); k++)
        if (i->p[i->pos + n + k]) return BAD(i, "non-zero padding after section %.4s", tag);
    i->pos += (size_t)n + pad8((size_t)n);
    return 0;
}

static int section_end(in *s, const char tag[4])
{
    return s->pos == s->len ? 0
                            : BAD(s, "section %.4s has %zu bytes too many", tag, s->len - s->pos);
}

static int load_types(in *i, bdbi_index *x)
{
    in s;
    int rc = section(i, tag_types, &s);
    if (rc || (rc = need(&s, 8 + BDBI_INDEX_TYPES * 16, "type ranges"))) return rc;
    x->type_mask = get32(&s);
    if (get32(&s) || x->type_mask >> BDBI_INDEX_TYPES)
        return BAD(&s, "bad type mask %#x", x->type_mask);
    if (!x->type_mask != !x->records) return BAD(&s, "type ranges disagree with the record count");
    int last = -1;
    for (int t = 0; t < BDBI_INDEX_TYPES; t++) {
        x->type_begin[t] = get64(&s);
        x->type_end[t] = get64(&s);
        if (!(x->type_mask & 1u << t)) {
            if (x->type_begin[t] || x->type_end[t]) return BAD(&s, "range of an absent type %d", t);
            continue;
        }
        if (x->type_begin[t] >= x->file_size) return BAD(&s, "type %d starts past the file", t);
        if (last >= 0 && x->type_end[last] != x->type_begin[t])
            return BAD(&s, "range of type %d does not end where type %d starts", last, t);
        last = t;
    }
    if (last >= 0 && x->type_end[last] != BDBI_INDEX_RANGE_OPEN)
        return BAD(&s, "the range of the last type is not open");
    return section_end(&s, tag_types);
}

static int load_counters(in *i, bdbi_index *x)
{
    in s;
    int rc = section(i, tag_counters, &s);
    if (rc || (rc = need(&s, BDBI_INDEX_COUNTER_KINDS * 16, "counters"))) return rc;
    bdbi_entry_counters *c = &x->counters;
    for (int k = 0; k < BDBI_INDEX_COUNTER_KINDS; k++) c->count[k] = get64(&s);
    for (int k = 0; k < BDBI_INDEX_COUNTER_KINDS; k++) c->bytes[k] = get64(&s);
    /* every record is counted once, at 8 to 2^31 bytes, and the records
     * with their marks fit in the file */
    uint64_t records = 0, bytes = 0;
    uint32_t types = 0;
    for (int k = 0; k < BDBI_INDEX_COUNTER_KINDS; k++) {
        if (c->count[k] > x->records - records || c->bytes[k] < 8 * c->count[k] ||
            c->bytes[k] / 0x80000000u > c->count[k] || c->bytes[k] > x->file_size - bytes)
            return BAD(&s, "counters of kind %d are impossible", k);
        records += c->count[k];
        bytes += c->bytes[k];
        if (c->count[k]) types |= 1u << bdbi_kind_type(k);
    }
    if (records != x->records || bytes > x->file_size - 4 * records || types != x->type_mask)
        return BAD(&s, "counters disagree with the records and their types");
    return section_end(&s, tag_counters);
}

static int load_pools(bdb_env *env, in *i, bdbi_index *x)
{
    in s;
    int rc = section(i, tag_pools, &s);
    if (rc || (rc = need(&s, 16, "pool map"))) return rc;
    uint64_t na = get64(&s), ni = get64(&s);
    uint64_t pools = x->counters.count[BDB_LIQUIDITY_POOL];
    if (ni > 2 * pools || na > ni || (x->hot && ni) || (s.len - 16) != na * ASSET_REC + ni * 32)
        return BAD(&s, "pool map of %llu assets and %llu pool IDs", (unsigned long long)na,
                   (unsigned long long)ni);
    if (na) {
        x->assets = bdbi_calloc(env, BDB_MEM_INDEX, (size_t)na, sizeof *x->assets);
        if (!x->assets) return BDB_ENOMEM;
        x->n_assets = (size_t)na;
        x->ids = bdbi_malloc(env, BDB_MEM_INDEX, (size_t)ni * 32);
        if (!x->ids) return BDB_ENOMEM;
        x->n_ids = (size_t)ni;
    }
    uint64_t first = 0;
    for (size_t k = 0; k < x->n_assets; k++) {
        bdbi_pool_asset *a = &x->assets[k];
        a->len = get32(&s);
        uint32_t zero = get32(&s);
        a->first = get64(&s);
        a->count = get64(&s);
        memcpy(a->xdr, s.p + s.pos, BDBI_ASSET_MAX);
        s.pos += BDBI_ASSET_MAX;
        zero |= get32(&s);
        for (size_t b = a->len; b < BDBI_ASSET_MAX && !zero && a->len <= BDBI_ASSET_MAX; b++)
            zero |= a->xdr[b];
        if (zero || a->len > BDBI_ASSET_MAX || bdbi_asset_len(a->xdr, a->len) != a->len ||
            a->first != first || a->count == 0 || a->count > ni - first)
            return BAD(&s, "bad pool-map asset %zu", k);
        if (k && bdbi_asset_cmp(a[-1].xdr, a[-1].len, a->xdr, a->len) >= 0)
            return BAD(&s, "pool-map assets out of order at %zu", k);
        first += a->count;
    }
    if (first != ni)
        return BAD(&s, "pool-map assets hold %llu of %llu IDs", (unsigned long long)first,
                   (unsigned long long)ni);
    if (ni) memcpy(x->ids, s.p + s.pos, (size_t)ni * 32);
    s.pos += (size_t)ni * 32;
    for (size_t k = 0; k < x->n_assets; k++)
        for (uint64_t j = x->assets[k].first + 1; j < x->assets[k].first + x->assets[k].count; j++)
            if (memcmp(x->ids[j - 1], x->ids[j], 32) >= 0)
                return BAD(&s, "pool IDs of asset %zu out of order", k);
    return section_end(&s, tag_pools);
}

static int load_slots(bdb_env *env, in *i, bdbi_index *x)
{
    in s;
    int rc = section(i, tag_slots, &s);
    if (rc || (rc = need(&s, 16, "table"))) return rc;
    x->off_bits = get32(&s);
    uint32_t zero = get32(&s);
    uint64_t cap = get64(&s);
    if (zero || x->off_bits != bdbi_index_off_bits(x->file_size) ||
        cap != bdbi_index_table_cap(x->records) || cap > (s.len - 16) / 8 || s.len - 16 != cap * 8)
        return BAD(&s, "table of %llu slots for %llu records", (unsigned long long)cap,
                   (unsigned long long)x->records);
    if (cap) {
        x->slots = bdbi_malloc(env, BDB_MEM_INDEX, (size_t)cap * 8);
        if (!x->slots) return BDB_ENOMEM;
        x->cap = (size_t)cap;
    }
    uint64_t mask = UINT64_MAX >> (64 - x->off_bits), used = 0;
    for (size_t k = 0; k < x->cap; k++) {
        uint64_t v = x->slots[k] = get64(&s);
        if (!v) continue;
        used++;
        if ((v & mask) == 0 || (v & mask) > x->file_size)
            return BAD(&s, "slot %zu names an offset outside the file", k);
    }
    if (used != x->records)
        return BAD(&s, "%llu slots used for %llu records", (unsigned long long)used,
                   (unsigned long long)x->records);
    return section_end(&s, tag_slots);
}

/* the first record's offset: where the first page must start */
static uint64_t first_record(const bdbi_index *x)
{
    for (int t = 0; t < BDBI_INDEX_TYPES; t++)
        if (x->type_mask & 1u << t) return x->type_begin[t];
    return 0;
}

/* The sub-page skips of the pages (loaded before them): as many points
 * per page as the page size gives, each inside its page's window and the
 * file, offsets and digests ascending, unused halves zero. Lookups still
 * bounds-check every record they read; these checks keep a hostile file
 * from sending a scan out of its page. */
static int load_skips(bdb_env *env, in *i, bdbi_index *x)
{
    in s;
    int rc = section(i, tag_skips, &s);
    if (rc || (rc = need(&s, 8, "skip points"))) return rc;
    uint64_t k = get64(&s);
    size_t want = bdbi_index_subwindows(x->page_size) - 1, nw = bdbi_index_sub_words(want);
    if (k != want || (nw && x->n_pages > (s.len - 8) / 8 / nw) || s.len - 8 != x->n_pages * nw * 8)
        return BAD(&s, "%llu skip points per page in %zu bytes, %zu expected",
                   (unsigned long long)k, s.len, want);
    x->n_sub = want;
    x->sub_words = nw;
    if (!nw || !x->n_pages) return section_end(&s, tag_skips);
    x->sub = bdbi_malloc(env, BDB_MEM_INDEX, x->n_pages * nw * 8);
    if (!x->sub) return BDB_ENOMEM;
    for (size_t w = 0; w < x->n_pages * nw; w++) x->sub[w] = get64(&s);
    uint64_t ps = x->page_size;
    for (size_t pg = 0; pg < x->n_pages; pg++) {
        const uint64_t *w = x->sub + pg * nw;
        uint64_t start = x->page_off[pg], room = start - start % ps + ps - start;
        if (start + room > x->file_size) room = x->file_size - start;
        for (size_t j = 0; j < want; j++) {
            unsigned off = bdbi_sub_half(w, want, j + 1);
            if (off >= room || (j && (w[j] < w[j - 1] || off < bdbi_sub_half(w, want, j))))
                return BAD(&s, "skip point %zu of page %zu breaks the skip rule", j, pg);
        }
        for (size_t h = want + 1; h < 4 * (nw - want); h++)
            if (bdbi_sub_half(w, want, h)) return BAD(&s, "skip words of page %zu", pg);
    }
    return section_end(&s, tag_skips);
}

static int load_pages(bdb_env *env, in *i, bdbi_index *x)
{
    in s;
    int rc = section(i, tag_pages, &s);
    if (rc || (rc = need(&s, 16, "pages"))) return rc;
    uint64_t np = get64(&s), blob = get64(&s);
    if (np > x->records || !np != !x->records || np > (s.len - 16) / 16 ||
        blob != s.len - 16 - np * 16)
        return BAD(&s, "%llu pages, %llu separator bytes", (unsigned long long)np,
                   (unsigned long long)blob);
    if (np) {
        x->page_off = bdbi_malloc(env, BDB_MEM_INDEX, (size_t)np * 8);
        x->sep_end = x->page_off ? bdbi_malloc(env, BDB_MEM_INDEX, (size_t)np * 8) : NULL;
        if (!x->sep_end) {
            if (x->page_off) bdbi_free(env, BDB_MEM_INDEX, x->page_off, (size_t)np * 8);
            x->page_off = NULL;
            return BDB_ENOMEM;
        }
        x->n_pages = (size_t)np;
    }
    if (blob) {
        x->sep_blob = bdbi_malloc(env, BDB_MEM_INDEX, (size_t)blob);
        if (!x->sep_blob) return BDB_ENOMEM;
        x->blob_len = (size_t)blob;
    }
    uint64_t ps = x->page_size;
    for (size_t k = 0; k < x->n_pages; k++) {
        uint64_t off = x->page_off[k] = get64(&s);
        /* page k starts at or after the end of page k-1's window */
        uint64_t min = k ? x->page_off[k - 1] - x->page_off[k - 1] % ps + ps : first_record(x);
        if (off >= x->file_size || (k ? off < min : off != min))
            return BAD(&s, "page %zu at offset %llu breaks the page rule", k,
                       (unsigned long long)off);
    }
    for (size_t k = 0; k < x->n_pages; k++) {
        uint64_t e = x->sep_end[k] = get64(&s);
        uint64_t b = k ? x->sep_end[k - 1] : 0;
        if (e < b || e > blob || (k == 0) != (e == b))
            return BAD(&s, "separator %zu ends at %llu", k, (unsigned long long)e);
    }
    if (x->n_pages && x->sep_end[x->n_pages - 1] != blob)
        return BAD(&s, "separators do not fill their bytes");
    if (blob) memcpy(x->sep_blob, s.p + s.pos, (size_t)blob);
    s.pos += (size_t)blob;
    for (size_t k = 2; k < x->n_pages; k++) {
        size_t an, bn;
        const uint8_t *a = bdbi_index_sep(x, k - 1, &an), *b = bdbi_index_sep(x, k, &bn);
        if (bdbi_sk_cmp(a, an, b, bn) >= 0) return BAD(&s, "separator %zu out of order", k);
    }
    if ((rc = section_end(&s, tag_pages)) || (rc = bdbi_index_fill_prefixes(env, x)) ||
        (rc = load_skips(env, i, x)))
        return rc;

    in f;
    if ((rc = section(i, tag_filter, &f))) return rc;
    if ((rc = bdbi_fuse_set_deserialize(env, f.p, f.len, &x->filter))) {
        if (rc == BDB_ENOMEM) return rc;
        bdb_error e;
        bdb_last_error(&e);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", e.msg);
        return bdbi_err_at(BDB_ECORRUPT, i->path, (int64_t)f.base, "filter: %s", msg);
    }
    return 0;
}

static int load(bdb_env *env, const uint8_t *p, size_t len, const char *path,
                const bdbi_index_params *prm, uint64_t file_size, uint64_t file_xxh, bdbi_index *x)
{
    in i = {p, len, 0, path, 0};
    if (len < 8 || memcmp(p, MAGIC, 8)) return BAD(&i, "not an index file (magic)");
    if (len < HEADER_LEN + CHECKSUM) return BAD(&i, "truncated: %zu bytes", len);
    uint32_t version = le32(p + 8);
    if (version != BDBI_INDEX_VERSION)
        return bdbi_err_at(BDB_EFORMAT, path, 8, "index version %u, %d expected", version,
                           BDBI_INDEX_VERSION);
    if (le64(p + 56) != len)
        return bdbi_err_at(BDB_ECORRUPT, path, 56, "index file of %zu bytes, %llu recorded", len,
                           (unsigned long long)le64(p + 56));
    if (le64(p + len - CHECKSUM) != bdbi_hash64(p, len - CHECKSUM, 0))
        return bdbi_err_at(BDB_ECORRUPT, path, (int64_t)(len - CHECKSUM), "checksum mismatch");
    uint32_t flags = le32(p + 12);
    if (flags & ~FLAG_HOT) return bdbi_err_at(BDB_ECORRUPT, path, 12, "unknown flags %#x", flags);
    if (!(flags & FLAG_HOT) != !prm->hot)
        return bdbi_err_at(BDB_EFORMAT, path, 12, "index of a %s bucket, %s expected",
                           flags & FLAG_HOT ? "hot-archive" : "live",
                           prm->hot ? "hot-archive" : "live");
    uint64_t ps = le64(p + 16), want = bdbi_index_page_size(prm, file_size);
    if (ps != want)
        return bdbi_err_at(BDB_EFORMAT, path, 16, "index page size %llu, %llu expected",
                           (unsigned long long)ps, (unsigned long long)want);
    if (le64(p + 24) != file_size || le64(p + 32) != file_xxh)
        return bdbi_err_at(BDB_EFORMAT, path, 24,
                           "index of another file (size %llu, XXH3 %016llx; this one is %llu, "
                           "%016llx)",
                           (unsigned long long)le64(p + 24), (unsigned long long)le64(p + 32),
                           (unsigned long long)file_size, (unsigned long long)file_xxh);
    x->hot = prm->hot ? 1 : 0;
    x->page_size = ps;
    x->file_size = file_size;
    x->seed = le64(p + 40);
    x->records = le64(p + 48);
    if (x->records > file_size / MIN_RECORD)
        return bdbi_err_at(BDB_ECORRUPT, path, 48, "%llu records in a %llu-byte file",
                           (unsigned long long)x->records, (unsigned long long)file_size);
    i.pos = HEADER_LEN;
    i.len = len - CHECKSUM;
    int rc;
    if ((rc = load_types(&i, x)) || (rc = load_counters(&i, x)) || (rc = load_pools(env, &i, x)))
        return rc;
    rc = ps ? load_pages(env, &i, x) : load_slots(env, &i, x);
    if (rc) return rc;
    return i.pos == i.len ? 0 : BAD(&i, "%zu bytes after the last section", i.len - i.pos);
}

int bdbi_index_load(bdb_env *env, const char *path, const bdbi_index_params *p, uint64_t file_size,
                    uint64_t file_xxh, bdbi_index **out)
{
    *out = NULL;
    /* the largest valid index is a few bytes per byte of its file */
    size_t max = file_size < (SIZE_MAX >> 3) - (1u << 20) ? (size_t)file_size * 4 + (1u << 20)
                                                          : SIZE_MAX >> 1;
    void *buf;
    size_t len;
    int rc = bdbi_fs_read_file(env, BDB_MEM_INDEX, path, max, &buf, &len);
    if (rc) return rc;
    bdbi_index *x = bdbi_calloc(env, BDB_MEM_INDEX, 1, sizeof *x);
    if (!x) {
        rc = BDB_ENOMEM;
    } else {
        x->env = env;
        rc = load(env, buf, len, path, p, file_size, file_xxh, x);
    }
    bdbi_free(env, BDB_MEM_INDEX, buf, len ? len : 1);
    if (rc) {
        bdbi_index_free(env, x);
        return rc;
    }
    *out = x;
    return 0;
}
