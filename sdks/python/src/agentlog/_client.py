"""The AgentLog client: a bounded in-memory queue in front of one daemon worker thread
that sends batches to POST /v1/ingest.

Producers (the agent's threads and tasks) only append to a deque under a short lock;
nothing they call blocks on the network or raises. The worker wakes when a batch is full,
when `flush_interval` passed, on `flush()` and on `shutdown()`; it encodes, compresses and
sends, retrying with jittered exponential backoff where a retry can help.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import random
import sys
import threading
import time
import weakref
from collections import deque
from typing import (
    Any,
    Callable,
    Deque,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Tuple,
    TypedDict,
    TypeVar,
    Union,
    overload,
)

from . import _clock
from ._serialize import (
    JSONValue,
    clip_bytes,
    error_info,
    time_to_ns,
    to_attributes,
    to_jsonable,
    to_tags,
    truncate_str,
)
from ._span import (
    EventType,
    Scope,
    Session,
    Span,
    _scope,
    normalize_cost,
    normalize_usage,
)
from ._transport import (
    NETWORK_ERRORS,
    Response,
    Transport,
    backoff_delay,
    is_retryable,
    parse_retry_after,
)

logger = logging.getLogger("agentlog")

DEFAULT_URL = "http://127.0.0.1:7654"
MAX_EVENT_BYTES = 900_000
"""An encoded event larger than this has its biggest fields cut (the server allows 1 MiB
for each of input and output)."""
MAX_FIELD_BYTES = 250_000
"""What an oversized input / output / attributes field is cut down to."""
MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""Uncompressed body size at which a batch is split into several requests."""
WARN_INTERVAL = 60.0

QueueItem = Union[Span, Dict[str, Any]]
F = TypeVar("F", bound=Callable[..., Any])  # a finished span, or a session upsert


