/* The BucketListDB entry cache: an optional cache in front of one large
 * (page-indexed) bucket piece, mapping a key (the entry's sort key or XDR
 * LedgerKey, opaque bytes) to its BucketEntry record (opaque bytes). It
 * follows stellar-core's RandomEvictionCache: a fixed entry count chosen
 * by the caller (bdbi_cache_capacity()), and an insert beyond it evicts the
 * less recently used of two random resident entries.
 *
 * Buckets are immutable, so entries are never invalidated: the cache
 * lives and dies with its piece. Absent keys are never cached; that is
 * the caller's job, as is offering an entry after a disk read found it.
 *
 * Lookups take no lock; the only memory they write is the found entry's
 * access stamp (when it changes) and a per-thread hit counter. Any number
 * of threads may look up and insert at once (docs/entry-cache.md). A NULL cache, which is what
 * capacity 0 creates, is valid everywhere: it caches and meters nothing. */
#ifndef BDB_CACHE_CACHE_H
#define BDB_CACHE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"

typedef struct bdbi_cache bdbi_cache;

/* Slot indices are 32-bit; nobody caches a billion entries per piece. */
#define BDBI_CACHE_MAX_CAPACITY ((size_t)1 << 30)

/* The entry count of one piece's cache, as stellar-core sizes it
 * (LiveBucketIndex::maybeInitializeCache): `budget_bytes` is the memory
 * for caching in the whole BucketList (BUCKETLIST_DB_MEMORY_FOR_CACHING
 * MB * 1024 * 1024), the next two are the piece's ACCOUNT entry count and
 * bytes, the last the ACCOUNT bytes of the whole BucketList. 0 when the
 * piece has no accounts or the budget is 0; the account count when the
 * whole BucketList's accounts fit in the budget; otherwise the piece's
 * share of the budget divided by its average account size, in double
 * precision exactly as stellar-core computes it (see cache.c). */
size_t bdbi_cache_capacity(uint64_t budget_bytes, uint64_t piece_account_count,
                           uint64_t piece_account_bytes, uint64_t total_account_bytes);

/* Creates a cache of at most `capacity` entries; `seed` drives the
 * eviction choices and the hash (equal seeds give equal behaviour).
 * Capacity 0 stores NULL in *out and returns 0: no cache. Larger than
 * BDBI_CACHE_MAX_CAPACITY is BDB_EINVAL; BDB_ENOMEM. The slot table is
 * allocated here, once; entries are allocated as they are inserted. */
int bdbi_cache_create(bdb_env *env, size_t capacity, uint64_t seed, bdbi_cache **out);

/* Frees the cache and its resident entries. The caller guarantees that no
 * thread is inside a call on `c` and none can start one (e.g. the piece
 * was unpublished and an RCU grace period has passed, or this runs in the
 * piece's RCU callback). Entries evicted earlier are freed by RCU
 * callbacks that need only `env`, which bdb_env_close() waits for. Never
 * blocks. NULL is a no-op. */
void bdbi_cache_destroy(bdb_env *env, bdbi_cache *c);

/* Looks `key` up without taking a lock. Found: copies the value into
 * `val` (room for `cap` bytes), stores its length in *vlen, marks the
 * entry used, counts a hit and returns 1. Absent: returns 0 and counts
 * nothing (the caller reads the disk and, if the key exists there, calls
 * bdbi_cache_put(), which counts the miss). Found but longer than `cap`:
 * stores the needed length in *vlen and returns BDB_EINVAL, counting
 * nothing and leaving the entry's recency alone, so a retry with a
 * larger buffer counts one hit (the entry may have been evicted by then).
 *
 * Lock-free: it runs in its own RCU read-side section (nesting inside the
 * caller's is fine), which registers the calling thread with liburcu on
 * first use, as every library call does. So it must not be called from
 * an RCU callback. A lookup racing with inserts may miss an entry that is
 * being moved in the table (the caller then reads the disk); it never
 * returns a value that does not belong to `key`. */
int bdbi_cache_lookup(bdbi_cache *c, const uint8_t *key, size_t klen, uint8_t *val, size_t cap,
                      size_t *vlen);

/* Offers `key` -> `val` after a disk read found it, and counts a miss
 * (always, like stellar-core's miss meter, even when the entry is not
 * kept). Copies both. An existing key gets the new value and counts as
 * used now. Returns 1 when the entry is resident afterwards; 0 when it is
 * not: the eviction policy chose the new entry itself, or another thread
 * was inserting into this cache at that moment (inserts never wait: the
 * cache is an optimisation, and the next miss offers the entry again);
 * BDB_ENOMEM; BDB_EINVAL for a key or value of 4 GiB or more. Never blocks
 * on other threads. */
int bdbi_cache_put(bdbi_cache *c, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen);

typedef struct bdbi_cache_stats {
    uint64_t hits;      /* lookups that found the key */
    uint64_t misses;    /* bdbi_cache_put() calls */
    uint64_t inserts;   /* new keys offered while the writer lock was free */
    uint64_t updates;   /* puts of a resident key */
    uint64_t evictions; /* entries dropped for room (including a new entry itself) */
    uint64_t skipped;   /* puts dropped because another thread was inserting */
    size_t entries;     /* resident now */
    size_t capacity;
} bdbi_cache_stats;

/* Fills *out; all zero for a NULL cache. Each counter is read atomically,
 * the set is not one consistent cut. */
void bdbi_cache_stats_get(const bdbi_cache *c, bdbi_cache_stats *out);

/* Bytes the cache holds now: its table and its resident entries (entries
 * already evicted but waiting for an RCU grace period are not counted;
 * bdb_env_stats() counts them under BDB_MEM_CACHE until they are freed).
 * 0 for a NULL cache. */
size_t bdbi_cache_bytes(const bdbi_cache *c);

#endif
