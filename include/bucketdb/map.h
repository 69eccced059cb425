/*
 * The bucket map: Agave's disk-backed accounts index (solana-bucket-map),
 * sharded, memory-mapped, with lock-free reads.
 *
 * A map sends each fixed-size key to one of `max_buckets` shards (a
 * power of two). A shard is an open-addressing table in one file plus,
 * for slot lists of two or more elements (or a ref count other than 1),
 * one data file per power-of-two size class; every file is mapped.
 * Readers take no lock: they load the shard's table under RCU and check
 * each cell's state word before and after copying it, so a reader that
 * races a writer sees the old or the new slot list, never a mix. Writers
 * of one shard are serialised by the shard's mutex; shards proceed in
 * parallel. The file formats are in docs/map-files.md.
 *
 * Slot lists are arrays of `elem_size`-byte elements, stored and returned
 * byte for byte (the library never interprets them).
 */
#ifndef BUCKETDB_MAP_H
#define BUCKETDB_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BDB_MAP_MAX_SHARDS 16384u /* max_buckets limit (2^14) */
#define BDB_MAP_MAX_DRIVES 64u
#define BDB_MAP_MAX_KEY    256u       /* key_size limit, bytes */
#define BDB_MAP_MAX_ELEM   1024u      /* elem_size limit, bytes */
#define BDB_MAP_MAX_SLOTS  (1u << 20) /* slot-list length limit */
/* "Every shard" for the functions that take a shard. */
#define BDB_MAP_ALL_SHARDS UINT32_MAX

typedef struct bdb_map bdb_map;

typedef struct bdb_map_options {
    /* Shards: a power of two in 1..BDB_MAP_MAX_SHARDS (default 16).
     * Agave's BucketMapConfig::max_buckets. */
    uint32_t max_buckets;
    /* Directories for the shards' files (created if missing); shard s uses
     * drives[s % n_drives]. n_drives 0 = one new temporary directory under
     * $TMPDIR (or /tmp), removed at close. */
    const char *const *drives;
    uint32_t n_drives;
    /* Probe window: a key lives within max_search cells of its home cell;
     * an insert that would put a key beyond its window grows the table
     * (default 32, range 1..255, as Agave's MaxSearch = u8). */
    uint32_t max_search;
    /* Path of the restart file, which names each shard's files so that a
     * reopened map reuses them (see bdb_map_open). NULL = no reuse: the
     * files are deleted at close, and files of an earlier map found in the
     * drives are deleted at open. */
    const char *restart_config_file;
    /* Key size in bytes, 1..BDB_MAP_MAX_KEY (default 32). 32-byte keys are
     * taken as uniformly distributed (public keys, hashes): their shard is
     * the top log2(max_buckets) bits of their first 8 bytes read big-endian,
     * as in Agave. Keys of other sizes are hashed with XXH3 first. */
    uint32_t key_size;
    /* Slot-list element size in bytes, 1..BDB_MAP_MAX_ELEM (default 16,
     * Agave's (Slot, AccountInfo)). */
    uint32_t elem_size;
    /* Keep a ref count with every key (default 0, as Agave since v3). When
     * 0, ref counts passed in are ignored and 1 is returned. */
    int ref_counts;
    /* Bytes of table and data pages the map aims to keep resident (0 =
     * no limit, the default). When the mapped bytes of the shards touched
     * since their last release exceed it, the least recently used shards'
     * mappings are released to the kernel (madvise) until they fit. Checked
     * by bdb_map_advance_age() and after each table growth. */
    uint64_t memory_budget;
    /* A shard not touched (read or written) for this many ages is released
     * the same way (0 = never; Agave's ages_to_stay_in_cache is 5). */
    uint32_t ages_to_stay_in_memory;
    /* Milliseconds between ages advanced by a thread of the map (0 = the
     * caller calls bdb_map_advance_age(); Agave's flusher uses 400). */
    uint32_t age_interval_ms;
    /* Most entries the map may hold (0 = no limit): inserting a new key
     * beyond it fails with BDB_EFULL and changes nothing. */
    uint64_t max_size;
    /* fsync/msync at bdb_map_flush() and close (default 1; 0 only for
     * tests and scratch maps). */
    int fsync;
    /* Seed of new tables' key hashes; 0 (default) = random per table. */
    uint64_t seed;
} bdb_map_options;

