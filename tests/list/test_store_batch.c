/* The store's input validation, options, locking and views, against the
 * reference model's hashes (tests/vectors/batches):
 *
 * - every refused batch (ledger gap, ledger 0, protocol decrease, protocol
 *   above the maximum, malformed entries, a key given twice (H11), hot
 *   batches below protocol 23, a missing hot batch, a staged hot batch for
 *   another ledger or above the ledger's protocol) leaves the state and
 *   the directory unchanged, and the correct batch is then accepted and
 *   gives the expected hash;
 * - options are checked, naming the option; a second handle on the same
 *   directory is BDB_ELOCKED; close with an acquired view is BDB_EBUSY;
 * - a view keeps its ledger's hashes and its buckets' files until it is
 *   released;
 * - H18: the header hash is the live list's hash below protocol 23 and
 *   SHA-256(live ‖ hot) from 23. */
#include "config.h"

#include <sys/stat.h>
#include <unistd.h>

#include "bucketdb/ledger.h"
#include "core/rcu.h"
#include "core/sha256.h"

#include "store_fixture.h"

TestSuite(store_batch, .init = store_setup, .fini = store_teardown, .timeout = 120);

/* ---- refused batches ---- */

/* What a refusal must leave unchanged: the state and the newest manifest. */
typedef struct snapshot {
    bdb_list_state st;
    uint32_t manifest;
    int manifests;
} snapshot;

static snapshot take(bdb_list *l)
{
    snapshot s;
    memset(&s, 0, sizeof s);
    cr_assert_eq(bdb_list_state_get(l, &s.st), 0);
    s.manifest = sc_newest_manifest(g_dir, &s.manifests);
    return s;
}

/* The call returned `want` and changed nothing; returns the message. */
static const char *refused(bdb_list *l, const snapshot *before, int rc, int want, const char *what)
{
    static char msg[1024];
    snprintf(msg, sizeof msg, "%s", bdb_errmsg());
    cr_assert_eq(rc, want, "%s: returned %d (%s), expected %d (%s)", what, rc, msg, want,
                 bdb_strerror(want));
    snapshot after = take(l);
    cr_assert_eq(memcmp(&after.st, &before->st, sizeof after.st), 0, "%s changed the state", what);
    cr_assert_eq(after.manifest, before->manifest, "%s wrote a manifest", what);
    cr_assert_eq(after.manifests, before->manifests);
    return msg;
}

static int add(bdb_list *l, uint32_t ledger, uint32_t protocol, const batch *b)
{
    return bdb_list_add_batch(l, ledger, protocol, b->init, b->n_init, b->live, b->n_live, b->dead,
                              b->n_dead);
}

/* A store at `ledger`. */
static bdb_list *store_at(uint32_t ledger)
{
    bdb_list_options o = store_opts();
    bdb_list *l = store_open(&o);
    if (ledger) store_replay(l, 1, ledger);
    return l;
}

Test(store_batch, ledger_gap_refused)
{
    bdb_list *l = store_at(100);
    snapshot s = take(l);
    const char *m = refused(l, &s, add(l, 102, 10, B(102)), BDB_EINVAL, "ledger 102 after 100");
    cr_assert_not_null(strstr(m, "102"), "%s", m);
    refused(l, &s, add(l, 100, 10, B(100)), BDB_EINVAL, "ledger 100 again");
    refused(l, &s, add(l, 99, 10, B(99)), BDB_EINVAL, "ledger 99 after 100");
    refused(l, &s, add(l, UINT32_MAX, 10, B(101)), BDB_EINVAL, "ledger UINT32_MAX");
    store_replay(l, 101, 110);
    store_close(l);
    store_env_close();
}

Test(store_batch, ledger_zero_refused)
{
    bdb_list *l = store_at(0);
    snapshot s = take(l);
    cr_assert_eq(s.st.ledger, 0);
    cr_assert_null(bdb_list_view_acquire(l), "no view before the first ledger");
    refused(l, &s, add(l, 0, 0, B(1)), BDB_EINVAL, "ledger 0 on an empty store");
    store_replay(l, 1, 10);
    s = take(l);
    refused(l, &s, add(l, 0, 0, B(11)), BDB_EINVAL, "ledger 0 after 10");
    store_replay(l, 11, 12);
    store_close(l);
    store_env_close();
}

