#include "config.h"

#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "env.h"
#include "error.h"
#include "rcu.h"

enum { F_QUEUED, F_RUNNING, F_DONE };
enum { JOIN_NONE, JOIN_RUNNING, JOIN_DONE };
enum { HEAP_MIN_CAP = 64 };

struct bdbi_future {
    bdbi_pool *pool;
    bdbi_task_fn fn;
    void *arg;
    uint64_t deadline, seq; /* heap order */
    size_t slot;            /* index in the heap while queued */
    int state;              /* F_*, under pool->mu */
    int rc;
    int refs; /* under pool->mu: the queue/run reference + the caller's */
    _Atomic int cancel;
};

struct bdbi_pool {
    bdb_env *env;
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* a task was queued, or shutdown began */
    pthread_cond_t done_cv; /* a task finished, or helpers may find work */
    bdbi_future **heap;     /* binary min-heap on (deadline, seq) */
    size_t n, cap;
    uint64_t seq;
    size_t max_queued;
    int stopping;
    int join_state;           /* JOIN_*: the first shutdown joins, later ones wait for it */
    unsigned helpers_waiting; /* workers blocked in bdbi_future_wait() */
    unsigned nthreads, started;
    struct worker *workers;
    uint64_t submitted, completed, canceled, running;
    _Atomic uint64_t min_deadline; /* of the queue's head, BDBI_NO_DEADLINE when empty */
};

static _Thread_local bdbi_pool *tls_pool;
static _Thread_local uint64_t tls_deadline = BDBI_NO_DEADLINE; /* of the task running here */

bdbi_pool *bdbi_pool_current(void)
{
    return tls_pool;
}

/* ------------------------------------------------------------------ */
/* Heap                                                               */
/* ------------------------------------------------------------------ */

static int before(const bdbi_future *a, const bdbi_future *b)
{
    return a->deadline != b->deadline ? a->deadline < b->deadline : a->seq < b->seq;
}

static void heap_set(bdbi_pool *p, size_t i, bdbi_future *f)
{
    p->heap[i] = f;
    f->slot = i;
}

static void sift_up(bdbi_pool *p, size_t i)
{
    bdbi_future *f = p->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(f, p->heap[parent])) break;
        heap_set(p, i, p->heap[parent]);
        i = parent;
    }
    heap_set(p, i, f);
}

static void sift_down(bdbi_pool *p, size_t i)
{
    bdbi_future *f = p->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= p->n) break;
        if (c + 1 < p->n && before(p->heap[c + 1], p->heap[c])) c++;
        if (!before(p->heap[c], f)) break;
        heap_set(p, i, p->heap[c]);
        i = c;
    }
    heap_set(p, i, f);
}

/* Publishes the head's deadline for bdbi_pool_yield()'s lock-free check. */
static void note_min(bdbi_pool *p)
{
    atomic_store_explicit(&p->min_deadline, p->n ? p->heap[0]->deadline : BDBI_NO_DEADLINE,
                          memory_order_relaxed);
}

/* Removes and returns the heap element at index i. */
static bdbi_future *heap_take(bdbi_pool *p, size_t i)
{
    bdbi_future *f = p->heap[i];
    p->n--;
    if (i < p->n) {
        /* the last element fills the hole; it may belong above or below */
        bdbi_future *m = p->heap[p->n];
        heap_set(p, i, m);
        sift_down(p, i);
        sift_up(p, m->slot);
    }
    if (p->cap > HEAP_MIN_CAP && p->n < p->cap / 4) {
        /* give back what a burst of tasks made the heap grow to */
        size_t ncap = p->cap / 2;
        bdbi_future **h =
            bdbi_realloc(p->env, BDB_MEM_POOL, p->heap, p->cap * sizeof *h, ncap * sizeof *h);
        if (h) {
            p->heap = h;
            p->cap = ncap;
        }
    }
    note_min(p);
    return f;
}

/* ------------------------------------------------------------------ */
/* Running                                                            */
/* ------------------------------------------------------------------ */

static void unref_locked(bdbi_future *f)
{
    if (--f->refs == 0) bdbi_free(f->pool->env, BDB_MEM_POOL, f, sizeof *f);
}

/* Marks a task that left the queue without running as canceled. */
static void cancel_taken_locked(bdbi_pool *p, bdbi_future *f)
{
    f->state = F_DONE;
    f->rc = BDB_ECANCELED;
    p->canceled++;
    pthread_cond_broadcast(&p->done_cv);
    unref_locked(f);
}

/* Runs the queued task at heap index i; the mutex is held on entry and
 * on return, and released while the task runs. */
