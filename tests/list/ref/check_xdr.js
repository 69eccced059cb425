// Validates a batches JSONL file with @stellar/stellar-base: every LedgerEntry
// / LedgerKey must decode and re-encode to the identical bytes.
// Usage: NODE_PATH=<dir with node_modules> node check_xdr.js < file.jsonl
'use strict';
const { xdr } = require('@stellar/stellar-base');
const readline = require('readline');

const rl = readline.createInterface({ input: process.stdin });
let nEntries = 0, nKeys = 0, nLines = 0, bad = 0;
const types = {};
const scvKeyTypes = {};

function check(kind, b64) {
  let v;
  try {
    v = kind.fromXDR(b64, 'base64');
  } catch (e) {
    bad++;
    if (bad < 10) console.error('decode failed', kind.name, b64, e.message);
    return null;
  }
  const again = v.toXDR('base64');
  if (again !== b64) {
    bad++;
    if (bad < 10) console.error('re-encode differs', kind.name, b64, again);
  }
  return v;
}

rl.on('line', (line) => {
  nLines++;
  const r = JSON.parse(line);
  for (const f of ['init', 'live', 'hot_archived']) {
    for (const e of (r[f] || [])) {
      const v = check(xdr.LedgerEntry, e);
      nEntries++;
      if (v) {
        const t = v.data().switch().name;
        types[t] = (types[t] || 0) + 1;
        if (t === 'contractData') {
          const k = v.data().contractData().key().switch().name;
          scvKeyTypes[k] = (scvKeyTypes[k] || 0) + 1;
        }
      }
    }
  }
  for (const f of ['dead', 'hot_restored']) {
    for (const k of (r[f] || [])) {
      check(xdr.LedgerKey, k);
      nKeys++;
    }
  }
});

rl.on('close', () => {
  console.log(JSON.stringify({ lines: nLines, entries: nEntries, keys: nKeys, bad, types, scvKeyTypes }));
  process.exit(bad ? 1 : 0);
});
