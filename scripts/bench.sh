#!/usr/bin/env bash
# bench.sh — callscope against the floors (cat, a bare record walk) and tshark on a generated ~1 GiB capture.
# Manual tool for issue 7's targets (DESIGN.md "Targets"); never run in CI. Bounded: every command runs
# under `timeout`; a default run takes 2-3 minutes (tshark alone 30-90 s), `--long` adds 1-2 minutes.
# Run it on a quiet machine: with 2 cores, any other busy process (a build, a fuzzer) inflates wall times.
#
# Usage: scripts/bench.sh [--data DIR] [--runs N] [--long] [--no-tshark] [--regen] [--calls N] [--seconds S]
#        scripts/bench.sh --sweep [--points N,N,...] [--seconds S] [--seconds-last S] [--tshark-max N] [--noise N]
#   --data DIR    where captures and the walk helper live (default: $BENCH_DATA or <repo>/bench-data, git-ignored)
#   --runs N      timed runs per command; medians are reported (default: $BENCH_RUNS or 5; tshark runs once)
#   --long        also generate a capture of the same calls with 4x longer RTP (~4 GiB) and compare callscope's
#                 peak anonymous memory on both (target: within 10 %)
#   --no-tshark   skip tshark (the slowest line)
#   --regen       regenerate the captures even if present
#   --calls/--seconds  generator parameters (default 940 calls x 50 s = 4.73 M packets, 1.09 GB)
#   --sweep       instead: the calls sweep of issue 13 — short calls (--seconds of RTP each, default 1; the last
#                 point may use --seconds-last to fit the disk), 2 ms apart, 10 % rejected, at each of --points
#                 (default 10000,30000,100000,300000,1000000): callscope 2 threads (median of 3 runs, 1 run
#                 above 100 k), its peak anonymous memory (median of as many runs), whether every call and RTP
#                 packet was correlated, and tshark on the same file side by side up to --tshark-max calls
#                 (default 100000; it is skipped above, or reported as failed when it runs out of time or
#                 memory), with callscope's text report alone (the main job, no JSON) beside it. When
#                 --seconds-last differs, the first point is also run with the last point's shape, and the
#                 linearity ratios are given on the same calls too. With --noise N,
#                 also the noise case: N closed web connections before the lab's proxy-504 call, whose
#                 findings must equal the call's alone.
# Environment: CARGO_TARGET_DIR is honoured (default <repo>/target). Needs cargo, hyperfine, tshark, jq,
# GNU time (/usr/bin/time); the missing ones of hyperfine/tshark/jq/time are installed with apt-get.
#
# What it does:
#  1. cargo build --release --bin callscope --example gencap
#  2. target/release/examples/gencap DATA/synth-c<calls>-s<seconds>.pcap (reused when present: the name is the key)
#  3. cat FILE > /dev/null to warm the page cache (the figures are warm-cache figures)
#  4. measures, each with hyperfine (--runs N, 1 warm-up, JSON export in DATA/results/):
#     cat       `cat FILE` — the I/O floor (page cache to a pipe)
#     walk      a throwaway program (DATA/walk/, built here, depends only on memmap2) that maps the file, hints
#               sequential access and hops over the 16-byte pcap record headers (pcapng: block lengths),
#               counting records — the floor of any tool that maps the file and visits every record
#     walk-read the same walk over read(2) into a 1 MiB buffer (pcap only): no page faults, one copy — shows
#               what the mapping itself costs (faults, page-table teardown at exit)
#     cs-1t     RAYON_NUM_THREADS=1 callscope analyze FILE --json /dev/null --quiet
#     cs-2t     the same with RAYON_NUM_THREADS=2
#     tshark    tshark -q -r FILE -o rtp.heuristic_rtp:TRUE -z rtp,streams -z sip,stat   (one run, /usr/bin/time)
#  5. one more run of each under /usr/bin/time -v for peak RSS ("Maximum resident set size", which counts the
#     pages of a memory-mapped file that were touched); for callscope that run goes through DATA/walk's
#     `cs-rsspeak`, which polls /proc/PID/status every 2 ms and keeps the peak RssAnon (anonymous memory: heap,
#     stacks — what the memory target is about) and the peak RssFile (mapped file pages, reclaimable).
#     Also checks that the JSON of 1 and 2 threads is byte-identical.
#
# Output columns: wall = median seconds (min..max of the runs); cpu = mean user+system seconds (less
# sensitive than wall to other load; > wall means several cores worked); MB/s = file bytes / wall (1e6 B);
# Mpkt/s = records / wall (records counted by the walk); maxRSS = /usr/bin/time -v peak RSS in MiB;
# anon = sampled peak RssAnon in MiB. Ratios: tshark/cs-2t (target >= 50), cs-2t/walk (target <= 2),
# cs-1t/cs-2t (target >= 1.6). The load average is printed: other work on the machine skews the figures.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=${BENCH_DATA:-$REPO/bench-data}
RUNS=${BENCH_RUNS:-5}
LONG=0
SWEEP=0
POINTS=10000,30000,100000,300000,1000000
SECONDS_LAST=
TSHARK_MAX=100000
NOISE=0
TSHARK=1
REGEN=0
CALLS=940
SECONDS_RTP=50
while [[ $# -gt 0 ]]; do
    case $1 in
        --data) DATA=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --long) LONG=1; shift ;;
        --sweep) SWEEP=1; SECONDS_RTP=1; shift ;;
        --points) POINTS=$2; shift 2 ;;
        --seconds-last) SECONDS_LAST=$2; shift 2 ;;
        --tshark-max) TSHARK_MAX=$2; shift 2 ;;
        --noise) NOISE=$2; shift 2 ;;
        --no-tshark) TSHARK=0; shift ;;
        --regen) REGEN=1; shift ;;
        --calls) CALLS=$2; shift 2 ;;
        --seconds) SECONDS_RTP=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
