#!/usr/bin/env python3
"""Fuzz: every Method 1 plan on N generated file pairs, judged by the real tcpdmatch.

    .venv/bin/python tests/bench/fuzz_plans.py [--files 10000] [--sample 16] [--jobs 2]
                                               [--seed 11] [--compare-rev REV]

Each pair comes from tests/rulegen.plan_case (libwrap-hard files, the operator often denied,
hosts.allow often ending in an unterminated rule). For each plan `plans()` offers:

* the engine evaluates every client of the proof set that tcpdmatch can be asked about
  (address, user, daemon; names cannot be given to tcpdmatch) before and after;
* tcpdmatch judges every client whose verdict the engine says changed, a random sample of
  the others, and the operator (who must be granted after);
* a regression is a client tcpdmatch grants before and not after. There must be none.

--compare-rev REV also builds the plans of tui/core/diagnosis/tcpwrappers.py as it was at
git revision REV and counts its plans that tcpdmatch says lock someone out (what issue 11
reported). Not run in CI: it takes tens of minutes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from tests.helpers import rulegen  # noqa: E402
from tests.helpers.oracle import judge_plan  # noqa: E402
from tests.test_remedies_tcpwrappers import facts  # noqa: E402
from tui.core.diagnosis import tcpwrappers  # noqa: E402
from tui.core.facts.model import ALLOW, DENY  # noqa: E402
from tui.core.tcpwrappers.access import Evaluator  # noqa: E402
from tui.core.tcpwrappers.hostmatch import HostInfo, Request  # noqa: E402
from tui.core.tcpwrappers.proof import SAMPLES, ProofSet, host_key  # noqa: E402
from tui.core.tcpwrappers.table import Table  # noqa: E402

Client = tuple[bytes, bytes, bytes]  # daemon, user, address
SAMPLE_SET = set(SAMPLES)
# The target's accounts decide `user`/`group` options; tcpdmatch runs here, so the plans must
# see this machine's (the tool collects the target's /etc/passwd and /etc/group).
HOST_ACCOUNTS = {p: Path(p).read_bytes() for p in ("/etc/passwd", "/etc/group")}


def old_module(rev: str) -> types.ModuleType:
    path = f"{rev}:tui/core/diagnosis/tcpwrappers.py"
    src = subprocess.run(["git", "-C", str(ROOT), "show", path],
                         capture_output=True, check=True).stdout
    mod = types.ModuleType("old_tcpwrappers")
    exec(compile(src, f"{rev}:tcpwrappers.py", "exec"), mod.__dict__)  # noqa: S102
    return mod


def applied(allow: bytes, deny: bytes, plan) -> tuple[bytes, bytes]:
    cur = {ALLOW: allow, DENY: deny}
    for op in plan.ops:
        cur[op.path] = op.after
    return cur[ALLOW], cur[DENY]


def engine(allow: bytes, deny: bytes, clients: list[Client], read) -> dict[Client, str]:
    ev = Evaluator(Table("hosts.allow", allow), Table("hosts.deny", deny), read)
    out = {}
    for c in clients:
        out[c] = ev.check(Request(daemon=c[0], client=HostInfo(addr=c[2]), user=c[1])).access
    return out


def judge(work: Path, allow: bytes, deny: bytes, after: tuple[bytes, bytes], operator: str,
          clients: list[Client], before_v: dict[Client, str], read, rng: random.Random,
          sample: int, stats: dict, key: str) -> None:
    # Only a client granted before can lose access: the engine evaluates those after.
    granted = [c for c in clients if before_v[c] == "granted"]
    after_v = engine(*after, granted, read)
    worse = [c for c in granted if after_v[c] != "granted"]
    kept = [c for c in granted if after_v[c] == "granted"]
    others = [c for c in clients if before_v[c] != "granted"]
    # tcpdmatch judges every client the engine says got worse, and `sample` of those it
    # says kept access and of those it says had none before (one process per verdict).
    picked = worse + rng.sample(kept, min(sample, len(kept)))
    picked += rng.sample(others, min(sample, len(others)))
    verdicts = {c: (before_v[c], after_v.get(c, "")) for c in picked}
    j = judge_plan(work, (allow, deny), after, operator, picked, verdicts)
    stats[f"{key}plans"] += 1
    stats[f"{key}engine_clients"] += len(clients)
    stats[f"{key}tcpdmatch_clients"] += j.checked
    stats[f"{key}engine_worse"] += len(worse)
    if j.regressions:
        stats[f"{key}regressing_plans"] += 1
        stats[f"{key}regressions"] += len(j.regressions)
        if len(stats[f"{key}examples"]) < 5:
            stats[f"{key}examples"].append([allow.decode("latin-1"), deny.decode("latin-1"),
                                            operator, j.regressions[:3]])
    if j.operator_after != "granted":
        stats[f"{key}operator_not_granted"] += 1
    # A client the engine did not evaluate after has "" there: only before is compared.
    mismatch = [d for d in j.disagreements if "''" not in d.split("tcpdmatch")[0]]
    stats[f"{key}disagreements"] += len(mismatch)
    if mismatch and len(stats["disagree_examples"]) < 8:
        stats["disagree_examples"].append([allow.decode("latin-1"), deny.decode("latin-1"),
                                           mismatch[:3]])


def run(worker: int, files: int, sample: int, base_seed: int, rev: str | None,
        samples: int | None) -> dict:
    old = old_module(rev) if rev else None
    rng = random.Random(base_seed * 1000 + worker)
    stats: dict = {"files": 0, "files_with_plans": 0, "examples": [], "old_examples": [],
                   "disagree_examples": [], "errors": 0, "error_examples": []}
    for key in ("", "old_"):
        for k in ("plans", "engine_clients", "tcpdmatch_clients", "engine_worse",
                  "regressing_plans", "regressions", "operator_not_granted",
                  "disagreements"):
            stats[key + k] = 0
    work = Path(tempfile.mkdtemp(prefix="fuzzplans"))

    @seed(base_seed * 1000 + worker)
    @settings(max_examples=files, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=rulegen.plan_case())
    def one(case: tuple[bytes, bytes, str]) -> None:
        if stats["files"] % 500 == 0:  # running totals: a cut-short run still reports
            brief = {k: v for k, v in stats.items() if not isinstance(v, list)}
            print(f"worker {worker}: {json.dumps(brief)}", file=sys.stderr, flush=True)
        try:
            check(*case)
        except Exception as e:  # counted, not raised: hypothesis would start shrinking
            stats["errors"] += 1
            if len(stats["error_examples"]) < 5:
                stats["error_examples"].append([repr(case), f"{type(e).__name__}: {e}"])

    def check(allow: bytes, deny: bytes, operator: str) -> None:
        stats["files"] += 1
        f = facts(allow, deny, **HOST_ACCOUNTS)
        plans = tcpwrappers.plans(f, operator)
        old_plans = old.plans(f, operator) if old else []
        if not plans and not old_plans:
            return
        stats["files_with_plans"] += bool(plans)
        texts = [allow, deny]
        for p in [*plans, *old_plans]:
            texts += list(applied(allow, deny, p))
        ps = ProofSet.build(texts, f.read)
        me = host_key(operator.encode())
        clients = sorted({(p.daemon, p.user, p.addr) for p in ps
                          if p.plain and host_key(p.addr) != me})
        if samples is not None:  # keep what the files name, and `samples` of the samples
            sampled = [c for c in clients if c[2] in SAMPLE_SET and c[:2] == (b"sshd", b"unknown")]
            keep = set(rng.sample(sampled, min(samples, len(sampled))))
            clients = [c for c in clients if c not in sampled or c in keep]
        before_v = engine(allow, deny, clients, f.read)
        for key, group in (("", plans), ("old_", old_plans)):
            for p in group:
                judge(work, allow, deny, applied(allow, deny, p), operator, clients, before_v,
                      f.read, rng, sample, stats, key)

    one()
    return stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--sample", type=int, default=16, help="unchanged clients per plan")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--compare-rev", default=None)
    ap.add_argument("--samples", type=int, default=None,
                    help="engine-check only this many of the sampled addresses per file "
                         "(default: all; every address the files name is always checked)")
    ap.add_argument("--json", default=None, help="write the totals here too")
    args = ap.parse_args()
    t0 = time.perf_counter()
    per = [args.files // args.jobs + (i < args.files % args.jobs) for i in range(args.jobs)]
    with multiprocessing.Pool(args.jobs) as pool:
        parts = pool.starmap(run, [(i, n, args.sample, args.seed, args.compare_rev, args.samples)
                                   for i, n in enumerate(per)])
    total: dict = {}
    for part in parts:
        for k, v in part.items():
            total[k] = total.get(k, 0 if not isinstance(v, list) else []) + v
    total["seconds"] = round(time.perf_counter() - t0, 1)
    for k, v in total.items():
        if k.endswith("examples"):
            for e in v:
                print(f"{k}: {e}")
        else:
            print(f"{k}: {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(total, indent=1))
    failed = total["regressions"] or total["operator_not_granted"] or total["errors"]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
