"""Delivering notifications outside groundswell (e-mail): the outbox, what fills and empties it.

May import domain/, projections/ and the standard library's mail and HTTP clients; nothing here
imports the HTTP API, the pages or the CLI (they import this package).
"""
