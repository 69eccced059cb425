/* stellar-core's BucketMergeMap over four chained hash tables (XXH3):
 *
 *   keys   merge key -> keynode: a copy of the key, its output when the key
 *          is in mMergeKeyToOutput, and how many (output, key) pairs name it
 *   outs   output -> outnode: the keys of its (output, key) pairs, with
 *          repeats (mOutputToMergeKey)
 *   pairs  (input, output) -> pairnode: how many times the pair is in
 *          mInputToOutput
 *   ins    input -> innode: the list of its pairnodes, one per distinct
 *          output, for getOutputsUsingInput
 *
 * A keynode lives while it is mapped or named by an (output, key) pair; the
 * other nodes while they hold a pair. record() looks everything up and
 * allocates every node it will need before changing anything, so a failed
 * allocation leaves the map as it was. */
#include "config.h"

#include "mergemap.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"

#define CAT BDB_MEM_LIST

enum { SEED_OUT = 0x6f7574, SEED_IN = 0x696e, SEED_PAIR = 0x70616972 };

/* ---- intrusive chained hash table, power-of-two slots, load <= 1 -------- */

typedef struct hnode {
    struct hnode *next;
    uint64_t hash;
} hnode;

typedef struct htab {
    hnode **slot;
    size_t nslot, n;
} htab;

static hnode *htab_chain(const htab *t, uint64_t h)
{
    return t->nslot ? t->slot[h & (t->nslot - 1)] : NULL;
}

/* Makes room for `extra` more nodes without exceeding load 1. */
static int htab_reserve(bdb_env *env, htab *t, size_t extra)
{
    if (extra <= t->nslot - t->n) return 0;
    if (extra > SIZE_MAX / 4 - t->n) return bdbi_err(BDB_ENOMEM, "merge map: table too large");
    size_t need = t->n + extra, ns = t->nslot ? t->nslot : 16;
    while (ns < need) ns *= 2;
    hnode **s = bdbi_calloc(env, CAT, ns, sizeof *s);
    if (!s) return BDB_ENOMEM;
    for (size_t i = 0; i < t->nslot; i++) {
        hnode *p = t->slot[i], *nx;
        for (; p; p = nx) {
            nx = p->next;
            size_t j = p->hash & (ns - 1);
            p->next = s[j];
            s[j] = p;
        }
    }
    bdbi_free(env, CAT, t->slot, t->nslot * sizeof *t->slot);
    t->slot = s;
    t->nslot = ns;
    return 0;
}

/* The slot must exist: reserve first. */
static void htab_insert(htab *t, hnode *n)
{
    size_t j = n->hash & (t->nslot - 1);
    n->next = t->slot[j];
    t->slot[j] = n;
    t->n++;
}

static void htab_remove(htab *t, hnode *n)
{
    hnode **pp = &t->slot[n->hash & (t->nslot - 1)];
    while (*pp != n) pp = &(*pp)->next;
    *pp = n->next;
    t->n--;
}

/* ---- nodes --------------------------------------------------------------- */

typedef struct keynode {
    hnode h;        /* first: the table links it */
    uint64_t stamp; /* the forget() that last counted it */
    size_t refs;    /* (output, key) pairs naming it */
    int mapped;     /* in mMergeKeyToOutput, mapping to `out` */
    uint8_t out[32];
    int keep;
    uint8_t curr[32], snap[32];
    size_t n_shadows;
    uint8_t shadows[][32]; /* then n_shadows + 2 bytes: 1 = first occurrence */
} keynode;

typedef struct outnode {
    hnode h;
    uint8_t out[32];
    size_t n, cap;
    keynode **keys;
} outnode;

struct pairnode;

typedef struct innode {
    hnode h;
    uint8_t in[32];
    struct pairnode *head;
    size_t n; /* pairnodes in the list = distinct outputs */
} innode;

typedef struct pairnode {
    hnode h;
    innode *in;
    struct pairnode *prev, *next;
    uint8_t out[32];
    size_t count;
} pairnode;

struct bdbi_mergemap {
    bdb_env *env;
    htab keys, outs, ins, pairs;
    uint64_t seq;
    bdbi_mergemap_sizes sizes;
};

static size_t key_size(size_t n_shadows)
{
    return sizeof(keynode) + n_shadows * 33 + 2;
}

