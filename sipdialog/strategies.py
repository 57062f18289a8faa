"""Hypothesis strategies for SIP values and whole messages (RFC 3261).

Use them to fuzz your own SIP systems and to write property tests. They
need hypothesis, which ships with the ``test`` extra::

    pip install sipdialog[test]

Every strategy draws from the RFC 3261 section 25.1 grammar (with the
corrections sipdialog documents: RFC 5954 IPv6, RFC 3966 tel URIs), so
each value is valid where its rule applies, and every message that
:func:`requests`, :func:`responses` or :func:`message_parts` generates is
accepted by :func:`sipdialog.parse` under the default
:class:`sipdialog.Limits` (and with ``check_uris=True``)::

    from hypothesis import given
    from sipdialog import strategies as sips

    @given(sips.requests())
    def test_my_proxy_survives(request):
        my_proxy.handle(bytes(request))

    @given(sips.message_parts())
    def test_fields(parts):
        msg = parts.build()
        assert msg.call_id == parts.call_id

Value strategies return ``str``; :func:`bodies` returns ``bytes``;
:func:`mutations` turns any ``bytes`` into damaged copies (truncation,
byte flips, insertions, deletions, duplications) for robustness tests.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "sipdialog.strategies needs hypothesis: pip install sipdialog[test]") from exc

import sipdialog
from sipdialog import _core

__all__ = [
    "ALPHANUM", "TOKEN_CHARS", "WORD_CHARS", "USER_CHARS", "PASSWORD_CHARS", "PARAM_CHARS",
    "HNV_CHARS", "MARK",
    "tokens", "words", "methods", "call_ids", "tags", "branches", "escaped",
    "hostnames", "ipv4_addresses", "ipv6_addresses", "ipv6_references", "hosts", "ports",
    "users", "passwords", "uri_parameters", "uri_headers", "sip_uris", "tel_subscribers", "tel_uris",
    "absolute_uris", "request_uris", "quoted_strings", "display_names", "name_addrs",
    "contact_values", "via_parms", "via_values", "cseqs", "header_names", "unknown_header_names",
    "header_values", "reason_phrases", "status_codes", "bodies", "extra_headers",
    "MessageParts", "message_parts", "requests", "responses", "messages", "mutations",
]

# ---- character sets of RFC 3261 25.1 ----

DIGIT = "0123456789"
ALPHA = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
HEXDIG = "0123456789abcdefABCDEF"
ALPHANUM = ALPHA + DIGIT
#: mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
MARK = "-_.!~*'()"
UNRESERVED = ALPHANUM + MARK
#: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
TOKEN_CHARS = ALPHANUM + "-.!%*_+`'~"
#: word = 1*(token chars / "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}")
WORD_CHARS = TOKEN_CHARS + "()<>:\\\"/[]?{}"
#: user = 1*( unreserved / escaped / user-unreserved ), without the escapes
USER_CHARS = UNRESERVED + "&=+$,;?/"
#: password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
PASSWORD_CHARS = UNRESERVED + "&=+$,"
#: paramchar = param-unreserved / unreserved / escaped, without the escapes
PARAM_CHARS = UNRESERVED + "[]/:&+$"
#: hname / hvalue characters: hnv-unreserved / unreserved (escapes aside)
HNV_CHARS = UNRESERVED + "[]/?:+$"
#: reserved = ";" / "/" / "?" / ":" / "@" / "&" / "=" / "+" / "$" / ","
RESERVED = ";/?:@&=+$,"
WSP = " \t"

_VIA_PARAMS = ("branch", "received", "maddr", "ttl", "rport")


_cached = functools.lru_cache(maxsize=None)
_SAMPLED: dict = {}


def _one(options) -> st.SearchStrategy:
    """sampled_from(options), built once per distinct option tuple (strategies are
    built inside composites on every draw; construction dominates otherwise)."""
    key = tuple(options)
    s = _SAMPLED.get(key)
    if s is None:
        s = _SAMPLED[key] = st.sampled_from(key)
    return s


def _is_unknown_name(name: str) -> bool:
    return _core._header_info(name)[0] is None


def _join(parts) -> str:
    return "".join(parts)


def _mixed_case(s: str, draw) -> str:
    """Flip the case of some letters (header names and schemes are case-insensitive)."""
    mask = draw(st.integers(0, (1 << len(s)) - 1))
    return "".join(c.swapcase() if mask >> i & 1 else c for i, c in enumerate(s))


# ---- tokens and words ----


@_cached
def tokens(min_size: int = 1, max_size: int = 16) -> st.SearchStrategy[str]:
    """token (RFC 3261 25.1)."""
    return st.text(TOKEN_CHARS, min_size=min_size, max_size=max_size)


@_cached
def words(min_size: int = 1, max_size: int = 16) -> st.SearchStrategy[str]:
    """word (RFC 3261 25.1): token characters plus ( ) < > : \\ " / [ ] ? { }."""
    return st.text(WORD_CHARS, min_size=min_size, max_size=max_size)


