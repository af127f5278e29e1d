"""``python -m groundswell``: the command line, as the ``groundswell`` script runs it."""

from groundswell.cli import main

# Guarded: a rebuild's worker processes started by "spawn" import this module again.
if __name__ == "__main__":
    main()
