#!/usr/bin/env python3
"""Benchmark: a full remote `check` over a 300 ms link, old collector against new.

    .venv/bin/python tests/bench/bench_remote_rtt.py [--old DIR] [--delay 0.15]

A lab sshd runs in a private mount + network namespace (this kernel has no netem). Inside
the same network namespace an asyncio TCP relay forwards to it, holding every chunk 150 ms
in each direction (300 ms round trip, order kept, no bandwidth cap). The client (this
checkout, or the tree given by --old, e.g. `git archive <rev> | tar -x -C DIR`) runs in that
namespace too: connect, collect the facts, run the checks, close - what `check --host` does.

Reported per tree: wall time of the whole check and of the collection alone; the session
channels sshd saw; and the data round trips of the collection, counted at the relay as the
client's turns: a client->server burst that follows server->client data after the client
had been quiet for at least one one-way delay (SSH's window adjusts while a big answer
streams in do not count; each blocking request/answer exchange does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))


class Relay:
    """127.0.0.1:port -> 127.0.0.1:target, each chunk delayed `delay` s each way."""

    def __init__(self, target: int, delay: float) -> None:
        self.target = target
        self.delay = delay
        self.turns = 0
        self.bytes = [0, 0]  # client->server, server->client
        self._last_c2s = 0.0
        self._s2c_since = False
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        threading.Thread(target=self._main, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _main(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def mark(self) -> tuple[int, int, int]:
        return self.turns, *self.bytes

    async def _client(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        sr, sw = await asyncio.open_connection("127.0.0.1", self.target)
        await asyncio.gather(self._pipe(cr, sw, 0), self._pipe(sr, cw, 1))

    async def _pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter, way: int) -> None:
        queue: asyncio.Queue = asyncio.Queue()

        async def sender() -> None:
            while True:
                due, data = await queue.get()
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                if data is None:
                    w.close()
                    return
                w.write(data)
                await w.drain()

        task = asyncio.ensure_future(sender())
        while True:
            data = await r.read(1 << 16)
            now = time.monotonic()
            if way == 0 and data:
                if self._s2c_since and now - self._last_c2s >= self.delay:
                    self.turns += 1
                self._s2c_since = False
                self._last_c2s = now
            elif data:
                self._s2c_since = True
            if data:
                self.bytes[way] += len(data)
            queue.put_nowait((now + self.delay, data or None))
            if not data:
                break
        await task


INNER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from tui.core.targets.target import TargetSpec, open_target
from tui.core.diagnosis.report import run_checks
port, key = sys.argv[2], sys.argv[3]
t0 = time.monotonic()
target = open_target(TargetSpec(host=f"root@127.0.0.1:{port}", identities=[key]))
t1 = time.monotonic()
print("COLLECT-START", flush=True); sys.stdin.readline()
facts = target.collect()
t2 = time.monotonic()
print("COLLECT-END", flush=True); sys.stdin.readline()
report = run_checks(facts, None)
target.close()
t3 = time.monotonic()
print(json.dumps({"connect": t1 - t0, "collect": t2 - t1, "check": t3 - t0,
                  "problems": sorted(f.id for f in report.findings if f.status == "problem"),
                  "libs": len(facts.binaries[0].libraries) if facts.binaries else 0,
                  "files": len(facts.files)}), flush=True)
"""


