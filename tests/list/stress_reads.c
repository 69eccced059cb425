/* Plain-C stress test of the read path (runs under TSan): 4 reader
 * threads call bdb_list_get and bdb_list_get_many on the newest view
 * (acquired per batch of reads) and on views they hold across many
 * ledgers, while the main thread closes ledgers of small batches with
 * creations, updates and deletions, so that merges and GC run under
 * them. Every answer is checked against a model.
 *
 * The model: an entry's content is a function of (key number, ledger of
 * its last write) (perf/bench_util.h record() with version = ledger), so
 * each key needs only its history of (ledger, deleted) changes. The writer
 * appends a key's changes for ledger L before closing L and publishes each
 * with a release store of the key's count; a reader holding a view of
 * ledger L loads the count with acquire and takes the last change at or
 * before L. The view publication orders the appends before any reader
 * sees ledger L; later appends (ledger > L) are ignored by the filter. The
 * library's read path itself takes no lock: only the model is shared.
 *
 * Configurations (each a fresh store): page-indexed files (cutoff 0,
 * pages of 256 bytes) with a 1 MB entry cache of accounts on 2 shards and
 * of accounts and trustlines on 3 shards, then exact indexes without a
 * cache on 3 shards. STRESS_READS_LEDGERS (default 2000) sets the ledgers
 * per configuration. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bucketdb/list.h"

#include "../../perf/bench_util.h"

#define NKEYS    3000 /* keys the writer uses */
#define NABSENT  200  /* keys never written: numbers NKEYS.. */
#define HOTKEYS  150  /* half the writes go to these, so keys get many versions */
#define MAXCH    1024 /* changes kept per key; the writer skips a full key */
#define READERS  4
#define BATCH    24 /* point gets per fresh view */
#define MANY     64 /* keys per get_many */
#define KEYCAP   128
#define REPORTED 10 /* mismatches printed */

typedef struct config {
    const char *name;
    uint32_t shards, cutoff_mb, exponent, cache_mb, cache_types;
} config;

static const config configs[] = {
    {"paged, 2 shards, cache of accounts", 2, 0, 8, 1, 1u << BDB_ACCOUNT},
    {"paged, 3 shards, cache of accounts and trustlines", 3, 0, 8, 1,
     (1u << BDB_ACCOUNT) | (1u << BDB_TRUSTLINE)},
    {"exact, 3 shards, no cache", 3, 20, 14, 0, 1u << BDB_ACCOUNT},
};

/* LedgerKey XDR of every key number */
static uint8_t keys[NKEYS + NABSENT][KEYCAP];
static size_t key_len[NKEYS + NABSENT];

/* the model: changes[k][i] = ledger << 1 | deleted, i < count[k] */
static uint32_t (*changes)[MAXCH];
static atomic_uint count[NKEYS];

static bdb_list *list;
static atomic_int done;
static atomic_long n_get, n_many_keys, n_held_reads, n_found, failures;
static atomic_uint ledger_now; /* the writer's last closed ledger */

static int key_type(uint32_t k)
{
    return k % 2 ? BDB_TRUSTLINE : BDB_ACCOUNT;
}
static uint64_t key_id(uint32_t k)
{
    return mix64((uint64_t)k + 1);
}

/* The version of key k visible at ledger L: 0 when absent, else the
 * ledger of its last write. */
static uint32_t model_at(uint32_t k, uint32_t L)
{
    if (k >= NKEYS) return 0;
    uint32_t n = atomic_load_explicit(&count[k], memory_order_acquire);
    /* changes are in ledger order: the last one at or before L decides */
    while (n > 0 && (changes[k][n - 1] >> 1) > L) n--;
    if (n == 0 || (changes[k][n - 1] & 1)) return 0;
    return changes[k][n - 1] >> 1;
}

static void fail(const char *what, uint32_t k, uint32_t L, uint32_t want, const bdb_list_entry *e,
                 int rc)
{
    long f = atomic_fetch_add(&failures, 1);
    if (f < REPORTED)
        fprintf(stderr,
                "# %s: key %u at ledger %u: expected %s%u, got rc %d (len %zu, type %d, level %d "
                "%s)\n",
                what, k, L, want ? "version " : "absent ", want, rc, e ? e->len : 0,
                e ? e->type : -1, e ? e->level : -1, e && e->snap ? "snap" : "curr");
}

