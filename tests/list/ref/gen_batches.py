#!/usr/bin/env python3
"""Random ledger-batch generator for the BucketList reference model.

Writes JSON Lines to stdout, one ledger per line:

  {"ledger": L, "protocol": P, "init": [b64 LedgerEntry...], "live": [...],
   "dead": [b64 LedgerKey...], "hot_archived": [b64 LedgerEntry...],
   "hot_restored": [b64 LedgerKey...]}

The two hot_* fields are present exactly when the previous ledger's protocol
is >= 23 (stellar-core feeds the hot archive only for ledgers whose
pre-upgrade protocol is >= 23).

Ledger 1 is genesis: protocol 0, init = [root account].  The generator tracks
the live set so that within one ledger no key appears twice across
init/live/dead, init only creates keys that are not live, live/dead only
touch live keys.  Created entries are always passed as "init", also below
protocol 11 (stellar-core's callers do the same; fresh() turns them into
LIVEENTRY there).

Everything is encoded here by hand from the XDR definitions
(Stellar-ledger-entries.x, Stellar-contract.x, Stellar-types.x); the
encodings were checked by decoding and re-encoding every record with
@stellar/stellar-base (see check_xdr.js).  Only arms that stellar-base 15
knows are used (no SCV_EXECUTABLE_TAG, no CONTRACT_EXECUTABLE_EXTERNAL_REF).

stdlib only.  Deterministic for a given --seed/--ledgers/--profile.
"""

import argparse
import base64
import hashlib
import json
import random
import struct
import sys

# ---------------------------------------------------------------------------
# XDR primitives


def u32(v):
    return struct.pack('>I', v)


def i32(v):
    return struct.pack('>i', v)


def u64(v):
    return struct.pack('>Q', v)


def i64(v):
    return struct.pack('>q', v)


def xbool(b):
    return u32(1 if b else 0)


def pad(n):
    return b'\x00' * ((4 - n % 4) % 4)


def opaque_fixed(b, n):
    assert len(b) == n
    return b + pad(n)


def opaque_var(b, maxlen=None):
    if maxlen is not None:
        assert len(b) <= maxlen
    return u32(len(b)) + b + pad(len(b))


string = opaque_var


def optional(enc):
    return u32(0) if enc is None else u32(1) + enc


def array(items, maxlen=None):
    if maxlen is not None:
        assert len(items) <= maxlen
    return u32(len(items)) + b''.join(items)


EXT0 = i32(0)  # ExtensionPoint / "union switch (int v) { case 0: void; }"

# ---------------------------------------------------------------------------
# ed25519 public key from a seed (RFC 8032), only used for the root account.

_P = 2 ** 255 - 19
_Q = 2 ** 252 + 27742317777372353535851937790883648493
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_I = pow(2, (_P - 1) // 4, _P)


def _xrecover(y):
    xx = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    x = pow(xx, (_P + 3) // 8, _P)
    if (x * x - xx) % _P != 0:
        x = (x * _I) % _P
    if x % 2 != 0:
        x = _P - x
    return x


_BY = (4 * pow(5, _P - 2, _P)) % _P
_B = (_xrecover(_BY), _BY)


def _edwards_add(p, q):
    x1, y1 = p
    x2, y2 = q
    t = _D * x1 * x2 * y1 * y2
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, _P - 2, _P)
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, _P - 2, _P)
    return (x3 % _P, y3 % _P)


def _scalarmult(p, e):
    r = (0, 1)
    while e:
        if e & 1:
            r = _edwards_add(r, p)
        p = _edwards_add(p, p)
        e >>= 1
    return r


def ed25519_public_key(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], 'little')
    a &= (1 << 254) - 8
    a |= 1 << 254
    x, y = _scalarmult(_B, a)
    enc = y | ((x & 1) << 255)
    return enc.to_bytes(32, 'little')


NETWORK_PASSPHRASE = b'Standalone Network ; February 2017'
GENESIS_TOTAL_COINS = 1000000000000000000

# ---------------------------------------------------------------------------
# Type encoders

ACCOUNT, TRUSTLINE, OFFER, DATA, CLAIMABLE_BALANCE, LIQUIDITY_POOL, \
    CONTRACT_DATA, CONTRACT_CODE, CONFIG_SETTING, TTL = range(10)


def account_id(pk):
    return i32(0) + opaque_fixed(pk, 32)  # PUBLIC_KEY_TYPE_ED25519


def enc_asset(a):
    """a: None (native) | ('an4', code4, issuer) | ('an12', code12, issuer)"""
    if a is None:
        return i32(0)
    if a[0] == 'an4':
        return i32(1) + opaque_fixed(a[1], 4) + account_id(a[2])
    if a[0] == 'an12':
        return i32(2) + opaque_fixed(a[1], 12) + account_id(a[2])
    raise ValueError(a)


