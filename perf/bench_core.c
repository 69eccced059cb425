/* Micro-benchmarks of the core runtime: what one allocation, one pool
 * task and one RCU read-side section cost. Prints medians of repeated
 * runs as a markdown table. Not a test: `make bench-core` runs it. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bucketdb/bucketdb.h"
#include "core/alloc.h"
#include "core/env.h"
#include "core/pool.h"
#include "core/rcu.h"

#include "bench_util.h"

#define REPS 7

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ns per malloc+free pair of `size` bytes, with a working set of 256
 * live blocks so the allocator cannot just hand back the last block */
static double alloc_pair_ns(bdb_env *env, size_t size, int raw)
{
    enum { LIVE = 256, N = 400000 };
    void *live[LIVE] = {0};
    double t0 = now_ns();
    for (int i = 0; i < N; i++) {
        int s = (int)((unsigned)i * 2654435761u >> 24) % LIVE;
        if (live[s]) {
            if (raw)
                free(live[s]);
            else
                bdbi_free(env, BDB_MEM_OTHER, live[s], size);
        }
        live[s] = raw ? malloc(size) : bdbi_malloc(env, BDB_MEM_OTHER, size);
    }
    double t = (now_ns() - t0) / N;
    for (int s = 0; s < LIVE; s++) {
        if (!live[s]) continue;
        if (raw)
            free(live[s]);
        else
            bdbi_free(env, BDB_MEM_OTHER, live[s], size);
    }
    return t;
}

struct alloc_bench {
    bdb_env *env;
    size_t size;
    double ns;
};

static int alloc_bench_task(void *arg, bdbi_future *self)
{
    (void)self;
    struct alloc_bench *b = arg;
    b->ns = alloc_pair_ns(b->env, b->size, 0);
    return 0;
}

/* the same, on a pool worker (which has its own tcache for the arena) */
static double alloc_pair_on_worker_ns(bdb_env *env, size_t size)
{
    struct alloc_bench b = {env, size, 0};
    bdbi_future *f;
    if (bdbi_pool_submit(env->pool, alloc_bench_task, &b, 0, &f) != 0) return -1;
    bdbi_future_wait(f);
    bdbi_future_release(f);
    return b.ns;
}

static int nop_task(void *arg, bdbi_future *self)
{
    (void)arg;
    (void)self;
    return 0;
}

static double task_ns(bdb_env *env)
{
    enum { N = 20000 };
    static bdbi_future *f[N];
    double t0 = now_ns();
    for (int i = 0; i < N; i++) bdbi_pool_submit(env->pool, nop_task, NULL, (uint64_t)i, &f[i]);
    for (int i = 0; i < N; i++) {
        bdbi_future_wait(f[i]);
        bdbi_future_release(f[i]);
    }
    return (now_ns() - t0) / N;
}

static double rcu_section_ns(void)
{
    enum { N = 10000000 };
    static int x;
    static int *p = &x;
    long sum = 0;
    double t0 = now_ns();
    for (int i = 0; i < N; i++) {
        bdbi_rcu_read_lock();
        sum += *bdbi_rcu_deref(p);
        bdbi_rcu_read_unlock();
    }
    double t = (now_ns() - t0) / N;
    return sum < 0 ? 0 : t;
}

int main(void)
{
    bdb_env_options o;
    bdb_env_options_init(&o);
    bdb_env *arena_env, *malloc_env;
    if (bdb_env_open(&o, &arena_env) != 0) return 1;
    o.use_jemalloc_arena = 0;
    if (bdb_env_open(&o, &malloc_env) != 0) return 1;

    printf("| figure | median of %d runs |\n|---|---|\n", REPS);
    size_t sizes[] = {64, 4096};
    for (size_t k = 0; k < 2; k++) {
        double w[REPS], a[REPS], m[REPS], r[REPS];
        for (int i = 0; i < REPS; i++) {
            w[i] = alloc_pair_on_worker_ns(arena_env, sizes[k]);
            a[i] = alloc_pair_ns(arena_env, sizes[k], 0);
            m[i] = alloc_pair_ns(malloc_env, sizes[k], 0);
            r[i] = alloc_pair_ns(NULL, sizes[k], 1);
        }
        printf("| alloc+free %zu B, bdbi_malloc on a pool worker (arena + worker tcache) | %.1f ns "
               "|\n",
               sizes[k], median(w, REPS));
        printf("| alloc+free %zu B, bdbi_malloc on another thread (arena, no tcache) | %.1f ns |\n",
               sizes[k], median(a, REPS));
        printf("| alloc+free %zu B, bdbi_malloc, process malloc | %.1f ns |\n", sizes[k],
               median(m, REPS));
        printf("| alloc+free %zu B, plain malloc/free (peer) | %.1f ns |\n", sizes[k],
               median(r, REPS));
    }
    double t[REPS], s[REPS];
    for (int i = 0; i < REPS; i++) t[i] = task_ns(arena_env);
    printf("| pool task submit+run+wait+release, %u workers | %.0f ns/task |\n",
           bdb_env_threads(arena_env), median(t, REPS));
    for (int i = 0; i < REPS; i++) s[i] = rcu_section_ns();
    printf("| RCU read lock + dereference + unlock | %.1f ns |\n", median(s, REPS));
    bdbi_rcu_unregister();
    bdb_env_close(malloc_env);
    bdb_env_close(arena_env);
    return 0;
}
