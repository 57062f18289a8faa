"""sipdialog.parse(): one example test (or a few) per parser rule of RFC 3261.

Each test names the section it checks. Error tests check the exception type,
the reason and, where it matters, the exact byte offset of the offending
octet.
"""
from __future__ import annotations

import pytest

import sipdialog
from sipdialog import LimitError, ParseError, SipError

START = b"INVITE sip:bob@biloxi.example.com SIP/2.0"
VIA = b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"
MF = b"Max-Forwards: 70"
TO = b"To: Bob <sip:bob@biloxi.example.com>"
FROM = b"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774"
CALLID = b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com"
CSEQ = b"CSeq: 314159 INVITE"
HDRS = [VIA, MF, TO, FROM, CALLID, CSEQ]
RESP_HDRS = [VIA, TO, FROM, CALLID, CSEQ]


def msg(extra=(), *, start=START, hdrs=None, body=b"", cl=True) -> bytes:
    """A request (or, with start=, a response) from header lines; adds a
    correct Content-Length unless cl=False."""
    lines = list(HDRS if hdrs is None else hdrs) + list(extra)
    if cl:
        lines.append(b"Content-Length: %d" % len(body))
    return start + b"\r\n" + b"".join(x + b"\r\n" for x in lines) + b"\r\n" + body


def resp(extra=(), *, start=b"SIP/2.0 200 OK", **kw) -> bytes:
    return msg(extra, start=start, hdrs=kw.pop("hdrs", RESP_HDRS), **kw)


def without(name: bytes, hdrs=HDRS):
    return [h for h in hdrs if h.split(b":")[0] != name]


def replace(name: bytes, line: bytes, hdrs=HDRS):
    return [line if h.split(b":")[0] == name else h for h in hdrs]


def parse_error(data, **kw) -> ParseError:
    with pytest.raises(ParseError) as ei:
        sipdialog.parse(data, **kw)
    return ei.value


# ---------------------------------------------------------------------------
# Exceptions (DESIGN: errors)
# ---------------------------------------------------------------------------


def test_exception_hierarchy():
    """RFC 3261 8.2 (malformed requests get 400): ParseError is a ValueError and a SipError (DESIGN 4)."""
    assert issubclass(ParseError, ValueError) and issubclass(ParseError, SipError)
    assert issubclass(LimitError, ParseError)
    assert issubclass(sipdialog.ValidationError, ValueError)
    assert issubclass(sipdialog.ValidationError, SipError)
    assert not issubclass(sipdialog.ValidationError, ParseError)
    e = parse_error(b"garbage\r\n\r\n")
    assert isinstance(e, ValueError) and isinstance(e, SipError)
    assert isinstance(e.reason, str) and isinstance(e.offset, int)
    assert str(e) == "%s (at byte %d)" % (e.reason, e.offset)


def test_parse_accepts_bytes_str_and_buffers():
    """RFC 3261 7: a message is octets; str is encoded as UTF-8."""
    m = sipdialog.parse(msg())
    assert sipdialog.parse(msg().decode()) == m
    assert sipdialog.parse(bytearray(msg())) == m
    assert sipdialog.parse(memoryview(msg())) == m
    with pytest.raises(TypeError):
        sipdialog.parse(5)
    with pytest.raises(TypeError):
        sipdialog.parse(msg(), bogus=True)


def test_well_formed_request_fields():
    """RFC 3261 7.1, 8.1.1."""
    m = sipdialog.parse(msg(body=b"v=0\r\n"))
    assert isinstance(m, sipdialog.Request) and m.is_request
    assert m.method == "INVITE"
    assert str(m.uri) == "sip:bob@biloxi.example.com" and m.request_uri == "sip:bob@biloxi.example.com"
    assert (m.uri.user, m.uri.host) == ("bob", "biloxi.example.com")
    assert m.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    assert m.cseq == (314159, "INVITE") and type(m.cseq) is sipdialog.CSeq
    assert m.from_tag == "1928301774" and m.to_tag is None
    assert m.max_forwards == 70 and m.content_length == 5
    assert m.via_branch == "z9hG4bK776asdhds"
    assert m.body == b"v=0\r\n"
    assert bytes(m) == msg(body=b"v=0\r\n")


# ---------------------------------------------------------------------------
# Request-Line and Status-Line (RFC 3261 7.1, 7.2)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", [b"SIP/3.0", b"SIP/2.1", b"SIP/1.0", b"SIP/20"])
def test_request_version_other_than_2_0_rejected(version):
    """RFC 3261 7.1: SIP-Version must be SIP/2.0 (RFC 4475 3.1.2.16)."""
    e = parse_error(msg(start=b"INVITE sip:bob@biloxi.example.com " + version))
    assert "unsupported SIP version" in e.reason and version.decode() in e.reason
    assert e.offset == 34  # the 'S' of the version


def test_status_version_other_than_2_0_rejected():
    """RFC 3261 7.2."""
    e = parse_error(resp(start=b"SIP/3.0 200 OK"))
    assert "unsupported SIP version 'SIP/3.0'" in e.reason and e.offset == 0
    e = parse_error(resp(start=b"SIP/2.00 200 OK"))
    assert "unsupported SIP version" in e.reason


