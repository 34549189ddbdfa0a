"""Turning arbitrary Python values into data JSON can hold, without ever raising.

`to_jsonable` runs in the caller's thread when a value is captured (so later mutation of
the caller's objects does not change what was recorded) and returns plain dict / list /
str / int / float / bool / None. Bounded: strings, containers, depth and total text are
capped, each cut marked so a reader sees that something was left out.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import decimal
import enum
import math
import pathlib
import time
import traceback
import uuid
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Union

JSONValue = Union[None, bool, int, float, str, List[Any], Dict[str, Any]]

MAX_STRING_CHARS = 100_000
"""Longest string kept whole; longer ones keep their head and a marker."""
MAX_ITEMS = 1_000
"""Most items kept from one list, set or mapping."""
MAX_DEPTH = 32
"""Deepest nesting kept."""
MAX_TOTAL_CHARS = 1_000_000
"""Text budget of one captured value; past it strings are cut short."""
MAX_NODES = 20_000
"""Most values visited in one captured value."""
MAX_STACK_CHARS = 32_000
MAX_TAGS = 100
"""The server accepts at most 100 tags of at most 256 bytes each."""

CIRCULAR = "[circular reference]"
TRUNCATED = "[truncated]"

_SCALARS = (str, int, float, bool, type(None))


def truncate_str(s: str, limit: int) -> str:
    if len(s) <= limit:
        return s
    return f"{s[:limit]}…[truncated {len(s) - limit} chars]"


def clip_bytes(s: str, max_bytes: int) -> str:
    """`s` cut to at most `max_bytes` UTF-8 bytes, on a character boundary."""
    if len(s) * 4 <= max_bytes:
        return s
    raw = s.encode("utf-8", "replace")
    if len(raw) <= max_bytes:
        return s
    return raw[:max_bytes].decode("utf-8", "ignore")


def _float(v: float) -> JSONValue:
    if math.isfinite(v):
        return v
    if math.isnan(v):
        return "NaN"
    return "Infinity" if v > 0 else "-Infinity"


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:  # a broken __repr__ must not break the caller
        return f"<unrepresentable {type(value).__name__}>"


class _Converter:
    __slots__ = ("chars_left", "nodes_left", "path")

    def __init__(self) -> None:
        self.chars_left = MAX_TOTAL_CHARS
        self.nodes_left = MAX_NODES
        self.path: set[int] = set()

    def text(self, s: str) -> str:
        limit = min(MAX_STRING_CHARS, max(self.chars_left, 64))
        self.chars_left -= min(len(s), limit)
        return truncate_str(s, limit)

    def convert(self, value: Any, depth: int) -> JSONValue:
        self.nodes_left -= 1
        if self.nodes_left < 0:
            return TRUNCATED
        t = type(value)
        if t is str:
            return self.text(value)
        if value is None or t is bool or t is int:
            return value  # type: ignore[no-any-return]
        if t is float:
            return _float(value)
        if isinstance(value, enum.Enum):
            return self.convert(value.value, depth)
        if isinstance(value, str):
            return self.text(str.__str__(value))
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return _float(float(value))
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self.bytes_(bytes(value))
        if isinstance(value, _dt.datetime):
            return value.isoformat()
        if isinstance(value, (_dt.date, _dt.time)):
            return value.isoformat()
        if isinstance(value, _dt.timedelta):
            return value.total_seconds()
        if isinstance(value, decimal.Decimal):
            return str(value) if not value.is_finite() else _float(float(value))
        if isinstance(value, (uuid.UUID, pathlib.PurePath)) or t.__module__ == "ipaddress":
            return str(value)
        if isinstance(value, complex):
            return str(value)
        if isinstance(value, BaseException):
            return {"type": type(value).__name__, "message": self.text(_exc_message(value))}
        if depth >= MAX_DEPTH:
            return TRUNCATED
        key = id(value)
        if key in self.path:
            return CIRCULAR
        self.path.add(key)
        try:
            return self.container(value, t, depth + 1)
        finally:
            self.path.discard(key)

    def container(self, value: Any, t: type, depth: int) -> JSONValue:
        if isinstance(value, Mapping):
            return self.mapping(value, depth)
        if isinstance(value, tuple) and hasattr(t, "_fields"):  # namedtuple
            try:
                return self.mapping(getattr(value, "_asdict")(), depth)  # noqa: B009
            except Exception:
                pass
        if isinstance(value, (list, tuple)):
            return self.sequence(value, len(value), depth)
        if isinstance(value, (set, frozenset)):
            items: list[Any] = list(value)
            try:
                items.sort()
            except Exception:  # unorderable members: keep iteration order
                pass
            return self.sequence(items, len(items), depth)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields: dict[str, Any] = {}
            for f in dataclasses.fields(value):
                try:
                    fields[f.name] = getattr(value, f.name)
                except Exception as e:
                    fields[f.name] = f"[unreadable: {type(e).__name__}]"
            return self.mapping(fields, depth)
        dumped = self.via_method(value)
        if dumped is not _NOTHING:
            return self.convert(dumped, depth)
        if t.__name__ in ("deque", "array") or isinstance(value, range):
            try:
                seq = list(value)
                return self.sequence(seq, len(seq), depth)
            except Exception:
                pass
        own_repr: object = getattr(t, "__repr__", None)
        if own_repr is _OBJECT_REPR and hasattr(value, "__dict__") and not isinstance(value, type):
            return self.attributes(value, depth)
        return self.text(_safe_repr(value))

    def via_method(self, value: Any) -> Any:
        """pydantic v2 `model_dump`, pydantic v1 `dict`, numpy `tolist`, attrs-like objects."""
        for name, kwargs in (("model_dump", {"mode": "json"}), ("model_dump", {}), ("tolist", {})):
            fn = getattr(value, name, None)
            if callable(fn):
                try:
                    return fn(**kwargs)
                except Exception:
                    continue
        if hasattr(value, "__fields__") and callable(getattr(value, "dict", None)):
            try:
                return value.dict()
            except Exception:
                pass
        return _NOTHING

    def mapping(self, value: Mapping[Any, Any], depth: int) -> JSONValue:
        out: dict[str, Any] = {}
        try:
            n = len(value)
            if type(value) is dict:
                for i, (k, v) in enumerate(value.items()):
                    if i >= MAX_ITEMS:
                        out["…"] = f"[{n - MAX_ITEMS} more keys]"
                        break
                    out[self.key(k)] = self.convert(v, depth)
                return out
            for i, k in enumerate(value):  # other mappings: one bad value spoils only itself
                if i >= MAX_ITEMS:
                    out["…"] = f"[{n - MAX_ITEMS} more keys]"
                    break
                try:
                    v = value[k]
                except Exception as e:
                    out[self.key(k)] = f"[unreadable: {type(e).__name__}]"
                    continue
                out[self.key(k)] = self.convert(v, depth)
        except Exception as e:  # a mapping mutated while read, or a broken iterator
            out["…"] = f"[unreadable: {type(e).__name__}]"
        return out

    def attributes(self, value: Any, depth: int) -> JSONValue:
        """A plain object without a repr of its own: its public instance attributes."""
        try:
            attrs = {k: v for k, v in vars(value).items() if not k.startswith("_")}
        except Exception:
            return self.text(_safe_repr(value))
        return self.mapping(attrs, depth)

    def key(self, k: Any) -> str:
        if type(k) is str:
            return k if len(k) <= 1024 else truncate_str(k, 1024)
        if k is None:
            return "null"
        if isinstance(k, bool):
            return "true" if k else "false"
        if isinstance(k, enum.Enum):
            return self.key(k.value)
        if isinstance(k, (int, float, str)):
            return str(k)
        return truncate_str(_safe_repr(k), 1024)

    def sequence(self, value: Any, n: int, depth: int) -> JSONValue:
        out: list[Any] = []
        try:
            for i, v in enumerate(value):
                if i >= MAX_ITEMS:
                    out.append(f"…[{n - MAX_ITEMS} more items]")
                    break
                out.append(self.convert(v, depth))
        except Exception as e:
            out.append(f"…[unreadable: {type(e).__name__}]")
        return out

    def bytes_(self, b: bytes) -> str:
        limit = min(MAX_STRING_CHARS, max(self.chars_left, 64))
        head = b[:limit]
        try:
            s = head.decode("utf-8")
        except UnicodeDecodeError:
            s = "base64:" + base64.b64encode(head).decode("ascii")
        self.chars_left -= len(s)
        if len(b) > limit:
            s += f"…[truncated {len(b) - limit} bytes]"
        return s


_NOTHING = object()
_OBJECT_REPR: object = object.__repr__


def to_jsonable(value: Any) -> JSONValue:
    """A JSON-safe copy of `value`; never raises."""
    t = type(value)
    if t is str:
        return value if len(value) <= MAX_STRING_CHARS else truncate_str(value, MAX_STRING_CHARS)
    if value is None or t is int or t is bool:
        return value  # type: ignore[no-any-return]
    if t is float:
        return _float(value)
    try:
        return _Converter().convert(value, 0)
    except RecursionError:
        return TRUNCATED
    except Exception:
        return _safe_repr(value)


def to_attributes(value: Any) -> dict[str, Any]:
    """A JSON object for `attributes` / `metadata` (non-mappings are wrapped as {"value": ...})."""
    if value is None:
        return {}
    converted = to_jsonable(value)
    if isinstance(converted, dict):
        return converted
    return {"value": converted}


def to_tags(tags: Any) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        return [clip_bytes(tags, 256)]
    try:
        return [clip_bytes(t if isinstance(t, str) else _safe_repr(t), 256) for t in list(tags)[:MAX_TAGS]]
    except Exception:
        return []


def _exc_message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return _safe_repr(exc)


def error_info(exc: BaseException) -> dict[str, str]:
    """{type, message, stack} of an exception, as the event's `error` field."""
    try:
        stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:
        stack = ""
    if len(stack) > MAX_STACK_CHARS:  # keep the end: the innermost frames and the message
        stack = f"…[truncated {len(stack) - MAX_STACK_CHARS} chars]" + stack[-MAX_STACK_CHARS:]
    return {
        "type": clip_bytes(type(exc).__qualname__.rsplit("<locals>.", 1)[-1], 256),
        "message": truncate_str(_exc_message(exc), 10_000),
        "stack": stack,
    }


