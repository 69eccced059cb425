/* The store across restarts, against the reference model's hashes
 * (tests/vectors/batches, ledgers 1..800, protocols 0 to 23):
 *
 * - H12: closed and reopened at every ledger (one shard, and three shards
 *   with every merge split into pieces), the store comes back at the same
 *   ledger with the same hash and levels, and going on gives the expected
 *   hashes to the end: pending merges are restarted with the right inputs.
 * - merge counters keep counting sensibly across restarts;
 * - GC: the directory holds exactly what the last manifest references,
 *   plus the lock file and the manifest;
 * - H14/H17: a referenced bucket file missing, truncated or corrupted,
 *   or a corrupt manifest, makes open fail with BDB_ECORRUPT naming the
 *   file, and never falls back to an older state;
 * - H15: a finished merge's output survives GC (and a restart) until its
 *   level commits it;
 * - H16: a file planted under the canonical name of a bucket the store is
 *   about to write is never adopted: the store's files always hash to
 *   their names.
 *
 * Engine bugs these tests found, both fixed:
 * - manifest race (H12): a merge finishing while the manifest was built
 *   could be written as finished with an output missing from the bucket
 *   table (the empty bucket); after a reopen every hash went wrong.
 * - no content check on restore (H17): a same-size corruption of a bucket
 *   file was accepted at open and fed merges wrong data. */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/rcu.h"

#include "store_fixture.h"
#include "../file_helpers.h"

TestSuite(store_restart, .init = store_setup, .fini = store_teardown, .timeout = 600);

static void counters_add(bdb_merge_counters *to, const bdb_merge_counters *from)
{
    uint64_t *t = (uint64_t *)to;
    const uint64_t *f = (const uint64_t *)from;
    for (size_t i = 0; i < sizeof *to / sizeof *t; i++) t[i] += f[i];
}

/* Closes and reopens l, checking the state is unchanged. */
static bdb_list *reopen(bdb_list *l, const bdb_list_options *o, uint32_t ledger)
{
    store_close(l);
    l = store_open(o);
    if (ledger) store_expect(l, ledger);
    return l;
}

static int count_piece_files(void)
{
    DIR *d = opendir(g_dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, "bucket-", 7) == 0 && strstr(e->d_name, ".p")) n++;
    if (d) closedir(d);
    return n;
}

/* Replays 1..V_LAST, closing and reopening the store after every ledger.
 * Returns the number of ledgers at which split pieces existed. */
static int restart_every_ledger(const bdb_list_options *o)
{
    bdb_list *l = store_open(o);
    int with_pieces = 0;
    for (uint32_t ledger = 1; ledger <= V_LAST; ledger++) {
        store_replay(l, ledger, ledger);
        l = reopen(l, o, ledger);
        with_pieces += count_piece_files() > 0;
    }
    bdb_list_state st;
    bdb_list_state_get(l, &st);
    cr_assert_eq(store_state_files_ok(g_dir, &st, g_why, sizeof g_why), 0, "%s", g_why);
    store_close(l);
    cr_assert_eq(store_dir_sane(g_dir, g_why, sizeof g_why), 0, "%s", g_why);
    return with_pieces;
}

Test(store_restart, H12_restart_every_ledger)
{
    bdb_list_options o = store_opts();
    cr_assert_eq(restart_every_ledger(&o), 0, "one shard writes no pieces");
    store_env_close();
}

Test(store_restart, H12_restart_every_ledger_three_shards_split_pieces)
{
    bdb_list_options o = store_opts();
    o.shards = 3;
    o.split_bytes = 0;
    int with_pieces = restart_every_ledger(&o);
    cr_assert_gt(with_pieces, V_LAST / 2, "merges were split into pieces at %d ledgers",
                 with_pieces);
    /* the store keeps its shards: reopening with shards = 0 works, another count does not */
    o.shards = 0;
    bdb_list *l = store_open(&o);
    store_expect(l, V_LAST);
    store_close(l);
    o.shards = 2;
    l = NULL;
    cr_assert_eq(bdb_list_open(g_env, g_dir, &o, &l), BDB_EINVAL);
    cr_assert_null(l);
    cr_assert_not_null(strstr(bdb_errmsg(), "shards"), "%s", bdb_errmsg());
    store_env_close();
}

