"""A deterministic data set with every expected number computed here, in the test, from what
is ingested (never read back from the server as 'expected')."""

from __future__ import annotations

from dataclasses import dataclass, field

from conftest import fmt_us, rfc, us_of

MIN = 60_000_000
HOUR = 3_600_000_000
SEC = 1_000_000
BASE = us_of(2026, 11, 1, 0, 0, 0)
PERM = [7, 2, 11, 0, 5, 9, 1, 4, 10, 3, 8, 6]  # session i starts PERM[i] hours after BASE
AGENTS = ["alpha", "beta", "gamma"]
STATUSES = ["running", "success", "failure", "cancelled"]
TERMINAL = {"success", "failure", "cancelled"}


@dataclass
class Ev:
    id: str
    session_id: str
    type: str
    name: str | None
    agent: str | None
    start: int
    end: int | None
    status: str
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    parent_id: str | None = None
    wire: dict = field(default_factory=dict)


@dataclass
class Sess:
    id: str
    name: str | None
    agent: str | None
    user_id: str | None
    tags: list
    status: str
    start: int
    ended: int | None
    metadata: dict
    events: list = field(default_factory=list)
    wire: dict = field(default_factory=dict)

    # ---- rollups as the contract defines them
    @property
    def event_count(self):
        return len(self.events)

    @property
    def error_count(self):
        return sum(e.status == "error" for e in self.events)

    @property
    def llm_count(self):
        return sum(e.type == "llm" for e in self.events)

    @property
    def tool_count(self):
        return sum(e.type == "tool" for e in self.events)

    @property
    def input_tokens(self):
        return sum(e.input_tokens for e in self.events)

    @property
    def output_tokens(self):
        return sum(e.output_tokens for e in self.events)

    @property
    def total_tokens(self):
        return self.input_tokens + self.output_tokens

    @property
    def cost(self):
        return sum(e.cost or 0.0 for e in self.events)

    @property
    def started_at(self):
        return min([self.start] + [e.start for e in self.events])

    @property
    def last_event_at(self):
        if not self.events:
            return None
        return max(e.end if e.end is not None else e.start for e in self.events)

    @property
    def duration_ms(self):
        end = self.ended if self.ended is not None else self.last_event_at
        return None if end is None else (end - self.started_at) / 1000

    @property
    def failed(self):
        return self.status == "failure" or self.error_count > 0


SEARCH_TEXT = {
    # (session index, event index) -> where the searchable words go
    (3, 1): ("input", {"text": "The quick brown fox jumps"}),
    (5, 2): ("output", {"report": "cold glacier near Reykjavik"}),
    (7, 0): ("error", {"type": "NetError", "message": "connection refused by upstream proxy"}),
    (9, 3): ("name", "quokka lookup"),
}


