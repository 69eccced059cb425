/* JSON rendering of ledger keys (and, for tools, of any schema type),
 * driven by the same schema tables as validation. Values are validated
 * first, so the renderer walks input that is known to be well formed. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bucketdb/ledger.h"
#include "core/error.h"
#include "ledger.h"
#include "stellar_types.h"
#include "strkey.h"

typedef struct jout {
    char *p;
    size_t len, cap;
} jout;

static void put(jout *o, const char *s, size_t n)
{
    if (o->len <= o->cap && n <= o->cap - o->len) memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(jout *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_hex(jout *o, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        char h[2] = {digits[b[i] >> 4], digits[b[i] & 15]};
        put(o, h, 2);
    }
    put(o, "\"", 1);
}

static void put_string(jout *o, const uint8_t *s, size_t n)
{
    put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(o, e, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", c);
            put(o, e, 6);
        } else {
            put(o, (const char *)&c, 1);
        }
    }
    put(o, "\"", 1);
}

static void put_strkey(jout *o, int version, const uint8_t *payload, size_t n)
{
    char s[BDBI_STRKEY_MAX];
    bdbi_strkey_encode(version, payload, n, s);
    put(o, "\"", 1);
    puts_(o, s);
    put(o, "\"", 1);
}

static const bdbi_xarm *arm_of(const bdbi_xtype *t, int32_t v)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (t->arms[i].value == v) return &t->arms[i];
    return NULL;
}

/* Renders the value of type t at p[*pos]; the input is already valid. */
static void render(const uint8_t *p, size_t *pos, const bdbi_xtype *t, jout *o)
{
    const uint8_t *v = p + *pos;
    char num[32];
    switch (t->kind) {
    case BDBI_XK_VOID:
        return;
    case BDBI_XK_INT:
        snprintf(num, sizeof num, "%d", (int32_t)bdbi_be32(v));
        puts_(o, num);
        *pos += 4;
        return;
    case BDBI_XK_UINT:
        snprintf(num, sizeof num, "%u", bdbi_be32(v));
        puts_(o, num);
        *pos += 4;
        return;
    case BDBI_XK_HYPER:
    case BDBI_XK_UHYPER:
        /* 64-bit values as strings: JSON numbers lose precision past 2^53 */
        if (t->kind == BDBI_XK_HYPER)
            snprintf(num, sizeof num, "\"%lld\"", (long long)(int64_t)bdbi_be64(v));
        else
            snprintf(num, sizeof num, "\"%llu\"", (unsigned long long)bdbi_be64(v));
        puts_(o, num);
        *pos += 8;
        return;
    case BDBI_XK_BOOL:
        puts_(o, bdbi_be32(v) ? "true" : "false");
        *pos += 4;
        return;
    case BDBI_XK_ENUM: {
        const bdbi_xarm *a = arm_of(t, (int32_t)bdbi_be32(v));
        put(o, "\"", 1);
        puts_(o, a ? a->name : "?");
        put(o, "\"", 1);
        *pos += 4;
        return;
    }
    case BDBI_XK_FOPAQUE:
        put_hex(o, v, t->n);
        *pos += (t->n + 3) & ~3u;
        return;
    case BDBI_XK_VOPAQUE:
    case BDBI_XK_STRING: {
        uint32_t n = bdbi_be32(v);
        if (t->kind == BDBI_XK_STRING)
            put_string(o, v + 4, n);
        else
            put_hex(o, v + 4, n);
        *pos += 4 + (((size_t)n + 3) & ~(size_t)3);
        return;
    }
    case BDBI_XK_STRUCT:
        put(o, "{", 1);
        for (uint32_t i = 0; i < t->n; i++) {
            if (i) put(o, ",", 1);
            put_string(o, (const uint8_t *)t->fields[i].name, strlen(t->fields[i].name));
            put(o, ":", 1);
            render(p, pos, t->fields[i].type, o);
        }
        put(o, "}", 1);
        return;
    case BDBI_XK_UNION: {
        int32_t d = (int32_t)bdbi_be32(v);
        const bdbi_xarm *a = arm_of(t, d);
        *pos += 4;
        if (t == &bdbi_xt_account_id) { /* the one ed25519 arm */
            put_strkey(o, BDBI_STRKEY_ACCOUNT, v + 4, 32);
            *pos += 32;
            return;
        }
        if (t == &bdbi_xt_scaddress && d != 0) {
            /* contract C..., muxed M..., claimable balance B..., pool L... */
            uint8_t buf[40];
            if (d == 1) put_strkey(o, BDBI_STRKEY_CONTRACT, v + 4, 32), *pos += 32;
            if (d == 2) {
                memcpy(buf, v + 12, 32); /* SEP-23: ed25519 then the id */
                memcpy(buf + 32, v + 4, 8);
                put_strkey(o, BDBI_STRKEY_MUXED, buf, 40);
                *pos += 40;
            }
            if (d == 3) {
                buf[0] = (uint8_t)bdbi_be32(v + 4); /* ClaimableBalanceIDType */
                memcpy(buf + 1, v + 8, 32);
                put_strkey(o, BDBI_STRKEY_CLAIMABLE_BALANCE, buf, 33);
                *pos += 36;
            }
            if (d == 4) put_strkey(o, BDBI_STRKEY_POOL, v + 4, 32), *pos += 32;
            return;
        }
        if (!a->type) {
            put_string(o, (const uint8_t *)a->name, strlen(a->name));
            return;
        }
        put(o, "{", 1);
        put_string(o, (const uint8_t *)a->name, strlen(a->name));
        put(o, ":", 1);
        render(p, pos, a->type, o);
        put(o, "}", 1);
        return;
    }
    case BDBI_XK_OPTION:
        *pos += 4;
        if (bdbi_be32(v))
            render(p, pos, t->elem, o);
        else
            puts_(o, "null");
        return;
    case BDBI_XK_ARRAY: {
        uint32_t n = bdbi_be32(v);
        *pos += 4;
        put(o, "[", 1);
        for (uint32_t i = 0; i < n; i++) {
            if (i) put(o, ",", 1);
            render(p, pos, t->elem, o);
        }
        put(o, "]", 1);
        return;
    }
    }
}

int bdbi_xdr_json(const bdbi_xtype *t, const void *buf, size_t len, char *out, size_t cap,
                  size_t *out_len)
{
    int rc = bdbi_check(t, buf, len, t->name, 0);
    if (rc) return rc;
    jout o = {out, 0, cap};
    size_t pos = 0;
    render(buf, &pos, t, &o);
    put(&o, "", 1); /* the terminating NUL */
    *out_len = o.len;
    if (o.len > cap) {
        if (cap) out[0] = '\0';
        return bdbi_err(BDB_EINVAL, "JSON buffer of %zu bytes is too small; %zu needed", cap,
                        o.len);
    }
    return 0;
}

BDB_API int bdb_ledger_key_json(const void *key, size_t len, char *out, size_t cap, size_t *out_len)
{
    return bdbi_xdr_json(&bdbi_xt_ledger_key, key, len, out, cap, out_len);
}
