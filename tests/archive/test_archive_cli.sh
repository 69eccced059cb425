#!/bin/sh
# `bucketdb publish` then `bucketdb import` through a get command template:
# a store replayed to a checkpoint of mix-a is published, imported into a
# new store (3 shards), and the imported ledger's bucketListHash must be
# the one the independent reference model computed (mix-a.expected).
# Then the archive is damaged and the import must fail naming the bucket,
# leaving no store behind.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${top_builddir:-.}/tools/bucketdb
vec=$top_srcdir/tests/vectors/batches
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "1..4"
fail=0
cp_get="cp $tmp/arch/{0} {1}"
for spec in 1:319 2:831; do
    n=${spec%%:*}
    cp=${spec#*:}
    rm -rf "$tmp/a" "$tmp/b" "$tmp/arch"
    want=$(awk -v l="$cp" '$1 == l {print $2}' "$vec/mix-a.expected")
    head -n "$cp" "$vec/mix-a.jsonl" >"$tmp/in"
    if "$bin" replay --no-fsync --dir "$tmp/a" "$tmp/in" >/dev/null 2>"$tmp/err" &&
        "$bin" publish "$tmp/arch" --store "$tmp/a" --no-fsync \
            --passphrase "Test SDF Network ; September 2015" >"$tmp/pub" 2>>"$tmp/err" &&
        "$bin" import --get "$cp_get" --dir "$tmp/b" --shards 3 --no-fsync >"$tmp/out" 2>>"$tmp/err" &&
        [ "$(cat "$tmp/out")" = "ledger $cp bucketListHash $want" ]; then
        echo "ok $n - publish and import at checkpoint $cp: bucketListHash $want"
    else
        echo "not ok $n - publish and import at checkpoint $cp"
        sed 's/^/# /' "$tmp/err" "$tmp/out" 2>/dev/null | head -8
        fail=1
    fi
done
# a bucket replaced by another: the import fails naming it, nothing adopted
rm -rf "$tmp/b" "$tmp/b.import"
set -- $(find "$tmp/arch/bucket" -name '*.xdr.gz' | sort)
victim=$2
cp "$1" "$victim"
hex=$(basename "$victim" .xdr.gz)
if "$bin" import "$tmp/arch" --ledger 831 --dir "$tmp/b" --no-fsync >"$tmp/out" 2>"$tmp/err"; then
    echo "not ok 3 - a corrupt bucket was imported"
    fail=1
elif grep -q "${hex#bucket-}" "$tmp/err" && [ -z "$(ls -A "$tmp/b" 2>/dev/null)" ]; then
    echo "ok 3 - a corrupt bucket is refused, named, and nothing is adopted"
else
    echo "not ok 3 - corrupt bucket"
    sed 's/^/# /' "$tmp/err" | head -4
    ls "$tmp/b" 2>/dev/null | sed 's/^/# b: /' | head -4
    fail=1
fi
# usage errors exit 2
if "$bin" import >/dev/null 2>&1; [ $? -eq 2 ] && "$bin" publish "$tmp/x" >/dev/null 2>&1; [ $? -eq 2 ]; then
    echo "ok 4 - usage errors exit 2"
else
    echo "not ok 4 - usage errors exit 2"
    fail=1
fi
exit $fail
