#!/bin/sh
# The shared library exports the public API and nothing else: every
# defined dynamic symbol starts with bdb_, and the symbols declared with
# BDB_API in the installed headers are all there.
lib="${top_builddir:-.}/.libs/libbucketdb.so"
srcdir="$(dirname "$0")/.."
echo "1..2"
if [ ! -f "$lib" ]; then
    echo "not ok 1 - $lib not found"
    echo "not ok 2 - # SKIP"
    exit 1
fi
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort)
stray=$(printf '%s\n' "$exported" | grep -v '^bdb_' | grep -v '^_' | grep -v '^$')
if [ -z "$stray" ]; then
    echo "ok 1 - only bdb_ symbols are exported ($(printf '%s\n' "$exported" | grep -c '^bdb_'))"
else
    echo "not ok 1 - symbols outside the API are exported:"
    printf '%s\n' "$stray" | sed 's/^/#   /'
fi
# declarations start a line with BDB_API and may wrap before the "("
declared=$(sed -n '/^BDB_API /{:a;/(/!{N;ba};p}' "$srcdir"/include/bucketdb/*.h | tr '\n' ' ' |
    grep -o 'BDB_API[^(;]*(' | sed 's/($//; s/.*[ *]//' | sort -u)
missing=$(printf '%s\n' "$declared" | while read -r s; do
    [ -n "$s" ] && ! printf '%s\n' "$exported" | grep -qx "$s" && echo "$s"; done)
if [ -z "$missing" ] && [ -n "$declared" ]; then
    echo "ok 2 - every BDB_API function is exported"
else
    echo "not ok 2 - declared but not exported: $missing"
fi
[ -z "$stray" ] && [ -z "$missing" ] && [ -n "$declared" ]
