/* The key-value peers of the BucketList scenarios: RocksDB and LMDB (when
 * configure found them), holding LedgerKey XDR -> LedgerEntry XDR, as a
 * validator would keep its ledger state in them. One interface so that
 * perf_list.c runs the same workload on each. */
#ifndef BDB_PERF_PEERS_H
#define BDB_PERF_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucket.h"

enum { HX_ROCKSDB, HX_LMDB, HX_PEERS };

typedef struct hx_kv hx_kv;
typedef struct hx_kv_reader hx_kv_reader;

/* "RocksDB" or "LMDB". */
const char *hx_kv_name(int kind);
/* Whether this build links the peer. */
int hx_kv_available(int kind);
/* The peer's library version ("7.8.3"), or "". */
const char *hx_kv_version(int kind);
/* The options the peer runs with, for the report's conditions. */
const char *hx_kv_config(int kind);

/* Opens (creating) the peer's database in directory dir, sized for
 * about `bytes` of data. Dies on failure. */
hx_kv *hx_kv_open(int kind, const char *dir, uint64_t bytes);
void hx_kv_close(hx_kv *kv);

/* Bulk load: puts n pairs without making them durable one by one (RocksDB:
 * a write batch without WAL; LMDB: one transaction with MDB_NOSYNC). */
void hx_kv_load(hx_kv *kv, const bdb_bytes *keys, const bdb_bytes *vals, size_t n);
/* Ends the load: everything durable and in its steady shape (RocksDB:
 * flush and a full compaction; LMDB: a sync). */
void hx_kv_load_end(hx_kv *kv);

/* One ledger: puts and deletes in one atomic, durable commit (RocksDB: a
 * write batch with WAL and sync; LMDB: a transaction, synced). */
void hx_kv_commit(hx_kv *kv, const bdb_bytes *keys, const bdb_bytes *vals, size_t n,
                  const bdb_bytes *dels, size_t n_dels);

/* A reader for one thread. */
hx_kv_reader *hx_kv_reader_new(hx_kv *kv);
void hx_kv_reader_free(hx_kv_reader *r);
/* Point get: 1 with *val / *len pointing at the value (valid until the
 * reader's next call), 0 absent. Dies on an error. */
int hx_kv_get(hx_kv_reader *r, const void *key, size_t len, const uint8_t **val, size_t *vlen);
/* Bulk get of n keys: found[i] = whether keys[i] is present; returns the
 * number found. */
size_t hx_kv_get_many(hx_kv_reader *r, const bdb_bytes *keys, size_t n, uint8_t *found);

#endif
