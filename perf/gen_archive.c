/* Writing a generated state as a history archive (gen_archive.h) in one
 * streaming pass: the iterator yields the state in bucket order, each
 * key's records are routed to their buckets' writers (all open at once,
 * each streaming to its file), then the buckets are gzipped into the
 * archive's layout on `threads` threads, largest first, and the HAS
 * written last, so that it never names a bucket that is not there. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bucketdb/archive.h"
#include "bucketdb/bucket.h"

#include "archive/has.h"
#include "core/error.h"
#include "core/fs.h"

#include "bench_util.h"
#include "gen_archive.h"
#include "gen_pgzip.h"

void gen_archive_opts_init(gen_archive_opts *o)
{
    memset(o, 0, sizeof *o);
    o->ledger = GEN_ARCHIVE_LEDGER;
    o->protocol = GEN_ARCHIVE_PROTOCOL;
    o->gzip_level = 6;
    o->threads = 2;
    o->passphrase = GEN_ARCHIVE_PASSPHRASE;
    o->pgzip_min = (uint64_t)32 << 20;
}

static int check_opts(const gen_archive_opts *o)
{
    if (!o->out) return bdbi_err(BDB_EINVAL, "no output directory");
    if (o->entries < GEN_MIN_ENTRIES)
        return bdbi_err(BDB_EINVAL, "entries = %llu: at least %d", (unsigned long long)o->entries,
                        GEN_MIN_ENTRIES);
    if (!bdb_archive_is_checkpoint(o->ledger))
        return bdbi_err(BDB_EINVAL, "ledger %u is not a checkpoint ((ledger + 1) %% 64 != 0)",
                        o->ledger);
    /* below 12 a published HAS names merge outputs this writer does not make */
    if (o->protocol < BDB_PROTOCOL_NO_SHADOWS || o->protocol > BDB_PROTOCOL_MAX)
        return bdbi_err(BDB_EINVAL, "protocol %u: %d..%d", o->protocol, BDB_PROTOCOL_NO_SHADOWS,
                        BDB_PROTOCOL_MAX);
    if (o->gzip_level < 1 || o->gzip_level > 9)
        return bdbi_err(BDB_EINVAL, "gzip level %d: 1..9", o->gzip_level);
    if (o->threads < 1 || o->threads > 64)
        return bdbi_err(BDB_EINVAL, "threads %u: 1..64", o->threads);
    return 0;
}

/* ---- the streaming pass ---- */

typedef struct pass {
    bdb_env *env;
    const gen *g;
    const gen_layout *lo;
    bdb_bucket_writer *w[GEN_BUCKETS];
    uint8_t *rec;
    gen_archive_report *r;
} pass;

static int put_record(pass *p, const gen_item *it, const gen_rec *x)
{
    uint8_t *rec = p->rec;
    size_t n;
    rec[0] = (uint8_t)((uint32_t)x->type >> 24), rec[1] = (uint8_t)((uint32_t)x->type >> 16);
    rec[2] = (uint8_t)((uint32_t)x->type >> 8), rec[3] = (uint8_t)x->type;
    if (x->type == BDB_DEADENTRY)
        n = gen_key(p->g, it->type, it->slot, rec + 4);
    else
        n = gen_entry(p->g, it->type, it->slot, x->version, x->ledger, rec + 4, GEN_ENTRY_MAX);
    int rc = bdb_bucket_writer_put(p->w[x->bucket], rec, n + 4);
    if (rc) return rc;
    gen_archive_bucket *b = &p->r->buckets[x->bucket];
    b->records[x->type]++;
    p->r->records[it->type]++;
    p->r->record_bytes[it->type] += n + 4;
    return 0;
}

static int stream(pass *p, const gen_archive_opts *o, const char *tmp)
{
    gen_iter *iter;
    if (gen_iter_open(p->g, GEN_ITER_DELETED, tmp, &iter))
        return bdbi_err_sys(errno, tmp, "cannot start the generator's iteration");
    gen_item it;
    gen_rec x[2];
    int rc = 0, more;
    uint64_t items = 0;
    double t0 = now_s();
    while (!rc && (more = gen_iter_next(iter, &it)) == 1) {
        int n = gen_layout_place(p->lo, it.type, it.slot, x);
        for (int i = 0; !rc && i < n; i++) rc = put_record(p, &it, &x[i]);
        if (it.slot % 4 == GEN_LIVE)
            p->r->live[it.type]++;
        else
            p->r->deleted++;
        if (o->progress && ++items % (1u << 21) == 0)
            fprintf(stderr, "bdb-gen: %llu keys written (%s), %.1f s\n", (unsigned long long)items,
                    bdb_entry_type_name(it.type), now_s() - t0);
    }
    if (!rc && more < 0) rc = bdbi_err_sys(errno, tmp, "the generator's TTL partitions");
    gen_iter_close(iter);
    return rc;
}

/* ---- gzip ---- */

typedef struct gz_job {
    uint8_t hash[32];
    char src[PATH_MAX], dst[PATH_MAX];
    uint64_t bytes, gz_bytes;
    int rc;
    char err[512];
} gz_job;

