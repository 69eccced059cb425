/* The manifest: after every ledger, a new file MANIFEST-<ledger> holding
 * the shard boundaries, every bucket the state references (its files,
 * sizes, checksums and per-shard ranges), both lists' levels and their
 * pending merges (inputs, or the output once known). It is written under
 * a new name (never replacing a file), fsync'd with its directory, and only
 * then is the previous manifest removed; so the newest manifest is always
 * complete and a crash leaves the previous ledger or the new one. Format:
 * docs/list-store.md. */
#include "config.h"

#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"

#define MAGIC        "BDBMANI1"
#define FORMAT       1
#define NONE         0xffffffffu
#define MAX_MANIFEST ((size_t)256 << 20)

/* ---- encoding ---- */

typedef struct buf {
    bdb_env *env;
    uint8_t *p;
    size_t n, cap;
    int err;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->err) return;
    if (b->n + n > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc < b->n + n) nc *= 2;
        uint8_t *q = bdbi_realloc(b->env, BDB_MEM_LIST, b->p, b->cap, nc);
        if (!q) {
            b->err = BDB_ENOMEM;
            return;
        }
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put32(buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}
static void put64(buf *b, uint64_t v)
{
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}
static void put8(buf *b, uint8_t v)
{
    put(b, &v, 1);
}

/* The buckets the manifest lists, each once. */
typedef struct table {
    bdbi_lbucket **b;
    size_t n, cap;
} table;

static uint32_t index_of(const table *t, const bdbi_lbucket *b)
{
    if (!b) return NONE;
    for (size_t i = 0; i < t->n; i++)
        if (t->b[i] == b) return (uint32_t)i;
    return NONE;
}

static int add(bdb_env *env, table *t, bdbi_lbucket *b)
{
    if (!b || index_of(t, b) != NONE) return 0;
    if (t->n == t->cap) {
        size_t nc = t->cap ? 2 * t->cap : 64;
        bdbi_lbucket **q =
            bdbi_realloc(env, BDB_MEM_LIST, t->b, t->cap * sizeof *q, nc * sizeof *q);
        if (!q) return BDB_ENOMEM;
        t->b = q;
        t->cap = nc;
    }
    t->b[t->n++] = b;
    return 0;
}

/* Whether each level's merge had finished, and its output: read once, so
 * that a merge finishing while the manifest is built is described one
 * way throughout. */
typedef struct snap_next {
    int fin;
    bdbi_lbucket *out;
} snap_next;

static void snapshot(const bdbi_llist *list, snap_next sn[BDB_LIST_LEVELS])
{
    for (int i = 0; i < BDB_LIST_LEVELS; i++) {
        sn[i].fin = 0;
        sn[i].out = NULL;
        if (list->levels[i].next) sn[i].out = bdbi_pmerge_output(list->levels[i].next, &sn[i].fin);
    }
}

static int collect(bdb_list *l, const bdbi_llist *list, const snap_next *sn, table *t)
{
    int rc = 0;
    for (int i = 0; !rc && i < BDB_LIST_LEVELS; i++) {
        const bdbi_level *lv = &list->levels[i];
        rc = add(l->env, t, lv->curr);
        if (!rc) rc = add(l->env, t, lv->snap);
        if (!rc && lv->next) {
            int fin = sn[i].fin;
            bdbi_lbucket *o = sn[i].out;
            if (fin) {
                rc = add(l->env, t, o);
            } else {
                const bdbi_merge_inputs *in = bdbi_pmerge_inputs(lv->next);
                rc = add(l->env, t, in->curr);
                if (!rc) rc = add(l->env, t, in->snap);
                for (size_t s = 0; !rc && s < in->n_shadows; s++)
                    rc = add(l->env, t, in->shadows[s]);
            }
        }
    }
    return rc;
}

