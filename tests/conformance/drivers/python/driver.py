"""Conformance driver for the Python SDK (agentlog).

    .venv/bin/python driver.py <scenario>

Plays one scenario of tests/conformance/scenarios.json (its "steps" are the specification)
and prints one JSON result line to stdout. The SDK is the package installed by setup.sh.

Environment: AGENTLOG_URL and AGENTLOG_API_KEY (read by the SDK itself),
AGENTLOG_CONFORMANCE_SESSION (the session id to record into) and
AGENTLOG_CONFORMANCE_PARAMS (the scenario's params, a JSON object).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

import agentlog

SCENARIO = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("AGENTLOG_CONFORMANCE_SCENARIO", "")
SESSION = os.environ.get("AGENTLOG_CONFORMANCE_SESSION", "")
PARAMS: dict[str, Any] = json.loads(os.environ.get("AGENTLOG_CONFORMANCE_PARAMS") or "{}")

# Problems the SDK reported through on_error, by kind ("queue_full", "rejected", ...).
reported: Counter[str] = Counter()


class ConformanceError(Exception):
    """The error raised in exception_recorded; its type name is checked on the server."""


def on_error(error: agentlog.AgentLogError) -> None:
    """The SDK's error callback: counts each report by kind and logs it to stderr."""
    reported[error.kind] += 1
    print(f"[driver] on_error {error.kind}: {error}", file=sys.stderr, flush=True)


def make_client(**options: Any) -> agentlog.AgentLog:
    """The process-wide client, configured from the environment plus scenario options."""
    return agentlog.init(on_error=on_error, **options)


def retry_options() -> dict[str, Any]:
    """Backoff options from the scenario's retry_* params (milliseconds -> seconds)."""
    options: dict[str, Any] = {}
    if "retry_initial_delay_ms" in PARAMS:
        options["backoff_base"] = PARAMS["retry_initial_delay_ms"] / 1000
    if "retry_max_delay_ms" in PARAMS:
        options["backoff_max"] = PARAMS["retry_max_delay_ms"] / 1000
    return options


def conformance_stats(client: agentlog.AgentLog) -> dict[str, Any]:
    """client.stats() under the runner's names: the SDK says `delivered` where the suite
    says `sent`; dropped, failed, rejected and retries are named alike. The SDK's own
    counters are kept as extra keys."""
    stats = client.stats()
    return {**stats, "sent": stats["delivered"]}


def emit(client: agentlog.AgentLog | None = None, **fields: Any) -> None:
    """Prints the result line: ok, the scenario's fields, the SDK's stats (when a client is
    given) and the on_error reports."""
    result: dict[str, Any] = {"scenario": SCENARIO, "ok": True, **fields}
    if client is not None:
        result["stats"] = conformance_stats(client)
    result["reported"] = dict(reported)
    print(json.dumps(result), flush=True)


def ms_since(start: float) -> float:
    """Milliseconds elapsed since the time.perf_counter() value `start`."""
    return round((time.perf_counter() - start) * 1000, 3)


async def nested_spans() -> None:
    """Spans inside spans across awaits and two concurrent tasks, a plain log event and an
    llm() record; the session carries name, agent, user, tags and metadata."""
    client = make_client()
    async with client.session(
        id=SESSION,
        name="conformance nested",
        agent="conformance-agent",
        user_id="user-42",
        tags=["conformance", "nested"],
        metadata={"suite": "conformance"},
    ) as session:
        async with client.span("agent", "root", input={"question": "q"}) as root:
            await asyncio.sleep(0.005)
            async with client.span("step", "plan"):
                await asyncio.sleep(0.002)
                async with client.span("llm", "call-1", model="test-model", provider="test-provider") as call:
                    await asyncio.sleep(0.002)
                    call.set_usage(input_tokens=10, output_tokens=5)
                    call.set_cost(0.001)
                    call.set_output({"text": "hi"})

                async def search(tag: str, before_s: float, fetch_s: float) -> None:
                    async with client.span("tool", f"search-{tag}"):
                        await asyncio.sleep(before_s)
                        async with client.span("retrieval", f"fetch-{tag}"):
                            await asyncio.sleep(fetch_s)

                await asyncio.gather(search("a", 0.006, 0.001), search("b", 0.001, 0.006))
                client.log("note")
            client.llm(
                name="answer",
                model="test-model",
                input="summarize",
                output="done",
                usage={"input_tokens": 7, "output_tokens": 3},
                cost_usd=0.0005,
            )
            root.set_output({"answer": 42})
        session.set_status("success")
    await client.aflush()
    emit(client)


