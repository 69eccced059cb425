/* libFuzzer target for the bucket reader (configure --enable-fuzzing; run
 * with `make fuzz`). The input is read as a whole bucket file: live and
 * hot-archive, fully validated and trusted. Besides memory errors and
 * undefined behaviour, it checks that the reader ends cleanly or with
 * BDB_EFORMAT, that every entry it returns lies inside the input with
 * strictly increasing sort keys, and that the trusted and the validating
 * modes agree on the entries of a valid file, and that the streaming
 * reader (archives' gzipped buckets are read with it) agrees with the
 * mapped one: the same entries, or both refuse. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bucket/bucket.h"
#include "bucketdb/bucket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, int line) __attribute__((noreturn));

static void fail(const char *what, int line)
{
    fprintf(stderr, "fuzz_bucket.c:%d: check failed: %s\n  last error: %s\n", line, what,
            bdb_errmsg());
    abort();
}

#define CHECK(c) ((c) ? (void)0 : fail(#c, __LINE__))

static bdb_env *env;

/* Reads the whole bucket; returns the entry count or the error code. */
static long read_all(const uint8_t *buf, size_t size, int hot, int flags)
{
    bdb_bucket_reader *r;
    int rc = bdbi_bucket_reader_open_mem(env, "fuzz", buf, size, hot, flags, &r);
    if (rc) {
        CHECK(rc == BDB_EFORMAT);
        return rc;
    }
    long n = 0;
    uint8_t prev[4096];
    size_t prev_len = 0;
    bdb_bucket_item it;
    while ((rc = bdb_bucket_reader_next(r, &it)) == 1) {
        CHECK(it.record >= buf && it.record + it.record_len <= buf + size);
        CHECK(it.offset + 4 + it.record_len <= size);
        if (n && it.sort_key_len <= sizeof prev)
            CHECK(bdbi_sk_cmp(prev, prev_len, it.sort_key, it.sort_key_len) < 0);
        if (it.sort_key_len <= sizeof prev) {
            memcpy(prev, it.sort_key, it.sort_key_len);
            prev_len = it.sort_key_len;
        }
        n++;
    }
    CHECK(rc == 0 || rc == BDB_EFORMAT);
    bdb_bucket_reader_close(r);
    return rc ? rc : n;
}

/* The same through the streaming reader, from a memory file. */
static long stream_all(int fd, int hot)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    bdbi_bstream *s;
    if (bdbi_bstream_open(env, path, hot, 0, &s)) abort();
    long n = 0;
    int rc;
    bdb_bucket_item it;
    while ((rc = bdbi_bstream_next(s, &it, NULL)) == 1) n += it.type != BDB_METAENTRY;
    CHECK(rc == 0 || rc == BDB_EFORMAT);
    bdbi_bstream_close(s);
    return rc ? rc : n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!env) {
        bdb_env_options o;
        bdb_env_options_init(&o);
        o.threads = 1;
        if (bdb_env_open(&o, &env)) abort();
    }
    /* an exact-size heap copy, so reads past the end are caught */
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    for (int hot = 0; hot < 2; hot++) {
        long full = read_all(buf, size, hot, 0);
        long trusted = read_all(buf, size, hot, BDB_READ_TRUSTED);
        /* what full validation accepts, the trusted mode reads the same */
        if (full >= 0) CHECK(trusted == full);
        /* a gzip magic makes the stream inflate: only plain inputs compare */
        if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) continue;
        int fd = memfd_create("fuzz", 0);
        if (fd < 0 || write(fd, buf, size) != (ssize_t)size) abort();
        long streamed = stream_all(fd, hot);
        close(fd);
        CHECK((full >= 0) == (streamed >= 0));
        if (full >= 0) CHECK(streamed == full);
    }
    free(buf);
    return 0;
}