static void put_bucket(buf *b, const bdbi_lbucket *x)
{
    put(b, x->hash, 32);
    put8(b, (uint8_t)x->hot);
    put32(b, x->protocol);
    put64(b, x->records);
    put64(b, x->bytes);
    put32(b, x->n_files);
    for (uint32_t f = 0; f < x->n_files; f++) {
        size_t len = strlen(x->files[f].name);
        put32(b, (uint32_t)len);
        put(b, x->files[f].name, len);
        put64(b, x->files[f].size);
        put64(b, x->files[f].xxh);
    }
    for (uint32_t k = 0; k < x->n_shards; k++) {
        put32(b, (uint32_t)x->ranges[k].file);
        put64(b, x->ranges[k].begin);
        put64(b, x->ranges[k].end);
    }
}

static void put_list(buf *b, const bdbi_llist *list, const snap_next *sn, const table *t)
{
    for (int i = 0; i < BDB_LIST_LEVELS; i++) {
        const bdbi_level *lv = &list->levels[i];
        put32(b, index_of(t, lv->curr));
        put32(b, index_of(t, lv->snap));
        if (!lv->next) {
            put8(b, 0);
            continue;
        }
        int fin = sn[i].fin;
        bdbi_lbucket *o = sn[i].out;
        if (fin) {
            put8(b, 1);
            put32(b, index_of(t, o));
            continue;
        }
        const bdbi_merge_inputs *in = bdbi_pmerge_inputs(lv->next);
        put8(b, 2);
        put8(b, (uint8_t)in->keep_tombstones);
        put32(b, in->max_protocol);
        put32(b, in->start_ledger);
        put32(b, index_of(t, in->curr));
        put32(b, index_of(t, in->snap));
        put32(b, (uint32_t)in->n_shadows);
        for (size_t s = 0; s < in->n_shadows; s++) put32(b, index_of(t, in->shadows[s]));
    }
}

static void manifest_name(uint32_t ledger, char *out, size_t cap)
{
    snprintf(out, cap, "MANIFEST-%010u", ledger);
}

