/* The HAS reader on hostile input: every prefix of a valid document,
 * wrong types and values for every field stellar-core reads, wrong level
 * counts, bad states and hashes, limits, duplicate and unknown members,
 * nesting, encodings, and every allocation failing in turn. Each rejection
 * must be BDB_EFORMAT (or BDB_ENOMEM), name the field, leave the output
 * empty and leak nothing (the environment's close checks). Where stellar-
 * core's cereal reader accepts something odd (uppercase hex, "-0", members
 * in any order, unknown members) this reader must accept it too. */
#include "config.h"

#include "has_test_util.h"

#include "../core/alloc_fail.h"

TestSuite(has_hostile, .init = env_setup, .fini = env_teardown);

static char *sample_text(uint32_t version, size_t *len)
{
    bdbi_has h;
    sample_has(&h, version);
    return write_alloc(&h, len);
}

/* `doc` with the nth (1-based) occurrence of `from` replaced by `to`. */
static char *subst(const char *doc, const char *from, const char *to, int nth)
{
    const char *p = doc;
    for (int i = 0; i < nth; i++) {
        p = strstr(i ? p + 1 : p, from);
        cr_assert_not_null(p, "'%s' occurs fewer than %d times", from, nth);
    }
    size_t a = (size_t)(p - doc), fl = strlen(from), tl = strlen(to), dl = strlen(doc);
    char *r = malloc(dl - fl + tl + 1);
    memcpy(r, doc, a);
    memcpy(r + a, to, tl);
    memcpy(r + a + tl, p + fl, dl - a - fl + 1);
    return r;
}

static int empty_has(const bdbi_has *h)
{
    static const bdbi_has zero;
    return !memcmp(h, &zero, sizeof zero);
}

static void expect_reject_n(const char *doc, size_t len, const char *msg)
{
    bdbi_has h;
    int rc = bdbi_has_parse(env, doc, len, &h);
    cr_assert_eq(rc, BDB_EFORMAT, "rc %d; expected a rejection naming '%s'", rc, msg);
    cr_assert(strstr(bdb_errmsg(), msg) != NULL, "'%s' lacks '%s'", bdb_errmsg(), msg);
    cr_assert(empty_has(&h), "output not left empty");
}

static void expect_reject(const char *doc, const char *msg)
{
    expect_reject_n(doc, strlen(doc), msg);
}

/* Replaces and expects a rejection; frees the variant. */
static void reject_variant(const char *base, const char *from, const char *to, int nth,
                           const char *msg)
{
    char *d = subst(base, from, to, nth);
    expect_reject(d, msg);
    free(d);
}

/* Parses `doc`, which must be accepted; the caller frees *h. */
static void accept(const char *doc, bdbi_has *h)
{
    cr_assert_eq(bdbi_has_parse(env, doc, strlen(doc), h), 0, "%s", bdb_errmsg());
}

static void accept_equal_to_sample(const char *doc, uint32_t version)
{
    bdbi_has h, s;
    accept(doc, &h);
    sample_has(&s, version);
    cr_assert(bdbi_has_eq(&h, &s), "differs from the sample");
    bdbi_has_free(env, &h);
}

Test(has_hostile, every_prefix_is_rejected)
{
    size_t len;
    char *t = sample_text(2, &len);
    for (size_t n = 0; n < len; n++) {
        bdbi_has h;
        cr_assert_eq(bdbi_has_parse(env, t, n, &h), BDB_EFORMAT, "prefix of %zu bytes", n);
        cr_assert(empty_has(&h));
    }
    bdbi_has h;
    cr_assert_eq(bdbi_has_parse(env, t, len, &h), 0);
    bdbi_has_free(env, &h);
    free(t);
}

Test(has_hostile, not_a_document)
{
    expect_reject("", "not valid JSON");
    expect_reject("[]", "not a JSON object");
    expect_reject("\"version\"", "not valid JSON");
    expect_reject("1", "not valid JSON");
    expect_reject("null", "not valid JSON");
    expect_reject("{}", "version: missing");
    expect_reject("{\"version\": 1} {}", "not valid JSON");
    expect_reject("{\"version\": 1, }", "not valid JSON");           /* trailing comma */
    expect_reject("{/* c */ \"version\": 1}", "not valid JSON");     /* comment */
    expect_reject("\xef\xbb\xbf{\"version\": 1}", "not valid JSON"); /* byte-order mark */
    expect_reject("{'version': 1}", "not valid JSON");
    size_t len;
    char *t = sample_text(1, &len);
    char *g = subst(t, "\n}", "\n}x", 1);
    expect_reject(g, "not valid JSON");
    free(g);
    t[40] = '\0'; /* a NUL inside the given length */
    expect_reject_n(t, len, "not valid JSON");
    free(t);
}

