#!/usr/bin/env python3
"""Walks a little-endian pcapng file block by block (for the tests' own checks).

usage: pcapng_blocks.py FILE
Prints one JSON object: complete block counts by type, the bytes of complete blocks, the file
size, and the options of every interface statistics block (ISB) by interface id.
"""
import json
import struct
import sys

NAMES = {0x0A0D0D0A: "shb", 1: "idb", 5: "isb", 6: "epb"}


def main():
    data = open(sys.argv[1], "rb").read()
    off, counts, isbs = 0, {}, {}
    while off + 12 <= len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        if blen < 12 or off + blen > len(data):
            break  # a block cut short: everything before it is complete
        name = NAMES.get(btype, hex(btype))
        counts[name] = counts.get(name, 0) + 1
        if btype == 5:
            if_id = struct.unpack_from("<I", data, off + 8)[0]
            o, opts = off + 20, {}
            while o + 4 <= off + blen - 4:
                code, olen = struct.unpack_from("<HH", data, o)
                if code == 0:
                    break
                val = data[o + 4:o + 4 + olen]
                opts[code] = val.decode() if code == 1 else struct.unpack("<Q", val)[0]
                o += 4 + ((olen + 3) & ~3)
            isbs[if_id] = opts  # the latest one
        off += blen
    print(json.dumps({"counts": counts, "complete_bytes": off, "size": len(data),
                      "isb": {str(k): v for k, v in isbs.items()}}))


if __name__ == "__main__":
    main()
