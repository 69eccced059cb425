/* JSON (or base64) to LedgerKey XDR (see keyparse.h). The JSON form is
 * the inverse of the library's renderer (lib/xdr/json.c), driven by the
 * same schema tables: structs are objects of their fields, unions are
 * {"arm": value} or "arm" for void arms, enums are names, 64-bit integers
 * decimal strings, opaque bytes hex, account IDs and addresses StrKeys.
 * Where the renderer's arm names are ambiguous (SCError's "code" arms),
 * the discriminant's name is accepted as the arm instead. The result is
 * always checked by bdb_ledger_key_check. */
#include "config.h"

#include "keyparse.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucketdb/ledger.h"
#include "cli.h"
#include "xdr/stellar_types.h"
#include "xdr/strkey.h"

#define MAX_DEPTH 256

typedef struct enc {
    uint8_t *p;
    size_t len, cap;
    char *err;
    size_t errcap;
    int failed;
} enc;

static int fail(enc *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(enc *e, const char *fmt, ...)
{
    if (!e->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->err, e->errcap, fmt, ap);
        va_end(ap);
    }
    e->failed = 1;
    return -1;
}

static int put(enc *e, const void *p, size_t n)
{
    if (e->len + n + 3 > e->cap) {
        size_t cap = e->cap ? e->cap : 256;
        while (cap < e->len + n + 3) cap *= 2;
        uint8_t *q = realloc(e->p, cap);
        if (!q) return fail(e, "out of memory");
        e->p = q;
        e->cap = cap;
    }
    if (n) memcpy(e->p + e->len, p, n);
    e->len += n;
    /* XDR pads to 4 bytes with zeros */
    while (e->len & 3) e->p[e->len++] = 0;
    return 0;
}

static int put32(enc *e, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return put(e, b, 4);
}

static int put64(enc *e, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (56 - 8 * i));
    return put(e, b, 8);
}

static int put_account(enc *e, json_t *v, const char *what)
{
    uint8_t k[32];
    if (!json_is_string(v) || bdbi_strkey_account(json_string_value(v), k))
        return fail(e, "%s: expected an account ID (G... StrKey)", what);
    return put32(e, 0) || put(e, k, 32);
}

/* Hex string of exactly n bytes (fixed) or at most n (variable). */
static int put_hex(enc *e, json_t *v, const bdbi_xtype *t, int fixed)
{
    if (!json_is_string(v)) return fail(e, "%s: expected a hex string", t->name);
    const char *s = json_string_value(v);
    size_t sl = json_string_length(v);
    if (sl % 2 || (fixed ? sl != 2 * (size_t)t->n : sl / 2 > t->n))
        return fail(e, "%s: expected %s%u bytes of hex", t->name, fixed ? "" : "at most ", t->n);
    size_t n = sl / 2;
    uint8_t *b = malloc(n ? n : 1);
    if (!b) return fail(e, "out of memory");
    int rc = cli_unhex(s, sl, b, n) ? fail(e, "%s: '%s' is not hex", t->name, s) : 0;
    if (!rc && !fixed) rc = put32(e, (uint32_t)n);
    if (!rc) rc = put(e, b, n);
    free(b);
    return rc;
}

/* The renderer writes byte c >= 0x7f or < 0x20 as \u00XX, which JSON
 * parsers turn into the code point U+00XX: each code point up to U+00FF
 * is one byte. */
static int put_string(enc *e, json_t *v, const bdbi_xtype *t)
{
    if (!json_is_string(v)) return fail(e, "%s: expected a string", t->name);
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t sl = json_string_length(v), n = 0;
    uint8_t *b = malloc(sl ? sl : 1);
    if (!b) return fail(e, "out of memory");
    for (size_t i = 0; i < sl; i++) {
        if (s[i] < 0x80)
            b[n++] = s[i];
        else if ((s[i] == 0xc2 || s[i] == 0xc3) && i + 1 < sl && (s[i + 1] & 0xc0) == 0x80)
            b[n++] = (uint8_t)((s[i] & 3) << 6 | (s[i + 1] & 0x3f)), i++;
        else {
            free(b);
            return fail(e, "%s: characters above U+00FF cannot be bytes", t->name);
        }
    }
    int rc = n > t->n ? fail(e, "%s: longer than %u bytes", t->name, t->n) : 0;
    if (!rc) rc = put32(e, (uint32_t)n);
    if (!rc) rc = put(e, b, n);
    free(b);
    return rc;
}

