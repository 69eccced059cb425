/* The sharded BucketList store: internal layout shared by its files.
 *
 * A bucket is kept as one or more files whose concatenation is
 * stellar-core's canonical bucket file (METAENTRY first), plus, for each
 * shard, the byte range of its entries (its piece). Small buckets are one
 * file (named exactly as stellar-core names it) holding every piece; large
 * merges write one file per non-empty piece, in parallel. The bucket hash
 * is SHA-256 over the files in order. */
#ifndef BDB_LIST_STORE_H
#define BDB_LIST_STORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "bucketdb/list.h"

#include "bucket/bucket.h"
#include "cache/cache.h"
#include "core/fs.h"
#include "core/pool.h"
#include "core/rcu.h"
#include "core/sha256.h"
#include "index/index.h"
#include "mergemap.h"

#define BDBI_FILE_NAME_MAX 96

typedef struct bdbi_lfile {
    char name[BDBI_FILE_NAME_MAX]; /* in the store directory */
    uint64_t size;
    uint64_t xxh; /* XXH3-64 of the bytes */
    /* the read side, set before the bucket is published and kept while
     * it lives: the file mapped, its index, and (paged live files, sized
     * by the writer after the file enters the list) its entry cache */
    bdbi_map map;
    bdbi_index *idx;
    _Atomic(bdbi_cache *) cache;
    int cache_sized; /* the writer's */
} bdbi_lfile;

/* A shard's piece: bytes [begin, end) of files[file]; file -1 = no entries. */
typedef struct bdbi_lrange {
    int32_t file;
    uint64_t begin, end;
} bdbi_lrange;

/* A stored bucket. Immutable once registered; freed when the last
 * reference goes. The empty bucket is NULL. */
typedef struct bdbi_lbucket {
    _Atomic long refs;
    struct bdbi_lbucket *reg_next; /* registry chain (under reg_mu) */
    uint8_t hash[32];
    int hot;
    uint32_t protocol; /* METAENTRY ledgerVersion, 0 without one */
    uint64_t records;  /* including the METAENTRY */
    uint64_t bytes;
    uint32_t n_files;
    bdbi_lfile *files;
    uint32_t n_shards;
    bdbi_lrange *ranges; /* [n_shards] */
} bdbi_lbucket;

typedef struct bdbi_pmerge bdbi_pmerge;

typedef struct bdbi_level {
    bdbi_lbucket *curr, *snap;
    bdbi_pmerge *next; /* NULL: clear */
} bdbi_level;

typedef struct bdbi_llist {
    int hot;
    bdbi_level levels[BDB_LIST_LEVELS];
} bdbi_llist;

struct bdb_list_view {
    _Atomic long refs;
    struct rcu_head rcu;
    bdb_list *list;
    uint32_t ledger, protocol;
    bdbi_lbucket *live[BDB_LIST_LEVELS][2], *hot[BDB_LIST_LEVELS][2];
    bdb_list_state state;
};

struct bdb_list {
    bdb_env *env;
    char *dir;
    bdbi_dirlock *lock;
    bdb_list_options opts;
    uint32_t n_shards;
    bdb_bytes *bounds; /* n_shards - 1 sort keys (data owned) */
    uint64_t seed;     /* key-hash seed of the indexes built by this handle */

    /* registry of stored buckets by hash, running merges, merge map and
     * merge counters; taken by merge tasks when they finish */
    pthread_mutex_t reg_mu;
    bdbi_lbucket **reg;
    size_t reg_cap, reg_n;
    bdbi_pmerge **running;
    size_t running_n, running_cap;
    bdbi_mergemap *mergemap;
    bdb_merge_counters counters[2];

    /* the writer's state */
    uint32_t ledger, protocol;
    bdbi_llist live, hot;
    int poisoned;
    uint32_t manifest_ledger; /* ledger of the newest durable manifest, 0: none */
    struct {
        int set;
        uint32_t ledger, protocol;
        bdbi_fresh_mem *fresh;
    } staged_hot;

    /* where the last add_batch spent its time, for benchmarks */
    struct {
        uint64_t merge_wait_ns; /* committing merges that were not finished */
        uint64_t level0_ns;     /* the synchronous level-0 merges */
        uint64_t manifest_ns;   /* the manifest, written durably */
        uint64_t gc_ns;         /* publication of the view and GC */
    } last;

    /* background deletions of GC'd files (writer's) */
    bdbi_future **gc_futs;
    size_t gc_n, gc_cap;

