/* Read-only opens of a store (bdb_list_options.read_only), on stores of
 * the batch vectors (ledgers 1..800, protocols 0 to 23):
 *
 * - nothing in the directory changes: names, sizes, mtimes, ctimes,
 *   inodes and contents of every file, and the directory's own times, are
 *   the same before the open, after it, after reads and after close, on a
 *   store with pending merges (state 2 in its manifest) and with files a
 *   normal open removes (an unreferenced bucket, an orphan index file, a
 *   temporary file, an old manifest), with exact and with page indexes;
 * - what it reads is what a normal open of a copy of the directory reads:
 *   state, every key's get and hot get, bulk gets, type scans, counters;
 *   its HAS, assumed into a new store, gives the same state;
 * - every call that would change the store is BDB_EINVAL saying so, and
 *   changes nothing (reads still work after it);
 * - a missing or corrupt bucket file, or a corrupt manifest, is an error
 *   naming it, and the failed open changes nothing either;
 * - locking as bdb_list_open documents it: read-only handles share the
 *   store, in one process or several; a writer and a read-only handle
 *   exclude each other either way round, with the writer's pid or the
 *   words "read-only" in the error; a store without a lock file opens
 *   read-only without creating one. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bucketdb/archive.h"
#include "core/env.h"
#include "core/pool.h"

#include "store_fixture.h"
#include "../file_helpers.h"

#define PASSPHRASE "Test SDF Network ; September 2015"

/* the copy of the store a normal handle opens, and a store assumed from
 * the read-only handle's HAS */
static char g_copy[80], g_assumed[80];

static void ro_setup(void)
{
    store_setup();
    snprintf(g_copy, sizeof g_copy, "%s.copy", g_dir);
    snprintf(g_assumed, sizeof g_assumed, "%s.assumed", g_dir);
}

/* Removes `dir` and everything under it (a failed test may leave
 * subdirectories, e.g. an archive). */
static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        unlink(dir); /* a file, or nothing */
        return;
    }
    struct dirent *e;
    char p[PATH_MAX];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void ro_teardown(void)
{
    rm_tree(g_copy);
    rm_tree(g_assumed);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s.archive", g_dir);
    rm_tree(p);
    snprintf(p, sizeof p, "%s.import", g_dir);
    rm_tree(p);
    rm_tree(g_dir);
    store_teardown();
}

TestSuite(store_readonly, .init = ro_setup, .fini = ro_teardown, .timeout = 600);

static bdb_list_options ro_opts(void)
{
    bdb_list_options o = store_opts();
    o.read_only = 1;
    return o;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* ---- directory snapshots ---- */

typedef struct fent {
    char name[256];
    off_t size;
    struct timespec mtime, ctime;
    ino_t ino;
    mode_t mode;
    uint64_t fnv; /* FNV-1a 64 of the content */
} fent;

typedef struct dsnap {
    fent *v;
    size_t n;
    struct timespec mtime, ctime; /* the directory's: any entry created or removed */
} dsnap;

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static int by_fent_name(const void *a, const void *b)
{
    return strcmp(((const fent *)a)->name, ((const fent *)b)->name);
}

static void snap_take(const char *dir, dsnap *s)
{
    memset(s, 0, sizeof *s);
    struct stat st;
    cr_assert_eq(stat(dir, &st), 0, "%s: %s", dir, strerror(errno));
    s->mtime = st.st_mtim;
    s->ctime = st.st_ctim;
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (s->n == cap) {
            cap = cap ? 2 * cap : 64;
            s->v = realloc(s->v, cap * sizeof *s->v);
            cr_assert_not_null(s->v);
        }
        fent *f = &s->v[s->n++];
        memset(f, 0, sizeof *f);
        snprintf(f->name, sizeof f->name, "%s", e->d_name);
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        cr_assert_eq(lstat(p, &st), 0, "%s: %s", p, strerror(errno));
        f->size = st.st_size;
        f->mtime = st.st_mtim;
        f->ctime = st.st_ctim;
        f->ino = st.st_ino;
        f->mode = st.st_mode;
        uint8_t *data;
        size_t len;
        cr_assert_eq(sc_read_all(p, &data, &len), 0, "read %s", p);
        f->fnv = fnv1a(data, len);
        free(data);
    }
    closedir(d);
    if (s->n) qsort(s->v, s->n, sizeof *s->v, by_fent_name);
}

