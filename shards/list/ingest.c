/* Bringing a bucket from outside into the store in one pass: a history
 * archive's gzipped bucket is inflated, hashed, checked record by record,
 * split at the shard bounds and indexed while its canonical bytes are
 * written, so no bucket is ever read twice or held whole in memory. */
#include "config.h"

#include "store.h"

#include <limits.h>
#include <stdio.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"

typedef struct sink {
    bdbi_file *file; /* NULL: only the checksum */
    XXH3_state_t *xxh;
    uint64_t ns;
} sink;

static int tap(void *ctx, const uint8_t *p, size_t n)
{
    sink *k = ctx;
    uint64_t t0 = bdbi_thread_ns();
    XXH3_64bits_update(k->xxh, p, n);
    int rc = k->file ? bdbi_file_write(k->file, p, n) : 0;
    k->ns += bdbi_thread_ns() - t0;
    return rc;
}

void bdbi_ingested_free(bdb_list *l, bdbi_written *w)
{
    bdbi_file_abort(w->file);
    w->file = NULL;
    bdbi_index_free(l->env, w->index);
    w->index = NULL;
    if (w->starts)
        bdbi_free(l->env, BDB_MEM_LIST, w->starts, (l->n_shards + 1) * sizeof *w->starts);
    w->starts = NULL;
}

int bdbi_lbucket_ingest(bdb_list *l, const char *src, int hot, const uint8_t expected[32],
                        const char *dest, bdbi_written *w, uint32_t *protocol,
                        bdbi_ingest_cost *cost)
{
    memset(w, 0, sizeof *w);
    *protocol = 0;
    uint64_t t_start = bdbi_thread_ns();
    bdbi_bstream *s = NULL;
    sink k = {0};
    bdbi_index_builder *ib = NULL;
    bdbi_index_params ip;
    bdbi_list_index_params(l, hot, &ip);
    int rc = bdbi_bstream_open(l->env, src, hot, 0, &s);
    if (!rc && !dest && bdbi_bstream_is_gzip(s))
        rc = bdbi_err(BDB_EINTERNAL, "%s: a gzipped bucket needs a file to be written to", src);
    if (!rc && !(w->starts = bdbi_calloc(l->env, BDB_MEM_LIST, l->n_shards + 1, sizeof *w->starts)))
        rc = BDB_ENOMEM;
    if (!rc && !(k.xxh = XXH3_createState())) rc = BDB_ENOMEM;
    if (!rc) rc = bdbi_index_builder_new(l->env, &ip, &ib);
    if (!rc && dest)
        rc = bdbi_file_create(l->env, dest,
                              BDBI_FS_NODIRSYNC | (l->opts.fsync ? 0 : BDBI_FS_NOSYNC), 0, &k.file);
    if (!rc) {
        XXH3_64bits_reset(k.xxh);
        bdbi_bstream_tap(s, tap, &k);
    }
    /* shard k's entries start at the first key >= bounds[k - 1] */
    uint64_t records = 0, entries = 0, first = 0;
    uint32_t next = 0;
    bdb_bucket_item it;
    int got = 0;
    while (!rc && (got = bdbi_bstream_next(s, &it, NULL)) == 1) {
        records++;
        if (it.type == BDB_METAENTRY) continue;
        if (!entries++) first = it.offset;
        rc = bdbi_index_builder_add(ib, it.offset, it.record, it.record_len, it.sort_key,
                                    it.sort_key_len);
        while (next + 1 < l->n_shards &&
               bdbi_sk_cmp(it.sort_key, it.sort_key_len, l->bounds[next].data,
                           l->bounds[next].len) >= 0)
            w->starts[++next] = it.offset;
    }
    uint8_t hash[32];
    int mismatch = 0;
    if (got < 0) rc = got;
    if (got == BDB_EFORMAT) {
        /* a record that fails the checks may be another bucket's content
         * under this name: if so, say that (read on to learn its hash) */
        bdbi_err_saved e;
        bdbi_err_save(&e);
        if (bdbi_bstream_drain(s, NULL) == 0 && bdbi_bstream_hash(s, hash) == 0 &&
            memcmp(hash, expected, 32) != 0)
            mismatch = 1;
        else
            rc = bdbi_err_restore(&e);
    }
    if (!rc) {
        rc = bdbi_bstream_hash(s, hash);
        mismatch = !rc && memcmp(hash, expected, 32) != 0;
    }
    if (mismatch) {
        char name[BDB_BUCKET_NAME_LEN];
        bdb_bucket_name(hash, name);
        rc = bdbi_err_at(BDB_ECORRUPT, src, -1,
                         "the bucket does not hash to its name: its content is %s", name);
    }
    uint64_t size = s ? bdbi_bstream_bytes(s) : 0;
    if (!rc && size == 0)
        rc = bdbi_err_at(BDB_ECORRUPT, src, -1,
                         "an empty file is not a bucket (the empty bucket has no file)");
    if (!rc) {
        w->starts[0] = entries ? first : size;
        while (next + 1 < l->n_shards) w->starts[++next] = size;
        w->starts[l->n_shards] = size;
        rc = bdbi_index_builder_finish(ib, size, &w->index);
        ib = NULL;
    }
    if (!rc) {
        *protocol = bdbi_bstream_protocol(s);
        w->file = k.file;
        k.file = NULL;
        w->src = dest ? NULL : src;
        w->size = size;
        w->records = records;
        w->xxh = XXH3_64bits_digest(k.xxh);
        w->meta_bytes = w->starts[0];
    }
    if (cost) {
        uint64_t inflate = 0, sha = 0;
        if (s) bdbi_bstream_cost(s, &inflate, &sha);
        uint64_t total = bdbi_thread_ns() - t_start;
        cost->inflate += inflate;
        cost->sha += sha;
        cost->write += k.ns;
        uint64_t known = inflate + sha + k.ns;
        cost->check_index += total > known ? total - known : 0;
    }
    bdbi_index_builder_free(ib);
    bdbi_file_abort(k.file);
    if (k.xxh) XXH3_freeState(k.xxh);
    bdbi_bstream_close(s);
    if (rc) bdbi_ingested_free(l, w);
    return rc;
}

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
    char dest[PATH_MAX];
    if ((size_t)snprintf(dest, sizeof dest, "%s/bucket-import.xdr", l->dir) >= sizeof dest)
        return bdbi_err(BDB_EINVAL, "path too long in %s", l->dir);
    bdbi_written w;
    uint32_t protocol;
    int rc = bdbi_lbucket_ingest(l, src, hot, expected, dest, &w, &protocol, NULL);
    if (rc) return rc;
    uint64_t *starts = w.starts;
    rc = bdbi_lbucket_adopt(l, hot, protocol, expected, &w, 1, 0, out);
    bdbi_free(l->env, BDB_MEM_LIST, starts, (l->n_shards + 1) * sizeof *starts);
    return rc;
}
