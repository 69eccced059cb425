/* A small XDR schema interpreter. Stellar's types are described once as
 * constant tables (stellar_types.c); one walker validates any value
 * against its type exactly as xdrpp decodes it (bounds, discriminants,
 * enum values, bool 0/1, zero padding, depth) and can emit the value's
 * sort key on the way (sortkey encoding: docs/sort-keys.md). Nothing is
 * allocated and nothing is read outside the input buffer. */
#ifndef BDB_XDR_SCHEMA_H
#define BDB_XDR_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "core/endian.h" /* bdbi_be32, bdbi_be64, bdbi_put_be32 */

/* The recursive types (SCVal through its VEC and MAP containers, and
 * ClaimPredicate) may nest at most this many present containers; the next
 * one is rejected as malformed instead of recursing further. The Soroban
 * host refuses values nested deeper than 100 levels, so no valid ledger
 * data comes near it. lib/xdr/keycmp.c applies the same limit. */
#define BDBI_XDR_MAX_DEPTH 128

typedef enum bdbi_xkind {
    BDBI_XK_VOID = 0, /* only as a union arm */
    BDBI_XK_INT,      /* int32 */
    BDBI_XK_UINT,     /* uint32 */
    BDBI_XK_HYPER,    /* int64 */
    BDBI_XK_UHYPER,   /* uint64 */
    BDBI_XK_BOOL,
    BDBI_XK_ENUM,    /* int32 restricted to `values` */
    BDBI_XK_FOPAQUE, /* opaque[n] */
    BDBI_XK_VOPAQUE, /* opaque<n> */
    BDBI_XK_STRING,  /* string<n> */
    BDBI_XK_STRUCT,  /* `fields`, n of them */
    BDBI_XK_UNION,   /* discriminant `disc` (INT, UINT or ENUM), `arms`, n of them */
    BDBI_XK_OPTION,  /* elem* */
    BDBI_XK_ARRAY,   /* elem<n> */
} bdbi_xkind;

typedef struct bdbi_xtype bdbi_xtype;

typedef struct bdbi_xfield {
    const char *name;
    const bdbi_xtype *type;
} bdbi_xfield;

/* An enum value, or a union arm (type NULL = void arm). */
typedef struct bdbi_xarm {
    int32_t value;
    const char *name;
    const bdbi_xtype *type;
} bdbi_xarm;

struct bdbi_xtype {
    const char *name;
    bdbi_xkind kind;
    uint32_t n;             /* FOPAQUE size, VOPAQUE/STRING/ARRAY bound, STRUCT/UNION/ENUM count */
    const bdbi_xtype *elem; /* OPTION/ARRAY element; UNION discriminant type */
    const bdbi_xfield *fields; /* STRUCT */
    const bdbi_xarm *arms;     /* UNION arms, ENUM values */
    /* OPTION/ARRAY: a present value is one level of nesting of a recursive
     * type, counted against BDBI_XDR_MAX_DEPTH */
    int nests;
};

#define BDBI_XDR_UNBOUNDED UINT32_MAX

/* Input position with what errors need to name it. */
typedef struct bdbi_xdr_in {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    const char *label; /* file name or "record", used as the error path */
    int64_t base;      /* offset of buf[0] in that file (errors add pos) */
} bdbi_xdr_in;

static inline void bdbi_xdr_in_init(bdbi_xdr_in *in, const void *buf, size_t len, const char *label,
                                    int64_t base)
{
    in->buf = (const uint8_t *)buf;
    in->len = len;
    in->pos = 0;
    in->label = label;
    in->base = base;
}

/* Sort-key output. Writing past `cap` only counts, so a too-small buffer
 * tells the caller the size it needs. */
typedef struct bdbi_sk_out {
    uint8_t *p;
    size_t len;
    size_t cap;
} bdbi_sk_out;

/* Validates one value of type `t` at in->pos and advances past it.
 * Returns 0 or BDB_EFORMAT naming in->label, the offset and what was
 * expected. With `sk` non-NULL, appends the value's sort key to it. */
int bdbi_xdr_walk(bdbi_xdr_in *in, const bdbi_xtype *t, bdbi_sk_out *sk);

/* Fails with BDB_EFORMAT unless the input is fully consumed. */
int bdbi_xdr_expect_end(const bdbi_xdr_in *in, const char *what);

/* Raises BDB_EFORMAT at the current position of `in`. */
int bdbi_xdr_fail(const bdbi_xdr_in *in, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
