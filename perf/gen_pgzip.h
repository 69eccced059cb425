/* Parallel gzip of one file, as pigz does it: the input is cut into
 * fixed blocks, each deflated on its own thread with the 32 KiB before it
 * as dictionary and ended on a byte boundary (a sync flush), and the
 * pieces are joined into one gzip member with the combined CRC-32. The
 * output depends only on the input and the level, never on the threads'
 * timing. It exists because one deflate stream runs at ~25 MB/s here and
 * the deepest bucket holds nearly all of an archive's bytes, so the
 * library's bdb_bucket_gzip (one stream) would leave the other core idle
 * for most of the run. */
#ifndef BDB_PERF_GEN_PGZIP_H
#define BDB_PERF_GEN_PGZIP_H

#include <stdint.h>

/* Compresses `src` into `dst` (written as dst + ".tmp", then renamed)
 * with `threads` threads at `level` (1..9); fsyncs it when asked.
 * Stores the output's size in *gz_bytes. Returns 0, or -1 with errno. */
int gen_pgzip(const char *src, const char *dst, int level, unsigned threads, int fsync,
              uint64_t *gz_bytes);

#endif