/* Fills *opts with the defaults documented on each field. */
BDB_API void bdb_map_options_init(bdb_map_options *opts);

/* Opens a map in `opts->drives` (`opts` NULL = the defaults). With a
 * restart file that exists, each shard whose files all validate is reused
 * as it was at its last flush: a file validates when its header (magic,
 * version, sizes, map identity, shard, generation, checksum) matches the
 * restart file and the options, its clean flag is set and the checksum of
 * its contents matches. A shard with any file that does not validate is
 * discarded (its files deleted) and starts empty; so are files in the
 * drives that look like a map's but the restart file does not name. Each
 * discarded file is reported by bdb_map_discarded(). A restart file that
 * is itself damaged, or was written for other options (shards, key or
 * element size, ref counts), discards every shard and is reported the same
 * way. Costs one read of every reused file. Returns 0, BDB_EINVAL (an
 * option out of range, named in the message), BDB_EIO, BDB_ENOSPC or
 * BDB_ENOMEM. */
BDB_API int bdb_map_open(bdb_env *env, const bdb_map_options *opts, bdb_map **out);

/* Flushes (bdb_map_flush) and closes the map; without a restart file its
 * files are deleted. Waits for the age thread. Every other call on the map
 * must have returned. Returns the flush's error, if any (the map is closed
 * either way). NULL is a no-op. */
BDB_API int bdb_map_close(bdb_map *map);

/* Makes the current contents durable and reusable: for every shard
 * changed since its last flush, syncs its files, records their content
 * checksums and sets their clean flags; then rewrites the restart file.
 * A shard changed after the last flush is discarded by a reopen after a
 * crash. Blocks each shard's writers while that shard is flushed (readers
 * are never blocked). Costs one read of every changed shard. */
BDB_API int bdb_map_flush(bdb_map *map);

/* Why a file was discarded at open. */
typedef struct bdb_map_discard {
    uint32_t shard; /* BDB_MAP_ALL_SHARDS: not a shard's file (restart file) */
    const char *path;
    const char *reason; /* e.g. "not cleanly closed", "content checksum mismatch" */
} bdb_map_discard;

/* The i-th file discarded by bdb_map_open, for i < *n (strings valid
 * until close); returns 1, or 0 past the end. *n may be NULL. */
BDB_API int bdb_map_discarded(const bdb_map *map, size_t i, bdb_map_discard *out, size_t *n);

/* ---- reads (lock-free) ---- */

/* The shard of `key` (key_size bytes). */
BDB_API uint32_t bdb_map_shard_of(const bdb_map *map, const void *key);

/* Looks `key` up. Returns 1 if present: *n = its slot list's length, the
 * first min(*n, cap) elements are copied to `slots` (cap elements of
 * elem_size bytes; NULL with cap 0 to ask the length), and *ref_count (if
 * not NULL) gets its ref count. Returns 0 if absent. Takes no lock; may be
 * called from any thread at any time, concurrently with writers.
 * BDB_ECORRUPT if the cell names a slot list outside its data file. */
BDB_API int bdb_map_read(const bdb_map *map, const void *key, void *slots, size_t cap, size_t *n,
                         uint64_t *ref_count);

/* Looks up n keys (keys: n x key_size bytes) as n bdb_map_read calls would,
 * faster: the home cells of a group of keys are fetched together, so their
 * cache misses overlap. For key i: found[i] = 1 or 0; lens[i] = its slot
 * list's length (0 if absent); its first min(lens[i], cap) elements go to
 * slots + i * cap * elem_size; refs[i] = its ref count (any of lens, refs,
 * found, and slots with cap 0, may be NULL). Returns the number of keys
 * found, BDB_EINVAL or BDB_ECORRUPT. Lock-free, like bdb_map_read. */
BDB_API int64_t bdb_map_read_many(const bdb_map *map, const void *keys, size_t n, void *slots,
                                  size_t cap, size_t *lens, uint64_t *refs, int *found);

