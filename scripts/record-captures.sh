#!/usr/bin/env bash
# record-captures.sh — record real SIP failure scenarios in a network-namespace lab.
#
# Usage: sudo scripts/record-captures.sh [scenario...]     (no argument = all scenarios)
#        sudo scripts/record-captures.sh --list
# Writes testdata/lab/<scenario>.pcap and testdata/lab/<scenario>.tshark.txt (what tshark sees); see testdata/lab/README.md.
# Load tests (scenarios load-*: a thousand calls and more) go to testdata/load/ instead, out of the way of
# the tests that check every call of every lab capture.
#
# Topology (rebuilt from scratch for every scenario, so runs are idempotent and independent):
#
#   lab-caller 192.0.2.10 (sipp UAC) ─┐
#   lab-proxy  192.0.2.20 (kamailio) ─┤  bridge lab-br0 in namespace lab-sw   <- tcpdump here = switch mirror port
#   lab-app1   192.0.2.31 (sipp UAS) ─┤      (bridge is promiscuous, so it sees every forwarded frame)
#   lab-app2   192.0.2.32 (sipp UAS) ─┘
#
# The "firewall" is an nft ruleset (scripts/lab/*.nft) inside lab-app1, like a host firewall on the
# application server; impairments "on the wire" are nft netdev ingress rules on the switch ports.
# Only the documentation prefix 192.0.2.0/24 is used, only on veths inside namespaces this script creates.
# Every sipp/kamailio/tcpdump/openssl run is wrapped in `timeout`; an EXIT trap stops them and deletes the
# namespaces (a leftover lab from a killed run is deleted before the next scenario is built).
# Needs: ip + ss (iproute2), sipp (Debian sip-tester), kamailio, tcpdump, tshark, nft, python3, openssl.
# Runs hold /tmp/callscope-lab.lock: a second run waits for the first (the namespace names are fixed).
# LAB_KEEP_LOGS=/some/dir keeps the sipp/kamailio/tcpdump logs of the run there.
# scripts/lab/: sipp scenarios (uac-*.xml, uas-*.xml), kamailio.cfg, nft rulesets, gen_media.py.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$HERE/lab
# One lab at a time on this machine: the namespaces have fixed names, so concurrent runs (several
# work trees, several engineers) wait for each other instead of tearing each other's lab down.
exec 9>/tmp/callscope-lab.lock
flock 9
OUT=$(cd "$HERE/.." && pwd)/testdata/lab
RUN=$(mktemp -d /tmp/lab-run.XXXXXX)
chmod 755 "$RUN"

NSS=(lab-sw lab-caller lab-proxy lab-app1 lab-app2)
CALLER=192.0.2.10 PROXY=192.0.2.20 APP1=192.0.2.31 APP2=192.0.2.32
PIDS=()          # background processes started by this script (each wrapped in `timeout`)
CAP_PID=""

