#!/usr/bin/env python3
"""Event-loop turns of bench.mjs's 50k-event flush, measured by the kernel (Linux perf).

    python3 scripts/loop-turns.py [bench.mjs arguments]     (needs perf and root, or
                                                             perf_event_paranoid <= 1)

A turn is the main thread's stretch between two waits for I/O (epoll_wait returning, then
entered again): the longest an event that arrives meanwhile waits. For each turn this prints
its on-CPU time, and its "blocked" time: on-CPU plus the thread's own waits inside the turn
(a mutex, GC helper threads), without the time it was runnable but the OS ran other
processes. bench.mjs's CPU-between-1-ms-ticks is an upper bound of the same thing: on a busy
machine the timer runs late and several turns land between two ticks.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
EPOLL_WAITS = (232, 281, 441)  # x86_64: epoll_wait, epoll_pwait, epoll_pwait2
LINE = re.compile(r"\s*(\S+)\s+(\d+)/(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)")


def record(bench_args, data, out):
    syscall_filter = " || ".join(f"id == {n}" for n in EPOLL_WAITS)
    cmd = ["perf", "record", "-q", "-k", "mono", "-o", data,
           "-e", "raw_syscalls:sys_enter", "--filter", syscall_filter,
           "-e", "raw_syscalls:sys_exit", "--filter", syscall_filter,
           "-e", "sched:sched_switch",
           "--", "node", os.path.join(HERE, "..", "bench.mjs"), "--out", out, *bench_args]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def turns_of(data, pid, until):
    text = subprocess.run(["perf", "script", "-i", data, "-F", "comm,pid,tid,time,event,trace"],
                          check=True, capture_output=True, text=True).stdout
    events = []  # (seconds, what, prev_state)
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        _, _, tid, t, name, rest = m.groups()
        if name.startswith("raw_syscalls:") and int(tid) == pid:
            events.append((float(t), "exit" if name.endswith("exit") else "enter", ""))
        elif name == "sched:sched_switch":
            prev = re.search(r"prev_pid=(\d+) .*prev_state=(\S+)", rest)
            nxt = re.search(r"next_pid=(\d+)", rest)
            if prev and int(prev.group(1)) == pid:
                events.append((float(t), "off", prev.group(2)))
            if nxt and int(nxt.group(1)) == pid:
                events.append((float(t), "on", ""))
    events = sorted(e for e in events if e[0] <= until)
    events.append((until, "enter", ""))  # the flush is over: the rest is the bench's
    turns = []  # (start s, on-CPU s, blocked s)
    in_turn, on_since, off_at, off_state = False, None, None, ""
    start = cpu = waits = 0.0
    for t, what, state in events:
        if what == "exit":
            in_turn, start, cpu, waits = True, t, 0.0, 0.0
            on_since, off_at = t, None  # leaving a syscall: running
        elif what == "enter":
            if in_turn:
                if on_since is not None:
                    cpu += t - on_since
                turns.append((start, cpu, cpu + waits))
            in_turn = False
        elif what == "off":
            if in_turn and on_since is not None:
                cpu += t - on_since
            on_since, off_at, off_state = None, t, state
        elif what == "on":
            if in_turn and off_at is not None and not off_state.startswith("R"):
                waits += t - max(off_at, start)  # a wait of its own, not preemption
            on_since, off_at = t, None
    return turns


def main():
    with tempfile.TemporaryDirectory() as tmp:
        data, out = os.path.join(tmp, "perf.data"), os.path.join(tmp, "bench.json")
        record(sys.argv[1:], data, out)
        bench = json.load(open(out))
        flush = bench["flush_event_loop"]
        first, last = (us / 1e6 for us in flush["monotonic_window_us"])
        pid = bench["pid"]
        turns = [x for x in turns_of(data, pid, last) if x[0] >= first]
    if not turns:
        sys.exit("loop-turns: no turns seen (is perf allowed to trace syscalls?)")

    def summary(values):
        ms = sorted(v * 1000 for v in values)
        pick = lambda q: round(ms[min(len(ms) - 1, int(q * len(ms)))], 3)
        return {"median": pick(0.5), "p99": pick(0.99), "max": round(ms[-1], 3),
                "over_1ms": sum(1 for v in ms if v > 1)}

    print(json.dumps({
        "flush_ms": flush["flush_ms"],
        "turns": len(turns),
        "on_cpu_per_turn_ms": summary(t[1] for t in turns),
        "blocked_per_turn_ms": summary(t[2] for t in turns),
        "longest_turns": [{"at_ms": round((t[0] - first) * 1000, 1), "on_cpu_ms": round(t[1] * 1000, 3),
                           "blocked_ms": round(t[2] * 1000, 3)} for t in sorted(turns, key=lambda t: -t[2])[:5]],
        "bench_cpu_between_ticks_ms": flush["main_thread_cpu_between_ticks_ms"],
        "gc_pauses": flush["gc_pauses"],
    }, indent=2))


if __name__ == "__main__":
    main()
