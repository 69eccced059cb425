#include "config.h"

#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "env.h"
#include "error.h"

#define TMP_PREFIX  ".tmp-"
#define DEFAULT_BUF (256u << 10)
#define LOCK_NAME   "bucketdb.lock"

static const char *const op_names[BDB_FS__COUNT] = {
    [BDB_FS_OPEN] = "open",     [BDB_FS_WRITE] = "write", [BDB_FS_FSYNC] = "fsync",
    [BDB_FS_RENAME] = "rename", [BDB_FS_MMAP] = "mmap",   [BDB_FS_UNLINK] = "unlink",
    [BDB_FS_MKDIR] = "mkdir",
};

BDB_API const char *bdb_fs_op_name(int op)
{
    if (op < 0 || op >= BDB_FS__COUNT) return "unknown";
    return op_names[op];
}

int bdbi_fs_fault(bdb_env *env, bdb_fs_op op, const char *path)
{
    if (!env->opts.fault_hook) return 0;
    int e = env->opts.fault_hook(env->opts.fault_ctx, op, path);
    if (e) atomic_fetch_add_explicit(&env->faults[op], 1, memory_order_relaxed);
    return e;
}

/* Length of the prefix of `path` that names its directory, including the
 * final slash ("a" -> 0, "/a" -> 1, "d/a" -> 2). */
static size_t dir_prefix_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) + 1 : 0;
}

/* Copies the directory of `path` into buf: "." when there is none, "/"
 * for a file in the root. */
static int dir_of(const char *path, char *buf, size_t cap)
{
    size_t n = dir_prefix_len(path);
    if (n > 1) n--; /* drop the slash, except for the root itself */
    if (n == 0) return snprintf(buf, cap, ".") < (int)cap ? 0 : -1;
    if (n >= cap) return -1;
    memcpy(buf, path, n);
    buf[n] = '\0';
    return 0;
}

/* Opens `path` read-only and checks that it is a regular file; stores its
 * size. */
static int open_regular(const char *path, int *fd_out, uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return bdbi_err_sys(errno, path, "cannot open file");
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = bdbi_err_sys(errno, path, "cannot stat file");
    else if (!S_ISREG(st.st_mode))
        rc = bdbi_err_at(BDB_EFORMAT, path, -1, "not a regular file");
    if (rc) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    *size = (uint64_t)st.st_size;
    return 0;
}

static int fsync_dir_path(bdb_env *env, const char *dir)
{
    int e = bdbi_fs_fault(env, BDB_FS_FSYNC, dir);
    if (e) return bdbi_err_sys(e, dir, "fsync of directory failed");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return bdbi_err_sys(errno, dir, "cannot open directory to fsync it");
    int rc = 0;
    if (fsync(fd) != 0) rc = bdbi_err_sys(errno, dir, "fsync of directory failed");
    close(fd);
    return rc;
}

int bdbi_fs_fsync_dir(bdb_env *env, const char *path)
{
    return fsync_dir_path(env, path);
}

/* ------------------------------------------------------------------ */
/* Atomic file creation                                               */
/* ------------------------------------------------------------------ */

struct bdbi_file {
    bdb_env *env;
    int fd;
    int flags;
    int err; /* sticky failure code */
    char *path;
    char *tmp;
    uint8_t *buf;
    size_t cap, len;  /* write buffer: capacity and bytes held */
    uint64_t flushed; /* bytes handed to write(2) */
    uint64_t ranged;  /* bytes whose write-back was started */
    int synced;       /* fsync'd by bdbi_file_sync() when `flushed` was synced_at */
    uint64_t synced_at;
};

int bdbi_fs_is_tmp_name(const char *name)
{
    return strncmp(name, TMP_PREFIX, sizeof TMP_PREFIX - 1) == 0;
}

static void file_free(bdbi_file *f)
{
    bdb_env *env = f->env;
    if (f->buf) bdbi_free(env, BDB_MEM_CORE, f->buf, f->cap);
    bdbi_strfree(env, BDB_MEM_CORE, f->path);
    bdbi_strfree(env, BDB_MEM_CORE, f->tmp);
    bdbi_free(env, BDB_MEM_CORE, f, sizeof *f);
}

/* Removes the temporary file; the hook is not asked, because cleaning up
 * after a failure must not itself be made to fail. */
