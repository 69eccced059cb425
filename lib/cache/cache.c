#include "config.h"

#include "cache.h"

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/rcu.h"

/* ------------------------------------------------------------------ */
/* Layout                                                             */
/* ------------------------------------------------------------------ */

/* An entry. Key and value never change once the node is published, so a
 * reader that reached it through a slot can compare and copy without
 * coordinating with writers; an update publishes a new node instead. Only
 * `stamp` is written after publication (atomically, by readers). `pos`, the
 * entry's place in dense[], is set before publication too: when the entry
 * moves in the table, dense[pos] changes, not the node. Unpublished nodes
 * are freed after an RCU grace period, so a reader's node stays valid
 * until its read-side section ends. */
struct node {
    struct rcu_head head;
    bdb_env *env; /* the RCU callback has nothing else to reach it by */
    _Atomic uint64_t stamp;
    uint32_t klen, vlen;
    uint32_t pos; /* index in dense[] */
    uint8_t data[];
};

/* The hash lets probes skip foreign entries without touching their nodes.
 * It and the node pointer are two stores, so a reader can see one slot's
 * hash with another's node; that only makes it skip or compare in vain,
 * because the full key in the node decides. */
struct slot {
    _Atomic uint64_t hash;
    struct node *_Atomic node;
};

/* Counters bumped by readers are spread over per-thread stripes: one
 * shared counter would bounce its cache line between every two lookups on
 * different cores. Stripes are 64 bytes apart and malloc aligns to 16, so
 * no two stripes' counters share a line. */
enum { STRIPES = 16 };
struct stripe {
    _Atomic uint64_t hits, misses;
    char pad[64 - 2 * sizeof(uint64_t)];
};

struct bdbi_cache {
    /* set at creation, read by every lookup */
    bdb_env *env;
    struct slot *slots;
    size_t mask; /* slots - 1 */
    size_t capacity;
    uint64_t hash_seed;
    char pad0[64];

    /* Logical time. Writers advance it by 2 per put and stamp what they
     * insert with it; a lookup stamps with clock + 1, so a hit since the
     * last put ranks after that put's entry and before the next one's.
     * stellar-core bumps the clock on gets too, but that would make every
     * lookup write one shared line; here hits between two puts tie, which
     * changes nothing about the order of a hit relative to any put. */
    _Atomic uint64_t clock;
    char pad1[64];

    /* writer side: written only by the holder of `busy`, except `skipped` */
    _Atomic int busy;
    uint32_t *dense; /* slot index of every resident entry, [0, count) */
    _Atomic size_t count;
    _Atomic size_t node_bytes;
    uint64_t rng[4];
    _Atomic uint64_t inserts, updates, evictions, skipped;
    char pad2[64];

    struct stripe stripes[STRIPES];
};

static size_t node_size(size_t klen, size_t vlen)
{
    return offsetof(struct node, data) + klen + vlen;
}

static size_t table_bytes(const bdbi_cache *c)
{
    return sizeof *c + (c->mask + 1) * sizeof(struct slot) + c->capacity * sizeof(uint32_t);
}

/* ------------------------------------------------------------------ */
/* Eviction randomness: xoshiro256** seeded through splitmix64         */
/* ------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(uint64_t s[4])
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* Uniform in [0, n), without the modulo bias (Lemire's method): stellar-core
 * draws uniformly too, and a biased draw would favour low dense[] indices. */
static size_t rng_below(uint64_t s[4], size_t n)
{
    unsigned __int128 m = (unsigned __int128)rng_next(s) * n;
    if ((uint64_t)m < n) {
        uint64_t floor = -(uint64_t)n % n;
        while ((uint64_t)m < floor) m = (unsigned __int128)rng_next(s) * n;
    }
    return (size_t)(m >> 64);
}

/* ------------------------------------------------------------------ */
/* Stripes                                                            */
/* ------------------------------------------------------------------ */

