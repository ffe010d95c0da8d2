"""Which requests the next round trip to a host over SSH carries: what the last collection
run lacked, and what the libraries' bytes fetched so far say the ELF reader will touch next
(remotefs.elf_wants), in as few requests as the server allows (one stat(1) for all paths,
all ranges in one read)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from tui.core.facts.model import SSHD_PATHS
from tui.core.facts.remotefs import HEAD, RANGE_MAX, TAIL, elf_wants, sendable
from tui.core.facts.remotestore import Store
from tui.core.libs.elf import Reject, parse_header
from tui.core.libs.fs import FS
from tui.core.libs.ldpaths import listed_dirs
from tui.core.targets.shellchan import Request

# With a path's stat, its bytes up to this many (what the collector reads next).
WHOLE_MAX = 128 << 10
# Where a library ldd names may also be looked for: their stats come before the resolver
# asks (besides the directories of the paths ldd gave).
_LIB_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib")
_MAX_DIRS, _MAX_NAMES = 48, 96


def prefixes(path: str) -> list[str]:
    """`path`'s directories and itself ("/a", "/a/b", ...): stat'ed along with it."""
    out, cur = [], ""
    for p in (p for p in path.split("/") if p and p != "."):
        cur += "/" + p
        out.append(cur)
    return out or ["/"]


class Planner:
    """The requests asked for since the last round trip (`want`, by key), and what the
    libraries' bytes in `store` say comes next; `libfs` gives the resolver's FS, to read
    ld.so.conf with."""

    def __init__(self, store: Store, libfs: Callable[[], FS]) -> None:
        self.store = store
        self.libfs = libfs
        self.want: dict[tuple, Request] = {}
        self.asked = 0
        # With a path's stat, its bytes up to this many (what the resolver reads next);
        # -1 while a log's tail is looked up.
        self.prefetch = WHOLE_MAX
        self.libmode = False  # the library resolver is reading: a file's head and tail
        self.pending: dict[str, list[tuple[int, int]]] = {}  # ranges asked in this batch
        self._planned_dirs: set[str] = set()
        self._dirs_done = False
        self._planned: set[str] = set()  # keys planned for the next batch

    def ask(self, key: tuple, request: Request) -> None:
        self.asked += 1
        self.want.setdefault(key, request)

    def need(self, path: str, limit: int | None = None) -> None:
        """Ask for `path`'s stat (and its prefixes'), and its bytes up to `limit`; by default
        what the library resolver reads: a small file whole, a big one's head and tail."""
        ranged = limit is None and self.prefetch >= 0 and self.libmode
        if ranged and path in SSHD_PATHS and ("L",) in self.want:
            ranged, limit = False, -1  # ldd's hint, asked in this batch, brings them
        if limit is None:
            limit = HEAD + TAIL if ranged else self.prefetch
        if sendable(path):
            hd, tl = (HEAD, TAIL) if ranged else (0, 0)
            self.ask(("g", path, limit, hd), ("g", [str(limit), str(hd), str(tl),
                                                     *prefixes(path)]))

    def batch(self) -> tuple[list[tuple], list[Request]]:
        """The next round trip's requests: everything the last run lacked, and what the
        libraries' bytes fetched so far say the ELF reader will touch next. The stats of
        all paths go in one request (one stat(1) on the target); bytes per file."""
        self._plan()
        stats: dict[str, None] = {}
        keys: list[tuple] = [("s",)]
        requests: list[Request] = [("s", [])]
        ranges: list[str] = []
        for key, (op, args) in self.want.items():
            if op == "x":  # all ranges in one request
                ranges += args
                continue
            if op == "g":
                stats.update(dict.fromkeys(args[3:]))
                if int(args[0]) < 0:
                    continue
                op, args = "d", [*args[:3], args[-1]]
            keys.append(key)
            requests.append((op, args))
        requests[0] = ("s", list(stats))
        if ranges:
            keys.append(("X",))
            requests.append(("X", ranges))
        self.want = {}
        self.pending = {}
        self._planned = set()
        if not stats:
            keys, requests = keys[1:], requests[1:]
        return keys, requests

    def _plan(self) -> None:
        store = self.store
        for key in list(store.ranges):
            self.plan_key(key)
        if store.ldd_names and not self._dirs_done:
            # Where the resolver will look for each name ldd gave: stats asked at once.
            dirs = set(_LIB_DIRS) | store.ldd_dirs
            for d in store.ldd_dirs:  # a multiarch directory: its siblings
                if d.startswith(("/lib/", "/usr/lib/")):
                    t = d.rsplit("/", 1)[1]
                    dirs.update((f"/lib/{t}", f"/usr/lib/{t}", f"/usr/local/lib/{t}"))
            asked = self.asked
            head = next((h for h in (store.have(p, 0, 64) for p in store.ldd_bins) if h), None)
            with contextlib.suppress(Reject, OSError):
                header = parse_header(head or b"")
                dirs.update(listed_dirs(self.libfs(), header.elfclass, header.machine))
            self._dirs_done = self.asked == asked
            # bounded: ld.so.conf and ldd's text are the target's
            for d in sorted(dirs - self._planned_dirs)[:_MAX_DIRS - len(self._planned_dirs)]:
                self._planned_dirs.add(d)
                for name in sorted(store.ldd_names)[:_MAX_NAMES]:
                    self.need(f"{d}/{name}", -1)

    def plan_key(self, key: str) -> None:
        """Ask for what the ELF reader will touch in `key`, by what came of it so far."""
        meta = self.store.lst.get(key)
        if meta is None or not self.store.ranges.get(key) or key in self._planned:
            return
        self._planned.add(key)
        wants = sorted(elf_wants(lambda o, n: self.store.have(key, o, n), meta.st_size))
        merged: list[list[int]] = []
        for off, length in wants:  # near ones in one read
            if merged and off <= merged[-1][1] + 1024:
                merged[-1][1] = max(merged[-1][1], off + length)
            else:
                merged.append([off, off + length])
        for off, end in merged:
            self.want_range(key, off, min(end - off, RANGE_MAX), meta.st_size)

    def want_range(self, key: str, offset: int, length: int, size: int,
                   need: tuple[int, int] | None = None) -> bool:
        """Ask for a range of `key` unless fetched or asked already (or `need`, the part
        that matters, is); False when there is nothing to ask."""
        offset, end = max(0, offset), min(size, offset + length)
        lo, hi = need or (offset, end)
        if end <= offset or not sendable(key) or self.store.have(key, lo, hi - lo) is not None:
            return False
        if any(o <= lo and hi <= o + n for o, n in self.pending.get(key, [])):
            return True
        self.pending.setdefault(key, []).append((offset, end - offset))
        self.ask(("x", key, offset, end - offset),
                 ("x", [key, str(offset), str(end - offset)]))
        return True
