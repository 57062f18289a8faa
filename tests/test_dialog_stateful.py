"""Stateful property test (hypothesis) of sipdialog.Dialog: a UAC and a UAS
dialog talk to each other through the sans-IO API.

The UAC sends an INVITE; the UAS dialog is made from it with
Dialog.from_uas. Rules then build messages on either side (provisional
responses, answer, reject, ACK, CANCEL, in-dialog INFO / UPDATE / re-INVITE
/ BYE / OPTIONS / MESSAGE and their responses) and put them in a queue of
messages in flight per direction; hypothesis chooses which one arrives
next, so messages are reordered, delivered again (retransmissions) or
replaced by damaged copies (another To tag, Call-ID or From tag, a CSeq out
of order or never sent).

Every outcome is checked against `Peer`, a small model of one side of a
dialog written here from RFC 3261 (sections 12, 13, 14, 15 and 9) and the
contract of sipdialog/dialog.h, not from the C code:

* both sides agree on the dialog ID (Call-ID plus the two tags, swapped);
* local CSeq numbers go up by one per new request (ACK and CANCEL reuse the
  INVITE's number) and stay below 2**31;
* states never move backwards, the history is a chain of allowed
  transitions that ends in the current state, and the state callbacks saw
  exactly that history;
* receive() answers (481, 500, 491, 500 with Retry-After, 200 to CANCEL or
  BYE) or raises exactly when the model says so, and every message it
  refuses leaves both dialogs' snapshot() and pending unchanged except
  last_activity;
* create_request(INVITE) while an INVITE transaction is in progress in
  either direction (or a 2xx to one is not acknowledged) and any request
  once terminated raise DialogStateError.

The profile follows SIPDIALOG_HYPOTHESIS_PROFILE like the other property
files: "...-thorough" runs 20 times as many examples, "...-ci" derandomizes.
"""
from __future__ import annotations

import re

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import (  # noqa: E402
    RuleBasedStateMachine, initialize, invariant, precondition, rule,
)

from hypothesis_profile import stateful_settings  # noqa: E402

import sipdialog  # noqa: E402
from sipdialog import Dialog, DialogStateError, LimitError, Request, Response, ValidationError  # noqa: E402

# ---------------------------------------------------------------------------
# profile

SETTINGS = stateful_settings(step_count=60)

# ---------------------------------------------------------------------------
# the model

NONE, EARLY, CONFIRMED, TERMINATING, TERMINATED = "none", "early", "confirmed", "terminating", "terminated"
RANK = {NONE: 0, EARLY: 1, CONFIRMED: 2, TERMINATING: 3, TERMINATED: 4}
LIVE = (EARLY, CONFIRMED, TERMINATING)
SEQ_LIMIT = 2 ** 31  # RFC 3261 8.1.1.5: CSeq numbers stay below 2**31

# (reason, from-state) -> to-state: the transitions RFC 3261 allows (12.1, 12.3,
# 13.2.2.3, 13.2.2.4, 15.1.1, 15.1.2, 12.2.1.2); anything else is a bug.
ALLOWED = {
    ("provisional", NONE): EARLY, ("provisional", EARLY): EARLY,
    ("success", NONE): CONFIRMED, ("success", EARLY): CONFIRMED,
    ("failure", NONE): TERMINATED, ("failure", EARLY): TERMINATED,
    ("bye-sent", EARLY): TERMINATING, ("bye-sent", CONFIRMED): TERMINATING,
    **{("bye-received", s): TERMINATED for s in LIVE},
    ("bye-done", TERMINATING): TERMINATED,
    **{("ended", s): TERMINATED for s in LIVE},
    **{("timeout", s): TERMINATED for s in (NONE,) + LIVE},
    **{("close", s): TERMINATED for s in (NONE,) + LIVE},
}

# Replies receive() gives for refused requests.
REFUSED = (481, 500, 491, 400)


