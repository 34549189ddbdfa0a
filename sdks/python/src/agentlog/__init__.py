"""AgentLog SDK for Python: observability for AI agents.

    import agentlog

    agentlog.init()  # AGENTLOG_URL, AGENTLOG_API_KEY

    @agentlog.trace(type="tool")
    def search(query: str) -> list[str]: ...

    with agentlog.session(name="support chat", agent="helper"):
        search("refund policy")

Events go to a bounded buffer and a background thread sends them; nothing here raises
into your code or blocks it. See README.md for the full tour.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Union

from ._client import (
    AgentLog,
    AgentLogError,
    ClientStats,
    _llm,
    _log,
    _new_span,
    get_client,
    init,
)
from ._span import EventType, Session, SessionStatus, Span, SpanStatus, _scope
from ._trace import trace
from ._version import __version__


def _client_for_scope() -> AgentLog:
    scope = _scope.get()
    return scope.client if scope is not None else get_client()


def session(
    name: Optional[str] = None,
    *,
    id: Optional[str] = None,
    agent: Optional[str] = None,
    user_id: Optional[str] = None,
    tags: Optional[Iterable[str]] = None,
    metadata: Optional[Mapping[str, Any]] = None,
    client: Optional[AgentLog] = None,
) -> Session:
    """A session: use as `with agentlog.session(...) as s:` or `async with`.

    Everything recorded inside belongs to it. `id` continues an existing session (e.g. a
    conversation); by default a new UUIDv7 is chosen. On exit the status is success, or
    failure with the exception (cancelled on KeyboardInterrupt / task cancellation).
    """
    c = client if client is not None else _client_for_scope()
    return Session(c, id=id, name=name, agent=agent, user_id=user_id, tags=tags, metadata=metadata)


def span(
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
    """A span starting now, nested in the current scope:
    `with agentlog.span("step", "plan") as sp: sp.set_output(...)` (or `async with`).

    `session_id` records it into that session without entering it (no session upsert is
    sent; the server creates an unknown session on first sight)."""
    scope = _scope.get()
    c = scope.client if scope is not None else get_client()
    return _new_span(c, scope, type, name, input, agent, model, provider, attributes, tags, session_id)


def log(
    message: str,
    *,
    level: str = "info",
    data: Any = None,
    name: Optional[str] = None,
    attributes: Optional[Mapping[str, Any]] = None,
    tags: Optional[Iterable[str]] = None,
    session_id: Optional[str] = None,
) -> Span:
    """Records a `log` event in the current scope (or in `session_id`, as for `span`).

    Its name is the message (cut to 200 characters), its output the message (with `data`,
    if given), `attributes.level` the level; levels error/critical/fatal mark it failed."""
    scope = _scope.get()
    c = scope.client if scope is not None else get_client()
    return _log(c, scope, message, level, data, name, attributes, tags, session_id)


def llm(
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
    """Records one finished LLM call in the current scope (or in `session_id`).

    `usage` is a mapping or provider usage object (input_tokens / output_tokens /
    total_tokens / cached_tokens, or prompt_tokens / completion_tokens). `started_at` /
    `ended_at` are datetimes or epoch seconds (default: now, zero duration).
    """
    scope = _scope.get()
    c = scope.client if scope is not None else get_client()
    return _llm(
        c,
        scope,
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


def current_span() -> Optional[Span]:
    """The innermost open span of this context, if any."""
    scope = _scope.get()
    return scope if isinstance(scope, Span) else None


def current_session_id() -> Optional[str]:
    """The id of the session the current context records into, if any."""
    scope = _scope.get()
    return scope.session_id if scope is not None else None


def flush(timeout: Optional[float] = None) -> bool:
    """`flush` on the current scope's client (else the default client)."""
    return _client_for_scope().flush(timeout)


def shutdown(timeout: Optional[float] = None) -> bool:
    """`shutdown` on the default client (True when there is none)."""
    from . import _client

    c = _client._default
    return True if c is None else c.shutdown(timeout)


__all__ = [
    "AgentLog",
    "AgentLogError",
    "ClientStats",
    "EventType",
    "Session",
    "SessionStatus",
    "Span",
    "SpanStatus",
    "__version__",
    "current_session_id",
    "current_span",
    "flush",
    "get_client",
    "init",
    "llm",
    "log",
    "session",
    "shutdown",
    "span",
    "trace",
]