/* Restarts in the middle of long-running merges at irregular points, with
 * a wait for the merges sometimes before closing (the manifest then
 * records outputs, state 1) and sometimes not (inputs, state 2). */
Test(store_restart, H12_restart_with_finished_and_running_merges)
{
    bdb_list_options o = store_opts();
    o.shards = 2;
    o.split_bytes = 4096;
    bdb_list *l = store_open(&o);
    uint32_t ledger = 0;
    unsigned step = 1;
    while (ledger < V_LAST) {
        uint32_t to = ledger + step > V_LAST ? V_LAST : ledger + step;
        store_replay(l, ledger + 1, to);
        ledger = to;
        if (step % 2) cr_assert_eq(bdb_list_wait_merges(l), 0, "%s", bdb_errmsg());
        l = reopen(l, &o, ledger);
        step = step * 7 % 61 + 1;
    }
    store_close(l);
    store_env_close();
}

/* Counters are since open. Per ledger: at protocol >= 12 every merge is a
 * post-shadow-removal merge and there is at least one per ledger (level
 * 0); below 12, pre-shadow-removal; from 11, post-initentry. Over
 * sessions of 10 ledgers, restarts only add merges (restarted ones are
 * counted again), never lose any, compared with one session. */
Test(store_restart, merge_counters_across_restarts)
{
    bdb_list_options o = store_opts();
    bdb_list *l = store_open(&o);
    bdb_merge_counters cont, sum, before, after;
    memset(&cont, 0, sizeof cont);
    store_replay(l, 1, V_LAST);
    cr_assert_eq(bdb_list_wait_merges(l), 0);
    cr_assert_eq(bdb_list_merge_counters(l, 0, &cont), 0);
    cr_assert_eq(bdb_list_merge_counters(l, 2, &cont), BDB_EINVAL);
    store_close(l);
    cr_assert_gt(cont.pre_shadow_removal_protocol_merges, 0);
    cr_assert_gt(cont.post_shadow_removal_protocol_merges, 0);
    cr_assert_gt(cont.pre_init_entry_protocol_merges, 0);
    cr_assert_gt(cont.post_init_entry_protocol_merges, 0);
    store_rmdir(g_dir);
    cr_assert_eq(mkdir(g_dir, 0700), 0);

    memset(&sum, 0, sizeof sum);
    l = store_open(&o);
    for (uint32_t ledger = 1; ledger <= V_LAST; ledger++) {
        cr_assert_eq(bdb_list_wait_merges(l), 0);
        memset(&before, 0, sizeof before);
        cr_assert_eq(bdb_list_merge_counters(l, 0, &before), 0);
        store_replay(l, ledger, ledger);
        cr_assert_eq(bdb_list_wait_merges(l), 0);
        memset(&after, 0, sizeof after);
        cr_assert_eq(bdb_list_merge_counters(l, 0, &after), 0);
        const batch *b = B(ledger);
        if (b->protocol >= BDB_PROTOCOL_NO_SHADOWS)
            cr_assert_gt(after.post_shadow_removal_protocol_merges,
                         before.post_shadow_removal_protocol_merges,
                         "ledger %u: post-shadow-removal merges do not grow", ledger);
        else
            cr_assert_gt(after.pre_shadow_removal_protocol_merges,
                         before.pre_shadow_removal_protocol_merges,
                         "ledger %u: pre-shadow-removal merges do not grow", ledger);
        if (b->protocol >= BDB_PROTOCOL_INIT_META)
            cr_assert_gt(after.post_init_entry_protocol_merges,
                         before.post_init_entry_protocol_merges, "ledger %u", ledger);
        if (ledger % 10 == 0) {
            counters_add(&sum, &after);
            l = reopen(l, &o, ledger);
        }
    }
    cr_assert_eq(bdb_list_wait_merges(l), 0);
    cr_assert_eq(bdb_list_merge_counters(l, 0, &sum), 0);
    store_close(l);
    cr_assert_geq(sum.post_shadow_removal_protocol_merges,
                  cont.post_shadow_removal_protocol_merges);
    cr_assert_geq(sum.pre_shadow_removal_protocol_merges, cont.pre_shadow_removal_protocol_merges);
    cr_assert_geq(sum.post_init_entry_protocol_merges, cont.post_init_entry_protocol_merges);
    cr_assert_geq(sum.new_live_entries, cont.new_live_entries);
    store_env_close();
}

