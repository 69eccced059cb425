#include "config.h"

#include "mfile.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"

static const uint8_t MAGIC_TABLE[8] = "BDBMAPT";
static const uint8_t MAGIC_DATA[8] = "BDBMAPD";
static const uint8_t MAGIC_RESTART[8] = "BDBMAPR";

#define HDR_SUMMED 112 /* bytes the header checksum covers */

void bdbi_mfile_hdr_put(uint8_t *h, const bdbi_mfile_info *in)
{
    memset(h, 0, BDBI_MFILE_HDR);
    memcpy(h, in->cls == BDBI_MFILE_TABLE ? MAGIC_TABLE : MAGIC_DATA, 8);
    bdbi_put_le32(h + 8, BDBI_MFILE_VERSION);
    bdbi_put_le32(h + 12, BDBI_MFILE_HDR);
    bdbi_put_le64(h + 16, in->map_id);
    bdbi_put_le32(h + 24, in->shard);
    bdbi_put_le32(h + 28, in->cls);
    bdbi_put_le64(h + 32, in->gen);
    bdbi_put_le32(h + 40, in->key_size);
    bdbi_put_le32(h + 44, in->elem_size);
    bdbi_put_le32(h + 48, in->cell_size);
    bdbi_put_le32(h + 52, in->flags);
    bdbi_put_le64(h + 56, in->capacity);
    bdbi_put_le64(h + 64, in->seed);
    bdbi_put_le64(h + 72, in->count);
    bdbi_put_le64(h + 80, in->aux);
    bdbi_put_le64(h + 88, in->high);
    bdbi_put_le32(h + 96, in->clean);
    bdbi_put_le64(h + 104, in->content_sum);
    bdbi_put_le64(h + HDR_SUMMED, bdbi_hash64(h, HDR_SUMMED, 0));
}

const char *bdbi_mfile_hdr_get(const uint8_t *h, size_t file_len, int is_data, bdbi_mfile_info *o)
{
    if (file_len < BDBI_MFILE_HDR) return "shorter than its header";
    if (memcmp(h, is_data ? MAGIC_DATA : MAGIC_TABLE, 8) != 0)
        return is_data ? "not a bucket map data file (bad magic)"
                       : "not a bucket map table file (bad magic)";
    if (bdbi_le64(h + HDR_SUMMED) != bdbi_hash64(h, HDR_SUMMED, 0))
        return "header checksum mismatch";
    if (bdbi_le32(h + 8) != BDBI_MFILE_VERSION) return "unknown format version";
    if (bdbi_le32(h + 12) != BDBI_MFILE_HDR) return "unknown header size";
    *o = (bdbi_mfile_info){
        .map_id = bdbi_le64(h + 16),
        .shard = bdbi_le32(h + 24),
        .cls = bdbi_le32(h + 28),
        .gen = bdbi_le64(h + 32),
        .key_size = bdbi_le32(h + 40),
        .elem_size = bdbi_le32(h + 44),
        .cell_size = bdbi_le32(h + 48),
        .flags = bdbi_le32(h + 52),
        .capacity = bdbi_le64(h + 56),
        .seed = bdbi_le64(h + 64),
        .count = bdbi_le64(h + 72),
        .aux = bdbi_le64(h + 80),
        .high = bdbi_le64(h + 88),
        .clean = bdbi_le32(h + 96),
        .content_sum = bdbi_le64(h + 104),
    };
    if ((o->cls == BDBI_MFILE_TABLE) == is_data) return "size class does not match the file kind";
    if (o->cell_size == 0 || o->cell_size % 8) return "bad cell size";
    if (o->capacity == 0 || o->capacity > (file_len - BDBI_MFILE_HDR) / o->cell_size ||
        BDBI_MFILE_HDR + o->capacity * o->cell_size != file_len)
        return "file size does not match its capacity";
    if (o->count > o->capacity) return "more entries than cells";
    if (is_data && (o->high > o->capacity || o->aux > o->high || o->count > o->high))
        return "free space out of range";
    return NULL;
}

uint64_t bdbi_mfile_content_sum(const uint8_t *file, size_t file_len)
{
    return bdbi_hash64(file + BDBI_MFILE_HDR, file_len - BDBI_MFILE_HDR, 0);
}

void bdbi_mfile_name(char *name, uint32_t shard, uint32_t cls, uint64_t gen)
{
    /* shards < 2^14 and classes < 100 keep the widths fixed */
    if (cls == BDBI_MFILE_TABLE)
        snprintf(name, BDBI_MFILE_NAME, "bdbmap-%05" PRIu32 "-t-%016" PRIx64, shard % 100000, gen);
    else
        snprintf(name, BDBI_MFILE_NAME, "bdbmap-%05" PRIu32 "-d%02" PRIu32 "-%016" PRIx64,
                 shard % 100000, cls % 100, gen);
}

static int digits(const char *s, size_t n, int hex, uint64_t *v)
{
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (hex && c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return 0;
        *v = *v * (hex ? 16 : 10) + d;
    }
    return 1;
}

