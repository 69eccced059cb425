// LedgerEntry vectors: one helper per LedgerEntryType, then build() lists them.
'use strict';
const {
  xdr, out, check, sha256, hash, hex, prngBytes, enc, I64, U64, INT64_MIN, INT64_MAX, UINT64_MAX,
  kp, acct, xdrName, ext0, ASSET, TLA, cbId, ADDR, SV, WASM, SAC, DUR, KEY, deriveKey, StrKey,
} = require('./lib');

// sponsor: undefined -> LedgerEntry ext v0; null -> ext v1, sponsoringID absent; n -> ext v1 sponsored by account n.
function ledgerEntry(seq, data, sponsor) {
  const ext = sponsor === undefined ? new xdr.LedgerEntryExt(0) : new xdr.LedgerEntryExt(1, new xdr.LedgerEntryExtensionV1({
    sponsoringId: sponsor === null ? null : acct(sponsor), ext: new xdr.LedgerEntryExtensionV1Ext(0) }));
  return new xdr.LedgerEntry({ lastModifiedLedgerSeq: seq, data, ext });
}

// §2.3 key sizes and §2.4 "where the key fields sit inside the entry", checked on every vector.
const pad4 = (n) => (n + 3) & ~3;
const KEY_SIZE = { ACCOUNT: 40, OFFER: 48, CLAIMABLE_BALANCE: 40, LIQUIDITY_POOL: 36, CONTRACT_CODE: 36, CONFIG_SETTING: 8, TTL: 36 };
function checkLayout(name, type, entry, key, dec) {
  const d = dec.data();
  if (KEY_SIZE[type]) check(key.length === KEY_SIZE[type], `${name}: ${type} key size ${key.length}`);
  if (type === 'TRUSTLINE') check(key.length === [44, 84, 92, 76][d.trustLine().asset().switch().value], `${name}: trustline key size`);
  if (type === 'DATA') check(key.length === 44 + pad4(d.data().dataName().length), `${name}: data key size`);
  check(key.subarray(0, 4).equals(entry.subarray(4, 8)), `${name}: key type = entry data type`);
  let off = 8;                                        // body starts after lastModifiedLedgerSeq + type
  if (type === 'CONTRACT_DATA') off += 4;             // skip ExtensionPoint; contract, key, durability are contiguous
  if (type === 'CONTRACT_CODE') off += d.contractCode().ext().switch() === 0 ? 4 : 52;
  const rest = key.subarray(4);
  check(entry.subarray(off, off + rest.length).equals(rest), `${name}: key fields at body offset ${off - 8}`);
}

const names = new Set();
function addEntry(name, le) {
  check(!names.has(name), 'duplicate entry name ' + name);
  names.add(name);
  const entry = enc(le);
  const dec = xdr.LedgerEntry.fromXDR(entry);         // derive everything from the decoded bytes
  const keyObj = deriveKey(dec);
  const key = enc(keyObj);
  const type = xdrName(dec.data().switch().name);
  checkLayout(name, type, entry, key, dec);
  const live = enc(xdr.BucketEntry.liveentry(dec)), init = enc(xdr.BucketEntry.initentry(dec));
  const dead = enc(xdr.BucketEntry.deadentry(keyObj));
  check(hex(live) === '00000000' + hex(entry) && hex(init) === '00000002' + hex(entry), name + ': live/init framing');
  check(hex(dead) === '00000001' + hex(key), name + ': dead framing');
  const rec = { name, type, entry: hex(entry), key: hex(key), live: hex(live), init: hex(init), dead: hex(dead) };
  if (type === 'CONTRACT_DATA' || type === 'CONTRACT_CODE') {
    rec.ttl_key = hex(enc(KEY.ttl(sha256(key))));
    rec.archived = hex(enc(xdr.HotArchiveBucketEntry.hotArchiveArchived(dec)));
    rec.restored = hex(enc(xdr.HotArchiveBucketEntry.hotArchiveLive(keyObj)));
  }
  const d = dec.data();
  const owner = { ACCOUNT: () => d.account().accountId(), TRUSTLINE: () => d.trustLine().accountId(),
    OFFER: () => d.offer().sellerId(), DATA: () => d.data().accountId() }[type];
  if (owner) rec.account_strkey = StrKey.encodeEd25519PublicKey(owner().ed25519());
  out.entries.push(rec);
  return { key: keyObj, keyBytes: key };
}