static void drop_tmp(bdbi_file *f)
{
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    if (f->tmp) (void)unlink(f->tmp);
}

int bdbi_file_create(bdb_env *env, const char *path, int flags, size_t buf_size, bdbi_file **out)
{
    *out = NULL;
    size_t dl = dir_prefix_len(path);
    const char *base = path + dl;
    if (!*base) return bdbi_err(BDB_EINVAL, "file path '%s' has no file name", path);

    bdbi_file *f = bdbi_calloc(env, BDB_MEM_CORE, 1, sizeof *f);
    if (!f) return BDB_ENOMEM;
    f->env = env;
    f->fd = -1;
    f->flags = flags;
    f->cap = buf_size ? buf_size : DEFAULT_BUF;
    f->path = bdbi_strdup(env, BDB_MEM_CORE, path);
    f->buf = bdbi_malloc(env, BDB_MEM_CORE, f->cap);
    size_t tmp_cap = strlen(path) + 64;
    char *tmp = bdbi_malloc(env, BDB_MEM_CORE, tmp_cap);
    if (!f->path || !f->buf || !tmp) {
        if (tmp) bdbi_free(env, BDB_MEM_CORE, tmp, tmp_cap);
        file_free(f);
        return BDB_ENOMEM;
    }
    int rc = 0;
    for (int attempt = 0; attempt < 16; attempt++) {
        uint64_t seq = atomic_fetch_add_explicit(&env->tmp_seq, 1, memory_order_relaxed);
        snprintf(tmp, tmp_cap, "%.*s" TMP_PREFIX "%ld-%" PRIu64 "-%s", (int)dl, path,
                 (long)getpid(), seq, base);
        int e = bdbi_fs_fault(env, BDB_FS_OPEN, tmp);
        if (e) {
            rc = bdbi_err_sys(e, path, "cannot create temporary file %s", tmp);
            break;
        }
        f->fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (f->fd >= 0) break;
        if (errno != EEXIST) {
            rc = bdbi_err_sys(errno, path, "cannot create temporary file %s", tmp);
            break;
        }
    }
    if (rc == 0 && f->fd < 0)
        rc = bdbi_err(BDB_EEXIST, "cannot find a free temporary name next to %s", path);
    /* shrink the name buffer to the exact string so strfree can size it */
    f->tmp = rc == 0 ? bdbi_strdup(env, BDB_MEM_CORE, tmp) : NULL;
    bdbi_free(env, BDB_MEM_CORE, tmp, tmp_cap);
    if (rc == 0 && !f->tmp) {
        rc = BDB_ENOMEM;
    }
    if (rc) {
        if (f->fd >= 0) {
            close(f->fd);
            f->fd = -1;
        }
        file_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

static int write_all(bdbi_file *f, const uint8_t *p, size_t n)
{
    int e = bdbi_fs_fault(f->env, BDB_FS_WRITE, f->tmp);
    if (e)
        return f->err = bdbi_err_sys(e, f->path, "write at offset %" PRIu64 " failed", f->flushed);
    while (n) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return f->err = bdbi_err_sys(errno, f->path, "write at offset %" PRIu64 " failed",
                                         f->flushed);
        }
        p += w;
        n -= (size_t)w;
        f->flushed += (uint64_t)w;
    }
    return 0;
}

/* Write-back of a durable file is started every WRITEBACK_STEP bytes, as
 * RocksDB's bytes_per_sync does: a large merge output then trickles to the
 * disk while it is written instead of landing as one burst at its fsync,
 * which would stall every small fsync (level 0, manifest) behind it. */
#define WRITEBACK_STEP (8u << 20)

static void start_writeback(bdbi_file *f)
{
    if ((f->flags & BDBI_FS_NOSYNC) || f->flushed - f->ranged < WRITEBACK_STEP) return;
    (void)sync_file_range(f->fd, (off64_t)f->ranged, (off64_t)(f->flushed - f->ranged),
                          SYNC_FILE_RANGE_WRITE);
    f->ranged = f->flushed;
}

static int flush(bdbi_file *f)
{
    int rc = f->len ? write_all(f, f->buf, f->len) : 0;
    f->len = 0;
    if (!rc) start_writeback(f);
    return rc;
}

/* Raises the sticky error of a poisoned file again, so the thread's detail
 * is about this file even if other errors came in between. */
