/* History archives: paths (stellar-core's layout, spec §1.5), publish then
 * import into a fresh store (the imported store's hashes are the
 * independent reference model's, and replay continues from it), and every
 * way an import must refuse to adopt: a corrupt or missing bucket, a
 * failing get command, a ledger that is not a checkpoint; an interrupted
 * import resumes fetching only what it lacks. */
#include "config.h"

#include <criterion/criterion.h>
#include <sys/stat.h>

#include "bucketdb/archive.h"

#include "../list/store_fixture.h"

/* mix-a: protocols 10, 11, 12, 23 (hot archive from 778) and 25 */
static void archive_setup(void)
{
    static const char *const v[] = {"mix-a"};
    store_fixture_begin(v, 1, "archive");
}

TestSuite(archive, .init = archive_setup, .fini = store_teardown, .timeout = 120);

static char g_path[1024];

static const char *P(const char *rel)
{
    snprintf(g_path, sizeof g_path, "%s/%s", g_dir, rel);
    return g_path;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static size_t lines_of(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = 0;
    for (int c; (c = fgetc(f)) != EOF;) n += c == '\n';
    fclose(f);
    return n;
}

Test(archive, paths)
{
    char p[BDB_ARCHIVE_PATH_MAX];
    /* stellar-core docs/history.md: checkpoint 0x3f is history/00/00/00/history-0000003f.json */
    bdb_archive_has_path(63, p);
    cr_assert_str_eq(p, "history/00/00/00/history-0000003f.json");
    bdb_archive_has_path(0x12345678u, p);
    cr_assert_str_eq(p, "history/12/34/56/history-12345678.json");
    uint8_t h[32];
    for (int i = 0; i < 32; i++) h[i] = (uint8_t)(0xa1 + i);
    bdb_archive_bucket_path(h, p);
    cr_assert_str_eq(
        p, "bucket/a1/a2/a3/"
           "bucket-a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0.xdr.gz");
    cr_assert(bdb_archive_is_checkpoint(63) && bdb_archive_is_checkpoint(127));
    cr_assert(!bdb_archive_is_checkpoint(0) && !bdb_archive_is_checkpoint(64) &&
              !bdb_archive_is_checkpoint(126));
}

/* Store `sub` replayed through `ledger` and published into "arch". */
static void build_and_publish(const char *sub, uint32_t ledger)
{
    bdb_list_options o = store_opts();
    bdb_list *l = NULL;
    cr_assert_eq(bdb_list_open(g_env, P(sub), &o, &l), 0, "%s", bdb_errmsg());
    store_replay(l, 1, ledger);
    bdb_publish_options po;
    bdb_publish_options_init(&po);
    po.fsync = 0;
    po.network_passphrase = "Test SDF Network ; September 2015";
    cr_assert_eq(bdb_archive_publish(l, P("arch"), &po), 0, "publish: %s", bdb_errmsg());
    store_close(l);
}

static bdb_archive_options root_opts(void)
{
    static char root[1024];
    snprintf(root, sizeof root, "%s/arch", g_dir);
    bdb_archive_options a;
    bdb_archive_options_init(&a);
    a.root = root;
    return a;
}

/* Imports checkpoint `ledger` into `sub` (3 shards); returns the code. */
static int import(const bdb_archive_options *a, uint32_t ledger, const char *sub, bdb_list **out)
{
    bdb_list_options o = store_opts();
    o.shards = 3;
    *out = NULL;
    return bdb_archive_import(g_env, a, ledger, P(sub), &o, out);
}

static void round_trip(uint32_t ledger, uint32_t more)
{
    build_and_publish("a", ledger);
    char rel[BDB_ARCHIVE_PATH_MAX + 8] = "arch/";
    bdb_archive_has_path(ledger, rel + 5);
    cr_assert(exists(P(rel)), "the checkpoint's HAS %s", rel);
    cr_assert(exists(P("arch/" BDB_ARCHIVE_WELL_KNOWN)));
    bdb_archive_options a = root_opts();
    bdb_list *l;
    cr_assert_eq(import(&a, ledger, "b", &l), 0, "import: %s", bdb_errmsg());
    store_expect(l, ledger); /* the reference model's hashes, not ours */
    store_replay(l, ledger + 1, ledger + more);
    store_close(l);
    cr_assert_not(exists(P("b.import")), "the work directory is removed after success");
    store_env_close();
}

Test(archive, publish_then_import_protocol_11)
{
    round_trip(319, 40);
}
Test(archive, publish_then_import_protocol_12)
{
    round_trip(575, 70);
}
Test(archive, publish_then_import_protocol_25)
{
    round_trip(1087, 13);
}

Test(archive, publish_then_import_hot_archive)
{
    round_trip(831, 64);
}

Test(archive, latest_checkpoint_from_well_known)
{
    build_and_publish("a", 383);
    bdb_archive_options a = root_opts();
    bdb_list *l;
    cr_assert_eq(import(&a, 0, "b", &l), 0, "import: %s", bdb_errmsg());
    store_expect(l, 383);
    store_close(l);
    store_env_close();
}

Test(archive, not_a_checkpoint)
{
    bdb_list_options o = store_opts();
    bdb_list *l = NULL;
    cr_assert_eq(bdb_list_open(g_env, P("a"), &o, &l), 0, "%s", bdb_errmsg());
    store_replay(l, 1, 100);
    cr_assert_eq(bdb_archive_publish(l, P("arch"), NULL), BDB_EINVAL);
    cr_assert(strstr(bdb_errmsg(), "not a checkpoint"), "%s", bdb_errmsg());
    store_close(l);
    bdb_archive_options a = root_opts();
    cr_assert_eq(import(&a, 100, "b", &l), BDB_EINVAL);
    cr_assert(strstr(bdb_errmsg(), "63") || strstr(bdb_errmsg(), "127"), "%s", bdb_errmsg());
    store_env_close();
}

/* The gzipped buckets of the archive, by path relative to g_dir. */
static size_t archive_buckets(char out[][256], size_t cap)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cd '%s' && find arch/bucket -name '*.xdr.gz' | sort", g_dir);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    size_t n = 0;
    while (n < cap && fgets(out[n], 256, f)) {
        out[n][strcspn(out[n], "\n")] = 0;
        n++;
    }
    pclose(f);
    return n;
}