async def exception_recorded() -> None:
    """ConformanceError raised in spans (after an await, synchronously, and two spans deep)
    is recorded on every span it crosses and reaches the caller as the very same object."""
    client = make_client()
    same = 0
    caught = 0
    raised: list[BaseException] = []

    def fail(message: str) -> None:
        error = ConformanceError(message)
        raised.append(error)
        raise error

    def check_same(error: BaseException) -> None:
        nonlocal same, caught
        caught += 1
        if error is raised[-1]:
            same += 1

    async with client.session(id=SESSION), client.span("agent", "outer") as outer:
        try:
            async with client.span("tool", "fails-async"):
                await asyncio.sleep(0.001)
                fail("boom-async")
        except ConformanceError as error:
            check_same(error)

        try:
            with client.span("tool", "fails-sync"):
                fail("boom-sync")
        except ConformanceError as error:
            check_same(error)

        try:
            # 'propagates' is the parent of 'inner-fail'; the error leaves both spans.
            async with client.span("step", "propagates"), client.span("tool", "inner-fail"):
                await asyncio.sleep(0.001)
                fail("deep")
        except ConformanceError as error:
            check_same(error)

        outer.set_output("recovered")
    await client.aflush()
    emit(client, rethrown_same=same, caught=caught)


async def concurrent_10k() -> None:
    """TASKS asyncio tasks each record EVENTS_PER_TASK log events inside their own 'agent'
    span, yielding every 10 events; all must arrive exactly once under the right span."""
    tasks = PARAMS.get("tasks", 8)
    per_task = PARAMS.get("events_per_task", 1250)
    # Room for the whole burst: this scenario is about exactly-once delivery under
    # concurrency (queue_overflow covers drops); the default queue holds 10,000 items and
    # the tasks record 10,008 faster than one sender thread can always drain them.
    client = make_client(max_queue_size=2 * (tasks * per_task + tasks))

    async def task(t: int) -> None:
        async with client.span("agent", f"task-{t}", attributes={"task": t}):
            for i in range(per_task):
                client.log("ev", attributes={"task": t, "seq": t * per_task + i})
                if i % 10 == 9:
                    await asyncio.sleep(0)

    async with client.session(id=SESSION):
        await asyncio.gather(*(task(t) for t in range(tasks)))
    await client.aflush()
    emit(client)


async def faults_then_recovery() -> None:
    """EVENTS log events in batches of BATCH_SIZE while the proxy answers 5xx/429 and drops
    answers; flush returns once everything is delivered, each event exactly once."""
    client = make_client(max_batch_size=PARAMS.get("batch_size", 100), **retry_options())
    async with client.session(id=SESSION):
        for i in range(PARAMS.get("events", 2000)):
            client.log("ev", attributes={"seq": i})
            if i % 100 == 99:
                await asyncio.sleep(0)
    await client.aflush()
    emit(client)


def server_down_at_start() -> None:
    """EVENTS log events while connections are refused; flush (timed, as flush_ms) retries
    until the server is there and delivers them all."""
    client = make_client(**retry_options())
    with client.session(id=SESSION):
        for i in range(PARAMS.get("events", 300)):
            client.log("ev", attributes={"seq": i})
    start = time.perf_counter()
    client.flush()
    emit(client, flush_ms=ms_since(start))


def queue_overflow() -> None:
    """EVENTS log events into a MAX_QUEUE_SIZE queue, as fast as possible, while the server
    hangs: the oldest are dropped and counted, one queue_full report, the newest delivered."""
    client = make_client(
        max_queue_size=PARAMS.get("max_queue_size", 100),
        max_batch_size=PARAMS.get("max_batch_size", 10),
    )
    start = time.perf_counter()
    for i in range(PARAMS.get("events", 1000)):
        client.log("ev", attributes={"seq": i}, session_id=SESSION)
    burst_ms = ms_since(start)
    client.flush()
    emit(client, burst_ms=burst_ms, overflow_reports=reported["queue_full"])


