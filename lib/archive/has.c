/* The HistoryArchiveState JSON: a strict reader over jansson that checks
 * every field stellar-core reads and names the first one that is wrong, a
 * writer that reproduces cereal's JSONOutputArchive output (rapidjson's
 * PrettyWriter: 4-space indent, `"key": value`, empty arrays as `[]`, its
 * string escapes) byte for byte, and stellar-core's structural validation
 * of a bucket list. Layout and rules: docs/has.md. */
#include "config.h"

#include "has.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

#define CAT BDB_MEM_ARCHIVE

static const char *const list_name[2] = {"currentBuckets", "hotArchiveBuckets"};

/* ---- reading ------------------------------------------------------------- */

/* "<prefix>.<key>", or "<key>" without a prefix. */
static const char *field(char *buf, size_t cap, const char *prefix, const char *key)
{
    if (prefix)
        snprintf(buf, cap, "%s.%s", prefix, key);
    else
        snprintf(buf, cap, "%s", key);
    return buf;
}

static int bad(const char *path, const char *what)
{
    return bdbi_err(BDB_EFORMAT, "%s: %s", path, what);
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20; /* 'A'..'F' -> 'a'..'f'; nothing else lands there */
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* A hash: a string of exactly 64 hex digits, either case. */
static int hash_value(const json_t *v, const char *path, uint8_t out[32])
{
    if (!v) return bad(path, "missing");
    if (!json_is_string(v) || json_string_length(v) != 64)
        return bad(path, "not a 64-digit hex hash");
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    for (int i = 0; i < 32; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return bad(path, "not a 64-digit hex hash");
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int get_hash(const json_t *obj, const char *prefix, const char *key, uint8_t out[32])
{
    char p[96];
    return hash_value(json_object_get(obj, key), field(p, sizeof p, prefix, key), out);
}

/* An unsigned 32-bit integer, as cereal's GetUint(): JSON integers only. */
static int get_u32(const json_t *obj, const char *prefix, const char *key, uint32_t *out)
{
    char p[96];
    field(p, sizeof p, prefix, key);
    const json_t *v = json_object_get(obj, key);
    if (!v) return bad(p, "missing");
    if (!json_is_integer(v)) return bad(p, "not an integer");
    json_int_t x = json_integer_value(v);
    if (x < 0 || x > (json_int_t)UINT32_MAX)
        return bdbi_err(BDB_EFORMAT, "%s: %lld is out of range 0..4294967295", p, (long long)x);
    *out = (uint32_t)x;
    return 0;
}

/* A string copied into *out; with `optional`, absence gives NULL. */
static int get_string(bdb_env *env, const json_t *obj, const char *key, int optional, char **out)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) return optional ? 0 : bad(key, "missing");
    if (!json_is_string(v)) return bad(key, "not a string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (strlen(s) != n) return bad(key, "contains a NUL character");
    if (!(*out = bdbi_malloc(env, CAT, n + 1))) return BDB_ENOMEM;
    memcpy(*out, s, n + 1);
    return 0;
}

static int parse_next(bdb_env *env, const json_t *lv, const char *prefix, bdbi_has_next *next)
{
    char p[64], q[96];
    field(p, sizeof p, prefix, "next");
    const json_t *n = json_object_get(lv, "next");
    if (!n) return bad(p, "missing");
    if (!json_is_object(n)) return bad(p, "not an object");
    int rc = get_u32(n, p, "state", &next->state);
    if (rc) return rc;
    switch (next->state) {
    case BDBI_FB_CLEAR:
        return 0;
    case BDBI_FB_OUTPUT:
        return get_hash(n, p, "output", next->output);
    case BDBI_FB_INPUTS:
        break;
    default:
        return bdbi_err(BDB_EFORMAT, "%s.state: %u is not 0, 1 or 2", p, next->state);
    }
    if ((rc = get_hash(n, p, "curr", next->curr)) || (rc = get_hash(n, p, "snap", next->snap)))
        return rc;
    const json_t *sh = json_object_get(n, "shadow");
    field(q, sizeof q, p, "shadow");
    if (!sh) return bad(q, "missing");
    if (!json_is_array(sh)) return bad(q, "not an array");
    size_t count = json_array_size(sh);
    if (!count) return 0;
    if (count > SIZE_MAX / 32) return bad(q, "too many shadows");
    if (!(next->shadows = bdbi_malloc(env, CAT, count * 32))) return BDB_ENOMEM;
    next->n_shadows = count;
    for (size_t i = 0; i < count; i++) {
        snprintf(q, sizeof q, "%s.shadow[%zu]", p, i);
        if ((rc = hash_value(json_array_get(sh, i), q, next->shadows[i]))) return rc;
    }
    return 0;
}

static int parse_levels(bdb_env *env, const json_t *root, int hot, bdbi_has_level *levels)
{
    const char *name = list_name[hot];
    const json_t *a = json_object_get(root, name);
    if (!a) return bad(name, "missing");
    if (!json_is_array(a)) return bad(name, "not an array");
    if (json_array_size(a) != BDBI_HAS_LEVELS)
        return bdbi_err(BDB_EFORMAT, "%s: %zu levels, expected %d", name, json_array_size(a),
                        BDBI_HAS_LEVELS);
    for (size_t i = 0; i < BDBI_HAS_LEVELS; i++) {
        char p[48];
        snprintf(p, sizeof p, "%s[%zu]", name, i);
        const json_t *lv = json_array_get(a, i);
        if (!json_is_object(lv)) return bad(p, "not an object");
        int rc;
        if ((rc = get_hash(lv, p, "curr", levels[i].curr)) ||
            (rc = parse_next(env, lv, p, &levels[i].next)) ||
            (rc = get_hash(lv, p, "snap", levels[i].snap)))
            return rc;
    }
    return 0;
}

/* The fields in the order stellar-core reads them. */
static int parse_root(bdb_env *env, const json_t *root, bdbi_has *h)
{
    int rc;
    if ((rc = get_u32(root, NULL, "version", &h->version))) return rc;
    if (h->version != 1 && h->version != 2)
        return bdbi_err(BDB_EFORMAT, "version: %u is not 1 or 2", h->version);
    if ((rc = get_string(env, root, "server", 0, &h->server)) ||
        (rc = get_u32(root, NULL, "currentLedger", &h->current_ledger)) ||
        (rc = get_string(env, root, "networkPassphrase", h->version < 2, &h->network_passphrase)))
        return rc;
    if (h->network_passphrase && !h->network_passphrase[0]) { /* stellar-core: empty = absent */
        bdbi_strfree(env, CAT, h->network_passphrase);
        h->network_passphrase = NULL;
    }
    if ((rc = parse_levels(env, root, 0, h->current_buckets))) return rc;
    if (h->version >= 2 && (rc = parse_levels(env, root, 1, h->hot_archive_buckets))) return rc;
    return 0;
}

int bdbi_has_parse(bdb_env *env, const char *json, size_t len, bdbi_has *out)
{
    if (!out) return bdbi_err(BDB_EINVAL, "HAS: NULL output");
    memset(out, 0, sizeof *out);
    if (!env || (!json && len)) return bdbi_err(BDB_EINVAL, "HAS: NULL argument");
    if (len > BDBI_HAS_MAX_BYTES)
        return bdbi_err(BDB_EFORMAT, "HAS: %zu bytes, more than the limit of %u", len,
                        BDBI_HAS_MAX_BYTES);
    json_error_t e;
    json_t *root = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &e);
    if (!root)
        return bdbi_err(BDB_EFORMAT, "HAS: not valid JSON (line %d, column %d): %s", e.line,
                        e.column, e.text);
    int rc = json_is_object(root) ? parse_root(env, root, out)
                                  : bdbi_err(BDB_EFORMAT, "HAS: not a JSON object");
    json_decref(root);
    if (rc) bdbi_has_free(env, out);
    return rc;
}

void bdbi_has_free(bdb_env *env, bdbi_has *h)
{
    if (!h) return;
    for (int hot = 0; hot < 2; hot++) {
        bdbi_has_level *lv = hot ? h->hot_archive_buckets : h->current_buckets;
        for (int i = 0; i < BDBI_HAS_LEVELS; i++)
            bdbi_free(env, CAT, lv[i].next.shadows, lv[i].next.n_shadows * 32);
    }
    bdbi_strfree(env, CAT, h->server);
    bdbi_strfree(env, CAT, h->network_passphrase);
    memset(h, 0, sizeof *h);
}

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static int level_eq(const bdbi_has_level *a, const bdbi_has_level *b)
{
    const bdbi_has_next *x = &a->next, *y = &b->next;
    if (memcmp(a->curr, b->curr, 32) || memcmp(a->snap, b->snap, 32) || x->state != y->state)
        return 0;
    if (x->state == BDBI_FB_OUTPUT) return !memcmp(x->output, y->output, 32);
    if (x->state != BDBI_FB_INPUTS) return 1;
    return !memcmp(x->curr, y->curr, 32) && !memcmp(x->snap, y->snap, 32) &&
           x->n_shadows == y->n_shadows &&
           (!x->n_shadows || !memcmp(x->shadows, y->shadows, x->n_shadows * 32));
}

int bdbi_has_eq(const bdbi_has *a, const bdbi_has *b)
{
    if (a->version != b->version || a->current_ledger != b->current_ledger ||
        !str_eq(a->server, b->server) || !str_eq(a->network_passphrase, b->network_passphrase))
        return 0;
    for (int i = 0; i < BDBI_HAS_LEVELS; i++) {
        if (!level_eq(&a->current_buckets[i], &b->current_buckets[i])) return 0;
        if (a->version >= 2 && !level_eq(&a->hot_archive_buckets[i], &b->hot_archive_buckets[i]))
            return 0;
    }
    return 1;
}

/* ---- writing: rapidjson's PrettyWriter as cereal drives it --------------- */

typedef struct jw {
    char *p;
    size_t cap, len; /* len counts what would be written, even past cap */
    int depth;
    unsigned count[8]; /* members or elements written at each depth */
    int after_key;
} jw;

static void put(jw *w, const char *s, size_t n)
{
    if (n && w->len <= w->cap && n <= w->cap - w->len) memcpy(w->p + w->len, s, n);
    w->len += n;
}

/* Before a value or a key: ", " / newline and indent, except right after a
 * key (the ": " is already out) and at the root. */
static void prefix(jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (!w->depth) return;
    put(w, w->count[w->depth] ? ",\n" : "\n", w->count[w->depth] ? 2 : 1);
    for (int i = 0; i < w->depth; i++) put(w, "    ", 4);
    w->count[w->depth]++;
}

/* A string with rapidjson's escapes: the two-letter ones for " \ \b \f \n
 * \r \t, \u00XX (uppercase) for other control characters, bytes >= 0x20
 * (UTF-8 included) as they are. */
static void string(jw *w, const char *s)
{
    put(w, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char u[8];
        const char *e = NULL;
        switch (c) {
        case '"':
            e = "\\\"";
            break;
        case '\\':
            e = "\\\\";
            break;
        case '\b':
            e = "\\b";
            break;
        case '\f':
            e = "\\f";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\t':
            e = "\\t";
            break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof u, "\\u%04X", c);
                e = u;
            }
        }
        if (e)
            put(w, e, strlen(e));
        else
            put(w, s, 1);
    }
    put(w, "\"", 1);
}

