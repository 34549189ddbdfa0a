"""Client-side ids: UUIDv7 strings, so a retried batch carries the same ids and the
server's idempotent ingest never duplicates an event."""

from __future__ import annotations

import hashlib
import os
import random
import time

# A private generator: user code calling random.seed() must not make our ids repeat.
# random.Random seeds itself from os.urandom; it is reseeded in forked children below.
_rng = random.Random()
_getrandbits = _rng.getrandbits

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_rng.seed)

MAX_ID_BYTES = 128


def new_id() -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, 74 random bits."""
    return format_uuid7(time.time_ns() // 1_000_000, _getrandbits(74))


def random74() -> int:
    return _getrandbits(74)


def format_uuid7(ms: int, r: int) -> str:
    """The UUIDv7 string of a millisecond timestamp and 74 random bits: 48-bit time,
    version 7, 12 random bits, variant 0b10, 62 random bits."""
    return "%08x-%04x-7%03x-%04x-%012x" % (  # noqa: UP031 - the fastest spelling here
        (ms >> 16) & 0xFFFF_FFFF,
        ms & 0xFFFF,
        r >> 62,
        0x8000 | ((r >> 48) & 0x3FFF),
        r & 0xFFFF_FFFF_FFFF,
    )


def normalize_id(value: object) -> str:
    """A user-given id as the server accepts it (a string of 1..128 UTF-8 bytes).

    Longer ids are shortened deterministically (prefix + hash), so the same long id always
    maps to the same stored id and a session can still be continued by it.
    """
    s = value if isinstance(value, str) else str(value)
    if not s:
        return new_id()
    if len(s) * 4 <= MAX_ID_BYTES:
        return s
    raw = s.encode("utf-8", "replace")
    if len(raw) <= MAX_ID_BYTES:
        return raw.decode("utf-8")
    digest = hashlib.sha256(raw).hexdigest()[:32]
    head = raw[: MAX_ID_BYTES - 33].decode("utf-8", "ignore")
    return f"{head}~{digest}"
