/* A data file of the bucket map: the slot lists of one size class of one
 * shard (docs/map-files.md). A bdbi_mdata is one mapping of the file; a
 * growth extends the file and publishes a new mapping, and the old one is
 * unmapped after an RCU grace period, so cell indexes never change. The
 * allocation state (free list, high-water mark) belongs to the shard's
 * writer and lives outside, in bdbi_mdata_alloc. */
#ifndef BDB_MAP_MDATA_H
#define BDB_MAP_MDATA_H

#include <stdint.h>
#include <urcu/urcu-memb.h>

#include "core/rwmap.h"
#include "mcell.h"
#include "mfile.h"

typedef struct bdbi_mdata {
    bdbi_rwmap m;
    uint8_t *cells;
    uint64_t cap;
    uint64_t cell_size;
    unsigned cls;
    bdb_env *env;
    struct rcu_head rcu;
} bdbi_mdata;

/* The writer's view of a class's free space. */
typedef struct bdbi_mdata_alloc {
    uint64_t free_head; /* index + 1 of the first free cell, 0 = none */
    uint64_t high;      /* cells at or above are unused and not listed */
    uint64_t used;      /* cells holding a slot list */
    uint64_t gen;       /* the file's generation */
} bdbi_mdata_alloc;

/* Creates the data file `path` of class `cls` with `cap` cells and a
 * header from `info` (clean 0), and maps it. */
int bdbi_mdata_create(bdb_env *env, const char *path, const bdbi_mlayout *L, unsigned cls,
                      uint64_t cap, const bdbi_mfile_info *info, bdbi_mdata **out);

/* Extends the file `path` (whose mapping is `d`) to `cap` cells and maps
 * it anew into *out. */
int bdbi_mdata_extend(bdb_env *env, const char *path, const bdbi_mdata *d, uint64_t cap,
                      bdbi_mdata **out);

/* Wraps an existing mapping (whose header was checked) as a bdbi_mdata;
 * takes ownership of `m`. */
int bdbi_mdata_adopt(bdb_env *env, bdbi_rwmap *m, const bdbi_mfile_info *info, bdbi_mdata **out);

/* Unmaps and frees now / after a grace period. */
void bdbi_mdata_free(bdbi_mdata *d);
void bdbi_mdata_free_rcu(bdbi_mdata *d);

static inline uint8_t *bdbi_mdata_cell(const bdbi_mdata *d, uint64_t idx)
{
    return d->cells + idx * d->cell_size;
}

/* Takes a cell for a slot list: from the free list, else at the high-water
 * mark. Returns 1 and *idx, or 0 when the file is full. */
int bdbi_mdata_take(const bdbi_mdata *d, bdbi_mdata_alloc *a, uint64_t *idx);

/* Writes the slot list into cell idx (which no published state refers
 * to). */
void bdbi_mdata_write(const bdbi_mlayout *L, const bdbi_mdata *d, uint64_t idx, const void *slots,
                      size_t n, uint64_t ref_count);

/* Returns cell idx to the free list. */
void bdbi_mdata_release(bdbi_mdata *d, bdbi_mdata_alloc *a, uint64_t idx);

/* Checks the allocation state of a data file at open: every cell below
 * `high` is in use or on the free list, exactly once; the counts match the
 * header. Returns NULL or a static reason. */
const char *bdbi_mdata_check(const bdbi_mlayout *L, const bdbi_mdata *d,
                             const bdbi_mfile_info *info);

#endif
