"""URI, NameAddress and Via: parsed header values (parsed by the C core)."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from . import _core

__all__ = ["URI", "NameAddress", "Via", "unquote"]


def _pct_decode(text: str) -> str:
    """Decode %HH escapes once (never recursively); invalid escapes stay."""
    if "%" not in text:
        return text
    raw = text.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x25 and i + 2 < len(raw) + 0 and _ishex(raw[i + 1]) and _ishex(raw[i + 2]):
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(c)
            i += 1
    return out.decode("utf-8", "surrogateescape")


def _ishex(c: int) -> bool:
    return 48 <= c <= 57 or 65 <= c <= 70 or 97 <= c <= 102


def unquote(display: str) -> str:
    """Remove quoted-pair backslashes from a quoted display name."""
    out = []
    it = iter(display)
    for ch in it:
        if ch == "\\":
            out.append(next(it, ""))
        else:
            out.append(ch)
    return "".join(out)


class URI:
    """A parsed URI (RFC 3261 19.1 SIP/SIPS, RFC 3966 tel, or any absolute URI).

    ``str(uri)`` is the URI exactly as written. ``user``, ``password`` and
    parameter values are percent-decoded once (``raw_user`` keeps the
    escapes); ``params`` maps lower-cased names to values (None for a bare
    name). Equality with a ``str`` compares the text.
    """

    __slots__ = ("_text", "scheme", "raw_user", "password", "host", "port", "params",
                 "headers", "opaque", "host_type", "_param_list")

    def __init__(self, text: str) -> None:
        parts = _core._parse_uri(text)
        (scheme, user, password, host, port, plist, headers, opaque, host_type) = parts
        self._text = text if isinstance(text, str) else text.decode("utf-8", "surrogateescape")
        self.scheme: str = scheme.lower()
        self.raw_user: Optional[str] = user
        self.password: Optional[str] = password
        self.host: Optional[str] = host
        self.port: Optional[int] = port
        self._param_list: List[Tuple[str, Optional[str]]] = plist
        self.params: Dict[str, Optional[str]] = {
            _pct_decode(k).lower(): (None if v is None else _pct_decode(v)) for k, v in plist}
        self.headers: Optional[str] = headers
        self.opaque: Optional[str] = opaque
        self.host_type: str = host_type

    @property
    def user(self) -> Optional[str]:
        """The user part, percent-decoded once."""
        return None if self.raw_user is None else _pct_decode(self.raw_user)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return "URI(%r)" % self._text

    def __eq__(self, other: object) -> bool:
        if isinstance(other, URI):
            return self._text == other._text
        if isinstance(other, str):
            return self._text == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._text)


class NameAddress:
    """A name-addr or addr-spec with header parameters (From, To, Contact, Route...).

    ``display`` is the display name (quoted-pairs removed) or None, ``uri``
    the URI, ``params`` the header parameters (names lower-cased), ``tag``
    the tag parameter.
    """

    __slots__ = ("_text", "display", "uri", "params", "bracketed", "is_star")

    def __init__(self, text: str, *, allow_star: bool = False) -> None:
        display, quoted, uri, plist, bracketed, star = _core._parse_name_addr(text, allow_star)
        self._text = text
        self.display: Optional[str] = unquote(display) if (display is not None and quoted) else display
        self.uri: Optional[URI] = None if star else URI(uri)
        self.params: Dict[str, Optional[str]] = {k.lower(): v for k, v in plist}
        self.bracketed: bool = bracketed
        self.is_star: bool = star

    @property
    def tag(self) -> Optional[str]:
        return self.params.get("tag")

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return "NameAddress(%r)" % self._text

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NameAddress):
            return self._text == other._text
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._text)


class Via:
    """One Via entry (RFC 3261 20.42): ``transport``, ``host``, ``port``,
    ``branch``, ``received``, ``rport``, ``maddr``, ``ttl`` and ``params``."""

    __slots__ = ("_text", "protocol", "version", "transport", "host", "port", "params")

    def __init__(self, text: str) -> None:
        proto, version, transport, host, port, plist = _core._parse_via(text)
        self._text = text
        self.protocol: str = proto
        self.version: str = version
        self.transport: str = transport.upper()
        self.host: str = host
        self.port: Optional[int] = port
        self.params: Dict[str, Optional[str]] = {k.lower(): v for k, v in plist}

    branch = property(lambda self: self.params.get("branch"), doc="branch parameter or None")
    received = property(lambda self: self.params.get("received"), doc="received parameter or None")
    maddr = property(lambda self: self.params.get("maddr"), doc="maddr parameter or None")

    @property
    def rport(self) -> Optional[int]:
        """None when absent, 0 when present without a value, else the port."""
        if "rport" not in self.params:
            return None
        v = self.params["rport"]
        return 0 if v is None else int(v)

    @property
    def ttl(self) -> Optional[int]:
        v = self.params.get("ttl")
        return None if v is None else int(v)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return "Via(%r)" % self._text
