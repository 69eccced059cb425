/* Checks of a store directory from outside the library, for the store
 * tests: which files the newest manifest references (read here from the
 * manifest bytes, format of shards/list/manifest.c), whether the
 * directory holds exactly those plus the lock file and the manifest, and
 * what a bucket's files hash to.
 *
 * No Criterion here: plain-C programs use it too. Functions return 0 when
 * the check holds, else -1 with a message in `why`. Header-only. */
#ifndef BDB_TESTS_LIST_STORE_CHECK_H
#define BDB_TESTS_LIST_STORE_CHECK_H

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bucketdb/bucket.h"
#include "core/fs.h"
#include "core/sha256.h"

#include "batches.h"

#define STORE_LOCK_NAME "bucketdb.lock"
#define STORE_MAX_FILES 1024
#define STORE_NAME_MAX  96
#define STORE_PATH_MAX  4096

typedef struct store_files {
    uint32_t ledger;   /* of the newest manifest, 0: none */
    char manifest[32]; /* its name */
    size_t n;          /* bucket files it references */
    char names[STORE_MAX_FILES][STORE_NAME_MAX];
} store_files;

static inline int sc_read_all(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 1 << 16, n = 0;
    uint8_t *p = malloc(cap);
    size_t r;
    while (p && (r = fread(p + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *q = realloc(p, cap *= 2);
            if (!q) {
                free(p);
                p = NULL;
            }
            p = q;
        }
    }
    fclose(f);
    if (!p) return -1;
    *data = p;
    *len = n;
    return 0;
}

/* The newest MANIFEST-<ledger> in `dir` (0 if none) and how many there are. */
static inline uint32_t sc_newest_manifest(const char *dir, int *count)
{
    DIR *d = opendir(dir);
    uint32_t best = 0;
    *count = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        unsigned v;
        char tail;
        if (strlen(e->d_name) == 19 && sscanf(e->d_name, "MANIFEST-%10u%c", &v, &tail) == 1) {
            (*count)++;
            if (v > best) best = v;
        }
    }
    if (d) closedir(d);
    return best;
}