class Peer:
    """What one side of the dialog must look like, from RFC 3261 alone."""

    def __init__(self, role, call_id, local_tag, remote_tag, local_seq, remote_seq, local_target, remote_target,
                 routes):
        self.role = role
        self.call_id = call_id
        self.local_tag, self.remote_tag = local_tag, remote_tag
        self.local_seq, self.remote_seq = local_seq, remote_seq
        self.local_target, self.remote_target = local_target, remote_target
        self.routes = routes  # Route values of our requests (12.1.1 / 12.1.2)
        self.state = NONE
        self.history = []  # (old, new, reason, method, status)
        self.sent = set()  # (cseq, method) of every request we sent
        self.create_cseq = local_seq if role == "uac" else None
        self.inv_out = None  # CSeq of our INVITE without a final response (14.1)
        self.got_1xx = False  # a provisional response to it arrived (9.1)
        self.inv_2xx = set()  # our INVITEs a 2xx arrived for (each one needs an ACK, 13.2.2.4)
        self.ack_out = False  # a 2xx arrived that we have not acknowledged yet
        self.inv_in = None  # (cseq, branch, creating) of the INVITE we must still answer
        self.ack_in = None  # CSeq of the INVITE whose 2xx we sent, until its ACK (13.3.1.4)
        self.last_req = None  # (cseq, method, branch) of the last request accepted (retransmissions)
        if role == "uac":
            self.sent.add((local_seq, "INVITE"))
            self.inv_out = local_seq

    def learn(self, tag):
        """12.1.2: the first tagged response sets remote tag, target and route set."""
        self.remote_tag = tag
        self.remote_target, self.routes = self.later

    def go(self, reason, method=None, status=None):
        new = ALLOWED[(reason, self.state)]
        if new == self.state:
            return  # the history records changes of state only
        self.history.append((self.state, new, reason, method, status))
        self.state = new

    def pending(self):
        return {"invite_out": self.inv_out is not None, "invite_in": self.inv_in is not None,
                "ack_out": self.ack_out, "ack_in": self.ack_in is not None}

    # -- building (12.2.1.1, 14.1, 15, 9.1)

    def may_send(self, method):
        """None when create_request(method) must work, else the exception class it raises."""
        if method == "CANCEL":
            # 9.1: only an INVITE of ours still waiting for its final response,
            # and only once a provisional response to it arrived
            return None if self.inv_out is not None and self.got_1xx else DialogStateError
        if self.state in (NONE, TERMINATED):
            return DialogStateError  # no dialog yet (12.1) / no requests after it ended (15)
        if method == "INVITE" and (self.inv_out is not None or self.inv_in is not None or self.ack_out
                                   or self.ack_in is not None):
            return DialogStateError  # 14.1: one INVITE transaction at a time, 2xx acknowledged first
        if method == "BYE":
            if self.state == TERMINATING:
                return DialogStateError  # one BYE (15.1.1)
            if self.role == "uas" and self.state == EARLY:
                return DialogStateError  # 15: the callee must not BYE an early dialog
            if self.ack_in is not None:
                return DialogStateError  # 15: no BYE before the ACK of our 2xx
        if self.local_seq is not None and self.local_seq + 1 >= SEQ_LIMIT:
            return LimitError  # 8.1.1.5
        return None

    def sent_request(self, method, cseq):
        if method == "CANCEL":
            self.sent.add((cseq, "CANCEL"))
            return
        self.local_seq = cseq
        self.sent.add((cseq, method))
        if method == "INVITE":
            self.inv_out = cseq
            self.got_1xx = False
        elif method == "BYE":
            self.go("bye-sent", "BYE")

    # -- receiving requests (12.2.2, 14.2, 15.1.2, 9.2, 13.3.1.4)

    def on_request(self, m, auto_answer):
        """Apply request m; returns ("reply", status), ("none",) or ("retransmission",)."""
        seq, method = m.cseq
        if m.call_id != self.call_id:
            # 12.2.2: 481; an ACK is never answered (17.1.1.3): dropped
            return ("none",) if method == "ACK" else ("reply", 481)
        if method == "ACK":
            # never answered; it acknowledges our 2xx when it names it
            if m.to_tag == self.local_tag and m.from_tag == self.remote_tag and self.ack_in == seq:
                self.ack_in = None
            return ("none",)
        if method == "CANCEL":
            # 9.2: a CANCEL matches the pending INVITE by CSeq, top Via branch and From tag
            if (self.inv_in is not None and seq == self.inv_in[0] and m.via_branch == self.inv_in[1]
                    and m.from_tag == self.remote_tag):
                return ("reply", 200)
            return ("reply", 481)
        if m.to_tag is None:
            if (self.role == "uas" and self.remote_create and method == "INVITE" and seq == self.remote_create[0]
                    and m.via_branch == self.remote_create[1] and m.from_tag == self.remote_tag):
                return ("retransmission",)  # the creating INVITE again
            if (self.role == "uas" and self.remote_create and method == "INVITE" and seq == self.remote_create[0]
                    and m.from_tag == self.remote_tag):
                return ("reply", 482)  # 8.2.2.2: a merged request (same From tag, Call-ID, CSeq; other branch)
            return ("reply", 481)
        if m.to_tag != self.local_tag or self.remote_tag is None or m.from_tag != self.remote_tag:
            return ("reply", 481)  # 12.2.2: not this dialog
        if self.state != NONE and self.last_req == (seq, method, m.via_branch):
            return ("retransmission",)  # its response was lost; even a BYE that ended the dialog
        if self.state in (NONE, TERMINATED):
            return ("reply", 481)
        if self.remote_seq is not None and seq <= self.remote_seq:
            return ("reply", 500)  # 12.2.2: out of order, or a new request with the same number
        if method == "INVITE":
            if self.inv_out is not None:
                return ("reply", 491)  # 14.2: glare
            if self.inv_in is not None or self.ack_in is not None:
                return ("reply", 500, "retry-after")  # 14.2: with Retry-After 0..10
        self.remote_seq = seq
        self.last_req = (seq, method, m.via_branch)
        if method == "INVITE":
            self.inv_in = (seq, m.via_branch, False)
        elif method == "BYE":
            self.go("bye-received", "BYE")
            if auto_answer:
                return ("reply", 200)
        return ("none",)

    # -- receiving responses (12.1.2, 12.2.1.2, 13.2.2.3, 13.2.2.4, 15.1.1)

    def on_response(self, m):
        """Apply response m; returns "ok" or the exception class receive() raises."""
        seq, method = m.cseq
        status = m.status_code
        if m.call_id != self.call_id or m.from_tag != self.local_tag:
            return ValidationError
        if (seq, method) not in self.sent:
            return ValidationError  # contract: a response to a CSeq never sent
        if self.role == "uac" and seq == self.create_cseq and method == "INVITE":
            return self._to_creating(m, status)
        if method == "CANCEL":
            # 9.1: the response to our CANCEL belongs to the INVITE's transaction,
            # dialog or not; it says nothing about the dialog (a 481 only means the
            # INVITE had no transaction to cancel any more). Its To tag may be a
            # stateful proxy's own (16.10), so it is not checked.
            return "ok"
        if self.state == NONE:
            return ValidationError
        if m.to_tag is None or m.to_tag != self.remote_tag:
            return ValidationError
        if status < 200:
            if method == "INVITE" and seq == self.inv_out:
                self.got_1xx = True
            return "ok"
        if method == "INVITE" and seq == self.inv_out:
            self.inv_out = None
            if status < 300:
                self.inv_2xx.add(seq)
        if method == "INVITE" and status < 300 and seq in self.inv_2xx and seq == max(self.inv_2xx):
            # 13.2.2.4: every 2xx (retransmissions too) gets an ACK; the ACK state
            # is kept for our latest INVITE only
            self.ack_out = True
        if status in (481, 408):
            if self.state in LIVE:
                self.go("ended", method, status)  # 12.2.1.2
        elif method == "BYE" and self.state == TERMINATING:
            self.go("bye-done", "BYE", status)  # 15.1.1
        return "ok"

    def _to_creating(self, m, status):
        if self.state in (TERMINATING, TERMINATED):
            return "ok"  # the dialog is over (15.1.1): late responses change nothing
        if status < 200 and (m.to_tag is None or status == 100):
            if self.inv_out == self.create_cseq:
                self.got_1xx = True
            return "ok"  # no dialog from an untagged 1xx or a 100 (12.1: 101-199 with a tag)
        if status >= 300:
            # 12.3 / 13.2.2.3: a failure ends every early dialog of the request
            if self.state in (NONE, EARLY):
                self.inv_out = None
                self.go("failure", "INVITE", status)
            return "ok"
        if m.to_tag is None:
            return ValidationError  # a 2xx without a To tag
        if self.state != NONE and m.to_tag != self.remote_tag:
            return DialogStateError  # another fork (12.1.2): fork(), not receive()
        if self.state == NONE:
            self.learn(m.to_tag)
        if status < 200:
            if self.inv_out == self.create_cseq:
                self.got_1xx = True  # 9.1: a 1xx to the INVITE being cancelled, not to an older one
            if self.state in (NONE, EARLY):
                self.go("provisional", "INVITE", status)
            return "ok"
        if self.inv_out == self.create_cseq:
            self.inv_out = None
        self.inv_2xx.add(self.create_cseq)
        self.ack_out = True
        if self.state in (NONE, EARLY):
            self.go("success", "INVITE", status)
        return "ok"

    # -- answering our pending INVITE (12.1.1, 13.3.1.4)

    def may_respond(self, status):
        if self.inv_in is None:
            return DialogStateError
        if self.state == TERMINATED and status < 300:
            return DialogStateError
        return None

    def responded(self, status):
        seq, _branch, creating = self.inv_in
        if status >= 200:
            self.inv_in = None
            if status < 300:
                self.ack_in = seq
        if creating:
            if status < 200:
                if self.state in (NONE, EARLY):
                    self.go("provisional", "INVITE", status)
            elif status < 300:
                if self.state in (NONE, EARLY):
                    self.go("success", "INVITE", status)
            elif self.state in (NONE, EARLY):
                self.go("failure", "INVITE", status)