static uint8_t *key_first(keynode *kn)
{
    return (uint8_t *)(kn->shadows + kn->n_shadows);
}

static const uint8_t *key_input(const bdbi_merge_key *k, size_t i)
{
    return i == 0 ? k->curr : i == 1 ? k->snap : k->shadows[i - 2];
}

static bdbi_merge_key key_view(const keynode *kn)
{
    bdbi_merge_key k = {.keep_tombstones = kn->keep, .n_shadows = kn->n_shadows};
    memcpy(k.curr, kn->curr, 32);
    memcpy(k.snap, kn->snap, 32);
    k.shadows = (const uint8_t(*)[32])kn->shadows;
    return k;
}

static uint64_t hash32(const uint8_t h[32], uint64_t seed)
{
    return bdbi_hash64(h, 32, seed);
}

static uint64_t pair_hash(const uint8_t in[32], const uint8_t out[32])
{
    return hash32(out, hash32(in, SEED_PAIR));
}

int bdbi_merge_key_eq(const bdbi_merge_key *a, const bdbi_merge_key *b)
{
    return !a->keep_tombstones == !b->keep_tombstones && !memcmp(a->curr, b->curr, 32) &&
           !memcmp(a->snap, b->snap, 32) && a->n_shadows == b->n_shadows &&
           (a->n_shadows == 0 || !memcmp(a->shadows, b->shadows, a->n_shadows * 32));
}

uint64_t bdbi_merge_key_hash(const bdbi_merge_key *k)
{
    uint8_t head[65];
    head[0] = k->keep_tombstones ? 1 : 0;
    memcpy(head + 1, k->curr, 32);
    memcpy(head + 33, k->snap, 32);
    uint64_t h = bdbi_hash64(head, sizeof head, (uint64_t)k->n_shadows);
    if (k->n_shadows) h = bdbi_hash64(k->shadows, k->n_shadows * 32, h);
    return h;
}

static keynode *find_key(const bdbi_mergemap *m, const bdbi_merge_key *k, uint64_t h)
{
    for (hnode *p = htab_chain(&m->keys, h); p; p = p->next) {
        if (p->hash != h) continue;
        keynode *kn = (keynode *)p;
        bdbi_merge_key v = key_view(kn);
        if (bdbi_merge_key_eq(&v, k)) return kn;
    }
    return NULL;
}

static outnode *find_out(const bdbi_mergemap *m, const uint8_t out[32], uint64_t h)
{
    for (hnode *p = htab_chain(&m->outs, h); p; p = p->next)
        if (p->hash == h && !memcmp(((outnode *)p)->out, out, 32)) return (outnode *)p;
    return NULL;
}

static innode *find_in(const bdbi_mergemap *m, const uint8_t in[32], uint64_t h)
{
    for (hnode *p = htab_chain(&m->ins, h); p; p = p->next)
        if (p->hash == h && !memcmp(((innode *)p)->in, in, 32)) return (innode *)p;
    return NULL;
}

static pairnode *find_pair(const bdbi_mergemap *m, const uint8_t in[32], const uint8_t out[32])
{
    uint64_t h = pair_hash(in, out);
    for (hnode *p = htab_chain(&m->pairs, h); p; p = p->next) {
        pairnode *pn = (pairnode *)p;
        if (p->hash == h && !memcmp(pn->out, out, 32) && !memcmp(pn->in->in, in, 32)) return pn;
    }
    return NULL;
}

/* ---- distinct inputs of a key ------------------------------------------- */

typedef struct input_ref {
    const uint8_t *h;
    size_t i;
} input_ref;

static int cmp_ref(const void *a, const void *b)
{
    return memcmp(((const input_ref *)a)->h, ((const input_ref *)b)->h, 32);
}

/* Sets first[i] = 1 for one occurrence of each distinct input hash of `k`
 * (stellar-core collects them in a set) and 0 for the repeats. Sorting keeps
 * this O(n log n) however many shadows there are. */
static int mark_distinct(bdb_env *env, const bdbi_merge_key *k, uint8_t *first)
{
    size_t n = k->n_shadows + 2;
    input_ref stack[32], *r = stack;
    if (n > 32 && !(r = bdbi_malloc(env, CAT, n * sizeof *r))) return BDB_ENOMEM;
    for (size_t i = 0; i < n; i++) r[i] = (input_ref){key_input(k, i), i};
    qsort(r, n, sizeof *r, cmp_ref);
    for (size_t j = 0; j < n; j++) first[r[j].i] = j == 0 || memcmp(r[j].h, r[j - 1].h, 32) != 0;
    if (r != stack) bdbi_free(env, CAT, r, n * sizeof *r);
    return 0;
}

