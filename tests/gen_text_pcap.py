#!/usr/bin/env python3
"""Writes a deterministic, text-heavy classic pcap (nanosecond magic, Ethernet): HTTP/1.1
exchanges over complete TCP flows (handshake, request, response in segments, FIN) and DNS
queries and answers over UDP, over IPv4, IPv6 and 802.1Q-tagged IPv4, interleaved, plus a few
ARP frames. Bodies are HTML, headers and names as a web and DNS workload has them, so a batch
of them compresses the way real thin-link traffic does.

usage: gen_text_pcap.py OUT.pcap [FLOWS] [SEED]
"""
import random
import struct
import sys

WORDS = ("the of and to in is for on that with as by at from this be are or was an it not "
         "packet capture relay collector agent branch office network link stream interface "
         "filter sample flow compress rate limit header body request response server client "
         "cache control content type length encoding keep alive accept language user").split()


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def l2(ethertype, payload, vlan=None):
    dst, src = b"\x02\x00\x00\x00\x01\x01", b"\x02\x00\x00\x00\x01\x02"
    if vlan is not None:
        return dst + src + struct.pack("!HHH", 0x8100, vlan, ethertype) + payload
    return dst + src + struct.pack("!H", ethertype) + payload


def ip(src, dst, proto, l4, vlan):
    if len(src) == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0, src, dst)
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        return l2(0x0800, hdr + l4, vlan)
    hdr = struct.pack("!IHBB", 6 << 28, len(l4), proto, 64) + src + dst
    return l2(0x86DD, hdr + l4, vlan)


def tcp(sport, dport, seq, ack, flags, data=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + data


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def text(rng, n):
    out = []
    while sum(len(w) + 1 for w in out) < n:
        out.append(rng.choice(WORDS))
    return " ".join(out)[:n]


def http_flow(rng, cli, srv, sport, vlan):
    """The frames of one complete HTTP exchange, in order."""
    c, s = rng.randrange(2**32), rng.randrange(2**32)
    path = "/" + "/".join(rng.choice(WORDS) for _ in range(3)) + ".html"
    req = ("GET %s HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux "
           "x86_64)\r\nAccept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.9"
           "\r\nConnection: keep-alive\r\n\r\n" % path).encode()
    body = ("<html><head><title>%s</title></head><body>" % text(rng, 40) +
            "".join("<p>%s</p>\n" % text(rng, rng.randrange(80, 400))
                    for _ in range(rng.randrange(4, 30))) + "</body></html>\n").encode()
    resp = ("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n"
            "Cache-Control: max-age=3600\r\nServer: nginx/1.22.1\r\n\r\n" % len(body)).encode() + body
    f = [(0, tcp(sport, 80, c, 0, 0x02)), (1, tcp(80, sport, s, c + 1, 0x12)),
         (0, tcp(sport, 80, c + 1, s + 1, 0x10)), (0, tcp(sport, 80, c + 1, s + 1, 0x18, req))]
    c += 1 + len(req)
    s += 1
    for off in range(0, len(resp), 1448):
        seg = resp[off:off + 1448]
        f.append((1, tcp(80, sport, s, c, 0x18 if off + 1448 >= len(resp) else 0x10, seg)))
        s += len(seg)
    f += [(0, tcp(sport, 80, c, s, 0x11)), (1, tcp(80, sport, s, c + 1, 0x11)),
          (0, tcp(sport, 80, c + 1, s + 1, 0x10))]
    return [ip(cli if d == 0 else srv, srv if d == 0 else cli, 6, seg, vlan) for d, seg in f]


def dns_name(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def dns_flow(rng, cli, srv, sport, vlan):
    qid = rng.randrange(65536)
    name = "%s.%s.example.org" % (rng.choice(WORDS), rng.choice(WORDS))
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", 1, 1)
    a = (struct.pack("!HHHHHH", qid, 0x8180, 1, 2, 0, 0) + dns_name(name) + struct.pack("!HH", 1, 1)
         + b"".join(struct.pack("!HHHIH4s", 0xC00C, 1, 1, 300, 4, bytes([192, 0, 2, i]))
                    for i in (10, 11)))
    return [ip(cli, srv, 17, udp(sport, 53, q), vlan), ip(srv, cli, 17, udp(53, sport, a), vlan)]


def arp(i):
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, b"\x02\x00\x00\x00\x00\x07",
                       bytes([10, 0, 0, 7]), bytes(6), bytes([10, 0, 0, i % 250 + 1]))
    return b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x07" + struct.pack("!H", 0x0806) + body


def flows(nflows, rng):
    out = []
    for i in range(nflows):
        v6 = i % 5 == 4
        vlan = 100 + i % 3 if i % 7 == 3 else None
        if v6:
            cli = bytes.fromhex("20010db8000100000000000000%06x" % (i + 1))
            srv = bytes.fromhex("20010db8000200000000000000000%03x" % (i % 7 + 1))
        else:
            cli, srv = bytes([10, 1, i // 250 % 250, i % 250 + 1]), bytes([10, 2, 0, i % 7 + 1])
        sport = 20000 + i
        out.append((dns_flow if i % 3 == 2 else http_flow)(rng, cli, srv, sport, vlan))
    return out


def main():
    path = sys.argv[1]
    nflows = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 17)
    pending = flows(nflows, rng)
    ts = 1700000000 * 10**9 + 987654321
    n = 0
    with open(path, "wb") as f:
        f.write(struct.pack("=IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1))
        while pending:
            # Interleave: each step takes the next frame of one of the first 16 open flows.
            k = rng.randrange(min(16, len(pending)))
            frame = pending[k].pop(0)
            if not pending[k]:
                pending.pop(k)
            if n % 97 == 50:
                frame_arp = arp(n)
                ts += rng.randrange(1, 50000)
                f.write(struct.pack("=IIII", ts // 10**9, ts % 10**9, len(frame_arp), len(frame_arp)))
                f.write(frame_arp)
            ts += rng.randrange(1, 50000)
            f.write(struct.pack("=IIII", ts // 10**9, ts % 10**9, len(frame), len(frame)))
            f.write(frame)
            n += 1


if __name__ == "__main__":
    main()
