/* Import of a checkpoint from a history archive (spec §6.5): the HAS,
 * then every bucket it names fetched (by the get command; read in place
 * from a local root) and ingested in one pass each on the environment's
 * pool, the largest first, into verified files of a work directory that
 * survives a failed attempt; then adopted and assumeState. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bucketdb/archive.h"
#include "bucketdb/bucket.h"

#include "archive/has.h"
#include "core/env.h"
#include "core/pool.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/fs.h"
#include "archive/fetch.h"
#include "store.h"

#define MAX_PARALLEL 64
#define HAS_NAME     "has.json"
/* Most buckets a HAS can name: two lists of 11 levels with curr, snap, a
 * next's curr and snap and up to 22 shadows each. */
#define MAX_HASHES (2 * BDBI_HAS_LEVELS * (4 + 2 * BDBI_HAS_LEVELS))

/* ---- the buckets a HAS names ---- */

typedef struct item {
    uint8_t hash[32];
    int hot;
    uint64_t size; /* compressed bytes when known: larger goes first */
    char remote[BDB_ARCHIVE_PATH_MAX];
    char src[PATH_MAX];  /* what the ingest reads */
    char done[PATH_MAX]; /* work/bucket-<hex>.xdr: verified, canonical */
    int reuse;           /* done exists: verified by an earlier attempt */
    int fetched;         /* src is a download in the work directory */
    bdbi_written w;      /* the ingest's result, until adopted */
    uint32_t protocol;
    bdbi_ingest_cost cost;
    bdbi_future *fut;
    struct job *job;
    bdbi_err_saved err; /* err.code 0: no error */
} item;

typedef struct hashes {
    uint8_t h[MAX_HASHES][32];
    uint8_t hot[MAX_HASHES];
    size_t n;
} hashes;

static const uint8_t zero[32];

static void add(hashes *v, const uint8_t h[32], int hot)
{
    if (!memcmp(h, zero, 32)) return;
    for (size_t i = 0; i < v->n; i++)
        if (!memcmp(v->h[i], h, 32)) return;
    memcpy(v->h[v->n], h, 32);
    v->hot[v->n++] = (uint8_t)hot;
}

/* stellar-core's differingBuckets order: deepest level first, snap before
 * curr, then what the nexts name; the live list, then the hot archive.
 * Deep buckets are the large ones, so this is also largest first when
 * sizes are not known before fetching. Shadows are live buckets. */
static void collect(const bdbi_has *h, hashes *v)
{
    v->n = 0;
    for (int hot = 0; hot <= (h->version >= 2); hot++) {
        const bdbi_has_level *lv = hot ? h->hot_archive_buckets : h->current_buckets;
        for (int i = BDBI_HAS_LEVELS - 1; i >= 0; i--) {
            add(v, lv[i].snap, hot);
            add(v, lv[i].curr, hot);
        }
        for (int i = 0; i < BDBI_HAS_LEVELS; i++) {
            const bdbi_has_next *nx = &lv[i].next;
            if (nx->state == BDBI_FB_OUTPUT) add(v, nx->output, hot);
            if (nx->state != BDBI_FB_INPUTS) continue;
            add(v, nx->curr, hot);
            add(v, nx->snap, hot);
            for (size_t s = 0; s < nx->n_shadows; s++) add(v, nx->shadows[s], 0);
        }
    }
}

/* ---- fetch and ingest ---- */

typedef struct job {
    bdb_env *env;
    bdb_list *l;
    const bdb_archive_options *opts;
    const char *work;
    item *items;
    size_t n;
    atomic_size_t next_fetch, fetched, ingested;
    struct timespec fetch_end; /* written by the fetcher that finishes last */
} job;

static int exists(const char *path, uint64_t *size)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    if (size) *size = (uint64_t)st.st_size;
    return 1;
}

static void keep_error(item *it, int rc)
{
    bdbi_err_save(&it->err);
    if (!it->err.code) it->err.code = rc;
}