static keynode *key_new(bdb_env *env, const bdbi_merge_key *k, uint64_t h)
{
    keynode *kn = bdbi_malloc(env, CAT, key_size(k->n_shadows));
    if (!kn) return NULL;
    memset(kn, 0, sizeof *kn);
    kn->h.hash = h;
    kn->keep = k->keep_tombstones ? 1 : 0;
    memcpy(kn->curr, k->curr, 32);
    memcpy(kn->snap, k->snap, 32);
    kn->n_shadows = k->n_shadows;
    if (k->n_shadows) memcpy(kn->shadows, k->shadows, k->n_shadows * 32);
    if (mark_distinct(env, k, key_first(kn))) {
        bdbi_free(env, CAT, kn, key_size(k->n_shadows));
        return NULL;
    }
    return kn;
}

static void key_free(bdb_env *env, keynode *kn)
{
    bdbi_free(env, CAT, kn, key_size(kn->n_shadows));
}

static void out_free(bdb_env *env, outnode *on)
{
    bdbi_free(env, CAT, on->keys, on->cap * sizeof *on->keys);
    bdbi_free(env, CAT, on, sizeof *on);
}

/* Frees a singly linked list of spare nodes of `size` bytes. */
static void spares_free(bdb_env *env, hnode *list, size_t size)
{
    while (list) {
        hnode *nx = list->next;
        bdbi_free(env, CAT, list, size);
        list = nx;
    }
}

static int spares_alloc(bdb_env *env, hnode **list, size_t count, size_t size)
{
    for (size_t i = 0; i < count; i++) {
        hnode *n = bdbi_malloc(env, CAT, size);
        if (!n) return BDB_ENOMEM;
        n->next = *list;
        *list = n;
    }
    return 0;
}

static hnode *spare_pop(hnode **list)
{
    hnode *n = *list;
    *list = n->next;
    return n;
}

/* ---- the map ------------------------------------------------------------- */

int bdbi_mergemap_create(bdb_env *env, bdbi_mergemap **out)
{
    if (!env || !out) return bdbi_err(BDB_EINVAL, "merge map: NULL argument");
    *out = NULL;
    bdbi_mergemap *m = bdbi_calloc(env, CAT, 1, sizeof *m);
    if (!m) return BDB_ENOMEM;
    m->env = env;
    *out = m;
    return 0;
}

static void htab_free_all(bdbi_mergemap *m, htab *t, int kind)
{
    bdb_env *env = m->env;
    for (size_t i = 0; i < t->nslot; i++) {
        hnode *p = t->slot[i], *nx;
        for (; p; p = nx) {
            nx = p->next;
            if (kind == 0)
                key_free(env, (keynode *)p);
            else if (kind == 1)
                out_free(env, (outnode *)p);
            else
                bdbi_free(env, CAT, p, kind == 2 ? sizeof(innode) : sizeof(pairnode));
        }
    }
    bdbi_free(env, CAT, t->slot, t->nslot * sizeof *t->slot);
}

void bdbi_mergemap_destroy(bdbi_mergemap *m)
{
    if (!m) return;
    htab_free_all(m, &m->keys, 0);
    htab_free_all(m, &m->outs, 1);
    htab_free_all(m, &m->ins, 2);
    htab_free_all(m, &m->pairs, 3);
    bdbi_free(m->env, CAT, m, sizeof *m);
}

static int check_key(const bdbi_merge_key *k)
{
    if (!k) return bdbi_err(BDB_EINVAL, "merge key: NULL");
    if (k->n_shadows && !k->shadows)
        return bdbi_err(BDB_EINVAL, "merge key: %zu shadows but no shadow array", k->n_shadows);
    if (k->n_shadows > (SIZE_MAX - sizeof(keynode) - 2) / 33 ||
        k->n_shadows > SIZE_MAX / sizeof(input_ref) - 2)
        return bdbi_err(BDB_EINVAL, "merge key: %zu shadows is too many", k->n_shadows);
    return 0;
}

