/* The bucket map against a plain in-memory model (map_test_util.h), by
 * deterministic random operations (fixed 8-bit seeds): insert, update
 * callbacks (set, delete, error), delete, try_insert with grow, startup
 * batch inserts with duplicates, reads of present and absent keys, counts
 * and full iterations, with 1, 2, 4 and 16 shards, with and without ref
 * counts, small probe windows, other key and element sizes; closed and
 * reopened with a restart file along the way (no discards allowed).
 *
 * Simulated crashes: a forked child opens the map, applies operations,
 * flushes, applies more to a subset S of the shards and dies (_exit
 * without closing, or SIGKILL). The parent, which opens nothing before the
 * fork, mirrors the same operations on its model and reopens: the shards
 * outside S hold exactly the model at the flush and are not reported; each
 * shard of S is discarded (reported with its number) and empty. */
#include "config.h"

#include <signal.h>
#include <sys/wait.h>

#include "map_fixture.h"

TestSuite(map_model, .init = map_setup, .fini = map_teardown, .timeout = 120);

/* ---- the operations ---- */

typedef struct runner {
    bdb_map *m; /* NULL: the model alone (mirroring a child's run) */
    mt_model *md;
    uint64_t rng;
    const uint8_t *allowed; /* shards operations may touch (NULL: all) */
    char why[512];
} runner;

static size_t pick_key(runner *r)
{
    for (;;) {
        size_t i = mt_below(&r->rng, r->md->nkeys);
        if (!r->allowed || r->allowed[r->md->shard[i]]) return i;
    }
}

static size_t gen_value(runner *r, uint8_t *v, uint64_t *ref)
{
    size_t n = mt_below(&r->rng, 6);
    mt_fill(&r->rng, v, n * r->md->elem_size);
    uint64_t x = mt_below(&r->rng, 10);
    *ref = x < 6 ? 1 : x < 7 ? 0 : x < 8 ? 2 : mt_next(&r->rng) >> 1;
    return n;
}

typedef struct upd {
    runner *r;
    size_t i;
    int action; /* 0 delete, 1-3 set, 4 error */
    const uint8_t *v;
    size_t n;
    uint64_t ref;
    int calls, bad;
} upd;

static int upd_cb(void *ctx, const bdb_map_value *cur, bdb_map_value *out)
{
    upd *u = ctx;
    const mt_model *md = u->r->md;
    const mt_val *mv = &md->v[u->i];
    u->calls++;
    if (!cur != !mv->present ||
        (cur && (cur->n != mv->n || cur->ref_count != mv->ref ||
                 (mv->n && memcmp(cur->slots, mv->slots, mv->n * md->elem_size)))))
        u->bad = 1;
    if (u->action == 0) return BDB_MAP_DELETE;
    if (u->action == 4) return BDB_ECANCELED;
    out->slots = u->v;
    out->n = u->n;
    out->ref_count = u->ref;
    return BDB_MAP_SET;
}

typedef struct dpair {
    size_t index;
    uint8_t v[64];
} dpair;

