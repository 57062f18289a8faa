#!/usr/bin/env python3
"""Parse cost of sipdialog against the pure-Python SIP parsers.

For every message file this measures, per message, the cost of parsing the
bytes and reading Call-ID, the From and To tags and the CSeq number and method
from Python, with:

  sipdialog   sipdialog.parse(data)
  sipmessage  sipmessage.Message.parse(data)                      (PyPI sipmessage)
  pyvoip      pyVoIP.SIP.SIPMessage(data)                         (PyPI pyVoIP)
  sippy       sippy.SipRequest.SipRequest(data.decode()) or
              sippy.SipResponse.SipResponse(data.decode())        (PyPI sippy)

The peers are installed with the `bench` extra.  Parsers that parse headers
lazily are made to produce the same four fields, so every parser does the
same job: bytes in, Call-ID, both tags, CSeq number (int) and method out.

Each file is turned into --variants copies that differ in Call-ID, tags and
CSeq number but keep the same length (so Content-Length stays right).  A timed
sample parses every copy once, so no buffer is parsed twice in a row.  Before
any timing every parser's answers are checked against the values written into
each copy; a parser that raises or answers wrong on a file is reported and
left out for that file.  A peer that cannot be imported is reported and left
out entirely; so is sipdialog while it is not importable.

The figure is the median over --rounds samples of ns per message.  The last
column is the fastest peer's figure divided by sipdialog's (above 1: sipdialog
is faster).  The exit status is 1 if sipdialog is importable but fails the
check on some file, 2 on bad arguments or no input, else 0.

    python benchmarks/bench_parse.py
    python benchmarks/bench_parse.py --rounds 31 --peers sipmessage,sippy
    python benchmarks/bench_parse.py --files my/*.sip
"""

import argparse
import gc
import importlib.metadata
import platform
import random
import re
import statistics
import string
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DIRS = (HERE / "corpus",)
PEERS = ("sipmessage", "pyvoip", "sippy")
ALNUM = string.ascii_letters + string.digits
CSEQ_MAX = 2**31 - 1


# ---------------------------------------------------------------- parsers
#
# Each loader returns (label, version, loop, extract) or raises.
#   loop(bufs):     parse every buffer and read the four fields (timed).
#   extract(buf):   the same calls, returning
#                   (call_id, from_tag, to_tag, cseq_number, cseq_method)
#                   with a missing tag as None (checked, not timed).


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def load_sipdialog():
    import sipdialog

    parse = sipdialog.parse  # AttributeError while the parse API is missing

    def loop(bufs):
        for b in bufs:
            m = parse(b)
            m.call_id
            m.from_tag
            m.to_tag
            seq, method = m.cseq

    def extract(b):
        m = parse(b)
        seq, method = m.cseq
        return (m.call_id, m.from_tag, m.to_tag, seq, method)

    version = getattr(sipdialog, "__version__", None) or _version("sipdialog")
    return "sipdialog", version, loop, extract


def load_sipmessage():
    # Message.parse splits the header lines; From, To and CSeq are parsed when
    # their properties are read.
    from sipmessage import Message

    parse = Message.parse

    def loop(bufs):
        for b in bufs:
            m = parse(b)
            m.call_id
            m.from_address.parameters.get("tag")
            m.to_address.parameters.get("tag")
            c = m.cseq
            c.sequence
            c.method

    def extract(b):
        m = parse(b)
        c = m.cseq
        return (
            m.call_id,
            m.from_address.parameters.get("tag"),
            m.to_address.parameters.get("tag"),
            c.sequence,
            c.method,
        )

    return "sipmessage", _version("sipmessage"), loop, extract


