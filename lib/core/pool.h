/* The thread pool: a fixed set of workers running tasks earliest deadline
 * first. A task is a function with an argument and an optional deadline
 * (an abstract, caller-chosen number such as a ledger sequence; smaller is
 * more urgent; tasks without one run after all tasks with one, in
 * submission order). Each task has a future that can be waited on, polled
 * or canceled. Tasks may submit tasks. A worker that waits on a future
 * runs other queued tasks while it waits, so nested waits cannot deadlock
 * the pool. Workers are registered with RCU. */
#ifndef BDB_CORE_POOL_H
#define BDB_CORE_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"

#define BDBI_NO_DEADLINE UINT64_MAX

typedef struct bdbi_pool bdbi_pool;
typedef struct bdbi_future bdbi_future;

/* A task: returns 0 or a BDB_E* code, which becomes the future's result.
 * `self` is the task's own future, for bdbi_future_canceled(). */
typedef int (*bdbi_task_fn)(void *arg, bdbi_future *self);

/* Starts `threads` workers (>= 1). `max_queued` bounds the number of
 * queued tasks (0 = no bound). */
int bdbi_pool_create(bdb_env *env, unsigned threads, size_t max_queued, bdbi_pool **out);

/* Queues fn(arg) with `deadline`. With `out` non-NULL, stores a future the
 * caller must release with bdbi_future_release(); with NULL the task is
 * detached. Fails with BDB_ESHUTDOWN once shutdown has begun, BDB_EAGAIN
 * when max_queued tasks are queued, BDB_ENOMEM. On failure fn never runs. */
int bdbi_pool_submit(bdbi_pool *p, bdbi_task_fn fn, void *arg, uint64_t deadline,
                     bdbi_future **out);

/* Waits until the task has run or was canceled and returns its result
 * (BDB_ECANCELED if it never ran). Called on a worker of the pool, runs
 * queued tasks while it waits. */
int bdbi_future_wait(bdbi_future *f);

/* If the task is still queued, takes it off the queue and runs it on the
 * calling thread now, returning 1 once it has run; otherwise returns 0
 * (it is running elsewhere or finished). For a waiter that needs this
 * result before anything else: it does the work instead of sitting idle
 * behind longer tasks that hold every worker. */
int bdbi_future_claim(bdbi_future *f);

/* Called by a long task at points where it can pause (a merge every 1000
 * steps): on a worker of a pool, runs the queued tasks that are due before
 * the calling task, then returns how many ran (0 almost always, after one
 * relaxed atomic load). Elsewhere a no-op. This is how a deep merge that
 * holds every worker lets a shallow merge due sooner go first. */
int bdbi_pool_yield(void);

/* Returns 1 and stores the result in *rc if the task is finished (ran or
 * was canceled), else 0. Never blocks. */
int bdbi_future_poll(bdbi_future *f, int *rc);

/* The result of a finished task, or BDB_EAGAIN if it is not finished (use
 * bdbi_future_poll() to tell that from a task that returned BDB_EAGAIN). */
int bdbi_future_result(bdbi_future *f);

/* Cancels the task. A queued task is removed and never runs (returns 1).
 * A running task is asked to stop: bdbi_future_canceled() turns true for
 * it, and it decides (returns 0). A finished task is unaffected (0, and
 * bdbi_future_canceled() stays false). */
int bdbi_future_cancel(bdbi_future *f);

/* True once cancellation was requested; running tasks poll it to stop
 * early. */
int bdbi_future_canceled(const bdbi_future *f);

/* Drops the caller's reference. The task still runs unless canceled. */
void bdbi_future_release(bdbi_future *f);

enum { BDBI_POOL_DRAIN = 0, BDBI_POOL_CANCEL = 1 };

/* Stops accepting tasks, then with BDBI_POOL_DRAIN runs every queued task,
 * or with BDBI_POOL_CANCEL cancels the queued ones (their futures report
 * BDB_ECANCELED); running tasks always finish. Joins the workers.
 * Idempotent and safe to call concurrently: every caller returns once the
 * workers are joined. Must not be called from a worker of this pool
 * (BDB_EINVAL). */
int bdbi_pool_shutdown(bdbi_pool *p, int mode);

/* Shuts down (cancelling queued tasks) and frees the pool. Like shutdown,
 * refuses with BDB_EINVAL (freeing nothing) on a worker of this pool. NULL
 * is a no-op. */
int bdbi_pool_destroy(bdbi_pool *p);

/* Counters of the pool. */
void bdbi_pool_stats(bdbi_pool *p, bdb_pool_stats *out);

/* The pool whose worker is the calling thread, or NULL. */
bdbi_pool *bdbi_pool_current(void);

#endif
