/* The bucket map under injected file-system failures: every failing call
 * returns an error and changes nothing, the map goes on working once the
 * faults stop, and what a flush made durable comes back at reopen. The
 * faults reach the map through the environment's hook (tests/core/fault.h),
 * which every file operation of lib/core asks first. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/fault.h"
#include "bucketdb/map.h"

#define KEYS  600
#define ELEMS 9

/* The model: per key, its slot list (element j of key i = i * 100 + j +
 * version * 1000000) and ref count; len -1 = absent. */
typedef struct model {
    int len[KEYS];
    uint64_t version[KEYS];
    uint64_t ref[KEYS];
} model;

static void key_of(int i, uint8_t k[32])
{
    uint64_t x = (uint64_t)i * 0x9E3779B97F4A7C15ull + 7;
    for (int j = 0; j < 4; j++) {
        x ^= x >> 31;
        x *= 0xBF58476D1CE4E5B9ull;
        memcpy(k + 8 * j, &x, 8);
    }
}

static void list_of(int i, uint64_t version, int len, uint64_t *out)
{
    for (int j = 0; j < len; j++) out[j] = (uint64_t)i * 100 + (uint64_t)j + version * 1000000;
}

static void check_key(bdb_map *m, const model *md, int i)
{
    uint8_t k[32];
    uint64_t got[ELEMS], want[ELEMS], ref = 0;
    size_t n = 0;
    key_of(i, k);
    int rc = bdb_map_read(m, k, got, ELEMS, &n, &ref);
    if (md->len[i] < 0) {
        cr_assert_eq(rc, 0, "key %d should be absent (rc %d)", i, rc);
        return;
    }
    cr_assert_eq(rc, 1, "key %d should be present (rc %d: %s)", i, rc, bdb_errmsg());
    cr_assert_eq(n, (size_t)md->len[i], "key %d: %zu elements, want %d", i, n, md->len[i]);
    cr_assert_eq(ref, md->ref[i], "key %d: ref count", i);
    list_of(i, md->version[i], md->len[i], want);
    cr_assert_arr_eq(got, want, n * 8, "key %d: slot list", i);
}

static void check_all(bdb_map *m, const model *md)
{
    uint64_t present = 0;
    for (int i = 0; i < KEYS; i++) {
        check_key(m, md, i);
        present += md->len[i] >= 0;
    }
    cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), present);
}

typedef struct fixture {
    char dir[64], restart[96];
    const char *drives[1];
    fault_plan plan;
    bdb_env *env;
    bdb_map_options o;
} fixture;

static void fixture_open_env(fixture *f)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/bdb-test-mapfault-XXXXXX");
    cr_assert_not_null(mkdtemp(f->dir));
    snprintf(f->restart, sizeof f->restart, "%s/restart", f->dir);
    f->drives[0] = f->dir;
    fault_plan_init(&f->plan);
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    eo.threads = 2;
    eo.fault_hook = fault_hook;
    eo.fault_ctx = &f->plan;
    cr_assert_eq(bdb_env_open(&eo, &f->env), 0);
    bdb_map_options_init(&f->o);
    f->o.max_buckets = 4;
    f->o.drives = f->drives;
    f->o.n_drives = 1;
    f->o.restart_config_file = f->restart;
    f->o.ref_counts = 1;
    f->o.max_search = 8;
    f->o.elem_size = 8;
    f->o.seed = 0x5eed; /* the same growths in every run, so the counts of calls repeat */
}