typedef struct gz_run {
    bdb_env *env;
    gz_job *jobs;
    size_t n;
    atomic_size_t next;
    int level, fsync;
} gz_run;

static void *gz_worker(void *arg)
{
    gz_run *g = arg;
    size_t i;
    while ((i = atomic_fetch_add(&g->next, 1)) < g->n) {
        gz_job *j = &g->jobs[i];
        j->rc = bdb_bucket_gzip(g->env, j->src, j->dst, g->level, g->fsync);
        if (j->rc) {
            snprintf(j->err, sizeof j->err, "%s", bdb_errmsg());
            continue;
        }
        struct stat st;
        j->gz_bytes = stat(j->dst, &st) == 0 ? (uint64_t)st.st_size : 0;
        unlink(j->src);
    }
    return NULL;
}

/* A large bucket: every thread on it. */
static void gz_large(const gen_archive_opts *o, gz_job *j)
{
    if (gen_pgzip(j->src, j->dst, o->gzip_level, o->threads, o->fsync, &j->gz_bytes)) {
        j->rc = bdbi_err_sys(errno, j->dst, "gzip of %s failed", j->src);
        snprintf(j->err, sizeof j->err, "%s", bdb_errmsg());
        return;
    }
    unlink(j->src);
}

static int job_cmp(const void *a, const void *b)
{
    const gz_job *x = a, *y = b;
    return (x->bytes < y->bytes) - (x->bytes > y->bytes);
}

/* Gzips every distinct bucket file into the archive; fills gz_bytes. */
static int gzip_all(bdb_env *env, const gen_archive_opts *o, const char *tmp, gen_archive_report *r)
{
    gz_job *jobs = calloc(GEN_BUCKETS, sizeof *jobs);
    if (!jobs) return BDB_ENOMEM;
    size_t n = 0;
    int rc = 0;
    for (int b = 0; !rc && b < GEN_BUCKETS; b++) {
        const gen_archive_bucket *bk = &r->buckets[b];
        int dup = 0;
        for (int c = 0; c < b; c++)
            dup |= r->buckets[c].file && !memcmp(r->buckets[c].hash, bk->hash, 32);
        if (!bk->file || dup) continue; /* identical buckets are one file */
        char name[BDB_BUCKET_NAME_LEN], rel[BDB_ARCHIVE_PATH_MAX];
        bdb_bucket_name(bk->hash, name);
        bdb_archive_bucket_path(bk->hash, rel);
        if (snprintf(jobs[n].src, PATH_MAX, "%s/%s", tmp, name) >= PATH_MAX ||
            snprintf(jobs[n].dst, PATH_MAX, "%s/%s", o->out, rel) >= PATH_MAX) {
            rc = bdbi_err(BDB_EINVAL, "path too long under %s", o->out);
            break;
        }
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", jobs[n].dst);
        *strrchr(dir, '/') = 0;
        rc = bdbi_fs_mkdirs(env, dir);
        memcpy(jobs[n].hash, bk->hash, 32);
        jobs[n++].bytes = bk->bytes;
    }
    qsort(jobs, n, sizeof *jobs, job_cmp);
    size_t large = 0;
    while (!rc && large < n && jobs[large].bytes >= o->pgzip_min) {
        gz_large(o, &jobs[large]);
        if (jobs[large++].rc) break;
    }
    gz_run run = {.env = env,
                  .jobs = jobs + large,
                  .n = n - large,
                  .level = o->gzip_level,
                  .fsync = o->fsync};
    atomic_init(&run.next, 0);
    pthread_t th[64];
    unsigned started = 0;
    for (unsigned t = 1; !rc && t < o->threads; t++)
        if (pthread_create(&th[started], NULL, gz_worker, &run) == 0) started++;
    if (!rc) gz_worker(&run);
    for (unsigned t = 0; t < started; t++) pthread_join(th[t], NULL);
    for (size_t i = 0; !rc && i < n; i++)
        if (jobs[i].rc) rc = bdbi_err(jobs[i].rc, "%s", jobs[i].err);
    for (int b = 0; !rc && b < GEN_BUCKETS; b++) {
        gen_archive_bucket *bk = &r->buckets[b];
        for (size_t i = 0; bk->file && i < n; i++)
            if (!memcmp(jobs[i].hash, bk->hash, 32)) bk->gz_bytes = jobs[i].gz_bytes;
    }
    for (size_t i = 0; i < n; i++) r->gz_bytes += jobs[i].gz_bytes;
    free(jobs);
    return rc;
}

/* ---- the HAS ---- */

