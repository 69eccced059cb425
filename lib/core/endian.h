/* Little-endian loads and stores of unaligned integers, for file formats. */
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

#endif
