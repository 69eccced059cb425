/* `bucketdb dump BUCKET`: every record as one JSON object per line,
 * streamed (the buffers grow only to the largest record). */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "walk.h"
#include "cli.h"
#include "xdr/ledger.h"
#include "xdr/stellar_types.h"

typedef struct buf {
    char *p;
    size_t cap;
} buf;

static int reserve(buf *b, size_t n)
{
    if (n <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < n) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

typedef struct dumper {
    cli_json j;
    int decode;
    buf key, key_json, json, b64;
    char err[1024];
} dumper;

static int oom(dumper *d)
{
    snprintf(d->err, sizeof d->err, "out of memory");
    return -1;
}

/* JSON of a value of type t into *out (grown as needed). */
static int render(dumper *d, const bdbi_xtype *t, const uint8_t *p, size_t n, buf *out)
{
    size_t need = 0;
    if (reserve(out, 4096)) return oom(d);
    int rc = bdbi_xdr_json(t, p, n, out->p, out->cap, &need);
    if (rc == BDB_EINVAL && need > out->cap) {
        if (reserve(out, need)) return oom(d);
        rc = bdbi_xdr_json(t, p, n, out->p, out->cap, &need);
    }
    if (rc) snprintf(d->err, sizeof d->err, "%s", bdb_errmsg());
    return rc ? -1 : 0;
}

static int b64(dumper *d, const uint8_t *p, size_t n)
{
    if (reserve(&d->b64, CLI_B64_LEN(n))) return oom(d);
    cli_b64encode(p, n, d->b64.p);
    return 0;
}

/* Everything that can fail comes before the line is written, so a line
 * on stdout is always whole. */
static int dump_record(void *ctx, const bucket_info *bi, const bucket_rec *r)
{
    dumper *d = ctx;
    const bdb_record *pr = &r->parsed;
    cli_json *j = &d->j;
    int meta = pr->type == BDB_METAENTRY;
    int tomb = !meta && (bi->hot ? pr->type == BDB_HOT_LIVE : pr->type == BDB_DEADENTRY);
    const uint8_t *key = pr->body;
    size_t klen = pr->body_len;
    if (!meta && !tomb) {
        if (reserve(&d->key, pr->body_len)) return oom(d);
        if (bdb_ledger_entry_key(pr->body, pr->body_len, d->key.p, d->key.cap, &klen)) {
            snprintf(d->err, sizeof d->err, "%s", bdb_errmsg());
            return -1;
        }
        key = (const uint8_t *)d->key.p;
    }
    if (!meta && render(d, &bdbi_xt_ledger_key, key, klen, &d->key_json)) return -1;
    if (d->decode && !tomb &&
        render(d, meta ? &bdbi_xt_bucket_metadata : &bdbi_xt_ledger_entry, pr->body, pr->body_len,
               &d->json))
        return -1;
    if (b64(d, pr->body, pr->body_len)) return -1;

    cj_obj(j);
    cj_key(j, "offset");
    cj_u64(j, r->offset);
    cj_key(j, "type");
    cj_str(j, cli_record_type_name(bi->hot, pr->type));
    if (meta) {
        cj_key(j, "protocol");
        cj_u64(j, pr->ledger_version);
        if (pr->list_type >= 0) {
            cj_key(j, "list");
            cj_str(j, pr->list_type == BDB_LIST_HOT_ARCHIVE ? "HOT_ARCHIVE" : "LIVE");
        }
    } else {
        cj_key(j, "entry_type");
        cj_str(j, bdb_entry_type_name(pr->entry_type));
        cj_key(j, "key");
        cj_raw(j, d->key_json.p);
        if (!tomb) {
            cj_key(j, "last_modified");
            cj_u64(j, pr->last_modified);
        }
    }
    cj_key(j, meta ? "meta" : tomb ? "key_xdr" : "entry");
    cj_str(j, d->b64.p);
    if (d->decode && !tomb) {
        cj_key(j, "json");
        cj_raw(j, d->json.p);
    }
    cj_obj_end(j);
    cj_end(j);
    return 0;
}

int cmd_dump_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"decode", 0, NULL, 'd'}, {NULL, 0, NULL, 0}};
    dumper d;
    memset(&d, 0, sizeof d);
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c == 'd')
            d.decode = 1;
        else
            return cli_bad_option("dump", c, argc, argv);
    }
    if (optind != argc - 1) return cli_usage_error("dump", "expected one BUCKET file");
    const char *path = argv[optind];
    cj_init(&d.j, stdout);
    bucket_info bi;
    char err[1024] = "";
    int rc = bucket_walk(NULL, path, dump_record, &d, &bi, err, sizeof err);
    if (rc) cli_err("dump", "%s", d.err[0] ? d.err : err);
    free(d.key.p);
    free(d.key_json.p);
    free(d.json.p);
    free(d.b64.p);
    return rc ? 1 : 0;
}
