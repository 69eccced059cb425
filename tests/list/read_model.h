/* A plain in-memory model of a ledger's state for the read tests: the
 * newest version of every key that batches wrote (live list: INIT/LIVE
 * entry or deleted; hot archive: archived entry or restored), built from
 * the batches alone with the public key-extraction call, never from the
 * store. Keys and entries are copied. Header-only, process heap. */
#ifndef BDB_TESTS_LIST_READ_MODEL_H
#define BDB_TESTS_LIST_READ_MODEL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bucketdb/ledger.h"
#include "bucketdb/list.h"

typedef struct mslot {
    uint8_t *key;
    size_t key_len;
    uint8_t *entry; /* NULL: deleted (live) / restored (hot) */
    size_t entry_len;
} mslot;

typedef struct model {
    mslot *s;
    size_t cap, n;
} model;

static inline uint64_t model_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static inline mslot *model_find(const model *m, const uint8_t *key, size_t len)
{
    if (!m->cap) return NULL;
    size_t i = model_hash(key, len) & (m->cap - 1);
    while (m->s[i].key) {
        if (m->s[i].key_len == len && memcmp(m->s[i].key, key, len) == 0) return &m->s[i];
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

static inline mslot *model_slot(model *m, const uint8_t *key, size_t len)
{
    mslot *f = model_find(m, key, len);
    if (f) return f;
    if (2 * (m->n + 1) > m->cap) {
        model g = {calloc(m->cap ? 2 * m->cap : 1024, sizeof(mslot)), m->cap ? 2 * m->cap : 1024,
                   0};
        for (size_t i = 0; i < m->cap; i++)
            if (m->s[i].key) {
                size_t j = model_hash(m->s[i].key, m->s[i].key_len) & (g.cap - 1);
                while (g.s[j].key) j = (j + 1) & (g.cap - 1);
                g.s[j] = m->s[i];
                g.n++;
            }
        free(m->s);
        *m = g;
    }
    size_t i = model_hash(key, len) & (m->cap - 1);
    while (m->s[i].key) i = (i + 1) & (m->cap - 1);
    m->s[i].key = malloc(len);
    memcpy(m->s[i].key, key, len);
    m->s[i].key_len = len;
    m->n++;
    return &m->s[i];
}

static inline void model_set(model *m, const uint8_t *key, size_t klen, const uint8_t *e,
                             size_t elen)
{
    mslot *s = model_slot(m, key, klen);
    free(s->entry);
    s->entry = NULL;
    s->entry_len = 0;
    if (e) {
        s->entry = malloc(elen);
        memcpy(s->entry, e, elen);
        s->entry_len = elen;
    }
}

/* Sets the entry e under its own key. Returns 0 or the library's code. */
static inline int model_put_entry(model *m, const uint8_t *e, size_t elen)
{
    uint8_t key[4096];
    size_t klen;
    int rc = bdb_ledger_entry_key(e, elen, key, sizeof key, &klen);
    if (rc) return rc;
    model_set(m, key, klen, e, elen);
    return 0;
}

static inline void model_copy(model *dst, const model *src)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < src->cap; i++)
        if (src->s[i].key)
            model_set(dst, src->s[i].key, src->s[i].key_len, src->s[i].entry, src->s[i].entry_len);
}

static inline void model_free(model *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->s[i].key);
        free(m->s[i].entry);
    }
    free(m->s);
    memset(m, 0, sizeof *m);
}

/* Applies a batch: live (init + live entries, dead keys) into `live`,
 * archived entries and restored keys into `hot` (may be NULL). */
static inline int model_apply(model *live, model *hot, const bdb_bytes *init, size_t n_init,
                              const bdb_bytes *lv, size_t n_live, const bdb_bytes *dead,
                              size_t n_dead, const bdb_bytes *arch, size_t n_arch,
                              const bdb_bytes *rest, size_t n_rest)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n_init; i++)
        rc = model_put_entry(live, init[i].data, init[i].len);
    for (size_t i = 0; !rc && i < n_live; i++) rc = model_put_entry(live, lv[i].data, lv[i].len);
    for (size_t i = 0; i < n_dead; i++) model_set(live, dead[i].data, dead[i].len, NULL, 0);
    for (size_t i = 0; hot && !rc && i < n_arch; i++)
        rc = model_put_entry(hot, arch[i].data, arch[i].len);
    for (size_t i = 0; hot && i < n_rest; i++) model_set(hot, rest[i].data, rest[i].len, NULL, 0);
    return rc;
}

#endif
