"""The demo organisation: its cast, stories, boards and logins.

May import bootstrap, app, reads, access; never the adapters.
"""
