"""Admission control from Python: sipdialog.RateLimiter, the private
_core._Admission (the C sd_admit) and _core._source_key.

Time is injected (``now=`` in monotonic seconds), so every boundary is
exact; a hypothesis property runs random allow() sequences against a
pure-Python token bucket computed the way docs/admission.md specifies.
"""
import math
import threading

import pytest

import sipdialog
from sipdialog import _core

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def key(source):
    return _core._source_key(source)


# ------------------------------------------------------------ boundaries

def test_exported():
    assert sipdialog.RateLimiter is _core.RateLimiter
    assert "RateLimiter" in sipdialog.__all__


def test_hundred_a_minute_exact():
    rl = sipdialog.RateLimiter(rate_per_minute=100)
    src = ("192.0.2.1", 5060)
    assert rl.tokens(src, now=10.0) == 100.0
    assert all(rl.allow(src, now=10.0) for _ in range(100))  # the 100th passes
    assert rl.allow(src, now=10.0) is False  # the 101st in the same minute fails
    assert rl.allow(src, now=10.5) is False
    assert rl.tokens(src, now=10.0) == 0.0
    # 0.6 s at 100 a minute is exactly one token
    assert rl.allow(src, now=10.599) is False
    assert rl.allow(src, now=10.6) is True
    assert rl.allow(src, now=10.6) is False
    # refills to the burst and no further
    assert rl.tokens(src, now=70.6) == 100.0
    assert rl.tokens(src, now=10_000.0) == 100.0


def test_burst_and_rate_separate():
    rl = sipdialog.RateLimiter(rate_per_minute=60, burst=5)
    assert [rl.allow("203.0.113.9", now=0) for _ in range(6)] == [True] * 5 + [False]
    assert rl.tokens("203.0.113.9", now=0.5) == pytest.approx(0.5)
    assert rl.allow("203.0.113.9", now=0.5) is False
    assert rl.allow("203.0.113.9", now=1.0) is True
    assert rl.tokens("203.0.113.9", now=100.0) == 5.0


def test_refusal_changes_nothing():
    rl = sipdialog.RateLimiter(rate_per_minute=60, burst=2)
    assert rl.allow("198.51.100.1", now=0) and rl.allow("198.51.100.1", now=0)
    before = rl.tokens("198.51.100.1", now=0.25)
    for _ in range(50):
        assert rl.allow("198.51.100.1", now=0.25) is False
    assert rl.tokens("198.51.100.1", now=0.25) == before
    assert rl.allow("198.51.100.1", now=1.0) is True


def test_clock_stepping_back_stands_still():
    rl = sipdialog.RateLimiter(rate_per_minute=60, burst=1)
    assert rl.allow("a.example", now=100.0)
    assert rl.allow("a.example", now=50.0) is False
    assert rl.tokens("a.example", now=50.0) == 0.0
    assert rl.allow("a.example", now=101.0) is True


def test_fractional_rate_default_burst_and_no_limit():
    rl = sipdialog.RateLimiter(rate_per_minute=0.5)
    assert rl.burst == 1.0
    assert rl.allow("x.example", now=0) and not rl.allow("x.example", now=119.9)
    assert rl.allow("x.example", now=120.0)
    free = sipdialog.RateLimiter(rate_per_minute=0)
    assert all(free.allow("x.example", now=0) for _ in range(1000))
    assert math.isinf(free.tokens("x.example", now=0))
    assert free.sources == 0


def test_default_clock():
    rl = sipdialog.RateLimiter(rate_per_minute=6, burst=1)
    assert rl.allow(("192.0.2.77", 1)) is True
    assert rl.allow(("192.0.2.77", 2)) is False
    assert 0.0 <= rl.tokens("192.0.2.77") < 1.0


def test_repr_and_attributes():
    rl = sipdialog.RateLimiter(rate_per_minute=30, burst=7, max_sources=10)
    assert (rl.rate_per_minute, rl.burst, rl.max_sources, rl.sources) == (30.0, 7.0, 10, 0)
    rl.allow("192.0.2.1:5060", now=0)
    rl.allow("[2001:db8::1]", now=0)
    assert repr(rl) == "<RateLimiter rate_per_minute=30.0 burst=7.0 sources=2>"
    assert repr(sipdialog.RateLimiter()) == "<RateLimiter rate_per_minute=100.0 burst=100.0 sources=0>"


@pytest.mark.parametrize("kwargs", [
    {"rate_per_minute": -1}, {"rate_per_minute": float("nan")}, {"rate_per_minute": float("inf")},
    {"burst": 0}, {"burst": 0.5}, {"burst": -2}, {"burst": float("inf")},
    {"max_sources": 0}, {"max_sources": -1}, {"max_sources": 1 << 24},
])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        sipdialog.RateLimiter(**kwargs)


