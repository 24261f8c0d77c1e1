#!/usr/bin/env python3
"""Rewrite an Ethernet (link type 1) little-endian classic pcap as RAW or NULL.

Usage: make-linktype.py raw|null IN.pcap OUT.pcap

raw:  LINKTYPE_RAW (101): each frame's 14-byte Ethernet header is removed, so
      the record starts with the IPv4/IPv6 header.
null: LINKTYPE_NULL (0): the Ethernet header is replaced by the 4-byte BSD
      loopback header, the address family as a host-order (here little-endian,
      matching the file) uint32: AF_INET = 2; IPv6 uses 30 (the macOS value).
Frames whose EtherType is neither IPv4 (0x0800) nor IPv6 (0x86dd) are dropped.
Both incl_len and orig_len are adjusted (editcap -C only shortens incl_len,
which would make every record look snapped).
"""
import struct
import sys

LINKTYPE = {"raw": 101, "null": 0}
AF = {0x0800: 2, 0x86DD: 30}


def main(mode, src, dst):
    data = open(src, "rb").read()
    magic, vmaj, vmin, zone, sigfigs, snaplen, network = struct.unpack_from("<IHHiIII", data, 0)
    if magic not in (0xA1B2C3D4, 0xA1B23C4D) or network != 1:
        sys.exit("input must be a little-endian Ethernet classic pcap")
    out = [struct.pack("<IHHiIII", magic, vmaj, vmin, zone, sigfigs, snaplen, LINKTYPE[mode])]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack_from("<IIII", data, off)
        body = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        if len(body) < 14:
            continue
        ethertype = struct.unpack_from(">H", body, 12)[0]
        if ethertype not in AF:
            continue
        payload = body[14:]
        if mode == "null":
            payload = struct.pack("<I", AF[ethertype]) + payload
        delta = len(payload) - len(body)
        out.append(struct.pack("<IIII", sec, frac, incl + delta, orig + delta))
        out.append(payload)
    open(dst, "wb").write(b"".join(out))


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in LINKTYPE:
        sys.exit(__doc__)
    main(*sys.argv[1:])
