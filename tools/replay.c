/* `bucketdb replay`: applies ledger batches given as JSON Lines to a store
 * and prints each ledger's bucketListHash (and with --levels the live
 * list's curr/snap hashes). Both a user tool and the entry point of the
 * differential tests. */
#include "config.h"

#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bucketdb/bucketdb.h"
#include "bucketdb/list.h"

typedef struct arr {
    bdb_bytes *v;
    size_t n;
    uint8_t *data;
} arr;

static void arr_free(arr *a)
{
    free(a->v);
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* Decodes the array `field` of base64 strings; a missing field is empty
 * (*present = 0). */
static int get_arr(json_t *o, const char *field, arr *a, int *present, uint32_t ledger)
{
    memset(a, 0, sizeof *a);
    json_t *j = json_object_get(o, field);
    if (present) *present = j != NULL;
    if (!j) return 0;
    if (!json_is_array(j)) {
        fprintf(stderr, "bucketdb replay: ledger %u: \"%s\" is not an array\n", ledger, field);
        return -1;
    }
    size_t n = json_array_size(j), total = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(j, i);
        if (!json_is_string(s)) {
            fprintf(stderr, "bucketdb replay: ledger %u: %s[%zu] is not a string\n", ledger, field,
                    i);
            return -1;
        }
        total += json_string_length(s);
    }
    a->v = calloc(n ? n : 1, sizeof *a->v);
    a->data = malloc(total ? total : 1);
    if (!a->v || !a->data) {
        fprintf(stderr, "bucketdb replay: out of memory\n");
        arr_free(a);
        return -1;
    }
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(j, i);
        long len = cli_b64decode(json_string_value(s), json_string_length(s), a->data + pos);
        if (len < 0) {
            fprintf(stderr, "bucketdb replay: ledger %u: %s[%zu] is not base64\n", ledger, field,
                    i);
            arr_free(a);
            return -1;
        }
        a->v[i] = (bdb_bytes){a->data + pos, (size_t)len};
        pos += (size_t)len;
    }
    a->n = n;
    return 0;
}

static void usage(FILE *out)
{
    cli_usage(out, "replay");
}

static int cmp40(const void *a, const void *b)
{
    return memcmp(a, b, 40);
}

/* Random shard boundaries: sort keys of random byte strings that start
 * with a random entry type, so that shards split real data. */
static int random_bounds(uint32_t shards, unsigned seed, bdb_bytes **out, uint8_t **store)
{
    *out = calloc(shards, sizeof **out);
    *store = calloc(shards, 40);
    if (!*out || !*store) return -1;
    srand(seed);
    uint8_t(*keys)[40] = (uint8_t(*)[40]) * store;
    for (uint32_t k = 0; k + 1 < shards; k++)
        for (int i = 0; i < 40; i++) keys[k][i] = (uint8_t)rand();
    /* a sort key starts with the entry type, sign bit flipped: keep the
     * types in 0..9 so that boundaries fall inside the data */
    for (uint32_t k = 0; k + 1 < shards; k++) {
        keys[k][0] = 0x80;
        keys[k][1] = keys[k][2] = 0;
        keys[k][3] = (uint8_t)(keys[k][3] % 10);
    }
    qsort(keys, shards - 1, 40, cmp40);
    for (uint32_t k = 0; k + 1 < shards; k++) (*out)[k] = (bdb_bytes){keys[k], 40};
    return 0;
}

