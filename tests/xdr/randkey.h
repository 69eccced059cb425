/* A deterministic generator of random, valid XDR values of any schema type
 * (lib/xdr/schema.h, tables in lib/xdr/stellar_types.c), for property
 * tests. Header-only; nothing is allocated.
 *
 * Every random choice is one 32-bit "draw". The draws come from a tape
 * (replayed first, if given) and then from a splitmix64 stream, and can be
 * recorded. Replaying a recorded tape with one draw changed gives a second
 * valid value that equals the first up to the point of that choice, so
 * pairs made that way agree on a long prefix and their comparison goes
 * deep (see rk_mutate_tape).
 *
 * Values are biased towards what makes orders interesting: numbers from
 * small ranges (equal prefixes are common), negative numbers and the
 * extremes of every range, hashes from a handful of fills, byte strings
 * over a small alphabet that includes 0x00 (escaped in sort keys), empty
 * and maximum-length strings, absent and present options, arrays of 0..3
 * elements, and every union arm with equal probability. Recursive
 * containers (the schema's `nests` types) are limited to max_depth levels
 * and, once the output passes soft_cap bytes, options are absent, arrays
 * empty and strings short, so the size stays bounded. */
#ifndef BDB_TESTS_RANDKEY_H
#define BDB_TESTS_RANDKEY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "xdr/schema.h"

/* One generated value: its type, its nesting level below the root (struct
 * fields, union arms, option and array elements are one level down) and
 * its byte range in the output. */
typedef struct rk_span {
    const bdbi_xtype *type;
    int level;
    size_t start, end;
} rk_span;

/* Records the spans of the values at levels 0..max_level, in XDR order,
 * up to cap of them (n counts them all). */
typedef struct rk_trace {
    rk_span *spans;
    size_t n, cap;
    int max_level;
} rk_trace;

typedef struct rk_gen {
    uint64_t state; /* splitmix64 */
    /* draws replayed before the stream (NULL: none) */
    const uint32_t *tape;
    size_t tape_len, tape_pos;
    /* draws recorded (NULL: none); rec_len counts them all */
    uint32_t *rec;
    size_t rec_len, rec_cap;
    int max_depth;    /* present recursive containers (< BDBI_XDR_MAX_DEPTH) */
    uint32_t max_var; /* longest opaque/string of an unbounded type */
    size_t soft_cap;  /* output size past which values stay small */
    rk_trace *trace;  /* NULL: none */
    /* output */
    uint8_t *buf;
    size_t len, cap;
} rk_gen;

static inline void rk_init(rk_gen *g, uint64_t seed)
{
    memset(g, 0, sizeof *g);
    g->state = seed;
    g->max_depth = 3;
    g->max_var = 80;
    g->soft_cap = 1024;
}

static inline uint64_t rk_splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static inline uint32_t rk_draw(rk_gen *g)
{
    uint32_t v;
    if (g->tape && g->tape_pos < g->tape_len)
        v = g->tape[g->tape_pos++];
    else
        v = (uint32_t)(rk_splitmix(&g->state) >> 32);
    if (g->rec && g->rec_len < g->rec_cap) g->rec[g->rec_len] = v;
    g->rec_len++;
    return v;
}

/* A draw in 0..n-1 (n > 0). */
static inline uint32_t rk_below(rk_gen *g, uint32_t n)
{
    return rk_draw(g) % n;
}

/* ---- output ---------------------------------------------------------- */

static inline void rk_put(rk_gen *g, const void *p, size_t n)
{
    if (g->len <= g->cap && n <= g->cap - g->len) memcpy(g->buf + g->len, p, n);
    g->len += n;
}

static inline void rk_put32(rk_gen *g, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    rk_put(g, b, 4);
}

static inline void rk_put64(rk_gen *g, uint64_t v)
{
    rk_put32(g, (uint32_t)(v >> 32));
    rk_put32(g, (uint32_t)v);
}

static inline void rk_pad(rk_gen *g, size_t n)
{
    static const uint8_t zero[3] = {0, 0, 0};
    rk_put(g, zero, (4 - (n & 3)) & 3);
}

/* ---- scalars --------------------------------------------------------- */