KNOWN_METHODS = ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE",
                 "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE")


@_cached
def methods() -> st.SearchStrategy[str]:
    """Method = INVITEm / ACKm / ... / extension-method (token), RFC 3261 25.1."""
    return st.one_of(_one(KNOWN_METHODS), tokens(max_size=12))


@_cached
def call_ids(max_size: int = 40) -> st.SearchStrategy[str]:
    """callid = word [ "@" word ] (RFC 3261 20.8, 25.1)."""
    half = max(1, (max_size - 1) // 2)
    w = words(max_size=half)
    return st.one_of(w, st.builds(lambda a, b: a + "@" + b, w, w))


@_cached
def tags(max_size: int = 24) -> st.SearchStrategy[str]:
    """tag-param value: token (RFC 3261 19.3, 25.1)."""
    return tokens(max_size=max_size)


@_cached
def branches() -> st.SearchStrategy[str]:
    """branch value: token, mostly with the RFC 3261 magic cookie z9hG4bK (8.1.1.7)."""
    return st.one_of(tokens(max_size=20).map(lambda t: "z9hG4bK" + t), tokens(max_size=20))


@_cached
def escaped() -> st.SearchStrategy[str]:
    """escaped = "%" HEXDIG HEXDIG."""
    return st.builds(lambda a, b: "%" + a + b, _one(HEXDIG), _one(HEXDIG))


@_cached
@st.composite
def _esc_text(draw, chars: str, min_size: int, max_size: int) -> str:
    """1*( chars / escaped ) style runs: text of ``chars`` with a few escapes."""
    pieces = list(draw(st.text(chars, min_size=min_size, max_size=max_size)))
    for _ in range(draw(_one([0, 0, 0, 1, 2]))):
        pieces.insert(draw(st.integers(0, len(pieces))), draw(escaped()))
    return "".join(pieces)


# ---- hosts ----


@_cached
def hostnames() -> st.SearchStrategy[str]:
    """hostname = *( domainlabel "." ) toplabel [ "." ] (RFC 3261 25.1)."""
    domainlabel = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,8}[A-Za-z0-9])?"
    toplabel = r"[A-Za-z](?:[A-Za-z0-9-]{0,8}[A-Za-z0-9])?"
    return st.from_regex(r"(?:%s\.){0,3}%s\.?" % (domainlabel, toplabel), fullmatch=True)


@_cached
@st.composite
def ipv4_addresses(draw) -> str:
    """IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT, each octet 0..255
    (leading zeros as 1*3DIGIT allows)."""
    octets = draw(st.lists(st.integers(0, 255), min_size=4, max_size=4))
    padded = draw(st.lists(st.booleans(), min_size=4, max_size=4))
    return ".".join("%03d" % o if p and draw(st.integers(0, 3)) == 0 else str(o)
                    for o, p in zip(octets, padded))


@_cached
@st.composite
def ipv6_addresses(draw) -> str:
    """IPv6address (RFC 3261 25.1 as corrected by RFC 5954 / RFC 3986 3.2.2): eight
    h16, or fewer with one "::", optionally ending in an IPv4 address."""
    tail = draw(st.booleans())
    n = 6 if tail else 8
    groups = []
    for _ in range(n):
        g = draw(st.integers(0, 0xFFFF))
        fmt = draw(_one(["x", "X", "04x", "x"]))
        groups.append(format(g, fmt))
    compress = draw(st.booleans())
    if compress:
        i = draw(st.integers(0, n - 1))
        j = draw(st.integers(i + 1, n))
        head, rest = groups[:i], groups[j:]
        if tail:
            rest = rest + [draw(ipv4_addresses())]
        return ":".join(head) + "::" + ":".join(rest)
    if tail:
        groups.append(draw(ipv4_addresses()))
    return ":".join(groups)


