/* Unnamed scratch files (scratch.h). */
#include "config.h"

#include "scratch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "env.h"
#include "error.h"
#include "fs.h"

struct bdbi_scratch {
    bdb_env *env;
    int fd;
    int err; /* the first failed append's code */
    uint64_t size;
    char *dir;
};

/* Where O_TMPFILE is missing (old kernels, some file systems), a named
 * file removed at once: the same thing but for the instant in between. */
static int open_named(bdb_env *env, const char *dir)
{
    size_t cap = strlen(dir) + 64;
    char *path = bdbi_malloc(env, BDB_MEM_CORE, cap);
    if (!path) return -ENOMEM;
    snprintf(path, cap, "%s/.tmp-scratch-XXXXXX", dir);
    int fd = mkostemp(path, O_CLOEXEC);
    int e = errno;
    if (fd >= 0) (void)unlink(path);
    bdbi_free(env, BDB_MEM_CORE, path, cap);
    return fd >= 0 ? fd : -e;
}

int bdbi_scratch_open(bdb_env *env, const char *dir, bdbi_scratch **out)
{
    *out = NULL;
    int e = bdbi_fs_fault(env, BDB_FS_OPEN, dir);
    if (e) return bdbi_err_sys(e, dir, "cannot create a scratch file");
    int fd = -1;
#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    e = errno;
    if (fd < 0 && e != EOPNOTSUPP && e != EISDIR && e != EINVAL)
        return bdbi_err_sys(e, dir, "cannot create a scratch file");
#endif
    if (fd < 0 && (fd = open_named(env, dir)) < 0) {
        if (fd == -ENOMEM) return BDB_ENOMEM;
        return bdbi_err_sys(-fd, dir, "cannot create a scratch file");
    }
    bdbi_scratch *s = bdbi_calloc(env, BDB_MEM_CORE, 1, sizeof *s);
    if (s) s->dir = bdbi_strdup(env, BDB_MEM_CORE, dir);
    if (!s || !s->dir) {
        if (s) bdbi_free(env, BDB_MEM_CORE, s, sizeof *s);
        close(fd);
        return BDB_ENOMEM;
    }
    s->env = env;
    s->fd = fd;
    *out = s;
    return 0;
}

int bdbi_scratch_append(bdbi_scratch *s, const void *buf, size_t n)
{
    if (s->err) return s->err;
    int e = bdbi_fs_fault(s->env, BDB_FS_WRITE, s->dir);
    const uint8_t *p = buf;
    while (!e && n) {
        ssize_t w = pwrite(s->fd, p, n, (off_t)s->size);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            e = w < 0 ? errno : ENOSPC;
            break;
        }
        p += w;
        n -= (size_t)w;
        s->size += (uint64_t)w;
    }
    if (e)
        s->err = bdbi_err_sys(e, s->dir, "write to a scratch file at offset %" PRIu64 " failed",
                              s->size);
    return s->err;
}

uint64_t bdbi_scratch_size(const bdbi_scratch *s)
{
    return s->size;
}

int bdbi_scratch_read(bdbi_scratch *s, uint64_t off, void *buf, size_t n)
{
    if (off > s->size || n > s->size - off)
        return bdbi_err(BDB_EINVAL, "scratch read of %zu bytes at %" PRIu64 " past its %" PRIu64, n,
                        off, s->size);
    uint8_t *p = buf;
    while (n) {
        ssize_t r = pread(s->fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return bdbi_err_sys(errno, s->dir, "read of a scratch file failed");
        if (r == 0)
            return bdbi_err_at(BDB_EIO, s->dir, (int64_t)off, "scratch file shorter than written");
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

void bdbi_scratch_close(bdbi_scratch *s)
{
    if (!s) return;
    close(s->fd);
    bdbi_strfree(s->env, BDB_MEM_CORE, s->dir);
    bdbi_free(s->env, BDB_MEM_CORE, s, sizeof *s);
}