# ---------------------------------------------------------------------------
# messages

CALL_ID = "a84b4c76e66710@pc33.atlanta.example.com"
UAC_TAG = "1928301774"
UAC_CONTACT = "sip:alice@pc33.atlanta.example.com"
UAS_CONTACT = "sip:bob@192.0.2.4"
RECORD_ROUTES = ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>", "<sip:p3.example.com;lr>"]
_TAG = re.compile(r";\s*tag=[^;>\s]*", re.I)
_BRANCH = re.compile(r"branch=[^;\s]*", re.I)


def other(side):
    return "uas" if side == "uac" else "uac"


def strip(snap):
    """A snapshot without the one field a refused message may change."""
    s = dict(snap)
    s.pop("last_activity")
    return s


def rebuild(msg, *, to_tag=None, from_tag=None, call_id=None, cseq=None, branch=None):
    """A copy of msg with some dialog-identifying fields replaced."""
    out = []
    for name, value in msg._items():
        low = name.lower()
        if low in ("to", "t") and to_tag is not None:
            value = _TAG.sub("", value) + ";tag=" + to_tag
        elif low in ("from", "f") and from_tag is not None:
            value = _TAG.sub("", value) + ";tag=" + from_tag
        elif low in ("call-id", "i") and call_id is not None:
            value = call_id
        elif low == "cseq" and cseq is not None:
            value = "%d %s" % (cseq, msg.cseq.method)
        elif low in ("via", "v") and branch is not None and _BRANCH.search(value):
            value = _BRANCH.sub("branch=" + branch, value, count=1)
            branch = None  # the top Via only
        out.append((name, value))
    if msg.is_request:
        return Request(msg.method, msg.request_uri, out, msg.body)
    return Response(msg.status_code, msg.reason, out, msg.body)