def test_version_is_case_insensitive():
    """RFC 3261 7.1: 'The SIP-Version string is case-insensitive'."""
    assert sipdialog.parse(msg(start=b"INVITE sip:bob@biloxi.example.com sip/2.0")).method == "INVITE"
    assert sipdialog.parse(resp(start=b"sip/2.0 180 Ringing")).status_code == 180


@pytest.mark.parametrize("code", [100, 199, 200, 404, 699])
def test_status_code_in_range_accepted(code):
    """RFC 3261 7.2: Status-Code is 3DIGIT; 21: classes 1xx..6xx."""
    m = sipdialog.parse(resp(start=b"SIP/2.0 %d Whatever" % code))
    assert isinstance(m, sipdialog.Response) and not m.is_request
    assert m.status_code == code and m.reason == "Whatever"


@pytest.mark.parametrize("line, reason", [
    (b"SIP/2.0 700 X", "status code 700 outside 100..699"),
    (b"SIP/2.0 099 X", "status code 99 outside 100..699"),
    (b"SIP/2.0 99 X", "status code is not 3 digits followed by SP"),
    (b"SIP/2.0 1000 X", "status code is not 3 digits followed by SP"),
    (b"SIP/2.0 4294967301 X", "status code is not 3 digits followed by SP"),  # RFC 4475 3.1.2.19
    (b"SIP/2.0 20a OK", "status code is not 3 digits followed by SP"),
    (b"SIP/2.0 200", "status code is not 3 digits followed by SP"),  # SP before the reason is required
    (b"SIP/2.0  200 OK", "status code is not 3 digits followed by SP"),  # extra SP
])
def test_status_code_must_be_three_digits_100_to_699(line, reason):
    """RFC 3261 7.2, 25.1: Status-Code = 3DIGIT; 21: 100..699."""
    e = parse_error(resp(start=line))
    assert e.reason == reason
    assert e.offset == 8  # first octet after 'SIP/2.0 '


def test_empty_reason_phrase():
    """RFC 3261 25.1: Reason-Phrase = *(...) may be empty (RFC 4475 3.1.1.13)."""
    m = sipdialog.parse(resp(start=b"SIP/2.0 100 "))
    assert m.status_code == 100 and m.reason == ""
    m = sipdialog.parse(resp(start=b"SIP/2.0 200  OK"))
    assert m.reason == " OK"  # SP is allowed inside the phrase


@pytest.mark.parametrize("start, reason, offset", [
    (b"INVITE  sip:bob@biloxi.example.com SIP/2.0", "empty Request-URI (extra SP in request line)", 7),
    (b"INVITE sip:bob@biloxi.example.com  SIP/2.0", "request line must end in ' SIP/2.0'", 34),
    (b"INVITE sip:bob@biloxi.example.com SIP/2.0 ", "request line must end in ' SIP/2.0'", 34),
    (b" INVITE sip:bob@biloxi.example.com SIP/2.0", "request line does not start with a method token", 0),
    (b"INVITE\tsip:bob@biloxi.example.com SIP/2.0", "invalid octet 0x09 in method", 6),
    (b"INVITE sip:bob@biloxi.example.com", "request line without SIP-Version", 7),
    (b"INVITE <sip:bob@biloxi.example.com> SIP/2.0", "URI: missing scheme", 7),
    (b"INVITE sip:bob@biloxi.example.com?Subject=x SIP/2.0",
     "headers are not allowed in a Request-URI (RFC 3261 19.1.1)", 34),
])
def test_request_line_shape(start, reason, offset):
    """RFC 3261 7.1: Method SP Request-URI SP SIP-Version CRLF, single SPs
    (RFC 4475 3.1.2.7, 3.1.2.9, 3.1.2.10, 3.1.2.11)."""
    e = parse_error(msg(start=start))
    assert e.reason == reason
    assert e.offset == offset


def test_extension_method_and_case_sensitive_cseq():
    """RFC 3261 7.1: methods are case-sensitive tokens; 8.1.1.5: CSeq method
    matches the request method."""
    m = sipdialog.parse(msg(start=b"FOO-bar.baz sip:x@example.com SIP/2.0",
                            hdrs=replace(b"CSeq", b"CSeq: 1 FOO-bar.baz")))
    assert m.method == "FOO-bar.baz" and m.cseq.method == "FOO-bar.baz"
    e = parse_error(msg(hdrs=replace(b"CSeq", b"CSeq: 1 invite")))
    assert e.reason == "CSeq method 'invite' differs from request method 'INVITE'"
    data = msg(hdrs=replace(b"CSeq", b"CSeq: 1 invite"))
    assert data[e.offset:].startswith(b"invite\r\n")


# ---------------------------------------------------------------------------
# Folding and LWS (RFC 3261 7.3.1, 25.1)
# ---------------------------------------------------------------------------


def test_folded_header_lines():
    """RFC 3261 7.3.1: a line starting with SP or HT continues the previous one."""
    data = msg(hdrs=[
        b"Via: SIP/2.0/UDP pc33.atlanta.example.com\r\n ;branch=z9hG4bK776asdhds",
        b"Max-Forwards:\r\n\t70",
        b"To: Bob\r\n <sip:bob@biloxi.example.com>",
        FROM, CALLID,
        b"CSeq: 314159\r\n INVITE",
        b"Subject: one\r\n two\r\n\tthree",
    ])
    m = sipdialog.parse(data)
    assert m.max_forwards == 70
    assert m.cseq == (314159, "INVITE")
    assert m.via_branch == "z9hG4bK776asdhds"
    assert m.headers["Subject"] == "one two three"
    assert m.headers["Via"] == "SIP/2.0/UDP pc33.atlanta.example.com ;branch=z9hG4bK776asdhds"
    assert m.to.display == "Bob" and str(m.to.uri) == "sip:bob@biloxi.example.com"
    assert len(m.headers) == 8


