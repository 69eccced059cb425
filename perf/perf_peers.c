/* RocksDB and LMDB as ledger-state stores (perf_peers.h). Both are tuned
 * the way a careful user would for point reads of small values: RocksDB
 * with bloom filters, hashed data blocks, no compression and every file
 * open; LMDB with a map large enough for the data and no read-ahead. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef HAVE_ROCKSDB
#include <rocksdb/c.h>
#endif
#ifdef HAVE_LMDB
#include <lmdb.h>
#endif

#include "harness.h"
#include "perf_peers.h"

#define ROCKS_CACHE ((size_t)2 << 30)

struct hx_kv {
    int kind;
#ifdef HAVE_ROCKSDB
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_block_based_table_options_t *topts;
    rocksdb_cache_t *cache;
    rocksdb_filterpolicy_t *filter; /* owned by topts */
    rocksdb_writeoptions_t *wo_load, *wo_sync;
    rocksdb_readoptions_t *ro;
#endif
#ifdef HAVE_LMDB
    MDB_env *env;
    MDB_dbi dbi;
#endif
};

struct hx_kv_reader {
    hx_kv *kv;
#ifdef HAVE_ROCKSDB
    rocksdb_pinnableslice_t *pin;
    const char **klist;
    size_t *ksize;
    char **vals;
    size_t *vsize;
    char **errs;
    size_t cap;
#endif
#ifdef HAVE_LMDB
    MDB_txn *txn;
    uint32_t uses;
#endif
};

/* A read transaction is renewed after this many gets, as a server would
 * do to let the writer reuse pages. */
#define LMDB_TXN_GETS 1000

const char *hx_kv_name(int kind)
{
    return kind == HX_ROCKSDB ? "RocksDB" : "LMDB";
}

int hx_kv_available(int kind)
{
#ifdef HAVE_ROCKSDB
    if (kind == HX_ROCKSDB) return 1;
#endif
#ifdef HAVE_LMDB
    if (kind == HX_LMDB) return 1;
#endif
    (void)kind;
    return 0;
}

const char *hx_kv_version(int kind)
{
    static char v[2][32];
#ifdef HAVE_LMDB
    if (kind == HX_LMDB) {
        int a, b, c;
        mdb_version(&a, &b, &c);
        snprintf(v[1], sizeof v[1], "%d.%d.%d", a, b, c);
        return v[1];
    }
#endif
#ifdef HAVE_ROCKSDB
    if (kind == HX_ROCKSDB) {
        /* the C API has no version call; Debian's package says it */
        FILE *p = popen("dpkg-query -W -f='${Version}' librocksdb-dev 2>/dev/null", "r");
        if (p) {
            if (!fgets(v[0], sizeof v[0], p)) v[0][0] = 0;
            pclose(p);
        }
        return v[0];
    }
#endif
    (void)kind;
    return "";
}

const char *hx_kv_config(int kind)
{
    if (kind == HX_ROCKSDB)
        return "RocksDB: LedgerKey->LedgerEntry XDR, bloom 10 bits/key, hashed data blocks, no "
               "compression, 2 GiB block cache, all files open, gets pinned (no copy)";
    return "LMDB: LedgerKey->LedgerEntry XDR, MDB_NORDAHEAD, read txn renewed every 1000 gets, "
           "durable commits (no MDB_NOSYNC outside the bulk load)";
}

#ifdef HAVE_ROCKSDB
static void rocks_check(char *err, const char *what)
{
    if (err) hx_die("RocksDB %s: %s", what, err);
}
#endif

#ifdef HAVE_LMDB
static void lmdb_check(int rc, const char *what)
{
    if (rc) hx_die("LMDB %s: %s", what, mdb_strerror(rc));
}
#endif

