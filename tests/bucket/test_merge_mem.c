/* The in-memory merge (level 0) against the file merge on random buckets:
 * the same inputs give byte-identical outputs and identical counters. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucket/bucket.h"
#include "bucketdb/bucket.h"
#include "fixture.h"
#include "xdr/schema.h"

static void setup(void)
{
    fixture_open("mmerge", NULL, NULL);
}

static void teardown(void)
{
    fixture_close();
}

TestSuite(merge_mem, .init = setup, .fini = teardown);

static uint64_t rng;

static uint32_t next(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

#define POOL      64
#define ENTRY_LEN 92

/* ACCOUNT entry for key k of the pool, with a value depending on v. */
static void account(uint8_t *p, unsigned k, uint32_t v)
{
    memset(p, 0, ENTRY_LEN);
    bdbi_put_be32(p, v);       /* lastModifiedLedgerSeq */
    p[12] = (uint8_t)(k * 37); /* key bytes: unique per k, not in k order */
    p[13] = (uint8_t)k;
    bdbi_put_be32(p + 44, v); /* balance */
    bdbi_put_be32(p + 76, 0x01000000);
}

/* A fresh bucket of a random subset of keys; types[k] gets what was put
 * (-1 absent). `older` gives the older bucket's types so that the new one
 * never holds an INIT where the old one holds INIT or LIVE (those are
 * malformed bucket pairs that a real list never builds). */
static void make(uint32_t protocol, const int *older, int *types, bdb_bucket_info *info,
                 uint8_t (*entries)[ENTRY_LEN], uint8_t (*keys)[40])
{
    bdb_bytes init[POOL], live[POOL], dead[POOL];
    size_t ni = 0, nl = 0, nd = 0;
    for (unsigned k = 0; k < POOL; k++) {
        types[k] = -1;
        if (next() % 3 == 0) continue;
        account(entries[k], k, next());
        memcpy(keys[k], entries[k] + 4, 40);
        int t = (int)(next() % 3);
        int no_init = protocol < 11 || (older && older[k] >= 0 && older[k] != BDB_DEADENTRY);
        if (t == 2 && no_init) t = 0;
        if (t == 0) live[nl++] = (bdb_bytes){entries[k], ENTRY_LEN};
        if (t == 1) dead[nd++] = (bdb_bytes){keys[k], 40};
        if (t == 2) init[ni++] = (bdb_bytes){entries[k], ENTRY_LEN};
        types[k] = t == 0 ? BDB_LIVEENTRY : t == 1 ? BDB_DEADENTRY : BDB_INITENTRY;
    }
    cr_assert_eq(bdb_bucket_fresh(env, dir, protocol, 0, init, ni, live, nl, dead, nd, info), 0,
                 "%s", bdb_errmsg());
}

/* Reads a bucket file into an in-memory bucket (copies owned by the caller). */
static void load(const bdb_bucket_info *info, bdbi_mem_bucket *mb, bdbi_mem_record *recs,
                 uint8_t *store, size_t cap)
{
    mb->protocol = info->protocol;
    mb->n = 0;
    mb->records = recs;
    if (info->empty) return;
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, info->name);
    bdb_bucket_reader *r;
    cr_assert_eq(bdb_bucket_reader_open(env, path, 0, 0, &r), 0);
    bdb_bucket_item it;
    size_t used = 0;
    while (bdb_bucket_reader_next(r, &it) == 1) {
        cr_assert_leq(used + it.record_len + it.sort_key_len, cap);
        memcpy(store + used, it.record, it.record_len);
        memcpy(store + used + it.record_len, it.sort_key, it.sort_key_len);
        recs[mb->n++] = (bdbi_mem_record){store + used, it.record_len, store + used + it.record_len,
                                          it.sort_key_len};
        used += it.record_len + it.sort_key_len;
    }
    bdb_bucket_reader_close(r);
}

Test(merge_mem, same_bytes_and_counters_as_the_file_merge)
{
    static const uint32_t protocols[] = {10, 11, 12, 22, 23, 25};
    static uint8_t entries[2][POOL][ENTRY_LEN], keys[2][POOL][40], store[2][POOL * 256];
    bdbi_mem_record recs[2][POOL];
    int merged_equal = 0;
    for (int round = 0; round < 300; round++) {
        rng = 0x1234567ull + (uint64_t)round;
        uint32_t pold = protocols[next() % 6], pnew = protocols[next() % 6];
        if (pnew < pold) pnew = pold; /* the newer bucket is never older */
        int told[POOL], tnew[POOL];
        bdb_bucket_info iold, inew, ofile, omem;
        make(pold, NULL, told, &iold, entries[0], keys[0]);
        make(pnew, told, tnew, &inew, entries[1], keys[1]);
        bdbi_mem_bucket mold, mnew;
        load(&iold, &mold, recs[0], store[0], sizeof store[0]);
        load(&inew, &mnew, recs[1], store[1], sizeof store[1]);

        bdb_merge_options o;
        bdb_merge_options_init(&o);
        o.fsync = 0;
        o.keep_tombstones = (int)(next() % 2);
        o.level0 = (int)(next() % 2);
        o.max_protocol = pnew + next() % 3;
        char pa[256], pb[256];
        snprintf(pa, sizeof pa, "%s/%s", dir, iold.name);
        snprintf(pb, sizeof pb, "%s/%s", dir, inew.name);
        bdb_merge_counters cf, cm;
        memset(&cf, 0, sizeof cf);
        memset(&cm, 0, sizeof cm);
        int rf = bdb_bucket_merge(env, dir, iold.empty ? NULL : pa, inew.empty ? NULL : pb, NULL, 0,
                                  &o, &ofile, &cf);
        int rm = bdbi_bucket_merge_mem(env, dir, &mold, &mnew, &o, &omem, &cm);
        cr_assert_eq(rf, 0, "round %d: %s", round, bdb_errmsg());
        cr_assert_eq(rm, rf, "round %d", round);
        cr_assert_eq(memcmp(ofile.hash, omem.hash, 32), 0, "round %d: outputs differ", round);
        cr_assert_eq(ofile.records, omem.records);
        cr_assert_eq(ofile.empty, omem.empty);
        cr_assert_eq(memcmp(&cf, &cm, sizeof cf), 0, "round %d: counters differ", round);
        merged_equal += (int)cf.new_entries_merged_with_old_neither_init +
                        (int)cf.old_init_entries_merged_with_new_dead;
        cr_assert_eq(ofile.protocol,
                     o.level0 ? o.max_protocol >= 11 ? o.max_protocol : 0 : (pnew >= 11 ? pnew : 0),
                     "round %d: output protocol (H1/H2)", round);
    }
    cr_assert_gt(merged_equal, 1000, "the rounds exercised equal keys");
}
