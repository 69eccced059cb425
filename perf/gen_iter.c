/* Iteration of the generated state in bucket order. Every type but TTL
 * is in key order by slot, so it streams with no memory at all. TTL keys
 * are SHA-256 hashes of their owners' keys, in no relation to the slots:
 * they are distributed by their leading bits into partitions (temporary
 * files once they outgrow PART_BYTES), and each partition is sorted in
 * memory when its turn comes. Hashes are uniform, so partitions come out
 * the same size and memory stays near PART_BYTES whatever N is. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen_impl.h"

#define PART_BYTES ((size_t)2 << 20)
#define MAX_PARTS  256
#define FILE_BUF   (16 << 10)

typedef struct ttl_rec {
    uint8_t hash[32];
    uint64_t slot;
} ttl_rec;

struct gen_iter {
    const gen *g;
    int flags;
    int type;
    uint64_t k;
    int deleted_next; /* the deleted key after k - 1 comes next */
    /* TTL */
    int ttl_started;
    char tmpdir[512];
    unsigned n_parts, part; /* next partition to load */
    FILE *files[MAX_PARTS]; /* none when n_parts == 1: one partition in memory */
    uint64_t part_len[MAX_PARTS];
    ttl_rec *recs;
    size_t n_recs, cap, pos;
};

int gen_iter_open(const gen *g, int flags, const char *tmpdir, gen_iter **out)
{
    gen_iter *it = calloc(1, sizeof *it);
    if (!it) return -1;
    it->g = g;
    it->flags = flags;
    if (!tmpdir) tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir) tmpdir = "/tmp";
    if (snprintf(it->tmpdir, sizeof it->tmpdir, "%s", tmpdir) >= (int)sizeof it->tmpdir) {
        free(it);
        errno = ENAMETOOLONG;
        return -1;
    }
    *out = it;
    return 0;
}

void gen_iter_close(gen_iter *it)
{
    if (!it) return;
    for (unsigned p = 0; p < MAX_PARTS; p++)
        if (it->files[p]) fclose(it->files[p]);
    free(it->recs);
    free(it);
}

static int rec_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static int push(gen_iter *it, const ttl_rec *r)
{
    if (it->n_recs == it->cap) {
        size_t cap = it->cap ? it->cap * 2 : 4096;
        ttl_rec *v = realloc(it->recs, cap * sizeof *v);
        if (!v) return -1;
        it->recs = v;
        it->cap = cap;
    }
    it->recs[it->n_recs++] = *r;
    return 0;
}

static int open_temp(gen_iter *it, FILE **f)
{
    char path[600];
    snprintf(path, sizeof path, "%s/bdb-gen-ttl-XXXXXX", it->tmpdir);
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    unlink(path); /* gone when closed, whatever happens */
    *f = fdopen(fd, "w+b");
    if (!*f) {
        close(fd);
        return -1;
    }
    setvbuf(*f, NULL, _IOFBF, FILE_BUF);
    return 0;
}

/* One TTL record to its partition. */
static int distribute(gen_iter *it, uint64_t slot)
{
    ttl_rec r;
    uint8_t key[GEN_KEY_MAX];
    gen_key(it->g, BDB_TTL, slot, key);
    memcpy(r.hash, key + 4, 32);
    r.slot = slot;
    if (it->n_parts == 1) return push(it, &r);
    unsigned p = (unsigned)(((uint64_t)r.hash[0] << 8 | r.hash[1]) * it->n_parts >> 16);
    if (fwrite(&r, sizeof r, 1, it->files[p]) != 1) return -1;
    it->part_len[p]++;
    return 0;
}

static int start_ttl(gen_iter *it)
{
    const gen *g = it->g;
    uint64_t n = g->count[BDB_TTL], bytes = n * sizeof(ttl_rec) * 102 / 100;
    it->n_parts = 1;
    while (bytes / it->n_parts > PART_BYTES && it->n_parts < MAX_PARTS) it->n_parts *= 2;
    for (unsigned p = 0; it->n_parts > 1 && p < it->n_parts; p++)
        if (open_temp(it, &it->files[p])) return -1;
    for (uint64_t k = 0; k < n; k++) {
        if (distribute(it, GEN_SLOT(k, GEN_LIVE))) return -1;
        if ((it->flags & GEN_ITER_DELETED) && gen_is_deleted(g, BDB_TTL, k) &&
            distribute(it, GEN_SLOT(k, GEN_DELETED)))
            return -1;
    }
    if (it->n_parts == 1) {
        qsort(it->recs, it->n_recs, sizeof *it->recs, rec_cmp);
        it->part = 1;
    }
    for (unsigned p = 0; it->n_parts > 1 && p < it->n_parts; p++)
        if (fflush(it->files[p]) || fseek(it->files[p], 0, SEEK_SET)) return -1;
    it->ttl_started = 1;
    return 0;
}

/* Loads and sorts the next partition; 0 when there is none. */
static int load_part(gen_iter *it)
{
    if (it->part >= it->n_parts) return 0;
    unsigned p = it->part++;
    size_t n = (size_t)it->part_len[p];
    if (n > it->cap) {
        ttl_rec *v = realloc(it->recs, n * sizeof *v);
        if (!v) return -1;
        it->recs = v;
        it->cap = n;
    }
    if (n && fread(it->recs, sizeof *it->recs, n, it->files[p]) != n) {
        if (!errno) errno = EIO;
        return -1;
    }
    fclose(it->files[p]);
    it->files[p] = NULL;
    qsort(it->recs, n, sizeof *it->recs, rec_cmp);
    it->n_recs = n;
    it->pos = 0;
    return 1;
}

int gen_iter_next(gen_iter *it, gen_item *out)
{
    const gen *g = it->g;
    while (it->type < BDB_TTL) {
        out->type = it->type;
        if (it->deleted_next) {
            it->deleted_next = 0;
            out->slot = GEN_SLOT(it->k - 1, GEN_DELETED);
            return 1;
        }
        if (it->k < g->count[it->type]) {
            uint64_t k = it->k++;
            it->deleted_next = (it->flags & GEN_ITER_DELETED) && gen_is_deleted(g, it->type, k);
            out->slot = GEN_SLOT(k, GEN_LIVE);
            return 1;
        }
        it->type++;
        it->k = 0;
    }
    if (it->type > BDB_TTL) return 0;
    if (!it->ttl_started && start_ttl(it)) return -1;
    while (it->pos == it->n_recs) {
        int rc = load_part(it);
        if (rc <= 0) {
            if (rc == 0) it->type++;
            return rc;
        }
    }
    out->type = BDB_TTL;
    out->slot = it->recs[it->pos++].slot;
    return 1;
}