def test_fold_inside_name_addr_params():
    """RFC 3261 7.3.1, 20.20, 25.1: LWS (folds included) around ';' and '='."""
    data = msg(hdrs=[VIA, MF, b"To: Bob\r\n <sip:bob@biloxi.example.com>\r\n ;\r\n  tag\r\n =\r\n abc",
                     b"From: Alice <sip:alice@atlanta.example.com>\r\n  ;tag=1928301774\r\n ;x=y",
                     CALLID, CSEQ])
    m = sipdialog.parse(data)
    assert m.to_tag == "abc"
    assert m.from_tag == "1928301774"
    assert m.from_.params == {"tag": "1928301774", "x": "y"}
    assert m.headers["To"] == "Bob <sip:bob@biloxi.example.com> ; tag = abc"


def test_continuation_line_without_header_rejected():
    """RFC 3261 7.3.1: a fold needs a header line before it."""
    data = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n x: y\r\n" + msg()[len(START) + 2:]
    e = parse_error(data)
    assert e.reason == "continuation line without a header" and e.offset == len(START) + 2


def test_lws_around_colon_and_empty_values():
    """RFC 3261 7.3.1: 'field-name: field-value', HCOLON = *( SP / HTAB ) ":" SWS."""
    m = sipdialog.parse(msg([b"Subject:", b"X-Empty :   ", b"X-Tab:\tv\t", b"Via  :\tSIP/2.0/TCP h.example.com"]))
    assert m.headers["Subject"] == "" and m.headers["X-Empty"] == "" and m.headers["X-Tab"] == "v"
    assert [v.host for v in m.vias] == ["pc33.atlanta.example.com", "h.example.com"]


@pytest.mark.parametrize("line, reason, at", [
    (b"NoColon", "header line without ':'", 7),
    (b": v", "header line without a name", 0),
    (b"Bad Name: v", "invalid octet 0x4e in header name", 4),
])
def test_malformed_header_line(line, reason, at):
    """RFC 3261 7.3.1: header = field-name HCOLON field-value."""
    data = msg([line])
    e = parse_error(data)
    assert e.reason == reason
    assert e.offset == data.index(line) + at


# ---------------------------------------------------------------------------
# Compact forms (RFC 3261 7.3.3; the IANA registry for a b d j n o r u x y)
# ---------------------------------------------------------------------------

COMPACT = {
    "a": ("Accept-Contact", b"*;audio"),             # RFC 3841
    "b": ("Referred-By", b"<sip:carol@example.com>"),  # RFC 3892
    "c": ("Content-Type", b"text/plain"),             # RFC 3261
    "d": ("Request-Disposition", b"proxy"),           # RFC 3841
    "e": ("Content-Encoding", b"gzip"),               # RFC 3261
    "f": ("From", None),                              # RFC 3261
    "i": ("Call-ID", None),                           # RFC 3261
    "j": ("Reject-Contact", b"*;video"),              # RFC 3841
    "k": ("Supported", b"100rel"),                    # RFC 3261
    "l": ("Content-Length", None),                    # RFC 3261
    "m": ("Contact", b"<sip:alice@h1.example.com>"),  # RFC 3261
    "n": ("Identity-Info", b"<https://example.com/cert>;alg=rsa-sha1"),  # RFC 4474
    "o": ("Event", b"refer"),                         # RFC 6665
    "r": ("Refer-To", b"<sip:carol@example.com>"),    # RFC 3515
    "s": ("Subject", b"hello"),                       # RFC 3261
    "t": ("To", None),                                # RFC 3261
    "u": ("Allow-Events", b"refer"),                  # RFC 6665
    "v": ("Via", None),                               # RFC 3261
    "x": ("Session-Expires", b"1800"),                # RFC 4028
    "y": ("Identity", b'"ZYNBbHC00VMZr2kZt6VmCvPonWJMGvQTBDqghoWeLxJfzB2a1pxAr3Vg="'),  # RFC 4474
}


def compact_message() -> bytes:
    lines = [
        b"v: SIP/2.0/UDP h1.example.com;branch=z9hG4bK1",
        b"Via: SIP/2.0/TCP h2.example.com;branch=z9hG4bK2",
        MF,
        b"t: <sip:bob@example.com>",
        b"f: <sip:alice@example.com>;tag=a1",
        b"i: cid@example.com",
        CSEQ,
        b"Contact: <sip:alice@h2.example.com>",
    ]
    lines += [k.encode() + b": " + v for k, (_, v) in COMPACT.items() if v is not None]
    lines.append(b"l: 2")
    return msg(lines, hdrs=[], body=b"hi", cl=False)


