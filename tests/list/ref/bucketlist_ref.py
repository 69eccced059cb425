#!/usr/bin/env python3
"""Independent reference model of stellar-core's BucketList (live + hot archive).

Reads the JSON Lines produced by gen_batches.py on stdin and prints, per
ledger, "<ledger> <bucketListHash hex>" -- the LedgerHeader value: the live
list hash below protocol 23, SHA256(live || hot) from 23 on ("protocol" is
the line's protocol, i.e. the header version after that ledger's upgrades).
With --levels each ledger line is followed by 11 lines
"  L<i> <curr hex> <snap hex>" for the live list.

Written from the bucketdb spec (docs: stellar-bucketlist.md sections 1-5,
6.1, 9.6), not from the C library.  stdlib only.

Model summary
  * Keys: parsed out of the XDR of every record (LedgerEntry -> LedgerKey)
    into nested Python tuples whose tuple order is xdrpp's operator<:
    unions = (signed discriminant, arm), structs = field tuples, signed ints
    as Python ints, opaque/string as bytes (content first, prefix sorts
    first), optional = (0,) | (1, v), arrays = tuples.
  * Buckets are (version, ext, sorted records); hash = SHA-256 over record
    marks + bodies, META first iff version >= 11; zero records = empty
    bucket with the all-zero hash.
  * Merges follow CAP-0020 + pre-12 shadows; merges started at a spill
    ("prepare") are computed eagerly, since they depend only on their inputs.
"""

import argparse
import base64
import hashlib
import json
import struct
import sys

ZERO_HASH = b'\x00' * 32

# BucketEntryType
METAENTRY, LIVEENTRY, DEADENTRY, INITENTRY = -1, 0, 1, 2
# HotArchiveBucketEntryType
HOT_META, HOT_ARCHIVED, HOT_LIVE = -1, 0, 1
# BucketListType
BL_LIVE, BL_HOT = 0, 1

FIRST_PROTOCOL_INIT_META = 11
FIRST_PROTOCOL_SHADOWS_REMOVED = 12
FIRST_PROTOCOL_PERSISTENT_EVICTION = 23

NUM_LEVELS = 11


class MalformedError(Exception):
    pass


# event counters for --stats (what the input exercised); never affect output
STATS = {}


def stat(name, n=1):
    STATS[name] = STATS.get(name, 0) + n


# ---------------------------------------------------------------------------
# XDR reading -> structural sort keys


class Reader:
    __slots__ = ('b', 'p')

    def __init__(self, b, p=0):
        self.b = b
        self.p = p

    def take(self, n):
        p = self.p
        if p + n > len(self.b):
            raise MalformedError('short XDR')
        self.p = p + n
        return self.b[p:p + n]

    def u32(self):
        return struct.unpack('>I', self.take(4))[0]

    def i32(self):
        return struct.unpack('>i', self.take(4))[0]

    def u64(self):
        return struct.unpack('>Q', self.take(8))[0]

    def i64(self):
        return struct.unpack('>q', self.take(8))[0]

    def boolean(self):
        v = self.u32()
        if v > 1:
            raise MalformedError('bad bool')
        return v

    def fixed(self, n):
        return self.take(n)   # all fixed opaques used here are 4/12/32 bytes

    def var(self, maxlen=None):
        n = self.u32()
        if maxlen is not None and n > maxlen:
            raise MalformedError('var opaque too long')
        v = self.take(n)
        padn = (4 - n % 4) % 4
        if self.take(padn) != b'\x00' * padn:
            raise MalformedError('non-zero padding')
        return v

    def optional(self, f):
        flag = self.boolean()
        return (1, f()) if flag else (0,)

    def array(self, f, maxlen=None):
        n = self.u32()
        if maxlen is not None and n > maxlen:
            raise MalformedError('array too long')
        return tuple(f() for _ in range(n))


def rd_public_key(r):
    t = r.i32()
    if t != 0:
        raise MalformedError('PublicKey type %d' % t)
    return (t, r.fixed(32))


def rd_asset(r, trustline):
    t = r.i32()
    if t == 0:
        return (t,)
    if t == 1:
        return (t, (r.fixed(4), rd_public_key(r)))
    if t == 2:
        return (t, (r.fixed(12), rd_public_key(r)))
    if t == 3 and trustline:
        return (t, r.fixed(32))
    raise MalformedError('asset type %d' % t)


