#!/usr/bin/env bash
# record-captures.sh — record real SIP failure scenarios in a network-namespace lab.
#
# Usage: sudo scripts/record-captures.sh [scenario...]     (no argument = all scenarios)
#        sudo scripts/record-captures.sh --list
# Writes testdata/lab/<scenario>.pcap and testdata/lab/<scenario>.tshark.txt (what tshark sees); see testdata/lab/README.md.
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
    local name=$1
    sleep 0.5
    kill -INT "$CAP_PID" 2>/dev/null || true
    waitpid "$CAP_PID"
    cp "$RUN/cap.pcap" "$OUT/$name"
    chmod 644 "$OUT/$name"
    tshark -r "$OUT/$name" -q -z sip,stat -z rtp,streams -o rtp.heuristic_rtp:TRUE -z conv,tcp \
        >"$OUT/${name%.pcap}.tshark.txt" 2>/dev/null || true
    log "$name: $(stat -c %s "$OUT/$name") bytes, $(tshark -r "$OUT/$name" 2>/dev/null | wc -l) frames"
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
# proxy [kamailio -A defines...]   — kamailio in lab-proxy, foreground process bounded to 120 s
proxy() {
    local defs=() d
    for d in "$@"; do defs+=(-A "$d"); done
    mkdir -p "$RUN/kamailio"
    bgrun lab-proxy kamailio 120 kamailio -f "$LAB/kamailio.cfg" -DD -E -m 32 -M 8 -Y "$RUN/kamailio" \
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

# 15. A normal call whose media outlives its signalling: the caller's BYE is answered at once; the caller's
#     sipp exits 200 ms after that 200 OK, which closes its RTP socket (a phone that closes its media socket
#     on BYE), while app1 keeps streaming for 600 ms after answering: the caller's host answers the late RTP
#     with ICMP port unreachable (the kernel's own, within its rate limit: a burst of 6, then 1/s).
sc_teardown_rtp_after_bye() {
    cap_start lab-sw lab-br0
    uas app1 lab-app1 "$APP1" uas-media-after-bye.xml -d 600
    uac caller "$APP1:5060" uac-call.xml app -d 3000
    waitpid "$PID_app1"
}

# 16. Early media to a port not open yet: app1 sends 183 with SDP and starts its RTP at once, 200 OK 1 s
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

# 17. Seven whole calls over TLS (INVITE..BYE, 2 s RTP each way), one connection each, one per version
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

# 18. Two calls over TLS 1.2 with RSA key exchange (no forward secrecy), decryptable with the server's
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

# 19. One TLS connection per certificate failure, each on its own port of app1, TLS 1.2 unless noted:
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

# 20. A server certificate issued by an intermediate CA, the client trusting only the lab root (TLS 1.2,
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

# 21. caller -UDP-> proxy -TLS-> app1, whose certificate expired: the proxy (tls_sip.py relay: kamailio
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

# 22. A client that sends no SNI (it checks the chain, not the name) and addresses its OPTIONS to
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

ALL=(sip-udp-basic-call sip-udp-outcomes tcp-syn-dropped-proxy tcp-syn-dropped-at-app tcp-syn-refused
     udp-icmp-unreachable udp-invite-dropped failover-slow media-blocked-both media-one-way ack-dropped
     media-impaired sip-tcp-call tls-handshake-failed teardown-rtp-after-bye early-media-port-closed
     sip-tls-calls sip-tls-rsa tls-certificates tls-chain tls-next-hop-expired
     tls-no-sni)

run_scenario() {
    local name=$1 fn="sc_${1//-/_}"
    declare -F "$fn" >/dev/null || die "unknown scenario: $name (try --list)"
    log "=== $name"
    setup
    "$fn"
    cap_stop "$name.pcap"
    stop_all
    if declare -F "post_${1//-/_}" >/dev/null; then "post_${1//-/_}"; fi
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