def enc_tl_asset(a):
    if a[0] == 'pool':
        return i32(3) + opaque_fixed(a[1], 32)
    assert a is not None  # native trustlines are not allowed
    return enc_asset(a)


# SCVal (Stellar-contract.x).  Built as bytes directly.
def scv_bool(b):
    return i32(0) + xbool(b)


def scv_void():
    return i32(1)


def scv_error_contract(code):
    return i32(2) + i32(0) + u32(code)       # SCE_CONTRACT: uint32 contractCode


def scv_error_code(etype, code):
    return i32(2) + i32(etype) + i32(code)   # other arms: SCErrorCode


def scv_u32(v):
    return i32(3) + u32(v)


def scv_i32(v):
    return i32(4) + i32(v)


def scv_u64(v):
    return i32(5) + u64(v)


def scv_i64(v):
    return i32(6) + i64(v)


def scv_timepoint(v):
    return i32(7) + u64(v)


def scv_duration(v):
    return i32(8) + u64(v)


def scv_u128(hi, lo):
    return i32(9) + u64(hi) + u64(lo)


def scv_i128(hi, lo):
    return i32(10) + i64(hi) + u64(lo)


def scv_u256(a, b, c, d):
    return i32(11) + u64(a) + u64(b) + u64(c) + u64(d)


def scv_i256(a, b, c, d):
    return i32(12) + i64(a) + u64(b) + u64(c) + u64(d)


def scv_bytes(b):
    return i32(13) + opaque_var(b)


def scv_string(s):
    return i32(14) + string(s)


def scv_symbol(s):
    return i32(15) + string(s, 32)


def scv_vec(items):
    """items: None (absent SCVec*) or list of encoded SCVal."""
    return i32(16) + optional(None if items is None else array(items))


def scv_map(pairs):
    return i32(17) + optional(None if pairs is None else
                              array([k + v for k, v in pairs]))


def sc_address_account(pk):
    return i32(0) + account_id(pk)


def sc_address_contract(h):
    return i32(1) + opaque_fixed(h, 32)


def sc_address_muxed(mid, pk):
    return i32(2) + u64(mid) + opaque_fixed(pk, 32)


def sc_address_cb(h):
    return i32(3) + i32(0) + opaque_fixed(h, 32)


def sc_address_pool(h):
    return i32(4) + opaque_fixed(h, 32)


def scv_address(addr):
    return i32(18) + addr


def scv_instance(wasm_hash, storage):
    # ContractExecutable: WASM=0 Hash | STELLAR_ASSET=1 void
    exe = i32(1) if wasm_hash is None else i32(0) + opaque_fixed(wasm_hash, 32)
    st = None if storage is None else array([k + v for k, v in storage])
    return i32(19) + exe + optional(st)


def scv_ledger_key_instance():
    return i32(20)


def scv_nonce(n):
    return i32(21) + i64(n)


# ---------------------------------------------------------------------------
# Keys.  A key is described by a hashable "params" tuple:
#   (ACCOUNT, pk) (TRUSTLINE, pk, asset) (OFFER, pk, offerID) (DATA, pk, name)
#   (CLAIMABLE_BALANCE, h) (LIQUIDITY_POOL, h)
#   (CONTRACT_DATA, contract_addr_bytes, key_scval_bytes, durability)
#   (CONTRACT_CODE, h) (CONFIG_SETTING, id) (TTL, keyhash)


def key_xdr(p):
    t = p[0]
    if t == ACCOUNT:
        body = account_id(p[1])
    elif t == TRUSTLINE:
        body = account_id(p[1]) + enc_tl_asset(p[2])
    elif t == OFFER:
        body = account_id(p[1]) + i64(p[2])
    elif t == DATA:
        body = account_id(p[1]) + string(p[2], 64)
    elif t == CLAIMABLE_BALANCE:
        body = i32(0) + opaque_fixed(p[1], 32)
    elif t == LIQUIDITY_POOL:
        body = opaque_fixed(p[1], 32)
    elif t == CONTRACT_DATA:
        body = p[1] + p[2] + i32(p[3])
    elif t == CONTRACT_CODE:
        body = opaque_fixed(p[1], 32)
    elif t == CONFIG_SETTING:
        body = i32(p[1])
    elif t == TTL:
        body = opaque_fixed(p[1], 32)
    else:
        raise ValueError(p)
    return i32(t) + body


def is_soroban(p):
    return p[0] in (CONTRACT_DATA, CONTRACT_CODE)