// ---------------------------------------------------------------- ACCOUNT ---
const liab = (b, s) => new xdr.Liabilities({ buying: I64(b), selling: I64(s) });
const SIGNER = {
  ed25519: (n, w) => new xdr.Signer({ key: xdr.SignerKey.signerKeyTypeEd25519(kp(n).rawPublicKey()), weight: w }),
  preAuth: (label, w) => new xdr.Signer({ key: xdr.SignerKey.signerKeyTypePreAuthTx(hash(label)), weight: w }),
  hashX: (label, w) => new xdr.Signer({ key: xdr.SignerKey.signerKeyTypeHashX(hash(label)), weight: w }),
  payload: (n, len, w) => new xdr.Signer({ weight: w, key: xdr.SignerKey.signerKeyTypeEd25519SignedPayload(
    new xdr.SignerKeyEd25519SignedPayload({ ed25519: kp(n).rawPublicKey(), payload: prngBytes(len) })) }),
};
const acctExt = {
  v1: (l, e) => new xdr.AccountEntryExt(1, new xdr.AccountEntryExtensionV1({ liabilities: l, ext: e || new xdr.AccountEntryExtensionV1Ext(0) })),
  v2: (l, numSponsored, numSponsoring, ids, e) => acctExt.v1(l, new xdr.AccountEntryExtensionV1Ext(2, new xdr.AccountEntryExtensionV2({
    numSponsored, numSponsoring, signerSponsoringIDs: ids, ext: e || new xdr.AccountEntryExtensionV2Ext(0) }))),
  v3: (l, numSponsored, numSponsoring, ids, seqLedger, seqTime) => acctExt.v2(l, numSponsored, numSponsoring, ids,
    new xdr.AccountEntryExtensionV2Ext(3, new xdr.AccountEntryExtensionV3({ ext: ext0(), seqLedger, seqTime: U64(seqTime) }))),
};
function account(n, o = {}) {
  return xdr.LedgerEntryData.account(new xdr.AccountEntry({
    accountId: acct(n), balance: I64(o.balance || '1000000000'), seqNum: xdr.SequenceNumber.fromString(o.seq || '12884901888'),
    numSubEntries: o.numSubEntries || 0, inflationDest: o.inflationDest === undefined ? null : acct(o.inflationDest),
    flags: o.flags || 0, homeDomain: o.homeDomain || '', thresholds: Buffer.from(o.thresholds || [1, 0, 0, 0]),
    signers: o.signers || [], ext: o.ext || new xdr.AccountEntryExt(0) }));
}
function accounts() {
  addEntry('account/basic', ledgerEntry(7, account(7)));
  for (const hd of ['x', 'ab', 'abc', 'abcd', 'stellar', 'example.com', 'a'.repeat(31), 'stellar-home-domain-32-bytes.org']) {
    addEntry(`account/home-domain-len${hd.length}`, ledgerEntry(100 + hd.length, account(150 + hd.length, { homeDomain: hd, inflationDest: hd.length % 2 ? 3 : undefined })));
  }
  addEntry('account/inflation-dest-present', ledgerEntry(11, account(1, { inflationDest: 2 })));
  addEntry('account/inflation-dest-self', ledgerEntry(12, account(2, { inflationDest: 2 })));
  addEntry('account/signers-all-arms', ledgerEntry(13, account(3, { numSubEntries: 5, thresholds: [0, 1, 2, 3],
    signers: [SIGNER.ed25519(4, 1), SIGNER.preAuth('preauth:1', 2), SIGNER.hashX('hashx:1', 3), SIGNER.payload(5, 1, 4), SIGNER.payload(6, 64, 255)] })));
  addEntry('account/signers-payload-len2-3', ledgerEntry(14, account(4, { signers: [SIGNER.payload(7, 2, 1), SIGNER.payload(8, 3, 1), SIGNER.payload(9, 0, 1)] })));
  addEntry('account/extremes', ledgerEntry(0xffffffff, account(5, { balance: INT64_MAX, seq: INT64_MAX, numSubEntries: 0xffffffff,
    flags: 0xf, thresholds: [255, 255, 255, 255], inflationDest: 5 })));
  addEntry('account/negative-balance-xdr-legal', ledgerEntry(0, account(6, { balance: '-1', seq: '0' })));
  addEntry('account/ext-v1', ledgerEntry(15, account(8, { ext: acctExt.v1(liab('500', '250')) })));
  addEntry('account/ext-v2-sponsoring-ids', ledgerEntry(16, account(9, {
    signers: [SIGNER.ed25519(20, 1), SIGNER.ed25519(21, 1), SIGNER.hashX('hashx:2', 1)],
    ext: acctExt.v2(liab('0', '0'), 2, 1, [acct(22), null, acct(23)]) })));
  addEntry('account/ext-v2-no-signers', ledgerEntry(17, account(10, { ext: acctExt.v2(liab('1', '2'), 0, 3, []) })));
  addEntry('account/ext-v3', ledgerEntry(18, account(11, { signers: [SIGNER.ed25519(24, 10)],
    ext: acctExt.v3(liab('7', '8'), 1, 0, [acct(25)], 4294967295, '1700000000') })));
  addEntry('account/ext-v3-zero', ledgerEntry(19, account(12, { ext: acctExt.v3(liab('0', '0'), 0, 0, [], 0, '0') })));
  addEntry('account/ledger-ext-v1-sponsor-absent', ledgerEntry(20, account(13), null));
  addEntry('account/ledger-ext-v1-sponsor-present', ledgerEntry(21, account(14), 15));
}

