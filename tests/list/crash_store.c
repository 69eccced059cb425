/* Crash and I/O-fault tests of the BucketList store, in plain C (fork and
 * SIGKILL do not mix with Criterion's workers). Prints TAP.
 *
 * Crashes: each iteration forks a child that opens a store (fsync on) in
 * one of four directories, which are reused from iteration to iteration
 * (and sometimes started afresh), and replays the batch vectors
 * (tests/vectors/batches/restart.jsonl, ledgers 1..LAST) from wherever
 * the store is, checking every ledger against the reference model and
 * telling the parent through a pipe which ledgers it completed. The child
 * dies by SIGKILL: sent by the parent after a random delay, or raised by
 * the child itself from the file-system fault hook at a random file
 * operation (any write, fsync, rename, unlink, ... of any thread). The
 * parent then reopens the store: open must succeed, the ledger L must be
 * one the child reached (its last reported ledger, or the one after if it
 * died between the commit and the report) with exactly the reference
 * hashes, every bucket of the state must be on disk hashing to its name,
 * and no temporary file may remain after close. The next child continues
 * from L, so each directory's chain of crashed children replays every
 * ledger; every few iterations the parent itself replays the rest of the
 * ledgers from L + 1 and starts the directory afresh. Two of the
 * directories use three shards with every merge split into pieces.
 *
 * Faults: stores (fsync on) in which one random write, fsync or rename
 * fails with EIO or ENOSPC (tests/core/fault.h). The ledger whose commit
 * sees the failure (synchronously or from a merge on the pool) returns
 * the error, later batches are refused with BDB_EIO, close succeeds, and
 * reopening gives the last committed ledger with the reference hashes,
 * from which replaying the rest gives the reference hashes.
 *
 * Environment: BDB_CRASH_SEED (default: time), BDB_CRASH_ITERATIONS
 * (default 200), BDB_FAULT_RUNS (default 30), BDB_TEST_BATCHES.
 *
 * It found the manifest race (a merge finishing while the manifest was
 * encoded was recorded as finished with the empty bucket), now fixed. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bucketdb/bucketdb.h"
#include "bucketdb/list.h"

#include "../core/fault.h"
#include "batches.h"
#include "store_check.h"

#define LAST        300 /* ledgers replayed (protocols 0 and 10) */
#define FAULT_LAST  120 /* ledgers of a fault run */
#define DIRS        4
#define RESET_EVERY 25 /* the parent replays to the end and starts afresh */

static batches g_b;
static char g_base[64];
static int g_test;   /* TAP test number */
static int g_failed; /* failed TAP tests */
static uint64_t g_rng;

