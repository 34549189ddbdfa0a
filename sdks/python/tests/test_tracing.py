"""Sessions, spans and @trace: what is recorded, and how nesting follows contextvars
through sync code, asyncio tasks, threads and (async) generators.

Events are captured by the fake server, exactly as they go over the wire.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import datetime as dt
import inspect
import logging
import threading
from typing import Any, AsyncGenerator, AsyncIterator, Callable, Dict, Generator, Iterator, List

import pytest

import agentlog
from agentlog import _client
from conftest import FakeServer, by_name

EVENT_FIELDS = {
    "id", "session_id", "parent_id", "type", "name", "agent", "started_at", "ended_at", "status",
    "input", "output", "error", "model", "provider", "usage", "cost_usd", "attributes", "tags",
}  # fmt: skip
SESSION_FIELDS = {"id", "name", "agent", "user_id", "tags", "metadata", "status", "started_at", "ended_at"}


class Recorder:
    def __init__(self, client: agentlog.AgentLog, fake: FakeServer) -> None:
        self.client = client
        self.fake = fake

    def events(self) -> List[Dict[str, Any]]:
        assert self.client.flush(10), self.client.stats()
        return self.fake.events()

    def named(self) -> Dict[str, Dict[str, Any]]:
        return by_name(self.events())

    def sessions(self) -> Dict[str, Dict[str, Any]]:
        """Session upserts merged per id in arrival order, as the server applies them."""
        assert self.client.flush(10)
        merged: Dict[str, Dict[str, Any]] = {}
        for s in self.fake.sessions():
            merged.setdefault(s["id"], {}).update(s)
        return merged


@pytest.fixture
def rec(fake: FakeServer, make_client: Callable[..., agentlog.AgentLog]) -> Recorder:
    client = make_client(fake.url, flush_interval=60)
    _client._set_default(client)
    return Recorder(client, fake)


# --------------------------------------------------------------------------- sync nesting


def test_session_with_nested_traced_calls(rec: Recorder) -> None:
    @agentlog.trace(type="tool")
    def search(query: str, limit: int = 3) -> List[str]:
        return [query] * limit

    @agentlog.trace(type="agent", name="planner")
    def plan(goal: str) -> str:
        search(goal, limit=2)
        with agentlog.span("step", "think", input={"goal": goal}) as sp:
            sp.set_output("done thinking")
        return "ok"

    with agentlog.session(name="run 1", agent="bot", user_id="u-1", tags=["a", "b"], metadata={"k": 1}) as s:
        assert agentlog.current_session_id() == s.id
        plan("find refunds")
    assert agentlog.current_session_id() is None

    ev = rec.named()
    assert set(ev) == {"planner", "search", "think"}
    assert all(e["session_id"] == s.id for e in ev.values())
    assert "parent_id" not in ev["planner"]
    assert ev["search"]["parent_id"] == ev["planner"]["id"]
    assert ev["think"]["parent_id"] == ev["planner"]["id"]
    assert ev["planner"]["type"] == "agent"
    assert ev["search"]["type"] == "tool"
    assert ev["think"]["type"] == "step"
    assert ev["planner"]["input"] == {"goal": "find refunds"}
    assert ev["planner"]["output"] == "ok"
    assert ev["search"]["input"] == {"query": "find refunds", "limit": 2}
    assert ev["search"]["output"] == ["find refunds", "find refunds"]
    assert ev["think"]["input"] == {"goal": "find refunds"}
    assert ev["think"]["output"] == "done thinking"
    assert all(e["agent"] == "bot" for e in ev.values())
    assert all(e["status"] == "ok" for e in ev.values())
    # Children end before (or when) their parent ends.
    assert ev["search"]["ended_at"] <= ev["planner"]["ended_at"]
    assert ev["planner"]["started_at"] <= ev["search"]["started_at"]
    for e in ev.values():
        assert set(e) <= EVENT_FIELDS
    sess = rec.sessions()[s.id]
    assert set(sess) <= SESSION_FIELDS
    assert sess["status"] == "success"
    assert sess["name"] == "run 1"
    assert sess["agent"] == "bot"
    assert sess["user_id"] == "u-1"
    assert sess["tags"] == ["a", "b"]
    assert sess["metadata"] == {"k": 1}
    assert sess["started_at"] <= sess["ended_at"]


def test_session_start_is_sent_while_running(rec: Recorder) -> None:
    with agentlog.session(name="live") as s:
        assert rec.client.flush(5)
        first = rec.fake.sessions()
        assert first == [
            {"id": s.id, "status": "running", "name": "live", "started_at": first[0]["started_at"]}
        ]
    assert rec.sessions()[s.id]["status"] == "success"


def test_exception_marks_span_and_session_failed(rec: Recorder) -> None:
    @agentlog.trace
    def explode() -> None:
        raise ValueError("kaput")

    with pytest.raises(ValueError, match="kaput"), agentlog.session(name="bad") as s:
        explode()
    ev = rec.events()
    assert len(ev) == 1, "the span recorded the error: no extra error event"
    e = ev[0]
    assert e["status"] == "error"
    assert e["error"]["type"] == "ValueError"
    assert e["error"]["message"] == "kaput"
    assert "explode" in e["error"]["stack"]
    assert rec.sessions()[s.id]["status"] == "failure"


def test_exception_outside_spans_is_recorded_as_an_error_event(rec: Recorder) -> None:
    with pytest.raises(KeyError), agentlog.session(name="bad") as s:
        raise KeyError("nope")
    (e,) = rec.events()
    assert e["type"] == "error"
    assert e["name"] == "KeyError"
    assert e["status"] == "error"
    assert e["error"]["message"] == "'nope'"
    assert e["session_id"] == s.id
    assert rec.sessions()[s.id]["status"] == "failure"


def test_keyboard_interrupt_cancels_session(rec: Recorder) -> None:
    with pytest.raises(KeyboardInterrupt), agentlog.session() as s:
        raise KeyboardInterrupt
    assert rec.sessions()[s.id]["status"] == "cancelled"


def test_set_status_overrides_and_system_exit_zero_is_success(rec: Recorder) -> None:
    with agentlog.session() as s1:
        s1.set_status("failure")
    with pytest.raises(SystemExit), agentlog.session() as s2:
        raise SystemExit(0)
    sessions = rec.sessions()
    assert sessions[s1.id]["status"] == "failure"
    assert sessions[s2.id]["status"] == "success"


def test_session_id_continues_a_conversation(rec: Recorder) -> None:
    for turn in range(2):
        with agentlog.session(id="conv-42", name="chat"):
            agentlog.log(f"turn {turn}")
    ev = rec.events()
    assert [e["session_id"] for e in ev] == ["conv-42", "conv-42"]
    assert rec.sessions()["conv-42"]["status"] == "success"


def test_session_metadata_and_tags_updates_are_sent_on_exit(rec: Recorder) -> None:
    with agentlog.session(metadata={"a": 1}) as s:
        s.set_metadata("b", dt.date(2026, 1, 1))
        s.add_tags("late")
    sess = rec.sessions()[s.id]
    assert sess["metadata"] == {"a": 1, "b": "2026-01-01"}
    assert sess["tags"] == ["late"]


def test_root_span_without_session_starts_and_ends_its_own(rec: Recorder) -> None:
    @agentlog.trace(type="agent")
    def job() -> int:
        agentlog.log("inside")
        return 1

    @agentlog.trace(type="agent")
    def failing_job() -> None:
        raise RuntimeError("x")

    job()
    with pytest.raises(RuntimeError):
        failing_job()
    ev = rec.named()
    root = ev["job"]
    assert root["session_id"] == root["id"]
    assert ev["inside"]["session_id"] == root["id"]
    assert ev["inside"]["parent_id"] == root["id"]
    sessions = rec.sessions()
    assert sessions[root["id"]]["status"] == "success"
    assert sessions[root["id"]]["name"] == "job"
    assert sessions[root["id"]]["started_at"] == root["started_at"]
    assert sessions[root["id"]]["ended_at"] == root["ended_at"]
    assert sessions[ev["failing_job"]["id"]]["status"] == "failure"


def test_span_end_without_with(rec: Recorder) -> None:
    with agentlog.session() as s:
        sp = agentlog.span("tool", "manual")
        sp.set_output(1)
        sp.end()
        sp.end()  # idempotent
        sp.set_output(2)  # ignored after end
    (e,) = rec.events()
    assert e["output"] == 1
    assert e["session_id"] == s.id


# --------------------------------------------------------------------------- asyncio


def test_asyncio_tasks_nest_under_their_creator(rec: Recorder) -> None:
    @agentlog.trace(type="step")
    async def leaf(tag: str) -> str:
        await asyncio.sleep(0.01)
        return tag

    @agentlog.trace(type="agent")
    async def worker(tag: str) -> str:
        # Interleaves with the other worker at every await.
        await leaf(tag + "-1")
        await asyncio.sleep(0)
        await leaf(tag + "-2")
        return tag

    @agentlog.trace(type="agent")
    async def main() -> List[str]:
        return list(await asyncio.gather(worker("a"), worker("b")))

    async def run() -> str:
        async with agentlog.session(name="async") as s:
            assert await main() == ["a", "b"]
        return s.id

    sid = asyncio.run(run())
    ev = rec.events()
    assert len(ev) == 7
    main_ev = next(e for e in ev if e["name"] == "main")
    workers = {e["input"]["tag"]: e for e in ev if e["name"] == "worker"}
    leaves = [e for e in ev if e["name"] == "leaf"]
    assert all(e["session_id"] == sid for e in ev)
    assert workers["a"]["parent_id"] == main_ev["id"]
    assert workers["b"]["parent_id"] == main_ev["id"]
    for leaf_ev in leaves:
        owner = leaf_ev["input"]["tag"][0]
        assert leaf_ev["parent_id"] == workers[owner]["id"], leaf_ev
    assert rec.sessions()[sid]["status"] == "success"


def test_task_cancellation_marks_span_error_and_session_cancelled(rec: Recorder) -> None:
    @agentlog.trace
    async def slow() -> None:
        await asyncio.sleep(10)

    async def run() -> str:
        sess = agentlog.session()

        async def body() -> None:
            async with sess:
                await slow()

        task = asyncio.ensure_future(body())
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return sess.id

    sid = asyncio.run(run())
    (e,) = rec.events()
    assert e["status"] == "error"
    assert e["error"]["type"] == "CancelledError"
    assert rec.sessions()[sid]["status"] == "cancelled"


def test_async_span_context_manager(rec: Recorder) -> None:
    async def run() -> None:
        async with agentlog.session(), agentlog.span("retrieval", "fetch") as sp:
            await asyncio.sleep(0)
            sp.set_output({"docs": 2})

    asyncio.run(run())
    (e,) = rec.events()
    assert e["type"] == "retrieval"
    assert e["output"] == {"docs": 2}


# --------------------------------------------------------------------------- threads


def test_threads_nest_with_copy_context(rec: Recorder) -> None:
    @agentlog.trace
    def in_thread(i: int) -> int:
        return i

    with agentlog.session() as s, agentlog.span("agent", "parent") as parent:
        threads = []
        for i in range(4):
            ctx = contextvars.copy_context()
            t = threading.Thread(target=ctx.run, args=(in_thread, i))
            threads.append(t)
            t.start()
        for t in threads:
            t.join()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(contextvars.copy_context().run, in_thread, 10 + i) for i in range(3)]
            assert [f.result() for f in futures] == [10, 11, 12]
    ev = rec.events()
    children = [e for e in ev if e["name"] == "test_threads_nest_with_copy_context.in_thread"
                or e["name"] == "in_thread"]  # fmt: skip
    assert len(children) == 7
    for e in children:
        assert e["parent_id"] == parent.id
        assert e["session_id"] == s.id


def test_thread_without_copied_context_is_a_separate_root(rec: Recorder) -> None:
    @agentlog.trace
    def in_thread() -> None:
        pass

    with agentlog.session() as s:
        t = threading.Thread(target=in_thread)
        t.start()
        t.join()
    (e,) = rec.events()
    assert e["session_id"] != s.id
    assert e["session_id"] == e["id"]
    assert "parent_id" not in e


def test_many_threads_record_concurrently_without_loss(rec: Recorder) -> None:
    @agentlog.trace
    def op(i: int) -> int:
        return i

    def work(base: int) -> None:
        for i in range(500):
            op(base + i)

    with agentlog.session() as s:
        threads = [
            threading.Thread(target=contextvars.copy_context().run, args=(work, k * 1000)) for k in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    ev = rec.events()
    assert len(ev) == 2000
    assert len({e["id"] for e in ev}) == 2000
    assert sorted(e["input"]["i"] for e in ev) == sorted(k * 1000 + i for k in range(4) for i in range(500))
    assert all(e["session_id"] == s.id for e in ev)
    st = rec.client.stats()
    assert st["dropped"] == 0
    assert st["delivered"] == st["enqueued"] == 2002


# --------------------------------------------------------------------------- generators


def test_generator_is_one_span_from_first_step_to_exhaustion(rec: Recorder) -> None:
    @agentlog.trace(type="tool")
    def inner(i: int) -> int:
        return i

    @agentlog.trace(type="retrieval")
    def stream(n: int) -> Iterator[int]:
        for i in range(n):
            yield inner(i)

    @agentlog.trace(type="step")
    def consume(item: int) -> int:
        return item

    with agentlog.session(), agentlog.span("agent", "outer") as outer:
        for item in stream(3):
            consume(item)  # runs in the consumer's scope, between the generator's steps
    ev = rec.events()
    gen = next(e for e in ev if e["name"] == "stream")
    inners = [e for e in ev if e["name"] == "inner"]
    consumers = [e for e in ev if e["name"] == "consume"]
    assert gen["output"] == [0, 1, 2]
    assert gen["input"] == {"n": 3}
    assert gen["parent_id"] == outer.id
    assert len(inners) == 3
    assert all(e["parent_id"] == gen["id"] for e in inners)
    assert len(consumers) == 3
    assert all(e["parent_id"] == outer.id for e in consumers)
    assert gen["ended_at"] >= max(e["ended_at"] for e in inners)


def test_generator_send_throw_and_return_value_are_preserved(rec: Recorder) -> None:
    @agentlog.trace
    def echo() -> Generator[str, Any, str]:
        received = yield "ready"
        while True:
            try:
                received = yield f"got {received}"
            except ValueError as e:
                received = yield f"handled {e}"
            if received == "stop":
                return "finished"

    with agentlog.session():
        g = echo()
        assert next(g) == "ready"
        assert g.send("a") == "got a"
        assert g.throw(ValueError("v")) == "handled v"
        with pytest.raises(StopIteration) as stop:
            g.send("stop")
        assert stop.value.value == "finished"
    (e,) = rec.events()
    assert e["status"] == "ok"
    assert e["output"] == {"yielded": ["ready", "got a", "handled v"], "returned": "finished"}


def test_generator_closed_early_ends_its_span_and_runs_cleanup(rec: Recorder) -> None:
    cleaned = []

    @agentlog.trace
    def numbers() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            cleaned.append(True)

    with agentlog.session():
        for n in numbers():
            if n == 2:
                break
    assert cleaned == [True]
    (e,) = rec.events()
    assert e["status"] == "ok"
    assert e["output"] == [0, 1, 2]


def test_generator_error_is_recorded_and_raised(rec: Recorder) -> None:
    @agentlog.trace
    def broken() -> Iterator[int]:
        yield 1
        raise RuntimeError("mid-stream")

    with agentlog.session(), pytest.raises(RuntimeError, match="mid-stream"):
        list(broken())
    (e,) = rec.events()
    assert e["status"] == "error"
    assert e["error"]["message"] == "mid-stream"
    assert e["output"] == [1], "what it yielded before failing"


def test_async_generator_traced_with_nesting_and_aclose(rec: Recorder) -> None:
    @agentlog.trace(type="tool")
    async def fetch(i: int) -> int:
        await asyncio.sleep(0)
        return i * 10

    @agentlog.trace(type="llm")
    async def tokens(n: int) -> AsyncGenerator[int, None]:
        for i in range(n):
            yield await fetch(i)

    @agentlog.trace(type="step")
    async def handle(x: int) -> int:
        return x

    async def run() -> None:
        async with agentlog.session():
            async for t in tokens(3):
                await handle(t)
            partial = tokens(10)
            assert await partial.__anext__() == 0
            await partial.aclose()

    asyncio.run(run())
    ev = rec.events()
    gens = [e for e in ev if e["name"] == "tokens"]
    assert len(gens) == 2
    full = next(g for g in gens if g["input"] == {"n": 3})
    part = next(g for g in gens if g["input"] == {"n": 10})
    assert full["output"] == [0, 10, 20]
    assert part["output"] == [0]
    assert part["status"] == "ok"
    fetches = [e for e in ev if e["name"] == "fetch"]
    assert sum(1 for e in fetches if e["parent_id"] == full["id"]) == 3
    assert sum(1 for e in fetches if e["parent_id"] == part["id"]) == 1
    handles = [e for e in ev if e["name"] == "handle"]
    assert len(handles) == 3
    assert all("parent_id" not in e for e in handles)


def test_async_generator_asend_athrow_and_error(rec: Recorder) -> None:
    @agentlog.trace
    async def agen() -> AsyncGenerator[str, Any]:
        got = yield "first"
        try:
            yield f"got {got}"
        except KeyError:
            yield "caught"
        raise RuntimeError("end")

    async def run() -> None:
        async with agentlog.session():
            g = agen()
            assert await g.asend(None) == "first"
            assert await g.asend("x") == "got x"
            assert await g.athrow(KeyError("k")) == "caught"
            with pytest.raises(RuntimeError, match="end"):
                await g.__anext__()

    asyncio.run(run())
    (e,) = rec.events()
    assert e["status"] == "error"
    assert e["error"]["type"] == "RuntimeError"
    assert e["output"] == ["first", "got x", "caught"]


# --------------------------------------------------------------------------- the decorator


def test_wrappers_keep_function_identity() -> None:
    def f(a: int) -> int:
        """Doc."""
        return a

    async def af() -> None:
        pass

    def g() -> Iterator[int]:
        yield 1

    async def ag() -> AsyncIterator[int]:
        yield 1

    tf = agentlog.trace(f)
    assert tf.__name__ == "f"
    assert tf.__doc__ == "Doc."
    assert tf.__wrapped__ is f  # type: ignore[attr-defined]
    assert inspect.signature(tf) == inspect.signature(f)
    assert inspect.iscoroutinefunction(agentlog.trace(af))
    assert inspect.isgeneratorfunction(agentlog.trace(g))
    assert inspect.isasyncgenfunction(agentlog.trace(ag))


def test_methods_classmethods_and_staticmethods(rec: Recorder) -> None:
    class Agent:
        def __init__(self) -> None:
            self.secret = "not captured"

        @agentlog.trace(type="agent")
        def act(self, goal: str) -> str:
            return goal.upper()

        @agentlog.trace
        @classmethod
        def make(cls, n: int) -> int:
            return n

        @agentlog.trace
        @staticmethod
        def util(x: int) -> int:
            return x + 1

    with agentlog.session():
        assert Agent().act("go") == "GO"
        assert Agent.make(3) == 3
        assert Agent.util(1) == 2
    ev = rec.events()
    names = sorted(e["name"] for e in ev)
    assert names == sorted([
        "test_methods_classmethods_and_staticmethods.<locals>.Agent.act",
        "test_methods_classmethods_and_staticmethods.<locals>.Agent.make",
        "test_methods_classmethods_and_staticmethods.<locals>.Agent.util",
    ]) or names == ["Agent.act", "Agent.make", "Agent.util"]  # fmt: skip
    by = {e["name"].rsplit(".", 1)[-1]: e for e in ev}
    assert by["act"]["input"] == {"goal": "go"}
    assert by["make"]["input"] == {"n": 3}
    assert by["util"]["input"] == {"x": 1}


def test_decorator_options(rec: Recorder) -> None:
    @agentlog.trace
    def default_type() -> None:
        pass

    @agentlog.trace(type="llm", name="chat", capture_input=False, capture_output=False)
    def secret(prompt: str) -> str:
        return "answer"

    @agentlog.trace
    def var(a: int, *rest: int, flag: bool = False, **extra: Any) -> None:
        pass

    with agentlog.session():
        default_type()
        assert secret("password") == "answer"
        var(1, 2, 3, flag=True, z=9)
        var(a=5)
    ev = rec.events()
    d = next(e for e in ev if e["name"].endswith("default_type"))
    assert d["type"] == "tool"
    assert "input" not in d and "output" not in d
    s = next(e for e in ev if e["name"] == "chat")
    assert s["type"] == "llm"
    assert "input" not in s and "output" not in s
    v = [e["input"] for e in ev if e["name"].endswith("var")]
    assert v == [{"a": 1, "rest": [2, 3], "flag": True, "extra": {"z": 9}}, {"a": 5}]


def test_trace_passes_through_values_it_cannot_serialize(rec: Recorder) -> None:
    class Opaque:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    obj = Opaque()

    @agentlog.trace
    def ident(x: Any) -> Any:
        return x

    with agentlog.session():
        assert ident(obj) is obj
    (e,) = rec.events()
    assert e["input"] == {"x": "<unrepresentable Opaque>"}
    assert e["output"] == "<unrepresentable Opaque>"


def test_unknown_type_is_sent_as_custom_with_one_warning(
    rec: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="agentlog"):
        with agentlog.session():
            agentlog.span("bogus-type", "a").end()  # type: ignore[arg-type]
            agentlog.span("bogus-type", "b").end()  # type: ignore[arg-type]
    assert [e["type"] for e in rec.events()] == ["custom", "custom"]
    assert sum("bogus-type" in r.getMessage() for r in caplog.records) == 1


def test_client_trace_routes_root_spans_to_that_client(
    rec: Recorder, make_client: Callable[..., agentlog.AgentLog]
) -> None:
    other_fake = FakeServer()
    try:
        other = make_client(other_fake.url, flush_interval=60)

        @other.trace(type="tool")
        def via_other() -> None:
            agentlog.log("nested follows its scope")

        via_other()
        assert other.flush(5)
        assert {e["name"] for e in other_fake.events()} == {"via_other", "nested follows its scope"}
        assert rec.events() == []
    finally:
        other_fake.close()


# --------------------------------------------------------------------------- span, log, llm


def test_span_setters_fill_every_wire_field(rec: Recorder) -> None:
    with agentlog.session(agent="default-agent"), agentlog.span(
        "llm", "chat", agent="special", model="gpt-4o", provider="openai",
        attributes={"temperature": 0.2}, tags=["t1"], input=[{"role": "user", "content": "hi"}],
    ) as sp:  # fmt: skip
        sp.set_output({"role": "assistant", "content": "hello"})
        sp.set_usage({"prompt_tokens": 10, "completion_tokens": 5, "junk": 1})
        sp.set_usage(cached_tokens=2)
        sp.set_cost(0.0015)
        sp.set_attribute("seed", 7)
        sp.set_attributes({"top_p": 1.0})
        sp.add_tags("t2")
        sp.set_error("soft failure")
    (e,) = rec.events()
    assert set(e) == EVENT_FIELDS - {"parent_id"}
    assert e["agent"] == "special"
    assert e["model"] == "gpt-4o"
    assert e["provider"] == "openai"
    assert e["usage"] == {"input_tokens": 10, "output_tokens": 5, "cached_tokens": 2}
    assert e["cost_usd"] == 0.0015
    assert e["attributes"] == {"temperature": 0.2, "seed": 7, "top_p": 1.0}
    assert e["tags"] == ["t1", "t2"]
    assert e["status"] == "error"
    assert e["error"] == {"message": "soft failure"}
    assert e["input"] == [{"role": "user", "content": "hi"}]


def test_log_events(rec: Recorder) -> None:
    with agentlog.session():
        agentlog.log("plain message")
        agentlog.log("with data", level="debug", data={"n": 1}, tags=["x"])
        agentlog.log("it broke", level="error")
        agentlog.log("m" * 500)
    ev = rec.events()
    assert [e["type"] for e in ev] == ["log"] * 4
    assert ev[0]["name"] == "plain message"
    assert ev[0]["output"] == "plain message"
    assert ev[0]["attributes"] == {"level": "info"}
    assert ev[0]["status"] == "ok"
    assert ev[1]["output"] == {"message": "with data", "data": {"n": 1}}
    assert ev[1]["tags"] == ["x"]
    assert ev[2]["status"] == "error"
    assert ev[2]["error"]["message"] == "it broke"
    assert ev[3]["name"].startswith("m" * 200)
    assert len(ev[3]["name"]) < 300
    assert ev[3]["output"] == "m" * 500


def test_llm_events(rec: Recorder) -> None:
    class UsageObj:  # like a provider SDK's usage object
        def model_dump(self, mode: str = "python") -> Dict[str, int]:
            return {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}

    t0 = dt.datetime(2026, 11, 25, 10, 0, 0, tzinfo=dt.timezone.utc)
    with agentlog.session():
        agentlog.llm(model="m1", provider="p", input="q", output="a",
                     usage={"input_tokens": 100, "output_tokens": 20}, cost_usd=0.01)  # fmt: skip
        agentlog.llm(model="m2", usage=UsageObj(), started_at=t0, ended_at=t0 + dt.timedelta(seconds=2))
        agentlog.llm(model="m3", usage={"input_tokens": -1, "output_tokens": 2.0, "total_tokens": True},
                     cost_usd=float("nan"), error=TimeoutError("slow"))  # fmt: skip
        agentlog.llm(name="named", started_at=1_795_600_800.0, ended_at=1_795_600_799.0)
    ev = rec.named()
    assert ev["m1"]["type"] == "llm"
    assert ev["m1"]["usage"] == {"input_tokens": 100, "output_tokens": 20}
    assert ev["m1"]["cost_usd"] == 0.01
    assert ev["m1"]["input"] == "q" and ev["m1"]["output"] == "a"
    assert ev["m2"]["usage"] == {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}
    assert ev["m2"]["started_at"] == "2026-11-25T10:00:00.000000Z"
    assert ev["m2"]["ended_at"] == "2026-11-25T10:00:02.000000Z"
    assert ev["m3"]["usage"] == {"output_tokens": 2}
    assert "cost_usd" not in ev["m3"]
    assert ev["m3"]["status"] == "error"
    assert ev["m3"]["error"]["type"] == "TimeoutError"
    # ended_at before started_at is clamped, so the server does not reject the event.
    assert ev["named"]["ended_at"] == ev["named"]["started_at"] == "2026-11-25T10:00:00.000000Z"


def test_current_span_follows_the_scope(rec: Recorder) -> None:
    assert agentlog.current_span() is None

    @agentlog.trace
    def f() -> None:
        sp = agentlog.current_span()
        assert sp is not None
        sp.set_attribute("from_inside", True)

    with agentlog.session():
        assert agentlog.current_span() is None
        f()
    (e,) = rec.events()
    assert e["attributes"] == {"from_inside": True}


def test_disabled_client_runs_code_and_sends_nothing(
    fake: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="agentlog"):
        client = agentlog.AgentLog(url=fake.url)  # no key in the environment either
    try:
        assert not client.enabled
        assert any("no API key" in r.getMessage() for r in caplog.records)

        @client.trace
        def work() -> int:
            return 41 + 1

        with client.session():
            assert work() == 42
        assert client.flush(1)
        assert fake.requests == []
        assert client.stats()["enqueued"] == 0
    finally:
        client.shutdown(1)


def test_env_configures_the_default_client(fake: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTLOG_URL", fake.url)
    monkeypatch.setenv("AGENTLOG_API_KEY", "env-key")
    agentlog.log("via env")
    assert agentlog.flush(5)
    (req,) = fake.requests
    assert req.headers["authorization"] == "Bearer env-key"
    assert req.events[0]["name"] == "via env"
    assert agentlog.shutdown(2)


def test_init_replaces_and_flushes_the_previous_default(fake: FakeServer) -> None:
    first = agentlog.init(url=fake.url, api_key="k1", flush_interval=60)
    agentlog.log("to first")
    second = agentlog.init(url=fake.url, api_key="k2", flush_interval=60)
    assert agentlog.get_client() is second
    assert first.stats()["delivered"] == 1  # the event (its implicit session travels with it)
    agentlog.log("to second")
    assert agentlog.flush(5)
    auth = [r.headers["authorization"] for r in fake.requests]
    assert auth == ["Bearer k1", "Bearer k2"]
    second.shutdown(2)


def test_explicit_session_id_records_without_entering_the_session(rec: Recorder) -> None:
    agentlog.log("outside", session_id="ext-1")
    with agentlog.span("tool", "root-in-ext", session_id="ext-1") as sp:
        agentlog.log("nested in ext")  # follows the span: same session, nested
        agentlog.llm(model="m", session_id="ext-1")  # same session as the span: still nested
        agentlog.log("elsewhere", session_id="ext-2")  # another session: no parent
    with agentlog.session(id="ambient") as s:
        agentlog.log("redirected", session_id="ext-1")
    ev = rec.named()
    assert ev["outside"]["session_id"] == "ext-1"
    assert "parent_id" not in ev["outside"]
    assert ev["root-in-ext"]["session_id"] == "ext-1"
    assert "parent_id" not in ev["root-in-ext"]
    assert ev["nested in ext"]["parent_id"] == sp.id
    assert ev["m"]["parent_id"] == sp.id
    assert ev["m"]["session_id"] == "ext-1"
    assert ev["elsewhere"]["session_id"] == "ext-2"
    assert "parent_id" not in ev["elsewhere"]
    assert ev["redirected"]["session_id"] == "ext-1"
    assert "parent_id" not in ev["redirected"]
    # Only the session that was entered is upserted; explicit ids are left to the server.
    assert set(rec.sessions()) == {s.id}


def test_tags_follow_the_server_limits(rec: Recorder) -> None:
    with agentlog.session(tags=[f"s{i}" for i in range(150)]) as s, agentlog.span("step", "t") as sp:
        sp.add_tags(*[f"t{i}" for i in range(150)], "x" * 300)
        s.add_tags("late")
    (e,) = rec.events()
    assert e["tags"] == [f"t{i}" for i in range(100)]
    sess = rec.sessions()[s.id]
    assert len(sess["tags"]) == 100
    assert sess["tags"][-1] == "s99"
    sp2 = agentlog.span("step", "long tag")
    sp2.add_tags("é" * 200)
    assert len(sp2.tags[0].encode()) <= 256  # type: ignore[index]


def test_callables_without_a_signature_and_bad_calls(rec: Recorder) -> None:
    traced_max = agentlog.trace(max)  # a builtin: inspect.signature fails

    def add(a: int, b: int = 2) -> int:
        return a + b

    traced_f: Callable[..., int] = agentlog.trace(add)

    with agentlog.session():
        assert traced_max(3, 9) == 9
        with pytest.raises(TypeError):
            traced_f(1, 2, 3)  # wrong arity: recorded as it was called, then raised
    ev = rec.events()
    assert ev[0]["input"] == {"args": [3, 9], "kwargs": {}}
    assert ev[0]["output"] == 9
    assert ev[1]["input"] == {"args": [1, 2, 3], "kwargs": {}}
    assert ev[1]["status"] == "error"
    assert ev[1]["error"]["type"] == "TypeError"
