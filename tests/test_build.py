"""Building messages: Request, Response, create_response (RFC 3261 8.2.6),
equality, pickling, repr, the headers view and the URI / NameAddress / Via
value objects."""
from __future__ import annotations

import copy
import pickle

import pytest

import sipdialog
from sipdialog import URI, NameAddress, Request, Response, ValidationError, Via

RURI = "sip:bob@biloxi.example.com"
H = [
    ("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"),
    ("Max-Forwards", "70"),
    ("To", "Bob <sip:bob@biloxi.example.com>"),
    ("From", "Alice <sip:alice@atlanta.example.com>;tag=1928301774"),
    ("Call-ID", "a84b4c76e66710@pc33.atlanta.example.com"),
    ("CSeq", "314159 INVITE"),
]
RH = [h for h in H if h[0] != "Max-Forwards"]


def invite(extra=(), body=b""):
    return Request("INVITE", RURI, headers=H + list(extra), body=body)


def wire(start: str, pairs, body=b"") -> bytes:
    lines = "".join("%s: %s\r\n" % p for p in pairs)
    return ("%s\r\n%sContent-Length: %d\r\n\r\n" % (start, lines, len(body))).encode() + body


# ---------------------------------------------------------------------------
# Request / Response construction
# ---------------------------------------------------------------------------


def test_request_from_pairs_exact_wire_form():
    """RFC 3261 7.1, 7.3.1: start line, 'name: value' lines, Content-Length."""
    r = invite(body=b"v=0\r\n")
    assert isinstance(r, Request) and isinstance(r, sipdialog.Message)
    assert bytes(r) == wire("INVITE sip:bob@biloxi.example.com SIP/2.0", H, b"v=0\r\n")
    assert r.content_length == 5 and r.body == b"v=0\r\n"
    assert sipdialog.parse(bytes(r)) == r


def test_request_from_mapping_equals_pairs():
    """RFC 3261 7.3.1: same header fields in the same order, whatever the container (DESIGN 5: pairs or a mapping)."""
    assert Request("INVITE", RURI, headers=dict(H)) == invite()
    assert bytes(Request("INVITE", RURI, headers=dict(H))) == bytes(invite())


def test_request_uri_may_be_a_uri_object_and_body_a_str():
    """RFC 3261 7.1 Request-URI, 7.4 body (str bodies are sent as UTF-8)."""
    r = Request("INVITE", URI(RURI), headers=H, body="h\u00e9")
    assert r.request_uri == RURI
    assert r.body == "h\u00e9".encode() and r.content_length == 3


def test_response_construction_and_default_reason():
    """RFC 3261 7.2, 21."""
    r = Response(486, headers=RH)
    assert isinstance(r, Response) and r.status_code == 486 and r.reason == "Busy Here"
    assert bytes(r) == wire("SIP/2.0 486 Busy Here", RH)
    assert Response(200, "Fine", headers=RH).reason == "Fine"


@pytest.mark.parametrize("value, at", [
    ("hi\r\nX-Evil: 1", 2),
    ("hi\nX-Evil: 1", 2),
    ("hi\rX", 2),
    ("a\x00b", 1),
    ("a\x07b", 1),
])
def test_header_injection_impossible(value, at):
    """RFC 3261 7.3.1, 25.1: a value holds no CR, LF or other CTL, so it can
    never end its line and start another header."""
    with pytest.raises(ValidationError) as ei:
        invite([("Subject", value)])
    e = ei.value
    assert e.reason == "value of Subject: invalid character 0x%02x in header value" % ord(value[at])
    assert e.offset == at


def test_injection_in_reason_and_uri_impossible():
    """RFC 3261 7.1, 7.2, 25.1: Reason-Phrase and Request-URI hold no CR/LF."""
    with pytest.raises(ValidationError, match="control octet 0x0d in reason phrase"):
        Response(200, "OK\r\nX-Evil: 1", headers=RH)
    with pytest.raises(ValidationError, match="LWS not allowed"):
        Request("INVITE", "sip:bob@biloxi.example.com SIP/2.0\r\nX: y", headers=H)


def test_tab_allowed_in_values():
    """RFC 3261 25.1: HT is LWS, allowed in a value."""
    assert invite([("Subject", "a\tb")]).headers["Subject"] == "a\tb"