Test(has_hostile, version)
{
    size_t len;
    char *t = sample_text(1, &len);
    const char *f = "\"version\": 1";
    reject_variant(t, f, "\"version\": \"1\"", 1, "version: not an integer");
    reject_variant(t, f, "\"version\": 1.0", 1, "version: not an integer");
    reject_variant(t, f, "\"version\": 1e0", 1, "version: not an integer");
    reject_variant(t, f, "\"version\": true", 1, "version: not an integer");
    reject_variant(t, f, "\"version\": null", 1, "version: not an integer");
    reject_variant(t, f, "\"version\": [1]", 1, "version: not an integer");
    reject_variant(t, f, "\"version\": 0", 1, "version: 0 is not 1 or 2");
    reject_variant(t, f, "\"version\": 3", 1, "version: 3 is not 1 or 2");
    reject_variant(t, f, "\"version\": -1", 1, "version: -1 is out of range");
    reject_variant(t, f, "\"version\": 4294967297", 1, "version: 4294967297 is out of range");
    reject_variant(t, f, "\"version\": 99999999999999999999", 1, "not valid JSON");
    reject_variant(t, f, "\"version\": NaN", 1, "not valid JSON");
    reject_variant(t, f, "\"version\": Infinity", 1, "not valid JSON");
    reject_variant(t, f, "\"version\": 01", 1, "not valid JSON");
    reject_variant(t, f, "\"versions\": 1", 1, "version: missing");
    reject_variant(t, f, "\"Version\": 1", 1, "version: missing"); /* names are exact */
    free(t);
}

Test(has_hostile, server_and_ledger)
{
    size_t len;
    char *t = sample_text(1, &len);
    char *d = subst(t, "\"server\"", "\"serverx\"", 1);
    expect_reject(d, "server: missing");
    free(d);
    reject_variant(t, "\"server\": \"", "\"server\": 5, \"x\": \"", 1, "server: not a string");
    reject_variant(t, "\"server\": \"", "\"server\": null, \"x\": \"", 1, "server: not a string");
    reject_variant(t, "\"server\": \"", "\"server\": \"\\u0000", 1, "not valid JSON");
    reject_variant(t, "\"server\": \"", "\"server\": \"\xff", 1, "not valid JSON"); /* not UTF-8 */
    reject_variant(t, "\"server\": \"", "\"server\": \"\xc3", 1, "not valid JSON");
    reject_variant(t, "\"server\": \"", "\"server\": \"\x01", 1,
                   "not valid JSON"); /* raw control */
    const char *f = "\"currentLedger\": 1048575";
    reject_variant(t, f, "\"currentLedger\": -1", 1, "currentLedger: -1 is out of range");
    reject_variant(t, f, "\"currentLedger\": 4294967296", 1,
                   "currentLedger: 4294967296 is out of range");
    reject_variant(t, f, "\"currentLedger\": -9223372036854775808", 1,
                   "currentLedger: -9223372036854775808 is out of range");
    reject_variant(t, f, "\"currentLedger\": 9223372036854775808", 1, "not valid JSON");
    reject_variant(t, f, "\"currentLedger\": \"5\"", 1, "currentLedger: not an integer");
    reject_variant(t, f, "\"currentLedger\": 5.5", 1, "currentLedger: not an integer");
    reject_variant(t, f, "\"currentLedger\": 1e3", 1, "currentLedger: not an integer");
    reject_variant(t, f, "\"currentLedger\": {}", 1, "currentLedger: not an integer");
    reject_variant(t, f, "\"ledger\": 1", 1, "currentLedger: missing");
    /* rapidjson reads -0 as the integer 0, and so does jansson */
    d = subst(t, f, "\"currentLedger\": -0", 1);
    bdbi_has h;
    accept(d, &h);
    cr_assert_eq(h.current_ledger, 0);
    bdbi_has_free(env, &h);
    free(d);
    d = subst(t, f, "\"currentLedger\": 4294967295", 1);
    accept(d, &h);
    cr_assert_eq(h.current_ledger, 4294967295u);
    bdbi_has_free(env, &h);
    free(d);
    free(t);
}

