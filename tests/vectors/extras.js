// SCVal, BucketMetadata, ordering facts / keys, and invalid-input vectors.
'use strict';
const {
  xdr, out, check, sha256, hash, hex, prngBytes, enc, I64, U64, INT64_MIN, INT64_MAX, UINT64_MAX,
  kp, acct, xdrName, ADDR, SV, WASM, SAC, DUR, KEY, TLA, cbId, cmp, cmpKeyBytes, frame,
} = require('./lib');
const { C1 } = require('./entries');

const unique = (list, what) => {
  const seen = new Set();
  for (const r of list) { check(!seen.has(r.name), `duplicate ${what} name ${r.name}`); seen.add(r.name); }
};

// ------------------------------------------------------------------ scvals ---
const SYM32 = 'abcdefghijklmnopqrstuvwxyz_01234';
function scvals() {
  const add = (name, v) => {
    const b = enc(v);
    out.scvals.push({ name, arm: xdrName(xdr.ScVal.fromXDR(b).switch().name), xdr: hex(b) });
  };
  add('bool/true', SV.bool(true)); add('bool/false', SV.bool(false)); add('void', SV.void());
  for (const c of [0, 1, 42, 0xffffffff]) add(`error/contract/${c}`, SV.errContract(c));
  add('error/SCE_AUTH/SCEC_INVALID_INPUT', SV.err('sceAuth', 'scecInvalidInput'));
  const codes = xdr.ScErrorCode.values();
  xdr.ScErrorType.values().slice(1).forEach((t, i) => {
    const c = codes[(i * 3) % codes.length];
    add(`error/${xdrName(t.name)}/${xdrName(c.name)}`, SV.err(t.name, c.name));
  });
  for (const n of [0, 1, 7, 0x7fffffff, 0x80000000, 0xffffffff]) add(`u32/${n}`, SV.u32(n));
  for (const n of [0, 3, -1, -5, 2147483647, -2147483648]) add(`i32/${n}`, SV.i32(n));
  for (const n of ['0', '1', INT64_MAX, '9223372036854775808', UINT64_MAX]) add(`u64/${n}`, SV.u64(n));
  for (const n of ['0', '-1', '1', INT64_MIN, INT64_MAX]) add(`i64/${n}`, SV.i64(n));
  for (const n of ['0', '1700000000', UINT64_MAX]) add(`timepoint/${n}`, SV.timepoint(n));
  for (const n of ['0', '3600', UINT64_MAX]) add(`duration/${n}`, SV.duration(n));
  add('u128/zero', SV.u128('0', '0')); add('u128/lo-max', SV.u128('0', UINT64_MAX));
  add('u128/hi-1', SV.u128('1', '0')); add('u128/max', SV.u128(UINT64_MAX, UINT64_MAX));
  add('i128/zero', SV.i128('0', '0')); add('i128/minus-1', SV.i128('-1', UINT64_MAX)); add('i128/5', SV.i128('0', '5'));
  add('i128/min', SV.i128(INT64_MIN, '0')); add('i128/max', SV.i128(INT64_MAX, UINT64_MAX)); add('i128/negative-hi-small-lo', SV.i128('-2', '1'));
  add('u256/zero', SV.u256('0', '0', '0', '0')); add('u256/max', SV.u256(UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX));
  add('u256/mixed', SV.u256('1', '2', '9223372036854775808', '4'));
  add('i256/minus-1', SV.i256('-1', UINT64_MAX, UINT64_MAX, UINT64_MAX)); add('i256/min', SV.i256(INT64_MIN, '0', '0', '0'));
  add('i256/max', SV.i256(INT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX)); add('i256/negative-mixed', SV.i256('-3', '0', '1', '2'));
  for (const n of [0, 1, 2, 3, 4, 5, 33]) add(`bytes/len${n}`, SV.bytes(prngBytes(n)));
  add('string/empty', SV.str('')); add('string/hello', SV.str('hello')); add('string/len4', SV.str('abcd'));
  add('string/embedded-nul', SV.str(Buffer.from([0x61, 0x00, 0x62]))); add('string/utf8-multibyte', SV.str('héllo wörld'));
  for (const s of ['Balance', 'Allowance', '', 'a', SYM32]) add(`symbol/${s.length}:${s}`, SV.sym(s));
  add('vec/absent', SV.vec(null)); add('vec/empty', SV.vec([]));
  add('vec/u32-5-5', SV.vec([SV.u32(5), SV.u32(5)])); add('vec/u32-7', SV.vec([SV.u32(7)]));
  add('vec/mixed-4', SV.vec([SV.bool(false), SV.void(), SV.sym('x'), SV.i64('-1')]));
  add('vec/nested-3-deep', SV.vec([SV.vec([SV.vec([SV.sym('deep'), SV.u32(3)]), SV.vec([])]), SV.vec(null)]));
  add('vec/sac-balance-key', SV.vec([SV.sym('Balance'), SV.addr(ADDR.account(121))]));
  add('map/absent', SV.map(null)); add('map/empty', SV.map([]));
  add('map/two-entries', SV.map([[SV.sym('a'), SV.u32(1)], [SV.sym('b'), SV.bool(true)]]));
  add('map/nested', SV.map([[SV.u32(1), SV.map([[SV.vec([SV.u32(2)]), SV.map([])]])], [SV.u32(2), SV.map(null)]]));
  const addrs = [ADDR.account(110), ADDR.contract(hash('contract:2')), ADDR.muxed('42', kp(111).rawPublicKey()),
    ADDR.muxed(UINT64_MAX, Buffer.alloc(32, 0xff)), ADDR.cb(hash('cb:1')), ADDR.pool(hash('pool:1'))];
  addrs.forEach((a, i) => add(`address/${xdrName(a.switch().name)}/${i}`, SV.addr(a)));
  const storage = SV.map([[SV.sym('Admin'), SV.addr(ADDR.account(120))]]).map();
  add('contract_instance/wasm/no-storage', SV.instance(WASM(hash('wasm:1')), null));
  add('contract_instance/wasm/storage', SV.instance(WASM(hash('wasm:1')), storage));
  add('contract_instance/wasm/empty-storage', SV.instance(WASM(hash('wasm:1')), []));
  add('contract_instance/stellar-asset/no-storage', SV.instance(SAC(), null));
  add('contract_instance/stellar-asset/storage', SV.instance(SAC(), storage));
  add('ledger_key_contract_instance', SV.instanceKey());
  for (const n of ['-1', '0', '1', INT64_MIN, INT64_MAX]) add(`ledger_key_nonce/${n}`, SV.nonce(n));
  unique(out.scvals, 'scval');
  const arms = new Set(out.scvals.map((s) => s.arm));
  for (const t of xdr.ScValType.values()) check(arms.has(xdrName(t.name)), 'no scval of arm ' + t.name);
}

