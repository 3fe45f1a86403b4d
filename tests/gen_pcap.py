#!/usr/bin/env python3
"""Writes a deterministic classic pcap (nanosecond magic, Ethernet) for the tests.

It mixes IPv4/UDP, IPv6/UDP, IPv4/TCP and ARP frames of 42 to 9000 bytes, stores some of them
truncated (caplen < len, as a short snaplen would), and gives every packet a timestamp with
nanoseconds that are not a multiple of 1000, so microsecond rounding anywhere shows up.

usage: gen_pcap.py OUT.pcap [COUNT] [SEED]
"""
import random
import struct
import sys


def ipv4_checksum(hdr):
    s = sum(struct.unpack("!10H", hdr))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def eth(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


def ipv4_udp(rng, size):
    payload_len = max(0, size - 14 - 20 - 8)
    udp = struct.pack("!HHHH", rng.randrange(1024, 65535), 9000 + rng.randrange(10),
                      8 + payload_len, 0)
    total = 20 + len(udp) + payload_len
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, rng.randrange(65536), 0, 64, 17, 0,
                      bytes([10, 0, 0, rng.randrange(1, 255)]), bytes([10, 0, 1, 1]))
    hdr = hdr[:10] + struct.pack("!H", ipv4_checksum(hdr)) + hdr[12:]
    body = bytes(rng.randrange(256) for _ in range(min(payload_len, 64)))
    body += bytes(payload_len - len(body))
    return eth(b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02", 0x0800, hdr + udp + body)


def ipv4_tcp(rng, size):
    payload_len = max(0, size - 14 - 20 - 20)
    tcp = struct.pack("!HHIIBBHHH", 443, rng.randrange(1024, 65535), rng.randrange(2**32), 0,
                      5 << 4, 0x18, 65535, 0, 0)
    total = 20 + 20 + payload_len
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, rng.randrange(65536), 0x4000, 64, 6, 0,
                      bytes([192, 0, 2, 7]), bytes([192, 0, 2, 8]))
    hdr = hdr[:10] + struct.pack("!H", ipv4_checksum(hdr)) + hdr[12:]
    return eth(b"\x02\x00\x00\x00\x00\x03", b"\x02\x00\x00\x00\x00\x04", 0x0800,
               hdr + tcp + bytes(payload_len))


def ipv6_udp(rng, size):
    payload_len = max(0, size - 14 - 40 - 8)
    udp = struct.pack("!HHHH", rng.randrange(1024, 65535), 9100, 8 + payload_len, 0)
    src = bytes.fromhex("20010db8000000000000000000000001")
    dst = bytes.fromhex("20010db80000000000000000000000%02x" % rng.randrange(2, 255))
    hdr = struct.pack("!IHBB", 6 << 28, 8 + payload_len, 17, 64) + src + dst
    return eth(b"\x02\x00\x00\x00\x00\x05", b"\x02\x00\x00\x00\x00\x06", 0x86DD,
               hdr + udp + bytes(payload_len))


def arp(rng, _size):
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, b"\x02\x00\x00\x00\x00\x07",
                       bytes([10, 0, 0, 7]), bytes(6), bytes([10, 0, 0, rng.randrange(1, 255)]))
    return eth(b"\xff" * 6, b"\x02\x00\x00\x00\x00\x07", 0x0806, body)  # 42 bytes


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7386)
    makers = [ipv4_udp, ipv4_tcp, ipv6_udp, arp]
    sizes = [42, 60, 64, 128, 512, 1500, 1514, 4000, 9000]
    ts = 1700000000 * 10**9 + 123456789
    with open(out, "wb") as f:
        f.write(struct.pack("=IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1))
        for i in range(count):
            frame = makers[i % len(makers)](rng, rng.choice(sizes) if i % 7 else rng.randrange(42, 9001))
            caplen = len(frame)
            if i % 5 == 3 and len(frame) > 96:
                caplen = 96  # stored truncated, as with a short snaplen
            ts += rng.randrange(1, 3_000_000)
            f.write(struct.pack("=IIII", ts // 10**9, ts % 10**9, caplen, len(frame)))
            f.write(frame[:caplen])


if __name__ == "__main__":
    main()
