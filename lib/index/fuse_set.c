/* Partitioned binary fuse filters (fuse_set.h). */
#include "config.h"

#include "fuse_set.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"
#include "core/hash.h"
#include "fuse_impl.h"

#define CAT            BDB_MEM_INDEX
#define FORMAT_VERSION 1

static const uint8_t MAGIC[4] = {'B', 'F', 'S', 'T'};

struct bdbi_fuse_set {
    unsigned bits, shift;
    size_t n; /* 2^bits */
    /* the partitions' descriptors, side by side; each one's fingerprints
     * belong to own[p], which frees them */
    bdbi_fuse *desc;
    bdbi_fuse **own;
};

void bdbi_fuse_set_free(bdb_env *env, bdbi_fuse_set *s)
{
    if (!s) return;
    if (s->own)
        for (size_t p = 0; p < s->n; p++) bdbi_fuse_free(env, s->own[p]);
    if (s->own) bdbi_free(env, CAT, s->own, s->n * sizeof *s->own);
    if (s->desc) bdbi_free(env, CAT, s->desc, s->n * sizeof *s->desc);
    bdbi_free(env, CAT, s, sizeof *s);
}

static int set_new(bdb_env *env, unsigned bits, bdbi_fuse_set **out)
{
    bdbi_fuse_set *s = bdbi_calloc(env, CAT, 1, sizeof *s);
    if (!s) return BDB_ENOMEM;
    s->bits = bits;
    s->shift = 64 - bits;
    s->n = (size_t)1 << bits;
    s->desc = bdbi_calloc(env, CAT, s->n, sizeof *s->desc);
    s->own = bdbi_calloc(env, CAT, s->n, sizeof *s->own);
    if (!s->desc || !s->own) {
        bdbi_fuse_set_free(env, s);
        return BDB_ENOMEM;
    }
    *out = s;
    return 0;
}

static void adopt(bdbi_fuse_set *s, size_t p, bdbi_fuse *f)
{
    s->own[p] = f;
    s->desc[p] = *f;
}

int bdbi_fuse_set_build(bdb_env *env, bdbi_hspill *keys, size_t part_keys, uint64_t seed_hint,
                        bdbi_fuse_set **out)
{
    *out = NULL;
    if (!part_keys) part_keys = BDBI_FUSE_SET_PART_KEYS;
    uint64_t n = bdbi_hspill_count(keys);
    unsigned bits = 0;
    while (bits < BDBI_HSPILL_MAX_BITS && (n >> bits) > part_keys) bits++;
    bdbi_fuse_set *s = NULL;
    int rc = set_new(env, bits, &s);
    if (!rc) rc = bdbi_hspill_begin(keys, bits);
    for (size_t p = 0; !rc; p++) {
        const uint64_t *k;
        size_t m;
        if ((rc = bdbi_hspill_next(keys, &k, &m)) != 1) break;
        bdbi_fuse *f;
        /* partition 0 of a single filter keeps the seed a whole filter had */
        uint64_t hint = p ? bdbi_fmix64(seed_hint + p) : seed_hint;
        if (!(rc = bdbi_fuse_build(env, k, m, 16, hint, &f))) adopt(s, p, f);
    }
    if (rc) {
        bdbi_fuse_set_free(env, s);
        return rc;
    }
    *out = s;
    return 0;
}

int bdbi_fuse_set_contains(const bdbi_fuse_set *s, uint64_t key)
{
    return bdbi_fuse_contains_inline(&s->desc[s->bits ? key >> s->shift : 0], key);
}

void bdbi_fuse_set_prefetch(const bdbi_fuse_set *s, uint64_t key)
{
    bdbi_fuse_prefetch(&s->desc[s->bits ? key >> s->shift : 0], key);
}

unsigned bdbi_fuse_set_bits(const bdbi_fuse_set *s)
{
    return s->bits;
}

size_t bdbi_fuse_set_bytes(const bdbi_fuse_set *s)
{
    size_t b = sizeof *s + s->n * (sizeof *s->desc + sizeof *s->own);
    for (size_t p = 0; p < s->n; p++) b += bdbi_fuse_bytes(s->own[p]);
    return b;
}

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

size_t bdbi_fuse_set_serialized_size(const bdbi_fuse_set *s)
{
    size_t b = BDBI_FUSE_SET_HEADER;
    for (size_t p = 0; p < s->n; p++) b += 8 + pad8(bdbi_fuse_serialized_size(s->own[p]));
    return b;
}

