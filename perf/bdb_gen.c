/* bdb-gen: the workload generator's command line.
 *
 *   bdb-gen archive --entries N --seed S --out DIR [--ledger L]
 *           [--protocol P] [--gzip-level G] [--threads T]
 *           [--passphrase TEXT] [--tmpdir DIR] [--fsync] [--json] [--quiet]
 *
 * writes a history archive of the generated state (perf/gen_archive.h)
 * and prints what it wrote: entries by type, the buckets, bytes plain
 * and gzipped, the time of each phase and the peak RSS. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucketdb/bucketdb.h"

#include "gen_archive.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bdb-gen archive --entries N --seed S --out DIR [--ledger L]\n"
            "         [--protocol P] [--gzip-level G] [--threads T] [--passphrase TEXT]\n"
            "         [--tmpdir DIR] [--fsync] [--json] [--quiet]\n"
            "defaults: ledger 0x%08x, protocol %d, gzip level 6, 2 threads\n",
            GEN_ARCHIVE_LEDGER, GEN_ARCHIVE_PROTOCOL);
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || !*s || *end || *s == '-') return -1;
    *v = x;
    return 0;
}

static void hex(const uint8_t *h, char out[65])
{
    for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", h[i]);
}

static double mib(uint64_t b)
{
    return (double)b / (1 << 20);
}

static void print_text(const gen_archive_opts *o, const gen_archive_report *r)
{
    printf("archive %s: %llu entries, seed %llu, ledger %u (0x%08x), protocol %u\n", o->out,
           (unsigned long long)o->entries, (unsigned long long)o->seed, o->ledger, o->ledger,
           o->protocol);
    printf("\n%-17s %10s %10s %12s %8s\n", "type", "live", "records", "bytes", "avg");
    for (int t = 0; t < GEN_TYPES; t++)
        printf("%-17s %10llu %10llu %12llu %8.1f\n", bdb_entry_type_name(t),
               (unsigned long long)r->live[t], (unsigned long long)r->records[t],
               (unsigned long long)r->record_bytes[t],
               r->records[t] ? (double)r->record_bytes[t] / (double)r->records[t] : 0.0);
    printf("deleted keys (a version and its DEADENTRY): %llu\n", (unsigned long long)r->deleted);
    printf("\n%-9s %9s %9s %10s %8s %8s %11s %10s  %s\n", "bucket", "oldest", "ledgers", "init",
           "live", "dead", "plain", "gzip", "hash");
    for (int b = 0; b < GEN_BUCKETS; b++) {
        const gen_archive_bucket *k = &r->buckets[b];
        char h[65] = "(empty)";
        if (k->file) hex(k->hash, h);
        printf("L%-2d %-5s %9u %9u %10llu %8llu %8llu %11llu %10llu  %.16s\n", b / 2,
               b % 2 ? "snap" : "curr", k->oldest, k->ledgers,
               (unsigned long long)k->records[BDB_INITENTRY],
               (unsigned long long)k->records[BDB_LIVEENTRY],
               (unsigned long long)k->records[BDB_DEADENTRY], (unsigned long long)k->bytes,
               (unsigned long long)k->gz_bytes, h);
    }
    char lh[65];
    hex(r->list_hash, lh);
    printf("\nbytes: %.1f MiB plain, %.1f MiB gzipped (level %d, ratio %.2f)\n", mib(r->bytes),
           mib(r->gz_bytes), o->gzip_level,
           r->gz_bytes ? (double)r->bytes / (double)r->gz_bytes : 0.0);
    printf("time: generate+write %.2f s, gzip %.2f s (%u threads), total %.2f s\n", r->write_s,
           r->gzip_s, o->threads, r->total_s);
    printf("peak RSS (VmHWM): %.1f MiB\n", (double)r->peak_rss_kib / 1024);
    printf("live bucket list hash: %s\n", lh);
    hex(r->header_hash, lh);
    printf("header bucketListHash: %s\n", lh);
}

static void print_json(const gen_archive_opts *o, const gen_archive_report *r)
{
    char h[65];
    printf("{\"out\":\"%s\",\"entries\":%llu,\"seed\":%llu,\"ledger\":%u,\"protocol\":%u,", o->out,
           (unsigned long long)o->entries, (unsigned long long)o->seed, o->ledger, o->protocol);
    printf("\"types\":{");
    for (int t = 0; t < GEN_TYPES; t++)
        printf("%s\"%s\":{\"live\":%llu,\"records\":%llu,\"bytes\":%llu}", t ? "," : "",
               bdb_entry_type_name(t), (unsigned long long)r->live[t],
               (unsigned long long)r->records[t], (unsigned long long)r->record_bytes[t]);
    printf("},\"deleted\":%llu,\"buckets\":[", (unsigned long long)r->deleted);
    for (int b = 0; b < GEN_BUCKETS; b++) {
        const gen_archive_bucket *k = &r->buckets[b];
        hex(k->hash, h);
        printf("%s{\"level\":%d,\"snap\":%d,\"oldest\":%u,\"ledgers\":%u,\"init\":%llu,"
               "\"live\":%llu,\"dead\":%llu,\"bytes\":%llu,\"gz_bytes\":%llu,\"hash\":\"%s\"}",
               b ? "," : "", b / 2, b % 2, k->oldest, k->ledgers,
               (unsigned long long)k->records[BDB_INITENTRY],
               (unsigned long long)k->records[BDB_LIVEENTRY],
               (unsigned long long)k->records[BDB_DEADENTRY], (unsigned long long)k->bytes,
               (unsigned long long)k->gz_bytes, h);
    }
    char hh[65];
    hex(r->list_hash, h);
    hex(r->header_hash, hh);
    printf("],\"bytes\":%llu,\"gz_bytes\":%llu,\"write_s\":%.3f,\"gzip_s\":%.3f,\"total_s\":%.3f,"
           "\"peak_rss_kib\":%ld,\"list_hash\":\"%s\",\"header_hash\":\"%s\"}\n",
           (unsigned long long)r->bytes, (unsigned long long)r->gz_bytes, r->write_s, r->gzip_s,
           r->total_s, r->peak_rss_kib, h, hh);
}

static int cmd_archive(int argc, char **argv)
{
    gen_archive_opts o;
    gen_archive_opts_init(&o);
    int json = 0, have_n = 0, have_seed = 0;
    o.progress = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t x = 0;
        int num = !strcmp(a, "--entries") || !strcmp(a, "--seed") || !strcmp(a, "--ledger") ||
                  !strcmp(a, "--protocol") || !strcmp(a, "--gzip-level") || !strcmp(a, "--threads");
        int str = !strcmp(a, "--out") || !strcmp(a, "--passphrase") || !strcmp(a, "--tmpdir");
        if ((num || str) && !v) {
            fprintf(stderr, "bdb-gen: %s needs a value\n", a);
            return 2;
        }
        if (num && (parse_u64(v, &x) ||
                    (strcmp(a, "--entries") && strcmp(a, "--seed") && x > UINT32_MAX))) {
            fprintf(stderr, "bdb-gen: %s %s: not a number in range\n", a, v);
            return 2;
        }
        if (!strcmp(a, "--entries"))
            o.entries = x, have_n = 1;
        else if (!strcmp(a, "--seed"))
            o.seed = x, have_seed = 1;
        else if (!strcmp(a, "--ledger"))
            o.ledger = (uint32_t)x;
        else if (!strcmp(a, "--protocol"))
            o.protocol = (uint32_t)x;
        else if (!strcmp(a, "--gzip-level"))
            o.gzip_level = (int)x;
        else if (!strcmp(a, "--threads"))
            o.threads = (unsigned)x;
        else if (!strcmp(a, "--out"))
            o.out = v;
        else if (!strcmp(a, "--passphrase"))
            o.passphrase = v;
        else if (!strcmp(a, "--tmpdir"))
            o.tmpdir = v;
        else if (!strcmp(a, "--fsync"))
            o.fsync = 1;
        else if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--quiet"))
            o.progress = 0;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "bdb-gen: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        i += num || str;
    }
    if (!have_n || !have_seed || !o.out) {
        usage(stderr);
        return 2;
    }
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    eo.threads = 1; /* the pool is idle here: the writers and gzip run on our threads */
    bdb_env *env;
    int rc = bdb_env_open(&eo, &env);
    if (rc) {
        fprintf(stderr, "bdb-gen: %s\n", bdb_errmsg());
        return 1;
    }
    gen_archive_report r;
    rc = gen_archive_write(env, &o, &r);
    if (rc)
        fprintf(stderr, "bdb-gen: %s\n", bdb_errmsg());
    else if (json)
        print_json(&o, &r);
    else
        print_text(&o, &r);
    bdb_env_close(env);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "archive")) return cmd_archive(argc - 2, argv + 2);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
