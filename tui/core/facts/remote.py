"""Facts of a live host over SSH: the collector of tui.core.facts.collect, reading through the
request server of tui.core.targets.shellchan on one channel.

The collector runs against what has been fetched so far; whatever it lacked (a file, a stat,
a listing, a command's output) is asked for in one batch, and it runs again: each run costs
one round trip, and the facts are those of the first run that lacked nothing. Paths are
resolved link by link from the lstat() and readlink() answers, exactly as for a mounted
root, and sshd's libraries come from the same offline ELF resolver, on the bytes of the
target's files.

What the resolver reads is fetched ahead, whatever the depth of sshd's dependencies: the
target's `ldd` names the files (a hint only: nothing is decided on its text), their first
and last bytes come at once, and the program and section headers in those say where the
dynamic table and its strings are (elf_wants); only those ranges are fetched next. On a
server started with first_batches(), that second request goes out while the first run's
batch is still running, so a normal host costs two round trips of the channel.

The parts: remotesource.RemoteSource, the collector's Source, holds a remotestore.Store
(what the target answered) and a remoteplan.Planner (what to ask next, in which batch);
remotefs.RemoteFS is the library resolver's view of it, with the ELF prefetch plan.
"""

from __future__ import annotations

from typing import cast

from tui.core.facts.collect import collect as collect_from
from tui.core.facts.model import Facts
from tui.core.facts.remoteplan import WHOLE_MAX
from tui.core.facts.remotesource import LDSO_DIR, READ_LIMIT, RemoteSource
from tui.core.targets.shellchan import Request, ShellServer

__all__ = ["MAX_ROUNDS", "READ_LIMIT", "WHOLE_MAX", "RemoteSource", "collect",
           "first_batches"]

MAX_ROUNDS = 16  # collection runs; each is one round trip (a normal host needs about six)


def _first(src: RemoteSource) -> tuple[list[tuple], list[Request], list[tuple], list[Request]]:
    """The first collection run's requests (it knows nothing yet: always the same), as two
    batches: ldd's hint, then the rest."""
    collect_from(src)
    want = src.plan.want
    first = {k: r for k, r in want.items()  # what planning the libraries' ranges needs
             if k[0] == "L" or k[:2] in (("G", LDSO_DIR), ("l", LDSO_DIR),
                                         ("g", "/etc/ld.so.conf"))}
    src.plan.want = first
    hk, hint = src.plan.batch()
    src.plan.want = {k: r for k, r in want.items() if k not in first}
    rk, rest = src.plan.batch()
    return hk, hint, rk, rest


def first_batches(label: str) -> list[list[Request]]:
    """The batches to start the server with (see collect): no round trip of their own."""
    _, hint, _, rest = _first(RemoteSource(cast(ShellServer, None), label))
    return [hint, rest]


def collect(server: ShellServer, label: str, *, rounds: int = MAX_ROUNDS) -> Facts:
    """The facts of the host behind `server`, in as many round trips as its files need.

    A server started with first_batches() answers ldd's hint first: what the library
    resolver needs from those files is asked for at once, and is read by the server as
    soon as the rest of the first run's batch is done (its round trip hidden behind it)."""
    src = RemoteSource(server, label)
    take = src.store.take
    pre = [server.preloaded[n] for n in sorted(server.preloaded)]
    hk, hint, rk, rest = _first(RemoteSource(cast(ShellServer, None), label))
    if pre == [hint, rest]:
        collect_from(src)  # run 1: what first_batches() asked
        src.plan.want, src.plan.pending = {}, {}
        for key, req, ans in zip(hk, hint, server.receive(min(server.preloaded))):
            take(key, req, ans)
        keys, requests = src.plan.batch()
        ahead = server.send(requests) if requests else None
        for key, req, ans in zip(rk, rest, server.receive(min(server.preloaded))):
            take(key, req, ans)
        if ahead is not None:
            for key, req, ans in zip(keys, requests, server.receive(ahead)):
                take(key, req, ans)
    for _ in range(rounds):
        facts = collect_from(src)
        if not src.plan.want:
            return facts
        src.fetch()
    facts = collect_from(src)
    if src.plan.want:  # files that keep changing, or a target that keeps inventing paths
        facts.notes.append(f"facts incomplete after {rounds} round trips: "
                           f"{len(src.plan.want)} reads not answered")
    return facts
