/* The HAS reader and writer against documents in stellar-core's exact
 * layout (has-v1.json, has-v2.json: written by gen_has_vectors.py, whose
 * layout matches stellar-core's serialize-tests files byte for byte), round
 * trips over every next state, the writer's buffer contract and string
 * escapes, and the bucket-list validation rules one by one. */
#include "config.h"

#include "has_test_util.h"

TestSuite(has, .init = env_setup, .fini = env_teardown);

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", HAS_VECTOR_DIR, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    char *buf = malloc(1 << 16);
    *len = fread(buf, 1, (1 << 16) - 2, f);
    fclose(f);
    cr_assert_lt(*len, (1 << 16) - 2, "%s is too big for the test", path);
    buf[*len] = 0;
    cr_assert_gt(*len, 0);
    return buf;
}

static void expect_label(const uint8_t h[32], const char *label)
{
    uint8_t want[32];
    label_hash(label, want);
    cr_assert_eq(memcmp(h, want, 32), 0, "hash of %s", label);
}

/* Reads a vector, checks fields against what the generator put there, and
 * writes it back byte for byte. */
static void vector_case(const char *name, uint32_t version)
{
    size_t len, wlen;
    char *text = slurp(name, &len);
    bdbi_has h;
    cr_assert_eq(bdbi_has_parse(env, text, len, &h), 0, "%s", bdb_errmsg());
    cr_assert_eq(h.version, version);
    const bdbi_has_level *lv = h.current_buckets;
    expect_label(lv[0].curr, "live-curr-0");
    expect_label(lv[9].snap, "live-snap-9");
    cr_assert_eq(lv[0].next.state, BDBI_FB_CLEAR);
    cr_assert_eq(lv[4].next.state, BDBI_FB_OUTPUT);
    expect_label(lv[4].next.output, "live-out-4");
    cr_assert_eq(lv[2].next.state, BDBI_FB_INPUTS);
    cr_assert_eq(lv[2].next.n_shadows, 0);
    cr_assert_null(lv[2].next.shadows);
    cr_assert_eq(lv[8].next.n_shadows, 2);
    expect_label(lv[8].next.curr, "live-ncurr-8");
    expect_label(lv[8].next.snap, "live-nsnap-8");
    expect_label(lv[8].next.shadows[1], "live-shadow-8-1");
    static const uint8_t zero[32];
    cr_assert_eq(memcmp(lv[10].curr, zero, 32), 0);
    if (version == 1) {
        cr_assert_str_eq(h.server, "bucketdb-test v0.1 (\"q\" / \xc3\xa9)");
        cr_assert_eq(h.current_ledger, 1048575);
        cr_assert_null(h.network_passphrase);
    } else {
        cr_assert_eq(h.current_ledger, 4294967295u);
        cr_assert_str_eq(h.network_passphrase, "Test SDF Network ; September 2015");
        expect_label(h.hot_archive_buckets[5].next.shadows[0], "hot-shadow-5-0");
        expect_label(h.hot_archive_buckets[7].next.output, "hot-out-7");
    }
    bdbi_has sample;
    sample_has(&sample, version);
    cr_assert(bdbi_has_eq(&h, &sample), "parsed document differs from the sample");
    char *out = write_alloc(&h, &wlen);
    cr_assert_eq(wlen, len, "written %zu bytes, file has %zu", wlen, len);
    cr_assert_eq(memcmp(out, text, len), 0, "written text differs from %s", name);
    free(out);
    out = write_alloc(&sample, &wlen);
    cr_assert_eq(wlen, len);
    cr_assert_eq(memcmp(out, text, len), 0);
    free(out);
    bdbi_has_free(env, &h);
    free(text);
}

Test(has, version_1_vector_without_passphrase)
{
    vector_case("has-v1.json", 1);
}

Test(has, version_2_vector_with_hot_archive)
{
    vector_case("has-v2.json", 2);
}

