/* The fixture of the store test suites (test_store_batch.c,
 * test_store_restart.c): the batch vectors (restart.jsonl then
 * restart-p23.jsonl: ledgers 1..800, protocols 0 to 23), a fresh
 * temporary directory and an environment with two worker threads per
 * test. The directory is removed by the suite's .fini even when an
 * assertion fails; each test ends with store_env_close(), which checks
 * that bdb_env_close() returns 0 (no store left open, no leaked byte).
 * Include after "config.h". */
#ifndef BDB_TESTS_LIST_STORE_FIXTURE_H
#define BDB_TESTS_LIST_STORE_FIXTURE_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucketdb/bucketdb.h"
#include "bucketdb/list.h"

#include "batches.h"
#include "store_check.h"

/* The last ledger of each protocol in the vectors, and the first hot one. */
#define V_LAST      800
#define V_FIRST_P10 5
#define V_FIRST_P11 301
#define V_FIRST_P12 512
#define V_FIRST_P23 777
#define V_FIRST_HOT 778

static batches g_b;
static char g_dir[64];
static bdb_env *g_env;
static char g_why[1024];

/* Loads the vector files `names` (each continuing the one before), makes
 * the directory /tmp/bdb-test-<tag>-XXXXXX and the environment. */
static inline void store_fixture_begin(const char *const *names, size_t n, const char *tag)
{
    char err[512];
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(batches_load(&g_b, names[i], 0, err, sizeof err), 0, "%s", err);
    snprintf(g_dir, sizeof g_dir, "/tmp/bdb-test-%s-XXXXXX", tag);
    cr_assert_not_null(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 2;
    cr_assert_eq(bdb_env_open(&o, &g_env), 0, "%s", bdb_errmsg());
}

static inline void store_setup(void)
{
    static const char *const v[] = {"restart", "restart-p23"};
    store_fixture_begin(v, 2, "store");
    cr_assert_eq(batches_first(&g_b), 1);
    cr_assert_eq(batches_last(&g_b), V_LAST);
}

static inline void store_teardown(void)
{
    store_rmdir(g_dir);
    batches_free(&g_b);
}

static inline void store_env_close(void)
{
    cr_assert_eq(bdb_env_close(g_env), 0, "env close: %s", bdb_errmsg());
    g_env = NULL;
}

/* Options for tests: no fsync (scratch directories), else the defaults. */
static inline bdb_list_options store_opts(void)
{
    bdb_list_options o;
    bdb_list_options_init(&o);
    o.fsync = 0;
    return o;
}

static inline bdb_list *store_open(const bdb_list_options *o)
{
    bdb_list *l = NULL;
    int rc = bdb_list_open(g_env, g_dir, o, &l);
    cr_assert_eq(rc, 0, "open %s: %s", g_dir, bdb_errmsg());
    return l;
}

static inline void store_close(bdb_list *l)
{
    cr_assert_eq(bdb_list_close(l), 0, "close: %s", bdb_errmsg());
}

/* Applies ledgers from..to, checking each against the reference model. */
static inline void store_replay(bdb_list *l, uint32_t from, uint32_t to)
{
    int rc = batches_replay(l, &g_b, from, to, g_why, sizeof g_why);
    cr_assert_eq(rc, 0, "%s", g_why);
}

/* The store's state is the reference model's after `ledger`. */
static inline void store_expect(bdb_list *l, uint32_t ledger)
{
    bdb_list_state st;
    cr_assert_eq(bdb_list_state_get(l, &st), 0);
    cr_assert(batch_state_matches(&st, batches_get(&g_b, ledger), g_why, sizeof g_why), "%s",
              g_why);
}

static inline const batch *B(uint32_t ledger)
{
    const batch *b = batches_get(&g_b, ledger);
    cr_assert_not_null(b, "ledger %u is not in the vectors", ledger);
    return b;
}

/* Open fails with BDB_ECORRUPT, the error names `file`, nothing is
 * returned and nothing leaks. */
static inline void expect_corrupt_open(const bdb_list_options *o, const char *file)
{
    bdb_list *l = (bdb_list *)1;
    int rc = bdb_list_open(g_env, g_dir, o, &l);
    bdb_error err;
    bdb_last_error(&err);
    cr_assert_eq(rc, BDB_ECORRUPT, "open returned %d (%s), expected BDB_ECORRUPT naming %s", rc,
                 rc ? bdb_errmsg() : "success", file);
    cr_assert_null(l);
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    cr_assert(strstr(err.path, base) || strstr(err.msg, base), "the error names %s, not %s: %s",
              err.path, base, bdb_errmsg());
}

#endif
