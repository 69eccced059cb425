/* Read-write shared mappings of files the library changes in place (the
 * bucket map's tables and data files). The files' blocks are allocated
 * when they are created or extended (posix_fallocate, then zeros written
 * in 2 MiB pieces), so a store through the mapping never finds the disk
 * full: that would be a SIGBUS, not an error. Each operation asks the environment's fault hook
 * first. No file descriptor stays open: a map with thousands of shards would run out. */
#ifndef BDB_CORE_RWMAP_H
#define BDB_CORE_RWMAP_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"

typedef struct bdbi_rwmap {
    uint8_t *data; /* NULL when unmapped */
    size_t len;
} bdbi_rwmap;

/* Creates the file `path` (it must not exist: BDB_EEXIST) with `len` > 0
 * bytes, all allocated and zero, and maps it with every page faulted in
 * writable. On failure nothing is left under `path`. */
int bdbi_rwmap_create(bdb_env *env, const char *path, size_t len, bdbi_rwmap *out);

/* Maps the existing regular file `path` read-write (len = its size; an
 * empty file is BDB_EFORMAT). */
int bdbi_rwmap_open(bdb_env *env, const char *path, bdbi_rwmap *out);

/* Extends the file `path` to `len` bytes (allocated, zero) and maps all of
 * it into *out, the new part faulted in writable. Mappings of its old size
 * stay valid. */
int bdbi_rwmap_extend(bdb_env *env, const char *path, size_t len, bdbi_rwmap *out);

/* Writes [off, off+len) of the mapping back to the file and waits
 * (msync MS_SYNC; the fault hook's BDB_FS_FSYNC on `path`). */
int bdbi_rwmap_sync(bdb_env *env, const bdbi_rwmap *m, const char *path, size_t off, size_t len);

/* Releases the mapping's pages to the kernel (MADV_PAGEOUT where the
 * kernel has it, else MADV_DONTNEED); the contents stay in the file and
 * come back on the next access. */
void bdbi_rwmap_release(const bdbi_rwmap *m);

/* Bytes of the mapping in the page cache (mincore). */
uint64_t bdbi_rwmap_resident(const bdbi_rwmap *m);

/* Unmaps; a zeroed map is a no-op. */
void bdbi_rwmap_unmap(bdbi_rwmap *m);

#endif
