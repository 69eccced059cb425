/* Shared helpers of the bucketdb tool (see cli.h). */
#include "config.h"

#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bucketdb/ledger.h"

const cli_command *cli_find(const char *name)
{
    for (size_t i = 0; i < cli_n_commands; i++)
        if (!strcmp(cli_commands[i].name, name)) return &cli_commands[i];
    return NULL;
}

void cli_usage(FILE *out, const char *cmd)
{
    const cli_command *c = cli_find(cmd);
    if (c) fputs(c->usage, out);
}

static void verr(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "bucketdb %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_err(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr(cmd, fmt, ap);
    va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr(cmd, fmt, ap);
    va_end(ap);
    cli_usage(stderr, cmd);
    return 2;
}

int cli_bad_option(const char *cmd, int c, int argc, char **argv)
{
    const char *arg = optind - 1 < argc ? argv[optind - 1] : "?";
    if (c == ':') return cli_usage_error(cmd, "option %s needs a value", arg);
    if (optopt && optopt < 256) return cli_usage_error(cmd, "unknown option -%c", optopt);
    return cli_usage_error(cmd, "unknown option %s", arg);
}

int cli_parse_u32(const char *cmd, const char *opt, const char *s, uint32_t min, uint32_t max,
                  uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *s == '-' || *s == '+' || *end || errno || v < min || v > max)
        return cli_usage_error(cmd, "%s wants an integer in %u..%u, not '%s'", opt, min, max, s);
    *out = (uint32_t)v;
    return 0;
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) return 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    }
    return 0;
}

/* ---- hex and base64 ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int cli_unhex(const char *s, size_t slen, uint8_t *out, size_t n)
{
    if (slen != 2 * n) return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static const char b64digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void cli_b64encode(const uint8_t *d, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16;
        if (i + 1 < n) v |= (uint32_t)d[i + 1] << 8;
        if (i + 2 < n) v |= d[i + 2];
        out[o++] = b64digits[v >> 18];
        out[o++] = b64digits[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64digits[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64digits[v & 63] : '=';
    }
    out[o] = 0;
}

static int b64val(int c)
{
    const char *p = c ? strchr(b64digits, c) : NULL;
    return p ? (int)(p - b64digits) : -1;
}

long cli_b64decode(const char *s, size_t n, uint8_t *out)
{
    if (n % 4) return -1;
    long o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int j = 0; j < 4; j++) {
            v[j] = s[i + j] == '=' ? -2 : b64val((unsigned char)s[i + j]);
            if (v[j] == -1) return -1;
        }
        if (v[0] < 0 || v[1] < 0) return -1;
        if ((v[2] == -2 || v[3] == -2) && i + 4 != n) return -1;
        if (v[2] == -2 && v[3] != -2) return -1;
        out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
        if (v[2] >= 0) out[o++] = (uint8_t)(v[1] << 4 | v[2] >> 2);
        if (v[3] >= 0) out[o++] = (uint8_t)(v[2] << 6 | v[3]);
    }
    return o;
}

int cli_bucket_name_hash(const char *path, uint8_t hash[32], int *gz)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n < 7 + 64 + 4 || strncmp(base, "bucket-", 7) != 0) return 0;
    const char *tail = base + 7 + 64;
    int is_gz = !strcmp(tail, ".xdr.gz");
    if (!is_gz && strcmp(tail, ".xdr") != 0) return 0;
    /* lowercase only: that is how stellar-core names buckets */
    for (int i = 0; i < 64; i++)
        if (hexval((unsigned char)base[7 + i]) < 0 || (base[7 + i] >= 'A' && base[7 + i] <= 'F'))
            return 0;
    if (cli_unhex(base + 7, 64, hash, 32)) return 0;
    if (gz) *gz = is_gz;
    return 1;
}

/* ---- JSON output ---- */

void cj_init(cli_json *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
}

/* The separator before a value (none after a key). */
static void sep(cli_json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->count[j->depth]++) fputc(',', j->f);
}

static void put_str(cli_json *j, const char *s, size_t n)
{
    fputc('"', j->f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(j->f, "\\%c", c);
        else if (c < 0x20)
            fprintf(j->f, "\\u%04x", c);
        else
            fputc(c, j->f);
    }
    fputc('"', j->f);
}

/* A key and its value count as one member (one separator). */
void cj_key(cli_json *j, const char *key)
{
    sep(j);
    put_str(j, key, strlen(key));
    fputc(':', j->f);
    j->after_key = 1;
}

static void open_(cli_json *j, char c)
{
    sep(j);
    fputc(c, j->f);
    if (j->depth < 15) j->depth++;
    j->count[j->depth] = 0;
}

static void close_(cli_json *j, char c)
{
    fputc(c, j->f);
    if (j->depth > 0) j->depth--;
}

void cj_obj(cli_json *j)
{
    open_(j, '{');
}
void cj_obj_end(cli_json *j)
{
    close_(j, '}');
}
void cj_arr(cli_json *j)
{
    open_(j, '[');
}
void cj_arr_end(cli_json *j)
{
    close_(j, ']');
}

void cj_strn(cli_json *j, const char *s, size_t n)
{
    sep(j);
    put_str(j, s, n);
}

void cj_str(cli_json *j, const char *s)
{
    cj_strn(j, s, strlen(s));
}

