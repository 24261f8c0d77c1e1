#!/usr/bin/env bash
# Builds every fuzz target and runs each for N seconds (default 20), one at a time, on one core.
#
#   fuzz/smoke.sh [SECONDS] [TARGET...]
#
# Works on the stable toolchain: RUSTC_BOOTSTRAP=1 lets stable rustc accept the -Z sanitizer flags
# cargo-fuzz passes. Needs `cargo install cargo-fuzz` (0.13). Exits non-zero on the first crash,
# leak, timeout or out-of-memory; the input is left in fuzz/artifacts/<target>/.
set -euo pipefail

cd "$(dirname "$0")"
secs="${1:-20}"
shift || true
export RUSTC_BOOTSTRAP=1
# The pipeline (and extract_redact, which runs it) spreads chunks over rayon threads; one thread keeps
# the run on one core.
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build

for t in "${targets[@]}"; do
    case "$t" in
        capture | pipeline | extract_redact) max_len=65536 ;;
        *) max_len=4096 ;;
    esac
    mkdir -p "corpus/$t"
    echo "=== $t: ${secs}s"
    # Seeds (if any) live in corpus/<t>; new inputs are added there. -timeout/-rss_limit_mb turn hangs
    # and memory blow-ups into failures. Single process (no -jobs/-workers): one core.
    rc=0
    cargo fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"corpus/.$t.log" 2>&1 || rc=$?
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done |SUMMARY)|panicked' "corpus/.$t.log" || true
    if [ "$rc" -ne 0 ]; then
        echo "!!! $t failed (exit $rc); see fuzz/corpus/.$t.log and fuzz/artifacts/$t/" >&2
        tail -n 30 "corpus/.$t.log" >&2
        exit 1
    fi
done
echo "all ${#targets[@]} targets ran ${secs}s without a finding"
