#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from capture files (pcap, pcapng, gzip): usage seed.py CORPUS_DIR FILE..."""
import gzip, hashlib, os, struct, sys, random

LINKS = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276]  # decode target index order

def frames(data):
    if data[:2] == b'\x1f\x8b':
        data = gzip.decompress(data)
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '<' if magic[0] in (0xd4, 0x4d) else '>'
        link = struct.unpack(e + 'I', data[20:24])[0]
        at = 24
        while at + 16 <= len(data):
            _, _, incl, _ = struct.unpack(e + 'IIII', data[at:at+16])
            at += 16
            if incl > 262144: return
            yield link & 0xffff, data[at:at+incl]
            at += incl
    elif magic == b'\x0a\x0d\x0d\x0a':
        at, e, links = 0, '<', []
        while at + 12 <= len(data):
            if data[at:at+4] == b'\x0a\x0d\x0d\x0a':
                e = '<' if data[at+8:at+12] == b'\x4d\x3c\x2b\x1a' else '>'
                links = []
            btype, blen = struct.unpack(e + 'II', data[at:at+8])
            if blen < 12: return
            body = data[at+8:at+blen-4]
            if btype == 1:
                links.append(struct.unpack(e + 'H', body[:2])[0])
            elif btype == 6 and len(body) >= 20:
                iface, _, _, cap, _ = struct.unpack(e + 'IIIII', body[:20])
                if iface < len(links): yield links[iface], body[20:20+cap]
            elif btype == 3 and len(body) >= 4 and links:
                yield links[0], body[4:]
            at += blen

def l4(link, f):
    """Returns (proto, payload) of UDP/TCP, best effort."""
    if link == 1:
        et, p = struct.unpack('>H', f[12:14])[0] if len(f) >= 14 else 0, 14
        while et in (0x8100, 0x88a8) and len(f) >= p + 4:
            et = struct.unpack('>H', f[p+2:p+4])[0]; p += 4
        ip = f[p:]
    elif link == 113: ip = f[16:]
    elif link == 276: ip = f[20:]
    elif link in (0, 108): ip = f[4:]
    else: ip = f
    if not ip: return None
    v = ip[0] >> 4
    if v == 4:
        hl = (ip[0] & 15) * 4; proto = ip[9]
        if struct.unpack('>H', ip[6:8])[0] & 0x3fff: return None
        seg = ip[hl:]
    elif v == 6 and len(ip) >= 40:
        proto = ip[6]; seg = ip[40:]
    else: return None
    if proto == 17 and len(seg) >= 8: return 'udp', seg[8:]
    if proto == 6 and len(seg) >= 20: return 'tcp', seg[(seg[12] >> 4) * 4:]
    return None

SIP_STARTS = (b'SIP/2.0 ', b'INVITE ', b'ACK ', b'BYE ', b'CANCEL ', b'REGISTER ', b'OPTIONS ', b'NOTIFY ',
              b'SUBSCRIBE ', b'INFO ', b'PRACK ', b'UPDATE ', b'MESSAGE ', b'REFER ', b'PUBLISH ')

def classify(p):
    out = []
    if p.startswith(SIP_STARTS):
        out.append('sip')
        i = p.find(b'\r\n\r\n')
        if i >= 0 and p[i+4:].startswith(b'v=0'): out.append(('sdp', p[i+4:]))
    if len(p) >= 20 and p[0] < 2 and p[4:8] == b'\x21\x12\xa4\x42': out.append('stun')
    if len(p) >= 12 and p[0] >> 6 == 2:
        if 200 <= p[1] <= 207: out.append('rtcp')
        elif (p[1] & 0x7f) < 128: out.append('rtp')
    if len(p) >= 5 and 20 <= p[0] <= 24 and p[1] == 3: out.append('tls')
    # DNS: a standard query or response with one question (the classifier callscope uses).
    if len(p) >= 17 and (p[2] >> 3) & 0xf == 0 and p[4:6] == b'\x00\x01': out.append('dns')
    if p.startswith(b'HEP3') or (len(p) > 16 and p[0] in (1, 2) and p[1] in (16, 40)): out.append('hep')
    # UDPTL: seq, then a short primary IFP, then the error-recovery choice octet (0x00 or 0x80).
    if len(p) >= 6 and 0 < p[2] < 0x80 and p[2] + 4 <= len(p) and p[3 + p[2]] in (0, 0x80): out.append('udptl')
    return out

def main():
    corpus, files = sys.argv[1], sys.argv[2:]
    seen, count = set(), {}
    caps = {'sip': 600, 'sdp': 300, 'rtp': 200, 'rtcp': 200, 'stun': 200, 'tls': 200, 'udptl': 200, 'dns': 200, 'decode': 600,
            'capture': 120, 'hep': 200, 'pipeline': 120, 'extract_redact': 120, 'reassembly': 200, 'decrypt': 20}
    def put(t, b):
        if count.get(t, 0) >= caps.get(t, 200): return
        h = hashlib.sha1(b).hexdigest()
        if (t, h) in seen: return
        seen.add((t, h)); count[t] = count.get(t, 0) + 1
        d = os.path.join(corpus, t); os.makedirs(d, exist_ok=True)
        open(os.path.join(d, h), 'wb').write(b)
    random.seed(1)
    random.shuffle(files)
    for path in files:
        raw = open(path, 'rb').read()
        if len(raw) <= 64 << 10:
            put('capture', raw); put('pipeline', raw); put('extract_redact', raw)
        if 'tls' in os.path.basename(path):
            # The first 64 KiB of a TLS capture (a cut capture reads fine): handshakes and records
            # that the lab's keys decrypt.
            put('decrypt', raw[:64 << 10])
        try:
            for link, f in frames(raw):
                if link in LINKS and random.random() < 0.2:
                    put('decode', bytes([LINKS.index(link)]) + f)
                r = l4(link, f)
                if not r: continue
                proto, p = r
                for c in classify(p):
                    if isinstance(c, tuple): put(c[0], c[1])
                    else: put(c, p)
                    if c == 'sip' and proto == 'tcp' or c == 'sip' and random.random() < 0.05:
                        # reassembly encoding: ctl, seq(4), len(1), payload; split in two segments
                        q = p[:255 * 2]
                        a, b = q[:len(q)//2][:255], q[len(q)//2:][:255]
                        seg = bytes([4]) + b'\0\0\0\0' + bytes([0]) \
                            + bytes([16]) + b'\0\0\0\0' + bytes([len(a)]) + a \
                            + bytes([16]) + b'\0\0\0\0' + bytes([len(b)]) + b
                        put('reassembly', seg)
        except Exception as e:
            print(path, e, file=sys.stderr)
    print(count)

main()
