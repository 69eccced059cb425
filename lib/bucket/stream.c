/* Streaming bucket reads (see bucket.h): plain or gzip, told by content.
 * History archives hold buckets gzipped; importing, verifying or
 * inspecting one must not need a decompressed copy first, and must cost
 * the same fixed memory for a bucket of any size. The uncompressed bytes
 * are hashed (SHA-256: the bucket's name) as they are produced and can be
 * handed to a tap, so one pass can also write the canonical file. */
#include "config.h"

#include "bucket.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"
#include "core/sha256.h"
#include "xdr/ledger.h"
#include "xdr/record.h"

#define CHUNK ((size_t)1 << 20)
/* stellar-core refuses archive buckets above 100 GiB */
#define MAX_BUCKET_BYTES ((uint64_t)100 << 30)

/* ---- the framer: record marks over a byte stream, without buffering ---- */

int bdbi_framer_feed(bdbi_framer *f, const uint8_t *p, size_t n)
{
    uint64_t end = f->pos + n;
    while (f->next_mark + (uint64_t)f->have < end) {
        /* the mark's bytes may straddle chunks */
        while (f->have < 4 && f->next_mark + (uint64_t)f->have < end) {
            f->mark[f->have] = p[f->next_mark + (uint64_t)f->have - f->pos];
            f->have++;
        }
        if (f->have < 4) break;
        uint32_t m = bdbi_be32(f->mark);
        if (!(m & BDBI_RECORD_LAST_FRAGMENT) || (m & 3))
            return bdbi_err_at(BDB_EFORMAT, f->label, (int64_t)f->next_mark,
                               "bad record mark %#010x (a record is one fragment whose length is a "
                               "multiple of 4)",
                               m);
        f->next_mark += 4 + (m & ~BDBI_RECORD_LAST_FRAGMENT);
        f->have = 0;
        f->records++;
    }
    f->pos = end;
    if (f->pos > MAX_BUCKET_BYTES)
        return bdbi_err_at(BDB_EFORMAT, f->label, -1, "bucket larger than 100 GiB");
    return 0;
}

int bdbi_framer_end(const bdbi_framer *f)
{
    if (f->have || f->next_mark != f->pos)
        return bdbi_err_at(BDB_EFORMAT, f->label, (int64_t)f->next_mark,
                           "truncated: the record starting here ends after the %llu bytes present",
                           (unsigned long long)f->pos);
    return 0;
}

/* ---- the stream ---- */

struct bdbi_bstream {
    bdb_env *env;
    char *path;
    int fd;
    int gz;
    z_stream z;
    int zinit, zdone, in_eof;
    uint8_t *in; /* compressed input chunk */
    uint8_t *buf;
    size_t cap, start, end; /* unread uncompressed bytes: buf[start, end) */
    uint64_t pos;           /* offset of buf[start] in the uncompressed data */
    uint64_t total;
    bdbi_sha256 sha;
    int sha_on, finished;
    int failed; /* 1: the bytes failed (gzip, framing, I/O); 2: a record failed the checks */
    uint8_t hash[32];
    bdbi_tap_fn tap;
    void *tap_ctx;
    bdbi_checker ck;
    uint64_t records;
    uint64_t inflate_ns, sha_ns; /* thread CPU time in zlib (or read) and SHA-256 */
};