    bdb_list_view *view; /* RCU-published current view */
    _Atomic long user_views;
    _Atomic int stop; /* merges stop (close) */
};

/* ---- buckets (lbucket.c) ---- */
bdbi_lbucket *bdbi_lbucket_ref(bdbi_lbucket *b);
void bdbi_lbucket_unref(bdb_list *l, bdbi_lbucket *b);
const uint8_t *bdbi_lbucket_hash(const bdbi_lbucket *b); /* zeros for NULL */
/* Registry (caller holds reg_mu). find returns a new reference or NULL. */
bdbi_lbucket *bdbi_reg_find(bdb_list *l, const uint8_t hash[32]);
int bdbi_reg_insert(bdb_list *l, bdbi_lbucket *b);
/* Path of one of a bucket's files. */
int bdbi_lbucket_path(const bdb_list *l, const bdbi_lbucket *b, uint32_t file, char *out,
                      size_t cap);
/* The merge source for shards [k0, k1) of b, which must lie in one file
 * contiguously (bdbi_lbucket_span tells how far they do). */
uint32_t bdbi_lbucket_span(const bdbi_lbucket *b, uint32_t k0, uint32_t k1);
int bdbi_lbucket_src(const bdb_list *l, const bdbi_lbucket *b, uint32_t k0, uint32_t k1, char *path,
                     size_t cap, bdbi_merge_src *src);
/* Adopts written files as a bucket (under reg_mu): if the registry has the
 * hash, drops the files and returns the registered bucket; else names and
 * commits them (a piece given as `src`, a committed file elsewhere, is
 * linked or copied in) and registers a new bucket. Takes ownership of the
 * files and indexes, never of `src`. */
typedef struct bdbi_written {
    bdbi_file *file; /* NULL: no records in this piece, or see src */
    const char *src; /* with file NULL: a finished file holding the piece */
    uint64_t size, xxh, records;
    uint64_t *starts; /* unsplit: n_shards + 1 entries; else NULL */
    uint64_t meta_bytes;
    bdbi_index *index; /* built while writing; adopt takes it */
} bdbi_written;
/* Aborts the files and frees the indexes of written pieces. */
void bdbi_written_drop(bdb_env *env, bdbi_written *pieces, uint32_t n);
int bdbi_lbucket_adopt(bdb_list *l, int hot, uint32_t protocol, const uint8_t hash[32],
                       bdbi_written *pieces, uint32_t n_pieces, int split, bdbi_lbucket **out);
/* assumeState on the open, empty store l (stellar-core's assumeState and
 * restartMerges): each bucket the HAS names is taken from the registry or
 * imported from bucket_dir (plain or gzipped; NULL: all must be
 * registered); then the manifest is written and the view published. On
 * failure nothing durable is written and the store stays empty. */
struct bdbi_has;
int bdbi_list_assume(bdb_list *l, const struct bdbi_has *h, const char *bucket_dir);

/* Thread CPU time of ingests, by stage (ns). */
typedef struct bdbi_ingest_cost {
    uint64_t inflate, sha, check_index, write;
} bdbi_ingest_cost;

/* One pass over the bucket `src` (plain or gzip): every record framed and
 * checked as the reader does, SHA-256 compared with `expected`
 * (BDB_ECORRUPT naming `src` and what it does hash to), the shard starts
 * noted and the index built, and, with `dest`, the canonical bytes written
 * to a temporary file next to `dest` (left uncommitted in w->file, named
 * `dest`). Without `dest`, `src` must be plain: it is the file. Fills *w
 * (starts allocated for n_shards + 1; free with bdbi_ingested_free) and
 * *protocol. Memory: the stream's few MiB and the index being built. */
int bdbi_lbucket_ingest(bdb_list *l, const char *src, int hot, const uint8_t expected[32],
                        const char *dest, bdbi_written *w, uint32_t *protocol,
                        bdbi_ingest_cost *cost);
/* Aborts the file and frees the index and starts of an ingest's result. */
void bdbi_ingested_free(bdb_list *l, bdbi_written *w);

/* Imports the bucket file `src`, plain or gzip, (validated, hash checked
 * against `expected`, BDB_ECORRUPT naming it otherwise) in one pass as a
 * registered bucket of the store; an already registered hash is reused. */
int bdbi_lbucket_import(bdb_list *l, const char *src, int hot, const uint8_t expected[32],
                        bdbi_lbucket **out);
