"""What the library resolver answers: one binary's libraries, each found, missing or refused."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Library:
    soname: str  # as in DT_NEEDED, e.g. "liblz4.so.1"
    path: str | None  # target path where the loader would find it, None if missing
    needed_by: str  # target path of the object whose DT_NEEDED names it
    # Found but ld.so would refuse it ("file too short", "invalid ELF header", ...): loading
    # stops there with an error, it does not go on searching. None for a good or missing one.
    error: str | None = None


@dataclass
class BinaryLibs:
    binary: str  # target path, e.g. "/usr/sbin/sshd"
    exists: bool
    error: str | None  # one line; also set when the binary is fine but its PT_INTERP is not
    needed: list[str] = field(default_factory=list)  # the binary's own DT_NEEDED
    libraries: list[Library] = field(default_factory=list)  # breadth-first, one per soname
    interpreter: str | None = None  # PT_INTERP
    elfclass: int | None = None  # 32 / 64, when the binary could be read
    machine: str | None = None  # e.g. "EM_X86_64"

    @property
    def missing(self) -> list[str]:
        """Sonames the loader finds nowhere, in load order."""
        return [lib.soname for lib in self.libraries if lib.path is None]

    @property
    def broken(self) -> list[str]:
        """Sonames found as a file ld.so rejects (empty, truncated, corrupt)."""
        return [lib.soname for lib in self.libraries if lib.error is not None]

    def needed_by(self, soname: str) -> str | None:
        for lib in self.libraries:
            if lib.soname == soname:
                return lib.needed_by
        return None

    def library(self, soname: str) -> Library | None:
        for lib in self.libraries:
            if lib.soname == soname:
                return lib
        return None
