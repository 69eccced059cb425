/* One shard's files: paths, the clean/dirty protocol, flush, load and
 * checks at open, and dropping them. */
#include "config.h"

#include "mshard.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/rcu.h"
#include "map/mcheck.h"

int bdbi_mshard_path(const bdb_map *m, uint32_t shard, uint32_t cls, uint64_t gen, char *buf,
                     size_t cap)
{
    char name[BDBI_MFILE_NAME];
    bdbi_mfile_name(name, shard, cls, gen);
    if ((size_t)snprintf(buf, cap, "%s/%s", m->drives[shard % m->n_drives], name) >= cap)
        return bdbi_err(BDB_EINVAL, "bucket map: path too long in %s",
                        m->drives[shard % m->n_drives]);
    return 0;
}

bdbi_mfile_info bdbi_mshard_info(const bdb_map *m, uint32_t shard, uint32_t cls, uint64_t gen)
{
    return (bdbi_mfile_info){
        .map_id = m->map_id,
        .shard = shard,
        .cls = cls,
        .gen = gen,
        .key_size = m->L.key_size,
        .elem_size = m->L.elem_size,
        .cell_size =
            cls == BDBI_MFILE_TABLE ? m->L.cell_size : (uint32_t)bdbi_mdata_cell_size(&m->L, cls),
        .flags = m->L.ref_counts ? 1u : 0u,
    };
}

/* Rewrites a file's header with its current counts and `clean`, and
 * syncs the header page. */
static int put_header(bdb_map *m, uint8_t *file, size_t len, bdbi_mfile_info *in, const char *path)
{
    bdbi_mfile_hdr_put(file, in);
    if (!m->opts.fsync) return 0;
    bdbi_rwmap view = {file, len};
    return bdbi_rwmap_sync(m->env, &view, path, 0, BDBI_MFILE_HDR);
}

static bdbi_mfile_info table_info(bdb_map *m, uint32_t shard, const bdbi_mtable *t, int clean)
{
    bdbi_mshard *sh = &m->shards[shard];
    bdbi_mfile_info in = bdbi_mshard_info(m, shard, BDBI_MFILE_TABLE, t->gen);
    in.capacity = t->cap;
    in.seed = t->seed;
    in.count = atomic_load_explicit(&sh->count, memory_order_relaxed);
    in.aux = 0;
    in.clean = (uint32_t)clean;
    if (clean) in.content_sum = bdbi_mfile_content_sum(t->m.data, t->m.len);
    return in;
}

static bdbi_mfile_info data_info(bdb_map *m, uint32_t shard, const bdbi_mdata *d, int clean)
{
    const bdbi_mdata_alloc *a = &m->shards[shard].alloc[d->cls];
    bdbi_mfile_info in = bdbi_mshard_info(m, shard, d->cls, a->gen);
    in.capacity = d->cap;
    in.count = a->used;
    in.aux = a->free_head;
    in.high = a->high;
    in.clean = (uint32_t)clean;
    if (clean) in.content_sum = bdbi_mfile_content_sum(d->m.data, d->m.len);
    return in;
}

int bdbi_mshard_mark_dirty_slow(bdb_map *m, uint32_t shard)
{
    bdbi_mshard *sh = &m->shards[shard];
    char path[4096];
    int rc = 0;
    if (sh->table) {
        bdbi_mfile_info in = table_info(m, shard, sh->table, 0);
        rc = bdbi_mshard_path(m, shard, BDBI_MFILE_TABLE, sh->table->gen, path, sizeof path);
        if (!rc) rc = put_header(m, sh->table->m.data, sh->table->m.len, &in, path);
    }
    /* the table's flag decides at open; the data files' say the same */
    for (unsigned c = 0; c < BDBI_MAP_CLASSES && !rc; c++) {
        bdbi_mdata *d = sh->data[c];
        if (!d) continue;
        bdbi_mfile_info in = data_info(m, shard, d, 0);
        rc = bdbi_mshard_path(m, shard, c, sh->alloc[c].gen, path, sizeof path);
        if (!rc) rc = put_header(m, d->m.data, d->m.len, &in, path);
    }
    if (!rc) sh->dirty = 1;
    return rc;
}

