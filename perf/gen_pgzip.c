/* Parallel gzip (gen_pgzip.h). Workers take blocks in order; a block is
 * written by whichever worker finds it next in line, so output slots are
 * reused and no more than SLOTS blocks are ever in memory. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "gen_pgzip.h"

#define BLOCK ((size_t)2 << 20)
#define DICT  ((size_t)32 << 10)
#define SLOTS 8

typedef struct slot {
    uint64_t block; /* UINT64_MAX: free */
    int ready;
    uint8_t *out;
    size_t out_len, out_cap;
    uint32_t crc;
    size_t in_len;
} slot;

typedef struct pgz {
    int in, out;
    uint64_t size, n_blocks;
    int level;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t next, written;
    slot slots[SLOTS];
    uint32_t crc;
    uint64_t out_bytes;
    int err; /* first errno */
} pgz;

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

static int read_at(int fd, uint8_t *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r == 0) errno = EIO;
            return -1;
        }
        p += r, n -= (size_t)r, off += (uint64_t)r;
    }
    return 0;
}

/* Deflates block b into s (raw deflate; sync flush, or finish for the last). */
static int compress_block(pgz *z, z_stream *zs, uint8_t *in, uint64_t b, slot *s)
{
    uint64_t off = b * BLOCK;
    size_t dict = b ? DICT : 0, n = (size_t)(z->size - off < BLOCK ? z->size - off : BLOCK);
    if (read_at(z->in, in, dict + n, off - dict)) return -1;
    size_t bound = deflateBound(zs, n) + 16;
    if (s->out_cap < bound) {
        uint8_t *p = realloc(s->out, bound);
        if (!p) return -1;
        s->out = p, s->out_cap = bound;
    }
    if (deflateReset(zs) != Z_OK || (dict && deflateSetDictionary(zs, in, (uInt)dict) != Z_OK)) {
        errno = EINVAL;
        return -1;
    }
    zs->next_in = in + dict;
    zs->avail_in = (uInt)n;
    zs->next_out = s->out;
    zs->avail_out = (uInt)s->out_cap;
    int last = b == z->n_blocks - 1;
    int zr = deflate(zs, last ? Z_FINISH : Z_SYNC_FLUSH);
    if (zr != (last ? Z_STREAM_END : Z_OK) || zs->avail_in) {
        errno = EINVAL;
        return -1;
    }
    s->out_len = s->out_cap - zs->avail_out;
    s->crc = (uint32_t)crc32(0, in + dict, (uInt)n);
    s->in_len = n;
    return 0;
}

/* Writes the blocks that are next in line (with z->mu held). */
static void flush_ready(pgz *z)
{
    for (;;) {
        slot *s = &z->slots[z->written % SLOTS];
        if (s->block != z->written || !s->ready) return;
        if (!z->err && write_all(z->out, s->out, s->out_len)) z->err = errno;
        z->crc = (uint32_t)crc32_combine(z->crc, s->crc, (z_off_t)s->in_len);
        z->out_bytes += s->out_len;
        s->block = UINT64_MAX;
        s->ready = 0;
        z->written++;
        pthread_cond_broadcast(&z->cv);
    }
}

static void *worker(void *arg)
{
    pgz *z = arg;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    uint8_t *in = malloc(BLOCK + DICT);
    int ok = in && deflateInit2(&zs, z->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    pthread_mutex_lock(&z->mu);
    if (!ok && !z->err) z->err = ENOMEM;
    while (ok && !z->err && z->next < z->n_blocks) {
        uint64_t b = z->next;
        slot *s = &z->slots[b % SLOTS];
        if (s->block != UINT64_MAX) { /* the slot's block is not written yet */
            pthread_cond_wait(&z->cv, &z->mu);
            continue;
        }
        s->block = b;
        z->next++;
        pthread_mutex_unlock(&z->mu);
        int rc = compress_block(z, &zs, in, b, s);
        pthread_mutex_lock(&z->mu);
        if (rc && !z->err) z->err = errno ? errno : EIO;
        s->ready = 1;
        flush_ready(z);
    }
    pthread_cond_broadcast(&z->cv);
    pthread_mutex_unlock(&z->mu);
    if (ok) deflateEnd(&zs);
    free(in);
    return NULL;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}

int gen_pgzip(const char *src, const char *dst, int level, unsigned threads, int fsync,
              uint64_t *gz_bytes)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", dst) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    pgz z;
    memset(&z, 0, sizeof z);
    z.level = level;
    z.in = open(src, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (z.in < 0 || fstat(z.in, &st)) {
        int e = errno;
        if (z.in >= 0) close(z.in);
        errno = e;
        return -1;
    }
    z.out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (z.out < 0) {
        int e = errno;
        close(z.in);
        errno = e;
        return -1;
    }
    z.size = (uint64_t)st.st_size;
    z.n_blocks = z.size ? (z.size + BLOCK - 1) / BLOCK : 1;
    for (int i = 0; i < SLOTS; i++) z.slots[i].block = UINT64_MAX;
    pthread_mutex_init(&z.mu, NULL);
    pthread_cond_init(&z.cv, NULL);
    /* the header zlib writes: no name, no time, this OS (Unix) */
    uint8_t head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, level == 9 ? 2 : level == 1 ? 4 : 0, 3};
    if (write_all(z.out, head, sizeof head)) z.err = errno;
    pthread_t th[64];
    unsigned started = 0;
    for (unsigned t = 1; !z.err && t < threads && t < 64; t++)
        if (pthread_create(&th[started], NULL, worker, &z) == 0) started++;
    if (!z.err) worker(&z);
    for (unsigned t = 0; t < started; t++) pthread_join(th[t], NULL);
    uint8_t tail[8];
    put_le32(tail, z.crc);
    put_le32(tail + 4, (uint32_t)z.size);
    if (!z.err && write_all(z.out, tail, sizeof tail)) z.err = errno;
    if (!z.err && fsync && fdatasync(z.out)) z.err = errno;
    if (close(z.out) && !z.err) z.err = errno;
    close(z.in);
    if (!z.err && rename(tmp, dst)) z.err = errno;
    if (z.err) unlink(tmp);
    for (int i = 0; i < SLOTS; i++) free(z.slots[i].out);
    pthread_mutex_destroy(&z.mu);
    pthread_cond_destroy(&z.cv);
    *gz_bytes = sizeof head + z.out_bytes + sizeof tail;
    errno = z.err;
    return z.err ? -1 : 0;
}