// ---------------------------------------------------------------- metadata ---
// §1.4 table: SHA-256 of meta-only bucket files (one framed METAENTRY record).
const META_ONLY_SHA = {
  'live/v11': '056cd09fa286b2de1ff329b224259b858f94ec1dcc93f0e0512b2f6819348951',
  'live/v22': 'dd0fa2787678f70814f725d98cb99955f13a4da2c3ba4339fc708374e655b139',
  'live/v23': '8475245632bdc490ef81f9204d51cb1642015118c430fab2895f53ccc003ff8c',
  'hot_archive/v23': 'd3ca223ced12b53fe2ff5f209bd9bda7fe2468dac3696f2bf76432f3fa0f7385',
  'live/v25': 'aeb747071777bc8e94c7366debbf0f3279ec15b4de5298c7c370cec1de2ed939',
};
function metadata() {
  const E0 = () => new xdr.BucketMetadataExt(0);
  const E1 = (t) => new xdr.BucketMetadataExt(1, xdr.BucketListType[t]());
  for (const [name, v, ext, hot] of [['live/v0', 0, E0()], ['live/v11', 11, E0()], ['live/v22', 22, E0()],
    ['live/v23', 23, E1('live')], ['live/v25', 25, E1('live')], ['hot_archive/v23', 23, E1('hotArchive'), true]]) {
    const m = new xdr.BucketMetadata({ ledgerVersion: v, ext });
    const be = enc(xdr.BucketEntry.metaentry(m));
    const rec = { name, bucket_entry: hex(be) };
    if (hot) {
      const he = enc(xdr.HotArchiveBucketEntry.hotArchiveMetaentry(m));
      check(he.equals(be), 'hot META bytes equal live META bytes');
      rec.hot_entry = hex(he);
    }
    if (META_ONLY_SHA[name]) check(hex(sha256(frame(be))) === META_ONLY_SHA[name], 'spec §1.4 meta-only hash ' + name);
    out.metadata.push(rec);
  }
}

