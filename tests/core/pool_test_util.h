/* Helpers shared by the tests of the thread pool (lib/core/pool.c):
 * test_pool.c, test_pool_lifecycle.c and test_pool_workers.c.
 *
 * Orderings are created with gates, never with sleeps: a task that waits on
 * a gate occupies the only worker of a 1-thread pool, so the test can queue
 * tasks behind it, inspect the queue, and then open the gate. (One test of
 * test_pool_lifecycle.c bounds a wait for an event that a correct pool
 * never produces early; its result does not depend on that bound.)
 * Assertions are only made on the test thread; tasks and helper threads
 * record what they saw and the test checks it after a wait that orders
 * those writes before the reads. Every test closes its environment and
 * requires 0, which also proves that no future or pool block leaked.
 *
 * Header-only: everything is static. Include it after "config.h". */
#ifndef BDB_TESTS_POOL_TEST_UTIL_H
#define BDB_TESTS_POOL_TEST_UTIL_H

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"
#include "core/env.h"
#include "core/pool.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

static inline bdb_env *open_env(unsigned threads, size_t max_queued)
{
    bdb_env_options opts;
    bdb_env_options_init(&opts);
    opts.threads = threads;
    opts.max_queued_tasks = max_queued;
    bdb_env *env = NULL;
    int rc = bdb_env_open(&opts, &env);
    cr_assert_eq(rc, 0, "bdb_env_open: %d %s", rc, bdb_errmsg());
    cr_assert_not_null(env);
    cr_assert_not_null(env->pool);
    return env;
}

static inline void close_env(bdb_env *env)
{
    int rc = bdb_env_close(env);
    cr_assert_eq(rc, 0, "bdb_env_close: %d %s", rc, bdb_errmsg());
}

/* Bytes currently allocated for BDB_MEM_POOL. */
static inline uint64_t pool_mem(bdb_env *env)
{
    bdb_stats st;
    cr_assert_eq(bdb_env_stats(env, &st), 0);
    return st.mem[BDB_MEM_POOL].bytes;
}

/* A gate holds a task on a worker until the test opens it. The task marks
 * itself entered first, so the test knows the worker is busy. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered;
    int open;
    int rc; /* what gate_task returns */
};

static inline void gate_init(struct gate *g, int rc)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->entered = 0;
    g->open = 0;
    g->rc = rc;
}

static inline void gate_destroy(struct gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

/* Called by a task: announce it runs, then block until the gate opens. */
static inline void gate_pass(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->entered++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static inline void gate_wait_entered(struct gate *g, int n)
{
    pthread_mutex_lock(&g->mu);
    while (g->entered < n) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static inline void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static inline int gate_task(void *arg, bdbi_future *self)
{
    (void)self;
    struct gate *g = arg;
    gate_pass(g);
    return g->rc;
}

/* Occupies the only worker of `p` with gate_task and returns its future once
 * the task is running (so it is no longer in the queue). */
static inline bdbi_future *block_worker(bdbi_pool *p, struct gate *g)
{
    bdbi_future *f = NULL;
    cr_assert_eq(bdbi_pool_submit(p, gate_task, g, 0, &f), 0, "%s", bdb_errmsg());
    gate_wait_entered(g, 1);
    return f;
}

/* Runs `n` tasks that each wait until all `n` are running. On an idle pool
 * of `n` workers this makes every worker run one of them, so every worker
 * has started (and freed its start block, which matters for the memory
 * counters). */
struct rendezvous {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned arrived, n;
};

static inline int rendezvous_task(void *arg, bdbi_future *self)
{
    (void)self;
    struct rendezvous *r = arg;
    pthread_mutex_lock(&r->mu);
    if (++r->arrived == r->n) pthread_cond_broadcast(&r->cv);
    while (r->arrived < r->n) pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

static inline void warm_up(bdbi_pool *p, unsigned n)
{
    struct rendezvous r = {.arrived = 0, .n = n};
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    bdbi_future *f[64];
    cr_assert_leq(n, 64u);
    for (unsigned i = 0; i < n; i++)
        cr_assert_eq(bdbi_pool_submit(p, rendezvous_task, &r, BDBI_NO_DEADLINE, &f[i]), 0);
    for (unsigned i = 0; i < n; i++) {
        cr_assert_eq(bdbi_future_wait(f[i]), 0);
        bdbi_future_release(f[i]);
    }
    pthread_cond_destroy(&r.cv);
    pthread_mutex_destroy(&r.mu);
}

/* Records the order in which tasks run. */
#define MAX_REC 1024
struct recorder {
    _Atomic int n;
    int ids[MAX_REC];
};

/* One recorded task: appends `id` to `rec` (if any), counts its runs and
 * returns `rc`. */
struct item {
    struct recorder *rec;
    int id;
    int rc;
    _Atomic int runs;
};

static inline int record_task(void *arg, bdbi_future *self)
{
    (void)self;
    struct item *it = arg;
    atomic_fetch_add(&it->runs, 1);
    if (it->rec) {
        int i = atomic_fetch_add(&it->rec->n, 1);
        if (i < MAX_REC) it->rec->ids[i] = it->id;
    }
    return it->rc;
}

/* Writes into out[] the indexes 0..n-1 that are not skipped, stably sorted
 * by deadline (BDBI_NO_DEADLINE sorts last, ties by index); returns how
 * many. */
static inline int expected_order(const uint64_t *dl, const char *skip, int n, int *out)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (skip && skip[i]) continue;
        int j = m++;
        while (j > 0 && dl[out[j - 1]] > dl[i]) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = i;
    }
    return m;
}

/* Checks the pool counters, through bdbi_pool_stats and, for the
 * environment's own pool, through bdb_env_stats. */
static inline void check_stats(bdb_env *env, bdbi_pool *p, uint64_t queued, uint64_t running,
                               uint64_t submitted, uint64_t completed, uint64_t canceled)
{
    bdb_pool_stats s[2];
    int n = 1;
    bdbi_pool_stats(p, &s[0]);
    if (p == env->pool) {
        bdb_stats st;
        cr_assert_eq(bdb_env_stats(env, &st), 0);
        s[n++] = st.pool;
    }
    for (int i = 0; i < n; i++) {
        const char *via = i ? "bdb_env_stats" : "bdbi_pool_stats";
        cr_expect_eq(s[i].queued, queued, "%s: queued %llu, expected %llu", via,
                     (unsigned long long)s[i].queued, (unsigned long long)queued);
        cr_expect_eq(s[i].running, running, "%s: running %llu, expected %llu", via,
                     (unsigned long long)s[i].running, (unsigned long long)running);
        cr_expect_eq(s[i].submitted, submitted, "%s: submitted %llu, expected %llu", via,
                     (unsigned long long)s[i].submitted, (unsigned long long)submitted);
        cr_expect_eq(s[i].completed, completed, "%s: completed %llu, expected %llu", via,
                     (unsigned long long)s[i].completed, (unsigned long long)completed);
        cr_assert_eq(s[i].canceled, canceled, "%s: canceled %llu, expected %llu", via,
                     (unsigned long long)s[i].canceled, (unsigned long long)canceled);
    }
}

#endif
