#!/usr/bin/env node
// Independent XDR test-vector generator for bucketdb.
//
// Every byte in the output is produced by @stellar/stellar-base (its generated
// XDR definitions, encoded by @stellar/js-xdr), never by bucketdb's own code.
// Deterministic: accounts come from Keypair.fromRawEd25519Seed(Buffer.alloc(32, n)),
// hashes from sha256 of fixed labels, other payload bytes from a fixed-seed PRNG.
//
//   npm ci --no-audit --no-fund && node gen.js > ledger.json      (or: make vectors)
//
// Modules: lib.js (builders, key derivation, §3.2 comparator), entries.js
// (LedgerEntry vectors), extras.js (scvals, metadata, order facts, invalid).
// "§" refers to /work/shared/spec/stellar-bucketlist.md.
'use strict';
const { xdr, out, check, sha256, hex, enc, acct, kp, I64, KEY, deriveKey, frame } = require('./lib');

// toolchain.md "npm oracle notes": reproduce the documented reference vectors or fail.
function checkReferenceVectors() {
  check(kp(7).publicKey() === 'GDVEU3DD4KOFECV66VIHWEZOYX4ZKR3WV27L464SIIPOU2IUI3JCZA57', 'reference account');
  const accountId = acct(7);
  const key = KEY.account(accountId);
  const entry = new xdr.LedgerEntry({
    lastModifiedLedgerSeq: 7, ext: new xdr.LedgerEntryExt(0),
    data: xdr.LedgerEntryData.account(new xdr.AccountEntry({
      accountId, balance: I64('1000000000'), seqNum: xdr.SequenceNumber.fromString('12884901888'), numSubEntries: 0,
      inflationDest: null, flags: 0, homeDomain: '', thresholds: Buffer.from([1, 0, 0, 0]), signers: [],
      ext: new xdr.AccountEntryExt(0) })) });
  const meta = enc(xdr.BucketEntry.metaentry(new xdr.BucketMetadata({ ledgerVersion: 23, ext: new xdr.BucketMetadataExt(1, xdr.BucketListType.live()) })));
  const keyHex = '0000000000000000ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c';
  check(hex(enc(key)) === keyHex, 'reference LedgerKey');
  check(hex(enc(deriveKey(entry))) === keyHex, 'reference key derived from the entry');
  check(hex(meta) === 'ffffffff000000170000000100000000', 'reference metaentry');
  const live = enc(xdr.BucketEntry.liveentry(entry)), init = enc(xdr.BucketEntry.initentry(entry));
  const dead = enc(xdr.BucketEntry.deadentry(key));
  check(hex(dead) === '00000001' + keyHex, 'reference deadentry (44 bytes)');
  check(enc(entry).length === 92 && hex(live) === '00000000' + hex(enc(entry)) && hex(init) === '00000002' + hex(enc(entry)), 'reference live/init');
  const file = Buffer.concat([meta, init, dead].map(frame));
  check(file.length === 168, 'reference framed bucket is 168 bytes');
  check(hex(sha256(file)) === 'aeb61935a60af3f3007123157d5dfa99f1bef2c79fedc80409fcf2850cd4a0fc', 'reference framed bucket SHA-256');
  return hex(live);
}

// XDR arms named by the spec (§1.2, §2.3) that this stellar-base may lack. Nothing is invented for them.
function probeMissing() {
  const has = (E, v) => { try { return !!E && E.fromValue(v) !== undefined; } catch (e) { return false; } };
  const probes = [
    ['ScValType', 22, 'SCVal arm SCV_EXECUTABLE_TAG (22)'],
    ['ContractExecutableType', 2, 'ContractExecutable CONTRACT_EXECUTABLE_EXTERNAL_REF (2)'],
    ['ScAddressType', 2, 'SCAddress SC_ADDRESS_TYPE_MUXED_ACCOUNT (2)'],
    ['ScAddressType', 3, 'SCAddress SC_ADDRESS_TYPE_CLAIMABLE_BALANCE (3)'],
    ['ScAddressType', 4, 'SCAddress SC_ADDRESS_TYPE_LIQUIDITY_POOL (4)'],
    ['ScAddressType', 5, 'SCAddress SC_ADDRESS_TYPE_MUXED_CONTRACT (5) (spec: only under #ifdef CAP_0084_MUXED_CONTRACT)'],
    ['BucketListType', 1, 'BucketListType HOT_ARCHIVE (1)'],
    ['HotArchiveBucketEntryType', -1, 'HotArchiveBucketEntryType HOT_ARCHIVE_METAENTRY (-1)'],
    ['HotArchiveBucketEntryType', 0, 'HotArchiveBucketEntryType HOT_ARCHIVE_ARCHIVED (0)'],
    ['HotArchiveBucketEntryType', 1, 'HotArchiveBucketEntryType HOT_ARCHIVE_LIVE (1)'],
  ];
  for (let id = 0; id <= 20; id++) probes.push(['ConfigSettingId', id, `ConfigSettingID ${id}`]);
  for (let t = 0; t <= 9; t++) probes.push(['LedgerEntryType', t, `LedgerEntryType ${t}`]);
  for (let t = 0; t <= 21; t++) probes.push(['ScValType', t, `SCVal arm ${t}`]);
  for (const [E, v, what] of probes) if (!has(xdr[E], v)) out.missing.push(what);
}

function main() {
  checkReferenceVectors();
  probeMissing();
  require('./entries').build();
  require('./extras').build();
  const n = (k) => out[k].length;
  process.stderr.write(`entries ${n('entries')}, keys ${n('keys')}, scvals ${n('scvals')}, metadata ${n('metadata')}, ` +
    `invalid ${n('invalid')}, order_facts ${n('order_facts')}, missing ${n('missing')}\n`);
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}
main();
