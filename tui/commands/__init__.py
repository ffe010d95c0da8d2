"""Headless subcommands; each module exposes ``run(args) -> int``."""

EXIT_OK, EXIT_PROBLEM, EXIT_ERROR = 0, 1, 2  # no problem / problem found / could not run