def test_every_compact_letter_maps_to_its_long_name():
    """RFC 3261 7.3.3: compact and long forms are equivalent; 20: Call-ID 'i'..."""
    m = sipdialog.parse(compact_message())
    assert set(COMPACT) == set("a b c d e f i j k l m n o r s t u v x y".split())
    for letter, (long_name, value) in COMPACT.items():
        assert sipdialog.canonical_name(letter) == long_name
        assert sipdialog.canonical_name(letter.upper()) == long_name
        assert m.headers[letter] == m.headers[long_name] == m.headers[long_name.upper()], letter
        assert m.headers[long_name.lower()] == m.headers[letter.upper()]
        assert letter in m.headers and long_name in m.headers
        if value is not None and long_name not in ("Contact",):
            assert m.headers[long_name] == value.decode()
    assert m.call_id == "cid@example.com" and m.headers["Call-ID"] == m.headers["i"] == "cid@example.com"
    assert m.from_tag == "a1" and str(m.to.uri) == "sip:bob@example.com"
    assert m.content_length == 2 and m.headers["l"] == "2"


def test_compact_and_long_forms_mixed_keep_wire_order():
    """RFC 3261 7.3.1 (order of same-name fields), 7.3.3."""
    m = sipdialog.parse(compact_message())
    vias = ["SIP/2.0/UDP h1.example.com;branch=z9hG4bK1", "SIP/2.0/TCP h2.example.com;branch=z9hG4bK2"]
    assert m.headers.getall("Via") == m.headers.getall("v") == m.headers.getall("VIA") == vias
    assert m.headers.getall("Contact") == m.headers.getall("m") == [
        "<sip:alice@h2.example.com>", "<sip:alice@h1.example.com>"]
    assert m.via_branch == "z9hG4bK1"
    # names are kept as written
    assert [n for n, _ in m.headers.items()][:4] == ["v", "Via", "Max-Forwards", "t"]
    assert sipdialog.canonical_name("X-Unknown") == "X-Unknown"


# ---------------------------------------------------------------------------
# Display names, quoted strings, quoted-pairs (RFC 3261 20.10, 25.1)
# ---------------------------------------------------------------------------


def test_escaped_quotes_in_display_names():
    """RFC 3261 25.1: quoted-pair = "\\" (%x00-09 / %x0B-0C / %x0E-7F)."""
    m = sipdialog.parse(msg(hdrs=replace(b"To", b'To: "Bob \\"B\\" \\\\ Smith" <sip:bob@biloxi.example.com>')))
    assert m.to.display == 'Bob "B" \\ Smith'
    m = sipdialog.parse(msg(hdrs=replace(b"To", b'To: "" <sip:bob@biloxi.example.com>')))
    assert m.to.display == ""


def test_unterminated_quoted_display_name_rejected():
    """RFC 3261 25.1 quoted-string (RFC 4475 3.1.2.6)."""
    data = msg(hdrs=replace(b"To", b'To: "Bob <sip:bob@biloxi.example.com>'))
    e = parse_error(data)
    assert e.reason == "To: display-name: unterminated quoted-string"
    assert data[e.offset:].startswith(b'"Bob <')


def test_commas_inside_quoted_display_name_do_not_split():
    """RFC 3261 7.3.1: commas inside quoted strings do not separate list elements."""
    m = sipdialog.parse(msg([b'Contact: "Al, ice" <sip:alice@a.example.com>;q=0.5, <sip:alice@b.example.com>;expires=60']))
    assert [(c.display, str(c.uri), c.params) for c in m.contacts] == [
        ("Al, ice", "sip:alice@a.example.com", {"q": "0.5"}),
        (None, "sip:alice@b.example.com", {"expires": "60"}),
    ]


# ---------------------------------------------------------------------------
# IPv6 references (RFC 3261 19.1.1, 25.1 IPv6reference; RFC 5118)
# ---------------------------------------------------------------------------


def test_ipv6_references():
    """RFC 3261 19.1.1, 25.1 IPv6reference; RFC 5118 4.1, 4.4, 4.5, 4.9, 4.10."""
    data = msg(start=b"OPTIONS sip:[2001:db8::10]:5070 SIP/2.0",
               hdrs=[b"Via: SIP/2.0/TCP [2001:db8::9:1]:6050;branch=z9hG4bKx;received=2001:db8::9:255",
                     MF, b"To: <sip:user@[2001:db8::192.0.2.1]>", FROM, CALLID, b"CSeq: 1 OPTIONS"],
               extra=[b"Contact: <sip:caller@[::ffff:192.0.2.10]:19823>"])
    m = sipdialog.parse(data)
    assert (m.uri.host, m.uri.port, m.uri.host_type) == ("[2001:db8::10]", 5070, "ipv6")
    (v,) = m.vias
    assert (v.host, v.port, v.transport, v.received) == ("[2001:db8::9:1]", 6050, "TCP", "2001:db8::9:255")
    assert m.to.uri.host == "[2001:db8::192.0.2.1]"
    assert (m.contacts[0].uri.host, m.contacts[0].uri.port) == ("[::ffff:192.0.2.10]", 19823)


def test_ipv6_without_brackets_rejected():
    """RFC 5118 4.2: an IPv6 address in a SIP URI needs [ ]."""
    e = parse_error(msg(start=b"OPTIONS sip:2001:db8::10 SIP/2.0", hdrs=replace(b"CSeq", b"CSeq: 1 OPTIONS")))
    assert e.reason.startswith("URI host") and e.offset == 12


