"""sipdialog: SIP dialogs and call transfer on a thread-safe C core.

Parse, build and validate SIP messages (RFC 3261) with a zero-copy C
parser::

    >>> import sipdialog
    >>> msg = sipdialog.parse(data)
    >>> msg.call_id, msg.from_tag, msg.cseq
    >>> msg.headers.getall("Via")
    >>> bytes(msg.create_response(180, to_tag="a6c85cf"))

Every error is a :class:`SipError`; malformed input raises
:class:`ParseError` (a ``ValueError``) with ``.reason`` and ``.offset``.
Diagnostics go to the ``logging`` logger ``"sipdialog"``.
"""
from __future__ import annotations

from . import _core
from ._core import (
    CSeq,
    ClosedError,
    Dialog,
    DialogManager,
    DialogState,
    Transition,
    DialogNotFound,
    DialogStateError,
    LimitError,
    Message,
    OverloadError,
    ParseError,
    RateLimiter,
    Request,
    Response,
    Sanitizer,
    SipError,
    StreamParser,
    ValidationError,
    ValidationPipeline,
    Validator,
    parse,
)
from ._headers import Headers, canonical_name
from ._limits import Limits, get_default_limits, set_default_limits
from ._log import logger
from ._values import URI, NameAddress, Via

__version__ = "0.1.0"

__all__ = [
    "parse", "Message", "Request", "Response", "StreamParser", "Headers", "CSeq",
    "URI", "NameAddress", "Via", "Limits", "set_default_limits", "get_default_limits",
    "Validator", "Sanitizer", "ValidationPipeline", "canonical_name",
    "SipError", "ParseError", "LimitError", "ValidationError", "DialogStateError",
    "DialogNotFound", "OverloadError", "ClosedError", "logger", "__version__",
    "Dialog", "DialogState", "Transition", "DialogManager", "RateLimiter",
]


def _headers(self: Message) -> Headers:
    """The header fields: a case-insensitive, compact-form-aware multimap."""
    return Headers(self)


def _uri(self: Request) -> URI:
    """The Request-URI, parsed (``str(msg.uri)`` is its text)."""
    return URI(self.request_uri)


def _from(self: Message) -> NameAddress:
    """The From header, parsed."""
    return NameAddress(self.headers["From"])


def _to(self: Message) -> NameAddress:
    """The To header, parsed."""
    return NameAddress(self.headers["To"])


def _vias(self: Message) -> list:
    """Every Via entry, topmost first, parsed."""
    return [Via(v) for v in self.headers.getall("Via")]


def _contacts(self: Message) -> list:
    """Every Contact entry, parsed ('*' gives a NameAddress with is_star)."""
    return [NameAddress(v, allow_star=True) for v in self.headers.getall("Contact")]


def _routes(name: str):
    def get(self: Message) -> list:
        return [NameAddress(v) for v in self.headers.getall(name)]
    get.__doc__ = "Every %s entry, in order, parsed." % name
    return property(get)


Message.headers = property(_headers)  # type: ignore[assignment]
Message.from_ = property(_from)  # type: ignore[assignment]
Message.to = property(_to)  # type: ignore[assignment]
Message.vias = property(_vias)  # type: ignore[assignment]
Message.contacts = property(_contacts)  # type: ignore[assignment]
Message.routes = _routes("Route")  # type: ignore[assignment]
Message.record_routes = _routes("Record-Route")  # type: ignore[assignment]
Request.uri = property(_uri)  # type: ignore[assignment]

from ._display import install as _install_display  # noqa: E402

_install_display()
