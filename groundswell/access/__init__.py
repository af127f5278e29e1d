"""Sign-in sessions and API tokens groundswell keeps itself.

May import files only.
"""
