/* RFC 5531 record marking, as stellar-core frames bucket files: each
 * record is a 4-byte big-endian header whose top bit ("last fragment") is
 * set and whose low 31 bits are the body length, followed by the body. */
#ifndef BDB_XDR_RECORD_H
#define BDB_XDR_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define BDBI_RECORD_MARK_LEN      4
#define BDBI_RECORD_LAST_FRAGMENT 0x80000000u
/* stellar-core asserts bodies shorter than 2^31; real ones are far smaller */
#define BDBI_RECORD_MAX_BODY 0x7ffffffcu

/* Writes the mark of a body of `len` bytes (a multiple of 4, at most
 * BDBI_RECORD_MAX_BODY). */
static inline void bdbi_record_mark(uint8_t out[BDBI_RECORD_MARK_LEN], uint32_t len)
{
    uint32_t v = len | BDBI_RECORD_LAST_FRAGMENT;
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

/* Reads the record at buf[*pos] of a buffer of `len` bytes: checks that the
 * mark is complete, has the last-fragment bit (stellar-core writes one
 * fragment per record), a body length that is a multiple of 4, and a body
 * that fits; stores the body and advances *pos past it. Returns 0, or
 * BDB_EFORMAT naming `label` and the offset `base + *pos` of the bad mark. */
int bdbi_record_next(const uint8_t *buf, size_t len, size_t *pos, const char *label, int64_t base,
                     const uint8_t **body, size_t *body_len);

#endif