hx_kv *hx_kv_open(int kind, const char *dir, uint64_t bytes)
{
    hx_kv *kv = calloc(1, sizeof *kv);
    if (!kv) hx_die("out of memory");
    kv->kind = kind;
    if (mkdir(dir, 0755) && errno != EEXIST) hx_die("mkdir %s: %s", dir, strerror(errno));
#ifdef HAVE_ROCKSDB
    if (kind == HX_ROCKSDB) {
        char *err = NULL;
        kv->opts = rocksdb_options_create();
        rocksdb_options_set_create_if_missing(kv->opts, 1);
        rocksdb_options_set_compression(kv->opts, rocksdb_no_compression);
        rocksdb_options_set_max_open_files(kv->opts, -1);
        rocksdb_options_increase_parallelism(kv->opts, 2);
        rocksdb_options_set_write_buffer_size(kv->opts, (size_t)64 << 20);
        kv->topts = rocksdb_block_based_options_create();
        kv->cache = rocksdb_cache_create_lru(ROCKS_CACHE);
        rocksdb_block_based_options_set_block_cache(kv->topts, kv->cache);
        rocksdb_block_based_options_set_filter_policy(kv->topts,
                                                      rocksdb_filterpolicy_create_bloom_full(10));
        rocksdb_block_based_options_set_data_block_index_type(
            kv->topts, rocksdb_block_based_table_data_block_index_type_binary_search_and_hash);
        rocksdb_block_based_options_set_data_block_hash_ratio(kv->topts, 0.75);
        rocksdb_options_set_block_based_table_factory(kv->opts, kv->topts);
        kv->db = rocksdb_open(kv->opts, dir, &err);
        rocks_check(err, "open");
        kv->wo_load = rocksdb_writeoptions_create();
        rocksdb_writeoptions_disable_WAL(kv->wo_load, 1);
        kv->wo_sync = rocksdb_writeoptions_create();
        rocksdb_writeoptions_set_sync(kv->wo_sync, 1);
        kv->ro = rocksdb_readoptions_create();
        return kv;
    }
#endif
#ifdef HAVE_LMDB
    if (kind == HX_LMDB) {
        lmdb_check(mdb_env_create(&kv->env), "env_create");
        /* B-tree pages of small records are about half full after random
         * inserts; the map is only address space */
        uint64_t map = bytes * 3 + ((uint64_t)1 << 30);
        lmdb_check(mdb_env_set_mapsize(kv->env, (size_t)map), "set_mapsize");
        lmdb_check(mdb_env_set_maxreaders(kv->env, 64), "set_maxreaders");
        lmdb_check(mdb_env_open(kv->env, dir, MDB_NORDAHEAD | MDB_NOTLS, 0644), "env_open");
        MDB_txn *txn;
        lmdb_check(mdb_txn_begin(kv->env, NULL, 0, &txn), "txn_begin");
        lmdb_check(mdb_dbi_open(txn, NULL, 0, &kv->dbi), "dbi_open");
        lmdb_check(mdb_txn_commit(txn), "commit");
        return kv;
    }
#endif
    (void)bytes;
    hx_die("%s is not built in (install its Debian package and reconfigure)", hx_kv_name(kind));
}

void hx_kv_close(hx_kv *kv)
{
    if (!kv) return;
#ifdef HAVE_ROCKSDB
    if (kv->kind == HX_ROCKSDB) {
        rocksdb_close(kv->db);
        rocksdb_writeoptions_destroy(kv->wo_load);
        rocksdb_writeoptions_destroy(kv->wo_sync);
        rocksdb_readoptions_destroy(kv->ro);
        rocksdb_options_destroy(kv->opts);
        rocksdb_block_based_options_destroy(kv->topts);
        rocksdb_cache_destroy(kv->cache);
    }
#endif
#ifdef HAVE_LMDB
    if (kv->kind == HX_LMDB) mdb_env_close(kv->env);
#endif
    free(kv);
}