@pytest.mark.parametrize("name, reason", [
    ("Sub ject", "header name #7: invalid character 0x20 in token"),
    ("Subject:", "header name #7: invalid character 0x3a in token"),
    ("", "header name #7: empty token"),
    ("X\r\nY", "header name #7: invalid character 0x0d in token"),
])
def test_header_names_must_be_tokens(name, reason):
    """RFC 3261 7.3.1, 25.1: field-name = token."""
    with pytest.raises(ValidationError) as ei:
        invite([(name, "x")])
    assert ei.value.reason == reason


def test_method_and_uri_checked():
    """RFC 3261 7.1: Method = token; Request-URI = SIP-URI / absoluteURI."""
    with pytest.raises(ValidationError, match="method is not a token"):
        Request("INV ITE", RURI, headers=H)
    with pytest.raises(ValidationError, match="scheme"):
        Request("INVITE", "bob", headers=H)


def test_status_code_checked():
    """RFC 3261 7.2: 100..699."""
    for code in (99, 700):
        with pytest.raises(ValidationError, match="outside 100..699"):
            Response(code, headers=RH)


def test_content_length_computed_and_checked():
    """RFC 3261 20.14: Content-Length is the body size in octets."""
    r = invite(body=b"hello")
    assert r.headers.getall("Content-Length") == ["5"]
    r = invite([("Content-Length", "5")], body=b"hello")
    assert r.headers.getall("Content-Length") == ["5"]
    # 1*DIGIT: a zero-padded value equal to the body length agrees with it
    r = invite([("Content-Length", "005")], body=b"hello")
    assert r.headers.getall("Content-Length") == ["5"]
    for wrong in ("4", "06", "6"):
        with pytest.raises(ValidationError, match="differs from the body length 5"):
            invite([("Content-Length", wrong)], body=b"hello")
    with pytest.raises(ValidationError, match="differs from the body length 5"):
        invite([("l", "0")], body=b"hello")


@pytest.mark.parametrize("name", ["Via", "Max-Forwards", "To", "From", "Call-ID", "CSeq"])
def test_missing_mandatory_header_is_a_validation_error(name):
    """RFC 3261 8.1.1."""
    with pytest.raises(ValidationError, match="missing mandatory %s header" % name):
        Request("INVITE", RURI, headers=[h for h in H if h[0] != name])


def test_built_values_pass_the_parser_grammar():
    """RFC 3261 8.1.1.5 (CSeq method and number), 20.42 (Via): built values meet the parser's grammar."""
    with pytest.raises(ValidationError, match="CSeq method 'INVITE' differs from request method 'OPTIONS'"):
        Request("OPTIONS", RURI, headers=H)
    with pytest.raises(ValidationError, match="Via"):
        invite([("Via", "5")])
    with pytest.raises(ValidationError, match="not below 2\\*\\*31"):
        Request("INVITE", RURI, headers=[h if h[0] != "CSeq" else ("CSeq", "2147483648 INVITE") for h in H])


def test_bad_header_arguments_are_type_errors():
    """RFC 3261 7.3.1: a header is a (name, value) pair; anything else is a TypeError (DESIGN 5)."""
    with pytest.raises(TypeError):
        Request("INVITE", RURI, headers=[5])
    with pytest.raises(TypeError):
        Request("INVITE", RURI, headers=[(5, "x")])


def test_messages_cannot_be_made_from_the_base_type():
    """RFC 3261 7: a message is a request or a response."""
    with pytest.raises(TypeError):
        sipdialog.Message()


# ---------------------------------------------------------------------------
# create_response (RFC 3261 8.2.6)
# ---------------------------------------------------------------------------

