"""Limits: the sizes and counts the parser and validators enforce."""
from __future__ import annotations

from dataclasses import dataclass, fields

from . import _core

__all__ = ["Limits", "set_default_limits", "get_default_limits"]


@dataclass(frozen=True)
class Limits:
    """Size and count limits (bytes unless named otherwise).

    A value exactly at a limit is accepted; one byte (or item) more raises
    :class:`sipdialog.LimitError`. Pass ``limits=`` to :func:`sipdialog.parse`
    or :class:`sipdialog.StreamParser`, or make them the process default with
    :func:`set_default_limits`.
    """

    max_message: int = 65535
    max_header_line: int = 8192
    max_uri: int = 2048
    max_call_id: int = 256
    max_tag: int = 256
    max_headers: int = 256
    max_via: int = 64
    max_body: int = 65536

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 0x7FFFFFFF:
                raise ValueError("%s must be an int in 0..2**31-1, not %r" % (f.name, v))


_default = Limits()


def set_default_limits(limits: Limits) -> None:
    """Make ``limits`` the default of parse(), StreamParser and built messages."""
    global _default
    if not isinstance(limits, Limits):
        raise TypeError("limits must be a sipdialog.Limits")
    _core._set_default_limits(limits)
    _default = limits


def get_default_limits() -> Limits:
    """The limits parse() applies when given none."""
    return _default
