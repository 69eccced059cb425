#!/usr/bin/env python3
"""Independent facts for tests/tools/test_cli.sh, computed without the
bucketdb code: bucket files decoded from their record marks (RFC 5531) and
the XDR layout of BucketEntry / LedgerEntry / LedgerKey, StrKeys encoded
from SEP-23 (base32 + CRC16-XModem), and ledger state replayed from the
batch vectors. Python 3 standard library only.

  cli_facts.py count BUCKET          counts, bytes and SHA-256 as JSON
  cli_facts.py records BUCKET        one line per record: type, base64 of its arm
  cli_facts.py strkey-check LEDGER_JSON    our StrKey encoder against stellar-base's
  cli_facts.py accounts JSONL        live accounts after the batches, as JSON
  cli_facts.py code JSONL            CONTRACT_CODE after the batches, live and hot
  cli_facts.py trustline-keys LEDGER_JSON  short-form JSON of each trustline key
"""
import base64
import binascii
import hashlib
import json
import struct
import sys

RECORD_TYPES = {-1: "METAENTRY", 0: "LIVEENTRY", 1: "DEADENTRY", 2: "INITENTRY"}
# after a METAENTRY whose BucketMetadata ext v1 says HOT_ARCHIVE (1)
HOT_TYPES = {-1: "HOT_ARCHIVE_METAENTRY", 0: "HOT_ARCHIVE_ARCHIVED", 1: "HOT_ARCHIVE_LIVE"}
ENTRY_TYPES = ["ACCOUNT", "TRUSTLINE", "OFFER", "DATA", "CLAIMABLE_BALANCE", "LIQUIDITY_POOL",
               "CONTRACT_DATA", "CONTRACT_CODE", "CONFIG_SETTING", "TTL"]


def records(data):
    """(offset, body) of each record; raises on bad framing."""
    pos = 0
    while pos < len(data):
        (mark,) = struct.unpack(">I", data[pos:pos + 4])
        assert mark & 0x80000000, "fragment bit"
        n = mark & 0x7FFFFFFF
        body = data[pos + 4:pos + 4 + n]
        assert len(body) == n, "truncated"
        yield pos, body
        pos += 4 + n


def i32(b, off):
    return struct.unpack(">i", b[off:off + 4])[0]


def is_hot(data):
    """BucketMetadata: ledgerVersion, then ext: 1 -> BucketListType."""
    for _, body in records(data):
        return i32(body, 0) == -1 and len(body) >= 16 and i32(body, 8) == 1 and i32(body, 12) == 1
    return False


def count(path):
    data = open(path, "rb").read()
    hot = is_hot(data)
    names = HOT_TYPES if hot else RECORD_TYPES
    out = {"records": 0, "bytes": len(data), "hash": hashlib.sha256(data).hexdigest(),
           "protocol": 0, "hot": hot, "record_types": {}, "entry_types": {}, "all_types": {}}
    for _, body in records(data):
        t = i32(body, 0)
        name = names[t]
        out["records"] += 1
        rt = out["record_types"].setdefault(name, {"records": 0, "bytes": 0})
        rt["records"] += 1
        rt["bytes"] += len(body) + 4
        if t == -1:
            out["protocol"] = struct.unpack(">I", body[4:8])[0]
            continue
        # entries (LIVE, INIT, hot ARCHIVED): type, lastModifiedLedgerSeq,
        # LedgerEntry.data type; tombstones (DEAD, hot LIVE): type, LedgerKey type
        tomb = t == 1  # DEADENTRY and HOT_ARCHIVE_LIVE are both 1
        et = ENTRY_TYPES[i32(body, 8) if not tomb else i32(body, 4)]
        a = out["all_types"].setdefault(et, 0)
        out["all_types"][et] = a + 1
        if not tomb:
            e = out["entry_types"].setdefault(et, {"records": 0, "bytes": 0})
            e["records"] += 1
            e["bytes"] += len(body) + 4
    return out


