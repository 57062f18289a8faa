"""The command line (python -m sipdialog parse|demo) and the logging bridge."""
from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest

import sipdialog
from sipdialog.__main__ import main

REQUEST = (
    b"INVITE sip:bob@biloxi.example.com:5070;transport=tcp SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com:5066;branch=z9hG4bK776asdhds;rport\r\n"
    b"Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK2;received=192.0.2.1\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Content-Length: 5\r\n\r\nhello"
)
BAD = REQUEST.replace(b"Max-Forwards: 70", b"Max-Forwards: 256")


@pytest.fixture
def request_file(tmp_path):
    p = tmp_path / "invite.sip"
    p.write_bytes(REQUEST)
    return p


def run(argv, capsys, stdin: bytes = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    rc = main(argv)
    return rc, capsys.readouterr().out


def test_parse_file_text_output(request_file, capsys):
    """RFC 3261 7.1, 8.1.1: the fields the CLI prints."""
    rc, out = run(["parse", str(request_file)], capsys)
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "Request  INVITE sip:bob@biloxi.example.com:5070;transport=tcp"
    assert lines[1] == ("  uri      scheme=sip user=bob host=biloxi.example.com port=5070 "
                        "params={'transport': 'tcp'}")
    assert "  call_id  a84b4c76e66710@pc33.atlanta.example.com" in lines
    assert "  from     sip:alice@atlanta.example.com  tag=1928301774" in lines
    assert "  to       sip:bob@biloxi.example.com  tag=None" in lines
    assert "  cseq     314159 INVITE" in lines
    assert "  via[0]   UDP pc33.atlanta.example.com:5066 branch=z9hG4bK776asdhds" in lines
    assert "  via[1]   TCP proxy.example.com branch=z9hG4bK2" in lines
    assert "    Max-Forwards: 70" in lines
    assert lines[-1] == "  body     5 bytes"


def test_parse_stdin(capsys, monkeypatch):
    """RFC 3261 7.1: a request read from stdin ('-')."""
    rc, out = run(["parse", "-"], capsys, stdin=REQUEST, monkeypatch=monkeypatch)
    assert rc == 0 and out.startswith("Request  INVITE ")


def test_parse_json_fields(request_file, capsys):
    """RFC 3261 7.1, 8.1.1, 20.42 (Via received/rport: RFC 3581): the --json fields."""
    rc, out = run(["parse", "--json", str(request_file)], capsys)
    assert rc == 0
    d = json.loads(out)
    assert d["type"] == "request" and d["method"] == "INVITE"
    assert d["uri"] == "sip:bob@biloxi.example.com:5070;transport=tcp"
    assert d["uri_parts"] == {"scheme": "sip", "user": "bob", "host": "biloxi.example.com", "port": 5070,
                              "params": {"transport": "tcp"}}
    assert d["call_id"] == "a84b4c76e66710@pc33.atlanta.example.com"
    assert (d["from_tag"], d["to_tag"]) == ("1928301774", None)
    assert d["cseq"] == {"seq": 314159, "method": "INVITE"}
    assert (d["max_forwards"], d["content_length"], d["via_branch"]) == (70, 5, "z9hG4bK776asdhds")
    assert d["vias"] == [
        {"transport": "UDP", "host": "pc33.atlanta.example.com", "port": 5066, "branch": "z9hG4bK776asdhds",
         "received": None, "rport": 0},
        {"transport": "TCP", "host": "proxy.example.com", "port": None, "branch": "z9hG4bK2",
         "received": "192.0.2.1", "rport": None},
    ]
    assert d["from"] == {"display": "Alice", "uri": "sip:alice@atlanta.example.com", "params": {"tag": "1928301774"}}
    assert d["to"] == {"display": "Bob", "uri": "sip:bob@biloxi.example.com", "params": {}}
    assert d["headers"][0] == ["Via", "SIP/2.0/UDP pc33.atlanta.example.com:5066;branch=z9hG4bK776asdhds;rport"]
    assert len(d["headers"]) == 8
    assert d["body"] == "hello"


def test_parse_json_response_from_stdin(capsys, monkeypatch):
    """RFC 4475 3.1.1.13: empty reason phrase."""
    data = (b"SIP/2.0 100 \r\nVia: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\nTo: <sip:b@example.com>\r\n"
            b"From: <sip:a@example.com>;tag=1\r\nCall-ID: x@y\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
    rc, out = run(["parse", "--json", "-"], capsys, stdin=data, monkeypatch=monkeypatch)
    d = json.loads(out)
    assert rc == 0 and d["type"] == "response" and d["status_code"] == 100 and d["reason"] == ""
    assert d["max_forwards"] is None


def test_parse_malformed_prints_reason_and_offset(tmp_path, capsys):
    """RFC 3261 20.22: Max-Forwards 0..255."""
    p = tmp_path / "bad.sip"
    p.write_bytes(BAD)
    offset = BAD.index(b"256")
    rc, out = run(["parse", str(p)], capsys)
    assert rc == 1
    assert out == "malformed message: Max-Forwards '256' is not a number 0..255 (at byte %d)\n" % offset
    rc, out = run(["parse", "--json", str(p)], capsys)
    assert rc == 1
    assert json.loads(out) == {"error": "ParseError", "reason": "Max-Forwards '256' is not a number 0..255",
                               "offset": offset}


def test_parse_rfc2543_flag(tmp_path, capsys):
    """RFC 4475 3.4.1: --rfc2543 accepts a request without Max-Forwards."""
    p = tmp_path / "old.sip"
    p.write_bytes(REQUEST.replace(b"Max-Forwards: 70\r\n", b""))
    rc, out = run(["parse", str(p)], capsys)
    assert rc == 1 and "missing mandatory Max-Forwards header" in out
    rc, out = run(["parse", "--rfc2543", str(p)], capsys)
    assert rc == 0 and out.startswith("Request  INVITE")


def test_cli_as_a_module_exit_codes(request_file, tmp_path):
    """RFC 3261 20.22 (Max-Forwards 0..255) as seen from the shell: exit 0 / 1 / 2."""
    ok = subprocess.run([sys.executable, "-m", "sipdialog", "parse", "--json", "-"], input=REQUEST,
                        capture_output=True, timeout=60)
    assert ok.returncode == 0 and json.loads(ok.stdout)["method"] == "INVITE"
    p = tmp_path / "bad.sip"
    p.write_bytes(BAD)
    bad = subprocess.run([sys.executable, "-m", "sipdialog", "parse", str(p)], capture_output=True, timeout=60)
    assert bad.returncode == 1
    assert b"malformed message: Max-Forwards '256'" in bad.stdout
    usage = subprocess.run([sys.executable, "-m", "sipdialog"], capture_output=True, timeout=60)
    assert usage.returncode == 2


def test_demo_runs_and_shows_a_rejected_message():
    """RFC 3261 8.1.1.5 (CSeq method mismatch rejected), 8.2.6 (180 built), 7.3.1 (injection refused)."""
    r = subprocess.run([sys.executable, "-m", "sipdialog", "demo"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith("sipdialog %s demo" % sipdialog.__version__)
    assert "=== malformed_cseq.sip" in out
    assert "rejected: ParseError" in out
    assert "reason=\"CSeq method 'BYE' differs from request method 'INVITE'\"" in out
    assert "SIP/2.0 180 Ringing" in out and ";tag=a6c85cf" in out
    assert "ValidationError: value of Subject: invalid character 0x0d in header value" in out
    assert "-> 'a84b4c76e66710@pc33.atlanta.example.com'" in out


def test_demo_shows_a_dialogs_life():
    """RFC 3261 12-15: creation, re-INVITE, a stale CSeq refused, BYE, both histories."""
    r = subprocess.run([sys.executable, "-m", "sipdialog", "demo"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode().split("=== a dialog's life", 1)[1]
    assert "[alice] none -> early (provisional)" in out
    assert "[alice] early -> confirmed (success)" in out
    assert "alice -> bob INVITE sip:bob@client.biloxi.example.com SIP/2.0" in out  # the re-INVITE
    assert "bob -> alice SIP/2.0 500 Invalid CSeq" in out
    assert "CSeq: 314161 BYE" in out and "Route: <sip:proxy1.atlanta.example.com;lr>" in out
    assert "[bob]   confirmed -> terminated (bye-received)" in out
    assert "[alice] terminating -> terminated (bye-done)" in out
    assert "alice's history:" in out and "bob's history:" in out


# ---------------------------------------------------------------------------
# The logging bridge
# ---------------------------------------------------------------------------


def test_trailing_octets_logged_at_debug(caplog):
    """RFC 3261 18.3: octets after Content-Length are discarded; the parser says so at DEBUG."""
    caplog.set_level(logging.DEBUG, logger="sipdialog")
    m = sipdialog.parse(REQUEST + b"TRAILING")
    assert m.body == b"hello"
    recs = [r for r in caplog.records if r.name == "sipdialog"]
    assert len(recs) == 1
    r = recs[0]
    assert r.levelno == logging.DEBUG
    assert r.getMessage() == "ignored 8 octets after Content-Length (RFC 3261 18.3)"
    assert r.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    assert r.method == "INVITE"
    assert r.status_code is None and r.reason is None


def test_trailing_octets_of_a_response_logged_without_method(caplog):
    """The extra fields are None when not applicable: a response has no method."""
    caplog.set_level(logging.DEBUG, logger="sipdialog")
    data = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\nTo: <sip:b@example.com>;tag=2\r\n"
            b"From: <sip:a@example.com>;tag=1\r\nCall-ID: x@y\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\nxx")
    sipdialog.parse(data)
    (r,) = [r for r in caplog.records if r.name == "sipdialog"]
    assert r.getMessage() == "ignored 2 octets after Content-Length (RFC 3261 18.3)"
    assert (r.call_id, r.status_code) == ("x@y", 200)
    assert r.method is None


def test_no_record_without_trailing_octets(caplog):
    """RFC 3261 18.3: nothing is discarded, nothing is logged."""
    caplog.set_level(logging.DEBUG, logger="sipdialog")
    sipdialog.parse(REQUEST)
    assert [r for r in caplog.records if r.name == "sipdialog"] == []


def test_no_record_above_debug(caplog):
    """RFC 3261 18.3: the discard is logged at DEBUG only."""
    caplog.set_level(logging.INFO, logger="sipdialog")
    sipdialog.parse(REQUEST + b"TRAILING")
    assert [r for r in caplog.records if r.name == "sipdialog"] == []


def test_logger_is_the_package_logger():
    """The logging bridge uses the 'sipdialog' logger (RFC 3261 18.3 diagnostics)."""
    assert sipdialog.logger is logging.getLogger("sipdialog")
