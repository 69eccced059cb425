/* Ledger batch vectors for the store tests: loads `<name>.jsonl` (one
 * ledger per line, as `bucketdb replay` reads them: {"ledger", "protocol",
 * "init", "live", "dead"[, "hot_archived", "hot_restored"]} with base64
 * XDR) and `<name>.expected` (the reference model's output in `bucketdb
 * replay --levels` format: "<ledger> <header hash>" then "  L<i> <curr>
 * <snap>" for the 11 live levels) from the directory named by
 * BDB_TEST_BATCHES, and yields per ledger the bdb_bytes arrays and the
 * expected hashes. Several files may be appended when they continue each
 * other (restart.jsonl then restart-p23.jsonl).
 *
 * Nothing here uses Criterion, so plain-C test programs (crash_store.c)
 * can use it too: functions report failure by return value and a message
 * in a caller buffer. Memory is the process heap, not the environment's,
 * so it never shows in bdb_env_close()'s leak check. Header-only: every
 * function is static. */
#ifndef BDB_TESTS_LIST_BATCHES_H
#define BDB_TESTS_LIST_BATCHES_H

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucketdb/bucketdb.h"
#include "bucketdb/list.h"

/* One ledger: its batch and what the reference model says after it. */
typedef struct batch {
    uint32_t ledger, protocol;
    int hot; /* the line has "hot_archived" or "hot_restored": stage a hot batch first */
    bdb_bytes *init, *live, *dead, *archived, *restored;
    size_t n_init, n_live, n_dead, n_archived, n_restored;
    int has_expected; /* the .expected file has the ledger */
    uint8_t hash[32]; /* LedgerHeader.bucketListHash */
    uint8_t curr[BDB_LIST_LEVELS][32], snap[BDB_LIST_LEVELS][32]; /* live list */
    /* owned memory */
    bdb_bytes *vecs;
    uint8_t *bytes;
} batch;

/* Consecutive ledgers v[0].ledger, v[0].ledger + 1, ... */
typedef struct batches {
    batch *v;
    size_t n, cap;
} batches;

static inline void batch_err(char *err, size_t cap, const char *fmt, ...)
{
    if (!err || !cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

static inline void batch_hex(const uint8_t *h, char out[65])
{
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = d[h[i] >> 4];
        out[2 * i + 1] = d[h[i] & 15];
    }
    out[64] = 0;
}

static inline int batch_unhex(const char *s, uint8_t out[32])
{
    for (int i = 0; i < 64; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) return -1;
        if (i % 2)
            out[i / 2] = (uint8_t)(out[i / 2] | v);
        else
            out[i / 2] = (uint8_t)(v << 4);
    }
    return 0;
}

/* The directory of the batch vectors. */
static inline const char *batches_dir(void)
{
    const char *d = getenv("BDB_TEST_BATCHES");
    return d && *d ? d : "tests/vectors/batches";
}

static inline int batch_b64val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Strict base64 with padding; returns the decoded length or -1. */
static inline long batch_b64decode(const char *s, size_t n, uint8_t *out)
{
    if (n % 4) return -1;
    long o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int j = 0; j < 4; j++) {
            v[j] = s[i + j] == '=' ? -2 : batch_b64val((unsigned char)s[i + j]);
            if (v[j] == -1) return -1;
        }
        if (v[0] < 0 || v[1] < 0 || (v[2] == -2 && v[3] != -2)) return -1;
        if ((v[2] == -2 || v[3] == -2) && i + 4 != n) return -1;
        out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
        if (v[2] >= 0) out[o++] = (uint8_t)(v[1] << 4 | v[2] >> 2);
        if (v[3] >= 0) out[o++] = (uint8_t)(v[2] << 6 | v[3]);
    }
    return o;
}

static inline void batch_free(batch *b)
{
    free(b->vecs);
    free(b->bytes);
    memset(b, 0, sizeof *b);
}

static inline void batches_free(batches *bs)
{
    for (size_t i = 0; i < bs->n; i++) batch_free(&bs->v[i]);
    free(bs->v);
    memset(bs, 0, sizeof *bs);
}

static const char *const batch_fields[5] = {"init", "live", "dead", "hot_archived", "hot_restored"};

