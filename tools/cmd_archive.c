/* `bucketdb import` and `bucketdb publish`: a store from a history
 * archive's checkpoint, and a checkpoint from a store. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bucketdb/archive.h"
#include "bucketdb/bucketdb.h"
#include "bucketdb/list.h"
#include "cmd_archive.h"
#include "hex.h"

static const char import_usage[] =
    "usage: bucketdb import ARCHIVE [--ledger N] [--dir DIR] [--shards N] [--get CMD]\n"
    "                       [--parallel N] [--retries N] [--work-dir W] [--no-fsync]\n"
    "  Creates the store DIR (default ./bucketdb-store) from the checkpoint N of the\n"
    "  history archive ARCHIVE (default: its latest). ARCHIVE is a directory, or an\n"
    "  http(s) URL fetched with curl; --get gives stellar-core's command template instead\n"
    "  ({0}: the object's path in the archive, {1}: the file to write). Every bucket is\n"
    "  checked against its hash before anything is adopted; a failed import keeps its\n"
    "  work directory (default DIR.import) and running it again fetches only what is\n"
    "  missing. Prints the ledger and its bucketListHash.\n";

static const char publish_usage[] =
    "usage: bucketdb publish DIR --store STORE [--passphrase P] [--server S] [--no-fsync]\n"
    "  Publishes the store's current ledger (a checkpoint: 64k - 1) into the archive\n"
    "  directory DIR: its buckets gzipped as bucket/pp/qq/rr/bucket-<hex>.xdr.gz, then\n"
    "  its HAS as history/ww/xx/yy/history-<ledger>.json and\n"
    "  .well-known/stellar-history.json. --passphrase is needed from protocol 23.\n";

/* A one-line progress report on a terminal; nothing when stderr is not one. */
static void progress(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
    (void)ctx;
    if (!isatty(STDERR_FILENO)) return;
    fprintf(stderr, "\r%-8s %llu/%llu", phase, (unsigned long long)done, (unsigned long long)total);
    if (done == total) fputc('\n', stderr);
}

static int need_arg(int i, int argc, const char *cmd, const char *opt)
{
    if (i + 1 < argc) return 1;
    fprintf(stderr, "bucketdb %s: %s needs a value\n", cmd, opt);
    return 0;
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
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            fputs(import_usage, stdout);
            return 0;
        } else if (!strcmp(o, "--no-fsync")) {
            lo.fsync = 0;
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
    a.progress = progress;
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    bdb_env *env;
    if (bdb_env_open(&eo, &env)) {
        fprintf(stderr, "bucketdb import: %s\n", bdb_errmsg());
        return 1;
    }
    bdb_list *l;
    int rc = bdb_archive_import(env, &a, (uint32_t)ledger, dir, &lo, &l);
    if (rc) {
        fprintf(stderr, "bucketdb import: %s\n", bdb_errmsg());
    } else {
        bdb_list_state st;
        rc = bdb_list_state_get(l, &st);
        char hex[65];
        tool_hex(st.header_hash, 32, hex);
        if (!rc) printf("ledger %u bucketListHash %s\n", st.ledger, hex);
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
    po.progress = progress;
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