void bdbi_fuse_set_emit(const bdbi_fuse_set *s, bdbi_fuse_sink sink, void *ctx)
{
    static const uint8_t zero[8];
    uint8_t h[BDBI_FUSE_SET_HEADER] = {0};
    memcpy(h, MAGIC, sizeof MAGIC);
    h[4] = FORMAT_VERSION;
    h[5] = (uint8_t)s->bits;
    sink(ctx, h, sizeof h);
    for (size_t p = 0; p < s->n; p++) {
        size_t len = bdbi_fuse_serialized_size(s->own[p]);
        uint8_t l[8];
        bdbi_put_le64(l, len);
        sink(ctx, l, 8);
        bdbi_fuse_emit(s->own[p], sink, ctx);
        if (pad8(len) > len) sink(ctx, zero, pad8(len) - len);
    }
}

int bdbi_fuse_set_serialize(const bdbi_fuse_set *s, uint8_t *buf, size_t cap)
{
    size_t need = bdbi_fuse_set_serialized_size(s);
    if (!buf || cap < need)
        return bdbi_err(BDB_EINVAL, "fuse filter set: %zu bytes of room for %zu", buf ? cap : 0,
                        need);
    bdbi_fuse_set_emit(s, bdbi_fuse_sink_memory, &buf);
    return 0;
}

static int bad(const char *what, size_t p)
{
    return bdbi_err(BDB_ECORRUPT, "fuse filter set: %s (partition %zu)", what, p);
}

int bdbi_fuse_set_deserialize(bdb_env *env, const uint8_t *buf, size_t len, bdbi_fuse_set **out)
{
    *out = NULL;
    if (len < BDBI_FUSE_SET_HEADER || memcmp(buf, MAGIC, sizeof MAGIC))
        return bdbi_err(BDB_ECORRUPT, "fuse filter set: bad magic or %zu bytes", len);
    if (buf[4] != FORMAT_VERSION)
        return bdbi_err(BDB_ECORRUPT, "fuse filter set: format version %u, expected %d", buf[4],
                        FORMAT_VERSION);
    unsigned bits = buf[5];
    if (bits > BDBI_HSPILL_MAX_BITS || buf[6] || buf[7] || bdbi_le64(buf + 8))
        return bdbi_err(BDB_ECORRUPT, "fuse filter set: %u bits or reserved bytes set", bits);
    /* each partition takes at least its length and a filter header, so
     * the descriptor arrays are never larger than what `len` can hold */
    size_t parts = (size_t)1 << bits;
    if ((len - BDBI_FUSE_SET_HEADER) / (8 + BDBI_FUSE_HEADER_SIZE) < parts)
        return bdbi_err(BDB_ECORRUPT, "fuse filter set: %zu bytes for %zu partitions", len, parts);
    bdbi_fuse_set *s;
    int rc = set_new(env, bits, &s);
    if (rc) return rc;
    size_t at = BDBI_FUSE_SET_HEADER;
    for (size_t p = 0; p < parts && !rc; p++) {
        uint64_t n = len - at >= 8 ? bdbi_le64(buf + at) : 0;
        if (len - at < 8 || n > len - at - 8 || pad8((size_t)n) > len - at - 8) {
            rc = bad("length past the end", p);
            break;
        }
        bdbi_fuse *f;
        if ((rc = bdbi_fuse_deserialize(env, buf + at + 8, (size_t)n, &f))) {
            if (rc != BDB_ENOMEM) {
                char msg[256];
                snprintf(msg, sizeof msg, "%s", bdb_errmsg());
                rc = bad(msg, p);
            }
            break;
        }
        adopt(s, p, f);
        for (size_t i = at + 8 + (size_t)n; i < at + 8 + pad8((size_t)n); i++)
            if (buf[i]) rc = bad("padding not zero", p);
        at += 8 + pad8((size_t)n);
    }
    if (!rc && at != len)
        rc =
            bdbi_err(BDB_ECORRUPT, "fuse filter set: %zu bytes after the last partition", len - at);
    if (rc) {
        bdbi_fuse_set_free(env, s);
        return rc;
    }
    *out = s;
    return 0;
}

int bdbi_fuse_set_equal(bdb_env *env, const bdbi_fuse_set *a, const bdbi_fuse_set *b)
{
    if (!a || !b) return a == b;
    size_t n = bdbi_fuse_set_serialized_size(a);
    if (n != bdbi_fuse_set_serialized_size(b)) return 0;
    uint8_t *p = bdbi_malloc(env, CAT, 2 * n);
    if (!p) return 0;
    int eq = !bdbi_fuse_set_serialize(a, p, n) && !bdbi_fuse_set_serialize(b, p + n, n) &&
             !memcmp(p, p + n, n);
    bdbi_free(env, CAT, p, 2 * n);
    return eq;
}
