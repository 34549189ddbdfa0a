"""The CLI (docs/api.md, CLI and Configuration): version, migrate, projects, keys, seed, and
the precedence flags > env > agentlog.toml > defaults, observed from the outside."""

from __future__ import annotations

import re
import time

import pytest

from conftest import (KEY_RE, Server, assert_problem, create_key, expect, free_port, revoke_key, run_cli)


def test_version(cli):
    out = cli("version", data=None)
    assert out.strip() == "agentlog 0.1.0", repr(out)


def test_migrate_is_idempotent(cli, bin_path, tmp_path):
    cli("migrate")
    assert (cli.data / "agentlog.db").is_file(), f"no agentlog.db in {cli.data}: {list(cli.data.iterdir())}"
    cli("migrate")
    cli("migrate")
    srv = Server(bin_path, cli.data).start()
    try:
        expect(srv.get("/v1/sessions"), 200)
    finally:
        assert srv.stop() == 0
    cli("migrate")  # after the server applied (nothing) and stopped


def test_projects_create_and_list(cli):
    cli("migrate")
    names = re.findall(r"[A-Za-z0-9_-]+", cli("projects", "list"))
    assert "default" in names, "the default project must exist after migrate"
    cli("projects", "create", "proj-x")
    cli("projects", "create", "proj-y")
    names = re.findall(r"[A-Za-z0-9_-]+", cli("projects", "list"))
    assert {"default", "proj-x", "proj-y"} <= set(names), names


def test_keys_create_list_revoke(cli, bin_path):
    cli("migrate")
    cli("projects", "create", "kp")
    s1 = create_key(cli, name="k-one")
    s2 = create_key(cli, project="kp", name="k-two")
    s3 = create_key(cli)
    assert len({s1, s2, s3}) == 3
    for s in (s1, s2, s3):
        assert KEY_RE.match(s)
    listing = cli("keys", "list")
    assert s1 not in listing and s3 not in listing, "keys list must not show secrets"
    assert s1[:6] in listing and "k-one" in listing, f"keys list should show the key prefix and name:\n{listing}"
    listing_kp = cli("keys", "list", "--project", "kp")
    assert s2 not in listing_kp and "k-two" in listing_kp and s2[:6] in listing_kp, listing_kp
    srv = Server(bin_path, cli.data).start()
    try:
        sid = "cli-keys"
        expect(srv.ingest([{"session_id": sid, "name": "default project"}], key=s1), 200)
        expect(srv.ingest([{"session_id": sid, "name": "kp project"}], key=s2, scheme="x-api-key"), 200)
        assert srv.session(sid, key=s3)["event_count"] == 1
        assert srv.session(sid, key=srv.key)["event_count"] == 1  # env key = default project
        assert srv.session(sid, key=s2)["event_count"] == 1
        revoke_key(cli.run, "k-one", s1)
        deadline = time.monotonic() + 2
        while srv.get("/v1/sessions", key=s1).status != 401 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert_problem(srv.get("/v1/sessions", key=s1), 401, "unauthorized")
        expect(srv.get("/v1/sessions", key=s3), 200)  # other keys unaffected
        revoke_key(cli.run, "k-two", s2, project="kp")
        deadline = time.monotonic() + 2
        while srv.get("/v1/sessions", key=s2).status != 401 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert_problem(srv.get("/v1/sessions", key=s2), 401, "unauthorized")
    finally:
        srv.stop()
    # revocation survives a restart
    srv.start()
    try:
        assert_problem(srv.get("/v1/sessions", key=s1), 401, "unauthorized")
        expect(srv.get("/v1/sessions", key=s3), 200)
    finally:
        srv.stop()