static int poisoned(const bdbi_file *f)
{
    return bdbi_err_at(f->err, f->path, -1, "an earlier write to this file failed (%s)",
                       bdb_strerror(f->err));
}

int bdbi_file_flush(bdbi_file *f)
{
    if (f->err) return poisoned(f);
    return flush(f);
}

static int sync_data(bdbi_file *f)
{
    if (f->flags & BDBI_FS_NOSYNC) return 0;
    if (f->synced && f->synced_at == f->flushed) return 0;
    int e = bdbi_fs_fault(f->env, BDB_FS_FSYNC, f->tmp);
    if (e || fsync(f->fd) != 0)
        return bdbi_err_sys(e ? e : errno, f->path, "fsync of %s failed", f->tmp);
    f->synced = 1;
    f->synced_at = f->flushed;
    return 0;
}

int bdbi_file_sync(bdbi_file *f)
{
    int rc = bdbi_file_flush(f);
    if (!rc) rc = sync_data(f);
    if (rc && !f->err) f->err = rc;
    return rc;
}

const char *bdbi_file_tmp_path(const bdbi_file *f)
{
    return f->tmp;
}

int bdbi_file_write(bdbi_file *f, const void *buf, size_t n)
{
    if (f->err) return poisoned(f);
    if (n == 0) return 0;
    if (f->len + n > f->cap) {
        int rc = flush(f);
        if (rc) return rc;
        if (n >= f->cap) { /* large: skip the copy */
            rc = write_all(f, buf, n);
            if (!rc) start_writeback(f);
            return rc;
        }
    }
    memcpy(f->buf + f->len, buf, n);
    f->len += n;
    return 0;
}

int bdbi_file_set_path(bdbi_file *f, const char *path)
{
    size_t dl = dir_prefix_len(f->path);
    if (dir_prefix_len(path) != dl || strncmp(path, f->path, dl) != 0 || !path[dl])
        return bdbi_err(BDB_EINVAL, "%s is not a file in the directory of %s", path, f->path);
    char *p = bdbi_strdup(f->env, BDB_MEM_CORE, path);
    if (!p) return BDB_ENOMEM;
    bdbi_strfree(f->env, BDB_MEM_CORE, f->path);
    f->path = p;
    return 0;
}

uint64_t bdbi_file_size(const bdbi_file *f)
{
    return f->flushed + f->len;
}

void bdbi_file_abort(bdbi_file *f)
{
    if (!f) return;
    drop_tmp(f);
    file_free(f);
}

/* Moves the temporary file to its final name. With BDBI_FS_NOREPLACE an
 * existing file makes it fail with BDB_EEXIST; otherwise the file is
 * replaced and *replaced says so. */
static int do_rename(bdbi_file *f, int *replaced)
{
    *replaced = 0;
    int e = bdbi_fs_fault(f->env, BDB_FS_RENAME, f->path);
    if (e) return bdbi_err_sys(e, f->path, "cannot rename %s into place", f->tmp);
    if (renameat2(AT_FDCWD, f->tmp, AT_FDCWD, f->path, RENAME_NOREPLACE) == 0) return 0;
    int err = errno;
    if (err == EINVAL || err == ENOSYS) {
        /* no RENAME_NOREPLACE here: link() refuses an existing name */
        if (f->flags & BDBI_FS_NOREPLACE) {
            if (link(f->tmp, f->path) == 0) {
                (void)unlink(f->tmp);
                return 0;
            }
            err = errno;
        } else {
            *replaced = access(f->path, F_OK) == 0; /* conservative: only for cleanup */
            err = EEXIST;
        }
    }
    if (err != EEXIST) return bdbi_err_sys(err, f->path, "cannot rename %s into place", f->tmp);
    if (f->flags & BDBI_FS_NOREPLACE)
        return bdbi_err_at(BDB_EEXIST, f->path, -1, "file already exists");
    if (rename(f->tmp, f->path) != 0)
        return bdbi_err_sys(errno, f->path, "cannot rename %s into place", f->tmp);
    *replaced = 1;
    return 0;
}

