"""Validators, sanitizers, ValidationPipeline and Limits.

Each validator accepts exactly the language of one RFC 3261 rule (25.1
unless said otherwise); on failure it raises ValidationError (LimitError
for max_length) whose reason is prefixed by the validator's name and whose
offset is that of the first offending byte.
"""
from __future__ import annotations

import pytest

import sipdialog
from sipdialog import LimitError, ValidationError
from sipdialog import sanitizers as S
from sipdialog import validators as V


def rejects(validator, value):
    with pytest.raises(ValidationError) as ei:
        validator(value)
    return ei.value.reason, ei.value.offset


# (validator name, accepted values, [(rejected value, reason, offset)])
CASES = [
    # RFC 3261 25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
    ("token", ["INVITE", "a-b.c!%*_+`'~"], [
        ("", "token: empty token", 0),
        ("a b", "token: invalid character 0x20 in token", 1),
        ("a:b", "token: invalid character 0x3a in token", 1),
        ("a\x00", "token: invalid character 0x00 in token", 1),
    ]),
    # RFC 3261 25.1: word adds ( ) < > : \ DQUOTE / [ ] ? { }
    ("word", ['a(b)<c>:\\"/[]?{}'], [
        ("", "word: empty word", 0),
        ("a b", "word: invalid character 0x20 in word", 1),
        ("a;b", "word: invalid character 0x3b in word", 1),
    ]),
    # RFC 3261 25.1: quoted-string, quoted-pair, UTF8-NONASCII, LWS
    ("quoted_string", ['"abc"', '""', '"a\\"b"', '"a\\\x00b"', '"a\r\n b"', '"\u00e9"'], [
        ("abc", "quoted_string: quoted-string must start with '\"', not 0x61", 0),
        ('"abc', "quoted_string: unterminated quoted-string (no closing '\"')", 4),
        ('"abc"d', "quoted_string: unexpected character 0x64 after the closing '\"'", 5),
        ('"a\\\rb"', "quoted_string: invalid character 0x0d after '\\' in quoted-pair", 3),
        ('"a\r\nb"', "quoted_string: CR LF in quoted-string not followed by SP or HT (fold)", 4),
        ('"a\x01b"', "quoted_string: invalid character 0x01 in quoted-string", 2),
        ('"a\\', "quoted_string: quoted-pair '\\' at the end of the value", 3),
    ]),
    # RFC 3261 20.8, 25.1: callid = word [ "@" word ]
    ("callid", ["a84b4c76e66710@pc33.atlanta.example.com", "abc"], [
        ("@x", "callid: empty word before '@' in Call-ID", 0),
        ("x@", "callid: empty word after '@' in Call-ID", 2),
        ("a@b@c", "callid: second '@' in Call-ID", 3),
        ("a b", "callid: invalid character 0x20 in Call-ID", 1),
        ("", "callid: empty Call-ID", 0),
    ]),
    # RFC 3261 19.3, 25.1: tag-param = "tag" EQUAL token
    ("tag", ["1928301774", "_token~1'+`*%!-."], [
        ("a b", "tag: invalid character 0x20 in tag", 1),
        ("", "tag: empty tag", 0),
        ("a;b", "tag: invalid character 0x3b in tag", 1),
    ]),
    # RFC 3261 25.1: host = hostname / IPv4address / IPv6reference (RFC 5954 IPv6)
    ("host", ["example.com", "example.com.", "1.com", "192.0.2.1", "[2001:db8::1]", "[::ffff:192.0.2.1]", "[::]"], [
        ("256.1.1.1", "host: IPv4 octet 256 is above 255", 2),
        ("1.2.3", "host: IPv4 address has only 3 octets", 5),
        ("2001:db8::1", "host: invalid character ':' in host (an IPv6 address needs [ ])", 4),
        ("-a.com", "host: host name label starts with '-'", 0),
        ("a-.com", "host: host name label ends with '-'", 1),
        ("a..com", "host: empty label in host name", 2),
        ("[2001:db8::1", "host: IPv6 reference without ']'", 12),
        ("[2001:db8:::1]", "host: invalid character 0x3a in IPv6 address", 11),  # RFC 5118 4.10
        ("[1:2:3:4:5:6:7:8:9]", "host: too many groups in IPv6 address", 17),
        ("", "host: empty host", 0),
    ]),
    # RFC 3261 25.1: port = 1*DIGIT, 0..65535
    ("port", ["5060", "0", "65535", "00005060"], [
        ("65536", "port: port number 65536 is above 65535", 4),
        ("", "port: empty port number", 0),
        ("5a", "port: invalid character 0x61 in port number", 1),
    ]),
    # RFC 3261 19.1.1, 25.1: user = 1*( unreserved / escaped / user-unreserved )
    ("user", ["alice", "a%20b", "+1-212;x=y"], [
        ("a%2", "user: truncated escape '%' at the end of user", 3),
        ("a%zz", "user: invalid character 0x7a in escape (needs '%' HEXDIG HEXDIG)", 2),
        ("a@b", "user: invalid character 0x40 in user", 1),
        ("a b", "user: invalid character 0x20 in user", 1),
        ("", "user: empty user", 0),
    ]),
    # RFC 3261 7.3.1, 25.1: no CTL but HT
    ("header_value", ["abc", "a\tb", "", "\u00e9"], [
        ("a\r\nb", "header_value: invalid character 0x0d in header value", 1),
        ("a\nb", "header_value: invalid character 0x0a in header value", 1),
        ("a\x00", "header_value: invalid character 0x00 in header value", 1),
        ("a\x7f", "header_value: invalid character 0x7f in header value", 1),
    ]),
    # RFC 3261 19.1, 20.10: sip / sips / tel URI, or a name-addr around one
    ("sip_scheme", ["sip:a@b", "sips:a@b", "tel:+1", "Bob <sip:a@b>"], [
        ("http://x", "sip_scheme: URI scheme 'http' is not sip, sips or tel", 0),
        ("mailto:a@b", "sip_scheme: URI scheme 'mailto' is not sip, sips or tel", 0),
        ("<sip:a@b>;tag=1", "sip_scheme: header parameters after name-addr", 9),
        ("sip:", "sip_scheme: URI: missing host", 4),
    ]),
    # RFC 3261 7.2, 21: 3DIGIT in 100..699
    ("status_code", ["100", "200", "699"], [
        ("099", "status_code: status code 99 is not in 100..699", 0),
        ("700", "status_code: status code 700 is not in 100..699", 0),
        ("20", "status_code: status code '20' has fewer than 3 digits", 2),
        ("2000", "status_code: status code has more than 3 digits", 3),
        ("2a0", "status_code: invalid character 0x61 in status code", 1),
        ("", "status_code: empty status code", 0),
    ]),
    # RFC 3261 8.1.1.5: below 2**31
    ("cseq", ["0", "2147483647"], [
        ("2147483648", "cseq: CSeq number 2147483648 is not below 2**31", 9),
        ("99999999999999999999999999", "cseq: CSeq number 999999999999999999999999... is not below 2**31", 9),
        ("-1", "cseq: invalid character 0x2d in CSeq number", 0),
        ("1 INVITE", "cseq: invalid character 0x20 in CSeq number", 1),
        ("", "cseq: empty CSeq number", 0),
    ]),
    # RFC 3261 7.1: Method = token (RFC 4475 3.1.1.5: RE%47IST%45R is a token)
    ("method", ["INVITE", "RE%47IST%45R"], [
        ("IN VITE", "method: invalid character 0x20 in method", 2),
        ("", "method: empty method", 0),
    ]),
    # RFC 3261 19.1, 25.1 absoluteURI
    ("uri", ["sip:a@b", "foo:bar"], [
        ("nope", "uri: URI: scheme not followed by ':'", 4),
        ("sip:a b@c", "uri: URI user: LWS not allowed", 5),
        ("", "uri: URI: missing scheme", 0),
    ]),
]


