"""Spans (one event each) and sessions, and the context variable that nests them.

The current scope (a Session or a Span) lives in one `ContextVar`, so nesting follows the
language: every asyncio task starts with a copy of its creator's context, and a thread
sees its starter's scope when run through `contextvars.copy_context().run(...)`.

A span is sent once, when it ends, as one complete event. A span opened with no session
around it starts its own session (same id as the span), finished with the span.
"""

from __future__ import annotations

import math
import sys
import time
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Literal, Mapping, Optional, Type, Union

from . import _clock
from ._ids import format_uuid7, new_id, normalize_id, random74
from ._serialize import (
    JSONValue,
    clip_bytes,
    error_info,
    format_time_ns,
    to_attributes,
    to_jsonable,
    to_tags,
)

if TYPE_CHECKING:
    from ._client import AgentLog

EventType = Literal[
    "agent", "step", "llm", "tool", "retrieval", "embedding", "message", "action", "error", "log", "custom"
]
SessionStatus = Literal["running", "success", "failure", "cancelled"]
SpanStatus = Literal["ok", "error"]

EVENT_TYPES = frozenset(
    ("agent", "step", "llm", "tool", "retrieval", "embedding", "message", "action", "error", "log", "custom")
)
SESSION_STATUSES = frozenset(("running", "success", "failure", "cancelled"))
USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens", "cached_tokens")
_USAGE_ALIASES = {
    "prompt_tokens": "input_tokens",
    "completion_tokens": "output_tokens",
    "cache_read_input_tokens": "cached_tokens",
}
_MAX_TOKENS = 2**63 - 1

Scope = Union["Span", "Session"]
_scope: ContextVar[Optional[Scope]] = ContextVar("agentlog_scope", default=None)

# Exceptions that end a span without making it an error: iteration protocol and
# generator close, or a clean interpreter exit.
_NOT_ERRORS = (StopIteration, StopAsyncIteration, GeneratorExit)

_warned_types: set[str] = set()
_perf = time.perf_counter_ns


def current_scope() -> Optional[Scope]:
    return _scope.get()


def _is_clean_exit(exc: BaseException) -> bool:
    if isinstance(exc, _NOT_ERRORS):
        return True
    return isinstance(exc, SystemExit) and exc.code in (0, None)


def _is_cancel(exc: BaseException) -> bool:
    if isinstance(exc, (KeyboardInterrupt, GeneratorExit)):
        return True
    aio = sys.modules.get("asyncio")
    return aio is not None and isinstance(exc, aio.CancelledError)


def _mark_recorded(exc: BaseException) -> None:
    try:
        exc._agentlog_recorded = True  # type: ignore[attr-defined]
    except Exception:
        pass


def _was_recorded(exc: BaseException) -> bool:
    return getattr(exc, "_agentlog_recorded", False) is True


def check_type(type_: str) -> str:
    if type_ in EVENT_TYPES:
        return type_
    if type_ not in _warned_types:
        _warned_types.add(type_)
        from ._client import logger

        logger.warning("agentlog: unknown event type %r, sent as 'custom'", type_)
    return "custom"


def normalize_usage(usage: Any = None, **counts: Any) -> Optional[Dict[str, int]]:
    """Token counts as the server accepts them: non-negative integers under known keys.

    Accepts a mapping or an object (e.g. a provider SDK's usage object) with
    input/output/total/cached_tokens or the prompt_tokens / completion_tokens spelling.
    """
    source: Dict[str, Any] = {}
    if usage is not None:
        if isinstance(usage, Mapping):
            source.update(usage)
        else:
            dumped = to_jsonable(usage)
            if isinstance(dumped, dict):
                source.update(dumped)
    source.update({k: v for k, v in counts.items() if v is not None})
    out: Dict[str, int] = {}
    for key, raw in source.items():
        name = _USAGE_ALIASES.get(key, key)
        if name not in USAGE_KEYS or (name in out and key != name):
            continue
        if isinstance(raw, bool):
            continue
        value = int(raw) if isinstance(raw, float) and raw.is_integer() else raw
        if isinstance(value, int) and 0 <= value <= _MAX_TOKENS:
            out[name] = value
    return out or None


