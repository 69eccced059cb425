/* perf/bdb-perf: the perf harness. Scenarios (perf_list.c, perf_map.c)
 * measure bucketdb and its peers on the same generated data in one run
 * and record figures here; perf_report.c writes them as JSON, a markdown
 * report and gnuplot plots.
 *
 * A figure is one measured quantity of one scenario: our samples (one
 * per round) and, when a peer runs the same workload, the peer's samples.
 * The report shows medians, the range over rounds and the ratio of the
 * medians ours / peer. */
#ifndef BDB_PERF_HARNESS_H
#define BDB_PERF_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define HX_MAX_ROUNDS 16

/* A scale: how big and how many times. */
typedef struct hx_scale {
    const char *name;    /* quick, 10m, mainnet */
    uint64_t entries;    /* live ledger entries of the generated state */
    uint64_t map_keys;   /* keys of the bucket-map workloads */
    int rounds;          /* repetitions of each timed measurement */
    int import_rounds;   /* repetitions of the population scenario */
    uint32_t gets;       /* timed point gets per round */
    uint32_t ledgers;    /* ledger closes of the ledger-close scenario */
    uint32_t batch;      /* entries changed per ledger */
    uint32_t map_sample; /* timed map reads per round */
} hx_scale;

/* Which way a figure is better. */
enum { HX_LOWER = -1, HX_HIGHER = 1 };

typedef struct hx_figure {
    char scenario[48];
    char name[96];
    char unit[16];
    int better; /* HX_LOWER or HX_HIGHER */
    double ours[HX_MAX_ROUNDS];
    int n_ours;
    char peer[24]; /* "" when no peer ran this figure */
    double peer_v[HX_MAX_ROUNDS];
    int n_peer;
    char cond[240]; /* the conditions: data, options, what is timed */
} hx_figure;

/* One series of a plot: a latency distribution (quantiles) or
 * throughput points (x = threads). */
#define HX_QUANTILES 64
#define HX_POINTS    8
typedef struct hx_series {
    char plot[32];             /* plot id: the PNG's name */
    char name[48];             /* the series' legend */
    int kind;                  /* HX_DIST or HX_XY */
    double q[HX_QUANTILES][2]; /* HX_DIST: (percentile, microseconds) */
    int n_q;
    double xy[HX_POINTS][2]; /* HX_XY: (threads, operations per second) */
    int n_xy;
} hx_series;
enum { HX_DIST = 1, HX_XY = 2 };

typedef struct hx_results {
    const hx_scale *scale;
    uint64_t seed;
    char started[32]; /* UTC, ISO 8601 */
    double wall_s;    /* the whole run */
    hx_figure *fig;
    size_t n_fig, cap_fig;
    hx_series *ser;
    size_t n_ser, cap_ser;
    uint64_t checked, wrong; /* answers checked against the generator, and wrong ones */
    char notes[16][200];     /* lines for the report's conditions section */
    int n_notes;
} hx_results;

/* ---- recording (perf_report.c) ---- */

/* Records a figure: n_ours samples of ours and n_peer of `peer` (NULL or
 * n_peer 0: no peer). Samples beyond HX_MAX_ROUNDS are dropped. */
void hx_fig(hx_results *r, const char *scenario, const char *name, const char *unit, int better,
            const double *ours, int n_ours, const char *peer, const double *peer_v, int n_peer,
            const char *cond);
/* Records a latency distribution of n timings in nanoseconds (sorts
 * ns). */
void hx_dist(hx_results *r, const char *plot, const char *name, uint32_t *ns, size_t n);
/* Adds the point (x, y) to the series `name` of plot `plot`. */
void hx_xy(hx_results *r, const char *plot, const char *name, double x, double y);
/* A line of the report's conditions section (printf-style). */
void hx_note(hx_results *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hx_results_free(hx_results *r);

/* Writes results.json, report.md, the plots' data and gnuplot scripts
 * into dir and runs gnuplot (when found) to make one PNG per plot.
 * Returns 0, or -1 after printing why. */
int hx_report_write(const hx_results *r, const char *dir);
/* Prints the markdown table of figures to stdout. */
void hx_report_print_table(const hx_results *r);

/* ---- scenarios ---- */

/* The BucketList scenarios (perf_list.c) on a generated state of
 * sc->entries entries, with RocksDB and LMDB as peers; data under dir. */
void hx_list_run(hx_results *r, const char *dir);
/* The bucket-map scenarios (perf_map.c) at sc->map_keys keys, with an
 * in-memory hash table as the peer; files under dir (removed after). */
void hx_map_run(hx_results *r, const char *dir);

/* ---- utilities (perf_report.c) ---- */

/* The value at percentile p (0..100) of sorted ns[0..n). */
double hx_pct(const uint32_t *sorted, size_t n, double p);
/* Median of v[0..n) (does not change v). */
double hx_median(const double *v, int n);
/* Peak RSS of the process in MiB since the last hx_rss_reset(). */
double hx_peak_rss_mib(void);
void hx_rss_reset(void);
/* Bytes of the regular files under path (recursively). */
uint64_t hx_dir_bytes(const char *path);
/* Removes path recursively (no error if missing). */
void hx_rmrf(const char *path);
/* Reads every file under path once, so that the page cache holds it. */
void hx_warm(const char *path);
/* CLOCK_MONOTONIC in nanoseconds: what every timed operation reads. */
static inline uint64_t hx_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* qsort order of uint32_t timings. */
static inline int hx_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Prints the message and exits with status 1. */
void hx_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