// -------------------------------------------------------------- TRUSTLINE ---
const tlExt = {
  v0: () => new xdr.TrustLineEntryExt(0),
  v1: (l) => new xdr.TrustLineEntryExt(1, new xdr.TrustLineEntryV1({ liabilities: l, ext: new xdr.TrustLineEntryV1Ext(0) })),
  v2: (l, useCount) => new xdr.TrustLineEntryExt(1, new xdr.TrustLineEntryV1({ liabilities: l, ext: new xdr.TrustLineEntryV1Ext(2,
    new xdr.TrustLineEntryExtensionV2({ liquidityPoolUseCount: useCount, ext: new xdr.TrustLineEntryExtensionV2Ext(0) })) })),
};
const trustline = (n, asset, ext, balance = '100', limit = INT64_MAX, flags = 1) => xdr.LedgerEntryData.trustline(
  new xdr.TrustLineEntry({ accountId: acct(n), asset, balance: I64(balance), limit: I64(limit), flags, ext }));
function trustlines() {
  const arms = [['native', () => TLA.native()], ['alphanum4', () => TLA.an4('USD', 30)], ['alphanum4-full', () => TLA.an4('USDC', 31)],
    ['alphanum12', () => TLA.an12('LONGASSET12X', 30)], ['alphanum12-short', () => TLA.an12('ABCDE', 32)], ['pool-share', () => TLA.pool(hash('pool:1'))]];
  for (const [arm, asset] of arms) {
    addEntry(`trustline/${arm}/ext-v0`, ledgerEntry(30, trustline(33, asset(), tlExt.v0())));
    addEntry(`trustline/${arm}/ext-v1`, ledgerEntry(31, trustline(37, asset(), tlExt.v1(liab('10', '20')), '0', '1000', 0)));
    addEntry(`trustline/${arm}/ext-v2`, ledgerEntry(32, trustline(34, asset(), tlExt.v2(liab('0', '5'), 2), INT64_MAX, INT64_MAX, 7)));
  }
  addEntry('trustline/alphanum4/sponsored', ledgerEntry(33, trustline(35, TLA.an4('EUR', 30), tlExt.v2(liab('0', '0'), -1)), 36));
}

// ------------------------------------------------------------------ OFFER ---
const offer = (n, id, selling, buying, amount = '1000', price = [1, 2], flags = 0) => xdr.LedgerEntryData.offer(new xdr.OfferEntry({
  sellerId: acct(n), offerId: I64(id), selling, buying, amount: I64(amount), price: new xdr.Price({ n: price[0], d: price[1] }),
  flags, ext: new xdr.OfferEntryExt(0) }));
