"""Headless subcommands; each module exposes ``run(args) -> int``."""