def load_pyvoip():
    # pyVoIP.SIP and pyVoIP.VoIP import each other: importing pyVoIP.SIP
    # first fails, pyVoIP.VoIP first works.  SIPMessage parses everything in
    # its constructor; the CSeq number comes back as a str, so it is turned
    # into an int like the other parsers give.  A missing tag reads as "".
    # It accepts only the methods in pyVoIP.SIPCompatibleMethods (INVITE, ACK,
    # BYE, CANCEL); other requests raise SIPParseError.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # audioop deprecation, via pyVoIP.RTP
        import pyVoIP.VoIP  # noqa: F401
        from pyVoIP.SIP import SIPMessage

    def loop(bufs):
        for b in bufs:
            h = SIPMessage(b).headers
            h["Call-ID"]
            h["From"]["tag"]
            h["To"]["tag"]
            c = h["CSeq"]
            int(c["check"])
            c["method"]

    def extract(b):
        h = SIPMessage(b).headers
        c = h["CSeq"]
        return (
            h["Call-ID"],
            h["From"]["tag"] or None,
            h["To"]["tag"] or None,
            int(c["check"]),
            c["method"],
        )

    return "pyvoip", _version("pyVoIP"), loop, extract


def load_sippy():
    # sippy parses str, as its transaction manager does after data.decode(),
    # and picks the class by the start line the same way.  The constructors
    # split the headers; getHFBody() parses a header body on first use.
    from sippy.SipRequest import SipRequest
    from sippy.SipResponse import SipResponse

    def loop(bufs):
        for b in bufs:
            s = b.decode()
            m = SipResponse(s) if s.startswith("SIP/2.0 ") else SipRequest(s)
            str(m.getHFBody("call-id"))
            m.getHFBody("from").getTag()
            m.getHFBody("to").getTag()
            m.getHFBody("cseq").getCSeq()

    def extract(b):
        s = b.decode()
        m = SipResponse(s) if s.startswith("SIP/2.0 ") else SipRequest(s)
        seq, method = m.getHFBody("cseq").getCSeq()
        return (
            str(m.getHFBody("call-id")),
            m.getHFBody("from").getTag(),
            m.getHFBody("to").getTag(),
            seq,
            method,
        )

    return "sippy", _version("sippy"), loop, extract


LOADERS = {
    "sipdialog": load_sipdialog,
    "sipmessage": load_sipmessage,
    "pyvoip": load_pyvoip,
    "sippy": load_sippy,
}


# ---------------------------------------------------------------- variants

_TAG_RE = re.compile(rb";[ \t]*tag[ \t]*=[ \t]*([^;,> \t\r]+)", re.I)
_CSEQ_RE = re.compile(rb"^[ \t]*([0-9]+)[ \t]+([^ \t\r]+)")


def _header_lines(msg):
    """(start, end) of each header line value and its lower-case name."""
    sep = msg.find(b"\r\n\r\n")
    if sep < 0:
        sep = msg.find(b"\n\n")
    head_end = len(msg) if sep < 0 else sep
    pos = msg.find(b"\n")
    if pos < 0 or pos > head_end:
        return
    pos += 1
    while pos < head_end:
        nl = msg.find(b"\n", pos, head_end)
        end = head_end if nl < 0 else nl
        line_end = end - 1 if end > pos and msg[end - 1:end] == b"\r" else end
        colon = msg.find(b":", pos, line_end)
        if colon > 0:
            name = msg[pos:colon].strip().lower()
            yield name, colon + 1, line_end
        pos = end + 1


def _fields(msg):
    """Spans of the Call-ID value, the From and To tag values and the CSeq
    number, and the CSeq method; a span is (start, end) or None."""
    spans = {"call-id": None, "from": None, "to": None, "cseq": None}
    method = None
    for name, start, end in _header_lines(msg):
        name = {b"i": b"call-id", b"f": b"from", b"t": b"to"}.get(name, name)
        key = name.decode("latin-1")
        if key not in spans or spans[key] is not None:
            continue
        value = msg[start:end]
        if key == "call-id":
            lead = len(value) - len(value.lstrip())
            spans[key] = (start + lead, start + len(value.rstrip()))
        elif key == "cseq":
            m = _CSEQ_RE.match(value)
            if m:
                spans[key] = (start + m.start(1), start + m.end(1))
                method = m.group(2).decode()
        else:
            # The tag is a header parameter: after the closing '>' if any.
            off = value.rfind(b">") + 1
            m = _TAG_RE.search(value, off)
            spans[key] = (start + m.start(1), start + m.end(1)) if m else ()
    return spans, method