static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static uint64_t rnd_below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static void tap(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %d - ", ok ? "ok" : "not ok", ++g_test);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (!ok) g_failed++;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void store_options(int dix, int fsync_, bdb_list_options *o)
{
    bdb_list_options_init(o);
    o->fsync = fsync_;
    if (dix >= 2) {
        o->shards = 3;
        o->split_bytes = 0;
    }
}

/* ---- the child ---- */

typedef struct kill_ctx {
    _Atomic uint64_t calls;
    uint64_t kill_at; /* 0: never */
} kill_ctx;

static int kill_hook(void *ctx, bdb_fs_op op, const char *path)
{
    (void)op;
    (void)path;
    kill_ctx *k = ctx;
    if (k->kill_at && atomic_fetch_add(&k->calls, 1) + 1 == k->kill_at) raise(SIGKILL);
    return 0;
}

static void say(int fd, const char *fmt, ...)
{
    char buf[1200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof buf - 2) n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    ssize_t w = write(fd, buf, (size_t)n);
    (void)w;
}

static int child_main(const char *dir, int dix, uint64_t kill_at, int fd)
{
    static kill_ctx kc;
    atomic_store(&kc.calls, 0);
    kc.kill_at = kill_at;
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    eo.threads = 2;
    eo.fault_hook = kill_hook;
    eo.fault_ctx = &kc;
    bdb_env *env;
    if (bdb_env_open(&eo, &env)) {
        say(fd, "E env open: %s", bdb_errmsg());
        return 1;
    }
    bdb_list_options o;
    store_options(dix, 1, &o);
    bdb_list *l;
    if (bdb_list_open(env, dir, &o, &l)) {
        say(fd, "E open: %s", bdb_errmsg());
        return 1;
    }
    bdb_list_state st;
    bdb_list_state_get(l, &st);
    say(fd, "S %u", st.ledger);
    char why[1024];
    if (st.ledger && !batch_state_matches(&st, batches_get(&g_b, st.ledger), why, sizeof why)) {
        say(fd, "E at open: %s", why);
        return 1;
    }
    for (uint32_t ledger = st.ledger + 1; ledger <= LAST; ledger++) {
        const batch *b = batches_get(&g_b, ledger);
        int rc = batch_apply(l, b);
        if (rc) {
            say(fd, "E ledger %u: %s", ledger, bdb_errmsg());
            return 1;
        }
        bdb_list_state_get(l, &st);
        if (!batch_state_matches(&st, b, why, sizeof why)) {
            say(fd, "E %s", why);
            return 1;
        }
        say(fd, "A %u", ledger);
    }
    if (bdb_list_close(l) || bdb_env_close(env)) {
        say(fd, "E close: %s", bdb_errmsg());
        return 1;
    }
    return 0;
}

/* ---- the parent ---- */

typedef struct dstate {
    char path[96];
    uint32_t ledger; /* of the store as last verified */
} dstate;

static void wipe(dstate *d)
{
    store_rmdir(d->path);
    d->ledger = 0;
}

/* Opens the store in `d` after a crash and checks it; with `finish`,
 * replays the remaining ledgers too. Returns the ledger, or -1 with why. */
static long verify(dstate *d, int dix, uint32_t lo, uint32_t hi, int finish, char *why, size_t cap)
{
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    eo.threads = 2;
    bdb_env *env;
    if (bdb_env_open(&eo, &env)) {
        batch_err(why, cap, "env open: %s", bdb_errmsg());
        return -1;
    }
    bdb_list_options o;
    store_options(dix, 1, &o);
    bdb_list *l;
    long ret = -1;
    if (bdb_list_open(env, d->path, &o, &l)) {
        batch_err(why, cap, "reopen after the crash failed: %s", bdb_errmsg());
        bdb_env_close(env);
        return -1;
    }
    bdb_list_state st;
    bdb_list_state_get(l, &st);
    if (st.ledger < lo || st.ledger > hi) {
        batch_err(why, cap, "reopened at ledger %u; the child had reached %u..%u", st.ledger, lo,
                  hi);
    } else if (st.ledger && !batch_state_matches(&st, batches_get(&g_b, st.ledger), why, cap)) {
        /* why filled */
    } else if (store_state_files_ok(d->path, &st, why, cap)) {
        /* why filled */
    } else if (finish && st.ledger < LAST &&
               batches_replay(l, &g_b, st.ledger + 1, LAST, why, cap)) {
        /* why filled */
    } else {
        ret = finish ? LAST : st.ledger;
    }
    if (bdb_list_close(l)) {
        batch_err(why, cap, "close: %s", bdb_errmsg());
        ret = -1;
    }
    if (bdb_env_close(env)) {
        batch_err(why, cap, "env close: %s", bdb_errmsg());
        ret = -1;
    }
    if (ret >= 0 && store_tmp_count(d->path)) {
        batch_err(why, cap, "temporary files remain after reopen and close");
        ret = -1;
    }
    return ret;
}

typedef struct crash_stats {
    unsigned timer_kills, hook_kills, finished, before_open, reset;
    uint64_t ledgers;
} crash_stats;

static void crash_iteration(int it, dstate *dirs, crash_stats *cs)
{
    int dix = it % DIRS;
    dstate *d = &dirs[dix];
    if (d->ledger >= LAST || rnd_below(20) == 0) wipe(d);
    int by_hook = (int)(rnd() & 1);
    uint64_t kill_at = by_hook ? 1 + rnd_below(500) : 0;
    unsigned delay_us = (unsigned)rnd_below(40000);
    int p[2];
    if (pipe(p)) {
        tap(0, "pipe: %s", strerror(errno));
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        tap(0, "fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        close(p[0]);
        _exit(child_main(d->path, dix, kill_at, p[1]));
    }
    close(p[1]);
    if (!by_hook) {
        usleep(delay_us);
        kill(pid, SIGKILL);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    /* the child's reports */
    char buf[65536], err[1024] = "";
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
    close(p[0]);
    buf[n] = 0;
    long start = -1, last = -1;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == 'S') start = last = strtol(line + 2, NULL, 10);
        if (line[0] == 'A') last = strtol(line + 2, NULL, 10);
        if (line[0] == 'E' && !err[0]) snprintf(err, sizeof err, "%s", line + 2);
    }
    int killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    int exited0 = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    const char *how = by_hook ? "killed at a file operation" : "killed after a delay";
    if (err[0] || !(killed || exited0)) {
        tap(0, "crash %d (dir %d, %s): child failed: %s (status %d)", it, dix, how,
            err[0] ? err : "no report", status);
        wipe(d);
        return;
    }
    if (start >= 0 && start != (long)d->ledger) {
        tap(0, "crash %d (dir %d): the child opened at %ld, the store was at %u", it, dix, start,
            d->ledger);
        wipe(d);
        return;
    }
    /* without an S report the child died before its open returned: no
     * ledger was added */
    uint32_t lo = start < 0 ? d->ledger : (uint32_t)last;
    uint32_t hi = start < 0 ? d->ledger : (uint32_t)(last < LAST ? last + 1 : LAST);
    if (exited0) {
        cs->finished++;
        lo = hi = LAST;
    } else if (by_hook) {
        cs->hook_kills++;
    } else {
        cs->timer_kills++;
    }
    if (start < 0) cs->before_open++;
    int finish = (it + 1) % RESET_EVERY == 0;
    char why[1024];
    long got = verify(d, dix, lo, hi, finish, why, sizeof why);
    if (got < 0) {
        tap(0, "crash %d (dir %d, %s at ledger %u..%u): %s", it, dix, how, lo, hi, why);
        wipe(d);
        return;
    }
    cs->ledgers += (uint64_t)got - d->ledger;
    tap(1, "crash %d (dir %d, %s): reopened at ledger %ld (child reached %u..%u)%s", it, dix, how,
        got, lo, hi, finish ? ", replayed to the end" : "");
    d->ledger = (uint32_t)got;
    if (finish) {
        cs->reset++;
        wipe(d);
    }
}

/* ---- non-fatal faults ---- */

static int code_of(int err)
{
    return err == ENOSPC ? BDB_ENOSPC : BDB_EIO;
}

/* Calls of each op in a run of FAULT_LAST ledgers without a fault (run 0
 * measures them; later runs pick the failing call among them). */
static uint64_t g_range[3];

static void fault_run(int k, const char *dir)
{
    static const bdb_fs_op ops[] = {BDB_FS_WRITE, BDB_FS_FSYNC, BDB_FS_RENAME};
    static const char *op_names[] = {"write", "fsync", "rename"};
    static fault_plan plan;
    int o = (int)rnd_below(3), err = rnd() & 1 ? EIO : ENOSPC;
    uint64_t nth = k == 0 ? 0 : 1 + rnd_below(g_range[o]);
    char desc[160], why[1024] = "";
    if (k == 0)
        snprintf(desc, sizeof desc, "fault %d: none (counting the operations)", k);
    else
        snprintf(desc, sizeof desc, "fault %d: %s #%" PRIu64 " of %" PRIu64 " fails with %s", k,
                 op_names[o], nth, g_range[o], err == EIO ? "EIO" : "ENOSPC");
    fault_plan_init(&plan);
    bdb_env_options eo;
    bdb_env_options_init(&eo);
    eo.threads = 2;
    eo.fault_hook = fault_hook;
    eo.fault_ctx = &plan;
    bdb_env *env;
    bdb_list *l = NULL;
    bdb_list_options lo;
    store_options(k % 2 ? 2 : 0, 1, &lo);
    int ok = 0;
    uint32_t failed = 0;
    if (bdb_env_open(&eo, &env)) {
        tap(0, "%s: env open: %s", desc, bdb_errmsg());
        return;
    }
    if (bdb_list_open(env, dir, &lo, &l)) {
        batch_err(why, sizeof why, "open: %s", bdb_errmsg());
        goto out;
    }
    if (nth) fault_arm(&plan, ops[o], err, nth, FAULT_ONCE, NULL);
    for (uint32_t ledger = 1; ledger <= FAULT_LAST; ledger++) {
        const batch *b = batches_get(&g_b, ledger);
        int rc = batch_apply(l, b);
        if (rc) {
            failed = ledger;
            if (!fault_injected(&plan, ops[o])) {
                batch_err(why, sizeof why, "ledger %u failed with no fault injected: %s", ledger,
                          bdb_errmsg());
                goto out;
            }
            if (rc != code_of(err)) {
                batch_err(why, sizeof why, "ledger %u: returned %d (%s), expected %d", ledger, rc,
                          bdb_errmsg(), code_of(err));
                goto out;
            }
            break;
        }
        bdb_list_state st;
        bdb_list_state_get(l, &st);
        if (!batch_state_matches(&st, b, why, sizeof why)) goto out;
    }
    fault_disarm(&plan);
    if (k == 0)
        for (int i = 0; i < 3; i++) g_range[i] = fault_seen(&plan, ops[i]);
    if (failed) {
        /* the store refuses further batches until reopened */
        int rc = batch_apply(l, batches_get(&g_b, failed));
        if (rc != BDB_EIO) {
            batch_err(why, sizeof why, "after the failure ledger %u returned %d (%s), not BDB_EIO",
                      failed, rc, bdb_errmsg());
            goto out;
        }
    }
    if (bdb_list_close(l)) {
        batch_err(why, sizeof why, "close: %s", bdb_errmsg());
        l = NULL;
        goto out;
    }
    l = NULL;
    if (bdb_list_open(env, dir, &lo, &l)) {
        batch_err(why, sizeof why, "reopen: %s", bdb_errmsg());
        goto out;
    }
    bdb_list_state st;
    bdb_list_state_get(l, &st);
    uint32_t want = failed ? failed - 1 : FAULT_LAST;
    if (st.ledger != want) {
        batch_err(why, sizeof why, "reopened at ledger %u, expected %u", st.ledger, want);
        goto out;
    }
    if (want && !batch_state_matches(&st, batches_get(&g_b, want), why, sizeof why)) goto out;
    if (want < FAULT_LAST && batches_replay(l, &g_b, want + 1, FAULT_LAST, why, sizeof why))
        goto out;
    ok = 1;
out:
    if (l && bdb_list_close(l)) {
        ok = 0;
        batch_err(why, sizeof why, "close: %s", bdb_errmsg());
    }
    if (bdb_env_close(env)) {
        ok = 0;
        batch_err(why, sizeof why, "env close: %s", bdb_errmsg());
    }
    if (ok && store_tmp_count(dir)) {
        ok = 0;
        batch_err(why, sizeof why, "temporary files remain");
    }
    store_rmdir(dir);
    if (ok && k == 0)
        tap(1, "%s: %" PRIu64 " writes, %" PRIu64 " fsyncs, %" PRIu64 " renames", desc, g_range[0],
            g_range[1], g_range[2]);
    else if (ok)
        tap(1, "%s: %s", desc,
            failed ? "refused from then on, reopened at the last committed ledger"
                   : "after the last ledger (a merge not committed by then)");
    else
        tap(0, "%s: %s", desc, why);
}

static unsigned env_uint(const char *name, unsigned def)
{
    const char *s = getenv(name);
    return s && *s ? (unsigned)strtoul(s, NULL, 10) : def;
}

int main(void)
{
#if defined(__SANITIZE_THREAD__)
    /* TSan cannot start threads in the child of a multithreaded fork; the
     * concurrency of the store is covered by stress_views */
    printf("1..0 # SKIP fork() of a multithreaded process is not supported under TSan\n");
    return 0;
#endif
    char err[512];
    if (batches_load(&g_b, "restart", LAST, err, sizeof err)) {
        printf("Bail out! batch vectors: %s\n", err);
        return 1;
    }
    if (batches_last(&g_b) != LAST) {
        printf("Bail out! the vectors end at ledger %u\n", batches_last(&g_b));
        return 1;
    }
    unsigned seed = env_uint("BDB_CRASH_SEED", (unsigned)time(NULL) ^ (unsigned)getpid());
    unsigned iterations = env_uint("BDB_CRASH_ITERATIONS", 200);
    unsigned fault_runs = env_uint("BDB_FAULT_RUNS", 30);
    g_rng = 0x9e3779b97f4a7c15ull ^ seed;
    if (!g_rng) g_rng = 1;
    printf("1..%u\n", iterations + fault_runs);
    printf("# seed %u (BDB_CRASH_SEED=%u reproduces this run)\n", seed, seed);
    snprintf(g_base, sizeof g_base, "/tmp/bdb-crash-XXXXXX");
    if (!mkdtemp(g_base)) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    dstate dirs[DIRS];
    for (int i = 0; i < DIRS; i++) {
        snprintf(dirs[i].path, sizeof dirs[i].path, "%s/d%d", g_base, i);
        dirs[i].ledger = 0;
    }
    crash_stats cs;
    memset(&cs, 0, sizeof cs);
    double t0 = now();
    for (unsigned it = 0; it < iterations; it++) crash_iteration((int)it, dirs, &cs);
    double t1 = now();
    printf(
        "# crashes: %u after a delay, %u at a file operation (%u before open returned), "
        "%u children finished; %u directories replayed to the end; %" PRIu64 " ledgers; %.1f s\n",
        cs.timer_kills, cs.hook_kills, cs.before_open, cs.finished, cs.reset, cs.ledgers, t1 - t0);
    for (int i = 0; i < DIRS; i++) wipe(&dirs[i]);
    char fdir[128];
    snprintf(fdir, sizeof fdir, "%s/fault", g_base);
    for (unsigned k = 0; k < fault_runs; k++) fault_run((int)k, fdir);
    printf("# faults: %.1f s\n", now() - t1);
    rmdir(g_base);
    batches_free(&g_b);
    return g_failed ? 1 : 0;
}