def record_job(client: agentlog.AgentLog) -> None:
    """In the session, an 'agent' span 'job' holding EVENTS-1 log events (seq 0..)."""
    with client.session(id=SESSION) as session:
        with client.span("agent", "job"):
            for i in range(PARAMS.get("events", 500) - 1):
                client.log("ev", attributes={"seq": i})
        session.set_status("success")


def short_lived_shutdown() -> None:
    """With a long flush interval, record a job, shutdown() and leave with os._exit at once:
    shutdown alone must have delivered everything."""
    client = make_client(flush_interval=PARAMS.get("flush_interval_ms", 60_000) / 1000)
    record_job(client)
    client.shutdown()
    emit(client)
    os._exit(0)


def exit_without_shutdown() -> None:
    """With a long flush interval, record a job and just return: the SDK's atexit hook must
    deliver it."""
    client = make_client(flush_interval=PARAMS.get("flush_interval_ms", 60_000) / 1000)
    record_job(client)
    emit(queued_at_end=client.stats()["queued"])


class ThrowingGetter:
    """An object with ok=1 and a property whose reading raises."""

    def __init__(self) -> None:
        self.ok = 1

    @property
    def broken(self) -> int:
        raise RuntimeError("getter failed")


def invalid_value_cases() -> dict[str, dict[str, Any]]:
    """The invalid_values cases: span fields (name, input, output, tags) by case name."""
    circular: dict[str, Any] = {"name": "loop"}
    circular["self"] = circular
    deep: Any = "bottom"
    for _ in range(1000):
        deep = [deep]
    return {
        "circular": {"input": circular},
        "big_integer": {"output": {"value": 12345678901234567890}},
        "huge_string": {"input": "x" * 5_000_000},
        "lone_surrogate": {"name": "bad-\ud800-name", "input": {"text": "a\udc00b"}},
        "invalid_utf8": {"input": {"data": b"\xff\xfeA"}},
        "deep_nesting": {"input": deep},
        "non_finite_numbers": {"output": {"nan": float("nan"), "inf": float("inf"), "ok": True}},
        "huge_name": {"name": "n" * 5000},
        "many_tags": {"tags": [f"t{i}" for i in range(150)] + ["T" * 300]},
        "throwing_getter": {"input": ThrowingGetter()},
        "unsupported_types": {"input": {"fn": lambda: 1, "other": object()}},
    }


def invalid_values() -> None:
    """One 'log' span per awkward value; none may raise, each is stored (made safe) or
    reported through on_error, and no case costs another its delivery."""
    client = make_client()
    threw: list[str] = []
    cases: dict[str, str] = {}
    with client.session(id=SESSION):
        for case, fields in invalid_value_cases().items():
            reports_before = sum(reported.values())
            try:
                with client.span(
                    "log",
                    fields.get("name", f"case-{case}"),
                    input=fields.get("input"),
                    tags=fields.get("tags"),
                    attributes={"case": case},
                ) as span:
                    if "output" in fields:
                        span.set_output(fields["output"])
            except Exception:  # noqa: BLE001 - the SDK must never raise: count it, go on
                traceback.print_exc()
                threw.append(case)
            client.flush()
            cases[case] = "reported" if sum(reported.values()) > reports_before else "logged"
    client.flush()
    emit(client, threw=threw, cases=cases)


SCENARIOS: dict[str, Callable[[], Any]] = {
    "nested_spans": nested_spans,
    "exception_recorded": exception_recorded,
    "concurrent_10k": concurrent_10k,
    "faults_then_recovery": faults_then_recovery,
    "server_down_at_start": server_down_at_start,
    "queue_overflow": queue_overflow,
    "short_lived_shutdown": short_lived_shutdown,
    "exit_without_shutdown": exit_without_shutdown,
    "invalid_values": invalid_values,
}


def main() -> int:
    """Runs the scenario named on the command line (coroutines under asyncio.run)."""
    play = SCENARIOS.get(SCENARIO)
    if play is None:
        print(json.dumps({"scenario": SCENARIO, "unsupported": True, "reason": f"unknown scenario {SCENARIO!r}"}))
        return 3
    try:
        if asyncio.iscoroutinefunction(play):
            asyncio.run(play())
        else:
            play()
    except Exception:  # noqa: BLE001 - any failure becomes an ok=false result line
        traceback.print_exc()
        print(json.dumps({"scenario": SCENARIO, "ok": False, "error": traceback.format_exc()}), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