/* Everything record() must allocate, obtained before it changes the map. */
typedef struct record_plan {
    keynode *new_key; /* the key's node when it has none yet */
    outnode *new_out; /* the output's node when it has none yet */
    hnode *spare_ins, *spare_pairs;
} record_plan;

static void plan_free(bdb_env *env, record_plan *p)
{
    if (p->new_key) key_free(env, p->new_key);
    if (p->new_out) out_free(env, p->new_out);
    spares_free(env, p->spare_ins, sizeof(innode));
    spares_free(env, p->spare_pairs, sizeof(pairnode));
}

static int plan_record(bdbi_mergemap *m, const bdbi_merge_key *k, keynode *kn, outnode *on,
                       const uint8_t out[32], uint64_t kh, uint64_t oh, record_plan *p)
{
    bdb_env *env = m->env;
    if (!kn && !(kn = p->new_key = key_new(env, k, kh))) return BDB_ENOMEM;
    const uint8_t *first = key_first(kn);
    size_t new_ins = 0, new_pairs = 0;
    for (size_t i = 0; i < k->n_shadows + 2; i++) {
        const uint8_t *in = key_input(k, i);
        if (!first[i] || find_pair(m, in, out)) continue;
        new_pairs++;
        if (!find_in(m, in, hash32(in, SEED_IN))) new_ins++;
    }
    int rc;
    if ((rc = htab_reserve(env, &m->keys, p->new_key ? 1 : 0)) ||
        (rc = htab_reserve(env, &m->outs, on ? 0 : 1)) ||
        (rc = htab_reserve(env, &m->ins, new_ins)) ||
        (rc = htab_reserve(env, &m->pairs, new_pairs)))
        return rc;
    if (!on) {
        outnode *n = p->new_out = bdbi_calloc(env, CAT, 1, sizeof *n);
        if (!n) return BDB_ENOMEM;
        if (!(n->keys = bdbi_malloc(env, CAT, sizeof *n->keys))) return BDB_ENOMEM;
        n->cap = 1;
        n->h.hash = oh;
        memcpy(n->out, out, 32);
    } else if (on->n == on->cap) {
        size_t cap = on->cap * 2, sz = sizeof *on->keys;
        if (cap > SIZE_MAX / sz) return bdbi_err(BDB_ENOMEM, "merge map: output list too long");
        keynode **a = bdbi_realloc(env, CAT, on->keys, on->cap * sz, cap * sz);
        if (!a) return BDB_ENOMEM;
        on->keys = a;
        on->cap = cap;
    }
    if ((rc = spares_alloc(env, &p->spare_ins, new_ins, sizeof(innode))) ||
        (rc = spares_alloc(env, &p->spare_pairs, new_pairs, sizeof(pairnode))))
        return rc;
    return 0;
}

int bdbi_mergemap_record(bdbi_mergemap *m, const bdbi_merge_key *k, const uint8_t out[32])
{
    if (!m || !out) return bdbi_err(BDB_EINVAL, "merge map: NULL argument");
    int rc = check_key(k);
    if (rc) return rc;
    uint64_t kh = bdbi_merge_key_hash(k), oh = hash32(out, SEED_OUT);
    keynode *kn = find_key(m, k, kh);
    outnode *on = find_out(m, out, oh);
    record_plan p = {0};
    if ((rc = plan_record(m, k, kn, on, out, kh, oh, &p))) {
        plan_free(m->env, &p);
        return rc;
    }

    /* nothing fails from here on */
    if (p.new_key) htab_insert(&m->keys, &(kn = p.new_key)->h);
    if (p.new_out) htab_insert(&m->outs, &(on = p.new_out)->h);
    if (!kn->mapped) { /* emplace: an existing entry keeps its output */
        kn->mapped = 1;
        memcpy(kn->out, out, 32);
        m->sizes.keys++;
    }
    on->keys[on->n++] = kn;
    kn->refs++;
    m->sizes.output_keys++;

    const uint8_t *first = key_first(kn);
    for (size_t i = 0; i < k->n_shadows + 2; i++) {
        if (!first[i]) continue;
        const uint8_t *in = key_input(k, i);
        m->sizes.input_outputs++;
        pairnode *pn = find_pair(m, in, out);
        if (pn) {
            pn->count++;
            continue;
        }
        uint64_t ih = hash32(in, SEED_IN);
        innode *inn = find_in(m, in, ih);
        if (!inn) {
            inn = (innode *)spare_pop(&p.spare_ins);
            memset(inn, 0, sizeof *inn);
            inn->h.hash = ih;
            memcpy(inn->in, in, 32);
            htab_insert(&m->ins, &inn->h);
        }
        pn = (pairnode *)spare_pop(&p.spare_pairs);
        memset(pn, 0, sizeof *pn);
        pn->h.hash = pair_hash(in, out);
        pn->in = inn;
        memcpy(pn->out, out, 32);
        pn->count = 1;
        pn->next = inn->head;
        if (inn->head) inn->head->prev = pn;
        inn->head = pn;
        inn->n++;
        htab_insert(&m->pairs, &pn->h);
    }
    p.new_key = NULL;
    p.new_out = NULL;
    plan_free(m->env, &p); /* no spares are left; this only keeps it obviously so */
    return 0;
}

