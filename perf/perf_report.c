/* The perf harness's results: recording figures, distributions and
 * throughput points, and writing them as results.json, report.md and
 * gnuplot plots (perf/harness.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bucketdb/bucketdb.h"

#include "perf/bench_util.h"
#include "perf/harness.h"

/* The one piece of global state: a run with several plots and no gnuplot
 * should say so once, not once per plot. */
static int g_gnuplot_missing_said;

/* ---- small helpers ---- */

/* Copies s into dst[cap] and cuts at a character boundary: a split UTF-8
 * sequence (µ in a unit) would make results.json invalid. */
static void cp(char *dst, size_t cap, const char *s)
{
    if (!s) s = "";
    size_t n = strnlen(s, cap);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    }
    memcpy(dst, s, n);
    dst[n] = 0;
}

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return p;
    size_t c = *cap ? 2 * *cap : 16;
    p = realloc(p, c * size);
    if (!p) hx_die("out of memory");
    *cap = c;
    return p;
}

/* NaNs last, so that sorting is a total order. */
static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

/* The lowest and highest non-NaN values (NaN when there are none). */
static void range(const double *v, int n, double *lo, double *hi)
{
    *lo = *hi = NAN;
    for (int i = 0; i < n; i++) *lo = fmin(*lo, v[i]), *hi = fmax(*hi, v[i]);
}

/* ---- recording ---- */

void hx_fig(hx_results *r, const char *scenario, const char *name, const char *unit, int better,
            const double *ours, int n_ours, const char *peer, const double *peer_v, int n_peer,
            const char *cond)
{
    r->fig = grow(r->fig, &r->cap_fig, r->n_fig, sizeof *r->fig);
    hx_figure *f = &r->fig[r->n_fig++];
    memset(f, 0, sizeof *f);
    cp(f->scenario, sizeof f->scenario, scenario);
    cp(f->name, sizeof f->name, name);
    cp(f->unit, sizeof f->unit, unit);
    cp(f->cond, sizeof f->cond, cond);
    f->better = better;
    f->n_ours = !ours || n_ours < 0 ? 0 : n_ours > HX_MAX_ROUNDS ? HX_MAX_ROUNDS : n_ours;
    if (f->n_ours) memcpy(f->ours, ours, (size_t)f->n_ours * sizeof *ours);
    if (peer && peer_v && n_peer > 0) {
        cp(f->peer, sizeof f->peer, peer);
        f->n_peer = n_peer > HX_MAX_ROUNDS ? HX_MAX_ROUNDS : n_peer;
        memcpy(f->peer_v, peer_v, (size_t)f->n_peer * sizeof *peer_v);
    }
}

/* The series (plot, name), created empty if new; names compare as
 * stored, i.e. truncated. */
static hx_series *series(hx_results *r, const char *plot, const char *name, int kind)
{
    char p[sizeof r->ser->plot], n[sizeof r->ser->name];
    cp(p, sizeof p, plot);
    cp(n, sizeof n, name);
    for (size_t i = 0; i < r->n_ser; i++)
        if (r->ser[i].kind == kind && !strcmp(r->ser[i].plot, p) && !strcmp(r->ser[i].name, n))
            return &r->ser[i];
    r->ser = grow(r->ser, &r->cap_ser, r->n_ser, sizeof *r->ser);
    hx_series *s = &r->ser[r->n_ser++];
    memset(s, 0, sizeof *s);
    memcpy(s->plot, p, sizeof p);
    memcpy(s->name, n, sizeof n);
    s->kind = kind;
    return s;
}

/* Dense in the tail, where latency distributions differ, and at the
 * bottom, so the curve's foot shows on the log-x axis. */
static const double g_pcts[] = {0,  0.1, 0.5, 1,    2,    3,     4,     5,      7.5, 10, 12.5,
                                15, 20,  25,  30,   35,   40,    45,    50,     55,  60, 65,
                                70, 75,  80,  85,   90,   91,    92,    93,     94,  95, 96,
                                97, 98,  99,  99.5, 99.9, 99.95, 99.99, 99.999, 100};
_Static_assert(sizeof g_pcts / sizeof *g_pcts <= HX_QUANTILES, "too many quantiles");