Test(archive, corrupt_bucket_adopts_nothing)
{
    build_and_publish("a", 447);
    char b[64][256];
    size_t n = archive_buckets(b, 64);
    cr_assert_geq(n, 3);
    /* a well-formed bucket under another bucket's name */
    char first[1024];
    snprintf(first, sizeof first, "%s", P(b[0]));
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s.good' && cp '%s' '%s'", P(b[1]), P(b[1]), first,
             P(b[1]));
    cr_assert_eq(system(cmd), 0);
    bdb_archive_options a = root_opts();
    bdb_list *l;
    cr_assert_eq(import(&a, 447, "b", &l), BDB_ECORRUPT);
    const char *hex = strrchr(b[1], '-') + 1;
    cr_assert(strstr(bdb_errmsg(), hex), "the error names the bucket: %s", bdb_errmsg());
    /* another bucket's content fails its first records' checks too; what
     * the user needs to hear is that it is not the bucket named */
    cr_assert(strstr(bdb_errmsg(), "does not hash to its name"), "%s", bdb_errmsg());
    cr_assert_null(l);
    cr_assert_not(exists(P("b")), "a failed import leaves no store directory it created");
    /* nothing was adopted: a store opened there is empty */
    bdb_list_options o = store_opts();
    o.create = 0;
    cr_assert_neq(bdb_list_open(g_env, P("b"), &o, &l), 0, "no store was created in b");
    /* mend the archive: the import resumes and succeeds */
    char good[1200];
    snprintf(good, sizeof good, "%s.good", P(b[1]));
    cr_assert_eq(rename(good, P(b[1])), 0);
    cr_assert_eq(import(&a, 447, "b", &l), 0, "%s", bdb_errmsg());
    store_expect(l, 447);
    store_close(l);
    store_env_close();
}

