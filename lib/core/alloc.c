#include "config.h"

#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#include "env.h"
#include "error.h"

static const char *const category_names[BDB_MEM__COUNT] = {
    [BDB_MEM_CORE] = "core",     [BDB_MEM_POOL] = "pool",   [BDB_MEM_XDR] = "xdr",
    [BDB_MEM_BUCKET] = "bucket", [BDB_MEM_INDEX] = "index", [BDB_MEM_CACHE] = "cache",
    [BDB_MEM_LIST] = "list",     [BDB_MEM_MAP] = "map",     [BDB_MEM_ARCHIVE] = "archive",
    [BDB_MEM_OTHER] = "other",
};

BDB_API const char *bdb_mem_category_name(int category)
{
    if (category < 0 || category >= BDB_MEM__COUNT) return "unknown";
    return category_names[category];
}

int bdbi_alloc_init(bdbi_alloc *a, int use_arena)
{
    memset(a, 0, sizeof *a);
#ifdef HAVE_JEMALLOC
    if (use_arena) {
        unsigned ind;
        size_t sz = sizeof ind;
        int rc = mallctl("arenas.create", &ind, &sz, NULL, 0);
        if (rc != 0) return bdbi_err_sys(rc, NULL, "jemalloc: cannot create an arena");
        a->arena = ind;
        a->arena_on = 1;
    }
#else
    (void)use_arena;
#endif
    return 0;
}

static uint64_t outstanding(const bdbi_alloc *a)
{
    return atomic_load_explicit(&a->total.bytes, memory_order_relaxed);
}

int bdbi_alloc_fini(bdbi_alloc *a)
{
    uint64_t left = outstanding(a);
    if (left)
        return bdbi_err(BDB_EINTERNAL, "%llu bytes are still allocated (a leak)",
                        (unsigned long long)left);
#ifdef HAVE_JEMALLOC
    if (a->arena_on) {
        char name[64];
        snprintf(name, sizeof name, "arena.%u.destroy", a->arena);
        /* No thread is bound to the arena and no tcache is used with it,
         * so destruction cannot fail for a reason we could act on. */
        (void)mallctl(name, NULL, NULL, NULL, 0);
        a->arena_on = 0;
    }
#endif
    return 0;
}

#ifdef HAVE_JEMALLOC
/* The automatic tcache is shared by every arena a thread uses, so it could
 * hand regions of our arena to the process malloc and back, and the arena
 * could not be destroyed while other threads' tcaches hold its regions.
 * So: pool workers, which do the heavy allocation, each own an explicit
 * tcache (created when the worker starts, destroyed when it stops, both
 * inside the env's lifetime); other threads bypass caching (see
 * docs/core.md). */
static _Thread_local struct {
    const bdbi_alloc *alloc;
    unsigned tcache;
} tls_tc;

static int arena_flags(const bdbi_alloc *a)
{
    return MALLOCX_ARENA(a->arena) |
           (tls_tc.alloc == a ? MALLOCX_TCACHE(tls_tc.tcache) : MALLOCX_TCACHE_NONE);
}
#endif

void bdbi_alloc_thread_start(bdbi_alloc *a)
{
#ifdef HAVE_JEMALLOC
    unsigned tc;
    size_t sz = sizeof tc;
    /* without a tcache the thread still works, only slower */
    if (a->arena_on && mallctl("tcache.create", &tc, &sz, NULL, 0) == 0) {
        tls_tc.alloc = a;
        tls_tc.tcache = tc;
    }
#else
    (void)a;
#endif
}

void bdbi_alloc_thread_stop(bdbi_alloc *a)
{
#ifdef HAVE_JEMALLOC
    if (tls_tc.alloc != a) return;
    /* destroying flushes the cached regions back to their arena */
    (void)mallctl("tcache.destroy", NULL, NULL, &tls_tc.tcache, sizeof tls_tc.tcache);
    tls_tc.alloc = NULL;
#else
    (void)a;
#endif
}

static void counter_add(struct bdbi_mem_counter *c, uint64_t n)
{
    uint64_t now = atomic_fetch_add_explicit(&c->bytes, n, memory_order_relaxed) + n;
    uint64_t peak = atomic_load_explicit(&c->peak, memory_order_relaxed);
    while (now > peak && !atomic_compare_exchange_weak_explicit(
                             &c->peak, &peak, now, memory_order_relaxed, memory_order_relaxed)) {
    }
}

static void counter_sub(struct bdbi_mem_counter *c, uint64_t n)
{
    atomic_fetch_sub_explicit(&c->bytes, n, memory_order_relaxed);
}

/* Changes the bytes of `cat` and of the total by `delta`; `event` is +1 for
 * an allocation, -1 for a free, 0 for a resize. Three atomic operations:
 * allocation and free counts are kept per category only, and the total's
 * are summed when stats are read. */
