/* `bucketdb stats STORE`: the levels, entry counters and read-side memory
 * of a store at its last ledger. Per-bucket sizes come from the store's
 * internal view (the public API has hashes only). */
#include "config.h"

#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "list/store.h"

static const char *const kind_names[11] = {"ACCOUNT",
                                           "TRUSTLINE",
                                           "OFFER",
                                           "DATA",
                                           "CLAIMABLE_BALANCE",
                                           "LIQUIDITY_POOL",
                                           "CONTRACT_DATA_TEMPORARY",
                                           "CONTRACT_DATA_PERSISTENT",
                                           "CONTRACT_CODE",
                                           "CONFIG_SETTING",
                                           "TTL"};

typedef struct snapshot {
    bdb_list_state st;
    uint32_t shards;
    bdb_entry_counters cnt[2];
    bdb_list_read_stats rs;
    bdb_stats es;
} snapshot;

static void hexs(const uint8_t h[32], char out[65])
{
    tool_hex(h, 32, out);
}

static void text_bucket(int level, const char *which, const bdbi_lbucket *b)
{
    char hex[65];
    static const uint8_t zero[32];
    hexs(b ? b->hash : zero, hex);
    printf("  L%-2d %s  %s %9llu %13llu %5u %8u\n", level, which, hex,
           (unsigned long long)(b ? b->records : 0), (unsigned long long)(b ? b->bytes : 0),
           b ? b->n_files : 0, b ? b->protocol : 0);
}

static void print_text(const char *dir, const bdb_list_view *v, const snapshot *s)
{
    char hex[65];
    printf("store     %s\n", dir);
    printf("ledger    %u\n", s->st.ledger);
    printf("protocol  %u\n", s->st.protocol);
    printf("shards    %u\n", s->shards);
    hexs(s->st.header_hash, hex);
    printf("hash      %s (bucketListHash)\n", hex);
    for (int hot = 0; hot < 2; hot++) {
        hexs(hot ? s->st.hot_hash : s->st.live_hash, hex);
        int any = 0;
        for (int i = 0; i < BDB_LIST_LEVELS; i++)
            any |= (hot ? v->hot[i][0] || v->hot[i][1] : v->live[i][0] || v->live[i][1]) != 0;
        printf("\n%s list %s%s\n", hot ? "hot archive" : "live", hex, any ? "" : " (empty)");
        if (!any) continue;
        printf("  %-9s %-64s %9s %13s %5s %8s\n", "level", "hash", "records", "bytes", "files",
               "protocol");
        for (int i = 0; i < BDB_LIST_LEVELS; i++) {
            bdbi_lbucket *const *lv = hot ? v->hot[i] : v->live[i];
            text_bucket(i, "curr", lv[0]);
            text_bucket(i, "snap", lv[1]);
        }
    }
    printf("\n%-26s %12s %14s %12s %14s\n", "entries by type", "live", "live bytes", "hot",
           "hot bytes");
    for (int k = 0; k < 11; k++)
        printf("  %-24s %12llu %14llu %12llu %14llu\n", kind_names[k],
               (unsigned long long)s->cnt[0].count[k], (unsigned long long)s->cnt[0].bytes[k],
               (unsigned long long)s->cnt[1].count[k], (unsigned long long)s->cnt[1].bytes[k]);
    const bdb_list_read_stats *r = &s->rs;
    printf("\nread side\n");
    printf("  files          %llu exact, %llu paged\n", (unsigned long long)r->files_exact,
           (unsigned long long)r->files_paged);
    printf("  records        %llu exact, %llu paged\n", (unsigned long long)r->records_exact,
           (unsigned long long)r->records_paged);
    printf("  index bytes    %llu (page indexes and filters %llu)\n",
           (unsigned long long)r->index_bytes, (unsigned long long)r->page_index_bytes);
    printf("  cache          %llu bytes, capacity %llu entries, holding %llu\n",
           (unsigned long long)r->cache_bytes, (unsigned long long)r->cache_capacity,
           (unsigned long long)r->cache_entries);
    uint64_t lookups = r->cache_hits + r->cache_misses;
    printf("  cache hits     %llu of %llu lookups", (unsigned long long)r->cache_hits,
           (unsigned long long)lookups);
    if (lookups)
        printf(" (%.1f%%)\n", 100.0 * (double)r->cache_hits / (double)lookups);
    else
        printf(" (no lookups since open)\n");
    printf("  memory         index %llu bytes, cache %llu bytes, all %llu bytes (environment)\n",
           (unsigned long long)s->es.mem[BDB_MEM_INDEX].bytes,
           (unsigned long long)s->es.mem[BDB_MEM_CACHE].bytes,
           (unsigned long long)s->es.mem_total.bytes);
}

static void json_bucket(cli_json *j, const char *which, const bdbi_lbucket *b)
{
    char hex[65];
    static const uint8_t zero[32];
    hexs(b ? b->hash : zero, hex);
    cj_key(j, which);
    cj_obj(j);
    cj_key(j, "hash");
    cj_str(j, hex);
    cj_key(j, "records");
    cj_u64(j, b ? b->records : 0);
    cj_key(j, "bytes");
    cj_u64(j, b ? b->bytes : 0);
    cj_key(j, "files");
    cj_u64(j, b ? b->n_files : 0);
    cj_key(j, "protocol");
    cj_u64(j, b ? b->protocol : 0);
    cj_obj_end(j);
}

