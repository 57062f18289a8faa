"""Stateful property test (hypothesis) of sipdialog.DialogManager against a
plain-Python model.

A manager with small bounds (6 dialogs, 3 per Call-ID, 2 or 4 shards) is
filled with UAC dialogs made from INVITEs (added in state NONE, before any
tagged response) and UAS dialogs made with Dialog.from_uas. Call-IDs and
tags come from small pools, so calls collide, forks happen, tags repeat in
both orientations and the bounds are hit often. Rules then re-key dialogs
(the first tagged response), fork them, end them (486, BYE, close, a UAS
reject), take them out (remove), put them back, and look them up by
message, ID, Call-ID and tags.

The model is written from the contract (DialogManager's docstrings and
sipdialog/store.h), not from the C code:

* the live view is a dict ID -> Dialog: a dialog that ends (TERMINATED or
  closed) leaves it in the same step and its ID becomes a tombstone
  (mgr.ended() in either orientation, late_response: 200 for a BYE, 481
  for anything else); a removed dialog leaves it without a tombstone and
  stays usable (it may be added again);
* re-keying (NONE -> tagged) replaces the ID "cid;ltag;" by
  "cid;ltag;rtag" in one step, and no two live dialogs ever share an ID;
* add and fork refuse, with nothing changed: a dialog or an ID that is
  there already (DialogStateError), max_per_call dialogs of one Call-ID
  (LimitError), max_dialogs live dialogs (OverloadError), a terminated
  dialog (DialogStateError), a closed one (ClosedError);
* find(message): a request by (Call-ID, To tag, From tag), a request
  without To tag the UAS dialog it created (remote tag = its From tag), a
  response by (Call-ID, From tag, To tag), else our dialog still waiting
  for its first tagged response; a fork's response finds nothing;
* find_by_tags: local=a remote=b first, then local=b remote=a;
* stats() agrees with the model: dialogs, by_state, added, removed,
  rekeyed, rejections;
* close() ends every dialog the manager holds (and only those), and every
  later call raises ClosedError or finds nothing.

Tombstones are kept for an hour here (tombstone_time) so none expires
during a run; expiry and the oldest-first bound are example tests below.

The profile follows SIPDIALOG_HYPOTHESIS_PROFILE like the other property
files: "...-thorough" runs 20 times as many examples, "...-ci" derandomizes.
"""
from __future__ import annotations

import itertools
import json
import time

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import event  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule  # noqa: E402

from hypothesis_profile import stateful_settings  # noqa: E402

from sipdialog import (  # noqa: E402
    ClosedError, Dialog, DialogManager, DialogNotFound, DialogState, DialogStateError, LimitError,
    OverloadError, Request,
)

# ---------------------------------------------------------------------------
# profile

SETTINGS = stateful_settings(step_count=30)

# ---------------------------------------------------------------------------
# messages

MAX_DIALOGS, MAX_PER_CALL = 6, 3
CALL_IDS = ["c1@pc33.atlanta.example.com", "c2@pc33.atlanta.example.com", "c3@pc33.atlanta.example.com"]
TAGS = ["t1", "t2", "t3", "t4"]  # one pool for every role: tags repeat in both orientations
INVITE_CSEQ = 314159
UAS_CONTACT = "sip:bob@192.0.2.4"

NONE, EARLY, CONFIRMED, TERMINATED = "none", "early", "confirmed", "terminated"
STATES = ("none", "early", "confirmed", "terminating", "terminated")


def request(method, call_id, from_tag, to_tag=None, cseq=None):
    """A request with these dialog fields (no To tag when to_tag is None)."""
    to = "Bob <sip:bob@biloxi.example.com>" + (";tag=%s" % to_tag if to_tag is not None else "")
    h = [("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"), ("Max-Forwards", "70"),
         ("To", to), ("From", "Alice <sip:alice@atlanta.example.com>;tag=%s" % from_tag),
         ("Call-ID", call_id), ("CSeq", "%d %s" % (cseq or INVITE_CSEQ, method)),
         ("Contact", "<sip:alice@pc33.atlanta.example.com>")]
    return Request(method, "sip:bob@biloxi.example.com", headers=h)


def answer(req, status, to_tag):
    """A response to req, with to_tag as its To tag (None: untagged)."""
    if to_tag is None:
        return req.create_response(status)
    return req.create_response(status, to_tag=to_tag, headers=[("Contact", "<%s>" % UAS_CONTACT)])


