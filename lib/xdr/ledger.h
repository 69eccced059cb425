/* Internal entry points of the ledger-data parsers, with the file label
 * and base offset that error messages need. */
#ifndef BDB_XDR_LEDGER_H
#define BDB_XDR_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/ledger.h"
#include "schema.h"

/* Validates that buf[0..len) is exactly one value of type t. */
int bdbi_check(const bdbi_xtype *t, const void *buf, size_t len, const char *label, int64_t base);

/* Where the LedgerKey of a LedgerEntry lies inside the entry's bytes: the
 * key's XDR is the 4-byte type at `head` followed by tail[0..tail_len).
 * For most types tail == head + 4 (the key is a contiguous slice); for
 * CONTRACT_DATA and CONTRACT_CODE the body's extension lies between. */
typedef struct bdbi_key_span {
    int32_t type;
    const uint8_t *head;
    const uint8_t *tail;
    size_t tail_len;
    size_t end; /* offset in the entry just past the key fields */
} bdbi_key_span;

/* Locates the key of the LedgerEntry e[0..len), validating the key fields
 * (not the rest of the entry). */
int bdbi_entry_key_span(const uint8_t *e, size_t len, const char *label, int64_t base,
                        bdbi_key_span *span);

/* Appends the sort key of the LedgerKey key[0..len) to sk, validating it. */
int bdbi_sort_key(const uint8_t *key, size_t len, const char *label, int64_t base, bdbi_sk_out *sk);

/* Appends the sort key of the LedgerEntry e[0..len) to sk in one pass over
 * its key fields, validating them (not the rest of the entry). On failure
 * sk holds a partial key. */
int bdbi_entry_sort_key(const uint8_t *e, size_t len, const char *label, int64_t base,
                        bdbi_sk_out *sk);

/* Whether a record of type `type` carries a LedgerKey (DEADENTRY, or
 * HOT_ARCHIVE_LIVE in hot archives: the tombstones) rather than a
 * LedgerEntry. */
static inline int bdbi_record_is_key(int hot, int32_t type)
{
    return type == (hot ? BDB_HOT_LIVE : BDB_DEADENTRY);
}

/* Appends the sort key of a record's arm `body` (a LedgerKey or a
 * LedgerEntry, as bdbi_record_is_key says for `type`) to sk. */
int bdbi_record_sort_key(int hot, int32_t type, const uint8_t *body, size_t len, const char *label,
                         int64_t base, bdbi_sk_out *sk);

/* Renders buf[0..len), exactly one valid value of type t, as one line of
 * JSON in bdb_ledger_key_json's conventions (tools print whole entries
 * with it). BDB_EFORMAT for invalid input; a too-small buffer gives
 * BDB_EINVAL with the needed size (including the NUL) in *out_len. */
int bdbi_xdr_json(const bdbi_xtype *t, const void *buf, size_t len, char *out, size_t cap,
                  size_t *out_len);

/* bdb_record_parse() with a label and base offset for errors. */
int bdbi_record_parse(const uint8_t *p, size_t len, int hot, const char *label, int64_t base,
                      bdb_record *out);

#endif
