/* Allocation-failure injection for test programs linked with
 *     -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc
 * The linker then sends every malloc, calloc and realloc call made by the
 * program's own objects (the test and the static internal library, not
 * shared libraries such as Criterion or jansson) through the wrappers
 * below, which can make one chosen call fail. The library reaches malloc
 * only without a jemalloc arena, so open the environment with
 * use_jemalloc_arena = 0.
 *
 *     alloc_fail_arm(3);      // the 3rd allocation from now returns NULL
 *     rc = operation();
 *     int hit = alloc_fail_fired();
 *     alloc_fail_disarm();
 *
 * Trying nth = 1, 2, ... until an armed run no longer fires tests every
 * allocation of an operation. Include in exactly one file per program. */
#ifndef BDB_TESTS_ALLOC_FAIL_H
#define BDB_TESTS_ALLOC_FAIL_H

#include <stdatomic.h>
#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t count, size_t size);
void *__wrap_realloc(void *p, size_t n);

static _Atomic long alloc_fail_countdown; /* 0: off; n: the nth call fails */
static _Atomic int alloc_fail_hit;

static inline void alloc_fail_arm(long nth)
{
    atomic_store(&alloc_fail_hit, 0);
    atomic_store(&alloc_fail_countdown, nth);
}

static inline void alloc_fail_disarm(void)
{
    atomic_store(&alloc_fail_countdown, 0);
}

static inline int alloc_fail_fired(void)
{
    return atomic_load(&alloc_fail_hit);
}

static int alloc_fail_now(void)
{
    long c = atomic_load(&alloc_fail_countdown);
    while (c > 0 && !atomic_compare_exchange_weak(&alloc_fail_countdown, &c, c - 1)) {
    }
    if (c != 1) return 0;
    atomic_store(&alloc_fail_hit, 1);
    return 1;
}

void *__wrap_malloc(size_t n)
{
    return alloc_fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t count, size_t size)
{
    return alloc_fail_now() ? NULL : __real_calloc(count, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return alloc_fail_now() ? NULL : __real_realloc(p, n);
}

#endif