static void snap_free(dsnap *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int ts_eq(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* 0 if equal, else 1 with the first difference in why. */
static int snap_diff(const dsnap *a, const dsnap *b, char *why, size_t cap)
{
    size_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i].name, b->v[j].name);
        if (c < 0) return snprintf(why, cap, "%s was removed", a->v[i].name), 1;
        if (c > 0) return snprintf(why, cap, "%s was created", b->v[j].name), 1;
        const fent *x = &a->v[i++], *y = &b->v[j++];
        const char *what = x->size != y->size           ? "size"
                           : x->fnv != y->fnv           ? "content"
                           : !ts_eq(x->mtime, y->mtime) ? "mtime"
                           : !ts_eq(x->ctime, y->ctime) ? "ctime"
                           : x->ino != y->ino           ? "inode (replaced)"
                           : x->mode != y->mode         ? "mode"
                                                        : NULL;
        if (what) return snprintf(why, cap, "%s: its %s changed", x->name, what), 1;
    }
    if (!ts_eq(a->mtime, b->mtime) || !ts_eq(a->ctime, b->ctime))
        return snprintf(why, cap, "the directory changed (an entry came and went)"), 1;
    return 0;
}

#define EXPECT_UNCHANGED(before, when)                                                             \
    do {                                                                                           \
        dsnap now_;                                                                                \
        snap_take(g_dir, &now_);                                                                   \
        cr_assert_eq(snap_diff((before), &now_, g_why, sizeof g_why), 0, "%s: %s", (when), g_why); \
        snap_free(&now_);                                                                          \
    } while (0)

static void copy_file(const char *from, const char *to)
{
    uint8_t *d;
    size_t n;
    cr_assert_eq(sc_read_all(from, &d, &n), 0, "read %s", from);
    FILE *f = fopen(to, "wb");
    cr_assert_not_null(f, "%s: %s", to, strerror(errno));
    cr_assert_eq(fwrite(d, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
    free(d);
}

/* Copies the flat directory `from` (a store) to a new directory `to`. */
static void copy_dir(const char *from, const char *to)
{
    cr_assert_eq(mkdir(to, 0755), 0, "mkdir %s: %s", to, strerror(errno));
    DIR *d = opendir(from);
    cr_assert_not_null(d);
    struct dirent *e;
    char a[PATH_MAX], b[PATH_MAX];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(a, sizeof a, "%s/%s", from, e->d_name);
        snprintf(b, sizeof b, "%s/%s", to, e->d_name);
        copy_file(a, b);
    }
    closedir(d);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f, "%s: %s", p, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* ---- stores with pending merges ---- */

/* Two tasks holding both workers of g_env's pool, so that the merges
 * add_batch starts stay queued while it writes the manifest: they are
 * recorded there by their inputs (state 2) whatever the timing. */
static atomic_int g_release, g_started;
static bdbi_future *g_blockers[2];

static int blocker(void *arg, bdbi_future *self)
{
    (void)arg;
    (void)self;
    atomic_fetch_add(&g_started, 1);
    while (!atomic_load(&g_release)) usleep(1000);
    return 0;
}

static void pool_block(void)
{
    atomic_store(&g_release, 0);
    atomic_store(&g_started, 0);
    cr_assert_eq(g_env->threads, 2);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(bdbi_pool_submit(g_env->pool, blocker, NULL, 0, &g_blockers[i]), 0);
    while (atomic_load(&g_started) < 2) usleep(1000);
}

static void pool_unblock(void)
{
    atomic_store(&g_release, 1);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(bdbi_future_wait(g_blockers[i]), 0);
        bdbi_future_release(g_blockers[i]);
    }
}

/* Ledgers 1..ledger, the last one's merges left pending in the manifest. */
static void make_pending_store(const bdb_list_options *o, uint32_t ledger)
{
    bdb_list *l = store_open(o);
    store_replay(l, 1, ledger - 1);
    cr_assert_eq(bdb_list_wait_merges(l), 0, "%s", bdb_errmsg());
    pool_block();
    store_replay(l, ledger, ledger);
    pool_unblock();
    store_close(l);
}

static const char *const g_strays[] = {
    "bucket-abababababababababababababababababababababababababababababababab.xdr",
    "bucket-cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd.index",
    ".tmp-left-by-a-crash",
    "MANIFEST-0000000001",
};
#define N_STRAYS (sizeof g_strays / sizeof *g_strays)

/* Files a normal open removes. */
static void plant_strays(const char *dir)
{
    for (size_t i = 0; i < N_STRAYS; i++) write_file(dir, g_strays[i], "not part of the store\n");
}

/* ---- comparing what two handles read ---- */

typedef struct keyset {
    bdb_bytes *k;
    size_t n, cap;
} keyset;

static void keys_add(keyset *s, const void *key, size_t len)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->k = realloc(s->k, s->cap * sizeof *s->k);
        cr_assert_not_null(s->k);
    }
    void *p = malloc(len);
    cr_assert_not_null(p);
    memcpy(p, key, len);
    s->k[s->n++] = (bdb_bytes){p, len};
}