# ---------------------------------------------------------------------------
# Multiple Via values (RFC 3261 7.3.1, 20.42)
# ---------------------------------------------------------------------------


def test_vias_in_one_line_and_across_lines_keep_order():
    """RFC 3261 7.3.1: several fields equal one comma-joined field, order kept; 20.42."""
    data = msg(hdrs=[
        b"Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa, SIP/2.0/TCP b.example.com:5061;branch=z9hG4bKb",
        MF,
        b"v: SIP/2.0/UDP c.example.com;branch=z9hG4bKc,\r\n SIP/2.0/SCTP d.example.com;branch=z9hG4bKd",
        TO, FROM, CALLID, CSEQ,
        b"VIA: SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bKe",
    ])
    m = sipdialog.parse(data)
    assert [v.host for v in m.vias] == ["a.example.com", "b.example.com", "c.example.com", "d.example.com",
                                        "[2001:db8::1]"]
    assert [v.transport for v in m.vias] == ["UDP", "TCP", "UDP", "SCTP", "TLS"]
    assert m.headers.getall("Via")[1] == "SIP/2.0/TCP b.example.com:5061;branch=z9hG4bKb"
    assert m.headers["Via"] == "SIP/2.0/UDP a.example.com;branch=z9hG4bKa"  # first element
    assert len(m.headers.fields("Via")) == 3  # one per header field
    assert m.via_branch == "z9hG4bKa"


@pytest.mark.parametrize("line", [
    b"Via: SIP/2.0/UDP x.example.com;branch=z9hG4bK1,,SIP/2.0/UDP y.example.com",
    b"Via: SIP/2.0/UDP x.example.com;branch=z9hG4bK1,",
])
def test_empty_via_element_rejected(line):
    """RFC 3261 7.3.1, 20.42: Via = 1#via-parm, no empty elements."""
    data = msg([line])
    e = parse_error(data)
    assert e.reason == "malformed Via list"
    assert e.offset == data.index(line) + 5


def test_routes_and_record_routes_in_order():
    """RFC 3261 20.30, 20.34."""
    m = sipdialog.parse(msg([b"Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>",
                             b"Route: <sip:p3.example.com;lr>",
                             b"Record-Route: <sip:rr1.example.com;lr>,<sip:rr2.example.com;lr>"]))
    assert [str(r.uri) for r in m.routes] == ["sip:p1.example.com;lr", "sip:p2.example.com;lr",
                                              "sip:p3.example.com;lr"]
    assert [str(r.uri) for r in m.record_routes] == ["sip:rr1.example.com;lr", "sip:rr2.example.com;lr"]


def test_getall_on_list_header_with_empty_element_gives_no_duplicates():
    """RFC 3261 7.3.1: an unindexed list header with an empty element
    ('INVITE,,ACK') is kept; getall must not report an element twice."""
    m = sipdialog.parse(msg([b"Allow: INVITE,,ACK", b"Allow: BYE"]))
    assert m.headers.fields("Allow") == ["INVITE,,ACK", "BYE"]
    assert m.headers.getall("Allow") in (["INVITE,,ACK", "BYE"], ["INVITE", "ACK", "BYE"])


# ---------------------------------------------------------------------------
# Bodies and Content-Length (RFC 3261 7.4, 18.3, 20.14)
# ---------------------------------------------------------------------------


def test_body_with_nul_bytes():
    """RFC 3261 7.4: the body is octets, framed by Content-Length, never by NUL."""
    body = b"v=0\r\n\x00\x01\x00\xff end"
    m = sipdialog.parse(msg(body=body))
    assert m.body == body and m.content_length == len(body)


def test_content_length_larger_than_body_rejected():
    """RFC 3261 18.3: 'If the transport packet ends before the end of the
    message body, this is considered an error.'"""
    data = msg([b"Content-Length: 6"], body=b"hello", cl=False)
    e = parse_error(data)
    assert e.reason == "Content-Length 6 exceeds the 5 bytes after the headers"
    assert data[e.offset:].startswith(b"6\r\n")


def test_content_length_smaller_than_body_truncates():
    """RFC 3261 18.3: additional bytes beyond the body MUST be discarded."""
    data = msg([b"Content-Length: 3"], body=b"hello", cl=False)
    m = sipdialog.parse(data)
    assert m.body == b"hel" and m.content_length == 3
    assert bytes(m) == data[:-2]


def test_content_length_absent_datagram_body_to_end():
    """RFC 3261 18.3 / 20.14: without Content-Length on a datagram the body
    runs to the end of the packet."""
    m = sipdialog.parse(msg(body=b"hello", cl=False))
    assert m.body == b"hello" and m.content_length is None


def test_content_length_absent_stream_rejected():
    """RFC 3261 18.3: Content-Length MUST be used with stream transports."""
    data = msg(body=b"hello", cl=False)
    e = parse_error(data, stream=True)
    assert e.reason == "Content-Length is required on a stream (RFC 3261 18.3)"
    assert data[e.offset - 2:e.offset] == b"\r\n" and data[e.offset:] == b"hello"
    assert sipdialog.parse(msg(body=b"hello"), stream=True).body == b"hello"