function offers() {
  addEntry('offer/id-1', ledgerEntry(40, offer(40, '1', ASSET.native(), ASSET.an4('USD', 30))));
  addEntry('offer/id-0', ledgerEntry(41, offer(40, '0', ASSET.an4('USD', 30), ASSET.native())));
  addEntry('offer/id-12345-passive', ledgerEntry(42, offer(40, '12345', ASSET.an12('LONGASSET12X', 30), ASSET.an4('USDC', 31), '5', [7, 3], 1)));
  addEntry('offer/id-2pow32', ledgerEntry(43, offer(41, '4294967296', ASSET.an4('BTC', 32), ASSET.an12('ABCDE', 32))));
  addEntry('offer/id-int64-max', ledgerEntry(44, offer(41, INT64_MAX, ASSET.native(), ASSET.an12('ABCDE', 32), INT64_MAX, [2147483647, 1])));
  addEntry('offer/id-negative-1', ledgerEntry(45, offer(41, '-1', ASSET.native(), ASSET.an4('USD', 30), '1', [-1, -2147483648])));
  addEntry('offer/id-int64-min', ledgerEntry(46, offer(42, INT64_MIN, ASSET.an4('USD', 30), ASSET.an4('EUR', 30))));
  addEntry('offer/sponsored', ledgerEntry(47, offer(42, '99', ASSET.native(), ASSET.an4('EUR', 30)), 43));
}

// ------------------------------------------------------------------- DATA ---
const dataEntry = (n, name, value) => xdr.LedgerEntryData.data(new xdr.DataEntry({
  accountId: acct(n), dataName: Buffer.isBuffer(name) ? name : Buffer.from(name, 'utf8'), dataValue: value, ext: new xdr.DataEntryExt(0) }));
function datas() {
  const name64 = Buffer.from('config.' + 'x'.repeat(56) + 'Z', 'ascii');
  check(name64.length === 64, 'name64');
  for (const nm of ['a', 'aa', 'ab', 'b', 'aaa', 'abcd', 'abcde']) addEntry(`data/name-${nm}`, ledgerEntry(50, dataEntry(50, nm, Buffer.from('v=' + nm))));
  addEntry('data/name-64-bytes', ledgerEntry(51, dataEntry(50, name64, prngBytes(64))));
  addEntry('data/name-utf8-e-acute', ledgerEntry(52, dataEntry(50, 'é', Buffer.from([0]))));
  addEntry('data/name-with-0x00', ledgerEntry(53, dataEntry(50, Buffer.from([0x61, 0x00, 0x62]), Buffer.alloc(0))));
  addEntry('data/name-a-other-account', ledgerEntry(54, dataEntry(51, 'a', Buffer.from('other'))));
  for (let len = 0; len <= 64; len++) {
    addEntry(`data/value-len${String(len).padStart(2, '0')}`, ledgerEntry(60 + len, dataEntry(52, 'len' + String(len).padStart(2, '0'), prngBytes(len))));
  }
  addEntry('data/sponsored', ledgerEntry(55, dataEntry(53, 'sponsored', Buffer.from('yes')), 54));
}

// ------------------------------------------------------ CLAIMABLE_BALANCE ---
const P = {
  uncond: () => xdr.ClaimPredicate.claimPredicateUnconditional(),
  and: (a, b) => xdr.ClaimPredicate.claimPredicateAnd([a, b]),
  or: (a, b) => xdr.ClaimPredicate.claimPredicateOr([a, b]),
  not: (p) => xdr.ClaimPredicate.claimPredicateNot(p),              // p === null: absent (XDR-legal)
  abs: (t) => xdr.ClaimPredicate.claimPredicateBeforeAbsoluteTime(I64(t)),
  rel: (t) => xdr.ClaimPredicate.claimPredicateBeforeRelativeTime(I64(t)),
};
const claimant = (n, p) => xdr.Claimant.claimantTypeV0(new xdr.ClaimantV0({ destination: acct(n), predicate: p }));
const cbExtV1 = (flags) => new xdr.ClaimableBalanceEntryExt(1, new xdr.ClaimableBalanceEntryExtensionV1({
  ext: new xdr.ClaimableBalanceEntryExtensionV1Ext(0), flags }));
const claimable = (label, claimants, asset, amount, ext) => xdr.LedgerEntryData.claimableBalance(new xdr.ClaimableBalanceEntry({
  balanceId: cbId(hash(label)), claimants, asset, amount: I64(amount), ext: ext || new xdr.ClaimableBalanceEntryExt(0) }));