def from_peer(method, call_id, local_tag, remote_tag):
    """An in-dialog request the peer of a dialog sends (From: its tag, To: ours)."""
    return request(method, call_id, remote_tag, local_tag, cseq=INVITE_CSEQ + 1000)


# ---------------------------------------------------------------------------
# example tests: what the machine found, reduced, and what it leaves out


def uac_in(mgr, call_id, tag):
    inv = request("INVITE", call_id, tag)
    d = Dialog.from_uac(inv)
    mgr.add(d)
    return d, inv


def test_rekey_never_takes_the_id_of_another_live_dialog():
    # store.h: no two live dialogs with one ID (sd_store_add refuses a twin with
    # SD_EEXIST; sd_store_check). A NONE dialog whose first tagged response would
    # give it the ID of a dialog already there (its own fork, here) must refuse it
    # and change nothing; it used to take the ID, leaving two live dialogs with it.
    mgr = DialogManager(shards=2)
    d, inv = uac_in(mgr, CALL_IDS[0], "t1")
    ringing = answer(inv, 180, "t2")
    sib = d.fork(ringing)
    assert sib in mgr and mgr.find(ringing) is sib  # the response is the sibling's
    with pytest.raises(DialogStateError, match="in the store already"):
        d.receive(ringing)
    assert d.state is DialogState.NONE and d.id == CALL_IDS[0] + ";t1;"
    assert sorted(x.id for x in mgr) == sorted([d.id, sib.id]) and mgr.stats()["rekeyed"] == 0
    # the same with a UAS dialog whose local tag is the UAC's and remote tag the new one
    mgr2 = DialogManager(shards=2)
    mgr2.add(Dialog.from_uas(request("INVITE", CALL_IDS[1], "t2"), local_contact=UAS_CONTACT, local_tag="t1"))
    d2, inv2 = uac_in(mgr2, CALL_IDS[1], "t1")
    with pytest.raises(DialogStateError):
        d2.receive(answer(inv2, 200, "t2"))
    assert len({x.id for x in mgr2}) == len(mgr2) == 2
    # out of any store nothing collides: a dialog takes any tag
    loose = Dialog.from_uac(request("INVITE", CALL_IDS[0], "t1"))
    assert loose.receive(answer(inv, 180, "t2")) is None and loose.id == sib.id


def test_untagged_response_finds_only_the_dialog_still_waiting():
    # store.h, sd_store_find: "Response: From tag = our local tag; the exact dialog
    # for its To tag, else our dialog still waiting for its first tagged response."
    # An untagged 100 after the re-key (or one whose From tag is a UAS dialog's
    # local tag) used to find any dialog with that local tag.
    mgr = DialogManager(shards=2)
    d, inv = uac_in(mgr, CALL_IDS[0], "t1")
    trying = answer(inv, 100, None)
    assert mgr.find(trying) is d
    d.receive(answer(inv, 180, "t2"))
    assert mgr.find(trying) is None
    u = Dialog.from_uas(request("INVITE", CALL_IDS[1], "t2"), local_contact=UAS_CONTACT, local_tag="t1")
    mgr.add(u)
    assert mgr.find(answer(request("INVITE", CALL_IDS[1], "t1"), 100, None)) is None
    assert mgr.find(answer(request("INFO", CALL_IDS[1], "t1"), 200, "t2")) is u  # tagged: by its ID


def test_request_without_to_tag_finds_only_a_uas_dialog():
    # store.h, sd_store_find: "a request without a To tag (a retransmitted creating
    # INVITE, its CANCEL) finds the UAS dialog it created (remote tag = its From
    # tag)". It used to find a UAC dialog whose remote tag is that From tag too.
    mgr = DialogManager(shards=2)
    d, inv = uac_in(mgr, CALL_IDS[0], "t1")
    d.receive(answer(inv, 200, "t2"))
    again = request("INVITE", CALL_IDS[0], "t2")
    assert mgr.find(again) is None and mgr.find(request("CANCEL", CALL_IDS[0], "t2")) is None
    u = Dialog.from_uas(again, local_contact=UAS_CONTACT, local_tag="t3")
    mgr.add(u)
    assert mgr.find(again) is u and mgr.find(request("CANCEL", CALL_IDS[0], "t2")) is u