int replay_main(int argc, char **argv)
{
    const char *dir = NULL, *file = NULL, *has_out = NULL, *assume = NULL, *bucket_dir = NULL;
    const char *passphrase = "Test SDF Network ; September 2015";
    unsigned shards = 0, seed = 0;
    int levels = 0, fsync_ = 1, have_seed = 0, have_split = 0;
    unsigned long long split = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(a, "--shards") && i + 1 < argc)
            shards = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--boundary-seed") && i + 1 < argc) {
            seed = (unsigned)strtoul(argv[++i], NULL, 10);
            have_seed = 1;
        } else if (!strcmp(a, "--split-bytes") && i + 1 < argc) {
            split = strtoull(argv[++i], NULL, 10);
            have_split = 1;
        } else if (!strcmp(a, "--has") && i + 1 < argc)
            has_out = argv[++i];
        else if (!strcmp(a, "--assume") && i + 1 < argc)
            assume = argv[++i];
        else if (!strcmp(a, "--bucket-dir") && i + 1 < argc)
            bucket_dir = argv[++i];
        else if (!strcmp(a, "--passphrase") && i + 1 < argc)
            passphrase = argv[++i];
        else if (!strcmp(a, "--levels"))
            levels = 1;
        else if (!strcmp(a, "--no-fsync"))
            fsync_ = 0;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (a[0] != '-' && !file)
            file = a;
        else {
            usage(stderr);
            return 2;
        }
    }
    char tmpdir[] = "/tmp/bucketdb-replay-XXXXXX";
    int own_dir = !dir;
    if (own_dir) {
        if (!mkdtemp(tmpdir)) {
            fprintf(stderr, "bucketdb replay: mkdtemp: %s\n", strerror(errno));
            return 1;
        }
        dir = tmpdir;
    }
    FILE *in = file ? fopen(file, "r") : stdin;
    if (!in) {
        fprintf(stderr, "bucketdb replay: %s: %s\n", file, strerror(errno));
        return 1;
    }
    bdb_env *env = NULL;
    bdb_list *l = NULL;
    bdb_list_options o;
    bdb_list_options_init(&o);
    o.shards = shards;
    o.fsync = fsync_;
    if (have_split) o.split_bytes = split;
    bdb_bytes *bounds = NULL;
    uint8_t *bstore = NULL;
    if (have_seed && shards > 1) {
        if (random_bounds(shards, seed, &bounds, &bstore)) return 1;
        o.boundaries = bounds;
    }
    int rc = bdb_env_open(NULL, &env);
    if (!rc && assume) {
        FILE *hf = fopen(assume, "r");
        static char hbuf[1 << 20];
        size_t hn = hf ? fread(hbuf, 1, sizeof hbuf, hf) : 0;
        if (hf) fclose(hf);
        if (!hf) {
            fprintf(stderr, "bucketdb replay: %s: %s\n", assume, strerror(errno));
            bdb_env_close(env);
            return 1;
        }
        rc = bdb_list_assume_state(env, dir, &o, hbuf, hn, bucket_dir ? bucket_dir : ".", &l);
    } else if (!rc) {
        rc = bdb_list_open(env, dir, &o, &l);
    }
    if (rc) {
        fprintf(stderr, "bucketdb replay: open %s: %s\n", dir, bdb_errmsg());
        bdb_env_close(env);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int status = 0;
    unsigned long lineno = 0;
    while (!status && (len = getline(&line, &cap, in)) > 0) {
        lineno++;
        if (len == 1 && line[0] == '\n') continue;
        json_error_t jerr;
        json_t *o2 = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
        uint32_t ledger = 0, protocol = 0;
        json_t *jl = o2 ? json_object_get(o2, "ledger") : NULL;
        json_t *jp = o2 ? json_object_get(o2, "protocol") : NULL;
        if (!o2 || !json_is_object(o2) || !json_is_integer(jl) || !json_is_integer(jp) ||
            json_integer_value(jl) < 1 || json_integer_value(jl) > UINT32_MAX ||
            json_integer_value(jp) < 0 || json_integer_value(jp) > UINT32_MAX) {
            fprintf(stderr, "bucketdb replay: line %lu: %s\n", lineno,
                    o2 ? "needs integer \"ledger\" (>= 1) and \"protocol\"" : jerr.text);
            json_decref(o2);
            status = 1;
            break;
        }
        ledger = (uint32_t)json_integer_value(jl);
        protocol = (uint32_t)json_integer_value(jp);
        arr init, live, dead, ha, hr;
        int has_ha = 0, has_hr = 0;
        memset(&init, 0, sizeof init), live = dead = ha = hr = init;
        if (get_arr(o2, "init", &init, NULL, ledger) || get_arr(o2, "live", &live, NULL, ledger) ||
            get_arr(o2, "dead", &dead, NULL, ledger) ||
            get_arr(o2, "hot_archived", &ha, &has_ha, ledger) ||
            get_arr(o2, "hot_restored", &hr, &has_hr, ledger))
            status = 1;
        if (!status && (has_ha || has_hr)) {
            rc = bdb_list_add_hot_batch(l, ledger, protocol, ha.v, ha.n, hr.v, hr.n);
            if (rc) {
                fprintf(stderr, "bucketdb replay: ledger %u: hot batch: %s\n", ledger,
                        bdb_errmsg());
                status = 1;
            }
        }
        if (!status) {
            rc = bdb_list_add_batch(l, ledger, protocol, init.v, init.n, live.v, live.n, dead.v,
                                    dead.n);
            if (rc) {
                fprintf(stderr, "bucketdb replay: ledger %u: %s\n", ledger, bdb_errmsg());
                status = 1;
            }
        }
        arr_free(&init), arr_free(&live), arr_free(&dead), arr_free(&ha), arr_free(&hr);
        json_decref(o2);
        if (status) break;
        bdb_list_state st;
        bdb_list_state_get(l, &st);
        char h[65], c[65];
        tool_hex(st.header_hash, 32, h);
        printf("%u %s\n", st.ledger, h);
        if (levels)
            for (int i = 0; i < BDB_LIST_LEVELS; i++) {
                tool_hex(st.live_curr[i], 32, h);
                tool_hex(st.live_snap[i], 32, c);
                printf("  L%d %s %s\n", i, h, c);
            }
    }
    free(line);
    if (!status && has_out) {
        size_t need = 0;
        (void)bdb_list_has_json(l, NULL, passphrase, NULL, 0, &need);
        char *hj = malloc(need + 1);
        FILE *hf = NULL;
        if (!hj || bdb_list_has_json(l, NULL, passphrase, hj, need + 1, &need) ||
            !(hf = fopen(has_out, "w")) || fwrite(hj, 1, need, hf) != need) {
            fprintf(stderr, "bucketdb replay: HAS: %s\n", bdb_errmsg());
            status = 1;
        }
        if (hf && fclose(hf)) status = 1;
        free(hj);
    }
    if (!status && ferror(in)) {
        fprintf(stderr, "bucketdb replay: read error\n");
        status = 1;
    }
    if (file) fclose(in);
    if (bdb_list_close(l)) {
        fprintf(stderr, "bucketdb replay: close: %s\n", bdb_errmsg());
        status = 1;
    }
    if (bdb_env_close(env)) status = 1;
    free(bounds);
    free(bstore);
    if (own_dir) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "bucketdb replay: could not remove %s\n", tmpdir);
    }
    if (fflush(stdout) != 0) status = 1;
    return status;
}
