/* A bag of key hashes that spills to a scratch file (hspill.h). */
#include "config.h"

#include "hspill.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/scratch.h"

#define CAT              BDB_MEM_INDEX
#define DEFAULT_MEM_KEYS ((size_t)1 << 17)
/* the most hashes one read of a run brings in: 64 KiB */
#define WINDOW_MAX ((size_t)8192)

struct bdbi_hspill {
    bdb_env *env;
    char *dir; /* NULL: never spills */
    size_t mem_keys;
    int allowed;
    uint64_t total;
    /* the in-memory hashes: the order they came until `begin`, then the
     * last run */
    uint64_t *buf;
    size_t n, cap;
    /* the spilled runs: run r is the hashes [r ? run_end[r-1] : 0,
     * run_end[r]) of the file, ordered by their top 16 bits */
    bdbi_scratch *file;
    uint64_t *run_end;
    size_t n_runs, runs_cap;
    /* reading back: partition `part` of `parts`; cur[r] is run r's first
     * unread hash (cur[n_runs]: the in-memory run's) */
    unsigned bits;
    uint64_t part, parts;
    uint64_t *cur;
    uint64_t *out, *win;
    size_t out_n, out_cap, win_cap;
};

static int grow(bdb_env *env, uint64_t **p, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap + *cap / 2 : 256;
    if (c < need) c = need;
    if (c > SIZE_MAX / 8) return bdbi_err(BDB_ENOMEM, "%zu key hashes are too many", need);
    uint64_t *q = bdbi_realloc(env, CAT, *p, *cap * 8, c * 8);
    if (!q) return BDB_ENOMEM;
    *p = q;
    *cap = c;
    return 0;
}

int bdbi_hspill_new(bdb_env *env, const char *dir, size_t mem_keys, bdbi_hspill **out)
{
    *out = NULL;
    bdbi_hspill *s = bdbi_calloc(env, CAT, 1, sizeof *s);
    if (!s) return BDB_ENOMEM;
    s->env = env;
    s->mem_keys = mem_keys ? mem_keys : DEFAULT_MEM_KEYS;
    if (dir && !(s->dir = bdbi_strdup(env, CAT, dir))) {
        bdbi_free(env, CAT, s, sizeof *s);
        return BDB_ENOMEM;
    }
    *out = s;
    return 0;
}

void bdbi_hspill_free(bdbi_hspill *s)
{
    if (!s) return;
    bdb_env *env = s->env;
    bdbi_scratch_close(s->file);
    if (s->buf) bdbi_free(env, CAT, s->buf, s->cap * 8);
    if (s->run_end) bdbi_free(env, CAT, s->run_end, s->runs_cap * 8);
    if (s->cur) bdbi_free(env, CAT, s->cur, (s->n_runs + 1) * 8);
    if (s->out) bdbi_free(env, CAT, s->out, s->out_cap * 8);
    if (s->win) bdbi_free(env, CAT, s->win, s->win_cap * 8);
    if (s->dir) bdbi_strfree(env, CAT, s->dir);
    bdbi_free(env, CAT, s, sizeof *s);
}

/* Orders a[0..n) by the top 16 bits of each hash: two stable counting
 * passes over one byte each, the lower byte first. */
static int sort_top16(bdb_env *env, uint64_t *a, size_t n)
{
    if (n < 2) return 0;
    uint64_t *t = bdbi_malloc(env, CAT, n * 8);
    if (!t) return BDB_ENOMEM;
    for (int pass = 0; pass < 2; pass++) {
        int shift = pass ? 56 : 48;
        uint64_t *from = pass ? t : a, *to = pass ? a : t;
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++) count[(from[i] >> shift & 0xff) + 1]++;
        for (int d = 1; d <= 256; d++) count[d] += count[d - 1];
        for (size_t i = 0; i < n; i++) to[count[from[i] >> shift & 0xff]++] = from[i];
    }
    bdbi_free(env, CAT, t, n * 8);
    return 0;
}

/* Writes the in-memory hashes as a run and keeps a buffer of mem_keys. */
static int spill(bdbi_hspill *s)
{
    int rc;
    if (!s->file && (rc = bdbi_scratch_open(s->env, s->dir, &s->file))) return rc;
    if ((rc = grow(s->env, &s->run_end, &s->runs_cap, s->n_runs + 1)) ||
        (rc = sort_top16(s->env, s->buf, s->n)) ||
        (rc = bdbi_scratch_append(s->file, s->buf, s->n * 8)))
        return rc;
    s->run_end[s->n_runs++] = bdbi_scratch_size(s->file) / 8;
    s->n = 0;
    if (s->cap > s->mem_keys) {
        /* it grew while spilling was not allowed */
        uint64_t *q = bdbi_realloc(s->env, CAT, s->buf, s->cap * 8, s->mem_keys * 8);
        if (!q) return BDB_ENOMEM;
        s->buf = q;
        s->cap = s->mem_keys;
    }
    return 0;
}