#ifdef HAVE_ROCKSDB
static void rocks_write(hx_kv *kv, rocksdb_writeoptions_t *wo, const bdb_bytes *keys,
                        const bdb_bytes *vals, size_t n, const bdb_bytes *dels, size_t nd)
{
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    for (size_t i = 0; i < n; i++)
        rocksdb_writebatch_put(b, (const char *)keys[i].data, keys[i].len,
                               (const char *)vals[i].data, vals[i].len);
    for (size_t i = 0; i < nd; i++)
        rocksdb_writebatch_delete(b, (const char *)dels[i].data, dels[i].len);
    char *err = NULL;
    rocksdb_write(kv->db, wo, b, &err);
    rocks_check(err, "write");
    rocksdb_writebatch_destroy(b);
}
#endif

#ifdef HAVE_LMDB
static void lmdb_write(hx_kv *kv, const bdb_bytes *keys, const bdb_bytes *vals, size_t n,
                       const bdb_bytes *dels, size_t nd)
{
    MDB_txn *txn;
    lmdb_check(mdb_txn_begin(kv->env, NULL, 0, &txn), "txn_begin");
    for (size_t i = 0; i < n; i++) {
        MDB_val k = {keys[i].len, (void *)keys[i].data}, v = {vals[i].len, (void *)vals[i].data};
        lmdb_check(mdb_put(txn, kv->dbi, &k, &v, 0), "put");
    }
    for (size_t i = 0; i < nd; i++) {
        MDB_val k = {dels[i].len, (void *)dels[i].data};
        int rc = mdb_del(txn, kv->dbi, &k, NULL);
        if (rc != MDB_NOTFOUND) lmdb_check(rc, "del");
    }
    lmdb_check(mdb_txn_commit(txn), "commit");
}
#endif

void hx_kv_load(hx_kv *kv, const bdb_bytes *keys, const bdb_bytes *vals, size_t n)
{
#ifdef HAVE_ROCKSDB
    if (kv->kind == HX_ROCKSDB) rocks_write(kv, kv->wo_load, keys, vals, n, NULL, 0);
#endif
#ifdef HAVE_LMDB
    if (kv->kind == HX_LMDB) {
        lmdb_check(mdb_env_set_flags(kv->env, MDB_NOSYNC, 1), "set_flags");
        lmdb_write(kv, keys, vals, n, NULL, 0);
    }
#endif
    (void)keys, (void)vals, (void)n;
}

void hx_kv_load_end(hx_kv *kv)
{
#ifdef HAVE_ROCKSDB
    if (kv->kind == HX_ROCKSDB) {
        char *err = NULL;
        rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
        rocksdb_flushoptions_set_wait(fo, 1);
        rocksdb_flush(kv->db, fo, &err);
        rocks_check(err, "flush");
        rocksdb_flushoptions_destroy(fo);
        rocksdb_compact_range(kv->db, NULL, 0, NULL, 0);
    }
#endif
#ifdef HAVE_LMDB
    if (kv->kind == HX_LMDB) {
        lmdb_check(mdb_env_sync(kv->env, 1), "env_sync");
        lmdb_check(mdb_env_set_flags(kv->env, MDB_NOSYNC, 0), "set_flags");
    }
#endif
    (void)kv;
}

void hx_kv_commit(hx_kv *kv, const bdb_bytes *keys, const bdb_bytes *vals, size_t n,
                  const bdb_bytes *dels, size_t n_dels)
{
#ifdef HAVE_ROCKSDB
    if (kv->kind == HX_ROCKSDB) rocks_write(kv, kv->wo_sync, keys, vals, n, dels, n_dels);
#endif
#ifdef HAVE_LMDB
    if (kv->kind == HX_LMDB) lmdb_write(kv, keys, vals, n, dels, n_dels);
#endif
    (void)keys, (void)vals, (void)n, (void)dels, (void)n_dels;
}

hx_kv_reader *hx_kv_reader_new(hx_kv *kv)
{
    hx_kv_reader *r = calloc(1, sizeof *r);
    if (!r) hx_die("out of memory");
    r->kv = kv;
    return r;
}