_last_second = (-1, "")  # (epoch second, its "YYYY-MM-DDTHH:MM:SS" form): one tuple, swapped whole


def format_time_ns(ns: int) -> str:
    """RFC 3339 UTC with microseconds, the server's own output form."""
    global _last_second
    secs, micro = divmod(ns // 1000, 1_000_000)
    cached_secs, prefix = _last_second
    if secs != cached_secs:
        t = time.gmtime(secs)
        prefix = (
            f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
        )
        _last_second = (secs, prefix)
    return f"{prefix}.{micro:06d}Z"


def time_to_ns(value: Union[_dt.datetime, float, int, None]) -> Optional[int]:
    """A user-given time (aware/naive datetime, or epoch seconds as float/int) in epoch ns.

    Naive datetimes are taken as local time, as `datetime.timestamp()` does.
    """
    if value is None:
        return None
    try:
        if isinstance(value, _dt.datetime):
            return round(value.timestamp() * 1_000_000) * 1000
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return round(value * 1_000_000) * 1000
    except (OverflowError, ValueError, OSError):
        pass
    return None


__all__ = [
    "JSONValue",
    "clip_bytes",
    "error_info",
    "format_time_ns",
    "time_to_ns",
    "to_attributes",
    "to_jsonable",
    "to_tags",
    "truncate_str",
]