def is_persistent(p):
    return p[0] == CONTRACT_CODE or (p[0] == CONTRACT_DATA and p[3] == 1)


def ttl_params(p):
    return (TTL, hashlib.sha256(key_xdr(p)).digest())


def h32(tag, n):
    return hashlib.sha256(b'%s-%d' % (tag, n)).digest()


# ---------------------------------------------------------------------------
# Entry bodies (random non-key fields, fixed key fields)


class Bodies:
    def __init__(self, rng, accounts):
        self.rng = rng
        self.accounts = accounts

    def rand_pk(self):
        return self.rng.choice(self.accounts)

    def rand_asset(self, allow_native=True):
        r = self.rng
        k = r.randrange(3 if allow_native else 2)
        if allow_native and k == 2:
            return None
        if k == 0:
            return ('an4', r.choice([b'USD\x00', b'EUR\x00', b'BTC\x00',
                                     b'USDC', b'A\x00\x00\x00']),
                    self.rand_pk())
        return ('an12', r.choice([b'LONGASSET\x00\x00\x00',
                                  b'ABCDEFGHIJKL', b'USDC5\x00\x00\x00\x00\x00\x00\x00']),
                self.rand_pk())

    def signer(self):
        r = self.rng
        kt = r.randrange(3)  # ED25519, PRE_AUTH_TX, HASH_X
        return i32(kt) + bytes(r.getrandbits(8) for _ in range(32)) + u32(r.randrange(1, 256))

    def account(self, pk, root=False):
        r = self.rng
        if root:
            return (account_id(pk) + i64(GENESIS_TOTAL_COINS) + i64(0) + u32(0)
                    + optional(None) + u32(0) + string(b'', 32)
                    + bytes([1, 0, 0, 0]) + array([]) + EXT0)
        nsig = r.choice([0, 0, 0, 1, 2, 3])
        signers = [self.signer() for _ in range(nsig)]
        infl = account_id(self.rand_pk()) if r.random() < 0.3 else None
        home = r.choice([b'', b'example.com', b'stellar.org', b'x' * 32, b'ab'])
        out = (account_id(pk) + i64(r.randrange(0, 10 ** 15)) + i64(r.randrange(0, 2 ** 40))
               + u32(r.randrange(0, 50)) + optional(infl) + u32(r.randrange(0, 16))
               + string(home, 32) + bytes([r.randrange(256) for _ in range(4)])
               + array(signers, 20))
        v = r.randrange(4)
        if v == 0:
            return out + EXT0
        liab = i64(r.randrange(0, 10 ** 9)) + i64(r.randrange(0, 10 ** 9))
        if v == 1:
            return out + i32(1) + liab + EXT0
        spons = [optional(account_id(self.rand_pk()) if r.random() < 0.5 else None)
                 for _ in range(nsig)]
        v2 = u32(r.randrange(10)) + u32(r.randrange(10)) + array(spons, 20)
        if v == 2:
            v2 += EXT0
        else:
            v2 += i32(3) + EXT0 + u32(r.randrange(2 ** 32)) + u64(r.randrange(2 ** 63))
        return out + i32(1) + liab + i32(2) + v2

    def trustline(self, pk, asset):
        r = self.rng
        out = (account_id(pk) + enc_tl_asset(asset) + i64(r.randrange(0, 10 ** 12))
               + i64(r.randrange(10 ** 12, 2 ** 63)) + u32(r.randrange(8)))
        v = r.randrange(3)
        if v == 0:
            return out + EXT0
        liab = i64(r.randrange(10 ** 6)) + i64(r.randrange(10 ** 6))
        if v == 1:
            return out + i32(1) + liab + EXT0
        return out + i32(1) + liab + i32(2) + i32(r.randrange(0, 5)) + EXT0

    def offer(self, pk, oid):
        r = self.rng
        return (account_id(pk) + i64(oid) + enc_asset(self.rand_asset())
                + enc_asset(self.rand_asset()) + i64(r.randrange(1, 10 ** 10))
                + i32(r.randrange(1, 2 ** 31)) + i32(r.randrange(1, 2 ** 31))
                + u32(r.randrange(2)) + EXT0)

    def data(self, pk, name):
        r = self.rng
        val = bytes(r.getrandbits(8) for _ in range(r.randrange(0, 65)))
        return account_id(pk) + string(name, 64) + opaque_var(val, 64) + EXT0

    def claimable_balance(self, h):
        r = self.rng
        claimants = []
        for _ in range(r.randrange(1, 4)):
            if r.random() < 0.5:
                pred = i32(0)                                   # UNCONDITIONAL
            else:
                pred = i32(4) + i64(r.randrange(-2 ** 40, 2 ** 40))  # BEFORE_ABSOLUTE_TIME
            claimants.append(i32(0) + account_id(self.rand_pk()) + pred)
        out = (i32(0) + opaque_fixed(h, 32) + array(claimants, 10)
               + enc_asset(self.rand_asset()) + i64(r.randrange(1, 10 ** 12)))
        if r.random() < 0.5:
            return out + EXT0
        return out + i32(1) + EXT0 + u32(r.randrange(2))

    def liquidity_pool(self, h):
        r = self.rng
        # pool parameters are a function of the pool id (immutable)
        pr = random.Random(h)
        a = ('an4', b'USD\x00', self.accounts[pr.randrange(len(self.accounts))])
        b = ('an12', b'LONGASSET\x00\x00\x00', self.accounts[pr.randrange(len(self.accounts))])
        params = enc_asset(None if pr.random() < 0.3 else a) + enc_asset(b) + i32(30)
        return (opaque_fixed(h, 32) + i32(0) + params + i64(r.randrange(10 ** 12))
                + i64(r.randrange(10 ** 12)) + i64(r.randrange(10 ** 12))
                + i64(r.randrange(1000)))

    def scval_value(self, key):
        r = self.rng
        if key == scv_ledger_key_instance():
            storage = None
            if r.random() < 0.6:
                storage = [(scv_symbol(b'k%d' % j), scv_u64(r.randrange(2 ** 64)))
                           for j in range(r.randrange(0, 4))]
            wasm = None if r.random() < 0.3 else h32(b'wasm', r.randrange(8))
            return scv_instance(wasm, storage)
        k = r.randrange(8)
        if k == 0:
            return scv_i128(r.randrange(-2 ** 63, 2 ** 63), r.randrange(2 ** 64))
        if k == 1:
            return scv_u32(r.randrange(2 ** 32))
        if k == 2:
            return scv_bytes(bytes(r.getrandbits(8) for _ in range(r.randrange(0, 40))))
        if k == 3:
            return scv_string(b'value-%d' % r.randrange(10 ** 6))
        if k == 4:
            return scv_map([(scv_symbol(b'amount'), scv_i128(0, r.randrange(2 ** 64))),
                            (scv_symbol(b'flag'), scv_bool(r.random() < 0.5))])
        if k == 5:
            return scv_vec([scv_u32(r.randrange(100)) for _ in range(r.randrange(0, 4))])
        if k == 6:
            return scv_address(sc_address_account(self.rand_pk()))
        return scv_void()

    def contract_data(self, contract, key, durability):
        return EXT0 + contract + key + i32(durability) + self.scval_value(key)

    def contract_code(self, h):
        r = self.rng
        code = bytes(r.getrandbits(8) for _ in range(r.randrange(0, 120)))
        if r.random() < 0.5:
            ext = EXT0
        else:
            ext = i32(1) + EXT0 + EXT0 + b''.join(u32(r.randrange(1000)) for _ in range(10))
        return ext + opaque_fixed(h, 32) + opaque_var(code)

    def config_setting(self, cid):
        r = self.rng
        if cid in (0, 8, 9):    # CONTRACT_MAX_SIZE_BYTES, DATA_KEY_SIZE, DATA_ENTRY_SIZE
            return i32(cid) + u32(r.randrange(1, 2 ** 20))
        if cid == 12:           # LIVE_SOROBAN_STATE_SIZE_WINDOW: uint64<>
            return i32(cid) + array([u64(r.randrange(2 ** 40)) for _ in range(r.randrange(0, 6))])
        if cid == 13:           # EVICTION_ITERATOR
            return i32(cid) + u32(r.randrange(11)) + xbool(r.random() < 0.5) + u64(r.randrange(2 ** 32))
        raise ValueError(cid)

    def ttl(self, h, ledger):
        return opaque_fixed(h, 32) + u32(ledger + self.rng.randrange(1, 100000))

    def body(self, p, ledger):
        t = p[0]
        if t == ACCOUNT:
            return self.account(p[1])
        if t == TRUSTLINE:
            return self.trustline(p[1], p[2])
        if t == OFFER:
            return self.offer(p[1], p[2])
        if t == DATA:
            return self.data(p[1], p[2])
        if t == CLAIMABLE_BALANCE:
            return self.claimable_balance(p[1])
        if t == LIQUIDITY_POOL:
            return self.liquidity_pool(p[1])
        if t == CONTRACT_DATA:
            return self.contract_data(p[1], p[2], p[3])
        if t == CONTRACT_CODE:
            return self.contract_code(p[1])
        if t == CONFIG_SETTING:
            return self.config_setting(p[1])
        if t == TTL:
            return self.ttl(p[1], ledger)
        raise ValueError(p)

    def entry(self, p, ledger):
        r = self.rng
        body = self.body(p, ledger)
        if r.random() < 0.15:   # LedgerEntryExtensionV1 with optional sponsor
            ext = i32(1) + optional(account_id(self.rand_pk()) if r.random() < 0.7 else None) + EXT0
        else:
            ext = EXT0
        return u32(ledger) + i32(p[0]) + body + ext


