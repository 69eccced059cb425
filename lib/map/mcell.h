/* Cells of the bucket map's tables and data files (docs/map-files.md) and
 * the word-at-a-time accessors shared by readers and the writer.
 *
 * Tables are Robin Hood hash tables with backward-shift deletion: keys sit
 * in the order of their home cells, each cell's state word keeps its
 * distance from home, and a lookup stops at an empty cell or at a cell
 * whose key is nearer its home than the probe is to its own. An insert or
 * delete that moves cells makes the table's epoch odd while it moves them,
 * and a lookup that found nothing rechecks the epoch: a key that moved
 * past the reader is found on the retry.
 *
 * Readers copy cells while the shard's writer may change them, so every
 * access to cell memory is an 8-byte atomic (relaxed unless stated): the
 * state word says whether a copy was consistent. The protocol, for a cell
 * whose state word a reader loaded as S1 (acquire):
 *   reader: copy key and value words (relaxed); acquire fence; reload the
 *           state (S2); the copy is good iff S1 == S2 and S1 is not busy.
 *   writer: a change of what a reader may be copying stores the state with
 *           the busy bit first, then a release fence, then the new words,
 *           then the new state (release) with the sequence bumped. Writing
 *           a cell no published state refers to (a new data cell, the key
 *           of an empty or deleted cell) needs only the release fence: any
 *           reader still copying it loaded a state that has since changed.
 * Cells are 8-byte aligned: the files' cells start at a page boundary and
 * cell sizes are multiples of 8. */
#ifndef BDB_MAP_MCELL_H
#define BDB_MAP_MCELL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bucketdb/map.h"
#include "core/rcu.h"

/* The state word of a table cell (docs/map-files.md). */
enum { BDBI_MS_EMPTY = 0, BDBI_MS_INLINE = 2, BDBI_MS_DATA = 3 };

#define BDBI_MS_TAG(s)    ((unsigned)((s)&3u))
#define BDBI_MS_BUSY      ((uint64_t)1 << 2)
#define BDBI_MS_ONE       ((uint64_t)1 << 3)
#define BDBI_MS_CLS(s)    ((unsigned)(((s) >> 4) & 31u))
#define BDBI_MS_IDX(s)    ((uint64_t)(((s) >> 9) & BDBI_MS_MAX_IDX))
#define BDBI_MS_DIST(s)   ((unsigned)(((s) >> 39) & 255u))
#define BDBI_MS_SEQ_SHIFT 47
#define BDBI_MS_MAX_IDX   ((uint64_t)0x3fffffff) /* 30 bits */
#define BDBI_MS_MAX_DIST  255u
#define BDBI_MS_DIST_MASK ((uint64_t)255 << 39)

/* The state replacing `old` with `payload` (tag, fields, distance): the
 * sequence is bumped, so every change is visible to a reader's recheck. */
static inline uint64_t bdbi_ms_next(uint64_t old, uint64_t payload)
{
    return payload | ((old >> BDBI_MS_SEQ_SHIFT) + 1) << BDBI_MS_SEQ_SHIFT;
}

static inline uint64_t bdbi_ms_inline(size_t n, unsigned dist)
{
    return BDBI_MS_INLINE | (n ? BDBI_MS_ONE : 0) | (uint64_t)dist << 39;
}

static inline uint64_t bdbi_ms_data(unsigned cls, uint64_t idx, unsigned dist)
{
    return BDBI_MS_DATA | (uint64_t)cls << 4 | idx << 9 | (uint64_t)dist << 39;
}

/* The payload of `s` (everything but busy and the sequence) at distance
 * `dist` from its home cell. */
static inline uint64_t bdbi_ms_moved(uint64_t s, unsigned dist)
{
    uint64_t keep = (((uint64_t)1 << BDBI_MS_SEQ_SHIFT) - 1) & ~BDBI_MS_BUSY & ~BDBI_MS_DIST_MASK;
    return (s & keep) | (uint64_t)dist << 39;
}

/* Table and data cell geometry of one map. */
typedef struct bdbi_mlayout {
    uint32_t key_size, elem_size;
    uint32_t key_pad;   /* key_size rounded up to 8 */
    uint32_t elem_pad;  /* elem_size rounded up to 8 */
    uint32_t cell_size; /* table cell: 8 + key_pad + elem_pad */
    uint32_t max_search;
    int ref_counts;
} bdbi_mlayout;

/* Data cell of class `cls`: 16-byte header and 2^cls elements, padded. */
static inline uint64_t bdbi_mdata_cell_size(const bdbi_mlayout *L, unsigned cls)
{
    uint64_t body = ((uint64_t)L->elem_size << cls) + 7;
    return 16 + (body & ~(uint64_t)7);
}

/* Smallest class holding n elements: 0 for n <= 1, else ceil(log2 n). */
static inline unsigned bdbi_mdata_class(size_t n)
{
    return n <= 1 ? 0 : 64 - (unsigned)__builtin_clzll((unsigned long long)(n - 1));
}

/* Fences of the cell protocol. GCC refuses atomic_thread_fence under
 * -fsanitize=thread (TSan does not model fences): there a compiler barrier
 * stands in, which on x86 is all an acquire or release fence is anyway
 * (the CPU keeps loads and stores in order), and every access to cell
 * memory being atomic, TSan has no race to report on cells either way. */
#ifdef BDBI_TSAN
#define bdbi_fence_acquire() __atomic_signal_fence(__ATOMIC_ACQUIRE)
#define bdbi_fence_release() __atomic_signal_fence(__ATOMIC_RELEASE)
#else
#define bdbi_fence_acquire() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define bdbi_fence_release() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif

static inline uint64_t bdbi_ld(const uint8_t *p)
{
    return __atomic_load_n((const uint64_t *)(const void *)p, __ATOMIC_RELAXED);
}

static inline uint64_t bdbi_ld_acq(const uint8_t *p)
{
    return __atomic_load_n((const uint64_t *)(const void *)p, __ATOMIC_ACQUIRE);
}

static inline void bdbi_st(uint8_t *p, uint64_t v)
{
    __atomic_store_n((uint64_t *)(void *)p, v, __ATOMIC_RELAXED);
}

static inline void bdbi_st_rel(uint8_t *p, uint64_t v)
{
    __atomic_store_n((uint64_t *)(void *)p, v, __ATOMIC_RELEASE);
}

/* Copies n bytes out of cell memory at `src` (8-aligned; readable up to
 * the next multiple of 8). */
static inline void bdbi_cell_copy_out(void *dst, const uint8_t *src, size_t n)
{
    uint8_t *d = dst;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = bdbi_ld(src + i);
        memcpy(d + i, &w, 8);
    }
    if (i < n) {
        uint64_t w = bdbi_ld(src + i);
        memcpy(d + i, &w, n - i);
    }
}

/* Copies n bytes into cell memory at `dst` (8-aligned), zero-filling up
 * to the next multiple of 8. */
static inline void bdbi_cell_copy_in(uint8_t *dst, const void *src, size_t n)
{
    const uint8_t *s = src;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        bdbi_st(dst + i, w);
    }
    if (i < n) {
        uint64_t w = 0;
        memcpy(&w, s + i, n - i);
        bdbi_st(dst + i, w);
    }
}

#endif