/* Completes n buckets built from their manifest descriptions, their files
 * in parallel on the pool, the largest first: each file is checked against
 * its size and checksum, mapped and indexed (its index file loaded when
 * valid, otherwise rebuilt and rewritten). */
int bdbi_lbucket_load_all(bdb_list *l, bdbi_lbucket **tab, uint32_t n);
/* A file's read side (lfile.c): map it (after it has its name), free
 * what the bucket holds for it, write its page index file if the store
 * persists them. */
int bdbi_lfile_map(bdb_list *l, const bdbi_lbucket *b, uint32_t f, bdbi_lfile *lf);
void bdbi_lfile_release(bdb_env *env, bdbi_lfile *lf);
void bdbi_lfile_persist_index(bdb_list *l, const bdbi_lbucket *b, uint32_t f);
/* The index parameters of this store for the live (hot 0) or hot list. */
void bdbi_list_index_params(const bdb_list *l, int hot, bdbi_index_params *p);
/* Path of a bucket file's persisted index (".xdr" -> ".index"). */
int bdbi_lbucket_index_path(const bdb_list *l, const bdbi_lbucket *b, uint32_t file, char *out,
                            size_t cap);
/* Sizes the entry caches of the current list's paged live files that have
 * none yet (spec §8), from the cached types' bytes over the whole list. */
void bdbi_list_size_caches(bdb_list *l);

/* ---- merges (pmerge.c) ---- */
typedef struct bdbi_merge_inputs {
    int hot, level;
    int keep_tombstones;
    int level0; /* the level-0 protocol rule */
    uint32_t max_protocol;
    uint32_t start_ledger;
    bdbi_lbucket *curr, *snap; /* borrowed; the merge takes references */
    bdbi_lbucket **shadows;
    size_t n_shadows;
} bdbi_merge_inputs;

/* Starts (or reattaches to) the merge; *out holds a reference. */
int bdbi_pmerge_start(bdb_list *l, const bdbi_merge_inputs *in, bdbi_pmerge **out);
/* A merge whose output is already known (a manifest's or HAS's state 1). */
int bdbi_pmerge_done(bdb_list *l, int hot, int level, bdbi_lbucket *output, bdbi_pmerge **out);
/* Waits for the merge and returns its output (a new reference, NULL for
 * the empty bucket). */
int bdbi_pmerge_resolve(bdbi_pmerge *m, bdbi_lbucket **out);
/* Finished without error (never blocks). */
int bdbi_pmerge_finished(bdbi_pmerge *m);
void bdbi_pmerge_unref(bdbi_pmerge *m);
const bdbi_merge_inputs *bdbi_pmerge_inputs(const bdbi_pmerge *m);
/* Output if finished, else NULL (no reference taken). */
bdbi_lbucket *bdbi_pmerge_output(bdbi_pmerge *m, int *finished);
/* Waits for every task of the merge (after l->stop for close). */
void bdbi_pmerge_wait(bdbi_pmerge *m);
/* The level-0 merge, synchronous: merge(curr, fresh) with the level-0 rule. */
int bdbi_merge_level0(bdb_list *l, int hot, bdbi_lbucket *curr, const bdbi_mem_bucket *fresh,
                      uint32_t protocol, bdbi_lbucket **out);

/* ---- manifest (manifest.c) ---- */
int bdbi_manifest_write(bdb_list *l);
int bdbi_manifest_load(bdb_list *l, int *found);

/* ---- views (view.c) ---- */
int bdbi_view_publish(bdb_list *l);
void bdbi_state_compute(const bdb_list *l, bdb_list_state *st);
void bdbi_view_retire(bdb_list *l);

/* ---- store (store.c) ---- */
int bdbi_list_gc(bdb_list *l);
/* Waits for the background deletions GC started (all, or with `done_only`
 * just releases those that finished). */
void bdbi_list_gc_wait(bdb_list *l, int done_only);
/* Removes temporary files, bucket files no registered bucket uses and
 * manifests other than MANIFEST-<keep_ledger>. */
int bdbi_list_cleanup(bdb_list *l, uint32_t keep_ledger);
void bdbi_counters_add(bdb_merge_counters *to, const bdb_merge_counters *from);
/* 0, or BDB_EINVAL saying the store was opened read-only, so that `what`
 * (the public call) is refused before it touches anything. */
int bdbi_list_refuse_read_only(const bdb_list *l, const char *what);
int bdbi_list_new(bdb_env *env, const char *dir, const bdb_list_options *opts, bdb_list **out);
int bdbi_list_restart_merges(bdb_list *l, bdbi_llist *list);

#endif