mkdir -p "$DATA/results"
DATA=$(cd "$DATA" && pwd)
RES=$DATA/results

say() { printf '\n== %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------------------
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v jq >/dev/null || need+=(jq)
[[ -x /usr/bin/time ]] || need+=(time)
if [[ $TSHARK == 1 ]] && ! command -v tshark >/dev/null; then need+=(tshark); fi
if [[ ${#need[@]} -gt 0 ]]; then
    say "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -qq && timeout 600 apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- 1. build ----------------------------------------------------------------------------------------
say "building callscope and gencap (release) into $TARGET"
(cd "$REPO" && timeout 1200 cargo build --release --bin callscope --example gencap)
CS=$TARGET/release/callscope
GENCAP=$TARGET/release/examples/gencap

# The walk and the memory sampler: a throwaway cargo project under DATA, not part of the crate.
WALKDIR=$DATA/walk
mkdir -p "$WALKDIR/src/bin"
put() { # put FILE < content: rewrite only when changed, so cargo does not rebuild the helper every run
    local tmp; tmp=$(mktemp "$1.XXXXXX")
    cat >"$tmp"
    if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}
put "$WALKDIR/Cargo.toml" <<'EOF'
[package]
name = "cs-bench-helpers"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
memmap2 = "0.9"

[profile.release]
codegen-units = 1

[workspace]
EOF
put "$WALKDIR/src/bin/cs-walk.rs" <<'EOF'
//! Bare record walk: map the capture, hop from record header to record header, count records and bytes.
//! pcap (both byte orders, µs/ns): 24-byte file header, then 16-byte record headers whose incl_len says how
//! far the next one is. pcapng: every block says its total length at offset 4 (EPB/SPB/PB counted).
//! No decoding, no checks beyond bounds: the floor of any tool that visits every record of a mapped file.
use std::process::ExitCode;

fn u32_at(b: &[u8], at: usize, le: bool) -> Option<u32> {
    let w: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if le { u32::from_le_bytes(w) } else { u32::from_be_bytes(w) })
}

fn walk(b: &[u8]) -> Result<(u64, u64), String> {
    let (mut records, mut bytes) = (0u64, 0u64);
    match u32_at(b, 0, true).ok_or("too short")? {
        m @ (0xa1b2_c3d4 | 0xa1b2_3c4d | 0xd4c3_b2a1 | 0x4d3c_b2a1) => {
            let le = matches!(m, 0xa1b2_c3d4 | 0xa1b2_3c4d);
            let mut at = 24usize;
            while let Some(incl) = u32_at(b, at + 8, le) {
                records += 1;
                bytes += u64::from(incl);
                at += 16 + incl as usize;
            }
        }
        0x0a0d_0d0a => {
            let le = u32_at(b, 8, true) == Some(0x1a2b_3c4d);
            let mut at = 0usize;
            while let (Some(kind), Some(len)) = (u32_at(b, at, le), u32_at(b, at + 4, le)) {
                if len < 12 {
                    return Err(format!("bad block length at {at}"));
                }
                if matches!(kind, 2 | 3 | 6) {
                    records += 1;
                    bytes += u64::from(len);
                }
                at += len as usize;
            }
        }
        m => return Err(format!("not a capture (magic {m:#x})")),
    }
    Ok((records, bytes))
}

/// The same walk over read(2) into a 1 MiB buffer instead of a mapping (pcap only): shows what page
/// faults and page-table teardown of the mapping cost compared with copying out of the page cache.
fn walk_read(mut f: std::fs::File) -> Result<(u64, u64), String> {
    use std::io::Read;
    let mut buf = vec![0u8; 1 << 20];
    let (mut records, mut bytes) = (0u64, 0u64);
    let (mut have, mut at, mut first, mut le) = (0usize, 0usize, true, true);
    let mut skip = 0usize; // bytes of the current record still to pass over, beyond the buffer
    loop {
        // keep the unparsed tail, refill behind it
        buf.copy_within(at..have, 0);
        have -= at;
        at = 0;
        let n = f.read(&mut buf[have..]).map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok((records, bytes));
        }
        have += n;
        if skip > 0 {
            let k = skip.min(have);
            at = k;
            skip -= k;
            if skip > 0 {
                continue;
            }
        }
        if first {
            if have < 24 {
                continue;
            }
            le = matches!(u32_at(&buf, 0, true), Some(0xa1b2_c3d4 | 0xa1b2_3c4d));
            at = 24;
            first = false;
        }
        while let Some(incl) = u32_at(&buf[..have], at + 8, le) {
            if at + 16 > have {
                break;
            }
            records += 1;
            bytes += u64::from(incl);
            let next = at + 16 + incl as usize;
            if next > have {
                skip = next - have;
                at = have;
                break;
            }
            at = next;
        }
    }
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let read_mode = args.first().is_some_and(|a| a == "--read");
    if read_mode {
        args.remove(0);
    }
    let Some(path) = args.first().cloned() else {
        eprintln!("usage: cs-walk [--read] FILE");
        return ExitCode::from(2);
    };
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    if read_mode {
        return match walk_read(file) {
            Ok((records, bytes)) => {
                println!("{records} records {bytes} captured bytes");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{path}: {e}");
                ExitCode::from(1)
            }
        };
    }
    // SAFETY: the capture is not modified while the walk runs (a benchmark input).
    let map = match unsafe { memmap2::Mmap::map(&file) } {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let _ = map.advise(memmap2::Advice::Sequential);
    match walk(&map) {
        Ok((records, bytes)) => {
            println!("{records} records {bytes} captured bytes");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            ExitCode::from(1)
        }
    }
}
EOF
put "$WALKDIR/src/bin/cs-rsspeak.rs" <<'EOF'
//! cs-rsspeak CMD ARGS...: runs CMD, polls /proc/PID/status every 2 ms while it runs and prints
//! `rss_anon_peak_kib rss_file_peak_kib vm_hwm_kib samples` on stderr (last line). Sampling can miss a peak
//! shorter than the interval; it counts the process itself, not its children.
use std::process::{Command, ExitCode};
use std::time::Duration;

fn field(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!("usage: cs-rsspeak CMD ARGS...");
        return ExitCode::from(2);
    };
    let mut child = match Command::new(cmd).args(rest).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{cmd}: {e}");
            return ExitCode::from(2);
        }
    };
    let path = format!("/proc/{}/status", child.id());
    let (mut anon, mut file, mut hwm, mut samples) = (0u64, 0u64, 0u64, 0u64);
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&path) {
            if let Some(v) = field(&s, "RssAnon:") {
                anon = anon.max(v);
                samples += 1;
            }
            file = file.max(field(&s, "RssFile:").unwrap_or(0));
            hwm = hwm.max(field(&s, "VmHWM:").unwrap_or(0));
        }
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => {
                eprintln!("wait: {e}");
                return ExitCode::from(2);
            }
        }
    };
    eprintln!("RSSPEAK {anon} {file} {hwm} {samples}");
    if status.success() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
