/* Shared pieces of the read side of the store (read.c, scan.c). */
#ifndef BDB_LIST_READ_H
#define BDB_LIST_READ_H

#include "store.h"
#include "xdr/schema.h"

/* The shard holding sort key sk. */
uint32_t bdbi_shard_of(const bdb_list *l, const uint8_t *sk, size_t sk_len);

/* The file of b holding shard `shard`'s entries, NULL when b is empty or
 * has none there. */
const bdbi_lfile *bdbi_shard_file(const bdbi_lbucket *b, uint32_t shard);

/* The record whose mark is at `off` of the file (bounds-checked:
 * BDB_ECORRUPT otherwise). */
int bdbi_record_at(const bdbi_lfile *lf, uint64_t off, const uint8_t **rec, size_t *len);

/* The record of probe p in one file: its cache (when use_cache), then its
 * index (cursor as bdbi_index_lookup). 1 found, 0 not, < 0 error. */
int bdbi_file_find(const bdbi_lfile *lf, int use_cache, bdbi_probe *p, size_t *cursor,
                   const uint8_t **rec, size_t *len);

/* Whether reads of `key` go through the entry caches. */
int bdbi_key_cached(const bdb_list *l, int hot, const uint8_t *key, size_t len);

/* *out for the record rec[0..len) found in level/snap. */
void bdbi_entry_fill(const uint8_t *rec, size_t len, int level, int snap, bdb_list_entry *out);

/* bdb_list_get_many for the live (hot 0) or hot list. */
int bdbi_get_many(const bdb_list_view *v, int hot, const bdb_bytes *keys, size_t n,
                  bdb_list_entry *out, size_t *found);

#endif
