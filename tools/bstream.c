/* Streaming bucket reads for the tool (see bstream.h). The library's
 * reader maps a plain file; archives hold buckets gzipped, and inspecting
 * one must not need a decompressed copy, so the tool frames the bytes
 * itself and hands each record to the library's parsers and checks. */
#include "config.h"

#include "bstream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "bucket/bucket.h"
#include "core/endian.h"
#include "core/sha256.h"
#include "xdr/ledger.h"
#include "xdr/record.h"

#define CHUNK ((size_t)1 << 20)

struct bstream {
    int fd;
    int gz, skip;
    z_stream z;
    int zinit, zdone, in_eof;
    uint8_t *in; /* compressed input chunk */
    uint8_t *buf;
    size_t cap, start, end; /* unread uncompressed bytes: buf[start, end) */
    uint64_t pos;           /* offset of buf[start] in the uncompressed data */
    uint64_t total, file_bytes;
    bdbi_sha256 sha;
    int sha_on, finished;
    uint8_t hash[32];
    char *path;
    char err[1024];
};

static int fail(bstream *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(bstream *s, const char *fmt, ...)
{
    int n = snprintf(s->err, sizeof s->err, "%s: ", s->path);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof s->err)
        vsnprintf(s->err + n, sizeof s->err - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static ssize_t read_some(bstream *s, uint8_t *p, size_t n)
{
    for (;;) {
        ssize_t r = read(s->fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return fail(s, "read failed: %s", strerror(errno));
        s->file_bytes += (uint64_t)r;
        return r;
    }
}

/* After the gzip stream ended: any further byte is an error. */
static int check_gz_trailer(bstream *s)
{
    if (s->z.avail_in)
        return fail(s, "data after the end of the gzip stream (at compressed offset %llu)",
                    (unsigned long long)s->z.total_in);
    uint8_t b;
    ssize_t r = read_some(s, &b, 1);
    if (r < 0) return -1;
    if (r > 0)
        return fail(s, "data after the end of the gzip stream (at compressed offset %llu)",
                    (unsigned long long)s->z.total_in);
    return 0;
}

/* Appends uncompressed bytes to buf[end, cap) (end < cap). Returns how
 * many, 0 at the end of the data, -1 on error. */
static ssize_t fill(bstream *s)
{
    uint8_t *p = s->buf + s->end;
    size_t room = s->cap - s->end;
    ssize_t got;
    if (!s->gz) {
        got = read_some(s, p, room);
    } else {
        got = 0;
        while (!got && !s->zdone) {
            if (!s->z.avail_in && !s->in_eof) {
                ssize_t r = read_some(s, s->in, CHUNK);
                if (r < 0) return -1;
                if (r == 0) s->in_eof = 1;
                s->z.next_in = s->in;
                s->z.avail_in = (uInt)r;
            }
            if (!s->z.avail_in && s->in_eof)
                return fail(s, "truncated gzip stream (%llu compressed bytes)",
                            (unsigned long long)s->z.total_in);
            s->z.next_out = p;
            s->z.avail_out = (uInt)room;
            int zr = inflate(&s->z, Z_NO_FLUSH);
            if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
                return fail(s, "not a valid gzip stream at compressed offset %llu (%s)",
                            (unsigned long long)s->z.total_in, s->z.msg ? s->z.msg : "zlib error");
            got = (ssize_t)(room - s->z.avail_out);
            if (zr == Z_STREAM_END) {
                s->zdone = 1;
                if (check_gz_trailer(s)) return -1;
            }
        }
    }
    if (got > 0) {
        bdbi_sha256_update(&s->sha, p, (size_t)got);
        s->end += (size_t)got;
        s->total += (uint64_t)got;
    }
    return got;
}

/* Makes room after end: moves the unread bytes to the front, and grows
 * the buffer to hold `need` unread bytes. */
static int make_room(bstream *s, size_t need)
{
    if (s->start) {
        memmove(s->buf, s->buf + s->start, s->end - s->start);
        s->end -= s->start;
        s->start = 0;
    }
    if (need > s->cap) {
        size_t ncap = s->cap * 2 > need ? s->cap * 2 : need;
        uint8_t *nb = realloc(s->buf, ncap);
        if (!nb) return fail(s, "out of memory for a record of %zu bytes", need);
        s->buf = nb;
        s->cap = ncap;
    }
    return 0;
}

/* Ensures `need` unread bytes; 1, 0 if the data ends first, -1. */
static int want(bstream *s, size_t need)
{
    while (s->end - s->start < need) {
        if (s->cap - s->start < need || s->end == s->cap)
            if (make_room(s, need)) return -1;
        ssize_t r = fill(s);
        if (r < 0) return -1;
        if (r == 0) return 0;
    }
    return 1;
}

int bstream_open(const char *path, int skip_bodies, bstream **out, char *err, size_t errcap)
{
    *out = NULL;
    bstream *s = calloc(1, sizeof *s);
    if (s) s->fd = -1;
    if (s) s->path = strdup(path);
    if (s) s->buf = malloc(CHUNK);
    if (!s || !s->path || !s->buf || bdbi_sha256_init(&s->sha)) {
        snprintf(err, errcap, "%s: out of memory", path);
        if (s) free(s->buf), free(s->path);
        free(s);
        return -1;
    }
    s->sha_on = 1;
    s->cap = CHUNK;
    s->skip = skip_bodies;
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        snprintf(err, errcap, "%s: cannot open: %s", path, strerror(errno));
        bstream_close(s);
        return -1;
    }
    (void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    /* gzip by content: 1f 8b */
    uint8_t magic[2];
    ssize_t r = pread(s->fd, magic, 2, 0);
    if (r == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        s->gz = 1;
        s->in = malloc(CHUNK);
        if (!s->in || inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK) {
            snprintf(err, errcap, "%s: cannot start zlib", path);
            bstream_close(s);
            return -1;
        }
        s->zinit = 1;
    }
    *out = s;
    return 0;
}

int bstream_next(bstream *s, const uint8_t **body, size_t *len, uint64_t *offset)
{
    if (s->finished) return 0;
    int w = want(s, BDBI_RECORD_MARK_LEN);
    if (w < 0) return -1;
    if (w == 0) {
        if (s->end > s->start)
            return fail(s, "truncated: %zu bytes at offset %llu are not a whole record mark",
                        s->end - s->start, (unsigned long long)s->pos);
        bdbi_sha256_final(&s->sha, s->hash);
        s->sha_on = 0;
        s->finished = 1;
        return 0;
    }
    uint32_t m = bdbi_be32(s->buf + s->start);
    size_t n = m & ~BDBI_RECORD_LAST_FRAGMENT;
    uint64_t at = s->pos;
    if (!(m & BDBI_RECORD_LAST_FRAGMENT) || (n & 3))
        return fail(s,
                    "bad record mark 0x%08x at offset %llu (a record is one fragment whose length "
                    "is a multiple of 4)",
                    m, (unsigned long long)at);
    if (!s->skip && n > BSTREAM_MAX_RECORD)
        return fail(s, "record of %zu bytes at offset %llu is larger than this tool reads", n,
                    (unsigned long long)at);
    if (s->skip) {
        s->start += BDBI_RECORD_MARK_LEN;
        size_t left = n;
        while (left) {
            if (s->start == s->end) {
                s->start = s->end = 0;
                ssize_t r = fill(s);
                if (r < 0) return -1;
                if (r == 0)
                    return fail(s,
                                "truncated: the record at offset %llu needs %zu bytes, the data "
                                "ends at %llu",
                                (unsigned long long)at, n + 4, (unsigned long long)s->total);
            }
            size_t take = s->end - s->start < left ? s->end - s->start : left;
            s->start += take;
            left -= take;
        }
        *body = NULL;
    } else {
        w = want(s, BDBI_RECORD_MARK_LEN + n);
        if (w < 0) return -1;
        if (w == 0)
            return fail(
                s, "truncated: the record at offset %llu needs %zu bytes, the data ends at %llu",
                (unsigned long long)at, n + 4, (unsigned long long)s->total);
        *body = s->buf + s->start + BDBI_RECORD_MARK_LEN;
        s->start += BDBI_RECORD_MARK_LEN + n;
    }
    s->pos += BDBI_RECORD_MARK_LEN + n;
    *len = n;
    *offset = at;
    return 1;
}

const char *bstream_error(const bstream *s)
{
    return s->err;
}

int bstream_is_gzip(const bstream *s)
{
    return s->gz;
}

uint64_t bstream_bytes(const bstream *s)
{
    return s->pos;
}

uint64_t bstream_file_bytes(const bstream *s)
{
    return s->file_bytes;
}

void bstream_hash(bstream *s, uint8_t out[32])
{
    memcpy(out, s->hash, 32);
}

void bstream_close(bstream *s)
{
    if (!s) return;
    if (s->sha_on) bdbi_sha256_discard(&s->sha);
    if (s->zinit) inflateEnd(&s->z);
    if (s->fd >= 0) close(s->fd);
    free(s->in);
    free(s->buf);
    free(s->path);
    free(s);
}

/* ---- checked walk ---- */

typedef struct skbuf {
    uint8_t *p;
    size_t len, cap;
} skbuf;

static int walk_fail(char *err, size_t errcap, const char *msg)
{
    snprintf(err, errcap, "%s", msg);
    return -1;
}

int bucket_walk(const char *path, int (*fn)(void *ctx, const bucket_info *bi, const bucket_rec *r),
                void *ctx, bucket_info *info, char *err, size_t errcap)
{
    memset(info, 0, sizeof *info);
    info->meta_list = -1;
    bstream *s;
    if (bstream_open(path, 0, &s, err, errcap)) return -1;
    info->gzip = bstream_is_gzip(s);
    skbuf sk[2] = {{0}, {0}};
    int cur = -1, rc = 0;
    const uint8_t *body;
    size_t len;
    uint64_t at;
    int r;
    while ((r = bstream_next(s, &body, &len, &at)) == 1) {
        int64_t off = (int64_t)at + BDBI_RECORD_MARK_LEN;
        bucket_rec rec = {.offset = at, .record = body, .len = len};
        int first = info->records == 0;
        info->records++;
        if (first && len >= 4 && (int32_t)bdbi_be32(body) == BDB_METAENTRY) {
            /* the METAENTRY arm is the same in both record types */
            if (bdbi_record_parse(body, len, 0, path, off, &rec.parsed)) {
                rc = walk_fail(err, errcap, bdb_errmsg());
                break;
            }
            if (rec.parsed.ledger_version < BDB_PROTOCOL_INIT_META) {
                snprintf(err, errcap,
                         "%s: METAENTRY of protocol %u at offset 0: buckets have a METAENTRY from "
                         "protocol %d",
                         path, rec.parsed.ledger_version, BDB_PROTOCOL_INIT_META);
                rc = -1;
                break;
            }
            info->has_meta = 1;
            info->protocol = rec.parsed.ledger_version;
            info->meta_list = rec.parsed.list_type;
            info->hot = rec.parsed.list_type == BDB_LIST_HOT_ARCHIVE;
        } else {
            if (bdbi_record_parse(body, len, info->hot, path, off, &rec.parsed) ||
                bdbi_bucket_check_legal(info->hot, info->protocol, rec.parsed.type, body, len,
                                        BDB_EFORMAT, path, off)) {
                rc = walk_fail(err, errcap, bdb_errmsg());
                break;
            }
            int slot = cur == 0 ? 1 : 0;
            size_t need = BDB_SORT_KEY_BOUND(len);
            if (need > sk[slot].cap) {
                uint8_t *p = realloc(sk[slot].p, need);
                if (!p) {
                    rc = walk_fail(err, errcap, "out of memory");
                    break;
                }
                sk[slot].p = p;
                sk[slot].cap = need;
            }
            bdbi_sk_out o = {sk[slot].p, 0, sk[slot].cap};
            if (bdbi_record_sort_key(info->hot, rec.parsed.type, rec.parsed.body,
                                     rec.parsed.body_len, path, off + 4, &o)) {
                rc = walk_fail(err, errcap, bdb_errmsg());
                break;
            }
            if (cur >= 0 && bdbi_sk_cmp(o.p, o.len, sk[cur].p, sk[cur].len) <= 0) {
                snprintf(err, errcap,
                         "%s: the record at offset %llu has a key not greater than the previous "
                         "record's",
                         path, (unsigned long long)at);
                rc = -1;
                break;
            }
            sk[slot].len = o.len;
            cur = slot;
        }
        if (fn && (rc = fn(ctx, info, &rec)) != 0) break;
    }
    if (!rc && r < 0) rc = walk_fail(err, errcap, bstream_error(s));
    info->bytes = bstream_bytes(s);
    if (!rc) bstream_hash(s, info->hash);
    free(sk[0].p);
    free(sk[1].p);
    bstream_close(s);
    return rc;
}