static void run_at_locked(bdbi_pool *p, size_t i)
{
    bdbi_future *f = heap_take(p, i);
    f->state = F_RUNNING;
    p->running++;
    pthread_mutex_unlock(&p->mu);
    uint64_t outer = tls_deadline;
    tls_deadline = f->deadline;
    int rc = f->fn(f->arg, f);
    tls_deadline = outer;
    pthread_mutex_lock(&p->mu);
    f->rc = rc;
    f->state = F_DONE;
    p->running--;
    p->completed++;
    pthread_cond_broadcast(&p->done_cv);
    unref_locked(f);
}

/* Pops the most urgent task and runs it. */
static void run_one_locked(bdbi_pool *p)
{
    run_at_locked(p, 0);
}

int bdbi_pool_yield(void)
{
    bdbi_pool *p = tls_pool;
    if (!p || atomic_load_explicit(&p->min_deadline, memory_order_relaxed) >= tls_deadline)
        return 0;
    int ran = 0;
    pthread_mutex_lock(&p->mu);
    while (p->n > 0 && p->heap[0]->deadline < tls_deadline && !p->stopping) {
        run_one_locked(p);
        ran++;
    }
    pthread_mutex_unlock(&p->mu);
    return ran;
}

struct worker {
    bdbi_pool *pool;
    unsigned index;
    pthread_t thread;
};

static void *worker_main(void *arg)
{
    bdbi_pool *p = ((struct worker *)arg)->pool;
    unsigned index = ((struct worker *)arg)->index;
    char name[16];
    snprintf(name, sizeof name, "bdb-pool-%u", index);
    pthread_setname_np(pthread_self(), name);
    tls_pool = p;
    bdbi_rcu_register();
    bdbi_alloc_thread_start(&p->env->alloc);

    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->n == 0 && !p->stopping) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->n == 0) break; /* stopping and nothing left */
        run_one_locked(p);
    }
    pthread_mutex_unlock(&p->mu);

    bdbi_alloc_thread_stop(&p->env->alloc);
    bdbi_rcu_unregister();
    tls_pool = NULL;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* API                                                                */
/* ------------------------------------------------------------------ */

