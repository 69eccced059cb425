/* Fresh buckets (stellar-core's LiveBucket::fresh and HotArchiveBucket::
 * fresh): the inputs of one ledger, validated, sorted by key and written. */
#include "config.h"

#include "bucket.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/env.h"
#include "core/error.h"
#include "xdr/ledger.h"
#include "xdr/stellar_types.h"

typedef struct item {
    const uint8_t *data; /* LedgerEntry or LedgerKey */
    size_t len;
    int32_t type;  /* record type to write */
    size_t sk_off; /* sort key in the shared arena */
    size_t sk_len;
} item;

typedef struct fresh {
    bdb_env *env;
    item *items;
    size_t n, cap_items;
    uint8_t *arena;
    size_t arena_len, arena_cap;
} fresh;

static int cmp_items(const void *a, const void *b, void *arena)
{
    const item *x = a, *y = b;
    const uint8_t *k = arena;
    return bdbi_sk_cmp(k + x->sk_off, x->sk_len, k + y->sk_off, y->sk_len);
}

/* Adds inputs: entries (is_key 0) or keys (is_key 1), written as `type`. */
static int add(fresh *f, const bdb_bytes *in, size_t n, int is_key, int32_t type, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = in[i].data;
        size_t len = in[i].len;
        int rc = bdbi_check(is_key ? &bdbi_xt_ledger_key : &bdbi_xt_ledger_entry, p, len, what, 0);
        if (rc) return rc;
        bdbi_sk_out o = {f->arena + f->arena_len, 0, f->arena_cap - f->arena_len};
        rc = is_key ? bdbi_sort_key(p, len, what, 0, &o) : bdbi_entry_sort_key(p, len, what, 0, &o);
        if (rc) return rc;
        f->items[f->n++] = (item){p, len, type, f->arena_len, o.len};
        f->arena_len += o.len;
    }
    return 0;
}

/* Sorts, refuses duplicate keys, writes. */
static int write_sorted(fresh *f, const char *dir, int hot, uint32_t protocol, int fsync,
                        bdb_bucket_info *out)
{
    qsort_r(f->items, f->n, sizeof *f->items, cmp_items, f->arena);
    for (size_t i = 1; i < f->n; i++) {
        item *a = &f->items[i - 1], *b = &f->items[i];
        if (bdbi_sk_cmp(f->arena + a->sk_off, a->sk_len, f->arena + b->sk_off, b->sk_len) == 0) {
            uint8_t key[8192];
            size_t klen = 0;
            char js[1024];
            size_t jl;
            if (bdbi_record_is_key(hot, b->type))
                memcpy(key, b->data, klen = b->len < sizeof key ? b->len : 0);
            else
                (void)bdb_ledger_entry_key(b->data, b->len, key, sizeof key, &klen);
            if (!klen || bdb_ledger_key_json(key, klen, js, sizeof js, &jl))
                snprintf(js, sizeof js, "?");
            return bdbi_err(BDB_EINVAL, "key %s is given twice to a fresh bucket", js);
        }
    }
    bdb_bucket_writer_options o;
    bdb_bucket_writer_options_init(&o);
    o.hot = hot;
    o.protocol = protocol;
    o.fsync = fsync;
    bdb_bucket_writer *w;
    int rc = bdb_bucket_writer_open(f->env, dir, &o, &w);
    if (rc) return rc;
    uint8_t *rec = NULL;
    size_t rec_cap = 0;
    for (size_t i = 0; i < f->n && !rc; i++) {
        item *it = &f->items[i];
        if (4 + it->len > rec_cap) {
            size_t ncap = 4 + it->len;
            uint8_t *q = bdbi_realloc(f->env, BDB_MEM_BUCKET, rec, rec_cap, ncap);
            if (!q) {
                rc = BDB_ENOMEM;
                break;
            }
            rec = q;
            rec_cap = ncap;
        }
        bdbi_put_be32(rec, (uint32_t)it->type);
        memcpy(rec + 4, it->data, it->len);
        rc = bdbi_bucket_writer_put_as(w, it->type, rec, 4 + it->len, f->arena + it->sk_off,
                                       it->sk_len);
    }
    bdbi_free(f->env, BDB_MEM_BUCKET, rec, rec_cap);
    if (rc) {
        bdb_bucket_writer_abort(w);
        return rc;
    }
    return bdb_bucket_writer_finish(w, out);
}

