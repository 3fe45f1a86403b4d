"""SAMPLE's flow hash, written from docs/PROTOCOL.md ("Flow sampling"), not from the C code,
so a test fails when the two disagree.

    flow_hash(linktype, frame) -> int, or None for a frame with no readable IP header (kept)
    kept(n, linktype, frame)   -> bool
    read_pcap(path)            -> (linktype, [(ts_ns, frame bytes), ...])  classic pcap only
"""
import struct

FNV_OFFSET, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3
PORT_PROTOS = (6, 17, 132, 136)


def fnv1a(data):
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def ip_offset(linktype, f):
    """(offset of the IP header, EtherType) or None."""
    if linktype == 1:
        off = 12
        for _ in range(5):
            if len(f) < off + 2:
                return None
            et = struct.unpack_from("!H", f, off)[0]
            if et not in (0x8100, 0x88A8, 0x9100):
                break
            off += 4
        return (off + 2, et) if len(f) >= off + 2 else None
    if linktype == 113:
        return (16, struct.unpack_from("!H", f, 14)[0]) if len(f) >= 16 else None
    if linktype == 276:
        return (20, struct.unpack_from("!H", f, 0)[0]) if len(f) >= 20 else None
    if linktype in (101, 228, 229):
        return (0, 0x86DD if f and f[0] >> 4 == 6 else 0x0800) if f else None
    return None


def ports(proto, l4, fragment):
    if fragment or proto not in PORT_PROTOS or len(l4) < 4:
        return 0, 0
    return struct.unpack_from("!HH", l4, 0)


def flow_key(linktype, f):
    loc = ip_offset(linktype, f)
    if loc is None:
        return None
    p = f[loc[0]:]
    if loc[1] == 0x0800:
        if len(p) < 20 or p[0] >> 4 != 4 or (p[0] & 15) * 4 < 20 or (p[0] & 15) * 4 > len(p):
            return None
        ihl = (p[0] & 15) * 4
        proto, src, dst = p[9], p[12:16], p[16:20]
        sp, dp = ports(proto, p[ihl:], struct.unpack_from("!H", p, 6)[0] & 0x3FFF)
    elif loc[1] == 0x86DD:
        if len(p) < 40 or p[0] >> 4 != 6:
            return None
        nh, off, frag = p[6], 40, False
        for _ in range(8):
            if len(p) - off < 8 or nh not in (0, 43, 60, 51, 44):
                break
            size = 8 if nh == 44 else (p[off + 1] + 2) * 4 if nh == 51 else (p[off + 1] + 1) * 8
            frag = frag or nh == 44
            nh = p[off]
            if size > len(p) - off:
                off = len(p)
                break
            off += size
        proto, src, dst = nh, p[8:24], p[24:40]
        sp, dp = ports(proto, p[off:], frag)
    else:
        return None
    a, b = bytes(src) + struct.pack("!H", sp), bytes(dst) + struct.pack("!H", dp)
    return bytes([proto]) + min(a, b) + max(a, b)


def flow_hash(linktype, frame):
    key = flow_key(linktype, frame)
    return None if key is None else fnv1a(key)


def kept(n, linktype, frame):
    h = flow_hash(linktype, frame)
    return n <= 1 or h is None or h % n == 0


def read_pcap(path):
    with open(path, "rb") as fh:
        data = fh.read()
    magic = struct.unpack_from("<I", data, 0)[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = struct.unpack_from(endian + "I", data, 0)[0] == 0xA1B23C4D
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0xFFFF
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack_from(endian + "IIII", data, off)
        out.append((sec * 10**9 + (frac if nano else frac * 1000), data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return linktype, out
