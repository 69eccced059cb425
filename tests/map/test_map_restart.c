/* The bucket map across close and reopen: without a restart file every
 * file is deleted (at close, and an earlier map's at open) and a temporary
 * drive is removed; with one, a reopened map has identical contents and
 * reports no discards, after close or after bdb_map_flush; and the files a
 * clean close leaves are decoded here, independently of the library, by
 * docs/map-files.md (headers, checksums with the system's XXH3, cells,
 * Robin Hood order, data cells and free lists, the restart file). */
#include "config.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "map_fixture.h"

TestSuite(map_restart, .init = map_setup, .fini = map_teardown, .timeout = 60);

static void put_file(const char *name, const char *text)
{
    char p[MT_PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    cr_assert_eq(mt_write_file(p, text, strlen(text)), 0);
}

static int has_file(const char *name, const char *text)
{
    char p[MT_PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    uint8_t *d;
    size_t n;
    if (mt_read_file(p, &d, &n)) return 0;
    int ok = n == strlen(text) && !memcmp(d, text, n);
    free(d);
    return ok;
}

static const char *const keep[] = {"keep.txt", "bdbmap-notes", "bdbmap-00001-t-xyz",
                                   "xbdbmap-00001-t-0000000000000001",
                                   "bdbmap-00001-t-00000000000000012"};

Test(map_restart, without_restart_file_files_are_deleted)
{
    for (int i = 0; i < 5; i++) put_file(keep[i], keep[i]);
    put_file("bdbmap-00001-t-0000000000000007", "an earlier map's table");
    put_file("bdbmap-00003-d02-00000000000000a0", "an earlier map's data file");
    bdb_map_options o;
    mopts(&o, 4);
    o.ref_counts = 1;
    bdb_map *m = mopen(&o);
    cr_assert_eq(mt_map_files(g_dir, NULL, 0), 0, "an earlier map's files are deleted at open");
    cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 0);
    mt_model md;
    std_fill(m, &md);
    expect_model(m, &md);
    cr_assert_gt(mt_map_files(g_dir, NULL, 0), 4);
    mclose(m);
    cr_assert_eq(mt_map_files(g_dir, NULL, 0), 0, "the map's files are deleted at close");
    for (int i = 0; i < 5; i++) cr_assert(has_file(keep[i], keep[i]), "%s was touched", keep[i]);
    m = mopen(&o);
    cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 0,
                 "nothing survives without a restart file");
    for (size_t i = 0; i < md.nkeys; i++) expect_absent(m, mt_key(&md, i));
    mclose(m);
    mt_model_free(&md);
}

/* n_drives 0: one new directory under $TMPDIR, removed at close. */
Test(map_restart, temporary_drive)
{
    char tmp[MT_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/tmp", g_dir);
    cr_assert_eq(mkdir(tmp, 0700), 0);
    setenv("TMPDIR", tmp, 1);
    bdb_map_options o;
    bdb_map_options_init(&o);
    o.max_buckets = 4;
    o.ref_counts = 1;
    o.fsync = 0;
    bdb_map *m = mopen(&o);
    mt_model md;
    std_fill(m, &md);
    expect_model(m, &md);
    DIR *d = opendir(tmp);
    struct dirent *e;
    int subdirs = 0;
    char sub[MT_PATH_MAX] = "";
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            subdirs++;
            if (snprintf(sub, sizeof sub, "%s/%s", tmp, e->d_name) >= (int)sizeof sub) sub[0] = 0;
        }
    closedir(d);
    cr_assert_eq(subdirs, 1, "%d entries in $TMPDIR", subdirs);
    cr_assert_gt(mt_map_files(sub, NULL, 0), 4, "the map's files are in %s", sub);
    mclose(m);
    cr_assert_not(mt_exists(sub), "%s is removed at close", sub);
    cr_assert_eq(mt_count_prefix(tmp, ""), 2, "only . and .. left in $TMPDIR");
    mt_model_free(&md);
}

