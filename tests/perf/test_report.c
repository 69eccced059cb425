/* The perf harness's results and report (perf/perf_report.c): nearest-rank
 * percentiles and medians by their definitions; figures recorded with
 * hx_fig come back out of results.json (read with jansson) with their
 * medians, ratios, nulls and exact strings; report.md and the printed
 * table show the rows a reader would compute by hand; distributions and
 * throughput series are ordered; plots' scripts, data and (with gnuplot)
 * PNGs are made, and a missing gnuplot is said once; long strings are
 * cut, at character boundaries; the file utilities count, warm and
 * remove trees; write errors fail the report. */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perf/harness.h"

#include "../file_helpers.h"

static char g_dir[64];

static void setup(void)
{
    tf_tmpdir(g_dir, sizeof g_dir, "report");
}

static void teardown(void)
{
    tf_rmrf(g_dir);
}

TestSuite(report, .init = setup, .fini = teardown, .timeout = 60);

/* A path under the test's directory; four live at once (one call's arguments). */
static const char *P(const char *rel)
{
    return tf_path(g_dir, rel);
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* The file's text, NUL-terminated (free it). */
static char *slurp(const char *path)
{
    size_t n;
    uint8_t *p = tf_read(path, &n);
    char *s = realloc(p, n + 1);
    cr_assert_not_null(s);
    s[n] = 0;
    return s;
}

static const hx_scale g_scale = {.name = "quick",
                                 .entries = 1000000,
                                 .map_keys = 100000,
                                 .rounds = 3,
                                 .import_rounds = 1,
                                 .gets = 10000,
                                 .ledgers = 20,
                                 .batch = 500,
                                 .map_sample = 1000};

static void init_results(hx_results *r)
{
    memset(r, 0, sizeof *r);
    r->scale = &g_scale;
    r->seed = 42;
    snprintf(r->started, sizeof r->started, "2024-05-01T12:00:00Z");
    r->wall_s = 12.5;
    r->checked = 1234;
    r->wrong = 0;
}

/* ---- percentiles and medians ---- */

Test(report, pct_nearest_rank)
{
    uint32_t v[100];
    for (int i = 0; i < 100; i++) v[i] = (uint32_t)i + 1;
    /* nearest rank: the smallest value with at least p % of the values at
     * or below it; for 1..100 that is p itself, and 1 for p = 0 */
    cr_assert_eq(hx_pct(v, 100, 0), 1);
    cr_assert_eq(hx_pct(v, 100, 1), 1);
    cr_assert_eq(hx_pct(v, 100, 50), 50);
    cr_assert_eq(hx_pct(v, 100, 50.5), 51);
    cr_assert_eq(hx_pct(v, 100, 99), 99);
    cr_assert_eq(hx_pct(v, 100, 99.9), 100);
    cr_assert_eq(hx_pct(v, 100, 100), 100);
    uint32_t w[1000];
    for (int i = 0; i < 1000; i++) w[i] = (uint32_t)i + 1;
    cr_assert_eq(hx_pct(w, 1000, 99.9), 999); /* 999 of 1000 values are <= 999 */
    cr_assert_eq(hx_pct(w, 1000, 99.99), 1000);
    uint32_t one = 7;
    cr_assert_eq(hx_pct(&one, 1, 0), 7);
    cr_assert_eq(hx_pct(&one, 1, 50), 7);
    cr_assert_eq(hx_pct(&one, 1, 100), 7);
    cr_assert_eq(hx_pct(v, 0, 50), 0);
}

Test(report, median)
{
    double odd[] = {3, 1, 2}, even[] = {4, 1, 3, 2}, one[] = {5.5};
    double keep[4];
    memcpy(keep, even, sizeof keep);
    cr_assert_eq(hx_median(odd, 3), 2);
    cr_assert_eq(hx_median(even, 4), 2.5);
    cr_assert_eq(memcmp(even, keep, sizeof keep), 0, "the input was changed");
    cr_assert_eq(odd[0], 3);
    cr_assert_eq(hx_median(one, 1), 5.5);
    cr_assert(isnan(hx_median(one, 0)));
    double with_nan[] = {1, NAN, 3};
    cr_assert(isnan(hx_median(with_nan, 3)), "a failed round must not be hidden");
}

/* ---- results.json ---- */

static json_t *load_json(void)
{
    json_error_t e;
    json_t *j = json_load_file(P("out/results.json"), 0, &e);
    cr_assert_not_null(j, "results.json: line %d: %s", e.line, e.text);
    return j;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_number(v), "%s is not a number", key);
    return json_number_value(v);
}

