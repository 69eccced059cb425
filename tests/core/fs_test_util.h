/* Fixture and helpers shared by the tests of the file-system helpers
 * (lib/core/fs.h): test_fs_create.c, test_fs_fault.c and test_fs_read.c.
 *
 * Every test of the fs_* suites runs in a fresh directory made by the
 * suite's .init (g_dir, removed recursively by .fini even when an
 * assertion fails), opens its own environment with one worker thread and
 * ends with bdb_env_close() == 0, which also proves no library memory
 * leaked. Files are set up and read back with plain POSIX calls, so the
 * checks do not depend on the code under test and the fault hook only
 * sees the library's own operations.
 *
 * Header-only: everything is static, so each test program that includes
 * it gets its own fixture state (g_dir, g_plan). Include it after
 * "config.h". */
#ifndef BDB_TESTS_FS_TEST_UTIL_H
#define BDB_TESTS_FS_TEST_UTIL_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bucketdb/bucketdb.h"
#include "core/alloc.h"
#include "core/env.h"
#include "core/fs.h"

#include "fault.h"

#define KIB       ((size_t)1 << 10)
#define MIB       ((size_t)1 << 20)
#define BUF       4096 /* small write buffer: every buffer path runs many times */
#define ANY_ERRNO (-1)

/* ------------------------------------------------------------------ */
/* Fixture: a temporary directory per test                            */
/* ------------------------------------------------------------------ */

static char g_dir[256];   /* this test's directory */
static fault_plan g_plan; /* fault plan of the tests that inject faults */

static inline void make_tmpdir(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/bdb-test-fs-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
    fault_plan_init(&g_plan);
}

static inline int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    (void)remove(path);
    return 0;
}

static inline void remove_tmpdir(void)
{
    if (g_dir[0]) (void)nftw(g_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Opens an environment; with `plan`, its fault hook is fault_hook(plan). */
static inline bdb_env *open_env(fault_plan *plan)
{
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 1;
    if (plan) {
        o.fault_hook = fault_hook;
        o.fault_ctx = plan;
    }
    bdb_env *env = NULL;
    int rc = bdb_env_open(&o, &env);
    cr_assert_eq(rc, 0, "bdb_env_open: %s", bdb_errmsg());
    return env;
}

/* out = g_dir/name */
static inline void in_dir(char *out, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", g_dir, name);
    cr_assert(n > 0 && n < PATH_MAX);
}

/* ------------------------------------------------------------------ */
/* Data and plain POSIX file access                                   */
/* ------------------------------------------------------------------ */

static inline uint64_t rng_next(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* n pseudo-random bytes (malloc'd, at least 1 byte) determined by seed. */
static inline uint8_t *random_bytes(size_t n, uint64_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    cr_assert_not_null(p);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = rng_next(&seed);
        memcpy(p + i, &v, n - i < 8 ? n - i : 8);
    }
    return p;
}

/* Reads the whole file; NULL (errno set) if it cannot be opened. */
static inline uint8_t *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    size_t n = (size_t)st.st_size;
    uint8_t *p = malloc(n ? n : 1);
    cr_assert_not_null(p);
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        cr_assert_gt(r, 0, "read %s: %s", path, strerror(errno));
        got += (size_t)r;
    }
    close(fd);
    *len = n;
    return p;
}

/* Creates or truncates `path` with the given content, bypassing the
 * library (so the fault hook does not see it). */
static inline void write_plain(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, data, n), (ssize_t)n);
    close(fd);
}

static inline int file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static inline int file_equals(const char *path, const void *data, size_t n)
{
    size_t len;
    uint8_t *p = slurp(path, &len);
    int eq = p && len == n && memcmp(p, data, n) == 0;
    free(p);
    return eq;
}

static inline void assert_file_eq(const char *path, const void *data, size_t n)
{
    size_t len;
    uint8_t *p = slurp(path, &len);
    cr_assert_not_null(p, "%s does not exist", path);
    cr_assert_eq(len, n, "%s has %zu bytes, expected %zu", path, len, n);
    cr_assert(memcmp(p, data, n) == 0, "%s: content differs", path);
    free(p);
}