int bdbi_mergemap_find(bdbi_mergemap *m, const bdbi_merge_key *k, uint8_t out[32])
{
    if (!m || !out) return bdbi_err(BDB_EINVAL, "merge map: NULL argument");
    int rc = check_key(k);
    if (rc) return rc;
    keynode *kn = find_key(m, k, bdbi_merge_key_hash(k));
    if (!kn || !kn->mapped) return 0;
    memcpy(out, kn->out, 32);
    return 1;
}

static int cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

int bdbi_mergemap_outputs_using_input(bdbi_mergemap *m, const uint8_t in[32], uint8_t (*outs)[32],
                                      size_t cap, size_t *n)
{
    if (!m || !in || !n || (cap && !outs)) return bdbi_err(BDB_EINVAL, "merge map: NULL argument");
    innode *inn = find_in(m, in, hash32(in, SEED_IN));
    *n = inn ? inn->n : 0;
    if (!inn) return 0;
    size_t i = 0;
    for (pairnode *pn = inn->head; pn && i < cap; pn = pn->next) memcpy(outs[i++], pn->out, 32);
    if (inn->n <= cap) qsort(outs, inn->n, 32, cmp32);
    return 0;
}

/* Removes one (input, output) pair. */
static void pair_release(bdbi_mergemap *m, pairnode *pn)
{
    m->sizes.input_outputs--;
    if (--pn->count) return;
    innode *inn = pn->in;
    if (pn->prev)
        pn->prev->next = pn->next;
    else
        inn->head = pn->next;
    if (pn->next) pn->next->prev = pn->prev;
    htab_remove(&m->pairs, &pn->h);
    bdbi_free(m->env, CAT, pn, sizeof *pn);
    if (--inn->n) return;
    htab_remove(&m->ins, &inn->h);
    bdbi_free(m->env, CAT, inn, sizeof *inn);
}

int bdbi_mergemap_forget_producing(bdbi_mergemap *m, const uint8_t out[32], size_t *n_forgotten)
{
    if (!m || !out || !n_forgotten) return bdbi_err(BDB_EINVAL, "merge map: NULL argument");
    *n_forgotten = 0;
    outnode *on = find_out(m, out, hash32(out, SEED_OUT));
    if (!on) return 0;
    uint64_t stamp = ++m->seq;
    size_t distinct = 0;
    for (size_t j = 0; j < on->n; j++) {
        keynode *kn = on->keys[j];
        if (kn->stamp != stamp) {
            kn->stamp = stamp;
            distinct++;
        }
        bdbi_merge_key k = key_view(kn);
        const uint8_t *first = key_first(kn);
        for (size_t i = 0; i < kn->n_shadows + 2; i++) {
            if (!first[i]) continue;
            pairnode *pn = find_pair(m, key_input(&k, i), out);
            if (pn) pair_release(m, pn);
        }
        if (kn->mapped) { /* erased by key, whatever output it names */
            kn->mapped = 0;
            m->sizes.keys--;
        }
        m->sizes.output_keys--;
        if (--kn->refs == 0) {
            htab_remove(&m->keys, &kn->h);
            key_free(m->env, kn);
        }
    }
    htab_remove(&m->outs, &on->h);
    out_free(m->env, on);
    *n_forgotten = distinct;
    return 0;
}

void bdbi_mergemap_sizes_get(const bdbi_mergemap *m, bdbi_mergemap_sizes *out)
{
    *out = m->sizes;
}
