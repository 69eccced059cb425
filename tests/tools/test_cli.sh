#!/bin/sh
# The bucketdb tool's commands, checked against facts that do not come from
# this code: a store replayed from the batch vectors (tests/vectors/batches,
# whose .expected level hashes come from the independent Python model),
# bucket files decoded by tests/tools/cli_facts.py (record marks and XDR
# layout, hashlib), StrKeys from @stellar/stellar-base (tests/vectors/
# ledger.json) and a Python SEP-23 encoder checked against them, and the
# batches' own entries. The golden files in tests/tools/golden fix the text
# layout; the numbers and hashes in them are the ones these checks confirm.
# Regenerate them with BDB_GOLDEN_UPDATE=1 after checking a diff by hand.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=$(cd "${top_builddir:-.}" && pwd)/tools/bucketdb
facts="python3 $top_srcdir/tests/tools/cli_facts.py"
golden=$top_srcdir/tests/tools/golden
vec=$top_srcdir/tests/vectors
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
# not_ok DESCRIPTION [FILE]: FILE (default: the last command's stderr) as diagnostics
not_ok() {
    n=$((n + 1))
    echo "not ok $n - $1"
    fail=1
    [ -s "${2:-$tmp/err}" ] && sed 's/^/# /' "${2:-$tmp/err}" | head -5
    return 0
}
# check DESCRIPTION COMMAND...: passes when the command succeeds (it may
# read $tmp/out and $tmp/err, the last `status` command's output)
check() {
    d=$1
    shift
    if "$@" >/dev/null 2>"$tmp/cerr"; then ok "$d"; else not_ok "$d" "$tmp/cerr"; fi
}
# golden NAME FILE: FILE equals tests/tools/golden/NAME
golden() {
    if [ "${BDB_GOLDEN_UPDATE:-}" = 1 ]; then cp "$2" "$golden/$1"; fi
    if cmp -s "$2" "$golden/$1"; then
        ok "$1 matches the golden file"
    else
        diff "$golden/$1" "$2" | head -10 >"$tmp/err"
        not_ok "$1 matches the golden file"
    fi
}
# status EXPECTED DESCRIPTION COMMAND...: the exit status is EXPECTED
status() {
    want=$1
    d=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok "$d (exit $want)"; else not_ok "$d: exit $got, not $want"; fi
}
# the hash of level L's curr (field 2) or snap (3) after ledger N in FILE.expected
level_hash() {
    awk -v n="$2" -v l="  L$3" -v f="$4" '$1 == n && NF == 2 { s = 1; next }
        s && index($0, l " ") == 1 { print $f; exit }' "$vec/batches/$1.expected"
}

# ---- help ----
"$bin" help >help.txt 2>"$tmp/err"
golden help.txt help.txt
for c in demo replay inspect dump verify merge key get stats index import publish version help; do
    if grep -q "^  $c  " help.txt &&
        "$bin" help "$c" >u1 && "$bin" "$c" --help >u2 && cmp -s u1 u2 &&
        head -n 1 u1 | grep -q "^usage: bucketdb $c\b" &&
        grep -q "^\.SS \"*$c\b" "$top_srcdir/docs/bucketdb.1"; then
        ok "help lists $c; help $c = $c --help; the man page has it"
    else
        not_ok "help for $c"
    fi
done
status 2 "an unknown command" "$bin" frobnicate
check "an unknown command prints the usage on stderr only" \
    sh -c "[ ! -s '$tmp/out' ] && grep -q '^usage: bucketdb COMMAND' '$tmp/err'"
status 2 "help of an unknown command" "$bin" help frobnicate
status 2 "no command" "$bin"
status 2 "an unknown option" "$bin" inspect --frob x
status 2 "merge without --level" "$bin" merge a b --protocol 12 -o out
status 2 "verify without arguments" "$bin" verify