def build() -> list[Sess]:
    sessions: list[Sess] = []
    for i in range(12):
        sid = f"ls-{i:02d}"
        start = BASE + PERM[i] * HOUR
        n = i + 1
        status = STATUSES[i % 4]
        tags = ["all"] + (["even"] if i % 2 == 0 else []) + (["three"] if i % 3 == 0 else [])
        user_id = f"user-{i % 5}" if i != 11 else None
        name = f"Research Task {i}" if i % 4 == 0 else f"job {i}"
        ended = start + (n - 1) * MIN + 2 * MIN if status in TERMINAL else None
        s = Sess(sid, name, AGENTS[i % 3], user_id, tags, status, start, ended, {"i": i})
        s.wire = {"id": sid, "name": name, "agent": s.agent, "tags": tags, "metadata": {"i": i},
                  "status": status, "started_at": rfc(start)}
        if user_id is not None:
            s.wire["user_id"] = user_id
        if ended is not None:
            s.wire["ended_at"] = rfc(ended)
        for k in range(n):
            typ = ["llm", "tool", "step"][(i + k) % 3]
            ev_start = start + k * MIN + SEC
            ev_end = ev_start + 30 * SEC
            ename = {"llm": "chat", "tool": f"tool_{k % 2}", "step": "plan"}[typ]
            is_err = k < i % 3
            e = Ev(f"{sid}-e{k}", sid, typ, ename, s.agent, ev_start, ev_end, "error" if is_err else "ok")
            w = {"id": e.id, "session_id": sid, "type": typ, "name": ename, "agent": s.agent,
                 # alternate between the two input time forms
                 "started_at": rfc(ev_start) if k % 2 == 0 else ev_start / 1000,
                 "ended_at": rfc(ev_end),
                 "input": {"prompt": f"step {k} of {sid}"}, "output": {"result": "ok"}}
            if is_err:
                w["error"] = {"type": "ToolError", "message": f"failure number {k}"}
            if typ == "llm":
                e.model = ["gpt-4o", "claude-3"][(i + k) % 2]
                e.input_tokens = 10 * (i + 1) + k
                e.output_tokens = 5 + k
                e.cost = round(0.001 * (i + 1) + 0.0001 * k, 6)
                w.update(model=e.model, provider="openai" if e.model == "gpt-4o" else "anthropic",
                         usage={"input_tokens": e.input_tokens, "output_tokens": e.output_tokens},
                         cost_usd=e.cost)
            if typ == "tool" and k > 0:
                e.parent_id = f"{sid}-e0"
                w["parent_id"] = e.parent_id
            if (i, k) in SEARCH_TEXT:
                where, val = SEARCH_TEXT[(i, k)]
                w[where] = val
                if where == "name":
                    e.name = val
                if where == "error":
                    e.status = "error"
            e.wire = w
            s.events.append(e)
        sessions.append(s)
    # A session without agent (its events have none either): grouped under agent null.
    sid = "ls-noagent"
    start = BASE + 12 * HOUR
    s = Sess(sid, None, None, None, [], "running", start, None, {})
    s.wire = {"id": sid, "status": "running", "started_at": rfc(start)}
    for k in range(2):
        ev_start = start + k * MIN + SEC
        e = Ev(f"{sid}-e{k}", sid, "log", "note", None, ev_start, ev_start + 10 * SEC, "ok")
        e.wire = {"id": e.id, "session_id": sid, "type": "log", "name": "note",
                  "started_at": rfc(ev_start), "ended_at": rfc(ev_start + 10 * SEC)}
        s.events.append(e)
    sessions.append(s)
    return sessions


def all_events(sessions: list[Sess]) -> list[Ev]:
    return [e for s in sessions for e in s.events]


def expected_session_fields(s: Sess) -> dict:
    return {
        "id": s.id, "name": s.name, "agent": s.agent, "user_id": s.user_id, "tags": s.tags,
        "metadata": s.metadata, "status": s.status,
        "started_at": fmt_us(s.started_at),
        "ended_at": fmt_us(s.ended) if s.ended is not None else None,
        "last_event_at": fmt_us(s.last_event_at) if s.last_event_at is not None else None,
        "duration_ms": s.duration_ms,
        "event_count": s.event_count, "error_count": s.error_count, "llm_count": s.llm_count,
        "tool_count": s.tool_count, "input_tokens": s.input_tokens, "output_tokens": s.output_tokens,
        "total_tokens": s.total_tokens, "cost_usd": s.cost,
    }


def percentile_candidates(values: list[float], p: float) -> list[float]:
    """The usual definitions of a percentile; the contract does not pin one down."""
    v = sorted(values)
    n = len(v)
    import math
    out = [v[max(0, math.ceil(p * n) - 1)]]  # nearest rank
    pos = p * (n - 1)  # linear interpolation (numpy default)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    out.append(v[lo] + (v[hi] - v[lo]) * (pos - lo))
    out.append(v[lo])
    out.append(v[hi])
    out.append(v[min(n - 1, round(pos))])
    return out
