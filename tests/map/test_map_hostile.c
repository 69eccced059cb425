/* The bucket map reopened over damaged files (map.h bdb_map_open,
 * docs/map-files.md "Validation at open"). After a clean close with a
 * restart file, one file is damaged: truncated or extended, a bit flipped
 * in its cells or header, fields forged with valid checksums (computed
 * here with the system's XXH3), a file of another map put in its place, a
 * file missing; or the restart file is damaged or written for other
 * options; or stray files named like the map's appear. Every reopen must
 * succeed; the shards concerned (every shard for the restart file) are
 * discarded, empty, their files deleted and reported with a reason naming
 * the problem; the other shards keep their contents exactly; files that
 * are not the map's are never touched; and the map then works and
 * restarts cleanly. Runs under ASan in sanitizer builds. */
#include "config.h"

#include <string.h> /* strcasestr (_GNU_SOURCE from config.h) */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "map_fixture.h"

TestSuite(map_hostile, .init = map_setup, .fini = map_teardown, .timeout = 60);

static mt_model g_md;
static const char g_notes[] = "not the map's: never touched";

/* A clean directory holding the standard map (closed) and a foreign file. */
static void fresh(void)
{
    mt_rmtree(g_dir);
    cr_assert_eq(mkdir(g_dir, 0700), 0);
    mt_model_free(&g_md);
    std_build(&g_md);
    char p[MT_PATH_MAX];
    snprintf(p, sizeof p, "%s/notes.txt", g_dir);
    cr_assert_eq(mt_write_file(p, g_notes, sizeof g_notes), 0);
}

static mt_file file_of(uint32_t shard, int cls)
{
    mt_file f;
    cr_assert_eq(mt_find_file(g_dir, shard, cls, &f), 0, "shard %u has no file of class %d", shard,
                 cls);
    return f;
}

/* ---- forging, with the checksums of docs/map-files.md ---- */

static void put_at(const char *path, int64_t off, const void *p, size_t n)
{
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, p, n, off), (ssize_t)n);
    close(fd);
}

static void put64(const char *path, int64_t off, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    put_at(path, off, b, 8);
}

static void put32(const char *path, int64_t off, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i));
    put_at(path, off, b, 4);
}

static uint64_t get64(const char *path, int64_t off)
{
    uint8_t *b = NULL;
    size_t n = 0;
    cr_assert_eq(mt_read_file(path, &b, &n), 0);
    cr_assert_leq((size_t)off + 8, n);
    uint64_t v = mt_le64(b + off);
    free(b);
    return v;
}

/* Recomputes the content and header checksums, so that only the forged
 * field is wrong. */
static void reseal(const char *path)
{
    uint8_t *b = NULL;
    size_t n = 0;
    cr_assert_eq(mt_read_file(path, &b, &n), 0);
    uint64_t c = XXH3_64bits(b + 4096, n - 4096);
    for (int i = 0; i < 8; i++) b[104 + i] = (uint8_t)(c >> (8 * i));
    uint64_t h = XXH3_64bits(b, 112);
    for (int i = 0; i < 8; i++) b[112 + i] = (uint8_t)(h >> (8 * i));
    cr_assert_eq(mt_write_file(path, b, n), 0);
    free(b);
}

/* The first table cell of `f` with tag `tag` (2 inline, 3 data). */
static int64_t find_cell(const mt_file *f, unsigned tag, uint64_t *state)
{
    uint8_t *b = NULL;
    size_t n = 0;
    cr_assert_eq(mt_read_file(f->path, &b, &n), 0);
    uint64_t cell = mt_le64(b + 48) & 0xFFFFFFFFu; /* u32 cell size */
    for (size_t off = 4096; off + cell <= n; off += cell)
        if ((mt_le64(b + off) & 3) == tag) {
            *state = mt_le64(b + off);
            free(b);
            return (int64_t)off;
        }
    free(b);
    cr_assert_fail("%s has no cell with tag %u", f->name, tag);
    return -1;
}

/* The first data cell in use of data file `path`. */
static int64_t find_data_cell(const char *path)
{
    uint8_t *b = NULL;
    size_t n = 0;
    cr_assert_eq(mt_read_file(path, &b, &n), 0);
    uint64_t cell = mt_le64(b + 48) & 0xFFFFFFFFu; /* u32 cell size */
    for (size_t off = 4096; off + cell <= n; off += cell)
        if (mt_le64(b + off) & 1) {
            free(b);
            return (int64_t)off;
        }
    free(b);
    cr_assert_fail("%s has no cell in use", path);
    return -1;
}

