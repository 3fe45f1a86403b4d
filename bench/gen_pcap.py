#!/usr/bin/env python3
"""Writes a benchmark capture: classic pcap (microseconds, Ethernet), IPv4/UDP frames.

usage: gen_pcap.py OUT.pcap SIZE BYTES
  SIZE   64, 512, 1500 (frame bytes on the wire) or "mix" (7:4:1 of 64, 576, 1500: the classic
         simple IMIX, about 340 bytes on average)
  BYTES  stop once the file is about this large

Frames are built once per size and repeated with increasing timestamps and a counter in the
payload, so the file is written at disk speed.
"""
import struct
import sys


def frame(size, rng_byte):
    payload = bytes([rng_byte]) * (size - 42)
    udp = struct.pack("!HHHH", 40000, 9999, 8 + len(payload), 0)
    total = 20 + len(udp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + udp + payload


def main():
    out, size, limit = sys.argv[1], sys.argv[2], int(float(sys.argv[3]))
    sizes = [64] * 7 + [576] * 4 + [1500] if size == "mix" else [int(size)]
    frames = [frame(s, i) for i, s in enumerate(sizes)]
    written, n = 24, 0
    with open(out, "wb", buffering=1 << 22) as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        chunk = []
        while written < limit:
            fr = frames[n % len(frames)]
            sec, usec = divmod(n, 1000000)
            rec = struct.pack("<IIII", 1700000000 + sec, usec, len(fr), len(fr)) + fr
            chunk.append(rec)
            written += len(rec)
            n += 1
            if len(chunk) == 4096:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))
    print(n)


main()