def rd_claimable_balance_id(r):
    t = r.i32()
    if t != 0:
        raise MalformedError('ClaimableBalanceID type %d' % t)
    return (t, r.fixed(32))


def rd_sc_address(r):
    t = r.i32()
    if t == 0:
        return (t, rd_public_key(r))
    if t == 1:
        return (t, r.fixed(32))
    if t == 2:   # MuxedEd25519Account {uint64 id; uint256 ed25519}
        return (t, (r.u64(), r.fixed(32)))
    if t == 3:
        return (t, rd_claimable_balance_id(r))
    if t == 4:
        return (t, r.fixed(32))
    raise MalformedError('SCAddress type %d' % t)


def rd_sc_error(r):
    t = r.i32()
    if t == 0:
        return (t, r.u32())            # SCE_CONTRACT: uint32 contractCode
    if 1 <= t <= 9:
        return (t, r.i32())            # SCErrorCode enum
    raise MalformedError('SCError type %d' % t)


def rd_contract_executable(r):
    t = r.i32()
    if t == 0:
        return (t, r.fixed(32))
    if t == 1:
        return (t,)
    if t == 2:   # EXTERNAL_REF {SCAddress executable_owner; string tag}
        return (t, (rd_sc_address(r), r.var()))
    raise MalformedError('ContractExecutable type %d' % t)


def rd_scmap(r):
    return r.array(lambda: (rd_scval(r), rd_scval(r)))


def rd_scval(r):
    t = r.i32()
    if t == 0:
        return (t, r.boolean())
    if t == 1 or t == 20:
        return (t,)
    if t == 2:
        return (t, rd_sc_error(r))
    if t == 3:
        return (t, r.u32())
    if t == 4:
        return (t, r.i32())
    if t in (5, 7, 8):
        return (t, r.u64())
    if t == 6:
        return (t, r.i64())
    if t == 9:
        return (t, (r.u64(), r.u64()))
    if t == 10:
        return (t, (r.i64(), r.u64()))
    if t == 11:
        return (t, (r.u64(), r.u64(), r.u64(), r.u64()))
    if t == 12:
        return (t, (r.i64(), r.u64(), r.u64(), r.u64()))
    if t in (13, 14, 22):
        return (t, r.var())
    if t == 15:
        return (t, r.var(32))
    if t == 16:
        return (t, r.optional(lambda: r.array(lambda: rd_scval(r))))
    if t == 17:
        return (t, r.optional(lambda: rd_scmap(r)))
    if t == 18:
        return (t, rd_sc_address(r))
    if t == 19:
        return (t, (rd_contract_executable(r), r.optional(lambda: rd_scmap(r))))
    if t == 21:
        return (t, r.i64())
    raise MalformedError('SCVal type %d' % t)


def rd_key_fields(r, t, from_entry):
    """Key fields of LedgerKey arm t; reader positioned at the arm (for
    from_entry: at the start of the entry body).  Returns (arm, keybytes)."""
    start = r.p
    if t == 0:
        arm = (rd_public_key(r),)
    elif t == 1:
        arm = (rd_public_key(r), rd_asset(r, True))
    elif t == 2:
        arm = (rd_public_key(r), r.i64())
    elif t == 3:
        arm = (rd_public_key(r), r.var(64))
    elif t == 4:
        arm = (rd_claimable_balance_id(r),)
    elif t == 5:
        arm = (r.fixed(32),)
    elif t == 6:
        if from_entry:
            if r.i32() != 0:                # ContractDataEntry.ext
                raise MalformedError('ContractDataEntry ext')
            start = r.p
        arm = (rd_sc_address(r), rd_scval(r), r.i32())
        if arm[2] not in (0, 1):
            raise MalformedError('durability')
    elif t == 7:
        if from_entry:
            v = r.i32()                     # ContractCodeEntry.ext
            if v == 1:
                r.take(48)                  # ExtensionPoint + ContractCodeCostInputs
            elif v != 0:
                raise MalformedError('ContractCodeEntry ext')
            start = r.p
        arm = (r.fixed(32),)
    elif t == 8:
        arm = (r.i32(),)
    elif t == 9:
        arm = (r.fixed(32),)
    else:
        raise MalformedError('LedgerEntryType %d' % t)
    return arm, r.b[start:r.p]


