"""DialogManager: every look-up path, forks, re-keying, both tag
orientations, removal, the live view and tombstones, the bounds at their
exact edges, close, and counts that add up after many threads."""
import gc
import json
import threading
import weakref

import pytest

import sipdialog
from sipdialog import (ClosedError, Dialog, DialogManager, DialogNotFound, DialogState, DialogStateError,
                       LimitError, OverloadError, Request)

S = DialogState


def invite(call_id="a84b4c76e66710@pc33.atlanta.example.com", ftag="1928301774", extra=()):
    h = [("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"),
         ("Max-Forwards", "70"),
         ("To", "Bob <sip:bob@biloxi.example.com>"),
         ("From", "Alice <sip:alice@atlanta.example.com>;tag=%s" % ftag),
         ("Call-ID", call_id), ("CSeq", "314159 INVITE"),
         ("Contact", "<sip:alice@pc33.atlanta.example.com>")] + list(extra)
    return Request("INVITE", "sip:bob@biloxi.example.com", headers=h)


def response(req, status, tag):
    return req.create_response(status, to_tag=tag, headers=[("Contact", "<sip:bob@192.0.2.4>")])


def confirmed(call_id="a84b4c76e66710@pc33.atlanta.example.com", ftag="1928301774", ttag="a6c85cf"):
    req = invite(call_id, ftag)
    d = Dialog.from_uac(req)
    d.receive(response(req, 200, ttag))
    return d


def bye_from_callee(d):
    """A BYE the remote side of UAC dialog `d` sends (RFC 3261 12.2.1.1 seen from there)."""
    return Request("BYE", "sip:alice@pc33.atlanta.example.com", headers=[
        ("Via", "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds7"), ("Max-Forwards", "70"),
        ("From", "Bob <sip:bob@biloxi.example.com>;tag=%s" % d.remote_tag),
        ("To", "Alice <sip:alice@atlanta.example.com>;tag=%s" % d.local_tag),
        ("Call-ID", d.call_id), ("CSeq", "231 BYE")])


# ---- adding and the primary index -------------------------------------------------

def test_get_returns_the_added_object_by_its_id():
    # RFC 3261 12: a dialog is identified by Call-ID, local tag and remote tag
    mgr = DialogManager()
    d = confirmed()
    mgr.add(d)
    assert len(mgr) == 1
    assert mgr.get(d.id) is d and mgr[d.id] is d
    assert d.id in mgr and d in mgr
    assert mgr.get("a84b4c76e66710@pc33.atlanta.example.com;a6c85cf;1928301774") is None  # orientation matters
    assert mgr.get("nonsense") is None and mgr.get("a;b;c;d") is None
    assert mgr.get("x;y;z", 7) == 7
    with pytest.raises(DialogNotFound) as ei:
        mgr["x;y;z"]
    assert isinstance(ei.value, KeyError)
    with pytest.raises(TypeError):
        mgr.get(42)


def test_the_manager_keeps_the_dialog_object_and_its_callbacks_alive():
    mgr = DialogManager()
    d = confirmed()
    seen = []
    d.on_state_change(lambda dlg, t: seen.append(t.new))
    did, ref = d.id, weakref.ref(d)
    mgr.add(d)
    del d
    gc.collect()
    assert ref() is not None
    mgr[did].close()
    assert seen == [S.TERMINATED]
    assert did not in mgr
    gc.collect()
    assert ref() is None  # released once it left


def test_add_twice_or_a_twin_is_refused_and_changes_nothing():
    mgr = DialogManager()
    d = confirmed()
    mgr.add(d)
    with pytest.raises(DialogStateError, match="already"):
        mgr.add(d)
    with pytest.raises(DialogStateError, match="ID"):
        mgr.add(confirmed())
    assert len(mgr) == 1 and mgr.stats()["rejected_exists"] == 2
    with pytest.raises(TypeError):
        mgr.add("not a dialog")


def test_terminated_or_closed_dialogs_cannot_be_added():
    mgr = DialogManager()
    req = invite()
    d = Dialog.from_uac(req)
    d.receive(response(req, 486, "x"))
    assert d.state is S.TERMINATED
    with pytest.raises(DialogStateError, match="terminated"):
        mgr.add(d)
    c = confirmed(call_id="other")
    c.close()
    with pytest.raises(ClosedError):
        mgr.add(c)
    assert len(mgr) == 0


# ---- re-keying and find -----------------------------------------------------------

