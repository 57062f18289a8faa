#!/usr/bin/env python3
"""Regenerate the seed corpora under fuzz/corpus/ from SIP messages.

    python3 fuzz/seeds.py [MESSAGE_FILE...]

Default inputs: tests/data/torture/*.dat (RFC 4475 / RFC 5118) and
benchmarks/corpus/*.sip.
corpus/msg gets the messages themselves; corpus/uri, corpus/nameaddr and
corpus/via get Request-URIs and header URIs, From/To/Contact/Route/
Record-Route/Refer-To/Referred-By elements and Via elements taken from them
(deduplicated, capped so the whole seed set stays small).
"""
import glob
import hashlib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CAPS = {"uri": 40, "nameaddr": 45, "via": 35}
NAMEADDR_HDRS = {"from", "f", "to", "t", "contact", "m", "route", "record-route",
                 "refer-to", "r", "referred-by", "b", "reply-to", "path", "service-route"}


def inputs():
    return (sorted(glob.glob(os.path.join(ROOT, "tests", "data", "torture", "*.dat"))) +
            sorted(glob.glob(os.path.join(ROOT, "benchmarks", "corpus", "*.sip"))))


def header_lines(data):
    head = re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0]
    lines = re.split(rb"\r?\n", head)
    start, out = lines[0], []
    for ln in lines[1:]:
        if ln[:1] in (b" ", b"\t") and out:
            out[-1] += b" " + ln.strip()
        else:
            out.append(ln)
    return start, out


def split_list(v):
    items, cur, q, b, i = [], b"", False, 0, 0
    while i < len(v):
        c = v[i:i + 1]
        if q:
            cur += c
            if c == b"\\" and i + 1 < len(v):
                cur += v[i + 1:i + 2]
                i += 1
            elif c == b'"':
                q = False
        elif c == b'"':
            q = True
            cur += c
        elif c == b"<":
            b += 1
            cur += c
        elif c == b">":
            b = max(0, b - 1)
            cur += c
        elif c == b"," and b == 0:
            items.append(cur.strip())
            cur = b""
        else:
            cur += c
        i += 1
    items.append(cur.strip())
    return [x for x in items if x]


def main():
    files = sys.argv[1:] or inputs()
    seeds = {"msg": {}, "uri": {}, "nameaddr": {}, "via": {}}
    for path in files:
        with open(path, "rb") as fh:
            data = fh.read()
        seeds["msg"][os.path.basename(path)] = data
        start, hdrs = header_lines(data)
        parts = start.split(b" ")
        if len(parts) >= 3 and not start.startswith(b"SIP/"):
            seeds["uri"].setdefault(parts[1], None)
        for ln in hdrs:
            name, sep, value = ln.partition(b":")
            if not sep:
                continue
            name = name.strip().lower().decode("latin-1")
            value = value.strip()
            if name in ("via", "v"):
                for it in split_list(value):
                    seeds["via"].setdefault(it, None)
            elif name in NAMEADDR_HDRS:
                for it in split_list(value):
                    seeds["nameaddr"].setdefault(it, None)
                    m = re.search(rb"<([^>]*)>", it)
                    if m:
                        seeds["uri"].setdefault(m.group(1), None)
    total = 0
    for kind, items in seeds.items():
        d = os.path.join(HERE, "corpus", kind)
        os.makedirs(d, exist_ok=True)
        for f in glob.glob(os.path.join(d, "*")):
            os.remove(f)
        if kind == "msg":
            named = items.items()
        else:
            # prefer variety: distinct shapes first (by length bucket), then cap
            vals = sorted(items, key=lambda x: (len(x), x))
            step = max(1, len(vals) / CAPS[kind])
            picked = [vals[int(i * step)] for i in range(min(CAPS[kind], len(vals)))]
            named = [(hashlib.sha1(v).hexdigest()[:16], v) for v in picked]
        for name, v in named:
            with open(os.path.join(d, name), "wb") as fh:
                fh.write(v)
            total += 1
        print("%-9s %d seeds" % (kind, len(named)))
    print("total     %d seeds" % total)


if __name__ == "__main__":
    main()