Test(report, json_figures)
{
    hx_results r;
    init_results(&r);
    double a[] = {3, 1, 2}, b[] = {4, 6, 4}, c[] = {5}, d[] = {1, NAN, 3};
    hx_fig(&r, "point gets", "get latency", "µs", HX_LOWER, a, 3, "rocksdb", b, 3, "cold cache");
    hx_fig(&r, "map", "build", "s", HX_LOWER, c, 1, NULL, NULL, 0, "");
    hx_fig(&r, "odd", "we\"ird\\na\tme\n", "k/s", HX_HIGHER, c, 1, "lmdb", c, 1, "q\"uote");
    hx_fig(&r, "nan", "failed round", "s", HX_LOWER, d, 3, "lmdb", c, 1, "");
    hx_note(&r, "note %d: \"quoted\"", 1);
    cr_assert_eq(hx_report_write(&r, P("out")), 0);

    json_t *j = load_json();
    json_t *figs = json_object_get(j, "figures");
    cr_assert_eq(json_array_size(figs), 4);

    json_t *f0 = json_array_get(figs, 0), *ours = json_object_get(f0, "ours");
    json_t *peer = json_object_get(f0, "peer");
    cr_assert_str_eq(json_string_value(json_object_get(f0, "scenario")), "point gets");
    cr_assert_str_eq(json_string_value(json_object_get(f0, "unit")), "µs");
    cr_assert_str_eq(json_string_value(json_object_get(f0, "better")), "lower");
    cr_assert_eq(num(ours, "median"), 2);
    cr_assert_eq(num(ours, "min"), 1);
    cr_assert_eq(num(ours, "max"), 3);
    cr_assert_eq(json_array_size(json_object_get(ours, "samples")), 3);
    cr_assert_eq(json_number_value(json_array_get(json_object_get(ours, "samples"), 0)), 3);
    cr_assert_str_eq(json_string_value(json_object_get(peer, "name")), "rocksdb");
    cr_assert_eq(num(peer, "median"), 4);
    cr_assert_eq(num(f0, "ratio"), 0.5); /* 2 / 4 */
    cr_assert_str_eq(json_string_value(json_object_get(f0, "conditions")), "cold cache");

    json_t *f1 = json_array_get(figs, 1);
    cr_assert(json_is_null(json_object_get(f1, "peer")));
    cr_assert(json_is_null(json_object_get(f1, "ratio")));
    cr_assert_eq(num(json_object_get(f1, "ours"), "median"), 5);

    json_t *f2 = json_array_get(figs, 2);
    cr_assert_str_eq(json_string_value(json_object_get(f2, "figure")), "we\"ird\\na\tme\n");
    cr_assert_str_eq(json_string_value(json_object_get(f2, "conditions")), "q\"uote");
    cr_assert_str_eq(json_string_value(json_object_get(f2, "better")), "higher");
    cr_assert_eq(num(f2, "ratio"), 1);

    json_t *f3 = json_array_get(figs, 3), *o3 = json_object_get(f3, "ours");
    cr_assert(json_is_null(json_object_get(o3, "median")));
    cr_assert(json_is_null(json_array_get(json_object_get(o3, "samples"), 1)));
    cr_assert_eq(json_number_value(json_array_get(json_object_get(o3, "samples"), 2)), 3);
    cr_assert(json_is_null(json_object_get(f3, "ratio")));

    json_t *scale = json_object_get(j, "scale");
    cr_assert_str_eq(json_string_value(json_object_get(scale, "name")), "quick");
    cr_assert_eq(num(scale, "entries"), 1000000);
    cr_assert_eq(num(scale, "map_sample"), 1000);
    cr_assert_eq(num(j, "seed"), 42);
    cr_assert_eq(num(j, "wall_s"), 12.5);
    cr_assert_str_eq(json_string_value(json_object_get(j, "started")), "2024-05-01T12:00:00Z");
    cr_assert_eq(num(json_object_get(j, "checks"), "checked"), 1234);
    cr_assert_eq(num(json_object_get(j, "checks"), "wrong"), 0);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "notes"), 0)),
                     "note 1: \"quoted\"");
    json_t *m = json_object_get(j, "machine");
    cr_assert(json_is_object(m));
    cr_assert_geq(num(m, "cpus"), 1);
    cr_assert_gt(num(m, "mem_gib"), 0);
    cr_assert(json_is_string(json_object_get(m, "fs")));
    cr_assert(json_is_string(json_object_get(m, "bucketdb")));
    json_decref(j);
    hx_results_free(&r);
    cr_assert_null(r.fig);
    cr_assert_eq(r.n_fig, 0);
}