function claimables() {
  addEntry('claimable_balance/unconditional', ledgerEntry(70, claimable('cb:1', [claimant(70, P.uncond())], ASSET.native(), '10000000')));
  const nested = P.or(P.and(P.abs('1700000000'), P.not(P.rel('3600'))), P.not(P.or(P.uncond(), P.and(P.rel('0'), P.abs(INT64_MAX)))));
  addEntry('claimable_balance/nested-predicates', ledgerEntry(71, claimable('cb:2',
    [claimant(71, nested), claimant(72, P.not(P.abs('-1'))), claimant(73, P.not(null))], ASSET.an4('USD', 30), '1'), 74));
  addEntry('claimable_balance/ext-v1-clawback', ledgerEntry(72, claimable('cb:3', [claimant(75, P.rel('86400'))], ASSET.an12('LONGASSET12X', 30), INT64_MAX, cbExtV1(1))));
  addEntry('claimable_balance/ext-v1-flags0-sponsor-absent', ledgerEntry(73, claimable('cb:4', [claimant(76, P.uncond())], ASSET.native(), '5', cbExtV1(0)), null));
  addEntry('claimable_balance/10-claimants', ledgerEntry(74, claimable('cb:5',
    Array.from({ length: 10 }, (_, i) => claimant(80 + i, i % 2 ? P.abs(String(1000 * i)) : P.uncond())), ASSET.native(), '100'), 77));
}

// --------------------------------------------------------- LIQUIDITY_POOL ---
const pool = (label, assetA, assetB, fee, r) => xdr.LedgerEntryData.liquidityPool(new xdr.LiquidityPoolEntry({
  liquidityPoolId: hash(label), body: xdr.LiquidityPoolEntryBody.liquidityPoolConstantProduct(new xdr.LiquidityPoolEntryConstantProduct({
    params: new xdr.LiquidityPoolConstantProductParameters({ assetA, assetB, fee }),
    reserveA: I64(r[0]), reserveB: I64(r[1]), totalPoolShares: I64(r[2]), poolSharesTrustLineCount: I64(r[3]) })) }));
function pools() {
  addEntry('liquidity_pool/native-usd', ledgerEntry(90, pool('pool:1', ASSET.native(), ASSET.an4('USD', 30), 30, ['1000', '2000', '1414', '3'])));
  addEntry('liquidity_pool/an4-an12', ledgerEntry(91, pool('pool:2', ASSET.an4('USDC', 31), ASSET.an12('LONGASSET12X', 30), 30, [INT64_MAX, '0', '0', '0'])));
  addEntry('liquidity_pool/empty', ledgerEntry(92, pool('pool:3', ASSET.an4('BTC', 32), ASSET.an4('ETH', 32), 30, ['0', '0', '0', '0'])));
}

// ---------------------------------------------------------- CONTRACT_DATA ---
const contractData = (contract, key, durability, val) => xdr.LedgerEntryData.contractData(new xdr.ContractDataEntry({
  ext: ext0(), contract, key, durability, val }));
const C1 = () => ADDR.contract(hash('contract:1'));
// One representative SCVal per SCVal arm; also used as CONTRACT_DATA keys.
const ONE_PER_ARM = () => [
  SV.bool(true), SV.void(), SV.errContract(42), SV.u32(7), SV.i32(-7), SV.u64('7'), SV.i64('-7'), SV.timepoint('1700000000'),
  SV.duration('3600'), SV.u128('1', '2'), SV.i128('-1', '2'), SV.u256('1', '2', '3', '4'), SV.i256('-1', '2', '3', '4'),
  SV.bytes([1, 2, 3]), SV.str('key'), SV.sym('Key'), SV.vec([SV.sym('Balance'), SV.addr(ADDR.account(100))]),
  SV.map([[SV.sym('a'), SV.u32(1)]]), SV.addr(ADDR.account(101)), SV.instance(WASM(hash('wasm:1')), null),
  SV.instanceKey(), SV.nonce('123456789'),
];
const ADDR_ARMS = () => [ADDR.account(110), ADDR.contract(hash('contract:2')), ADDR.muxed('42', kp(111).rawPublicKey()),
  ADDR.cb(hash('cb:1')), ADDR.pool(hash('pool:1'))];