static int write_has(bdb_env *env, const gen_archive_opts *o, const gen_archive_report *r)
{
    bdbi_has h;
    memset(&h, 0, sizeof h);
    h.version = o->protocol >= BDB_PROTOCOL_HOT_ARCHIVE ? 2 : 1;
    h.server = (char *)"bdb-gen";
    h.current_ledger = o->ledger;
    h.network_passphrase = (char *)o->passphrase;
    for (int i = 0; i < BDB_LIST_LEVELS; i++) {
        memcpy(h.current_buckets[i].curr, r->buckets[2 * i].hash, 32);
        memcpy(h.current_buckets[i].snap, r->buckets[2 * i + 1].hash, 32);
    }
    size_t need = 0, len = 0;
    (void)bdbi_has_write(&h, NULL, 0, &need);
    char *json = malloc(need ? need : 1);
    if (!json) return BDB_ENOMEM;
    int rc = bdbi_has_write(&h, json, need, &len);
    char rel[BDB_ARCHIVE_PATH_MAX], path[PATH_MAX];
    for (int k = 0; !rc && k < 2; k++) {
        if (k == 0)
            bdb_archive_has_path(o->ledger, rel);
        else
            snprintf(rel, sizeof rel, "%s", BDB_ARCHIVE_WELL_KNOWN);
        snprintf(path, sizeof path, "%s/%s", o->out, rel);
        *strrchr(path, '/') = 0;
        rc = bdbi_fs_mkdirs(env, path);
        snprintf(path, sizeof path, "%s/%s", o->out, rel);
        if (!rc) rc = bdbi_fs_write_file(env, path, json, len, o->fsync ? 0 : BDBI_FS_NOSYNC);
    }
    free(json);
    return rc;
}

/* ---- the whole ---- */

static int open_writers(pass *p, const gen_archive_opts *o, const char *tmp)
{
    bdb_bucket_writer_options wo;
    bdb_bucket_writer_options_init(&wo);
    wo.protocol = o->protocol;
    wo.fsync = o->fsync;
    for (int b = 0; b < GEN_BUCKETS; b++) {
        gen_archive_bucket *bk = &p->r->buckets[b];
        bk->ledgers = p->lo->size[b];
        bk->oldest = bk->ledgers ? o->ledger - (uint32_t)p->lo->age_lo[b + 1] + 1 : 0;
        if (!gen_layout_is_file(p->lo, b)) continue;
        int rc = bdb_bucket_writer_open(p->env, tmp, &wo, &p->w[b]);
        if (rc) return rc;
    }
    return 0;
}

static int finish_writers(pass *p)
{
    int rc = 0;
    for (int b = 0; b < GEN_BUCKETS; b++) {
        if (!p->w[b]) continue;
        bdb_bucket_info info;
        int frc = bdb_bucket_writer_finish(p->w[b], &info);
        p->w[b] = NULL;
        if (frc) {
            if (!rc) rc = frc;
            continue;
        }
        /* a level at protocol >= 11 has its METAENTRY: never empty */
        gen_archive_bucket *bk = &p->r->buckets[b];
        bk->file = !info.empty;
        memcpy(bk->hash, info.hash, 32);
        bk->bytes = info.bytes;
        p->r->bytes += info.bytes;
    }
    return rc;
}

int gen_archive_write(bdb_env *env, const gen_archive_opts *o, gen_archive_report *r)
{
    memset(r, 0, sizeof *r);
    int rc = check_opts(o);
    if (rc) return rc;
    double t0 = now_s();
    gen *g = gen_new(o->seed, o->entries);
    if (!g) return BDB_ENOMEM;
    gen_layout lo;
    gen_layout_init(&lo, g, o->ledger);
    char tmp[PATH_MAX];
    if (o->tmpdir)
        snprintf(tmp, sizeof tmp, "%s", o->tmpdir);
    else
        snprintf(tmp, sizeof tmp, "%s/.bdb-gen-tmp", o->out);
    pass p = {.env = env, .g = g, .lo = &lo, .r = r, .rec = malloc(GEN_ENTRY_MAX + 4)};
    rc = p.rec ? bdbi_fs_mkdirs(env, tmp) : BDB_ENOMEM;
    if (!rc) rc = open_writers(&p, o, tmp);
    if (!rc) rc = stream(&p, o, tmp);
    if (!rc) {
        rc = finish_writers(&p);
    } else {
        for (int b = 0; b < GEN_BUCKETS; b++) bdb_bucket_writer_abort(p.w[b]);
    }
    free(p.rec);
    gen_free(g);
    double t1 = now_s();
    r->write_s = t1 - t0;
    if (!rc) rc = gzip_all(env, o, tmp, r);
    r->gzip_s = now_s() - t1;
    if (!rc) rc = write_has(env, o, r);
    if (!rc && !o->tmpdir) rmdir(tmp);
    if (!rc) {
        uint8_t curr[BDB_LIST_LEVELS][32], snap[BDB_LIST_LEVELS][32];
        for (int i = 0; i < BDB_LIST_LEVELS; i++) {
            memcpy(curr[i], r->buckets[2 * i].hash, 32);
            memcpy(snap[i], r->buckets[2 * i + 1].hash, 32);
        }
        rc = bdb_list_hash(curr, snap, r->list_hash);
        uint8_t hot[32];
        memset(curr, 0, sizeof curr);
        memset(snap, 0, sizeof snap);
        if (!rc) rc = bdb_list_hash(curr, snap, hot);
        if (!rc) rc = bdb_header_bucket_list_hash(o->protocol, r->list_hash, hot, r->header_hash);
    }
    r->total_s = now_s() - t0;
    r->peak_rss_kib = status_kib("VmHWM");
    return rc;
}
