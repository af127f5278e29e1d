"""The application: the engine, its services and processes.

May import domain/, projections/, eventstore, settings; nothing that serves or stores rows.
"""
