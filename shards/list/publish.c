/* Publishing the store's checkpoint into a history archive directory
 * (spec §1.5, §6.4): every bucket the published HAS names, gzipped in the
 * archive's layout, then the HAS (prepared for publication as
 * stellar-core's prepareForPublish) at its checkpoint path and as the
 * archive's latest. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "bucketdb/archive.h"

#include "archive/has.h"
#include "core/alloc.h"
#include "core/error.h"
#include "store.h"

BDB_API void bdb_publish_options_init(bdb_publish_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->gzip_level = 6;
    opts->fsync = 1;
}

/* Creates the parent directories of `path` (a file under `root`). */
static int mkparents(bdb_env *env, const char *path)
{
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s", path);
    char *slash = strrchr(d, '/');
    if (!slash) return 0;
    *slash = 0;
    return bdbi_fs_mkdirs(env, d);
}

/* Writes bucket b, gzipped, under the archive root unless it is there. */
static int put_bucket(bdb_list *l, const char *root, const bdbi_lbucket *b,
                      const bdb_publish_options *o)
{
    char rel[BDB_ARCHIVE_PATH_MAX], path[PATH_MAX];
    bdb_archive_bucket_path(b->hash, rel);
    if ((size_t)snprintf(path, sizeof path, "%s/%s", root, rel) >= sizeof path)
        return bdbi_err(BDB_EINVAL, "archive path too long: %s", root);
    struct stat st;
    if (stat(path, &st) == 0) return 0; /* content-addressed: already published */
    int rc = mkparents(l->env, path);
    if (rc) return rc;
    char(*files)[PATH_MAX] = bdbi_malloc(l->env, BDB_MEM_ARCHIVE, b->n_files * sizeof *files);
    const char **ptrs = bdbi_malloc(l->env, BDB_MEM_ARCHIVE, b->n_files * sizeof *ptrs);
    if (!files || !ptrs) rc = BDB_ENOMEM;
    for (uint32_t f = 0; !rc && f < b->n_files; f++) {
        rc = bdbi_lbucket_path(l, b, f, files[f], sizeof files[f]);
        ptrs[f] = files[f];
    }
    /* the files are checked against the bucket's hash as they stream:
     * a damaged local file is never published */
    if (!rc)
        rc = bdbi_bucket_gzip_files(l->env, ptrs, b->n_files, b->hash, path, o->gzip_level,
                                    o->fsync);
    if (files) bdbi_free(l->env, BDB_MEM_ARCHIVE, files, b->n_files * sizeof *files);
    if (ptrs) bdbi_free(l->env, BDB_MEM_ARCHIVE, ptrs, b->n_files * sizeof *ptrs);
    return rc;
}

/* prepareForPublish on one list of the parsed HAS (bdbi_has_prepare_for_
 * publish), and the buckets it then names into v (deduplicated by
 * pointer: a bucket is registered once). */
static int prepare(const bdbi_llist *list, bdbi_has_level *hl, const bdbi_lbucket **v, size_t *n)
{
    uint32_t sv[BDB_LIST_LEVELS];
    for (int i = 0; i < BDB_LIST_LEVELS; i++) {
        const bdbi_lbucket *s = list->levels[i].snap;
        sv[i] = s ? s->protocol : 0;
        if (hl[i].next.state == BDBI_FB_INPUTS)
            return bdbi_err(BDB_EINTERNAL, "level %d: a merge still in flight after waiting", i);
    }
    bdbi_has_prepare_for_publish(hl, sv);
    for (int i = 0; i < BDB_LIST_LEVELS; i++) {
        const bdbi_level *lv = &list->levels[i];
        const bdbi_lbucket *named[3] = {lv->curr, lv->snap, NULL};
        if (hl[i].next.state == BDBI_FB_OUTPUT && lv->next) {
            int fin;
            named[2] = bdbi_pmerge_output(lv->next, &fin);
        }
        for (int k = 0; k < 3; k++) {
            if (!named[k]) continue;
            size_t j = 0;
            while (j < *n && v[j] != named[k]) j++;
            if (j == *n) v[(*n)++] = named[k];
        }
    }
    return 0;
}

BDB_API int bdb_archive_publish(bdb_list *l, const char *archive_dir,
                                const bdb_publish_options *opts)
{
    bdb_publish_options def;
    if (!opts) {
        bdb_publish_options_init(&def);
        opts = &def;
    }
    if (!l || !archive_dir) return bdbi_err(BDB_EINVAL, "bdb_archive_publish: NULL argument");
    int rc = bdbi_list_refuse_read_only(l, "bdb_archive_publish");
    if (!rc) rc = bdb_list_wait_merges(l);
    if (rc) return rc;
    if (!bdb_archive_is_checkpoint(l->ledger))
        return bdbi_err(BDB_EINVAL, "store %s is at ledger %u, not a checkpoint (64k - 1)", l->dir,
                        l->ledger);
    size_t need = 0, len = 0;
    (void)bdb_list_has_json(l, opts->server, opts->network_passphrase, NULL, 0, &need);
    char *json = need ? bdbi_malloc(l->env, BDB_MEM_ARCHIVE, need) : NULL;
    if (!json) return need ? BDB_ENOMEM : bdbi_err(BDB_EINTERNAL, "no HAS for %s", l->dir);
    rc = bdb_list_has_json(l, opts->server, opts->network_passphrase, json, need, &len);
    bdbi_has h;
    memset(&h, 0, sizeof h);
    int parsed = 0;
    if (!rc) parsed = !(rc = bdbi_has_parse(l->env, json, len, &h));
    bdbi_free(l->env, BDB_MEM_ARCHIVE, json, need);
    const bdbi_lbucket *v[4 * BDB_LIST_LEVELS * 2];
    size_t n = 0;
    if (!rc) rc = prepare(&l->live, h.current_buckets, v, &n);
    if (!rc && h.version >= 2) rc = prepare(&l->hot, h.hot_archive_buckets, v, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        rc = put_bucket(l, archive_dir, v[i], opts);
        if (opts->progress) opts->progress(opts->progress_ctx, "publish", i + 1, n);
    }
    char *out = NULL;
    need = 0;
    if (!rc) {
        (void)bdbi_has_write(&h, NULL, 0, &need);
        out = bdbi_malloc(l->env, BDB_MEM_ARCHIVE, need);
        rc = out ? bdbi_has_write(&h, out, need, &len) : BDB_ENOMEM;
    }
    /* the checkpoint's HAS, then the pointer to the latest */
    char rel[BDB_ARCHIVE_PATH_MAX], path[PATH_MAX];
    for (int k = 0; !rc && k < 2; k++) {
        if (k == 0)
            bdb_archive_has_path(l->ledger, rel);
        else
            snprintf(rel, sizeof rel, "%s", BDB_ARCHIVE_WELL_KNOWN);
        if ((size_t)snprintf(path, sizeof path, "%s/%s", archive_dir, rel) >= sizeof path)
            rc = bdbi_err(BDB_EINVAL, "archive path too long: %s", archive_dir);
        if (!rc) rc = mkparents(l->env, path);
        if (!rc) rc = bdbi_fs_write_file(l->env, path, out, len, opts->fsync ? 0 : BDBI_FS_NOSYNC);
    }
    if (out) bdbi_free(l->env, BDB_MEM_ARCHIVE, out, need);
    if (parsed) bdbi_has_free(l->env, &h);
    return rc;
}