def test_seed_demo(cli, bin_path):
    cli("migrate")
    cli("seed", "--demo")
    srv = Server(bin_path, cli.data).start()
    try:
        sessions = srv.walk("/v1/sessions", limit=1000)
        assert 40 <= len(sessions) <= 60, f"seed --demo should make ~50 sessions, got {len(sessions)}"
        agents = {s["agent"] for s in sessions if s["agent"]}
        assert len(agents) >= 3, f"seed --demo should use a few agents: {agents}"
        assert len({s["status"] for s in sessions}) >= 2, "demo sessions should not all have one status"
        events = srv.walk("/v1/events", limit=1000)
        types = {e["type"] for e in events}
        assert {"llm", "tool", "step"} <= types, f"demo events should include llm/tool/step: {types}"
        assert any(e["status"] == "error" and e["error"] for e in events), "demo data should contain errors"
        assert any(e["type"] == "llm" and e["usage"] and e["usage"]["total_tokens"] > 0 and e["cost_usd"]
                   for e in events), "demo llm events should carry tokens and cost"
        assert any(e["parent_id"] for e in events), "demo events should be nested"
        rows = expect(srv.get("/v1/agents"), 200)["data"]
        assert len([r for r in rows if r["agent"]]) >= 3
        # rollups agree with the events the server lists for the session
        for s in sorted(sessions, key=lambda s: -s["event_count"])[:5]:
            evs = srv.walk(f"/v1/sessions/{s['id']}/events", limit=10000)
            assert s["event_count"] == len(evs)
            assert s["error_count"] == sum(e["status"] == "error" for e in evs)
            assert s["llm_count"] == sum(e["type"] == "llm" for e in evs)
            assert s["total_tokens"] == sum((e["usage"] or {}).get("total_tokens", 0) or 0 for e in evs)
            assert s["cost_usd"] == pytest.approx(sum(e["cost_usd"] or 0 for e in evs), rel=1e-9, abs=1e-9)
    finally:
        srv.stop()


def test_log_lines_are_json_with_msg(bin_path, tmp_path):
    srv = Server(bin_path, tmp_path / "data").start()
    try:
        expect(srv.get("/v1/sessions"), 200)
    finally:
        assert srv.stop() == 0
    assert srv.log_lines, "no log output at info level"
    assert not srv.non_json_lines, f"stderr lines that are not JSON objects: {srv.non_json_lines[:5]}"


def test_listening_line_at_every_level_but_off(bin_path, tmp_path):
    """Scripts find the port of `--listen 127.0.0.1:0` in this line, whatever the log level."""
    for level in ("warn", "error"):
        srv = Server(bin_path, tmp_path / f"data-{level}", log_level_env=level).start(timeout=10)
        try:
            expect(srv.get("/v1/sessions"), 200)
        finally:
            assert srv.stop() == 0
        listening = [line for line in srv.log_lines if "listening on http://" in line]
        assert len(listening) == 1, f"AGENTLOG_LOG={level}: want one listening line, got {srv.log_lines[:5]}"
        assert not [line for line in srv.log_lines if "ready in" in line], \
            f"AGENTLOG_LOG={level} must still hide other info lines: {srv.log_lines[:5]}"


# =========================================================================== configuration precedence

def _toml(path, **kv):
    path.write_text("".join(f'{k} = "{v}"\n' for k, v in kv.items()))
    return path


def _serve(bin_path, data, port=None, **kw) -> Server:
    srv = Server(bin_path, data, expect_port=port, **kw)
    srv.start(timeout=10)
    return srv


def test_config_file_listen_and_log_level(bin_path, tmp_path):
    pa = free_port()
    cfg = _toml(tmp_path / "conf.toml", listen=f"127.0.0.1:{pa}", log_level="off")
    srv = _serve(bin_path, tmp_path / "data", pa, listen=None, log_level_env=None, args=["--config", str(cfg)])
    try:
        assert srv.port == pa
        expect(srv.get("/v1/sessions"), 200)
    finally:
        assert srv.stop() == 0
    assert srv.log_lines == [], f"log_level = \"off\" in the config file must silence logs: {srv.log_lines[:5]}"


def test_env_overrides_file(bin_path, tmp_path):
    pa, pb = free_port(), free_port()
    cfg = _toml(tmp_path / "conf.toml", listen=f"127.0.0.1:{pa}", log_level="off")
    srv = Server(bin_path, tmp_path / "data", listen=None, log_level_env="info",
                 env={"AGENTLOG_LISTEN": f"127.0.0.1:{pb}"}, args=["--config", str(cfg)])
    srv.start(timeout=10)  # waits for the listening line: AGENTLOG_LOG=info beats log_level = "off"
    try:
        assert srv.port == pb, f"AGENTLOG_LISTEN must override the file's listen: on {srv.port}, want {pb}"
        expect(srv.get("/v1/sessions"), 200)
    finally:
        srv.stop()


