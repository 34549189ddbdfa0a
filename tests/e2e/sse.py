"""A raw Server-Sent Events client for the end-to-end and scale-out tests: its own socket,
messages parsed as they arrive (by a reader thread), waits with deadlines."""
from __future__ import annotations

import json
import socket
import threading
import time

SSE_FIELDS = ("id", "event", "data", "retry")


def count_events(n: int):
    """A wait() predicate: at least n `event` messages."""
    return lambda msgs: sum(1 for m in msgs if m.get("event") == "event") >= n


class Stream:
    def __init__(self, server, path: str = "/v1/stream", headers: dict | None = None):
        self.sock = socket.create_connection((server.host, server.port), timeout=60)
        h = {"Host": "x", "Authorization": f"Bearer {server.key}", **(headers or {})}
        head = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
        self.sock.sendall(head.encode())
        self.buf = b""
        self.messages: list[dict] = []
        self.arrivals: list[float] = []  # time.monotonic() of each message
        self.closed = False
        self.cv = threading.Condition()
        self.status_line, self.headers = self._read_head()
        assert " 200 " in self.status_line, self.status_line
        threading.Thread(target=self._pump, daemon=True).start()

    def _read_head(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed before the response head"
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        return lines[0], {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}

    def _pump(self):
        try:
            while True:
                self._parse()
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
        except OSError:
            pass
        with self.cv:
            self._parse()
            self.closed = True
            self.cv.notify_all()

    def _parse(self):
        # The body may be chunked: chunk-size lines are skipped by keeping only SSE fields
        # (comments such as `: ping` are skipped too).
        with self.cv:
            start = 0
            while (end := self.buf.find(b"\n\n", start)) >= 0:
                msg: dict = {}
                for line in self.buf[start:end].decode("utf-8", "replace").split("\n"):
                    field, sep, value = line.partition(": ")
                    if sep and field in SSE_FIELDS:
                        msg.setdefault(field, value)
                if msg:
                    self.messages.append(msg)
                    self.arrivals.append(time.monotonic())
                start = end + 2
            self.buf = self.buf[start:]
            self.cv.notify_all()

    def wait(self, pred, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.cv:
            while not pred(self.messages):
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise AssertionError(f"timed out; got {self.messages}")
                self.cv.wait(left)
            return self.messages

    def events(self) -> list[dict]:
        """`event` messages' data, with the message id (the event's seq) as `_seq`."""
        with self.cv:
            return [json.loads(m["data"]) | {"_seq": int(m["id"])} for m in self.messages if m.get("event") == "event"]

    def wait_events(self, n: int, timeout: float = 20.0) -> list[dict]:
        self.wait(count_events(n), timeout)
        return self.events()

    def sessions(self) -> list[dict]:
        with self.cv:
            return [json.loads(m["data"]) for m in self.messages if m.get("event") == "session"]

    def wait_closed(self, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        with self.cv:
            while not self.closed:
                left = deadline - time.monotonic()
                assert left > 0, "the stream did not end"
                self.cv.wait(left)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
