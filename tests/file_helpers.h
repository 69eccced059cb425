/* Whole-file reads and writes for Criterion suites (they assert: a
 * failure fails the test). */
#ifndef BDB_TESTS_FILE_HELPERS_H
#define BDB_TESTS_FILE_HELPERS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline void tf_write(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* The file's bytes in a malloc'd buffer (free it), their count in *n. */
static inline uint8_t *tf_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(*n ? *n : 1);
    cr_assert_eq(fread(p, 1, *n, f), *n);
    fclose(f);
    return p;
}

/* Flips the lowest bit of the byte at `where` (negative: from the end). */
static inline void tf_flip_byte(const char *path, long where)
{
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    off_t off = where >= 0 ? where : st.st_size + where;
    uint8_t c;
    cr_assert_eq(pread(fd, &c, 1, off), 1);
    c ^= 0x01;
    cr_assert_eq(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

/* A fresh directory /tmp/bdb-test-<tag>-XXXXXX in root[0..cap). */
static inline void tf_tmpdir(char *root, size_t cap, const char *tag)
{
    cr_assert_lt(snprintf(root, cap, "/tmp/bdb-test-%s-XXXXXX", tag), (int)cap);
    cr_assert_not_null(mkdtemp(root), "mkdtemp: %s", strerror(errno));
}

static inline int tf_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

/* Removes root and everything under it. */
static inline void tf_rmrf(const char *root)
{
    nftw(root, tf_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* root/rel; four results live at once (one call's arguments). */
static inline const char *tf_path(const char *root, const char *rel)
{
    static char paths[4][1024];
    static unsigned next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", root, rel);
    return p;
}

#endif
