/* Helpers shared by the benchmarks: clocks, /proc/self/status figures
 * and a generator of valid ledger-entry records with mainnet-like shapes. */
#ifndef BDB_PERF_BENCH_UTIL_H
#define BDB_PERF_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bucketdb/ledger.h"
#include "xdr/xdrout.h"

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The number after "<field>:" on a line of the /proc file `file`, or -1
 * (a "N kB" value of /proc/self/status or /proc/meminfo). */
static inline long proc_kib(const char *file, const char *field)
{
    FILE *f = fopen(file, "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':' && sscanf(line + n + 1, "%ld", &v) == 1)
            break;
    if (f) fclose(f);
    return v;
}

/* A "<field>: N kB" value of /proc/self/status (VmRSS, VmHWM). */
static inline long status_kib(const char *field)
{
    return proc_kib("/proc/self/status", field);
}

/* Resets the peak so that the merge's own peak can be read afterwards. */
static inline void reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The unsigned value of environment variable `name`, or `def` when unset
 * or empty (the benchmarks' knobs). */
static inline uint64_t env_u64(const char *name, uint64_t def)
{
    const char *e = getenv(name);
    return e && *e ? strtoull(e, NULL, 10) : def;
}

/* Whether `m` is one of the comma-separated names in `mode` (a BENCH_MODE;
 * NULL or empty: every mode). */
static inline int bench_want(const char *mode, const char *m)
{
    if (!mode || !*mode) return 1;
    size_t n = strlen(m);
    for (const char *p = mode; (p = strstr(p, m)); p += n)
        if ((p == mode || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
    return 0;
}

/* The median of v[0..n) (sorts v). */
static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

/* An account ID whose first 8 bytes are `id` big-endian: ids in increasing
 * order give keys in increasing order. */
static inline void account_id(bdbi_xdr_out *o, uint64_t id)
{
    bdbi_xdr_put_u32(o, 0);
    bdbi_xdr_put_u64(o, id);
    for (int i = 0; i < 3; i++) bdbi_xdr_put_u64(o, mix64(id + (uint64_t)i));
}

/* One LIVEENTRY/INITENTRY record of `type` for key number `id`, with a
 * value that depends on `version` (so shared keys differ in content). */
static inline size_t record(uint8_t *buf, size_t cap, int32_t rtype, int type, uint64_t id,
                            uint64_t version)
{
    bdbi_xdr_out o;
    bdbi_xdr_out_init(&o, buf, cap);
    bdbi_xdr_put_u32(&o, (uint32_t)rtype);
    bdbi_xdr_put_u32(&o, (uint32_t)(version % 50000000)); /* lastModified */
    bdbi_xdr_put_u32(&o, (uint32_t)type);
    switch (type) {
    case BDB_ACCOUNT:
        account_id(&o, id);
        bdbi_xdr_put_u64(&o, mix64(version) % 1000000000000ull);
        bdbi_xdr_put_u64(&o, version);
        bdbi_xdr_put_u32(&o, 3), bdbi_xdr_put_u32(&o, 0), bdbi_xdr_put_u32(&o, 0);
        bdbi_xdr_put_var(&o, "example.org", 11);
        bdbi_xdr_put_u32(&o, 0x01000000), bdbi_xdr_put_u32(&o, 0);
        bdbi_xdr_put_u32(&o, 1), bdbi_xdr_put_u64(&o, 0), bdbi_xdr_put_u64(&o, 0);
        bdbi_xdr_put_u32(&o, 0);
        break;
    case BDB_TRUSTLINE:
        account_id(&o, id);
        bdbi_xdr_put_u32(&o, 1), bdbi_xdr_put_fixed(&o, "USDC", 4), account_id(&o, 7);
        bdbi_xdr_put_u64(&o, mix64(version) % 1000000000ull), bdbi_xdr_put_u64(&o, INT64_MAX);
        bdbi_xdr_put_u32(&o, 1), bdbi_xdr_put_u32(&o, 0);
        break;
    case BDB_OFFER:
        account_id(&o, id);
        bdbi_xdr_put_u64(&o, id);
        bdbi_xdr_put_u32(&o, 0), bdbi_xdr_put_u32(&o, 1), bdbi_xdr_put_fixed(&o, "USDC", 4);
        account_id(&o, 7);
        bdbi_xdr_put_u64(&o, version), bdbi_xdr_put_u32(&o, 1), bdbi_xdr_put_u32(&o, 3);
        bdbi_xdr_put_u32(&o, 0), bdbi_xdr_put_u32(&o, 0);
        break;
    case BDB_CONTRACT_DATA:
        bdbi_xdr_put_u32(&o, 0), bdbi_xdr_put_u32(&o, 1);
        for (int i = 0; i < 4; i++) bdbi_xdr_put_u64(&o, 0x1111111111111111ull);
        bdbi_xdr_put_u32(&o, 16), bdbi_xdr_put_u32(&o, 1), bdbi_xdr_put_u32(&o, 2);
        bdbi_xdr_put_u32(&o, 15), bdbi_xdr_put_var(&o, "Balance", 7);
        bdbi_xdr_put_u32(&o, 18), bdbi_xdr_put_u32(&o, 0), account_id(&o, id);
        bdbi_xdr_put_u32(&o, 1);
        bdbi_xdr_put_u32(&o, 10), bdbi_xdr_put_u64(&o, 0), bdbi_xdr_put_u64(&o, version);
        break;
    case BDB_TTL:
        bdbi_xdr_put_u64(&o, id);
        for (int i = 0; i < 3; i++) bdbi_xdr_put_u64(&o, mix64(id + (uint64_t)i));
        bdbi_xdr_put_u32(&o, (uint32_t)version);
        break;
    }
    bdbi_xdr_put_u32(&o, 0);
    return o.len;
}

#endif
