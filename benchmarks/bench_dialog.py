#!/usr/bin/env python3
"""Cost of sipdialog's Dialog from Python, against a plain-Python baseline.

Measures, per operation, from Python:

  from_uac        sipdialog.Dialog.from_uac(invite, response): a confirmed
                  UAC dialog from a parsed INVITE and its parsed 200 OK
  BYE             dlg.create_request("BYE") on a confirmed dialog (a Request)
  BYE + bytes     bytes(dlg.create_request("BYE")): the wire bytes

and the same work done the way a harness without a dialog layer would do
it, in plain Python, from the same parsed messages (the baseline):

  from_uac        a __slots__ object filled from the parsed messages:
                  Call-ID, From value and tag (INVITE), To value and tag
                  (response), local and remote target (the Contact values
                  with the angle brackets cut off), route set (the
                  response's Record-Route values reversed), CSeq number and
                  the host of the local Contact for the Via. Read through
                  the public Message API (call_id, from_tag, to_tag, cseq,
                  headers[...], headers.getall); nothing is validated,
                  nothing is locked, no state machine or history is kept.
  BYE / + bytes   one f-string from those stored fields (Request-URI, Via
                  with a counter-based branch, Max-Forwards, Route lines,
                  From, To, Call-ID, CSeq, Content-Length) and, for the
                  bytes figure, .encode(). The text is checked, before any
                  timing, to be byte for byte the BYE sipdialog builds but
                  for the branch value.

Messages: --invite and --response (default benchmarks/corpus/invite.sip and
200_ok.sip) turned into --variants pairs (default 256) with other Call-ID,
From tag and To tag of the same length, the same in both messages of a
pair. All parsing (sipdialog.parse) happens before timing. A sample runs
the operation once on every variant (cycling through them); a BYE moves
its dialog to terminating, so the BYE samples run on dialogs created
before the sample, untimed. The figure is the median over --rounds samples
(default 31) of ns per operation, with the garbage collector off during a
sample. The ratio column is sipdialog / baseline (above 1: the baseline,
which does far less, is faster).

    python benchmarks/bench_dialog.py [--rounds N] [--variants N] [--invite F] [--response F]
"""

import argparse
import gc
import platform
import random
import re
import statistics
import string
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BRANCH = re.compile(rb"branch=z9hG4bK[0-9a-f]{16}")


# ---------------------------------------------------------------- variants


def _header_value_span(msg, name):
    """(start, end) of the value of the first header `name` in msg."""
    m = re.search(rb"^" + re.escape(name) + rb"[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?$", msg,
                  re.IGNORECASE | re.MULTILINE)
    if not m:
        raise ValueError("no %s header" % name.decode())
    return m.start(1), m.end(1)


def _tag_span(msg, name):
    s, e = _header_value_span(msg, name)
    m = re.search(rb";[ \t]*tag[ \t]*=[ \t]*([A-Za-z0-9.!%*_+`'~-]+)", msg[s:e], re.IGNORECASE)
    return (s + m.start(1), s + m.end(1)) if m else None


def _same_class(rng, old):
    out = bytearray(old)
    for i, c in enumerate(old):
        ch = chr(c)
        if ch.isdigit():
            out[i] = ord(rng.choice(string.digits))
        elif ch.islower():
            out[i] = ord(rng.choice(string.ascii_lowercase))
        elif ch.isupper():
            out[i] = ord(rng.choice(string.ascii_uppercase))
    return bytes(out)


def _replace(msg, span, new):
    return msg[:span[0]] + new + msg[span[1]:]


def make_pairs(invite, response, count, seed=1):
    """count (invite, response) byte pairs; pair 0 is the original."""
    rng = random.Random(seed)
    pairs = [(invite, response)]
    inv_cid = invite[slice(*_header_value_span(invite, b"Call-ID"))]
    inv_ftag = invite[slice(*_tag_span(invite, b"From"))]
    rsp_ttag_span = _tag_span(response, b"To")
    rsp_ttag = response[slice(*rsp_ttag_span)]
    for _ in range(count - 1):
        cid, ftag, ttag = _same_class(rng, inv_cid), _same_class(rng, inv_ftag), _same_class(rng, rsp_ttag)
        inv, rsp = invite, response
        # replace right to left within each message so spans stay valid
        for msg_name in ("inv", "rsp"):
            msg = inv if msg_name == "inv" else rsp
            edits = [(_header_value_span(msg, b"Call-ID"), cid), (_tag_span(msg, b"From"), ftag)]
            if msg_name == "rsp":
                edits.append((_tag_span(msg, b"To"), ttag))
            for span, new in sorted(edits, key=lambda e: e[0][0], reverse=True):
                msg = _replace(msg, span, new)
            if msg_name == "inv":
                inv = msg
            else:
                rsp = msg
        pairs.append((inv, rsp))
    return pairs


# ---------------------------------------------------------------- baseline


class PlainDialog:
    """What a harness keeps when it tracks a dialog itself."""

    __slots__ = ("call_id", "local_header", "local_tag", "remote_header", "remote_tag", "local_target",
                 "remote_target", "route_set", "local_seq", "via_host")

    def __init__(self, inv, rsp):
        h, rh = inv.headers, rsp.headers
        self.call_id = inv.call_id
        self.local_header = h["From"]
        self.local_tag = inv.from_tag
        self.remote_header = rh["To"]
        self.remote_tag = rsp.to_tag
        self.local_target = h["Contact"][1:-1]
        self.remote_target = rh["Contact"][1:-1]
        self.route_set = rh.getall("Record-Route")[::-1]
        self.local_seq = inv.cseq.seq
        # host[:port] of the local Contact URI, for the Via
        lt = self.local_target
        self.via_host = lt[lt.index("@") + 1:].split(";", 1)[0]


