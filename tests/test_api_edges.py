"""Edges of the Python API a harness writer runs into: odd inputs must give
the documented exceptions (DESIGN section 4), never a crash or a stray type."""
import subprocess
import sys

import pytest

import sipdialog
from sipdialog import Limits, ParseError, ValidationError, validators

INVITE = (b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
          b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
          b"Max-Forwards: 70\r\nTo: Bob <sip:bob@biloxi.example.com>\r\n"
          b"From: Alice <sip:alice@bad_host.example.com>;tag=1928301774\r\n"
          b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\nCSeq: 314159 INVITE\r\n"
          b"Supported:\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture
def restore_limits():
    yield
    sipdialog.set_default_limits(Limits())


def test_long_to_tag_with_raised_limit(restore_limits):
    """A to_tag as long as the (raised) tag limit allows is copied whole."""
    sipdialog.set_default_limits(Limits(max_tag=100000, max_header_line=200000, max_message=300000))
    tag = "a" * 50000
    resp = sipdialog.parse(INVITE).create_response(200, to_tag=tag)
    assert resp.to_tag == tag


def test_answering_a_request_whose_uris_are_odd():
    """RFC 3261 8.2.6: a request parse() accepted can always be answered (a 400
    for instance), even when a header URI is malformed (checked on demand)."""
    req = sipdialog.parse(INVITE)
    with pytest.raises(ParseError):
        req.from_.uri
    resp = req.create_response(400, to_tag="x")
    assert resp.status_code == 400 and resp.from_tag == "1928301774"


def test_create_response_adds_a_to_tag():
    """RFC 3261 8.2.6.2: every response but 100 carries a To tag."""
    req = sipdialog.parse(INVITE)
    assert req.create_response(100).to_tag is None
    t1, t2 = req.create_response(180).to_tag, req.create_response(180).to_tag
    assert len(t1) == 32 and t1 != t2


def test_ack_is_never_answered():
    """RFC 3261 17.1.1.3."""
    ack = sipdialog.parse(INVITE.replace(b"INVITE", b"ACK"))
    with pytest.raises(ValidationError):
        ack.create_response(200)


def test_empty_list_header_is_present_and_empty():
    """RFC 3261 20.37: Supported may be empty."""
    h = sipdialog.parse(INVITE).headers
    assert "Supported" in h and h["Supported"] == "" and h.getall("Supported") == []


def test_lone_surrogates_give_documented_errors():
    with pytest.raises(ParseError):
        sipdialog.parse("INVITE sip:a@b SIP/2.0\r\nSubject: \ud800\r\n\r\n")
    with pytest.raises(ValidationError):
        sipdialog.Request("OPTIONS", "sip:b@example.com", headers=[("X", "\ud800")])
    with pytest.raises(KeyError):
        sipdialog.parse(INVITE).headers["\udcff"]


def test_huge_max_headers_does_not_allocate_per_parse():
    m = sipdialog.parse(INVITE, limits=Limits(max_headers=2**31 - 1))
    assert m.call_id


def test_negative_validator_argument_is_refused():
    with pytest.raises(ValueError):
        validators.max_length(-1)


def test_bytes_like_header_values():
    req = sipdialog.Request("OPTIONS", "sip:b@example.com", headers=[
        ("Via", bytearray(b"SIP/2.0/UDP h;branch=z9hG4bK1")), ("Max-Forwards", 70),
        ("From", "<sip:a@example.com>;tag=1"), ("To", "<sip:b@example.com>"),
        ("Call-ID", memoryview(b"c@h")), ("CSeq", "1 OPTIONS")])
    assert req.via_branch == "z9hG4bK1" and req.call_id == "c@h" and req.max_forwards == 70


def test_user_raised_errors_have_reason_and_offset():
    e = ParseError("x")
    assert e.reason is None and e.offset is None
    assert isinstance(e, ValueError) and isinstance(e, sipdialog.SipError)


def test_cli_reports_malformed_uri_without_traceback(tmp_path):
    f = tmp_path / "m.sip"
    f.write_bytes(INVITE)
    p = subprocess.run([sys.executable, "-m", "sipdialog", "parse", str(f)], capture_output=True, text=True)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "From: URI" in p.stdout or "URI" in p.stdout