int bdbi_file_commit(bdbi_file *f)
{
    bdb_env *env = f->env;
    int rc = f->err ? poisoned(f) : flush(f);
    if (rc == 0) rc = sync_data(f);
    if (rc == 0) {
        int fd = f->fd;
        f->fd = -1;
        if (close(fd) != 0) rc = bdbi_err_sys(errno, f->path, "close of %s failed", f->tmp);
    }
    int replaced = 0;
    if (rc == 0) rc = do_rename(f, &replaced);
    if (rc) {
        drop_tmp(f);
        file_free(f);
        return rc;
    }
    if (!(f->flags & (BDBI_FS_NOSYNC | BDBI_FS_NODIRSYNC))) {
        char dir[PATH_MAX];
        if (dir_of(f->path, dir, sizeof dir) != 0)
            rc = bdbi_err(BDB_EINVAL, "path too long: %s", f->path);
        else
            rc = fsync_dir_path(env, dir);
        /* The rename happened but may not be durable. A file that did not
         * exist before is taken back, so failure means "no file"; a
         * replaced file cannot be restored (see docs/core.md). */
        if (rc && !replaced) (void)unlink(f->path);
    }
    file_free(f);
    return rc;
}

int bdbi_fs_write_file(bdb_env *env, const char *path, const void *buf, size_t n, int flags)
{
    bdbi_file *f;
    /* one write: a buffer as large as the data would only be copied into */
    int rc = bdbi_file_create(env, path, flags, 4096, &f);
    if (rc) return rc;
    rc = bdbi_file_write(f, buf, n);
    if (rc) {
        bdbi_file_abort(f);
        return rc;
    }
    return bdbi_file_commit(f);
}

/* ------------------------------------------------------------------ */
/* Reading, directories, unlink                                       */
/* ------------------------------------------------------------------ */

int bdbi_fs_read_file(bdb_env *env, bdb_mem_category cat, const char *path, size_t max_len,
                      void **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    int fd;
    uint64_t size;
    int rc = open_regular(path, &fd, &size);
    if (rc) return rc;
    if (size > max_len) {
        close(fd);
        return bdbi_err_at(BDB_EFORMAT, path, -1, "file is %" PRIu64 " bytes; at most %zu expected",
                           size, max_len);
    }
    size_t n = (size_t)size;
    uint8_t *p = bdbi_malloc(env, cat, n ? n : 1);
    if (!p) {
        close(fd);
        return BDB_ENOMEM;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, p + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            rc = r < 0 ? bdbi_err_sys(errno, path, "read failed")
                       : bdbi_err_at(BDB_EIO, path, (int64_t)got, "file shrank while read");
            bdbi_free(env, cat, p, n ? n : 1);
            close(fd);
            return rc;
        }
        got += (size_t)r;
    }
    close(fd);
    *buf = p;
    *len = n;
    return 0;
}

int bdbi_fs_mkdirs(bdb_env *env, const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return bdbi_err(BDB_EINVAL, "bad directory path '%s'", path);
    memcpy(buf, path, n + 1);
    while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char saved = buf[i];
        buf[i] = '\0';
        struct stat st;
        if (stat(buf, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                int rc = bdbi_err_at(BDB_EEXIST, buf, -1, "exists and is not a directory");
                return rc;
            }
        } else {
            int e = bdbi_fs_fault(env, BDB_FS_MKDIR, buf);
            if (e || mkdir(buf, 0755) != 0) {
                if (!e && errno == EEXIST) {
                    /* created meanwhile, or a dangling symlink: only a
                     * directory will do */
                    if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode)) {
                        buf[i] = saved;
                        continue;
                    }
                    return bdbi_err_at(BDB_EEXIST, buf, -1, "exists and is not a directory");
                }
                return bdbi_err_sys(e ? e : errno, buf, "cannot create directory");
            }
            char parent[PATH_MAX];
            if (dir_of(buf, parent, sizeof parent) == 0) {
                int rc = fsync_dir_path(env, parent);
                if (rc) return rc;
            }
        }
        buf[i] = saved;
    }
    return 0;
}

int bdbi_fs_unlink(bdb_env *env, const char *path)
{
    int e = bdbi_fs_fault(env, BDB_FS_UNLINK, path);
    if (e) return bdbi_err_sys(e, path, "cannot remove file");
    if (unlink(path) != 0 && errno != ENOENT)
        return bdbi_err_sys(errno, path, "cannot remove file");
    return 0;
}

