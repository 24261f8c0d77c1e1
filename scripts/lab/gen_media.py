#!/usr/bin/env python3
"""Generate the media files the lab's sipp scenarios play (stdlib only, deterministic seeds).

tone.ulaw    raw G.711 mu-law, 8 kHz, a 440 Hz tone (sipp <exec rtp_stream="tone.ulaw,..."/>)
jitter.pcap  5 s of PCMU RTP (20 ms packets) whose send times carry jitter: Gaussian sigma 6 ms plus a
             40-60 ms stall about once a second (sipp <exec play_pcap_audio="jitter.pcap"/> replays with the
             pcap timestamps, so the jitter becomes real send-time jitter on the wire).
"""
import math
import random
import struct
import sys


def ulaw(sample: int) -> int:
    # ITU-T G.711 mu-law encoder (sign, 3-bit segment, 4-bit mantissa, inverted)
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    sample = min(abs(sample), clip) + bias
    exp = 7
    mask = 0x4000
    while exp > 0 and not (sample & mask):
        exp -= 1
        mask >>= 1
    mant = (sample >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


def tone(seconds: float) -> bytes:
    n = int(8000 * seconds)
    return bytes(ulaw(int(8000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(n))


def ip_checksum(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def jitter_pcap(path: str, seconds: float = 5.0, seed: int = 7) -> None:
    rnd = random.Random(seed)
    audio = tone(seconds)
    src, dst = bytes([192, 0, 2, 10]), bytes([192, 0, 2, 31])
    recs = []
    t_prev = 0.0
    ssrc = 0x1A2B3C4D
    for i in range(int(seconds * 50)):
        payload = audio[i * 160:(i + 1) * 160]
        rtp = struct.pack("!BBHII", 0x80, 0x80 if i == 0 else 0x00, (1000 + i) & 0xFFFF,
                          (160000 + 160 * i) & 0xFFFFFFFF, ssrc) + payload
        udp = struct.pack("!HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp
        iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0xB8, 20 + len(udp), i & 0xFFFF, 0x4000, 64, 17, 0, src, dst)
        iph = iph[:10] + struct.pack("!H", ip_checksum(iph)) + iph[12:]
        frame = b"\x02\x00\xc0\x00\x02\x31\x02\x00\xc0\x00\x02\x10\x08\x00" + iph + udp
        t = 0.020 * i + rnd.gauss(0, 0.006)
        if i % 50 == 25:
            t += rnd.uniform(0.040, 0.060)  # a stall: this packet and the next few leave in a burst
        t = max(t, t_prev + 0.0005)
        t_prev = t
        recs.append((t, frame))
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, frame in recs:
            sec, usec = 1_700_000_000 + int(t), int(round((t - int(t)) * 1e6))
            if usec >= 1_000_000:
                sec, usec = sec + 1, usec - 1_000_000
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)


if __name__ == "__main__":
    outdir = sys.argv[1] if len(sys.argv) > 1 else "."
    with open(f"{outdir}/tone.ulaw", "wb") as f:
        f.write(tone(10.0))
    jitter_pcap(f"{outdir}/jitter.pcap")