static void key(jw *w, const char *k)
{
    prefix(w);
    string(w, k);
    put(w, ": ", 2);
    w->after_key = 1;
}

static void begin(jw *w, char c)
{
    prefix(w);
    put(w, &c, 1);
    w->count[++w->depth] = 0;
}

static void end(jw *w, char c)
{
    if (w->count[w->depth]) {
        put(w, "\n", 1);
        for (int i = 1; i < w->depth; i++) put(w, "    ", 4);
    }
    put(w, &c, 1);
    w->depth--;
}

static void value_str(jw *w, const char *s)
{
    prefix(w);
    string(w, s);
}

static void value_u32(jw *w, uint32_t v)
{
    char b[16];
    prefix(w);
    put(w, b, (size_t)snprintf(b, sizeof b, "%u", v));
}

static void value_hash(jw *w, const uint8_t h[32])
{
    static const char digits[] = "0123456789abcdef";
    char hex[65];
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[h[i] >> 4];
        hex[2 * i + 1] = digits[h[i] & 15];
    }
    hex[64] = '\0';
    value_str(w, hex);
}

static void write_levels(jw *w, const bdbi_has_level *lv)
{
    begin(w, '[');
    for (int i = 0; i < BDBI_HAS_LEVELS; i++) {
        const bdbi_has_next *n = &lv[i].next;
        begin(w, '{');
        key(w, "curr");
        value_hash(w, lv[i].curr);
        key(w, "next");
        begin(w, '{');
        key(w, "state");
        value_u32(w, n->state);
        if (n->state == BDBI_FB_OUTPUT) {
            key(w, "output");
            value_hash(w, n->output);
        } else if (n->state == BDBI_FB_INPUTS) {
            key(w, "curr");
            value_hash(w, n->curr);
            key(w, "snap");
            value_hash(w, n->snap);
            key(w, "shadow");
            begin(w, '[');
            for (size_t j = 0; j < n->n_shadows; j++) value_hash(w, n->shadows[j]);
            end(w, ']');
        }
        end(w, '}');
        key(w, "snap");
        value_hash(w, lv[i].snap);
        end(w, '}');
    }
    end(w, ']');
}