def test_max_tombstones_bounds_the_whole_manager():
    # store.h, sd_store_opts.max_tombstones: at most that many IDs in the whole
    # store; a full store makes room in the ending dialog's shard only (its
    # oldest goes), and a shard with none to give keeps nothing new
    mgr = DialogManager(shards=64, max_tombstones=2, tombstone_time=3600.0)
    ds = []
    for i in range(5):
        d, inv = uac_in(mgr, "bound-%d@pc33.atlanta.example.com" % i, "t1")
        d.receive(answer(inv, 200, "t2"))
        ds.append(d)
    for d in ds:
        d.close()
        assert mgr.stats()["tombstones"] <= 2
    remembered = [mgr.ended(d.call_id, d.local_tag, d.remote_tag) is not None for d in ds]
    assert sum(remembered) == 2 and remembered[0]  # the first went in while there was room


def test_max_tombstones_forgets_the_oldest_first():
    # store.h: the oldest tombstones go first (one shard: its order is the manager's)
    mgr = DialogManager(shards=1, max_tombstones=2, tombstone_time=3600.0)
    ds = [uac_in(mgr, c, "t1")[0] for c in CALL_IDS]
    for d in ds:
        d.close()
    assert [mgr.ended(d.call_id, d.local_tag, "") is not None for d in ds] == [False, True, True]
    assert mgr.stats()["tombstones"] == 2


def test_tombstones_expire_for_ended_and_late_response():
    mgr = DialogManager(tombstone_time=0.05)
    d, inv = uac_in(mgr, CALL_IDS[0], "t1")
    d.receive(answer(inv, 200, "t2"))
    bye = from_peer("BYE", d.call_id, d.local_tag, d.remote_tag)
    assert d.receive(bye, auto_answer=True).status_code == 200
    assert mgr.late_response(bye).status_code == 200
    time.sleep(0.08)
    assert mgr.ended(d.call_id, "t1", "t2") is None and mgr.late_response(bye) is None


# ---------------------------------------------------------------------------
# the machine


class Rec:
    """What the model knows of one Dialog object."""

    made = itertools.count()  # creation order: how rules pick (a random UAS tag must not change the choice)

    def __init__(self, d, role, call_id, local_tag, remote_tag, state, inv=None):
        self.n = next(Rec.made)
        self.d, self.role, self.inv = d, role, inv
        self.call_id, self.local_tag, self.remote_tag = call_id, local_tag, remote_tag
        self.state = state
        self.closed = False
        self.answered = False  # UAS: the creating INVITE got its final response

    @property
    def id(self):
        return "%s;%s;%s" % (self.call_id, self.local_tag, self.remote_tag or "")

    @property
    def key(self):
        return (self.call_id, self.local_tag, self.remote_tag or "")