/* ---- writes (one writer per shard at a time; callers need no lock) ---- */

/* Which storage must grow before a try_insert can succeed. */
enum { BDB_MAP_GROW_TABLE = 1, BDB_MAP_GROW_DATA = 2 };
typedef struct bdb_map_need {
    int storage; /* BDB_MAP_GROW_TABLE or BDB_MAP_GROW_DATA */
    uint32_t shard;
    uint32_t size_class; /* data: slot lists of up to 2^size_class elements */
    uint64_t capacity;   /* cells of that storage when the need was seen; 0: no data file yet */
} bdb_map_need;

/* Sets `key`'s slot list to `n` elements at `slots` (n <= BDB_MAP_MAX_SLOTS)
 * and its ref count to `ref_count` (ignored without ref_counts), inserting
 * the key if absent; grows the table or a data file as needed. Returns 0,
 * BDB_EFULL (a new key beyond max_size: nothing changed), BDB_EINVAL,
 * BDB_ENOSPC, BDB_EIO or BDB_ENOMEM (nothing changed by the failing
 * call). */
BDB_API int bdb_map_insert(bdb_map *map, const void *key, const void *slots, size_t n,
                           uint64_t ref_count);

/* As bdb_map_insert, but never grows anything (a shard's first table,
 * made on its first write, is not a growth): if the table is full (7/8
 * of its cells, or a key would land beyond its window) or the slot list's
 * data file is full or missing, returns
 * BDB_EAGAIN with *need (if not NULL) saying which storage must grow, and
 * changes nothing. */
BDB_API int bdb_map_try_insert(bdb_map *map, const void *key, const void *slots, size_t n,
                               uint64_t ref_count, bdb_map_need *need);

/* Grows the storage `need` names (from a BDB_EAGAIN of try_insert): the
 * table doubles (or more, for the anticipated count) and is rebuilt in
 * a new file while readers go on with the old one, then published; a data
 * file doubles in place. A no-op returning 0 if that storage no longer has
 * need->capacity cells (it has grown meanwhile). */
BDB_API int bdb_map_grow(bdb_map *map, const bdb_map_need *need);

/* A slot list with its ref count, as update callbacks see and return it. */
typedef struct bdb_map_value {
    const void *slots; /* n elements of elem_size bytes (never NULL in what the map passes) */
    size_t n;
    uint64_t ref_count;
} bdb_map_value;

enum { BDB_MAP_DELETE = 0, BDB_MAP_SET = 1 };

/* Called by bdb_map_update with the key's current value (`cur` NULL if
 * absent). Returns BDB_MAP_SET after filling *out (its slots must stay
 * valid until bdb_map_update returns), BDB_MAP_DELETE to delete the key (or
 * leave it absent), or a negative BDB_E* code to change nothing and make
 * bdb_map_update return it. Runs with the shard's writer lock held: it may
 * read the map but not change it (every write, and bdb_map_flush, returns
 * BDB_EBUSY inside a callback, so callbacks can never deadlock). */
typedef int (*bdb_map_update_fn)(void *ctx, const bdb_map_value *cur, bdb_map_value *out);

/* Read-modify-write of `key` as one step for the shard's writers. Returns
 * 0 or the callback's or the insert's error. */
BDB_API int bdb_map_update(bdb_map *map, const void *key, bdb_map_update_fn fn, void *ctx);

/* Deletes `key`: returns 1 if it was present, 0 if not. */
BDB_API int bdb_map_delete(bdb_map *map, const void *key);

/* Inserts the one-element slot lists values[i] (elem_size bytes each, ref
 * count 1) for keys[i] (key_size bytes each), i < n, for the keys that are
 * not already in the map; the startup bulk load of Agave. For each key
 * that is already present, or repeats an earlier key of the batch (the
 * first copy wins), dup_index[k] = i and the present value's first
 * element (none if its slot list is empty: zero bytes) is copied to
 * dup_values + k * elem_size, for k < *n_dups. dup_index and dup_values
 * hold n entries each (either may be NULL when the caller needs no
 * details). Grows as needed, shard by shard; on failure the keys inserted
 * so far stay. Returns 0, BDB_EFULL, BDB_EINVAL, BDB_ENOSPC, BDB_EIO or
 * BDB_ENOMEM. */