Test(store_batch, protocol_decrease_refused)
{
    bdb_list *l = store_at(400); /* protocol 11 */
    snapshot s = take(l);
    cr_assert_eq(s.st.protocol, 11);
    const char *m = refused(l, &s, add(l, 401, 10, B(401)), BDB_EPROTOCOL, "protocol 10 after 11");
    cr_assert_not_null(strstr(m, "protocol"), "%s", m);
    refused(l, &s, add(l, 401, 0, B(401)), BDB_EPROTOCOL, "protocol 0 after 11");
    store_replay(l, 401, 410);
    store_close(l);
    store_env_close();
}

Test(store_batch, protocol_above_max_refused)
{
    bdb_list *l = store_at(100);
    snapshot s = take(l);
    refused(l, &s, add(l, 101, BDB_PROTOCOL_MAX + 1, B(101)), BDB_EPROTOCOL, "protocol max + 1");
    store_replay(l, 101, 101);
    store_close(l);

    /* a store limited to protocol 10 refuses the upgrade to 11, and takes
     * it once reopened with a higher limit */
    bdb_list_options o = store_opts();
    o.max_protocol = 10;
    l = store_open(&o);
    store_replay(l, 102, V_FIRST_P11 - 1);
    s = take(l);
    const char *m = refused(l, &s, add(l, V_FIRST_P11, 11, B(V_FIRST_P11)), BDB_EPROTOCOL,
                            "protocol 11 in a store limited to 10");
    cr_assert_not_null(strstr(m, "11"), "%s", m);
    store_close(l);
    o.max_protocol = 12;
    l = store_open(&o);
    store_replay(l, V_FIRST_P11, 776);
    s = take(l);
    refused(l, &s, add(l, V_FIRST_P23, 23, B(V_FIRST_P23)), BDB_EPROTOCOL,
            "protocol 23 in a store limited to 12");
    store_close(l);
    o.max_protocol = 0; /* 0 is not "default" here: out of range */
    cr_assert_eq(bdb_list_open(g_env, g_dir, &o, &l), BDB_EINVAL);
    o.max_protocol = BDB_PROTOCOL_MAX;
    l = store_open(&o);
    store_replay(l, V_FIRST_P23, V_FIRST_P23 + 5);
    store_close(l);
    store_env_close();
}

/* A batch like b with one array replaced. */
static int add_with(bdb_list *l, const batch *b, int which, const bdb_bytes *v, size_t n)
{
    const bdb_bytes *a[3] = {b->init, b->live, b->dead};
    size_t c[3] = {b->n_init, b->n_live, b->n_dead};
    a[which] = v;
    c[which] = n;
    return bdb_list_add_batch(l, b->ledger, b->protocol, a[0], c[0], a[1], c[1], a[2], c[2]);
}

/* A copy of arr with one more element `x` at the end. */
static bdb_bytes *with_extra(const bdb_bytes *arr, size_t n, bdb_bytes x)
{
    bdb_bytes *v = calloc(n + 1, sizeof *v);
    cr_assert_not_null(v);
    memcpy(v, arr, n * sizeof *v);
    v[n] = x;
    return v;
}

Test(store_batch, malformed_entry_refused)
{
    bdb_list *l = store_at(100);
    const batch *b = B(101);
    cr_assert_gt(b->n_init, 0);
    cr_assert_gt(b->n_dead, 0);
    snapshot s = take(l);
    bdb_bytes *v = with_extra(b->init, b->n_init, b->init[0]);
    /* truncated entry */
    v[0].len = b->init[0].len - 1;
    refused(l, &s, add_with(l, b, 0, v, b->n_init), BDB_EFORMAT, "a truncated init entry");
    /* trailing byte */
    uint8_t buf[4096];
    cr_assert_lt(b->init[0].len + 4, sizeof buf);
    memcpy(buf, b->init[0].data, b->init[0].len);
    memset(buf + b->init[0].len, 0, 4);
    v[0] = (bdb_bytes){buf, b->init[0].len + 4};
    refused(l, &s, add_with(l, b, 0, v, b->n_init), BDB_EFORMAT, "an entry with trailing bytes");
    /* an unknown entry type */
    memcpy(buf, b->init[0].data, b->init[0].len);
    buf[7] = 0x7f; /* LedgerEntry: lastModifiedLedgerSeq (4), then the type */
    v[0] = (bdb_bytes){buf, b->init[0].len};
    refused(l, &s, add_with(l, b, 0, v, b->n_init), BDB_EFORMAT, "an entry of type 127");
    /* the same garbage as a live entry; an empty entry */
    v[0] = (bdb_bytes){buf, b->init[0].len};
    refused(l, &s, add_with(l, b, 1, v, 1), BDB_EFORMAT, "a live entry of type 127");
    v[0] = (bdb_bytes){buf, 0};
    refused(l, &s, add_with(l, b, 1, v, 1), BDB_EFORMAT, "an empty live entry");
    /* a dead key that is an entry, not a key */
    v[0] = b->init[0];
    refused(l, &s, add_with(l, b, 2, v, 1), BDB_EFORMAT, "an entry given as a dead key");
    /* an entry given as a key's bytes */
    v[0] = b->dead[0];
    refused(l, &s, add_with(l, b, 0, v, 1), BDB_EFORMAT, "a key given as an init entry");
    free(v);
    store_replay(l, 101, 110);
    store_close(l);
    store_env_close();
}

