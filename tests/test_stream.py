"""StreamParser: framing SIP messages on stream transports (RFC 3261 18.3)."""
from __future__ import annotations

import pytest

import sipdialog
from sipdialog import LimitError, ParseError, StreamParser

HDRS = [
    b"Via: SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bK776asdhds",
    b"Max-Forwards: 70",
    b"To: Bob <sip:bob@biloxi.example.com>",
    b"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774",
    b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com",
    b"CSeq: 314159 INVITE",
]


def msg(extra=(), *, start=b"INVITE sip:bob@biloxi.example.com SIP/2.0", hdrs=HDRS, body=b"", cl=True):
    lines = list(hdrs) + list(extra)
    if cl:
        lines.append(b"Content-Length: %d" % len(body))
    return start + b"\r\n" + b"".join(x + b"\r\n" for x in lines) + b"\r\n" + body


M1 = msg(body=b"v=0\r\nhello\x00world")
M2 = msg(start=b"SIP/2.0 200 OK", hdrs=[h for h in HDRS if not h.startswith(b"Max")])
M3 = msg([b"l: 3"], body=b"abc", cl=False)  # compact Content-Length


def test_feed_returns_self_and_iterates_messages():
    """RFC 3261 18.3: on a stream, messages are framed by Content-Length."""
    sp = StreamParser()
    assert sp.feed(M1) is sp
    out = list(sp)
    assert out == [sipdialog.parse(M1)]
    assert out[0].body == b"v=0\r\nhello\x00world"
    assert sp.buffered == 0 and not sp.broken
    assert list(sp) == []


def test_byte_at_a_time():
    """RFC 3261 18.3: a message is complete only when Content-Length octets of body arrived."""
    stream = M1 + M2 + M3
    sp = StreamParser()
    out = []
    for i in range(len(stream)):
        out += list(sp.feed(stream[i:i + 1]))
        if i + 1 < len(M1):
            assert out == []
    assert [type(m).__name__ for m in out] == ["Request", "Response", "Request"]
    assert out == [sipdialog.parse(M1), sipdialog.parse(M2), sipdialog.parse(M3)]
    assert out[2].body == b"abc"
    assert sp.buffered == 0


def test_several_messages_in_one_chunk():
    """RFC 3261 18.3: several messages in one read."""
    out = list(StreamParser().feed(M1 + M2 + M3))
    assert [bytes(m) for m in out] == [M1, M2, M3]


def test_partial_message_stays_buffered():
    """RFC 3261 18.3: wait for the rest of the body."""
    sp = StreamParser()
    assert list(sp.feed(M1[:-3])) == []
    assert sp.buffered == len(M1) - 3
    assert [bytes(m) for m in sp.feed(M1[-3:])] == [M1]


@pytest.mark.parametrize("keepalive", [b"\r\n", b"\r\n\r\n", b"\r\n" * 5])
def test_keepalive_crlfs_between_messages(keepalive):
    """RFC 5626 3.5.1 (CRLF keep-alives), RFC 3261 7.5 (CRLFs before a start line are ignored)."""
    sp = StreamParser()
    out = list(sp.feed(keepalive + M1 + keepalive + M2 + keepalive))
    assert [bytes(m) for m in out] == [M1, M2]
    assert sp.buffered == 0 and not sp.broken


def test_keepalive_alone_and_split_crlf():
    """RFC 5626 3.5.1: a ping (CRLFCRLF) is not a message."""
    sp = StreamParser()
    assert list(sp.feed(b"\r\n\r\n")) == [] and sp.buffered == 0
    assert list(sp.feed(b"\r")) == [] and sp.buffered == 1
    assert list(sp.feed(b"\n")) == [] and sp.buffered == 0
    assert [bytes(m) for m in sp.feed(M2)] == [M2]


def test_feed_accepts_bytes_like_objects():
    """RFC 3261 18.3: a stream is octets."""
    sp = StreamParser()
    assert len(list(sp.feed(bytearray(M1)))) == 1
    assert len(list(sp.feed(memoryview(M2)))) == 1
    with pytest.raises(TypeError):
        sp.feed("text")


def test_missing_content_length_breaks_the_stream():
    """RFC 3261 18.3: Content-Length MUST be used with stream transports; a
    framing error is unrecoverable (close the connection)."""
    data = msg(cl=False)
    sp = StreamParser()
    with pytest.raises(ParseError) as ei:
        list(sp.feed(data))
    e = ei.value
    assert e.reason == "Content-Length is required on a stream (RFC 3261 18.3)"
    assert e.offset == len(data) - 2
    assert sp.broken
    assert repr(sp) == "<StreamParser buffered=%d broken=True>" % len(data)
    with pytest.raises(ParseError, match="framing was lost"):
        sp.feed(M1)
    assert list(sp) == []


@pytest.mark.parametrize("line, reason", [
    (b"Content-Length: -1", "Content-Length is not a decimal number"),
    (b"Content-Length: 5a", "Content-Length is not a decimal number"),
])
def test_bad_content_length_breaks_the_stream(line, reason):
    """RFC 4475 3.1.2.3: on TCP an unusable Content-Length is an unrecoverable framing error."""
    sp = StreamParser()
    with pytest.raises(ParseError) as ei:
        list(sp.feed(msg([line], cl=False) + M1))
    assert ei.value.reason == reason
    assert sp.broken