/* The exact text of each `next` form, as in stellar-core's files. */
/* stellar-core's own serialize-tests documents (src/history/serialize-tests,
 * copied verbatim into core-has/): each parses, has the fields the file says, is written
 * back byte for byte, and passes the bucket-list rules with every bucket
 * at version 0 (their era: buckets before protocol 11 have no METAENTRY,
 * so stellar-core reads 0, and nexts must hold outputs). */
/* A 63-digit "hash" in stellar-core's v2 document (its last next output) */
#define BAD_HASH "50abed8a9d86c072cfe8388246b7a378dc355fe996fd7384a5ee57e8da2ad52"

static void stellar_core_case(const char *name, uint32_t version, uint32_t ledger,
                              const char *server, const char *passphrase)
{
    char rel[256];
    snprintf(rel, sizeof rel, "core-has/%s", name);
    size_t len, wlen;
    char *text = slurp(rel, &len);
    bdbi_has h;
    const char *bad = strstr(text, BAD_HASH "\"");
    if (bad) {
        /* stellar-core keeps hashes as strings until it uses them, so its
         * loader passes this one; ours refuses it at once, naming it
         * (docs/has.md). The rest of the document is checked with the hash
         * completed to 64 digits. */
        cr_assert_eq(bdbi_has_parse(env, text, len, &h), BDB_EFORMAT, "%s", name);
        cr_assert(strstr(bdb_errmsg(), "hotArchiveBuckets[10].next.output"), "%s", bdb_errmsg());
        size_t at = (size_t)(bad - text) + strlen(BAD_HASH);
        memmove(text + at + 1, text + at, len - at);
        text[at] = '0';
        text[++len] = 0;
    }
    cr_assert_eq(bdbi_has_parse(env, text, len, &h), 0, "%s: %s", name, bdb_errmsg());
    cr_assert_eq(h.version, version, "%s", name);
    cr_assert_eq(h.current_ledger, ledger, "%s", name);
    cr_assert_str_eq(h.server, server, "%s", name);
    if (passphrase)
        cr_assert_str_eq(h.network_passphrase, passphrase, "%s", name);
    else
        cr_assert_null(h.network_passphrase, "%s", name);
    char *out = write_alloc(&h, &wlen);
    cr_assert_eq(wlen, len, "%s: written %zu bytes, the file has %zu", name, wlen, len);
    cr_assert_eq(memcmp(out, text, len), 0, "%s: written text differs", name);
    free(out);
    static const uint8_t zero[32];
    for (int hot = 0; hot <= (version >= 2); hot++) {
        const bdbi_has_level *lv = hot ? h.hot_archive_buckets : h.current_buckets;
        uint32_t cv[BDBI_HAS_LEVELS], sv[BDBI_HAS_LEVELS];
        int ce[BDBI_HAS_LEVELS], se[BDBI_HAS_LEVELS];
        for (int i = 0; i < BDBI_HAS_LEVELS; i++) {
            ce[i] = !memcmp(lv[i].curr, zero, 32);
            se[i] = !memcmp(lv[i].snap, zero, 32);
            cv[i] = sv[i] = 0;
        }
        cr_assert_eq(bdbi_has_validate(&h, hot, cv, sv, ce, se), 0, "%s: %s", name, bdb_errmsg());
    }
    bdbi_has_free(env, &h);
    free(text);
}

Test(has, stellar_core_serialize_tests)
{
    stellar_core_case("livenet.15686975.json", 1, 15686975, "v9.0.1-dirty", NULL);
    stellar_core_case("testnet.6714239.json", 1, 6714239, "v9.0.1-dirty", NULL);
    stellar_core_case("testnet.6714239.passphrase.json", 1, 6714239, "v9.0.1-dirty",
                      "(V) (;,,;) (V)");
    stellar_core_case("testnet.6714239.passphrase.v2.json", 2, 6714239, "v9.0.1-dirty",
                      "(V) (;,,;) (V)");
}

