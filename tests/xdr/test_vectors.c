/* The XDR parsers, key derivation and sort keys against vectors encoded by
 * @stellar/stellar-base (tests/vectors/ledger.json, made by
 * tests/vectors/gen.js): every entry type, every SCVal arm stellar-base
 * knows, bucket metadata, records, TTL keys, StrKeys, invalid encodings
 * that js-xdr rejects, ordering facts from the specification, and keys
 * listed in the order a third comparator (the generator's) gives them. */
#include "config.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bucketdb/ledger.h"
#include "xdr/keycmp.h"
#include "xdr/ledger.h"
#include "xdr/stellar_types.h"

static json_t *root;

static void load(void)
{
    const char *path = getenv("BDB_TEST_VECTORS");
    if (!path) path = "tests/vectors/ledger.json";
    json_error_t err;
    root = json_load_file(path, 0, &err);
    if (!root) cr_assert_fail("cannot load %s: %s (line %d)", path, err.text, err.line);
}

static void unload(void)
{
    json_decref(root);
}

TestSuite(vectors, .init = load, .fini = unload);

typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes;

static bytes hex(json_t *obj, const char *field)
{
    const char *s = json_string_value(json_object_get(obj, field));
    cr_assert_not_null(s, "vector lacks '%s'", field);
    size_t n = strlen(s) / 2;
    bytes b = {malloc(n ? n : 1), n};
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        cr_assert_eq(sscanf(s + 2 * i, "%2x", &v), 1);
        b.p[i] = (uint8_t)v;
    }
    return b;
}

static int has(json_t *obj, const char *field)
{
    return json_object_get(obj, field) != NULL;
}

static const char *name_of(json_t *obj)
{
    return json_string_value(json_object_get(obj, "name"));
}

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

/* memcmp order of two byte strings, a proper prefix first */
static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c) return sign(c);
    return (an > bn) - (an < bn);
}

static bytes sort_key(bytes key)
{
    size_t cap = BDB_SORT_KEY_BOUND(key.n), n;
    bytes sk = {malloc(cap), 0};
    int rc = bdb_sort_key(key.p, key.n, sk.p, cap, &n);
    cr_assert_eq(rc, 0, "sort key: %s", bdb_errmsg());
    sk.n = n;
    return sk;
}

Test(vectors, every_entry_validates_and_yields_its_key)
{
    json_t *entries = json_object_get(root, "entries");
    cr_assert_gt(json_array_size(entries), 200);
    int types_seen[10] = {0};
    size_t i;
    json_t *v;
    json_array_foreach(entries, i, v)
    {
        const char *nm = name_of(v);
        bytes e = hex(v, "entry"), k = hex(v, "key");
        cr_assert_eq(bdb_ledger_entry_check(e.p, e.n), 0, "%s: %s", nm, bdb_errmsg());
        cr_assert_eq(bdb_ledger_key_check(k.p, k.n), 0, "%s: key: %s", nm, bdb_errmsg());
        uint8_t out[4096];
        size_t n;
        cr_assert_eq(bdb_ledger_entry_key(e.p, e.n, out, sizeof out, &n), 0, "%s: %s", nm,
                     bdb_errmsg());
        cr_assert(n == k.n && memcmp(out, k.p, n) == 0, "%s: derived key differs", nm);
        int t = (int)(k.p[3]);
        cr_assert_str_eq(bdb_entry_type_name(t), json_string_value(json_object_get(v, "type")),
                         "%s", nm);
        types_seen[t]++;
        /* the one-pass sort key of the entry is the sort key of its key */
        bytes sk = sort_key(k);
        uint8_t esk[8192];
        bdbi_sk_out o = {esk, 0, sizeof esk};
        cr_assert_eq(bdbi_entry_sort_key(e.p, e.n, "entry", 0, &o), 0, "%s: %s", nm, bdb_errmsg());
        cr_assert(o.len == sk.n && memcmp(esk, sk.p, sk.n) == 0, "%s: entry sort key differs", nm);
        free(sk.p);
        /* a buffer one byte short is refused and says what it needs */
        cr_assert_eq(bdb_ledger_entry_key(e.p, e.n, out, k.n - 1, &n), BDB_EINVAL, "%s", nm);
        cr_assert_eq(n, k.n);
        free(e.p);
        free(k.p);
    }
    for (int t = 0; t < 10; t++)
        cr_assert_gt(types_seen[t], 0, "no %s vector", bdb_entry_type_name(t));
}

/* LIVE/INIT/DEAD records and hot-archive records parse to their parts, and
 * rebuilding them from the entry and key gives the same bytes. */
