/* Shared by the HAS test programs: an environment per test whose close must
 * report no leak, hashes named by labels (SHA-256 of the label, as in
 * gen_has_vectors.py), and a sample document using every next state. */
#ifndef BDB_TESTS_HAS_TEST_UTIL_H
#define BDB_TESTS_HAS_TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/has.h"
#include "bucketdb/bucketdb.h"
#include "core/sha256.h"

static bdb_env *env;

static void env_setup(void)
{
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 1;
    o.use_jemalloc_arena = 0; /* malloc, so that alloc_fail.h can fail it */
    cr_assert_eq(bdb_env_open(&o, &env), 0, "%s", bdb_errmsg());
}

static void env_teardown(void)
{
    cr_assert_eq(bdb_env_close(env), 0, "leak: %s", bdb_errmsg());
}

static void label_hash(const char *label, uint8_t out[32])
{
    cr_assert_eq(bdbi_sha256_digest(label, strlen(label), out), 0);
}

static void to_hex(const uint8_t h[32], char out[65])
{
    for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", h[i]);
}

/* The lowercase hex of a label's hash (a static buffer per call site is not
 * needed: callers copy it). */
static void label_hex(const char *label, char out[65])
{
    uint8_t h[32];
    label_hash(label, h);
    to_hex(h, out);
}

static uint8_t sample_shadows[2][BDBI_HAS_LEVELS][4][32];

/* The layout gen_has_vectors.py uses: level 0 clear, level 10 zero hashes
 * and clear, i % 3 == 1 an output, i % 3 == 2 inputs with i / 3 shadows,
 * else clear. */
static void sample_levels(const char *tag, int hot, bdbi_has_level *lv)
{
    char b[64];
    uint8_t zero[32] = {0};
    for (int i = 0; i < BDBI_HAS_LEVELS; i++) {
        memset(&lv[i], 0, sizeof lv[i]);
        snprintf(b, sizeof b, "%s-curr-%d", tag, i);
        label_hash(b, lv[i].curr);
        snprintf(b, sizeof b, "%s-snap-%d", tag, i);
        label_hash(b, lv[i].snap);
        if (i == 10) {
            memcpy(lv[i].curr, zero, 32);
            memcpy(lv[i].snap, zero, 32);
        }
        bdbi_has_next *n = &lv[i].next;
        if (i == 0 || i == 10 || i % 3 == 0) continue;
        if (i % 3 == 1) {
            n->state = BDBI_FB_OUTPUT;
            snprintf(b, sizeof b, "%s-out-%d", tag, i);
            label_hash(b, n->output);
            continue;
        }
        n->state = BDBI_FB_INPUTS;
        snprintf(b, sizeof b, "%s-ncurr-%d", tag, i);
        label_hash(b, n->curr);
        snprintf(b, sizeof b, "%s-nsnap-%d", tag, i);
        label_hash(b, n->snap);
        n->n_shadows = (size_t)(i / 3);
        for (size_t j = 0; j < n->n_shadows; j++) {
            snprintf(b, sizeof b, "%s-shadow-%d-%zu", tag, i, j);
            label_hash(b, sample_shadows[hot][i][j]);
        }
        n->shadows = n->n_shadows ? sample_shadows[hot][i] : NULL;
    }
}

/* The document of has-v1.json (version 1) or has-v2.json (version 2); it
 * points at static storage and must not be given to bdbi_has_free. */
static void sample_has(bdbi_has *h, uint32_t version)
{
    memset(h, 0, sizeof *h);
    h->version = version;
    if (version == 1) {
        h->server = (char *)"bucketdb-test v0.1 (\"q\" / \xc3\xa9)";
        h->current_ledger = 1048575;
    } else {
        h->server = (char *)"bucketdb-test v0.2";
        h->current_ledger = 4294967295u;
        h->network_passphrase = (char *)"Test SDF Network ; September 2015";
        sample_levels("hot", 1, h->hot_archive_buckets);
    }
    sample_levels("live", 0, h->current_buckets);
}

/* Writes `h` into a malloc'd string (freed by the caller). */
static char *write_alloc(const bdbi_has *h, size_t *len)
{
    size_t need;
    cr_assert_eq(bdbi_has_write(h, NULL, 0, &need), BDB_EINVAL);
    char *buf = malloc(need);
    cr_assert_not_null(buf);
    cr_assert_eq(bdbi_has_write(h, buf, need, len), 0, "%s", bdb_errmsg());
    cr_assert_eq(*len + 1, need);
    return buf;
}

#endif
