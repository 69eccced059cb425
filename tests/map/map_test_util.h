/* Helpers of the bucket map suites (tests/map): a deterministic generator,
 * the shard of a 32-byte key computed here (not by the library), scratch
 * directories, the map's file names parsed from outside the library
 * (docs/map-files.md), file damage, and a plain in-memory model of a map
 * (key i of a fixed key pool -> slot list and ref count) with checks of a
 * map against it.
 *
 * No Criterion here: forked children use it too. Checks return 0 when
 * they hold, else -1 with a message in `why`. Header-only. */
#ifndef BDB_TESTS_MAP_TEST_UTIL_H
#define BDB_TESTS_MAP_TEST_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bucketdb/bucketdb.h"
#include "bucketdb/map.h"

#define MT_PATH_MAX 512

/* ---- deterministic generator (splitmix64) ---- */

static inline uint64_t mt_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t mt_below(uint64_t *s, uint64_t n)
{
    return n ? mt_next(s) % n : 0;
}

static inline void mt_fill(uint64_t *s, void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        uint64_t x = mt_next(s);
        size_t k = n < 8 ? n : 8;
        memcpy(b, &x, k);
        b += k;
        n -= k;
    }
}

static inline uint64_t mt_be64(const void *p)
{
    const uint8_t *b = p;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x = x << 8 | b[i];
    return x;
}

static inline void mt_put_be64(void *p, uint64_t x)
{
    uint8_t *b = p;
    for (int i = 7; i >= 0; i--, x >>= 8) b[i] = (uint8_t)x;
}

static inline uint64_t mt_le64(const void *p)
{
    const uint8_t *b = p;
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--) x = x << 8 | b[i];
    return x;
}

static inline unsigned mt_log2(uint32_t n)
{
    unsigned p = 0;
    while ((1u << p) < n) p++;
    return p;
}

/* Agave's bucket_ix: the top log2(shards) bits of the first 8 bytes read
 * big-endian (32-byte keys only). */
static inline uint32_t mt_shard32(const void *key, uint32_t shards)
{
    unsigned p = mt_log2(shards);
    return p ? (uint32_t)(mt_be64(key) >> (64 - p)) : 0;
}

/* A random 32-byte key whose shard (of `shards`) is `shard`. */
static inline void mt_key_in_shard(uint64_t *s, uint8_t key[32], uint32_t shard, uint32_t shards)
{
    mt_fill(s, key, 32);
    unsigned p = mt_log2(shards);
    if (!p) return;
    uint64_t x = mt_be64(key);
    x = (x & (~0ull >> p)) | (uint64_t)shard << (64 - p);
    mt_put_be64(key, x);
}

/* ---- scratch directories ---- */

