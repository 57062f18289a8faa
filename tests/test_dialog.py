"""Dialog rules of RFC 3261 sections 12-15, one test per rule, asserting the
exact header values on the wire."""
import json
import re
import threading

import pytest

import sipdialog
from sipdialog import (ClosedError, Dialog, DialogState, DialogStateError, Request, Response,
                       ValidationError, parse)

S = DialogState
CID = "a84b4c76e66710@pc33.atlanta.example.com"


def invite(method="INVITE", cseq=314159, rr=(), contact="<sip:alice@pc33.atlanta.example.com>",
           ruri="sip:bob@biloxi.example.com", call_id=CID, extra=()):
    h = [("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"),
         ("Max-Forwards", "70"),
         ("To", "Bob <sip:bob@biloxi.example.com>"),
         ("From", "Alice <sip:alice@atlanta.example.com>;tag=1928301774"),
         ("Call-ID", call_id), ("CSeq", "%d %s" % (cseq, method))]
    if contact:
        h.append(("Contact", contact))
    h += [("Record-Route", r) for r in rr]
    h += list(extra)
    return Request(method, ruri, headers=h)


def lines(msg):
    """The header lines of a message as (name, value) pairs, in wire order."""
    head = bytes(msg).split(b"\r\n\r\n", 1)[0].decode()
    return [tuple(x.split(": ", 1)) for x in head.split("\r\n")[1:]]


def start_line(msg):
    return bytes(msg).split(b"\r\n", 1)[0].decode()


def values(msg, name):
    return [v for n, v in lines(msg) if n == name]


def pair(rr=("<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"), method="INVITE"):
    """A UAC and a UAS dialog for one INVITE, confirmed and acknowledged."""
    inv = invite(method, rr=rr)
    uac = Dialog.from_uac(inv)
    uas = Dialog.from_uas(inv, local_contact="sip:bob@192.0.2.4", local_tag="8d3b7f2e")
    ok = uas.answer(200)
    uac.receive(ok)
    if method == "INVITE":
        assert uas.receive(uac.create_ack(ok)) is None
    return uac, uas


# ---- 12.1: creation ----------------------------------------------------------------

def test_uac_starts_in_none_with_the_request_fields():
    # RFC 3261 12.1.2: local URI/tag from From, remote URI from To, local seq = CSeq
    d = Dialog.from_uac(invite())
    assert d.state is S.NONE
    assert d.is_uac and d.role == "uac"
    assert d.call_id == CID
    assert d.local_tag == "1928301774" and d.remote_tag is None
    assert d.local_uri == "sip:alice@atlanta.example.com"
    assert d.remote_uri == "sip:bob@biloxi.example.com"
    assert d.local_target == "sip:alice@pc33.atlanta.example.com"
    assert d.local_seq == 314159 and d.remote_seq is None
    assert d.id == CID + ";1928301774;"
    assert d.history == ()


def test_uas_tag_is_128_random_bits_in_hex():
    # RFC 3261 19.3: tags are globally unique and random (we draw 128 bits)
    tags = {Dialog.from_uas(invite(), local_contact="sip:bob@h").local_tag for _ in range(50)}
    assert len(tags) == 50
    assert all(re.fullmatch(r"[0-9a-f]{32}", t) for t in tags)