Test(has_hostile, network_passphrase)
{
    size_t len;
    char *t1 = sample_text(1, &len), *t2 = sample_text(2, &len); /* len unused */
    const char *f = "\"currentLedger\": 1048575,";
    reject_variant(t1, f, "\"currentLedger\": 1048575, \"networkPassphrase\": 7,", 1,
                   "networkPassphrase: not a string");
    reject_variant(t1, f, "\"currentLedger\": 1048575, \"networkPassphrase\": null,", 1,
                   "networkPassphrase: not a string");
    reject_variant(t2, "\"networkPassphrase\"", "\"passphrase\"", 1, "networkPassphrase: missing");
    bdbi_has h;
    /* "" is stellar-core's empty passphrase, which it treats as none */
    char *d = subst(t1, f, "\"currentLedger\": 1048575, \"networkPassphrase\": \"\",", 1);
    accept(d, &h);
    cr_assert_null(h.network_passphrase);
    bdbi_has_free(env, &h);
    free(d);
    d = subst(t2, "\"Test SDF Network ; September 2015\"", "\"\"", 1);
    accept(d, &h);
    cr_assert_null(h.network_passphrase);
    bdbi_has_free(env, &h);
    free(d);
    d = subst(t1, f, "\"currentLedger\": 1048575, \"networkPassphrase\": \"N \\\" \\u00e9\",", 1);
    accept(d, &h);
    cr_assert_str_eq(h.network_passphrase, "N \" \xc3\xa9");
    bdbi_has_free(env, &h);
    free(d);
    free(t1);
    free(t2);
}

Test(has_hostile, level_lists)
{
    size_t len;
    char *t2 = sample_text(2, &len), *t1 = sample_text(1, &len); /* len: t1's */
    reject_variant(t1, "\"currentBuckets\"", "\"buckets\"", 1, "currentBuckets: missing");
    reject_variant(t1, "\"currentBuckets\": [", "\"currentBuckets\": {\"a\": [", 1,
                   "not valid JSON");
    reject_variant(t1, "\"currentBuckets\": [", "\"currentBuckets\": 1, \"x\": [", 1,
                   "currentBuckets: not an array");
    reject_variant(t1, "\"currentBuckets\": [", "\"currentBuckets\": {}, \"x\": [", 1,
                   "currentBuckets: not an array");
    /* 10 levels: drop the first; 12: duplicate it */
    char *p = strstr(t1, "\"currentBuckets\": [") + 19, *q = strstr(p, "\n        },") + 11;
    size_t lvl = (size_t)(q - p);
    char *d = malloc(len + lvl + 1);
    memcpy(d, t1, (size_t)(p - t1));
    memcpy(d + (p - t1), q, len - (size_t)(q - t1) + 1);
    expect_reject(d, "currentBuckets: 10 levels, expected 11");
    memcpy(d, t1, (size_t)(p - t1));
    memcpy(d + (p - t1), p, lvl);
    memcpy(d + (p - t1) + lvl, p, len - (size_t)(p - t1) + 1);
    expect_reject(d, "currentBuckets: 12 levels, expected 11");
    free(d);
    expect_reject(
        "{\"version\": 1, \"server\": \"s\", \"currentLedger\": 1, \"currentBuckets\": []}",
        "currentBuckets: 0 levels, expected 11");
    reject_variant(t1, "        {\n            \"curr\"", "        \"level\", {\"curr\"", 4,
                   "currentBuckets: 12 levels");
    /* a level that is not an object: replace level 3's object by a value */
    p = t1;
    for (int i = 0; i < 4; i++) p = strstr(p + 1, "\n        {");
    q = strstr(p, "\n        }") + 10;
    for (int k = 0; k < 4; k++) {
        static const char *const vals[] = {"\n        7", "\n        null", "\n        []",
                                           "\n        \"x\""};
        d = malloc(len + 16);
        size_t a = (size_t)(p - t1), vl = strlen(vals[k]);
        memcpy(d, t1, a);
        memcpy(d + a, vals[k], vl);
        memcpy(d + a + vl, q, len - (size_t)(q - t1) + 1);
        expect_reject(d, "currentBuckets[3]: not an object");
        free(d);
    }
    /* version 2 needs hotArchiveBuckets; version 1 ignores them */
    reject_variant(t2, "\"hotArchiveBuckets\"", "\"hot\"", 1, "hotArchiveBuckets: missing");
    char h9[65];
    label_hex("hot-snap-9", h9);
    reject_variant(t2, h9, "abc", 1, "hotArchiveBuckets[9].snap: not a 64-digit hex hash");
    d = subst(t1, "\n}", ",\n    \"hotArchiveBuckets\": {\"junk\": [1, 2, {}]}\n}", 1);
    accept_equal_to_sample(d, 1);
    free(d);
    free(t1);
    free(t2);
}

