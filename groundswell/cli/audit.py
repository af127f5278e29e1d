"""`groundswell audit ...`: what an auditor needs to check every number without trusting it."""

from __future__ import annotations

import typer

from groundswell.cli import audit_as_of, audit_export, audit_history, audit_replay, audit_verify

app = typer.Typer(
    help="Histories, replay and diff, read models as of a moment, verify, export (read-only).",
    no_args_is_help=True,
)
for module in (audit_history, audit_replay, audit_as_of, audit_verify, audit_export):
    module.register(app)
