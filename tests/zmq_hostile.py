"""Hostile ZeroMQ peers for t_zmq_memory: each attack from docs/SECURITY.md's table of bad
inputs, played against a collector whose reader is stalled. Raw ZMTP 3.0 (NULL mechanism) where
pyzmq cannot misbehave enough (half-sent messages, stalls), pyzmq for the rest.

    zmq_hostile.py PORT valid   SENDERS COUNT SIZE # pyzmq PUSH senders of valid batches
    zmq_hostile.py PORT flood   PEERS COUNT SIZE   # raw peers: COUNT messages of SIZE, then stall
    zmq_hostile.py PORT half    PEERS SIZE         # raw peers: a SIZE message declared, SIZE-1 sent
    zmq_hostile.py PORT multipart PEERS COUNT SIZE # raw peers: COUNT frames of SIZE, all "more"
Each holds its connections open until killed (SIGTERM)."""
import itertools
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
import pktr_wire as w  # noqa: E402

GREETING = (b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00") +
            b"\x00" + b"\x00" * 31)


def ready():
    body = b"\x05READY" + bytes([11]) + b"Socket-Type" + struct.pack(">I", 4) + b"PUSH"
    return b"\x04" + bytes([len(body)]) + body


def frame_header(size, more=False):
    return bytes([0x02 | (0x01 if more else 0)]) + struct.pack(">Q", size)  # a "large" frame


# Peers come from 16 loopback addresses in turn: the collector lets one address hold only a
# quarter of COLLECT_MAX_PEERS, and these attacks must be able to fill every slot.
SOURCES = itertools.count()


def source_ip():
    return "127.0.2.%d" % (1 + next(SOURCES) % 16)  # not t_collector_memory's 127.0.0.x


def raw_peer(port, handshake=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source_ip(), 0))
    s.sendall(GREETING + (ready() if handshake else b""))
    return s


def send_some(s, data, seconds):
    """Sends what the collector takes within `seconds` (it stops reading when its queue is full)."""
    s.settimeout(0.2)
    end = time.time() + seconds
    view = memoryview(data)
    while view and time.time() < end:
        try:
            n = s.send(view[:1 << 20])
            view = view[n:]
        except (socket.timeout, BlockingIOError):
            pass
        except OSError:
            return -1  # closed by the collector (peer limit)
    return len(data) - len(view)


def payload(size, source_id=9, seq=1):
    """A valid PACKETS batch of exactly `size` bytes: it fills the collector's output. Each
    `seq` is another batch (the collector drops a repeated sequence number as a duplicate)."""
    frame = w.udp_frame(b"h" * 1400)
    head = len(w.packets(source_id, seq, "hostile", 0, []))
    n = (size - head) // (16 + len(frame))
    rest = size - head - n * (16 + len(frame))
    if rest < 16:
        n, rest = n - 1, rest + 16 + len(frame)
    recs = [w.record(frame)] * n + [w.record(b"h" * (rest - 16))]
    msg = w.packets(source_id, seq, "hostile", (seq - 1) * (n + 1), None, records=recs)
    assert len(msg) == size
    return msg


def main():
    port, kind = int(sys.argv[1]), sys.argv[2]
    socks, threads, sent = [], [], []
    if kind == "valid":
        import zmq
        n, count, size = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        # Batches the collector takes (distinct sequence numbers) when small; one buffer sent
        # again and again when larger than any the collector takes.
        big = payload(size) if size > 1 << 20 else None
        ctx = zmq.Context()
        seq = 1
        for _ in range(n):
            z = ctx.socket(zmq.PUSH)
            z.setsockopt(zmq.LINGER, 0)
            z.setsockopt(zmq.SNDHWM, count)
            z.connect("tcp://%s:0;127.0.0.1:%d" % (source_ip(), port))
            for _ in range(count):
                z.send(big if big is not None else payload(size, seq=seq), copy=False)
                seq += 1
            socks.append(z)
    else:
        n = int(sys.argv[3])

        def flood(count, size):
            s = raw_peer(port)
            socks.append(s)
            one = frame_header(size) + payload(size)
            sent.append(send_some(s, one * count, 4))

        def half(size):
            s = raw_peer(port)
            socks.append(s)
            sent.append(send_some(s, frame_header(size) + payload(size)[:-1], 4))

        def multipart(count, size):
            s = raw_peer(port)
            socks.append(s)
            one = frame_header(size, more=True) + b"m" * size
            sent.append(send_some(s, one * count, 4))

        for _ in range(n):
            if kind == "multipart":
                t = threading.Thread(target=multipart, args=(int(sys.argv[4]), int(sys.argv[5])))
            elif kind == "flood":
                t = threading.Thread(target=flood, args=(int(sys.argv[4]), int(sys.argv[5])))
            else:
                t = threading.Thread(target=half, args=(int(sys.argv[4]),))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
    print("ready %s peers=%d refused=%d sent=%d" % (kind, len(socks), sent.count(-1),
                                                   sum(x for x in sent if x > 0)), file=sys.stderr, flush=True)
    time.sleep(600)


main()