Test(map_restart, reopen_with_restart_file)
{
    mt_model md;
    std_build(&md);
    cr_assert(mt_exists(g_restart), "close writes the restart file");
    bdb_map_options o;
    std_opts(&o);
    for (int round = 0; round < 3; round++) {
        bdb_map *m = mopen(&o);
        expect_no_discards(m);
        expect_model(m, &md);
        bdb_map_stats st = mstats(m);
        cr_assert_eq(st.total.count, mt_model_count(&md, BDB_MAP_ALL_SHARDS));
        uint64_t seed = 500 + (uint64_t)round;
        uint8_t v[9 * 16];
        for (size_t i = 0; i < md.nkeys; i += 1 + round) { /* change a third to all keys */
            if (mt_below(&seed, 5) == 0) {
                cr_assert_eq(bdb_map_delete(m, mt_key(&md, i)), md.v[i].present);
                mt_model_del(&md, i);
                continue;
            }
            size_t n = mt_below(&seed, 10);
            uint64_t ref = mt_below(&seed, 3);
            mt_fill(&seed, v, sizeof v);
            minsert(m, mt_key(&md, i), v, n, ref);
            mt_model_set(&md, i, v, n, ref);
        }
        expect_model(m, &md);
        mclose(m);
        for (uint32_t s = 0; s < 4; s++) {
            mt_file f;
            cr_assert_eq(mt_find_file(g_dir, s, -1, &f), 0, "shard %u has a table", s);
        }
    }
    bdb_map *m = mopen(&o);
    expect_no_discards(m);
    expect_model(m, &md);
    mclose(m);
    mt_model_free(&md);
}

/* An empty map's restart file names no file; reopening it is a plain
 * reuse (no discards), and so is a map emptied by deletes. */
Test(map_restart, empty_map_reopens)
{
    bdb_map_options o;
    std_opts(&o);
    mclose(mopen(&o));
    cr_assert(mt_exists(g_restart));
    bdb_map *m = mopen(&o);
    expect_no_discards(m);
    cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 0);
    uint8_t key[32] = {1}, v[16] = {2};
    minsert(m, key, v, 1, 1);
    cr_assert_eq(bdb_map_delete(m, key), 1);
    mclose(m);
    m = mopen(&o);
    expect_no_discards(m);
    expect_absent(m, key);
    mclose(m);
}

Test(map_restart, flush_then_reopen)
{
    bdb_map_options o;
    std_opts(&o);
    bdb_map *m = mopen(&o);
    mt_model md;
    std_fill(m, &md);
    cr_assert_eq(bdb_map_flush(m), 0, "%s", bdb_errmsg());
    cr_assert(mt_exists(g_restart), "flush writes the restart file");
    uint8_t v[3 * 16] = {1, 2, 3};
    for (size_t i = 260; i < 300; i++) {
        minsert(m, mt_key(&md, i), v, i % 4, 1);
        mt_model_set(&md, i, v, i % 4, 1);
    }
    cr_assert_eq(bdb_map_flush(m), 0);
    cr_assert_eq(bdb_map_flush(m), 0, "a flush with nothing changed");
    for (size_t i = 1; i < 300; i += 5) {
        cr_assert_eq(bdb_map_delete(m, mt_key(&md, i)), md.v[i].present);
        mt_model_del(&md, i);
    }
    expect_model(m, &md);
    mclose(m);
    m = mopen(&o);
    expect_no_discards(m);
    expect_model(m, &md);
    cr_assert_eq(bdb_map_flush(m), 0);
    mclose(m);
    mt_model_free(&md);

    /* flush without a restart file, and on an empty map */
    mopts(&o, 2);
    m = mopen(&o);
    cr_assert_eq(bdb_map_flush(m), 0);
    minsert(m, v, v, 1, 1);
    cr_assert_eq(bdb_map_flush(m), 0);
    mclose(m);
}

/* ---- the files of a cleanly closed map, decoded here ---- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct dfile {
    uint8_t *b;
    size_t len;
    uint64_t cap, cell;
    uint8_t *used; /* data cells referenced by a table cell */
} dfile;

static void check_header(const uint8_t *b, size_t len, const mt_file *f, uint64_t identity,
                         uint64_t cell)
{
    const char *magic = f->cls < 0 ? "BDBMAPT" : "BDBMAPD";
    cr_assert_geq(len, 4096, "%s", f->name);
    cr_assert_arr_eq(b, magic, 8, "%s: magic", f->name);
    cr_assert_eq(le32(b + 8), 1, "%s: version", f->name);
    cr_assert_eq(le32(b + 12), 4096, "%s: header size", f->name);
    cr_assert_eq(mt_le64(b + 16), identity, "%s: identity", f->name);
    cr_assert_eq(le32(b + 24), f->shard, "%s: shard", f->name);
    cr_assert_eq(le32(b + 28), f->cls < 0 ? 0xFFFFFFFFu : (uint32_t)f->cls, "%s: class", f->name);
    cr_assert_eq(mt_le64(b + 32), f->gen, "%s: generation", f->name);
    cr_assert_eq(le32(b + 40), 32, "%s: key size", f->name);
    cr_assert_eq(le32(b + 44), 16, "%s: element size", f->name);
    cr_assert_eq(le32(b + 48), cell, "%s: cell size", f->name);
    cr_assert_eq(le32(b + 52), 1, "%s: flags (ref counts)", f->name);
    cr_assert_eq(4096 + mt_le64(b + 56) * cell, len, "%s: capacity x cell + header", f->name);
    cr_assert_eq(le32(b + 96), 1, "%s: clean", f->name);
    cr_assert_eq(le32(b + 100), 0, "%s", f->name);
    cr_assert_eq(mt_le64(b + 104), XXH3_64bits(b + 4096, len - 4096), "%s: content checksum",
                 f->name);
    cr_assert_eq(mt_le64(b + 112), XXH3_64bits(b, 112), "%s: header checksum", f->name);
    for (size_t i = 120; i < 4096; i++) cr_assert_eq(b[i], 0, "%s: header byte %zu", f->name, i);
}