/* Whether e (rc from the read) is the model's answer for key k at L. */
static int check(uint32_t k, uint32_t L, int rc, const bdb_list_entry *e)
{
    uint32_t want = model_at(k, L);
    if (!want) return rc == 0 && (!e || !e->data);
    if (rc != 1 || !e->data || (e->type != BDB_LIVEENTRY && e->type != BDB_INITENTRY)) return 0;
    uint8_t rec[512];
    size_t n = record(rec, sizeof rec, BDB_LIVEENTRY, key_type(k), key_id(k), want);
    return e->len == n - 4 && memcmp(e->data, rec + 4, n - 4) == 0;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A key number for a read: mostly written keys, some never written. */
static uint32_t pick(uint64_t *s)
{
    uint64_t r = rnd(s);
    if (r % 16 == 0) return NKEYS + (uint32_t)((r >> 8) % NABSENT);
    if (r % 2) return (uint32_t)((r >> 8) % HOTKEYS);
    return (uint32_t)((r >> 8) % NKEYS);
}

static void read_view(const bdb_list_view *v, uint64_t *s, int gets, atomic_long *counter)
{
    bdb_list_state st;
    bdb_list_view_state(v, &st);
    uint32_t L = st.ledger;
    for (int i = 0; i < gets; i++) {
        uint32_t k = pick(s);
        bdb_list_entry e;
        int rc = bdb_list_get(v, keys[k], key_len[k], &e);
        if (!check(k, L, rc, &e)) fail("get", k, L, model_at(k, L), &e, rc);
        if (rc == 1) atomic_fetch_add_explicit(&n_found, 1, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(counter, gets, memory_order_relaxed);
    /* a bulk load, duplicates included */
    bdb_bytes ks[MANY];
    uint32_t kn[MANY];
    bdb_list_entry out[MANY];
    size_t found = 0, want_found = 0;
    for (int i = 0; i < MANY; i++) {
        kn[i] = i > 0 && rnd(s) % 8 == 0 ? kn[i - 1] : pick(s);
        ks[i] = (bdb_bytes){keys[kn[i]], key_len[kn[i]]};
    }
    int rc = bdb_list_get_many(v, ks, MANY, out, &found);
    for (int i = 0; i < MANY; i++) {
        if (model_at(kn[i], L)) want_found++;
        if (rc != 0 || !check(kn[i], L, out[i].data ? 1 : 0, &out[i]))
            fail("get_many", kn[i], L, model_at(kn[i], L), rc ? NULL : &out[i], rc);
    }
    if (rc == 0 && found != want_found) {
        atomic_fetch_add(&failures, 1);
        fprintf(stderr, "# get_many at ledger %u: found %zu, model %zu\n", L, found, want_found);
    }
    atomic_fetch_add_explicit(&n_many_keys, MANY, memory_order_relaxed);
}

static void *reader(void *arg)
{
    uint64_t s = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
    bdb_list_view *held = NULL;
    uint32_t held_ledger = 0, hold_for = 0, last = 0;
    while (!atomic_load(&done)) {
        bdb_list_view *v = bdb_list_view_acquire(list);
        if (!v) {
            usleep(100);
            continue;
        }
        bdb_list_state st;
        bdb_list_view_state(v, &st);
        if (st.ledger < last) {
            atomic_fetch_add(&failures, 1);
            fprintf(stderr, "# view went back from ledger %u to %u\n", last, st.ledger);
        }
        last = st.ledger;
        read_view(v, &s, BATCH, &n_get);
        /* hold a view for 10..300 ledgers, reading it while the list,
         * its merges and GC move on */
        if (!held && rnd(&s) % 4 == 0) {
            held = v;
            held_ledger = st.ledger;
            hold_for = 10 + (uint32_t)(rnd(&s) % 291);
            continue;
        }
        bdb_list_view_release(v);
        if (held) {
            read_view(held, &s, BATCH / 4, &n_held_reads);
            if (atomic_load(&ledger_now) >= held_ledger + hold_for) {
                bdb_list_view_release(held);
                held = NULL;
            }
        }
    }
    bdb_list_view_release(held);
    return NULL;
}

/* Closes ledgers 1..ledgers: 20-50 distinct keys each, created when not
 * live, else updated or (one in five) deleted. */
static int write_ledgers(uint32_t ledgers, uint64_t seed)
{
    static uint8_t recs[50][512];
    static uint32_t stamp[NKEYS];
    memset(stamp, 0, sizeof stamp);
    bdb_bytes init[50], live[50], dead[50];
    uint64_t s = seed;
    for (uint32_t L = 1; L <= ledgers; L++) {
        size_t ni = 0, nl = 0, nd = 0, want = 20 + rnd(&s) % 31;
        for (size_t t = 0; ni + nl + nd < want && t < 1000; t++) {
            uint64_t r = rnd(&s);
            uint32_t k = (uint32_t)(r % 2 ? (r >> 8) % HOTKEYS : (r >> 8) % NKEYS);
            uint32_t n = atomic_load_explicit(&count[k], memory_order_relaxed);
            if (stamp[k] == L || n == MAXCH) continue; /* once per ledger; full history */
            stamp[k] = L;
            int is_live = n > 0 && !(changes[k][n - 1] & 1);
            int del = is_live && rnd(&s) % 5 == 0;
            if (del) {
                dead[nd++] = (bdb_bytes){keys[k], key_len[k]};
            } else {
                uint8_t *rec = recs[ni + nl];
                size_t len = record(rec, 512, BDB_LIVEENTRY, key_type(k), key_id(k), L);
                if (is_live)
                    live[nl++] = (bdb_bytes){rec + 4, len - 4};
                else
                    init[ni++] = (bdb_bytes){rec + 4, len - 4};
            }
            changes[k][n] = L << 1 | (uint32_t)del;
            atomic_store_explicit(&count[k], n + 1, memory_order_release);
        }
        int rc = bdb_list_add_batch(list, L, 22, init, ni, live, nl, dead, nd);
        if (rc) {
            printf("# add_batch %u: %s\n", L, bdb_errmsg());
            return rc;
        }
        atomic_store(&ledger_now, L);
    }
    return 0;
}

static int run(int num, const config *c, uint32_t ledgers)
{
    memset(changes, 0, sizeof(*changes) * NKEYS);
    for (int k = 0; k < NKEYS; k++) atomic_init(&count[k], 0);
    atomic_store(&done, 0);
    atomic_store(&ledger_now, 0);
    atomic_store(&n_get, 0), atomic_store(&n_many_keys, 0), atomic_store(&n_held_reads, 0);
    atomic_store(&n_found, 0);
    long f0 = atomic_load(&failures);

    char dir[] = "/tmp/bdb-stress-reads-XXXXXX";
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    eo.threads = 2;
    bdb_env *env;
    bdb_list_options lo;
    bdb_list_options_init(&lo);
    lo.shards = c->shards;
    lo.fsync = 0;
    lo.split_bytes = 0; /* every merge split by shard, as large merges are */
    lo.index_cutoff_mb = c->cutoff_mb;
    lo.index_page_size_exponent = c->exponent;
    lo.cache_mb = c->cache_mb;
    lo.cache_types = c->cache_types;
    /* persisting is not what this test is about, and index files would
     * only add disk writes to the writer's ledgers; STRESS_READS_PERSIST=1
     * turns it back on */
    const char *pe = getenv("STRESS_READS_PERSIST");
    lo.persist_index = pe && atoi(pe) != 0;
    if (bdb_env_open(&eo, &env) || bdb_list_open(env, dir, &lo, &list)) {
        printf("not ok %d - %s: open: %s\n", num, c->name, bdb_errmsg());
        return 1;
    }
    pthread_t th[READERS];
    for (uintptr_t i = 0; i < READERS; i++) pthread_create(&th[i], NULL, reader, (void *)i);
    double t0 = now_s();
    int rc = write_ledgers(ledgers, 0x1234567ull + (uint64_t)num);
    atomic_store(&done, 1);
    for (int i = 0; i < READERS; i++) pthread_join(th[i], NULL);
    double secs = now_s() - t0;

    /* after the run: the configuration really paged and cached */
    bdb_list_read_stats rs = {0};
    bdb_list_view *v = bdb_list_view_acquire(list);
    if (v) bdb_list_read_stats_get(v, &rs);
    bdb_list_view_release(v);
    int shape_ok = c->cutoff_mb ? rs.files_paged == 0 && rs.files_exact > 0
                                : rs.files_paged > 0 && rs.files_exact == 0;
    if (c->cache_mb && rs.cache_hits == 0) shape_ok = 0;
    int crc = bdb_list_close(list);
    int erc = bdb_env_close(env);
    long f = atomic_load(&failures) - f0;
    int ok = !rc && !f && shape_ok && !crc && !erc;
    printf("%s %d - %s: %u ledgers in %.1f s; %ld gets, %ld get_many keys, %ld reads of held "
           "views (%ld found), %ld wrong\n",
           ok ? "ok" : "not ok", num, c->name, ledgers, secs, atomic_load(&n_get),
           atomic_load(&n_many_keys), atomic_load(&n_held_reads), atomic_load(&n_found), f);
    printf("#   files exact/paged %llu/%llu, cache hits/misses %llu/%llu; close %d, env close %d\n",
           (unsigned long long)rs.files_exact, (unsigned long long)rs.files_paged,
           (unsigned long long)rs.cache_hits, (unsigned long long)rs.cache_misses, crc, erc);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
    return !ok;
}

int main(void)
{
    const char *e = getenv("STRESS_READS_LEDGERS");
    uint32_t ledgers = e ? (uint32_t)strtoul(e, NULL, 10) : 2000;
    if (ledgers < 1) ledgers = 1;
    changes = calloc(NKEYS, sizeof *changes);
    if (!changes) return 1;
    for (uint32_t k = 0; k < NKEYS + NABSENT; k++) {
        uint8_t rec[512];
        size_t n = record(rec, sizeof rec, BDB_LIVEENTRY, key_type(k), key_id(k), 1);
        if (bdb_ledger_entry_key(rec + 4, n - 4, keys[k], KEYCAP, &key_len[k])) {
            printf("not ok 1 - key %u: %s\n1..1\n", k, bdb_errmsg());
            return 1;
        }
    }
    int n = (int)(sizeof configs / sizeof configs[0]), bad = 0;
    for (int i = 0; i < n; i++) bad |= run(i + 1, &configs[i], ledgers);
    printf("1..%d\n", n);
    free(changes);
    return bad;
}