uint64_t bdbi_thread_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static ssize_t read_some(bdbi_bstream *s, uint8_t *p, size_t n)
{
    for (;;) {
        ssize_t r = read(s->fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return bdbi_err_sys(errno, s->path, "read failed");
        return r;
    }
}

static int after_end(bdbi_bstream *s)
{
    return bdbi_err_at(BDB_EFORMAT, s->path, -1,
                       "data after the end of the gzip stream (at compressed offset %llu)",
                       (unsigned long long)s->z.total_in);
}

/* After the gzip stream ended: any further byte is an error (stellar-core
 * writes one member; anything after it was not hashed by anyone). */
static int check_gz_trailer(bdbi_bstream *s)
{
    if (s->z.avail_in) return after_end(s);
    uint8_t b;
    ssize_t r = read_some(s, &b, 1);
    if (r < 0) return (int)r;
    return r > 0 ? after_end(s) : 0;
}

/* Appends uncompressed bytes to buf[end, cap) (end < cap), hashing them
 * and handing them to the tap. Returns how many, 0 at the end of the
 * data, or a negative BDB_E* code. */
static ssize_t fill(bdbi_bstream *s)
{
    uint8_t *p = s->buf + s->end;
    size_t room = s->cap - s->end;
    ssize_t got;
    uint64_t t0 = bdbi_thread_ns();
    if (!s->gz) {
        got = read_some(s, p, room);
        if (got < 0) return got;
    } else {
        got = 0;
        while (!got && !s->zdone) {
            if (!s->z.avail_in && !s->in_eof) {
                ssize_t r = read_some(s, s->in, CHUNK);
                if (r < 0) return r;
                if (r == 0) s->in_eof = 1;
                s->z.next_in = s->in;
                s->z.avail_in = (uInt)r;
            }
            if (!s->z.avail_in && s->in_eof)
                return bdbi_err_at(BDB_EFORMAT, s->path, -1,
                                   "truncated gzip stream (%llu compressed bytes)",
                                   (unsigned long long)s->z.total_in);
            s->z.next_out = p;
            s->z.avail_out = (uInt)room;
            int zr = inflate(&s->z, Z_NO_FLUSH);
            if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
                return bdbi_err_at(BDB_EFORMAT, s->path, -1,
                                   "not a valid gzip stream at compressed offset %llu (%s)",
                                   (unsigned long long)s->z.total_in,
                                   s->z.msg ? s->z.msg : "zlib error");
            got = (ssize_t)(room - s->z.avail_out);
            if (zr == Z_STREAM_END) {
                s->zdone = 1;
                int rc = check_gz_trailer(s);
                if (rc) return rc;
            }
        }
    }
    uint64_t t1 = bdbi_thread_ns();
    s->inflate_ns += t1 - t0;
    if (got > 0) {
        if (s->total + (uint64_t)got > MAX_BUCKET_BYTES)
            return bdbi_err_at(BDB_EFORMAT, s->path, -1, "bucket larger than 100 GiB");
        bdbi_sha256_update(&s->sha, p, (size_t)got);
        s->sha_ns += bdbi_thread_ns() - t1;
        if (s->tap) {
            int rc = s->tap(s->tap_ctx, p, (size_t)got);
            if (rc) return rc;
        }
        s->end += (size_t)got;
        s->total += (uint64_t)got;
    }
    return got;
}

/* Moves the unread bytes to the front and grows the buffer to hold `need`
 * unread bytes. */
static int make_room(bdbi_bstream *s, size_t need)
{
    if (s->start) {
        memmove(s->buf, s->buf + s->start, s->end - s->start);
        s->end -= s->start;
        s->start = 0;
    }
    if (need > s->cap) {
        size_t ncap = s->cap * 2 > need ? s->cap * 2 : need;
        uint8_t *nb = bdbi_realloc(s->env, BDB_MEM_BUCKET, s->buf, s->cap, ncap);
        if (!nb) return BDB_ENOMEM;
        s->buf = nb;
        s->cap = ncap;
    }
    return 0;
}

/* Ensures `need` unread bytes: 1, 0 if the data ends first, or an error. */
static int want(bdbi_bstream *s, size_t need)
{
    while (s->end - s->start < need) {
        if (s->cap - s->start < need || s->end == s->cap) {
            int rc = make_room(s, need);
            if (rc) return rc;
        }
        ssize_t r = fill(s);
        if (r < 0) return (int)r;
        if (r == 0) return 0;
    }
    return 1;
}

int bdbi_bstream_open(bdb_env *env, const char *path, int hot, int flags, bdbi_bstream **out)
{
    *out = NULL;
    bdbi_bstream *s = bdbi_calloc(env, BDB_MEM_BUCKET, 1, sizeof *s);
    if (!s) return BDB_ENOMEM;
    s->env = env;
    s->fd = -1;
    s->path = bdbi_strdup(env, BDB_MEM_BUCKET, path);
    s->buf = bdbi_malloc(env, BDB_MEM_BUCKET, CHUNK);
    s->cap = s->buf ? CHUNK : 0;
    bdbi_checker_init(&s->ck, env, s->path, hot, flags);
    int rc = s->path && s->buf ? 0 : BDB_ENOMEM;
    if (!rc && !(rc = bdbi_sha256_init(&s->sha))) s->sha_on = 1;
    if (!rc && (s->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        rc = bdbi_err_sys(errno, path, "cannot open the bucket");
    if (!rc) {
        (void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        /* gzip by content (1f 8b), whatever the name says */
        uint8_t magic[2];
        ssize_t r = pread(s->fd, magic, 2, 0);
        if (r == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
            s->gz = 1;
            s->in = bdbi_malloc(env, BDB_MEM_BUCKET, CHUNK);
            if (!s->in)
                rc = BDB_ENOMEM;
            else if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK) /* gzip wrapper only */
                rc = bdbi_err(BDB_ENOMEM, "zlib: cannot start inflating %s", path);
            else
                s->zinit = 1;
        }
    }
    if (rc) {
        bdbi_bstream_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void bdbi_bstream_tap(bdbi_bstream *s, bdbi_tap_fn fn, void *ctx)
{
    s->tap = fn;
    s->tap_ctx = ctx;
}

static int finish(bdbi_bstream *s)
{
    if (s->end > s->start)
        return bdbi_err_at(BDB_EFORMAT, s->path, (int64_t)s->pos,
                           "truncated: %zu bytes here are not a whole record mark",
                           s->end - s->start);
    bdbi_sha256_final(&s->sha, s->hash);
    s->sha_on = 0;
    s->finished = 1;
    return 0;
}

/* The next framed record: 1 with body/len/at, 0 at the clean end. */
static int next_record(bdbi_bstream *s, const uint8_t **body, size_t *len, uint64_t *at)
{
    int w = want(s, BDBI_RECORD_MARK_LEN);
    if (w < 0) return w;
    if (w == 0) return finish(s);
    uint32_t m = bdbi_be32(s->buf + s->start);
    size_t n = m & ~BDBI_RECORD_LAST_FRAGMENT;
    *at = s->pos;
    if (!(m & BDBI_RECORD_LAST_FRAGMENT) || (n & 3))
        return bdbi_err_at(BDB_EFORMAT, s->path, (int64_t)*at,
                           "bad record mark %#010x (a record is one fragment whose length is a "
                           "multiple of 4)",
                           m);
    if (n > BDBI_BSTREAM_MAX_RECORD)
        return bdbi_err_at(BDB_EFORMAT, s->path, (int64_t)*at,
                           "record of %zu bytes (more than the %zu a bucket entry can take)", n,
                           BDBI_BSTREAM_MAX_RECORD);
    w = want(s, BDBI_RECORD_MARK_LEN + n);
    if (w < 0) return w;
    if (w == 0)
        return bdbi_err_at(BDB_EFORMAT, s->path, (int64_t)*at,
                           "truncated: the record here needs %zu bytes, the data ends at %llu",
                           n + BDBI_RECORD_MARK_LEN, (unsigned long long)s->total);
    *body = s->buf + s->start + BDBI_RECORD_MARK_LEN;
    *len = n;
    s->start += BDBI_RECORD_MARK_LEN + n;
    s->pos += BDBI_RECORD_MARK_LEN + n;
    return 1;
}

int bdbi_bstream_next(bdbi_bstream *s, bdb_bucket_item *it, bdb_record *parsed)
{
    if (s->finished) return 0;
    if (s->failed) return bdbi_err(BDB_EINVAL, "%s: the stream already failed", s->path);
    const uint8_t *body = NULL;
    size_t len = 0;
    uint64_t at = 0;
    int rc = next_record(s, &body, &len, &at);
    if (rc < 0) s->failed = 1;
    if (rc == 1 && s->records++ == 0) {
        bdb_record m;
        int is_meta;
        rc = bdbi_checker_meta(&s->ck, body, len, &m, &is_meta);
        if (!rc && is_meta) {
            memset(it, 0, sizeof *it);
            it->type = BDB_METAENTRY;
            it->entry_type = -1;
            it->record = body;
            it->record_len = len;
            it->offset = at;
            if (parsed) *parsed = m;
            return 1;
        }
        if (!rc) rc = 1;
    }
    if (rc == 1) rc = bdbi_checker_entry(&s->ck, body, len, at, it, parsed);
    if (rc == 0 && !s->finished) rc = 1;
    /* a record that fails the checks was framed whole: drain can go on */
    if (rc < 0 && !s->failed) s->failed = 2;
    return rc;
}

int bdbi_bstream_drain(bdbi_bstream *s, uint64_t *records)
{
    if (s->failed == 1) return bdbi_err(BDB_EINVAL, "%s: the stream already failed", s->path);
    s->failed = 0;
    bdbi_framer f = {.label = s->path, .pos = s->pos, .next_mark = s->pos};
    int rc = 0;
    while (!rc && !s->finished) {
        if (s->end > s->start) rc = bdbi_framer_feed(&f, s->buf + s->start, s->end - s->start);
        s->pos += s->end - s->start;
        s->start = s->end = 0;
        ssize_t r = rc ? 0 : fill(s);
        if (r < 0) rc = (int)r;
        if (!rc && r == 0) {
            rc = bdbi_framer_end(&f);
            if (!rc) rc = finish(s);
        }
    }
    if (rc) s->failed = 1;
    s->records += f.records;
    if (records) *records = s->records;
    return rc;
}

int bdbi_bstream_is_gzip(const bdbi_bstream *s)
{
    return s->gz;
}

int bdbi_bstream_hot(const bdbi_bstream *s)
{
    return s->ck.hot;
}

uint32_t bdbi_bstream_protocol(const bdbi_bstream *s)
{
    return s->ck.protocol;
}

uint64_t bdbi_bstream_bytes(const bdbi_bstream *s)
{
    return s->pos;
}

void bdbi_bstream_cost(const bdbi_bstream *s, uint64_t *inflate_ns, uint64_t *sha_ns)
{
    *inflate_ns = s->inflate_ns;
    *sha_ns = s->sha_ns;
}

int bdbi_bstream_hash(const bdbi_bstream *s, uint8_t out[BDB_HASH_LEN])
{
    if (!s->finished) return bdbi_err(BDB_EINTERNAL, "%s: hash before the end", s->path);
    memcpy(out, s->hash, BDB_HASH_LEN);
    return 0;
}

void bdbi_bstream_close(bdbi_bstream *s)
{
    if (!s) return;
    bdb_env *env = s->env;
    if (s->sha_on) bdbi_sha256_discard(&s->sha);
    if (s->zinit) inflateEnd(&s->z);
    if (s->fd >= 0) close(s->fd);
    bdbi_checker_free(&s->ck);
    bdbi_free(env, BDB_MEM_BUCKET, s->in, s->in ? CHUNK : 0);
    bdbi_free(env, BDB_MEM_BUCKET, s->buf, s->cap);
    bdbi_strfree(env, BDB_MEM_BUCKET, s->path);
    bdbi_free(env, BDB_MEM_BUCKET, s, sizeof *s);
}
