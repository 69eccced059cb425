// Shared helpers for gen.js: builders over @stellar/stellar-base's xdr, the
// explicit per-type LedgerKey derivation, and the §3.2 structural comparator.
'use strict';

const crypto = require('crypto');
const { xdr, Keypair, StrKey } = require('@stellar/stellar-base');
const SB_VERSION = require('@stellar/stellar-base/package.json').version;

const out = {
  generator: 'tests/vectors/gen.js',
  stellar_base: SB_VERSION,
  entries: [], keys: [], scvals: [], metadata: [], invalid: [], order_facts: [], missing: [],
};

// ---------------------------------------------------------------- basics ---
function check(cond, msg) { if (!cond) throw new Error('assertion failed: ' + msg); }
const sha256 = (b) => crypto.createHash('sha256').update(b).digest();
const hash = (label) => sha256(Buffer.from(label, 'utf8'));      // deterministic 32-byte Hash
const hex = (b) => Buffer.from(b).toString('hex');

// Fixed-seed PRNG (mulberry32); the only source of "random" bytes.
let prngState = 0x5eed1234;
function prngU32() {
  prngState = (prngState + 0x6d2b79f5) >>> 0;
  let t = prngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}
const prngBytes = (n) => Buffer.from(Array.from({ length: n }, () => prngU32() & 0xff));

// Encode and prove the encoder's own round trip (decode -> encode is the identity).
function enc(v) {
  const bytes = v.toXDR();
  const back = v.constructor.fromXDR(bytes);
  check(back.toXDR().equals(bytes), 'round trip of ' + v.constructor.name);
  return bytes;
}

const I64 = (s) => xdr.Int64.fromString(String(s));
const U64 = (s) => xdr.Uint64.fromString(String(s));
const INT64_MIN = '-9223372036854775808', INT64_MAX = '9223372036854775807';
const UINT64_MAX = '18446744073709551615';
const kp = (n) => Keypair.fromRawEd25519Seed(Buffer.alloc(32, n));
const acct = (n) => kp(n).xdrAccountId();
const xdrName = (jsName) => jsName.replace(/([A-Z])/g, '_$1').toUpperCase();  // scvU32 -> SCV_U32
const ext0 = () => new xdr.ExtensionPoint(0);

// ---------------------------------------------------- assets & addresses ---
const code = (s, n) => Buffer.concat([Buffer.from(s, 'ascii'), Buffer.alloc(n - s.length)]);
const ASSET = {
  native: () => xdr.Asset.assetTypeNative(),
  an4: (c, n) => xdr.Asset.assetTypeCreditAlphanum4(new xdr.AlphaNum4({ assetCode: code(c, 4), issuer: acct(n) })),
  an12: (c, n) => xdr.Asset.assetTypeCreditAlphanum12(new xdr.AlphaNum12({ assetCode: code(c, 12), issuer: acct(n) })),
};
const TLA = {
  native: () => xdr.TrustLineAsset.assetTypeNative(),
  an4: (c, n) => xdr.TrustLineAsset.assetTypeCreditAlphanum4(new xdr.AlphaNum4({ assetCode: code(c, 4), issuer: acct(n) })),
  an12: (c, n) => xdr.TrustLineAsset.assetTypeCreditAlphanum12(new xdr.AlphaNum12({ assetCode: code(c, 12), issuer: acct(n) })),
  pool: (poolId) => xdr.TrustLineAsset.assetTypePoolShare(poolId),
};
const cbId = (h32) => xdr.ClaimableBalanceId.claimableBalanceIdTypeV0(h32);
const ADDR = {
  account: (n) => xdr.ScAddress.scAddressTypeAccount(acct(n)),
  contract: (h32) => xdr.ScAddress.scAddressTypeContract(h32),
  muxed: (id, ed) => xdr.ScAddress.scAddressTypeMuxedAccount(new xdr.MuxedEd25519Account({ id: U64(id), ed25519: ed })),
  cb: (h32) => xdr.ScAddress.scAddressTypeClaimableBalance(cbId(h32)),
  pool: (h32) => xdr.ScAddress.scAddressTypeLiquidityPool(h32),
};

