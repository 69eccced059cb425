/* `bucketdb demo`: exercises every part of the core runtime once and says
 * what happened. It writes files with deterministic content in parallel
 * on the pool (earliest deadline first), reads them back through mmap and
 * checks their SHA-256, shows the directory lock refusing a second holder
 * and an injected ENOSPC leaving no file behind, publishes objects to RCU
 * readers, and ends with the environment's statistics as JSON. */
#include "config.h"

#include "cli.h"
#include "hex.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bucketdb/bucketdb.h"
#include "core/alloc.h"
#include "core/env.h"
#include "core/fs.h"
#include "core/pool.h"
#include "core/rcu.h"
#include "core/sha256.h"

struct file_job {
    bdb_env *env;
    char path[2100];
    size_t bytes;
    unsigned index;
    uint8_t digest[BDBI_SHA256_LEN];
    _Atomic unsigned *order; /* completion counter shared by all jobs */
    unsigned ran_as;         /* position in which the task ran */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Writes one file of deterministic bytes and hashes them on the way. */
static int write_job(void *arg, bdbi_future *self)
{
    (void)self;
    struct file_job *j = arg;
    j->ran_as = atomic_fetch_add(j->order, 1);
    uint64_t block[8192];
    uint64_t x = 0x9e3779b97f4a7c15ull * (j->index + 1);
    bdbi_file *f;
    bdbi_sha256 h;
    int rc = bdbi_sha256_init(&h);
    if (rc) return rc;
    rc = bdbi_file_create(j->env, j->path, BDBI_FS_NOREPLACE, 0, &f);
    if (rc) {
        bdbi_sha256_discard(&h);
        return rc;
    }
    for (size_t done = 0; done < j->bytes && rc == 0; done += sizeof block) {
        for (size_t i = 0; i < 8192; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            block[i] = x;
        }
        size_t n = j->bytes - done < sizeof block ? j->bytes - done : sizeof block;
        bdbi_sha256_update(&h, block, n);
        rc = bdbi_file_write(f, block, n);
    }
    if (rc) {
        bdbi_file_abort(f);
        bdbi_sha256_discard(&h);
        return rc;
    }
    bdbi_sha256_final(&h, j->digest);
    return bdbi_file_commit(f);
}

/* Maps a file back and checks its SHA-256 against the writer's. */
static int verify_job(void *arg, bdbi_future *self)
{
    (void)self;
    struct file_job *j = arg;
    bdbi_map m;
    int rc = bdbi_mmap_file(j->env, j->path, BDBI_ADV_SEQUENTIAL, &m);
    if (rc) return rc;
    uint8_t d[BDBI_SHA256_LEN];
    rc = bdbi_sha256_digest(m.data ? m.data : (const uint8_t *)"", m.len, d);
    size_t len = m.len;
    bdbi_munmap(&m);
    if (rc) return rc;
    if (len != j->bytes || memcmp(d, j->digest, sizeof d) != 0) return BDB_ECORRUPT;
    return 0;
}

static int fail_rename(void *ctx, bdb_fs_op op, const char *path)
{
    (void)ctx;
    (void)path;
    return op == BDB_FS_RENAME ? ENOSPC : 0;
}

/* --- RCU publication ---------------------------------------------------- */

struct config {
    struct rcu_head head;
    bdb_env *env;
    uint64_t version;
    uint64_t check; /* version * 3: a reader that sees a torn object notices */
};

static struct config *current_config;
static _Atomic int readers_stop;
static _Atomic uint64_t reads_ok, reads_bad;

static void free_config(struct rcu_head *h)
{
    BDBI_RCU_CALLBACK_ENTER();
    struct config *c = caa_container_of(h, struct config, head);
    bdbi_free(c->env, BDB_MEM_OTHER, c, sizeof *c);
}

static void *config_reader(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&readers_stop, memory_order_relaxed)) {
        bdbi_rcu_read_lock();
        struct config *c = bdbi_rcu_deref(current_config);
        int ok = c && c->check == c->version * 3;
        bdbi_rcu_read_unlock();
        atomic_fetch_add_explicit(ok ? &reads_ok : &reads_bad, 1, memory_order_relaxed);
    }
    return NULL;
}

static int publish_config(bdb_env *env, uint64_t version)
{
    struct config *c = bdbi_malloc(env, BDB_MEM_OTHER, sizeof *c);
    if (!c) return BDB_ENOMEM;
    c->env = env;
    c->version = version;
    c->check = version * 3;
    struct config *old = bdbi_rcu_xchg(current_config, c);
    if (old) bdbi_call_rcu(&old->head, free_config);
    return 0;
}

/* --- statistics ----------------------------------------------------------- */

