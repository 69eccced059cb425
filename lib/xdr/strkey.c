#include "config.h"

#include "strkey.h"

#include <string.h>

static uint16_t crc16_xmodem(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++) crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

void bdbi_strkey_encode(int version, const uint8_t *payload, size_t n, char out[BDBI_STRKEY_MAX])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint8_t raw[1 + 40 + 2];
    if (n > 40) n = 40;
    raw[0] = (uint8_t)version;
    memcpy(raw + 1, payload, n);
    uint16_t crc = crc16_xmodem(raw, n + 1);
    raw[n + 1] = (uint8_t)(crc & 0xff); /* little-endian */
    raw[n + 2] = (uint8_t)(crc >> 8);
    size_t total = n + 3, o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < total; i++) {
        acc = acc << 8 | raw[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = alphabet[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits) out[o++] = alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
}