def key_of_ledger_key(b):
    """LedgerKey XDR -> (sortkey, canonical key bytes)."""
    r = Reader(b)
    t = r.i32()
    arm, kb = rd_key_fields(r, t, False)
    if r.p != len(b):
        raise MalformedError('trailing bytes in LedgerKey')
    return (t, arm), struct.pack('>i', t) + kb


def key_of_ledger_entry(b):
    """LedgerEntry XDR -> (sortkey, LedgerKey bytes, lastModifiedLedgerSeq)."""
    r = Reader(b)
    lm = r.u32()
    t = r.i32()
    arm, kb = rd_key_fields(r, t, True)
    return (t, arm), struct.pack('>i', t) + kb, lm


def is_persistent_key(sk):
    return sk[0] == 7 or (sk[0] == 6 and sk[1][2] == 1)


# ---------------------------------------------------------------------------
# Buckets


class Rec:
    """One non-META record.  etype: BucketEntryType / HotArchiveBucketEntryType
    value; payload: LedgerEntry bytes or LedgerKey bytes."""
    __slots__ = ('sk', 'kb', 'etype', 'payload')

    def __init__(self, sk, kb, etype, payload):
        self.sk = sk
        self.kb = kb
        self.etype = etype
        self.payload = payload

    def with_type(self, etype):
        return Rec(self.sk, self.kb, etype, self.payload)

    def body(self):
        return struct.pack('>i', self.etype) + self.payload


def record(body):
    assert len(body) % 4 == 0 and len(body) < 0x80000000
    return struct.pack('>I', 0x80000000 | len(body)) + body


def meta_body(version, ext):
    b = struct.pack('>iI', -1, version)
    if ext is None:
        return b + struct.pack('>i', 0)
    return b + struct.pack('>ii', 1, ext)


class Bucket:
    """version/ext as in its METAENTRY (version 0, ext None when absent)."""
    __slots__ = ('kind', 'version', 'ext', 'recs', 'hash', 'nbytes', '_keys')

    def __init__(self, kind, version=0, ext=None, recs=(), hash_=ZERO_HASH, nbytes=0):
        self.kind = kind
        self.version = version
        self.ext = ext
        self.recs = list(recs)
        self.hash = hash_
        self.nbytes = nbytes
        self._keys = None

    def is_empty(self):
        return self.hash == ZERO_HASH and not self.recs

    def keyset(self):
        if self._keys is None:
            self._keys = {r.kb for r in self.recs}
        return self._keys

    def file_bytes(self):
        out = []
        if self.version >= FIRST_PROTOCOL_INIT_META:
            out.append(record(meta_body(self.version, self.ext)))
        out += [record(r.body()) for r in self.recs]
        return b''.join(out)


def empty_bucket(kind):
    return Bucket(kind)


def tombstone_type(kind):
    return DEADENTRY if kind == 'live' else HOT_LIVE


def write_bucket(kind, version, ext, recs, keep_tombstones):
    """BucketOutputIterator: META iff version >= 11, tombstones dropped when
    !keep_tombstones, equal adjacent keys collapse to the last one put,
    zero records -> the empty bucket."""
    if kind == 'hot' and version >= FIRST_PROTOCOL_INIT_META:
        assert version >= FIRST_PROTOCOL_PERSISTENT_EVICTION and ext == BL_HOT
    out = []
    tomb = tombstone_type(kind)
    for r in recs:
        if kind == 'live' and version < FIRST_PROTOCOL_INIT_META and r.etype == INITENTRY:
            raise MalformedError('INITENTRY in protocol %d bucket' % version)
        if kind == 'hot' and not (r.sk[0] in (6, 7)):
            raise MalformedError('non-soroban entry in hot archive bucket')
        if not keep_tombstones and r.etype == tomb:
            stat('tombstone dropped at bottom level')
            continue
        if out:
            if r.sk < out[-1].sk:
                raise AssertionError('output out of order')
            if r.sk == out[-1].sk:
                out[-1] = r
                continue
        out.append(r)
    h = hashlib.sha256()
    nbytes = 0
    has_meta = version >= FIRST_PROTOCOL_INIT_META
    if has_meta:
        b = record(meta_body(version, ext))
        h.update(b)
        nbytes += len(b)
    for r in out:
        b = record(r.body())
        h.update(b)
        nbytes += len(b)
    if not has_meta and not out:
        return empty_bucket(kind)
    if has_meta and not out:
        stat('META-only %s bucket v%d' % (kind, version))
    return Bucket(kind, version if has_meta else 0, ext if has_meta else None,
                  out, h.digest(), nbytes)