@pytest.mark.parametrize("kind, good, bad", CASES, ids=[c[0] for c in CASES])
def test_validator(kind, good, bad):
    """RFC 3261 25.1 (and the section in each CASES entry): accept / reject with reason and offset."""
    v = getattr(V, kind)
    assert isinstance(v, sipdialog.Validator) and v.kind == kind and v.arg == 0
    assert repr(v) == "<Validator %s>" % kind
    for value in good:
        assert v(value) == value
        assert v(value.encode()) == value.encode()  # bytes in, bytes out
    for value, reason, offset in bad:
        assert rejects(v, value) == (reason, offset), value


def test_every_validator_is_covered():
    """RFC 3261 25.1: every rule exported by sipdialog.validators has cases."""
    assert {c[0] for c in CASES} | {"max_length", "min_length"} == set(V.__all__)


def test_length_validators():
    """RFC 3261 25.1 values counted in UTF-8 octets; max_length raises LimitError."""
    assert V.max_length(3)("abc") == "abc"
    with pytest.raises(LimitError) as ei:
        V.max_length(3)("abcd")
    assert (ei.value.reason, ei.value.offset) == ("max_length: value is 4 bytes, more than the maximum of 3", 3)
    with pytest.raises(LimitError) as ei:
        V.max_length(3)("\u00e9\u00e9")  # 4 UTF-8 bytes
    assert ei.value.offset == 3
    assert V.min_length(3)("abc") == "abc"
    assert rejects(V.min_length(3), "ab") == ("min_length: value is 2 bytes, less than the minimum of 3", 2)
    assert repr(V.max_length(3)) == "<Validator max_length(3)>"
    assert (V.max_length(3).kind, V.max_length(3).arg) == ("max_length", 3)


