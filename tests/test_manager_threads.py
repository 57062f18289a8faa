"""DialogManager under 8 Python threads: 100,000 mixed operations each (add
before the first tagged response, look up by ID, by message, by Call-ID
and by tags, re-key through the response, fork, remove, close), on
dialogs of their own and of the other threads. Afterwards every count
adds up and every look-up path agrees with the primary index.

SIPDIALOG_THREAD_OPS sets the operations per thread (default 100,000)."""
import os
import random
import threading

from sipdialog import (ClosedError, Dialog, DialogManager, DialogStateError, LimitError, OverloadError, Request,
                       DialogState)

OPS = int(os.environ.get("SIPDIALOG_THREAD_OPS", "100000"))
THREADS = 8
CALLS = 300  # per thread: Call-IDs are reused once their dialogs are gone


def _messages(k):
    """Per call of thread k: the INVITE, its 180 and 200 (To tag 'a'), and a 183 of a second branch ('b')."""
    out = []
    for i in range(CALLS):
        req = Request("INVITE", "sip:bob@biloxi.example.com", headers=[
            ("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK%d.%d" % (k, i)), ("Max-Forwards", "70"),
            ("To", "<sip:bob@biloxi.example.com>"), ("From", "<sip:alice@atlanta.example.com>;tag=f%d" % k),
            ("Call-ID", "c%d.%d@atlanta" % (k, i)), ("CSeq", "1 INVITE"), ("Contact", "<sip:alice@10.0.0.1>")])
        ct = [("Contact", "<sip:bob@10.0.0.2>")]
        out.append((req, req.create_response(180, to_tag="a", headers=ct),
                    req.create_response(200, to_tag="a", headers=ct), req.create_response(183, to_tag="b", headers=ct)))
    return out


def test_eight_threads_mixed_operations_counts_add_up():
    mgr = DialogManager(shards=16, max_dialogs=1500)
    msgs = [_messages(k) for k in range(THREADS)]
    counts = [dict(added=0, forked=0, removed=0, ended=0, overload=0, rekeyed=0) for _ in range(THREADS)]
    errors = []
    start = threading.Barrier(THREADS)

    def work(k):
        rnd = random.Random(k)
        c = counts[k]
        live = {}  # call index -> [dialogs of that call this thread put in]
        try:
            start.wait()
            for _ in range(OPS):
                i = rnd.randrange(CALLS)
                req, r180, r200, r183 = msgs[k][i]
                op = rnd.random()
                mine = live.get(i)
                if mine is None:
                    d = Dialog.from_uac(req)
                    try:
                        mgr.add(d)
                    except OverloadError:
                        c["overload"] += 1
                        continue
                    c["added"] += 1
                    live[i] = [d]
                    continue
                d = mine[0]
                if op < 0.25:
                    assert mgr.find(r180) is d  # NONE: by Call-ID and our tag; EARLY/CONFIRMED: exact
                elif op < 0.40:
                    if d.state is DialogState.NONE:
                        d.receive(r180 if op < 0.33 else r200)
                        c["rekeyed"] += 1
                    else:
                        assert mgr.get(d.id) is d
                elif op < 0.50:
                    if d.state is DialogState.EARLY and len(mine) == 1:
                        try:
                            mine.append(d.fork(r183))
                            c["forked"] += 1
                        except OverloadError:
                            c["overload"] += 1
                    else:
                        assert d in mgr.find_by_call_id(d.call_id)
                elif op < 0.60:
                    if d.remote_tag:
                        assert mgr.find_by_tags(d.call_id, d.remote_tag, d.local_tag) is d
                elif op < 0.70:
                    # another thread's dialog: it may come and go under us
                    j = rnd.randrange(THREADS)
                    other = mgr.find_by_call_id("c%d.%d@atlanta" % (j, rnd.randrange(CALLS)))
                    for o in other:
                        assert o.call_id.startswith("c%d." % j)
                elif op < 0.85:
                    for x in mine:
                        mgr.remove(x)
                        c["removed"] += 1
                    del live[i]
                else:
                    for x in mine:
                        x.close()
                        c["ended"] += 1
                    del live[i]
        except (AssertionError, DialogStateError, LimitError, ClosedError) as e:  # pragma: no cover
            errors.append(repr(e))

    ts = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []
    tot = {key: sum(c[key] for c in counts) for key in counts[0]}
    live = tot["added"] + tot["forked"] - tot["removed"] - tot["ended"]
    st = mgr.stats()
    assert len(mgr) == live == st["dialogs"] == sum(st["by_state"].values())
    assert st["added"] == tot["added"] + tot["forked"]
    assert st["removed"] == tot["removed"] + tot["ended"]
    assert st["rekeyed"] == tot["rekeyed"]  # a fork is added with its tag: no re-key
    assert st["rejected_overload"] == tot["overload"] and tot["added"] > OPS // 20
    everything = list(mgr)
    assert len(everything) == live == len({x.id for x in everything})
    for x in everything:
        assert mgr.get(x.id) is x and x in mgr
        assert x in mgr.find_by_call_id(x.call_id)
        if x.remote_tag:
            assert mgr.find_by_tags(x.call_id, x.local_tag, x.remote_tag) is x
            assert mgr.find_by_tags(x.call_id, x.remote_tag, x.local_tag) is x
    mgr.close()
    assert len(mgr) == 0 and all(x.state is DialogState.TERMINATED for x in everything)
