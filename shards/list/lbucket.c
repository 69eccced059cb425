/* Stored buckets: files, per-shard ranges, reference counts, the registry
 * that makes identical content one object, and adoption of written files
 * under their content-derived names. */
#include "config.h"

#include "store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"

static const uint8_t zero_hash[32];

const uint8_t *bdbi_lbucket_hash(const bdbi_lbucket *b)
{
    return b ? b->hash : zero_hash;
}

bdbi_lbucket *bdbi_lbucket_ref(bdbi_lbucket *b)
{
    if (b) atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

static void lbucket_free(bdb_env *env, bdbi_lbucket *b)
{
    for (uint32_t f = 0; f < b->n_files; f++) bdbi_lfile_release(env, &b->files[f]);
    bdbi_free(env, BDB_MEM_LIST, b->files, (b->n_files ? b->n_files : 1) * sizeof *b->files);
    bdbi_free(env, BDB_MEM_LIST, b->ranges, b->n_shards * sizeof *b->ranges);
    bdbi_free(env, BDB_MEM_LIST, b, sizeof *b);
}

void bdbi_lbucket_unref(bdb_list *l, bdbi_lbucket *b)
{
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        lbucket_free(l->env, b);
}

static size_t slot_of(const bdb_list *l, const uint8_t hash[32])
{
    uint64_t h;
    memcpy(&h, hash, sizeof h);
    return (size_t)h & (l->reg_cap - 1);
}

bdbi_lbucket *bdbi_reg_find(bdb_list *l, const uint8_t hash[32])
{
    if (!l->reg_cap) return NULL;
    for (bdbi_lbucket *b = l->reg[slot_of(l, hash)]; b; b = b->reg_next)
        if (memcmp(b->hash, hash, 32) == 0) return bdbi_lbucket_ref(b);
    return NULL;
}

int bdbi_reg_insert(bdb_list *l, bdbi_lbucket *b)
{
    if (l->reg_n + 1 > l->reg_cap / 2) {
        size_t ncap = l->reg_cap ? l->reg_cap * 2 : 64;
        bdbi_lbucket **nr = bdbi_calloc(l->env, BDB_MEM_LIST, ncap, sizeof *nr);
        if (!nr) return BDB_ENOMEM;
        bdbi_lbucket **old = l->reg;
        size_t ocap = l->reg_cap;
        l->reg = nr;
        l->reg_cap = ncap;
        for (size_t i = 0; i < ocap; i++)
            for (bdbi_lbucket *x = old[i], *nx; x; x = nx) {
                nx = x->reg_next;
                size_t s = slot_of(l, x->hash);
                x->reg_next = nr[s];
                nr[s] = x;
            }
        if (old) bdbi_free(l->env, BDB_MEM_LIST, old, ocap * sizeof *old);
    }
    size_t s = slot_of(l, b->hash);
    b->reg_next = l->reg[s];
    l->reg[s] = bdbi_lbucket_ref(b); /* the registry's reference */
    l->reg_n++;
    return 0;
}

int bdbi_lbucket_path(const bdb_list *l, const bdbi_lbucket *b, uint32_t file, char *out,
                      size_t cap)
{
    if ((size_t)snprintf(out, cap, "%s/%s", l->dir, b->files[file].name) >= cap)
        return bdbi_err(BDB_EINVAL, "path too long in %s", l->dir);
    return 0;
}

uint32_t bdbi_lbucket_span(const bdbi_lbucket *b, uint32_t k0, uint32_t k1)
{
    if (!b) return k1;
    int32_t file = -1;
    uint64_t end = 0;
    uint32_t k = k0;
    for (; k < k1; k++) {
        const bdbi_lrange *r = &b->ranges[k];
        if (r->file < 0 || r->begin == r->end) continue; /* empty pieces join anything */
        if (file >= 0 && (r->file != file || r->begin != end)) break;
        file = r->file;
        end = r->end;
    }
    return k;
}

int bdbi_lbucket_src(const bdb_list *l, const bdbi_lbucket *b, uint32_t k0, uint32_t k1, char *path,
                     size_t cap, bdbi_merge_src *src)
{
    memset(src, 0, sizeof *src);
    if (!b) return 0;
    src->protocol = b->protocol;
    int32_t file = -1;
    for (uint32_t k = k0; k < k1; k++) {
        const bdbi_lrange *r = &b->ranges[k];
        if (r->file < 0 || r->begin == r->end) continue;
        if (file < 0) {
            file = r->file;
            src->begin = r->begin;
        }
        src->end = r->end;
    }
    if (file < 0) return 0; /* no entries in these shards */
    int rc = bdbi_lbucket_path(l, b, (uint32_t)file, path, cap);
    src->path = path;
    return rc;
}

static void file_name(const uint8_t hash[32], int split, uint32_t piece,
                      char out[BDBI_FILE_NAME_MAX])
{
    char name[BDB_BUCKET_NAME_LEN];
    bdb_bucket_name(hash, name);
    if (!split) {
        memcpy(out, name, sizeof name);
        return;
    }
    /* bucket-<hex>.xdr -> bucket-<hex>.p<k>.xdr */
    name[strlen(name) - 4] = 0;
    snprintf(out, BDBI_FILE_NAME_MAX, "%s.p%u.xdr", name, piece);
}

void bdbi_written_drop(bdb_env *env, bdbi_written *pieces, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        bdbi_file_abort(pieces[i].file);
        pieces[i].file = NULL;
        bdbi_index_free(env, pieces[i].index);
        pieces[i].index = NULL;
    }
}

