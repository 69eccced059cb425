/*
 * bucketdb — account state storage for blockchain validators.
 *
 * This header holds what every other bucketdb header builds on: the
 * environment (thread pool, allocator, statistics), error codes and the
 * per-thread error detail, and the library version.
 *
 * Conventions for the whole API:
 * - Functions return 0 on success or a negative BDB_E* code. On failure the
 *   calling thread's error detail (bdb_errmsg(), bdb_last_error()) says what
 *   went wrong: which option, file, offset and what was expected.
 * - Handles are opaque. Options structs are filled with defaults by their
 *   _init() function before the caller changes fields.
 * - Any thread may call into the library. A thread is registered with
 *   liburcu (memb flavour) on its first call that needs it and unregistered
 *   when it exits, so callers must not register the same thread with that
 *   flavour themselves.
 */
#ifndef BUCKETDB_BUCKETDB_H
#define BUCKETDB_BUCKETDB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(BDB_BUILDING_LIBRARY) && defined(__GNUC__)
#define BDB_API __attribute__((visibility("default")))
#else
#define BDB_API
#endif

/* ------------------------------------------------------------------ */
/* Version                                                            */
/* ------------------------------------------------------------------ */

#define BDB_VERSION_MAJOR 0
#define BDB_VERSION_MINOR 1
#define BDB_VERSION_PATCH 0

/* Returns the version string of the linked library, e.g. "0.1.0". */
BDB_API const char *bdb_version(void);

/* ------------------------------------------------------------------ */
/* Errors                                                             */
/* ------------------------------------------------------------------ */

/* Error codes. Values are part of the ABI and never change. */
enum {
    BDB_OK = 0,
    BDB_EINVAL = -1,     /* an argument or option is out of range */
    BDB_ENOMEM = -2,     /* an allocation failed */
    BDB_EIO = -3,        /* the operating system reported an I/O error */
    BDB_ENOSPC = -4,     /* no space left on a device */
    BDB_EFORMAT = -5,    /* input bytes do not follow the expected format */
    BDB_ECORRUPT = -6,   /* stored data fails its checksum or hash */
    BDB_ELOCKED = -7,    /* another process or handle holds the lock */
    BDB_ENOTFOUND = -8,  /* a named object does not exist */
    BDB_EEXIST = -9,     /* an object that must be new already exists */
    BDB_ESHUTDOWN = -10, /* the component is shutting down or shut down */
    BDB_ECANCELED = -11, /* the operation was canceled */
    BDB_EAGAIN = -12,    /* not ready yet; try again later */
    BDB_EBUSY = -13,     /* the object is still in use */
    BDB_EPROTOCOL = -14, /* not allowed at this protocol version */
    BDB_EINTERNAL = -15, /* an internal invariant failed (a bug) */
    BDB_EFULL = -16      /* a configured size limit is reached */
};

/* Returns a static English description of a BDB_E* code ("unknown error"
 * for values that are not codes). Never returns NULL. */
BDB_API const char *bdb_strerror(int code);

/* Detail of the last error raised on the calling thread. */
typedef struct bdb_error {
    int code;         /* BDB_E* code, 0 if no error has been raised */
    int sys_errno;    /* errno from the operating system, or 0 */
    int64_t offset;   /* byte offset in `path`, or -1 when not relevant */
    const char *path; /* file the error concerns, or "" */
    const char *msg;  /* what went wrong and what was expected */
} bdb_error;

/* Fills *out with the calling thread's last error. The strings stay valid
 * until the next library call on this thread. */
BDB_API void bdb_last_error(bdb_error *out);

/* Returns the calling thread's last error as one line of text, e.g.
 * "corrupt data: store/x.idx at offset 4096: checksum mismatch". Returns ""
 * when no error was raised. Valid until the next library call on this
 * thread. */
BDB_API const char *bdb_errmsg(void);

/* Forgets the calling thread's last error. */
BDB_API void bdb_clear_error(void);

/* ------------------------------------------------------------------ */
/* Memory categories                                                  */
/* ------------------------------------------------------------------ */

/* What library memory is used for; bdb_env_stats() reports bytes per
 * category. Values are part of the ABI; new ones are added before
 * BDB_MEM__COUNT. */
typedef enum bdb_mem_category {
    BDB_MEM_CORE = 0, /* environment, error and file-system helpers */
    BDB_MEM_POOL,     /* thread pool tasks and futures */
    BDB_MEM_XDR,      /* keys and decoded ledger data */
    BDB_MEM_BUCKET,   /* bucket writers, readers and merge buffers */
    BDB_MEM_INDEX,    /* bucket indexes and filters */
    BDB_MEM_CACHE,    /* entry caches */
    BDB_MEM_LIST,     /* BucketList levels, views and manifests */
    BDB_MEM_MAP,      /* bucket map shards and tables */
    BDB_MEM_ARCHIVE,  /* history archive work */
    BDB_MEM_OTHER,
    BDB_MEM__COUNT
} bdb_mem_category;