@pytest.mark.parametrize("value", [b"+5", b"-5", b"5a", b"0x5", b"5.0", b"1 2", b"", b"4294967296"])
def test_content_length_with_sign_or_non_digits_rejected(value):
    """RFC 3261 20.14: Content-Length = 1*DIGIT (RFC 4475 3.1.2.3)."""
    data = msg([b"Content-Length: " + value], body=b"hello", cl=False)
    e = parse_error(data)
    assert e.reason == "Content-Length '%s' is not a decimal number" % value.decode()
    assert e.offset == data.index(b"Content-Length: ") + 16


def test_content_length_leading_zeros_and_lws_accepted():
    """RFC 3261 20.14, 25.1 (1*DIGIT; LWS around the value)."""
    assert sipdialog.parse(msg([b"Content-Length:  05 "], body=b"hello", cl=False)).content_length == 5


# ---------------------------------------------------------------------------
# Single-value headers (RFC 3261 7.3.1, 20; RFC 4475 3.3.8, 3.3.9)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("line", [VIA, MF, TO, FROM, CALLID, CSEQ, b"i: a84b4c76e66710@pc33.atlanta.example.com"])
def test_duplicated_with_same_value_accepted(line):
    """RFC 3261 7.3.1; RFC 4475 3.3.8: a repeated single-value field with the same value is harmless."""
    m = sipdialog.parse(msg([line]))
    name = sipdialog.canonical_name(line.split(b":")[0].decode())
    assert len(m.headers.fields(name)) == 2


def test_duplicated_content_length_same_value_accepted():
    """RFC 3261 20.14; RFC 4475 3.3.9 (only differing values are a framing error)."""
    m = sipdialog.parse(msg([b"l: 5"], body=b"hello"))
    assert m.content_length == 5


@pytest.mark.parametrize("line, name", [
    (b"Call-ID: other@example.com", "Call-ID"),
    (b"i: other@example.com", "Call-ID"),
    (b"CSeq: 2 INVITE", "CSeq"),
    (b"From: <sip:x@example.com>;tag=2", "From"),
    (b"To: <sip:x@example.com>", "To"),
    (b"Max-Forwards: 69", "Max-Forwards"),
])
def test_duplicated_with_different_value_rejected(line, name):
    """RFC 3261 7.3.1: only list headers may appear several times."""
    data = msg([line])
    e = parse_error(data)
    assert e.reason == "%s appears twice with different values" % name
    assert e.offset == data.index(line)


def test_conflicting_content_lengths_rejected():
    """RFC 4475 3.3.9: two different Content-Length values are a framing error."""
    data = msg([b"Content-Length: 1"], body=b"x" * 5)
    e = parse_error(data)
    assert e.reason == "Content-Length appears twice with different values"
    assert e.offset == data.index(b"Content-Length: 5")  # the second field


# ---------------------------------------------------------------------------
# Numbers: CSeq, Max-Forwards (RFC 3261 8.1.1.5, 20.16, 20.22)
# ---------------------------------------------------------------------------


def test_cseq_below_2_31_accepted():
    """RFC 3261 8.1.1.5: 'MUST be less than 2**31'."""
    assert sipdialog.parse(msg(hdrs=replace(b"CSeq", b"CSeq: 2147483647 INVITE"))).cseq == (2**31 - 1, "INVITE")
    assert sipdialog.parse(msg(hdrs=replace(b"CSeq", b"CSeq: 0 INVITE"))).cseq.seq == 0
    assert sipdialog.parse(msg(hdrs=replace(b"CSeq", b"CSeq: 00000000000000000001 INVITE"))).cseq.seq == 1


@pytest.mark.parametrize("number", [b"2147483648", b"4294967296", b"36893488147419103232"])
def test_cseq_2_31_or_more_rejected(number):
    """RFC 3261 8.1.1.5; RFC 4475 3.1.2.4: must not overflow."""
    data = msg(hdrs=replace(b"CSeq", b"CSeq: " + number + b" INVITE"))
    e = parse_error(data)
    assert e.reason == "CSeq number %s is not below 2**31" % number.decode()
    assert data[e.offset:].startswith(number)


@pytest.mark.parametrize("value, reason, at", [
    (b"-1 INVITE", "CSeq does not start with a number", 0),
    (b"1INVITE", "CSeq lacks LWS and a method", 1),
    (b"1", "CSeq lacks LWS and a method", 1),
    (b"1 INVITE x", "invalid octet 0x20 in CSeq method", 8),
])
def test_malformed_cseq(value, reason, at):
    """RFC 3261 20.16: CSeq = 1*DIGIT LWS Method."""
    data = msg(hdrs=replace(b"CSeq", b"CSeq: " + value))
    e = parse_error(data)
    assert e.reason == reason
    assert e.offset == data.index(b"CSeq: ") + 6 + at


@pytest.mark.parametrize("value, expected", [(b"255", 255), (b"0", 0), (b"0070", 70)])
def test_max_forwards_0_to_255_accepted(value, expected):
    """RFC 3261 20.22: 'an integer in the range 0-255'."""
    assert sipdialog.parse(msg(hdrs=replace(b"Max-Forwards", b"Max-Forwards: " + value))).max_forwards == expected


@pytest.mark.parametrize("value", [b"256", b"1000", b"-1", b"+1", b"7 0", b"seventy"])
def test_max_forwards_out_of_range_rejected(value):
    """RFC 3261 20.22: 0..255; RFC 4475 3.1.2.4 (Max-Forwards 300)."""
    data = msg(hdrs=replace(b"Max-Forwards", b"Max-Forwards: " + value))
    e = parse_error(data)
    assert e.reason == "Max-Forwards '%s' is not a number 0..255" % value.decode()
    assert e.offset == data.index(b"Max-Forwards: ") + 14


