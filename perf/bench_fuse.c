/* Binary fuse filter: build time, size, query cost for members and for
 * non-members, and the measured false-positive rate, for 8- and 16-bit
 * fingerprints. Prints medians of ROUNDS runs as a markdown table. Not a
 * test: `make bench-fuse` runs it; `perf/bench_fuse N` uses N keys (default
 * 10M). Keys are random 64-bit values, as the caller's XXH3 hashes are. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "bucketdb/bucketdb.h"
#include "index/fuse.h"

#define ROUNDS 5

/* splitmix64: members are even, non-members odd, so they never meet */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ns per query over all of `k`, and how many answered "present" */
static double query_ns(const bdbi_fuse *f, const uint64_t *k, size_t n, size_t *present)
{
    size_t hits = 0;
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) hits += (size_t)bdbi_fuse_contains(f, k[i]);
    double t = (now_s() - t0) * 1e9 / (double)n;
    *present = hits;
    return t;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 10000000;
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 1;
    bdb_env *env;
    if (n == 0 || bdb_env_open(&o, &env) != 0) return 1;
    uint64_t *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
    if (!in || !out) return 1;
    uint64_t s = 1;
    for (size_t i = 0; i < n; i++) in[i] = next(&s) & ~1ull;
    for (size_t i = 0; i < n; i++) out[i] = next(&s) | 1;

    printf("%zu keys, medians of %d rounds, one thread\n\n", n, ROUNDS);
    printf("| fingerprint | build ns/key | bits/key | member query ns | non-member query ns | "
           "false positives |\n|---|---|---|---|---|---|\n");
    static const int widths[] = {8, 16};
    for (int w = 0; w < 2; w++) {
        double build[ROUNDS], hit[ROUNDS], miss[ROUNDS];
        size_t present = 0, fp = 0, bytes = 0;
        for (int r = 0; r < ROUNDS; r++) {
            bdbi_fuse *f;
            double t0 = now_s();
            if (bdbi_fuse_build(env, in, n, widths[w], (uint64_t)r, &f) != 0) {
                fprintf(stderr, "build: %s\n", bdb_errmsg());
                return 1;
            }
            build[r] = (now_s() - t0) * 1e9 / (double)n;
            bytes = bdbi_fuse_bytes(f);
            hit[r] = query_ns(f, in, n, &present);
            if (present != n) {
                fprintf(stderr, "%zu false negatives\n", n - present);
                return 1;
            }
            miss[r] = query_ns(f, out, n, &fp);
            bdbi_fuse_free(env, f);
        }
        printf("| %d-bit | %.1f | %.3f | %.1f | %.1f | %.5f%% (%zu of %zu) |\n", widths[w],
               median(build, ROUNDS), (double)bytes * 8 / (double)n, median(hit, ROUNDS),
               median(miss, ROUNDS), 100.0 * (double)fp / (double)n, fp, n);
    }
    free(in);
    free(out);
    return bdb_env_close(env) == 0 ? 0 : 1;
}