static json_t *stats_json(bdb_env *env)
{
    bdb_stats st;
    bdb_env_stats(env, &st);
    json_t *mem = json_object();
    for (int c = 0; c < BDB_MEM__COUNT; c++) {
        if (!st.mem[c].allocs) continue;
        json_object_set_new(mem, bdb_mem_category_name(c),
                            json_pack("{s:I,s:I,s:I,s:I}", "bytes", (json_int_t)st.mem[c].bytes,
                                      "peak_bytes", (json_int_t)st.mem[c].peak_bytes, "allocs",
                                      (json_int_t)st.mem[c].allocs, "frees",
                                      (json_int_t)st.mem[c].frees));
    }
    json_t *faults = json_object();
    for (int i = 0; i < BDB_FS__COUNT; i++)
        if (st.faults_injected[i])
            json_object_set_new(faults, bdb_fs_op_name(i),
                                json_integer((json_int_t)st.faults_injected[i]));
    return json_pack(
        "{s:o,s:{s:I,s:I},s:{s:i,s:I,s:I,s:I},s:I,s:o}", "memory", mem, "total", "bytes",
        (json_int_t)st.mem_total.bytes, "peak_bytes", (json_int_t)st.mem_total.peak_bytes, "pool",
        "threads", st.pool.threads, "submitted", (json_int_t)st.pool.submitted, "completed",
        (json_int_t)st.pool.completed, "canceled", (json_int_t)st.pool.canceled,
        "arena_active_bytes", (json_int_t)st.arena_active_bytes, "faults_injected", faults);
}

static int remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0 && errno == EISDIR) remove_tree(path);
    }
    closedir(d);
    return rmdir(dir);
}

