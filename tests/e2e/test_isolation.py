"""Project isolation: a key of project B can never see or change project A's data, and the
same ids used in both projects stay separate (docs/api.md, Auth)."""

from __future__ import annotations

import re
import time

import pytest

from conftest import create_key, expect, qs, rfc, uid, us_of

T0 = us_of(2026, 11, 25, 10, 0, 0)
SEC = 1_000_000


@pytest.fixture(scope="module")
def two_projects(module_servers):
    srv = module_servers.start()
    out = srv.cli("projects", "create", "b")
    listing = srv.cli("projects", "list")
    names = re.findall(r"[A-Za-z0-9_-]+", listing)
    assert "b" in names and "default" in names, f"projects b and default not in `projects list`:\n{listing}"
    key_b = create_key(srv.cli, project="b", name="bkey")
    key_a = srv.key
    expect(srv.get("/v1/sessions", key=key_b), 200)

    def data(tag, agent):
        only = f"only-{tag}"
        sessions = [{"id": only, "name": f"secret {tag}", "agent": agent, "user_id": f"user-{tag}",
                     "tags": [f"tag-{tag}"]},
                    {"id": "shared-sess", "name": f"shared in {tag}", "agent": agent}]
        events = [{"id": f"ev-only-{tag}-{i}", "session_id": only, "type": "llm", "name": f"word{tag}x",
                   "agent": agent, "started_at": rfc(T0 + i * SEC), "model": f"model-{tag}",
                   "usage": {"input_tokens": 10, "output_tokens": 1}, "input": {"text": f"needle{tag} secret"}}
                  for i in range(3)]
        n_shared = 2 if tag == "a" else 5
        events += [{"id": f"shared-ev-{i}", "session_id": "shared-sess", "type": "tool", "agent": agent,
                    "name": f"shared tool {tag}", "started_at": rfc(T0 + i * SEC)} for i in range(n_shared)]
        return sessions, events

    sa, ea = data("a", "agent-a")
    sb, eb = data("b", "agent-b")
    expect(srv.ingest(ea, sa, key=key_a), 200)
    expect(srv.ingest(eb, sb, key=key_b), 200)
    return srv, key_a, key_b


def _other(tag):
    return "b" if tag == "a" else "a"


@pytest.mark.parametrize("tag", ["a", "b"])
def test_cannot_read_other_project(two_projects, tag):
    srv, key_a, key_b = two_projects
    me = key_a if tag == "a" else key_b
    other = _other(tag)
    # by id: 404
    assert srv.get(f"/v1/sessions/only-{other}", key=me).status == 404
    assert srv.get(f"/v1/sessions/only-{other}/events", key=me).status in (404, 200)
    r = srv.get(f"/v1/sessions/only-{other}/events", key=me)
    if r.status == 200:
        assert r.body["data"] == [], r.describe()
    for i in range(3):
        assert srv.get(f"/v1/events/ev-only-{other}-{i}", key=me).status == 404
    # own data visible
    assert srv.session(f"only-{tag}", key=me)["event_count"] == 3
    # lists and filters: absent
    sessions = srv.walk("/v1/sessions", limit=1000, key=me)
    assert {s["id"] for s in sessions} == {f"only-{tag}", "shared-sess"}, sessions
    for params in ({"q": f"only-{other}"}, {"q": f"secret {other}"}, {"agent": f"agent-{other}"},
                   {"user_id": f"user-{other}"}, {"tag": f"tag-{other}"}):
        assert srv.walk("/v1/sessions", params, key=me) == [], params
    events = srv.walk("/v1/events", limit=1000, key=me)
    assert all(e["id"].startswith(f"ev-only-{tag}") or e["id"].startswith("shared-ev-") for e in events), events
    assert {e["agent"] for e in events} == {f"agent-{tag}"}
    for params in ({"session_id": f"only-{other}"}, {"agent": f"agent-{other}"}, {"model": f"model-{other}"},
                   {"name": f"word{other}x"}):
        assert srv.walk("/v1/events", params, key=me) == [], params
    # full text: wait until the own word is searchable, then the other's must not be
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if len(expect(srv.get(qs("/v1/events", q=f"needle{tag}"), key=me), 200)["data"]) == 3:
            break
        time.sleep(0.1)
    assert len(expect(srv.get(qs("/v1/events", q=f"needle{tag}"), key=me), 200)["data"]) == 3
    assert expect(srv.get(qs("/v1/events", q=f"needle{other}"), key=me), 200)["data"] == []
    assert expect(srv.get(qs("/v1/events", q="secret"), key=me), 200)["data"].__len__() == 3
    agents = {a["agent"] for a in expect(srv.get("/v1/agents", key=me), 200)["data"]}
    assert agents == {f"agent-{tag}"}, agents


def test_same_ids_stay_separate(two_projects):
    srv, key_a, key_b = two_projects
    a = srv.session("shared-sess", key=key_a)
    b = srv.session("shared-sess", key=key_b)
    assert (a["name"], a["agent"], a["event_count"], a["tool_count"]) == ("shared in a", "agent-a", 2, 2)
    assert (b["name"], b["agent"], b["event_count"], b["tool_count"]) == ("shared in b", "agent-b", 5, 5)
    assert srv.event("shared-ev-0", key=key_a)["name"] == "shared tool a"
    assert srv.event("shared-ev-0", key=key_b)["name"] == "shared tool b"
    assert [e["id"] for e in srv.walk("/v1/sessions/shared-sess/events", key=key_a)] == \
        [f"shared-ev-{i}" for i in range(2)]
    assert [e["id"] for e in srv.walk("/v1/sessions/shared-sess/events", key=key_b)] == \
        [f"shared-ev-{i}" for i in range(5)]


def test_cannot_write_other_project(two_projects):
    srv, key_a, key_b = two_projects
    # PATCH / DELETE of A's session with B's key: 404, A unchanged
    assert srv.request("PATCH", "/v1/sessions/only-a", {"name": "hacked"}, key=key_b).status == 404
    assert srv.request("DELETE", "/v1/sessions/only-a", key=key_b).status == 404
    s = srv.session("only-a", key=key_a)
    assert s["name"] == "secret a" and s["event_count"] == 3
    # POST with A's session id from B creates B's own session (no 409 from A's)
    r = srv.request("POST", "/v1/sessions", {"id": "only-a", "name": "b's own"}, key=key_b)
    assert r.status == 201, r.describe()
    assert srv.session("only-a", key=key_b)["name"] == "b's own"
    assert srv.session("only-a", key=key_a)["name"] == "secret a"
    # B re-sending A's event id stores B's own event and leaves A's alone
    expect(srv.ingest([{"id": "ev-only-a-0", "session_id": "only-a", "name": "b overwrite", "type": "tool"}],
                      key=key_b), 200)
    ea = srv.event("ev-only-a-0", key=key_a)
    assert ea["name"] == "worda" + "x" and ea["type"] == "llm", ea
    assert srv.session("only-a", key=key_a)["event_count"] == 3
    assert srv.session("only-a", key=key_a)["llm_count"] == 3
    assert srv.event("ev-only-a-0", key=key_b)["name"] == "b overwrite"
    # B deleting its own copy does not touch A's
    assert srv.request("DELETE", "/v1/sessions/only-a", key=key_b).status == 204
    assert srv.session("only-a", key=key_a)["event_count"] == 3
    assert srv.event("ev-only-a-0", key=key_a)["name"] == "wordax"
    assert srv.get("/v1/sessions/only-a", key=key_b).status == 404
