/* Plain-C stress test of the store's concurrency (runs under TSan): one
 * writer closes ledgers while the pool runs split merges (4 shards, every
 * merge split into pieces, pieces hashed by whichever task is in line) and
 * reader threads acquire views without locks, check each view against
 * itself (its header hash is the hash of its own level hashes), that
 * ledgers never go back, and hold some views across later ledgers. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bucketdb/list.h"

#include "../../perf/bench_util.h"

#define LEDGERS    300
#define PER_LEDGER 40
#define READERS    2

static bdb_list *list;
static atomic_int done;
static atomic_long reads, failures;

static void *reader(void *arg)
{
    (void)arg;
    uint32_t last = 0;
    bdb_list_view *held = NULL;
    while (!atomic_load(&done)) {
        bdb_list_view *v = bdb_list_view_acquire(list);
        if (!v) continue;
        bdb_list_state st;
        bdb_list_view_state(v, &st);
        uint8_t h[32];
        bdb_list_hash((const uint8_t(*)[32])st.live_curr, (const uint8_t(*)[32])st.live_snap, h);
        if (memcmp(h, st.header_hash, 32) != 0 || st.ledger < last) atomic_fetch_add(&failures, 1);
        last = st.ledger;
        atomic_fetch_add(&reads, 1);
        /* keep every 50th view a while, across later ledgers */
        if (st.ledger % 50 == 0 && !held) {
            held = v;
            continue;
        }
        if (held && st.ledger > 0 && st.ledger % 50 == 25) {
            bdb_list_state hs;
            bdb_list_view_state(held, &hs);
            bdb_list_hash((const uint8_t(*)[32])hs.live_curr, (const uint8_t(*)[32])hs.live_snap,
                          h);
            if (memcmp(h, hs.header_hash, 32) != 0) atomic_fetch_add(&failures, 1);
            bdb_list_view_release(held);
            held = NULL;
        }
        bdb_list_view_release(v);
    }
    bdb_list_view_release(held);
    return NULL;
}

int main(void)
{
    char dir[] = "/tmp/bdb-stress-views-XXXXXX";
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    eo.threads = 2;
    bdb_env *env;
    bdb_list_options lo;
    bdb_list_options_init(&lo);
    lo.shards = 4;
    lo.fsync = 0;
    lo.split_bytes = 0;
    if (bdb_env_open(&eo, &env) || bdb_list_open(env, dir, &lo, &list)) {
        printf("not ok 1 - open: %s\n", bdb_errmsg());
        return 1;
    }
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++) pthread_create(&th[i], NULL, reader, NULL);
    static uint8_t recs[PER_LEDGER][512];
    bdb_bytes init[PER_LEDGER], live[PER_LEDGER];
    uint64_t next_id = 1;
    int rc = 0;
    for (uint32_t L = 1; L <= LEDGERS && !rc; L++) {
        size_t ni = 0, nl = 0;
        for (int i = 0; i < PER_LEDGER / 2; i++) {
            size_t n =
                record(recs[i], sizeof recs[i], BDB_LIVEENTRY, BDB_ACCOUNT, mix64(next_id++), L);
            init[ni++] = (bdb_bytes){recs[i] + 4, n - 4};
        }
        for (int i = 0; next_id > 200 && i < PER_LEDGER / 2; i++) {
            uint64_t id = 1 + (uint64_t)(L * 7 + (uint32_t)i * 13) % (next_id - 100);
            size_t n = record(recs[PER_LEDGER / 2 + i], sizeof recs[0], BDB_LIVEENTRY, BDB_ACCOUNT,
                              mix64(id), L);
            live[nl++] = (bdb_bytes){recs[PER_LEDGER / 2 + i] + 4, n - 4};
        }
        rc = bdb_list_add_batch(list, L, 22, init, ni, live, nl, NULL, 0);
        if (rc == BDB_EINVAL) /* two updates of one key: close the ledger without them */
            rc = bdb_list_add_batch(list, L, 22, init, ni, NULL, 0, NULL, 0);
    }
    atomic_store(&done, 1);
    for (int i = 0; i < READERS; i++) pthread_join(th[i], NULL);
    printf("%s 1 - %d ledgers closed while readers used views\n", rc ? "not ok" : "ok", LEDGERS);
    if (rc) printf("# %s\n", bdb_errmsg());
    long f = atomic_load(&failures);
    printf("%s 2 - %ld view reads, %ld inconsistent\n", f ? "not ok" : "ok", atomic_load(&reads),
           f);
    int crc = bdb_list_close(list);
    int erc = bdb_env_close(env);
    printf("%s 3 - close and env close leave nothing (%d, %d)\n", crc || erc ? "not ok" : "ok", crc,
           erc);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
    printf("1..3\n");
    return rc || f || crc || erc;
}
