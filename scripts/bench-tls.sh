#!/usr/bin/env bash
# bench-tls.sh — decryption throughput: SIP over TLS recorded on a namespace's loopback, decrypted by callscope.
# Manual tool for issue 16 (never run in CI); needs root (a network namespace), python3, tcpdump, tshark.
#
# Usage: sudo scripts/bench-tls.sh [--data DIR] [--mb N]
#   --data DIR  where captures go (default: $BENCH_DATA or <repo>/bench-data, git-ignored)
#   --mb N      MB of SIP each connection carries (default 64)
#
# For each of TLS 1.3 AES-256-GCM, TLS 1.3 ChaCha20-Poly1305, TLS 1.2 AES-128-GCM and TLS 1.2
# AES-256-CBC-SHA384, scripts/lab/tls_sip.py's UAC sends N MB of SIP MESSAGE requests over one TLS connection
# to its UAS in a namespace created here (lo only), captured by tcpdump with the client's key log. Then
# callscope analyze runs without and with --keylog (release build, 2 threads, best of 3) and the report
# gives MB of TLS records per second of the extra time decryption costs, and of the whole run.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
DATA=${BENCH_DATA:-$ROOT/bench-data}
MB=64
while [[ $# -gt 0 ]]; do
    case $1 in
        --data) DATA=$2; shift 2 ;;
        --mb) MB=$2; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ $(id -u) == 0 ]] || { echo "needs root (a network namespace)" >&2; exit 1; }
mkdir -p "$DATA/tls"
NS=bench-tls
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
trap 'ip netns del "$NS" 2>/dev/null || true' EXIT
ip netns exec "$NS" ip link set lo up
CA=$DATA/tls/ca
mkdir -p "$CA"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=bench.example" \
    -addext "subjectAltName=DNS:bench.example" -keyout "$CA/key.pem" -out "$CA/cert.pem" 2>/dev/null
printf 'openssl_conf=init\n[init]\nssl_conf=ssl\n[ssl]\nsystem_default=sys\n[sys]\nCiphersuites=TLS_CHACHA20_POLY1305_SHA256\n' \
    >"$CA/chacha.cnf"
cargo build --release --bin callscope --manifest-path "$ROOT/Cargo.toml" -q
CS=${CARGO_TARGET_DIR:-$ROOT/target}/release/callscope

record() {  # record NAME [client args] — one connection of $MB MB
    local name=$1; shift
    local pcap=$DATA/tls/$name.pcap keys=$DATA/tls/$name.keylog
    rm -f "$keys"
    ip netns exec "$NS" timeout 120 tcpdump -i lo -s 0 -B 65536 -U -Z root -w "$pcap" tcp port 5061 2>"$DATA/tls/$name.tcpdump.log" &
    local dump=$!
    sleep 1
    ip netns exec "$NS" timeout 120 python3 "$HERE/lab/tls_sip.py" serve --listen 127.0.0.1:5061 \
        --cert "$CA/cert.pem" --key "$CA/key.pem" --ciphers "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES" &
    local srv=$!
    sleep 0.5
    ip netns exec "$NS" timeout 120 python3 "$HERE/lab/tls_sip.py" call --connect 127.0.0.1:5061 \
        --local 127.0.0.1 --flood "$MB" --keylog "$keys" "$@"
    wait "$srv" || true
    sleep 0.5
    kill -INT "$dump"; wait "$dump" || true
}

best() {  # best of 3 wall seconds of: callscope analyze ARGS
    local b=999999 t
    for _ in 1 2 3; do
        t=$( { /usr/bin/time -f %e "$CS" analyze --quiet --json /dev/null "$@" >/dev/null; } 2>&1 | tail -1)
        b=$(python3 -c "print(min($b, $t))")
    done
    echo "$b"
}

printf '%-26s %9s %8s %8s %9s %10s %10s\n' case "TLS MB" "plain s" "keys s" "SIP msgs" "MB/s total" "MB/s extra"
for c in "tls13-aes256 --max 1.3" "tls13-chacha --max 1.3" "tls12-aes128gcm --max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256" \
         "tls12-cbc384 --max 1.2 --ciphers ECDHE-RSA-AES256-SHA384"; do
    read -r name args <<<"$c"
    # shellcheck disable=SC2086
    if [[ $name == tls13-chacha ]]; then OPENSSL_CONF=$CA/chacha.cnf record "$name" $args; else record "$name" $args; fi
    pcap=$DATA/tls/$name.pcap
    # TLS bytes: all TCP payload of the connection (records and their headers).
    tls_mb=$(tshark -r "$pcap" -T fields -e tcp.len 2>/dev/null | awk '{s += $1} END {printf "%.1f", s / 1e6}')
    plain=$(best "$pcap")
    keyed=$(best --keylog "$DATA/tls/$name.keylog" "$pcap")
    msgs=$("$CS" analyze --quiet --keylog "$DATA/tls/$name.keylog" --json - "$pcap" | python3 -c \
        'import json,sys; print(json.load(sys.stdin)["summary"]["sip_messages"])')
    python3 - "$name" "$tls_mb" "$plain" "$keyed" "$msgs" <<'EOF'
import sys
name, mb, plain, keyed, msgs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
extra = max(keyed - plain, 1e-3)
print(f"{name:<26} {mb:9.1f} {plain:8.2f} {keyed:8.2f} {msgs:>9} {mb / keyed:10.0f} {mb / extra:10.0f}")
EOF
done
