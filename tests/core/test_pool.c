#include "config.h"

/* Tests of the thread pool (lib/core/pool.c): earliest-deadline-first
 * order, futures, cancellation, nested tasks, shutdown, the queue bound,
 * counters and memory accounting, RCU registration of workers and a
 * concurrent-submitters run.
 *
 * Orderings are created with gates, never with sleeps: a task that waits on
 * a gate occupies the only worker of a 1-thread pool, so the test can queue
 * tasks behind it, inspect the queue, and then open the gate. (One test
 * bounds a wait for an event that a correct pool never produces early; its
 * result does not depend on that bound.) Assertions are
 * only made on the test thread; tasks and helper threads record what they
 * saw and the test checks it after a wait that orders those writes before
 * the reads. Every test closes its environment and requires 0, which also
 * proves that no future or pool block leaked. */

#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bucketdb/bucketdb.h"
#include "core/env.h"
#include "core/pool.h"
#include "core/rcu.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

static bdb_env *open_env(unsigned threads, size_t max_queued)
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

static void close_env(bdb_env *env)
{
    int rc = bdb_env_close(env);
    cr_assert_eq(rc, 0, "bdb_env_close: %d %s", rc, bdb_errmsg());
}

/* Bytes currently allocated for BDB_MEM_POOL. */
static uint64_t pool_mem(bdb_env *env)
{
    bdb_stats st;
    cr_assert_eq(bdb_env_stats(env, &st), 0);
    return st.mem[BDB_MEM_POOL].bytes;
}

/* A small deterministic generator (PCG-style LCG) for shuffled deadlines. */
static uint32_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
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

static void gate_init(struct gate *g, int rc)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->entered = 0;
    g->open = 0;
    g->rc = rc;
}