static void fixture_close(fixture *f)
{
    cr_assert_eq(bdb_env_close(f->env), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    cr_assert_eq(system(cmd), 0);
}

/* One change of key i: an insert of a new version with a length that
 * moves it between inline and data storage, or a delete. */
static int change(bdb_map *m, model *md, int i, unsigned step)
{
    uint8_t k[32];
    uint64_t list[ELEMS];
    key_of(i, k);
    if (step % 7 == 3) {
        int rc = bdb_map_delete(m, k);
        if (rc >= 0) md->len[i] = -1;
        return rc < 0 ? rc : 0;
    }
    int len = (int)((step * 5 + (unsigned)i) % (ELEMS + 1));
    uint64_t version = md->version[i] + 1, ref = (step % 5 == 1) ? 2 : 1;
    list_of(i, version, len, list);
    int rc = bdb_map_insert(m, k, list, (size_t)len, ref);
    if (rc == 0) {
        md->len[i] = len;
        md->version[i] = version;
        md->ref[i] = ref;
    }
    return rc;
}

/* Runs the workload with the nth call of `op` failing: each failing call
 * must leave its key as it was; then the faults stop and the workload
 * and a flush must succeed; a reopen must see the model. */
static uint64_t run_with_fault(bdb_fs_op op, uint64_t nth, int err)
{
    fixture f;
    fixture_open_env(&f);
    static model md;
    for (int i = 0; i < KEYS; i++) md.len[i] = -1, md.version[i] = 0, md.ref[i] = 1;
    bdb_map *m;
    cr_assert_eq(bdb_map_open(f.env, &f.o, &m), 0, "%s", bdb_errmsg());
    /* a clean base: files exist, so later changes rewrite headers */
    for (int i = 0; i < KEYS / 2; i++) cr_assert_eq(change(m, &md, i, 1), 0, "%s", bdb_errmsg());
    cr_assert_eq(bdb_map_flush(m), 0, "%s", bdb_errmsg());

    fault_arm(&f.plan, op, err, nth, FAULT_ONCE, "bdbmap-");
    int failures = 0;
    for (unsigned step = 0; step < 4; step++) {
        for (int i = 0; i < KEYS; i++) {
            int rc = change(m, &md, i, step + 2);
            if (rc) {
                failures++;
                cr_assert(rc < 0, "a failure is a negative code");
                check_key(m, &md, i); /* nothing changed */
            }
        }
        int rc = bdb_map_flush(m);
        if (rc) failures++;
    }
    fault_disarm(&f.plan);
    check_all(m, &md);
    cr_assert(failures <= 1, "one injected fault, %d failures", failures);
    if (fault_injected(&f.plan, op))
        cr_assert_eq(failures, 1, "the injected %s fault was not reported", bdb_fs_op_name(op));
    for (int i = 0; i < KEYS; i++) cr_assert_eq(change(m, &md, i, 9), 0, "%s", bdb_errmsg());
    cr_assert_eq(bdb_map_close(m), 0, "%s", bdb_errmsg());

    cr_assert_eq(bdb_map_open(f.env, &f.o, &m), 0, "%s", bdb_errmsg());
    size_t nd;
    bdb_map_discarded(m, 0, NULL, &nd);
    for (size_t d = 0; d < nd; d++) {
        bdb_map_discard x;
        bdb_map_discarded(m, d, &x, NULL);
        /* only leftovers of the failed operation may be swept */
        cr_assert(strstr(x.reason, "temporary") || strstr(x.reason, "not named"),
                  "discarded %s: %s", x.path, x.reason);
    }
    check_all(m, &md);
    cr_assert_eq(bdb_map_close(m), 0);
    uint64_t r = nth ? fault_injected(&f.plan, op) : atomic_load(&f.plan.matched);
    fixture_close(&f);
    return r;
}

/* Each operation's calls in the faulty phase, failing one at a time: a
 * first run with nth 0 counts them (the hook never fails the 0th). */
static void sweep(bdb_fs_op op, int err)
{
    uint64_t calls = run_with_fault(op, 0, err);
    cr_assert_gt(calls, 0, "the workload makes no %s call", bdb_fs_op_name(op));
    uint64_t nths[] = {1, 2, calls / 3, calls / 2, (2 * calls) / 3, calls}, prev = 0;
    for (size_t i = 0; i < sizeof nths / sizeof nths[0]; i++) {
        if (nths[i] <= prev) continue;
        prev = nths[i];
        cr_assert_eq(run_with_fault(op, nths[i], err), 1, "%s fault %llu of %llu not injected",
                     bdb_fs_op_name(op), (unsigned long long)nths[i], (unsigned long long)calls);
    }
}

TestSuite(map_faults, .timeout = 120);

Test(map_faults, create_fails)
{
    sweep(BDB_FS_OPEN, ENOSPC);
}

Test(map_faults, allocate_fails)
{
    sweep(BDB_FS_WRITE, ENOSPC);
}

Test(map_faults, map_fails)
{
    sweep(BDB_FS_MMAP, ENOMEM);
}

Test(map_faults, rename_fails)
{
    sweep(BDB_FS_RENAME, EIO);
}

Test(map_faults, sync_fails)
{
    sweep(BDB_FS_FSYNC, EIO);
}

Test(map_faults, the_workload_reaches_every_operation)
{
    /* the sweeps above test something only if the workload performs these
     * operations on the map's files */
    fixture f;
    fixture_open_env(&f);
    static model md;
    for (int i = 0; i < KEYS; i++) md.len[i] = -1, md.version[i] = 0, md.ref[i] = 1;
    bdb_map *m;
    cr_assert_eq(bdb_map_open(f.env, &f.o, &m), 0);
    for (unsigned step = 1; step < 6; step++) {
        for (int i = 0; i < KEYS; i++) cr_assert_eq(change(m, &md, i, step), 0);
        cr_assert_eq(bdb_map_flush(m), 0);
    }
    check_all(m, &md);
    cr_assert_eq(bdb_map_close(m), 0);
    const bdb_fs_op ops[] = {BDB_FS_OPEN, BDB_FS_WRITE, BDB_FS_MMAP, BDB_FS_RENAME, BDB_FS_FSYNC};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        cr_assert_gt(fault_seen(&f.plan, ops[i]), 10, "%s: %llu calls", bdb_fs_op_name(ops[i]),
                     (unsigned long long)fault_seen(&f.plan, ops[i]));
    fixture_close(&f);
}
