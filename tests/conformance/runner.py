#!/usr/bin/env python3
"""AgentLog SDK conformance runner.

Starts the real `agentlog` binary on 127.0.0.1 (port 0, temporary data directory), and for
each SDK runs its driver once per scenario of scenarios.json, through a fault-injecting
proxy; then checks what the server stored (REST API), what the driver reported, and what the
proxy saw. Python 3 standard library only. See README.md for the driver protocol.

    runner.py [SDK ...] [--scenario NAME ...] [--bin PATH] [--no-setup] [--report FILE] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from checks import Context, run_checks  # noqa: E402
from harness import AgentlogServer, Api, FaultProxy, ServerError, gen_key  # noqa: E402

REPO = HERE.parents[1]
DRIVERS = HERE / "drivers"


def log(msg: str) -> None:
    print(msg, flush=True)


class Driver:
    """An SDK's driver, described by drivers/<sdk>/driver.json."""

    def __init__(self, sdk: str):
        self.sdk = sdk
        self.dir = DRIVERS / sdk
        manifest = json.loads((self.dir / "driver.json").read_text())
        self.command: list[str] = manifest["command"]
        self.setup_command: list[str] | None = manifest.get("setup")
        self.description: str = manifest.get("description", "")

    def setup(self) -> None:
        if not self.setup_command:
            return
        t0 = time.monotonic()
        log(f"[{self.sdk}] setup: {' '.join(self.setup_command)}")
        r = subprocess.run(self.setup_command, cwd=self.dir, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise RuntimeError(f"[{self.sdk}] setup failed with exit code {r.returncode}")
        log(f"[{self.sdk}] setup done in {time.monotonic() - t0:.1f}s")


def available_sdks() -> list[str]:
    return sorted(p.parent.name for p in DRIVERS.glob("*/driver.json"))


def last_json_line(text: str) -> dict | None:
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def run_driver(driver: Driver, scenario: dict, env: dict, timeout: float) -> tuple[int | None, str, str, float]:
    """Runs `<command> <scenario>`; returns (exit code or None on timeout, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(driver.command + [scenario["name"]], cwd=driver.dir, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        code = None
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), time.monotonic() - t0


def play(driver: Driver, scenario: dict, server: AgentlogServer, key: str) -> dict[str, Any]:
    """One scenario for one SDK: returns a report entry with 'status' passed/failed/skipped."""
    name = scenario["name"]
    session = f"conf-{driver.sdk}-{name}-{secrets.token_hex(4)}"
    proxy = FaultProxy(server.port, scenario.get("proxy"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLOG_")}
    env.update({
        "AGENTLOG_URL": proxy.url,
        "AGENTLOG_API_KEY": key,
        "AGENTLOG_CONFORMANCE_SCENARIO": name,
        "AGENTLOG_CONFORMANCE_SESSION": session,
        "AGENTLOG_CONFORMANCE_PARAMS": json.dumps(scenario.get("params", {})),
    })
    entry: dict[str, Any] = {"sdk": driver.sdk, "scenario": name, "session": session}
    try:
        proxy.begin()
        code, out, err, secs = run_driver(driver, scenario, env, float(scenario.get("timeout_s", 60)))
        entry["driver_seconds"] = round(secs, 2)
        result = last_json_line(out)
        failures: list[str] = []
        if code is None:
            failures.append(f"driver did not finish within {scenario.get('timeout_s', 60)}s")
        elif result is None:
            failures.append(f"driver printed no JSON result line (exit code {code})")
        elif result.get("unsupported"):
            if scenario.get("optional"):
                entry.update(status="skipped", reason=result.get("reason", "unsupported by this SDK"))
                return entry
            failures.append(f"driver says unsupported ({result.get('reason', '')}), but this scenario is required")
        else:
            if code != 0:
                failures.append(f"driver exited with code {code}")
            entry["result"] = result
            try:
                failures += run_checks(Context(scenario, session, result, Api(server.url, key), proxy))
            except Exception as e:  # noqa: BLE001 - a check that cannot run is a failure, not a crash
                failures.append(f"checks could not run: {type(e).__name__}: {e}")
                if server.proc and server.proc.poll() is not None:
                    failures.append(f"the server exited with code {server.proc.returncode}: "
                                    + " | ".join(server.log_lines[-5:]))
        entry["status"] = "failed" if failures else "passed"
        if failures:
            entry["failures"] = failures
            entry["driver_stderr_tail"] = err[-3000:]
            entry["driver_stdout_tail"] = out[-2000:]
        entry["ingest_requests"] = [
            {"n": r.n, "mode": r.mode, "outcome": r.outcome, "events": len(r.event_ids), "gzip": r.gzip}
            for r in proxy.ingest_records()
        ]
        return entry
    finally:
        proxy.close()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sdks", nargs="*", help=f"SDKs to test (default: all with a driver: {', '.join(available_sdks())})")
    ap.add_argument("--scenario", action="append", default=[], help="run only this scenario (repeatable)")
    ap.add_argument("--bin", default=os.environ.get("AGENTLOG_BIN", str(REPO / "build" / "agentlog")),
                    help="the agentlog binary (default: $AGENTLOG_BIN or build/agentlog)")
    ap.add_argument("--no-setup", action="store_true", help="skip the drivers' setup (build) step")
    ap.add_argument("--report", help="write a JSON report to this file")
    ap.add_argument("--keep", action="store_true", help="keep the server's data directory")
    ap.add_argument("--list", action="store_true", help="list scenarios and drivers, then exit")
    args = ap.parse_args(argv)

    spec = json.loads((HERE / "scenarios.json").read_text())
    scenarios = spec["scenarios"]
    if args.list:
        for s in scenarios:
            log(f"{s['name']:24} {s['title']}")
        log("drivers: " + ", ".join(available_sdks()))
        return 0
    known = {s["name"] for s in scenarios}
    for n in args.scenario:
        if n not in known:
            log(f"unknown scenario {n!r}; known: {', '.join(sorted(known))}")
            return 2
    selected = [s for s in scenarios if not args.scenario or s["name"] in args.scenario]
    sdks = args.sdks or available_sdks()
    for sdk in sdks:
        if not (DRIVERS / sdk / "driver.json").is_file():
            log(f"no driver for SDK {sdk!r} (expected {DRIVERS / sdk / 'driver.json'}); have: {', '.join(available_sdks())}")
            return 2
    if not os.access(args.bin, os.X_OK):
        log(f"agentlog binary not found or not executable: {args.bin} (build it with `make build`, or set AGENTLOG_BIN)")
        return 2

    drivers = [Driver(sdk) for sdk in sdks]
    if not args.no_setup:
        for d in drivers:
            try:
                d.setup()
            except RuntimeError as e:
                log(str(e))
                return 2

    key = gen_key()
    server = AgentlogServer(args.bin, key, keep_data=args.keep)
    try:
        server.start()
    except ServerError as e:
        log(str(e))
        return 2
    log(f"agentlog serving on {server.url} (data {server.data_dir})")
    report: list[dict] = []
    t_all = time.monotonic()
    try:
        for d in drivers:
            for s in selected:
                t0 = time.monotonic()
                entry = play(d, s, server, key)
                entry["seconds"] = round(time.monotonic() - t0, 2)
                report.append(entry)
                status = entry["status"].upper()
                extra = f" ({entry['reason']})" if entry.get("reason") else ""
                log(f"{status:7} {d.sdk}/{s['name']}  {entry['seconds']:.1f}s{extra}")
                for f in entry.get("failures", []):
                    log(f"        - {f}")
                if entry["status"] == "failed":
                    tail = entry.get("driver_stderr_tail", "").strip()
                    if tail:
                        log("        driver stderr (tail):\n" + "\n".join("          " + ln for ln in tail.splitlines()[-25:]))
                    log(f"        ingest requests seen by the proxy: {[(r['mode'], r['outcome'], r['events']) for r in entry['ingest_requests']][:20]}")
    finally:
        server.stop()
        if server.proc and server.proc.returncode not in (0, None):
            log(f"note: the server exited with code {server.proc.returncode}")

    passed = sum(1 for e in report if e["status"] == "passed")
    failed = sum(1 for e in report if e["status"] == "failed")
    skipped = sum(1 for e in report if e["status"] == "skipped")
    if args.report:
        Path(args.report).write_text(json.dumps({"passed": passed, "failed": failed, "skipped": skipped,
                                                 "seconds": round(time.monotonic() - t_all, 1), "runs": report},
                                                indent=2, default=str))
    log(f"conformance: {len(report)} runs in {time.monotonic() - t_all:.1f}s")
    summary = f"{passed} passed, {failed} failed"
    if skipped:
        summary += f", {skipped} skipped"
    log(summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
