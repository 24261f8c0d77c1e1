#!/usr/bin/env python3
"""Generate the media files the lab's sipp scenarios play (stdlib only, deterministic seeds).

tone.ulaw    raw G.711 mu-law, 8 kHz, a 440 Hz tone (sipp <exec rtp_stream="tone.ulaw,..."/>)
jitter.pcap  5 s of PCMU RTP (20 ms packets) whose send times carry jitter: Gaussian sigma 6 ms plus a
             40-60 ms stall about once a second (sipp <exec play_pcap_audio="jitter.pcap"/> replays with the
             pcap timestamps, so the jitter becomes real send-time jitter on the wire).
t38-caller.pcap, t38-app.pcap
             the two sides of a one-page T.38 fax over UDPTL (ITU-T T.38 Annex A, redundancy error
             recovery: each packet repeats the previous IFPs), on one timeline, for sipp
             <exec play_pcap_image="..."/>: the caller's gateway sends CNG, the DCS, the TCF training and
             5 s of page data, EOP and DCN; the app's gateway CED, the DIS, CFR and MCF. Sequence numbers
             start at 32768 (caller) and 45000 (app): with the first byte 0x80..0xBF a UDPTL packet also
             reads as an RTP version-2 header, as in the capture of the issue this recording reproduces.
"""
import math
import random
import struct
import sys

# T.38 (ITU-T T.38 Annex A, ASN.1 aligned PER) values used below.
T30_CNG, T30_CED, T30_V21_PREAMBLE, T30_V17_14400_LONG = 1, 2, 3, 15  # t30-indicator
DATA_V21, DATA_V17_14400 = 0, 8  # t30-data
HDLC_DATA, HDLC_FCS_OK_SIG_END, T4_NON_ECM_DATA, T4_NON_ECM_SIG_END = 0, 4, 6, 7  # field-type


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


def per_length(n: int) -> bytes:
    # Aligned PER length determinant (X.691 §10.9): one octet below 128, two up to 16383.
    return bytes([n]) if n < 128 else struct.pack("!H", 0x8000 | n)


def ifp_indicator(value: int) -> bytes:
    # IFPPacket: data-field absent (0), type-of-msg t30-indicator (0), no extension (0), 4-bit value.
    return bytes([value << 1])


def ifp_data(value: int, fields: list) -> bytes:
    # IFPPacket with data-field (1), t30-data (1), no extension (0), 4-bit value; then the SEQUENCE OF
    # fields: each field-data-present bit and 3-bit field-type (T.38 before its corrigendum added an
    # extension marker there: the syntax Wireshark decodes by default), field-data (SIZE 1..65535)
    # as its length minus one in two octets.
    out = bytes([0xC0 | (value << 1)]) + per_length(len(fields))
    for ftype, data in fields:
        out += bytes([(0x80 if data else 0) | (ftype << 4)])
        if data:
            out += struct.pack("!H", len(data) - 1) + data
    return out


def udptl(seq: int, primary: bytes, secondaries: list) -> bytes:
    # UDPTLPacket: seq-number, primary-ifp-packet (open type), error-recovery: secondary-ifp-packets
    # (choice 0), most recent first.
    out = struct.pack("!H", seq & 0xFFFF) + per_length(len(primary)) + primary + b"\x00"
    out += per_length(len(secondaries))
    for ifp in secondaries:
        out += per_length(len(ifp)) + ifp
    return out


def hdlc(frame: bytes) -> list:
    # A V.21 HDLC frame as T.38 gateways send it at 300 bit/s: a few octets per packet, then the
    # FCS-OK-sig-end that closes the frame (time per packet in s, IFP).
    out = [(0.107, ifp_data(DATA_V21, [(HDLC_DATA, frame[i:i + 4])])) for i in range(0, len(frame), 4)]
    out.append((0.030, ifp_data(DATA_V21, [(HDLC_FCS_OK_SIG_END, b"")])))
    return out


