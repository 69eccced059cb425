/* `bucketdb get STORE KEY`: one point load at the store's last ledger. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "keyparse.h"
#include "xdr/ledger.h"
#include "xdr/stellar_types.h"

/* JSON of a value of type t, malloc'd; NULL after printing an error. */
static char *render(const bdbi_xtype *t, const uint8_t *p, size_t n)
{
    char probe[1];
    size_t need = 0;
    (void)bdbi_xdr_json(t, p, n, probe, sizeof probe, &need);
    char *out = need ? malloc(need) : NULL;
    if (!out || bdbi_xdr_json(t, p, n, out, need, &need)) {
        cli_err("get", "cannot render %s: %s", t->name, out ? bdb_errmsg() : "out of memory");
        free(out);
        return NULL;
    }
    return out;
}

static int print_entry(const bdb_list_view *v, const uint8_t *key, size_t klen, int hot,
                       const bdb_list_entry *e)
{
    char *kj = render(&bdbi_xt_ledger_key, key, klen);
    char *ej = render(&bdbi_xt_ledger_entry, e->data, e->len);
    char *b64 = malloc(CLI_B64_LEN(e->len));
    int rc = 1;
    if (kj && ej && b64) {
        bdb_list_state st;
        bdb_list_view_state(v, &st);
        cli_b64encode(e->data, e->len, b64);
        cli_json j;
        cj_init(&j, stdout);
        cj_obj(&j);
        cj_key(&j, "key");
        cj_raw(&j, kj);
        cj_key(&j, "ledger");
        cj_u64(&j, st.ledger);
        cj_key(&j, "type");
        cj_str(&j, cli_record_type_name(hot, e->type));
        cj_key(&j, "level");
        cj_u64(&j, e->level);
        cj_key(&j, "bucket");
        cj_str(&j, e->snap ? "snap" : "curr");
        cj_key(&j, "last_modified");
        cj_u64(&j, (uint64_t)e->data[0] << 24 | (uint64_t)e->data[1] << 16 |
                       (uint64_t)e->data[2] << 8 | e->data[3]);
        cj_key(&j, "entry");
        cj_str(&j, b64);
        cj_key(&j, "json");
        cj_raw(&j, ej);
        cj_obj_end(&j);
        cj_end(&j);
        rc = 0;
    } else if (!b64) {
        cli_err("get", "out of memory");
    }
    free(kj);
    free(ej);
    free(b64);
    return rc;
}

int cmd_get_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"hot", 0, NULL, 'H'}, CLI_STORE_LONGOPTS, {NULL, 0, NULL, 0}};
    cli_store_args sa;
    cli_store_args_init(&sa);
    int hot = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c == 'H')
            hot = 1;
        else if (c >= 1001 && c <= 1003) {
            if (cli_store_arg("get", c, optarg, &sa)) return 2;
        } else
            return cli_bad_option("get", c, argc, argv);
    }
    if (optind != argc - 2) return cli_usage_error("get", "expected STORE and KEY");
    const char *dir = argv[optind];
    uint8_t *key;
    size_t klen;
    char err[1024];
    if (cli_parse_key(argv[optind + 1], &key, &klen, err, sizeof err)) {
        cli_err("get", "%s", err);
        return 2;
    }
    bdb_env *env;
    bdb_list *l;
    /* read-only: the store directory is left exactly as it is; valid
     * index files are used, missing ones built in memory */
    if (cli_store_open("get", dir, &sa, 1, 1, &env, &l)) {
        free(key);
        return 1;
    }
    int status = 1;
    bdb_list_view *v = bdb_list_view_acquire(l);
    if (!v) {
        cli_err("get", "not found: the store in %s has no ledger yet", dir);
    } else {
        bdb_list_entry e;
        int rc = hot ? bdb_list_hot_get(v, key, klen, &e) : bdb_list_get(v, key, klen, &e);
        if (rc < 0)
            cli_err("get", "%s", bdb_errmsg());
        else if (rc == 0)
            cli_err("get", "not found: %s",
                    hot ? "no archived entry of this key in the hot archive list"
                        : "no live entry of this key in the live list");
        else
            status = print_entry(v, key, klen, hot, &e);
        bdb_list_view_release(v);
    }
    if (cli_store_close("get", env, l)) status = 1;
    free(key);
    return status;
}