def sort_unique(recs):
    recs = sorted(recs, key=lambda r: r.sk)
    for a, b in zip(recs, recs[1:]):
        if a.sk == b.sk:
            raise MalformedError('duplicate key in batch')
    return recs


def live_fresh_records(protocol, init, live, dead):
    use_init = protocol >= FIRST_PROTOCOL_INIT_META
    recs = []
    for e in init:
        sk, kb, _ = key_of_ledger_entry(e)
        recs.append(Rec(sk, kb, INITENTRY if use_init else LIVEENTRY, e))
    for e in live:
        sk, kb, _ = key_of_ledger_entry(e)
        recs.append(Rec(sk, kb, LIVEENTRY, e))
    for k in dead:
        sk, kb = key_of_ledger_key(k)
        recs.append(Rec(sk, kb, DEADENTRY, k))
    return sort_unique(recs)


def live_ext(protocol):
    return BL_LIVE if protocol >= FIRST_PROTOCOL_PERSISTENT_EVICTION else None


def live_fresh(protocol, init, live, dead):
    """LiveBucket::fresh (written with keepTombstones = true)."""
    return write_bucket('live', protocol, live_ext(protocol),
                        live_fresh_records(protocol, init, live, dead), True)


def hot_fresh(protocol, archived, restored):
    recs = []
    for e in archived:
        sk, kb, _ = key_of_ledger_entry(e)
        if not is_persistent_key(sk):
            raise MalformedError('archived entry is not persistent soroban')
        recs.append(Rec(sk, kb, HOT_ARCHIVED, e))
    for k in restored:
        sk, kb = key_of_ledger_key(k)
        if not is_persistent_key(sk):
            raise MalformedError('restored key is not persistent soroban')
        recs.append(Rec(sk, kb, HOT_LIVE, k))
    return write_bucket('hot', protocol, BL_HOT, sort_unique(recs), True)


def merge_records(kind, old_recs, new_recs, shadows, keep_lifecycle):
    """mergeInternal: returns the sequence handed to the output iterator."""
    out = []
    shadow_sets = [s.keyset() for s in shadows]

    def maybe_put(r):
        if kind == 'hot':
            out.append(r)
            return
        if keep_lifecycle and r.etype in (INITENTRY, DEADENTRY):
            if shadow_sets and any(r.kb in ks for ks in shadow_sets):
                stat('v11 lifecycle entry kept despite shadow')
            out.append(r)
            return
        for ks in shadow_sets:
            if r.kb in ks:
                stat('shadow elision (%s)' % {0: 'LIVE', 1: 'DEAD', 2: 'INIT'}[r.etype])
                return          # shadowed
        out.append(r)

    i = j = 0
    no, nn = len(old_recs), len(new_recs)
    while i < no or j < nn:
        if j >= nn or (i < no and old_recs[i].sk < new_recs[j].sk):
            maybe_put(old_recs[i])
            i += 1
        elif i >= no or new_recs[j].sk < old_recs[i].sk:
            maybe_put(new_recs[j])
            j += 1
        else:
            o, n = old_recs[i], new_recs[j]
            i += 1
            j += 1
            if kind == 'hot':
                stat('hot equal keys (%d,%d)' % (o.etype, n.etype))
                out.append(n)                       # newer always wins
                continue
            if n.etype == INITENTRY:
                if o.etype != DEADENTRY:
                    raise MalformedError('old non-DEAD + new INIT')
                stat('DEAD+INIT -> LIVE')
                maybe_put(n.with_type(LIVEENTRY))   # DEAD + INIT=x -> LIVE=x
            elif o.etype == INITENTRY:
                if n.etype == LIVEENTRY:
                    stat('INIT+LIVE -> INIT')
                    maybe_put(n.with_type(INITENTRY))  # INIT + LIVE=y -> INIT=y
                else:
                    stat('INIT+DEAD -> nothing')    # INIT + DEAD -> nothing
            else:
                stat('equal keys take new (%s+%s)' % ({0: 'LIVE', 1: 'DEAD'}[o.etype],
                                                      {0: 'LIVE', 1: 'DEAD'}[n.etype]))
                maybe_put(n)
    return out