/* ---- the reopen and what must hold after it ---- */

typedef struct expect {
    uint8_t victims[4];       /* shards to be discarded */
    int all;                  /* every shard (the restart file is bad or missing) */
    int restart_report;       /* the restart file is reported (shard BDB_MAP_ALL_SHARDS) */
    const char *damaged;      /* the file damaged (reported, reason with a word of `words`) */
    const char *words[10];    /* any one of these, case-insensitive */
    const char *missing;      /* a file deleted by the test */
    const char *strays[4];    /* names that must be deleted and reported, shards kept */
    const bdb_map_options *o; /* reopen options (NULL: the standard ones) */
} expect;

static int reported_name(const char names[][96], size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return 1;
    return 0;
}

static void reopen_check(const expect *e)
{
    static mt_file before[MT_MAX_FILES];
    size_t nb = mt_map_files(g_dir, before, MT_MAX_FILES);
    bdb_map_options std;
    std_opts(&std);
    const bdb_map_options *o = e->o ? e->o : &std;
    bdb_map *m = mopen(o);

    size_t nd = mt_n_discarded(m), n = 12345;
    bdb_map_discard d;
    cr_assert_eq(bdb_map_discarded(m, 0, &d, &n), nd > 0);
    cr_assert_eq(n, nd, "*n %zu, %zu reports", n, nd);
    cr_assert_eq(bdb_map_discarded(m, nd, &d, NULL), 0, "past the end");
    static char names[MT_MAX_FILES][96];
    int damaged_seen = 0, restart_seen = 0, victim_seen[4] = {0};
    for (size_t k = 0; k < nd && k < MT_MAX_FILES; k++) {
        cr_assert_eq(bdb_map_discarded(m, k, &d, NULL), 1);
        cr_assert(d.path && d.path[0], "report %zu without a path", k);
        cr_assert(d.reason && d.reason[0], "report %zu (%s) without a reason", k, d.path);
        const char *base = mt_base(d.path);
        snprintf(names[k], sizeof names[k], "%s", base);
        int stray = 0;
        for (int i = 0; i < 4 && e->strays[i]; i++) stray |= !strcmp(e->strays[i], base);
        if (stray) {
            /* any shard number: BDB_MAP_ALL_SHARDS for a shard the map lacks */
        } else if (d.shard == BDB_MAP_ALL_SHARDS) {
            cr_assert(e->restart_report, "unexpected report of %s: %s", d.path, d.reason);
            cr_assert_str_eq(d.path, g_restart);
            restart_seen = 1;
        } else {
            cr_assert(e->all || (d.shard < 4 && e->victims[d.shard]),
                      "shard %u was not damaged, yet %s is reported: %s", d.shard, d.path,
                      d.reason);
            if (d.shard < 4) victim_seen[d.shard] = 1;
        }
        int named = e->damaged && !strcmp(base, mt_base(e->damaged));
        if (e->missing && !strcmp(base, mt_base(e->missing))) named = 1;
        if (named) damaged_seen = 1;
        if (named && e->words[0]) {
            int ok = 0;
            for (int i = 0; i < 10 && e->words[i]; i++)
                ok |= strcasestr(d.reason, e->words[i]) != 0;
            cr_assert(ok, "the reason for %s does not name the problem (%s...): \"%s\"", base,
                      e->words[0], d.reason);
        }
    }
    if (e->damaged) cr_assert(damaged_seen, "%s is not reported", mt_base(e->damaged));
    if (e->restart_report) cr_assert(restart_seen, "the restart file is not reported");
    for (uint32_t s = 0; s < 4; s++)
        if (e->victims[s])
            cr_assert(victim_seen[s], "no report for shard %u, which was damaged", s);

    /* files: those of discarded shards and strays are gone and reported */
    for (size_t j = 0; j < nb; j++) {
        int stray = 0;
        for (int i = 0; i < 4 && e->strays[i]; i++) stray |= !strcmp(e->strays[i], before[j].name);
        int lost = stray || e->all || (before[j].shard < 4 && e->victims[before[j].shard]);
        if (lost) {
            cr_assert_not(mt_exists(before[j].path), "%s is left", before[j].name);
            cr_assert(reported_name(names, nd, before[j].name), "%s deleted but not reported",
                      before[j].name);
        } else {
            cr_assert(mt_exists(before[j].path), "%s of a good shard is gone", before[j].name);
        }
    }
    char p[MT_PATH_MAX];
    uint8_t *b;
    size_t bn;
    snprintf(p, sizeof p, "%s/notes.txt", g_dir);
    cr_assert_eq(mt_read_file(p, &b, &bn), 0, "notes.txt is gone");
    cr_assert(bn == sizeof g_notes && !memcmp(b, g_notes, bn), "notes.txt was changed");
    free(b);

    /* contents: discarded shards empty, the others exact */
    if (e->o) {
        cr_assert_eq(bdb_map_count(m, BDB_MAP_ALL_SHARDS), 0);
        mclose(m);
        m = mopen(o); /* restarts cleanly with the new options */
        cr_assert_eq(mt_n_discarded(m), 0);
        mclose(m);
        return;
    }
    char why[512];
    for (uint32_t s = 0; s < 4; s++) {
        if (e->all || e->victims[s]) {
            cr_assert_eq(bdb_map_count(m, s), 0, "discarded shard %u", s);
            for (size_t i = 0; i < g_md.nkeys; i++)
                if (g_md.shard[i] == s) mt_model_del(&g_md, i);
        }
        cr_assert_eq(mt_check_shard(m, &g_md, s, why, sizeof why), 0, "shard %u: %s", s, why);
    }
    /* the map works on, and restarts without discards */
    uint8_t v[3 * 16] = {4, 5, 6};
    for (size_t i = 0; i < g_md.nkeys; i += 7) {
        minsert(m, mt_key(&g_md, i), v, i % 4, 1 + i % 2);
        mt_model_set(&g_md, i, v, i % 4, 1 + i % 2);
    }
    expect_model(m, &g_md);
    mclose(m);
    m = mopen(o);
    cr_assert_eq(mt_n_discarded(m), 0);
    expect_model(m, &g_md);
    mclose(m);
}

