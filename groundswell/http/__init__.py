"""The HTTP API (FastAPI): every command and read model, for any client."""
