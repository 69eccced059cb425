#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/rcu.h"

struct obj {
    struct rcu_head head;
    int value;
};

static _Atomic int freed;

static void free_obj(struct rcu_head *h)
{
    BDBI_RCU_CALLBACK_ENTER();
    struct obj *o = caa_container_of(h, struct obj, head);
    atomic_fetch_add(&freed, o->value);
    free(o);
}

TestSuite(rcu);

Test(rcu, publish_read_replace_reclaim)
{
    static struct obj *shared;
    struct obj *a = malloc(sizeof *a);
    a->value = 1;
    bdbi_rcu_assign(shared, a);

    bdbi_rcu_read_lock();
    struct obj *seen = bdbi_rcu_deref(shared);
    cr_assert_eq(seen, a);
    cr_assert_eq(seen->value, 1);
    bdbi_rcu_read_unlock();
    cr_assert(bdbi_rcu_registered, "read_lock registers the thread");

    struct obj *b = malloc(sizeof *b);
    b->value = 2;
    struct obj *old = bdbi_rcu_xchg(shared, b);
    cr_assert_eq(old, a);
    atomic_store(&freed, 0);
    bdbi_call_rcu(&old->head, free_obj);
    bdbi_rcu_barrier();
    cr_assert_eq(atomic_load(&freed), 1, "the callback ran by the barrier");

    old = bdbi_rcu_xchg(shared, (struct obj *)NULL);
    bdbi_rcu_synchronize();
    free(old);
    bdbi_rcu_unregister();
    cr_assert_not(bdbi_rcu_registered);
    bdbi_rcu_unregister(); /* idempotent */
}

/* A grace period waits for a reader that was inside its section when the
 * grace period began: the reader raises `left` before unlocking, and the
 * writer must see it raised when synchronize returns. */
static _Atomic int reader_in, reader_left, writer_started;

static void *reader_main(void *arg)
{
    (void)arg;
    bdbi_rcu_read_lock();
    atomic_store(&reader_in, 1);
    while (!atomic_load(&writer_started)) sched_yield();
    /* give the writer's grace period every chance to (wrongly) end */
    for (int i = 0; i < 1000; i++) sched_yield();
    atomic_store(&reader_left, 1);
    bdbi_rcu_read_unlock();
    return NULL; /* exits registered: the exit hook unregisters it */
}

static void *writer_main(void *arg)
{
    (void)arg;
    bdbi_rcu_register();
    atomic_store(&writer_started, 1);
    bdbi_rcu_synchronize();
    int ok = atomic_load(&reader_left);
    bdbi_rcu_unregister();
    return (void *)(intptr_t)ok;
}

Test(rcu, grace_period_waits_for_readers)
{
    for (int round = 0; round < 20; round++) {
        atomic_store(&reader_in, 0);
        atomic_store(&reader_left, 0);
        atomic_store(&writer_started, 0);
        pthread_t r, w;
        pthread_create(&r, NULL, reader_main, NULL);
        while (!atomic_load(&reader_in)) sched_yield();
        pthread_create(&w, NULL, writer_main, NULL);
        void *ok;
        pthread_join(w, &ok);
        pthread_join(r, NULL);
        cr_assert(ok, "round %d: synchronize returned while a reader was inside", round);
    }
}

static void *short_lived(void *arg)
{
    (void)arg;
    int before = bdbi_rcu_registered;
    bdbi_rcu_read_lock();
    int during = bdbi_rcu_registered;
    bdbi_rcu_read_unlock();
    return (void *)(intptr_t)(!before && during);
}

/* Threads register on their first read-side section, and threads that
 * exited registered must not stall later grace periods. liburcu offers no
 * way to look at its registry, so the unregistration at exit is seen only
 * through this: a stall fails the test by its timeout instead of hanging. */
Test(rcu, auto_registered_threads_unregister_at_exit, .timeout = 20)
{
    for (int i = 0; i < 200; i++) {
        pthread_t t;
        void *registered_on_first_use;
        pthread_create(&t, NULL, short_lived, NULL);
        pthread_join(t, &registered_on_first_use);
        cr_assert(registered_on_first_use, "thread %d was not registered by read_lock", i);
    }
    bdbi_rcu_synchronize();
    bdbi_rcu_barrier();
}
