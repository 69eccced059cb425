/* Scratch files: unnamed temporary files for data a computation spills
 * instead of holding in memory (an index builder's key hashes, for
 * instance). The file has no name from the start (O_TMPFILE, or a name
 * removed at once where the file system lacks it), so a crash leaves
 * nothing to clean up, and it is never fsync'd. Every operation asks the
 * environment's fault hook first (BDB_FS_OPEN, BDB_FS_WRITE). */
#ifndef BDB_CORE_SCRATCH_H
#define BDB_CORE_SCRATCH_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"

typedef struct bdbi_scratch bdbi_scratch;

/* Creates an empty scratch file in the directory `dir` (which errors
 * name). BDB_EIO and others from the system, BDB_ENOMEM. */
int bdbi_scratch_open(bdb_env *env, const char *dir, bdbi_scratch **out);

/* Appends buf[0..n) at the end of the file. After a failure the file is
 * poisoned: later appends fail with the same code. */
int bdbi_scratch_append(bdbi_scratch *s, const void *buf, size_t n);

/* Bytes appended so far. */
uint64_t bdbi_scratch_size(const bdbi_scratch *s);

/* Reads buf[0..n) from offset `off`, which with n must lie inside what was
 * appended (BDB_EINVAL otherwise); a short read is BDB_EIO. */
int bdbi_scratch_read(bdbi_scratch *s, uint64_t off, void *buf, size_t n);

/* Closes the file, which frees its space. NULL is a no-op. */
void bdbi_scratch_close(bdbi_scratch *s);

#endif
