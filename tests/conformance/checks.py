"""The checks a scenario's `expect` asks for (README.md documents each kind and matcher).

Every check appends human-readable failures to a list; an empty list means the scenario passed.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

from harness import Api, FaultProxy

MISSING = object()


# --------------------------------------------------------------------------- matchers

def get_path(value: Any, path: str) -> Any:
    """`a.b.c` into nested dicts (lists by index); MISSING when absent."""
    cur = value
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return MISSING
    return cur


def as_text(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def match(actual: Any, expected: Any, where: str, ctx: dict, out: list[str]) -> None:
    """Compares `actual` with an expectation: a literal (JSON equality; dicts are subsets)
    or an operator object like {"$gte": 3}."""
    if isinstance(expected, str) and expected == "$SESSION":
        expected = ctx["session"]
    if isinstance(expected, dict) and expected and all(k.startswith("$") for k in expected):
        for op, arg in expected.items():
            problem = _operator(op, actual, arg)
            if problem:
                out.append(f"{where}: {problem} (got {_short(actual)})")
        return
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            out.append(f"{where}: expected an object, got {_short(actual)}")
            return
        for k, v in expected.items():
            match(actual.get(k, MISSING), v, f"{where}.{k}", ctx, out)
        return
    if actual is MISSING:
        out.append(f"{where}: missing (expected {_short(expected)})")
        return
    if isinstance(expected, float) or isinstance(actual, float):
        if not (isinstance(actual, (int, float)) and not isinstance(actual, bool)
                and math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12)):
            out.append(f"{where}: expected {_short(expected)}, got {_short(actual)}")
        return
    if actual != expected or isinstance(actual, bool) != isinstance(expected, bool):
        out.append(f"{where}: expected {_short(expected)}, got {_short(actual)}")


def _operator(op: str, actual: Any, arg: Any) -> str | None:
    num = isinstance(actual, (int, float)) and not isinstance(actual, bool)
    if op == "$present":
        return None if (actual is not MISSING and actual is not None) == bool(arg) else f"expected present={arg}"
    if actual is MISSING:
        return f"missing (expected {op} {_short(arg)})"
    if op == "$type":
        types = {"string": str, "number": (int, float), "object": dict, "array": list, "boolean": bool, "null": type(None)}
        return None if isinstance(actual, types[arg]) and not (arg == "number" and isinstance(actual, bool)) else f"expected a {arg}"
    if op in ("$gte", "$gt", "$lte", "$lt"):
        if not num:
            return f"expected a number {op} {arg}"
        ok = {"$gte": actual >= arg, "$gt": actual > arg, "$lte": actual <= arg, "$lt": actual < arg}[op]
        return None if ok else f"expected {op[1:]} {arg}"
    if op == "$approx":
        return None if num and math.isclose(actual, arg, rel_tol=1e-6, abs_tol=1e-12) else f"expected ~{arg}"
    if op == "$nonempty":
        return None if bool(actual) == bool(arg) and isinstance(actual, (str, list, dict)) else "expected non-empty"
    if op == "$contains":
        return None if isinstance(actual, str) and arg in actual else f"expected a string containing {arg!r}"
    if op == "$text_contains":
        return None if arg in as_text(actual) else f"expected text containing {arg!r}"
    if op == "$text_startswith":
        return None if as_text(actual).startswith(arg) else f"expected text starting with {arg!r}"
    if op == "$text_endswith":
        return None if as_text(actual).endswith(arg) else f"expected text ending with {arg!r}"
    if op == "$max_json_bytes":
        n = len(json.dumps(actual, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
        return None if n <= arg else f"serialized size {n} bytes > {arg}"
    if op == "$max_utf8_bytes":
        n = len(as_text(actual).encode("utf-8", "surrogatepass"))
        return None if n <= arg else f"{n} UTF-8 bytes > {arg}"
    if op in ("$max_len", "$min_len"):
        if not isinstance(actual, (list, str, dict)):
            return "expected a list"
        return None if (len(actual) <= arg if op == "$max_len" else len(actual) >= arg) else f"length {len(actual)} not {op[1:]} {arg}"
    raise ValueError(f"unknown matcher {op}")


def _short(v: Any) -> str:
    if v is MISSING:
        return "<missing>"
    text = json.dumps(v, ensure_ascii=False, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


# --------------------------------------------------------------------------- check kinds

class Context:
    """What the checks of one scenario run against."""

    def __init__(self, scenario: dict, session: str, result: dict, api: Api, proxy: FaultProxy):
        self.scenario = scenario
        self.session = session
        self.result = result
        self.api = api
        self.proxy = proxy
        self._events: list[dict] | None = None

    @property
    def events(self) -> list[dict]:
        if self._events is None:
            self._events = self.api.events(self.session)
        return self._events


def run_checks(ctx: Context) -> list[str]:
    out: list[str] = []
    expect = ctx.scenario.get("expect", {})
    mctx = {"session": ctx.session}
    for path, expected in expect.get("result", {}).items():
        match(get_path(ctx.result, path), expected, f"result.{path}", mctx, out)
    if "session" in expect:
        s = ctx.api.session(ctx.session)
        if s is None:
            out.append(f"session {ctx.session!r} was not stored")
        else:
            match(s, expect["session"], "session", mctx, out)
    if "tree" in expect:
        check_tree(ctx, expect["tree"], out)
    if "timing" in expect:
        check_timing(ctx, expect["timing"], out)
    if "events" in expect:
        check_events(ctx, expect["events"], out)
    if "cases" in expect:
        check_cases(ctx, expect["cases"], out)
    if "proxy" in expect:
        check_proxy(ctx, expect["proxy"], out)
    return out


def check_tree(ctx: Context, expected: list[dict], out: list[str]) -> None:
    """The session's tree (GET ...?tree=true) has exactly the expected nodes, matched by name."""
    forest = ctx.api.events(ctx.session, tree=True)
    _match_children(forest, expected, "tree", {"session": ctx.session}, out)