def merge(kind, old, new, shadows, keep_tombstones, max_protocol):
    """BucketBase::merge (file merge)."""
    protocol = max(old.version, new.version)
    for s in shadows:
        if s.version < FIRST_PROTOCOL_SHADOWS_REMOVED:
            protocol = max(protocol, s.version)
    if protocol > max_protocol:
        raise MalformedError('bucket protocol version %d exceeds max %d' % (protocol, max_protocol))
    keep_lifecycle = True
    if kind == 'live':
        keep_lifecycle = protocol >= FIRST_PROTOCOL_INIT_META
        if protocol >= FIRST_PROTOCOL_SHADOWS_REMOVED and shadows:
            raise MalformedError('Shadows are not supported')
    else:
        shadows = []
    if new.ext is not None:
        ext = new.ext
    elif old.ext is not None:
        ext = old.ext
    else:
        ext = None
    if ext is not None:
        assert max_protocol >= FIRST_PROTOCOL_PERSISTENT_EVICTION
    stat('%s merge v%d%s' % (kind, protocol, ' with shadows' if shadows else ''))
    recs = merge_records(kind, old.recs, new.recs, shadows, keep_lifecycle)
    return write_bucket(kind, protocol, ext, recs, keep_tombstones)


def merge_in_memory(protocol, old_recs, new_recs):
    """LiveBucket::mergeInMemory (level 0): META = {currLedgerProtocol, ext
    v1 LIVE iff >= 23}, no shadows, tombstones kept."""
    keep_lifecycle = protocol >= FIRST_PROTOCOL_INIT_META
    recs = merge_records('live', old_recs, new_recs, [], keep_lifecycle)
    return write_bucket('live', protocol, live_ext(protocol), recs, True)


# ---------------------------------------------------------------------------
# Geometry


def round_down(v, m):
    return v & ~(m - 1)


def level_size(i):
    return 1 << (2 * (i + 1))


def level_half(i):
    return level_size(i) >> 1


def level_should_spill(ledger, i, nlevels=NUM_LEVELS):
    if i == nlevels - 1:
        return False
    return ledger == round_down(ledger, level_half(i)) or ledger == round_down(ledger, level_size(i))


def should_merge_with_empty_curr(ledger, i, nlevels=NUM_LEVELS):
    if i != 0:
        start = round_down(ledger, level_half(i - 1))
        if level_should_spill(start + level_half(i - 1), i, nlevels):
            return True
    return False


def keep_tombstone_entries(i, nlevels=NUM_LEVELS):
    return i < nlevels - 1


# ---------------------------------------------------------------------------
# BucketList


class Level:
    __slots__ = ('curr', 'snap', 'next')

    def __init__(self, kind):
        self.curr = empty_bucket(kind)
        self.snap = empty_bucket(kind)
        self.next = None