void hx_dist(hx_results *r, const char *plot, const char *name, uint32_t *ns, size_t n)
{
    hx_series *s = series(r, plot, name, HX_DIST);
    s->n_q = 0;
    if (!n) return;
    qsort(ns, n, sizeof *ns, hx_cmp_u32);
    for (size_t i = 0; i < sizeof g_pcts / sizeof *g_pcts; i++) {
        s->q[i][0] = g_pcts[i];
        s->q[i][1] = hx_pct(ns, n, g_pcts[i]) / 1000.0;
        s->n_q++;
    }
}

void hx_xy(hx_results *r, const char *plot, const char *name, double x, double y)
{
    hx_series *s = series(r, plot, name, HX_XY);
    if (s->n_xy == HX_POINTS) return;
    int i = s->n_xy;
    while (i > 0 && s->xy[i - 1][0] > x) i--;
    memmove(s->xy[i + 1], s->xy[i], (size_t)(s->n_xy - i) * sizeof s->xy[0]);
    s->xy[i][0] = x, s->xy[i][1] = y;
    s->n_xy++;
}

void hx_note(hx_results *r, const char *fmt, ...)
{
    if (r->n_notes >= (int)(sizeof r->notes / sizeof *r->notes)) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cp(r->notes[r->n_notes++], sizeof r->notes[0], buf);
}

/* Frees the arrays only: r itself is the caller's (usually on its stack). */
void hx_results_free(hx_results *r)
{
    free(r->fig);
    free(r->ser);
    r->fig = NULL, r->ser = NULL;
    r->n_fig = r->cap_fig = r->n_ser = r->cap_ser = 0;
}

/* ---- utilities ---- */

double hx_pct(const uint32_t *sorted, size_t n, double p)
{
    if (!n) return 0;
    /* nearest rank; the epsilon keeps 99.9 % of 1000 at rank 999 despite
     * 99.9 not being exact in binary */
    double rank = ceil(p / 100.0 * (double)n - 1e-9);
    size_t k = rank < 1 ? 1 : rank > (double)n ? n : (size_t)rank;
    return sorted[k - 1];
}

/* A NaN sample (a failed round) makes the median NaN rather than hiding. */
double hx_median(const double *v, int n)
{
    if (n <= 0) return NAN;
    double *c = malloc((size_t)n * sizeof *c);
    if (!c) hx_die("out of memory");
    memcpy(c, v, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, cmp_dbl);
    double m = isnan(c[n - 1]) ? NAN : n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    free(c);
    return m;
}

double hx_peak_rss_mib(void)
{
    long kib = status_kib("VmHWM");
    return kib < 0 ? NAN : (double)kib / 1024;
}

void hx_rss_reset(void)
{
    reset_peak_rss(); /* refused by old kernels: the peak stays the process's */
}

/* Calls fn on every regular file under path, without following symlinks. */
static void walk(const char *path, void (*fn)(const char *, const struct stat *, void *), void *ctx)
{
    struct stat st;
    if (lstat(path, &st)) return;
    if (S_ISREG(st.st_mode)) fn(path, &st, ctx);
    if (!S_ISDIR(st.st_mode)) return;
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    char sub[PATH_MAX];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= (int)sizeof sub) continue;
        walk(sub, fn, ctx);
    }
    closedir(d);
}

static void add_size(const char *path, const struct stat *st, void *ctx)
{
    (void)path;
    *(uint64_t *)ctx += (uint64_t)st->st_size;
}

uint64_t hx_dir_bytes(const char *path)
{
    uint64_t n = 0;
    walk(path, add_size, &n);
    return n;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(p);
    return 0; /* go on: remove what can be removed */
}