def _match_children(actual: list[dict], expected: list[dict], where: str, mctx: dict, out: list[str]) -> None:
    names = sorted(str(e.get("name")) for e in actual)
    want = sorted(str(e["name"]) for e in expected)
    if names != want:
        out.append(f"{where}: children are {names}, expected {want}")
    by_name = {e.get("name"): e for e in actual}
    for exp in expected:
        node = by_name.get(exp["name"])
        if node is None:
            continue
        fields = {k: v for k, v in exp.items() if k != "children"}
        match(node, fields, f"{where}/{exp['name']}", mctx, out)
        if "children" in exp:
            _match_children(node.get("children", []), exp["children"], f"{where}/{exp['name']}", mctx, out)


def _parse_us(ts: str | None) -> int | None:
    if not ts:
        return None
    import datetime as dt
    base, _, frac = ts.rstrip("Z").partition(".")
    t = dt.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
    return int(t.timestamp()) * 1_000_000 + int((frac or "0").ljust(6, "0")[:6])


def check_timing(ctx: Context, spec: dict, out: list[str]) -> None:
    events = ctx.events
    by_id = {e["id"]: e for e in events}
    if spec.get("children_within_parents"):
        for e in events:
            p = by_id.get(e.get("parent_id"))
            if not p:
                continue
            s, ps = _parse_us(e["started_at"]), _parse_us(p["started_at"])
            if s is not None and ps is not None and s < ps:
                out.append(f"timing: {e['name']} starts before its parent {p['name']}")
            en, pe = _parse_us(e.get("ended_at")), _parse_us(p.get("ended_at"))
            if en is not None and pe is not None and en > pe:
                out.append(f"timing: {e['name']} ends after its parent {p['name']}")
    for name in spec.get("spans_have_duration", []):
        found = [e for e in events if e.get("name") == name]
        if not found:
            out.append(f"timing: no event named {name!r}")
            continue
        e = found[0]
        if e.get("ended_at") is None or not (e.get("duration_ms") or 0) > 0:
            out.append(f"timing: span {name!r} has no positive duration (ended_at {e.get('ended_at')}, duration_ms {e.get('duration_ms')})")


