/* `bucketdb import` and `bucketdb publish`: a store from a history
 * archive's checkpoint, and a checkpoint from a store. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bucketdb/archive.h"
#include "bucketdb/bucketdb.h"
#include "bucketdb/list.h"
#include "cli.h"
#include "hex.h"

static const char import_usage[] =
    "usage: bucketdb import ARCHIVE [--ledger N] [--dir DIR] [--shards N] [--get CMD]\n"
    "                       [--parallel N] [--retries N] [--work-dir W] [--no-fsync]\n"
    "                       [--stats]\n"
    "  Creates the store DIR (default ./bucketdb-store) from the checkpoint N of the\n"
    "  history archive ARCHIVE (default: its latest). ARCHIVE is a directory, or an\n"
    "  http(s) URL fetched with curl; --get gives stellar-core's command template instead\n"
    "  ({0}: the object's path in the archive, {1}: the file to write). Every bucket is\n"
    "  checked against its hash before anything is adopted; a failed import keeps its\n"
    "  work directory (default DIR.import) and running it again fetches only what is\n"
    "  missing. Prints the ledger and its bucketListHash; --stats adds where the time\n"
    "  went (fetch, gunzip, SHA-256, checks and indexing, writing) and the peak RSS.\n";

static const char publish_usage[] =
    "usage: bucketdb publish DIR --store STORE [--passphrase P] [--server S] [--no-fsync]\n"
    "  Publishes the store's current ledger (a checkpoint: 64k - 1) into the archive\n"
    "  directory DIR: its buckets gzipped as bucket/pp/qq/rr/bucket-<hex>.xdr.gz, then\n"
    "  its HAS as history/ww/xx/yy/history-<ledger>.json and\n"
    "  .well-known/stellar-history.json. --passphrase is needed from protocol 23.\n";

/* The library reports progress from its fetching threads: one bar, one
 * phase at a time, behind a lock. */
typedef struct arch_progress {
    pthread_mutex_t mu;
    cli_progress bar;
    char phase[16];
} arch_progress;

static void progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
    arch_progress *a = ctx;
    pthread_mutex_lock(&a->mu);
    if (strcmp(a->phase, phase) != 0) {
        if (a->phase[0]) cli_progress_end(&a->bar);
        snprintf(a->phase, sizeof a->phase, "%s", phase);
        cli_progress_start(&a->bar, a->phase, total);
    }
    cli_progress_set(&a->bar, done);
    pthread_mutex_unlock(&a->mu);
}

static void progress_end(arch_progress *a)
{
    if (a->phase[0]) cli_progress_end(&a->bar);
    pthread_mutex_destroy(&a->mu);
}

static int need_arg(int i, int argc, const char *cmd, const char *opt)
{
    if (i + 1 < argc) return 1;
    fprintf(stderr, "bucketdb %s: %s needs a value\n", cmd, opt);
    return 0;
}

static void print_stats(bdb_env *env, const bdb_import_stats *s)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    bdb_stats es;
    int have_env = bdb_env_stats(env, &es) == 0;
    printf("wall         %.2f s (buckets %.2f s, of which fetching %.2f s; adopting %.2f s)\n",
           s->wall_s, s->buckets_s, s->fetch_s, s->adopt_s);
    printf("cpu          gunzip %.2f s, sha256 %.2f s, checks+index %.2f s, write %.2f s\n",
           s->inflate_cpu_s, s->sha_cpu_s, s->check_index_cpu_s, s->write_cpu_s);
    printf("buckets      %llu (%llu verified by an earlier attempt)\n",
           (unsigned long long)s->buckets, (unsigned long long)s->buckets_reused);
    printf("bytes        %llu gzip, %llu uncompressed, %llu records\n",
           (unsigned long long)s->bytes_compressed, (unsigned long long)s->bytes,
           (unsigned long long)s->records);
    printf("peak rss     %ld KiB\n", ru.ru_maxrss);
    static const char *const cat[BDB_MEM__COUNT] = {"core",  "pool", "xdr", "bucket",  "index",
                                                    "cache", "list", "map", "archive", "other"};
    if (have_env) {
        printf("heap peak    %llu KiB:", (unsigned long long)es.mem_total.peak_bytes >> 10);
        for (int c = 0; c < BDB_MEM__COUNT; c++)
            if (es.mem[c].peak_bytes >= 1024)
                printf(" %s %llu", cat[c], (unsigned long long)es.mem[c].peak_bytes >> 10);
        printf("\n");
    }
}