/* The JSON name of the key of entry e (or of the key k). */
static void key_json(const bdb_bytes *e, int is_key, char *out, size_t cap)
{
    uint8_t key[4096];
    size_t kl = 0, jl;
    if (is_key) {
        memcpy(key, e->data, kl = e->len);
    } else {
        cr_assert_eq(bdb_ledger_entry_key(e->data, e->len, key, sizeof key, &kl), 0);
    }
    cr_assert_eq(bdb_ledger_key_json(key, kl, out, cap, &jl), 0);
}

static void expect_names_key(const char *msg, const bdb_bytes *e, int is_key)
{
    char js[2048];
    key_json(e, is_key, js, sizeof js);
    cr_assert_not_null(strstr(msg, js), "the message does not name the key %s: %s", js, msg);
}

/* H11: one state per key per batch. The same key twice in a batch, in
 * any two of init, live and dead, or twice in one, is refused naming it. */
Test(store_batch, H11_duplicate_key_refused)
{
    bdb_list *l = store_at(100);
    const batch *b = B(101);
    cr_assert_gt(b->n_init, 1);
    cr_assert_gt(b->n_live, 0);
    snapshot s = take(l);
    const char *m;
    /* init twice */
    bdb_bytes *v = with_extra(b->init, b->n_init, b->init[1]);
    m = refused(l, &s, add_with(l, b, 0, v, b->n_init + 1), BDB_EINVAL, "an init entry twice");
    expect_names_key(m, &b->init[1], 0);
    free(v);
    /* init and live */
    v = with_extra(b->live, b->n_live, b->init[0]);
    m = refused(l, &s, add_with(l, b, 1, v, b->n_live + 1), BDB_EINVAL,
                "an entry both created and updated");
    expect_names_key(m, &b->init[0], 0);
    free(v);
    /* live and dead: the key of a live entry */
    uint8_t key[4096];
    size_t kl;
    cr_assert_eq(bdb_ledger_entry_key(b->live[0].data, b->live[0].len, key, sizeof key, &kl), 0);
    v = with_extra(b->dead, b->n_dead, (bdb_bytes){key, kl});
    m = refused(l, &s, add_with(l, b, 2, v, b->n_dead + 1), BDB_EINVAL,
                "an entry both updated and deleted");
    expect_names_key(m, &b->live[0], 0);
    free(v);
    /* dead twice */
    cr_assert_gt(b->n_dead, 0);
    v = with_extra(b->dead, b->n_dead, b->dead[0]);
    m = refused(l, &s, add_with(l, b, 2, v, b->n_dead + 1), BDB_EINVAL, "a key deleted twice");
    expect_names_key(m, &b->dead[0], 1);
    free(v);
    store_replay(l, 101, 110);
    store_close(l);
    store_env_close();
}

/* ---- hot batches ---- */

static int stage(bdb_list *l, uint32_t ledger, uint32_t protocol, const batch *b)
{
    return bdb_list_add_hot_batch(l, ledger, protocol, b->archived, b->n_archived, b->restored,
                                  b->n_restored);
}

/* The first ledger >= from whose hot batch is not empty. */
static const batch *hot_batch_from(uint32_t from)
{
    for (uint32_t x = from; x <= V_LAST; x++)
        if (B(x)->hot && B(x)->n_archived && B(x)->n_restored) return B(x);
    cr_assert_fail("no non-empty hot batch after %u", from);
    return NULL;
}