/* State word (docs/map-files.md): tag 0-1, busy 2, inline count 3, class
 * 4-8, data cell 9-38, distance from home 39-46, sequence 47-63. */
#define ST_CLS(w)  ((unsigned)(((w) >> 4) & 31))
#define ST_IDX(w)  (((w) >> 9) & 0x3FFFFFFFull)
#define ST_DIST(w) ((unsigned)(((w) >> 39) & 255))

static void check_table(const mt_model *md, uint32_t s, const uint8_t *b, size_t len,
                        dfile data[64], uint32_t max_search)
{
    uint64_t cap = mt_le64(b + 56), seed = mt_le64(b + 64), occupied = 0;
    cr_assert_gt(cap, 0);
    cr_assert_eq(cap & (cap - 1), 0, "shard %u: capacity %llu", s, (unsigned long long)cap);
    unsigned lg = 0;
    while ((1ull << lg) < cap) lg++;
    uint8_t *seen = calloc(md->nkeys, 1);
    for (uint64_t i = 0; i < cap; i++) {
        const uint8_t *c = b + 4096 + i * 56;
        uint64_t w = mt_le64(c);
        unsigned tag = w & 3;
        cr_assert_eq((w >> 2) & 1, 0, "shard %u cell %llu busy", s, (unsigned long long)i);
        cr_assert_neq(tag, 1, "shard %u cell %llu: tag 1 is not used", s, (unsigned long long)i);
        if (tag == 0) continue;
        occupied++;
        long k = mt_model_find(md, c + 8);
        cr_assert_geq(k, 0, "shard %u cell %llu: a key not in the model", s, (unsigned long long)i);
        const mt_val *v = &md->v[k];
        cr_assert(v->present && md->shard[k] == s && !seen[k], "shard %u: key %ld", s, k);
        seen[k] = 1;
        /* Robin Hood: at the recorded distance from home, within the window,
         * at most one further than the previous cell's key, at home after
         * an empty cell */
        uint64_t home = lg ? XXH3_64bits_withSeed(c + 8, 32, seed) >> (64 - lg) : 0;
        uint64_t dist = (i - home) & (cap - 1);
        cr_assert_eq(ST_DIST(w), dist, "key %ld: distance %u recorded, %llu from its home", k,
                     ST_DIST(w), (unsigned long long)dist);
        cr_assert_lt(dist, max_search, "key %ld: %llu cells from home", k,
                     (unsigned long long)dist);
        uint64_t pw = mt_le64(b + 4096 + ((i - 1) & (cap - 1)) * 56);
        if ((pw & 3) == 0)
            cr_assert_eq(dist, 0, "key %ld after an empty cell, %llu from home", k,
                         (unsigned long long)dist);
        else
            cr_assert_leq(dist, ST_DIST(pw) + 1, "key %ld: distance %llu after one of %u", k,
                          (unsigned long long)dist, ST_DIST(pw));
        if (tag == 2) {
            cr_assert(v->ref == 1 && v->n <= 1, "key %ld inline with %zu elements ref %llu", k,
                      v->n, (unsigned long long)v->ref);
            cr_assert_eq((w >> 3) & 1, v->n, "key %ld: inline count", k);
            if (v->n) cr_assert_arr_eq(c + 40, v->slots, 16, "key %ld: inline element", k);
            continue;
        }
        cr_assert(v->ref != 1 || v->n > 1, "key %ld (n %zu, ref 1) not inline", k, v->n);
        unsigned cls = ST_CLS(w);
        uint64_t ix = ST_IDX(w);
        dfile *d = &data[cls];
        cr_assert_not_null(d->b, "key %ld: class %u has no data file", k, cls);
        cr_assert_lt(ix, d->cap, "key %ld: data cell %llu of %llu", k, (unsigned long long)ix,
                     (unsigned long long)d->cap);
        cr_assert_not(d->used[ix], "data cell %llu used twice", (unsigned long long)ix);
        d->used[ix] = 1;
        const uint8_t *dc = d->b + 4096 + ix * d->cell;
        uint64_t h = mt_le64(dc);
        cr_assert_eq(h & 1, 1, "key %ld: data cell not in use", k);
        cr_assert_eq(h >> 1, v->n, "key %ld: data cell count", k);
        cr_assert_leq(v->n, 1ull << cls);
        cr_assert_eq(mt_le64(dc + 8), v->ref, "key %ld: ref count", k);
        if (v->n) cr_assert_arr_eq(dc + 16, v->slots, v->n * 16, "key %ld: elements", k);
    }
    cr_assert_eq(occupied, mt_model_count(md, s), "shard %u occupied cells", s);
    cr_assert_leq(occupied * 8, cap * 7, "shard %u: more than 7/8 full", s);
    cr_assert_eq(mt_le64(b + 72), occupied, "shard %u: header's occupied count", s);
    cr_assert_eq(mt_le64(b + 80), 0);
    cr_assert_eq(mt_le64(b + 88), 0);
    (void)len;
    free(seen);
}