static int put_int(enc *e, json_t *v, const bdbi_xtype *t)
{
    int is64 = t->kind == BDBI_XK_HYPER || t->kind == BDBI_XK_UHYPER;
    int sign = t->kind == BDBI_XK_INT || t->kind == BDBI_XK_HYPER;
    if (json_is_integer(v)) {
        long long x = json_integer_value(v);
        if (!sign && x < 0) return fail(e, "%s: negative", t->name);
        if (!is64 && (sign ? x < INT32_MIN || x > INT32_MAX : x > UINT32_MAX))
            return fail(e, "%s: %lld is out of range", t->name, x);
        return is64 ? put64(e, (uint64_t)x) : put32(e, (uint32_t)x);
    }
    if (!is64 || !json_is_string(v))
        return fail(e, "%s: expected an integer%s", t->name, is64 ? " (or a decimal string)" : "");
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    uint64_t u;
    if (sign) {
        long long x = strtoll(s, &end, 10);
        u = (uint64_t)x;
    } else {
        u = strtoull(s, &end, 10);
        if (*s == '-') errno = ERANGE;
    }
    if (!*s || *end || errno || *s == '+' || *s == ' ')
        return fail(e, "%s: '%s' is not a decimal integer in range", t->name, s);
    return put64(e, u);
}

/* SCAddress given as one StrKey (the renderer's form for arms 1-4; a G...
 * account is accepted too). */
static int put_scaddress(enc *e, const char *s)
{
    uint8_t p[64];
    int v;
    size_t n;
    if (bdbi_strkey_decode(s, &v, p, sizeof p, &n))
        return fail(e, "SCAddress: '%s' is not a valid StrKey", s);
    if (v == BDBI_STRKEY_ACCOUNT && n == 32) return put32(e, 0) || put32(e, 0) || put(e, p, 32);
    if (v == BDBI_STRKEY_CONTRACT && n == 32) return put32(e, 1) || put(e, p, 32);
    if (v == BDBI_STRKEY_MUXED && n == 40) /* SEP-23: ed25519 then id; XDR: id first */
        return put32(e, 2) || put(e, p + 32, 8) || put(e, p, 32);
    if (v == BDBI_STRKEY_CLAIMABLE_BALANCE && n == 33)
        return put32(e, 3) || put32(e, p[0]) || put(e, p + 1, 32);
    if (v == BDBI_STRKEY_POOL && n == 32) return put32(e, 4) || put(e, p, 32);
    return fail(e, "SCAddress: '%s' is no kind of address", s);
}

static int encode(enc *e, json_t *v, const bdbi_xtype *t, int depth);

/* The arm named `name`: by arm name when unique, else by the
 * discriminant's enum name. */
static const bdbi_xarm *find_arm(enc *e, const bdbi_xtype *t, const char *name)
{
    const bdbi_xarm *hit = NULL;
    int n = 0;
    for (uint32_t i = 0; i < t->n; i++)
        if (!strcmp(t->arms[i].name, name)) hit = &t->arms[i], n++;
    if (n == 1) return hit;
    const bdbi_xtype *d = t->elem;
    if (d->kind == BDBI_XK_ENUM)
        for (uint32_t i = 0; i < d->n; i++)
            if (!strcmp(d->arms[i].name, name))
                for (uint32_t k = 0; k < t->n; k++)
                    if (t->arms[k].value == d->arms[i].value) return &t->arms[k];
    if (n > 1)
        fail(e, "%s: arm name '%s' is ambiguous; name the discriminant instead", t->name, name);
    else
        fail(e, "%s: no arm '%s'", t->name, name);
    return NULL;
}

static int encode_union(enc *e, json_t *v, const bdbi_xtype *t, int depth)
{
    if (t == &bdbi_xt_account_id) return put_account(e, v, t->name);
    if (t == &bdbi_xt_scaddress && json_is_string(v)) return put_scaddress(e, json_string_value(v));
    const char *name;
    json_t *val = NULL;
    if (json_is_string(v)) {
        name = json_string_value(v);
    } else if (json_is_object(v) && json_object_size(v) == 1) {
        void *it = json_object_iter(v);
        name = json_object_iter_key(it);
        val = json_object_iter_value(it);
    } else {
        return fail(e, "%s: expected \"arm\" or {\"arm\": value}", t->name);
    }
    const bdbi_xarm *a = find_arm(e, t, name);
    if (!a) return -1;
    if (!a->type != !val)
        return fail(e, "%s: arm '%s' %s", t->name, name,
                    a->type ? "needs a value: {\"arm\": value}" : "has no value: write \"arm\"");
    if (put32(e, (uint32_t)a->value)) return -1;
    return a->type ? encode(e, val, a->type, depth + 1) : 0;
}

