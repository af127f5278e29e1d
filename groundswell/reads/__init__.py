"""The read sides HTTP, pages and CLI share: read models, folds, boards as of a moment.

May import app, audit, readstore, consumers/, projections/.
"""