void cj_u64(cli_json *j, uint64_t v)
{
    sep(j);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void cj_i64(cli_json *j, int64_t v)
{
    sep(j);
    fprintf(j->f, "%lld", (long long)v);
}

void cj_bool(cli_json *j, int v)
{
    sep(j);
    fputs(v ? "true" : "false", j->f);
}

void cj_null(cli_json *j)
{
    sep(j);
    fputs("null", j->f);
}

void cj_double(cli_json *j, double v)
{
    sep(j);
    fprintf(j->f, "%.6g", v);
}

void cj_raw(cli_json *j, const char *json)
{
    sep(j);
    fputs(json, j->f);
}

void cj_end(cli_json *j)
{
    fputc('\n', j->f);
    cj_init(j, j->f);
}

/* ---- progress ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_progress_start(cli_progress *p, const char *label, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->on = isatty(STDERR_FILENO);
    p->label = label;
    p->total = total;
}

static void draw(cli_progress *p)
{
    enum { WIDTH = 30 };
    double f = p->total ? (double)p->done / (double)p->total : 0;
    if (f > 1) f = 1;
    int fill = (int)(f * WIDTH);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : ' ';
    bar[WIDTH] = 0;
    fprintf(stderr, "\r%s [%s] %3d%%", p->label, bar, (int)(f * 100));
    fflush(stderr);
    p->drawn = 1;
}

void cli_progress_set(cli_progress *p, uint64_t done)
{
    p->done = done;
    if (!p->on) return;
    double t = now_s();
    if (p->drawn && t - p->last < 0.1 && done < p->total) return;
    p->last = t;
    draw(p);
}

void cli_progress_clear(cli_progress *p)
{
    if (!p->on || !p->drawn) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->drawn = 0;
}

void cli_progress_end(cli_progress *p)
{
    cli_progress_clear(p);
    p->on = 0;
}

/* ---- stores ---- */

void cli_store_args_init(cli_store_args *a)
{
    bdb_list_options o;
    bdb_list_options_init(&o);
    a->cutoff_mb = o.index_cutoff_mb;
    a->page_exponent = o.index_page_size_exponent;
    a->cache_mb = o.cache_mb;
}

int cli_store_arg(const char *cmd, int c, const char *val, cli_store_args *a)
{
    switch (c) {
    case 1001:
        return cli_parse_u32(cmd, "--cutoff-mb", val, 0, UINT32_MAX >> 20, &a->cutoff_mb);
    case 1002:
        if (cli_parse_u32(cmd, "--page-exponent", val, 0, 31, &a->page_exponent)) return 2;
        if (a->page_exponent && a->page_exponent < 8)
            return cli_usage_error(cmd, "--page-exponent is 0 or 8..31");
        return 0;
    case 1003:
        return cli_parse_u32(cmd, "--cache-mb", val, 0, UINT32_MAX >> 20, &a->cache_mb);
    }
    return 2;
}

int cli_store_open(const char *cmd, const char *dir, const cli_store_args *a, int read_only,
                   int persist_index, bdb_env **env, bdb_list **l)
{
    *env = NULL;
    *l = NULL;
    bdb_list_options o;
    bdb_list_options_init(&o);
    o.create = 0;
    o.index_cutoff_mb = a->cutoff_mb;
    o.index_page_size_exponent = a->page_exponent;
    o.cache_mb = a->cache_mb;
    o.persist_index = persist_index;
    o.read_only = read_only;
    /* a writable bdb_list_open takes the directory's lock (creating the
     * lock file) before it looks for a store: look first, so that pointing
     * the tool at the wrong directory leaves nothing behind, and so that
     * every command says the same thing about it */
    DIR *d = opendir(dir);
    if (!d) {
        cli_err(cmd, "cannot open the store %s: %s", dir, strerror(errno));
        return 1;
    }
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d))) found = !strncmp(e->d_name, "MANIFEST-", 9);
    closedir(d);
    if (!found) {
        cli_err(cmd, "%s is not a bucketdb store (it has no MANIFEST-* file)", dir);
        return 1;
    }
    if (bdb_env_open(NULL, env)) {
        cli_err(cmd, "cannot start: %s", bdb_errmsg());
        return 1;
    }
    if (bdb_list_open(*env, dir, &o, l)) {
        cli_err(cmd, "cannot open the store %s: %s", dir, bdb_errmsg());
        bdb_env_close(*env);
        *env = NULL;
        return 1;
    }
    return 0;
}

int cli_store_close(const char *cmd, bdb_env *env, bdb_list *l)
{
    int st = 0;
    if (bdb_list_close(l)) {
        cli_err(cmd, "close: %s", bdb_errmsg());
        st = 1;
    }
    if (bdb_env_close(env)) {
        cli_err(cmd, "close: %s", bdb_errmsg());
        st = 1;
    }
    return st;
}

const char *cli_record_type_name(int hot, int32_t type)
{
    if (hot) {
        switch (type) {
        case BDB_HOT_METAENTRY:
            return "HOT_ARCHIVE_METAENTRY";
        case BDB_HOT_ARCHIVED:
            return "HOT_ARCHIVE_ARCHIVED";
        case BDB_HOT_LIVE:
            return "HOT_ARCHIVE_LIVE";
        }
        return "unknown";
    }
    switch (type) {
    case BDB_METAENTRY:
        return "METAENTRY";
    case BDB_LIVEENTRY:
        return "LIVEENTRY";
    case BDB_DEADENTRY:
        return "DEADENTRY";
    case BDB_INITENTRY:
        return "INITENTRY";
    }
    return "unknown";
}