int import_main(int argc, char **argv)
{
    bdb_archive_options a;
    bdb_archive_options_init(&a);
    bdb_list_options lo;
    bdb_list_options_init(&lo);
    const char *archive = NULL, *dir = "bucketdb-store";
    unsigned long ledger = 0;
    static char get[4096];
    bdb_import_stats stats;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            fputs(import_usage, stdout);
            return 0;
        } else if (!strcmp(o, "--no-fsync")) {
            lo.fsync = 0;
        } else if (!strcmp(o, "--stats")) {
            a.stats = &stats;
        } else if (o[0] == '-' && o[1] == '-') {
            if (!need_arg(i, argc, "import", o)) return 2;
            const char *v = argv[++i];
            if (!strcmp(o, "--ledger"))
                ledger = strtoul(v, NULL, 10);
            else if (!strcmp(o, "--dir"))
                dir = v;
            else if (!strcmp(o, "--shards"))
                lo.shards = (uint32_t)strtoul(v, NULL, 10);
            else if (!strcmp(o, "--get"))
                a.get = v;
            else if (!strcmp(o, "--parallel"))
                a.parallel = (uint32_t)strtoul(v, NULL, 10);
            else if (!strcmp(o, "--retries"))
                a.retries = (uint32_t)strtoul(v, NULL, 10);
            else if (!strcmp(o, "--work-dir"))
                a.work_dir = v;
            else {
                fprintf(stderr, "bucketdb import: unknown option %s\n%s", o, import_usage);
                return 2;
            }
        } else if (!archive) {
            archive = o;
        } else {
            fprintf(stderr, "bucketdb import: one ARCHIVE only\n%s", import_usage);
            return 2;
        }
    }
    if (!archive && !a.get) {
        fprintf(stderr, "bucketdb import: no ARCHIVE\n%s", import_usage);
        return 2;
    }
    if (!a.get && (!strncmp(archive, "http://", 7) || !strncmp(archive, "https://", 8))) {
        snprintf(get, sizeof get, "curl -sf %s/{0} -o {1}", archive);
        a.get = get;
    } else if (!a.get) {
        a.root = archive;
    }
    arch_progress ap = {.mu = PTHREAD_MUTEX_INITIALIZER};
    a.progress = progress;
    a.progress_ctx = &ap;
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    bdb_env *env;
    if (bdb_env_open(&eo, &env)) {
        fprintf(stderr, "bucketdb import: %s\n", bdb_errmsg());
        return 1;
    }
    bdb_list *l;
    int rc = bdb_archive_import(env, &a, (uint32_t)ledger, dir, &lo, &l);
    progress_end(&ap);
    if (rc) {
        fprintf(stderr, "bucketdb import: %s\n", bdb_errmsg());
    } else {
        bdb_list_state st;
        rc = bdb_list_state_get(l, &st);
        char hex[65];
        tool_hex(st.header_hash, 32, hex);
        if (!rc) printf("ledger %u bucketListHash %s\n", st.ledger, hex);
        if (!rc && a.stats) print_stats(env, &stats);
        if (bdb_list_close(l) && !rc) rc = -1;
    }
    (void)bdb_env_close(env);
    return rc ? 1 : 0;
}

int publish_main(int argc, char **argv)
{
    bdb_publish_options po;
    bdb_publish_options_init(&po);
    bdb_list_options lo;
    bdb_list_options_init(&lo);
    lo.create = 0;
    const char *out = NULL, *store = NULL;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            fputs(publish_usage, stdout);
            return 0;
        } else if (!strcmp(o, "--no-fsync")) {
            po.fsync = 0;
            lo.fsync = 0;
        } else if (o[0] == '-' && o[1] == '-') {
            if (!need_arg(i, argc, "publish", o)) return 2;
            const char *v = argv[++i];
            if (!strcmp(o, "--store"))
                store = v;
            else if (!strcmp(o, "--passphrase"))
                po.network_passphrase = v;
            else if (!strcmp(o, "--server"))
                po.server = v;
            else {
                fprintf(stderr, "bucketdb publish: unknown option %s\n%s", o, publish_usage);
                return 2;
            }
        } else if (!out) {
            out = o;
        } else {
            fprintf(stderr, "bucketdb publish: one DIR only\n%s", publish_usage);
            return 2;
        }
    }
    if (!out || !store) {
        fprintf(stderr, "bucketdb publish: DIR and --store are required\n%s", publish_usage);
        return 2;
    }
    arch_progress ap = {.mu = PTHREAD_MUTEX_INITIALIZER};
    po.progress = progress;
    po.progress_ctx = &ap;
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    bdb_env *env;
    if (bdb_env_open(&eo, &env)) {
        fprintf(stderr, "bucketdb publish: %s\n", bdb_errmsg());
        return 1;
    }
    bdb_list *l;
    int rc = bdb_list_open(env, store, &lo, &l);
    if (rc) {
        fprintf(stderr, "bucketdb publish: %s\n", bdb_errmsg());
    } else {
        rc = bdb_archive_publish(l, out, &po);
        progress_end(&ap);
        if (rc)
            fprintf(stderr, "bucketdb publish: %s\n", bdb_errmsg());
        else {
            bdb_list_state st;
            if (!bdb_list_state_get(l, &st))
                printf("published ledger %u into %s\n", st.ledger, out);
        }
        if (bdb_list_close(l) && !rc) rc = -1;
    }
    (void)bdb_env_close(env);
    return rc ? 1 : 0;
}