static int check_writable(const bdbi_has *h)
{
    if (h->version != 1 && h->version != 2)
        return bdbi_err(BDB_EINVAL, "HAS: version %u is not 1 or 2", h->version);
    if (!h->server) return bdbi_err(BDB_EINVAL, "HAS: no server");
    if (h->version >= 2 && !(h->network_passphrase && h->network_passphrase[0]))
        return bdbi_err(BDB_EINVAL, "HAS: version 2 needs a network passphrase");
    for (int hot = 0; hot <= (h->version >= 2); hot++)
        for (int i = 0; i < BDBI_HAS_LEVELS; i++) {
            const bdbi_has_next *n =
                hot ? &h->hot_archive_buckets[i].next : &h->current_buckets[i].next;
            if (n->state > BDBI_FB_INPUTS)
                return bdbi_err(BDB_EINVAL, "HAS: %s[%d].next.state is %u", list_name[hot], i,
                                n->state);
            if (n->state == BDBI_FB_INPUTS && n->n_shadows && !n->shadows)
                return bdbi_err(BDB_EINVAL, "HAS: %s[%d].next has no shadow array", list_name[hot],
                                i);
        }
    return 0;
}

int bdbi_has_write(const bdbi_has *h, char *buf, size_t cap, size_t *len)
{
    if (!h || !len || (cap && !buf)) return bdbi_err(BDB_EINVAL, "HAS: NULL argument");
    int rc = check_writable(h);
    if (rc) return rc;
    jw w = {.p = buf, .cap = cap};
    begin(&w, '{');
    key(&w, "version");
    value_u32(&w, h->version);
    key(&w, "server");
    value_str(&w, h->server);
    key(&w, "currentLedger");
    value_u32(&w, h->current_ledger);
    if (h->network_passphrase && h->network_passphrase[0]) {
        key(&w, "networkPassphrase");
        value_str(&w, h->network_passphrase);
    }
    key(&w, list_name[0]);
    write_levels(&w, h->current_buckets);
    if (h->version >= 2) {
        key(&w, list_name[1]);
        write_levels(&w, h->hot_archive_buckets);
    }
    end(&w, '}');
    if (w.len >= cap) {
        *len = w.len + 1;
        return bdbi_err(BDB_EINVAL, "HAS: needs %zu bytes, the buffer has %zu", w.len + 1, cap);
    }
    buf[w.len] = '\0';
    *len = w.len;
    return 0;
}

