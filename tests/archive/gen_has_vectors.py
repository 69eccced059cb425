#!/usr/bin/env python3
"""Writes has-v1.json and has-v2.json, the HAS test vectors of test_has.c.

Python's json.dumps(indent=4, ensure_ascii=False) lays a document out as
stellar-core's cereal JSONOutputArchive does (4-space indent, "key": value,
empty arrays as [], no final newline; checked against stellar-core's
src/history/serialize-tests files), so these files are an independent
statement of the layout that bdbi_has_write must reproduce byte for byte.
Member order is cereal's. Hashes are SHA-256 of labels so the test can
recompute them. Run from this directory."""
import hashlib
import json


def h(label):
    return hashlib.sha256(label.encode()).hexdigest()


ZERO = "0" * 64


def level(tag, i, state, n_shadows=0, zero=False):
    nxt = {"state": state}
    if state == 1:
        nxt["output"] = h(f"{tag}-out-{i}")
    elif state == 2:
        nxt["curr"] = h(f"{tag}-ncurr-{i}")
        nxt["snap"] = h(f"{tag}-nsnap-{i}")
        nxt["shadow"] = [h(f"{tag}-shadow-{i}-{j}") for j in range(n_shadows)]
    return {
        "curr": ZERO if zero else h(f"{tag}-curr-{i}"),
        "next": nxt,
        "snap": ZERO if zero else h(f"{tag}-snap-{i}"),
    }


def levels(tag):
    out = []
    for i in range(11):
        if i == 0:
            out.append(level(tag, i, 0))
        elif i == 10:
            out.append(level(tag, i, 0, zero=True))
        elif i % 3 == 1:
            out.append(level(tag, i, 1))
        elif i % 3 == 2:
            out.append(level(tag, i, 2, n_shadows=(i // 3)))  # 0, 1, 2 shadows
        else:
            out.append(level(tag, i, 0))
    return out


v1 = {
    "version": 1,
    "server": "bucketdb-test v0.1 (\"q\" / é)",
    "currentLedger": 1048575,
    "currentBuckets": levels("live"),
}
v2 = {
    "version": 2,
    "server": "bucketdb-test v0.2",
    "currentLedger": 4294967295,
    "networkPassphrase": "Test SDF Network ; September 2015",
    "currentBuckets": levels("live"),
    "hotArchiveBuckets": levels("hot"),
}
for name, doc in (("has-v1.json", v1), ("has-v2.json", v2)):
    with open(name, "w", encoding="utf-8", newline="") as f:
        f.write(json.dumps(doc, indent=4, ensure_ascii=False))
