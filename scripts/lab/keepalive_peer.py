#!/usr/bin/env python3
"""RFC 5626 keep-alives for the lab (record-captures.sh, scenario sip-keepalives).

  keepalive_peer.py deaf IP
      A SIP endpoint on IP:5060 (UDP and TCP) that answers every request with 200 OK and ignores
      keep-alives: no CRLF pong for a double-CRLF ping, no answer to a STUN Binding request.
  keepalive_peer.py client LOCAL TARGET COUNT INTERVAL
      Opens a TCP connection LOCAL -> TARGET:5060, sends OPTIONS (so the flow is SIP), then COUNT
      double-CRLF pings INTERVAL seconds apart (RFC 5626 §4.4.1); then from LOCAL:5060 over UDP an
      OPTIONS and COUNT STUN Binding requests (§4.4.2) to TARGET:5060. Prints what came back.
"""
import select
import socket
import struct
import sys
import threading
import time

MAGIC = 0x2112A442


def options(local, lport, target, transport, n):
    return (
        f"OPTIONS sip:{target}:5060 SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {local}:{lport};branch=z9hG4bK-ka-{transport.lower()}-{n}\r\n"
        f"Max-Forwards: 70\r\n"
        f"From: <sip:ka@{local}>;tag=ka{n}\r\n"
        f"To: <sip:{target}>\r\n"
        f"Call-ID: keepalive-{transport.lower()}-{n}@{local}\r\n"
        f"CSeq: 1 OPTIONS\r\n"
        f"Content-Length: 0\r\n\r\n"
    ).encode()


def ok_for(request: bytes) -> bytes:
    head = request.split(b"\r\n\r\n", 1)[0].decode(errors="replace").split("\r\n")
    keep = [h for h in head[1:] if h.split(":", 1)[0].lower() in ("via", "from", "to", "call-id", "cseq")]
    return ("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode()


def binding(n: int) -> bytes:
    # Type 0x0001 (Binding request), no attributes, a fixed transaction id per ping (reproducible runs).
    return struct.pack("!HHI", 1, 0, MAGIC) + struct.pack("!III", 0x6b61, 0, n)


def deaf(ip: str) -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((ip, 5060))
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((ip, 5060))
    srv.listen(8)
    conns = []
    while True:
        ready, _, _ = select.select([udp, srv] + conns, [], [])
        for s in ready:
            if s is udp:
                data, peer = udp.recvfrom(65535)
                if data[:1].isalpha():
                    udp.sendto(ok_for(data), peer)
            elif s is srv:
                c, _ = srv.accept()
                conns.append(c)
            else:
                data = s.recv(65535)
                if not data:
                    conns.remove(s)
                    s.close()
                elif data.strip(b"\r\n"):
                    s.sendall(ok_for(data.lstrip(b"\r\n")))


def drain(s, secs):
    got = []
    end = time.time() + secs
    while (left := end - time.time()) > 0:
        r, _, _ = select.select([s], [], [], left)
        if not r:
            break
        data = s.recv(65535) if s.type == socket.SOCK_STREAM else s.recvfrom(65535)[0]
        if not data:
            break
        got.append(data)
    return got


def client(local: str, target: str, count: int, interval: float) -> None:
    t = socket.create_connection((target, 5060), timeout=3, source_address=(local, 0))
    lport = t.getsockname()[1]
    t.sendall(options(local, lport, target, "TCP", 1))
    print("tcp options:", drain(t, interval))
    for _ in range(count):
        t.sendall(b"\r\n\r\n")
        print("tcp ping ->", drain(t, interval))
    t.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((local, 5060))
    u.sendto(options(local, 5060, target, "UDP", 2), (target, 5060))
    print("udp options:", drain(u, interval))
    for i in range(count):
        u.sendto(binding(i + 1), (target, 5060))
        print("stun ping ->", [d[:2].hex() for d in drain(u, interval)])
    u.close()


if __name__ == "__main__":
    if sys.argv[1] == "deaf":
        deaf(sys.argv[2])
    else:
        client(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
