/* The structural comparator of LedgerKeys: stellar-core's order (xdrpp's
 * operator< on LedgerKey, spec stellar-bucketlist.md §3), computed
 * directly on two XDR-encoded LedgerKeys. It is written independently of
 * the sort-key encoder and serves as the reference that proves it. */
#ifndef BDB_XDR_KEYCMP_H
#define BDB_XDR_KEYCMP_H

#include <stddef.h>
#include <stdint.h>

/* Compares the LedgerKeys encoded in a[0..alen) and b[0..blen) (plain XDR,
 * no record mark; each buffer must hold exactly one key). Stores -1, 0 or 1
 * in *order and returns 0, or returns BDB_EFORMAT (with the offending
 * buffer, offset and what was expected in the error detail) if either is
 * not a valid LedgerKey; *order is then left unchanged.
 *
 * Valid means what xdrpp would decode (stellar-xdr 9c9c1459): known union
 * and enum values only, bool and optional flags 0 or 1, lengths within their
 * XDR maximum, zero padding, no missing and no trailing bytes; plus SCVal
 * containers (VEC, MAP, contract-instance storage) nested at most 64 deep.
 * Both keys are checked to their end even when an early difference already
 * decides the order. Never reads outside the buffers; no allocation, no
 * recursion (about 1 KiB of stack per key). */
int bdbi_ledger_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, int *order);

#endif