Test(archive, missing_bucket_is_named)
{
    build_and_publish("a", 447);
    char b[64][256];
    size_t n = archive_buckets(b, 64);
    cr_assert_geq(n, 2);
    cr_assert_eq(unlink(P(b[n - 1])), 0);
    bdb_archive_options a = root_opts();
    bdb_list *l;
    cr_assert_eq(import(&a, 447, "b", &l), BDB_ENOTFOUND);
    cr_assert(strstr(bdb_errmsg(), strrchr(b[n - 1], '/') + 1), "%s", bdb_errmsg());
    /* through a get command, the same object fails with the command's status */
    char get[1400];
    snprintf(get, sizeof get, "cp %s/arch/{0} {1}", g_dir);
    a.get = get;
    a.retries = 1;
    cr_assert_eq(import(&a, 447, "c", &l), BDB_EIO);
    cr_assert(strstr(bdb_errmsg(), strrchr(b[n - 1], '/') + 1) && strstr(bdb_errmsg(), "status"),
              "%s", bdb_errmsg());
    store_env_close();
}

/* A get command that logs what it fetches and fails on one object until
 * a flag file exists: the second import fetches only that object. */
Test(archive, interrupted_import_resumes)
{
    build_and_publish("a", 319);
    char b[64][256];
    size_t n = archive_buckets(b, 64);
    cr_assert_geq(n, 3);
    const char *victim = b[n / 2] + strlen("arch/");
    char get[2048];
    snprintf(get, sizeof get,
             "echo {0} >> %s/log; case {0} in *%s) test -f %s/flag || exit 7;; esac; cp "
             "%s/arch/{0} {1}",
             g_dir, strrchr(victim, '/') + 1, g_dir, g_dir);
    bdb_archive_options a = root_opts();
    a.get = get;
    a.retries = 0;
    a.parallel = 3;
    bdb_list *l;
    cr_assert_eq(import(&a, 319, "b", &l), BDB_EIO);
    size_t first = lines_of(P("log"));
    cr_assert_eq(first, n + 1, "the HAS and %zu buckets: %zu fetches", n, first);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "touch '%s/flag'; rm -f '%s/log'", g_dir, g_dir);
    cr_assert_eq(system(cmd), 0);
    bdb_import_stats st;
    a.stats = &st;
    cr_assert_eq(import(&a, 319, "b", &l), 0, "%s", bdb_errmsg());
    cr_assert_eq(lines_of(P("log")), 1, "only the missing bucket is fetched again");
    cr_assert_eq(st.buckets, n);
    cr_assert_eq(st.buckets_reused, n - 1,
                 "the verified buckets are not fetched or verified again");
    /* bytes and records: what verifying the archive's files counts */
    uint64_t bytes = 0, records = 0, gz = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t h[32];
        const char *hex = strrchr(b[i], '-') + 1;
        for (int k = 0; k < 32; k++) sscanf(hex + 2 * k, "%2hhx", &h[k]);
        uint64_t by, rec;
        cr_assert_eq(bdb_bucket_verify(g_env, P(b[i]), h, &by, &rec), 0, "%s", bdb_errmsg());
        bytes += by, records += rec;
        struct stat sb;
        cr_assert_eq(stat(P(b[i]), &sb), 0);
        if (strstr(b[i], strrchr(victim, '/') + 1)) gz = (uint64_t)sb.st_size;
    }
    cr_assert_eq(st.bytes, bytes);
    cr_assert_eq(st.records, records);
    cr_assert_eq(st.bytes_compressed, gz, "only the victim was downloaded this time");
    cr_assert(st.wall_s > 0 && st.buckets_s <= st.wall_s && st.adopt_s <= st.wall_s);
    store_expect(l, 319);
    store_close(l);
    store_env_close();
}

/* The verified files are linked into the store; from a work directory on
 * another file system (tmpfs) they are copied, with the same result. */
Test(archive, work_dir_on_another_file_system)
{
    struct stat a_st, b_st;
    cr_assert_eq(stat(g_dir, &a_st), 0);
    if (stat("/dev/shm", &b_st) != 0 || a_st.st_dev == b_st.st_dev)
        cr_skip_test("no second file system at /dev/shm");
    build_and_publish("a", 447);
    char work[] = "/dev/shm/bdb-import-XXXXXX";
    cr_assert_not_null(mkdtemp(work));
    bdb_archive_options a = root_opts();
    a.work_dir = work;
    bdb_list *l;
    cr_assert_eq(import(&a, 447, "b", &l), 0, "%s", bdb_errmsg());
    store_expect(l, 447);
    store_close(l);
    cr_assert_not(exists(work), "the work directory is removed after success");
    store_env_close();
}
