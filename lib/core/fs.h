/* File-system helpers. Every file the library writes goes through them:
 * files are created under a temporary name in their final directory,
 * written, fsync'd, renamed into place and the directory fsync'd, so a
 * crash leaves either the old state or the complete new file. Each
 * operation first asks the environment's fault hook, so tests can make any
 * of them fail. */
#ifndef BDB_CORE_FS_H
#define BDB_CORE_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bucketdb/bucketdb.h"

/* Flags for bdbi_file_create() and bdbi_fs_write_file(). */
enum {
    BDBI_FS_NOSYNC = 1 << 0,    /* skip the fsyncs (tests and scratch files only) */
    BDBI_FS_NOREPLACE = 1 << 1, /* commit fails with BDB_EEXIST if the final name exists */
    /* commit does not fsync the directory: the caller renames several files
     * and fsyncs the directory once (bdbi_fs_fsync_dir), and handles its
     * failure */
    BDBI_FS_NODIRSYNC = 1 << 2,
};

/* A file being written under a temporary name. */
typedef struct bdbi_file bdbi_file;

/* Starts writing the file `path`: creates a temporary file next to it
 * (same directory, name starting with ".tmp-"), with a write buffer of
 * `buf_size` bytes (0 = 256 KiB). */
int bdbi_file_create(bdb_env *env, const char *path, int flags, size_t buf_size, bdbi_file **out);

/* Appends `n` bytes. After a failure the file is poisoned: later writes
 * and the commit fail with the same code. */
int bdbi_file_write(bdbi_file *f, const void *buf, size_t n);

/* Changes the name the file will get at commit, for files named after
 * their content (a bucket's hash is known only when it is written). The new
 * path must be in the same directory. */
int bdbi_file_set_path(bdbi_file *f, const char *path);

/* Bytes appended so far. */
uint64_t bdbi_file_size(const bdbi_file *f);

/* Writes the buffered bytes to the temporary file, so that they can be
 * read back through bdbi_file_tmp_path() before the commit. */
int bdbi_file_flush(bdbi_file *f);

/* Flushes and fsyncs the file's data now (unless BDBI_FS_NOSYNC), so that
 * a later bdbi_file_commit() of the unchanged file only renames: the slow
 * part can run outside the caller's locks. */
int bdbi_file_sync(bdbi_file *f);

/* The temporary file's path (valid until commit or abort). */
const char *bdbi_file_tmp_path(const bdbi_file *f);

/* Flushes, fsyncs, renames the file to its final name and fsyncs the
 * directory. Frees `f` whether it succeeds or not; on failure the
 * temporary file is removed and nothing exists under the final name
 * unless it existed before. */
int bdbi_file_commit(bdbi_file *f);

/* Abandons the file: removes the temporary file and frees `f`. NULL is a
 * no-op. */
void bdbi_file_abort(bdbi_file *f);

/* Writes `n` bytes as the file `path` atomically (create, write, commit). */
int bdbi_fs_write_file(bdb_env *env, const char *path, const void *buf, size_t n, int flags);

/* Reads the whole file `path` into a new buffer of *len bytes (free it
 * with bdbi_free(env, cat, buf, *len ? *len : 1)). Files larger than
 * `max_len` fail with BDB_EFORMAT naming the file. */
int bdbi_fs_read_file(bdb_env *env, bdb_mem_category cat, const char *path, size_t max_len,
                      void **buf, size_t *len);

/* Returns 1 if `name` (a file name, not a path) is a temporary name made
 * by bdbi_file_create(), so that stores can remove leftovers of a crash. */
int bdbi_fs_is_tmp_name(const char *name);

/* Creates `path` and missing parents (mode 0755) and fsyncs the parent of
 * each directory it creates. Existing directories are fine. */
int bdbi_fs_mkdirs(bdb_env *env, const char *path);

/* Removes the file `path`; a missing file is not an error. */
int bdbi_fs_unlink(bdb_env *env, const char *path);

/* Renames the file `path` to a new temporary name in its directory
 * (stored in `trash`, capacity `cap`; "" if `path` did not exist), so
 * that it can be unlinked later, off a latency-sensitive path, without
 * the risk of removing a file created under the old name meanwhile.
 * Leftover trash is a temporary name: stores remove it at open. */
