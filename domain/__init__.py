"""The groundswell domain: challenges, ideas, contributions, people and the reward ledger.

Nothing in this package talks to a database, a broker, HTTP or a terminal.
"""
