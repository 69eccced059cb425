/* The sharded bucket map's internal layout, shared by its files. */
#ifndef BDB_SHARDS_MAP_MSHARD_H
#define BDB_SHARDS_MAP_MSHARD_H

#include <pthread.h>
#include <stdatomic.h>

#include "bucketdb/map.h"
#include "map/mdata.h"
#include "map/mfile.h"
#include "map/mtable.h"
#include "core/tls.h"

typedef struct bdbi_mshard {
    /* read by readers: one cache line, written rarely */
    bdbi_mtable *table;                 /* RCU; NULL until the first write */
    bdbi_mdata *data[BDBI_MAP_CLASSES]; /* RCU; NULL: no file for the class */
    _Atomic uint32_t last_age;          /* map age when last touched */
    _Atomic int released;               /* released and not touched since */
    char
        pad[64 - 8 - sizeof(void *) * ((1 + BDBI_MAP_CLASSES) % 8)]; /* keep writers' lines apart */
    /* the writer's, under mu */
    pthread_mutex_t mu;
    _Atomic uint64_t count;  /* live entries (read lock-free) */
    _Atomic uint64_t mapped; /* bytes of its mappings */
    bdbi_mdata_alloc alloc[BDBI_MAP_CLASSES];
    uint64_t anticipated;
    uint64_t table_grows, data_grows;
    int dirty; /* changed since its files were last marked clean */
    uint32_t drive;
} bdbi_mshard;

typedef struct bdbi_mdiscard {
    uint32_t shard;
    char *path;
    char *reason;
} bdbi_mdiscard;

struct bdb_map {
    bdb_env *env;
    bdb_map_options opts;
    bdbi_mlayout L;
    unsigned shard_bits;
    char **drives;
    uint32_t n_drives;
    char *tmp_dir; /* a temporary drive this map created, removed at close */
    char *restart_path;
    uint64_t map_id;
    _Atomic uint64_t next_gen;
    _Atomic uint64_t total; /* entries, counted only with a max_size */
    _Atomic uint32_t age;
    _Atomic uint64_t releases;
    bdbi_mshard *shards;
    bdbi_mdiscard *discards;
    size_t n_discards, cap_discards;
    pthread_mutex_t flush_mu;   /* one flush at a time */
    pthread_mutex_t budget_mu;  /* one budget pass at a time */
    pthread_mutex_t discard_mu; /* discards recorded by parallel loads at open */
    /* the age thread */
    int age_thread_started, age_stop;
    pthread_t age_thread;
    pthread_mutex_t age_mu;
    pthread_cond_t age_cv;
};

/* Path of a shard's file (class BDBI_MFILE_TABLE for the table). */
int bdbi_mshard_path(const bdb_map *m, uint32_t shard, uint32_t cls, uint64_t gen, char *buf,
                     size_t cap);

/* The header fields every file of `shard` shares. */
bdbi_mfile_info bdbi_mshard_info(const bdb_map *m, uint32_t shard, uint32_t cls, uint64_t gen);

/* Notes that a reader or writer used the shard (for ages and the budget). */
static inline void bdbi_mshard_touch(bdb_map *m, bdbi_mshard *sh)
{
    uint32_t a = atomic_load_explicit(&m->age, memory_order_relaxed);
    if (atomic_load_explicit(&sh->last_age, memory_order_relaxed) != a)
        atomic_store_explicit(&sh->last_age, a, memory_order_relaxed);
    if (atomic_load_explicit(&sh->released, memory_order_relaxed))
        atomic_store_explicit(&sh->released, 0, memory_order_relaxed);
}

/* Thread-local depth of callbacks the map is running on this thread: no
 * write may start inside one (BDB_EBUSY), so a callback can never wait for
 * a shard lock its own thread, or another callback's, holds. */
extern BDBI_TLS_HOT int bdbi_map_in_callback;

/* Marks the shard's files not clean before its first change after open or
 * a flush (so a crash after it discards the shard). Under sh->mu. Inline:
 * every write asks, and all but the first find the shard already dirty. */
int bdbi_mshard_mark_dirty_slow(bdb_map *m, uint32_t shard);
static inline int bdbi_mshard_mark_dirty(bdb_map *m, uint32_t shard)
{
    return m->shards[shard].dirty ? 0 : bdbi_mshard_mark_dirty_slow(m, shard);
}

/* Syncs a dirty shard's files and marks them clean. Under sh->mu. */
int bdbi_mshard_flush(bdb_map *m, uint32_t shard);

/* Unmaps and frees every file of the shard (no reader may remain); with
 * `unlink_files` also deletes them. */
void bdbi_mshard_drop(bdb_map *m, uint32_t shard, int unlink_files);

/* Loads the shard's files named by the restart records (cls, gen pairs)
 * and checks them; on any failure deletes them all and records why. */
int bdbi_mshard_load(bdb_map *m, uint32_t shard, const bdbi_mrestart_rec *recs, size_t n);

/* Records a discarded file (path and reason are copied). */
int bdbi_map_discard(bdb_map *m, uint32_t shard, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Ages and the memory budget. */
void bdbi_map_enforce_budget(bdb_map *m, int wait);
int bdbi_map_age_thread_start(bdb_map *m);
void bdbi_map_age_thread_stop(bdb_map *m);

#endif
