/* Stress test of the thread pool and RCU publication, in plain C so that
 * it also runs under ThreadSanitizer (Criterion cannot).
 *
 * Pool tasks (some of which fan out into sub-tasks and wait for them)
 * keep replacing objects in a few RCU-protected slots; the old object is
 * poisoned and freed after a grace period. Reader threads, registered on
 * first use, check every object they reach: it must be completely
 * initialised (magic and checksum) and never poisoned (freed). Under TSan
 * any missing publication or reclamation ordering is reported; under ASan
 * a read after the free is. Prints TAP. */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucketdb/bucketdb.h"
#include "core/alloc.h"
#include "core/env.h"
#include "core/hash.h"
#include "core/pool.h"
#include "core/rcu.h"

#define SLOTS      8
#define WORDS      30
#define READERS    3
#define MAGIC_LIVE 0x4c495645u /* "LIVE" */
#define MAGIC_DEAD 0xdeaddeadu

struct payload {
    struct rcu_head head;
    bdb_env *env;
    uint32_t magic;
    uint32_t slot;
    uint64_t gen;
    uint64_t data[WORDS];
    uint64_t sum;
};

static struct payload *slots[SLOTS];
static _Atomic uint64_t next_gen;
static _Atomic int stop;
static _Atomic uint64_t bad_reads, good_reads, reclaimed;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static uint64_t checksum(const struct payload *p)
{
    return bdbi_hash64(p->data, sizeof p->data, p->gen ^ p->slot);
}

static void reclaim(struct rcu_head *h)
{
    BDBI_RCU_CALLBACK_ENTER();
    struct payload *p = caa_container_of(h, struct payload, head);
    bdb_env *env = p->env;
    p->magic = MAGIC_DEAD;
    memset(p->data, 0xdd, sizeof p->data);
    atomic_fetch_add_explicit(&reclaimed, 1, memory_order_relaxed);
    bdbi_free(env, BDB_MEM_OTHER, p, sizeof *p);
}

static int replace_slot(bdb_env *env, unsigned slot)
{
    struct payload *p = bdbi_malloc(env, BDB_MEM_OTHER, sizeof *p);
    if (!p) return BDB_ENOMEM;
    p->env = env;
    p->slot = slot;
    p->gen = atomic_fetch_add(&next_gen, 1);
    for (int i = 0; i < WORDS; i++) p->data[i] = mix(p->gen * 31 + (uint64_t)i);
    p->sum = checksum(p);
    p->magic = MAGIC_LIVE;
    struct payload *old = bdbi_rcu_xchg(slots[slot], p);
    if (old) bdbi_call_rcu(&old->head, reclaim);
    return 0;
}

struct job {
    bdb_env *env;
    unsigned slot;
    int fanout; /* sub-tasks to spawn and wait for */
};

static int job_main(void *arg, bdbi_future *self)
{
    (void)self;
    struct job *j = arg;
    int rc = replace_slot(j->env, j->slot);
    if (rc || j->fanout == 0) return rc;
    struct job kids[4];
    bdbi_future *f[4];
    int n = j->fanout > 4 ? 4 : j->fanout;
    bdbi_pool *pool = bdbi_pool_current();
    for (int i = 0; i < n; i++) {
        kids[i] = (struct job){j->env, (j->slot + (unsigned)i + 1) % SLOTS, 0};
        rc = bdbi_pool_submit(pool, job_main, &kids[i], (uint64_t)i, &f[i]);
        if (rc) {
            n = i;
            break;
        }
    }
    for (int i = 0; i < n; i++) {
        int r = bdbi_future_wait(f[i]);
        if (r && !rc) rc = r;
        bdbi_future_release(f[i]);
    }
    return rc;
}

static void *reader_main(void *arg)
{
    (void)arg;
    unsigned x = 12345;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        x = x * 1103515245u + 12345u;
        unsigned s = (x >> 16) % SLOTS;
        bdbi_rcu_read_lock();
        struct payload *p = bdbi_rcu_deref(slots[s]);
        if (p) {
            int ok = p->magic == MAGIC_LIVE && p->slot == s && checksum(p) == p->sum;
            atomic_fetch_add_explicit(ok ? &good_reads : &bad_reads, 1, memory_order_relaxed);
        }
        bdbi_rcu_read_unlock();
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 4000;
    const char *env_rounds = getenv("STRESS_ROUNDS");
    if (env_rounds) rounds = atoi(env_rounds);

    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 2;
    bdb_env *env;
    if (bdb_env_open(&o, &env) != 0) {
        printf("1..0 # SKIP cannot open env: %s\n", bdb_errmsg());
        return 1;
    }
    bdb_stats st0;
    bdb_env_stats(env, &st0);
    printf("1..3\n");

    pthread_t readers[READERS];
    for (int i = 0; i < READERS; i++) pthread_create(&readers[i], NULL, reader_main, NULL);

    /* each round: one batch of jobs with shuffled deadlines, some fanning out */
    int failures = 0;
    uint64_t tasks = 0;
    struct job jobs[SLOTS];
    bdbi_future *f[SLOTS];
    for (int r = 0; r < rounds; r++) {
        for (unsigned s = 0; s < SLOTS; s++) {
            jobs[s] = (struct job){env, s, (r + (int)s) % 5 == 0 ? 3 : 0};
            uint64_t deadline = (s * 7 + (unsigned)r) % 5 == 0 ? BDBI_NO_DEADLINE : s * 7 % 11;
            if (bdbi_pool_submit(env->pool, job_main, &jobs[s], deadline, &f[s]) != 0) {
                failures++;
                f[s] = NULL;
            }
        }
        for (unsigned s = 0; s < SLOTS; s++) {
            if (!f[s]) continue;
            if (bdbi_future_wait(f[s]) != 0) failures++;
            bdbi_future_release(f[s]);
            tasks++;
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < READERS; i++) pthread_join(readers[i], NULL);

    uint64_t bad = atomic_load(&bad_reads), good = atomic_load(&good_reads);
    printf("%s 1 - readers saw only whole, live objects (%" PRIu64 " good reads, %" PRIu64
           " bad)\n",
           bad == 0 && good > 0 ? "ok" : "not ok", good, bad);
    printf("%s 2 - %" PRIu64 " tasks completed, %d failures\n", failures == 0 ? "ok" : "not ok",
           tasks, failures);

    for (unsigned s = 0; s < SLOTS; s++) {
        struct payload *old = bdbi_rcu_xchg(slots[s], (struct payload *)NULL);
        if (old) bdbi_call_rcu(&old->head, reclaim);
    }
    bdbi_rcu_barrier();
    bdb_stats st;
    bdb_env_stats(env, &st);
    uint64_t published = atomic_load(&next_gen), freed = atomic_load(&reclaimed);
    int mem_ok = st.mem[BDB_MEM_OTHER].bytes == 0 && published == freed;
    int close_rc = bdb_env_close(env);
    printf("%s 3 - every object reclaimed (%" PRIu64 " of %" PRIu64 "), env closed (%d)\n",
           mem_ok && close_rc == 0 ? "ok" : "not ok", freed, published, close_rc);
    return bad == 0 && good > 0 && failures == 0 && mem_ok && close_rc == 0 ? 0 : 1;
}