@_cached
def ipv6_references() -> st.SearchStrategy[str]:
    """IPv6reference = "[" IPv6address "]"."""
    return ipv6_addresses().map(lambda a: "[" + a + "]")


@_cached
def hosts() -> st.SearchStrategy[str]:
    """host = hostname / IPv4address / IPv6reference (RFC 3261 19.1.1, 25.1)."""
    return st.one_of(hostnames(), ipv4_addresses(), ipv6_references())


@_cached
def ports(max_value: int = 65535) -> st.SearchStrategy[str]:
    """port = 1*DIGIT, as a number 0..65535."""
    return st.integers(0, max_value).map(str)


# ---- URIs ----


@_cached
def users(exclude: str = "", max_size: int = 12) -> st.SearchStrategy[str]:
    """user = 1*( unreserved / escaped / user-unreserved ) (RFC 3261 25.1)."""
    chars = "".join(c for c in USER_CHARS if c not in exclude)
    return _esc_text(chars, 1, max_size)


@_cached
def passwords(exclude: str = "", max_size: int = 8) -> st.SearchStrategy[str]:
    """password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )."""
    chars = "".join(c for c in PASSWORD_CHARS if c not in exclude)
    return _esc_text(chars, 0, max_size)


@_cached
def _pname() -> st.SearchStrategy[str]:
    return _esc_text(PARAM_CHARS, 1, 10)


@_cached
def _uri_param_tokens() -> st.SearchStrategy[str]:
    # method-param = "method=" Method, other-transport and other-user: tokens
    # (RFC 3261 25.1), "%" (unescaped) and "`" included.
    return st.one_of(_one(KNOWN_METHODS), st.text(TOKEN_CHARS, min_size=1, max_size=10))


@_cached
def uri_parameters(max_params: int = 3) -> st.SearchStrategy[str]:
    """uri-parameters = *( ";" uri-parameter ): transport, user, method, ttl, maddr, lr
    and other-param = pname [ "=" pvalue ]."""
    one = st.one_of(
        st.one_of(_one(["udp", "tcp", "sctp", "tls", "ws"]), _uri_param_tokens()).map(
            lambda t: "transport=" + t),
        st.one_of(_one(["phone", "ip", "dialog"]), _uri_param_tokens()).map(lambda u: "user=" + u),
        _uri_param_tokens().map(lambda m: "method=" + m),
        st.integers(0, 255).map(lambda t: "ttl=%d" % t),
        hosts().map(lambda h: "maddr=" + h),
        st.just("lr"),
        _pname(),
        st.builds(lambda n, v: n + "=" + v, _pname(), _pname()),
    )
    return st.lists(one, max_size=max_params).map(lambda ps: "".join(";" + p for p in ps))


@_cached
def uri_headers(max_headers: int = 2) -> st.SearchStrategy[str]:
    """headers = "?" header *( "&" header ); header = hname "=" hvalue."""
    header = st.builds(lambda n, v: n + "=" + v, _esc_text(HNV_CHARS, 1, 8), _esc_text(HNV_CHARS, 0, 8))
    return st.lists(header, min_size=1, max_size=max_headers).map(lambda hs: "?" + "&".join(hs))


@_cached
def tel_subscribers() -> st.SearchStrategy[str]:
    """A global-number of RFC 3966 (what telephone-subscriber means in a SIP URI user)."""
    return st.from_regex(r"\+[0-9](?:[0-9.()-]{0,12}[0-9])?", fullmatch=True)


@_cached
@st.composite
def sip_uris(draw, *, scheme: Optional[str] = None, user: Optional[bool] = None,
             password: Optional[bool] = None, port: Optional[bool] = None,
             params: bool = True, headers: bool = True, addr_spec_safe: bool = False) -> str:
    """SIP-URI / SIPS-URI = ("sip:" / "sips:") [ userinfo ] hostport uri-parameters
    [ headers ] (RFC 3261 19.1.1, 25.1).

    ``params`` / ``headers``: allow uri-parameters / headers. ``addr_spec_safe``
    keeps ';', '?' and ',' out of the URI so that it can stand as an
    addr-spec without angle brackets (RFC 3261 20.10).
    """
    if scheme is None:
        scheme = draw(_one(["sip", "sip", "sip", "sips"]))
        if draw(st.integers(0, 7)) == 0:
            scheme = _mixed_case(scheme, draw)
    out = scheme + ":"
    if user is None:
        user = draw(st.integers(0, 3)) > 0
    if user:
        if draw(st.integers(0, 5)) == 0:
            out += draw(tel_subscribers())
        else:
            out += draw(users(exclude=";?," if addr_spec_safe else ""))
        if password if password is not None else draw(st.integers(0, 5)) == 0:
            out += ":" + draw(passwords(exclude="," if addr_spec_safe else ""))
        out += "@"
    out += draw(hosts())
    if port if port is not None else draw(st.booleans()):
        out += ":" + draw(ports())
    if params and not addr_spec_safe:
        out += draw(uri_parameters())
    if headers and not addr_spec_safe and draw(st.integers(0, 3)) == 0:
        out += draw(uri_headers())
    return out