int bdbi_mshard_flush(bdb_map *m, uint32_t shard)
{
    bdbi_mshard *sh = &m->shards[shard];
    if (!sh->dirty) return 0;
    char path[4096];
    int rc = 0;
    /* contents first, everywhere; then the clean headers, the table's last */
    for (unsigned c = 0; c < BDBI_MAP_CLASSES && !rc && m->opts.fsync; c++)
        if (sh->data[c] &&
            !(rc = bdbi_mshard_path(m, shard, c, sh->alloc[c].gen, path, sizeof path)))
            rc = bdbi_rwmap_sync(m->env, &sh->data[c]->m, path, 0, sh->data[c]->m.len);
    if (!rc && sh->table && m->opts.fsync &&
        !(rc = bdbi_mshard_path(m, shard, BDBI_MFILE_TABLE, sh->table->gen, path, sizeof path)))
        rc = bdbi_rwmap_sync(m->env, &sh->table->m, path, 0, sh->table->m.len);
    for (unsigned c = 0; c < BDBI_MAP_CLASSES && !rc; c++) {
        bdbi_mdata *d = sh->data[c];
        if (!d) continue;
        bdbi_mfile_info in = data_info(m, shard, d, 1);
        if (!(rc = bdbi_mshard_path(m, shard, c, sh->alloc[c].gen, path, sizeof path)))
            rc = put_header(m, d->m.data, d->m.len, &in, path);
    }
    if (!rc && sh->table) {
        bdbi_mfile_info in = table_info(m, shard, sh->table, 1);
        if (!(rc = bdbi_mshard_path(m, shard, BDBI_MFILE_TABLE, sh->table->gen, path, sizeof path)))
            rc = put_header(m, sh->table->m.data, sh->table->m.len, &in, path);
    }
    if (!rc) sh->dirty = 0;
    return rc;
}

void bdbi_mshard_drop(bdb_map *m, uint32_t shard, int unlink_files)
{
    bdbi_mshard *sh = &m->shards[shard];
    char path[4096];
    if (sh->table) {
        if (unlink_files &&
            !bdbi_mshard_path(m, shard, BDBI_MFILE_TABLE, sh->table->gen, path, sizeof path))
            (void)bdbi_fs_unlink(m->env, path);
        bdbi_mtable_free(sh->table);
        sh->table = NULL;
    }
    for (unsigned c = 0; c < BDBI_MAP_CLASSES; c++) {
        if (!sh->data[c]) continue;
        if (unlink_files && !bdbi_mshard_path(m, shard, c, sh->alloc[c].gen, path, sizeof path))
            (void)bdbi_fs_unlink(m->env, path);
        bdbi_mdata_free(sh->data[c]);
        sh->data[c] = NULL;
    }
    memset(sh->alloc, 0, sizeof sh->alloc);
    atomic_store(&sh->count, 0);
    atomic_store(&sh->mapped, 0);
    sh->dirty = 0;
}

/* ---- loading at open ---- */

typedef struct loaded {
    bdbi_rwmap map;
    bdbi_mfile_info info;
    const char *why;
    char path[4096];
} loaded;

/* Maps one file and checks its header against what the restart file and
 * the options say. */
static const char *load_file(bdb_map *m, uint32_t shard, uint32_t cls, uint64_t gen, loaded *f)
{
    if (bdbi_mshard_path(m, shard, cls, gen, f->path, sizeof f->path)) return "path too long";
    int rc = bdbi_rwmap_open(m->env, f->path, &f->map);
    if (rc == BDB_ENOTFOUND) return "missing";
    if (rc == BDB_EFORMAT) return "empty (size 0, shorter than its header) or not a regular file";
    if (rc) return "cannot be mapped";
    int is_data = cls != BDBI_MFILE_TABLE;
    const char *why = bdbi_mfile_hdr_get(f->map.data, f->map.len, is_data, &f->info);
    if (why) return why;
    bdbi_mfile_info want = bdbi_mshard_info(m, shard, cls, gen);
    const bdbi_mfile_info *h = &f->info;
    if (h->map_id != want.map_id) return "belongs to another map";
    if (h->shard != shard || h->cls != cls || h->gen != gen)
        return "its header names another shard, class or generation";
    if (h->key_size != want.key_size || h->elem_size != want.elem_size ||
        h->cell_size != want.cell_size || h->flags != want.flags)
        return "written with other key size, element size or ref counts";
    if (!h->clean) return "not cleanly closed (changed after the last flush)";
    if (bdbi_mfile_content_sum(f->map.data, f->map.len) != h->content_sum)
        return "content checksum mismatch";
    if (is_data && h->capacity > (uint64_t)BDBI_MS_MAX_IDX + 1)
        return "data file larger than a cell reference can address";
    return NULL;
}