static void keys_add_entries(keyset *s, const bdb_bytes *e, size_t n)
{
    uint8_t key[4096];
    size_t klen;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(bdb_ledger_entry_key(e[i].data, e[i].len, key, sizeof key, &klen), 0, "%s",
                     bdb_errmsg());
        keys_add(s, key, klen);
    }
}

/* Every key the batches 1..ledger wrote or deleted, live and hot. */
static void keys_collect(uint32_t ledger, keyset *live, keyset *hot)
{
    memset(live, 0, sizeof *live);
    memset(hot, 0, sizeof *hot);
    for (uint32_t i = 1; i <= ledger; i++) {
        const batch *b = B(i);
        keys_add_entries(live, b->init, b->n_init);
        keys_add_entries(live, b->live, b->n_live);
        for (size_t j = 0; j < b->n_dead; j++) keys_add(live, b->dead[j].data, b->dead[j].len);
        keys_add_entries(hot, b->archived, b->n_archived);
        for (size_t j = 0; j < b->n_restored; j++)
            keys_add(hot, b->restored[j].data, b->restored[j].len);
    }
}

static void keys_free(keyset *s)
{
    for (size_t i = 0; i < s->n; i++) free((void *)s->k[i].data);
    free(s->k);
}

static void expect_same_entry(int rc_a, const bdb_list_entry *a, int rc_b, const bdb_list_entry *b,
                              const char *what, size_t i)
{
    cr_assert_eq(rc_a, rc_b, "%s of key %zu: %d read-only, %d normal (%s)", what, i, rc_a, rc_b,
                 bdb_errmsg());
    if (rc_a != 1) return;
    cr_assert(a->len == b->len && !memcmp(a->data, b->data, a->len) && a->type == b->type &&
                  a->level == b->level && a->snap == b->snap,
              "%s of key %zu: read-only and normal handles found different records", what, i);
}

static void expect_same_many(const bdb_list_entry *a, size_t fa, const bdb_list_entry *b, size_t fb,
                             size_t n, const char *what)
{
    cr_assert_eq(fa, fb, "%s: %zu found read-only, %zu normal", what, fa, fb);
    for (size_t i = 0; i < n; i++)
        expect_same_entry(a[i].data != NULL, &a[i], b[i].data != NULL, &b[i], what, i);
}

/* A scan's records, in order. */
typedef struct scanlog {
    struct srec {
        int32_t type;
        uint8_t level, snap;
        size_t len;
        uint64_t fnv;
    } * v;
    size_t n, cap;
} scanlog;

static int log_rec(void *ctx, const bdb_list_entry *e)
{
    scanlog *s = ctx;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) return BDB_ENOMEM;
    }
    s->v[s->n++] = (struct srec){e->type, e->level, e->snap, e->len, fnv1a(e->data, e->len)};
    return 0;
}

static void expect_same_scan(const bdb_list_view *a, const bdb_list_view *b, int type, int live)
{
    scanlog x = {0}, y = {0};
    int ra = live ? bdb_list_scan_live_type(a, type, log_rec, &x)
                  : bdb_list_scan_type(a, type, log_rec, &x);
    int rb = live ? bdb_list_scan_live_type(b, type, log_rec, &y)
                  : bdb_list_scan_type(b, type, log_rec, &y);
    cr_assert(ra == 0 && rb == 0, "scan of type %d: %d, %d (%s)", type, ra, rb, bdb_errmsg());
    cr_assert_eq(x.n, y.n, "scan%s of type %d: %zu records read-only, %zu normal",
                 live ? " (live)" : "", type, x.n, y.n);
    for (size_t i = 0; i < x.n; i++) {
        const struct srec *p = &x.v[i], *q = &y.v[i];
        cr_assert(p->type == q->type && p->level == q->level && p->snap == q->snap &&
                      p->len == q->len && p->fnv == q->fnv,
                  "scan%s of type %d: record %zu differs", live ? " (live)" : "", type, i);
    }
    free(x.v);
    free(y.v);
}