def test_validator_errors_and_unknown_kinds():
    """RFC 3261 25.1 token: the error carries reason and offset."""
    e = pytest.raises(ValidationError, V.token, "a b").value
    assert isinstance(e, ValueError) and isinstance(e, sipdialog.SipError)
    assert str(e) == "token: invalid character 0x20 in token (at byte 1)"
    with pytest.raises(ValueError, match="unknown validator kind 'nope'"):
        sipdialog.Validator("nope")
    with pytest.raises(ValueError, match="unknown sanitizer kind 'nope'"):
        sipdialog.Sanitizer("nope")
    with pytest.raises(TypeError):
        V.token(5)


@pytest.mark.parametrize("sanitizer, value, out", [
    # RFC 3261 7.3.1, 25.1 LWS: strip around, a fold becomes one SP
    (S.trim_lws, "  a  b \r\n c ", "a  b c"),
    (S.trim_lws, "\t\r\n x\r\n\t", "x"),
    (S.trim_lws, " a\r\n b\r\nc ", "a b\r\nc"),  # a bare CRLF is kept for header_value to refuse
    (S.trim_lws, "", ""),
    # RFC 3261 7.3.3: compact form and case to the canonical long name
    (S.canonical_name, "i", "Call-ID"),
    (S.canonical_name, "v", "Via"),
    (S.canonical_name, "l", "Content-Length"),
    (S.canonical_name, "cseq", "CSeq"),
    (S.canonical_name, "CALL-ID", "Call-ID"),
    (S.canonical_name, "X-Foo", "X-Foo"),
    (S.canonical_name, " i", " i"),
    (S.lower, "ABC-Def", "abc-def"),
    (S.lower, "\u00c9", "\u00c9"),  # ASCII only
])
def test_sanitizers(sanitizer, value, out):
    assert sanitizer(value) == out
    assert sanitizer(out) == out  # idempotent
    assert sanitizer(value.encode()) == out.encode()


def test_sanitizer_objects():
    """RFC 3261 7.3.1, 7.3.3: the sanitizers exported."""
    assert repr(S.trim_lws) == "<Sanitizer trim_lws>" and S.trim_lws.kind == "trim_lws"
    assert isinstance(S.lower, sipdialog.Sanitizer)
    assert set(S.__all__) == {"trim_lws", "canonical_name", "lower"}


def test_pipeline_sanitizers_run_first():
    """RFC 3261 8.1.1.4, 20.8 (callid) after LWS trimming (25.1)."""
    pl = sipdialog.ValidationPipeline(validators=[V.callid, V.max_length(256)], sanitizers=[S.trim_lws])
    assert pl.run("  a84b4c76e66710@pc33.atlanta.example.com ") == "a84b4c76e66710@pc33.atlanta.example.com"
    assert pl("a84b4c76e66710@pc33") == "a84b4c76e66710@pc33"
    with pytest.raises(ValidationError) as ei:
        pl.run(" bad call id")
    # the offset is into the sanitized value
    assert (ei.value.reason, ei.value.offset) == ("callid: invalid character 0x20 in Call-ID", 3)


def test_pipeline_sanitizers_in_order():
    """RFC 3261 7.3.3: sanitizers run in the order given."""
    pl = sipdialog.ValidationPipeline(validators=[V.token], sanitizers=[S.canonical_name, S.lower])
    assert pl.run("i") == "call-id"
    pl = sipdialog.ValidationPipeline(sanitizers=[S.lower, S.canonical_name])
    assert pl.run("I") == "Call-ID"


def test_pipeline_validators_in_order():
    """RFC 3261 25.1 token: validators run in the order given, the first failure raises."""
    pl = sipdialog.ValidationPipeline(validators=[V.max_length(3), V.token])
    with pytest.raises(LimitError):
        pl.run("a b c")
    with pytest.raises(ValidationError, match="token"):
        pl.run("a b")


