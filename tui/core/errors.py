"""The one base class of every error an operator can act on.

A UserError carries its message (one line), the exit code a command ends with, a title for
the wizard's notice and, where the operator must know more (a change that failed half-way),
one detail line per file. The CLI prints it as one line plus the details and exits with the
code; the wizard shows the title and the message. Anything else that escapes is a bug.

Imports nothing: `match` and the CLI's argument handling use it without loading the core.
"""

from __future__ import annotations

EXIT_PROBLEM, EXIT_ERROR = 1, 2  # = tui.commands' codes: a problem found / could not run


class UserError(Exception):
    title = "error"
    exit_code = EXIT_ERROR

    def __init__(self, message: str = "", *, details: list[str] | None = None,
                 exit_code: int | None = None, title: str | None = None) -> None:
        super().__init__(message)
        self.details: list[str] = list(details or [])
        if exit_code is not None:
            self.exit_code = exit_code
        if title is not None:
            self.title = title

    @property
    def message(self) -> str:
        """The first line of the message (the title when there is none)."""
        lines = str(self).strip().splitlines()
        return lines[0] if lines else self.title


class UsageError(UserError):
    """Options that do not go together, or a value that is not what it must be."""

    title = "bad arguments"
