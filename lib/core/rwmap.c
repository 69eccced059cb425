#include "config.h"

#include "rwmap.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "fs.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Faults [off, len) in writable now, in one call: the pages of a new
 * table are all written soon, and taking each page's read fault and then
 * its write fault one access at a time costs several times more (two
 * traps per page, and under virtualisation each is dear). Best effort:
 * kernels before 5.14 do not have it. */
static void populate(uint8_t *p, size_t off, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t start = off & ~(page - 1);
    if (start < len) (void)madvise(p + start, len - start, MADV_POPULATE_WRITE);
}

static int map_fd(const char *path, int fd, size_t len, bdbi_rwmap *out)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return bdbi_err_sys(errno, path, "cannot map file");
    /* lookups hit random cells: read-ahead would only evict other pages */
    (void)madvise(p, len, MADV_RANDOM);
    out->data = p;
    out->len = len;
    return 0;
}

#define ZERO_CHUNK ((size_t)2 << 20)

/* Gives [from, len) of the file blocks (posix_fallocate, so a store
 * through the mapping never finds the disk full) and writes zeros over it
 * in 2 MiB pieces aligned to 2 MiB. Writing puts the range in the page
 * cache as large folios that a mapping takes with one page-table entry per
 * 2 MiB: creating and faulting in a table is then 3-4 times cheaper than
 * faulting in fallocated pages one 4 KiB page at a time (docs/PERFORMANCE.md),
 * and its random reads and writes miss the TLB less. The zeros come from a
 * read-only anonymous mapping (the kernel's zero page: no memory). */
static int allocate(int fd, const char *path, size_t from, size_t len)
{
    int e = posix_fallocate(fd, (off_t)from, (off_t)(len - from));
    if (e && e != EOPNOTSUPP && e != EINVAL)
        return bdbi_err_sys(e, path, "cannot allocate %zu bytes", len);
    void *z = mmap(NULL, ZERO_CHUNK, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (z == MAP_FAILED) return bdbi_err_sys(errno, path, "cannot map zeros");
    int rc = 0;
    for (size_t off = from; off < len && !rc;) {
        size_t n = ZERO_CHUNK - (off & (ZERO_CHUNK - 1));
        if (n > len - off) n = len - off;
        ssize_t w = pwrite(fd, z, n, (off_t)off);
        if (w > 0)
            off += (size_t)w;
        else if (w == 0 || errno != EINTR)
            rc = bdbi_err_sys(w == 0 ? EIO : errno, path, "cannot write %zu zero bytes at %zu", n,
                              off);
    }
    munmap(z, ZERO_CHUNK);
    return rc;
}

int bdbi_rwmap_create(bdb_env *env, const char *path, size_t len, bdbi_rwmap *out)
{
    *out = (bdbi_rwmap){0};
    int e = bdbi_fs_fault(env, BDB_FS_OPEN, path);
    if (e) return bdbi_err_sys(e, path, "cannot create file");
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return bdbi_err_sys(errno, path, "cannot create file");
    int rc = 0;
    if ((e = bdbi_fs_fault(env, BDB_FS_WRITE, path)) != 0)
        rc = bdbi_err_sys(e, path, "cannot allocate %zu bytes", len);
    else if (!(rc = allocate(fd, path, 0, len))) {
        if ((e = bdbi_fs_fault(env, BDB_FS_MMAP, path)) != 0)
            rc = bdbi_err_sys(e, path, "cannot map file");
        else if (!(rc = map_fd(path, fd, len, out)))
            populate(out->data, 0, len);
    }
    close(fd);
    if (rc) unlink(path);
    return rc;
}

static int open_rw(const char *path, int *fd, uint64_t *size)
{
    *fd = open(path, O_RDWR | O_CLOEXEC);
    if (*fd < 0) return bdbi_err_sys(errno, path, "cannot open file");
    struct stat st;
    int rc = 0;
    if (fstat(*fd, &st) != 0)
        rc = bdbi_err_sys(errno, path, "cannot stat file");
    else if (!S_ISREG(st.st_mode))
        rc = bdbi_err_at(BDB_EFORMAT, path, -1, "not a regular file");
    else if (st.st_size == 0 || (uint64_t)st.st_size > SIZE_MAX / 2)
        rc = bdbi_err_at(BDB_EFORMAT, path, -1, "file of %lld bytes cannot be mapped",
                         (long long)st.st_size);
    if (rc) {
        close(*fd);
        return rc;
    }
    *size = (uint64_t)st.st_size;
    return 0;
}

int bdbi_rwmap_open(bdb_env *env, const char *path, bdbi_rwmap *out)
{
    *out = (bdbi_rwmap){0};
    int e = bdbi_fs_fault(env, BDB_FS_MMAP, path);
    if (e) return bdbi_err_sys(e, path, "cannot map file");
    int fd;
    uint64_t size;
    int rc = open_rw(path, &fd, &size);
    if (rc) return rc;
    rc = map_fd(path, fd, (size_t)size, out);
    close(fd);
    return rc;
}

int bdbi_rwmap_extend(bdb_env *env, const char *path, size_t len, bdbi_rwmap *out)
{
    *out = (bdbi_rwmap){0};
    int e = bdbi_fs_fault(env, BDB_FS_WRITE, path);
    if (e) return bdbi_err_sys(e, path, "cannot extend file to %zu bytes", len);
    int fd;
    uint64_t size;
    int rc = open_rw(path, &fd, &size);
    if (rc) return rc;
    if (size > len)
        rc = bdbi_err_at(BDB_EINTERNAL, path, -1, "extending a %llu-byte file to %zu bytes",
                         (unsigned long long)size, len);
    else if (!(rc = allocate(fd, path, (size_t)size, len))) {
        if ((e = bdbi_fs_fault(env, BDB_FS_MMAP, path)) != 0)
            rc = bdbi_err_sys(e, path, "cannot map file");
        else if (!(rc = map_fd(path, fd, len, out)))
            populate(out->data, (size_t)size, len);
    }
    close(fd);
    return rc;
}

int bdbi_rwmap_sync(bdb_env *env, const bdbi_rwmap *m, const char *path, size_t off, size_t len)
{
    if (!m->data || off >= m->len) return 0;
    if (len > m->len - off) len = m->len - off;
    int e = bdbi_fs_fault(env, BDB_FS_FSYNC, path);
    if (e) return bdbi_err_sys(e, path, "msync failed");
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t start = off & ~(page - 1);
    if (msync(m->data + start, len + (off - start), MS_SYNC) != 0)
        return bdbi_err_sys(errno, path, "msync failed");
    return 0;
}

void bdbi_rwmap_release(const bdbi_rwmap *m)
{
    if (!m->data) return;
    if (madvise(m->data, m->len, MADV_PAGEOUT) != 0) (void)madvise(m->data, m->len, MADV_DONTNEED);
}

uint64_t bdbi_rwmap_resident(const bdbi_rwmap *m)
{
    if (!m->data) return 0;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (m->len + page - 1) / page;
    unsigned char vec[4096];
    uint64_t n = 0;
    for (size_t i = 0; i < pages; i += sizeof vec) {
        size_t k = pages - i < sizeof vec ? pages - i : sizeof vec;
        size_t bytes = k * page;
        if (i * page + bytes > m->len) bytes = m->len - i * page;
        if (mincore(m->data + i * page, bytes, vec) != 0) return n;
        for (size_t j = 0; j < k; j++) n += vec[j] & 1;
    }
    return n * page;
}

void bdbi_rwmap_unmap(bdbi_rwmap *m)
{
    if (m->data) munmap(m->data, m->len);
    m->data = NULL;
    m->len = 0;
}
