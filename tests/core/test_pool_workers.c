#include "config.h"

/* Tests of the thread pool (lib/core/pool.c) from the side of the workers:
 * tasks that submit and wait on tasks, RCU registration of the workers,
 * and many threads submitting at once. The shared helpers are in
 * pool_test_util.h. */

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/rcu.h"

#include "pool_test_util.h"

TestSuite(pool, .timeout = 30);

/* ------------------------------------------------------------------ */
/* 1. Tasks that submit and wait on tasks                             */
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
/* 2. Workers and RCU                                                 */
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
/* 3. Concurrent submitters                                           */
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