// ----------------------------------------------------------------- SCVal ---
const SV = {
  bool: (b) => xdr.ScVal.scvBool(b),
  void: () => xdr.ScVal.scvVoid(),
  errContract: (c) => xdr.ScVal.scvError(xdr.ScError.sceContract(c)),
  err: (type, codeName) => xdr.ScVal.scvError(xdr.ScError[type](xdr.ScErrorCode[codeName]())),
  u32: (n) => xdr.ScVal.scvU32(n),
  i32: (n) => xdr.ScVal.scvI32(n),
  u64: (s) => xdr.ScVal.scvU64(U64(s)),
  i64: (s) => xdr.ScVal.scvI64(I64(s)),
  timepoint: (s) => xdr.ScVal.scvTimepoint(U64(s)),
  duration: (s) => xdr.ScVal.scvDuration(U64(s)),
  u128: (hi, lo) => xdr.ScVal.scvU128(new xdr.UInt128Parts({ hi: U64(hi), lo: U64(lo) })),
  i128: (hi, lo) => xdr.ScVal.scvI128(new xdr.Int128Parts({ hi: I64(hi), lo: U64(lo) })),
  u256: (a, b, c, d) => xdr.ScVal.scvU256(new xdr.UInt256Parts({ hiHi: U64(a), hiLo: U64(b), loHi: U64(c), loLo: U64(d) })),
  i256: (a, b, c, d) => xdr.ScVal.scvI256(new xdr.Int256Parts({ hiHi: I64(a), hiLo: U64(b), loHi: U64(c), loLo: U64(d) })),
  bytes: (b) => xdr.ScVal.scvBytes(Buffer.from(b)),
  str: (s) => xdr.ScVal.scvString(Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8')),
  sym: (s) => xdr.ScVal.scvSymbol(s),
  vec: (items) => xdr.ScVal.scvVec(items),                                      // null = absent
  map: (pairs) => xdr.ScVal.scvMap(pairs && pairs.map(([key, val]) => new xdr.ScMapEntry({ key, val }))),
  addr: (a) => xdr.ScVal.scvAddress(a),
  instance: (executable, storage) => xdr.ScVal.scvContractInstance(new xdr.ScContractInstance({ executable, storage })),
  instanceKey: () => xdr.ScVal.scvLedgerKeyContractInstance(),
  nonce: (s) => xdr.ScVal.scvLedgerKeyNonce(new xdr.ScNonceKey({ nonce: I64(s) })),
};
const WASM = (h32) => xdr.ContractExecutable.contractExecutableWasm(h32);
const SAC = () => xdr.ContractExecutable.contractExecutableStellarAsset();

// ------------------------------------------------------------ LedgerKeys ---
const DUR = { temporary: () => xdr.ContractDataDurability.temporary(), persistent: () => xdr.ContractDataDurability.persistent() };
const KEY = {
  account: (accountId) => xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId })),
  trustline: (accountId, asset) => xdr.LedgerKey.trustline(new xdr.LedgerKeyTrustLine({ accountId, asset })),
  offer: (sellerId, offerId) => xdr.LedgerKey.offer(new xdr.LedgerKeyOffer({ sellerId, offerId })),
  data: (accountId, dataName) => xdr.LedgerKey.data(new xdr.LedgerKeyData({ accountId, dataName })),
  claimableBalance: (balanceId) => xdr.LedgerKey.claimableBalance(new xdr.LedgerKeyClaimableBalance({ balanceId })),
  liquidityPool: (liquidityPoolId) => xdr.LedgerKey.liquidityPool(new xdr.LedgerKeyLiquidityPool({ liquidityPoolId })),
  contractData: (contract, key, durability) => xdr.LedgerKey.contractData(new xdr.LedgerKeyContractData({ contract, key, durability })),
  contractCode: (h32) => xdr.LedgerKey.contractCode(new xdr.LedgerKeyContractCode({ hash: h32 })),
  configSetting: (configSettingId) => xdr.LedgerKey.configSetting(new xdr.LedgerKeyConfigSetting({ configSettingId })),
  ttl: (keyHash) => xdr.LedgerKey.ttl(new xdr.LedgerKeyTtl({ keyHash })),
};

