#!/usr/bin/env python3
"""Compare sipdialog's C message parser with GNU oSIP, sofia-sip and a floor.

Builds benchmarks/c/bench_parse, runs it once per parser on the same files
and prints the median ns per parse of each file, the ratios
sofia/sipdialog, osip/sipdialog (how many times faster sipdialog is) and
sipdialog/floor (how far sipdialog is above a memchr line split), and the
means over the files every parser accepted.

    python3 benchmarks/run_c_bench.py [--batches N] [--batch-ms MS] [--copies K]
                                      [--rounds R] [--sequential]
                                      [--peers sipdialog,osip,sofia,floor] [FILE...]

Default files: benchmarks/corpus/*.sip (the shared corpus and messages of our
own); files with identical bytes are measured once.

The machine is shared, so its load changes while the benchmark runs. By
default the peers are interleaved: R rounds (default 3), each measuring
every file with every peer in turn (N / R batches each, at least 5), so a
change of load falls on all peers alike; a figure is the median of its
rounds' medians. --sequential measures one peer after the other over all
files, N batches each (the method of the earlier figures).
"""
import statistics
import argparse
import glob
import hashlib
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH_DIR = os.path.join(HERE, "c")
BENCH = os.path.join(BENCH_DIR, "bench_parse")
PEERS = ["sipdialog", "osip", "sofia", "floor"]


def default_files():
    return sorted(glob.glob(os.path.join(HERE, "corpus", "*.sip")))


def dedupe(files):
    seen, out = set(), []
    for f in files:
        with open(f, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            out.append(f)
    return out


def run_peer(peer, files, extra):
    cmd = [BENCH, "--peer", peer] + extra + ["--"] + files
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.stderr:
        for line in proc.stderr.splitlines():
            print("  [%s] %s" % (peer, line), file=sys.stderr)
    res = {}
    for line in proc.stdout.splitlines():
        name, _, val = line.partition("\t")
        if name != "mean" and val:
            res[name] = float(val)
    return res


def fmt(v, width=10, prec=1):
    return ("%*.*f" % (width, prec, v)) if v is not None else "%*s" % (width, "-")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--batches", type=int, default=31)
    ap.add_argument("--batch-ms", type=int, default=20)
    ap.add_argument("--copies", type=int, default=64)
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sequential", action="store_true")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()

    if not args.no_build:
        subprocess.run(["make", "-s", "-C", BENCH_DIR], check=True)
    files = dedupe(args.files or default_files())
    if not files:
        sys.exit("no input files")
    peers = [p for p in args.peers.split(",") if p]
    for p in peers:
        if p not in PEERS:
            sys.exit("unknown peer %s" % p)
    results = {}
    if args.sequential or args.rounds <= 1:
        batches = args.batches
        extra = ["--batches", str(batches), "--batch-ms", str(args.batch_ms), "--copies", str(args.copies)]
        for p in peers:
            print("measuring %s ..." % p, file=sys.stderr, flush=True)
            results[p] = run_peer(p, files, extra)
        method = "%d batches of ~%d ms" % (batches, args.batch_ms)
    else:
        batches = max(5, args.batches // args.rounds)
        extra = ["--batches", str(batches), "--batch-ms", str(args.batch_ms), "--copies", str(args.copies)]
        runs = {}
        for r in range(args.rounds):
            print("round %d of %d ..." % (r + 1, args.rounds), file=sys.stderr, flush=True)
            for f in files:
                for p in peers:
                    for name, val in run_peer(p, [f], extra).items():
                        runs.setdefault(p, {}).setdefault(name, []).append(val)
        for p, per in runs.items():
            # a file a peer rejected in any round counts as rejected
            results[p] = {f: statistics.median(v) for f, v in per.items() if len(v) == args.rounds}
        method = "%d rounds of %d batches of ~%d ms, peers interleaved" % (args.rounds, batches, args.batch_ms)

    def get(p, f):
        return results.get(p, {}).get(f)

    def ratio(a, b):
        return a / b if a is not None and b else None

    ratio_cols = [("sofia/sd", "sofia", "sipdialog"), ("osip/sd", "osip", "sipdialog"),
                  ("sd/floor", "sipdialog", "floor")]
    ratio_cols = [c for c in ratio_cols if c[1] in peers and c[2] in peers]
    namew = max(len(os.path.basename(f)) for f in files + ["file"])
    head = "%-*s %8s" % (namew, "file", "bytes") + "".join("%10s" % p for p in peers) + \
        "".join("%10s" % c[0] for c in ratio_cols)
    print("median ns per parse (%s, %d varied copies per file)" % (method, args.copies))
    print(head)
    print("-" * len(head))
    common = []
    for f in files:
        row = "%-*s %8d" % (namew, os.path.basename(f), os.path.getsize(f))
        row += "".join(fmt(get(p, f)) for p in peers)
        row += "".join(fmt(ratio(get(a, f), get(b, f)), 10, 2) for _, a, b in ratio_cols)
        print(row)
        if all(get(p, f) is not None for p in peers):
            common.append(f)
    print("-" * len(head))
    if common:
        means = {p: sum(get(p, f) for f in common) / len(common) for p in peers}
        # ratio of the means, and the geometric mean of the per-file ratios
        row = "%-*s %8s" % (namew, "mean", "") + "".join(fmt(means[p]) for p in peers)
        row += "".join(fmt(ratio(means[a], means[b]), 10, 2) for _, a, b in ratio_cols)
        print(row)
        geo = []
        for _, a, b in ratio_cols:
            prod = 1.0
            for f in common:
                prod *= get(a, f) / get(b, f)
            geo.append(prod ** (1.0 / len(common)))
        print("%-*s %8s" % (namew, "geomean ratio", "") + " " * (10 * len(peers)) +
              "".join(fmt(g, 10, 2) for g in geo))
        if len(common) < len(files):
            print("(means over the %d files every parser accepted)" % len(common))
    else:
        print("no file was accepted by every parser")
    missing = [f for f in files if f not in common]
    for f in missing:
        who = [p for p in peers if get(p, f) is None]
        print("skipped %s: rejected by %s" % (os.path.basename(f), ", ".join(who)))


if __name__ == "__main__":
    main()