Test(has, next_layouts)
{
    bdbi_has h;
    size_t len;
    sample_has(&h, 1);
    char *t = write_alloc(&h, &len);
    char out[65], c[65], s[65], sh[65], want[1024];
    label_hex("live-out-1", out);
    snprintf(want, sizeof want,
             "\"next\": {\n                \"state\": 1,\n                "
             "\"output\": \"%s\"\n            },\n",
             out);
    cr_assert_not_null(strstr(t, want), "state 1 layout");
    cr_assert_not_null(strstr(t, "\"next\": {\n                \"state\": 0\n            },\n"),
                       "state 0 layout");
    label_hex("live-ncurr-2", c);
    label_hex("live-nsnap-2", s);
    snprintf(want, sizeof want,
             "\"next\": {\n                \"state\": 2,\n                \"curr\": \"%s\",\n"
             "                \"snap\": \"%s\",\n                \"shadow\": []\n            },\n",
             c, s);
    cr_assert_not_null(strstr(t, want), "state 2 without shadows");
    label_hex("live-ncurr-5", c);
    label_hex("live-nsnap-5", s);
    label_hex("live-shadow-5-0", sh);
    snprintf(want, sizeof want,
             "\"next\": {\n                \"state\": 2,\n                \"curr\": \"%s\",\n"
             "                \"snap\": \"%s\",\n                \"shadow\": [\n"
             "                    \"%s\"\n                ]\n            },\n",
             c, s, sh);
    cr_assert_not_null(strstr(t, want), "state 2 with a shadow");
    cr_assert(strncmp(t, "{\n    \"version\": 1,\n    \"server\": ", 33) == 0);
    cr_assert_str_eq(t + len - 19, "\"\n        }\n    ]\n}", "no final newline");
    free(t);
}

static void round_trip(const bdbi_has *h)
{
    size_t len, len2;
    char *t = write_alloc(h, &len);
    bdbi_has back;
    cr_assert_eq(bdbi_has_parse(env, t, len, &back), 0, "%s", bdb_errmsg());
    cr_assert(bdbi_has_eq(h, &back), "parse(write(x)) != x");
    char *t2 = write_alloc(&back, &len2);
    cr_assert_eq(len, len2);
    cr_assert_eq(memcmp(t, t2, len), 0, "write(parse(write(x))) != write(x)");
    bdbi_has_free(env, &back);
    free(t);
    free(t2);
}

Test(has, round_trips)
{
    bdbi_has h;
    sample_has(&h, 1);
    round_trip(&h);
    sample_has(&h, 2);
    round_trip(&h);
    /* v1 with a passphrase, every level with many shadows, extreme numbers */
    sample_has(&h, 1);
    h.network_passphrase = (char *)"Public Global Stellar Network ; September 2015";
    h.current_ledger = 0;
    static uint8_t many[20][32];
    for (int j = 0; j < 20; j++) memset(many[j], j * 13 + 1, 32);
    for (int i = 1; i < BDBI_HAS_LEVELS; i++) {
        h.current_buckets[i].next.state = BDBI_FB_INPUTS;
        h.current_buckets[i].next.n_shadows = (size_t)(2 * i - 2);
        h.current_buckets[i].next.shadows = i > 1 ? many : NULL;
    }
    round_trip(&h);
    /* all clear, all zero: a fresh list */
    memset(h.current_buckets, 0, sizeof h.current_buckets);
    round_trip(&h);
}

/* rapidjson's escapes: two-letter forms, \u00XX in uppercase for other
 * control characters, '/' and DEL and UTF-8 as they are. */
Test(has, string_escapes)
{
    bdbi_has h, back;
    sample_has(&h, 1);
    h.server = (char *)"a\"b\\c/d\b\f\n\r\t\x01\x1f\x7f\xe2\x82\xac";
    size_t len;
    char *t = write_alloc(&h, &len);
    cr_assert_not_null(
        strstr(t, "\"server\": \"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\\u0001\\u001F\x7f\xe2\x82\xac\",\n"),
        "%s", t);
    cr_assert_eq(bdbi_has_parse(env, t, len, &back), 0, "%s", bdb_errmsg());
    cr_assert_str_eq(back.server, h.server);
    bdbi_has_free(env, &back);
    free(t);
}

