#!/usr/bin/env python3
"""Cost of sipdialog's DialogManager look-ups from Python, against plain
dicts measured in the same run, at several sizes.

Per size N (default 10,000, 100,000 and 1,000,000 confirmed dialogs):

  get         mgr.get(id) vs d.get(id) for a dict {id: Dialog} holding the
              same Dialog objects under the same str keys
  []          mgr[id] vs d[id]
  find        mgr.find(msg) for a parsed in-dialog request (a BYE from the
              remote side: To tag = ours) vs what a harness without a
              store does with the same parsed message: build the key from
              msg.call_id, msg.to_tag and msg.from_tag and look it up in a
              dict keyed by those tuples
  threads     lookups per second through mgr.get_many (one GIL release per
              batch of 1,000 IDs) with 1 and with 2 threads: the ratio
              shows how look-ups scale when the GIL is released

Keys are looked up in a random order (not the insertion order), each
sample runs over 20,000 keys, the figure is the median of --rounds samples
(default 15) of ns per look-up with the garbage collector off; the columns
of a row are interleaved within each round. Targets (issue: the store):
get and find within 3x of the dict; 2 threads >= 1.7x one.

    python benchmarks/bench_manager.py [--sizes 10000,100000,1000000] [--rounds N] [--quick] [--strict]
"""

import argparse
import gc
import platform
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import sipdialog  # noqa: E402

INVITE = ("INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
          "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
          "Max-Forwards: 70\r\nTo: Bob <sip:bob@biloxi.example.com>\r\n"
          "From: Alice <sip:alice@atlanta.example.com>;tag={ftag}\r\n"
          "Call-ID: {cid}\r\nCSeq: 314159 INVITE\r\n"
          "Contact: <sip:alice@pc33.atlanta.example.com>\r\nContent-Length: 0\r\n\r\n")
OK = ("SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
      "Record-Route: <sip:p2.biloxi.example.com;lr>\r\nRecord-Route: <sip:p1.atlanta.example.com;lr>\r\n"
      "To: Bob <sip:bob@biloxi.example.com>;tag={ttag}\r\n"
      "From: Alice <sip:alice@atlanta.example.com>;tag={ftag}\r\n"
      "Call-ID: {cid}\r\nCSeq: 314159 INVITE\r\n"
      "Contact: <sip:bob@192.0.2.4>\r\nContent-Length: 0\r\n\r\n")
BYE = ("BYE sip:alice@pc33.atlanta.example.com SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds7\r\nMax-Forwards: 70\r\n"
       "From: Bob <sip:bob@biloxi.example.com>;tag={ttag}\r\n"
       "To: Alice <sip:alice@atlanta.example.com>;tag={ftag}\r\n"
       "Call-ID: {cid}\r\nCSeq: 231 BYE\r\nContent-Length: 0\r\n\r\n")

SAMPLE = 20000


def build(n, rnd):
    mgr = sipdialog.DialogManager(expected=n, max_dialogs=max(n, 1))
    by_id, by_tuple, byes = {}, {}, []
    for i in range(n):
        cid = "%016x%06d@pc33.atlanta.example.com" % (rnd.getrandbits(64), i)
        ftag, ttag = "%010x" % rnd.getrandbits(40), "%08x" % rnd.getrandbits(32)
        inv = sipdialog.parse(INVITE.format(cid=cid, ftag=ftag))
        dlg = sipdialog.Dialog.from_uac(inv, sipdialog.parse(OK.format(cid=cid, ftag=ftag, ttag=ttag)))
        mgr.add(dlg)
        by_id[dlg.id] = dlg
        by_tuple[(cid, ftag, ttag)] = dlg
        if i < SAMPLE:
            byes.append(sipdialog.parse(BYE.format(cid=cid, ftag=ftag, ttag=ttag)))
    return mgr, by_id, by_tuple, byes


def timed(fn, keys):
    gc.disable()
    t = time.perf_counter_ns()
    fn(keys)
    t = time.perf_counter_ns() - t
    gc.enable()
    return t / len(keys)


