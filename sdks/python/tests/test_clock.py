"""Event times: one monotonic clock anchored to wall time, so nesting is exact."""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable

import pytest

import agentlog
from agentlog import _clock
from conftest import FakeServer


def test_now_is_wall_time() -> None:
    assert abs(_clock.now_ns() - time.time_ns()) < 100_000_000


def test_children_start_and_end_within_their_parents_to_the_microsecond(
    fake: FakeServer, make_client: Callable[..., agentlog.AgentLog]
) -> None:
    # A span used to read the wall clock for its start and the monotonic clock for its
    # duration: a thread switch between the two reads shifted the span, and a child
    # recorded just before its parent ended appeared to end after it. Frequent thread
    # switches and a busy thread make such switches likely here.
    client = make_client(fake.url, flush_interval=60, max_queue_size=100_000)
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            sum(range(100))

    spinner = threading.Thread(target=busy)
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    spinner.start()
    try:
        with client.session():
            for _ in range(3000):
                with client.span("step", "parent"):
                    client.log("child")
    finally:
        stop.set()
        spinner.join()
        sys.setswitchinterval(old_interval)
    assert client.flush(20)
    events = fake.events()
    by_id = {e["id"]: e for e in events}
    checked = 0
    for e in events:
        parent = by_id.get(e.get("parent_id", ""))
        if parent is None:
            continue
        assert e["started_at"] >= parent["started_at"], (e, parent)
        assert e["ended_at"] <= parent["ended_at"], (e, parent)
        checked += 1
    assert checked == 3000


def test_resync_moves_the_anchor_only_after_real_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    before = _clock.offset
    assert _clock.resync() is False
    assert _clock.offset == before
    real = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real() + 2_000_000_000)  # a clock step
    try:
        assert _clock.resync() is True
        assert abs(_clock.offset - before - 2_000_000_000) < 50_000_000
        assert _clock.resync() is False
    finally:
        monkeypatch.undo()
        _clock.resync()
    assert abs(_clock.offset - before) < 50_000_000