/* ---- report.md and the printed table ---- */

Test(report, markdown_rows)
{
    hx_results r;
    init_results(&r);
    double two[] = {2.0}, four[] = {4.0}, ten[] = {10}, five[] = {5}, h[] = {100}, h1[] = {101};
    double range[] = {2.59, 2.10, 2.24};
    hx_fig(&r, "s", "f", "µs", HX_LOWER, two, 1, "peerx", four, 1, "lower is better");
    hx_fig(&r, "s", "rate", "M/s", HX_HIGHER, ten, 1, "peerx", five, 1, "lower is better");
    hx_fig(&r, "t", "rate", "M/s", HX_HIGHER, five, 1, "lmdb", ten, 1, "other conditions");
    hx_fig(&r, "t", "size", "MiB", HX_LOWER, h1, 1, "lmdb", h, 1, "");
    hx_fig(&r, "u", "get", "µs", HX_LOWER, range, 3, NULL, NULL, 0, "");
    hx_fig(&r, "u", "a|b", "", HX_LOWER, h, 1, NULL, NULL, 0, "");
    double d[] = {1, NAN, 3};
    hx_fig(&r, "nan", "failed round", "s", HX_LOWER, d, 3, "lmdb", five, 1, "");
    hx_note(&r, "a note");
    cr_assert_eq(hx_report_write(&r, P("out")), 0);
    char *md = slurp(P("out/report.md"));
    cr_assert(!strncmp(md, "# bucketdb perf report: scale quick\n", 36), "%.60s", md);
    static const char *rows[] = {
        "| scenario | figure | ours | peer | peer's | ours/peer | better |\n",
        "| s | f | 2.00 µs | peerx | 4.00 µs | 0.50× | ours |\n",
        "| s | rate | 10.0 M/s | peerx | 5.00 M/s | 2.00× | ours |\n",
        "| t | rate | 5.00 M/s | lmdb | 10.0 M/s | 0.50× | lmdb |\n",
        "| t | size | 101 MiB | lmdb | 100 MiB | 1.01× | tie |\n",
        "| u | get | 2.24 µs (2.10–2.59) | — | — | — | — |\n",
        "| u | a\\|b | 100 | — | — | — | — |\n",
        "| nan | failed round | n/a s (1.00–3.00) | lmdb | 5.00 s | — | — |\n",
        "## Machine\n",
        "## Conditions\n",
        "- **s**: lower is better\n",
        "- **t**: other conditions\n",
        "- a note\n",
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        cr_expect_not_null(strstr(md, rows[i]), "report.md lacks %s", rows[i]);
    char *once = strstr(md, "lower is better");
    cr_assert_null(strstr(once + 1, "lower is better"), "a condition listed twice");
    free(md);
    hx_results_free(&r);
}

Test(report, printed_table, .init = cr_redirect_stdout)
{
    hx_results r;
    init_results(&r);
    double two[] = {2.0}, four[] = {4.0};
    hx_fig(&r, "s", "f", "µs", HX_LOWER, two, 1, "peerx", four, 1, "");
    hx_report_print_table(&r);
    fflush(stdout);
    cr_assert_stdout_eq_str("| scenario | figure | ours | peer | peer's | ours/peer | better |\n"
                            "|---|---|---:|---|---:|---:|---|\n"
                            "| s | f | 2.00 µs | peerx | 4.00 µs | 0.50× | ours |\n");
    hx_results_free(&r);
}

/* ---- distributions and throughput series ---- */

Test(report, dist_quantiles)
{
    hx_results r;
    init_results(&r);
    uint32_t ns[1000];
    for (int i = 0; i < 1000; i++) ns[i] = 1000 - (uint32_t)i;
    hx_dist(&r, "gets", "bucketdb", ns, 1000);
    for (int i = 1; i < 1000; i++) cr_assert_leq(ns[i - 1], ns[i], "ns not sorted");
    cr_assert_eq(r.n_ser, 1);
    const hx_series *s = &r.ser[0];
    cr_assert_eq(s->kind, HX_DIST);
    cr_assert_geq(s->n_q, 20);
    cr_assert_leq(s->n_q, HX_QUANTILES);
    cr_assert_eq(s->q[0][0], 0);
    cr_assert_eq(s->q[s->n_q - 1][0], 100);
    cr_assert_float_eq(s->q[0][1], 0.001, 1e-12);        /* 1 ns */
    cr_assert_float_eq(s->q[s->n_q - 1][1], 1.0, 1e-12); /* 1000 ns */
    int half = 0;
    for (int i = 1; i < s->n_q; i++) {
        cr_assert_gt(s->q[i][0], s->q[i - 1][0]);
        cr_assert_geq(s->q[i][1], s->q[i - 1][1]);
        if (s->q[i][0] == 50) {
            half = 1;
            cr_assert_float_eq(s->q[i][1], 0.5, 1e-12); /* 500 ns */
        }
    }
    cr_assert(half, "no median point");
    hx_dist(&r, "gets", "rocksdb", ns, 1000);
    hx_dist(&r, "gets", "rocksdb", ns, 10); /* the same series, replaced */
    cr_assert_eq(r.n_ser, 2);
    cr_assert_float_eq(r.ser[1].q[r.ser[1].n_q - 1][1], 0.01, 1e-12);
    hx_results_free(&r);
}

Test(report, xy_sorted)
{
    hx_results r;
    init_results(&r);
    double xs[] = {8, 1, 4, 2, 16};
    for (int i = 0; i < 5; i++) hx_xy(&r, "mt", "ours", xs[i], xs[i] * 1000);
    hx_xy(&r, "mt", "peer", 2, 5);
    hx_xy(&r, "other", "ours", 1, 7);
    cr_assert_eq(r.n_ser, 3);
    const hx_series *s = &r.ser[0];
    cr_assert_str_eq(s->plot, "mt");
    cr_assert_str_eq(s->name, "ours");
    cr_assert_eq(s->kind, HX_XY);
    cr_assert_eq(s->n_xy, 5);
    double want[] = {1, 2, 4, 8, 16};
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(s->xy[i][0], want[i]);
        cr_assert_eq(s->xy[i][1], want[i] * 1000, "y did not follow its x");
    }
    cr_assert_eq(r.ser[1].n_xy, 1);
    cr_assert_eq(r.ser[2].xy[0][1], 7);
    for (int i = 0; i < 2 * HX_POINTS; i++) hx_xy(&r, "full", "s", i, i);
    cr_assert_eq(r.ser[3].n_xy, HX_POINTS);
    hx_results_free(&r);
}

