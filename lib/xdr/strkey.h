/* StrKey (SEP-23): a version byte and a payload with a CRC16-XModem
 * checksum, in unpadded RFC 4648 base32 — how Stellar shows account IDs
 * (G...), contracts (C...), muxed accounts (M...), claimable balances
 * (B...) and liquidity pools (L...). */
#ifndef BDB_XDR_STRKEY_H
#define BDB_XDR_STRKEY_H

#include <stddef.h>
#include <stdint.h>

enum {
    BDBI_STRKEY_ACCOUNT = 6 << 3,           /* 'G' */
    BDBI_STRKEY_CONTRACT = 2 << 3,          /* 'C' */
    BDBI_STRKEY_MUXED = 12 << 3,            /* 'M' */
    BDBI_STRKEY_CLAIMABLE_BALANCE = 1 << 3, /* 'B' */
    BDBI_STRKEY_POOL = 11 << 3,             /* 'L' */
};

/* Longest payload (muxed: 40 bytes) plus version and checksum, in base32,
 * plus the NUL. */
#define BDBI_STRKEY_MAX 72

/* Writes the StrKey of `payload` (n <= 40 bytes) NUL-terminated to out. */
void bdbi_strkey_encode(int version, const uint8_t *payload, size_t n, char out[BDBI_STRKEY_MAX]);

/* Decodes the StrKey s: stores its version byte and payload (at most `cap`
 * bytes) and the payload's length. Returns 0, or -1 for a bad character,
 * length, checksum or non-zero padding bits (only the canonical string of
 * a key decodes). */
int bdbi_strkey_decode(const char *s, int *version, uint8_t *payload, size_t cap, size_t *n);

/* Decodes an account ID G... into its 32-byte ed25519 key; 0 or -1. */
int bdbi_strkey_account(const char *s, uint8_t key[32]);

#endif
