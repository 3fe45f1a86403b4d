"""An independent encoder of the packeteur wire protocol (docs/PROTOCOL.md), for tests that
play a peer: a well-behaved agent, or an attacker who has read the document. Written from the
document, not from src/wire/frame.c, so that a test fails when the two disagree.

    import sys; sys.path.insert(0, TESTS_DIR); import pktr_wire as w
    m = w.hello(source_id=7, seq=0, name="web1:eth0")
    s = w.TcpRaw("127.0.0.1", port); s.send(m)        # tcp-raw: length-prefixed
    z = w.Zmq("tcp://127.0.0.1:%d" % port); z.send(m)  # zmq: one PUSH message
"""
import socket
import struct
import time

HELLO, PACKETS, STATS, GOODBYE = 1, 2, 3, 4


def header(kind, source_id, seq, name, version=1, sent_at_ns=None):
    name = name.encode() if isinstance(name, str) else name
    if sent_at_ns is None:
        sent_at_ns = time.time_ns()
    return (b"PKTR" + bytes([version, kind, len(name), 0]) +
            struct.pack("<QQQ", source_id, seq, sent_at_ns) + name)


def str16(s):
    s = s.encode() if isinstance(s, str) else s
    return struct.pack("<H", len(s)) + s


def hello(source_id, seq, name, linktype=1, snaplen=262144, tsresol=9, heartbeat_ms=1000,
          start_ns=None, host="testhost", device="eth0", filter="", version_str="test"):
    if start_ns is None:
        start_ns = time.time_ns()
    body = struct.pack("<IIIIQ", linktype, snaplen, tsresol, heartbeat_ms, start_ns)
    body += str16(host) + str16(device) + str16(filter) + str16(version_str)
    return header(HELLO, source_id, seq, name) + body


def record(data, ts_ns=None, origlen=None):
    if ts_ns is None:
        ts_ns = time.time_ns()
    return struct.pack("<QII", ts_ns, len(data), len(data) if origlen is None else origlen) + data


def packets(source_id, seq, name, first_index, frames, linktype=1, ts_ns=None, records=None):
    """frames: a list of whole frames (bytes); or records: ready records (see record())."""
    if records is None:
        records = [record(f, ts_ns) for f in frames]
    body = struct.pack("<IIQQ", linktype, len(records), 0, first_index) + b"".join(records)
    return header(PACKETS, source_id, seq, name) + body


def stats(source_id, seq, name, captured=0, kernel=0, ifdrops=0, relay_drops=0, relayed=0,
          queued=0, kind=STATS):
    body = struct.pack("<QQQQQQ", captured, kernel, ifdrops, relay_drops, relayed, queued)
    return header(kind, source_id, seq, name) + body


def goodbye(source_id, seq, name, **counters):
    return stats(source_id, seq, name, kind=GOODBYE, **counters)


ZSTD = 2  # version 2 compression ids (header byte 7); 1 is LZ4 (a raw block)


def compressed(msg, declared=None, body=None):
    """A version 2 packets message from a plain one: header and name as they are, version 2,
    byte 7 = zstd, then u32 plain body length (declared, to lie) and the body as one zstd frame
    (made with the zstd program), or the given bytes instead."""
    import subprocess
    off = 32 + msg[6]
    plain = msg[off:]
    if body is None:
        body = subprocess.run(["zstd", "-q", "-c", "-3"], input=plain, stdout=subprocess.PIPE,
                              check=True).stdout
    head = msg[:4] + bytes([2, msg[5], msg[6], ZSTD]) + msg[8:off]
    return head + struct.pack("<I", len(plain) if declared is None else declared) + body


def udp_frame(payload, sport=1000, dport=2000):
    """An Ethernet/IPv4/UDP frame (checksums left 0) carrying payload."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip


class TcpRaw:
    """A tcp-raw peer: each message preceded by its u32 little-endian length."""

    def __init__(self, host, port, timeout=5):
        self.sock = socket.create_connection((host, port), timeout=timeout)

    def send(self, msg):
        self.sock.sendall(struct.pack("<I", len(msg)) + msg)

    def send_raw(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()


class Zmq:
    """A zmq peer: a PUSH socket that connects to the collector's PULL."""

    def __init__(self, uri, linger_ms=2000):
        import zmq
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.PUSH)
        self.sock.setsockopt(zmq.LINGER, linger_ms)
        self.sock.connect(uri)

    def send(self, msg):
        self.sock.send(msg)

    def close(self):
        self.sock.close()
        self.ctx.term()