int bdbi_mshard_load(bdb_map *m, uint32_t shard, const bdbi_mrestart_rec *recs, size_t n)
{
    bdbi_mshard *sh = &m->shards[shard];
    loaded *files = bdbi_calloc(m->env, BDB_MEM_MAP, n ? n : 1, sizeof *files);
    if (!files) return BDB_ENOMEM;
    const char *why = NULL;
    size_t culprit = 0, t_at = n;
    int seen_cls[BDBI_MAP_CLASSES + 1] = {0};
    for (size_t i = 0; i < n && !why; i++) {
        uint32_t cls = recs[i].cls;
        int slot = cls == BDBI_MFILE_TABLE ? BDBI_MAP_CLASSES : (int)cls;
        if (cls != BDBI_MFILE_TABLE && cls >= BDBI_MAP_CLASSES)
            why = "the restart file names a bad size class";
        else if (seen_cls[slot]++)
            why = "the restart file names two files for one class";
        else
            why = load_file(m, shard, cls, recs[i].gen, &files[i]);
        if (why) culprit = i;
        if (cls == BDBI_MFILE_TABLE) t_at = i;
    }
    if (!why && t_at == n && n) {
        why = "the restart file names data files but no table";
        culprit = 0;
    }
    int rc = 0;
    bdbi_mdata *data[BDBI_MAP_CLASSES] = {0};
    uint64_t high[BDBI_MAP_CLASSES] = {0}, used[BDBI_MAP_CLASSES] = {0};
    bdbi_mtable *t = NULL;
    for (size_t i = 0; i < n && !why && !rc; i++) {
        if (i == t_at) continue;
        uint32_t c = recs[i].cls;
        rc = bdbi_mdata_adopt(m->env, &files[i].map, &files[i].info, &data[c]);
        if (!rc && (why = bdbi_mdata_check(&m->L, data[c], &files[i].info)) != NULL) culprit = i;
        high[c] = files[i].info.high;
        used[c] = files[i].info.count;
    }
    if (!why && !rc && t_at < n) {
        rc = bdbi_mtable_adopt(m->env, &files[t_at].map, &files[t_at].info, &t);
        if (rc == BDB_EFORMAT) {
            rc = 0;
            why = "table capacity is not a power of two";
            culprit = t_at;
        } else if (!rc && (why = bdbi_mtable_check(m->env, &m->L, t, &files[t_at].info, data, high,
                                                   used)) != NULL) {
            culprit = t_at;
        }
    }
    if (!why && !rc) {
        sh->table = t;
        uint64_t mapped = t ? t->m.len : 0;
        for (unsigned c = 0; c < BDBI_MAP_CLASSES; c++) {
            sh->data[c] = data[c];
            if (!data[c]) continue;
            mapped += data[c]->m.len;
            for (size_t i = 0; i < n; i++)
                if (recs[i].cls == c) {
                    sh->alloc[c] = (bdbi_mdata_alloc){files[i].info.aux, files[i].info.high,
                                                      files[i].info.count, recs[i].gen};
                }
        }
        if (t) atomic_store(&sh->count, files[t_at].info.count);
        atomic_store(&sh->mapped, mapped);
    } else {
        bdbi_mtable_free(t);
        for (unsigned c = 0; c < BDBI_MAP_CLASSES; c++) bdbi_mdata_free(data[c]);
        for (size_t i = 0; i < n; i++) {
            bdbi_rwmap_unmap(&files[i].map);
            if (!files[i].path[0] && bdbi_mshard_path(m, shard, recs[i].cls, recs[i].gen,
                                                      files[i].path, sizeof files[i].path))
                continue;
            (void)bdbi_fs_unlink(m->env, files[i].path);
            int drc;
            if (i == culprit)
                drc = bdbi_map_discard(m, shard, files[i].path, "%s", why ? why : bdb_strerror(rc));
            else
                drc = bdbi_map_discard(m, shard, files[i].path,
                                       "shard %" PRIu32 " discarded: another of its files was bad",
                                       shard);
            if (drc && !rc) rc = drc;
        }
        if (rc != BDB_ENOMEM) rc = 0;
    }
    bdbi_free(m->env, BDB_MEM_MAP, files, (n ? n : 1) * sizeof *files);
    return rc;
}

int bdbi_map_discard(bdb_map *m, uint32_t shard, const char *path, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    int rc = 0;
    pthread_mutex_lock(&m->discard_mu);
    if (m->n_discards == m->cap_discards) {
        size_t nc = m->cap_discards ? 2 * m->cap_discards : 8;
        bdbi_mdiscard *d = bdbi_realloc(m->env, BDB_MEM_MAP, m->discards,
                                        m->cap_discards * sizeof *d, nc * sizeof *d);
        if (!d) {
            rc = BDB_ENOMEM;
            goto out;
        }
        m->discards = d;
        m->cap_discards = nc;
    }
    bdbi_mdiscard *d = &m->discards[m->n_discards];
    d->shard = shard;
    d->path = bdbi_strdup(m->env, BDB_MEM_MAP, path);
    d->reason = bdbi_strdup(m->env, BDB_MEM_MAP, reason);
    if (!d->path || !d->reason) {
        bdbi_strfree(m->env, BDB_MEM_MAP, d->path);
        bdbi_strfree(m->env, BDB_MEM_MAP, d->reason);
        rc = BDB_ENOMEM;
        goto out;
    }
    m->n_discards++;
out:
    pthread_mutex_unlock(&m->discard_mu);
    return rc;
}