Test(store_batch, hot_batch_below_p23_refused)
{
    bdb_list *l = store_at(100);
    const batch *h = hot_batch_from(V_FIRST_HOT);
    snapshot s = take(l);
    refused(l, &s, stage(l, 101, 10, h), BDB_EPROTOCOL, "a hot batch at protocol 10");
    refused(l, &s, stage(l, 101, 22, h), BDB_EPROTOCOL, "a hot batch at protocol 22");
    /* protocol 23 for a ledger that starts at 10 (stellar-core adds hot
     * batches by the ledger's starting protocol) */
    const char *m = refused(l, &s, stage(l, 101, 23, h), BDB_EPROTOCOL,
                            "a hot batch for a ledger starting at protocol 10");
    cr_assert_not_null(strstr(m, "23"), "%s", m);
    store_replay(l, 101, 102); /* nothing was staged */
    store_close(l);

    /* the upgrade ledger 777 starts at 12: no hot batch yet */
    bdb_list_options o = store_opts();
    l = store_open(&o);
    store_replay(l, 103, V_FIRST_P23 - 1);
    s = take(l);
    refused(l, &s, stage(l, V_FIRST_P23, 23, h), BDB_EPROTOCOL,
            "a hot batch for the ledger upgrading to 23");
    cr_assert(!B(V_FIRST_P23)->hot);
    store_replay(l, V_FIRST_P23, V_FIRST_HOT + 2);
    store_close(l);
    store_env_close();
}

Test(store_batch, missing_hot_batch_refused)
{
    bdb_list *l = store_at(V_FIRST_HOT);
    const batch *b = B(V_FIRST_HOT + 1);
    cr_assert(b->hot);
    snapshot s = take(l);
    const char *m = refused(l, &s, add(l, b->ledger, b->protocol, b), BDB_EINVAL,
                            "a ledger starting at 23 without a hot batch");
    cr_assert_not_null(strstr(m, "hot"), "%s", m);
    store_replay(l, b->ledger, b->ledger + 3);
    store_close(l);
    store_env_close();
}

Test(store_batch, staged_hot_batch_for_another_ledger_refused)
{
    /* an empty store takes any first ledger, so a hot batch can be staged
     * for one ledger and the live batch given for another */
    bdb_list *l = store_at(0);
    const batch *h = hot_batch_from(V_FIRST_HOT);
    cr_assert_eq(stage(l, 5, 23, h), 0, "%s", bdb_errmsg());
    snapshot s = take(l);
    const char *m = refused(l, &s, add(l, 3, 23, B(3)), BDB_EINVAL,
                            "a live batch for 3 with a hot batch staged for 5");
    cr_assert_not_null(strstr(m, "5"), "%s", m);
    /* the staged batch stays until replaced or the store is reopened */
    refused(l, &s, add(l, 1, 0, B(1)), BDB_EINVAL, "ledger 1 with a hot batch staged for 5");
    store_close(l);
    bdb_list_options o = store_opts();
    l = store_open(&o);
    store_replay(l, 1, 3);
    store_close(l);

    /* mid-stream: a refused live batch (gap) keeps the staged hot batch,
     * which the correct live batch then applies */
    l = store_open(&o);
    store_replay(l, 4, V_FIRST_HOT);
    const batch *b = B(V_FIRST_HOT + 1);
    cr_assert_eq(stage(l, b->ledger, b->protocol, b), 0, "%s", bdb_errmsg());
    s = take(l);
    refused(l, &s, add(l, b->ledger + 1, b->protocol, B(b->ledger + 1)), BDB_EINVAL,
            "the next ledger but one, with a hot batch staged");
    cr_assert_eq(add(l, b->ledger, b->protocol, b), 0, "%s", bdb_errmsg());
    store_expect(l, b->ledger);
    store_close(l);
    store_env_close();
}

Test(store_batch, staged_hot_batch_above_protocol_refused)
{
    bdb_list *l = store_at(V_FIRST_HOT);
    const batch *b = B(V_FIRST_HOT + 1);
    cr_assert_eq(stage(l, b->ledger, 25, b), 0, "%s", bdb_errmsg());
    snapshot s = take(l);
    refused(l, &s, add(l, b->ledger, b->protocol, b), BDB_EPROTOCOL,
            "a live batch at 23 with a hot batch staged at 25");
    /* a second hot batch replaces the first */
    cr_assert_eq(stage(l, b->ledger, b->protocol, b), 0, "%s", bdb_errmsg());
    cr_assert_eq(add(l, b->ledger, b->protocol, b), 0, "%s", bdb_errmsg());
    store_expect(l, b->ledger);
    store_close(l);
    store_env_close();
}

Test(store_batch, second_hot_batch_replaces_the_first)
{
    bdb_list *l = store_at(V_FIRST_HOT + 10);
    const batch *b = B(V_FIRST_HOT + 11), *other = hot_batch_from(V_FIRST_HOT + 20);
    cr_assert_eq(stage(l, b->ledger, b->protocol, other), 0, "%s", bdb_errmsg());
    cr_assert_eq(stage(l, b->ledger, b->protocol, b), 0, "%s", bdb_errmsg());
    cr_assert_eq(add(l, b->ledger, b->protocol, b), 0, "%s", bdb_errmsg());
    store_expect(l, b->ledger);
    store_close(l);
    store_env_close();
}