static void account(bdbi_alloc *a, bdb_mem_category cat, int64_t delta, int event)
{
    struct bdbi_mem_counter *c = &a->cat[cat];
    if (delta > 0) {
        counter_add(c, (uint64_t)delta);
        counter_add(&a->total, (uint64_t)delta);
    } else if (delta < 0) {
        counter_sub(c, (uint64_t)-delta);
        counter_sub(&a->total, (uint64_t)-delta);
    }
    if (event)
        atomic_fetch_add_explicit(event > 0 ? &c->allocs : &c->frees, 1, memory_order_relaxed);
}

static int oom(bdb_mem_category cat, size_t n)
{
    return bdbi_err(BDB_ENOMEM, "out of memory allocating %zu bytes for %s", n,
                    bdb_mem_category_name((int)cat));
}

/* Allocates and accounts `n` bytes (zeroed if asked). Sizes above
 * PTRDIFF_MAX are refused here: jemalloc leaves them undefined. */
static void *alloc_accounted(bdb_env *env, bdb_mem_category cat, size_t n, int zero)
{
    bdbi_alloc *a = &env->alloc;
    if (n == 0) n = 1;
    void *p = NULL;
    if (n <= PTRDIFF_MAX) {
#ifdef HAVE_JEMALLOC
        if (a->arena_on)
            p = mallocx(n, arena_flags(a) | (zero ? MALLOCX_ZERO : 0));
        else
#endif
            p = zero ? calloc(1, n) : malloc(n);
    }
    if (!p) {
        oom(cat, n);
        return NULL;
    }
    account(a, cat, (int64_t)n, 1);
    return p;
}

void *bdbi_malloc(bdb_env *env, bdb_mem_category cat, size_t n)
{
    return alloc_accounted(env, cat, n, 0);
}

void *bdbi_calloc(bdb_env *env, bdb_mem_category cat, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        bdbi_err(BDB_ENOMEM, "allocation of %zu x %zu bytes for %s overflows", count, size,
                 bdb_mem_category_name((int)cat));
        return NULL;
    }
    return alloc_accounted(env, cat, n, 1);
}

void *bdbi_realloc(bdb_env *env, bdb_mem_category cat, void *p, size_t old_n, size_t new_n)
{
    bdbi_alloc *a = &env->alloc;
    if (!p) return bdbi_malloc(env, cat, new_n);
    if (new_n == 0) new_n = 1;
    if (old_n == 0) old_n = 1;
    void *q;
    if (new_n > PTRDIFF_MAX) {
        oom(cat, new_n);
        return NULL;
    }
#ifdef HAVE_JEMALLOC
    if (a->arena_on)
        q = rallocx(p, new_n, arena_flags(a));
    else
#endif
        q = realloc(p, new_n);
    if (!q) {
        oom(cat, new_n);
        return NULL;
    }
    account(a, cat, (int64_t)new_n - (int64_t)old_n, 0);
    return q;
}

void bdbi_free(bdb_env *env, bdb_mem_category cat, void *p, size_t n)
{
    bdbi_alloc *a = &env->alloc;
    if (!p) return;
    if (n == 0) n = 1;
#ifdef HAVE_JEMALLOC
    if (a->arena_on)
        sdallocx(p, n, arena_flags(a));
    else
#endif
        free(p);
    account(a, cat, -(int64_t)n, -1);
}

char *bdbi_strdup(bdb_env *env, bdb_mem_category cat, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = bdbi_malloc(env, cat, n);
    if (d) memcpy(d, s, n);
    return d;
}

void bdbi_strfree(bdb_env *env, bdb_mem_category cat, char *s)
{
    if (s) bdbi_free(env, cat, s, strlen(s) + 1);
}

void bdbi_alloc_stats(bdbi_alloc *a, bdb_mem_stats *out, bdb_mem_stats *total,
                      uint64_t *arena_active)
{
    memset(total, 0, sizeof *total);
    for (int c = 0; c < BDB_MEM__COUNT; c++) {
        struct bdbi_mem_counter *m = &a->cat[c];
        out[c].bytes = atomic_load_explicit(&m->bytes, memory_order_relaxed);
        out[c].peak_bytes = atomic_load_explicit(&m->peak, memory_order_relaxed);
        out[c].allocs = atomic_load_explicit(&m->allocs, memory_order_relaxed);
        out[c].frees = atomic_load_explicit(&m->frees, memory_order_relaxed);
        total->allocs += out[c].allocs;
        total->frees += out[c].frees;
    }
    total->bytes = atomic_load_explicit(&a->total.bytes, memory_order_relaxed);
    total->peak_bytes = atomic_load_explicit(&a->total.peak, memory_order_relaxed);
    *arena_active = 0;
#ifdef HAVE_JEMALLOC
    if (a->arena_on) {
        uint64_t epoch = 1;
        size_t sz = sizeof epoch;
        char name[64];
        size_t pactive = 0, page = 0;
        (void)mallctl("epoch", &epoch, &sz, &epoch, sz);
        snprintf(name, sizeof name, "stats.arenas.%u.pactive", a->arena);
        sz = sizeof pactive;
        if (mallctl(name, &pactive, &sz, NULL, 0) != 0) return;
        sz = sizeof page;
        if (mallctl("arenas.page", &page, &sz, NULL, 0) != 0) return;
        *arena_active = (uint64_t)pactive * page;
    }
#endif
}
