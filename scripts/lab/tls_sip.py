#!/usr/bin/env python3
"""SIP over TLS for the lab: a UAS and a UAC on Python's ssl module (OpenSSL), writing NSS key logs.

Debian's sipp is built without TLS and kamailio's tls module cannot write key logs, so this plays a
whole call (INVITE/100/180/200/ACK, 2 s of PCMU RTP both ways over UDP, own ports and SSRC per call, BYE/200) or an OPTIONS ping
over a real TLS stack whose session secrets Python writes with SSLContext.keylog_filename.

  tls_sip.py serve --listen IP:PORT --cert C --key K [--ca CA --verify-client] [--min/--max 1.2|1.3]
                   [--ciphers LIST] [--keylog F] [--accept N]
  tls_sip.py call  --connect IP:PORT --local IP [--sni NAME] [--uri-host NAME] [--ca CA] [--cert C --key K]
                   [--max 1.2|1.3] [--ciphers LIST] [--no-etm] [--keylog F] [--options] [--plain]
                   [--flood MB]
  tls_sip.py relay --listen IP:PORT --connect IP:PORT [--sni NAME] [--ca CA] [--max 1.2|1.3]

TLS 1.3 suites cannot be chosen from Python: the caller sets OPENSSL_CONF to a file with Ciphersuites.
Every socket has a timeout; the server stops after --accept connections.
"""
import argparse
import random
import socket
import ssl
import sys
import threading
import time

SSL_OP_NO_ENCRYPT_THEN_MAC = 1 << 19  # OpenSSL 3 option bit, not exported by Python's ssl module
VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def context(args, server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = VERSIONS[getattr(args, "min", None) or "1.2"]
    if args.max:
        ctx.maximum_version = VERSIONS[args.max]
    if args.ciphers:
        ctx.set_ciphers(args.ciphers)
    if getattr(args, "no_etm", False):
        ctx.options |= SSL_OP_NO_ENCRYPT_THEN_MAC
    if args.keylog:
        ctx.keylog_filename = args.keylog
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    if server:
        if args.verify_client:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args.ca)
    elif args.ca:
        ctx.load_verify_locations(args.ca)
        ctx.check_hostname = bool(args.sni)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Stream:
    """SIP messages framed by Content-Length (RFC 3261 §18.3) over a stream socket."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def read(self):
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end >= 0:
                head = self.buf[:head_end].decode()
                length = 0
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() in ("content-length", "l"):
                        length = int(value)
                total = head_end + 4 + length
                if len(self.buf) >= total:
                    msg, self.buf = self.buf[:total], self.buf[total:]
                    return msg.decode()
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data

    def send(self, text):
        self.sock.sendall(text.encode())


def headers(msg):
    out = {}
    for line in msg.split("\r\n\r\n", 1)[0].split("\r\n")[1:]:
        name, _, value = line.partition(":")
        out.setdefault(name.strip().lower(), value.strip())
    return out


def build(start, hdrs, body=""):
    lines = [start] + [f"{k}: {v}" for k, v in hdrs] + [f"Content-Length: {len(body)}", "", body]
    return "\r\n".join(lines)


def sdp(ip, port, user):
    return (f"v=0\r\no={user} 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n")


def media_socket(local):
    """Bound when the SDP is sent, so the peer's first packets find it open."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(local)
    return s


def rtp(s, remote, packets=100, linger=1.0):
    """2 s of G.711 silence, 20 ms apart, from a random SSRC; the socket stays bound a while after,
    so the peer's last packets find it open (no ICMP port unreachable)."""
    ssrc = random.getrandbits(32)
    for i in range(packets):
        header = bytes([0x80, 0x00]) + i.to_bytes(2, "big") + (i * 160).to_bytes(4, "big")
        s.sendto(header + ssrc.to_bytes(4, "big") + b"\xff" * 160, remote)
        time.sleep(0.02)
    threading.Timer(linger, s.close).start()


def media_port(base, tcp_port):
    """A media port per call (calls follow each other within seconds; each gets its own)."""
    return base + (tcp_port % 1000) * 2


