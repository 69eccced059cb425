#include "config.h"

#include "rcu.h"

#include <pthread.h>

#ifdef BDBI_TSAN
char bdbi_rcu_gp_token;
#endif

BDBI_TLS_HOT int bdbi_rcu_registered;

/* A thread registered on first use must be unregistered when it exits,
 * or liburcu's grace periods would wait on a dead reader forever. The key
 * is created once per process; it is the only process-wide state outside
 * liburcu, and exists because liburcu needs it. */
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static int exit_key_ok;

static void on_thread_exit(void *unused)
{
    (void)unused;
    if (bdbi_rcu_registered) {
        bdbi_rcu_registered = 0;
        urcu_memb_unregister_thread();
    }
}

/* liburcu's call_rcu worker threads do not survive fork(): a child that
 * later waits for callbacks (bdbi_rcu_barrier, closing a store) would wait
 * forever. liburcu's fork hooks stop the workers around fork() and start
 * fresh ones in the child. */
static void before_fork(void)
{
    urcu_memb_call_rcu_before_fork();
}

static void after_fork_parent(void)
{
    urcu_memb_call_rcu_after_fork_parent();
}

static void after_fork_child(void)
{
    urcu_memb_call_rcu_after_fork_child();
}

static void make_exit_key(void)
{
    (void)pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    /* Fails only when the process has run out of keys; then threads that
     * were registered on first use stay registered after they exit (pool
     * workers unregister themselves either way). */
    exit_key_ok = pthread_key_create(&exit_key, on_thread_exit) == 0;
}

void bdbi_rcu_register_slow(void)
{
    pthread_once(&exit_key_once, make_exit_key);
    urcu_memb_register_thread();
    bdbi_rcu_registered = 1;
    if (exit_key_ok) (void)pthread_setspecific(exit_key, (void *)1);
}

void bdbi_rcu_unregister(void)
{
    if (!bdbi_rcu_registered) return;
    bdbi_rcu_registered = 0;
    if (exit_key_ok) (void)pthread_setspecific(exit_key, NULL);
    urcu_memb_unregister_thread();
}

void bdbi_rcu_synchronize(void)
{
    urcu_memb_synchronize_rcu();
    BDBI_TSAN_ACQUIRE(&bdbi_rcu_gp_token);
}

void bdbi_call_rcu(struct rcu_head *head, void (*fn)(struct rcu_head *))
{
    bdbi_rcu_register();
    urcu_memb_call_rcu(head, fn);
}

#ifdef BDBI_TSAN
/* Released by a marker callback queued behind every earlier callback:
 * liburcu runs a worker's callbacks in order, so its release follows
 * their writes (an evicted cache entry's free updating the environment's
 * counters, say), and the barrier's acquire orders them before whatever
 * its caller does next (freeing that environment). TSan cannot see the
 * futex liburcu's barrier waits on. */
static char callbacks_done_token;

static void barrier_marker(struct rcu_head *h)
{
    (void)h;
    BDBI_TSAN_RELEASE(&callbacks_done_token);
}
#endif

void bdbi_rcu_barrier(void)
{
    bdbi_rcu_register();
#ifdef BDBI_TSAN
    struct rcu_head marker; /* the barrier waits for it, so the stack outlives it */
    urcu_memb_call_rcu(&marker, barrier_marker);
#endif
    urcu_memb_barrier();
    BDBI_TSAN_ACQUIRE(&bdbi_rcu_gp_token);
    BDBI_TSAN_ACQUIRE(&callbacks_done_token);
}