static void check_data(uint32_t s, unsigned cls, const dfile *d)
{
    const uint8_t *b = d->b;
    uint64_t in_use = 0, head = mt_le64(b + 80), hwm = mt_le64(b + 88);
    cr_assert_eq(mt_le64(b + 64), 0);
    cr_assert_leq(hwm, d->cap, "shard %u class %u: high-water mark", s, cls);
    uint8_t *on_list = calloc(d->cap + 1, 1);
    for (uint64_t f = head; f;) {
        cr_assert_leq(f, hwm, "shard %u class %u: free cell %llu at or above the mark", s, cls,
                      (unsigned long long)(f - 1));
        cr_assert_not(on_list[f - 1], "free list cycle");
        on_list[f - 1] = 1;
        const uint8_t *c = b + 4096 + (f - 1) * d->cell;
        cr_assert_eq(mt_le64(c) & 1, 0, "a free-list cell in use");
        f = mt_le64(c + 8);
    }
    for (uint64_t i = 0; i < d->cap; i++) {
        int used = mt_le64(b + 4096 + i * d->cell) & 1;
        in_use += (uint64_t)used;
        cr_assert_eq(used, d->used[i], "shard %u class %u cell %llu: in use %d, referenced %d", s,
                     cls, (unsigned long long)i, used, d->used[i]);
        if (i >= hwm) cr_assert_not(used, "a cell above the high-water mark in use");
        if (i < hwm)
            cr_assert(used || on_list[i], "free cell %llu below the mark not on the list",
                      (unsigned long long)i);
    }
    cr_assert_eq(mt_le64(b + 72), in_use, "shard %u class %u: cells in use", s, cls);
    free(on_list);
}