Test(vectors, records_parse_and_rebuild)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(root, "entries"), i, v)
    {
        const char *nm = name_of(v);
        bytes e = hex(v, "entry"), k = hex(v, "key");
        static const struct {
            const char *field;
            int hot, type, is_key;
        } kinds[] = {
            {"live", 0, BDB_LIVEENTRY, 0},    {"init", 0, BDB_INITENTRY, 0},
            {"dead", 0, BDB_DEADENTRY, 1},    {"archived", 1, BDB_HOT_ARCHIVED, 0},
            {"restored", 1, BDB_HOT_LIVE, 1},
        };
        for (size_t j = 0; j < sizeof kinds / sizeof kinds[0]; j++) {
            if (!has(v, kinds[j].field)) continue;
            bytes r = hex(v, kinds[j].field);
            bdb_record rec;
            cr_assert_eq(bdb_record_parse(r.p, r.n, kinds[j].hot, &rec), 0, "%s/%s: %s", nm,
                         kinds[j].field, bdb_errmsg());
            cr_assert_eq(rec.type, kinds[j].type, "%s/%s", nm, kinds[j].field);
            bytes want = kinds[j].is_key ? k : e;
            cr_assert(rec.body_len == want.n && memcmp(rec.body, want.p, want.n) == 0,
                      "%s/%s: body differs", nm, kinds[j].field);
            cr_assert_eq(rec.entry_type, (int32_t)k.p[3], "%s/%s", nm, kinds[j].field);
            /* rebuilt: 4-byte type then the arm */
            cr_assert_eq(r.n, 4 + want.n);
            cr_assert_eq((int32_t)bdbi_be32(r.p), kinds[j].type);
            if (!kinds[j].is_key) cr_assert_eq(rec.last_modified, bdbi_be32(e.p));
            /* a live record is not a hot-archive record and vice versa,
             * except where the arms coincide (type 0 is an entry in both) */
            free(r.p);
        }
        free(e.p);
        free(k.p);
    }
}

Test(vectors, ttl_keys)
{
    size_t i, seen = 0;
    json_t *v;
    json_array_foreach(json_object_get(root, "entries"), i, v)
    {
        bytes k = hex(v, "key");
        uint8_t ttl[BDB_TTL_KEY_LEN];
        if (has(v, "ttl_key")) {
            bytes want = hex(v, "ttl_key");
            cr_assert_eq(bdb_ttl_key(k.p, k.n, ttl), 0, "%s: %s", name_of(v), bdb_errmsg());
            cr_assert(want.n == sizeof ttl && memcmp(ttl, want.p, sizeof ttl) == 0, "%s",
                      name_of(v));
            free(want.p);
            seen++;
        } else {
            cr_assert_eq(bdb_ttl_key(k.p, k.n, ttl), BDB_EINVAL, "%s", name_of(v));
        }
        free(k.p);
    }
    cr_assert_gt(seen, 20);
}

Test(vectors, account_ids_render_as_strkeys)
{
    size_t i, seen = 0;
    json_t *v;
    json_array_foreach(json_object_get(root, "entries"), i, v)
    {
        bytes k = hex(v, "key");
        char js[8192];
        size_t n;
        cr_assert_eq(bdb_ledger_key_json(k.p, k.n, js, sizeof js, &n), 0, "%s", bdb_errmsg());
        cr_assert_eq(strlen(js) + 1, n);
        json_error_t err;
        json_t *parsed = json_loads(js, JSON_ALLOW_NUL, &err);
        cr_assert_not_null(parsed, "%s: not JSON: %s (%s)", name_of(v), js, err.text);
        json_decref(parsed);
        if (has(v, "account_strkey")) {
            const char *g = json_string_value(json_object_get(v, "account_strkey"));
            cr_assert(strstr(js, g) != NULL, "%s: %s lacks %s", name_of(v), js, g);
            seen++;
        }
        free(k.p);
    }
    cr_assert_gt(seen, 50);
}

Test(vectors, every_scval_arm_validates)
{
    size_t i;
    json_t *v;
    int arms = 0;
    uint32_t seen = 0;
    json_array_foreach(json_object_get(root, "scvals"), i, v)
    {
        bytes x = hex(v, "xdr");
        cr_assert_eq(bdbi_check(&bdbi_xt_scval, x.p, x.n, "SCVal", 0), 0, "%s: %s", name_of(v),
                     bdb_errmsg());
        seen |= 1u << bdbi_be32(x.p);
        free(x.p);
    }
    for (int a = 0; a <= 21; a++) arms += (seen >> a) & 1;
    cr_assert_eq(arms, 22, "SCVal arms 0..21 must all be covered");
}

