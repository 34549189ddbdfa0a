"""`@trace`: one span per call of a sync or async function, generator or async generator.

The span is the current scope while the function's own code runs, so spans opened inside
nest under it. Generators are traced from their first step to exhaustion or close; the
scope is set around each step and restored before each `yield`, so the consumer's code
between steps is not attributed to the generator.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, TypeVar, overload

from ._serialize import MAX_ITEMS, JSONValue, to_jsonable
from ._span import EventType, Scope, Span, _scope

if TYPE_CHECKING:
    from ._client import AgentLog

F = TypeVar("F", bound=Callable[..., Any])


class _InputCapture:
    """Maps a call's arguments to {parameter name: value}, cheaply for plain signatures."""

    __slots__ = ("names", "sig", "simple", "skip")

    def __init__(self, func: Callable[..., Any]) -> None:
        self.sig: Optional[inspect.Signature]
        try:
            self.sig = inspect.signature(func)
        except (TypeError, ValueError):
            self.sig = None
        params = list(self.sig.parameters.values()) if self.sig is not None else []
        self.names = [p.name for p in params]
        self.simple = all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params)
        self.skip = self.names[0] if self.names and self.names[0] in ("self", "cls") else None

    def __call__(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> JSONValue:
        d: Dict[str, Any]
        if self.simple and len(args) <= len(self.names):
            d = dict(zip(self.names, args))
            if kwargs:
                d.update(kwargs)
        else:
            d = {"args": list(args), "kwargs": kwargs}
            if self.sig is not None:
                try:
                    d = dict(self.sig.bind_partial(*args, **kwargs).arguments)
                except TypeError:  # the call itself will fail the same way
                    pass
        if self.skip is not None:
            d.pop(self.skip, None)
        return to_jsonable(d) if d else None


def _span_name(func: Callable[..., Any]) -> str:
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    return str(qualname).rsplit("<locals>.", 1)[-1]


class _Collector:
    """The yielded items of a traced generator, as its output (first MAX_ITEMS kept)."""

    __slots__ = ("items", "more")

    def __init__(self) -> None:
        self.items: List[JSONValue] = []
        self.more = 0

    def add(self, item: Any) -> None:
        if len(self.items) < MAX_ITEMS:
            self.items.append(to_jsonable(item))
        else:
            self.more += 1

    def output(self, returned: Any) -> JSONValue:
        items: List[JSONValue] = list(self.items)
        if self.more:
            items.append(f"…[{self.more} more items]")
        if returned is None:
            return items
        return {"yielded": items, "returned": to_jsonable(returned)}


@overload
def trace(func: F, /) -> F: ...


@overload
def trace(
    func: None = None,
    /,
    *,
    type: EventType = "tool",
    name: Optional[str] = None,
    capture_input: bool = True,
    capture_output: bool = True,
    client: Optional[AgentLog] = None,
) -> Callable[[F], F]: ...


def trace(
    func: Optional[F] = None,
    /,
    *,
    type: EventType = "tool",
    name: Optional[str] = None,
    capture_input: bool = True,
    capture_output: bool = True,
    client: Optional[AgentLog] = None,
) -> Any:
    """Records each call of the decorated function as one event of `type`.

    Works on functions, methods, async functions, generators and async generators, bare
    (`@trace`) or configured (`@trace(type="llm", name="chat")`). The event's input is the
    call's arguments by parameter name (without self/cls), its output the return value
    (for generators: the yielded items); an exception marks it failed and is re-raised.
    Spans go to the client of the current scope, else `client`, else the default client.
    """

    def decorate(f: F) -> F:
        return _decorate(f, type, name, capture_input, capture_output, client)

    if func is not None:
        return decorate(func)
    return decorate


def _decorate(
    func: F,
    type_: str,
    name: Optional[str],
    capture_input: bool,
    capture_output: bool,
    client: Optional[AgentLog],
) -> F:
    descriptor: Any = func
    if isinstance(descriptor, (classmethod, staticmethod)):
        inner = _decorate(descriptor.__func__, type_, name, capture_input, capture_output, client)
        return type(descriptor)(inner)  # type: ignore[return-value]
    span_name = name if name is not None else _span_name(func)
    capture = _InputCapture(func) if capture_input else None

    from ._client import get_client

    def open_span(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Span:
        scope: Optional[Scope] = _scope.get()
        c = client or (scope.client if scope is not None else get_client())
        sp = Span(c, type_, span_name, scope)
        if capture is not None and (args or kwargs):
            sp.input = capture(args, kwargs)
        return sp

    if inspect.isasyncgenfunction(func):

        @functools.wraps(func)
        async def agen_wrapper(*args: Any, **kwargs: Any) -> Any:
            sp = open_span(args, kwargs)
            agen = func(*args, **kwargs)
            out = _Collector() if capture_output else None
            to_send: Any = None
            to_throw: Optional[BaseException] = None
            while True:
                token = _scope.set(sp)
                try:
                    if to_throw is not None:
                        exc, to_throw = to_throw, None
                        item = await agen.athrow(exc)
                    else:
                        item = await agen.asend(to_send)
                except StopAsyncIteration:
                    _scope.reset(token)
                    if out is not None:
                        sp.output = out.output(None)
                    sp.end()
                    return
                except BaseException as e:
                    _scope.reset(token)
                    if out is not None:  # what it yielded before failing
                        sp.output = out.output(None)
                    sp._end_with(e)
                    raise
                _scope.reset(token)
                if out is not None:
                    out.add(item)
                try:
                    to_send = yield item
                except GeneratorExit:
                    token = _scope.set(sp)
                    try:
                        await agen.aclose()
                    except BaseException as e:
                        _scope.reset(token)
                        sp._end_with(e)
                        raise
                    _scope.reset(token)
                    if out is not None:
                        sp.output = out.output(None)
                    sp.end()
                    raise
                except BaseException as e:
                    to_throw = e

        return agen_wrapper  # type: ignore[return-value]

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            sp = open_span(args, kwargs)
            token = _scope.set(sp)
            try:
                result = await func(*args, **kwargs)
            except BaseException as e:
                _scope.reset(token)
                sp._end_with(e)
                raise
            _scope.reset(token)
            if capture_output and result is not None:
                sp.output = to_jsonable(result)
            sp.end()
            return result

        return async_wrapper  # type: ignore[return-value]

    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            sp = open_span(args, kwargs)
            gen = func(*args, **kwargs)
            out = _Collector() if capture_output else None
            to_send: Any = None
            to_throw: Optional[BaseException] = None
            while True:
                token = _scope.set(sp)
                try:
                    if to_throw is not None:
                        exc, to_throw = to_throw, None
                        item = gen.throw(exc)
                    else:
                        item = gen.send(to_send)
                except StopIteration as stop:
                    _scope.reset(token)
                    if out is not None:
                        sp.output = out.output(stop.value)
                    sp.end()
                    return stop.value
                except BaseException as e:
                    _scope.reset(token)
                    if out is not None:  # what it yielded before failing
                        sp.output = out.output(None)
                    sp._end_with(e)
                    raise
                _scope.reset(token)
                if out is not None:
                    out.add(item)
                try:
                    to_send = yield item
                except GeneratorExit:
                    token = _scope.set(sp)
                    try:
                        gen.close()
                    except BaseException as e:
                        _scope.reset(token)
                        sp._end_with(e)
                        raise
                    _scope.reset(token)
                    if out is not None:
                        sp.output = out.output(None)
                    sp.end()
                    raise
                except BaseException as e:
                    to_throw = e

        return gen_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # open_span inlined: this is the hot path of most agents.
        scope: Optional[Scope] = _scope.get()
        sp = Span(client or (scope.client if scope is not None else get_client()), type_, span_name, scope)
        if capture is not None and (args or kwargs):
            sp.input = capture(args, kwargs)
        token = _scope.set(sp)
        try:
            result = func(*args, **kwargs)
        except BaseException as e:
            _scope.reset(token)
            sp._end_with(e)
            raise
        _scope.reset(token)
        if capture_output and result is not None:
            sp.output = to_jsonable(result)
        sp.end()
        return result

    return wrapper  # type: ignore[return-value]
