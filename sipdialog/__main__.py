"""Command line: ``python -m sipdialog parse FILE|- [--json]`` and ``demo``."""
from __future__ import annotations

import argparse
import json
import signal
import sys
from importlib import resources
from typing import List, Optional, Union

import sipdialog

from ._display import describe


def _print_message(msg: "Union[sipdialog.Request, sipdialog.Response]", out) -> None:
    d = describe(msg)
    if msg.is_request:
        out.write("Request  %s %s\n" % (d["method"], d["uri"]))
        up = d["uri_parts"]
        out.write("  uri      scheme=%s user=%s host=%s port=%s params=%s\n"
                  % (up["scheme"], up["user"], up["host"], up["port"], up["params"]))
    else:
        out.write("Response %d %s\n" % (d["status_code"], d["reason"]))
    out.write("  call_id  %s\n" % d["call_id"])
    out.write("  from     %s  tag=%s\n" % (d["from"]["uri"], d["from_tag"]))
    out.write("  to       %s  tag=%s\n" % (d["to"]["uri"], d["to_tag"]))
    out.write("  cseq     %d %s\n" % (d["cseq"]["seq"], d["cseq"]["method"]))
    for i, v in enumerate(d["vias"]):
        out.write("  via[%d]   %s %s%s branch=%s\n" % (i, v["transport"], v["host"],
                                                     ":%d" % v["port"] if v["port"] else "", v["branch"]))
    out.write("  headers:\n")
    for name, value in d["headers"]:
        out.write("    %s: %s\n" % (name, value))
    out.write("  body     %d bytes\n" % len(msg.body))


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def cmd_parse(args) -> int:
    data = _read(args.file)
    try:
        msg = sipdialog.parse(data, rfc2543=args.rfc2543)
        d = describe(msg)  # parses the URIs of From, To and the Vias too
    except sipdialog.ParseError as e:
        if args.json:
            json.dump({"error": type(e).__name__, "reason": e.reason, "offset": e.offset}, sys.stdout)
            sys.stdout.write("\n")
        else:
            sys.stdout.write("malformed message: %s (at byte %s)\n" % (e.reason, e.offset))
        return 1
    if args.json:
        json.dump(d, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_message(msg, sys.stdout)
    return 0


def cmd_demo(args) -> int:
    out = sys.stdout
    out.write("sipdialog %s demo: the parser and the validation pipeline at work\n\n" % sipdialog.__version__)
    data_dir = resources.files("sipdialog") / "data"
    for name in ("invite.sip", "180_ringing.sip", "malformed_cseq.sip"):
        raw = (data_dir / name).read_bytes()
        out.write("=== %s (%d bytes)\n" % (name, len(raw)))
        try:
            msg = sipdialog.parse(raw)
        except sipdialog.ParseError as e:
            out.write("rejected: %s\n  reason=%r offset=%s\n\n" % (type(e).__name__, e.reason, e.offset))
            continue
        _print_message(msg, out)
        if isinstance(msg, sipdialog.Request) and msg.method == "INVITE":
            resp = msg.create_response(180, to_tag="a6c85cf")
            out.write("\ncreate_response(180, to_tag='a6c85cf') gives (RFC 3261 8.2.6):\n")
            out.write(bytes(resp).decode().replace("\r\n", "\n    ").rstrip() + "\n")
        out.write("\n")
    out.write("=== building a request with an injected header is refused\n")
    try:
        sipdialog.Request("OPTIONS", "sip:bob@example.com",
                          headers=[("Subject", "hi\r\nX-Evil: 1")])
    except sipdialog.ValidationError as e:
        out.write("ValidationError: %s\n\n" % e)
    out.write("=== the validation pipeline\n")
    from . import sanitizers, validators
    pl = sipdialog.ValidationPipeline(validators=[validators.callid, validators.max_length(256)],
                                      sanitizers=[sanitizers.trim_lws])
    for value in ("  a84b4c76e66710@pc33.atlanta.example.com ", "bad call id"):
        try:
            out.write("%-45r -> %r\n" % (value, pl.run(value)))
        except sipdialog.ValidationError as e:
            out.write("%-45r -> ValidationError: %s\n" % (value, e))
    _demo_dialog(out, (data_dir / "invite.sip").read_bytes())
    return 0


def _wire(msg, out, arrow: str) -> None:
    first = bytes(msg).split(b"\r\n", 1)[0].decode()
    out.write("  %s %s\n" % (arrow, first))


def _demo_dialog(out, raw: bytes) -> None:
    """A call between two sans-IO dialogs: INVITE, 180, 200, ACK,
    re-INVITE, BYE, with the messages and the histories."""
    from sipdialog import Dialog

    out.write("\n=== a dialog's life: Alice (UAC) calls Bob (UAS) through two record-routing proxies\n")
    inv = sipdialog.parse(raw)
    assert isinstance(inv, sipdialog.Request)
    alice = Dialog.from_uac(inv)
    bob = Dialog.from_uas(inv, local_contact="sip:bob@client.biloxi.example.com", local_tag="8d3b7f2e")
    alice.on_state_change(lambda d, t: out.write("    [alice] %s -> %s (%s)\n" % (t.old.value, t.new.value, t.reason)))
    bob.on_state_change(lambda d, t: out.write("    [bob]   %s -> %s (%s)\n" % (t.old.value, t.new.value, t.reason)))
    _wire(inv, out, "alice -> bob")
    r180 = bob.provisional(180)
    _wire(r180, out, "bob -> alice")
    alice.receive(r180)
    ok = bob.answer(200, headers=[("Content-Type", "application/sdp")], body=b"v=0\r\n")
    _wire(ok, out, "bob -> alice")
    alice.receive(ok)
    ack = alice.create_ack(ok)
    _wire(ack, out, "alice -> bob")
    bob.receive(ack)
    out.write("  alice: id=%s\n         route set %s, remote target %s\n"
              % (alice.id, alice.route_set, alice.remote_target))
    reinv = alice.create_request("INVITE", headers=[("Content-Type", "application/sdp")], body=b"v=0\r\n")
    _wire(reinv, out, "alice -> bob")
    bob.receive(reinv)
    ok2 = bob.answer(200)
    _wire(ok2, out, "bob -> alice")
    alice.receive(ok2)
    ack2 = alice.create_ack(ok2)
    _wire(ack2, out, "alice -> bob")
    bob.receive(ack2)
    out.write("  the re-INVITE again, as a new transaction with its old CSeq, is refused:\n")
    forged = sipdialog.parse(bytes(reinv).replace(str(reinv.via_branch).encode(), b"z9hG4bKreplayed"))
    _wire(bob.receive(forged), out, "bob -> alice")
    bye = alice.create_request("BYE")
    out.write("  " + bytes(bye).decode().replace("\r\n", "\n    ").rstrip() + "\n")
    r = bob.receive(bye, auto_answer=True)
    assert r is not None
    _wire(r, out, "bob -> alice")
    alice.receive(r)
    for name, d in (("alice", alice), ("bob", bob)):
        out.write("  %s's history:\n" % name)
        t0 = d.created_at
        for t in d.history:
            out.write("    +%7.3f ms  %-11s -> %-11s %-12s %s %s\n" % ((t.at - t0) * 1e3, t.old.value, t.new.value,
                                                                    t.reason, t.method or "", t.status or ""))
    alice.close()
    bob.close()


def main(argv: Optional[List[str]] = None) -> int:
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `... | head` ends quietly
    ap = argparse.ArgumentParser(prog="python -m sipdialog", description=sipdialog.__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("parse", help="parse a SIP message from FILE (or - for stdin)")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.add_argument("--rfc2543", action="store_true", help="accept RFC 2543 requests without Max-Forwards")
    p.set_defaults(fn=cmd_parse)
    d = sub.add_parser("demo", help="walk bundled messages through the parser, the pipeline and a dialog")
    d.set_defaults(fn=cmd_demo)
    args = ap.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
