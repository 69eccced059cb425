/* The fixture of the bucket test programs: a fresh temporary directory and
 * an environment per test, removed and closed afterwards (the close must
 * report no leak), plus the test vectors when a suite needs them. */
#ifndef BDB_TESTS_BUCKET_FIXTURE_H
#define BDB_TESTS_BUCKET_FIXTURE_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bucketdb/bucketdb.h"
#include "core/fs.h"

static char dir[64];
static bdb_env *env;

/* Creates /tmp/bdb-test-<tag>-XXXXXX and opens a one-thread environment
 * with the fault hook `hook` (may be NULL). */
static inline void fixture_open(const char *tag, bdb_fault_fn hook, void *hook_ctx)
{
    snprintf(dir, sizeof dir, "/tmp/bdb-test-%s-XXXXXX", tag);
    cr_assert_not_null(mkdtemp(dir));
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 1;
    o.fault_hook = hook;
    o.fault_ctx = hook_ctx;
    cr_assert_eq(bdb_env_open(&o, &env), 0, "%s", bdb_errmsg());
}

/* Removes every file of the directory (it has no subdirectories). */
static inline void fixture_clean(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (d) closedir(d);
}

static inline void fixture_close(void)
{
    fixture_clean();
    rmdir(dir);
    cr_assert_eq(bdb_env_close(env), 0, "%s", bdb_errmsg());
}

/* Counts the files of the directory: bucket files, and temporaries in *tmp. */
static inline int count_files(int *tmp)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    *tmp = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (bdbi_fs_is_tmp_name(e->d_name))
            (*tmp)++;
        else
            n++;
    }
    closedir(d);
    return n;
}

#ifdef BDB_FIXTURE_VECTORS
#include <jansson.h>

static json_t *vectors;

/* Loads tests/vectors/ledger.json (path from BDB_TEST_VECTORS). */
static inline void fixture_load_vectors(void)
{
    const char *path = getenv("BDB_TEST_VECTORS");
    json_error_t err;
    vectors = json_load_file(path ? path : "tests/vectors/ledger.json", 0, &err);
    cr_assert_not_null(vectors, "vectors: %s", err.text);
}
#endif

#endif