@_cached
@st.composite
def tel_uris(draw, *, params: bool = True) -> str:
    """tel URI (RFC 3966): global number, or local number with phone-context."""
    if draw(st.booleans()):
        out = "tel:" + draw(tel_subscribers())
        if params and draw(st.booleans()):
            out += ";ext=" + draw(st.from_regex(r"[0-9]{1,5}", fullmatch=True))
    else:
        out = "tel:" + draw(st.from_regex(r"[0-9A-Fa-f*#][0-9A-Fa-f*#.()-]{0,10}", fullmatch=True))
        if params:
            out += ";phone-context=" + draw(st.one_of(hostnames(), tel_subscribers()))
    return out


@_cached
def absolute_uris() -> st.SearchStrategy[str]:
    """absoluteURI = scheme ":" opaque-part (RFC 3261 25.1), for schemes other than
    sip, sips and tel: opaque-part = uric-no-slash *uric."""
    scheme = st.from_regex(r"[A-Za-z][A-Za-z0-9+.-]{0,7}", fullmatch=True).filter(
        lambda s: s.lower() not in ("sip", "sips", "tel"))
    uric = UNRESERVED + RESERVED
    first = st.one_of(_one(UNRESERVED + ";?:@&=+$,"), escaped())
    rest = st.lists(st.one_of(_one(uric), escaped()), max_size=20).map(_join)
    return st.builds(lambda s, a, b: s + ":" + a + b, scheme, first, rest)


@_cached
def request_uris() -> st.SearchStrategy[str]:
    """Request-URI = SIP-URI / SIPS-URI / absoluteURI, without headers for SIP and
    SIPS (RFC 3261 19.1.1 table 1)."""
    return st.one_of(sip_uris(headers=False), sip_uris(headers=False), tel_uris(), absolute_uris())


# ---- display names, name-addr ----