def test_flags_override_env_and_file(bin_path, tmp_path):
    pa, pb, pc = free_port(), free_port(), free_port()
    cfg = _toml(tmp_path / "conf.toml", listen=f"127.0.0.1:{pa}", log_level="info")
    srv = _serve(bin_path, tmp_path / "data", pc, listen=f"127.0.0.1:{pc}", log_level_env="info",
                 env={"AGENTLOG_LISTEN": f"127.0.0.1:{pb}"}, args=["--config", str(cfg), "--log-level", "off"])
    try:
        expect(srv.get("/v1/sessions"), 200)
    finally:
        assert srv.stop() == 0
    assert srv.log_lines == [], f"--log-level off must beat AGENTLOG_LOG=info: {srv.log_lines[:5]}"
    # --listen ...:0 beats env and file: the logged port is a fresh one
    srv = Server(bin_path, tmp_path / "data", listen="127.0.0.1:0", log_level_env="info",
                 env={"AGENTLOG_LISTEN": f"127.0.0.1:{pb}"}, args=["--config", str(cfg)]).start(timeout=10)
    try:
        assert srv.port not in (pa, pb), srv.port
        expect(srv.get("/v1/sessions"), 200)
    finally:
        srv.stop()


def test_default_config_file_in_cwd_and_agentlog_config_env(bin_path, tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    pd = free_port()
    _toml(cwd / "agentlog.toml", listen=f"127.0.0.1:{pd}")
    srv = _serve(bin_path, tmp_path / "data", pd, listen=None, cwd=cwd)
    try:
        expect(srv.get("/healthz", key=None), 200)
    finally:
        srv.stop()
    pe = free_port()
    cfg = _toml(tmp_path / "other.toml", listen=f"127.0.0.1:{pe}")
    srv = _serve(bin_path, tmp_path / "data", pe, listen=None, cwd=cwd, env={"AGENTLOG_CONFIG": str(cfg)})
    try:
        expect(srv.get("/healthz", key=None), 200)
    finally:
        srv.stop()


def test_data_dir_from_config_and_env(bin_path, tmp_path):
    d1 = tmp_path / "from-toml"
    cfg = _toml(tmp_path / "c.toml", data_dir=str(d1))
    run_cli(bin_path, "migrate", "--config", str(cfg), cwd=tmp_path)
    assert (d1 / "agentlog.db").is_file(), "data_dir from the config file not used"
    d2 = tmp_path / "from-env"
    run_cli(bin_path, "migrate", "--config", str(cfg), env={"AGENTLOG_DATA": str(d2)}, cwd=tmp_path)
    assert (d2 / "agentlog.db").is_file(), "AGENTLOG_DATA must override data_dir of the config file"
    d3 = tmp_path / "from-flag"
    run_cli(bin_path, "migrate", "--config", str(cfg), data=d3, env={"AGENTLOG_DATA": str(d2)}, cwd=tmp_path)
    assert (d3 / "agentlog.db").is_file(), "--data must override AGENTLOG_DATA"


def test_backup_while_serving_restores_everything_acknowledged_before_it(servers, tmp_path):
    import threading

    src = servers.start()
    acked: list[str] = []
    stop = threading.Event()

    def load():
        i = 0
        while not stop.is_set():
            ids = [f"bk-{i}-{j}" for j in range(200)]
            src.ingest_ok([{"id": e, "session_id": f"bk-s{i % 7}", "name": "backup probe", "type": "tool"}
                           for e in ids])
            acked.extend(ids)
            i += 1

    t = threading.Thread(target=load)
    t.start()
    try:
        while len(acked) < 2000:
            time.sleep(0.01)
        before = list(acked)  # acknowledged before the backup started
        out = tmp_path / "backup"
        p = src.cli_run("backup", "--out", str(out))
        assert p.returncode == 0 and "backed up" in p.stdout, p.stderr
    finally:
        stop.set()
        t.join()
    assert {f.name for f in out.iterdir()} >= {"agentlog.db", "search.db", "ids.db"}
    again = src.cli_run("backup", "--out", str(out), check=False)
    assert again.returncode != 0 and "never overwrites" in again.stderr

    restored = servers.start(data_dir=out)
    for e in before[::97] + before[-5:]:
        expect(restored.get(f"/v1/events/{e}"), 200)
    sessions = {s["id"]: s for s in restored.walk("/v1/sessions", {"q": "bk-s"}, limit=100)}
    stored = sum(s["event_count"] for s in sessions.values())
    assert len(before) <= stored <= len(acked), "rollups match the events in the copy"
    # The search index came along (or is rebuilt on start): the probe text is found.
    deadline = time.time() + 10
    while not expect(restored.get("/v1/events?q=probe&limit=1"), 200)["data"]:
        assert time.time() < deadline, "search on the restored copy"
        time.sleep(0.1)
