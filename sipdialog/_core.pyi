"""Type stubs for sipdialog._core, the C extension."""
import enum
from typing import Any, Callable, ClassVar, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from ._headers import Headers
from ._values import URI, NameAddress, Via

_Value = Union[str, bytes, bytearray, memoryview, int]
_Headers = Union[Mapping[str, _Value], Iterable[Tuple[str, _Value]], Headers, None]
_Data = Union[bytes, str]
_Buffer = Union[bytes, bytearray, memoryview]

class SipError(Exception):
    reason: Optional[str]
    offset: Optional[int]
class ParseError(SipError, ValueError): ...
class LimitError(ParseError): ...
class ValidationError(SipError, ValueError): ...
class DialogStateError(SipError, RuntimeError): ...
class DialogNotFound(SipError, KeyError): ...
class OverloadError(SipError): ...
class ClosedError(SipError, RuntimeError): ...

class CSeq(Tuple[int, str]):
    seq: int
    method: str

class Message:
    call_id: str
    from_tag: Optional[str]
    to_tag: Optional[str]
    cseq: CSeq
    body: bytes
    max_forwards: Optional[int]
    content_length: Optional[int]
    via_branch: Optional[str]
    is_request: bool
    headers: Headers
    from_: NameAddress
    to: NameAddress
    vias: List[Via]
    contacts: List[NameAddress]
    routes: List[NameAddress]
    record_routes: List[NameAddress]
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __bytes__(self) -> bytes: ...
    def _items(self) -> Tuple[Tuple[str, str], ...]: ...
    def _getall(self, name: str) -> List[str]: ...
    def _get_fields(self, name: str) -> List[str]: ...
    def _get_first(self, name: str) -> Optional[str]: ...
    def _count(self) -> int: ...
    def _repr_html_(self) -> str: ...

class Request(Message):
    method: str
    request_uri: str
    uri: URI
    def __init__(self, method: str, uri: Any, headers: _Headers = ..., body: _Data = ...) -> None: ...
    def create_response(self, status_code: int, reason: Optional[str] = ..., *, to_tag: Optional[str] = ...,
                        headers: _Headers = ..., body: _Data = ...) -> "Response": ...

class Response(Message):
    status_code: int
    reason: str
    def __init__(self, status_code: int, reason: Optional[str] = ..., headers: _Headers = ...,
                 body: _Data = ...) -> None: ...

class StreamParser(Iterator[Union[Request, Response]]):
    buffered: int
    broken: bool
    def __init__(self, *, limits: Any = ..., rfc2543: bool = ..., check_uris: bool = ...) -> None: ...
    def feed(self, data: _Buffer) -> "StreamParser": ...
    def reset(self) -> None: ...
    def __iter__(self) -> "StreamParser": ...
    def __next__(self) -> Union[Request, Response]: ...

class Validator:
    kind: str
    arg: int
    def __init__(self, kind: str, arg: int = ...) -> None: ...
    def __call__(self, value: _Data) -> Any: ...

class Sanitizer:
    kind: str
    def __init__(self, kind: str) -> None: ...
    def __call__(self, value: _Data) -> Any: ...

class ValidationPipeline:
    validators: Tuple[Validator, ...]
    sanitizers: Tuple[Sanitizer, ...]
    def __init__(self, validators: Sequence[Validator] = ..., sanitizers: Sequence[Sanitizer] = ...) -> None: ...
    def run(self, value: _Data) -> Any: ...
    def is_valid(self, value: _Data) -> bool: ...
    def __call__(self, value: _Data) -> Any: ...

class DialogState(enum.Enum):
    NONE = "none"
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATING = "terminating"
    TERMINATED = "terminated"

class Transition(Tuple[DialogState, DialogState, str, Optional[str], Optional[int], float]):
    old: DialogState
    new: DialogState
    reason: str
    method: Optional[str]
    status: Optional[int]
    at: float

_StateCallback = Callable[["Dialog", Transition], Any]