def _scramble(text, rng):
    """Same length, same punctuation; letters and digits replaced."""
    return "".join(rng.choice(ALNUM) if ch in ALNUM else ch for ch in text)


def make_variants(msg, count, seed):
    """count distinct same-length copies of msg with other Call-ID, tags and
    CSeq number; returns (buffers, expected field tuples)."""
    spans, method = _fields(msg)
    if not spans["call-id"]:
        raise ValueError("no Call-ID header found")
    if spans["from"] is None or spans["to"] is None:
        raise ValueError("no From or To header found")
    if not spans["cseq"]:
        raise ValueError("no valid CSeq header found")
    rng = random.Random(seed)
    order = sorted((s, k) for k, s in spans.items() if s)
    bufs, expected, seen = [], [], set()
    tries = 0
    while len(bufs) < count and tries < count * 20:
        tries += 1
        new = {}
        for (a, b), key in order:
            old = msg[a:b].decode("latin-1")
            if key == "cseq":
                digits = "".join(rng.choice(string.digits) for _ in old)
                if len(digits) > 1 and digits[0] == "0":
                    digits = rng.choice("123456789") + digits[1:]
                if int(digits) == 0 or int(digits) > CSEQ_MAX:
                    digits = old
                new[key] = digits
            else:
                new[key] = _scramble(old, rng)
        out, last = [], 0
        for (a, b), key in order:
            out.append(msg[last:a])
            out.append(new[key].encode("latin-1"))
            last = b
        out.append(msg[last:])
        buf = b"".join(out)
        if buf in seen:
            continue
        seen.add(buf)
        bufs.append(buf)
        expected.append((
            new["call-id"],
            new.get("from"),
            new.get("to"),
            int(new["cseq"]),
            method,
        ))
    return bufs, expected


# ---------------------------------------------------------------- running


def check(extract, bufs, expected):
    """None if extract gives the expected fields for every buffer, else why not."""
    for i, (b, want) in enumerate(zip(bufs, expected)):
        try:
            got = tuple(extract(b))
        except Exception as e:  # a peer's own error types
            return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:100]
        if got != want:
            names = ("Call-ID", "From tag", "To tag", "CSeq number", "CSeq method")
            for n, g, w in zip(names, got, want):
                if g != w:
                    return f"copy {i}: {n} read {g!r}, message has {w!r}"
            return f"copy {i}: read {got!r}, message has {want!r}"
    return None


def time_one(loop, bufs):
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        loop(bufs)
        t1 = time.perf_counter_ns()
    finally:
        gc.enable()
    return (t1 - t0) / len(bufs)


def default_files():
    for d in DEFAULT_DIRS:
        files = sorted(d.glob("*.sip"))
        if files:
            return files
    return []


def fmt_ns(v):
    return "n/a" if v is None else f"{v:,.0f}"


