"""Runs a script in a page of headless Chromium over the DevTools protocol (no libraries: a
minimal WebSocket client), for tests that must click, not just render.

    python3 cdp.py DEVTOOLS_PORT URL SCRIPT   prints the JSON value of the async SCRIPT
"""
import base64, json, os, socket, struct, sys, time, urllib.request


class WebSocket:
    def __init__(self, url):
        hostport, path = url[len("ws://"):].split("/", 1)
        host, port = hostport.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise RuntimeError("DevTools closed the connection")
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(head.decode(errors="replace"))

    def send(self, text):
        data, mask = text.encode(), os.urandom(4)
        n = len(data)
        hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                               bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                               bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _take(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise RuntimeError("DevTools closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        msg = b""
        while True:
            b0, b1 = self._take(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._take(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._take(8))[0]
            payload = self._take(n)
            if b0 & 0x0F in (0x1, 0x0):
                msg += payload
                if b0 & 0x80:
                    return msg.decode()


def main():
    port, url, script = sys.argv[1], sys.argv[2], sys.argv[3]
    base = f"http://127.0.0.1:{port}"
    req = urllib.request.Request(f"{base}/json/new?{url}", method="PUT")
    target = json.load(urllib.request.urlopen(req, timeout=30))
    ws = WebSocket(target["webSocketDebuggerUrl"])
    ids = iter(range(1, 1 << 30))

    def call(method, **params):
        i = next(ids)
        ws.send(json.dumps({"id": i, "method": method, "params": params}))
        while True:
            m = json.loads(ws.recv())
            if m.get("id") == i:
                if "error" in m:
                    raise RuntimeError(m["error"])
                return m["result"]

    # A new target starts on about:blank, which is "complete" before the page's navigation
    # commits: wait for the page itself (seen: the script ran on about:blank, under load).
    loaded = "document.readyState === 'complete' && location.href !== 'about:blank'"
    deadline = time.time() + 30
    while call("Runtime.evaluate", expression=loaded,
               returnByValue=True)["result"].get("value") is not True:
        if time.time() > deadline:
            raise RuntimeError("the page did not load")
        time.sleep(0.1)
    r = call("Runtime.evaluate", expression=script, awaitPromise=True, returnByValue=True)
    if "exceptionDetails" in r:
        raise RuntimeError(json.dumps(r["exceptionDetails"]))
    print(json.dumps(r["result"].get("value")))


if __name__ == "__main__":
    main()
