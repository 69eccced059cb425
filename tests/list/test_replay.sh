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
for f in "$dir"/mix-*.jsonl; do
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
# HAS round trip (H12, H13): replay a prefix, export its HAS, start another
# store (3 shards) from that HAS and the first store's bucket files, replay
# the rest; the hashes must run on as if nothing happened
for spec in mix-a:2 mix-a:100 mix-a:513 mix-a:900 mix-b:97 mix-b:300; do
    name=${spec%%:*}
    cut=${spec#*:}
    n=$((n + 1))
    rm -rf "$tmp/a" "$tmp/b"
    head -n "$cut" "$dir/$name.jsonl" >"$tmp/p1"
    tail -n +"$((cut + 1))" "$dir/$name.jsonl" >"$tmp/p2"
    if "$bin" replay --no-fsync --levels --dir "$tmp/a" --has "$tmp/has.json" "$tmp/p1" >"$tmp/o1" 2>"$tmp/err" &&
        "$bin" replay --no-fsync --levels --shards 3 --dir "$tmp/b" --assume "$tmp/has.json" \
            --bucket-dir "$tmp/a" "$tmp/p2" >"$tmp/o2" 2>>"$tmp/err" &&
        cat "$tmp/o1" "$tmp/o2" | cmp -s - "$dir/$name.expected"; then
        echo "ok $n - $name: HAS after ledger $cut, assumed into 3 shards, replay continues"
    else
        echo "not ok $n - $name: HAS after ledger $cut"
        sed 's/^/# /' "$tmp/err" | head -5
        fail=1
    fi
done
# a HAS naming a bucket that is not there is refused, naming it (H14)
n=$((n + 1))
rm -rf "$tmp/b" "$tmp/empty"
mkdir "$tmp/empty"
if "$bin" replay --no-fsync --dir "$tmp/b" --assume "$tmp/has.json" --bucket-dir "$tmp/empty" \
    /dev/null >/dev/null 2>"$tmp/err"; then
    echo "not ok $n - a HAS with missing buckets is refused"
    fail=1
elif grep -q 'bucket-[0-9a-f]\{64\}\.xdr' "$tmp/err"; then
    echo "ok $n - a HAS with missing buckets is refused, naming the bucket"
else
    echo "not ok $n - missing bucket not named: $(cat "$tmp/err")"
    fail=1
fi
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