/* Threads get stripes by thread id, which Linux hands out consecutively,
 * so threads started together land on different stripes without any
 * process-wide counter. */
static _Thread_local long tls_tid;

static struct stripe *my_stripe(bdbi_cache *c)
{
    if (__builtin_expect(tls_tid == 0, 0)) tls_tid = syscall(SYS_gettid);
    return &c->stripes[(unsigned long)tls_tid % STRIPES];
}

/* ------------------------------------------------------------------ */
/* Sizing                                                             */
/* ------------------------------------------------------------------ */

/* A double to size_t as C++'s static_cast does for the values stellar-core
 * can produce, and defined for the others (NaN, negative or too large,
 * which a C conversion would leave undefined). */
static size_t double_to_size(double d)
{
    if (!(d > 0)) return 0;
    if (d >= 18446744073709551616.0) return SIZE_MAX;
    return (size_t)d;
}

/* stellar-core (src/bucket/LiveBucketIndex.cpp, maybeInitializeCache) holds
 * the counts and byte sizes as size_t and computes in double:
 *   fraction = double(piece_bytes) / total_bytes          (double)
 *   avail    = size_t(budget * fraction)                  (budget -> double)
 *   average  = double(piece_bytes) / count                (double)
 *   entries  = size_t(avail / average)                    (avail -> double)
 * Both conversions truncate. The steps below are the same IEEE double
 * operations in the same order (x86-64 evaluates double in double,
 * FLT_EVAL_METHOD 0), so the result is bit-for-bit the same. */
size_t bdbi_cache_capacity(uint64_t budget_bytes, uint64_t piece_account_count,
                           uint64_t piece_account_bytes, uint64_t total_account_bytes)
{
    if (piece_account_count == 0 || budget_bytes == 0) return 0;
    if (total_account_bytes < budget_bytes)
        return piece_account_count > SIZE_MAX ? SIZE_MAX : (size_t)piece_account_count;
    /* total >= budget > 0 here, so the first division is defined */
    double fraction = (double)piece_account_bytes / (double)total_account_bytes;
    size_t avail = double_to_size((double)budget_bytes * fraction);
    double average = (double)piece_account_bytes / (double)piece_account_count;
    /* accounts of 0 bytes cannot exist; stellar-core would divide by 0 */
    if (!(average > 0)) return 0;
    return double_to_size((double)avail / average);
}

/* ------------------------------------------------------------------ */
/* Create, destroy                                                    */
/* ------------------------------------------------------------------ */

int bdbi_cache_create(bdb_env *env, size_t capacity, uint64_t seed, bdbi_cache **out)
{
    *out = NULL;
    if (capacity == 0) return 0;
    if (capacity > BDBI_CACHE_MAX_CAPACITY)
        return bdbi_err(BDB_EINVAL, "entry cache capacity %zu exceeds the maximum %zu", capacity,
                        BDBI_CACHE_MAX_CAPACITY);
    /* Load factor at most 3/4 keeps linear probes short (about 2.5 slots
     * for a hit, 8.5 for an absent key at worst), and at least one slot
     * always stays empty, which is what ends a probe for an absent key. */
    size_t want = capacity + capacity / 3 + 1, nslots = 2;
    while (nslots < want) nslots <<= 1;

    bdbi_cache *c = bdbi_calloc(env, BDB_MEM_CACHE, 1, sizeof *c);
    if (!c) return BDB_ENOMEM;
    c->env = env;
    c->mask = nslots - 1;
    c->capacity = capacity;
    c->slots = bdbi_calloc(env, BDB_MEM_CACHE, nslots, sizeof *c->slots);
    c->dense = bdbi_malloc(env, BDB_MEM_CACHE, capacity * sizeof *c->dense);
    if (!c->slots || !c->dense) {
        bdbi_free(env, BDB_MEM_CACHE, c->slots, nslots * sizeof *c->slots);
        bdbi_free(env, BDB_MEM_CACHE, c->dense, capacity * sizeof *c->dense);
        bdbi_free(env, BDB_MEM_CACHE, c, sizeof *c);
        return BDB_ENOMEM;
    }
    uint64_t s = seed;
    for (int i = 0; i < 4; i++) c->rng[i] = splitmix64(&s);
    c->hash_seed = splitmix64(&s);
    *out = c;
    return 0;
}