/* The read-only view `a` reads what the normal view `b` reads. */
static void expect_same_reads(const bdb_list_view *a, const bdb_list_view *b, const keyset *live,
                              const keyset *hot)
{
    bdb_list_state sa, sb;
    bdb_list_view_state(a, &sa);
    bdb_list_view_state(b, &sb);
    cr_assert(!memcmp(&sa, &sb, sizeof sa), "the handles are at different states");
    bdb_list_entry ea, eb;
    for (size_t i = 0; i < live->n; i++)
        expect_same_entry(bdb_list_get(a, live->k[i].data, live->k[i].len, &ea), &ea,
                          bdb_list_get(b, live->k[i].data, live->k[i].len, &eb), &eb, "get", i);
    for (size_t i = 0; i < hot->n; i++)
        expect_same_entry(bdb_list_hot_get(a, hot->k[i].data, hot->k[i].len, &ea), &ea,
                          bdb_list_hot_get(b, hot->k[i].data, hot->k[i].len, &eb), &eb, "hot get",
                          i);
    size_t n = live->n > hot->n ? live->n : hot->n, fa, fb;
    bdb_list_entry *va = calloc(n, sizeof *va), *vb = calloc(n, sizeof *vb);
    cr_assert(va && vb);
    cr_assert_eq(bdb_list_get_many(a, live->k, live->n, va, &fa), 0, "%s", bdb_errmsg());
    cr_assert_eq(bdb_list_get_many(b, live->k, live->n, vb, &fb), 0, "%s", bdb_errmsg());
    expect_same_many(va, fa, vb, fb, live->n, "get_many");
    cr_assert_gt(fa, live->n / 10, "only %zu of %zu keys found: a weak comparison", fa, live->n);
    cr_assert_eq(bdb_list_hot_get_many(a, hot->k, hot->n, va, &fa), 0, "%s", bdb_errmsg());
    cr_assert_eq(bdb_list_hot_get_many(b, hot->k, hot->n, vb, &fb), 0, "%s", bdb_errmsg());
    expect_same_many(va, fa, vb, fb, hot->n, "hot_get_many");
    free(va);
    free(vb);
    for (int t = BDB_ACCOUNT; t <= BDB_TTL; t++) {
        expect_same_scan(a, b, t, 0);
        expect_same_scan(a, b, t, 1);
    }
    for (int h = 0; h < 2; h++) {
        bdb_entry_counters ca, cb;
        bdb_list_entry_counters(a, h, &ca);
        bdb_list_entry_counters(b, h, &cb);
        cr_assert(!memcmp(&ca, &cb, sizeof ca), "entry counters (hot %d) differ", h);
    }
}

/* The HAS of the store (with the size query first). Caller frees. */
static char *has_of(bdb_list *l, size_t *len)
{
    size_t need = 0;
    (void)bdb_list_has_json(l, NULL, PASSPHRASE, NULL, 0, &need);
    cr_assert_gt(need, 0, "%s", bdb_errmsg());
    char *buf = malloc(need);
    cr_assert_not_null(buf);
    cr_assert_eq(bdb_list_has_json(l, NULL, PASSPHRASE, buf, need, len), 0, "%s", bdb_errmsg());
    return buf;
}

/* Levels of both lists whose next is in `state` in the HAS. */
static int has_nexts_in_state(const char *json, size_t len, int state)
{
    json_error_t err;
    json_t *root = json_loadb(json, len, 0, &err);
    cr_assert_not_null(root, "HAS: %s", err.text);
    int n = 0;
    const char *lists[2] = {"currentBuckets", "hotArchiveBuckets"};
    for (int k = 0; k < 2; k++) {
        json_t *levels = json_object_get(root, lists[k]), *lv;
        size_t i;
        json_array_foreach(levels, i, lv)
        {
            json_t *s = json_object_get(json_object_get(lv, "next"), "state");
            n += json_integer_value(s) == state;
        }
    }
    json_decref(root);
    return n;
}

/* Index files in `dir`, the stray one aside. */
/* Whether `dir` has an index file that `before` does not (strays aside). */
static int has_new_index_file(const char *dir, const char *before)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    int found = 0;
    char p[PATH_MAX];
    while (!found && (e = readdir(d))) {
        if (!strstr(e->d_name, ".index") || !strcmp(e->d_name, g_strays[1])) continue;
        snprintf(p, sizeof p, "%s/%s", before, e->d_name);
        found = !exists(p);
    }
    closedir(d);
    return found;
}

/* The main check at `ledger`: read-only open, reads and close change
 * nothing, and read what a normal handle on a copy reads. The store is
 * written with exact indexes only; with `cutoff_mb` 0 both handles
 * page-index every file, which the normal one persists. */