class AgentLogError(Exception):
    """What `on_error` receives when events could not be delivered.

    `kind` is one of: "queue_full" (oldest events dropped), "rejected" (the server refused
    some items as invalid), "http" (a non-retryable answer, or retries exhausted on one),
    "network" (retries exhausted without an answer), "shutdown" (undelivered when the
    shutdown timeout ran out), "encode" (an event could not be encoded).
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        count: int = 0,
        status: Optional[int] = None,
        errors: Optional[List[Dict[str, Any]]] = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.count = count
        self.status = status
        self.errors = errors or []


class ClientStats(TypedDict):
    """Counters of one client since it started (or since fork, in a child).

    Every item handed to the client is in exactly one place:
    enqueued == queued + in_flight + delivered + rejected + dropped + failed.
    Items are events and session updates.
    """

    enqueued: int
    queued: int
    in_flight: int
    delivered: int
    rejected: int
    dropped: int
    failed: int
    requests: int
    retries: int


_live_clients: weakref.WeakSet[AgentLog] = weakref.WeakSet()  # not shut down: flushed at exit
_all_clients: weakref.WeakSet[AgentLog] = weakref.WeakSet()  # reset in forked children
_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), check_circular=False)
_dumps = _encoder.encode


def _to_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: not UTF-8, and the server would refuse the batch
        return text.encode("utf-8", "replace")


class AgentLog:
    """A client for one AgentLog server.

    Never raises into the caller once constructed and never blocks it: events are
    buffered (at most `max_queue_size`; past that the oldest are dropped, counted in
    `stats()` and reported once per episode through logging and `on_error`), and sent by a
    daemon thread every `flush_interval` seconds or when `max_batch_size` are waiting.

    `url` and `api_key` default to the environment variables AGENTLOG_URL and
    AGENTLOG_API_KEY. Without an API key the client is disabled (one warning, nothing is
    sent) unless `enabled=True`.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        api_key: Optional[str] = None,
        flush_interval: float = 1.0,
        max_batch_size: int = 500,
        max_queue_size: int = 10_000,
        on_error: Optional[Callable[[AgentLogError], None]] = None,
        *,
        agent: Optional[str] = None,
        enabled: Optional[bool] = None,
        timeout: float = 10.0,
        max_retries: int = 8,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        shutdown_timeout: float = 5.0,
        gzip_threshold: int = 16 * 1024,
    ) -> None:
        if flush_interval <= 0:
            raise ValueError("flush_interval must be > 0")
        if max_batch_size < 1 or max_queue_size < 1:
            raise ValueError("max_batch_size and max_queue_size must be >= 1")
        if max_retries < 0 or timeout <= 0 or shutdown_timeout < 0:
            raise ValueError("max_retries and shutdown_timeout must be >= 0, timeout > 0")
        self.url = (url or os.environ.get("AGENTLOG_URL") or DEFAULT_URL).rstrip("/")
        key = api_key if api_key is not None else os.environ.get("AGENTLOG_API_KEY")
        self.agent = clip_bytes(agent, 256) if agent is not None else None
        self.enabled = bool(key) if enabled is None else enabled
        self._transport = Transport(self.url, key or None, timeout, gzip_threshold)
        if not self.enabled and enabled is None:
            logger.warning(
                "agentlog: no API key (pass api_key= or set AGENTLOG_API_KEY); this client records nothing"
            )
        self.flush_interval = float(flush_interval)
        self.max_batch_size = int(max_batch_size)
        self.max_queue_size = int(max_queue_size)
        self.max_retries = int(max_retries)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.shutdown_timeout = float(shutdown_timeout)
        self.on_error = on_error
        self._rng = random.Random()
        self._last_warn: Dict[str, float] = {}
        self._init_state()
        _live_clients.add(self)
        _all_clients.add(self)

    def _init_state(self) -> None:
        """Everything a forked child must not share with its parent."""
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)  # notified when items resolve
        self._wake = threading.Event()  # worker: send now
        self._interrupt = threading.Event()  # worker: stop sleeping between retries
        self._start_lock = threading.Lock()
        self._queue: Deque[QueueItem] = deque()
        self._thread: Optional[threading.Thread] = None
        self._no_thread = False
        self._accepting = self.enabled
        self._closed = False
        self._closing = False
        self._deadline = float("inf")
        self._lost_at_close = 0
        # Items leave the queue in FIFO order; `_taken` counts them. A flush waits until
        # every item enqueued before it has left the queue and is no longer in flight.
        self._seq = 0  # items ever enqueued
        self._dropped_closed = 0  # items offered after shutdown
        self._taken = 0
        self._inflight: Deque[int] = deque()  # first sequence number of each batch in flight
        self._inflight_n = 0
        self._held = 0  # items of the batch encoded ahead: they still count against the queue bound
        self._held_dropped = 0  # ... of which dropped since (its oldest), on overflow
        self._overflow = False
        self._overflow_reported = False
        self._stats: Dict[str, int] = dict.fromkeys(
            ("delivered", "rejected", "dropped", "failed", "requests", "retries"), 0
        )

    # ------------------------------------------------------------------ recording API
    def session(
        self,
        name: Optional[str] = None,
        *,
        id: Optional[str] = None,
        agent: Optional[str] = None,
        user_id: Optional[str] = None,
        tags: Optional[Iterable[str]] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> Session:
        """A session context manager (`with` or `async with`); see `agentlog.session`."""
        return Session(self, id=id, name=name, agent=agent, user_id=user_id, tags=tags, metadata=metadata)

    def span(
        self,
        type: EventType = "step",
        name: Optional[str] = None,
        *,
        input: Any = None,
        agent: Optional[str] = None,
        model: Optional[str] = None,
        provider: Optional[str] = None,
        attributes: Optional[Mapping[str, Any]] = None,
        tags: Optional[Iterable[str]] = None,
        session_id: Optional[str] = None,
    ) -> Span:
        """A span that starts now; use as a context manager, or call `end()`."""
        scope = _scope.get()
        return _new_span(self, scope, type, name, input, agent, model, provider, attributes, tags, session_id)

    def log(
        self,
        message: str,
        *,
        level: str = "info",
        data: Any = None,
        name: Optional[str] = None,
        attributes: Optional[Mapping[str, Any]] = None,
        tags: Optional[Iterable[str]] = None,
        session_id: Optional[str] = None,
    ) -> Span:
        """Records a `log` event in the current scope; see `agentlog.log`."""
        return _log(self, _scope.get(), message, level, data, name, attributes, tags, session_id)

    def llm(
        self,
        *,
        model: Optional[str] = None,
        provider: Optional[str] = None,
        input: Any = None,
        output: Any = None,
        usage: Any = None,
        cost_usd: Optional[float] = None,
        name: Optional[str] = None,
        started_at: Any = None,
        ended_at: Any = None,
        error: Union[BaseException, str, None] = None,
        attributes: Optional[Mapping[str, Any]] = None,
        tags: Optional[Iterable[str]] = None,
        session_id: Optional[str] = None,
    ) -> Span:
        """Records one finished LLM call in the current scope; see `agentlog.llm`."""
        return _llm(
            self,
            _scope.get(),
            model,
            provider,
            input,
            output,
            usage,
            cost_usd,
            name,
            started_at,
            ended_at,
            error,
            attributes,
            tags,
            session_id,
        )

    @overload
    def trace(self, func: F, /) -> F: ...

    @overload
    def trace(
        self,
        func: None = None,
        /,
        *,
        type: EventType = "tool",
        name: Optional[str] = None,
        capture_input: bool = True,
        capture_output: bool = True,
    ) -> Callable[[F], F]: ...

    def trace(
        self,
        func: Optional[F] = None,
        /,
        *,
        type: EventType = "tool",
        name: Optional[str] = None,
        capture_input: bool = True,
        capture_output: bool = True,
    ) -> Any:
        """`@client.trace`: like `agentlog.trace`, but spans outside any scope go to this client."""
        from ._trace import trace

        decorate = trace(
            type=type, name=name, capture_input=capture_input, capture_output=capture_output, client=self
        )
        return decorate if func is None else decorate(func)

    # ------------------------------------------------------------------ queue (hot path)
    def _enqueue(self, item: QueueItem) -> None:
        if not self._accepting:
            if self._closed:
                with self._lock:
                    self._dropped_closed += 1
            return
        with self._lock:
            q = self._queue
            self._seq += 1
            held = self._held - self._held_dropped
            if len(q) + held < self.max_queue_size:
                q.append(item)
            else:  # full: the oldest unsent item goes
                self._stats["dropped"] += 1
                self._overflow = True
                if held:  # the batch encoded ahead holds the oldest: it is re-encoded without them
                    self._held_dropped += 1
                    self._inflight_n -= 1
                    q.append(item)
                else:  # (the queue cannot be empty here: max_queue_size >= 1)
                    q.popleft()
                    self._taken += 1
                    q.append(item)
            n = len(q)
        if n >= self.max_batch_size and not self._wake.is_set():
            self._wake.set()
        if self._thread is None and not self._no_thread:
            self._start_worker()

    def _start_worker(self) -> None:
        with self._start_lock:
            if self._thread is not None or self._no_thread:
                return
            t = threading.Thread(target=self._run, name="agentlog-worker", daemon=True)
            try:
                t.start()
            except RuntimeError:  # interpreter shutting down: shutdown() sends synchronously
                self._no_thread = True
                return
            self._thread = t

    # ------------------------------------------------------------------ public control
    def stats(self) -> ClientStats:
        """A snapshot of the delivery counters (see `ClientStats`)."""
        with self._lock:
            s = self._stats
            return ClientStats(
                enqueued=self._seq + self._dropped_closed,
                queued=len(self._queue),
                in_flight=self._inflight_n,
                delivered=s["delivered"],
                rejected=s["rejected"],
                dropped=s["dropped"] + self._dropped_closed,
                failed=s["failed"],
                requests=s["requests"],
                retries=s["retries"],
            )

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Sends everything recorded so far and waits until it is delivered, given up
        (after retries), or `timeout` seconds passed (None: no limit but the retry policy).

        True when everything recorded before the call was delivered; False when the
        timeout came first or some of it was dropped, rejected or given up (see `stats()`
        and `on_error`). Never raises.
        """
        if threading.current_thread() is self._thread:
            return False  # called from on_error in the worker: it cannot wait for itself
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        with self._lock:
            target = self._seq
            lost_before = self._lost()
            if self._resolved(target):
                return True
        thread = self._thread
        if thread is None or not thread.is_alive():
            if self._no_thread or self._thread is not None:
                self._drain(deadline)  # no worker can run: send from this thread
            else:
                self._start_worker()
        self._wake.set()
        with self._done:
            while not self._resolved(target):
                t = self._thread
                if t is None or not t.is_alive():
                    break
                if deadline is None:
                    self._done.wait(0.5)
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._done.wait(min(remaining, 0.5))
            return self._resolved(target) and self._lost() == lost_before

    def _resolved(self, target: int) -> bool:  # REQUIRES: self._lock held
        return self._taken >= target and (not self._inflight or self._inflight[0] > target)

    def _lost(self) -> int:  # REQUIRES: self._lock held
        s = self._stats
        return s["dropped"] + s["failed"] + s["rejected"]

    def shutdown(self, timeout: Optional[float] = None) -> bool:
        """Delivers what is buffered (within `timeout`, default `shutdown_timeout`) and
        stops the worker; runs by itself at interpreter exit. Idempotent; events recorded
        later are dropped and counted. True when everything recorded was delivered."""
        self._begin_shutdown(self.shutdown_timeout if timeout is None else timeout)
        return self._finish_shutdown()

    def _begin_shutdown(self, timeout: float) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._accepting = False
            self._lost_at_close = self._lost()
        self._deadline = time.monotonic() + max(0.0, timeout)
        self._closing = True
        self._wake.set()
        self._interrupt.set()

    def _finish_shutdown(self) -> bool:
        t = self._thread
        if t is not None and t.is_alive():
            if t is not threading.current_thread():
                t.join(max(0.0, self._deadline - time.monotonic()) + 0.05)
        else:
            self._drain(self._deadline)
        with self._lock:
            ok = not self._queue and self._inflight_n == 0 and self._lost() == self._lost_at_close
        if t is None or not t.is_alive():
            self._transport.close()
        _live_clients.discard(self)
        return ok

    async def aflush(self, timeout: Optional[float] = None) -> bool:
        """`flush` for asyncio code: waits in a thread, so the event loop keeps running."""
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(None, self.flush, timeout)

    async def ashutdown(self, timeout: Optional[float] = None) -> bool:
        """`shutdown` for asyncio code."""
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(None, self.shutdown, timeout)

    def __enter__(self) -> AgentLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("enabled" if self.enabled else "disabled")
        return f"<agentlog.AgentLog {self.url} {state}>"

    # ------------------------------------------------------------------ worker
    def _run(self) -> None:
        next_due = time.monotonic() + self.flush_interval
        while True:
            wait = next_due - time.monotonic()
            if wait > 0 and not self._closing:
                self._wake.wait(wait)
            self._wake.clear()
            try:
                _clock.resync()
                self._drain(self._deadline if self._closing else None)
            except Exception:  # a bug here must not kill the worker
                logger.exception("agentlog: worker error")
            next_due = time.monotonic() + self.flush_interval
            if self._closing:
                with self._lock:
                    if not self._queue or time.monotonic() >= self._deadline:
                        break
        with self._done:
            self._done.notify_all()

    def _drain(self, deadline: Optional[float]) -> None:
        """Sends batches until the queue is empty; past `deadline`, gives the rest up.

        While the server works on a batch (its last request is sent, the answer not yet
        read), the next batch is taken and encoded: encoding overlaps the server's commit.
        Batches still resolve strictly in order.
        """
        ahead = self._take(deadline)
        while ahead is not None:
            n, batch, requests = ahead
            ahead = None
            with self._lock:
                k, self._held, self._held_dropped = self._held_dropped, 0, 0
            if k:  # overflow dropped the oldest of this batch while it waited: re-encode the rest
                n -= k
                batch = batch[k:]
                requests = self._prepare(batch) if batch else []
            done = 0
            try:
                for i, req in enumerate(requests):
                    if i == len(requests) - 1 and not _past(deadline):
                        self._transport.begin(req.payload, req.headers)
                        ahead = self._take(deadline, ahead=True)
                        self._deliver(req, deadline, begun=True)
                    else:
                        self._deliver(req, deadline)
                    done += req.n_items
            except Exception:  # a bug: count what is left as lost rather than lose count
                logger.exception("agentlog: failed to send a batch")
                self._count("failed", sum(r.n_items for r in requests) - done)
            finally:
                with self._done:
                    self._inflight.popleft()
                    self._inflight_n -= n
                    self._done.notify_all()
            if ahead is None:
                ahead = self._take(deadline)

    def _take(
        self, deadline: Optional[float], ahead: bool = False
    ) -> Optional[Tuple[int, List[QueueItem], List[_Request]]]:
        """Moves up to max_batch_size items from the queue to in flight and encodes them.

        A batch taken `ahead` (while another is on the wire) still counts against
        max_queue_size until it is sent, and its items are the first dropped on overflow (they
        are the oldest unsent): the queue bound means the same as without pipelining."""
        with self._lock:
            q = self._queue
            if not q:
                self._overflow_reported = False  # the episode is over
                return None
            n = min(len(q), self.max_batch_size)
            batch = [q.popleft() for _ in range(n)]
            self._inflight.append(self._taken + 1)
            self._inflight_n += n
            self._taken += n
            if ahead:
                self._held = n
            overflow, self._overflow = self._overflow, False
        try:
            if overflow and not self._overflow_reported:
                self._overflow_reported = True
                dropped = self._stats["dropped"]
                self._report(
                    AgentLogError(
                        "queue_full",
                        f"agentlog: queue full ({self.max_queue_size} items), dropping the oldest "
                        f"events; {dropped} dropped so far (raise max_queue_size, or check that "
                        "the server keeps up)",
                        count=dropped,
                    ),
                    once_per_episode=True,
                )
            if _past(deadline):
                self._give_up(
                    n, AgentLogError("shutdown", f"agentlog: {n} events undelivered at shutdown", count=n)
                )
                return n, [], []
            return n, batch, self._prepare(batch)
        except Exception:
            logger.exception("agentlog: failed to encode a batch")
            self._count("failed", n)
            return n, [], []

    def _count(self, key: str, n: int) -> None:
        with self._lock:
            self._stats[key] += n

    def _give_up(self, n: int, err: AgentLogError) -> None:
        self._count("failed", n)
        self._report(err)

    def _report(self, err: AgentLogError, once_per_episode: bool = False) -> None:
        now = time.monotonic()
        last = self._last_warn.get(err.kind)
        if once_per_episode or last is None or now - last >= WARN_INTERVAL:
            self._last_warn[err.kind] = now
            logger.warning("%s", err)
        else:
            logger.debug("%s", err)
        if self.on_error is not None:
            try:
                self.on_error(err)
            except Exception:
                logger.exception("agentlog: on_error callback raised")

    def _prepare(self, batch: List[QueueItem]) -> List[_Request]:
        """Encodes a batch into requests of at most max_batch_size events and about
        MAX_REQUEST_BYTES; session upserts are merged per id and go with the first."""
        sessions: Dict[str, Dict[str, Any]] = {}
        session_items: Dict[str, int] = {}
        events: List[bytes] = []
        bad = 0
        for item in batch:
            if isinstance(item, dict):
                record, n = item, 1
            else:
                encoded = _encode_event(item)
                if encoded is None:
                    bad += 1
                else:
                    events.append(encoded)
                if not item._owns_session:
                    continue
                # A span opened outside any session also closes the session it started.
                record, n = item._session_record(), 0
            sid = record["id"]
            if sid in sessions:
                sessions[sid].update(record)
                session_items[sid] += n
            else:
                sessions[sid] = dict(record)
                session_items[sid] = n
        if bad:
            self._give_up(
                bad, AgentLogError("encode", f"agentlog: {bad} events could not be encoded", count=bad)
            )
        session_list = list(sessions.values())
        for rec in session_list:
            if "metadata" in rec:  # the server allows 1 MiB
                meta = _to_bytes(_dumps(rec["metadata"]))
                if len(meta) > MAX_EVENT_BYTES:
                    rec["metadata"] = {
                        "_truncated": truncate_str(meta.decode("utf-8", "replace"), MAX_FIELD_BYTES // 4)
                    }
        session_counts = [session_items[s["id"]] for s in session_list]
        chunks: List[List[bytes]] = [[]]
        size = 0
        for ev in events:
            chunk = chunks[-1]
            if chunk and (len(chunk) >= self.max_batch_size or size + len(ev) > MAX_REQUEST_BYTES):
                chunks.append([])
                size = 0
            chunks[-1].append(ev)
            size += len(ev) + 1
        if not chunks[0] and not session_list:
            return []
        return [self._request(chunks[0], session_list, session_counts)] + [
            self._request(c, [], []) for c in chunks[1:]
        ]

    def _request(self, events: List[bytes], sessions: List[Dict[str, Any]], counts: List[int]) -> _Request:
        body = b'{"events":[' + b",".join(events) + b"]"
        if sessions:
            body += b',"sessions":' + _to_bytes(_dumps(sessions))
        payload, headers = self._transport.encode(body + b"}")
        return _Request(events, sessions, counts, payload, headers)

    def _deliver(self, req: _Request, deadline: Optional[float], begun: bool = False) -> None:
        """One request with retries (`begun`: its first attempt is already sent); on 413
        it is split in two."""
        n_items = req.n_items
        attempt = 0
        while True:
            retry_after: Optional[float] = None
            self._count("requests", 1)
            try:
                if begun:
                    begun = False
                    resp = self._transport.finish()
                else:
                    resp = self._transport.post(req.payload, req.headers)
            except NETWORK_ERRORS as e:
                problem = AgentLogError(
                    "network",
                    f"agentlog: could not reach {self.url} ({type(e).__name__}: {e}); "
                    f"gave up on {n_items} events after {attempt} retries",
                    count=n_items,
                )
            else:
                if resp.status == 200 or (resp.status == 422 and _is_ingest_answer(resp)):
                    self._accepted(resp, len(req.events), req.sessions, req.session_counts)
                    return
                if resp.status == 413 and len(req.events) + len(req.sessions) > 1:
                    half = len(req.events) // 2
                    self._deliver(
                        self._request(req.events[:half], req.sessions, req.session_counts), deadline
                    )
                    self._deliver(self._request(req.events[half:], [], []), deadline)
                    return
                problem = AgentLogError(
                    "http",
                    f"agentlog: server answered {resp.status} to POST /v1/ingest "
                    f"({resp.detail()}); {n_items} events not delivered",
                    count=n_items,
                    status=resp.status,
                )
                if not is_retryable(resp.status):
                    self._give_up(n_items, problem)
                    return
                retry_after = parse_retry_after(resp.headers.get("retry-after"))
            attempt += 1
            if attempt > self.max_retries:
                self._give_up(n_items, problem)
                return
            delay = backoff_delay(attempt, retry_after, self.backoff_base, self.backoff_max, self._rng)
            logger.debug("agentlog: %s; retry %d in %.2fs", problem, attempt, delay)
            if not self._sleep(delay, deadline):
                self._give_up(
                    n_items,
                    AgentLogError(
                        "shutdown",
                        f"agentlog: {n_items} events undelivered at shutdown ({problem})",
                        count=n_items,
                        status=problem.status,
                    ),
                )
                return
            self._count("retries", 1)

    def _sleep(self, delay: float, deadline: Optional[float]) -> bool:
        """Waits `delay` seconds before a retry; False when that would pass the deadline."""
        if deadline is None and not self._closing:
            end = time.monotonic() + delay
            self._interrupt.wait(delay)  # shutdown() interrupts to apply its deadline
            delay = end - time.monotonic()
            if delay <= 0:
                return True
            deadline = self._deadline
        if deadline is not None and time.monotonic() + delay > deadline:
            return False
        time.sleep(delay)
        return True

    def _accepted(
        self,
        resp: Response,
        n_events: int,
        sessions: List[Dict[str, Any]],
        session_counts: List[int],
    ) -> None:
        doc = resp.json()
        errors: List[Dict[str, Any]] = []
        if isinstance(doc, dict) and isinstance(doc.get("errors"), list):
            errors = [e for e in doc["errors"] if isinstance(e, dict)]
        rejected = 0
        seen: set[Tuple[Any, Any]] = set()
        for e in errors:
            key = (e.get("item"), e.get("index"))
            if key in seen:
                continue
            seen.add(key)
            idx = e.get("index")
            if e.get("item") == "session" and isinstance(idx, int) and 0 <= idx < len(session_counts):
                rejected += session_counts[idx]
            else:
                rejected += 1
        total = n_events + sum(session_counts)
        rejected = min(rejected, total)
        with self._lock:
            self._stats["delivered"] += total - rejected
            self._stats["rejected"] += rejected
        if rejected:
            first = "; ".join(
                f"{e.get('item', 'event')}[{e.get('index')}].{e.get('field')}: {e.get('message')}"
                for e in errors[:3]
            )
            self._report(
                AgentLogError(
                    "rejected",
                    f"agentlog: server rejected {rejected} items: {first}",
                    count=rejected,
                    status=resp.status,
                    errors=errors,
                )
            )

    # ------------------------------------------------------------------ fork
    def _after_fork_in_child(self) -> None:
        closed = self._closed
        self._transport.forget()
        self._init_state()
        if closed:
            self._closed = True
            self._accepting = False
            return
        if sys.modules.get("multiprocessing.util") is not None:
            _register_multiprocessing_flush(self)


class _Request:
    """One POST body, ready to send, and what it carries (for accounting and 413 splits)."""

    __slots__ = ("events", "headers", "n_items", "payload", "session_counts", "sessions")

    def __init__(
        self,
        events: List[bytes],
        sessions: List[Dict[str, Any]],
        session_counts: List[int],
        payload: bytes,
        headers: Dict[str, str],
    ) -> None:
        self.events = events
        self.sessions = sessions
        self.session_counts = session_counts
        self.payload = payload
        self.headers = headers
        self.n_items = len(events) + sum(session_counts)


def _past(deadline: Optional[float]) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _is_ingest_answer(resp: Response) -> bool:
    doc = resp.json()
    return isinstance(doc, dict) and "rejected" in doc and "accepted" in doc


def _encode_event(span: Span) -> Optional[bytes]:
    try:
        d = span._wire()
        try:
            raw = _to_bytes(_dumps(d))
        except (ValueError, TypeError):  # not JSON-safe after all: convert again
            d = to_jsonable(d)  # type: ignore[assignment]
            raw = _to_bytes(_dumps(d))
        if len(raw) > MAX_EVENT_BYTES:
            for key in ("input", "output", "attributes"):
                if key in d:
                    field = _to_bytes(_dumps(d[key]))
                    if len(field) > MAX_FIELD_BYTES:
                        text = truncate_str(field.decode("utf-8", "replace"), MAX_FIELD_BYTES // 4)
                        d[key] = {"_truncated": text} if key == "attributes" else text
            raw = _to_bytes(_dumps(d))
        return raw
    except Exception:
        logger.debug("agentlog: cannot encode %r", span, exc_info=True)
        return None


# ---------------------------------------------------------------------- shared builders
def _new_span(
    client: AgentLog,
    scope: Optional[Scope],
    type_: str,
    name: Optional[str],
    input: Any,
    agent: Optional[str],
    model: Optional[str],
    provider: Optional[str],
    attributes: Optional[Mapping[str, Any]],
    tags: Optional[Iterable[str]],
    session_id: Optional[str] = None,
) -> Span:
    try:
        sp = Span(
            client,
            type_,
            None if name is None else str(name),
            scope,
            None if agent is None else clip_bytes(str(agent), 256),
        )
        if input is not None:
            sp.input = to_jsonable(input)
        if model is not None or provider is not None:
            sp.set_model(model, provider)
        if attributes:
            sp.attributes = to_attributes(attributes)
        if tags:
            sp.tags = to_tags(tags)
        if session_id is not None:
            sp._move_to_session(session_id, scope)
        return sp
    except Exception:  # never into the agent: hand back a span that records nothing
        logger.exception("agentlog: could not create a span")
        return Span(_null_client(), "custom", None, None)


def _log(
    client: AgentLog,
    scope: Optional[Scope],
    message: str,
    level: str,
    data: Any,
    name: Optional[str],
    attributes: Optional[Mapping[str, Any]],
    tags: Optional[Iterable[str]],
    session_id: Optional[str] = None,
) -> Span:
    text = message if isinstance(message, str) else str(to_jsonable(message))
    sp = _new_span(
        client,
        scope,
        "log",
        name if name is not None else truncate_str(text, 200),
        None,
        None,
        None,
        None,
        attributes,
        tags,
        session_id,
    )
    sp.set_attribute("level", str(level))
    sp.output = to_jsonable(text if data is None else {"message": text, "data": data})
    if str(level).lower() in ("error", "critical", "fatal"):
        sp.status = "error"
        sp.error = {"type": "log", "message": truncate_str(text, 10_000)}
    sp.end()
    return sp


def _llm(
    client: AgentLog,
    scope: Optional[Scope],
    model: Optional[str],
    provider: Optional[str],
    input: Any,
    output: Any,
    usage: Any,
    cost_usd: Optional[float],
    name: Optional[str],
    started_at: Any,
    ended_at: Any,
    error: Union[BaseException, str, None],
    attributes: Optional[Mapping[str, Any]],
    tags: Optional[Iterable[str]],
    session_id: Optional[str] = None,
) -> Span:
    sp = _new_span(
        client,
        scope,
        "llm",
        name if name is not None else (model or "llm"),
        input,
        None,
        model,
        provider,
        attributes,
        tags,
        session_id,
    )
    if output is not None:
        sp.output = to_jsonable(output)
    if usage is not None:
        sp.usage = normalize_usage(usage)
    if cost_usd is not None:
        sp.cost_usd = normalize_cost(cost_usd)
    if error is not None:
        if isinstance(error, BaseException):
            sp.set_error(error)
        else:
            sp.status = "error"
            sp.error = {"message": str(error)}
    start = time_to_ns(started_at)
    end = time_to_ns(ended_at)
    if start is not None:
        sp.started_ns = start
        if end is None:
            end = _clock.now_ns()
    sp._finish(end)  # recorded after the fact: ended_at as given, never before started_at
    return sp


_null: Optional[AgentLog] = None


def _null_client() -> AgentLog:
    global _null
    if _null is None:
        _null = AgentLog(url=DEFAULT_URL, api_key="", enabled=False)
        _live_clients.discard(_null)
    return _null


# ---------------------------------------------------------------------- process hooks
def _atexit_shutdown() -> None:
    clients = list(_live_clients)
    for c in clients:
        c._begin_shutdown(c.shutdown_timeout)
    for c in clients:
        try:
            c._finish_shutdown()
        except Exception:
            pass


atexit.register(_atexit_shutdown)


def _after_fork_in_child() -> None:
    for c in list(_all_clients):
        try:
            c._after_fork_in_child()
        except Exception:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _register_multiprocessing_flush(client: AgentLog) -> None:
    """multiprocessing's fork children end with os._exit, which skips atexit. Its own
    exit hook runs Finalize callbacks, but the child clears those right after the fork,
    then runs its after-fork registry: register the Finalize from there."""
    import multiprocessing.util as mpu

    def register(c: AgentLog) -> None:
        mpu.Finalize(c, c.shutdown, exitpriority=10)

    try:
        mpu.register_after_fork(client, register)
    except Exception:
        pass


__all__ = [
    "AgentLog",
    "AgentLogError",
    "ClientStats",
    "JSONValue",
    "error_info",
]


# ---------------------------------------------------------------------- the default client
_default: Optional[AgentLog] = None
_default_lock = threading.Lock()


def get_client() -> AgentLog:
    """The process-wide default client: the one `init()` made, else one configured from
    AGENTLOG_URL / AGENTLOG_API_KEY, made on first use."""
    c = _default
    if c is None:
        with _default_lock:
            c = _default
            if c is None:
                c = _set_default(AgentLog())
    return c


def _set_default(client: Optional[AgentLog]) -> AgentLog:
    global _default
    _default = client
    return client  # type: ignore[return-value]


def init(
    url: Optional[str] = None,
    api_key: Optional[str] = None,
    flush_interval: float = 1.0,
    max_batch_size: int = 500,
    max_queue_size: int = 10_000,
    on_error: Optional[Callable[[AgentLogError], None]] = None,
    **options: Any,
) -> AgentLog:
    """Creates the process-wide default client (arguments as for `AgentLog`) and returns
    it. A previous default client is shut down, delivering what it buffered."""
    client = AgentLog(url, api_key, flush_interval, max_batch_size, max_queue_size, on_error, **options)
    with _default_lock:
        old = _default
        _set_default(client)
    if old is not None and old is not client:
        old.shutdown()
    return client