#define SIZE_WORDS                                                                                 \
    {                                                                                              \
        "size", "short", "truncat", "length", "capacity"                                           \
    }

/* (a) a table truncated or extended */
Test(map_hostile, table_truncated)
{
    int64_t cut[] = {-56, -1, +1, 4096, 100, 0};
    for (int i = 0; i < 6; i++) {
        fresh();
        mt_file f = file_of(1, -1);
        int64_t size = mt_file_size(f.path);
        int64_t to = i < 3 ? size + cut[i] : cut[i];
        cr_assert_eq(truncate(f.path, to), 0);
        reopen_check(&(expect){.victims = {0, 1}, .damaged = f.path, .words = SIZE_WORDS});
    }
}

/* (b) a bit flipped in a table's cells: the content checksum */
Test(map_hostile, table_cells_bit_flip)
{
    for (int i = 0; i < 3; i++) {
        fresh();
        mt_file f = file_of(2, -1);
        int64_t size = mt_file_size(f.path);
        int64_t off = i == 0 ? 4096 : i == 1 ? 4096 + (size - 4096) / 2 : size - 1;
        cr_assert_eq(mt_flip_bit(f.path, off, i * 3), 0);
        reopen_check(&(expect){.victims = {0, 0, 1}, .damaged = f.path, .words = {"checksum"}});
    }
}

/* (c) a bit flipped in a table's header: the header checksum */
Test(map_hostile, table_header_bit_flip)
{
    int offs[] = {0, 8, 12, 16, 24, 28, 32, 40, 44, 48, 52, 56, 64, 72, 80, 88, 96, 104, 112, 119};
    for (int i = 0; i < 20; i++) {
        fresh();
        mt_file f = file_of(3, -1);
        cr_assert_eq(mt_flip_bit(f.path, offs[i], i % 8), 0);
        reopen_check(&(expect){.victims = {0, 0, 0, 1},
                               .damaged = f.path,
                               .words = {"header", "checksum", "magic", "version"}});
    }
}

/* Header fields forged with both checksums valid: each check of the
 * validation must hold on its own. */
Test(map_hostile, table_header_forged)
{
    struct {
        int off, width;
        uint64_t value; /* 0: flip the low bit of the field */
        const char *words[6];
    } f[] = {
        {96, 4, 0, {"clean", "closed"}},
        {16, 8, 0, {"identity", "another map", "foreign"}},
        {24, 4, 2, {"shard"}},
        {32, 8, 0, {"generation"}},
        {40, 4, 20, {"key"}},
        {44, 4, 8, {"element"}},
        {52, 4, 0, {"ref"}},
        {56, 8, 0, SIZE_WORDS},
        {72, 8, 0, {"count", "entries", "occupied"}},
        {8, 4, 2, {"version"}},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        fresh();
        mt_file t = file_of(1, -1);
        uint64_t cur = get64(t.path, f[i].off);
        uint64_t v = f[i].value ? f[i].value : cur ^ 1;
        if (f[i].width == 4)
            put32(t.path, f[i].off, (uint32_t)v);
        else
            put64(t.path, f[i].off, v);
        reseal(t.path);
        expect e = {.victims = {0, 1}, .damaged = t.path};
        for (int w = 0; w < 6; w++) e.words[w] = f[i].words[w];
        reopen_check(&e);
    }
}