def test_bad_argument_types_and_now():
    with pytest.raises(TypeError):
        sipdialog.RateLimiter(rate_per_minute="fast")
    with pytest.raises(TypeError):
        sipdialog.RateLimiter(speed=3)
    rl = sipdialog.RateLimiter()
    with pytest.raises(ValueError):
        rl.allow("192.0.2.1", now=float("nan"))
    with pytest.raises(ValueError):
        rl.allow("192.0.2.1", now=1e300)
    with pytest.raises(TypeError):
        rl.allow("192.0.2.1", 5.0)  # now is keyword-only


# --------------------------------------------------------------- sources

SAME = [
    [("10.0.0.1", 5060), ("10.0.0.1", 5070), "10.0.0.1", "10.0.0.1:5060", "10.0.0.1:1",
     "::ffff:10.0.0.1", "[::ffff:10.0.0.1]:5060", ("::ffff:10.0.0.1", 9), ("[::ffff:a00:1]", 0)],
    [("::1", 5060), ("[::1]", 5061), "::1", "[::1]", "[::1]:5060", "0:0:0:0:0:0:0:1", "[0::1]:65535"],
    [("2001:db8::7", 5060), "[2001:DB8::7]:5080", "2001:db8:0:0:0:0:0:7"],
    [("proxy.Example.com", 5060), "PROXY.example.COM:5061", "proxy.example.com", "proxy.example.com."],
]


@pytest.mark.parametrize("forms", SAME)
def test_one_source_per_address(forms):
    keys = {key(f) for f in forms}
    assert len(keys) == 1
    (k,) = keys
    assert len(k) == 20
    rl = sipdialog.RateLimiter(rate_per_minute=60, burst=len(forms))
    assert all(rl.allow(f, now=0) for f in forms)
    assert not any(rl.allow(f, now=0) for f in forms)
    assert rl.sources == 1


def test_distinct_sources():
    groups = [key(forms[0]) for forms in SAME]
    assert len(set(groups)) == len(groups)
    assert key("10.0.0.1") != key("10.0.0.2")
    assert key("::192.0.2.1") != key("192.0.2.1")  # IPv4-compatible is not mapped
    assert key("1.example") != key("2.example")
    # a host name can never be an IP
    assert key("a.example")[0] == 0x80
    assert key("10.0.0.1")[0] == 4 and key("::1")[0] == 6


BAD = [
    ("", "empty source", 0),
    (":5060", "empty host", 0),
    ("10.0.0.1:", "empty port", 9),
    ("10.0.0.1:65536", "port out of range", 9),
    ("10.0.0.1:5o60", "invalid character 'o' in port", 10),
    ("256.1.1.1", "malformed IPv4", 0),
    ("1.2.3", "malformed IPv4", 0),
    ("[::1", "unbalanced '['", 0),
    ("::1]", "unbalanced ']'", 3),
    ("[::1]x", "after ']'", 5),
    ("[::1]:99999", "port out of range", 6),
    ("[10.0.0.1]", "malformed IPv6", 1),
    ("fe80::1%eth0", "zone index", 7),
    ("2001:db8:::1", "malformed IPv6", 0),
    ("bad_host", "invalid character '_' in host name", 3),
    ("a..b", "empty label", 2),
    ("-a.example", "starts with '-'", 0),
    ("h\u00e9.example", "invalid byte 0xc3 in host name", 1),
    ("a" * 256, "longer than 255", 255),
    (("10.0.0.1", 70000), "port out of range", None),
    (("10.0.0.1", -1), "port out of range", None),
    (("10.0.0.1:5060", 5060), "port is not allowed", 8),
    (("[::1]:5060", 5060), "port is not allowed", 5),
    (("", 5060), "empty source", 0),
    ("\udcff", "lone surrogate", None),
]


@pytest.mark.parametrize("source,reason,offset", BAD)
def test_bad_source(source, reason, offset):
    rl = sipdialog.RateLimiter()
    with pytest.raises(sipdialog.ValidationError) as ei:
        rl.allow(source, now=0)
    assert reason in ei.value.reason
    assert ei.value.offset == offset
    assert isinstance(ei.value, ValueError)
    with pytest.raises(sipdialog.ValidationError):
        key(source)
    with pytest.raises(sipdialog.ValidationError):
        rl.tokens(source, now=0)
    assert rl.sources == 0


@pytest.mark.parametrize("source", [42, None, b"10.0.0.1", ("10.0.0.1",), ("10.0.0.1", "5060"), (1, 2)])
def test_source_type_errors(source):
    with pytest.raises(TypeError):
        sipdialog.RateLimiter().allow(source, now=0)


# ------------------------------------------------------ the model property

class Model:
    """A token bucket per address, as docs/admission.md specifies it."""

    def __init__(self, rate, burst):
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self.b = {}

    def _at(self, k, now_ns):
        tokens, last = self.b.get(k, (self.burst, now_ns))
        if now_ns <= last or tokens >= self.burst:
            return tokens, last
        tk = tokens + float(now_ns - last) * self.rate / 6e10
        return (tk if tk < self.burst else self.burst), last

    def allow(self, k, now_ns):
        tk, last = self._at(k, now_ns)
        if tk < 1.0:
            return False
        self.b[k] = (tk - 1.0, max(last, now_ns))
        return True

    def tokens(self, k, now_ns):
        return self._at(k, now_ns)[0]


