/* perf/bench_map: the keys and values of the bucket-map benchmark and its
 * two peers, an in-memory open-addressing table and LMDB
 * (bench_map_peers.c). */
#ifndef BDB_PERF_BENCH_MAP_H
#define BDB_PERF_BENCH_MAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bucketdb/map.h"

#include "bench_util.h" /* mix64, env_u64 */

#define BM_KEY 32 /* key bytes, as Agave's pubkeys */
#define BM_VAL 16 /* value bytes, as Agave's (Slot, AccountInfo) */

/* The first 8 bytes of key number k, read big-endian: a bijection of k
 * (odd multiplier, then an invertible mix), so distinct numbers give
 * distinct keys, and uniformly spread, as public keys are. */
static inline uint64_t bm_key_head(uint64_t k)
{
    return mix64(k * 0x9e3779b97f4a7c15ull + 1);
}

/* Key number k: 32 random-looking bytes. */
static inline void bm_key(uint64_t k, uint8_t *out)
{
    uint64_t h = bm_key_head(k);
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(h >> (56 - 8 * i));
    for (int w = 1; w < 4; w++) {
        uint64_t x = mix64(k ^ (0x51ed270b27d3a5f1ull * (uint64_t)w));
        memcpy(out + 8 * w, &x, 8);
    }
}

/* Key number k's value: (slot, account info), 16 bytes. */
static inline void bm_val(uint64_t k, uint8_t *out)
{
    uint64_t slot = 300000000ull + k % 1000003, info = mix64(k + 0x1234567);
    memcpy(out, &slot, 8);
    memcpy(out + 8, &info, 8);
}

/* Opens a bucket map of the benchmarks' keys and values in dir (one
 * drive; `shards` buckets; max_search 0: the default; no fsync). Returns
 * bdb_map_open's code. */
static inline int bm_map_open(bdb_env *env, const char *dir, uint32_t shards, uint32_t max_search,
                              bdb_map **out)
{
    const char *drives[1] = {dir};
    bdb_map_options o;
    bdb_map_options_init(&o);
    o.max_buckets = shards;
    o.drives = drives;
    o.n_drives = 1;
    o.key_size = BM_KEY;
    o.elem_size = BM_VAL;
    o.fsync = 0;
    if (max_search) o.max_search = max_search;
    return bdb_map_open(env, &o, out);
}

/* n keys in one array (timed loops read them sequentially), with their
 * numbers. */
typedef struct bm_keyset {
    uint8_t *keys;
    uint64_t *num;
    size_t n;
} bm_keyset;

/* ---- the in-memory peer ---- */

/* An open-addressing table in malloc'd memory with our table's layout
 * (8-byte state word, 32-byte key, 16-byte value: 56-byte cells), linear
 * probing from the home cell hash >> (64 - log2 capacity), hash = XXH3-64
 * of the key with a seed, power-of-two capacity doubled when the load
 * would pass max_load; deletes shift later keys back (no tombstones). No
 * locks: concurrent gets are safe while nobody writes. */
typedef struct bm_ptable bm_ptable;

/* A table sized for `expected` keys (0: 32 cells, grown as needed). */
bm_ptable *bm_pt_new(uint64_t expected, double max_load, uint64_t seed);
void bm_pt_free(bm_ptable *t);
/* Inserts or replaces; returns 0, or -1 out of memory. */
int bm_pt_insert(bm_ptable *t, const void *key, const void *val);
/* Copies the value of key to val: returns 1, or 0 if absent. */
int bm_pt_get(const bm_ptable *t, const void *key, void *val);
/* Deletes key: returns 1, or 0 if absent. */
int bm_pt_delete(bm_ptable *t, const void *key);
uint64_t bm_pt_count(const bm_ptable *t);
uint64_t bm_pt_capacity(const bm_ptable *t);
uint64_t bm_pt_bytes(const bm_ptable *t);
uint64_t bm_pt_grows(const bm_ptable *t);

/* ---- the LMDB peer ---- */

typedef struct bm_lmdb bm_lmdb;

/* Creates an environment in dir (which must exist) for n keys and loads
 * keys 0..n-1 in key order with MDB_APPEND in one write transaction
 * (MDB_NOSYNC | MDB_WRITEMAP), then warms it with a cursor scan. *secs:
 * the load's time (sort included). Returns NULL after printing why. */
bm_lmdb *bm_lmdb_load(const char *dir, uint64_t n, double *secs, double *scan_secs);
void bm_lmdb_close(bm_lmdb *l);
/* Bytes of the data file's used pages. */
uint64_t bm_lmdb_file_bytes(const bm_lmdb *l);

/* A reader with its own read-only transaction, renewed every `batch`
 * gets. */
typedef struct bm_lmdb_reader bm_lmdb_reader;
bm_lmdb_reader *bm_lmdb_reader_new(bm_lmdb *l, size_t batch);
void bm_lmdb_reader_free(bm_lmdb_reader *r);
/* One get: 1 found (value copied to val), 0 absent, -1 error. Renews the
 * transaction first when the batch is used up. */
int bm_lmdb_get(bm_lmdb_reader *r, const void *key, void *val);

/* ---- shared by bench_map.c and bench_map_reads.c ---- */

extern uint64_t n_keys; /* the map holds keys 0..n_keys - 1 */
extern int rounds;
double loadavg(void);
void die(const char *what);
/* n random keys among the map's (absent 0) or among as many it never
 * held (numbers n_keys..2 n_keys - 1). */
void keyset_make(bm_keyset *ks, size_t n, int absent, uint64_t seed);
void keyset_free(bm_keyset *ks);

/* A get of one of the compared stores: 1 found (value in val), 0 absent,
 * negative on error. */
typedef int (*get_fn)(void *ctx, const uint8_t *key, uint8_t *val);
int get_ours(void *ctx, const uint8_t *key, uint8_t *val); /* ctx: the bdb_map */
/* Whether rc/val is the right answer for key number k; prints the first
 * 10 wrong ones. */
int answer_ok(const char *who, uint64_t k, int rc, const uint8_t *val);
uint64_t map_grows(bdb_map *map);

enum { S_OURS, S_PEER, S_LMDB, STORES };
extern const char *const store_names[STORES];

/* The stores compared (fn NULL: not in this run) and their contexts. */
typedef struct stores {
    get_fn fn[STORES];
    void *ctx[STORES];
} stores;

void bench_read(const stores *st);
/* ctx2: the second reader's contexts (LMDB readers own a transaction). */
void bench_threads(const stores *st, void *ctx2[STORES]);
void bench_concurrent(bdb_map *map);

#endif
