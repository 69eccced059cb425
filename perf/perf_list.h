/* Shared by the BucketList scenarios (perf_list.c: population, gets,
 * restart; perf_ledger.c: ledger closes and gets during a merge). */
#ifndef BDB_PERF_PERF_LIST_H
#define BDB_PERF_PERF_LIST_H

#include <stdint.h>

#include "bucketdb/bucketdb.h"
#include "bucketdb/list.h"

#include "gen.h"
#include "gen_layout.h"
#include "harness.h"
#include "perf_peers.h"

#define HX_SHARDS 16

typedef struct hx_lst {
    hx_results *r;
    const hx_scale *sc;
    gen *g;
    gen_layout lo;
    uint64_t cum[GEN_TYPES + 1]; /* live keys of the types before each type */
    uint64_t reserve;            /* per type: the last keys of accounts and trustlines,
                                  * kept for the ledger closes' deletions */
    char archive[512], store[512], peer_dir[HX_PEERS][512], tmp[512];
    bdb_env *env;
    bdb_list *l;
    hx_kv *kv[HX_PEERS];
    int have[HX_PEERS];
} hx_lst;

/* Keys in one buffer, with what the generator says of each. */
typedef struct hx_keys {
    uint8_t *buf;
    bdb_bytes *k;
    int *type;
    uint64_t *slot;
    size_t n;
} hx_keys;

/* Dies with the library's error detail when rc is an error. */
static inline void hx_bdb_check(int rc, const char *what)
{
    if (rc < 0) hx_die("%s: %s: %s", what, bdb_strerror(rc), bdb_errmsg());
}

/* The live key number i (0 <= i < total) as (type, slot). */
void hx_live_key(const hx_lst *s, uint64_t i, int *type, uint64_t *slot);
uint64_t hx_rnd(uint64_t *state);
/* n keys: HX_UNIFORM live keys, HX_ZIPF live keys drawn with a Zipf(0.99)
 * popularity over scattered ranks, or HX_ABSENT keys no state holds. */
enum { HX_UNIFORM, HX_ZIPF, HX_ABSENT };
void hx_keys_make(const hx_lst *s, hx_keys *ks, size_t n, int kind, uint64_t seed);
void hx_keys_free(hx_keys *ks);

/* Opens the env and store in s->store (persisted indexes); returns the
 * seconds it took. */
double hx_list_open(hx_lst *s);
void hx_list_close(hx_lst *s);

void hx_ledger_closes(hx_lst *s);
void hx_merge_gets(hx_lst *s);

#endif
