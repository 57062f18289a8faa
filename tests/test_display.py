"""Rich display and descriptions for notebooks and the CLI."""
import json
import pathlib

import sipdialog
from sipdialog._display import describe

CORPUS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "corpus"


def test_repr_html_escapes_and_lists_every_header():
    raw = (CORPUS / "invite.sip").read_bytes()
    m = sipdialog.parse(raw)
    html = m._repr_html_()
    assert "INVITE sip:bob@biloxi.example.com SIP/2.0" in html
    assert html.count("<tr>") == len(m.headers)
    assert "&quot;Alice&quot; &lt;sip:alice@atlanta.example.com&gt;" in html
    assert "<script" not in sipdialog.Request(
        "OPTIONS", "sip:b@example.com", headers=[
            ("Via", "SIP/2.0/UDP h;branch=z9hG4bK1"), ("Max-Forwards", "70"),
            ("From", "<sip:a@example.com>;tag=1"), ("To", "<sip:b@example.com>"),
            ("Call-ID", "c@h"), ("CSeq", "1 OPTIONS"), ("Subject", "<script>x</script>")],
    )._repr_html_()


def test_describe_is_json_serializable_and_complete():
    for path in sorted(CORPUS.glob("*.sip")):
        m = sipdialog.parse(path.read_bytes())
        d = json.loads(json.dumps(describe(m)))
        assert d["call_id"] == m.call_id
        assert d["cseq"] == {"seq": m.cseq.seq, "method": m.cseq.method}
        assert len(d["vias"]) == len(m.headers.getall("Via"))
        assert d["vias"][0]["branch"] == m.via_branch
        assert [tuple(p) for p in d["headers"]] == list(m.headers.items())


def test_repr_shows_state():
    m = sipdialog.parse((CORPUS / "180_ringing.sip").read_bytes())
    r = repr(m)
    assert r.startswith("<Response 180 'Ringing'") and "cseq=314159 INVITE" in r
