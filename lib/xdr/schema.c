#include "config.h"

#include "schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

int bdbi_xdr_fail(const bdbi_xdr_in *in, size_t at, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bdbi_err_at(BDB_EFORMAT, in->label, in->base + (int64_t)at, "%s", msg);
}

int bdbi_xdr_expect_end(const bdbi_xdr_in *in, const char *what)
{
    if (in->pos == in->len) return 0;
    return bdbi_xdr_fail(in, in->pos, "%zu trailing bytes after the %s", in->len - in->pos, what);
}

/* ------------------------------------------------------------------ */
/* Sort-key output (encoding described in docs/sort-keys.md)          */
/* ------------------------------------------------------------------ */

static inline void sk_put(bdbi_sk_out *o, const uint8_t *src, size_t n)
{
    if (o->len <= o->cap && n <= o->cap - o->len) memcpy(o->p + o->len, src, n);
    o->len += n;
}

static inline void sk_byte(bdbi_sk_out *o, uint8_t b)
{
    if (o->len < o->cap) o->p[o->len] = b;
    o->len++;
}

/* Signed values: big-endian with the sign bit flipped, so that unsigned
 * byte order is signed numeric order. The caller passes the raw XDR bytes,
 * which are already big-endian. */
static inline void sk_signed(bdbi_sk_out *o, const uint8_t *be, size_t n)
{
    size_t at = o->len;
    sk_put(o, be, n);
    if (at < o->cap) o->p[at] ^= 0x80;
}

/* Variable-length bytes: 0x00 is escaped as 00 FF and the end is 00 00,
 * so content order wins over length and no encoding is a prefix of
 * another. */
static void sk_escaped(bdbi_sk_out *o, const uint8_t *p, size_t n)
{
    while (n) {
        const uint8_t *z = memchr(p, 0, n);
        size_t run = z ? (size_t)(z - p) : n;
        sk_put(o, p, run);
        p += run;
        n -= run;
        if (z) {
            sk_byte(o, 0x00);
            sk_byte(o, 0xFF);
            p++;
            n--;
        }
    }
    sk_byte(o, 0x00);
    sk_byte(o, 0x00);
}

/* ------------------------------------------------------------------ */
/* The walker                                                         */
/* ------------------------------------------------------------------ */

static int need(const bdbi_xdr_in *in, size_t n, const bdbi_xtype *t)
{
    if (in->len - in->pos >= n) return 0;
    return bdbi_xdr_fail(in, in->pos, "truncated: %zu bytes needed for %s, %zu left", n, t->name,
                         in->len - in->pos);
}

static const bdbi_xarm *find_arm(const bdbi_xtype *t, int32_t v)
{
    /* most enums and unions list values 0..n-1 in order */
    if ((uint32_t)v < t->n && t->arms[v].value == v) return &t->arms[v];
    for (uint32_t i = 0; i < t->n; i++)
        if (t->arms[i].value == v) return &t->arms[i];
    return NULL;
}

/* Reads bytes of a fixed or variable opaque/string of `n` bytes and their
 * padding, which must be zero (xdrpp rejects anything else). */
static int take_bytes(bdbi_xdr_in *in, size_t n, const bdbi_xtype *t, const uint8_t **out)
{
    size_t padded = (n + 3) & ~(size_t)3;
    if (padded < n) return bdbi_xdr_fail(in, in->pos, "length %zu of %s overflows", n, t->name);
    int rc = need(in, padded, t);
    if (rc) return rc;
    *out = in->buf + in->pos;
    for (size_t i = n; i < padded; i++)
        if (in->buf[in->pos + i])
            return bdbi_xdr_fail(in, in->pos + i, "non-zero padding byte in %s", t->name);
    in->pos += padded;
    return 0;
}

/* Enters one level of a recursive type, refusing the level past the
 * limit (reported where its container starts). */
static int nest(const bdbi_xdr_in *in, size_t at, const bdbi_xtype *t, int *depth)
{
    if (*depth >= BDBI_XDR_MAX_DEPTH)
        return bdbi_xdr_fail(in, at, "%s nested more than %d levels deep", t->name,
                             BDBI_XDR_MAX_DEPTH);
    (*depth)++;
    return 0;
}