_QDTEXT = st.sampled_from("".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\') + " \t")
_QUOTED_PAIR = st.sampled_from([chr(c) for c in range(0x20, 0x7F)] + ["\t"]).map(lambda c: "\\" + c)
_NON_ASCII = st.characters(codec="utf-8", min_codepoint=0x80)


@_cached
@st.composite
def quoted_strings(draw, *, max_size: int = 16, non_ascii: bool = True) -> str:
    """quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE (RFC 3261 25.1), with
    escapes (quoted-pair of printable octets and HT) and UTF-8 text. No fold and
    no control octet: the value fits one header line built by sipdialog."""
    pieces = [_QDTEXT, _QUOTED_PAIR]
    if non_ascii:
        pieces.append(_NON_ASCII)
    body = draw(st.lists(st.one_of(*pieces), max_size=max_size))
    return '"' + "".join(body) + '"'


@_cached
@st.composite
def display_names(draw) -> str:
    """display-name = *(token LWS) / quoted-string (RFC 3261 25.1), as it is written
    before LAQUOT (the token form ends in LWS)."""
    if draw(st.booleans()):
        return draw(quoted_strings()) + draw(_one(["", " ", "  ", "\t"]))
    toks = draw(st.lists(tokens(max_size=10), min_size=1, max_size=3))
    seps = [draw(_one([" ", "  ", "\t", " \t"])) for _ in toks]
    return "".join(t + s for t, s in zip(toks, seps))


@_cached
def _gen_values() -> st.SearchStrategy[str]:
    """gen-value = token / host / quoted-string."""
    return st.one_of(tokens(max_size=12), hosts(), quoted_strings(max_size=8))


@_cached
def _generic_params(reserved: Sequence[str] = (), max_params: int = 3) -> st.SearchStrategy[str]:
    """*( SEMI generic-param ); generic-param = token [ EQUAL gen-value ]. Names in
    ``reserved`` (case-insensitive) are left out."""
    name = tokens(max_size=10).filter(lambda n: n.lower() not in reserved)
    sep = _one([";", ";", ";", " ;", "; ", " ; "])
    eq = _one(["=", "=", " = "])
    one = st.one_of(st.builds(lambda s, n: s + n, sep, name),
                    st.builds(lambda s, n, e, v: s + n + e + v, sep, name, eq, _gen_values()))
    return st.lists(one, max_size=max_params).map(_join)


@_cached
@st.composite
def name_addrs(draw, *, tag: Optional[str] = None, params: bool = True,
               addr_spec: Optional[bool] = None, uri: Optional[st.SearchStrategy[str]] = None,
               reserved_params: Sequence[str] = ("tag",)) -> str:
    """( name-addr / addr-spec ) *( SEMI generic-param ) as in From, To, Contact,
    Route and Record-Route (RFC 3261 20.10, 20.20, 20.39, 25.1).

    ``tag``: a tag value to append as ";tag=" (None: no tag). ``addr_spec``:
    force (True) or forbid (False) the form without angle brackets.
    """
    if addr_spec is None:
        addr_spec = draw(st.integers(0, 3)) == 0
    if addr_spec:
        u = draw(uri) if uri is not None else draw(st.one_of(
            sip_uris(addr_spec_safe=True), tel_uris(params=False)))
        out = u
    else:
        u = draw(uri) if uri is not None else draw(st.one_of(
            sip_uris(), sip_uris(), tel_uris(), absolute_uris()))
        display = draw(st.one_of(st.just(""), display_names()))
        out = display + "<" + u + ">"
    if params:
        gp = _generic_params(reserved=tuple(reserved_params))
        p = draw(gp)
        if tag is not None:
            pos = draw(st.integers(0, 1))
            t = draw(_one([";", " ;", "; "])) + _mixed_case("tag", draw) + "=" + tag
            p = p + t if pos else t + p
        out += p
    elif tag is not None:
        out += ";" + _mixed_case("tag", draw) + "=" + tag
    return out


@_cached
def contact_values() -> st.SearchStrategy[str]:
    """Contact = ( STAR / (contact-param *(COMMA contact-param)) ) (RFC 3261 20.10)."""
    cp = name_addrs(reserved_params=("tag",))
    sep = _one([",", ", ", " , "])
    lst = st.builds(lambda a, rest: a + "".join(s + x for s, x in rest),
                    cp, st.lists(st.tuples(sep, cp), max_size=2))
    return st.one_of(lst, lst, lst, st.just("*"))


@_cached
def _route_values() -> st.SearchStrategy[str]:
    """Route / Record-Route = name-addr *( SEMI rr-param ) lists (RFC 3261 20.30, 20.34)."""
    rr = name_addrs(addr_spec=False, uri=sip_uris(user=False, headers=False))
    sep = _one([",", ", "])
    return st.builds(lambda a, rest: a + "".join(s + x for s, x in rest),
                     rr, st.lists(st.tuples(sep, rr), max_size=2))


# ---- Via ----


@_cached
@st.composite
def via_parms(draw, *, branch: Optional[str] = None) -> str:
    """via-parm = sent-protocol LWS sent-by *( SEMI via-params ) (RFC 3261 20.42,
    25.1; rport of RFC 3581). ``branch``: the branch to use (None: drawn; "" : none)."""
    slash = _one(["/", "/", "/", " / ", "/ "])
    proto = draw(_one(["SIP", "SIP", "sip"]))
    transport = draw(st.one_of(_one(["UDP", "TCP", "TLS", "SCTP", "WS", "udp"]),
                               tokens(max_size=6)))
    out = proto + draw(slash) + "2.0" + draw(slash) + transport
    out += draw(_one([" ", " ", "  ", "\t"])) + draw(hosts())
    if draw(st.booleans()):
        out += draw(_one([":", ":", " : "])) + draw(ports())
    ps = []
    if branch is None:
        branch = draw(branches()) if draw(st.integers(0, 5)) else ""
    if branch:
        ps.append(_mixed_case("branch", draw) + "=" + branch)
    if draw(st.integers(0, 3)) == 0:
        addr = draw(st.one_of(ipv4_addresses(), ipv6_addresses(), ipv6_references()))
        ps.append("received=" + addr)
    if draw(st.integers(0, 3)) == 0:
        r = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: "=%d" % p)))
        ps.append("rport" + r)
    if draw(st.integers(0, 5)) == 0:
        ps.append("ttl=%d" % draw(st.integers(0, 255)))
    if draw(st.integers(0, 5)) == 0:
        ps.append("maddr=" + draw(hosts()))
    ps = draw(st.permutations(ps)) if ps else ps
    out += "".join(draw(_one([";", ";", " ;", "; "])) + p for p in ps)
    out += draw(_generic_params(reserved=_VIA_PARAMS, max_params=2))
    return out


