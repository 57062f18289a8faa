#!/usr/bin/env python3
"""Benchmark sipdialog's sharded dialog store (csrc/store/) at 10K to 1M dialogs.

Builds benchmarks/c/bench_store and runs it: for each size, memory in a
fresh process of its own, then look-ups, creation plus insertion and (at
10K and 1M) two reader threads in another; the hash functions once. Prints
a table of medians and ratios with the targets of the store and whether
each is met (PASS/FAIL):

  look-up    sd_store_get + sd_dialog_unref on random keys, against the
             floor (a plain single-threaded open-addressing table of the
             same keys, same hash, full key comparison): store/floor <= 1.5
  creation   sd_dialog_new_uac + sd_dialog_receive(200) + sd_store_add per
             dialog: < 1000 ns
  memory     RSS growth per stored confirmed dialog: < 400 bytes at 1M
  threads    look-ups per second, 2 threads / 1 thread: >= 1.7

and, for comparison, a single-mutex map and a linear scan of the dialogs
(the first Python manager's two designs), two diagnostic tables that
isolate what the store's layout and its reference count cost, the floor's
own two-thread scaling (what the machine allows), and FNV-1a, SipHash-1-3
and SipHash-2-4 on the keys.

    python3 benchmarks/run_store_bench.py [--quick] [--sizes 10000,100000,1000000]
                                          [--runs R] [--batches K] [--batch-ms MS]
                                          [--thread-ms MS] [--initial] [--no-build]

--quick: 10K and 100K only, few short batches (a CI smoke run, < 30 s).
Every figure is a median over batches in which the compared variants are
interleaved; with --runs R > 1 the table shows the median of the R runs.
"""
import argparse
import os
import statistics
import subprocess
import sys

from bench_common import run_tsv

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_DIR = os.path.join(HERE, "c")
BENCH = os.path.join(BENCH_DIR, "bench_store")

# (key prefix, label, unit, target kind, target value, sizes the target is for: None = all)
ROWS = [
    ("lookup.store", "look-up: store (ns)", "ns", None, None, None),
    ("lookup.floor", "look-up: floor (ns)", "ns", None, None, None),
    ("lookup.ratio", "look-up: store/floor", "x", "<=", 1.5, None),
    ("lookup.mutex", "look-up: single-mutex map (ns)", "ns", None, None, None),
    ("lookup.linear", "look-up: linear scan (ns)", "ns", None, None, None),
    ("lookup.layout", "  diag: floor table of the dialogs (ns)", "ns", None, None, None),
    ("lookup.layout_ref", "  diag: the same + ref/unref (ns)", "ns", None, None, None),
    ("create.add", "create + add (ns/dialog)", "ns", "<", 1000, None),
    ("create.only", "  create alone (ns/dialog)", "ns", None, None, None),
    ("create.insert", "  insertion (difference, ns)", "ns", None, None, None),
    ("create.add_mean", "  create + add, mean over all N (ns)", "ns", None, None, None),
    ("memory.rss", "memory: RSS per dialog (B)", "B", "<", 400, {1000000}),
    ("memory.heap", "  heap per dialog (mallinfo2, B)", "B", None, None, None),
    ("memory.footprint", "  dialog: sd_dialog_footprint (B)", "B", None, None, None),
    ("memory.store", "  store: stats .bytes / N (B)", "B", None, None, None),
    ("memory.malloc", "  malloc overhead: heap - both (B)", "B", None, None, None),
    ("threads.store.1", "threads: store, 1 thread (M/s)", "M", None, None, None),
    ("threads.store.2", "threads: store, 2 threads (M/s)", "M", None, None, None),
    ("threads.store.ratio", "threads: store 2T/1T", "x", ">=", 1.7, None),
    ("threads.floor.ratio", "  floor 2T/1T (the machine's ceiling)", "x", None, None, None),
    ("threads.mutex.ratio", "  single-mutex map 2T/1T", "x", None, None, None),
]


def run(what_args):
    return run_tsv([BENCH] + what_args, "bench_store")


UNIT_FORMAT = {"x": "%.2fx", "M": "%.2f", "B": "%.0f"}


def fmt(v, unit):
    if v is None:
        return "-"
    if unit in UNIT_FORMAT:
        return UNIT_FORMAT[unit] % v
    return "%.1f" % v if v < 10000 else "{:,.0f}".format(v)