# ---------------------------------------------------------------------------
# Key pools (the interesting orderings are in here)

OFFER_IDS = [0, 1, 2, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31,
             2 ** 32, 2 ** 63 - 1, -1, -2, -128, -255, -256, -2 ** 31, -2 ** 63,
             -2 ** 63 + 1, 0x0100000000000000, -0x0100000000000000]

DATA_NAMES = [b'a', b'aa', b'ab', b'abc', b'abcd', b'abcde', b'b', b'ba', b'bb',
              b'b\x7e', b'Z', b'config', b'x1', b'x' * 63, b'x' * 64, b'a' * 4,
              b'a' * 5, b'ab' * 10]

CD_SYMBOLS = [b'a', b'ab', b'abc', b'b', b'Balance', b'Allowance', b'Admin',
              b'Metadata', b'z' * 32, b'A']


def make_cd_keys(accounts):
    ks = [scv_u32(0), scv_u32(1), scv_u32(5), scv_u32(0xffffffff),
          scv_i32(-1), scv_i32(1), scv_i32(-2 ** 31), scv_i32(7), scv_i32(2 ** 31 - 1),
          scv_i64(-1), scv_i64(1), scv_i64(-2 ** 63), scv_i64(2 ** 40), scv_i64(-2 ** 40),
          scv_u64(3), scv_u64(2 ** 64 - 1),
          scv_bytes(b''), scv_bytes(b'\x00'), scv_bytes(b'\x00\x00'), scv_bytes(b'\x01'),
          scv_bytes(b'\xff' * 5), scv_bytes(b'\x01\x02\x03\x04'),
          scv_vec([scv_u32(5), scv_u32(5)]), scv_vec([scv_u32(7)]), scv_vec([]), scv_vec(None),
          scv_vec([scv_symbol(b'Balance'), scv_address(sc_address_account(accounts[0]))]),
          scv_vec([scv_symbol(b'Allowance'), scv_address(sc_address_contract(h32(b'c', 0)))]),
          scv_vec([scv_symbol(b'Balance'), scv_address(sc_address_contract(h32(b'c', 1)))]),
          scv_vec([scv_i32(-3), scv_bytes(b'ab')]),
          scv_ledger_key_instance(),
          scv_nonce(-1), scv_nonce(1), scv_nonce(-5), scv_nonce(2 ** 62),
          scv_bool(False), scv_bool(True), scv_void(),
          scv_i128(-1, 5), scv_i128(0, 5), scv_i128(-2 ** 63, 0), scv_u128(0, 1), scv_u128(1, 0),
          scv_i256(-1, 0, 0, 1), scv_u256(0, 0, 0, 9),
          scv_string(b'ab'), scv_string(b'b'), scv_timepoint(100), scv_duration(7),
          scv_error_contract(7), scv_error_code(3, 2),
          scv_map([(scv_symbol(b'k'), scv_u32(1))]), scv_map(None),
          scv_address(sc_address_account(accounts[1])),
          scv_address(sc_address_contract(h32(b'c', 2))),
          scv_address(sc_address_muxed(5, accounts[2])),
          scv_address(sc_address_cb(h32(b'cb', 0))),
          scv_address(sc_address_pool(h32(b'lp', 0)))]
    ks += [scv_symbol(s) for s in CD_SYMBOLS]
    return ks


