/* Loads and stores of unaligned integers in a fixed byte order, for file
 * formats, XDR and keys (no bounds checks: callers check). */
#ifndef BDB_CORE_ENDIAN_H
#define BDB_CORE_ENDIAN_H

#include <stdint.h>
#include <string.h>

static inline uint32_t bdbi_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t bdbi_le64(const uint8_t *p)
{
    return (uint64_t)bdbi_le32(p) | (uint64_t)bdbi_le32(p + 4) << 32;
}

static inline void bdbi_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline void bdbi_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Big-endian: one load and a byte swap (the compiler does not always see
 * through a loop of byte shifts). */
static inline uint32_t bdbi_be32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline uint64_t bdbi_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline void bdbi_put_be32(uint8_t *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    memcpy(p, &v, 4);
}

#endif