def answer(req, status, extra=(), body=""):
    h = headers(req)
    to = h["to"] if "tag=" in h["to"] else h["to"] + ";tag=uas1"
    hdrs = [("Via", h["via"]), ("From", h["from"]), ("To", to), ("Call-ID", h["call-id"]),
            ("CSeq", h["cseq"])] + list(extra)
    return build(f"SIP/2.0 {status}", hdrs, body)


def serve_one(conn, me):
    s = Stream(conn)
    media = None
    port = media_port(20000, conn.getpeername()[1])
    while True:
        req = s.read()
        if req is None:
            return
        method = req.split(" ", 1)[0]
        contact = [("Contact", f"<sip:app@{me[0]}:{me[1]};transport=tls>")]
        if method == "OPTIONS":
            s.send(answer(req, "200 OK", contact))
        elif method == "INVITE":
            s.send(answer(req, "100 Trying"))
            time.sleep(0.05)
            s.send(answer(req, "180 Ringing", contact))
            time.sleep(0.2)
            body = sdp(me[0], port, "app")
            sock = media_socket((me[0], port))
            s.send(answer(req, "200 OK", contact + [("Content-Type", "application/sdp")], body))
            offer = req.split("\r\n\r\n", 1)[1]
            ip = offer.split("c=IN IP4 ", 1)[1].split("\r\n", 1)[0]
            media = (ip, int(offer.split("m=audio ", 1)[1].split(" ", 1)[0]))
        elif method == "ACK" and media:
            threading.Thread(target=rtp, args=(sock, media)).start()
        elif method == "MESSAGE":
            pass  # the bench load (--flood) is not answered
        elif method == "BYE":
            s.send(answer(req, "200 OK"))


def serve(args):
    ctx = context(args, server=True)
    me = addr(args.listen)
    lsock = socket.create_server(me)
    lsock.settimeout(30)
    for _ in range(args.accept):
        try:
            raw, _peer = lsock.accept()
        except socket.timeout:
            return
        raw.settimeout(10)
        try:
            with ctx.wrap_socket(raw, server_side=True) as conn:
                serve_one(conn, me)
        except (ssl.SSLError, OSError) as e:
            print(f"connection failed: {e}", file=sys.stderr)


def call(args):
    peer = addr(args.connect)
    raw = socket.create_connection(peer, timeout=10, source_address=(args.local, 0))
    if args.plain:
        conn = raw
    else:
        try:
            conn = context(args, server=False).wrap_socket(raw, server_hostname=args.sni)
        except (ssl.SSLError, OSError) as e:
            print(f"handshake failed: {e}", file=sys.stderr)
            raw.close()
            return
    s = Stream(conn)
    me = (args.local, conn.getsockname()[1])
    target = args.uri_host or args.sni or peer[0]
    base = [("Via", f"SIP/2.0/TLS {me[0]}:{me[1]};branch=z9hG4bK{int(time.time() * 1e6)};rport"),
            ("Max-Forwards", "70"), ("From", f'"Alice" <sip:alice@{me[0]}>;tag=uac1'),
            ("To", f"<sip:app@{target}>"), ("Call-ID", f"tls-{me[1]}-{int(time.time())}@{me[0]}")]
    contact = ("Contact", f"<sip:alice@{me[0]}:{me[1]};transport=tls>")
    try:
        if args.flood:
            # A bench load: N MB of MESSAGE requests in one dialog, not answered.
            text = "x" * 1000
            sent, cseq = 0, 1
            while sent < args.flood * 1_000_000:
                msg = build(f"MESSAGE sip:app@{target} SIP/2.0",
                            base + [("CSeq", f"{cseq} MESSAGE"), ("Content-Type", "text/plain")], text)
                s.send(msg)
                sent += len(msg)
                cseq += 1
            return
        if args.options:
            s.send(build(f"OPTIONS sip:app@{target};transport=tls SIP/2.0", base + [("CSeq", "1 OPTIONS")]))
            s.read()
            return
        port = media_port(6000, me[1])
        body = sdp(me[0], port, "alice")
        sock = media_socket((me[0], port))
        s.send(build(f"INVITE sip:app@{target};transport=tls SIP/2.0",
                     base + [("CSeq", "1 INVITE"), contact, ("Content-Type", "application/sdp")], body))
        while True:
            resp = s.read()
            if resp is None:
                return
            if resp.startswith("SIP/2.0 200"):
                break
        to = headers(resp)["to"]
        dialog = [h if h[0] != "To" else ("To", to) for h in base]
        ack_via = [("Via", base[0][1].replace("branch=z9hG4bK", "branch=z9hG4bKa"))]
        s.send(build(f"ACK sip:app@{peer[0]}:{peer[1]};transport=tls SIP/2.0",
                     ack_via + dialog[1:] + [("CSeq", "1 ACK")]))
        answer_sdp = resp.split("\r\n\r\n", 1)[1]
        remote_port = int(answer_sdp.split("m=audio ", 1)[1].split(" ", 1)[0])
        rtp(sock, (peer[0], remote_port))
        time.sleep(0.1)
        bye_via = [("Via", base[0][1].replace("branch=z9hG4bK", "branch=z9hG4bKb"))]
        s.send(build(f"BYE sip:app@{peer[0]}:{peer[1]};transport=tls SIP/2.0",
                     bye_via + dialog[1:] + [("CSeq", "2 BYE")]))
        s.read()
    except (ssl.SSLError, OSError) as e:
        # TLS 1.3 reports a rejected client certificate only after the handshake, on the first read.
        print(f"connection failed: {e}", file=sys.stderr)
    finally:
        conn.close()