void hx_rmrf(const char *path)
{
    nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

static void read_all(const char *path, const struct stat *st, void *buf)
{
    (void)st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
    while (read(fd, buf, 1 << 20) > 0) {
    }
    close(fd);
}

void hx_warm(const char *path)
{
    void *buf = malloc(1 << 20);
    if (!buf) hx_die("out of memory");
    walk(path, read_all, buf);
    free(buf);
}

void hx_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bdb-perf: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---- the machine ---- */

/* What compiled the harness: a report of an unoptimized or sanitized
 * build must say so. */
#ifdef __clang__
#define HX_CC "clang " __clang_version__
#else
#define HX_CC "gcc " __VERSION__
#endif
#ifdef __OPTIMIZE__
#define HX_OPT ""
#else
#define HX_OPT ", not optimized"
#endif
#ifdef __SANITIZE_ADDRESS__
#define HX_SAN ", ASan"
#else
#define HX_SAN ""
#endif

typedef struct machine {
    char cpu[128], kernel[128], fs[16], compiler[160];
    long cpus;
    double mem_gib, free_gib;
} machine;

static void machine_get(machine *m, const char *dir)
{
    memset(m, 0, sizeof *m);
    cp(m->cpu, sizeof m->cpu, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char *c = strchr(line, ':');
        if (strncmp(line, "model name", 10) || !c) continue;
        c += strspn(c + 1, " \t") + 1;
        c[strcspn(c, "\n")] = 0;
        cp(m->cpu, sizeof m->cpu, c);
        break;
    }
    if (f) fclose(f);
    m->cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long kib = proc_kib("/proc/meminfo", "MemTotal");
    m->mem_gib = kib < 0 ? NAN : (double)kib / (1024.0 * 1024.0);
    struct utsname u;
    if (!uname(&u)) snprintf(m->kernel, sizeof m->kernel, "%.60s %.60s", u.sysname, u.release);
    static const struct {
        unsigned long magic;
        const char *name;
    } fss[] = {{0xEF53, "ext4"},          {0x58465342, "xfs"},
               {0x01021994, "tmpfs"},     {0x9123683E, "btrfs"},
               {0x794c7630, "overlayfs"}, {0x2fc12fc1, "zfs"},
               {0xF2F52010, "f2fs"},      {0x6969, "nfs"}};
    struct statfs sf;
    m->free_gib = NAN;
    if (!statfs(dir, &sf)) {
        snprintf(m->fs, sizeof m->fs, "0x%lx", (unsigned long)sf.f_type);
        for (size_t i = 0; i < sizeof fss / sizeof *fss; i++)
            if ((unsigned long)sf.f_type == fss[i].magic) cp(m->fs, sizeof m->fs, fss[i].name);
        m->free_gib = (double)sf.f_bavail * (double)sf.f_bsize / (1024.0 * 1024.0 * 1024.0);
    }
    cp(m->compiler, sizeof m->compiler, HX_CC HX_OPT HX_SAN);
}

/* ---- JSON ---- */

/* A JSON string; the callers' text is UTF-8 (cp() cuts at character
 * boundaries), so only quotes, backslashes and controls need escapes. */
static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        fprintf(f, *p == '"' || *p == '\\' ? "\\%c" : *p < 0x20 ? "\\u%04x" : "%c", *p);
    fputc('"', f);
}

static void jnum(FILE *f, double v)
{
    (void)(isfinite(v) ? fprintf(f, "%.6g", v) : fputs("null", f));
}

static void jsamples(FILE *f, const char *peer, const double *v, int n)
{
    double lo, hi;
    range(v, n, &lo, &hi);
    fputc('{', f);
    if (peer) fputs("\"name\": ", f), jstr(f, peer), fputs(", ", f);
    fputs("\"median\": ", f), jnum(f, hx_median(v, n));
    fputs(", \"min\": ", f), jnum(f, lo);
    fputs(", \"max\": ", f), jnum(f, hi);
    fputs(", \"samples\": [", f);
    for (int i = 0; i < n; i++) fputs(i ? ", " : "", f), jnum(f, v[i]);
    fputs("]}", f);
}