int bdbi_manifest_write(bdb_list *l)
{
    table t = {0};
    snap_next sl[BDB_LIST_LEVELS], sh[BDB_LIST_LEVELS];
    snapshot(&l->live, sl);
    snapshot(&l->hot, sh);
    int rc = collect(l, &l->live, sl, &t);
    if (!rc) rc = collect(l, &l->hot, sh, &t);
    buf b = {.env = l->env};
    put(&b, MAGIC, 8);
    put32(&b, FORMAT);
    put32(&b, l->ledger);
    put32(&b, l->protocol);
    put32(&b, l->n_shards);
    for (uint32_t k = 0; k + 1 < l->n_shards; k++) {
        put32(&b, (uint32_t)l->bounds[k].len);
        put(&b, l->bounds[k].data, l->bounds[k].len);
    }
    put32(&b, (uint32_t)t.n);
    for (size_t i = 0; i < t.n; i++) put_bucket(&b, t.b[i]);
    put_list(&b, &l->live, sl, &t);
    put_list(&b, &l->hot, sh, &t);
    if (!b.err) put64(&b, bdbi_hash64(b.p, b.n, 0));
    if (!rc) rc = b.err;
    char path[PATH_MAX], name[32];
    manifest_name(l->ledger, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", l->dir, name);
    if (!rc)
        rc = bdbi_fs_write_file(l->env, path, b.p, b.n,
                                BDBI_FS_NOREPLACE | (l->opts.fsync ? 0 : BDBI_FS_NOSYNC));
    bdbi_free(l->env, BDB_MEM_LIST, b.p, b.cap);
    bdbi_free(l->env, BDB_MEM_LIST, t.b, t.cap * sizeof *t.b);
    if (rc) return rc;
    if (l->manifest_ledger && l->manifest_ledger != l->ledger) {
        manifest_name(l->manifest_ledger, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", l->dir, name);
        (void)bdbi_fs_unlink(l->env, path);
    }
    l->manifest_ledger = l->ledger;
    return 0;
}

/* ---- decoding ---- */

typedef struct cur {
    const uint8_t *p;
    size_t n, pos;
    const char *path;
    int err;
} cur;

static int bad(cur *c, const char *what)
{
    if (!c->err) c->err = bdbi_err_at(BDB_ECORRUPT, c->path, (int64_t)c->pos, "manifest: %s", what);
    return c->err;
}
static const uint8_t *get(cur *c, size_t n)
{
    if (c->err) return NULL;
    if (n > c->n - c->pos) {
        bad(c, "truncated");
        return NULL;
    }
    const uint8_t *p = c->p + c->pos;
    c->pos += n;
    return p;
}
static uint32_t get32(cur *c)
{
    const uint8_t *p = get(c, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
             : 0;
}
static uint64_t get64(cur *c)
{
    uint64_t lo = get32(c);
    return lo | (uint64_t)get32(c) << 32;
}
static uint8_t get8(cur *c)
{
    const uint8_t *p = get(c, 1);
    return p ? *p : 0;
}

static int name_ok(const char *s, size_t n)
{
    if (n < 8 || strncmp(s, "bucket-", 7) != 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '.' || s[i] == '-' || (s[i] >= '0' && s[i] <= '9') ||
              (s[i] >= 'a' && s[i] <= 'z')))
            return 0;
    return 1;
}

static bdbi_lbucket *get_bucket(bdb_list *l, cur *c)
{
    bdbi_lbucket *b = bdbi_calloc(l->env, BDB_MEM_LIST, 1, sizeof *b);
    if (!b) {
        c->err = BDB_ENOMEM;
        return NULL;
    }
    atomic_init(&b->refs, 1);
    const uint8_t *h = get(c, 32);
    if (h) memcpy(b->hash, h, 32);
    b->hot = get8(c);
    b->protocol = get32(c);
    b->records = get64(c);
    b->bytes = get64(c);
    b->n_files = get32(c);
    b->n_shards = l->n_shards;
    if (!c->err && (b->hot > 1 || b->n_files == 0 || b->n_files > l->n_shards))
        bad(c, "bucket header out of range");
    if (!c->err) {
        b->files = bdbi_calloc(l->env, BDB_MEM_LIST, b->n_files, sizeof *b->files);
        b->ranges = bdbi_calloc(l->env, BDB_MEM_LIST, l->n_shards, sizeof *b->ranges);
        if (!b->files || !b->ranges) c->err = BDB_ENOMEM;
    }
    for (uint32_t f = 0; !c->err && f < b->n_files; f++) {
        uint32_t len = get32(c);
        if (len >= BDBI_FILE_NAME_MAX) {
            bad(c, "file name too long");
            break;
        }
        const uint8_t *s = get(c, len);
        if (s && !name_ok((const char *)s, len)) bad(c, "bad file name");
        if (c->err) break;
        memcpy(b->files[f].name, s, len);
        b->files[f].size = get64(c);
        b->files[f].xxh = get64(c);
    }
    for (uint32_t k = 0; !c->err && k < l->n_shards; k++) {
        bdbi_lrange *r = &b->ranges[k];
        r->file = (int32_t)get32(c);
        r->begin = get64(c);
        r->end = get64(c);
        if (!c->err && (r->file < -1 || r->file >= (int32_t)b->n_files || r->begin > r->end ||
                        (r->file >= 0 && r->end > b->files[r->file].size)))
            bad(c, "piece range out of range");
    }
    if (c->err) {
        if (b->files) bdbi_free(l->env, BDB_MEM_LIST, b->files, b->n_files * sizeof *b->files);
        if (b->ranges) bdbi_free(l->env, BDB_MEM_LIST, b->ranges, l->n_shards * sizeof *b->ranges);
        bdbi_free(l->env, BDB_MEM_LIST, b, sizeof *b);
        return NULL;
    }
    return b;
}

static bdbi_lbucket *at(cur *c, bdbi_lbucket **tab, uint32_t n, uint32_t i)
{
    if (i == NONE) return NULL;
    if (i >= n) {
        bad(c, "bucket index out of range");
        return NULL;
    }
    return tab[i];
}

static int get_list(bdb_list *l, cur *c, bdbi_llist *list, bdbi_lbucket **tab, uint32_t n)
{
    for (int i = 0; !c->err && i < BDB_LIST_LEVELS; i++) {
        bdbi_level *lv = &list->levels[i];
        lv->curr = bdbi_lbucket_ref(at(c, tab, n, get32(c)));
        lv->snap = bdbi_lbucket_ref(at(c, tab, n, get32(c)));
        uint8_t state = get8(c);
        if (c->err) break;
        if (state == 0) continue;
        if (state == 1) {
            bdbi_lbucket *o = at(c, tab, n, get32(c));
            if (!c->err) c->err = bdbi_pmerge_done(l, list->hot, i, o, &lv->next);
            continue;
        }
        if (state != 2 || i == 0) {
            bad(c, "bad merge state");
            break;
        }
        bdbi_merge_inputs in = {.hot = list->hot, .level = i};
        in.keep_tombstones = get8(c);
        in.max_protocol = get32(c);
        in.start_ledger = get32(c);
        in.curr = at(c, tab, n, get32(c));
        in.snap = at(c, tab, n, get32(c));
        uint32_t ns = get32(c);
        bdbi_lbucket *sh[2 * BDB_LIST_LEVELS];
        if (!c->err && ns > 2 * BDB_LIST_LEVELS) bad(c, "too many shadows");
        for (uint32_t s = 0; !c->err && s < ns; s++) sh[s] = at(c, tab, n, get32(c));
        in.shadows = sh;
        in.n_shadows = ns;
        if (!c->err && in.max_protocol > l->opts.max_protocol)
            c->err = bdbi_err_at(BDB_EPROTOCOL, c->path, -1,
                                 "a pending merge of protocol %u is above the maximum %u",
                                 in.max_protocol, l->opts.max_protocol);
        /* restarts the merge (or reattaches to an identical one); read-only,
         * only records it */
        if (!c->err) c->err = bdbi_pmerge_start(l, &in, &lv->next);
    }
    return c->err;
}

/* The newest manifest in the directory: its ledger, or 0 if none. */
static int newest(bdb_list *l, uint32_t *ledger)
{
    *ledger = 0;
    DIR *d = opendir(l->dir);
    if (!d) return bdbi_err_sys(errno, l->dir, "cannot list the store directory");
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned v;
        char tail;
        if (strlen(e->d_name) == 19 && sscanf(e->d_name, "MANIFEST-%10u%c", &v, &tail) == 1 &&
            v > *ledger)
            *ledger = v;
    }
    closedir(d);
    return 0;
}

int bdbi_manifest_load(bdb_list *l, int *found)
{
    *found = 0;
    uint32_t ledger;
    int rc = newest(l, &ledger);
    if (rc || !ledger) return rc;
    char path[PATH_MAX], name[32];
    manifest_name(ledger, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", l->dir, name);
    void *data;
    size_t len;
    rc = bdbi_fs_read_file(l->env, BDB_MEM_LIST, path, MAX_MANIFEST, &data, &len);
    if (rc) return rc;
    cur c = {data, len, 0, path, 0};
    if (len < 8 + 8 + 8 || memcmp(data, MAGIC, 8) != 0) bad(&c, "not a bucketdb manifest");
    if (!c.err) {
        uint64_t want;
        const uint8_t *t = (const uint8_t *)data + len - 8;
        want = (uint64_t)t[0] | (uint64_t)t[1] << 8 | (uint64_t)t[2] << 16 | (uint64_t)t[3] << 24 |
               (uint64_t)t[4] << 32 | (uint64_t)t[5] << 40 | (uint64_t)t[6] << 48 |
               (uint64_t)t[7] << 56;
        if (bdbi_hash64(data, len - 8, 0) != want) bad(&c, "checksum mismatch");
        c.n = len - 8;
    }
    get(&c, 8);
    if (!c.err && get32(&c) != FORMAT) bad(&c, "unknown format version");
    uint32_t m_ledger = get32(&c), m_protocol = get32(&c), shards = get32(&c);
    if (!c.err && (m_ledger != ledger || shards == 0 || shards > BDB_LIST_MAX_SHARDS))
        bad(&c, "header out of range");
    if (!c.err && l->opts.shards && l->opts.shards != shards)
        c.err = bdbi_err(BDB_EINVAL, "store %s has %u shards; option shards = %u", l->dir, shards,
                         l->opts.shards);
    /* boundaries: stored once, owned by the list */
    if (!c.err) {
        l->bounds = bdbi_calloc(l->env, BDB_MEM_LIST, shards, sizeof *l->bounds);
        if (!l->bounds) c.err = BDB_ENOMEM;
        l->n_shards = shards;
        for (uint32_t k = 0; !c.err && k + 1 < shards; k++) {
            uint32_t bl = get32(&c);
            const uint8_t *p = get(&c, bl);
            if (!p) break;
            uint8_t *cp = bdbi_malloc(l->env, BDB_MEM_LIST, bl ? bl : 1);
            if (!cp) {
                c.err = BDB_ENOMEM;
                break;
            }
            memcpy(cp, p, bl);
            l->bounds[k] = (bdb_bytes){cp, bl};
            if (k && bdbi_sk_cmp(l->bounds[k - 1].data, l->bounds[k - 1].len, cp, bl) >= 0)
                bad(&c, "shard boundaries not increasing");
        }
    }
    uint32_t nb = get32(&c);
    if (!c.err && nb > 4 * 2 * 2 * BDB_LIST_LEVELS * 2) bad(&c, "too many buckets");
    bdbi_lbucket **tab = NULL;
    if (!c.err) {
        tab = bdbi_calloc(l->env, BDB_MEM_LIST, nb ? nb : 1, sizeof *tab);
        if (!tab) c.err = BDB_ENOMEM;
    }
    for (uint32_t i = 0; !c.err && i < nb; i++) {
        tab[i] = get_bucket(l, &c);
        if (!c.err) {
            bdbi_lbucket *dup = bdbi_reg_find(l, tab[i]->hash);
            if (dup) {
                bdbi_lbucket_unref(l, dup);
                bad(&c, "a bucket is listed twice");
            }
        }
        if (!c.err) c.err = bdbi_reg_insert(l, tab[i]);
    }
    if (!c.err) c.err = bdbi_lbucket_load_all(l, tab, nb);
    /* leftovers of a crash go before any merge restarts and writes files;
     * a read-only handle leaves them (they are not part of the state) */
    if (!c.err && !l->opts.read_only) c.err = bdbi_list_cleanup(l, m_ledger);
    if (!c.err) {
        l->ledger = m_ledger;
        l->protocol = m_protocol;
        get_list(l, &c, &l->live, tab, nb);
        get_list(l, &c, &l->hot, tab, nb);
    }
    if (!c.err && c.pos != c.n) bad(&c, "trailing bytes");
    for (uint32_t i = 0; tab && i < nb; i++) bdbi_lbucket_unref(l, tab[i]);
    if (tab) bdbi_free(l->env, BDB_MEM_LIST, tab, (nb ? nb : 1) * sizeof *tab);
    bdbi_free(l->env, BDB_MEM_LIST, data, len ? len : 1);
    if (c.err) return c.err;
    l->manifest_ledger = ledger;
    *found = 1;
    return 0;
}
