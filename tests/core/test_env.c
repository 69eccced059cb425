/* The environment through the public API only, linked against the shared
 * library as a user program would be. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bucketdb/bucketdb.h"

TestSuite(env);

Test(env, defaults)
{
    bdb_env_options o;
    memset(&o, 0x5A, sizeof o);
    bdb_env_options_init(&o);
    cr_assert_eq(o.threads, 0);
    cr_assert_eq(o.use_jemalloc_arena, 1);
    cr_assert_eq(o.max_queued_tasks, 0);
    cr_assert_null(o.fault_hook);
    cr_assert_null(o.fault_ctx);
}

Test(env, default_threads_are_online_cpus)
{
    bdb_env *env;
    cr_assert_eq(bdb_env_open(NULL, &env), 0, "%s", bdb_errmsg());
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cr_assert_eq(bdb_env_threads(env), (unsigned)cpus);
    bdb_stats st;
    cr_assert_eq(bdb_env_stats(env, &st), 0);
    cr_assert_eq(st.pool.threads, (unsigned)cpus);
    cr_assert_gt(st.mem[BDB_MEM_CORE].bytes, 0, "the env itself is accounted");
    cr_assert_eq(st.mem_total.bytes, st.mem[BDB_MEM_CORE].bytes + st.mem[BDB_MEM_POOL].bytes);
    cr_assert_eq(bdb_env_close(env), 0, "%s", bdb_errmsg());
}

Test(env, out_of_range_options_name_the_option)
{
    bdb_env_options o;
    bdb_env *env = (bdb_env *)&o; /* must be overwritten with NULL */
    bdb_env_options_init(&o);
    o.threads = BDB_MAX_THREADS + 1;
    cr_assert_eq(bdb_env_open(&o, &env), BDB_EINVAL);
    cr_assert_null(env);
    cr_assert(strstr(bdb_errmsg(), "threads") != NULL, "%s", bdb_errmsg());
    cr_assert(strstr(bdb_errmsg(), "1025") != NULL, "%s", bdb_errmsg());

    bdb_env_options_init(&o);
    o.use_jemalloc_arena = 7;
    cr_assert_eq(bdb_env_open(&o, &env), BDB_EINVAL);
    cr_assert(strstr(bdb_errmsg(), "use_jemalloc_arena") != NULL, "%s", bdb_errmsg());

    cr_assert_eq(bdb_env_open(&o, NULL), BDB_EINVAL);
}

Test(env, explicit_thread_count_and_limits)
{
    unsigned counts[] = {1, 3, BDB_MAX_THREADS};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        bdb_env_options o;
        bdb_env_options_init(&o);
        o.threads = counts[i];
        bdb_env *env;
        cr_assert_eq(bdb_env_open(&o, &env), 0, "%s", bdb_errmsg());
        cr_assert_eq(bdb_env_threads(env), counts[i]);
        cr_assert_eq(bdb_env_close(env), 0);
    }
}

/* Repeated open/close must not accumulate threads, arenas or memory. */
Test(env, open_close_cycles)
{
    for (int i = 0; i < 200; i++) {
        bdb_env_options o;
        bdb_env_options_init(&o);
        o.threads = 2;
        o.use_jemalloc_arena = i & 1;
        bdb_env *env;
        cr_assert_eq(bdb_env_open(&o, &env), 0, "cycle %d: %s", i, bdb_errmsg());
        cr_assert_eq(bdb_env_close(env), 0, "cycle %d: %s", i, bdb_errmsg());
    }
    /* threads of this process: only the test's own (plus liburcu's) */
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int threads = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &threads) == 1) break;
    if (f) fclose(f);
    cr_assert_leq(threads, 3, "%d threads left after 200 cycles", threads);
}

Test(env, close_null_and_names)
{
    cr_assert_eq(bdb_env_close(NULL), 0);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", BDB_VERSION_MAJOR, BDB_VERSION_MINOR,
             BDB_VERSION_PATCH);
    cr_assert_str_eq(bdb_version(), want);
    cr_assert_str_eq(bdb_fs_op_name(BDB_FS_RENAME), "rename");
    cr_assert_str_eq(bdb_fs_op_name(BDB_FS__COUNT), "unknown");
    cr_assert_eq(bdb_env_stats(NULL, NULL), BDB_EINVAL);
}
