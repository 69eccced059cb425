#include "config.h"

#include "env.h"

#include <string.h>
#include <unistd.h>

#include "error.h"
#include "pool.h"
#include "rcu.h"

BDB_API const char *bdb_version(void)
{
    return PACKAGE_VERSION;
}

BDB_API void bdb_env_options_init(bdb_env_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->threads = 0;
    opts->use_jemalloc_arena = 1;
    opts->max_queued_tasks = 0;
    opts->fault_hook = NULL;
    opts->fault_ctx = NULL;
}

static int check_options(const bdb_env_options *o)
{
    if (o->threads > BDB_MAX_THREADS)
        return bdbi_err(BDB_EINVAL, "option threads = %u is out of range [0, %d]", o->threads,
                        BDB_MAX_THREADS);
    if (o->use_jemalloc_arena != 0 && o->use_jemalloc_arena != 1)
        return bdbi_err(BDB_EINVAL, "option use_jemalloc_arena = %d must be 0 or 1",
                        o->use_jemalloc_arena);
    return 0;
}

/* Frees the env's own block and its arena. The block holds the
 * allocator, so the free is done through a stack copy of it. */
static int env_free(bdb_env *env)
{
    bdb_env last;
    memcpy(&last, env, sizeof last);
    bdbi_free(&last, BDB_MEM_CORE, env, sizeof *env);
    return bdbi_alloc_fini(&last.alloc);
}

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) return 1;
    return n > BDB_MAX_THREADS ? BDB_MAX_THREADS : (unsigned)n;
}

BDB_API int bdb_env_open(const bdb_env_options *opts, bdb_env **out)
{
    bdb_env_options defaults;
    if (!out) return bdbi_err(BDB_EINVAL, "bdb_env_open: out is NULL");
    *out = NULL;
    if (!opts) {
        bdb_env_options_init(&defaults);
        opts = &defaults;
    }
    int rc = check_options(opts);
    if (rc) return rc;

    /* The env holds its own allocator, so it is allocated before one
     * exists: bootstrap it in a stack copy, then move it into the arena
     * it created. The counters start at zero, so copying them is exact. */
    bdb_env boot;
    memset(&boot, 0, sizeof boot);
    rc = bdbi_alloc_init(&boot.alloc, opts->use_jemalloc_arena);
    if (rc) return rc;
    bdb_env *env = bdbi_calloc(&boot, BDB_MEM_CORE, 1, sizeof *env);
    if (!env) {
        (void)bdbi_alloc_fini(&boot.alloc);
        return BDB_ENOMEM;
    }
    memcpy(env, &boot, sizeof boot);
    env->opts = *opts;
    env->threads = opts->threads ? opts->threads : online_cpus();

    rc = bdbi_pool_create(env, env->threads, opts->max_queued_tasks, &env->pool);
    if (rc) {
        (void)env_free(env);
        return rc;
    }
    *out = env;
    return 0;
}

void bdbi_env_retain(bdb_env *env)
{
    atomic_fetch_add_explicit(&env->users, 1, memory_order_relaxed);
}

void bdbi_env_release(bdb_env *env)
{
    atomic_fetch_sub_explicit(&env->users, 1, memory_order_release);
}

BDB_API int bdb_env_close(bdb_env *env)
{
    if (!env) return 0;
    int64_t users = atomic_load_explicit(&env->users, memory_order_acquire);
    if (users)
        return bdbi_err(BDB_EBUSY, "environment still has %lld open store(s)", (long long)users);
    if (bdbi_pool_current() == env->pool)
        return bdbi_err(BDB_EINVAL, "a pool worker cannot close its own environment");
    (void)bdbi_pool_destroy(env->pool);
    env->pool = NULL;
    /* callbacks queued by stores may still free memory of this env */
    bdbi_rcu_barrier();
    return env_free(env);
}

BDB_API unsigned bdb_env_threads(const bdb_env *env)
{
    return env->threads;
}

BDB_API int bdb_env_stats(bdb_env *env, bdb_stats *out)
{
    if (!env || !out) return bdbi_err(BDB_EINVAL, "bdb_env_stats: NULL argument");
    memset(out, 0, sizeof *out);
    bdbi_alloc_stats(&env->alloc, out->mem, &out->mem_total, &out->arena_active_bytes);
    bdbi_pool_stats(env->pool, &out->pool);
    for (int i = 0; i < BDB_FS__COUNT; i++)
        out->faults_injected[i] = atomic_load_explicit(&env->faults[i], memory_order_relaxed);
    return 0;
}