def test_uac_waiting_for_its_first_tag_is_rekeyed_by_the_response():
    # RFC 3261 12.1.2: the remote tag comes from the To tag of the response
    mgr = DialogManager()
    req = invite()
    d = Dialog.from_uac(req)
    mgr.add(d)
    assert d.id.endswith(";") and mgr.get(d.id) is d
    old = d.id
    ringing = response(req, 180, "a6c85cf")
    assert mgr.find(ringing) is d  # found by Call-ID and our (From) tag
    d.receive(ringing)
    assert d.state is S.EARLY and d.id == old + "a6c85cf"
    assert mgr.get(old) is None and mgr.get(d.id) is d
    assert mgr.find(ringing) is d and mgr.find(response(req, 200, "a6c85cf")) is d
    assert mgr.stats()["rekeyed"] == 1 and len(mgr) == 1


def test_untagged_provisional_finds_the_waiting_dialog():
    mgr = DialogManager()
    req = invite()
    d = Dialog.from_uac(req)
    mgr.add(d)
    assert mgr.find(req.create_response(100)) is d


def test_find_in_dialog_request_by_to_tag_and_from_tag():
    # RFC 3261 12.2.2: the To tag of a request is our local tag
    mgr = DialogManager()
    d = confirmed()
    mgr.add(d)
    bye = bye_from_callee(d)
    assert mgr.find(bye) is d
    stray = parse_replace(bye, "tag=a6c85cf", "tag=other")
    assert mgr.find(stray) is None


def parse_replace(msg, old, new):
    return sipdialog.parse(bytes(msg).replace(old.encode(), new.encode()))


def test_uas_dialog_found_by_its_creating_request_and_cancel():
    # RFC 3261 9.2: a CANCEL names the INVITE's dialog by Call-ID and From tag (no To tag)
    mgr = DialogManager()
    req = invite()
    u = Dialog.from_uas(req, local_contact="sip:bob@192.0.2.4", local_tag="8d3b7f2e")
    mgr.add(u)
    assert mgr.find(req) is u
    cancel = Request("CANCEL", "sip:bob@biloxi.example.com", headers=[
        ("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"), ("Max-Forwards", "70"),
        ("To", "Bob <sip:bob@biloxi.example.com>"),
        ("From", "Alice <sip:alice@atlanta.example.com>;tag=1928301774"),
        ("Call-ID", req.call_id), ("CSeq", "314159 CANCEL")])
    assert mgr.find(cancel) is u
    assert mgr.get("%s;8d3b7f2e;1928301774" % req.call_id) is u


def test_fork_sibling_joins_the_manager_and_overwrites_nothing():
    # RFC 3261 12.1.2 and 13.2.2.4: each To tag of a forked INVITE is its own dialog
    mgr = DialogManager()
    req = invite()
    d = Dialog.from_uac(req)
    mgr.add(d)
    d.receive(response(req, 180, "b1"))
    second = response(req, 183, "c2")
    assert mgr.find(second) is None  # no dialog has that tag yet
    sib = mgr.find_by_call_id(req.call_id)[0].fork(second)
    assert len(mgr) == 2
    assert mgr.find(second) is sib and mgr.get(sib.id) is sib
    assert mgr.get(d.id) is d
    assert {x.id for x in mgr.find_by_call_id(req.call_id)} == {d.id, sib.id}
    assert mgr.find_by_call_id("unknown") == []


def test_find_by_tags_in_both_orientations():
    # RFC 3891 3: Replaces names the dialog with tags from the sender's side
    mgr = DialogManager()
    d = confirmed()
    mgr.add(d)
    assert mgr.find_by_tags(d.call_id, d.local_tag, d.remote_tag) is d
    assert mgr.find_by_tags(d.call_id, d.remote_tag, d.local_tag) is d
    assert mgr.find_by_tags(d.call_id, d.local_tag, "x") is None
    assert mgr.find_by_tags(call_id=d.call_id, tag_a=d.remote_tag, tag_b=d.local_tag) is d


# ---- the live view, removal, tombstones -------------------------------------------

def test_a_dialog_that_ends_leaves_at_once_and_is_remembered():
    # RFC 3261 15.1.2: a BYE terminates the dialog; a retransmitted BYE still gets its 200
    mgr = DialogManager()
    d = confirmed()
    mgr.add(d)
    bye = bye_from_callee(d)
    ok = d.receive(bye, auto_answer=True)
    assert ok.status_code == 200 and d.state is S.TERMINATED
    assert len(mgr) == 0 and d.id not in mgr and mgr.find(bye) is None and list(mgr) == []
    info = mgr.ended(d.call_id, d.remote_tag, d.local_tag)
    assert info["reason"] == "bye-received" and info["state"] is S.TERMINATED
    late = mgr.late_response(bye)
    assert late.status_code == 200 and late.to_tag == d.local_tag
    info_other = mgr.late_response(parse_replace(bye, "BYE", "INFO"))
    assert info_other.status_code == 481
    st = mgr.stats()
    assert st["tombstones"] == 1 and st["dialogs"] == 0 and st["removed"] == 1