static void readonly_leaves_dir_as_is(uint32_t ledger, uint32_t cutoff_mb)
{
    bdb_list_options w = store_opts();
    make_pending_store(&w, ledger);
    plant_strays(g_dir);
    copy_dir(g_dir, g_copy);

    dsnap before;
    snap_take(g_dir, &before);
    bdb_list_options o = ro_opts();
    o.index_cutoff_mb = cutoff_mb;
    bdb_list *ro = store_open(&o);
    EXPECT_UNCHANGED(&before, "after the read-only open");
    store_expect(ro, ledger);

    /* the merges the manifest lists by their inputs stay so: none ran */
    size_t has_len;
    char *has = has_of(ro, &has_len);
    cr_assert_geq(has_nexts_in_state(has, has_len, 2), 3,
                  "the store has no pending merges to restart: the test checks nothing");
    bdb_merge_counters mc;
    memset(&mc, 0, sizeof mc);
    cr_assert_eq(bdb_list_merge_counters(ro, 0, &mc), 0);
    cr_assert_eq(mc.post_shadow_removal_protocol_merges + mc.pre_shadow_removal_protocol_merges, 0,
                 "a read-only handle ran merges");

    /* a normal handle on the copy: it cleans up and restarts merges */
    bdb_list_options n = store_opts();
    n.index_cutoff_mb = cutoff_mb;
    bdb_list *rw = NULL;
    cr_assert_eq(bdb_list_open(g_env, g_copy, &n, &rw), 0, "%s", bdb_errmsg());
    char p[PATH_MAX];
    for (size_t i = 0; i < N_STRAYS; i++) {
        snprintf(p, sizeof p, "%s/%s", g_copy, g_strays[i]);
        cr_assert(!exists(p), "a normal open keeps %s: the stray files test nothing", g_strays[i]);
    }
    /* (hot-archive files are always page-indexed: the writer persisted those) */
    if (cutoff_mb == 0)
        cr_assert(has_new_index_file(g_copy, g_dir), "a normal open wrote no index file");
    keyset live, hot;
    keys_collect(ledger, &live, &hot);
    cr_assert_gt(hot.n, 0);
    bdb_list_view *va = bdb_list_view_acquire(ro), *vb = bdb_list_view_acquire(rw);
    cr_assert(va && vb);
    expect_same_reads(va, vb, &live, &hot);
    bdb_list_read_stats rs;
    bdb_list_read_stats_get(va, &rs);
    if (cutoff_mb == 0)
        cr_assert(rs.files_paged > 0 && rs.files_exact == 0, "%llu paged, %llu exact",
                  (unsigned long long)rs.files_paged, (unsigned long long)rs.files_exact);
    bdb_list_view_release(va);
    bdb_list_view_release(vb);
    EXPECT_UNCHANGED(&before, "after reads");

    /* its HAS restarts the merges the normal handle restarted: once both
     * have finished, the two HAS (now naming outputs) are the same */
    bdb_list *as = NULL;
    cr_assert_eq(bdb_list_assume_state(g_env, g_assumed, &n, has, has_len, g_copy, &as), 0, "%s",
                 bdb_errmsg());
    bdb_list_state s1, s2;
    cr_assert_eq(bdb_list_state_get(as, &s1), 0);
    cr_assert_eq(bdb_list_state_get(ro, &s2), 0);
    cr_assert(!memcmp(s1.header_hash, s2.header_hash, 32) && s1.ledger == s2.ledger,
              "the read-only handle's HAS assumes to another state");
    cr_assert_eq(bdb_list_wait_merges(as), 0, "%s", bdb_errmsg());
    cr_assert_eq(bdb_list_wait_merges(rw), 0, "%s", bdb_errmsg());
    size_t la, lb;
    char *ha = has_of(as, &la), *hb = has_of(rw, &lb);
    cr_assert_eq(has_nexts_in_state(hb, lb, 2), 0);
    cr_assert(la == lb && !memcmp(ha, hb, la), "restarted merges differ:\n%s\n%s", ha, hb);
    free(ha);
    free(hb);
    free(has);
    store_close(as);
    store_close(rw);

    store_close(ro);
    EXPECT_UNCHANGED(&before, "after close");
    /* and again, alone in the environment */
    ro = store_open(&o);
    store_expect(ro, ledger);
    store_close(ro);
    EXPECT_UNCHANGED(&before, "after a second read-only open and close");
    snap_free(&before);
    keys_free(&live);
    keys_free(&hot);
    store_env_close();
}

Test(store_readonly, pending_merges_and_strays_left_as_is_exact_indexes)
{
    readonly_leaves_dir_as_is(V_LAST, 20);
}

Test(store_readonly, pending_merges_and_strays_left_as_is_page_indexes)
{
    readonly_leaves_dir_as_is(V_LAST, 0);
}

/* Valid index files of a normal open are used, invalid ones rebuilt in
 * memory only: either way nothing is written and the reads agree. */