# ---- a store: mix-a ledgers 1..520 (protocol 12 from 512) ----
head -n 520 "$vec/batches/mix-a.jsonl" >p520.jsonl
"$bin" replay --no-fsync --levels --dir store p520.jsonl >replay.out 2>"$tmp/err"
awk '$1 == 520 { s = 1 } s' "$vec/batches/mix-a.expected" | head -n 12 >exp520
if tail -n 12 replay.out | cmp -s - exp520; then ok "replay to ledger 520 matches the model"; else not_ok "replay to 520"; fi
# copies of the level buckets (the store removes merge files it does not
# reference when opened, so tests of bucket files use copies)
mkdir bk
for l in 0 1 2 3 4; do
    for f in 2 3; do
        h=$(level_hash mix-a 520 $l $f)
        cp "store/bucket-$h.xdr" bk/
    done
done
L2=bucket-$(level_hash mix-a 520 2 2).xdr # level 2 curr
L1=bucket-$(level_hash mix-a 520 1 2).xdr

# ---- inspect ----
$facts count "bk/$L2" >facts.json
(cd bk && "$bin" inspect "$L2") >inspect.txt 2>"$tmp/err"
golden inspect.txt inspect.txt
"$bin" inspect --json "bk/$L2" >inspect.json
check "inspect --json is JSON" python3 -m json.tool inspect.json /dev/null
check "inspect's counts, bytes, protocol and hash equal the independent decoder's" python3 -c "
import json
i = json.load(open('inspect.json')); f = json.load(open('facts.json'))
assert i['hash'] == f['hash'] and i['name_matches'] is True, 'hash'
assert (i['records'], i['bytes'], i['protocol']) == (f['records'], f['bytes'], f['protocol'])
for k, v in i['record_types'].items():
    assert v == f['record_types'].get(k, {'records': 0, 'bytes': 0}), k
for k, v in i['entry_types'].items():
    assert v == f['entry_types'].get(k, {'records': 0, 'bytes': 0}), k
assert sum(v['bytes'] for v in i['record_types'].values()) == i['bytes']"
gzip -n -c "bk/$L2" >"$L2.gz"
"$bin" inspect --json "$L2.gz" >inspect-gz.json
check "inspect of the gzipped bucket: same counts and hash, the name matches" python3 -c "
import json
a = json.load(open('inspect.json')); b = json.load(open('inspect-gz.json'))
assert b['compression'] == 'gzip' and b['name_matches'] is True
for k in ('hash', 'records', 'bytes', 'protocol', 'record_types', 'entry_types'): assert a[k] == b[k], k"
cp "bk/$L2" renamed.xdr
check "inspect of a bucket not named by its hash says so" sh -c \
    "'$bin' inspect renamed.xdr | grep -q '^name  *not a bucket-<hex> name'"

# ---- dump ----
"$bin" dump "bk/$L2" >dump.jsonl 2>"$tmp/err"
$facts records "bk/$L2" >records.txt
check "dump: one line per record; offsets, types and XDR equal the decoder's" python3 -c "
import json
d = [json.loads(l) for l in open('dump.jsonl')]
r = [l.split() for l in open('records.txt')]
assert len(d) == len(r) == json.load(open('facts.json'))['records']
for x, (off, t, b64) in zip(d, r):
    assert x['offset'] == int(off) and x['type'] == t, off
    assert x.get('entry', x.get('key_xdr', x.get('meta'))) == b64, off"
check "dump: every entry and dead key is one the batches wrote" python3 -c "
import json
ins, dead = set(), set()
for l in open('p520.jsonl'):
    b = json.loads(l); ins.update(b['init'] + b['live']); dead.update(b['dead'])
for l in open('dump.jsonl'):
    x = json.loads(l)
    if x['type'] in ('INITENTRY', 'LIVEENTRY'): assert x['entry'] in ins
    if x['type'] == 'DEADENTRY': assert x['key_xdr'] in dead"
(cd bk && "$bin" dump "$L1") >dump-l1.jsonl
golden dump-l1.jsonl dump-l1.jsonl
"$bin" dump "$L2.gz" >dump-gz.jsonl
check "dump of the gzipped bucket is the same" cmp dump.jsonl dump-gz.jsonl
"$bin" dump --decode "bk/$L2" >decode.jsonl
check "dump --decode: the JSON of each entry has its key's account and last_modified" python3 -c "
import json
for l in open('decode.jsonl'):
    x = json.loads(l)
    if x['type'] == 'METAENTRY': assert x['json']['ledgerVersion'] == x['protocol']; continue
    if 'entry' not in x: continue
    j = x['json']; assert j['lastModifiedLedgerSeq'] == x['last_modified']
    if x['entry_type'] == 'ACCOUNT':
        assert j['data']['account']['accountID'] == x['key']['account']['accountID']"