def strkey(version, payload):
    raw = bytes([version]) + payload
    crc = binascii.crc_hqx(raw, 0)  # CRC16-XModem
    raw += struct.pack("<H", crc)
    return base64.b32encode(raw).decode().rstrip("=")


def account_strkey(key32):
    return strkey(6 << 3, key32)


def main():
    cmd, arg = sys.argv[1], sys.argv[2]
    if cmd == "count":
        print(json.dumps(count(arg), sort_keys=True))
    elif cmd == "records":
        data = open(arg, "rb").read()
        names = HOT_TYPES if is_hot(data) else RECORD_TYPES
        for off, body in records(data):
            t = i32(body, 0)
            print(off, names[t], base64.b64encode(body[4:]).decode())
    elif cmd == "strkey-check":
        d = json.load(open(arg))
        n = 0
        for e in d["entries"]:
            if "account_strkey" not in e or e["type"] != "ACCOUNT":
                continue
            key = bytes.fromhex(e["key"])
            assert account_strkey(key[8:40]) == e["account_strkey"], e["name"]
            n += 1
        assert n > 10
        print(n)
    elif cmd == "accounts":
        # the newest version of each account after the batches: entry or None
        state = {}
        for line in open(arg):
            b = json.loads(line)
            for f in ("init", "live"):
                for x in b.get(f, []):
                    e = base64.b64decode(x)
                    if i32(e, 4) == 0:
                        state[e[12:44]] = x
            for x in b.get("dead", []):
                k = base64.b64decode(x)
                if i32(k, 0) == 0:
                    state[k[8:40]] = None
        print(json.dumps({account_strkey(k): v for k, v in sorted(state.items())}))
    elif cmd == "code":
        # CONTRACT_CODE after the batches, by hash: the newest live entry
        # (None when deleted) and the hot archive's (None when restored)
        def code_hash(e):
            # ContractCodeEntry: ext (v0: void; v1: ExtensionPoint +
            # ContractCodeCostInputs, 4 + 44 bytes), then the hash
            return e[12:44] if i32(e, 8) == 0 else e[60:92]
        live, hot = {}, {}
        for line in open(arg):
            b = json.loads(line)
            for f in ("init", "live"):
                for x in b.get(f, []):
                    e = base64.b64decode(x)
                    if i32(e, 4) == 7:
                        live[code_hash(e)] = x
            for x in b.get("dead", []):
                k = base64.b64decode(x)
                if i32(k, 0) == 7:
                    live[k[4:36]] = None
            for x in b.get("hot_archived", []):
                e = base64.b64decode(x)
                if i32(e, 4) == 7:
                    hot[code_hash(e)] = x
            for x in b.get("hot_restored", []):
                k = base64.b64decode(x)
                if i32(k, 0) == 7:
                    hot[k[4:36]] = None
        print(json.dumps({h.hex(): {"live": live.get(h), "hot": hot.get(h)}
                          for h in sorted(set(live) | set(hot))}))
    elif cmd == "trustline-keys":
        d = json.load(open(arg))
        for e in d["entries"]:
            if e["type"] != "TRUSTLINE":
                continue
            k = bytes.fromhex(e["key"])
            acc = account_strkey(k[8:40])
            at = i32(k, 40)
            if at == 0:
                asset = "native"
            elif at in (1, 2):
                n = 4 if at == 1 else 12
                code = k[44:44 + n].rstrip(b"\0")
                if b"\0" in code or not code.isalnum():
                    continue  # not expressible as a short-form code
                asset = {"code": code.decode(), "issuer": account_strkey(k[48 + n:80 + n])}
                if (len(code) <= 4) != (at == 1):
                    continue  # a short code in an alphanum12: only the long form has it
            else:
                asset = {"pool": k[44:76].hex()}
            print(e["key"], json.dumps({"trustline": {"account": acc, "asset": asset}}))


if __name__ == "__main__":
    main()
