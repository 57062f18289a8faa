#!/bin/sh
# Build the sipdialog fuzz targets and run each for SECONDS (default 30)
# from its seed corpus; exit non-zero on any crash, leak, sanitizer report
# or failed check. New inputs go to a scratch directory, never into the
# committed seed corpus.
#   fuzz/smoke.sh [SECONDS]
set -eu
SECONDS_PER_TARGET=${1:-30}
HERE=$(cd "$(dirname "$0")" && pwd)
TARGETS="msg uri nameaddr via dialog"

make -s -C "$HERE"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sipdialog-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ART="$HERE/build/artifacts"
mkdir -p "$ART"
status=0
for t in $TARGETS; do
    mkdir -p "$WORK/$t"
    echo "== fuzz_$t: ${SECONDS_PER_TARGET}s"
    if "$HERE/build/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
        -rss_limit_mb=2048 -max_len=8192 -dict="$HERE/sip.dict" \
        -artifact_prefix="$ART/fuzz_$t-" -print_final_stats=1 \
        "$WORK/$t" "$HERE/corpus/$t" >"$WORK/$t.log" 2>&1; then
        grep -E '^stat::(number_of_executed_units|new_units_added)|cov: ' "$WORK/$t.log" | tail -3
    else
        status=1
        echo "fuzz_$t FAILED; log tail:"
        tail -60 "$WORK/$t.log"
        ls -1 "$ART"/fuzz_"$t"-* 2>/dev/null | sed 's/^/reproducer: /'
    fi
done
if [ "$status" -ne 0 ]; then
    echo "smoke: FAILED (reproducers in $ART)"
else
    echo "smoke: all targets ran ${SECONDS_PER_TARGET}s without a crash"
fi
exit $status