/* One bucket, on a worker of the pool: one pass over the download (or
 * the archive's file) that writes work/bucket-<hex>.xdr, which gets that
 * name only once the hash matched; or, for a file verified by an earlier
 * attempt, one pass that indexes it again. */
static int ingest_task(void *arg, bdbi_future *self)
{
    (void)self;
    item *it = arg;
    job *j = it->job;
    bdb_clear_error();
    int rc;
    if (it->reuse) {
        rc = bdbi_lbucket_ingest(j->l, it->done, it->hot, it->hash, NULL, &it->w, &it->protocol,
                                 &it->cost);
    } else {
        rc = bdbi_lbucket_ingest(j->l, it->src, it->hot, it->hash, it->done, &it->w, &it->protocol,
                                 &it->cost);
        if (!rc) {
            rc = bdbi_file_commit(it->w.file);
            it->w.file = NULL;
            it->w.src = it->done;
            if (rc) bdbi_ingested_free(j->l, &it->w);
        }
        /* a download that was not this bucket is fetched again next time */
        if (it->fetched && (!rc || rc == BDB_ECORRUPT || rc == BDB_EFORMAT))
            (void)bdbi_fs_unlink(j->env, it->src);
    }
    if (rc) keep_error(it, rc);
    size_t d = atomic_fetch_add(&j->ingested, 1) + 1;
    if (j->opts->progress) j->opts->progress(j->opts->progress_ctx, "verify", d, j->n);
    return rc;
}

/* Larger first among queued ingests: the pool runs earlier deadlines
 * first. */
static uint64_t deadline_of(const item *it)
{
    return ((uint64_t)1 << 62) - (it->size < ((uint64_t)1 << 61) ? it->size : ((uint64_t)1 << 61));
}

static void submit(job *j, item *it)
{
    if (bdbi_pool_submit(j->env->pool, ingest_task, it, deadline_of(it), &it->fut) != 0) {
        it->fut = NULL;
        (void)ingest_task(it, NULL); /* the pool refuses: do it here */
    }
}

static void *fetcher(void *arg)
{
    job *j = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next_fetch, 1);
        if (i >= j->n) break;
        item *it = &j->items[i];
        if (!it->reuse && !exists(it->src, &it->size)) {
            bdb_clear_error();
            int rc = bdbi_fetch(j->env, j->opts, it->remote, it->src);
            if (rc) keep_error(it, rc);
            if (!rc) (void)exists(it->src, &it->size);
        }
        size_t d = atomic_fetch_add(&j->fetched, 1) + 1;
        if (j->opts->progress) j->opts->progress(j->opts->progress_ctx, "fetch", d, j->n);
        if (d == j->n) clock_gettime(CLOCK_MONOTONIC, &j->fetch_end);
        if (!it->err.code) submit(j, it);
    }
    return NULL;
}

static int by_size_desc(const void *a, const void *b)
{
    const item *x = a, *y = b;
    return (x->size < y->size) - (x->size > y->size);
}

/* Waits for the item's ingest; its error code (0: it succeeded). */
static int wait_item(item *it)
{
    if (!it->fut) return it->err.code;
    int rc = bdbi_future_wait(it->fut);
    bdbi_future_release(it->fut);
    it->fut = NULL;
    if (rc && !it->err.code) /* never ran (the environment is closing) */
        keep_error(it, bdbi_err(rc, "the import of %s was canceled", it->remote));
    return it->err.code;
}

/* Fetches what is missing and ingests everything. With a get command,
 * `parallel` threads fetch (the command's time is mostly waiting) and hand
 * each download to the pool; from a local root nothing is copied: the pool
 * reads the archive's files, the largest first. */