Test(has, write_buffer_contract)
{
    bdbi_has h;
    sample_has(&h, 2);
    size_t need = 0, len = 0;
    cr_assert_eq(bdbi_has_write(&h, NULL, 0, &need), BDB_EINVAL);
    char *buf = malloc(need + 8);
    memset(buf, 'X', need + 8);
    cr_assert_eq(bdbi_has_write(&h, buf, need - 1, &len), BDB_EINVAL);
    cr_assert_eq(len, need, "the size needed is reported again");
    cr_assert_eq(buf[need - 1], 'X', "nothing written past cap");
    cr_assert_eq(bdbi_has_write(&h, buf, need, &len), 0);
    cr_assert_eq(len, need - 1);
    cr_assert_eq(buf[len], '\0');
    cr_assert_eq(strlen(buf), len);
    cr_assert_eq(buf[need], 'X');
    free(buf);
}

Test(has, write_refuses_what_stellar_core_would_not_write)
{
    bdbi_has h;
    size_t len;
    char buf[16];
    sample_has(&h, 2);
    h.network_passphrase = NULL;
    cr_assert_eq(bdbi_has_write(&h, buf, sizeof buf, &len), BDB_EINVAL);
    h.network_passphrase = (char *)"";
    cr_assert_eq(bdbi_has_write(&h, buf, sizeof buf, &len), BDB_EINVAL);
    cr_assert(strstr(bdb_errmsg(), "passphrase") != NULL, "%s", bdb_errmsg());
    sample_has(&h, 3);
    cr_assert_eq(bdbi_has_write(&h, buf, sizeof buf, &len), BDB_EINVAL);
    sample_has(&h, 1);
    h.current_buckets[4].next.state = 3;
    cr_assert_eq(bdbi_has_write(&h, buf, sizeof buf, &len), BDB_EINVAL);
    cr_assert(strstr(bdb_errmsg(), "currentBuckets[4]") != NULL, "%s", bdb_errmsg());
    sample_has(&h, 1);
    h.current_buckets[8].next.shadows = NULL;
    cr_assert_eq(bdbi_has_write(&h, buf, sizeof buf, &len), BDB_EINVAL);
    sample_has(&h, 1);
    h.server = NULL;
    cr_assert_eq(bdbi_has_write(&h, buf, sizeof buf, &len), BDB_EINVAL);
    /* v1 with an empty passphrase: written without one, as stellar-core */
    sample_has(&h, 1);
    h.network_passphrase = (char *)"";
    char *t = write_alloc(&h, &len);
    cr_assert_null(strstr(t, "networkPassphrase"));
    free(t);
}

/* ---- validation ----------------------------------------------------------- */

typedef struct vlist {
    uint32_t curr_ver[BDBI_HAS_LEVELS], snap_ver[BDBI_HAS_LEVELS];
    int curr_empty[BDBI_HAS_LEVELS], snap_empty[BDBI_HAS_LEVELS];
} vlist;

/* Every bucket non-empty at protocol `v`; every next clear. */
static void full_list(bdbi_has *h, vlist *l, uint32_t v)
{
    sample_has(h, 2);
    for (int i = 0; i < BDBI_HAS_LEVELS; i++) {
        memset(&h->current_buckets[i].next, 0, sizeof(bdbi_has_next));
        memset(&h->hot_archive_buckets[i].next, 0, sizeof(bdbi_has_next));
        l->curr_ver[i] = l->snap_ver[i] = v;
        l->curr_empty[i] = l->snap_empty[i] = 0;
    }
}

static int validate(const bdbi_has *h, int hot, const vlist *l)
{
    return bdbi_has_validate(h, hot, l->curr_ver, l->snap_ver, l->curr_empty, l->snap_empty);
}