static inline uint32_t rk_u32(rk_gen *g)
{
    switch (rk_below(g, 8)) {
    case 0:
    case 1:
    case 2:
        return rk_below(g, 4);
    case 3:
        return UINT32_MAX - rk_below(g, 2);
    case 4:
        return 0x7fffffffu + rk_below(g, 3); /* around the sign bit */
    case 5:
        return 1u << rk_below(g, 32);
    default:
        return rk_draw(g);
    }
}

static inline uint32_t rk_i32(rk_gen *g) /* two's complement bits of an int32 */
{
    switch (rk_below(g, 8)) {
    case 0:
    case 1:
    case 2:
        return (uint32_t)((int32_t)rk_below(g, 7) - 3); /* -3..3 */
    case 3:
        return 0x80000000u + rk_below(g, 2); /* INT32_MIN, INT32_MIN + 1 */
    case 4:
        return 0x7fffffffu - rk_below(g, 2);
    case 5:
        return (uint32_t)(-(int32_t)(1u << rk_below(g, 31)));
    default:
        return rk_draw(g);
    }
}

static inline uint64_t rk_u64(rk_gen *g)
{
    switch (rk_below(g, 8)) {
    case 0:
    case 1:
    case 2:
        return rk_below(g, 4);
    case 3:
        return UINT64_MAX - rk_below(g, 2);
    case 4:
        return 0x7fffffffffffffffu + rk_below(g, 3);
    case 5:
        return (uint64_t)1 << rk_below(g, 64);
    default: {
        uint64_t hi = rk_draw(g);
        return hi << 32 | rk_draw(g);
    }
    }
}

static inline uint64_t rk_i64(rk_gen *g) /* two's complement bits of an int64 */
{
    switch (rk_below(g, 8)) {
    case 0:
    case 1:
    case 2:
        return (uint64_t)((int64_t)rk_below(g, 7) - 3);
    case 3:
        return 0x8000000000000000u + rk_below(g, 2);
    case 4:
        return 0x7fffffffffffffffu - rk_below(g, 2);
    case 5:
        return (uint64_t)(-(int64_t)((uint64_t)1 << rk_below(g, 63)));
    default: {
        uint64_t hi = rk_draw(g);
        return hi << 32 | rk_draw(g);
    }
    }
}

static inline uint8_t rk_byte(rk_gen *g)
{
    static const uint8_t alpha[] = {0x00, 0x01, 'a', 'b', 0x7f, 0x80, 0xff};
    uint32_t r = rk_below(g, 10);
    return r < sizeof alpha ? alpha[r] : (uint8_t)rk_draw(g);
}

/* opaque[n]: hashes, uint256, asset codes. Half of them are one of eight
 * values (a fill, the last byte possibly flipped), so that keys often
 * share them. */
static inline void rk_fixed(rk_gen *g, uint32_t n)
{
    static const uint8_t fills[] = {0x00, 0x01, 0x80, 0xff};
    uint32_t mode = rk_below(g, 4);
    uint8_t fill = fills[rk_below(g, 4)];
    uint8_t flip = mode == 0 ? (uint8_t)rk_below(g, 2) : 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t v = fill;
        if (mode == 1) v = (uint8_t)rk_below(g, 2);
        if (mode == 2) v = rk_byte(g);
        if (mode == 3) v = (uint8_t)rk_draw(g);
        if (i == n - 1) v ^= flip;
        rk_put(g, &v, 1);
    }
    rk_pad(g, n);
}

/* opaque<max> / string<max>: length, content, zero padding */
static inline void rk_var(rk_gen *g, uint32_t max)
{
    uint32_t eff = max == BDBI_XDR_UNBOUNDED || max > g->max_var ? g->max_var : max;
    uint32_t n;
    if (g->len > g->soft_cap) {
        n = rk_below(g, 2);
    } else {
        switch (rk_below(g, 8)) {
        case 0:
            n = 0;
            break;
        case 1:
        case 2:
            n = 1 + rk_below(g, 4);
            break;
        case 3:
            n = eff; /* the maximum, for bounded types */
            break;
        default:
            n = rk_below(g, eff + 1);
        }
        if (n > eff) n = eff;
    }
    rk_put32(g, n);
    uint32_t mode = rk_below(g, 4); /* 0: all one byte; else mixed */
    uint8_t one = rk_byte(g);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t b = mode == 0 ? one : rk_byte(g);
        rk_put(g, &b, 1);
    }
    rk_pad(g, n);
}