class ManagerModel(RuleBasedStateMachine):
    """A DialogManager, the Dialog objects in and out of it, and their model."""

    def __init__(self):
        super().__init__()
        self.mgr = None
        self.generation = 0

    # -- setup

    @initialize(shards=st.sampled_from([2, 4]))
    def start(self, shards):
        self.shards = shards
        self.fresh()

    def fresh(self):
        self.mgr = DialogManager(shards=self.shards, max_dialogs=MAX_DIALOGS, max_per_call=MAX_PER_CALL,
                                 tombstone_time=3600.0, max_tombstones=10000)
        self.live = {}  # id -> Rec, the live view
        if self.generation == 0:
            self.loose = []  # Recs out of the manager and still usable (removed, refused): they may join it
            self.dead = []  # Recs out of the manager that ended
        self.ended = {}  # (call_id, local, remote) -> times ended (tombstones)
        self.counts = dict(added=0, removed=0, rekeyed=0, rejected_overload=0, rejected_per_call=0,
                           rejected_exists=0)
        self.generation += 1

    # -- model helpers

    def per_call(self, call_id):
        return sum(1 for r in self.live.values() if r.call_id == call_id)

    def refusals(self, rec_id, call_id, same_object=False):
        """What add/fork may raise for a dialog with this ID: {exception: counter}."""
        out = {}
        if same_object or rec_id in self.live:
            out[DialogStateError] = "rejected_exists"
        if self.per_call(call_id) >= MAX_PER_CALL:
            out[LimitError] = "rejected_per_call"
        if len(self.live) >= MAX_DIALOGS:
            out[OverloadError] = "rejected_overload"
        return out

    def try_join(self, call, rec, same_object=False):
        """Run call() (an add or a fork that joins `rec` to the manager) and check it against the bounds."""
        expect = self.refusals(rec.id, rec.call_id, same_object)
        before = self.census()
        if expect:
            with pytest.raises(tuple(expect)) as ei:
                call()
            self.counts[expect[type(ei.value)]] += 1
            event("refused: " + type(ei.value).__name__)
            assert self.census() == before  # nothing changed
            return None
        got = call()
        self.live[rec.id] = rec
        self.counts["added"] += 1
        return got

    def census(self):
        return sorted(d.id for d in self.mgr), len(self.mgr)

    def leave(self, rec, tombstone):
        """rec left the live view: it ended (tombstone) or was removed."""
        assert self.live.pop(rec.id) is rec
        self.counts["removed"] += 1
        if tombstone:
            self.ended[rec.key] = self.ended.get(rec.key, 0) + 1
            self.dead.append(rec)
        else:
            self.loose.append(rec)

    def end_outside(self, rec):
        self.loose.remove(rec)
        self.dead.append(rec)

    def where(self, rec):
        return "live" if self.live.get(rec.id) is rec else "loose" if rec in self.loose else "dead"

    def terminate(self, rec):
        rec.state = TERMINATED
        if self.where(rec) == "live":
            self.leave(rec, tombstone=True)
        elif self.where(rec) == "loose":
            self.end_outside(rec)

    def is_ended(self, call_id, a, b):
        return (call_id, a, b) in self.ended or (call_id, b, a) in self.ended

    def expect_find(self, msg_kind, call_id, from_tag, to_tag):
        """The dialog find() must return (a set of allowed Recs; empty: None)."""
        if msg_kind == "request":
            if to_tag is not None:
                r = self.live.get("%s;%s;%s" % (call_id, to_tag, from_tag))
                return {r} if r else set()
            # the UAS dialog the request created: remote tag = its From tag
            return {r for r in self.live.values()
                    if r.role == "uas" and r.call_id == call_id and r.remote_tag == from_tag}
        r = self.live.get("%s;%s;%s" % (call_id, from_tag, to_tag or ""))
        if r is None:
            r = self.live.get("%s;%s;" % (call_id, from_tag))  # still waiting for its first tagged response
        return {r} if r else set()

    def check_find(self, msg, expect):
        got = self.mgr.find(msg)
        event("find: " + ("hit" if expect else "none"))
        if expect:
            assert any(got is r.d for r in expect), (bytes(msg), got and got.id, [r.id for r in expect])
        else:
            assert got is None, (bytes(msg), got.id)  # names no live dialog, or a fork's response

    def pick(self, recs, which):
        recs = sorted(recs, key=lambda r: r.n)
        return recs[which % len(recs)] if recs else None

    def live_where(self, which, cond):
        return self.pick([r for r in self.live.values() if cond(r)], which)

    def usable(self):
        """Every Dialog not ended: in the manager or out of it."""
        return list(self.live.values()) + self.loose

    # -- creating and adding

    @rule(call_id=st.sampled_from(CALL_IDS), ftag=st.sampled_from(TAGS))
    def add_uac(self, call_id, ftag):
        inv = request("INVITE", call_id, ftag)
        d = Dialog.from_uac(inv)
        assert d.state is DialogState.NONE and d.id == "%s;%s;" % (call_id, ftag)
        rec = Rec(d, "uac", call_id, ftag, None, NONE, inv)
        self.try_join(lambda: self.mgr.add(d), rec)
        if self.live.get(rec.id) is not rec:
            self.loose.append(rec)

    @rule(call_id=st.sampled_from(CALL_IDS), ftag=st.sampled_from(TAGS),
          ltag=st.one_of(st.sampled_from(TAGS), st.none()))
    def add_uas(self, call_id, ftag, ltag):
        inv = request("INVITE", call_id, ftag)
        d = Dialog.from_uas(inv, local_contact=UAS_CONTACT, local_tag=ltag)
        rec = Rec(d, "uas", call_id, d.local_tag, ftag, NONE, inv)
        assert d.id == rec.id and d.state is DialogState.NONE
        self.try_join(lambda: self.mgr.add(d), rec)
        if self.live.get(rec.id) is not rec:
            self.loose.append(rec)

    @precondition(lambda self: self.live)
    @rule(which=st.integers(0, 20))
    def add_again(self, which):
        """A live dialog added again: refused (DialogStateError), nothing changes."""
        rec = self.live_where(which, lambda r: True)
        before = self.census()
        with pytest.raises(DialogStateError):
            self.mgr.add(rec.d)
        self.counts["rejected_exists"] += 1
        assert self.census() == before

    @precondition(lambda self: self.loose)
    @rule(which=st.integers(0, 20))
    def add_loose(self, which):
        """A removed (or refused) dialog comes back, subject to the bounds."""
        rec = self.pick(self.loose, which)
        self.try_join(lambda: self.mgr.add(rec.d), rec)
        if self.live.get(rec.id) is rec:
            self.loose.remove(rec)

    @precondition(lambda self: self.dead)
    @rule(which=st.integers(0, 20))
    def add_dead(self, which):
        """An ended dialog cannot be added: ClosedError when closed, else DialogStateError."""
        rec = self.pick(self.dead, which)
        before = self.census()
        with pytest.raises(ClosedError if rec.closed else DialogStateError):
            self.mgr.add(rec.d)
        assert self.census() == before

    # -- responses to our INVITEs: re-keying, forks, failures

    @precondition(lambda self: any(r.role == "uac" and r.state == NONE for r in self.usable()))
    @rule(which=st.integers(0, 20), status=st.sampled_from([180, 183, 200, 486]), ttag=st.sampled_from(TAGS))
    def first_response(self, which, status, ttag):
        """The first tagged response to a NONE UAC dialog (in the manager or out of it)."""
        rec = self.pick([r for r in self.usable() if r.role == "uac" and r.state == NONE], which)
        resp = answer(rec.inv, status, ttag)
        inside = self.where(rec) == "live"
        if inside:
            self.check_find(resp, self.expect_find("response", rec.call_id, rec.local_tag, ttag))
        if status >= 300:
            assert rec.d.receive(resp) is None
            assert rec.d.state is DialogState.TERMINATED
            self.terminate(rec)  # 12.3: a failure ends the dialog (its ID stays "cid;ltag;")
            return
        new_id = "%s;%s;%s" % (rec.call_id, rec.local_tag, ttag)
        if inside and new_id in self.live:
            # another live dialog has the ID this one would take: it must not
            # take it (no two live dialogs share an ID), and nothing changes
            before = self.census()
            with pytest.raises(DialogStateError):
                rec.d.receive(resp)
            assert self.census() == before and rec.d.state is DialogState.NONE
            event("re-key refused: the ID is taken")
            return
        old_id = rec.id
        assert rec.d.receive(resp) is None
        rec.remote_tag = ttag
        rec.state = EARLY if status < 200 else CONFIRMED
        assert rec.d.id == new_id
        if inside:
            del self.live[old_id]
            self.live[new_id] = rec
            self.counts["rekeyed"] += 1
            event("re-keyed")
            assert self.mgr.get(old_id) is None and self.mgr.get(new_id) is rec.d  # one step
            assert self.mgr.find(resp) is rec.d

    @precondition(lambda self: any(r.role == "uac" and r.state in (EARLY, CONFIRMED) for r in self.live.values()))
    @rule(which=st.integers(0, 20), status=st.sampled_from([180, 200, 486]))
    def next_response(self, which, status):
        """A later response with the dialog's own To tag: 180 stays early, 200 confirms, 486 ends an early one."""
        rec = self.live_where(which, lambda r: r.role == "uac" and r.state in (EARLY, CONFIRMED))
        if rec.state == CONFIRMED and status != 200:
            status = 200  # a retransmitted 2xx changes nothing
        resp = answer(rec.inv, status, rec.remote_tag)
        assert self.mgr.find(resp) is rec.d
        assert rec.d.receive(resp) is None
        if status >= 300:
            assert rec.d.state is DialogState.TERMINATED
            self.terminate(rec)
        elif status >= 200:
            rec.state = CONFIRMED
        assert rec.d.state.value == rec.state

    @precondition(lambda self: any(r.role == "uac" and r.state in (EARLY, CONFIRMED) for r in self.usable()))
    @rule(which=st.integers(0, 20), status=st.sampled_from([180, 183, 200]), ttag=st.sampled_from(TAGS))
    def fork(self, which, status, ttag):
        """A response with another To tag to an early or confirmed dialog: receive refuses it, fork makes
        a sibling that joins the manager of its parent (subject to the bounds)."""
        rec = self.pick([r for r in self.usable() if r.role == "uac" and r.state in (EARLY, CONFIRMED)
                         and r.remote_tag != ttag], which)
        if rec is None:
            return
        resp = answer(rec.inv, status, ttag)
        inside = self.where(rec) == "live"
        event("fork " + ("inside" if inside else "outside"))
        if inside:
            self.check_find(resp, self.expect_find("response", rec.call_id, rec.local_tag, ttag))
        before = self.census()
        with pytest.raises(DialogStateError):
            rec.d.receive(resp)  # not this dialog's tag: fork() it
        assert self.census() == before and rec.d.state.value == rec.state
        sib = Rec(None, "uac", rec.call_id, rec.local_tag, ttag, EARLY if status < 200 else CONFIRMED, rec.inv)
        if not inside:
            sib.d = rec.d.fork(resp)
            self.loose.append(sib)
            assert self.census() == before and sib.d not in self.mgr
        else:
            sib.d = self.try_join(lambda: rec.d.fork(resp), sib)
            if sib.d is None:
                return
            assert self.mgr.get(sib.id) is sib.d and self.mgr.find(resp) is sib.d
            event("fork joined")
        assert sib.d.id == sib.id and sib.d.state.value == sib.state
        assert rec.d.state.value == rec.state and rec.d.remote_tag == rec.remote_tag  # the parent is unchanged

    # -- the UAS side answers its creating INVITE

    @precondition(lambda self: any(r.role == "uas" and not r.answered for r in self.live.values()))
    @rule(which=st.integers(0, 20), kind=st.sampled_from(["provisional", "answer", "reject"]))
    def uas_responds(self, which, kind):
        rec = self.live_where(which, lambda r: r.role == "uas" and not r.answered)
        if kind == "provisional":
            assert rec.d.provisional(180).status_code == 180
            rec.state = EARLY
        elif kind == "answer":
            assert rec.d.answer(200).status_code == 200
            rec.state, rec.answered = CONFIRMED, True
        else:
            assert rec.d.reject(486).status_code == 486
            rec.answered = True
            assert rec.d.state is DialogState.TERMINATED
            self.terminate(rec)
        assert rec.d.state.value == rec.state

    # -- ending and removing

    @precondition(lambda self: any(r.state == CONFIRMED for r in self.live.values()))
    @rule(which=st.integers(0, 20))
    def bye_received(self, which):
        """12.2.2 / 15.1.2: the peer's BYE ends a confirmed dialog; it leaves and is remembered."""
        rec = self.live_where(which, lambda r: r.state == CONFIRMED)
        bye = from_peer("BYE", rec.call_id, rec.local_tag, rec.remote_tag)
        assert self.mgr.find(bye) is rec.d
        late = self.mgr.late_response(bye)
        if self.is_ended(rec.call_id, rec.local_tag, rec.remote_tag):
            assert late is not None and late.status_code == 200  # an earlier dialog with this ID ended
        else:
            assert late is None  # a live dialog is no late request's business
        ok = rec.d.receive(bye, auto_answer=True)
        assert ok is not None and ok.status_code == 200
        assert rec.d.state is DialogState.TERMINATED
        self.terminate(rec)
        assert self.mgr.find(bye) is None
        again = self.mgr.late_response(bye)  # the retransmission whose 200 was lost
        assert again.status_code == 200 and again.to_tag == rec.local_tag
        info = self.mgr.ended(rec.call_id, rec.remote_tag, rec.local_tag)
        assert info is not None and info["state"] is DialogState.TERMINATED

    @precondition(lambda self: self.usable())
    @rule(which=st.integers(0, 20))
    def close_dialog(self, which):
        rec = self.pick(self.usable(), which)
        rec.d.close()
        rec.closed = True
        assert rec.d.state is DialogState.TERMINATED and rec.d.closed
        self.terminate(rec)  # a closed dialog in the manager is remembered; one out of it is not
        rec.d.close()  # idempotent

    @precondition(lambda self: self.live)
    @rule(which=st.integers(0, 20), by_id=st.booleans())
    def remove(self, which, by_id):
        rec = self.live_where(which, lambda r: True)
        self.mgr.remove(rec.id if by_id else rec.d)
        self.leave(rec, tombstone=False)  # removed: not remembered, still usable
        assert rec.d.state.value == rec.state
        with pytest.raises(DialogNotFound):
            self.mgr.remove(rec.d)

    @rule(call_id=st.sampled_from(CALL_IDS), a=st.sampled_from(TAGS + [""]), b=st.sampled_from(TAGS + [""]),
          which=st.integers(0, 20), by_id=st.booleans())
    def remove_absent(self, call_id, a, b, which, by_id):
        """Removing what is not in the manager: DialogNotFound, nothing changes."""
        rec = self.pick(self.loose + self.dead, which)
        if by_id or rec is None:
            x = "%s;%s;%s" % (call_id, a, b)
            if x in self.live:
                return
        else:
            x = rec.d
        before = self.census()
        with pytest.raises(DialogNotFound):
            self.mgr.remove(x)
        assert self.census() == before

    # -- look-ups by message

    @rule(which=st.integers(0, 20), aim=st.sampled_from(["live", "dead", "loose", "any"]),
          kind=st.sampled_from(["response", "response-untagged", "request", "request-untagged"]),
          method=st.sampled_from(["INVITE", "CANCEL", "BYE", "INFO"]),
          call_id=st.sampled_from(CALL_IDS), a=st.sampled_from(TAGS), b=st.sampled_from(TAGS))
    def find(self, which, aim, kind, method, call_id, a, b):
        """find(message) for a message naming a live dialog, an ended or removed one, or anything."""
        pool = {"live": list(self.live.values()), "dead": self.dead, "loose": self.loose, "any": []}[aim]
        rec = self.pick(pool, which)
        if rec is not None:
            call_id, a, b = rec.call_id, rec.local_tag, rec.remote_tag or b
        # a: our tag, b: the peer's
        if kind == "response":
            msg, expect = answer(request(method, call_id, a), 180 if method == "INVITE" else 200, b), \
                self.expect_find("response", call_id, a, b)
        elif kind == "response-untagged":
            # RFC 3261 8.2.6.2: a 100 may come without a To tag
            if method != "INVITE":
                return
            msg, expect = answer(request(method, call_id, a), 100, None), \
                self.expect_find("response", call_id, a, None)
        elif kind == "request":
            msg, expect = from_peer(method, call_id, a, b), self.expect_find("request", call_id, b, a)
        else:
            if method not in ("INVITE", "CANCEL"):
                return
            msg, expect = request(method, call_id, b), self.expect_find("request", call_id, b, None)
        self.check_find(msg, expect)

    @rule(which=st.integers(0, 20), aim=st.sampled_from(["live", "dead", "loose", "any"]),
          method=st.sampled_from(["BYE", "INFO", "ACK"]), call_id=st.sampled_from(CALL_IDS),
          a=st.sampled_from(TAGS), b=st.sampled_from(TAGS), swap=st.booleans())
    def late_response(self, which, aim, method, call_id, a, b, swap):
        """200 for a BYE naming an ended dialog, 481 for anything else but an ACK; None when nothing ended."""
        pool = {"live": list(self.live.values()), "dead": self.dead, "loose": self.loose, "any": []}[aim]
        rec = self.pick([r for r in pool if r.remote_tag], which)
        if rec is not None:
            call_id, a, b = rec.call_id, rec.local_tag, rec.remote_tag
        if swap:
            a, b = b, a
        req = from_peer(method, call_id, a, b)
        got = self.mgr.late_response(req)
        if method == "ACK" or not self.is_ended(call_id, a, b):
            assert got is None, bytes(got)
            return
        assert got is not None and got.status_code == (200 if method == "BYE" else 481)
        event("late response %d" % got.status_code)
        assert got.call_id == call_id and got.cseq == req.cseq

    @rule(call_id=st.sampled_from(CALL_IDS), a=st.sampled_from(TAGS + [""]), b=st.sampled_from(TAGS + [""]))
    def lookups_by_keys(self, call_id, a, b):
        """get / [] / in / find_by_tags / ended for arbitrary keys."""
        x = "%s;%s;%s" % (call_id, a, b)
        rec = self.live.get(x)
        assert self.mgr.get(x, "absent") is (rec.d if rec else "absent")
        assert (x in self.mgr) == (rec is not None)
        if rec is None:
            with pytest.raises(DialogNotFound):
                self.mgr[x]
        if a and b:
            want = self.live.get(x) or self.live.get("%s;%s;%s" % (call_id, b, a))
            assert self.mgr.find_by_tags(call_id, a, b) is (want.d if want else None)
        assert (self.mgr.ended(call_id, a, b) is not None) == self.is_ended(call_id, a, b)

    @rule()
    def snapshot(self):
        snap = self.mgr.snapshot()
        assert json.loads(json.dumps(snap)) == snap
        assert sorted(s["id"] for s in snap) == sorted(self.live)
        assert {s["id"]: s["state"] for s in snap} == {i: r.state for i, r in self.live.items()}
        assert sorted(d.id for d in self.mgr.dialogs()) == sorted(self.live)

    # -- closing the manager

    @precondition(lambda self: self.live)
    @rule(dice=st.integers(0, 7))
    def close_manager(self, dice):
        """Rarely: close the manager. Every dialog it held ends, the others do not; every call then raises
        ClosedError or finds nothing. A new manager takes over (the dialogs out of the old one may join it)."""
        if dice:
            return
        held = list(self.live.values())
        event("manager closed with %d dialogs" % len(held))
        with self.mgr as m:
            assert m is self.mgr
        assert self.mgr.closed
        for rec in held:
            assert rec.d.state is DialogState.TERMINATED and rec.d.closed
        for rec in self.loose:
            assert rec.d.state.value == rec.state and not rec.d.closed
        self.mgr.close()  # idempotent
        assert len(self.mgr) == 0 and list(self.mgr) == [] and self.mgr.dialogs() == [] and self.mgr.snapshot() == []
        probe, c = held[0], CALL_IDS[0]
        assert probe.id not in self.mgr and probe.d not in self.mgr
        msg = from_peer("BYE", probe.call_id, probe.local_tag, probe.remote_tag or "t2")
        m = self.mgr
        for call in (lambda: m.get(probe.id), lambda: m[probe.id], lambda: m.find(msg), lambda: m.find_by_call_id(c),
                     lambda: m.find_by_tags(c, "t1", "t2"), lambda: m.remove(probe.id), lambda: m.remove(probe.d),
                     lambda: m.late_response(msg), lambda: m.add(Dialog.from_uac(request("INVITE", c, "t1"))),
                     lambda: m.__enter__()):
            with pytest.raises(ClosedError):
                call()
        for rec in held:
            rec.state, rec.closed = TERMINATED, True
            self.dead.append(rec)
        self.fresh()

    # -- invariants

    @invariant()
    def agree(self):
        mgr = self.mgr
        assert len(mgr) == len(self.live)
        listed = list(mgr)
        assert sorted(d.id for d in listed) == sorted(self.live)  # no two live dialogs share an ID
        for d in listed:
            assert self.live[d.id].d is d
        by_call = {c: set() for c in CALL_IDS}
        for i, rec in self.live.items():
            d = rec.d
            assert d.id == i and d.state.value == rec.state != TERMINATED
            assert mgr.get(i) is d and mgr[i] is d and i in mgr and d in mgr
            assert mgr.find_by_tags(rec.call_id, rec.local_tag, rec.remote_tag or "") is d
            if rec.remote_tag:
                # the other orientation finds this one unless a dialog has exactly those tags
                other = self.live.get("%s;%s;%s" % (rec.call_id, rec.remote_tag, rec.local_tag), rec)
                assert mgr.find_by_tags(rec.call_id, rec.remote_tag, rec.local_tag) is other.d
            by_call[rec.call_id].add(i)
        for c, ids in by_call.items():
            found = mgr.find_by_call_id(c)
            assert sorted(d.id for d in found) == sorted(ids)
        for rec in self.loose:
            assert rec.d not in mgr and rec.d.state.value == rec.state and not rec.d.closed
        for rec in self.dead:
            assert rec.d not in mgr and rec.d.state is DialogState.TERMINATED
        for key in self.ended:
            i = "%s;%s;%s" % key
            if i not in self.live:
                assert mgr.get(i) is None
            assert mgr.ended(*key) is not None
            if key[2]:
                assert mgr.ended(key[0], key[2], key[1]) is not None
        s = mgr.stats()
        assert s["dialogs"] == len(self.live)
        want = {k: 0 for k in STATES}
        for rec in self.live.values():
            want[rec.state] += 1
        assert s["by_state"] == want
        for k, v in self.counts.items():
            assert s[k] == v, (k, s[k], v)
        assert s["rejections"] == self.counts["rejected_overload"] + self.counts["rejected_per_call"] + \
            self.counts["rejected_exists"]
        assert len(self.ended) <= s["tombstones"] <= sum(self.ended.values())

    def teardown(self):
        if self.mgr is not None:
            self.mgr.close()


ManagerModel.TestCase.settings = SETTINGS
TestManagerModel = ManagerModel.TestCase