static int dpair_cmp(const void *a, const void *b)
{
    const dpair *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

#define FAIL(...) return mt_fail(r->why, sizeof r->why, __VA_ARGS__)

static int op_batch(runner *r)
{
    mt_model *md = r->md;
    uint32_t es = md->elem_size, ks = md->key_size;
    size_t k = 1 + mt_below(&r->rng, 12), idx[12], n_want = 0;
    uint8_t keys[12 * BDB_MAP_MAX_KEY], vals[12 * 64];
    dpair want[12], got[12];
    mt_fill(&r->rng, vals, k * es);
    for (size_t j = 0; j < k; j++) {
        idx[j] = pick_key(r);
        memcpy(keys + j * ks, mt_key(md, idx[j]), ks);
    }
    for (size_t j = 0; j < k; j++) {
        const mt_val *mv = &md->v[idx[j]];
        if (mv->present) {
            want[n_want].index = j;
            memset(want[n_want].v, 0, es);
            if (mv->n) memcpy(want[n_want].v, mv->slots, es);
            n_want++;
        } else {
            mt_model_set(md, idx[j], vals + j * es, 1, 1);
        }
    }
    if (!r->m) return 0;
    size_t dup_index[12], n_dups = 99;
    uint8_t dup_values[12 * 64];
    int rc =
        bdb_map_batch_insert_non_duplicates(r->m, keys, vals, k, dup_index, dup_values, &n_dups);
    if (rc) FAIL("batch of %zu: %d %s", k, rc, bdb_errmsg());
    if (n_dups != n_want) FAIL("batch of %zu: %zu duplicates, model %zu", k, n_dups, n_want);
    for (size_t j = 0; j < n_dups; j++) {
        got[j].index = dup_index[j];
        memcpy(got[j].v, dup_values + j * es, es);
    }
    qsort(got, n_dups, sizeof got[0], dpair_cmp);
    for (size_t j = 0; j < n_dups; j++)
        if (got[j].index != want[j].index || memcmp(got[j].v, want[j].v, es))
            FAIL("batch of %zu: duplicate %zu is index %zu, model %zu (or its value differs)", k, j,
                 got[j].index, want[j].index);
    return 0;
}

/* One random operation on the map (if any) and the model. */
static int op(runner *r)
{
    mt_model *md = r->md;
    uint8_t v[6 * 64];
    uint64_t ref;
    unsigned kind = (unsigned)mt_below(&r->rng, 100);
    if (kind >= 50 && kind < 55) return op_batch(r);
    size_t i = pick_key(r);
    const uint8_t *key = mt_key(md, i);
    if (kind < 30 || (kind >= 55 && kind < 60)) { /* insert, or try_insert + grow */
        size_t n = gen_value(r, v, &ref);
        mt_model_set(md, i, v, n, ref);
        if (!r->m) return 0;
        int rc, grows = 0;
        if (kind < 30) {
            rc = bdb_map_insert(r->m, key, v, n, ref);
        } else {
            bdb_map_need need;
            while ((rc = bdb_map_try_insert(r->m, key, v, n, ref, &need)) == BDB_EAGAIN &&
                   grows++ < 64) {
                if (need.shard != md->shard[i])
                    FAIL("need.shard %u for a key of shard %u", need.shard, md->shard[i]);
                if ((rc = bdb_map_grow(r->m, &need)) != 0) FAIL("grow: %d %s", rc, bdb_errmsg());
            }
        }
        if (rc) FAIL("insert of key %zu (n %zu): %d %s", i, n, rc, bdb_errmsg());
        return 0;
    }
    if (kind < 40) { /* update */
        upd u = {r, i, (int)mt_below(&r->rng, 5), v, 0, 0, 0, 0};
        u.n = gen_value(r, v, &u.ref);
        int rc = r->m ? bdb_map_update(r->m, key, upd_cb, &u) : 0;
        if (r->m && (u.calls != 1 || u.bad))
            FAIL("update of key %zu: %d callback calls, saw %s value", i, u.calls,
                 u.bad ? "a wrong" : "the right");
        if (r->m && rc != (u.action == 4 ? BDB_ECANCELED : 0))
            FAIL("update of key %zu (action %d): %d %s", i, u.action, rc, bdb_errmsg());
        if (u.action == 0) mt_model_del(md, i);
        if (u.action >= 1 && u.action <= 3) mt_model_set(md, i, v, u.n, u.ref);
        return 0;
    }
    if (kind < 50) { /* delete */
        int was = md->v[i].present;
        mt_model_del(md, i);
        int rc = r->m ? bdb_map_delete(r->m, key) : was;
        if (rc != was)
            FAIL("delete of key %zu: %d, model had it %s", i, rc, was ? "present" : "absent");
        return 0;
    }
    if (!r->m) return 0;
    if (kind < 95) return mt_check_key(r->m, md, i, r->why, sizeof r->why); /* read */
    uint32_t s = md->shard[i];
    if (bdb_map_count(r->m, s) != mt_model_count(md, s))
        FAIL("count of shard %u: %llu, model %llu", s, (unsigned long long)bdb_map_count(r->m, s),
             (unsigned long long)mt_model_count(md, s));
    return 0;
}

static int run_ops(runner *r, int n)
{
    for (int k = 0; k < n; k++) {
        if (op(r)) return -1;
        if (r->m && k % 500 == 499 && mt_check_all(r->m, r->md, r->why, sizeof r->why)) return -1;
    }
    return 0;
}

/* ---- model runs with restarts ---- */

typedef struct mcfg {
    uint32_t shards, max_search, key_size, elem_size;
    int refs;
    uint8_t seed;
    size_t nkeys, ops; /* pool size; operations between reopens */
} mcfg;

static void model_run(const mcfg *c)
{
    bdb_map_options o;
    std_opts(&o);
    o.max_buckets = c->shards;
    o.max_search = c->max_search;
    o.key_size = c->key_size;
    o.elem_size = c->elem_size;
    o.ref_counts = c->refs;
    o.seed = 0;
    bdb_map *m = mopen(&o);
    mt_model md;
    cr_assert_eq(
        mt_model_init(&md, c->nkeys, c->key_size, c->elem_size, c->shards, c->refs, c->seed), 0);
    mt_model_shards(&md, m);
    if (c->key_size == 32)
        for (size_t i = 0; i < md.nkeys; i++)
            cr_assert_eq(md.shard[i], mt_shard32(mt_key(&md, i), c->shards));
    runner r = {m, &md, c->seed, NULL, ""};
    for (int round = 0; round < 4; round++) {
        cr_assert_eq(run_ops(&r, (int)c->ops), 0, "seed %u, %u shards, round %d: %s", c->seed,
                     c->shards, round, r.why);
        expect_model(r.m, &md);
        mclose(r.m);
        r.m = mopen(&o);
        expect_no_discards(r.m);
        expect_model(r.m, &md);
    }
    bdb_map_stats st = mstats(r.m);
    cr_assert_lt(st.total.probe_max, c->max_search);
    mclose(r.m);
    mt_model_free(&md);
}

Test(map_model, one_shard_ref_counts)
{
    model_run(&(mcfg){1, 32, 32, 16, 1, 7, 500, 2500});
}

Test(map_model, two_shards_small_window)
{
    model_run(&(mcfg){2, 4, 32, 16, 0, 91, 1500, 2500});
}

Test(map_model, sixteen_shards)
{
    model_run(&(mcfg){16, 8, 32, 16, 1, 200, 4000, 3000});
}

Test(map_model, other_key_and_elem_sizes)
{
    model_run(&(mcfg){4, 16, 20, 8, 1, 33, 800, 2000});
    mt_rmtree(g_dir);
    cr_assert_eq(mkdir(g_dir, 0700), 0);
    model_run(&(mcfg){2, 3, 8, 24, 0, 150, 800, 2000});
}

/* ---- simulated crashes ---- */

/* No environment before the fork: the child opens its own, the parent
 * opens g_env once the child is gone. */
static void crash_setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/bdb-map-crash-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    g_drive[0] = g_dir;
    g_env = NULL;
}

