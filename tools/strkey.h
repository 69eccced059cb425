/* StrKey decoding (SEP-23) for the tool: the library only encodes. */
#ifndef BDB_TOOLS_STRKEY_H
#define BDB_TOOLS_STRKEY_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the StrKey s: unpadded RFC 4648 base32 of a version byte, the
 * payload (at most `cap` bytes) and its CRC16-XModem (little-endian).
 * Stores the version byte (6 << 3 for G..., 2 << 3 for C..., ...) and the
 * payload length. Returns 0, or -1 for a bad character, length, checksum
 * or non-zero padding bits (only the canonical string of a key decodes). */
int cli_strkey_decode(const char *s, int *version, uint8_t *payload, size_t cap, size_t *n);

/* Decodes an account ID G... into its 32-byte ed25519 key; 0 or -1. */
int cli_strkey_account(const char *s, uint8_t key[32]);

#endif