/* The buckets a store at odd ledger `ledger` (every merge finished before
 * it) may keep besides those its manifest references: level 0's curr of
 * the previous state (the view replaced at this ledger, freed after a
 * grace period), and the shadows that pending merges started before
 * protocol 12 hold (levels 0..i-2 of the state before the merge into
 * level i started). */
static size_t gc_allowed(uint32_t ledger, const bdb_list_state *prev, uint8_t (*out)[32])
{
    size_t n = 0;
    memcpy(out[n++], prev->live_curr[0], 32);
    memcpy(out[n++], prev->hot_curr[0], 32);
    for (uint32_t i = 2; i < BDB_LIST_LEVELS; i++) {
        uint32_t half = bdb_level_half(i - 1), start = ledger / half * half;
        if (start < 2 || B(start - 1)->protocol >= BDB_PROTOCOL_NO_SHADOWS) continue;
        for (uint32_t j = 0; j + 2 <= i; j++) {
            memcpy(out[n++], B(start - 1)->curr[j], 32);
            memcpy(out[n++], B(start - 1)->snap[j], 32);
        }
    }
    return n;
}

/* GC ("do not leak empty-merge futures"): while the store runs, every
 * bucket file is one the manifest references or one of those
 * gc_allowed() names, so nothing accumulates: no output of a merge that
 * is never committed, no replaced bucket past its last reader. Checked at
 * odd ledgers with every merge finished before (a merge started at an
 * even ledger may finish after that ledger's manifest is written).
 * After close there are no temporary files, and after reopen (which
 * removes what no manifest references) the directory holds exactly the
 * manifest's files, the manifest and the lock file. */
Test(store_restart, gc_no_stale_bucket_files)
{
    bdb_list_options o = store_opts();
    o.shards = 3;
    o.split_bytes = 1024;
    bdb_list *l = store_open(&o);
    static uint8_t allowed[4 * BDB_LIST_LEVELS * BDB_LIST_LEVELS][32];
    store_files sf;
    size_t max_extra = 0;
    for (uint32_t ledger = 1; ledger < V_LAST; ledger++) {
        bdb_list_state prev;
        if (ledger % 2) {
            cr_assert_eq(bdb_list_wait_merges(l), 0, "%s", bdb_errmsg());
            bdbi_rcu_barrier();
        }
        bdb_list_state_get(l, &prev);
        store_replay(l, ledger, ledger);
        int count;
        cr_assert_eq(sc_newest_manifest(g_dir, &count), ledger);
        cr_assert_eq(count, 1, "ledger %u: %d manifests", ledger, count);
        if (ledger % 2 == 0) continue;
        size_t na = gc_allowed(ledger, &prev, allowed), extra = 0;
        cr_assert_eq(store_manifest_files(g_dir, &sf, g_why, sizeof g_why), 0, "%s", g_why);
        DIR *d = opendir(g_dir);
        struct dirent *e;
        while ((e = readdir(d))) {
            uint8_t h[32];
            char name[sizeof e->d_name];
            memcpy(name, e->d_name, sizeof name);
            /* an index file stands or falls with the bucket file it indexes,
             * which must still be there */
            size_t n = strlen(name);
            if (n > 6 && strncmp(name, "bucket-", 7) == 0 && strcmp(name + n - 6, ".index") == 0) {
                strcpy(name + n - 6, ".xdr");
                char path[STORE_PATH_MAX];
                snprintf(path, sizeof path, "%s/%s", g_dir, name);
                cr_assert_eq(access(path, F_OK), 0, "ledger %u: %s outlived its bucket file",
                             ledger, e->d_name);
            }
            if (store_name_hash(name, h) || store_files_has(&sf, name)) continue;
            size_t k = 0;
            while (k < na && memcmp(allowed[k], h, 32)) k++;
            cr_assert_lt(k, na, "ledger %u: %s is neither referenced by %s nor needed", ledger,
                         e->d_name, sf.manifest);
            extra++;
        }
        closedir(d);
        if (extra > max_extra) max_extra = extra;
    }
    cr_assert_gt(max_extra, 0, "the check never saw a file outside the manifest");
    store_close(l);
    cr_assert_eq(store_dir_sane(g_dir, g_why, sizeof g_why), 0, "after close: %s", g_why);
    l = store_open(&o);
    store_expect(l, V_LAST - 1);
    /* every merge was finished when ledger 799 (odd: it starts none) wrote
     * the manifest, so open restarts nothing that could add files */
    cr_assert_eq(store_dir_exact(g_dir, g_why, sizeof g_why), 0, "after reopen: %s", g_why);
    store_replay(l, V_LAST, V_LAST);
    store_close(l);
    store_env_close();
}

