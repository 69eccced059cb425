#include "config.h"

/* Tests of the thread pool (lib/core/pool.c): earliest-deadline-first
 * order, futures, cancellation, the queue bound, and the counters and
 * memory accounting. The shared helpers, and how the tests order events
 * without sleeping, are in pool_test_util.h. */

#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "pool_test_util.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

/* A small deterministic generator (PCG-style LCG) for shuffled deadlines. */
static uint32_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
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
/* 4. The queue bound                                                 */
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
/* 5. Counters and memory                                             */
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
/* Claiming a queued task                                             */
/* ------------------------------------------------------------------ */

static _Thread_local int tls_marker;

static int mark_thread_task(void *arg, bdbi_future *self)
{
    (void)self;
    *(int **)arg = &tls_marker; /* which thread ran it */
    return 7;
}

/* A queued task claimed by a waiter runs on the waiter's thread at once,
 * even behind a worker that is busy, and only once; a claim of a task
 * that already ran returns 0 and leaves its result. */
Test(pool, claim_runs_a_queued_task_here)
{
    bdb_env *env = open_env(1, 0);
    bdbi_pool *p = env->pool;
    struct gate g;
    gate_init(&g, 0);
    bdbi_future *gf = block_worker(p, &g);
    int *ran_on = NULL;
    bdbi_future *f;
    cr_assert_eq(bdbi_pool_submit(p, mark_thread_task, &ran_on, 5, &f), 0);
    bdb_pool_stats b;
    bdbi_pool_stats(p, &b);
    cr_assert_eq(b.queued, 1);
    cr_assert_eq(bdbi_future_claim(f), 1);
    cr_assert_eq(ran_on, &tls_marker, "the claimed task ran on another thread");
    int rc;
    cr_assert_eq(bdbi_future_poll(f, &rc), 1);
    cr_assert_eq(rc, 7);
    cr_assert_eq(bdbi_future_claim(f), 0, "a finished task was claimed again");
    bdbi_pool_stats(p, &b);
    cr_assert_eq(b.queued, 0);
    gate_open(&g);
    cr_assert_eq(bdbi_future_wait(gf), 0);
    /* a task the worker already runs cannot be claimed */
    gate_destroy(&g);
    gate_init(&g, 0);
    bdbi_future *gf2 = block_worker(p, &g);
    cr_assert_eq(bdbi_future_claim(gf2), 0);
    gate_open(&g);
    cr_assert_eq(bdbi_future_wait(gf2), 0);
    cr_assert_eq(bdbi_future_wait(f), 7);
    bdbi_future_release(f);
    bdbi_future_release(gf);
    bdbi_future_release(gf2);
    gate_destroy(&g);
    close_env(env);
}

/* ------------------------------------------------------------------ */
/* Yielding to more urgent tasks                                      */
/* ------------------------------------------------------------------ */

struct yielder {
    struct gate *g;
    struct item *urgent, *later;
    int yielded_to; /* tasks run by yields */
};

/* A long task (deadline 10): once the test queued the others, yields;
 * only the task due before it (deadline 5) runs inside it. */
static int yielding_task(void *arg, bdbi_future *self)
{
    (void)self;
    struct yielder *y = arg;
    gate_pass(y->g);
    y->yielded_to = bdbi_pool_yield();
    y->yielded_to += bdbi_pool_yield(); /* nothing urgent left */
    return atomic_load(&y->urgent->runs) == 1 && atomic_load(&y->later->runs) == 0 ? 0 : -1;
}

Test(pool, yield_runs_only_tasks_due_sooner)
{
    bdb_env *env = open_env(1, 0);
    bdbi_pool *p = env->pool;
    struct gate g;
    gate_init(&g, 0);
    struct item urgent = {.id = 1}, later = {.id = 2};
    struct yielder y = {.g = &g, .urgent = &urgent, .later = &later};
    bdbi_future *fy, *fu, *fl;
    cr_assert_eq(bdbi_pool_submit(p, yielding_task, &y, 10, &fy), 0);
    gate_wait_entered(&g, 1);
    cr_assert_eq(bdbi_pool_submit(p, record_task, &later, 20, &fl), 0);
    cr_assert_eq(bdbi_pool_submit(p, record_task, &urgent, 5, &fu), 0);
    gate_open(&g);
    cr_assert_eq(bdbi_future_wait(fy), 0, "the urgent task did not run inside the long one");
    cr_assert_eq(y.yielded_to, 1);
    cr_assert_eq(bdbi_future_wait(fu), 0);
    cr_assert_eq(bdbi_future_wait(fl), 0);
    cr_assert_eq(atomic_load(&later.runs), 1);
    cr_assert_eq(bdbi_pool_yield(), 0, "yield off the pool ran something");
    bdbi_future_release(fy);
    bdbi_future_release(fu);
    bdbi_future_release(fl);
    gate_destroy(&g);
    close_env(env);
}