static void json_write(FILE *f, const hx_results *r, const machine *m)
{
    const hx_scale *s = r->scale;
    fputs("{\n  \"scale\": ", f);
    if (s) {
        fputs("{\"name\": ", f), jstr(f, s->name);
        fprintf(f,
                ", \"entries\": %" PRIu64 ", \"map_keys\": %" PRIu64
                ", \"rounds\": %d, \"import_rounds\": %d, \"gets\": %" PRIu32
                ", \"ledgers\": %" PRIu32 ", \"batch\": %" PRIu32 ", \"map_sample\": %" PRIu32 "}",
                s->entries, s->map_keys, s->rounds, s->import_rounds, s->gets, s->ledgers, s->batch,
                s->map_sample);
    } else {
        fputs("null", f);
    }
    /* beyond 2^53 many JSON readers lose digits, and jansson rejects
     * values beyond 2^63: such seeds are written as strings */
    fprintf(f, r->seed >> 53 ? ",\n  \"seed\": \"%" PRIu64 "\"" : ",\n  \"seed\": %" PRIu64,
            r->seed);
    fputs(",\n  \"started\": ", f), jstr(f, r->started);
    fputs(",\n  \"wall_s\": ", f), jnum(f, r->wall_s);
    fputs(",\n  \"machine\": {\"cpu\": ", f), jstr(f, m->cpu);
    fprintf(f, ", \"cpus\": %ld, \"mem_gib\": ", m->cpus), jnum(f, round(m->mem_gib * 10) / 10);
    fputs(", \"kernel\": ", f), jstr(f, m->kernel);
    fputs(", \"fs\": ", f), jstr(f, m->fs);
    fputs(", \"free_gib\": ", f), jnum(f, round(m->free_gib * 10) / 10);
    fputs(", \"compiler\": ", f), jstr(f, m->compiler);
    fputs(", \"bucketdb\": ", f), jstr(f, bdb_version());
    fprintf(f, "},\n  \"checks\": {\"checked\": %" PRIu64 ", \"wrong\": %" PRIu64 "}", r->checked,
            r->wrong);
    fputs(",\n  \"notes\": [", f);
    for (int i = 0; i < r->n_notes; i++) fputs(i ? ", " : "", f), jstr(f, r->notes[i]);
    fputs("],\n  \"figures\": [", f);
    for (size_t i = 0; i < r->n_fig; i++) {
        const hx_figure *g = &r->fig[i];
        fputs(i ? ",\n    {" : "\n    {", f);
        fputs("\"scenario\": ", f), jstr(f, g->scenario);
        fputs(", \"figure\": ", f), jstr(f, g->name);
        fputs(", \"unit\": ", f), jstr(f, g->unit);
        fprintf(f, ", \"better\": \"%s\", \"ours\": ", g->better == HX_HIGHER ? "higher" : "lower");
        jsamples(f, NULL, g->ours, g->n_ours);
        fputs(", \"peer\": ", f);
        g->n_peer ? jsamples(f, g->peer, g->peer_v, g->n_peer) : (void)fputs("null", f);
        fputs(", \"ratio\": ", f);
        jnum(f, g->n_peer ? hx_median(g->ours, g->n_ours) / hx_median(g->peer_v, g->n_peer) : NAN);
        fputs(", \"conditions\": ", f), jstr(f, g->cond);
        fputc('}', f);
    }
    /* points are [x, y] as plotted: latency [µs, percentile], throughput
     * [threads, operations per second] */
    fputs("\n  ],\n  \"plots\": [", f);
    for (size_t i = 0; i < r->n_ser; i++) {
        const hx_series *s2 = &r->ser[i];
        int dist = s2->kind == HX_DIST, n = dist ? s2->n_q : s2->n_xy;
        fputs(i ? ",\n    {\"plot\": " : "\n    {\"plot\": ", f), jstr(f, s2->plot);
        fputs(", \"series\": ", f), jstr(f, s2->name);
        fprintf(f, ", \"kind\": \"%s\", \"points\": [", dist ? "latency" : "throughput");
        for (int k = 0; k < n; k++) {
            fputs(k ? ", [" : "[", f);
            jnum(f, dist ? s2->q[k][1] : s2->xy[k][0]), fputs(", ", f);
            jnum(f, dist ? s2->q[k][0] : s2->xy[k][1]), fputc(']', f);
        }
        fputs("]}", f);
    }
    fputs("\n  ]\n}\n", f);
}

/* ---- the table ---- */

/* v with 3 significant digits, all integer digits from 100 up. */
static void fmt_val(char *buf, size_t cap, double v)
{
    char t[32];
    snprintf(t, sizeof t, "%.2e", v);
    double a = fabs(strtod(t, NULL)); /* rounded first: 9.996 has 2 decimals, not 3 */
    if (!isfinite(v))
        cp(buf, cap, "n/a");
    else if (a < 1e-4 && a > 0)
        cp(buf, cap, t);
    else
        snprintf(buf, cap, "%.*f", a >= 100 || a == 0 ? 0 : 2 - (int)floor(log10(a)), v);
}

