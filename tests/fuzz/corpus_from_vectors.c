/* Writes the seed corpus of tests/fuzz/fuzz_xdr from the vectors of
 * tests/vectors/ledger.json: one file per LedgerEntry, LedgerKey, record
 * body, TTL key, bucket metadata record and invalid encoding; each entry's
 * records framed with RFC 5531 marks as one stream; every SCVal inside a
 * CONTRACT_DATA key; and pairs of keys (neighbours in the list of keys, and
 * the specification's ordering facts) in the target's pair layout: one byte
 * giving the first key's length / 4, then the two keys.
 *
 *   corpus_from_vectors ledger.json DIR
 */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir;
static unsigned written;

typedef struct bytes {
    unsigned char *p;
    size_t n;
} bytes;

static void die(const char *msg, const char *what)
{
    fprintf(stderr, "corpus_from_vectors: %s%s%s\n", msg, what ? ": " : "", what ? what : "");
    exit(1);
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The hex string field `name` of obj; {NULL, 0} if absent. */
static bytes hex(json_t *obj, const char *name)
{
    bytes b = {NULL, 0};
    const char *s = json_string_value(json_object_get(obj, name));
    if (!s) return b;
    size_t len = strlen(s);
    if (len % 2) die("odd-length hex in field", name);
    b.n = len / 2;
    b.p = malloc(b.n ? b.n : 1);
    if (!b.p) die("out of memory", NULL);
    for (size_t i = 0; i < b.n; i++) {
        int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0) die("bad hex in field", name);
        b.p[i] = (unsigned char)(hi << 4 | lo);
    }
    return b;
}

static void put(const char *name, const void *p, size_t n)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        die("path too long", name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) die("cannot write", path);
    written++;
}

static void put_bytes(const char *name, bytes b)
{
    if (b.p) put(name, b.p, b.n);
}

static void be32(unsigned char *p, unsigned long v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* a, b as one input for the target's pair split */
static void put_pair(const char *name, bytes a, bytes b)
{
    if (!a.p || !b.p || a.n % 4 || a.n / 4 > 255) return;
    unsigned char *p = malloc(1 + a.n + b.n);
    if (!p) die("out of memory", NULL);
    p[0] = (unsigned char)(a.n / 4);
    memcpy(p + 1, a.p, a.n);
    memcpy(p + 1 + a.n, b.p, b.n);
    put(name, p, 1 + a.n + b.n);
    free(p);
}

static json_t *section(json_t *root, const char *name)
{
    json_t *s = json_object_get(root, name);
    if (!json_is_array(s)) die("the vectors lack the array", name);
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s ledger.json DIR\n", argv[0]);
        return 2;
    }
    dir = argv[2];
    json_error_t err;
    json_t *root = json_load_file(argv[1], 0, &err);
    if (!root) die(err.text, argv[1]);

    static const char *const records[] = {"live", "init", "dead", "archived", "restored"};
    char name[128];
    size_t i;
    json_t *v;
    json_array_foreach(section(root, "entries"), i, v)
    {
        static const char *const fields[] = {"entry", "key", "ttl_key"};
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
            bytes b = hex(v, fields[f]);
            snprintf(name, sizeof name, "entry-%03zu-%s", i, fields[f]);
            put_bytes(name, b);
            free(b.p);
        }
        /* each record alone, then all of them framed as one stream */
        unsigned char *stream = NULL;
        size_t len = 0;
        for (size_t r = 0; r < sizeof records / sizeof records[0]; r++) {
            bytes b = hex(v, records[r]);
            if (!b.p) continue;
            snprintf(name, sizeof name, "entry-%03zu-%s", i, records[r]);
            put_bytes(name, b);
            stream = realloc(stream, len + 4 + b.n);
            if (!stream) die("out of memory", NULL);
            be32(stream + len, 0x80000000ul | (unsigned long)b.n);
            memcpy(stream + len + 4, b.p, b.n);
            len += 4 + b.n;
            free(b.p);
        }
        snprintf(name, sizeof name, "entry-%03zu-framed", i);
        if (stream) put(name, stream, len);
        free(stream);
    }

    json_t *keys = section(root, "keys");
    json_array_foreach(keys, i, v)
    {
        bytes a = hex(v, "key"), b = hex(json_array_get(keys, i + 1), "key");
        snprintf(name, sizeof name, "key-%03zu", i);
        put_bytes(name, a);
        snprintf(name, sizeof name, "keypair-%03zu", i);
        put_pair(name, a, b);
        free(a.p);
        free(b.p);
    }

    json_array_foreach(section(root, "order_facts"), i, v)
    {
        bytes a = hex(v, "less"), b = hex(v, "greater");
        snprintf(name, sizeof name, "order-%03zu", i);
        put_pair(name, a, b);
        free(a.p);
        free(b.p);
    }

    /* SCVals as the key of a CONTRACT_DATA key: type, SCAddress CONTRACT
     * (a 32-byte hash), the value, PERSISTENT */
    json_array_foreach(section(root, "scvals"), i, v)
    {
        bytes b = hex(v, "xdr");
        if (!b.p) continue;
        unsigned char *k = malloc(40 + b.n + 4);
        if (!k) die("out of memory", NULL);
        be32(k, 6);
        be32(k + 4, 1);
        memset(k + 8, 0x11, 32);
        memcpy(k + 40, b.p, b.n);
        be32(k + 40 + b.n, 1);
        snprintf(name, sizeof name, "scval-%03zu-key", i);
        put(name, k, 40 + b.n + 4);
        free(k);
        free(b.p);
    }

    json_array_foreach(section(root, "metadata"), i, v)
    {
        static const char *const fields[] = {"bucket_entry", "hot_entry"};
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
            bytes b = hex(v, fields[f]);
            snprintf(name, sizeof name, "meta-%03zu-%s", i, fields[f]);
            put_bytes(name, b);
            free(b.p);
        }
    }

    json_array_foreach(section(root, "invalid"), i, v)
    {
        bytes b = hex(v, "xdr");
        snprintf(name, sizeof name, "invalid-%03zu", i);
        put_bytes(name, b);
        free(b.p);
    }

    json_decref(root);
    printf("corpus_from_vectors: %u files in %s\n", written, dir);
    return 0;
}
