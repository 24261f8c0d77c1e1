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
#   lab-coll   192.0.2.40 (HEP collector: a UDP sink; only in the hep-* scenarios)
#
# The "firewall" is an nft ruleset (scripts/lab/*.nft) inside lab-app1, like a host firewall on the
# application server; impairments "on the wire" are nft netdev ingress rules on the switch ports.
#
# The two-point scenarios (points-*) use a routed topology instead, and run tcpdump at two points at once
# (one file per point: <scenario>.<point>.pcap), to tell where a packet died:
#
#   lab-caller 192.0.2.10 ─┐                                 ┌─ lab-rtr (router, nft in its forward chain)
#   lab-proxy  192.0.2.20 ─┤ bridge lab-br0 ── 192.0.2.1 ────┤
#                          │ (lab-sw)                        └─ 198.51.100.1 ── lab-app1 198.51.100.31
#
# Capture points: "proxy" = inside lab-proxy, "edge" = the bridge (a mirror port at the proxy's site),
# "app" = inside lab-app1 (before its own firewall). Only the documentation prefixes 192.0.2.0/24 and
# 198.51.100.0/24 are used.
# Only the documentation prefix 192.0.2.0/24 is used, only on veths inside namespaces this script creates.
# Every sipp/kamailio/tcpdump/openssl run is wrapped in `timeout`; an EXIT trap stops them and deletes the
# namespaces (a leftover lab from a killed run is deleted before the next scenario is built).
# Needs: ip + ss (iproute2), sipp (Debian sip-tester), kamailio, tcpdump, tshark, nft, python3, openssl,
# ping (iputils-ping), dnsmasq.
# Runs hold /tmp/callscope-lab.lock: a second run waits for the first (the namespace names are fixed).
# LAB_KEEP_LOGS=/some/dir keeps the sipp/kamailio/tcpdump logs of the run there.
# scripts/lab/: sipp scenarios (uac-*.xml, uas-*.xml), kamailio.cfg, nft rulesets, gen_media.py, keepalive_peer.py.
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

NSS=(lab-sw lab-caller lab-proxy lab-app1 lab-app2 lab-rtr)
CALLER=192.0.2.10 PROXY=192.0.2.20 APP1=192.0.2.31 APP2=192.0.2.32 COLL=192.0.2.40
ROUTER=192.0.2.1 ROUTED_APP=198.51.100.31
# Namespaces some scenarios add (deleted with the others).
EXTRA_NSS=(lab-coll)
PIDS=()          # background processes started by this script (each wrapped in `timeout`)
CAP_PID=""
CAP_POINTS=()    # two-point scenarios: "point:pid" of each running tcpdump

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
    for ns in "${NSS[@]}" "${EXTRA_NSS[@]}"; do
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
    # the proxy's resolver configuration of the dns-nxdomain scenario (see there)
    rm -f /etc/netns/lab-proxy/resolv.conf
    rmdir /etc/netns/lab-proxy 2>/dev/null || true
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

# The routed topology of the two-point scenarios: caller and proxy on the bridge, the router between the
# bridge and the application's own link (a veth pair), static routes both ways.
setup_routed() {
    teardown
    local ns
    for ns in lab-sw lab-caller lab-proxy lab-rtr lab-app1; do
        ip netns add "$ns"
        nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        nsx "$ns" ip link set lo up
    done
    nsx lab-sw ip link add lab-br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
    nsx lab-sw ip link set lab-br0 up
    attach lab-caller lab-c0 "$CALLER" 02:00:c0:00:02:10
    attach lab-proxy lab-p0 "$PROXY" 02:00:c0:00:02:20
    attach lab-rtr lab-r0 "$ROUTER" 02:00:c0:00:02:01
    ip link add lab-r1 netns lab-rtr address 02:00:c6:33:64:01 type veth peer name lab-a1 netns lab-app1 \
        address 02:00:c6:33:64:31
    nsx lab-rtr ip addr add 198.51.100.1/24 dev lab-r1
    nsx lab-rtr ip link set lab-r1 up
    nsx lab-app1 ip addr add "$ROUTED_APP/24" dev lab-a1
    nsx lab-app1 ip link set lab-a1 up
    nsx lab-rtr sysctl -qw net.ipv4.ip_forward=1
    nsx lab-caller ip route add 198.51.100.0/24 via "$ROUTER"
    nsx lab-proxy ip route add 198.51.100.0/24 via "$ROUTER"
    nsx lab-app1 ip route add default via 198.51.100.1
    sleep 0.5
}