int bdbi_fs_tmp_name(bdb_env *env, const char *path, const char *tag, char *buf, size_t cap)
{
    size_t dl = dir_prefix_len(path);
    uint64_t seq = atomic_fetch_add_explicit(&env->tmp_seq, 1, memory_order_relaxed);
    if ((size_t)snprintf(buf, cap, "%.*s" TMP_PREFIX "%ld-%" PRIu64 "-%s%s", (int)dl, path,
                         (long)getpid(), seq, tag, path + dl) >= cap)
        return bdbi_err(BDB_EINVAL, "path too long for a temporary name: %s", path);
    return 0;
}

int bdbi_fs_rename(bdb_env *env, const char *from, const char *to)
{
    int e = bdbi_fs_fault(env, BDB_FS_RENAME, to);
    if (e) return bdbi_err_sys(e, to, "cannot rename %s to it", from);
    if (rename(from, to) != 0) return bdbi_err_sys(errno, to, "cannot rename %s to it", from);
    return 0;
}

static int copy_file(bdb_env *env, const char *from, const char *to, int flags)
{
    int fd = open(from, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return bdbi_err_sys(errno, from, "cannot open file");
    bdbi_file *f;
    int rc = bdbi_file_create(env, to, flags, 0, &f);
    uint8_t buf[1 << 16];
    while (!rc) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) rc = bdbi_err_sys(errno, from, "read failed");
        if (r <= 0) break;
        rc = bdbi_file_write(f, buf, (size_t)r);
    }
    close(fd);
    if (rc) {
        bdbi_file_abort(f);
        return rc;
    }
    return bdbi_file_commit(f);
}

int bdbi_fs_link_or_copy(bdb_env *env, const char *from, const char *to, int flags)
{
    char tmp[PATH_MAX];
    int rc = bdbi_fs_tmp_name(env, to, "link-", tmp, sizeof tmp);
    if (rc) return rc;
    int e = bdbi_fs_fault(env, BDB_FS_RENAME, to);
    if (e) return bdbi_err_sys(e, to, "cannot link %s to it", from);
    if (link(from, tmp) != 0) {
        if (errno == EXDEV || errno == EPERM || errno == EMLINK || errno == ENOTSUP)
            return copy_file(env, from, to, flags);
        return bdbi_err_sys(errno, to, "cannot link %s to it", from);
    }
    if ((rc = bdbi_fs_rename(env, tmp, to)) != 0) (void)unlink(tmp);
    return rc;
}

