#include "config.h"

/* Tests of the thread pool (lib/core/pool.c): shutdown in both modes,
 * from several threads and from a worker, and the creation and
 * destruction of pools of one's own. The shared helpers are in
 * pool_test_util.h. */

#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "pool_test_util.h"

TestSuite(pool, .timeout = 30);

/* ------------------------------------------------------------------ */
/* 1. Shutdown                                                        */
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