@_cached
def via_values(max_entries: int = 3) -> st.SearchStrategy[Tuple[str, ...]]:
    """The via-parms of one Via header field (comma-separated on the wire): a tuple."""
    return st.lists(via_parms(), min_size=1, max_size=max_entries).map(tuple)


# ---- other header values ----


@_cached
def cseqs(method: Optional[str] = None) -> st.SearchStrategy[Tuple[int, str]]:
    """CSeq = 1*DIGIT LWS Method (RFC 3261 20.16): (number below 2**31, method)."""
    m = st.just(method) if method is not None else methods()
    return st.tuples(st.integers(0, 2**31 - 1), m)


_UNCHECKED_KNOWN = ("Subject", "s", "User-Agent", "Server", "Allow", "Supported", "k", "Require",
                    "Proxy-Require", "Unsupported", "Expires", "Date", "Organization", "Priority",
                    "Timestamp", "Accept", "Accept-Encoding", "Accept-Language", "Content-Type", "c",
                    "Content-Encoding", "e", "Content-Language", "Content-Disposition", "Event", "o",
                    "Allow-Events", "u", "Call-Info", "Alert-Info", "Error-Info", "In-Reply-To",
                    "Min-Expires", "Reply-To", "Retry-After", "Warning", "Authorization",
                    "WWW-Authenticate", "Proxy-Authenticate", "Proxy-Authorization", "Refer-To", "r",
                    "Referred-By", "b", "Replaces", "Subscription-State", "RSeq", "RAck", "Reason",
                    "Path", "Service-Route", "Session-Expires", "x", "Min-SE", "Target-Dialog",
                    "Identity", "y", "Accept-Contact", "a", "Reject-Contact", "j",
                    "Request-Disposition", "d", "Refer-Sub")


@_cached
def unknown_header_names() -> st.SearchStrategy[str]:
    """Extension header names: tokens sipdialog does not know (RFC 3261 7.3.1)."""
    return st.one_of(tokens(max_size=12).map(lambda t: "X-" + t),
                     tokens(max_size=14)).filter(_is_unknown_name)


@_cached
def header_names() -> st.SearchStrategy[str]:
    """field-name: known names (long and compact, any case) or extension tokens."""
    known = _one(_UNCHECKED_KNOWN + ("Via", "v", "From", "f", "To", "t", "Call-ID",
                                                "i", "CSeq", "Max-Forwards", "Content-Length", "l",
                                                "Contact", "m", "Route", "Record-Route"))
    return st.one_of(known, unknown_header_names())


@_cached
@st.composite
def header_values(draw, *, max_size: int = 40) -> str:
    """header-value text (RFC 3261 25.1 message-header values of unknown fields): any
    text without CTL (HT inside only), no LWS at either end, UTF-8 allowed."""
    alphabet = st.one_of(
        st.characters(codec="utf-8", min_codepoint=0x21, max_codepoint=0x7E),
        _one(" \t"),
        st.characters(codec="utf-8", min_codepoint=0xA0),
    )
    s = draw(st.text(alphabet, max_size=max_size))
    return s.strip(" \t")


@_cached
def reason_phrases(max_size: int = 24) -> st.SearchStrategy[str]:
    """Reason-Phrase = *(reserved / unreserved / escaped / UTF8-NONASCII / UTF8-CONT /
    SP / HTAB) (RFC 3261 25.1)."""
    ascii_ = _one(RESERVED + UNRESERVED + " \t")
    return st.lists(st.one_of(ascii_, ascii_, escaped(), st.characters(codec="utf-8", min_codepoint=0x80)),
                    max_size=max_size).map(_join)


@_cached
def status_codes() -> st.SearchStrategy[int]:
    """Status-Code: 3DIGIT, 100..699 (RFC 3261 7.2, 21)."""
    return st.one_of(_one([100, 180, 183, 200, 202, 301, 400, 401, 404, 407, 481, 486,
                                      487, 500, 503, 603]), st.integers(100, 699))