Test(has_hostile, hashes)
{
    size_t len;
    char *t = sample_text(1, &len), c3[65], s3[65], hx[65], bad[128];
    label_hex("live-curr-3", c3);
    label_hex("live-snap-3", s3);
    const char *msg = "currentBuckets[3].curr: not a 64-digit hex hash";
    snprintf(bad, sizeof bad, "%.63s", c3);
    reject_variant(t, c3, bad, 1, msg);
    snprintf(bad, sizeof bad, "%s0", c3);
    reject_variant(t, c3, bad, 1, msg);
    snprintf(bad, sizeof bad, "g%.63s", c3 + 1);
    reject_variant(t, c3, bad, 1, msg);
    snprintf(bad, sizeof bad, "0x%.62s", c3 + 2);
    reject_variant(t, c3, bad, 1, msg);
    snprintf(bad, sizeof bad, " %.63s", c3 + 1);
    reject_variant(t, c3, bad, 1, msg);
    snprintf(bad, sizeof bad, "%.63s\\u0030", c3); /* escapes decode, then are checked */
    char *d = subst(t, c3, bad, 1);
    bdbi_has h;
    accept(d, &h);
    free(d);
    bdbi_has_free(env, &h);
    reject_variant(t, c3, "", 1, msg);
    snprintf(bad, sizeof bad, "\"%s\"", c3);
    reject_variant(t, bad, "64", 1, msg);
    reject_variant(t, bad, "null", 1, msg);
    reject_variant(t, bad, "[]", 1, msg);
    snprintf(bad, sizeof bad, "\"curr\": \"%s\",", c3);
    reject_variant(t, bad, "", 1, "currentBuckets[3].curr: missing");
    snprintf(bad, sizeof bad, ",\n            \"snap\": \"%s\"", s3);
    reject_variant(t, bad, "", 1, "currentBuckets[3].snap: missing");
    /* sodium_hex2bin, which stellar-core decodes with, takes either case */
    for (int i = 0; i < 64; i++)
        hx[i] = (char)(i % 2 ? c3[i] : (c3[i] >= 'a' ? c3[i] - 32 : c3[i]));
    hx[64] = '\0';
    d = subst(t, c3, hx, 1);
    accept_equal_to_sample(d, 1);
    free(d);
    free(t);
}

Test(has_hostile, next)
{
    size_t len;
    char *t = sample_text(1, &len), o4[65], c5[65], s5[65], sh5[65], sh8[65], bad[96];
    const char *l0 = "\"next\": {\n                \"state\": 0\n            }";
    reject_variant(t, l0, "\"next\": 0", 1, "currentBuckets[0].next: not an object");
    reject_variant(t, l0, "\"next\": [0]", 1, "currentBuckets[0].next: not an object");
    reject_variant(t, l0, "\"next\": null", 1, "currentBuckets[0].next: not an object");
    reject_variant(t, l0, "\"nxt\": {\"state\": 0}", 1, "currentBuckets[0].next: missing");
    reject_variant(t, l0, "\"next\": {}", 1, "currentBuckets[0].next.state: missing");
    reject_variant(t, l0, "\"next\": {\"state\": 3}", 1,
                   "currentBuckets[0].next.state: 3 is not 0, 1 or 2");
    reject_variant(t, l0, "\"next\": {\"state\": 4}", 1,
                   "currentBuckets[0].next.state: 4 is not 0, 1 or 2");
    reject_variant(t, l0, "\"next\": {\"state\": -1}", 1,
                   "currentBuckets[0].next.state: -1 is out of range");
    reject_variant(t, l0, "\"next\": {\"state\": \"0\"}", 1,
                   "currentBuckets[0].next.state: not an integer");
    reject_variant(t, l0, "\"next\": {\"state\": 0.0}", 1,
                   "currentBuckets[0].next.state: not an integer");
    reject_variant(t, l0, "\"next\": {\"state\": 1}", 1, "currentBuckets[0].next.output: missing");
    reject_variant(t, l0, "\"next\": {\"state\": 2, \"curr\": \"00\"}", 1,
                   "currentBuckets[0].next.curr: not a 64-digit hex hash");
    label_hex("live-out-4", o4);
    reject_variant(t, o4, "0", 1, "currentBuckets[4].next.output: not a 64-digit hex hash");
    snprintf(bad, sizeof bad, "\"output\": \"%s\"", o4);
    reject_variant(t, bad, "\"out\": 1", 1, "currentBuckets[4].next.output: missing");
    label_hex("live-ncurr-5", c5);
    label_hex("live-nsnap-5", s5);
    label_hex("live-shadow-5-0", sh5);
    label_hex("live-shadow-8-1", sh8);
    reject_variant(t, c5, "zz", 1, "currentBuckets[5].next.curr: not a 64-digit hex hash");
    reject_variant(t, s5, "zz", 1, "currentBuckets[5].next.snap: not a 64-digit hex hash");
    reject_variant(t, sh8, "zz", 1, "currentBuckets[8].next.shadow[1]: not a 64-digit hex hash");
    snprintf(bad, sizeof bad, "\"%s\"", sh5);
    reject_variant(t, bad, "5", 1, "currentBuckets[5].next.shadow[0]: not a 64-digit hex hash");
    reject_variant(t, bad, "[]", 1, "currentBuckets[5].next.shadow[0]: not a 64-digit hex hash");
    reject_variant(t, "\"shadow\": []", "\"shadow\": {}", 1,
                   "currentBuckets[2].next.shadow: not an array");
    reject_variant(t, "\"shadow\": []", "\"shadow\": \"\"", 1,
                   "currentBuckets[2].next.shadow: not an array");
    reject_variant(t, "\"shadow\": []", "\"shadows\": []", 1,
                   "currentBuckets[2].next.shadow: missing");
    /* members a state does not read are ignored, as by cereal */
    char *d = subst(t, l0, "\"next\": {\"state\": 0, \"output\": 17, \"shadow\": \"x\"}", 1);
    accept_equal_to_sample(d, 1);
    free(d);
    free(t);
}