# ---------------------------------------------------------------------------
# Mandatory headers (RFC 3261 8.1.1; responses: what 8.2.6 copies)
# ---------------------------------------------------------------------------

MANDATORY = [b"Via", b"Max-Forwards", b"To", b"From", b"Call-ID", b"CSeq"]


@pytest.mark.parametrize("name", MANDATORY)
def test_request_missing_mandatory_header(name):
    """RFC 3261 8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via are required."""
    data = msg(hdrs=without(name))
    e = parse_error(data)
    assert e.reason == "missing mandatory %s header (RFC 3261 8.1.1)" % name.decode()
    assert e.offset == data.rindex(b"\r\n\r\n") + 2


@pytest.mark.parametrize("name", MANDATORY)
def test_rfc2543_relaxes_max_forwards_only(name):
    """RFC 4475 3.4.1: RFC 2543 requests have no Max-Forwards; nothing else is relaxed."""
    data = msg(hdrs=without(name))
    if name == b"Max-Forwards":
        m = sipdialog.parse(data, rfc2543=True)
        assert m.max_forwards is None
    else:
        e = parse_error(data, rfc2543=True)
        assert e.reason == "missing mandatory %s header (RFC 3261 8.1.1)" % name.decode()


@pytest.mark.parametrize("name", [b"Via", b"To", b"From", b"Call-ID", b"CSeq"])
def test_response_missing_header_rejected(name):
    """RFC 3261 8.2.6.2 / 20: responses carry Via, From, To, Call-ID, CSeq."""
    e = parse_error(resp(hdrs=without(name, RESP_HDRS)))
    assert e.reason == "missing mandatory %s header (RFC 3261 8.1.1)" % name.decode()


def test_response_without_max_forwards_accepted():
    """RFC 3261 20.22: Max-Forwards is a request header."""
    assert sipdialog.parse(resp()).max_forwards is None


# ---------------------------------------------------------------------------
# Control characters (RFC 3261 25.1: no CTL but HT outside quoted-pairs)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("octet, reason", [
    (b"\x00", "control octet 0x00 in header line"),
    (b"\x07", "control octet 0x07 in header line"),
    (b"\x0b", "control octet 0x0b in header line"),
    (b"\x1b", "control octet 0x1b in header line"),
    (b"\x7f", "control octet 0x7f in header line"),
    (b"\r", "CR not followed by LF"),
    (b"\n", "LF not preceded by CR"),
])
def test_control_octet_in_header_line_rejected(octet, reason):
    """RFC 3261 25.1: no CTL but HT in a header line; CR only in CRLF (7.3.1)."""
    data = msg([b"Subject: ab" + octet + b"cd"])
    e = parse_error(data)
    assert e.reason == reason
    assert e.offset == data.index(b"Subject: ab") + 11  # the control octet itself


def test_exact_offsets_in_the_start_line_and_header_names():
    """RFC 3261 7.1 (start line), 25.1 (token, quoted-string): offsets name the offending octet."""
    e = parse_error(msg(start=b"INVITE sip:bob@biloxi.example.com\x00 SIP/2.0"))
    assert (e.reason, e.offset) == ("invalid octet 0x00 in start line", 33)
    data = msg([b"Sub\x00ject: x"])
    e = parse_error(data)
    assert (e.reason, e.offset) == ("control octet 0x00 in header line", data.index(b"\x00"))
    # NUL inside a quoted string but not escaped
    data = msg([b'Subject: "a\x00b"'])
    assert parse_error(data).offset == data.index(b"\x00")
    # a backslash outside quotes is no quoted-pair
    data = msg([b"Subject: a\\\x00b"])
    assert parse_error(data).offset == data.index(b"\x00")


def test_tab_allowed_in_header_values():
    """RFC 3261 25.1: HT is LWS, not a forbidden CTL."""
    assert sipdialog.parse(msg([b"Subject: a\tb"])).headers["Subject"] == "a\tb"


@pytest.mark.parametrize("octet", [b"\x00", b"\x07", b"\x1b", b"\x7f", b"\t"])
def test_control_octets_allowed_in_quoted_pairs(octet):
    """RFC 3261 25.1: quoted-pair = "\\" (%x00-09 / %x0B-0C / %x0E-7F) (RFC 4475 3.1.1.2)."""
    m = sipdialog.parse(msg([b'Subject: "a\\' + octet + b'b"']))
    assert m.headers["Subject"] == '"a\\' + octet.decode() + 'b"'
    m = sipdialog.parse(msg(hdrs=replace(b"To", b'To: "B\\' + octet + b'ob" <sip:bob@biloxi.example.com>')))
    assert m.to.display == "B" + octet.decode() + "ob"


def test_cr_not_allowed_in_quoted_pair():
    """RFC 3261 25.1: quoted-pair excludes CR (%x0D) and LF (%x0A)."""
    data = msg([b'Subject: "a\\\rb"'])
    e = parse_error(data)
    assert (e.reason, e.offset) == ("CR not followed by LF", data.index(b"\r", data.index(b"Subject")))