Test(map_restart, files_follow_the_format)
{
    mt_model md;
    std_build(&md);
    mt_file fs[MT_MAX_FILES];
    size_t nf = mt_map_files(g_dir, fs, MT_MAX_FILES);
    uint8_t *r;
    size_t rlen;
    cr_assert_eq(mt_read_file(g_restart, &r, &rlen), 0);
    cr_assert_geq(rlen, 64);
    cr_assert_arr_eq(r, "BDBMAPR", 8);
    cr_assert_eq(le32(r + 8), 1);
    cr_assert_eq(le32(r + 12), 4);
    cr_assert_eq(le32(r + 16), 32);
    cr_assert_eq(le32(r + 20), 16);
    cr_assert_eq(le32(r + 24), 1);
    cr_assert_eq(le32(r + 28), 32);
    uint64_t identity = mt_le64(r + 32), next_gen = mt_le64(r + 40), nrec = mt_le64(r + 48);
    cr_assert_eq(rlen, 56 + 16 * nrec + 8, "restart file of %zu bytes for %llu records", rlen,
                 (unsigned long long)nrec);
    cr_assert_eq(mt_le64(r + rlen - 8), XXH3_64bits(r, rlen - 8), "restart file checksum");
    cr_assert_eq(nrec, nf, "%llu records, %zu files in the drive", (unsigned long long)nrec, nf);
    for (uint64_t i = 0; i < nrec; i++) {
        const uint8_t *rec = r + 56 + 16 * i;
        int found = 0;
        for (size_t j = 0; j < nf; j++)
            found |= fs[j].shard == le32(rec) && fs[j].gen == mt_le64(rec + 8) &&
                     (fs[j].cls < 0 ? le32(rec + 4) == 0xFFFFFFFFu
                                    : le32(rec + 4) == (uint32_t)fs[j].cls);
        cr_assert(found, "record %llu names no file", (unsigned long long)i);
    }
    for (uint32_t s = 0; s < 4; s++) {
        dfile data[64];
        memset(data, 0, sizeof data);
        const uint8_t *table = NULL;
        size_t tlen = 0;
        uint8_t *bufs[MT_MAX_FILES];
        size_t nb = 0;
        for (size_t j = 0; j < nf; j++) {
            if (fs[j].shard != s) continue;
            cr_assert_lt(fs[j].gen, next_gen, "%s", fs[j].name);
            uint8_t *b;
            size_t len;
            cr_assert_eq(mt_read_file(fs[j].path, &b, &len), 0);
            bufs[nb++] = b;
            uint64_t cell = fs[j].cls < 0 ? 56 : 16 + ((uint64_t)16 << fs[j].cls);
            check_header(b, len, &fs[j], identity, cell);
            if (fs[j].cls < 0) {
                cr_assert_null(table, "shard %u: two tables", s);
                table = b, tlen = len;
            } else {
                cr_assert_lt(fs[j].cls, 64);
                cr_assert_null(data[fs[j].cls].b, "two data files of one class");
                data[fs[j].cls] = (dfile){b, len, mt_le64(b + 56), cell, NULL};
                data[fs[j].cls].used = calloc(mt_le64(b + 56) + 1, 1);
            }
        }
        cr_assert_not_null(table, "shard %u: no table", s);
        check_table(&md, s, table, tlen, data, 32);
        for (unsigned c = 0; c < 64; c++)
            if (data[c].b) check_data(s, c, &data[c]);
        for (unsigned c = 0; c < 64; c++) free(data[c].used);
        for (size_t j = 0; j < nb; j++) free(bufs[j]);
    }
    free(r);
    mt_model_free(&md);
}

/* A growth keeps the shard's hash seed, and the rebuild, which streams the
 * old table into the new one in the order of the keys' homes, leaves a
 * valid Robin Hood table: one shard, a window of 4 cells (so clusters wrap
 * the table's end and rebuilds overflow windows), deletes between growths. */
Test(map_restart, growth_keeps_the_seed_and_the_order)
{
    bdb_map_options o;
    mopts(&o, 1);
    o.max_search = 4;
    o.seed = 0; /* a random seed per shard, so that a new one would show */
    snprintf(g_restart, sizeof g_restart, "%s/map.restart", g_dir);
    o.restart_config_file = g_restart;
    bdb_map *m = mopen(&o);
    mt_model md;
    cr_assert_eq(mt_model_init(&md, 4000, 32, 16, 1, 0, 77), 0);
    uint64_t seed = 5;
    uint8_t v[16];
    mt_fill(&seed, v, sizeof v);
    minsert(m, mt_key(&md, 0), v, 1, 1);
    mt_model_set(&md, 0, v, 1, 1);
    mt_file f;
    uint8_t *b;
    size_t len;
    cr_assert_eq(mt_find_file(g_dir, 0, -1, &f), 0, "the first insert creates the table");
    cr_assert_eq(mt_read_file(f.path, &b, &len), 0);
    uint64_t seed0 = mt_le64(b + 64);
    free(b);
    for (size_t i = 1; i < md.nkeys; i++) {
        mt_fill(&seed, v, sizeof v);
        minsert(m, mt_key(&md, i), v, 1, 1);
        mt_model_set(&md, i, v, 1, 1);
        if (i % 7 == 0) {
            size_t k = mt_below(&seed, i);
            cr_assert_eq(bdb_map_delete(m, mt_key(&md, k)), md.v[k].present);
            mt_model_del(&md, k);
        }
    }
    cr_assert_geq(sstats(m, 0).table_grows, 6);
    expect_model(m, &md);
    mclose(m);
    cr_assert_eq(mt_find_file(g_dir, 0, -1, &f), 0);
    cr_assert_eq(mt_read_file(f.path, &b, &len), 0);
    cr_assert_eq(mt_le64(b + 64), seed0, "the table's seed changed with growth");
    dfile data[64];
    memset(data, 0, sizeof data);
    check_table(&md, 0, b, len, data, 4);
    free(b);
    m = mopen(&o);
    expect_no_discards(m);
    expect_model(m, &md);
    mclose(m);
    mt_model_free(&md);
}
