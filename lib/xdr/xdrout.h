/* A bounded XDR writer over a caller's buffer: big-endian integers,
 * fixed and variable opaques with zero padding. Writing past the end only
 * counts, so one pass can size a buffer and the next fill it; nothing is
 * allocated. */
#ifndef BDB_XDR_XDROUT_H
#define BDB_XDR_XDROUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct bdbi_xdr_out {
    uint8_t *p;
    size_t len; /* bytes written, or that would have been */
    size_t cap;
} bdbi_xdr_out;

static inline void bdbi_xdr_out_init(bdbi_xdr_out *o, void *buf, size_t cap)
{
    o->p = (uint8_t *)buf;
    o->len = 0;
    o->cap = cap;
}

/* True once something did not fit: o->len is then the size needed. */
static inline int bdbi_xdr_out_overflow(const bdbi_xdr_out *o)
{
    return o->len > o->cap;
}

static inline void bdbi_xdr_put_raw(bdbi_xdr_out *o, const void *src, size_t n)
{
    if (o->len <= o->cap && n <= o->cap - o->len && n) memcpy(o->p + o->len, src, n);
    o->len += n;
}

static inline void bdbi_xdr_put_u32(bdbi_xdr_out *o, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    bdbi_xdr_put_raw(o, b, 4);
}

static inline void bdbi_xdr_put_i32(bdbi_xdr_out *o, int32_t v)
{
    bdbi_xdr_put_u32(o, (uint32_t)v);
}

static inline void bdbi_xdr_put_u64(bdbi_xdr_out *o, uint64_t v)
{
    bdbi_xdr_put_u32(o, (uint32_t)(v >> 32));
    bdbi_xdr_put_u32(o, (uint32_t)v);
}

static inline void bdbi_xdr_put_i64(bdbi_xdr_out *o, int64_t v)
{
    bdbi_xdr_put_u64(o, (uint64_t)v);
}

/* opaque[n]: the bytes and zero padding to a multiple of 4 */
static inline void bdbi_xdr_put_fixed(bdbi_xdr_out *o, const void *src, size_t n)
{
    static const uint8_t zero[3];
    bdbi_xdr_put_raw(o, src, n);
    bdbi_xdr_put_raw(o, zero, (4 - n % 4) % 4);
}

/* opaque<> and string<>: the length, the bytes and zero padding */
static inline void bdbi_xdr_put_var(bdbi_xdr_out *o, const void *src, uint32_t n)
{
    bdbi_xdr_put_u32(o, n);
    bdbi_xdr_put_fixed(o, src, n);
}

#endif