static void node_free(bdb_env *env, struct node *n)
{
    bdbi_free(env, BDB_MEM_CACHE, n, node_size(n->klen, n->vlen));
}

static void node_free_rcu(struct rcu_head *h)
{
    BDBI_RCU_CALLBACK_ENTER();
    struct node *n = caa_container_of(h, struct node, head);
    node_free(n->env, n);
}

void bdbi_cache_destroy(bdb_env *env, bdbi_cache *c)
{
    if (!c) return;
    size_t nslots = c->mask + 1;
    for (size_t i = 0; i < nslots; i++) {
        struct node *n = atomic_load_explicit(&c->slots[i].node, memory_order_relaxed);
        if (n) node_free(env, n);
    }
    bdbi_free(env, BDB_MEM_CACHE, c->slots, nslots * sizeof *c->slots);
    bdbi_free(env, BDB_MEM_CACHE, c->dense, c->capacity * sizeof *c->dense);
    bdbi_free(env, BDB_MEM_CACHE, c, sizeof *c);
}

/* ------------------------------------------------------------------ */
/* Reading                                                            */
/* ------------------------------------------------------------------ */

/* Linear probing from the key's home slot until the key or an empty slot.
 * Inside a read-side section for readers; under `busy` for writers, who
 * are the only ones changing slots and so see them exactly. The bound on
 * probes only matters to a reader overtaken by many writer moves. */
static size_t find_slot(const bdbi_cache *c, uint64_t h, const uint8_t *key, size_t klen,
                        struct node **found)
{
    size_t i = (size_t)h & c->mask;
    for (size_t probes = 0; probes <= c->mask; probes++, i = (i + 1) & c->mask) {
        struct node *n = atomic_load_explicit(&c->slots[i].node, memory_order_acquire);
        if (!n) break;
        if (atomic_load_explicit(&c->slots[i].hash, memory_order_relaxed) != h) continue;
        if (n->klen == klen && (klen == 0 || memcmp(n->data, key, klen) == 0)) {
            *found = n;
            return i;
        }
    }
    *found = NULL;
    return SIZE_MAX;
}