int bdbi_fs_retire(bdb_env *env, const char *path, char *trash, size_t cap)
{
    int rc = bdbi_fs_tmp_name(env, path, "gc-", trash, cap);
    if (rc) return rc;
    int e = bdbi_fs_fault(env, BDB_FS_RENAME, path);
    if (e) return bdbi_err_sys(e, path, "cannot retire file");
    if (rename(path, trash) != 0) {
        if (errno == ENOENT) {
            trash[0] = 0;
            return 0;
        }
        return bdbi_err_sys(errno, path, "cannot retire file");
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* mmap                                                               */
/* ------------------------------------------------------------------ */

static int advice_flag(int advice)
{
    switch (advice) {
    case BDBI_ADV_SEQUENTIAL:
        return MADV_SEQUENTIAL;
    case BDBI_ADV_RANDOM:
        return MADV_RANDOM;
    case BDBI_ADV_WILLNEED:
        return MADV_WILLNEED;
    case BDBI_ADV_DONTNEED:
        return MADV_DONTNEED;
    default:
        return MADV_NORMAL;
    }
}

int bdbi_mmap_file(bdb_env *env, const char *path, int advice, bdbi_map *out)
{
    out->data = NULL;
    out->len = 0;
    int e = bdbi_fs_fault(env, BDB_FS_MMAP, path);
    if (e) return bdbi_err_sys(e, path, "cannot map file");
    int fd;
    uint64_t size;
    int rc = open_regular(path, &fd, &size);
    if (rc) return rc;
    if (size == 0 || size > SIZE_MAX) {
        close(fd);
        return size ? bdbi_err_at(BDB_EINVAL, path, -1, "file too large to map") : 0;
    }
    void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    int saved = errno;
    close(fd);
    if (p == MAP_FAILED) return bdbi_err_sys(saved, path, "cannot map file");
    out->data = p;
    out->len = (size_t)size;
    if (advice != BDBI_ADV_NORMAL) (void)madvise(p, out->len, advice_flag(advice));
    return 0;
}

void bdbi_map_advise(const bdbi_map *m, size_t off, size_t len, int advice)
{
    if (!m->data || off >= m->len) return;
    if (len > m->len - off) len = m->len - off;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t start = off & ~(page - 1);
    (void)madvise((void *)(m->data + start), len + (off - start), advice_flag(advice));
}

void bdbi_munmap(bdbi_map *m)
{
    if (m->data) munmap((void *)m->data, m->len);
    m->data = NULL;
    m->len = 0;
}

/* ------------------------------------------------------------------ */
/* Directory lock                                                     */
/* ------------------------------------------------------------------ */

struct bdbi_dirlock {
    bdb_env *env;
    int fd;
};

static pid_t read_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *end;
    long v = strtol(buf, &end, 10);
    if (end == buf || v <= 0 || v > INT_MAX) return 0;
    return (pid_t)v;
}

/* A lock handle owning `fd` (closed on failure). */
static int dirlock_new(bdb_env *env, int fd, bdbi_dirlock **out)
{
    bdbi_dirlock *l = bdbi_malloc(env, BDB_MEM_CORE, sizeof *l);
    if (!l) {
        close(fd);
        return BDB_ENOMEM;
    }
    l->env = env;
    l->fd = fd;
    *out = l;
    return 0;
}

int bdbi_dirlock_acquire(bdb_env *env, const char *dir, bdbi_dirlock **out, pid_t *holder)
{
    *out = NULL;
    if (holder) *holder = 0;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/" LOCK_NAME, dir) >= (int)sizeof path)
        return bdbi_err(BDB_EINVAL, "directory path too long: %s", dir);
    int e = bdbi_fs_fault(env, BDB_FS_OPEN, path);
    if (e) return bdbi_err_sys(e, path, "cannot open lock file");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return bdbi_err_sys(errno, path, "cannot open lock file");
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        int err = errno;
        int rc;
        if (err == EAGAIN || err == EACCES) {
            /* read-only handles hold shared locks and write no pid: the
             * pid in the file is then a past writer's, not the holder */
            struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
            if (fcntl(fd, F_OFD_GETLK, &q) == 0 && q.l_type == F_RDLCK) {
                if (holder) *holder = 0;
                rc = bdbi_err_at(BDB_ELOCKED, dir, -1,
                                 "directory is open read-only (a shared lock) by another handle "
                                 "or process");
            } else {
                pid_t pid = read_pid(fd);
                if (holder) *holder = pid;
                rc = bdbi_err_at(BDB_ELOCKED, dir, -1, "directory is in use by process %ld",
                                 (long)pid);
            }
        } else {
            rc = bdbi_err_sys(err, path, "cannot lock");
        }
        close(fd);
        return rc;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    e = bdbi_fs_fault(env, BDB_FS_WRITE, path);
    if (e || ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        int rc = bdbi_err_sys(e ? e : errno, path, "cannot write the holder's pid");
        close(fd);
        return rc;
    }
    return dirlock_new(env, fd, out);
}

int bdbi_dirlock_acquire_shared(bdb_env *env, const char *dir, bdbi_dirlock **out, pid_t *holder)
{
    *out = NULL;
    if (holder) *holder = 0;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/" LOCK_NAME, dir) >= (int)sizeof path)
        return bdbi_err(BDB_EINVAL, "directory path too long: %s", dir);
    /* no O_CREAT: a shared holder changes nothing in the directory */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        struct stat st;
        if (stat(dir, &st) != 0) return bdbi_err_sys(errno, dir, "cannot open the directory");
        return 0; /* no writer ever locked it: nothing to share with */
    }
    if (fd < 0) return bdbi_err_sys(errno, path, "cannot open lock file");
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        int err = errno;
        int rc;
        if (err == EAGAIN || err == EACCES) {
            /* only an exclusive holder conflicts, and it wrote its pid */
            pid_t pid = read_pid(fd);
            if (holder) *holder = pid;
            rc = bdbi_err_at(BDB_ELOCKED, dir, -1, "directory is in use by process %ld", (long)pid);
        } else {
            rc = bdbi_err_sys(err, path, "cannot lock");
        }
        close(fd);
        return rc;
    }
    return dirlock_new(env, fd, out);
}

void bdbi_dirlock_release(bdbi_dirlock *l)
{
    if (!l) return;
    close(l->fd); /* closing the last descriptor of the description drops the OFD lock */
    bdbi_free(l->env, BDB_MEM_CORE, l, sizeof *l);
}