int bdbi_mfile_parse_name(const char *name, uint32_t *shard, uint32_t *cls, uint64_t *gen)
{
    /* "bdbmap-" 5 digits "-t-" or "-dCC-" 16 hex digits */
    size_t len = strlen(name);
    uint64_t s, c, g;
    if (strncmp(name, "bdbmap-", 7) != 0 || len < 7 + 5 + 3 + 16) return 0;
    if (!digits(name + 7, 5, 0, &s) || name[12] != '-') return 0;
    const char *p = name + 13;
    if (p[0] == 't' && p[1] == '-' && len == 13 + 2 + 16) {
        c = BDBI_MFILE_TABLE;
        p += 2;
    } else if (p[0] == 'd' && len == 13 + 4 + 16 && p[3] == '-' && digits(p + 1, 2, 0, &c) &&
               c < BDBI_MAP_CLASSES) {
        p += 4;
    } else {
        return 0;
    }
    if (!digits(p, 16, 1, &g)) return 0;
    *shard = (uint32_t)s;
    *cls = (uint32_t)c;
    *gen = g;
    return 1;
}

/* ---- the restart file ---- */

#define RS_HEAD 56
#define RS_REC  16

int bdbi_mrestart_read(bdb_env *env, const char *path, bdbi_mrestart *r)
{
    memset(r, 0, sizeof *r);
    void *buf;
    size_t len;
    int rc = bdbi_fs_read_file(env, BDB_MEM_MAP, path, (size_t)64 << 20, &buf, &len);
    if (rc) return rc;
    const uint8_t *p = buf;
    const char *why = NULL;
    if (len < RS_HEAD + 8)
        why = "shorter than its header";
    else if (memcmp(p, MAGIC_RESTART, 8) != 0)
        why = "not a bucket map restart file (bad magic)";
    else if (bdbi_le64(p + len - 8) != bdbi_hash64(p, len - 8, 0))
        why = "checksum mismatch";
    else if (bdbi_le32(p + 8) != BDBI_MFILE_VERSION)
        why = "unknown format version";
    else if (bdbi_le64(p + 48) != (len - RS_HEAD - 8) / RS_REC || (len - RS_HEAD - 8) % RS_REC)
        why = "record count does not match the file size";
    if (why) {
        bdbi_free(env, BDB_MEM_MAP, buf, len ? len : 1);
        return bdbi_err_at(BDB_ECORRUPT, path, -1, "%s", why);
    }
    r->shards = bdbi_le32(p + 12);
    r->key_size = bdbi_le32(p + 16);
    r->elem_size = bdbi_le32(p + 20);
    r->flags = bdbi_le32(p + 24);
    r->max_search = bdbi_le32(p + 28);
    r->map_id = bdbi_le64(p + 32);
    r->next_gen = bdbi_le64(p + 40);
    r->n = (size_t)bdbi_le64(p + 48);
    if (r->n) {
        r->recs = bdbi_malloc(env, BDB_MEM_MAP, r->n * sizeof *r->recs);
        if (!r->recs) {
            bdbi_free(env, BDB_MEM_MAP, buf, len);
            return BDB_ENOMEM;
        }
    }
    for (size_t i = 0; i < r->n; i++) {
        const uint8_t *q = p + RS_HEAD + i * RS_REC;
        r->recs[i] = (bdbi_mrestart_rec){bdbi_le32(q), bdbi_le32(q + 4), bdbi_le64(q + 8)};
    }
    bdbi_free(env, BDB_MEM_MAP, buf, len);
    return 0;
}

int bdbi_mrestart_write(bdb_env *env, const char *path, const bdbi_mrestart *r, int nosync)
{
    size_t len = RS_HEAD + r->n * RS_REC + 8;
    uint8_t *p = bdbi_calloc(env, BDB_MEM_MAP, 1, len);
    if (!p) return BDB_ENOMEM;
    memcpy(p, MAGIC_RESTART, 8);
    bdbi_put_le32(p + 8, BDBI_MFILE_VERSION);
    bdbi_put_le32(p + 12, r->shards);
    bdbi_put_le32(p + 16, r->key_size);
    bdbi_put_le32(p + 20, r->elem_size);
    bdbi_put_le32(p + 24, r->flags);
    bdbi_put_le32(p + 28, r->max_search);
    bdbi_put_le64(p + 32, r->map_id);
    bdbi_put_le64(p + 40, r->next_gen);
    bdbi_put_le64(p + 48, r->n);
    for (size_t i = 0; i < r->n; i++) {
        uint8_t *q = p + RS_HEAD + i * RS_REC;
        bdbi_put_le32(q, r->recs[i].shard);
        bdbi_put_le32(q + 4, r->recs[i].cls);
        bdbi_put_le64(q + 8, r->recs[i].gen);
    }
    bdbi_put_le64(p + len - 8, bdbi_hash64(p, len - 8, 0));
    int rc = bdbi_fs_write_file(env, path, p, len, nosync ? BDBI_FS_NOSYNC : 0);
    bdbi_free(env, BDB_MEM_MAP, p, len);
    return rc;
}

void bdbi_mrestart_free(bdb_env *env, bdbi_mrestart *r)
{
    if (r->recs) bdbi_free(env, BDB_MEM_MAP, r->recs, r->n * sizeof *r->recs);
    memset(r, 0, sizeof *r);
}