Test(store_batch, invalid_hot_batch_refused_keeps_the_staged_one)
{
    bdb_list *l = store_at(V_FIRST_HOT + 10);
    const batch *b = B(V_FIRST_HOT + 11), *h = hot_batch_from(V_FIRST_HOT);
    cr_assert_eq(stage(l, b->ledger, b->protocol, b), 0, "%s", bdb_errmsg());
    snapshot s = take(l);
    /* an account entry archived: only persistent contract data and code can be */
    const batch *acc = B(100);
    int rc = bdb_list_add_hot_batch(l, b->ledger, b->protocol, acc->init, 1, NULL, 0);
    cr_assert(rc == BDB_EPROTOCOL || rc == BDB_EINVAL, "an archived account: %d (%s)", rc,
              bdb_errmsg());
    refused(l, &s, rc, rc, "an archived account");
    /* a key both archived and restored */
    uint8_t key[4096];
    size_t kl;
    cr_assert_eq(
        bdb_ledger_entry_key(h->archived[0].data, h->archived[0].len, key, sizeof key, &kl), 0);
    bdb_bytes k = {key, kl};
    rc = bdb_list_add_hot_batch(l, b->ledger, b->protocol, h->archived, 1, &k, 1);
    const char *m = refused(l, &s, rc, BDB_EINVAL, "a key both archived and restored");
    expect_names_key(m, &h->archived[0], 0);
    /* a hot batch for the wrong ledger mid-stream */
    refused(l, &s, stage(l, b->ledger + 1, b->protocol, b), BDB_EINVAL,
            "a hot batch for the next ledger but one");
    cr_assert_eq(add(l, b->ledger, b->protocol, b), 0, "%s", bdb_errmsg());
    store_expect(l, b->ledger);
    store_close(l);
    store_env_close();
}

/* ---- H18 ---- */

/* At every ledger: the header hash is the reference model's; the list
 * hashes are bdb_list_hash of the state's level hashes; the header hash is
 * the live hash below 23 and SHA-256(live ‖ hot) from 23 (also through
 * bdb_header_bucket_list_hash); the hot list is empty before the first hot
 * batch and not after. */
Test(store_batch, H18_header_hash_is_live_then_live_and_hot)
{
    static const uint8_t zero[32];
    bdb_list *l = store_at(0);
    uint8_t empty_list[32];
    static const uint8_t z[BDB_LIST_LEVELS][32];
    cr_assert_eq(bdb_list_hash(z, z, empty_list), 0);
    for (uint32_t ledger = 1; ledger <= V_LAST; ledger++) {
        store_replay(l, ledger, ledger);
        bdb_list_state st;
        bdb_list_state_get(l, &st);
        uint8_t live[32], hot[32], header[32], cat[64], sha[32];
        cr_assert_eq(bdb_list_hash((const uint8_t(*)[32])st.live_curr,
                                   (const uint8_t(*)[32])st.live_snap, live),
                     0);
        cr_assert_eq(bdb_list_hash((const uint8_t(*)[32])st.hot_curr,
                                   (const uint8_t(*)[32])st.hot_snap, hot),
                     0);
        cr_assert_eq(memcmp(live, st.live_hash, 32), 0, "ledger %u: live hash", ledger);
        cr_assert_eq(memcmp(hot, st.hot_hash, 32), 0, "ledger %u: hot hash", ledger);
        cr_assert_eq(bdb_header_bucket_list_hash(st.protocol, live, hot, header), 0);
        cr_assert_eq(memcmp(header, st.header_hash, 32), 0, "ledger %u: header hash", ledger);
        memcpy(cat, live, 32);
        memcpy(cat + 32, hot, 32);
        cr_assert_eq(bdbi_sha256_digest(cat, 64, sha), 0);
        if (st.protocol < BDB_PROTOCOL_HOT_ARCHIVE) {
            cr_assert_eq(memcmp(st.header_hash, live, 32), 0, "ledger %u: below 23", ledger);
            cr_assert_eq(memcmp(hot, empty_list, 32), 0, "ledger %u: hot list before 23", ledger);
        } else {
            cr_assert_eq(memcmp(st.header_hash, sha, 32), 0, "ledger %u: SHA256(live||hot)",
                         ledger);
            cr_assert_neq(memcmp(st.header_hash, live, 32), 0);
        }
        if (ledger < V_FIRST_HOT)
            cr_assert_eq(memcmp(st.hot_curr[0], zero, 32), 0);
        else
            cr_assert_neq(memcmp(hot, empty_list, 32), 0, "ledger %u: hot list empty", ledger);
        /* the published view says the same */
        bdb_list_view *v = bdb_list_view_acquire(l);
        cr_assert_not_null(v);
        bdb_list_state vs;
        bdb_list_view_state(v, &vs);
        bdb_list_view_release(v);
        cr_assert_eq(memcmp(&vs, &st, sizeof vs), 0, "ledger %u: view and state differ", ledger);
    }
    store_close(l);
    store_env_close();
}

