#!/bin/sh
# Differential test of the BucketList engine against an independent model:
# every tests/vectors/batches/<name>.jsonl is replayed with `bucketdb
# replay` under several shard layouts (1, 2, 3 and 16 shards, random
# boundaries, merges split into per-shard pieces or not), and each
# ledger's bucketListHash and level hashes must equal <name>.expected,
# which the Python model in tests/list/ref computed (not this code).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${top_builddir:-.}/tools/bucketdb
dir=$top_srcdir/tests/vectors/batches
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "$dir"/*.jsonl; do
    name=$(basename "$f" .jsonl)
    exp=$dir/$name.expected
    [ -f "$exp" ] || continue
    for cfg in "--shards 1" "--shards 2 --boundary-seed 2" "--shards 3 --boundary-seed 3 --split-bytes 0" \
        "--shards 16 --boundary-seed 16 --split-bytes 0" "--shards 16 --split-bytes 65536"; do
        n=$((n + 1))
        # shellcheck disable=SC2086
        if "$bin" replay --no-fsync --levels $cfg "$f" >"$tmp/out" 2>"$tmp/err" &&
            cmp -s "$tmp/out" "$exp"; then
            echo "ok $n - $name with $cfg"
        else
            echo "not ok $n - $name with $cfg"
            sed 's/^/# /' "$tmp/err" | head -5
            diff "$tmp/out" "$exp" | head -6 | sed 's/^/# /'
            fail=1
        fi
    done
done
# a refused ledger stops the replay with its number and a non-zero status
n=$((n + 1))
first=$(head -n 1 "$dir/mix-a.jsonl")
if printf '%s\n%s\n' "$first" "$first" | "$bin" replay --no-fsync >"$tmp/out" 2>"$tmp/err"; then
    echo "not ok $n - a repeated ledger is refused"
    fail=1
elif grep -q '^bucketdb replay: ledger 1: ' "$tmp/err" && [ "$(wc -l <"$tmp/out")" -eq 1 ]; then
    echo "ok $n - a repeated ledger is refused, naming the ledger"
else
    echo "not ok $n - error output: $(cat "$tmp/err")"
    fail=1
fi
echo "1..$n"
exit $fail