def image_data(seconds: float, rnd: random.Random, filler: bool) -> list:
    # V.17 14400 bit/s non-ECM data: 36 octets every 20 ms (TCF zeros, or page data), then sig-end.
    n = int(seconds * 50)
    out = [(0.020, ifp_data(DATA_V17_14400, [(T4_NON_ECM_DATA, bytes(36) if filler else rnd.randbytes(36))]))
           for _ in range(n)]
    out.append((0.020, ifp_data(DATA_V17_14400, [(T4_NON_ECM_SIG_END, b"")])))
    return out


def t38_pcaps(outdir: str, seed: int = 38) -> None:
    rnd = random.Random(seed)
    # (start time in s, side, IFPs with the time each takes)
    dis = bytes.fromhex("ffc80100771f0101")
    plan = [
        (0.00, "caller", [(0.0, ifp_indicator(T30_CNG))]),
        (0.10, "app", [(0.2, ifp_indicator(T30_CED)), (1.0, ifp_indicator(T30_V21_PREAMBLE))] + hdlc(dis)),
        (2.40, "caller", [(1.0, ifp_indicator(T30_V21_PREAMBLE))] + hdlc(bytes.fromhex("ffc8c1004617"))),
        (4.00, "caller", [(0.2, ifp_indicator(T30_V17_14400_LONG))] + image_data(1.5, rnd, True)),
        (6.00, "app", [(1.0, ifp_indicator(T30_V21_PREAMBLE))] + hdlc(bytes.fromhex("ffc821"))),
        (7.50, "caller", [(0.2, ifp_indicator(T30_V17_14400_LONG))] + image_data(5.0, rnd, False)),
        (13.0, "caller", [(1.0, ifp_indicator(T30_V21_PREAMBLE))] + hdlc(bytes.fromhex("ffc8f4"))),
        (14.6, "app", [(1.0, ifp_indicator(T30_V21_PREAMBLE))] + hdlc(bytes.fromhex("ffc831"))),
        (16.2, "caller", [(1.0, ifp_indicator(T30_V21_PREAMBLE))] + hdlc(bytes.fromhex("ffc8df"))),
    ]
    for side, first_seq in (("caller", 32768), ("app", 45000)):
        seq, sent, recs = first_seq, [], []
        for start, who, ifps in plan:
            if who != side:
                continue
            t = start
            for step, ifp in ifps:
                # Two previous IFPs repeated (three in the control phases), as t38UDPRedundancy does.
                depth = 1 if len(ifp) > 20 else 2
                recs.append((t, udptl(seq, ifp, sent[::-1][:depth])))
                sent.append(ifp)
                seq += 1
                t += step
        src, dst = ((192, 0, 2, 10), (192, 0, 2, 31)) if side == "caller" else ((192, 0, 2, 31), (192, 0, 2, 10))
        write_udp_pcap(f"{outdir}/t38-{side}.pcap", bytes(src), bytes(dst), 6002, 20002, recs)


def write_udp_pcap(path: str, src: bytes, dst: bytes, sport: int, dport: int, recs: list) -> None:
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, (t, payload) in enumerate(recs):
            udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
            iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0x4000, 64, 17, 0, src, dst)
            iph = iph[:10] + struct.pack("!H", ip_checksum(iph)) + iph[12:]
            frame = b"\x02\x00\xc0\x00\x02\x31\x02\x00\xc0\x00\x02\x10\x08\x00" + iph + udp
            sec, usec = 1_700_000_000 + int(t), int(round((t - int(t)) * 1e6))
            if usec >= 1_000_000:
                sec, usec = sec + 1, usec - 1_000_000
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)


if __name__ == "__main__":
    outdir = sys.argv[1] if len(sys.argv) > 1 else "."
    with open(f"{outdir}/tone.ulaw", "wb") as f:
        f.write(tone(10.0))
    jitter_pcap(f"{outdir}/jitter.pcap")
    t38_pcaps(outdir)
