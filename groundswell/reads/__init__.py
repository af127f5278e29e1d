"""The read sides HTTP, pages and CLI share: read models, folds, boards as of a moment.

May import readstore, consumers/, projections/; not app nor audit (a layer of its own).
"""