def test_conflicting_content_lengths_break_the_stream():
    """RFC 4475 3.3.9."""
    sp = StreamParser()
    with pytest.raises(ParseError, match="Content-Length appears twice with different values"):
        list(sp.feed(msg([b"l: 3"], body=b"hello")))
    assert sp.broken


def test_folded_content_length_is_framed():
    """RFC 3261 7.3.1: a folded Content-Length value."""
    data = msg([b"Content-Length:\r\n 5"], body=b"hello", cl=False)
    assert [m.body for m in StreamParser().feed(data)] == [b"hello"]


def test_header_block_larger_than_max_message_is_a_limit_error():
    """RFC 3261 18.3 / 21.4.14 (513 Message Too Large): no end of headers within max_message."""
    limits = sipdialog.Limits(max_message=100)
    sp = StreamParser(limits=limits)
    with pytest.raises(LimitError) as ei:
        list(sp.feed(b"INVITE sip:a@example.com SIP/2.0\r\nX: " + b"a" * 200))
    assert ei.value.reason == "no end of headers within the message limit of 100"
    assert ei.value.offset == 100
    assert sp.broken


def test_incomplete_header_block_below_the_limit_waits():
    """RFC 3261 18.3: an incomplete header block below the limit waits for more data."""
    sp = StreamParser(limits=sipdialog.Limits(max_message=100))
    assert list(sp.feed(b"INVITE sip:a@example.com SIP/2.0\r\nX: " + b"a" * 20)) == []
    assert not sp.broken and sp.buffered == 57


def test_message_and_body_limits():
    """RFC 3261 18.3, 20.14: Content-Length against max_body and max_message."""
    assert len(list(StreamParser(limits=sipdialog.Limits(max_message=len(M1))).feed(M1))) == 1
    sp = StreamParser(limits=sipdialog.Limits(max_message=len(M1) - 1))
    with pytest.raises(LimitError, match="message of %d bytes exceeds the limit of %d" % (len(M1), len(M1) - 1)):
        list(sp.feed(M1))
    sp = StreamParser(limits=sipdialog.Limits(max_body=10))
    with pytest.raises(LimitError, match="Content-Length 16 exceeds the body limit of 10"):
        list(sp.feed(M1))
    assert sp.broken


def test_message_that_frames_but_fails_to_parse_is_consumed():
    """A framed message with a grammar error raises; the stream goes on."""
    bad = msg(hdrs=[h for h in HDRS if not h.startswith(b"Call-ID")])
    sp = StreamParser()
    it = iter(sp.feed(bad + M1))
    with pytest.raises(ParseError) as ei:
        next(it)
    assert ei.value.reason == "missing mandatory Call-ID header (RFC 3261 8.1.1)"
    assert ei.value.offset == len(bad) - 4 + 2  # the empty line, within the message
    assert not sp.broken
    assert bytes(next(it)) == M1
    with pytest.raises(StopIteration):
        next(it)


def test_framing_error_offset_does_not_depend_on_chunking():
    """RFC 3261 18.3: the same bytes give the same error offset however the stream was cut."""
    bad = msg([b"Content-Length: -1"], cl=False)

    def offset(chunks):
        sp = StreamParser()
        with pytest.raises(ParseError) as ei:
            for c in chunks:
                for _ in sp.feed(c):
                    pass
        return ei.value.offset

    assert offset([M1 + bad]) == offset([M1, bad])


def test_reset_clears_buffer_and_error():
    """RFC 3261 18.3: after a framing error the connection is closed; reset() is the new connection."""
    sp = StreamParser()
    with pytest.raises(ParseError):
        list(sp.feed(msg(cl=False)))
    assert sp.broken
    sp.reset()
    assert not sp.broken and sp.buffered == 0
    assert repr(sp) == "<StreamParser buffered=0 broken=False>"
    assert [bytes(m) for m in sp.feed(M1)] == [M1]
    sp.feed(M1[:10])
    sp.reset()
    assert sp.buffered == 0 and [bytes(m) for m in sp.feed(M2)] == [M2]


def test_rfc2543_stream():
    """RFC 4475 3.4.1: rfc2543=True accepts requests without Max-Forwards."""
    data = msg(hdrs=[h for h in HDRS if not h.startswith(b"Max")])
    with pytest.raises(ParseError, match="Max-Forwards"):
        next(iter(StreamParser().feed(data)))
    (m,) = StreamParser(rfc2543=True).feed(data)
    assert m.max_forwards is None


def test_large_stream_of_many_messages():
    """RFC 3261 18.3, RFC 5626 3.5.1: many messages with CRLFs between them."""
    n = 500
    stream = (M1 + b"\r\n" + M2) * n
    sp = StreamParser()
    out = []
    for i in range(0, len(stream), 1000):
        out += list(sp.feed(stream[i:i + 1000]))
    assert len(out) == 2 * n and sp.buffered == 0
    assert bytes(out[-1]) == M2
