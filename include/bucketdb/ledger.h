/*
 * Stellar ledger data as stored in buckets: records (BucketEntry,
 * HotArchiveBucketEntry), ledger keys, and sort keys.
 *
 * All inputs are XDR bytes exactly as stellar-core encodes them (RFC 4506,
 * without the RFC 5531 record mark unless a function says otherwise).
 * Parsers validate what they read the way stellar-core's XDR library
 * decodes it: lengths and bounds, union discriminants and enum values, bool
 * 0/1, zero padding, nesting depth, truncation and trailing bytes. Invalid
 * input returns BDB_EFORMAT with the offset and what was expected in the
 * error detail; nothing is read outside the given buffer and nothing is
 * allocated.
 *
 * A sort key is an order-preserving, prefix-free byte string derived from a
 * LedgerKey: memcmp() of two sort keys has the sign of stellar-core's
 * comparison of the keys (LedgerEntryIdCmp), and two sort keys are equal
 * exactly when the keys are. The encoding is specified in
 * docs/sort-keys.md.
 */
#ifndef BUCKETDB_LEDGER_H
#define BUCKETDB_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"

#ifdef __cplusplus
extern "C" {
#endif

/* LedgerEntryType */
typedef enum bdb_entry_type {
    BDB_ACCOUNT = 0,
    BDB_TRUSTLINE = 1,
    BDB_OFFER = 2,
    BDB_DATA = 3,
    BDB_CLAIMABLE_BALANCE = 4,
    BDB_LIQUIDITY_POOL = 5,
    BDB_CONTRACT_DATA = 6,
    BDB_CONTRACT_CODE = 7,
    BDB_CONFIG_SETTING = 8,
    BDB_TTL = 9
} bdb_entry_type;

/* BucketEntryType */
enum { BDB_METAENTRY = -1, BDB_LIVEENTRY = 0, BDB_DEADENTRY = 1, BDB_INITENTRY = 2 };
/* HotArchiveBucketEntryType */
enum { BDB_HOT_METAENTRY = -1, BDB_HOT_ARCHIVED = 0, BDB_HOT_LIVE = 1 };
/* BucketListType */
enum { BDB_LIST_LIVE = 0, BDB_LIST_HOT_ARCHIVE = 1 };

/* Size of a TTL LedgerKey (type + SHA-256). */
#define BDB_TTL_KEY_LEN 36

/* A sort key is at most 2 * (XDR length of the key) + 2 bytes. */
#define BDB_SORT_KEY_BOUND(xdr_len) (2 * (size_t)(xdr_len) + 2)

/* Returns the name of a LedgerEntryType ("ACCOUNT", ...) or "unknown". */
BDB_API const char *bdb_entry_type_name(int type);

/* Validates that key[0..len) is exactly one LedgerKey. */
BDB_API int bdb_ledger_key_check(const void *key, size_t len);

/* Validates that entry[0..len) is exactly one LedgerEntry. */
BDB_API int bdb_ledger_entry_check(const void *entry, size_t len);

/* Writes the LedgerKey XDR of the LedgerEntry entry[0..len) into
 * out[0..cap) and its length into *out_len. The entry is validated
 * completely. cap >= len always suffices; a smaller buffer gives
 * BDB_EINVAL with the needed length in *out_len. */
BDB_API int bdb_ledger_entry_key(const void *entry, size_t len, void *out, size_t cap,
                                 size_t *out_len);

/* Writes the sort key of the LedgerKey key[0..len) into out[0..cap) and
 * its length into *out_len (validating the key). cap >=
 * BDB_SORT_KEY_BOUND(len) always suffices; a smaller buffer gives
 * BDB_EINVAL with the needed length in *out_len. */
BDB_API int bdb_sort_key(const void *key, size_t len, void *out, size_t cap, size_t *out_len);

/* Compares two LedgerKeys in stellar-core's order: stores -1, 0 or 1 in
 * *order. Both keys are validated. */
BDB_API int bdb_ledger_key_compare(const void *a, size_t alen, const void *b, size_t blen,
                                   int *order);

/* Writes the TTL LedgerKey of a CONTRACT_DATA or CONTRACT_CODE LedgerKey:
 * type TTL followed by SHA-256 of the key's XDR. Other key types give
 * BDB_EINVAL. */
BDB_API int bdb_ttl_key(const void *key, size_t len, uint8_t out[BDB_TTL_KEY_LEN]);

/* A parsed bucket record (the XDR body of one BucketEntry or
 * HotArchiveBucketEntry). Pointers point into the parsed buffer. */
typedef struct bdb_record {
    int32_t type;        /* BDB_*ENTRY, or BDB_HOT_* for hot-archive records */
    int32_t entry_type;  /* bdb_entry_type of the entry or key; -1 for META */
    const uint8_t *body; /* the arm: LedgerEntry, LedgerKey or BucketMetadata */
    size_t body_len;
    uint32_t last_modified;  /* LedgerEntry.lastModifiedLedgerSeq; 0 otherwise */
    uint32_t ledger_version; /* META: BucketMetadata.ledgerVersion */
    int32_t list_type;       /* META: BucketListType of ext v1, or -1 for ext v0 */
} bdb_record;

/* Parses and fully validates one record body rec[0..len) (no record mark)
 * of a live bucket (hot = 0: BucketEntry) or a hot-archive bucket (hot = 1:
 * HotArchiveBucketEntry). */
BDB_API int bdb_record_parse(const void *rec, size_t len, int hot, bdb_record *out);

/* Renders the LedgerKey key[0..len) as one line of JSON into out[0..cap)
 * (NUL-terminated), e.g. {"account":{"accountID":"GDVEU3..."}}. Account
 * IDs are StrKeys; 64-bit integers are strings; opaque bytes are hex;
 * strings are JSON strings with non-printable bytes escaped as \u00XX.
 * A too-small buffer gives BDB_EINVAL with the needed size (including the
 * NUL) in *out_len. */
BDB_API int bdb_ledger_key_json(const void *key, size_t len, char *out, size_t cap,
                                size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* BUCKETDB_LEDGER_H */
