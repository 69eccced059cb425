/* stellar-core's HistoryArchiveState (HAS, spec §6.4): the JSON document a
 * history archive publishes per checkpoint and a node keeps for its last
 * closed ledger, naming every bucket of the live and hot-archive bucket
 * lists and the merge each level has in progress. It is what catchup and
 * restart rebuild a bucket list from, so it is read as hostile input, and
 * written byte for byte as stellar-core writes it (cereal's
 * JSONOutputArchive), so that a published HAS cannot be told apart.
 * docs/has.md describes the format and the rules. */
#ifndef BDB_ARCHIVE_HAS_H
#define BDB_ARCHIVE_HAS_H

#include <stddef.h>
#include <stdint.h>

#include "bucketdb/bucketdb.h"

#define BDBI_HAS_LEVELS    11
#define BDBI_HAS_MAX_BYTES (16u << 20) /* parse limit: real documents are ~10 KiB */

/* FutureBucket states as serialized; the live states (3, 4) never are. */
enum {
    BDBI_FB_CLEAR = 0,  /* no merge */
    BDBI_FB_OUTPUT = 1, /* a finished merge: output */
    BDBI_FB_INPUTS = 2  /* a merge to restart: curr, snap, shadows */
};

typedef struct bdbi_has_next {
    uint32_t state;             /* BDBI_FB_* */
    uint8_t output[32];         /* BDBI_FB_OUTPUT */
    uint8_t curr[32], snap[32]; /* BDBI_FB_INPUTS */
    size_t n_shadows;           /* BDBI_FB_INPUTS; may be 0 */
    uint8_t (*shadows)[32];     /* n_shadows hashes, NULL when 0 */
} bdbi_has_next;

typedef struct bdbi_has_level {
    uint8_t curr[32], snap[32];
    bdbi_has_next next;
} bdbi_has_level;

typedef struct bdbi_has {
    uint32_t version;                                /* 1, or 2 with the hot archive */
    char *server;                                    /* NUL-terminated */
    uint32_t current_ledger;                         /* currentLedger */
    char *network_passphrase;                        /* NULL when absent; required from version 2 */
    bdbi_has_level current_buckets[BDBI_HAS_LEVELS]; /* level 0 first */
    bdbi_has_level hot_archive_buckets[BDBI_HAS_LEVELS]; /* version >= 2 only */
} bdbi_has;

/* Parses `len` bytes of HAS JSON into *out (zeroed first; on failure it is
 * left empty and owns nothing). Accepts exactly what stellar-core's loader
 * accepts, except where docs/has.md lists a deliberate difference:
 * - version 1 or 2; server a string; currentLedger an integer in
 *   0..UINT32_MAX; networkPassphrase a string, optional in version 1
 *   (absent or "" both give NULL), required from version 2;
 * - currentBuckets, and from version 2 hotArchiveBuckets, arrays of exactly
 *   11 objects {curr, next, snap}; hashes are strings of exactly 64 hex
 *   digits, either case (stellar-core decodes with sodium_hex2bin);
 * - next: {"state": 0}, {"state": 1, "output": hash} or
 *   {"state": 2, "curr": hash, "snap": hash, "shadow": [hash, ...]};
 * - members are found by name, in any order; members stellar-core does not
 *   read are ignored, as cereal ignores them; duplicate names are rejected
 *   (cereal would pick one by position);
 * - at most BDBI_HAS_MAX_BYTES, strings without NUL, valid UTF-8 (jansson).
 * Errors: BDB_EFORMAT naming the field, e.g.
 * "currentBuckets[3].next.snap: not a 64-digit hex hash"; BDB_ENOMEM;
 * BDB_EINVAL for NULL arguments. The result's memory is BDB_MEM_ARCHIVE;
 * jansson's document tree, freed before returning, comes from the process
 * malloc (jansson's allocator is process-wide, so it is left alone). */
int bdbi_has_parse(bdb_env *env, const char *json, size_t len, bdbi_has *out);

/* Frees what bdbi_has_parse() allocated and zeroes *h. Only for documents
 * filled by bdbi_has_parse(). */
void bdbi_has_free(bdb_env *env, bdbi_has *h);

/* 1 when equal field by field (hotArchiveBuckets only from version 2). */
int bdbi_has_eq(const bdbi_has *a, const bdbi_has *b);

/* Writes `h` as stellar-core writes it: cereal's pretty JSON, 4-space
 * indentation, members version, server, currentLedger, networkPassphrase
 * (only when set), currentBuckets, hotArchiveBuckets (version >= 2); each
 * level curr, next, snap; hashes in lowercase hex; no final newline.
 * On success writes *len bytes and a NUL after them (so cap must be at least
 * *len + 1). When `cap` is too small returns BDB_EINVAL with *len set to the
 * capacity needed (JSON plus NUL); `buf` may then be NULL. BDB_EINVAL also
 * for a document stellar-core would not write: version not 1 or 2, no
 * server, version 2 without a passphrase, a state not 0..2, shadows NULL
 * with n_shadows > 0. Strings are written as their bytes (escaped as
 * rapidjson escapes them), so parse(write(h)) equals h when h's strings are
 * valid UTF-8, as parsed ones always are. */
int bdbi_has_write(const bdbi_has *h, char *buf, size_t cap, size_t *len);

/* stellar-core's validateBucketListHelper over one list of `h`: the live
 * list (currentBuckets) when `hot` is 0, the hot archive when 1 (BDB_EINVAL
 * if h->version < 2). The caller supplies, per level, whether each bucket
 * is empty (zero hash) and its protocol version (read from its METAENTRY;
 * ignored when empty, where stellar-core uses 0). The rule implemented,
 * from HistoryArchive.cpp:
 *
 *   min := 0; seen := false
 *   for i = 10 down to 0:
 *     for b in (snap[i], curr[i]):          -- snap is older: checked first
 *       v := empty(b) ? 0 : version(b); seen |= !empty(b)
 *       v < min  =>  reject; min := v       -- so an empty bucket above a
 *                                              non-empty one is rejected too
 *     if i == 0: next[0] must be clear (state 0); stop
 *     p := empty(snap[i-1]) ? 0 : version(snap[i-1]); seen |= !empty(snap[i-1])
 *     if not seen: continue                 -- all deeper buckets empty
 *     if p >= 12: next[i] must be clear     -- shadows removed: merges are
 *                                              restarted from the snap
 *     else:       next[i] must be state 1   -- a resolved output
 *
 * Returns 0 or BDB_EFORMAT naming the level and the rule broken. */
int bdbi_has_validate(const bdbi_has *h, int hot, const uint32_t curr_ver[BDBI_HAS_LEVELS],
                      const uint32_t snap_ver[BDBI_HAS_LEVELS],
                      const int curr_empty[BDBI_HAS_LEVELS], const int snap_empty[BDBI_HAS_LEVELS]);

/* stellar-core's prepareForPublish on one list's nexts, levels 1..10: a
 * next is cleared when the level above's snap (its protocol in
 * snap_ver[i - 1], 0 when empty) is 12 or later, since the merge is then
 * redone from that snap; otherwise a merge still given by its inputs
 * becomes a resolved one (state 1; filling its output hash is the
 * caller's). Level 0's next is left as it is (it must be clear). */
void bdbi_has_prepare_for_publish(bdbi_has_level lv[BDBI_HAS_LEVELS],
                                  const uint32_t snap_ver[BDBI_HAS_LEVELS]);

#endif