/* Decodes one JSON line into *b. */
static inline int batch_parse(json_t *o, batch *b, char *err, size_t cap)
{
    memset(b, 0, sizeof *b);
    json_t *jl = json_object_get(o, "ledger"), *jp = json_object_get(o, "protocol");
    if (!json_is_integer(jl) || !json_is_integer(jp) || json_integer_value(jl) < 1 ||
        json_integer_value(jl) > UINT32_MAX || json_integer_value(jp) < 0 ||
        json_integer_value(jp) > UINT32_MAX) {
        batch_err(err, cap, "needs integer \"ledger\" >= 1 and \"protocol\"");
        return -1;
    }
    b->ledger = (uint32_t)json_integer_value(jl);
    b->protocol = (uint32_t)json_integer_value(jp);
    json_t *arrs[5];
    size_t count = 0, total = 0;
    for (int f = 0; f < 5; f++) {
        arrs[f] = json_object_get(o, batch_fields[f]);
        if (f >= 3 && arrs[f]) b->hot = 1;
        if (!arrs[f]) continue;
        if (!json_is_array(arrs[f])) {
            batch_err(err, cap, "ledger %u: \"%s\" is not an array", b->ledger, batch_fields[f]);
            return -1;
        }
        for (size_t i = 0; i < json_array_size(arrs[f]); i++) {
            json_t *s = json_array_get(arrs[f], i);
            if (!json_is_string(s)) {
                batch_err(err, cap, "ledger %u: %s[%zu] is not a string", b->ledger,
                          batch_fields[f], i);
                return -1;
            }
            total += json_string_length(s);
            count++;
        }
    }
    b->vecs = calloc(count ? count : 1, sizeof *b->vecs);
    b->bytes = malloc(total ? total : 1);
    if (!b->vecs || !b->bytes) {
        batch_free(b);
        batch_err(err, cap, "out of memory");
        return -1;
    }
    bdb_bytes **dst[5] = {&b->init, &b->live, &b->dead, &b->archived, &b->restored};
    size_t *cnt[5] = {&b->n_init, &b->n_live, &b->n_dead, &b->n_archived, &b->n_restored};
    size_t k = 0, pos = 0;
    for (int f = 0; f < 5; f++) {
        *dst[f] = b->vecs + k;
        size_t n = arrs[f] ? json_array_size(arrs[f]) : 0;
        for (size_t i = 0; i < n; i++) {
            json_t *s = json_array_get(arrs[f], i);
            long len = batch_b64decode(json_string_value(s), json_string_length(s), b->bytes + pos);
            if (len < 0) {
                batch_err(err, cap, "ledger %u: %s[%zu] is not base64", b->ledger, batch_fields[f],
                          i);
                batch_free(b);
                return -1;
            }
            b->vecs[k++] = (bdb_bytes){b->bytes + pos, (size_t)len};
            pos += (size_t)len;
        }
        *cnt[f] = n;
    }
    return 0;
}

/* The batch of `ledger`, or NULL. */
static inline batch *batches_get(const batches *bs, uint32_t ledger)
{
    if (!bs->n || ledger < bs->v[0].ledger || ledger - bs->v[0].ledger >= bs->n) return NULL;
    return &bs->v[ledger - bs->v[0].ledger];
}

static inline uint32_t batches_first(const batches *bs)
{
    return bs->n ? bs->v[0].ledger : 0;
}

static inline uint32_t batches_last(const batches *bs)
{
    return bs->n ? bs->v[bs->n - 1].ledger : 0;
}

/* Reads <dir>/<name>.expected into the loaded batches. */
static inline int batches_load_expected(batches *bs, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        batch_err(err, cap, "%s: cannot open", path);
        return -1;
    }
    char line[256];
    batch *cur = NULL;
    int rc = 0, lno = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lno++;
        unsigned long ledger;
        char h[65], c[65], s[65];
        int lv;
        if (line[0] != ' ' && sscanf(line, "%lu %64s", &ledger, h) == 2) {
            cur = batches_get(bs, (uint32_t)ledger);
            if (cur && batch_unhex(h, cur->hash) == 0)
                cur->has_expected = 1;
            else if (cur)
                rc = -1;
        } else if (sscanf(line, " L%d %64s %64s", &lv, c, s) == 3 && lv >= 0 &&
                   lv < BDB_LIST_LEVELS) {
            if (cur && (batch_unhex(c, cur->curr[lv]) || batch_unhex(s, cur->snap[lv]))) rc = -1;
        } else {
            rc = -1;
        }
        if (rc) batch_err(err, cap, "%s:%d: cannot parse", path, lno);
    }
    fclose(f);
    return rc;
}

/* Appends the ledgers of <dir>/<name>.jsonl up to `last` (0: all) and
 * their expected values from <dir>/<name>.expected. The first ledger
 * must follow the last one loaded. */