Test(has_hostile, duplicate_members_are_rejected)
{
    size_t len;
    char *t = sample_text(1, &len);
    reject_variant(t, "\"version\": 1,", "\"version\": 1, \"version\": 1,", 1, "duplicate");
    reject_variant(t, "\"version\": 1,", "\"version\": 1, \"server\": \"x\",", 1, "duplicate");
    reject_variant(t, "\"state\": 0", "\"state\": 0, \"state\": 1", 1, "duplicate");
    reject_variant(t, "\"curr\"", "\"snap\": \"00\", \"curr\"", 3, "duplicate");
    reject_variant(t, "\"currentLedger\"", "\"x\": {\"a\": 1, \"a\": 2}, \"currentLedger\"", 1,
                   "duplicate");
    free(t);
}

Test(has_hostile, unknown_members_and_order)
{
    size_t len;
    char *t = sample_text(2, &len);
    char *d =
        subst(t, "\"version\": 2,",
              "\"zzz\": [[[{\"a\": null}]]], \"version\": 2, \"extra\": {\"version\": 9},", 1);
    char *e = subst(d, "\"state\": 0", "\"state\": 0, \"note\": [1.5, -2, true, \"x\"]", 3);
    char *f = subst(e, "\"curr\"", "\"unused\": 1e300, \"curr\"", 5);
    accept_equal_to_sample(f, 2);
    free(d);
    free(e);
    free(f);
    /* members in another order, compactly written */
    bdbi_has s;
    sample_has(&s, 1);
    char doc[8192], hx[3][65];
    int n = snprintf(doc, sizeof doc, "{\"currentBuckets\":[");
    for (int i = 0; i < BDBI_HAS_LEVELS; i++) {
        const bdbi_has_level *lv = &s.current_buckets[i];
        to_hex(lv->snap, hx[0]);
        to_hex(lv->curr, hx[1]);
        n += snprintf(doc + n, sizeof doc - (size_t)n, "%s{\"snap\":\"%s\",\"next\":{",
                      i ? "," : "", hx[0]);
        const bdbi_has_next *x = &lv->next;
        if (x->state == BDBI_FB_OUTPUT) {
            to_hex(x->output, hx[2]);
            n += snprintf(doc + n, sizeof doc - (size_t)n, "\"output\":\"%s\",", hx[2]);
        } else if (x->state == BDBI_FB_INPUTS) {
            n += snprintf(doc + n, sizeof doc - (size_t)n, "\"shadow\":[");
            for (size_t j = 0; j < x->n_shadows; j++) {
                to_hex(x->shadows[j], hx[2]);
                n += snprintf(doc + n, sizeof doc - (size_t)n, "%s\"%s\"", j ? "," : "", hx[2]);
            }
            to_hex(x->snap, hx[0]);
            to_hex(x->curr, hx[2]);
            n += snprintf(doc + n, sizeof doc - (size_t)n, "],\"snap\":\"%s\",\"curr\":\"%s\",",
                          hx[0], hx[2]);
        }
        n += snprintf(doc + n, sizeof doc - (size_t)n, "\"state\":%u},\"curr\":\"%s\"}", x->state,
                      hx[1]);
    }
    snprintf(doc + n, sizeof doc - (size_t)n,
             "],\"currentLedger\":1048575,\"server\":\"bucketdb-test v0.1 (\\\"q\\\" / "
             "\\u00e9)\",\"version\":1}");
    accept_equal_to_sample(doc, 1);
    free(t);
}

