/* Internal error helpers: set the calling thread's error detail and return
 * the code, so failures read `return bdbi_err(BDB_EINVAL, "...")`. */
#ifndef BDB_CORE_ERROR_H
#define BDB_CORE_ERROR_H

#include <stdint.h>

#include "bucketdb/bucketdb.h"

#if defined(__GNUC__)
#define BDBI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define BDBI_PRINTF(a, b)
#endif

/* Records `code` with a formatted message and returns `code`. */
int bdbi_err(int code, const char *fmt, ...) BDBI_PRINTF(2, 3);

/* Records an error about `path` at `offset` (-1: none). */
int bdbi_err_at(int code, const char *path, int64_t offset, const char *fmt, ...) BDBI_PRINTF(4, 5);

/* Records an error from a failed system call: maps `sys_errno` to a code
 * (ENOSPC -> BDB_ENOSPC, ENOMEM -> BDB_ENOMEM, EEXIST -> BDB_EEXIST,
 * ENOENT -> BDB_ENOTFOUND, anything else -> BDB_EIO) and returns it. */
int bdbi_err_sys(int sys_errno, const char *path, const char *fmt, ...) BDBI_PRINTF(3, 4);

/* The calling thread's error, kept aside while cleanup code that may
 * raise its own runs, then raised again (returns its code). */
typedef struct bdbi_err_saved {
    int code, sys_errno;
    int64_t offset;
    char path[4096];
    char msg[512];
} bdbi_err_saved;
void bdbi_err_save(bdbi_err_saved *s);
int bdbi_err_restore(const bdbi_err_saved *s);

#endif