static inline int batches_load(batches *bs, const char *name, uint32_t last, char *err, size_t cap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.jsonl", batches_dir(), name);
    FILE *f = fopen(path, "r");
    if (!f) {
        batch_err(err, cap, "%s: cannot open (set BDB_TEST_BATCHES)", path);
        return -1;
    }
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int rc = 0, lno = 0;
    while (!rc && (len = getline(&line, &lcap, f)) > 0) {
        lno++;
        json_error_t jerr;
        json_t *o = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
        if (!o || !json_is_object(o)) {
            batch_err(err, cap, "%s:%d: %s", path, lno, o ? "not an object" : jerr.text);
            json_decref(o);
            rc = -1;
            break;
        }
        batch b;
        rc = batch_parse(o, &b, err, cap);
        json_decref(o);
        if (rc) break;
        if (last && b.ledger > last) {
            batch_free(&b);
            break;
        }
        if (bs->n && b.ledger != batches_last(bs) + 1) {
            batch_err(err, cap, "%s:%d: ledger %u does not follow %u", path, lno, b.ledger,
                      batches_last(bs));
            batch_free(&b);
            rc = -1;
            break;
        }
        if (bs->n == bs->cap) {
            size_t nc = bs->cap ? 2 * bs->cap : 256;
            batch *nv = realloc(bs->v, nc * sizeof *nv);
            if (!nv) {
                batch_err(err, cap, "out of memory");
                batch_free(&b);
                rc = -1;
                break;
            }
            bs->v = nv;
            bs->cap = nc;
        }
        bs->v[bs->n++] = b;
    }
    free(line);
    fclose(f);
    if (rc) return rc;
    snprintf(path, sizeof path, "%s/%s.expected", batches_dir(), name);
    return batches_load_expected(bs, path, err, cap);
}

/* Applies one ledger: its hot batch first when the line has one, then the
 * live batch. Returns the library's code. */
static inline int batch_apply(bdb_list *l, const batch *b)
{
    if (b->hot) {
        int rc = bdb_list_add_hot_batch(l, b->ledger, b->protocol, b->archived, b->n_archived,
                                        b->restored, b->n_restored);
        if (rc) return rc;
    }
    return bdb_list_add_batch(l, b->ledger, b->protocol, b->init, b->n_init, b->live, b->n_live,
                              b->dead, b->n_dead);
}

/* Whether *st is what the reference model says after b's ledger: the
 * ledger, the protocol, the header hash and every live curr and snap.
 * Fills `why` when not. */
static inline int batch_state_matches(const bdb_list_state *st, const batch *b, char *why,
                                      size_t cap)
{
    char got[65], want[65];
    if (!b->has_expected) {
        batch_err(why, cap, "ledger %u has no expected values", b->ledger);
        return 0;
    }
    if (st->ledger != b->ledger || st->protocol != b->protocol) {
        batch_err(why, cap, "state is ledger %u protocol %u, expected ledger %u protocol %u",
                  st->ledger, st->protocol, b->ledger, b->protocol);
        return 0;
    }
    for (int i = 0; i < BDB_LIST_LEVELS; i++)
        for (int j = 0; j < 2; j++) {
            const uint8_t *g = j ? st->live_snap[i] : st->live_curr[i];
            const uint8_t *w = j ? b->snap[i] : b->curr[i];
            if (memcmp(g, w, 32) == 0) continue;
            batch_hex(g, got);
            batch_hex(w, want);
            batch_err(why, cap, "ledger %u: live L%d %s %s, expected %s", b->ledger, i,
                      j ? "snap" : "curr", got, want);
            return 0;
        }
    if (memcmp(st->header_hash, b->hash, 32) != 0) {
        batch_hex(st->header_hash, got);
        batch_hex(b->hash, want);
        batch_err(why, cap, "ledger %u: header hash %s, expected %s", b->ledger, got, want);
        return 0;
    }
    return 1;
}

/* Applies ledgers from..to (inclusive) and checks the state after each.
 * Returns 0, or the library's code (or -1 for a mismatch) with `why`. */
static inline int batches_replay(bdb_list *l, const batches *bs, uint32_t from, uint32_t to,
                                 char *why, size_t cap)
{
    for (uint32_t ledger = from; ledger <= to; ledger++) {
        const batch *b = batches_get(bs, ledger);
        if (!b) {
            batch_err(why, cap, "ledger %u is not loaded", ledger);
            return -1;
        }
        int rc = batch_apply(l, b);
        if (rc) {
            batch_err(why, cap, "ledger %u refused: %s", ledger, bdb_errmsg());
            return rc;
        }
        bdb_list_state st;
        bdb_list_state_get(l, &st);
        if (!batch_state_matches(&st, b, why, cap)) return -1;
    }
    return 0;
}

#endif
