#!/usr/bin/env python3
"""A minimal ICE media peer for the lab (stdlib only): one UDP socket for STUN and RTP, like an ICE agent's
host candidate.

    ice_peer.py LOCAL_IP:PORT REMOTE_IP:PORT DELAY SECONDS TONE_FILE [--controlling]

It binds its socket at once, waits DELAY seconds (the call is answered meanwhile), then sends STUN Binding
Requests (RFC 8489 header, USERNAME, PRIORITY, ICE-CONTROLLING/-CONTROLLED,
FINGERPRINT; no MESSAGE-INTEGRITY: the lab's peers do not check it) to the remote candidate every 50 ms
(RFC 8445 Ta), answers the remote's requests with Binding Success Responses (XOR-MAPPED-ADDRESS), and once
one of its own checks has been answered sends PCMU RTP (20 ms packets from TONE_FILE) to the remote for the
rest of SECONDS; then it stays quiet, socket open, for a second (so that the other peer's last packets find
it). When nothing answers, it keeps checking (every 50 ms, at most 100 requests) and never sends media: the
ICE failure the lab records. Send errors (a local firewall's EPERM) are ignored.
"""
import os
import select
import socket
import struct
import sys
import time
import zlib

MAGIC = 0x2112A442


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def attr(kind, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * pad


def stun(msg_type, tid, attrs):
    body = b"".join(attrs)
    # FINGERPRINT (RFC 8489 §14.7): CRC-32 of the message up to it, XOR 0x5354554E, with the length
    # already counting the fingerprint attribute.
    head = struct.pack("!HHI", msg_type, len(body) + 8, MAGIC) + tid
    crc = (zlib.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF
    return head + body + attr(0x8028, struct.pack("!I", crc))


def xor_mapped(host, port):
    ip = struct.unpack("!I", socket.inet_aton(host))[0]
    return attr(0x0020, struct.pack("!BBHI", 0, 1, port ^ (MAGIC >> 16), ip ^ MAGIC))


def main():
    local, remote = addr(sys.argv[1]), addr(sys.argv[2])
    delay, seconds, tone = float(sys.argv[3]), float(sys.argv[4]), open(sys.argv[5], "rb").read()
    controlling = "--controlling" in sys.argv
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(local)
    time.sleep(delay)
    role = attr(0x802A if controlling else 0x8029, os.urandom(8))
    username = attr(0x0006, b"lab-remote:lab-local")
    priority = attr(0x0024, struct.pack("!I", 2130706431))
    end = time.monotonic() + seconds
    next_check, requests, connected = 0.0, 0, False
    seq, ts, next_rtp = 1000, 160000, 0.0

    def send(data):
        try:
            sock.sendto(data, remote)
        except OSError:
            pass

    while time.monotonic() < end:
        now = time.monotonic()
        if not connected and now >= next_check and requests < 100:
            send(stun(0x0001, os.urandom(12), [username, priority, role]))
            requests += 1
            next_check = now + 0.050
        if connected and now >= next_rtp:
            payload = tone[(seq * 160) % (len(tone) - 160):][:160]
            send(struct.pack("!BBHII", 0x80, 0x80 if seq == 1000 else 0, seq & 0xFFFF, ts & 0xFFFFFFFF,
                             0x1CE0 if controlling else 0x1CE1) + payload)
            seq, ts = seq + 1, ts + 160
            next_rtp = (next_rtp or now) + 0.020
        wait = max(0.0, min(next_rtp if connected else next_check, end) - time.monotonic())
        ready, _, _ = select.select([sock], [], [], wait)
        if not ready:
            continue
        data, peer = sock.recvfrom(2048)
        if len(data) < 20 or struct.unpack("!I", data[4:8])[0] != MAGIC:
            continue  # RTP from the peer
        kind = struct.unpack("!H", data[:2])[0]
        if kind == 0x0001:
            send(stun(0x0101, data[8:20], [xor_mapped(*peer)]))
        elif kind == 0x0101 and not connected:
            connected, next_rtp = True, time.monotonic()
    quiet_until = time.monotonic() + 1.0
    while time.monotonic() < quiet_until:
        if select.select([sock], [], [], max(0.0, quiet_until - time.monotonic()))[0]:
            sock.recvfrom(2048)


if __name__ == "__main__":
    main()
