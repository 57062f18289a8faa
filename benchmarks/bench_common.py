"""Helpers the benchmark drivers share."""
import subprocess
import sys


def run_tsv(cmd, tag):
    """Run a C benchmark; return its stdout lines KEY<TAB>VALUE as {key: float}.

    Its stderr is echoed with `tag` in front of each line; a failing
    benchmark ends the driver."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr.splitlines():
        print("  [%s] %s" % (tag, line), file=sys.stderr)
    if proc.returncode != 0:
        sys.exit("%s failed (exit %d): %s" % (tag, proc.returncode, " ".join(cmd)))
    res = {}
    for line in proc.stdout.splitlines():
        key, _, val = line.partition("\t")
        if val:
            res[key] = float(val)
    return res