static void print_json(const char *dir, const bdb_list_view *v, const snapshot *s)
{
    char hex[65];
    cli_json j;
    cj_init(&j, stdout);
    cj_obj(&j);
    cj_key(&j, "store");
    cj_str(&j, dir);
    cj_key(&j, "ledger");
    cj_u64(&j, s->st.ledger);
    cj_key(&j, "protocol");
    cj_u64(&j, s->st.protocol);
    cj_key(&j, "shards");
    cj_u64(&j, s->shards);
    hexs(s->st.header_hash, hex);
    cj_key(&j, "hash");
    cj_str(&j, hex);
    for (int hot = 0; hot < 2; hot++) {
        hexs(hot ? s->st.hot_hash : s->st.live_hash, hex);
        cj_key(&j, hot ? "hot" : "live");
        cj_obj(&j);
        cj_key(&j, "hash");
        cj_str(&j, hex);
        cj_key(&j, "levels");
        cj_arr(&j);
        for (int i = 0; i < BDB_LIST_LEVELS; i++) {
            bdbi_lbucket *const *lv = hot ? v->hot[i] : v->live[i];
            cj_obj(&j);
            cj_key(&j, "level");
            cj_u64(&j, (uint64_t)i);
            json_bucket(&j, "curr", lv[0]);
            json_bucket(&j, "snap", lv[1]);
            cj_obj_end(&j);
        }
        cj_arr_end(&j);
        cj_key(&j, "entries");
        cj_obj(&j);
        for (int k = 0; k < 11; k++) {
            cj_key(&j, kind_names[k]);
            cj_obj(&j);
            cj_key(&j, "records");
            cj_u64(&j, s->cnt[hot].count[k]);
            cj_key(&j, "bytes");
            cj_u64(&j, s->cnt[hot].bytes[k]);
            cj_obj_end(&j);
        }
        cj_obj_end(&j);
        cj_obj_end(&j);
    }
    const bdb_list_read_stats *r = &s->rs;
    cj_key(&j, "read");
    cj_obj(&j);
    const struct {
        const char *k;
        uint64_t v;
    } f[] = {{"files_exact", r->files_exact},
             {"files_paged", r->files_paged},
             {"records_exact", r->records_exact},
             {"records_paged", r->records_paged},
             {"index_bytes", r->index_bytes},
             {"page_index_bytes", r->page_index_bytes},
             {"cache_bytes", r->cache_bytes},
             {"cache_capacity", r->cache_capacity},
             {"cache_entries", r->cache_entries},
             {"cache_hits", r->cache_hits},
             {"cache_misses", r->cache_misses},
             {"env_index_bytes", s->es.mem[BDB_MEM_INDEX].bytes},
             {"env_cache_bytes", s->es.mem[BDB_MEM_CACHE].bytes},
             {"env_total_bytes", s->es.mem_total.bytes}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        cj_key(&j, f[i].k);
        cj_u64(&j, f[i].v);
    }
    uint64_t lookups = r->cache_hits + r->cache_misses;
    cj_key(&j, "cache_hit_rate");
    if (lookups)
        cj_double(&j, (double)r->cache_hits / (double)lookups);
    else
        cj_null(&j);
    cj_obj_end(&j);
    cj_obj_end(&j);
    cj_end(&j);
}

int cmd_stats_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", 0, NULL, 'j'}, CLI_STORE_LONGOPTS, {NULL, 0, NULL, 0}};
    cli_store_args sa;
    cli_store_args_init(&sa);
    int json = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c >= 1001 && c <= 1003) {
            if (cli_store_arg("stats", c, optarg, &sa)) return 2;
        } else
            return cli_bad_option("stats", c, argc, argv);
    }
    if (optind != argc - 1) return cli_usage_error("stats", "expected one STORE directory");
    const char *dir = argv[optind];
    bdb_env *env;
    bdb_list *l;
    /* read-only, as get */
    if (cli_store_open("stats", dir, &sa, 1, 1, &env, &l)) return 1;
    snapshot s;
    memset(&s, 0, sizeof s);
    s.shards = l->n_shards;
    bdb_list_view *v = bdb_list_view_acquire(l);
    if (!v) {
        cli_err("stats", "the store in %s has no ledger yet", dir);
        cli_store_close("stats", env, l);
        return 1;
    }
    bdb_list_view_state(v, &s.st);
    bdb_list_entry_counters(v, 0, &s.cnt[0]);
    bdb_list_entry_counters(v, 1, &s.cnt[1]);
    bdb_list_read_stats_get(v, &s.rs);
    bdb_env_stats(env, &s.es);
    if (json)
        print_json(dir, v, &s);
    else
        print_text(dir, v, &s);
    bdb_list_view_release(v);
    return cli_store_close("stats", env, l);
}
