/* bdb-perf: the perf harness (docs/PERFORMANCE.md). Runs the BucketList
 * and bucket-map scenarios at one scale against their peers on the same
 * generated data, then writes results.json, report.md and plots into the
 * output directory and prints the table of figures.
 *
 * usage: bdb-perf [--scale quick|10m|mainnet] [--out DIR] [--data DIR]
 *                 [--seed N] [--rounds N] [--only list|map] */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "harness.h"

static const hx_scale scales[] = {
    {.name = "quick",
     .entries = 1000000,
     .map_keys = 1000000,
     .rounds = 3,
     .import_rounds = 3,
     .gets = 100000,
     .ledgers = 300,
     .batch = 1000,
     .map_sample = 200000},
    {.name = "10m",
     .entries = 10000000,
     .map_keys = 10000000,
     .rounds = 3,
     .import_rounds = 3,
     .gets = 200000,
     .ledgers = 1000,
     .batch = 1000,
     .map_sample = 200000},
    {.name = "mainnet",
     .entries = 60000000,
     .map_keys = 100000000,
     .rounds = 3,
     .import_rounds = 1,
     .gets = 200000,
     .ledgers = 1000,
     .batch = 1000,
     .map_sample = 200000},
};

static void usage(void)
{
    fprintf(stderr, "usage: bdb-perf [--scale quick|10m|mainnet] [--out DIR] [--data DIR] "
                    "[--seed N] [--rounds N] [--only list|map]\n");
    exit(2);
}

static void mkdir_p(const char *path)
{
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) hx_die("path too long");
    for (char *p = buf + 1;; p++) {
        char c = *p;
        if (c == '/' || !c) {
            *p = 0;
            if (mkdir(buf, 0755) && errno != EEXIST) hx_die("mkdir %s: %s", buf, strerror(errno));
            *p = c;
        }
        if (!c) break;
    }
}

int main(int argc, char **argv)
{
    const char *scale = "quick", *out = NULL, *data = NULL, *only = NULL;
    uint64_t seed = 1;
    int rounds = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) usage();
        if (!v) usage();
        if (!strcmp(a, "--scale"))
            scale = v;
        else if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--data"))
            data = v;
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--rounds"))
            rounds = atoi(v);
        else if (!strcmp(a, "--only"))
            only = v;
        else
            usage();
        i++;
    }
    const hx_scale *sc = NULL;
    for (size_t i = 0; i < sizeof scales / sizeof *scales; i++)
        if (!strcmp(scales[i].name, scale)) sc = &scales[i];
    if (!sc) usage();
    hx_scale custom = *sc;
    if (rounds) {
        if (rounds < 1 || rounds > HX_MAX_ROUNDS) usage();
        custom.rounds = rounds;
        if (custom.import_rounds > rounds) custom.import_rounds = rounds;
    }
    if (only && strcmp(only, "list") && strcmp(only, "map")) usage();
    char outbuf[512], databuf[600];
    if (!out) snprintf(outbuf, sizeof outbuf, "perf-results/%s", sc->name), out = outbuf;
    if (!data) snprintf(databuf, sizeof databuf, "%s/data", out), data = databuf;
    mkdir_p(out);
    mkdir_p(data);

    hx_results r = {.scale = &custom, .seed = seed};
    time_t now = time(NULL);
    strftime(r.started, sizeof r.started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fprintf(stderr, "bdb-perf: scale %s (%llu entries, %llu map keys, %d rounds), data in %s\n",
            sc->name, (unsigned long long)custom.entries, (unsigned long long)custom.map_keys,
            custom.rounds, data);
    if (!only || !strcmp(only, "list")) hx_list_run(&r, data);
    if (!only || !strcmp(only, "map")) hx_map_run(&r, data);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r.wall_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    int rc = hx_report_write(&r, out);
    hx_report_print_table(&r);
    printf("\n%llu answers checked, %llu wrong; report: %s/report.md (%.0f s)\n",
           (unsigned long long)r.checked, (unsigned long long)r.wrong, out, r.wall_s);
    hx_results_free(&r);
    if (r.wrong) fprintf(stderr, "bdb-perf: WRONG ANSWERS: the figures are void\n");
    return rc || r.wrong ? 1 : 0;
}