class BucketList:
    def __init__(self, kind, nlevels=NUM_LEVELS, trace=None):
        assert kind in ('live', 'hot')
        self.kind = kind
        self.nlevels = nlevels
        self.levels = [Level(kind) for _ in range(nlevels)]
        self.trace = trace      # optional callable(event, ledger, level, info)

    def hash(self):
        h = hashlib.sha256()
        for lev in self.levels:
            h.update(hashlib.sha256(lev.curr.hash + lev.snap.hash).digest())
        return h.digest()

    def _snap(self, i):
        lev = self.levels[i]
        lev.snap = lev.curr
        lev.curr = empty_bucket(self.kind)
        return lev.snap

    def _commit(self, i):
        lev = self.levels[i]
        if lev.next is not None:
            lev.curr = lev.next
            lev.next = None

    def _prepare(self, ledger, protocol, i, snap, shadows):
        lev = self.levels[i]
        assert lev.next is None
        empty_curr = should_merge_with_empty_curr(ledger, i, self.nlevels)
        curr = empty_bucket(self.kind) if empty_curr else lev.curr
        if snap.version >= FIRST_PROTOCOL_SHADOWS_REMOVED:
            shadows = []
        if self.trace:
            self.trace('prepare', ledger, i, 'e' if empty_curr else 'm')
        if empty_curr:
            stat('%s snap-only prepare (level %d)' % (self.kind, i))
        lev.next = merge(self.kind, curr, snap, shadows,
                         keep_tombstone_entries(i, self.nlevels), protocol)

    def add_batch(self, ledger, protocol, *vectors):
        assert ledger > 0
        shadows = []
        for lev in self.levels:
            shadows += [lev.curr, lev.snap]
        del shadows[-2:]
        for i in range(self.nlevels - 1, 0, -1):
            del shadows[-2:]
            if level_should_spill(ledger, i - 1, self.nlevels):
                if self.trace:
                    self.trace('snap', ledger, i - 1, None)
                s = self._snap(i - 1)
                self._commit(i)
                self._prepare(ledger, protocol, i, s, list(shadows))
        assert not shadows
        lev0 = self.levels[0]
        if self.kind == 'live':
            assert not should_merge_with_empty_curr(ledger, 0, self.nlevels)
            init, live, dead = vectors
            fresh = live_fresh_records(protocol, init, live, dead)
            lev0.curr = merge_in_memory(protocol, lev0.curr.recs, fresh)
        else:
            assert protocol >= FIRST_PROTOCOL_PERSISTENT_EVICTION
            archived, restored = vectors
            fresh = hot_fresh(protocol, archived, restored)
            lev0.curr = merge('hot', lev0.curr, fresh, [], keep_tombstone_entries(0, self.nlevels),
                              protocol)


def header_hash(live_hash, hot_hash, protocol):
    if protocol < FIRST_PROTOCOL_PERSISTENT_EVICTION:
        return live_hash
    return hashlib.sha256(live_hash + hot_hash).digest()


def run(lines, out, levels=False):
    live = BucketList('live')
    hot = BucketList('hot')
    prev_protocol = None
    for line in lines:
        line = line.strip()
        if not line:
            continue
        rec = json.loads(line)
        ledger = rec['ledger']
        protocol = rec['protocol']
        has_hot = 'hot_archived' in rec or 'hot_restored' in rec
        # consistency of the input with the interface contract
        if prev_protocol is not None:
            assert protocol >= prev_protocol, 'protocol decreased'
            assert has_hot == (prev_protocol >= FIRST_PROTOCOL_PERSISTENT_EVICTION), \
                'hot_* fields present iff previous protocol >= 23 (ledger %d)' % ledger
        dec = base64.b64decode
        if has_hot:
            hot.add_batch(ledger, protocol,
                          [dec(x) for x in rec.get('hot_archived', [])],
                          [dec(x) for x in rec.get('hot_restored', [])])
        live.add_batch(ledger, protocol,
                       [dec(x) for x in rec['init']],
                       [dec(x) for x in rec['live']],
                       [dec(x) for x in rec['dead']])
        hh = header_hash(live.hash(), hot.hash(), protocol)
        out.write('%d %s\n' % (ledger, hh.hex()))
        if levels:
            for i, lev in enumerate(live.levels):
                out.write('  L%d %s %s\n' % (i, lev.curr.hash.hex(), lev.snap.hash.hex()))
        prev_protocol = protocol
    return live, hot


def main():
    ap = argparse.ArgumentParser(description='BucketList reference model')
    ap.add_argument('--levels', action='store_true',
                    help='print live-list curr/snap hashes of every level')
    ap.add_argument('--stats', action='store_true',
                    help='print counts of merge events to stderr')
    a = ap.parse_args()
    live, hot = run(sys.stdin, sys.stdout, a.levels)
    if a.stats:
        for k in sorted(STATS):
            sys.stderr.write('%8d  %s\n' % (STATS[k], k))
        for name, bl in (('live', live), ('hot', hot)):
            for i, lev in enumerate(bl.levels):
                if lev.curr.recs or lev.snap.recs:
                    sys.stderr.write('%s L%d: curr %d recs v%d, snap %d recs v%d\n' % (
                        name, i, len(lev.curr.recs), lev.curr.version,
                        len(lev.snap.recs), lev.snap.version))


if __name__ == '__main__':
    main()