EOF
say "building the walk helper in $WALKDIR"
HTARGET=${CARGO_TARGET_DIR:-$WALKDIR/target}
timeout 600 cargo build --release --quiet --manifest-path "$WALKDIR/Cargo.toml" --target-dir "$HTARGET"
WALK=$HTARGET/release/cs-walk
RSSPEAK=$HTARGET/release/cs-rsspeak


# --- 2. captures -------------------------------------------------------------------------------------
capture() { # capture SECONDS -> path (generated unless present)
    local f=$DATA/synth-c$CALLS-s$1.pcap
    if [[ $REGEN == 1 || ! -s $f ]]; then
        say "generating $f ($CALLS calls, $1 s of RTP each)"
        timeout 600 "$GENCAP" "$f.tmp" --calls "$CALLS" --seconds "$1" >&2 && mv "$f.tmp" "$f"
    fi
    echo "$f"
}

# --- helpers -----------------------------------------------------------------------------------------
declare -A WALL LO HI CPU MAXRSS ANON
hf() { # hf NAME RUNS CMD... : hyperfine medians into WALL/LO/HI
    local name=$1 runs=$2; shift 2
    timeout 900 hyperfine -N --style basic --runs "$runs" --warmup 1 --export-json "$RES/$name.json" \
        --command-name "$name" -- "$*" >&2
    WALL[$name]=$(jq '.results[0].median' "$RES/$name.json")
    LO[$name]=$(jq '.results[0].min' "$RES/$name.json")
    HI[$name]=$(jq '.results[0].max' "$RES/$name.json")
    CPU[$name]=$(jq '.results[0].user + .results[0].system' "$RES/$name.json")
}
peak() { # peak NAME CMD... : one run under /usr/bin/time -v (and cs-rsspeak) for RSS
    local name=$1; shift
    timeout 900 /usr/bin/time -v -o "$RES/$name.time" "$RSSPEAK" "$@" >/dev/null 2>"$RES/$name.rss"
    MAXRSS[$name]=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$RES/$name.time")
    ANON[$name]=$(awk '/^RSSPEAK/ {printf "%.1f", $2/1024}' "$RES/$name.rss")
}
peaks() { # peaks NAME N CMD... : N runs of peak; ANON is their median (one run's peak varies by a few MiB)
    local name=$1 n=$2 i; shift 2
    local all=()
    for (( i = 0; i < n; i++ )); do peak "$name" "$@"; all+=("${ANON[$name]}"); done
    ANON[$name]=$(printf '%s\n' "${all[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
}
measure() { # measure FILE TAG : cat, walk, callscope 1 and 2 threads
    local f=$1 t=$2
    say "warming the page cache: $f"
    cat "$f" >/dev/null
    hf "cat$t" "$RUNS" cat "$f"
    hf "walk$t" "$RUNS" "$WALK" "$f"
    hf "walk-read$t" "$RUNS" "$WALK" --read "$f"
    hf "cs-1t$t" "$RUNS" env RAYON_NUM_THREADS=1 "$CS" analyze "$f" --json /dev/null --quiet
    hf "cs-2t$t" "$RUNS" env RAYON_NUM_THREADS=2 "$CS" analyze "$f" --json /dev/null --quiet
    peak "cat$t" cat "$f"
    peak "walk$t" "$WALK" "$f"
    peak "walk-read$t" "$WALK" --read "$f"
    peak "cs-1t$t" env RAYON_NUM_THREADS=1 "$CS" analyze "$f" --json /dev/null --quiet
    peak "cs-2t$t" env RAYON_NUM_THREADS=2 "$CS" analyze "$f" --json /dev/null --quiet
    # env execs callscope in place, so cs-rsspeak samples callscope itself.
}

# --- sweep (issue 13): calls at scale, against tshark -----------------------------------------------
sweep_file() { # sweep_file CALLS SECONDS : the sweep capture of that shape, generated when missing
    local f=$DATA/sweep-c$1-s$2.pcap
    if [[ $REGEN == 1 || ! -s $f ]]; then
        say "generating $f ($1 calls, $2 s of RTP, 2 ms apart, 10 % rejected)"
        timeout 3600 "$GENCAP" "$f.tmp" --calls "$1" --seconds "$2" --spacing-ms 2 --failed 10 >&2 \
            && mv "$f.tmp" "$f"
    fi
    echo "$f"
}
if [[ $SWEEP == 1 ]]; then
    declare -A ROW
    IFS=, read -r -a PTS <<<"$POINTS"
    last=${PTS[-1]}
    for n in "${PTS[@]}"; do
        secs=$SECONDS_RTP
        [[ $n == "$last" && -n $SECONDS_LAST ]] && secs=$SECONDS_LAST
        f=$(sweep_file "$n" "$secs")
        bytes=$(stat -c %s "$f")
        records=$("$WALK" "$f" | cut -d' ' -f1)
        cat "$f" >/dev/null
        runs=3
        (( n > 100000 )) && runs=1
        hf "sweep-$n" "$runs" env RAYON_NUM_THREADS=2 "$CS" analyze "$f" --json /dev/null --quiet
        peaks "sweep-$n" "$runs" env RAYON_NUM_THREADS=2 "$CS" analyze "$f" --json /dev/null --quiet
        text=-
        if (( n <= TSHARK_MAX )); then
            # The main job as a user runs it: the text report only.
            hf "sweep-text-$n" "$runs" env RAYON_NUM_THREADS=2 "$CS" analyze "$f" --quiet
            text=${WALL[sweep-text-$n]}
        fi
        # Every call correlated, every RTP packet analysed: the text report says otherwise when not.
        head=$(timeout 3600 "$CS" analyze "$f" --quiet | head -12 || true)
        calls=$(grep -oE '[0-9]+ calls?,' <<<"$head" | head -1 | grep -oE '[0-9]+')
        if [[ $calls == "$n" ]] && ! grep -qE 'not correlated|beyond the connection/stream limits' <<<"$head"; then
            ok=yes
        else
            ok="NO ($calls calls)"
        fi
        ts=-
        if [[ $TSHARK == 1 ]] && (( n <= TSHARK_MAX )); then
            say "tshark on $n calls (one run)"
            if timeout 3600 /usr/bin/time -v -o "$RES/tshark-$n.time" tshark -n -q -r "$f" -o rtp.heuristic_rtp:TRUE \
                -z rtp,streams -z sip,stat >"$RES/tshark-$n.out" 2>&1; then
                ts=$(awk '/Elapsed \(wall clock\)/ {n=split($NF,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$RES/tshark-$n.time")
            else
                ts=failed
            fi
        fi
        ROW[$n]="$bytes $records ${WALL[sweep-$n]} ${ANON[sweep-$n]} $ts $ok $secs $text"
    done
    # The last point's shape at the first point's size, when they differ: linearity is judged on the same calls.
    same_line=
    first=${PTS[0]}
    if [[ -n $SECONDS_LAST && $SECONDS_LAST != "$SECONDS_RTP" ]]; then
        f=$(sweep_file "$first" "$SECONDS_LAST")
        r=$("$WALK" "$f" | cut -d' ' -f1)
        cat "$f" >/dev/null
        hf "sweep-same-$first" 3 env RAYON_NUM_THREADS=2 "$CS" analyze "$f" --json /dev/null --quiet
        peaks "sweep-same-$first" 3 env RAYON_NUM_THREADS=2 "$CS" analyze "$f" --json /dev/null --quiet
        read -r _ r1 w1 a1 _ <<<"${ROW[$last]}"
        same_line=$(awk -v r0="$r" -v w0="${WALL[sweep-same-$first]}" -v a0="${ANON[sweep-same-$first]}" \
            -v r1="$r1" -v w1="$w1" -v a1="$a1" -v f="$first" -v l="$last" -v s="$SECONDS_LAST" \
            'BEGIN { printf "same shape (%s s of RTP) at %d calls: %.2f s, %.2f Mpkt/s, anon %.1f MiB; Mpkt/s at %d / at %d = %.2f (target >= 0.8); anon at %d / at %d = %.2f (target <= 1.2)\n",
                     s, f, w0, r0/w0/1e6, a0, l, f, (r1/w1)/(r0/w0), l, f, a1/a0 }')
    fi
    noise_line=
    if (( NOISE > 0 )); then
        nf=$DATA/noise-$NOISE.pcap
        [[ -s $nf ]] || timeout 3600 "$GENCAP" "$nf" --calls 0 --noise "$NOISE" --append "$REPO/testdata/lab/tcp-syn-dropped-proxy.pcap" >&2
        hf "noise" 1 env RAYON_NUM_THREADS=2 "$CS" analyze "$nf" --json /dev/null --quiet
        peak "noise" env RAYON_NUM_THREADS=2 "$CS" analyze "$nf" --json /dev/null --quiet
        codes() { timeout 3600 "$CS" analyze "$1" --ndjson - --quiet | jq -c '[.findings[] | [.code, .severity]]'; }
        if [[ "$(codes "$nf")" == "$(codes "$REPO/testdata/lab/tcp-syn-dropped-proxy.pcap")" ]]; then same=same; else same=DIFFERENT; fi
        noise_line="noise: $NOISE closed connections then the proxy-504 call: ${WALL[noise]} s, anon ${ANON[noise]} MiB, findings $same as the call alone"
    fi
    {
        echo
        echo "callscope calls sweep — $(date -u +%FT%TZ), $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
        echo
        echo "| calls | RTP s | size MB | packets M | callscope 2t s | Mpkt/s | anon MiB | tshark s | tshark / callscope | text only s | tshark / text only | all correlated |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
        for n in "${PTS[@]}"; do
            read -r bytes records wall anon ts ok secs text <<<"${ROW[$n]}"
            awk -v n="$n" -v b="$bytes" -v r="$records" -v w="$wall" -v a="$anon" -v t="$ts" -v ok="$ok" -v s="$secs" -v x="$text" \
                'BEGIN { ratio = (t ~ /^[0-9.]+$/) ? sprintf("%.1f", t / w) : "-";
                         xs = (x ~ /^[0-9.]+$/) ? sprintf("%.2f", x) : "-";
                         xr = (t ~ /^[0-9.]+$/ && x ~ /^[0-9.]+$/) ? sprintf("%.1f", t / x) : "-";
                         printf "| %d | %s | %.0f | %.2f | %.2f | %.2f | %s | %s | %s | %s | %s | %s |\n", n, s, b/1e6, r/1e6, w, r/w/1e6, a, t, ratio, xs, xr, ok }'
        done
        read -r _ r0 w0 a0 _ <<<"${ROW[$first]}"
        read -r _ r1 w1 a1 _ <<<"${ROW[$last]}"
        awk -v r0="$r0" -v w0="$w0" -v a0="$a0" -v r1="$r1" -v w1="$w1" -v a1="$a1" -v f="$first" -v l="$last" \
            'BEGIN { printf "\nMpkt/s at %d / at %d = %.2f (target >= 0.8); anon at %d / at %d = %.2f (target <= 1.2, and < 256 MiB)\n",
                     l, f, (r1/w1)/(r0/w0), l, f, a1/a0 }'
        [[ -n $same_line ]] && echo "$same_line"
        [[ -n $noise_line ]] && echo "$noise_line"
        echo "callscope: analyze FILE --json /dev/null --quiet (text report to stdout, JSON written and discarded);" \
            "text only: analyze FILE --quiet; anon: median of the runs' sampled peaks;" \
            "tshark: -n -q -o rtp.heuristic_rtp:TRUE -z rtp,streams -z sip,stat; warm page cache"
    } | tee "$RES/sweep.md"
    exit 0
