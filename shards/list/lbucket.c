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
        if (pieces[i].file) {
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
            } else if (!w->file) {
                b->ranges[i] = (bdbi_lrange){-1, 0, 0};
            } else {
                b->ranges[i] = (bdbi_lrange){(int32_t)f, i == 0 ? w->meta_bytes : 0, w->size};
            }
            if (!w->file) continue;
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
        if (!pieces[i].file) continue;
        rc = bdbi_lbucket_path(l, b, f++, path, sizeof path);
        if (!rc) rc = bdbi_file_set_path(pieces[i].file, path);
        if (!rc) {
            rc = bdbi_file_commit(pieces[i].file);
            pieces[i].file = NULL;
            if (!rc) committed++;
        }
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

/* Imports one canonical bucket file: a first pass checks every record
 * (framing, types, entry validity, key order) and notes where each
 * shard's entries start; a second pass, from the page cache, hashes the
 * bytes (SHA-256 against `expected`, XXH3 for the manifest) while copying
 * them into the store as bucket-<hex>.xdr, which is then registered. */
int bdbi_lbucket_import(bdb_list *l, const char *src, int hot, const uint8_t expected[32],
                        bdbi_lbucket **out)
{
    *out = NULL;
    pthread_mutex_lock(&l->reg_mu);
    bdbi_lbucket *have = bdbi_reg_find(l, expected);
    pthread_mutex_unlock(&l->reg_mu);
    if (have) {
        *out = have;
        return 0;
    }
    bdb_bucket_reader *r;
    int rc = bdb_bucket_reader_open(l->env, src, hot, 0, &r);
    if (rc) return rc;
    uint64_t *starts = bdbi_calloc(l->env, BDB_MEM_LIST, l->n_shards + 1, sizeof *starts);
    bdbi_map map = {0};
    bdbi_index_params ip;
    bdbi_list_index_params(l, hot, &ip);
    bdbi_index_builder *ib = NULL;
    bdbi_index *idx = NULL;
    if (!rc) rc = bdbi_index_builder_new(l->env, &ip, &ib);
    if (!starts && !rc) rc = BDB_ENOMEM;
    if (!rc) rc = bdbi_mmap_file(l->env, src, BDBI_ADV_SEQUENTIAL, &map);
    /* ranges: the first record at or above each boundary */
    uint64_t records = 0, first = map.len;
    uint32_t next = 0;
    bdb_bucket_item it;
    int got = 0;
    while (!rc && (got = bdb_bucket_reader_next(r, &it)) == 1) {
        if (!records) first = it.offset;
        records++;
        rc = bdbi_index_builder_add(ib, it.offset, it.record, it.record_len, it.sort_key,
                                    it.sort_key_len);
        while (next + 1 < l->n_shards &&
               bdbi_sk_cmp(it.sort_key, it.sort_key_len, l->bounds[next].data,
                           l->bounds[next].len) >= 0)
            starts[++next] = it.offset;
    }
    if (got < 0) rc = got;
    uint32_t protocol = bdb_bucket_reader_protocol(r);
    bdb_bucket_reader_close(r);
    if (!rc) {
        starts[0] = records ? first : map.len;
        while (next + 1 < l->n_shards) starts[++next] = map.len;
        starts[l->n_shards] = map.len;
    }
    if (!rc && map.len == 0)
        rc = bdbi_err_at(BDB_ECORRUPT, src, -1,
                         "an empty file is not a bucket (the empty bucket has no file)");
    if (!rc) {
        rc = bdbi_index_builder_finish(ib, map.len, &idx);
        ib = NULL;
    }
    /* one pass over the bytes: SHA-256, XXH3 and the copy into the store */
    uint8_t hash[32];
    bdbi_written w = {0};
    bdbi_sha256 sha;
    XXH3_state_t *xxh = NULL;
    int sha_live = 0;
    if (!rc) {
        rc = bdbi_sha256_init(&sha);
        sha_live = !rc;
    }
    if (!rc && !(xxh = XXH3_createState())) rc = BDB_ENOMEM;
    if (!rc) {
        XXH3_64bits_reset(xxh);
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/bucket-import.xdr", l->dir);
        rc = bdbi_file_create(l->env, path,
                              BDBI_FS_NODIRSYNC | (l->opts.fsync ? 0 : BDBI_FS_NOSYNC), 0, &w.file);
    }
    for (size_t off = 0; !rc && off < map.len; off += (size_t)1 << 20) {
        size_t n = map.len - off < ((size_t)1 << 20) ? map.len - off : (size_t)1 << 20;
        bdbi_sha256_update(&sha, map.data + off, n);
        XXH3_64bits_update(xxh, map.data + off, n);
        rc = bdbi_file_write(w.file, map.data + off, n);
        bdbi_map_advise(&map, off, n, BDBI_ADV_DONTNEED);
    }
    if (sha_live) {
        if (rc)
            bdbi_sha256_discard(&sha);
        else
            bdbi_sha256_final(&sha, hash);
    }
    if (!rc && memcmp(hash, expected, 32) != 0)
        rc = bdbi_err_at(BDB_ECORRUPT, src, -1, "bucket file does not hash to its expected hash");
    if (!rc) {
        w.size = map.len;
        w.records = records + (protocol >= BDB_PROTOCOL_INIT_META);
        w.xxh = XXH3_64bits_digest(xxh);
        w.starts = starts;
        w.meta_bytes = starts[0];
        w.index = idx;
        idx = NULL;
    }
    bdbi_index_builder_free(ib);
    bdbi_index_free(l->env, idx);
    if (xxh) XXH3_freeState(xxh);
    bdbi_munmap(&map);
    if (!rc)
        rc = bdbi_lbucket_adopt(l, hot, protocol, hash, &w, 1, 0, out);
    else
        bdbi_file_abort(w.file);
    if (starts) bdbi_free(l->env, BDB_MEM_LIST, starts, (l->n_shards + 1) * sizeof *starts);
    return rc;
}