/* ---- plots ---- */

/* Whether gnuplot is an executable in one of PATH's directories. */
static int have_gnuplot(void)
{
    const char *path = getenv("PATH");
    char dir[1024], exe[1100];
    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(dir, sizeof dir, "%.*s", (int)n, path);
        snprintf(exe, sizeof exe, "%s/gnuplot", n ? dir : ".");
        if (!access(exe, X_OK)) return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

static void record_plots(hx_results *r)
{
    uint32_t ns[500];
    for (int i = 0; i < 500; i++) ns[i] = 200 + (uint32_t)i * (uint32_t)i;
    hx_dist(r, "get-latency", "bucketdb", ns, 500);
    for (int i = 0; i < 500; i++) ns[i] = 400 + 3 * (uint32_t)i * (uint32_t)i;
    hx_dist(r, "get-latency", "it's rocksdb", ns, 500);
    for (int t = 1; t <= 8; t *= 2) {
        hx_xy(r, "threads", "bucketdb", t, 1e6 * t);
        hx_xy(r, "threads", "lmdb", t, 8e5 * t);
    }
}

Test(report, plots)
{
    hx_results r;
    init_results(&r);
    record_plots(&r);
    cr_assert_eq(hx_report_write(&r, P("out/nested")), 0);
    const char *files[] = {"get-latency.gp", "get-latency-1.dat", "get-latency-2.dat",
                           "threads.gp",     "threads-1.dat",     "threads-2.dat"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "out/nested/%s", files[i]);
        cr_assert(exists(P(rel)), "%s missing", files[i]);
    }
    char *dat = slurp(P("out/nested/threads-2.dat"));
    cr_assert_not_null(strstr(dat, "\n8 6.4e+06\n"), "%s", dat);
    free(dat);
    char *md = slurp(P("out/nested/report.md"));
    if (have_gnuplot()) {
        static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        const char *png[] = {"out/nested/get-latency.png", "out/nested/threads.png"};
        for (int i = 0; i < 2; i++) {
            size_t n;
            uint8_t *p = tf_read(P(png[i]), &n);
            cr_assert_gt(n, sizeof sig);
            cr_assert_eq(memcmp(p, sig, sizeof sig), 0, "%s is not a PNG", png[i]);
            free(p);
        }
        cr_assert_not_null(strstr(md, "![get-latency](get-latency.png)"));
        cr_assert_not_null(strstr(md, "![threads](threads.png)"));
    } else {
        cr_assert_not_null(strstr(md, "get-latency.gp"));
    }
    free(md);
    hx_results_free(&r);
}