Test(store_readonly, persisted_index_files_used_or_rebuilt_in_memory)
{
    bdb_list_options w = store_opts();
    w.index_cutoff_mb = 0;
    make_pending_store(&w, 640);
    bdb_list *l = store_open(&w); /* writes the index files */
    store_close(l);
    DIR *d = opendir(g_dir);
    struct dirent *e;
    char victim[PATH_MAX] = "";
    int n_index = 0;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".index")) {
            if (!n_index++) snprintf(victim, sizeof victim, "%s/%s", g_dir, e->d_name);
        }
    closedir(d);
    cr_assert_gt(n_index, 3, "a normal open wrote %d index files", n_index);
    write_file(g_dir, strrchr(victim, '/') + 1, "damaged");
    copy_dir(g_dir, g_copy);
    dsnap before;
    snap_take(g_dir, &before);
    bdb_list_options o = ro_opts();
    o.index_cutoff_mb = 0;
    keyset live, hot;
    keys_collect(640, &live, &hot);
    bdb_list *ro = store_open(&o);
    w.persist_index = 0; /* the reference builds every index from its file */
    bdb_list *rw = NULL;
    cr_assert_eq(bdb_list_open(g_env, g_copy, &w, &rw), 0, "%s", bdb_errmsg());
    bdb_list_view *va = bdb_list_view_acquire(ro), *vb = bdb_list_view_acquire(rw);
    expect_same_reads(va, vb, &live, &hot);
    bdb_list_view_release(va);
    bdb_list_view_release(vb);
    store_close(rw);
    store_close(ro);
    EXPECT_UNCHANGED(&before, "after a read-only open with index files");
    snap_free(&before);
    keys_free(&live);
    keys_free(&hot);
    store_env_close();
}

/* ---- refused calls ---- */

static void expect_refused(int rc, const char *call)
{
    cr_assert_eq(rc, BDB_EINVAL, "%s on a read-only handle returned %d (%s)", call, rc,
                 rc ? bdb_errmsg() : "success");
    cr_assert(strstr(bdb_errmsg(), "read-only"), "%s: the message does not say read-only: %s", call,
              bdb_errmsg());
}

Test(store_readonly, mutating_calls_refused_and_change_nothing)
{
    bdb_list_options w = store_opts();
    make_pending_store(&w, V_LAST);
    dsnap before;
    snap_take(g_dir, &before);
    bdb_list_options o = ro_opts();
    bdb_list *ro = store_open(&o);
    size_t len0;
    char *has0 = has_of(ro, &len0);

    const batch *b = B(V_LAST);
    expect_refused(bdb_list_add_hot_batch(ro, V_LAST + 1, b->protocol, b->archived, b->n_archived,
                                          b->restored, b->n_restored),
                   "bdb_list_add_hot_batch");
    expect_refused(bdb_list_add_batch(ro, V_LAST + 1, b->protocol, b->init, b->n_init, b->live,
                                      b->n_live, b->dead, b->n_dead),
                   "bdb_list_add_batch");
    /* an invalid batch too: the refusal comes first */
    expect_refused(bdb_list_add_batch(ro, 7, 1, NULL, 0, NULL, 0, NULL, 0), "bdb_list_add_batch");
    expect_refused(bdb_list_wait_merges(ro), "bdb_list_wait_merges");
    char archive[PATH_MAX];
    snprintf(archive, sizeof archive, "%s.archive", g_dir);
    bdb_publish_options po;
    bdb_publish_options_init(&po);
    po.network_passphrase = PASSPHRASE;
    po.fsync = 0;
    expect_refused(bdb_archive_publish(ro, archive, &po), "bdb_archive_publish");
    cr_assert(!exists(archive), "a refused publish created %s", archive);

    /* the handle is as it was and still reads */
    store_expect(ro, V_LAST);
    size_t len1;
    char *has1 = has_of(ro, &len1);
    cr_assert(len0 == len1 && !memcmp(has0, has1, len0), "the HAS changed");
    free(has0);
    free(has1);
    bdb_list_view *v = bdb_list_view_acquire(ro);
    cr_assert_not_null(v);
    uint8_t key[4096];
    size_t klen;
    cr_assert_eq(bdb_ledger_entry_key(b->live[0].data, b->live[0].len, key, sizeof key, &klen), 0);
    bdb_list_entry e;
    cr_assert_eq(bdb_list_get(v, key, klen, &e), 1, "%s", bdb_errmsg());
    cr_assert(e.len == b->live[0].len && !memcmp(e.data, b->live[0].data, e.len));
    bdb_list_view_release(v);
    store_close(ro);
    EXPECT_UNCHANGED(&before, "after refused calls");

    /* creating a store read-only makes no sense: refused, nothing made */
    size_t hl;
    ro = store_open(&o);
    char *has = has_of(ro, &hl);
    store_close(ro);
    bdb_list *l = (bdb_list *)1;
    expect_refused(bdb_list_assume_state(g_env, g_assumed, &o, has, hl, g_dir, &l),
                   "bdb_list_assume_state");
    cr_assert_null(l);
    cr_assert(!exists(g_assumed), "a refused assume_state created %s", g_assumed);
    free(has);
    bdb_archive_options ao;
    bdb_archive_options_init(&ao);
    ao.root = archive;
    char work[PATH_MAX];
    snprintf(work, sizeof work, "%s.import", g_dir);
    ao.work_dir = work;
    l = (bdb_list *)1;
    expect_refused(bdb_archive_import(g_env, &ao, 0, g_assumed, &o, &l), "bdb_archive_import");
    cr_assert_null(l);
    cr_assert(!exists(g_assumed) && !exists(work), "a refused import created directories");
    EXPECT_UNCHANGED(&before, "at the end");
    snap_free(&before);
    store_env_close();
}

