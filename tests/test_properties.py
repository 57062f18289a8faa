"""Property tests (hypothesis) for sipdialog's message layer.

(a) generated messages parse and round-trip, and every field equals the
    part it was built from;
(b) damaged messages (generated ones, benchmarks/corpus and tests/data/torture)
    either parse or raise ParseError, for parse() and for StreamParser fed in
    random chunks;
(c) sanitizers are idempotent, and each validator accepts exactly the
    language of its RFC 3261 section 25.1 rule, checked against an
    independent oracle written here with `re` and `ipaddress`;
(d) every sipdialog.Limits limit accepts a value at the limit and raises
    LimitError one byte (or item) past it.

The profile "sipdialog-properties" keeps the file fast;
SIPDIALOG_HYPOTHESIS_PROFILE=sipdialog-properties-thorough runs 20 times as
many examples.
"""
from __future__ import annotations

import ipaddress
import os
import pathlib
import re

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import sipdialog  # noqa: E402
from sipdialog import (  # noqa: E402
    LimitError, Limits, ParseError, Request, Response, StreamParser, ValidationError,
    ValidationPipeline, parse, sanitizers, validators,
)
from sipdialog import strategies as sips  # noqa: E402

settings.register_profile(
    "sipdialog-properties",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
settings.register_profile("sipdialog-properties-thorough", settings.get_profile("sipdialog-properties"),
                          max_examples=800)
# CI: the same examples every run (a fresh machine has no example database), so
# a red build always reproduces; local runs keep exploring new inputs.
settings.register_profile("sipdialog-properties-ci", settings.get_profile("sipdialog-properties"),
                          derandomize=True, database=None)
PROFILE = settings.get_profile(os.environ.get("SIPDIALOG_HYPOTHESIS_PROFILE", "sipdialog-properties"))


def props(weight: float = 1.0) -> settings:
    """The profile with its example count scaled by ``weight``."""
    return settings(PROFILE, max_examples=max(5, int(PROFILE.max_examples * weight)))


ROOT = pathlib.Path(__file__).resolve().parents[1]
FILES = sorted(list((ROOT / "benchmarks" / "corpus").glob("*.sip")) +
               list((ROOT / "tests" / "data" / "torture").glob("*.dat")))
assert FILES, "the corpus and the torture messages are part of the repository"
FILE_BYTES = {f.name: f.read_bytes() for f in FILES}

# ---------------------------------------------------------------------------
# helpers


def _wire(start: str, headers, body: bytes = b"", *, content_length: bool = True) -> bytes:
    """Serialize a message independently of sipdialog."""
    lines = [start] + ["%s: %s" % (n, v) for n, v in headers]
    if content_length:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


BASE = [
    ("Via", "SIP/2.0/UDP host.example.com;branch=z9hG4bK1"),
    ("From", "<sip:a@example.com>;tag=1"),
    ("To", "<sip:b@example.com>"),
    ("Call-ID", "c1"),
    ("CSeq", "1 OPTIONS"),
    ("Max-Forwards", "70"),
]
START = "OPTIONS sip:b@example.com SIP/2.0"


def _replace(headers, name, value):
    return [(n, value if n == name else v) for n, v in headers]


def _uris_check(m) -> bool:
    """True when the message also passes the parse-time URI checks (check_uris=True)."""
    try:
        parse(bytes(m), check_uris=True)
    except TypeError:  # a build without check_uris parses every URI at once
        return True
    except ParseError:
        return False
    return True


def _touch(m) -> None:
    """Use every accessor of a parsed message. None may raise, except that the URIs
    of From, To, Contact, Route and Record-Route are parsed when read: a message
    whose URIs fail check_uris=True may raise ParseError there. create_response
    answers every parsed request but ACK (RFC 3261 17.1.1.3: never answered)."""
    m.call_id, m.from_tag, m.to_tag, m.cseq, m.body, m.max_forwards, m.content_length
    m.via_branch, repr(m), m.is_request
    items = m.headers.items()
    assert len(m.headers) == len(items)
    for name, _ in items:
        assert m.headers.fields(name)
        assert m.headers.getall(name) is not None
        assert name in m.headers
    m.headers.keys()
    for v in m.vias:
        v.branch, v.rport, v.ttl, v.host, v.port
    if m.is_request:
        str(m.uri), m.method
    else:
        m.status_code, m.reason
    strict = _uris_check(m)
    try:
        m.from_.tag, m.to.tag, m.from_.uri, m.to.uri
        m.contacts, m.routes, m.record_routes
    except ParseError:
        assert not strict
    if m.is_request and m.method != "ACK":
        resp = m.create_response(500)
        assert resp.call_id == m.call_id and resp.to_tag
    elif m.is_request:
        with pytest.raises(ValidationError):
            m.create_response(500)


def _check_parse(data: bytes) -> None:
    """parse(data) returns a message that round-trips, or raises ParseError."""
    try:
        m = parse(data)
    except ParseError as e:  # LimitError included
        assert isinstance(e.reason, str) and e.reason
        assert e.offset is None or 0 <= e.offset <= len(data), (e.offset, len(data))
        return
    _touch(m)
    assert parse(bytes(m)) == m


def _drain(sp: StreamParser) -> list:
    out = []
    while True:
        try:
            m = next(sp)
        except StopIteration:
            return out
        except ParseError:
            if sp.broken:
                return out
            continue
        _touch(m)
        assert parse(bytes(m), stream=True) == m
        out.append(m)


def _check_stream(data: bytes, sizes) -> list:
    """Feed data in chunks of the given sizes (cycled): messages or ParseError only."""
    sp = StreamParser()
    got = []
    pos = i = 0
    while pos < len(data):
        n = sizes[i % len(sizes)]
        i += 1
        try:
            assert sp.feed(data[pos:pos + n]) is sp
        except ParseError:
            assert sp.broken
            return got
        pos += n
        got += _drain(sp)
    return got + _drain(sp)


chunk_sizes = st.lists(st.integers(1, 80), min_size=1, max_size=6)


# ---------------------------------------------------------------------------
# (a) generated messages parse and round-trip


def _check_fields(p, parts: sips.MessageParts) -> None:
    assert p.headers.items() == parts.expected_items()
    assert p.call_id == parts.call_id
    assert p.from_tag == parts.from_tag
    assert p.to_tag == parts.to_tag
    assert p.cseq == parts.cseq
    assert (p.cseq.seq, p.cseq.method) == parts.cseq
    assert p.body == parts.body
    assert p.content_length == len(parts.body)
    assert p.max_forwards == parts.max_forwards
    assert p.headers.getall("Via") == list(parts.vias)
    assert [str(v) for v in p.vias] == list(parts.vias)
    for name, value in parts.headers:
        assert value in p.headers.fields(name)
        assert p.headers.fields(name.upper()) == p.headers.fields(name.lower())
        assert p.headers.fields(sipdialog.canonical_name(name)) == p.headers.fields(name)
    # RFC 3261 7.3.3: compact and long forms name the same header
    assert p.headers["Call-ID"] == p.headers["i"] == parts.call_id
    assert p.headers.fields("From") == p.headers.fields("f")
    assert p.headers.fields("Via") == p.headers.fields("v")


@props(2)
@given(sips.message_parts("request"))
def test_generated_request_round_trips(parts):
    """RFC 3261 7.1, 7.3 and 8.1.1: a request with Via, From, To, Call-ID, CSeq and
    Max-Forwards parses; parse(bytes(m)) == m; method, Request-URI, every header
    (names as written, compact forms kept), Call-ID, tags (19.3), CSeq (20.16) and
    the body framed by Content-Length (20.14) equal the parts it was built from."""
    m = parts.build()
    assert isinstance(m, Request)
    wire = bytes(m)
    p = parse(wire)
    assert isinstance(p, Request)
    assert p == m and not (p != m)
    assert p.method == parts.method == p.cseq.method
    assert p.request_uri == parts.uri and str(p.uri) == parts.uri
    _check_fields(p, parts)
    assert Request(parts.method, parts.uri, list(parts.headers), parts.body) == p
    assert parse(parts.wire()) == p
    assert parse(wire, check_uris=True) == p
    assert parse(wire.decode("utf-8", "surrogateescape")) == p
    assert parse(b"\r\n\r\n" + wire) == p  # RFC 3261 7.5: leading CRLFs ignored


@props(2)
@given(sips.message_parts("response"))
def test_generated_response_round_trips(parts):
    """RFC 3261 7.2 and 8.2.6: a response (Status-Line SIP/2.0 3DIGIT Reason-Phrase)
    with Via, From, To, Call-ID and CSeq parses; parse(bytes(m)) == m and the
    status code, reason phrase, headers, tags, CSeq and body equal the parts."""
    m = parts.build()
    assert isinstance(m, Response)
    p = parse(bytes(m))
    assert isinstance(p, Response)
    assert p == m
    assert p.status_code == parts.status_code
    assert p.reason == parts.reason
    _check_fields(p, parts)
    assert Response(parts.status_code, parts.reason, list(parts.headers), parts.body) == p
    assert parse(parts.wire()) == p
    assert parse(bytes(m), check_uris=True) == p


@props(0.5)
@given(sips.messages())
def test_message_strategies_round_trip(m):
    """RFC 3261 7: requests() and responses() build messages that parse back equal,
    and a request's CSeq method equals its method (8.1.1.5)."""
    assert parse(bytes(m)) == m
    if m.is_request:
        assert m.cseq.method == m.method


@props(1)
@given(st.lists(sips.message_parts(extra=False), min_size=1, max_size=4),
       st.lists(st.sampled_from([b"", b"", b"\r\n", b"\r\n\r\n"]), min_size=4, max_size=4),
       chunk_sizes)
def test_stream_parser_frames_generated_messages(parts_list, keepalives, sizes):
    """RFC 3261 18.3: on a stream, messages are framed by Content-Length, whatever
    the chunking; CRLFs between messages are skipped (7.5, RFC 5626 keep-alives)."""
    msgs = [p.build() for p in parts_list]
    data = b"".join(k + bytes(m) for k, m in zip(keepalives, msgs))
    got = _check_stream(data, sizes)
    assert got == msgs


@props(1)
@given(sips.message_parts("request", extra=False), st.one_of(st.none(), sips.tags()),
       sips.status_codes())
def test_create_response_copies_dialog_headers(parts, to_tag, status):
    """RFC 3261 8.2.6.2: a response copies every Via in order, From, To (adding
    the To tag when the request has none), Call-ID and CSeq."""
    req = parts.build()
    if req.method == "ACK":  # RFC 3261 17.1.1.3: an ACK gets no response
        with pytest.raises(ValidationError):
            req.create_response(status, to_tag=to_tag)
        return
    if req.to_tag is not None:
        to_tag = req.to_tag if to_tag is not None else None
    resp = req.create_response(status, to_tag=to_tag)
    assert resp.status_code == status
    assert resp.headers.getall("Via") == req.headers.getall("Via")
    assert resp.call_id == req.call_id
    assert resp.from_tag == req.from_tag
    assert resp.cseq == req.cseq
    if req.to_tag is not None or to_tag is not None:
        assert resp.to_tag == (req.to_tag if req.to_tag is not None else to_tag)
    elif status == 100:
        assert resp.to_tag is None  # 8.2.6.2: 100 Trying may go without a tag
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", resp.to_tag)  # 128 random bits, made for the UAS
    assert parse(bytes(resp)) == resp


_HCOLON = [": ", ":", " : ", "\t:\t", ":\r\n ", ": \r\n\t", "  :   "]
_FOLDS = ["\r\n ", "\r\n\t", " \r\n ", "\r\n  ", " \r\n\t "]


@st.composite
def _respelled(draw, parts: sips.MessageParts) -> bytes:
    """The wire form of parts with every header line written another legal way:
    name case changed, whitespace around the colon (HCOLON), and single SPs of the
    value replaced by folds (LWS = [*WSP CRLF] 1*WSP)."""
    start = _start_line(parts)
    version = draw(st.sampled_from(["SIP/2.0", "sip/2.0", "Sip/2.0"]))  # ABNF strings: any case
    start = version + start[7:] if not parts.is_request else start[:-7] + version
    lines = [start]
    for name, value in parts.expected_items():
        if name == "Content-Length":
            name = draw(st.sampled_from(["Content-Length", "l", "L"]))
        mask = draw(st.integers(0, (1 << len(name)) - 1))
        name = "".join(c.swapcase() if mask >> i & 1 else c for i, c in enumerate(name))
        spots = [i for i in range(1, len(value) - 1)
                 if value[i] == " " and value[i - 1] not in " \t\\" and value[i + 1] not in " \t"]
        chosen = draw(st.sets(st.sampled_from(spots), max_size=3)) if spots else set()
        value = "".join(draw(st.sampled_from(_FOLDS)) if i in chosen else c for i, c in enumerate(value))
        lines.append(name + draw(st.sampled_from(_HCOLON)) + value)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + parts.body


@props(2)
@given(sips.message_parts(), st.data())
def test_equivalent_spellings_parse_equal(parts, data):
    """RFC 3261 7.3.1: header names are case-insensitive (compact forms too, 7.3.3),
    any amount of SP/HT may surround the colon, and a folded value (CRLF followed
    by SP or HT) means the same as the value unfolded; RFC 5234 2.3: the literal
    "SIP" of SIP-Version is case-insensitive. Each respelling parses equal to the
    original, with the same fields."""
    m = parts.build()
    wire = data.draw(_respelled(parts), label="respelled")
    p = parse(wire)
    assert p == m
    assert [v for _, v in p.headers.items()] == [v for _, v in parts.expected_items()]
    assert (p.call_id, p.from_tag, p.to_tag, p.cseq, p.body) == \
        (parts.call_id, parts.from_tag, parts.to_tag, parts.cseq, parts.body)
    assert p.headers.getall("Via") == list(parts.vias)
    got = _check_stream(wire, [len(wire)])
    assert got == [m]


# ---------------------------------------------------------------------------
# (b) damage: parse or ParseError, nothing else


@props(3)
@given(sips.message_parts(), st.data(), chunk_sizes)
def test_damaged_generated_messages_parse_or_raise(parts, data, sizes):
    """RFC 3261 7 and 18.3 (a malformed message is rejected, RFC 4475 section 3.1.2):
    any truncation, byte flip, insertion, deletion or duplication of a valid
    message either parses (and round-trips) or raises ParseError; the same bytes
    fed to a StreamParser in random chunks give messages or ParseError."""
    wire = bytes(parts.build())
    damaged = data.draw(sips.mutations(wire), label="damaged")
    _check_parse(damaged)
    _check_stream(damaged, sizes)


@props(6)
@given(st.data(), chunk_sizes)
def test_damaged_corpus_messages_parse_or_raise(data, sizes):
    """RFC 4475 / RFC 5118 torture messages and the shared corpus, damaged at random:
    parse() and StreamParser either give messages or raise ParseError (RFC 3261 7,
    18.3), never another exception."""
    name = data.draw(st.sampled_from(sorted(FILE_BYTES)), label="file")
    damaged = data.draw(sips.mutations(FILE_BYTES[name], max_steps=4), label="damaged")
    _check_parse(damaged)
    _check_stream(damaged, sizes)


@pytest.mark.parametrize("name", sorted(FILE_BYTES))
def test_corpus_messages_parse_or_raise(name):
    """RFC 4475 / RFC 5118 and the shared corpus as they are: parse or ParseError,
    in one piece and byte by byte on a stream (RFC 3261 18.3)."""
    _check_parse(FILE_BYTES[name])
    _check_stream(FILE_BYTES[name], [1])
    _check_stream(FILE_BYTES[name], [7, 64])


@props(2)
@given(st.binary(max_size=300), chunk_sizes)
def test_arbitrary_bytes_parse_or_raise(data, sizes):
    """RFC 3261 7: arbitrary octets are a message or a ParseError, never a crash."""
    _check_parse(data)
    _check_stream(data, sizes)


# ---------------------------------------------------------------------------
# (c) sanitizers and validators

LWS_RICH = st.lists(st.sampled_from(list(" \t\r\n \r\n\t") + list("aBzZ:-,;\"") + ["\r\n ", "\r\n\t"]),
                    max_size=30).map("".join)
NAMES = st.one_of(st.sampled_from(list("abcdefghijklmnopqrstuvwxyzABCIMV")),
                  sips.header_names(), st.text(st.sampled_from("aBcI-dL :\t"), max_size=12))
SANITIZERS = {"trim_lws": sanitizers.trim_lws, "canonical_name": sanitizers.canonical_name,
              "lower": sanitizers.lower}


@pytest.mark.parametrize("name", sorted(SANITIZERS))
@props(2)
@given(st.one_of(LWS_RICH, NAMES, st.text(max_size=20)))
def test_sanitizers_are_idempotent(name, text):
    """RFC 3261 7.3.1 (LWS, folding, case-insensitive names) and 7.3.3 (compact
    forms): each sanitizer maps a value to a normal form, so
    sanitize(sanitize(x)) == sanitize(x), for str and for bytes."""
    s = SANITIZERS[name]
    once = s(text)
    assert s(once) == once
    b = text.encode("utf-8")
    assert s(s(b)) == s(b)
    assert s(b) == once.encode("utf-8")


@props(2)
@given(LWS_RICH)
def test_trim_lws_result(text):
    """RFC 3261 7.3.1 / 25.1 LWS: trim_lws strips surrounding SP/HT/CR/LF and turns
    a fold (CRLF followed by SP or HT) into one SP; a value whose line breaks are
    all folds comes out on one line."""
    out = sanitizers.trim_lws(text)
    assert out == out.strip(" \t\r\n")
    if "\r" not in re.sub(r"\r\n[ \t]", "", text) and "\n" not in re.sub(r"\r\n[ \t]", "", text):
        assert "\r" not in out and "\n" not in out


@props(1)
@given(st.one_of(LWS_RICH, NAMES))
def test_pipeline_of_sanitizers_is_idempotent(text):
    """RFC 3261 7.3.1: trim_lws, then canonical_name, then lower is a normal form too."""
    pl = ValidationPipeline(sanitizers=[sanitizers.trim_lws, sanitizers.canonical_name,
                                        sanitizers.lower])
    once = pl.run(text)
    assert pl.run(once) == once


# The oracle: RFC 3261 25.1 rules as Python regular expressions over bytes.
_TOKEN = rb"[A-Za-z0-9.!%*_+`'~-]+"
_WORD = rb"[A-Za-z0-9.!%*_+`'~()<>:\\\"/\[\]?{}-]+"
_UTF8_NONASCII = (rb"[\xc0-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf7][\x80-\xbf]{3}"
                  rb"|[\xf8-\xfb][\x80-\xbf]{4}|[\xfc-\xfd][\x80-\xbf]{5}")
_QUOTED = (rb'"(?:[ \t\x21\x23-\x5b\x5d-\x7e]|\r\n[ \t]|' + _UTF8_NONASCII
           + rb'|\\[\x00-\x09\x0b\x0c\x0e-\x7f])*"')
_LABEL = rb"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_TOPLABEL = rb"(?:[A-Za-z]|[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9])"
_HOSTNAME = rb"(?:" + _LABEL + rb"\.)*" + _TOPLABEL + rb"\.?"
_IPV4 = rb"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})"
_USER = rb"(?:[A-Za-z0-9_.!~*'()&=+$,;?/-]|%[0-9A-Fa-f]{2})+"


def _full(pattern: bytes, value: bytes) -> bool:
    return re.fullmatch(pattern, value) is not None


def _is_ipv4(value: bytes) -> bool:
    """IPv4address = 4 x 1*3DIGIT, each octet at most 255 (the range sipdialog's
    validator documents, as RFC 3986 dec-octet)."""
    m = re.fullmatch(_IPV4, value)
    return m is not None and all(int(g) <= 255 for g in m.groups())


def _is_ipv6(value: bytes) -> bool:
    """IPv6address of RFC 5954 (RFC 3261's, corrected) through the ipaddress module;
    the IPv4 tail is checked by _is_ipv4 (ipaddress refuses leading zeros that
    1*3DIGIT allows)."""
    if not re.fullmatch(rb"[0-9A-Fa-f:.]+", value) or b":" not in value:
        return False
    text = value.decode("ascii")
    if "." in text:
        head, _, tail = text.rpartition(":")
        if not _is_ipv4(tail.encode()):
            return False
        text = head + ":0:0"  # the tail counts as two groups
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _is_host(value: bytes) -> bool:
    if value[:1] == b"[" and value[-1:] == b"]":
        return _is_ipv6(value[1:-1])
    return _full(_HOSTNAME, value) or _is_ipv4(value)


def _number(value: bytes, limit: int) -> bool:
    return _full(rb"[0-9]+", value) and int(value) <= limit


ORACLES = {
    "token": lambda v: _full(_TOKEN, v),
    "word": lambda v: _full(_WORD, v),
    "callid": lambda v: _full(_WORD + rb"(?:@" + _WORD + rb")?", v),
    "tag": lambda v: _full(_TOKEN, v),
    "method": lambda v: _full(_TOKEN, v),
    "quoted_string": lambda v: _full(_QUOTED, v),
    "host": _is_host,
    "port": lambda v: _number(v, 65535),
    "user": lambda v: _full(_USER, v),
    "status_code": lambda v: _full(rb"[0-9]{3}", v) and 100 <= int(v) <= 699,
    "cseq": lambda v: _number(v, 2**31 - 1),
    "header_value": lambda v: _full(rb"[^\x00-\x08\x0a-\x1f\x7f]*", v),
}


def _enc(s: st.SearchStrategy) -> st.SearchStrategy:
    return s.map(lambda v: v.encode("utf-8"))


@st.composite
def _quoted_with_folds(draw):
    """quoted-string with LWS folds and quoted-pairs of control octets too."""
    body = draw(st.lists(st.one_of(
        st.sampled_from([b"a", b" ", b"\t", b"!", b"~", b"#", b"[", b"]"]),
        st.sampled_from([b"\r\n ", b"\r\n\t", b" \r\n  "]),
        st.sampled_from([bytes([c]) for c in range(0x80) if c not in (0x0A, 0x0D)]).map(lambda c: b"\\" + c),
        st.sampled_from(["é", "€", "😀"]).map(lambda c: c.encode()),
        st.sampled_from([b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80", b"\xc0\x80"]),
    ), max_size=12))
    return b'"' + b"".join(body) + b'"'


GRAMMAR = {
    "token": _enc(sips.tokens()),
    "word": _enc(sips.words()),
    "callid": _enc(sips.call_ids()),
    "tag": _enc(sips.tags()),
    "method": _enc(sips.methods()),
    "quoted_string": st.one_of(_enc(sips.quoted_strings()), _quoted_with_folds()),
    "host": _enc(sips.hosts()),
    "port": st.one_of(_enc(sips.ports()), st.integers(0, 65535).map(lambda n: b"%06d" % n)),
    "user": _enc(sips.users()),
    "status_code": _enc(sips.status_codes().map(str)),
    "cseq": st.one_of(st.integers(0, 2**31 - 1).map(lambda n: str(n).encode()),
                      st.integers(0, 2**31 - 1).map(lambda n: b"%012d" % n)),
    "header_value": st.one_of(_enc(sips.header_values()), st.binary().map(
        lambda b: bytes(c for c in b if c == 9 or (c >= 0x20 and c != 0x7F)))),
}

_NOISE_CHARS = {
    "token": sips.TOKEN_CHARS + " ()<>:\\\"/[]?{}@;,=\t\x00\x7f",
    "word": sips.WORD_CHARS + "@ ;,=\t\r\n\x00\x7f#&|^",
    "callid": sips.WORD_CHARS + "@@@ ;,=\t\x00\x7f",
    "tag": sips.TOKEN_CHARS + " ;=\"<>@\x00",
    "method": sips.TOKEN_CHARS + " ;:/\x00",
    "quoted_string": '"""\\\\  \t\r\n\r\naz!#[]~\x00\x01\x7f',
    "host": "abcZ019-.-..:::[]%_@ \x00",
    "port": "0123456789 +-a",
    "user": sips.USER_CHARS + "%%%%0fFgG@: <>\"[]",
    "status_code": "01234567899 a",
    "cseq": "0123456789 +-",
    "header_value": "aZ \t\r\n\x00\x01\x1f\x7f\"\\",
}


def _noise(name: str) -> st.SearchStrategy:
    chars = [c.encode("latin-1") for c in _NOISE_CHARS[name]] + [b"\x80", b"\xc3\xa9", b"\xff", b"\xe2\x82"]
    return st.one_of(
        st.lists(st.sampled_from(chars), max_size=24).map(b"".join),
        st.binary(max_size=10),
        GRAMMAR[name].flatmap(lambda v: sips.mutations(v, max_steps=2)),
    )


VALIDATORS = {name: getattr(validators, name) for name in ORACLES}


@pytest.mark.parametrize("name", sorted(ORACLES))
@props(1.5)
@given(data=st.data())
def test_validator_accepts_its_grammar(name, data):
    """RFC 3261 25.1 (token, word, callid, tag, quoted-string, host incl. IPv4address
    and IPv6reference, port, user, Status-Code, CSeq number, header value, Method):
    every value drawn from the rule is accepted, returned unchanged, and the
    oracle agrees."""
    value = data.draw(GRAMMAR[name], label="value")
    assert ORACLES[name](value), value
    assert VALIDATORS[name](value) == value


@pytest.mark.parametrize("name", sorted(ORACLES))
@props(4)
@given(data=st.data())
def test_validator_matches_oracle(name, data):
    """RFC 3261 25.1: on random octets, near-misses of the rule (damaged grammar values)
    and noise over the rule's alphabet, the validator accepts exactly what the
    oracle built from the ABNF accepts; a refusal is a ValidationError whose offset
    lies within the value."""
    value = data.draw(_noise(name), label="value")
    expected = ORACLES[name](value)
    try:
        got = VALIDATORS[name](value)
    except ValidationError as e:
        assert not expected, "valid %s refused: %r (%s)" % (name, value, e)
        assert e.offset is None or 0 <= e.offset <= len(value)
    else:
        assert expected, "invalid %s accepted: %r" % (name, value)
        assert got == value


@example(b"1:2:3:4:5:6:7::")
@example(b"::1:2:3:4:5:6:7")
@example(b"1::2:3:4:5:6:7")
@example(b"::ffff:001.002.003.004")
@example(b"1:2:3:4:5:6:7:1.2.3.4")
@example(b"1:2:3:4:5:6::1.2.3.4")
@example(b"1:2:3:4:5::1.2.3.4")
@example(b":::")
@example(b"1:::2")
@example(b"::1:")
@props(1)
@given(st.one_of(_enc(sips.ipv6_addresses()),
                 st.lists(st.sampled_from(list(b"0aF:.19")), max_size=20).map(bytes)))
def test_host_validator_ipv6_reference(inner):
    """RFC 3261 25.1 IPv6reference = "[" IPv6address "]" (RFC 5954 grammar): the host
    validator agrees with the ipaddress-based oracle on bracketed addresses."""
    value = b"[" + inner + b"]"
    try:
        validators.host(value)
        got = True
    except ValidationError:
        got = False
    assert got == _is_ipv6(inner), value


# ---------------------------------------------------------------------------
# (d) limits: accepted at the limit, LimitError one past it


def _start_line(parts: sips.MessageParts) -> str:
    if parts.is_request:
        return "%s %s SIP/2.0" % (parts.method, parts.uri)
    return "SIP/2.0 %03d %s" % (parts.status_code, parts.reason)


def _accepts(data: bytes, **limits) -> None:
    m = parse(data, limits=Limits(**limits))
    assert parse(bytes(m), limits=Limits(**limits)) == m


def _refuses(data: bytes, **limits) -> None:
    with pytest.raises(LimitError):
        parse(data, limits=Limits(**limits))


def _stream_accepts(data: bytes, **limits) -> None:
    sp = StreamParser(limits=Limits(**limits)).feed(data)
    assert len(list(sp)) == 1


def _stream_refuses(data: bytes, **limits) -> None:
    sp = StreamParser(limits=Limits(**limits)).feed(data)
    with pytest.raises(LimitError):
        list(sp)


@props(1)
@given(sips.message_parts(), st.booleans())
def test_max_message(parts, with_length):
    """RFC 3261 18.1.1 / 18.3 (message size, Content-Length framing) and
    sipdialog.Limits.max_message: a message of exactly max_message bytes (headers
    plus body, with or without Content-Length) is accepted, one byte less of limit
    raises LimitError; the same on a stream."""
    data = parts.wire() if with_length else _wire(_start_line(parts), parts.headers, parts.body,
                                                       content_length=False)
    n = len(data)
    _accepts(data, max_message=n)
    _refuses(data, max_message=n - 1)
    if with_length:
        _stream_accepts(data, max_message=n)
        _stream_refuses(data, max_message=n - 1)


def test_max_message_default():
    """RFC 3261 18.1.1 and sipdialog.Limits: 65535 bytes (the default max_message) are
    accepted, 65536 raise LimitError."""
    pad = 65535 - len(_wire(START, BASE, b"x" * 60000)) + 60000  # same Content-Length width
    ok = _wire(START, BASE, b"x" * pad)
    assert len(ok) == 65535
    assert parse(ok).body == b"x" * pad
    big = _wire(START, BASE, b"x" * (pad + 1))
    assert len(big) == 65536
    with pytest.raises(LimitError):
        parse(big)


@props(1)
@given(st.integers(120, 600), st.sampled_from(["X-Pad", "Subject", "s"]), st.booleans())
def test_max_header_line(limit, name, fold):
    """RFC 3261 7.3.1 (a header field, folds included, is one logical line) and
    sipdialog.Limits.max_header_line: a logical line of exactly the limit (without
    its CRLF) is accepted, one byte longer raises LimitError."""
    prefix = name + ": "
    body_len = limit - len(prefix)
    if fold:
        value = "a" * (body_len - 13) + "\r\n b" + "c" * 9
    else:
        value = "v" * body_len
    assert len(prefix + value) == limit
    data = _wire(START, BASE + [(name, value)])
    _accepts(data, max_header_line=limit)
    _refuses(data, max_header_line=limit - 1)
    _refuses(_wire(START, BASE + [(name, value + "w")]), max_header_line=limit)


def test_max_header_line_default():
    """RFC 3261 7.3.1, 7.2 and sipdialog.Limits: with the default max_header_line
    (8192) a header line or a Status-Line of 8192 bytes is accepted, 8193 raise
    LimitError."""
    value = "a" * (8192 - len("X-Long: "))
    parse(_wire(START, BASE + [("X-Long", value)]))
    with pytest.raises(LimitError):
        parse(_wire(START, BASE + [("X-Long", value + "a")]))
    base_resp = [h for h in BASE if h[0] != "Max-Forwards"]
    reason = "r" * (8192 - len("SIP/2.0 200 "))
    assert parse(_wire("SIP/2.0 200 " + reason, base_resp)).reason == reason
    with pytest.raises(LimitError):
        parse(_wire("SIP/2.0 200 " + reason + "r", base_resp))


def _uri_of_length(n: int, host: str = "example.com") -> str:
    return "sip:" + "u" * (n - len("sip:@") - len(host)) + "@" + host


@props(1)
@given(st.integers(30, 400), st.sampled_from(["ruri", "From", "To", "Contact", "Route"]))
def test_max_uri(limit, where):
    """RFC 3261 19.1.1 (SIP-URI) and sipdialog.Limits.max_uri: a Request-URI, or a URI in
    From, To, Contact or Route, of exactly max_uri bytes is accepted, one more
    raises LimitError."""
    def build(uri):
        if where == "ruri":
            return _wire("OPTIONS %s SIP/2.0" % uri, BASE)
        if where in ("From", "To"):
            tag = ";tag=1" if where == "From" else ""
            return _wire(START, _replace(BASE, where, "<%s>%s" % (uri, tag)))
        return _wire(START, BASE + [(where, "<%s>" % uri)])
    uri = _uri_of_length(limit)
    assert len(uri) == limit
    _accepts(build(uri), max_uri=limit)
    _refuses(build(uri), max_uri=limit - 1)
    _refuses(build(_uri_of_length(limit + 1)), max_uri=limit)


def test_max_uri_default():
    """RFC 3261 19.1.1 and sipdialog.Limits: a 2048-byte Request-URI (the default
    max_uri) is accepted, 2049 bytes raise LimitError."""
    assert parse(_wire("OPTIONS %s SIP/2.0" % _uri_of_length(2048), BASE)).request_uri == _uri_of_length(2048)
    with pytest.raises(LimitError):
        parse(_wire("OPTIONS %s SIP/2.0" % _uri_of_length(2049), BASE))


@st.composite
def _word_of_length(draw, n: int, at: bool) -> str:
    if at and n >= 3:
        left = draw(st.integers(1, n - 2))
        return draw(sips.words(min_size=left, max_size=left)) + "@" + \
            draw(sips.words(min_size=n - left - 1, max_size=n - left - 1))
    return draw(sips.words(min_size=n, max_size=n))


@props(1)
@given(st.integers(3, 300), st.booleans(), st.data())
def test_max_call_id(limit, at, data):
    """RFC 3261 20.8 (callid = word [ "@" word ]) and sipdialog.Limits.max_call_id: a
    Call-ID of exactly max_call_id bytes is accepted, one more raises LimitError."""
    cid = data.draw(_word_of_length(limit, at), label="call_id")
    msg = _wire(START, _replace(BASE, "Call-ID", cid))
    _accepts(msg, max_call_id=limit)
    assert parse(msg, limits=Limits(max_call_id=limit)).call_id == cid
    _refuses(msg, max_call_id=limit - 1)


def test_max_call_id_default():
    """RFC 3261 20.8 and sipdialog.Limits: a Call-ID of 256 bytes (the default) is
    accepted, 257 bytes raise LimitError."""
    cid = "c" * 200 + "@" + "h" * 55
    assert len(cid) == 256
    assert parse(_wire(START, _replace(BASE, "Call-ID", cid))).call_id == cid
    with pytest.raises(LimitError):
        parse(_wire(START, _replace(BASE, "Call-ID", cid + "h")))


@props(1)
@given(st.integers(1, 300), st.sampled_from(["From", "To"]), st.data())
def test_max_tag(limit, where, data):
    """RFC 3261 19.3 (tag = token) and sipdialog.Limits.max_tag: a From or To tag of
    exactly max_tag bytes is accepted, one more raises LimitError."""
    tag = data.draw(sips.tokens(min_size=limit, max_size=limit), label="tag")
    msg = _wire(START, _replace(BASE, where, "<sip:x@example.com>;tag=" + tag))
    _accepts(msg, max_tag=limit)
    m = parse(msg, limits=Limits(max_tag=limit))
    assert (m.from_tag if where == "From" else m.to_tag) == tag
    _refuses(msg, max_tag=limit - 1)


@pytest.mark.parametrize("where", ["From", "To"])
def test_max_tag_default(where):
    """RFC 3261 19.3 and sipdialog.Limits: a tag of 256 bytes (the default max_tag) is
    accepted, 257 bytes raise LimitError."""
    tag = "t" * 256
    m = parse(_wire(START, _replace(BASE, where, "<sip:x@example.com>;tag=" + tag)))
    assert (m.from_tag if where == "From" else m.to_tag) == tag
    with pytest.raises(LimitError):
        parse(_wire(START, _replace(BASE, where, "<sip:x@example.com>;tag=" + tag + "t")))


def _with_fields(total: int) -> bytes:
    """A request with exactly `total` header fields (Content-Length included)."""
    extra = total - len(BASE) - 1
    return _wire(START, BASE + [("X-H%d" % i, "v") for i in range(extra)])


@props(1)
@given(st.integers(len(BASE) + 1, 400))
def test_max_headers(limit):
    """RFC 3261 7.3 (message-header fields) and sipdialog.Limits.max_headers: exactly
    max_headers header fields are accepted, one more raises LimitError (also
    beyond 256, where the parser takes a larger header table)."""
    _accepts(_with_fields(limit), max_headers=limit)
    _refuses(_with_fields(limit), max_headers=limit - 1)
    _refuses(_with_fields(limit + 1), max_headers=limit)


def test_max_headers_default():
    """RFC 3261 7.3 and sipdialog.Limits: 256 header fields (the default) are
    accepted, 257 raise LimitError."""
    assert len(parse(_with_fields(256)).headers) == 256
    with pytest.raises(LimitError):
        parse(_with_fields(257))


def _with_vias(n: int, per_field: int) -> bytes:
    vias = ["SIP/2.0/UDP h%d.example.com;branch=z9hG4bK%d" % (i, i) for i in range(n)]
    fields = [("Via" if i % 2 else "v", ", ".join(vias[i:i + per_field]))
              for i in range(0, n, per_field)]
    return _wire(START, fields + BASE[1:])


@props(1)
@given(st.integers(1, 120), st.integers(1, 5))
def test_max_via(limit, per_field):
    """RFC 3261 20.42 (Via = 1#via-parm, in one or several fields) and
    sipdialog.Limits.max_via: exactly max_via entries are accepted, one more raises
    LimitError."""
    msg = _with_vias(limit, per_field)
    _accepts(msg, max_via=limit)
    assert len(parse(msg, limits=Limits(max_via=limit)).headers.getall("Via")) == limit
    _refuses(msg, max_via=limit - 1)
    _refuses(_with_vias(limit + 1, per_field), max_via=limit)


def test_max_via_default():
    """RFC 3261 20.42 and sipdialog.Limits: 64 Via entries (the default max_via) are
    accepted, 65 raise LimitError."""
    assert len(parse(_with_vias(64, 3)).vias) == 64
    with pytest.raises(LimitError):
        parse(_with_vias(65, 3))


@props(1)
@given(st.integers(0, 3000), st.booleans())
def test_max_body(limit, with_length):
    """RFC 3261 20.14 / 18.3 (the body is Content-Length octets, or the rest of the
    datagram) and sipdialog.Limits.max_body: a body of exactly max_body octets is
    accepted, one more raises LimitError; on a stream too."""
    body = bytes(range(256)) * (limit // 256) + bytes(limit % 256)
    msg = _wire(START, BASE, body, content_length=with_length)
    _accepts(msg, max_body=limit)
    assert parse(msg, limits=Limits(max_body=limit)).body == body
    if limit:
        _refuses(msg, max_body=limit - 1)
    _refuses(_wire(START, BASE, body + b"\x00", content_length=with_length), max_body=limit)
    if with_length:
        _stream_accepts(msg, max_body=limit)
        if limit:
            _stream_refuses(msg, max_body=limit - 1)


def test_max_body_default():
    """RFC 3261 20.14 and sipdialog.Limits: a 65536-octet body (the default max_body)
    is accepted when max_message allows it, 65537 octets raise LimitError."""
    big = Limits(max_message=200000)
    body = b"\x00" * 65536
    assert parse(_wire(START, BASE, body), limits=big).body == body
    with pytest.raises(LimitError):
        parse(_wire(START, BASE, body + b"\x00"), limits=big)


# ---------------------------------------------------------------------------
# parser bugs found by the properties above (fixed; kept as regression tests)

_OPTIONS = ("OPTIONS {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
            "From: {frm}\r\nTo: <sip:b@example.com>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n"
            "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")


def test_bug_addr_spec_param_with_laquot_in_quoted_string():
    """RFC 3261 20.20 / 25.1: From = ( name-addr / addr-spec ) *( SEMI from-param ),
    from-param = tag-param / generic-param, gen-value = quoted-string, and qdtext
    includes "<": 'From: sip:a@example.com;x="<";tag=1' is valid."""
    m = parse(_OPTIONS.format(ruri="sip:b@example.com", frm='sip:a@example.com;x="<";tag=1').encode())
    assert m.from_tag == "1"


@pytest.mark.parametrize("param", ["method=A`B", "transport=x%y", "user=a`b"])
def test_bug_uri_param_token_values(param):
    """RFC 3261 25.1: method-param = "method=" Method, transport-param = "transport="
    other-transport, user-param = "user=" other-user, each a token, and token
    includes "`" and "%": 'sip:b@example.com;method=A`B' is a valid SIP-URI."""
    m = parse(_OPTIONS.format(ruri="sip:b@example.com;" + param, frm="<sip:a@example.com>;tag=1").encode())
    assert m.request_uri.endswith(param)