/* ---- corruption ---- */

/* Runs 1..ledger and closes. */
static void make_store(const bdb_list_options *o, uint32_t ledger)
{
    bdb_list *l = store_open(o);
    store_replay(l, 1, ledger);
    store_close(l);
}

/* A non-empty bucket of the expected state at `ledger`: the deepest
 * level's curr that is not empty. */
static const uint8_t *deep_bucket(uint32_t ledger, int *level)
{
    static const uint8_t zero[32];
    const batch *b = B(ledger);
    for (int i = BDB_LIST_LEVELS - 1; i >= 0; i--)
        if (memcmp(b->curr[i], zero, 32)) {
            *level = i;
            return b->curr[i];
        }
    cr_assert_fail("no bucket at ledger %u", ledger);
    return NULL;
}

static void copy_file(const char *from, const char *to)
{
    uint8_t *d;
    size_t n;
    cr_assert_eq(sc_read_all(from, &d, &n), 0, "read %s", from);
    FILE *f = fopen(to, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(d, 1, n, f), n);
    fclose(f);
    free(d);
}

Test(store_restart, H14_missing_bucket_file_refused_at_open)
{
    bdb_list_options o = store_opts();
    make_store(&o, 600);
    int level;
    const uint8_t *h = deep_bucket(600, &level);
    char paths[1][STORE_PATH_MAX], saved[STORE_PATH_MAX];
    cr_assert_eq(store_bucket_files(g_dir, h, paths, 1), 1);
    snprintf(saved, sizeof saved, "%s.saved", g_dir);
    copy_file(paths[0], saved);
    cr_assert_eq(unlink(paths[0]), 0);
    expect_corrupt_open(&o, paths[0]);
    /* the failed open changed nothing: with the file back the store opens */
    copy_file(saved, paths[0]);
    unlink(saved);
    bdb_list *l = store_open(&o);
    store_expect(l, 600);
    store_replay(l, 601, 640);
    store_close(l);
    store_env_close();
}

Test(store_restart, H17_truncated_bucket_file_refused_at_open)
{
    bdb_list_options o = store_opts();
    make_store(&o, 600);
    int level;
    const uint8_t *h = deep_bucket(600, &level);
    char paths[1][STORE_PATH_MAX];
    cr_assert_eq(store_bucket_files(g_dir, h, paths, 1), 1);
    struct stat st;
    cr_assert_eq(stat(paths[0], &st), 0);
    cr_assert_eq(truncate(paths[0], st.st_size - 1), 0);
    expect_corrupt_open(&o, paths[0]);
    cr_assert_eq(truncate(paths[0], 0), 0);
    expect_corrupt_open(&o, paths[0]);
    store_env_close();
}

