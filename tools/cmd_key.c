/* `bucketdb key KEY`: a ledger key in both of the forms the tool reads. */
#include "config.h"

#include <stdlib.h>

#include "cli.h"
#include "keyparse.h"

int cmd_key_main(int argc, char **argv)
{
    if (argc != 2) return cli_usage_error("key", "expected one KEY");
    uint8_t *key;
    size_t len, need;
    char err[1024];
    if (cli_parse_key(argv[1], &key, &len, err, sizeof err)) {
        cli_err("key", "%s", err);
        return 2;
    }
    char *json = NULL, *b64 = malloc(CLI_B64_LEN(len)), probe[1];
    (void)bdb_ledger_key_json(key, len, probe, sizeof probe, &need);
    json = malloc(need);
    int rc = 0;
    if (!b64 || !json || bdb_ledger_key_json(key, len, json, need, &need)) {
        cli_err("key", "cannot render the key: %s", bdb_errmsg());
        rc = 1;
    } else {
        cli_b64encode(key, len, b64);
        cli_json j;
        cj_init(&j, stdout);
        cj_obj(&j);
        cj_key(&j, "key");
        cj_raw(&j, json);
        cj_key(&j, "xdr");
        cj_str(&j, b64);
        cj_obj_end(&j);
        cj_end(&j);
    }
    free(json);
    free(b64);
    free(key);
    return rc;
}
