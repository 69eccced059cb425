/* The Stellar XDR types stored in buckets, as schema tables.
 *
 * Sources: the XDR definitions of stellar-xdr (Stellar-types.x,
 * Stellar-ledger-entries.x, Stellar-contract.x,
 * Stellar-contract-config-setting.x) as shipped by @stellar/stellar-base
 * 15.0.0 (protocol 26), plus CAP-85 (protocol 28): SCV_EXECUTABLE_TAG = 22
 * carrying an SCString, and CONTRACT_EXECUTABLE_EXTERNAL_REF = 2 carrying
 * {SCAddress executable_owner; SCString tag}. SC_ADDRESS_TYPE_MUXED_CONTRACT
 * is behind an #ifdef in stellar-xdr and is not accepted. Field names
 * follow the .x files. */
#include "config.h"

#include "stellar_types.h"

#define N(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

#define PRIM(id, nm, k) static const bdbi_xtype id = {.name = nm, .kind = k}
#define FOPAQUE(id, nm, size)                                                                      \
    static const bdbi_xtype id = {.name = nm, .kind = BDBI_XK_FOPAQUE, .n = size}
#define VOPAQUE(id, nm, max)                                                                       \
    static const bdbi_xtype id = {.name = nm, .kind = BDBI_XK_VOPAQUE, .n = max}
#define STRING(id, nm, max)                                                                        \
    static const bdbi_xtype id = {.name = nm, .kind = BDBI_XK_STRING, .n = max}
#define OPTION(id, nm, e)                                                                          \
    static const bdbi_xtype id = {.name = nm, .kind = BDBI_XK_OPTION, .elem = &e}
#define ARRAY(id, nm, e, max)                                                                      \
    static const bdbi_xtype id = {.name = nm, .kind = BDBI_XK_ARRAY, .n = max, .elem = &e}
/* containers through which a type recurses: each counts as a nesting level */
#define NESTED_OPTION(id, nm, e)                                                                   \
    static const bdbi_xtype id = {.name = nm, .kind = BDBI_XK_OPTION, .elem = &e, .nests = 1}
#define NESTED_ARRAY(id, nm, e, max)                                                               \
    static const bdbi_xtype id = {                                                                 \
        .name = nm, .kind = BDBI_XK_ARRAY, .n = max, .elem = &e, .nests = 1}
#define STRUCT_T(nm, f)                                                                            \
    {                                                                                              \
        .name = nm, .kind = BDBI_XK_STRUCT, .n = N(f), .fields = f                                 \
    }
#define UNION_T(nm, disc, a)                                                                       \
    {                                                                                              \
        .name = nm, .kind = BDBI_XK_UNION, .n = N(a), .elem = &disc, .arms = a                     \
    }
#define ENUM_T(nm, v)                                                                              \
    {                                                                                              \
        .name = nm, .kind = BDBI_XK_ENUM, .n = N(v), .arms = v                                     \
    }