ADDRS = ["192.0.2.1", "2001:db8::2", "sip.example.org", "192.0.2.4"]


@st.composite
def source_forms(draw):
    i = draw(st.integers(0, len(ADDRS) - 1))
    port = draw(st.integers(0, 65535))
    host = ADDRS[i]
    form = draw(st.sampled_from(["tuple", "bare", "port"]))
    if form == "tuple":
        return i, (host, port)
    if form == "bare":
        return i, host
    return i, (f"[{host}]:{port}" if ":" in host else f"{host}:{port}")


@settings(max_examples=300, deadline=None)
@given(
    rate=st.sampled_from([1, 6, 60, 100, 0.5, 7.3, 1000, 12345.6]),
    burst=st.one_of(st.none(), st.sampled_from([1, 2, 3.5, 10, 100])),
    ops=st.lists(st.tuples(source_forms(), st.integers(-500, 5000), st.booleans()), max_size=80),
)
def test_matches_token_bucket_model(rate, burst, ops):
    rl = sipdialog.RateLimiter(rate_per_minute=rate, burst=burst)
    model = Model(float(rate), None if burst is None else float(burst))
    now_ms = 1_000
    for (i, source), dt_ms, peek in ops:
        now_ms = max(0, now_ms + dt_ms)
        now_ns = now_ms * 1_000_000
        if peek:
            assert rl.tokens(source, now=now_ms / 1000) == model.tokens(i, now_ns)
        else:
            assert rl.allow(source, now=now_ms / 1000) is model.allow(i, now_ns)
    assert rl.sources == len(model.b)


# -------------------------------------------------------------- threads

def test_threads_exact_capacity():
    """8 threads x 5,000 allow() on one source: exactly the model's capacity
    passes, the burst at t=0 and, after the barrier, a full refill at t=60."""
    rl = sipdialog.RateLimiter(rate_per_minute=500, burst=700)
    barrier = threading.Barrier(8)
    counts = [0] * 8

    def work(n):
        got = 0
        for i in range(5000):
            if i == 2500:
                barrier.wait()
            got += rl.allow(("198.51.100.50", 5060 + n), now=0.0 if i < 2500 else 84.0)
        counts[n] = got

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    model = Model(500.0, 700.0)
    expected = sum(model.allow(0, 0) for _ in range(8 * 2500))
    expected += sum(model.allow(0, 84 * 10**9) for _ in range(8 * 2500))
    assert expected == 700 + 700
    assert sum(counts) == expected
    assert rl.tokens("198.51.100.50", now=84.0) == 0.0


# ------------------------------------------------------------ _Admission

def test_admission_cap_and_rate():
    a = _core._Admission(max_per_source=2, rate_per_minute=60, burst=5)
    src = ("192.0.2.60", 5060)
    slots = []
    for _ in range(2):
        assert a.check(src, now=0)
        slots.append(a.acquire(src))
    # at the cap: refused without a token taken, acquire raises
    assert a.check(src, now=0) is False
    with pytest.raises(sipdialog.OverloadError) as ei:
        a.acquire("192.0.2.60:9")
    assert "cap" in ei.value.reason
    s = a.stats()
    assert (s["admitted"], s["refused_cap"], s["acquired"], s["acquire_refused"]) == (2, 1, 2, 1)
    assert (s["live_dialogs"], s["live_sources"], s["sources"]) == (2, 1, 1)
    a.release(slots.pop())
    assert a.check(src, now=0)  # a place again: the 3rd token
    slots.append(a.acquire(src))
    assert a.check(src, now=0) is False  # the cap again; still 2 tokens
    for slot in slots:
        a.release(slot)
    a.release(slots[0])  # released again with 0 live: ignored
    assert a.check(src, now=0) and a.check(src, now=0)
    assert a.check(src, now=0) is False  # no token left
    s = a.stats()
    assert (s["admitted"], s["refused_cap"], s["refused_rate"], s["refused_sources"]) == (5, 2, 1, 0)
    assert (s["live_dialogs"], s["live_sources"], s["released"]) == (0, 0, 3)


def test_admission_zero_means_no_limit_and_bad_args():
    a = _core._Admission(max_per_source=0, rate_per_minute=0)
    assert all(a.check("10.1.1.1", now=0) for _ in range(500))
    slots = [a.acquire("10.1.1.1") for _ in range(500)]
    for s in slots:
        a.release(s)
    assert a.stats()["sources"] == 0
    for kw in ({"max_per_source": -1}, {"rate_per_minute": -5}, {"burst": 0.2}, {"max_sources": 0}):
        with pytest.raises(ValueError):
            _core._Admission(**kw)
    with pytest.raises(sipdialog.ValidationError):
        a.check("bad host", now=0)
    with pytest.raises(ValueError):
        a.release(1 << 40)