# a record in the middle with a bad type: the dump stops there, lines whole
python3 -c "
b = bytearray(open('bk/$L2', 'rb').read())
# the 5th record's type field
pos = 0
for i in range(5): pos += 4 + (int.from_bytes(b[pos:pos + 4], 'big') & 0x7fffffff)
b[pos + 7] = 9
open('badtype.xdr', 'wb').write(b)"
status 1 "dump of a bucket whose 6th record has a bad type" "$bin" dump badtype.xdr
check "the dump printed the 5 records before it, whole, and named the file" sh -c \
    "[ \$(wc -l <'$tmp/out') -eq 5 ] && python3 -c 'import json,sys; [json.loads(l) for l in open(\"$tmp/out\")]' &&
     grep -q 'badtype.xdr' '$tmp/err'"
head -c 3001 "bk/$L2" >trunc.xdr
status 1 "inspect of a truncated bucket" "$bin" inspect trunc.xdr
check "the error names the file" grep -q "trunc.xdr" "$tmp/err"
head -c 4096 /dev/urandom >garbage.xdr
status 1 "inspect of random bytes" "$bin" inspect garbage.xdr
status 1 "dump of random bytes" "$bin" dump garbage.xdr
status 1 "inspect of a missing file" "$bin" inspect nonexistent.xdr

# ---- verify ----
gzip -n -c "bk/$L1" >"bk/$L1.gz"
echo "not a bucket" >bk/README
"$bin" verify bk >verify.txt 2>verify.err
vs=$?
check "verify of a directory of good buckets: exit 0, no progress output when piped" \
    sh -c "[ $vs -eq 0 ] && [ ! -s verify.err ]"
golden verify.txt verify.txt
check "verify lists each bucket file once (11 files, not README)" \
    sh -c "[ \$(grep -c '^ok bk/bucket-' verify.txt) -eq 11 ] && ! grep -q README verify.txt"