// ---------------------------------------------------------- order facts ---
const keyNames = new Map();                          // key hex -> name, for the "keys" section
function named(name, k) {
  const b = enc(k);
  const h = hex(b);
  if (!keyNames.has(h)) keyNames.set(h, name);
  return b;
}
// Records less < greater, proven with the §3.2 comparator; `bytes` = what memcmp of the XDR says.
function fact(why, [ln, lk], [gn, gk], expectBytes) {
  const less = named(ln, lk), greater = named(gn, gk);
  check(cmpKeyBytes(less, greater) < 0 && cmpKeyBytes(greater, less) > 0, 'order fact: ' + why);
  const bytes = Buffer.compare(less, greater) < 0 ? 'same' : 'opposite';
  if (expectBytes) check(bytes === expectBytes, `spec claim about memcmp for: ${why}`);
  out.order_facts.push({ name: `${why} [memcmp agrees: ${bytes === 'same' ? 'yes' : 'NO'}]`, less: hex(less), greater: hex(greater) });
}
function orderFacts() {
  const A = (n) => acct(n);
  const cd = (key, dur = DUR.persistent(), contract = C1()) => KEY.contractData(contract, key, dur);
  const P = DUR.persistent, T = DUR.temporary;
  const sac = ADDR.contract(hash('sac:USD')), holder = ADDR.account(121);
  // spec §3.3 counterexamples 1-4 (memcmp must disagree)
  fact('§3.3#1 DATA same account: "aa" < "b" (string content, not length, first)',
    ['data/a50/aa', KEY.data(A(50), 'aa')], ['data/a50/b', KEY.data(A(50), 'b')], 'opposite');
  fact('§3.3#2 CONTRACT_DATA nonce -1 < nonce 1 (int64 signed)',
    ['cd/nonce/-1', cd(SV.nonce('-1'), T(), ADDR.account(122))], ['cd/nonce/1', cd(SV.nonce('1'), T(), ADDR.account(122))], 'opposite');
  fact('§3.3#3 SAC keys: VEC[SYMBOL "Allowance",..] < VEC[SYMBOL "Balance",..] (symbol content before length)',
    ['cd/sac/allowance', cd(SV.vec([SV.sym('Allowance'), SV.map([[SV.sym('from'), SV.addr(holder)], [SV.sym('spender'), SV.addr(C1())]])]), T(), sac)],
    ['cd/sac/balance', cd(SV.vec([SV.sym('Balance'), SV.addr(holder)]), P(), sac)], 'opposite');
  fact('§3.3#4 VEC[U32 5, U32 5] < VEC[U32 7] (element-wise, count not first)',
    ['cd/vec/u32-5-5', cd(SV.vec([SV.u32(5), SV.u32(5)]))], ['cd/vec/u32-7', cd(SV.vec([SV.u32(7)]))], 'opposite');
  // type-level order: LedgerEntryType numeric first, whatever follows
  const byType = [['account', KEY.account(A(1))], ['trustline', KEY.trustline(A(1), TLA.native())], ['offer', KEY.offer(A(1), I64(INT64_MIN))],
    ['data', KEY.data(A(1), 'a')], ['claimable_balance', KEY.claimableBalance(cbId(Buffer.alloc(32)))],
    ['liquidity_pool', KEY.liquidityPool(Buffer.alloc(32))], ['contract_data', cd(SV.bool(false), T(), ADDR.account(1))],
    ['contract_code', KEY.contractCode(Buffer.alloc(32))], ['config_setting', KEY.configSetting(xdr.ConfigSettingId.configSettingContractMaxSizeBytes())],
    ['ttl', KEY.ttl(Buffer.alloc(32))]];
  const maxOf = { account: KEY.account(A(2)), trustline: KEY.trustline(A(2), TLA.pool(Buffer.alloc(32, 0xff))),
    offer: KEY.offer(A(2), I64(INT64_MAX)), data: KEY.data(A(2), 'z'.repeat(64)), claimable_balance: KEY.claimableBalance(cbId(Buffer.alloc(32, 0xff))),
    liquidity_pool: KEY.liquidityPool(Buffer.alloc(32, 0xff)), contract_data: cd(SV.nonce(INT64_MAX), P(), ADDR.pool(Buffer.alloc(32, 0xff))),
    contract_code: KEY.contractCode(Buffer.alloc(32, 0xff)), config_setting: KEY.configSetting(xdr.ConfigSettingId.configSettingFreezeBypassTxsDelta()) };
  for (let i = 0; i + 1 < byType.length; i++) {
    const [ln] = byType[i], [gn, gk] = byType[i + 1];
    fact(`LedgerEntryType ${xdrName(ln)}(${i}) < ${xdrName(gn)}(${i + 1}) whatever the fields`, [`type-order/${ln}/high`, maxOf[ln]], [`type-order/${gn}/low`, gk], 'same');
  }
  // TrustLineAsset arms by discriminant (same account)
  const tl = [['native', TLA.native()], ['an4', TLA.an4('ZZZZ', 2)], ['an12', TLA.an12('AAAAA', 1)], ['pool', TLA.pool(Buffer.alloc(32))]];
  for (let i = 0; i + 1 < tl.length; i++) {
    fact(`TrustLineAsset arm ${i} < arm ${i + 1} (discriminant before payload)`, [`trustline/a1/${tl[i][0]}`, KEY.trustline(A(1), tl[i][1])],
      [`trustline/a1/${tl[i + 1][0]}`, KEY.trustline(A(1), tl[i + 1][1])], 'same');
  }
  // strings: unsigned bytewise, proper prefix first
  const label = (s) => (/^[\x21-\x7e]*$/.test(s) ? s : 'hex:' + hex(Buffer.from(s)));   // printable key names
  const dataFact = (a, b, why, exp) => fact(`DATA ${why}`, [`data/a50/${label(a)}`, KEY.data(A(50), Buffer.from(a))], [`data/a50/${label(b)}`, KEY.data(A(50), Buffer.from(b))], exp);
  dataFact('a', 'aa', '"a" < "aa" (proper prefix first)', 'same');
  dataFact('aa', 'aaa', '"aa" < "aaa" (proper prefix first)', 'same');
  dataFact('aa', 'ab', '"aa" < "ab" (first differing byte)', 'same');
  dataFact('ab', 'b', '"ab" < "b" (content before length)', 'opposite');
  dataFact('zzz', 'é', '"zzz" < "é" (chars compare as unsigned: 0xC3 > 0x7A)', 'opposite');
  dataFact('a\0b', 'ab', '"a\\0b" < "ab" (0x00 is an ordinary byte)', 'opposite');
  const [lo, hi] = Buffer.compare(kp(50).rawPublicKey(), kp(51).rawPublicKey()) < 0 ? [50, 51] : [51, 50];
  fact('DATA accountID before dataName', [`data/a${lo}/z`, KEY.data(A(lo), 'z')], [`data/a${hi}/a`, KEY.data(A(hi), 'a')], 'same');
  // OFFER: sellerID first, then signed offerID
  fact('OFFER offerID -1 < 0 (int64 signed)', ['offer/a40/-1', KEY.offer(A(40), I64('-1'))], ['offer/a40/0', KEY.offer(A(40), I64('0'))], 'opposite');
  fact('OFFER offerID INT64_MIN < -1', ['offer/a40/min', KEY.offer(A(40), I64(INT64_MIN))], ['offer/a40/-1', KEY.offer(A(40), I64('-1'))], 'same');
  fact('OFFER offerID 0 < INT64_MAX', ['offer/a40/0', KEY.offer(A(40), I64('0'))], ['offer/a40/max', KEY.offer(A(40), I64(INT64_MAX))], 'same');
  const [slo, shi] = Buffer.compare(kp(40).rawPublicKey(), kp(41).rawPublicKey()) < 0 ? [40, 41] : [41, 40];
  fact('OFFER sellerID before offerID', [`offer/a${slo}/max`, KEY.offer(A(slo), I64(INT64_MAX))], [`offer/a${shi}/min`, KEY.offer(A(shi), I64(INT64_MIN))], 'same');
  // CONTRACT_DATA: contract, then key, then durability
  fact('CONTRACT_DATA TEMPORARY(0) < PERSISTENT(1) for equal contract+key', ['cd/counter/temporary', cd(SV.sym('COUNTER'), T())],
    ['cd/counter/persistent', cd(SV.sym('COUNTER'), P())], 'same');
  fact('CONTRACT_DATA key before durability', ['cd/sym-a/persistent', cd(SV.sym('a'), P())], ['cd/sym-b/temporary', cd(SV.sym('b'), T())], 'same');
  fact('CONTRACT_DATA contract before key (contract 00.. < ff..)', ['cd/c00/sym-z', cd(SV.sym('z'), P(), ADDR.contract(Buffer.alloc(32)))],
    ['cd/cff/sym-a', cd(SV.sym('a'), T(), ADDR.contract(Buffer.alloc(32, 0xff)))], 'same');
  const addrArms = [ADDR.account(1), ADDR.contract(Buffer.alloc(32)), ADDR.muxed('0', Buffer.alloc(32)), ADDR.cb(Buffer.alloc(32)), ADDR.pool(Buffer.alloc(32))];
  for (let i = 0; i + 1 < addrArms.length; i++) {
    const n = (a) => xdrName(a.switch().name).replace('SC_ADDRESS_TYPE_', '');
    fact(`SCAddress ${n(addrArms[i])} < ${n(addrArms[i + 1])} as contract (discriminant)`, [`cd/contract-${n(addrArms[i])}`, cd(SV.void(), P(), addrArms[i])],
      [`cd/contract-${n(addrArms[i + 1])}`, cd(SV.void(), P(), addrArms[i + 1])], 'same');
  }
  fact('SCAddress MUXED_ACCOUNT id before ed25519', ['cd/key-muxed-1-ff', cd(SV.addr(ADDR.muxed('1', Buffer.alloc(32, 0xff))))],
    ['cd/key-muxed-2-00', cd(SV.addr(ADDR.muxed('2', Buffer.alloc(32))))], 'same');
  // SCVal keys (same contract C1, PERSISTENT)
  const sv = (why, [ln, lv], [gn, gv], exp) => fact(`SCVal key: ${why}`, [`cd/${ln}`, cd(lv)], [`cd/${gn}`, cd(gv)], exp);
  sv('VEC absent < VEC empty (absent optional first)', ['vec-absent', SV.vec(null)], ['vec-empty', SV.vec([])], 'same');
  sv('MAP absent < MAP empty', ['map-absent', SV.map(null)], ['map-empty', SV.map([])], 'same');
  sv('I32 -5 < I32 3 (signed)', ['i32/-5', SV.i32(-5)], ['i32/3', SV.i32(3)], 'opposite');
  sv('I32 INT32_MIN < I32 -1', ['i32/min', SV.i32(-2147483648)], ['i32/-1', SV.i32(-1)], 'same');
  sv('U32 1 < U32 0x80000000 (unsigned)', ['u32/1', SV.u32(1)], ['u32/2^31', SV.u32(0x80000000)], 'same');
  sv('BOOL false < true', ['bool-false', SV.bool(false)], ['bool-true', SV.bool(true)], 'same');
  sv('arm BOOL(0) < VOID(1) (discriminant first)', ['bool-true', SV.bool(true)], ['void', SV.void()], 'same');
  sv('arm U32(3) < I32(4) whatever the values', ['u32/max', SV.u32(0xffffffff)], ['i32/min', SV.i32(-2147483648)], 'same');
  sv('arm STRING(14) < SYMBOL(15)', ['string-zzz', SV.str('zzz')], ['sym-empty', SV.sym('')], 'same');
  sv('arm LEDGER_KEY_CONTRACT_INSTANCE(20) < LEDGER_KEY_NONCE(21)', ['instance-key', SV.instanceKey()], ['nonce/min', SV.nonce(INT64_MIN)], 'same');
  sv('I64 -1 < I64 0 (signed)', ['i64/-1', SV.i64('-1')], ['i64/0', SV.i64('0')], 'opposite');
  sv('U64 2^63-1 < U64 2^63 (unsigned)', ['u64/2^63-1', SV.u64(INT64_MAX)], ['u64/2^63', SV.u64('9223372036854775808')], 'same');
  sv('TIMEPOINT 1 < 2^64-1 (unsigned)', ['timepoint/1', SV.timepoint('1')], ['timepoint/max', SV.timepoint(UINT64_MAX)], 'same');
  sv('NONCE INT64_MIN < INT64_MAX', ['nonce/min', SV.nonce(INT64_MIN)], ['nonce/max', SV.nonce(INT64_MAX)], 'opposite');
  sv('I128 -1 {hi -1, lo max} < 0 (signed hi)', ['i128/-1', SV.i128('-1', UINT64_MAX)], ['i128/0', SV.i128('0', '0')], 'opposite');
  sv('I128 lo compares unsigned', ['i128/lo1', SV.i128('0', '1')], ['i128/lo2^63', SV.i128('0', '9223372036854775808')], 'same');
  sv('U128 {hi 0, lo max} < {hi 1, lo 0} (hi first)', ['u128/lo-max', SV.u128('0', UINT64_MAX)], ['u128/hi1', SV.u128('1', '0')], 'same');
  sv('I256 negative hiHi < positive', ['i256/-1', SV.i256('-1', UINT64_MAX, UINT64_MAX, UINT64_MAX)], ['i256/1', SV.i256('0', '0', '0', '1')], 'opposite');
  sv('I256 equal hiHi, hiLo unsigned', ['i256/-1-0', SV.i256('-1', '0', '0', '0')], ['i256/-1-2^63', SV.i256('-1', '9223372036854775808', '0', '0')], 'same');
  sv('U256 hiHi first', ['u256/lolo-max', SV.u256('0', '0', '0', UINT64_MAX)], ['u256/hihi-1', SV.u256('1', '0', '0', '0')], 'same');
  sv('BYTES [00 00] < [01] (content before length)', ['bytes/0000', SV.bytes([0, 0])], ['bytes/01', SV.bytes([1])], 'opposite');
  sv('BYTES [] < [00] (proper prefix first)', ['bytes/empty', SV.bytes([])], ['bytes/00', SV.bytes([0])], 'same');
  sv('BYTES [01 02] < [01 02 00] (proper prefix first)', ['bytes/0102', SV.bytes([1, 2])], ['bytes/010200', SV.bytes([1, 2, 0])], 'same');
  sv('STRING "a" < "a\\0" (prefix)', ['string-a', SV.str('a')], ['string-a-nul', SV.str(Buffer.from([0x61, 0]))], 'same');
  sv('STRING "a\\0b" < "ab" (0x00 < 0x62)', ['string-a-nul-b', SV.str(Buffer.from([0x61, 0, 0x62]))], ['string-ab', SV.str('ab')], 'opposite');
  sv('SYMBOL "" < "a"', ['sym-empty', SV.sym('')], ['sym-a', SV.sym('a')], 'same');
  sv('SYMBOL "Balance" < "BalanceX" (prefix)', ['sym-Balance', SV.sym('Balance')], ['sym-BalanceX', SV.sym('BalanceX')], 'same');
  sv('nested VEC[VEC[U32 1, U32 1]] < VEC[VEC[U32 2]]', ['vec/vec-1-1', SV.vec([SV.vec([SV.u32(1), SV.u32(1)])])],
    ['vec/vec-2', SV.vec([SV.vec([SV.u32(2)])])], 'opposite');
  sv('VEC[U32 0] < VEC[I32 -1] (element arm first)', ['vec/u32-0', SV.vec([SV.u32(0)])], ['vec/i32--1', SV.vec([SV.i32(-1)])], 'same');
  sv('VEC [] < VEC [VOID]', ['vec-empty', SV.vec([])], ['vec/void', SV.vec([SV.void()])], 'same');
  sv('VEC [U32 1, VEC absent] < [U32 1, VEC empty]', ['vec/1-absent', SV.vec([SV.u32(1), SV.vec(null)])], ['vec/1-empty', SV.vec([SV.u32(1), SV.vec([])])], 'same');
  sv('MAP {1:9,5:5} < {2:0} (entry-wise, count not first)', ['map/1-9-5-5', SV.map([[SV.u32(1), SV.u32(9)], [SV.u32(5), SV.u32(5)]])],
    ['map/2-0', SV.map([[SV.u32(2), SV.u32(0)]])], 'opposite');
  sv('MAP entry key before val', ['map/1-2', SV.map([[SV.u32(1), SV.u32(2)]])], ['map/2-1', SV.map([[SV.u32(2), SV.u32(1)]])], 'same');
  sv('MAP entry val after equal key', ['map/1-1', SV.map([[SV.u32(1), SV.u32(1)]])], ['map/1-2', SV.map([[SV.u32(1), SV.u32(2)]])], 'same');
  sv('ERROR type before code: CONTRACT(0) max < WASM_VM(1)', ['error/contract-max', SV.errContract(0xffffffff)],
    ['error/wasm-arith', SV.err('sceWasmVm', 'scecArithDomain')], 'same');
  sv('ERROR AUTH code INVALID_INPUT(2) < INTERNAL_ERROR(7)', ['error/auth-2', SV.err('sceAuth', 'scecInvalidInput')],
    ['error/auth-7', SV.err('sceAuth', 'scecInternalError')], 'same');
  sv('CONTRACT_INSTANCE WASM(0) < STELLAR_ASSET(1)', ['instance/wasm-ff', SV.instance(WASM(Buffer.alloc(32, 0xff)), null)],
    ['instance/sac', SV.instance(SAC(), null)], 'same');
  sv('CONTRACT_INSTANCE storage absent < present', ['instance/sac', SV.instance(SAC(), null)], ['instance/sac-empty', SV.instance(SAC(), [])], 'same');
  sv('ADDRESS ACCOUNT(0) < CONTRACT(1) inside key', ['addr-account', SV.addr(ADDR.account(1))], ['addr-contract-00', SV.addr(ADDR.contract(Buffer.alloc(32)))], 'same');
  // fixed-size hashes: memcmp
  fact('CONFIG_SETTING id 2 < 10', ['config/2', KEY.configSetting(xdr.ConfigSettingId.configSettingContractLedgerCostV0())],
    ['config/10', KEY.configSetting(xdr.ConfigSettingId.configSettingStateArchival())], 'same');
  fact('TTL keyHash bytewise', ['ttl/00..01', KEY.ttl(Buffer.concat([Buffer.alloc(31), Buffer.from([1])]))], ['ttl/01..00', KEY.ttl(Buffer.concat([Buffer.from([1]), Buffer.alloc(31)]))], 'same');
  fact('CONTRACT_CODE hash bytewise', ['code/7f..', KEY.contractCode(Buffer.alloc(32, 0x7f))], ['code/80..', KEY.contractCode(Buffer.alloc(32, 0x80))], 'same');
  unique(out.order_facts, 'order fact');
  // "keys": every key named above, listed in ascending §3.2 order.
  const sorted = [...keyNames.entries()].sort(([a], [b]) => cmpKeyBytes(Buffer.from(a, 'hex'), Buffer.from(b, 'hex')));
  for (const [h, name] of sorted) out.keys.push({ name, key: h });
  unique(out.keys, 'key');
}