static void expect_invalid(const bdbi_has *h, int hot, const vlist *l, const char *msg)
{
    cr_assert_eq(validate(h, hot, l), BDB_EFORMAT, "accepted; expected: %s", msg);
    cr_assert(strstr(bdb_errmsg(), msg) != NULL, "'%s' lacks '%s'", bdb_errmsg(), msg);
}

static void set_output(bdbi_has_level *lv, int i)
{
    lv[i].next.state = BDBI_FB_OUTPUT;
    memset(lv[i].next.output, 0x42, 32);
}

Test(has, validate_from_protocol_12_nexts_are_clear)
{
    bdbi_has h;
    vlist l;
    full_list(&h, &l, 23);
    cr_assert_eq(validate(&h, 0, &l), 0, "%s", bdb_errmsg());
    cr_assert_eq(validate(&h, 1, &l), 0, "%s", bdb_errmsg());
    set_output(h.current_buckets, 3);
    expect_invalid(&h, 0, &l, "currentBuckets[3].next: state 1, must be clear");
    cr_assert_eq(validate(&h, 1, &l), 0, "the hot list is separate");
    h.hot_archive_buckets[6].next.state = BDBI_FB_INPUTS;
    expect_invalid(&h, 1, &l, "hotArchiveBuckets[6].next: state 2, must be clear");
}

Test(has, validate_before_protocol_12_nexts_hold_outputs)
{
    bdbi_has h;
    vlist l;
    full_list(&h, &l, 11);
    expect_invalid(&h, 0, &l, "currentBuckets[10].next: state 0, must be a merge output");
    for (int i = 1; i < BDBI_HAS_LEVELS; i++) set_output(h.current_buckets, i);
    cr_assert_eq(validate(&h, 0, &l), 0, "%s", bdb_errmsg());
    h.current_buckets[7].next.state = BDBI_FB_INPUTS; /* unresolved inputs are not enough */
    expect_invalid(&h, 0, &l, "currentBuckets[7].next: state 2, must be a merge output");
}

/* The rule looks at the snap of the level above: 11 wants an output, 12 a
 * clear next, whatever the level's own buckets are. */
Test(has, validate_boundary_is_the_previous_snap)
{
    bdbi_has h;
    vlist l;
    full_list(&h, &l, 12);
    for (int i = 0; i < 5; i++) l.curr_ver[i] = l.snap_ver[i] = 13;
    l.snap_ver[5] = l.curr_ver[5] = 12;
    cr_assert_eq(validate(&h, 0, &l), 0, "%s", bdb_errmsg());
    full_list(&h, &l, 11);
    for (int i = 0; i < 4; i++) l.curr_ver[i] = l.snap_ver[i] = 12; /* level 4's prev snap: 12 */
    for (int i = 5; i < BDBI_HAS_LEVELS; i++) set_output(h.current_buckets, i);
    cr_assert_eq(validate(&h, 0, &l), 0, "%s", bdb_errmsg());
    set_output(h.current_buckets, 4);
    expect_invalid(&h, 0, &l,
                   "currentBuckets[4].next: state 1, must be clear since "
                   "currentBuckets[3].snap has protocol 12");
}

Test(has, validate_level_0_next_is_clear)
{
    bdbi_has h;
    vlist l;
    full_list(&h, &l, 20);
    set_output(h.current_buckets, 0);
    expect_invalid(&h, 0, &l, "currentBuckets[0].next: state 1, must be clear at level 0");
    /* even in an all-empty list */
    for (int i = 0; i < BDBI_HAS_LEVELS; i++) l.curr_empty[i] = l.snap_empty[i] = 1;
    expect_invalid(&h, 0, &l, "currentBuckets[0].next");
}