int bdbi_lbucket_adopt(bdb_list *l, int hot, uint32_t protocol, const uint8_t hash[32],
                       bdbi_written *pieces, uint32_t n_pieces, int split, bdbi_lbucket **out)
{
    *out = NULL;
    uint32_t n_files = 0;
    uint64_t records = 0, bytes = 0;
    for (uint32_t i = 0; i < n_pieces; i++)
        if (pieces[i].file || pieces[i].src) {
            n_files++;
            records += pieces[i].records;
            bytes += pieces[i].size;
        }
    if (n_files == 0) return 0; /* the empty bucket */
    pthread_mutex_lock(&l->reg_mu);
    bdbi_lbucket *b = bdbi_reg_find(l, hash);
    if (b) {
        /* identical content is one object (stellar-core's adoptFileAsBucket) */
        pthread_mutex_unlock(&l->reg_mu);
        bdbi_written_drop(l->env, pieces, n_pieces);
        *out = b;
        return 0;
    }
    int rc = 0;
    b = bdbi_calloc(l->env, BDB_MEM_LIST, 1, sizeof *b);
    if (b) {
        b->files = bdbi_calloc(l->env, BDB_MEM_LIST, n_files, sizeof *b->files);
        b->ranges = bdbi_calloc(l->env, BDB_MEM_LIST, l->n_shards, sizeof *b->ranges);
    }
    if (!b || !b->files || !b->ranges) rc = BDB_ENOMEM;
    if (!rc) {
        atomic_init(&b->refs, 1);
        memcpy(b->hash, hash, 32);
        b->hot = hot;
        b->protocol = protocol;
        b->records = records;
        b->bytes = bytes;
        b->n_files = n_files;
        b->n_shards = l->n_shards;
        uint32_t f = 0;
        for (uint32_t i = 0; i < n_pieces; i++) {
            bdbi_written *w = &pieces[i];
            if (!split) {
                /* one file: the writer noted where each shard's entries start */
                for (uint32_t k = 0; k < l->n_shards; k++)
                    b->ranges[k] = (bdbi_lrange){0, w->starts[k], w->starts[k + 1]};
            } else if (!w->file && !w->src) {
                b->ranges[i] = (bdbi_lrange){-1, 0, 0};
            } else {
                b->ranges[i] = (bdbi_lrange){(int32_t)f, i == 0 ? w->meta_bytes : 0, w->size};
            }
            if (!w->file && !w->src) continue;
            file_name(hash, split, i, b->files[f].name);
            b->files[f].size = w->size;
            b->files[f].xxh = w->xxh;
            b->files[f].idx = w->index;
            w->index = NULL;
            f++;
        }
    }
    /* commit every file under its name, then one directory fsync */
    char path[PATH_MAX];
    uint32_t committed = 0;
    for (uint32_t i = 0, f = 0; !rc && i < n_pieces; i++) {
        if (!pieces[i].file && !pieces[i].src) continue;
        rc = bdbi_lbucket_path(l, b, f++, path, sizeof path);
        if (!rc && !pieces[i].file)
            rc = bdbi_fs_link_or_copy(l->env, pieces[i].src, path,
                                      BDBI_FS_NODIRSYNC | (l->opts.fsync ? 0 : BDBI_FS_NOSYNC));
        else if (!rc)
            rc = bdbi_file_set_path(pieces[i].file, path);
        if (!rc && pieces[i].file) {
            rc = bdbi_file_commit(pieces[i].file);
            pieces[i].file = NULL;
        }
        if (!rc) committed++;
        if (!rc) rc = bdbi_lfile_map(l, b, f - 1, &b->files[f - 1]);
        if (!rc && !b->files[f - 1].idx)
            rc = bdbi_err(BDB_EINTERNAL, "a written bucket file has no index");
    }
    if (!rc && l->opts.fsync) rc = bdbi_fs_fsync_dir(l->env, l->dir);
    if (!rc) rc = bdbi_reg_insert(l, b);
    if (rc && b) {
        for (uint32_t f = 0; f < committed; f++)
            if (!bdbi_lbucket_path(l, b, f, path, sizeof path)) (void)bdbi_fs_unlink(l->env, path);
    }
    pthread_mutex_unlock(&l->reg_mu);
    bdbi_written_drop(l->env, pieces, n_pieces);
    if (rc) {
        if (b) lbucket_free(l->env, b);
        return rc;
    }
    /* outside reg_mu: level-0 commits wait for it */
    for (uint32_t f = 0; f < b->n_files; f++) bdbi_lfile_persist_index(l, b, f);
    *out = b;
    return 0;
}