// §3.3: memcmp of the XDR key agrees with §3.2 order for every pair of entry keys unless the pair is DATA/DATA,
// CONTRACT_DATA/CONTRACT_DATA, or OFFER/OFFER with a negative offerID.
function checkMemcmpClaim() {
  const ks = out.entries.map((e) => ({ b: Buffer.from(e.key, 'hex'), k: xdr.LedgerKey.fromXDR(e.key, 'hex'), t: e.type }));
  let exempt = 0, differ = 0;
  for (const x of ks) for (const y of ks) {
    const negOffer = (z) => z.t === 'OFFER' && z.k.offer().offerId().toBigInt() < 0n;
    const s = Math.sign(cmp(x.k, y.k)), m = Math.sign(Buffer.compare(x.b, y.b));
    if (x.t === y.t && (x.t === 'DATA' || x.t === 'CONTRACT_DATA' || (x.t === 'OFFER' && (negOffer(x) || negOffer(y))))) {
      exempt++; if (s !== m) differ++; continue;
    }
    check(s === m, `§3.3 memcmp claim broken for ${x.t} pair`);
  }
  process.stderr.write(`memcmp-vs-structural: ${exempt} exempt ordered pairs, ${differ} of them disagree\n`);
}

// ---------------------------------------------------------------- invalid ---
const dropped = [];
const KINDS = { LedgerKey: xdr.LedgerKey, LedgerEntry: xdr.LedgerEntry, BucketEntry: xdr.BucketEntry, SCVal: xdr.ScVal };
function bad(name, kind, bytes, why) {
  let threw = false;
  try { KINDS[kind].fromXDR(bytes); } catch (e) { threw = true; }
  if (!threw) { dropped.push(`${kind} ${name}`); return; }
  out.invalid.push({ name, kind, xdr: hex(bytes), why });
}
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };
// copy of b with bytes at off (which must currently be `was`) replaced by `now` (hex strings)
function patch(b, off, was, now) {
  check(hex(b.subarray(off, off + was.length / 2)) === was, `patch: expected ${was} at ${off}, got ${hex(b.subarray(off, off + was.length / 2))}`);
  return Buffer.concat([b.subarray(0, off), Buffer.from(now, 'hex'), b.subarray(off + was.length / 2)]);
}
function invalid() {
  const E = (n) => { const e = out.entries.find((r) => r.name === n); check(e, 'entry ' + n); return e; };
  const B = (h) => Buffer.from(h, 'hex');
  const S = (n) => B(out.scvals.find((s) => s.name === n).xdr);
  const acctKey = B(E('account/basic').key), acctEntry = B(E('account/basic').entry), live = B(E('account/basic').live);
  const sacEntry = B(E('contract_data/sac/balance').entry);
  // truncation
  for (const n of [0, 1, 4, 20, 39]) bad(`truncated/account-key-at-${n}`, 'LedgerKey', acctKey.subarray(0, n), `ACCOUNT key cut to ${n} of 40 bytes`);
  for (const n of [4, 8, 44, 91]) bad(`truncated/account-entry-at-${n}`, 'LedgerEntry', acctEntry.subarray(0, n), `LedgerEntry cut to ${n} of 92 bytes`);
  for (const n of [12, sacEntry.length - 4, sacEntry.length - 1]) bad(`truncated/contract-data-entry-at-${n}`, 'LedgerEntry', sacEntry.subarray(0, n), `CONTRACT_DATA entry cut to ${n} of ${sacEntry.length}`);
  bad('truncated/live-at-3', 'BucketEntry', live.subarray(0, 3), 'BucketEntry type cut');
  bad('truncated/live-at-95', 'BucketEntry', live.subarray(0, 95), 'last byte of LedgerEntry ext missing');
  bad('truncated/dead-at-43', 'BucketEntry', B(E('account/basic').dead).subarray(0, 43), 'DEADENTRY key cut');
  bad('truncated/meta-v1-at-12', 'BucketEntry', B(out.metadata.find((m) => m.name === 'live/v23').bucket_entry).subarray(0, 12), 'META ext v1 without bucketListType');
  bad('truncated/scval-u64-at-8', 'SCVal', S(`u64/${UINT64_MAX}`).subarray(0, 8), 'U64 payload cut');
  const nested = S('vec/nested-3-deep');
  bad('truncated/scval-nested-vec', 'SCVal', nested.subarray(0, nested.length - 4), 'innermost element of a 3-deep VEC missing');
  const hello = S('string/hello');
  bad('truncated/scval-string-in-padding', 'SCVal', hello.subarray(0, hello.length - 1), 'STRING "hello" ends inside its padding');
  // trailing bytes
  bad('trailing/account-key+4', 'LedgerKey', Buffer.concat([acctKey, u32(0)]), '4 zero bytes after a complete key');
  bad('trailing/account-entry+1', 'LedgerEntry', Buffer.concat([acctEntry, Buffer.alloc(1)]), '1 byte after a complete entry');
  bad('trailing/live+4', 'BucketEntry', Buffer.concat([live, u32(0)]), '4 bytes after a complete BucketEntry');
  bad('trailing/scval-void+4', 'SCVal', Buffer.concat([S('void'), u32(1)]), 'VOID followed by 4 bytes');
  // unknown union discriminants / enum values
  bad('discriminant/ledger-key-type-10', 'LedgerKey', patch(acctKey, 0, '00000000', '0000000a'), 'LedgerEntryType 10');
  bad('discriminant/ledger-key-type--1', 'LedgerKey', patch(acctKey, 0, '00000000', 'ffffffff'), 'LedgerEntryType -1');
  bad('discriminant/ledger-entry-type-10', 'LedgerEntry', patch(acctEntry, 4, '00000000', '0000000a'), 'LedgerEntryType 10 in LedgerEntry.data');
  bad('discriminant/bucket-entry-type-3', 'BucketEntry', patch(live, 0, '00000000', '00000003'), 'BucketEntryType 3');
  bad('discriminant/bucket-entry-type--2', 'BucketEntry', patch(live, 0, '00000000', 'fffffffe'), 'BucketEntryType -2');
  bad('discriminant/bucket-dead-holding-entry', 'BucketEntry', patch(live, 0, '00000000', '00000001'), 'DEADENTRY arm followed by LedgerEntry bytes (parses as a CONTRACT_CODE key then trailing bytes)');
  bad('discriminant/meta-ext-v2', 'BucketEntry', patch(B(out.metadata.find((m) => m.name === 'live/v23').bucket_entry), 8, '00000001', '00000002'), 'BucketMetadata ext v 2');
  bad('discriminant/meta-bucket-list-type-2', 'BucketEntry', patch(B(out.metadata.find((m) => m.name === 'live/v23').bucket_entry), 12, '00000000', '00000002'), 'BucketListType 2');
  bad('discriminant/scval-99', 'SCVal', patch(S('u32/7'), 0, '00000003', '00000063'), 'SCVal arm 99');
  bad('discriminant/scval-23', 'SCVal', patch(S('u32/7'), 0, '00000003', '00000017'), 'SCVal arm 23 (past every defined arm, incl. SCV_EXECUTABLE_TAG 22)');
  bad('discriminant/scaddress-6', 'SCVal', patch(S('address/SC_ADDRESS_TYPE_CONTRACT/1'), 4, '00000001', '00000006'), 'SCAddressType 6');
  bad('discriminant/sc-error-type-10', 'SCVal', patch(S('error/contract/42'), 4, '00000000', '0000000a'), 'SCErrorType 10');
  bad('discriminant/sc-error-code-10', 'SCVal', patch(S('error/SCE_AUTH/SCEC_INVALID_INPUT'), 8, '00000002', '0000000a'), 'SCErrorCode 10');
  bad('discriminant/contract-executable-3', 'SCVal', patch(S('contract_instance/stellar-asset/no-storage'), 4, '00000001', '00000003'), 'ContractExecutableType 3');
  bad('discriminant/public-key-type-1', 'LedgerKey', patch(acctKey, 4, '00000000', '00000001'), 'PublicKeyType 1');
  const cdKey = B(E('contract_data/counter/persistent').key);
  bad('discriminant/durability-2', 'LedgerKey', patch(cdKey, cdKey.length - 4, '00000001', '00000002'), 'ContractDataDurability 2');
  bad('discriminant/config-setting-id-21', 'LedgerKey', patch(B(E('config_setting/CONFIG_SETTING_SCP_TIMING').key), 4, '00000010', '00000015'), 'ConfigSettingID 21 (defined: 0..20)');
  bad('discriminant/trustline-asset-4', 'LedgerKey', patch(B(E('trustline/native/ext-v0').key), 40, '00000000', '00000004'), 'AssetType 4 in TrustLineAsset');
  bad('discriminant/asset-pool-share-in-offer', 'LedgerEntry', patch(B(E('offer/id-1').entry), 52, '00000000', '00000003'), 'ASSET_TYPE_POOL_SHARE is a TrustLineAsset arm only, not an Asset arm (OfferEntry.selling)');
  bad('discriminant/claimable-balance-id-type-1', 'LedgerKey', patch(B(E('claimable_balance/unconditional').key), 4, '00000000', '00000001'), 'ClaimableBalanceIDType 1');
  bad('discriminant/claim-predicate-6', 'LedgerEntry', patch(B(E('claimable_balance/unconditional').entry), 88, '00000000', '00000006'), 'ClaimPredicateType 6');
  bad('discriminant/ledger-entry-ext-v2', 'LedgerEntry', patch(acctEntry, 88, '00000000', '00000002'), 'LedgerEntry ext v 2');
  bad('discriminant/account-ext-v2-at-v1-level', 'LedgerEntry', patch(acctEntry, 84, '00000000', '00000002'), 'AccountEntry ext v 2 (2 is only legal one level down, inside ExtensionV1)');
  // non-zero padding
  const dataKey = B(E('data/name-a').key), dataEntry = B(E('data/name-a').entry);
  bad('padding/data-key-name-byte1', 'LedgerKey', patch(dataKey, 45, '000000', '010000'), 'DATA name "a": padding byte 1 is 0x01');
  bad('padding/data-key-name-byte3', 'LedgerKey', patch(dataKey, 45, '000000', '000080'), 'DATA name "a": padding byte 3 is 0x80');
  bad('padding/data-entry-name', 'LedgerEntry', patch(dataEntry, 49, '000000', '000001'), 'DATA name "a" padding in the entry');
  const v1 = B(E('data/value-len01').entry);
  bad('padding/data-value', 'LedgerEntry', patch(v1, v1.length - 11, '000000', '00ff00'), 'dataValue of length 1 with non-zero padding');
  bad('padding/scval-bytes-len1', 'SCVal', patch(S('bytes/len1'), 9, '000000', '000001'), 'SCV_BYTES length 1, padding 00 00 01');
  bad('padding/scval-bytes-len3', 'SCVal', patch(S('bytes/len3'), 11, '00', '01'), 'SCV_BYTES length 3, padding 01');
  bad('padding/scval-string', 'SCVal', patch(hello, 13, '000000', '200000'), 'SCV_STRING "hello" padding 20 00 00');
  bad('padding/scval-symbol', 'SCVal', patch(S('symbol/7:Balance'), 15, '00', '01'), 'SCV_SYMBOL "Balance" padding 01');
  bad('padding/home-domain', 'LedgerEntry', patch(B(E('account/home-domain-len2').entry), 78, '0000', '0001'), 'homeDomain "ab" padding 00 01');
  const code5 = B(E('contract_code/ext-v0/len5').entry);
  bad('padding/contract-code', 'LedgerEntry', patch(code5, code5.length - 7, '000000', '010101'), 'CONTRACT_CODE code of length 5 with padding 01 01 01');
  // length bounds
  const k64 = B(E('data/name-64-bytes').key), e64 = B(E('data/name-64-bytes').entry);
  bad('bound/data-name-65-key', 'LedgerKey', Buffer.concat([k64.subarray(0, 40), u32(65), k64.subarray(44), Buffer.from('x'), Buffer.alloc(3)]), 'dataName of 65 bytes (string64)');
  bad('bound/data-name-65-entry', 'LedgerEntry', Buffer.concat([e64.subarray(0, 44), u32(65), e64.subarray(48, 112), Buffer.from('x\0\0\0'), e64.subarray(112)]), 'dataName of 65 bytes in DataEntry');
  const ev64 = B(E('data/value-len64').entry), nameEnd = 44 + 4 + 8;    // name "len64" (5 bytes, padded to 8)
  bad('bound/data-value-65', 'LedgerEntry', Buffer.concat([patch(ev64, nameEnd, '00000040', '00000041').subarray(0, ev64.length - 8), Buffer.from('x\0\0\0'), ev64.subarray(ev64.length - 8)]), 'dataValue of 65 bytes (opaque<64>)');
  const sym32 = S(`symbol/32:${SYM32}`);
  bad('bound/symbol-33', 'SCVal', Buffer.concat([sym32.subarray(0, 4), u32(33), sym32.subarray(8), Buffer.from('x\0\0\0')]), 'SCV_SYMBOL of 33 bytes (string<32>)');
  const hd32 = B(E('account/home-domain-len32').entry);
  bad('bound/home-domain-33', 'LedgerEntry', Buffer.concat([patch(hd32, 72, '00000020', '00000021').subarray(0, 108), Buffer.from('x\0\0\0'), hd32.subarray(108)]), 'homeDomain of 33 bytes (string32)');
  bad('bound/signers-21', 'LedgerEntry', patch(acctEntry, 80, '00000000', '00000015'), 'signers count 21 (MAX_SIGNERS 20)');
  bad('bound/claimants-11', 'LedgerEntry', patch(B(E('claimable_balance/10-claimants').entry), 44, '0000000a', '0000000b'), 'claimants count 11 (max 10)');
  bad('bound/vec-count-exceeds-input', 'SCVal', patch(S('vec/u32-7'), 8, '00000001', '7fffffff'), 'SCV_VEC count 2^31-1 with 8 bytes left');
  bad('bound/bytes-length-max', 'SCVal', patch(S('bytes/len3'), 4, '00000003', 'ffffffff'), 'SCV_BYTES length 2^32-1');
  // bool and optional flags must be 0 or 1
  bad('bool/scval-2', 'SCVal', patch(S('bool/true'), 4, '00000001', '00000002'), 'SCV_BOOL value 2');
  const evi = B(E('config_setting/CONFIG_SETTING_EVICTION_ITERATOR').entry);
  bad('bool/eviction-iterator-2', 'LedgerEntry', patch(evi, 16, '00000001', '00000002'), 'EvictionIterator.isCurrBucket = 2');
  bad('optional/inflation-dest-2', 'LedgerEntry', patch(acctEntry, 64, '00000000', '00000002'), 'AccountEntry.inflationDest presence flag 2');
  const spA = B(E('account/ledger-ext-v1-sponsor-absent').entry);
  bad('optional/sponsoring-id-2', 'LedgerEntry', patch(spA, spA.length - 8, '00000000', '00000002'), 'LedgerEntryExtensionV1.sponsoringID presence flag 2');
  bad('optional/scval-vec-2', 'SCVal', patch(S('vec/absent'), 4, '00000000', '00000002'), 'SCV_VEC presence flag 2');
  bad('optional/scval-map-2', 'SCVal', patch(S('map/absent'), 4, '00000000', '00000002'), 'SCV_MAP presence flag 2');
  bad('optional/instance-storage-2', 'SCVal', patch(S('contract_instance/stellar-asset/no-storage'), 8, '00000000', '00000002'), 'ScContractInstance.storage presence flag 2');
  unique(out.invalid, 'invalid');
  for (const d of dropped) process.stderr.write(`dropped (js-xdr accepted it): ${d}\n`);
  return dropped;
}

function build() { scvals(); metadata(); orderFacts(); checkMemcmpClaim(); return { dropped: invalid() }; }
module.exports = { build };
