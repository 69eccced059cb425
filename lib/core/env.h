/* The environment's internal layout, shared by the core modules. */
#ifndef BDB_CORE_ENV_H
#define BDB_CORE_ENV_H

#include <stdatomic.h>

#include "bucketdb/bucketdb.h"

#include "alloc.h"

struct bdbi_pool;

struct bdb_env {
    bdbi_alloc alloc; /* first: hot, read by every allocation */
    struct bdbi_pool *pool;
    bdb_env_options opts;
    unsigned threads;
    _Atomic uint64_t faults[BDB_FS__COUNT];
    _Atomic uint64_t tmp_seq; /* makes temporary file names unique */
    _Atomic int64_t users;    /* stores open in this environment */
};

/* Stores opened in an environment hold it open: bdb_env_close() refuses
 * while any is registered. */
void bdbi_env_retain(bdb_env *env);
void bdbi_env_release(bdb_env *env);

#endif
