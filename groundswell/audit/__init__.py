"""Auditor tooling: histories, replay and diff, read models as of a moment, complete exports
(the tamper-evident chain itself is eventstore.chain). Read-only: nothing here writes events.

May import app, eventstore, consumers/, projections/, domain/, schemas/; no adapter.
"""