/* `depth` counts the present containers of recursive types above `t`. */
static int walk(bdbi_xdr_in *in, const bdbi_xtype *t, bdbi_sk_out *sk, int depth)
{
    size_t at = in->pos;
    int rc;
    switch (t->kind) {
    case BDBI_XK_VOID:
        return 0;
    case BDBI_XK_INT:
    case BDBI_XK_UINT:
    case BDBI_XK_ENUM: {
        if ((rc = need(in, 4, t))) return rc;
        const uint8_t *p = in->buf + at;
        if (t->kind == BDBI_XK_ENUM && !find_arm(t, (int32_t)bdbi_be32(p)))
            return bdbi_xdr_fail(in, at, "%d is not a valid %s", (int32_t)bdbi_be32(p), t->name);
        in->pos += 4;
        if (sk) {
            if (t->kind == BDBI_XK_UINT)
                sk_put(sk, p, 4);
            else
                sk_signed(sk, p, 4);
        }
        return 0;
    }
    case BDBI_XK_HYPER:
    case BDBI_XK_UHYPER:
        if ((rc = need(in, 8, t))) return rc;
        if (sk) {
            if (t->kind == BDBI_XK_UHYPER)
                sk_put(sk, in->buf + at, 8);
            else
                sk_signed(sk, in->buf + at, 8);
        }
        in->pos += 8;
        return 0;
    case BDBI_XK_BOOL: {
        if ((rc = need(in, 4, t))) return rc;
        uint32_t v = bdbi_be32(in->buf + at);
        if (v > 1) return bdbi_xdr_fail(in, at, "bool %s is %u, not 0 or 1", t->name, v);
        in->pos += 4;
        if (sk) sk_byte(sk, (uint8_t)v);
        return 0;
    }
    case BDBI_XK_FOPAQUE: {
        const uint8_t *p;
        if ((rc = take_bytes(in, t->n, t, &p))) return rc;
        if (sk) sk_put(sk, p, t->n);
        return 0;
    }
    case BDBI_XK_VOPAQUE:
    case BDBI_XK_STRING: {
        if ((rc = need(in, 4, t))) return rc;
        uint32_t n = bdbi_be32(in->buf + at);
        if (n > t->n)
            return bdbi_xdr_fail(in, at, "%s has length %u, at most %u allowed", t->name, n, t->n);
        in->pos += 4;
        const uint8_t *p;
        if ((rc = take_bytes(in, n, t, &p))) return rc;
        if (sk) sk_escaped(sk, p, n);
        return 0;
    }
    case BDBI_XK_STRUCT:
        for (uint32_t i = 0; i < t->n; i++)
            if ((rc = walk(in, t->fields[i].type, sk, depth))) return rc;
        return 0;
    case BDBI_XK_UNION: {
        if ((rc = need(in, 4, t))) return rc;
        const uint8_t *p = in->buf + at;
        int32_t d = (int32_t)bdbi_be32(p);
        const bdbi_xarm *arm = find_arm(t, d);
        if (!arm) return bdbi_xdr_fail(in, at, "%d is not a valid arm of %s", d, t->name);
        in->pos += 4;
        if (sk) {
            if (t->elem->kind == BDBI_XK_UINT)
                sk_put(sk, p, 4);
            else
                sk_signed(sk, p, 4);
        }
        return arm->type ? walk(in, arm->type, sk, depth) : 0;
    }
    case BDBI_XK_OPTION: {
        if ((rc = need(in, 4, t))) return rc;
        uint32_t flag = bdbi_be32(in->buf + at);
        if (flag > 1)
            return bdbi_xdr_fail(in, at, "optional %s has flag %u, not 0 or 1", t->name, flag);
        if (flag && t->nests && (rc = nest(in, at, t, &depth))) return rc;
        in->pos += 4;
        if (sk) sk_byte(sk, (uint8_t)flag);
        return flag ? walk(in, t->elem, sk, depth) : 0;
    }
    case BDBI_XK_ARRAY: {
        if ((rc = need(in, 4, t))) return rc;
        uint32_t n = bdbi_be32(in->buf + at);
        if (n > t->n)
            return bdbi_xdr_fail(in, at, "%s has %u elements, at most %u allowed", t->name, n,
                                 t->n);
        /* every element takes at least 4 bytes: refuse impossible counts early */
        if (n > (in->len - in->pos - 4) / 4)
            return bdbi_xdr_fail(in, at, "truncated: %s claims %u elements in %zu bytes", t->name,
                                 n, in->len - in->pos - 4);
        if (t->nests && (rc = nest(in, at, t, &depth))) return rc;
        in->pos += 4;
        for (uint32_t i = 0; i < n; i++) {
            if (sk) sk_byte(sk, 0x01);
            if ((rc = walk(in, t->elem, sk, depth))) return rc;
        }
        if (sk) sk_byte(sk, 0x00);
        return 0;
    }
    }
    return bdbi_xdr_fail(in, at, "internal: bad schema kind %d for %s", (int)t->kind, t->name);
}

int bdbi_xdr_walk(bdbi_xdr_in *in, const bdbi_xtype *t, bdbi_sk_out *sk)
{
    return walk(in, t, sk, 0);
}