int bdbi_pool_create(bdb_env *env, unsigned threads, size_t max_queued, bdbi_pool **out)
{
    *out = NULL;
    if (threads == 0) return bdbi_err(BDB_EINVAL, "pool needs at least one thread");
    bdbi_pool *p = bdbi_calloc(env, BDB_MEM_POOL, 1, sizeof *p);
    if (!p) return BDB_ENOMEM;
    p->env = env;
    p->max_queued = max_queued;
    atomic_init(&p->min_deadline, BDBI_NO_DEADLINE);
    p->nthreads = threads;
    p->cap = HEAP_MIN_CAP;
    p->heap = bdbi_malloc(env, BDB_MEM_POOL, p->cap * sizeof *p->heap);
    p->workers = bdbi_calloc(env, BDB_MEM_POOL, threads, sizeof *p->workers);
    if (!p->heap || !p->workers) {
        bdbi_free(env, BDB_MEM_POOL, p->heap, p->cap * sizeof *p->heap);
        bdbi_free(env, BDB_MEM_POOL, p->workers, threads * sizeof *p->workers);
        bdbi_free(env, BDB_MEM_POOL, p, sizeof *p);
        return BDB_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    int rc = 0;
    for (unsigned i = 0; i < threads; i++) {
        struct worker *w = &p->workers[i];
        w->pool = p;
        w->index = i;
        int e = pthread_create(&w->thread, NULL, worker_main, w);
        if (e) {
            rc = bdbi_err_sys(e, NULL, "cannot start pool worker %u of %u", i + 1, threads);
            break;
        }
        p->started++;
    }
    if (rc) {
        (void)bdbi_pool_destroy(p);
        return rc;
    }
    *out = p;
    return 0;
}

int bdbi_pool_submit(bdbi_pool *p, bdbi_task_fn fn, void *arg, uint64_t deadline, bdbi_future **out)
{
    if (out) *out = NULL;
    bdbi_future *f = bdbi_calloc(p->env, BDB_MEM_POOL, 1, sizeof *f);
    if (!f) return BDB_ENOMEM;
    f->pool = p;
    f->fn = fn;
    f->arg = arg;
    f->deadline = deadline;
    f->state = F_QUEUED;
    f->refs = out ? 2 : 1;

    pthread_mutex_lock(&p->mu);
    int rc = 0;
    if (p->stopping)
        rc = bdbi_err(BDB_ESHUTDOWN, "the thread pool is shut down; task not accepted");
    else if (p->max_queued && p->n >= p->max_queued)
        rc = bdbi_err(BDB_EAGAIN, "the thread pool queue is full (%zu tasks)", p->n);
    else if (p->n == p->cap) {
        size_t ncap = p->cap * 2;
        bdbi_future **h =
            bdbi_realloc(p->env, BDB_MEM_POOL, p->heap, p->cap * sizeof *h, ncap * sizeof *h);
        if (!h)
            rc = BDB_ENOMEM;
        else {
            p->heap = h;
            p->cap = ncap;
        }
    }
    if (rc) {
        pthread_mutex_unlock(&p->mu);
        bdbi_free(p->env, BDB_MEM_POOL, f, sizeof *f);
        return rc;
    }
    f->seq = p->seq++;
    p->heap[p->n] = f;
    sift_up(p, p->n++);
    note_min(p);
    p->submitted++;
    pthread_cond_signal(&p->work_cv);
    if (p->helpers_waiting) pthread_cond_broadcast(&p->done_cv);
    pthread_mutex_unlock(&p->mu);
    if (out) *out = f;
    return 0;
}

int bdbi_future_wait(bdbi_future *f)
{
    bdbi_pool *p = f->pool;
    int helper = tls_pool == p;
    pthread_mutex_lock(&p->mu);
    while (f->state != F_DONE) {
        if (helper && p->n > 0) {
            run_one_locked(p);
        } else {
            p->helpers_waiting += (unsigned)helper;
            pthread_cond_wait(&p->done_cv, &p->mu);
            p->helpers_waiting -= (unsigned)helper;
        }
    }
    int rc = f->rc;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int bdbi_future_claim(bdbi_future *f)
{
    bdbi_pool *p = f->pool;
    pthread_mutex_lock(&p->mu);
    int queued = f->state == F_QUEUED;
    if (queued) run_at_locked(p, f->slot);
    pthread_mutex_unlock(&p->mu);
    return queued;
}

int bdbi_future_poll(bdbi_future *f, int *rc)
{
    bdbi_pool *p = f->pool;
    pthread_mutex_lock(&p->mu);
    int done = f->state == F_DONE;
    if (done && rc) *rc = f->rc;
    pthread_mutex_unlock(&p->mu);
    return done;
}

int bdbi_future_result(bdbi_future *f)
{
    int rc;
    return bdbi_future_poll(f, &rc) ? rc : BDB_EAGAIN;
}

int bdbi_future_cancel(bdbi_future *f)
{
    bdbi_pool *p = f->pool;
    pthread_mutex_lock(&p->mu);
    int removed = 0;
    if (f->state != F_DONE) atomic_store_explicit(&f->cancel, 1, memory_order_relaxed);
    if (f->state == F_QUEUED) {
        heap_take(p, f->slot);
        cancel_taken_locked(p, f);
        removed = 1;
    }
    pthread_mutex_unlock(&p->mu);
    return removed;
}

int bdbi_future_canceled(const bdbi_future *f)
{
    return atomic_load_explicit(&f->cancel, memory_order_relaxed);
}

void bdbi_future_release(bdbi_future *f)
{
    if (!f) return;
    bdbi_pool *p = f->pool;
    pthread_mutex_lock(&p->mu);
    unref_locked(f);
    pthread_mutex_unlock(&p->mu);
}

int bdbi_pool_shutdown(bdbi_pool *p, int mode)
{
    if (tls_pool == p) return bdbi_err(BDB_EINVAL, "a pool worker cannot shut down its own pool");
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    if (mode == BDBI_POOL_CANCEL)
        while (p->n) {
            bdbi_future *f = heap_take(p, p->n - 1);
            atomic_store_explicit(&f->cancel, 1, memory_order_relaxed);
            cancel_taken_locked(p, f);
        }
    pthread_cond_broadcast(&p->work_cv);
    if (p->join_state == JOIN_NONE) {
        p->join_state = JOIN_RUNNING;
        pthread_mutex_unlock(&p->mu);
        for (unsigned i = 0; i < p->started; i++) pthread_join(p->workers[i].thread, NULL);
        pthread_mutex_lock(&p->mu);
        p->join_state = JOIN_DONE;
        pthread_cond_broadcast(&p->done_cv);
    }
    /* a concurrent second caller returns only once the workers are gone */
    while (p->join_state != JOIN_DONE) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int bdbi_pool_destroy(bdbi_pool *p)
{
    if (!p) return 0;
    int rc = bdbi_pool_shutdown(p, BDBI_POOL_CANCEL);
    if (rc) return rc;
    bdb_env *env = p->env;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    bdbi_free(env, BDB_MEM_POOL, p->heap, p->cap * sizeof *p->heap);
    bdbi_free(env, BDB_MEM_POOL, p->workers, p->nthreads * sizeof *p->workers);
    bdbi_free(env, BDB_MEM_POOL, p, sizeof *p);
    return 0;
}

void bdbi_pool_stats(bdbi_pool *p, bdb_pool_stats *out)
{
    pthread_mutex_lock(&p->mu);
    out->threads = p->started;
    out->queued = p->n;
    out->running = p->running;
    out->submitted = p->submitted;
    out->completed = p->completed;
    out->canceled = p->canceled;
    pthread_mutex_unlock(&p->mu);
}