def test_pipeline_is_valid():
    """RFC 3261 20.8 callid: is_valid() is run() without the exception."""
    pl = sipdialog.ValidationPipeline(validators=[V.callid, V.max_length(10)], sanitizers=[S.trim_lws])
    assert pl.is_valid(" abc@host ")
    assert not pl.is_valid("a b")
    assert not pl.is_valid("x" * 11)  # a LimitError is invalid too
    with pytest.raises(TypeError):
        pl.is_valid(5)


def test_pipeline_repr_and_attributes():
    """RFC 3261 20.8: a Call-ID pipeline shows its steps."""
    pl = sipdialog.ValidationPipeline(validators=[V.callid, V.max_length(256)], sanitizers=[S.trim_lws])
    assert repr(pl) == ("ValidationPipeline(validators=(<Validator callid>, <Validator max_length(256)>), "
                        "sanitizers=(<Sanitizer trim_lws>,))")
    assert pl.validators == (V.callid, pl.validators[1]) and pl.sanitizers == (S.trim_lws,)
    empty = sipdialog.ValidationPipeline()
    assert repr(empty) == "ValidationPipeline(validators=(), sanitizers=())"
    assert empty.run("anything\x00") == "anything\x00"


def test_pipeline_construction_errors():
    """Pipelines hold Validators and Sanitizers only (RFC 3261 25.1 rules)."""
    with pytest.raises(TypeError, match="validators\\[0\\] is not a Validator"):
        sipdialog.ValidationPipeline(validators=[S.lower])
    with pytest.raises(TypeError, match="sanitizers\\[0\\] is not a Sanitizer"):
        sipdialog.ValidationPipeline(sanitizers=[V.token])
    with pytest.raises(ValueError, match="at most 16"):
        sipdialog.ValidationPipeline(validators=[V.token] * 17)


# ---------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------


@pytest.fixture
def restore_default_limits():
    old = sipdialog.get_default_limits()
    yield
    sipdialog.set_default_limits(old)
    assert sipdialog.get_default_limits() == old


def test_limits_defaults():
    """RFC 3261 18.1.1 (messages near 64 KiB) and the default Limits."""
    assert sipdialog.Limits() == sipdialog.Limits(
        max_message=65535, max_header_line=8192, max_uri=2048, max_call_id=256,
        max_tag=256, max_headers=256, max_via=64, max_body=65536)
    assert sipdialog.get_default_limits() == sipdialog.Limits()


@pytest.mark.parametrize("value", [-1, 2**31, True, 1.0, "5", None])
def test_limits_validation(value):
    """Limits are ints in 0..2**31-1 (RFC 3261 8.1.1.5 uses the same bound for CSeq)."""
    with pytest.raises(ValueError, match="max_message must be an int in 0..2\\*\\*31-1"):
        sipdialog.Limits(max_message=value)


def test_limits_are_frozen():
    """Limits are immutable values (RFC 3261 8.1.1.5: the 2**31-1 bound is accepted)."""
    with pytest.raises(AttributeError):
        sipdialog.Limits().max_message = 5
    assert sipdialog.Limits(max_message=2**31 - 1).max_message == 2**31 - 1
    assert sipdialog.Limits(max_body=0).max_body == 0


def test_set_default_limits_round_trip(restore_default_limits):
    """RFC 3261 8.1.1.4 (Call-ID) under a small default max_call_id; the default is restored after."""
    request = (b"OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
               b"Max-Forwards: 70\r\nTo: <sip:bob@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\n"
               b"Call-ID: abcdefghijk\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(TypeError, match="limits must be a sipdialog.Limits"):
        sipdialog.set_default_limits({"max_message": 5})
    small = sipdialog.Limits(max_call_id=10)
    sipdialog.set_default_limits(small)
    assert sipdialog.get_default_limits() is small
    with pytest.raises(LimitError, match="Call-ID of 11 bytes exceeds the limit of 10"):
        sipdialog.parse(request)
    with pytest.raises(LimitError):
        next(iter(sipdialog.StreamParser().feed(request)))
    with pytest.raises(LimitError):
        sipdialog.Request("OPTIONS", "sip:bob@example.com", headers=[
            ("Via", "SIP/2.0/UDP h.example.com;branch=z9hG4bK1"), ("Max-Forwards", "70"),
            ("To", "<sip:bob@example.com>"), ("From", "<sip:a@example.com>;tag=1"),
            ("Call-ID", "abcdefghijk"), ("CSeq", "1 OPTIONS")])
    # an explicit limits= wins over the default
    assert sipdialog.parse(request, limits=sipdialog.Limits()).call_id == "abcdefghijk"
    sipdialog.set_default_limits(sipdialog.Limits())
    assert sipdialog.parse(request).call_id == "abcdefghijk"