# tcpdump_at NS IFACE FILE LOG [FILTER]   — a tcpdump writing $RUN/FILE (default filter: not ip6), returning once it listens (its pid in TCPDUMP_PID)
tcpdump_at() {
    local ns=$1 ifn=$2 file=$3 logname=$4 filter=${5:-not ip6}
    rm -f "$RUN/$file"
    bgrun "$ns" "$logname" 300 tcpdump -i "$ifn" -s 0 -U -Z root -w "$RUN/$file" "$filter"
    TCPDUMP_PID=${PIDS[-1]}
    local i
    for i in $(seq 50); do grep -q "listening on" "$RUN/$logname.log" 2>/dev/null && break; sleep 0.1; done
    sleep 0.3
}
# cap_start_at POINT NS IFACE   — one of several tcpdumps running at once, writing $RUN/cap.POINT.pcap
cap_start_at() {
    local point=$1 ns=$2 ifn=$3
    rm -f "$RUN/cap.$point.pcap"
    # --immediate-mode: without it the last packets sit in a ring block that is not handed over before
    # the SIGINT (a quiet point loses the proxy's final 504).
    bgrun "$ns" "tcpdump-$point" 300 tcpdump -i "$ifn" -s 0 -U --immediate-mode -Z root \
        -w "$RUN/cap.$point.pcap" 'not ip6'
    local pid_var="PID_tcpdump_$point" i
    CAP_POINTS+=("$point:${!pid_var}")
    for i in $(seq 50); do grep -q "listening on" "$RUN/tcpdump-$point.log" 2>/dev/null && break; sleep 0.1; done
    sleep 0.3
}
# cap_start NS IFACE [FILTER]   — tcpdump writing $RUN/cap.pcap (the scenario's own file)
cap_start() {
    tcpdump_at "$1" "$2" cap.pcap tcpdump "${3:-not ip6}"
    CAP_PID=$TCPDUMP_PID
}
# cap_also NS IFACE NAME.pcap   — a second capture point of the same run, saved as testdata/lab/NAME.pcap
EXTRA_CAPS=()
cap_also() {
    local name=$3
    tcpdump_at "$1" "$2" "$name" "tcpdump-${name%.pcap}"
    EXTRA_CAPS+=("$TCPDUMP_PID:$name")
}
# save_capture FILE NAME.pcap   — copy a finished capture to testdata/lab with what tshark sees in it
save_capture() {
    local file=$1 name=$2 out=$OUT
    # The load tests sit in testdata/load (a golden group of their own).
    [[ $name == load-* ]] && out=$OUT/../load
    mkdir -p "$out"
    cp "$RUN/$file" "$out/$name"
    chmod 644 "$out/$name"
    tshark -r "$out/$name" -q -z sip,stat -z rtp,streams -o rtp.heuristic_rtp:TRUE -z conv,tcp \
        >"$out/${name%.pcap}.tshark.txt" 2>/dev/null || true
    # T.38 (UDPTL, decoded where the SDP set it up): packets per direction, for the fax stream tests.
    local t38
    t38=$(tshark -r "$out/$name" -Y t38 -T fields -e ip.src -e udp.srcport -e ip.dst -e udp.dstport \
        2>/dev/null | sort | uniq -c)
    if [[ -n $t38 ]]; then
        printf '%s\n' "$t38" | awk '{print $2":"$3" > "$4":"$5" "$1}' >"$out/${name%.pcap}.t38.txt"
    fi
    log "$name: $(stat -c %s "$out/$name") bytes, $(tshark -r "$out/$name" 2>/dev/null | wc -l) frames"
}
cap_stop() {
    local name=$1 extra entry
    sleep 0.5
    if [[ ${#CAP_POINTS[@]} -gt 0 ]]; then
        for entry in "${CAP_POINTS[@]}"; do kill -INT "${entry#*:}" 2>/dev/null || true; done
        for entry in "${CAP_POINTS[@]}"; do waitpid "${entry#*:}"; done
        for entry in "${CAP_POINTS[@]}"; do
            save_capture "cap.${entry%%:*}.pcap" "${name%.pcap}.${entry%%:*}.pcap"
        done
        CAP_POINTS=()
        return
    fi
    kill -INT "$CAP_PID" 2>/dev/null || true
    waitpid "$CAP_PID"
    save_capture cap.pcap "$name"
    for extra in "${EXTRA_CAPS[@]}"; do
        kill -INT "${extra%%:*}" 2>/dev/null || true
        waitpid "${extra%%:*}"
        save_capture "${extra#*:}" "${extra#*:}"
    done
    EXTRA_CAPS=()
}
# collector PORT   — the HEP collector namespace lab-coll ($COLL) with a UDP sink on PORT (so the
# proxy's HEP gets no ICMP port unreachable back) and tcpdump of what reaches it in $RUN/hep.pcap
collector() {
    local port=$1
    ip netns add lab-coll
    nsx lab-coll ip link set lo up
    attach lab-coll lab-h0 "$COLL" 02:00:c0:00:02:40
    bgrun lab-coll hep-sink 120 python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('$COLL', $port))
while True:
    s.recv(65535)"
    tcpdump_at lab-coll lab-h0 hep.pcap hep-tcpdump "udp dst port $port"
    HEP_CAP_PID=$TCPDUMP_PID
}
collector_stop() {
    local name=$1
    sleep 0.5
    kill -INT "$HEP_CAP_PID" 2>/dev/null || true
    waitpid "$HEP_CAP_PID"
    save_capture hep.pcap "$name"
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
# kamailio_as NAME CFG [kamailio -A defines...]   — kamailio in lab-proxy with another configuration (registrar,
# keep-alive sender), bounded to 120 s; waits until it listens on UDP 5060
kamailio_as() {
    local name=$1 cfg=$2 defs=() d; shift 2
    for d in "$@"; do defs+=(-A "$d"); done
    mkdir -p "$RUN/$name"
    bgrun lab-proxy "$name" 120 kamailio -f "$LAB/$cfg" -DD -E -m 32 -M 8 -Y "$RUN/$name" \
        -P "$RUN/$name/kamailio.pid" "${defs[@]}"
    local i
    for i in $(seq 50); do nsx lab-proxy ss -lun 2>/dev/null | grep -q "$PROXY:5060" && break; sleep 0.1; done
    sleep 0.3
}
# phone NAME PORT TARGET USER EXPIRES [extra sipp args]   — a sipp phone in lab-caller registering USER@lab.example
# with Contact 192.0.2.10:PORT (uac-register.xml, password USER-secret), foreground, bounded to 60 s
phone() {
    local name=$1 port=$2 target=$3 user=$4 expires=$5; shift 5
    fgrun lab-caller "$name" 60 sipp "$target" -sf "$LAB/uac-register.xml" -i "$CALLER" -p "$port" \
        -mp $(((port - 5000) * 10 + 7000)) -s "$user" -au "$user" -ap "$user-secret" -key expires "$expires" \
        "${SIPP_COMMON[@]}" "$@"
}

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

# 11b. Three calls 100 ms apart whose ACKs app1's firewall drops, as in ack-dropped: each 200 OK is
#      retransmitted until Timer H and app1 sends its BYE ~31.5 s after each 200, so every call of the
#      capture ends at the same duration (the pattern across calls). Three callers and three
#      applications on app1 (SIP 5060/5070/5080, RTP 6000/6010/6020 and 20000/20010/20020), so that
#      each call has its own media endpoints, as with real phones and servers.
sc_ack_dropped_calls() {
    firewall lab-app1 fw-drop-ack-ports.nft
    cap_start lab-sw lab-br0
    local k
    for k in 0 1 2; do
        bgrun lab-app1 "app$k" 90 sipp -sf "$LAB/uas-ack-timeout.xml" -i "$APP1" -p $((5060 + 10 * k)) -mi "$APP1" \
            -mp $((20000 + 10 * k)) "${SIPP_COMMON[@]}"
    done
    sleep 0.5
    for k in 0 1 2; do
        bgrun lab-caller "caller$k" 90 sipp "$APP1:$((5060 + 10 * k))" -sf "$LAB/uac-ack-lost.xml" -i "$CALLER" \
            -p $((5060 + 10 * k)) -mi "$CALLER" -mp $((6000 + 10 * k)) -s app "${SIPP_COMMON[@]}"
        sleep 0.1
    done
    for k in 0 1 2; do waitpid "$(eval echo "\$PID_caller$k")"; waitpid "$(eval echo "\$PID_app$k")"; done
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

# 15. Dead air: RTP flows both ways, then about 3 s into the media a firewall/NAT pinhole for it closes:
#     drop-media-uplinks.nft (loaded on the switch mid-call) drops every non-SIP UDP packet both hosts send,
#     before the mirror. SIP still passes: the dialog stays up until the caller hangs up ~6 s later.
sc_media_dead_air() {
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-call.xml
    bgrun lab-sw pinhole 30 sh -c "sleep 4 && nft -f '$LAB/drop-media-uplinks.nft'"
    uac caller "$APP1:5060" uac-call.xml app -d 9000
    waitpid "$PID_app1"
}

# 16. One direction stops mid-call: about 3 s into the media the app's RTP starts being dropped on its
#     uplink (drop-app-rtp-uplink.nft loaded mid-call); the caller's RTP goes on until its BYE 9 s later.
sc_media_stopped() {
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-call.xml
    bgrun lab-sw uplink 30 sh -c "sleep 4 && nft -f '$LAB/drop-app-rtp-uplink.nft'"
    uac caller "$APP1:5060" uac-call.xml app -d 12000
    waitpid "$PID_app1"
}

# 17. Failover over UDP: three calls, each INVITE relayed by the proxy to app1 over UDP, where the firewall
#     drops it: retransmitted per Timer A for 5 s (the branch's fr_timer), then sent to app2, which
#     answers. The media goes directly between the caller and app2. Recorded on the switch (everything)
#     and inside the proxy's namespace (the proxy's own interface: signalling only, no RTP).
sc_failover_udp() {
    firewall lab-app1 fw-drop-udp-sip.nft
    cap_start lab-sw lab-br0
    cap_also lab-proxy lab-p0 failover-udp-at-proxy.pcap
    uas app1 lab-app1 "$APP1" uas-call.xml -m 3
    uas app2 lab-app2 "$APP2" uas-call.xml -m 3
    proxy FAILOVER_MS=5000
    uac caller "$PROXY:5060" uac-call.xml hunt-udp -d 3000 -m 3
    waitpid "$PID_app2"
    kill -INT "$PID_app1" 2>/dev/null || true
}

# 18. NAT: the app announces a private address, 10.0.0.31, in its 200 OK (uas-private-sdp.xml) while it
#     signals and sends RTP from 192.0.2.31. The caller's default route points at the proxy (which does not
#     forward), so its RTP to 10.0.0.31 leaves the caller and is lost: recorded at the caller (its RTP
#     leaves, toward the private address) and at the app (the caller's RTP never arrives).
sc_nat_private_sdp() {
    nsx lab-caller ip route add default via "$PROXY"
    cap_start lab-caller lab-c0
    cap_also lab-app1 lab-a1 nat-private-sdp-at-app.pcap
    uas app1 lab-app1 "$APP1" uas-private-sdp.xml
    uac caller "$APP1:5060" uac-call.xml app -d 4000
    waitpid "$PID_app1"
}

# 19. Fax: an audio call switched to T.38 by the caller's re-INVITE (m=audio 0, m=image udptl t38), the
#     app accepts; both sides play their half of a one-page fax over UDPTL (t38-caller.pcap /
#     t38-app.pcap from gen_media.py, on one timeline: ~18 s, the caller's ~340 packets, the app's 11),
#     then a re-INVITE back to audio, 2 s of tone, BYE.
sc_fax_t38() {
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-fax.xml
    uac caller "$APP1:5060" uac-fax.xml fax
    waitpid "$PID_app1"
}

# 20. The re-INVITE to T.38 refused: the app answers 488 Not Acceptable Here; the call stays in audio.
sc_fax_t38_refused() {
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-fax-refused.xml
    uac caller "$APP1:5060" uac-fax.xml fax
    waitpid "$PID_app1"
}

# 21. T.38 accepted, but the app's UDPTL is dropped on its uplink (drop-app-udptl-uplink.nft): fax one way.
sc_fax_t38_one_way() {
    nsx lab-sw nft -f "$LAB/drop-app-udptl-uplink.nft"
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-fax.xml
    uac caller "$APP1:5060" uac-fax.xml fax
    waitpid "$PID_app1"
}

# 22, 23. The one-way and the blocked media of scenarios 10 and 9, recorded at both ends at once: at the
#     caller (its RTP leaves, nothing comes back) and at the app (one-way: its own RTP leaves and the caller's
#     arrives, the loss is beyond the capture point; blocked: the caller's arrives, its own never leaves).
sc_media_one_way_at_caller() {
    nsx lab-sw nft -f "$LAB/drop-app-rtp-uplink.nft"
    cap_start lab-caller lab-c0
    cap_also lab-app1 lab-a1 media-one-way-at-app.pcap
    uas app1 lab-app1 "$APP1" uas-call.xml
    uac caller "$APP1:5060" uac-call.xml app -d 4000
    waitpid "$PID_app1"
}
sc_media_blocked_both_at_caller() {
    firewall lab-app1 fw-drop-media.nft
    cap_start lab-caller lab-c0
    cap_also lab-app1 lab-a1 media-blocked-both-at-app.pcap
    uas app1 lab-app1 "$APP1" uas-call.xml
    uac caller "$APP1:5060" uac-call.xml app -d 4000
    waitpid "$PID_app1"
}

# 24, 25. ICE: both SDPs carry a host candidate (caller 192.0.2.10:7000, app 192.0.2.31:27000); on those
#     ports ice_peer.py does the connectivity checks (STUN Binding requests every 50 ms, answered by the
#     other peer) and, once one of its checks is answered, sends PCMU for the rest of the call. ice-call:
#     checks succeed, 3 s of RTP both ways. ice-failed: the app's firewall drops all non-SIP UDP both
#     ways (fw-drop-media.nft): the caller's checks go unanswered, no media at all.
ice_call() {
    uas app1 lab-app1 "$APP1" uas-ice.xml
    bgrun lab-app1 ice-app 20 python3 "$LAB/ice_peer.py" "$APP1:27000" "$CALLER:7000" 1.2 3.5 tone.ulaw
    bgrun lab-caller ice-caller 20 python3 "$LAB/ice_peer.py" "$CALLER:7000" "$APP1:27000" 1.2 3.5 tone.ulaw \
        --controlling
    uac caller "$APP1:5060" uac-ice.xml app -d 4500
    waitpid "$PID_app1"
}
sc_ice_call() {
    cap_start lab-sw lab-br0
    ice_call
}
sc_ice_failed() {
    firewall lab-app1 fw-drop-media.nft
    cap_start lab-sw lab-br0
    ice_call
}

# 22. Codec mismatch: the app's 200 OK lists PCMU only, but it sends its RTP with payload type 8 (PCMA).
sc_codec_mismatch() {
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-codec-mismatch.xml
    uac caller "$APP1:5060" uac-call.xml app -d 3000
    waitpid "$PID_app1"
}

# 23. Media changed mid-call by signalling: hold by re-INVITE (a=sendonly / recvonly, 6 s without media),
#     off hold by UPDATE, codec changed to PCMA by re-INVITE: no media finding may come of it.
sc_media_changes() {
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-media-changes.xml
    uac caller "$APP1:5060" uac-media-changes.xml app
    waitpid "$PID_app1"
}

# 24. A capture that starts mid-call: the one-way call of scenario 10 (the app's RTP dropped on its
#     uplink), 10 s long, with tcpdump started 3 s after the INVITE: no INVITE, no SDP, only the one-way
#     RTP and the BYE in the capture.
sc_midcall_one_way() {
    nsx lab-sw nft -f "$LAB/drop-app-rtp-uplink.nft"
    uas app1 lab-app1 "$APP1" uas-call.xml
    bgrun lab-sw late-capture 30 sh -c "sleep 3 && exec tcpdump -i lab-br0 -s 0 -U -Z root -w '$RUN/cap.pcap' 'not ip6'"
    CAP_PID=$PID_late_capture
    uac caller "$APP1:5060" uac-call.xml app -d 10000
    waitpid "$PID_app1"
}

# 25. A normal call whose media outlives its signalling: the caller's BYE is answered at once; the caller's
#     sipp exits 200 ms after that 200 OK, which closes its RTP socket (a phone that closes its media socket
#     on BYE), while app1 keeps streaming for 600 ms after answering: the caller's host answers the late RTP
#     with ICMP port unreachable (the kernel's own, within its rate limit: a burst of 6, then 1/s).
sc_teardown_rtp_after_bye() {
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-media-after-bye.xml -d 600
    uac caller "$APP1:5060" uac-call.xml app -d 3000
    waitpid "$PID_app1"
}

# 26. Early media to a port not open yet: app1 sends 183 with SDP and starts its RTP at once, 200 OK 1 s
#     later; the caller's RTP port answers ICMP port unreachable until the 200 arrives (fw-caller-rtp-closed.nft,
#     deleted by the caller's scenario on the 200: a phone that opens its media port on the answer).
sc_early_media_port_closed() {
    firewall lab-caller fw-caller-rtp-closed.nft
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-early-media.xml
    uac caller "$APP1:5060" uac-rtp-opened-on-answer.xml app -d 3000
    waitpid "$PID_app1"
}

# ---------------------------------------------------------------------------------------------------------
# Two-point scenarios (routed topology, see the top): each call captured at two points at once, one file
# per point. The caller's calls go through the proxy (R-URI user "routed") to the application over TCP;
# RTP flows between the caller and the application through the router.

# The proxy pings the application first, as monitoring does: traffic both points see, both ways, besides
# the call, whatever becomes of the call.
keepalive_ping() { fgrun lab-proxy ping 10 ping -c 3 -i 0.2 -W 1 "$ROUTED_APP"; }

# 27. The application's host firewall drops the SYNs (fw-drop-tcp-syn.nft in lab-app1): they leave the
#     proxy, arrive at the application's host and are never answered; the proxy answers 504 after 10 s.
sc_points_syn_dropped_at_app() {
    firewall lab-app1 fw-drop-tcp-syn.nft
    cap_start_at proxy lab-proxy lab-p0
    cap_start_at app lab-app1 lab-a1
    uas app1 lab-app1 "$ROUTED_APP" uas-call.xml -t t1
    proxy FR_MS=10000
    keepalive_ping
    uac caller1 "$PROXY:5060" uac-call.xml routed -d 3000
    kill -INT "$PID_app1" 2>/dev/null || true
}

# 28. The router drops the same SYNs (rtr-drop-tcp-syn.nft in lab-rtr): they leave the proxy and never
#     reach the application's link; the pings pass. Same 504 at the proxy.
sc_points_syn_dropped_on_router() {
    firewall lab-rtr rtr-drop-tcp-syn.nft
    cap_start_at proxy lab-proxy lab-p0
    cap_start_at app lab-app1 lab-a1
    uas app1 lab-app1 "$ROUTED_APP" uas-call.xml -t t1
    proxy FR_MS=10000
    keepalive_ping
    uac caller1 "$PROXY:5060" uac-call.xml routed -d 3000
    kill -INT "$PID_app1" 2>/dev/null || true
}

# 29. The router drops the application's RTP (rtr-drop-app-rtp.nft): it leaves the application and never
#     reaches the proxy's site; the caller's RTP passes. One-way audio at the edge, both ways at the app.
sc_points_rtp_dropped_on_router() {
    firewall lab-rtr rtr-drop-app-rtp.nft
    cap_start_at edge lab-sw lab-br0
    cap_start_at app lab-app1 lab-a1
    uas app1 lab-app1 "$ROUTED_APP" uas-call.xml -t t1
    proxy FR_MS=10000
    uac caller "$PROXY:5060" uac-call.xml routed -d 4000
    waitpid "$PID_app1"
}

# 30. The application never sends RTP (uas-call-silent.xml: its media engine is down); nothing is dropped.
#     One-way audio at both points, and the application's own capture shows it never sent any.
sc_points_rtp_not_sent() {
    cap_start_at edge lab-sw lab-br0
    cap_start_at app lab-app1 lab-a1
    uas app1 lab-app1 "$ROUTED_APP" uas-call-silent.xml -t t1
    proxy FR_MS=10000
    uac caller "$PROXY:5060" uac-call.xml routed -d 4000
    waitpid "$PID_app1"
}

# 31. The clean call through the router, captured at the edge and at the application: every packet of
#     one point that should reach the other does, one hop (the router) between them.
sc_points_clean_call() {
    cap_start_at edge lab-sw lab-br0
    cap_start_at app lab-app1 lab-a1
    uas app1 lab-app1 "$ROUTED_APP" uas-call.xml -t t1
    proxy FR_MS=10000
    uac caller "$PROXY:5060" uac-call.xml routed -d 3000
    waitpid "$PID_app1"
}

# 32. The clean call through a router that masquerades the proxy's site (rtr-masquerade.nft): the
#     application sees the proxy's TCP connection, and whatever flow reaches it first from the proxy's
#     site, as coming from the router's address 198.51.100.1.
sc_points_nat_call() {
    firewall lab-rtr rtr-masquerade.nft
    cap_start_at edge lab-sw lab-br0
    cap_start_at app lab-app1 lab-a1
    uas app1 lab-app1 "$ROUTED_APP" uas-call.xml -t t1
    proxy FR_MS=10000
    uac caller "$PROXY:5060" uac-call.xml routed -d 3000
    waitpid "$PID_app1"
}

# 33. The router drops every ACK the proxy relays to the application (rtr-drop-ack.nft; proxy to
#     application over UDP, R-URI user "routedudp"): the ACKs leave the proxy's site and never reach the
#     application, which retransmits its 200 OK until it gives up (~32 s) and hangs up with a BYE.
sc_points_ack_dropped_on_router() {
    firewall lab-rtr rtr-drop-ack.nft
    cap_start_at edge lab-sw lab-br0
    cap_start_at app lab-app1 lab-a1
    uas app1 lab-app1 "$ROUTED_APP" uas-ack-timeout.xml
    proxy FR_MS=10000
    uac caller "$PROXY:5060" uac-ack-lost.xml routedudp
    waitpid "$PID_app1"
}

# 34. The failing and the good call of scenario 3, with the proxy mirroring its SIP to a HEP collector
#     (kamailio siptrace, HEP3, trace_mode 1: every message received or sent; hlog() in the failure
#     route). Two captures of the same traffic: what reaches the collector (hep-feed.pcap: HEP only),
#     and the switch without the HEP packets (hep-feed-switch.pcap, captured directly).
sc_hep_feed() {
    firewall lab-app1 fw-drop-tcp-syn.nft
    collector 9060
    cap_start lab-sw lab-br0 'not ip6 and not udp port 9060'
    CAP_NAME=hep-feed-switch.pcap
    uas app1 lab-app1 "$APP1" uas-call.xml -t t1
    uas app2 lab-app2 "$APP2" uas-call.xml -t t1
    proxy FR_MS=10000 "HEP_URI=\"sip:$COLL:9060\""
    uac caller1 "$PROXY:5060" uac-call.xml app1 -d 3000
    uac caller2 "$PROXY:5060" uac-call.xml app2 -d 3000
    waitpid "$PID_app2"
    kill -INT "$PID_app1" 2>/dev/null || true
    collector_stop hep-feed.pcap
}

# 35. A good call through the proxy mirrored as HEPv2 to a collector on a non-standard port (9999),
#     captured at the collector (HEP1/2 has no magic: callscope reads it with --hep-port 9999).
sc_hep2_feed() {
    collector 9999
    cap_start lab-sw lab-br0 'not ip6 and not udp port 9999'
    CAP_NAME=hep2-feed-switch.pcap
    uas app2 lab-app2 "$APP2" uas-call.xml -t t1
    proxy FR_MS=10000 "HEP_URI=\"sip:$COLL:9999\"" HEP_VERSION=2
    uac caller2 "$PROXY:5060" uac-call.xml app2 -d 1000
    waitpid "$PID_app2"
    collector_stop hep2-feed.pcap
}

# 36. A Lync / Skype for Business Front End that cannot reach its trusted application: the proxy (as the
#     Front End) forwards the caller's INVITE over TCP to app1, whose firewall drops the SYNs, and answers
#     504 with ms-diagnostics 1046 (WinsockFailureCode 10060) and ms-diagnostics-public (MS_DIAG).
sc_lync_fe_504() {
    firewall lab-app1 fw-drop-tcp-syn.nft
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-call.xml -t t1
    proxy FR_MS=10000 MS_DIAG=1
    uac caller1 "$PROXY:5060" uac-call.xml app1 -d 3000
    kill -INT "$PID_app1" 2>/dev/null || true
}

# 37. A Lync / Skype for Business callee whose media cannot get through (app1's firewall drops all
#     non-SIP UDP): it answers with ICE candidates, no media flows, and it hangs up after 5 s with
#     ms-client-diagnostics 24 and its CalleeMediaDebug (ICEWarn 0x320).
sc_lync_ice_failed() {
    firewall lab-app1 fw-drop-media.nft
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-ms-ice-failed.xml
    uac caller "$APP1:5060" uac-ack-lost.xml app
    waitpid "$PID_app1"
}

# 38. An SBC (the caller) and Teams Direct Routing's SIP proxy (app2 standing in, with Microsoft's
#     Server header and pstnhub Contact): the SBC's OPTIONS health check is answered 200, then its
#     INVITE is rejected 403 Forbidden.
sc_teams_dr_rejected() {
    cap_start lab-sw lab-br0
    uas teams-options lab-app2 "$APP2" uas-teams-options.xml
    uac sbc-options "$APP2:5060" uac-sbc-options.xml teams
    waitpid "$PID_teams_options"
    uas teams-reject lab-app2 "$APP2" uas-teams-reject.xml
    uac sbc-invite "$APP2:5060" uac-sbc-invite.xml teams
    waitpid "$PID_teams_reject"
}

# 39. The SBC's TLS connection to Teams Direct Routing (SNI sip.pstnhub.microsoft.com, port 5061) that
#     Microsoft's side ends: the server (openssl s_server on app2, with a certificate for that name the
#     SBC trusts) requires a client certificate and the SBC has none, so the server aborts the
#     handshake. TLS 1.2 so that the alert is visible.
sc_teams_dr_tls() {
    local d="$RUN/tls"
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=sip.pstnhub.microsoft.com" -addext "subjectAltName=DNS:sip.pstnhub.microsoft.com" \
        -keyout "$d/ms.key" -out "$d/ms.crt" 2>/dev/null
    cap_start lab-sw lab-br0
    bgrun lab-app2 tls-server 20 openssl s_server -accept "$APP2:5061" -tls1_2 -cert "$d/ms.crt" \
        -key "$d/ms.key" -Verify 1 -naccept 1 -quiet
    local i
    for i in $(seq 50); do nsx lab-app2 ss -ltn | grep -q ":5061" && break; sleep 0.1; done
    printf 'OPTIONS sip:sip.pstnhub.microsoft.com:5061 SIP/2.0\r\n\r\n' |
        fgrun lab-caller tls-client 10 openssl s_client -connect "$APP2:5061" -tls1_2 \
            -servername sip.pstnhub.microsoft.com -CAfile "$d/ms.crt" -verify_return_error
    sleep 0.5
}

# 40. Phones registering with kamailio as the registrar (kamailio-registrar.cfg: digest auth, fixed passwords,
#     Min-Expires 20), each from its own Contact port: alice registers for 60 s and refreshes 25 s later on
#     the same Call-ID (good); bob has the wrong password (401, credentials, 401 again, three times: a
#     challenge loop); carol asks for 10 s (423 Interval Too Brief, Min-Expires: 20), retries with 20 and
#     registers; dave is refused (403), erin is unknown (404); frank registers for 20 s and never refreshes
#     (his binding expires 20 s later, within the capture); grace registers with app2, whose firewall drops
#     SIP: her REGISTER is retransmitted per Timer E until Timer F (32 s), unanswered.
sc_register_auth() {
    firewall lab-app2 fw-drop-udp-sip.nft
    cap_start lab-sw lab-br0
    kamailio_as registrar kamailio-registrar.cfg
    { phone alice-1 5062 "$PROXY:5060" alice 60 -cid_str "alice-registration@%s"
      sleep 25
      phone alice-2 5062 "$PROXY:5060" alice 60 -cid_str "alice-registration@%s" -base_cseq 10; } &
    local alice=$!
    PIDS+=("$alice")
    { phone grace 5068 "$APP2:5060" grace 60 -max_non_invite_retrans 11 -recv_timeout 32000; } &
    local grace=$!
    PIDS+=("$grace")
    sleep 0.5
    phone bob 5063 "$PROXY:5060" bob 60 -ap bob-old-password
    phone carol 5064 "$PROXY:5060" carol 10
    phone dave 5065 "$PROXY:5060" dave 60
    phone erin 5066 "$PROXY:5060" erin 60
    phone frank 5067 "$PROXY:5060" frank 20
    waitpid "$alice"
    waitpid "$grace"
}

# 41. OPTIONS keep-alives from kamailio (kamailio-keepalive.cfg, dispatcher module: every 5 s to each
#     destination, tm gives up after 4 s) to four next hops: app1 answers 200 (healthy); app2's firewall
#     (fw-drop-keepalives.nft) drops UDP 5060 (OPTIONS retransmitted, never answered) and SYNs to its TLS port
#     5061 (the keep-alive connection never opens: no SYN-ACK, as a Lync/SfB pool sees a trusted application
#     behind a firewall); the caller host has nothing on TCP 5060 (SYN answered by RST).
sc_options_keepalive() {
    firewall lab-app2 fw-drop-keepalives.nft
    printf '%s\n' "1 sip:$APP1:5060 0 0" "1 sip:$APP2:5060 0 0" "1 sip:$APP2:5061;transport=tcp 0 0" \
        "1 sip:$CALLER:5060;transport=tcp 0 0" >"$RUN/dispatcher.list"
    uas app1 lab-app1 "$APP1" uas-options.xml -m 100
    uas app2 lab-app2 "$APP2" uas-options.xml -m 100
    cap_start lab-sw lab-br0
    kamailio_as keepalive kamailio-keepalive.cfg "DS_LIST=\"$RUN/dispatcher.list\""
    sleep 22
}

# The lab's DNS: dnsmasq in lab-app2 (192.0.2.32), authoritative for lab.example only (--local: any other name
# there is NXDOMAIN), with app1.lab.example (A 192.0.2.31, SRV _sip._tcp on 5060); the proxy's resolver points
# at it through /etc/netns/lab-proxy/resolv.conf, which `ip netns exec` mounts over its /etc/resolv.conf.
lab_dns() {
    mkdir -p /etc/netns/lab-proxy
    printf 'nameserver %s\n' "$APP2" >/etc/netns/lab-proxy/resolv.conf
    bgrun lab-app2 dnsmasq 60 dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
        --listen-address="$APP2" --local=/lab.example/ --host-record=app1.lab.example,"$APP1" \
        --srv-host=_sip._tcp.app1.lab.example,app1.lab.example,5060 --log-queries
    sleep 0.5
}

# 42. The proxy resolves its next hop by name through dnsmasq (in lab-app2, answering for lab.example only:
#     --local, so any other name there is NXDOMAIN), via /etc/netns/lab-proxy/resolv.conf, which `ip netns exec`
#     mounts over the proxy's /etc/resolv.conf. Call 1 (R-URI user dnsgood): SRV _sip._tcp.app1.lab.example
#     -> app1.lab.example:5060 -> A 192.0.2.31, the call connects over TCP. Call 2 (dnsbad): the SRV and A
#     lookups of app9.lab.example get NXDOMAIN, the proxy cannot forward and answers 503 at once. Then the
#     proxy host looks up app7.lab.example (getent): NXDOMAIN again, a failure no call depends on.
sc_dns_nxdomain() {
    lab_dns
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-call.xml -t t1
    proxy FR_MS=10000
    uac caller1 "$PROXY:5060" uac-call.xml dnsgood -d 2000
    uac caller2 "$PROXY:5060" uac-call.xml dnsbad -d 2000
    waitpid "$PID_app1"
    # A lookup no call needs: the proxy host resolves a name that does not exist (NXDOMAIN, tied to no call).
    nsx lab-proxy getent ahostsv4 app7.lab.example >/dev/null || true
    sleep 0.2
}

# 44. The same proxy and names as dns-nxdomain, but the resolver in lab-app2 drops every query (fw-drop-dns.nft;
#     the proxy's resolv.conf says timeout:1 attempts:2). Call 1 (dnsgood): the proxy's SRV query for
#     _sip._tcp.app1.lab.example and its retry go unanswered, then its A queries for app1.lab.example; the proxy
#     cannot forward and answers 503 once it gives up (about 4 s), the caller's INVITE retransmissions absorbed.
sc_dns_unanswered() {
    mkdir -p /etc/netns/lab-proxy
    printf 'nameserver %s\noptions timeout:1 attempts:2\n' "$APP2" >/etc/netns/lab-proxy/resolv.conf
    firewall lab-app2 fw-drop-dns.nft
    cap_start lab-sw lab-br0
    proxy FR_MS=10000
    uac caller1 "$PROXY:5060" uac-call.xml dnsgood -d 2000
    sleep 1
}

# 46. The proxy's next hop is a name outside the zone its resolver serves: dnsmasq as in dns-nxdomain (--local
#     lab.example, --no-resolv: no upstream for any other name) answers REFUSED for app1.other.example. Call 1
#     (dnsrefused): the proxy's SRV and A lookups are refused, it cannot forward and answers 503 at once.
sc_dns_refused() {
    lab_dns
    cap_start lab-sw lab-br0
    proxy FR_MS=10000
    uac caller1 "$PROXY:5060" uac-call.xml dnsrefused -d 2000
    sleep 1
}

# 45. The proxy resolves its next hop by name and DNS answers (dnsmasq as in dns-nxdomain: SRV
#     _sip._tcp.app1.lab.example -> app1.lab.example:5060, A 192.0.2.31), but app1's firewall drops inbound SYNs
#     (fw-drop-tcp-syn.nft): the proxy's SYNs to the address DNS gave go unanswered, and it answers 504 when
#     fr_timer (10 s) fires. A successful lookup pointing at the address that then failed.
sc_dns_answer_unreachable() {
    lab_dns
    firewall lab-app1 fw-drop-tcp-syn.nft
    cap_start lab-sw lab-br0
    proxy FR_MS=10000
    uac caller1 "$PROXY:5060" uac-call.xml dnsgood -d 2000
    sleep 1
}

# 43. A large INVITE (uac-call-big.xml: an ICE/DTLS offer, ~2.6 kB) over UDP leaves the caller as two IP
#     fragments. Call 1 connects (the fragments pass, RTP 2 s, BYE). Then app1's firewall drops non-first
#     fragments before reassembly (fw-drop-fragments.nft): call 2's INVITE and its retransmissions are lost
#     whole at app1, while the switch still sees both fragments of each; Timer B ends it at 32 s.
sc_invite_fragments_dropped() {
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-call.xml
    uac caller-1 "$APP1:5060" uac-call-big.xml app -d 2000
    waitpid "$PID_app1"
    firewall lab-app1 fw-drop-fragments.nft
    uas app1 lab-app1 "$APP1" uas-call.xml
    uac caller-2 "$APP1:5060" uac-call-big.xml app -d 2000 "${TIMER_B[@]}"
    kill -INT "$PID_app1" 2>/dev/null || true
    waitpid "$PID_app1"
}

# 44. The same large INVITE, its second fragment dropped on the caller's uplink before the mirror
#     (drop-caller-fragments-uplink.nft, netdev ingress of the caller's switch port): the capture holds only the
#     first fragment of each transmission (7, per Timer A), never a whole INVITE; app1 receives nothing.
sc_invite_fragments_lost() {
    nsx lab-sw nft -f "$LAB/drop-caller-fragments-uplink.nft"
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-call.xml
    uac caller "$APP1:5060" uac-call-big.xml app -d 2000 "${TIMER_B[@]}"
    kill -INT "$PID_app1" 2>/dev/null || true
    waitpid "$PID_app1"
}

# 45. Three calls with RFC 4028 session timers (Session-Expires: 90;refresher=uac, accepted by app1 with
#     Require: timer), media inactive. Once they are up, app1's firewall starts dropping inbound UDP SIP starting
#     with "INVITE" (uas-session-timer.xml adds the rule to fw-session-refresh.nft's chain): each caller's refresh
#     re-INVITE at 45 s is retransmitted unanswered, and app1 ends each session at SE - min(32, SE/3) = 60 s with
#     a BYE (Reason: Q.850;cause=102): three calls that all last 60 s.
sc_session_timer_refresh_dropped() {
    firewall lab-app1 fw-session-refresh.nft
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-session-timer.xml -m 3
    fgrun lab-caller caller 90 sipp "$APP1:5060" -sf "$LAB/uac-session-timer.xml" -i "$CALLER" -p 5060 \
        -mi "$CALLER" -mp 6000 -s app -nostdin -m 3 -l 3 -r 10 -aa -trace_err -trace_msg
    waitpid "$PID_app1"
}

# 46. Transactions other than INVITE and REGISTER: a MESSAGE app1 accepts (200); a SUBSCRIBE for voicemail
#     notifications that app1 refuses with 489 Bad Event; a MESSAGE to app2, whose firewall drops it
#     (retransmitted per Timer E, unanswered until Timer F, 32 s); and a call with a reliable 183 (PRACK/200)
#     in which the caller's REFER (blind transfer) is refused 403 before it hangs up.
sc_other_transactions() {
    firewall lab-app2 fw-drop-udp-sip.nft
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-message.xml
    uac caller-message "$APP1:5060" uac-message.xml app
    waitpid "$PID_app1"
    uas app1 lab-app1 "$APP1" uas-subscribe-bad-event.xml
    uac caller-subscribe "$APP1:5060" uac-subscribe.xml app
    waitpid "$PID_app1"
    uas app1 lab-app1 "$APP1" uas-prack-refer.xml
    uac caller-refer "$APP1:5060" uac-prack-refer.xml app
    waitpid "$PID_app1"
    uac caller-lost "$APP2:5060" uac-message.xml app -max_non_invite_retrans 10 -recv_timeout 32000
}

# 53. A load test through the proxy (sipp at 20 calls/s, 1311 calls, each picking its Request-URI user
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

# ---------------------------------------------------------------------------------------------------------
# SIP over TLS with key logs. Debian's sipp has no TLS and kamailio's tls module writes no key log, so
# scripts/lab/tls_sip.py (Python's ssl, i.e. OpenSSL 3) plays the UAC and UAS and writes NSS key logs;
# the keys are throw-away, made per run. TLS 1.3 suites are chosen through OPENSSL_CONF (Python cannot).
TLS_PY=(python3 "$LAB/tls_sip.py")
# tls_ca DIR — a lab root CA (DIR/ca.crt, DIR/ca.key) and an `openssl ca` config able to set any dates
tls_ca() {
    local d=$1
    mkdir -p "$d/db"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/O=Lab/CN=Lab Root CA" \
        -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
    : >"$d/db/index.txt"
    printf '[ca]\ndefault_ca=lab\n[lab]\ndatabase=%s\nnew_certs_dir=%s\nserial=%s\ndefault_md=sha256\npolicy=any\nunique_subject=no\ncopy_extensions=copy\n[any]\ncommonName=supplied\n' \
        "$d/db/index.txt" "$d/db" "$d/db/serial" >"$d/ca.cnf"
    echo 1000 >"$d/db/serial"
}
# tls_leaf DIR NAME CN SAN EKU [START END]  — DIR/NAME.{crt,key} signed by the lab CA (dates as YYYYMMDDhhmmssZ)
tls_leaf() {
    local d=$1 n=$2 cn=$3 san=$4 eku=$5 start=${6:-} end=${7:-}
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout "$d/$n.key" -out "$d/$n.csr" \
        -addext "subjectAltName=$san" -addext "extendedKeyUsage=$eku" \
        -addext "keyUsage=critical,digitalSignature,keyEncipherment" 2>/dev/null
    local dates=(-days 825)
    [[ -n $start ]] && dates=(-startdate "$start" -enddate "$end")
    openssl ca -batch -config "$d/ca.cnf" -cert "$d/ca.crt" -keyfile "$d/ca.key" -notext \
        "${dates[@]}" -in "$d/$n.csr" -out "$d/$n.crt" 2>/dev/null
}
# tls_conf FILE SUITES — an OpenSSL config limiting TLS 1.3 cipher suites
tls_conf() {
    printf 'openssl_conf=init\n[init]\nssl_conf=ssl\n[ssl]\nsystem_default=sys\n[sys]\nCiphersuites=%s\n' "$2" >"$1"
}
# tls_listen PORT — wait until app1 listens on PORT
tls_listen() {
    local i
    for i in $(seq 50); do nsx lab-app1 ss -ltn | grep -q ":$1 " && break; sleep 0.1; done
}
# tls_call NAME PORT [tls_sip.py call args] — one call (or OPTIONS) from the caller to app1:PORT
tls_call() {
    local name=$1 port=$2; shift 2
    fgrun lab-caller "$name" 20 "${TLS_PY[@]}" call --connect "$APP1:$port" --local "$CALLER" "$@"
    sleep 0.3
}

# 47. Seven whole calls over TLS (INVITE..BYE, 2 s RTP each way), one connection each, one per version
#     and cipher: TLS 1.3 AES-256-GCM, AES-128-GCM, ChaCha20-Poly1305; TLS 1.2 ECDHE-RSA with AES-128-GCM,
#     ChaCha20-Poly1305, AES-256-CBC-SHA384 (encrypt-then-MAC) and AES-128-CBC-SHA (MAC-then-encrypt).
#     The client's key log is kept as sip-tls-calls.keylog; sip-tls-calls-dsb.pcapng is the same capture
#     with the key log injected as a pcapng Decryption Secrets Block (editcap --inject-secrets).
sc_sip_tls_calls() {
    local d="$RUN/tlsca"
    tls_ca "$d"
    tls_leaf "$d" app app1.lab.example "DNS:app1.lab.example,IP:$APP1" serverAuth,clientAuth
    tls_conf "$d/aes128.cnf" TLS_AES_128_GCM_SHA256
    tls_conf "$d/chacha.cnf" TLS_CHACHA20_POLY1305_SHA256
    local keys="$RUN/keys.keylog" common=(--sni app1.lab.example --ca "$d/ca.crt")
    cap_start lab-sw lab-br0
    bgrun lab-app1 tls-server 60 "${TLS_PY[@]}" serve --listen "$APP1:5061" --cert "$d/app.crt" \
        --key "$d/app.key" --accept 7 --ciphers "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES"
    tls_listen 5061
    tls_call tls13-aes256 5061 "${common[@]}" --keylog "$keys" --max 1.3
    OPENSSL_CONF="$d/aes128.cnf" tls_call tls13-aes128 5061 "${common[@]}" --keylog "$keys" --max 1.3
    OPENSSL_CONF="$d/chacha.cnf" tls_call tls13-chacha 5061 "${common[@]}" --keylog "$keys" --max 1.3
    tls_call tls12-gcm 5061 "${common[@]}" --keylog "$keys" --max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256
    tls_call tls12-chacha 5061 "${common[@]}" --keylog "$keys" --max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305
    tls_call tls12-cbc384 5061 "${common[@]}" --keylog "$keys" --max 1.2 --ciphers ECDHE-RSA-AES256-SHA384
    tls_call tls12-cbc-mte 5061 "${common[@]}" --keylog "$keys" --max 1.2 --ciphers ECDHE-RSA-AES128-SHA --no-etm
    waitpid "$PID_tls_server"
    cp "$keys" "$OUT/sip-tls-calls.keylog"
    sleep 0.3
}
# tshark_sip NAME TLS-OPTION [tshark args] — the SIP tshark reads with the key: frame, method, status,
# Call-ID per line
tshark_sip() {
    local name=$1 opt=$2; shift 2
    tshark -r "$OUT/$name.pcap" -o "$opt" "$@" -Y sip -T fields -e frame.number -e sip.Method -e sip.Status-Code \
        -e sip.Call-ID >"$OUT/$name.tshark-sip.tsv" 2>/dev/null
}
# The DSB capture is derived from the committed capture and key log.
post_sip_tls_calls() {
    editcap --inject-secrets "tls,$OUT/sip-tls-calls.keylog" "$OUT/sip-tls-calls.pcap" "$OUT/sip-tls-calls-dsb.pcapng"
    chmod 644 "$OUT/sip-tls-calls-dsb.pcapng"
    tshark_sip sip-tls-calls "tls.keylog_file:$OUT/sip-tls-calls.keylog"
}
post_sip_tls_rsa() { tshark_sip sip-tls-rsa "tls.keys_list:$APP1,5061,sip,$OUT/sip-tls-rsa.key"; }
post_tls_no_sni() { tshark_sip tls-no-sni "tls.keylog_file:$OUT/tls-no-sni.keylog"; }
# tshark decodes SIP inside TLS only on a SIP port: 5065 is named.
post_tls_certificates() {
    tshark_sip tls-certificates "tls.keylog_file:$OUT/tls-certificates.keylog" -d tls.port==5065,sip
}

# 48. Two calls over TLS 1.2 with RSA key exchange (no forward secrecy), decryptable with the server's
#     private key alone: AES128-SHA256 (CBC) and AES256-GCM-SHA384. The throw-away key is kept as
#     sip-tls-rsa.key; no key log.
sc_sip_tls_rsa() {
    local d="$RUN/tlsca"
    tls_ca "$d"
    tls_leaf "$d" app app1.lab.example "DNS:app1.lab.example,IP:$APP1" serverAuth,clientAuth
    cap_start lab-sw lab-br0
    bgrun lab-app1 tls-server 60 "${TLS_PY[@]}" serve --listen "$APP1:5061" --cert "$d/app.crt" \
        --key "$d/app.key" --accept 2 --ciphers AES128-SHA256:AES256-GCM-SHA384
    tls_listen 5061
    tls_call rsa-cbc 5061 --sni app1.lab.example --ca "$d/ca.crt" --max 1.2 --ciphers AES128-SHA256
    tls_call rsa-gcm 5061 --sni app1.lab.example --ca "$d/ca.crt" --max 1.2 --ciphers AES256-GCM-SHA384
    waitpid "$PID_tls_server"
    cp "$d/app.key" "$OUT/sip-tls-rsa.key"
    chmod 644 "$OUT/sip-tls-rsa.key"
}

# 49. One TLS connection per certificate failure, each on its own port of app1, TLS 1.2 unless noted:
#     5061 expired server certificate (2020-2021) -> client alert certificate_expired;
#     5062 certificate for other.lab.example, client asks for app1.lab.example -> client alert;
#     5063 self-signed server certificate -> client alert unknown_ca;
#     5064 MTLS: the client presents a certificate valid for serverAuth only -> server alert;
#     5064 again: the client presents no certificate -> server alert;
#     5065 MTLS over TLS 1.3 with the serverAuth-only client certificate (the key log lets the encrypted
#          certificates be read: tls-certificates.keylog);
#     5066 server allows TLS 1.3 only, client TLS 1.2 only -> protocol_version;
#     5061 again: plain SIP OPTIONS sent to the TLS port.
sc_tls_certificates() {
    local d="$RUN/tlsca"
    tls_ca "$d"
    tls_leaf "$d" good app1.lab.example "DNS:app1.lab.example,IP:$APP1" serverAuth,clientAuth
    tls_leaf "$d" expired app1.lab.example "DNS:app1.lab.example" serverAuth 20200101000000Z 20210101000000Z
    tls_leaf "$d" other other.lab.example "DNS:other.lab.example" serverAuth
    tls_leaf "$d" srvonly caller.lab.example "DNS:caller.lab.example" serverAuth
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=app1.lab.example" \
        -addext "subjectAltName=DNS:app1.lab.example" -keyout "$d/self.key" -out "$d/self.crt" 2>/dev/null
    local keys="$RUN/keys.keylog" ca=(--ca "$d/ca.crt") srv=(serve --accept 1)
    cap_start lab-sw lab-br0
    bgrun lab-app1 s-expired 30 "${TLS_PY[@]}" serve --accept 2 --listen "$APP1:5061" --cert "$d/expired.crt" --key "$d/expired.key"
    bgrun lab-app1 s-other 30 "${TLS_PY[@]}" "${srv[@]}" --listen "$APP1:5062" --cert "$d/other.crt" --key "$d/other.key"
    bgrun lab-app1 s-self 30 "${TLS_PY[@]}" "${srv[@]}" --listen "$APP1:5063" --cert "$d/self.crt" --key "$d/self.key"
    bgrun lab-app1 s-mtls 30 "${TLS_PY[@]}" serve --accept 2 --listen "$APP1:5064" --cert "$d/good.crt" \
        --key "$d/good.key" --ca "$d/ca.crt" --verify-client --max 1.2
    bgrun lab-app1 s-mtls13 30 "${TLS_PY[@]}" "${srv[@]}" --listen "$APP1:5065" --cert "$d/good.crt" \
        --key "$d/good.key" --ca "$d/ca.crt" --verify-client --keylog "$RUN/server13.keylog"
    bgrun lab-app1 s-only13 30 "${TLS_PY[@]}" "${srv[@]}" --listen "$APP1:5066" --cert "$d/good.crt" --key "$d/good.key" --min 1.3
    tls_listen 5066; sleep 0.3
    tls_call c-expired 5061 --sni app1.lab.example "${ca[@]}" --max 1.2 --options
    tls_call c-other 5062 --sni app1.lab.example "${ca[@]}" --max 1.2 --options
    tls_call c-self 5063 --sni app1.lab.example "${ca[@]}" --max 1.2 --options
    tls_call c-mtls-srvonly 5064 --sni app1.lab.example "${ca[@]}" --max 1.2 --cert "$d/srvonly.crt" --key "$d/srvonly.key" --options
    tls_call c-mtls-nocert 5064 --sni app1.lab.example "${ca[@]}" --max 1.2 --options
    tls_call c-mtls13 5065 --sni app1.lab.example "${ca[@]}" --max 1.3 --cert "$d/srvonly.crt" --key "$d/srvonly.key" \
        --keylog "$keys" --options
    tls_call c-only12 5066 --sni app1.lab.example "${ca[@]}" --max 1.2 --options
    tls_call c-plain 5061 --plain --options
    sleep 0.5
    cp "$keys" "$OUT/tls-certificates.keylog"
}

# tls_intermediate DIR — DIR/int.{crt,key}: "Lab Intermediate CA" signed by the lab root, and DIR/leaf.crt
# (with DIR/leaf.key) for app1.lab.example signed by the intermediate; DIR/chain.crt is the leaf and the
# intermediate, as a server configured with its whole chain sends them.
tls_intermediate() {
    local d=$1
    openssl req -new -newkey rsa:2048 -nodes -subj "/O=Lab/CN=Lab Intermediate CA" -keyout "$d/int.key" \
        -out "$d/int.csr" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl ca -batch -config "$d/ca.cnf" -cert "$d/ca.crt" -keyfile "$d/ca.key" -notext -days 825 \
        -in "$d/int.csr" -out "$d/int.crt" 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=app1.lab.example" -keyout "$d/leaf.key" -out "$d/leaf.csr" \
        -addext "subjectAltName=DNS:app1.lab.example" -addext "extendedKeyUsage=serverAuth,clientAuth" \
        -addext "keyUsage=critical,digitalSignature,keyEncipherment" 2>/dev/null
    openssl x509 -req -in "$d/leaf.csr" -CA "$d/int.crt" -CAkey "$d/int.key" -set_serial 0x2001 -days 825 \
        -copy_extensions copy -out "$d/leaf.crt" 2>/dev/null
    cat "$d/leaf.crt" "$d/int.crt" >"$d/chain.crt"
}

# 50. A server certificate issued by an intermediate CA, the client trusting only the lab root (TLS 1.2,
#     OPTIONS): on 5061 the server sends the leaf alone (incomplete chain) → the client's alert
#     unknown_ca; on 5062 the same leaf with its intermediate → the OPTIONS is answered 200.
sc_tls_chain() {
    local d="$RUN/tlsca"
    tls_ca "$d"
    tls_intermediate "$d"
    cap_start lab-sw lab-br0
    bgrun lab-app1 s-leaf 30 "${TLS_PY[@]}" serve --accept 1 --listen "$APP1:5061" --cert "$d/leaf.crt" --key "$d/leaf.key"
    bgrun lab-app1 s-chain 30 "${TLS_PY[@]}" serve --accept 1 --listen "$APP1:5062" --cert "$d/chain.crt" --key "$d/leaf.key"
    tls_listen 5062; sleep 0.3
    tls_call c-leaf 5061 --sni app1.lab.example --ca "$d/ca.crt" --max 1.2 --options
    tls_call c-chain 5062 --sni app1.lab.example --ca "$d/ca.crt" --max 1.2 --options
    sleep 0.5
}

# 51. caller -UDP-> proxy -TLS-> app1, whose certificate expired: the proxy (tls_sip.py relay: kamailio
#     here has no tls module) answers 100, fails its TLS handshake to app1 (its alert certificate_expired)
#     and answers the caller 503. Switch capture.
sc_tls_next_hop_expired() {
    local d="$RUN/tlsca"
    tls_ca "$d"
    tls_leaf "$d" expired app1.lab.example "DNS:app1.lab.example" serverAuth 20200101000000Z 20210101000000Z
    cap_start lab-sw lab-br0
    bgrun lab-app1 s-expired 30 "${TLS_PY[@]}" serve --listen "$APP1:5061" --cert "$d/expired.crt" --key "$d/expired.key"
    bgrun lab-proxy relay 30 "${TLS_PY[@]}" relay --listen "$PROXY:5060" --connect "$APP1:5061" \
        --sni app1.lab.example --ca "$d/ca.crt" --max 1.2
    tls_listen 5061
    for i in $(seq 50); do nsx lab-proxy ss -lun | grep -q "$PROXY:5060" && break; sleep 0.1; done
    uac caller "$PROXY:5060" uac-call.xml app1 -d 1000
    waitpid "$PID_relay"
    sleep 0.5
}

# 52. A client that sends no SNI (it checks the chain, not the name) and addresses its OPTIONS to
#     sip:app@app1.lab.example over TLS 1.2; app1's certificate names only other.lab.example. The
#     handshake completes and the OPTIONS is answered. The client's key log is tls-no-sni.keylog.
sc_tls_no_sni() {
    local d="$RUN/tlsca" keys="$RUN/keys.keylog"
    tls_ca "$d"
    tls_leaf "$d" other other.lab.example "DNS:other.lab.example" serverAuth
    cap_start lab-sw lab-br0
    bgrun lab-app1 s-other 30 "${TLS_PY[@]}" serve --listen "$APP1:5061" --cert "$d/other.crt" --key "$d/other.key"
    tls_listen 5061
    tls_call c-no-sni 5061 --uri-host app1.lab.example --ca "$d/ca.crt" --max 1.2 --keylog "$keys" --options
    sleep 0.5
    cp "$keys" "$OUT/tls-no-sni.keylog"
}

# 53. RFC 5626 keep-alives from a client (keepalive_peer.py) that keeps SIP flows open: to kamailio
#     (kamailio-crlf.cfg) an OPTIONS then 4 double-CRLF pings over TCP, each answered by a single CRLF,
#     and over UDP an OPTIONS then 4 STUN Binding requests on the SIP port pair, answered by the stun
#     module; then the same to app1, an endpoint that answers the OPTIONS but no keep-alive (no pong, no
#     STUN response). The capture runs 11 s past the last ping (a ping unanswered for 10 s has failed,
#     RFC 5626 §4.4.1).
sc_sip_keepalives() {
    cap_start lab-sw lab-br0
    kamailio_as edge kamailio-crlf.cfg
    bgrun lab-app1 deaf 60 python3 "$LAB/keepalive_peer.py" deaf "$APP1"
    sleep 0.5
    fgrun lab-caller ka-proxy 30 python3 "$LAB/keepalive_peer.py" client "$CALLER" "$PROXY" 4 0.5
    fgrun lab-caller ka-app1 30 python3 "$LAB/keepalive_peer.py" client "$CALLER" "$APP1" 4 0.5
    sleep 11
}

# 54. The same refusal from two hosts: three calls to app1 and one to app2, each answered 486 Busy Here
#     and ACKed — one failure pattern decided by two hosts (app1 three times, app2 once), not two.
sc_busy_two_apps() {
    cap_start lab-sw lab-br0
    local n
    for n in 1 2 3; do
        uas app1 lab-app1 "$APP1" uas-busy.xml
        uac "caller-busy$n" "$APP1:5060" uac-busy.xml "busy$n"
        waitpid "$PID_app1"
    done
    uas app2 lab-app2 "$APP2" uas-busy.xml
    uac caller-busy4 "$APP2:5060" uac-busy.xml busy4
    waitpid "$PID_app2"
}

ALL=(sip-udp-basic-call sip-udp-outcomes tcp-syn-dropped-proxy tcp-syn-dropped-at-app tcp-syn-refused
     udp-icmp-unreachable udp-invite-dropped failover-slow media-blocked-both media-one-way ack-dropped
     ack-dropped-calls media-impaired sip-tcp-call tls-handshake-failed media-dead-air media-stopped failover-udp
     nat-private-sdp fax-t38 fax-t38-refused fax-t38-one-way media-one-way-at-caller
     media-blocked-both-at-caller ice-call ice-failed codec-mismatch media-changes midcall-one-way
     teardown-rtp-after-bye early-media-port-closed hep-feed hep2-feed lync-fe-504 lync-ice-failed
     teams-dr-rejected teams-dr-tls register-auth options-keepalive dns-nxdomain dns-unanswered dns-answer-unreachable dns-refused invite-fragments-dropped
     invite-fragments-lost session-timer-refresh-dropped other-transactions
     sip-tls-calls sip-tls-rsa tls-certificates tls-chain tls-next-hop-expired tls-no-sni sip-keepalives
     points-syn-dropped-at-app points-syn-dropped-on-router points-rtp-dropped-on-router points-rtp-not-sent
     points-clean-call points-nat-call points-ack-dropped-on-router load-403 busy-two-apps)

run_scenario() {
    local name=$1 fn="sc_${1//-/_}"
    declare -F "$fn" >/dev/null || die "unknown scenario: $name (try --list)"
    log "=== $name"
    if [[ $name == points-* ]]; then setup_routed; else setup; fi
    # A scenario recording at two points names its main capture otherwise (CAP_NAME).
    CAP_NAME="$name.pcap"
    "$fn"
    cap_stop "$CAP_NAME"
    stop_all
    if declare -F "post_${1//-/_}" >/dev/null; then "post_${1//-/_}"; fi
    mkdir -p "$RUN/logs-$name" && mv "$RUN"/*.log "$RUN/logs-$name/" 2>/dev/null || true
}

main() {
    if [[ ${1:-} == --list ]]; then printf '%s\n' "${ALL[@]}"; return; fi
    [[ $(id -u) == 0 ]] || die "needs root (network namespaces): sudo $0 $*"
    local t
    for t in ip ss sipp kamailio tcpdump tshark nft python3 openssl ping dnsmasq timeout; do
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
