"""Headers: the case-insensitive, compact-form-aware multimap of a message."""
from __future__ import annotations

from typing import Iterator, List, Optional, Tuple, overload

from . import _core

__all__ = ["Headers", "canonical_name"]


def canonical_name(name: str) -> str:
    """Canonical long form of a header name: ``'i'`` -> ``'Call-ID'``,
    ``'cseq'`` -> ``'CSeq'``; unknown names are returned as given."""
    long_name = _core._header_info(name)[0]
    return long_name if long_name is not None else name


class Headers:
    """Read-only view of a message's header fields.

    ``headers['Call-ID'] == headers['i']`` (names are case-insensitive and
    compact forms are aware of their long forms). ``headers[name]`` is the
    first value (for list headers such as Via or Contact, the first element
    of the comma-separated list); ``getall(name)`` gives every value with
    list headers split at their commas. Iterating yields ``(name, value)``
    pairs in wire order, names as written and folded values unfolded.
    """

    __slots__ = ("_msg",)

    def __init__(self, msg: "_core.Message") -> None:
        self._msg = msg

    def __getitem__(self, name: str) -> str:
        value = self._msg._get_first(name)
        if value is None:
            raise KeyError(name)
        return value

    @overload
    def get(self, name: str) -> Optional[str]: ...
    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name, default=None):
        """First value of ``name``, or ``default`` when absent."""
        value = self._msg._get_first(name)
        return default if value is None else value

    def getall(self, name: str) -> List[str]:
        """Every value of ``name`` in wire order, list headers split at commas."""
        return self._msg._getall(name)

    def fields(self, name: str) -> List[str]:
        """Every header field of ``name`` whole (one string per line)."""
        return self._msg._get_fields(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self._msg._get_fields(name))

    def items(self) -> Tuple[Tuple[str, str], ...]:
        """``(name, value)`` pairs in wire order (names as written)."""
        return self._msg._items()

    def keys(self) -> List[str]:
        """Distinct canonical names in order of first appearance."""
        seen: dict = {}
        for name, _ in self._msg._items():
            seen.setdefault(canonical_name(name).lower(), canonical_name(name))
        return list(seen.values())

    def __iter__(self) -> Iterator[Tuple[str, str]]:
        return iter(self._msg._items())

    def __len__(self) -> int:
        return self._msg._count()

    def __repr__(self) -> str:
        return "Headers(%r)" % (list(self._msg._items()),)