fi

FILE=$(capture "$SECONDS_RTP")

# --- 3-5. measurements -------------------------------------------------------------------------------
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
BYTES=$(stat -c %s "$FILE")
RECORDS=$("$WALK" "$FILE" | cut -d' ' -f1)
measure "$FILE" ""
CACHED=$(fincore -nb -o RES "$FILE" 2>/dev/null | awk -v b="$BYTES" '{printf "%.0f %%", 100*$1/b}') || CACHED="?"

say "determinism: JSON with 1 and 2 threads"
RAYON_NUM_THREADS=1 timeout 300 "$CS" analyze "$FILE" --json "$RES/out-1t.json" --quiet >/dev/null
RAYON_NUM_THREADS=2 timeout 300 "$CS" analyze "$FILE" --json "$RES/out-2t.json" --quiet >/dev/null
if cmp -s "$RES/out-1t.json" "$RES/out-2t.json"; then SAME=identical; else SAME=DIFFERENT; fi

if [[ $TSHARK == 1 ]]; then
    say "tshark (one run, ~90 s)"
    timeout 900 /usr/bin/time -v -o "$RES/tshark.time" \
        tshark -q -r "$FILE" -o rtp.heuristic_rtp:TRUE -z rtp,streams -z sip,stat >"$RES/tshark.out" 2>&1
    WALL[tshark]=$(awk '/Elapsed \(wall clock\)/ {n=split($NF,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$RES/tshark.time")
    LO[tshark]=${WALL[tshark]}
    HI[tshark]=${WALL[tshark]}
    CPU[tshark]=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$RES/tshark.time")
    MAXRSS[tshark]=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$RES/tshark.time")
    ANON[tshark]=-
fi

if [[ $LONG == 1 ]]; then
    LFILE=$(capture $((SECONDS_RTP * 4)))
    LBYTES=$(stat -c %s "$LFILE")
    LRECORDS=$("$WALK" "$LFILE" | cut -d' ' -f1)
    RUNS_SAVED=$RUNS
    RUNS=3
    measure "$LFILE" "-long"
    RUNS=$RUNS_SAVED
fi
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# --- table -------------------------------------------------------------------------------------------
row() { # row NAME BYTES RECORDS
    local n=$1
    [[ -n ${WALL[$n]:-} ]] || return 0
    awk -v n="$n" -v w="${WALL[$n]}" -v lo="${LO[$n]}" -v hi="${HI[$n]}" -v b="$2" -v r="$3" \
        -v rss="${MAXRSS[$n]:--}" -v anon="${ANON[$n]:--}" -v cpu="${CPU[$n]:-0}" \
        'BEGIN { printf "| %-14s | %7.3f (%7.3f..%7.3f) | %7.3f | %8.0f | %7.2f | %10s | %8s |\n", n, w, lo, hi, cpu, b/w/1e6, r/w/1e6, rss, anon }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a/b }'; }
{
    echo
    echo "callscope bench — $(date -u +%FT%TZ), $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD -- src 2>/dev/null || echo '+dirty'), $(nproc) CPUs, load $LOAD0 -> $LOAD1"
    echo "capture: $(basename "$FILE"): $BYTES bytes, $RECORDS records ($CALLS calls x $SECONDS_RTP s), warm cache, medians of $RUNS runs (tshark: 1)"
    echo
    echo "| command        | wall s (min..max)          |   cpu s |     MB/s |  Mpkt/s | maxRSS MiB | anon MiB |"
    echo "|----------------|----------------------------|---------|----------|---------|------------|----------|"
    for n in cat walk walk-read cs-1t cs-2t tshark; do row "$n" "$BYTES" "$RECORDS"; done
    if [[ $LONG == 1 ]]; then
        for n in cat walk walk-read cs-1t cs-2t; do row "$n-long" "$LBYTES" "$LRECORDS"; done
    fi
    echo
    echo "tshark / cs-2t = $(ratio "${WALL[tshark]:-}" "${WALL[cs-2t]}") (target >= 50);" \
        "cs-2t / walk = $(ratio "${WALL[cs-2t]}" "${WALL[walk]}") (target <= 2);" \
        "cs-1t / cs-2t = $(ratio "${WALL[cs-1t]}" "${WALL[cs-2t]}") (target >= 1.6)"
    echo "cs-2t wall $(ratio "${WALL[cs-2t]}" 1) s (target <= 1.5); anon peak ${ANON[cs-2t]} MiB (target < 256);" \
        "JSON 1 vs 2 threads: $SAME"
    if [[ $LONG == 1 ]]; then
        echo "memory flatness: anon peak 4x-long / 1x: cs-1t $(ratio "${ANON[cs-1t-long]}" "${ANON[cs-1t]}")," \
            "cs-2t $(ratio "${ANON[cs-2t-long]}" "${ANON[cs-2t]}") (target <= 1.10)"
    fi
    echo "page cache: ${CACHED:-?} of the capture resident after the runs (below 100 %: the figures include disk reads)"
    echo "maxRSS = /usr/bin/time -v (includes touched pages of the mapped file); anon = peak RssAnon sampled every 2 ms"
    echo "raw: $RES/*.json (hyperfine), *.time (GNU time), tshark.out"
} | tee "$RES/table.md"