Test(vectors, metadata_records)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(root, "metadata"), i, v)
    {
        bytes m = hex(v, "bucket_entry");
        bdb_record r;
        cr_assert_eq(bdb_record_parse(m.p, m.n, 0, &r), 0, "%s: %s", name_of(v), bdb_errmsg());
        cr_assert_eq(r.type, BDB_METAENTRY);
        cr_assert_eq(r.entry_type, -1);
        cr_assert_eq(r.ledger_version, bdbi_be32(m.p + 4));
        cr_assert_eq(r.list_type, m.n == 16 ? (int32_t)bdbi_be32(m.p + 12) : -1, "%s", name_of(v));
        if (has(v, "hot_entry")) {
            bytes h = hex(v, "hot_entry");
            cr_assert_eq(bdb_record_parse(h.p, h.n, 1, &r), 0, "%s", bdb_errmsg());
            cr_assert_eq(r.type, BDB_HOT_METAENTRY);
            cr_assert_eq(r.list_type, BDB_LIST_HOT_ARCHIVE);
            free(h.p);
        }
        free(m.p);
    }
}

/* Everything js-xdr refuses, we refuse too, with BDB_EFORMAT. */
Test(vectors, invalid_encodings_are_rejected)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(root, "invalid"), i, v)
    {
        const char *kind = json_string_value(json_object_get(v, "kind"));
        bytes x = hex(v, "xdr");
        int rc;
        if (!strcmp(kind, "LedgerKey"))
            rc = bdb_ledger_key_check(x.p, x.n);
        else if (!strcmp(kind, "LedgerEntry"))
            rc = bdb_ledger_entry_check(x.p, x.n);
        else if (!strcmp(kind, "SCVal"))
            rc = bdbi_check(&bdbi_xt_scval, x.p, x.n, "SCVal", 0);
        else {
            bdb_record r;
            rc = bdb_record_parse(x.p, x.n, 0, &r);
        }
        cr_assert_eq(rc, BDB_EFORMAT, "%s (%s) was accepted", name_of(v),
                     json_string_value(json_object_get(v, "why")));
        bdb_error e;
        bdb_last_error(&e);
        cr_assert_geq(e.offset, 0, "%s: no offset", name_of(v));
        cr_assert_leq(e.offset, (int64_t)x.n, "%s: offset past the input", name_of(v));
        free(x.p);
    }
}

/* The specification's ordering facts (incl. the four counterexamples of
 * §3.3): sort keys and the structural comparator both agree. */
Test(vectors, order_facts)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(root, "order_facts"), i, v)
    {
        bytes a = hex(v, "less"), b = hex(v, "greater");
        bytes sa = sort_key(a), sb = sort_key(b);
        cr_assert_eq(bytes_cmp(sa.p, sa.n, sb.p, sb.n), -1, "sort keys: %s", name_of(v));
        int order = 99;
        cr_assert_eq(bdbi_ledger_key_cmp(a.p, a.n, b.p, b.n, &order), 0, "%s", bdb_errmsg());
        cr_assert_eq(order, -1, "structural: %s", name_of(v));
        cr_assert_eq(bdbi_ledger_key_cmp(b.p, b.n, a.p, a.n, &order), 0);
        cr_assert_eq(order, 1, "structural reversed: %s", name_of(v));
        free(a.p), free(b.p), free(sa.p), free(sb.p);
    }
}

/* All pairs of all keys (entry keys and the extra ordering keys): the sort
 * key order equals the structural order, and the generator's ascending
 * list is ascending for both. */
Test(vectors, sort_keys_agree_with_structural_order_for_all_pairs)
{
    json_t *sets[2] = {json_object_get(root, "keys"), json_object_get(root, "entries")};
    size_t total = json_array_size(sets[0]) + json_array_size(sets[1]);
    bytes *keys = calloc(total, sizeof *keys), *sks = calloc(total, sizeof *sks);
    size_t n = 0, nsorted = json_array_size(sets[0]);
    for (int s = 0; s < 2; s++) {
        size_t i;
        json_t *v;
        json_array_foreach(sets[s], i, v)
        {
            keys[n] = hex(v, "key");
            sks[n] = sort_key(keys[n]);
            n++;
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            int order;
            cr_assert_eq(bdbi_ledger_key_cmp(keys[i].p, keys[i].n, keys[j].p, keys[j].n, &order), 0,
                         "%s", bdb_errmsg());
            int sk = bytes_cmp(sks[i].p, sks[i].n, sks[j].p, sks[j].n);
            cr_assert_eq(sk, order, "keys %zu and %zu: sort keys say %d, structure %d", i, j, sk,
                         order);
            int same = keys[i].n == keys[j].n && !memcmp(keys[i].p, keys[j].p, keys[i].n);
            cr_assert_eq(order == 0, same, "keys %zu and %zu: equal iff identical", i, j);
            if (i < j && j < nsorted) cr_assert_leq(order, 0, "generator order %zu > %zu", i, j);
            /* prefix-free */
            if (!same && sks[i].n < sks[j].n)
                cr_assert_neq(memcmp(sks[i].p, sks[j].p, sks[i].n), 0, "sort key %zu prefixes %zu",
                              i, j);
        }
    for (size_t i = 0; i < n; i++) free(keys[i].p), free(sks[i].p);
    free(keys);
    free(sks);
}
