#!/usr/bin/env python3
"""Rewrite a little-endian classic pcap as a big-endian one (same packets).

Usage: make-be.py IN.pcap OUT.pcap

Swaps the byte order of every header field: the 24-byte global header
(magic, version, thiszone, sigfigs, snaplen, network) and each 16-byte
record header (ts_sec, ts_frac, incl_len, orig_len). Packet bytes are copied
unchanged. Works for both the microsecond (a1b2c3d4) and nanosecond
(a1b23c4d) magic.
"""
import struct
import sys


def main(src, dst):
    data = open(src, "rb").read()
    magic = struct.unpack_from("<I", data, 0)[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        sys.exit("input is not a little-endian classic pcap")
    ghdr = struct.unpack_from("<IHHiIII", data, 0)
    out = [struct.pack(">IHHiIII", *ghdr)]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack_from("<IIII", data, off)
        body = data[off + 16 : off + 16 + incl]
        if len(body) != incl:
            sys.exit("truncated record at offset %d" % off)
        out.append(struct.pack(">IIII", sec, frac, incl, orig))
        out.append(body)
        off += 16 + incl
    if off != len(data):
        sys.exit("trailing bytes at offset %d" % off)
    open(dst, "wb").write(b"".join(out))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