def check_events(ctx: Context, spec: dict, out: list[str]) -> None:
    events = ctx.events
    if "count_by_type" in spec:
        counts: dict[str, int] = {}
        for e in events:
            counts[e["type"]] = counts.get(e["type"], 0) + 1
        if counts != spec["count_by_type"]:
            out.append(f"events: counts by type {counts}, expected {spec['count_by_type']}")
    if "seq_exactly_once" in spec:
        s = spec["seq_exactly_once"]
        seqs = [get_path(e, f"attributes.{s['attribute']}") for e in events if e["type"] == s["type"]]
        missing_attr = sum(1 for v in seqs if v is MISSING)
        values = [v for v in seqs if v is not MISSING]
        dupes = sorted((v for v, n in Counter(map(json.dumps, values)).items() if n > 1))
        if missing_attr:
            out.append(f"events: {missing_attr} {s['type']} event(s) lack attributes.{s['attribute']}")
        if dupes:
            out.append(f"events: {s['attribute']} values stored more than once (duplicates): {dupes[:10]}")
        if "count" in s:
            want = set(range(s["count"]))
            got = set(values)
            if got != want:
                lost = sorted(want - got)
                extra = sorted(got - want, key=str)
                out.append(f"events: {len(lost)} {s['attribute']} value(s) lost {lost[:10]}, {len(extra)} unexpected {extra[:10]}")
        if "at_most" in s and len(values) > s["at_most"]:
            out.append(f"events: {len(values)} delivered, expected at most {s['at_most']}")
    if "newest_kept" in spec:
        s = spec["newest_kept"]
        got = {get_path(e, f"attributes.{s['attribute']}") for e in events}
        want = set(range(s["total"] - s["newest"], s["total"]))
        if not want <= got:
            out.append(f"events: the newest {s['newest']} were not all kept; missing {sorted(want - got)[:10]}")
    if "delivered_plus_dropped" in spec:
        s = spec["delivered_plus_dropped"]
        delivered = sum(1 for e in events if e["type"] == s["type"])
        dropped = get_path(ctx.result, "stats.dropped")
        if not isinstance(dropped, int) or delivered + dropped != s["total"]:
            out.append(f"events: delivered {delivered} + dropped {dropped} != {s['total']} recorded (an event was lost uncounted)")
    if "parent_named" in spec:
        s = spec["parent_named"]
        by_id = {e["id"]: e for e in events}
        wrong = 0
        example = ""
        for e in events:
            if e["type"] != s["type"]:
                continue
            want = s["template"].format(**(e.get("attributes") or {}))
            parent = by_id.get(e.get("parent_id"))
            if not parent or parent.get("name") != want:
                wrong += 1
                example = example or f"{e['id']} (attributes {e.get('attributes')}) has parent {parent and parent.get('name')!r}"
        if wrong:
            out.append(f"events: {wrong} {s['type']} event(s) with the wrong parent, e.g. {example}")


def check_cases(ctx: Context, cases: list[dict], out: list[str]) -> None:
    reported = ctx.result.get("cases", {}) if isinstance(ctx.result.get("cases"), dict) else {}
    by_case: dict[str, dict] = {}
    for e in ctx.events:
        c = get_path(e, "attributes.case")
        if isinstance(c, str):
            by_case[c] = e
    mctx = {"session": ctx.session}
    for case in cases:
        name = case["case"]
        status = reported.get(name, "logged")
        if status == "not_applicable":
            if not case.get("may_be_not_applicable"):
                out.append(f"case {name}: the driver says not applicable, but every SDK must handle it")
            continue
        if status == "reported":
            if not case.get("may_report"):
                if name not in by_case:
                    out.append(f"case {name}: not delivered (reported instead); this value must be made safe")
            continue
        event = by_case.get(name)
        if event is None:
            out.append(f"case {name}: no stored event with attributes.case == {name!r} (lost silently)")
            continue
        for path, expected in case.get("checks", {}).items():
            match(get_path(event, path), expected, f"case {name}: {path}", mctx, out)


def check_proxy(ctx: Context, spec: dict, out: list[str]) -> None:
    records = ctx.proxy.ingest_records()
    if "ingest_requests_max" in spec and len(records) > spec["ingest_requests_max"]:
        out.append(f"proxy: {len(records)} ingest requests, expected at most {spec['ingest_requests_max']} (not batching?)")
    if "gzip_requests_min" in spec:
        n = sum(1 for r in records if r.gzip)
        if n < spec["gzip_requests_min"]:
            out.append(f"proxy: {n} gzip-encoded ingest requests, expected at least {spec['gzip_requests_min']}")
    if spec.get("all_authorized") and not all(r.authorized for r in records):
        out.append("proxy: an ingest request had no Authorization: Bearer / X-API-Key header")
    faulted = [r for r in records if r.mode in ("status", "drop_after_forward", "hang")]
    if "faults_min" in spec and len(faulted) < spec["faults_min"]:
        out.append(f"proxy: only {len(faulted)} requests met an injected fault, expected {spec['faults_min']} "
                   f"(outcomes: {[r.outcome for r in records]})")
    if spec.get("faulted_ids_stored"):
        stored = {e["id"] for e in ctx.events}
        lost = [i for r in faulted for i in r.event_ids if i not in stored]
        if lost:
            out.append(f"proxy: {len(lost)} event id(s) sent in faulted requests were never stored "
                       f"(retries must reuse ids), e.g. {lost[:5]}")
        if not any(r.event_ids for r in faulted):
            out.append("proxy: faulted requests carried no event ids (client-generated ids expected)")
    if "retry_after_honoured_s" in spec:
        for r in records:
            if r.retry_after is None or r.answered_at is None:
                continue
            later = [x for x in records if x.n > r.n]
            if later:
                gap = later[0].at - r.answered_at
                if gap < spec["retry_after_honoured_s"]:
                    out.append(f"proxy: next ingest request {gap:.3f}s after 'Retry-After: {r.retry_after}', "
                               f"expected at least {spec['retry_after_honoured_s']}s")
