#!/usr/bin/env python3
"""Write a Microsoft Network Monitor 2.x capture from a little-endian Ethernet classic pcap.

Usage: make-netmon.py [options] IN.pcap OUT.cap

editcap -F netmon2 writes only version 2.0 (one media type in the file header) or 2.1 (a 2-byte
media type after each frame, when the input has several link types); NetMon 3.x writes 2.2 and
2.3. This script writes the versions and frame kinds editcap cannot, for callscope's tests; every
file it writes is checked with capinfos and tshark (see README.md).

  --minor N      format version 2.N (0..3; default 1). 2.0: no trailer; 2.1: media type (2 bytes);
                 2.2: + process-table index (4 bytes); 2.3: + UTC FILETIME (8 bytes) and a
                 time-zone index (1 byte). For 2.3 the record's delta is written 1 s off on purpose,
                 so a reader that ignores the UTC time stamp shows wrong times.
  --media MODE   ether (NetMon media 1, the default), rawip (media 9: the Ethernet header removed),
                 wifi (media 6: an 802.11 data frame from the AP with LLC/SNAP, behind the
                 32-byte NetMon 802.11 capture header), mixed (ether, rawip and wifi in turn).
  --special      (2.1+) insert NetMon's own records: an ETW event (0xFFE0) first, then after the
                 second frame a network-info-ex (0xFFFB), a payload header (0xFFFC), a network
                 info (0xFFFD), a DNS cache (0xFFFE) and a filter (0xFFFF) record.
  --reverse-table  write the frames in reverse order in the file, keeping the frame table in
                 capture order (NetMon files need not store frames in table order).

The start time in the file header is the first packet's time (UTC, millisecond resolution) and
each record's delta is microseconds from it, as editcap does.
"""
import struct
import sys
import time

HEADER = 128
ETHER, WIFI, RAWIP = 1, 6, 9
FILETIME_EPOCH = 116444736000000000  # 100 ns intervals from 1601-01-01 to 1970-01-01


def packets(path):
    data = open(path, "rb").read()
    magic, _, _, _, _, _, network = struct.unpack_from("<IHHiIII", data, 0)
    if magic not in (0xA1B2C3D4, 0xA1B23C4D) or network != 1:
        sys.exit("input must be a little-endian Ethernet classic pcap")
    nanos = magic == 0xA1B23C4D
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack_from("<IIII", data, off)
        body = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        yield sec * 10**9 + (frac if nanos else frac * 1000), body, orig


def as_media(media, body):
    """The frame as NetMon media `media` carries it, and how many bytes its length changed by."""
    if media == ETHER:
        return body, 0
    if media == RAWIP:
        return body[14:], -14
    dst, src, ethertype = body[0:6], body[6:12], body[12:14]
    bssid = bytes.fromhex("02000000000a")
    # Frame control: data (type 2, subtype 0), FromDS; duration; addr1 = receiver (dst),
    # addr2 = transmitter (BSSID), addr3 = source; sequence control.
    dot11 = bytes([0x08, 0x02]) + b"\x00\x00" + dst + bssid + src + b"\x10\x00"
    llc = b"\xaa\xaa\x03\x00\x00\x00" + ethertype
    # NetMon 802.11 capture header: version 2, length 32, op mode (station), receive flags,
    # PHY type (7 = HT), channel 6, RSSI -50 dBm, rate 0x6c (54 Mb/s), 64-bit timestamp.
    meta = struct.pack("<BHIIIIiBQ", 2, 32, 1, 0, 7, 6, -50, 0x6C, 0)
    out = meta + dot11 + llc + body[14:]
    return out, len(out) - len(body)


def special_records():
    """NetMon's own records: (media type, payload)."""
    return [
        (0xFFFB, b"\x00" * 24),
        (0xFFFC, b"\x00" * 16),
        (0xFFFD, b"\x00" * 16),
        (0xFFFE, b"\x00" * 16),
        (0xFFFF, "port 5060".encode("utf-16-le")),
    ]


def main(args):
    minor, media, special, reverse = 1, "ether", False, False
    rest = []
    it = iter(args)
    for a in it:
        if a == "--minor":
            minor = int(next(it))
        elif a == "--media":
            media = next(it)
        elif a == "--special":
            special = True
        elif a == "--reverse-table":
            reverse = True
        else:
            rest.append(a)
    if len(rest) != 2 or minor not in range(4) or media not in ("ether", "rawip", "wifi", "mixed"):
        sys.exit(__doc__)
    if minor == 0 and (special or media == "mixed"):
        sys.exit("version 2.0 has one media type per file: no --special, no mixed media")
    src, dst = rest
    frames = []  # (ts_ns, media, bytes, orig_len)
    for i, (ts, body, orig) in enumerate(packets(src)):
        kinds = {"ether": (ETHER,), "rawip": (RAWIP,), "wifi": (WIFI,), "mixed": (ETHER, RAWIP, WIFI)}
        m = kinds[media][i % len(kinds[media])]
        data, delta = as_media(m, body)
        frames.append((ts, m, data, orig + delta))
    if special:
        first = frames[0][0]
        frames.insert(0, (first, 0xFFE0, b"\x00" * 80, 80))
        for j, (m, data) in enumerate(special_records()):
            frames.insert(3 + j, (frames[2][0], m, data, len(data)))
    start_ns = frames[0][0] // 10**6 * 10**6
    records = []
    for ts, m, data, orig in frames:
        delta_us = (ts - start_ns + 500) // 1000
        if minor >= 3:
            delta_us += 10**6
        rec = struct.pack("<QII", delta_us, orig, len(data)) + data
        if minor >= 1:
            rec += struct.pack("<H", m)
        if minor >= 2:
            rec += struct.pack("<I", 0)
        if minor >= 3:
            rec += struct.pack("<QB", ts // 100 + FILETIME_EPOCH, 0)
        records.append(rec)
    order = list(range(len(records)))
    if reverse:
        order.reverse()
    body, offsets, at = [], [0] * len(records), HEADER
    for i in order:
        offsets[i] = at
        body.append(records[i])
        at += len(records[i])
    table = struct.pack("<%dI" % len(offsets), *offsets)
    tm = time.gmtime(start_ns // 10**9)
    file_media = frames[0][1] if minor == 0 else 1
    hdr = b"GMBU" + struct.pack(
        "<BBH8H10I",
        minor,
        2,
        file_media,
        tm.tm_year,
        tm.tm_mon,
        (tm.tm_wday + 1) % 7,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        start_ns // 10**6 % 1000,
        at,
        len(table),
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    )
    out = hdr.ljust(HEADER, b"\x00") + b"".join(body) + table
    open(dst, "wb").write(out)


if __name__ == "__main__":
    main(sys.argv[1:])