/* "median unit (min–max)", the range when there are several samples. */
static void fmt_cell(char *buf, size_t cap, const double *v, int n, const char *unit)
{
    cp(buf, cap, "—");
    if (n <= 0) return;
    char m[32], lo[32], hi[32];
    double l, h;
    range(v, n, &l, &h);
    fmt_val(m, sizeof m, hx_median(v, n));
    fmt_val(lo, sizeof lo, l);
    fmt_val(hi, sizeof hi, h);
    int k = snprintf(buf, cap, "%s%s%s", m, *unit ? " " : "", unit);
    if (n > 1 && k >= 0 && (size_t)k < cap) snprintf(buf + k, cap - (size_t)k, " (%s–%s)", lo, hi);
}

/* Text in a table cell: a '|' or a line break would end it. */
static void md_cell(FILE *f, const char *s)
{
    fputs("| ", f);
    for (; *s; s++) {
        if (*s == '|') fputc('\\', f);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
    fputc(' ', f);
}

static void table(FILE *f, const hx_results *r)
{
    fputs("| scenario | figure | ours | peer | peer's | ours/peer | better |\n"
          "|---|---|---:|---|---:|---:|---|\n",
          f);
    for (size_t i = 0; i < r->n_fig; i++) {
        const hx_figure *g = &r->fig[i];
        char ours[96], peer[96], ratio[32];
        const char *better = "—";
        fmt_cell(ours, sizeof ours, g->ours, g->n_ours, g->unit);
        fmt_cell(peer, sizeof peer, g->peer_v, g->n_peer, g->unit);
        double a = hx_median(g->ours, g->n_ours), b = hx_median(g->peer_v, g->n_peer);
        cp(ratio, sizeof ratio, "—");
        if (g->n_peer && g->n_ours && isfinite(a / b))
            snprintf(ratio, sizeof ratio, "%.2f×", a / b);
        if (g->n_peer && g->n_ours && isfinite(a) && isfinite(b)) {
            better = fabs(a - b) <= 0.02 * fmax(fabs(a), fabs(b)) ? "tie"
                     : (g->better == HX_HIGHER) == (a > b)        ? "ours"
                                                                  : g->peer;
        }
        md_cell(f, g->scenario), md_cell(f, g->name), md_cell(f, ours);
        md_cell(f, g->n_peer ? g->peer : "—"), md_cell(f, peer), md_cell(f, ratio);
        md_cell(f, better);
        fputs("|\n", f);
    }
}

void hx_report_print_table(const hx_results *r)
{
    table(stdout, r);
    fflush(stdout);
}

/* ---- files ---- */

static int path_in(char *buf, size_t cap, const char *dir, const char *name)
{
    if (snprintf(buf, cap, "%s/%s", dir, name) < (int)cap) return 0;
    fprintf(stderr, "bdb-perf: path too long: %s/%s\n", dir, name);
    return -1;
}

static FILE *out_open(const char *dir, const char *name)
{
    char p[PATH_MAX];
    if (path_in(p, sizeof p, dir, name)) return NULL;
    FILE *f = fopen(p, "w");
    if (!f) fprintf(stderr, "bdb-perf: %s: %s\n", p, strerror(errno));
    return f;
}

/* Closes f; -1 with a message if any write to it failed. */
static int out_close(FILE *f, const char *dir, const char *name)
{
    int bad = ferror(f);
    int e = errno;
    if (fclose(f)) bad = 1, e = errno;
    if (!bad) return 0;
    fprintf(stderr, "bdb-perf: writing %s/%s: %s\n", dir, name, strerror(e));
    return -1;
}

static int mkdir_p(const char *dir)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return errno = ENAMETOOLONG, -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0755) && errno != EEXIST) return -1;
        *s = '/';
    }
    if (mkdir(p, 0755) && errno != EEXIST) return -1;
    struct stat st;
    if (stat(p, &st)) return -1;
    return S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
}

/* The plot id as a file name: letters, digits, '.', '-', '_' only. */
static void file_id(char *buf, size_t cap, const char *plot)
{
    cp(buf, cap, plot);
    for (char *s = buf; *s; s++)
        if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9') &&
            *s != '.' && *s != '-' && *s != '_')
            *s = '_';
    if (!*buf || *buf == '.') buf[0] = '_', buf[1] = 0;
}

/* A gnuplot single-quoted string ('' is a quote inside). */
static void gp_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

/* Whether series i is the first of its plot. */
static int plot_first(const hx_results *r, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (!strcmp(r->ser[k].plot, r->ser[i].plot)) return 0;
    return 1;
}

