/* What the generator's files share: the generator's tables, its hashing
 * (every property of an entry is a hash of the seed, a purpose tag and
 * the slot, so any entry can be computed alone), and the encoders of the
 * pieces several types use (account IDs, 32-byte IDs, assets). */
#ifndef BDB_PERF_GEN_IMPL_H
#define BDB_PERF_GEN_IMPL_H

#include <stdint.h>

#include "bucketdb/ledger.h"
#include "core/hash.h"
#include "xdr/xdrout.h"

#include "gen.h"

/* A credit asset of the table: ordered as TrustLineAsset/Asset compare
 * (discriminant, code bytes, issuer), the issuer being an account slot. */
typedef struct gen_asset {
    uint8_t disc; /* 1 CREDIT_ALPHANUM4, 2 CREDIT_ALPHANUM12 */
    uint8_t code[12];
    uint64_t issuer; /* account slot */
} gen_asset;

typedef struct gen_name {
    uint8_t len;
    char s[24];
} gen_name;

#define GEN_CONTRACT_PERIOD 64

struct gen {
    uint64_t seed, n;
    uint64_t count[GEN_TYPES];
    uint64_t stride[GEN_TYPES]; /* key prefix step per slot (hash-keyed types) */
    /* trustline assets: 4 per usable asset, a live key using those at 4b */
    gen_asset *assets;
    uint32_t n_assets; /* 4 * usable */
    uint32_t tl_span;  /* max trustlines per account */
    gen_name *names;   /* DATA names, same 4-per-name layout */
    uint32_t n_names;
    uint32_t data_span;
    uint64_t n_sellers;
    /* contracts: contract c holds CONTRACT_DATA [cum(c), cum(c+1)) */
    uint64_t n_contracts;
    uint64_t contract_stride;
    uint64_t cw[GEN_CONTRACT_PERIOD + 1]; /* prefix sums of one period's weights */
};

/* ---- hashing ---- */

/* Purposes of hashes; combined with the type and a version into a tag. */
enum {
    GH_ID = 1,   /* bytes of IDs */
    GH_SHAPE,    /* version-independent shape of an entry */
    GH_VALUE,    /* version-dependent values */
    GH_DELETED,  /* gen_is_deleted */
    GH_GROUP,    /* per-owner choices (trustline assets, data names) */
    GH_ABSENT,   /* absent keys */
    GH_TABLE,    /* the generator's tables */
    GH_CONTRACT, /* per-contract choices */
    GH_PLACE     /* placement in a bucket list (gen_layout) */
};

static inline uint64_t gen_tag(int purpose, int type, uint32_t version)
{
    return ((uint64_t)(uint32_t)purpose << 40) | ((uint64_t)(uint32_t)type << 32) | version;
}

/* The hash of (seed, tag, x). */
static inline uint64_t gen_hash(const gen *g, uint64_t tag, uint64_t x)
{
    return bdbi_fmix64(bdbi_fmix64(g->seed ^ (tag * 0x9e3779b97f4a7c15ull)) ^
                       (x * 0xd6e8feb86659fd93ull) ^ 0x2545f4914f6cdd1dull);
}

/* splitmix64: a stream of values from one hash. */
typedef struct gen_rng {
    uint64_t s;
} gen_rng;

static inline gen_rng gen_rng_of(const gen *g, uint64_t tag, uint64_t x)
{
    gen_rng r = {gen_hash(g, tag, x)};
    return r;
}

static inline uint64_t gen_next(gen_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) (n > 0); the slight bias of the multiply is fine. */
static inline uint64_t gen_below(gen_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)gen_next(r) * n) >> 64);
}

/* Uniform in [0, 1). */
static inline double gen_unit(gen_rng *r)
{
    return (double)(gen_next(r) >> 11) * 0x1.0p-53;
}

/* True with probability per_mille / 1000. */
static inline int gen_chance(gen_rng *r, unsigned per_mille)
{
    return gen_below(r, 1000) < per_mille;
}

/* x (>= 0) with its last three decimal digits replaced by the version's:
 * values of different versions always differ, so an update always
 * changes an entry. */