int bdbi_cache_lookup(bdbi_cache *c, const uint8_t *key, size_t klen, uint8_t *val, size_t cap,
                      size_t *vlen)
{
    if (!c || klen > UINT32_MAX) return 0;
    uint64_t h = bdbi_hash64(key, klen, c->hash_seed);
    size_t need = 0;
    int found = 0;
    bdbi_rcu_read_lock();
    struct node *n;
    (void)find_slot(c, h, key, klen, &n);
    if (n) {
        need = n->vlen;
        found = need <= cap ? 1 : -1;
        if (found > 0) {
            if (need) memcpy(val, n->data + n->klen, need);
            /* Write the stamp only when it changes: a hot entry hit by
             * many threads between two puts is then only read. */
            uint64_t now = atomic_load_explicit(&c->clock, memory_order_relaxed) + 1;
            if (atomic_load_explicit(&n->stamp, memory_order_relaxed) < now)
                atomic_store_explicit(&n->stamp, now, memory_order_relaxed);
        }
    }
    bdbi_rcu_read_unlock();
    if (!found) return 0;
    *vlen = need;
    if (found < 0)
        return bdbi_err(BDB_EINVAL, "cached value of %zu bytes does not fit in %zu", need, cap);
    atomic_fetch_add_explicit(&my_stripe(c)->hits, 1, memory_order_relaxed);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Writing (under `busy`)                                             */
/* ------------------------------------------------------------------ */

static void publish(bdbi_cache *c, size_t i, uint64_t h, struct node *n)
{
    atomic_store_explicit(&c->slots[i].hash, h, memory_order_relaxed);
    atomic_store_explicit(&c->slots[i].node, n, memory_order_release);
}

static void insert(bdbi_cache *c, uint64_t h, struct node *n, uint32_t pos)
{
    size_t i = (size_t)h & c->mask;
    while (atomic_load_explicit(&c->slots[i].node, memory_order_relaxed)) i = (i + 1) & c->mask;
    n->pos = pos;
    c->dense[pos] = (uint32_t)i;
    publish(c, i, h, n);
}

/* Empties slot `i` by backward-shift deletion, so the table never holds
 * tombstones (a cache that evicts on every insert would fill up with
 * them). Each later entry of the run that may live closer to its home
 * slot is copied into the hole before its old slot is reused, so an entry
 * that does not move is always reachable; one that moves can be missed by
 * a reader probing past it at that moment, which costs that reader a disk
 * read, never a wrong answer. Returns the removed node. */
static struct node *remove_slot(bdbi_cache *c, size_t i)
{
    struct node *gone = atomic_load_explicit(&c->slots[i].node, memory_order_relaxed);
    for (size_t j = i;;) {
        j = (j + 1) & c->mask;
        struct node *n = atomic_load_explicit(&c->slots[j].node, memory_order_relaxed);
        if (!n) break;
        uint64_t h = atomic_load_explicit(&c->slots[j].hash, memory_order_relaxed);
        /* movable when the hole lies between its home and j */
        if (((j - (size_t)h) & c->mask) >= ((j - i) & c->mask)) {
            publish(c, i, h, n);
            c->dense[n->pos] = (uint32_t)i;
            i = j;
        }
    }
    atomic_store_explicit(&c->slots[i].node, NULL, memory_order_release);
    atomic_store_explicit(&c->slots[i].hash, 0, memory_order_relaxed);
    return gone;
}

static uint64_t stamp_of(const bdbi_cache *c, size_t pos)
{
    const struct node *n =
        atomic_load_explicit(&c->slots[c->dense[pos]].node, memory_order_relaxed);
    return atomic_load_explicit(&n->stamp, memory_order_relaxed);
}

static void bump(_Atomic uint64_t *counter)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* Stores `nn` (stamped, not yet published) for `key`; returns whether it
 * is resident and sets *retire to a node to free after a grace period. */
static int put_locked(bdbi_cache *c, uint64_t h, struct node *nn, struct node **retire)
{
    uint64_t now = atomic_load_explicit(&c->clock, memory_order_relaxed) + 2;
    atomic_store_explicit(&c->clock, now, memory_order_relaxed);
    atomic_store_explicit(&nn->stamp, now, memory_order_relaxed);
    size_t nsize = node_size(nn->klen, nn->vlen);
    size_t bytes = atomic_load_explicit(&c->node_bytes, memory_order_relaxed);

    struct node *cur;
    size_t i = find_slot(c, h, nn->data, nn->klen, &cur);
    if (cur) {
        bump(&c->updates);
        /* Two readers that missed the same key offer the same bytes;
         * keeping the published node spares readers a pointer change. */
        if (cur->vlen == nn->vlen &&
            memcmp(cur->data + cur->klen, nn->data + nn->klen, nn->vlen) == 0) {
            atomic_store_explicit(&cur->stamp, now, memory_order_relaxed);
            *retire = NULL;
            node_free(c->env, nn);
            return 1;
        }
        nn->pos = cur->pos;
        publish(c, i, h, nn);
        *retire = cur;
        atomic_store_explicit(&c->node_bytes, bytes + nsize - node_size(cur->klen, cur->vlen),
                              memory_order_relaxed);
        return 1;
    }

    bump(&c->inserts);
    size_t n = atomic_load_explicit(&c->count, memory_order_relaxed);
    *retire = NULL;
    if (n < c->capacity) {
        insert(c, h, nn, (uint32_t)n);
        atomic_store_explicit(&c->count, n + 1, memory_order_relaxed);
        atomic_store_explicit(&c->node_bytes, bytes + nsize, memory_order_relaxed);
        return 1;
    }
    /* stellar-core appends the new entry (index n), draws two indices in
     * [0, n] and evicts the older of the two, the second on a tie, moving
     * the last entry into the victim's place. Deciding before inserting is
     * the same choice, and the new entry, stamped now, is only chosen when
     * both draws hit it. */
    bump(&c->evictions);
    size_t r1 = rng_below(c->rng, n + 1), r2 = rng_below(c->rng, n + 1);
    uint64_t s1 = r1 == n ? now : stamp_of(c, r1), s2 = r2 == n ? now : stamp_of(c, r2);
    size_t victim = s1 < s2 ? r1 : r2;
    if (victim == n) {
        node_free(c->env, nn);
        return 0;
    }
    struct node *old = remove_slot(c, c->dense[victim]);
    insert(c, h, nn, (uint32_t)victim);
    *retire = old;
    atomic_store_explicit(&c->node_bytes, bytes + nsize - node_size(old->klen, old->vlen),
                          memory_order_relaxed);
    return 1;
}

int bdbi_cache_put(bdbi_cache *c, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    if (!c) return 0;
    atomic_fetch_add_explicit(&my_stripe(c)->misses, 1, memory_order_relaxed);
    if (klen > UINT32_MAX || vlen > UINT32_MAX)
        return bdbi_err(BDB_EINVAL, "cache entry too large (key %zu, value %zu bytes)", klen, vlen);
    if (atomic_load_explicit(&c->busy, memory_order_relaxed)) goto skip;

    /* The node is built before taking `busy`, to keep the time others are
     * turned away short; a lost race costs one allocation. */
    struct node *nn = bdbi_malloc(c->env, BDB_MEM_CACHE, node_size(klen, vlen));
    if (!nn) return BDB_ENOMEM;
    nn->env = c->env;
    nn->klen = (uint32_t)klen;
    nn->vlen = (uint32_t)vlen;
    if (klen) memcpy(nn->data, key, klen);
    if (vlen) memcpy(nn->data + klen, val, vlen);
    uint64_t h = bdbi_hash64(key, klen, c->hash_seed);

    if (atomic_exchange_explicit(&c->busy, 1, memory_order_acquire)) {
        node_free(c->env, nn);
        goto skip;
    }
    struct node *retire;
    int rc = put_locked(c, h, nn, &retire);
    atomic_store_explicit(&c->busy, 0, memory_order_release);
    /* queued outside `busy`: call_rcu may wake liburcu's worker thread */
    if (retire) bdbi_call_rcu(&retire->head, node_free_rcu);
    return rc;

skip:
    atomic_fetch_add_explicit(&c->skipped, 1, memory_order_relaxed);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Statistics                                                         */
/* ------------------------------------------------------------------ */

void bdbi_cache_stats_get(const bdbi_cache *c, bdbi_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!c) return;
    for (int i = 0; i < STRIPES; i++) {
        out->hits += atomic_load_explicit(&c->stripes[i].hits, memory_order_relaxed);
        out->misses += atomic_load_explicit(&c->stripes[i].misses, memory_order_relaxed);
    }
    out->inserts = atomic_load_explicit(&c->inserts, memory_order_relaxed);
    out->updates = atomic_load_explicit(&c->updates, memory_order_relaxed);
    out->evictions = atomic_load_explicit(&c->evictions, memory_order_relaxed);
    out->skipped = atomic_load_explicit(&c->skipped, memory_order_relaxed);
    out->entries = atomic_load_explicit(&c->count, memory_order_relaxed);
    out->capacity = c->capacity;
}

size_t bdbi_cache_bytes(const bdbi_cache *c)
{
    if (!c) return 0;
    return table_bytes(c) + atomic_load_explicit(&c->node_bytes, memory_order_relaxed);
}