function contractDatas() {
  addEntry('contract_data/counter/temporary', ledgerEntry(200, contractData(C1(), SV.sym('COUNTER'), DUR.temporary(), SV.u32(1))));
  addEntry('contract_data/counter/persistent', ledgerEntry(200, contractData(C1(), SV.sym('COUNTER'), DUR.persistent(), SV.u32(2))));
  for (const a of ADDR_ARMS()) {
    const arm = xdrName(a.switch().name);
    addEntry(`contract_data/contract-arm/${arm}`, ledgerEntry(201, contractData(a, SV.sym('k'), DUR.persistent(), SV.bool(false))));
    addEntry(`contract_data/key-address-arm/${arm}`, ledgerEntry(202, contractData(C1(), SV.vec([SV.sym('Balance'), SV.addr(a)]),
      DUR.persistent(), SV.map([[SV.sym('amount'), SV.i128('0', '1000')], [SV.sym('authorized'), SV.bool(true)], [SV.sym('clawback'), SV.bool(false)]]))));
  }
  for (const k of ONE_PER_ARM()) {
    const arm = xdrName(k.switch().name);
    addEntry(`contract_data/key-arm/${arm}`, ledgerEntry(203, contractData(C1(), k, DUR.persistent(), SV.bytes(prngBytes(5)))));
  }
  const storage = SV.map([[SV.sym('Admin'), SV.addr(ADDR.account(120))], [SV.sym('Name'), SV.str('Token')]]).map();
  addEntry('contract_data/instance/wasm', ledgerEntry(204, contractData(ADDR.contract(hash('contract:4')), SV.instanceKey(), DUR.persistent(), SV.instance(WASM(hash('wasm:1')), storage))));
  addEntry('contract_data/instance/wasm-no-storage', ledgerEntry(204, contractData(ADDR.contract(hash('contract:3')), SV.instanceKey(), DUR.persistent(), SV.instance(WASM(hash('wasm:2')), null))));
  addEntry('contract_data/instance/stellar-asset', ledgerEntry(205, contractData(ADDR.contract(hash('sac:USD')), SV.instanceKey(), DUR.persistent(),
    SV.instance(SAC(), SV.map([[SV.sym('METADATA'), SV.map([[SV.sym('decimal'), SV.u32(7)], [SV.sym('name'), SV.str('USD:GA...')], [SV.sym('symbol'), SV.str('USD')]])]]).map()))));
  addEntry('contract_data/sac/balance', ledgerEntry(206, contractData(ADDR.contract(hash('sac:USD')), SV.vec([SV.sym('Balance'), SV.addr(ADDR.account(121))]),
    DUR.persistent(), SV.map([[SV.sym('amount'), SV.i128('0', '5000000')], [SV.sym('authorized'), SV.bool(true)], [SV.sym('clawback'), SV.bool(false)]]))));
  addEntry('contract_data/sac/allowance', ledgerEntry(207, contractData(ADDR.contract(hash('sac:USD')),
    SV.vec([SV.sym('Allowance'), SV.map([[SV.sym('from'), SV.addr(ADDR.account(121))], [SV.sym('spender'), SV.addr(ADDR.contract(hash('contract:1')))]])]),
    DUR.temporary(), SV.map([[SV.sym('amount'), SV.i128('0', '77')], [SV.sym('expiration_ledger'), SV.u32(500000)]]))));
  for (const n of ['-1', '0', '1', INT64_MIN, INT64_MAX]) {
    addEntry(`contract_data/nonce/${n}`, ledgerEntry(208, contractData(ADDR.account(122), SV.nonce(n), DUR.temporary(), SV.void())));
  }
  addEntry('contract_data/big-value', ledgerEntry(209, contractData(C1(), SV.sym('blob'), DUR.temporary(), SV.bytes(prngBytes(1021)))));
}

// ---------------------------------------------------------- CONTRACT_CODE ---
const costInputs = (base) => new xdr.ContractCodeCostInputs({ ext: ext0(), nInstructions: base * 100, nFunctions: base + 1,
  nGlobals: base + 2, nTableEntries: base + 3, nTypes: base + 4, nDataSegments: base + 5, nElemSegments: base + 6,
  nImports: base + 7, nExports: base + 8, nDataSegmentBytes: base * 10 });
const contractCode = (code, base, h = sha256(code)) => xdr.LedgerEntryData.contractCode(new xdr.ContractCodeEntry({
  ext: base === undefined ? new xdr.ContractCodeEntryExt(0)
    : new xdr.ContractCodeEntryExt(1, new xdr.ContractCodeEntryV1({ ext: ext0(), costInputs: costInputs(base) })),
  hash: h, code }));
function contractCodes() {
  // code length n for n in 0..7 gives every padding length under both ext versions.
  for (let n = 0; n < 8; n++) {
    addEntry(`contract_code/ext-v0/len${n}`, ledgerEntry(300 + n, contractCode(prngBytes(n))));
    addEntry(`contract_code/ext-v1/len${n}`, ledgerEntry(310 + n, contractCode(prngBytes(n), n, n ? undefined : hash('code:empty:v1'))));
  }
  addEntry('contract_code/ext-v1/len1027', ledgerEntry(320, contractCode(Buffer.concat([Buffer.from('\0asm\x01\0\0\0', 'latin1'), prngBytes(1019)]), 0xffffff)));
}

