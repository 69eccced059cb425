/* The BucketList's consensus hashes (spec §5.3): level hashes, the list
 * hash, the header's bucketListHash and its skip list. */
#include "config.h"

#include <string.h>

#include "bucketdb/list.h"
#include "core/sha256.h"

BDB_API int bdb_level_hash(const uint8_t curr[32], const uint8_t snap[32], uint8_t out[32])
{
    bdbi_sha256 h;
    int rc = bdbi_sha256_init(&h);
    if (rc) return rc;
    bdbi_sha256_update(&h, curr, 32);
    bdbi_sha256_update(&h, snap, 32);
    bdbi_sha256_final(&h, out);
    return 0;
}

BDB_API int bdb_list_hash(const uint8_t curr[BDB_LIST_LEVELS][32],
                          const uint8_t snap[BDB_LIST_LEVELS][32], uint8_t out[32])
{
    uint8_t levels[BDB_LIST_LEVELS][32];
    for (int i = 0; i < BDB_LIST_LEVELS; i++) {
        int rc = bdb_level_hash(curr[i], snap[i], levels[i]);
        if (rc) return rc;
    }
    return bdbi_sha256_digest(levels, sizeof levels, out);
}

BDB_API int bdb_header_bucket_list_hash(uint32_t protocol, const uint8_t live[32],
                                        const uint8_t hot[32], uint8_t out[32])
{
    if (protocol < 23) {
        memcpy(out, live, 32);
        return 0;
    }
    return bdb_level_hash(live, hot, out); /* the same SHA-256 of two hashes */
}

BDB_API void bdb_skip_list_update(uint32_t ledger, const uint8_t hash[32], uint8_t skip[4][32])
{
    enum { SKIP_1 = 50, SKIP_2 = 5000, SKIP_3 = 50000, SKIP_4 = 500000 };
    if (ledger % SKIP_1 != 0) return;
    int64_t v = (int64_t)ledger - SKIP_1;
    if (v > 0 && v % SKIP_2 == 0) {
        v = (int64_t)ledger - SKIP_2 - SKIP_1;
        if (v > 0 && v % SKIP_3 == 0) {
            v = (int64_t)ledger - SKIP_3 - SKIP_2 - SKIP_1;
            if (v > 0 && v % SKIP_4 == 0) memcpy(skip[3], skip[2], 32);
            memcpy(skip[2], skip[1], 32);
        }
        memcpy(skip[1], skip[0], 32);
    }
    memcpy(skip[0], hash, 32);
}