/* The points of the plot of series i, over its series. */
static int plot_points(const hx_results *r, size_t i)
{
    int n = 0;
    for (size_t k = i; k < r->n_ser; k++)
        if (!strcmp(r->ser[k].plot, r->ser[i].plot))
            n += r->ser[k].kind == HX_DIST ? r->ser[k].n_q : r->ser[k].n_xy;
    return n;
}

/* The data files and gnuplot script of the plot of series i. */
static int plot_write(const hx_results *r, size_t i, const char *dir)
{
    const hx_series *s0 = &r->ser[i];
    int dist = s0->kind == HX_DIST, n = 0;
    char id[sizeof s0->plot], name[sizeof id + 16];
    file_id(id, sizeof id, s0->plot);
    snprintf(name, sizeof name, "%s.gp", id);
    FILE *g = out_open(dir, name);
    if (!g) return -1;
    fprintf(g, "set terminal png size 900,560\nset termoption noenhanced\nset encoding utf8\n");
    fprintf(g, "set output '%s.png'\nset title ", id), gp_str(g, s0->plot);
    if (dist)
        fputs("\nset logscale x\nset xlabel 'latency (µs)'\nset ylabel 'percentile'\n"
              "set yrange [0:100]\nset ytics 10\nset key bottom right\n",
              g);
    else
        fputs("\nset xlabel 'threads'\nset ylabel 'operations per second'\n"
              "set format x '%.0f'\nset format y '%.1s%c'\nset xrange [0:*]\nset yrange [0:*]\n"
              "set key top left\n",
              g);
    double xmax = 0; /* one tic per thread count, unless they would crowd */
    for (size_t k = i; k < r->n_ser; k++)
        if (!strcmp(r->ser[k].plot, s0->plot) && r->ser[k].n_xy)
            xmax = fmax(xmax, r->ser[k].xy[r->ser[k].n_xy - 1][0]);
    if (!dist && xmax <= 16) fputs("set xtics 1\n", g);
    fputs("set grid\nplot", g);
    for (size_t k = i; k < r->n_ser; k++) {
        const hx_series *s = &r->ser[k];
        int np = s->kind == HX_DIST ? s->n_q : s->n_xy;
        if (strcmp(s->plot, s0->plot) || !np) continue;
        char dat[sizeof name];
        snprintf(dat, sizeof dat, "%s-%d.dat", id, ++n);
        FILE *d = out_open(dir, dat);
        if (!d) return fclose(g), -1;
        fprintf(d, "# %s: %s\n", s->name, s->kind == HX_DIST ? "µs percentile" : "threads ops/s");
        for (int p = 0; p < np; p++) {
            double x = s->kind == HX_DIST ? s->q[p][1] : s->xy[p][0];
            double y = s->kind == HX_DIST ? s->q[p][0] : s->xy[p][1];
            if (isfinite(x) && isfinite(y)) fprintf(d, "%.6g %.6g\n", x, y);
        }
        if (out_close(d, dir, dat)) return fclose(g), -1;
        fprintf(g, "%s '%s' using 1:2 with linespoints lw 2 title ", n > 1 ? ", \\\n    " : "",
                dat);
        gp_str(g, s->name);
    }
    fputc('\n', g);
    return out_close(g, dir, name);
}

/* Runs gnuplot on script in dir: 0 if it made the plot, 1 if gnuplot is
 * missing, -1 if it failed (reported). */
static int gnuplot_run(const char *dir, const char *script)
{
    fflush(NULL); /* else the child's exit would write our buffers twice */
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bdb-perf: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (chdir(dir)) _exit(126);
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
        if (!g_gnuplot_missing_said++)
            fprintf(stderr, "bdb-perf: gnuplot not found: no PNG plots (install gnuplot-nox)\n");
        return 1;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
    fprintf(stderr, "bdb-perf: gnuplot %s/%s failed (status %d)\n", dir, script, st);
    return -1;
}

/* ---- report.md ---- */