class Profile:
    def __init__(self, name):
        self.name = name
        if name == 'mix':
            self.upgrades = {1: 0, 5: 10, 301: 11, 512: 12, 777: 23, 1000: 25}
            self.n_create = (0, 5)
            self.n_update = (0, 4)
            self.n_delete = (0, 3)
            self.n_hot = 4
            self.n_flap = 2
            self.p_short = 0.3
            self.big_every = 150
            self.big = (100, 50, 40)
            self.archive = (0, 2)
            self.restore = (0, 1)
            self.quiet_runs = [(40, 47), (600, 611)]
            self.p_quiet = 0.03
        elif name == 'churn':
            self.upgrades = {1: 0, 2: 10, 64: 11, 97: 12, 160: 23, 450: 25}
            self.n_create = (2, 10)
            self.n_update = (1, 6)
            self.n_delete = (1, 8)
            self.n_hot = 6
            self.n_flap = 5
            self.p_short = 0.5
            self.big_every = 90
            self.big = (150, 60, 80)
            self.archive = (0, 3)
            self.restore = (0, 2)
            self.quiet_runs = [(70, 80), (300, 317)]
            self.p_quiet = 0.02
        else:
            raise SystemExit('unknown profile %r (mix, churn)' % name)

    def protocol_at(self, ledger):
        p = 0
        for l, v in sorted(self.upgrades.items()):
            if ledger >= l:
                p = v
        return p