/* ---- validation: validateBucketListHelper --------------------------------- */

int bdbi_has_validate(const bdbi_has *h, int hot, const uint32_t curr_ver[BDBI_HAS_LEVELS],
                      const uint32_t snap_ver[BDBI_HAS_LEVELS],
                      const int curr_empty[BDBI_HAS_LEVELS], const int snap_empty[BDBI_HAS_LEVELS])
{
    if (!h || !curr_ver || !snap_ver || !curr_empty || !snap_empty)
        return bdbi_err(BDB_EINVAL, "HAS validation: NULL argument");
    hot = hot ? 1 : 0;
    if (hot && h->version < 2)
        return bdbi_err(BDB_EINVAL, "HAS validation: version %u has no hot archive", h->version);
    const bdbi_has_level *lv = hot ? h->hot_archive_buckets : h->current_buckets;
    const char *name = list_name[hot];
    uint32_t min = 0;
    int seen = 0;
    for (int i = BDBI_HAS_LEVELS - 1; i >= 0; i--) {
        for (int c = 0; c < 2; c++) { /* the snap is older than the curr */
            int empty = c ? curr_empty[i] : snap_empty[i];
            uint32_t v = empty ? 0 : c ? curr_ver[i] : snap_ver[i];
            seen |= !empty;
            if (v < min)
                return bdbi_err(BDB_EFORMAT,
                                "%s[%d].%s: bucket protocol %u%s is older than %u, found deeper "
                                "in the list",
                                name, i, c ? "curr" : "snap", v, empty ? " (empty)" : "", min);
            min = v;
        }
        uint32_t state = lv[i].next.state;
        if (i == 0) {
            if (state != BDBI_FB_CLEAR)
                return bdbi_err(BDB_EFORMAT, "%s[0].next: state %u, must be clear at level 0", name,
                                state);
            break;
        }
        uint32_t prev = snap_empty[i - 1] ? 0 : snap_ver[i - 1];
        seen |= !snap_empty[i - 1];
        if (!seen) continue; /* every bucket so far is empty */
        if (prev >= 12 && state != BDBI_FB_CLEAR)
            return bdbi_err(BDB_EFORMAT,
                            "%s[%d].next: state %u, must be clear since %s[%d].snap has "
                            "protocol %u >= 12",
                            name, i, state, name, i - 1, prev);
        if (prev < 12 && state != BDBI_FB_OUTPUT)
            return bdbi_err(BDB_EFORMAT,
                            "%s[%d].next: state %u, must be a merge output (state 1) since "
                            "%s[%d].snap has protocol %u < 12",
                            name, i, state, name, i - 1, prev);
    }
    return 0;
}

void bdbi_has_prepare_for_publish(bdbi_has_level lv[BDBI_HAS_LEVELS],
                                  const uint32_t snap_ver[BDBI_HAS_LEVELS])
{
    for (int i = 1; i < BDBI_HAS_LEVELS; i++) {
        bdbi_has_next *n = &lv[i].next;
        if (n->state == BDBI_FB_CLEAR) continue;
        if (snap_ver[i - 1] >= 12)
            n->state = BDBI_FB_CLEAR;
        else if (n->state == BDBI_FB_INPUTS)
            n->state = BDBI_FB_OUTPUT;
    }
}