def relay(args):
    """A proxy whose next hop is over TLS and fails: the INVITE received over UDP on --listen is answered
    100 Trying, a TLS connection is opened to --connect from the same address, and when its handshake
    fails the INVITE is answered 503 (what a proxy answers when its next hop cannot be reached) and its
    ACK awaited. A handshake that succeeds is closed at once: only the failing hop is played."""
    me = addr(args.listen)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(me)
    udp.settimeout(30)
    data, peer = udp.recvfrom(65536)
    req = data.decode()
    udp.sendto(answer(req, "100 Trying").encode(), peer)
    raw = socket.create_connection(addr(args.connect), timeout=10, source_address=(me[0], 0))
    try:
        context(args, server=False).wrap_socket(raw, server_hostname=args.sni).close()
        return
    except (ssl.SSLError, OSError) as e:
        print(f"next hop failed: {e}", file=sys.stderr)
        raw.close()
    reason = ("Reason", 'SIP;cause=503;text="TLS to the next hop failed"')
    udp.sendto(answer(req, "503 Service Unavailable", [reason]).encode(), peer)
    udp.recvfrom(65536)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    for name in ("serve", "call", "relay"):
        q = sub.add_parser(name)
        q.add_argument("--cert")
        q.add_argument("--key")
        q.add_argument("--ca")
        q.add_argument("--max", choices=VERSIONS)
        q.add_argument("--ciphers")
        q.add_argument("--keylog")
    s, c, r = sub.choices["serve"], sub.choices["call"], sub.choices["relay"]
    r.add_argument("--listen", required=True)
    r.add_argument("--connect", required=True)
    r.add_argument("--sni")
    s.add_argument("--listen", required=True)
    s.add_argument("--verify-client", action="store_true")
    s.add_argument("--accept", type=int, default=1)
    s.add_argument("--min", choices=VERSIONS)
    c.add_argument("--connect", required=True)
    c.add_argument("--local", required=True)
    c.add_argument("--sni")
    c.add_argument("--uri-host", help="the Request-URI's host (default: the SNI, else the peer's address)")
    c.add_argument("--no-etm", action="store_true")
    c.add_argument("--options", action="store_true")
    c.add_argument("--plain", action="store_true")
    c.add_argument("--flood", type=int, metavar="MB")
    args = p.parse_args()
    {"serve": serve, "call": call, "relay": relay}[args.mode](args)


if __name__ == "__main__":
    main()