static inline int mt_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void mt_rmtree(const char *dir)
{
    nftw(dir, mt_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdtemp'd /tmp/bdb-map-<tag>-XXXXXX and an environment with 2 threads. */
static inline int mt_tmp_env(const char *tag, char dir[64], bdb_env **env)
{
    snprintf(dir, 64, "/tmp/bdb-map-%s-XXXXXX", tag);
    if (!mkdtemp(dir)) return -1;
    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = 2;
    if (bdb_env_open(&o, env) == 0) return 0;
    rmdir(dir);
    return -1;
}

static inline int mt_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static inline int64_t mt_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static inline int mt_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

static inline int mt_read_file(const char *path, uint8_t **p, size_t *n)
{
    int64_t sz = mt_file_size(path);
    if (sz < 0) return -1;
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    *p = malloc((size_t)sz + 1);
    size_t r = *p ? fread(*p, 1, (size_t)sz, f) : 0;
    fclose(f);
    if (!*p || r != (size_t)sz) {
        free(*p);
        return -1;
    }
    *n = r;
    return 0;
}

static inline int mt_copy_file(const char *from, const char *to)
{
    uint8_t *p;
    size_t n;
    if (mt_read_file(from, &p, &n)) return -1;
    int rc = mt_write_file(to, p, n);
    free(p);
    return rc;
}

/* Flips bit `bit` of byte `off` of the file. */
static inline int mt_flip_bit(const char *path, int64_t off, int bit)
{
    int fd = open(path, O_RDWR);
    if (fd < 0) return -1;
    uint8_t b;
    int rc = -1;
    if (pread(fd, &b, 1, off) == 1) {
        b ^= (uint8_t)(1u << bit);
        if (pwrite(fd, &b, 1, off) == 1) rc = 0;
    }
    close(fd);
    return rc;
}

/* ---- the map's file names (docs/map-files.md) ---- */

/* Parses bdbmap-SSSSS-t-G{16} (class -1) or bdbmap-SSSSS-dCC-G{16}; returns
 * 0 if `name` is exactly one of those. */
static inline int mt_parse_name(const char *name, uint32_t *shard, int *cls, uint64_t *gen)
{
    size_t len = strlen(name);
    if (strncmp(name, "bdbmap-", 7) != 0) return -1;
    const char *p = name + 7;
    for (int i = 0; i < 5; i++)
        if (p[i] < '0' || p[i] > '9') return -1;
    if (p[5] != '-') return -1;
    *shard = (uint32_t)strtoul(p, NULL, 10);
    p += 6;
    if (p[0] == 't' && p[1] == '-') {
        *cls = -1;
        p += 2;
    } else if (p[0] == 'd' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
               p[3] == '-') {
        *cls = (p[1] - '0') * 10 + (p[2] - '0');
        p += 4;
    } else {
        return -1;
    }
    if ((size_t)(name + len - p) != 16) return -1;
    uint64_t g = 0;
    for (int i = 0; i < 16; i++) {
        char c = p[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) return -1;
        g = g << 4 | (uint64_t)v;
    }
    *gen = g;
    return 0;
}

typedef struct mt_file {
    char path[MT_PATH_MAX];
    char name[96];
    uint32_t shard;
    int cls; /* -1: table */
    uint64_t gen;
} mt_file;

#define MT_MAX_FILES 512

/* The map files in `dir` (by name), up to `cap`; returns how many. */
static inline size_t mt_map_files(const char *dir, mt_file *out, size_t cap)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        mt_file f;
        if (mt_parse_name(e->d_name, &f.shard, &f.cls, &f.gen)) continue;
        if (n < cap) {
            if (snprintf(f.path, sizeof f.path, "%s/%s", dir, e->d_name) >= (int)sizeof f.path ||
                snprintf(f.name, sizeof f.name, "%s", e->d_name) >= (int)sizeof f.name)
                continue;
            out[n] = f;
        }
        n++;
    }
    if (d) closedir(d);
    return n;
}

/* The entries of `dir` whose names start with `prefix`. */
static inline size_t mt_count_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) n++;
    if (d) closedir(d);
    return n;
}

/* Finds the file of `shard` and class (-1: table) in `dir`. */
static inline int mt_find_file(const char *dir, uint32_t shard, int cls, mt_file *out)
{
    mt_file fs[MT_MAX_FILES];
    size_t n = mt_map_files(dir, fs, MT_MAX_FILES);
    for (size_t i = 0; i < n && i < MT_MAX_FILES; i++)
        if (fs[i].shard == shard && fs[i].cls == cls) {
            *out = fs[i];
            return 0;
        }
    return -1;
}

/* ---- messages ---- */