@_cached
def bodies(max_size: int = 512) -> st.SearchStrategy[bytes]:
    """message-body = *OCTET: empty, binary (NUL bytes included) or SDP-like text."""
    sdp = st.builds(lambda o, h: ("v=0\r\no=- %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                                  "m=audio 49170 RTP/AVP 0\r\n" % (o, h, h)).encode(),
                    st.integers(0, 2**32), ipv4_addresses())
    return st.one_of(st.just(b""), st.binary(max_size=max_size), sdp,
                     st.binary(max_size=16).map(lambda b: b"\x00" + b + b"\r\n\r\n\x00"))


@_cached
@st.composite
def extra_headers(draw, *, max_headers: int = 6) -> Tuple[Tuple[str, str], ...]:
    """Optional header fields beyond the mandatory ones: known ones (compact forms
    included, grammatical values for Contact, Route, Record-Route) and unknown ones."""
    def known_unchecked():
        return st.tuples(_one(_UNCHECKED_KNOWN).flatmap(
            lambda n: _one([n, n.lower(), n.upper()])), header_values())

    one = st.one_of(
        st.tuples(unknown_header_names(), header_values()),
        known_unchecked(),
        st.tuples(_one(["Contact", "m", "contact", "M"]), contact_values()),
        st.tuples(_one(["Route", "Record-Route", "route"]), _route_values()),
    )
    return tuple(draw(st.lists(one, max_size=max_headers)))


# ---- whole messages ----

_DEFAULT_REASONS = {100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK",
                    202: "Accepted", 301: "Moved Permanently", 400: "Bad Request",
                    401: "Unauthorized", 404: "Not Found", 407: "Proxy Authentication Required",
                    481: "Call/Transaction Does Not Exist", 486: "Busy Here",
                    487: "Request Terminated", 500: "Server Internal Error",
                    503: "Service Unavailable", 603: "Decline"}


@dataclass(frozen=True)
class MessageParts:
    """The parts a generated message is built from, and the fields a parser must
    report for it.

    ``headers`` are the (name, value) pairs given to the constructor in wire
    order; the serializer appends ``Content-Length`` (see
    :meth:`expected_items`). ``vias`` lists every via-parm in wire order.
    """

    is_request: bool
    method: Optional[str]
    uri: Optional[str]
    status_code: Optional[int]
    reason: Optional[str]
    headers: Tuple[Tuple[str, str], ...]
    body: bytes
    call_id: str
    from_tag: str
    to_tag: Optional[str]
    cseq: Tuple[int, str]
    vias: Tuple[str, ...]
    max_forwards: Optional[int]

    def build(self):
        """The sipdialog.Request or Response, built through the public constructor."""
        if self.is_request:
            return sipdialog.Request(self.method, self.uri, list(self.headers), self.body)
        return sipdialog.Response(self.status_code, self.reason, list(self.headers), self.body)

    def expected_items(self) -> Tuple[Tuple[str, str], ...]:
        """What ``msg.headers.items()`` must return for the built message."""
        return self.headers + (("Content-Length", str(len(self.body))),)

    def wire(self) -> bytes:
        """The message serialized independently of sipdialog (same layout)."""
        if self.is_request:
            start = "%s %s SIP/2.0" % (self.method, self.uri)
        else:
            start = "SIP/2.0 %03d %s" % (self.status_code or 0, self.reason)
        lines = [start] + ["%s: %s" % (n, v) for n, v in self.expected_items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


def _digits(draw, n: int) -> str:
    """1*DIGIT for n, now and then with leading zeros (RFC 4475 3.1.1.1)."""
    return "%0*d" % (len(str(n)) + draw(_one([0, 0, 0, 0, 1, 3])), n)


def _name(draw, long: str, compact: Optional[str]) -> str:
    choices = [long, long, long.lower(), long.upper(), _mixed_case(long, draw)]
    if compact:
        choices += [compact, compact, compact.upper()]
    return draw(_one(choices))


@_cached
@st.composite
def message_parts(draw, kind: Optional[str] = None, *, extra: bool = True,
                  body: Optional[st.SearchStrategy[bytes]] = None) -> MessageParts:
    """The parts of a request or response (``kind``: "request", "response" or None for
    either) with the mandatory headers of RFC 3261 8.1.1 (Via, From, To, Call-ID,
    CSeq, and Max-Forwards for requests; responses carry what 8.2.6 copies),
    random extra headers (``extra``) and an optional body."""
    is_request = kind == "request" if kind is not None else draw(st.booleans())
    if is_request:
        method = draw(methods())
        uri = draw(request_uris())
        status = reason = None
    else:
        method = uri = None
        status = draw(status_codes())
        reason = draw(st.one_of(_one(sorted(set(_DEFAULT_REASONS.values()))),
                                reason_phrases()))
    cseq_n, cseq_m = draw(cseqs(method))
    call_id = draw(call_ids())
    from_tag = draw(tags())
    to_tag = draw(st.one_of(st.none(), tags())) if (is_request or status == 100) else \
        draw(st.one_of(tags(), tags(), st.none()))
    if is_request and draw(st.booleans()):
        to_tag = None
    groups = []  # each a list of header pairs that must stay in order
    via_fields = draw(st.lists(via_values(), min_size=1, max_size=3))
    name_v = [_name(draw, "Via", "v") for _ in via_fields]
    groups.append([(n, ", ".join(v) if draw(st.booleans()) else ",".join(v))
                   for n, v in zip(name_v, via_fields)])
    groups.append([(_name(draw, "From", "f"), draw(name_addrs(tag=from_tag)))])
    groups.append([(_name(draw, "To", "t"), draw(name_addrs(tag=to_tag)))])
    groups.append([(_name(draw, "Call-ID", "i"), call_id)])
    cseq_sep = draw(_one([" ", " ", "  ", "\t"]))
    groups.append([(_name(draw, "CSeq", None), "%s%s%s" % (_digits(draw, cseq_n), cseq_sep, cseq_m))])
    max_forwards = None
    if is_request or draw(st.integers(0, 4)) == 0:
        max_forwards = draw(st.integers(0, 255))
        groups.append([(_name(draw, "Max-Forwards", None), _digits(draw, max_forwards))])
    if extra:
        for h in draw(extra_headers()):
            groups.append([h])
    order = draw(st.permutations(range(len(groups))))
    headers = tuple(h for i in order for h in groups[i])
    # via-parms in wire order
    vias = []
    for i in order:
        if i == 0:
            for v in via_fields:
                vias.extend(v)
    b = draw(body if body is not None else bodies())
    return MessageParts(is_request, method, uri, status, reason, headers, b, call_id, from_tag,
                        to_tag, (cseq_n, cseq_m), tuple(vias), max_forwards)


def requests(**kw) -> st.SearchStrategy["sipdialog.Request"]:
    """sipdialog.Request objects built with :func:`message_parts` (keywords passed on)."""
    return message_parts("request", **kw).map(MessageParts.build)


def responses(**kw) -> st.SearchStrategy["sipdialog.Response"]:
    """sipdialog.Response objects built with :func:`message_parts` (keywords passed on)."""
    return message_parts("response", **kw).map(MessageParts.build)


def messages(**kw) -> st.SearchStrategy["sipdialog.Message"]:
    """Requests or responses."""
    return st.one_of(requests(**kw), responses(**kw))


# ---- damage ----


@st.composite
def mutations(draw, data: bytes, *, max_steps: int = 3) -> bytes:
    """Damaged copies of ``data``: 1..max_steps of truncation, byte flip, insertion
    (of an arbitrary or a SIP-significant byte), deletion and duplication of a
    slice."""
    b = bytearray(data)
    interesting = b"\x00\r\n \t:;,<>\"\\@%=/[]?*\x7f\xff0"
    for _ in range(draw(st.integers(1, max_steps))):
        op = draw(_one(["truncate", "flip", "insert", "delete", "duplicate"]))
        n = len(b)
        if op == "truncate":
            b = b[:draw(st.integers(0, n))]
        elif op == "flip" and n:
            i = draw(st.integers(0, n - 1))
            b[i] ^= draw(_one([1, 2, 4, 8, 16, 32, 64, 128, 255]))
        elif op == "insert":
            i = draw(st.integers(0, n))
            ins = draw(st.one_of(_one([bytes([c]) for c in interesting]),
                                 st.binary(min_size=1, max_size=4)))
            b[i:i] = ins
        elif op == "delete" and n:
            i = draw(st.integers(0, n - 1))
            j = draw(st.integers(i + 1, min(n, i + 8)))
            del b[i:j]
        elif op == "duplicate" and n:
            i = draw(st.integers(0, n - 1))
            j = draw(st.integers(i + 1, min(n, i + 64)))
            b[j:j] = b[i:j]
    return bytes(b)
