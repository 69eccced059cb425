/* Benchmark of the ledger-data parsers on one core: a bucket-like buffer of
 * record-marked LIVEENTRY records with a mainnet-like mix of entry types
 * (trustlines, accounts, offers, Soroban contract data with SAC-style
 * balance keys, TTLs), parsed
 *   (a) the way a merge reads trusted buckets: frame, locate the key,
 *       produce the sort key;
 *   (b) the way an import reads untrusted ones: frame and validate every
 *       record completely, then produce the sort key.
 * Prints records per second, medians of 5 runs. Not a test: `make
 * bench-xdr` runs it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bucketdb/ledger.h"
#include "xdr/ledger.h"
#include "xdr/record.h"
#include "xdr/xdrout.h"

#define RECORDS 1000000
#define RUNS    5

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static void append(buf *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->cap + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

/* entries are written with the library's bounded XDR writer */
#define u32 bdbi_xdr_put_u32
#define u64 bdbi_xdr_put_u64
#define put bdbi_xdr_put_raw

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static void bytes32(bdbi_xdr_out *b)
{
    for (int i = 0; i < 4; i++) u64(b, next());
}

static void account_id(bdbi_xdr_out *b)
{
    u32(b, 0);
    bytes32(b);
}

/* One LedgerEntry of the given type, appended to b. */
static void entry(bdbi_xdr_out *b, int type)
{
    u32(b, (uint32_t)(next() % 50000000)); /* lastModifiedLedgerSeq */
    u32(b, (uint32_t)type);
    switch (type) {
    case BDB_ACCOUNT:
        account_id(b);
        u64(b, next() % 1000000000000ull); /* balance */
        u64(b, next() % (1ull << 40));     /* seqNum */
        u32(b, 3);                         /* numSubEntries */
        u32(b, 0);                         /* no inflationDest */
        u32(b, 0);                         /* flags */
        u32(b, 11);                        /* homeDomain "example.org" */
        put(b, "example.org\0", 12);
        u32(b, 0x01000000); /* thresholds */
        u32(b, 0);          /* no signers */
        u32(b, 1);          /* ext v1: liabilities */
        u64(b, 0), u64(b, 0);
        u32(b, 0);
        break;
    case BDB_TRUSTLINE:
        account_id(b);
        u32(b, 1); /* ASSET_TYPE_CREDIT_ALPHANUM4 */
        put(b, "USDC", 4);
        account_id(b);
        u64(b, next() % 1000000000ull), u64(b, INT64_MAX); /* balance, limit */
        u32(b, 1);                                         /* flags */
        u32(b, 0);
        break;
    case BDB_OFFER:
        account_id(b);
        u64(b, next() % (1ull << 40)); /* offerID */
        u32(b, 0);                     /* selling native */
        u32(b, 1);
        put(b, "USDC", 4);
        account_id(b);
        u64(b, 1000000), u32(b, 1), u32(b, 3); /* amount, price */
        u32(b, 0), u32(b, 0);                  /* flags, ext */
        break;
    case BDB_CONTRACT_DATA:
        u32(b, 0); /* ExtensionPoint */
        u32(b, 1); /* SC_ADDRESS_TYPE_CONTRACT */
        u64(b, 0x1111111111111111ull), u64(b, 2), u64(b, 3), u64(b, 4);
        u32(b, 16), u32(b, 1), u32(b, 2); /* key: SCV_VEC present, 2 elements */
        u32(b, 15), u32(b, 7);            /* SCV_SYMBOL "Balance" */
        put(b, "Balance\0", 8);
        u32(b, 18); /* SCV_ADDRESS account */
        u32(b, 0);
        account_id(b);
        u32(b, 1);                             /* PERSISTENT */
        u32(b, 10), u64(b, 0), u64(b, next()); /* val: SCV_I128 */
        break;
    case BDB_TTL:
        bytes32(b);
        u32(b, (uint32_t)(next() % 60000000));
        break;
    }
    u32(b, 0); /* LedgerEntry ext v0 */
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Frames, locates keys and makes sort keys; `validate` adds the full
 * record validation. Returns the number of records, or -1 on a failure. */
static long run(const buf *file, int validate, uint64_t *checksum)
{
    size_t pos = 0;
    long n = 0;
    uint8_t sk[1100];
    while (pos < file->len) {
        const uint8_t *body;
        size_t len;
        if (bdbi_record_next(file->p, file->len, &pos, "bench", 0, &body, &len)) return -1;
        if (validate) {
            bdb_record r;
            if (bdbi_record_parse(body, len, 0, "bench", 0, &r)) return -1;
        }
        bdbi_sk_out out = {sk, 0, sizeof sk};
        if (bdbi_entry_sort_key(body + 4, len - 4, "bench", 0, &out)) return -1;
        *checksum += sk[out.len - 1] + out.len;
        n++;
    }
    return n;
}

int main(void)
{
    buf file = {0};
    uint8_t ebuf[1024];
    size_t mix_bytes[10] = {0}, mix_count[10] = {0};
    for (int i = 0; i < RECORDS; i++) {
        unsigned r = (unsigned)(next() % 100);
        int type = r < 45   ? BDB_TRUSTLINE
                   : r < 80 ? BDB_ACCOUNT
                   : r < 85 ? BDB_OFFER
                   : r < 95 ? BDB_CONTRACT_DATA
                            : BDB_TTL;
        bdbi_xdr_out e;
        bdbi_xdr_out_init(&e, ebuf, sizeof ebuf);
        u32(&e, BDB_LIVEENTRY);
        entry(&e, type);
        if (bdbi_xdr_out_overflow(&e)) abort();
        uint8_t mark[4];
        bdbi_record_mark(mark, (uint32_t)e.len);
        append(&file, mark, 4);
        append(&file, e.p, e.len);
        mix_bytes[type] += e.len + 4;
        mix_count[type]++;
    }
    printf("input: %d records, %.1f MiB, average %.0f bytes per record:", RECORDS,
           (double)file.len / (1 << 20), (double)file.len / RECORDS);
    for (int t = 0; t < 10; t++)
        if (mix_count[t])
            printf(" %s %.0f%% (%zu B)", bdb_entry_type_name(t),
                   100.0 * (double)mix_count[t] / RECORDS, mix_bytes[t] / mix_count[t]);
    printf("\n\n| figure | median of %d runs, 1 core |\n|---|---|\n", RUNS);
    const char *names[2] = {"frame + locate key + sort key (trusted bucket, e.g. merge)",
                            "frame + full validation + sort key (untrusted bucket, e.g. import)"};
    for (int validate = 0; validate < 2; validate++) {
        double t[RUNS];
        uint64_t sum = 0;
        for (int i = 0; i < RUNS; i++) {
            double t0 = now_s();
            if (run(&file, validate, &sum) != RECORDS) {
                fprintf(stderr, "bench: parse failed: %s\n", bdb_errmsg());
                return 1;
            }
            t[i] = now_s() - t0;
        }
        qsort(t, RUNS, sizeof t[0], cmp_double);
        double med = t[RUNS / 2];
        printf("| %s | %.1f M records/s, %.0f ns/record, %.0f MB/s (checksum %llu) |\n",
               names[validate], RECORDS / med / 1e6, med * 1e9 / RECORDS,
               (double)file.len / med / 1e6, (unsigned long long)(sum % 1000));
    }
    free(file.p);
    return 0;
}