BDB_API int bdb_map_batch_insert_non_duplicates(bdb_map *map, const void *keys, const void *values,
                                                size_t n, size_t *dup_index, void *dup_values,
                                                size_t *n_dups);

/* Sizes the next growth of `shard`'s table (or of every shard's, with
 * BDB_MAP_ALL_SHARDS and `count` spread evenly) for `count` entries. */
BDB_API int bdb_map_set_anticipated_count(bdb_map *map, uint32_t shard, uint64_t count);

/* ---- iteration ---- */

enum { BDB_MAP_KEYS_ONLY = 1 };

/* Called for each item; `v` is NULL with BDB_MAP_KEYS_ONLY. Return 0 to go
 * on, anything else to stop the iteration and make it return that. */
typedef int (*bdb_map_visit_fn)(void *ctx, const void *key, const bdb_map_value *v);

/* Visits the items of `shard` (or of every shard in order, with
 * BDB_MAP_ALL_SHARDS) whose keys are in [lo, hi) by memcmp (lo or hi NULL
 * = unbounded), in no particular order within a shard. Each shard is
 * visited as one consistent state: its writers wait while it is visited
 * (readers do not). The callback may read the map, not change it
 * (BDB_EBUSY, as in update callbacks). With 32-byte keys, shards outside
 * the range are skipped. Returns 0, the callback's non-zero return value,
 * BDB_EINVAL or BDB_ENOMEM. */
BDB_API int bdb_map_iterate(bdb_map *map, uint32_t shard, const void *lo, const void *hi, int flags,
                            bdb_map_visit_fn fn, void *ctx);

/* ---- counts, ages, statistics ---- */

/* Entries in `shard`, or in the whole map with BDB_MAP_ALL_SHARDS (exact
 * when no writer is running; lock-free). */
BDB_API uint64_t bdb_map_count(const bdb_map *map, uint32_t shard);

/* Advances the map's age by one: shards untouched for
 * ages_to_stay_in_memory ages are released, then, with a memory_budget,
 * the least recently used shards until the rest fit. Returns the new age. */
BDB_API uint32_t bdb_map_advance_age(bdb_map *map);

typedef struct bdb_map_shard_stats {
    uint64_t count;          /* entries */
    uint64_t capacity;       /* table cells */
    uint64_t table_bytes;    /* table file size */
    uint64_t data_bytes;     /* data files' sizes */
    uint64_t data_cells;     /* data cells holding slot lists */
    uint64_t data_capacity;  /* data cells in the data files */
    uint64_t probe_total;    /* sum over entries of (cell - home cell) */
    uint64_t probe_max;      /* largest such distance */
    uint64_t table_grows;    /* tables rebuilt since open */
    uint64_t data_grows;     /* data files grown or created since open */
    uint64_t resident_bytes; /* of its mappings, in the page cache (mincore) */
    uint32_t last_age;       /* age when it was last touched */
    int released;            /* released and not touched since */
} bdb_map_shard_stats;

typedef struct bdb_map_stats {
    uint32_t shards;
    uint32_t age;
    bdb_map_shard_stats total; /* sums (probe_max: the largest; last_age, released: unused) */
    uint64_t shards_released;  /* shards released now */
    uint64_t releases;         /* releases since open */
    uint64_t heap_bytes;       /* memory the map holds outside its mapped files */
} bdb_map_stats;

/* Statistics of one shard. Scans its table (cost O(capacity)) and asks
 * the kernel which pages are resident. BDB_EINVAL for a bad shard. */
BDB_API int bdb_map_shard_stats_get(bdb_map *map, uint32_t shard, bdb_map_shard_stats *out);

/* Statistics of the whole map: every shard's, summed. */
BDB_API int bdb_map_stats_get(bdb_map *map, bdb_map_stats *out);

#ifdef __cplusplus
}
#endif

#endif