class IndexedSet:
    """Set with O(1) add/remove and uniform random choice (deterministic)."""

    def __init__(self):
        self.items = []
        self.pos = {}

    def add(self, x):
        if x not in self.pos:
            self.pos[x] = len(self.items)
            self.items.append(x)

    def remove(self, x):
        i = self.pos.pop(x)
        last = self.items.pop()
        if i < len(self.items):
            self.items[i] = last
            self.pos[last] = i

    def __contains__(self, x):
        return x in self.pos

    def __len__(self):
        return len(self.items)

    def choice(self, rng):
        return self.items[rng.randrange(len(self.items))]


class Generator:
    def __init__(self, seed, profile):
        self.rng = random.Random(seed)
        self.prof = profile
        r = self.rng
        crafted = [b'\x00' * 32, b'\xff' * 32, b'\x00' * 31 + b'\x01',
                   b'\x80' + b'\x00' * 31, b'\x7f' + b'\xff' * 31]
        self.accounts = crafted + [bytes(r.getrandbits(8) for _ in range(32)) for _ in range(35)]
        self.root = ed25519_public_key(hashlib.sha256(NETWORK_PASSPHRASE).digest())
        self.bodies = Bodies(r, self.accounts)
        self.contracts = [sc_address_contract(b'\x00' * 32), sc_address_contract(b'\xff' * 32),
                          sc_address_contract(h32(b'contract', 1)),
                          sc_address_account(self.accounts[3])]
        self.cd_keys = make_cd_keys(self.accounts)
        self.issuers = self.accounts[:6]
        self.live = {}                # key bytes -> (params, entry bytes)
        self.pick = IndexedSet()      # live keys eligible for random update/delete
        self.archived = {}            # key bytes -> params (in the hot archive, not live)
        self.archived_set = IndexedSet()
        self.archived_entry = {}      # key bytes -> archived LedgerEntry bytes
        self.restored_once = set()
        self.short = {}               # ledger -> [key bytes] scheduled deletes
        self.hot = []                 # params of keys updated every ledger
        self.flap = []                # params of keys toggled every ledger
        self.config_ids = [0, 8, 9, 12, 13]
        self.fresh_counter = 0

    # -- key choice ---------------------------------------------------------

    def random_params(self):
        """A key from a finite pool (so keys get re-created after deletion)
        or, now and then, a brand-new one."""
        r = self.rng
        t = r.choices([ACCOUNT, TRUSTLINE, OFFER, DATA, CLAIMABLE_BALANCE,
                       LIQUIDITY_POOL, CONTRACT_DATA, CONTRACT_CODE],
                      weights=[14, 14, 14, 12, 6, 5, 25, 6])[0]
        fresh = r.random() < 0.15
        if fresh:
            self.fresh_counter += 1
        n = self.fresh_counter
        if t == ACCOUNT:
            pk = hashlib.sha256(b'acct-%d' % n).digest() if fresh else r.choice(self.accounts)
            return (ACCOUNT, pk)
        if t == TRUSTLINE:
            pk = r.choice(self.accounts[:12])
            k = r.randrange(4)
            if k == 0:
                a = ('an4', r.choice([b'USD\x00', b'USDC', b'EUR\x00', b'U\x00\x00\x00']), r.choice(self.issuers))
            elif k == 1:
                a = ('an12', r.choice([b'LONGASSET\x00\x00\x00', b'LONGASSETX\x00\x00', b'ABCDEFGHIJKL']),
                     r.choice(self.issuers))
            else:
                a = ('pool', h32(b'lp', r.randrange(12)))
            return (TRUSTLINE, pk, a)
        if t == OFFER:
            pk = r.choice(self.accounts[:6])
            oid = r.randrange(-2 ** 63, 2 ** 63) if fresh else r.choice(OFFER_IDS)
            return (OFFER, pk, oid)
        if t == DATA:
            pk = r.choice(self.accounts[:8])
            name = (b'n%d' % n) if fresh else r.choice(DATA_NAMES)
            return (DATA, pk, name)
        if t == CLAIMABLE_BALANCE:
            return (CLAIMABLE_BALANCE, h32(b'cb', n + 1000 if fresh else r.randrange(25)))
        if t == LIQUIDITY_POOL:
            return (LIQUIDITY_POOL, h32(b'lp', n + 1000 if fresh else r.randrange(16)))
        if t == CONTRACT_DATA:
            c = r.choice(self.contracts)
            key = scv_u64(n) if fresh else r.choice(self.cd_keys)
            return (CONTRACT_DATA, c, key, r.randrange(2))
        return (CONTRACT_CODE, h32(b'code', n + 1000 if fresh else r.randrange(16)))

    # -- batch building -----------------------------------------------------

    def start_batch(self, ledger):
        self.ledger = ledger
        self.init, self.upd, self.dead = [], [], []
        self.hot_arch, self.hot_rest = [], []
        self.touched = set()

    def can_create(self, p):
        kb = key_xdr(p)
        if kb in self.live or kb in self.touched or kb in self.archived:
            return False
        if is_soroban(p):
            tk = key_xdr(ttl_params(p))
            if tk in self.live or tk in self.touched:
                return False
        return True

    def _put(self, p, lst):
        kb = key_xdr(p)
        e = self.bodies.entry(p, self.ledger)
        lst.append(e)
        self.live[kb] = (p, e)
        self.touched.add(kb)
        return kb

    def create(self, p, pickable=True):
        assert self.can_create(p)
        kb = self._put(p, self.init)
        if is_soroban(p):
            self._put(ttl_params(p), self.init)
        if pickable:
            self.pick.add(kb)
        return kb

    def update(self, kb):
        p = self.live[kb][0]
        assert kb not in self.touched
        self._put(p, self.upd)
        if is_soroban(p) and self.rng.random() < 0.5:
            self._put(ttl_params(p), self.upd)

    def _kill(self, kb):
        self.dead.append(kb)
        del self.live[kb]
        self.touched.add(kb)
        if kb in self.pick:
            self.pick.remove(kb)

    def delete(self, kb):
        p = self.live[kb][0]
        assert kb not in self.touched
        self._kill(kb)
        if is_soroban(p):
            tk = key_xdr(ttl_params(p))
            assert tk in self.live and tk not in self.touched
            self._kill(tk)

    def archive(self, kb):
        """Eviction of a persistent Soroban entry: full entry to the hot
        archive, entry and TTL deleted from the live list."""
        p, e = self.live[kb]
        assert is_persistent(p)
        self.hot_arch.append(e)
        self.delete(kb)
        self.archived[kb] = p
        self.archived_entry[kb] = e
        self.archived_set.add(kb)

    def restore(self, kb):
        p = self.archived.pop(kb)
        del self.archived_entry[kb]
        self.archived_set.remove(kb)
        self.hot_rest.append(kb)
        self.create(p)
        self.restored_once.add(kb)

    def untouched_live(self, kb):
        return kb in self.live and kb not in self.touched

    def random_live(self, pred=None, tries=30):
        for _ in range(tries):
            if not len(self.pick):
                return None
            kb = self.pick.choice(self.rng)
            if kb in self.touched:
                continue
            if pred is not None and not pred(self.live[kb][0]):
                continue
            return kb
        return None

    def random_create(self):
        for _ in range(30):
            p = self.random_params()
            if self.can_create(p):
                return self.create(p)
        return None

    # -- one ledger ---------------------------------------------------------

    def genesis(self):
        self.start_batch(1)
        p = (ACCOUNT, self.root)
        kb = key_xdr(p)
        e = u32(1) + i32(ACCOUNT) + self.bodies.account(self.root, root=True) + EXT0
        self.init.append(e)
        self.live[kb] = (p, e)
        self.root_key = kb

    def ledger_batch(self, ledger, prev_protocol):
        r = self.rng
        prof = self.prof
        self.start_batch(ledger)
        hot_fields = prev_protocol >= 23

        # quiet ledgers (no transactions): nothing changes at all, so level 0
        # gets an empty bucket below protocol 11 and a META-only one from 11
        quiet = any(a <= ledger <= b for a, b in prof.quiet_runs) or \
            (ledger > 2 and r.random() < prof.p_quiet)
        if quiet:
            if ledger in self.short:
                self.short.setdefault(ledger + 1, []).extend(self.short.pop(ledger))
            return hot_fields

        if ledger == 2:
            # hot keys: created once, then rewritten every ledger
            hot = [(ACCOUNT, self.accounts[0]), (OFFER, self.accounts[2], -7),
                   (CONTRACT_DATA, self.contracts[2], scv_symbol(b'hot'), 1),
                   (TRUSTLINE, self.accounts[4], ('an4', b'HOT\x00', self.accounts[5])),
                   (ACCOUNT, self.accounts[1]), (ACCOUNT, self.accounts[-1]),
                   (DATA, self.accounts[6], b'hot'),
                   (CONTRACT_DATA, self.contracts[0], scv_nonce(-99), 0)][:prof.n_hot]
            for p in hot:
                self.create(p, pickable=False)
            self.hot = hot
            for cid in self.config_ids:
                self.create((CONFIG_SETTING, cid), pickable=False)
            self.flap = [(CONTRACT_DATA, self.contracts[1], scv_i32(-42), 0),
                         (ACCOUNT, self.accounts[7]), (OFFER, self.accounts[7], -2 ** 63),
                         (DATA, self.accounts[7], b'flap'), (CONTRACT_CODE, h32(b'flapcode', 0))][:prof.n_flap]
        else:
            for p in self.hot:
                self.update(key_xdr(p))
            # flappers: created on even ledgers, deleted on odd ones
            for p in self.flap:
                kb = key_xdr(p)
                if kb in self.live:
                    if ledger % 2 == 1 or r.random() < 0.2:
                        self.delete(kb)
                elif self.can_create(p) and (ledger % 2 == 0 or r.random() < 0.2):
                    self.create(p, pickable=False)
            if ledger % 7 == 0 and self.untouched_live(self.root_key):
                self.update(self.root_key)
            if ledger % 11 == 0:
                kb = key_xdr((CONFIG_SETTING, r.choice(self.config_ids)))
                self.update(kb)

        # scheduled short-lived deletions (create+delete churn)
        for kb in self.short.pop(ledger, []):
            if kb in self.live and kb in self.pick:
                if kb in self.touched:
                    self.short.setdefault(ledger + 1, []).append(kb)
                else:
                    self.delete(kb)

        if hot_fields:
            for _ in range(r.randint(*prof.archive) + (5 if r.random() < 0.05 else 0)):
                # prefer previously restored keys now and then (archive again)
                kb = None
                if self.restored_once and r.random() < 0.3:
                    cands = [k for k in sorted(self.restored_once)
                             if k in self.pick and k not in self.touched]
                    if cands:
                        kb = r.choice(cands)
                if kb is None:
                    kb = self.random_live(is_persistent, tries=60)
                if kb is not None:
                    self.archive(kb)
            for _ in range(r.randint(*prof.restore)):
                if len(self.archived_set):
                    kb = self.archived_set.choice(r)
                    p = self.archived[kb]
                    tk = key_xdr(ttl_params(p))
                    if kb not in self.touched and tk not in self.touched and tk not in self.live:
                        self.restore(kb)

        big = ledger % prof.big_every == prof.big_every // 2
        nc = prof.big[0] if big else r.randint(*prof.n_create)
        nu = prof.big[1] if big else r.randint(*prof.n_update)
        nd = prof.big[2] if big else r.randint(*prof.n_delete)
        for _ in range(nc):
            kb = self.random_create()
            if kb is not None and r.random() < prof.p_short:
                self.short.setdefault(ledger + r.randint(1, 6), []).append(kb)
        for _ in range(nu):
            kb = self.random_live()
            if kb is not None:
                self.update(kb)
        for _ in range(nd):
            kb = self.random_live()
            if kb is not None:
                self.delete(kb)
        return hot_fields


def b64(b):
    return base64.b64encode(b).decode('ascii')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seed', type=int, required=True)
    ap.add_argument('--ledgers', type=int, required=True)
    ap.add_argument('--profile', default='mix')
    a = ap.parse_args()
    prof = Profile(a.profile)
    g = Generator(a.seed, prof)
    out = sys.stdout
    prev = None
    for ledger in range(1, a.ledgers + 1):
        proto = prof.protocol_at(ledger)
        if ledger == 1:
            assert proto == 0
            g.genesis()
            hot = False
        else:
            assert proto >= prev
            hot = g.ledger_batch(ledger, prev)
        rec = {'ledger': ledger, 'protocol': proto,
               'init': [b64(e) for e in g.init],
               'live': [b64(e) for e in g.upd],
               'dead': [b64(k) for k in g.dead]}
        if hot:
            rec['hot_archived'] = [b64(e) for e in g.hot_arch]
            rec['hot_restored'] = [b64(k) for k in g.hot_rest]
        out.write(json.dumps(rec, separators=(',', ':')) + '\n')
        prev = proto


if __name__ == '__main__':
    main()