_counter = [0]


def plain_bye(pd):
    pd.local_seq += 1
    _counter[0] += 1
    routes = "".join(["Route: %s\r\n" % r for r in pd.route_set])
    return (f"BYE {pd.remote_target} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {pd.via_host};branch=z9hG4bK{_counter[0] * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF:016x}\r\n"
            f"Max-Forwards: 70\r\n"
            f"{routes}"
            f"From: {pd.local_header}\r\n"
            f"To: {pd.remote_header}\r\n"
            f"Call-ID: {pd.call_id}\r\n"
            f"CSeq: {pd.local_seq} BYE\r\n"
            f"Content-Length: 0\r\n\r\n")


# ---------------------------------------------------------------- timing


def sample(fn, items):
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        fn(items)
        t1 = time.perf_counter_ns()
    finally:
        gc.enable()
    return (t1 - t0) / len(items)


def sample_fresh(make, fn, pairs):
    """Time fn over objects made (untimed) by make(pairs) just before."""
    objs = make(pairs)
    return sample(fn, objs)


def median_ns(rounds, one):
    one()  # warm-up
    return statistics.median(one() for _ in range(rounds))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=31)
    ap.add_argument("--variants", type=int, default=256)
    ap.add_argument("--invite", default=str(HERE / "corpus" / "invite.sip"))
    ap.add_argument("--response", default=str(HERE / "corpus" / "200_ok.sip"))
    args = ap.parse_args()
    if args.rounds < 1 or args.variants < 1:
        ap.error("--rounds and --variants must be positive")

    try:
        import sipdialog
        from sipdialog import Dialog
    except ImportError as e:
        sys.exit("sipdialog is not importable (build it first: pip install -e .): %s" % e)

    invite = Path(args.invite).read_bytes()
    response = Path(args.response).read_bytes()
    raw = make_pairs(invite, response, args.variants)
    pairs = [(sipdialog.parse(i), sipdialog.parse(r)) for i, r in raw]

    # checks: every pair confirms a dialog; the baseline BYE is sipdialog's
    # BYE but for the branch
    for n, (inv, rsp) in enumerate(pairs):
        d = Dialog.from_uac(inv, rsp)
        if d.state.value != "confirmed":
            sys.exit("pair %d: the dialog is %s, not confirmed" % (n, d.state.value))
        sd_bye = bytes(d.create_request("BYE"))
        pl_bye = plain_bye(PlainDialog(inv, rsp)).encode()
        if BRANCH.sub(b"branch=", sd_bye) != BRANCH.sub(b"branch=", pl_bye):
            sys.exit("pair %d: the baseline BYE differs from sipdialog's:\n%r\n%r" % (n, sd_bye, pl_bye))
    footprint = Dialog.from_uac(*pairs[0]).footprint

    from_uac = Dialog.from_uac

    def sd_create(ps):
        for inv, rsp in ps:
            from_uac(inv, rsp)

    def pl_create(ps):
        for inv, rsp in ps:
            PlainDialog(inv, rsp)

    def sd_make(ps):
        return [from_uac(inv, rsp) for inv, rsp in ps]

    def pl_make(ps):
        return [PlainDialog(inv, rsp) for inv, rsp in ps]

    def sd_bye(ds):
        for d in ds:
            d.create_request("BYE")

    def sd_bye_bytes(ds):
        for d in ds:
            bytes(d.create_request("BYE"))

    def pl_bye(ds):
        for d in ds:
            plain_bye(d)

    def pl_bye_bytes(ds):
        for d in ds:
            plain_bye(d).encode()

    rows = [
        ("Dialog.from_uac(inv, 200)", lambda: sample(sd_create, pairs), lambda: sample(pl_create, pairs)),
        ("create_request('BYE')", lambda: sample_fresh(sd_make, sd_bye, pairs),
         lambda: sample_fresh(pl_make, pl_bye, pairs)),
        ("bytes(create_request('BYE'))", lambda: sample_fresh(sd_make, sd_bye_bytes, pairs),
         lambda: sample_fresh(pl_make, pl_bye_bytes, pairs)),
    ]
    print("sipdialog %s, Python %s (%s); %s + %s, %d variants, median of %d rounds, ns per operation"
          % (getattr(sipdialog, "__version__", "?"), platform.python_version(), platform.machine(),
             Path(args.invite).name, Path(args.response).name, args.variants, args.rounds))
    print("baseline: plain-Python __slots__ object from the parsed messages + an f-string BYE (see --help)")
    head = "%-32s %12s %12s %14s" % ("operation", "sipdialog", "baseline", "sd/baseline")
    print(head)
    print("-" * len(head))
    for name, sd_one, pl_one in rows:
        sd = median_ns(args.rounds, sd_one)
        pl = median_ns(args.rounds, pl_one)
        print("%-32s %12.1f %12.1f %14.2f" % (name, sd, pl, sd / pl))
        sys.stdout.flush()
    print("Dialog.footprint of the confirmed dialog: %d bytes" % footprint)


if __name__ == "__main__":
    main()