"$bin" verify --json bk >verify.jsonl
check "verify --json: one JSON object per file, all ok" python3 -c "
import json
v = [json.loads(l) for l in open('verify.jsonl')]
assert len(v) == 11 and all(x['ok'] for x in v)"
mkdir vbad
python3 -c "
b = bytearray(open('bk/$L2', 'rb').read()); b[len(b) // 2] ^= 0x10
open('vbad/$L2', 'wb').write(b)"
head -c $(($(wc -c <"bk/$L1.gz") / 2)) "bk/$L1.gz" >"vbad/$L1.gz"
status 1 "verify of a bit-flipped bucket" "$bin" verify "vbad/$L2"
check "it names the file and the hash mismatch" grep -q "^FAILED vbad/$L2: .*SHA-256" "$tmp/out"
status 1 "verify of a truncated .gz" "$bin" verify "vbad/$L1.gz"
check "it names the file and the truncation" grep -q "^FAILED vbad/$L1.gz: .*truncated gzip" "$tmp/out"
status 1 "verify of a directory with both and a good file" sh -c "cp bk/$L1 vbad/ && '$bin' verify vbad"
check "two FAILED lines, one ok" sh -c \
    "[ \$(grep -c '^FAILED' '$tmp/out') -eq 2 ] && [ \$(grep -c '^ok' '$tmp/out') -eq 1 ]"
status 1 "verify of a file not named like a bucket" "$bin" verify renamed.xdr
# progress: on a terminal only
check "verify draws a progress bar when stderr is a terminal" python3 -c "
import os, pty, subprocess
m, s = pty.openpty()
p = subprocess.run(['$bin', 'verify', 'bk'], stdout=subprocess.DEVNULL, stderr=s)
os.close(s)
out = os.read(m, 65536).decode()
assert p.returncode == 0 and 'verify [' in out and '100%' in out, out"

# ---- merge: the model's merges, redone from the buckets of ledger 520 ----
# level 2's merge started at 520 (a level-1 spill) is committed at 528:
# curr2(528) = merge(curr2(520), snap1(520)); level 1's at 522 likewise
want2=$(level_hash mix-a 528 2 2)
want1=$(level_hash mix-a 522 1 2)
"$bin" merge "bk/$L2" "bk/bucket-$(level_hash mix-a 520 1 3).xdr" --level 2 --protocol 12 -o merged >merge.txt 2>"$tmp/err"
check "merge into level 2 gives the model's curr of level 2 at ledger 528" \
    sh -c "grep -q '^hash  *$want2\$' merge.txt && [ -f merged/bucket-$want2.xdr ]"
sed "s|$tmp/||" merge.txt >merge-rel.txt
golden merge.txt merge-rel.txt
"$bin" merge --json "bk/$L1" "bk/bucket-$(level_hash mix-a 520 0 3).xdr" --level 1 --protocol 12 -o merged >merge1.json 2>"$tmp/err"
check "merge into level 1 gives the model's curr of level 1 at ledger 522 (--json)" python3 -c "
import json; assert json.load(open('merge1.json'))['hash'] == '$want1'"
gzip -n -c "bk/$L2" >"$tmp/old.xdr.gz"
"$bin" merge old.xdr.gz "bk/bucket-$(level_hash mix-a 520 1 3).xdr" --level 2 --protocol 12 -o merged2 >merge-gz.txt 2>"$tmp/err"
check "the same merge from a gzipped input; no temporary file left" \
    sh -c "grep -q '^hash  *$want2\$' merge-gz.txt && [ \$(ls -A merged2 | wc -l) -eq 1 ]"
"$bin" merge /dev/null "bk/$L2" --level 9 --protocol 12 -o merged3 >m9.txt
check "merging the empty bucket with a bucket below level 10 gives that bucket" \
    grep -q "^hash  *$(level_hash mix-a 520 2 2)\$" m9.txt
"$bin" merge /dev/null "bk/$L2" --level 10 --protocol 12 -o merged4 --json >m10.json
check "at level 10 the tombstones go: the output has the input's INIT and LIVE records only" python3 -c "
import json, subprocess
m = json.load(open('m10.json')); f = json.load(open('facts.json'))['record_types']
d = [json.loads(l) for l in subprocess.run(['$bin', 'dump', m['file']], capture_output=True, text=True).stdout.splitlines()]
assert not any(x['type'] == 'DEADENTRY' for x in d)
assert m['records'] == 1 + f['INITENTRY']['records'] + f['LIVEENTRY']['records']"
status 1 "merge of random bytes" "$bin" merge garbage.xdr "bk/$L2" --level 1 --protocol 12 -o merged5
status 1 "merge into a path that is a file" "$bin" merge "bk/$L2" "bk/$L1" --level 2 --protocol 12 -o p520.jsonl
check "... saying so" grep -q "p520.jsonl" "$tmp/err"
status 1 "merge above the given protocol" "$bin" merge "bk/$L2" "bk/$L1" --level 2 --protocol 11 -o merged5

# ---- key: StrKeys and the JSON key form ----
check "the test's StrKey encoder agrees with stellar-base" $facts strkey-check "$vec/ledger.json"
check "every key of the vectors: base64 -> JSON -> the same XDR (ambiguous SCError arms named by discriminant)" python3 -c "
import base64, json, subprocess
d = json.load(open('$vec/ledger.json'))
keys = [(e['name'], e['key']) for e in d['entries']] + [(k['name'], k['key']) for k in d['keys']]
fix = {'cd/error/wasm-arith': 'SCE_WASM_VM', 'cd/error/auth-2': 'SCE_AUTH', 'cd/error/auth-7': 'SCE_AUTH'}
for name, hx in keys:
    b64 = base64.b64encode(bytes.fromhex(hx)).decode()
    r = subprocess.run(['$bin', 'key', b64], capture_output=True, text=True, check=True)
    j = json.dumps(json.loads(r.stdout)['key'])
    if name in fix: j = j.replace('{\"code\":', '{\"%s\":' % fix[name], 1).replace('{\"code\": ', '{\"%s\": ' % fix[name], 1)
    r = subprocess.run(['$bin', 'key', j], capture_output=True, text=True)
    assert r.returncode == 0, (name, r.stderr)
    assert json.loads(r.stdout)['xdr'] == b64, name
assert len(keys) > 300"
check "{\"account\": G...} from stellar-base's StrKeys gives each account's key" python3 -c "
import base64, json, subprocess
for e in json.load(open('$vec/ledger.json'))['entries']:
    if e['type'] != 'ACCOUNT': continue
    r = subprocess.run(['$bin', 'key', json.dumps({'account': e['account_strkey']})], capture_output=True, text=True, check=True)
    assert base64.b64decode(json.loads(r.stdout)['xdr']).hex() == e['key'], e['name']"
$facts trustline-keys "$vec/ledger.json" >tl.txt
check "trustline short forms (native, alphanum4/12, pool) give the vectors' keys" python3 -c "
import base64, json, subprocess
n = 0
for l in open('tl.txt'):
    hx, j = l.split(' ', 1)
    r = subprocess.run(['$bin', 'key', j.strip()], capture_output=True, text=True, check=True)
    assert base64.b64decode(json.loads(r.stdout)['xdr']).hex() == hx, j; n += 1
assert n >= 15, n"
acct=$(python3 -c "import json; print(json.load(open('$vec/ledger.json'))['entries'][0]['account_strkey'])")
bad_crc=$(echo "$acct" | sed 's/.$/A/')
[ "$bad_crc" = "$acct" ] && bad_crc=$(echo "$acct" | sed 's/.$/B/')
status 2 "a StrKey with a bad checksum" "$bin" key "{\"account\":\"$bad_crc\"}"
status 2 "a contract StrKey where an account is needed" "$bin" key \
    '{"account":"CCJWQP22JJTDW63H7AUJNZXTJ4DOKGIEZRKZIFNQWU5ZUS54RTLRS7MX"}'
status 2 "a lowercase StrKey" "$bin" key "{\"account\":\"$(echo "$acct" | tr A-Z a-z)\"}"
status 2 "a short StrKey" "$bin" key "{\"account\":\"$(echo "$acct" | cut -c1-55)\"}"
status 2 "a key that is neither JSON nor base64" "$bin" key 'not a key!'
status 2 "base64 of something that is not a LedgerKey" "$bin" key AAAAAQ==
"$bin" key "{\"account\":\"$acct\"}" >key.txt
golden key.txt key.txt

# ---- get: accounts the batches left alive, deleted, or never wrote ----
$facts accounts p520.jsonl >accounts.json
check "get finds every live account at its newest version, and no deleted one" python3 -c "
import json, subprocess
acc = json.load(open('accounts.json'))
alive = [k for k, v in acc.items() if v]; dead = [k for k, v in acc.items() if not v]
assert len(alive) >= 10 and len(dead) >= 10
for k in alive + dead[:10]:
    r = subprocess.run(['$bin', 'get', 'store', json.dumps({'account': k})], capture_output=True, text=True)
    if acc[k]:
        assert r.returncode == 0, (k, r.stderr)
        g = json.loads(r.stdout)
        assert g['entry'] == acc[k] and g['ledger'] == 520 and g['key']['account']['accountID'] == k
    else:
        assert r.returncode == 1 and 'not found' in r.stderr, (k, r.returncode, r.stderr)"
b64key=$("$bin" key "{\"account\":\"$acct\"}" | python3 -c "import json,sys; print(json.load(sys.stdin)['xdr'])")
status 1 "get of an account the batches never wrote (base64 key)" "$bin" get store "$b64key"
status 1 "get --hot of an account (the hot archive list is empty)" "$bin" get --hot store "$b64key"
status 1 "get on a directory that is not a store" "$bin" get bk "$b64key"
check "... which leaves no lock file there" sh -c "[ ! -e bk/bucketdb.lock ]"
status 2 "get with a bad key" "$bin" get store '{"account":"G"}'

# ---- stats ----
"$bin" stats store >stats.txt 2>"$tmp/err"
sed '/^read side/,$d' stats.txt >stats-top.txt
golden stats.txt stats-top.txt
check "stats: each level's curr and snap hash is the model's at ledger 520" sh -c "
    for l in 0 1 2 3 4 5 6 7 8 9 10; do
        for f in 2 3; do
            w=\$(awk -v n=520 -v l=\"  L\$l\" -v f=\$f '\$1 == n && NF == 2 { s = 1; next }
                s && index(\$0, l \" \") == 1 { print \$f; exit }' '$vec/batches/mix-a.expected')
            [ \$f = 2 ] && b=curr || b=snap
            grep -q \"^  L\$l  *\$b  \$w \" stats.txt || exit 1
        done
    done"
"$bin" stats --json store >stats.json 2>"$tmp/err"
check "stats --json: records per bucket and entries by type equal the decoder's counts of the files" python3 -c "
import json, subprocess
s = json.load(open('stats.json'))
tot = {}
for lv in s['live']['levels']:
    for b in ('curr', 'snap'):
        x = lv[b]
        if x['hash'] == '0' * 64: assert x['records'] == 0; continue
        f = json.loads(subprocess.run(['python3', '$top_srcdir/tests/tools/cli_facts.py', 'count',
                                       'store/bucket-%s.xdr' % x['hash']], capture_output=True, text=True).stdout)
        assert (x['records'], x['bytes'], x['protocol']) == (f['records'], f['bytes'], f['protocol'])
        for k, v in f['all_types'].items(): tot[k] = tot.get(k, 0) + v
e = {k: v['records'] for k, v in s['live']['entries'].items()}
e['CONTRACT_DATA'] = e.pop('CONTRACT_DATA_TEMPORARY') + e.pop('CONTRACT_DATA_PERSISTENT')
assert {k: v for k, v in e.items() if v} == tot, (e, tot)
assert s['ledger'] == 520 and s['hash'] == '$(awk '$1 == 520 && NF == 2 { print $2 }' "$vec/batches/mix-a.expected")'"

# ---- get and stats open the store read-only ----
# a store with pending merges (ledger 520 started some) and files a
# writable open removes: the directory stays exactly as it is
printf 'left by a crash' >store/.tmp-cli-test
stray=bucket-$(printf 'ab%.0s' $(seq 32)).xdr
printf 'not a bucket' >"store/$stray"
# name, size, mtime, ctime, inode and SHA-256 of every file; the directory's times
snap() {
    (cd "$1" && for f in $(ls -A | LC_ALL=C sort); do
        stat -c '%n %s %y %z %i' "$f" && sha256sum <"$f" || return 1
    done && stat -c '. %y %z' .)
}
snap store >snap0
alive=$(python3 -c "import json; print(next(k for k, v in json.load(open('accounts.json')).items() if v))")
check "get, get --hot, a failed get, stats and stats --json on the store" sh -c "
    '$bin' get store '{\"account\":\"$alive\"}' || exit 1
    '$bin' get --hot store '$b64key'; [ \$? -eq 1 ] || exit 1
    '$bin' get store '$b64key'; [ \$? -eq 1 ] || exit 1
    '$bin' stats store && '$bin' stats --json --cutoff-mb 0 store"
snap store >snap1
if cmp -s snap0 snap1; then
    ok "... leave every file of the store (names, sizes, times, inodes, contents) as it was"
else
    diff snap0 snap1 | head -5 >"$tmp/err"
    not_ok "get and stats changed the store directory"
fi
check "... with its leftovers (a temporary file, an unreferenced bucket) still there" \
    test -f store/.tmp-cli-test -a -f "store/$stray"
# a process holding the store for writing (replay waiting for its input)
mkfifo hold
"$bin" replay --no-fsync --dir store <hold >/dev/null 2>"$tmp/replay.err" &
writer=$!
exec 3>hold
# (polling the lock file, not the store: a get or stats running as the
# writer opens would keep it out)
i=0
while [ $i -lt 100 ] && [ "$(cat store/bucketdb.lock)" != "$writer" ]; do
    sleep 0.1
    i=$((i + 1))
done
"$bin" stats store >/dev/null 2>"$tmp/err"
check "stats while another process has the store open for writing: refused, naming that process" \
    grep -q "in use by process $writer" "$tmp/err"
status 1 "get while it is open for writing" "$bin" get store "$b64key"
check "... naming the writer too" grep -q "in use by process $writer" "$tmp/err"
exec 3>&-
wait $writer
ws=$?
check "the writer's (writable) open removed the leftovers that get and stats kept" \
    test $ws -eq 0 -a ! -e store/.tmp-cli-test -a ! -e "store/$stray"

# ---- index ----
levels=""
for l in 0 1 2 3 4; do for f in 2 3; do levels="$levels $(level_hash mix-a 520 $l $f)"; done; done
"$bin" index store >idx0.txt 2>"$tmp/err"
check "index with the default cutoff: every level bucket is exact, no index file" sh -c "
    for h in $levels; do grep -q \"^exact  *bucket-\$h.xdr \" idx0.txt || exit 1; done
    ! ls store | grep -q '\.index\$'"
"$bin" index --cutoff-mb 0 store >idx1.txt 2>"$tmp/err"
check "index --cutoff-mb 0: an index file written for every level bucket" sh -c "
    for h in $levels; do
        grep -q \"^wrote  *bucket-\$h.index \" idx1.txt && [ -s store/bucket-\$h.index ] || exit 1
    done; grep -q ' 0 failed\$' idx1.txt"
"$bin" index --cutoff-mb 0 store >idx2.txt 2>idx2.err
check "a second run keeps them, and prints nothing on a piped stderr" sh -c "
    for h in $levels; do grep -q \"^kept  *bucket-\$h.index \" idx2.txt || exit 1; done
    [ ! -s idx2.err ]"
check "index draws a progress bar when stderr is a terminal" python3 -c "
import os, pty, subprocess
m, s = pty.openpty()
p = subprocess.run(['$bin', 'index', '--cutoff-mb', '0', 'store'], stdout=subprocess.DEVNULL, stderr=s)
os.close(s)
out = os.read(m, 65536).decode()
assert p.returncode == 0 and 'index [' in out and '100%' in out, out"
h2=$(level_hash mix-a 520 2 2)
printf 'not an index' >"store/bucket-$h2.index"
"$bin" index --cutoff-mb 0 store >idx3.txt 2>"$tmp/err"
check "a damaged index file is replaced, with the reason" \
    grep -q "^replaced bucket-$h2.index .*(.*bucket-$h2.index.*)" idx3.txt
"$bin" index --cutoff-mb 0 --page-exponent 12 store >idx4.txt 2>"$tmp/err"
check "another page size makes them invalid: replaced" sh -c "
    for h in $levels; do grep -q \"^replaced bucket-\$h.index (.*4096-byte pages)\" idx4.txt || exit 1; done"
"$bin" index --cutoff-mb 0 --page-exponent 12 --rebuild store >idx5.txt 2>"$tmp/err"
check "--rebuild rewrites valid ones" sh -c "
    for h in $levels; do grep -q \"^replaced bucket-\$h.index \" idx5.txt || exit 1; done"
"$bin" stats --json --cutoff-mb 0 store >stats0.json 2>"$tmp/err"
check "stats with the same cutoff: every file page-indexed" python3 -c "
import json; r = json.load(open('stats0.json'))['read']
assert r['files_exact'] == 0 and r['files_paged'] == 10, r"
check "the store still replays on from ledger 521 with the model's hashes" sh -c "
    tail -n +521 '$vec/batches/mix-a.jsonl' | head -n 40 >p2.jsonl &&
    '$bin' replay --no-fsync --levels --dir store p2.jsonl >r2.out &&
    awk '\$1 >= 521 && NF == 2 { s = 1 } \$1 > 560 && NF == 2 { s = 0 } s' '$vec/batches/mix-a.expected' | cmp - r2.out"

# ---- the hot archive: mix-a to ledger 996 (hot batches from 778) ----
head -n 996 "$vec/batches/mix-a.jsonl" >p996.jsonl
"$bin" replay --no-fsync --dir hot p996.jsonl >/dev/null 2>"$tmp/err"
"$bin" stats --json hot >hot0.json 2>"$tmp/err"
hh() { python3 -c "import json; print(json.load(open('$1'))['hot']['levels'][$2]['$3']['hash'])"; }
hc1=$(hh hot0.json 1 curr)
hs0=$(hh hot0.json 0 snap)
mkdir hbk
cp "hot/bucket-$hc1.xdr" "hot/bucket-$hs0.xdr" hbk/
$facts count "hbk/bucket-$hc1.xdr" >hfacts.json
"$bin" inspect --json "hbk/bucket-$hc1.xdr" >hinspect.json
check "inspect of a hot-archive bucket: its list, record types and counts are the decoder's" python3 -c "
import json
i = json.load(open('hinspect.json')); f = json.load(open('hfacts.json'))
assert f['hot'] and i['list'] == 'hot-archive' and i['hash'] == f['hash'] and i['records'] == f['records']
assert set(i['record_types']) == {'HOT_ARCHIVE_METAENTRY', 'HOT_ARCHIVE_ARCHIVED', 'HOT_ARCHIVE_LIVE'}
for k, v in i['record_types'].items(): assert v == f['record_types'].get(k, {'records': 0, 'bytes': 0}), k
for k, v in i['entry_types'].items(): assert v == f['entry_types'].get(k, {'records': 0, 'bytes': 0}), k
assert f['record_types']['HOT_ARCHIVE_ARCHIVED']['records'] > 0"
"$bin" dump "hbk/bucket-$hc1.xdr" >hdump.jsonl
$facts records "hbk/bucket-$hc1.xdr" >hrecords.txt
check "dump of a hot-archive bucket: records as decoded, entries archived and keys restored by the batches" python3 -c "
import json
arch, rest = set(), set()
for l in open('p996.jsonl'):
    b = json.loads(l); arch.update(b.get('hot_archived', [])); rest.update(b.get('hot_restored', []))
d = [json.loads(l) for l in open('hdump.jsonl')]
r = [l.split() for l in open('hrecords.txt')]
assert len(d) == len(r)
for x, (off, t, b64) in zip(d, r):
    assert x['offset'] == int(off) and x['type'] == t
    if t == 'HOT_ARCHIVE_ARCHIVED': assert x['entry'] == b64 and b64 in arch
    if t == 'HOT_ARCHIVE_LIVE': assert x['key_xdr'] == b64 and b64 in rest"
$facts code p996.jsonl >code.json
check "get and get --hot find contract code as the batches left it in the live and hot lists" python3 -c "
import json, subprocess
st = json.load(open('code.json'))
assert sum(1 for v in st.values() if v['hot']) >= 10 and sum(1 for v in st.values() if v['live']) >= 3
for h, v in st.items():
    for hot in ('hot', 'live'):
        r = subprocess.run(['$bin', 'get'] + (['--hot'] if hot == 'hot' else []) +
                           ['hot', json.dumps({'contractCode': {'hash': h}})], capture_output=True, text=True)
        if v[hot]:
            assert r.returncode == 0, (h, hot, r.stderr)
            g = json.loads(r.stdout); assert g['entry'] == v[hot], (h, hot)
            assert g['type'] == ('HOT_ARCHIVE_ARCHIVED' if hot == 'hot' else g['type'])
        else:
            assert r.returncode == 1, (h, hot)"
# level 1's hot merge started at 996 is committed at 998: the replayed
# store's curr of hot level 1 then is that merge's output
"$bin" merge --json "hbk/bucket-$hc1.xdr" "hbk/bucket-$hs0.xdr" --level 1 --protocol 23 -o hmerged >hmerge.json 2>"$tmp/err"
sed -n 997,998p "$vec/batches/mix-a.jsonl" >p998.jsonl
"$bin" replay --no-fsync --dir hot p998.jsonl >/dev/null 2>"$tmp/err"
"$bin" stats --json hot >hot1.json 2>"$tmp/err"
check "a hot-archive merge into level 1 equals the store's own merge (curr of hot level 1 at 998)" python3 -c "
import json
m = json.load(open('hmerge.json')); s = json.load(open('hot1.json'))
assert m['hash'] == s['hot']['levels'][1]['curr']['hash'] and m['records'] > 1, (m, s['hot']['levels'][1])"
status 1 "merge of a live and a hot-archive bucket" "$bin" merge "bk/$L2" "hbk/bucket-$hs0.xdr" --level 1 --protocol 23 -o merged6
check "... naming both kinds" grep -q "hot-archive" "$tmp/err"

echo "1..$n"
exit $fail
