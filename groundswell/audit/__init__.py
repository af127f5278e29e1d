"""Auditor tooling: histories, replay and diff, read models as of a moment, the tamper-evident
chain over the event log, and complete exports. Read-only: nothing here writes events."""