// Key derivation, written out per type from the *decoded* entry's key fields
// (spec §2.3: LedgerEntryKey copies exactly these fields).
function deriveKey(entry) {
  const d = entry.data();
  switch (d.switch().name) {
    case 'account': return KEY.account(d.account().accountId());
    case 'trustline': return KEY.trustline(d.trustLine().accountId(), d.trustLine().asset());
    case 'offer': return KEY.offer(d.offer().sellerId(), d.offer().offerId());
    case 'data': return KEY.data(d.data().accountId(), d.data().dataName());
    case 'claimableBalance': return KEY.claimableBalance(d.claimableBalance().balanceId());
    case 'liquidityPool': return KEY.liquidityPool(d.liquidityPool().liquidityPoolId());
    case 'contractData': {
      const cd = d.contractData();
      return KEY.contractData(cd.contract(), cd.key(), cd.durability());
    }
    case 'contractCode': return KEY.contractCode(d.contractCode().hash());
    case 'configSetting': return KEY.configSetting(d.configSetting().switch());
    case 'ttl': return KEY.ttl(d.ttl().keyHash());
    default: throw new Error('unknown LedgerEntryType ' + d.switch().name);
  }
}

// ----------------------------------------------- §3.2 structural ordering ---
// xdrpp operator< on decoded js-xdr values: unions by signed discriminant then
// arm; structs field by field; signed/unsigned numeric; opaque/string bytewise
// with a proper prefix first; optional absent < present; arrays lexicographic.
function cmp(a, b) {
  const absent = (x) => x === undefined || x === null;
  if (absent(a) || absent(b)) return absent(a) ? (absent(b) ? 0 : -1) : 1;
  if (typeof a === 'boolean') return Number(a) - Number(b);
  if (typeof a === 'number') return Math.sign(a - b);
  if (Buffer.isBuffer(a)) return Buffer.compare(a, b);
  if (Array.isArray(a)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) { const c = cmp(a[i], b[i]); if (c) return c; }
    return Math.sign(a.length - b.length);
  }
  if (typeof a.toBigInt === 'function') { const x = a.toBigInt(), y = b.toBigInt(); return x < y ? -1 : x > y ? 1 : 0; }
  if (a.constructor.enumName) return Math.sign(a.value - b.value);
  if (typeof a.switch === 'function') return cmp(a.switch(), b.switch()) || cmp(a.value(), b.value());
  if (a.constructor._fields) {
    for (const [f] of a.constructor._fields) { const c = cmp(a._attributes[f], b._attributes[f]); if (c) return c; }
    return 0;
  }
  throw new Error('cmp: unsupported value ' + a.constructor.name);
}
const cmpKeyBytes = (x, y) => cmp(xdr.LedgerKey.fromXDR(x), xdr.LedgerKey.fromXDR(y));

// RFC 5531 record mark; used only for the bucket-hash cross-checks (never in the JSON).
function frame(b) { const h = Buffer.alloc(4); h.writeUInt32BE((b.length | 0x80000000) >>> 0); return Buffer.concat([h, b]); }

module.exports = { xdr, out, check, sha256, hash, hex, prngBytes, enc, I64, U64, INT64_MIN, INT64_MAX, UINT64_MAX,
  kp, acct, xdrName, ext0, ASSET, TLA, cbId, ADDR, SV, WASM, SAC, DUR, KEY, deriveKey, cmp, cmpKeyBytes, frame, StrKey };