static inline uint32_t sc_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads the bucket table of the newest manifest: the file names of every
 * bucket it lists (levels, pending merges' inputs and outputs). */
static inline int store_manifest_files(const char *dir, store_files *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    int count;
    out->ledger = sc_newest_manifest(dir, &count);
    if (!out->ledger) {
        batch_err(why, cap, "%s: no manifest", dir);
        return -1;
    }
    snprintf(out->manifest, sizeof out->manifest, "MANIFEST-%010u", out->ledger);
    char path[STORE_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, out->manifest);
    uint8_t *m;
    size_t len;
    if (sc_read_all(path, &m, &len)) {
        batch_err(why, cap, "%s: cannot read", path);
        return -1;
    }
    size_t pos = 0;
    int bad = 0;
#define SC_NEED(k)                                                                                 \
    do {                                                                                           \
        if (len - pos < (size_t)(k)) {                                                             \
            bad = 1;                                                                               \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)
    SC_NEED(24);
    if (memcmp(m, "BDBMANI1", 8) != 0) {
        bad = 1;
        goto done;
    }
    pos = 8 + 4 + 4 + 4; /* magic, format, ledger, protocol */
    uint32_t shards = sc_le32(m + pos);
    pos += 4;
    for (uint32_t k = 0; k + 1 < shards; k++) {
        SC_NEED(4);
        uint32_t bl = sc_le32(m + pos);
        pos += 4;
        SC_NEED(bl);
        pos += bl;
    }
    SC_NEED(4);
    uint32_t nb = sc_le32(m + pos);
    pos += 4;
    for (uint32_t i = 0; i < nb; i++) {
        SC_NEED(32 + 1 + 4 + 8 + 8 + 4);
        pos += 32 + 1 + 4 + 8 + 8;
        uint32_t nf = sc_le32(m + pos);
        pos += 4;
        for (uint32_t f = 0; f < nf; f++) {
            SC_NEED(4);
            uint32_t nl = sc_le32(m + pos);
            pos += 4;
            SC_NEED(nl + 16);
            if (nl >= STORE_NAME_MAX || out->n == STORE_MAX_FILES) {
                bad = 1;
                goto done;
            }
            memcpy(out->names[out->n], m + pos, nl);
            out->names[out->n++][nl] = 0;
            pos += nl + 16;
        }
        SC_NEED((size_t)shards * 20);
        pos += (size_t)shards * 20;
    }
done:
#undef SC_NEED
    free(m);
    if (bad) {
        batch_err(why, cap, "%s: cannot parse the bucket table", path);
        return -1;
    }
    return 0;
}

static inline int store_files_has(const store_files *sf, const char *name)
{
    for (size_t i = 0; i < sf->n; i++)
        if (strcmp(sf->names[i], name) == 0) return 1;
    return 0;
}

/* The directory holds exactly: the lock file, one manifest (the newest)
 * and the bucket files that manifest references; no temporary file, no
 * stale bucket. */
static inline int store_dir_exact(const char *dir, char *why, size_t cap)
{
    store_files *sf = malloc(sizeof *sf);
    if (!sf) return -1;
    int rc = store_manifest_files(dir, sf, why, cap);
    int count;
    if (!rc && (sc_newest_manifest(dir, &count), count != 1)) {
        batch_err(why, cap, "%s: %d manifests", dir, count);
        rc = -1;
    }
    DIR *d = rc ? NULL : opendir(dir);
    struct dirent *e;
    size_t seen = 0;
    while (d && !rc && (e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, STORE_LOCK_NAME) ||
            !strcmp(n, sf->manifest))
            continue;
        if (store_files_has(sf, n)) {
            seen++;
            continue;
        }
        /* a page index file belongs with the bucket file it indexes */
        char xdr[STORE_NAME_MAX];
        size_t nl = strlen(n);
        if (nl > 6 && nl < sizeof xdr && strcmp(n + nl - 6, ".index") == 0) {
            memcpy(xdr, n, nl - 6);
            memcpy(xdr + nl - 6, ".xdr", 5);
            if (store_files_has(sf, xdr)) continue;
        }
        batch_err(why, cap, "%s: %s is not referenced by %s%s", dir, n, sf->manifest,
                  bdbi_fs_is_tmp_name(n) ? " (a temporary file)" : "");
        rc = -1;
    }
    if (d) closedir(d);
    if (!rc && seen != sf->n) {
        batch_err(why, cap, "%s: %s references %zu files, %zu exist", dir, sf->manifest, sf->n,
                  seen);
        rc = -1;
    }
    free(sf);
    return rc;
}

/* The hash a bucket file's name carries (bucket-<hex>.xdr or
 * bucket-<hex>.p<k>.xdr); 0 if the name is one. */
static inline int store_name_hash(const char *name, uint8_t hash[32])
{
    if (strncmp(name, "bucket-", 7) != 0 || strlen(name) < 7 + 64 + 4) return -1;
    if (name[7 + 64] != '.') return -1;
    return batch_unhex(name + 7, hash);
}

/* Number of temporary files in the directory. */
static inline int store_tmp_count(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (bdbi_fs_is_tmp_name(e->d_name)) n++;
    if (d) closedir(d);
    return n;
}

/* Paths of the files holding the bucket `hash`: bucket-<hex>.xdr, or its
 * pieces bucket-<hex>.p<k>.xdr in shard order. Returns how many (0: no
 * file). */
static inline int store_bucket_files(const char *dir, const uint8_t hash[32],
                                     char paths[][STORE_PATH_MAX], int max)
{
    char name[BDB_BUCKET_NAME_LEN];
    bdb_bucket_name(hash, name);
    snprintf(paths[0], STORE_PATH_MAX, "%s/%s", dir, name);
    if (access(paths[0], F_OK) == 0) return 1;
    name[strlen(name) - 4] = 0; /* drop ".xdr" */
    int n = 0;
    for (int k = 0; k < BDB_LIST_MAX_SHARDS && n < max; k++) {
        snprintf(paths[n], STORE_PATH_MAX, "%s/%s.p%d.xdr", dir, name, k);
        if (access(paths[n], F_OK) == 0) n++;
    }
    return n;
}

/* The bucket `hash` has files in `dir` and they hash to it. */
static inline int store_bucket_ok(const char *dir, const uint8_t hash[32], char *why, size_t cap)
{
    static char paths[BDB_LIST_MAX_SHARDS][STORE_PATH_MAX];
    char hx[65];
    batch_hex(hash, hx);
    int n = store_bucket_files(dir, hash, paths, BDB_LIST_MAX_SHARDS);
    if (!n) {
        batch_err(why, cap, "bucket %s has no file in %s", hx, dir);
        return -1;
    }
    bdbi_sha256 h;
    if (bdbi_sha256_init(&h)) return -1;
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        uint8_t *d;
        size_t len;
        if (sc_read_all(paths[i], &d, &len)) {
            bdbi_sha256_discard(&h);
            batch_err(why, cap, "%s: cannot read", paths[i]);
            return -1;
        }
        bdbi_sha256_update(&h, d, len);
        total += len;
        free(d);
    }
    uint8_t got[32];
    bdbi_sha256_final(&h, got);
    if (memcmp(got, hash, 32) != 0 || total == 0) {
        char g[65];
        batch_hex(got, g);
        batch_err(why, cap, "bucket %s: its %d file(s) (%llu bytes) hash to %s", hx, n,
                  (unsigned long long)total, g);
        return -1;
    }
    return 0;
}