#define STRUCT(id, nm, ...)                                                                        \
    static const bdbi_xfield id##_f[] = {__VA_ARGS__};                                             \
    static const bdbi_xtype id = STRUCT_T(nm, id##_f)
#define UNION(id, nm, disc, ...)                                                                   \
    static const bdbi_xarm id##_a[] = {__VA_ARGS__};                                               \
    static const bdbi_xtype id = UNION_T(nm, disc, id##_a)
#define ENUM(id, nm, ...)                                                                          \
    static const bdbi_xarm id##_v[] = {__VA_ARGS__};                                               \
    static const bdbi_xtype id = ENUM_T(nm, id##_v)
/* exported variants (no `static`) */
#define XUNION(id, nm, disc, ...)                                                                  \
    static const bdbi_xarm id##_a[] = {__VA_ARGS__};                                               \
    const bdbi_xtype id = UNION_T(nm, disc, id##_a)
#define XSTRUCT(id, nm, ...)                                                                       \
    static const bdbi_xfield id##_f[] = {__VA_ARGS__};                                             \
    const bdbi_xtype id = STRUCT_T(nm, id##_f)
#define XENUM(id, nm, ...)                                                                         \
    static const bdbi_xarm id##_v[] = {__VA_ARGS__};                                               \
    const bdbi_xtype id = ENUM_T(nm, id##_v)

#define F(nm, t)                                                                                   \
    {                                                                                              \
        nm, &t                                                                                     \
    }
#define V(val, nm)                                                                                 \
    {                                                                                              \
        val, nm, NULL                                                                              \
    }
#define A(val, nm, t)                                                                              \
    {                                                                                              \
        val, nm, &t                                                                                \
    }
#define AV(val, nm)                                                                                \
    {                                                                                              \
        val, nm, NULL                                                                              \
    }

#define UNBOUNDED BDBI_XDR_UNBOUNDED

/* ------------------------------------------------------------------ */
/* Stellar-types.x                                                    */
/* ------------------------------------------------------------------ */

PRIM(t_int32, "int32", BDBI_XK_INT);
PRIM(t_uint32, "uint32", BDBI_XK_UINT);
PRIM(t_int64, "int64", BDBI_XK_HYPER);
PRIM(t_uint64, "uint64", BDBI_XK_UHYPER);
PRIM(t_bool, "bool", BDBI_XK_BOOL);
FOPAQUE(t_hash, "Hash", 32);
FOPAQUE(t_uint256, "uint256", 32);

/* `union switch (int v)` extension unions */
XUNION(bdbi_xt_extension_point, "ExtensionPoint", t_int32, AV(0, "v0"));

ENUM(t_public_key_type, "PublicKeyType", V(0, "PUBLIC_KEY_TYPE_ED25519"));
XUNION(bdbi_xt_account_id, "AccountID", t_public_key_type, A(0, "ed25519", t_uint256));

ENUM(t_signer_key_type, "SignerKeyType", V(0, "SIGNER_KEY_TYPE_ED25519"),
     V(1, "SIGNER_KEY_TYPE_PRE_AUTH_TX"), V(2, "SIGNER_KEY_TYPE_HASH_X"),
     V(3, "SIGNER_KEY_TYPE_ED25519_SIGNED_PAYLOAD"));
VOPAQUE(t_payload64, "opaque<64>", 64);
STRUCT(t_signed_payload, "SignerKey.ed25519SignedPayload", F("ed25519", t_uint256),
       F("payload", t_payload64));
UNION(t_signer_key, "SignerKey", t_signer_key_type, A(0, "ed25519", t_uint256),
      A(1, "preAuthTx", t_uint256), A(2, "hashX", t_uint256),
      A(3, "ed25519SignedPayload", t_signed_payload));

ENUM(t_cb_id_type, "ClaimableBalanceIDType", V(0, "CLAIMABLE_BALANCE_ID_TYPE_V0"));
XUNION(bdbi_xt_claimable_balance_id, "ClaimableBalanceID", t_cb_id_type, A(0, "v0", t_hash));

/* ------------------------------------------------------------------ */
/* Stellar-contract.x                                                 */
/* ------------------------------------------------------------------ */

/* SCVal is recursive: the tables refer to bdbi_xt_scval (declared in the
 * header) before its definition below. */

ENUM(t_sc_error_type, "SCErrorType", V(0, "SCE_CONTRACT"), V(1, "SCE_WASM_VM"), V(2, "SCE_CONTEXT"),
     V(3, "SCE_STORAGE"), V(4, "SCE_OBJECT"), V(5, "SCE_CRYPTO"), V(6, "SCE_EVENTS"),
     V(7, "SCE_BUDGET"), V(8, "SCE_VALUE"), V(9, "SCE_AUTH"));
ENUM(t_sc_error_code, "SCErrorCode", V(0, "SCEC_ARITH_DOMAIN"), V(1, "SCEC_INDEX_BOUNDS"),
     V(2, "SCEC_INVALID_INPUT"), V(3, "SCEC_MISSING_VALUE"), V(4, "SCEC_EXISTING_VALUE"),
     V(5, "SCEC_EXCEEDED_LIMIT"), V(6, "SCEC_INVALID_ACTION"), V(7, "SCEC_INTERNAL_ERROR"),
     V(8, "SCEC_UNEXPECTED_TYPE"), V(9, "SCEC_UNEXPECTED_SIZE"));
UNION(t_sc_error, "SCError", t_sc_error_type, A(0, "contractCode", t_uint32),
      A(1, "code", t_sc_error_code), A(2, "code", t_sc_error_code), A(3, "code", t_sc_error_code),
      A(4, "code", t_sc_error_code), A(5, "code", t_sc_error_code), A(6, "code", t_sc_error_code),
      A(7, "code", t_sc_error_code), A(8, "code", t_sc_error_code), A(9, "code", t_sc_error_code));

STRUCT(t_u128, "UInt128Parts", F("hi", t_uint64), F("lo", t_uint64));
STRUCT(t_i128, "Int128Parts", F("hi", t_int64), F("lo", t_uint64));
STRUCT(t_u256, "UInt256Parts", F("hi_hi", t_uint64), F("hi_lo", t_uint64), F("lo_hi", t_uint64),
       F("lo_lo", t_uint64));
STRUCT(t_i256, "Int256Parts", F("hi_hi", t_int64), F("hi_lo", t_uint64), F("lo_hi", t_uint64),
       F("lo_lo", t_uint64));

VOPAQUE(t_sc_bytes, "SCBytes", UNBOUNDED);
STRING(t_sc_string, "SCString", UNBOUNDED);
STRING(t_sc_symbol, "SCSymbol", 32);

ENUM(t_sc_address_type, "SCAddressType", V(0, "SC_ADDRESS_TYPE_ACCOUNT"),
     V(1, "SC_ADDRESS_TYPE_CONTRACT"), V(2, "SC_ADDRESS_TYPE_MUXED_ACCOUNT"),
     V(3, "SC_ADDRESS_TYPE_CLAIMABLE_BALANCE"), V(4, "SC_ADDRESS_TYPE_LIQUIDITY_POOL"));
STRUCT(t_muxed_ed25519, "MuxedEd25519Account", F("id", t_uint64), F("ed25519", t_uint256));
XUNION(bdbi_xt_scaddress, "SCAddress", t_sc_address_type, A(0, "accountId", bdbi_xt_account_id),
       A(1, "contractId", t_hash), A(2, "muxedAccount", t_muxed_ed25519),
       A(3, "claimableBalanceId", bdbi_xt_claimable_balance_id), A(4, "liquidityPoolId", t_hash));

ARRAY(t_sc_vec, "SCVec", bdbi_xt_scval, UNBOUNDED);
STRUCT(t_sc_map_entry, "SCMapEntry", F("key", bdbi_xt_scval), F("val", bdbi_xt_scval));
ARRAY(t_sc_map, "SCMap", t_sc_map_entry, UNBOUNDED);
NESTED_OPTION(t_sc_vec_opt, "SCVec*", t_sc_vec);
NESTED_OPTION(t_sc_map_opt, "SCMap*", t_sc_map);

ENUM(t_contract_executable_type, "ContractExecutableType", V(0, "CONTRACT_EXECUTABLE_WASM"),
     V(1, "CONTRACT_EXECUTABLE_STELLAR_ASSET"), V(2, "CONTRACT_EXECUTABLE_EXTERNAL_REF"));
STRUCT(t_external_ref, "ContractExecutable.externalRef", F("executable_owner", bdbi_xt_scaddress),
       F("tag", t_sc_string));
UNION(t_contract_executable, "ContractExecutable", t_contract_executable_type,
      A(0, "wasm_hash", t_hash), AV(1, "stellar_asset"), A(2, "external_ref", t_external_ref));
STRUCT(t_sc_contract_instance, "SCContractInstance", F("executable", t_contract_executable),
       F("storage", t_sc_map_opt));
STRUCT(t_sc_nonce_key, "SCNonceKey", F("nonce", t_int64));

ENUM(t_scval_type, "SCValType", V(0, "SCV_BOOL"), V(1, "SCV_VOID"), V(2, "SCV_ERROR"),
     V(3, "SCV_U32"), V(4, "SCV_I32"), V(5, "SCV_U64"), V(6, "SCV_I64"), V(7, "SCV_TIMEPOINT"),
     V(8, "SCV_DURATION"), V(9, "SCV_U128"), V(10, "SCV_I128"), V(11, "SCV_U256"),
     V(12, "SCV_I256"), V(13, "SCV_BYTES"), V(14, "SCV_STRING"), V(15, "SCV_SYMBOL"),
     V(16, "SCV_VEC"), V(17, "SCV_MAP"), V(18, "SCV_ADDRESS"), V(19, "SCV_CONTRACT_INSTANCE"),
     V(20, "SCV_LEDGER_KEY_CONTRACT_INSTANCE"), V(21, "SCV_LEDGER_KEY_NONCE"),
     V(22, "SCV_EXECUTABLE_TAG"));
static const bdbi_xarm t_scval_a[] = {
    A(0, "b", t_bool),
    AV(1, "void"),
    A(2, "error", t_sc_error),
    A(3, "u32", t_uint32),
    A(4, "i32", t_int32),
    A(5, "u64", t_uint64),
    A(6, "i64", t_int64),
    A(7, "timepoint", t_uint64),
    A(8, "duration", t_uint64),
    A(9, "u128", t_u128),
    A(10, "i128", t_i128),
    A(11, "u256", t_u256),
    A(12, "i256", t_i256),
    A(13, "bytes", t_sc_bytes),
    A(14, "str", t_sc_string),
    A(15, "sym", t_sc_symbol),
    A(16, "vec", t_sc_vec_opt),
    A(17, "map", t_sc_map_opt),
    A(18, "address", bdbi_xt_scaddress),
    A(19, "instance", t_sc_contract_instance),
    AV(20, "ledger_key_contract_instance"),
    A(21, "nonce_key", t_sc_nonce_key),
    A(22, "executable_tag", t_sc_string),
};
const bdbi_xtype bdbi_xt_scval = UNION_T("SCVal", t_scval_type, t_scval_a);

/* ------------------------------------------------------------------ */
/* Stellar-contract-config-setting.x                                  */
/* ------------------------------------------------------------------ */

STRUCT(t_cs_compute_v0, "ConfigSettingContractComputeV0", F("ledgerMaxInstructions", t_int64),
       F("txMaxInstructions", t_int64), F("feeRatePerInstructionsIncrement", t_int64),
       F("txMemoryLimit", t_uint32));
STRUCT(t_cs_ledger_cost_v0, "ConfigSettingContractLedgerCostV0",
       F("ledgerMaxDiskReadEntries", t_uint32), F("ledgerMaxDiskReadBytes", t_uint32),
       F("ledgerMaxWriteLedgerEntries", t_uint32), F("ledgerMaxWriteBytes", t_uint32),
       F("txMaxDiskReadEntries", t_uint32), F("txMaxDiskReadBytes", t_uint32),
       F("txMaxWriteLedgerEntries", t_uint32), F("txMaxWriteBytes", t_uint32),
       F("feeDiskReadLedgerEntry", t_int64), F("feeWriteLedgerEntry", t_int64),
       F("feeDiskRead1KB", t_int64), F("sorobanStateTargetSizeBytes", t_int64),
       F("rentFee1KBSorobanStateSizeLow", t_int64), F("rentFee1KBSorobanStateSizeHigh", t_int64),
       F("sorobanStateRentFeeGrowthFactor", t_uint32));
STRUCT(t_cs_historical_v0, "ConfigSettingContractHistoricalDataV0", F("feeHistorical1KB", t_int64));
STRUCT(t_cs_events_v0, "ConfigSettingContractEventsV0", F("txMaxContractEventsSizeBytes", t_uint32),
       F("feeContractEvents1KB", t_int64));
STRUCT(t_cs_bandwidth_v0, "ConfigSettingContractBandwidthV0", F("ledgerMaxTxsSizeBytes", t_uint32),
       F("txMaxSizeBytes", t_uint32), F("feeTxSize1KB", t_int64));
STRUCT(t_cost_param_entry, "ContractCostParamEntry", F("ext", bdbi_xt_extension_point),
       F("constTerm", t_int64), F("linearTerm", t_int64));
ARRAY(t_cost_params, "ContractCostParams", t_cost_param_entry, 1024);
STRUCT(t_state_archival, "StateArchivalSettings", F("maxEntryTTL", t_uint32),
       F("minTemporaryTTL", t_uint32), F("minPersistentTTL", t_uint32),
       F("persistentRentRateDenominator", t_int64), F("tempRentRateDenominator", t_int64),
       F("maxEntriesToArchive", t_uint32), F("liveSorobanStateSizeWindowSampleSize", t_uint32),
       F("liveSorobanStateSizeWindowSamplePeriod", t_uint32), F("evictionScanSize", t_uint32),
       F("startingEvictionScanLevel", t_uint32));
STRUCT(t_cs_lanes_v0, "ConfigSettingContractExecutionLanesV0", F("ledgerMaxTxCount", t_uint32));
ARRAY(t_uint64_array, "uint64<>", t_uint64, UNBOUNDED);
STRUCT(t_eviction_iterator, "EvictionIterator", F("bucketListLevel", t_uint32),
       F("isCurrBucket", t_bool), F("bucketFileOffset", t_uint64));
STRUCT(t_cs_parallel_v0, "ConfigSettingContractParallelComputeV0",
       F("ledgerMaxDependentTxClusters", t_uint32));
STRUCT(t_cs_ledger_cost_ext_v0, "ConfigSettingContractLedgerCostExtV0",
       F("txMaxFootprintEntries", t_uint32), F("feeWrite1KB", t_int64));
STRUCT(t_cs_scp_timing, "ConfigSettingSCPTiming", F("ledgerTargetCloseTimeMilliseconds", t_uint32),
       F("nominationTimeoutInitialMilliseconds", t_uint32),
       F("nominationTimeoutIncrementMilliseconds", t_uint32),
       F("ballotTimeoutInitialMilliseconds", t_uint32),
       F("ballotTimeoutIncrementMilliseconds", t_uint32));
VOPAQUE(t_encoded_ledger_key, "EncodedLedgerKey", UNBOUNDED);
ARRAY(t_encoded_keys, "EncodedLedgerKey<>", t_encoded_ledger_key, UNBOUNDED);
ARRAY(t_hashes, "Hash<>", t_hash, UNBOUNDED);
STRUCT(t_frozen_keys, "FrozenLedgerKeys", F("keys", t_encoded_keys));
STRUCT(t_frozen_keys_delta, "FrozenLedgerKeysDelta", F("keysToFreeze", t_encoded_keys),
       F("keysToUnfreeze", t_encoded_keys));
STRUCT(t_freeze_bypass, "FreezeBypassTxs", F("txHashes", t_hashes));
STRUCT(t_freeze_bypass_delta, "FreezeBypassTxsDelta", F("addTxs", t_hashes),
       F("removeTxs", t_hashes));

XENUM(bdbi_xt_config_setting_id, "ConfigSettingID", V(0, "CONFIG_SETTING_CONTRACT_MAX_SIZE_BYTES"),
      V(1, "CONFIG_SETTING_CONTRACT_COMPUTE_V0"), V(2, "CONFIG_SETTING_CONTRACT_LEDGER_COST_V0"),
      V(3, "CONFIG_SETTING_CONTRACT_HISTORICAL_DATA_V0"), V(4, "CONFIG_SETTING_CONTRACT_EVENTS_V0"),
      V(5, "CONFIG_SETTING_CONTRACT_BANDWIDTH_V0"),
      V(6, "CONFIG_SETTING_CONTRACT_COST_PARAMS_CPU_INSTRUCTIONS"),
      V(7, "CONFIG_SETTING_CONTRACT_COST_PARAMS_MEMORY_BYTES"),
      V(8, "CONFIG_SETTING_CONTRACT_DATA_KEY_SIZE_BYTES"),
      V(9, "CONFIG_SETTING_CONTRACT_DATA_ENTRY_SIZE_BYTES"), V(10, "CONFIG_SETTING_STATE_ARCHIVAL"),
      V(11, "CONFIG_SETTING_CONTRACT_EXECUTION_LANES"),
      V(12, "CONFIG_SETTING_LIVE_SOROBAN_STATE_SIZE_WINDOW"),
      V(13, "CONFIG_SETTING_EVICTION_ITERATOR"),
      V(14, "CONFIG_SETTING_CONTRACT_PARALLEL_COMPUTE_V0"),
      V(15, "CONFIG_SETTING_CONTRACT_LEDGER_COST_EXT_V0"), V(16, "CONFIG_SETTING_SCP_TIMING"),
      V(17, "CONFIG_SETTING_FROZEN_LEDGER_KEYS"), V(18, "CONFIG_SETTING_FROZEN_LEDGER_KEYS_DELTA"),
      V(19, "CONFIG_SETTING_FREEZE_BYPASS_TXS"), V(20, "CONFIG_SETTING_FREEZE_BYPASS_TXS_DELTA"));
UNION(t_config_setting_entry, "ConfigSettingEntry", bdbi_xt_config_setting_id,
      A(0, "contractMaxSizeBytes", t_uint32), A(1, "contractCompute", t_cs_compute_v0),
      A(2, "contractLedgerCost", t_cs_ledger_cost_v0),
      A(3, "contractHistoricalData", t_cs_historical_v0), A(4, "contractEvents", t_cs_events_v0),
      A(5, "contractBandwidth", t_cs_bandwidth_v0),
      A(6, "contractCostParamsCpuInsns", t_cost_params),
      A(7, "contractCostParamsMemBytes", t_cost_params), A(8, "contractDataKeySizeBytes", t_uint32),
      A(9, "contractDataEntrySizeBytes", t_uint32),
      A(10, "stateArchivalSettings", t_state_archival),
      A(11, "contractExecutionLanes", t_cs_lanes_v0),
      A(12, "liveSorobanStateSizeWindow", t_uint64_array),
      A(13, "evictionIterator", t_eviction_iterator),
      A(14, "contractParallelCompute", t_cs_parallel_v0),
      A(15, "contractLedgerCostExt", t_cs_ledger_cost_ext_v0),
      A(16, "contractSCPTiming", t_cs_scp_timing), A(17, "frozenLedgerKeys", t_frozen_keys),
      A(18, "frozenLedgerKeysDelta", t_frozen_keys_delta),
      A(19, "freezeBypassTxs", t_freeze_bypass),
      A(20, "freezeBypassTxsDelta", t_freeze_bypass_delta));

/* ------------------------------------------------------------------ */
/* Stellar-ledger-entries.x                                           */
/* ------------------------------------------------------------------ */

FOPAQUE(t_thresholds, "Thresholds", 4);
STRING(t_string32, "string32", 32);
const bdbi_xtype bdbi_xt_string64 = {.name = "string64", .kind = BDBI_XK_STRING, .n = 64};
VOPAQUE(t_data_value, "DataValue", 64);
FOPAQUE(t_asset_code4, "AssetCode4", 4);
FOPAQUE(t_asset_code12, "AssetCode12", 12);

ENUM(t_asset_type, "AssetType", V(0, "ASSET_TYPE_NATIVE"), V(1, "ASSET_TYPE_CREDIT_ALPHANUM4"),
     V(2, "ASSET_TYPE_CREDIT_ALPHANUM12"), V(3, "ASSET_TYPE_POOL_SHARE"));
STRUCT(t_alpha_num4, "AlphaNum4", F("assetCode", t_asset_code4), F("issuer", bdbi_xt_account_id));
STRUCT(t_alpha_num12, "AlphaNum12", F("assetCode", t_asset_code12),
       F("issuer", bdbi_xt_account_id));
UNION(t_asset, "Asset", t_asset_type, AV(0, "native"), A(1, "alphaNum4", t_alpha_num4),
      A(2, "alphaNum12", t_alpha_num12));
XUNION(bdbi_xt_trustline_asset, "TrustLineAsset", t_asset_type, AV(0, "native"),
       A(1, "alphaNum4", t_alpha_num4), A(2, "alphaNum12", t_alpha_num12),
       A(3, "liquidityPoolID", t_hash));
STRUCT(t_price, "Price", F("n", t_int32), F("d", t_int32));
STRUCT(t_liabilities, "Liabilities", F("buying", t_int64), F("selling", t_int64));

ENUM(t_ledger_entry_type, "LedgerEntryType", V(0, "ACCOUNT"), V(1, "TRUSTLINE"), V(2, "OFFER"),
     V(3, "DATA"), V(4, "CLAIMABLE_BALANCE"), V(5, "LIQUIDITY_POOL"), V(6, "CONTRACT_DATA"),
     V(7, "CONTRACT_CODE"), V(8, "CONFIG_SETTING"), V(9, "TTL"));

STRUCT(t_signer, "Signer", F("key", t_signer_key), F("weight", t_uint32));
ARRAY(t_signers, "Signer<20>", t_signer, 20);
OPTION(t_sponsorship, "SponsorshipDescriptor", bdbi_xt_account_id);
ARRAY(t_sponsorships, "SponsorshipDescriptor<20>", t_sponsorship, 20);

STRUCT(t_account_ext_v3, "AccountEntryExtensionV3", F("ext", bdbi_xt_extension_point),
       F("seqLedger", t_uint32), F("seqTime", t_uint64));
UNION(t_account_ext_v2_ext, "AccountEntryExtensionV2.ext", t_int32, AV(0, "v0"),
      A(3, "v3", t_account_ext_v3));
STRUCT(t_account_ext_v2, "AccountEntryExtensionV2", F("numSponsored", t_uint32),
       F("numSponsoring", t_uint32), F("signerSponsoringIDs", t_sponsorships),
       F("ext", t_account_ext_v2_ext));
UNION(t_account_ext_v1_ext, "AccountEntryExtensionV1.ext", t_int32, AV(0, "v0"),
      A(2, "v2", t_account_ext_v2));
STRUCT(t_account_ext_v1, "AccountEntryExtensionV1", F("liabilities", t_liabilities),
       F("ext", t_account_ext_v1_ext));
UNION(t_account_ext, "AccountEntry.ext", t_int32, AV(0, "v0"), A(1, "v1", t_account_ext_v1));
OPTION(t_account_id_opt, "AccountID*", bdbi_xt_account_id);
STRUCT(t_account_entry, "AccountEntry", F("accountID", bdbi_xt_account_id), F("balance", t_int64),
       F("seqNum", t_int64), F("numSubEntries", t_uint32), F("inflationDest", t_account_id_opt),
       F("flags", t_uint32), F("homeDomain", t_string32), F("thresholds", t_thresholds),
       F("signers", t_signers), F("ext", t_account_ext));

UNION(t_trustline_ext_v2_ext, "TrustLineEntryExtensionV2.ext", t_int32, AV(0, "v0"));
STRUCT(t_trustline_ext_v2, "TrustLineEntryExtensionV2", F("liquidityPoolUseCount", t_int32),
       F("ext", t_trustline_ext_v2_ext));
UNION(t_trustline_v1_ext, "TrustLineEntry.v1.ext", t_int32, AV(0, "v0"),
      A(2, "v2", t_trustline_ext_v2));
STRUCT(t_trustline_v1, "TrustLineEntry.v1", F("liabilities", t_liabilities),
       F("ext", t_trustline_v1_ext));
UNION(t_trustline_ext, "TrustLineEntry.ext", t_int32, AV(0, "v0"), A(1, "v1", t_trustline_v1));
STRUCT(t_trustline_entry, "TrustLineEntry", F("accountID", bdbi_xt_account_id),
       F("asset", bdbi_xt_trustline_asset), F("balance", t_int64), F("limit", t_int64),
       F("flags", t_uint32), F("ext", t_trustline_ext));

UNION(t_v0_ext, "ext", t_int32, AV(0, "v0"));
STRUCT(t_offer_entry, "OfferEntry", F("sellerID", bdbi_xt_account_id), F("offerID", t_int64),
       F("selling", t_asset), F("buying", t_asset), F("amount", t_int64), F("price", t_price),
       F("flags", t_uint32), F("ext", t_v0_ext));

STRUCT(t_data_entry, "DataEntry", F("accountID", bdbi_xt_account_id),
       F("dataName", bdbi_xt_string64), F("dataValue", t_data_value), F("ext", t_v0_ext));

static const bdbi_xtype t_claim_predicate; /* recursive */
ENUM(t_claim_predicate_type, "ClaimPredicateType", V(0, "CLAIM_PREDICATE_UNCONDITIONAL"),
     V(1, "CLAIM_PREDICATE_AND"), V(2, "CLAIM_PREDICATE_OR"), V(3, "CLAIM_PREDICATE_NOT"),
     V(4, "CLAIM_PREDICATE_BEFORE_ABSOLUTE_TIME"), V(5, "CLAIM_PREDICATE_BEFORE_RELATIVE_TIME"));
NESTED_ARRAY(t_claim_predicates2, "ClaimPredicate<2>", t_claim_predicate, 2);
NESTED_OPTION(t_claim_predicate_opt, "ClaimPredicate*", t_claim_predicate);
static const bdbi_xarm t_claim_predicate_a[] = {
    AV(0, "unconditional"),
    A(1, "andPredicates", t_claim_predicates2),
    A(2, "orPredicates", t_claim_predicates2),
    A(3, "notPredicate", t_claim_predicate_opt),
    A(4, "absBefore", t_int64),
    A(5, "relBefore", t_int64),
};
static const bdbi_xtype t_claim_predicate =
    UNION_T("ClaimPredicate", t_claim_predicate_type, t_claim_predicate_a);
ENUM(t_claimant_type, "ClaimantType", V(0, "CLAIMANT_TYPE_V0"));
STRUCT(t_claimant_v0, "Claimant.v0", F("destination", bdbi_xt_account_id),
       F("predicate", t_claim_predicate));
UNION(t_claimant, "Claimant", t_claimant_type, A(0, "v0", t_claimant_v0));
ARRAY(t_claimants, "Claimant<10>", t_claimant, 10);
STRUCT(t_cb_ext_v1, "ClaimableBalanceEntryExtensionV1", F("ext", t_v0_ext), F("flags", t_uint32));
UNION(t_cb_ext, "ClaimableBalanceEntry.ext", t_int32, AV(0, "v0"), A(1, "v1", t_cb_ext_v1));
STRUCT(t_cb_entry, "ClaimableBalanceEntry", F("balanceID", bdbi_xt_claimable_balance_id),
       F("claimants", t_claimants), F("asset", t_asset), F("amount", t_int64), F("ext", t_cb_ext));

ENUM(t_lp_type, "LiquidityPoolType", V(0, "LIQUIDITY_POOL_CONSTANT_PRODUCT"));
STRUCT(t_lp_cp_params, "LiquidityPoolConstantProductParameters", F("assetA", t_asset),
       F("assetB", t_asset), F("fee", t_int32));
STRUCT(t_lp_cp, "LiquidityPoolEntry.constantProduct", F("params", t_lp_cp_params),
       F("reserveA", t_int64), F("reserveB", t_int64), F("totalPoolShares", t_int64),
       F("poolSharesTrustLineCount", t_int64));
UNION(t_lp_body, "LiquidityPoolEntry.body", t_lp_type, A(0, "constantProduct", t_lp_cp));
STRUCT(t_lp_entry, "LiquidityPoolEntry", F("liquidityPoolID", t_hash), F("body", t_lp_body));

XENUM(bdbi_xt_contract_data_durability, "ContractDataDurability", V(0, "TEMPORARY"),
      V(1, "PERSISTENT"));
STRUCT(t_contract_data_entry, "ContractDataEntry", F("ext", bdbi_xt_extension_point),
       F("contract", bdbi_xt_scaddress), F("key", bdbi_xt_scval),
       F("durability", bdbi_xt_contract_data_durability), F("val", bdbi_xt_scval));

STRUCT(t_code_cost_inputs, "ContractCodeCostInputs", F("ext", bdbi_xt_extension_point),
       F("nInstructions", t_uint32), F("nFunctions", t_uint32), F("nGlobals", t_uint32),
       F("nTableEntries", t_uint32), F("nTypes", t_uint32), F("nDataSegments", t_uint32),
       F("nElemSegments", t_uint32), F("nImports", t_uint32), F("nExports", t_uint32),
       F("nDataSegmentBytes", t_uint32));
STRUCT(t_code_ext_v1, "ContractCodeEntry.ext.v1", F("ext", bdbi_xt_extension_point),
       F("costInputs", t_code_cost_inputs));
XUNION(bdbi_xt_contract_code_ext, "ContractCodeEntry.ext", t_int32, AV(0, "v0"),
       A(1, "v1", t_code_ext_v1));
VOPAQUE(t_code, "opaque<>", UNBOUNDED);
STRUCT(t_contract_code_entry, "ContractCodeEntry", F("ext", bdbi_xt_contract_code_ext),
       F("hash", t_hash), F("code", t_code));

STRUCT(t_ttl_entry, "TTLEntry", F("keyHash", t_hash), F("liveUntilLedgerSeq", t_uint32));

UNION(t_ledger_entry_data, "LedgerEntry.data", t_ledger_entry_type,
      A(0, "account", t_account_entry), A(1, "trustLine", t_trustline_entry),
      A(2, "offer", t_offer_entry), A(3, "data", t_data_entry),
      A(4, "claimableBalance", t_cb_entry), A(5, "liquidityPool", t_lp_entry),
      A(6, "contractData", t_contract_data_entry), A(7, "contractCode", t_contract_code_entry),
      A(8, "configSetting", t_config_setting_entry), A(9, "ttl", t_ttl_entry));
STRUCT(t_ledger_entry_ext_v1, "LedgerEntryExtensionV1", F("sponsoringID", t_sponsorship),
       F("ext", t_v0_ext));
UNION(t_ledger_entry_ext, "LedgerEntry.ext", t_int32, AV(0, "v0"),
      A(1, "v1", t_ledger_entry_ext_v1));
XSTRUCT(bdbi_xt_ledger_entry, "LedgerEntry", F("lastModifiedLedgerSeq", t_uint32),
        F("data", t_ledger_entry_data), F("ext", t_ledger_entry_ext));

/* LedgerKey */
STRUCT(t_lk_account, "LedgerKey.account", F("accountID", bdbi_xt_account_id));
STRUCT(t_lk_trustline, "LedgerKey.trustLine", F("accountID", bdbi_xt_account_id),
       F("asset", bdbi_xt_trustline_asset));
STRUCT(t_lk_offer, "LedgerKey.offer", F("sellerID", bdbi_xt_account_id), F("offerID", t_int64));
STRUCT(t_lk_data, "LedgerKey.data", F("accountID", bdbi_xt_account_id),
       F("dataName", bdbi_xt_string64));
STRUCT(t_lk_cb, "LedgerKey.claimableBalance", F("balanceID", bdbi_xt_claimable_balance_id));
STRUCT(t_lk_lp, "LedgerKey.liquidityPool", F("liquidityPoolID", t_hash));
STRUCT(t_lk_contract_data, "LedgerKey.contractData", F("contract", bdbi_xt_scaddress),
       F("key", bdbi_xt_scval), F("durability", bdbi_xt_contract_data_durability));
STRUCT(t_lk_contract_code, "LedgerKey.contractCode", F("hash", t_hash));
STRUCT(t_lk_config, "LedgerKey.configSetting", F("configSettingID", bdbi_xt_config_setting_id));
STRUCT(t_lk_ttl, "LedgerKey.ttl", F("keyHash", t_hash));
XUNION(bdbi_xt_ledger_key, "LedgerKey", t_ledger_entry_type, A(0, "account", t_lk_account),
       A(1, "trustLine", t_lk_trustline), A(2, "offer", t_lk_offer), A(3, "data", t_lk_data),
       A(4, "claimableBalance", t_lk_cb), A(5, "liquidityPool", t_lk_lp),
       A(6, "contractData", t_lk_contract_data), A(7, "contractCode", t_lk_contract_code),
       A(8, "configSetting", t_lk_config), A(9, "ttl", t_lk_ttl));

/* Buckets */
ENUM(t_bucket_list_type, "BucketListType", V(0, "LIVE"), V(1, "HOT_ARCHIVE"));
UNION(t_bucket_metadata_ext, "BucketMetadata.ext", t_int32, AV(0, "v0"),
      A(1, "bucketListType", t_bucket_list_type));
XSTRUCT(bdbi_xt_bucket_metadata, "BucketMetadata", F("ledgerVersion", t_uint32),
        F("ext", t_bucket_metadata_ext));
ENUM(t_bucket_entry_type, "BucketEntryType", V(-1, "METAENTRY"), V(0, "LIVEENTRY"),
     V(1, "DEADENTRY"), V(2, "INITENTRY"));
XUNION(bdbi_xt_bucket_entry, "BucketEntry", t_bucket_entry_type,
       A(-1, "metaEntry", bdbi_xt_bucket_metadata), A(0, "liveEntry", bdbi_xt_ledger_entry),
       A(1, "deadEntry", bdbi_xt_ledger_key), A(2, "liveEntry", bdbi_xt_ledger_entry));
ENUM(t_hot_entry_type, "HotArchiveBucketEntryType", V(-1, "HOT_ARCHIVE_METAENTRY"),
     V(0, "HOT_ARCHIVE_ARCHIVED"), V(1, "HOT_ARCHIVE_LIVE"));
XUNION(bdbi_xt_hot_archive_bucket_entry, "HotArchiveBucketEntry", t_hot_entry_type,
       A(-1, "metaEntry", bdbi_xt_bucket_metadata), A(0, "archivedEntry", bdbi_xt_ledger_entry),
       A(1, "key", bdbi_xt_ledger_key));
