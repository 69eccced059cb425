/* Benchmark of the streaming bucket merge on one core: two buckets of
 * about 1 GiB each (5 million entries each by default, mainnet-like mix,
 * a third of the keys shared) merged into a third; reports output MB/s
 * (SHA-256 and file writes included), the growth of peak RSS during the
 * merge, and the ratio to simply reading both inputs and hashing them
 * once. Not a test: `make bench-merge` runs it; BENCH_ENTRIES sets the
 * entries per input, BENCH_DIR the directory (default $TMPDIR or /tmp). */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bucketdb/bucket.h"
#include "core/sha256.h"
#include "xdr/xdrout.h"

#include "bench_util.h"

/* Writes an input bucket: keys id = k * stride for k < n, types in
 * LedgerEntryType order with a mainnet-like share each. */
static int make_input(bdb_env *env, const char *dir, uint64_t n, uint64_t stride, uint64_t version,
                      bdb_bucket_info *info)
{
    static const struct {
        int type;
        int percent;
    } mix[] = {{BDB_ACCOUNT, 35},
               {BDB_TRUSTLINE, 45},
               {BDB_OFFER, 5},
               {BDB_CONTRACT_DATA, 10},
               {BDB_TTL, 5}};
    bdb_bucket_writer_options o;
    bdb_bucket_writer_options_init(&o);
    o.protocol = 23;
    o.fsync = 0;
    bdb_bucket_writer *w;
    int rc = bdb_bucket_writer_open(env, dir, &o, &w);
    uint8_t rec[1024];
    for (size_t t = 0; !rc && t < sizeof mix / sizeof mix[0]; t++) {
        uint64_t count = n * (uint64_t)mix[t].percent / 100;
        for (uint64_t k = 0; !rc && k < count; k++) {
            size_t len =
                record(rec, sizeof rec, BDB_LIVEENTRY, mix[t].type, (k + 1) * stride, version + k);
            rc = bdb_bucket_writer_put(w, rec, len);
        }
    }
    if (rc) {
        bdb_bucket_writer_abort(w);
        return rc;
    }
    return bdb_bucket_writer_finish(w, info);
}

/* The floor: read both files once with read(2) and hash them. */
static double read_and_hash(const char *a, const char *b)
{
    static uint8_t buf[1 << 20];
    double t0 = now_s();
    const char *paths[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        int fd = open(paths[i], O_RDONLY);
        bdbi_sha256 h;
        bdbi_sha256_init(&h);
        ssize_t r;
        while ((r = read(fd, buf, sizeof buf)) > 0) bdbi_sha256_update(&h, buf, (size_t)r);
        uint8_t d[32];
        bdbi_sha256_final(&h, d);
        close(fd);
    }
    return now_s() - t0;
}

int main(void)
{
    const char *e = getenv("BENCH_ENTRIES");
    uint64_t n = e ? strtoull(e, NULL, 10) : 5000000;
    const char *base = getenv("BENCH_DIR");
    if (!base) base = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bdb-bench-merge-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    eo.threads = 1;
    bdb_env *env;
    if (bdb_env_open(&eo, &env)) return 1;

    bdb_bucket_info a, b, out;
    double t0 = now_s();
    if (make_input(env, dir, n, 2, 1, &a) || make_input(env, dir, n, 3, 1000000, &b)) {
        fprintf(stderr, "bench: %s\n", bdb_errmsg());
        return 1;
    }
    double t_gen = now_s() - t0;
    char pa[1024], pb[1024], po[1024];
    snprintf(pa, sizeof pa, "%s/%s", dir, a.name);
    snprintf(pb, sizeof pb, "%s/%s", dir, b.name);

    double t_floor = read_and_hash(pa, pb); /* also warms the page cache */
    t_floor = read_and_hash(pa, pb);
    bdb_merge_options mo;
    bdb_merge_options_init(&mo);
    mo.max_protocol = 23;
    mo.fsync = 0;
    bdb_merge_counters mc;
    memset(&mc, 0, sizeof mc);
    long rss0 = status_kib("VmRSS");
    reset_peak_rss();
    t0 = now_s();
    int rc = bdb_bucket_merge(env, dir, pa, pb, NULL, 0, &mo, &out, &mc);
    double t_merge = now_s() - t0;
    long peak = status_kib("VmHWM");
    if (rc) {
        fprintf(stderr, "bench: merge: %s\n", bdb_errmsg());
        return 1;
    }
    snprintf(po, sizeof po, "%s/%s", dir, out.name);
    double in_mb = (double)(a.bytes + b.bytes) / 1e6, out_mb = (double)out.bytes / 1e6;
    printf("inputs: %.0f MB + %.0f MB (%llu + %llu records), written in %.1f s; output %.0f MB "
           "(%llu records, %llu merged equal keys)\n\n",
           (double)a.bytes / 1e6, (double)b.bytes / 1e6, (unsigned long long)a.records,
           (unsigned long long)b.records, t_gen, out_mb, (unsigned long long)out.records,
           (unsigned long long)mc.new_entries_merged_with_old_neither_init);
    printf("| figure | value |\n|---|---|\n");
    printf("| merge time, 1 core (inputs in page cache, no fsync) | %.2f s |\n", t_merge);
    printf("| output throughput (SHA-256 and writes included) | %.0f MB/s |\n", out_mb / t_merge);
    printf("| input throughput | %.0f MB/s |\n", in_mb / t_merge);
    printf("| floor: read both inputs + SHA-256 once | %.2f s (%.0f MB/s) |\n", t_floor,
           in_mb / t_floor);
    printf("| merge / floor | %.2f |\n", t_merge / t_floor);
    printf("| RSS before the merge, peak during it | %ld KiB, %ld KiB (+%ld KiB) |\n", rss0, peak,
           peak - rss0);
    unlink(pa), unlink(pb), unlink(po);
    rmdir(dir);
    bdb_env_close(env);
    return 0;
}