class Dialog:
    id: str
    state: DialogState
    role: str
    is_uac: bool
    closed: bool
    footprint: int
    call_id: str
    local_tag: Optional[str]
    remote_tag: Optional[str]
    local_uri: str
    remote_uri: str
    local_header: str
    remote_header: str
    local_target: Optional[str]
    remote_target: Optional[str]
    route_set: List[str]
    local_seq: Optional[int]
    remote_seq: Optional[int]
    secure: bool
    created_at: float
    last_activity: float
    history: Tuple[Transition, ...]
    pending: Dict[str, bool]
    @classmethod
    def from_uac(cls, request: Request, response: Optional[Response] = ...) -> "Dialog": ...
    @classmethod
    def from_uas(cls, request: Request, *, local_contact: str, local_tag: Optional[str] = ...) -> "Dialog": ...
    @classmethod
    def restore(cls, snapshot: Mapping[str, Any]) -> "Dialog": ...
    def receive(self, message: Union[Request, Response], *, auto_answer: bool = ...) -> Optional[Response]: ...
    def fork(self, response: Response) -> "Dialog": ...
    def create_request(self, method: str, *, headers: _Headers = ..., body: _Data = ...) -> Request: ...
    def create_ack(self, response: Response, *, headers: _Headers = ..., body: _Data = ...) -> Request: ...
    def provisional(self, status_code: int = ..., reason: Optional[str] = ..., *, headers: _Headers = ...,
                    body: _Data = ...) -> Response: ...
    def answer(self, status_code: int = ..., reason: Optional[str] = ..., *, headers: _Headers = ...,
               body: _Data = ...) -> Response: ...
    def reject(self, status_code: int, reason: Optional[str] = ..., *, headers: _Headers = ...,
               body: _Data = ...) -> Response: ...
    def timeout(self) -> None: ...
    def snapshot(self) -> Dict[str, Any]: ...
    def close(self) -> None: ...
    def on_state_change(self, callback: _StateCallback) -> _StateCallback: ...
    def remove_state_callback(self, callback: _StateCallback) -> None: ...
    def __enter__(self) -> "Dialog": ...
    def __exit__(self, *exc: Any) -> bool: ...
    def _repr_html_(self) -> str: ...

_Source = Union[str, Tuple[str, int]]

class RateLimiter:
    """A token bucket per source address (thread-safe).

    A source is a ``(host, port)`` tuple or a ``"host"`` / ``"host:port"``
    string (``"[v6]:port"``, a bare ``"::1"``, IPv4, a host name); the port
    is checked and ignored, and ``::ffff:a.b.c.d`` is the IPv4 address.
    A new source may take ``burst`` tokens at once, then
    ``rate_per_minute / 60`` a second, never more than ``burst`` saved.
    ``rate_per_minute=0`` means no limit. ``burst=None`` is the rate (at
    least 1). At most ``max_sources`` are tracked; when full, sources whose
    bucket has refilled are forgotten, else new sources are refused.
    A bad source raises ValidationError; a bad argument ValueError.
    """
    rate_per_minute: float
    burst: float
    max_sources: int
    sources: int
    def __init__(self, rate_per_minute: float = ..., burst: Optional[float] = ...,
                 max_sources: int = ...) -> None: ...
    def allow(self, source: _Source, *, now: Optional[float] = ...) -> bool:
        """Take one token: True when taken, False when refused (nothing changes then).
        ``now``: monotonic seconds (default ``time.monotonic()``)."""
    def tokens(self, source: _Source, *, now: Optional[float] = ...) -> float:
        """Tokens the source's bucket holds at ``now`` (``burst`` for a source not
        seen, ``inf`` without a limit); changes nothing."""

class _Admission:
    """The C admission controller (live-dialog cap + rate limit per source), for tests."""
    def __init__(self, max_per_source: int = ..., rate_per_minute: float = ..., burst: Optional[float] = ...,
                 max_sources: int = ...) -> None: ...
    def check(self, source: _Source, now: Optional[float] = ...) -> bool:
        """Under the cap and a token taken; a refusal changes nothing."""
    def acquire(self, source: _Source) -> int:
        """Count one live dialog; returns the slot for release(). OverloadError at the cap."""
    def release(self, slot: int) -> None:
        """The dialog counted by ``slot`` ended."""
    def stats(self) -> Dict[str, int]:
        """admitted, refused_rate, refused_cap, refused_sources, acquired, acquire_refused,
        released, live_dialogs, live_sources, sources."""

def _source_key(source: _Source) -> bytes:
    """The normalised 20-byte key of a source (internal, for tests)."""

def parse(data: _Data, *, limits: Any = ..., rfc2543: bool = ..., stream: bool = ...,
          check_uris: bool = ...) -> Union[Request, Response]: ...
def _set_logger(fn: Any, level: int) -> None: ...
def _set_default_limits(limits: Any) -> None: ...
def _parse_uri(text: _Data) -> Tuple[Any, ...]: ...
def _parse_name_addr(text: _Data, allow_star: bool = ...) -> Tuple[Any, ...]: ...
def _parse_via(text: _Data) -> Tuple[Any, ...]: ...
def _split_list(text: _Data) -> List[str]: ...
def _header_info(name: str) -> Tuple[Optional[str], Optional[str], bool, bool]: ...
def _reason_phrase(code: int) -> str: ...
