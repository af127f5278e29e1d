"""The HTTP API (FastAPI): every command and read model, for any client.

May import audit, delivery, publish, reads, app, readstore, access, eventstore, identity;
never web nor cli (they import it).
"""