def fmt_ratio(v):
    return "n/a" if v is None else f"{v:.2f}x"


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="ns per message to parse a SIP message and read Call-ID, "
        "From/To tags and CSeq: sipdialog against pure-Python parsers.")
    ap.add_argument("--files", nargs="+", type=Path, metavar="FILE",
                    help="message files (default: benchmarks/corpus/*.sip, "
                    "else shared/corpus/*.sip)")
    ap.add_argument("--rounds", type=int, default=15,
                    help="timed samples per parser and file; the median is "
                    "reported (default 15)")
    ap.add_argument("--peers", default=",".join(PEERS),
                    help="comma-separated peers to run, from %s, or 'none' "
                    "(default: all)" % ",".join(PEERS))
    ap.add_argument("--variants", type=int, default=256,
                    help="distinct copies of each message parsed per sample "
                    "(default 256)")
    args = ap.parse_args(argv)

    if args.rounds < 1 or args.variants < 1:
        ap.error("--rounds and --variants must be at least 1")
    peers = [] if args.peers.strip().lower() == "none" else [
        p.strip().lower() for p in args.peers.split(",") if p.strip()]
    for p in peers:
        if p not in PEERS:
            ap.error(f"unknown peer {p!r}; choose from {', '.join(PEERS)}")
    files = args.files or default_files()
    if not files:
        print("no message files: pass --files or add benchmarks/corpus/*.sip",
              file=sys.stderr)
        return 2

    print(f"Python {platform.python_version()} ({platform.python_implementation()}), "
          f"{args.variants} variants per file, {args.rounds} rounds, median ns/msg")
    parsers = []  # (label, loop, extract)
    available = {}
    for name in ["sipdialog"] + peers:
        try:
            label, version, loop, extract = LOADERS[name]()
        except Exception as e:
            available[name] = False
            hint = "" if name == "sipdialog" else " (it comes with the bench extra)"
            print(f"  {name}: unavailable ({type(e).__name__}: {e}); skipped{hint}")
            continue
        available[name] = True
        parsers.append((label, loop, extract))
        print(f"  {label} {version}")
    labels = [p[0] for p in parsers]
    if not parsers:
        print("no parser available", file=sys.stderr)
        return 2
    print()

    rows = []  # (file name, {label: ns or None})
    problems = []  # (file, label, reason)
    sipdialog_failed = False
    for fi, path in enumerate(files):
        try:
            msg = Path(path).read_bytes()
            bufs, expected = make_variants(msg, args.variants, seed=fi)
        except (OSError, ValueError) as e:
            problems.append((Path(path).name, "-", f"file skipped: {e}"))
            continue
        ok = []
        for label, loop, extract in parsers:
            why = check(extract, bufs, expected)
            if why is None:
                ok.append((label, loop))
            else:
                problems.append((Path(path).name, label, why))
                if label == "sipdialog":
                    sipdialog_failed = True
        samples = {label: [] for label, _ in ok}
        for label, loop in ok:  # warm-up pass
            loop(bufs)
        for r in range(args.rounds):
            k = r % len(ok) if ok else 0
            for label, loop in ok[k:] + ok[:k]:  # rotate the order each round
                samples[label].append(time_one(loop, bufs))
        rows.append((Path(path).name, {label: statistics.median(s)
                                       for label, s in samples.items()}))

    peer_labels = [lbl for lbl in labels if lbl != "sipdialog"]
    show = ["sipdialog"] + peer_labels

    def ratio(res):
        fast = [res[p] for p in peer_labels if res.get(p) is not None]
        if not fast or res.get("sipdialog") is None:
            return None
        return min(fast) / res["sipdialog"]

    w = max([len("file")] + [len(r[0]) for r in rows] + [len("mean")])
    cols = show + ["fastest peer/sipdialog"]
    widths = [max(len(c), 14) for c in cols]
    print(" ".join([f"{'file':<{w}}"] + [f"{c:>{cw}}" for c, cw in zip(cols, widths)]))
    for name, res in rows:
        cells = [fmt_ns(res.get(c)) for c in show] + [fmt_ratio(ratio(res))]
        print(" ".join([f"{name:<{w}}"] + [f"{c:>{cw}}" for c, cw in zip(cells, widths)]))

    # Mean over files: each parser over the files it parsed (count shown when
    # that is not all of them); the ratio over files that have one.
    mean_cells = []
    for c in show:
        vals = [res[c] for _, res in rows if res.get(c) is not None]
        cell = fmt_ns(statistics.fmean(vals)) if vals else "n/a"
        if vals and len(vals) < len(rows):
            cell += f" ({len(vals)}/{len(rows)})"
        mean_cells.append(cell)
    ratios = [x for x in (ratio(res) for _, res in rows) if x is not None]
    mean_cells.append(fmt_ratio(statistics.fmean(ratios)) if ratios else "n/a")
    print(" ".join([f"{'mean':<{w}}"] + [f"{c:>{cw}}" for c, cw in zip(mean_cells, widths)]))

    if not available["sipdialog"]:
        print("\nsipdialog is not importable (or has no parse()): peers only.")
    if problems:
        print("\nleft out (file unusable, or the parser raised or read wrong fields):")
        for name, label, why in problems:
            print(f"  {name}: {label}: {why}")
    return 1 if sipdialog_failed else 0


if __name__ == "__main__":
    sys.exit(main())