/* While every bucket seen (deepest first) is empty, nexts are not checked. */
Test(has, validate_skips_nexts_below_the_first_non_empty_bucket)
{
    bdbi_has h;
    vlist l;
    full_list(&h, &l, 0);
    for (int i = 0; i < BDBI_HAS_LEVELS; i++) l.curr_empty[i] = l.snap_empty[i] = 1;
    set_output(h.current_buckets, 9);
    h.current_buckets[5].next.state = BDBI_FB_INPUTS;
    cr_assert_eq(validate(&h, 0, &l), 0, "%s", bdb_errmsg());
    /* levels 0-1 non-empty at 10, 2-10 empty: level 2 is checked because
     * level 1's snap counts as seen, and wants an output */
    full_list(&h, &l, 10);
    for (int i = 2; i < BDBI_HAS_LEVELS; i++) l.curr_empty[i] = l.snap_empty[i] = 1;
    for (int i = 0; i < 2; i++) l.curr_ver[i] = l.snap_ver[i] = 10;
    h.current_buckets[5].next.state = BDBI_FB_INPUTS; /* level 5: not checked */
    expect_invalid(&h, 0, &l,
                   "currentBuckets[2].next: state 0, must be a merge output (state 1) since "
                   "currentBuckets[1].snap has protocol 10");
    set_output(h.current_buckets, 2);
    expect_invalid(&h, 0, &l, "currentBuckets[1].next");
    set_output(h.current_buckets, 1);
    cr_assert_eq(validate(&h, 0, &l), 0, "%s", bdb_errmsg());
    /* once something was seen, an empty previous snap counts as protocol
     * 0, which wants an output */
    full_list(&h, &l, 0);
    for (int i = 1; i < BDBI_HAS_LEVELS; i++) set_output(h.current_buckets, i);
    l.snap_empty[4] = 1;
    cr_assert_eq(validate(&h, 0, &l), 0, "%s", bdb_errmsg());
    h.current_buckets[5].next.state = BDBI_FB_CLEAR;
    expect_invalid(&h, 0, &l,
                   "currentBuckets[5].next: state 0, must be a merge output (state 1) since "
                   "currentBuckets[4].snap has protocol 0");
}

Test(has, validate_versions_never_decrease_upwards)
{
    bdbi_has h;
    vlist l;
    full_list(&h, &l, 20);
    l.snap_ver[0] = 21;
    l.curr_ver[0] = 22;
    cr_assert_eq(validate(&h, 0, &l), 0, "newer towards level 0 is fine");
    l.curr_ver[0] = 19;
    expect_invalid(&h, 0, &l, "currentBuckets[0].curr: bucket protocol 19 is older than 21");
    full_list(&h, &l, 20);
    l.snap_ver[5] = 21; /* snap checked before curr of the same level */
    expect_invalid(&h, 0, &l, "currentBuckets[5].curr: bucket protocol 20 is older than 21");
    full_list(&h, &l, 20);
    l.curr_ver[6] = 21;
    expect_invalid(&h, 0, &l, "currentBuckets[5].snap: bucket protocol 20 is older than 21");
    /* an empty bucket counts as protocol 0, so none may sit above a
     * non-empty one */
    full_list(&h, &l, 20);
    l.curr_empty[10] = 1;
    expect_invalid(&h, 0, &l, "currentBuckets[10].curr: bucket protocol 0 (empty)");
    full_list(&h, &l, 20);
    l.curr_empty[10] = l.snap_empty[10] = 1;
    l.curr_ver[10] = l.snap_ver[10] = 99; /* ignored when empty */
    cr_assert_eq(validate(&h, 0, &l), 0, "%s", bdb_errmsg());
}

Test(has, validate_arguments)
{
    bdbi_has h;
    vlist l;
    full_list(&h, &l, 20);
    h.version = 1;
    cr_assert_eq(validate(&h, 1, &l), BDB_EINVAL, "version 1 has no hot archive");
    cr_assert_eq(validate(&h, 0, &l), 0);
    cr_assert_eq(bdbi_has_validate(&h, 0, NULL, l.snap_ver, l.curr_empty, l.snap_empty),
                 BDB_EINVAL);
}