static inline int64_t gen_versioned(int64_t x, uint32_t version)
{
    return x - x % 1000 + (int64_t)(version % 1000);
}

/* floor(a * b / c) without overflow (c > 0). */
static inline uint64_t gen_muldiv(uint64_t a, uint64_t b, uint64_t c)
{
    return (uint64_t)((unsigned __int128)a * b / c);
}

/* ---- groups: items spread over owners in order ---- */

/* The owner of item k of n_items spread evenly over n_owners. */
static inline uint64_t gen_group_owner(uint64_t k, uint64_t n_items, uint64_t n_owners)
{
    return gen_muldiv(k, n_owners, n_items);
}

/* The first item of owner j: the least k with gen_group_owner(k) == j. */
static inline uint64_t gen_group_first(uint64_t j, uint64_t n_items, uint64_t n_owners)
{
    unsigned __int128 p = (unsigned __int128)j * n_items;
    return (uint64_t)((p + n_owners - 1) / n_owners);
}

/* ---- shared encoders (gen.c) ---- */

/* The 64-bit key prefix of `slot` of a hash-keyed type: increasing. */
static inline uint64_t gen_prefix(const gen *g, int type, uint64_t slot)
{
    return slot * g->stride[type];
}

/* 32 bytes whose first 8 are `prefix` big-endian, the rest a hash of
 * (type, slot): the body of account IDs, balance IDs, pool IDs, code
 * hashes and contract IDs. */
void gen_id32(const gen *g, int type, uint64_t slot, uint64_t prefix, bdbi_xdr_out *o);
/* AccountID (36 bytes) of account slot `slot`. */
void gen_account(const gen *g, uint64_t slot, bdbi_xdr_out *o);
/* Asset XDR of credit asset `i` of the table. */
void gen_put_asset(const gen *g, uint32_t i, bdbi_xdr_out *o);
/* Contract ID (32 bytes, no discriminant) of contract slot `cslot`. */
void gen_contract_id(const gen *g, uint64_t cslot, bdbi_xdr_out *o);

/* ---- keys of owned types (gen.c) ---- */

/* Where trustline k of its owner sits: the owner's account index, and
 * the asset as an index into the table (pool < 0) or a liquidity pool
 * index (pool >= 0). */
typedef struct gen_tl_pos {
    uint64_t owner;
    uint32_t asset; /* table index of the live key (4 * usable index) */
    int64_t pool;   /* >= 0: a pool-share trustline of pool `pool` */
} gen_tl_pos;
void gen_trustline_pos(const gen *g, uint64_t k, gen_tl_pos *p);
uint64_t gen_offer_seller(const gen *g, uint64_t k);
void gen_data_pos(const gen *g, uint64_t k, uint64_t *owner, uint32_t *name);

/* ---- Soroban (gen_soroban.c) ---- */

void gen_contract_setup(gen *g);
/* The CONTRACT_DATA key at `slot` (LedgerKey XDR); its durability in *durable. */
void gen_contract_data_key(const gen *g, uint64_t slot, bdbi_xdr_out *o, int *durable);
/* Whether CONTRACT_DATA k is its contract's instance. */
int gen_contract_data_is_instance(const gen *g, uint64_t k);
void gen_contract_data_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o);
void gen_contract_code_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o);
void gen_config_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o);
/* The config setting ID of `slot`: live ones for classes 0/1, ones no
 * state holds for classes 2/3. */
uint32_t gen_config_id(uint64_t slot);
/* The TTL's owner: its type and slot. */
void gen_ttl_owner(const gen *g, uint64_t slot, int *type, uint64_t *owner_slot);
void gen_ttl_body(const gen *g, uint64_t slot, uint32_t version, uint32_t last_modified,
                  bdbi_xdr_out *o);

/* ---- classic bodies (gen_entry.c) ---- */

void gen_account_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o);
void gen_trustline_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o);
void gen_offer_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o);
void gen_data_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o);
void gen_claimable_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o);
void gen_pool_body(const gen *g, uint64_t slot, uint32_t version, bdbi_xdr_out *o);
/* The key fields (without the type) of classic key `slot`. */
void gen_classic_key_fields(const gen *g, int type, uint64_t slot, bdbi_xdr_out *o);

#endif