int bdbi_fs_retire(bdb_env *env, const char *path, char *trash, size_t cap);

/* A new temporary name for `path` (same directory, a name
 * bdbi_fs_is_tmp_name() recognises, with `tag` before the file's name) into
 * buf; BDB_EINVAL if it does not fit in `cap` bytes. */
int bdbi_fs_tmp_name(bdb_env *env, const char *path, const char *tag, char *buf, size_t cap);

/* Renames `from` to `to` (replacing it), asking the fault hook first. Does
 * not fsync the directory. */
int bdbi_fs_rename(bdb_env *env, const char *from, const char *to);

/* Gives the committed file `from` the second name `to` (replacing a file
 * there) without copying: a hard link made under a temporary name and
 * renamed into place, so `to` never holds part of a file. Where the two
 * are on different file systems (or links are not supported) the bytes
 * are copied through bdbi_file_create (`flags` as for it). Does not fsync
 * `to`'s directory unless copying without BDBI_FS_NODIRSYNC. */
int bdbi_fs_link_or_copy(bdb_env *env, const char *from, const char *to, int flags);

/* fsyncs the directory `path`. */
int bdbi_fs_fsync_dir(bdb_env *env, const char *path);

/* A read-only memory mapping of a whole file. */
typedef struct bdbi_map {
    const uint8_t *data; /* NULL when the file is empty */
    size_t len;
} bdbi_map;

enum {
    BDBI_ADV_NORMAL = 0,
    BDBI_ADV_SEQUENTIAL, /* read front to back: aggressive read-ahead */
    BDBI_ADV_RANDOM,     /* point lookups: no read-ahead */
    BDBI_ADV_WILLNEED,   /* start reading the range in now */
    BDBI_ADV_DONTNEED,   /* the range will not be needed soon */
};

/* Maps the file `path` read-only with `advice` for the whole file. */
int bdbi_mmap_file(bdb_env *env, const char *path, int advice, bdbi_map *out);

/* Gives `advice` for bytes [off, off+len) of the mapping (clamped to the
 * mapping; page-aligned internally). Advice is a hint: failures are
 * ignored. */
void bdbi_map_advise(const bdbi_map *m, size_t off, size_t len, int advice);

/* Unmaps; a zeroed map is a no-op. */
void bdbi_munmap(bdbi_map *m);

/* A lock on a directory, held through an open file description of
 * "<dir>/bucketdb.lock" (F_OFD_SETLK: it conflicts across processes and
 * across handles of one process, and the kernel drops it if the holder
 * dies). Exclusive for writers, who write their pid into the file;
 * shared for read-only handles, which write nothing. */
typedef struct bdbi_dirlock bdbi_dirlock;

/* Locks `dir` exclusively (creating the lock file) and writes our pid into
 * the lock file. If another holder has it, returns BDB_ELOCKED: an
 * exclusive holder's pid is in the message and in *holder (0 if it could
 * not be read); shared holders are named as such, with *holder 0.
 * `holder` may be NULL. */
int bdbi_dirlock_acquire(bdb_env *env, const char *dir, bdbi_dirlock **out, pid_t *holder);

/* Locks `dir` shared, for a handle that only reads it: shared holders
 * coexist, and conflict with an exclusive holder either way round. Opens
 * the lock file read-only; never creates or writes anything. An exclusive
 * holder in the way is BDB_ELOCKED with its pid in the message and in
 * *holder. If `dir` has no lock file no writer ever opened it: returns 0
 * with *out NULL, holding nothing (a writer coming later is not kept out).
 * A missing `dir` is BDB_ENOTFOUND. */
int bdbi_dirlock_acquire_shared(bdb_env *env, const char *dir, bdbi_dirlock **out, pid_t *holder);

/* Releases the lock (the lock file stays). NULL is a no-op. */
void bdbi_dirlock_release(bdbi_dirlock *l);

/* Asks the fault hook about `op` on `path`: returns 0 or the errno to
 * fail with (and counts it). Exposed for modules whose own system calls
 * must be injectable too. */
int bdbi_fs_fault(bdb_env *env, bdb_fs_op op, const char *path);

#endif
