"""``python -m groundswell``: the command line, as the ``groundswell`` script runs it."""

from groundswell.cli import main

main()
