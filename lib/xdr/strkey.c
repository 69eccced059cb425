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

static int b32val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= '2' && c <= '7') return c - '2' + 26;
    return -1;
}

int bdbi_strkey_decode(const char *s, int *version, uint8_t *payload, size_t cap, size_t *n)
{
    uint8_t raw[1 + 64 + 2];
    size_t len = strlen(s), o = 0;
    /* whole bytes only: 5 bits per character */
    if (len == 0 || len * 5 / 8 > sizeof raw || len * 5 / 8 < 3) return -1;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b32val((unsigned char)s[i]);
        if (v < 0) return -1;
        acc = acc << 5 | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            raw[o++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    /* the leftover bits are padding: fewer than 5 and all zero, else the
     * string is not an encoding of whole bytes */
    if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0) return -1;
    size_t pn = o - 3;
    if (pn > cap) return -1;
    uint16_t crc = crc16_xmodem(raw, o - 2);
    if (raw[o - 2] != (uint8_t)(crc & 0xff) || raw[o - 1] != (uint8_t)(crc >> 8)) return -1;
    *version = raw[0];
    memcpy(payload, raw + 1, pn);
    *n = pn;
    return 0;
}

int bdbi_strkey_account(const char *s, uint8_t key[32])
{
    int v;
    size_t n;
    if (bdbi_strkey_decode(s, &v, key, 32, &n) || v != BDBI_STRKEY_ACCOUNT || n != 32) return -1;
    return 0;
}