Test(report, no_gnuplot, .init = cr_redirect_stderr)
{
    cr_assert_eq(mkdir(P("empty"), 0755), 0);
    setenv("PATH", P("empty"), 1);
    hx_results r;
    init_results(&r);
    record_plots(&r);
    cr_assert_eq(hx_report_write(&r, P("out")), 0);
    cr_assert(exists(P("out/threads.gp")));
    cr_assert(!exists(P("out/threads.png")));
    char *md = slurp(P("out/report.md"));
    cr_assert_not_null(strstr(md, "`get-latency.gp`"));
    cr_assert_not_null(strstr(md, "`threads.gp`"));
    free(md);
    fflush(stderr);
    cr_assert_stderr_eq_str("bdb-perf: gnuplot not found: no PNG plots (install gnuplot-nox)\n");
    hx_results_free(&r);
}

/* ---- truncation ---- */

Test(report, long_strings_cut)
{
    hx_results r;
    init_results(&r);
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    double one[] = {1};
    hx_fig(&r, big, big, big, HX_LOWER, one, 1, big, one, 1, big);
    const hx_figure *f = &r.fig[0];
    cr_assert_eq(strlen(f->scenario), sizeof f->scenario - 1);
    cr_assert_eq(strlen(f->name), sizeof f->name - 1);
    cr_assert_eq(strlen(f->unit), sizeof f->unit - 1);
    cr_assert_eq(strlen(f->peer), sizeof f->peer - 1);
    cr_assert_eq(strlen(f->cond), sizeof f->cond - 1);
    /* 10 × "µ" is 20 bytes; 15 would split the 8th, so 7 stay */
    hx_fig(&r, "s", "f", "µµµµµµµµµµ", HX_LOWER, one, 1, NULL, NULL, 0, NULL);
    cr_assert_str_eq(r.fig[1].unit, "µµµµµµµ");
    cr_assert_eq(r.fig[1].cond[0], 0);
    double many[HX_MAX_ROUNDS + 5];
    for (int i = 0; i < HX_MAX_ROUNDS + 5; i++) many[i] = i;
    hx_fig(&r, "s", "many", "", HX_LOWER, many, HX_MAX_ROUNDS + 5, "p", many, 99, "");
    cr_assert_eq(r.fig[2].n_ours, HX_MAX_ROUNDS);
    cr_assert_eq(r.fig[2].n_peer, HX_MAX_ROUNDS);
    uint32_t ns[] = {5};
    hx_dist(&r, big, big, ns, 1);
    hx_xy(&r, big, big, 1, 1);
    cr_assert_eq(r.n_ser, 2);
    cr_assert_eq(strlen(r.ser[0].plot), sizeof r.ser[0].plot - 1);
    cr_assert_eq(strlen(r.ser[1].name), sizeof r.ser[1].name - 1);
    for (int i = 0; i < 20; i++) hx_note(&r, "%d %s", i, big);
    cr_assert_eq(r.n_notes, 16);
    cr_assert_eq(strlen(r.notes[15]), sizeof r.notes[15] - 1);
    cr_assert(!strncmp(r.notes[15], "15 xxx", 6));
    for (int i = 0; i < 100; i++) hx_fig(&r, "grow", "g", "", HX_LOWER, one, 1, NULL, NULL, 0, "");
    cr_assert_eq(r.n_fig, 103);
    cr_assert_str_eq(r.fig[102].scenario, "grow");
    cr_assert_eq(hx_report_write(&r, P("out")), 0);
    json_t *j = load_json();
    json_decref(j);
    hx_results_free(&r);
}

