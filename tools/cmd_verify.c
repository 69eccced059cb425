/* `bucketdb verify FILE|DIR...`: framing and hash of bucket files, plain
 * or gzipped, against their names, through bdb_bucket_verify (streaming:
 * no decompressed copy is written). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "walk.h"
#include "bucketdb/bucket.h"
#include "cli.h"

typedef struct target {
    char *path;
    uint64_t size;
} target;

typedef struct targets {
    target *v;
    size_t n, cap;
} targets;

static int add(targets *t, const char *path, uint64_t size)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        target *v = realloc(t->v, cap * sizeof *v);
        if (!v) return -1;
        t->v = v;
        t->cap = cap;
    }
    if (!(t->v[t->n].path = strdup(path))) return -1;
    t->v[t->n++].size = size;
    return 0;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const target *)a)->path, ((const target *)b)->path);
}

/* The bucket files of directory `dir`, sorted by name. */
static int scan_dir(const char *dir, targets *t)
{
    DIR *d = opendir(dir);
    if (!d) {
        cli_err("verify", "%s: cannot read the directory: %s", dir, strerror(errno));
        return 1;
    }
    size_t first = t->n;
    struct dirent *e;
    char path[4096];
    int rc = 0;
    while ((e = readdir(d))) {
        uint8_t h[32];
        if (!cli_bucket_name_hash(e->d_name, h, NULL)) continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path) continue;
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (add(t, path, (uint64_t)st.st_size)) {
            cli_err("verify", "out of memory");
            rc = 1;
            break;
        }
    }
    closedir(d);
    qsort(t->v + first, t->n - first, sizeof *t->v, by_path);
    return rc;
}

/* The error without the "PATH: " the library's messages name the file
 * with (the line names it already). */
static const char *without_path(char *err, const char *path)
{
    size_t n = strlen(path);
    char *at = strstr(err, path);
    if (at && at[n] == ':' && at[n + 1] == ' ') memmove(at, at + n + 2, strlen(at + n + 2) + 1);
    return err;
}

/* Checks one file; returns 0 when it is ok, else writes why into err. */
static int verify_one(bdb_env *env, const char *path, uint64_t *records, uint64_t *bytes, char *err,
                      size_t errcap)
{
    uint8_t want[32];
    int gz;
    *records = *bytes = 0;
    if (!cli_bucket_name_hash(path, want, &gz)) {
        snprintf(err, errcap, "the name is not bucket-<64 hex>.xdr or .xdr.gz");
        return -1;
    }
    /* the name must say what the content is (the library takes either) */
    uint8_t magic[2] = {0, 0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(magic, 1, 2, f) : 0;
    if (f) fclose(f);
    int gz_content = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (f && gz != gz_content) {
        snprintf(err, errcap, "%s", gz ? "named .gz but not gzip data" : "gzip data named .xdr");
        return -1;
    }
    if (bdb_bucket_verify(env, path, want, bytes, records) == 0) return 0;
    snprintf(err, errcap, "%s", bdb_errmsg());
    return -1;
}

int cmd_verify_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"json", 0, NULL, 'j'}, {NULL, 0, NULL, 0}};
    int json = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else
            return cli_bad_option("verify", c, argc, argv);
    }
    if (optind >= argc) return cli_usage_error("verify", "expected FILE or DIR arguments");
    targets t = {0};
    int status = 0;
    uint64_t total = 0;
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            if (scan_dir(argv[i], &t)) status = 1;
        } else if (add(&t, argv[i], stat(argv[i], &st) == 0 ? (uint64_t)st.st_size : 0)) {
            cli_err("verify", "out of memory");
            status = 1;
        }
    }
    for (size_t i = 0; i < t.n; i++) total += t.v[i].size;
    bdb_env *env = NULL;
    int have_env = bdb_env_open(NULL, &env) == 0;
    if (!have_env) {
        cli_err("verify", "cannot start: %s", bdb_errmsg());
        status = 1;
    }
    if (!t.n && !status) cli_err("verify", "no bucket files found");
    cli_progress p;
    cli_progress_start(&p, "verify", total);
    uint64_t done = 0;
    for (size_t i = 0; have_env && i < t.n; i++) {
        const char *path = t.v[i].path;
        uint64_t records, bytes;
        char err[1024] = "";
        int ok = verify_one(env, path, &records, &bytes, err, sizeof err) == 0;
        if (!ok) status = 1;
        cli_progress_clear(&p);
        if (json) {
            cli_json j;
            cj_init(&j, stdout);
            cj_obj(&j);
            cj_key(&j, "file");
            cj_str(&j, path);
            cj_key(&j, "ok");
            cj_bool(&j, ok);
            if (ok) {
                cj_key(&j, "records");
                cj_u64(&j, records);
                cj_key(&j, "bytes");
                cj_u64(&j, bytes);
            } else {
                cj_key(&j, "error");
                cj_str(&j, err);
            }
            cj_obj_end(&j);
            cj_end(&j);
        } else if (ok) {
            printf("ok %s (%llu records, %llu bytes)\n", path, (unsigned long long)records,
                   (unsigned long long)bytes);
        } else {
            printf("FAILED %s: %s\n", path, without_path(err, path));
        }
        fflush(stdout);
        done += t.v[i].size;
        cli_progress_set(&p, done);
    }
    cli_progress_end(&p);
    for (size_t i = 0; i < t.n; i++) free(t.v[i].path);
    free(t.v);
    bdb_env_close(env);
    return status;
}
