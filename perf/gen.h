/* The workload generator: a deterministic ledger state of N live entries
 * with a mainnet-like mix of types and shapes, defined by (seed, N) and
 * computed on demand, so that nothing of size N is ever held in memory.
 *
 * Keys are addressed by *slots*. Within one entry type, key_at(slot) is
 * strictly increasing in stellar-core's key order for slots of classes
 * GEN_LIVE and GEN_DELETED, which is what lets the iterator stream a
 * sorted bucket without sorting it:
 *   slot 4k     live key k (k < gen_count(type)),
 *   slot 4k+1   a key that existed and was deleted (only where
 *               gen_is_deleted(type, k)), sorting between live k and k+1,
 *   slot 4k+2/3 keys that never exist (absent lookups, new entries).
 * A TTL's slot is its owner's: TTL k belongs to CONTRACT_DATA k for
 * k < count(CONTRACT_DATA), else to CONTRACT_CODE k - count(CONTRACT_DATA),
 * and its key is SHA-256 of the owner's LedgerKey XDR (stellar-core's
 * getTTLKey); TTLs are the one type whose slot order is not key order. */
#ifndef BDB_PERF_GEN_H
#define BDB_PERF_GEN_H

#include <stddef.h>
#include <stdint.h>

#define GEN_TYPES       10
#define GEN_KEY_MAX     512        /* every generated LedgerKey fits */
#define GEN_ENTRY_MAX   (64 << 10) /* every generated LedgerEntry fits */
#define GEN_MIN_ENTRIES 1000

enum { GEN_LIVE = 0, GEN_DELETED = 1, GEN_ABSENT = 2, GEN_ABSENT2 = 3 };

#define GEN_SLOT(k, cls) ((uint64_t)(k)*4 + (uint64_t)(cls))

typedef struct gen gen;

/* A generator of n >= GEN_MIN_ENTRIES live entries; NULL when n is too
 * small or memory runs out. Holds about 0.5 MiB whatever n is. */
gen *gen_new(uint64_t seed, uint64_t n);
void gen_free(gen *g);

uint64_t gen_seed(const gen *g);
/* Live entries of LedgerEntryType `type`; their sum is n. */
uint64_t gen_count(const gen *g, int type);
uint64_t gen_total(const gen *g);

/* Whether live key k of `type` has a deleted key after it (slot 4k+1):
 * about 1% of keys; never CONFIG_SETTING or a contract's instance. */
int gen_is_deleted(const gen *g, int type, uint64_t k);

/* The LedgerKey XDR of the key at `slot` of `type` into buf; returns its
 * length (at most GEN_KEY_MAX; buf needs that much room). */
size_t gen_key(const gen *g, int type, uint64_t slot, uint8_t *buf);

/* The LedgerEntry XDR of the key at `slot` in its `version` (0 the
 * oldest; each version differs in content, never in key) with
 * lastModifiedLedgerSeq `last_modified`. Returns the length; when it
 * exceeds cap nothing useful is in buf (GEN_ENTRY_MAX always suffices). */
size_t gen_entry(const gen *g, int type, uint64_t slot, uint32_t version, uint32_t last_modified,
                 uint8_t *buf, size_t cap);

/* The j-th key that is in no version of the state (neither live nor
 * deleted), of a type drawn with the live mix; stores the type in *type
 * and its slot in *slot (may be NULL; gen_entry makes entries of it) and
 * returns the key's length. */
size_t gen_absent_key(const gen *g, uint64_t j, uint8_t *buf, int *type, uint64_t *slot);

/* Iteration of the state in stellar-core's bucket order (by type, then
 * key): every live slot and, with GEN_ITER_DELETED, the deleted ones.
 * Memory stays under a few MiB: the TTL keys, which are hashes, are
 * sorted through temporary files in `tmpdir` (NULL: $TMPDIR or /tmp) in
 * bounded partitions. */
enum { GEN_ITER_DELETED = 1 };

typedef struct gen_item {
    int type;
    uint64_t slot;
} gen_item;

typedef struct gen_iter gen_iter;

/* Returns 0, or -1 with errno set. */
int gen_iter_open(const gen *g, int flags, const char *tmpdir, gen_iter **out);
/* 1 with *it filled, 0 at the end, -1 on an I/O error (errno set). */
int gen_iter_next(gen_iter *iter, gen_item *it);
void gen_iter_close(gen_iter *iter);

#endif