class DialogPair(RuleBasedStateMachine):
    """A UAC and a UAS Dialog, their models, and the messages in flight."""

    def __init__(self):
        super().__init__()
        self.d = {}
        self.m = {}
        self.queue = {"uac": [], "uas": []}  # in flight towards that side
        self.seen = {"uac": [], "uas": []}  # everything sent towards that side (retransmissions, damage)
        self.unanswered = {"uac": [], "uas": []}  # accepted non-INVITE requests waiting for a response
        self.twoxx = {"uac": [], "uas": []}  # 2xx to our INVITEs received, to acknowledge
        self.pending_invite = {"uac": None, "uas": None}  # the INVITE message we must answer
        self.fired = {"uac": [], "uas": []}  # transitions the state callbacks saw
        self.base = {"uac": 0, "uas": 0}  # history length when the callbacks were attached
        self.rank = {"uac": 0, "uas": 0}
        self.branches = 0

    # -- helpers

    def attach(self, side, dialog):
        self.d[side] = dialog
        self.fired[side] = []
        self.base[side] = len(dialog.history)
        dialog.on_state_change(lambda dlg, t, side=side: self.fired[side].append(t))

    def send(self, to, msg):
        self.queue[to].append(msg)
        self.seen[to].append(msg)
        del self.seen[to][:-12]

    def fresh_branch(self):
        self.branches += 1
        return "z9hG4bKdamaged%d" % self.branches

    def frozen(self):
        return {s: (strip(self.d[s].snapshot()), self.d[s].pending) for s in ("uac", "uas")}

    def check_built_request(self, side, req, method, cseq):
        """12.2.1.1: the dialog's tags, Call-ID, target, route set and CSeq."""
        mdl = self.m[side]
        assert req.method == method
        assert req.cseq == (cseq, method)
        assert req.call_id == mdl.call_id
        assert req.from_tag == mdl.local_tag
        if method != "CANCEL" or mdl.role != "uac" or cseq != mdl.create_cseq:
            assert req.to_tag == mdl.remote_tag
            assert req.request_uri == mdl.remote_target
            assert req.headers.getall("Route") == mdl.routes
        assert req.via_branch and req.via_branch.startswith("z9hG4bK")  # 8.1.1.7

    # -- setup

    @initialize(
        cseq=st.one_of(st.integers(1, 30), st.integers(SEQ_LIMIT - 4, SEQ_LIMIT - 1), st.integers(1, SEQ_LIMIT - 1)),
        n_rr=st.integers(0, 3),
        uas_tag=st.one_of(st.none(), st.sampled_from(["a6c85cf", "314159-b", "x.y!z"])),
    )
    def start(self, cseq, n_rr, uas_tag):
        rr = RECORD_ROUTES[:n_rr]
        headers = [("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"),
                   ("Max-Forwards", "70"), ("To", "Bob <sip:bob@biloxi.example.com>"),
                   ("From", "Alice <sip:alice@atlanta.example.com>;tag=" + UAC_TAG),
                   ("Call-ID", CALL_ID), ("CSeq", "%d INVITE" % cseq), ("Contact", "<%s>" % UAC_CONTACT)]
        headers += [("Record-Route", r) for r in rr]
        inv = Request("INVITE", "sip:bob@biloxi.example.com", headers)
        uac = Dialog.from_uac(inv)
        uas = Dialog.from_uas(inv, local_contact=UAS_CONTACT, local_tag=uas_tag)
        b = uas.local_tag
        if uas_tag is None:
            assert re.fullmatch(r"[0-9a-f]{32}", b), b  # 128 random bits
        else:
            assert b == uas_tag
        # 12.1.2: the UAC's route set is the Record-Route reversed, 12.1.1: the UAS's in order
        self.m["uac"] = Peer("uac", CALL_ID, UAC_TAG, None, cseq, None, UAC_CONTACT, None, [])
        self.m["uac"].later = (UAS_CONTACT, rr[::-1])
        self.m["uas"] = Peer("uas", CALL_ID, b, UAC_TAG, None, cseq, UAS_CONTACT, UAC_CONTACT, rr)
        self.m["uas"].remote_create = (cseq, inv.via_branch)
        self.m["uas"].inv_in = (cseq, inv.via_branch, True)
        self.m["uas"].last_req = (cseq, "INVITE", inv.via_branch)
        self.pending_invite["uas"] = inv
        self.attach("uac", uac)
        self.attach("uas", uas)
        self.seen["uas"].append(inv)  # its retransmissions may arrive

    # -- answering INVITEs (12.1.1, 13.3.1)

    @rule(side=st.sampled_from(["uac", "uas"]), kind=st.sampled_from(["trying", "provisional", "answer", "reject"]),
          status=st.integers(0, 3))
    def respond_invite(self, side, kind, status):
        d, mdl = self.d[side], self.m[side]
        inv = self.pending_invite[side]
        if kind == "trying":
            # the transaction layer's 100: no To tag for the creating INVITE
            if inv is None or mdl.inv_in is None:
                return
            self.send(other(side), inv.create_response(100))
            return
        code = {"provisional": [180, 183, 181, 199], "answer": [200, 200, 202, 299],
                "reject": [487, 486, 603, 488]}[kind][status]
        expect = mdl.may_respond(code)
        fn = getattr(d, kind)
        if expect is not None:
            before = self.frozen()
            with pytest.raises(expect):
                fn(code)
            assert self.frozen() == before
            return
        resp = fn(code)
        seq = mdl.inv_in[0]
        mdl.responded(code)
        assert resp.status_code == code
        assert resp.cseq == (seq, "INVITE")
        assert resp.to_tag == mdl.local_tag and resp.from_tag == mdl.remote_tag and resp.call_id == mdl.call_id
        if code < 300:
            assert [str(c) for c in resp.headers.getall("Contact")] == ["<%s>" % mdl.local_target]
        if code >= 200:
            self.pending_invite[side] = None
        self.send(other(side), resp)

    # -- new requests (12.2.1.1)

    @rule(side=st.sampled_from(["uac", "uas"]),
          method=st.sampled_from(["INFO", "UPDATE", "INVITE", "BYE", "OPTIONS", "MESSAGE", "CANCEL", "INVITE"]))
    def send_request(self, side, method):
        d, mdl = self.d[side], self.m[side]
        expect = mdl.may_send(method)
        if expect is not None:
            before = self.frozen()
            with pytest.raises(expect):
                d.create_request(method)
            after = self.frozen()
            if expect is LimitError:
                # a failed request may take a CSeq number (dialog.h), never past 2**31
                assert after[side][0]["local_seq"] < SEQ_LIMIT, after[side][0]["local_seq"]
                after[side][0]["local_seq"] = before[side][0]["local_seq"]
            assert after == before
            return
        req = d.create_request(method)
        if method == "CANCEL":
            cseq = mdl.inv_out  # 9.1: the INVITE's number
        elif mdl.local_seq is None:
            cseq = req.cseq.seq
            assert 1 <= cseq < SEQ_LIMIT  # 12.1.1 / 8.1.1.5: the UAS picks its first number
        else:
            cseq = mdl.local_seq + 1  # 12.2.1.1: up by one
        self.check_built_request(side, req, method, cseq)
        mdl.sent_request(method, cseq)
        self.send(other(side), req)

    @rule(side=st.sampled_from(["uac", "uas"]), which=st.integers(0, 7),
          status=st.sampled_from([200, 200, 202, 403, 488, 481, 408, 100]))
    def respond_request(self, side, which, status):
        """The application answers a non-INVITE request (the dialog is not involved)."""
        todo = self.unanswered[side]
        if not todo:
            return
        req = todo[which % len(todo)]
        if req.method == "BYE" and status >= 300:
            status = 200  # a BYE that passed the dialog's checks is answered 200 (15.1.2)
        resp = req.create_response(status)
        if status >= 200:
            todo.remove(req)
        self.send(other(side), resp)

    @rule(side=st.sampled_from(["uac", "uas"]), which=st.integers(0, 3))
    def send_ack(self, side, which):
        """13.2.2.4: the ACK of a 2xx; CSeq number of the INVITE, method ACK."""
        todo = self.twoxx[side]
        if not todo:
            return
        resp = todo.pop(which % len(todo))
        mdl = self.m[side]
        ack = self.d[side].create_ack(resp)
        assert ack.cseq == (resp.cseq.seq, "ACK")
        assert ack.from_tag == mdl.local_tag and ack.to_tag == mdl.remote_tag and ack.call_id == mdl.call_id
        assert ack.request_uri == mdl.remote_target and ack.headers.getall("Route") == mdl.routes
        todo[:] = [r for r in todo if r.cseq.seq != resp.cseq.seq]
        # the ACK state follows our latest INVITE that got a 2xx: an old
        # 2xx seen again and not acknowledged blocks nothing (14.1)
        latest = max(mdl.inv_2xx) if mdl.inv_2xx else None
        mdl.ack_out = any(r.cseq.seq == latest for r in todo)
        self.send(other(side), ack)

    # -- the network

    def deliver_one(self, to, msg, *, auto_answer=False, quiet=False):
        """receive() msg on `to`, check it against the model; returns the reply or None."""
        d, mdl = self.d[to], self.m[to]
        before = self.frozen()
        if msg.is_request:
            outcome = mdl.on_request(msg, auto_answer)
            if outcome[0] == "raise":
                with pytest.raises(outcome[1]):
                    d.receive(msg, auto_answer=auto_answer)
                assert self.frozen() == before, bytes(msg)
                return None
            reply = d.receive(msg, auto_answer=auto_answer)
            if outcome[0] == "reply":
                assert reply is not None, (outcome, bytes(msg))
                assert reply.status_code == outcome[1], (outcome, bytes(reply), bytes(msg))
                assert reply.cseq == msg.cseq and reply.call_id == msg.call_id
                assert reply.via_branch == msg.via_branch
                if outcome[2:] == ("retry-after",):
                    # 14.2: an INVITE while another is in progress: Retry-After 0..10
                    assert 0 <= int(reply.headers["Retry-After"]) <= 10
                else:
                    assert "Retry-After" not in reply.headers
                if outcome[1] in REFUSED:
                    assert self.frozen() == before, bytes(msg)  # a refused request changes nothing
            else:
                assert reply is None, (outcome, bytes(reply), bytes(msg))
                if outcome[0] == "retransmission":
                    assert self.frozen() == before, bytes(msg)
            if outcome == ("none",) and msg.method not in ("ACK", "CANCEL") and not quiet:
                if msg.method == "INVITE":
                    self.pending_invite[to] = msg
                elif not (msg.method == "BYE" and auto_answer):
                    self.unanswered[to].append(msg)
            return None if quiet else reply
        expect = mdl.on_response(msg)
        if expect == "ok":
            assert d.receive(msg) is None
            if msg.cseq.method == "INVITE" and 200 <= msg.status_code < 300 and mdl.ack_out:
                self.twoxx[to].append(msg)
        else:
            with pytest.raises(expect):
                d.receive(msg)
            assert self.frozen() == before, bytes(msg)  # a refused response changes nothing
        return None

    @rule(to=st.sampled_from(["uac", "uas"]), which=st.integers(0, 5), auto_answer=st.booleans())
    def deliver(self, to, which, auto_answer):
        """The oldest message, or a newer one first (reordering)."""
        q = self.queue[to]
        if not q:
            return
        msg = q.pop(min(which, len(q) - 1) if which < 3 else 0)
        reply = self.deliver_one(to, msg, auto_answer=auto_answer)
        if reply is not None:
            self.send(other(to), reply)

    @rule(to=st.sampled_from(["uac", "uas"]), which=st.integers(0, 11))
    def retransmit(self, to, which):
        """A message that already arrived (or is still in flight) arrives again."""
        seen = self.seen[to]
        if not seen:
            return
        reply = self.deliver_one(to, seen[-1 - which % len(seen)])
        if reply is not None and reply.status_code < 300:
            self.send(other(to), reply)  # it arrived first: as good as new

    @rule(to=st.sampled_from(["uac", "uas"]), which=st.integers(0, 11),
          damage=st.sampled_from(["to_tag", "call_id", "from_tag", "cseq"]), k=st.integers(1, 3))
    def damaged(self, to, which, damage, k):
        """A copy of a message towards `to` with one dialog field wrong: refused, nothing changes."""
        seen = self.seen[to]
        if not seen:
            return
        msg = seen[-1 - which % len(seen)]
        mdl = self.m[to]
        if damage == "to_tag":
            if not msg.is_request and mdl.role == "uac" and msg.cseq == (mdl.create_cseq, "INVITE") \
                    and (mdl.state not in (EARLY, CONFIRMED) or msg.status_code >= 300):
                # the response of another fork: a real dialog (12.1.2), or a failure
                # that ends every early dialog of the INVITE (12.3): not damage
                return
            bad = rebuild(msg, to_tag="forged%d" % k, branch=self.fresh_branch() if msg.is_request else None)
        elif damage == "from_tag":
            bad = rebuild(msg, from_tag="forged%d" % k, branch=self.fresh_branch() if msg.is_request else None)
        elif damage == "call_id":
            bad = rebuild(msg, call_id="forged%d@example.org" % k)
        elif msg.is_request:
            if msg.method in ("ACK", "CANCEL") or mdl.remote_seq is None or mdl.remote_seq - k < 1:
                return
            bad = rebuild(msg, cseq=mdl.remote_seq - k, branch=self.fresh_branch())  # 12.2.2: lower CSeq
        else:
            # a CSeq this side never sent: below its first number or past its last
            sent = sorted(s for s, _ in mdl.sent)
            seq = sent[0] - k if sent and sent[0] - k >= 1 else (mdl.local_seq or 0) + k
            if seq >= SEQ_LIMIT:
                return
            bad = rebuild(msg, cseq=seq)
        before = self.frozen()
        self.deliver_one(to, bad, quiet=True)
        # whatever the model says, a damaged message never changes a dialog
        assert self.frozen() == before, bytes(bad)

    @rule(side=st.sampled_from(["uac", "uas"]), dice=st.integers(0, 9))
    def timeout(self, side, dice):
        """A timer gave up (rarely)."""
        if dice:
            return
        d, mdl = self.d[side], self.m[side]
        if mdl.state == TERMINATED:
            with pytest.raises(DialogStateError):
                d.timeout()
            return
        d.timeout()
        mdl.go("timeout")

    @rule(side=st.sampled_from(["uac", "uas"]))
    def restore(self, side):
        """Fail-over: a snapshot between transactions continues as the same dialog."""
        mdl = self.m[side]
        if mdl.state == NONE or mdl.remote_tag is None or any(mdl.pending().values()):
            return
        snap = self.d[side].snapshot()
        new = Dialog.restore(snap)
        again = new.snapshot()
        for key in ("role", "state", "id", "call_id", "local_tag", "remote_tag", "local_header", "remote_header",
                    "local_target", "remote_target", "route_set", "local_seq", "remote_seq", "secure"):
            assert again[key] == snap[key], key
        assert [(h["old"], h["new"], h["reason"], h["method"], h["status"]) for h in again["history"]] == \
               [(h["old"], h["new"], h["reason"], h["method"], h["status"]) for h in snap["history"]]
        self.attach(side, new)
        # a restored dialog keeps no transaction (dialog.h): it cannot recognise a
        # retransmission, nor a late response to (or copy of) the creating INVITE
        mdl.last_req = None
        mdl.create_cseq = None
        mdl.remote_create = None
        mdl.inv_2xx = set()

    # -- invariants

    @invariant()
    def agree(self):
        if not self.d:
            return
        for side in ("uac", "uas"):
            d, mdl = self.d[side], self.m[side]
            state = d.state.value
            assert state == mdl.state, (side, state, mdl.state, d.history)
            assert RANK[state] >= self.rank[side], (side, state)  # never backwards
            self.rank[side] = RANK[state]
            hist = d.history
            got = [(t.old.value, t.new.value, t.reason, t.method, t.status) for t in hist]
            assert got == mdl.history, (side, got, mdl.history)
            if hist:
                assert hist[-1].new == d.state  # the last entry is the state
            prev = NONE
            for t in hist:
                assert t.old.value == prev and ALLOWED.get((t.reason, t.old.value)) == t.new.value, t
                prev = t.new.value
            assert list(hist[self.base[side]:]) == self.fired[side]
            assert d.local_seq == mdl.local_seq, (side, d.local_seq, mdl.local_seq)
            assert d.remote_seq == mdl.remote_seq, (side, d.remote_seq, mdl.remote_seq)
            assert d.local_tag == mdl.local_tag and d.remote_tag == mdl.remote_tag
            assert d.pending == mdl.pending(), (side, d.pending, mdl.pending())
            assert d.route_set == mdl.routes and d.remote_target == mdl.remote_target
        # 12: the dialog ID is Call-ID, local tag, remote tag; the peers see it swapped
        a, b = UAC_TAG, self.m["uas"].local_tag
        assert self.d["uas"].id == f"{CALL_ID};{b};{a}"
        if self.m["uac"].remote_tag is None:
            assert self.d["uac"].id == f"{CALL_ID};{a};"
        else:
            assert self.d["uac"].id == f"{CALL_ID};{a};{b}"

    def teardown(self):
        for d in self.d.values():
            d.close()
            assert d.closed and d.state == sipdialog.DialogState.TERMINATED
            d.close()  # idempotent


DialogPair.TestCase.settings = SETTINGS
TestDialogPair = DialogPair.TestCase
