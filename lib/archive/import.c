/* Import of a checkpoint from a history archive (spec §6.5): the HAS,
 * every bucket it names fetched and verified in parallel into a work
 * directory that survives a failed attempt, then assumeState. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bucketdb/archive.h"
#include "bucketdb/bucket.h"

#include "archive/has.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/fs.h"
#include "fetch.h"

#define MAX_PARALLEL 64
#define HAS_NAME     "has.json"

BDB_API void bdb_archive_options_init(bdb_archive_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->parallel = 4;
    opts->retries = 2;
}

BDB_API int bdb_archive_is_checkpoint(uint32_t ledger)
{
    return (ledger + 1) % BDB_ARCHIVE_CHECKPOINT_FREQ == 0;
}

BDB_API void bdb_archive_has_path(uint32_t ledger, char out[BDB_ARCHIVE_PATH_MAX])
{
    snprintf(out, BDB_ARCHIVE_PATH_MAX, "history/%02x/%02x/%02x/history-%08x.json", ledger >> 24,
             (ledger >> 16) & 0xff, (ledger >> 8) & 0xff, ledger);
}

BDB_API void bdb_archive_bucket_path(const uint8_t hash[BDB_HASH_LEN],
                                     char out[BDB_ARCHIVE_PATH_MAX])
{
    char name[BDB_BUCKET_NAME_LEN];
    bdb_bucket_name(hash, name);
    const char *hex = name + 7; /* after "bucket-" */
    snprintf(out, BDB_ARCHIVE_PATH_MAX, "bucket/%.2s/%.2s/%.2s/%s.gz", hex, hex + 2, hex + 4, name);
}

/* ---- the buckets a HAS names ---- */

typedef struct item {
    uint8_t hash[32];
    int code;
    char path[PATH_MAX];
    char msg[768];
} item;

static const uint8_t zero[32];

static void add(item *v, size_t *n, const uint8_t h[32])
{
    if (!memcmp(h, zero, 32)) return;
    for (size_t i = 0; i < *n; i++)
        if (!memcmp(v[i].hash, h, 32)) return;
    memset(&v[*n], 0, sizeof v[*n]);
    memcpy(v[(*n)++].hash, h, 32);
}

/* stellar-core's differingBuckets order: deepest level first, snap before
 * curr, then what the nexts name; the live list, then the hot archive. */
static size_t collect(const bdbi_has *h, item *v)
{
    size_t n = 0;
    for (int hot = 0; hot <= (h->version >= 2); hot++) {
        const bdbi_has_level *lv = hot ? h->hot_archive_buckets : h->current_buckets;
        for (int i = BDBI_HAS_LEVELS - 1; i >= 0; i--) {
            add(v, &n, lv[i].snap);
            add(v, &n, lv[i].curr);
        }
        for (int i = 0; i < BDBI_HAS_LEVELS; i++) {
            const bdbi_has_next *nx = &lv[i].next;
            if (nx->state == BDBI_FB_OUTPUT) add(v, &n, nx->output);
            if (nx->state != BDBI_FB_INPUTS) continue;
            add(v, &n, nx->curr);
            add(v, &n, nx->snap);
            for (size_t s = 0; s < nx->n_shadows; s++) add(v, &n, nx->shadows[s]);
        }
    }
    return n;
}

/* Most buckets a HAS can name: two lists of 11 levels with curr, snap, a
 * next's curr and snap and up to 22 shadows each. */
#define MAX_ITEMS (2 * BDBI_HAS_LEVELS * (4 + 2 * BDBI_HAS_LEVELS))

/* ---- fetch and verify, in parallel ---- */

typedef struct job {
    bdb_env *env;
    const bdb_archive_options *opts;
    const char *work;
    item *items;
    size_t n;
    atomic_size_t next, done;
} job;

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Leaves work/bucket-<hex>.xdr, verified, or fails naming the object. The
 * verified name is given only after the hash matched, so a later attempt
 * can trust a file under it. */