def normalize_cost(cost: Any) -> Optional[float]:
    if isinstance(cost, bool):
        return None
    try:
        value = float(cost)  # also Decimal, numpy scalars, numeric strings
    except Exception:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return value


class Span:
    """One timed unit of work: an LLM call, a tool call, a step. Sent when it ends.

    Use through `agentlog.span(...)` / `@agentlog.trace`; not thread-safe: set fields from
    the code that runs the span. Setters after `end()` are ignored.
    """

    __slots__ = (
        "_ended",
        "_id",
        "_owns_session",
        "_rand",
        "_t0",
        "_token",
        "agent",
        "attributes",
        "client",
        "cost_usd",
        "ended_ns",
        "error",
        "input",
        "model",
        "name",
        "output",
        "parent_id",
        "provider",
        "session_id",
        "started_ns",
        "status",
        "tags",
        "type",
        "usage",
    )

    def __init__(
        self,
        client: AgentLog,
        type_: str,
        name: Optional[str],
        scope: Optional[Scope],
        agent: Optional[str] = None,
    ) -> None:
        self.client = client
        # The id string is made on first use (often by the worker thread): it is only
        # needed here when this span starts a session or gets children.
        self._rand = random74()
        self._id: Optional[str] = None
        self._t0 = t0 = _perf()
        self.started_ns = _clock.offset + t0
        if type_ not in EVENT_TYPES:
            type_ = check_type(type_)
        self.type = type_
        if name is not None and len(name) > 256:
            name = clip_bytes(name, 1024)
        self.name = name
        if scope is None:
            self.session_id = self.id
            self.parent_id: Optional[str] = None
            self._owns_session = True
            self.agent = agent if agent is not None else client.agent
        else:
            self.session_id = scope.session_id
            self.parent_id = scope.id if scope.__class__ is Span else None
            self._owns_session = False
            self.agent = agent if agent is not None else scope.agent
        self.ended_ns: Optional[int] = None
        self.status: SpanStatus = "ok"
        self.input: JSONValue = None
        self.output: JSONValue = None
        self.error: Optional[Dict[str, str]] = None
        self.model: Optional[str] = None
        self.provider: Optional[str] = None
        self.usage: Optional[Dict[str, int]] = None
        self.cost_usd: Optional[float] = None
        self.attributes: Optional[Dict[str, Any]] = None
        self.tags: Optional[List[str]] = None
        self._token: Optional[Token[Optional[Scope]]] = None
        self._ended = False

    @property
    def id(self) -> str:
        """The event id (a UUIDv7 string)."""
        i = self._id
        if i is None:
            i = self._id = format_uuid7(self.started_ns // 1_000_000, self._rand)
        return i

    # ---- setters (all ignore calls after end and never raise)
    def set_input(self, value: Any) -> None:
        if not self._ended:
            self.input = to_jsonable(value)

    def set_output(self, value: Any) -> None:
        if not self._ended:
            self.output = to_jsonable(value)

    def set_attribute(self, key: str, value: Any) -> None:
        if not self._ended:
            if self.attributes is None:
                self.attributes = {}
            self.attributes[str(key)] = to_jsonable(value)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if not self._ended:
            if self.attributes is None:
                self.attributes = {}
            self.attributes.update(to_attributes(attributes))

    def add_tags(self, *tags: str) -> None:
        if not self._ended:
            self.tags = to_tags([*(self.tags or []), *tags])

    def set_model(self, model: Optional[str], provider: Optional[str] = None) -> None:
        if not self._ended:
            if model is not None:
                self.model = clip_bytes(str(model), 256)
            if provider is not None:
                self.provider = clip_bytes(str(provider), 256)

    def set_usage(
        self,
        usage: Any = None,
        *,
        input_tokens: Optional[int] = None,
        output_tokens: Optional[int] = None,
        total_tokens: Optional[int] = None,
        cached_tokens: Optional[int] = None,
    ) -> None:
        """Token counts, from a mapping / provider usage object or keyword arguments."""
        if not self._ended:
            u = normalize_usage(
                usage,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                total_tokens=total_tokens,
                cached_tokens=cached_tokens,
            )
            if u is not None:
                self.usage = {**(self.usage or {}), **u}

    def set_cost(self, cost_usd: float) -> None:
        if not self._ended:
            self.cost_usd = normalize_cost(cost_usd)

    def set_error(self, error: Union[BaseException, str]) -> None:
        """Marks the span failed, with an exception (type, message, stack) or a message."""
        if self._ended:
            return
        self.status = "error"
        if isinstance(error, BaseException):
            self.error = error_info(error)
            _mark_recorded(error)
        else:
            self.error = {"message": str(error)}

    def set_status(self, status: SpanStatus) -> None:
        if not self._ended and status in ("ok", "error"):
            self.status = status

    # ---- lifecycle
    @property
    def ended(self) -> bool:
        return self._ended

    def end(self) -> None:
        """Ends the span (idempotent) and hands it to the client for sending."""
        self._finish(None)

    def _finish(self, ended_ns: Optional[int]) -> None:
        if self._ended:
            return
        self._ended = True
        if ended_ns is None:
            self.ended_ns = self.started_ns + (_perf() - self._t0)
        else:
            self.ended_ns = max(ended_ns, self.started_ns)
        self.client._enqueue(self)  # a span that owns its session also closes it (worker side)

    def _end_with(self, exc: BaseException) -> None:
        """Ends the span after `exc` escaped from its body."""
        if not _is_clean_exit(exc):
            self.set_error(exc)
        self.end()

    def _move_to_session(self, session_id: str, scope: Optional[Scope]) -> None:
        """Records this span into `session_id` rather than the scope's session; it still
        nests under the current span when that span belongs to the same session."""
        sid = normalize_id(session_id)
        if scope is not None and scope.session_id == sid:
            return
        self.session_id = sid
        self.parent_id = None
        self._owns_session = False

    def _session_record(self) -> Dict[str, Any]:
        rec: Dict[str, Any] = {
            "id": self.session_id,
            "name": self.name,
            "status": "success" if self.status == "ok" else "failure",
            "started_at": format_time_ns(self.started_ns),
            "ended_at": format_time_ns(self.ended_ns or self.started_ns),
        }
        if self.agent is not None:
            rec["agent"] = self.agent
        return rec

    def _wire(self) -> Dict[str, Any]:
        """The event as docs/api.md spells it (called by the worker thread)."""
        d: Dict[str, Any] = {
            "id": self.id,
            "session_id": self.session_id,
            "type": self.type,
            "status": self.status,
            "started_at": format_time_ns(self.started_ns),
        }
        if self.ended_ns is not None:
            d["ended_at"] = format_time_ns(self.ended_ns)
        if self.parent_id is not None:
            d["parent_id"] = self.parent_id
        if self.name is not None:
            d["name"] = self.name
        if self.agent is not None:
            d["agent"] = self.agent
        if self.input is not None:
            d["input"] = self.input
        if self.output is not None:
            d["output"] = self.output
        if self.error is not None:
            d["error"] = self.error
        if self.model is not None:
            d["model"] = self.model
        if self.provider is not None:
            d["provider"] = self.provider
        if self.usage is not None:
            d["usage"] = self.usage
        if self.cost_usd is not None:
            d["cost_usd"] = self.cost_usd
        if self.attributes:
            d["attributes"] = self.attributes
        if self.tags:
            d["tags"] = self.tags
        return d

    # ---- context manager: the span is the current scope inside the block
    def __enter__(self) -> Span:
        self._token = _scope.set(self)
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        _reset(self._token)
        self._token = None
        if exc is not None:
            self._end_with(exc)
        else:
            self.end()

    async def __aenter__(self) -> Span:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        return f"<agentlog.Span {self.type} {self.name!r} id={self.id} session={self.session_id}>"


def _reset(token: Optional[Token[Optional[Scope]]]) -> None:
    if token is None:
        return
    try:
        _scope.reset(token)
    except (ValueError, RuntimeError):
        # Ended in another context than it started in (e.g. a span handed to another
        # task): that context's scope is not ours to restore.
        pass


class Session:
    """One run of an agent. Events inside its `with` / `async with` block belong to it.

    On exit the status becomes success, or failure with the exception that escaped
    (cancelled for KeyboardInterrupt / asyncio cancellation), unless `set_status` chose one.
    """

    def __init__(
        self,
        client: AgentLog,
        *,
        id: Optional[str] = None,
        name: Optional[str] = None,
        agent: Optional[str] = None,
        user_id: Optional[str] = None,
        tags: Optional[Iterable[str]] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> None:
        self.client = client
        self.id = normalize_id(id) if id is not None else new_id()
        self.session_id = self.id
        self.name = clip_bytes(str(name), 1024) if name is not None else None
        agent = agent if agent is not None else client.agent
        self.agent = clip_bytes(str(agent), 256) if agent is not None else None
        self.user_id = clip_bytes(str(user_id), 256) if user_id is not None else None
        self.tags = to_tags(tags)
        self.metadata: Dict[str, Any] = to_attributes(metadata)
        self.status: Optional[SessionStatus] = None
        self.started_ns: Optional[int] = None
        self.ended_ns: Optional[int] = None
        self._token: Optional[Token[Optional[Scope]]] = None

    def set_metadata(self, key: str, value: Any) -> None:
        self.metadata[str(key)] = to_jsonable(value)

    def add_tags(self, *tags: str) -> None:
        self.tags = to_tags([*self.tags, *tags])

    def set_status(self, status: SessionStatus) -> None:
        if status in SESSION_STATUSES:
            self.status = status

    def start(self) -> Session:
        """Opens the session and makes it the current scope (what `with` does)."""
        if self.started_ns is None:
            self.started_ns = _clock.now_ns()
            self._token = _scope.set(self)
            self.client._enqueue(self._record("running"))
        return self

    def end(self, status: Optional[SessionStatus] = None, error: Optional[BaseException] = None) -> None:
        """Closes the session (idempotent): final status, ended_at, and an `error` event
        for `error` when no span inside already recorded it."""
        if self.ended_ns is not None:
            return
        if self.started_ns is None:
            self.start()
        _reset(self._token)
        self._token = None
        if status is None or status not in SESSION_STATUSES:
            status = self.status
        if status is None:
            if error is None or (_is_clean_exit(error) and not isinstance(error, GeneratorExit)):
                status = "success"
            elif _is_cancel(error):
                status = "cancelled"
            else:
                status = "failure"
        if error is not None and status != "success" and not _was_recorded(error):
            self._record_error(error)
        self.ended_ns = max(_clock.now_ns(), self.started_ns or 0)
        self.status = status
        self.client._enqueue(self._record(status))

    def _record_error(self, error: BaseException) -> None:
        ev = Span(self.client, "error", type(error).__name__, self)
        ev.set_error(error)
        ev.end()

    def _record(self, status: str) -> Dict[str, Any]:
        rec: Dict[str, Any] = {"id": self.id, "status": status}
        if self.started_ns is not None:
            rec["started_at"] = format_time_ns(self.started_ns)
        if self.ended_ns is not None:
            rec["ended_at"] = format_time_ns(self.ended_ns)
        if self.name is not None:
            rec["name"] = self.name
        if self.agent is not None:
            rec["agent"] = self.agent
        if self.user_id is not None:
            rec["user_id"] = self.user_id
        if self.tags:
            rec["tags"] = list(self.tags)
        if self.metadata:
            rec["metadata"] = dict(self.metadata)
        return rec

    def __enter__(self) -> Session:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.end(error=exc)

    async def __aenter__(self) -> Session:
        return self.start()

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.end(error=exc)

    def __repr__(self) -> str:
        return f"<agentlog.Session {self.id} name={self.name!r} status={self.status}>"
