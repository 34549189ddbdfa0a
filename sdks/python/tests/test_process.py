"""Process life cycle: delivery at interpreter exit, fork safety, multiprocessing."""

from __future__ import annotations

import multiprocessing
import os
import textwrap
import threading
import time
import warnings
from typing import Callable

import pytest

import agentlog
from agentlog import _client
from conftest import FakeServer, free_port, run_python

MakeClient = Callable[..., agentlog.AgentLog]
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@needs_fork
def test_forked_child_records_in_inherited_scope_without_resending_parent_events(
    fake: FakeServer, make_client: MakeClient
) -> None:
    client = make_client(fake.url, flush_interval=60)
    _client._set_default(client)
    # Another thread holds the client's lock while we fork: the child must not inherit
    # a lock that nobody will ever release.
    holding = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        with client._lock:
            holding.set()
            release.wait(10)

    with agentlog.session(name="forky") as s, agentlog.span("agent", "parent") as parent:
        for i in range(3):
            agentlog.log(f"parent-{i}")  # queued, not yet sent (interval is a minute)
        holder = threading.Thread(target=hold_lock)
        holder.start()
        holding.wait(5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
            pid = os.fork()
        if pid == 0:  # child
            code = 1
            try:
                agentlog.log("child-1")
                code = 0 if client.flush(5) and client.stats()["delivered"] == 1 else 2
            finally:
                os._exit(code)
        release.set()
        holder.join()
        assert wait_child(pid, timeout=15) == 0
    assert client.flush(5)
    events = fake.events()
    names = sorted(e["name"] for e in events)
    assert names == ["child-1", "parent", "parent-0", "parent-1", "parent-2"], "each event exactly once"
    child = next(e for e in events if e["name"] == "child-1")
    assert child["parent_id"] == parent.id
    assert child["session_id"] == s.id


@needs_fork
def test_multiprocessing_fork_child_delivers_at_its_exit(fake: FakeServer, make_client: MakeClient) -> None:
    client = make_client(fake.url, flush_interval=60)
    _client._set_default(client)

    @agentlog.trace(type="tool")
    def child_work(n: int) -> int:
        agentlog.log(f"child log {n}")
        return n * 2

    ctx = multiprocessing.get_context("fork")
    with agentlog.session(name="mp") as s, agentlog.span("agent", "parent") as parent:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            procs = [ctx.Process(target=child_work, args=(i,)) for i in range(2)]
            for p in procs:
                p.start()
        for p in procs:
            p.join(20)
            assert p.exitcode == 0
    # The children exited through os._exit; their events arrived anyway.
    assert client.flush(5)
    events = fake.events()
    work = [e for e in events if e["name"].endswith("child_work")]
    logs = [e for e in events if e["name"].startswith("child log")]
    assert sorted(e["output"] for e in work) == [0, 2]
    assert all(e["parent_id"] == parent.id and e["session_id"] == s.id for e in work)
    assert sorted(e["name"] for e in logs) == ["child log 0", "child log 1"]
    assert {e["parent_id"] for e in logs} == {e["id"] for e in work}


def wait_child(pid: int, timeout: float) -> int:
    """The exit code of a forked child; kills it and fails if it hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError(f"forked child hung for {timeout}s (a lock inherited from the parent?)")


def script(fake_url: str, body: str, **client_kw: object) -> str:
    kw = ", ".join(f"{k}={v!r}" for k, v in client_kw.items())
    return textwrap.dedent(
        f"""
        import agentlog, sys
        agentlog.init(url={fake_url!r}, api_key="k", flush_interval=60{", " + kw if kw else ""})
        """
    ) + textwrap.dedent(body)


def test_exit_delivers_what_is_buffered(fake: FakeServer) -> None:
    code = script(fake.url, """
        @agentlog.trace(type="tool")
        def step(i):
            return i

        with agentlog.session(name="short-lived", agent="cli") as s:
            for i in range(5):
                step(i)
        print(s.id)
        # no flush: the atexit hook delivers
    """)  # fmt: skip
    p = run_python(code)
    assert p.returncode == 0, p.stderr
    sid = p.stdout.strip()
    events = fake.events()
    assert sorted(e["input"]["i"] for e in events) == [0, 1, 2, 3, 4]
    assert all(e["session_id"] == sid for e in events)
    sessions = [x for x in fake.sessions() if x["id"] == sid]
    assert sessions[-1]["status"] == "success"


def test_unhandled_exception_is_recorded_and_delivered_at_exit(fake: FakeServer) -> None:
    code = script(fake.url, """
        with agentlog.session(name="crash") as s:
            print(s.id, flush=True)
            raise RuntimeError("agent crashed")
    """)  # fmt: skip
    p = run_python(code)
    assert p.returncode == 1
    assert "agent crashed" in p.stderr
    sid = p.stdout.strip()
    (err,) = fake.events()
    assert err["type"] == "error"
    assert err["error"]["message"] == "agent crashed"
    assert err["session_id"] == sid
    assert fake.sessions()[-1] == {**fake.sessions()[-1], "id": sid, "status": "failure"}


def test_sys_exit_inside_a_session(fake: FakeServer) -> None:
    code = script(fake.url, """
        with agentlog.session(name="exit 3") as s:
            agentlog.log("bye")
            sys.exit(3)
    """)  # fmt: skip
    p = run_python(code)
    assert p.returncode == 3
    bye, exit_event = fake.events()
    assert bye["name"] == "bye"
    assert exit_event["type"] == "error"
    assert exit_event["error"]["type"] == "SystemExit"
    assert exit_event["error"]["message"] == "3"
    assert fake.sessions()[-1]["status"] == "failure"


def test_exit_is_bounded_when_the_server_is_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code = script(url, """
        for i in range(100):
            agentlog.log(f"lost {i}")
    """, shutdown_timeout=1.0, backoff_base=0.5)  # fmt: skip
    t0 = time.monotonic()
    p = run_python(code, timeout=30)
    elapsed = time.monotonic() - t0
    assert p.returncode == 0, p.stderr
    assert elapsed < 6, f"exit took {elapsed:.1f}s"
    assert "undelivered at shutdown" in p.stderr


def test_import_is_cheap_and_starts_no_thread() -> None:
    p = run_python(
        "import threading, time; t0 = time.perf_counter(); import agentlog; "
        "print(time.perf_counter() - t0, threading.active_count())"
    )
    assert p.returncode == 0, p.stderr
    seconds, threads = p.stdout.split()
    assert int(threads) == 1
    assert float(seconds) < 1.0
    p2 = run_python("import sys, agentlog; print('asyncio' in sys.modules)")
    assert p2.stdout.strip() == "False"
