#!/usr/bin/env python3
"""Compare sipdialog's C dialog core with GNU oSIP's osip_dialog.

Builds benchmarks/c/bench_dialog and runs it --runs times (default 3) on a
dialog-creating INVITE and its 200 OK, once as they are (a dialog with a
route set) and once with their Record-Route headers removed (no route
set). Prints, for every measurement, the figure of each run, the median of
the runs and, where the dialog issue sets one, the target and whether the
median meets it:

  create     sd_dialog_new_uac(INVITE) + sd_dialog_receive(200 OK) + unref,
             against osip_dialog_init_as_uac(200 OK) + osip_dialog_free
             (both messages parsed beforehand): < 500 ns, >= 7x oSIP
  bye        sd_dialog_create_request(BYE) into an sd_buf, against the same
             BYE built from the osip_dialog_t with osip_message_* calls and
             osip_message_to_str: < 1000 ns
  footprint  sd_dialog_footprint of the confirmed dialog: < 400 bytes for
             the typical dialog (the one with Record-Route)

plus, for information, sipdialog with a user-space clock and random
generator in its env instead of clock_gettime/getrandom (what those calls
cost), the malloc-level figures (blocks the dialog holds,
their malloc_usable_size sum with chunk headers, heap in use per dialog for
both libraries from mallinfo2) and the allocation calls of each step.

    python3 benchmarks/run_dialog_bench.py [--runs N] [--batches N] [--batch-ms MS]
                                           [--copies K] [--invite F] [--response F]

Ratios are osip/sipdialog (how many times faster sipdialog is); the median
ratio is the median of the per-run ratios.
"""
import argparse
import os
import statistics
import subprocess
import sys

from bench_common import run_tsv

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_DIR = os.path.join(HERE, "c")
BENCH = os.path.join(BENCH_DIR, "bench_dialog")
CORPUS = os.path.join(HERE, "corpus")

# (key, label, unit, target kind, target value); kind "<" or ">=" or None
ROWS = [
    ("create.sipdialog", "create: sipdialog", "ns", "<", 500),
    ("create.osip", "create: osip", "ns", None, None),
    ("create.ratio", "create: osip/sipdialog", "x", ">=", 7),
    ("new_uac.sipdialog", "  of which new_uac+unref", "ns", None, None),
    ("create.sipdialog.fast_env", "  sipdialog, user-space env", "ns", None, None),
    ("bye.sipdialog", "BYE: sipdialog", "ns", "<", 1000),
    ("bye.sipdialog.fast_env", "  sipdialog, user-space env", "ns", None, None),
    ("bye.osip", "BYE: osip (by hand)", "ns", None, None),
    ("bye.ratio", "BYE: osip/sipdialog", "x", None, None),
    ("footprint.sipdialog", "footprint (sd_dialog_footprint)", "B", "<", 400),
    ("malloc.sipdialog.blocks", "heap blocks held", "", None, None),
    ("malloc.sipdialog.usable", "malloc_usable_size sum", "B", None, None),
    ("malloc.sipdialog.chunks", "  with chunk headers", "B", None, None),
    ("heap.sipdialog", "heap per dialog: sipdialog", "B", None, None),
    ("heap.osip", "heap per dialog: osip", "B", None, None),
    ("malloc.sipdialog.new_uac_calls", "alloc calls: new_uac", "", None, None),
    ("malloc.sipdialog.receive_calls", "alloc calls: receive(200)", "", None, None),
    ("malloc.sipdialog.bye_calls", "alloc calls: BYE", "", None, None),
]


def run_once(extra, no_rr, files):
    cmd = [BENCH] + extra + (["--no-rr"] if no_rr else []) + ["--"] + files
    return run_tsv(cmd, "bench_dialog")


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "x":
        return "%.2f" % v
    if unit == "ns":
        return "%.1f" % v
    return "%.0f" % v if float(v).is_integer() else "%.1f" % v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batches", type=int, default=31)
    ap.add_argument("--batch-ms", type=int, default=20)
    ap.add_argument("--copies", type=int, default=64)
    ap.add_argument("--invite", default=os.path.join(CORPUS, "invite.sip"))
    ap.add_argument("--response", default=os.path.join(CORPUS, "200_ok.sip"))
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()

    if not args.no_build:
        subprocess.run(["make", "-s", "-C", BENCH_DIR, "bench_dialog"], check=True)
    files = [args.invite, args.response]
    extra = ["--batches", str(args.batches), "--batch-ms", str(args.batch_ms), "--copies", str(args.copies)]

    variants = [("with Record-Route (typical)", False), ("without Record-Route", True)]
    results = {}
    for r in range(args.runs):
        for name, no_rr in variants:
            print("run %d/%d: %s ..." % (r + 1, args.runs, name), file=sys.stderr, flush=True)
            results.setdefault(name, []).append(run_once(extra, no_rr, files))

    print("dialog core: %s + %s; %d runs of %d batches of ~%d ms, %d varied copies"
          % (os.path.basename(args.invite), os.path.basename(args.response), args.runs, args.batches,
             args.batch_ms, args.copies))
    verdicts = []
    for name, no_rr in variants:
        runs = results[name]
        print()
        print(name)
        head = "%-34s" % "measurement" + "".join("%10s" % ("run %d" % (i + 1)) for i in range(args.runs)) + \
            "%10s %10s %6s" % ("median", "target", "met")
        print(head)
        print("-" * len(head))
        for key, label, unit, kind, target in ROWS:
            vals = [r.get(key) for r in runs]
            have = [v for v in vals if v is not None]
            if not have:
                continue
            med = statistics.median(have)
            tgt, met = "", ""
            # the footprint target is for the typical dialog only
            if kind and not (key.startswith("footprint") and no_rr):
                tgt = "%s %s" % (kind, target)
                ok = med < target if kind == "<" else med >= target
                met = "yes" if ok else "NO"
                verdicts.append((name, label, fmt(med, unit) + ("x" if unit == "x" else " " + unit), tgt, met))
            print("%-34s" % label + "".join("%10s" % fmt(v, unit) for v in vals) +
                  "%10s %10s %6s" % (fmt(med, unit), tgt, met))
    print()
    print("targets (medians of the runs):")
    for name, label, val, tgt, met in verdicts:
        print("  %-28s %-34s %12s  target %-7s %s" % (name, label, val, tgt, met))


if __name__ == "__main__":
    main()