static int fresh_init(fresh *f, bdb_env *env, const bdb_bytes *const *sets, const size_t *counts,
                      int nsets)
{
    memset(f, 0, sizeof *f);
    f->env = env;
    for (int s = 0; s < nsets; s++) {
        f->cap_items += counts[s];
        for (size_t i = 0; i < counts[s]; i++) f->arena_cap += BDB_SORT_KEY_BOUND(sets[s][i].len);
    }
    f->items =
        bdbi_malloc(env, BDB_MEM_BUCKET, (f->cap_items ? f->cap_items : 1) * sizeof *f->items);
    f->arena = bdbi_malloc(env, BDB_MEM_BUCKET, f->arena_cap ? f->arena_cap : 1);
    return f->items && f->arena ? 0 : BDB_ENOMEM;
}

static void fresh_fini(fresh *f)
{
    bdbi_free(f->env, BDB_MEM_BUCKET, f->items,
              (f->cap_items ? f->cap_items : 1) * sizeof *f->items);
    bdbi_free(f->env, BDB_MEM_BUCKET, f->arena, f->arena_cap ? f->arena_cap : 1);
}

BDB_API int bdb_bucket_fresh(bdb_env *env, const char *dir, uint32_t protocol, int fsync,
                             const bdb_bytes *init, size_t n_init, const bdb_bytes *live,
                             size_t n_live, const bdb_bytes *dead, size_t n_dead,
                             bdb_bucket_info *out)
{
    memset(out, 0, sizeof *out);
    const bdb_bytes *sets[3] = {init, live, dead};
    size_t counts[3] = {n_init, n_live, n_dead};
    fresh f;
    int rc = fresh_init(&f, env, sets, counts, 3);
    /* below protocol 11 created entries are written as LIVEENTRY */
    int32_t init_type = protocol < BDB_PROTOCOL_INIT_META ? BDB_LIVEENTRY : BDB_INITENTRY;
    if (!rc) rc = add(&f, init, n_init, 0, init_type, "init entry");
    if (!rc) rc = add(&f, live, n_live, 0, BDB_LIVEENTRY, "live entry");
    if (!rc) rc = add(&f, dead, n_dead, 1, BDB_DEADENTRY, "dead key");
    if (!rc) rc = write_sorted(&f, dir, 0, protocol, fsync, out);
    fresh_fini(&f);
    return rc;
}

BDB_API int bdb_bucket_fresh_hot(bdb_env *env, const char *dir, uint32_t protocol, int fsync,
                                 const bdb_bytes *archived, size_t n_archived,
                                 const bdb_bytes *restored, size_t n_restored, bdb_bucket_info *out)
{
    memset(out, 0, sizeof *out);
    if (protocol < BDB_PROTOCOL_META_EXT_V1)
        return bdbi_err(BDB_EPROTOCOL, "hot-archive buckets need protocol %d, not %u",
                        BDB_PROTOCOL_META_EXT_V1, protocol);
    const bdb_bytes *sets[2] = {archived, restored};
    size_t counts[2] = {n_archived, n_restored};
    fresh f;
    int rc = fresh_init(&f, env, sets, counts, 2);
    if (!rc) rc = add(&f, archived, n_archived, 0, BDB_HOT_ARCHIVED, "archived entry");
    if (!rc) rc = add(&f, restored, n_restored, 1, BDB_HOT_LIVE, "restored key");
    if (!rc) rc = write_sorted(&f, dir, 1, protocol, fsync, out);
    fresh_fini(&f);
    return rc;
}