static int fetch_and_ingest(job *j)
{
    const bdb_archive_options *o = j->opts;
    for (size_t i = 0; i < j->n; i++) {
        item *it = &j->items[i];
        it->job = j;
        char name[BDB_BUCKET_NAME_LEN];
        bdb_bucket_name(it->hash, name);
        bdb_archive_bucket_path(it->hash, it->remote);
        if ((size_t)snprintf(it->done, sizeof it->done, "%s/%s", j->work, name) >= sizeof it->done)
            return bdbi_err(BDB_EINVAL, "work directory path too long: %s", j->work);
        it->reuse = exists(it->done, &it->size);
        int n = o->get ? snprintf(it->src, sizeof it->src, "%s/%s.gz", j->work, name)
                       : snprintf(it->src, sizeof it->src, "%s/%s", o->root, it->remote);
        if ((size_t)n >= sizeof it->src)
            return bdbi_err(BDB_EINVAL, "path too long: %s", o->get ? j->work : o->root);
        it->fetched = o->get != NULL;
        if (!o->get && !it->reuse && !exists(it->src, &it->size))
            keep_error(
                it, bdbi_err_at(BDB_ENOTFOUND, it->src, -1, "the archive has no %s", it->remote));
    }
    if (!o->get) {
        qsort(j->items, j->n, sizeof *j->items, by_size_desc);
        for (size_t i = 0; i < j->n; i++)
            if (!j->items[i].err.code) submit(j, &j->items[i]);
    } else {
        uint32_t k = o->parallel ? o->parallel : 1;
        if (k > MAX_PARALLEL) k = MAX_PARALLEL;
        if (k > j->n) k = (uint32_t)j->n;
        pthread_t th[MAX_PARALLEL];
        uint32_t started = 0;
        for (; started < k; started++)
            if (pthread_create(&th[started], NULL, fetcher, j)) break;
        if (!started) fetcher(j); /* no thread could start: do it here */
        for (uint32_t t = 0; t < started; t++) pthread_join(th[t], NULL);
    }
    item *failed = NULL;
    for (size_t i = 0; i < j->n; i++)
        if (wait_item(&j->items[i]) && !failed) failed = &j->items[i];
    return failed ? bdbi_err_restore(&failed->err) : 0;
}

/* ---- the import ---- */

/* Removes the files of `dir` that `ours` names, then the directory (left
 * if anything else is in it). */
static void remove_ours(bdb_env *env, const char *dir, int (*ours)(const char *name))
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[PATH_MAX];
    while ((e = readdir(d)) != NULL)
        if (ours(e->d_name) && (size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < sizeof p)
            (void)bdbi_fs_unlink(env, p);
    closedir(d);
    (void)rmdir(dir);
}

/* What an import leaves in its work directory. */
static int work_file(const char *n)
{
    size_t len = strlen(n);
    return !strcmp(n, HAS_NAME) || bdbi_fs_is_tmp_name(n) ||
           (!strncmp(n, "bucket-", 7) && ((len > 4 && !strcmp(n + len - 4, ".xdr")) ||
                                          (len > 7 && !strcmp(n + len - 7, ".xdr.gz"))));
}

/* The checkpoint's HAS in work/has.json: the one an earlier attempt
 * fetched when it is the checkpoint asked for, else fetched now. */