log() { printf '%s [lab] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Start a bounded background process: bgrun NS NAME SECONDS cmd...  (output in $RUN/NAME.log)
bgrun() {
    local ns=$1 name=$2 secs=$3; shift 3
    (cd "$RUN" && exec ip netns exec "$ns" timeout --signal=INT --kill-after=3 "$secs" "$@") \
        >"$RUN/$name.log" 2>&1 &
    PIDS+=("$!")
    eval "PID_${name//-/_}=$!"
}
# Run a bounded foreground process, tolerating a non-zero exit (sipp exits 1 when calls fail, as intended).
fgrun() {
    local ns=$1 name=$2 secs=$3; shift 3
    (cd "$RUN" && ip netns exec "$ns" timeout --signal=INT --kill-after=3 "$secs" "$@") \
        >"$RUN/$name.log" 2>&1 || log "$name exited with $?"
}
waitpid() { wait "$1" 2>/dev/null || true; }

stop_all() {
    local p
    for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}

teardown() {
    local ns p
    for ns in "${NSS[@]}"; do
        if ip netns pids "$ns" >/dev/null 2>&1; then
            # processes we started inside our own namespaces only
            for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
}

cleanup() {
    stop_all
    teardown
    rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# host: NS IFNAME IP MAC
attach() {
    local ns=$1 ifn=$2 ip=$3 mac=$4
    ip link add "$ifn" netns "$ns" address "$mac" type veth peer name "$ifn-sw" netns lab-sw
    nsx lab-sw ip link set "$ifn-sw" master lab-br0 up
    nsx "$ns" ip addr add "$ip/24" dev "$ifn"
    nsx "$ns" ip link set "$ifn" up
}

setup() {
    teardown
    local ns
    for ns in "${NSS[@]}"; do
        ip netns add "$ns"
        # IPv4 only: keeps IPv6 router solicitations / MLD reports out of the captures
        nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        nsx "$ns" ip link set lo up
    done
    nsx lab-sw ip link add lab-br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
    nsx lab-sw ip link set lab-br0 up
    attach lab-caller lab-c0 "$CALLER" 02:00:c0:00:02:10
    attach lab-proxy lab-p0 "$PROXY" 02:00:c0:00:02:20
    attach lab-app1 lab-a1 "$APP1" 02:00:c0:00:02:31
    attach lab-app2 lab-a2 "$APP2" 02:00:c0:00:02:32
    sleep 0.5
}

# cap_start NS IFACE   — tcpdump writing $RUN/cap.pcap
cap_start() {
    local ns=$1 ifn=$2
    rm -f "$RUN/cap.pcap"
    bgrun "$ns" tcpdump 300 tcpdump -i "$ifn" -s 0 -U -Z root -w "$RUN/cap.pcap" 'not ip6'
    CAP_PID=$PID_tcpdump
    local i
    for i in $(seq 50); do grep -q "listening on" "$RUN/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
    sleep 0.3
}
cap_stop() {
    local name=$1 out=$OUT
    [[ $name == load-* ]] && out=$OUT/../load
    mkdir -p "$out"
    sleep 0.5
    kill -INT "$CAP_PID" 2>/dev/null || true
    waitpid "$CAP_PID"
    cp "$RUN/cap.pcap" "$out/$name"
    chmod 644 "$out/$name"
    tshark -r "$out/$name" -q -z sip,stat -z rtp,streams -o rtp.heuristic_rtp:TRUE -z conv,tcp \
        >"$out/${name%.pcap}.tshark.txt" 2>/dev/null || true
    log "$name: $(stat -c %s "$out/$name") bytes, $(tshark -r "$out/$name" 2>/dev/null | wc -l) frames"
}

# ---------------------------------------------------------------------------------------------------------
# sipp helpers. The media file and jitter pcap are generated into $RUN (sipp runs with cwd=$RUN).
SIPP_COMMON=(-nostdin -m 1 -l 1 -aa -trace_err -trace_msg)
# RFC 3261 Timer A/B for an unanswered UDP INVITE: retransmit at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s (6 times),
# give up at 64*T1 = 32 s. (sipp's default stops after 5 retransmissions, missing the one at 31.5 s; with 6
# it would wait until 63.5 s, so the receive timeout ends the transaction at 32 s.)
TIMER_B=(-max_invite_retrans 6 -recv_timeout 32000)
# uas NAME NS IP SCENARIO [extra sipp args]   — a sipp UAS in the background (bounded to 90 s)
uas() {
    local name=$1 ns=$2 ip=$3 sf=$4; shift 4
    bgrun "$ns" "$name" 90 sipp -sf "$LAB/$sf" -i "$ip" -p 5060 -mi "$ip" -mp 20000 "${SIPP_COMMON[@]}" "$@"
    sleep 0.5
}
# uac NAME TARGET SCENARIO USER [extra sipp args]   — a sipp UAC call in the foreground (bounded to 90 s)
uac() {
    local name=$1 target=$2 sf=$3 user=$4; shift 4
    fgrun lab-caller "$name" 90 sipp "$target" -sf "$LAB/$sf" -i "$CALLER" -p 5060 -mi "$CALLER" -mp 6000 \
        -s "$user" "${SIPP_COMMON[@]}" "$@"
}
# proxy [kamailio -A defines...]   — kamailio in lab-proxy, in the background, bounded to 120 s
#   (PROXY_SECS overrides)
proxy() {
    local defs=() d
    for d in "$@"; do defs+=(-A "$d"); done
    mkdir -p "$RUN/kamailio"
    bgrun lab-proxy kamailio "${PROXY_SECS:-120}" kamailio -f "$LAB/kamailio.cfg" -DD -E -m 32 -M 8 -Y "$RUN/kamailio" \
        -P "$RUN/kamailio/kamailio.pid" "${defs[@]}"
    local i
    for i in $(seq 50); do nsx lab-proxy ss -ltn 2>/dev/null | grep -q "$PROXY:5060" && break; sleep 0.1; done
    sleep 0.3
}
# firewall NS RULES-FILE   — load an nft ruleset (from scripts/lab/) inside a namespace
firewall() { nsx "$1" nft -f "$LAB/$2"; }

# ---------------------------------------------------------------------------------------------------------
# Scenarios: one function per capture file; sc_<file name without .pcap, dashes as underscores>.

# 1. The good call: caller -> app directly over UDP, G.711 both ways for 3 s, BYE.
sc_sip_udp_basic_call() {
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-call.xml
    uac caller "$APP1:5060" uac-call.xml app -d 3000
    waitpid "$PID_app1"
}

# 2. Four sequential calls in one capture: answered, 486 Busy Here, cancelled (CANCEL/200/487/ACK), and an
#    INVITE the app's firewall drops (retransmitted per Timer A until Timer B, 32 s).
sc_sip_udp_outcomes() {
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-call.xml
    uac caller-normal "$APP1:5060" uac-call.xml normal -d 2000
    waitpid "$PID_app1"
    uas app1 lab-app1 "$APP1" uas-busy.xml
    uac caller-busy "$APP1:5060" uac-busy.xml busy
    waitpid "$PID_app1"
    uas app1 lab-app1 "$APP1" uas-cancel.xml
    uac caller-cancel "$APP1:5060" uac-cancel.xml cancel
    waitpid "$PID_app1"
    firewall lab-app1 fw-drop-udp-sip.nft
    uas app1 lab-app1 "$APP1" uas-call.xml
    uac caller-noanswer "$APP1:5060" uac-call.xml noanswer "${TIMER_B[@]}"
    kill -INT "$PID_app1" 2>/dev/null || true
    waitpid "$PID_app1"
}

# 3. caller -UDP-> proxy -TCP-> app1, whose firewall drops inbound SYNs: SYN retransmissions, then the
#    proxy's 504 after fr_timer (10 s). Then a good call through the same proxy to app2. Switch capture.
sc_tcp_syn_dropped_proxy() {
    firewall lab-app1 fw-drop-tcp-syn.nft
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-call.xml -t t1
    uas app2 lab-app2 "$APP2" uas-call.xml -t t1
    proxy FR_MS=10000
    uac caller1 "$PROXY:5060" uac-call.xml app1 -d 3000
    uac caller2 "$PROXY:5060" uac-call.xml app2 -d 3000
    waitpid "$PID_app2"
    kill -INT "$PID_app1" 2>/dev/null || true
}

# 4. The same failure, captured inside the app's namespace (only the inbound SYNs are visible there).
sc_tcp_syn_dropped_at_app() {
    firewall lab-app1 fw-drop-tcp-syn.nft
    cap_start lab-app1 lab-a1
    uas app1 lab-app1 "$APP1" uas-call.xml -t t1
    proxy FR_MS=10000
    uac caller1 "$PROXY:5060" uac-call.xml app1 -d 3000
    kill -INT "$PID_app1" 2>/dev/null || true
}

# 5. The proxy forwards over TCP to app1 where nothing listens: SYN answered by RST; caller gets an error.
sc_tcp_syn_refused() {
    cap_start lab-sw lab-br0
    proxy FR_MS=10000
    uac caller1 "$PROXY:5060" uac-call.xml app1 -d 3000
}

# 6. UDP INVITE to the app host where nothing listens on 5060: ICMP port unreachable quoting the INVITE
#    (for every retransmission, within the kernel's ICMP rate limit).
sc_udp_icmp_unreachable() {
    cap_start lab-sw lab-br0
    uac caller "$APP1:5060" uac-call.xml app -d 3000 "${TIMER_B[@]}"
}

# 7. UDP INVITE silently dropped by the app's firewall (the app itself runs): Timer A retransmissions,
#    Timer B expiry at the caller, no response at all.
sc_udp_invite_dropped() {
    firewall lab-app1 fw-drop-udp-sip.nft
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-call.xml
    uac caller "$APP1:5060" uac-call.xml app -d 3000 "${TIMER_B[@]}"
    kill -INT "$PID_app1" 2>/dev/null || true
}

# 8. Serial failover: proxy tries app1 (SYNs dropped by its firewall), gives up after 6 s (fr_timer for
#    this branch), tries app2 which answers: the call connects, ~6 s late.
sc_failover_slow() {
    firewall lab-app1 fw-drop-tcp-syn.nft
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-call.xml -t t1
    uas app2 lab-app2 "$APP2" uas-call.xml -t t1
    proxy FR_MS=10000 FAILOVER_MS=6000
    uac caller "$PROXY:5060" uac-call.xml hunt -d 3000
    waitpid "$PID_app2"
    kill -INT "$PID_app1" 2>/dev/null || true
}

# 9. Call answered, but the app's firewall drops all non-SIP UDP both ways: no RTP from or to the app on
#    the wire (the caller's RTP is seen on the switch, then dropped at the app). Caller hangs up after 4 s.
sc_media_blocked_both() {
    firewall lab-app1 fw-drop-media.nft
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-call.xml
    uac caller "$APP1:5060" uac-call.xml app -d 4000
    waitpid "$PID_app1"
}

# 10. One-way audio: the app's outbound RTP is dropped on its uplink (nft netdev ingress on its switch port,
#     before the mirror); the caller's RTP flows. (Dropping in the app's own OUTPUT chain makes sendto()
#     fail with EPERM, sipp then closes its RTP socket and the host answers the caller's RTP with ICMP
#     port unreachable: a different story.)
sc_media_one_way() {
    nsx lab-sw nft -f "$LAB/drop-app-rtp-uplink.nft"
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-call.xml
    uac caller "$APP1:5060" uac-call.xml app -d 4000
    waitpid "$PID_app1"
}

# 11. The ACK never reaches the app (firewall drops UDP packets starting with "ACK "): the app retransmits
#     its 200 OK per Timer G until Timer H (32 s), then sends BYE.
sc_ack_dropped() {
    firewall lab-app1 fw-drop-ack.nft
    cap_start lab-sw lab-br0
    # sipp retransmits the 200 (T1 doubling, capped at T2 = 4 s) and gives up after its default retransmission
    # limit, 31.5 s after the first 200 (~Timer H, 64*T1 = 32 s); the 200's ontimeout then sends the BYE.
    # (A recv timeout is not checked while sipp is retransmitting, so the limit is what ends the wait.)
    uas app1 lab-app1 "$APP1" uas-ack-timeout.xml
    uac caller "$APP1:5060" uac-ack-lost.xml app
    waitpid "$PID_app1"
}

# 12. Degraded but working call: ~4 % random RTP loss on both uplinks (before the mirror), plus send-time
#     jitter on the caller's RTP (replayed from a pcap with jittered timestamps). 5 s.
sc_media_impaired() {
    nsx lab-sw nft -f "$LAB/loss-uplinks.nft"
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-call.xml
    uac caller "$APP1:5060" uac-jitter.xml app -d 5000
    waitpid "$PID_app1"
}

# 13. The good call with SIP over TCP (one connection), RTP both ways.
sc_sip_tcp_call() {
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-call.xml -t t1
    uac caller "$APP1:5060" uac-call.xml app -t t1 -d 3000
    waitpid "$PID_app1"
}

# 14. SIP over TLS whose handshake fails: the caller does not trust the app's certificate (self-signed,
#     signed by a CA the caller doesn't have). TLS 1.2 so the certificate and the fatal alert
#     (unknown_ca) are visible in clear. sipp in Debian is built without TLS, so openssl s_client and
#     s_server stand in for the SIP endpoints on 5061; the connection dies before any SIP is sent.
sc_tls_handshake_failed() {
    local d="$RUN/tls"
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=app1.lab.example" -addext "subjectAltName=DNS:app1.lab.example,IP:$APP1" \
        -keyout "$d/app.key" -out "$d/app.crt" 2>/dev/null
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=Lab Caller Trusted Root" -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
    cap_start lab-sw lab-br0
    bgrun lab-app1 tls-server 20 openssl s_server -accept "$APP1:5061" -tls1_2 -cert "$d/app.crt" \
        -key "$d/app.key" -naccept 1 -quiet
    local i
    for i in $(seq 50); do nsx lab-app1 ss -ltn | grep -q ":5061" && break; sleep 0.1; done
    printf 'OPTIONS sip:app1.lab.example SIP/2.0\r\n\r\n' |
        fgrun lab-caller tls-client 10 openssl s_client -connect "$APP1:5061" -tls1_2 \
            -servername app1.lab.example -CAfile "$d/ca.crt" -verify_return_error
    sleep 0.5
}

# 15. A load test through the proxy (sipp at 20 calls/s, 1311 calls, each picking its Request-URI user
#     from an injection file shuffled with a fixed seed): 1148 "deny" calls rejected at once by the
#     proxy with 403 Forbidden; 88 "ans" calls relayed over UDP to app1, which answers with SDP and
#     sends no RTP (nor does the caller), 12 s calls; 75 "lost" calls whose INVITEs the proxy's firewall
#     drops (fw-drop-lost-invites.nft): retransmitted per Timer A, given up after Timer B. Short and
#     RTP-less so that the capture stays small.
sc_load_403() {
    firewall lab-proxy fw-drop-lost-invites.nft
    python3 - "$RUN/load.csv" <<'PY'
import random, sys
users = ["deny"] * 1148 + ["ans"] * 88 + ["lost"] * 75
random.Random(18).shuffle(users)
with open(sys.argv[1], "w") as f:
    f.write("SEQUENTIAL\n")
    for i, user in enumerate(users):
        f.write(f"{user};+4930555{i:04d}\n")
PY
    cap_start lab-sw lab-br0
    bgrun lab-app1 app1 200 sipp -sf "$LAB/uas-nomedia.xml" -i "$APP1" -p 5060 -nostdin -trace_err
    sleep 0.5
    PROXY_SECS=200 proxy FR_MS=10000
    fgrun lab-caller caller 180 sipp "$PROXY:5060" -sf "$LAB/uac-load.xml" -inf "$RUN/load.csv" \
        -i "$CALLER" -p 5060 -nostdin -trace_err -r 20 -m 1311 -l 400 "${TIMER_B[@]}"
    kill -INT "$PID_app1" 2>/dev/null || true
    waitpid "$PID_app1"
}

ALL=(sip-udp-basic-call sip-udp-outcomes tcp-syn-dropped-proxy tcp-syn-dropped-at-app tcp-syn-refused
     udp-icmp-unreachable udp-invite-dropped failover-slow media-blocked-both media-one-way ack-dropped
     media-impaired sip-tcp-call tls-handshake-failed load-403)

run_scenario() {
    local name=$1 fn="sc_${1//-/_}"
    declare -F "$fn" >/dev/null || die "unknown scenario: $name (try --list)"
    log "=== $name"
    setup
    "$fn"
    cap_stop "$name.pcap"
    stop_all
    mkdir -p "$RUN/logs-$name" && mv "$RUN"/*.log "$RUN/logs-$name/" 2>/dev/null || true
}

main() {
    if [[ ${1:-} == --list ]]; then printf '%s\n' "${ALL[@]}"; return; fi
    [[ $(id -u) == 0 ]] || die "needs root (network namespaces): sudo $0 $*"
    local t
    for t in ip ss sipp kamailio tcpdump tshark nft python3 openssl timeout; do
        command -v "$t" >/dev/null || die "missing tool: $t"
    done
    mkdir -p "$OUT"
    python3 "$LAB/gen_media.py" "$RUN"
    local list=("$@")
    [[ ${#list[@]} -gt 0 ]] || list=("${ALL[@]}")
    local s
    for s in "${list[@]}"; do
        declare -F "sc_$(tr - _ <<<"${s%.pcap}")" >/dev/null || die "unknown scenario: $s (try --list)"
    done
    for s in "${list[@]}"; do run_scenario "${s%.pcap}"; done
    if [[ -n ${LAB_KEEP_LOGS:-} ]]; then cp -r "$RUN" "$LAB_KEEP_LOGS"; fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