/* Cells forged with valid checksums: they must decode (docs/map-files.md
 * "Its cells must decode"), else the shard is discarded; never a crash.
 * State word: tag 0-1, busy 2, inline count 3, class 4-8, data cell 9-38,
 * distance 39-46. */
Test(map_hostile, cells_forged)
{
    const uint64_t cls_mask = 31ull << 4, idx_mask = 0x3FFFFFFFull << 9, dist_mask = 255ull << 39;
    for (int i = 0; i < 8; i++) {
        fresh();
        mt_file t = file_of(2, -1), dfile;
        uint64_t st;
        const char *target = t.path;
        if (i == 0) { /* a data reference past the data file's cells */
            int64_t off = find_cell(&t, 3, &st);
            put64(t.path, off, (st & ~idx_mask) | 0xFFFFFull << 9);
        } else if (i == 1) { /* a data reference to a class without a file */
            int64_t off = find_cell(&t, 3, &st);
            put64(t.path, off, (st & ~cls_mask) | 31ull << 4);
        } else if (i == 2) { /* busy in a clean file */
            int64_t off = find_cell(&t, 2, &st);
            put64(t.path, off, st | 4);
        } else if (i == 3) { /* tag 1, which is not used */
            int64_t off = find_cell(&t, 2, &st);
            put64(t.path, off, (st & ~3ull) | 1);
        } else if (i == 4) { /* a wrong distance */
            int64_t off = find_cell(&t, 2, &st);
            put64(t.path, off, (st & ~dist_mask) | (((st >> 39) + 1) & 255) << 39);
        } else if (i == 5) { /* an inline cell emptied: the header's count differs */
            int64_t off = find_cell(&t, 2, &st);
            put64(t.path, off, st & ~3ull);
        } else { /* data cells: a count beyond the class, or a free cell referenced */
            dfile = file_of(2, 1);
            target = dfile.path;
            int64_t off = find_data_cell(dfile.path);
            uint64_t hdr = get64(dfile.path, off);
            put64(dfile.path, off, i == 6 ? 1 | 3ull << 1 : hdr & ~1ull);
        }
        reseal(target);
        reopen_check(&(expect){.victims = {0, 0, 1}, .damaged = target});
    }
}

/* (d) data files truncated, bit-flipped, header flipped */
Test(map_hostile, data_file_damaged)
{
    for (int i = 0; i < 5; i++) {
        fresh();
        mt_file f = file_of(0, 1 + i % 3);
        int64_t size = mt_file_size(f.path);
        const char *w[3] = {"size", "checksum", "header"};
        if (i == 0) cr_assert_eq(truncate(f.path, size - 1), 0);
        if (i == 1) cr_assert_eq(truncate(f.path, 4096), 0);
        if (i == 2) cr_assert_eq(mt_flip_bit(f.path, size - 3, 5), 0);
        if (i == 3) cr_assert_eq(mt_flip_bit(f.path, 4096 + 16, 0), 0);
        if (i == 4) cr_assert_eq(mt_flip_bit(f.path, 60, 1), 0);
        expect e = {.victims = {1}, .damaged = f.path};
        if (i <= 1) {
            const char *sw[] = SIZE_WORDS;
            for (int k = 0; k < 5; k++) e.words[k] = sw[k];
        } else {
            e.words[0] = w[i == 4 ? 2 : 1];
            e.words[1] = "checksum";
        }
        reopen_check(&e);
    }
}

/* Two shards damaged at once. */
Test(map_hostile, two_shards_damaged)
{
    fresh();
    mt_file t = file_of(0, -1), d = file_of(3, 2);
    cr_assert_eq(mt_flip_bit(t.path, 5000, 2), 0);
    cr_assert_eq(truncate(d.path, mt_file_size(d.path) / 2), 0);
    reopen_check(&(expect){.victims = {1, 0, 0, 1}});
}

/* (e) a file of another map (same options, same operations, so the same
 * names and generations) in place of one of ours */