static void gate_destroy(struct gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

/* Called by a task: announce it runs, then block until the gate opens. */
static void gate_pass(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->entered++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_wait_entered(struct gate *g, int n)
{
    pthread_mutex_lock(&g->mu);
    while (g->entered < n) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static int gate_task(void *arg, bdbi_future *self)
{
    (void)self;
    struct gate *g = arg;
    gate_pass(g);
    return g->rc;
}

/* Occupies the only worker of `p` with gate_task and returns its future once
 * the task is running (so it is no longer in the queue). */
static bdbi_future *block_worker(bdbi_pool *p, struct gate *g)
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

static int rendezvous_task(void *arg, bdbi_future *self)
{
    (void)self;
    struct rendezvous *r = arg;
    pthread_mutex_lock(&r->mu);
    if (++r->arrived == r->n) pthread_cond_broadcast(&r->cv);
    while (r->arrived < r->n) pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

static void warm_up(bdbi_pool *p, unsigned n)
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

static int record_task(void *arg, bdbi_future *self)
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
static int expected_order(const uint64_t *dl, const char *skip, int n, int *out)
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
static void check_stats(bdb_env *env, bdbi_pool *p, uint64_t queued, uint64_t running,
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

/* Queues n recorded tasks with deadlines dl[] behind the blocked only
 * worker of env->pool, cancels those with cancel[i] set (each cancel must
 * return 1), opens the gate and checks that the others ran exactly once in
 * expected_order() and that the canceled ones never ran. */
static void run_edf(bdb_env *env, int n, const uint64_t *dl, const char *cancel)
{
    bdbi_pool *p = env->pool;
    struct recorder *rec = calloc(1, sizeof *rec);
    struct item *it = calloc((size_t)n, sizeof *it);
    bdbi_future **f = calloc((size_t)n, sizeof *f);
    int *want = calloc((size_t)n, sizeof *want);
    cr_assert(rec && it && f && want);
    cr_assert_leq(n, MAX_REC);

    bdb_pool_stats b; /* counters before; the checks below are relative */
    bdbi_pool_stats(p, &b);
    struct gate g;
    gate_init(&g, 0);
    bdbi_future *gf = block_worker(p, &g);
    for (int i = 0; i < n; i++) {
        it[i] = (struct item){.rec = rec, .id = i, .rc = -(i % 16)};
        cr_assert_eq(bdbi_pool_submit(p, record_task, &it[i], dl[i], &f[i]), 0, "task %d: %s", i,
                     bdb_errmsg());
    }
    int ncanceled = 0;
    for (int i = 0; cancel && i < n; i++) {
        if (!cancel[i]) continue;
        cr_assert_eq(bdbi_future_cancel(f[i]), 1, "cancel of queued task %d", i);
        ncanceled++;
    }
    check_stats(env, p, (uint64_t)(n - ncanceled), 1, b.submitted + (uint64_t)n + 1, b.completed,
                b.canceled + (uint64_t)ncanceled);
    gate_open(&g);

    for (int i = 0; i < n; i++) {
        int rc = bdbi_future_wait(f[i]);
        if (cancel && cancel[i]) {
            cr_expect_eq(rc, BDB_ECANCELED, "task %d: wait gave %d", i, rc);
            cr_expect_eq(atomic_load(&it[i].runs), 0, "canceled task %d ran", i);
        } else {
            cr_expect_eq(rc, -(i % 16), "task %d: wait gave %d", i, rc);
            cr_expect_eq(atomic_load(&it[i].runs), 1, "task %d ran %d times", i,
                         atomic_load(&it[i].runs));
        }
    }
    cr_assert_eq(bdbi_future_wait(gf), 0);

    int m = expected_order(dl, cancel, n, want);
    cr_assert_eq(atomic_load(&rec->n), m, "%d tasks ran, expected %d", atomic_load(&rec->n), m);
    for (int k = 0; k < m; k++)
        cr_assert_eq(rec->ids[k], want[k], "position %d: task %d ran, expected task %d", k,
                     rec->ids[k], want[k]);
    check_stats(env, p, 0, 0, b.submitted + (uint64_t)n + 1,
                b.completed + (uint64_t)(n - ncanceled) + 1, b.canceled + (uint64_t)ncanceled);

    bdbi_future_release(gf);
    for (int i = 0; i < n; i++) bdbi_future_release(f[i]);
    gate_destroy(&g);
    free(want);
    free(f);
    free(it);
    free(rec);
}

TestSuite(pool, .timeout = 30);

/* ------------------------------------------------------------------ */
/* 1. Earliest deadline first                                         */
/* ------------------------------------------------------------------ */

Test(pool, edf_order_small)
{
    /* Deadlines out of order, with ties and no-deadline tasks interleaved;
     * the expected order is written out by hand. */
    const uint64_t N = BDBI_NO_DEADLINE;
    const uint64_t dl[] = {30, 10, N, 20, 10, 0, N, 50, 20, 10, N, 5, 40, 0, N};
    const int want[] = {5, 13, 11, 1, 4, 9, 3, 8, 0, 12, 7, 2, 6, 10, 14};
    enum { n = sizeof dl / sizeof dl[0] };
    int got[n];
    cr_assert_eq(expected_order(dl, NULL, n, got), n);
    cr_assert_arr_eq(got, want, sizeof want, "expected_order() disagrees with the hand order");

    bdb_env *env = open_env(1, 0);
    run_edf(env, n, dl, NULL);
    close_env(env);
}

Test(pool, edf_order_large)
{
    /* 300 tasks (more than the heap's initial capacity of 64, so it grows
     * while queued) with many equal deadlines; every 5th has none. */
    enum { n = 300 };
    uint64_t dl[n];
    uint64_t s = 42;
    for (int i = 0; i < n; i++) dl[i] = i % 5 == 3 ? BDBI_NO_DEADLINE : rng_next(&s) % 40;

    bdb_env *env = open_env(1, 0);
    run_edf(env, n, dl, NULL);
    close_env(env);
}

/* ------------------------------------------------------------------ */
/* 2. Futures                                                         */
/* ------------------------------------------------------------------ */

Test(pool, future_wait_returns_task_result)
{
    bdb_env *env = open_env(2, 0);
    const int rcs[] = {0, BDB_EIO, BDB_ENOTFOUND, 0, BDB_ECORRUPT, BDB_EINTERNAL, BDB_ECANCELED};
    enum { n = sizeof rcs / sizeof rcs[0] };
    struct item it[n];
    bdbi_future *f[n];
    for (int i = 0; i < n; i++) {
        it[i] = (struct item){.id = i, .rc = rcs[i]};
        cr_assert_eq(bdbi_pool_submit(env->pool, record_task, &it[i], (uint64_t)i, &f[i]), 0);
        cr_assert_not_null(f[i]);
    }
    for (int i = 0; i < n; i++) {
        cr_expect_eq(bdbi_future_wait(f[i]), rcs[i], "task %d", i);
        /* a finished future answers the same every time */
        cr_expect_eq(bdbi_future_wait(f[i]), rcs[i], "task %d, second wait", i);
        int rc = 12345;
        cr_expect_eq(bdbi_future_poll(f[i], &rc), 1);
        cr_expect_eq(rc, rcs[i]);
        cr_expect_eq(bdbi_future_result(f[i]), rcs[i]);
        /* a task that returns BDB_ECANCELED itself was not canceled */
        cr_expect_eq(bdbi_future_canceled(f[i]), 0);
        cr_expect_eq(atomic_load(&it[i].runs), 1);
    }
    for (int i = 0; i < n; i++) bdbi_future_release(f[i]);
    bdbi_future_release(NULL); /* a no-op */
    check_stats(env, env->pool, 0, 0, n, n, 0);
    close_env(env);
}

Test(pool, future_poll_before_and_after_completion)
{
    bdb_env *env = open_env(1, 0);
    struct gate g;
    gate_init(&g, BDB_EBUSY);
    bdbi_future *gf = block_worker(env->pool, &g);
    struct item it = {.rc = BDB_EEXIST};
    bdbi_future *f;
    cr_assert_eq(bdbi_pool_submit(env->pool, record_task, &it, 7, &f), 0);

    /* queued task and running task: not finished, *rc untouched */
    bdbi_future *pending[] = {f, gf};
    for (int i = 0; i < 2; i++) {
        int rc = 12345;
        cr_expect_eq(bdbi_future_poll(pending[i], &rc), 0, "future %d", i);
        cr_expect_eq(rc, 12345, "poll changed *rc of an unfinished future %d", i);
        cr_expect_eq(bdbi_future_poll(pending[i], NULL), 0);
        cr_expect_eq(bdbi_future_result(pending[i]), BDB_EAGAIN);
        cr_expect_eq(bdbi_future_canceled(pending[i]), 0);
    }
    cr_expect_eq(atomic_load(&it.runs), 0);

    gate_open(&g);
    cr_assert_eq(bdbi_future_wait(f), BDB_EEXIST);
    cr_assert_eq(bdbi_future_wait(gf), BDB_EBUSY);
    for (int i = 0; i < 2; i++) {
        int rc = 12345;
        cr_expect_eq(bdbi_future_poll(pending[i], &rc), 1, "future %d", i);
        cr_expect_eq(rc, i ? BDB_EBUSY : BDB_EEXIST);
        cr_expect_eq(bdbi_future_poll(pending[i], NULL), 1);
        cr_expect_eq(bdbi_future_result(pending[i]), i ? BDB_EBUSY : BDB_EEXIST);
    }
    bdbi_future_release(f);
    bdbi_future_release(gf);
    gate_destroy(&g);
    close_env(env);
}

Test(pool, detached_tasks_run_and_are_freed)
{
    bdb_env *env = open_env(1, 0);
    warm_up(env->pool, 1);
    uint64_t mem0 = pool_mem(env);

    struct gate g;
    gate_init(&g, 0);
    bdbi_future *gf = block_worker(env->pool, &g);
    struct recorder rec = {0};
    struct item it[3];
    for (int i = 0; i < 3; i++) {
        it[i] = (struct item){.rec = &rec, .id = i, .rc = BDB_EIO};
        cr_assert_eq(bdbi_pool_submit(env->pool, record_task, &it[i], BDBI_NO_DEADLINE, NULL), 0);
    }
    /* The fence has the same deadline, so it runs after the detached tasks
     * (equal deadlines run in submission order): waiting on it waits for
     * them too. */
    struct item fence = {.rec = &rec, .id = 3};
    bdbi_future *ff;
    cr_assert_eq(bdbi_pool_submit(env->pool, record_task, &fence, BDBI_NO_DEADLINE, &ff), 0);
    check_stats(env, env->pool, 4, 1, 6, 1, 0);
    cr_assert_gt(pool_mem(env), mem0);

    gate_open(&g);
    cr_assert_eq(bdbi_future_wait(ff), 0);
    cr_assert_eq(bdbi_future_wait(gf), 0);
    for (int i = 0; i < 3; i++) cr_expect_eq(atomic_load(&it[i].runs), 1, "detached task %d", i);
    cr_assert_eq(atomic_load(&rec.n), 4);
    for (int i = 0; i < 4; i++) cr_expect_eq(rec.ids[i], i);
    check_stats(env, env->pool, 0, 0, 6, 6, 0);

    /* the detached futures were freed when their tasks finished */
    bdbi_future_release(ff);
    bdbi_future_release(gf);
    cr_assert_eq(pool_mem(env), mem0, "pool memory %llu, expected %llu",
                 (unsigned long long)pool_mem(env), (unsigned long long)mem0);
    gate_destroy(&g);
    close_env(env);
}

/* ------------------------------------------------------------------ */
/* 3. Cancel                                                          */
/* ------------------------------------------------------------------ */

Test(pool, cancel_queued_task)
{
    bdb_env *env = open_env(1, 0);
    struct gate g;
    gate_init(&g, 0);
    bdbi_future *gf = block_worker(env->pool, &g);
    struct recorder rec = {0};
    struct item it[3];
    bdbi_future *f[3];
    for (int i = 0; i < 3; i++) {
        it[i] = (struct item){.rec = &rec, .id = i, .rc = i == 1 ? BDB_EIO : 0};
        cr_assert_eq(bdbi_pool_submit(env->pool, record_task, &it[i], 5, &f[i]), 0);
    }
    cr_assert_eq(bdbi_future_cancel(f[1]), 1);

    /* finished at once, while the worker is still blocked */
    int rc = 12345;
    cr_expect_eq(bdbi_future_poll(f[1], &rc), 1);
    cr_expect_eq(rc, BDB_ECANCELED);
    cr_expect_eq(bdbi_future_result(f[1]), BDB_ECANCELED);
    cr_expect_eq(bdbi_future_canceled(f[1]), 1);
    cr_expect_eq(bdbi_future_canceled(f[0]), 0);
    cr_expect_eq(bdbi_future_canceled(f[2]), 0);
    check_stats(env, env->pool, 2, 1, 4, 0, 1);

    /* a second cancel finds it finished */
    cr_expect_eq(bdbi_future_cancel(f[1]), 0);
    check_stats(env, env->pool, 2, 1, 4, 0, 1);

    gate_open(&g);
    cr_expect_eq(bdbi_future_wait(f[0]), 0);
    cr_expect_eq(bdbi_future_wait(f[1]), BDB_ECANCELED);
    cr_expect_eq(bdbi_future_wait(f[2]), 0);
    cr_expect_eq(bdbi_future_wait(gf), 0);
    cr_expect_eq(atomic_load(&it[1].runs), 0, "the canceled task ran");
    cr_assert_eq(atomic_load(&rec.n), 2);
    cr_expect_eq(rec.ids[0], 0);
    cr_expect_eq(rec.ids[1], 2);
    check_stats(env, env->pool, 0, 0, 4, 3, 1);

    for (int i = 0; i < 3; i++) bdbi_future_release(f[i]);
    bdbi_future_release(gf);
    gate_destroy(&g);
    close_env(env);
}

/* A long task that checks for cancellation before every step; at step 10
 * it parks on a gate so that the test can cancel it while it runs. */
struct stepper {
    struct gate g;
    int steps;            /* steps done when it stopped */
    int canceled_at_gate; /* bdbi_future_canceled(self) when the gate opened */
};

static int stepper_task(void *arg, bdbi_future *self)
{
    struct stepper *s = arg;
    for (s->steps = 0; s->steps < 1000; s->steps++) {
        if (bdbi_future_canceled(self)) return BDB_ECANCELED;
        if (s->steps == 10) {
            gate_pass(&s->g);
            s->canceled_at_gate = bdbi_future_canceled(self);
        }
    }
    return 0;
}

Test(pool, cancel_running_task_is_asked_to_stop)
{
    bdb_env *env = open_env(1, 0);
    struct stepper s = {.steps = -1};
    gate_init(&s.g, 0);
    bdbi_future *f;
    cr_assert_eq(bdbi_pool_submit(env->pool, stepper_task, &s, 1, &f), 0);
    gate_wait_entered(&s.g, 1);

    cr_assert_eq(bdbi_future_cancel(f), 0, "cancel of a running task must return 0");
    cr_expect_eq(bdbi_future_canceled(f), 1);
    cr_expect_eq(bdbi_future_poll(f, NULL), 0, "the running task is not finished by cancel");
    check_stats(env, env->pool, 0, 1, 1, 0, 0);

    gate_open(&s.g);
    cr_assert_eq(bdbi_future_wait(f), BDB_ECANCELED);
    cr_expect_eq(s.canceled_at_gate, 1);
    cr_expect_eq(s.steps, 11, "the task stopped after %d steps", s.steps);
    /* it ran, so it counts as completed, not canceled */
    check_stats(env, env->pool, 0, 0, 1, 1, 0);

    bdbi_future_release(f);
    gate_destroy(&s.g);
    close_env(env);
}

Test(pool, cancel_finished_task_keeps_result)
{
    bdb_env *env = open_env(2, 0);
    struct item it = {.rc = BDB_EEXIST};
    bdbi_future *f;
    cr_assert_eq(bdbi_pool_submit(env->pool, record_task, &it, BDBI_NO_DEADLINE, &f), 0);
    cr_assert_eq(bdbi_future_wait(f), BDB_EEXIST);
    cr_assert_eq(bdbi_future_cancel(f), 0);
    cr_expect_eq(bdbi_future_result(f), BDB_EEXIST);
    cr_expect_eq(bdbi_future_wait(f), BDB_EEXIST);
    int rc = 0;
    cr_expect_eq(bdbi_future_poll(f, &rc), 1);
    cr_expect_eq(rc, BDB_EEXIST);
    cr_expect_eq(atomic_load(&it.runs), 1);
    check_stats(env, env->pool, 0, 0, 1, 1, 0);
    bdbi_future_release(f);
    close_env(env);
}

Test(pool, cancel_from_middle_of_heap_keeps_edf_order)
{
    /* 40 queued tasks; cancel the most urgent one (the heap root), the
     * least urgent one, the last submitted one (a leaf), and every 6th. */
    enum { n = 40 };
    uint64_t dl[n];
    uint64_t s = 7;
    for (int i = 0; i < n; i++) dl[i] = i % 9 == 4 ? BDBI_NO_DEADLINE : rng_next(&s) % 25;
    int order[n];
    expected_order(dl, NULL, n, order);
    char cancel[n] = {0};
    cancel[order[0]] = 1;
    cancel[order[n - 1]] = 1;
    cancel[n - 1] = 1;
    for (int i = 0; i < n; i += 6) cancel[i] = 1;

    bdb_env *env = open_env(1, 0);
    run_edf(env, n, dl, cancel);
    close_env(env);
}

Test(pool, cancel_moves_last_task_up)
{
    /* Queued in this order the heap is [0, 3, 2, 1, 4, 5, 6] (by task id).
     * Cancelling task 1 (heap slot 3) moves the last task, 6 (deadline 11),
     * into slot 3 under task 3 (deadline 12): it must move up, or task 3
     * runs before task 6. */
    const uint64_t dl[] = {11, 20, 11, 12, 13, 13, 11};
    const char cancel[] = {0, 1, 0, 0, 0, 0, 0};
    const int want[] = {0, 2, 6, 3, 4, 5};
    enum { n = sizeof dl / sizeof dl[0] };
    int got[n];
    cr_assert_eq(expected_order(dl, cancel, n, got), n - 1);
    cr_assert_arr_eq(got, want, sizeof want, "expected_order() disagrees with the hand order");

    bdb_env *env = open_env(1, 0);
    run_edf(env, n, dl, cancel);
    close_env(env);
}

Test(pool, cancel_random_positions_keep_edf_order)
{
    /* Many small random queues, each with a few random cancels, so that
     * removals hit the root, inner slots and leaves, with the replacement
     * moving down, up or staying. */
    bdb_env *env = open_env(1, 0);
    uint64_t s = 12345;
    for (int round = 0; round < 150; round++) {
        uint64_t dl[16];
        char cancel[16] = {0};
        int n = 4 + (int)(rng_next(&s) % 13);
        for (int i = 0; i < n; i++)
            dl[i] = rng_next(&s) % 8 == 0 ? BDBI_NO_DEADLINE : rng_next(&s) % 12;
        int k = 1 + (int)(rng_next(&s) % 3);
        for (int j = 0; j < k; j++) cancel[rng_next(&s) % (uint32_t)n] = 1;
        run_edf(env, n, dl, cancel);
    }
    close_env(env);
}

/* ------------------------------------------------------------------ */
/* 4. Tasks that submit and wait on tasks                             */
/* ------------------------------------------------------------------ */

/* A task that submits children and returns without waiting for them. */
struct parent {
    bdbi_pool *p;
    int n;
    struct item kids[8];
    bdbi_future *kf[8];
};

static int parent_task(void *arg, bdbi_future *self)
{
    (void)self;
    struct parent *pa = arg;
    for (int i = 0; i < pa->n; i++) {
        int rc = bdbi_pool_submit(pa->p, record_task, &pa->kids[i], (uint64_t)i, &pa->kf[i]);
        if (rc) return rc;
    }
    return 0;
}

Test(pool, tasks_submit_tasks)
{
    bdb_env *env = open_env(2, 0);
    struct parent pa = {.p = env->pool, .n = 8};
    for (int i = 0; i < pa.n; i++) pa.kids[i] = (struct item){.id = i, .rc = -(i % 3)};
    bdbi_future *f;
    cr_assert_eq(bdbi_pool_submit(env->pool, parent_task, &pa, 0, &f), 0);
    cr_assert_eq(bdbi_future_wait(f), 0);
    for (int i = 0; i < pa.n; i++) {
        cr_assert_not_null(pa.kf[i]);
        cr_expect_eq(bdbi_future_wait(pa.kf[i]), -(i % 3), "child %d", i);
        cr_expect_eq(atomic_load(&pa.kids[i].runs), 1);
        bdbi_future_release(pa.kf[i]);
    }
    bdbi_future_release(f);
    check_stats(env, env->pool, 0, 0, 9, 9, 0);
    close_env(env);
}

/* A task that submits three children with deadlines 30, 10 and 20 and waits
 * on the first one. On a 1-thread pool it is the only worker, so the wait
 * must run the queued children itself, most urgent first. */
struct waiter {
    bdbi_pool *p;
    struct recorder rec;
    struct item kids[3];
    int polled_before; /* poll of the awaited child before the wait */
    int wait_rc;
    int others_done; /* children finished when the wait returned */
};

static int waiter_task(void *arg, bdbi_future *self)
{
    (void)self;
    struct waiter *w = arg;
    const uint64_t dl[3] = {30, 10, 20};
    bdbi_future *kf[3];
    for (int i = 0; i < 3; i++) {
        w->kids[i] = (struct item){.rec = &w->rec, .id = i, .rc = i == 0 ? BDB_ENOTFOUND : 0};
        int rc = bdbi_pool_submit(w->p, record_task, &w->kids[i], dl[i], &kf[i]);
        if (rc) return rc; /* leaks futures, but the test fails anyway */
    }
    w->polled_before = bdbi_future_poll(kf[0], NULL);
    w->wait_rc = bdbi_future_wait(kf[0]);
    w->others_done = bdbi_future_poll(kf[1], NULL) + bdbi_future_poll(kf[2], NULL);
    for (int i = 0; i < 3; i++) {
        bdbi_future_wait(kf[i]);
        bdbi_future_release(kf[i]);
    }
    return 0;
}

Test(pool, nested_wait_on_single_thread_pool_runs_queued_tasks)
{
    bdb_env *env = open_env(1, 0);
    struct waiter w = {.p = env->pool};
    bdbi_future *f;
    cr_assert_eq(bdbi_pool_submit(env->pool, waiter_task, &w, 0, &f), 0);
    cr_assert_eq(bdbi_future_wait(f), 0); /* a deadlock would hit the timeout */
    cr_expect_eq(w.polled_before, 0, "the child finished before the only worker waited");
    cr_expect_eq(w.wait_rc, BDB_ENOTFOUND);
    cr_expect_eq(w.others_done, 2, "the more urgent children did not run first");
    cr_assert_eq(atomic_load(&w.rec.n), 3);
    cr_expect_eq(w.rec.ids[0], 1);
    cr_expect_eq(w.rec.ids[1], 2);
    cr_expect_eq(w.rec.ids[2], 0);
    bdbi_future_release(f);
    check_stats(env, env->pool, 0, 0, 4, 4, 0);
    close_env(env);
}

/* A node of a task tree: submits FANOUT children one level down, waits on
 * them and adds up the nodes of its subtree. */
#define FANOUT     3
#define TREE_DEPTH 4
#define TREE_NODES 121 /* 1 + 3 + 9 + 27 + 81 */

struct node {
    bdbi_pool *p;
    int depth;
    int use_deadline; /* children get deadline = depth (deeper: more urgent) */
    int sum;          /* nodes in this subtree */
    int bad;          /* something unexpected happened in this subtree */
};

static int node_task(void *arg, bdbi_future *self)
{
    (void)self;
    struct node *nd = arg;
    nd->sum = 1;
    nd->bad = bdbi_pool_current() != nd->p || !bdbi_rcu_registered;
    if (nd->depth == 0) return 0;
    struct node kids[FANOUT];
    bdbi_future *kf[FANOUT];
    for (int i = 0; i < FANOUT; i++) {
        kids[i] =
            (struct node){.p = nd->p, .depth = nd->depth - 1, .use_deadline = nd->use_deadline};
        uint64_t dl = nd->use_deadline ? (uint64_t)kids[i].depth : BDBI_NO_DEADLINE;
        if (bdbi_pool_submit(nd->p, node_task, &kids[i], dl, &kf[i]) != 0) {
            nd->bad = 1;
            kf[i] = NULL;
        }
    }
    for (int i = 0; i < FANOUT; i++) {
        if (!kf[i]) continue;
        if (bdbi_future_wait(kf[i]) != 0) nd->bad = 1;
        bdbi_future_release(kf[i]);
        nd->sum += kids[i].sum;
        nd->bad |= kids[i].bad;
    }
    return 0;
}

static void run_tree(unsigned threads, int use_deadline)
{
    bdb_env *env = open_env(threads, 0);
    struct node root = {.p = env->pool, .depth = TREE_DEPTH, .use_deadline = use_deadline};
    bdbi_future *f;
    cr_assert_eq(bdbi_pool_submit(env->pool, node_task, &root, TREE_DEPTH, &f), 0);
    cr_assert_eq(bdbi_future_wait(f), 0);
    bdbi_future_release(f);
    cr_expect_eq(root.bad, 0);
    cr_expect_eq(root.sum, TREE_NODES, "tree of %d nodes, expected %d", root.sum, TREE_NODES);
    check_stats(env, env->pool, 0, 0, TREE_NODES, TREE_NODES, 0);
    close_env(env);
}

Test(pool, recursive_fanout_single_thread)
{
    run_tree(1, 0);
}

Test(pool, recursive_fanout_single_thread_with_deadlines)
{
    run_tree(1, 1);
}

Test(pool, recursive_fanout_three_threads)
{
    run_tree(3, 1);
}

/* ------------------------------------------------------------------ */
/* 5. Shutdown                                                        */
/* ------------------------------------------------------------------ */

/* Occupies the only worker: parks on its gate, then keeps submitting
 * detached canaries until the pool refuses one because shutdown began,
 * and records what it sees at that moment. Lets a test call
 * bdbi_pool_shutdown() (which blocks) while a task is still running. */
struct spinner {
    bdbi_pool *p;
    struct gate g;
    struct item canary; /* counts runs of the canaries */
    int accepted;       /* canaries accepted before shutdown began */
    int refused_rc;     /* result of the refused submission */
    int refused_msg;    /* bdb_errmsg() was not empty after it */
    int self_canceled;  /* bdbi_future_canceled(self) at that point */
    /* futures to poll once shutdown began */
    int nwatch;
    bdbi_future **watch;
    int watch_finished; /* how many of them were finished then */
    int watch_canceled; /* how many of those with BDB_ECANCELED */
    struct recorder *rec;
    int ran_before; /* recorded tasks that had run then */
};

static int spinner_task(void *arg, bdbi_future *self)
{
    struct spinner *sp = arg;
    gate_pass(&sp->g);
    int rc;
    while ((rc = bdbi_pool_submit(sp->p, record_task, &sp->canary, BDBI_NO_DEADLINE, NULL)) == 0) {
        sp->accepted++;
        sched_yield();
    }
    sp->refused_rc = rc;
    sp->refused_msg = bdb_errmsg()[0] != '\0';
    sp->self_canceled = bdbi_future_canceled(self);
    for (int i = 0; i < sp->nwatch; i++) {
        int r;
        if (!bdbi_future_poll(sp->watch[i], &r)) continue;
        sp->watch_finished++;
        sp->watch_canceled += r == BDB_ECANCELED;
    }
    sp->ran_before = sp->rec ? atomic_load(&sp->rec->n) : 0;
    return BDB_EBUSY;
}

/* The queued tasks of the shutdown tests: shuffled deadlines. */
enum { SHUT_N = 10 };
static const uint64_t shut_dl[SHUT_N] = {40, 10, BDBI_NO_DEADLINE, 30, 10, 0, 90, 20, 50, 5};

Test(pool, shutdown_drain_runs_queued_tasks)
{
    bdb_env *env = open_env(1, 0);
    bdbi_pool *p = env->pool;
    struct recorder rec = {0};
    struct item it[SHUT_N];
    bdbi_future *f[SHUT_N];
    struct spinner sp = {.p = p, .nwatch = SHUT_N, .watch = f, .rec = &rec};
    gate_init(&sp.g, 0);

    bdbi_future *sf;
    cr_assert_eq(bdbi_pool_submit(p, spinner_task, &sp, 0, &sf), 0);
    gate_wait_entered(&sp.g, 1);
    for (int i = 0; i < SHUT_N; i++) {
        it[i] = (struct item){.rec = &rec, .id = i, .rc = -i};
        cr_assert_eq(bdbi_pool_submit(p, record_task, &it[i], shut_dl[i], &f[i]), 0);
    }
    gate_open(&sp.g);
    cr_assert_eq(bdbi_pool_shutdown(p, BDBI_POOL_DRAIN), 0, "%s", bdb_errmsg());

    /* the spinner saw the shutdown before any queued task ran */
    cr_expect_eq(sp.refused_rc, BDB_ESHUTDOWN);
    cr_expect_eq(sp.refused_msg, 1);
    cr_expect_eq(sp.ran_before, 0);
    cr_expect_eq(sp.watch_finished, 0);
    /* and by the time shutdown returned, all of them had run: poll, no wait */
    for (int i = 0; i < SHUT_N; i++) {
        int rc = 12345;
        cr_expect_eq(bdbi_future_poll(f[i], &rc), 1, "task %d not run by the drain", i);
        cr_expect_eq(rc, -i);
        cr_expect_eq(atomic_load(&it[i].runs), 1);
    }
    cr_expect_eq(atomic_load(&sp.canary.runs), sp.accepted, "queued canaries were dropped");
    int want[SHUT_N];
    expected_order(shut_dl, NULL, SHUT_N, want);
    cr_assert_eq(atomic_load(&rec.n), SHUT_N);
    for (int k = 0; k < SHUT_N; k++) cr_expect_eq(rec.ids[k], want[k], "position %d", k);
    cr_expect_eq(bdbi_future_result(sf), BDB_EBUSY);
    uint64_t total = 1 + SHUT_N + (uint64_t)sp.accepted;
    check_stats(env, p, 0, 0, total, total, 0);

    bdbi_future_release(sf);
    for (int i = 0; i < SHUT_N; i++) bdbi_future_release(f[i]);
    gate_destroy(&sp.g);
    close_env(env); /* shuts the pool down a second time */
}

Test(pool, shutdown_cancel_cancels_queued_and_finishes_running)
{
    bdb_env *env = open_env(1, 0);
    bdbi_pool *p = env->pool;
    struct recorder rec = {0};
    struct item it[SHUT_N];
    bdbi_future *f[SHUT_N];
    struct spinner sp = {.p = p, .nwatch = SHUT_N, .watch = f, .rec = &rec};
    gate_init(&sp.g, 0);

    bdbi_future *sf;
    cr_assert_eq(bdbi_pool_submit(p, spinner_task, &sp, 0, &sf), 0);
    gate_wait_entered(&sp.g, 1);
    for (int i = 0; i < SHUT_N; i++) {
        it[i] = (struct item){.rec = &rec, .id = i, .rc = 0};
        cr_assert_eq(bdbi_pool_submit(p, record_task, &it[i], shut_dl[i], &f[i]), 0);
    }
    gate_open(&sp.g);
    cr_assert_eq(bdbi_pool_shutdown(p, BDBI_POOL_CANCEL), 0, "%s", bdb_errmsg());

    /* while the spinner was still running, the queued tasks were already
     * finished as canceled */
    cr_expect_eq(sp.refused_rc, BDB_ESHUTDOWN);
    cr_expect_eq(sp.refused_msg, 1);
    cr_expect_eq(sp.watch_finished, SHUT_N);
    cr_expect_eq(sp.watch_canceled, SHUT_N);
    cr_expect_eq(sp.ran_before, 0);
    /* the running task was not asked to stop and finished normally */
    cr_expect_eq(sp.self_canceled, 0);
    cr_expect_eq(bdbi_future_result(sf), BDB_EBUSY);
    for (int i = 0; i < SHUT_N; i++) {
        cr_expect_eq(bdbi_future_wait(f[i]), BDB_ECANCELED, "task %d", i);
        cr_expect_eq(bdbi_future_canceled(f[i]), 1, "task %d", i);
        cr_expect_eq(atomic_load(&it[i].runs), 0, "canceled task %d ran", i);
    }
    cr_expect_eq(atomic_load(&rec.n), 0);
    cr_expect_eq(atomic_load(&sp.canary.runs), 0);
    check_stats(env, p, 0, 0, 1 + SHUT_N + (uint64_t)sp.accepted, 1,
                SHUT_N + (uint64_t)sp.accepted);

    bdbi_future_release(sf);
    for (int i = 0; i < SHUT_N; i++) bdbi_future_release(f[i]);
    gate_destroy(&sp.g);
    close_env(env);
}

Test(pool, submit_after_shutdown_is_refused)
{
    bdb_env *env = open_env(2, 0);
    warm_up(env->pool, 2);
    cr_assert_eq(bdbi_pool_shutdown(env->pool, BDBI_POOL_DRAIN), 0);
    uint64_t mem0 = pool_mem(env);

    struct item it = {0};
    bdbi_future *f = (bdbi_future *)&it; /* must be overwritten with NULL */
    bdb_clear_error();
    cr_assert_eq(bdbi_pool_submit(env->pool, record_task, &it, 5, &f), BDB_ESHUTDOWN);
    cr_expect_null(f);
    cr_expect_str_not_empty(bdb_errmsg());
    bdb_error e;
    bdb_last_error(&e);
    cr_expect_eq(e.code, BDB_ESHUTDOWN);

    bdb_clear_error();
    cr_assert_eq(bdbi_pool_submit(env->pool, record_task, &it, BDBI_NO_DEADLINE, NULL),
                 BDB_ESHUTDOWN);
    cr_expect_str_not_empty(bdb_errmsg());

    cr_expect_eq(atomic_load(&it.runs), 0);
    cr_expect_eq(pool_mem(env), mem0, "a refused submission left memory behind");
    check_stats(env, env->pool, 0, 0, 2, 2, 0);

    /* shutting down again, in either mode, is a no-op */
    cr_expect_eq(bdbi_pool_shutdown(env->pool, BDBI_POOL_DRAIN), 0);
    cr_expect_eq(bdbi_pool_shutdown(env->pool, BDBI_POOL_CANCEL), 0);
    close_env(env);
}

/* A thread that calls bdbi_pool_shutdown(DRAIN) and records, right when
 * it returns, whether the task `watch` had finished. */
struct shutdown_call {
    bdbi_pool *p;
    bdbi_future *watch;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calling;        /* about to call bdbi_pool_shutdown() */
    int returned;       /* it returned */
    int rc;             /* what it returned */
    int watch_finished; /* bdbi_future_poll(watch) right after the return */
};

static void *shutdown_main(void *arg)
{
    struct shutdown_call *c = arg;
    pthread_mutex_lock(&c->mu);
    c->calling = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    int rc = bdbi_pool_shutdown(c->p, BDBI_POOL_DRAIN);
    int finished = c->watch ? bdbi_future_poll(c->watch, NULL) : 1;
    pthread_mutex_lock(&c->mu);
    c->rc = rc;
    c->watch_finished = finished;
    c->returned = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void shutdown_call_start(struct shutdown_call *c, bdbi_pool *p, bdbi_future *watch,
                                pthread_t *th)
{
    memset(c, 0, sizeof *c);
    c->p = p;
    c->watch = watch;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    cr_assert_eq(pthread_create(th, NULL, shutdown_main, c), 0);
    pthread_mutex_lock(&c->mu);
    while (!c->calling) pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

static void shutdown_call_finish(struct shutdown_call *c, pthread_t th)
{
    pthread_join(th, NULL);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
}

Test(pool, shutdown_twice_concurrently_both_wait_for_drain)
{
    /* A first DRAIN shutdown is in progress (blocked joining the only
     * worker, which holds a gate) while a task is still queued. A second
     * DRAIN shutdown from another thread must not return 0 before that
     * task has run and the workers are joined: that is what a successful
     * return promises ("runs every queued task ... Joins the workers.
     * Idempotent."). The gate is opened once the second call returned or
     * after a grace period, whichever comes first; with a correct pool the
     * second call returns only after the gate opened, so the result does
     * not depend on the grace period, which only gives a wrong pool the
     * chance to return early. */
    bdb_env *env = open_env(1, 0);
    bdbi_pool *p = env->pool;
    struct gate g;
    gate_init(&g, 0);
    bdbi_future *gf = block_worker(p, &g);
    struct item t = {.rc = BDB_EIO}, probe = {0};
    bdbi_future *tf;
    cr_assert_eq(bdbi_pool_submit(p, record_task, &t, 1, &tf), 0);

    struct shutdown_call first, second;
    pthread_t th1, th2;
    shutdown_call_start(&first, p, NULL, &th1);
    /* the first shutdown has begun once a submission is refused */
    int accepted = 0, rc;
    while ((rc = bdbi_pool_submit(p, record_task, &probe, 2, NULL)) == 0) {
        accepted++;
        sched_yield();
    }
    cr_assert_eq(rc, BDB_ESHUTDOWN);

    shutdown_call_start(&second, p, tf, &th2);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 500 * 1000 * 1000;
    if (until.tv_nsec >= 1000 * 1000 * 1000) {
        until.tv_sec++;
        until.tv_nsec -= 1000 * 1000 * 1000;
    }
    pthread_mutex_lock(&second.mu);
    while (!second.returned && pthread_cond_timedwait(&second.cv, &second.mu, &until) == 0) {
    }
    pthread_mutex_unlock(&second.mu);
    gate_open(&g);
    shutdown_call_finish(&second, th2);
    shutdown_call_finish(&first, th1);

    cr_expect_eq(first.rc, 0);
    cr_expect_eq(second.rc, 0);
    cr_expect_eq(second.watch_finished, 1,
                 "the second bdbi_pool_shutdown(DRAIN) returned before the queued task ran");
    cr_expect_eq(bdbi_future_wait(tf), BDB_EIO);
    cr_expect_eq(atomic_load(&t.runs), 1);
    cr_expect_eq(atomic_load(&probe.runs), accepted);
    cr_expect_eq(bdbi_future_wait(gf), 0);
    bdbi_future_release(tf);
    bdbi_future_release(gf);
    gate_destroy(&g);
    close_env(env);
}

/* Tries to shut down the pool it runs on (must be refused) and another
 * pool (allowed). */
struct self_shutdown {
    bdbi_pool *own, *other;
    int rc_drain, rc_cancel, rc_other;
    int msg; /* bdb_errmsg() was not empty after the refusal */
};

static int self_shutdown_task(void *arg, bdbi_future *self)
{
    (void)self;
    struct self_shutdown *s = arg;
    bdb_clear_error();
    s->rc_drain = bdbi_pool_shutdown(bdbi_pool_current(), BDBI_POOL_DRAIN);
    s->msg = bdb_errmsg()[0] != '\0';
    s->rc_cancel = bdbi_pool_shutdown(s->own, BDBI_POOL_CANCEL);
    s->rc_other = bdbi_pool_shutdown(s->other, BDBI_POOL_DRAIN);
    return 0;
}

Test(pool, shutdown_from_own_worker_is_einval)
{
    bdb_env *env = open_env(2, 0);
    bdbi_pool *q;
    cr_assert_eq(bdbi_pool_create(env, 1, 0, &q), 0);
    struct self_shutdown s = {.own = env->pool, .other = q};
    bdbi_future *f;
    cr_assert_eq(bdbi_pool_submit(env->pool, self_shutdown_task, &s, 0, &f), 0);
    cr_assert_eq(bdbi_future_wait(f), 0);
    bdbi_future_release(f);
    cr_expect_eq(s.rc_drain, BDB_EINVAL);
    cr_expect_eq(s.rc_cancel, BDB_EINVAL);
    cr_expect_eq(s.msg, 1);
    cr_expect_eq(s.rc_other, 0);

    /* the refused pool still works; the other one is shut down */
    struct item it = {.rc = BDB_EIO};
    cr_assert_eq(bdbi_pool_submit(env->pool, record_task, &it, 0, &f), 0);
    cr_expect_eq(bdbi_future_wait(f), BDB_EIO);
    bdbi_future_release(f);
    cr_expect_eq(bdbi_pool_submit(q, record_task, &it, 0, NULL), BDB_ESHUTDOWN);
    cr_expect_eq(atomic_load(&it.runs), 1);
    bdbi_pool_destroy(q);
    close_env(env);
}

Test(pool, own_pool_create_and_destroy)
{
    bdb_env *env = open_env(1, 0);
    warm_up(env->pool, 1);
    uint64_t mem0 = pool_mem(env);

    bdbi_pool *p = (bdbi_pool *)env; /* must be overwritten with NULL */
    bdb_clear_error();
    cr_assert_eq(bdbi_pool_create(env, 0, 0, &p), BDB_EINVAL);
    cr_expect_null(p);
    cr_expect_str_not_empty(bdb_errmsg());
    cr_expect_eq(pool_mem(env), mem0);

    cr_assert_eq(bdbi_pool_create(env, 3, 0, &p), 0);
    cr_assert_not_null(p);
    warm_up(p, 3);
    enum { n = 50 };
    struct item it[n];
    bdbi_future *f[n];
    for (int i = 0; i < n; i++) {
        it[i] = (struct item){.id = i, .rc = -(i % 5)};
        cr_assert_eq(bdbi_pool_submit(p, record_task, &it[i], (uint64_t)(n - i), &f[i]), 0);
    }
    for (int i = 0; i < n; i++) {
        cr_expect_eq(bdbi_future_wait(f[i]), -(i % 5));
        bdbi_future_release(f[i]);
    }
    bdb_pool_stats st;
    bdbi_pool_stats(p, &st);
    cr_expect_eq(st.threads, 3);
    check_stats(env, p, 0, 0, n + 3, n + 3, 0);
    /* the environment's pool is a different pool */
    check_stats(env, env->pool, 0, 0, 1, 1, 0);
    bdbi_pool_destroy(p);
    bdbi_pool_destroy(NULL);
    cr_expect_eq(pool_mem(env), mem0, "pool memory %llu after destroy, expected %llu",
                 (unsigned long long)pool_mem(env), (unsigned long long)mem0);
    close_env(env);
}

Test(pool, destroy_cancels_queued_detached_tasks)
{
    bdb_env *env = open_env(1, 0);
    warm_up(env->pool, 1);
    uint64_t mem0 = pool_mem(env);

    bdbi_pool *q;
    cr_assert_eq(bdbi_pool_create(env, 1, 0, &q), 0);
    /* everything detached: no future may outlive the pool */
    struct spinner sp = {.p = q};
    gate_init(&sp.g, 0);
    cr_assert_eq(bdbi_pool_submit(q, spinner_task, &sp, 0, NULL), 0);
    gate_wait_entered(&sp.g, 1);
    struct recorder rec = {0};
    struct item it[5];
    for (int i = 0; i < 5; i++) {
        it[i] = (struct item){.rec = &rec, .id = i};
        cr_assert_eq(bdbi_pool_submit(q, record_task, &it[i], (uint64_t)i, NULL), 0);
    }
    gate_open(&sp.g);
    bdbi_pool_destroy(q); /* returns once the spinner saw the shutdown */

    cr_expect_eq(sp.refused_rc, BDB_ESHUTDOWN);
    cr_expect_eq(atomic_load(&rec.n), 0, "queued tasks ran during destroy");
    cr_expect_eq(atomic_load(&sp.canary.runs), 0);
    cr_expect_eq(pool_mem(env), mem0, "pool memory %llu after destroy, expected %llu",
                 (unsigned long long)pool_mem(env), (unsigned long long)mem0);
    gate_destroy(&sp.g);
    close_env(env);
}

/* ------------------------------------------------------------------ */
/* 6. The queue bound                                                 */
/* ------------------------------------------------------------------ */

Test(pool, max_queued_refuses_with_eagain)
{
    bdb_env *env = open_env(1, 3);
    bdbi_pool *p = env->pool;
    struct gate g;
    gate_init(&g, 0);
    bdbi_future *gf = block_worker(p, &g); /* running, not queued */

    struct item it[4] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}};
    struct item rejected = {.id = 99};
    bdbi_future *f[4] = {NULL};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(bdbi_pool_submit(p, record_task, &it[i], (uint64_t)i, &f[i]), 0, "task %d", i);
    check_stats(env, p, 3, 1, 4, 0, 0);

    bdbi_future *rf = (bdbi_future *)&rejected; /* must be overwritten with NULL */
    bdb_clear_error();
    cr_assert_eq(bdbi_pool_submit(p, record_task, &rejected, 0, &rf), BDB_EAGAIN);
    cr_expect_null(rf);
    cr_expect_str_not_empty(bdb_errmsg());
    bdb_error e;
    bdb_last_error(&e);
    cr_expect_eq(e.code, BDB_EAGAIN);
    cr_assert_eq(bdbi_pool_submit(p, record_task, &rejected, 0, NULL), BDB_EAGAIN);
    check_stats(env, p, 3, 1, 4, 0, 0);

    /* a cancel frees a place; the next submission fills it */
    cr_assert_eq(bdbi_future_cancel(f[1]), 1);
    cr_assert_eq(bdbi_pool_submit(p, record_task, &it[3], 3, &f[3]), 0);
    cr_assert_eq(bdbi_pool_submit(p, record_task, &rejected, 0, NULL), BDB_EAGAIN);

    gate_open(&g);
    cr_expect_eq(bdbi_future_wait(gf), 0);
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(bdbi_future_wait(f[i]), i == 1 ? BDB_ECANCELED : 0);
        cr_expect_eq(atomic_load(&it[i].runs), i == 1 ? 0 : 1, "task %d", i);
    }
    cr_expect_eq(atomic_load(&rejected.runs), 0, "a refused task ran");
    check_stats(env, p, 0, 0, 5, 4, 1);

    /* with the queue empty, submissions are accepted again */
    bdbi_future *last;
    cr_assert_eq(bdbi_pool_submit(p, record_task, &rejected, 0, &last), 0);
    cr_expect_eq(bdbi_future_wait(last), 0);
    bdbi_future_release(last);

    bdbi_future_release(gf);
    for (int i = 0; i < 4; i++) bdbi_future_release(f[i]);
    gate_destroy(&g);
    close_env(env);
}

/* ------------------------------------------------------------------ */
/* 7. Counters and memory                                             */
/* ------------------------------------------------------------------ */

Test(pool, stats_and_memory_accounting)
{
    bdb_env *env = open_env(1, 0);
    bdbi_pool *p = env->pool;
    check_stats(env, p, 0, 0, 0, 0, 0);
    bdb_stats st;
    cr_assert_eq(bdb_env_stats(env, &st), 0);
    cr_expect_eq(st.pool.threads, 1);
    cr_expect_eq(bdb_env_threads(env), 1);

    warm_up(p, 1);
    check_stats(env, p, 0, 0, 1, 1, 0);
    cr_assert_eq(bdb_env_stats(env, &st), 0);
    const bdb_mem_stats m0 = st.mem[BDB_MEM_POOL];

    struct gate g;
    gate_init(&g, 0);
    bdbi_future *gf = block_worker(p, &g);
    check_stats(env, p, 0, 1, 2, 1, 0);
    enum { n = 5 };
    struct item it[n];
    bdbi_future *f[n];
    for (int i = 0; i < n; i++) {
        it[i] = (struct item){.id = i};
        cr_assert_eq(bdbi_pool_submit(p, record_task, &it[i], (uint64_t)i, &f[i]), 0);
    }
    check_stats(env, p, n, 1, 2 + n, 1, 0);
    cr_assert_eq(bdbi_future_cancel(f[2]), 1);
    check_stats(env, p, n - 1, 1, 2 + n, 1, 1);
    cr_expect_gt(pool_mem(env), m0.bytes, "futures are not accounted as pool memory");

    gate_open(&g);
    for (int i = 0; i < n; i++) bdbi_future_wait(f[i]);
    bdbi_future_wait(gf);
    check_stats(env, p, 0, 0, 2 + n, 1 + n, 1);
    /* finished but still referenced futures are still allocated */
    cr_expect_gt(pool_mem(env), m0.bytes);

    bdbi_future_release(gf);
    for (int i = 0; i < n; i++) bdbi_future_release(f[i]);
    cr_assert_eq(bdb_env_stats(env, &st), 0);
    const bdb_mem_stats m1 = st.mem[BDB_MEM_POOL];
    cr_expect_eq(m1.bytes, m0.bytes, "pool memory %llu after releasing all futures, expected %llu",
                 (unsigned long long)m1.bytes, (unsigned long long)m0.bytes);
    cr_expect_eq(m1.allocs - m0.allocs, m1.frees - m0.frees, "%llu allocations, %llu frees",
                 (unsigned long long)(m1.allocs - m0.allocs),
                 (unsigned long long)(m1.frees - m0.frees));
    cr_expect_eq(m1.allocs - m0.allocs, n + 1, "one allocation per future");
    gate_destroy(&g);
    close_env(env);
}

/* ------------------------------------------------------------------ */
/* 8. Workers and RCU                                                 */
/* ------------------------------------------------------------------ */

/* Records which pool runs it and whether its thread is registered with
 * RCU; with `meet` set, first waits until the other whoami tasks run too,
 * so that each one is on a different worker. */
struct whoami {
    struct rendezvous *meet;
    bdbi_pool *pool;
    int registered;
};

static int whoami_task(void *arg, bdbi_future *self)
{
    struct whoami *w = arg;
    if (w->meet) rendezvous_task(w->meet, self);
    w->pool = bdbi_pool_current();
    w->registered = bdbi_rcu_registered;
    bdbi_rcu_read_lock(); /* must not register again or crash */
    bdbi_rcu_read_unlock();
    return 0;
}

Test(pool, workers_are_registered_with_rcu)
{
    bdb_env *env = open_env(2, 0);
    bdbi_pool *q;
    cr_assert_eq(bdbi_pool_create(env, 1, 0, &q), 0);
    cr_assert_null(bdbi_pool_current(), "the test thread is not a worker");

    struct rendezvous meet = {.n = 2};
    pthread_mutex_init(&meet.mu, NULL);
    pthread_cond_init(&meet.cv, NULL);
    struct whoami w[3] = {{.meet = &meet}, {.meet = &meet}, {.meet = NULL}};
    bdbi_future *f[3];
    for (int i = 0; i < 3; i++) {
        bdbi_pool *target = i < 2 ? env->pool : q;
        cr_assert_eq(bdbi_pool_submit(target, whoami_task, &w[i], 0, &f[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(bdbi_future_wait(f[i]), 0);
        bdbi_future_release(f[i]);
    }
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(w[i].pool, i < 2 ? env->pool : q, "task %d: wrong bdbi_pool_current()", i);
        cr_expect_eq(w[i].registered, 1, "task %d: worker not registered with RCU", i);
    }
    cr_expect_null(bdbi_pool_current(), "waiting on futures made the test thread a worker");
    bdbi_pool_destroy(q);
    pthread_cond_destroy(&meet.cv);
    pthread_mutex_destroy(&meet.mu);
    close_env(env);
}

/* ------------------------------------------------------------------ */
/* 9. Concurrent submitters                                           */
/* ------------------------------------------------------------------ */

#define SUBMITTERS    4
#define PER_SUBMITTER 2000

struct work {
    int64_t in, out;
    int rc;
    _Atomic int runs;
};

static int square_task(void *arg, bdbi_future *self)
{
    (void)self;
    struct work *w = arg;
    w->out = w->in * w->in + 1;
    atomic_fetch_add(&w->runs, 1);
    return w->rc;
}

/* Submits PER_SUBMITTER tasks with mixed deadlines, cancels every 13th
 * right away (while it is probably still queued), then waits on all and
 * counts anything unexpected. */
struct submitter {
    bdbi_pool *p;
    int index;
    struct work *w;
    bdbi_future **f;
    char *removed; /* the cancel took the task out of the queue */
    int submit_failures;
    int errors;
    int ncanceled;
};

static void *submitter_main(void *arg)
{
    struct submitter *s = arg;
    for (int i = 0; i < PER_SUBMITTER; i++) {
        s->w[i] = (struct work){.in = s->index * PER_SUBMITTER + i, .rc = i % 3 ? 0 : BDB_EIO};
        uint64_t dl = i % 7 == 0 ? BDBI_NO_DEADLINE : (uint64_t)(i * 31 % 97);
        if (bdbi_pool_submit(s->p, square_task, &s->w[i], dl, &s->f[i]) != 0) {
            s->submit_failures++;
            s->f[i] = NULL;
            continue;
        }
        if (i % 13 == 5) {
            s->removed[i] = (char)bdbi_future_cancel(s->f[i]);
            s->ncanceled += s->removed[i];
        }
    }
    for (int i = 0; i < PER_SUBMITTER; i++) {
        if (!s->f[i]) continue;
        int rc = bdbi_future_wait(s->f[i]);
        struct work *w = &s->w[i];
        if (s->removed[i])
            s->errors += rc != BDB_ECANCELED || atomic_load(&w->runs) != 0 || w->out != 0;
        else
            s->errors += rc != w->rc || atomic_load(&w->runs) != 1 || w->out != w->in * w->in + 1;
        bdbi_future_release(s->f[i]);
    }
    return NULL;
}

Test(pool, concurrent_submitters)
{
    bdb_env *env = open_env(2, 0);
    warm_up(env->pool, 2);
    struct submitter s[SUBMITTERS];
    pthread_t th[SUBMITTERS];
    for (int t = 0; t < SUBMITTERS; t++) {
        s[t] = (struct submitter){.p = env->pool, .index = t};
        s[t].w = calloc(PER_SUBMITTER, sizeof *s[t].w);
        s[t].f = calloc(PER_SUBMITTER, sizeof *s[t].f);
        s[t].removed = calloc(PER_SUBMITTER, 1);
        cr_assert(s[t].w && s[t].f && s[t].removed);
    }
    for (int t = 0; t < SUBMITTERS; t++)
        cr_assert_eq(pthread_create(&th[t], NULL, submitter_main, &s[t]), 0);
    uint64_t canceled = 0;
    for (int t = 0; t < SUBMITTERS; t++) {
        pthread_join(th[t], NULL);
        cr_expect_eq(s[t].submit_failures, 0, "submitter %d", t);
        cr_expect_eq(s[t].errors, 0, "submitter %d: %d wrong results", t, s[t].errors);
        canceled += (uint64_t)s[t].ncanceled;
    }
    const uint64_t total = SUBMITTERS * PER_SUBMITTER + 2;
    check_stats(env, env->pool, 0, 0, total, total - canceled, canceled);
    for (int t = 0; t < SUBMITTERS; t++) {
        free(s[t].w);
        free(s[t].f);
        free(s[t].removed);
    }
    close_env(env);
}