Test(store_readonly, bad_options_and_no_store)
{
    bdb_list_options o = ro_opts();
    o.read_only = 2;
    bdb_list *l = (bdb_list *)1;
    cr_assert_eq(bdb_list_open(g_env, g_dir, &o, &l), BDB_EINVAL);
    cr_assert_null(l);
    cr_assert(strstr(bdb_errmsg(), "read_only"), "%s", bdb_errmsg());
    /* an empty directory: no store, and create is ignored */
    o = ro_opts();
    o.create = 1;
    dsnap before;
    snap_take(g_dir, &before);
    cr_assert_eq(bdb_list_open(g_env, g_dir, &o, &l), BDB_ENOTFOUND, "%s", bdb_errmsg());
    cr_assert_null(l);
    EXPECT_UNCHANGED(&before, "read-only open of an empty directory");
    cr_assert_eq(before.n, 0, "the directory was not empty");
    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/not/there", g_dir);
    cr_assert_eq(bdb_list_open(g_env, missing, &o, &l), BDB_ENOTFOUND, "%s", bdb_errmsg());
    cr_assert(!exists(missing));
    EXPECT_UNCHANGED(&before, "read-only open of a missing directory");
    snap_free(&before);
    store_env_close();
}

/* ---- damaged stores ---- */

/* A read-only open fails with BDB_ECORRUPT naming `file`, and changes
 * nothing. */
static void expect_corrupt_ro_open(const char *file)
{
    dsnap before;
    snap_take(g_dir, &before);
    bdb_list_options o = ro_opts();
    expect_corrupt_open(&o, file);
    EXPECT_UNCHANGED(&before, "after a failed read-only open");
    snap_free(&before);
}

Test(store_readonly, missing_or_corrupt_files_named)
{
    bdb_list_options w = store_opts();
    make_pending_store(&w, 600);
    char paths[1][STORE_PATH_MAX], saved[PATH_MAX];
    snprintf(saved, sizeof saved, "%s.copy", g_dir); /* a file; the fixture removes it */
    /* a missing bucket: the deepest curr */
    const uint8_t *h = NULL;
    static const uint8_t zero[32];
    for (int i = BDB_LIST_LEVELS - 1; i >= 0 && !h; i--)
        if (memcmp(B(600)->curr[i], zero, 32)) h = B(600)->curr[i];
    cr_assert_eq(store_bucket_files(g_dir, h, paths, 1), 1);
    copy_file(paths[0], saved);
    cr_assert_eq(unlink(paths[0]), 0);
    expect_corrupt_ro_open(paths[0]);
    /* truncated, by a byte and to nothing */
    struct stat st;
    cr_assert_eq(stat(saved, &st), 0);
    copy_file(saved, paths[0]);
    cr_assert_eq(truncate(paths[0], st.st_size - 1), 0);
    expect_corrupt_ro_open(paths[0]);
    cr_assert_eq(truncate(paths[0], 0), 0);
    expect_corrupt_ro_open(paths[0]);
    copy_file(saved, paths[0]);
    /* the same size, one bit flipped inside an entry (level 0's curr,
     * as test_store_restart's H17 test) */
    cr_assert_eq(store_bucket_files(g_dir, B(600)->curr[0], paths, 1), 1);
    tf_flip_byte(paths[0], 200);
    expect_corrupt_ro_open(paths[0]);
    tf_flip_byte(paths[0], 200);
    /* with every file whole again it opens */
    bdb_list_options o = ro_opts();
    bdb_list *l = store_open(&o);
    store_expect(l, 600);
    store_close(l);
    /* a corrupt manifest */
    int count;
    uint32_t m = sc_newest_manifest(g_dir, &count);
    char mpath[PATH_MAX];
    snprintf(mpath, sizeof mpath, "%s/MANIFEST-%010u", g_dir, m);
    tf_flip_byte(mpath, 30);
    expect_corrupt_ro_open(mpath);
    store_env_close();
}

/* ---- locking ---- */

/* store_holder (tests/list/store_holder.c, beside this program) holding
 * g_dir open in another process. */
typedef struct holder {
    pid_t pid;
    int to, from; /* its stdin, its stdout */
    int rc;       /* its open's result */
    char msg[512];
} holder;