static int get_bucket(job *j, const uint8_t hash[32])
{
    char name[BDB_BUCKET_NAME_LEN], remote[BDB_ARCHIVE_PATH_MAX];
    char xdr[PATH_MAX], gz[PATH_MAX], tmp[PATH_MAX + 64];
    bdb_bucket_name(hash, name);
    bdb_archive_bucket_path(hash, remote);
    if ((size_t)snprintf(xdr, sizeof xdr, "%s/%s", j->work, name) >= sizeof xdr ||
        (size_t)snprintf(gz, sizeof gz, "%s/%s.gz", j->work, name) >= sizeof gz)
        return bdbi_err(BDB_EINVAL, "work directory path too long: %s", j->work);
    if (exists(xdr)) return 0; /* verified by an earlier attempt */
    int rc = exists(gz) ? 0 : bdbi_fetch(j->env, j->opts, remote, gz);
    if (rc) return rc;
    if ((rc = bdbi_fs_tmp_name(j->env, xdr, "verify-", tmp, sizeof tmp)) != 0) return rc;
    uint8_t got[32];
    uint64_t bytes;
    rc = bdb_bucket_gunzip(j->env, gz, tmp, 0, got, &bytes);
    if (!rc && memcmp(got, hash, 32) != 0) {
        char gname[BDB_BUCKET_NAME_LEN];
        bdb_bucket_name(got, gname);
        rc =
            bdbi_err_at(BDB_ECORRUPT, remote, -1,
                        "the archive's bucket does not hash to its name: its content is %s", gname);
    }
    if (rc) {
        /* a corrupt download is fetched again next time */
        (void)unlink(tmp);
        (void)bdbi_fs_unlink(j->env, gz);
        return rc;
    }
    if ((rc = bdbi_fs_rename(j->env, tmp, xdr)) != 0) {
        (void)unlink(tmp);
        return rc;
    }
    (void)bdbi_fs_unlink(j->env, gz);
    return 0;
}

static void *worker(void *arg)
{
    job *j = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n) break;
        item *it = &j->items[i];
        bdb_clear_error();
        if (get_bucket(j, it->hash)) {
            bdb_error e;
            bdb_last_error(&e);
            it->code = e.code ? e.code : BDB_EINTERNAL;
            snprintf(it->path, sizeof it->path, "%s", e.path ? e.path : "");
            snprintf(it->msg, sizeof it->msg, "%s", e.msg ? e.msg : "");
        }
        size_t d = atomic_fetch_add(&j->done, 1) + 1;
        if (j->opts->progress) j->opts->progress(j->opts->progress_ctx, "fetch", d, j->n);
    }
    return NULL;
}

static int fetch_all(job *j)
{
    uint32_t k = j->opts->parallel ? j->opts->parallel : 1;
    if (k > MAX_PARALLEL) k = MAX_PARALLEL;
    if (k > j->n) k = (uint32_t)j->n;
    pthread_t th[MAX_PARALLEL];
    uint32_t started = 0;
    for (; started < k; started++)
        if (pthread_create(&th[started], NULL, worker, j)) break;
    if (!started) worker(j); /* no thread could start: do it here */
    for (uint32_t t = 0; t < started; t++) pthread_join(th[t], NULL);
    for (size_t i = 0; i < j->n; i++) {
        const item *it = &j->items[i];
        if (!it->code) continue;
        return it->path[0] ? bdbi_err_at(it->code, it->path, -1, "%s", it->msg)
                           : bdbi_err(it->code, "%s", it->msg);
    }
    return 0;
}

/* ---- the import ---- */

/* Removes what an import left in its work directory, then the directory
 * (left if something else is in it). */
static void clean_work(bdb_env *env, const char *work)
{
    DIR *d = opendir(work);
    if (!d) return;
    struct dirent *e;
    char p[PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        int ours = !strcmp(n, HAS_NAME) || bdbi_fs_is_tmp_name(n) ||
                   (!strncmp(n, "bucket-", 7) && ((len > 4 && !strcmp(n + len - 4, ".xdr")) ||
                                                  (len > 7 && !strcmp(n + len - 7, ".xdr.gz"))));
        if (ours && (size_t)snprintf(p, sizeof p, "%s/%s", work, n) < sizeof p)
            (void)bdbi_fs_unlink(env, p);
    }
    closedir(d);
    (void)rmdir(work);
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
        int have = exists(path);
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
    if (ledger && !bdb_archive_is_checkpoint(ledger))
        return bdbi_err(BDB_EINVAL,
                        "ledger %u is not a checkpoint (checkpoints are 64k - 1: %u and %u are "
                        "the nearest)",
                        ledger, ledger < 64 ? 63 : (ledger + 1) / 64 * 64 - 1,
                        (ledger + 1) / 64 * 64 + 63);
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
    item *items = bdbi_calloc(env, BDB_MEM_ARCHIVE, MAX_ITEMS, sizeof *items);
    if (!items) rc = BDB_ENOMEM;
    if (!rc) {
        job j = {.env = env, .opts = opts, .work = work, .items = items, .n = collect(&h, items)};
        rc = fetch_all(&j);
    }
    bdbi_has_free(env, &h);
    if (items) bdbi_free(env, BDB_MEM_ARCHIVE, items, MAX_ITEMS * sizeof *items);
    if (!rc) {
        if (opts->progress) opts->progress(opts->progress_ctx, "import", 0, 1);
        rc = bdb_list_assume_state(env, dir, list_opts, json, len, work, out);
        if (opts->progress && !rc) opts->progress(opts->progress_ctx, "import", 1, 1);
    }
    bdbi_free(env, BDB_MEM_ARCHIVE, json, len ? len : 1);
    if (!rc) clean_work(env, work);
    return rc;
}
