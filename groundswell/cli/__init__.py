"""The groundswell command line: thin Typer adapters over the engine's commands.

May import bootstrap, demo and everything below; web and http only where it serves them
(`serve`) or answers as the API does (`export`).
"""

from groundswell.cli.root import app, main

__all__ = ["app", "main"]