static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 2 + 128);
    int n = sprintf(s, "{\"junk\": ");
    for (int i = 0; i < depth; i++) s[n++] = '[';
    for (int i = 0; i < depth; i++) s[n++] = ']';
    sprintf(s + n, ", \"version\": 7}");
    return s;
}

Test(has_hostile, nesting_and_size_limits)
{
    char *s = nested(500);
    expect_reject(s, "version: 7 is not 1 or 2"); /* deep junk is read past */
    free(s);
    s = nested(100000);
    expect_reject(s, "not valid JSON"); /* jansson's depth limit, not the stack */
    free(s);
    size_t len;
    char *t = sample_text(1, &len);
    size_t big = BDBI_HAS_MAX_BYTES + 1;
    char *b = malloc(big);
    memset(b, ' ', big);
    memcpy(b, t, len);
    expect_reject_n(b, big, "more than the limit");
    bdbi_has h;
    cr_assert_eq(bdbi_has_parse(env, b, big - 1, &h), 0, "%s", bdb_errmsg());
    bdbi_has_free(env, &h);
    free(b);
    free(t);
}

/* A level with 100 000 shadows (6.7 MB of JSON) is accepted and freed. */
Test(has_hostile, many_shadows)
{
    size_t len;
    char *t = sample_text(1, &len);
    enum { N = 100000 };
    char *list = malloc((size_t)N * 68 + 16), hx[65];
    size_t n = 0;
    list[n++] = '[';
    for (int i = 0; i < N; i++) {
        uint8_t h[32] = {0};
        memcpy(h, &i, sizeof i);
        to_hex(h, hx);
        n += (size_t)sprintf(list + n, "%s\"%s\"", i ? "," : "", hx);
    }
    list[n++] = ']';
    list[n] = '\0';
    char *d = subst(t, "[]", list, 1);
    bdbi_has h;
    accept(d, &h);
    cr_assert_eq(h.current_buckets[2].next.n_shadows, N);
    int k;
    memcpy(&k, h.current_buckets[2].next.shadows[N - 1], sizeof k);
    cr_assert_eq(k, N - 1);
    bdbi_has_free(env, &h);
    free(d);
    free(list);
    free(t);
}

/* Each allocation the reader makes fails once: BDB_ENOMEM, nothing kept. */
Test(has_hostile, every_allocation_failure)
{
    size_t len;
    char *t = sample_text(2, &len);
    long nth;
    for (nth = 1;; nth++) {
        bdbi_has h;
        alloc_fail_arm(nth);
        int rc = bdbi_has_parse(env, t, len, &h);
        int hit = alloc_fail_fired();
        alloc_fail_disarm();
        if (!hit) {
            cr_assert_eq(rc, 0, "%s", bdb_errmsg());
            bdbi_has_free(env, &h);
            break;
        }
        cr_assert_eq(rc, BDB_ENOMEM, "allocation %ld: rc %d", nth, rc);
        cr_assert(empty_has(&h));
    }
    cr_assert_geq(nth, 6, "server, passphrase and the shadow arrays were failed (%ld)", nth);
    free(t);
}

Test(has_hostile, bad_arguments)
{
    bdbi_has h;
    cr_assert_eq(bdbi_has_parse(NULL, "{}", 2, &h), BDB_EINVAL);
    cr_assert_eq(bdbi_has_parse(env, NULL, 2, &h), BDB_EINVAL);
    cr_assert_eq(bdbi_has_parse(env, "{}", 2, NULL), BDB_EINVAL);
    cr_assert_eq(bdbi_has_parse(env, NULL, 0, &h), BDB_EFORMAT);
    bdbi_has_free(env, NULL);
}