static void crash_teardown(void)
{
    if (g_env) cr_assert_eq(bdb_env_close(g_env), 0, "%s", bdb_errmsg());
    mt_rmtree(g_dir);
}

TestSuite(map_crash, .init = crash_setup, .fini = crash_teardown, .timeout = 120);

enum { CRASH_SHARDS = 16, PHASE1 = 2500, PHASE2 = 400 };

typedef struct crash_plan {
    uint8_t seed;
    int flush; /* flush between the phases */
    uint8_t S[CRASH_SHARDS];
    int kill; /* SIGKILL rather than _exit(0) */
} crash_plan;

static void crash_opts(bdb_map_options *o)
{
    std_opts(o);
    o->max_buckets = CRASH_SHARDS;
    o->max_search = 8;
    o->seed = 0;
}

/* Phase 2: random operations on the shards of S, then one insert into each
 * (so that each of them certainly changed after the flush). */
static int phase2(runner *r, const crash_plan *p)
{
    int any = 0;
    for (uint32_t s = 0; s < CRASH_SHARDS; s++) any |= p->S[s];
    r->allowed = p->S;
    if (any && run_ops(r, PHASE2)) return -1;
    for (uint32_t s = 0; s < CRASH_SHARDS; s++) {
        if (!p->S[s]) continue;
        for (size_t i = 0; i < r->md->nkeys; i++)
            if (r->md->shard[i] == s) {
                uint8_t v[16] = {(uint8_t)s, 0xC5};
                mt_model_set(r->md, i, v, 1, 1);
                if (r->m && bdb_map_insert(r->m, mt_key(r->md, i), v, 1, 1))
                    return mt_fail(r->why, sizeof r->why, "insert: %s", bdb_errmsg());
                break;
            }
    }
    r->allowed = NULL;
    return 0;
}

static void child(const crash_plan *p, const char *errpath)
{
    bdb_env *env;
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    eo.threads = 2;
    char why[600] = "";
    mt_model md;
    bdb_map *m = NULL;
    bdb_map_options o;
    crash_opts(&o);
    runner r = {NULL, &md, p->seed, NULL, ""};
    if (bdb_env_open(&eo, &env) || bdb_map_open(env, &o, &m)) {
        snprintf(why, sizeof why, "open: %s", bdb_errmsg());
    } else if (mt_model_init(&md, 600, 32, 16, CRASH_SHARDS, 1, p->seed)) {
        snprintf(why, sizeof why, "model");
    } else {
        r.m = m;
        if (run_ops(&r, PHASE1))
            snprintf(why, sizeof why, "phase 1: %s", r.why);
        else if (p->flush && bdb_map_flush(m))
            snprintf(why, sizeof why, "flush: %s", bdb_errmsg());
        else if (phase2(&r, p))
            snprintf(why, sizeof why, "phase 2: %s", r.why);
    }
    if (why[0]) {
        mt_write_file(errpath, why, strlen(why));
        _exit(3);
    }
    if (p->kill) raise(SIGKILL);
    _exit(0); /* no close, no flush: as a crash */
}