/* ---- utilities ---- */

Test(report, dir_bytes_warm_rmrf)
{
    static uint8_t buf[3 << 20];
    cr_assert_eq(mkdir(P("t"), 0755), 0);
    cr_assert_eq(mkdir(P("t/sub"), 0755), 0);
    tf_write(P("t/a"), buf, 100);
    tf_write(P("t/sub/b"), buf, 2000);
    tf_write(P("t/sub/c"), buf, sizeof buf);             /* more than one read buffer */
    cr_assert_eq(symlink(P("t/sub/c"), P("t/link")), 0); /* not counted twice */
    cr_assert_eq(hx_dir_bytes(P("t")), 100 + 2000 + sizeof buf);
    cr_assert_eq(hx_dir_bytes(P("t/a")), 100);
    cr_assert_eq(hx_dir_bytes(P("missing")), 0);
    hx_warm(P("t"));
    hx_warm(P("missing"));
    hx_rmrf(P("t"));
    cr_assert(!exists(P("t")));
    hx_rmrf(P("t"));
}

Test(report, peak_rss)
{
    hx_rss_reset();
    double p0 = hx_peak_rss_mib();
    cr_assert_gt(p0, 0);
    size_t n = 64u << 20;
    char *p = malloc(n);
    cr_assert_not_null(p);
    memset(p, 1, n);
    double p1 = hx_peak_rss_mib();
    cr_assert_geq(p1, p0 + 48, "peak %.1f MiB, was %.1f MiB", p1, p0);
    free(p);
}

Test(report, die, .exit_code = 1)
{
    teardown(); /* exit() skips the suite's fini */
    hx_die("fatal %d", 1);
}

/* ---- errors ---- */

Test(report, write_errors, .init = cr_redirect_stderr)
{
    hx_results r;
    init_results(&r);
    double one[] = {1};
    hx_fig(&r, "s", "f", "", HX_LOWER, one, 1, NULL, NULL, 0, "");
    tf_write(P("file"), "x", 1);
    cr_assert_eq(hx_report_write(&r, P("file/sub")), -1, "a directory under a file");
    cr_assert_eq(mkdir(P("full"), 0755), 0);
    cr_assert_eq(symlink("/dev/full", P("full/results.json")), 0);
    cr_assert_eq(hx_report_write(&r, P("full")), -1, "a full disk went unnoticed");
    hx_results_free(&r);
}