void hx_kv_reader_free(hx_kv_reader *r)
{
    if (!r) return;
#ifdef HAVE_ROCKSDB
    if (r->pin) rocksdb_pinnableslice_destroy(r->pin);
    free(r->klist), free(r->ksize), free(r->vals), free(r->vsize), free(r->errs);
#endif
#ifdef HAVE_LMDB
    if (r->txn) mdb_txn_abort(r->txn);
#endif
    free(r);
}

#ifdef HAVE_LMDB
static MDB_txn *lmdb_txn(hx_kv_reader *r)
{
    if (r->txn && r->uses++ < LMDB_TXN_GETS) return r->txn;
    if (r->txn) {
        mdb_txn_reset(r->txn);
        lmdb_check(mdb_txn_renew(r->txn), "txn_renew");
    } else {
        lmdb_check(mdb_txn_begin(r->kv->env, NULL, MDB_RDONLY, &r->txn), "txn_begin");
    }
    r->uses = 1;
    return r->txn;
}
#endif

int hx_kv_get(hx_kv_reader *r, const void *key, size_t len, const uint8_t **val, size_t *vlen)
{
#ifdef HAVE_ROCKSDB
    if (r->kv->kind == HX_ROCKSDB) {
        char *err = NULL;
        if (r->pin) rocksdb_pinnableslice_destroy(r->pin);
        r->pin = rocksdb_get_pinned(r->kv->db, r->kv->ro, key, len, &err);
        rocks_check(err, "get");
        if (!r->pin) return 0;
        *val = (const uint8_t *)rocksdb_pinnableslice_value(r->pin, vlen);
        return 1;
    }
#endif
#ifdef HAVE_LMDB
    if (r->kv->kind == HX_LMDB) {
        MDB_val k = {len, (void *)key}, v;
        int rc = mdb_get(lmdb_txn(r), r->kv->dbi, &k, &v);
        if (rc == MDB_NOTFOUND) return 0;
        lmdb_check(rc, "get");
        *val = v.mv_data;
        *vlen = v.mv_size;
        return 1;
    }
#endif
    (void)r, (void)key, (void)len, (void)val, (void)vlen;
    return 0;
}

size_t hx_kv_get_many(hx_kv_reader *r, const bdb_bytes *keys, size_t n, uint8_t *found)
{
    size_t hits = 0;
#ifdef HAVE_ROCKSDB
    if (r->kv->kind == HX_ROCKSDB) {
        if (n > r->cap) {
            r->klist = realloc(r->klist, n * sizeof *r->klist);
            r->ksize = realloc(r->ksize, n * sizeof *r->ksize);
            r->vals = realloc(r->vals, n * sizeof *r->vals);
            r->vsize = realloc(r->vsize, n * sizeof *r->vsize);
            r->errs = realloc(r->errs, n * sizeof *r->errs);
            if (!r->klist || !r->ksize || !r->vals || !r->vsize || !r->errs)
                hx_die("out of memory");
            r->cap = n;
        }
        for (size_t i = 0; i < n; i++) {
            r->klist[i] = (const char *)keys[i].data;
            r->ksize[i] = keys[i].len;
        }
        /* the C API of 7.8 has no default column-family handle for the
         * batched, pinned variant: values come back malloc'd */
        rocksdb_multi_get(r->kv->db, r->kv->ro, n, r->klist, r->ksize, r->vals, r->vsize, r->errs);
        for (size_t i = 0; i < n; i++) {
            rocks_check(r->errs[i], "multi_get");
            found[i] = r->vals[i] != NULL;
            hits += found[i];
            rocksdb_free(r->vals[i]);
        }
        return hits;
    }
#endif
    /* LMDB has no batched read: one get per key, in one read transaction */
    for (size_t i = 0; i < n; i++) {
        const uint8_t *v;
        size_t vl;
        found[i] = (uint8_t)hx_kv_get(r, keys[i].data, keys[i].len, &v, &vl);
        hits += found[i];
    }
    return hits;
}
