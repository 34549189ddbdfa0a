"""HTTP to the AgentLog server: one keep-alive connection, POST /v1/ingest, and the
classification of answers (delivered / retry / give up). Used only by the worker thread."""

from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import math
import platform
import random
import ssl
import time
import urllib.parse
from typing import Any, Dict, Optional

from ._version import __version__

USER_AGENT = f"agentlog-python/{__version__} (python {platform.python_version()})"

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
"""Answers after which the same request may succeed later (all 5xx are retried too)."""

# Errors that mean "no answer": the request may or may not have been processed, which is
# harmless because event ids are chosen here and ingest is idempotent.
NETWORK_ERRORS = (OSError, http.client.HTTPException, ssl.SSLError)


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def detail(self) -> str:
        doc = self.json()
        if isinstance(doc, dict):
            text = doc.get("detail") or doc.get("title")
            if isinstance(text, str):
                return text
        return self.body[:200].decode("utf-8", "replace")


def is_retryable(status: int) -> bool:
    return status in RETRYABLE_STATUS or status >= 500


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    try:
        secs = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        secs = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(secs):
        return None
    return max(0.0, secs)


def backoff_delay(
    attempt: int,
    retry_after: Optional[float],
    base: float,
    cap: float,
    rng: random.Random,
) -> float:
    """Seconds before retry number `attempt` (1-based).

    Exponential with "equal jitter" (half fixed, half random) so many clients that failed
    together do not retry together; a server's Retry-After is a floor, plus up to 10 %.
    """
    exp = min(cap, base * 2.0 ** min(attempt - 1, 60))
    delay = exp / 2 + rng.random() * exp / 2
    if retry_after is not None:
        floor = min(retry_after, 300.0)
        delay = max(delay, floor + rng.random() * min(1.0, floor * 0.1))
    return delay


class Transport:
    """Sends request bodies to `{url}/v1/ingest`. Not thread-safe: one worker uses it."""

    def __init__(self, url: str, api_key: Optional[str], timeout: float, gzip_threshold: int) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"AgentLog url must be http(s)://host[:port][/prefix], got {url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.path = parts.path.rstrip("/") + "/v1/ingest"
        self.timeout = timeout
        self.gzip_threshold = gzip_threshold
        self.headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self._conn: Optional[http.client.HTTPConnection] = None
        self._conn_used = False  # has answered a request: may have been closed while idle
        self._reused = False
        self._pending: tuple[bytes, Dict[str, str]] = (b"", {})
        self._send_error: Optional[BaseException] = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._conn_used = False
        return self._conn

    def close(self) -> None:
        self._conn_used = False
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def forget(self) -> None:
        """Drops the connection without closing it (in a forked child: the socket is the parent's)."""
        self._conn = None
        self._conn_used = False

    def encode(self, body: bytes) -> tuple[bytes, Dict[str, str]]:
        headers = dict(self.headers)
        if len(body) >= self.gzip_threshold:
            body = gzip.compress(body, compresslevel=1)  # fast; JSON still shrinks ~8x
            headers["Content-Encoding"] = "gzip"
        return body, headers

    def post(self, body: bytes, headers: Dict[str, str]) -> Response:
        """One POST; raises one of NETWORK_ERRORS when no answer came back."""
        self.begin(body, headers)
        return self.finish()

    def begin(self, body: bytes, headers: Dict[str, str]) -> None:
        """Sends a POST without waiting for the answer (`finish` reads it), so the caller
        can prepare the next request while the server works on this one."""
        self._pending = (body, headers)
        self._reused = self._conn_used
        try:
            self._connection().request("POST", self.path, body=body, headers=headers)
            self._send_error = None
        except NETWORK_ERRORS as e:
            self.close()
            self._send_error = e

    def finish(self) -> Response:
        """The answer to the request `begin` sent; raises one of NETWORK_ERRORS when none came.

        A reused keep-alive connection that the server closed while idle fails before any
        answer; that case is tried again at once on a fresh connection.
        """
        try:
            return self._receive()
        except NETWORK_ERRORS as e:
            stale = isinstance(e, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError))
            if not (self._reused and stale):
                raise
        self.begin(*self._pending)  # the connection was closed: this one is fresh
        return self._receive()

    def _receive(self) -> Response:
        try:
            if self._send_error is not None:
                raise self._send_error
            conn = self._connection()
            resp = conn.getresponse()
            data = resp.read()
        except NETWORK_ERRORS:
            self.close()
            raise
        self._conn_used = True
        if resp.will_close:
            self.close()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return Response(resp.status, hdrs, data)


__all__ = [
    "NETWORK_ERRORS",
    "Response",
    "Transport",
    "backoff_delay",
    "is_retryable",
    "parse_retry_after",
]
