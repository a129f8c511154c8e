#!/usr/bin/env python3
"""Writes the seed corpus of request_path_fuzz (tests/fuzz/corpus/request_path_fuzz/).

Each seed is the fuzz target's input format (tests/fuzz/request_path_fuzz.cc): a config byte,
then records [selector][2-byte big-endian length][a serialized larder.v1 request]. Requests are
encoded here by hand (protobuf wire format: varints and length-delimited fields), so this needs
nothing but Python 3. Run from anywhere; it rewrites the non-regression seeds only:

    python3 tests/fuzz/make_request_path_seeds.py
"""
import os

GET, SET, DELETE, TOUCH, MULTI_GET, MULTI_SET, INVALIDATE, STATS = range(8)
ADVANCE, SWEEP, FORGET = 8, 9, 10


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1  # negative int64 as two's complement, as protobuf does
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_bytes(number, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(number << 3 | 2) + varint(len(data)) + data


def field_varint(number, value):
    return varint(number << 3) + varint(value)


def duration(seconds, nanos=0):
    return (field_varint(1, seconds) if seconds else b"") + (field_varint(2, nanos) if nanos else b"")


def get(ns, key, if_none_match=None):
    return field_bytes(1, ns) + field_bytes(2, key) + (
        field_bytes(3, if_none_match) if if_none_match else b"")


def set_(ns, key, value, ttl=None, if_match=None, if_absent=False, tags=()):
    out = field_bytes(1, ns) + field_bytes(2, key) + field_bytes(3, value)
    if ttl is not None:
        out += field_bytes(4, duration(*ttl))
    if if_match:
        out += field_bytes(5, if_match)
    if if_absent:
        out += field_varint(6, 1)
    for tag in tags:
        out += field_bytes(7, tag)
    return out


def key_request(ns, key, ttl=None):
    out = field_bytes(1, ns) + field_bytes(2, key)
    return out + (field_bytes(3, duration(*ttl)) if ttl is not None else b"")


def multi_get(ns, keys):
    return field_bytes(1, ns) + b"".join(field_bytes(2, k) for k in keys)


def multi_set(ns, entries):
    return field_bytes(1, ns) + b"".join(field_bytes(2, e) for e in entries)


def invalidate(ns, all_=None, prefix=None, pattern=None, tag=None):
    out = field_bytes(1, ns)
    if all_ is not None:
        out += field_varint(2, 1 if all_ else 0)
    if prefix is not None:
        out += field_bytes(3, prefix)
    if pattern is not None:
        out += field_bytes(4, pattern)
    if tag is not None:
        out += field_bytes(5, tag)
    return out


def stats(ns=""):
    return field_bytes(1, ns) if ns else b""


def record(selector, payload=b"", length=None):
    if length is None:
        length = len(payload)
    return bytes([selector]) + length.to_bytes(2, "big") + payload


def seed(config, *records):
    return bytes([config]) + b"".join(records)


SEEDS = {
    "set_then_get": seed(
        0, record(SET, set_("users", "42", "hello", tags=["t1"])),
        record(GET, get("users", "42")), record(GET, get("users", "42", "*")),
        record(GET, get("users", "missing")), record(STATS, stats("users")), record(STATS)),
    "ttl_and_clock": seed(
        1, record(SET, set_("s", "k", "v", ttl=(5, 0))), record(SET, set_("s", "d", "default")),
        record(GET, get("s", "k")), record(ADVANCE, length=600), record(GET, get("s", "k")),
        record(TOUCH, key_request("s", "d", ttl=(1, 500000000))), record(ADVANCE, length=200),
        record(SWEEP), record(GET, get("s", "d")), record(STATS, stats("s"))),
    "batches": seed(
        0, record(MULTI_SET, multi_set("b", [set_("", "k%d" % i, "value-%d" % i) for i in range(6)])),
        record(MULTI_GET, multi_get("b", ["k0", "k1", "k1", "nope", "k5"])),
        record(MULTI_SET, multi_set("b", [set_("b", "k0", "again"), set_("", "k0", "x", if_absent=True)])),
        record(MULTI_GET, multi_get("b", ["k0"]))),
    "eviction": seed(
        0, record(MULTI_SET, multi_set("e", [set_("", "k%03d" % i, "v") for i in range(130)])),
        record(MULTI_GET, multi_get("e", ["k%03d" % i for i in range(0, 130, 7)])),
        record(SET, set_("e", "last", "w" * 900)), record(GET, get("e", "last")), record(STATS)),
    "invalidate": seed(
        0, record(MULTI_SET, multi_set("i", [
            set_("", "user:1", "a", tags=["red"]), set_("", "user:2", "b", tags=["red", "blue"]),
            set_("", "post:1", "c", tags=["blue"]), set_("", "post:22", "d")])),
        record(INVALIDATE, invalidate("i", prefix="user:")),
        record(INVALIDATE, invalidate("i", pattern="post:?")),
        record(INVALIDATE, invalidate("i", tag="blue")), record(GET, get("i", "post:22")),
        record(INVALIDATE, invalidate("i", all_=True)), record(STATS, stats("i"))),
    "conditional": seed(
        0, record(SET, set_("c", "k", "one", if_absent=True)),
        record(SET, set_("c", "k", "two", if_absent=True)),
        record(SET, set_("c", "k", "three", if_match="*")),
        record(SET, set_("c", "k", "four", if_match='"nope", W/"x"')),
        record(TOUCH, key_request("c", "k")), record(DELETE, key_request("c", "k")),
        record(DELETE, key_request("c", "k")), record(SET, set_("c", "k", "five", if_match="*"))),
    "refused": seed(
        0, record(SET, set_("bad ns!", "k", "v")), record(SET, set_("ns", "", "v")),
        record(SET, set_("ns", "k", "x" * 1100)), record(SET, set_("ns", "k", "v", tags=["t"] * 33)),
        record(SET, set_("ns", "k", "v", ttl=(-1, 0))),
        record(SET, set_("ns", "k", "v", if_match="*", if_absent=True)),
        record(MULTI_GET, multi_get("ns", [])), record(INVALIDATE, invalidate("ns")),
        record(INVALIDATE, invalidate("ns", all_=False)),
        record(INVALIDATE, invalidate("ns", pattern="*" * 33)), record(STATS, stats("n/s")),
        record(MULTI_SET, multi_set("ns", [set_("other", "k", "v")]))),
    "response_limit": seed(
        4, record(MULTI_SET, multi_set("r", [set_("", "k%d" % i, "z" * 900) for i in range(3)])),
        record(MULTI_GET, multi_get("r", ["k0", "k1", "k2"])),
        record(MULTI_GET, multi_get("r", ["k0", "k0", "k0"])), record(MULTI_GET, multi_get("r", ["k1"]))),
    "max_ttl": seed(
        3, record(SET, set_("t", "k", "v", ttl=(7200, 0))), record(SET, set_("t", "k", "v", ttl=(1800, 5))),
        record(TOUCH, key_request("t", "k", ttl=(7200, 0))), record(TOUCH, key_request("t", "k")),
        record(GET, get("t", "k"))),
    "invalidate_batches": seed(
        16, record(MULTI_SET, multi_set("big", [set_("", "k%03d" % i, "", tags=["t"] if i % 3 == 0 else [])
                                                for i in range(280)])),
        record(INVALIDATE, invalidate("big", pattern="k*9")),
        record(INVALIDATE, invalidate("big", tag="t")), record(INVALIDATE, invalidate("big", prefix="k1")),
        record(STATS, stats("big")),
        record(INVALIDATE, invalidate("big", all_=True))),
    "forget_and_overflow": seed(
        8, *[record(SET, set_("ns%d" % i, "k", "v", ttl=(1, 0))) for i in range(4)],
        *[record(GET, get("ns%d" % i, "k")) for i in range(4)], record(ADVANCE, length=200),
        record(SWEEP), record(FORGET, length=10), record(FORGET, length=10), record(STATS),
        record(STATS, stats("ns3"))),
}


def main():
    corpus = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "request_path_fuzz")
    os.makedirs(corpus, exist_ok=True)
    for name, data in SEEDS.items():
        assert len(data) <= 4096, name
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