def measure(tree: Path, relay: Relay, key: Path, home: Path) -> dict:
    """Run INNER with `tree` on sys.path; returns its numbers and the relay's counts."""
    proc = subprocess.Popen(
        [sys.executable, "-c", INNER, str(tree), str(relay.port), str(key)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tree,
        env={**os.environ, "HOME": str(home), "PYTHONPATH": str(tree)})
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline().strip() == "COLLECT-START"
    before = relay.mark()
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "COLLECT-END"
    after = relay.mark()
    proc.stdin.write("\n")
    proc.stdin.flush()
    out = json.loads(proc.stdout.readline())
    proc.wait(60)
    out["round_trips"] = after[0] - before[0]
    out["bytes_up"], out["bytes_down"] = after[1] - before[1], after[2] - before[2]
    return out


def inner(args: argparse.Namespace) -> None:
    """In the lab's network namespace: relay + both trees, one after the other."""
    relay = Relay(args.port, args.delay)
    home = Path(args.home)
    kh = home / ".ssh" / "known_hosts"
    kh.write_text(kh.read_text().replace(f"[127.0.0.1]:{args.port}",
                                         f"[127.0.0.1]:{relay.port}"))
    results = {}
    for run in range(args.runs):  # paired: old and new one after the other, each run
        for name, tree in (("old", Path(args.old)), ("new", REPO)):
            results[f"{name}#{run}"] = measure(tree, relay, Path(args.key), home)
    print("RESULTS " + json.dumps(results), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", help="tree of the old collector (default: git archive of "
                    "the merge base with main)")
    ap.add_argument("--delay", type=float, default=0.15, help="seconds each way")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int)
    ap.add_argument("--key")
    ap.add_argument("--home")
    args = ap.parse_args()
    if args.inner:
        inner(args)
        return

    from tests.helpers.mountns import MountNamespace
    from tests.helpers.sshlab import SshLab

    with tempfile.TemporaryDirectory(prefix="srd-rtt-") as tmp:
        tmpdir = Path(tmp)
        old = args.old
        if old is None:
            base = subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=REPO, check=True,
                                  capture_output=True, text=True).stdout.strip()
            old = str(tmpdir / "old")
            os.mkdir(old)
            subprocess.run(f"git archive {base} | tar -x -C {old}", shell=True, cwd=REPO,
                           check=True)
        ns = MountNamespace(tmpdir, net=True)
        try:
            ns.overlay("/etc")
            with SshLab(tmpdir / "lab", prefix=ns.prefix) as lab:
                home = tmpdir / "home"
                (home / ".ssh").mkdir(parents=True)
                (home / ".ssh" / "known_hosts").write_text(lab.host_key_line() + "\n")
                r = subprocess.run(
                    ["nsenter", "-t", str(ns.proc.pid), "-n", "--", sys.executable,
                     str(Path(__file__).resolve()), "--inner", "--old", old, "--port",
                     str(lab.port), "--key", str(lab.client_key), "--home", str(home),
                     "--delay", str(args.delay), "--runs", str(args.runs)],
                    capture_output=True, text=True, timeout=1800)
                sessions = lab.session_channels(0)
        finally:
            ns.close()
    line = next((x for x in r.stdout.splitlines() if x.startswith("RESULTS ")), None)
    if line is None:
        sys.exit(f"bench failed: {r.stderr[-3000:]}")
    results = json.loads(line[len("RESULTS "):])
    print(f"link: {args.delay * 1000:.0f} ms each way ({args.delay * 2000:.0f} ms RTT); "
          f"sshd saw {sessions} session channels in all")
    print(f"{'run':8} {'check s':>8} {'collect s':>9} {'round trips':>11} "
          f"{'bytes down':>11} {'libs':>4} {'files':>5}  problems")
    for name, v in results.items():
        print(f"{name:8} {v['check']:8.2f} {v['collect']:9.2f} {v['round_trips']:11d} "
              f"{v['bytes_down']:11d} {v['libs']:4d} {v['files']:5d}  {v['problems']}")
    for name in ("old", "new"):
        runs = [v for k, v in results.items() if k.startswith(name + "#")]
        med = {k: statistics.median(v[k] for v in runs)
               for k in ("check", "collect", "round_trips", "bytes_down")}
        print(f"{name + ' med':8} {med['check']:8.2f} {med['collect']:9.2f} "
              f"{med['round_trips']:11g} {med['bytes_down']:11.0f}")


if __name__ == "__main__":
    main()
