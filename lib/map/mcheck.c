/* Checks of a table's cells when a map reuses its files: a file whose
 * checksums match can still be forged or written by a buggy version, and
 * a cell that lies would make lookups miss keys or free a slot list twice.
 * One pass over the table, one bit per data cell. */
#include "config.h"

#include "mcheck.h"

#include <string.h>

#include "core/alloc.h"

#define KEY_OFF 8

static const char *check_ref(uint64_t s, bdbi_mdata *const *data, const uint64_t *high,
                             uint64_t *const *seen)
{
    unsigned cls = BDBI_MS_CLS(s);
    uint64_t idx = BDBI_MS_IDX(s);
    if (cls >= BDBI_MAP_CLASSES || !data[cls]) return "a cell refers to a missing data file";
    if (idx >= high[cls]) return "a cell refers to an unused data cell";
    uint64_t h = bdbi_ld(bdbi_mdata_cell(data[cls], idx));
    if (!(h & 1)) return "a cell refers to a free data cell";
    uint64_t bit = (uint64_t)1 << (idx % 64);
    if (seen[cls][idx / 64] & bit) return "two cells refer to one data cell";
    seen[cls][idx / 64] |= bit;
    return NULL;
}

const char *bdbi_mtable_check(bdb_env *env, const bdbi_mlayout *L, const bdbi_mtable *t,
                              const bdbi_mfile_info *ti, bdbi_mdata *const *data,
                              const uint64_t *high, const uint64_t *used)
{
    uint64_t *seen[BDBI_MAP_CLASSES] = {0};
    size_t seen_bytes[BDBI_MAP_CLASSES] = {0};
    const char *why = NULL;
    for (unsigned c = 0; c < BDBI_MAP_CLASSES && !why; c++) {
        if (!data[c] || !high[c]) continue;
        seen_bytes[c] = (size_t)((high[c] + 63) / 64 * 8);
        seen[c] = bdbi_calloc(env, BDB_MEM_MAP, 1, seen_bytes[c]);
        if (!seen[c]) why = "out of memory while checking";
    }
    /* the Robin Hood order: along a run of keys, each is at most one
     * further from its home than the key before it; after an empty cell, a
     * key is at its home. Then every key is reachable by a lookup that
     * stops early. */
    uint64_t mask = t->cap - 1, live = 0, refs[BDBI_MAP_CLASSES] = {0};
    unsigned limit = L->max_search - 1 < t->cap - 1 ? L->max_search - 1 : (unsigned)(t->cap - 1);
    if (limit > BDBI_MS_MAX_DIST) limit = BDBI_MS_MAX_DIST;
    for (uint64_t pos = 0; pos < t->cap && !why; pos++) {
        const uint8_t *cell = bdbi_mtable_cell(t, pos);
        uint64_t s = bdbi_ld(cell);
        unsigned tag = BDBI_MS_TAG(s);
        uint64_t prev = bdbi_ld(bdbi_mtable_cell(t, (pos - 1) & mask));
        if (s & BDBI_MS_BUSY) {
            why = "a cell was left half-written";
            break;
        }
        if (tag == BDBI_MS_EMPTY) continue;
        if (tag != BDBI_MS_INLINE && tag != BDBI_MS_DATA) {
            why = "a cell has an unknown state";
            break;
        }
        if (tag == BDBI_MS_DATA) {
            why = check_ref(s, data, high, seen);
            refs[BDBI_MS_CLS(s) < BDBI_MAP_CLASSES ? BDBI_MS_CLS(s) : 0]++;
        }
        uint8_t key[BDB_MAP_MAX_KEY];
        memcpy(key, cell + KEY_OFF, L->key_size);
        uint64_t home = bdbi_mtable_hash(L, t->seed, key) >> (64 - t->bits);
        unsigned d = BDBI_MS_DIST(s);
        unsigned before = BDBI_MS_TAG(prev) == BDBI_MS_EMPTY ? 0 : BDBI_MS_DIST(prev) + 1;
        if (!why && (((pos - home) & mask) != d || d > limit))
            why = "a key lies outside its probe window or away from its recorded distance";
        if (!why && d > before) why = "a key is out of the table's order";
        live++;
    }
    if (!why && live != ti->count) why = "live cells do not match the header's count";
    if (!why && ti->aux) why = "the header counts deleted cells (none are kept)";
    for (unsigned c = 0; c < BDBI_MAP_CLASSES && !why; c++)
        if (data[c] && refs[c] != used[c]) why = "a data file holds slot lists no cell refers to";
    for (unsigned c = 0; c < BDBI_MAP_CLASSES; c++)
        if (seen[c]) bdbi_free(env, BDB_MEM_MAP, seen[c], seen_bytes[c]);
    return why;
}