/* Entries of `dir` (without . and ..), and how many of them are
 * temporary names of bdbi_file_create(). */
static inline size_t count_entries(const char *dir, size_t *tmp)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
    size_t n = 0, t = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        n++;
        if (bdbi_fs_is_tmp_name(e->d_name)) t++;
    }
    closedir(d);
    if (tmp) *tmp = t;
    return n;
}

static inline void assert_no_tmp(const char *dir)
{
    size_t tmp;
    count_entries(dir, &tmp);
    cr_assert_eq(tmp, 0, "%zu temporary file(s) left in %s", tmp, dir);
}

/* ------------------------------------------------------------------ */
/* Library helpers                                                    */
/* ------------------------------------------------------------------ */

/* Checks the return code and the thread's error detail. sys_errno may
 * be ANY_ERRNO; path NULL skips the path check. */
static inline void assert_error(int rc, int code, int sys_errno, const char *path, const char *what)
{
    cr_assert_eq(rc, code, "%s: returned %d (%s), expected %d (%s)", what, rc, bdb_errmsg(), code,
                 bdb_strerror(code));
    bdb_error e;
    bdb_last_error(&e);
    cr_assert_eq(e.code, code, "%s: last error code %d", what, e.code);
    if (sys_errno != ANY_ERRNO)
        cr_assert_eq(e.sys_errno, sys_errno, "%s: sys_errno %d, expected %d (%s)", what,
                     e.sys_errno, sys_errno, bdb_errmsg());
    if (path)
        cr_assert_str_eq(e.path, path, "%s: error names '%s', expected '%s'", what, e.path, path);
}

static inline int code_of(int err)
{
    return err == ENOSPC ? BDB_ENOSPC : BDB_EIO;
}

/* faults_injected of the env is `n` for `op` and 0 for every other op. */
static inline void assert_faults_injected(bdb_env *env, bdb_fs_op op, uint64_t n)
{
    bdb_stats st;
    cr_assert_eq(bdb_env_stats(env, &st), 0);
    for (int i = 0; i < BDB_FS__COUNT; i++)
        cr_assert_eq(st.faults_injected[i], i == (int)op ? n : 0,
                     "faults_injected[%s] = %llu, expected %llu", bdb_fs_op_name(i),
                     (unsigned long long)st.faults_injected[i],
                     (unsigned long long)(i == (int)op ? n : 0));
}

/* Appends data[0, n) to `f` in chunks of pseudo-random sizes (seeded)
 * chosen to reach every path of a write buffer of `cap` bytes: empty and
 * tiny writes, cap-1 / cap / cap+1, writes several buffers long. Checks
 * bdbi_file_size() after every accepted write. Returns 0, or the code of
 * the first failing write with *done = bytes accepted before it. */
static inline int write_chunks(bdbi_file *f, const uint8_t *data, size_t n, size_t cap,
                               uint64_t seed, size_t *done)
{
    uint64_t base = bdbi_file_size(f);
    size_t off = 0;
    *done = 0;
    while (off < n) {
        size_t k;
        switch (rng_next(&seed) % 6) {
        case 0:
            k = 0;
            break;
        case 1:
            k = 1 + rng_next(&seed) % 16;
            break;
        case 2:
            k = 1 + rng_next(&seed) % cap;
            break;
        case 3:
            k = cap - 1 + rng_next(&seed) % 3;
            break;
        case 4:
            k = cap + 1 + rng_next(&seed) % (3 * cap);
            break;
        default:
            k = 1 + rng_next(&seed) % (cap / 2 + 1);
            break;
        }
        if (k > n - off) k = n - off;
        int rc = bdbi_file_write(f, data + off, k);
        if (rc) return rc;
        off += k;
        *done = off;
        cr_assert_eq(bdbi_file_size(f), base + off, "size %llu after %zu bytes",
                     (unsigned long long)bdbi_file_size(f), off);
    }
    return 0;
}

#endif