// --------------------------------------------------------- CONFIG_SETTING ---
const costParams = (n) => Array.from({ length: n }, (_, i) => new xdr.ContractCostParamEntry({
  ext: ext0(), constTerm: I64(String(i * 1000 + 7)), linearTerm: I64(String(i % 3 === 0 ? 0 : i * 13)) }));
function configSettings() {
  const C = xdr.ConfigSettingEntry;
  const lk = (k) => enc(k);                                        // EncodedLedgerKey = opaque<> holding LedgerKey XDR
  const settings = [
    C.configSettingContractMaxSizeBytes(65536),
    C.configSettingContractComputeV0(new xdr.ConfigSettingContractComputeV0({ ledgerMaxInstructions: I64('600000000'),
      txMaxInstructions: I64('100000000'), feeRatePerInstructionsIncrement: I64('25'), txMemoryLimit: 41943040 })),
    C.configSettingContractLedgerCostV0(new xdr.ConfigSettingContractLedgerCostV0({ ledgerMaxDiskReadEntries: 1000,
      ledgerMaxDiskReadBytes: 7000000, ledgerMaxWriteLedgerEntries: 250, ledgerMaxWriteBytes: 143360, txMaxDiskReadEntries: 100,
      txMaxDiskReadBytes: 200000, txMaxWriteLedgerEntries: 50, txMaxWriteBytes: 132096, feeDiskReadLedgerEntry: I64('6250'),
      feeWriteLedgerEntry: I64('10000'), feeDiskRead1Kb: I64('1786'), sorobanStateTargetSizeBytes: I64('14495514624'),
      rentFee1KbSorobanStateSizeLow: I64('-17000'), rentFee1KbSorobanStateSizeHigh: I64('10000'), sorobanStateRentFeeGrowthFactor: 5000 })),
    C.configSettingContractHistoricalDataV0(new xdr.ConfigSettingContractHistoricalDataV0({ feeHistorical1Kb: I64('16235') })),
    C.configSettingContractEventsV0(new xdr.ConfigSettingContractEventsV0({ txMaxContractEventsSizeBytes: 16384, feeContractEvents1Kb: I64('10000') })),
    C.configSettingContractBandwidthV0(new xdr.ConfigSettingContractBandwidthV0({ ledgerMaxTxsSizeBytes: 133120, txMaxSizeBytes: 132096, feeTxSize1Kb: I64('1624') })),
    C.configSettingContractCostParamsCpuInstructions(costParams(86)),
    C.configSettingContractCostParamsMemoryBytes(costParams(86).reverse()),
    C.configSettingContractDataKeySizeBytes(250),
    C.configSettingContractDataEntrySizeBytes(65536),
    C.configSettingStateArchival(new xdr.StateArchivalSettings({ maxEntryTtl: 3110400, minTemporaryTtl: 17280, minPersistentTtl: 2073600,
      persistentRentRateDenominator: I64('1215'), tempRentRateDenominator: I64('2430'), maxEntriesToArchive: 1000,
      liveSorobanStateSizeWindowSampleSize: 30, liveSorobanStateSizeWindowSamplePeriod: 64, evictionScanSize: 100000, startingEvictionScanLevel: 7 })),
    C.configSettingContractExecutionLanes(new xdr.ConfigSettingContractExecutionLanesV0({ ledgerMaxTxCount: 100 })),
    C.configSettingLiveSorobanStateSizeWindow(Array.from({ length: 30 }, (_, i) => U64(String(500000000 + i * 12345)))),
    C.configSettingEvictionIterator(new xdr.EvictionIterator({ bucketListLevel: 6, isCurrBucket: true, bucketFileOffset: U64('123456789') })),
    C.configSettingContractParallelComputeV0(new xdr.ConfigSettingContractParallelComputeV0({ ledgerMaxDependentTxClusters: 1 })),
    C.configSettingContractLedgerCostExtV0(new xdr.ConfigSettingContractLedgerCostExtV0({ txMaxFootprintEntries: 100, feeWrite1Kb: I64('3500') })),
    C.configSettingScpTiming(new xdr.ConfigSettingScpTiming({ ledgerTargetCloseTimeMilliseconds: 5000, nominationTimeoutInitialMilliseconds: 1000,
      nominationTimeoutIncrementMilliseconds: 1000, ballotTimeoutInitialMilliseconds: 1000, ballotTimeoutIncrementMilliseconds: 1000 })),
    C.configSettingFrozenLedgerKeys(new xdr.FrozenLedgerKeys({ keys: [lk(KEY.account(acct(130))), lk(KEY.trustline(acct(131), TLA.an4('USD', 30)))] })),
    C.configSettingFrozenLedgerKeysDelta(new xdr.FrozenLedgerKeysDelta({ keysToFreeze: [lk(KEY.contractCode(hash('wasm:bad')))],
      keysToUnfreeze: [lk(KEY.account(acct(130))), lk(KEY.data(acct(132), Buffer.from('x')))] })),
    C.configSettingFreezeBypassTxes(new xdr.FreezeBypassTxes({ txHashes: [hash('tx:1'), hash('tx:2')] })),
    C.configSettingFreezeBypassTxsDelta(new xdr.FreezeBypassTxsDelta({ addTxes: [hash('tx:3')], removeTxes: [] })),
  ];
  for (const s of settings) addEntry(`config_setting/${xdrName(s.switch().name).replace(/TXES$/, 'TXS')}`, ledgerEntry(400 + s.switch().value, xdr.LedgerEntryData.configSetting(s)));
  addEntry('config_setting/CONFIG_SETTING_EVICTION_ITERATOR/variant-next-bucket', ledgerEntry(421, xdr.LedgerEntryData.configSetting(
    C.configSettingEvictionIterator(new xdr.EvictionIterator({ bucketListLevel: 0, isCurrBucket: false, bucketFileOffset: U64(UINT64_MAX) })))));
  addEntry('config_setting/CONFIG_SETTING_LIVE_SOROBAN_STATE_SIZE_WINDOW/variant-empty', ledgerEntry(422, xdr.LedgerEntryData.configSetting(
    C.configSettingLiveSorobanStateSizeWindow([]))));
  return settings.map((s) => s.switch().value);
}