static void md_write(FILE *f, const hx_results *r, const machine *m, const char *dir,
                     const int *png)
{
    const hx_scale *s = r->scale;
    fprintf(f, "# bucketdb perf report: scale %s\n\n", s && s->name ? s->name : "?");
    fprintf(f, "Run started %s, seed %" PRIu64 ".", r->started, r->seed);
    if (s)
        fprintf(f,
                " %" PRIu64 " ledger entries, %" PRIu64 " map keys, %d rounds per measurement"
                " (%d of the population).",
                s->entries, s->map_keys, s->rounds, s->import_rounds);
    fprintf(f,
            " Wall time %.0f s. Answers checked against the generator: %" PRIu64 ", wrong: %" PRIu64
            ".\n\n",
            r->wall_s, r->checked, r->wrong);
    fprintf(f, "## Machine\n\n- CPU: %s (%ld online)\n- memory: %.1f GiB\n- kernel: %s\n", m->cpu,
            m->cpus, m->mem_gib, m->kernel);
    fprintf(f, "- file system of %s: %s, %.1f GiB free\n- compiler: %s\n- bucketdb: %s\n\n", dir,
            m->fs, m->free_gib, m->compiler, bdb_version());
    fputs("## Figures\n\nMedians over rounds, the range in parentheses.\n\n", f);
    table(f, r);
    fputs("\n## Conditions\n\n", f);
    for (size_t i = 0; i < r->n_fig; i++) {
        const hx_figure *g = &r->fig[i];
        int seen = !*g->cond, others = 0;
        for (size_t k = 0; k < r->n_fig && !seen; k++) {
            const hx_figure *h = &r->fig[k];
            if (strcmp(h->scenario, g->scenario)) continue;
            if (strcmp(h->cond, g->cond))
                others |= *h->cond != 0;
            else
                seen = k < i;
        }
        if (seen) continue;
        fprintf(f, "- **%s**", g->scenario);
        /* a scenario with several conditions: say which figures each is of */
        for (size_t k = i, n = 0; others && k < r->n_fig; k++)
            if (!strcmp(r->fig[k].scenario, g->scenario) && !strcmp(r->fig[k].cond, g->cond))
                fprintf(f, "%s%s", n++ ? ", " : " (", r->fig[k].name);
        fprintf(f, "%s: %s\n", others ? ")" : "", g->cond);
    }
    for (int i = 0; i < r->n_notes; i++) fprintf(f, "- %s\n", r->notes[i]);
    fputs("\n## Plots\n\n", f);
    for (size_t i = 0; i < r->n_ser; i++) {
        if (!plot_first(r, i) || !plot_points(r, i)) continue;
        char id[sizeof r->ser->plot];
        file_id(id, sizeof id, r->ser[i].plot);
        if (png[i])
            fprintf(f, "![%s](%s.png)\n\n", r->ser[i].plot, id);
        else
            fprintf(f, "- `%s.gp` (no PNG: run `gnuplot %s.gp` in this directory)\n\n", id, id);
    }
}

int hx_report_write(const hx_results *r, const char *dir)
{
    if (mkdir_p(dir)) {
        fprintf(stderr, "bdb-perf: mkdir %s: %s\n", dir, strerror(errno));
        return -1;
    }
    machine m;
    machine_get(&m, dir);
    FILE *f = out_open(dir, "results.json");
    if (!f) return -1;
    json_write(f, r, &m);
    if (out_close(f, dir, "results.json")) return -1;

    int *png = calloc(r->n_ser + 1, sizeof *png);
    if (!png) hx_die("out of memory");
    int rc = 0;
    for (size_t i = 0; i < r->n_ser && !rc; i++) {
        if (!plot_first(r, i)) continue;
        char id[sizeof r->ser->plot], name[sizeof id + 8], p[PATH_MAX];
        file_id(id, sizeof id, r->ser[i].plot);
        snprintf(name, sizeof name, "%s.png", id);
        if (!plot_points(r, i)) continue;
        if (plot_write(r, i, dir) || path_in(p, sizeof p, dir, name)) {
            rc = -1;
            break;
        }
        unlink(p); /* a PNG of an earlier run is not this run's plot */
        if (g_gnuplot_missing_said) continue;
        snprintf(name, sizeof name, "%s.gp", id);
        png[i] = gnuplot_run(dir, name) == 0 && !access(p, F_OK);
    }
    if (!rc && (f = out_open(dir, "report.md"))) {
        md_write(f, r, &m, dir, png);
        rc = out_close(f, dir, "report.md");
    } else {
        rc = -1;
    }
    free(png);
    return rc;
}
