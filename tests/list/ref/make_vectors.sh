#!/bin/sh
# Regenerate tests/vectors/batches/* from the Python generator and reference
# model (stdlib Python 3 only).  Optionally validate every record's XDR with
# @stellar/stellar-base when NODE_PATH points at a node_modules directory that
# has it (e.g. NODE_PATH=tests/vectors/node_modules after `npm ci` there).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$here/../../vectors/batches
py=${PYTHON:-python3}

"$py" "$here/selftest.py"

gen() {  # name seed ledgers profile
    "$py" "$here/gen_batches.py" --seed "$2" --ledgers "$3" --profile "$4" > "$out/$1.jsonl.tmp"
    "$py" "$here/bucketlist_ref.py" --levels < "$out/$1.jsonl.tmp" > "$out/$1.expected.tmp"
    mv "$out/$1.jsonl.tmp" "$out/$1.jsonl"
    mv "$out/$1.expected.tmp" "$out/$1.expected"
    if [ -n "${NODE_PATH:-}" ]; then
        node "$here/check_xdr.js" < "$out/$1.jsonl"
    fi
}

gen mix-a 1 1100 mix
gen mix-b 2 600 churn