Test(map_hostile, foreign_file)
{
    for (int kind = 0; kind < 2; kind++) {
        fresh();
        char other[MT_PATH_MAX], orestart[MT_PATH_MAX];
        snprintf(other, sizeof other, "%s/other", g_dir);
        snprintf(orestart, sizeof orestart, "%s/other.restart", g_dir);
        const char *drives[1] = {other};
        bdb_map_options o;
        std_opts(&o);
        o.drives = drives;
        o.restart_config_file = orestart;
        bdb_map *m = mopen(&o);
        mt_model om;
        std_fill(m, &om);
        mclose(m);
        mt_model_free(&om);
        mt_file mine = file_of(1, kind ? 2 : -1), theirs;
        cr_assert_eq(mt_find_file(other, 1, kind ? 2 : -1, &theirs), 0);
        cr_assert_eq(mt_copy_file(theirs.path, mine.path), 0);
        std_opts(&o);
        reopen_check(&(expect){.victims = {0, 1},
                               .damaged = mine.path,
                               .words = {"identity", "another map", "foreign"}});
    }
}

/* (f) the restart file damaged: every shard is discarded */
Test(map_hostile, restart_file_damaged)
{
    for (int i = 0; i < 9; i++) {
        fresh();
        int64_t size = mt_file_size(g_restart);
        cr_assert_gt(size, 64);
        if (i == 0) cr_assert_eq(truncate(g_restart, 0), 0);
        if (i == 1) cr_assert_eq(truncate(g_restart, 30), 0);
        if (i == 2) cr_assert_eq(truncate(g_restart, size - 1), 0);
        if (i == 3) cr_assert_eq(truncate(g_restart, size + 16), 0);
        if (i >= 4 && i <= 7) {
            int64_t offs[] = {12, 40, 56 + 4, size - 1};
            cr_assert_eq(mt_flip_bit(g_restart, offs[i - 4], i), 0);
        }
        if (i == 8) {
            uint8_t junk[300];
            uint64_t seed = 9;
            mt_fill(&seed, junk, sizeof junk);
            cr_assert_eq(mt_write_file(g_restart, junk, sizeof junk), 0);
        }
        reopen_check(&(expect){.all = 1,
                               .restart_report = 1,
                               .damaged = g_restart,
                               .words = {"checksum", "short", "size", "length", "magic", "truncat",
                                         "version", "restart"}});
    }
}

/* (f) the restart file written for other options */
Test(map_hostile, restart_file_other_options)
{
    for (int i = 0; i < 4; i++) {
        fresh();
        bdb_map_options o;
        std_opts(&o);
        if (i == 0) o.max_buckets = 8;
        if (i == 1) o.elem_size = 8;
        if (i == 2) o.key_size = 20;
        if (i == 3) o.ref_counts = 0;
        reopen_check(&(expect){.all = 1,
                               .restart_report = 1,
                               .damaged = g_restart,
                               .words = {"shards", "option", "element", "key", "ref", "max_buckets",
                                         "elem_size", "key_size"},
                               .o = &o});
    }
}

/* The restart file missing: the map's files are not reused. */
Test(map_hostile, restart_file_missing)
{
    fresh();
    cr_assert_eq(unlink(g_restart), 0);
    reopen_check(&(expect){.all = 1});
}

/* (g) files named like the map's that the restart file does not name */
Test(map_hostile, stray_files)
{
    fresh();
    mt_file t = file_of(2, -1);
    char p[MT_PATH_MAX];
    snprintf(p, sizeof p, "%s/bdbmap-00002-t-00000000000000ff", g_dir);
    cr_assert_eq(mt_copy_file(t.path, p), 0);
    snprintf(p, sizeof p, "%s/bdbmap-00003-d01-0000000000000abc", g_dir);
    cr_assert_eq(mt_write_file(p, "junk", 4), 0);
    snprintf(p, sizeof p, "%s/bdbmap-00099-t-0000000000000001", g_dir);
    cr_assert_eq(mt_write_file(p, "junk", 4), 0);
    reopen_check(
        &(expect){.strays = {"bdbmap-00002-t-00000000000000ff", "bdbmap-00003-d01-0000000000000abc",
                             "bdbmap-00099-t-0000000000000001"}});
}

/* (h) a missing file */
Test(map_hostile, missing_file)
{
    for (int i = 0; i < 2; i++) {
        fresh();
        mt_file f = file_of(i ? 2 : 1, i ? 1 : -1);
        cr_assert_eq(unlink(f.path), 0);
        expect e = {.missing = f.path, .words = {"missing", "exist", "not found", "no such"}};
        e.victims[i ? 2 : 1] = 1;
        reopen_check(&e);
    }
}