def run_size(n, rounds, rnd):
    t0 = time.perf_counter()
    mgr, by_id, by_tuple, byes = build(n, rnd)
    built = time.perf_counter() - t0
    ids = list(by_id)
    rnd.shuffle(ids)
    keys = ids[:SAMPLE]
    rnd.shuffle(byes)
    mg, dg = mgr.get, by_id.get
    # sanity: both sides return the same objects
    assert all(mg(k) is dg(k) for k in keys[:100])
    assert all(mgr.find(b) is by_tuple[(b.call_id, b.to_tag, b.from_tag)] for b in byes[:100])

    def m_get(ks):
        for k in ks:
            mg(k)

    def d_get(ks):
        for k in ks:
            dg(k)

    def m_sub(ks):
        for k in ks:
            mgr[k]

    def d_sub(ks):
        for k in ks:
            by_id[k]

    find = mgr.find

    def m_find(ms):
        for m in ms:
            find(m)

    tg = by_tuple.get

    def d_find(ms):
        for m in ms:
            tg((m.call_id, m.to_tag, m.from_tag))

    cols = {"get": (m_get, d_get, keys), "[]": (m_sub, d_sub, keys), "find": (m_find, d_find, byes)}
    res = {c: ([], []) for c in cols}
    for _ in range(rounds):
        for c, (mf, df, ks) in cols.items():
            res[c][0].append(timed(mf, ks))
            res[c][1].append(timed(df, ks))
    out = {c: (statistics.median(a), statistics.median(b)) for c, (a, b) in res.items()}
    out["threads"] = thread_scaling(mgr, keys, rounds)
    out["built_s"] = built
    mgr.close()
    return out


def thread_scaling(mgr, keys, rounds):
    batches = [keys[i:i + 1000] for i in range(0, len(keys), 1000)]
    many = mgr.get_many

    def worker(reps, out, idx):
        t = time.perf_counter()
        for _ in range(reps):
            for b in batches:
                many(b)
        out[idx] = time.perf_counter() - t

    def rate(nthreads, reps=3):
        out = [0.0] * nthreads
        ts = [threading.Thread(target=worker, args=(reps, out, i)) for i in range(nthreads)]
        t = time.perf_counter()
        for x in ts:
            x.start()
        for x in ts:
            x.join()
        wall = time.perf_counter() - t
        return nthreads * reps * len(keys) / wall

    one, two = [], []
    for _ in range(max(3, rounds // 3)):
        one.append(rate(1))
        two.append(rate(2))
    return statistics.median(one), statistics.median(two)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="10K only, 5 rounds (a smoke run)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    a = ap.parse_args()
    sizes = [10000] if a.quick else [int(x) for x in a.sizes.split(",")]
    rounds = 5 if a.quick else a.rounds
    print("sipdialog.DialogManager look-ups vs dict, Python %s, %s" % (platform.python_version(), platform.machine()))
    print("%-9s %-6s %12s %12s %8s  %s" % ("dialogs", "what", "sipdialog ns", "dict ns", "ratio", "target"))
    rnd = random.Random(20261204)
    ok = True
    for n in sizes:
        r = run_size(n, rounds, rnd)
        for c in ("get", "[]", "find"):
            m, d = r[c]
            ratio = m / d
            good = ratio <= 3.0
            ok = ok and good
            print("%-9d %-6s %12.1f %12.1f %7.2fx  <=3x %s" % (n, c, m, d, ratio, "PASS" if good else "FAIL"))
        one, two = r["threads"]
        good = two / one >= 1.7
        ok = ok and good
        print("%-9d %-6s %12.2f %12.2f %7.2fx  >=1.7x %s   (M look-ups/s: 1 thread, 2 threads; get_many)"
              % (n, "2thr", one / 1e6, two / 1e6, two / one, "PASS" if good else "FAIL"))
        print("%-9d built in %.1f s" % (n, r["built_s"]))
        sys.stdout.flush()
    return 0 if ok or not a.strict else 1


if __name__ == "__main__":
    sys.exit(main())