static void holder_start(holder *h, const char *mode)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 32);
    cr_assert_gt(n, 0);
    exe[n] = 0;
    strcpy(strrchr(exe, '/') + 1, "store_holder");
    int in[2], out[2];
    cr_assert_eq(pipe(in), 0);
    cr_assert_eq(pipe(out), 0);
    h->pid = fork();
    cr_assert_geq(h->pid, 0, "fork: %s", strerror(errno));
    if (h->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execl(exe, exe, g_dir, mode, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    h->to = in[1];
    h->from = out[0];
    char line[600];
    size_t got = 0;
    while (got < sizeof line - 1) {
        ssize_t r = read(h->from, line + got, 1);
        if (r <= 0 || line[got] == '\n') break;
        got++;
    }
    line[got] = 0;
    cr_assert(sscanf(line, "%d %511[^\n]", &h->rc, h->msg) == 2, "%s said '%s'", exe, line);
}

static void holder_stop(holder *h)
{
    close(h->to);
    int status;
    cr_assert_eq(waitpid(h->pid, &status, 0), h->pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "store_holder status %#x", status);
    close(h->from);
}

static void expect_locked(int rc, const char *what, const char *needle)
{
    cr_assert_eq(rc, BDB_ELOCKED, "%s: %d (%s)", what, rc, rc ? bdb_errmsg() : "success");
    cr_assert(strstr(bdb_errmsg(), needle), "%s: '%s' not in '%s'", what, needle, bdb_errmsg());
}

Test(store_readonly, locking_in_one_process)
{
    bdb_list_options w = store_opts(), o = ro_opts();
    make_pending_store(&w, 100);
    char pid[32];
    snprintf(pid, sizeof pid, "process %ld", (long)getpid());
    /* a writer keeps read-only handles out */
    bdb_list *rw = store_open(&w), *l = (bdb_list *)1;
    expect_locked(bdb_list_open(g_env, g_dir, &o, &l), "read-only open beside a writer", pid);
    cr_assert_null(l);
    store_close(rw);
    /* read-only handles share the store and keep writers out */
    bdb_list *r1 = store_open(&o), *r2 = store_open(&o);
    expect_locked(bdb_list_open(g_env, g_dir, &w, &l), "writable open beside readers", "read-only");
    cr_assert_null(l);
    store_close(r1);
    expect_locked(bdb_list_open(g_env, g_dir, &w, &l), "writable open beside a reader",
                  "read-only");
    store_expect(r2, 100);
    store_close(r2);
    rw = store_open(&w);
    store_replay(rw, 101, 110);
    store_close(rw);
    store_env_close();
}

Test(store_readonly, locking_across_processes)
{
    bdb_list_options w = store_opts(), o = ro_opts();
    make_pending_store(&w, 100);
    bdb_list *l = (bdb_list *)1;
    char pid[32];
    /* another process's writer */
    holder h;
    holder_start(&h, "rw");
    cr_assert_eq(h.rc, 0, "writer: %s", h.msg);
    snprintf(pid, sizeof pid, "process %ld", (long)h.pid);
    expect_locked(bdb_list_open(g_env, g_dir, &o, &l), "read-only open beside a process's writer",
                  pid);
    cr_assert_null(l);
    holder_stop(&h);
    /* another process's reader: we read too, but cannot write */
    holder_start(&h, "ro");
    cr_assert_eq(h.rc, 0, "reader: %s", h.msg);
    l = store_open(&o);
    store_expect(l, 100);
    bdb_list *rw = (bdb_list *)1;
    expect_locked(bdb_list_open(g_env, g_dir, &w, &rw), "writable open beside a process's reader",
                  "read-only");
    cr_assert_null(rw);
    holder_stop(&h);
    /* our reader keeps another process's writer out, not its reader */
    holder_start(&h, "rw");
    cr_assert_eq(h.rc, BDB_ELOCKED, "a writer opened beside our reader: %d %s", h.rc, h.msg);
    cr_assert(strstr(h.msg, "read-only"), "%s", h.msg);
    holder_stop(&h);
    holder_start(&h, "ro");
    cr_assert_eq(h.rc, 0, "a second reader: %s", h.msg);
    holder_stop(&h);
    store_close(l);
    holder_start(&h, "rw");
    cr_assert_eq(h.rc, 0, "writer after the readers closed: %s", h.msg);
    holder_stop(&h);
    store_env_close();
}

/* A store copied without its lock file opens read-only without one. */
Test(store_readonly, no_lock_file)
{
    bdb_list_options w = store_opts(), o = ro_opts();
    make_pending_store(&w, 100);
    char lock[PATH_MAX];
    snprintf(lock, sizeof lock, "%s/bucketdb.lock", g_dir);
    cr_assert_eq(unlink(lock), 0);
    dsnap before;
    snap_take(g_dir, &before);
    bdb_list *l = store_open(&o);
    store_expect(l, 100);
    store_close(l);
    EXPECT_UNCHANGED(&before, "read-only open without a lock file");
    cr_assert(!exists(lock));
    snap_free(&before);
    store_env_close();
}
