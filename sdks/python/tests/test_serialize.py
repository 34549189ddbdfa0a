"""Values JSON cannot hold become JSON-safe, bounded, and never raise."""

from __future__ import annotations

import collections
import collections.abc
import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import pathlib
import uuid
from typing import Any, Dict, List, NamedTuple

import pytest

from agentlog._serialize import (
    CIRCULAR,
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_STRING_CHARS,
    MAX_TOTAL_CHARS,
    TRUNCATED,
    clip_bytes,
    error_info,
    format_time_ns,
    time_to_ns,
    to_attributes,
    to_jsonable,
    to_tags,
)


def strict_json(value: Any) -> Any:
    """Round-trips through JSON that rejects NaN/Infinity, as the server does."""
    return json.loads(json.dumps(value, allow_nan=False))


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Point:
    x: int
    when: dt.date


class Pair(NamedTuple):
    a: int
    b: str


class PydanticLike:
    """Duck-typed like a pydantic v2 model."""

    def model_dump(self, mode: str = "python") -> Dict[str, Any]:
        return {"mode": mode, "value": 1}


class BrokenDump:
    def model_dump(self, **kw: Any) -> Any:
        raise RuntimeError("boom")

    def __repr__(self) -> str:
        return "<BrokenDump>"


class BadRepr:
    def __repr__(self) -> str:
        raise ValueError("no repr")


class ArrayLike:
    def tolist(self) -> List[float]:
        return [1.0, math.nan]


def test_plain_values_pass_through_unchanged() -> None:
    value = {"s": "x", "i": 1, "f": 1.5, "b": True, "n": None, "l": [1, "a"], "d": {"k": [None]}}
    assert to_jsonable(value) == value
    assert to_jsonable("text") == "text"
    assert to_jsonable(7) == 7


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        ([1.0, math.nan], [1.0, "NaN"]),
        (decimal.Decimal("1.25"), 1.25),
        (decimal.Decimal("NaN"), "NaN"),
        (
            dt.datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=dt.timezone.utc),
            "2026-11-25T10:00:00.123456+00:00",
        ),
        (dt.date(2026, 1, 2), "2026-01-02"),
        (dt.time(10, 30), "10:30:00"),
        (dt.timedelta(seconds=90, milliseconds=5), 90.005),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (pathlib.PurePosixPath("/tmp/x"), "/tmp/x"),
        (Color.RED, "red"),
        (Level.HIGH, 3),
        (b"hello", "hello"),
        (bytearray(b"\xff\x00"), "base64:/wA="),
        ({3, 1, 2}, [1, 2, 3]),
        (frozenset({"b", "a"}), ["a", "b"]),
        ((1, 2), [1, 2]),
        (Pair(1, "x"), {"a": 1, "b": "x"}),
        (Point(1, dt.date(2026, 1, 1)), {"x": 1, "when": "2026-01-01"}),
        (PydanticLike(), {"mode": "json", "value": 1}),
        (ArrayLike(), [1.0, "NaN"]),
        (collections.deque([1, 2]), [1, 2]),
        (1 + 2j, "(1+2j)"),
        ({1: "a", None: "b", 2.5: "c", Color.RED: "d"}, {"1": "a", "null": "b", "2.5": "c", "red": "d"}),
        ({False: "x", (1, 2): "y"}, {"false": "x", "(1, 2)": "y"}),
        (ValueError("bad"), {"type": "ValueError", "message": "bad"}),
    ],
)
def test_values_json_cannot_hold_are_converted(value: Any, expected: Any) -> None:
    out = to_jsonable(value)
    assert out == expected
    assert strict_json(out) == expected


def test_unsortable_set_keeps_all_members() -> None:
    out = to_jsonable({1, "a"})
    assert isinstance(out, list)
    assert sorted(map(str, out)) == ["1", "a"]


def test_circular_references_are_marked_not_followed() -> None:
    a: Dict[str, Any] = {"name": "a"}
    a["self"] = a
    lst: List[Any] = [1]
    lst.append(lst)
    assert to_jsonable(a) == {"name": "a", "self": CIRCULAR}
    assert to_jsonable(lst) == [1, CIRCULAR]


def test_shared_but_acyclic_objects_are_repeated() -> None:
    shared = {"k": 1}
    assert to_jsonable([shared, shared]) == [{"k": 1}, {"k": 1}]


def test_huge_string_is_truncated_with_marker() -> None:
    s = "x" * (MAX_STRING_CHARS + 500)
    out = to_jsonable(s)
    assert isinstance(out, str)
    assert out.startswith("x" * 1000)
    assert out.endswith("…[truncated 500 chars]")
    nested = to_jsonable({"k": s})
    assert isinstance(nested, dict) and nested["k"] == out


def test_total_text_budget_caps_many_large_strings() -> None:
    big = ["y" * MAX_STRING_CHARS for _ in range(30)]
    out = to_jsonable(big)
    assert isinstance(out, list) and len(out) == 30
    total = sum(len(s) for s in out)
    assert total < MAX_TOTAL_CHARS + 30 * 100
    assert "truncated" in out[-1]


def test_long_containers_keep_first_items_and_count_the_rest() -> None:
    out = to_jsonable(list(range(MAX_ITEMS + 10)))
    assert isinstance(out, list)
    assert out[:3] == [0, 1, 2]
    assert out[-1] == "…[10 more items]"
    d = to_jsonable({f"k{i}": i for i in range(MAX_ITEMS + 2)})
    assert isinstance(d, dict)
    assert d["…"] == "[2 more keys]"


