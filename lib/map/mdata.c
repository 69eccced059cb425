#include "config.h"

#include "mdata.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rcu.h"

static int wrap(bdb_env *env, bdbi_rwmap *m, unsigned cls, uint64_t cap, uint64_t cell_size,
                bdbi_mdata **out)
{
    bdbi_mdata *d = bdbi_calloc(env, BDB_MEM_MAP, 1, sizeof *d);
    if (!d) return BDB_ENOMEM;
    d->m = *m;
    *m = (bdbi_rwmap){0};
    d->cells = d->m.data + BDBI_MFILE_HDR;
    d->cap = cap;
    d->cell_size = cell_size;
    d->cls = cls;
    d->env = env;
    *out = d;
    return 0;
}

int bdbi_mdata_create(bdb_env *env, const char *path, const bdbi_mlayout *L, unsigned cls,
                      uint64_t cap, const bdbi_mfile_info *info, bdbi_mdata **out)
{
    bdbi_mfile_info in = *info;
    in.cls = cls;
    in.capacity = cap;
    in.cell_size = (uint32_t)bdbi_mdata_cell_size(L, cls);
    in.clean = 0;
    bdbi_rwmap m;
    int rc = bdbi_rwmap_create(env, path, BDBI_MFILE_HDR + (size_t)cap * in.cell_size, &m);
    if (rc) return rc;
    bdbi_mfile_hdr_put(m.data, &in);
    rc = wrap(env, &m, cls, cap, in.cell_size, out);
    if (rc) bdbi_rwmap_unmap(&m);
    return rc;
}

int bdbi_mdata_extend(bdb_env *env, const char *path, const bdbi_mdata *d, uint64_t cap,
                      bdbi_mdata **out)
{
    bdbi_rwmap m;
    int rc = bdbi_rwmap_extend(env, path, BDBI_MFILE_HDR + (size_t)(cap * d->cell_size), &m);
    if (rc) return rc;
    rc = wrap(env, &m, d->cls, cap, d->cell_size, out);
    if (rc) bdbi_rwmap_unmap(&m);
    return rc;
}

int bdbi_mdata_adopt(bdb_env *env, bdbi_rwmap *m, const bdbi_mfile_info *info, bdbi_mdata **out)
{
    return wrap(env, m, info->cls, info->capacity, info->cell_size, out);
}

void bdbi_mdata_free(bdbi_mdata *d)
{
    if (!d) return;
    bdbi_rwmap_unmap(&d->m);
    bdbi_free(d->env, BDB_MEM_MAP, d, sizeof *d);
}

static void free_cb(struct rcu_head *h)
{
    BDBI_RCU_CALLBACK_ENTER();
    bdbi_mdata_free(caa_container_of(h, bdbi_mdata, rcu));
}

void bdbi_mdata_free_rcu(bdbi_mdata *d)
{
    if (d) bdbi_call_rcu(&d->rcu, free_cb);
}

int bdbi_mdata_take(const bdbi_mdata *d, bdbi_mdata_alloc *a, uint64_t *idx)
{
    if (a->free_head) {
        *idx = a->free_head - 1;
        a->free_head = bdbi_ld(bdbi_mdata_cell(d, *idx) + 8);
    } else if (a->high < d->cap && a->high <= BDBI_MS_MAX_IDX) {
        *idx = a->high++;
    } else {
        return 0;
    }
    a->used++;
    return 1;
}

void bdbi_mdata_write(const bdbi_mlayout *L, const bdbi_mdata *d, uint64_t idx, const void *slots,
                      size_t n, uint64_t ref_count)
{
    uint8_t *c = bdbi_mdata_cell(d, idx);
    /* a reader may still be copying the list this cell held before: its
     * recheck of the table cell, whose state has changed, sees that */
    bdbi_fence_release();
    bdbi_st(c, 1 | (uint64_t)n << 1);
    bdbi_st(c + 8, L->ref_counts ? ref_count : 1);
    if (n) bdbi_cell_copy_in(c + 16, slots, n * L->elem_size);
}

void bdbi_mdata_release(bdbi_mdata *d, bdbi_mdata_alloc *a, uint64_t idx)
{
    uint8_t *c = bdbi_mdata_cell(d, idx);
    bdbi_fence_release();
    bdbi_st(c, 0);
    bdbi_st(c + 8, a->free_head);
    a->free_head = idx + 1;
    a->used--;
}

const char *bdbi_mdata_check(const bdbi_mlayout *L, const bdbi_mdata *d,
                             const bdbi_mfile_info *info)
{
    (void)L;
    uint64_t used = 0, listed = 0;
    for (uint64_t i = 0; i < info->high; i++) {
        uint64_t h = bdbi_ld(bdbi_mdata_cell(d, i));
        if (h & 1) {
            if ((h >> 1) > ((uint64_t)1 << d->cls)) return "a slot list longer than its class";
            used++;
        }
    }
    /* the free list: cells below the mark, not in use, each once (the walk
     * is bounded by the number of free cells, so a cycle shows as too
     * many) */
    for (uint64_t f = info->aux; f; listed++) {
        if (f > info->high) return "free list leaves the used cells";
        if (listed >= info->high - used) return "free list longer than the free cells";
        const uint8_t *c = bdbi_mdata_cell(d, f - 1);
        if (bdbi_ld(c) & 1) return "free list names a cell in use";
        f = bdbi_ld(c + 8);
    }
    if (used != info->count) return "cells in use do not match the header's count";
    if (used + listed != info->high) return "free cells missing from the free list";
    return NULL;
}