def test_lf_only_line_ends_rejected():
    """RFC 3261 7: lines end in CRLF."""
    data = msg().replace(b"\r\n", b"\n")
    e = parse_error(data)
    assert (e.reason, e.offset) == ("invalid octet 0x0a in start line", len(START))


# ---------------------------------------------------------------------------
# Leading CRLFs, end of the header block (RFC 3261 7.5)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [b"\r\n", b"\r\n\r\n\r\n"])
def test_leading_crlfs_ignored(prefix):
    """RFC 3261 7.5: 'implementations processing SIP messages over stream-oriented
    transports MUST ignore any CRLF appearing before the start-line'."""
    m = sipdialog.parse(prefix + msg())
    assert m == sipdialog.parse(msg())
    assert bytes(m) == msg()


def test_offsets_count_leading_crlfs():
    """RFC 3261 7.5: skipped CRLFs still count in the offset."""
    data = b"\r\n\r\n" + msg(hdrs=replace(b"Max-Forwards", b"Max-Forwards: 256"))
    e = parse_error(data)
    assert data[e.offset:].startswith(b"256\r\n")


@pytest.mark.parametrize("prefix, reason", [
    (b"\n", "invalid octet 0x0a in start line"),
    (b"\r", "invalid octet 0x0d in start line"),
    (b" \r\n", "request line does not start with a method token"),
])
def test_other_leading_octets_rejected(prefix, reason):
    """RFC 3261 7.5: only CRLF may precede the start line."""
    e = parse_error(prefix + msg())
    assert (e.reason, e.offset) == (reason, 0)


@pytest.mark.parametrize("data, reason, offset", [
    (b"", "empty message", 0),
    (b"\r\n\r\n", "empty message", 4),
])
def test_empty_input(data, reason, offset):
    """RFC 3261 7: a message needs a start line."""
    e = parse_error(data)
    assert (e.reason, e.offset) == (reason, offset)


def test_header_block_must_end_with_empty_line():
    """RFC 3261 7: an empty line ends the header fields (RFC 4475 3.1.2.15 note)."""
    data = msg()[:-2]
    e = parse_error(data)
    assert (e.reason, e.offset) == ("header block not terminated by an empty line", len(data))


# ---------------------------------------------------------------------------
# Limits (DESIGN: LimitError is a ParseError)
# ---------------------------------------------------------------------------


def test_limit_error_is_a_parse_error():
    """RFC 3261 7.3.1 (any number of fields) bounded by Limits.max_headers; LimitError is a ParseError (DESIGN 4)."""
    data = msg([b"X-A: %d" % i for i in range(300)])
    with pytest.raises(LimitError) as ei:
        sipdialog.parse(data)
    assert isinstance(ei.value, ParseError)
    assert ei.value.reason == "more than 256 header fields"
    assert sipdialog.parse(data, limits=sipdialog.Limits(max_headers=400)).headers["X-A"] == "0"


def test_limits_exactly_at_the_limit_accepted_one_more_rejected():
    """RFC 3261 18.3 (sizes), 8.1.1.4 (Call-ID), 19.3 (tag): a value at a limit is accepted."""
    data = msg(body=b"hello")
    L = sipdialog.Limits
    assert sipdialog.parse(data, limits=L(max_message=len(data)))
    e = parse_error(data, limits=L(max_message=len(data) - 1))
    assert isinstance(e, LimitError) and e.offset == len(data) - 1
    assert sipdialog.parse(data, limits=L(max_body=5))
    assert isinstance(parse_error(data, limits=L(max_body=4)), LimitError)
    assert sipdialog.parse(data, limits=L(max_call_id=39))
    e = parse_error(data, limits=L(max_call_id=38))
    assert e.reason == "Call-ID of 39 bytes exceeds the limit of 38"
    assert sipdialog.parse(data, limits=L(max_tag=10))
    assert parse_error(data, limits=L(max_tag=9)).reason == "From tag of 10 bytes exceeds the limit of 9"
    assert sipdialog.parse(data, limits=L(max_via=1))
    assert parse_error(data, limits=L(max_via=0)).reason == "more than 0 Via entries"


# ---------------------------------------------------------------------------
# URIs inside headers: parsed on demand, or at parse time with check_uris
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("to, reason", [
    (b"To: <sip:bob@exa_mple.com>", "unexpected character 0x5f"),
    (b"To: <sip:bob@[::1>", "URI host"),
    (b"To: <sip:bob@h.example.com:99999>", "port"),
    (b"To: <sip:b%zzob@h.example.com>", "invalid escape (need % HEX HEX)"),
    (b"To: <sip:@h.example.com>", "empty user"),
])
def test_malformed_header_uris(to, reason):
    """RFC 3261 20.39, 25.1: a malformed URI inside To is reported with its
    reason: by parse(check_uris=True) at once (offset into the message), or
    by the default parse when the URI is read (msg.to), never silently."""
    data = msg(hdrs=replace(b"To", to))
    e = parse_error(data, check_uris=True)
    assert e.reason.startswith("To: ") and reason in e.reason
    assert data.index(to) < e.offset < data.index(to) + len(to)
    m = sipdialog.parse(data)  # the default keeps header URIs for later
    assert m.to_tag is None and m.call_id
    with pytest.raises(ParseError) as ei:
        m.to.uri
    assert reason in ei.value.reason
