"""The event store: recorders per database, idempotency keys, group commit, hash chain.

May import domain/ and settings; no other groundswell package.
"""