def met(kind, target, v):
    return v <= target if kind == "<=" else v < target if kind == "<" else v >= target


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--batches", type=int)
    ap.add_argument("--batch-ms", type=int)
    ap.add_argument("--thread-ms", type=int)
    ap.add_argument("--initial", action="store_true", help="pre-size the store's tables for N")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()

    q = args.quick
    sizes = [int(s) for s in (args.sizes or ("10000,100000" if q else "10000,100000,1000000")).split(",")]
    thread_sizes = [s for s in sizes if s in (10000, 1000000)] or sizes[:1]
    common = ["--batches", str(args.batches or (7 if q else 31)),
              "--batch-ms", str(args.batch_ms or (5 if q else 20)),
              "--thread-ms", str(args.thread_ms or (30 if q else 100))]
    if args.initial:
        common.append("--initial")
    if not args.no_build:
        subprocess.run(["make", "-s", "-C", BENCH_DIR, "bench_store"], check=True)

    runs = []
    for r in range(args.runs):
        res = {}
        for n in sizes:
            print("run %d/%d: %d dialogs, memory ..." % (r + 1, args.runs, n), file=sys.stderr, flush=True)
            res.update(run(common + ["--what", "memory", "--sizes", str(n)]))
            what = "lookup,create" + (",threads" if n in thread_sizes else "")
            print("run %d/%d: %d dialogs, %s ..." % (r + 1, args.runs, n, what), file=sys.stderr, flush=True)
            res.update(run(common + ["--what", what, "--sizes", str(n),
                                           "--threads-at", ",".join(map(str, thread_sizes))]))
            if "memory.heap.%d" % n in res:
                res["memory.malloc.%d" % n] = (res["memory.heap.%d" % n] - res["memory.footprint.%d" % n]
                                               - res["memory.store.%d" % n])
        print("run %d/%d: hashes ..." % (r + 1, args.runs), file=sys.stderr, flush=True)
        res.update(run(common + ["--what", "hash"]))
        runs.append(res)

    def fig(key):
        vals = [r[key] for r in runs if key in r]
        return statistics.median(vals) if vals else None

    print("dialog store: confirmed UAC dialogs (INVITE + 200 OK with 2 Record-Route, Contact); "
          "%s; %d run(s)" % (" ".join(common), args.runs))
    head = "%-42s" % "measurement" + "".join("%12s" % ("N=%s" % "{:,}".format(n)) for n in sizes) + \
        "%10s" % "target"
    print(head)
    print("-" * len(head))
    verdicts = []
    for key, label, unit, kind, target, tsizes in ROWS:
        vals = [fig("%s.%d" % (key, n)) for n in sizes]
        if all(v is None for v in vals):
            continue
        cells = []
        for n, v in zip(sizes, vals):
            cell = fmt(v, unit)
            if kind and v is not None and (tsizes is None or n in tsizes):
                ok = met(kind, target, v)
                cell += " " + ("PASS" if ok else "FAIL")
                verdicts.append((label, n, fmt(v, unit), "%s %s" % (kind, target), ok))
            cells.append(cell)
        tgt = ("%s %s" % (kind, target)) if kind else ""
        if kind and tsizes:
            tgt += " at " + ",".join("{:,}".format(s) for s in sorted(tsizes))
        print("%-42s" % label + "".join("%12s" % c for c in cells) + "  %s" % tgt)

    print()
    print("hashes (ns per hash of one key, cycling over 10,000 keys; ratio to SipHash-1-3)")
    print("%-12s %14s %10s %14s %10s" % ("hash", "Call-ID (39 B)", "ratio", "tag (8-10 B)", "ratio"))
    for h in ("fnv1a64", "siphash13", "siphash24"):
        c, t = fig("hash.%s.callid" % h), fig("hash.%s.tag" % h)
        cr, tr = fig("hash.%s.ratio.callid" % h), fig("hash.%s.ratio.tag" % h)
        if c is not None:
            print("%-12s %14.1f %9.2fx %14.1f %9.2fx" % (h, c, cr, t, tr))

    print()
    print("targets:")
    for label, n, val, tgt, ok in verdicts:
        print("  %-34s N=%-10s %12s  target %-8s %s" % (label, "{:,}".format(n), val, tgt, "PASS" if ok else "FAIL"))


if __name__ == "__main__":
    main()