def test_deep_nesting_is_cut() -> None:
    deep: Any = "leaf"
    for _ in range(MAX_DEPTH + 20):
        deep = [deep]
    out = to_jsonable(deep)
    depth = 0
    while isinstance(out, list):
        out = out[0]
        depth += 1
    assert out == TRUNCATED
    assert depth == MAX_DEPTH


def test_broken_objects_never_raise() -> None:
    assert to_jsonable(BrokenDump()) == "<BrokenDump>"
    assert to_jsonable(BadRepr()) == "<unrepresentable BadRepr>"

    class Exploding(dict):  # type: ignore[type-arg]
        def __iter__(self) -> Any:
            raise RuntimeError("nope")

    out = to_jsonable(Exploding(a=1))
    assert out == {"…": "[unreadable: RuntimeError]"}


def test_objects_with_a_repr_become_their_repr() -> None:
    class Thing:
        def __init__(self) -> None:
            self.x = 1

        def __repr__(self) -> str:
            return "Thing(1)"

    assert to_jsonable(Thing()) == "Thing(1)"
    assert to_jsonable({"t": Thing()}) == {"t": "Thing(1)"}
    assert to_jsonable(object()).startswith("<object object at")  # type: ignore[union-attr]


def test_plain_objects_become_their_public_attributes() -> None:
    class Plain:
        kind = "class attribute, not captured"

        def __init__(self) -> None:
            self.ok = 1
            self.when = dt.date(2026, 1, 1)
            self._secret = "hidden"

        @property
        def broken(self) -> int:
            raise RuntimeError("never read")

    assert to_jsonable(Plain()) == {"ok": 1, "when": "2026-01-01"}


def test_one_unreadable_value_spoils_only_itself() -> None:
    class Flaky(collections.abc.Mapping):  # type: ignore[type-arg]
        def __getitem__(self, k: str) -> int:
            if k == "bad":
                raise RuntimeError("getter exploded")
            return 1

        def __iter__(self) -> Any:
            return iter(["ok", "bad", "also_ok"])

        def __len__(self) -> int:
            return 3

    assert to_jsonable(Flaky()) == {"ok": 1, "bad": "[unreadable: RuntimeError]", "also_ok": 1}

    @dataclasses.dataclass
    class WithBadField:
        ok: int

    obj = WithBadField(1)
    del obj.ok  # reading the field now raises AttributeError
    assert to_jsonable(obj) == {"ok": "[unreadable: AttributeError]"}


def test_captured_value_is_a_snapshot() -> None:
    messages = [{"role": "user", "content": "hi"}]
    out = to_jsonable({"messages": messages})
    messages.append({"role": "assistant", "content": "later"})
    assert out == {"messages": [{"role": "user", "content": "hi"}]}


def test_to_attributes_wraps_non_mappings() -> None:
    assert to_attributes(None) == {}
    assert to_attributes({"a": math.inf}) == {"a": "Infinity"}
    assert to_attributes([1, 2]) == {"value": [1, 2]}


def test_to_tags_coerces_to_strings() -> None:
    assert to_tags(None) == []
    assert to_tags("one") == ["one"]
    assert to_tags(["a", 2]) == ["a", "2"]


def test_clip_bytes_respects_utf8_boundaries() -> None:
    s = "é" * 10  # 2 bytes each
    out = clip_bytes(s, 5)
    assert out == "éé"
    assert clip_bytes("short", 5) == "short"


def test_error_info_has_type_message_and_stack() -> None:
    try:
        raise KeyError("missing")
    except KeyError as e:
        info = error_info(e)
    assert info["type"] == "KeyError"
    assert info["message"] == "'missing'"
    assert "Traceback" in info["stack"]
    assert "test_error_info_has_type_message_and_stack" in info["stack"]


def test_error_info_type_of_a_locally_defined_exception() -> None:
    class ConformanceError(Exception):
        pass

    class Outer:
        class Inner(Exception):
            pass

    assert error_info(ConformanceError("x"))["type"] == "ConformanceError"
    assert error_info(Outer.Inner("y"))["type"] == "Outer.Inner"
    assert error_info(ConformanceError("x"))["stack"].endswith("ConformanceError: x\n")  # never raised


def test_format_time_ns_is_rfc3339_utc_microseconds() -> None:
    ns = 1_794_990_400_123_456_789
    assert format_time_ns(ns) == "2026-11-18T08:26:40.123456Z"
    # Same second reuses the cached prefix; the next second must not.
    assert format_time_ns(ns + 1_000) == "2026-11-18T08:26:40.123457Z"
    assert format_time_ns(ns + 1_000_000_000) == "2026-11-18T08:26:41.123456Z"
    assert format_time_ns(0) == "1970-01-01T00:00:00.000000Z"


def test_time_to_ns_accepts_datetimes_and_epoch_seconds() -> None:
    when = dt.datetime(2026, 11, 25, 10, 0, 0, 500000, tzinfo=dt.timezone.utc)
    assert time_to_ns(when) == 1_795_600_800_500_000_000
    assert time_to_ns(1_795_600_800.5) == 1_795_600_800_500_000_000
    assert time_to_ns(None) is None
    assert time_to_ns(math.nan) is None
    assert time_to_ns("yesterday") is None  # type: ignore[arg-type]
