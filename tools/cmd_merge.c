/* `bucketdb merge OLD NEW --level I --protocol P -o DIR`: one merge of
 * stellar-core's schedule, with the level's tombstone and protocol rules,
 * into a content-addressed file. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "walk.h"
#include "bucketdb/bucket.h"
#include "cli.h"

#define MAX_SHADOWS 64

/* One input: the path the merge reads (NULL: the empty bucket), and a
 * temporary decompressed copy to remove afterwards. */
typedef struct input {
    const char *arg;
    const char *path;
    char tmp[4096];
    bucket_info bi;
} input;

/* Validates the input as inspect does, and decompresses a gzipped one
 * into dir. Returns 0 or 1 after printing the error. */
static int prepare(bdb_env *env, const char *dir, int k, input *in)
{
    char err[1024];
    if (bucket_walk(env, in->arg, NULL, NULL, &in->bi, err, sizeof err)) {
        cli_err("merge", "%s", err);
        return 1;
    }
    in->path = in->bi.records ? in->arg : NULL;
    if (!in->path || !in->bi.gzip) return 0;
    if ((size_t)snprintf(in->tmp, sizeof in->tmp, "%s/.bucketdb-merge-%ld-%d.xdr", dir,
                         (long)getpid(), k) >= sizeof in->tmp) {
        cli_err("merge", "%s: path too long", dir);
        in->tmp[0] = 0;
        return 1;
    }
    uint8_t hash[32];
    if (bdb_bucket_gunzip(env, in->arg, in->tmp, 0, hash, NULL)) {
        cli_err("merge", "%s: %s", in->arg, bdb_errmsg());
        in->tmp[0] = 0;
        return 1;
    }
    in->path = in->tmp;
    return 0;
}

static void print_result(const char *dir, const bdb_bucket_info *out, int json)
{
    char hex[65], file[4200];
    tool_hex(out->hash, 32, hex);
    if (!out->empty) snprintf(file, sizeof file, "%s/%s", dir, out->name);
    if (json) {
        cli_json j;
        cj_init(&j, stdout);
        cj_obj(&j);
        cj_key(&j, "hash");
        cj_str(&j, hex);
        cj_key(&j, "file");
        if (out->empty)
            cj_null(&j);
        else
            cj_str(&j, file);
        cj_key(&j, "protocol");
        cj_u64(&j, out->protocol);
        cj_key(&j, "records");
        cj_u64(&j, out->records);
        cj_key(&j, "bytes");
        cj_u64(&j, out->bytes);
        cj_obj_end(&j);
        cj_end(&j);
        return;
    }
    printf("hash      %s\n", hex);
    printf("file      %s\n", out->empty ? "none (the empty bucket)" : file);
    printf("protocol  %u\n", out->protocol);
    printf("records   %llu\n", (unsigned long long)out->records);
    printf("bytes     %llu\n", (unsigned long long)out->bytes);
}

int cmd_merge_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"level", 1, NULL, 'l'},  {"protocol", 1, NULL, 'p'}, {"output", 1, NULL, 'o'},
        {"shadow", 1, NULL, 's'}, {"no-fsync", 0, NULL, 'n'}, {"json", 0, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    uint32_t level = 0, protocol = 0;
    int have_level = 0, have_protocol = 0, fsync_ = 1, json = 0, c;
    const char *dir = NULL;
    input in[2 + MAX_SHADOWS];
    size_t n_shadows = 0;
    memset(in, 0, sizeof in);
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (cli_parse_u32("merge", "--level", optarg, 0, BDB_LIST_LEVELS - 1, &level)) return 2;
            have_level = 1;
            break;
        case 'p':
            if (cli_parse_u32("merge", "--protocol", optarg, 0, BDB_PROTOCOL_MAX, &protocol))
                return 2;
            have_protocol = 1;
            break;
        case 'o':
            dir = optarg;
            break;
        case 's':
            if (n_shadows == MAX_SHADOWS)
                return cli_usage_error("merge", "at most %d shadows", MAX_SHADOWS);
            in[2 + n_shadows++].arg = optarg;
            break;
        case 'n':
            fsync_ = 0;
            break;
        case 'j':
            json = 1;
            break;
        default:
            return cli_bad_option("merge", c, argc, argv);
        }
    }
    if (optind != argc - 2) return cli_usage_error("merge", "expected OLD and NEW bucket files");
    if (!have_level || !have_protocol || !dir)
        return cli_usage_error("merge", "--level, --protocol and -o are required");
    in[0].arg = argv[optind];
    in[1].arg = argv[optind + 1];

    struct stat st;
    if (mkdir(dir, 0777) != 0 && (errno != EEXIST || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        cli_err("merge", "%s: cannot create the output directory: %s", dir,
                strerror(errno == EEXIST ? ENOTDIR : errno));
        return 1;
    }
    bdb_env *env = NULL;
    if (bdb_env_open(NULL, &env)) {
        cli_err("merge", "cannot start: %s", bdb_errmsg());
        return 1;
    }
    int status = 0, hot = -1;
    size_t n_in = 2 + n_shadows;
    for (size_t k = 0; k < n_in && !status; k++) {
        status = prepare(env, dir, (int)k, &in[k]);
        if (status || !in[k].bi.records) continue;
        if (hot >= 0 && hot != in[k].bi.hot) {
            cli_err("merge", "%s is a %s bucket, %s a %s one", in[k].arg,
                    in[k].bi.hot ? "hot-archive" : "live", in[0].arg, hot ? "hot-archive" : "live");
            status = 1;
        }
        hot = in[k].bi.hot;
    }
    if (!status) {
        const char *shadows[MAX_SHADOWS];
        size_t ns = 0;
        for (size_t k = 0; k < n_shadows; k++)
            if (in[2 + k].path) shadows[ns++] = in[2 + k].path;
        bdb_merge_options o;
        bdb_merge_options_init(&o);
        o.hot = hot > 0;
        o.keep_tombstones = bdb_level_keeps_tombstones(level);
        o.max_protocol = protocol;
        o.level0 = level == 0;
        o.fsync = fsync_;
        bdb_bucket_info out;
        if (bdb_bucket_merge(env, dir, in[0].path, in[1].path, ns ? shadows : NULL, ns, &o, &out,
                             NULL)) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", bdb_errmsg());
            cli_err("merge", "%s", msg);
            for (size_t k = 0; k < n_in; k++)
                if (in[k].tmp[0] && strstr(msg, in[k].tmp))
                    cli_err("merge", "(%s is the decompressed copy of %s)", in[k].tmp, in[k].arg);
            status = 1;
        } else {
            print_result(dir, &out, json);
        }
    }
    for (size_t k = 0; k < n_in; k++)
        if (in[k].tmp[0]) unlink(in[k].tmp);
    if (bdb_env_close(env)) status = 1;
    return status;
}
