"""The SIP torture tests of RFC 4475 and RFC 5118 against sipdialog.parse().

Every message of tests/data/torture/ (listed in manifest.tsv) has one entry in
EXPECTED below: what sipdialog does with it, and the fields it must get
right. A message that is added, dropped or handled differently (accepted
instead of rejected, another reason, another offset, a field that changes)
fails the suite.

The bytes are read in binary mode and checked against SHA256SUMS first:
these messages hold CRLFs, NULs, UTF-8 and a binary body.
"""
from __future__ import annotations

import csv
import hashlib
import pathlib

import pytest

import sipdialog

# RFC 4475 / RFC 5118 messages, byte-exact, with their manifest (tests/data/torture/README.md)
TORTURE = pathlib.Path(__file__).resolve().parent / "data" / "torture"
assert (TORTURE / "manifest.tsv").is_file(), "tests/data/torture is part of the repository"


def _manifest():
    if not TORTURE.is_dir():
        return []
    with open(TORTURE / "manifest.tsv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


ROWS = _manifest()
ROW = {r["name"]: r for r in ROWS}


def _sums():
    out = {}
    for line in (TORTURE / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(None, 1)
        out[name.lstrip("*")] = digest
    return out


def data(name: str) -> bytes:
    """The message bytes, verified against SHA256SUMS."""
    raw = (TORTURE / (name + ".dat")).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == _sums()[name + ".dat"], name
    return raw


def parse(name: str, **kw):
    return sipdialog.parse(data(name), **kw)


def test_sha256sums_verify_every_file():
    """RFC 4475 / RFC 5118 messages are byte-exact: verify them first."""
    sums = _sums()
    for fname, digest in sums.items():
        assert hashlib.sha256((TORTURE / fname).read_bytes()).hexdigest() == digest, fname
    # every manifest row has its file, and every file its row
    assert {r["name"] + ".dat" for r in ROWS} == set(sums)


# ---------------------------------------------------------------------------
# Field checks for the messages sipdialog accepts.
# ---------------------------------------------------------------------------


def check_wsinv(m):
    """RFC 4475 3.1.1.1: folding, LWS everywhere, leading zeros, escaped quotes."""
    assert m.method == "INVITE"
    assert str(m.uri) == "sip:vivekg@chair-dnrc.example.com;unknownparam"
    assert m.uri.params == {"unknownparam": None}
    assert m.max_forwards == 68  # "0068"
    assert m.cseq == (9, "INVITE")  # "0009\r\n  INVITE"
    assert m.cseq.seq == 9 and m.cseq.method == "INVITE"
    vias = m.vias
    assert [(v.host, v.transport, v.branch) for v in vias] == [
        ("192.0.2.2", "UDP", "390skdjuw"),
        ("spindle.example.com", "TCP", "z9hG4bK9ikj8"),
        ("192.168.255.111", "UDP", "z9hG4bK30239"),
    ]
    assert m.via_branch == "390skdjuw"
    # from   : "J Rosenberg \\\""  -> J Rosenberg \"
    assert m.from_.display == 'J Rosenberg \\"'
    assert m.from_tag == "98asjd8"
    assert m.to_tag == "1918181833n"
    assert str(m.to.uri) == "sip:vivekg@chair-dnrc.example.com"
    assert m.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert m.content_length == 150 and len(m.body) == 150
    assert m.body.startswith(b"v=0\r\n")
    assert m.headers["s"] == "" and m.headers["Subject"] == ""
    # the unknown header is kept whole and opaque
    assert m.headers["UnknownHeaderWithUnusualValue"] == ";;,,;;,;"
    assert m.headers.getall("UnknownHeaderWithUnusualValue") == [";;,,;;,;"]
    assert m.headers["NewFangledHeader"] == "newfangled value continued newfangled value"
    (contact,) = m.contacts
    assert contact.display == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    (route,) = m.routes
    assert route.uri.params == {"lr": None, "unknownwith": "value", "unknown-no-value": None}


def check_intmeth(m):
    """RFC 4475 3.1.1.2: unusual but legal characters everywhere."""
    method = "!interesting-Method0123456789_*+`.%indeed'~"
    assert m.method == method
    assert m.cseq == (139122385, method)
    assert m.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert m.from_tag == "_token~1'+`*%!-."
    assert m.from_.display == "token1~` token2'+_ token3*%!.-"
    assert m.from_.params["fromparam''~+*_!.-%"] == '"\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439"'
    # quoted-pairs of BEL, NUL and DEL inside the To display name
    assert m.to.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert m.to_tag is None
    assert m.max_forwards == 255
    assert m.headers["extensionHeader-!.%*+_`'~"] == "\ufeff\u5927\u505c\u96fb"
    assert m.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert m.via_branch == "z9hG4bK-.!%66*_+`'~"


def check_esc01(m):
    """RFC 4475 3.1.1.3: %HEX HEX is the encoded character, decoded once."""
    assert m.uri.user == "sips:user@example.com"
    assert m.uri.raw_user == "sips%3Auser%40example.com"
    assert m.uri.host == "example.net"
    assert m.to.uri.user == "user"
    assert m.from_.uri.user == "I have spaces"
    (c,) = m.contacts
    assert c.uri.user == "caller"
    # n%61me=v%61lue%25%34%31 is name=value%41: never decoded twice
    assert c.uri.params == {"lr": None, "name": "value%41"}
    assert m.call_id == "esc01.239409asdfakjkn23onasd0-3234"


def check_escnull(m):
    """RFC 4475 3.1.1.4: escaped NULs must not truncate users."""
    assert m.method == "REGISTER"
    assert m.to.uri.user == "null-\x00-null"
    assert m.from_.uri.user == "null-\x00-null"
    assert m.from_tag == "839923423"
    assert [c.uri.user for c in m.contacts] == ["\x00", "\x00\x00"]
    assert len({str(c.uri) for c in m.contacts}) == 2
    assert m.content_length == 0


def check_esc02(m):
    """RFC 4475 3.1.1.5: RE%47IST%45R is an unknown method, not REGISTER."""
    assert m.method == "RE%47IST%45R" and m.method != "REGISTER"
    assert m.cseq == (29344, "RE%47IST%45R")
    assert m.to.display == "%Z%45" and m.from_.display == "%Z%45"
    # C%6Fntact is another (unknown) header name
    assert [str(c.uri) for c in m.contacts] == ["sip:alias1@host1.example.com", "sip:alias3@host3.example.com"]
    assert m.headers["C%6Fntact"] == "<sip:alias2@host2.example.com>"
    assert m.via_branch == "z9hG4bK209%fzsnel234"


def check_lwsdisp(m):
    """RFC 4475 3.1.1.6: display-name token directly followed by '<'."""
    assert m.from_.display == "caller"
    assert m.from_tag == "323"
    assert str(m.from_.uri) == "sip:caller@example.com"


def check_longreq(m):
    """RFC 4475 3.1.1.7: long values, 34 Vias under mixed-case names."""
    vias = m.vias
    assert len(vias) == 34
    assert (vias[0].host, vias[0].transport) == ("sip33.example.com", "TCP")
    assert [v.host for v in vias[:33]] == ["sip%d.example.com" % i for i in range(33, 0, -1)]
    assert vias[-1].host == "host.example.com" and vias[-1].received == "192.0.2.5"
    assert m.from_tag == "12" + "982" * 50 + "424"  # 155 octets
    assert len(m.from_tag) == 155
    assert m.call_id.startswith("longreq.onereally") and m.call_id.endswith("longcallid")
    assert len(m.call_id) == 141
    assert m.to.display.startswith("I have a user name of extreme")
    assert m.to.uri.port == 6000
    assert m.content_length == 150 and len(m.body) == 150


def check_dblreq(m):
    """RFC 4475 3.1.1.8: one REGISTER; the trailing INVITE octets are ignored (RFC 3261 18.3)."""
    raw = data("dblreq")
    assert m.method == "REGISTER"
    assert m.body == b"" and m.content_length == 0
    wire = bytes(m)
    assert b"INVITE" not in wire
    assert wire == raw[: raw.index(b"\r\n\r\n") + 4]
    assert raw.index(b"INVITE") > len(wire)
    assert m.call_id == "dblreq.0ha0isndaksdj99sdfafnl3lk233412"


def check_semiuri(m):
    """RFC 4475 3.1.1.9: ';' belongs to the user part, %40 decodes to '@'."""
    assert m.uri.user == "user;par=u@example.net"
    assert m.uri.host == "example.com"
    assert m.uri.params == {}
    assert m.headers.getall("Accept") == [
        "application/sdp", "application/pkcs7-mime", "multipart/mixed",
        "multipart/signed", "message/sip", "message/sipfrag"]


def check_transports(m):
    """RFC 4475 3.1.1.10: an unknown transport is not an error."""
    assert [v.transport for v in m.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert [v.host for v in m.vias] == ["t%d.example.com" % i for i in range(1, 6)]
    assert m.call_id == "transports.kijh4akdnaqjkwendsasfdj"


def check_mpart01(m):
    """RFC 4475 3.1.1.11: a binary body with NULs, framed by Content-Length."""
    assert m.method == "MESSAGE"
    assert m.content_length == 553 and len(m.body) == 553
    assert b"\x00" in m.body
    assert m.body.count(b"\x00") == 2
    assert m.body.startswith(b"--7a9cbec02ceef655\r\n")
    assert m.headers["Content-Type"].startswith("multipart/mixed")


def check_unreason(m):
    """RFC 4475 3.1.1.12: UTF-8 in the Reason-Phrase."""
    assert m.status_code == 200
    assert m.reason == "= 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c - \u043f\u0440\u043e\u0441\u0442\u043e\u0435"  # noqa: E501


def check_noreason(m):
    """RFC 4475 3.1.1.13: 'SIP/2.0 100 ' with an empty Reason-Phrase."""
    assert m.status_code == 100
    assert m.reason == ""
    assert m.to_tag == "902jndnke3"


def check_badbranch(m):
    """RFC 4475 3.2.1: the branch is exactly the magic cookie."""
    assert m.via_branch == "z9hG4bK"


def check_unkscm(m):
    """RFC 4475 3.3.2: unknown Request-URI scheme, opaque."""
    assert m.uri.scheme == "nobodyknowsthisscheme"
    assert m.uri.opaque == "totallyopaquecontent"
    assert str(m.uri) == "nobodyKnowsThisScheme:totallyopaquecontent"


def check_novelsc(m):
    """RFC 4475 3.3.3: soap.beep Request-URI."""
    assert m.uri.scheme == "soap.beep"
    assert str(m.uri) == "soap.beep://192.0.2.103:3002"


def check_unksm2(m):
    """RFC 4475 3.3.4: non-SIP URIs in To, From, Contact."""
    assert str(m.to.uri) == "isbn:2983792873"
    assert str(m.from_.uri) == "http://www.example.com"
    assert [str(c.uri) for c in m.contacts] == ["name:John_Smith"]


def check_bext01(m):
    """RFC 4475 3.3.5: Require / Proxy-Require with unknown option tags."""
    assert m.headers.getall("Require") == ["nothingSupportsThis", "nothingSupportsThisEither"]
    assert m.headers.getall("Proxy-Require") == ["noProxiesSupportThis", "norDoAnyProxiesSupportThis"]


def check_invut(m):
    """RFC 4475 3.3.6: body of an unknown type."""
    assert m.headers["c"] == "application/unknownformat"
    assert m.body == b'<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n'


def check_regaut01(m):
    """RFC 4475 3.3.7: Authorization with an unknown scheme."""
    assert m.headers["Authorization"] == "NoOneKnowsThisScheme opaque-data=here"


def check_bcast(m):
    """RFC 4475 3.3.10: a 200 OK whose second Via is 255.255.255.255."""
    assert m.status_code == 200
    assert [v.host for v in m.vias] == ["192.0.2.198", "255.255.255.255"]


def check_zeromf(m):
    """RFC 4475 3.3.11: Max-Forwards 0 is legal."""
    assert m.max_forwards == 0


def check_cparam01(m):
    """RFC 4475 3.3.12: addr-spec without <>: ';unknownparam' is a header parameter."""
    (c,) = m.contacts
    assert not c.bracketed
    assert str(c.uri) == "sip:+19725552222@gw1.example.net"
    assert c.params == {"unknownparam": None}
    assert c.uri.params == {}


def check_cparam02(m):
    """RFC 4475 3.3.13: inside <>: 'unknownparam' is a URI parameter."""
    (c,) = m.contacts
    assert c.bracketed
    assert str(c.uri) == "sip:+19725552222@gw1.example.net;unknownparam"
    assert c.uri.params == {"unknownparam": None}
    assert c.params == {}


def check_regescrt(m):
    """RFC 4475 3.3.14: an escaped Route header inside the Contact URI."""
    (c,) = m.contacts
    assert str(c.uri) == "sip:user@example.com?Route=%3Csip:sip.example.com%3E"
    assert c.uri.headers == "Route=%3Csip:sip.example.com%3E"
    assert c.params == {}
    assert m.content_length == 0  # compact L:0


def check_sdp01(m):
    """RFC 4475 3.3.15."""
    assert m.headers["Accept"] == "text/nobodyKnowsThis"
    assert len(m.body) == 150


def check_baddate(m):
    """RFC 4475 3.1.2.12: the Date is not used by the parser: liberal acceptance."""
    assert m.headers["Date"] == "Fri, 01 Jan 2010 16:00:00 EST"


def check_ipv6_good(m):
    """RFC 5118 4.1."""
    assert (m.uri.host, m.uri.port, m.uri.host_type) == ("[2001:db8::10]", None, "ipv6")
    assert [(v.host, v.port) for v in m.vias] == [("[2001:db8::9:1]", None)]
    assert [(c.uri.user, c.uri.host) for c in m.contacts] == [("caller", "[2001:db8::1]")]


def check_port_ambiguous(m):
    """RFC 5118 4.3: [2001:db8::10:5070] is an address, no port."""
    assert (m.uri.host, m.uri.port) == ("[2001:db8::10:5070]", None)


def check_port_unambiguous(m):
    """RFC 5118 4.4."""
    assert (m.uri.host, m.uri.port) == ("[2001:db8::10]", 5070)


def check_via_received_with_delim(m):
    """RFC 5118 4.5: received=[...] parsed robustly."""
    (v,) = m.vias
    assert v.host == "[2001:db8::9:1]"
    assert v.received == "[2001:db8::9:255]"
    assert v.branch == "z9hG4bKas3-111"


def check_via_received_no_delim(m):
    """RFC 5118 4.5."""
    (v,) = m.vias
    assert v.received == "2001:db8::9:255"


def check_mult_ip_in_header(m):
    """RFC 5118 4.7."""
    assert [(v.host, v.port, v.transport, v.received) for v in m.vias] == [
        ("[2001:db8::9:1]", 6050, "UDP", None),
        ("192.0.2.1", None, "UDP", None),
        ("[2001:db8::9:255]", None, "TCP", "192.0.2.200"),
    ]


def _truncated(name, cl, printed):
    def check(m):
        """RFC 5118 / RFC 3261 18.3: keep Content-Length octets, ignore the rest."""
        raw = data(name)
        after = raw[raw.index(b"\r\n\r\n") + 4:]
        assert len(after) == printed
        assert m.content_length == cl
        assert m.body == after[:cl]
        assert bytes(m) == raw[: len(raw) - (printed - cl)]
    return check


def check_ipv4_mapped(m):
    """RFC 5118 4.9."""
    _truncated("ipv4-mapped-ipv6", 236, 245)(m)
    assert [(v.host, v.port) for v in m.vias] == [("[::ffff:192.0.2.10]", 19823), ("[::ffff:192.0.2.2]", None)]
    assert [c.uri.host for c in m.contacts] == ["[::ffff:192.0.2.2]"]


def check_mult_ip_in_sdp(m):
    """RFC 5118 4.8."""
    _truncated("mult-ip-in-sdp", 181, 189)(m)
    assert m.uri.host == "[2001:db8::10]"


def check_ipv6_2_colons(m):
    """RFC 5118 4.10."""
    assert m.uri.host == "[2001:db8::192.0.2.1]"
    assert m.to.uri.host == "[2001:db8::192.0.2.1]"


# (outcome, detail): "ok" with a field check, or "error" with
# (substring of the reason, the bytes the offset points at).
EXPECTED = {
    # RFC 4475 3.1.1: valid messages
    "wsinv": ("ok", check_wsinv),
    "intmeth": ("ok", check_intmeth),
    "esc01": ("ok", check_esc01),
    "escnull": ("ok", check_escnull),
    "esc02": ("ok", check_esc02),
    "lwsdisp": ("ok", check_lwsdisp),
    "longreq": ("ok", check_longreq),
    "dblreq": ("ok", check_dblreq),
    "semiuri": ("ok", check_semiuri),
    "transports": ("ok", check_transports),
    "mpart01": ("ok", check_mpart01),
    "unreason": ("ok", check_unreason),
    "noreason": ("ok", check_noreason),
    # RFC 4475 3.1.2: invalid messages
    "badinv01": ("error", ("Via: malformed parameter", b";,;,,")),
    "clerr": ("error", ("Content-Length 9999 exceeds the 154 bytes", b"9999\r\n")),
    "ncl": ("error", ("Content-Length '-999' is not a decimal number", b"-999\r\n")),
    "scalar02": ("error", ("CSeq number 36893488147419103232 is not below 2**31", b"36893488147419103232 ")),
    "scalarlg": ("error", ("CSeq number 9292394834772304023312 is not below 2**31", b"9292394834772304023312 ")),
    "quotbal": ("error", ("unterminated quoted-string", b'"Mr. J. User <')),
    "ltgtruri": ("error", ("URI: missing scheme", b"<sip:user@example.com>")),
    "lwsruri": ("error", ("request line must end in ' SIP/2.0'", b"lr SIP/2.0")),
    "lwsstart": ("error", ("extra SP in request line", b" sip:user@example.com")),
    "trws": ("error", ("request line must end in ' SIP/2.0'", b"SIP/2.0  \r\n")),
    "escruri": ("error", ("headers are not allowed in a Request-URI", b"Route=%3C")),
    "baddate": ("ok", check_baddate),
    "regbadct": ("error", ("must be enclosed in <>", b"?Route=")),
    "badaspec": ("error", ("LWS inside <>", b" sip:t.watson@")),
    "baddn": ("error", ("display-name", b", Alexander <")),
    "badvers": ("error", ("unsupported SIP version 'SIP/7.0'", b"SIP/7.0\r\n")),
    "mismatch01": ("error", ("CSeq method 'INVITE' differs from request method 'OPTIONS'", b"INVITE\r\n")),
    "mismatch02": ("error", ("CSeq method 'INVITE' differs from request method 'NEWMETHOD'", b"INVITE\r\n")),
    "bigcode": ("error", ("status code is not 3 digits", b"4294967301 ")),
    # RFC 4475 3.2, 3.3
    "badbranch": ("ok", check_badbranch),
    "insuf": ("error", ("missing mandatory Call-ID header", b"\r\nv=0")),
    "unkscm": ("ok", check_unkscm),
    "novelsc": ("ok", check_novelsc),
    "unksm2": ("ok", check_unksm2),
    "bext01": ("ok", check_bext01),
    "invut": ("ok", check_invut),
    "regaut01": ("ok", check_regaut01),
    "multi01": ("error", ("CSeq appears twice with different values", b"CSeq: 59 INVITE\r\n")),
    "mcl01": ("error", ("Content-Length appears twice with different values", b"Content-Length: 5\r\n")),
    "bcast": ("ok", check_bcast),
    "zeromf": ("ok", check_zeromf),
    "cparam01": ("ok", check_cparam01),
    "cparam02": ("ok", check_cparam02),
    "regescrt": ("ok", check_regescrt),
    "sdp01": ("ok", check_sdp01),
    # RFC 4475 3.4.1: see test_inv2543 for rfc2543=True
    "inv2543": ("error", ("missing mandatory Max-Forwards header", b"\r\nv=0\r\n")),
    # archive-only file
    "test": ("error", ("request line without SIP-Version", b"sip:alan@jasomi.com\r\n")),
    # RFC 5118
    "ipv6-good": ("ok", check_ipv6_good),
    "ipv6-bad": ("error", ("URI host", b"2001:db8::10 SIP/2.0")),
    "port-ambiguous": ("ok", check_port_ambiguous),
    "port-unambiguous": ("ok", check_port_unambiguous),
    "via-received-param-with-delim": ("ok", check_via_received_with_delim),
    "via-received-param-no-delim": ("ok", check_via_received_no_delim),
    "ipv6-in-sdp": ("error", ("Content-Length 268 exceeds the 251 bytes after the headers", b"268\r\n")),
    "mult-ip-in-header": ("ok", check_mult_ip_in_header),
    "mult-ip-in-sdp": ("ok", check_mult_ip_in_sdp),
    "ipv4-mapped-ipv6": ("ok", check_ipv4_mapped),
    "ipv6-bug-abnf-3-colons": ("error", ("URI host", b"[2001:db8:::192.0.2.1]")),
    "ipv6-correct-abnf-2-colons": ("ok", check_ipv6_2_colons),
}

# Rows marked 'invalid' that sipdialog accepts on purpose, with the RFC's leave.
LIBERAL = {"baddate"}  # RFC 4475 3.1.2.12: only if Date matters to processing
# Rows marked 'valid-but-unusual' that sipdialog rejects on purpose.
STRICT_UNUSUAL = {
    "inv2543",  # RFC 4475 3.4.1: RFC 2543 syntax, accepted with rfc2543=True only
    "ipv6-in-sdp",  # RFC 5118 4.6: Content-Length larger than the body (RFC 3261 18.3)
}


def test_every_manifest_row_has_an_expectation():
    """RFC 4475 / RFC 5118: every manifest row is covered."""
    assert set(EXPECTED) == set(ROW)


def test_expectations_agree_with_the_manifest():
    """RFC 4475 / RFC 5118: outcomes agree with the row's 'expected' column."""
    for name, (outcome, _) in EXPECTED.items():
        expected = ROW[name]["expected"]
        if expected == "valid":
            assert outcome == "ok", name
        elif expected == "invalid":
            assert (outcome == "error") != (name in LIBERAL), name
        else:
            assert expected == "valid-but-unusual", name
            assert (outcome == "ok") != (name in STRICT_UNUSUAL), name


@pytest.mark.parametrize("name", sorted(ROW))
def test_torture_message(name):
    """RFC 4475 / RFC 5118 (the row's rfc_section): each message as its manifest row says."""
    outcome, detail = EXPECTED[name]
    raw = data(name)
    if outcome == "ok":
        msg = sipdialog.parse(raw)
        detail(msg)
        # the wire form parses back to an equal message
        assert sipdialog.parse(bytes(msg)) == msg
    else:
        reason, at = detail
        with pytest.raises(sipdialog.ParseError) as ei:
            sipdialog.parse(raw)
        e = ei.value
        assert not isinstance(e, sipdialog.LimitError)
        assert reason in e.reason, (name, e.reason)
        assert raw[e.offset:].startswith(at), (name, e.offset, raw[e.offset:e.offset + 30])


def test_inv2543_accepted_with_rfc2543():
    """RFC 4475 3.4.1: no Max-Forwards, no Content-Length, Via without branch,
    From without tag; with rfc2543=True the body is the rest of the datagram."""
    raw = data("inv2543")
    with pytest.raises(sipdialog.ParseError, match="Max-Forwards"):
        sipdialog.parse(raw)
    m = sipdialog.parse(raw, rfc2543=True)
    assert m.method == "INVITE"
    assert m.max_forwards is None
    assert m.content_length is None
    assert m.via_branch is None and m.vias[0].branch is None
    assert m.from_tag is None and m.to_tag is None
    assert m.body == raw[raw.index(b"\r\n\r\n") + 4:]
    assert len(m.body) == 105
    assert [str(r.uri) for r in m.record_routes] == ["sip:UserB@example.com;maddr=ss1.example.com"]


def test_insuf_rejected_even_with_rfc2543():
    """RFC 4475 3.3.1: rfc2543=True relaxes Max-Forwards only, not Call-ID/From/To."""
    with pytest.raises(sipdialog.ParseError, match="missing mandatory Call-ID"):
        parse("insuf", rfc2543=True)


def test_dblreq_is_one_message_in_datagram_mode():
    """RFC 4475 3.1.1.8 / RFC 3261 18.3: the INVITE octets are not a second message."""
    m = parse("dblreq")
    assert m.method == "REGISTER"
    assert len(bytes(m)) < len(data("dblreq"))


def test_intmeth_answerable_with_501():
    """RFC 4475 3.1.1.2: an endpoint answers this request 501 with Allow; the
    response copies To with its escaped NUL, BEL and DEL (RFC 3261 8.2.6)."""
    m = parse("intmeth")
    r = m.create_response(501, to_tag="x1", headers=[("Allow", "INVITE, ACK, BYE")])
    assert r.status_code == 501
    assert r.to.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert r.to_tag == "x1"
    assert r.cseq == m.cseq
    assert sipdialog.parse(bytes(r)) == r
