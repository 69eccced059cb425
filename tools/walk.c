/* The tool's checked walk (see walk.h): the library's streaming reader
 * with the per-record report the inspecting commands print from. */
#include "config.h"

#include "walk.h"

#include <stdio.h>
#include <string.h>

#include "bucket/bucket.h"

int bucket_walk(bdb_env *env, const char *path,
                int (*fn)(void *ctx, const bucket_info *bi, const bucket_rec *r), void *ctx,
                bucket_info *info, char *err, size_t errcap)
{
    memset(info, 0, sizeof *info);
    info->meta_list = -1;
    bdb_env *own = NULL;
    if (!env) {
        /* one worker: a walk runs no task */
        bdb_env_options eo;
        bdb_env_options_init(&eo);
        eo.threads = 1;
        if (bdb_env_open(&eo, &own)) {
            snprintf(err, errcap, "cannot start: %s", bdb_errmsg());
            return -1;
        }
        env = own;
    }
    bdbi_bstream *s;
    if (bdbi_bstream_open(env, path, -1, 0, &s)) {
        snprintf(err, errcap, "%s", bdb_errmsg());
        bdb_env_close(own);
        return -1;
    }
    info->gzip = bdbi_bstream_is_gzip(s);
    bdb_bucket_item it;
    bucket_rec rec;
    int r, rc = 0;
    while ((r = bdbi_bstream_next(s, &it, &rec.parsed)) == 1) {
        rec.offset = it.offset;
        rec.record = it.record;
        rec.len = it.record_len;
        if (it.type == BDB_METAENTRY) {
            info->has_meta = 1;
            info->protocol = rec.parsed.ledger_version;
            info->meta_list = rec.parsed.list_type;
        }
        info->hot = bdbi_bstream_hot(s) > 0;
        info->records++;
        if (fn && (rc = fn(ctx, info, &rec)) != 0) break;
    }
    if (!rc && r < 0) {
        snprintf(err, errcap, "%s", bdb_errmsg());
        rc = -1;
    }
    info->bytes = bdbi_bstream_bytes(s);
    if (!rc) (void)bdbi_bstream_hash(s, info->hash);
    bdbi_bstream_close(s);
    bdb_env_close(own);
    return rc;
}
