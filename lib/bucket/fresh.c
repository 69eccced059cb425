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

/* Sorts and refuses duplicate keys. */
static int sort_check(fresh *f, int hot)
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
    return 0;
}

/* Sorts, refuses duplicate keys, writes. */
static int write_sorted(fresh *f, const char *dir, int hot, uint32_t protocol, int fsync,
                        bdb_bucket_info *out)
{
    int rc = sort_check(f, hot);
    if (rc) return rc;
    bdb_bucket_writer_options o;
    bdb_bucket_writer_options_init(&o);
    o.hot = hot;
    o.protocol = protocol;
    o.fsync = fsync;
    bdb_bucket_writer *w;
    rc = bdb_bucket_writer_open(f->env, dir, &o, &w);
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

struct bdbi_fresh_mem {
    bdbi_mem_bucket b;
    bdbi_mem_record *recs;
    size_t n_recs;
    uint8_t *data; /* records (type + body) and sort keys */
    size_t data_len;
};

void bdbi_fresh_mem_free(bdb_env *env, bdbi_fresh_mem *m)
{
    if (!m) return;
    bdbi_free(env, BDB_MEM_BUCKET, m->recs, (m->n_recs ? m->n_recs : 1) * sizeof *m->recs);
    bdbi_free(env, BDB_MEM_BUCKET, m->data, m->data_len ? m->data_len : 1);
    bdbi_free(env, BDB_MEM_BUCKET, m, sizeof *m);
}

const bdbi_mem_bucket *bdbi_fresh_mem_bucket(const bdbi_fresh_mem *m)
{
    return &m->b;
}

int bdbi_bucket_fresh_mem(bdb_env *env, int hot, uint32_t protocol, const bdb_bytes *a, size_t n_a,
                          const bdb_bytes *b, size_t n_b, const bdb_bytes *c, size_t n_c,
                          bdbi_fresh_mem **out)
{
    *out = NULL;
    if (hot && protocol < BDB_PROTOCOL_META_EXT_V1)
        return bdbi_err(BDB_EPROTOCOL, "hot-archive buckets need protocol %d, not %u",
                        BDB_PROTOCOL_META_EXT_V1, protocol);
    const bdb_bytes *sets[3] = {a, b, c};
    size_t counts[3] = {n_a, n_b, hot ? 0 : n_c};
    fresh f;
    int rc = fresh_init(&f, env, sets, counts, hot ? 2 : 3);
    if (!rc && hot) {
        rc = add(&f, a, n_a, 0, BDB_HOT_ARCHIVED, "archived entry");
        if (!rc) rc = add(&f, b, n_b, 1, BDB_HOT_LIVE, "restored key");
    } else if (!rc) {
        int32_t init_type = protocol < BDB_PROTOCOL_INIT_META ? BDB_LIVEENTRY : BDB_INITENTRY;
        rc = add(&f, a, n_a, 0, init_type, "init entry");
        if (!rc) rc = add(&f, b, n_b, 0, BDB_LIVEENTRY, "live entry");
        if (!rc) rc = add(&f, c, n_c, 1, BDB_DEADENTRY, "dead key");
    }
    if (!rc) rc = sort_check(&f, hot);
    bdbi_fresh_mem *m = NULL;
    if (!rc) {
        m = bdbi_calloc(env, BDB_MEM_BUCKET, 1, sizeof *m);
        if (!m) rc = BDB_ENOMEM;
    }
    if (!rc) {
        for (size_t i = 0; i < f.n; i++) m->data_len += 4 + f.items[i].len + f.items[i].sk_len;
        m->n_recs = f.n;
        m->recs = bdbi_malloc(env, BDB_MEM_BUCKET, (f.n ? f.n : 1) * sizeof *m->recs);
        m->data = bdbi_malloc(env, BDB_MEM_BUCKET, m->data_len ? m->data_len : 1);
        if (!m->recs || !m->data) rc = BDB_ENOMEM;
    }
    size_t pos = 0;
    for (size_t i = 0; !rc && i < f.n; i++) {
        item *it = &f.items[i];
        uint8_t *r = m->data + pos;
        bdbi_put_be32(r, (uint32_t)it->type);
        memcpy(r + 4, it->data, it->len);
        uint8_t *k = r + 4 + it->len;
        memcpy(k, f.arena + it->sk_off, it->sk_len);
        pos += 4 + it->len + it->sk_len;
        m->recs[i] = (bdbi_mem_record){r, 4 + it->len, k, it->sk_len};
        rc = bdbi_bucket_check_legal(hot, protocol, it->type, r, 4 + it->len, BDB_EPROTOCOL,
                                     hot ? "archived entry" : "fresh entry", -1);
    }
    fresh_fini(&f);
    if (rc) {
        bdbi_fresh_mem_free(env, m);
        return rc;
    }
    m->b = (bdbi_mem_bucket){protocol, m->n_recs, m->recs};
    *out = m;
    return 0;
}