static int encode(enc *e, json_t *v, const bdbi_xtype *t, int depth)
{
    if (depth > MAX_DEPTH) return fail(e, "nested too deeply");
    switch (t->kind) {
    case BDBI_XK_VOID:
        return 0;
    case BDBI_XK_INT:
    case BDBI_XK_UINT:
    case BDBI_XK_HYPER:
    case BDBI_XK_UHYPER:
        return put_int(e, v, t);
    case BDBI_XK_BOOL:
        if (!json_is_boolean(v)) return fail(e, "%s: expected true or false", t->name);
        return put32(e, json_is_true(v) ? 1 : 0);
    case BDBI_XK_ENUM:
        if (json_is_string(v))
            for (uint32_t i = 0; i < t->n; i++)
                if (!strcmp(t->arms[i].name, json_string_value(v)))
                    return put32(e, (uint32_t)t->arms[i].value);
        return fail(e, "%s: expected one of its names", t->name);
    case BDBI_XK_FOPAQUE:
        return put_hex(e, v, t, 1);
    case BDBI_XK_VOPAQUE:
        return put_hex(e, v, t, 0);
    case BDBI_XK_STRING:
        return put_string(e, v, t);
    case BDBI_XK_STRUCT:
        if (!json_is_object(v)) return fail(e, "%s: expected an object", t->name);
        for (uint32_t i = 0; i < t->n; i++) {
            json_t *f = json_object_get(v, t->fields[i].name);
            if (!f) return fail(e, "%s: field \"%s\" is missing", t->name, t->fields[i].name);
            if (encode(e, f, t->fields[i].type, depth + 1)) return -1;
        }
        if (json_object_size(v) != t->n)
            return fail(e, "%s: unexpected fields (it has %u)", t->name, t->n);
        return 0;
    case BDBI_XK_UNION:
        return encode_union(e, v, t, depth);
    case BDBI_XK_OPTION:
        if (json_is_null(v)) return put32(e, 0);
        return put32(e, 1) || encode(e, v, t->elem, depth + 1);
    case BDBI_XK_ARRAY:
        if (!json_is_array(v) || json_array_size(v) > t->n)
            return fail(e, "%s: expected an array of at most %u", t->name, t->n);
        if (put32(e, (uint32_t)json_array_size(v))) return -1;
        for (size_t i = 0; i < json_array_size(v); i++)
            if (encode(e, json_array_get(v, i), t->elem, depth + 1)) return -1;
        return 0;
    }
    return fail(e, "%s: unknown kind", t->name);
}

/* {"trustline":{"account":"G...","asset":ASSET}} */
static int encode_trustline(enc *e, json_t *v)
{
    json_t *acc = json_object_get(v, "account"), *asset = json_object_get(v, "asset");
    if (!json_is_object(v) || !acc || !asset || json_object_size(v) != 2)
        return fail(e, "trustline: expected {\"account\":\"G...\",\"asset\":...}");
    if (put32(e, BDB_TRUSTLINE) || put_account(e, acc, "trustline account")) return -1;
    if (json_is_string(asset) && !strcmp(json_string_value(asset), "native")) return put32(e, 0);
    json_t *code = json_object_get(asset, "code"), *issuer = json_object_get(asset, "issuer");
    json_t *pool = json_object_get(asset, "pool");
    if (json_is_object(asset) && pool && json_object_size(asset) == 1) {
        uint8_t id[32];
        if (!json_is_string(pool) ||
            cli_unhex(json_string_value(pool), json_string_length(pool), id, 32))
            return fail(e, "trustline asset pool: expected 64 hex digits");
        return put32(e, 3) || put(e, id, 32);
    }
    if (!json_is_object(asset) || !json_is_string(code) || !issuer || json_object_size(asset) != 2)
        return fail(e, "trustline asset: expected \"native\", {\"code\":...,\"issuer\":...} or "
                       "{\"pool\":...}");
    size_t n = json_string_length(code);
    if (n < 1 || n > 12) return fail(e, "trustline asset code: 1 to 12 characters");
    uint8_t c[12] = {0};
    memcpy(c, json_string_value(code), n);
    int four = n <= 4;
    return put32(e, four ? 1 : 2) || put(e, c, four ? 4 : 12) ||
           put_account(e, issuer, "trustline asset issuer");
}

int cli_parse_key(const char *arg, uint8_t **xdr, size_t *len, char *err, size_t errcap)
{
    enc e = {.err = err, .errcap = errcap};
    size_t n = strlen(arg);
    *xdr = NULL;
    *len = 0;
    if (n && arg[0] != '{') {
        e.p = malloc(n / 4 * 3 + 3);
        long got = e.p ? cli_b64decode(arg, n, e.p) : -1;
        if (got < 0) {
            free(e.p);
            snprintf(err, errcap, "the key is neither JSON nor base64");
            return -1;
        }
        e.len = (size_t)got;
    } else {
        json_error_t jerr;
        json_t *j = json_loads(arg, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
        if (!j) {
            snprintf(err, errcap, "the key is not valid JSON: %s", jerr.text);
            return -1;
        }
        json_t *acc = json_object_get(j, "account"), *tl = json_object_get(j, "trustline");
        int rc;
        if (json_object_size(j) == 1 && json_is_string(acc))
            rc = put32(&e, BDB_ACCOUNT) || put_account(&e, acc, "account");
        else if (json_object_size(j) == 1 && tl)
            rc = encode_trustline(&e, tl);
        else
            rc = encode(&e, j, &bdbi_xt_ledger_key, 0);
        json_decref(j);
        if (rc) {
            free(e.p);
            return -1;
        }
    }
    if (bdb_ledger_key_check(e.p, e.len)) {
        snprintf(err, errcap, "not a valid LedgerKey: %s", bdb_errmsg());
        free(e.p);
        return -1;
    }
    *xdr = e.p;
    *len = e.len;
    return 0;
}