static int count_tmp_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += bdbi_fs_is_tmp_name(e->d_name);
    closedir(d);
    return n;
}

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != 0) {                                                                            \
            fprintf(stderr, "demo: %s failed: %s\n", #expr, bdb_errmsg());                         \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

int demo_main(int argc, char **argv)
{
    const char *dir_opt = NULL;
    unsigned files = 32, mib = 4, threads = 0;
    int keep = 0;
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'}, {"files", required_argument, NULL, 'n'},
        {"mib", required_argument, NULL, 'm'}, {"threads", required_argument, NULL, 't'},
        {"keep", no_argument, NULL, 'k'},      {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "d:n:m:t:k", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir_opt = optarg;
            break;
        case 'n':
            files = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'm':
            mib = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 't':
            threads = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'k':
            keep = 1;
            break;
        default:
            return 2;
        }
    }
    if (files == 0 || files > 4096 || mib > 1024) {
        fprintf(stderr, "demo: --files must be 1..4096 and --mib 0..1024\n");
        return 2;
    }

    int status = 1;
    bdb_env *env = NULL, *faulty = NULL;
    bdbi_dirlock *lock = NULL;
    struct file_job *jobs = NULL;
    bdbi_future **fut = NULL;
    char dir[2048];
    if (dir_opt)
        snprintf(dir, sizeof dir, "%s", dir_opt);
    else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/bucketdb-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            perror("demo: mkdtemp");
            return 1;
        }
    }

    bdb_env_options o;
    bdb_env_options_init(&o);
    o.threads = threads;
    CHECK(bdb_env_open(&o, &env));
    printf("bucketdb %s demo: %u worker threads, SHA-256 from %s, allocator %s\n", bdb_version(),
           bdb_env_threads(env), bdbi_sha256_backend(),
           env->alloc.arena_on ? "jemalloc (private arena)" : "process malloc");

    /* 1. directory lock */
    CHECK(bdbi_fs_mkdirs(env, dir));
    CHECK(bdbi_dirlock_acquire(env, dir, &lock, NULL));
    bdbi_dirlock *second = NULL;
    pid_t holder = 0;
    int lrc = bdbi_dirlock_acquire(env, dir, &second, &holder);
    printf("lock     %s locked; a second open is refused: %s (holder pid %ld, ours %ld)\n", dir,
           lrc == BDB_ELOCKED ? "yes" : "NO", (long)holder, (long)getpid());
    if (lrc != BDB_ELOCKED) goto out;

    /* 2. parallel atomic writes, earliest deadline first */
    jobs = calloc(files, sizeof *jobs);
    fut = calloc(files, sizeof *fut);
    if (!jobs || !fut) goto out;
    _Atomic unsigned order = 0;
    double t0 = now_s();
    for (unsigned i = 0; i < files; i++) {
        struct file_job *j = &jobs[i];
        j->env = env;
        j->index = i;
        j->bytes = (size_t)mib << 20;
        j->order = &order;
        snprintf(j->path, sizeof j->path, "%s/file-%04u.bin", dir, i);
        /* later files get earlier deadlines: the pool runs them first */
        CHECK(bdbi_pool_submit(env->pool, write_job, j, files - i, &fut[i]));
    }
    int failed = 0;
    for (unsigned i = 0; i < files; i++) {
        failed += bdbi_future_wait(fut[i]) != 0;
        bdbi_future_release(fut[i]);
    }
    double t1 = now_s();
    double total_mib = (double)files * mib;
    printf("write    %u files x %u MiB written atomically (tmp, fsync, rename, dir fsync) and "
           "hashed in %.2f s: %.0f MiB/s, %d failed\n",
           files, mib, t1 - t0, total_mib / (t1 - t0), failed);
    printf("order    files in the order the pool ran them:");
    for (unsigned pos = 0; pos < files && pos < 12; pos++)
        for (unsigned i = 0; i < files; i++)
            if (jobs[i].ran_as == pos) printf(" %u", i);
    printf("%s (file i has deadline %u-i; earliest deadline first, except for files an idle "
           "worker took before the later ones were queued)\n",
           files > 12 ? " ..." : "", files);
    if (failed) goto out;

    /* 3. mmap and verify */
    t0 = now_s();
    for (unsigned i = 0; i < files; i++)
        CHECK(bdbi_pool_submit(env->pool, verify_job, &jobs[i], BDBI_NO_DEADLINE, &fut[i]));
    for (unsigned i = 0; i < files; i++) {
        failed += bdbi_future_wait(fut[i]) != 0;
        bdbi_future_release(fut[i]);
    }
    t1 = now_s();
    char h0[65];
    tool_hex(jobs[0].digest, BDBI_SHA256_LEN, h0);
    printf("verify   %u files mapped read-only and re-hashed in %.2f s: %.0f MiB/s, %d "
           "mismatches; sha256(file-0000) = %s\n",
           files, t1 - t0, total_mib / (t1 - t0), failed, h0);
    if (failed) goto out;

    /* 4. fault injection: ENOSPC at rename leaves nothing behind */
    bdb_env_options fo;
    bdb_env_options_init(&fo);
    fo.threads = 1;
    fo.fault_hook = fail_rename;
    CHECK(bdb_env_open(&fo, &faulty));
    char fpath[2100];
    snprintf(fpath, sizeof fpath, "%s/never.bin", dir);
    int frc = bdbi_fs_write_file(faulty, fpath, "x", 1, 0);
    int tmp_left = count_tmp_files(dir);
    printf("fault    injected ENOSPC at rename -> %s; temporary files left: %d; final file "
           "exists: %s\n",
           bdb_errmsg(), tmp_left, access(fpath, F_OK) == 0 ? "YES" : "no");
    if (frc != BDB_ENOSPC || tmp_left != 0 || access(fpath, F_OK) == 0) goto out;

    /* 5. RCU publication under concurrent readers */
    pthread_t rd[2];
    CHECK(publish_config(env, 1));
    for (int i = 0; i < 2; i++) pthread_create(&rd[i], NULL, config_reader, NULL);
    for (uint64_t v = 2; v <= 20000; v++) CHECK(publish_config(env, v));
    atomic_store(&readers_stop, 1);
    for (int i = 0; i < 2; i++) pthread_join(rd[i], NULL);
    struct config *last = bdbi_rcu_xchg(current_config, (struct config *)NULL);
    if (last) bdbi_call_rcu(&last->head, free_config);
    bdbi_rcu_barrier();
    printf("rcu      20000 versions published to 2 lock-free readers: %llu consistent reads, "
           "%llu torn; all old versions reclaimed after grace periods\n",
           (unsigned long long)atomic_load(&reads_ok), (unsigned long long)atomic_load(&reads_bad));
    if (atomic_load(&reads_bad)) goto out;

    /* 6. statistics */
    json_t *js = stats_json(env);
    json_t *jf = stats_json(faulty);
    json_t *all = json_pack("{s:o,s:o}", "env", js, "faulty_env", jf);
    char *text = json_dumps(all, JSON_INDENT(2) | JSON_SORT_KEYS);
    printf("stats    %s\n", text ? text : "{}");
    free(text);
    json_decref(all);
    status = 0;

out:
    bdbi_dirlock_release(lock);
    if (faulty && bdb_env_close(faulty) != 0) status = 1;
    if (env && bdb_env_close(env) != 0) {
        fprintf(stderr, "demo: closing the environment: %s\n", bdb_errmsg());
        status = 1;
    }
    free(jobs);
    free(fut);
    if (!keep && !dir_opt) remove_tree(dir);
    printf("demo     %s\n", status == 0 ? "OK" : "FAILED");
    return status;
}
