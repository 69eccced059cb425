/* `bucketdb index STORE`: writes the persisted page indexes of a store's
 * bucket files. The store is opened with persist_index off, so open
 * builds every index from its file by a scan and neither reads nor writes
 * index files; the tool then checks each existing index file against the
 * store's configuration (bdbi_index_load, as open would) and writes those
 * that are missing or invalid, reporting each file, which the library's
 * open does silently.
 *
 * Unlike get and stats it opens the store writable, with the exclusive
 * lock: it writes into the directory, and read-only handles are promised
 * (by their shared lock) that nobody does while they hold it; and its
 * report of index files whose buckets are gone relies on the writable
 * open's cleanup removing them. */
#include "config.h"

#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "list/store.h"

typedef struct item {
    bdbi_lbucket *b; /* a reference */
    uint32_t f;
} item;

static int by_name(const void *x, const void *y)
{
    const item *a = x, *b = y;
    return strcmp(a->b->files[a->f].name, b->b->files[b->f].name);
}

/* Names of the index files in dir (for what open removed); sorted. */
static char **list_index_files(const char *dir, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    size_t cap = 0;
    char **v = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "bucket-", 7) != 0 || len < 6 ||
            strcmp(e->d_name + len - 6, ".index") != 0)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nv = realloc(v, cap * sizeof *v);
            if (!nv) break;
            v = nv;
        }
        if (!(v[*n] = strdup(e->d_name))) break;
        (*n)++;
    }
    closedir(d);
    return v;
}

static int exists_in(char **v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], name)) return 1;
    return 0;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Every registered bucket's files (the levels' buckets, and finished
 * merge outputs not committed yet), each with a reference. */
static item *collect(bdb_list *l, size_t *n)
{
    *n = 0;
    pthread_mutex_lock(&l->reg_mu);
    size_t total = 0;
    for (size_t i = 0; i < l->reg_cap; i++)
        for (bdbi_lbucket *b = l->reg[i]; b; b = b->reg_next) total += b->n_files;
    item *v = calloc(total ? total : 1, sizeof *v);
    for (size_t i = 0; v && i < l->reg_cap; i++)
        for (bdbi_lbucket *b = l->reg[i]; b; b = b->reg_next)
            for (uint32_t f = 0; f < b->n_files; f++) v[(*n)++] = (item){bdbi_lbucket_ref(b), f};
    pthread_mutex_unlock(&l->reg_mu);
    if (v) qsort(v, *n, sizeof *v, by_name);
    return v;
}

int cmd_index_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"rebuild", 0, NULL, 'r'}, CLI_STORE_LONGOPTS, {NULL, 0, NULL, 0}};
    cli_store_args sa;
    cli_store_args_init(&sa);
    int rebuild = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c == 'r')
            rebuild = 1;
        else if (c >= 1001 && c <= 1003) {
            if (cli_store_arg("index", c, optarg, &sa)) return 2;
        } else
            return cli_bad_option("index", c, argc, argv);
    }
    if (optind != argc - 1) return cli_usage_error("index", "expected one STORE directory");
    const char *dir = argv[optind];
    size_t n_before;
    char **before = list_index_files(dir, &n_before);
    bdb_env *env;
    bdb_list *l;
    if (cli_store_open("index", dir, &sa, 0, 0, &env, &l)) {
        free_names(before, n_before);
        return 1;
    }
    size_t n_after, n;
    char **after = list_index_files(dir, &n_after);
    item *items = collect(l, &n);
    int status = items ? 0 : 1;
    if (!items) cli_err("index", "out of memory");
    uint64_t total = 0, done = 0;
    for (size_t i = 0; i < n; i++) total += items[i].b->files[items[i].f].size;
    unsigned wrote = 0, replaced = 0, kept = 0, exact = 0, failed = 0, removed = 0;
    cli_progress p;
    cli_progress_start(&p, "index", total);
    for (size_t i = 0; i < n; i++) {
        const bdbi_lbucket *b = items[i].b;
        const bdbi_lfile *lf = &b->files[items[i].f];
        char ipath[PATH_MAX], why[600] = "";
        const char *iname = NULL, *action;
        int write = 0;
        if (!lf->idx || bdbi_index_form(lf->idx) == 0) {
            action = "exact";
            exact++;
        } else if (bdbi_lbucket_index_path(l, b, items[i].f, ipath, sizeof ipath)) {
            action = "FAILED";
            snprintf(why, sizeof why, " (%s)", bdb_errmsg());
            failed++;
        } else {
            iname = strrchr(ipath, '/') ? strrchr(ipath, '/') + 1 : ipath;
            bdbi_index_params ip;
            bdbi_list_index_params(l, b->hot, &ip);
            bdbi_index *old = NULL;
            int rc = bdbi_index_load(env, ipath, &ip, lf->size, lf->xxh, &old);
            bdbi_index_free(env, old);
            if (rc == 0 && !rebuild) {
                action = "kept";
                kept++;
            } else {
                write = 1;
                action = rc == BDB_ENOTFOUND ? "wrote" : "replaced";
                if (rc && rc != BDB_ENOTFOUND) snprintf(why, sizeof why, " (%s)", bdb_errmsg());
            }
        }
        if (write) {
            if (bdbi_index_save(env, lf->idx, ipath, lf->size, lf->xxh, 0)) {
                action = "FAILED";
                snprintf(why, sizeof why, " (%s)", bdb_errmsg());
                failed++;
            } else if (!strcmp(action, "wrote")) {
                wrote++;
            } else {
                replaced++;
            }
        }
        cli_progress_clear(&p);
        if (iname)
            printf("%-8s %s (%llu records, %llu-byte pages)%s\n", action, iname,
                   (unsigned long long)bdbi_index_records(lf->idx),
                   (unsigned long long)bdbi_index_form(lf->idx), why);
        else
            printf("%-8s %s (%llu bytes, below the cutoff: exact index, not persisted)%s\n", action,
                   lf->name, (unsigned long long)lf->size, why);
        done += lf->size;
        cli_progress_set(&p, done);
    }
    cli_progress_end(&p);
    if (failed) status = 1;
    /* index files whose buckets the store no longer has: open removed them */
    for (size_t i = 0; i < n_before; i++)
        if (!exists_in(after, n_after, before[i])) {
            printf("removed  %s (no such bucket in the store)\n", before[i]);
            removed++;
        }
    printf("%u written, %u replaced, %u kept, %u exact (no index file), %u removed, %u failed\n",
           wrote, replaced, kept, exact, removed, failed);
    for (size_t i = 0; i < n; i++) bdbi_lbucket_unref(l, items[i].b);
    free(items);
    free_names(before, n_before);
    free_names(after, n_after);
    if (cli_store_close("index", env, l)) status = 1;
    return status;
}