// -------------------------------------------------------------------- TTL ---
const ttl = (keyHash, liveUntil) => xdr.LedgerEntryData.ttl(new xdr.TtlEntry({ keyHash, liveUntilLedgerSeq: liveUntil }));
function ttls() {
  const byName = (n) => Buffer.from(out.entries.find((e) => e.name === n).key, 'hex');
  addEntry('ttl/counter-persistent', ledgerEntry(500, ttl(sha256(byName('contract_data/counter/persistent')), 2073800)));
  addEntry('ttl/counter-temporary', ledgerEntry(500, ttl(sha256(byName('contract_data/counter/temporary')), 17480)));
  addEntry('ttl/contract-code-len7', ledgerEntry(501, ttl(sha256(byName('contract_code/ext-v1/len7')), 0xffffffff)));
  addEntry('ttl/zero-hash-zero-ledger', ledgerEntry(502, ttl(Buffer.alloc(32), 0)));
  for (const e of out.entries.filter((r) => r.ttl_key)) {         // every TTL key we emitted is a real TTL LedgerKey
    const k = xdr.LedgerKey.fromXDR(e.ttl_key, 'hex');
    check(k.switch().name === 'ttl' && k.ttl().keyHash().equals(sha256(Buffer.from(e.key, 'hex'))), e.name + ': ttl_key');
  }
}

function build() {
  accounts(); trustlines(); offers(); datas(); claimables(); pools(); contractDatas(); contractCodes();
  const configIds = configSettings();
  ttls();
  // Entry keys are unique, except '/variant-' entries, which share the key of their base entry on purpose.
  const keys = new Map();
  for (const e of out.entries) {
    if (e.name.includes('/variant-')) { check(keys.has(e.key), e.name + ': variant without base'); continue; }
    check(!keys.has(e.key), `${e.name}: same key as ${keys.get(e.key)}`);
    keys.set(e.key, e.name);
  }
  const seen = new Set(out.entries.map((e) => e.type));
  for (const t of xdr.LedgerEntryType.values()) check(seen.has(xdrName(t.name)), 'no entry of type ' + t.name);
  return { configIds };
}

module.exports = { build, ONE_PER_ARM, ADDR_ARMS, C1 };