/* ---- the walk -------------------------------------------------------- */

static inline void rk_walk(rk_gen *g, const bdbi_xtype *t, int depth, int level)
{
    size_t slot = SIZE_MAX;
    if (g->trace && level <= g->trace->max_level) {
        if (g->trace->n < g->trace->cap) {
            slot = g->trace->n;
            g->trace->spans[slot] = (rk_span){t, level, g->len, g->len};
        }
        g->trace->n++;
    }
    switch (t->kind) {
    case BDBI_XK_VOID:
        break;
    case BDBI_XK_INT:
        rk_put32(g, rk_i32(g));
        break;
    case BDBI_XK_UINT:
        rk_put32(g, rk_u32(g));
        break;
    case BDBI_XK_HYPER:
        rk_put64(g, rk_i64(g));
        break;
    case BDBI_XK_UHYPER:
        rk_put64(g, rk_u64(g));
        break;
    case BDBI_XK_BOOL:
        rk_put32(g, rk_below(g, 2));
        break;
    case BDBI_XK_ENUM:
        rk_put32(g, (uint32_t)t->arms[rk_below(g, t->n)].value);
        break;
    case BDBI_XK_FOPAQUE:
        rk_fixed(g, t->n);
        break;
    case BDBI_XK_VOPAQUE:
    case BDBI_XK_STRING:
        rk_var(g, t->n);
        break;
    case BDBI_XK_STRUCT:
        for (uint32_t i = 0; i < t->n; i++) rk_walk(g, t->fields[i].type, depth, level + 1);
        break;
    case BDBI_XK_UNION: {
        const bdbi_xarm *arm = &t->arms[rk_below(g, t->n)];
        rk_put32(g, (uint32_t)arm->value);
        if (arm->type) rk_walk(g, arm->type, depth, level + 1);
        break;
    }
    case BDBI_XK_OPTION: {
        int room = g->len <= g->soft_cap && (!t->nests || depth < g->max_depth);
        uint32_t present = room ? rk_below(g, 2) : 0;
        rk_put32(g, present);
        if (present) rk_walk(g, t->elem, depth + t->nests, level + 1);
        break;
    }
    case BDBI_XK_ARRAY: {
        /* the schema counts a recursive array as a level even when empty */
        int room = g->len <= g->soft_cap && (!t->nests || depth < g->max_depth);
        uint32_t most = t->n < 3 ? t->n : 3;
        uint32_t n = room ? rk_below(g, most + 1) : 0;
        rk_put32(g, n);
        for (uint32_t i = 0; i < n; i++) rk_walk(g, t->elem, depth + t->nests, level + 1);
        break;
    }
    }
    if (slot != SIZE_MAX) g->trace->spans[slot].end = g->len;
}

/* Writes one random valid value of type t into buf[0..cap) and its length
 * into *len. Returns 0, or -1 if it did not fit (*len is then the size it
 * needed). */
static inline int rk_value(rk_gen *g, const bdbi_xtype *t, uint8_t *buf, size_t cap, size_t *len)
{
    g->buf = buf;
    g->cap = cap;
    g->len = 0;
    if (g->trace) g->trace->n = 0;
    rk_walk(g, t, 0, 0);
    *len = g->len;
    return g->len <= cap ? 0 : -1;
}

/* Copies the tape src[0..n) (n > 0) to dst and changes one draw, at a
 * position chosen by the stream *rng: to its neighbour (the next or the
 * previous choice of a small range) or to a fresh draw. Returns the
 * position. */
static inline size_t rk_mutate_tape(const uint32_t *src, size_t n, uint32_t *dst, uint64_t *rng)
{
    memcpy(dst, src, n * sizeof *src);
    size_t at = (size_t)(rk_splitmix(rng) % n);
    switch (rk_splitmix(rng) % 3) {
    case 0:
        dst[at]++;
        break;
    case 1:
        dst[at]--;
        break;
    default:
        dst[at] = (uint32_t)(rk_splitmix(rng) >> 32);
    }
    return at;
}

#endif