int bdbi_hspill_add(bdbi_hspill *s, uint64_t h)
{
    if (s->cur) return bdbi_err(BDB_EINVAL, "key hash added after reading back began");
    int rc, may_spill = s->allowed && s->dir;
    if (may_spill && s->n >= s->mem_keys) {
        if ((rc = spill(s))) return rc;
    } else if (s->n == s->cap) {
        size_t need = s->n + 1, c = s->cap ? s->cap + s->cap / 2 : 256;
        if (may_spill && c > s->mem_keys) c = s->mem_keys;
        if ((rc = grow(s->env, &s->buf, &s->cap, c > need ? c : need))) return rc;
    }
    s->buf[s->n++] = h;
    s->total++;
    return 0;
}

void bdbi_hspill_allow(bdbi_hspill *s)
{
    s->allowed = 1;
}

uint64_t bdbi_hspill_count(const bdbi_hspill *s)
{
    return s->total;
}

const uint64_t *bdbi_hspill_keys(const bdbi_hspill *s, size_t *n)
{
    *n = (size_t)s->total;
    return s->n_runs ? NULL : s->buf;
}

int bdbi_hspill_begin(bdbi_hspill *s, unsigned bits)
{
    if (bits > BDBI_HSPILL_MAX_BITS || s->cur)
        return bdbi_err(BDB_EINVAL, "key hashes read back by %u bits", bits);
    int rc;
    if (bits && (rc = sort_top16(s->env, s->buf, s->n))) return rc;
    s->cur = bdbi_calloc(s->env, CAT, s->n_runs + 1, 8);
    if (!s->cur) return BDB_ENOMEM;
    for (size_t r = 1; r < s->n_runs; r++) s->cur[r] = s->run_end[r - 1];
    s->bits = bits;
    s->part = 0;
    s->parts = (uint64_t)1 << bits;
    return 0;
}

static inline uint64_t top(const bdbi_hspill *s, uint64_t h)
{
    return s->bits ? h >> (64 - s->bits) : 0;
}

/* How many of a[0..n), which start at the current partition or later,
 * belong to it. BDB_EIO if one belongs to an earlier one: the scratch file
 * did not give back what was written. */
static int count_part(const bdbi_hspill *s, const uint64_t *a, size_t n, size_t *k)
{
    size_t i = 0;
    while (i < n && top(s, a[i]) == s->part) i++;
    if (i < n && top(s, a[i]) < s->part)
        return bdbi_err(BDB_EIO, "%s: a scratch file of key hashes read back out of order",
                        s->dir ? s->dir : "memory");
    *k = i;
    return 0;
}

static int append(bdbi_hspill *s, const uint64_t *a, size_t k)
{
    if (!k) return 0;
    int rc = grow(s->env, &s->out, &s->out_cap, s->out_n + k);
    if (rc) return rc;
    memcpy(s->out + s->out_n, a, k * 8);
    s->out_n += k;
    return 0;
}

/* Appends run r's hashes of the current partition: windows from its
 * cursor sized a quarter above the partition's expected share, so little
 * is read twice. */
static int gather_run(bdbi_hspill *s, size_t r)
{
    uint64_t begin = r ? s->run_end[r - 1] : 0, end = s->run_end[r], c = s->cur[r];
    uint64_t expect = ((end - begin) >> s->bits) + 64;
    size_t want = expect + expect / 4 < WINDOW_MAX ? (size_t)(expect + expect / 4) : WINDOW_MAX;
    int rc;
    while (c < end) {
        size_t m = end - c < want ? (size_t)(end - c) : want, k;
        if ((rc = grow(s->env, &s->win, &s->win_cap, m)) ||
            (rc = bdbi_scratch_read(s->file, c * 8, s->win, m * 8)) ||
            (rc = count_part(s, s->win, m, &k)) || (rc = append(s, s->win, k)))
            return rc;
        c += k;
        if (k < m) break;
    }
    s->cur[r] = c;
    return 0;
}

int bdbi_hspill_next(bdbi_hspill *s, const uint64_t **keys, size_t *n)
{
    *keys = NULL;
    *n = 0;
    if (!s->cur) return bdbi_err(BDB_EINVAL, "key hashes read back before begin");
    if (s->part == s->parts) {
        /* every hash must have been handed out exactly once */
        for (size_t r = 0; r < s->n_runs; r++)
            if (s->cur[r] != s->run_end[r])
                return bdbi_err(BDB_EIO, "%s: a scratch file of key hashes read back incomplete",
                                s->dir);
        if (s->cur[s->n_runs] != s->n)
            return bdbi_err(BDB_EINTERNAL,
                            "key hashes in memory left over after the last partition");
        return 0;
    }
    int rc;
    size_t at = (size_t)s->cur[s->n_runs], k;
    if ((rc = count_part(s, s->buf + at, s->n - at, &k))) return rc;
    s->cur[s->n_runs] = at + k;
    if (!s->n_runs) {
        *keys = s->buf + at; /* no copy when nothing was spilled */
        *n = k;
    } else {
        s->out_n = 0;
        for (size_t r = 0; r < s->n_runs; r++)
            if ((rc = gather_run(s, r))) return rc;
        if ((rc = append(s, s->buf + at, k))) return rc;
        *keys = s->out;
        *n = s->out_n;
    }
    s->part++;
    return 1;
}