/* Every non-empty bucket of the state (live and hot, curr and snap) has
 * files that hash to its name. */
static inline int store_state_files_ok(const char *dir, const bdb_list_state *st, char *why,
                                       size_t cap)
{
    static const uint8_t zero[32];
    for (int i = 0; i < BDB_LIST_LEVELS; i++) {
        const uint8_t *hs[4] = {st->live_curr[i], st->live_snap[i], st->hot_curr[i],
                                st->hot_snap[i]};
        for (int j = 0; j < 4; j++)
            if (memcmp(hs[j], zero, 32) && store_bucket_ok(dir, hs[j], why, cap)) return -1;
    }
    return 0;
}

/* A closed store's directory is sane: no temporary file, one manifest,
 * every file it references present, and every bucket file (referenced or
 * not: finished outputs of merges the manifest lists as pending are not)
 * hashing to its name. */
static inline int store_dir_sane(const char *dir, char *why, size_t cap)
{
    if (store_tmp_count(dir)) {
        batch_err(why, cap, "%s: temporary files remain", dir);
        return -1;
    }
    store_files *sf = malloc(sizeof *sf);
    if (!sf) return -1;
    int rc = store_manifest_files(dir, sf, why, cap), count;
    if (!rc && (sc_newest_manifest(dir, &count), count != 1)) {
        batch_err(why, cap, "%s: %d manifests", dir, count);
        rc = -1;
    }
    char path[STORE_PATH_MAX];
    for (size_t i = 0; !rc && i < sf->n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, sf->names[i]);
        if (access(path, F_OK) != 0) {
            batch_err(why, cap, "%s references %s, which is missing", sf->manifest, path);
            rc = -1;
        }
    }
    free(sf);
    DIR *d = rc ? NULL : opendir(dir);
    struct dirent *e;
    uint8_t h[32];
    while (d && !rc && (e = readdir(d)))
        if (store_name_hash(e->d_name, h) == 0) rc = store_bucket_ok(dir, h, why, cap);
    if (d) closedir(d);
    return rc;
}

/* Removes every file of `dir` and the directory (it has no subdirectories). */
static inline void store_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[STORE_PATH_MAX];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (d) closedir(d);
    rmdir(dir);
}

#endif