static void crash_run(const crash_plan *p)
{
    bdb_map_options o;
    crash_opts(&o); /* sets g_restart */
    char errpath[MT_PATH_MAX];
    snprintf(errpath, sizeof errpath, "%s/child.err", g_dir);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) child(p, errpath);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    uint8_t *err = NULL;
    size_t errn = 0;
    if (!mt_read_file(errpath, &err, &errn)) err[errn] = 0;
    cr_assert(!(WIFEXITED(status) && WEXITSTATUS(status) == 3), "child: %s",
              err ? (char *)err : "");
    free(err);
    if (p->kill)
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %#x", status);
    else
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);

    /* the mirror: the same operations on the model alone */
    mt_model md, at_flush;
    cr_assert_eq(mt_model_init(&md, 600, 32, 16, CRASH_SHARDS, 1, p->seed), 0);
    runner r = {NULL, &md, p->seed, NULL, ""};
    cr_assert_eq(run_ops(&r, PHASE1), 0);
    cr_assert_eq(mt_model_copy(&at_flush, &md), 0);
    cr_assert_eq(phase2(&r, p), 0);
    uint8_t lost[CRASH_SHARDS];
    for (uint32_t s = 0; s < CRASH_SHARDS; s++) {
        lost[s] = p->S[s] || !p->flush; /* never flushed: nothing can be reused */
        if (lost[s])
            for (size_t i = 0; i < at_flush.nkeys; i++)
                if (at_flush.shard[i] == s) mt_model_del(&at_flush, i);
    }
    static mt_file before[MT_MAX_FILES];
    size_t nb = mt_map_files(g_dir, before, MT_MAX_FILES);
    cr_assert_gt(nb, 0);

    bdb_env_options eo;
    bdb_env_options_init(&eo);
    eo.threads = 2;
    cr_assert_eq(bdb_env_open(&eo, &g_env), 0);
    bdb_map *m = mopen(&o);
    size_t nd = mt_n_discarded(m);
    uint8_t reported[CRASH_SHARDS] = {0};
    static char rep_names[MT_MAX_FILES][96];
    for (size_t k = 0; k < nd && k < MT_MAX_FILES; k++) {
        bdb_map_discard d;
        cr_assert_eq(bdb_map_discarded(m, k, &d, NULL), 1);
        cr_assert(d.path && d.path[0] && d.reason && d.reason[0], "discard %zu without path/reason",
                  k);
        cr_assert_lt(d.shard, CRASH_SHARDS, "discard of %s (%s): shard %u", d.path, d.reason,
                     d.shard);
        cr_assert(lost[d.shard],
                  "shard %u was not changed after the flush, yet %s was discarded: %s", d.shard,
                  d.path, d.reason);
        reported[d.shard] = 1;
        snprintf(rep_names[k], sizeof rep_names[k], "%s", mt_base(d.path));
    }
    for (size_t j = 0; j < nb; j++) { /* the files of lost shards go, the others stay */
        int rep = 0;
        for (size_t k = 0; k < nd && k < MT_MAX_FILES; k++)
            rep |= !strcmp(rep_names[k], before[j].name);
        if (lost[before[j].shard]) {
            cr_assert_not(mt_exists(before[j].path), "%s of a discarded shard is left",
                          before[j].name);
            cr_assert(rep, "%s of a discarded shard is not reported", before[j].name);
        } else {
            cr_assert(mt_exists(before[j].path), "%s of a kept shard is gone", before[j].name);
        }
    }
    char why[512];
    for (uint32_t s = 0; s < CRASH_SHARDS; s++) {
        if (p->S[s]) cr_assert(reported[s], "shard %u changed after the flush: not reported", s);
        cr_assert_eq(mt_check_shard(m, &at_flush, s, why, sizeof why), 0, "shard %u (%s): %s", s,
                     lost[s] ? "discarded" : "kept", why);
    }
    /* the map goes on from there, and restarts cleanly */
    runner go = {m, &at_flush, p->seed + 1000u, NULL, ""};
    cr_assert_eq(run_ops(&go, 1000), 0, "after the crash: %s", go.why);
    mclose(m);
    m = mopen(&o);
    expect_no_discards(m);
    expect_model(m, &at_flush);
    mclose(m);
    mt_model_free(&md);
    mt_model_free(&at_flush);
}

Test(map_crash, after_flush_exit)
{
    crash_plan p = {.seed = 17, .flush = 1};
    p.S[1] = p.S[6] = p.S[7] = p.S[12] = 1;
    crash_run(&p);
}

Test(map_crash, after_flush_sigkill)
{
    crash_plan p = {.seed = 99, .flush = 1, .kill = 1};
    p.S[0] = p.S[15] = 1;
    crash_run(&p);
}

Test(map_crash, right_after_flush)
{
    crash_plan p = {.seed = 240, .flush = 1, .kill = 1}; /* S empty: everything is kept */
    crash_run(&p);
}

Test(map_crash, before_any_flush)
{
    crash_plan p = {.seed = 3, .flush = 0};
    p.S[2] = 1;
    crash_run(&p);
}