def test_replaces_naming_an_ended_dialog_gets_603():
    # RFC 3891 3: "If the Replaces header field matches a dialog which has already
    # terminated, the UA SHOULD decline the request with a 603 Declined response."
    mgr = DialogManager()
    d = confirmed()
    mgr.add(d)
    d.close()
    newinv = invite(call_id="new-call", ftag="77", extra=[
        ("Replaces", "%s;to-tag=%s;from-tag=%s" % (d.call_id, d.local_tag, d.remote_tag))])
    assert mgr.late_response(newinv).status_code == 603
    fresh = invite(call_id="new-call-2", ftag="78", extra=[("Replaces", "zzz;to-tag=a;from-tag=b")])
    assert mgr.late_response(fresh) is None


def test_tombstones_expire():
    mgr = DialogManager(tombstone_time=0.05)
    d = confirmed()
    mgr.add(d)
    d.close()
    assert mgr.ended(d.call_id, d.local_tag, d.remote_tag) is not None
    import time
    time.sleep(0.08)
    assert mgr.ended(d.call_id, d.local_tag, d.remote_tag) is None
    assert mgr.stats()["tombstones"] == 0 and "0 ended recently" in repr(mgr)
    assert DialogManager(tombstone_time=0).tombstone_time == 0.0


def test_remove_by_object_or_id():
    mgr = DialogManager()
    a, b = confirmed(call_id="a"), confirmed(call_id="b")
    mgr.add(a)
    mgr.add(b)
    mgr.remove(a)
    mgr.remove(b.id)
    assert len(mgr) == 0 and a.state is S.CONFIRMED  # still usable
    with pytest.raises(DialogNotFound):
        mgr.remove(a)
    with pytest.raises(DialogNotFound):
        mgr.remove("x;y;z")
    mgr.add(a)  # may come back
    assert mgr.get(a.id) is a


# ---- bounds --------------------------------------------------------------------------

def test_max_dialogs_exact_boundary_and_503():
    # RFC 3261 21.5.4: 503 with Retry-After when overloaded
    mgr = DialogManager(max_dialogs=3, retry_after=7)
    ds = [confirmed(call_id="m%d" % i) for i in range(4)]
    for x in ds[:3]:
        mgr.add(x)
    with pytest.raises(OverloadError, match="maximum of 3"):
        mgr.add(ds[3])
    assert len(mgr) == 3 and ds[3] not in mgr and mgr.stats()["rejected_overload"] == 1
    r = mgr.overload_response(invite(call_id="m9"))
    assert r.status_code == 503 and r.headers["Retry-After"] == "7"
    mgr.remove(ds[0])
    mgr.add(ds[3])
    assert len(mgr) == 3


def test_max_per_call():
    mgr = DialogManager(max_per_call=2)
    mgr.add(confirmed(ttag="t1"))
    mgr.add(confirmed(ttag="t2"))
    with pytest.raises(LimitError):
        mgr.add(confirmed(ttag="t3"))
    assert len(mgr) == 2


@pytest.mark.parametrize("kw", [dict(shards=3), dict(shards=0), dict(max_dialogs=0), dict(max_per_call=0),
                                dict(tombstone_time=-1), dict(retry_after=-1)])
def test_bad_options(kw):
    with pytest.raises(ValueError):
        DialogManager(**kw)


# ---- iteration, snapshot, stats, close -------------------------------------------

def test_iteration_is_a_snapshot_and_snapshot_is_json():
    mgr = DialogManager(shards=4)
    ds = [confirmed(call_id="it%d" % i) for i in range(50)]
    for x in ds:
        mgr.add(x)
    seen = []
    for x in mgr:  # ending dialogs while iterating is fine: the list was taken first
        seen.append(x)
        x.close()
    assert {x.id for x in seen} == {x.id for x in ds} and len(mgr) == 0
    mgr2 = DialogManager()
    for x in [confirmed(call_id="s%d" % i) for i in range(3)]:
        mgr2.add(x)
    snap = mgr2.snapshot()
    assert len(snap) == 3 and json.loads(json.dumps(snap)) == snap
    assert {s["call_id"] for s in snap} == {"s0", "s1", "s2"}


