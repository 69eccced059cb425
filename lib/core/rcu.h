/* RCU glue: thin wrappers over liburcu's memb flavour that carry the
 * ThreadSanitizer annotations TSan needs to see liburcu's synchronisation
 * (it cannot see membarrier, futexes or liburcu's inline-asm atomics).
 * The annotations compile to nothing outside TSan builds.
 *
 * Every thread that reads under RCU or calls call_rcu must be registered;
 * bdbi_rcu_read_lock() and bdbi_call_rcu() register the calling thread on
 * first use, and it is unregistered automatically when it exits. */
#ifndef BDB_CORE_RCU_H
#define BDB_CORE_RCU_H

#include <urcu/urcu-memb.h>

#include "tls.h"

#if defined(__SANITIZE_THREAD__)
#define BDBI_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BDBI_TSAN 1
#endif
#endif

#ifdef BDBI_TSAN
#include <sanitizer/tsan_interface.h>
/* Address standing for "a grace period has elapsed": readers release it
 * when they leave a read-side section, reclaimers acquire it after a grace
 * period, so TSan orders a reader's accesses before the free. Never
 * written. */
extern char bdbi_rcu_gp_token;
#define BDBI_TSAN_RELEASE(p) __tsan_release((void *)(p))
#define BDBI_TSAN_ACQUIRE(p) __tsan_acquire((void *)(p))
#else
#define BDBI_TSAN_RELEASE(p) ((void)0)
#define BDBI_TSAN_ACQUIRE(p) ((void)0)
#endif

/* Registers the calling thread with liburcu if it is not yet (cheap when
 * it is: one thread-local load). */
void bdbi_rcu_register_slow(void);
extern BDBI_TLS_HOT int bdbi_rcu_registered;
static inline void bdbi_rcu_register(void)
{
    if (__builtin_expect(!bdbi_rcu_registered, 0)) bdbi_rcu_register_slow();
}

/* Unregisters the calling thread now (e.g. a pool worker about to exit). */
void bdbi_rcu_unregister(void);

static inline void bdbi_rcu_read_lock(void)
{
    bdbi_rcu_register();
    urcu_memb_read_lock();
}

static inline void bdbi_rcu_read_unlock(void)
{
    BDBI_TSAN_RELEASE(&bdbi_rcu_gp_token);
    urcu_memb_read_unlock();
}

/* Publishes `v` (fully initialised) in the RCU-protected pointer `p`. */
#define bdbi_rcu_assign(p, v)                                                                      \
    do {                                                                                           \
        __typeof__(v) bdbi_v_ = (v);                                                               \
        if (bdbi_v_) BDBI_TSAN_RELEASE(bdbi_v_);                                                   \
        rcu_assign_pointer((p), bdbi_v_);                                                          \
    } while (0)

/* Loads the RCU-protected pointer `p` inside a read-side section. */
#define bdbi_rcu_deref(p)                                                                          \
    __extension__({                                                                                \
        __typeof__(p) bdbi_d_ = rcu_dereference(p);                                                \
        if (bdbi_d_) BDBI_TSAN_ACQUIRE(bdbi_d_);                                                   \
        bdbi_d_;                                                                                   \
    })

/* Replaces the pointer `p` with `v` and returns the old value. */
#define bdbi_rcu_xchg(p, v)                                                                        \
    __extension__({                                                                                \
        __typeof__(v) bdbi_x_ = (v);                                                               \
        if (bdbi_x_) BDBI_TSAN_RELEASE(bdbi_x_);                                                   \
        rcu_xchg_pointer(&(p), bdbi_x_);                                                           \
    })

/* Waits for a grace period: every read-side section that could see an
 * object unpublished before this call has ended. Must not be called
 * inside a read-side section. */
void bdbi_rcu_synchronize(void);

/* Runs `fn(head)` after a grace period, on liburcu's call_rcu thread. The
 * callback must start with BDBI_RCU_CALLBACK_ENTER(). */
void bdbi_call_rcu(struct rcu_head *head, void (*fn)(struct rcu_head *));

#define BDBI_RCU_CALLBACK_ENTER() BDBI_TSAN_ACQUIRE(&bdbi_rcu_gp_token)

/* Waits until every callback queued with bdbi_call_rcu() so far has run.
 * Must not be called inside a read-side section. */
void bdbi_rcu_barrier(void);

#endif