static int get_has(bdb_env *env, const bdb_archive_options *opts, const char *work, uint32_t ledger,
                   char **json, size_t *len, bdbi_has *h)
{
    char path[PATH_MAX], remote[BDB_ARCHIVE_PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", work, HAS_NAME) >= sizeof path)
        return bdbi_err(BDB_EINVAL, "work directory path too long: %s", work);
    if (ledger)
        bdb_archive_has_path(ledger, remote);
    else
        snprintf(remote, sizeof remote, "%s", BDB_ARCHIVE_WELL_KNOWN);
    for (int pass = 0; pass < 2; pass++) {
        int have = exists(path, NULL);
        if (pass == 1 || !have) {
            int rc = bdbi_fetch(env, opts, remote, path);
            if (rc) return rc;
        }
        void *buf;
        int rc = bdbi_fs_read_file(env, BDB_MEM_ARCHIVE, path, BDBI_HAS_MAX_BYTES, &buf, len);
        if (rc) return rc;
        rc = bdbi_has_parse(env, buf, *len, h);
        int fits = !rc && (!ledger || h->current_ledger == ledger);
        if (fits && bdb_archive_is_checkpoint(h->current_ledger)) {
            *json = buf;
            return 0;
        }
        if (!rc) bdbi_has_free(env, h);
        bdbi_free(env, BDB_MEM_ARCHIVE, buf, *len ? *len : 1);
        if (pass == 0 && have) continue; /* a stale or damaged copy: fetch it again */
        if (rc)
            return bdbi_err_at(rc, remote, -1, "the archive's HAS does not parse: %s",
                               bdb_errmsg());
        return bdbi_err_at(BDB_EFORMAT, remote, -1, "the HAS is of ledger %u, not %s%u",
                           h->current_ledger, ledger ? "" : "a checkpoint like ",
                           ledger ? ledger : 63u);
    }
    return BDB_EINTERNAL;
}

/* What the store's open and the adoption leave in a store directory (the
 * lock file, bucket files and their indexes, temporary files): after a
 * failed import into a directory it created, these go with it. */
static int new_store_file(const char *n)
{
    return !strcmp(n, "bucketdb.lock") || !strncmp(n, "bucket-", 7) || !strncmp(n, "MANIFEST", 8) ||
           bdbi_fs_is_tmp_name(n);
}

static double since(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void fill_stats(const job *j, const struct timespec t[4], bdb_import_stats *st)
{
    memset(st, 0, sizeof *st);
    st->wall_s = since(&t[0], &t[3]);
    st->fetch_s = j->opts->get && j->n ? since(&t[1], &j->fetch_end) : 0;
    st->buckets_s = since(&t[1], &t[2]);
    st->adopt_s = since(&t[2], &t[3]);
    for (size_t i = 0; i < j->n; i++) {
        const item *it = &j->items[i];
        st->inflate_cpu_s += (double)it->cost.inflate / 1e9;
        st->sha_cpu_s += (double)it->cost.sha / 1e9;
        st->check_index_cpu_s += (double)it->cost.check_index / 1e9;
        st->write_cpu_s += (double)it->cost.write / 1e9;
        st->buckets++;
        st->buckets_reused += (uint64_t)it->reuse;
        st->bytes += it->w.size;
        st->records += it->w.records;
        if (!it->reuse) st->bytes_compressed += it->size;
    }
}

BDB_API int bdb_archive_import(bdb_env *env, const bdb_archive_options *opts, uint32_t ledger,
                               const char *dir, const bdb_list_options *list_opts, bdb_list **out)
{
    if (out) *out = NULL;
    if (!env || !opts || !dir || !out) return bdbi_err(BDB_EINVAL, "bdb_archive_import: NULL");
    if (list_opts && list_opts->read_only)
        return bdbi_err(BDB_EINVAL,
                        "option read_only: an import creates the store %s, which a read-only "
                        "open cannot do",
                        dir);
    if (!opts->get && !opts->root)
        return bdbi_err(BDB_EINVAL, "archive options: neither a get command nor a root");
    if (ledger && !bdb_archive_is_checkpoint(ledger))
        return bdbi_err(BDB_EINVAL,
                        "ledger %u is not a checkpoint (checkpoints are 64k - 1: %u and %u are "
                        "the nearest)",
                        ledger, ledger < 64 ? 63 : (ledger + 1) / 64 * 64 - 1,
                        (ledger + 1) / 64 * 64 + 63);
    struct timespec t[4];
    clock_gettime(CLOCK_MONOTONIC, &t[0]);
    char work[PATH_MAX];
    if ((size_t)snprintf(work, sizeof work, "%s", opts->work_dir ? opts->work_dir : dir) >=
        sizeof work - 8)
        return bdbi_err(BDB_EINVAL, "path too long: %s", dir);
    if (!opts->work_dir) strcat(work, ".import");
    int rc = bdbi_fs_mkdirs(env, work);
    if (rc) return rc;
    char *json = NULL;
    size_t len = 0;
    bdbi_has h;
    if ((rc = get_has(env, opts, work, ledger, &json, &len, &h)) != 0) return rc;
    hashes *hs = bdbi_calloc(env, BDB_MEM_ARCHIVE, 1, sizeof *hs);
    job j = {.env = env, .opts = opts, .work = work};
    bdb_list *l = NULL;
    if (!hs) rc = BDB_ENOMEM;
    if (!rc) {
        collect(&h, hs);
        j.n = hs->n;
        j.items = bdbi_calloc(env, BDB_MEM_ARCHIVE, j.n ? j.n : 1, sizeof *j.items);
        if (!j.items) rc = BDB_ENOMEM;
    }
    for (size_t i = 0; !rc && i < j.n; i++) {
        memcpy(j.items[i].hash, hs->h[i], 32);
        j.items[i].hot = hs->hot[i];
    }
    /* the store first: its shard bounds and index settings shape the pass */
    struct stat dst;
    int created = stat(dir, &dst) != 0;
    if (!rc) rc = bdb_list_open(env, dir, list_opts, &l);
    if (!rc && l->ledger)
        rc = bdbi_err_at(BDB_EEXIST, dir, -1, "the store already holds ledger %u", l->ledger);
    j.l = l;
    clock_gettime(CLOCK_MONOTONIC, &t[1]);
    if (!rc) rc = fetch_and_ingest(&j);
    clock_gettime(CLOCK_MONOTONIC, &t[2]);
    if (!rc && opts->progress) opts->progress(opts->progress_ctx, "import", 0, 1);
    /* adopt: each verified file is linked into the store and registered */
    bdbi_lbucket **adopted = NULL;
    if (!rc && !(adopted = bdbi_calloc(env, BDB_MEM_ARCHIVE, j.n ? j.n : 1, sizeof *adopted)))
        rc = BDB_ENOMEM;
    for (size_t i = 0; !rc && i < j.n; i++) {
        item *it = &j.items[i];
        rc = bdbi_lbucket_adopt(l, it->hot, it->protocol, it->hash, &it->w, 1, 0, &adopted[i]);
        it->w.index = NULL; /* adopt took it, or freed it */
    }
    if (!rc) rc = bdbi_list_assume(l, &h, NULL);
    for (size_t i = 0; adopted && i < j.n; i++) bdbi_lbucket_unref(l, adopted[i]);
    if (adopted) bdbi_free(env, BDB_MEM_ARCHIVE, adopted, (j.n ? j.n : 1) * sizeof *adopted);
    clock_gettime(CLOCK_MONOTONIC, &t[3]);
    if (!rc && opts->progress) opts->progress(opts->progress_ctx, "import", 1, 1);
    if (opts->stats && j.items) fill_stats(&j, t, opts->stats);
    for (size_t i = 0; j.items && i < j.n; i++) bdbi_ingested_free(l, &j.items[i].w);
    bdbi_has_free(env, &h);
    bdbi_free(env, BDB_MEM_ARCHIVE, json, len ? len : 1);
    if (j.items) bdbi_free(env, BDB_MEM_ARCHIVE, j.items, (j.n ? j.n : 1) * sizeof *j.items);
    if (hs) bdbi_free(env, BDB_MEM_ARCHIVE, hs, sizeof *hs);
    if (rc) {
        if (l) {
            /* keep the error of the import, not of the cleanup */
            bdbi_err_saved e;
            bdbi_err_save(&e);
            (void)bdb_list_close(l);
            if (created) remove_ours(env, dir, new_store_file);
            rc = bdbi_err_restore(&e);
        }
        return rc;
    }
    remove_ours(env, work, work_file);
    *out = l;
    return 0;
}