/* ---- options, lock, close, views ---- */

static void open_refused(bdb_list_options *o, int want, const char *names)
{
    bdb_list *l = (bdb_list *)1;
    int rc = bdb_list_open(g_env, g_dir, o, &l);
    cr_assert_eq(rc, want, "%s: open returned %d (%s)", names, rc, bdb_errmsg());
    cr_assert_null(l);
    cr_assert_not_null(strstr(bdb_errmsg(), names), "the message does not name %s: %s", names,
                       bdb_errmsg());
}

Test(store_batch, options_validated)
{
    bdb_list_options o;
#define BAD(field, value, name)                                                                    \
    do {                                                                                           \
        o = store_opts();                                                                          \
        o.field = value;                                                                           \
        open_refused(&o, BDB_EINVAL, name);                                                        \
    } while (0)
    BAD(shards, BDB_LIST_MAX_SHARDS + 1, "shards");
    BAD(max_protocol, 0, "max_protocol");
    BAD(max_protocol, BDB_PROTOCOL_MAX + 1, "max_protocol");
    BAD(fsync, 2, "fsync");
    BAD(fsync, -1, "fsync");
    BAD(create, 2, "create");
    BAD(index_page_size_exponent, 7, "index_page_size_exponent");
    BAD(index_page_size_exponent, 32, "index_page_size_exponent");
#undef BAD
    /* boundaries: need shards >= 2, each non-empty, strictly increasing */
    uint8_t k1[40], k2[40];
    memset(k1, 0x10, sizeof k1);
    memset(k2, 0x20, sizeof k2);
    bdb_bytes inc[2] = {{k1, sizeof k1}, {k2, sizeof k2}}, dec[2] = {{k2, 40}, {k1, 40}},
              same[2] = {{k1, 40}, {k1, 40}}, empty[2] = {{k1, 0}, {k2, 40}};
    o = store_opts();
    o.boundaries = inc;
    o.shards = 1;
    open_refused(&o, BDB_EINVAL, "boundaries");
    o.shards = 3;
    o.boundaries = dec;
    open_refused(&o, BDB_EINVAL, "boundaries");
    o.boundaries = same;
    open_refused(&o, BDB_EINVAL, "boundaries");
    o.boundaries = empty;
    open_refused(&o, BDB_EINVAL, "boundaries");
    /* create = 0 and no store */
    o = store_opts();
    o.create = 0;
    bdb_list *l = NULL;
    cr_assert_eq(bdb_list_open(g_env, g_dir, &o, &l), BDB_ENOTFOUND, "%s", bdb_errmsg());
    cr_assert_null(l);
    /* nothing was created by the refused opens */
    cr_assert_eq(sc_newest_manifest(g_dir, &(int){0}), 0);
    /* valid boundaries give the same hashes (sharding does not change them) */
    o = store_opts();
    o.shards = 3;
    uint8_t sk1[256], sk2[256];
    size_t n1, n2;
    uint8_t key[4096];
    size_t kl;
    const batch *b = B(2);
    cr_assert_eq(bdb_ledger_entry_key(b->init[0].data, b->init[0].len, key, sizeof key, &kl), 0);
    cr_assert_eq(bdb_sort_key(key, kl, sk1, sizeof sk1, &n1), 0);
    cr_assert_eq(bdb_ledger_entry_key(b->init[1].data, b->init[1].len, key, sizeof key, &kl), 0);
    cr_assert_eq(bdb_sort_key(key, kl, sk2, sizeof sk2, &n2), 0);
    bdb_bytes good[2] = {{sk1, n1}, {sk2, n2}};
    if (memcmp(sk1, sk2, n1 < n2 ? n1 : n2) > 0 ||
        (memcmp(sk1, sk2, n1 < n2 ? n1 : n2) == 0 && n1 > n2)) {
        good[0] = (bdb_bytes){sk2, n2};
        good[1] = (bdb_bytes){sk1, n1};
    }
    o.boundaries = good;
    o.split_bytes = 0;
    l = store_open(&o);
    store_replay(l, 1, 200);
    store_close(l);
    /* opening an existing store with create = 0 and defaults works */
    o = store_opts();
    o.create = 0;
    l = store_open(&o);
    store_expect(l, 200);
    store_close(l);
    /* NULL options: the defaults (fsync on) */
    cr_assert_eq(bdb_list_open(g_env, g_dir, NULL, &l), 0, "%s", bdb_errmsg());
    store_replay(l, 201, 202);
    store_close(l);
    store_env_close();
}

