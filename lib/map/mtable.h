/* A bucket map table: one shard's Robin Hood hash table in one mapped
 * file (docs/map-files.md). Readers probe it without locks (mcell.h's
 * protocol); the shard's writer finds, inserts, sets and deletes cells.
 * Keys live within max_search cells of their home cell; a growth builds a
 * new table. */
#ifndef BDB_MAP_MTABLE_H
#define BDB_MAP_MTABLE_H

#include <stdint.h>
#include <urcu/urcu-memb.h>

#include "core/rwmap.h"
#include "mcell.h"
#include "mdata.h"
#include "mfile.h"

#define BDBI_MTABLE_MIN_BITS 6 /* 64 cells */

typedef struct bdbi_mtable {
    bdbi_rwmap m;
    uint8_t *cells;
    uint64_t cap;
    unsigned bits; /* cap = 2^bits */
    uint64_t seed, gen;
    uint32_t cell_size;
    uint64_t epoch; /* odd while the writer moves cells (atomic accesses) */
    bdb_env *env;
    struct rcu_head rcu;
} bdbi_mtable;

/* Hash of a key under a table's seed. */
uint64_t bdbi_mtable_hash(const bdbi_mlayout *L, uint64_t seed, const void *key);

/* Creates the table file `path` with 2^bits cells and a header from `info`
 * (clean 0), and maps it. */
int bdbi_mtable_create(bdb_env *env, const char *path, const bdbi_mlayout *L, unsigned bits,
                       const bdbi_mfile_info *info, bdbi_mtable **out);

/* Wraps an existing mapping whose header was checked; takes `m`. */
int bdbi_mtable_adopt(bdb_env *env, bdbi_rwmap *m, const bdbi_mfile_info *info, bdbi_mtable **out);

void bdbi_mtable_free(bdbi_mtable *t);
void bdbi_mtable_free_rcu(bdbi_mtable *t);

static inline uint8_t *bdbi_mtable_cell(const bdbi_mtable *t, uint64_t pos)
{
    return t->cells + pos * t->cell_size;
}

/* Lock-free lookup (inside an RCU read-side section): `data` is the
 * shard's array of RCU-published data files, `cur` its published table
 * pointer (NULL for the writer, whose table is always current). Returns 1
 * (copies the first min(n, cap) elements into slots, sets *n and *ref), 0
 * if absent, BDBI_MTABLE_STALE if `t` was replaced while the value was
 * being copied (the caller retries with the new table: after a growth the
 * writer reuses data cells the old table still names, and the old table's
 * cells never change again to say so), or BDB_ECORRUPT if a stable cell
 * names a slot list outside its file. */
#define BDBI_MTABLE_STALE 2
int bdbi_mtable_read(const bdbi_mlayout *L, const bdbi_mtable *t, bdbi_mdata *const *data,
                     bdbi_mtable *const *cur, const void *key, uint64_t hash, void *slots,
                     size_t cap, size_t *n, uint64_t *ref);

/* Asks the CPU to load the home cell of `hash` (for batches of lookups). */
static inline void bdbi_mtable_prefetch(const bdbi_mtable *t, uint64_t hash)
{
    const uint8_t *c = bdbi_mtable_cell(t, hash >> (64 - t->bits));
    __builtin_prefetch(c);
    __builtin_prefetch(c + t->cell_size - 1);
}

/* The writer's probe for a key. */
typedef struct bdbi_mprobe {
    int found;
    uint64_t pos;  /* the key's cell, or where it would be inserted */
    unsigned dist; /* its distance from its home cell there */
    int fits;      /* not found: it can be inserted without growing */
    int shift;     /* not found: cells pos.. must first move down one */
    uint64_t end;  /* the empty cell that ends the move */
} bdbi_mprobe;

void bdbi_mtable_find(const bdbi_mlayout *L, const bdbi_mtable *t, const void *key, uint64_t hash,
                      bdbi_mprobe *p);

/* The writer's read of a cell's state. */
static inline uint64_t bdbi_mtable_state(const bdbi_mtable *t, uint64_t pos)
{
    return bdbi_ld(bdbi_mtable_cell(t, pos));
}

/* Makes room at p->pos for a new key (p from bdbi_mtable_find: not found,
 * fits), moving cells as needed. Then set the cell with is_new = 1. */
void bdbi_mtable_make_room(bdbi_mtable *t, const bdbi_mprobe *p);

/* Sets cell `pos` to key (written when `is_new`) at distance `dist` from
 * its home, with an inline slot list of n (0 or 1) elements. */
void bdbi_mtable_set_inline(const bdbi_mlayout *L, bdbi_mtable *t, uint64_t pos, const void *key,
                            int is_new, unsigned dist, const void *elem, size_t n);

/* Sets cell `pos` to key (written when `is_new`) at distance `dist`,
 * referring to data cell idx of class cls. */
void bdbi_mtable_set_data(const bdbi_mlayout *L, bdbi_mtable *t, uint64_t pos, const void *key,
                          int is_new, unsigned dist, unsigned cls, uint64_t idx);

/* Deletes the key in cell `pos`, moving the cells after it back. */
void bdbi_mtable_delete(bdbi_mtable *t, uint64_t pos);

/* Inserts every live cell of `from` into the empty, unpublished table
 * `to`. Returns 0, or BDB_EAGAIN if a key would land beyond its window
 * (the caller tries a bigger table). */
int bdbi_mtable_rebuild(const bdbi_mlayout *L, const bdbi_mtable *from, bdbi_mtable *to);

/* Live cells, and the sum and maximum of their distances from their home
 * cells. */
typedef struct bdbi_mtable_scan {
    uint64_t live, dist_sum, dist_max;
} bdbi_mtable_scan;

void bdbi_mtable_scan_stats(const bdbi_mlayout *L, const bdbi_mtable *t, bdbi_mtable_scan *out);

#endif
