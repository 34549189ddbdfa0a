"""Client-side ids: valid UUIDv7, unique, time-ordered, fork-safe; long user ids mapped stably."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from agentlog._ids import MAX_ID_BYTES, format_uuid7, new_id, normalize_id


def test_new_id_is_a_uuid7_with_the_current_time() -> None:
    before = time.time_ns() // 1_000_000
    s = new_id()
    after = time.time_ns() // 1_000_000
    u = uuid.UUID(s)
    assert str(u) == s
    assert u.version == 7
    assert u.variant == uuid.RFC_4122
    assert before <= int(s.replace("-", "")[:12], 16) <= after


def test_ids_are_unique() -> None:
    ids = {new_id() for _ in range(50_000)}
    assert len(ids) == 50_000


def test_format_uuid7_layout() -> None:
    assert format_uuid7(0x0123_4567_89AB, (1 << 74) - 1) == "01234567-89ab-7fff-bfff-ffffffffffff"
    assert format_uuid7(0, 0) == "00000000-0000-7000-8000-000000000000"


def test_user_seeding_random_does_not_repeat_ids() -> None:
    import random

    random.seed(1)
    a = new_id()
    random.seed(1)
    b = new_id()
    assert a != b


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_draws_different_ids() -> None:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.write(w, new_id().encode())
        finally:
            os._exit(0)
    os.close(w)
    child_id = os.read(r, 100).decode()
    os.close(r)
    os.waitpid(pid, 0)
    parent_id = new_id()
    # Same millisecond is possible; the random part must differ.
    assert child_id[15:] != parent_id[15:]


def test_normalize_id_keeps_short_ids_and_shortens_long_ones_stably() -> None:
    assert normalize_id("conv-42") == "conv-42"
    assert normalize_id(42) == "42"
    long = "x" * 500
    a = normalize_id(long)
    assert a == normalize_id(long)
    assert len(a.encode()) <= MAX_ID_BYTES
    assert a != normalize_id("x" * 499)
    multibyte = "日" * 100  # 300 bytes
    assert len(normalize_id(multibyte).encode()) <= MAX_ID_BYTES
    assert normalize_id("é" * 64) == "é" * 64  # exactly 128 bytes is allowed
    assert uuid.UUID(normalize_id("")).version == 7