def test_uas_fields_and_route_set_in_request_order():
    # RFC 3261 12.1.1: route set = Record-Route of the request, in order;
    # remote target = Contact; remote seq = CSeq; local seq empty
    d = Dialog.from_uas(invite(rr=["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]),
                        local_contact="sip:bob@192.0.2.4", local_tag="abc")
    assert d.route_set == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert d.remote_target == "sip:alice@pc33.atlanta.example.com"
    assert d.remote_seq == 314159 and d.local_seq is None
    assert d.local_uri == "sip:bob@biloxi.example.com"
    assert d.remote_tag == "1928301774"
    assert d.id == CID + ";abc;1928301774"


def test_uac_with_response_at_once():
    inv = invite()
    uas = Dialog.from_uas(inv, local_contact="sip:bob@192.0.2.4", local_tag="t2")
    d = Dialog.from_uac(inv, uas.answer(200))
    assert d.state is S.CONFIRMED and d.remote_tag == "t2"


@pytest.mark.parametrize("method", ["INVITE", "SUBSCRIBE", "REFER", "NOTIFY"])
def test_dialog_creating_methods(method):
    extra = [("Event", "refer")] if method in ("SUBSCRIBE", "NOTIFY") else []
    if method == "REFER":
        extra = [("Refer-To", "<sip:carol@example.com>")]
    if method == "NOTIFY":
        extra.append(("Subscription-State", "active"))
    uac, uas = pair(method=method) if method != "NOTIFY" else (None, None)
    d = Dialog.from_uac(invite(method, extra=extra))
    assert d.state is S.NONE
    if uac is not None:
        assert uac.state is S.CONFIRMED and uas.state is S.CONFIRMED


def test_requests_that_create_no_dialog_are_refused():
    with pytest.raises(ValidationError, match="does not create a dialog"):
        Dialog.from_uac(invite("OPTIONS"))
    # an in-dialog request (To tag) creates nothing
    req = parse(bytes(invite()).replace(b"To: Bob <sip:bob@biloxi.example.com>",
                                        b"To: Bob <sip:bob@biloxi.example.com>;tag=x"))
    with pytest.raises(ValidationError, match="To tag"):
        Dialog.from_uac(req)
    # RFC 3261 8.1.1.8: an INVITE needs a Contact
    with pytest.raises(ValidationError, match="Contact"):
        Dialog.from_uac(invite(contact=None))
    with pytest.raises(TypeError):
        Dialog.from_uac(b"INVITE")
    with pytest.raises(TypeError):
        Dialog()


def test_from_uas_checks_its_arguments():
    with pytest.raises(TypeError, match="local_contact"):
        Dialog.from_uas(invite())
    with pytest.raises(ValidationError):
        Dialog.from_uas(invite(), local_contact="not a uri")
    with pytest.raises(ValidationError, match="SIP or SIPS"):
        Dialog.from_uas(invite(), local_contact="tel:+15551234")
    with pytest.raises(ValidationError):
        Dialog.from_uas(invite(), local_contact="sip:b@h", local_tag="bad tag")
    with pytest.raises(ValidationError):
        Dialog.from_uas(invite(), local_contact="sip:b@h", local_tag="")


# ---- 12.1.2 / 13.2.2.4: early, confirmed, route set -----------------------------------

def test_tagged_1xx_makes_early_and_route_set_is_reversed():
    # RFC 3261 12.1.2: UAC route set = Record-Route of the response, reversed
    inv = invite(rr=["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"])
    uac = Dialog.from_uac(inv)
    uas = Dialog.from_uas(inv, local_contact="sip:bob@192.0.2.4", local_tag="t1")
    r180 = uas.provisional(180)
    assert values(r180, "Record-Route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert values(r180, "Contact") == ["<sip:bob@192.0.2.4>"]
    assert values(r180, "To") == ["Bob <sip:bob@biloxi.example.com>;tag=t1"]
    assert uac.receive(r180) is None
    assert uac.state is S.EARLY and uas.state is S.EARLY
    assert uac.route_set == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert uac.remote_target == "sip:bob@192.0.2.4"
    assert uac.id == CID + ";1928301774;t1"


def test_100_and_untagged_1xx_create_nothing():
    inv = invite()
    uac = Dialog.from_uac(inv)
    assert uac.receive(inv.create_response(100)) is None
    assert uac.state is S.NONE
    untagged = parse(bytes(inv.create_response(183, to_tag="zz")).replace(b";tag=zz", b""))
    assert uac.receive(untagged) is None
    assert uac.state is S.NONE


def test_2xx_recomputes_the_early_route_set():
    # RFC 3261 13.2.2.4: the route set is recomputed from the 2xx
    inv = invite()
    uac = Dialog.from_uac(inv)
    e = inv.create_response(180, to_tag="t1", headers=[("Contact", "<sip:bob@early.example.com>"),
                                                       ("Record-Route", "<sip:old.example.com;lr>")])
    uac.receive(e)
    assert uac.route_set == ["<sip:old.example.com;lr>"]
    ok = inv.create_response(200, to_tag="t1", headers=[("Contact", "<sip:bob@final.example.com>"),
                                                        ("Record-Route", "<sip:a.example.com;lr>, <sip:b.example.com;lr>")])
    uac.receive(ok)
    assert uac.state is S.CONFIRMED
    assert uac.route_set == ["<sip:b.example.com;lr>", "<sip:a.example.com;lr>"]
    assert uac.remote_target == "sip:bob@final.example.com"


def test_route_set_frozen_once_confirmed():
    # RFC 3261 12.2: the route set is not changed by later requests or responses
    uac, uas = pair()
    before = uac.route_set
    reinv = uac.create_request("INVITE")
    uas.receive(reinv)
    ok = uas.answer(200, headers=[("Record-Route", "<sip:new.example.com;lr>")])
    uac.receive(ok)
    assert uac.route_set == before


def test_final_failure_terminates():
    # RFC 3261 12.3 / 13.2.2.3: a 3xx-6xx to the INVITE ends the (early) dialog
    inv = invite()
    uac = Dialog.from_uac(inv)
    uas = Dialog.from_uas(inv, local_contact="sip:bob@h", local_tag="t")
    uac.receive(uas.provisional(180))
    busy = uas.reject(486)
    assert start_line(busy) == "SIP/2.0 486 Busy Here"
    assert values(busy, "Contact") == []
    assert uas.state is S.TERMINATED
    uac.receive(busy)
    assert uac.state is S.TERMINATED
    assert [(t.old, t.new, t.reason, t.status) for t in uac.history] == [
        (S.NONE, S.EARLY, "provisional", 180), (S.EARLY, S.TERMINATED, "failure", 486)]


def test_response_statuses_of_uas_helpers():
    d = Dialog.from_uas(invite(), local_contact="sip:b@h")
    with pytest.raises(ValidationError):
        d.provisional(200)
    with pytest.raises(ValidationError):
        d.answer(180)
    with pytest.raises(ValidationError):
        d.reject(200)
    with pytest.raises(ValidationError):
        d.provisional(100)
    assert d.state is S.NONE


# ---- forking ------------------------------------------------------------------------------

def test_fork_makes_a_sibling_never_an_overwrite():
    # RFC 3261 12.1.2, 13.2.2.4: each To tag is its own dialog
    inv = invite()
    uac = Dialog.from_uac(inv)
    uac.receive(inv.create_response(180, to_tag="fork1", headers=[("Contact", "<sip:b1@h1>")]))
    other = inv.create_response(180, to_tag="fork2", headers=[("Contact", "<sip:b2@h2>")])
    with pytest.raises(DialogStateError, match="fork"):
        uac.receive(other)
    assert uac.remote_tag == "fork1" and uac.remote_target == "sip:b1@h1"
    sib = uac.fork(other)
    assert sib.state is S.EARLY and sib.remote_tag == "fork2" and sib.remote_target == "sip:b2@h2"
    assert sib.local_tag == uac.local_tag and sib.call_id == uac.call_id and sib.id != uac.id
    ok2 = inv.create_response(200, to_tag="fork2", headers=[("Contact", "<sip:b2@h2>")])
    sib.receive(ok2)
    assert sib.state is S.CONFIRMED and uac.state is S.EARLY
    with pytest.raises(DialogStateError):
        uac.fork(inv.create_response(180, to_tag="fork1"))
    with pytest.raises(ValidationError):
        uac.fork(invite(cseq=1).create_response(180, to_tag="x"))


# ---- 12.2.1.1: requests inside a dialog ------------------------------------------------

def test_bye_headers_exactly():
    # RFC 3261 12.2.1.1: Request-URI = remote target, Route = route set, To/From with
    # both tags, Call-ID, CSeq incremented by one, a fresh branch
    uac, uas = pair()
    bye = uac.create_request("BYE")
    assert start_line(bye) == "BYE sip:bob@192.0.2.4 SIP/2.0"
    h = lines(bye)
    names = [n for n, _ in h]
    assert names == ["Via", "Max-Forwards", "Route", "Route", "From", "To", "Call-ID", "CSeq", "Content-Length"]
    assert values(bye, "Route") == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert values(bye, "From") == ["Alice <sip:alice@atlanta.example.com>;tag=1928301774"]
    assert values(bye, "To") == ["Bob <sip:bob@biloxi.example.com>;tag=8d3b7f2e"]
    assert values(bye, "Call-ID") == [CID]
    assert values(bye, "CSeq") == ["314160 BYE"]
    assert values(bye, "Max-Forwards") == ["70"]
    assert re.fullmatch(r"SIP/2\.0/UDP pc33\.atlanta\.example\.com;branch=z9hG4bK[0-9a-f]{16}",
                        values(bye, "Via")[0])
    assert bye.via_branch != uac.create_request("INFO").via_branch


def test_uas_request_swaps_from_and_to():
    # RFC 3261 12.2.1.1: the callee's requests carry its own URI and tag in From
    uac, uas = pair(rr=())
    info = uas.create_request("INFO", headers={"Content-Type": "application/dtmf-relay"}, body=b"Signal=5\r\n")
    assert start_line(info) == "INFO sip:alice@pc33.atlanta.example.com SIP/2.0"
    assert values(info, "From") == ["Bob <sip:bob@biloxi.example.com>;tag=8d3b7f2e"]
    assert values(info, "To") == ["Alice <sip:alice@atlanta.example.com>;tag=1928301774"]
    assert values(info, "Via")[0].startswith("SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK")
    assert values(info, "Route") == []
    assert info.body == b"Signal=5\r\n"
    assert uac.receive(info) is None and uac.remote_seq == info.cseq.seq


def test_uas_local_sequence_starts_random_below_2_31():
    # RFC 3261 12.1.1 (local sequence empty) and 8.1.1.5 (CSeq below 2**31)
    seen = set()
    for _ in range(20):
        uac, uas = pair(rr=())
        assert uas.local_seq is None
        n = uas.create_request("INFO").cseq.seq
        assert 0 < n < 2 ** 31
        assert uas.local_seq == n
        seen.add(n)
    assert len(seen) > 15


def test_local_and_remote_sequences_are_independent():
    uac, uas = pair(rr=())
    for _ in range(3):
        uac.receive(uas.create_request("INFO"))
    assert uac.create_request("INFO").cseq.seq == 314160
    assert uac.remote_seq == uas.local_seq


def test_contact_on_target_refresh_and_usage_methods():
    # RFC 3261 12.2.1.1 (target refresh requests carry Contact), RFC 6665/3515
    uac, uas = pair(rr=())
    for m, has in [("UPDATE", True), ("REFER", True), ("NOTIFY", True), ("SUBSCRIBE", True),
                   ("BYE", False), ("INFO", False), ("MESSAGE", False), ("OPTIONS", False), ("FOO", False),
                   ("INVITE", True)]:
        if m == "BYE":
            r = uas.create_request(m)
        else:
            r = uac.create_request(m, headers=[("Event", "refer")] if m in ("NOTIFY", "SUBSCRIBE") else None)
        assert bool(values(r, "Contact")) is has, m
    assert values(r, "Contact") == ["<sip:alice@pc33.atlanta.example.com>"]


def test_user_headers_validated_and_dialog_headers_protected():
    uac, uas = pair(rr=())
    with pytest.raises(ValidationError):
        uac.create_request("INFO", headers=[("X-Bad", "a\r\nInjected: 1")])
    with pytest.raises(ValidationError):
        uac.create_request("INFO", headers=[("Bad Name", "1")])
    for name in ("Call-ID", "CSeq", "From", "To", "Via", "Route", "i", "t"):
        with pytest.raises(ValidationError, match="set by the dialog"):
            uac.create_request("INFO", headers=[(name, "x")])
    with pytest.raises(ValidationError):
        uac.create_request("BAD METHOD")
    # Max-Forwards and Contact may be overridden
    r = uac.create_request("INVITE", headers=[("Max-Forwards", "10"), ("Contact", "<sip:alice@other.example.com>")])
    assert values(r, "Max-Forwards") == ["10"]
    assert values(r, "Contact") == ["<sip:alice@other.example.com>"]


def test_failed_request_takes_a_number_but_changes_nothing_else():
    uac, uas = pair(rr=())
    snap = uac.snapshot()
    with pytest.raises(ValidationError):
        uac.create_request("INFO", headers=[("X", "\x00")])
    assert uac.snapshot()["local_seq"] == snap["local_seq"]  # validation happens before the number is taken
    assert uac.create_request("INFO").cseq.seq == snap["local_seq"] + 1


# ---- strict routing -----------------------------------------------------------------------

def test_strict_routing():
    # RFC 3261 12.2.1.1: a first route without lr: it becomes the Request-URI (minus
    # parameters a Request-URI may not carry), the remote target the last Route
    uac, uas = pair(rr=["<sip:strict.example.com;method=INVITE;transport=tcp>", "<sip:loose.example.com;lr>"])
    assert uac.route_set == ["<sip:loose.example.com;lr>", "<sip:strict.example.com;method=INVITE;transport=tcp>"]
    # the UAC's first route is loose: ordinary loose routing
    bye = uac.create_request("BYE")
    assert start_line(bye) == "BYE sip:bob@192.0.2.4 SIP/2.0"
    # the UAS's first route is the strict router
    info = uas.create_request("INFO")
    assert start_line(info) == "INFO sip:strict.example.com;transport=tcp SIP/2.0"
    assert values(info, "Route") == ["<sip:loose.example.com;lr>", "<sip:alice@pc33.atlanta.example.com>"]


# ---- 12.2.2: receiving ---------------------------------------------------------------------

def test_lower_cseq_gets_500_and_changes_nothing():
    # RFC 3261 12.2.2: lower than the remote sequence -> 500
    uac, uas = pair(rr=())
    r1 = uac.create_request("INFO")
    r2 = uac.create_request("INFO")
    assert uas.receive(r2) is None
    snap = uas.snapshot()
    resp = uas.receive(r1)
    assert resp.status_code == 500 and resp.cseq == r1.cseq
    assert values(resp, "To") == values(r1, "To")
    assert {k: v for k, v in uas.snapshot().items() if k != "last_activity"} == \
           {k: v for k, v in snap.items() if k != "last_activity"}


def test_equal_cseq_new_transaction_gets_500_retransmission_nothing():
    uac, uas = pair(rr=())
    r = uac.create_request("INFO")
    assert uas.receive(r) is None
    assert uas.receive(r) is None  # the same request again: a retransmission
    forged = parse(bytes(r).replace(r.via_branch.encode(), b"z9hG4bKother"))
    assert uas.receive(forged).status_code == 500


def test_wrong_tags_or_call_id_get_481():
    # RFC 3261 12.2.2: a request that matches no dialog -> 481
    uac, uas = pair(rr=())
    r = uac.create_request("INFO")
    raw = bytes(r)
    for bad in (raw.replace(b"tag=8d3b7f2e", b"tag=nope"),
                raw.replace(b"tag=1928301774", b"tag=nope"),
                raw.replace(CID.encode(), b"other@call")):
        resp = uas.receive(parse(bad))
        assert resp.status_code == 481
        assert resp.reason == "Call/Transaction Does Not Exist"
    assert uas.remote_seq == 314159


def test_request_before_dialog_exists_gets_481():
    inv = invite()
    uac = Dialog.from_uac(inv)
    bye = Request("BYE", "sip:alice@pc33.atlanta.example.com", headers=[
        ("Via", "SIP/2.0/UDP h;branch=z9hG4bKb1"), ("Max-Forwards", "70"),
        ("From", "Bob <sip:bob@biloxi.example.com>;tag=x"),
        ("To", "Alice <sip:alice@atlanta.example.com>;tag=1928301774"),
        ("Call-ID", CID), ("CSeq", "1 BYE")])
    assert uac.receive(bye).status_code == 481
    assert uac.state is S.NONE


def test_bye_received_terminates_and_auto_answer():
    # RFC 3261 15.1.2
    uac, uas = pair(rr=())
    bye = uac.create_request("BYE")
    assert uac.state is S.TERMINATING
    assert uas.receive(bye) is None
    assert uas.state is S.TERMINATED
    ok = bye.create_response(200)
    uac.receive(ok)
    assert uac.state is S.TERMINATED
    uac2, uas2 = pair(rr=())
    r = uas2.receive(uac2.create_request("BYE"), auto_answer=True)
    assert start_line(r) == "SIP/2.0 200 OK" and r.cseq.method == "BYE"
    # after termination every request is 481
    assert uas.receive(uac2.create_request("INFO")).status_code == 481


def test_bye_in_terminated_state_gets_481():
    uac, uas = pair(rr=())
    bye = uac.create_request("BYE")
    uas.receive(bye)
    dup = parse(bytes(bye).replace(b"314160 BYE", b"314161 BYE"))
    assert uas.receive(dup).status_code == 481


def test_481_or_408_to_an_in_dialog_request_ends_the_dialog():
    # RFC 3261 12.2.1.2
    for code in (481, 408):
        uac, uas = pair(rr=())
        info = uac.create_request("INFO")
        uac.receive(info.create_response(code))
        assert uac.state is S.TERMINATED
        assert uac.history[-1].reason == "ended" and uac.history[-1].status == code


def test_other_failures_keep_the_dialog():
    uac, uas = pair(rr=())
    info = uac.create_request("INFO")
    uac.receive(info.create_response(501))
    assert uac.state is S.CONFIRMED


def test_response_that_is_not_ours_raises():
    uac, uas = pair(rr=())
    info = uac.create_request("INFO")
    wrong = parse(bytes(info.create_response(200)).replace(b"tag=1928301774", b"tag=zz"))
    with pytest.raises(ValidationError, match="From tag"):
        uac.receive(wrong)
    future = parse(bytes(info.create_response(200)).replace(b"314160 INFO", b"999999 INFO"))
    with pytest.raises(ValidationError, match="never sent"):
        uac.receive(future)


# ---- 14: re-INVITE, glare ---------------------------------------------------------------

def test_reinvite_refreshes_the_remote_target():
    # RFC 3261 12.2.2 (UAS side) and 12.2.1.2 (UAC side, from the 2xx)
    uac, uas = pair(rr=())
    reinv = uac.create_request("INVITE", headers=[("Contact", "<sip:alice@moved.example.com>")])
    assert uas.receive(reinv) is None
    assert uas.remote_target == "sip:alice@moved.example.com"
    ok = uas.answer(200, headers=[("Contact", "<sip:bob@moved.example.com>")])
    uac.receive(ok)
    assert uac.remote_target == "sip:bob@moved.example.com"
    ack = uac.create_ack(ok)
    assert values(ack, "CSeq") == ["%d ACK" % reinv.cseq.seq]
    assert start_line(ack) == "ACK sip:bob@moved.example.com SIP/2.0"
    uas.receive(ack)
    assert uas.pending == {"invite_out": False, "invite_in": False, "ack_out": False, "ack_in": False}


def test_update_refreshes_the_target():
    uac, uas = pair(rr=())
    up = uac.create_request("UPDATE", headers=[("Contact", "<sip:alice@upd.example.com>")])
    uas.receive(up)
    assert uas.remote_target == "sip:alice@upd.example.com"
    uac.receive(up.create_response(200, headers=[("Contact", "<sip:bob@upd.example.com>")]))
    assert uac.remote_target == "sip:bob@upd.example.com"


def test_no_new_invite_while_one_is_in_progress():
    # RFC 3261 14.1: not while an INVITE is in progress in either direction,
    # including a 2xx not yet acknowledged
    inv = invite()
    uac = Dialog.from_uac(inv)
    uas = Dialog.from_uas(inv, local_contact="sip:bob@h", local_tag="t")
    ok = uas.answer(200)
    uac.receive(ok)
    with pytest.raises(DialogStateError, match="14.1"):
        uac.create_request("INVITE")  # our ACK is not sent yet
    with pytest.raises(DialogStateError, match="14.1"):
        uas.create_request("INVITE")  # their ACK has not come
    ack = uac.create_ack(ok)
    uas.receive(ack)
    reinv = uac.create_request("INVITE")
    with pytest.raises(DialogStateError):
        uac.create_request("INVITE")  # ours in progress
    uas.receive(reinv)
    with pytest.raises(DialogStateError):
        uas.create_request("INVITE")  # theirs in progress


def test_glare_gets_491():
    # RFC 3261 14.2: an INVITE while ours is in progress -> 491
    uac, uas = pair(rr=())
    mine = uac.create_request("INVITE")
    theirs = uas.create_request("INVITE")
    r = uac.receive(theirs)
    assert r.status_code == 491 and r.reason == "Request Pending"
    r2 = uas.receive(mine)
    assert r2.status_code == 491
    # both sides back off; the 491s end the transactions
    uac.receive(r2)
    uas.receive(r)
    assert uac.state is S.CONFIRMED and uac.create_request("INVITE").cseq.seq == mine.cseq.seq + 1


def test_second_invite_before_the_first_is_answered_gets_500_retry_after():
    # RFC 3261 14.2: 500 with Retry-After between 0 and 10 seconds
    uac, uas = pair(rr=())
    reinv = uac.create_request("INVITE")
    uas.receive(reinv)
    uac.receive(reinv.create_response(100))
    second = parse(bytes(reinv).replace(b"%d INVITE" % reinv.cseq.seq, b"%d INVITE" % (reinv.cseq.seq + 5))
                   .replace(reinv.via_branch.encode(), b"z9hG4bKsecond"))
    r = uas.receive(second)
    assert r.status_code == 500
    assert 0 <= int(r.headers["Retry-After"]) <= 10


def test_failed_reinvite_keeps_the_dialog():
    # RFC 3261 14.1: a non-2xx to a re-INVITE leaves the session as it was
    uac, uas = pair(rr=())
    reinv = uac.create_request("INVITE", headers=[("Contact", "<sip:alice@new.example.com>")])
    uas.receive(reinv)
    rej = uas.reject(488)
    assert uas.state is S.CONFIRMED
    uac.receive(rej)
    assert uac.state is S.CONFIRMED and uac.remote_target == "sip:bob@192.0.2.4"
    assert uac.pending["invite_out"] is False


# ---- CANCEL ----------------------------------------------------------------------------------

def test_cancel_of_the_pending_invite():
    # RFC 3261 9.1: same Request-URI, Call-ID, From, To, top Via, CSeq number; after a 1xx
    inv = invite(extra=[("Route", "<sip:outbound.example.com;lr>")])
    uac = Dialog.from_uac(inv)
    with pytest.raises(DialogStateError, match="provisional"):
        uac.create_request("CANCEL")
    uac.receive(inv.create_response(100))
    c = uac.create_request("CANCEL")
    assert start_line(c) == "CANCEL sip:bob@biloxi.example.com SIP/2.0"
    assert values(c, "Via") == values(inv, "Via")
    assert values(c, "CSeq") == ["314159 CANCEL"]
    assert values(c, "To") == values(inv, "To")
    assert values(c, "From") == values(inv, "From")
    assert values(c, "Route") == ["<sip:outbound.example.com;lr>"]
    # the UAS answers the CANCEL 200 and the INVITE 487 (RFC 3261 9.2)
    uas = Dialog.from_uas(inv, local_contact="sip:bob@h", local_tag="t")
    r = uas.receive(c)
    assert r.status_code == 200 and r.cseq.method == "CANCEL"
    r487 = uas.reject(487)
    assert uas.state is S.TERMINATED
    uac.receive(r487)
    assert uac.state is S.TERMINATED
    with pytest.raises(DialogStateError):
        uac.create_request("CANCEL")


def test_cancel_that_matches_nothing_gets_481():
    inv = invite()
    uas = Dialog.from_uas(inv, local_contact="sip:bob@h", local_tag="t")
    uas.answer(200)
    uac = Dialog.from_uac(inv)
    uac.receive(inv.create_response(180, to_tag="t"))
    c = uac.create_request("CANCEL")
    assert uas.receive(c).status_code == 481  # the INVITE was answered already


# ---- ACK ------------------------------------------------------------------------------------

def test_ack_needs_a_received_2xx_to_invite():
    inv = invite()
    uac = Dialog.from_uac(inv)
    uas = Dialog.from_uas(inv, local_contact="sip:bob@h", local_tag="t")
    ok = uas.answer(200)
    with pytest.raises(ValidationError, match="receive"):
        uac.create_ack(ok)
    uac.receive(ok)
    with pytest.raises(ValidationError):
        uac.create_ack(uas.snapshot() and inv.create_response(486, to_tag="t"))
    with pytest.raises(ValidationError, match="use create_ack"):
        uac.create_request("ACK")
    ack = uac.create_ack(ok)
    assert values(ack, "CSeq") == ["314159 ACK"]


def test_callee_bye_only_after_ack():
    # RFC 3261 15: the callee must not BYE before the ACK of its 2xx, nor an early dialog
    inv = invite()
    uac = Dialog.from_uac(inv)
    uas = Dialog.from_uas(inv, local_contact="sip:bob@h", local_tag="t")
    uas.provisional(180)
    with pytest.raises(DialogStateError, match="early"):
        uas.create_request("BYE")
    ok = uas.answer(200)
    with pytest.raises(DialogStateError, match="ACK"):
        uas.create_request("BYE")
    uac.receive(ok)
    uas.receive(uac.create_ack(ok))
    assert uas.create_request("BYE").cseq.method == "BYE"
    assert uas.state is S.TERMINATING


def test_caller_may_bye_an_early_dialog():
    inv = invite()
    uac = Dialog.from_uac(inv)
    uac.receive(inv.create_response(180, to_tag="t", headers=[("Contact", "<sip:b@h>")]))
    bye = uac.create_request("BYE")
    assert uac.state is S.TERMINATING and values(bye, "CSeq") == ["314160 BYE"]
    with pytest.raises(DialogStateError):
        uac.create_request("BYE")


def test_no_requests_in_none_or_terminated():
    d = Dialog.from_uac(invite())
    with pytest.raises(DialogStateError, match="none"):
        d.create_request("INFO")
    uac, uas = pair(rr=())
    uac.receive(uac.create_request("BYE").create_response(200))
    with pytest.raises(DialogStateError, match="terminated"):
        uac.create_request("INFO")


# ---- lifecycle ------------------------------------------------------------------------------

def test_close_is_idempotent_and_final():
    uac, uas = pair(rr=())
    uac.close()
    uac.close()
    assert uac.closed and uac.state is S.TERMINATED
    assert uac.history[-1].reason == "close"
    with pytest.raises(ClosedError):
        uac.create_request("INFO")
    with pytest.raises(ClosedError):
        uac.receive(uas.create_request("INFO"))
    with pytest.raises(ClosedError):
        uac.__enter__()
    # reading still works
    assert uac.call_id == CID and uac.snapshot()["closed"] is True


def test_context_manager_closes():
    inv = invite()
    with Dialog.from_uac(inv) as d:
        assert not d.closed
    assert d.closed and d.state is S.TERMINATED
    with pytest.raises(RuntimeError):
        with Dialog.from_uac(inv) as d2:
            raise RuntimeError("boom")
    assert d2.closed


def test_created_at_and_last_activity():
    import time
    t0 = time.monotonic()
    uac, uas = pair(rr=())
    assert t0 <= uac.created_at <= uac.last_activity <= time.monotonic()
    before = uac.last_activity
    uac.create_request("INFO")
    assert uac.last_activity >= before


def test_timeout_terminates():
    d = Dialog.from_uac(invite())
    d.timeout()
    assert d.state is S.TERMINATED and d.history[-1].reason == "timeout"
    with pytest.raises(DialogStateError):
        d.timeout()


# ---- state callbacks ----------------------------------------------------------------------

def test_callbacks_after_the_lock_can_reenter():
    uac, uas = pair(rr=())
    seen = []

    @uac.on_state_change
    def cb(dlg, tr):
        # reading and even changing the dialog from a callback must not deadlock
        seen.append((tr.old, tr.new, dlg.state, dlg.snapshot()["state"]))
        if tr.new is S.TERMINATING:
            dlg.close()

    uac.create_request("BYE")
    assert seen[0] == (S.CONFIRMED, S.TERMINATING, S.TERMINATING, "terminating")
    assert seen[1][:2] == (S.TERMINATING, S.TERMINATED)
    assert uac.closed
    uac.remove_state_callback(cb)
    with pytest.raises(ValueError):
        uac.remove_state_callback(cb)


def test_failing_callback_is_logged_not_raised(caplog):
    d = Dialog.from_uac(invite())
    d.on_state_change(lambda dlg, tr: 1 / 0)
    with caplog.at_level("ERROR", logger="sipdialog"):
        d.timeout()
    assert d.state is S.TERMINATED
    assert any("state callback" in r.getMessage() and r.exc_info for r in caplog.records)
    with pytest.raises(TypeError):
        d.on_state_change(42)


# ---- snapshot / restore ---------------------------------------------------------------------

def test_snapshot_is_json_and_restore_continues():
    uac, uas = pair()
    uac.create_request("INFO")
    snap = uac.snapshot()
    back = json.loads(json.dumps(snap))
    d = Dialog.restore(back)
    assert d.id == uac.id and d.state is S.CONFIRMED and d.route_set == uac.route_set
    assert d.remote_target == uac.remote_target and d.history == uac.history
    r1, r2 = uac.create_request("BYE"), d.create_request("BYE")
    assert r1.cseq == r2.cseq
    assert lines(r1)[1:] == lines(r2)[1:]  # the same request but for the Via branch
    assert d.snapshot()["local_seq"] == uac.snapshot()["local_seq"]


def test_restore_validates():
    uac, uas = pair()
    good = uac.snapshot()
    for key, bad, exc in [("role", "x", ValueError), ("state", "bogus", ValueError), ("call_id", "a b", ValidationError),
                          ("remote_target", "mailto:x@y", ValidationError), ("route_set", ["sip:noangle"], ValidationError),
                          ("local_seq", 2 ** 31, ValueError), ("local_header", "<sip:a@b>", ValidationError),
                          ("state", "none", ValidationError)]:
        s = dict(good)
        s[key] = bad
        with pytest.raises(exc):
            Dialog.restore(s)
    s = dict(good)
    del s["call_id"]
    with pytest.raises(KeyError):
        Dialog.restore(s)
    with pytest.raises(TypeError):
        Dialog.restore(42)


# ---- display ----------------------------------------------------------------------------------

def test_repr_and_html():
    uac, uas = pair()
    assert repr(uac) == "<sipdialog.Dialog uac confirmed id=%r>" % uac.id or \
        repr(uac) == "<Dialog uac confirmed id=%r>" % uac.id
    uac.close()
    assert repr(uac).endswith(" closed>")
    h = uac._repr_html_()
    assert "<table>" in h and uac.call_id in h and "confirmed" in h and "close" in h


# ---- concurrency -------------------------------------------------------------------------------

def test_threads_get_unique_contiguous_cseqs():
    uac, uas = pair(rr=())
    start = uac.local_seq
    out = []
    lock = threading.Lock()

    def work():
        mine = [uac.create_request("INFO").cseq.seq for _ in range(500)]
        with lock:
            out.extend(mine)

    ts = [threading.Thread(target=work) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(out) == list(range(start + 1, start + 1 + 4000))
    assert uac.local_seq == start + 4000


def test_readers_never_see_torn_fields():
    uac, uas = pair(rr=())
    targets = {"sip:alice@pc33.atlanta.example.com"}
    reqs = []
    for i in range(200):
        t = "sip:alice@host%d.example.com" % i
        targets.add(t)
        reqs.append(uac.create_request("UPDATE", headers=[("Contact", "<%s>" % t)]))
    stop = threading.Event()
    bad = []

    def reader():
        while not stop.is_set():
            s = uas.snapshot()
            if s["remote_target"] not in targets or uas.remote_target not in targets:
                bad.append(s)

    rs = [threading.Thread(target=reader) for _ in range(3)]
    for t in rs:
        t.start()
    for r in reqs:
        assert uas.receive(r) is None
    stop.set()
    for t in rs:
        t.join()
    assert not bad
    assert uas.remote_target == "sip:alice@host199.example.com"


@pytest.mark.parametrize("checked", [False, True])
def test_strict_routing_whether_or_not_the_parser_checked_uris(checked):
    # RFC 3261 12.2.1.1; the dialog locates URIs the parser checked and parses the others
    rr = ["<sip:a;b@strict.example.com;transport=tcp>", "<sip:loose.example.com;lr=on>"]
    inv = parse(bytes(invite(rr=rr)), check_uris=checked)
    uas = Dialog.from_uas(inv, local_contact="sip:bob@192.0.2.4", local_tag="t")
    assert uas.route_set == rr
    ok = parse(bytes(uas.answer(200)), check_uris=checked)
    info = uas.create_request("INFO")
    # a ';' in the user part is not a URI parameter: the first route has no lr
    assert start_line(info) == "INFO sip:a;b@strict.example.com;transport=tcp SIP/2.0"
    assert values(info, "Route") == ["<sip:loose.example.com;lr=on>", "<sip:alice@pc33.atlanta.example.com>"]
    uac = Dialog.from_uac(inv, ok)
    assert uac.route_set == rr[::-1]
    # lr with a value still marks a loose router
    assert start_line(uac.create_ack(ok)) == "ACK sip:bob@192.0.2.4 SIP/2.0"
    assert uac.local_uri == "sip:alice@atlanta.example.com" and uac.remote_uri == "sip:bob@biloxi.example.com"


def test_restore_refuses_control_characters():
    # RFC 3261 7.3.1: a restored dialog's strings go into requests; no CR, LF or other CTL
    uac, uas = pair()
    good = uac.snapshot()
    for key, bad in [("local_header", "Evil\r\n\r\nSmuggled <sip:a@b.example>;tag=abc"),
                     ("remote_header", "<sip:bob@biloxi.example.com>;tag=8d3b7f2e;p\r\n=\r\nq"),
                     ("route_set", ["x\r\ny <sip:r1.example;lr>"])]:
        s = dict(good)
        s[key] = bad
        with pytest.raises(ValidationError):
            Dialog.restore(s)
    assert b"\r\n\r\n" not in bytes(Dialog.restore(good).create_request("INFO")).split(b"\r\n\r\n", 1)[0]


def test_retransmission_without_branch_is_absorbed_merged_request_gets_482():
    # RFC 3261 8.2.2.2 (merged requests: 482) and 17.2.3 (RFC 2543 requests have no branch)
    raw = bytes(invite()).replace(b";branch=z9hG4bK776asdhds", b"")
    inv = parse(raw)
    uas = Dialog.from_uas(inv, local_contact="sip:bob@h", local_tag="t")
    assert uas.receive(parse(raw)) is None
    merged = parse(bytes(invite()).replace(b"z9hG4bK776asdhds", b"z9hG4bKother"))
    assert uas.receive(merged).status_code == 482


def test_64_routes_all_used_and_65_refused():
    # RFC 3261 12.2.1.1: every route of the set is used; past the limit, an error, never a truncation
    rr = ["<sip:p%d.example.com;lr>" % i for i in range(64)]
    uac, uas = pair(rr=rr)
    assert len(values(uac.create_request("INFO"), "Route")) == 64
    assert values(uas.create_request("INFO"), "Route") == rr
    with pytest.raises(sipdialog.LimitError):
        Dialog.from_uas(invite(rr=rr + ["<sip:p64.example.com;lr>"]), local_contact="sip:b@h")
    routes = [("Route", "<sip:o%d.example.com;lr>" % i) for i in range(64)]
    inv = invite(extra=routes)
    uac = Dialog.from_uac(inv)
    uac.receive(inv.create_response(100))
    assert len(values(uac.create_request("CANCEL"), "Route")) == 64
    with pytest.raises(sipdialog.LimitError):
        Dialog.from_uac(invite(extra=routes + [("Route", "<sip:o64.example.com;lr>")]))


# ---- shared strings ------------------------------------------------------------------

def test_from_and_to_keep_their_exact_text_with_the_tag_anywhere():
    # RFC 3261 12.2.1.1: From/To of in-dialog requests are the dialog's URIs and tags;
    # the values are kept exactly as they were (the tag may sit between parameters)
    inv = invite(extra=())
    raw = bytes(inv).replace(b"tag=1928301774", b"tag=1928301774;x=y")
    inv = parse(raw)
    uas = Dialog.from_uas(inv, local_contact="sip:bob@192.0.2.4", local_tag="8d3b7f2e")
    ok = uas.answer(200)
    uac = Dialog.from_uac(inv)
    uac.receive(ok)
    assert uac.local_header == "Alice <sip:alice@atlanta.example.com>;tag=1928301774;x=y"
    assert uac.local_tag == "1928301774" and uac.remote_tag == "8d3b7f2e"
    bye = uac.create_request("BYE")
    assert values(bye, "From") == ["Alice <sip:alice@atlanta.example.com>;tag=1928301774;x=y"]
    assert values(bye, "To") == ["Bob <sip:bob@biloxi.example.com>;tag=8d3b7f2e"]
    assert uas.remote_header == "Alice <sip:alice@atlanta.example.com>;tag=1928301774;x=y"
    assert values(uas.create_request("INFO"), "To") == ["Alice <sip:alice@atlanta.example.com>;tag=1928301774;x=y"]


def test_dialogs_of_one_user_agent_share_their_repeated_strings():
    # the From/To values without their tags, the targets and the route set are kept once
    def make(i):
        inv = invite(call_id="share-%d@h" % i, rr=("<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"))
        uac = Dialog.from_uac(inv)
        uac.receive(inv.create_response(200, to_tag="t%d" % i, headers=[
            ("Contact", "<sip:bob@192.0.2.4>"), ("Record-Route", "<sip:p1.example.com;lr>"),
            ("Record-Route", "<sip:p2.example.com;lr>")]))
        return uac
    one = make(0)
    alone = one.footprint
    many = [make(i) for i in range(1, 200)]
    assert many[-1].footprint < alone - 150  # its share of the common strings is small
    assert many[-1].route_set == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert many[-1].local_target == "sip:alice@pc33.atlanta.example.com"
    del many
    assert one.footprint == alone  # the others let go of their shares
