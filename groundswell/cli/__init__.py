"""The groundswell command line: thin Typer adapters over the engine's commands."""

from groundswell.cli.root import app, main

__all__ = ["app", "main"]
