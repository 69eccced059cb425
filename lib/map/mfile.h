/* The bucket map's files (docs/map-files.md): names, the common header of
 * tables and data files, and the restart file. Pure encoding and checking;
 * no I/O except the restart file's read and write. */
#ifndef BDB_MAP_MFILE_H
#define BDB_MAP_MFILE_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"

#define BDBI_MFILE_HDR     4096u
#define BDBI_MFILE_VERSION 1u
#define BDBI_MFILE_TABLE   UINT32_MAX /* the size class of a table */
#define BDBI_MAP_CLASSES   21         /* data classes 0..20: up to 2^20 elements */
#define BDBI_MFILE_NAME    48         /* room for a file name and its NUL */

/* What a file's header says. */
typedef struct bdbi_mfile_info {
    uint64_t map_id;
    uint32_t shard;
    uint32_t cls; /* BDBI_MFILE_TABLE for a table */
    uint64_t gen;
    uint32_t key_size, elem_size, cell_size, flags;
    uint64_t capacity;
    uint64_t seed;  /* table */
    uint64_t count; /* table: occupied cells; data: cells in use */
    uint64_t aux;   /* table: 0; data: free-list head (index + 1) */
    uint64_t high;  /* data: high-water mark */
    uint32_t clean;
    uint64_t content_sum;
} bdbi_mfile_info;

/* Encodes `in` into the first BDBI_MFILE_HDR bytes at `hdr` (zeroing the
 * rest), with its header checksum. */
void bdbi_mfile_hdr_put(uint8_t *hdr, const bdbi_mfile_info *in);

/* Decodes the header of a file of `file_len` bytes. Returns 0, or a
 * static reason ("bad magic", "header checksum mismatch", ...) when the
 * header is not a valid one of its kind or the size does not match. */
const char *bdbi_mfile_hdr_get(const uint8_t *hdr, size_t file_len, int is_data,
                               bdbi_mfile_info *out);

/* XXH3 of a file's cells (everything after the header). */
uint64_t bdbi_mfile_content_sum(const uint8_t *file, size_t file_len);

/* The file name of shard/class/generation into name (BDBI_MFILE_NAME). */
void bdbi_mfile_name(char *name, uint32_t shard, uint32_t cls, uint64_t gen);

/* Parses a file name made by bdbi_mfile_name: 1 and the fields, or 0. */
int bdbi_mfile_parse_name(const char *name, uint32_t *shard, uint32_t *cls, uint64_t *gen);

/* The restart file's contents. */
typedef struct bdbi_mrestart_rec {
    uint32_t shard, cls;
    uint64_t gen;
} bdbi_mrestart_rec;

typedef struct bdbi_mrestart {
    uint32_t shards, key_size, elem_size, flags, max_search;
    uint64_t map_id, next_gen;
    size_t n; /* records */
    bdbi_mrestart_rec *recs;
} bdbi_mrestart;

/* Reads and checks the restart file `path`. Returns 0; BDB_ENOTFOUND if
 * it does not exist; BDB_EFORMAT / BDB_ECORRUPT with a message naming
 * the file and the problem; BDB_ENOMEM. Free with bdbi_mrestart_free. */
int bdbi_mrestart_read(bdb_env *env, const char *path, bdbi_mrestart *out);

/* Writes it atomically (temporary name, fsync unless nosync, rename). */
int bdbi_mrestart_write(bdb_env *env, const char *path, const bdbi_mrestart *r, int nosync);

void bdbi_mrestart_free(bdb_env *env, bdbi_mrestart *r);

#endif
