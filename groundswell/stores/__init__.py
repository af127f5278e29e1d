"""Stores for read models: rows and checkpoint written together, in one transaction."""
