#!/bin/sh
# Differential fuzzing of the message parser: an earlier revision against the
# working tree. Use it for every change that should not change behaviour
# (fast paths, refactors): any difference in accept/reject, error offset or
# reason, or a parsed field aborts with the input.
#   fuzz/diff/run.sh REV [SECONDS] [extra CFLAGS, e.g. -U__SSE2__]
# REV is any git revision (HEAD for uncommitted work); needs clang with
# libFuzzer (Debian: clang, libclang-rt-14-dev).
set -eu
REV=${1:?usage: run.sh REV [SECONDS] [CFLAGS]}
SECS=${2:-60}
EXTRA=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sipdialog-diff.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
F="-std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -Wall -Wextra -Werror $EXTRA"
git -C "$ROOT" archive "$REV" csrc | tar -x -C "$WORK"
mkdir -p "$WORK/old" "$WORK/new" "$WORK/corpus"
for f in "$WORK"/csrc/base/*.c "$WORK"/csrc/msg/*.c "$WORK"/csrc/validate/*.c; do
    clang $F -I"$WORK/csrc/include" -I"$WORK/csrc" -c -o "$WORK/old/$(basename "$(dirname "$f")")_$(basename "$f" .c).o" "$f"
done
ld -r -o "$WORK/old_raw.o" "$WORK"/old/*.o
nm --defined-only -g "$WORK/old_raw.o" | awk '$3 ~ /^sd_/ {print $3" old_"$3}' > "$WORK/ren.txt"
objcopy --redefine-syms="$WORK/ren.txt" "$WORK/old_raw.o" "$WORK/old_all.o"
for f in "$ROOT"/csrc/base/*.c "$ROOT"/csrc/msg/*.c "$ROOT"/csrc/validate/*.c; do
    clang $F -I"$ROOT/csrc/include" -I"$ROOT/csrc" -c -o "$WORK/new/$(basename "$(dirname "$f")")_$(basename "$f" .c).o" "$f"
done
clang $F -fsanitize=fuzzer -I"$ROOT/csrc/include" -o "$WORK/diff" "$HERE/fuzz_diff_msg.c" "$WORK/old_all.o" "$WORK"/new/*.o
# seeds: the message corpus with a mode byte in front
i=0
for s in "$ROOT"/fuzz/corpus/msg/*; do
    i=$((i + 1))
    { printf "\\$(printf '%03o' $((i % 64)))"; cat "$s"; } > "$WORK/corpus/seed$i"
done
echo "== $REV vs working tree: ${SECS}s"
mkdir -p "$ROOT/fuzz/build"
if "$WORK/diff" -max_total_time="$SECS" -timeout=10 -max_len=4096 -dict="$ROOT/fuzz/sip.dict" \
    -artifact_prefix="$ROOT/fuzz/build/diff-" "$WORK/corpus" >"$WORK/log" 2>&1; then
    grep -E "DONE" "$WORK/log" | tail -1
    echo "== no mismatch"
else
    grep -E "MISMATCH|^old:|^new:|^new [0-9]|ERROR|SUMMARY" "$WORK/log" | head -20
    echo "== MISMATCH or crash; reproducer in fuzz/build/diff-*"
    exit 1
fi
