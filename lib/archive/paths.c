/* History archive names (spec §6.4): checkpoints, where a checkpoint's
 * HAS and a bucket live in an archive, and the import options' defaults. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bucketdb/archive.h"
#include "bucketdb/bucket.h"

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
