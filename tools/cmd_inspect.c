/* `bucketdb inspect BUCKET`: what a bucket file holds, by record type and
 * by ledger entry type, with its hash checked against its name. */
#include "config.h"

#include <getopt.h>
#include <string.h>

#include "walk.h"
#include "cli.h"

#define N_ENTRY_TYPES 10

typedef struct tally {
    /* by record type + 1: META, then LIVE/DEAD/INIT or ARCHIVED/LIVE */
    uint64_t rec_count[4], rec_bytes[4];
    uint64_t type_count[N_ENTRY_TYPES], type_bytes[N_ENTRY_TYPES];
} tally;

static int count_record(void *ctx, const bucket_info *bi, const bucket_rec *r)
{
    tally *t = ctx;
    int32_t type = r->parsed.type;
    uint64_t bytes = r->len + 4;
    t->rec_count[type + 1]++;
    t->rec_bytes[type + 1] += bytes;
    /* entries, not tombstones or metadata */
    int is_entry =
        bi->hot ? type == BDB_HOT_ARCHIVED : type == BDB_LIVEENTRY || type == BDB_INITENTRY;
    int32_t et = r->parsed.entry_type;
    if (is_entry && et >= 0 && et < N_ENTRY_TYPES) {
        t->type_count[et]++;
        t->type_bytes[et] += bytes;
    }
    return 0;
}

/* The record types of the bucket's list, as table rows (type + 1). */
static int n_rec_types(int hot)
{
    return hot ? 3 : 4;
}

static const char *list_name(const bucket_info *bi)
{
    return bi->hot ? "hot-archive" : "live";
}

static void print_text(const char *path, int gz, const bucket_info *bi, const tally *t, int named,
                       int match)
{
    char hex[65];
    tool_hex(bi->hash, 32, hex);
    printf("file         %s\n", path);
    printf("compression  %s\n", gz ? "gzip" : "none");
    printf("list         %s\n", list_name(bi));
    printf("protocol     %u%s\n", bi->protocol, bi->has_meta ? "" : " (no METAENTRY)");
    printf("records      %llu\n", (unsigned long long)bi->records);
    printf("bytes        %llu\n", (unsigned long long)bi->bytes);
    printf("hash         %s\n", hex);
    printf("name         %s\n", !named  ? "not a bucket-<hex> name"
                                : match ? "matches the hash"
                                        : "DOES NOT MATCH the hash");
    printf("\n%-24s %12s %14s\n", "record type", "records", "bytes");
    for (int i = 0; i < n_rec_types(bi->hot); i++)
        printf("%-24s %12llu %14llu\n", cli_record_type_name(bi->hot, i - 1),
               (unsigned long long)t->rec_count[i], (unsigned long long)t->rec_bytes[i]);
    printf("\n%-24s %12s %14s\n", bi->hot ? "archived entry type" : "entry type (init+live)",
           "records", "bytes");
    for (int i = 0; i < N_ENTRY_TYPES; i++)
        printf("%-24s %12llu %14llu\n", bdb_entry_type_name(i),
               (unsigned long long)t->type_count[i], (unsigned long long)t->type_bytes[i]);
}

static void print_json(const char *path, int gz, const bucket_info *bi, const tally *t, int named,
                       int match)
{
    char hex[65];
    tool_hex(bi->hash, 32, hex);
    cli_json j;
    cj_init(&j, stdout);
    cj_obj(&j);
    cj_key(&j, "file");
    cj_str(&j, path);
    cj_key(&j, "compression");
    cj_str(&j, gz ? "gzip" : "none");
    cj_key(&j, "list");
    cj_str(&j, list_name(bi));
    cj_key(&j, "protocol");
    cj_u64(&j, bi->protocol);
    cj_key(&j, "has_meta");
    cj_bool(&j, bi->has_meta);
    cj_key(&j, "records");
    cj_u64(&j, bi->records);
    cj_key(&j, "bytes");
    cj_u64(&j, bi->bytes);
    cj_key(&j, "hash");
    cj_str(&j, hex);
    cj_key(&j, "name_matches");
    if (named)
        cj_bool(&j, match);
    else
        cj_null(&j);
    cj_key(&j, "record_types");
    cj_obj(&j);
    for (int i = 0; i < n_rec_types(bi->hot); i++) {
        cj_key(&j, cli_record_type_name(bi->hot, i - 1));
        cj_obj(&j);
        cj_key(&j, "records");
        cj_u64(&j, t->rec_count[i]);
        cj_key(&j, "bytes");
        cj_u64(&j, t->rec_bytes[i]);
        cj_obj_end(&j);
    }
    cj_obj_end(&j);
    cj_key(&j, "entry_types");
    cj_obj(&j);
    for (int i = 0; i < N_ENTRY_TYPES; i++) {
        cj_key(&j, bdb_entry_type_name(i));
        cj_obj(&j);
        cj_key(&j, "records");
        cj_u64(&j, t->type_count[i]);
        cj_key(&j, "bytes");
        cj_u64(&j, t->type_bytes[i]);
        cj_obj_end(&j);
    }
    cj_obj_end(&j);
    cj_obj_end(&j);
    cj_end(&j);
}

int cmd_inspect_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"json", 0, NULL, 'j'}, {NULL, 0, NULL, 0}};
    int json = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else
            return cli_bad_option("inspect", c, argc, argv);
    }
    if (optind != argc - 1) return cli_usage_error("inspect", "expected one BUCKET file");
    const char *path = argv[optind];
    tally t;
    memset(&t, 0, sizeof t);
    bucket_info bi;
    char err[1024];
    if (bucket_walk(NULL, path, count_record, &t, &bi, err, sizeof err)) {
        cli_err("inspect", "%s", err);
        return 1;
    }
    uint8_t named_hash[32];
    int gz = bi.gzip;
    int named = cli_bucket_name_hash(path, named_hash, NULL);
    int match = named && !memcmp(named_hash, bi.hash, 32);
    if (json)
        print_json(path, gz, &bi, &t, named, match);
    else
        print_text(path, gz, &bi, &t, named, match);
    return 0;
}
