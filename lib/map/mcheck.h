/* Whole-table checks for a map's files reused at open. */
#ifndef BDB_MAP_MCHECK_H
#define BDB_MAP_MCHECK_H

#include "mdata.h"
#include "mtable.h"

/* Checks every cell of table `t` (header `ti`) against the shard's data
 * files (data[c], NULL when absent, with high-water marks high[c] and
 * cells in use used[c], each data file already checked by
 * bdbi_mdata_check): no busy or unknown cell; each data reference names
 * a cell in use, and no two the same; each key at its recorded distance
 * from home, within max_search, in Robin Hood order; live cells match the
 * header, and references per class match the cells in use. NULL or a
 * static reason. */
const char *bdbi_mtable_check(bdb_env *env, const bdbi_mlayout *L, const bdbi_mtable *t,
                              const bdbi_mfile_info *ti, bdbi_mdata *const *data,
                              const uint64_t *high, const uint64_t *used);

#endif