static inline int mt_fail(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int mt_fail(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return -1;
}

static inline const char *mt_hex(const void *p, size_t n, char *buf, size_t cap)
{
    const uint8_t *b = p;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 3 < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%02x", b[i]);
    buf[k] = 0;
    return buf;
}

/* ---- the model ---- */

typedef struct mt_val {
    int present;
    size_t n;
    uint8_t *slots; /* n * elem_size bytes */
    uint64_t ref;
} mt_val;

typedef struct mt_model {
    size_t nkeys;
    uint32_t key_size, elem_size, shards;
    int ref_counts;
    uint8_t *keys;   /* nkeys * key_size */
    uint32_t *shard; /* of each key, from bdb_map_shard_of or mt_shard32 */
    mt_val *v;
} mt_model;

static inline const uint8_t *mt_key(const mt_model *m, size_t i)
{
    return m->keys + i * m->key_size;
}

/* A pool of `nkeys` distinct random keys; for 32-byte keys their shards are
 * computed here (mt_shard32), else set later with mt_model_shards. */
static inline int mt_model_init(mt_model *m, size_t nkeys, uint32_t key_size, uint32_t elem_size,
                                uint32_t shards, int ref_counts, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->nkeys = nkeys;
    m->key_size = key_size;
    m->elem_size = elem_size;
    m->shards = shards;
    m->ref_counts = ref_counts;
    m->keys = malloc(nkeys * key_size);
    m->shard = calloc(nkeys, sizeof *m->shard);
    m->v = calloc(nkeys, sizeof *m->v);
    if (!m->keys || !m->shard || !m->v) return -1;
    for (size_t i = 0; i < nkeys; i++) {
    again:
        mt_fill(&seed, m->keys + i * key_size, key_size);
        for (size_t j = 0; j < i; j++)
            if (!memcmp(mt_key(m, j), mt_key(m, i), key_size)) goto again;
        if (key_size == 32) m->shard[i] = mt_shard32(mt_key(m, i), shards);
    }
    return 0;
}

static inline void mt_model_shards(mt_model *m, const bdb_map *map)
{
    for (size_t i = 0; i < m->nkeys; i++) m->shard[i] = bdb_map_shard_of(map, mt_key(m, i));
}

static inline void mt_model_set(mt_model *m, size_t i, const void *slots, size_t n, uint64_t ref)
{
    mt_val *v = &m->v[i];
    free(v->slots);
    v->slots = malloc(n * m->elem_size + 1);
    if (n) memcpy(v->slots, slots, n * m->elem_size);
    v->n = n;
    v->ref = m->ref_counts ? ref : 1;
    v->present = 1;
}

static inline void mt_model_del(mt_model *m, size_t i)
{
    free(m->v[i].slots);
    memset(&m->v[i], 0, sizeof m->v[i]);
}

static inline void mt_model_free(mt_model *m)
{
    if (m->v)
        for (size_t i = 0; i < m->nkeys; i++) free(m->v[i].slots);
    free(m->v);
    free(m->keys);
    free(m->shard);
    memset(m, 0, sizeof *m);
}

/* A deep copy of `from` into a fresh `to`. */
static inline int mt_model_copy(mt_model *to, const mt_model *from)
{
    *to = *from;
    to->keys = malloc(from->nkeys * from->key_size);
    to->shard = malloc(from->nkeys * sizeof *to->shard);
    to->v = calloc(from->nkeys, sizeof *to->v);
    if (!to->keys || !to->shard || !to->v) return -1;
    memcpy(to->keys, from->keys, from->nkeys * from->key_size);
    memcpy(to->shard, from->shard, from->nkeys * sizeof *to->shard);
    for (size_t i = 0; i < from->nkeys; i++)
        if (from->v[i].present) mt_model_set(to, i, from->v[i].slots, from->v[i].n, from->v[i].ref);
    return 0;
}

static inline long mt_model_find(const mt_model *m, const void *key)
{
    for (size_t i = 0; i < m->nkeys; i++)
        if (!memcmp(mt_key(m, i), key, m->key_size)) return (long)i;
    return -1;
}

/* Entries of the model in `shard` (BDB_MAP_ALL_SHARDS: all). */
static inline uint64_t mt_model_count(const mt_model *m, uint32_t shard)
{
    uint64_t c = 0;
    for (size_t i = 0; i < m->nkeys; i++)
        if (m->v[i].present && (shard == BDB_MAP_ALL_SHARDS || m->shard[i] == shard)) c++;
    return c;
}

/* Reads key i from the map and compares it with the model. */
static inline int mt_check_key(const bdb_map *map, const mt_model *m, size_t i, char *why,
                               size_t cap)
{
    const mt_val *v = &m->v[i];
    size_t want = v->present ? v->n : 0;
    size_t bufn = want + 1;
    uint8_t *buf = malloc(bufn * m->elem_size);
    size_t n = 12345;
    uint64_t ref = 777;
    char hx[80];
    int rc = bdb_map_read(map, mt_key(m, i), buf, bufn, &n, &ref);
    int ret = 0;
    if (rc < 0)
        ret = mt_fail(why, cap, "key %zu (%s): read returned %d: %s", i,
                      mt_hex(mt_key(m, i), 8, hx, sizeof hx), rc, bdb_errmsg());
    else if (rc != v->present)
        ret = mt_fail(why, cap, "key %zu (%s, shard %u): read returned %d, model has it %s", i,
                      mt_hex(mt_key(m, i), 8, hx, sizeof hx), m->shard[i], rc,
                      v->present ? "present" : "absent");
    else if (v->present && n != v->n)
        ret = mt_fail(why, cap, "key %zu (shard %u): %zu elements, model %zu", i, m->shard[i], n,
                      v->n);
    else if (v->present && v->n && memcmp(buf, v->slots, v->n * m->elem_size))
        ret = mt_fail(why, cap, "key %zu (shard %u): slot list differs from the model", i,
                      m->shard[i]);
    else if (v->present && ref != v->ref)
        ret = mt_fail(why, cap, "key %zu (shard %u): ref count %llu, model %llu", i, m->shard[i],
                      (unsigned long long)ref, (unsigned long long)v->ref);
    free(buf);
    return ret;
}

typedef struct mt_iter_ctx {
    const mt_model *m;
    uint8_t *seen;
    uint32_t shard; /* BDB_MAP_ALL_SHARDS: any */
    uint64_t visits;
    char *why;
    size_t cap;
    int bad;
} mt_iter_ctx;

static inline int mt_iter_visit(void *ctx, const void *key, const bdb_map_value *v)
{
    mt_iter_ctx *c = ctx;
    const mt_model *m = c->m;
    c->visits++;
    long i = mt_model_find(m, key);
    if (i < 0) return c->bad = mt_fail(c->why, c->cap, "iteration visited a key not in the pool");
    const mt_val *mv = &m->v[i];
    if (c->seen[i]) return c->bad = mt_fail(c->why, c->cap, "iteration visited key %ld twice", i);
    c->seen[i] = 1;
    if (!mv->present)
        return c->bad =
                   mt_fail(c->why, c->cap, "iteration visited key %ld, absent in the model", i);
    if (c->shard != BDB_MAP_ALL_SHARDS && m->shard[i] != c->shard)
        return c->bad = mt_fail(c->why, c->cap, "iteration of shard %u visited key %ld of shard %u",
                                c->shard, i, m->shard[i]);
    if (!v) return c->bad = mt_fail(c->why, c->cap, "iteration without KEYS_ONLY gave no value");
    if (v->n != mv->n || (mv->n && memcmp(v->slots, mv->slots, mv->n * m->elem_size)) ||
        v->ref_count != mv->ref)
        return c->bad = mt_fail(
                   c->why, c->cap,
                   "iteration: key %ld has %zu elements ref %llu, model %zu ref %llu%s", i, v->n,
                   (unsigned long long)v->ref_count, mv->n, (unsigned long long)mv->ref,
                   v->n == mv->n && v->ref_count == mv->ref ? " (bytes differ)" : "");
    return 0;
}

/* Iterates `shard` (or all) and compares what it visits with the model. */
static inline int mt_check_iter(bdb_map *map, const mt_model *m, uint32_t shard, char *why,
                                size_t cap)
{
    mt_iter_ctx c = {m, calloc(m->nkeys, 1), shard, 0, why, cap, 0};
    int rc = bdb_map_iterate(map, shard, NULL, NULL, 0, mt_iter_visit, &c);
    int ret = 0;
    if (c.bad)
        ret = -1;
    else if (rc != 0)
        ret = mt_fail(why, cap, "iterate returned %d: %s", rc, bdb_errmsg());
    else if (c.visits != mt_model_count(m, shard))
        ret =
            mt_fail(why, cap, "iteration of shard %d visited %llu keys, model has %llu", (int)shard,
                    (unsigned long long)c.visits, (unsigned long long)mt_model_count(m, shard));
    free(c.seen);
    return ret;
}

/* Every key of the pool in `shard` (or all) reads as the model says, the
 * counts agree and iteration visits exactly the model's entries. */
static inline int mt_check_shard(bdb_map *map, const mt_model *m, uint32_t shard, char *why,
                                 size_t cap)
{
    for (size_t i = 0; i < m->nkeys; i++)
        if ((shard == BDB_MAP_ALL_SHARDS || m->shard[i] == shard) &&
            mt_check_key(map, m, i, why, cap))
            return -1;
    uint64_t want = mt_model_count(m, shard), got = bdb_map_count(map, shard);
    if (got != want)
        return mt_fail(why, cap, "count of shard %d is %llu, model %llu", (int)shard,
                       (unsigned long long)got, (unsigned long long)want);
    return mt_check_iter(map, m, shard, why, cap);
}

static inline int mt_check_all(bdb_map *map, const mt_model *m, char *why, size_t cap)
{
    for (uint32_t s = 0; s < m->shards; s++) {
        uint64_t want = mt_model_count(m, s), got = bdb_map_count(map, s);
        if (got != want)
            return mt_fail(why, cap, "count of shard %u is %llu, model %llu", s,
                           (unsigned long long)got, (unsigned long long)want);
    }
    return mt_check_shard(map, m, BDB_MAP_ALL_SHARDS, why, cap);
}

/* Number of files bdb_map_discarded reports (counted by walking i). */
static inline size_t mt_n_discarded(const bdb_map *map)
{
    size_t i = 0;
    bdb_map_discard d;
    while (i < 100000 && bdb_map_discarded(map, i, &d, NULL) == 1) i++;
    return i;
}

#endif
