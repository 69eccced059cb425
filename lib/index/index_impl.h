/* What the parts of the index module share: the index object, the pool
 * map's layout, and the record parsers of index_key.c. Not a public
 * interface: lib/index/index.h is. */
#ifndef BDB_INDEX_INDEX_IMPL_H
#define BDB_INDEX_INDEX_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "fuse_set.h"
#include "index.h"

/* LedgerEntryType values 0..9 */
#define BDBI_INDEX_TYPES 10
/* The longest Asset XDR: CREDIT_ALPHANUM12 (type, code, AccountID). */
#define BDBI_ASSET_MAX 52

/* One asset of the pool map: its XDR and the pool IDs that have it, which
 * are ids[first .. first + count) of the index, ascending. */
typedef struct bdbi_pool_asset {
    uint8_t xdr[BDBI_ASSET_MAX]; /* zero past len */
    uint32_t len;
    uint64_t first, count;
} bdbi_pool_asset;

struct bdbi_index {
    bdb_env *env; /* for the scratch memory of bdbi_index_equal */
    int hot;
    uint64_t page_size; /* 0: exact form */
    uint64_t seed;
    uint64_t records;
    uint64_t file_size;

    /* type ranges: bit t of type_mask says type t is present */
    uint32_t type_mask;
    uint64_t type_begin[BDBI_INDEX_TYPES], type_end[BDBI_INDEX_TYPES];
    bdbi_entry_counters counters;

    /* pool map, assets in bdbi_asset_cmp order */
    size_t n_assets, n_ids;
    bdbi_pool_asset *assets;
    uint8_t (*ids)[32];

    /* exact form: cap slots of (tag << off_bits) | (offset + 1), 0 = empty */
    uint32_t off_bits;
    size_t cap;
    uint64_t *slots;

    /* paged form: page i starts at page_off[i]; its separator is
     * sep_blob[sep_end[i-1] .. sep_end[i]) (page 0: from 0) and its first
     * 8 bytes, zero-padded, big-endian, are sep_prefix[i] */
    size_t n_pages, blob_len;
    uint64_t *page_off, *sep_end, *sep_prefix;
    uint8_t *sep_blob;
    bdbi_fuse_set *filter;
    /* paged form, sub-page skips: n_sub = S - 1 skip points per page
     * (bdbi_index_subwindows), 0 for none; page i's are sub[i * sub_words
     * ..) (bdbi_index_sub_words: the digests, then the u16 halves) */
    size_t n_sub, sub_words;
    uint64_t *sub;
};

/* Sub-windows per page, S: about 4 KiB each, so a hit scans about half of
 * one sub-window instead of half a page; 1 (no skip points) below 8 KiB,
 * where the arrays would cost more than the scan they save, and above
 * 64 KiB, whose offsets inside a page do not fit the u16 we store. */
static inline size_t bdbi_index_subwindows(uint64_t page_size)
{
    if (page_size > 65536) return 1;
    uint64_t s = page_size / 4096;
    return s < 1 ? 1 : s > 8 ? 8 : (size_t)s;
}

/* u64 words of one page's skip data for k skip points: k digests, then the
 * u16 halves, four to a word from the low bits: half 0 is the page's
 * `skip`, half 1 + j the offset of point j from the page's start. */
static inline size_t bdbi_index_sub_words(size_t k)
{
    return k ? k + (1 + k + 3) / 4 : 0;
}

static inline unsigned bdbi_sub_half(const uint64_t *w, size_t k, size_t i)
{
    return (unsigned)(w[k + i / 4] >> (16 * (i % 4)) & 0xffff);
}

/* The 8 bytes of s[at..n) from `at`, zero-padded, big-endian: for strings
 * equal in their first `at` bytes, a smaller digest means a smaller string
 * (docs/index-file.md, "Sub-page skips"). */
static inline uint64_t bdbi_sk_digest(const uint8_t *s, size_t n, size_t at)
{
    uint64_t v = 0;
    for (size_t i = at; i < at + 8; i++) v = v << 8 | (i < n ? s[i] : 0);
    return v;
}

/* The exact form's table size for n records: load factor below 0.7. */
static inline size_t bdbi_index_table_cap(uint64_t n)
{
    return n ? (size_t)(n + n * 3 / 7 + 1) : 0;
}

/* Bits an offset + 1 needs in a slot of the exact form of a file of
 * file_size bytes (offset + 1 <= file_size). */
static inline uint32_t bdbi_index_off_bits(uint64_t file_size)
{
    return file_size ? (uint32_t)(64 - __builtin_clzll(file_size)) : 1;
}

/* The first 8 bytes of s[0..n), zero-padded, big-endian: comparing two of
 * these decides the memcmp order of the strings unless they are equal. */
static inline uint64_t bdbi_sk_prefix(const uint8_t *s, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++) v = v << 8 | (i < n ? s[i] : 0);
    return v;
}

/* Order of the pool map's assets: memcmp, then length. */
int bdbi_asset_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);

/* Length of the Asset XDR at p[0..avail) (4, 44 or 52), or 0 if it is not
 * a complete, valid Asset. */
size_t bdbi_asset_len(const uint8_t *p, size_t avail);

/* For an INITENTRY LIQUIDITY_POOL record rec[0..len) (no mark): its pool
 * ID and its assets A and B. Returns 0, or -1 if the record is not a
 * complete constant-product pool entry. */
int bdbi_pool_of_record(const uint8_t *rec, size_t len, const uint8_t **id, const uint8_t **a,
                        size_t *a_len, const uint8_t **b, size_t *b_len);

/* The LedgerEntryTypeAndDurability kind of a record whose key has the sort
 * key sk[0..sk_len) (the type is its first 4 bytes, and a CONTRACT_DATA
 * key's durability its last 4), or -1 if sk is not one. */
int bdbi_kind_of_sort_key(const uint8_t *sk, size_t sk_len);

/* Fills x->sep_prefix from the separators. */
int bdbi_index_fill_prefixes(bdb_env *env, bdbi_index *x);

/* The separator of page i of the paged form, *n bytes. */
static inline const uint8_t *bdbi_index_sep(const bdbi_index *x, size_t i, size_t *n)
{
    uint64_t b = i ? x->sep_end[i - 1] : 0;
    *n = (size_t)(x->sep_end[i] - b);
    return x->sep_blob + b;
}

#endif