/* A referenced piece of a split bucket missing. */
Test(store_restart, H14_missing_piece_refused_at_open)
{
    bdb_list_options o = store_opts();
    o.shards = 3;
    o.split_bytes = 0;
    make_store(&o, 600);
    store_files sf;
    cr_assert_eq(store_manifest_files(g_dir, &sf, g_why, sizeof g_why), 0, "%s", g_why);
    const char *piece = NULL;
    for (size_t i = 0; i < sf.n && !piece; i++)
        if (strstr(sf.names[i], ".p")) piece = sf.names[i];
    cr_assert_not_null(piece, "no split bucket at ledger 600");
    char path[STORE_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", g_dir, piece);
    cr_assert_eq(unlink(path), 0);
    expect_corrupt_open(&o, path);
    store_env_close();
}

/* H17, verify on restore: a referenced bucket file of the right size but
 * the wrong content (one bit flipped) is detected when the store opens.
 * The file chosen is level 0's curr after ledger 600 (2556 bytes), which
 * the level-0 merge of ledger 601 reads; byte 200 lies inside an entry's
 * data, so the file stays well-formed and only its hash tells. */
Test(store_restart, H17_same_size_corruption_detected_at_open)
{
    bdb_list_options o = store_opts();
    make_store(&o, 600);
    char paths[1][STORE_PATH_MAX];
    cr_assert_eq(store_bucket_files(g_dir, B(600)->curr[0], paths, 1), 1);
    struct stat st;
    cr_assert_eq(stat(paths[0], &st), 0);
    cr_assert_eq(st.st_size, 2556);
    tf_flip_byte(paths[0], 200); /* inside an entry: still well-formed */
    expect_corrupt_open(&o, paths[0]);
    store_env_close();
}

/* Whatever open does about it, a corrupted bucket file never yields a
 * wrong ledger hash: each later ledger is either refused or correct (the
 * API promises BDB_ECORRUPT for a wrong content "when read"). */
Test(store_restart, H17_corrupted_input_never_yields_a_wrong_hash)
{
    bdb_list_options o = store_opts();
    make_store(&o, 600);
    char paths[1][STORE_PATH_MAX];
    cr_assert_eq(store_bucket_files(g_dir, B(600)->curr[0], paths, 1), 1);
    struct stat st;
    cr_assert_eq(stat(paths[0], &st), 0);
    cr_assert_eq(st.st_size, 2556);
    tf_flip_byte(paths[0], 200); /* inside an entry: still well-formed */
    bdb_list *l = NULL;
    int rc = bdb_list_open(g_env, g_dir, &o, &l);
    if (rc) {
        cr_assert_eq(rc, BDB_ECORRUPT, "%s", bdb_errmsg());
        store_env_close();
        return;
    }
    for (uint32_t ledger = 601; ledger <= 700; ledger++) {
        rc = batch_apply(l, B(ledger));
        if (rc) {
            cr_assert(rc == BDB_ECORRUPT || rc == BDB_EFORMAT, "ledger %u: %s", ledger,
                      bdb_errmsg());
            break;
        }
        bdb_list_state st2;
        bdb_list_state_get(l, &st2);
        cr_assert(batch_state_matches(&st2, B(ledger), g_why, sizeof g_why),
                  "silently wrong after a corrupted input: %s", g_why);
    }
    store_close(l);
    store_env_close();
}

/* A corrupt newest manifest is refused, naming it; an older, valid
 * manifest left in the directory is not used instead. */
Test(store_restart, H14_corrupt_manifest_refused_no_fallback)
{
    bdb_list_options o = store_opts();
    make_store(&o, 599);
    char m599[STORE_PATH_MAX], m600[STORE_PATH_MAX], saved[STORE_PATH_MAX];
    snprintf(m599, sizeof m599, "%s/MANIFEST-%010u", g_dir, 599u);
    snprintf(m600, sizeof m600, "%s/MANIFEST-%010u", g_dir, 600u);
    snprintf(saved, sizeof saved, "%s.m599", g_dir);
    copy_file(m599, saved);
    bdb_list *l = store_open(&o);
    store_replay(l, 600, 600);
    store_close(l);
    copy_file(saved, m599); /* an older manifest is back */
    unlink(saved);
    struct stat st;
    cr_assert_eq(stat(m600, &st), 0);
    char good[STORE_PATH_MAX];
    snprintf(good, sizeof good, "%s.m600", g_dir);
    copy_file(m600, good);
    /* one flipped byte in the middle, in the header, in the checksum */
    long where[] = {st.st_size / 2, 12, -1};
    for (size_t i = 0; i < sizeof where / sizeof *where; i++) {
        copy_file(good, m600);
        tf_flip_byte(m600, where[i]);
        expect_corrupt_open(&o, m600);
    }
    /* truncated, empty */
    cr_assert_eq(truncate(m600, st.st_size - 9), 0);
    expect_corrupt_open(&o, m600);
    cr_assert_eq(truncate(m600, 0), 0);
    expect_corrupt_open(&o, m600);
    /* the intact manifest back: ledger 600, and the old one is removed */
    copy_file(good, m600);
    unlink(good);
    l = store_open(&o);
    store_expect(l, 600);
    cr_assert_eq(access(m599, F_OK), -1, "the older manifest was not removed");
    store_replay(l, 601, 610);
    store_close(l);
    store_env_close();
}

/* ---- H15: finished merge outputs survive GC ---- */

static void expect_bucket(const uint8_t *h, const char *what)
{
    cr_assert_eq(store_bucket_ok(g_dir, h, g_why, sizeof g_why), 0, "%s: %s", what, g_why);
}

/* After ledger `start`, with the merges finished, the outputs of the merges
 * started at `start` into levels lv[] (committed at commit[]) must survive
 * the GC of every ledger before their commit, and a restart. */
static void finished_outputs_survive(const bdb_list_options *o, uint32_t start, const int *lv,
                                     const uint32_t *commit, int n)
{
    bdb_list *l = store_open(o);
    store_replay(l, 1, start);
    cr_assert_eq(bdb_list_wait_merges(l), 0, "%s", bdb_errmsg());
    const uint8_t *out[8];
    for (int k = 0; k < n; k++) {
        cr_assert(bdb_level_should_spill(start, (uint32_t)lv[k] - 1));
        out[k] = B(commit[k])->curr[lv[k]];
        expect_bucket(out[k], "a finished merge's output");
    }
    uint32_t last = commit[n - 1];
    for (uint32_t ledger = start + 1; ledger <= last; ledger++) {
        store_replay(l, ledger, ledger);
        if (ledger == start + 1) l = reopen(l, o, ledger); /* manifest state 1: kept at open */
        bdbi_rcu_barrier();
        for (int k = 0; k < n; k++) {
            if (ledger < commit[k]) {
                expect_bucket(out[k], "an uncommitted finished output after GC");
            } else if (ledger == commit[k]) {
                bdb_list_state st;
                bdb_list_state_get(l, &st);
                cr_assert_eq(memcmp(st.live_curr[lv[k]], out[k], 32), 0,
                             "level %d did not commit the finished output", lv[k]);
                expect_bucket(out[k], "the committed output");
            }
        }
    }
    store_close(l);
}

Test(store_restart, H15_finished_merge_output_survives_gc_pre12)
{
    /* at 32 levels 0, 1 and 2 spill: merges into 1, 2 and 3, committed at
     * 34, 40 and 64 */
    bdb_list_options o = store_opts();
    const int lv[] = {1, 2, 3};
    const uint32_t commit[] = {34, 40, 64};
    finished_outputs_survive(&o, 32, lv, commit, 3);
    store_env_close();
}

Test(store_restart, H15_finished_merge_output_survives_gc_post12_split)
{
    /* at 640 levels 0..3 spill: merges into 2, 3 and 4 committed at 648,
     * 672 and 768 */
    bdb_list_options o = store_opts();
    o.shards = 3;
    o.split_bytes = 0;
    const int lv[] = {2, 3, 4};
    const uint32_t commit[] = {648, 672, 768};
    finished_outputs_survive(&o, 640, lv, commit, 3);
    store_env_close();
}

/* ---- H16: a planted file under a canonical name is never adopted ---- */

static void plant(const uint8_t hash[32], const char *suffix, size_t len)
{
    char name[BDB_BUCKET_NAME_LEN], path[STORE_PATH_MAX];
    bdb_bucket_name(hash, name);
    if (suffix) {
        name[strlen(name) - 4] = 0;
        snprintf(path, sizeof path, "%s/%s%s", g_dir, name, suffix);
    } else {
        snprintf(path, sizeof path, "%s/%s", g_dir, name);
    }
    cr_assert_eq(access(path, F_OK), -1, "%s exists before it is planted", path);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    for (size_t i = 0; i < len; i++) fputc((int)(i * 131 + 7) & 0xff, f);
    fclose(f);
}

/* Planted while the store is open, before the ledger that makes them: a
 * zero-byte file named after the level-0 bucket of ledger 100 (written
 * synchronously) and garbage named after the level-1 merge output
 * committed at 100 (started at 98 on the pool). */
Test(store_restart, H16_planted_file_never_adopted)
{
    bdb_list_options o = store_opts();
    bdb_list *l = store_open(&o);
    store_replay(l, 1, 97);
    plant(B(100)->curr[0], NULL, 0);
    plant(B(100)->curr[1], NULL, 4096);
    plant(B(102)->curr[0], NULL, 168);
    store_replay(l, 98, 100);
    expect_bucket(B(100)->curr[0], "level 0 at 100");
    expect_bucket(B(100)->curr[1], "level 1 at 100");
    store_replay(l, 101, 102);
    expect_bucket(B(102)->curr[0], "level 0 at 102");
    l = reopen(l, &o, 102);
    store_replay(l, 103, 200);
    bdb_list_state st;
    bdb_list_state_get(l, &st);
    cr_assert_eq(store_state_files_ok(g_dir, &st, g_why, sizeof g_why), 0, "%s", g_why);
    store_close(l);
    store_env_close();
}

/* The same with split merges: garbage planted under the names of every
 * piece of the level-2 output committed at 648 (merge started at 640). */
Test(store_restart, H16_planted_pieces_never_adopted)
{
    bdb_list_options o = store_opts();
    o.shards = 3;
    o.split_bytes = 0;
    bdb_list *l = store_open(&o);
    store_replay(l, 1, 639);
    plant(B(648)->curr[2], ".p0.xdr", 0);
    plant(B(648)->curr[2], ".p1.xdr", 100);
    plant(B(648)->curr[2], ".p2.xdr", 5000);
    plant(B(648)->curr[2], NULL, 0);
    store_replay(l, 640, 648);
    /* reopen: files no manifest references (planted pieces of empty
     * shards) are removed, so the bucket's files are exactly its pieces */
    l = reopen(l, &o, 648);
    expect_bucket(B(648)->curr[2], "level 2 at 648");
    store_replay(l, 649, 700);
    bdb_list_state st;
    bdb_list_state_get(l, &st);
    cr_assert_eq(store_state_files_ok(g_dir, &st, g_why, sizeof g_why), 0, "%s", g_why);
    store_close(l);
    store_env_close();
}

/* Planted while the store is closed: open removes files no manifest
 * references, so the store then writes the bucket itself. */
Test(store_restart, H16_planted_while_closed_removed_at_open)
{
    bdb_list_options o = store_opts();
    make_store(&o, 99);
    plant(B(100)->curr[0], NULL, 0);
    bdb_list *l = store_open(&o);
    store_expect(l, 99);
    char paths[1][STORE_PATH_MAX];
    cr_assert_eq(store_bucket_files(g_dir, B(100)->curr[0], paths, 1), 0,
                 "the planted file was kept at open");
    store_replay(l, 100, 100);
    expect_bucket(B(100)->curr[0], "level 0 at 100");
    store_close(l);
    store_env_close();
}