def test_stats_counts_and_repr():
    mgr = DialogManager(shards=8)
    req = invite(call_id="early")
    e = Dialog.from_uac(req)
    e.receive(response(req, 180, "x"))
    mgr.add(e)
    mgr.add(confirmed(call_id="conf"))
    mgr.get("nope;a;b")
    st = mgr.stats()
    assert st["dialogs"] == 2 and st["by_state"]["early"] == 1 and st["by_state"]["confirmed"] == 1
    assert len(st["shards"]) == 8 and sum(s["dialogs"] for s in st["shards"]) == 2
    assert st["misses"] == 1 and st["lookups"] >= 1 and st["added"] == 2
    assert 0 < st["load_factor"] < 1 and st["longest_probe"] >= 1
    assert repr(mgr) == "<DialogManager 2 dialogs (early 1, confirmed 1), 0 ended recently, 8 shards>"


def test_close_closes_everything_and_is_idempotent():
    seen = []
    with DialogManager() as mgr:
        ds = [confirmed(call_id="c%d" % i) for i in range(10)]
        for x in ds:
            x.on_state_change(lambda dlg, t: seen.append(t.reason))
            mgr.add(x)
    assert mgr.closed and all(x.state is S.TERMINATED for x in ds)
    assert seen == ["close"] * 10
    mgr.close()
    assert repr(mgr) == "<DialogManager closed>" and len(mgr) == 0
    with pytest.raises(ClosedError):
        mgr.add(confirmed(call_id="late"))
    with pytest.raises(ClosedError):
        mgr.get("a;b;c")
    with pytest.raises(ClosedError):
        mgr.find(invite())


def test_dropping_the_manager_closes_its_dialogs():
    mgr = DialogManager()
    d = confirmed()
    mgr.add(d)
    del mgr
    gc.collect()
    assert d.state is S.TERMINATED


def test_a_callback_may_use_the_manager_from_inside():
    # callbacks run with no store lock held: looking up, removing, adding is fine
    mgr = DialogManager()
    d = confirmed()
    other = confirmed(call_id="other")
    got = []

    def cb(dlg, t):
        got.append((dlg.id in mgr, len(mgr), mgr.get(other.id) is other))
        mgr.add(confirmed(call_id="from-callback"))

    d.on_state_change(cb)
    mgr.add(d)
    mgr.add(other)
    d.close()
    assert got == [(False, 1, True)]
    assert len(mgr) == 2


# ---- threads ---------------------------------------------------------------------

def test_threads_counts_add_up():
    # 8 threads add (before the first tagged response), look up, re-key and remove
    mgr = DialogManager(shards=16)
    n_threads, per = 8, 400
    added = [0] * n_threads
    removed = [0] * n_threads
    ended = [0] * n_threads
    errors = []

    def work(k):
        try:
            for i in range(per):
                req = invite(call_id="t%d-%d" % (k, i), ftag="f%d" % k)
                d = Dialog.from_uac(req)
                mgr.add(d)
                added[k] += 1
                assert mgr.find(response(req, 180, "r%d" % i)) is d
                d.receive(response(req, 200, "r%d" % i))  # re-key
                assert mgr.get(d.id) is d
                assert mgr.get(d.id[: -len("r%d" % i)]) is None
                if i % 3 == 0:
                    mgr.remove(d)
                    removed[k] += 1
                elif i % 3 == 1:
                    d.close()
                    ended[k] += 1
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []
    live = sum(added) - sum(removed) - sum(ended)
    st = mgr.stats()
    assert len(mgr) == live == st["dialogs"] == st["by_state"]["confirmed"] == len(list(mgr))
    assert st["added"] == sum(added) and st["removed"] == sum(removed) + sum(ended)
    assert st["rekeyed"] == sum(added) and st["tombstones"] == sum(ended)
    for x in mgr:
        assert mgr.get(x.id) is x and x in mgr.find_by_call_id(x.call_id)
        assert mgr.find_by_tags(x.call_id, x.remote_tag, x.local_tag) is x


def test_html_view_lists_counts_and_dialogs():
    mgr = DialogManager()
    for i in range(3):
        mgr.add(confirmed(call_id="h%d" % i))
    page = mgr._repr_html_()
    assert "3 dialogs" in page and page.count("<code>h") == 3 and "confirmed" in page
    assert "closed" in (lambda m: (m.close(), m._repr_html_())[1])(mgr)