REQ = (
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP h1.example.com;branch=z9hG4bK1, SIP/2.0/TCP h2.example.com;branch=z9hG4bK2\r\n"
    b"v: SIP/2.0/UDP h3.example.com\r\n ;branch=z9hG4bK3\r\n"
    b"Max-Forwards: 70\r\n"
    b"t: Bob <sip:bob@biloxi.example.com>\r\n"
    b"f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"i: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Timestamp: 54.3 0.2\r\n"
    b"Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
    b"Subject: lunch\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_create_response_exact_bytes():
    """RFC 3261 8.2.6.2: Via (all, in order), From, To (+tag), Call-ID, CSeq;
    compact names in the request are written long, folds unfolded."""
    r = sipdialog.parse(REQ).create_response(180, to_tag="a6c85cf")
    assert bytes(r) == (
        b"SIP/2.0 180 Ringing\r\n"
        b"Via: SIP/2.0/UDP h1.example.com;branch=z9hG4bK1, SIP/2.0/TCP h2.example.com;branch=z9hG4bK2\r\n"
        b"Via: SIP/2.0/UDP h3.example.com ;branch=z9hG4bK3\r\n"
        b"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        b"To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
        b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
        b"CSeq: 314159 INVITE\r\n"
        b"Content-Length: 0\r\n\r\n"
    )


def test_create_response_copies_fields():
    """RFC 3261 8.2.6.2."""
    req = sipdialog.parse(REQ)
    r = req.create_response(200, "Fine", to_tag="x", headers=[("Contact", "<sip:bob@h.example.com>")], body=b"abc")
    assert isinstance(r, Response) and (r.status_code, r.reason) == (200, "Fine")
    assert [v.host for v in r.vias] == ["h1.example.com", "h2.example.com", "h3.example.com"]
    assert [v.branch for v in r.vias] == [v.branch for v in req.vias]
    assert r.from_tag == req.from_tag == "1928301774"
    assert str(r.from_.uri) == str(req.from_.uri)
    assert r.to_tag == "x" and str(r.to.uri) == str(req.to.uri)
    assert r.call_id == req.call_id and r.cseq == req.cseq
    assert r.headers["Contact"] == "<sip:bob@h.example.com>"
    assert "Subject" not in r.headers and "Timestamp" not in r.headers and "Max-Forwards" not in r.headers
    assert r.body == b"abc" and r.content_length == 3


def test_create_response_100_copies_timestamp():
    """RFC 3261 8.2.6.1: a 100 (Trying) copies the Timestamp of the request."""
    req = sipdialog.parse(REQ)
    assert req.create_response(100).headers["Timestamp"] == "54.3 0.2"
    assert req.create_response(100).reason == "Trying"
    assert req.create_response(100).to_tag is None
    assert "Timestamp" not in req.create_response(180).headers


def test_create_response_keeps_existing_to_tag():
    """RFC 3261 8.2.6.2: a To tag in the request is kept; another one is an error."""
    req = sipdialog.parse(REQ.replace(b"t: Bob <sip:bob@biloxi.example.com>", b"t: <sip:bob@biloxi.example.com>;tag=abc"))
    assert req.create_response(200).to_tag == "abc"
    same = req.create_response(200, to_tag="abc")
    assert same.to_tag == "abc" and same.headers["To"] == "<sip:bob@biloxi.example.com>;tag=abc"
    with pytest.raises(ValidationError) as ei:
        req.create_response(200, to_tag="xyz")
    assert ei.value.reason == "the request already has To tag 'abc' (RFC 3261 8.2.6.2)"


@pytest.mark.parametrize("tag, exc, reason", [
    ("bad tag", ValidationError, "invalid character 0x20 in tag"),
    ("a;b", ValidationError, "invalid character 0x3b in tag"),
    ("", ValidationError, "empty tag"),
    ("a" * 257, sipdialog.LimitError, "to_tag exceeds the limit of 256 bytes"),
])
def test_create_response_checks_to_tag(tag, exc, reason):
    """RFC 3261 19.3: tag = token."""
    with pytest.raises(exc) as ei:
        sipdialog.parse(REQ).create_response(200, to_tag=tag)
    assert ei.value.reason == reason


def test_create_response_checks_status_reason_and_headers():
    """RFC 3261 7.2 (100..699, Reason-Phrase), 7.3.1 (no CR/LF in values)."""
    req = sipdialog.parse(REQ)
    with pytest.raises(ValidationError, match="status code 99 outside 100..699"):
        req.create_response(99)
    with pytest.raises(ValidationError, match="control octet 0x0d in reason phrase"):
        req.create_response(200, reason="a\r\nb")
    with pytest.raises(ValidationError, match="value of X: invalid character 0x0d"):
        req.create_response(200, headers={"X": "a\r\nb"})


@pytest.mark.parametrize("code, reason", [
    (100, "Trying"), (180, "Ringing"), (181, "Call Is Being Forwarded"), (182, "Queued"),
    (183, "Session Progress"), (200, "OK"), (202, "Accepted"), (300, "Multiple Choices"),
    (301, "Moved Permanently"), (302, "Moved Temporarily"), (305, "Use Proxy"),
    (380, "Alternative Service"), (400, "Bad Request"), (401, "Unauthorized"),
    (402, "Payment Required"), (403, "Forbidden"), (404, "Not Found"), (405, "Method Not Allowed"),
    (406, "Not Acceptable"), (407, "Proxy Authentication Required"), (408, "Request Timeout"),
    (410, "Gone"), (413, "Request Entity Too Large"), (414, "Request-URI Too Long"),
    (415, "Unsupported Media Type"), (416, "Unsupported URI Scheme"), (420, "Bad Extension"),
    (421, "Extension Required"), (423, "Interval Too Brief"), (480, "Temporarily Unavailable"),
    (481, "Call/Transaction Does Not Exist"), (482, "Loop Detected"), (483, "Too Many Hops"),
    (484, "Address Incomplete"), (485, "Ambiguous"), (486, "Busy Here"), (487, "Request Terminated"),
    (488, "Not Acceptable Here"), (491, "Request Pending"), (493, "Undecipherable"),
    (500, "Server Internal Error"), (501, "Not Implemented"), (502, "Bad Gateway"),
    (503, "Service Unavailable"), (504, "Server Time-out"), (505, "Version Not Supported"),
    (513, "Message Too Large"), (600, "Busy Everywhere"), (603, "Decline"),
    (604, "Does Not Exist Anywhere"), (606, "Not Acceptable"),
])
def test_default_reason_phrases(code, reason):
    """RFC 3261 21: the reason phrases of the response codes."""
    assert sipdialog.parse(REQ).create_response(code).reason == reason
    assert Response(code, headers=RH).reason == reason


# ---------------------------------------------------------------------------
# Equality, pickling, repr
# ---------------------------------------------------------------------------

BASE = wire("INVITE sip:bob@biloxi.example.com SIP/2.0", H + [("Subject", "one two")])


def test_folded_and_unfolded_are_equal():
    """RFC 3261 7.3.1: a fold is equivalent to a single SP."""
    folded = BASE.replace(b"Subject: one two", b"Subject: one\r\n two")
    assert sipdialog.parse(folded) == sipdialog.parse(BASE)
    assert not (sipdialog.parse(folded) != sipdialog.parse(BASE))


def test_name_case_and_compact_form_are_equal():
    """RFC 3261 7.3.1 (names case-insensitive), 7.3.3 (compact form)."""
    assert sipdialog.parse(BASE.replace(b"Subject:", b"subject:")) == sipdialog.parse(BASE)
    assert sipdialog.parse(BASE.replace(b"Subject:", b"s:")) == sipdialog.parse(BASE)


def test_different_messages_unequal():
    """RFC 3261 7.3.1: order of fields with the same name matters; LWS inside a value is kept."""
    base = sipdialog.parse(BASE)
    assert sipdialog.parse(BASE.replace(b"one two", b"one  two")) != base
    swapped = wire("INVITE sip:bob@biloxi.example.com SIP/2.0", [H[1], H[0]] + H[2:] + [("Subject", "one two")])
    assert sipdialog.parse(swapped) != base  # header order matters (7.3.1)
    assert invite(body=b"a") != invite(body=b"b")
    resp = base.create_response(200)
    assert resp != base and base != resp
    assert base != bytes(base)
    assert base.__eq__(5) is NotImplemented


def test_leading_crlfs_do_not_change_equality():
    """RFC 3261 7.5: CRLFs before the start line are not part of the message."""
    assert sipdialog.parse(b"\r\n" + BASE) == sipdialog.parse(BASE)


def test_messages_are_unhashable():
    """Messages compare by value (RFC 3261 7.3.1 rules) and are not hashable."""
    with pytest.raises(TypeError):
        hash(sipdialog.parse(BASE))


@pytest.mark.parametrize("data", [
    BASE,
    BASE.replace(b"Subject: one two", b"Subject: one\r\n two"),
    b"\r\n\r\n" + BASE,
    wire("SIP/2.0 180 Ringing", RH),
])
def test_pickle_round_trip(data):
    """DESIGN 5: parse(bytes(m)) equals m; pickling goes through the wire form (RFC 3261 7)."""
    m = sipdialog.parse(data)
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        p = pickle.loads(pickle.dumps(m, proto))
        assert type(p) is type(m) and p == m and bytes(p) == bytes(m)
    assert copy.copy(m) == m and copy.deepcopy(m) == m


def test_pickle_of_truncated_body():
    """RFC 3261 18.3: the pickled form is the message, not the trailing octets."""
    m = sipdialog.parse(BASE.replace(b"Content-Length: 0", b"Content-Length: 2") + b"hello")
    p = pickle.loads(pickle.dumps(m))
    assert p == m and p.body == b"he"


def test_repr_shows_state():
    """RFC 3261 7.1/7.2 start line, 8.1.1 Call-ID and CSeq shown by repr()."""
    req = sipdialog.parse(BASE)
    assert repr(req) == ("<Request INVITE sip:bob@biloxi.example.com call_id="
                         "'a84b4c76e66710@pc33.atlanta.example.com' cseq=314159 headers=8 body=0>")
    resp = Response(180, headers=RH)
    assert repr(resp) == ("<Response 180 'Ringing' call_id='a84b4c76e66710@pc33.atlanta.example.com'"
                          " cseq=314159 INVITE headers=6 body=0>")


# ---------------------------------------------------------------------------
# The headers view
# ---------------------------------------------------------------------------


def test_headers_view_api():
    """RFC 3261 7.3.1 (names case-insensitive, list values), 7.3.3 (compact forms)."""
    m = sipdialog.parse(REQ)
    h = m.headers
    assert isinstance(h, sipdialog.Headers)
    assert len(h) == 11
    assert h["Call-ID"] == h["i"] == h["call-id"] == "a84b4c76e66710@pc33.atlanta.example.com"
    assert h["Via"] == "SIP/2.0/UDP h1.example.com;branch=z9hG4bK1"
    assert h.getall("Via") == ["SIP/2.0/UDP h1.example.com;branch=z9hG4bK1",
                               "SIP/2.0/TCP h2.example.com;branch=z9hG4bK2",
                               "SIP/2.0/UDP h3.example.com ;branch=z9hG4bK3"]
    assert h.fields("v") == h.fields("Via") and len(h.fields("Via")) == 2
    assert h.get("X-Nope") is None and h.get("X-Nope", "d") == "d"
    with pytest.raises(KeyError):
        h["X-Nope"]
    assert "Timestamp" in h and "t" in h and "X-Nope" not in h and 5 not in h
    assert h.getall("X-Nope") == []
    assert list(h)[:3] == [("Via", "SIP/2.0/UDP h1.example.com;branch=z9hG4bK1, SIP/2.0/TCP h2.example.com;branch=z9hG4bK2"),
                           ("v", "SIP/2.0/UDP h3.example.com ;branch=z9hG4bK3"),
                           ("Max-Forwards", "70")]
    assert h.items() == tuple(h)
    assert h.keys() == ["Via", "Max-Forwards", "To", "From", "Call-ID", "CSeq", "Timestamp", "Contact",
                        "Subject", "Content-Length"]
    assert repr(h).startswith("Headers([('Via', ")


def test_canonical_name():
    """RFC 3261 7.3.3, 20: canonical long names."""
    assert sipdialog.canonical_name("i") == "Call-ID"
    assert sipdialog.canonical_name("cseq") == "CSeq"
    assert sipdialog.canonical_name("www-authenticate") == "WWW-Authenticate"
    assert sipdialog.canonical_name("X-Foo") == "X-Foo"


# ---------------------------------------------------------------------------
# URI, NameAddress, Via
# ---------------------------------------------------------------------------


def test_uri_parts():
    """RFC 3261 19.1.1."""
    s = "sip:alice:secret@atlanta.example.com:5060;transport=tcp;lr?subject=project%20x&priority=urgent"
    u = URI(s)
    assert (u.scheme, u.user, u.password, u.host, u.port) == ("sip", "alice", "secret", "atlanta.example.com", 5060)
    assert u.params == {"transport": "tcp", "lr": None}
    assert u.headers == "subject=project%20x&priority=urgent"
    assert u.host_type == "name"
    assert str(u) == s and u == s and u == URI(s) and hash(u) == hash(URI(s))
    assert repr(u) == "URI(%r)" % s


def test_uri_kinds():
    """RFC 3261 19.1.1 (sips, IPv6), RFC 3966 (tel), absolute URIs."""
    u = URI("sips:[2001:db8::1]:5061")
    assert (u.scheme, u.host, u.port, u.host_type, u.user) == ("sips", "[2001:db8::1]", 5061, "ipv6", None)
    assert URI("sip:192.0.2.1").host_type == "ipv4"
    t = URI("tel:+1-201-555-0123;phone-context=example.com")
    assert (t.scheme, t.user, t.params) == ("tel", "+1-201-555-0123", {"phone-context": "example.com"})
    h = URI("http://www.example.com/a?b")
    assert (h.scheme, h.opaque, h.host) == ("http", "//www.example.com/a?b", None)
    assert URI("SIP:Alice@Example.COM").scheme == "sip"


def test_uri_escapes_decoded_once():
    """RFC 3261 19.1.2; RFC 4475 3.1.1.3."""
    u = URI("sip:%61lice@h.example.com;n%61me=v%61lue%25%34%31")
    assert (u.user, u.raw_user) == ("alice", "%61lice")
    assert u.params == {"name": "value%41"}


@pytest.mark.parametrize("text, reason", [
    ("sip:", "URI: missing host"),
    ("sip:a@h:99999", "URI port: out of range 0..65535"),
    ("sip:a@h:", "URI port: missing digits"),
    ("foo", "URI: scheme not followed by ':'"),
    ("sip:a b@h", "URI user: LWS not allowed"),
])
def test_uri_errors(text, reason):
    """RFC 3261 19.1.1, 25.1: SIP-URI grammar."""
    with pytest.raises(sipdialog.ParseError) as ei:
        URI(text)
    assert ei.value.reason == reason


def test_uri_error_reason_has_no_doubled_percent():
    """RFC 3261 19.1.2 (escaped = "%" HEXDIG HEXDIG): the reason text is shown as
    written, 'need % HEX HEX', not '%%'."""
    with pytest.raises(sipdialog.ParseError) as ei:
        URI("sip:b%zzob@h.example.com")
    assert "invalid escape" in ei.value.reason
    assert "%%" not in ei.value.reason


def test_name_address():
    """RFC 3261 20.10, 20.20, 20.39, 25.1."""
    n = NameAddress('"Bob \\"B\\"" <sip:bob@h.example.com>;tag=1;Expires=60')
    assert n.display == 'Bob "B"' and str(n.uri) == "sip:bob@h.example.com"
    assert n.params == {"tag": "1", "expires": "60"} and n.tag == "1" and n.bracketed and not n.is_star
    a = NameAddress("sip:bob@h.example.com;tag=1")
    assert a.display is None and not a.bracketed and a.tag == "1" and a.uri.params == {}
    b = NameAddress("<sip:bob@h.example.com;lr>")
    assert b.uri.params == {"lr": None} and b.params == {} and b.tag is None
    assert NameAddress("Bob Smith<sip:b@h.example.com>").display == "Bob Smith"
    star = NameAddress("*", allow_star=True)
    assert star.is_star and star.uri is None
    with pytest.raises(sipdialog.ParseError, match="'\\*' not allowed here"):
        NameAddress("*")
    assert NameAddress("<sip:a@h>") == NameAddress("<sip:a@h>")
    assert repr(b) == "NameAddress('<sip:bob@h.example.com;lr>')"


def test_via():
    """RFC 3261 20.42, 18.2.1 (received), RFC 3581 (rport)."""
    v = Via("SIP/2.0/udp pc33.atlanta.example.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.1;"
            "rport=5060;maddr=224.2.0.1;ttl=16")
    assert (v.protocol, v.version, v.transport) == ("SIP", "2.0", "UDP")
    assert (v.host, v.port, v.branch) == ("pc33.atlanta.example.com", 5066, "z9hG4bK776asdhds")
    assert (v.received, v.rport, v.maddr, v.ttl) == ("192.0.2.1", 5060, "224.2.0.1", 16)
    w = Via("SIP / 2.0 / TCP [2001:db8::9:1]:6050 ; rport")
    assert (w.transport, w.host, w.port, w.rport, w.branch, w.ttl) == ("TCP", "[2001:db8::9:1]", 6050, 0, None, None)
    assert Via("SIP/2.0/UDP h").rport is None
    for bad in ("SIP/2.0/UDP", "SIP/2.0/UDP h:70000", "SIP/2.0/UDP h;branch="):
        with pytest.raises(sipdialog.ParseError):
            Via(bad)
    assert str(w) == "SIP / 2.0 / TCP [2001:db8::9:1]:6050 ; rport"