Test(store_batch, second_open_is_locked)
{
    bdb_list *l = store_at(10);
    bdb_list_options o = store_opts();
    bdb_list *l2 = (bdb_list *)1;
    int rc = bdb_list_open(g_env, g_dir, &o, &l2);
    cr_assert_eq(rc, BDB_ELOCKED, "second open: %d (%s)", rc, bdb_errmsg());
    cr_assert_null(l2);
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    cr_assert_not_null(strstr(bdb_errmsg(), pid), "the message names the holder: %s", bdb_errmsg());
    /* from another environment too */
    bdb_env *e2;
    cr_assert_eq(bdb_env_open(NULL, &e2), 0);
    cr_assert_eq(bdb_list_open(e2, g_dir, &o, &l2), BDB_ELOCKED);
    cr_assert_eq(bdb_env_close(e2), 0);
    /* the first handle is unaffected */
    store_replay(l, 11, 12);
    store_close(l);
    l = store_open(&o);
    store_expect(l, 12);
    store_close(l);
    cr_assert_eq(bdb_list_close(NULL), 0);
    store_env_close();
}

Test(store_batch, close_with_acquired_view_is_busy)
{
    bdb_list *l = store_at(10);
    bdb_list_view *v = bdb_list_view_acquire(l), *v2 = bdb_list_view_acquire(l);
    cr_assert_not_null(v);
    cr_assert_eq(v, v2, "two acquisitions of one ledger share its view");
    cr_assert_eq(bdb_list_close(l), BDB_EBUSY);
    cr_assert_not_null(strstr(bdb_errmsg(), "view"), "%s", bdb_errmsg());
    /* nothing was closed: the store still works */
    store_replay(l, 11, 11);
    bdb_list_view_release(v);
    cr_assert_eq(bdb_list_close(l), BDB_EBUSY, "one view is still acquired");
    bdb_list_view_release(v2);
    bdb_list_view_release(NULL);
    /* a busy environment cannot close either */
    cr_assert_eq(bdb_env_close(g_env), BDB_EBUSY);
    store_close(l);
    store_env_close();
}

/* Whether the bucket `hash` has a file in the directory. */
static int has_file(const uint8_t hash[32])
{
    char paths[BDB_LIST_MAX_SHARDS][STORE_PATH_MAX];
    return store_bucket_files(g_dir, hash, paths, BDB_LIST_MAX_SHARDS) > 0;
}

/* A view acquired at ledger k reports ledger k's hashes after later
 * ledgers, and its buckets' files stay (with their content) until it is
 * released; then GC removes those no one else needs. (The directory is
 * not compared with the manifest here: the level-5 merge started at 512
 * with shadows holds them until it is committed at 1024, although the
 * manifest lists it by its output once finished.) */
Test(store_batch, view_keeps_its_ledger_and_files)
{
    const uint32_t k = 700, until = 790;
    bdb_list *l = store_at(k);
    bdb_list_view *v = bdb_list_view_acquire(l);
    cr_assert_not_null(v);
    store_replay(l, k + 1, until);
    bdbi_rcu_barrier();
    store_replay(l, until + 1, until + 1); /* a GC with only v holding old buckets */
    bdb_list_state vs;
    bdb_list_view_state(v, &vs);
    cr_assert(batch_state_matches(&vs, B(k), g_why, sizeof g_why), "view: %s", g_why);
    cr_assert_eq(store_state_files_ok(g_dir, &vs, g_why, sizeof g_why), 0, "view: %s", g_why);
    /* the view's buckets that the store no longer references */
    store_files sf;
    cr_assert_eq(store_manifest_files(g_dir, &sf, g_why, sizeof g_why), 0, "%s", g_why);
    uint8_t gone[4 * BDB_LIST_LEVELS][32];
    int n_gone = 0;
    for (int i = 0; i < BDB_LIST_LEVELS; i++) {
        const uint8_t *hs[4] = {vs.live_curr[i], vs.live_snap[i], vs.hot_curr[i], vs.hot_snap[i]};
        for (int j = 0; j < 4; j++) {
            char name[BDB_BUCKET_NAME_LEN];
            static const uint8_t zero[32];
            if (!memcmp(hs[j], zero, 32)) continue;
            bdb_bucket_name(hs[j], name);
            if (!store_files_has(&sf, name)) memcpy(gone[n_gone++], hs[j], 32);
        }
    }
    cr_assert_gt(n_gone, 3, "the store moved on from most of the view's buckets (%d)", n_gone);
    bdb_list_view_release(v);
    bdbi_rcu_barrier();
    store_replay(l, until + 2, until + 2);
    for (int g = 0; g < n_gone; g++) {
        char hx[65];
        batch_hex(gone[g], hx);
        cr_assert(!has_file(gone[g]), "bucket %s of the released view is still on disk", hx);
    }
    store_close(l);
    store_env_close();
}