/* Returns the name of a category ("core", "pool", ...) or "unknown". */
BDB_API const char *bdb_mem_category_name(int category);

/* ------------------------------------------------------------------ */
/* File-system fault injection                                        */
/* ------------------------------------------------------------------ */

/* Operations that every file write in the library goes through. */
typedef enum bdb_fs_op {
    BDB_FS_OPEN = 0, /* creating or opening a file for writing */
    BDB_FS_WRITE,
    BDB_FS_FSYNC, /* fsync of a file or a directory */
    BDB_FS_RENAME,
    BDB_FS_MMAP,
    BDB_FS_UNLINK,
    BDB_FS_MKDIR,
    BDB_FS__COUNT
} bdb_fs_op;

/* Returns the name of an operation ("open", "write", ...) or "unknown". */
BDB_API const char *bdb_fs_op_name(int op);

/* Called before each file-system operation of the environment with the
 * operation and the path it concerns. Returning 0 lets it proceed;
 * returning an errno value (ENOSPC, EIO, ...) makes the library act as if
 * the system call had failed with it. It may be called from any library
 * thread at the same time, so it must be thread-safe. */
typedef int (*bdb_fault_fn)(void *ctx, bdb_fs_op op, const char *path);

/* ------------------------------------------------------------------ */
/* Environment                                                        */
/* ------------------------------------------------------------------ */

/* An environment owns the thread pool, the allocator arena and the
 * statistics shared by the stores opened in it. */
typedef struct bdb_env bdb_env;

#define BDB_MAX_THREADS 1024

typedef struct bdb_env_options {
    /* Worker threads of the pool; 0 means the number of online CPUs.
     * Range 0..BDB_MAX_THREADS. */
    unsigned threads;
    /* Allocate from a jemalloc arena private to this environment when
     * the library was built with jemalloc (default 1). 0 uses the
     * process malloc. Ignored in builds without jemalloc. */
    int use_jemalloc_arena;
    /* Queued pool tasks allowed before submission fails with BDB_EAGAIN;
     * 0 means no limit (default). */
    size_t max_queued_tasks;
    /* Fault-injection hook for tests (default NULL). */
    bdb_fault_fn fault_hook;
    void *fault_ctx;
} bdb_env_options;

/* Fills *opts with the defaults documented on each field. */
BDB_API void bdb_env_options_init(bdb_env_options *opts);

/* Opens an environment with `opts` (NULL = defaults) and stores it in
 * *out. Starts the pool's worker threads and, with jemalloc, creates the
 * environment's arena. Returns BDB_EINVAL naming the option when one is
 * out of range, BDB_ENOMEM or BDB_EIO (thread creation failed). */
BDB_API int bdb_env_open(const bdb_env_options *opts, bdb_env **out);

/* Closes an environment: queued pool tasks are canceled, running ones are
 * finished, worker threads are joined, pending RCU callbacks are run, and
 * all memory is released. Every store opened in `env` must be closed
 * first; otherwise returns BDB_EBUSY and leaves `env` open. NULL is
 * accepted and ignored. */
BDB_API int bdb_env_close(bdb_env *env);

/* Number of worker threads in the environment's pool. */
BDB_API unsigned bdb_env_threads(const bdb_env *env);

typedef struct bdb_mem_stats {
    uint64_t bytes;      /* currently allocated */
    uint64_t peak_bytes; /* high-water mark of `bytes` */
    uint64_t allocs;     /* allocations made */
    uint64_t frees;      /* allocations released */
} bdb_mem_stats;

typedef struct bdb_pool_stats {
    unsigned threads;
    uint64_t queued;    /* tasks waiting to run now */
    uint64_t running;   /* tasks running now */
    uint64_t submitted; /* tasks accepted since open */
    uint64_t completed; /* tasks that ran to completion */
    uint64_t canceled;  /* tasks canceled before they ran */
} bdb_pool_stats;

typedef struct bdb_stats {
    bdb_mem_stats mem[BDB_MEM__COUNT]; /* indexed by bdb_mem_category */
    bdb_mem_stats mem_total;           /* sum over categories */
    bdb_pool_stats pool;
    /* Bytes jemalloc holds for the environment's arena (active pages),
     * 0 when the arena is not used. */
    uint64_t arena_active_bytes;
    /* Faults injected by the fault hook, per bdb_fs_op. */
    uint64_t faults_injected[BDB_FS__COUNT];
} bdb_stats;

/* Fills *out with a snapshot of the environment's counters. Each counter
 * is read atomically; the set is not a single consistent cut. Cost: a few
 * hundred atomic loads and one mallctl call with jemalloc. */
BDB_API int bdb_env_stats(bdb_env *env, bdb_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* BUCKETDB_BUCKETDB_H */