/* Views taken at each ledger while more ledgers are added keep their own
 * ledger's state (readers never see a later or torn state). */
Test(store_batch, views_at_every_ledger)
{
    bdb_list *l = store_at(0);
    bdb_list_view *v[64];
    for (uint32_t ledger = 1; ledger <= 64; ledger++) {
        store_replay(l, ledger, ledger);
        v[ledger - 1] = bdb_list_view_acquire(l);
    }
    for (uint32_t ledger = 1; ledger <= 64; ledger++) {
        bdb_list_state vs;
        bdb_list_view_state(v[ledger - 1], &vs);
        cr_assert(batch_state_matches(&vs, B(ledger), g_why, sizeof g_why), "%s", g_why);
        cr_assert_eq(store_state_files_ok(g_dir, &vs, g_why, sizeof g_why), 0, "%s", g_why);
        bdb_list_view_release(v[ledger - 1]);
    }
    store_close(l);
    store_env_close();
}

/* ---- a merge that fails on the pool ---- */

/* A key created twice without a deletion in between (which stellar-core
 * never writes) is accepted by add_batch, which cannot see the state, and
 * refused by the first merge in which both INITENTRY records meet: a
 * level-1 merge, which runs on a pool worker. The error detail must reach
 * the thread that resolves the merge, saying why. */
static int same_key(const bdb_bytes *entry, const void *key, size_t kl, int is_key)
{
    uint8_t k[4096];
    size_t n = 0;
    if (is_key) return entry->len == kl && !memcmp(entry->data, key, kl);
    cr_assert_eq(bdb_ledger_entry_key(entry->data, entry->len, k, sizeof k, &n), 0);
    return n == kl && !memcmp(k, key, kl);
}

/* Whether any batch from..to creates, updates or deletes entry's key. */
static int touched(const bdb_bytes *entry, uint32_t from, uint32_t to)
{
    uint8_t key[4096];
    size_t kl;
    cr_assert_eq(bdb_ledger_entry_key(entry->data, entry->len, key, sizeof key, &kl), 0);
    for (uint32_t x = from; x <= to; x++) {
        const batch *b = B(x);
        for (size_t i = 0; i < b->n_init; i++)
            if (same_key(&b->init[i], key, kl, 0)) return 1;
        for (size_t i = 0; i < b->n_live; i++)
            if (same_key(&b->live[i], key, kl, 0)) return 1;
        for (size_t i = 0; i < b->n_dead; i++)
            if (same_key(&b->dead[i], key, kl, 1)) return 1;
    }
    return 0;
}

Test(store_batch, pool_merge_error_detail_reaches_the_caller)
{
    bdb_list *l = store_at(600);
    /* an entry created at 590..599 whose key no batch up to 610 touches */
    bdb_bytes e = {0};
    for (uint32_t c = 599; c >= 590 && !e.data; c--)
        for (size_t i = 0; i < B(c)->n_init && !e.data; i++)
            if (!touched(&B(c)->init[i], c + 1, 610)) e = B(c)->init[i];
    cr_assert_not_null(e.data);
    /* at 601 its key is created again */
    bdb_bytes *v = with_extra(B(601)->init, B(601)->n_init, e);
    cr_assert_eq(add_with(l, B(601), 0, v, B(601)->n_init + 1), 0, "%s", bdb_errmsg());
    free(v);
    /* 602 spills level 0: its snap (601-602) merges into level 1's curr,
     * which holds 599's record */
    int rc = 0;
    for (uint32_t x = 602; x <= 610 && !rc; x++) rc = add(l, x, B(x)->protocol, B(x));
    if (!rc) rc = bdb_list_wait_merges(l);
    cr_assert_eq(rc, BDB_EFORMAT, "returned %d (%s)", rc, bdb_errmsg());
    cr_assert(strstr(bdb_errmsg(), "old INIT + new INIT"), "detail: \"%s\"", bdb_errmsg());
    store_close(l);
    store_env_close();
}
